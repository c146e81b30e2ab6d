# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a maintainer runs before merging: ansible-lint (production profile),
ansible-test sanity, ansible-doc, and a built collection that installs and
works."""

import os
import subprocess
import sys
import tarfile

import pytest

import conftest

BIN = os.path.dirname(sys.executable)
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, 'ansible-test')),
                                reason='ansible-core is not installed beside this Python')

# ansible-test bootstraps pip in its sanity venvs with a script downloaded from
# a host these machines cannot reach; this stand-in bootstraps the bundled pip
# with ensurepip and installs the same packages from PyPI instead.
GET_PIP_STAND_IN = '''\
# Offline stand-in for ansible-test's get-pip bootstrap, written by criu.check's tests.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
'''


def _tracked_files():
    out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=conftest.REPO, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return [f for f in out.splitlines() if os.path.isfile(os.path.join(conftest.REPO, f))]


@pytest.fixture(scope='module')
def collection_copy(tmp_path_factory):
    """The checkout as ansible-test wants it: .../ansible_collections/criu/check."""
    root = tmp_path_factory.mktemp('sanity') / 'ansible_collections' / 'criu' / 'check'
    root.mkdir(parents=True)
    for name in _tracked_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(os.path.join(conftest.REPO, name), 'rb') as src:
            target.write_bytes(src.read())
        os.chmod(str(target), os.stat(os.path.join(conftest.REPO, name)).st_mode)
    return root


def _run(cmd, cwd, env=None):
    proc = subprocess.run(cmd, cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, check=False)
    return proc.returncode, proc.stdout


def test_ansible_lint_production_profile():
    rc, out = _run([os.path.join(BIN, 'ansible-lint'), '--offline', '--nocolor'], conftest.REPO)
    assert rc == 0, out[-6000:]


def test_ansible_test_sanity(collection_copy):
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, 'get_pip_25_2.py'), 'w') as f:
        f.write(GET_PIP_STAND_IN)
    python = '%d.%d' % sys.version_info[:2]
    rc, out = _run([os.path.join(BIN, 'ansible-test'), 'sanity', '--python', python, '--color', 'no'],
                   collection_copy)
    errors = [line for line in out.splitlines() if line.startswith(('ERROR', 'FATAL'))]
    assert rc == 0, '\n'.join(errors[-80:]) or out[-4000:]


@pytest.mark.parametrize('module', ['criu.check.criu_check', 'criu.check.criu_facts'])
def test_ansible_doc_renders_everything(module):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS)
    rc, out = _run([os.path.join(BIN, 'ansible-doc'), module], '/', env)
    assert rc == 0, out
    for section in ('OPTIONS', 'ATTRIBUTES', 'EXAMPLES', 'RETURN VALUES', 'AUTHOR'):
        assert section in out, section
    assert 'timeout' in out and 'unprivileged' in out


def test_built_collection_installs_and_runs(tmp_path):
    rc, out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', str(tmp_path),
                    conftest.REPO], tmp_path)
    assert rc == 0, out
    tarball = tmp_path / 'criu-check-0.1.0.tar.gz'
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
