# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The installed criu: where it is, which version, and whether it works here.

PRIVATE to the criu.check collection: not a public API.

The probes answer whether the kernel could support criu; runtimes call the
criu binary that is installed, which may be too old for the running kernel
and stop before any check (criu 3.17.1 on x86 kernels >= 6.13:
``vdso: Unexpected rt vDSO area bounds``).  So the binary itself is asked,
once: ``criu --version`` and its own ``criu check``.

Three steps, so that the part that runs criu can live in a forked worker
beside the probes and the rest stays pure:

* ``find()``: every ``criu`` on PATH and in the sbin directories, the one
  runtimes call first (go-criu and rust-criu exec ``criu`` through PATH).
* ``check(ctx)``: run that criu, bounded by a timeout, changing nothing on
  the host; returns a JSON-able dict (``job`` is the same for the engine).
* ``describe(raw, probe_facts)``: the ``criu_facts.criu`` facts.

Nothing persists.  ``criu check`` saves its kernel-feature cache in
/run/criu.kdat (criu/kerndat.c ``kerndat_save_cache()``; with
``--unprivileged`` in ``$XDG_RUNTIME_DIR/criu.kdat``) and, as root, mounts a
test tmpfs under /tmp (criu/kerndat.c ``kerndat_has_move_mount_set_group()``).
As root, criu therefore runs in a private mount namespace with a fresh tmpfs
on /run: the cache, the mounts and anything criu writes to /run vanish with
it, and an existing host cache cannot make its answer stale.  Where that
namespace cannot be made (no CAP_SYS_ADMIN, non-root), criu runs with
``--unprivileged`` and ``XDG_RUNTIME_DIR`` set to a private temporary
directory removed afterwards.  criu leads its own process group, which is
killed on timeout, and dies with the process that started it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import signal
import time

from ansible_collections.criu.check.plugins.module_utils import _caps, _deps, _syscall
from ansible_collections.criu.check.plugins.module_utils._criu_words import (
    BAD, CRIU_BINARY, DOES_NOT_LOOK_GOOD, GOOD, GOOD_BUT, KERNDAT_FAILED, KERNDAT_STEP_SOURCE, LOOKS_GOOD,
    LOOKS_GOOD_BUT, NEEDS_UNPRIVILEGED, NO_CAPS, UNDECIDED)
from ansible_collections.criu.check.plugins.module_utils._criu_words import VERDICTS as PROBE_VERDICTS
from ansible_collections.criu.check.plugins.module_utils._context import (
    SBIN_DIRS, effective_caps, owns_mount_namespace, proc_of_other_pid_namespace)
from ansible_collections.criu.check.plugins.module_utils._engine import (
    DEFAULT_TIMEOUT, SHORT_OF_PROCESSES, EngineError, signal_name)

# criu's verdicts: its three outcomes, named as the probes' (PROBE_VERDICTS), and why there is none.
BLOCKED = 'blocked'
CANNOT_START = 'cannot_start'
TIMEOUT = 'timeout'
NOT_RUN = 'not_run'
VERDICTS = (GOOD, GOOD_BUT, BAD, BLOCKED, CANNOT_START, TIMEOUT, NOT_RUN)

# criu's final lines (criu/cr-check.c cr_check(), criu/crtools.c check_caps()).
_LOOKS_GOOD = re.compile('^%s$' % re.escape(LOOKS_GOOD), re.M)
_LOOKS_GOOD_BUT = re.compile('^' + re.escape(LOOKS_GOOD_BUT.splitlines()[0]), re.M)
_NOT_GOOD = DOES_NOT_LOOK_GOOD.rstrip('.')
_BLOCKERS = (NO_CAPS, NEEDS_UNPRIVILEGED)
# The lines of those final sentences, which are no message of a check.
_SUMMARY = re.compile('^(%s)' % '|'.join(re.escape(line.rstrip('.'))
                                         for line in (LOOKS_GOOD,) + tuple(LOOKS_GOOD_BUT.splitlines())))
# pr_err / pr_warn prefixes (criu/include/log.h): "Error (criu/vdso.c:381): ".
_PREFIX = re.compile(r'^(Error|Warn) +\(([^():]+):(\d+)\): ')
# Lines that say nothing about this host: the cache criu could not read or
# place (its fresh /run is empty on purpose).
_NOISE = (re.compile(r'\$XDG_RUNTIME_DIR not set'), re.compile(r"Can't load /run/criu\.kdat"),
          re.compile(r'criu\.kdat does not exist'))
# criu killed when it writes past its file size limit: its first file is its kdat cache (about 1 KiB from criu 4.1.1,
# written whenever it has no valid one: always in the fresh /run it runs with here), then, at dump, every image.
KILLED_BY_FILE_SIZE = 'criu was killed by signal %d (SIGXFSZ)' % signal.SIGXFSZ
FILE_SIZE_FIX = ('raise the file size limit criu runs with: ulimit -f unlimited (a systemd unit: LimitFSIZE=infinity; '
                 'podman and docker: --ulimit fsize=-1)')
# How criu's errors end where the kernel refused it a process (fork(), clone(): EAGAIN, RLIMIT_NPROC or pids.max).
NO_PROCESS_LINE = re.compile(re.escape(os.strerror(errno.EAGAIN)) + '$')
PROCESS_LIMIT_FIX = ('raise the process limit criu runs under: ulimit -u for its user (a systemd unit: LimitNPROC=), '
                     'or the pids cgroup\'s pids.max (a systemd unit: TasksMax=; podman and docker: --pids-limit)')
# kerndat_init()'s line after a step's own error, naming the step (a function of criu/kerndat.c).
_KERNDAT_STEP = r'(\S+) failed when initializing kerndat'
_KERNDAT_STEP_FAILED = re.compile('^' + _KERNDAT_STEP)
# Wrappers around the real cause: never quoted as the reason when a more
# specific line exists (criu/kerndat.c kerndat_init(), criu/util.c cr_system_userns()).
_GENERIC = re.compile(r'^(%s|%s|exited, status=\d+|Can\'t wait or bad status|%s)'
                      % (re.escape(KERNDAT_FAILED.rstrip('.')), _KERNDAT_STEP, re.escape(_NOT_GOOD)))

