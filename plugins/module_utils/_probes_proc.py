# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of procfs, fdinfo, prctl and plain system calls.

PRIVATE to the criu.check collection: not a public API.

Each probe repeats, call for call, what ``criu check`` (CRIU 4.2) does in
criu/cr-check.c or criu/kerndat.c, and returns criu's own failure text.
Files and descriptors are opened and closed inside the probe; nothing here
changes the calling process, except ``prctl_cat1`` on its rare fallback path
(its registry row runs it in a process of its own).  ``loginuid`` rewrites a
loginuid, so it does that in a child it forks.

/proc files are read and parsed as criu parses them (_proc_parse).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import fcntl as fcntl_module
import os
import platform
import re
import signal
import socket
import struct

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils._proc_parse import (
    FD_TYPES_EVENTFD, FD_TYPES_EVENTPOLL, FD_TYPES_INOTIFY, FD_TYPES_SIGNALFD, FD_TYPES_UND, PROC_GEN, PROC_SELF,
    ReadError, open_proc_error, parse_fdinfo, read_proc, sscanf)
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._syscall import AT_FDCWD, WALL

# ---- kernel constants (include/uapi/linux/prctl.h, fcntl.h, timerfd.h, kcmp.h, ...)
PR_SET_MM = 35
PR_SET_MM_BRK = 7
PR_SET_MM_AUXV = 12
PR_SET_MM_EXE_FILE = 13
PR_SET_MM_MAP_SIZE = 15
PR_GET_TID_ADDRESS = 40
PR_TIMER_CREATE_RESTORE_IDS = 77
PR_TIMER_CREATE_RESTORE_IDS_GET = 2
F_GETOWNER_UIDS = 17
CLOCK_MONOTONIC = 1
TFD_IOC_SET_TICKS = 0x40085400
KCMP_EPOLL_TFD = 7
EPOLL_CTL_ADD = 1
EPOLLIN = 0x001
EPOLLOUT = 0x004
IN_ALL_EVENTS = 0xfff
INVALID_UID = 4294967295          # (uid_t)-1: "no loginuid"

LAST_PID_PATH = 'sys/kernel/ns_last_pid'   # criu's LAST_PID_PATH, relative to /proc
SEM_NEXT_ID = '/proc/sys/kernel/sem_next_id'
EVENTFD_COUNT = 13                          # the counter check_fdinfo_eventfd() sets
PIDFD_MAGIC = 1984                          # the int kerndat_has_pidfd_getfd() passes

_RO_PROC_SYS_FIX = ('/proc/sys is mounted read-only here (typical in containers): run criu on the host '
                    'or in a privileged container, or bind-mount that sysctl read-write into it')


# ---------------------------------------------------------------- helpers

class _EpollEvent(ctypes.Structure):
    """struct epoll_event: glibc packs it on x86_64 only (__EPOLL_PACKED)."""
    if platform.machine() == 'x86_64':
        _pack_ = 1
    _fields_ = [('events', ctypes.c_uint32), ('data', ctypes.c_uint64)]


class _KcmpEpollSlot(ctypes.Structure):
    """struct kcmp_epoll_slot (include/uapi/linux/kcmp.h)."""
    _fields_ = [('efd', ctypes.c_uint32), ('tfd', ctypes.c_uint32), ('toff', ctypes.c_uint32)]


def _epoll_watching_pipe(data):
    """epoll_create(1) + pipe() + epoll_ctl(ADD, pipe read end, EPOLLIN|EPOLLOUT),
    as check_fdinfo_eventpoll() and has_kcmp_epoll_tfd() do.

    Returns ``(fds, failure)``: fds is a dict of the descriptors opened (close
    them all), failure None or ``(criu's text, errno)``.
    """
    fds = {}
    try:
        fds['pipe'] = os.pipe()
    except OSError as exc:
        return fds, ('pipe', exc.errno)
    efd, err = _syscall.libc_call(_syscall.libc_function('epoll_create', ctypes.c_int, ctypes.c_int), 1)
    if efd < 0:
        return fds, ('epoll_create', err)
    fds['epoll'] = efd
    event = _EpollEvent(EPOLLIN | EPOLLOUT, data)
    epoll_ctl = _syscall.libc_function('epoll_ctl', ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p)
    err = _syscall.libc_call(epoll_ctl, efd, EPOLL_CTL_ADD, fds['pipe'][0], ctypes.addressof(event))[1]
    if err:
        return fds, ('epoll_ctl', err)
    return fds, None


def _close_fds(fds):
    for value in fds.values():
        if isinstance(value, tuple):
            _syscall.close_quietly(*value)
        else:
            _syscall.close_quietly(value)


