# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The memory, mappings, pagemap and userfaultfd probes on the real kernel
(run as root: Debian 12 userland, kernel 6.18 x86_64), in the contexts criu
distinguishes: root, non-root with --unprivileged, a user namespace, root
with --unprivileged.  Expected answers are the ones real criu 4.1.1 gave on
this machine; facts are checked independently where possible (the kernel
config, the kernel version, a direct system call from the test).
"""

import ctypes
import errno
import faulthandler
import os
import signal

import pytest

import kernelinfo
import leftovers

from conftest import NOBODY, become_user, enter_user_namespace, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _probes_memory as M  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _syscall  # noqa: E402

pytestmark = requires_root

MEMORY_IDS = ('special_mapping_mremap', 'mem_dirty_track', 'aio_remap', 'can_map_vdso', 'uffd', 'uffd-noncoop',
              'memfd_hugetlb', 'pagemap_scan', 'pagemap_scan_guard_pages', 'compat_cr')
X86_64 = os.uname().machine == 'x86_64'
NOBODY_UNPRIVILEGED = dict(as_user=NOBODY, unprivileged=True)
CONTEXTS = {'root': dict(), 'nobody-unprivileged': NOBODY_UNPRIVILEGED, 'userns': dict(userns=True)}


def _maps_names():
    with open('/proc/self/maps') as f:
        return [line.split()[5] for line in f if len(line.split()) > 5]


# ------------------------------------------------- special_mapping_mremap

def test_special_mapping_mremap_moves_what_maps_shows():
    result = run_probe('special_mapping_mremap')
    assert result['status'] == 'supported', result
    names = _maps_names()
    expected = [n for n in M.SPECIAL_MAPPINGS if n in names]
    assert sorted(result['evidence']['mappings']) == sorted(expected)
    assert '[vdso]' in expected
    assert result['evidence']['method'] == ('machine code' if os.uname().machine in M._MREMAP_CODE else 'ctypes')


def _repeat_special_mapping_mremap(method, times):
    ctx = _context.ProbeContext()
    outcomes = {}
    for dummy in range(times):
        result = M.special_mapping_mremap(ctx, method=method)
        key = '%s/%s' % (result['status'], result['evidence'].get('method'))
        outcomes[key] = outcomes.get(key, 0) + 1
    return outcomes


@pytest.mark.parametrize('method', [None, 'ctypes'], ids=['machine-code', 'ctypes'])
def test_special_mapping_mremap_200_times_in_a_row(method):
    # No flakiness: CPython must never touch the moved vDSO.
    outcomes = in_child(lambda: _repeat_special_mapping_mremap(method, 200), timeout=120)
    label = 'ctypes' if method else ('machine code' if os.uname().machine in M._MREMAP_CODE else 'ctypes')
    assert outcomes == {'supported/%s' % label: 200}


@pytest.mark.parametrize('context', ['nobody-unprivileged', 'userns'])
def test_special_mapping_mremap_unprivileged_contexts(context):
    assert run_probe('special_mapping_mremap', **CONTEXTS[context])['status'] == 'supported'


def _call_vdso_after_moving_it():
    """The failure the probe must tell apart: move [vvar] and [vdso] as the
    probe does, then call clock_gettime() through libc, which jumps into the
    vDSO at its old address.  Returns the child's wait status."""
    vmas, err = M._special_vmas()
    assert err is None
    pid = os.fork()
    if pid == 0:
        faulthandler.disable()   # the crash is the point: no traceback noise
        try:
            libc = ctypes.CDLL(None)
            ts = (ctypes.c_long * 2)()
            size = sum(v[2] for v in vmas)
            lot, dummy = M._mmap(size, M.PROT_NONE)
            for dummy, addr, length in vmas:
                _syscall.syscall('mremap', addr, length, length, M.MREMAP_FIXED | M.MREMAP_MAYMOVE, lot)
                lot += length
            libc.clock_gettime(1, ts)
        finally:
            os._exit(0)
    return os.waitpid(pid, 0)[1]


def test_touching_the_moved_vdso_kills_the_child():
    if not X86_64:
        pytest.skip('glibc on x86_64 calls the vDSO for clock_gettime')
    status = in_child(_call_vdso_after_moving_it)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSEGV


