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
import tempfile
import time

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils._child import NO_PROCESS, run_tool
from ansible_collections.criu.check.plugins.module_utils._engine import DEFAULT_TIMEOUT, EngineError
from ansible_collections.criu.check.plugins.module_utils._syscall import NS_GET_USERNS

# criu and the iptables tools live in sbin, which a non-root PATH may lack;
# get_bin_path() looks there after PATH.
SBIN_DIRS = ('/sbin', '/usr/sbin', '/usr/local/sbin')

# Every tool a probe runs speaks C: its output is parsed, never shown.
C_LOCALE = {'LC_ALL': 'C', 'LANG': 'C'}


def _report_margin(timeout):
    """The part of a probe's time kept back so that a probe whose inner wait
    ran out can still report why (formatting its traceback reads source
    files) before the engine kills its worker: a tenth, at least 0.15 s, at
    most 1 s, never more than half."""
    return min(max(0.1 * timeout, 0.15), 1.0, 0.5 * timeout)


def which(name):
    """The path of a tool as a user would run it (PATH, then the sbin
    directories), or None.

    Ansible's own lookup: AnsibleModule has already imported it, so in a
    module this costs nothing (about 30 ms, the ``ansible`` package, in a
    bare Python such as tests/tools/run_probes.py)."""
    from ansible.module_utils.common.process import get_bin_path
    try:
        return get_bin_path(name)
    except ValueError:
        return None


def proc_status(pid='self'):
    """``/proc/PID/status`` as ``{field: text}`` (``{'CapEff': '000001ffffffffff', ...}``).

    Raises EngineError naming the file when it cannot be read (out of file
    descriptors, a hidden /proc)."""
    path = '/proc/%s/status' % pid
    fields = {}
    try:
        with open(path) as status:
            for line in status:
                key, sep, value = line.partition(':')
                if sep:
                    fields[key] = value.strip()
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        if not os.path.exists('/proc/self'):
            reason += '; procfs is not mounted on /proc here, and criu cannot run without it: mount -t proc proc /proc'
        raise EngineError('cannot read %s: %s' % (path, reason))
    return fields


def proc_of_other_pid_namespace():
    """Whether /proc shows another pid namespace than this process's (unshare
    --pid --fork without --mount-proc): /proc/self names another pid than
    getpid(), and /proc/PID is another process's, or none.  None when
    /proc/self cannot be read."""
    try:
        return int(os.readlink('/proc/self')) != os.getpid()
    except (OSError, ValueError):
        return None


def owns_mount_namespace():
    """Whether this process's user namespace owns its mount namespace, the
    condition (with CAP_SYS_ADMIN) to mount there.  Not so in a user
    namespace made without a mount namespace (unshare -U): criu's start-up
    mount (criu/kerndat.c kerndat_has_move_mount_set_group()) fails there.
    Decided without mounting anything; None when it cannot be told."""
    import errno
    import fcntl
    try:
        mnt = os.open('/proc/self/ns/mnt', os.O_RDONLY)
    except OSError:
        return None
    try:
        owner = fcntl.ioctl(mnt, NS_GET_USERNS)
    except (IOError, OSError) as exc:
        # EPERM: the owner lies outside our user namespace, so not ours.
        return False if exc.errno == errno.EPERM else None
    finally:
        os.close(mnt)
    try:
        return os.fstat(owner).st_ino == os.stat('/proc/self/ns/user').st_ino
    except OSError:
        return None
    finally:
        os.close(owner)


def int_or_none(text):
    """``int(text)``, or None for None or text that is no integer."""
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def read_int(path):
    """The integer in a one-value file (a sysctl), or None when the file is
    missing, unreadable or holds no integer."""
    try:
        with open(path) as f:
            return int_or_none(f.read().strip())
    except OSError:
        return None


def effective_caps(pid='self'):
    """The effective capability set of a process, as an int (CapEff)."""
    return int(proc_status(pid).get('CapEff', '0'), 16)


class ProbeContext:
    """The options and identity a probe runs with.

    unprivileged  mirrors ``criu check --unprivileged``: the probes that criu
                  skips or reads as false in that mode do the same
    euid, uid     criu's ``opts.uid`` is the euid
    cap_eff       effective capabilities (bit mask)
    cwd           the directory criu would run in (its images directory):
                  the inotify fdinfo probe watches it
    run_command   ``run_command(argv, environ_update=None) -> (rc, stdout,
                  stderr)``, for the probes of userland tools; by default
                  _child.run_tool, which the modules use
    pgrp          the process group of the module's own process, which criu
                  would be in (its autofs check mounts with pgrp=getpgrp():
                  0 for a process still in the kernel's first session); the
                  workers have groups of their own
    timeout       seconds each probe may take (the modules' ``timeout``)
    scratch       a directory for the jobs' temporary files, which the
                  engine removes when the run ends (None outside a run)
    deadline      when the running probe must be done (time.monotonic());
                  the engine sets it before each probe, None outside it
    """

    def __init__(self, unprivileged=False, cwd=None, run_command=None, timeout=DEFAULT_TIMEOUT):
        self.unprivileged = bool(unprivileged)
        self.run_command = run_command or run_tool
        self.timeout = float(timeout)
        self.deadline = None
        self.scratch = None
        self.euid = os.geteuid()
        self.uid = os.getuid()
        self.pgrp = os.getpgrp()
        self.cap_eff = effective_caps()
        self.cwd = cwd or _usable_cwd()

    def begin(self, timeout=None):
        """Start the clock of one probe (or job) of ``timeout`` seconds
        (default: ``self.timeout``).  A small share is kept back so that a
        probe whose inner wait ran out reports why before its worker is
        killed."""
        if timeout is not None:
            self.timeout = float(timeout)
        self.deadline = time.monotonic() + self.timeout - _report_margin(self.timeout)

    def left(self):
        """Seconds left to the running probe: what every inner wait (a child,
        a netlink or sock_diag answer) may take.  Outside the engine (a probe
        called directly) each wait may take the whole timeout.  Never 0,
        which socket.settimeout() would read as non-blocking."""
        if self.deadline is None:
            return self.timeout
        return max(0.001, self.deadline - time.monotonic())

    def run(self, argv):
        """Run a userland tool in the C locale (its output is parsed):
        ``(rc, stdout, stderr)``; rc 127 when the tool is not installed or
        cannot be executed, 126 (the shell's "cannot execute") when the
        system refused the process for want of processes or memory: the
        tool is there (never raises).  The tool dies with the probe's
        worker when the probe's time runs out."""
        binary = which(argv[0])
        if binary is None:
            return 127, '', '%s: command not found' % argv[0]
        try:
            return self.run_command([binary] + list(argv[1:]), environ_update=dict(C_LOCALE))
        except OSError as exc:
            if exc.errno in NO_PROCESS:
                return 126, '', '%s: cannot be started: %s' % (argv[0], exc)
            return 127, '', str(exc)

    def has_cap(self, cap):
        return _caps.has(self.cap_eff, cap)

    @property
    def root(self):
        """criu's "root" (``opts.uid == 0``), which drives its root-only paths."""
        return self.euid == 0


def _usable_cwd():
    """The working directory, else the temporary directory, else ``/``: a
    host without a usable one still gets every other answer."""
    try:
        cwd = os.getcwd()
        if os.access(cwd, os.R_OK | os.X_OK):
            return cwd
    except OSError:
        pass
    try:
        return tempfile.gettempdir()
    except (OSError, IOError):  # "No usable temporary directory found"
        return '/'