# ---------------------------------------------------------------- Category 1

def map_files(ctx):
    """criu: check_map_files(): access("/proc/self/map_files", R_OK).

    The directory exists on every kernel >= 4.3 (earlier only with
    CONFIG_CHECKPOINT_RESTORE); criu dumps mappings through it.
    """
    err = _syscall.access('/proc/self/map_files', os.R_OK)
    if err:
        return R.unsupported(R.perror('/proc/<pid>/map_files is inaccessible', err), R.errno_evidence(err))
    return R.supported({'path': '/proc/self/map_files'})


def ns_last_pid(ctx):
    """criu: check_ns_last_pid(): access("/proc/sys/kernel/ns_last_pid", W_OK).

    criu writes it to restore PIDs on kernels without clone3 set_tid.  The
    file is 0666, so this tests that it exists (CONFIG_CHECKPOINT_RESTORE)
    and that /proc/sys is not mounted read-only (EROFS, typical of containers).
    """
    err = _syscall.access('/proc/' + LAST_PID_PATH, os.W_OK)
    if not err:
        return R.supported({'path': '/proc/' + LAST_PID_PATH})
    return R.unsupported(R.perror('%s sysctl is inaccessible' % LAST_PID_PATH, err),
                         R.errno_evidence(err, path='/proc/' + LAST_PID_PATH),
                         fix=_RO_PROC_SYS_FIX if err == errno.EROFS else None)


def kcmp(ctx):
    """criu: check_kcmp(): syscall(SYS_kcmp, getpid(), -1, -1, -1, -1).

    The arguments are invalid on purpose: anything but ENOSYS proves the
    system call exists (CONFIG_CHECKPOINT_RESTORE, CONFIG_KCMP since 5.12).
    """
    rc, err = _syscall.syscall('kcmp', os.getpid(), -1, -1, -1, -1)
    evidence = {'rc': rc, 'errno_name': R.errno_name(err) if err else None}
    if rc < 0 and err == errno.ENOSYS:
        return R.unsupported(R.perror('System call kcmp is not supported', err), evidence)
    return R.supported(evidence)


def prctl_cat1(ctx):
    """criu: check_prctl_cat1().

    PR_GET_TID_ADDRESS must work, and either PR_SET_MM_MAP_SIZE (3.18+, no
    capability) or the old PR_SET_MM_BRK / EXE_FILE / AUXV interface, which
    needs CAP_SYS_RESOURCE.  That fallback really re-sets brk and overwrites
    this process's saved auxv with 8 zero bytes, as criu does: the registry
    row runs this probe in a process of its own (own_process=True).
    """
    tid_addr = ctypes.c_void_p()
    rc, err = _syscall.prctl(PR_GET_TID_ADDRESS, ctypes.addressof(tid_addr))
    if rc < 0:
        return R.unsupported(R.perror('prctl: PR_GET_TID_ADDRESS is not supported', err), R.errno_evidence(err))
    evidence = {'tid_address': tid_addr.value}
    size = ctypes.c_uint(0)
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, ctypes.addressof(size))
    if rc == 0:
        evidence['map_size'] = size.value
        return R.supported(evidence)
    evidence.update({'map_size_errno': R.errno_name(err),
                     'info': 'Info  prctl: PR_SET_MM_MAP_SIZE is not supported'})
    return _prctl_cat1_fallback(evidence)


def _prctl_cat1_fallback(evidence):
    """The pre-3.18 PR_SET_MM interface, in criu's order and with its texts."""
    brk = _syscall.libc_call(_syscall.libc_function('sbrk', ctypes.c_void_p, ctypes.c_long), 0)[0] or 0
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_BRK, brk)
    if rc < 0:
        evidence.update(R.errno_evidence(err, step='PR_SET_MM_BRK'))
        if err == errno.EPERM:
            return R.unsupported('prctl: One needs CAP_SYS_RESOURCE capability to perform testing', evidence)
        return R.unsupported(R.perror('prctl: PR_SET_MM_BRK is not supported', err), evidence)
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_EXE_FILE, -1)
    if rc < 0 and err != errno.EBADF:
        evidence.update(R.errno_evidence(err, step='PR_SET_MM_EXE_FILE'))
        return R.unsupported(R.perror('prctl: PR_SET_MM_EXE_FILE is not supported', err), evidence)
    user_auxv = ctypes.c_ulong(0)
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_AUXV, ctypes.addressof(user_auxv), ctypes.sizeof(user_auxv))
    if rc < 0:
        evidence.update(R.errno_evidence(err, step='PR_SET_MM_AUXV'))
        return R.unsupported(R.perror('prctl: PR_SET_MM_AUXV is not supported', err), evidence)
    evidence['fallback'] = 'PR_SET_MM_BRK, PR_SET_MM_EXE_FILE and PR_SET_MM_AUXV work'
    return R.supported(evidence)


