# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""How _environment reads the files that say where the probes run (container markers, the hypervisor, WSL,
AppArmor's profile, the cgroup layout), found by mutating it.  These are the files' contents, which the kernel
on this machine cannot be made to show (PID 1's environment, DMI strings, a WSL kernel): they are given through
_environment's one reader, and every other path reads as missing."""

import os

import pytest

from conftest import drop_effective_caps, enter_user_namespace, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _environment as E
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN


@pytest.fixture
def files(monkeypatch):
    """{path: text} the environment sees; other files are missing, as are $container and Kubernetes' variable."""
    seen = {}
    exists, isdir = os.path.exists, os.path.isdir
    monkeypatch.setattr(E, '_read', seen.get)
    monkeypatch.setattr(E.os.path, 'exists', lambda path: path in seen if path.startswith(('/run', '/.', '/proc/sys/fs'))
                        else exists(path))
    monkeypatch.setattr(E.os.path, 'isdir', lambda path: path in seen if path.startswith('/var/run/secrets')
                        else isdir(path))
    monkeypatch.setattr(E, '_pid_namespace_initial', lambda: seen.get('initial', True))
    monkeypatch.delenv('container', raising=False)
    monkeypatch.delenv('KUBERNETES_SERVICE_HOST', raising=False)
    return seen


@pytest.mark.parametrize('given, name', [
    ({'/proc/1/environ': 'PATH=/bin\x00container=lxc-libvirt\x00HOME=/'}, 'lxc'),
    ({'/proc/1/environ': 'container=docker'}, 'docker'),
    ({'/proc/1/environ': 'container=systemd-nspawn'}, 'systemd-nspawn'),
    ({'/proc/1/environ': 'container=kubernetes'}, 'kubernetes'),
    ({'/proc/1/environ': 'container=oci'}, 'oci'),
    ({'/proc/1/environ': 'container=wsl'}, 'wsl'),                  # a name we do not know is kept as it is
    ({'/run/host/container-manager': 'podman'}, 'podman'),
    ({'/run/systemd/container': 'lxc'}, 'lxc'),
    ({'/run/.containerenv': ''}, 'podman'),
    ({'/var/run/secrets/kubernetes.io': ''}, 'kubernetes'),
    ({'/proc/self/cgroup': '0::/kubepods/besteffort/pod1/abc'}, 'kubernetes'),
    ({'/proc/self/cgroup': '0::/user.slice/libpod-abc.scope'}, 'podman'),
    ({'/proc/self/cgroup': '12:cpu:/docker/abc'}, 'docker'),
    ({'/proc/self/cgroup': '0::/lxc.payload.c1'}, 'lxc'),
    ({'/proc/self/cgroup': '3:memory:/lxc/c1'}, 'lxc'),
    ({'/proc/self/cgroup': '0::/machine.slice/systemd-nspawn@c1.service'}, 'systemd-nspawn'),
    # the first line that names a manager decides
    ({'/proc/self/cgroup': '1:name=systemd:/\n0::/docker/abc\n2:cpu:/libpod-x'}, 'docker'),
    ({'/.dockerenv': '', 'initial': False}, 'docker'),
    ({'/.dockerenv': '', 'initial': True}, None),                  # a root built from a Docker image
    ({}, None),
])
def test_the_container_manager_from_its_markers(files, given, name):
    files.update(given)
    assert E._container()[0] == name


def test_the_evidence_says_why(files):
    files.update({'/proc/1/environ': 'container=podman', '/.dockerenv': '', 'initial': False,
                  '/proc/self/cgroup': '0::/'})
    assert E._container() == ('podman', ['container=podman in /proc/1/environ', '/.dockerenv exists',
                                         'not the initial PID namespace'])
    files['initial'] = True
    assert E._container()[1] == ['container=podman in /proc/1/environ', '/.dockerenv exists, but this is the '
                                 'initial PID namespace (a root built from a Docker image)']


def test_our_environment_and_kubernetes_variable(files, monkeypatch):
    monkeypatch.setenv('container', 'podman')
    assert E._container() == ('podman', ['container=podman in our environment'])
    monkeypatch.setenv('KUBERNETES_SERVICE_HOST', '10.0.0.1')
    assert E._container() == ('kubernetes', ['KUBERNETES_SERVICE_HOST is set', 'container=podman in our environment'])


@pytest.mark.parametrize('given, name', [
    ({'/sys/hypervisor/type': 'xen'}, 'xen'),
    ({'/sys/class/dmi/id/product_name': 'KVM'}, 'kvm'),
    ({'/sys/class/dmi/id/sys_vendor': 'OpenStack Foundation'}, 'kvm'),
    ({'/sys/class/dmi/id/product_name': 'KubeVirt'}, 'kvm'),
    ({'/sys/class/dmi/id/bios_vendor': 'Amazon EC2'}, 'amazon'),
    ({'/sys/class/dmi/id/sys_vendor': 'QEMU'}, 'qemu'),
    ({'/sys/class/dmi/id/sys_vendor': 'VMware, Inc.'}, 'vmware'),
    ({'/sys/class/dmi/id/bios_vendor': 'VMW71.00V'}, 'vmware'),
    ({'/sys/class/dmi/id/sys_vendor': 'innotek GmbH'}, 'oracle'),
    ({'/sys/class/dmi/id/product_name': 'VirtualBox'}, 'oracle'),
    ({'/sys/class/dmi/id/board_vendor': 'Xen'}, 'xen'),
    ({'/sys/class/dmi/id/bios_vendor': 'Bochs'}, 'bochs'),
    ({'/sys/class/dmi/id/sys_vendor': 'Parallels Software International Inc.'}, 'parallels'),
    ({'/sys/class/dmi/id/sys_vendor': 'BHYVE'}, 'bhyve'),
    ({'/sys/class/dmi/id/product_version': 'Hyper-V UEFI Release v4.1'}, 'microsoft'),
    ({'/sys/class/dmi/id/sys_vendor': 'Apple Virtualization'}, 'apple'),
    ({'/sys/class/dmi/id/product_name': 'Google Compute Engine'}, 'google'),
    ({'/sys/class/dmi/id/sys_vendor': 'Microsoft Corporation', '/sys/class/dmi/id/product_name': 'Virtual Machine'},
     'microsoft'),
    ({'/sys/class/dmi/id/sys_vendor': 'Microsoft Corporation', '/sys/class/dmi/id/product_name': 'Surface'}, None),
    ({'/proc/device-tree/hypervisor/compatible': 'linux,kvm'}, 'kvm'),
    ({'/proc/device-tree/hypervisor/compatible': 'xen,xen-4.1'}, 'xen'),
    ({'/proc/device-tree/hypervisor/compatible': 'vmware'}, 'vmware'),
    ({'/sys/devices/system/clocksource/clocksource0/available_clocksource': 'kvm-clock tsc hpet'}, 'kvm'),
    ({'/sys/devices/system/clocksource/clocksource0/available_clocksource': 'hyperv_clocksource_tsc_page'},
     'microsoft'),
    ({'/sys/devices/system/clocksource/clocksource0/available_clocksource': 'xen tsc'}, 'xen'),
    ({'/sys/devices/system/clocksource/clocksource0/available_clocksource': 'tsc hpet acpi_pm'}, None),
    # DMI before the clocksource: a KVM guest of a named cloud is named by the cloud
    ({'/sys/class/dmi/id/bios_vendor': 'Amazon EC2',
      '/sys/devices/system/clocksource/clocksource0/available_clocksource': 'kvm-clock'}, 'amazon'),
])
def test_the_hypervisor_from_files(files, monkeypatch, given, name):
    monkeypatch.setattr(E, '_cpu_hypervisor_flag', lambda: False)
    files.update(given)
    assert E._virtualization() == name


def test_only_the_cpu_flag_is_vm_other(files, monkeypatch):
    monkeypatch.setattr(E, '_cpu_hypervisor_flag', lambda: True)
    assert E._virtualization() == 'vm-other'


def test_the_cpu_flag_is_read_from_the_first_flags_line(tmp_path, monkeypatch):
    real_open = open
    cpuinfo = tmp_path / 'cpuinfo'

    def fake_open(path, *args, **kwargs):
        return real_open(str(cpuinfo) if path == '/proc/cpuinfo' else path, *args, **kwargs)
    monkeypatch.setattr('builtins.open', fake_open)
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu vme hypervisor\n\nprocessor\t: 1\nflags\t\t: fpu\n')
    assert E._cpu_hypervisor_flag() is True
    cpuinfo.write_text('processor\t: 0\nflags\t\t: fpu vme\n\nprocessor\t: 1\nflags\t\t: hypervisor\n')
    assert E._cpu_hypervisor_flag() is False
    cpuinfo.write_text('processor\t: 0\nfeatures\t: fp asimd\n')      # arm64: no flags line
    assert E._cpu_hypervisor_flag() is False


@pytest.mark.parametrize('release, given, wsl', [
    ('4.4.0-19041-Microsoft', {}, 1),
    ('5.15.90.1-microsoft-standard-WSL2', {}, 2),
    ('6.6.0-custom', {'/proc/sys/fs/binfmt_misc/WSLInterop': ''}, 2),
    ('6.6.0-custom', {'/run/WSL': ''}, 2),
    ('6.6.0-custom', {}, None),
])
def test_wsl_from_the_release_and_its_interop(files, monkeypatch, release, given, wsl):
    uname = os.uname()
    monkeypatch.setattr(E.os, 'uname', lambda: os.uname_result(uname[:2] + (release,) + uname[3:]))
    files.update(given)
    assert E._wsl() == wsl


@pytest.mark.parametrize('text, expected', [
    ('docker-default (enforce)', ('docker-default', 'enforce')),
    ('lxc-container-default-cgns (complain)\x00', ('lxc-container-default-cgns', 'complain')),
    ('/usr/bin/foo (bar) (enforce)', ('/usr/bin/foo (bar)', 'enforce')),
    ('unconfined', ('unconfined', 'unconfined')),
    ('some-profile', ('some-profile', None)),
    ('', (None, None)),
    (None, (None, None)),
])
def test_the_apparmor_profile_and_its_mode(text, expected):
    assert E._apparmor_profile(text) == expected


def _mount(point, fstype):
    return '30 1 0:26 / %s rw,nosuid - %s %s rw' % (point, fstype, fstype)


@pytest.mark.parametrize('mounts, layout', [
    ([_mount('/sys/fs/cgroup', 'cgroup2')], 'v2'),
    ([_mount('/sys/fs/cgroup', 'tmpfs'), _mount('/sys/fs/cgroup/unified', 'cgroup2'),
      _mount('/sys/fs/cgroup/memory', 'cgroup')], 'hybrid'),
    ([_mount('/sys/fs/cgroup', 'tmpfs'), _mount('/sys/fs/cgroup/memory', 'cgroup')], 'v1'),
    ([_mount('/sys/fs/cgroup', 'cgroup')], 'v1'),
    # the last mount on the path is the one seen
    ([_mount('/sys/fs/cgroup', 'tmpfs'), _mount('/sys/fs/cgroup', 'cgroup2')], 'v2'),
    ([_mount('/sys/fs/cgroup', 'cgroup2'), _mount('/sys/fs/cgroup', 'tmpfs')], None),
    (['garbage', _mount('/sys/fs/cgroup/unified', 'cgroup2')], 'hybrid'),
    ([_mount('/sys/fs/cgroup/unified', 'tmpfs')], None),
    # v1 is a cgroup (v1) filesystem under /sys/fs/cgroup, not another one there nor one elsewhere
    ([_mount('/sys/fs/cgroup', 'tmpfs'), _mount('/sys/fs/cgroup/systemd', 'tmpfs')], None),
    ([_mount('/mnt/cgroup', 'cgroup')], None),
    ([], None),
])
def test_the_cgroup_layout_from_mountinfo(files, mounts, layout):
    files['/proc/self/mountinfo'] = '\n'.join(mounts)
    assert E._cgroup() == layout


@requires_root
def test_without_cap_sys_admin_root_cannot_mount():
    """can_mount needs CAP_SYS_ADMIN as well as a mount namespace its user namespace owns (this one does)."""
    def can_mount():
        return E.gather(_context.ProbeContext())['can_mount']
    assert in_child(can_mount) is True
    assert in_child(can_mount, lambda: drop_effective_caps([CAP_SYS_ADMIN])) is False


@requires_root
def test_criu_can_start_unless_something_blocks_it():
    """Here criu can start; in unshare -Ur its start-up mount is refused: criu_can_start says so, with why."""
    def start():
        env = E.gather(_context.ProbeContext())
        return [env['criu_can_start'], env['criu_start_blockers']]
    assert in_child(start) == [True, []]
    can, blockers = in_child(start, enter_user_namespace)
    assert can is False and blockers


@pytest.mark.parametrize('given, lsm', [
    # securityfs' list, AppArmor's own attr file
    ({'/sys/kernel/security/lsm': 'lockdown,capability,yama,apparmor',
      '/sys/module/apparmor/parameters/enabled': 'Y',
      '/proc/self/attr/apparmor/current': 'docker-default (enforce)'},
     {'list': ['lockdown', 'capability', 'yama', 'apparmor'],
      'apparmor': {'enabled': True, 'profile': 'docker-default', 'mode': 'enforce'},
      'selinux': {'enabled': False, 'enforcing': False}}),
    # before Linux 5.1 (no apparmor subdirectory): the generic attr file, AppArmor being the major LSM
    ({'/sys/kernel/security/lsm': 'capability,apparmor', '/sys/module/apparmor/parameters/enabled': 'Y',
      '/proc/self/attr/current': 'unconfined'},
     {'list': ['capability', 'apparmor'], 'apparmor': {'enabled': True, 'profile': 'unconfined', 'mode': 'unconfined'},
      'selinux': {'enabled': False, 'enforcing': False}}),
    # the generic attr file is SELinux's when SELinux is listed: not read as AppArmor's
    ({'/sys/kernel/security/lsm': 'capability,selinux,apparmor', '/sys/module/apparmor/parameters/enabled': 'Y',
      '/proc/self/attr/current': 'system_u:system_r:init_t:s0', '/sys/fs/selinux/enforce': '1'},
     {'list': ['capability', 'selinux', 'apparmor'], 'apparmor': {'enabled': True, 'profile': None, 'mode': None},
      'selinux': {'enabled': True, 'enforcing': True}}),
    # AppArmor built in but disabled; SELinux permissive
    ({'/sys/kernel/security/lsm': 'capability,selinux', '/sys/module/apparmor/parameters/enabled': 'N',
      '/proc/self/attr/current': 'system_u:system_r:init_t:s0', '/sys/fs/selinux/enforce': '0'},
     {'list': ['capability', 'selinux'], 'apparmor': {'enabled': False, 'profile': None, 'mode': None},
      'selinux': {'enabled': True, 'enforcing': False}}),
    # no module parameter: the list decides
    ({'/sys/kernel/security/lsm': 'capability,apparmor', '/proc/self/attr/apparmor/current': 'p (complain)'},
     {'list': ['capability', 'apparmor'], 'apparmor': {'enabled': True, 'profile': 'p', 'mode': 'complain'},
      'selinux': {'enabled': False, 'enforcing': False}}),
    # SELinux listed, its filesystem not mounted here: enforcing is unknown, not False
    ({'/sys/kernel/security/lsm': 'capability,selinux'},
     {'list': ['capability', 'selinux'], 'apparmor': {'enabled': False, 'profile': None, 'mode': None},
      'selinux': {'enabled': True, 'enforcing': None}}),
    # securityfs hidden (a container): SELinux seen by its enforce file alone
    ({'/sys/fs/selinux/enforce': '1'},
     {'list': None, 'apparmor': {'enabled': False, 'profile': None, 'mode': None},
      'selinux': {'enabled': True, 'enforcing': True}}),
])
def test_the_security_modules_from_their_files(files, given, lsm):
    files.update(given)
    assert E._lsm() == lsm


def test_nothing_readable_and_no_sysfs_is_unknown(files, monkeypatch):
    monkeypatch.setattr(E.os.path, 'isdir', lambda path: False)
    assert E._lsm() == {'list': None, 'apparmor': {'enabled': None, 'profile': None, 'mode': None},
                        'selinux': {'enabled': None, 'enforcing': None}}


@pytest.mark.parametrize('version, release, proc_version, gvisor', [
    (E.GVISOR_VERSION, '4.4.0', None, True),
    ('#1 SMP PREEMPT_DYNAMIC', '4.4.0-gVisor', None, True),
    ('#1 SMP PREEMPT_DYNAMIC', '4.4.0', 'Linux version 4.4.0 #1 SMP (gvisor)', True),
    ('#1 SMP PREEMPT_DYNAMIC', '6.1.0', 'Linux version 6.1.0 (debian-kernel@lists.debian.org)', False),
    ('#1 SMP PREEMPT_DYNAMIC', '6.1.0', None, False),
])
def test_gvisor_from_its_kernel_stamp(files, monkeypatch, version, release, proc_version, gvisor):
    uname = os.uname()
    monkeypatch.setattr(E.os, 'uname', lambda: os.uname_result(uname[:2] + (release, version) + uname[4:]))
    if proc_version is not None:
        files['/proc/version'] = proc_version
    assert E._gvisor() is gvisor
