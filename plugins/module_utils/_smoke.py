# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A real checkpoint and restore of a tiny process tree with the installed criu.

PRIVATE to the criu.check collection: not a public API.

The tree is a counter, as in criu's zdtm tests and phaul's: a leader and one
child, each writing an increasing number to a file in the tree's own
directory every 20 ms.  ``Smoke.run()`` starts it detached in a session of its
own, dumps it (``criu dump`` kills it), restores it detached, checks that both
counters advance past their dumped values, then kills it and removes the
working directory.

Nothing is left behind, on any path:

- every process is found by the unique working directory in its command line
  (the tree's argv holds it, criu's ``-D`` holds it, and a restored process
  gets back its dumped argv), and only in a session we created (setsid) or
  whose leader carries the same mark; nothing is ever killed by name;
- a watchdog, forked first and in a session of its own, holds the read end of
  a pipe; when the module ends in any way (even SIGKILL) the pipe reads EOF and
  the watchdog does the same clean-up, so a tree restored by criu after the
  module died (re-parented, its PR_SET_PDEATHSIG gone) still dies;
- criu runs in a private mount namespace with its own tmpfs on /run, so its
  kdat cache (criu/kerndat.c, /run/criu.kdat) does not outlive the run and a
  stale one on the host is not read; where it cannot, the cache criu writes
  is removed, by the watchdog too;
- this process is a child subreaper, so the dumped tree's orphans and the
  restored tree come back to it and are reaped here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import ctypes
import errno
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _criu_options
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._context import (
    SBIN_DIRS, effective_caps, proc_of_other_pid_namespace, proc_status)
from ansible_collections.criu.check.plugins.module_utils._engine import EngineError, signal_name

PR_SET_CHILD_SUBREAPER = 36
KDAT_CACHE = '/run/criu.kdat'     # criu/include/kerndat.h KERNDAT_CACHE_FILE

# Seconds a whole dump and restore may take: criu_smoke's default timeout.
DEFAULT_TIMEOUT = 60.0
# How long the watchdog waits past the timeout before it cleans up on its own,
# and how long one clean-up may take.
WATCHDOG_GRACE = 30.0
CLEANUP_SECONDS = 10.0
LOG_CONTEXT = 3        # lines shown before each "Error (" line
LOG_MAX = 40

# The tree: argv[1] is its directory (which carries the mark).  A fresh file
# renamed into place each time, so a reader never sees a half-written number.
COUNTER = r'''
import os, sys, time
d = sys.argv[1]
role = "child" if os.fork() == 0 else "leader"
path = os.path.join(d, "counter." + role)
tmp = path + ".tmp"
i = 0
while True:
    i += 1
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, ("%d\n" % i).encode())
    os.close(fd)
    os.rename(tmp, path)
    time.sleep(0.02)
'''

# criu/log.c prints "(TIME) Error (FILE:LINE): TEXT"; the restorer's lines
# (criu/pie/log-simple.c) put "pie: PID: " before "Error (".
_ERROR = re.compile(r'(?:^|[\s:])Error \([^)]*\):')
_PREFIX = re.compile(r'^.*?Error \([^)]*\):\s*')
# Causes criu logs at info level, without "Error (", and then fails on its way
# out with errors that do not say why: a dump to a page server nobody listens
# for logs "Can't connect to server ADDRESS:PORT", then "Unable to detach
# from PID: No such process" while it unfreezes the tree.
NO_PAGE_SERVER = "Can't connect to server"
# compel warns that it could not seize a task, then criu fails with "Unable to detach from PID: No such process" as
# it lets the tree go.  EPERM only, the errno of every cause known (a tracer already on it, seen here; Yama and
# a want of CAP_SYS_PTRACE, the spec's criu#103 and criu#2495).
NOT_SEIZED = re.compile(r'Unable to interrupt task: (\d+) \(%s\)' % re.escape(os.strerror(errno.EPERM)))
_CAUSE = re.compile(re.escape(NO_PAGE_SERVER) + r' \S+|' + NOT_SEIZED.pattern)
_TIME = re.compile(r'^\(\s*[\d.]+\)\s*')
_WARN = re.compile(r'^Warn +\([^)]*\):\s*')


def _explains(line):
    """Is ``line`` one of criu's errors, or a cause it logs without the prefix?"""
    return bool(_ERROR.search(line) or _CAUSE.search(line))


def _text(line):
    """An explaining line without its time and ``Error (FILE:LINE):`` prefix."""
    return (_PREFIX.sub('', line) if _ERROR.search(line) else _WARN.sub('', _TIME.sub('', line))).strip()


class SmokeTimeout(Exception):
    """The whole smoke ran past its timeout."""


class SmokeFailure(Exception):
    """A step failed; ``stage`` says which."""

    def __init__(self, stage, msg):
        super(SmokeFailure, self).__init__(msg)
        self.stage = stage


# ---------------------------------------------------------------- criu itself


