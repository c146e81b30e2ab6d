# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles on real podman containers: every molecule scenario of
extensions/molecule/, run by tests/tools/molecule.sh (which builds the
images and finds containers.podman itself)."""

import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCENARIOS = sorted(d for d in os.listdir(os.path.join(REPO, 'extensions', 'molecule'))
                   if os.path.exists(os.path.join(REPO, 'extensions', 'molecule', d, 'molecule.yml')))

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='molecule scenarios need root (rootful podman)'),
    pytest.mark.skipif(not shutil.which('podman'), reason='podman is not installed'),
]


def test_there_are_the_four_scenarios_of_the_issue():
    assert SCENARIOS == ['debian12', 'debian13', 'multihost', 'unprivileged']


@pytest.mark.parametrize('scenario', SCENARIOS)
def test_scenario(scenario):
    env = dict(os.environ, CRIU_CHECK_MOLECULE_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    proc = subprocess.run([os.path.join(REPO, 'tests', 'tools', 'molecule.sh'), scenario], cwd=REPO, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-12000:]
