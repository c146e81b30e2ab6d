# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fix a probe gives when its Python library is missing names the package of the host's distribution
family (read from os-release's ID, then ID_LIKE), from the one table the install role installs from too;
a family without the package, or an unknown one, is told the pip name."""

import os
import subprocess

import pytest

from ansible.errors import AnsibleFilterError

from conftest import COLLECTIONS

from ansible_collections.criu.check.plugins.filter.criu_library_packages import criu_library_packages
from ansible_collections.criu.check.plugins.module_utils import _deps

DEBIAN = 'ID=debian\nVERSION_ID="13"\n'
UBUNTU = 'ID=ubuntu\nID_LIKE=debian\n'
ROCKY = 'ID="rocky"\nID_LIKE="rhel centos fedora"\n'
CENTOS = 'ID="centos"\nID_LIKE="rhel fedora"\n'
AMAZON = 'ID="amzn"\nID_LIKE="centos rhel fedora"\n'
FEDORA = 'ID=fedora\n'
LEAP = 'ID="opensuse-leap"\nID_LIKE="suse opensuse"\n'
SLES = 'ID="sles"\nID_LIKE="suse"\n'
ARCH = 'ID=arch\n'
MANJARO = 'ID=manjaro\nID_LIKE=arch\n'
ALPINE = 'ID=alpine\n'


def _fix(tmp_path, monkeypatch, text, library):
    if text is not None:
        (tmp_path / 'os-release').write_text(text)
    monkeypatch.setattr(_deps, 'OS_RELEASE', str(tmp_path / 'os-release'))
    return _deps.MissingLibrary(library, 'No module named %r' % library).fix


@pytest.mark.parametrize('text, library, fix', [
    (DEBIAN, 'ptrace', 'install python3-ptrace on the managed node (pip: python-ptrace)'),
    (UBUNTU, 'pyroute2', 'install python3-pyroute2 on the managed node (pip: pyroute2)'),
    (ROCKY, 'ptrace', 'install python3-ptrace on the managed node (pip: python-ptrace)'),
    (CENTOS, 'ptrace', 'install python3-ptrace on the managed node (pip: python-ptrace)'),
    (AMAZON, 'ptrace', 'install python3-ptrace on the managed node (pip: python-ptrace)'),
    (FEDORA, 'pyroute2', 'install python3-pyroute2 on the managed node (pip: pyroute2)'),
    # openSUSE has no python3-ptrace: zypper would fail the whole install on that name.
    (LEAP, 'ptrace', 'install python3-python-ptrace on the managed node (pip: python-ptrace)'),
    (SLES, 'ptrace', 'install python3-python-ptrace on the managed node (pip: python-ptrace)'),
    # Arch names Python 3 packages python-*, and has no python-ptrace in its repositories.
    (ARCH, 'pyroute2', 'install python-pyroute2 on the managed node (pip: pyroute2)'),
    (MANJARO, 'pyroute2', 'install python-pyroute2 on the managed node (pip: pyroute2)'),
    (ARCH, 'ptrace', "install the Python library ptrace on the managed node: pip install python-ptrace, "
                     "or the distribution's package of it"),
    (ALPINE, 'pyroute2', "install the Python library pyroute2 on the managed node: pip install pyroute2, "
                         "or the distribution's package of it"),
    (None, 'ptrace', "install the Python library ptrace on the managed node: pip install python-ptrace, "
                     "or the distribution's package of it"),
])
def test_the_fix_names_the_package_of_the_hosts_family(tmp_path, monkeypatch, text, library, fix):
    assert _fix(tmp_path, monkeypatch, text, library) == fix


def test_id_decides_before_id_like(tmp_path, monkeypatch):
    """A distribution that is its own family but also lists another in ID_LIKE takes its own."""
    assert 'python3-python-ptrace' in _fix(tmp_path, monkeypatch, 'ID=opensuse\nID_LIKE="fedora"\n', 'ptrace')


def test_a_real_missing_library_on_an_opensuse_host_names_its_package(tmp_path):
    """A real failed import (python3 -S has no site-packages) of the ptrace probes' module, with os-release
    saying openSUSE: the fix names python3-python-ptrace, not Debian's and Fedora's python3-ptrace."""
    (tmp_path / 'os-release').write_text(LEAP)
    code = ('from ansible_collections.criu.check.plugins.module_utils import _deps\n'
            '_deps.OS_RELEASE = %r\n'
            'try:\n    _deps.load("ptrace.binding.func")\n'
            'except _deps.MissingLibrary as exc:\n    print(exc.library, "|", exc.fix, "|", exc)\n' % str(tmp_path / 'os-release'))
    out = subprocess.run(['/usr/bin/python3', '-S', '-c', code], capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONDONTWRITEBYTECODE='1'), check=False)
    assert out.returncode == 0, out.stderr
    # The message the probe's result gives (the engine's unknown) names the library and the import's error.
    assert out.stdout.strip() == ("ptrace | install python3-python-ptrace on the managed node (pip: python-ptrace) | "
                                  "Python library ptrace is not available: No module named 'ptrace'")


def test_the_install_role_installs_what_the_fix_names():
    """The role's filter gives the same table: each package a fix names is one the role installs."""
    assert criu_library_packages('Suse') == {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-python-ptrace',
                                             'nftables': 'python3-nftables'}
    assert criu_library_packages('Archlinux') == {'pyroute2': 'python-pyroute2'}
    for family in ('Debian', 'RedHat', 'Suse', 'Archlinux'):
        for library, package in criu_library_packages(family).items():
            assert _deps.install_fix(library, family).startswith('install %s on' % package)


def test_the_filter_names_the_families_it_knows():
    with pytest.raises(AnsibleFilterError, match="family 'Alpine'; there are Archlinux, Debian, RedHat, Suse"):
        criu_library_packages('Alpine')
