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
import errno
import mmap
import os
import platform

import pytest

import kernelinfo
import leftovers
import seccomp_deny

from conftest import NOBODY, become_user, drop_effective_caps, enter_user_namespace, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts as M
from ansible_collections.criu.check.plugins.module_utils import _registry
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN

pytestmark = requires_root

PROBES = ('clone_parent_vs_pid', 'move_mount_set_group', 'overlayfs_maps', 'apparmor_stacking', 'autofs')
LIBC = ctypes.CDLL(None, use_errno=True)
ROOT = {}
NOBODY_UNPRIV = {'as_user': NOBODY, 'unprivileged': True}
USERNS = {'userns': True}
NO_SYS_ADMIN = {'drop_caps': (CAP_SYS_ADMIN,)}
x86_64_only = pytest.mark.skipif(platform.machine() != 'x86_64',
                                 reason='seccomp_deny.py knows x86_64 system calls only')
# include/uapi/linux/{mount,sched}.h, written out here so that a wrong constant in the probe shows
MOVE_MOUNT_SET_GROUP, MS_SLAVE_REC, CLONE_NEWUSER = 0x100, (1 << 19) | 16384, 0x10000000


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
    assert res['evidence']['tested_in'] == 'user namespace', res
    # unshare -Ur: criu's mount in the mount namespace of the initial user
    # namespace gets EPERM and criu's kerndat fails ("Could not initialize
    # kernel features detection", seen with criu 4.1.1 on this machine).
    res = run_probe('move_mount_set_group', **USERNS)
    assert res['status'] == 'unsupported', res
    assert res['message'] == 'Fail to mount tmfps to /tmp/.criu.move_mount_set_group.XXXXXX: Operation not permitted'
    assert res['evidence']['mount_ns_owned_by_own_userns'] is False
    assert res['evidence']['kernel_answer'] is True
    assert _decide.kerndat_blockers({'move_mount_set_group': res}), res   # criu cannot start there
    res = run_probe('move_mount_set_group', **NO_SYS_ADMIN)
    assert res['status'] == 'unsupported', res
    assert res['evidence']['criu_kerndat_fails'] is True and res['evidence']['kernel_answer'] is None
    assert (res['evidence']['errno_name'], res['evidence']['failed_step']) == ('EPERM', 'unshare(CLONE_NEWNS)')


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


def _probe_under(probe_id, *setups, **context):
    """run_probe() in a child whose set-up ends with ``setups`` (seccomp filters)."""
    def setup():
        if context.get('as_user') is not None:
            become_user(context['as_user'], context['as_user'])
        if context.get('drop_caps'):
            drop_effective_caps(context['drop_caps'])
        for step in setups:
            step()
    return in_child(lambda: _registry.BY_ID[probe_id].func(_context.ProbeContext(
        unprivileged=context.get('unprivileged', False))), setup)


# move_mount(MOVE_MOUNT_SET_GROUP) refused as by a kernel before 5.15 (EINVAL; ENOSYS before the call, 5.2)
# or by a container's profile (EPERM): criu's kerndat takes the first two as "no feature" and aborts on the
# third (criu/kerndat.c kerndat_has_move_mount_set_group()).
@x86_64_only
@pytest.mark.parametrize('err, message, kerndat_fails', [
    (errno.EINVAL, 'No MOVE_MOUNT_SET_GROUP kernel feature', False),
    (errno.ENOSYS, 'No MOVE_MOUNT_SET_GROUP kernel feature', False),
    (errno.EPERM, 'Fail to MOVE_MOUNT_SET_GROUP: Operation not permitted', True)])
def test_move_mount_set_group_refused(err, message, kerndat_fails):
    res = _probe_under('move_mount_set_group', seccomp_deny.call_fails('move_mount', 4, MOVE_MOUNT_SET_GROUP, err))
    assert (res['status'], res['message']) == ('unsupported', message), res
    assert res['evidence']['kernel_answer'] is False and res['evidence']['errno_name'] == errno.errorcode[err], res
    assert bool(_decide.kerndat_blockers({'move_mount_set_group': res})) is kerndat_fails, res