def find_criu(path=None, env_path=None):
    """The criu to use: ``path`` if given (a file, or a name looked up on
    PATH), else the one runtimes call (_installed_criu.find: the first
    ``criu`` on PATH, then in the sbin directories)."""
    search = env_path if env_path is not None else os.environ.get('PATH', '')
    if not path:
        found = [f['path'] for f in _installed_criu.find(search) if f['selected']]
        return found[0] if found else None
    if os.sep in path:
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    for d in search.split(os.pathsep):
        cand = os.path.join(d, path)
        if d and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def criu_version(path, timeout):
    """criu's version (``Version: 4.1.1`` -> ``4.1.1``), or None."""
    # At most 10 s: a criu that does not answer --version at once will not dump either.
    return _installed_criu.read_version(path, _installed_criu.environ(None), min(timeout, 10.0))[0]


def privilege_problem(criu=None):
    """Why ``criu`` (a path; by default the one _installed_criu.find()
    selects) cannot dump or restore when this process runs it
    (criu/crtools.c: it refuses without CAP_SYS_ADMIN or
    CAP_CHECKPOINT_RESTORE), or None.  Run by a user other than root, criu
    has what its file capabilities give it (the way criu's documentation
    gives a user --unprivileged), not this process's."""
    try:
        status = proc_status()
        cap_eff = int(status.get('CapEff', '0'), 16)
    except (EngineError, ValueError) as exc:
        return 'cannot read this process\'s capabilities: %s' % exc
    euid = os.geteuid()
    criu_eff, refused = _environment.criu_exec(euid, cap_eff, status, criu)
    if refused:
        return 'cannot run %s. %s: %s' % (criu or 'criu', _decide.exec_refused_blocker(refused),
                                          _decide.start_blocker_fix(_decide.EXEC_REFUSED_SAYS))
    if any(_caps.has(cap_eff if criu_eff is None else criu_eff, cap)
           for cap in (_caps.CAP_SYS_ADMIN, _caps.CAP_CHECKPOINT_RESTORE)):
        return None
    if euid == 0 or not criu:
        return ('criu needs root, or the CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE capability, to checkpoint and '
                'restore; this process (uid %d) has neither: run the task with become: true' % euid)
    return ('criu needs root, or the CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE capability, to checkpoint and '
            'restore; this user (uid %d) has neither, and %s gets neither from file capabilities here: run the '
            'task with become: true, or give criu the capability for --unprivileged (setcap '
            'cap_checkpoint_restore+eip %s, on a file system not mounted nosuid)' % (euid, criu, criu))


# What criu run by root without --unprivileged needs and --unprivileged does without (criu 4.1.1, measured):
# CAP_SYS_ADMIN for its start-up's network namespace and test mounts ("Unable create a network namespace"),
# CAP_NET_ADMIN for restore's SO_SNDBUFFORCE (--unprivileged falls back to SO_SNDBUF), and CAP_SYS_CHROOT for
# restore's "Can't change root".
_ROOT_MODE_NEEDS = (_caps.CAP_SYS_ADMIN, _caps.CAP_NET_ADMIN, _caps.NUMBERS['sys_chroot'])


def unprivileged_mode():
    """Whether criu must run with --unprivileged here: always for a user
    other than root (criu/crtools.c refuses without it), and for root
    without one of _ROOT_MODE_NEEDS too (a container given only some
    capabilities), with which criu would stop (in its start-up, or in the
    restore) where with --unprivileged it dumps and restores."""
    if os.geteuid() != 0:
        return True
    try:
        cap_eff = effective_caps()
    except (EngineError, ValueError):
        return False
    return not all(_caps.has(cap_eff, cap) for cap in _ROOT_MODE_NEEDS)


def proc_problem(who='criu'):
    """Why ``who`` cannot find its processes in /proc here (a /proc of
    another pid namespace: kill() by the pids it shows would reach other
    processes, or none), or None."""
    if proc_of_other_pid_namespace():
        return '%s cannot run here: %s' % (who, _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX)
    return None


def explain_log(text, limit=LOG_MAX):
    """The lines of a criu log that explain a failure: every ``Error (`` line
    and every known cause logged without it (``_CAUSE``), with the few lines
    before each; the last lines when there is none."""
    lines = text.splitlines()
    keep = []
    for i, line in enumerate(lines):
        if _explains(line):
            keep.extend(range(max(0, i - LOG_CONTEXT), i + 1))
    if not keep:
        keep = range(max(0, len(lines) - 10), len(lines))
    out, seen = [], set()
    for i in keep:
        if i not in seen:
            seen.add(i)
            out.append(lines[i])
    return out[-limit:]


# Error lines criu logs and then goes on: not the reason a command failed.
# criu/util.c: criu raises its own RLIMIT_NOFILE and carries on where it may not.
NON_FATAL = ("rlimit: Can't setup RLIMIT_NOFILE",)
# The summary criu logs last (criu/cr-dump.c, criu/cr-restore.c): true, but not why.
_SUMMARY = re.compile(r'(Dumping|Pre-dumping|Restoring|Pre-dump|Dump|Restore)\s+FAILED', re.I)


def reason(lines, rc=None):
    """criu's first error that explains the failure, without its log
    prefix: not one it logs and goes on after, not its final summary; a
    known cause logged without ``Error (`` counts, as it comes first.  For
    a criu killed by a signal (``rc`` -N), None rather than an error it went
    on after: the signal ended it."""
    errors = [_text(line) for line in lines if _explains(line)]
    for text in errors:
        if not text.startswith(NON_FATAL) and not _SUMMARY.search(text):
            return text
    if rc is not None and rc < 0:
        return None
    if errors:
        return errors[0]
    return lines[-1].strip() if lines else None