def fcntl(ctx):
    """criu: check_fcntl(): fcntl(F_GETOWNER_UIDS) on /proc/self/comm.

    criu dumps the owner of file locks/leases with it (CONFIG_CHECKPOINT_RESTORE).
    """
    try:
        fd = os.open('/proc/self/comm', os.O_RDONLY)
    except OSError as exc:
        return R.unsupported(open_proc_error(PROC_SELF, 'comm', exc.errno), R.errno_evidence(exc.errno))
    try:
        uids = struct.unpack('II', fcntl_module.fcntl(fd, F_GETOWNER_UIDS, bytes(8)))
    except OSError as exc:
        return R.unsupported(R.perror("Can't fetch file owner UIDs", exc.errno), R.errno_evidence(exc.errno))
    finally:
        os.close(fd)
    return R.supported({'owner_uids': list(uids)})


# The conversions of criu's parse_pid_stat() after the ")" of comm: state, then 49 numbers.
_STAT_FORMAT = (' %c %d %d %d %d %d %u %lu %lu %lu %lu '
                '%lu %lu %ld %ld %ld %ld %d %d %llu %lu %ld %lu %lu %lu %lu '
                '%lu %lu %lu %lu %lu %lu %lu %lu %lu %d %d %u %u %llu %lu %ld '
                '%lu %lu %lu %lu %lu %lu %lu %d')
_STAT_FIELDS_MIN = 50
MSG_PROC_STAT = 'procfs: stat extension is not supported'


def proc_stat(ctx):
    """criu: check_proc_stat() -> parse_pid_stat(getpid()).

    /proc/PID/stat must carry the fields up to exit_code (3.5+): at least 50
    conversions after the command name, which sits between the first "("
    and the last ")".
    """
    # Whatever fails, parse_pid_stat() says why and check_proc_stat() says MSG_PROC_STAT last.
    pid = os.getpid()
    try:
        text = read_proc('/proc/%d/stat' % pid, limit=4096)   # criu reads one page
    except ReadError as exc:
        return R.unsupported(MSG_PROC_STAT, R.errno_evidence(exc.errno, error='stat for %d is corrupted' % pid))
    except OSError as exc:
        return R.unsupported(MSG_PROC_STAT, R.errno_evidence(exc.errno, error=open_proc_error(pid, 'stat', exc.errno)))
    if not text:
        return R.unsupported(MSG_PROC_STAT, {'fields': 0, 'error': 'stat for %d is corrupted' % pid})
    fields = _stat_fields(text)
    evidence = {'fields': fields}
    if fields < _STAT_FIELDS_MIN:
        evidence['error'] = "Parsing %d's stat failed (#fields do not match)" % pid
        return R.unsupported(MSG_PROC_STAT, evidence)
    return R.supported(evidence)


def _stat_fields(text):
    """The number of conversions criu's sscanf makes, or 0 when the comm
    framing itself is broken."""
    space = text.find(' ')
    if space < 0 or text[space + 1:space + 2] != '(':
        return 0
    close = text.rfind(')', space + 2)
    if close < 0:
        return 0
    return len(sscanf(text[close + 1:], _STAT_FORMAT)[0])


def fdinfo_ext(ctx):
    """criu: check_fdinfo_ext(): the eventfd, eventpoll, signalfd and inotify
    sub-probes, all run, results OR-ed.

    criu dumps these files from what /proc/PID/fdinfo shows.  Each sub-probe
    is reported under ``evidence[<name>]``; the probe fails with the first
    failing sub-probe's message.  The inotify sub-probe watches ``ctx.cwd``
    (criu watches its working directory), so a cwd on a filesystem that
    cannot encode file handles fails it, exactly as it fails criu.
    """
    cwd = getattr(ctx, 'cwd', None) or '.'
    evidence = {'cwd': cwd}
    first = None
    for name, sub in (('eventfd', _fdinfo_eventfd), ('eventpoll', _fdinfo_eventpoll),
                      ('signalfd', _fdinfo_signalfd), ('inotify', lambda: _fdinfo_inotify(cwd))):
        outcome = sub()
        evidence[name] = outcome
        if not outcome['ok'] and first is None:
            first = outcome
    if first is None:
        return R.supported(evidence)
    return R.unsupported(first['message'], evidence, fix=first.get('fix'))


