# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtimes' gates: the answers no other test held, found by mutating _runtimes.

As tests/unit/test_runtimes.py: real version outputs and upstream configuration
files (tests/fixtures/runtimes) under a temporary root, run by the modules' runner."""

import os

import pytest

import conftest
from test_runtimes import CRIU_NONE, CRIU_OK, NOCRIU_MESSAGE, VERSIONS, gather, make_root, reasons

from ansible_collections.criu.check.plugins.module_utils import _runtimes as R


def _podman(tmp_path, criu):
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containers/containers.conf': 'containers-runc/containers.conf'})
    return gather(root, criu=criu)['podman']


def test_podman_pod_checkpoint_note_from_criu_3_16_on(tmp_path):
    """podman pod checkpoint needs criu 3.16 (pkg/criu/criu.go PodCriuVersion): 3.16.0 itself is enough."""
    note = 'Checkpointing whole pods (podman pod checkpoint) needs criu 3.16.'
    assert note not in _podman(tmp_path / 'a', dict(CRIU_OK, version='3.16'))['notes']
    older = _podman(tmp_path / 'b', dict(CRIU_OK, version='3.15.99'))
    assert note in older['notes'] and older['checkpoint'] == R.READY
    # as root (these tests run as root) podman can checkpoint: no note says otherwise
    assert not any('only as root' in n for n in older['notes'])


def _script(tmp_path, path, text, checkpoint_rc=0):
    """An executable that prints ``text`` and exits ``checkpoint_rc`` for ``checkpoint --help``."""
    target = tmp_path / path.lstrip('/')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('#!/bin/sh\n[ "$1" = checkpoint ] && exit %d\ncat %s\n' % (checkpoint_rc, text))
    target.chmod(0o755)
    return str(target)


@pytest.mark.parametrize('name, path', [
    ('crun', '/usr/bin/crun'), ('runc', '/usr/sbin/runc'), ('runj', '/usr/local/bin/runj'),
    ('kata', '/usr/bin/kata-runtime'), ('runsc', '/usr/local/bin/runsc'), ('ocijail', '/usr/local/bin/ocijail'),
])
def test_podman_finds_each_default_runtime(tmp_path, name, path):
    """containers/common findRuntime(): the first of crun, runc, runj, kata, runsc, ocijail installed at
    one of its own paths; one that is not an OCI runtime criu.check knows is asked `checkpoint --help`."""
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt'})
    output = 'crun-1.14.4-criu.txt' if name == 'crun' else 'runc-1.1.5.txt'
    full = _script(tmp_path, path, os.path.join(VERSIONS, output), checkpoint_rc=1)
    fact = gather(root)['podman']
    assert fact['oci_runtime'] == {'name': name, 'path': full, 'source': 'default'}
    if name in ('crun', 'runc'):
        assert 'checkpoint --help' not in reasons(fact)
    else:
        assert fact['checkpoint'] == R.NOT_READY
        assert 'Podman runs containers with %s, which does not support checkpoint/restore (`%s checkpoint --help` ' \
               'exited with 1).' % (name, name) in fact['reasons']


@pytest.mark.parametrize('runtime, criu_min', [('runc', '3.11'), ('youki', '3.15')])
def test_podman_inherits_the_oci_runtime_it_runs(tmp_path, runtime, criu_min):
    """runc and youki are judged as runtimes of their own: a runc built without checkpoint/restore
    blocks podman too, and youki's minimum criu is podman's."""
    bins = {'podman': 'podman-5.2.2.txt', runtime: {'runc': 'runc-1.3.0.txt', 'youki': 'youki-0.5.1.txt'}[runtime]}
    root = make_root(tmp_path, bins, binary_extra={'runc': '# %s\n' % NOCRIU_MESSAGE})
    (tmp_path / 'etc' / 'containers').mkdir(parents=True)
    (tmp_path / 'etc' / 'containers' / 'containers.conf').write_text('[engine]\nruntime = "%s"\n' % runtime)
    fact = gather(root, criu=dict(CRIU_OK, version='3.14'))['podman']
    assert fact['checkpoint'] == R.NOT_READY and fact['criu_min'] == criu_min
    if runtime == 'runc':
        assert 'Podman runs containers with runc: this runc was built with the runc_nocriu tag' in reasons(fact)
    else:
        assert 'Podman requires at least criu 3.15 and the installed criu (/usr/sbin/criu) is 3.14.' in fact['reasons']


