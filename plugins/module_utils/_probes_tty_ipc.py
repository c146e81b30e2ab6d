# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of ttys, pipes and signals.

PRIVATE to the criu.check collection: not a public API.

Each probe repeats what ``criu check`` (CRIU 4.2, criu/cr-check.c) does and
returns criu's own failure text.  Every descriptor is closed, and the one
piece of process state criu changes (SIGUSR1 left ignored by
check_sigqueuinfo) is put back.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import fcntl
import os
import signal
import struct

from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall

SPLICE_F_NONBLOCK = 0x02
SPLICE_F_GIFT = 0x08
TIOCSPTLCK = 0x40045431     # lock/unlock a pty slave (Python's termios lacks it)
TIOCGPTN = 0x80045430       # the pty number, what ptsname() asks
SIG_IGN = 1
SIGINFO_SIZE = 128          # sizeof(siginfo_t)
SIGINFO_SI_CODE = 2         # si_code is the third int (after si_signo, si_errno) except on MIPS
KSIGACTION_BUF = 64         # larger than the kernel's struct sigaction on every arch (32 on x86_64)
KERNEL_SIGSET_SIZE = 8      # _NSIG / 8, the sigsetsize rt_sigaction() wants


class _Iovec(ctypes.Structure):
    _fields_ = [('iov_base', ctypes.c_void_p), ('iov_len', ctypes.c_size_t)]


def unaligned_vmsplice(ctx):
    """criu: check_unaligned_vmsplice().

    vmsplice() of one byte at an unaligned address with SPLICE_F_GIFT |
    SPLICE_F_NONBLOCK into a pipe must succeed (~3.6+): criu's parasite
    gifts the pages it dumps through pipes this way.  criu's byte is a stack
    char; here it is the second byte of a buffer, never page-aligned.
    """
    try:
        rfd, wfd = os.pipe()
    except OSError as exc:
        return R.unsupported(R.perror("Can't create pipe", exc.errno), R.errno_evidence(exc.errno))
    try:
        buf = ctypes.create_string_buffer(2)
        iov = _Iovec(ctypes.addressof(buf) + 1, 1)
        rc, err = _syscall.syscall('vmsplice', wfd, ctypes.addressof(iov), 1, SPLICE_F_GIFT | SPLICE_F_NONBLOCK)
    finally:
        _syscall.close_quietly(rfd, wfd)
    if rc < 0:
        return R.unsupported(R.perror("Unaligned vmsplice doesn't work", err), R.errno_evidence(err))
    return R.supported({'spliced': rc, 'address': '%#x' % iov.iov_base})


def tty(ctx):
    """criu: check_tty().

    Open /dev/ptmx, lock the slave (TIOCSPTLCK), and open the slave: a
    locked pty must refuse with EIO, which criu relies on to restore locked
    ptys.  criu's build-time check of termios c_cc (NCCS >= 19) holds for
    every libc Python runs on.  The slave is opened with O_NOCTTY, which
    does not change the answer but keeps a broken kernel from giving this
    process a controlling terminal.
    """
    master = slave = None
    try:
        try:
            master = os.open('/dev/ptmx', os.O_RDWR)
        except OSError as exc:
            return R.unsupported(R.perror("Can't open /dev/ptmx", exc.errno), R.errno_evidence(exc.errno))
        try:
            fcntl.ioctl(master, TIOCSPTLCK, struct.pack('i', 1))
        except OSError as exc:
            return R.unsupported(R.perror("Can't lock pty master", exc.errno), R.errno_evidence(exc.errno))
        try:
            slavename = '/dev/pts/%d' % struct.unpack('I', fcntl.ioctl(master, TIOCGPTN, bytes(4)))[0]
        except OSError as exc:
            # ptsname() returns NULL, and criu's open(NULL) fails with EFAULT
            return R.unsupported(R.perror('Unexpected error on locked pty', errno.EFAULT),
                                 R.errno_evidence(errno.EFAULT, ptsname_errno=R.errno_name(exc.errno)))
        try:
            slave = os.open(slavename, os.O_RDWR | os.O_NOCTTY)
        except OSError as exc:
            if exc.errno != errno.EIO:
                return R.unsupported(R.perror('Unexpected error on locked pty', exc.errno),
                                     R.errno_evidence(exc.errno, slave=slavename))
            return R.supported({'slave': slavename, 'slave_open': 'EIO'})
        return R.unsupported('Managed to open locked pty.', {'slave': slavename})
    finally:
        _syscall.close_quietly(master, slave)


def sigqueuinfo(ctx):
    """criu: check_sigqueuinfo().

    signal(SIGUSR1, SIG_IGN), then rt_sigqueueinfo(getpid(), SIGUSR1, info)
    with si_code = 1 must be accepted (3.9+): criu restores queued signals
    with their siginfo.  criu leaves SIGUSR1 ignored; here the kernel's
    sigaction is saved and put back byte for byte with the raw rt_sigaction
    system call (glibc's sigaction() would add SA_RESTORER), after taking
    away the queued signal in case SIGUSR1 was blocked (an ignored,
    unblocked signal is simply dropped).
    """
    saved = ctypes.create_string_buffer(KSIGACTION_BUF)
    rc, err = _syscall.syscall('rt_sigaction', signal.SIGUSR1, None, saved, KERNEL_SIGSET_SIZE)
    if rc != 0:
        return R.unknown(R.perror('rt_sigaction(SIGUSR1) could not be read', err), R.errno_evidence(err))
    evidence = {}
    try:
        _syscall.libc_function('signal', ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)(signal.SIGUSR1, SIG_IGN)
        info = (ctypes.c_int * (SIGINFO_SIZE // 4))()
        info[SIGINFO_SI_CODE] = 1
        rc, err = _syscall.syscall('rt_sigqueueinfo', os.getpid(), signal.SIGUSR1, ctypes.addressof(info))
    finally:
        evidence['pending_taken'] = _take_pending(signal.SIGUSR1)
        restored = _syscall.syscall('rt_sigaction', signal.SIGUSR1, saved, None, KERNEL_SIGSET_SIZE)[0] == 0
        evidence['disposition_restored'] = restored
    if rc < 0:
        evidence.update(R.errno_evidence(err))
        return R.unsupported(R.perror('Unable to send siginfo with positive si_code to itself', err), evidence)
    return R.supported(evidence)


def _take_pending(signum):
    """Accept ``signum`` if it is pending (it is only when blocked): restoring
    a handler or SIG_DFL must not deliver the probe's own signal later."""
    if signum not in signal.sigpending():
        return False
    signal.sigtimedwait([signum], 0)
    return True