def _sub_fail(text, **extra):
    outcome = {'ok': False, 'message': text}
    outcome.update(extra)
    return outcome


def _fdinfo_failure(parsed, **extra):
    """criu's "Error parsing proc fdinfo", with the parser's own complaint."""
    return _sub_fail('Error parsing proc fdinfo', parse_error=parsed['error'], fdinfo=parsed.get('lines'), **extra)


def _fdinfo_eventfd():
    """criu: check_fdinfo_eventfd(): eventfd(13, 0); fdinfo eventfd-count == 13."""
    fd, err = _syscall.libc_call(_syscall.libc_function('eventfd', ctypes.c_int, ctypes.c_uint, ctypes.c_int), EVENTFD_COUNT, 0)
    if fd < 0:
        return _sub_fail(R.perror("Can't make eventfd", err), errno_name=R.errno_name(err))
    try:
        parsed = parse_fdinfo(fd, FD_TYPES_EVENTFD)
    finally:
        os.close(fd)
    if not parsed['ok']:
        return _fdinfo_failure(parsed)
    counter = parsed['entries'][-1]['counter']
    if counter != EVENTFD_COUNT:
        return _sub_fail('Counter mismatch (or not met) %d want %d' % (counter, EVENTFD_COUNT), counter=counter)
    return {'ok': True, 'counter': counter}


def _fdinfo_eventpoll():
    """criu: check_fdinfo_eventpoll(): an epoll watching a pipe's read end;
    fdinfo must show exactly that one tfd."""
    fds, failure = _epoll_watching_pipe(0)
    try:
        if failure:
            step, err = failure
            text = {'pipe': "Can't make pipe to watch", 'epoll_create': "Can't make epoll fd",
                    'epoll_ctl': "Can't add epoll tfd"}[step]
            return _sub_fail(R.perror(text, err), errno_name=R.errno_name(err))
        parsed = parse_fdinfo(fds['epoll'], FD_TYPES_EVENTPOLL)
        if not parsed['ok']:
            return _fdinfo_failure(parsed)
        tfds = [entry['tfd'] for entry in parsed['entries']]
        if len(tfds) != 1 or tfds[0] != fds['pipe'][0]:
            return _sub_fail('TFD mismatch (or not met)', tfds=tfds, expected=fds['pipe'][0])
        return {'ok': True, 'tfd': tfds[0]}
    finally:
        _close_fds(fds)


def _fdinfo_signalfd():
    """criu: check_fdinfo_signalfd(): signalfd(-1, {SIGUSR1}, 0); fdinfo has sigmask."""
    sigset = ctypes.create_string_buffer(128)      # glibc sigset_t
    _syscall.libc_function('sigemptyset', ctypes.c_int, ctypes.c_void_p)(sigset)
    _syscall.libc_function('sigaddset', ctypes.c_int, ctypes.c_void_p, ctypes.c_int)(sigset, signal.SIGUSR1)
    signalfd = _syscall.libc_function('signalfd', ctypes.c_int, ctypes.c_int, ctypes.c_void_p, ctypes.c_int)
    fd, err = _syscall.libc_call(signalfd, -1, sigset, 0)
    if fd < 0:
        return _sub_fail(R.perror("Can't make signalfd", err), errno_name=R.errno_name(err))
    try:
        parsed = parse_fdinfo(fd, FD_TYPES_SIGNALFD)
    finally:
        os.close(fd)
    if not parsed['ok']:
        return _fdinfo_failure(parsed)
    return {'ok': True, 'sigmask': '%#x' % parsed['entries'][-1]['sigmask']}


def _fdinfo_inotify(cwd):
    """criu: check_fdinfo_inotify(): a watch on the working directory; fdinfo
    must show exactly that wd, with the fhandle-bytes/fhandle-type fields."""
    ifd, err = _syscall.libc_call(_syscall.libc_function('inotify_init1', ctypes.c_int, ctypes.c_int), 0)
    if ifd < 0:
        return _sub_fail(R.perror("Can't make inotify fd", err), errno_name=R.errno_name(err))
    try:
        add_watch = _syscall.libc_function('inotify_add_watch', ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32)
        wd, err = _syscall.libc_call(add_watch, ifd, cwd.encode(), IN_ALL_EVENTS)
        if wd < 0:
            return _sub_fail(R.perror("Can't add watch", err), errno_name=R.errno_name(err), path=cwd)
        parsed = parse_fdinfo(ifd, FD_TYPES_INOTIFY)
    finally:
        os.close(ifd)
    if not parsed['ok']:
        fix = None
        if any(line.startswith('inotify wd:') and 'fhandle-bytes:' not in line for line in parsed.get('lines', ())):
            fix = ('run criu from a directory on a filesystem that can encode file handles '
                   '(the inotify fdinfo of %s has no fhandle fields); check CONFIG_FHANDLE' % cwd)
        return _fdinfo_failure(parsed, fix=fix)
    wds = [entry['wd'] for entry in parsed['entries']]
    if len(wds) != 1 or wds[0] != wd:
        return _sub_fail('WD mismatch (or not met)', wds=wds, expected=wd)
    return {'ok': True, 'wd': wd, 'fhandle_bytes': parsed['entries'][0]['fhandle_bytes'],
            'fhandle_type': parsed['entries'][0]['fhandle_type']}


