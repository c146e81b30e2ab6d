# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of namespaces, mounts and LSM.

PRIVATE to the criu.check collection: not a public API.

Everything here that changes namespaces or mounts does it in a child forked
by ``_child.run_in_child()``: the child unshares what it needs, reports one
JSON value over a pipe and ends with ``os._exit()``; the caller always reaps it.
Where criu itself mounts in the caller's (host) mount namespace under
``/tmp/.criu.*`` (move_mount_set_group, autofs), the child does the same
system calls in a private mount namespace, on a scratch tmpfs over its own
``/tmp``, so that not even an empty directory is left on the host.  The
other probe families import ``enter_user_namespace()`` from here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import mmap
import os
import tempfile

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._proc_parse import PROC_SELF, open_proc_error
from ansible_collections.criu.check.plugins.module_utils._syscall import (
    AT_FDCWD, CLONE_NEWNS, CLONE_NEWUSER, MS_PRIVATE, MS_REC, NS_GET_USERNS, WALL)

# <linux/sched.h>
CLONE_PARENT = 0x00008000
CLONE_NEWPID = 0x20000000

# <linux/mount.h>
MS_BIND = 4096
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2
FSCONFIG_SET_STRING = 1
FSCONFIG_CMD_CREATE = 6
MOVE_MOUNT_F_EMPTY_PATH = 0x4
MOVE_MOUNT_SET_GROUP = 0x100

AA_SECURITYFS_PATH = '/sys/kernel/security/apparmor'

# criu's texts (criu/cr-check.c, criu/kerndat.c, criu/apparmor.c)
MSG_CLONE_PARENT = "CLONE_PARENT | CLONE_NEWPID don't work together"
MSG_NO_SET_GROUP = 'No MOVE_MOUNT_SET_GROUP kernel feature'
MSG_AUTOFS = 'autofs not supported.'
SET_GROUP_TMPDIR = '/tmp/.criu.move_mount_set_group.XXXXXX'


# ---------------------------------------------------------------- children

def enter_user_namespace(extra_flags=0):
    """In a child: ``unshare(CLONE_NEWUSER | extra_flags)`` with the caller
    mapped to root, as ``unshare -Ur``.  It lets a child without privilege
    test what the kernel supports where criu does not probe (or, for
    overlayfs_maps, does not test).  Return 0 or an errno; NamespaceUnchanged
    when unshare() returned 0 and changed nothing."""
    uid, gid = os.geteuid(), os.getegid()
    # A process that changed uid is not dumpable, and then its /proc/self
    # files belong to root: the maps below could not be written (criu sets
    # PR_SET_DUMPABLE under --unprivileged for the same reason).
    _syscall.prctl(_syscall.PR_SET_DUMPABLE, 1)
    # A faked success would otherwise show as the EPERM of the map writes below.
    err = _syscall.unshare(CLONE_NEWUSER | extra_flags)
    if err:
        return err
    try:
        for name, text in (('setgroups', 'deny'), ('uid_map', '0 %d 1' % uid), ('gid_map', '0 %d 1' % gid)):
            with open('/proc/self/' + name, 'w') as f:
                f.write(text)
    except OSError as exc:
        return exc.errno or errno.EPERM
    return 0


def _mount(source, target, fstype, flags, data=None):
    """mount(2); return 0 or an errno."""
    enc = [v.encode() if isinstance(v, str) else v for v in (source, target, fstype, data)]
    return _syscall.syscall('mount', enc[0], enc[1], enc[2], flags, enc[3])[1]


def _private_mount_ns():
    """In a child: a mount namespace of its own whose mounts propagate to no
    one (rprivate), with a scratch tmpfs over its ``/tmp``.  Return
    (step, errno) of the first failure, or (None, 0)."""
    step, err = _syscall.make_mounts_private()
    if step:
        return step, err
    err = _mount('criu-check', '/tmp', 'tmpfs', 0)
    if err:
        return 'mount(tmpfs, /tmp)', err
    return None, 0