# ---------------------------------------------------------------- advice: causes criu does not name

# What the advice may name besides criu's words: the criu that failed, and the directory it wrote its images to
# (None where there is none).
FailedRun = collections.namedtuple('FailedRun', 'criu images_dir')


def _process_limit(match, run):
    return 'the kernel refused a process (RLIMIT_NPROC %s, or a pids cgroup\'s pids.max): %s' % (
        _installed_criu.soft_limit('NPROC'), _installed_criu.PROCESS_LIMIT_FIX)


def _descriptor_limit(match, run):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return ('criu keeps its own descriptors below the file descriptor limit (RLIMIT_NOFILE, %d; hard limit %s), '
            'above the task\'s, and found no room: raise it (ulimit -n; a systemd unit: LimitNOFILE=; podman and '
            'docker: --ulimit nofile=N:N), or give criu CAP_SYS_RESOURCE, with which it raises its own'
            % (soft, 'unlimited' if hard == resource.RLIM_INFINITY else hard))


def _seccomp_suspend(match, run):
    # Only on this path: the registry's import is not free.
    from ansible_collections.criu.check.plugins.module_utils import _registry
    return ('the dumped tree runs under a seccomp filter, which criu suspends while it dumps '
            '(PTRACE_O_SUSPEND_SECCOMP, its seccomp_suspend check): %s' % _registry.BY_ID['seccomp_suspend'].fix)


def _loopback_down(match, run):
    # Only on this path: the probe family that says it is not imported otherwise.
    from ansible_collections.criu.check.plugins.module_utils import _probes_sockets
    return _probes_sockets.LOOPBACK_DOWN_FIX


def _buffers_forced(match, run):
    return ('criu restores socket buffer sizes with SO_SNDBUFFORCE, which the kernel allows only with CAP_NET_ADMIN '
            'in the initial user namespace, and root of another user namespace has none there: run criu as the '
            'host\'s root')


def _bounding_set(match, run):
    name = 'CAP_%s' % _caps.NAMES.get(int(match.group(1)), match.group(1)).upper()
    how = ('give this root CAP_SETPCAP (a container: --cap-add=SETPCAP)' if os.geteuid() == 0 else
           'restore as root, or give criu CAP_SETPCAP too (a user\'s criu: setcap '
           'cap_checkpoint_restore,cap_setpcap+eip %s)' % run.criu)
    return ('the dumped task\'s capability bounding set lacked %s, and criu restores that set by dropping it '
            '(PR_CAPBSET_DROP), which needs CAP_SETPCAP, which criu has not here: %s; a task with no_new_privs '
            'set is restored without it' % (name, how))


def _pid_taken(match, run):
    pid = match.group(1) or match.group(2)
    comm = read_text('/proc/%s/comm' % pid).strip()
    state = stat_field(pid, 3)
    holder = (' (by %s%s)' % (comm or 'a process', ', a zombie its parent has not reaped' if state == b'Z' else '')
              if comm or state else '')
    return ('pid %s, which the dumped tree had, is taken here%s: criu gives every process it restores the pid it had; '
            'end what holds it and restore again, or checkpoint a tree that runs in a pid namespace of its own (as a '
            'container does), whose pids cannot collide with this host\'s' % (pid, holder))


def _not_seized(match, run):
    pid = match.group(1)
    try:
        tracer = proc_status(pid).get('TracerPid', '0')
    except EngineError:
        tracer = '0'   # ended since: what criu needs is all that can be said
    if tracer != '0':
        comm = read_text('/proc/%s/comm' % tracer).strip() or 'a process'
        return ('process %s is traced already, by %s (pid %s): a process has one tracer, and criu must be it; '
                'detach that one (a debugger, strace) and dump again' % (pid, comm, tracer))
    return ('criu could not trace process %s (PTRACE_SEIZE): it needs CAP_SYS_PTRACE (root has it), or '
            'kernel.yama.ptrace_scope 0 for a process of its own user, and no other tracer on it' % pid)


def _leader_outside(match, run):
    pid = match.group(1)
    dumps = 'criu dumps a tree with its session\'s leader, --shell-job or not'
    if session_of(pid) == 0:
        return ('process %s is in session 0, which has no leader (it was started by an init or a supervisor that '
                'never called setsid(), nor did its parents), and %s: start the tree\'s root in a session of its own '
                '(setsid COMMAND), then dump it' % (pid, dumps))
    return ('process %s (%s in its pid namespace) is in a session whose leader is outside that pid namespace, and '
            '%s: start the namespace\'s first process in a session of its own (unshare -p -f setsid COMMAND), then '
            'dump it' % (pid, match.group(2), dumps))


def _cannot_dump(match, run):
    return _installed_criu.cannot_dump_advice(match.group(0), run.criu)


def _needs_option(match, run):
    return _criu_options.advice(match.group(0))


