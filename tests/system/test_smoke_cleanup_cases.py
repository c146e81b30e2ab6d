# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_smoke's clean-up on the paths test_smoke.py does not take: criu's kdat cache when criu cannot get a
/run of its own."""

import json
import subprocess

import pytest

import conftest

pytestmark = conftest.requires_root


@pytest.fixture(scope='module')
def criu_root():
    return conftest.criu_root_or_skip()


def test_under_run_the_module_killed_the_watchdog_removes_criu_kdat_cache(criu_root):
    """With the working directory under /run (a tmpfs there would hide it) criu runs without one and writes its
    kdat cache to the real /run; the module killed while it checks the restored tree, the watchdog removes the
    cache too (it was left there)."""
    for dummy in range(4):
        proc = subprocess.run([conftest.CRIU_ROOT, 'run', '--', 'python3', '/src/tests/system/smoke_inside.py',
                               '/src', 'kill:restored', json.dumps({'timeout': 60, '_scratch_dir': '/run'})],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
        report = json.loads(proc.stdout.decode())
        if report['runs'][0]['killed_at']:
            break
    assert report['runs'][0]['killed_at'] == 'restored', 'never caught the module with its tree restored'
    assert report['leftovers']['kdat_created'] is False, 'criu.kdat was left in /run'
    assert not any(report['leftovers'][k] for k in ('marked', 'seen_alive', 'new_in_our_sessions', 'files'))
