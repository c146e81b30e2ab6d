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
import seccomp_deny

from conftest import NOBODY, become_user, enter_user_namespace, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _probes_memory as M  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _registry  # noqa: E402
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
    expected = [n for n in ('[vvar]', '[vdso]', '[sigpage]') if n in names]   # criu's special_vmas[]
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
    assert bool(entry & (1 << 55)) == kernelinfo.config_on('CONFIG_MEM_SOFT_DIRTY')   # PM_SOFT_DIRTY


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


# ------------------------------------------- what the kernel refuses, for real
#
# A seccomp filter (tests/tools/seccomp_deny.py) installed in the child that
# runs the probe fails exactly the call the probe makes (the system call and
# the argument that asks); the probe's own children inherit it.  So every
# answer below comes from the kernel refusing the real call.

def _call_kills(name, arg, value):
    """As seccomp_deny.call_fails(), but the call kills the process that makes it (SIGSYS)."""
    return seccomp_deny.call_fails(name, arg, value, 0, kill=True)


def _probe_under(probe_id, setup, **kwargs):
    return in_child(lambda: _registry.BY_ID[probe_id].func(_context.ProbeContext(), **kwargs), setup)


MOVE_FIXED = M.MREMAP_FIXED | M.MREMAP_MAYMOVE     # only the probes' mremap calls pass both flags
READ_EXEC = M.mmap.PROT_READ | M.mmap.PROT_EXEC      # the machine-code page's mprotect
needs_x86_64_filter = pytest.mark.skipif(not X86_64, reason='seccomp_deny.py knows x86_64 system calls only')


def _no_executable_memory():
    """In the child: no memfd for the machine code (a filter that refuses memfd_create), and no anonymous page
    made executable (refused as under PR_SET_MDWE): no way left to run it."""
    seccomp_deny.call_fails('memfd_create', 1, os.MFD_CLOEXEC, errno.EPERM)()
    seccomp_deny.call_fails('mprotect', 2, READ_EXEC, errno.EACCES)()


@needs_x86_64_filter
@pytest.mark.parametrize('method', [None, 'ctypes'], ids=['machine-code', 'ctypes'])
def test_special_mapping_mremap_refused_or_killed(method):
    result = _probe_under('special_mapping_mremap', seccomp_deny.call_fails('mremap', 3, MOVE_FIXED, errno.EPERM), method=method)
    assert (result['status'], result['message']) == ('unsupported', 'Child exited with 1'), result
    result = _probe_under('special_mapping_mremap', _call_kills('mremap', 3, MOVE_FIXED), method=method)
    assert result['status'] == 'unsupported', result
    assert result['message'].startswith('Child killed by signal %d\n' % signal.SIGSYS), result


@needs_x86_64_filter
def test_special_mapping_mremap_without_executable_memory_uses_ctypes():
    result = _probe_under('special_mapping_mremap', _no_executable_memory)
    assert result['status'] == 'supported', result
    assert (result['evidence']['machine_code_refused'], result['evidence']['method']) == ('EACCES', 'ctypes')


@needs_x86_64_filter
@pytest.mark.parametrize('call, arg, value, message', [
    ('io_setup', 0, M.AIO_NR_EVENTS, 'No AIO syscall: Operation not permitted'),
    ('mremap', 3, MOVE_FIXED, "Can't remap AIO ring: Operation not permitted"),
    ('io_getevents', 1, 0, "AIO remap doesn't work properly: Operation not permitted"),
])
def test_aio_remap_refused_step(call, arg, value, message):
    result = _probe_under('aio_remap', seccomp_deny.call_fails(call, arg, value, errno.EPERM))
    assert (result['status'], result['message']) == ('unsupported', message), result


@needs_x86_64_filter
def test_can_map_vdso_and_compat_cr_when_arch_prctl_is_refused_or_kills():
    refused = seccomp_deny.call_fails('arch_prctl', 0, M.ARCH_MAP_VDSO_32, errno.EPERM)
    result = _probe_under('can_map_vdso', refused)
    assert (result['status'], result['evidence']['arch_prctl_errno']) == ('unsupported', 'EPERM'), result
    assert 'criu_kerndat_fails' not in result['evidence']
    # seccomp_deny.program() lets the 32-bit calls through, so only the
    # missing vDSO API can make compat_cr false here.
    result = _probe_under('compat_cr', lambda: seccomp_deny.install(seccomp_deny.program(['arch_prctl'], errno.EPERM)))
    assert (result['status'], result['message']) == ('unsupported', M.MSG_COMPAT_CR), result
    assert 'map1' not in result['evidence']          # no 32-bit mmap test without the vDSO API
    # A child that does not exit makes criu's kerndat fail.
    result = _probe_under('can_map_vdso', _call_kills('arch_prctl', 0, M.ARCH_MAP_VDSO_32))
    assert result['status'] == 'unsupported', result
    assert result['evidence']['child_signal'] == signal.SIGSYS and result['evidence']['criu_kerndat_fails'] is True


