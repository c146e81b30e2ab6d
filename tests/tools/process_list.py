# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The processes on this host: those whose command line matches (what the leak
tests look for once a run is over), the pids a test's process wrote, one
process's state, whether what a kill must have ended has, and the polling a
test waits with (importable outside pytest too: tests/vm/_vm.py imports
test_seccomp for the early boots, and tests/tools/vm.py runs as a script)."""

import os
import time


def _command_lines():
    """(pid, raw command line: its words each ended by a NUL) of every other
    process on this host."""
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                yield int(pid), f.read()
        except OSError:
            continue


def processes(matches):
    """'PID: COMMAND LINE' (NULs as spaces, the first 200 characters) of every
    other process on this host whose command line ``matches(cmd)`` accepts."""
    found = []
    for pid, raw in _command_lines():
        cmd = raw.replace(b'\0', b' ').decode('utf-8', 'replace')
        if matches(cmd):
            found.append('%s: %s' % (pid, cmd[:200]))
    return found


def running_with_word(word):
    """The pids of the other processes that still run (running()) with ``word``
    as one whole word of their command line (a program's path, say)."""
    return [pid for pid, raw in _command_lines() if word.encode() in raw.split(b'\0') and running(pid)]


def written_pids(path, count):
    """The ``count`` pids a process wrote to ``path`` (a fake criu: its own and
    its helper's), once it has written them all; [] before."""
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return []
    return [int(w) for w in words] if len(words) == count else []


def stat_fields(pid):
    """The fields of /proc/PID/stat after the command name, which may hold spaces
    and parentheses: [0] is the state (field 3 of proc(5)), [19] the start time
    (field 22). None when the process is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            text = f.read()
    except OSError:
        return None
    return text[text.rindex(')') + 2:].split()


def state(pid):
    """The state letter of a process (R, S, Z, X, ...), None when it is gone."""
    fields = stat_fields(pid)
    return fields[0] if fields else None


def running(pid):
    """Whether ``pid`` still runs: neither gone nor a zombie (or dead, X) that
    waits for its parent to reap it. What a kill must have ended is not running."""
    return state(pid) not in (None, 'Z', 'X')


def until(condition, seconds=10):
    """Polls ``condition()`` every 20 ms until it is true, at most ``seconds``;
    its last answer. What a test waits for instead of a fixed sleep (a process
    started, a line written, a kill done): a loaded machine may run it late."""
    deadline = time.monotonic() + seconds
    while True:
        answer = condition()
        if answer or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def ended(pids, seconds):
    """Whether none of ``pids`` runs any more within ``seconds``: a killed
    process turns zombie soon after the kill, not at once."""
    return until(lambda: not any(running(pid) for pid in pids), seconds)
