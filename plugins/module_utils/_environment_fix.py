# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixes that depend on where a probe ran rather than on the kernel.

PRIVATE to the criu.check collection: not a public API.

A probe that fails in an unprivileged container, on WSL 1 or under gVisor is
not fixed by rebuilding the kernel.  ``environment_fix`` reads the
environment facts (_environment.gather) and the probe's result and, where the
environment is the cause, gives the fix in that environment's own terms; the
facts then show it instead of the registry's.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno

from ansible_collections.criu.check.plugins.module_utils import _kernel_config
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R


# criu opens /proc/PID by the pids of its own namespace (its children's, its own); a /proc of another pid
# namespace has none of them, or another process's (criu 4.1.1 under unshare -pf: "Can't open 10/maps on
# procfs", or "Can't find rt vDSO" where pid 10 is a kernel thread outside).  The start blocker's fix too
# (_decide.FOREIGN_PROC).
PROC_OF_OTHER_PID_NAMESPACE_FIX = ('this /proc shows another pid namespace than the one criu runs in (a new pid '
                                   'namespace without a /proc of its own), so /proc/PID of criu\'s own processes '
                                   'is missing or another process\'s: mount a /proc for it (unshare --pid --fork '
                                   '--mount-proc, or mount -t proc proc /proc in a new mount namespace)')
# socket() answers EAFNOSUPPORT for a family the kernel has not got; the families criu's start-up and checks
# create (AF_NETLINK, AF_UNIX, AF_INET, and AF_INET6 where /proc/sys/net/ipv6 shows it) a kernel with networking
# has, so a filter refuses them: systemd's RestrictAddressFamilies= answers so (seccomp), as criu 4.1.1 showed
# under one without AF_NETLINK ("net: Unable to create a netlink socket: Address family not supported by protocol").
SOCKET_FAMILY_REFUSED_FIX = ('a filter refuses the socket family this needs (EAFNOSUPPORT, which the kernel answers '
                             'only for a family it has not got, and it has this one): most often a seccomp filter '
                             'such as systemd\'s RestrictAddressFamilies=; allow criu AF_UNIX, AF_INET, AF_INET6 '
                             'and AF_NETLINK (and AF_PACKET to restore packet sockets), or run it without that filter')
# A process under a seccomp filter outside any container: systemd's SystemCallFilter=, RestrictNamespaces= (EPERM
# for unshare() and clone() of namespaces), a sandbox, or a container runtime not recognised.  With root's every
# capability and no user namespace the kernel does not answer EPERM to what criu asks (criu 4.1.1 under a
# RestrictNamespaces=-like filter: "Unable create a network namespace: Operation not permitted"), and it refuses
# PTRACE_O_SUSPEND_SECCOMP and PTRACE_SECCOMP_GET_FILTER to any tracer that is itself filtered.
SECCOMP_FILTER_FIX = ('this process runs under a seccomp filter (Seccomp: 2 in /proc/self/status) that refuses it, '
                      'not the kernel: run criu without that filter (a systemd unit: no SystemCallFilter= or '
                      'RestrictNamespaces=; a container: --security-opt seccomp=unconfined)')
# A kernel with CONFIG_TUN whose /dev has no net/tun (criu 4.1.1: "tun: Unable to create tun: No such file or
# directory"): a /dev made by hand (a chroot's, systemd's PrivateDevices=yes, a container not given the device),
# or CONFIG_TUN=m with the module not loaded and no static node for it (kernel.config.conflicts then says so).
TUN_NODE_MISSING_FIX = ('this /dev has no net/tun, which criu opens: load the module where CONFIG_TUN=m (modprobe '
                        'tun), or make the node (mkdir -p /dev/net && mknod -m 666 /dev/net/tun c 10 200); a systemd '
                        'unit with PrivateDevices=yes has none (PrivateDevices=no, with DeviceAllow=/dev/net/tun rw '
                        'under a strict DevicePolicy=); a container: --device /dev/net/tun')
# /dev/net/tun whose mode keeps criu's user out (node_mode and node_uid: the tun probes' evidence).
TUN_NODE_CLOSED_FIX = ('uid %s may not open /dev/net/tun (mode %s, owned by uid %s): run criu as root, or open the '
                       'node to that user (chmod 0666 /dev/net/tun, the mode udev\'s default rules give it)%s')
