# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run probes isolated in forked children, with a timeout each.

PRIVATE to the criu.check collection: not a public API.

Why this shape (costs measured on these machines are in docs/architecture.md):

* A probe may change its own process (ignored signals, a leaked AIO context,
  soft-dirty bits, namespaces), crash, or hang.  So probes never run in the
  caller's process: each runs in a forked worker, and whatever it did dies
  with that worker.  The caller only reads results from pipes.
* One fork per probe would cost more than all of ``criu check --all``.  So
  probes are grouped: probes that leave their process as they found it share
  a worker, grouped by the heavy library they import (pyroute2, ptrace) so
  that each library is imported once; a probe marked ``own_process`` gets a
  worker of its own.  The workers run at the same time, on every core.
* A worker reports each result as one JSON line the moment the probe ends.
  When a worker dies or overruns a probe's timeout, the probe it was running
  becomes ``error`` with the reason, and a fresh worker takes over the probes
  that had not run yet.  So one bad probe never costs the others their answer.
* Every worker leads its own process group and has PR_SET_PDEATHSIG: the
  parent kills the whole group and reaps the worker, always, so nothing a
  probe started outlives the run.
* The user's timeout bounds everything: the worker starts each probe's clock
  (``ProbeContext.begin()``) and every wait inside a probe takes what is left
  (``ProbeContext.left()``).
* Jobs (``run(..., jobs={name: func})``) are other work, such as the installed
  criu's own check, run in workers of their own beside the probes.
* A shortage is an answer, never a traceback: a worker the system refuses
  (no file descriptor, no process) waits for another to end; when none can
  start at all, ``run()`` raises EngineError with the reason.
* Work refused a process while the others ran (a probe's fork, a tool, criu's
  own) is run again once they are done, one worker at a time: criu, one
  process and its children, may have room where all the workers had not
  (a small RLIMIT_NPROC or pids.max).  What it answers then is its answer.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import gc
import json
import os
import signal
import sys
import time
import traceback

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall

# Seconds each probe may take: the modules' and roles' default ``timeout``.
DEFAULT_TIMEOUT = 5.0
# The evidence key of a probe's error, and the key of a job's result, that
# says the system refused it a process: wait() runs that work again, alone.
SHORT_OF_PROCESSES = 'short_of_processes'
# Workers for the probes that import no heavy library (see _groups()).  Two
# measured best on two cores (docs/benchmarks.md): every worker is a fork of
# a process that has imported Ansible, and they compete for the same cores.
DEFAULT_SPREAD = 2


# The longest ``timeout`` a module accepts: a day.  Beyond it (or nan, inf)
# deadlines overflow poll() and int(), or never come.
MAX_TIMEOUT = 86400


def require_positive_timeout(module):
    """Fail the task, naming what is valid, unless the module's ``timeout``
    is a positive number of seconds, at most MAX_TIMEOUT: an argument spec
    has no range.  Every module with a ``timeout`` calls it before it does
    anything."""
    timeout = module.params['timeout']
    if not 0 < timeout <= MAX_TIMEOUT:   # false for nan too
        module.fail_json(msg='timeout must be a positive number of seconds, at most %d (a day), got %s' % (MAX_TIMEOUT, timeout))


class EngineError(Exception):
    """The probes could not run at all: not one worker could be started
    (out of file descriptors, fork refused), or /proc/self/status cannot be
    read.  The message is one sentence with the reason, meant for
    ``module.fail_json(msg=str(exc))``.  Anything narrower (one worker, one
    probe) is a per-probe ``error`` result instead."""


def _groups(probes, spread):
    """Split the probes into worker groups, keeping criu's order inside each.

    Probes that import a heavy library share one worker per library, which
    comes first so that the import starts as early as possible.  Most probes
    spend their time waiting (for a child they fork, a tool they run, an RCU
    grace period), not computing, so the library-free ones are dealt round
    the table over ``spread`` workers that wait side by side: a whole family
    at a time, because a worker imports (and, from Ansible's zip, compiles)
    the family module of every probe it runs, and once is enough.
    Own-process probes each form a group of one.
    """
    by_lib = {}
    plain = []
    alone = []
    for probe in probes:
        if probe.own_process:
            alone.append([probe])
        elif probe.lib:
            by_lib.setdefault(probe.lib, []).append(probe)
        else:
            plain.append(probe)
    seats = {}
    dealt = [[] for dummy in range(spread)]
    for index, probe in enumerate(plain):
        key = getattr(probe, 'family', None) or index
        seat = seats.setdefault(key, len(seats) % spread)
        dealt[seat].append(probe)
    return [by_lib[lib] for lib in sorted(by_lib)] + [g for g in dealt if g] + alone