@pytest.mark.parametrize('manager', ['podman', 'docker'])
@pytest.mark.parametrize('rc', [2, 0])
def test_a_manager_asks_youki_for_its_checkpoint_command(tmp_path, manager, rc):
    """podman and CRI-O ask `<rt> checkpoint --help` (checkpointctl CRRuntimeSupportsCheckpointRestore()) and Docker's
    shim runs `<rt> checkpoint`; youki 0.5 calls the command `checkpointt` (liboci-cli CommonCmd::Checkpointt), so
    clap answers `checkpoint` with "unrecognized subcommand" and exit 2. A youki that answers 0 is ready."""
    bins = {'podman': 'podman-5.2.2.txt'} if manager == 'podman' else {'dockerd': 'dockerd-27.3.1.txt'}
    root = make_root(tmp_path, bins)
    _script(tmp_path, '/usr/bin/youki', os.path.join(VERSIONS, 'youki-0.5.1.txt'), checkpoint_rc=rc)
    if manager == 'podman':
        (tmp_path / 'etc' / 'containers').mkdir(parents=True)
        (tmp_path / 'etc' / 'containers' / 'containers.conf').write_text('[engine]\nruntime = "youki"\n')
    else:
        (tmp_path / 'etc' / 'docker').mkdir(parents=True)
        (tmp_path / 'etc' / 'docker' / 'daemon.json').write_text('{"experimental": true, "default-runtime": "youki"}\n')
    facts = gather(root)
    fact = facts[manager]
    assert fact['oci_runtime']['name'] == 'youki' and facts['youki']['checkpoint'] == R.READY
    said = '%s runs containers with youki, which does not support checkpoint/restore (`youki checkpoint --help` exited ' \
           'with 2).' % R._name(manager)
    if rc:
        assert fact['checkpoint'] == R.NOT_READY and said in fact['reasons'], reasons(fact)
    else:
        assert fact['checkpoint'] == R.READY, reasons(fact)


@pytest.mark.parametrize('directory', ['/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib64', '/usr/local/lib',
                                       '/lib/aarch64-linux-gnu', '/opt/criu/lib'])
def test_crun_finds_libcriu_where_the_dynamic_loader_does(tmp_path, directory):
    """libcriu.so.2 in a default directory of the loader (Fedora's lib64, Debian's multiarch, a
    source build's /usr/local/lib) or one listed in /etc/ld.so.conf.d: crun can load it."""
    root = make_root(tmp_path, {'crun': 'crun-1.14.4-criu.txt'})
    lib = tmp_path / directory.lstrip('/')
    lib.mkdir(parents=True, exist_ok=True)
    (lib / 'libcriu.so.2').write_bytes(b'\x7fELF')
    if directory == '/opt/criu/lib':
        (tmp_path / 'etc' / 'ld.so.conf.d').mkdir(parents=True)
        (tmp_path / 'etc' / 'ld.so.conf.d' / 'criu.conf').write_text('# criu built from source\n/opt/criu/lib\n')
    fact = gather(root)['crun']
    assert fact['libcriu'] == directory + '/libcriu.so.2' and fact['checkpoint'] == R.READY, reasons(fact)


@pytest.mark.parametrize('directory', ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])
def test_runtimes_are_found_outside_path(tmp_path, monkeypatch, directory):
    """The daemons live in sbin, which a non-root PATH lacks: under a root other than /, each
    directory of a standard PATH is searched whatever PATH says."""
    monkeypatch.setenv('PATH', '/nonexistent')
    make_root(tmp_path)
    path = _script(tmp_path, directory + '/dockerd', os.path.join(VERSIONS, 'dockerd-27.3.1.txt'))
    assert gather(str(tmp_path))['docker']['path'] == path


def test_an_unreadable_config_file_leaves_the_runtime_unknown(tmp_path):
    """containers.conf that cannot be read (here a directory): podman's OCI runtime is not known,
    so neither is whether it can checkpoint."""
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'runc': 'runc-1.1.5.txt'})
    (tmp_path / 'etc' / 'containers' / 'containers.conf').mkdir(parents=True)
    fact = gather(root)['podman']
    assert fact['checkpoint'] == R.UNKNOWN
    assert 'Could not read /etc/containers/containers.conf: Is a directory.' in fact['reasons']