# -------------------------------------------------------- mem_dirty_track

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_mem_dirty_track_follows_config(context):
    # This kernel is built without soft-dirty: unsupported, as criu says.
    expected = 'supported' if kernelinfo.config_on('CONFIG_MEM_SOFT_DIRTY') and context == 'root' else 'unsupported'
    result = run_probe('mem_dirty_track', **CONTEXTS[context])
    assert result['status'] == expected, result
    if expected == 'unsupported':
        assert result['message'] == 'Dirty tracking is OFF. Memory snapshot will not work.'


def test_mem_dirty_track_root_reads_pagemap():
    result = run_probe('mem_dirty_track')
    entry = int(result['evidence']['pagemap_entry'], 16)
    assert entry & (1 << 63)                          # the touched page is present
    assert bool(entry & M.PME_SOFT_DIRTY) == kernelinfo.config_on('CONFIG_MEM_SOFT_DIRTY')


def test_mem_dirty_track_nonroot_cannot_open_clear_refs():
    # clear_refs is mode 0200 and criu opens it O_RDWR: non-root criu always
    # reads "no soft-dirty" (EACCES), whatever the kernel has.
    result = run_probe('mem_dirty_track', **NOBODY_UNPRIVILEGED)
    assert result['status'] == 'unsupported'
    assert result['evidence']['errno_name'] == 'EACCES'
    # the kernel's own answer (clear_refs opened write-only) is recorded
    assert result['evidence']['kernel_soft_dirty'] is kernelinfo.config_on('CONFIG_MEM_SOFT_DIRTY')