# A device cgroup that does not allow /dev/net/tun (device_cgroup: the tun probes' evidence).
TUN_DEVICE_CGROUP_FIX = ('the device cgroup of this process (%s) refuses /dev/net/tun (c 10:200), which criu opens: '
                         'allow the device there (a systemd unit: DeviceAllow=/dev/net/tun rw; cgroup v1: echo '
                         '"c 10:200 rwm" into its devices.allow; a container: --device /dev/net/tun)')
GVISOR_FIX = ('this is gVisor (runsc), a kernel in user space that criu cannot checkpoint: use gVisor\'s own '
              '"runsc checkpoint", or run criu on a Linux host or virtual machine (containerd\'s runsc shim '
              'does not implement the CRI checkpoint call either)')
WSL1_FIX = ('not possible on WSL 1: it has no Linux kernel (no /proc/PID/map_files, no ns_last_pid); use WSL 2 '
            '(wsl --set-version DISTRO 2) or a Linux virtual machine')
ARM64_SOFT_DIRTY_FIX = ('arm64 kernels have no soft-dirty tracking (no HAVE_ARCH_SOFT_DIRTY): no kernel option '
                        'adds it; dump without pre-dump and --track-mem (no iterative pre-copy migration)')

_PERMISSION = ('EPERM', 'EACCES', 'EROFS')
_SYS_ADMIN_OR_CR = ('sys_admin', 'checkpoint_restore')

# What a container's default confinement (podman's and Docker's: their
# default capabilities, seccomp profile and read-only /proc/sys) takes from
# each probe, and what gives it back, as measured with rootful podman and
# runc: caps are alternatives (any one of a tuple), "seccomp" that the
# probe needs no seccomp filter at all (criu/cr-check.c check_ptrace_suspend_seccomp()
# and check_ptrace_dump_seccomp_filters(): the kernel refuses a tracer that
# is itself filtered), "proc_sys" a writable /proc/sys, "tun" /dev/net/tun.
_CONFINED_BY = {
    'map_files': {'caps': (_SYS_ADMIN_OR_CR,)},
    'clone3_set_tid': {'caps': (_SYS_ADMIN_OR_CR,)},
    'ns_last_pid': {'proc_sys': True},
    'ipc': {'caps': (_SYS_ADMIN_OR_CR,), 'proc_sys': True},
    'kcmp_epoll': {'caps': (('sys_ptrace',),)},   # the seccomp profiles allow kcmp with CAP_SYS_PTRACE
    'unaligned_vmsplice': {'seccomp': True},
    'seccomp_suspend': {'caps': (('sys_admin',),), 'seccomp': True},
    'seccomp_filters': {'caps': (('sys_admin',),), 'seccomp': True},
    'uffd': {'caps': (('sys_ptrace',),), 'seccomp': True},
    'uffd-noncoop': {'caps': (('sys_ptrace',),), 'seccomp': True},
    'tcp': {'caps': (('net_admin',),)},
    'tcp_window': {'caps': (('net_admin',),)},
    'tcp_half_closed': {'caps': (('net_admin',),)},
    'sk_ns': {'caps': (('net_admin',),)},
    'sk_unix_file': {'caps': (('net_admin',),)},
    'newifindex': {'caps': (('net_admin',),)},
    'network_lock_nftables': {'caps': (('net_admin',),)},
    'tun': {'tun': True},
    'tun_cr': {'caps': (('net_admin',),), 'tun': True},
    'tun_ns': {'caps': (('net_admin',),), 'tun': True},
    'link_nsid': {'caps': (('sys_admin',), ('net_admin',))},
    'autofs': {'caps': (('sys_admin',),), 'apparmor': True},
    'move_mount_set_group': {'caps': (('sys_admin',),), 'apparmor': True},
    'clone_parent_vs_pid': {'caps': (('sys_admin',),), 'apparmor': True},
    'overlayfs_maps': {'caps': (('sys_admin',),), 'apparmor': True},
    'loginuid': {'caps': (('audit_control',),)},
}
_PTRACE_PROBES = ('ptrace_peeksiginfo', 'seccomp_suspend', 'seccomp_filters', 'get_rseq_conf', 'breakpoints')
# What criu run by a user other than root (--unprivileged) never probes, whatever capabilities it has
# (criu/kerndat.c: root_only_init() and kerndat_uffd() are skipped): their answer does not depend on them.
SKIPPED_UNPRIVILEGED = ('loginuid', 'tun_ns', 'sk_unix_file', 'link_nsid', 'sk_ns', 'network_lock_nftables',
                        'move_mount_set_group', 'uffd', 'uffd-noncoop')
