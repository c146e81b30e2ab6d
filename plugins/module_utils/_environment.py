# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host around the probes: kernel, identity, and whether criu would start.

PRIVATE to the criu.check collection: not a public API.

criu refuses to run before any check in a few situations (criu/crtools.c
``check_caps()`` and criu/kerndat.c ``kerndat_init()``).
Every kernel feature may be present and criu still cannot work there, so the
facts say so next to the probes: ``criu_can_start`` and the reasons in
``criu_start_blockers``, in criu's own words where it has them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import platform
import re

from ansible_collections.criu.check.plugins.module_utils import _context as C
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R

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


def _read(path):
    """The text of a file, stripped; None when it is missing or unreadable
    (or not text: a decoding error is unreadable too)."""
    try:
        with open(path, errors='replace') as f:
            return f.read().strip()
    except (IOError, OSError, ValueError):
        return None


def _status_fields():
    """/proc/self/status as a dict; empty when it cannot be read (the facts
    then say None rather than fail)."""
    try:
        return C.proc_status()
    except C.EngineError:
        return {}


def _in_user_namespace():
    """True unless this process sees the initial user namespace's full map."""
    uid_map = _read('/proc/self/uid_map')
    if uid_map is None:
        return None
    return uid_map.split() != ['0', '0', '4294967295']


def _owns_mount_namespace(cap_eff):
    """Whether this process could mount in its current mount namespace:
    CAP_SYS_ADMIN in the user namespace that owns it."""
    if not cap_eff & (1 << C.CAP_SYS_ADMIN):
        return False
    return C.owns_mount_namespace()


def _proc_sys_writable():
    try:
        return not (os.statvfs('/proc/sys').f_flag & os.ST_RDONLY)
    except OSError:
        return None


# include/linux/proc_ns.h PROC_PID_INIT_INO: the inode of the initial PID
# namespace, fixed since Linux 3.8.
PID_NS_INIT_INO = 0xEFFFFFFC

# Names the container managers write into $container (systemd's
# "Container Interface"), normalised to the ones we report.
_CONTAINER_NAMES = {'podman': 'podman', 'docker': 'docker', 'lxc': 'lxc', 'lxc-libvirt': 'lxc',
                    'systemd-nspawn': 'systemd-nspawn', 'kubernetes': 'kubernetes', 'oci': 'oci'}
# Paths in /proc/self/cgroup that name the manager (cgroup v1, or v2 without
# a cgroup namespace; with one the path is just "/").
_CGROUP_MARKS = (('kubepods', 'kubernetes'), ('libpod', 'podman'), ('docker', 'docker'),
                 ('lxc.payload', 'lxc'), ('/lxc/', 'lxc'), ('systemd-nspawn', 'systemd-nspawn'))


def _pid_namespace_initial():
    """Whether this process is in the initial PID namespace (None: cannot tell)."""
    try:
        return os.stat('/proc/self/ns/pid').st_ino == PID_NS_INIT_INO
    except OSError:
        return None


def _container():
    """The container manager this process runs under, and why we think so:
    ``(name or None, [evidence...])``.

    Markers a manager puts there on purpose are trusted as they are: $container
    in PID 1's environment or ours (podman, LXC, systemd-nspawn), systemd's
    /run/systemd/container and /run/host/container-manager, podman's and
    CRI-O's /run/.containerenv, Kubernetes' service variables and service
    account, and a cgroup path naming the manager.  Docker's /.dockerenv is a
    file in the root filesystem, and a root built from a Docker image keeps it
    (virtual machines booted from such an image have it): it counts only
    outside the initial PID namespace, which every container manager leaves
    by default.
    """
    evidence = []
    names = []

    def found(name, why):
        evidence.append(why)
        if name and name not in names:
            names.append(name)

    if os.environ.get('KUBERNETES_SERVICE_HOST'):
        found('kubernetes', 'KUBERNETES_SERVICE_HOST is set')
    if os.path.isdir('/var/run/secrets/kubernetes.io'):
        found('kubernetes', '/var/run/secrets/kubernetes.io exists')
    environ = _read('/proc/1/environ')
    match = re.search(r'(?:^|\x00)container=([^\x00]+)', environ or '')
    if match:
        found(_CONTAINER_NAMES.get(match.group(1), match.group(1)), 'container=%s in /proc/1/environ' % match.group(1))
    elif os.environ.get('container'):
        value = os.environ['container']
        found(_CONTAINER_NAMES.get(value, value), 'container=%s in our environment' % value)
    for path in ('/run/host/container-manager', '/run/systemd/container'):
        value = _read(path)
        if value:
            found(_CONTAINER_NAMES.get(value, value), '%s says %s' % (path, value))
    if os.path.exists('/run/.containerenv'):
        # CRI-O writes it too; Kubernetes is named above then.
        found('podman', '/run/.containerenv exists')
    for line in (_read('/proc/self/cgroup') or '').splitlines():
        path = line.split(':', 2)[-1]
        for mark, name in _CGROUP_MARKS:
            if mark in path:
                found(name, 'cgroup %s' % path)
                break
        else:
            continue
        break
    initial = _pid_namespace_initial()
    if os.path.exists('/.dockerenv'):
        if initial:
            evidence.append('/.dockerenv exists, but this is the initial PID namespace (a root built from a Docker image)')
        else:
            found('docker', '/.dockerenv exists')
    if initial is False:
        evidence.append('not the initial PID namespace')
    return (names[0] if names else None), evidence


