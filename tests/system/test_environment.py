# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the environment facts (_environment.gather) and of the
fixes that depend on them (_environment_fix.environment_fix).

Each context is real: this host, a user namespace, a read-only /proc/sys, a
plain user without capabilities, and rootful podman containers (privileged,
unprivileged, and unprivileged with a writable /proc/sys).  Expected values
come from independent sources: coreutils' ``stat -f`` for the cgroup
layout, ``readlink`` of the namespace links, ``uname``, the options the
container was started with.  The unit cases at the end give environment_fix
the environments this machine cannot be (WSL, gVisor, arm64, Kubernetes, LXC,
systemd-nspawn, Yama).
"""

import json
import os
import platform
import shutil
import subprocess
import textwrap

import pytest

import podman_images
from conftest import REPO, NOBODY, become_user, enter_user_namespace, in_child, requires_root
from test_probes_proc import read_only_proc_sys

from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment as E
from ansible_collections.criu.check.plugins.module_utils import _environment_fix as F
from ansible_collections.criu.check.plugins.module_utils import _registry
from ansible_collections.criu.check.plugins.module_utils import _result

NEW_KEYS = ('container_privileged', 'wsl', 'gvisor', 'virtualization', 'arch', 'lsm', 'cgroup', 'seccomp_filters')
OLD_KEYS = ('uid', 'euid', 'unprivileged', 'capabilities', 'cap_eff', 'yama_ptrace_scope', 'cap_last_cap', 'seccomp',
            'no_new_privs', 'user_namespace', 'proc_sys_writable', 'can_mount', 'container', 'cwd', 'criu_can_start',
            'criu_start_blockers')


# ---------------------------------------------------------------- independent observations

def stat_fs_type(path):
    proc = subprocess.run(['stat', '-fc', '%T', path], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          universal_newlines=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def cgroup_by_stat():
    """The cgroup layout as ``stat -fc %T`` says it."""
    top = stat_fs_type('/sys/fs/cgroup')
    if top == 'cgroup2fs':
        return 'v2'
    if top == 'tmpfs':
        return 'hybrid' if stat_fs_type('/sys/fs/cgroup/unified') == 'cgroup2fs' else 'v1'
    return None


def in_initial_pid_namespace():
    return os.readlink('/proc/self/ns/pid') == 'pid:[4026531836]'


def gather(unprivileged=False):
    return E.gather(_context.ProbeContext(unprivileged=unprivileged))


def probe_and_fix(probe_id, env, unprivileged=False):
    result = _registry.BY_ID[probe_id].func(_context.ProbeContext(unprivileged=unprivileged))
    return result, F.environment_fix(probe_id, result, env)


# ---------------------------------------------------------------- this host

def test_keys_kept_and_added():
    env = gather()
    assert set(OLD_KEYS + NEW_KEYS) <= set(env)
    json.dumps(env)   # facts must be JSON


@pytest.mark.skipif(not in_initial_pid_namespace(), reason='the suite itself runs in a container here')
def test_host():
    env = gather()
    assert env['container'] is None
    assert env['container_privileged'] is None
    if os.path.exists('/.dockerenv'):
        # This machine's root filesystem came from a Docker image: the file
        # alone must not make a virtual machine a container.
        assert any('/.dockerenv' in e for e in env['container_evidence'])
    assert env['cgroup'] == cgroup_by_stat()
    assert env['arch'] == subprocess.check_output(['uname', '-m'], universal_newlines=True).strip()
    release = subprocess.check_output(['uname', '-r'], universal_newlines=True)
    assert env['wsl'] == (None if 'microsoft' not in release.lower() else env['wsl'])
    assert env['gvisor'] is ('gvisor' in subprocess.check_output(['uname', '-a'], universal_newlines=True).lower()
                             or subprocess.check_output(['uname', '-v'], universal_newlines=True).strip()
                             == '#1 SMP Sun Jan 10 15:06:54 PST 2016')
    assert env['user_namespace'] is (os.readlink('/proc/self/ns/user') != 'user:[4026531837]')
    status = dict(line.split(':', 1) for line in open('/proc/self/status').read().splitlines() if ':' in line)
    assert env['seccomp'] == int(status['Seccomp'])
    assert env['seccomp_filters'] == int(status['Seccomp_filters'])
    lsm_file = '/sys/kernel/security/lsm'
    assert env['lsm']['list'] == (open(lsm_file).read().strip().split(',') if os.access(lsm_file, os.R_OK) else None)
    selinux = os.path.exists('/sys/fs/selinux/enforce') or 'selinux' in (env['lsm']['list'] or ())
    assert env['lsm']['selinux']['enabled'] is selinux
    with open('/proc/cpuinfo') as f:
        flags = next((line.split() for line in f if line.startswith('flags')), [])
    if 'hypervisor' in flags:
        assert env['virtualization'] is not None
    elif not os.path.exists('/sys/class/dmi/id/sys_vendor'):
        assert env['virtualization'] is None


def test_cost_in_the_parent_process():
    """gather() runs in the module's own process: it must stay cheap."""
    import time
    ctx = _context.ProbeContext()
    E.gather(ctx)
    times = []
    for dummy in range(20):
        start = time.perf_counter()
        E.gather(ctx)
        times.append(time.perf_counter() - start)
    assert sorted(times)[10] < 0.010, times