def _size(nbytes):
    """``nbytes`` as people read it: 512 bytes, 60.0 KiB, 1.5 GiB."""
    value, unit = float(nbytes), 'bytes'
    for bigger in ('KiB', 'MiB', 'GiB'):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return '%d bytes' % nbytes if unit == 'bytes' else '%.1f %s' % (value, unit)


def _room(images_dir):
    """(Whether the file system of ``images_dir`` has no block or no inode
    left for this user, its free room in words), or (None, None) when it
    cannot be read."""
    try:
        fs = os.statvfs(images_dir)
    except (OSError, TypeError):
        return None, None
    # Root may use the blocks reserved for it (ext4's 5 %); a file system that counts no inodes (btrfs) has none
    # to run out of.
    no_block = fs.f_blocks > 0 and fs.f_bavail == 0 and (os.geteuid() != 0 or fs.f_bfree == 0)
    no_inode = fs.f_files > 0 and fs.f_favail == 0
    if no_inode and not no_block:
        return True, 'no inode free of %d' % fs.f_files
    return no_block, '%s free of %s' % (_size(fs.f_bavail * fs.f_frsize), _size(fs.f_blocks * fs.f_frsize))


def _no_room(match, run):
    return _room_advice(match, run.images_dir, _room(run.images_dir)[1] if run.images_dir else None)


def _room_advice(match, images_dir, words):
    """_no_room()'s advice, ``words`` what _room() said of ``images_dir``."""
    where = ' (the images directory %s: %s)' % (images_dir, words) if words else ''
    if match is None:
        # Found full after criu failed, its words cut short: its log is written there too.
        full, free = ('a file system criu writes to is full%s, and criu\'s log, written there too, may end before '
                      'its reason' % where, 'free space there')
    elif match.group(0) == os.strerror(errno.EDQUOT):
        full, free = ('criu\'s user has used up its disk quota on a file system criu writes to%s' % where,
                      'raise the quota (setquota, edquota)')
    else:
        full, free = 'a file system criu writes to is full%s' % where, 'free space there'
    return ('%s: a dump writes about as much as the memory of the tree it dumps; %s, or put the images on a file '
            'system with room (criu_smoke: tmpdir; criu_dump: images_dir)' % (full, free))


# What criu's (or the smoke's own) failure says -> what to do about it; the first that matches.  Each seen
# with criu 4.1.1 in the context named.
_ADVICE = (
    # fork() or clone() refused (EAGAIN): RLIMIT_NPROC or pids.max (a user allowed 3 to 5 processes).
    (_installed_criu.NO_PROCESS_LINE, _process_limit),
    # criu/servicefd.c: criu keeps its own descriptors at the top of RLIMIT_NOFILE's soft limit, above the task's
    # (criu's own spelling); criu/util.c raises the limit first, which needs CAP_SYS_RESOURCE above the hard limit
    # (restoring under a limit of 64 on a host whose bounding sets lack CAP_SYS_RESOURCE).
    (re.compile(r"Can't chose service_fd_base"), _descriptor_limit),
    # criu/seccomp.c: PTRACE_O_SUSPEND_SECCOMP refused at dump for a tree under a seccomp filter, which the kernel
    # allows only a tracer with CAP_SYS_ADMIN under no filter itself (an unprivileged podman container).
    (re.compile(r'suspending seccomp failed: '), _seccomp_suspend),
    # criu/kerndat.c kerndat_tcp_repair(), in every criu's start-up, with the loopback down (unshare -n), as the
    # tcp_half_closed probe finds it (criu_root.sh's no-loopback).
    (re.compile(re.escape('Unable to connect a socket: %s' % os.strerror(errno.ENETUNREACH))), _loopback_down),
    # criu/sockets.c: root's criu restores socket buffer sizes with SO_SNDBUFFORCE, which needs CAP_NET_ADMIN in
    # the initial user namespace (--unprivileged falls back to SO_SNDBUF): root of a user namespace (userns).
    (re.compile(r'Unable to set socket SO_SNDBUFFORCE/SO_RCVBUFFORCE: Operation not permitted'), _buffers_forced),
    # criu/pie/restorer.c restore_creds(): every capability outside the dumped task's bounding set is dropped
    # (PR_CAPBSET_DROP) whether or not it is still there, which needs CAP_SETPCAP; a task with no_new_privs is
    # let through (a user's criu with only CAP_CHECKPOINT_RESTORE where every bounding set lacks
    # CAP_SYS_RESOURCE; root without CAP_SETPCAP).
    (re.compile(r'Unable to drop capability (\d+): '), _bounding_set),
    # compel/src/lib/infect.c: the tree could not be seized (a tracer holds it already: gdb, strace; tried with a
    # process of this script's attached by PTRACE_ATTACH; the spec's criu#103 and criu#2495 for the others).
    (NOT_SEIZED, _not_seized),
    # criu/cr-restore.c: every process is restored with its pid, by clone3() with set_tid ("Can't fork for N: File
    # exists", EEXIST: criu 4.1.1 restoring where a process holds that pid) or, before Linux 5.5, through
    # ns_last_pid ("Pid M do not match expected N").
    (re.compile(r"Can't fork for (\d+): %s|Pid \d+ do not match expected (\d+)" % re.escape(os.strerror(errno.EEXIST))),
     _pid_taken),
    # criu/cr-dump.c dump_one_task(): the tree's session id, read inside its pid namespace, is 0: the first process
    # of unshare -p -f started without setsid (its leader outside the namespace), or a process in session 0 itself
    # (CI's jobs, started by a PID 1 that never called setsid: criu 4.1.1 said so of a tree of this suite there).
    (re.compile(r'A session leader of (\d+)\((\d+)\) is outside of its pid namespace'), _leader_outside),
    # criu asks for an option for what the tree holds (_criu_options.OPTIONS: criu_dump's criu_options).
    (_criu_options.ASKS, _needs_option),
    # criu before 4.2 on Linux 6.16 and newer, dumping a process with an IPv4, IPv6 or packet socket
    # (_installed_criu.CANNOT_DUMP; criu 4.1.1 on this host's 6.18 dumping a UDP socket's process).
    (_installed_criu.CANNOT_DUMP_SAYS, _cannot_dump),
    # ENOSPC or EDQUOT writing images, criu's strerror() whatever the call ("page-xfer: Unable to spice data: No
    # space left on device" dumping to a full tmpfs); criu does not say which file system, nor that the images are
    # what filled it.
    (re.compile('|'.join(re.escape(os.strerror(e)) for e in (errno.ENOSPC, errno.EDQUOT))), _no_room),
)


