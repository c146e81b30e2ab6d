# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The require role takes probe ids and workloads from the collection: no
hand-kept copy in the role can drift from the registry."""

import os
import re

import pytest
import yaml

import conftest

from ansible.errors import AnsibleFilterError

from ansible_collections.criu.check.plugins.filter import criu_unmet as F
from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _workloads as W

ROLE = os.path.join(conftest.REPO, 'roles', 'require')


def _role_yaml():
    for base, dummy, files in os.walk(ROLE):
        for name in files:
            if name.endswith(('.yml', '.yaml')):
                path = os.path.join(base, name)
                with open(path) as f:
                    yield path, yaml.safe_load(f)


def _strings(node):
    if isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)
    elif isinstance(node, str):
        yield node


def test_the_role_holds_no_list_of_probe_ids():
    for path, data in _role_yaml():
        ids = [s for s in _strings(data) if s in REG.BY_ID]
        assert len(ids) < 3, '%s keeps probe ids by hand: %s' % (path, ids)


def test_the_categories_the_role_accepts_are_the_module_s():
    """criu_require_categories is passed to criu_facts' categories: the role's
    argument spec must offer exactly the module's choices, in its order."""
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as f:
        spec = yaml.safe_load(f)['argument_specs']['main']['options']['criu_require_categories']
    assert spec['choices'] == list(_check.CATEGORY_CHOICES)
    assert all(c in _check.CATEGORY_CHOICES for c in spec['default'])


def test_the_ids_the_role_accepts_are_the_registry_s():
    with pytest.raises(AnsibleFilterError) as err:
        F.criu_unmet({'probes': {}}, features=['no_such_probe'])
    listed = re.search(r'valid ids, the keys of criu_facts.probes: (.*)\)$', str(err.value)).group(1).split(', ')
    assert listed == [p.id for p in REG.PROBES]
    for probe in REG.PROBES:
        F.criu_unmet({'probes': {}}, features=[probe.id], ignore=[probe.id])


def test_the_workloads_the_role_accepts_are_the_collection_s():
    for name, ids in W.BUILTIN.items():
        assert all(i in REG.BY_ID for i in ids), name
        F.criu_unmet({'probes': {}}, workloads=[name], ignore=ids)
    with pytest.raises(AnsibleFilterError, match='known: %s;' % ', '.join(sorted(W.BUILTIN))):
        F.criu_unmet({'probes': {}}, workloads=['no_such_workload'])


def test_the_role_readme_lists_the_builtin_workloads_as_they_are():
    with open(os.path.join(ROLE, 'README.md')) as f:
        text = f.read()
    # The workloads' table: from its header to the first line that is not a row.
    section = re.search(r'^\| name \| probes \|\n\|---\|---\|\n((?:\|.*\n)*)', text, re.M).group(1)
    rows = re.findall(r'^\| `(\w+)` \| (.*) \|$', section, re.M)
    table = dict((name, re.findall(r'`([\w-]+)`', probes)) for name, probes in rows)
    table = dict((name, [i for i in ids if i in REG.BY_ID]) for name, ids in table.items())
    # Every workload the README lists is one the role accepts, and the other way round.
    assert table == W.BUILTIN
    with open(os.path.join(ROLE, 'meta', 'argument_specs.yml')) as f:
        spec = f.read()
    assert sorted(re.findall(r'C\((\w+)\)', spec.split('criu_require_workloads:')[1].split('criu_require_custom')[0])) \
        == sorted(W.BUILTIN)


def test_the_role_docs_name_check_yml_only_if_it_includes_the_role():
    """playbooks/check.yml reports with criu_facts and criu_report, not through this role: the docs (README and
    ansible-doc) must not send an operator there to see report_only at work."""
    with open(os.path.join(conftest.REPO, 'playbooks', 'check.yml')) as f:
        includes = 'criu.check.require' in f.read()
    for name in ('README.md', os.path.join('meta', 'argument_specs.yml')):
        with open(os.path.join(ROLE, name)) as f:
            assert includes or 'check.yml' not in f.read(), name
