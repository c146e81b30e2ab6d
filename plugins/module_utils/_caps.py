# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Linux capabilities: numbers and names (include/uapi/linux/capability.h).

PRIVATE to the criu.check collection: not a public API.

The one table of them: the probes, the environment facts, the decision
whether criu would start, the installed criu's check and criu_smoke all read
capabilities through this module.  It imports nothing, so the controller's
filters may use it as well as the managed node.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

NAMES = {
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
NUMBERS = dict((name, number) for number, name in NAMES.items())

# The ones criu's checks depend on.
CAP_NET_ADMIN = NUMBERS['net_admin']
CAP_SYS_PTRACE = NUMBERS['sys_ptrace']
CAP_SYS_ADMIN = NUMBERS['sys_admin']
CAP_CHECKPOINT_RESTORE = NUMBERS['checkpoint_restore']


def has(cap_eff, cap):
    """Whether the capability mask ``cap_eff`` (CapEff of /proc/PID/status)
    holds capability number ``cap``."""
    return bool(cap_eff >> cap & 1)


def names(cap_eff):
    """The capabilities in the mask ``cap_eff`` by name, sorted; a number
    this table does not know stands as its digits."""
    return sorted(NAMES.get(bit, str(bit)) for bit in range(64) if has(cap_eff, bit))


# The security.capability extended attribute (include/uapi/linux/capability.h
# struct vfs_cap_data, vfs_ns_cap_data): a little-endian u32 magic, then
# (permitted, inheritable) u32 pairs, and in revision 3 the root uid the
# attribute belongs to.  Revision -> (pairs, size the kernel accepts).
VFS_CAP_REVISION_MASK = 0xFF000000
VFS_CAP_FLAGS_EFFECTIVE = 0x000001
_VFS_CAP_REVISIONS = {0x01000000: (1, 12), 0x02000000: (2, 20), 0x03000000: (2, 24)}


def file_caps(data):
    """A security.capability value as ``(permitted, inheritable, effective,
    rootid)`` (masks, the effective flag, and the root uid of revision 3, else
    None), or None where the kernel would not read it as one
    (security/commoncap.c get_vfs_caps_from_disk())."""
    if len(data) < 4:
        return None
    magic = int.from_bytes(data[:4], 'little')
    pairs, size = _VFS_CAP_REVISIONS.get(magic & VFS_CAP_REVISION_MASK, (0, None))
    if len(data) != size:
        return None
    permitted = inheritable = 0
    for i in range(pairs):
        permitted |= int.from_bytes(data[4 + 8 * i:8 + 8 * i], 'little') << (32 * i)
        inheritable |= int.from_bytes(data[8 + 8 * i:12 + 8 * i], 'little') << (32 * i)
    rootid = int.from_bytes(data[20:24], 'little') if size == 24 else None
    return permitted, inheritable, bool(magic & VFS_CAP_FLAGS_EFFECTIVE), rootid


def cut_by_bounding(inheritable, bounding, program):
    """The capabilities (a mask) of ``program``'s permitted set
    (file_caps()) that execve() would not grant, where its effective flag is
    set: the kernel then refuses to run it (EPERM; security/commoncap.c, a
    program unaware of capabilities gets all it asks for or does not run).
    0 where it would run."""
    f_permitted, f_inheritable, f_effective, dummy = program
    if not f_effective:
        return 0
    return f_permitted & ~((inheritable & f_inheritable) | (f_permitted & bounding))


def after_exec(inheritable, permitted, bounding, ambient, no_new_privs, program=None):
    """The effective set a process that is not root has once it execve()s a
    program (neither setuid nor setgid): its own sets (masks), its
    no_new_privs flag, and ``program``, the file_caps() of the program where
    the kernel applies them (None: it has none, or they do not count, e.g. on
    a nosuid mount).  As security/commoncap.c cap_bprm_creds_from_file():

      pA' = 0 for a program with file capabilities, else pA
      pP' = (pI & fI) | (fP & pB) | pA'   (no more than pP under no_new_privs)
      pE' = fE ? pP' : pA'

    A program whose effective flag is set and whose fP the bounding set cuts
    is not run at all (EPERM, cut_by_bounding()): it has nothing, 0."""
    if program is None:
        return ambient
    if cut_by_bounding(inheritable, bounding, program):
        return 0
    f_permitted, f_inheritable, f_effective, dummy = program
    new = (inheritable & f_inheritable) | (f_permitted & bounding)
    if no_new_privs:
        new &= permitted
    return new if f_effective else 0