@requires_root
def test_user_namespace():
    env, host = in_child(gather, enter_user_namespace), gather()
    assert env['user_namespace'] is True
    assert host['user_namespace'] is False or not in_initial_pid_namespace()
    # unshare -Ur is no container: the PID namespace is the host's
    assert env['container'] == host['container']
    assert env['cgroup'] == host['cgroup']
    assert env['can_mount'] is False


@requires_root
def test_in_a_user_namespace_criu_stops_once_at_its_test_mount():
    """criu 4.1.1 in unshare -Ur stops at kerndat_has_move_mount_set_group() ("Fail to mount tmfps ...:
    Operation not permitted"), once.  The environment's mount test and the move_mount_set_group probe's
    kerndat step are that one cause: one blocker, with the mount test's fix (it was listed twice)."""
    facts = in_child(lambda: _check.run(_check.by_categories([_check.ALL]), timeout=10), enter_user_namespace)
    assert facts['probes']['move_mount_set_group']['evidence'].get(_result.KERNDAT_FLAG) is True
    assert facts['environment']['criu_start_blockers'] == ['%s %s' % (_decide.KERNDAT_FAILED, _decide.MOUNT_TEST)]


@requires_root
def test_plain_user_without_capabilities():
    env = in_child(lambda: gather(unprivileged=True), lambda: become_user(NOBODY, NOBODY))
    assert env['capabilities'] == [] and env['euid'] == NOBODY
    assert env['container'] == gather()['container']
    assert env['container_privileged'] is None or env['container'] is not None


@requires_root
def test_read_only_proc_sys():
    def body():
        env = gather()
        result, fix = probe_and_fix('ns_last_pid', env)
        return env, result, fix

    env, result, fix = in_child(body, read_only_proc_sys)
    assert env['proc_sys_writable'] is False and gather()['proc_sys_writable'] is True
    assert result['status'] == 'unsupported' and result['evidence']['errno_name'] == 'EROFS'
    if env['container'] is None:
        assert 'mount -o remount,rw /proc/sys' in fix


# ---------------------------------------------------------------- podman containers

IMAGES = ('localhost/criu-check-debian13:latest', 'localhost/criu-check-trixie:latest',
          'localhost/criu-check-debian13-criu:latest', 'localhost/criu-check-debian12:latest')

IN_CONTAINER = textwrap.dedent('''
    import json, os, subprocess, sys, tempfile
    root = tempfile.mkdtemp()
    os.makedirs(root + '/ansible_collections/criu')
    os.symlink('/src', root + '/ansible_collections/criu/check')
    sys.path.insert(0, root)
    from ansible_collections.criu.check.plugins.module_utils import _context, _environment as E, _registry
    from ansible_collections.criu.check.plugins.module_utils import _environment_fix as F
    ctx = _context.ProbeContext()
    env = E.gather(ctx)
    probes = {}
    for probe_id in sys.argv[1:]:
        result = _registry.BY_ID[probe_id].func(ctx)
        probes[probe_id] = {'status': result['status'], 'fix': F.environment_fix(probe_id, result, env)}
    stat = lambda p: subprocess.run(['stat', '-fc', '%T', p], stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    print(json.dumps({'env': env, 'probes': probes, 'stat': [stat('/sys/fs/cgroup'), stat('/sys/fs/cgroup/unified')],
                      'pidns': os.readlink('/proc/self/ns/pid')}))
''')
PROBES = ('ns_last_pid', 'ipc', 'tcp', 'unaligned_vmsplice', 'tun_ns', 'mem_dirty_track')   # no library needed


def _podman():
    if os.geteuid() != 0:
        pytest.skip('rootful podman needs root')
    if not shutil.which('podman'):
        pytest.skip('podman is not installed (apt-get install podman runc)')
    env = podman_images.podman_env()
    image = _first_image(env)
    if image is None:
        # A fresh machine: build the images (cached, as for the fleet and molecule stages, which use them too).
        try:
            podman_images.build_images()
        except RuntimeError as exc:
            pytest.skip('no test image, and tests/tools/build_images.sh could not build one: %s'
                        % str(exc).strip()[-300:])
        image = _first_image(env)
        assert image, 'tests/tools/build_images.sh succeeded but built none of %s' % (IMAGES,)
    return image, env


