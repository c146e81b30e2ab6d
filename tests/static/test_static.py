# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a maintainer runs before merging: ansible-lint (production profile),
ansible-test sanity, ansible-doc, and a built collection that installs and
works."""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest

import conftest
import _collection_copy
import return_doc

BIN = os.path.dirname(sys.executable)
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-test')),
                                reason='ansible-core is not installed beside this Python')


@pytest.fixture(scope='module')
def collection_copy(tmp_path_factory):
    """The checkout as ansible-test wants it: .../ansible_collections/criu/check."""
    return _collection_copy.copy_collection(tmp_path_factory.mktemp('sanity'))


def _run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    return proc.returncode, proc.stdout


def test_ansible_lint_production_profile():
    rc, out = _run([os.path.join(BIN, 'ansible-lint'), '--offline', '--nocolor'], conftest.REPO)
    assert rc == 0, out[-6000:]


def test_ansible_test_sanity(collection_copy):
    _collection_copy.install_get_pip_stand_in([_collection_copy.ansible_test_dir(os.path.dirname(BIN))])
    python = '%d.%d' % sys.version_info[:2]
    rc, out = _run([os.path.join(BIN, 'ansible-test'), 'sanity', '--python', python, '--color', 'no'],
                   collection_copy)
    errors = [line for line in out.splitlines() if line.startswith(('ERROR', 'FATAL'))]
    assert rc == 0, '\n'.join(errors[-80:]) or out[-4000:]


def _ansible_doc(*args):
    """``ansible-doc ARGS`` against this checkout: (rc, stdout, warnings)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_NOCOLOR='1')
    proc = subprocess.run([os.path.join(BIN, 'ansible-doc')] + list(args), cwd='/', env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, check=False)
    # ansible-doc -t role scans every collection directory, ansible-core's own internal one included, and
    # warns that the latter has no galaxy.yml (ansible/galaxy/dependency_resolution/dataclasses.py): not ours.
    core_own = os.path.join('ansible', '_internal', 'ansible_collections')
    warnings = [line for line in proc.stderr.splitlines()
                if ('WARNING' in line or 'DEPRECATION' in line or 'ERROR' in line) and core_own not in line]
    return proc.returncode, proc.stdout, warnings


@pytest.mark.parametrize('module', ['criu.check.criu_check', 'criu.check.criu_facts'])
def test_ansible_doc_renders_everything(module):
    rc, out, warnings = _ansible_doc(module)
    assert rc == 0 and not warnings, '\n'.join(warnings) + out
    for section in ('OPTIONS', 'ATTRIBUTES', 'EXAMPLES', 'RETURN VALUES', 'AUTHOR'):
        assert section in out, section
    # The shared options and attributes come from the criu doc fragment.
    for word in ('timeout', 'unprivileged', 'platform', 'linux', 'action_group', 'criu.check.criu'):
        assert word in out, word


@pytest.mark.parametrize('name, words', [('criu_unmet', ('unknown_is_unmet', 'workload_definitions')),
                                         ('criu_migration', ('destination', 'not_checked')),
                                         ('criu_list', ('split at commas', 'null')),
                                         ('criu_library_packages', ('os_family', 'python3-python-ptrace'))])
def test_ansible_doc_renders_the_filter(name, words):
    rc, out, warnings = _ansible_doc('-t', 'filter', 'criu.check.' + name)
    assert rc == 0 and not warnings, '\n'.join(warnings) + out
    for section in ('OPTIONS', 'EXAMPLES', 'RETURN VALUES'):
        assert section in out, section
    assert all(word in out for word in words), words


@pytest.mark.parametrize('role, option', [('install', 'criu_install_apt_suite'), ('require', 'criu_require_ready'),
                                          ('migrate', 'criu_migrate_destination')])
def test_ansible_doc_renders_the_roles(role, option):
    rc, out, warnings = _ansible_doc('-t', 'role', 'criu.check.' + role)
    assert rc == 0 and not warnings, '\n'.join(warnings) + out
    assert re.search(r'ENTRY POINT: \*?main\b', out) and option in out, out
    rc, out, warnings = _ansible_doc('-t', 'role', '--json', 'criu.check.' + role)
    assert rc == 0, out
    main = json.loads(out)['criu.check.' + role]['entry_points']['main']
    assert main.get('version_added'), 'entry point main has no version_added'
    assert not [name for name, spec in main['options'].items() if not spec.get('version_added')], \
        'options without version_added'


def _doc(module, section):
    rc, out, warnings = _ansible_doc('--json', module)
    assert rc == 0 and not warnings, '\n'.join(warnings) + out
    return json.loads(out)[module][section]


def _without(doc, keys):
    """``doc`` (a RETURN tree) without ``keys`` at any depth."""
    if isinstance(doc, dict):
        return dict((k, _without(v, keys)) for k, v in doc.items() if k not in keys)
    return doc


@pytest.mark.parametrize('key', ['missing', 'probes', 'environment'])
def test_criu_check_documents_its_nested_returns_as_criu_facts_does(key):
    """criu_check returns the facts' missing, probes and environment as they are; their RETURN docs
    are written in both modules (a RETURN fragment cannot reach the facts' nesting), so they must not
    drift apart."""
    facts = _doc('criu.check.criu_facts', 'return')['ansible_facts']['contains']['criu_facts']['contains'][key]
    check = _doc('criu.check.criu_check', 'return')[key]
    assert _without(check, ('returned',)) == _without(facts, ('returned',))


def test_every_fact_criu_facts_returns_is_documented(tmp_path):
    """Run criu_facts for real and look every key it returns up in its RETURN docs."""
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'timeout': 10}}))
    module = os.path.join(conftest.REPO, 'plugins', 'modules', 'criu_facts.py')
    env = dict(os.environ, PYTHONPATH=conftest.COLLECTIONS)
    proc = subprocess.run([sys.executable, module, str(args)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    result = json.loads(proc.stdout)
    assert not result.get('failed'), result
    assert return_doc.mismatches(result, 'criu_facts', return_doc.CRIU_FACTS_NAMED) == []


def test_built_collection_installs_and_runs(tmp_path):
    rc, out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path),
                    conftest.REPO], tmp_path)
    assert rc == 0, out
    with open(os.path.join(conftest.REPO, 'galaxy.yml')) as f:
        version = re.search(r'^version:\s*(\S+)', f.read(), re.M).group(1)
    tarball = tmp_path / ('criu-check-%s.tar.gz' % version)
    with tarfile.open(str(tarball)) as tar:
        names = tar.getnames()
    assert 'plugins/modules/criu_facts.py' in names and 'plugins/module_utils/_engine.py' in names
    assert not [n for n in names if '__pycache__' in n or n.startswith('.git/')]
    installed = tmp_path / 'collections'
    rc, out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-p', str(installed),
                    str(tarball)], tmp_path)
    assert rc == 0, out
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed), ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    rc, out = _run([os.path.join(BIN, 'ansible'), 'localhost', '-c', 'local', '-m', 'criu.check.criu_check',
                    '-a', 'feature=kcmp fail_on=never'], tmp_path, env)
    assert rc == 0, out
    assert '"verdict":' in out and '"kcmp": {' in out, out