# The private copy cannot be made private where / is not a mount point: in a plain chroot, where criu
# itself stops before any check (_decide.NO_MOUNT_TREE), so a test mount could reach the host's namespace.
MSG_NO_ISOLATION = ('not tested: / is not a mount point here (a chroot), so the test mounts could not be kept out '
                    'of the host\'s mount namespace')


def _cannot_isolate(step, err):
    return step == _syscall.MAKE_ROOT_PRIVATE and err == errno.EINVAL


def mount_ns_owner_is_own_userns():
    """Whether the caller's mount namespace belongs to its own user namespace.

    criu mounts in its own mount namespace; that needs CAP_SYS_ADMIN in the
    user namespace that owns it.  A private namespace made by unshare()
    belongs to the caller's user namespace instead, so when the two differ
    (``unshare -U`` without ``-m``) criu gets EPERM where the private copy
    would not.  Return True, False, or None when the kernel cannot say.
    """
    fd = owner = -1
    try:
        fd = os.open('/proc/self/ns/mnt', os.O_RDONLY)
        owner = fcntl.ioctl(fd, NS_GET_USERNS)
        st_owner = os.fstat(owner)
        st_own = os.stat('/proc/self/ns/user')
        return (st_owner.st_dev, st_owner.st_ino) == (st_own.st_dev, st_own.st_ino)
    except OSError as exc:
        # EPERM: the owner is outside our user namespace (an ancestor), where
        # we hold no capability.  Other errors: a kernel without nsfs ioctls.
        return False if exc.errno == errno.EPERM else None
    finally:
        _syscall.close_quietly(fd, owner)


# ---------------------------------------------------------------- clone_parent_vs_pid

def _clone_parent_newpid():
    """In the intermediate child: criu's clone(CLONE_NEWPID | CLONE_PARENT).

    The raw system call with a NULL stack behaves like fork; every argument
    but the flags is 0, so the x86_64 and asm-generic argument orders agree.
    The new process belongs to our parent (CLONE_PARENT) and only exits.
    """
    rc, err = _syscall.syscall('clone', CLONE_NEWPID | CLONE_PARENT, 0, 0, 0, 0)
    if rc == 0:
        os._exit(0)
    return {'rc': rc, 'errno': err}


def clone_parent_vs_pid(ctx):
    """criu: check_clone_parent_vs_pid().

    criu clones from its own process, so the new process becomes a child of
    criu's parent, which criu never reaps.  Here an intermediate child makes
    the clone, so the new process is a child of this worker, which reaps it.
    The permission checks (CAP_SYS_ADMIN in the caller's user namespace for
    CLONE_NEWPID) are the same for the intermediate child as for criu.  The
    answer is criu's when it runs as any process but a pid namespace's init,
    as runtimes run it: an init (criu as a container's PID 1) gets EINVAL
    from CLONE_PARENT whatever the kernel.
    """
    res = _child.run_in_child(_clone_parent_newpid, ctx.left())
    evidence = {'flags': 'CLONE_NEWPID|CLONE_PARENT'}
    if res['rc'] < 0:
        evidence.update(R.errno_evidence(res['errno']))
        return R.unsupported(MSG_CLONE_PARENT, evidence=evidence)
    status = _child.reap(res['rc'], ctx.left(), options=WALL)
    # Only a child of ours can be reaped here: that proves CLONE_PARENT.
    evidence.update({'clone_pid': res['rc'], 'reaped_by_caller': status is not None})
    return R.supported(evidence=evidence)


# ---------------------------------------------------------------- move_mount_set_group

