# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""environment_fix() cases the other tests left open (found by mutating
_environment_fix.py): an errno recorded as a number or a bare name rather
than errno_name, and a call the container's seccomp profile refuses in a
probe no table entry names.  The environments are dictionaries like
_environment.gather()'s, since the tests cannot be a container of each kind;
tests/system/test_environment.py checks this host's."""

import errno

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _environment_fix as F


def env(**changes):
    base = {'container': 'docker', 'container_privileged': False, 'capabilities': ['chown', 'kill'],
            'proc_sys_writable': False, 'seccomp': 2, 'user_namespace': False, 'yama_ptrace_scope': 1, 'wsl': None,
            'gvisor': False, 'arch': 'x86_64',
            'lsm': {'list': None, 'apparmor': {'enabled': False, 'profile': None, 'mode': None},
                    'selinux': {'enabled': False, 'enforcing': False}}}
    base.update(changes)
    return base


def failed(**evidence):
    return {'status': 'unsupported', 'message': '', 'evidence': evidence}


@pytest.mark.parametrize('evidence', [{'errno_name': 'EROFS'}, {'errno': errno.EROFS}, {'errno': 'EROFS'}],
                         ids=['errno_name', 'number', 'name'])
def test_the_errno_counts_however_the_probe_recorded_it(evidence):
    """A read-only /proc/sys is named from EROFS whether it came as errno_name, a number or a name."""
    fix = F.environment_fix('ns_last_pid', failed(**evidence), env())
    assert fix.startswith('this docker container is the cause, not the kernel: /proc/sys is read-only;')
    assert '--security-opt systempaths=unconfined' in fix


@pytest.mark.parametrize('evidence', [{'errno': 0}, {'errno': None}, {}])
def test_no_errno_is_no_refusal_of_a_file_the_kernel_lacks(evidence):
    """errno 0 is no error: a probe that recorded none is judged by its capabilities alone, not as EROFS."""
    fix = F.environment_fix('ns_last_pid', failed(**evidence), env())
    assert fix is None


def test_a_call_the_seccomp_profile_refuses_in_a_probe_without_an_entry_names_seccomp():
    """pidfd_store is in no table entry: EPERM under the default seccomp profile (mode 2) is the filter's."""
    fix = F.environment_fix('pidfd_store', failed(errno_name='EPERM'), env())
    assert fix == ('this docker container is the cause, not the kernel: a seccomp filter is on; run the container '
                   'with --privileged, or at least with --security-opt seccomp=unconfined')
    # without a filter, the refusal is the confinement's in general
    fix = F.environment_fix('pidfd_store', failed(errno_name='EPERM'), env(seccomp=0))
    assert fix == ('this docker container\'s confinement refuses it (EPERM), not the kernel: run the container '
                   'with --privileged')


def test_a_container_of_another_manager_gets_every_part_in_plain_words():
    """A container no option table knows ("oci": only /run/.containerenv or the like says so) is told each part,
    and why each one is needed."""
    apparmor = {'list': 'apparmor', 'apparmor': {'enabled': True, 'profile': 'oci-default', 'mode': 'enforce'},
                'selinux': {'enabled': False, 'enforcing': False}}
    fix = F.environment_fix('tun_cr', failed(errno_name='EPERM'), env(container='oci', lsm=apparmor))
    assert fix == ('this oci container is the cause, not the kernel: CAP_NET_ADMIN is not granted; run the container '
                   'privileged (with CAP_NET_ADMIN)')
    fix = F.environment_fix('ipc', failed(errno_name='EACCES'), env(container='oci'))
    assert fix == ('this oci container is the cause, not the kernel: CAP_SYS_ADMIN is not granted, /proc/sys is '
                   'read-only; run the container privileged (with CAP_SYS_ADMIN, a writable /proc/sys)')
    fix = F.environment_fix('uffd', failed(errno_name='EPERM'), env(container='oci'))
    assert fix == ('this oci container is the cause, not the kernel: CAP_SYS_PTRACE is not granted, a seccomp filter '
                   'is on; run the container privileged (with CAP_SYS_PTRACE, no seccomp filter)')
    confined = env(container='oci', lsm=apparmor, capabilities=['sys_admin'])
    fix = F.environment_fix('autofs', failed(errno_name='EPERM'), confined)
    assert fix == ('this oci container is the cause, not the kernel: AppArmor confines it (profile oci-default); '
                   'run the container privileged (AppArmor unconfined)')
    fix = F.environment_fix('tun', failed(errno_name='ENOENT'), env(container='oci'))
    assert fix == ('this oci container is the cause, not the kernel: /dev/net/tun is not in the container; '
                   'run the container privileged (/dev/net/tun)')


