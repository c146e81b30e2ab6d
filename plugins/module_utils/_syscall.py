# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Raw system calls through ctypes, for what os, socket and fcntl lack.

PRIVATE to the criu.check collection: not a public API.

Syscall numbers come from the kernel headers (asm/unistd_64.h for x86_64,
asm-generic/unistd.h for aarch64 and the other generic architectures).  A
name missing for the running architecture raises ``UnsupportedArch``, which
the engine reports as ``unknown``: a probe is never guessed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import os
import platform

_X86_64 = {
    'kcmp': 312, 'rt_sigqueueinfo': 129, 'io_setup': 206, 'io_destroy': 207,
    'io_getevents': 208, 'clone': 56, 'clone3': 435, 'pidfd_open': 434,
    'pidfd_getfd': 438, 'openat2': 437, 'move_mount': 429, 'fsopen': 430,
    'fsconfig': 431, 'fsmount': 432, 'close_range': 436, 'userfaultfd': 323,
    'memfd_create': 319, 'arch_prctl': 158, 'mremap': 25, 'ptrace': 101,
    'rseq': 334, 'membarrier': 324, 'vmsplice': 278, 'unshare': 272,
    'kill': 62, 'exit': 60, 'exit_group': 231, 'getpid': 39, 'mmap': 9,
    'munmap': 11, 'gettid': 186, 'tgkill': 234, 'prctl': 157, 'setns': 308,
    'open_tree': 428, 'mount_setattr': 442, 'rt_sigaction': 13,
    'rt_sigprocmask': 14,
    'mprotect': 10, 'madvise': 28,
    'mount': 165, 'umount2': 166,
}

# asm-generic numbering, shared by aarch64, riscv64 and loongarch64.
_GENERIC = {
    'kcmp': 272, 'rt_sigqueueinfo': 138, 'io_setup': 0, 'io_destroy': 1,
    'io_getevents': 4, 'clone': 220, 'clone3': 435, 'pidfd_open': 434,
    'pidfd_getfd': 438, 'openat2': 437, 'move_mount': 429, 'fsopen': 430,
    'fsconfig': 431, 'fsmount': 432, 'close_range': 436, 'userfaultfd': 282,
    'memfd_create': 279, 'mremap': 216, 'ptrace': 117, 'rseq': 293,
    'membarrier': 283, 'vmsplice': 75, 'unshare': 97, 'kill': 129,
    'exit': 93, 'exit_group': 94, 'getpid': 172, 'mmap': 222, 'munmap': 215,
    'gettid': 178, 'tgkill': 131, 'prctl': 167, 'setns': 268,
    'open_tree': 428, 'mount_setattr': 442, 'rt_sigaction': 134,
    'rt_sigprocmask': 135,
    'mprotect': 226, 'madvise': 233,
    'mount': 40, 'umount2': 39,
}

# <linux/prctl.h>: the options more than one module uses
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_SECCOMP = 22

# The other kernel constants more than one module uses (the rest stay beside
# their only user; mmap's PROT_* and MAP_* come from Python's mmap module).
CLONE_NEWNS = 0x00020000        # <linux/sched.h>
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000                 # <linux/mount.h>
MS_PRIVATE = 1 << 18
AT_FDCWD = -100                 # <linux/fcntl.h>
WALL = 0x40000000               # <linux/wait.h> __WALL: wait for children whatever their exit signal
NS_GET_USERNS = 0xb701          # <linux/nsfs.h> _IO(0xb7, 0x1): the user namespace that owns a namespace
SIOCGSKNS = 0x894C              # <linux/sockios.h>: the network namespace of a socket
MADV_GUARD_INSTALL = 102        # <asm-generic/mman-common.h>, Linux 6.13

_TABLES = {'x86_64': _X86_64, 'aarch64': _GENERIC, 'riscv64': _GENERIC,
           'loongarch64': _GENERIC}

MACHINE = platform.machine()

LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.syscall.restype = ctypes.c_long


class UnsupportedArch(Exception):
    """The running architecture has no number for this system call here."""


def nr(name):
    """The number of system call ``name`` on this architecture."""
    try:
        return _TABLES[MACHINE][name]
    except KeyError:
        raise UnsupportedArch('no syscall number for %s on %s' % (name, MACHINE))


def _arg(value):
    if isinstance(value, int):
        return ctypes.c_long(value)
    return value


def syscall(name, *args):
    """Call ``name`` with ``args``; return ``(rc, errno)``, errno 0 on success.

    Integers are passed as C longs, anything else (ctypes pointers, byref,
    buffers) as it is.
    """
    ctypes.set_errno(0)
    rc = LIBC.syscall(ctypes.c_long(nr(name)), *[_arg(a) for a in args])
    return rc, (ctypes.get_errno() if rc == -1 else 0)


_LIBC_FUNCS = {}