def ipc(ctx):
    """criu: check_ipc(): access("/proc/sys/kernel/sem_next_id", R_OK | W_OK).

    criu returns success without looking when its euid is not 0, so this does
    too (and records what it would have seen).  The sysctl exists with
    CONFIG_CHECKPOINT_RESTORE + CONFIG_SYSVIPC; it is not writable inside a
    user namespace without CAP_CHECKPOINT_RESTORE over the IPC namespace, and
    gives EROFS where /proc/sys is mounted read-only.
    """
    err = _syscall.access(SEM_NEXT_ID, os.R_OK | os.W_OK)
    live = R.errno_name(err) if err else 'accessible'
    if ctx.euid != 0:
        return R.supported({'skipped': 'criu does not check sem_next_id for non-root', 'live': live})
    if not err:
        return R.supported({'path': SEM_NEXT_ID})
    return R.unsupported(R.perror('%s is inaccessible' % SEM_NEXT_ID, err), R.errno_evidence(err, path=SEM_NEXT_ID),
                         fix=_RO_PROC_SYS_FIX if err == errno.EROFS else None)


# ---------------------------------------------------------------- Category 2

def prctl_cat2(ctx):
    """criu: check_prctl_cat2(): prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size).

    PR_SET_MM_MAP (3.18) lets criu restore mm fields in one call and without
    CAP_SYS_RESOURCE, which user-namespace restores need.
    """
    size = ctypes.c_uint(0)
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, ctypes.addressof(size))
    if rc != 0:
        return R.unsupported('prctl: PR_SET_MM_MAP_SIZE is not supported', R.errno_evidence(err))
    return R.supported({'map_size': size.value})


def posix_timers(ctx):
    """criu: check_posix_timers(): access("/proc/self/timers", R_OK), where
    criu reads the POSIX timers it dumps (CONFIG_CHECKPOINT_RESTORE)."""
    err = _syscall.access('/proc/self/timers', os.R_OK)
    if err:
        return R.unsupported('/proc/<pid>/timers file is missing.', R.errno_evidence(err))
    return R.supported({'path': '/proc/self/timers'})


def timerfd(ctx):
    """criu: check_timerfd() (criu/timerfd.c, log prefix "timerfd: ").

    timerfd_create(CLOCK_MONOTONIC, 0), then ioctl(TFD_IOC_SET_TICKS, NULL):
    EFAULT (or 0) proves the ioctl exists; ENOTTY means a kernel without
    CONFIG_CHECKPOINT_RESTORE or older than 3.17.
    """
    fd, err = _syscall.libc_call(_syscall.libc_function('timerfd_create', ctypes.c_int, ctypes.c_int, ctypes.c_int),
                                 CLOCK_MONOTONIC, 0)
    if fd < 0:
        return R.unsupported(R.perror('timerfd: timerfd_create failed', err), R.errno_evidence(err))
    try:
        ioctl = _syscall.libc_function('ioctl', ctypes.c_int, ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)
        rc, err = _syscall.libc_call(ioctl, fd, TFD_IOC_SET_TICKS, None)
    finally:
        os.close(fd)
    if rc < 0 and err != errno.EFAULT:
        return R.unsupported(R.perror('timerfd: No timerfd support for c/r', err), R.errno_evidence(err))
    return R.supported({'ioctl_errno': R.errno_name(err) if rc < 0 else None})


def mnt_id(ctx):
    """criu: check_mnt_id(): parse_fdinfo(<log fd>, UND) must yield mnt_id.

    criu reads the fdinfo of its log descriptor; any descriptor shows the
    same fields, so this uses a pipe of its own (closed afterwards).
    """
    rfd, wfd = os.pipe()
    try:
        parsed = parse_fdinfo(rfd, FD_TYPES_UND)
    finally:
        _syscall.close_quietly(rfd, wfd)
    if not parsed['ok']:
        return R.unsupported(parsed['error'], {'fdinfo': parsed.get('lines')})
    if parsed['common']['mnt_id'] == -1:
        return R.unsupported("fdinfo doesn't contain the mnt_id field", {'fdinfo': parsed.get('lines')})
    return R.supported({'mnt_id': parsed['common']['mnt_id']})