def _cap_names(cap_eff):
    return sorted(CAP_NAMES.get(b, str(b)) for b in range(64) if cap_eff & (1 << b))


def _container_privileged(container, cap_eff, proc_sys_writable, seccomp, user_namespace):
    """What ``--privileged`` gives a container, seen from inside, and what of
    it criu needs: CAP_SYS_ADMIN (podman's and Docker's defaults drop it), a
    writable /proc/sys (read-only otherwise), no seccomp filter (their default
    profiles have one), all of it in the host's user namespace (a rootless
    container's capabilities stop at its own).  The full capability set is not
    the test: a privileged container gets the host's set, which may lack some
    (this machine has no CAP_SYS_RESOURCE).  Nor is /dev: devices are passed
    one by one with --device, and nothing criu needs depends on them but
    /dev/net/tun, which the tun probes report.  None outside a container or
    when a part is unknown."""
    if container is None:
        return None
    parts = (bool(cap_eff & (1 << C.CAP_SYS_ADMIN)), proc_sys_writable,
             None if seccomp is None else seccomp == 0,
             None if user_namespace is None else not user_namespace)
    if False in parts:
        return False
    return None if None in parts else True


def _wsl():
    """1 or 2 under Windows Subsystem for Linux, else None.  WSL 1 is no Linux
    kernel: its release ends in "-Microsoft"; WSL 2's kernels say
    "-microsoft-standard" ("-microsoft-standard-WSL2" since 5.10); a custom WSL 2
    kernel may say neither, but WSL still registers its interop handler."""
    release = os.uname().release
    if 'Microsoft' in release:
        return 1
    if 'microsoft' in release.lower():
        return 2
    if os.path.exists('/proc/sys/fs/binfmt_misc/WSLInterop') or os.path.exists('/run/WSL'):
        return 2
    return None


# gVisor's syscall table reports this fixed build stamp for its fake kernel
# (pkg/sentry/syscalls/linux/linux64.go), whatever release it claims.
GVISOR_VERSION = '#1 SMP Sun Jan 10 15:06:54 PST 2016'


def _gvisor():
    uname = os.uname()
    return uname.version == GVISOR_VERSION or 'gvisor' in uname.release.lower() or \
        'gvisor' in (_read('/proc/version') or '').lower()


# DMI strings (prefixes) that name a hypervisor, as systemd's
# src/basic/virt.c detect_vm_dmi_vendor() reads them.
_DMI_VENDORS = (('KVM', 'kvm'), ('OpenStack', 'kvm'), ('KubeVirt', 'kvm'), ('Amazon EC2', 'amazon'),
                ('QEMU', 'qemu'), ('VMware', 'vmware'), ('VMW', 'vmware'), ('innotek GmbH', 'oracle'),
                ('VirtualBox', 'oracle'), ('Xen', 'xen'), ('Bochs', 'bochs'), ('Parallels', 'parallels'),
                ('BHYVE', 'bhyve'), ('Hyper-V', 'microsoft'), ('Apple Virtualization', 'apple'),
                ('Google Compute Engine', 'google'))