# Those whose check only reads what the skipped step found.  check_tun_netns() asks the kernel itself (the
# step's kdat.tun_ns is for dump and restore), so criu's capabilities decide it in every mode.
_READ_FROM_SKIPPED_STEP = tuple(p for p in SKIPPED_UNPRIVILEGED if p != 'tun_ns')


def criu_caps_not_held(probe_id, result, environment):
    """The capabilities criu has here that this process has not and that
    this unsupported probe needs (_CONFINED_BY): criu run by a user other
    than root gets them from its file capabilities
    (environment.criu_capabilities), the module's process cannot, so the
    probe's answer may be this process's rather than criu's (seen with criu
    4.1.1 given CAP_SYS_ADMIN and CAP_NET_ADMIN: seccomp_suspend,
    seccomp_filters, tcp_window, tcp_half_closed, newifindex and
    clone_parent_vs_pid pass for criu).  Sorted names; [] otherwise."""
    env = environment or {}
    if (not result or result.get('status') != R.UNSUPPORTED or env.get('euid') in (0, None)
            or probe_id in _READ_FROM_SKIPPED_STEP):
        return []
    criu, have = set(env.get('criu_capabilities') or ()), set(env.get('capabilities') or ())
    evidence = result.get('evidence') or {}
    if 'node_mode' in evidence:
        # The device node's mode refused the open (EACCES): only CAP_DAC_OVERRIDE lets criu through.
        return ['dac_override'] if 'dac_override' in criu - have else []
    if 'device_cgroup' in evidence:
        return []   # the device cgroup refused the open: no capability lets criu through
    return sorted(set(cap for alternatives in _CONFINED_BY.get(probe_id, {}).get('caps', ())
                      if not have.intersection(alternatives) for cap in criu.intersection(alternatives)))


def _criu_lacks(probe_id, environment):
    """The capabilities (one of each of _CONFINED_BY's alternatives) that
    this probe needs and criu has not here: its file's when run by a user
    other than root (environment.criu_capabilities), else this process's."""
    criu = environment.get('criu_capabilities')
    have = set(criu if criu is not None else environment.get('capabilities') or ())
    return [alternatives[0] for alternatives in _CONFINED_BY.get(probe_id, {}).get('caps', ())
            if not have.intersection(alternatives)]


def _errno_of(evidence):
    """The errno name a probe saw, whichever way it recorded it."""
    name = evidence.get('errno_name')
    if name:
        return name
    value = evidence.get('errno')
    if isinstance(value, int):
        return errno.errorcode.get(value) if value else None
    return value or None


def _what_confines(probe_id, err, env):
    """(missing capabilities, proc_sys, seccomp, apparmor, tun): the parts of
    the container's confinement that stand in this probe's way."""
    need = _CONFINED_BY.get(probe_id, {})
    have = set(env.get('capabilities') or ())
    caps = []
    # ENOENT, EINVAL and the like are the kernel's answers: confinement says
    # EPERM/EACCES/EROFS (or nothing: some probes record no errno), and
    # seccomp profiles answer ENOSYS for calls they do not know (clone3).
    if err is None or err in _PERMISSION:
        caps = [alternatives[0] for alternatives in need.get('caps', ()) if not have.intersection(alternatives)]
        if probe_id in _PTRACE_PROBES and env.get('yama_ptrace_scope') == 2 and 'sys_ptrace' not in have:
            caps.append('sys_ptrace')
    proc_sys = bool(need.get('proc_sys')) and env.get('proc_sys_writable') is False and err in ('EROFS', 'EACCES')
    seccomp = bool(need.get('seccomp')) and bool(env.get('seccomp')) and err in (None, 'EPERM', 'EACCES', 'ENOSYS')
    apparmor = (bool(need.get('apparmor')) and err in _PERMISSION
                and ((env.get('lsm') or {}).get('apparmor') or {}).get('mode') == 'enforce')
    tun = bool(need.get('tun')) and err == 'ENOENT'
    if not (caps or proc_sys or seccomp or apparmor or tun) and err in ('EPERM', 'EACCES') and env.get('seccomp') == 2 \
            and probe_id not in _CONFINED_BY:
        seccomp = True   # a call the seccomp profile refuses (EPERM is its default answer)
    return caps, proc_sys, seccomp, apparmor, tun