def _set_group_steps():
    """criu's kerndat_has_move_mount_set_group() steps, in a private mount
    namespace (see the module docstring).  Return a dict: ok, errno, step,
    message (criu's text for the failing step)."""
    tmp = tempfile.mkdtemp(prefix='.criu.move_mount_set_group.', dir='/tmp')
    sub = tmp + '/subdir'
    err = _mount('criu.move_mount_set_group', tmp, 'tmpfs', 0)
    if err:
        return {'ok': False, 'errno': err, 'message': R.perror('Fail to mount tmfps to %s' % tmp, err)}
    try:
        err = _mount(None, tmp, None, MS_PRIVATE)
        if err:
            return {'ok': False, 'errno': err, 'message': R.perror('Fail to make %s private' % tmp, err)}
        try:
            os.mkdir(sub, 0o700)
        except OSError as exc:
            return {'ok': False, 'errno': exc.errno, 'message': R.perror('Fail to make dir %s' % sub, exc.errno)}
        err = _mount(sub, sub, None, MS_BIND)
        if err:
            return {'ok': False, 'errno': err, 'message': R.perror('Fail to make bind-mount %s' % sub, err)}
        err = _mount(None, tmp, None, MS_SHARED)
        if err:  # sic: criu says "private" here too
            return {'ok': False, 'errno': err, 'message': R.perror('Fail to make %s private' % tmp, err)}
        rc, err = _syscall.syscall('move_mount', AT_FDCWD, tmp.encode(), AT_FDCWD, sub.encode(), MOVE_MOUNT_SET_GROUP)
        if rc == 0:
            return {'ok': True, 'errno': 0}
        if err in (errno.EINVAL, errno.ENOSYS):
            return {'ok': False, 'errno': err, 'message': MSG_NO_SET_GROUP, 'feature_absent': True}
        return {'ok': False, 'errno': err, 'message': R.perror('Fail to MOVE_MOUNT_SET_GROUP', err)}
    finally:
        _syscall.syscall('umount2', tmp.encode(), MNT_DETACH)
        os.rmdir(tmp)


def _set_group_child(userns):
    if userns:
        err = enter_user_namespace()
        if err:
            return {'ok': None, 'errno': err, 'step': 'unshare(CLONE_NEWUSER)'}
    step, err = _private_mount_ns()
    if step:
        # Untested: without the privilege for this, criu's own first mount
        # fails the same way.
        return {'ok': None, 'errno': err, 'step': step, 'cannot_isolate': _cannot_isolate(step, err),
                'message': R.perror('Fail to mount tmfps to %s' % SET_GROUP_TMPDIR, err)}
    return _set_group_steps()


def _set_group_evidence(res, **extra):
    # kernel_answer: what MOVE_MOUNT_SET_GROUP did in the private copy
    # (None: not reached).
    evidence = {'kernel_answer': res.get('ok'), 'tested_in': 'private mount namespace'}
    if res.get('errno'):
        evidence.update(R.errno_evidence(res['errno']))
    if res.get('step'):
        evidence['failed_step'] = res['step']
    if res.get('namespace_unchanged'):
        evidence['namespace_unchanged'] = res['namespace_unchanged']
    evidence.update(extra)
    return evidence


# criu's kerndat (move_mount_set_group) and check_autofs() make a directory under /tmp first.
TMP_FIX = ('criu makes its test mounts under /tmp, which it cannot write here: make /tmp writable, for example with '
           'a tmpfs on it (a container run read-only: --tmpfs /tmp; Kubernetes: an emptyDir volume on /tmp)')
TMP_NO_INODE_FIX = ('criu makes its test mounts under /tmp, whose filesystem has no inode left for their directory: '
                    'remove files from it (df -i /tmp shows its inodes), or, for a tmpfs, remount it with more: '
                    'mount -o remount,nr_inodes=N /tmp')


