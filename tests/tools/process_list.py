# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The processes on this host whose command line matches: what the leak tests
look for once a run is over (importable outside pytest too: tests/vm/_vm.py
imports test_seccomp for the early boots)."""

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