# The capabilities whose want makes the kernel answer EPERM to criu's calls.
_ROOT_CAPS = ('sys_admin', 'net_admin', 'sys_ptrace')
_FILTERED_TRACER = ('seccomp_suspend', 'seccomp_filters')


def _seccomp_refused(probe_id, err, env, release):
    """Whether a seccomp filter on this process, not the kernel or a want
    of privilege, refused what the probe asked (outside a container)."""
    if env.get('seccomp') != 2:
        return False
    if err == 'ENOSYS':
        # A filter's answer for a call it refuses whole (systemd's for clone3(), whose flags it cannot read), on
        # a kernel that has the call; a kernel built without it is told by its config (_aggregate.probe_entry).
        row = REG.BY_ID.get(probe_id)
        return bool(row and _kernel_config.has_kernel_min(row, release))
    if env.get('user_namespace') or env.get('euid') != 0:
        return False
    if not set(_ROOT_CAPS) <= set(env.get('capabilities') or ()):
        return False
    return err == 'EPERM' or (probe_id in _FILTERED_TRACER and err == 'EACCES')


_PRIVILEGED = {
    'podman': 'run the container with --privileged',
    'docker': 'run the container with --privileged',
    'kubernetes': 'set securityContext.privileged: true on the container, or run criu on the node',
    'lxc': 'relax its lxc.cap.drop, lxc.seccomp.profile and lxc.apparmor.profile',
    'systemd-nspawn': 'run systemd-nspawn with --capability=all and SYSTEMD_SECCOMP=0 in its environment',
}


def _container_options(container, caps, proc_sys, seccomp, apparmor, tun):
    """The least the container needs, in its manager's own terms."""
    upper = [c.upper() for c in caps]
    if container in ('podman', 'docker'):
        opts = ['--cap-add %s' % c for c in upper]
        opts += ['--security-opt systempaths=unconfined'] if proc_sys else []
        opts += ['--security-opt seccomp=unconfined'] if seccomp else []
        opts += ['--security-opt apparmor=unconfined'] if apparmor else []
        opts += ['--device /dev/net/tun'] if tun else []
        return 'run the container with --privileged, or at least with %s' % ' '.join(opts)
    if container == 'kubernetes':
        if proc_sys or tun:
            return ('set securityContext.privileged: true on the container (a pod has no other way to a writable '
                    '/proc/sys or /dev/net/tun), or run criu on the node')
        opts = ['capabilities.add: [%s]' % ', '.join(upper)] if upper else []
        opts += ['seccompProfile.type: Unconfined'] if seccomp else []
        opts += ['appArmorProfile.type: Unconfined'] if apparmor else []
        return ('set securityContext.privileged: true on the container, or at least securityContext %s'
                % ', '.join(opts))
    if container == 'lxc':
        opts = ['keep %s (not in lxc.cap.drop)' % ', '.join(c.lower() for c in upper)] if upper else []
        opts += ['lxc.mount.auto = proc:rw sys:rw'] if proc_sys else []
        opts += ['an empty lxc.seccomp.profile'] if seccomp else []
        opts += ['lxc.apparmor.profile = unconfined'] if apparmor else []
        opts += ['lxc.mount.entry = /dev/net/tun dev/net/tun none bind,create=file (and allow c 10:200)'] if tun else []
        return 'change the container\'s configuration: %s' % '; '.join(opts)
    if container == 'systemd-nspawn':
        opts = ['--capability=%s' % ','.join('CAP_' + c for c in upper)] if upper else []
        opts += ['SYSTEMD_NSPAWN_API_VFS_WRITABLE=1 in its environment'] if proc_sys else []
        opts += ['SYSTEMD_SECCOMP=0 in its environment'] if seccomp else []
        # nspawn has no AppArmor option: the profile comes from whatever starts it (a unit's AppArmorProfile=)
        opts += ['no AppArmor profile (none in AppArmorProfile= of the unit that starts it)'] if apparmor else []
        opts += ['--bind=/dev/net/tun'] if tun else []
        return 'run systemd-nspawn with %s' % ', '.join(opts)
    opts = ['with CAP_%s' % ', CAP_'.join(upper)] if upper else []
    opts += ['a writable /proc/sys'] if proc_sys else []
    opts += ['no seccomp filter'] if seccomp else []
    opts += ['AppArmor unconfined'] if apparmor else []
    opts += ['/dev/net/tun'] if tun else []
    return 'run the container privileged (%s)' % ', '.join(opts)