@needs_x86_64_filter
def test_compat_cr_without_executable_memory_is_unknown():
    if not kernelinfo.config_on('CONFIG_IA32_EMULATION'):
        pytest.skip('no ia32 emulation: can_map_vdso is false first')
    result = _probe_under('compat_cr', _no_executable_memory)
    assert result['status'] == 'unknown', result
    assert result['evidence']['machine_code_refused'] == 'EACCES'


@needs_x86_64_filter
@pytest.mark.parametrize('err, message, kerndat_fails', [
    (errno.EPERM, 'UFFD is not supported', False),
    (errno.ENOSYS, 'UFFD is not supported', False),
    (errno.EINVAL, 'Lazy pages are not available: Invalid argument', True),
])
def test_uffd_refused(err, message, kerndat_fails):
    for probe_id in ('uffd', 'uffd-noncoop'):
        result = _probe_under(probe_id, seccomp_deny.call_fails('userfaultfd', 0, 0, err))
        assert (result['status'], result['message']) == ('unsupported', message), result
        assert result['evidence']['criu_kerndat_fails'] is kerndat_fails


def test_uffd_noncoop_needs_crius_four_events():
    # FORK, REMAP, REMOVE, UNMAP (criu/include/uffd.h NEED_UFFD_API_FEATURES)
    assert run_probe('uffd-noncoop')['evidence']['needed'] == '0x4e'


@needs_x86_64_filter
@pytest.mark.parametrize('flags, err, message', [
    (0, errno.ENOSYS, 'memfd_create() is not supported'),
    (0, errno.EPERM, 'Unexpected error from memfd_create(NULL, 0): Operation not permitted'),
    (M.MFD_HUGETLB, errno.EINVAL, 'memfd_create(MFD_HUGETLB) is not supported'),
    (M.MFD_HUGETLB, errno.ENOENT, 'memfd_create(MFD_HUGETLB) is not supported'),
    (M.MFD_HUGETLB, errno.EPERM, 'Unexpected error from memfd_create("", MFD_HUGETLB): Operation not permitted'),
])
def test_memfd_hugetlb_refused(flags, err, message):
    result = _probe_under('memfd_hugetlb', seccomp_deny.call_fails('memfd_create', 1, flags, err))
    assert (result['status'], result['message']) == ('unsupported', message), result
    assert result['evidence'].get('criu_kerndat_fails', False) is message.startswith('Unexpected')


@needs_x86_64_filter
@pytest.mark.parametrize('err, message', [
    (errno.ENOTTY, 'ioctl(PAGEMAP_SCAN) is not supported'),
    (errno.EINVAL, 'ioctl(PAGEMAP_SCAN) is not supported'),
    (errno.EIO, 'PAGEMAP_SCAN failed with unexpected errno: Input/output error'),
])
def test_pagemap_scan_refused(err, message):
    result = _probe_under('pagemap_scan', seccomp_deny.call_fails('ioctl', 1, M.PAGEMAP_SCAN, err))
    assert (result['status'], result['message']) == ('unsupported', message), result
    assert result['evidence'].get('criu_kerndat_fails', False) is (err == errno.EIO)


@needs_x86_64_filter
@pytest.mark.parametrize('err, has_madv_guard', [(errno.EINVAL, False), (errno.EPERM, None)])
def test_pagemap_scan_guard_pages_madvise_refused(err, has_madv_guard):
    result = _probe_under('pagemap_scan_guard_pages', seccomp_deny.call_fails('madvise', 2, M.MADV_GUARD_INSTALL, err))
    assert result['evidence']['has_madv_guard'] is has_madv_guard, result
    # criu's kerndat_has_madv_guard() takes only EINVAL as "no"
    assert result['evidence'].get('criu_kerndat_fails', False) is (has_madv_guard is None)


def _mapped_after(probe_id):
    """The probe, then which of the pages it mmap()ed itself are still mapped."""
    mapped = []
    real_mmap = M._mmap

    def recording_mmap(*args, **kwargs):
        addr, err = real_mmap(*args, **kwargs)
        mapped.append(addr)
        return addr, err

    M._mmap = recording_mmap
    try:
        _registry.BY_ID[probe_id].func(_context.ProbeContext())
    finally:
        M._mmap = real_mmap
    starts = set(start for start, end, name in M._read_maps())
    return [addr for addr in mapped if addr in starts]


