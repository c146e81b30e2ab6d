# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection as people at scale get it: a built tarball, installed, whose
playbook runs as criu.check.check; development files stay out of it; the
execution environment gets the controller's requirements only."""

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def _run(argv, cwd, env=None):
    proc = subprocess.run(argv, cwd=cwd, env=env or os.environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=300, check=False)
    return proc.returncode, proc.stdout


def test_installed_tarball_runs_criu_check_check():
    work = tempfile.mkdtemp(prefix='criu-check-tarball-')
    try:
        rc, out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--output-path', work, REPO], work)
        assert rc == 0, out
        tarball = [n for n in os.listdir(work) if n.endswith('.tar.gz')][0]
        with tarfile.open(os.path.join(work, tarball)) as tar:
            names = tar.getnames()
        for wanted in ('playbooks/check.yml', 'plugins/action/criu_report.py', 'plugins/plugin_utils/_fleet.py',
                       'plugins/plugin_utils/_fleet_html.py', 'meta/execution-environment.yml', 'meta/ee-requirements.txt'):
            assert wanted in names, wanted
        development = [n for n in names if re.match(r'(tests|extensions|scripts|inventory|\.ansible|\.git)(/|$)', n)
                       or n in ('ansible.cfg', 'test-requirements.txt') or '__pycache__' in n]
        assert development == []
        installed = os.path.join(work, 'collections')
        rc, out = _run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '-p', installed,
                        os.path.join(work, tarball)], work)
        assert rc == 0, out
        inventory = os.path.join(work, 'hosts.yml')
        with open(inventory, 'w') as f:
            json.dump({'all': {'hosts': {'node1': {'ansible_connection': 'local', 'ansible_host': 'localhost',
                                                   'ansible_python_interpreter': sys.executable}}}}, f)
        run_dir = os.path.join(work, 'run')
        os.makedirs(run_dir)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=installed, ANSIBLE_NOCOLOR='1', PYTHONDONTWRITEBYTECODE='1',
                   ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'), ANSIBLE_HOME=os.path.join(work, 'home'))
        env.pop('ANSIBLE_CONFIG', None)
        rc, out = _run([os.path.join(BIN, 'ansible-playbook'), 'criu.check.check', '-i', inventory], run_dir, env)
        assert rc == 0, out
        assert re.search(r'^node1 +(yes|no|\?) ', out, re.M), out
        report = json.load(open(os.path.join(run_dir, 'criu-report', 'criu-report.json')))
        assert list(report['hosts']) == ['node1'] and report['hosts']['node1']['facts']['probes']
        assert 'item=node1: criu_' in out
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_execution_environment_gets_the_controller_requirements_only():
    with open(os.path.join(REPO, 'meta', 'execution-environment.yml')) as f:
        ee = yaml.safe_load(f)
    python = ee['dependencies']['python']
    with open(os.path.join(REPO, python)) as f:
        wanted = [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]
    with open(os.path.join(REPO, 'requirements.txt')) as f:
        managed = [line.split('#')[0].strip() for line in f if line.split('#')[0].strip()]
    assert managed and not set(wanted) & set(managed)   # pyroute2 and python-ptrace are the nodes', not the EE's
    # nothing of the controller side imports a third-party library
    for path in ('plugins/action/criu_report.py', 'plugins/plugin_utils/_fleet.py', 'plugins/plugin_utils/_fleet_html.py'):
        with open(os.path.join(REPO, path)) as f:
            imports = re.findall(r'^(?:from|import) ([\w.]+)', f.read(), re.M)
        third = [i for i in imports if i.split('.')[0] not in sys.stdlib_module_names | {'ansible', 'ansible_collections', '__future__'}]
        assert third == [], (path, third)
