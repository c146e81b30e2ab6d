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
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import json
import os
import select
import signal
import sys
import time
import traceback

from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall

DEFAULT_TIMEOUT = 5.0
# Workers for the probes that import no heavy library (see _groups()).
DEFAULT_SPREAD = 4

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4


def _groups(probes, spread):
    """Split the probes into worker groups, keeping criu's order inside each.

    Probes that import a heavy library share one worker per library, which
    comes first so that the import starts as early as possible.  Most probes
    spend their time waiting (for a child they fork, a tool they run, an RCU
    grace period), not computing, so the library-free ones are dealt round
    the table over ``spread`` workers that wait side by side.  Own-process
    probes each form a group of one.
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
    dealt = [plain[i::spread] for i in range(spread)]
    return [by_lib[lib] for lib in sorted(by_lib)] + [g for g in dealt if g] + alone


def _run_one(probe, ctx):
    """Run one probe in the worker; always return a result dict."""
    start = time.monotonic()
    try:
        result = probe.func(ctx)
        if not isinstance(result, dict) or result.get('status') not in R.STATUSES:
            result = R.error('probe returned %r instead of a result' % (result,))
    except _deps.MissingLibrary as exc:
        result = R.unknown(str(exc), evidence={'library': exc.library}, fix=exc.fix)
    except _syscall.UnsupportedArch as exc:
        result = R.unknown(str(exc), evidence={'arch': _syscall.MACHINE})
    except Exception as exc:
        result = R.error('probe raised %s: %s' % (type(exc).__name__, exc),
                         evidence={'traceback': traceback.format_exc().splitlines()[-6:]})
    result['duration_ms'] = round((time.monotonic() - start) * 1000.0, 3)
    return result


def _worker(group, ctx, wfd, other_fds):
    """Body of a forked worker: never returns."""
    code = 0
    try:
        os.setpgid(0, 0)
        _syscall.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        _syscall.close_quietly(*other_fds)
        # The module's stdout carries its JSON result: nothing a probe or a
        # library prints may reach it.
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        sys.stdout = sys.stderr = open(os.devnull, 'w')
        if 'faulthandler' in sys.modules:
            # A crash is reported through the wait status, not a dump to a
            # file descriptor the caller may still be using.
            sys.modules['faulthandler'].disable()
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        if ctx.unprivileged and ctx.euid != 0:
            # as criu's check_caps() does for non-root --unprivileged
            _syscall.prctl(PR_SET_DUMPABLE, 1)
        for probe in group:
            line = json.dumps({'id': probe.id, 'result': _run_one(probe, ctx)}, default=str)
            data = (line + '\n').encode('utf-8')
            while data:
                data = data[os.write(wfd, data):]
    except BaseException:
        code = 70
    os._exit(code)


class _Worker:
    def __init__(self, pid, rfd, group):
        self.pid = pid
        self.rfd = rfd
        self.pending = list(group)
        self.buffer = b''
        self.since = time.monotonic()
        self.status = None


def _describe_status(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return 'killed by signal %d (%s)' % (sig, name)
    if os.WIFEXITED(status):
        return 'exited with status %d' % os.WEXITSTATUS(status)
    return 'ended with wait status %d' % status


class Engine:
    """Runs a selection of probes; use ``run()``."""

    def __init__(self, ctx, timeout=DEFAULT_TIMEOUT, spread=DEFAULT_SPREAD):
        self.ctx = ctx
        self.timeout = float(timeout)
        self.spread = spread
        self.workers = []
        self.results = {}

    def _spawn(self, group):
        rfd, wfd = os.pipe()
        others = [w.rfd for w in self.workers]
        pid = os.fork()
        if pid == 0:
            os.close(rfd)
            _worker(group, self.ctx, wfd, others)
        os.close(wfd)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the worker already did it, or already exited
        self.workers.append(_Worker(pid, rfd, group))

    def _finish(self, worker, reason=None):
        """Stop a worker: kill its process group, reap it, and give the probe
        it was running (if any) an error; respawn for the ones left."""
        self.workers.remove(worker)
        try:
            os.killpg(worker.pid, signal.SIGKILL)
        except OSError:
            pass
        status = os.waitpid(worker.pid, 0)[1]
        os.close(worker.rfd)
        if not worker.pending:
            return
        current = worker.pending[0]
        if reason is None:
            reason = 'the probe process %s before reporting a result' % _describe_status(status)
        elapsed_ms = round((time.monotonic() - worker.since) * 1000.0, 3)
        self.results[current.id] = dict(R.error(reason, evidence={'wait_status': status}), duration_ms=elapsed_ms)
        if worker.pending[1:]:
            self._spawn(worker.pending[1:])

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
            probe = worker.pending.pop(0)
            self.results[probe.id] = record['result']
            worker.since = time.monotonic()
        if not worker.pending:
            # All answers are in: do not wait for EOF, which a stray
            # grandchild holding the pipe could delay for ever.
            self._finish(worker)

    def run(self, probes):
        """Run ``probes`` (registry rows); return ``{id: result}``."""
        probes = list(probes)
        try:
            for group in _groups(probes, self.spread):
                self._spawn(group)
            while self.workers:
                now = time.monotonic()
                for worker in list(self.workers):
                    if worker.pending and now - worker.since >= self.timeout:
                        self._finish(worker, 'the probe did not finish within %.1f s and was killed'
                                     % self.timeout)
                if not self.workers:
                    break
                deadline = min(w.since for w in self.workers) + self.timeout
                wait = max(0.0, deadline - time.monotonic())
                readable = select.select([w.rfd for w in self.workers], [], [], wait)[0]
                for worker in list(self.workers):
                    if worker.rfd in readable:
                        self._read(worker)
        finally:
            for worker in list(self.workers):
                worker.pending = []
                self._finish(worker)
        return dict((p.id, self.results[p.id]) for p in probes)


def run(probes, ctx, timeout=DEFAULT_TIMEOUT, spread=DEFAULT_SPREAD):
    """Run ``probes`` in isolated workers; return ``{probe_id: result}``."""
    return Engine(ctx, timeout, spread).run(probes)