@pytest.mark.parametrize('probe_id', ['mem_dirty_track', 'pagemap_scan_guard_pages', 'aio_remap'])
def test_pages_mapped_by_the_probe_are_unmapped(probe_id):
    assert in_child(lambda: _mapped_after(probe_id)) == []


def _dumpable_after_pagemap_scan():
    result = M.pagemap_scan(_context.ProbeContext(unprivileged=True))
    return result['status'], _syscall.prctl(_syscall.PR_GET_DUMPABLE)[0]


def test_pagemap_scan_unprivileged_puts_dumpable_back():
    # The uid change left this process non-dumpable; the probe makes it
    # dumpable as criu --unprivileged does, then must put that back.
    assert in_child(_dumpable_after_pagemap_scan, setup=lambda: become_user(NOBODY, NOBODY)) == ['supported', 0]


def _i386_mmap2_fails():
    """A 32-bit (int $0x80) mmap2 fails with ENOMEM; every other call is allowed."""
    sd = seccomp_deny
    seccomp_deny.install([(sd.BPF_LD_W_ABS, 0, 0, sd.SECCOMP_DATA_ARCH),
                          (sd.BPF_JEQ_K, 0, 2, sd.AUDIT_ARCH_I386),
                          (sd.BPF_LD_W_ABS, 0, 0, sd.SECCOMP_DATA_NR),
                          (sd.BPF_JEQ_K, 1, 0, sd.SYSCALLS_I386['mmap2']),
                          (sd.BPF_RET_K, 0, 0, sd.SECCOMP_RET_ALLOW),
                          (sd.BPF_RET_K, 0, 0, sd.SECCOMP_RET_ERRNO | errno.ENOMEM)])


@needs_x86_64_filter
def test_compat_cr_when_the_32bit_mmap_fails():
    if not kernelinfo.config_on('CONFIG_IA32_EMULATION'):
        pytest.skip('no ia32 emulation: can_map_vdso is false first')
    result = _probe_under('compat_cr', _i386_mmap2_fails)
    assert (result['status'], result['message']) == ('unsupported', M.MSG_COMPAT_CR), result
    assert result['evidence']['child_exit'] == 1
    assert result['evidence']['error'] == 'ia32 mmap() failed: %d' % (-errno.ENOMEM % M.PAGE_SIZE)


def test_uffd_noncoop_names_the_missing_events(monkeypatch):
    # The kernel cannot be made to offer fewer UFFDIO_API features: the real
    # answer of this kernel with EVENT_UNMAP taken out.
    real = M._uffd_open()
    assert real['has_uffd'], real
    monkeypatch.setattr(M, '_uffd_open', lambda: dict(real, features=real['features'] & ~M.UFFD_FEATURE_EVENT_UNMAP))
    result = M.uffd_noncoop(_context.ProbeContext())
    assert (result['status'], result['message']) == ('unsupported', 'Non-cooperative UFFD is not supported'), result
    assert result['evidence']['missing'] == '0x40'


def _read_only_proc():
    """In the child: a private mount namespace whose /proc is read-only (it dies with the child)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000) != 0:   # CLONE_NEWNS
        raise OSError(ctypes.get_errno(), 'unshare')
    for args in ((None, b'/', None, 0x4000 | 0x40000, None),   # MS_REC | MS_PRIVATE
                 (b'/proc', b'/proc', None, 0x1000, None),     # MS_BIND
                 (None, b'/proc', None, 0x20 | 0x1000 | 0x1, None)):   # MS_REMOUNT | MS_BIND | MS_RDONLY
        if libc.mount(*args) != 0:
            raise OSError(ctypes.get_errno(), 'mount %r' % (args,))


def test_mem_dirty_track_clear_refs_open_refused_is_crius_open_error():
    # criu opens clear_refs with __open_proc(), which reports any errno but
    # EACCES as "Can't open <pid>/clear_refs on procfs", and its kerndat fails.
    result, pid = in_child(lambda: (M.mem_dirty_track(_context.ProbeContext()), os.getpid()), setup=_read_only_proc)
    assert result['status'] == 'unsupported'
    assert result['message'] == "Can't open %d/clear_refs on procfs: Read-only file system" % pid
    assert (result['evidence']['errno_name'], result['evidence']['criu_kerndat_fails']) == ('EROFS', True)
