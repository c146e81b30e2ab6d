# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection on every ansible-core it supports (meta/runtime.yml: >=2.16):
the newest 2.16, 2.17 and 2.18 (pinned in tests/tools/core_matrix.py, one venv
each on a controller Python that release supports, cached under
~/.cache/criu-check/matrix) and the suite's own venv (the newest).

For each of them:
- ``playbooks/check.yml`` runs on localhost with that release's ansible-playbook,
  from the checkout with its ansible.cfg and inventory (the managed node is that
  venv's Python), succeeds without warnings and writes criu-report.html/.json/.csv;
- ``ansible-doc`` renders every module, filter and role found in the tree, without
  warnings.

On the three older releases, ``ansible-test sanity`` runs the tests whose answer depends
on the release: compile on every managed-node Python the release supports down to the
collection's 3.9 (core_matrix.MANAGED_PYTHONS), import on the release's controller Python
(it checks that the ansible.module_utils APIs the modules use exist in that release; on
every Python it would build one venv per Python on a first run, minutes each on two
cores), and validate-modules (each release validates the docs and argument specs against
its own schema).  Left out,
measured on two cores: pylint (minutes per release), and ansible-doc, yamllint and pep8
(about 30 s together per release, warm): the ansible-doc test here renders everything on
every release, and yamllint and pep8 check the text, not its meaning to a release.  The
newest release's full sanity is test_static.py's.
"""

import collections
import glob
import json
import os
import re
import subprocess
import sys

import pytest

import conftest
import _collection_copy
import core_matrix

NEWEST = 'newest'

Core = collections.namedtuple('Core', 'version python bin')


def _newest():
    bin_dir = os.path.dirname(sys.executable)
    if not os.path.exists(os.path.join(bin_dir, 'ansible-playbook')):
        pytest.skip('ansible-core is not installed beside this Python')
    return Core(NEWEST, '%d.%d' % sys.version_info[:2], bin_dir)


def _pinned(request, version):
    minor = dict(core_matrix.PINS)[version]
    if core_matrix.find_python(minor) is None:
        pytest.skip('ansible-core %s needs Python %s: none with venv in ~/.pyenv/versions/%s.* or on PATH'
                    % (version, minor, minor))
    venv, took = core_matrix.ensure(version, minor, log=None)
    reporter = request.config.pluginmanager.get_plugin('terminalreporter')
    if took is not None and reporter is not None:
        reporter.write_line('core_matrix: built ansible-core %s on Python %s in %.1f s (%s)' % (version, minor, took, venv))
    return Core(version, minor, os.path.join(venv, 'bin'))


@pytest.fixture(scope='module', params=[pin[0] for pin in core_matrix.PINS] + [NEWEST])
def core(request):
    return _newest() if request.param == NEWEST else _pinned(request, request.param)


@pytest.fixture(scope='module', params=[pin[0] for pin in core_matrix.PINS])
def older_core(request):
    return _pinned(request, request.param)


def _run(cmd, cwd, env=None, timeout=600):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def _warnings(text):
    # ansible-doc -t role scans every collection directory, ansible-core's own internal one (2.19+)
    # included, and warns that the latter has no galaxy.yml: not ours (as in test_static.py).
    core_own = os.path.join('ansible', '_internal', 'ansible_collections')
    return [line for line in text.splitlines()
            if re.search(r'\[?(WARNING|DEPRECATION WARNING|ERROR)\]?:', line) and core_own not in line]


def _env(core):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_NOCOLOR='1',
               PATH=core.bin + os.pathsep + os.environ.get('PATH', ''))
    env.pop('ANSIBLE_CONFIG', None)
    return env


def test_the_venv_runs_the_pinned_release_on_its_python(core):
    """What the other tests claim to test is what runs: `ansible --version` of the venv."""
    rc, out, err = _run([os.path.join(core.bin, 'ansible'), '--version'], conftest.REPO, _env(core))
    assert rc == 0, err
    version = re.search(r'\[core ([0-9.]+)\]', out).group(1)
    python = re.search(r'python version = ([0-9]+\.[0-9]+)', out).group(1)
    assert python == core.python, out
    if core.version != NEWEST:
        assert version == core.version, out
    else:
        assert [int(x) for x in version.split('.')[:2]] > [int(x) for x in core_matrix.PINS[-1][0].split('.')[:2]], \
            'the suite venv (%s) should be newer than every pinned release' % version


def test_check_playbook_runs_and_writes_the_report(core, tmp_path):
    """playbooks/check.yml as the README runs it, from the checkout (its ansible.cfg and
    inventory: localhost, connection local, the controller's Python as the managed node's)."""
    rc, out, err = _run([os.path.join(core.bin, 'ansible-playbook'), 'playbooks/check.yml',
                         '-e', 'criu_report_dir=%s' % tmp_path], conftest.REPO, _env(core))
    assert rc == 0, out[-6000:] + err[-3000:]
    assert not _warnings(out + '\n' + err), '\n'.join(_warnings(out + '\n' + err))
    assert re.search(r'localhost\s*: ok=\d+ .*failed=0', out), out[-3000:]
    names = sorted(os.listdir(str(tmp_path)))
    assert {'criu-report.html', 'criu-report.json', 'criu-report.csv'} <= set(names), names
    with open(str(tmp_path / 'criu-report.json')) as f:
        report = json.load(f)
    host = report['hosts']['localhost']
    # The probe ran (not failed, not unreachable) and its facts are in the report.
    assert host['outcome'] in ('ready', 'not_ready', 'undecided'), host['outcome']
    assert sum(report['counts'].values()) == 1 and report['counts'][host['outcome']] == 1, report['counts']
    assert host['facts'].get('probes'), sorted(host['facts'])
    with open(str(tmp_path / 'criu-report.csv')) as f:
        assert 'localhost' in f.read()


def _plugins():
    """Every documented plugin in the tree, by ansible-doc type: {type: [FQCN, ...]}."""
    def stems(folder):
        return sorted(os.path.splitext(os.path.basename(p))[0] for p in glob.glob(os.path.join(conftest.REPO, folder, '*.py'))
                      if not os.path.basename(p).startswith('_'))
    roles = sorted(os.path.basename(os.path.dirname(os.path.dirname(p)))
                   for p in glob.glob(os.path.join(conftest.REPO, 'roles', '*', 'meta', 'argument_specs.yml')))
    found = {'module': stems('plugins/modules'), 'filter': stems('plugins/filter'), 'role': roles}
    return dict((kind, ['criu.check.' + name for name in names]) for kind, names in found.items())


def test_the_tree_has_plugins_of_every_kind():
    """The doc test below iterates the tree: an empty listing would make it pass vacuously."""
    plugins = _plugins()
    assert 'criu.check.criu_facts' in plugins['module'] and 'criu.check.criu_unmet' in plugins['filter'], plugins
    assert 'criu.check.require' in plugins['role'], plugins
    roles = sorted(os.path.basename(p) for p in glob.glob(os.path.join(conftest.REPO, 'roles', '*')) if os.path.isdir(p))
    assert ['criu.check.' + r for r in roles] == plugins['role'], 'roles without meta/argument_specs.yml'


@pytest.mark.parametrize('kind', ['module', 'filter', 'role'])
def test_ansible_doc_renders_every_plugin(core, kind):
    names = _plugins()[kind]
    rc, out, err = _run([os.path.join(core.bin, 'ansible-doc'), '-t', kind, '--json'] + names, '/', _env(core))
    assert rc == 0 and not _warnings(err), '\n'.join(_warnings(err)) + err[-3000:]
    docs = json.loads(out)
    assert sorted(docs) == sorted(names), 'not rendered: %s' % sorted(set(names) - set(docs))
    for name, doc in docs.items():
        if kind == 'role':
            assert doc.get('entry_points', {}).get('main', {}).get('short_description'), (name, doc)
        else:
            assert doc['doc'].get('short_description') and 'examples' in doc, (name, sorted(doc))
    # The text rendering (what people read) of all of them at once.
    rc, out, err = _run([os.path.join(core.bin, 'ansible-doc'), '-t', kind] + names, '/', _env(core))
    assert rc == 0 and not _warnings(err), '\n'.join(_warnings(err)) + err[-3000:]
    for name in names:
        assert name.lower() in out.lower(), name


@pytest.fixture(scope='module')
def sanity_copy(tmp_path_factory):
    return _collection_copy.copy_collection(tmp_path_factory.mktemp('core-matrix-sanity'))


def test_sanity_on_older_release(older_core, sanity_copy):
    venv = os.path.dirname(older_core.bin)
    _collection_copy.install_get_pip_stand_in([_collection_copy.ansible_test_dir(venv)])
    # ansible-test finds the managed-node Pythons as python3.X on PATH (not through pyenv's shims).
    env = dict(os.environ, PATH=os.pathsep.join([core_matrix.python_bin(), older_core.bin, os.environ.get('PATH', '')]))
    base = [os.path.join(older_core.bin, 'ansible-test'), 'sanity', '--color', 'no']
    # compile on every managed-node Python (no venv needed); import, which builds a venv per
    # Python on a first run (minutes each on two cores), and validate-modules on the controller's.
    out = ''
    for cmd in (base + ['--test', 'compile'],
                base + ['--test', 'import', '--test', 'validate-modules', '--python', older_core.python]):
        rc, stdout, stderr = _run(cmd, sanity_copy, env, timeout=1200)
        out += stdout + stderr
        errors = [line for line in (stdout + stderr).splitlines() if line.startswith(('ERROR', 'FATAL'))]
        assert rc == 0, '\n'.join(errors[-80:]) or (stdout + stderr)[-4000:]
    for python in core_matrix.MANAGED_PYTHONS[core_matrix.series(older_core.version)]:
        assert re.search(r'Running sanity test "?compile"? on Python %s\b' % re.escape(python), out), \
            'compile did not run on Python %s:\n%s' % (python, out[-4000:])
    assert re.search(r'Running sanity test "?import"? on Python %s\b' % re.escape(older_core.python), out), out[-4000:]


def test_each_venv_is_keyed_by_what_it_was_built_from(older_core):
    """The cache's key: the directory names the pinned version and Python; the stamp holds the
    exact pin, the exact Python and requirements.txt, so a change of any of them rebuilds."""
    venv = os.path.dirname(older_core.bin)
    assert os.path.basename(venv) == '%s-py%s' % (older_core.version, older_core.python)
    assert os.path.dirname(venv) == core_matrix.MATRIX and not venv.startswith(conftest.REPO + os.sep)
    with open(os.path.join(venv, '.criu-check-matrix')) as f:
        stamp = f.read()
    python = core_matrix.find_python(older_core.python)
    assert stamp == core_matrix.wanted(older_core.version, python)
    assert 'ansible-core==%s\n' % older_core.version in stamp
    assert core_matrix.wanted('0.0.0', python) != stamp
