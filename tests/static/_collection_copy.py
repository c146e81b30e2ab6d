# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers shared by the static tests that run ansible-test: a copy of the
checkout laid out as ansible-test wants it, and the offline get-pip stand-in."""

import glob
import os
import re
import subprocess

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# ansible-test bootstraps pip in its sanity venvs with a script downloaded from
# a host these machines cannot reach; this stand-in bootstraps the bundled pip
# with ensurepip and installs the same packages from PyPI instead.  ensurepip
# (Lib/ensurepip/__init__.py, _disable_pip_configuration_settings) empties this
# process's PIP_* variables and sets PIP_CONFIG_FILE=/dev/null up to Python 3.11:
# the environment is restored before the install, which needs the machine's pip
# configuration (its CA bundle, to reach PyPI through the proxy).
GET_PIP_STAND_IN = '''\
# Offline stand-in for ansible-test's get-pip bootstrap, written by criu.check's tests.
import ensurepip
import os
import subprocess
import sys

environ = dict(os.environ)
ensurepip.bootstrap(upgrade=True)
os.environ.clear()
os.environ.update(environ)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))
'''


def tracked_files():
    out = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=REPO, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return [f for f in out.splitlines() if os.path.isfile(os.path.join(REPO, f))]


def copy_collection(base):
    """Copy the checkout's files (tracked and untracked, not ignored) to
    ``base``/ansible_collections/criu/check; returns that path (a pathlib.Path)."""
    root = base / 'ansible_collections' / 'criu' / 'check'
    root.mkdir(parents=True)
    for name in tracked_files():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(os.path.join(REPO, name), 'rb') as src:
            target.write_bytes(src.read())
        os.chmod(str(target), os.stat(os.path.join(REPO, name)).st_mode)
    return root


def install_get_pip_stand_in(ansible_test_dirs=()):
    """Put the stand-in where ansible-test looks for its cached get-pip
    (~/.ansible/test/cache/get_pip_<pip version>.py, ansible_test/_util/target/setup/requirements.py),
    for 25.2 (the newest ansible-core's) and every pip version pinned in the ansible_test
    packages under ``ansible_test_dirs`` (their _internal/python_requirements.py)."""
    versions = {'25.2'}
    for path in ansible_test_dirs:
        with open(os.path.join(path, '_internal', 'python_requirements.py')) as f:
            versions.update(re.findall(r"\bpip='([0-9.]+)'", f.read()))
    cache = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache, exist_ok=True)
    for version in sorted(versions):
        with open(os.path.join(cache, 'get_pip_%s.py' % version.replace('.', '_')), 'w') as f:
            f.write(GET_PIP_STAND_IN)
    return sorted(versions)


def ansible_test_dir(venv):
    """The ansible_test package of ``venv`` (a path), or None."""
    found = glob.glob(os.path.join(venv, 'lib', 'python3.*', 'site-packages', 'ansible_test'))
    return found[0] if found else None