def test_a_read_only_proc_sys_also_names_the_capability_the_probe_lacks():
    """EROFS is a refusal of the container's, like EPERM: the capability ipc needs is named with /proc/sys."""
    fix = F.environment_fix('ipc', failed(errno_name='EROFS'), env())
    assert '--cap-add SYS_ADMIN' in fix and '--security-opt systempaths=unconfined' in fix


def test_cap_checkpoint_restore_stands_for_cap_sys_admin():
    """map_files and clone3_set_tid need CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (Linux 5.9): with the second,
    no capability is missing."""
    fix = F.environment_fix('map_files', failed(errno_name='EPERM'), env(capabilities=['checkpoint_restore']))
    assert 'CAP_SYS_ADMIN' not in fix and 'SYS_ADMIN' not in fix


@pytest.mark.parametrize('probe_id', ['ptrace_peeksiginfo', 'seccomp_suspend', 'seccomp_filters', 'get_rseq_conf',
                                      'breakpoints'])
def test_every_probe_that_ptraces_is_stopped_by_yama(probe_id):
    fix = F.environment_fix(probe_id, failed(errno_name='EPERM'), env(container=None, yama_ptrace_scope=3))
    assert fix.startswith('kernel.yama.ptrace_scope is 3, which no capability overrides')
    scope_2 = env(container=None, yama_ptrace_scope=2, capabilities=['sys_admin'])
    fix = F.environment_fix(probe_id, failed(errno_name='EPERM'), scope_2)
    assert fix.startswith('kernel.yama.ptrace_scope is 2 (only CAP_SYS_PTRACE may ptrace)')


def test_a_pod_is_given_the_security_context_it_lacks():
    fix = F.environment_fix('uffd', failed(errno_name='EPERM'), env(container='kubernetes'))
    assert fix.endswith('set securityContext.privileged: true on the container, or at least securityContext '
                        'capabilities.add: [SYS_PTRACE], seccompProfile.type: Unconfined')
    apparmor = {'list': 'apparmor', 'apparmor': {'enabled': True, 'profile': 'cri-containerd.apparmor.d',
                                                 'mode': 'enforce'}, 'selinux': {'enabled': False, 'enforcing': False}}
    pod = env(container='kubernetes', lsm=apparmor, capabilities=['sys_admin'])
    fix = F.environment_fix('autofs', failed(errno_name='EPERM'), pod)
    assert fix.endswith('or at least securityContext appArmorProfile.type: Unconfined')


APPARMOR = {'list': 'apparmor', 'apparmor': {'enabled': True, 'profile': 'lxc-container-default-cgns', 'mode': 'enforce'},
            'selinux': {'enabled': False, 'enforcing': False}}


@pytest.mark.parametrize('container, probe_id, err, lsm, options', [
    ('lxc', 'autofs', 'EPERM', APPARMOR, "change the container's configuration: lxc.apparmor.profile = unconfined"),
    ('lxc', 'tun', 'ENOENT', None, "change the container's configuration: lxc.mount.entry = /dev/net/tun dev/net/tun "
                                   "none bind,create=file (and allow c 10:200)"),
    ('systemd-nspawn', 'uffd', 'EPERM', None,
     'run systemd-nspawn with --capability=CAP_SYS_PTRACE, SYSTEMD_SECCOMP=0 in its environment'),
    ('systemd-nspawn', 'tun', 'ENOENT', None, 'run systemd-nspawn with --bind=/dev/net/tun'),
])
def test_lxc_and_nspawn_are_told_in_their_own_terms(container, probe_id, err, lsm, options):
    changes = {'container': container, 'capabilities': ['sys_admin']}
    if lsm:
        changes['lsm'] = lsm
    fix = F.environment_fix(probe_id, failed(errno_name=err), env(**changes))
    assert fix.startswith('this %s container is the cause, not the kernel: ' % container)
    assert fix.endswith('; ' + options)


