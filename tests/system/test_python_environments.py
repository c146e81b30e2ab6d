# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The probes on the managed node's own Python: the distribution's library
versions give the same answers, and a Python without the libraries gets
'unknown' with the fix for exactly the probes that need them."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import venv

import ansible.module_utils
import pytest

import conftest
import core_matrix
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

RUN_PROBES = os.path.join(conftest.REPO, 'tests', 'tools', 'run_probes.py')
DEBIAN_PYTHON = '/usr/bin/python3'


def run_probes(python, *args, **kwargs):
    """The engine's facts from ``python``; ``module_utils``: where ansible.module_utils is (every module has
    it beside it, and nothing else of ansible-core); ``user``: a uid to run as (gid the same); ``runner``: a
    copy of tests/tools/run_probes.py (it runs the collection beside it)."""
    module_utils = kwargs.get('module_utils') or os.path.dirname(ansible.module_utils.__file__)
    user = kwargs.get('user')
    proc = subprocess.run([python, kwargs.get('runner') or RUN_PROBES] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, check=True, cwd='/tmp', timeout=120,
                          env=dict(os.environ, CRIU_CHECK_ANSIBLE_MODULE_UTILS=module_utils),
                          preexec_fn=(lambda: conftest.become_user(user, user)) if user is not None else None)
    return json.loads(proc.stdout)


def _has(python, module):
    return subprocess.run([python, '-c', 'import ' + module], stderr=subprocess.DEVNULL, check=False).returncode == 0


@pytest.fixture(scope='module')
def ours():
    return run_probes(sys.executable)


@pytest.mark.skipif(not (os.path.exists(DEBIAN_PYTHON) and _has(DEBIAN_PYTHON, 'pyroute2')
                         and _has(DEBIAN_PYTHON, 'ptrace')),
                    reason="Debian's python3 with python3-pyroute2 and python3-ptrace is not installed")
def test_distribution_libraries_give_the_same_answers(ours):
    theirs = run_probes(DEBIAN_PYTHON)
    ours_status = dict((k, v['status']) for k, v in ours['results'].items())
    theirs_status = dict((k, v['status']) for k, v in theirs['results'].items())
    assert theirs_status == ours_status
    assert 'unknown' not in [v for k, v in theirs_status.items() if REG.BY_ID[k].lib]


def _floor():
    """The oldest Python a managed node may have: tests/config.yml's python_requires ('>=3.9')."""
    with open(os.path.join(conftest.REPO, 'tests', 'config.yml')) as f:
        return re.search(r"python_requires: '>=(3\.\d+)'", f.read()).group(1)


@pytest.mark.parametrize('base', ['suite', 'floor'])
def test_without_the_libraries_their_probes_are_unknown_with_the_fix(tmp_path, ours, base):
    """On the suite's Python and on the oldest the collection supports on a managed node (which no
    other test runs the probes on): the probes that need no library answer as they do here."""
    bare = tmp_path / 'bare'
    if base == 'suite':
        venv.EnvBuilder(with_pip=False).create(str(bare))  # no pyroute2, no python-ptrace
    else:
        floor = core_matrix.find_python(_floor())
        if floor is None:
            pytest.skip('no Python %s (pyenv or PATH): the managed node\'s floor in tests/config.yml' % _floor())
        subprocess.run([floor, '-m', 'venv', '--without-pip', str(bare)], check=True)
    python = str(bare / 'bin' / 'python')
    version = subprocess.run([python, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                             stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    assert version == (_floor() if base == 'floor' else '%d.%d' % sys.version_info[:2])
    assert not _has(python, 'pyroute2') and not _has(python, 'ptrace')
    result = run_probes(python)
    for probe in REG.PROBES:
        got = result['results'][probe.id]
        if probe.lib:
            assert got['status'] == 'unknown', probe.id
            package = {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-ptrace'}[probe.lib]
            assert package in got['fix'], probe.id
            assert probe.id in result['facts']['unknown']
        else:
            assert got['status'] == ours['results'][probe.id]['status'], probe.id
    # Nothing is known to be missing: criu's verdict cannot be told, and the
    # summary says why once per missing library, never "Does not look good."
    facts = result['facts']
    assert facts['verdict'] == 'undecided' and facts['ready'] is False, facts['summary']
    assert facts['summary'].startswith('Cannot tell: ')
    assert 'Does not look good' not in facts['summary']
    for library in ('pyroute2', 'ptrace'):
        assert facts['summary'].count('Python library %s is not available' % library) == 1, facts['summary']
    # Nor do the runtimes say that the kernel lacks features: that is not known either.
    assert facts['runtimes'], 'podman and runc are installed on these machines'
    for name, runtime in facts['runtimes'].items():
        assert not [r for r in runtime['reasons'] if 'lacks features' in r], (name, runtime['reasons'])
        assert 'Whether the kernel has the features criu requires was not determined.' in runtime['reasons'], name
        assert runtime['checkpoint'] in ('unknown', 'not_ready'), name


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(DEBIAN_PYTHON), reason='needs root and Debian\'s python3')
def test_a_plain_user_has_one_start_blocker_as_criu_says():
    """As a plain user criu stops at its capabilities and prints only that (criu 4.1.1:
    tests/unit/fixtures/installed_criu_outputs.json, criu41_nonroot_check). The probes' kerndat steps refused
    with EPERM there are that same cause, not more reasons criu would not start (they were listed as such).
    Debian's python3 and copies the plain user can read (the checkout and the suite's venv may be in root's
    home) of ansible.module_utils, the collection's plugins and the engine's runner."""
    from ansible_collections.criu.check.plugins.module_utils import _decide, _result
    readable = tempfile.mkdtemp(prefix='criu-check-plain-user-')
    try:
        os.chmod(readable, 0o755)
        module_utils = os.path.join(readable, 'module_utils')
        shutil.copytree(os.path.dirname(ansible.module_utils.__file__), module_utils)
        shutil.copytree(os.path.join(conftest.REPO, 'plugins'), os.path.join(readable, 'repo', 'plugins'))
        runner = os.path.join(readable, 'repo', 'tests', 'tools', 'run_probes.py')
        os.makedirs(os.path.dirname(runner))
        shutil.copy(RUN_PROBES, runner)
        facts = run_probes(DEBIAN_PYTHON, '--no-installed-criu', module_utils=module_utils, user=conftest.NOBODY,
                           runner=runner)['facts']
    finally:
        shutil.rmtree(readable)
    assert facts['environment']['euid'] == conftest.NOBODY
    assert facts['environment']['criu_start_blockers'] == [_decide.NO_CAPS], facts['environment']['criu_start_blockers']
    assert facts['summary'] == _decide.NO_CAPS
    refused = [i for i, p in facts['probes'].items() if p['evidence'].get(_result.KERNDAT_FLAG)]
    assert refused and all(facts['probes'][i]['evidence']['errno_name'] == 'EPERM' for i in refused), refused