def _cpu_hypervisor_flag():
    """The x86 CPUID "hypervisor" bit as /proc/cpuinfo lists it (read up to the
    first flags line only: the file repeats per CPU)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return 'hypervisor' in line.split()
    except (IOError, OSError, ValueError):
        return None
    return False


def _virtualization():
    """The hypervisor under this kernel, from files only (no dmesg, no
    systemd-detect-virt): Xen's /sys/hypervisor, the DMI vendor strings, the
    device tree's hypervisor node (arm64 without firmware tables), a
    paravirtual clocksource (KVM, Hyper-V, Xen; Firecracker has no DMI but
    kvm-clock), then the CPU's hypervisor flag alone ("vm-other", as systemd
    says).  None on bare metal or when nothing is readable."""
    if _read('/sys/hypervisor/type') == 'xen':
        return 'xen'
    dmi = [_read('/sys/class/dmi/id/' + name) for name in
           ('product_name', 'sys_vendor', 'board_vendor', 'bios_vendor', 'product_version')]
    for value in dmi:
        for prefix, name in _DMI_VENDORS:
            if value and value.startswith(prefix):
                return name
    if dmi[1] == 'Microsoft Corporation' and dmi[0] == 'Virtual Machine':
        return 'microsoft'
    compatible = _read('/proc/device-tree/hypervisor/compatible') or ''
    for mark, name in (('linux,kvm', 'kvm'), ('xen', 'xen'), ('vmware', 'vmware')):
        if mark in compatible:
            return name
    clocks = (_read('/sys/devices/system/clocksource/clocksource0/available_clocksource') or '').split()
    for clock, name in (('kvm-clock', 'kvm'), ('hyperv_clocksource_tsc_page', 'microsoft'), ('xen', 'xen')):
        if clock in clocks:
            return name
    return 'vm-other' if _cpu_hypervisor_flag() else None


def _apparmor_profile(text):
    """``"docker-default (enforce)"`` -> ("docker-default", "enforce");
    ``"unconfined"`` -> ("unconfined", "unconfined")."""
    if not text:
        return None, None
    text = text.rstrip('\x00').strip()
    match = re.match(r'^(.*?)\s+\((\w+)\)$', text)
    if match:
        return match.group(1), match.group(2)
    return text, 'unconfined' if text == 'unconfined' else None


def _lsm():
    """The active LSMs (securityfs' list; None when it is not readable, as
    in most containers), AppArmor's state and this process's profile,
    SELinux's state."""
    listed = _read('/sys/kernel/security/lsm')
    names = [name for name in listed.split(',') if name] if listed is not None else None
    flag = _read('/sys/module/apparmor/parameters/enabled')
    if flag is not None:
        aa_enabled = flag.upper().startswith('Y')
    elif names is not None:
        aa_enabled = 'apparmor' in names
    else:
        aa_enabled = False if os.path.isdir('/sys/module') else None
    profile = mode = None
    if aa_enabled:
        # /proc/self/attr/current belongs to whichever LSM is the major one;
        # the apparmor subdirectory (Linux 5.1) is AppArmor's own.
        text = _read('/proc/self/attr/apparmor/current')
        if text is None and (names is None or 'selinux' not in names):
            text = _read('/proc/self/attr/current')
        profile, mode = _apparmor_profile(text)
    enforce = _read('/sys/fs/selinux/enforce')
    if names is not None:
        se_enabled = 'selinux' in names
    elif enforce is not None:
        se_enabled = True
    else:
        se_enabled = False if os.path.isdir('/sys/fs') else None
    enforcing = (enforce == '1') if se_enabled and enforce is not None else (False if se_enabled is False else None)
    return {'list': names,
            'apparmor': {'enabled': aa_enabled, 'profile': profile, 'mode': mode},
            'selinux': {'enabled': se_enabled, 'enforcing': enforcing}}


def _cgroup():
    """'v2' (cgroup2 on /sys/fs/cgroup), 'hybrid' (v1 controllers on a tmpfs
    there, cgroup2 on /sys/fs/cgroup/unified), 'v1', or None when nothing is
    mounted there.  Read from this process's mountinfo (the last mount on a
    path is the visible one, as statfs would see it) so that no per-arch
    ``struct statfs`` layout is needed."""
    top = unified = None
    v1 = False
    for line in (_read('/proc/self/mountinfo') or '').splitlines():
        fields = line.split()
        try:
            mountpoint, fstype = fields[4], fields[fields.index('-', 6) + 1]
        except (IndexError, ValueError):
            continue
        if mountpoint == '/sys/fs/cgroup':
            top = fstype
        elif mountpoint == '/sys/fs/cgroup/unified':
            unified = fstype
        elif mountpoint.startswith('/sys/fs/cgroup/') and fstype == 'cgroup':
            v1 = True
    if top == 'cgroup2':
        return 'v2'
    if unified == 'cgroup2':
        return 'hybrid'
    if v1 or top == 'cgroup':
        return 'v1'
    return None