def _host_tmp_error():
    """The errno criu's mkdtemp() under /tmp of this mount namespace fails
    with, before criu mounts anything there, or 0: a /tmp it cannot write
    (read-only, as in a container run read-only without a tmpfs on /tmp; no
    /tmp), or one whose filesystem has no inode left.  The probes mount in a
    private namespace over a /tmp of their own, which hides that;
    access() and statvfs() ask without creating anything."""
    err = _syscall.access('/tmp', os.W_OK | os.X_OK)
    if err:
        return err
    try:
        st = os.statvfs('/tmp')
    except OSError:
        return 0   # access() found it writable; nothing more is known
    # A directory needs an inode, which no one gets when none is free (f_files 0: a filesystem
    # that does not count them, btrfs).  Free blocks do not decide it: a directory on tmpfs
    # takes none, and ext4 keeps blocks back that mkdir() by root may still use.
    if st.f_files and not st.f_ffree:
        return errno.ENOSPC
    return 0


def _tmp_fix(err):
    return TMP_NO_INODE_FIX if err == errno.ENOSPC else TMP_FIX


def move_mount_set_group(ctx):
    """criu: kerndat_has_move_mount_set_group() (root-only) + check_move_mount_set_group().

    criu mounts a tmpfs in its own (host) mount namespace under
    ``/tmp/.criu.move_mount_set_group.XXXXXX``; here the same calls run in a
    forked child with a private mount namespace.  When the caller's mount
    namespace belongs to another user namespace (``unshare -U``), criu's
    first mount gets EPERM and kerndat, so criu itself, fails: that is
    reported as unsupported, with the kernel's answer from the private copy
    in evidence.  Any failure other than EINVAL/ENOSYS also aborts criu's
    kerndat: ``criu_kerndat_fails``, the flag _decide.kerndat_blockers()
    reads, so that criu_can_start is false.
    """
    if ctx.unprivileged:
        live = _child.run_in_child(lambda: _set_group_child(True), ctx.left(), evidence_only=True)
        return R.not_probed('criu does not probe MOVE_MOUNT_SET_GROUP in --unprivileged mode (root-only kerndat)',
                            evidence=_set_group_evidence(live, tested_in='user namespace'))
    err = _host_tmp_error()
    if err:
        # criu's first step, mkdtemp(), fails, and with it kerndat
        return R.unsupported(R.perror('Fail to make dir %s' % SET_GROUP_TMPDIR, err),
                             evidence=R.errno_evidence(err, failed_step='mkdtemp(%s)' % SET_GROUP_TMPDIR,
                                                       **R.KERNDAT_FATAL), fix=_tmp_fix(err))
    if mount_ns_owner_is_own_userns() is False:
        # criu's own first mount fails whatever the private copy says: that is evidence only.
        res = _child.run_in_child(lambda: _set_group_child(False), ctx.left(), evidence_only=True)
        return R.unsupported(R.perror('Fail to mount tmfps to %s' % SET_GROUP_TMPDIR, errno.EPERM),
                             evidence=_set_group_evidence(res, mount_ns_owned_by_own_userns=False,
                                                          **R.KERNDAT_FATAL))
    res = _child.run_in_child(lambda: _set_group_child(False), ctx.left())
    if res['ok']:
        return R.supported(evidence=_set_group_evidence(res))
    if res.get('cannot_isolate'):
        return R.unknown(MSG_NO_ISOLATION, evidence=_set_group_evidence(res))
    aborts = not res.get('feature_absent', False)
    return R.unsupported(res['message'], evidence=_set_group_evidence(
        res, **{R.KERNDAT_FLAG: aborts}))


# ---------------------------------------------------------------- overlayfs_maps

class _Step(Exception):
    """A failed step of the overlayfs test: criu's message and the errno."""

    def __init__(self, message, err=0):
        Exception.__init__(self, message)
        self.message = message
        self.errno = err


def _call(text, name, *args):
    rc, err = _syscall.syscall(name, *args)
    if rc < 0:
        raise _Step(R.perror(text, err), err)
    return rc


def _maps_dev_ino(addr):
    """(major, minor, inode) that /proc/self/maps shows for the mapping at addr."""
    with open('/proc/self/maps') as maps:
        for line in maps:
            fields = line.split()
            if int(fields[0].split('-')[0], 16) == addr:
                major, minor = fields[3].split(':')
                return int(major, 16), int(minor, 16), int(fields[4])
    raise _Step('Unable to find the mapping')