# criu releases too old for the kernel (or libc) they run on: the message
# they stop with, what triggers it, and the first release with the fix.
TOO_OLD = (
    {'match': 'Unexpected rt vDSO area bounds', 'fixed_in': '4.1',
     'why': 'x86 kernels 6.13 and newer split [vvar_vclock] from [vvar], which criu before 4.1 does not expect',
     'ref': 'https://github.com/checkpoint-restore/criu/issues/2532'},
    {'match': 'ELF header magic mismatch', 'fixed_in': '4.2',
     'why': "arm64 kernels 6.12 and newer mark their vDSO with EI_OSABI 3, which criu before 4.2 rejects",
     'ref': 'criu commit 2d2168fc9, https://github.com/checkpoint-restore/criu/commit/2d2168fc9'},
    {'match': "Compatible vdso's size is bigger than reserved buf", 'fixed_in': '3.18',
     'why': "this kernel's 32-bit vDSO is larger than criu before 3.18 reserves",
     'ref': 'https://github.com/checkpoint-restore/criu/issues/1916'},
)

# criu releases that start, and pass their own check, on a kernel that then refuses them something at dump time:
# what the kernel does (``kernel``: a function of KERNEL_BEHAVIOUR, which check() observes), what they cannot dump
# there, what their dump stops with, and the first release with the fix.
CANNOT_DUMP = (
    {'id': 'inet_sockets', 'kernel': 'inet_passcred_refused', 'fixed_in': '4.2', 'kernel_before': '6.16',
     'what': 'a process with an IPv4, IPv6 or packet socket (a network server or client)',
     'says': "sockets: Can't get 1:16 opt: %s" % os.strerror(errno.EOPNOTSUPP),
     'why': ('Linux 6.16 and newer refuse SO_PASSCRED and SO_PASSSEC on sockets other than unix and netlink '
             '(kernel commit 7d8d93fdde50), and criu before 4.2 reads both from every socket it dumps'),
     'ref': 'https://github.com/checkpoint-restore/criu/issues/2718'},
)

# Where a newer criu comes from, per distribution release: the suite the
# install role pins criu from (its criu_install_apt_suite).  The one table:
# the role's failure message quotes the fix made from it.
NEWER_SUITES = {
    'Debian-12': {'suite': 'trixie', 'what': "Debian 13's criu 4.1.1", 'version': '4.1.1'},
}
UPSTREAM = 'https://github.com/checkpoint-restore/criu/releases'

# Required checks criu is known to pass where the kernel lacks the feature
# (criu/cr-check.c): check_sock_diag ignores per-family errors of
# collect_sockets(), check_ipc passes for every non-root euid, check_tcp skips
# TCP_REPAIR under --unprivileged without CAP_NET_ADMIN.
CRIU_LENIENT = ('sock_diag', 'ipc', 'tcp')


# --------------------------------------------------------------------------
# what the kernel does that an older criu does not expect (CANNOT_DUMP)

def inet_passcred_refused():
    """Whether this kernel refuses SO_PASSCRED on an IPv4 socket, as Linux
    6.16 and newer do (net/core/sock.c sk_getsockopt(): EOPNOTSUPP outside
    AF_UNIX, AF_NETLINK and AF_BLUETOOTH); None when it cannot be told (no
    such socket may be made here)."""
    import socket
    try:
        sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    except OSError:
        return None
    try:
        sk.getsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED)
        return False
    except OSError as exc:
        return True if exc.errno == errno.EOPNOTSUPP else None
    finally:
        sk.close()


KERNEL_BEHAVIOUR = {'inet_passcred_refused': inet_passcred_refused}


def kernel_behaviour():
    """{name: True | False | None} for each behaviour CANNOT_DUMP names."""
    return dict((name, observe()) for name, observe in sorted(KERNEL_BEHAVIOUR.items()))


# --------------------------------------------------------------------------
# find()

def find(path=None):
    """Every criu file: PATH first, then the sbin directories.

    Returns a list of ``{'path', 'realpath', 'from': 'PATH'|'sbin', 'selected',
    'executable'}``, one per distinct file (deduplicated by realpath, first seen
    wins); the first executable one is ``selected``: the criu runtimes call
    (go-criu, rust-criu and the runtimes built on them exec ``criu`` through
    PATH, and Go's exec.LookPath skips a file this process may not execute:
    no execute bit, a noexec mount).  A file that is not executable is listed,
    with ``not_executable`` (see ``not_executable()``), so that it is reported
    as present but not runnable rather than as missing.  Empty when there is none.
    ``path`` defaults to ``$PATH`` (``os.defpath`` when unset).
    """
    if path is None:
        path = os.environ.get('PATH', os.defpath)
    dirs = [(d, 'PATH') for d in path.split(os.pathsep) if d]
    dirs += [(d, 'sbin') for d in SBIN_DIRS]
    found = []
    seen = set()
    for directory, origin in dirs:
        candidate = os.path.join(directory, 'criu')
        if not os.path.isabs(candidate):
            continue  # a relative PATH entry depends on the cwd: runtimes' results would too
        if not os.path.isfile(candidate):
            continue
        real = os.path.realpath(candidate)
        if real in seen:
            continue
        seen.add(real)
        # access(2) as LookPath's eaccess: it also refuses a file on a noexec mount.
        executable = os.access(candidate, os.X_OK)
        entry = {'path': candidate, 'realpath': real, 'from': origin, 'executable': executable,
                 'selected': executable and not any(f['selected'] for f in found)}
        if not executable:
            entry['not_executable'] = not_executable(candidate)
        found.append(entry)
    return found


def _mount_point(path):
    path = os.path.realpath(path)
    while not os.path.ismount(path):
        path = os.path.dirname(path)
    return path


def not_executable(path):
    """Why this process may not execute the file ``path``, and the fix:
    ``{'why', 'fix'}`` (sentences without a final stop)."""
    try:
        st = os.stat(path)
        noexec = bool(os.statvfs(path).f_flag & os.ST_NOEXEC)
    except OSError as exc:
        return {'why': 'it cannot be examined (%s)' % exc.strerror, 'fix': 'make %s a readable, executable file' % path}
    mode = st.st_mode & 0o7777
    if not mode & 0o111:
        return {'why': 'its mode %04o has no execute bit' % mode, 'fix': 'make it executable: chmod +x %s' % path}
    if noexec:
        mount = _mount_point(path)
        return {'why': 'it is on %s, which is mounted noexec' % mount,
                'fix': ('remount %s without noexec (mount -o remount,exec %s, and in /etc/fstab), or install criu on '
                        'a filesystem mounted with exec' % (mount, mount))}
    return {'why': 'uid %d may not execute it (mode %04o, owner uid %d)' % (os.geteuid(), mode, st.st_uid),
            'fix': 'gather the facts as root (become: true), or give uid %d execute permission on %s'
                   % (os.geteuid(), path)}