@x86_64_only
def test_a_refused_tmpfs_mount_is_criu_s_first_mount_failing():
    """mount(tmpfs) refused: the scratch /tmp of the probes' private namespace cannot be made, and criu's own
    first mount, a tmpfs too, would fail the same way (kerndat aborts for move_mount_set_group)."""
    refuse_tmpfs = seccomp_deny.call_fails('mount', 3, 0, errno.EPERM)   # flags 0: only the tmpfs mounts
    res = _probe_under('move_mount_set_group', refuse_tmpfs)
    assert (res['status'], res['message']) == (
        'unsupported', 'Fail to mount tmfps to /tmp/.criu.move_mount_set_group.XXXXXX: Operation not permitted'), res
    assert (res['evidence']['failed_step'], res['evidence']['kernel_answer']) == ('mount(tmpfs, /tmp)', None), res
    assert _decide.kerndat_blockers({'move_mount_set_group': res}), res
    res = _probe_under('autofs', refuse_tmpfs)
    assert (res['status'], res['message']) == ('unsupported', 'failed to mount autofs: Operation not permitted'), res
    assert res['evidence']['failed_step'] == 'mount(tmpfs, /tmp)', res


# Python's open(path, 'w'): the user namespace's setgroups and id maps cannot be written.
MAPS_REFUSED = seccomp_deny.call_fails('openat', 2, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, errno.EACCES)


@x86_64_only
@pytest.mark.parametrize('refuse, err', [
    (seccomp_deny.call_fails('unshare', 0, CLONE_NEWUSER, errno.EPERM), 'EPERM'), (MAPS_REFUSED, 'EACCES')],
    ids=['no-unshare', 'no-id-maps'])
def test_move_mount_set_group_unprivileged_without_a_user_namespace(refuse, err):
    """criu does not probe it in --unprivileged mode; with no user namespace to look in, the kernel's answer
    is not known (None), not "no"."""
    res = _probe_under('move_mount_set_group', refuse, **NOBODY_UNPRIV)
    assert res['status'] == 'unsupported' and 'in --unprivileged mode' in res['message'], res
    assert (res['evidence']['kernel_answer'], res['evidence']['failed_step']) == (None, 'unshare(CLONE_NEWUSER)'), res
    assert res['evidence']['errno_name'] == err, res


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


# A container's seccomp profile refusing the new mount API or the remount of /: criu's child fails the check
# with the step's perror.  Where the probe tests in a user namespace of its own (no CAP_SYS_ADMIN, where criu
# would not test), EPERM or EACCES there says nothing about criu's namespace: unknown.
@x86_64_only
@pytest.mark.parametrize('refuse, err, context, status, message', [
    (seccomp_deny.call_fails('mount', 3, MS_SLAVE_REC, errno.EPERM), errno.EPERM, ROOT, 'unsupported',
     'Unable to remount / with MS_SLAVE: Operation not permitted'),
    (lambda: seccomp_deny.install(seccomp_deny.program(['fsopen'], errno.EPERM)), errno.EPERM, ROOT, 'unsupported',
     'Unable to fsopen tmpfs: Operation not permitted'),
    (lambda: seccomp_deny.install(seccomp_deny.program(['fsopen'], errno.EPERM)), errno.EPERM, NO_SYS_ADMIN,
     'unknown', 'Unable to fsopen tmpfs: Operation not permitted (in a user namespace: cannot tell)'),
    (lambda: seccomp_deny.install(seccomp_deny.program(['fsopen'], errno.EACCES)), errno.EACCES, NO_SYS_ADMIN,
     'unknown', 'Unable to fsopen tmpfs: Permission denied (in a user namespace: cannot tell)'),
    (lambda: seccomp_deny.install(seccomp_deny.program(['fsopen'], errno.ENOSYS)), errno.ENOSYS, NO_SYS_ADMIN,
     'unsupported', 'Unable to fsopen tmpfs: Function not implemented')],
    ids=['root-no-slave', 'root-no-fsopen', 'userns-fsopen-EPERM', 'userns-fsopen-EACCES', 'userns-no-fsopen'])
