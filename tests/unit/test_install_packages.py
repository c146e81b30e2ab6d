# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every package name the install role can ask a family's package manager for
is one that family's distributions build: one unknown name fails the whole
installation (dnf and zypper install a list all or nothing).  Debian's names
are looked up in apt's lists on this machine; the others are the binary
packages of the distributions' spec files and PKGBUILDs, recorded here."""

import os
import shutil
import subprocess

import pytest
import yaml

import conftest

from ansible.errors import AnsibleFilterError

from ansible_collections.criu.check.plugins.filter.criu_library_packages import criu_library_packages

VARS = os.path.join(conftest.REPO, 'roles', 'install', 'vars')

# The binary packages each family builds from the sources the role relies on.
BUILT = {
    # openSUSE criu.spec: criu (with crit, criu-ns and pycriu in it), libcriu2, libcompel1, criu-devel,
    # criu-plugin-*; python-pyroute2.spec, python-python-ptrace.spec (%python_subpackages: python3-NAME);
    # nftables.spec: nftables, libnftables1, nftables-devel, python3-nftables.
    'Suse': {'criu', 'libcriu2', 'libcompel1', 'criu-devel', 'python3-pyroute2', 'python3-python-ptrace',
             'python3-nftables'},
    # Fedora criu.spec: criu, criu-libs, criu-devel, python3-criu, crit, criu-ns; python-ptrace.spec:
    # python3-ptrace; python-pyroute2.spec: python3-pyroute2; nftables.spec: python3-nftables.
    'RedHat': {'criu', 'criu-libs', 'criu-devel', 'python3-criu', 'crit', 'criu-ns', 'python3-pyroute2',
               'python3-ptrace', 'python3-nftables'},
    # Arch: criu (with crit, criu-ns and pycriu), python-pyroute2.
    'Archlinux': {'criu', 'python-pyroute2'},
}


def _names(family):
    with open(os.path.join(VARS, family + '.yml')) as f:
        names = yaml.safe_load(f)
    packages = [p for key, packages in names.items() if key.endswith('_packages') for p in packages]
    return sorted(set(packages + list(criu_library_packages(family).values())))


@pytest.mark.parametrize('family', sorted(BUILT))
def test_the_role_asks_only_for_packages_the_family_builds(family):
    assert sorted(set(_names(family)) - BUILT[family]) == [], 'no such package in %s' % family


@pytest.mark.skipif(not shutil.which('apt-cache'), reason='needs apt')
def test_the_debian_names_are_in_apts_lists():
    """On this Debian machine: apt knows each name (apt-cache show fails for one it does not)."""
    for name in _names('Debian'):
        proc = subprocess.run(['apt-cache', 'show', '--no-all-versions', name], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, check=False)
        if proc.returncode != 0 and 'No packages found' not in proc.stderr:
            pytest.skip('apt-cache cannot read its lists: %s' % proc.stderr.strip())
        assert proc.returncode == 0, '%s: %s' % (name, proc.stderr.strip())


@pytest.mark.parametrize('family', [{'os_family': 'Debian'}, ['Debian'], 'debian'])
def test_a_family_it_has_no_table_for_is_refused_naming_those_it_has(family):
    with pytest.raises(AnsibleFilterError, match='Archlinux, Debian, RedHat, Suse'):
        criu_library_packages(family)
