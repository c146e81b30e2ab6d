# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every process the collection forks: the engine's workers and the children
probes fork, as criu forks them for its own checks.

PRIVATE to the criu.check collection: not a public API.

A probe that unshares a namespace, mounts, or installs a seccomp filter does
it in a child, so that its worker stays as it was.  Every child comes from
``spawn()``: it dies with the process that forked it (PR_SET_PDEATHSIG, and
does not run at all if that process is already gone), never returns into the
caller's code, and is always reaped.  The userland tools the probes run
come from ``run_tool()``, whose wait has no timeout of its own: a tool runs
in its worker's process group, which the engine kills when the probe
overruns.  Every other wait here takes a timeout: the callers pass what
is left of the probe's time (``ProbeContext.left()``), so the user's
``timeout`` bounds them all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import gc
import json
import math
import os
import select
import signal
import subprocess
import time

from ansible_collections.criu.check.plugins.module_utils import _syscall

# Exit code of a child whose body raised (sysexits.h EX_SOFTWARE).
EXIT_EXCEPTION = 70

# Why the kernel refuses a new process (fork, clone, a tool's start) when
# the process is short of processes (RLIMIT_NPROC, a pids cgroup) or memory:
# the shortage of this process, never the kernel's answer to a probe.
NO_PROCESS = (errno.EAGAIN, errno.ENOMEM)

# Why each process this process was refused for NO_PROCESS, in order: the
# engine looks at what each probe added (_engine._shortage()), whatever the
# probe made of the refusal.
_refused = []


# Not empty in an engine worker, which leads a process group that the engine
# kills when the worker ends, and the worker when its parent dies: what it
# starts stays in that group.
in_worker = []


def refusals():
    return _refused


def _count_refusal(exc, step):
    if getattr(exc, 'errno', None) in NO_PROCESS:
        _refused.append('%s: %s (%s)' % (step, os.strerror(exc.errno), errno.errorcode[exc.errno]))


