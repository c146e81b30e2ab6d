# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles (and playbooks/check.yml and install.yml) through real ansible-playbook on
localhost, with their variables given as an operator gives them (-e
key=value: text), in check mode: nothing is installed or removed, and /etc/apt
is left as it was.  The one test that lets the install role really write its
apt suite does so in a private mount namespace, over copies of apt's
directories."""

import json
import os
import platform
import pwd
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import conftest

from ansible_collections.criu.check.plugins.module_utils import _aggregate
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils import _registry
from ansible_collections.criu.check.plugins.module_utils import _result
from ansible_collections.criu.check.plugins.plugin_utils import _fleet

ANSIBLE_BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(ANSIBLE_BIN, 'ansible-playbook')

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason='ansible-core is not installed beside this Python')

requires_apt = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which('apt-get') or not os.path.exists('/usr/lib/python3/dist-packages/apt'),
    reason='the install role runs here in check mode: needs root, apt and python3-apt')

# What apt's configuration and state look like, to show that a test changed none of it.
APT_PATHS = ('/etc/apt/sources.list.d', '/etc/apt/preferences.d', '/var/lib/apt/lists')


def _apt_state():
    state = {}
    for path in APT_PATHS:
        for name in sorted(os.listdir(path)):
            st = os.lstat(os.path.join(path, name))
            state[os.path.join(path, name)] = (st.st_size, st.st_mtime_ns)
    for path in ('/var/lib/dpkg/status', '/etc/apt/sources.list'):
        if os.path.exists(path):
            state[path] = os.stat(path).st_mtime_ns
    return state


def _env():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0', ANSIBLE_NOCOLOR='1',
                ANSIBLE_DEPRECATION_WARNINGS='1')


def run_role(tmp_path, role, extra=(), check=True, diff=False, show=(), inventory=None, module_defaults=None,
             wrap=None, timeout=300, facts=None):
    """Run ``role`` on localhost, through include_role in a block whose rescue
    records the failure; return (a dict of the variables named in ``show`` and
    ``failed``: {task, msg} or None, the output).  ``extra`` are -e arguments as
    an operator types them; ``wrap`` is an argv prefix (a private namespace);
    ``facts`` become ansible_facts.criu_facts before the role, as from a fact
    cache (set_fact with cacheable sets the fact, not only a host variable)."""
    out = tmp_path / 'out.json'
    given = [] if facts is None else [
        {'name': 'The facts the test gives', 'ansible.builtin.set_fact': {'criu_facts': facts, 'cacheable': True}}]
    play = [{
        'hosts': 'localhost',
        'gather_facts': False,
        'module_defaults': dict(module_defaults or {}),
        'tasks': given + [
            {'name': 'The role under test', 'block': [{'ansible.builtin.include_role': {'name': 'criu.check.' + role}}],
             'rescue': [{'name': 'Keep the failure', 'ansible.builtin.set_fact': {
                 'test_failed': {'task': "{{ ansible_failed_task.name | default('?') }}",
                                 'msg': "{{ ansible_failed_result.msg | default('') }}"}}}]},
            {'name': 'Save what the test looks at', 'check_mode': False, 'ansible.builtin.copy': {
                'dest': str(out),
                'content': "{{ {%s} | to_json }}" % ', '.join(
                    ["'%s': hostvars[inventory_hostname]['%s'] | default(none)" % (n, n)
                     for n in tuple(show) + ('test_failed',)])}},
        ],
    }]
    (tmp_path / 'play.yml').write_text(json.dumps(play))
    if inventory is None:
        inventory = 'localhost ansible_connection=local\n'
    (tmp_path / 'hosts').write_text(inventory)
    cmd = [PLAYBOOK, '-i', str(tmp_path / 'hosts'), str(tmp_path / 'play.yml')]
    for arg in extra:
        cmd += ['-e', arg]
    cmd += (['--check'] if check else []) + (['--diff'] if diff else [])
    proc = subprocess.run(list(wrap or []) + cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False)
    output = proc.stdout
    assert proc.returncode == 0 and out.exists(), output[-6000:]
    result = json.loads(out.read_text())
    result['failed'] = result.pop('test_failed')
    return result, output


# ---------------------------------------------------------------- install


@requires_apt
def test_install_booleans_given_as_text_are_false(tmp_path):
    """-e criu_install_python_libs=false is the string 'false': no library is installed for it,
    nor crit, criu-ns or the bindings (given package names here, as on Fedora, to tell)."""
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', [
        'criu_install_python_libs=false', 'criu_install_crit=false', 'criu_install_criu_ns=false',
        'criu_install_python_bindings=no', 'criu_install_verify=false',
        json.dumps({'__criu_install_crit_packages': ['crit'], '__criu_install_criu_ns_packages': ['criu-ns'],
                    '__criu_install_python_binding_packages': ['python3-criu']}),
    ], show=['__criu_install_all_packages', 'criu_install'])
    assert result['failed'] is None, result
    assert result['__criu_install_all_packages'] == ['criu'], output[-3000:]
    assert result['criu_install'] is None, 'criu_install_verify=false ran the installed criu'
    assert _apt_state() == before


@requires_apt
def test_install_list_variables_given_as_text(tmp_path):
    """-e criu_install_extra_packages=htop,less adds two packages, each once (it failed: "can only concatenate
    list (not str) to list"), and the suite's components main,contrib are two components in the
    source line, not its letters; in check mode nothing is written."""
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', [
        json.dumps({'criu_install_extra_packages': 'htop, less, criu, htop'}), 'criu_install_verify=false',
        'criu_install_apt_suite=trixie',
        'criu_install_apt_suite_components=main,contrib',
    ], diff=True, show=['__criu_install_all_packages', '__criu_install_apt_source'])
    assert result['failed'] is None, result
    # each package once, also one the role installs anyway
    assert result['__criu_install_all_packages'][-2:] == ['htop', 'less']
    assert result['__criu_install_all_packages'].count('criu') == 1, result['__criu_install_all_packages']
    after = result['__criu_install_apt_source']['diff']
    after = ''.join(d.get('after', '') for d in (after if isinstance(after, list) else [after]))
    assert 'deb http://deb.debian.org/debian trixie main contrib\n' in after, output[-3000:]
    assert _apt_state() == before


@requires_apt
def test_install_check_mode_with_a_new_suite_says_what_would_change(tmp_path):
    """The documented fix on Debian 12 in check mode: the source and the pin would change, the
    packages would come from the suite; apt is not asked about a release it has no lists for yet
    (it failed: "The value 'trixie' is invalid for APT::Default-Release")."""
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', ['criu_install_apt_suite=trixie'],
                              show=['__criu_install_apt_source', '__criu_install_apt_pin', '__criu_install_apt',
                                    'criu_install'])
    assert result['failed'] is None, result
    assert result['__criu_install_apt_source']['changed'] and result['__criu_install_apt_pin']['changed']
    assert result['__criu_install_apt'].get('skipped'), result['__criu_install_apt']
    assert 'would be added, the package lists refreshed' in output
    assert 'installed from trixie (apt-get install -t trixie)' in output
    assert result['criu_install']['apt_suite'] == 'trixie'
    assert _apt_state() == before


@requires_apt
def test_install_takes_a_null_suite_for_the_host_s_own(tmp_path):
    """criu_install_apt_suite: null (as a play's vars may give it) is the host's own suite, as "" is, not the
    suite 'None'."""
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', [json.dumps({'criu_install_apt_suite': None}), 'criu_install_verify=false'],
                              show=['__criu_install_suite', '__criu_install_apt_source'])
    assert result['failed'] is None, result['failed']
    assert result['__criu_install_suite'] == '' and result['__criu_install_apt_source'].get('skipped'), result
    assert _apt_state() == before


@requires_apt
@pytest.mark.parametrize('suite', ['trixie main', 'Trixie', '../trixie', '-trixie', 'trixie\n'])
def test_install_refuses_a_malformed_suite_before_writing_anything(tmp_path, suite):
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', [json.dumps({'criu_install_apt_suite': suite})],
                              show=['__criu_install_apt_source'])
    assert result['failed'], output[-3000:]
    assert result['failed']['task'].startswith('Check the name of the apt suite'), result['failed']
    msg = result['failed']['msg']
    assert "got '%s'" % suite in msg and 'lower-case letters, digits' in msg and 'Nothing was changed' in msg
    assert result['__criu_install_apt_source'] is None
    assert _apt_state() == before


@requires_apt
@pytest.mark.parametrize('name, value', [
    # a second "deb" line, which the pin of the suite does not cover: all of sid at apt's default priority
    ('criu_install_apt_suite_uri', 'http://deb.debian.org/debian sid main\ndeb http://deb.debian.org/debian'),
    ('criu_install_apt_suite_uri', 'http://deb.debian.org/debian\n'),
    ('criu_install_apt_suite_uri', ''),
    ('criu_install_apt_suite_components', ['main', 'contrib\ndeb http://deb.debian.org/debian sid main']),
    ('criu_install_apt_suite_components', ['main\n']),
    ('criu_install_apt_suite_components', []),
])
def test_install_refuses_a_malformed_mirror_or_component_before_writing_anything(tmp_path, name, value):
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', [json.dumps({'criu_install_apt_suite': 'trixie', name: value})],
                              show=['__criu_install_apt_source'])
    assert result['failed'], output[-3000:]
    assert result['failed']['task'].startswith('Check the mirror and components of that suite'), result['failed']
    msg = result['failed']['msg']
    assert 'criu_install_apt_suite_uri must be one apt URI without spaces' in msg and 'Nothing was changed' in msg
    assert result['__criu_install_apt_source'] is None
    assert _apt_state() == before


@requires_apt
@pytest.mark.skipif(not shutil.which('unshare'), reason='needs unshare (util-linux)')
@pytest.mark.parametrize('suite, components, failed_task, why', [
    ('trixy', 'main', 'Refresh the package lists for the new suite', ''),
    # apt only warns of a component the suite lacks, and criu came from the host's own suite
    ('trixie', 'main,mian', 'Fail on a component apt found no package list for',
     'the suite has no component mian (apt only warned'),
], ids=['misspelt-suite', 'misspelt-component'])
def test_install_takes_a_suite_apt_cannot_read_away_again(tmp_path, suite, components, failed_task, why):
    """A misspelt suite or component really written and refreshed, in a private mount namespace over
    copies of apt's directories: the refresh fails (or finds no list for the component), both files are
    removed again, and the role fails naming the suite (before, the files stayed and broke every later
    apt-get update, or criu came from the host's own suite)."""
    before = _apt_state()
    sources, prefs, lib, cache = (tmp_path / d for d in ('sources.list.d', 'preferences.d', 'lib-apt', 'cache-apt'))
    shutil.copytree('/etc/apt/sources.list.d', str(sources), symlinks=True)
    shutil.copytree('/etc/apt/preferences.d', str(prefs), symlinks=True)
    shutil.copytree('/var/lib/apt', str(lib), symlinks=True)
    (cache / 'archives' / 'partial').mkdir(parents=True)
    (sources / '.criu-check-test').write_text('')
    # The packages would go to this host's dpkg and /usr, outside these copies: a role that went on
    # to install (the old code, with a misspelt component) must fail there, not upgrade the host
    # from another suite. apt runs this before every dpkg run, never for a refresh.
    (tmp_path / 'apt.conf').write_text('DPkg::Pre-Invoke { "echo criu-check test: no dpkg here >&2; exit 1"; };\n')
    binds = [(sources, '/etc/apt/sources.list.d'), (prefs, '/etc/apt/preferences.d'), (lib, '/var/lib/apt'),
             (cache, '/var/cache/apt')]
    # Every bind must hold before the playbook starts: else it does not start at all.
    script = ' && '.join(['mount --bind %s %s' % (src, dst) for src, dst in binds]
                         + ['test -e /etc/apt/sources.list.d/.criu-check-test',
                            'export APT_CONFIG=%s' % (tmp_path / 'apt.conf'), 'exec "$@"'])
    wrap = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', 'set -e; ' + script, 'sh']
    result, output = run_role(
        tmp_path, 'install', ['criu_install_apt_suite=' + suite, 'criu_install_apt_suite_components=' + components,
                              'criu_install_verify=false'], check=False, wrap=wrap,
        show=['__criu_install_apt_source', '__criu_install_apt_pin', '__criu_install_apt'],
        # one try is enough here (the role keeps apt's five for real mirrors)
        module_defaults={'ansible.builtin.apt': {'update_cache_retries': 1}})
    assert result['__criu_install_apt_source']['changed'] and result['__criu_install_apt_pin']['changed'], output
    assert result['failed'], output[-3000:]
    assert result['failed']['task'] == 'Fail, naming the suite apt could not use', result['failed']
    msg = result['failed']['msg']
    assert "apt could not use the suite '%s' from http://deb.debian.org/debian" % suite in msg
    assert '"%s" failed: %s' % (failed_task, why) in msg, msg
    assert 'removed /etc/apt/sources.list.d/criu-check-%s.list' % suite in msg
    assert result['__criu_install_apt'] is None, 'nothing may be installed'
    assert not (sources / ('criu-check-%s.list' % suite)).exists() and not (prefs / ('criu-check-%s.pref' % suite)).exists()
    assert sorted(os.listdir(str(sources))) == sorted(os.listdir('/etc/apt/sources.list.d') + ['.criu-check-test'])
    assert _apt_state() == before


@requires_apt
def test_install_reports_a_criu_that_was_not_run_without_a_deprecation(tmp_path):
    """criu_install.starts is false, not null through | bool (deprecated: removed in ansible-core
    2.23), when criu was not run (not installed yet, check mode)."""
    result, output = run_role(tmp_path, 'install', show=['criu_install', '__criu_install_all_packages'])
    assert result['failed'] is None, result
    # by default criu and the probes' libraries, from the collection's one table (module_utils/_deps.py)
    assert result['__criu_install_all_packages'] == ['criu'] + list(_deps.PACKAGES['Debian'].values()), output[-3000:]
    assert result['criu_install']['packages'] == result['__criu_install_all_packages']
    assert result['criu_install']['apt_suite'] is None and result['criu_install']['kernel'] == platform.release()
    assert result['criu_install']['starts'] in (True, False)
    if not result['criu_install']['installed']:
        assert result['criu_install']['starts'] is False
        assert 'criu is not installed yet (check mode): %s would be installed' % ', '.join(
            result['__criu_install_all_packages']) in output, output[-3000:]
    assert 'DEPRECATION' not in output, output[-3000:]


@requires_apt
@pytest.mark.skipif(not (platform.machine() == 'x86_64' and tuple(map(int, re.findall(r'\d+', platform.release())[:2]))
                         >= (6, 13)), reason='criu 3.17.1 starts on kernels before 6.13 (and off x86_64)')
@pytest.mark.parametrize('fail, suite', [(True, ''), (False, ''), (True, 'trixie')])
def test_install_fails_when_the_criu_installed_cannot_run_on_this_kernel(tmp_path, fail, suite):
    """Debian 12's real criu 3.17.1 first on PATH (unpacked, never installed; check mode), which stops in its
    vDSO set-up on this kernel: the role fails naming the version, the kernel, criu's words and the fix,
    unless criu_install_fail_on_unusable=false, or a suite is about to replace it (check mode); criu_install
    says so in every case."""
    env = dict(line.split('=', 1) for line in conftest.debian12_criu('env').split())
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', ['criu_install_fail_on_unusable=%s' % str(fail).lower(),
                                                    'criu_install_apt_suite=' + suite],
                              show=['criu_install'], wrap=['env'] + ['%s=%s' % item for item in env.items()])
    assert _apt_state() == before
    report = result['criu_install']
    assert (report['version'], report['installed'], report['executable'], report['starts'], report['usable']) \
        == ('3.17.1', True, True, False, False), report
    assert report['kernel_incompatible'] is True and report['start_blockers'] == [], report
    assert report['check']['verdict'] == 'cannot_start' and report['check']['rc'] == 1, report
    assert 'vdso: Unexpected rt vDSO area bounds' in report['check']['messages'] and report['path'].endswith('/criu')
    assert report['kernel'] == platform.release() and 'criu 4.1 or newer' in report['fix'], report
    assert report['apt_suite'] == (suite or None), report
    assert ('criu 3.17.1 is installed (cannot_start), and would be replaced by the criu of trixie' in output) \
        is bool(suite) and ('), and would be replaced by the criu of' in output) is bool(suite), output[-3000:]
    if suite or not fail:
        assert result['failed'] is None, result['failed']
        return
    assert result['failed']['task'] == 'Fail when the installed criu cannot run at all', output[-3000:]
    msg = result['failed']['msg']
    assert msg.startswith('criu 3.17.1 is installed (') and "cannot run on this host's kernel %s" % platform.release() \
        in msg, msg
    assert 'stopped before running any check (exit code 1) with: vdso: Unexpected rt vDSO area bounds' in msg, msg
    assert 'Fix: install a criu release that supports kernel %s: ' % platform.release() in msg, msg


def _installed(*packages):
    return all(subprocess.run(['dpkg-query', '-W', '-f', '${Status}', p], stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL, check=False).stdout == 'install ok installed'
               for p in packages)


@requires_apt
@pytest.mark.skipif(not _installed('python3-pyroute2', 'python3-ptrace'),
                    reason="installs nothing: needs Debian's python3-pyroute2 and python3-ptrace already installed")
@pytest.mark.parametrize('interpreter', ['bare_venv', '/usr/bin/python3'])
def test_install_fails_when_the_modules_python_cannot_import_the_libraries(tmp_path, interpreter):
    """A real run, with only the two library packages, already installed (apt changes nothing): run by a
    virtual environment's Python (the managed node's ansible_python_interpreter), the modules cannot import
    what Debian's python3-pyroute2 and python3-ptrace installed for /usr/bin/python3, and the role says so
    with the interpreter and the fix; it claimed success, and the probes that need them stayed unknown.
    With /usr/bin/python3 the same run passes."""
    if interpreter == 'bare_venv':
        subprocess.run(['/usr/bin/python3', '-m', 'venv', '--without-pip', str(tmp_path / 'venv')], check=True)
        interpreter = str(tmp_path / 'venv' / 'bin' / 'python3')
    before = _apt_state()
    result, output = run_role(
        tmp_path, 'install', [json.dumps({
            '__criu_install_packages': [],
            '__criu_install_python_libraries': {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-ptrace'},
            # the lists as they are: no apt-get update
            'criu_install_cache_valid_time': 10 ** 9})],
        check=False, show=['__criu_install_apt', 'criu_install'],
        inventory='localhost ansible_connection=local ansible_python_interpreter=%s\n' % interpreter)
    assert not result['__criu_install_apt']['changed'], output[-3000:]
    assert _apt_state() == before
    if interpreter == '/usr/bin/python3':
        assert result['failed'] is None, result
        return
    assert result['failed'], output[-3000:]
    assert result['failed']['task'] == "Fail when the modules' Python cannot import the libraries the role installed"
    msg = result['failed']['msg']
    assert msg.startswith('python3-pyroute2, python3-ptrace are installed, but the Python that runs'), msg
    assert 'on this host, %s (Python 3.' % interpreter in msg and 'cannot import pyroute2, ptrace:' in msg, msg
    assert 'set ansible_python_interpreter for this host' in msg and '(pip: pyroute2)' in msg, msg


@requires_apt
def test_install_check_mode_does_not_judge_the_libraries_it_has_not_installed(tmp_path):
    """In check mode nothing was installed: a modules' Python that cannot import the libraries (yet) is no
    failure there, as the real run above is."""
    subprocess.run(['/usr/bin/python3', '-m', 'venv', '--without-pip', str(tmp_path / 'venv')], check=True)
    before = _apt_state()
    result, output = run_role(
        tmp_path, 'install', [json.dumps({'criu_install_cache_valid_time': 10 ** 9})],
        show=['criu_install'],
        inventory='localhost ansible_connection=local ansible_python_interpreter=%s\n' % (tmp_path / 'venv' / 'bin' / 'python3'))
    assert result['failed'] is None, output[-3000:]
    assert 'installed, but the Python that runs' not in output
    assert _apt_state() == before


@requires_apt
def test_install_check_mode_leaves_a_criu_that_cannot_be_executed_to_the_packages(tmp_path):
    """In check mode a criu without an execute bit first on PATH is reported, not failed on: the packages
    may be about to put an executable criu first."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'criu').write_text('#!/bin/sh\necho "Version: 4.1.1"\n')
    (bin_dir / 'criu').chmod(0o644)
    before = _apt_state()
    result, output = run_role(tmp_path, 'install', show=['criu_install'],
                              wrap=['env', 'PATH=%s:%s' % (bin_dir, os.environ['PATH'])])
    assert _apt_state() == before
    if result['criu_install']['path'] is not None:
        pytest.skip('an executable criu is installed on this machine: %s' % result['criu_install']['path'])
    assert result['criu_install']['installed'] is True and result['criu_install']['executable'] is False
    assert result['failed'] is None, result['failed']


@requires_apt
def test_install_fails_when_the_criu_installed_cannot_be_executed(tmp_path):
    """A real run that installs nothing (apt changes nothing), with the first criu on PATH a file without an
    execute bit: the role fails with the reason and chmod +x (it reported criu installed, check not_run, and
    passed); criu_install says executable: false."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'criu').write_text('#!/bin/sh\necho "Version: 4.1.1"\n')
    (bin_dir / 'criu').chmod(0o644)
    before = _apt_state()
    result, output = run_role(
        tmp_path, 'install', [json.dumps({'__criu_install_packages': [], '__criu_install_python_libraries': {},
                                          'criu_install_cache_valid_time': 10 ** 9})],
        check=False, show=['__criu_install_apt', 'criu_install'],
        wrap=['env', 'PATH=%s:%s' % (bin_dir, os.environ['PATH'])])
    assert not result['__criu_install_apt']['changed'] and _apt_state() == before, output[-3000:]
    if result['criu_install']['path'] is not None:
        pytest.skip('an executable criu is installed on this machine: %s' % result['criu_install']['path'])
    assert result['criu_install']['installed'] is True and result['criu_install']['executable'] is False
    assert result['failed']['task'] == 'Fail when the installed criu cannot be executed', output[-3000:]
    assert 'chmod +x %s' % (bin_dir / 'criu') in result['failed']['msg'], result['failed']


# ---------------------------------------------------------------- require


def test_require_list_variables_given_as_text(tmp_path):
    """-e criu_require_features=userns,timens and criu_ignore_features=tcp are lists of names (they
    failed: "criu_unmet: features must be a list", naming the filter's argument), and
    criu_require_custom_workloads given as JSON text is a dictionary (it failed: "must be a dictionary")."""
    result, output = run_role(tmp_path, 'require', [
        'criu_require_features=userns,timens', 'criu_ignore_features=tcp',
        'criu_require_workloads=user_namespaces,my_app', 'criu_require_custom_workloads={"my_app":["timens"]}',
        'criu_require_categories=required,extra', 'criu_require_report_only=true'], show=['criu_require_result'])
    assert result['failed'] is None, result
    res = result['criu_require_result']
    assert res['ignored'] == ['tcp'] and res['workloads'] == ['user_namespaces', 'my_app'], res
    assert 'tcp' not in res['unmet_ids']
    # the features asked for are decided: met, or unmet for a reason of their own
    for item in res['unmet']:
        if item['id'] in ('userns', 'timens'):
            assert 'in criu_require_features' in item['why'], item


def test_require_says_how_to_waive_criu_start(tmp_path):
    result, output = run_role(tmp_path, 'require', ['criu_ignore_features=criu_start'], show=['criu_require_result'])
    assert result['failed'], output[-3000:]
    assert 'set criu_require_can_start: false' in result['failed']['msg'], result['failed']


@pytest.mark.parametrize('value', ['criu_require_timeout=0', '{"criu_require_timeout": 0}'])
def test_require_passes_its_timeout_to_the_module(tmp_path, value):
    """A timeout of 0, as text (-e) or as a number (a play's vars), reaches the module, which refuses it
    (a number 0 was taken for unset: the probes ran with the module's default instead)."""
    result, output = run_role(tmp_path, 'require', [value, 'criu_require_report_only=true'])
    assert result['failed'] and result['failed']['task'] == 'Gather criu facts', output[-3000:]
    assert 'timeout must be a positive number of seconds' in result['failed']['msg'], result['failed']


def test_require_report_only_given_as_text_is_false(tmp_path):
    """-e criu_require_report_only=false fails the play where something is unmet."""
    result, output = run_role(tmp_path, 'require', [
        'criu_require_report_only=false', 'criu_require_ready=false', 'criu_require_can_start=false',
        'criu_require_features=no_such_probe'], show=['criu_require_result'])
    assert result['failed'] and 'unknown probe id(s): no_such_probe' in result['failed']['msg'], result


# The decision on facts the kernel here cannot vary on demand: every probe supported but those given.
GIVEN_RELEASE = '6.18.0-given'
CAN_START = {'criu_can_start': True, 'criu_start_blockers': []}
CANNOT_START = {'criu_can_start': False, 'criu_start_blockers': ['Yama ptrace_scope is 3']}


def _given(env=None, **statuses):
    env = CAN_START if env is None else env
    results = dict((p.id, {'status': statuses.get(p.id, _result.SUPPORTED), 'message': 'm-' + p.id, 'evidence': {},
                           'duration_ms': 0.1}) for p in _registry.PROBES)
    return _aggregate.facts(results, dict(env), {'release': GIVEN_RELEASE, 'arch': 'x86_64'}, None)


def _require_given(tmp_path, facts, *extra):
    return run_role(tmp_path, 'require', ('criu_require_use_cached_facts=true',) + extra, facts=facts,
                    show=['criu_require_result', 'criu_ready', 'criu_facts'])


@pytest.mark.parametrize('facts, extra, unmet_ids', [
    (_given(), (), []),
    (_given(ns_last_pid=_result.UNSUPPORTED), (), ['ns_last_pid']),
    (_given(ns_last_pid=_result.UNSUPPORTED), ('criu_require_ready=false',), []),
    (_given(CANNOT_START), (), ['criu_start']),
    (_given(CANNOT_START), ('criu_require_can_start=false',), []),
    (_given(userns=_result.UNKNOWN), ('criu_require_features=userns',), ['userns']),
    (_given(userns=_result.UNKNOWN), ('criu_require_features=userns', 'criu_require_unknown_is_unmet=false'), []),
    (_given(userns=_result.UNSUPPORTED), (), []),
    (_given(userns=_result.UNSUPPORTED), ('criu_require_workloads=user_namespaces',), ['userns']),
    (_given(userns=_result.UNSUPPORTED), ('criu_require_workloads=user_namespaces', 'criu_require_report_only=false'),
     ['userns']),
])
def test_require_decides_on_the_facts_it_is_given(tmp_path, facts, extra, unmet_ids):
    """Each variable, given as text with -e, changes the decision on facts the kernel here cannot give on
    demand; a host that lacks something fails with one line per item, one that lacks nothing does not."""
    result, output = _require_given(tmp_path, facts, *extra)
    res = result['criu_require_result']
    assert result['criu_facts']['kernel']['release'] == GIVEN_RELEASE, 'the role probed again'
    assert res['unmet_ids'] == unmet_ids and res['passed'] is (not unmet_ids), res
    assert (res['ready'], res['verdict'], result['criu_ready']) == (facts['ready'], facts['verdict'], facts['ready'])
    if not unmet_ids:
        assert result['failed'] is None, result['failed']
        return
    assert result['failed']['task'] == 'Fail when this host lacks what it must have', output[-3000:]
    assert result['failed']['msg'] == 'localhost cannot run CRIU as required (1 unmet; kernel %s):\n- %s\n' % (
        GIVEN_RELEASE, res['lines'][0]), result['failed']
    assert res['lines'][0].startswith(unmet_ids[0] + ' ('), res


def test_require_holds_up_a_workload_the_installed_criu_cannot_dump(tmp_path):
    """The real facts of the Debian 13 root (criu 4.1.1 on this host's kernel, 6.16 or newer: it cannot dump an
    IPv4 socket there): tcp_established is unmet with that criu's reason and fix, though every probe it names is
    supported; criu_ignore_features waives it by its id."""
    dummy, facts = conftest.criu_and_facts_in_root()
    limits = facts['criu']['cannot_dump']
    assert [limit['id'] for limit in limits] == (['inet_sockets'] if facts['criu']['version'] == '4.1.1' and
                                                 _installed_criu.inet_passcred_refused() else []), limits
    result, output = _require_given(tmp_path, facts, 'criu_require_workloads=tcp_established')
    res = result['criu_require_result']
    assert res['unmet_ids'] == ['criu_dump:inet_sockets' for limit in limits], res
    if limits:
        assert result['failed']['msg'] == (
            'localhost cannot run CRIU as required (1 unmet; kernel %s):\n- criu_dump:inet_sockets (needed for '
            'workload tcp_established): cannot_dump: %s; fix: %s\n'
            % (platform.release(), limits[0]['reason'], limits[0]['fix'])), output[-3000:]
    result, output = _require_given(tmp_path, facts, 'criu_require_workloads=tcp_established',
                                    'criu_ignore_features=criu_dump:inet_sockets')
    assert result['criu_require_result']['unmet_ids'] == [] and result['failed'] is None, output[-3000:]


def test_require_report_only_records_and_never_fails(tmp_path):
    result, output = _require_given(tmp_path, _given(ns_last_pid=_result.UNSUPPORTED), 'criu_require_report_only=true')
    assert result['failed'] is None and result['criu_require_result']['unmet_ids'] == ['ns_last_pid'], result


@pytest.mark.parametrize('extra', [(), ('criu_require_use_cached_facts=false',)])
def test_require_probes_again_unless_told_to_use_the_facts_there(tmp_path, extra):
    result, output = run_role(tmp_path, 'require', extra + ('criu_require_report_only=true',), facts=_given(),
                              show=['criu_facts'])
    assert result['failed'] is None, result['failed']
    assert result['criu_facts']['kernel']['release'] == os.uname().release, output[-3000:]


def test_require_gathers_as_it_is_told(tmp_path):
    """criu_require_categories and criu_require_unprivileged reach the module; by default every probe runs, as root."""
    (tmp_path / 'some').mkdir()
    (tmp_path / 'all').mkdir()
    result, output = run_role(tmp_path / 'some', 'require', [
        'criu_require_categories=required,feature_only', 'criu_require_unprivileged=true',
        'criu_require_report_only=true'], show=['criu_facts'])
    probes = result['criu_facts']['probes']
    assert set(p['category'] for p in probes.values()) == {'required', 'feature_only'}, output[-3000:]
    assert result['criu_facts']['environment']['unprivileged'] is True
    result, output = run_role(tmp_path / 'all', 'require', [
        'criu_require_report_only=true'], show=['criu_facts'])
    assert sorted(result['criu_facts']['probes']) == sorted(p.id for p in _registry.PROBES), output[-3000:]
    assert result['criu_facts']['environment']['unprivileged'] is False


@pytest.mark.parametrize('name, value', [('criu_require_ready', 'maybe'), ('criu_require_timeout', 'soon')])
def test_require_refuses_a_value_of_the_wrong_type(tmp_path, name, value):
    result, output = run_role(tmp_path, 'require', ['%s=%s' % (name, value)])
    assert result['failed'] and 'Validating arguments' in result['failed']['task'], output[-3000:]
    assert name in result['failed']['msg'], result['failed']


# ---------------------------------------------------------------- migrate

MIGRATE_INVENTORY = textwrap.dedent("""\
    src ansible_connection=local ansible_host=127.0.0.1 criu_migrate_address=10.0.0.1
    dst ansible_connection=local ansible_host=127.0.0.2 criu_migrate_address=10.0.0.2
    """)


def _migrate(tmp_path, role_vars, extra=()):
    """The migrate role on src (check mode) with ``role_vars`` as its vars:."""
    play = [{
        'hosts': 'src',
        'gather_facts': False,
        'tasks': [
            {'name': 'The role under test',
             'block': [{'ansible.builtin.include_role': {'name': 'criu.check.migrate'}, 'vars': role_vars}],
             'rescue': [{'name': 'Keep the failure', 'ansible.builtin.set_fact': {
                 'test_failed': {'task': "{{ ansible_failed_task.name | default('?') }}",
                                 'msg': "{{ ansible_failed_result.msg | default('') }}"}}}]},
            {'name': 'Save what the test looks at', 'check_mode': False, 'ansible.builtin.copy': {
                'dest': str(tmp_path / 'out.json'),
                'content': "{{ {'failed': test_failed | default(none), "
                           "'address': __criu_migrate_address | default(none)} | to_json }}"}},
        ],
    }]
    (tmp_path / 'play.yml').write_text(json.dumps(play))
    (tmp_path / 'hosts').write_text(MIGRATE_INVENTORY)
    cmd = [PLAYBOOK, '-i', str(tmp_path / 'hosts'), str(tmp_path / 'play.yml'), '--check']
    for arg in extra:
        cmd += ['-e', arg]
    proc = subprocess.run(cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0 and (tmp_path / 'out.json').exists(), proc.stdout[-6000:]
    return json.loads((tmp_path / 'out.json').read_text()), proc.stdout


MIGRATE_OK = {'criu_migrate_destination': 'dst', 'criu_migrate_pid': 4242}


@pytest.mark.parametrize('bad, words', [
    ({'criu_migrate_destination': 'nowhere'}, 'an inventory host other than src; got nowhere)'),
    ({'criu_migrate_destination': 'src'}, 'an inventory host other than src; got src)'),
    ({'criu_migrate_pid': None}, 'a pid above 1; got None) and criu_migrate_command'),
    ({'criu_migrate_command': 'sleep 60'}, 'a pid above 1; got 4242) and criu_migrate_command'),
    ({'criu_migrate_pid': 1}, 'a pid above 1; got 1'),
    ({'criu_migrate_pid': '0'}, 'a pid above 1; got 0'),
    ({'criu_migrate_port': 0}, 'criu_migrate_port from 1 to 65535 (got 0)'),
    ({'criu_migrate_port': 65536}, 'criu_migrate_port from 1 to 65535 (got 65536)'),
    ({'criu_migrate_timeout': 0}, 'criu_migrate_timeout of 1 second or more (got 0)'),
    ({'criu_migrate_max_iterations': 0}, 'of 1 or more (got 0, 64, 32)'),
    ({'criu_migrate_converged_pages': -1}, 'of 1 or more (got 8, -1, 32)'),
    ({'criu_migrate_growth_pages': 0}, 'of 1 or more (got 8, 64, 0)'),
    ({'criu_migrate_workdir': ''}, "criu_migrate_workdir an absolute path (got '')"),
    ({'criu_migrate_workdir': 'var/tmp'}, "criu_migrate_workdir an absolute path (got 'var/tmp')"),
])
def test_migrate_refuses_numbers_out_of_range_before_anything(tmp_path, bad, words):
    result, output = _migrate(tmp_path, dict(MIGRATE_OK, **bad))
    assert result['failed'], output[-3000:]
    assert result['failed']['task'].startswith('Check what to migrate and where to'), result['failed']
    assert words in result['failed']['msg'] and 'Nothing was changed' in result['failed']['msg'], result['failed']
    assert 'Gather criu facts' not in output


def test_migrate_refuses_a_port_out_of_range_given_with_e(tmp_path):
    result, output = _migrate(tmp_path, MIGRATE_OK, extra=['criu_migrate_port=70000'])
    assert result['failed'] and 'from 1 to 65535 (got 70000)' in result['failed']['msg'], output[-3000:]


def test_migrate_takes_the_address_from_the_role_or_the_destination(tmp_path):
    """criu_migrate_address as a role variable (vars:) is the destination's address; without one,
    the destination's host variable is, never the source's own."""
    (tmp_path / 'role').mkdir()
    (tmp_path / 'host').mkdir()
    result, output = _migrate(tmp_path / 'role', dict(MIGRATE_OK, criu_migrate_address='10.9.9.9'))
    assert result['address'] == '10.9.9.9', output[-3000:]
    result, output = _migrate(tmp_path / 'host', MIGRATE_OK)
    assert result['address'] == '10.0.0.2', output[-3000:]


# ---------------------------------------------------------------- playbooks/check.yml


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists('/usr/bin/python3'),
                    reason='becomes another user with su, as root')
def test_check_names_the_hosts_probed_as_another_user(tmp_path):
    """check.yml sets no become of its own (as root on localhost it needs no sudo); probed as
    another user (here nobody, through become), a host is named with the advice to use -b."""
    def check(*args):
        cmd = [PLAYBOOK, '-i', 'localhost,', '-c', 'local', os.path.join(conftest.REPO, 'playbooks', 'check.yml'),
               '-e', json.dumps({'criu_report_dir': str(tmp_path / 'report'), 'criu_report_formats': [],
                                 'ansible_python_interpreter': '/usr/bin/python3'})] + list(args)
        proc = subprocess.run(cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=300, check=False)
        assert proc.returncode == 0, proc.stdout[-6000:]
        return proc.stdout

    as_root = check()
    assert 'host(s) were probed as a user other than root' not in as_root
    as_nobody = check('-b', '--become-method', 'su', '--become-user', 'nobody',
                      '-e', json.dumps({'ansible_become_flags': '-s /bin/sh'}))
    assert '1 host(s) were probed as a user other than root: localhost.' in as_nobody, as_nobody[-4000:]
    assert 'run this playbook with -b (--become)' in as_nobody


@pytest.mark.skipif(os.geteuid() != 0, reason='becomes another user with su, as root')
def test_check_says_why_a_host_s_interpreter_could_not_run(tmp_path):
    """An interpreter the become user cannot execute (here a python in a directory of mode 0700, as a virtual
    environment under /root is): Ansible only says the module gave no result; the report gives the shell's
    reason and the fix for the interpreter, not "install Python" nor "run it alone"."""
    private = tmp_path / 'private'
    private.mkdir(mode=0o700)
    os.symlink(os.path.realpath(sys.executable), str(private / 'python3'))
    cmd = [PLAYBOOK, '-i', 'denied,', '-c', 'local', os.path.join(conftest.REPO, 'playbooks', 'check.yml'),
           '-b', '--become-method', 'su', '--become-user', 'nobody',
           '-e', json.dumps({'criu_report_dir': str(tmp_path / 'report'), 'criu_report_formats': ['json'],
                             'ansible_python_interpreter': str(private / 'python3'),
                             'ansible_become_flags': '-s /bin/sh'})]
    proc = subprocess.run(cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(str(tmp_path / 'report' / 'criu-report.json')) as f:
        host = json.load(f)['hosts']['denied']
    assert host['outcome'] == 'failed', host
    assert host['reason'].endswith('%s: Permission denied' % (private / 'python3')), host['reason']
    assert host['fix'] == _fleet.INTERPRETER_DENIED_FIX, host['fix']


def test_check_reports_every_host_when_the_first_one_s_connection_plugin_cannot_be_loaded(tmp_path):
    """The report runs once, on the controller: run on the play's first host, whose connection plugin the
    controller lacks (a collection not installed there), it failed too and there was no report at all."""
    inventory = tmp_path / 'hosts.ini'
    inventory.write_text('broken ansible_connection=nosuch.collection.conn\n'
                         'good ansible_connection=local ansible_python_interpreter=%s\n' % sys.executable)
    cmd = [PLAYBOOK, '-i', str(inventory), os.path.join(conftest.REPO, 'playbooks', 'check.yml'),
           '-e', json.dumps({'criu_report_dir': str(tmp_path / 'report'), 'criu_report_formats': ['json']})]
    proc = subprocess.run(cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-6000:]
    with open(str(tmp_path / 'report' / 'criu-report.json')) as f:
        hosts = json.load(f)['hosts']
    assert hosts['good']['outcome'] != 'failed', hosts['good']
    assert hosts['broken']['outcome'] == 'failed', hosts['broken']
    assert "the connection plugin 'nosuch.collection.conn' was not found" in hosts['broken']['reason']
    assert 'ansible-galaxy collection install nosuch.collection' in hosts['broken']['fix']
    assert 'broken' in proc.stdout.split('CRIU fleet report')[1], proc.stdout[-4000:]


# A play after check.yml, on the controller: the groups check.yml made, as the next play sees them.
NEXT_PLAY = """
- name: What the next play sees
  hosts: localhost
  gather_facts: false
  become: false
  tasks:
    - name: Groups made by check.yml
      ansible.builtin.debug:
        msg: "CRIU-GROUPS {{ groups | dict2items | selectattr('key', 'match', 'criu_') | items2dict | to_json }}"
"""


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists('/usr/bin/python3'),
                    reason='becomes another user with su, as root')
def test_check_reports_a_host_whose_probe_failed_and_only_the_play_s_hosts(tmp_path):
    """check.yml on criu_check_hosts=nodes of a larger inventory, probed as nobody (-b): a host whose probe
    fails (no Python there) stays in the play, is reported failed and put in criu_failed, and is not named as
    probed as another user; the play succeeds. The matrix of criu_migration_group=all takes the play's hosts
    only, in inventory order; the note on other users is given once; no task says it changed anything."""
    local = {'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3'}
    (tmp_path / 'hosts.yml').write_text(json.dumps({'all': {'children': {
        'nodes': {'hosts': {'node1': local, 'broken': dict(local, ansible_python_interpreter='/nonexistent/python3')}},
        'others': {'hosts': {'outside': local}}}}}))
    (tmp_path / 'play.yml').write_text('- ansible.builtin.import_playbook: %s\n%s' % (
        os.path.join(conftest.REPO, 'playbooks', 'check.yml'), NEXT_PLAY))
    cmd = [PLAYBOOK, '-i', str(tmp_path / 'hosts.yml'), str(tmp_path / 'play.yml'),
           '-b', '--become-method', 'su', '--become-user', 'nobody',
           '-e', json.dumps({'criu_check_hosts': 'nodes', 'criu_migration_group': 'all', 'criu_report_formats': ['json'],
                             'criu_report_dir': str(tmp_path / 'report'), 'ansible_become_flags': '-s /bin/sh'})]
    proc = subprocess.run(cmd, env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    out = proc.stdout
    assert proc.returncode == 0, out[-6000:]
    with open(str(tmp_path / 'report' / 'criu-report.json')) as f:
        report = json.load(f)
    assert sorted(report['hosts']) == ['broken', 'node1'], sorted(report['hosts'])
    assert report['hosts']['broken']['outcome'] == 'failed', report['hosts']['broken']
    assert '/nonexistent/python3' in report['hosts']['broken']['reason']
    node1 = report['hosts']['node1']
    assert node1['facts']['environment']['euid'] == pwd.getpwnam('nobody').pw_uid, node1['facts']['environment']
    assert node1['outcome'] == 'not_ready', node1['outcome']
    assert report['migration']['hosts'] == ['node1', 'broken'], report['migration']
    # as nobody criu cannot start: node1 is in criu_missing_criu_start (and the group of each other missing feature)
    assert 'criu_start' in node1['missing_required'], node1['missing_required']
    wanted = dict([('criu_failed', ['broken']), ('criu_not_ready', ['node1'])]
                  + [('criu_missing_' + i.replace('-', '_'), ['node1']) for i in node1['missing_required']])
    groups = json.loads(re.search(r'CRIU-GROUPS (\{.*\})', out).group(1).replace('\\"', '"'))
    assert groups == wanted, groups
    assert out.count('host(s) were probed as a user other than root') == 1, out[-6000:]
    assert '1 host(s) were probed as a user other than root: node1.' in out
    recap = re.findall(r'^(\S+) +: ok=.* changed=(\d+) ', out, re.M)
    assert sorted(recap) == [('broken', '0'), ('localhost', '0'), ('node1', '0')], recap


# ---------------------------------------------------------------- playbooks/install.yml


@requires_apt
def test_install_playbook_becomes_on_every_host_of_the_inventory(tmp_path):
    """playbooks/install.yml runs the role on every host, as the inventory's become user: installing needs root,
    so the play becomes. Here that user is nobody (through su, in check mode: nothing can be installed), and
    the role's run of the installed criu says it ran as nobody."""
    before = _apt_state()
    (tmp_path / 'hosts.yml').write_text(json.dumps({'all': {'children': {'nodes': {'hosts': {'node1': {
        'ansible_connection': 'local', 'ansible_python_interpreter': '/usr/bin/python3', 'ansible_become_method': 'su',
        'ansible_become_user': 'nobody', 'ansible_become_flags': '-s /bin/sh'}}}}}}))
    (tmp_path / 'play.yml').write_text(textwrap.dedent("""\
        - ansible.builtin.import_playbook: %s
        - name: What the next play sees
          hosts: node1
          gather_facts: false
          tasks:
            - name: The user criu_facts ran as in the role
              ansible.builtin.debug:
                msg: "CRIU-EUID {{ ansible_facts.criu_facts.environment.euid }} {{ criu_install.packages | join(',') }}"
        """ % os.path.join(conftest.REPO, 'playbooks', 'install.yml')))
    proc = subprocess.run([PLAYBOOK, '-i', str(tmp_path / 'hosts.yml'), str(tmp_path / 'play.yml'), '--check'],
                          env=_env(), cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)
    assert _apt_state() == before
    assert proc.returncode == 0, proc.stdout[-6000:]
    assert 'CRIU-EUID %d criu,' % pwd.getpwnam('nobody').pw_uid in proc.stdout, proc.stdout[-3000:]