# -------------------------------------------------------------- aio_remap

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_aio_remap_supported(context):
    assert kernelinfo.config_on('CONFIG_AIO')
    result = run_probe('aio_remap', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['ring_name'] == '/[aio] (deleted)'
    assert result['evidence']['io_getevents'] == 0


# ----------------------------------------------------- can_map_vdso, compat

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_can_map_vdso_follows_ia32_emulation(context):
    expected = 'supported' if X86_64 and kernelinfo.config_on('CONFIG_IA32_EMULATION') else 'unsupported'
    result = run_probe('can_map_vdso', **CONTEXTS[context])
    assert result['status'] == expected, result
    if X86_64:
        # The API exists and refuses a second vDSO.
        assert result['evidence']['arch_prctl_errno'] == 'EEXIST'


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_compat_cr_real_32bit_mmap(context):
    ia32 = X86_64 and kernelinfo.config_on('CONFIG_IA32_EMULATION') and 'ia32_emulation=0' not in open('/proc/cmdline').read()
    result = run_probe('compat_cr', **CONTEXTS[context])
    assert result['status'] == ('supported' if ia32 and kernelinfo.version() >= (4, 12) else 'unsupported'), result
    if result['status'] == 'supported':
        map1 = int(result['evidence']['map1'], 16)
        assert map1 == int(result['evidence']['map2'], 16)
        assert 0 < map1 < 2 ** 32 and map1 % M.PAGE_SIZE == 0


# ------------------------------------------------------------ userfaultfd

def _direct_userfaultfd():
    fd = ctypes.CDLL(None, use_errno=True).syscall(323 if X86_64 else 282, 0)
    err = ctypes.get_errno()
    if fd >= 0:
        os.close(fd)
    return fd >= 0, err


def test_uffd_root_supported_and_agrees_with_direct_call():
    assert kernelinfo.config_on('CONFIG_USERFAULTFD')
    result = run_probe('uffd')
    assert result['status'] == 'supported', result
    assert in_child(_direct_userfaultfd)[0] is True
    assert run_probe('uffd-noncoop')['status'] == 'supported'
    assert int(result['evidence']['features'], 16) & M.NEED_UFFD_API_FEATURES == M.NEED_UFFD_API_FEATURES


@pytest.mark.parametrize('probe_id', ['uffd', 'uffd-noncoop'])
@pytest.mark.parametrize('context', [dict(unprivileged=True), NOBODY_UNPRIVILEGED],
                         ids=['root-unprivileged', 'nobody-unprivileged'])
def test_uffd_not_probed_under_unprivileged(probe_id, context):
    result = run_probe(probe_id, **context)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'UFFD is not supported (criu does not probe it in --unprivileged mode)'
    assert result['evidence']['criu_probes'] is False
    assert 'has_uffd' in result['evidence']['live']


def test_uffd_in_user_namespace_follows_sysctl():
    # CAP_SYS_PTRACE counts only in the initial user namespace.
    with open(M.UNPRIVILEGED_USERFAULTFD) as f:
        allowed = f.read().strip() == '1'
    result = run_probe('uffd', userns=True)
    assert result['status'] == ('supported' if allowed else 'unsupported')
    if not allowed:
        assert result['message'] == 'UFFD is not supported'
        assert result['evidence']['errno'] == 'EPERM'
        assert in_child(_direct_userfaultfd, setup=enter_user_namespace) == [False, errno.EPERM]


# ------------------------------------------------------------------ memfd

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_memfd_hugetlb_follows_config(context):
    result = run_probe('memfd_hugetlb', **CONTEXTS[context])
    assert result['status'] == ('supported' if kernelinfo.config_on('CONFIG_HUGETLBFS') else 'unsupported'), result


# ---------------------------------------------------------------- pagemap

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_pagemap_scan_on_this_kernel(context):
    assert kernelinfo.config_on('CONFIG_PROC_PAGE_MONITOR')
    result = run_probe('pagemap_scan', **CONTEXTS[context])
    assert result['status'] == ('supported' if kernelinfo.version() >= (6, 8) else 'unsupported'), result


def test_pagemap_scan_rejects_unknown_category():
    # The kernel really validates the masks criu sends: an unknown bit is
    # EINVAL, so "supported" is not a constant.
    fd = os.open('/proc/self/pagemap', os.O_RDONLY)
    try:
        assert M._pagemap_scan_ioctl(fd, M.PAGE_IS_PRESENT)[0] == 0
        assert M._pagemap_scan_ioctl(fd, 1 << 40) == (-1, errno.EINVAL)
    finally:
        os.close(fd)


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_pagemap_scan_guard_pages_on_this_kernel(context):
    # MADV_GUARD_INSTALL came in 6.13, PAGE_IS_GUARD in PAGEMAP_SCAN about
    # 6.16: in between the answer depends on the exact release.
    if (6, 13) <= kernelinfo.version() < (6, 16):
        pytest.skip('kernel between MADV_GUARD_INSTALL and PAGE_IS_GUARD')
    result = run_probe('pagemap_scan_guard_pages', **CONTEXTS[context])
    assert result['status'] == ('supported' if kernelinfo.version() >= (6, 16) else 'unsupported'), result
    assert result['evidence']['has_madv_guard'] is (kernelinfo.version() >= (6, 13))


def test_pagemap_scan_nondumpable_without_unprivileged():
    # A non-root process that changed uid without exec is not dumpable: its
    # own pagemap is root's (mode 0400).  criu --unprivileged makes itself
    # dumpable and so does the probe then; without it, the open fails as it
    # would make criu's kerndat fail.
    result = run_probe('pagemap_scan', as_user=NOBODY)
    assert result['status'] == 'unsupported'
    assert result['message'] == "Can't open 0/pagemap on procfs: Permission denied"
    assert result['evidence']['criu_kerndat_fails'] is True


# ------------------------------------------------------- nothing left behind

def _maps_summary():
    """What a probe could leave mapped: AIO rings and anonymous executable
    pages (the machine-code page), counted."""
    aio = execs = 0
    with open('/proc/self/maps') as f:
        for line in f:
            fields = line.split()
            if '/[aio]' in line:
                aio += 1
            if len(fields) == 5 and 'x' in fields[1]:
                execs += 1
    return aio, execs


def _snapshot():
    with open('/proc/sys/fs/aio-nr') as f:
        aio_nr = f.read()
    dumpable, dummy = _syscall.prctl(_syscall.PR_GET_DUMPABLE)
    return dict(leftovers.process_state(), maps=_maps_summary(), aio_nr=aio_nr, dumpable=dumpable,
                signals=[str(signal.getsignal(s)) for s in (signal.SIGUSR1, signal.SIGCHLD, signal.SIGSEGV)])


@pytest.mark.parametrize('context', [dict(), NOBODY_UNPRIVILEGED], ids=['root', 'nobody-unprivileged'])
def test_probes_leave_nothing_behind(context):
    def setup():
        leftovers.private_tmp_and_net()
        if context:
            become_user(NOBODY, NOBODY)

    outcome = in_child(lambda: leftovers.run_twice_between_snapshots(MEMORY_IDS, bool(context), _snapshot),
                       setup=setup, timeout=60)
    assert outcome['before'] == outcome['after']
    assert not outcome['unreaped']
    assert outcome['statuses']['special_mapping_mremap'] == 'supported'
    assert outcome['statuses']['aio_remap'] == 'supported'
