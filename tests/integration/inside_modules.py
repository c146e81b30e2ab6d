# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the scripts run inside the Debian 13 root (cpuinfo_inside.py,
steps_inside.py) share: the collection importable from a temporary tree, and
a module run as Ansible runs it (the module with a JSON args file).  Only
the standard library is used."""

import json
import os
import subprocess
import sys
import tempfile


def import_root(repo, prefix):
    """A temporary tree where ``repo`` is importable as ansible_collections.criu.check."""
    root = tempfile.mkdtemp(prefix=prefix)
    os.makedirs(os.path.join(root, 'ansible_collections', 'criu'))
    os.symlink(repo, os.path.join(root, 'ansible_collections', 'criu', 'check'))
    return root


def run_module(coll, module, args, cwd='/'):
    """The result of ``module`` run with ``args`` from the tree ``coll``, or what it printed when that is no JSON."""
    fd, path = tempfile.mkstemp(prefix='module-args-', dir=coll)
    with os.fdopen(fd, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': args}, f)
    env = dict(os.environ, PYTHONPATH=coll)
    proc = subprocess.run([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.' + module, path],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                          cwd=cwd, timeout=120, check=False)
    os.unlink(path)
    try:
        return json.loads(proc.stdout.decode())
    except ValueError:
        return {'no_json': True, 'rc': proc.returncode, 'stdout': proc.stdout.decode('utf-8', 'replace')[-2000:],
                'stderr': proc.stderr.decode('utf-8', 'replace')[-2000:]}