@pytest.mark.parametrize('changes', [{'gvisor': True}, {'wsl': 1}, {}])
def test_a_missing_python_library_is_never_the_environment_s_doing(changes):
    result = {'status': 'unknown', 'message': 'No module named pyroute2', 'evidence': {'library': 'pyroute2'}}
    assert F.environment_fix('sock_diag', result, env(**changes)) is None


def test_a_probe_that_recorded_no_errno_is_still_told_the_capability_it_lacks():
    fix = F.environment_fix('tcp', failed(), env(seccomp=0))
    assert fix == ('this docker container is the cause, not the kernel: CAP_NET_ADMIN is not granted; run the '
                   'container with --privileged, or at least with --cap-add NET_ADMIN')


def test_yama_scope_2_in_a_container_asks_for_cap_sys_ptrace():
    fix = F.environment_fix('ptrace_peeksiginfo', failed(errno_name='EPERM'), env(yama_ptrace_scope=2))
    assert fix == ('this docker container is the cause, not the kernel: CAP_SYS_PTRACE is not granted; run the '
                   'container with --privileged, or at least with --cap-add SYS_PTRACE')


@pytest.mark.parametrize('probe_id, err, changes, fix', [
    # each part is named only when the probe needs it and the errno is the confinement's
    ('tcp', 'EACCES', {}, 'CAP_NET_ADMIN is not granted; run the container with --privileged, or at least with '
                          '--cap-add NET_ADMIN'),
    ('tcp', 'EPERM', {'lsm': APPARMOR}, 'CAP_NET_ADMIN is not granted; run the container with --privileged, or at '
                                        'least with --cap-add NET_ADMIN'),
    ('tun_cr', 'EPERM', {}, 'CAP_NET_ADMIN is not granted; run the container with --privileged, or at least with '
                            '--cap-add NET_ADMIN'),
    ('uffd', 'EPERM', {'seccomp': 0}, 'CAP_SYS_PTRACE is not granted; run the container with --privileged, or at '
                                      'least with --cap-add SYS_PTRACE'),
])
def test_only_the_parts_that_stand_in_the_probe_s_way_are_named(probe_id, err, changes, fix):
    assert F.environment_fix(probe_id, failed(errno_name=err), env(**changes)) == (
        'this docker container is the cause, not the kernel: ' + fix)


@pytest.mark.parametrize('probe_id, err, changes', [
    ('uffd', 'EINVAL', {}),                                          # the kernel's answer, not seccomp's
    ('autofs', 'ENODEV', {'lsm': APPARMOR, 'capabilities': ['sys_admin']}),   # no autofs: AppArmor is no cause
])
def test_an_errno_of_the_kernel_s_is_no_confinement(probe_id, err, changes):
    assert F.environment_fix(probe_id, failed(errno_name=err), env(**changes)) is None


def test_apparmor_in_complain_mode_confines_nothing():
    complain = {'list': 'apparmor', 'apparmor': {'enabled': True, 'profile': 'docker-default', 'mode': 'complain'},
                'selinux': {'enabled': False, 'enforcing': False}}
    fix = F.environment_fix('autofs', failed(errno_name='EPERM'), env(lsm=complain, capabilities=['sys_admin']))
    assert fix == ("this docker container's confinement refuses it (EPERM), not the kernel: run the container with "
                   "--privileged")


def test_a_probe_with_its_confinement_granted_is_not_blamed_on_seccomp():
    """tcp has what it needs (CAP_NET_ADMIN): its EPERM is no call the seccomp profile refuses."""
    fix = F.environment_fix('tcp', failed(errno_name='EPERM'), env(capabilities=['net_admin']))
    assert fix == ("this docker container's confinement refuses it (EPERM), not the kernel: run the container with "
                   "--privileged")


def test_a_pod_without_a_writable_proc_sys_can_only_be_privileged():
    fix = F.environment_fix('ns_last_pid', failed(errno_name='EROFS'), env(container='kubernetes'))
    assert fix == ('this kubernetes container is the cause, not the kernel: /proc/sys is read-only; set '
                   'securityContext.privileged: true on the container (a pod has no other way to a writable /proc/sys '
                   'or /dev/net/tun), or run criu on the node')


ROOTLESS = {'container': 'podman', 'user_namespace': True, 'capabilities': ['sys_admin', 'net_admin'], 'seccomp': 0}


