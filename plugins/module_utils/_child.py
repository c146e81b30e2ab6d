# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Children a probe forks, as criu forks them for its own checks.

PRIVATE to the criu.check collection: not a public API.

A probe that unshares a namespace, mounts, or installs a seccomp filter does
it in a child, so that its worker stays as it was.  Every child dies with the
process that forked it (PR_SET_PDEATHSIG, and not at all if that process is
already gone), never returns into the caller's code, and is always reaped.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import select
import signal
import time

from ansible_collections.criu.check.plugins.module_utils import _syscall

PR_SET_PDEATHSIG = 1
CHILD_TIMEOUT = 4.0


def die_with_parent(parent):
    """First thing in every child: die with the process that forked it, and
    do not run at all if it is already gone (the fork/prctl race)."""
    _syscall.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def write_all(fd, data):
    while data:
        data = data[os.write(fd, data):]


def read_until_eof(fd, timeout):
    """Everything up to EOF, or None when ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    chunks = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 65536)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def reap(pid, timeout=CHILD_TIMEOUT, options=0):
    """Wait for child ``pid``; SIGKILL it if it is still running after
    ``timeout`` seconds.  Return the wait status, or None when it is not our
    child (ECHILD)."""
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, status = os.waitpid(pid, os.WNOHANG | options)
            if done:
                return status
            if time.monotonic() >= deadline:
                os.kill(pid, signal.SIGKILL)
                return os.waitpid(pid, options)[1]
            time.sleep(0.002)
    except ChildProcessError:
        return None


def _child_main(body, rfd, wfd, parent):
    try:
        os.close(rfd)
        die_with_parent(parent)
        try:
            payload = {'ok': body()}
        except BaseException as exc:  # everything goes to the parent, nothing unwinds here
            payload = {'exc': '%s: %s' % (type(exc).__name__, exc)}
        write_all(wfd, json.dumps(payload, default=str).encode('utf-8'))
    finally:
        os._exit(0)


def run_in_child(body, timeout=CHILD_TIMEOUT):
    """Run ``body()`` in a forked child and return what it returned.

    ``body`` must return something JSON can carry.  The child is killed
    after ``timeout`` seconds.  An exception in the child is raised here as
    RuntimeError (UnsupportedArch as itself), so that the engine reports it.
    """
    rfd, wfd = os.pipe()
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        _child_main(body, rfd, wfd, parent)
    os.close(wfd)
    data = None
    try:
        data = read_until_eof(rfd, timeout)
    finally:
        os.close(rfd)
        # After EOF the child is exiting; after a timeout it is killed now.
        status = reap(pid, 1.0 if data is not None else 0)
    if data is None:
        raise RuntimeError('probe child timed out after %.1f s' % timeout)
    if not data:
        raise RuntimeError('probe child died without a result (wait status %r)' % (status,))
    payload = json.loads(data.decode('utf-8'))
    if 'exc' in payload:
        if payload['exc'].startswith('UnsupportedArch:'):
            raise _syscall.UnsupportedArch(payload['exc'].split(': ', 1)[1])
        raise RuntimeError('probe child failed: %s' % payload['exc'])
    return payload['ok']