def advice(text, criu='criu', rc=None, images_dir=None):
    """What to do about the failure criu explained with ``text`` (reason())
    or its exit code ``rc`` (-N: killed by signal N), where the cause is
    known and criu does not say it (_ADVICE), or the file system of
    ``images_dir`` (where criu wrote its images and its log) is full; else
    None.  ``criu`` is the criu that failed."""
    if rc == -signal.SIGXFSZ:
        return 'it wrote past its file size limit (RLIMIT_FSIZE, %s): %s' % (
            _installed_criu.soft_limit('FSIZE', ' bytes'), _installed_criu.FILE_SIZE_FIX)
    for pattern, what_to_do in _ADVICE:
        match = pattern.search(text or '')
        if match:
            return what_to_do(match, FailedRun(criu, images_dir))
    full, words = _room(images_dir) if images_dir else (None, None)
    if full:
        # The state found is the one told: one statvfs(), not a second that may see another.
        return _room_advice(None, images_dir, words)
    return None


def with_advice(message, text, criu='criu', rc=None, images_dir=None):
    """``message``, followed by advice(text, criu, rc, images_dir) where there is one."""
    hint = advice(text, criu, rc, images_dir)
    return '%s; %s' % (message, hint) if hint else message


# ---------------------------------------------------------------- processes


def read_file(path):
    """The bytes of a file, or None when it is missing or unreadable (a
    process's /proc file once it has ended)."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except (IOError, OSError):
        return None


def read_text(path):
    """The text of a file (undecodable bytes replaced), empty when it is
    missing or unreadable: a log criu may not have written."""
    return (read_file(path) or b'').decode('utf-8', 'replace')


def stat_field(pid, field):
    """Field ``field`` (numbered as in proc(5): 3 the state, 4 the parent,
    6 the session) of /proc/PID/stat, as bytes; None when the process is gone
    or the field absent.  The fields are counted after the command name,
    which may hold spaces and parentheses."""
    stat = read_file('/proc/%s/stat' % pid)
    if not stat:
        return None
    try:
        return stat[stat.rindex(b')') + 2:].split()[field - 3]
    except (ValueError, IndexError):
        return None


def session_of(pid):
    """The session id of ``pid`` (/proc/PID/stat field 6), or None."""
    sid = stat_field(pid, 6)
    return int(sid) if sid is not None else None


def marked_processes(mark, sessions, exclude=()):
    """Our processes: those whose command line holds ``mark`` (the unique
    working directory) and whose session is one we created (``sessions``) or
    is led by a process that holds ``mark`` too."""
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        pid = int(name)
        if pid in exclude:
            continue
        cmd = read_file('/proc/%d/cmdline' % pid)
        if not cmd or mark not in cmd:
            continue
        sid = session_of(pid)
        if sid is None:
            continue
        if sid in sessions or (sid > 0 and mark in (read_file('/proc/%d/cmdline' % sid) or b'')):
            found.append(pid)
    return found


def reap(exited):
    """Reap every dead child (ours, and orphans handed to us as subreaper)."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        except OSError as exc:
            if exc.errno == errno.EINTR:
                continue
            return
        if pid == 0:
            return
        exited[pid] = status


def clean_up(workdir, sessions, exclude=(), exited=None, seconds=CLEANUP_SECONDS):
    """Kill every process of ours (SIGKILL, until none is seen twice in a row),
    then remove the working directory.  Returns the pids killed."""
    mark = workdir.encode()
    killed = []
    quiet = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if exited is not None:
            reap(exited)
        pids = marked_processes(mark, sessions, exclude)
        if not pids:
            quiet += 1
            if quiet >= 2:
                break
        else:
            quiet = 0
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                    if pid not in killed:
                        killed.append(pid)
                except OSError:
                    pass
        time.sleep(0.02)
    if exited is not None:
        reap(exited)
    shutil.rmtree(workdir, ignore_errors=True)
    return killed