def libc_function(name, restype, *argtypes):
    """A private ctypes handle on the libc function ``name`` with these
    types, made once per signature (never the shared, mutable ``LIBC.<name>``
    attribute, which another module may type differently)."""
    key = (name, restype, argtypes)
    func = _LIBC_FUNCS.get(key)
    if func is None:
        func = LIBC[name]
        func.restype = restype
        func.argtypes = argtypes
        _LIBC_FUNCS[key] = func
    return func


def libc_call(func, *args):
    """Call a libc function; return ``(rc, errno)``, errno 0 on success."""
    ctypes.set_errno(0)
    rc = func(*args)
    return rc, (ctypes.get_errno() if rc == -1 else 0)


def access(path, mode):
    """access(2), as criu calls it (with the real uid); 0 or the errno.
    os.access() would hide the errno that criu prints."""
    return libc_call(libc_function('access', ctypes.c_int, ctypes.c_char_p, ctypes.c_int), path.encode(), mode)[1]


# The namespaces the collection unshares: the flag, its name, its /proc/PID/ns
# entry and what a person calls it.
_NAMESPACES = ((CLONE_NEWUSER, 'CLONE_NEWUSER', 'user', 'user'),
               (CLONE_NEWNS, 'CLONE_NEWNS', 'mnt', 'mount'),
               (CLONE_NEWNET, 'CLONE_NEWNET', 'net', 'network'))


class NamespaceUnchanged(Exception):
    """unshare() returned 0, but a namespace it was asked for is the one the
    caller had: what it would mount or create next would land on the host.
    ``step`` is the call as ``unshare(CLONE_NEWNS)``."""

    def __init__(self, message, step):
        Exception.__init__(self, message)
        self.step = step


def _namespace_id(entry):
    """(st_dev, st_ino) of this thread's namespace ``entry`` (mnt, net, ...);
    None when /proc cannot tell."""
    for path in ('/proc/thread-self/ns/', '/proc/self/ns/'):
        try:
            st = os.stat(path + entry)
            return st.st_dev, st.st_ino
        except OSError:
            continue
    return None


def unshare(flags):
    """unshare(2) that does not take a success on trust: return 0 or the errno.

    A seccomp filter can answer unshare() with SECCOMP_RET_ERRNO and errno 0:
    the call then returns 0 and changes nothing, and a mount or a link made
    next "in the new namespace" is made in the caller's, the host's, where
    it stays.  So each namespace asked for (user, mount, network) is compared
    before and after (two stat() calls each); raise NamespaceUnchanged when
    one is the same, or when /proc cannot say.
    """
    asked = [ns for ns in _NAMESPACES if flags & ns[0]]
    before = [_namespace_id(ns[2]) for ns in asked]
    rc, err = syscall('unshare', flags)
    if rc != 0:
        return err
    step = 'unshare(%s)' % '|'.join(ns[1] for ns in asked)
    for ns, old in zip(asked, before):
        new = _namespace_id(ns[2])
        if old is None or new is None:
            raise NamespaceUnchanged('%s returned 0, but /proc/self/ns/%s cannot be read to tell whether the %s '
                                     'namespace changed: nothing that needs it was done' % (step, ns[2], ns[3]),
                                     step)
        if old == new:
            raise NamespaceUnchanged('%s returned 0 but the %s namespace is unchanged (a seccomp filter answering '
                                     'the call with errno 0?): nothing that needs a private %s namespace was done'
                                     % (step, ns[3], ns[3]), step)
    return 0


# make_mounts_private()'s second step; EINVAL there: / is not a mount point (a chroot).
MAKE_ROOT_PRIVATE = 'mount --make-rprivate /'


def make_mounts_private():
    """unshare(CLONE_NEWNS), then make / rprivate: after unshare() the copied
    mounts still share peer groups with the caller's namespace, and a mount
    made next would propagate there.  Return (step, errno) of the first
    failure, or (None, 0); NamespaceUnchanged propagates (see unshare())."""
    err = unshare(CLONE_NEWNS)
    if err:
        return 'unshare(CLONE_NEWNS)', err
    rc, err = libc_call(LIBC.mount, b'none', b'/', None, ctypes.c_ulong(MS_REC | MS_PRIVATE), None)
    if rc != 0:
        return MAKE_ROOT_PRIVATE, err
    return None, 0


def private_mount_namespace():
    """make_mounts_private() for callers that only report: None, or why not
    (nothing outside this process changed then)."""
    try:
        step, err = make_mounts_private()
    except NamespaceUnchanged as exc:
        # What the caller would mount next would go to the namespace it had.
        return str(exc)
    return '%s: %s' % (step, os.strerror(err)) if step else None


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    """prctl(2) with every argument as an unsigned long or a pointer."""
    return syscall('prctl', option, arg2, arg3, arg4, arg5)


def close_quietly(*fds):
    for fd in fds:
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass
