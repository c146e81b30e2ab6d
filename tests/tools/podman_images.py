# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Podman's settings and the test images, for the tests written in Python (the
fleet, the environment tests, the fleet benchmark): what podman_env in
tests/tools/common.sh and tests/tools/build_images.sh give the shell scripts."""

import os
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get('CRIU_CHECK_CACHE', '/var/cache/criu-check')


def run(argv, **kw):
    """subprocess.run capturing text output, never raising on the exit code."""
    kw.setdefault('stdout', subprocess.PIPE)
    kw.setdefault('stderr', subprocess.PIPE)
    kw.setdefault('text', True)
    return subprocess.run(argv, check=False, **kw)


def podman_env():
    """os.environ with CONTAINERS_CONF as tests/tools/common.sh writes it (runc,
    ulimits without CAP_SYS_RESOURCE)."""
    proc = run(['bash', '-c', '. "$1"; podman_env; printf %s "$CONTAINERS_CONF"', 'x',
                os.path.join(REPO, 'tests', 'tools', 'common.sh')], env=dict(os.environ, CACHE=CACHE))
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError('podman_env failed: %s' % proc.stderr)
    return dict(os.environ, CONTAINERS_CONF=proc.stdout)


def build_images():
    """Build the images that are missing or stale (about 0.2 s when none is);
    RuntimeError with the end of the build's output when it fails."""
    proc = run([os.path.join(REPO, 'tests', 'tools', 'build_images.sh')], env=dict(os.environ, CRIU_CHECK_CACHE=CACHE))
    if proc.returncode != 0:
        raise RuntimeError('build_images.sh failed:\n%s' % proc.stderr[-4000:])