def die_with_parent(parent):
    """First thing in every child: die with the process that forked it, and
    do not run at all if it is already gone (the fork/prctl race)."""
    _syscall.prctl(_syscall.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def null_fd():
    """A new descriptor that reads nothing and takes any write: /dev/null,
    or, where /dev has none (a chroot whose /dev was not mounted), an
    anonymous file in memory, so that a process still starts there (its
    writes are the module's own strays and tools' stdin, never their output,
    which comes through pipes)."""
    try:
        return os.open(os.devnull, os.O_RDWR)
    except OSError:
        if not hasattr(os, 'memfd_create'):
            raise
        return os.memfd_create('criu-check-null', 0)


def null_stdio():
    """Point descriptors 0, 1 and 2 at a null_fd()."""
    fd = null_fd()
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


# The null_fd() that null_stdin() gives where there is no /dev/null, made once and kept for the process's life.
_kept_null = []


def null_stdin():
    """subprocess's ``stdin=`` for a tool or a detached process: /dev/null,
    or, where there is none, one null_fd() kept for this process's life
    (close-on-exec: only the child's descriptor 0 is a copy of it)."""
    if os.path.exists(os.devnull):
        return subprocess.DEVNULL
    if not _kept_null:
        fd = null_fd()
        os.set_inheritable(fd, False)
        _kept_null.append(fd)
    return _kept_null[0]


def run_tool(argv, environ_update=None):
    """Run a userland tool to its end: ``(rc, stdout, stderr)``, the output
    decoded as UTF-8 (undecodable bytes replaced), OSError when it cannot be
    started.  The caller finds the tool and sets its locale
    (ProbeContext.run); a tool outliving its probe's time dies with the
    worker's process group.

    What AnsibleModule.run_command does for the same tool, without its
    pre-exec hook: with one, Python forks the whole module process (every
    page table, then a copy of each page the hook touches) instead of
    vfork()ing, about 5 ms of CPU more per tool (docs/benchmarks.md).
    """
    env = dict(os.environ)
    env.update(environ_update or {})
    # As run_command: not the module's own zip on a tool's Python path.
    if 'PYTHONPATH' in env:
        paths = [p for p in env['PYTHONPATH'].split(':') if p and not p.endswith(('/ansible_modlib.zip', '/debug_dir'))]
        if paths:
            env['PYTHONPATH'] = ':'.join(paths)
        else:
            del env['PYTHONPATH']
    try:
        # pylint: disable-next=ansible-bad-function
        proc = subprocess.Popen(argv, stdin=null_stdin(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, close_fds=True)
    except OSError as exc:
        _count_refusal(exc, 'starting %s' % argv[0])
        raise
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def spawn(body, new_group=False):
    """Fork a child that runs ``body()`` and exits with what it returns (an
    int; 0 for anything else, EXIT_EXCEPTION when it raises).  The child never
    returns into the caller's code.  ``new_group``: the child leads a process
    group of its own, so that the caller can kill it and whatever it started.
    Return the pid; raise OSError when the kernel refuses the fork."""
    parent = os.getpid()
    try:
        pid = os.fork()
    except OSError as exc:
        _count_refusal(exc, 'fork')
        raise
    if pid == 0:
        code = EXIT_EXCEPTION
        # Short-lived, with a bounded number of objects: a collection would
        # only copy the pages it shares with the parent (copy-on-write).
        gc.disable()
        try:
            # Not a worker's handler (_engine._end_group), nor the caller's.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            if new_group:
                os.setpgid(0, 0)
            die_with_parent(parent)
            code = body()
        finally:
            os._exit(code if isinstance(code, int) else 0)
    if new_group:
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child already did it, or already exited
    return pid


def wait(pid, timeout, options=0):
    """waitpid() for at most ``timeout`` seconds: the wait status (a ptrace
    stop too), or None when the time passes first.  ChildProcessError when
    ``pid`` is not our child."""
    deadline = time.monotonic() + timeout
    pause = 0.0002
    while True:
        done, status = os.waitpid(pid, os.WNOHANG | options)
        if done:
            return status
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        time.sleep(min(pause, left))
        pause = min(pause * 2, 0.005)


def kill_and_reap(pid, options=0):
    """SIGKILL a child and reap it; return its final wait status (None when
    it is not our child).  A traced child may report stops first."""
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
    while True:
        try:
            status = os.waitpid(pid, options)[1]
        except ChildProcessError:
            return None
        if not os.WIFSTOPPED(status):
            return status


def reap(pid, timeout, options=0):
    """Wait for child ``pid``; SIGKILL it if it is still running after
    ``timeout`` seconds.  Return the wait status, or None when it is not our
    child (ECHILD)."""
    try:
        status = wait(pid, timeout, options)
    except ChildProcessError:
        return None
    if status is None:
        return kill_and_reap(pid, options)
    return status


def readable(fds, timeout):
    """Those of ``fds`` that have data or EOF to read within ``timeout``
    seconds (none when it passes first).

    poll(), not select(): select() refuses a descriptor numbered 1024 or
    more (FD_SETSIZE), and a module's pipes are numbered that high when it
    inherits as many open files from its caller."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    return set(fd for fd, dummy in poller.poll(int(math.ceil(max(0, timeout) * 1000))))


def read_until_eof(fd, timeout):
    """Everything up to EOF, or None when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not readable([fd], left):
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def _reporting(body, rfd, wfd):
    os.close(rfd)

    def report(info):
        write_all(wfd, json.dumps(info, default=str).encode('utf-8') + b'\n')

    try:
        return body(report)
    except BaseException as exc:  # everything goes to the parent, nothing unwinds here
        report({'child_exception': '%s: %s' % (type(exc).__name__, exc)})
        return 127


def call(body, timeout):
    """Run ``body(report)`` in a child: it may ``report(dict)`` evidence to
    the parent, and returns its exit code.  Return ``(wait status, the
    reports merged into one dict)``; an exception in ``body`` comes back as
    ``child_exception`` in that dict.  A child that has not ended after
    ``timeout`` seconds is killed and RuntimeError raised: its wait status
    would then say SIGKILL, which is not the kernel's answer."""
    start = time.monotonic()
    rfd, wfd = os.pipe()
    try:
        pid = spawn(lambda: _reporting(body, rfd, wfd))
    except BaseException:
        _syscall.close_quietly(rfd, wfd)
        raise
    os.close(wfd)
    data = status = None
    try:
        data = read_until_eof(rfd, timeout)
        if data is not None:
            # EOF: the child is exiting.
            status = wait(pid, max(0.0, timeout - (time.monotonic() - start)))
    finally:
        os.close(rfd)
        if status is None:
            # Timed out or interrupted: do not wait for a child that may not end.
            kill_and_reap(pid)
    if status is None:
        raise RuntimeError('probe child timed out after %.1f s' % timeout)
    info = {}
    for line in data.splitlines():
        info.update(json.loads(line.decode('utf-8')))
    return status, info


def run_in_child(body, timeout, evidence_only=False):
    """Run ``body()`` in a forked child and return what it returned.

    ``body`` must return something JSON can carry.  The child is killed
    after ``timeout`` seconds.  An exception in the child is raised here as
    RuntimeError (UnsupportedArch and NamespaceUnchanged as themselves), so
    that the engine reports it.  ``evidence_only``: what ``body`` finds is
    evidence beside an answer that does not depend on it (criu does not
    probe it); a NamespaceUnchanged then returns
    ``{'namespace_unchanged': its message}`` instead.
    """
    def child(report):
        try:
            report({'ok': body()})
        except _syscall.NamespaceUnchanged as exc:
            report({'unchanged': [str(exc), exc.step]})
        except BaseException as exc:  # everything goes to the parent
            report({'exc': '%s: %s' % (type(exc).__name__, exc)})
        return 0

    status, payload = call(child, timeout)
    if 'unchanged' in payload:
        if evidence_only:
            return {'namespace_unchanged': payload['unchanged'][0]}
        raise _syscall.NamespaceUnchanged(*payload['unchanged'])
    if 'exc' in payload:
        if payload['exc'].startswith('UnsupportedArch:'):
            raise _syscall.UnsupportedArch(payload['exc'].split(': ', 1)[1])
        raise RuntimeError('probe child failed: %s' % payload['exc'])
    if 'ok' not in payload:
        raise RuntimeError('probe child died without a result (wait status %r)' % (status,))
    return payload['ok']
