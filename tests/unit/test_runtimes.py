# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtimes' checkpoint gates, from their real version output and
configuration files (tests/fixtures/runtimes) placed under a temporary root.

Each runtime is a real executable script printing its recorded ``--version``
output, run through the same runner the modules use."""

import os
import random
import stat

import pytest

import conftest
from conftest import run_tool

from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I
from ansible_collections.criu.check.plugins.module_utils import _runtimes as R
from ansible_collections.criu.check.plugins.module_utils import _toml as T

FIXTURES = os.path.join(conftest.REPO, 'tests', 'fixtures', 'runtimes')
VERSIONS = os.path.join(FIXTURES, 'versions')
CONFIG = os.path.join(FIXTURES, 'config')

CRIU_OK = {'installed': True, 'path': '/usr/sbin/criu', 'version': '4.1.1', 'usable': True, 'reason': None, 'fix': None}
CRIU_314 = dict(CRIU_OK, version='3.14')
CRIU_DEBIAN12 = dict(CRIU_OK, version='3.17.1', usable=False,
                     reason='criu 3.17.1 cannot start on this kernel: "vdso: Unexpected rt vDSO area bounds" (fixed in criu 4.1)',
                     fix='install criu 4.1 or newer (the install role pins Debian 13\'s)')
CRIU_NONE = {'installed': False, 'path': None, 'version': None, 'usable': None, 'reason': 'criu is not installed',
             'fix': 'install criu 4.1 or newer'}

# the rodata message of a runc built with the runc_nocriu tag (libcontainer/criu_disabled_linux.go)
NOCRIU_MESSAGE = 'this runc binary has not been compiled with checkpoint/restore support enabled (runc_nocriu)'


def make_root(tmp_path, bins=None, files=None, libcriu=False, binary_extra=None):
    """A root with executables printing the recorded version output, and config files."""
    bindir = tmp_path / 'usr' / 'bin'
    bindir.mkdir(parents=True, exist_ok=True)
    for name, fixture in (bins or {}).items():
        script = bindir / name
        if isinstance(fixture, tuple):   # (fixture, exit code)
            body = '#!/bin/sh\ncat %s >&2\nexit %d\n' % (os.path.join(VERSIONS, fixture[0]), fixture[1])
        else:
            body = '#!/bin/sh\ncat %s\n' % os.path.join(VERSIONS, fixture)
        script.write_text(body + ((binary_extra or {}).get(name, '')))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    for dest, src in (files or {}).items():
        target = tmp_path / dest.lstrip('/')
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(os.path.join(CONFIG, src)) as f:
            target.write_text(f.read())
    if libcriu:
        lib = tmp_path / 'usr' / 'lib' / 'x86_64-linux-gnu'
        lib.mkdir(parents=True, exist_ok=True)
        (lib / 'libcriu.so.2').write_bytes(b'\x7fELF')
    return str(tmp_path)


def gather(root, criu=None, kernel_ready=True, undetermined=False):
    criu = criu if criu is not None or undetermined else CRIU_OK
    facts = R.gather(run_tool, criu, kernel_ready, root=root)
    for name, fact in facts.items():
        assert fact['checkpoint'] in (R.READY, R.NOT_READY, R.UNKNOWN), name
        assert (fact['checkpoint'] == R.READY) == (not fact['reasons']), (name, fact)
        if fact['checkpoint'] == R.NOT_READY:
            assert fact['fix'] and fact['fix'].endswith('.') and '\n' not in fact['fix'], (name, fact)
        for reason in fact['reasons']:
            # A sentence; only names their projects write in lower case stay so (runc, not Runc; Podman, not podman).
            assert (reason[0].isupper() or reason.split()[0].split("'")[0] in R._LOWER_CASE_NAMES) and reason.endswith('.'), reason
    return facts


def reasons(fact):
    return ' | '.join(fact['reasons'])


# -- installed or not --------------------------------------------------------

def test_absent_runtimes_are_absent(tmp_path):
    assert gather(make_root(tmp_path)) == {}


def test_only_installed_runtimes_are_listed(tmp_path):
    facts = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt', 'lxc-checkpoint': 'lxc-5.0.2-debian12.txt'}))
    assert sorted(facts) == ['lxc', 'runc']
    assert facts['runc']['path'] == str(tmp_path / 'usr' / 'bin' / 'runc')


# -- versions ------------------------------------------------------------------

@pytest.mark.parametrize('binary,fixture,runtime,version', [
    ('podman', 'podman-4.3.1.txt', 'podman', '4.3.1'),
    ('podman', 'podman-5.2.2.txt', 'podman', '5.2.2'),
    ('runc', 'runc-1.1.5.txt', 'runc', '1.1.5+ds1'),
    ('crun', 'crun-1.8.1-debian12.txt', 'crun', '1.8.1'),
    ('youki', 'youki-0.3.3.txt', 'youki', '0.3.3'),
    ('youki', 'youki-0.5.1.txt', 'youki', '0.5.1'),
    ('containerd', 'containerd-1.6.20-debian12.txt', 'containerd', '1.6.20~ds1'),
    ('containerd', 'containerd-1.7.24-containerd.io.txt', 'containerd', '1.7.24'),
    ('containerd', 'containerd-2.0.2.txt', 'containerd', '2.0.2'),
    ('crio', 'crio-1.24.6.txt', 'cri-o', '1.24.6'),
    ('crio', 'crio-1.29.1.txt', 'cri-o', '1.29.1'),
    ('kubelet', 'kubelet-1.30.2.txt', 'kubelet', '1.30.2'),
    ('dockerd', 'dockerd-20.10.24-debian12.txt', 'docker', '20.10.24+dfsg1'),
    ('dockerd', 'dockerd-27.3.1.txt', 'docker', '27.3.1'),
    ('lxc-checkpoint', 'lxc-5.0.2-debian12.txt', 'lxc', '5.0.2'),
])
def test_version_from_real_output(tmp_path, binary, fixture, runtime, version):
    facts = gather(make_root(tmp_path, {binary: fixture}))
    assert facts[runtime]['version'] == version


def test_a_failing_version_command_is_a_note_or_an_unknown(tmp_path):
    facts = gather(make_root(tmp_path, {'runc': ('runc-1.1.5.txt', 1), 'crio': ('crio-1.29.1.txt', 2)}))
    assert facts['runc']['version'] is None
    assert 'exited with 1' in facts['runc']['notes'][0]
    assert facts['runc']['checkpoint'] == R.READY     # runc's gate does not depend on its version
    assert facts['cri-o']['checkpoint'] == R.UNKNOWN  # CRI-O's default depends on it
    assert 'exited with 2' in reasons(facts['cri-o'])


# -- what every runtime shares ------------------------------------------------

def test_lxc_ready_with_a_usable_criu(tmp_path):
    fact = gather(make_root(tmp_path, {'lxc-checkpoint': 'lxc-5.0.2-debian12.txt'}))['lxc']
    assert fact == dict(fact, checkpoint='ready', reasons=[], fix=None, criu_min='2.0')


def test_criu_missing(tmp_path):
    fact = gather(make_root(tmp_path, {'lxc-checkpoint': 'lxc-5.0.2-debian12.txt'}), criu=CRIU_NONE)['lxc']
    assert fact['checkpoint'] == R.NOT_READY
    assert 'no criu is installed' in reasons(fact)
    assert fact['fix'] == 'Install criu 4.1 or newer.'


def test_criu_too_old_for_the_runtime(tmp_path):
    fact = gather(make_root(tmp_path, {'youki': 'youki-0.5.1.txt'}), criu=CRIU_314)['youki']
    assert fact['checkpoint'] == R.NOT_READY
    assert fact['reasons'] == ['youki requires at least criu 3.15 and the installed criu (/usr/sbin/criu) is 3.14.']
    assert '3.15' in fact['fix']


def test_criu_unusable_quotes_its_reason_and_fix(tmp_path):
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}), criu=CRIU_DEBIAN12)['runc']
    assert fact['checkpoint'] == R.NOT_READY
    assert 'vdso: Unexpected rt vDSO area bounds' in reasons(fact)
    assert fact['fix'] == "Install criu 4.1 or newer (the install role pins Debian 13's)."


def test_kernel_not_ready(tmp_path):
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}), kernel_ready=False)['runc']
    assert fact['checkpoint'] == R.NOT_READY
    assert 'criu_facts.missing.required' in reasons(fact)


@pytest.mark.parametrize('criu,kernel,says', [
    (None, True, 'whether criu is installed was not determined'),
    ({}, True, 'whether criu is installed was not determined'),
    (dict(CRIU_OK, version=None), True, 'could not be read'),
    (dict(CRIU_OK, usable=None), True, 'works on this host was not determined'),
    (CRIU_OK, None, 'kernel has the features criu requires was not determined'),
])
def test_unknown_when_something_was_not_determined(tmp_path, criu, kernel, says):
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}), criu=criu, kernel_ready=kernel, undetermined=True)['runc']
    assert fact['checkpoint'] == R.UNKNOWN
    assert says in reasons(fact).lower()


def test_a_blocker_wins_over_an_unknown(tmp_path):
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}), criu=dict(CRIU_OK, usable=None), kernel_ready=False)['runc']
    assert fact['checkpoint'] == R.NOT_READY
    assert len(fact['reasons']) == 2


# -- runc and crun: built with CRIU ---------------------------------------------

def test_runc_nocriu_build(tmp_path):
    root = make_root(tmp_path, {'runc': 'runc-1.3.0.txt'}, binary_extra={'runc': '# %s\n' % NOCRIU_MESSAGE})
    fact = gather(root)['runc']
    assert fact['checkpoint'] == R.NOT_READY and fact['built_with_criu'] is False
    assert 'runc_nocriu' in reasons(fact)


def test_runc_1_3_with_criu(tmp_path):
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.3.0.txt'}))['runc']
    assert fact['checkpoint'] == R.READY and fact['built_with_criu'] is True and fact['criu_min'] == '3.0'


def test_crun_of_debian_12_is_built_without_criu(tmp_path):
    fact = gather(make_root(tmp_path, {'crun': 'crun-1.8.1-debian12.txt'}))['crun']
    assert fact['checkpoint'] == R.NOT_READY and fact['built_with_criu'] is False
    assert '+CRIU' in reasons(fact)


def test_crun_with_criu_and_libcriu(tmp_path):
    fact = gather(make_root(tmp_path, {'crun': 'crun-1.14.4-criu.txt'}, libcriu=True))['crun']
    assert fact['checkpoint'] == R.READY and fact['built_with_criu'] is True
    assert fact['libcriu'] == '/usr/lib/x86_64-linux-gnu/libcriu.so.2'
    assert fact['criu_min'] == '3.15'


def test_crun_with_criu_but_no_libcriu(tmp_path):
    fact = gather(make_root(tmp_path, {'crun': 'crun-1.14.4-criu.txt'}))['crun']
    assert fact['checkpoint'] == R.NOT_READY
    assert 'libcriu.so.2' in reasons(fact) and 'libcriu2' in fact['fix']


def test_youki_cannot_restore(tmp_path):
    fact = gather(make_root(tmp_path, {'youki': 'youki-0.3.3.txt'}))['youki']
    assert fact['checkpoint'] == R.READY and fact['restore'] is False and fact['notes']


# -- podman and its OCI runtime ------------------------------------------------

def test_podman_default_runtime_is_crun_first(tmp_path):
    root = make_root(tmp_path, {'podman': 'podman-4.3.1.txt', 'crun': 'crun-1.8.1-debian12.txt', 'runc': 'runc-1.1.5.txt'})
    facts = gather(root)
    assert facts['podman']['oci_runtime']['name'] == 'crun'
    assert facts['podman']['checkpoint'] == R.NOT_READY
    assert 'runs containers with crun' in reasons(facts['podman'])
    assert facts['runc']['checkpoint'] == R.READY


@pytest.mark.parametrize('fixture,read', [('podman-4.3.1.txt', False), ('podman-5.2.2.txt', True)])
@pytest.mark.parametrize('user_file', ['containers.conf', 'containers.conf.d/50-runc.conf'])
def test_podman_as_root_reads_roots_own_containers_conf_from_podman_5(tmp_path, fixture, read, user_file):
    """Podman 5 reads $HOME/.config/containers/containers.conf(.d) for root too (containers/common pkg/config/new.go
    systemConfigs(): userConfigPath() whatever the uid, as vendored in containers/podman); 4.x only when rootless
    (ifRootlessConfigPath(), uid > 0).  Root's home is the one /etc/passwd names."""
    root = make_root(tmp_path, {'podman': fixture, 'crun': 'crun-1.8.1-debian12.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/home/admin/.config/containers/' + user_file: 'containers-runc/containers.conf'})
    (tmp_path / 'etc').mkdir(exist_ok=True)
    (tmp_path / 'etc' / 'passwd').write_text('root:x:0:0:root:/home/admin:/bin/sh\n')
    fact = gather(root)['podman']
    if read:
        assert fact['oci_runtime']['name'] == 'runc' and fact['checkpoint'] == R.READY, fact['oci_runtime']
        assert fact['oci_runtime']['source'] == '[engine] runtime in /home/admin/.config/containers/' + user_file
    else:   # crun first by default, here built without CRIU
        assert fact['oci_runtime']['name'] == 'crun' and fact['checkpoint'] == R.NOT_READY, fact['oci_runtime']


