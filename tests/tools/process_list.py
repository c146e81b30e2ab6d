# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The processes on this host: those whose command line matches (what the leak
tests look for once a run is over), and one process's state (importable outside
pytest too: tests/vm/_vm.py imports test_seccomp for the early boots, and
tests/tools/vm.py runs as a script)."""

import os


def processes(matches):
    """'PID: COMMAND LINE' (NULs as spaces, the first 200 characters) of every
    other process on this host whose command line ``matches(cmd)`` accepts."""
    found = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace')
        except OSError:
            continue
        if matches(cmd):
            found.append('%s: %s' % (pid, cmd[:200]))
    return found


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
