# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet of real hosts for playbooks/check.yml: podman containers reached with
the containers.podman.podman connection, in several contexts, plus hosts that
cannot be reached.  Shared by tests/fleet and tests/tools/fleet_bench.py.

    with Fleet([('ready-1', 'privileged'), ('unpriv', 'unprivileged')], unreachable=1) as fleet:
        proc = fleet.playbook('playbooks/check.yml')

Images come from tests/tools/build_images.sh and podman's settings from
tests/tools/common.sh (podman_env), both through tests/tools/podman_images.py;
containers.podman from PyPI's ansible package as tests/tools/molecule.sh takes
it.  Everything the fleet makes (the containers, a temporary directory with the
inventory, collections tree, fact cache and report) is removed on exit; the
images stay cached.
"""

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile

from podman_images import CACHE, REPO, build_images, podman_env
from podman_images import run as _run
VENV_BIN = os.path.dirname(sys.executable)

# context -> (image, podman run options)
CONTEXTS = {
    # everything criu needs
    'privileged': ('localhost/criu-check-debian13-criu:latest', ['--privileged']),
    # every capability, but podman's read-only /proc/sys and its seccomp profile
    'rosys': ('localhost/criu-check-debian13-criu:latest', ['--cap-add', 'ALL']),
    # podman's default capabilities: no CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE
    'unprivileged': ('localhost/criu-check-debian13-criu:latest', []),
    # unprivileged, with CAP_CHECKPOINT_RESTORE (criu --unprivileged's case)
    'cr': ('localhost/criu-check-debian13-criu:latest', ['--cap-add', 'CHECKPOINT_RESTORE']),
    # Debian 12 without criu, pyroute2 or python-ptrace
    'bare': ('localhost/criu-check-debian12:latest', ['--privileged']),
}


def podman_collection():
    """The collections directory holding containers.podman (what tests/tools/molecule.sh extracts)."""
    collections = os.path.join(CACHE, 'collections')
    if os.path.exists(os.path.join(collections, 'ansible_collections', 'containers', 'podman', 'MANIFEST.json')):
        return collections
    pip = os.path.join(CACHE, 'pip')
    os.makedirs(pip, exist_ok=True)
    wheels = sorted(glob.glob(os.path.join(pip, 'ansible-[0-9]*.whl')))
    if not wheels:
        proc = _run([sys.executable, '-m', 'pip', 'download', '-q', '--no-deps', '--only-binary=:all:', '-d', pip, 'ansible'])
        if proc.returncode != 0:
            raise RuntimeError('pip download ansible failed: %s' % proc.stderr)
        wheels = sorted(glob.glob(os.path.join(pip, 'ansible-[0-9]*.whl')))
    new = '%s.new.%d' % (collections, os.getpid())
    with zipfile.ZipFile(wheels[-1]) as z:
        z.extractall(new, [n for n in z.namelist() if n.startswith('ansible_collections/containers/podman/')])
    if os.path.exists(os.path.join(collections, 'ansible_collections', 'containers', 'podman', 'MANIFEST.json')):
        shutil.rmtree(new)  # another run was quicker
    else:
        shutil.rmtree(collections, ignore_errors=True)
        os.rename(new, collections)
    return collections


class Fleet:
    """Containers named criu-check-fleet-<run>-<name>, inventory host <name>."""

    def __init__(self, hosts, unreachable=0, prefix='criu-check-fleet'):
        self.run_id = uuid.uuid4().hex[:6]
        self.prefix = '%s-%s' % (prefix, self.run_id)
        self.hosts = list(hosts)
        self.unreachable = ['gone-%d' % i for i in range(1, unreachable + 1)]
        self.env = None
        self.dir = None

    def container(self, name):
        return '%s-%s' % (self.prefix, name)

    # --- life cycle -------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self):
        self.env = podman_env()
        build_images()
        collections = podman_collection()
        self.dir = tempfile.mkdtemp(prefix='criu-check-fleet-')
        tree = os.path.join(self.dir, 'collections', 'ansible_collections', 'criu')
        os.makedirs(tree)
        os.symlink(REPO, os.path.join(tree, 'check'))
        self.workdir = os.path.join(self.dir, 'work')
        os.makedirs(self.workdir)
        self.inventory = os.path.join(self.dir, 'inventory.json')
        self.ansible_env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH='%s:%s' % (os.path.join(self.dir, 'collections'), collections),
            ANSIBLE_HOME=os.path.join(self.dir, 'ansible-home'),
            ANSIBLE_LOCAL_TEMP=os.path.join(self.dir, 'ansible-tmp'),
            ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0', ANSIBLE_RETRY_FILES_ENABLED='0',
            ANSIBLE_HOST_KEY_CHECKING='0', ANSIBLE_DEPRECATION_WARNINGS='0',
            PYTHONDONTWRITEBYTECODE='1', CONTAINERS_CONF=self.env['CONTAINERS_CONF'],
            PATH=VENV_BIN + os.pathsep + os.environ.get('PATH', ''),
        )
        for key in ('ANSIBLE_CONFIG', 'ANSIBLE_INVENTORY', 'ANSIBLE_CALLBACKS_ENABLED', 'ANSIBLE_STDOUT_CALLBACK'):
            self.ansible_env.pop(key, None)
        procs = [(name, subprocess.Popen(self._run_argv(name, context), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True, env=self.env)) for name, context in self.hosts]
        errors = []
        for name, p in procs:
            out, err = p.communicate(timeout=180)
            if p.returncode != 0:
                errors.append('%s: %s' % (name, err.strip()))
        if errors:
            raise RuntimeError('podman run failed: ' + '; '.join(errors))
        self.write_inventory()

    def _run_argv(self, name, context):
        image, options = CONTEXTS[context]
        return ['podman', 'run', '-d', '--name', self.container(name), '--init', '--network', 'none',
                '--label', 'criu-check-fleet=%s' % self.run_id] + options + [image, 'sleep', 'infinity']

    def write_inventory(self, extra_vars=None):
        hosts = {}
        for name, _context in self.hosts:
            hosts[name] = {'ansible_host': self.container(name)}
        for name in self.unreachable:
            hosts[name] = {'ansible_host': self.container(name)}  # no such container
        inventory = {'all': {'hosts': hosts, 'vars': dict({
            'ansible_connection': 'containers.podman.podman',
            'ansible_python_interpreter': '/usr/bin/python3',
        }, **(extra_vars or {}))}}
        with open(self.inventory, 'w') as f:
            json.dump(inventory, f, indent=1)

    def recreate(self, name, context):
        """Replace one host's container by one in another context (same inventory name)."""
        _run(['podman', 'rm', '-f', '-t', '0', self.container(name)], env=self.env)
        proc = _run(self._run_argv(name, context), env=self.env)
        if proc.returncode != 0:
            raise RuntimeError('podman run %s failed: %s' % (name, proc.stderr))
        self.hosts = [(n, context if n == name else c) for n, c in self.hosts]

    def exec(self, name, *argv):
        return _run(['podman', 'exec', self.container(name)] + list(argv), env=self.env)

    def stop(self):
        if self.env is not None:
            ids = _run(['podman', 'ps', '-aq', '--filter', 'label=criu-check-fleet=%s' % self.run_id], env=self.env).stdout.split()
            if ids:
                _run(['podman', 'rm', '-f', '-t', '0'] + ids, env=self.env)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def leftovers(self):
        """Containers of this fleet still there (should be none after stop())."""
        env = self.env or podman_env()
        return _run(['podman', 'ps', '-aq', '--filter', 'label=criu-check-fleet=%s' % self.run_id], env=env).stdout.split()

    # --- running ansible ----------------------------------------------------
    def playbook(self, playbook, *args, env=None, timeout=600):
        argv = [os.path.join(VENV_BIN, 'ansible-playbook'), '-i', self.inventory, playbook] + list(args)
        start = time.monotonic()
        proc = _run(argv, cwd=self.workdir, env=dict(self.ansible_env, **(env or {})), timeout=timeout)
        proc.seconds = time.monotonic() - start
        return proc