def test_rootless_is_named_only_for_a_refusal_a_capability_could_lift():
    """In its own user namespace a container's capabilities do not reach the host's; a file the kernel lacks
    (ENOENT) is no refusal, and a read-only /proc/sys is fixed in the container's options."""
    assert 'rootless' in F.environment_fix('tcp', failed(errno_name='EPERM'), env(**ROOTLESS))
    assert F.environment_fix('ns_last_pid', failed(errno_name='ENOENT'), env(**ROOTLESS)) is None
    fix = F.environment_fix('ns_last_pid', failed(errno_name='EROFS'), env(**ROOTLESS))
    assert fix.startswith('this podman container is the cause, not the kernel: /proc/sys is read-only;')


def test_a_probe_without_a_result_has_no_fix():
    assert F.environment_fix('tcp', None, env()) is None
    assert F.environment_fix('tcp', {}, env()) is None
    assert F.environment_fix('tcp', failed(errno_name='EPERM'), None) is None   # no environment facts


HOST = {'container': None, 'container_privileged': None, 'capabilities': ['sys_admin', 'net_admin', 'sys_ptrace'],
        'proc_sys_writable': True, 'seccomp': 0}


@pytest.mark.parametrize('probe_id, err, changes', [
    ('tcp', 'EPERM', {'arch': 'aarch64'}),               # arm64's fix is for soft-dirty only
    ('tcp', 'EPERM', {'yama_ptrace_scope': 3}),          # Yama stops ptrace, not TCP repair
    ('ptrace_peeksiginfo', 'ESRCH', {'yama_ptrace_scope': 3}),
    ('tcp', 'EPERM', {'wsl': 2}),                        # refused, not missing: no kernel build helps
    ('ptrace_peeksiginfo', 'EPERM', {'yama_ptrace_scope': 2}),   # CAP_SYS_PTRACE is granted
    ('ptrace_peeksiginfo', 'EPERM', {'capabilities': ['sys_admin']}),   # scope 1: Yama is no cause
    ('timens', 'EACCES', {'proc_sys_writable': False}),  # not a /proc/sys file
    ('ns_last_pid', 'EACCES', {}),                       # /proc/sys is writable: the registry's fix stands
])
def test_on_a_host_an_environment_rule_applies_only_to_its_own_case(probe_id, err, changes):
    host = dict(HOST, **changes)
    assert F.environment_fix(probe_id, failed(errno_name=err), env(**host)) is None


def test_an_lxc_container_with_a_read_only_proc_sys_is_told_to_mount_it_read_write():
    fix = F.environment_fix('ns_last_pid', failed(errno_name='EROFS'), env(container='lxc'))
    assert fix == ("this lxc container is the cause, not the kernel: /proc/sys is read-only; change the container's "
                   "configuration: lxc.mount.auto = proc:rw sys:rw")


@pytest.mark.parametrize('probe_id', ['move_mount_set_group', 'autofs'])
def test_a_tmp_criu_cannot_write_is_not_the_container_s_confinement(probe_id):
    """A read-only /tmp (a container run read-only) gives EROFS at criu's mkdtemp(): the probe's own fix (a
    tmpfs on /tmp) stands, not "--privileged", which would not make /tmp writable."""
    result = failed(errno_name='EROFS', failed_step='mkdtemp(/tmp/.criu.mnt.XXXXXX)')
    assert F.environment_fix(probe_id, result, env(capabilities=['sys_admin'])) is None
    # the same errno at a mount is the confinement's
    assert F.environment_fix(probe_id, failed(errno_name='EROFS'), env(capabilities=['sys_admin'])) is not None


@pytest.mark.parametrize('other_pid_namespace, err, named', [
    (True, 'ENOENT', True),      # a /proc/PID criu looks for is not in this /proc
    (True, 'EPERM', False),      # another cause: the /proc is not why
    (False, 'ENOENT', False),
    (None, 'ENOENT', False),     # not known
])
def test_a_proc_of_another_pid_namespace_is_named_for_a_missing_proc_file(other_pid_namespace, err, named):
    fix = F.environment_fix('proc_stat', failed(errno_name=err),
                            env(container=None, proc_of_other_pid_namespace=other_pid_namespace))
    assert (fix == F.PROC_OF_OTHER_PID_NAMESPACE_FIX) is named, fix


