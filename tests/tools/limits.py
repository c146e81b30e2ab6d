# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a command under a resource shortage, for real: an open-file limit
(RLIMIT_NOFILE) and/or a seccomp filter under which every fork (fork,
vfork, clone, clone3) fails with EAGAIN, as when a process or pids-cgroup
limit is reached (root ignores RLIMIT_NPROC, so a limit alone cannot do it).

  limits.py [--nofile N] [--refuse-fork] [--inherit N] -- COMMAND [ARG ...]

--inherit N does the opposite of a shortage: COMMAND starts with N more
files open (/dev/null, inherited across execve), so that every descriptor
it opens is numbered above N, as under a caller that holds many files open.

The functions are usable as a subprocess ``preexec_fn`` or in a forked child.
Both restrictions last only for that process and what it executes.
"""

import argparse
import ctypes
import os
import platform
import resource
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_ALLOW = 0x7fff0000
SECCOMP_RET_ERRNO = 0x00050000
EAGAIN = 11
# (AUDIT_ARCH_*, the fork-like system calls)
ARCHES = {
    'x86_64': (0xc000003e, (56, 57, 58, 435)),    # clone, fork, vfork, clone3
    'aarch64': (0xc00000b7, (220, 435)),          # clone, clone3
}
_LIBC = ctypes.CDLL(None, use_errno=True)


def nofile(limit):
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))


def inherit(count):
    """Open ``count`` descriptors that stay open across execve, raising the
    open-file limit to make room for them and for what comes after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = count + 1024
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    for dummy in range(count):
        os.set_inheritable(os.open(os.devnull, os.O_RDONLY), True)


def refuse_fork():
    """Install the filter in this process (it stays across execve)."""
    arch, calls = ARCHES[platform.machine()]

    def insn(code, jt, jf, k):
        return struct.pack('=HBBI', code, jt, jf, k)
    prog = [insn(0x20, 0, 0, 4),                           # ld [4]: arch
            insn(0x15, 0, len(calls) + 2, arch),           # jeq arch, next, allow
            insn(0x20, 0, 0, 0)]                           # ld [0]: nr
    for i, nr in enumerate(calls):
        prog.append(insn(0x15, len(calls) - i, 0, nr))     # jeq nr -> refuse
    prog.append(insn(0x06, 0, 0, SECCOMP_RET_ALLOW))       # allow
    prog.append(insn(0x06, 0, 0, SECCOMP_RET_ERRNO | EAGAIN))
    code = b''.join(prog)
    buf = ctypes.create_string_buffer(code, len(code))
    fprog = struct.pack('=HxxxxxxQ', len(prog), ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    if _LIBC.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_NO_NEW_PRIVS)')
    if _LIBC.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.c_void_p(ctypes.addressof(fbuf)), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_SECCOMP)')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--nofile', type=int)
    parser.add_argument('--refuse-fork', action='store_true')
    parser.add_argument('--inherit', type=int, default=0)
    parser.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if args.refuse_fork:
        refuse_fork()
    if args.inherit:
        inherit(args.inherit)
    if args.nofile:
        nofile(args.nofile)
    os.execvp(command[0], command)


if __name__ == '__main__':
    sys.exit(main())