def _overlay_steps():
    """criu: do_check_overlayfs_maps() after its unshare: a tmpfs on /tmp
    with the new mount API, an overlay on top of it, a shared mapping of a
    file in the overlay, and the dev:ino that /proc/self/maps shows for it.
    Return (maps (major, minor, ino), fstat (major, minor, ino))."""
    err = _mount(None, '/', None, MS_SLAVE | MS_REC)
    if err:
        raise _Step(R.perror('Unable to remount / with MS_SLAVE', err), err)
    fs = _call('Unable to fsopen tmpfs', 'fsopen', b'tmpfs', 0)
    _call('Unable to create tmpfs mount', 'fsconfig', fs, FSCONFIG_CMD_CREATE, None, None, 0)
    mnt = _call('Unable to mount tmpfs', 'fsmount', fs, 0, 0)
    _call('Unable to attach tmpfs mount', 'move_mount', mnt, b'', AT_FDCWD, b'/tmp', MOVE_MOUNT_F_EMPTY_PATH)
    try:
        os.chdir('/tmp')
    except OSError as exc:
        raise _Step(R.perror('Unable to change working directory', exc.errno), exc.errno)
    for path in ('/tmp/w', '/tmp/u', '/tmp/l'):
        try:
            os.mkdir(path, 0o755)
        except OSError as exc:
            raise _Step(R.perror('mkdir', exc.errno), exc.errno)
    ovl = _call('Unable to fsopen overlayfs', 'fsopen', b'overlay', 0)
    for key, value in ((b'source', b'test'), (b'lowerdir', b'/tmp/l'), (b'upperdir', b'/tmp/u'), (b'workdir', b'/tmp/w')):
        _call('Unable to configure overlayfs', 'fsconfig', ovl, FSCONFIG_SET_STRING, key, value, 0)
    _call('Unable to create overlayfs', 'fsconfig', ovl, FSCONFIG_CMD_CREATE, None, None, 0)
    root = _call('Unable to mount overlayfs', 'fsmount', ovl, 0, 0)
    try:
        fd = os.open('test', os.O_RDWR | os.O_CREAT, 0o644, dir_fd=root)
    except OSError as exc:
        raise _Step(R.perror('Unable to open a test file', exc.errno), exc.errno)
    # ctypes mmap: Python's mmap refuses to map past the end of an empty file.
    addr = _call('Unable to map the test file', 'mmap', 0, os.sysconf('SC_PAGE_SIZE'),
                 mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_SHARED, fd, 0)
    st = os.fstat(fd)
    return _maps_dev_ino(addr), (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)


def _overlay_child():
    res = {}
    err = _syscall.unshare(CLONE_NEWNS)
    if err:
        # criu stops here and says "supported".  Find out what is true in a
        # user namespace of our own, where an overlay can be mounted (>= 5.11).
        res['unshare_errno'] = err
        err = enter_user_namespace(CLONE_NEWNS)
        if err:
            res['userns_errno'] = err
            return res
        res['tested_in'] = 'user namespace'
    try:
        res['maps'], res['fstat'] = _overlay_steps()
    except _Step as step:
        res['message'], res['errno'] = step.message, step.errno
    return res


def overlayfs_maps(ctx):
    """criu: check_overlayfs_maps().

    Like criu, a forked child unshares its mount namespace and mounts there.
    Where criu cannot unshare (no CAP_SYS_ADMIN) it warns "Unable to create a
    new mount namespace" and reports success without testing anything.  This
    probe reports what is true instead: it repeats the test in a user
    namespace of its own, and says ``unknown`` if even that is impossible;
    evidence ``criu_verdict`` records criu's (false) "supported".
    """
    res = _child.run_in_child(_overlay_child, ctx.left())
    evidence = {}
    if 'unshare_errno' in res:
        evidence.update({'unshare_errno_name': R.errno_name(res['unshare_errno']),
                         'criu_verdict': 'supported', 'criu_message': 'Unable to create a new mount namespace'})
        if 'userns_errno' in res:
            evidence['userns_errno_name'] = R.errno_name(res['userns_errno'])
            return R.unknown('Unable to create a new mount namespace: criu reports success without testing, '
                             'and no user namespace was available to test in', evidence=evidence)
        evidence['tested_in'] = res['tested_in']
    if 'message' in res:
        evidence.update(R.errno_evidence(res['errno']) if res['errno'] else {})
        if 'tested_in' in evidence and res['errno'] in (errno.EPERM, errno.EACCES):
            return R.unknown(res['message'] + ' (in a user namespace: cannot tell)', evidence=evidence)
        return R.unsupported(res['message'], evidence=evidence)
    maps, stat = res['maps'], res['fstat']
    evidence.update({'maps_dev_ino': '%x:%x:%x' % tuple(maps), 'fstat_dev_ino': '%x:%x:%x' % tuple(stat)})
    if maps != stat:
        return R.unsupported('unmatched dev:ino %x:%x:%x (expected %x:%x:%x)' % tuple(maps + stat),
                             evidence=evidence)
    return R.supported(evidence=evidence)


# ---------------------------------------------------------------- apparmor_stacking

def _first_token(path, width):
    """fscanf(f, "%<width>s"): the first whitespace-delimited word, cut."""
    with open(path) as f:
        words = f.read().split()
    return words[0][:width] if words else None


def _lsm_list():
    try:
        with open('/sys/kernel/security/lsm') as f:
            return f.read().strip()
    except OSError:
        return None


def apparmor_stacking(ctx):
    """criu: check_apparmor_stacking() / check_aa_ns_dumping().

    criu runs this check only when ``/sys/kernel/security/apparmor`` exists
    (its LSM detection, kerndat_lsm()).  Elsewhere the result is
    not_applicable, which never counts as missing.  (``criu check --feature
    apparmor_stacking`` would fail there; with --extra it is not run.)  The
    version test keeps criu's quirk ``major >= 1 && minor >= 2``.
    """
    evidence = {'securityfs_apparmor': os.access(AA_SECURITYFS_PATH, os.F_OK),
                'lsm': _lsm_list(), 'apparmor_module': os.path.exists('/sys/module/apparmor')}
    if not evidence['securityfs_apparmor']:
        return R.not_applicable('AppArmor is not the LSM here (no %s): criu runs this check only on '
                                'AppArmor hosts' % AA_SECURITYFS_PATH, evidence=evidence)
    stack_path = AA_SECURITYFS_PATH + '/features/domain/stack'
    version_path = AA_SECURITYFS_PATH + '/features/domain/version'
    try:
        stack = _first_token(stack_path, 48)
    except OSError as exc:
        evidence.update(R.errno_evidence(exc.errno))
        return R.unsupported(R.perror('cannot read %s' % stack_path, exc.errno), evidence=evidence)
    evidence['stack'] = stack
    if stack is None:
        return R.unsupported('scanning aa stack feature failed', evidence=evidence)
    if stack != 'yes':
        return R.unsupported('aa stack featured disabled: %s' % stack, evidence=evidence)
    try:
        with open(version_path) as f:
            major, minor = (int(v) for v in f.read().split()[0].split('.')[:2])
    except OSError as exc:
        evidence.update(R.errno_evidence(exc.errno))
        return R.unsupported(R.perror('cannot read %s' % version_path, exc.errno), evidence=evidence)
    except (ValueError, IndexError):
        return R.unsupported('scanning aa stack version failed', evidence=evidence)
    evidence['version'] = '%d.%d' % (major, minor)
    if major >= 1 and minor >= 2:
        return R.supported(evidence=evidence)
    return R.unsupported('AppArmor domain version %d.%d: criu needs major >= 1 and minor >= 2' % (major, minor),
                         evidence=evidence)


