# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host around the probes: kernel, identity, and whether criu would start.

PRIVATE to the criu.check collection: not a public API.

criu refuses to run before any check in a few situations (criu/crtools.c
``check_caps()`` and criu/kerndat.c ``kerndat_init()``, spec §1.3 and §2.1).
Every kernel feature may be present and criu still cannot work there, so the
facts say so next to the probes: ``criu_can_start`` and the reasons in
``criu_start_blockers``, in criu's own words where it has them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import platform
import re

from ansible_collections.criu.check.plugins.module_utils import _context as C

CAP_NAMES = {
    0: 'chown', 1: 'dac_override', 2: 'dac_read_search', 3: 'fowner', 4: 'fsetid',
    5: 'kill', 6: 'setgid', 7: 'setuid', 8: 'setpcap', 9: 'linux_immutable',
    10: 'net_bind_service', 11: 'net_broadcast', 12: 'net_admin', 13: 'net_raw',
    14: 'ipc_lock', 15: 'ipc_owner', 16: 'sys_module', 17: 'sys_rawio', 18: 'sys_chroot',
    19: 'sys_ptrace', 20: 'sys_pacct', 21: 'sys_admin', 22: 'sys_boot', 23: 'sys_nice',
    24: 'sys_resource', 25: 'sys_time', 26: 'sys_tty_config', 27: 'mknod', 28: 'lease',
    29: 'audit_write', 30: 'audit_control', 31: 'setfcap', 32: 'mac_override',
    33: 'mac_admin', 34: 'syslog', 35: 'wake_alarm', 36: 'block_suspend',
    37: 'audit_read', 38: 'perfmon', 39: 'bpf', 40: 'checkpoint_restore',
}

NO_CAPS = 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'
NEEDS_UNPRIVILEGED = "Running as non-root requires '--unprivileged'"
KERNDAT_FAILED = 'Could not initialize kernel features detection.'


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except (IOError, OSError):
        return None


def _read_int(path):
    text = _read(path)
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def _status_fields():
    fields = {}
    for line in (_read('/proc/self/status') or '').splitlines():
        key, dummy, value = line.partition(':')
        fields[key] = value.strip()
    return fields


def _in_user_namespace():
    """True unless this process sees the initial user namespace's full map."""
    uid_map = _read('/proc/self/uid_map')
    if uid_map is None:
        return None
    return uid_map.split() != ['0', '0', '4294967295']


NS_GET_USERNS = 0xb701  # _IO(0xb7, 0x1): the user namespace that owns a namespace


def _owns_mount_namespace(cap_eff):
    """Whether this process could mount in its current mount namespace:
    CAP_SYS_ADMIN in the user namespace that owns it.  Decided without
    mounting anything (criu's own kerndat step does mount, in the host)."""
    if not cap_eff & (1 << C.CAP_SYS_ADMIN):
        return False
    try:
        mnt = os.open('/proc/self/ns/mnt', os.O_RDONLY)
    except OSError:
        return None
    try:
        owner = fcntl.ioctl(mnt, NS_GET_USERNS)
    except OSError as exc:
        # EPERM: the owner is outside our user namespace, so not ours.
        return False if exc.errno == errno.EPERM else None
    finally:
        os.close(mnt)
    try:
        return os.fstat(owner).st_ino == os.stat('/proc/self/ns/user').st_ino
    finally:
        os.close(owner)


def _proc_sys_writable():
    try:
        return not (os.statvfs('/proc/sys').f_flag & os.ST_RDONLY)
    except OSError:
        return None


def _container():
    """Best effort: the container manager this process runs under, if any."""
    if os.path.exists('/run/.containerenv'):
        return 'podman'
    if os.path.exists('/.dockerenv'):
        return 'docker'
    environ = _read('/proc/1/environ')
    if environ:
        match = re.search(r'(?:^|\x00)container=([^\x00]+)', environ)
        if match:
            return match.group(1)
    return None


def kernel():
    uname = platform.uname()
    return {'release': uname.release, 'version': uname.version, 'arch': uname.machine}


def start_blockers(ctx, cap_eff, yama, cap_last_cap, can_mount):
    """Why real criu would refuse to start here, in the order it checks."""
    blockers = []
    if not (cap_eff & (1 << C.CAP_SYS_ADMIN) or cap_eff & (1 << C.CAP_CHECKPOINT_RESTORE)):
        blockers.append(NO_CAPS)
    elif ctx.euid != 0 and not ctx.unprivileged:
        blockers.append(NEEDS_UNPRIVILEGED)
    elif not ctx.unprivileged and can_mount is False:
        # kerndat's root-only kerndat_has_move_mount_set_group() mounts a
        # tmpfs under /tmp in criu's own mount namespace; any error but
        # EINVAL/ENOSYS aborts kerndat (seen with criu 4.1.1 in unshare -Ur).
        blockers.append('%s Without --unprivileged criu mounts a test tmpfs in its own mount namespace, which '
                        'needs CAP_SYS_ADMIN in the user namespace that owns it (not so in a user namespace '
                        'or without CAP_SYS_ADMIN); run criu with --unprivileged there' % KERNDAT_FAILED)
    if yama is not None and yama >= 3:
        blockers.append('%s kernel.yama.ptrace_scope is 3: criu cannot ptrace its own test '
                        'children' % KERNDAT_FAILED)
    if cap_last_cap is not None and cap_last_cap >= 64:
        blockers.append('%s Kernel reports more capabilities than this CRIU supports' % KERNDAT_FAILED)
    return blockers


def gather(ctx):
    """The ``environment`` facts for a run with context ``ctx``."""
    status = _status_fields()
    cap_eff = ctx.cap_eff
    yama = _read_int('/proc/sys/kernel/yama/ptrace_scope')
    cap_last_cap = _read_int('/proc/sys/kernel/cap_last_cap')
    can_mount = _owns_mount_namespace(cap_eff)
    blockers = start_blockers(ctx, cap_eff, yama, cap_last_cap, can_mount)
    return {
        'uid': ctx.uid,
        'euid': ctx.euid,
        'unprivileged': ctx.unprivileged,
        'capabilities': sorted(CAP_NAMES.get(b, str(b)) for b in range(64) if cap_eff & (1 << b)),
        'cap_eff': '%016x' % cap_eff,
        'yama_ptrace_scope': yama,
        'cap_last_cap': cap_last_cap,
        'seccomp': _int_or_none(status.get('Seccomp')),
        'no_new_privs': _int_or_none(status.get('NoNewPrivs')),
        'user_namespace': _in_user_namespace(),
        'proc_sys_writable': _proc_sys_writable(),
        'can_mount': can_mount,
        'container': _container(),
        'cwd': ctx.cwd,
        'criu_can_start': not blockers,
        'criu_start_blockers': blockers,
    }


def _int_or_none(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def find_criu(run_command):
    """The installed criu binary and its version, or None when there is none."""
    binary = C.which('criu')
    if binary is None:
        return None
    info = {'path': binary, 'version': None}
    if run_command is None:
        return info
    rc, out, err = run_command([binary, '--version'])
    match = re.search(r'Version:\s*(\S+)', out or '')
    if match:
        info['version'] = match.group(1)
    match = re.search(r'GitID:\s*(\S+)', out or '')
    if match:
        info['gitid'] = match.group(1)
    if rc != 0:
        info['error'] = (err or out or '').strip()[-500:]
    return info
