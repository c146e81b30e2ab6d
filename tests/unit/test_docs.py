# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the documentation states about the code, held to the code: the probe
counts, the roles' variable tables, the install role's sample report.  Only
claims that can be read back without guessing at prose."""

import collections
import os
import re

import pytest
import yaml

import conftest

from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _registry as REG


def _read(*path):
    with open(os.path.join(conftest.REPO, *path)) as f:
        return f.read()


def test_the_probe_counts_the_docs_give_are_the_registry_s():
    counts = collections.Counter(p.category for p in REG.PROBES)
    readme = ' '.join(_read('README.md').split())
    said = re.search(r'\(CRIU 4\.2: (\d+) required, (\d+) extra, (\d+) experimental, (\d+) optional and (\d+) '
                     r'reachable only by `--feature`\)', readme)
    assert said, 'README.md no longer states the counts by category'
    assert [int(n) for n in said.groups()] == [counts[c] for c in REG.CATEGORIES]
    probes = _read('docs', 'probes.md')
    assert '| required | %d: %s |' % (counts[REG.REQUIRED], ', '.join(
        p.id for p in REG.PROBES if p.category == REG.REQUIRED)) in probes
    assert '| extra | %d (`--extra`) |' % counts[REG.EXTRA] in probes
    assert 'None of the %d probes' % len(REG.PROBES) in probes
    assert 'the one declarative table of the %d probes' % len(REG.PROBES) in _read('docs', 'architecture.md')


def _variables_table(role):
    """{variable: default} from the table under "## Variables" of a role's README."""
    section = _read('roles', role, 'README.md').split('\n## Variables\n')[1].split('\n## ')[0]
    rows = re.findall(r'^\| `(\w+)` \| `([^`]*)` \|', section, re.M)
    assert rows, 'roles/%s/README.md has no variables table' % role
    return dict((name, yaml.safe_load(default)) for name, default in rows)


@pytest.mark.parametrize('role', ['install', 'require'])
def test_the_role_readme_lists_every_variable_with_its_default(role):
    options = yaml.safe_load(_read('roles', role, 'meta', 'argument_specs.yml'))['argument_specs']['main']['options']
    assert _variables_table(role) == dict((name, spec.get('default')) for name, spec in options.items())


def test_the_install_role_readme_reports_debian_s_default_packages():
    """The sample criu_install lists what the role installs on Debian with its defaults: criu's packages
    (vars/Debian.yml) and every library's (_deps.PACKAGES)."""
    criu = yaml.safe_load(_read('roles', 'install', 'vars', 'Debian.yml'))['__criu_install_packages']
    sample = re.search(r'^  packages: (\[.*\])$', _read('roles', 'install', 'README.md'), re.M)
    assert sample, 'roles/install/README.md has no sample packages line'
    assert yaml.safe_load(sample.group(1)) == criu + list(_deps.PACKAGES['Debian'].values())