def test_podman_without_any_oci_runtime_is_unknown(tmp_path):
    fact = gather(make_root(tmp_path, {'podman': 'podman-5.2.2.txt'}))['podman']
    assert fact['checkpoint'] == R.UNKNOWN
    assert fact['oci_runtime'] == {'name': None, 'path': None, 'source': 'default'}
    assert fact['reasons'] == ['None of the OCI runtimes Podman uses by default (crun, runc, runj, kata, runsc, ocijail) '
                               'is installed.']


def test_podman_reads_containers_conf_d_after_containers_conf(tmp_path):
    """containers.conf.d/*.conf override containers.conf (containers/common pkg/config): crun there wins
    over runc in the main file."""
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.8.1-debian12.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containers/containers.conf': 'containers-runc/containers.conf',
                      '/etc/containers/containers.conf.d/50-crun.conf': 'containers-crun/containers.conf'})
    fact = gather(root)['podman']
    assert fact['oci_runtime'] == {'name': 'crun', 'path': str(tmp_path / 'usr/bin/crun'),
                                   'source': '[engine] runtime in /etc/containers/containers.conf.d/50-crun.conf'}
    assert fact['checkpoint'] == R.NOT_READY


def test_crio_runs_a_handler_without_runtime_path_from_path(tmp_path):
    """A handler without runtime_path: CRI-O looks its name up on PATH (pkg/config ValidateRuntimePath)."""
    root = make_root(tmp_path, {'crio': 'crio-1.30.0.txt', 'crun': 'crun-1.8.1-debian12.txt'})
    conf_d = tmp_path / 'etc' / 'crio' / 'crio.conf.d'
    conf_d.mkdir(parents=True)
    (conf_d / '10-crun.conf').write_text('[crio.runtime]\ndefault_runtime = "crun"\n\n[crio.runtime.runtimes.crun]\n'
                                         'monitor_path = "/usr/libexec/crio/conmon"\n')
    fact = gather(root)['cri-o']
    assert fact['oci_runtime'] == {'name': 'crun', 'path': str(tmp_path / 'usr/bin/crun'),
                                   'source': 'default_runtime under [crio.runtime] in /etc/crio/crio.conf.d/10-crun.conf'}
    assert fact['checkpoint'] == R.NOT_READY and 'CRI-O runs containers with crun: crun 1.8.1 was built without CRIU' \
        in reasons(fact)


def test_kubelet_config_that_cannot_be_read_leaves_the_gate_unknown(tmp_path):
    """/var/lib/kubelet/config.yaml unreadable: it may turn the ContainerCheckpoint gate off, so the
    kubelet is unknown, not ready on its version's default."""
    root = make_root(tmp_path, {'kubelet': 'kubelet-1.30.2.txt', 'crio': 'crio-1.30.0.txt', 'runc': 'runc-1.1.5.txt'})
    (tmp_path / 'var' / 'lib' / 'kubelet' / 'config.yaml').mkdir(parents=True)
    fact = gather(root)['kubelet']
    assert fact['checkpoint'] == R.UNKNOWN
    assert 'Could not read /var/lib/kubelet/config.yaml: Is a directory.' in fact['reasons']


