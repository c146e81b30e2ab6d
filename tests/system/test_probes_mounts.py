# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the namespace, mount and LSM probes (criu.check).

They run the real probe functions on this kernel in the contexts criu
distinguishes (root; nobody with --unprivileged; a user namespace with and
without its own mount namespace; dropped CAP_SYS_ADMIN) and check the
answers against facts gathered independently: /proc/config.gz, an overlay
mounted by the test with the old mount(2) API, an autofs mount the test
makes itself, and the mount table, fds, children and /tmp before and after.
"""

import ctypes
import mmap
import os

import pytest

import kernelinfo
import leftovers

from conftest import NOBODY, drop_effective_caps, enter_user_namespace, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts as M
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN

pytestmark = requires_root

PROBES = ('clone_parent_vs_pid', 'move_mount_set_group', 'overlayfs_maps', 'apparmor_stacking', 'autofs')
LIBC = ctypes.CDLL(None, use_errno=True)
ROOT = {}
NOBODY_UNPRIV = {'as_user': NOBODY, 'unprivileged': True}
USERNS = {'userns': True}
NO_SYS_ADMIN = {'drop_caps': (CAP_SYS_ADMIN,)}


def _libc_mount(source, target, fstype, flags, data=None):
    enc = [v.encode() if isinstance(v, str) else v for v in (source, target, fstype, data)]
    if LIBC.mount(enc[0], enc[1], enc[2], ctypes.c_ulong(flags), enc[3]) != 0:
        raise OSError(ctypes.get_errno(), 'mount %s' % target)


def _private_scratch():
    """In a child: a private mount namespace with a tmpfs over /tmp."""
    if LIBC.unshare(M.CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')
    _libc_mount(None, '/', None, M.MS_REC | M.MS_PRIVATE)
    _libc_mount('test', '/tmp', 'tmpfs', 0)


# ---------------------------------------------------------------- clone_parent_vs_pid

def test_clone_parent_vs_pid_root_and_userns():
    assert kernelinfo.kconfig('CONFIG_PID_NS') == 'y'
    for context in (ROOT, USERNS):
        res = run_probe('clone_parent_vs_pid', **context)
        assert res['status'] == 'supported', (context, res)
        # The new process was a child of the probe's process (CLONE_PARENT),
        # which reaped it.
        assert res['evidence']['reaped_by_caller'] is True


def test_clone_parent_vs_pid_needs_cap_sys_admin():
    for context in (NOBODY_UNPRIV, NO_SYS_ADMIN):
        res = run_probe('clone_parent_vs_pid', **context)
        assert res['status'] == 'unsupported', (context, res)
        assert res['message'] == "CLONE_PARENT | CLONE_NEWPID don't work together"
        assert res['evidence']['errno_name'] == 'EPERM'


# ---------------------------------------------------------------- move_mount_set_group

def test_move_mount_set_group_as_root():
    res = run_probe('move_mount_set_group')
    expected = kernelinfo.version() >= (5, 15)
    assert res['status'] == ('supported' if expected else 'unsupported'), res
    assert res['evidence']['kernel_answer'] is expected


def test_move_mount_set_group_restricted():
    res = run_probe('move_mount_set_group', **NOBODY_UNPRIV)
    assert res['status'] == 'unsupported', res
    assert 'does not probe MOVE_MOUNT_SET_GROUP in --unprivileged mode' in res['message']
    assert res['evidence']['kernel_answer'] is (kernelinfo.version() >= (5, 15))
    # unshare -Ur: criu's mount in the mount namespace of the initial user
    # namespace gets EPERM and criu's kerndat fails ("Could not initialize
    # kernel features detection", seen with criu 4.1.1 on this machine).
    res = run_probe('move_mount_set_group', **USERNS)
    assert res['status'] == 'unsupported', res
    assert res['message'] == 'Fail to mount tmfps to /tmp/.criu.move_mount_set_group.XXXXXX: Operation not permitted'
    assert res['evidence']['mount_ns_owned_by_own_userns'] is False
    assert res['evidence']['kernel_answer'] is True
    res = run_probe('move_mount_set_group', **NO_SYS_ADMIN)
    assert res['status'] == 'unsupported', res
    assert res['evidence']['criu_kerndat_fails'] is True and res['evidence']['kernel_answer'] is None


def test_move_mount_set_group_in_userns_with_own_mount_ns():
    # unshare -Urm: the mount namespace belongs to the user namespace, so
    # criu's mounts would work there too.
    def setup_and_probe():
        enter_user_namespace()
        assert LIBC.unshare(M.CLONE_NEWNS) == 0
        assert M.mount_ns_owner_is_own_userns() is True
        return M.move_mount_set_group(_context.ProbeContext())
    assert in_child(setup_and_probe)['status'] == 'supported'
    assert in_child(M.mount_ns_owner_is_own_userns) is True


# ---------------------------------------------------------------- overlayfs_maps

def _overlay_maps_by_hand():
    """The same question with the old mount(2) API and Python's mmap."""
    _private_scratch()
    for d in ('l', 'u', 'w', 'm'):
        os.mkdir('/tmp/' + d)
    _libc_mount('overlay', '/tmp/m', 'overlay', 0, 'lowerdir=/tmp/l,upperdir=/tmp/u,workdir=/tmp/w')
    fd = os.open('/tmp/m/f', os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b'x')
    area = mmap.mmap(fd, 1, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    st = os.fstat(fd)
    with open('/proc/self/maps') as maps:
        for line in maps:
            if line.rstrip().endswith('/tmp/m/f'):
                major, minor = (int(x, 16) for x in line.split()[3].split(':'))
                shown = (major, minor, int(line.split()[4]))
    area.close()
    return list(shown) == [os.major(st.st_dev), os.minor(st.st_dev), st.st_ino]


def test_overlayfs_maps_as_root_and_userns():
    expected = 'supported' if in_child(_overlay_maps_by_hand) else 'unsupported'
    for context in (ROOT, USERNS):
        res = run_probe('overlayfs_maps', **context)
        assert res['status'] == expected, (context, res)
        assert 'criu_verdict' not in res['evidence']
        assert res['evidence']['maps_dev_ino'] == res['evidence']['fstat_dev_ino']


def test_overlayfs_maps_tests_where_criu_does_not():
    """Without CAP_SYS_ADMIN criu says supported untested; the probe tests in
    a user namespace of its own."""
    expected = 'supported' if in_child(_overlay_maps_by_hand) else 'unsupported'
    for context in (NOBODY_UNPRIV, NO_SYS_ADMIN):
        res = run_probe('overlayfs_maps', **context)
        assert res['status'] == expected, (context, res)
        assert res['evidence']['criu_verdict'] == 'supported'
        assert res['evidence']['unshare_errno_name'] == 'EPERM'
        assert res['evidence']['tested_in'] == 'user namespace'


def test_overlayfs_maps_unknown_without_any_namespace():
    # A user namespace that may create no further user namespace, and no
    # CAP_SYS_ADMIN: neither criu's test nor ours can run.
    def body():
        enter_user_namespace()
        with open('/proc/sys/user/max_user_namespaces', 'w') as f:
            f.write('0')
        drop_effective_caps((CAP_SYS_ADMIN,))
        return M.overlayfs_maps(_context.ProbeContext())
    res = in_child(body)
    assert res['status'] == 'unknown', res
    assert res['evidence']['criu_verdict'] == 'supported'
    assert res['evidence']['userns_errno_name'] in ('ENOSPC', 'EPERM')


# ---------------------------------------------------------------- apparmor_stacking

def test_apparmor_stacking_not_applicable_here():
    if os.path.exists(M.AA_SECURITYFS_PATH):
        pytest.skip('this host runs AppArmor')
    for context in (ROOT, NOBODY_UNPRIV, USERNS):
        res = run_probe('apparmor_stacking', **context)
        assert res['status'] == 'not_applicable', res
        assert res['message'].startswith('AppArmor is not the LSM here (no %s): ' % M.AA_SECURITYFS_PATH), res


@pytest.mark.parametrize('stack, version, status, message', [
    ('yes', '1.2', 'supported', ''),
    ('yes', '8.9', 'supported', ''),
    ('yes', '2.0', 'unsupported', 'AppArmor domain version 2.0: criu needs major >= 1 and minor >= 2'),
    ('no', '1.2', 'unsupported', 'aa stack featured disabled: no'),
    ('', '1.2', 'unsupported', 'scanning aa stack feature failed'),
    ('yes', 'x', 'unsupported', 'scanning aa stack version failed'),
])
def test_apparmor_stacking_reads_like_criu(stack, version, status, message):
    """The kernel gives no AppArmor here: a private mount namespace lays out
    the two securityfs files criu reads, to exercise the probe's parsing
    (criu's quirk included: 2.0 fails)."""
    def body():
        if LIBC.unshare(M.CLONE_NEWNS) != 0:
            raise OSError(ctypes.get_errno(), 'unshare')
        _libc_mount(None, '/', None, M.MS_REC | M.MS_PRIVATE)
        _libc_mount('test', '/sys/kernel/security', 'tmpfs', 0)
        os.makedirs(M.AA_SECURITYFS_PATH + '/features/domain')
        for name, text in (('stack', stack), ('version', version)):
            with open(M.AA_SECURITYFS_PATH + '/features/domain/' + name, 'w') as f:
                f.write(text + '\n')
        return M.apparmor_stacking(_context.ProbeContext())
    res = in_child(body)
    assert (res['status'], res['message']) == (status, message)


# ---------------------------------------------------------------- autofs

def _kernel_has_autofs():
    with open('/proc/filesystems') as f:
        registered = any(line.split()[-1] == 'autofs' for line in f if line.strip())
    return registered or kernelinfo.kconfig('CONFIG_AUTOFS_FS') in ('y', 'm')


needs_autofs = pytest.mark.skipif(not _kernel_has_autofs(), reason='this kernel has no autofs (CONFIG_AUTOFS_FS '
                                  'is not set): test_autofs_absent_from_the_kernel runs instead')


def test_autofs_absent_from_the_kernel():
    if _kernel_has_autofs():
        pytest.skip('this kernel has autofs: the other autofs tests run')
    # The kernel looks the filesystem up after the permission check of the
    # initial user namespace: without CAP_SYS_ADMIN there, EPERM comes first.
    for context, err in (({}, 'No such device'), (USERNS, 'No such device'),
                         (NOBODY_UNPRIV, 'Operation not permitted'), (NO_SYS_ADMIN, 'Operation not permitted')):
        res = run_probe('autofs', **context)
        assert (res['status'], res['message']) == ('unsupported', 'failed to mount autofs: ' + err), (context, res)


@needs_autofs
def test_autofs_as_root_mounts_privately():
    assert kernelinfo.kconfig('CONFIG_AUTOFS_FS') in ('y', 'm')
    res = run_probe('autofs')
    assert res['status'] == 'supported', res
    assert res['evidence']['test_mount'] is True
    assert '/tmp/.criu.mnt.' in res['evidence']['autofs_line'] and 'pipe_ino=' in res['evidence']['autofs_line']


@needs_autofs
def test_autofs_uses_an_existing_autofs_mount():
    def body():
        _private_scratch()
        os.mkdir('/tmp/a')
        rfd, wfd = os.pipe()
        _libc_mount('test', '/tmp/a', 'autofs', 0, 'fd=%d,pgrp=%d,minproto=5,maxproto=5,direct' % (wfd, os.getpgrp()))
        return M.autofs(_context.ProbeContext())
    res = in_child(body)
    assert res['status'] == 'supported', res
    assert ' /tmp/a ' in res['evidence']['existing_autofs_mount']
    assert 'test_mount' not in res['evidence']


@needs_autofs
def test_autofs_needs_init_cap_sys_admin():
    for context in (NOBODY_UNPRIV, USERNS, NO_SYS_ADMIN):
        res = run_probe('autofs', **context)
        assert res['status'] == 'unsupported', (context, res)
        assert res['message'] == 'failed to mount autofs: Operation not permitted'


# ---------------------------------------------------------------- isolation
# (Debian's python3 giving the same answers: tests/system/test_python_environments.py)

def test_probes_leave_nothing_behind():
    def body():
        leftovers.quiet_scratch()
        before = leftovers.snapshot()
        for unprivileged in (False, True):
            ctx = _context.ProbeContext(unprivileged=unprivileged)
            for fn in (M.clone_parent_vs_pid, M.move_mount_set_group, M.overlayfs_maps, M.apparmor_stacking,
                       M.autofs):
                fn(ctx)
        return before, leftovers.snapshot()
    before, after = in_child(body)
    assert before == after


def test_host_never_sees_the_probes_mounts():
    """criu mounts in the host namespace; the probes never do.  A mount that
    leaked by propagation would outlive the probe's namespace on the host."""
    assert leftovers.host_traces() == []
    mounting = ('move_mount_set_group', 'overlayfs_maps', 'clone_parent_vs_pid') + (
        ('autofs',) if _kernel_has_autofs() else ())
    for probe in mounting:
        assert run_probe(probe)['status'] == 'supported', probe
    assert leftovers.host_traces() == []