def kernel():
    uname = platform.uname()
    return {'release': uname.release, 'version': uname.version, 'arch': uname.machine}


def gather(ctx):
    """The ``environment`` facts for a run with context ``ctx``."""
    status = _status_fields()
    cap_eff = ctx.cap_eff
    yama = C.read_int('/proc/sys/kernel/yama/ptrace_scope')
    cap_last_cap = C.read_int('/proc/sys/kernel/cap_last_cap')
    can_mount = _owns_mount_namespace(cap_eff)
    blockers = _decide.environment_blockers(ctx.euid, ctx.unprivileged, cap_eff, yama, cap_last_cap, can_mount)
    seccomp = C.int_or_none(status.get('Seccomp'))
    user_namespace = _in_user_namespace()
    proc_sys_writable = _proc_sys_writable()
    container, container_evidence = _container()
    return {
        'uid': ctx.uid,
        'euid': ctx.euid,
        'unprivileged': ctx.unprivileged,
        'capabilities': _cap_names(cap_eff),
        'cap_eff': '%016x' % cap_eff,
        'yama_ptrace_scope': yama,
        'cap_last_cap': cap_last_cap,
        'seccomp': seccomp,
        'seccomp_filters': C.int_or_none(status.get('Seccomp_filters')),
        'no_new_privs': C.int_or_none(status.get('NoNewPrivs')),
        'user_namespace': user_namespace,
        'proc_sys_writable': proc_sys_writable,
        'can_mount': can_mount,
        'container': container,
        'container_evidence': container_evidence,
        'container_privileged': _container_privileged(container, cap_eff, proc_sys_writable, seccomp, user_namespace),
        'wsl': _wsl(),
        'gvisor': _gvisor(),
        'virtualization': _virtualization(),
        'arch': os.uname().machine,
        'lsm': _lsm(),
        'cgroup': _cgroup(),
        'cwd': ctx.cwd,
        'criu_can_start': not blockers,
        'criu_start_blockers': blockers,
    }


# ---------------------------------------------------------------- fixes that depend on the environment

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


def environment_fix(probe_id, result, environment):
    """A fix for a probe that failed because of where it ran rather than the
    kernel, or None when the registry's (or the probe's own) fix stands.

    ``result`` is the probe's result, ``environment`` the facts of
    ``gather()``.  Follows real reports: WSL 1 has no Linux kernel
    (microsoft/WSL#2833); gVisor is not Linux either (containerd#12280);
    arm64 has no soft-dirty (criu#1729); an unprivileged container lacks
    capabilities, has a read-only /proc/sys and a seccomp filter (criu#1307,
    moby#30684), and its kernel fixes belong to the host; WSL 2 runs
    Microsoft's kernel build (CRaC openjdk-builds#4); Yama's ptrace_scope
    (criu#2495); vm.unprivileged_userfaultfd (criu PR #3035)."""
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
    err = _errno_of(evidence)
    if probe_id == 'mem_dirty_track' and env.get('arch') in ('aarch64', 'arm64'):
        return ARM64_SOFT_DIRTY_FIX
    if env.get('yama_ptrace_scope') == 3 and probe_id in _PTRACE_PROBES and err in _PERMISSION:
        return ('kernel.yama.ptrace_scope is 3, which no capability overrides and only a reboot undoes: set '
                'kernel.yama.ptrace_scope = 1 in /etc/sysctl.d/ and reboot')
    if env.get('container') and not env.get('container_privileged'):
        fix = _container_fix(probe_id, err, env)
        if fix:
            return fix
    if env.get('wsl') == 2 and err not in _PERMISSION:
        config = REG.BY_ID[probe_id].config if probe_id in REG.BY_ID else ()
        return ('WSL 2 runs Microsoft\'s kernel build: build a WSL 2 kernel (microsoft/WSL2-Linux-Kernel) with %s '
                'and set kernel= under [wsl2] in %%UserProfile%%\\.wslconfig, or use a Linux virtual machine'
                % (' and '.join('%s=y' % c for c in config) if config else 'the missing feature'))
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
    return None