def test_docker_needs_criu_like_every_runtime(tmp_path):
    root = make_root(tmp_path, {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/docker/daemon.json': 'docker-experimental/daemon.json'})
    fact = gather(root, criu=CRIU_NONE)['docker']
    assert fact['checkpoint'] == R.NOT_READY and fact['criu_min'] == '3.0'
    assert 'Docker checkpoints with the first criu on PATH, which must be 3.0 or newer, and no criu is installed.' \
        in fact['reasons']


# Each runtime's minimum criu, as its source compares it (see _runtimes.MIN_CRIU's comments), with what
# makes the runtime otherwise ready here.
MINIMA = [
    ('podman', '3.11', {'podman': 'podman-5.2.2.txt', 'runc': 'runc-1.1.5.txt'},
     {'/etc/containers/containers.conf': 'containers-runc/containers.conf'}),
    ('runc', '3.0', {'runc': 'runc-1.1.5.txt'}, {}),
    ('crun', '3.15', {'crun': 'crun-1.14.4-criu.txt'}, {}),
    ('youki', '3.15', {'youki': 'youki-0.5.1.txt'}, {}),
    ('containerd', '3.16', {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'}, {}),
    ('cri-o', '3.16', {'crio': 'crio-1.30.0.txt', 'runc': 'runc-1.1.5.txt'}, {}),
    ('docker', '3.0', {'dockerd': 'dockerd-27.3.1.txt'}, {'/etc/docker/daemon.json': 'docker-experimental/daemon.json'}),
    ('lxc', '2.0', {'lxc-checkpoint': 'lxc-5.0.2-debian12.txt'}, {}),
]


@pytest.mark.parametrize('runtime, minimum, bins, files', MINIMA, ids=[m[0] for m in MINIMA])
def test_each_runtime_takes_its_minimum_criu_and_no_more(tmp_path, runtime, minimum, bins, files):
    at = gather(make_root(tmp_path / 'at', bins, files, libcriu=True), criu=dict(CRIU_OK, version=minimum))[runtime]
    assert at['checkpoint'] == R.READY and at['criu_min'] == minimum, reasons(at)
    major, minor = (int(n) for n in minimum.split('.'))
    below = '%d.%d.99' % (major, minor - 1) if minor else '%d.99.99' % (major - 1)
    fact = gather(make_root(tmp_path / 'below', bins, files, libcriu=True), criu=dict(CRIU_OK, version=below))[runtime]
    assert fact['checkpoint'] == R.NOT_READY
    assert '%s requires at least criu %s and the installed criu (/usr/sbin/criu) is %s.' % (
        R.NAMES.get(runtime, runtime), minimum, below) in fact['reasons']


def test_a_criu_that_cannot_be_executed_is_no_criu_for_the_runtimes(tmp_path):
    """criu_facts.criu.executable false (exec.LookPath skips it): blocked with criu's own reason and fix."""
    criu = dict(CRIU_OK, executable=False, usable=False, path=None, version=None,
                reason='criu is installed at /usr/sbin/criu but cannot be executed: its mode 0644 has no execute bit.',
                fix='Make it executable: chmod +x /usr/sbin/criu.')
    fact = gather(make_root(tmp_path, {'lxc-checkpoint': 'lxc-5.0.2-debian12.txt'}), criu=criu)['lxc']
    assert fact['checkpoint'] == R.NOT_READY and fact['fix'] == 'Make it executable: chmod +x /usr/sbin/criu.'
    assert fact['reasons'] == ['LXC checkpoints with the first executable criu on PATH, which must be 2.0 or newer, and '
                               'there is none: criu is installed at /usr/sbin/criu but cannot be executed: its mode 0644 '
                               'has no execute bit.']


def test_crun_without_build_features_is_unknown(tmp_path):
    """A crun whose --version lists no +/- features (an old or patched build): built with CRIU or not is not known."""
    root = make_root(tmp_path)
    (tmp_path / 'crun-0.9.txt').write_text('crun version 0.9\n')
    _script(tmp_path, '/usr/bin/crun', str(tmp_path / 'crun-0.9.txt'))
    # not through test_runtimes.gather(): its check that a reason starts with a capital does not foresee a backquote
    fact = R.gather(conftest.run_tool, CRIU_OK, True, root=root)['crun']
    assert fact['checkpoint'] == R.UNKNOWN and fact['built_with_criu'] is None
    assert fact['reasons'] == ['`crun --version` lists no build features, so whether crun was built with CRIU is not known.']


def test_a_running_dockerd_s_flags_count(tmp_path):
    """dockerd started with --experimental and --config-file: its command line (/proc/PID/cmdline) is
    what it runs with, whatever /etc/docker/daemon.json says."""
    root = make_root(tmp_path, {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.1.5.txt'})
    (tmp_path / 'etc' / 'docker').mkdir(parents=True)
    (tmp_path / 'etc' / 'docker' / 'daemon.json').write_text('{"experimental": false}\n')
    (tmp_path / 'srv').mkdir()
    (tmp_path / 'srv' / 'docker.json').write_text('{}\n')
    proc = tmp_path / 'proc' / '4242'
    proc.mkdir(parents=True)
    (proc / 'comm').write_text('dockerd\n')
    (proc / 'cmdline').write_bytes(b'/usr/bin/dockerd\0--config-file\0/srv/docker.json\0--experimental\0')
    fact = gather(root)['docker']
    assert fact['config'] == {'file': '/srv/docker.json', 'experimental': True,
                              'source': "the running dockerd's command line"}
    assert fact['checkpoint'] == R.READY, reasons(fact)