_FD_ERRORS = ('EMFILE', 'ENFILE', os.strerror(errno.EMFILE), os.strerror(errno.ENFILE))


def _shortage(result, refused):
    """Why a probe's failure was the process's shortage, not the kernel's
    answer (criu under the same limits would share it), or None: no file
    descriptor left, or ``refused``, why a process it started (fork, a
    tool) was refused for want of processes or memory (EAGAIN, ENOMEM)."""
    if refused:
        return ('the probe could not start a process (%s: process limit, pids cgroup or memory): its answer is not '
                'the kernel\'s; raise the limit (ulimit -u, pids.max)' % refused)
    text = json.dumps(result, default=str)
    if any(err in text for err in _FD_ERRORS):
        import resource  # only on this rare path: it is not loaded in a module otherwise
        return ('the probe ran out of file descriptors (open-file limit %d): its answer is not the kernel\'s; '
                'raise the limit (ulimit -n)' % resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    return None


def _run_one(probe, ctx, timeout):
    """Run one probe in the worker; always return a result dict."""
    ctx.begin(timeout)
    start = time.monotonic()
    refused = len(_child.refusals())
    try:
        result = probe.run(ctx)
        if not isinstance(result, dict) or result.get('status') not in R.STATUSES:
            result = R.error('probe returned %r instead of a result' % (result,))
    except _deps.MissingLibrary as exc:
        result = R.unknown(str(exc), evidence={'library': exc.library}, fix=exc.fix)
    except _syscall.UnsupportedArch as exc:
        result = R.unknown(str(exc), evidence={'arch': _syscall.MACHINE})
    except _syscall.NamespaceUnchanged as exc:
        # We refuse to mount or create links in the host's namespaces; criu,
        # which trusts unshare(), would: its answer is not known here.
        result = R.unknown(str(exc), evidence={'failed_step': exc.step})
    except Exception as exc:
        result = R.error('probe raised %s: %s' % (type(exc).__name__, exc),
                         evidence={'traceback': traceback.format_exc().splitlines()[-6:]})
    refusals = _child.refusals()[refused:]
    if result['status'] != R.SUPPORTED:
        reason = _shortage(result, (refusals or [None])[-1])
        if reason:
            result = R.error(reason, evidence=dict({'probe_result': result}, **{SHORT_OF_PROCESSES: bool(refusals)}))
    result['duration_ms'] = round((time.monotonic() - start) * 1000.0, 3)
    return result


def _run_job(name, func, ctx, timeout):
    """Run one job in its worker; always return a JSON-able dict."""
    ctx.begin(timeout)
    refused = len(_child.refusals())
    try:
        result = func(ctx)
    except Exception as exc:
        result = {'error': 'job %s raised %s: %s' % (name, type(exc).__name__, exc)}
    if not isinstance(result, dict):
        result = {'error': 'job %s returned %r instead of a dict' % (name, result)}
    if _child.refusals()[refused:]:
        result[SHORT_OF_PROCESSES] = True
    return result


def _end_group(signum, frame):
    """A worker's SIGTERM, which it also gets when its parent dies: remove
    the jobs' scratch directory (the parent can no longer) and kill the
    worker's whole process group, itself and every tool, criu and child it
    started, so that none outlives the module, even one SIGKILLed."""
    if getattr(_ctx_of_worker[0], 'scratch', None):
        import shutil
        shutil.rmtree(_ctx_of_worker[0].scratch, ignore_errors=True)
    os.killpg(0, signal.SIGKILL)


_ctx_of_worker = [None]


def _worker(work, ctx, wfd, other_fds, parent):
    """Body of a forked worker (run by _child.spawn, which exits with what
    this returns, or with _child.EXIT_EXCEPTION when it raises)."""
    _ctx_of_worker[0] = ctx
    _child.in_worker.append(True)
    _syscall.close_quietly(*other_fds)
    # A caller with closed standard streams gets pipes among fds 0-2: the
    # result pipe moves above them before they are pointed at /dev/null.
    if wfd <= 2:
        wfd = fcntl.fcntl(wfd, fcntl.F_DUPFD_CLOEXEC, 3)
    # The module's stdout carries its JSON result: nothing a probe or a
    # library prints may reach it.
    _child.null_stdio()
    sys.stdout = sys.stderr = open(1, 'w', closefd=False)
    if 'faulthandler' in sys.modules:
        # A crash is reported through the wait status, not a dump to a
        # file descriptor the caller may still be using.
        sys.modules['faulthandler'].disable()
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGCHLD, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    # _child.spawn() made the parent's death SIGKILL this worker, which
    # would leave the tools in its group running: SIGTERM takes them along.
    signal.signal(signal.SIGTERM, _end_group)
    _syscall.prctl(_syscall.PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        _end_group(signal.SIGTERM, None)
    if ctx.unprivileged and ctx.euid != 0:
        # as criu's check_caps() does for non-root --unprivileged
        _syscall.prctl(_syscall.PR_SET_DUMPABLE, 1)
    for key, record in work.run(ctx):
        line = json.dumps({'id': key, 'result': record}, default=str)
        _child.write_all(wfd, (line + '\n').encode('utf-8'))
    return 0


class _Probes:
    """A group of probes for one worker."""

    def __init__(self, group, timeout):
        self.pending = list(group)
        self.timeout = timeout

    def rest(self):
        return _Probes(self.pending[1:], self.timeout)

    def run(self, ctx):
        for probe in self.pending:
            yield probe.id, _run_one(probe, ctx, self.timeout)


class _Job:
    """One named job for one worker."""

    def __init__(self, name, func, timeout):
        self.name = name
        self.func = func
        self.pending = [name]
        self.timeout = timeout

    def run(self, ctx):
        yield self.name, _run_job(self.name, self.func, ctx, self.timeout)


class _Worker:
    def __init__(self, pid, rfd, work):
        self.pid = pid
        self.rfd = rfd
        self.work = work
        self.buffer = b''
        self.since = time.monotonic()


def _exit_on_signal(signum, frame):
    raise SystemExit(128 + signum)


def signal_name(sig):
    """``SIGSEGV`` for 11; the number as text for one Python does not name."""
    try:
        return signal.Signals(sig).name
    except ValueError:
        return str(sig)


def _describe_status(status):
    if status is None:
        return 'ended (its wait status was lost)'
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        return 'killed by signal %d (%s)' % (sig, signal_name(sig))
    if os.WIFEXITED(status):
        return 'exited with status %d' % os.WEXITSTATUS(status)
    return 'ended with wait status %d' % status


def _describe_oserror(exc, step):
    name = errno.errorcode.get(exc.errno, str(exc.errno))
    text = '%s failed: %s (%s)' % (step, os.strerror(exc.errno) if exc.errno else exc, name)
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        text += ': out of file descriptors (raise the open-file limit, ulimit -n)'
    elif exc.errno in (errno.EAGAIN, errno.ENOMEM):
        text += ': the kernel refused a new process (process limit, pids cgroup, or memory)'
    return text


class Engine:
    """Runs a selection of probes, and jobs beside them; use ``run()``."""

    def __init__(self, ctx, timeout=DEFAULT_TIMEOUT, spread=DEFAULT_SPREAD, job_timeout=None):
        self.ctx = ctx
        self.timeout = float(timeout)
        self.job_timeout = self.timeout if job_timeout is None else float(job_timeout)
        self.spread = spread
        self.workers = []
        self.queue = []
        self.probes_started = 0
        self.start_failure = None
        self.results = {}
        self.job_results = {}
        self.probes = []
        self.jobs = {}
        self.frozen = False
        self.trapped = None
        self.scratch = None
        self.one_at_a_time = False

    def _spawn(self, work):
        """Start a worker for ``work``; return None, or why it could not start."""
        try:
            rfd, wfd = os.pipe()
        except OSError as exc:
            return _describe_oserror(exc, 'pipe()')
        others = [w.rfd for w in self.workers]
        parent = os.getpid()
        try:
            pid = _child.spawn(lambda: _worker(work, self.ctx, wfd, others + [rfd], parent), new_group=True)
        except OSError as exc:
            _syscall.close_quietly(rfd, wfd)
            return _describe_oserror(exc, 'fork()')
        os.close(wfd)
        self.workers.append(_Worker(pid, rfd, work))
        if isinstance(work, _Probes):
            self.probes_started += 1
        return None

    def _start_queued(self):
        """Start the waiting work.  When the system refuses a worker (no file
        descriptor, no process left) and others still run, wait for one of
        them to end and try again; when none runs, the waiting work fails
        with the reason."""
        while self.queue and not (self.one_at_a_time and self.workers):
            reason = self._spawn(self.queue[0])
            if reason is None:
                self.queue.pop(0)
                continue
            if self.workers:
                return
            self.start_failure = reason
            for work in self.queue:
                self._fail(work, 'cannot start a probe worker: ' + reason, {}, 0.0, every=True)
            self.queue = []

    def _fail(self, work, reason, evidence, elapsed_ms, every=False):
        for key in (work.pending if every else work.pending[:1]):
            if isinstance(work, _Job):
                self.job_results[key] = {'error': reason}
            else:
                self.results[key.id] = dict(R.error(reason, evidence=evidence), duration_ms=elapsed_ms)

    def _finish(self, worker, reason=None):
        """Stop a worker: kill its process group, reap it, and give the probe
        it was running (if any) an error; respawn for the ones left."""
        self.workers.remove(worker)
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except OSError:
            pass
        status = _child.kill_and_reap(worker.pid)
        os.close(worker.rfd)
        work = worker.work
        if work.pending:
            if reason is None:
                reason = 'the probe process %s before reporting a result' % _describe_status(status)
            elapsed_ms = round((time.monotonic() - worker.since) * 1000.0, 3)
            self._fail(work, reason, {'wait_status': status}, elapsed_ms)
            if isinstance(work, _Probes) and work.pending[1:]:
                self.queue.insert(0, work.rest())
        self._start_queued()

    def _read(self, worker):
        try:
            chunk = os.read(worker.rfd, 65536)
        except OSError as exc:
            if exc.errno == errno.EINTR:
                return
            chunk = b''
        if not chunk:
            self._finish(worker)
            return
        worker.buffer += chunk
        while b'\n' in worker.buffer:
            line, worker.buffer = worker.buffer.split(b'\n', 1)
            record = json.loads(line.decode('utf-8'))
            worker.work.pending.pop(0)
            if isinstance(worker.work, _Job):
                self.job_results[record['id']] = record['result']
            else:
                self.results[record['id']] = record['result']
            worker.since = time.monotonic()
        if not worker.work.pending:
            # All answers are in: do not wait for EOF, which a stray
            # grandchild holding the pipe could delay for ever.
            self._finish(worker)

    def start_jobs(self, jobs):
        """Start the workers for ``jobs`` (``{name: func(ctx)}``) and return
        at once.  A caller may start them before it has loaded the probes:
        they need nothing the probes import, and each is long (a whole criu
        check), so the sooner it starts, the sooner the run ends."""
        self.jobs.update(jobs)
        if getattr(self.ctx, 'scratch', None) is None:
            # The jobs' temporary files (criu's kdat cache) go in a directory
            # this process removes when the run ends: a job killed when it
            # overran cannot remove its own.
            import tempfile
            try:
                self.ctx.scratch = self.scratch = tempfile.mkdtemp(prefix='criu-check-jobs.')
            except (IOError, OSError):
                pass  # no usable temporary directory: the jobs say so themselves
        self._enqueue(_Job(name, jobs[name], self.job_timeout) for name in sorted(jobs))

    def start(self, probes, jobs=None):
        """Start the workers for ``probes`` (registry rows) and ``jobs``
        (see ``start_jobs()``) and return at once: the caller may do its own
        work while they run, then must call ``wait()``."""
        if jobs:
            # Jobs first: they are few and long.
            self.start_jobs(jobs)
        self.probes = list(probes)
        self._enqueue(_Probes(group, self.timeout) for group in _groups(self.probes, self.spread))

    def _enqueue(self, work):
        self.queue.extend(work)
        self._trap_signals()
        if not self.frozen:
            # Until wait() ends, the parent's collections leave alone what the
            # workers share with it (each page they touch is a copy-on-write copy).
            gc.freeze()
            self.frozen = True
        try:
            self._start_queued()
        except BaseException:
            self._stop_all()
            raise

    def wait(self):
        """Wait for every worker started by ``start()``, killing those that
        overrun, then for the work run again alone (SHORT_OF_PROCESSES);
        return ``({probe_id: result}, {job_name: dict})``."""
        try:
            self._wait_workers()
            again = self._short_of_processes()
            if again:
                self.one_at_a_time = True
                self._enqueue(again)
                self._wait_workers()
        finally:
            self._stop_all()
        if self.probes and not self.probes_started:
            raise EngineError('cannot run the probes: %s' % self.start_failure)
        for result in self.job_results.values():
            result.pop(SHORT_OF_PROCESSES, None)
        return (dict((p.id, self.results[p.id]) for p in self.probes),
                dict((name, self.job_results[name]) for name in sorted(self.jobs)))

    def _short_of_processes(self):
        """The work to run again: the probes and jobs the system refused a
        process (SHORT_OF_PROCESSES), in their groups, with one worker for
        every probe that needs no process of its own."""
        probes = [p for p in self.probes if (self.results.get(p.id) or {}).get('evidence', {}).get(SHORT_OF_PROCESSES)]
        jobs = [name for name in sorted(self.jobs) if (self.job_results.get(name) or {}).get(SHORT_OF_PROCESSES)]
        return ([_Job(name, self.jobs[name], self.job_timeout) for name in jobs]
                + [_Probes(group, self.timeout) for group in _groups(probes, 1)])

    def _wait_workers(self):
        """Read the workers' results until every worker has ended, killing
        those that overrun."""
        while self.workers:
            for worker in list(self.workers):
                if self._overran(worker):
                    what = 'job' if isinstance(worker.work, _Job) else 'probe'
                    self._finish(worker, 'the %s did not finish within %s s and was killed'
                                 % (what, worker.work.timeout))
            if not self.workers:
                break
            deadline = min(w.since + w.work.timeout for w in self.workers)
            wait = max(0.0, deadline - time.monotonic())
            readable = _child.readable([w.rfd for w in self.workers], wait)
            for worker in list(self.workers):
                if worker.rfd in readable and worker in self.workers:
                    self._read(worker)

    def _overran(self, worker):
        """Whether the worker's running probe (or job) has overrun its time,
        once what the worker has already written is read: an answer waiting
        in the pipe came in time, however late the parent looks (it may have
        been busy between start() and wait())."""
        while worker in self.workers and worker.work.pending:
            if time.monotonic() - worker.since < worker.work.timeout:
                return False
            if not _child.readable([worker.rfd], 0):
                return True
            self._read(worker)
        return False

    def _trap_signals(self):
        """Until the run ends, SIGTERM and SIGHUP (a task killed, a session
        closed) raise SystemExit in the caller, so that the clean-up of
        ``wait()`` or ``stop()`` kills the workers and what they started."""
        if self.trapped is not None:
            return
        self.trapped = {}
        for sig in (signal.SIGTERM, signal.SIGHUP):
            try:
                self.trapped[sig] = signal.signal(sig, _exit_on_signal)
            except ValueError:
                pass  # not the main thread: the caller's own business

    def stop(self):
        """Stop every worker now, and the work not started: for a caller
        that leaves (an exception) before ``wait()``."""
        self._stop_all()

    def _stop_all(self):
        self.queue = []
        for worker in list(self.workers):
            worker.work.pending = []
            self._finish(worker)
        if self.scratch is not None:
            import shutil
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.ctx.scratch = self.scratch = None
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        for sig, handler in (self.trapped or {}).items():
            signal.signal(sig, handler)
        self.trapped = None

    def run(self, probes, jobs=None):
        """``start()`` then ``wait()``."""
        self.start(probes, jobs)
        return self.wait()


def run(probes, ctx, timeout=DEFAULT_TIMEOUT, spread=DEFAULT_SPREAD, jobs=None, job_timeout=None):
    """Run ``probes`` in isolated workers, each probe within ``timeout``
    seconds; return ``{probe_id: result}``.

    ``jobs``: ``{name: func}``, each ``func(ctx)`` returning a JSON-able
    dict, run in a worker of its own at the same time as the probes, within
    ``job_timeout`` seconds (default: ``timeout``).  With jobs the return
    value is ``(results, job_results)``, ``job_results`` being
    ``{name: dict}``, ``{'error': reason}`` for a job that raised, crashed or
    overran.  Raises EngineError when not one worker could be started.
    """
    results, job_results = Engine(ctx, timeout, spread, job_timeout).run(probes, jobs)
    if jobs is None:
        return results
    return results, job_results