def test_overlayfs_maps_refused(refuse, err, context, status, message):
    res = _probe_under('overlayfs_maps', refuse, **context)
    assert (res['status'], res['message']) == (status, message), res
    assert res['evidence']['errno_name'] == errno.errorcode[err], res


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
    ('y' * 60, '1.2', 'unsupported', 'aa stack featured disabled: ' + 'y' * 48),   # criu's fscanf("%48s")
    (None, '1.2', 'unsupported', 'cannot read %s/features/domain/stack: No such file or directory'
     % M.AA_SECURITYFS_PATH),
    ('yes', None, 'unsupported', 'cannot read %s/features/domain/version: No such file or directory'
     % M.AA_SECURITYFS_PATH),
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
            if text is not None:
                with open(M.AA_SECURITYFS_PATH + '/features/domain/' + name, 'w') as f:
                    f.write(text + '\n')
        with open('/sys/kernel/security/lsm', 'w') as f:
            f.write('capability,apparmor')
        return M.apparmor_stacking(_context.ProbeContext())
    res = in_child(body)
    assert (res['status'], res['message']) == (status, message)
    assert res['evidence']['lsm'] == 'capability,apparmor', res


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


def _autofs_with_a_tmpfs(mountpoint, source):
    """The autofs probe where a tmpfs of ``source`` is mounted on ``mountpoint``: criu only looks for
    " autofs " and "pipe_ino=" in mountinfo's lines, so a tmpfs named autofs shows what it reads."""
    def body():
        _private_scratch()
        os.makedirs(mountpoint)
        _libc_mount(source, mountpoint, 'tmpfs', 0)
        return M.autofs(_context.ProbeContext())
    return in_child(body)


def test_autofs_reads_mountinfo_like_criu():
    res = _autofs_with_a_tmpfs('/tmp/a', 'autofs')
    assert (res['status'], res['message']) == ('unsupported', 'autofs not supported.'), res
    assert ' /tmp/a ' in res['evidence']['existing_autofs_mount'] and 'test_mount' not in res['evidence'], res
    res = _autofs_with_a_tmpfs('/tmp/pipe_ino=1', 'autofs')
    assert res['status'] == 'supported', res
    # "autofs" without the spaces around it is not an autofs line: criu makes its test mount.
    res = _autofs_with_a_tmpfs('/tmp/autofs', 'test')
    assert res['evidence']['test_mount'] is True and res['evidence']['existing_autofs_mount'] is None, res


def test_autofs_reads_mountinfo_in_criu_s_1023_byte_pieces():
    """criu's fgets() into 1024 bytes cuts a longer line: "pipe_ino=" in the mount point's first piece and
    " autofs " (the source, after it) in a later one is "autofs not supported." for criu too."""
    res = _autofs_with_a_tmpfs('/tmp/pipe_ino=' + '/x' * 600, 'autofs')
    assert (res['status'], res['message']) == ('unsupported', 'autofs not supported.'), res
    assert 'pipe_ino=' not in res['evidence']['existing_autofs_mount'], res


def test_autofs_without_mountinfo():
    """No /proc/self/mountinfo to read (a tmpfs over /proc here): criu's check fails with open_proc()'s line."""
    def body():
        ctx = _context.ProbeContext()   # reads /proc/self/status: before /proc goes
        _private_scratch()
        _libc_mount('test', '/proc', 'tmpfs', 0)
        return M.autofs(ctx)
    res = in_child(body)
    assert (res['status'], res['message']) == (
        'unsupported', "Can't open 0/mountinfo on procfs: No such file or directory"), res
    assert res['evidence']['errno_name'] == 'ENOENT', res


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


def test_probes_mount_nothing_into_a_shared_parent():
    """Most hosts' / is shared (systemd): a probe's mount namespace, a copy of the caller's, must be made
    private (rprivate: /tmp is a mount of its own on many hosts) before it mounts, or its mounts propagate to the
    caller's.  The test's own scratch namespace, cut from the host first, is made rshared to stand for the host."""
    def body():
        leftovers.quiet_scratch()
        _libc_mount(None, '/', None, M.MS_REC | M.MS_SHARED)
        before = leftovers.mounts()
        for fn in (M.move_mount_set_group, M.overlayfs_maps, M.autofs):
            fn(_context.ProbeContext())
        return before, leftovers.mounts()
    before, after = in_child(body)
    assert any('/tmp' in line.split()[0] and 'shared:' in line for line in before), before
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