def test_podman_reads_a_hidden_drop_in(tmp_path):
    """containers/common addConfigs() takes every file of containers.conf.d whose name ends in .conf, a hidden one too."""
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.8.1-debian12.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containers/containers.conf.d/.50-runc.conf': 'containers-runc/containers.conf'})
    fact = gather(root)['podman']
    assert fact['oci_runtime']['name'] == 'runc' and fact['checkpoint'] == R.READY, fact['oci_runtime']
    assert fact['oci_runtime']['source'] == '[engine] runtime in /etc/containers/containers.conf.d/.50-runc.conf'


def test_podman_configured_runc(tmp_path):
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.8.1-debian12.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containers/containers.conf': 'containers-runc/containers.conf'})
    fact = gather(root)['podman']
    assert fact['oci_runtime'] == {'name': 'runc', 'path': str(tmp_path / 'usr/bin/runc'),
                                   'source': '[engine] runtime in /etc/containers/containers.conf'}
    assert fact['checkpoint'] == R.READY and fact['criu_min'] == '3.11'


def test_podman_with_crun_takes_crun_minimum(tmp_path):
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.14.4-criu.txt'},
                     {'/etc/containers/containers.conf': 'containers-crun/containers.conf'}, libcriu=True)
    fact = gather(root, criu=CRIU_314)['podman']
    assert fact['checkpoint'] == R.NOT_READY and fact['criu_min'] == '3.15'


def _binary(tmp_path, path, fixture):
    target = tmp_path / path.lstrip('/')
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text('#!/bin/sh\ncat %s\n' % os.path.join(VERSIONS, fixture))
    target.chmod(0o755)
    return str(target)


def test_podman_finds_its_runtime_in_its_own_list_not_on_path(tmp_path, monkeypatch):
    """containers/common looks for crun in /usr/bin before /usr/local/bin, whatever PATH says."""
    monkeypatch.setenv('PATH', '/usr/local/bin:/usr/bin:/bin')
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.8.1-debian12.txt'}, libcriu=True)
    _binary(tmp_path, '/usr/local/bin/crun', 'crun-1.14.4-criu.txt')
    facts = gather(root)
    assert facts['crun']['path'] == str(tmp_path / 'usr/local/bin/crun') and facts['crun']['checkpoint'] == R.READY
    podman = facts['podman']
    assert podman['oci_runtime']['path'] == str(tmp_path / 'usr/bin/crun') and podman['checkpoint'] == R.NOT_READY


@pytest.mark.parametrize('conf, name', [
    ('[engine.runtimes]\ncrun = ["/usr/local/libexec/crun-criu/crun"]\n', 'crun'),
    ('[engine]\nruntime = "crun-criu"\n[engine.runtimes]\ncrun-criu = ["/nowhere/crun", "/usr/local/libexec/crun-criu/crun"]\n',
     'crun-criu'),
])
def test_podman_takes_its_runtimes_table(tmp_path, conf, name):
    """[engine.runtimes] replaces a name's paths or adds a name: podman runs that binary."""
    root = make_root(tmp_path, {'podman': 'podman-5.2.2.txt', 'crun': 'crun-1.8.1-debian12.txt'}, libcriu=True)
    criu_crun = _binary(tmp_path, '/usr/local/libexec/crun-criu/crun', 'crun-1.14.4-criu.txt')
    (tmp_path / 'etc' / 'containers').mkdir(parents=True)
    (tmp_path / 'etc' / 'containers' / 'containers.conf').write_text(conf)
    fact = gather(root)['podman']
    assert fact['oci_runtime']['name'] == name and fact['oci_runtime']['path'] == criu_crun, fact['oci_runtime']
    assert fact['checkpoint'] == R.READY, reasons(fact)


def test_podman_configured_runtime_missing(tmp_path):
    root = make_root(tmp_path, {'podman': 'podman-4.3.1.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containers/containers.conf': 'containers-crun/containers.conf'})
    fact = gather(root)['podman']
    assert fact['checkpoint'] == R.NOT_READY and 'not installed' in reasons(fact)


# -- containerd: version and config 2 vs 3 ---------------------------------------

def test_containerd_of_debian_12_has_no_cri_checkpoint(tmp_path):
    root = make_root(tmp_path, {'containerd': 'containerd-1.6.20-debian12.txt'},
                     {'/etc/containerd/config.toml': 'containerd-debian12/config.toml'})
    fact = gather(root)['containerd']
    assert fact['checkpoint'] == R.NOT_READY and '2.0' in fact['fix']
    assert fact['config']['version'] == 2


def test_containerd_io_disables_cri(tmp_path):
    root = make_root(tmp_path, {'containerd': 'containerd-1.7.24-containerd.io.txt'},
                     {'/etc/containerd/config.toml': 'containerd-io-docker/config.toml'})
    fact = gather(root)['containerd']
    assert 'disabled_plugins' in reasons(fact) and 'disabled_plugins' in fact['fix']