# --------------------------------------------------------------------------
# parse(): criu's output -> verdict and messages (pure)

def parse(rc, stdout, stderr, timed_out=False, error=None):
    """criu check's exit code and output -> ``{'verdict', 'rc', 'messages', 'raw_messages'}``.

    ``verdict`` is one of VERDICTS: criu's three outcomes (good, good_but,
    bad), ``blocked`` (refused for privileges, criu/crtools.c check_caps()),
    ``cannot_start`` (stopped before any check, e.g. kerndat_init() failed),
    ``timeout`` and ``not_run`` (``error`` says why it could not be run).
    ``raw_messages`` are criu's lines as printed (stderr first, as the
    log comes before the summary, then stdout; repeated lines once), the
    summary lines left out; ``messages`` the same without the
    ``Error (file:line): `` prefixes and without lines about its cache.
    """
    stdout = stdout or ''
    stderr = stderr or ''
    raw = []
    for line in stderr.splitlines() + stdout.splitlines():
        line = line.strip()
        if line and not _SUMMARY.match(line) and line not in raw:
            raw.append(line)
    clean = []
    for line in raw:
        text = _PREFIX.sub('', line).rstrip(': ').strip() if _PREFIX.match(line) else line.rstrip(': ').strip()
        if text and not any(n.search(text) for n in _NOISE) and text not in clean:
            clean.append(text)
    both = stdout + '\n' + stderr
    if error is not None:
        verdict = NOT_RUN
        clean = [error] + clean
        raw = [error] + raw
    elif timed_out:
        verdict = TIMEOUT
    elif _LOOKS_GOOD.search(stdout):
        verdict = GOOD
    elif _LOOKS_GOOD_BUT.search(stdout):
        verdict = GOOD_BUT
    elif _NOT_GOOD in both:
        verdict = BAD
    elif any(b in both for b in _BLOCKERS):
        verdict = BLOCKED
    else:
        verdict = CANNOT_START
        if rc is not None and rc < 0:
            line = 'criu was killed by signal %d (%s)' % (-rc, signal_name(-rc))
            clean.append(line)
            raw.append(line)
    return {'verdict': verdict, 'rc': rc, 'messages': clean, 'raw_messages': raw}


def parse_version(text):
    """``criu --version`` -> (version, gitid); None for what it does not print."""
    version = re.search(r'^Version:\s*(\S+)', text or '', re.M)
    gitid = re.search(r'^GitID:\s*(\S+)', text or '', re.M)
    return (version.group(1) if version else None), (gitid.group(1) if gitid else None)


# --------------------------------------------------------------------------
# check(): run the installed criu (forks; call it in a worker)

def environ(path):
    env = dict(os.environ)
    # criu's messages carry strerror() text: keep them in English for parse().
    env['LC_ALL'] = 'C'
    env.pop('LANGUAGE', None)
    # criu runs iptables, ip and friends (kerndat preload): as a runtime would.
    if path is not None:
        env['PATH'] = path
    return env


# How long the output of a killed criu is read for once nothing else holds
# its pipes: what it wrote is in them already.  Short: in an engine job it
# comes out of the margin the job keeps to report.
DRAIN_SECONDS = 0.1


