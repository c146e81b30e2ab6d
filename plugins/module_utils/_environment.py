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

import os
import platform
import re

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _context as C
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _kerndat
from ansible_collections.criu.check.plugins.module_utils._proc_parse import mount_tree_error, read_proc


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


def _program_caps(path):
    """The file capabilities execve() applies to the program at ``path``
    (_caps.file_caps()), or None where it has none or they do not count: a
    nosuid mount, or a revision 3 attribute whose root uid is not this user
    namespace's root (security/commoncap.c rootid_owns_currentns(); only
    this namespace's map is visible here, its parents' are not)."""
    try:
        if os.statvfs(path).f_flag & os.ST_NOSUID:
            return None
        caps = _caps.file_caps(os.getxattr(path, 'security.capability'))
    except (OSError, AttributeError):
        return None   # ENODATA: no file capabilities; AttributeError: no getxattr() here
    if caps is None or not caps[3]:
        return caps
    uid_map = (_read('/proc/self/uid_map') or '').split()
    return caps if uid_map[:2] == ['0', str(caps[3])] else None


def criu_exec(euid, cap_eff, status, path=None):
    """What running the criu at ``path`` (by default the one a user would
    run, _installed_criu.find()'s selected one) gives it: ``(capabilities,
    refused)``.

    capabilities  its effective set (a mask): for root, this process's own;
                  for any other user, what execve() leaves of this
                  process's sets (``status``: /proc/self/status) with that
                  criu's file capabilities, which criu's documentation has
                  non-root users set (setcap cap_checkpoint_restore+eip) for
                  --unprivileged; None when /proc/self/status could not be
                  read.
    refused       the capabilities (names) of those file capabilities that
                  this process's bounding set lacks, the file's effective
                  flag set: the kernel refuses to run that criu at all
                  (_caps.cut_by_bounding()); [] for root and otherwise.
    """
    if euid == 0:
        return cap_eff, []
    try:
        inheritable, permitted, bounding, ambient = [int(status[key], 16)
                                                     for key in ('CapInh', 'CapPrm', 'CapBnd', 'CapAmb')]
    except (KeyError, ValueError):
        return None, []
    if path is None:
        # Imported here: only a user other than root needs the criu on PATH.
        from ansible_collections.criu.check.plugins.module_utils import _installed_criu
        selected = [b['path'] for b in _installed_criu.find() if b['selected']]
        path = selected[0] if selected else None
    program = _program_caps(path) if path else None
    refused = _caps.cut_by_bounding(inheritable, bounding, program) if program else 0
    return (_caps.after_exec(inheritable, permitted, bounding, ambient, status.get('NoNewPrivs') == '1', program),
            _caps.names(refused))


def _mount_tree_error():
    try:
        return mount_tree_error(read_proc('/proc/self/mountinfo'))
    except OSError:
        return None   # criu cannot read it either; the probes that read it say so


def _owns_mount_namespace(cap_eff):
    """Whether this process could mount in its current mount namespace:
    CAP_SYS_ADMIN in the user namespace that owns it."""
    if not _caps.has(cap_eff, _caps.CAP_SYS_ADMIN):
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
    parts = (_caps.has(cap_eff, _caps.CAP_SYS_ADMIN), proc_sys_writable,
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
    cap_last_cap = C.read_int(_decide.LAST_CAP)
    can_mount = _owns_mount_namespace(cap_eff)
    criu_caps, exec_refused = criu_exec(ctx.euid, cap_eff, status)
    # criu checks its own capabilities (criu/crtools.c check_caps()), which its file capabilities may give it.
    blockers = _decide.environment_blockers(ctx.euid, ctx.unprivileged, cap_eff if criu_caps is None else criu_caps,
                                            yama, cap_last_cap, can_mount,
                                            [_kerndat.describe(f) for f in _kerndat.failures()],
                                            _mount_tree_error(), exec_refused)
    seccomp = C.int_or_none(status.get('Seccomp'))
    user_namespace = _in_user_namespace()
    proc_sys_writable = _proc_sys_writable()
    container, container_evidence = _container()
    return {
        'uid': ctx.uid,
        'euid': ctx.euid,
        'unprivileged': ctx.unprivileged,
        'capabilities': _caps.names(cap_eff),
        'cap_eff': '%016x' % cap_eff,
        'criu_capabilities': None if criu_caps is None else _caps.names(criu_caps),
        'yama_ptrace_scope': yama,
        'cap_last_cap': cap_last_cap,
        'seccomp': seccomp,
        'seccomp_filters': C.int_or_none(status.get('Seccomp_filters')),
        'no_new_privs': C.int_or_none(status.get('NoNewPrivs')),
        'user_namespace': user_namespace,
        'proc_sys_writable': proc_sys_writable,
        'proc_of_other_pid_namespace': C.proc_of_other_pid_namespace(),
        'can_mount': can_mount,
        'container': container,
        'container_evidence': container_evidence,
        'container_privileged': _container_privileged(container, cap_eff, proc_sys_writable, seccomp, user_namespace),
        'wsl': _wsl(),
        'gvisor': _gvisor(),
        'virtualization': _virtualization(),
        'arch': os.uname().machine,
        'page_size': os.sysconf('SC_PAGE_SIZE'),
        'lsm': _lsm(),
        'cgroup': _cgroup(),
        'cwd': ctx.cwd,
        'criu_can_start': not blockers,
        'criu_start_blockers': blockers,
    }