@pytest.mark.parametrize('container', [None, 'podman'])
@pytest.mark.parametrize('probe_id', ['sock_diag', 'newifindex', 'tcp'])
def test_a_refused_socket_family_names_the_filter_not_the_kernel(container, probe_id):
    """EAFNOSUPPORT from socket() for a family the kernel has (RestrictAddressFamilies=): the filter's fix, in a
    container too (a podman container's default confinement refuses no family: its options would not help)."""
    fix = F.environment_fix(probe_id, failed(errno_name='EAFNOSUPPORT'), env(container=container))
    assert fix == F.SOCKET_FAMILY_REFUSED_FIX
    assert F.environment_fix(probe_id, failed(errno_name='EPROTONOSUPPORT'), env(container=None)) is None


ROOT = ['sys_admin', 'net_admin', 'sys_ptrace', 'chown']


@pytest.mark.parametrize('changes, err, named', [
    ({}, 'EPERM', True),                                     # root with every capability: the filter refused it
    ({'seccomp': 0}, 'EPERM', False),                        # no filter: another cause
    ({'euid': 1000}, 'EPERM', False),                        # not root: the want of privilege may be the cause
    ({'user_namespace': True}, 'EPERM', False),              # capabilities that do not reach the kernel's objects
    ({'capabilities': ['sys_admin', 'chown']}, 'EPERM', False),
    ({}, 'ENOENT', False),                                   # the kernel's answer
    ({}, 'EACCES', False),                                   # an LSM's answer more often than a filter's
])
def test_a_seccomp_filter_outside_a_container_is_named_only_where_nothing_else_refuses(changes, err, named):
    fix = F.environment_fix('network_lock_nftables', failed(errno_name=err),
                            env(**dict({'container': None, 'euid': 0, 'capabilities': ROOT}, **changes)))
    assert (fix == F.SECCOMP_FILTER_FIX) is named, fix


def test_the_kernel_refuses_the_seccomp_checks_to_any_filtered_tracer():
    root = env(container=None, euid=0, capabilities=ROOT)
    assert F.environment_fix('seccomp_filters', failed(errno_name='EACCES'), root) == F.SECCOMP_FILTER_FIX
    assert F.environment_fix('seccomp_suspend', failed(errno_name='EPERM'), root) == F.SECCOMP_FILTER_FIX
    # a probe's own fix (a cause it saw) stands
    own = dict(failed(errno_name='EPERM'), fix='the probe\'s own')
    assert F.environment_fix('network_lock_nftables', own, root) is None


@pytest.mark.parametrize('release, seccomp, named', [
    ('6.1.0-40-amd64', 2, True),      # clone3() is 5.3, set_tid 5.5: ENOSYS is the filter's
    ('5.4.0', 2, False),              # older than the feature: the kernel's own answer
    (None, 2, False),                 # the release unknown
    ('6.1.0-40-amd64', 0, False),     # no filter
])
def test_enosys_is_a_filter_s_only_on_a_kernel_that_has_the_call(release, seccomp, named):
    fix = F.environment_fix('clone3_set_tid', failed(errno_name='ENOSYS'),
                            env(container=None, euid=0, capabilities=ROOT, seccomp=seccomp), release)
    assert (fix == F.SECCOMP_FILTER_FIX) is named, fix


@pytest.mark.parametrize('probe_id', ['tun', 'tun_ns'])
def test_a_missing_tun_node_outside_a_container_is_named_unless_the_kernel_lacks_tun(probe_id):
    """Outside a container (a /dev made by hand, systemd's PrivateDevices=yes) the node is missing, not the option
    (tests/system/test_private_devices.py); a kernel built without CONFIG_TUN keeps the kernel's fix, and a container
    its own."""
    host = env(container=None, capabilities=['sys_admin', 'net_admin'], seccomp=0, proc_sys_writable=True)
    assert F.environment_fix(probe_id, failed(errno_name='ENOENT'), host) == F.TUN_NODE_MISSING_FIX
    assert F.environment_fix(probe_id, failed(errno_name='ENOENT'), host, kernel_lacks=True) is None
    assert F.environment_fix(probe_id, failed(errno_name='EPERM'), host) is None
    assert '--device /dev/net/tun' in F.environment_fix(probe_id, failed(errno_name='ENOENT'), env(container='podman'))
