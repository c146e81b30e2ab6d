# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every probe may know about the run it belongs to.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile

CAP_NET_ADMIN = 12
CAP_SYS_PTRACE = 19
CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24
CAP_AUDIT_CONTROL = 30
CAP_CHECKPOINT_RESTORE = 40


# criu and the iptables tools live in sbin, which a non-root PATH may lack.
SBIN_DIRS = ('/usr/sbin', '/sbin', '/usr/local/sbin')


def which(name):
    """The path of a tool as a user would run it: PATH, then the sbin directories."""
    path = os.environ.get('PATH', os.defpath) + os.pathsep + os.pathsep.join(SBIN_DIRS)
    return shutil.which(name, path=path)


def effective_caps(pid='self'):
    """The effective capability set of a process, as an int (CapEff)."""
    with open('/proc/%s/status' % pid) as status:
        for line in status:
            if line.startswith('CapEff:'):
                return int(line.split()[1], 16)
    return 0


class ProbeContext:
    """The options and identity a probe runs with.

    unprivileged  mirrors ``criu check --unprivileged``: the probes that criu
                  skips or reads as false in that mode do the same
    euid, uid     criu's ``opts.uid`` is the euid
    cap_eff       effective capabilities (bit mask)
    cwd           the directory criu would run in (its images directory):
                  the inotify fdinfo probe watches it
    run_command   ``run_command(argv) -> (rc, stdout, stderr)``, for the
                  probes of userland tools: AnsibleModule.run_command in
                  the modules; None when the caller gave none (those probes
                  then say unknown)
    """

    def __init__(self, unprivileged=False, cwd=None, run_command=None):
        self.unprivileged = bool(unprivileged)
        self.run_command = run_command
        self.euid = os.geteuid()
        self.uid = os.getuid()
        self.cap_eff = effective_caps()
        self.cwd = cwd or _usable_cwd()

    def run(self, argv):
        """Run a userland tool: ``(rc, stdout, stderr)``; rc 127 when the tool
        is not installed or no runner was given (never raises)."""
        binary = which(argv[0])
        if binary is None:
            return 127, '', '%s: command not found' % argv[0]
        if self.run_command is None:
            return 127, '', 'no command runner was given to the probes'
        try:
            return self.run_command([binary] + list(argv[1:]))
        except (OSError, SystemExit) as exc:  # AnsibleModule.run_command fails the module on exec errors
            return 127, '', str(exc)

    def has_cap(self, cap):
        return bool(self.cap_eff & (1 << cap))

    @property
    def root(self):
        """criu's "root" (``opts.uid == 0``), which drives its root-only paths."""
        return self.euid == 0


def _usable_cwd():
    try:
        cwd = os.getcwd()
        if os.access(cwd, os.R_OK | os.X_OK):
            return cwd
    except OSError:
        pass
    return tempfile.gettempdir()
