# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_deps.load() in a fresh interpreter, as a probe worker runs it: it gives the module asked for, and for pyroute2
only what the probes use, without running the package's __init__ (which imports IPRoute, NDB and sqlite3 at a
cost of hundreds of milliseconds per worker: docs/architecture.md, "Costs")."""

import json
import subprocess
import sys

import pytest

from conftest import COLLECTIONS

FRESH = r'''
import json, sys
from ansible_collections.criu.check.plugins.module_utils import _deps
diag = _deps.load('pyroute2.netlink.diag')
print(json.dumps({'name': diag.__name__, 'again': _deps.load('pyroute2.netlink.diag') is diag,
                  'has': hasattr(diag, 'inet_diag_msg'),
                  'heavy': sorted(m for m in ('pyroute2.iproute', 'pyroute2.ndb', 'sqlite3') if m in sys.modules)}))
'''


@pytest.mark.parametrize('python', [sys.executable, '/usr/bin/python3'])
def test_pyroute2_is_loaded_without_its_package_init(python):
    if subprocess.call([python, '-c', 'import pyroute2.netlink.diag'], stderr=subprocess.DEVNULL) != 0:
        pytest.skip('%s lacks pyroute2' % python)
    proc = subprocess.run([python, '-c', FRESH], capture_output=True, text=True, timeout=60, check=False,
                          env={'PYTHONPATH': COLLECTIONS, 'PYTHONDONTWRITEBYTECODE': '1', 'PATH': '/usr/bin:/bin'})
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen == {'name': 'pyroute2.netlink.diag', 'again': True, 'has': True, 'heavy': []}