def _first_image(env):
    for image in IMAGES:
        if subprocess.run(['podman', 'image', 'exists', image], env=env, check=False).returncode == 0:
            return image
    return None


@pytest.fixture(scope='module')
def podman(tmp_path_factory):
    image, penv = _podman()
    script = tmp_path_factory.mktemp('env') / 'in_container.py'
    script.write_text(IN_CONTAINER)

    def run(*options):
        proc = subprocess.run(['podman', 'run', '--rm', '--init', '--network', 'none'] + list(options)
                              + ['-v', '%s:/src:ro' % REPO, '-v', '%s:/in_container.py:ro' % script,
                                 image, 'python3', '/in_container.py'] + list(PROBES),
                              env=penv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                              timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        out = json.loads(proc.stdout)
        top, unified = out['stat']
        out['cgroup_by_stat'] = ('v2' if top == 'cgroup2fs' else
                                 ('hybrid' if unified == 'cgroup2fs' else 'v1') if top == 'tmpfs' else None)
        return out
    return run


def _common_container_checks(out):
    env = out['env']
    assert env['container'] == 'podman'
    assert '/run/.containerenv exists' in env['container_evidence']
    assert out['pidns'] != 'pid:[4026531836]'
    assert env['cgroup'] == out['cgroup_by_stat']
    assert env['arch'] == platform.machine()
    assert env['user_namespace'] is False   # rootful podman, no --userns
    # the machine's hypervisor shows through the container
    assert env['virtualization'] == gather()['virtualization']


def test_podman_privileged(podman):
    out = podman('--privileged')
    _common_container_checks(out)
    env = out['env']
    assert env['container_privileged'] is True
    assert env['proc_sys_writable'] is True and env['seccomp'] == 0 and env['seccomp_filters'] == 0
    assert 'sys_admin' in env['capabilities']
    assert out['probes']['ns_last_pid'] == {'status': 'supported', 'fix': None}
    # a privileged container is no excuse: what fails is the kernel's
    assert out['probes']['mem_dirty_track']['fix'] is None


def test_podman_unprivileged(podman):
    out = podman()
    _common_container_checks(out)
    env, probes = out['env'], out['probes']
    assert env['container_privileged'] is False
    assert env['proc_sys_writable'] is False and env['seccomp'] == 2 and env['seccomp_filters'] >= 1
    assert 'sys_admin' not in env['capabilities'] and 'net_admin' not in env['capabilities']
    fix = probes['ns_last_pid']['fix']
    assert probes['ns_last_pid']['status'] == 'unsupported'
    assert '--privileged' in fix and '--security-opt systempaths=unconfined' in fix and 'CONFIG_' not in fix
    assert '--cap-add SYS_ADMIN' in probes['ipc']['fix'] and 'systempaths=unconfined' in probes['ipc']['fix']
    assert probes['tcp']['status'] == 'unsupported' and '--cap-add NET_ADMIN' in probes['tcp']['fix']
    assert probes['unaligned_vmsplice']['fix'].endswith('at least with --security-opt seccomp=unconfined')
    assert '--device /dev/net/tun' in probes['tun_ns']['fix']
    # soft-dirty is the host kernel's matter, in a container or not
    assert probes['mem_dirty_track']['fix'] is None


def test_podman_writable_proc_sys(podman):
    """Unprivileged but --security-opt systempaths=unconfined: not privileged,
    and ns_last_pid then needs nothing from the container."""
    out = podman('--security-opt', 'systempaths=unconfined')
    env = out['env']
    assert env['container'] == 'podman' and env['container_privileged'] is False
    assert env['proc_sys_writable'] is True
    assert out['probes']['ns_last_pid'] == {'status': 'supported', 'fix': None}
    assert 'systempaths' not in out['probes']['ipc']['fix'] and '--cap-add SYS_ADMIN' in out['probes']['ipc']['fix']


# ---------------------------------------------------------------- environment_fix, environments we cannot be

def _env(**changes):
    env = {'container': None, 'container_privileged': None, 'capabilities': ['sys_admin', 'net_admin', 'sys_ptrace'],
           'proc_sys_writable': True, 'seccomp': 0, 'user_namespace': False, 'yama_ptrace_scope': 1, 'wsl': None,
           'gvisor': False, 'arch': 'x86_64',
           'lsm': {'list': None, 'apparmor': {'enabled': False, 'profile': None, 'mode': None},
                   'selinux': {'enabled': False, 'enforcing': False}}}
    env.update(changes)
    return env


def _failed(errno_name=None, status='unsupported', **evidence):
    if errno_name:
        evidence['errno_name'] = errno_name
    return {'status': status, 'message': '', 'evidence': evidence}


UNPRIVILEGED_CONTAINER = dict(container_privileged=False, capabilities=['chown', 'kill'], proc_sys_writable=False,
                              seccomp=2)


@pytest.mark.parametrize('probe_id, result, env, expected', [
    ('map_files', _failed('ENOENT'), _env(wsl=1), 'not possible on WSL 1'),
    ('ns_last_pid', _failed('EROFS'), _env(wsl=1, container='docker', **UNPRIVILEGED_CONTAINER), 'use WSL 2'),
    ('tcp', _failed('EPERM'), _env(gvisor=True), 'gVisor'),
    ('mem_dirty_track', _failed(), _env(arch='aarch64'), 'no HAVE_ARCH_SOFT_DIRTY'),
    ('mem_dirty_track', _failed(), _env(wsl=2), 'CONFIG_MEM_SOFT_DIRTY=y and set kernel= under [wsl2]'),
    ('ns_last_pid', _failed('EROFS'), _env(container='docker', **UNPRIVILEGED_CONTAINER),
     '--privileged, or at least with --security-opt systempaths=unconfined'),
    ('ns_last_pid', _failed('EROFS'), _env(container='kubernetes', **UNPRIVILEGED_CONTAINER),
     'securityContext.privileged: true'),
    ('tcp', _failed('EPERM'), _env(container='kubernetes', **UNPRIVILEGED_CONTAINER),
     'capabilities.add: [NET_ADMIN]'),
    ('seccomp_suspend', _failed('EPERM'), _env(container='lxc', **UNPRIVILEGED_CONTAINER),
     'keep sys_admin (not in lxc.cap.drop); an empty lxc.seccomp.profile'),
    ('ns_last_pid', _failed('EROFS'), _env(container='systemd-nspawn', **UNPRIVILEGED_CONTAINER),
     'SYSTEMD_NSPAWN_API_VFS_WRITABLE=1'),
    ('tcp', _failed('EPERM'), _env(container='podman', container_privileged=False, user_namespace=True),
     'rootless'),
    ('autofs', _failed('EPERM'), _env(container='docker', container_privileged=False, seccomp=2,
                                      lsm={'apparmor': {'enabled': True, 'profile': 'docker-default', 'mode': 'enforce'}}),
     '--security-opt apparmor=unconfined'),
    # systemd-nspawn has no AppArmor option of its own: the fix must still say what to change
    ('autofs', _failed('EPERM'), _env(container='systemd-nspawn', container_privileged=False,
                                      lsm={'apparmor': {'enabled': True, 'profile': 'nspawn', 'mode': 'enforce'}}),
     'run systemd-nspawn with no AppArmor profile (none in AppArmorProfile= of the unit that starts it)'),
    ('ptrace_peeksiginfo', _failed('EPERM'), _env(yama_ptrace_scope=3), 'only a reboot undoes'),
    ('ptrace_peeksiginfo', _failed('EPERM'), _env(yama_ptrace_scope=2, capabilities=[]), 'CAP_SYS_PTRACE'),
    ('uffd', _failed('EPERM'), _env(user_namespace=True), 'vm.unprivileged_userfaultfd=1'),
    ('ns_last_pid', _failed('EROFS'), _env(proc_sys_writable=False), 'mount -o remount,rw /proc/sys'),
])
def test_environment_fix(probe_id, result, env, expected):
    assert expected in F.environment_fix(probe_id, result, env)


@pytest.mark.parametrize('probe_id, result, env', [
    # not a failure
    ('tcp', {'status': 'supported', 'message': '', 'evidence': {}}, _env(wsl=1)),
    # a missing Python library is no environment's doing
    ('sock_diag', _failed(status='unknown', library='pyroute2'), _env(container='docker', **UNPRIVILEGED_CONTAINER)),
    # the kernel lacks the file: no container option creates it
    ('ns_last_pid', _failed('ENOENT'), _env(container='podman', **UNPRIVILEGED_CONTAINER)),
    ('mem_dirty_track', _failed(), _env(container='podman', **UNPRIVILEGED_CONTAINER)),
    # a privileged container, a plain host: the registry's fix stands
    ('tcp', _failed('EPERM'), _env(container='podman', container_privileged=True)),
    ('tcp', _failed('EPERM'), _env(capabilities=[])),
    # WSL 2: a userland probe, one with a kernel config of none, one with its own fix, one undecided keep theirs
    ('external_net_ns', _failed(), _env(wsl=2)),
    ('nftables', _failed(), _env(wsl=2)),
    ('has_ipt_legacy', _failed(), _env(wsl=2)),
    ('mnt_id', _failed(), _env(wsl=2)),
    ('tun', dict(_failed(), fix='install iproute2'), _env(wsl=2)),
    ('mem_dirty_track', _failed(status='unknown'), _env(wsl=2)),
])
def test_environment_fix_none(probe_id, result, env):
    assert F.environment_fix(probe_id, result, env) is None