@pytest.mark.parametrize('config,table', [
    ('containerd-v3-criu-off/config.toml', "[plugins.'io.containerd.cri.v1.runtime']"),
    ('containerd-v2-criu-off/config.toml', "[plugins.'io.containerd.grpc.v1.cri']"),
])
def test_containerd_enable_criu_off(tmp_path, config, table):
    root = make_root(tmp_path, {'containerd': 'containerd-2.2.7.txt'}, {'/etc/containerd/config.toml': config})
    fact = gather(root)['containerd']
    assert fact['checkpoint'] == R.NOT_READY
    assert fact['config']['enable_criu'] is False
    assert table in reasons(fact) and 'enable_criu = true' in fact['fix']


def test_containerd_enable_criu_unknown_to_2_0(tmp_path):
    root = make_root(tmp_path, {'containerd': 'containerd-2.0.2.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/etc/containerd/config.toml': 'containerd-v3-criu-off/config.toml'})
    fact = gather(root)['containerd']
    assert fact['checkpoint'] == R.READY and 'ignored' in ' '.join(fact['notes'])


@pytest.mark.parametrize('files', [{}, {'/etc/containerd/config.toml': 'containerd-default-1.6/config.toml'}])
def test_containerd_enable_criu_default_is_on(tmp_path, files):
    fact = gather(make_root(tmp_path, {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'}, files))['containerd']
    assert fact['checkpoint'] == R.READY
    assert fact['config']['enable_criu'] is True and fact['config']['source'] == 'default'


def test_containerd_criu_too_old(tmp_path):
    fact = gather(make_root(tmp_path, {'containerd': 'containerd-2.2.7.txt'}), criu=dict(CRIU_OK, version='3.15'))['containerd']
    assert fact['checkpoint'] == R.NOT_READY and 'at least criu 3.16' in reasons(fact)


@pytest.mark.parametrize('verdict', ['timeout', 'not_run', 'blocked'])
def test_a_criu_check_that_says_nothing_leaves_the_runtimes_undetermined(tmp_path, verdict):
    """criu's own check timed out, could not run, or refused this check's context (not root): whether criu works
    for a runtime, which runs it as root, is not known - no fix to install another criu."""
    assert verdict in (I.TIMEOUT, I.NOT_RUN, I.BLOCKED) and set(R.CRIU_CHECK_UNDETERMINED) <= set(I.VERDICTS)
    criu = dict(CRIU_OK, usable=False, reason='criu 4.1.1 (/usr/sbin/criu) did not finish its check in time.',
                fix='Run criu as root.', check={'verdict': verdict})
    fact = gather(make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}), criu=criu)['runc']
    assert fact['checkpoint'] == R.UNKNOWN and 'Whether the installed criu works for runc was not determined' in reasons(fact)
    assert 'Install a criu' not in (fact['fix'] or '')


def test_a_criu_built_from_git_counts_as_the_next_minor(tmp_path):
    """go-criu counts 3.15 with a GitID as 31600, which CRI-O's minimum (3.16) accepts."""
    git = gather(make_root(tmp_path, {'crio': 'crio-1.30.0.txt'}), criu=dict(CRIU_OK, version='3.15', gitid='v3.15-24-g0a1b2c3'))
    assert 'at least criu' not in reasons(git['cri-o']), reasons(git['cri-o'])
    release = gather(make_root(tmp_path / 'b', {'crio': 'crio-1.30.0.txt'}), criu=dict(CRIU_OK, version='3.15', gitid='0'))
    assert 'requires at least criu 3.16' in reasons(release['cri-o'])
    assert R.criu_version_number('4.1.1', 'v4.1.1-3-gdeadbee') == 40200 and R.criu_version_number('4.1', None) == 40100


def test_containerd_invalid_config_is_unknown(tmp_path):
    root = make_root(tmp_path, {'containerd': 'containerd-2.2.7.txt'})
    (tmp_path / 'etc' / 'containerd').mkdir(parents=True)
    (tmp_path / 'etc' / 'containerd' / 'config.toml').write_text('version = 3\n[plugins\n')
    fact = gather(root)['containerd']
    assert fact['checkpoint'] == R.UNKNOWN and 'line 2' in reasons(fact)


# -- containerd: imports, merged as containerd 2 merges them ---------------------------

V3_ON_WITH_CONF_D = "version = 3\nimports = ['/etc/containerd/conf.d/*.toml']\n"
RUNTIME_TABLE = "[plugins.'io.containerd.cri.v1.runtime']"


def containerd_root(tmp_path, files, binary='containerd-2.2.7.txt'):
    root = make_root(tmp_path, {'containerd': binary, 'runc': 'runc-1.1.5.txt'})
    for path, text in files.items():
        target = tmp_path / path.lstrip('/')
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return root


def test_containerd_reads_imported_drop_ins_in_order(tmp_path):
    """Sorted glob, a later file winning key by key: 20- turns criu off again after 10- turned it on."""
    fact = gather(containerd_root(tmp_path, {
        '/etc/containerd/config.toml': V3_ON_WITH_CONF_D + RUNTIME_TABLE + '\nenable_criu = false\n',
        '/etc/containerd/conf.d/20-off.toml': 'version = 3\n' + RUNTIME_TABLE + '\nenable_criu = false\n',
        '/etc/containerd/conf.d/10-on.toml': 'version = 3\n' + RUNTIME_TABLE + '\nenable_criu = true\n',
        '/etc/containerd/conf.d/notes.txt': 'not toml [',
    }))['containerd']
    assert fact['config']['imports'] == ['/etc/containerd/conf.d/10-on.toml', '/etc/containerd/conf.d/20-off.toml']
    assert fact['checkpoint'] == R.NOT_READY and fact['config']['enable_criu'] is False
    assert fact['config']['source'] == RUNTIME_TABLE + ' in /etc/containerd/conf.d/20-off.toml'
    assert '20-off.toml' in fact['fix']


def test_containerd_reads_a_hidden_drop_in_its_glob_matches(tmp_path):
    """containerd globs its imports with Go's filepath.Glob, whose * matches a leading dot: a hidden drop-in is
    loaded."""
    fact = gather(containerd_root(tmp_path, {
        '/etc/containerd/config.toml': V3_ON_WITH_CONF_D,
        '/etc/containerd/conf.d/.99-off.toml': 'version = 3\n' + RUNTIME_TABLE + '\nenable_criu = false\n',
    }))['containerd']
    assert fact['config']['imports'] == ['/etc/containerd/conf.d/.99-off.toml']
    assert fact['checkpoint'] == R.NOT_READY and fact['config']['enable_criu'] is False
    assert fact['config']['source'] == RUNTIME_TABLE + ' in /etc/containerd/conf.d/.99-off.toml'


def test_containerd_import_overrides_the_main_file_key_by_key(tmp_path):
    """An import that sets another key of the same table leaves the main file's enable_criu in force (containerd 2
    merges plugin tables key by key); one that sets enable_criu = true wins over the main file's false."""
    main = V3_ON_WITH_CONF_D + RUNTIME_TABLE + '\nenable_criu = false\n'
    other_key = gather(containerd_root(tmp_path / 'a', {
        '/etc/containerd/config.toml': main,
        '/etc/containerd/conf.d/selinux.toml': RUNTIME_TABLE + '\nenable_selinux = true\n'}))['containerd']
    assert other_key['checkpoint'] == R.NOT_READY and other_key['config']['source'].endswith('in /etc/containerd/config.toml')
    turned_on = gather(containerd_root(tmp_path / 'b', {
        '/etc/containerd/config.toml': main,
        '/etc/containerd/conf.d/criu.toml': 'version = 3\n' + RUNTIME_TABLE + '\nenable_criu = true\n'}))['containerd']
    assert turned_on['checkpoint'] == R.READY and turned_on['config']['enable_criu'] is True
    assert turned_on['config']['source'].endswith('in /etc/containerd/conf.d/criu.toml')


def test_containerd_migrates_a_version_1_import(tmp_path):
    """A drop-in without a version names the CRI plugin ``cri``. Under a version 2 main file containerd migrates it
    with the rest; under a version 3 one, 2.0 to 2.2 only rename it to the v2 table, which version 3 does not read,
    where 2.3 (PR 12608, each file migrated as it is loaded) moves it into the runtime's table."""
    for main, binary, state in (('version = 2\n', 'containerd-2.2.7.txt', R.NOT_READY),
                                ('version = 2\n', 'containerd-2.3.5.txt', R.NOT_READY),
                                ('version = 3\n', 'containerd-2.2.7.txt', R.READY),
                                ('version = 3\n', 'containerd-2.3.4.txt', R.NOT_READY)):
        fact = gather(containerd_root(tmp_path / (main[-2] + binary), {
            '/etc/containerd/config.toml': main + 'imports = ["criu.toml"]\n',
            '/etc/containerd/criu.toml': '[plugins.cri]\nenable_criu = false\n'}, binary=binary))['containerd']
        assert fact['checkpoint'] == state, (main, binary, reasons(fact))
        assert fact['config']['source'] == ('default' if state == R.READY else '[plugins.cri] in /etc/containerd/criu.toml')
        assert fact['config']['version'] == int(main[-2])


@pytest.mark.parametrize('binary, runs, state', [
    ('containerd-2.2.7.txt', 'runc', R.READY), ('containerd-2.3.4.txt', 'crun', R.NOT_READY),
])
def test_containerd_reads_a_1_x_drop_in_under_a_version_3_file_from_2_3_on(tmp_path, binary, runs, state):
    """A crun handler left from containerd 1.x in a drop-in without a version, imported by a version 3 file: 2.0 to 2.2
    rename its ``cri`` to the v2 table and never migrate it (the merged version is 3), so their default handler stays
    runc; 2.3 migrates the drop-in on its own (PR 12608) and runs crun, built without CRIU here."""
    root = make_root(tmp_path, {'containerd': binary, 'runc': 'runc-1.1.5.txt', 'crun': 'crun-1.8.1-debian12.txt'}, {
        '/etc/containerd/config.toml': 'containerd-v3-v1-drop-in/config.toml',
        '/etc/containerd/conf.d/10-crun.toml': 'containerd-v3-v1-drop-in/conf.d/10-crun.toml'})
    fact = gather(root)['containerd']
    assert fact['config']['imports'] == ['/etc/containerd/conf.d/10-crun.toml']
    assert fact['runtime_handler']['name'] == runs and fact['oci_runtime']['name'] == runs, fact['oci_runtime']
    assert fact['checkpoint'] == state, reasons(fact)
    if runs == 'crun':
        assert fact['runtime_handler']['source'].startswith('default_runtime_name under [plugins.cri.containerd] in '
                                                            '/etc/containerd/conf.d/10-crun.toml, ')


def test_containerd_versionless_main_file_is_migrated_from_2_3_on(tmp_path):
    """A main file without a version is taken for version 1 and migrated to version 3 at load: 2.0 to 2.2 rename its
    ``cri`` table and skip the CRI migration (the version is already 3), 2.3 runs it."""
    for binary, state in (('containerd-2.2.7.txt', R.READY), ('containerd-2.3.4.txt', R.NOT_READY)):
        fact = gather(containerd_root(tmp_path / binary, {
            '/etc/containerd/config.toml': '[plugins.cri]\nenable_criu = false\n'}, binary=binary))['containerd']
        assert fact['checkpoint'] == state and fact['config']['version'] == 1, (binary, reasons(fact))


@pytest.mark.parametrize('binary, state, says', [
    # merged at version 3 (the drop-in's), the main file's v2 table is never migrated: enable_criu = false unread
    ('containerd-2.2.7.txt', R.READY, None),
    # PR 12891: a drop-in of a higher version than the main file stops containerd
    ('containerd-2.3.4.txt', R.NOT_READY, 'containerd 2.3.4 does not start: /etc/containerd/config.toml imports '
     '/etc/containerd/conf.d/99-nvidia.toml, whose version 3 is higher than the root file\'s ("drop-in config version 3 '
     'higher than root config version 2")'),
    # PR 12891 reverted: the main file is migrated on its own, its enable_criu = false counts
    ('containerd-2.3.5.txt', R.NOT_READY, 'criu support is disabled by configuration: enable_criu = false under '
     '[plugins.\'io.containerd.grpc.v1.cri\'] in /etc/containerd/config.toml'),
])
def test_containerd_drop_in_of_a_higher_version_than_the_main_file(tmp_path, binary, state, says):
    """The version 2 main file of containerd PR 12891 with a version 3 drop-in adding a runtime handler."""
    root = make_root(tmp_path, {'containerd': binary, 'runc': 'runc-1.1.5.txt'}, {
        '/etc/containerd/config.toml': 'containerd-v2-v3-drop-in/config.toml',
        '/etc/containerd/conf.d/99-nvidia.toml': 'containerd-v2-v3-drop-in/conf.d/99-nvidia.toml'})
    fact = gather(root)['containerd']
    assert fact['checkpoint'] == state, reasons(fact)
    if says:
        assert says in reasons(fact)
    if binary == 'containerd-2.3.4.txt':
        assert fact['fix'].startswith('Write /etc/containerd/conf.d/99-nvidia.toml at version 2, or upgrade containerd '
                                      'to 2.3.5 or newer'), fact['fix']
        assert fact['config']['enable_criu'] is None


def test_containerd_of_unknown_version_notes_how_older_releases_load_the_files(tmp_path):
    """Judged as the latest releases load them, with a note where 2.0 to 2.2 would read the files otherwise and where
    2.3.0 to 2.3.4 would not start."""
    root = make_root(tmp_path, {'runc': 'runc-1.1.5.txt'}, {
        '/etc/containerd/config.toml': 'containerd-v2-v3-drop-in/config.toml',
        '/etc/containerd/conf.d/99-nvidia.toml': 'containerd-v2-v3-drop-in/conf.d/99-nvidia.toml'})
    (tmp_path / 'usr' / 'bin' / 'containerd').write_text('#!/bin/sh\necho "containerd (devel)"\n')
    (tmp_path / 'usr' / 'bin' / 'containerd').chmod(0o755)
    fact = gather(root)['containerd']
    assert fact['config']['enable_criu'] is False
    notes = ' '.join(fact['notes'])
    assert 'containerd 2.0 to 2.2 would read this configuration otherwise' in notes, notes
    assert 'containerd 2.3.0 to 2.3.4 would not start with this configuration ("drop-in config version 3 higher than ' \
        'root config version 2", /etc/containerd/conf.d/99-nvidia.toml)' in notes, notes


def test_containerd_v2_table_counts_only_while_the_merged_version_is_2(tmp_path):
    """A version 3 file's [plugins."io.containerd.grpc.v1.cri"] enable_criu is not read; a version 2 one's is."""
    grpc = '[plugins."io.containerd.grpc.v1.cri"]\nenable_criu = false\n'
    v3 = gather(containerd_root(tmp_path / 'a', {'/etc/containerd/config.toml': 'version = 3\n' + grpc}))['containerd']
    assert v3['checkpoint'] == R.READY and v3['config']['source'] == 'default'
    v2_import = gather(containerd_root(tmp_path / 'b', {
        '/etc/containerd/config.toml': 'version = 3\nimports = ["old.toml"]\n',
        '/etc/containerd/old.toml': 'version = 2\n' + grpc}))['containerd']
    assert v2_import['checkpoint'] == R.NOT_READY and 'old.toml' in v2_import['config']['source']


def test_containerd_v2_table_migrates_only_what_the_runtime_table_leaves_unset(tmp_path):
    """At version 2 both tables may be written: containerd moves a v2 key into the runtime's table only where that
    table does not set it, and the v2 handlers not at all when the runtime's table has one of its own."""
    both = gather(containerd_root(tmp_path / 'a', {'/etc/containerd/config.toml': (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri"]\nenable_criu = false\n' + RUNTIME_TABLE + '\nenable_criu = true\n')}))
    fact = both['containerd']
    assert fact['checkpoint'] == R.READY and fact['config']['enable_criu'] is True, reasons(fact)
    assert fact['config']['source'] == RUNTIME_TABLE + ' in /etc/containerd/config.toml'
    handlers = gather(containerd_root(tmp_path / 'b', {'/etc/containerd/config.toml': (
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd]\ndefault_runtime_name = "crun"\n'
        '[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.crun]\nruntime_type = "io.containerd.runc.v2"\n'
        "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]\nruntime_type = \"io.containerd.runc.v2\"\n")}))
    fact = handlers['containerd']
    assert fact['runtime_handler']['name'] == 'crun' and fact['checkpoint'] == R.NOT_READY, fact
    assert 'names no runtime handler table' in reasons(fact)


def test_containerd_imports_in_a_cycle_are_read_once(tmp_path):
    fact = gather(containerd_root(tmp_path, {
        '/etc/containerd/config.toml': 'version = 3\nimports = ["a.toml"]\n',
        '/etc/containerd/a.toml': 'version = 3\nimports = ["/etc/containerd/config.toml", "a.toml", "./b/../a.toml"]\n',
    }))['containerd']
    assert fact['checkpoint'] == R.READY and fact['config']['imports'] == ['/etc/containerd/a.toml']


def test_containerd_cri_disabled_in_an_import(tmp_path):
    fact = gather(containerd_root(tmp_path, {
        '/etc/containerd/config.toml': V3_ON_WITH_CONF_D,
        '/etc/containerd/conf.d/docker.toml': 'disabled_plugins = ["io.containerd.grpc.v1.cri"]\n'}))['containerd']
    assert fact['checkpoint'] == R.NOT_READY
    assert 'disabled_plugins' in reasons(fact) and '/etc/containerd/conf.d/docker.toml' in fact['fix']


@pytest.mark.parametrize('files,expected', [
    ({'/etc/containerd/config.toml': 'version = 3\nimports = ["missing.toml"]\n'},
     '/etc/containerd/missing.toml, which /etc/containerd/config.toml imports'),
    ({'/etc/containerd/config.toml': 'version = 3\nimports = "conf.d/*.toml"\n'}, 'imports in /etc/containerd/config.toml is not a list'),
    ({'/etc/containerd/config.toml': 'version = "3"\n'}, 'version in /etc/containerd/config.toml is "3"'),
    ({'/etc/containerd/config.toml': 'version = 3\nimports = ["bad.toml"]\n', '/etc/containerd/bad.toml': '[plugins\n'},
     'file /etc/containerd/bad.toml is not valid TOML'),
])
def test_containerd_config_that_containerd_would_not_load_is_unknown(tmp_path, files, expected):
    fact = gather(containerd_root(tmp_path, files))['containerd']
    assert fact['checkpoint'] == R.UNKNOWN and expected in reasons(fact)
    assert fact['config']['enable_criu'] is None and fact['config']['source'] is None


# -- containerd: the shim and the OCI runtime of its default runtime handler -------------------

V3_OPTIONS = "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]"
CONTAINERD_DEFAULT_RUNC = ('BinaryName unset under %s, the runc shim\'s default: runc on PATH' % V3_OPTIONS)


def test_containerd_default_handler_runs_runc_from_path(tmp_path):
    """No configuration: the runc handler (io.containerd.runc.v2) runs the runc on PATH, whose own gate counts."""
    ready = gather(make_root(tmp_path / 'a', {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'}))['containerd']
    assert ready['checkpoint'] == R.READY, reasons(ready)
    assert ready['runtime_handler'] == {'name': 'runc', 'runtime_type': 'io.containerd.runc.v2',
                                        'source': 'default_runtime_name unset, containerd\'s default "runc"'}
    assert ready['oci_runtime'] == {'name': 'runc', 'path': str(tmp_path / 'a' / 'usr' / 'bin' / 'runc'),
                                    'source': CONTAINERD_DEFAULT_RUNC}
    nocriu = gather(make_root(tmp_path / 'b', {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.3.0.txt'},
                              binary_extra={'runc': '# %s\n' % NOCRIU_MESSAGE}))['containerd']
    assert nocriu['checkpoint'] == R.NOT_READY and 'containerd runs containers with runc: this runc was built with the ' \
        'runc_nocriu tag' in reasons(nocriu)
    missing = gather(make_root(tmp_path / 'c', {'containerd': 'containerd-2.2.7.txt'}))['containerd']
    assert missing['checkpoint'] == R.NOT_READY
    assert missing['reasons'] == ['containerd is configured to run containers with runc (%s), which is not installed.'
                                  % CONTAINERD_DEFAULT_RUNC]
    assert missing['fix'].startswith('Install runc or configure an installed OCI runtime in BinaryName unset under ')


@pytest.mark.parametrize('config, table', [
    ('containerd-v3-crun/config.toml', V3_OPTIONS),
    ('containerd-v2-crun/config.toml', '[plugins.\'io.containerd.grpc.v1.cri\'.containerd.runtimes.crun.options]'),
])
def test_containerd_runs_the_binary_name_of_its_default_handler(tmp_path, config, table):
    """options.BinaryName is what the runc shim runs: a crun built without CRIU cannot checkpoint, one with it can."""
    files = {'/etc/containerd/config.toml': config}
    bins = {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'}
    fact = gather(make_root(tmp_path / 'a', dict(bins, crun='crun-1.8.1-debian12.txt'), files))['containerd']
    assert fact['oci_runtime'] == {'name': 'crun', 'path': str(tmp_path / 'a' / 'usr' / 'bin' / 'crun'),
                                   'source': 'BinaryName under %s in /etc/containerd/config.toml' % table}
    assert fact['runtime_handler']['runtime_type'] == 'io.containerd.runc.v2'
    assert fact['checkpoint'] == R.NOT_READY
    assert 'containerd runs containers with crun: crun 1.8.1 was built without CRIU' in reasons(fact)
    ready = gather(make_root(tmp_path / 'b', dict(bins, crun='crun-1.14.4-criu.txt'), files, libcriu=True))['containerd']
    assert ready['checkpoint'] == R.READY, reasons(ready)


V2_WITH_RUNTIME_TABLE = 'containerd-v2-with-runtime-table/config.toml'
GRPC_SANDBOX_IMAGE = '[plugins."io.containerd.grpc.v1.cri"]\nsandbox_image = "registry.k8s.io/pause:3.9"\n'
RUNTIME_CRUN = "%s\nBinaryName = '/usr/bin/crun'\n" % V3_OPTIONS


@pytest.mark.parametrize('files', [
    {'/etc/containerd/config.toml': V2_WITH_RUNTIME_TABLE},
    # a v2 table that sets none of the keys read still takes the runtime table's place
    {'/etc/containerd/config.toml': 'version = 2\n' + GRPC_SANDBOX_IMAGE + RUNTIME_CRUN},
    # the runtime table from a version 2 drop-in: the files merge first, the migration runs on the result
    {'/etc/containerd/config.toml': 'version = 2\nimports = ["conf.d/*.toml"]\n' + GRPC_SANDBOX_IMAGE,
     '/etc/containerd/conf.d/crun.toml': 'version = 2\n' + RUNTIME_CRUN},
], ids=['one-file', 'v2-table-without-keys-read', 'drop-in'])
@pytest.mark.parametrize('binary, runs', [
    ('containerd-2.0.0.txt', 'runc'), ('containerd-2.0.1.txt', 'runc'),
    ('containerd-2.0.2.txt', 'crun'), ('containerd-2.2.7.txt', 'crun'),
])
def test_containerd_2_0_0_and_2_0_1_replace_the_runtime_table_with_the_v2_one(tmp_path, files, binary, runs):
    """Up to 2.0.1 containerd's migration put a version 2 configuration's v2 table in the runtime table's place whole:
    the runc handler's BinaryName under the runtime table is not read and runc runs; later releases merge the two key
    by key and run crun (built without CRIU here). 2.0.2, which may predate the merge, is judged as the later ones with
    a note saying how 2.0.0 and 2.0.1 would read the file."""
    texts = dict((path, open(os.path.join(CONFIG, text)).read() if text == V2_WITH_RUNTIME_TABLE else text)
                 for path, text in files.items())
    root = containerd_root(tmp_path, texts, binary=binary)
    make_root(tmp_path, {'crun': 'crun-1.8.1-debian12.txt'})
    fact = gather(root)['containerd']
    assert fact['oci_runtime']['name'] == runs, fact['oci_runtime']
    if runs == 'runc':
        assert fact['checkpoint'] == R.READY, reasons(fact)
        assert fact['oci_runtime']['source'] == ('BinaryName unset under [plugins.\'io.containerd.grpc.v1.cri\'.containerd.'
                                                 'runtimes.runc.options], the runc shim\'s default: runc on PATH')
    else:
        assert fact['checkpoint'] == R.NOT_READY and 'crun 1.8.1 was built without CRIU' in reasons(fact)
        assert fact['oci_runtime']['source'].startswith('BinaryName under %s in /etc/containerd/' % V3_OPTIONS)
    notes = [n for n in fact['notes'] if '2.0.0 and 2.0.1' in n]
    if binary == 'containerd-2.0.2.txt':
        assert len(notes) == 1 and "replace the whole [plugins.'io.containerd.cri.v1.runtime'] table" in notes[0], notes
        assert notes[0].count('/etc/containerd/config.toml') == 1
    else:
        assert not notes, notes


def test_containerd_of_unknown_version_notes_how_2_0_0_reads_both_tables(tmp_path):
    """A containerd whose version cannot be read is judged with the later releases' merge, and told how 2.0.0 and 2.0.1
    would read the file; a file where both answers agree gets no such note."""
    notes = {}
    for name, text in (('both', open(os.path.join(CONFIG, V2_WITH_RUNTIME_TABLE)).read()),
                       ('v2-only', 'version = 2\n' + GRPC_SANDBOX_IMAGE)):
        root = containerd_root(tmp_path / name, {'/etc/containerd/config.toml': text})
        (tmp_path / name / 'usr' / 'bin' / 'containerd').write_text('#!/bin/sh\necho "containerd (devel)"\n')
        fact = gather(root)['containerd']
        assert 'could not be read' in reasons(fact), reasons(fact)
        notes[name] = [n for n in fact['notes'] if '2.0.0 and 2.0.1' in n]
    assert len(notes['both']) == 1 and '(in /etc/containerd/config.toml)' in notes['both'][0], notes
    assert notes['v2-only'] == []


def test_containerd_binary_name_that_is_not_installed(tmp_path):
    fact = gather(containerd_root(tmp_path, {'/etc/containerd/config.toml': (
        "version = 3\n%s\nBinaryName = '/usr/local/sbin/runc'\n" % V3_OPTIONS)}))['containerd']
    source = 'BinaryName under %s in /etc/containerd/config.toml' % V3_OPTIONS
    assert fact['checkpoint'] == R.NOT_READY
    assert fact['reasons'] == ['containerd is configured to run containers with /usr/local/sbin/runc (%s), which is not '
                               'installed.' % source]
    assert source in fact['fix']


def test_containerd_binary_name_another_runtime_is_asked_for_its_checkpoint_command(tmp_path):
    """An OCI runtime criu.check has no gate for is asked `checkpoint --help`, as for CRI-O and podman; an import sets
    BinaryName over the main file's runc table key by key."""
    root = containerd_root(tmp_path, {
        '/etc/containerd/config.toml': V3_ON_WITH_CONF_D + V3_OPTIONS + '\nSystemdCgroup = true\n',
        '/etc/containerd/conf.d/runtime.toml': 'version = 3\n%s\nBinaryName = "myrt"\n' % V3_OPTIONS})
    script = tmp_path / 'usr' / 'bin' / 'myrt'
    script.write_text('#!/bin/sh\n[ "$1" = checkpoint ] && exit 1\necho myrt 1.0\n')
    script.chmod(0o755)
    fact = gather(root)['containerd']
    assert fact['oci_runtime'] == {'name': 'myrt', 'path': str(script),
                                   'source': 'BinaryName under %s in /etc/containerd/conf.d/runtime.toml' % V3_OPTIONS}
    assert fact['checkpoint'] == R.NOT_READY
    assert 'containerd runs containers with myrt, which does not support checkpoint/restore (`myrt checkpoint --help` ' \
        'exited with 1).' in fact['reasons']


@pytest.mark.parametrize('config, state, shim, says', [
    ('containerd-v2-kata/config.toml', R.NOT_READY, 'io.containerd.kata.v2',
     'Kata Containers\' shim answers a checkpoint with "not implemented"'),
    ('containerd-v3-runsc/config.toml', R.UNKNOWN, 'io.containerd.runsc.v1', 'criu does not decide whether that shim can'),
])
def test_containerd_default_handler_with_another_shim_does_not_checkpoint_with_criu(tmp_path, config, state, shim, says):
    """containerd hands the checkpoint to the default handler's shim; only io.containerd.runc.v2 checkpoints with criu."""
    fact = gather(make_root(tmp_path, {'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'},
                            {'/etc/containerd/config.toml': config}))['containerd']
    assert fact['runtime_handler']['runtime_type'] == shim and fact['runtime_handler']['name'] in config
    assert fact['checkpoint'] == state
    assert 'through the shim "%s"' % shim in reasons(fact) and says in reasons(fact)
    assert fact['oci_runtime'] == {'name': None, 'path': None, 'source': None}


@pytest.mark.parametrize('text, state, says', [
    ("[plugins.'io.containerd.cri.v1.runtime'.containerd]\ndefault_runtime_name = 'gvisor'\n", R.NOT_READY,
     'default_runtime_name = "gvisor" (default_runtime_name under [plugins.\'io.containerd.cri.v1.runtime\'.containerd] '
     'in /etc/containerd/config.toml) names no runtime handler table'),
    ("[plugins.'io.containerd.cri.v1.runtime'.containerd]\ndefault_runtime_name = ''\n", R.NOT_READY,
     '"`default_runtime_name` is empty"'),
    ("[plugins.'io.containerd.cri.v1.runtime'.containerd]\ndefault_runtime_name = 'crun'\n"
     "[plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.crun.options]\nBinaryName = 'crun'\n", R.UNKNOWN,
     'default runtime handler "crun" (default_runtime_name under [plugins.\'io.containerd.cri.v1.runtime\'.containerd] in '
     '/etc/containerd/config.toml) sets no runtime_type'),
])
def test_containerd_default_handler_that_containerd_cannot_use(tmp_path, text, state, says):
    fact = gather(containerd_root(tmp_path, {'/etc/containerd/config.toml': 'version = 3\n' + text}))['containerd']
    assert fact['checkpoint'] == state and says in reasons(fact), reasons(fact)


# -- CRI-O: the default of enable_criu_support per version ---------------------------

@pytest.mark.parametrize('fixture,state,enabled', [
    ('crio-1.29.1.txt', R.NOT_READY, False),
    ('crio-1.30.0.txt', R.READY, True),
])
def test_crio_default_per_version(tmp_path, fixture, state, enabled):
    root = make_root(tmp_path, {'crio': fixture, 'runc': 'runc-1.1.5.txt'}, {'/etc/crio/crio.conf': 'crio-default-1.29/crio.conf'})
    fact = gather(root)['cri-o']
    assert fact['checkpoint'] == state
    assert fact['config']['enable_criu_support'] is enabled and fact['config']['source'].startswith('default of CRI-O')


def test_crio_dropin_enables_and_names_crun(tmp_path):
    files = {'/etc/crio/crio.conf': 'crio-default-1.29/crio.conf',
             '/etc/crio/crio.conf.d/05-checkpoint.conf': 'crio-dropin-enabled/crio.conf.d/05-checkpoint.conf'}
    facts = gather(make_root(tmp_path, {'crio': 'crio-1.29.1.txt', 'crun': 'crun-1.8.1-debian12.txt'}, files))
    fact = facts['cri-o']
    assert fact['config']['enable_criu_support'] is True
    assert fact['config']['source'] == '/etc/crio/crio.conf.d/05-checkpoint.conf'
    assert fact['checkpoint'] == R.NOT_READY and 'runs containers with crun' in reasons(fact)

    ready = gather(make_root(tmp_path / 'b', {'crio': 'crio-1.29.1.txt', 'crun': 'crun-1.14.4-criu.txt'}, files, libcriu=True))
    assert ready['cri-o']['checkpoint'] == R.READY

    without = gather(make_root(tmp_path / 'c', {'crio': 'crio-1.29.1.txt', 'crun': 'crun-1.14.4-criu.txt'}, files, libcriu=True),
                     criu=CRIU_NONE)['cri-o']
    assert 'refuses to start' in ' '.join(without['notes'])


@pytest.mark.parametrize('on_path,at_runtime_path,state', [
    ('crun-1.8.1-debian12.txt', 'crun-1.14.4-criu.txt', R.READY),
    ('crun-1.14.4-criu.txt', 'crun-1.8.1-debian12.txt', R.NOT_READY),
])
def test_crio_runs_the_runtime_path_of_its_handler(tmp_path, on_path, at_runtime_path, state):
    """CRI-O's packaged drop-in runs /usr/libexec/crio/crun (runtime_path), not the crun on PATH."""
    files = {'/etc/crio/crio.conf': 'crio-default-1.29/crio.conf',
             '/etc/crio/crio.conf.d/05-checkpoint.conf': 'crio-dropin-enabled/crio.conf.d/05-checkpoint.conf'}
    root = make_root(tmp_path, {'crio': 'crio-1.29.1.txt', 'crun': on_path}, files, libcriu=True)
    packaged = tmp_path / 'etc' / 'crio' / 'crio.conf.d' / '10-crio.conf'
    packaged.write_text('[crio.runtime.runtimes.crun]\nruntime_path = "/usr/libexec/crio/crun"\n')
    libexec = tmp_path / 'usr' / 'libexec' / 'crio'
    libexec.mkdir(parents=True)
    (libexec / 'crun').write_text('#!/bin/sh\ncat %s\n' % os.path.join(VERSIONS, at_runtime_path))
    (libexec / 'crun').chmod(0o755)
    fact = gather(root)['cri-o']
    assert fact['oci_runtime']['path'] == str(libexec / 'crun'), fact['oci_runtime']
    assert 'runtime_path under [crio.runtime.runtimes.crun] in /etc/crio/crio.conf.d/10-crio.conf' in fact['oci_runtime']['source']
    assert fact['checkpoint'] == state, reasons(fact)


@pytest.mark.parametrize('version,runtime,crun,state', [
    ('1.30.0', 'runc', 'crun-1.8.1-debian12.txt', R.READY),
    ('1.31.0', 'crun', 'crun-1.8.1-debian12.txt', R.NOT_READY),
    ('1.31.0', 'crun', 'crun-1.14.4-criu.txt', R.READY),
])
def test_crio_without_default_runtime_runs_its_own_default(tmp_path, version, runtime, crun, state):
    """No default_runtime anywhere: CRI-O runs runc up to 1.30 (cri-o docs/crio.conf.5.md, default_runtime="runc") and
    crun from 1.31 (cri-o v1.31.0 release notes), looked up on PATH; a crun built without CRIU fails its checkpoint."""
    root = make_root(tmp_path, {'crio': 'crio-1.30.0.txt', 'runc': 'runc-1.1.5.txt', 'crun': crun}, libcriu=True)
    output = tmp_path / 'crio-version.txt'   # crio-1.30.0.txt's output with another version
    with open(os.path.join(VERSIONS, 'crio-1.30.0.txt')) as recorded:
        output.write_text(recorded.read().replace('1.30.0', version))
    (tmp_path / 'usr' / 'bin' / 'crio').write_text('#!/bin/sh\ncat %s\n' % output)
    fact = gather(root)['cri-o']
    assert fact['version'] == version
    assert fact['oci_runtime'] == {'name': runtime, 'path': str(tmp_path / 'usr' / 'bin' / runtime),
                                   'source': 'default_runtime unset, the default of CRI-O %s' % version.rsplit('.', 1)[0]}
    assert fact['checkpoint'] == state, reasons(fact)
    if state == R.NOT_READY:
        assert 'CRI-O runs containers with crun: crun 1.8.1 was built without CRIU' in reasons(fact)


def test_crio_reads_its_drop_ins_recursively_in_walk_order(tmp_path):
    """CRI-O walks crio.conf.d (filepath.Walk): sub/ sorts between 10-on.conf and z-on.conf, and its file counts there."""
    root = make_root(tmp_path, {'crio': 'crio-1.29.1.txt', 'runc': 'runc-1.1.5.txt'})
    conf_d = tmp_path / 'etc' / 'crio' / 'crio.conf.d'
    (conf_d / 'sub').mkdir(parents=True)
    (conf_d / '10-on.conf').write_text('[crio.runtime]\nenable_criu_support = true\n')
    (conf_d / 'sub' / 'off.conf').write_text('[crio.runtime]\nenable_criu_support = false\n')
    fact = gather(root)['cri-o']
    assert fact['config']['source'] == '/etc/crio/crio.conf.d/sub/off.conf' and fact['checkpoint'] == R.NOT_READY
    (conf_d / 'z-on.conf').write_text('[crio.runtime]\nenable_criu_support = true\n')
    fact = gather(root)['cri-o']
    assert fact['config']['files'] == ['/etc/crio/crio.conf.d/10-on.conf', '/etc/crio/crio.conf.d/sub/off.conf',
                                       '/etc/crio/crio.conf.d/z-on.conf']
    assert fact['config']['source'] == '/etc/crio/crio.conf.d/z-on.conf' and fact['checkpoint'] == R.READY


def test_crio_before_1_25(tmp_path):
    fact = gather(make_root(tmp_path, {'crio': 'crio-1.24.6.txt'}))['cri-o']
    assert fact['checkpoint'] == R.NOT_READY and '1.25' in fact['fix']


# -- kubelet: the ContainerCheckpoint gate, then the CRI -------------------------------

@pytest.mark.parametrize('fixture,state', [('kubelet-1.29.4.txt', R.NOT_READY), ('kubelet-1.30.2.txt', R.READY)])
def test_kubelet_gate_default_per_version(tmp_path, fixture, state):
    root = make_root(tmp_path, {'kubelet': fixture, 'containerd': 'containerd-2.2.7.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/var/lib/kubelet/config.yaml': 'kubelet-kubeadm/config.yaml.in'})
    fact = gather(root)['kubelet']
    assert fact['checkpoint'] == state and fact['cri'] == 'containerd'
    assert fact['config']['source'].startswith('default of Kubernetes')


def test_kubelet_gate_on_in_config_file_with_crio(tmp_path):
    root = make_root(tmp_path, {'kubelet': 'kubelet-1.29.4.txt', 'crio': 'crio-1.30.0.txt', 'runc': 'runc-1.1.5.txt', 'containerd': 'containerd-2.2.7.txt'},
                     {'/var/lib/kubelet/config.yaml': 'kubelet-gate-on/config.yaml.in'})
    fact = gather(root)['kubelet']
    assert fact['checkpoint'] == R.READY and fact['cri'] == 'cri-o'
    assert fact['config'] == {'file': '/var/lib/kubelet/config.yaml', 'ContainerCheckpoint': True,
                              'source': 'featureGates in /var/lib/kubelet/config.yaml'}


def test_kubelet_gate_off_by_flag(tmp_path):
    root = make_root(tmp_path, {'kubelet': 'kubelet-1.30.2.txt', 'containerd': 'containerd-2.2.7.txt'},
                     {'/var/lib/kubelet/config.yaml': 'kubelet-kubeadm/config.yaml.in',
                      '/var/lib/kubelet/kubeadm-flags.env': 'kubelet-flags-off/kubeadm-flags.env'})
    fact = gather(root)['kubelet']
    assert fact['checkpoint'] == R.NOT_READY and fact['config']['ContainerCheckpoint'] is False
    assert 'kubeadm-flags.env' in reasons(fact)
    # the flag decides, so the fix is to the flag: featureGates in the config file would change nothing
    assert fact['fix'].startswith('Set ContainerCheckpoint=true in --feature-gates in /var/lib/kubelet/kubeadm-flags.env'), fact['fix']


@pytest.mark.parametrize('kubeadm, extra, gate, where', [
    # $KUBELET_EXTRA_ARGS (/etc/default/kubelet) comes after $KUBELET_KUBEADM_ARGS on the command line: it wins
    ('--feature-gates=ContainerCheckpoint=false', '--feature-gates=ContainerCheckpoint=true', True, '/etc/default/kubelet'),
    # every --feature-gates adds its gates: the second one sets ContainerCheckpoint
    ('--feature-gates=A=true --feature-gates=ContainerCheckpoint=false', '', False, '/var/lib/kubelet/kubeadm-flags.env'),
    # the flag only in the extra file is blamed there
    ('--node-ip=10.0.0.1', '--feature-gates ContainerCheckpoint=false', False, '/etc/default/kubelet'),
])
def test_kubelet_feature_gates_flags_add_up_and_the_last_wins(tmp_path, kubeadm, extra, gate, where):
    root = make_root(tmp_path, {'kubelet': 'kubelet-1.29.4.txt', 'crio': 'crio-1.30.0.txt', 'runc': 'runc-1.1.5.txt'},
                     {'/var/lib/kubelet/config.yaml': 'kubelet-gate-on/config.yaml.in'})
    (tmp_path / 'var' / 'lib' / 'kubelet' / 'kubeadm-flags.env').write_text('KUBELET_KUBEADM_ARGS="%s"\n' % kubeadm)
    (tmp_path / 'etc' / 'default').mkdir(parents=True)
    (tmp_path / 'etc' / 'default' / 'kubelet').write_text('KUBELET_EXTRA_ARGS="%s"\n' % extra)
    fact = gather(root)['kubelet']
    assert fact['config']['ContainerCheckpoint'] is gate and fact['config']['source'] == '--feature-gates in ' + where, fact
    assert fact['checkpoint'] == (R.READY if gate else R.NOT_READY)


def _kubelet_config(rng):
    """A random kubelet config: featureGates in block style (indented 2 or 4, comments, blank lines) or
    flow style (on one line or several), keys and values plain or quoted, YAML 1.1 booleans."""
    def gate():
        return (rng.choice(['ContainerCheckpoint', 'Foo', 'Bar.Baz', '"ContainerCheckpoint"', "'Foo'"]),
                rng.choice(['true', 'false', 'True', 'FALSE', 'yes', 'off', 'On', '"true"', "'false'"]))
    lines = [rng.choice(['', '---']), 'apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration']
    gates = ['%s: %s' % gate() for dummy in range(rng.randint(0, 3))]
    style = rng.choice(['block', 'flow', 'flow lines'])
    if style == 'block':
        lines.append('featureGates:' + rng.choice(['', ' # gates']))
        indent = ' ' * rng.choice([2, 4])
        for item in gates:
            lines += [indent + item + rng.choice(['', '  # c']), rng.choice(['', indent + '# comment', '#x'])]
    elif style == 'flow':
        lines.append('featureGates: {%s}%s' % (', '.join(gates), rng.choice(['', ' # x'])))
    else:
        lines += ['featureGates: {'] + ['  %s,' % item for item in gates[:-1]] + ['  %s' % g for g in gates[-1:]] + ['}']
    lines.append(rng.choice(['cgroupDriver: systemd', 'authentication:\n  anonymous:\n    enabled: false', '']))
    return '\n'.join(lines) + '\n'


def test_kubelet_feature_gates_read_as_yaml_reads_them():
    """The reader of the kubelet config's featureGates against PyYAML on generated configs (a quoted
    "true" counts as the boolean: the gate is meant, though the kubelet would refuse the string)."""
    yaml = pytest.importorskip('yaml')
    rng = random.Random(20261205)
    for dummy in range(2000):
        text = _kubelet_config(rng)
        gates = (yaml.safe_load(text) or {}).get('featureGates') or {}
        expected = dict((k, v if isinstance(v, bool) else {'true': True, 'false': False}.get(v)) for k, v in gates.items())
        assert R._yaml_map(text, 'featureGates') == expected, text


@pytest.mark.parametrize('text, gates', [
    ('featureGates:\n  ContainerCheckpoint: y\n  A: N\n', {'ContainerCheckpoint': True, 'A': False}),   # go-yaml v2
    ('featureGates: {ContainerCheckpoint: true}\nfeatureGatesX: {A: true}\n', {'ContainerCheckpoint': True}),
    ('kind: X\n  featureGates: {ContainerCheckpoint: true}\n', {}),                          # not at the top
])
def test_kubelet_feature_gates_in_the_file(text, gates):
    assert R._yaml_map(text, 'featureGates') == gates


@pytest.mark.parametrize('flag, gate', [('ContainerCheckpoint=true', True), ('A=false,ContainerCheckpoint=1', True),
                                        ('ContainerCheckpoint=F', False), ('ContainerCheckpoint=yes', None)])
def test_kubelet_feature_gates_flag_is_read_as_go_parsebool(flag, gate):
    assert R._feature_gates(flag)['ContainerCheckpoint'] is gate


def test_kubelet_follows_its_cri(tmp_path):
    root = make_root(tmp_path, {'kubelet': 'kubelet-1.30.2.txt', 'containerd': 'containerd-1.6.20-debian12.txt'})
    fact = gather(root)['kubelet']
    assert fact['checkpoint'] == R.NOT_READY and 'criu_facts.runtimes.containerd' in reasons(fact)


def test_kubelet_before_1_25_and_alone(tmp_path):
    assert gather(make_root(tmp_path, {'kubelet': 'kubelet-1.24.17.txt'}))['kubelet']['checkpoint'] == R.NOT_READY
    alone = gather(make_root(tmp_path / 'b', {'kubelet': 'kubelet-1.30.2.txt'}))['kubelet']
    assert alone['checkpoint'] == R.UNKNOWN and 'no container runtime' in reasons(alone).lower()


# -- Docker: experimental ---------------------------------------------------------

def test_docker_runs_its_default_runtime_and_reads_experimental_as_a_boolean(tmp_path):
    """"default-runtime" (with "runtimes" naming its path) is what Docker checkpoints through; "experimental"
    given as a string stops dockerd, so it is not read as off."""
    root = make_root(tmp_path, {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.1.5.txt', 'crun': 'crun-1.8.1-debian12.txt'})
    (tmp_path / 'etc' / 'docker').mkdir(parents=True)
    daemon = tmp_path / 'etc' / 'docker' / 'daemon.json'
    daemon.write_text('{"experimental": true, "default-runtime": "crun", "runtimes": {"crun": {"path": "/usr/bin/crun"}}}')
    fact = gather(root)['docker']
    assert fact['oci_runtime']['name'] == 'crun' and fact['checkpoint'] == R.NOT_READY
    assert 'runs containers with crun' in reasons(fact)
    daemon.write_text('{"experimental": "true"}')
    fact = gather(root)['docker']
    assert fact['checkpoint'] == R.UNKNOWN and '"experimental" in /etc/docker/daemon.json is "true"' in reasons(fact)
    assert fact['oci_runtime'] == {'name': 'runc', 'path': str(tmp_path / 'usr/bin/runc'), 'source': 'default'}
    # the running dockerd reads the file of its --config-file
    (tmp_path / 'etc' / 'docker' / 'alt.json').write_text('{"experimental": true}')
    proc = tmp_path / 'proc' / '4242'
    proc.mkdir(parents=True)
    (proc / 'comm').write_text('dockerd\n')
    (proc / 'cmdline').write_bytes(b'/usr/bin/dockerd\0--config-file=/etc/docker/alt.json\0')
    fact = gather(root)['docker']
    assert fact['checkpoint'] == R.READY and fact['config']['source'] == '/etc/docker/alt.json', fact


def test_docker_needs_experimental(tmp_path):
    fact = gather(make_root(tmp_path, {'dockerd': 'dockerd-20.10.24-debian12.txt', 'runc': 'runc-1.1.5.txt'}))['docker']
    assert fact['checkpoint'] == R.NOT_READY and '"experimental": true' in fact['fix']
    on = gather(make_root(tmp_path / 'b', {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.1.5.txt'},
                          {'/etc/docker/daemon.json': 'docker-experimental/daemon.json'}))['docker']
    assert on['checkpoint'] == R.READY and on['config']['source'] == '/etc/docker/daemon.json'


def test_docker_broken_daemon_json_is_unknown(tmp_path):
    root = make_root(tmp_path, {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.1.5.txt'})
    (tmp_path / 'etc' / 'docker').mkdir(parents=True)
    (tmp_path / 'etc' / 'docker' / 'daemon.json').write_text('{"experimental": true,}')
    fact = gather(root)['docker']
    assert fact['checkpoint'] == R.UNKNOWN and 'not valid JSON' in reasons(fact)


def test_docker_inherits_a_nocriu_runc(tmp_path):
    root = make_root(tmp_path, {'dockerd': 'dockerd-27.3.1.txt', 'runc': 'runc-1.3.0.txt'},
                     {'/etc/docker/daemon.json': 'docker-experimental/daemon.json'}, binary_extra={'runc': '# %s\n' % NOCRIU_MESSAGE})
    assert 'runc_nocriu' in reasons(gather(root)['docker'])


# -- the TOML reader ----------------------------------------------------------------

def _toml_fixtures():
    found = []
    for dirpath, _dirs, names in os.walk(CONFIG):
        found += [os.path.join(dirpath, n) for n in names if n.endswith(('.toml', '.conf'))]
    return sorted(found)


@pytest.mark.parametrize('path', _toml_fixtures(), ids=lambda p: os.path.relpath(p, CONFIG))
def test_toml_reader_agrees_with_tomllib(path):
    tomllib = pytest.importorskip('tomllib')
    with open(path) as f:
        text = f.read()
    assert T.parse_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize('text', [
    'a = "x # not a comment" # a comment\n',
    "a = 'x # not one either' # a comment\n",
    'a = "an escaped \\" # still the string" # a comment\n',
    'a = ["#", \'#\'] # a comment\n',
    '# only a comment\na = 1 #\n',
    '"x=y" = 1\n',                              # quoted keys holding =, # or ]
    "'a = b'.c = 'd = e'\n",
    't = {"k=v" = 1, "h#sh" = "#"}\n',
    '["d]e"."f=g"]\nx = 1\n',
])
def test_toml_reader_comments_and_quotes_agree_with_tomllib(text):
    tomllib = pytest.importorskip('tomllib')
    assert T.parse_toml(text) == tomllib.loads(text)


def _toml_document(rng):
    """A random document of the subset the reader claims: tables, arrays of tables, dotted and quoted
    keys (holding dots, spaces, =, # and ]), strings with escapes and comment signs, numbers, booleans,
    arrays over several lines with comments and trailing commas, inline tables."""
    def key():
        k = rng.choice(['a', 'enable_criu', 'k-1', 'k_2', '3', '"io.containerd.grpc.v1.cri"', "'a b'", '"x=y"',
                        '"h#sh"', "'d]e'"])
        return k + rng.choice(['', '.b', ' . "c.d"'])

    def value(depth=0):
        pick = rng.random()
        if pick < .3 or depth > 1:
            return rng.choice(['"plain"', '"with # hash"', '"br]ack,et"', '"tab\\there"', '"q\\"uote"',
                               '"uni\\u00e9"', "'lit # eral'", "'{brace}'"])
        if pick < .5:
            return rng.choice(['true', 'false', '0', '-1', '+7', '1_000', '1.5', '-0.5', '1e3'])
        if pick < .8:
            items = [value(depth + 1) for dummy in range(rng.randint(0, 3))]
            body = rng.choice([', ', ',\n  ', ', # c\n ']).join(items)
            return '[' + body + (',' if items and rng.random() < .3 else '') + ']'
        return '{' + ', '.join('%s = %s' % (key(), value(depth + 1)) for dummy in range(rng.randint(0, 2))) + '}'

    lines = []
    for dummy in range(rng.randint(1, 8)):
        pick = rng.random()
        if pick < .2:
            lines.append('[%s]%s' % (key(), rng.choice(['', ' # t'])))
        elif pick < .25:
            lines.append('[[%s]]' % rng.choice(['a', 'k-1', '"x=y"']))
        elif pick < .3:
            lines.append(rng.choice(['# comment', '', '   ']))
        else:
            lines.append('%s = %s%s' % (key(), value(), rng.choice(['', '  # trailing', '#x'])))
    return '\n'.join(lines) + '\n'


def test_toml_reader_agrees_with_tomllib_on_generated_documents():
    """Every generated document tomllib accepts (a random one may define a key twice), the reader
    reads to the same value."""
    tomllib = pytest.importorskip('tomllib')
    rng = random.Random(20261205)
    compared = 0
    for dummy in range(3000):
        text = _toml_document(rng)
        try:
            expected = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            continue
        assert T.parse_toml(text) == expected, text
        compared += 1
    assert compared > 1000


@pytest.mark.parametrize('text', ['[a\n', 'a = \n', 'a = "x\n', 'a = 1\na = 2\n', 'a = [1,\n'])
def test_toml_reader_rejects_with_the_line(text):
    with pytest.raises(ValueError, match='line'):
        T.parse_toml(text)


@pytest.mark.parametrize('text, sentence', [
    ('runc 1.1 was built without criu', 'runc 1.1 was built without criu.'),
    ('podman needs criu', 'Podman needs criu.'),
    ('criu is not installed', 'criu is not installed.'),
    ('the config is unreadable', 'The config is unreadable.'),
    ('  ', ''),
])
def test_sentences_keep_lower_case_names(text, sentence):
    assert R._sentence(text) == sentence


def test_criu_version_number():
    assert R.criu_version_number('4.1.1') == 40101
    assert R.criu_version_number('3.17') == 31700
    assert R.criu_version_number(None) is None
    assert R.version_text(31600) == '3.16' and R.version_text(40101) == '4.1.1'