def _close_fds_except(keep):
    for name in os.listdir('/proc/self/fd'):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def remove_kdat_cache():
    """Remove the kdat cache criu wrote to the host's /run."""
    try:
        os.unlink(KDAT_CACHE)
    except OSError:
        pass


def start_watchdog(workdir, deadline_seconds):
    """Fork the watchdog; return (its pid, the write end of its pipe).

    It reads lines ``session PID`` and ``kdat`` (remove_kdat_cache() too) from
    the pipe; on EOF (the module ended, in whatever way) or after
    ``deadline_seconds`` it cleans up and exits."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid:
        os.close(rfd)
        return pid, wfd
    # The watchdog: never returns into the module's code.
    try:
        os.setsid()
        for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_IGN)
        _child.null_stdio()
        _close_fds_except((rfd,))
        sessions = set()
        kdat = False
        buf = b''
        deadline = time.monotonic() + deadline_seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                ready = _child.readable([rfd], left)
            except OSError:
                continue
            if not ready:
                break
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            buf += chunk
            while b'\n' in buf:
                line, buf = buf.split(b'\n', 1)
                parts = line.split()
                if len(parts) == 2 and parts[0] == b'session' and parts[1].isdigit():
                    sessions.add(int(parts[1]))
                elif parts == [b'kdat']:
                    kdat = True
        clean_up(workdir, sessions, exclude=(os.getpid(),))
        if kdat:
            remove_kdat_cache()
    finally:
        os._exit(0)


def private_run():
    """Give this process a private mount namespace with a fresh tmpfs on /run,
    for criu's kdat cache.  Returns None, or why it could not (then the caller
    removes the cache file itself if criu creates it)."""
    why = _syscall.private_mount_namespace()
    if why:
        return why
    if os.path.isdir('/run'):
        rc, err = _syscall.libc_call(_syscall.LIBC.mount, b'criu-smoke', b'/run', b'tmpfs', ctypes.c_ulong(0),
                                     b'mode=755')
        if rc != 0:
            return 'mount tmpfs on /run: %s' % os.strerror(err)
    return None


def _needs_run(*paths):
    """Is anything this process still needs under /run (the working
    directory, Python, its import path, Ansible's temporary directory)?  A
    tmpfs mounted there would hide it."""
    here = [os.getcwd(), tempfile.gettempdir(), sys.executable, __file__] + list(paths) + list(sys.path)
    for path in here:
        real = os.path.realpath(path or '.')
        if real == '/run' or real.startswith('/run/'):
            return True
    return False


def _tree_size(path):
    total = 0
    for root, dummy, files in os.walk(path):
        for name in files:
            if name.endswith('.log'):
                continue
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                pass
    return total


def _read_counter(path):
    text = read_file(path)
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


# ---------------------------------------------------------------- the smoke


class Smoke:
    """One dump/restore round of the counter tree with ``criu``.

    ``run()`` returns a dict: ok, stage, msg, criu {path, version}, dump_ms,
    restore_ms, image_size, counter {before, after, child_before, child_after},
    log (criu's lines that explain a failure), cleanup {killed, removed}.
    It never raises for what happens on the host; only for a programming error.
    """

    def __init__(self, criu, version, tmpdir=None, timeout=DEFAULT_TIMEOUT, python=None, stated_timeout=None):
        self.criu = criu
        self.version = version
        self.tmpdir = tmpdir
        self.timeout = float(timeout)
        # What the operator set, which messages quote: ``timeout`` is what is left of it after criu --version.
        self.stated_timeout = float(timeout if stated_timeout is None else stated_timeout)
        self.python = python or sys.executable
        self.exited = {}
        self.sessions = set()
        self.workdir = None
        self.watchdog = None
        self.wfd = None
        self.deadline = None
        self.result = {'ok': False, 'stage': 'setup', 'msg': '', 'criu': {'path': criu, 'version': version},
                       'dump_ms': None, 'restore_ms': None, 'image_size': None,
                       'counter': {'before': None, 'after': None, 'child_before': None, 'child_after': None},
                       'log': [], 'cleanup': None}

    # -- helpers

    def _left(self):
        return self.deadline - time.monotonic()

    def _tell_watchdog(self, sid=None, kdat=False):
        """Tell the watchdog of a session of ours, or that the kdat cache criu writes is ours to remove."""
        if sid is not None:
            self.sessions.add(sid)
        if self.wfd is not None:
            try:
                os.write(self.wfd, b'kdat\n' if kdat else b'session %d\n' % sid)
            except OSError:
                pass

    def _spawn(self, argv, cwd, out_path, env=None):
        """Start argv detached: its own session, a null stdin
        (_child.null_stdin()), a file in the working directory for stdout and
        stderr, no inherited fd."""
        with open(out_path, 'ab') as out:
            # run_command waits for its child; these must run on detached, in a session of their own.
            # pylint: disable-next=ansible-bad-function
            proc = subprocess.Popen(argv, cwd=cwd, stdin=_child.null_stdin(), stdout=out, stderr=out,
                                    close_fds=True, start_new_session=True, env=env)
        self._tell_watchdog(proc.pid)
        # Reaped by reap(), not by Popen: keep it from waiting or warning later.
        proc.returncode = 0
        return proc.pid

    def _wait_exit(self, pid, what):
        """Wait for our child ``pid`` to end; return its exit code."""
        while True:
            reap(self.exited)
            if pid in self.exited:
                status = self.exited[pid]
                if os.WIFEXITED(status):
                    return os.WEXITSTATUS(status)
                return -os.WTERMSIG(status)
            if self._left() <= 0:
                raise SmokeTimeout('%s did not finish within the timeout of %gs' % (what, self.stated_timeout))
            time.sleep(0.01)

    def _wait_until(self, cond, what):
        while True:
            reap(self.exited)
            value = cond()
            if value:
                return value
            if self._left() <= 0:
                raise SmokeTimeout('%s within the timeout of %gs' % (what, self.stated_timeout))
            time.sleep(0.01)

    def _criu_env(self):
        env = dict(os.environ)
        env.pop('LISTEN_FDS', None)
        # For --unprivileged, criu keeps its kdat cache in XDG_RUNTIME_DIR (criu/kerndat.c).
        env['XDG_RUNTIME_DIR'] = os.path.join(self.workdir, 'run')
        return env

    def _criu(self, action, args, log_name):
        argv = [self.criu, action] + args + ['-o', log_name, '-v4']
        if unprivileged_mode():
            argv.append('--unprivileged')
        out_path = os.path.join(self.workdir, 'criu-%s.out' % action)
        start = time.monotonic()
        try:
            pid = self._spawn(argv, self.workdir, out_path, env=self._criu_env())
        except OSError as exc:
            raise SmokeFailure(action, with_advice('cannot run %s: %s' % (self.criu, exc), str(exc), self.criu))
        rc = self._wait_exit(pid, 'criu %s' % action)
        ms = round((time.monotonic() - start) * 1000, 1)
        if rc != 0:
            self._collect_log(action, log_name, out_path)
            why = reason(self.result['log'], rc) or (
                'killed by signal %d (%s)' % (-rc, signal_name(-rc)) if rc < 0
                else self.result['log'][-1] if self.result['log'] else '')
            raise SmokeFailure(action, with_advice('criu %s failed (exit %s): %s' % (action, rc, why or 'no message'),
                                                   why, self.criu, rc, os.path.join(self.workdir, 'images')))
        return ms

    def _collect_log(self, action, log_name, out_path):
        lines = []
        out = read_text(out_path)
        if out.strip():
            lines += explain_log(out, 10)
        log = read_text(os.path.join(self.workdir, 'images', log_name))
        if log.strip():
            lines += explain_log(log)
        self.result['log'] = lines[-LOG_MAX:]

    def _counters(self):
        tree = os.path.join(self.workdir, 'tree')
        return (_read_counter(os.path.join(tree, 'counter.leader')),
                _read_counter(os.path.join(tree, 'counter.child')))

    def _gone(self, pids):
        reap(self.exited)
        return all(not os.path.exists('/proc/%d' % p) for p in pids)

    # -- the steps

    def _steps(self):
        res = self.result
        tree = os.path.join(self.workdir, 'tree')
        images = os.path.join(self.workdir, 'images')
        os.mkdir(tree)
        os.mkdir(images)
        os.mkdir(os.path.join(self.workdir, 'run'), 0o700)

        res['stage'] = 'start'
        try:
            leader = self._spawn([self.python, '-I', '-S', '-c', COUNTER, tree], tree,
                                 os.path.join(self.workdir, 'tree.log'))
        except OSError as exc:
            raise SmokeFailure('start', with_advice('cannot start the counter tree with %s: %s' % (self.python, exc),
                                                    str(exc)))

        def running():
            leader_n, child_n = self._counters()
            if leader in self.exited:
                said = read_text(os.path.join(self.workdir, 'tree.log')).strip()
                raise SmokeFailure('start', with_advice('the counter tree exited at once: %s' % said[-300:],
                                                        said.splitlines()[-1] if said else ''))
            return leader_n is not None and child_n is not None and leader_n >= 3 and child_n >= 3
        self._wait_until(running, 'the counter tree did not start counting')
        child = [int(p) for p in (read_file('/proc/%d/task/%d/children' % (leader, leader)) or b'').split()]

        res['stage'] = 'dump'
        res['dump_ms'] = self._criu('dump', ['-t', str(leader), '-D', images], 'dump.log')
        # criu dump kills the tree; its pids must be free again for the restore.
        self._wait_until(lambda: self._gone([leader] + child), 'the dumped tree did not go away')
        res['image_size'] = _tree_size(images)
        before, child_before = self._counters()
        res['counter']['before'], res['counter']['child_before'] = before, child_before

        res['stage'] = 'restore'
        pidfile = os.path.join(self.workdir, 'restore.pid')
        res['restore_ms'] = self._criu('restore', ['-d', '-D', images, '--pidfile', pidfile], 'restore.log')
        restored = _read_counter(pidfile)
        if restored is None:
            raise SmokeFailure('restore', 'criu restore wrote no pid to its --pidfile')
        # The restored leader comes back with its session: ours from now on too.
        self._tell_watchdog(restored)
        mark = self.workdir.encode()
        if mark not in (read_file('/proc/%d/cmdline' % restored) or b''):
            raise SmokeFailure('restore', 'the restored pid %d is not the counter tree' % restored)

        res['stage'] = 'verify'

        def advanced():
            leader_n, child_n = self._counters()
            if leader_n is not None and child_n is not None and leader_n > before and child_n > child_before:
                return leader_n, child_n
            return None
        res['counter']['after'], res['counter']['child_after'] = self._wait_until(
            advanced, 'the restored counters did not advance')
        res['ok'] = True
        res['stage'] = 'done'
        res['msg'] = ('criu %s dumped and restored a two-process tree; its counters went on from %s to %s'
                      % (self.version or '(unknown version)', before, res['counter']['after']))

    def run(self):
        # Its own files (the working directory, the counters, criu's images and logs) are this process's to use and
        # remove whatever umask it was given: under umask 0777 a user could not enter the directory it had made,
        # nor remove it.  criu, started from here, inherits 077 too: its images are the user's alone.
        umask = os.umask(0o077)
        try:
            return self._run()
        finally:
            os.umask(umask)

    def _run(self):
        res = self.result
        self.deadline = time.monotonic() + self.timeout
        try:
            self.workdir = os.path.realpath(tempfile.mkdtemp(prefix='criu-smoke-', dir=self.tmpdir))
        except (IOError, OSError) as exc:
            res['msg'] = 'cannot create a working directory in %s: %s' % (
                self.tmpdir or tempfile.gettempdir(), exc)
            return res
        kdat_existed = os.path.exists(KDAT_CACHE)
        private = 'not tried'
        try:
            try:
                self.watchdog, self.wfd = start_watchdog(self.workdir, self.timeout + WATCHDOG_GRACE)
            except OSError as exc:
                raise SmokeFailure('setup', 'cannot fork the clean-up watchdog: %s' % exc)
            _syscall.prctl(PR_SET_CHILD_SUBREAPER, 1)
            private = 'something this process needs is under /run'
            if not _needs_run(self.workdir, self.python):
                private = private_run()
            if private is not None and not kdat_existed:
                # criu writes its cache to the host's /run: if this process is killed, the watchdog removes it.
                self._tell_watchdog(kdat=True)
            self._steps()
        except SmokeFailure as exc:
            res['stage'] = exc.stage
            res['msg'] = str(exc)
        except SmokeTimeout as exc:
            res['msg'] = 'timeout in stage %s: %s' % (res['stage'], exc)
        except (IOError, OSError) as exc:
            res['msg'] = 'stage %s: %s' % (res['stage'], exc)
        finally:
            killed = clean_up(self.workdir, self.sessions, exclude=(os.getpid(), self.watchdog),
                              exited=self.exited)
            if private is not None and not kdat_existed:
                remove_kdat_cache()
            self._stop_watchdog()
            res['cleanup'] = {'killed': len(killed), 'removed': not os.path.exists(self.workdir)}
        return res

    def _stop_watchdog(self):
        if self.wfd is not None:
            _syscall.close_quietly(self.wfd)
            self.wfd = None
        if self.watchdog is None:
            return
        end = time.monotonic() + CLEANUP_SECONDS + 5
        while time.monotonic() < end:
            reap(self.exited)
            if self.watchdog in self.exited:
                return
            time.sleep(0.01)
        try:
            os.kill(self.watchdog, signal.SIGKILL)
        except OSError:
            pass
        try:
            os.waitpid(self.watchdog, 0)
        except OSError:
            pass


def run(criu_path=None, tmpdir=None, timeout=DEFAULT_TIMEOUT, python=None):
    """Find criu, check privileges, run one smoke; return the result dict
    (see Smoke).  ``ok`` False with ``msg`` when criu is missing or cannot run."""
    criu = find_criu(criu_path)
    if criu is None:
        where = criu_path or 'PATH, %s' % ', '.join(SBIN_DIRS)
        msg = 'criu is not installed (looked for %s)' % where
        if not criu_path:
            present = [f for f in _installed_criu.find(os.environ.get('PATH', '')) if not f['executable']]
        else:
            present = [{'path': criu_path}] if os.sep in criu_path and os.path.isfile(criu_path) else []
        if present:
            # There, but not runnable: installing criu would not help.
            why = present[0].get('not_executable') or _installed_criu.not_executable(present[0]['path'])
            msg = 'criu at %s cannot be executed: %s; %s' % (present[0]['path'], why['why'], why['fix'])
        return {'ok': False, 'stage': 'setup', 'criu': {'path': None, 'version': None}, 'msg': msg, 'log': []}
    deadline = time.monotonic() + timeout   # one timeout for criu --version and the smoke
    version = criu_version(criu, timeout)
    problem = privilege_problem(criu) or proc_problem()
    if problem:
        return {'ok': False, 'stage': 'setup', 'criu': {'path': criu, 'version': version}, 'msg': problem,
                'log': []}
    return Smoke(criu, version, tmpdir=tmpdir, timeout=max(0.001, deadline - time.monotonic()), python=python,
                 stated_timeout=timeout).run()