def _container_fix(probe_id, err, env):
    container = env['container']
    caps, proc_sys, seccomp, apparmor, tun = _what_confines(probe_id, err, env)
    if env.get('user_namespace') and err in _PERMISSION and not (proc_sys or tun):
        return ('this %s container runs in its own user namespace (rootless), whose capabilities do not reach '
                'the host\'s: run criu in a rootful privileged container or on the host' % container)
    if not (caps or proc_sys or seccomp or apparmor or tun):
        if err not in _PERMISSION:
            return None
        return 'this %s container\'s confinement refuses it (%s), not the kernel: %s' % (
            container, err, _PRIVILEGED.get(container, 'run the container privileged'))
    why = ['CAP_%s is not granted' % c.upper() for c in caps]
    why += ['/proc/sys is read-only'] if proc_sys else []
    why += ['a seccomp filter is on'] if seccomp else []
    why += ['AppArmor confines it (profile %s)' % env['lsm']['apparmor']['profile']] if apparmor else []
    why += ['/dev/net/tun is not in the container'] if tun else []
    return 'this %s container is the cause, not the kernel: %s; %s' % (
        container, ', '.join(why), _container_options(container, caps, proc_sys, seccomp, apparmor, tun))


def container_start_fix(environment):
    """For root in a container that grants neither CAP_SYS_ADMIN nor
    CAP_CHECKPOINT_RESTORE (criu's first start-up check fails): the least
    to change in the container, in its manager's terms; None elsewhere.
    CAP_SYS_ADMIN: with CAP_CHECKPOINT_RESTORE alone root's criu stops later
    in its start-up (criu 4.1.1 in a podman container: kerndat's nftables
    step), and a container's root runs criu without --unprivileged.  Not in
    a user namespace of its own (rootless), whose capabilities do not reach
    the host's."""
    env = environment or {}
    container = env.get('container')
    if not container or env.get('euid') != 0 or env.get('user_namespace') is not False:
        return None
    options = _container_options(container, ['sys_admin'], False, False, False, False)
    return ('this %s container is the cause, not the kernel: it grants criu neither CAP_SYS_ADMIN nor '
            'CAP_CHECKPOINT_RESTORE; %s' % (container, options))


def no_new_privs_start_fix(environment):
    """For a user under no_new_privs, where execve() grants no file
    capability (security/commoncap.c): criu's own (setcap) cannot help
    until the flag is gone, and it is inherited, never cleared; None
    elsewhere."""
    env = environment or {}
    if env.get('euid') in (None, 0) or env.get('no_new_privs') != 1:
        return None
    return ('this process runs with no_new_privs, under which the kernel gives criu no file capability (setcap '
            'cap_checkpoint_restore+eip on it does nothing): run criu as root, or from a session without it (it is '
            'inherited from what started this one: systemd\'s NoNewPrivileges=, a container\'s no-new-privileges, '
            'setpriv --no-new-privs)')