def _pipe_holders(proc):
    """The processes, other than this one, that hold ``proc``'s stdout or
    stderr pipe: only what argv started can (the read ends are close-on-exec).
    None found where /proc does not show this pid namespace."""
    pipes = set()
    for stream in (proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            pipes.add('pipe:[%d]' % os.fstat(stream.fileno()).st_ino)
    holders = []
    if proc_of_other_pid_namespace() is not False:
        # /proc's pids are not this namespace's (or unknown): kill() by them could reach another process.
        return holders
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            fds = os.listdir('/proc/%s/fd' % pid)
            if any(os.readlink('/proc/%s/fd/%s' % (pid, fd)) in pipes for fd in fds):
                holders.append(int(pid))
        except OSError:
            continue   # gone meanwhile, or not ours to read (then not started by argv either)
    return holders


def _drain(proc):
    """The output of a killed ``proc``, read for a bounded time.  What argv
    started and still holds its pipes (in its process group, or one that
    left it with setsid) would keep the read from ever ending: it is killed
    first, as nothing argv started may outlive it; the pipes are closed if
    something still holds them after DRAIN_SECONDS."""
    import signal
    import subprocess
    for pid in _pipe_holders(proc):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    try:
        return proc.communicate(timeout=DRAIN_SECONDS)
    except subprocess.TimeoutExpired as exc:
        # What was read so far (communicate() keeps it across calls).
        out, err = exc.output or b'', exc.stderr or b''
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
    try:
        proc.wait(timeout=DRAIN_SECONDS)
    except subprocess.TimeoutExpired:
        pass   # still in the kernel after SIGKILL: it dies with this process (PR_SET_PDEATHSIG)
    return out, err


def _run(argv, env, timeout, preexec=None, cwd='/'):
    """Run argv in its own session; kill its whole process group on timeout.
    In an engine worker it stays in the worker's process group instead,
    which the engine kills when the job ends or overruns and the worker
    when its parent dies: only argv is killed on timeout, and whatever it
    started dies with that group.  After the kill its output is read for a
    bounded time (``_drain()``), whatever holds the pipes open.

    Returns ``(rc, stdout, stderr, timed_out, error)``; rc is -N when killed
    by signal N; ``error`` (a sentence) when it could not be started.
    """
    import signal
    import subprocess
    # Imported here, not in the child between fork and exec.
    from ansible_collections.criu.check.plugins.module_utils import _child, _syscall
    own_session = not _child.in_worker

    def child_setup():
        # Dies with whoever started it (the worker), like every child here.
        _syscall.prctl(_syscall.PR_SET_PDEATHSIG, signal.SIGKILL)
        if preexec is not None:
            preexec()

    try:
        # AnsibleModule.run_command has no timeout, no process group and no
        # pre-exec hook, and this runs in a forked worker without a module.
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(argv, stdin=_child.null_stdin(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                cwd=cwd, env=env, close_fds=True, start_new_session=own_session,
                                preexec_fn=child_setup)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, '', '', False, 'cannot run %s: %s' % (argv[0], exc)
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        try:
            if own_session:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except OSError:
            pass
        out, err = _drain(proc)
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'), timed_out, None


MS_NOSUID = 0x2
MS_NODEV = 0x4


def _private_run_setup(report):
    """What the child runs before exec: a private mount namespace with an
    empty /run.  When a step is refused (nothing outside the child changed
    then) it writes why to the file descriptor ``report`` and raises: all
    subprocess tells of an exception in the child is "Exception occurred in
    preexec_fn.", and a failed exec after a namespace that was made must not
    be taken for its refusal."""
    import ctypes
    libc = _syscall.LIBC

    def setup():
        try:
            _private_run(ctypes, libc)
        except Exception as exc:  # UnsupportedArch too; raised again below
            os.write(report, str(exc).encode('utf-8', 'replace')[:4000] or b'refused')
            raise
    return setup


def _private_run(ctypes, libc):
    why = _syscall.private_mount_namespace()
    if why:
        raise OSError(why)
    if libc.mount(b'tmpfs', b'/run', b'tmpfs', ctypes.c_ulong(MS_NOSUID | MS_NODEV), b'mode=755') != 0:
        raise OSError('mounting a tmpfs on /run: %s' % os.strerror(ctypes.get_errno()))


def _can_isolate(euid, cap_eff):
    """Whether criu can run as root in a private mount namespace without that
    changing its answer: root with CAP_SYS_ADMIN over its own mount namespace.
    Returns (bool, why not)."""
    if euid != 0:
        return False, 'criu runs as non-root, which requires --unprivileged'
    if not _caps.has(cap_eff, _caps.CAP_SYS_ADMIN):
        return False, 'no CAP_SYS_ADMIN for a private mount namespace'
    if owns_mount_namespace() is False:
        return False, ('this user namespace does not own its mount namespace, where criu without --unprivileged '
                       'cannot make its start-up mount')
    if not os.path.isdir('/run'):
        return False, 'there is no /run to mount a private tmpfs on'
    return True, None


def own_caps():
    """This process's effective capabilities; none when they cannot be read
    (criu then runs as it can without them)."""
    try:
        return effective_caps()
    except (EngineError, ValueError):
        return 0


def _os_release():
    fields = _deps.os_release()
    return {'id': fields.get('ID'), 'version_id': fields.get('VERSION_ID'), 'name': fields.get('PRETTY_NAME')}


def check(ctx=None, timeout=None, path=None, binaries=None):
    """Run the installed criu once; return a JSON-able dict (never raises for
    a missing criu, a refused namespace or a hung criu).

    ctx       anything with ``unprivileged`` and ``euid`` (ProbeContext, the
              engine's job context); None: privileged mode, this process's euid.
              ``ctx.timeout`` bounds the whole call when ``timeout`` is None.
    timeout   seconds for the whole call (DEFAULT_TIMEOUT when neither is given).
    path      the PATH to search and to give criu (default ``$PATH``).
    binaries  the result of ``find()`` when the caller already has it.

    Returns::

        {'binaries': [{'path', 'realpath', 'from', 'selected', 'executable', 'version', 'gitid', 'error'}],
         'path': '/usr/sbin/criu' or None, 'version': '3.17.1' or None, 'gitid': None,
         'kernel': {'release', 'arch', and each KERNEL_BEHAVIOUR: True | False | None},
         'os': {'id', 'version_id', 'name'},
         'check': None when there is no criu, else
                  {'argv': [...], 'rc', 'verdict', 'messages', 'raw_messages', 'stdout', 'stderr',
                   'duration_ms', 'unprivileged': bool, 'isolation': 'mount_namespace' | 'xdg_runtime_dir' | 'none',
                   'isolation_note': why criu ran as it did}}
    """
    import platform
    start = time.monotonic()
    if timeout is None:
        timeout = _bound(ctx)
    deadline = start + float(timeout)
    uname = platform.uname()
    raw = {'binaries': [], 'path': None, 'version': None, 'gitid': None,
           'kernel': dict(kernel_behaviour(), release=uname.release, arch=uname.machine), 'os': _os_release(),
           'check': None}
    if binaries is None:
        binaries = find(path)
    env = environ(path)
    for binary in binaries:
        if not binary.get('executable', True):
            raw['binaries'].append(dict(binary, version=None, gitid=None, error='not executable'))
            continue
        # --version answers at once, but a first run on a slow machine (a freshly booted VM under
        # emulation) may take seconds; a binary that hangs must still leave time for the check.
        version, gitid, error = read_version(binary['path'], env, max(0.1, (deadline - time.monotonic()) / 2))
        raw['binaries'].append(dict(binary, version=version, gitid=gitid, error=error))
    selected = [b for b in raw['binaries'] if b['selected']]
    if not selected:
        return raw
    criu = selected[0]
    raw['path'], raw['version'], raw['gitid'] = criu['path'], criu['version'], criu['gitid']

    run = run_isolated([criu['path'], 'check'], env, deadline, unprivileged=bool(getattr(ctx, 'unprivileged', False)),
                       euid=getattr(ctx, 'euid', None), cap_eff=getattr(ctx, 'cap_eff', None),
                       tmpdir=getattr(ctx, 'scratch', None))
    rc, out, err, timed_out, error = run['result']
    parsed = parse(rc, out, err, timed_out=timed_out, error=error)
    if timed_out:
        parsed['messages'].append('criu check did not finish within %.1f s' % timeout)
    parsed.update({'argv': run['argv'], 'stdout': out[-4000:], 'stderr': err[-4000:],
                   'duration_ms': round((time.monotonic() - start) * 1000, 1),
                   'unprivileged': run['unprivileged'], 'isolation': run['isolation'], 'isolation_note': run['note']})
    raw['check'] = parsed
    return raw


def _bound(ctx):
    """Seconds the whole check may take.  In an engine job: what is left of
    the job's time (ProbeContext.left(), which keeps back a margin), so
    that criu is killed and its directory removed, and the job reports
    ``timeout``, before the engine kills the worker.  Called directly: a
    tenth less than the context's timeout, at least 0.5 s."""
    if getattr(ctx, 'deadline', None) is not None:
        return ctx.left()
    timeout = getattr(ctx, 'timeout', None) or DEFAULT_TIMEOUT
    return max(0.5, float(timeout) * 0.9)


def read_version(criu, env, timeout):
    """Run ``criu --version`` (bounded by ``timeout`` seconds); return
    ``(version, gitid, error)``: ``error`` says why there is no version."""
    rc, out, err, timed_out, error = _run([criu, '--version'], env, timeout)
    version, gitid = parse_version(out)
    if error is None and (timed_out or rc != 0 or version is None):
        error = ('did not answer within %.1f s' % timeout if timed_out else
                 ((err or out).strip()[-300:] or 'exit code %s' % rc))
    return version, gitid, error


def _left(deadline):
    """The seconds left until ``deadline``: criu gets no more than the
    caller's timeout, however small."""
    return max(0.0, deadline - time.monotonic())


def run_isolated(argv, env, deadline, unprivileged=False, euid=None, cap_eff=None, tmpdir=None):
    """Run the installed criu (``argv``) so that nothing it does outlives it,
    by ``deadline`` (time.monotonic()): as root in a private mount namespace
    with an empty tmpfs on /run where it can, so that it answers as root does
    and its kdat cache goes with the namespace; else with --unprivileged and
    its cache in a private XDG_RUNTIME_DIR, removed afterwards (made in
    ``tmpdir`` when given: the engine's, which it removes even when the job
    is killed).

    Returns ``{'argv': what ran, 'result': (rc, stdout, stderr, timed_out,
    error) as _run(), 'unprivileged': bool, 'isolation': 'mount_namespace' |
    'xdg_runtime_dir' | 'none', 'note': why it ran so}``.
    """
    euid = os.geteuid() if euid is None else euid
    cap_eff = own_caps() if cap_eff is None else cap_eff
    result = None
    isolate, why_not = (False, None) if unprivileged else _can_isolate(euid, cap_eff)
    if isolate:
        isolation, note = 'mount_namespace', 'run as root in a private mount namespace with an empty tmpfs on /run'
        # Non-inheritable: criu never holds it, so it reads as EOF once criu has started or its child died.
        rfd, wfd = os.pipe()
        try:
            result = _run(argv, env, _left(deadline), preexec=_private_run_setup(wfd))
        finally:
            os.close(wfd)
            refused = os.read(rfd, 4096).decode('utf-8', 'replace')
            os.close(rfd)
        if refused:
            note = 'the private mount namespace was refused (%s), so criu ran with --unprivileged' % refused
            result = None
    else:
        note = '--unprivileged was asked for' if unprivileged else '%s, so criu ran with --unprivileged' % why_not
    if result is None:
        argv = argv + ['--unprivileged']
        isolation, result, extra = _run_unprivileged(argv, env, deadline, tmpdir)
        note = '%s; %s' % (note, extra)
        unprivileged = True
    return {'argv': argv, 'result': result, 'unprivileged': unprivileged, 'isolation': isolation, 'note': note}


def _run_unprivileged(argv, env, deadline, tmpdir=None):
    """criu check --unprivileged with its cache in a private directory."""
    import shutil
    import tempfile
    env = dict(env)
    try:
        runtime_dir = tempfile.mkdtemp(prefix='criu-check-kdat.', dir=tmpdir)
    except (IOError, OSError) as exc:
        # Without XDG_RUNTIME_DIR criu saves no cache at all (criu/kerndat.c
        # get_kdat_cache_path()): nothing is left behind either.
        env.pop('XDG_RUNTIME_DIR', None)
        result = _run(argv, env, _left(deadline))
        return 'none', result, 'no private directory for its cache (%s), so XDG_RUNTIME_DIR was unset' % exc
    try:
        env['XDG_RUNTIME_DIR'] = runtime_dir
        result = _run(argv, env, _left(deadline))
    finally:
        shutil.rmtree(runtime_dir, ignore_errors=True)
    return 'xdg_runtime_dir', result, 'its cache went to a private XDG_RUNTIME_DIR, removed afterwards'


def job(ctx):
    """The engine job: ``check(ctx)``, JSON-able, run in a forked worker.
    A criu refused a process (EAGAIN: "fork: Resource temporarily
    unavailable") may have been short of the ones the probes' workers held:
    the engine runs it again alone (SHORT_OF_PROCESSES)."""
    raw = check(ctx)
    if refused_a_process((raw['check'] or {}).get('messages') or ()):
        raw[SHORT_OF_PROCESSES] = True
    return raw


def refused_a_process(messages):
    """Whether criu's ``messages`` say the kernel refused it a process."""
    return any(NO_PROCESS_LINE.search(m) for m in messages)


# --------------------------------------------------------------------------
# describe(): the facts (pure)

def version_tuple(text):
    """``'4.1.1'`` -> ``(4, 1, 1)``, ``'4.2'`` -> ``(4, 2, 0)``: the first dotted numbers, three of
    them, so that 4.2 and 4.2.0 are equal; ``'4.2-rc1'`` -> ``(4, 2, 0)``, not 4.2.1.  None without one."""
    match = re.search(r'(\d+)(?:\.(\d+))?(?:\.(\d+))?', text or '')
    return tuple(int(g or 0) for g in match.groups()) if match else None


def _older(version, than):
    mine = version_tuple(version)
    return mine is not None and mine < version_tuple(than)


def too_old_cause(messages, version):
    """The TOO_OLD entry criu's messages show, when its version predates the fix."""
    for cause in TOO_OLD:
        if any(cause['match'] in m for m in messages):
            if version is None or _older(version, cause['fixed_in']):
                return cause
    return None


def _quote(raw_messages, first=False):
    """The message that says most, without its prefix.

    A known too-old signature wins.  Otherwise the last error that is not a
    wrapper: criu logs non-fatal errors on its way (a missing /dev/net/tun)
    and the one that stopped it comes last, just before kerndat_init()'s or
    cr_check()'s own closing lines.  ``first``: the first line instead (what
    check_caps() prints on stdout, without a prefix).
    """
    texts = []
    for line in raw_messages:
        text = _PREFIX.sub('', line).rstrip(': ').strip()
        if text and not any(n.search(text) for n in _NOISE):
            texts.append((line.startswith('Error'), text))
    for dummy, text in texts:
        if any(cause['match'] in text for cause in TOO_OLD):
            return text
    specific = [(is_error, text) for is_error, text in texts if not _GENERIC.match(text)]
    if first and specific:
        return specific[0][1]
    for index, (dummy, text) in enumerate(texts):
        if _KERNDAT_STEP_FAILED.match(text):
            # kerndat_init() names the failed step right after the step's own error; what it
            # logs after that (its steps that never fail, on a /proc without /proc/sys) is not why.
            before = [t for is_error, t in texts[:index] if is_error and not _GENERIC.match(t)]
            if before:
                return before[-1]
            break
    errors = [text for is_error, text in specific if is_error]
    if errors:
        return errors[-1]
    if specific:
        return specific[-1][1]
    return texts[-1][1] if texts else None


def _distro(raw):
    os_release = raw.get('os') or {}
    name = {'debian': 'Debian', 'ubuntu': 'Ubuntu'}.get(os_release.get('id'))
    version = (os_release.get('version_id') or '').split('.')[0]
    return '%s-%s' % (name, version) if name and version else None


def _newer_criu_fix(raw, cause):
    """Where to get a criu release that has the fix for ``cause``."""
    want = cause['fixed_in']
    newer = NEWER_SUITES.get(_distro(raw) or '')
    if newer and not _older(newer['version'], want):
        return ('install criu %s or newer: %s, with the criu.check.install role and '
                'criu_install_apt_suite: %s (it takes criu and only what criu needs from %s, pinned), '
                'or from %s' % (want, newer['what'], newer['suite'], newer['suite'], UPSTREAM))
    kernel = ('a kernel older than %s' % cause['kernel_before'] if cause.get('kernel_before') else
              'a kernel that criu %s supports' % (raw.get('version') or 'as installed'))
    return 'install criu %s or newer (%s), or boot %s' % (want, UPSTREAM, kernel)


def cannot_dump(raw):
    """What the installed criu of ``raw`` (check()'s dict) cannot dump on
    this kernel, though it starts and passes its check (CANNOT_DUMP): a
    list of ``{'id', 'what', 'why', 'reason', 'fix', 'ref'}``, empty where
    nothing is known (a criu of unknown version, a behaviour not told)."""
    kernel = raw.get('kernel') or {}
    who = 'criu %s (%s)' % (raw.get('version'), raw.get('path'))
    out = []
    for limit in CANNOT_DUMP:
        if kernel.get(limit['kernel']) and _older(raw.get('version'), limit['fixed_in']):
            out.append({'id': limit['id'], 'what': limit['what'], 'why': limit['why'], 'ref': limit['ref'],
                        'reason': '%s cannot dump %s on kernel %s: %s; its dump stops with "%s".' % (
                            who, limit['what'], kernel.get('release') or 'here', limit['why'], limit['says']),
                        'fix': _sentence('%s; see %s' % (_newer_criu_fix(raw, limit), limit['ref']))})
    return out


# What the dumps of CANNOT_DUMP stop with, without criu's prefix: _smoke's advice on a failed dump.
CANNOT_DUMP_SAYS = re.compile('|'.join(re.escape(limit['says'].split(': ', 1)[1]) for limit in CANNOT_DUMP))


def cannot_dump_advice(said, criu):
    """What to do about a dump by ``criu`` that stopped with ``said`` (what
    CANNOT_DUMP_SAYS matched); None when that criu has the fix (it stopped
    so for another reason)."""
    limit = [entry for entry in CANNOT_DUMP if said in entry['says']][0]
    version = read_version(criu, environ(None), DEFAULT_TIMEOUT)[0]
    if version is not None and not _older(version, limit['fixed_in']):
        return None
    fix = _newer_criu_fix({'version': version, 'os': _os_release()}, limit)
    return 'criu %s cannot dump %s on this kernel: %s; %s (%s)' % (
        version or 'of unknown version', limit['what'], limit['why'], fix, limit['ref'])


def describe(raw, probe_facts=None, blocker_fix=None):
    """The ``criu_facts.criu`` facts from ``check()``'s dict and the probes' facts.

    ``probe_facts``: at least ``{'verdict': good | good_but | bad | undecided}``;
    ``missing.required`` (probe ids) sharpens the classification of a
    disagreement.  None or {} when the probes did not run.  ``blocker_fix``:
    the fix of a start blocker of these facts (_decide.start_blocker_fix()
    with their probes and environment), for the one criu stopped at; passed
    in (see the verdict names); without it such a fix is None.

    Returns::

        {'installed': bool, 'executable': bool (False: installed, but none can be executed),
         'path', 'version', 'gitid', 'binaries': [{'path', 'version', 'selected', 'executable'}],
         'starts': True | False | None (not known: not run, timed out),
         'check': {'verdict', 'rc', 'messages', 'unprivileged', 'isolation'} or None,
         'usable': bool, 'reason': one sentence or None, 'fix': one sentence or None,
         'agrees': True | False | None (nothing to compare),
         'disagreements': [{'criu', 'probes', 'kind', 'explanation'}],
         'cannot_dump': cannot_dump() where criu starts, else []}

    ``kind`` is criu_too_old (criu stops on this kernel; a newer criu fixes it),
    criu_bug (criu passes a check it is known to pass wrongly), ours (the
    probes and criu differ and criu is taken as right until shown otherwise),
    environment (criu cannot start in this context: privileges, namespaces),
    broken_install (criu's own files are missing).
    """
    if not isinstance(raw, dict):
        raise TypeError('describe() needs the dict check() returns, not %r' % type(raw).__name__)
    probe_facts = probe_facts or {}
    probe_verdict = probe_facts.get('verdict')
    if probe_verdict is not None and probe_verdict not in PROBE_VERDICTS:
        raise ValueError('probe_facts verdict %r is not one of %s' % (probe_verdict, ', '.join(PROBE_VERDICTS)))
    binaries = [{'path': b['path'], 'version': b.get('version'), 'selected': bool(b.get('selected')),
                 'executable': b.get('executable', True)}
                for b in raw.get('binaries') or []]
    facts = {'installed': bool(binaries), 'executable': any(b['selected'] for b in binaries),
             'path': raw.get('path'), 'version': raw.get('version'),
             'gitid': raw.get('gitid'), 'binaries': binaries, 'starts': None, 'check': None, 'usable': False,
             'reason': None, 'fix': None, 'agrees': None, 'disagreements': [], 'cannot_dump': []}
    if not binaries:
        facts['reason'] = ('criu is not installed: no criu on PATH nor in %s.' % ', '.join(SBIN_DIRS))
        facts['fix'] = 'Install criu, for example with the criu.check.install role.'
        return facts
    if not facts['executable']:
        # Present, but neither a shell nor a runtime (exec.LookPath) can run it:
        # installing criu again would not help, making it executable does.
        first = [b for b in raw['binaries'] if not b.get('executable', True)][0]
        why = first.get('not_executable') or not_executable(first['path'])
        facts['reason'] = ('criu is installed at %s but cannot be executed: %s, so runtimes, which run the first '
                           'executable criu on PATH, find none.' % (first['path'], why['why']))
        facts['fix'] = _sentence(why['fix'])
        return facts
    check_ = raw.get('check') or parse(None, '', '', error='criu check was not run')
    verdict = check_['verdict']
    if verdict not in VERDICTS:
        raise ValueError('check verdict %r is not one of %s' % (verdict, ', '.join(VERDICTS)))
    messages = check_.get('messages') or []
    facts['check'] = {'verdict': verdict, 'rc': check_.get('rc'), 'messages': messages,
                      'raw_messages': check_.get('raw_messages') or [],
                      'unprivileged': check_.get('unprivileged'), 'isolation': check_.get('isolation')}
    facts['starts'] = {GOOD: True, GOOD_BUT: True, BAD: True, BLOCKED: False, CANNOT_START: False}.get(verdict)
    facts['usable'] = verdict in (GOOD, GOOD_BUT)
    if facts['starts']:
        facts['cannot_dump'] = cannot_dump(raw)

    who = 'criu %s (%s)' % (raw.get('version') or 'of unknown version', raw.get('path'))
    kernel = (raw.get('kernel') or {}).get('release') or 'this kernel'
    raw_messages = check_.get('raw_messages') or messages
    quote = _quote(raw_messages, first=verdict == BLOCKED)
    cause = too_old_cause(messages, raw.get('version')) if verdict == CANNOT_START else None
    broken = verdict == CANNOT_START and any('error while loading shared libraries' in m for m in messages)
    if verdict == CANNOT_START and cause:
        facts['reason'] = ('%s cannot start on kernel %s: it stops in its start-up with "%s" (%s).'
                           % (who, kernel, quote, cause['why']))
        facts['fix'] = _sentence('%s; see %s' % (_newer_criu_fix(raw, cause), cause['ref']))
    elif broken:
        facts['reason'] = '%s cannot run: "%s".' % (who, quote)
        facts['fix'] = "Reinstall criu's package: shared libraries it needs are missing."
    elif verdict == CANNOT_START and KILLED_BY_FILE_SIZE in messages:
        facts['reason'] = ('%s was killed by SIGXFSZ in its start-up: the file size limit it runs with (RLIMIT_FSIZE, '
                           '%s) is below the size of a file it writes (its kdat cache; at dump, every image).'
                           % (who, soft_limit('FSIZE', ' bytes')))
        facts['fix'] = _sentence(FILE_SIZE_FIX)
    elif verdict in (CANNOT_START, BAD) and refused_a_process(messages):
        facts['reason'] = ('%s was refused a process %s: "%s"; the process limit it runs under (RLIMIT_NPROC %s, '
                           'or a pids cgroup\'s pids.max) leaves it none.'
                           % (who, 'in its start-up' if verdict == CANNOT_START else 'by its check',
                              [m for m in messages if NO_PROCESS_LINE.search(m)][-1], soft_limit('NPROC')))
        facts['fix'] = _sentence(PROCESS_LIMIT_FIX)
    elif verdict == CANNOT_START:
        facts['reason'] = ('%s stops in its start-up here, before any check: "%s".' % (who, quote or 'no message'))
        fix = (_fix_of_probe_that_says(quote, probe_facts)
               or _fix_of_blocker_at_step(check_.get('raw_messages') or messages, probe_facts, blocker_fix))
        if fix:
            facts['fix'] = _sentence(fix)
        elif _environmental(messages):
            facts['fix'] = ('Run criu where it may do what its start-up needs (root with CAP_SYS_ADMIN, outside a '
                            'user namespace or restricted container), or with --unprivileged.')
    elif verdict == BLOCKED:
        facts['reason'] = '%s refuses to run in this context: "%s".' % (who, quote)
        if blocker_fix is not None:
            # The same words as the start blocker the facts find (criu stops there), with this criu's path.
            facts['fix'] = _sentence(blocker_fix(quote).replace(CRIU_BINARY, raw.get('path') or 'criu'))
    elif verdict == BAD:
        facts['reason'] = '%s fails its own check here: "%s" (Does not look good.).' % (who, quote)
        facts['fix'] = 'See the missing required features of the probes (criu_facts.missing.required) and their fixes.'
    elif verdict == TIMEOUT:
        facts['reason'] = '%s did not finish its check in time.' % who
    elif verdict == NOT_RUN:
        facts['reason'] = '%s could not be run: %s.' % (who, (quote or 'no reason given').rstrip('.'))
        blockers = (probe_facts.get('environment') or {}).get('criu_start_blockers') or []
        if blocker_fix is not None and blockers and os.strerror(errno.EPERM) in (quote or ''):
            # The kernel refused to run it (execve()): the environment's reason, first, says why.
            facts['fix'] = _sentence(blocker_fix(blockers[0]))
    probes_unprivileged = (probe_facts.get('environment') or {}).get('unprivileged')
    if probe_facts and probes_unprivileged is not None and bool(check_.get('unprivileged')) != probes_unprivileged:
        # criu ran in the other mode (--unprivileged where it could not run as
        # root here, or the reverse): its verdict answers another question.
        facts['agrees_note'] = ('criu ran %s --unprivileged and the probes %s: nothing to compare'
                                % ('with' if check_.get('unprivileged') else 'without',
                                   'with it' if probes_unprivileged else 'without it'))
        return facts
    _agreement(facts, verdict, probe_verdict, probe_facts, cause, broken, messages, quote, check_)
    return facts


def _sentence(text):
    return '%s%s.' % (text[0].upper(), text[1:])


# What differs between criu's line and a probe's for the same failure: the six characters mkdtemp() picks in
# criu's directory names (the probes write criu's template, XXXXXX), the pid in a /proc path, and the LOG_PREFIX
# of criu's source file ("net: ", "vdso: "), which the probes' messages leave out.
_RUN_SPECIFIC = ((re.compile(r'(/\.criu\.[\w.-]+\.)[A-Za-z0-9]{6}\b'), r'\1XXXXXX'),
                 (re.compile(r"(Can't open )-?\d+/"), r'\1PID/'),
                 (re.compile(r'^[a-z]+: (?=[A-Z])'), ''))


def _same_failure(text):
    for pattern, replacement in _RUN_SPECIFIC:
        text = pattern.sub(replacement, text)
    return text


def _fix_of_probe_that_says(quote, probe_facts):
    """The fix of the probe whose message is criu's own stop, or None: a probe
    that made the same call as criu's start-up and failed the same way (a
    /tmp criu cannot write) knows the cause better than the general advice."""
    said = _same_failure(quote or '')
    for entry in (probe_facts.get('probes') or {}).values():
        if isinstance(entry, dict) and entry.get('fix') and _same_failure(entry.get('message') or '') == said:
            return entry['fix']
    return None


def _fix_of_blocker_at_step(raw_messages, probe_facts, blocker_fix):
    """The fix of the start blocker that the environment found at the kerndat
    step criu names as the one that stopped it ("X failed when initializing
    kerndat."), or None: a step _kerndat mirrors says its criu function."""
    matches = (_KERNDAT_STEP_FAILED.match(_PREFIX.sub('', line)) for line in raw_messages)
    step = next((match.group(1) for match in matches if match), None)
    if blocker_fix is None or step is None:
        return None
    source = '%s%s())' % (KERNDAT_STEP_SOURCE, step)
    for blocker in (probe_facts.get('environment') or {}).get('criu_start_blockers') or []:
        if source in blocker:
            return blocker_fix(blocker)
    return None


def _environmental(messages):
    return refused_a_process(messages) or any(
        ('Operation not permitted' in m or 'Permission denied' in m or 'Read-only file system' in m
         or m == KILLED_BY_FILE_SIZE) for m in messages)


def soft_limit(name, unit=''):
    """This process's soft resource limit ``name`` (``'FSIZE'``: RLIMIT_FSIZE),
    which the criu it runs inherits, as text: ``unlimited``, or the number
    followed by ``unit``.  (Root is not held to RLIMIT_NPROC.)"""
    import resource
    soft = resource.getrlimit(getattr(resource, 'RLIMIT_' + name))[0]
    return 'unlimited' if soft == resource.RLIM_INFINITY else '%d%s' % (soft, unit)


def _passes(verdict):
    return verdict in (GOOD, GOOD_BUT)


def _agreement(facts, verdict, probe_verdict, probe_facts, cause, broken, messages, quote, check_):
    """Compare criu's verdict with the probes'.

    Plain ``criu check`` runs only the required checks (and ignores the
    optional one), so it says good or bad: it agrees with the probes when
    both pass (good or good_but) or both fail.  ``undecided`` probes, and a
    criu that refused for privileges, timed out or was not run, give nothing
    to compare: agrees is None.
    """
    if probe_verdict is None or probe_verdict == UNDECIDED or verdict in (BLOCKED, TIMEOUT, NOT_RUN):
        return
    whole = '--extra' in (check_.get('argv') or []) or '--all' in (check_.get('argv') or [])
    if verdict == CANNOT_START:
        if not _passes(probe_verdict):
            # The kernel fails a required probe anyway; criu stopping earlier says no more.
            facts['agrees'] = True
            return
        if cause:
            kind, text = 'criu_too_old', ('the kernel passes every required probe, but criu %s stops before its '
                                          'checks with "%s": fixed in criu %s' % (facts['version'], quote,
                                                                                  cause['fixed_in']))
        elif broken:
            kind, text = 'broken_install', 'criu could not be loaded: "%s"' % quote
        elif _environmental(messages):
            kind, text = 'environment', ('the kernel passes every required probe, but criu cannot start in this '
                                         'context: "%s"' % quote)
        else:
            kind, text = 'ours', ('the kernel passes every required probe, but criu stops before its checks with '
                                  '"%s", a failure the probes do not model' % quote)
        facts['agrees'] = False
        facts['disagreements'].append({'criu': verdict, 'probes': probe_verdict, 'kind': kind, 'explanation': text})
        return
    if verdict == BAD and refused_a_process(messages) and _passes(probe_verdict):
        facts['agrees'] = False
        facts['disagreements'].append({'criu': verdict, 'probes': probe_verdict, 'kind': 'environment',
                                       'explanation': 'every required probe passes, but criu was refused a process '
                                                      'by its check: "%s"' % quote})
        return
    same = verdict == probe_verdict if whole else _passes(verdict) == _passes(probe_verdict)
    facts['agrees'] = same
    if same:
        return
    missing = list(((probe_facts.get('missing') or {}).get('required')) or [])
    if _passes(verdict) and not _passes(probe_verdict):
        if missing and all(m in CRIU_LENIENT for m in missing):
            kind = 'criu_bug'
            text = ('criu passes, but the probes find %s missing: criu/cr-check.c is known to pass these '
                    'without the kernel feature' % ', '.join(missing))
        else:
            kind = 'ours'
            text = 'criu passes its check, but the probes find %s missing' % (', '.join(missing) or 'a required feature')
    elif not _passes(verdict) and _passes(probe_verdict):
        kind = 'ours'
        text = 'criu fails its check with "%s", but every required probe passes' % quote
    else:
        kind = 'ours'
        text = 'criu says %s, the probes say %s' % (verdict, probe_verdict)
    facts['disagreements'].append({'criu': verdict, 'probes': probe_verdict, 'kind': kind, 'explanation': text})