def fdinfo_lock(ctx):
    """criu: check_fdinfo_lock() on kdat.has_fdinfo_lock (kerndat_fdinfo_has_lock()).

    open("/proc/locks"), flock(LOCK_SH) on it, then read one page of its
    fdinfo and look for "lock:" (4.1+).  criu dumps file locks from there.
    The lock goes with the descriptor, which is closed.
    """
    try:
        fd = os.open('/proc/locks', os.O_RDONLY)
    except OSError as exc:
        return R.unknown(open_proc_error(PROC_GEN, 'locks', exc.errno), R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    try:
        try:
            fcntl_module.flock(fd, fcntl_module.LOCK_SH)
        except OSError as exc:
            return R.unknown(R.perror("Can't take a lock", exc.errno),
                             R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
        try:
            text = read_proc('/proc/self/fdinfo/%d' % fd, limit=4095)      # criu reads one page less its NUL
        except ReadError as exc:
            return R.unknown(R.perror('Unable to read', exc.errno), R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
        except OSError as exc:
            return R.unknown(open_proc_error(PROC_SELF, 'fdinfo/%d' % fd, exc.errno),
                             R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
        parsed = parse_fdinfo(fd, FD_TYPES_UND)   # for the evidence: the lock as criu parses it
    finally:
        os.close(fd)
    evidence = {'locks': parsed['locks']}
    if 'lock:' not in text:
        evidence['fdinfo'] = text.splitlines()
        return R.unsupported("fdinfo doesn't contain the lock field", evidence)
    return R.supported(evidence)


def cgroupns(ctx):
    """criu: check_cgroupns(): access("/proc/self/ns/cgroup", F_OK) (4.6+)."""
    err = _syscall.access('/proc/self/ns/cgroup', os.F_OK)
    if err:
        return R.unsupported('cgroupns not supported. This is not fatal.', R.errno_evidence(err))
    return R.supported({'path': '/proc/self/ns/cgroup'})


def userns(ctx):
    """criu: check_userns(): /proc/self/ns/user exists and
    PR_SET_MM_MAP_SIZE works, both needed to restore user namespaces."""
    err = _syscall.access('/proc/self/ns/user', os.F_OK)
    if err:
        return R.unsupported(R.perror('No userns proc file', err), R.errno_evidence(err))
    size = ctypes.c_ulong(0)
    rc, err = _syscall.prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, ctypes.addressof(size))
    if rc < 0:
        return R.unsupported(R.perror('prctl: PR_SET_MM_MAP_SIZE is not supported', err), R.errno_evidence(err))
    return R.supported({'map_size': size.value})


def loginuid(ctx):
    """criu: check_loginuid() on kdat.luid (kerndat_loginuid(), root-only).

    Read /proc/self/loginuid (absent: no CONFIG_AUDIT), write
    4294967295 ("unset") into it, then write the saved value back: both
    writes must succeed (LUID_FULL).  criu does that to itself; here it is
    done in a forked child, which restores the value as criu does and dies,
    so this process's loginuid never changes, even when the restore fails.

    criu skips it under --unprivileged (kdat.luid stays LUID_NONE), so the
    answer is then "unsupported", with the live answer in the evidence.
    """
    live = _child.run_in_child(_loginuid_roundtrip, ctx.left())
    if ctx.unprivileged:
        return R.not_probed('Loginuid restore is OFF. (criu does not probe it in --unprivileged mode)',
                            {'skipped': 'criu does not probe loginuid in --unprivileged mode', 'live': live})
    if live['luid'] != 'full':
        return R.unsupported('Loginuid restore is OFF.', live)
    return R.supported(live)


def _loginuid_write(value):
    """criu's prepare_loginuid(): an 11-byte "%u" buffer, on a fresh open."""
    fd = os.open('/proc/self/loginuid', os.O_RDWR)
    try:
        os.write(fd, ('%u' % value).encode().ljust(11, b'\0'))
    finally:
        os.close(fd)


def _loginuid_roundtrip():
    """kerndat_loginuid(), in the child: LUID_NONE, LUID_READ or LUID_FULL."""
    try:
        text = read_proc('/proc/self/loginuid', limit=10)
    except OSError as exc:
        return {'luid': 'none', 'read_errno': R.errno_name(exc.errno)}
    number = re.match(r'\s*[+-]?\d+', text)            # criu: strtol(buf, NULL, 10)
    saved = int(number.group()) & 0xffffffff if number else 0
    state = {'luid': 'read', 'loginuid': saved}
    for step, value in (('unset', INVALID_UID), ('restore', saved)):
        try:
            _loginuid_write(value)
        except OSError as exc:
            state.update({'failed_write': step, 'write_errno': R.errno_name(exc.errno),
                          'error': 'Write %u to /proc/self/loginuid failed: %s' % (value, os.strerror(exc.errno))})
            return state
    state['luid'] = 'full'
    return state


def kcmp_epoll(ctx):
    """criu: check_kcmp_epoll() on kdat.has_kcmp_epoll_tfd (has_kcmp_epoll_tfd()).

    kcmp(self, self, KCMP_EPOLL_TFD, pipe_rd, {efd, tfd, 0}) must return 0
    (4.13+): criu uses it to find which files an epoll watches.  criu prints
    nothing when it fails.
    """
    fds, failure = _epoll_watching_pipe(0xffffffffffffffff)   # criu memsets the event to 0xff
    try:
        if failure:
            step, err = failure
            text = {'pipe': "Can't create pipe", 'epoll_create': "Can't create epoll",
                    'epoll_ctl': "Can't add event"}[step]
            return R.unknown(R.perror(text, err), R.errno_evidence(err, **R.KERNDAT_FATAL))
        tfd = fds['pipe'][0]
        slot = _KcmpEpollSlot(fds['epoll'], tfd, 0)
        pid = os.getpid()
        rc, err = _syscall.syscall('kcmp', pid, pid, KCMP_EPOLL_TFD, tfd, ctypes.addressof(slot))
    finally:
        _close_fds(fds)
    if rc != 0:
        return R.unsupported(R.perror('kcmp(KCMP_EPOLL_TFD) failed', err), R.errno_evidence(err))
    return R.supported({'rc': rc})


def clone3_set_tid(ctx):
    """criu: check_clone3_set_tid() on kdat.has_clone3_set_tid.

    clone3() with set_tid = (u64)-1 and set_tid_size = 0 is rejected with
    EINVAL by a kernel that knows set_tid (5.5+): that is "supported".
    ENOSYS (no clone3) and E2BIG (no set_tid) are not.  Should a kernel ever
    create a child, the child exits at once and is reaped, and the answer is
    an error: kerndat_has_clone3_set_tid() returns -1 then, so criu's
    kerndat_init() fails and criu does not start.
    """
    if platform.machine().startswith('mips'):
        return R.unsupported('clone3() with set_tid not supported', {'arch': platform.machine(),
                             'reason': "criu's clone3() wrapper is not implemented for MIPS"})
    args = (ctypes.c_uint64 * 10)()            # struct clone_args up to set_tid_size (80 bytes)
    args[8] = 0xffffffffffffffff                # set_tid
    rc, err = _syscall.syscall('clone3', ctypes.addressof(args), ctypes.sizeof(args))
    if rc == 0:                                 # we are a child that should not exist
        os._exit(0)
    if rc > 0:
        reaped = _child.reap(rc, ctx.left(), options=WALL) is not None   # exit_signal 0: only __WALL reaps it
        return R.error('Unexpected success: clone3() returned %d' % rc,
                       dict({'child': rc, 'reaped': reaped}, **R.KERNDAT_FATAL))
    evidence = R.errno_evidence(err)
    if err == errno.EINVAL:
        return R.supported(evidence)
    if err not in (errno.ENOSYS, errno.E2BIG):
        evidence['warning'] = R.perror('Unexpected error from clone3', err)
    return R.unsupported('clone3() with set_tid not supported', evidence)


def timens(ctx):
    """criu: check_time_namespace() on kdat.has_timens (has_time_namespace()):
    access("/proc/self/timens_offsets", F_OK); ENOENT means no CONFIG_TIME_NS."""
    err = _syscall.access('/proc/self/timens_offsets', os.F_OK)
    if not err:
        return R.supported({'path': '/proc/self/timens_offsets'})
    if err == errno.ENOENT:
        return R.unsupported('Time namespaces are not supported', R.errno_evidence(err))
    return R.unknown(R.perror('Unable to access /proc/self/timens_offsets', err),
                     R.errno_evidence(err, **R.KERNDAT_FATAL))


def pidfd_store(ctx):
    """criu: check_pidfd_store() on kdat.has_pidfd_open and kdat.has_pidfd_getfd.

    pidfd_open(self) must work, and pidfd_getfd() must copy a descriptor of
    this process: criu keeps its pidfd store for pre-dumps that way (5.6+).
    """
    evidence = {}
    getfd = _pidfd_getfd_works(evidence)
    if getfd is None:
        return R.unknown(evidence.pop('error'), dict(evidence, **R.KERNDAT_FATAL))
    pidfd, err = _syscall.syscall('pidfd_open', os.getpid(), 0)
    _syscall.close_quietly(pidfd)
    evidence['pidfd_open'] = 'ok' if pidfd >= 0 else R.errno_name(err)
    if pidfd < 0:
        return R.unsupported('Pidfd store requires pidfd_open syscall which is not supported', evidence)
    if not getfd:
        return R.unsupported('Pidfd store requires pidfd_getfd syscall which is not supported', evidence)
    return R.supported(evidence)


def _pidfd_getfd_works(evidence):
    """kerndat_has_pidfd_getfd(): True, False, or None when criu's kerndat
    would fail (evidence['error'] then holds its message)."""
    try:
        ends = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    except OSError as exc:
        evidence['error'] = R.perror("Can't open unix socket pair", exc.errno)
        return None
    pidfd = stolen = -1
    try:
        ends[0].send(struct.pack('i', PIDFD_MAGIC))
        pidfd, err = _syscall.syscall('pidfd_open', os.getpid(), 0)
        if pidfd < 0:
            evidence['pidfd_getfd'] = "Can't get pidfd (%s)" % R.errno_name(err)
            return False
        stolen, err = _syscall.syscall('pidfd_getfd', pidfd, ends[1].fileno(), 0)
        if stolen < 0:
            evidence['pidfd_getfd'] = R.errno_name(err)
            return False
        value = struct.unpack('i', ends[1].recv(4))[0]
        if value != PIDFD_MAGIC:
            evidence['error'] = 'Unexpected value read from socket'
            return None
        evidence['pidfd_getfd'] = 'ok'
        return True
    except OSError as exc:
        evidence['error'] = R.perror("Can't use the unix socket pair", exc.errno)
        return None
    finally:
        _syscall.close_quietly(stolen, pidfd)
        ends[0].close()
        ends[1].close()


def ns_pid(ctx):
    """criu: check_ns_pid() -> kerndat_has_nspid(): a line starting with
    "NSpid:" in /proc/self/status (4.1+, CONFIG_PID_NS).  criu prints nothing
    when it is missing.  When the file cannot be read, kerndat_has_nspid()
    returns -1 and criu's kerndat_init() fails: criu does not start."""
    try:
        lines = read_proc('/proc/self/status').splitlines()
    except ReadError as exc:
        # criu's bfd reader (brefill()) says it
        return R.unknown(R.perror('Error reading file', exc.errno), R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    except OSError as exc:
        return R.unknown(R.perror("Can't open /proc/self/status", exc.errno),
                         R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    for line in lines:
        if line.startswith('NSpid:'):
            return R.supported({'NSpid': line.split(':', 1)[1].split()})
    return R.unsupported('no NSpid line in /proc/self/status', {'lines': len(lines)})


def openat2(ctx):
    """criu: check_openat2() on kdat.has_openat2: openat2(AT_FDCWD, ".", NULL, 0)
    must fail; anything but ENOSYS proves the system call (5.6+)."""
    rc, err = _syscall.syscall('openat2', AT_FDCWD, b'.', None, 0)
    if rc >= 0:
        _syscall.close_quietly(rc)
        return R.unknown('openat2 should fail', dict({'rc': rc}, **R.KERNDAT_FATAL))
    if err == errno.ENOSYS:
        return R.unsupported('No openat2 syscall support', R.errno_evidence(err))
    return R.supported(R.errno_evidence(err))


def timer_cr_ids(ctx):
    """criu: check_timer_cr_ids() on kdat.has_timer_cr_ids (CRIU 4.2; criu
    4.1.1 does not know this feature name).

    prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET) only
    reads a flag (6.15+): success means criu can restore POSIX timer IDs;
    EINVAL means the kernel lacks it.  Other errors are only logged by criu,
    and read as unsupported too.
    """
    rc, err = _syscall.prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET)
    if rc != -1:
        return R.supported({'rc': rc})
    evidence = R.errno_evidence(err)
    if err == errno.EINVAL:
        return R.unsupported("PR_TIMER_CREATE_RESTORE_IDS isn't supported", evidence)
    return R.unsupported(R.perror('prctl returned unexpected error code', err), evidence)