# ---------------------------------------------------------------- autofs

def _autofs_pipe_ino():
    """criu: check_autofs_pipe_ino(): 0, -ENOTSUP or -ENOENT, and the line.

    criu reads mountinfo with fgets() into 1024 bytes, so a long line is
    looked at in 1023-byte pieces; the first piece with " autofs " decides.
    """
    with open('/proc/self/mountinfo', 'rb') as f:
        data = f.read()
    for line in data.splitlines(True):
        for start in range(0, len(line), 1023):
            piece = line[start:start + 1023]
            if b' autofs ' in piece:
                ret = 0 if b'pipe_ino=' in piece else -errno.ENOTSUP
                return ret, piece.decode('utf-8', 'replace').strip()
    return -errno.ENOENT, None


def _autofs_child(pgrp):
    """criu: check_autofs() after finding no autofs mount, in a private mount
    namespace: mount autofs on a fresh /tmp/.criu.mnt.XXXXXX and look again,
    with criu's own process group (``pgrp``: the kernel refuses 0)."""
    step, err = _private_mount_ns()
    if step:
        # criu would try the autofs mount itself; without the privilege to
        # unshare a mount namespace that mount fails the same way.
        return {'ret': -1, 'message': R.perror('failed to mount autofs', err), 'errno': err, 'step': step,
                'cannot_isolate': _cannot_isolate(step, err)}
    rfd, wfd = os.pipe()
    try:
        options = 'fd=%d,pgrp=%d,minproto=5,maxproto=5,direct' % (wfd, pgrp)
        path = tempfile.mkdtemp(prefix='.criu.mnt.', dir='/tmp')
        err = _mount('criu', path, 'autofs', 0, options)
        if err:
            os.rmdir(path)
            return {'ret': -1, 'message': R.perror('failed to mount autofs', err), 'errno': err}
        ret, line = _autofs_pipe_ino()
        _syscall.syscall('umount2', path.encode(), 0)
        os.rmdir(path)
        return {'ret': ret, 'line': line, 'mounted': True}
    finally:
        _syscall.close_quietly(rfd, wfd)


def autofs(ctx):
    """criu: check_autofs() (experimental).

    An autofs mount already present decides from /proc/self/mountinfo.
    Otherwise criu mounts autofs in its own (host) mount namespace under
    /tmp/.criu.mnt.XXXXXX; here a forked child does it in a private mount
    namespace.  autofs cannot be mounted from a user namespace, so the
    privilege needed (CAP_SYS_ADMIN in the initial user namespace) is the
    same in both places.
    """
    try:
        ret, line = _autofs_pipe_ino()
    except OSError as exc:
        return R.unsupported(open_proc_error(PROC_SELF, 'mountinfo', exc.errno), evidence=R.errno_evidence(exc.errno))
    evidence = {'existing_autofs_mount': line}
    err = _host_tmp_error() if ret == -errno.ENOENT else 0
    if err:
        evidence.update(R.errno_evidence(err, failed_step='mkdtemp(/tmp/.criu.mnt.XXXXXX)'))
        return R.unsupported(R.perror('failed to construct temporary name', err), evidence=evidence, fix=_tmp_fix(err))
    if ret == -errno.ENOENT:
        res = _child.run_in_child(lambda: _autofs_child(ctx.pgrp), ctx.left())
        ret, line = res['ret'], res.get('line')
        evidence.update({'test_mount': True, 'autofs_line': line})
        if res.get('errno'):
            evidence.update(R.errno_evidence(res['errno']))
            evidence['failed_step'] = res.get('step', 'mount(autofs)')
        if res.get('cannot_isolate'):
            return R.unknown(MSG_NO_ISOLATION, evidence=evidence)
        if ret == -1:
            return R.unsupported(res['message'], evidence=evidence)
    if ret == 0:
        return R.supported(evidence=evidence)
    return R.unsupported(MSG_AUTOFS, evidence=evidence)