def environment_fix(probe_id, result, environment, release=None, kernel_lacks=False):
    """A fix for a probe that failed because of where it ran rather than the
    kernel, or None when the registry's (or the probe's own) fix stands.

    ``result`` is the probe's result, ``environment`` the facts of
    ``gather()``, ``release`` the running kernel's; ``kernel_lacks``: its
    config has the probe's options off (_kernel_config.built_without()).
    Follows real reports: WSL 1 has no Linux kernel (microsoft/WSL#2833);
    gVisor is not Linux either (containerd#12280); arm64 has no soft-dirty
    (criu#1729); an unprivileged container lacks capabilities, has a
    read-only /proc/sys and a seccomp filter (criu#1307, moby#30684), and
    its kernel fixes belong to the host; WSL 2 runs Microsoft's kernel build
    (CRaC openjdk-builds#4); Yama's ptrace_scope (criu#2495);
    vm.unprivileged_userfaultfd (criu PR #3035); systemd's
    RestrictAddressFamilies= and RestrictNamespaces= (seccomp filters)."""
    if not result or result.get('status') not in (R.UNSUPPORTED, R.UNKNOWN):
        return None
    evidence = result.get('evidence') or {}
    if evidence.get('library'):
        return None   # a missing Python library is not the environment's doing
    env = environment or {}
    if env.get('gvisor'):
        return GVISOR_FIX
    if env.get('wsl') == 1:
        return WSL1_FIX
    if env.get('proc_of_other_pid_namespace') and _errno_of(evidence) == 'ENOENT':
        return PROC_OF_OTHER_PID_NAMESPACE_FIX
    if str(evidence.get('failed_step') or '').startswith('mkdtemp(/tmp/'):
        return None   # a /tmp criu cannot write (EROFS, ENOSPC), not a confinement: the probe's own fix, for containers too
    err = _errno_of(evidence)
    if probe_id == 'mem_dirty_track' and env.get('arch') in ('aarch64', 'arm64'):
        return ARM64_SOFT_DIRTY_FIX
    if kernel_lacks and env.get('wsl') != 2:
        # Built without the feature: no filter lifted, capability granted or sysctl changed brings it (a container
        # or a filter may refuse it too); the kernel's fix.  WSL 2's below says how to build its kernel.
        return None
    if err == 'EAFNOSUPPORT':
        return SOCKET_FAMILY_REFUSED_FIX
    if env.get('yama_ptrace_scope') == 3 and probe_id in _PTRACE_PROBES and err in _PERMISSION:
        return ('kernel.yama.ptrace_scope is 3, which no capability overrides and only a reboot undoes: set '
                'kernel.yama.ptrace_scope = 1 in /etc/sysctl.d/ and reboot')
    if env.get('container') and not env.get('container_privileged'):
        fix = _container_fix(probe_id, err, env)
        if fix:
            return fix
    elif not env.get('container') and not result.get('fix') and _seccomp_refused(probe_id, err, env, release):
        return SECCOMP_FILTER_FIX   # unless the probe's own fix names a cause it saw
    row = REG.BY_ID.get(probe_id)
    # Only a kernel feature the probe found missing: a userland probe (criu's build, a tool) or one with its
    # own fix, or one that could not decide, keeps its fix; a kernel rebuilt would not change it.
    if (env.get('wsl') == 2 and err not in _PERMISSION and result['status'] == R.UNSUPPORTED and not result.get('fix')
            and row is not None and row.config and not row.probe.startswith('userland.')):
        return ('WSL 2 runs Microsoft\'s kernel build: build a WSL 2 kernel (microsoft/WSL2-Linux-Kernel) with %s '
                'and set kernel= under [wsl2] in %%UserProfile%%\\.wslconfig, or use a Linux virtual machine'
                % ' and '.join('%s=y' % c for c in row.config))
    have = env.get('capabilities') or ()
    if probe_id in ('ns_last_pid', 'ipc') and env.get('proc_sys_writable') is False and err in ('EROFS', 'EACCES'):
        return ('/proc/sys is mounted read-only in this mount namespace: remount it read-write '
                '(mount -o remount,rw /proc/sys) or run criu where it is writable')
    if env.get('yama_ptrace_scope') == 2 and probe_id in _PTRACE_PROBES and 'sys_ptrace' not in have:
        return ('kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may ptrace): run criu as root with '
                'CAP_SYS_PTRACE, or sysctl -w kernel.yama.ptrace_scope=1')
    if probe_id in ('uffd', 'uffd-noncoop') and err == 'EPERM' and (env.get('user_namespace') or 'sys_ptrace' not in have):
        return ('userfaultfd needs CAP_SYS_PTRACE in the initial user namespace here: sysctl -w '
                'vm.unprivileged_userfaultfd=1, or run criu as root outside a user namespace')
    if _CONFINED_BY.get(probe_id, {}).get('tun'):
        return _tun_node_fix(probe_id, err, evidence, env)
    return None


def _tun_node_fix(probe_id, err, evidence, env):
    """Where /dev/net/tun itself stands in the way of a tun probe: missing
    (ENOENT), refused by the device cgroup (EPERM), or by its mode (EACCES);
    else None."""
    if err == 'ENOENT':
        return TUN_NODE_MISSING_FIX
    if err == 'EPERM' and evidence.get('device_cgroup'):
        return TUN_DEVICE_CGROUP_FIX % evidence['device_cgroup']
    if err == 'EACCES' and 'node_mode' in evidence and env.get('euid') not in (0, None):
        lacks = _criu_lacks(probe_id, env)
        then = ', and give criu %s, which %s needs then' % (' and '.join('CAP_' + c.upper() for c in lacks), probe_id)
        return TUN_NODE_CLOSED_FIX % (env['euid'], evidence['node_mode'], evidence['node_uid'], then if lacks else '')
    return None
