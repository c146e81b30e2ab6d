# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The runtimes installed on this machine (podman and runc, from scripts/test),
read for real: their own --version output and the host's configuration files,
with the installed criu usable, unusable and absent."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import run_tool

from ansible_collections.criu.check.plugins.module_utils import _runtimes as R
from ansible_collections.criu.check.plugins.module_utils import _toml as T
from ansible_collections.criu.check.plugins.module_utils._context import which

PODMAN = which('podman')
RUNC = which('runc')
pytestmark = pytest.mark.skipif(not (PODMAN and RUNC), reason='podman and runc are not installed (scripts/test installs them)')

CRIU_USABLE = {'installed': True, 'path': '/usr/sbin/criu', 'version': '4.1.1', 'usable': True, 'reason': None, 'fix': None}
CRIU_UNUSABLE = {'installed': True, 'path': '/usr/sbin/criu', 'version': '3.17.1', 'usable': False,
                 'reason': 'criu cannot start here: "vdso: Unexpected rt vDSO area bounds"', 'fix': 'install criu 4.1 or newer'}
CRIU_ABSENT = {'installed': False, 'path': None, 'version': None, 'usable': None, 'reason': 'criu is not installed', 'fix': None}


def real_version(binary, pattern):
    out = subprocess.run([binary, '--version'], stdout=subprocess.PIPE, check=True).stdout.decode()
    return re.search(pattern, out).group(1)


def podman_runtime():
    """What containers/common would pick here when containers.conf names none."""
    return next(n for n in ('crun', 'runc') if which(n))


def podman_configured():
    for path in ['/usr/share/containers/containers.conf', '/etc/containers/containers.conf']:
        if os.path.exists(path):
            value = T.toml_get(T.parse_toml(open(path).read()), ('engine', 'runtime'))
            if value:
                return value
    return None


def test_real_versions_and_paths():
    facts = R.gather(run_tool, CRIU_USABLE, True)
    assert facts['podman']['version'] == real_version(PODMAN, r'podman version (\S+)')
    assert facts['runc']['version'] == real_version(RUNC, r'runc version (\S+)')
    assert facts['podman']['path'] == PODMAN and facts['runc']['path'] == RUNC
    for name in R.RUNTIMES:   # absent ones are absent
        assert (name in facts) == bool(which(R.BINARIES[name])), name


def test_usable_criu():
    facts = R.gather(run_tool, CRIU_USABLE, True)
    assert facts['runc']['checkpoint'] == R.READY, facts['runc']
    assert facts['runc']['built_with_criu'] is True
    oci = facts['podman']['oci_runtime']
    if podman_configured() is None:
        assert oci['name'] == podman_runtime() and oci['source'] == 'default'
    if oci['name'] == 'runc':
        assert facts['podman']['checkpoint'] == R.READY, facts['podman']
    elif oci['name'] == 'crun' and '+CRIU' not in subprocess.run(['crun', '--version'], stdout=subprocess.PIPE, check=False).stdout.decode():
        assert facts['podman']['checkpoint'] == R.NOT_READY


def test_unusable_criu():
    facts = R.gather(run_tool, CRIU_UNUSABLE, True)
    for name in ('podman', 'runc'):
        assert facts[name]['checkpoint'] == R.NOT_READY
        assert any('vdso: Unexpected rt vDSO area bounds' in r for r in facts[name]['reasons'])
        assert 'Install criu 4.1 or newer' in facts[name]['fix']


def test_absent_criu():
    facts = R.gather(run_tool, CRIU_ABSENT, True)
    for name in ('podman', 'runc'):
        assert facts[name]['checkpoint'] == R.NOT_READY
        assert any('no criu is installed' in r for r in facts[name]['reasons'])
        assert 'criu %s or newer' % facts[name]['criu_min'] in facts[name]['fix']


def test_kernel_undecided_with_real_tools():
    facts = R.gather(run_tool, CRIU_USABLE, None)
    assert facts['runc']['checkpoint'] == R.UNKNOWN


def test_gathering_starts_nothing():
    """Only --version runs: no podman service, conmon or container appears."""
    def ours():
        found = set()
        for pid in os.listdir('/proc'):
            try:
                with open('/proc/%s/comm' % pid) as f:
                    name = f.read().strip()
            except (IOError, OSError, NotADirectoryError):
                continue
            if name in ('podman', 'conmon', 'runc', 'catatonit') and int(pid) > os.getpid():
                found.add(pid)
        return found
    before = ours()
    R.gather(run_tool, CRIU_USABLE, True)
    assert ours() - before == set()
    assert shutil.which('podman')
