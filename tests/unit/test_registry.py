# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry is the contract: it must match the project's spec/features.tsv (CRIU 4.2's feature_list)
exactly.  fixtures/features.tsv is that table, kept in the repository so that every run (CI's clean clone
too) compares against it; where the project's shared spec sits beside the checkout, the copy must equal it."""

import csv
import os

import pytest

import conftest  # noqa: F401

from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

FEATURES_TSV = os.path.join(os.path.dirname(__file__), 'fixtures', 'features.tsv')
SHARED_FEATURES_TSV = os.path.join(conftest.REPO, '..', 'shared', 'spec', 'features.tsv')


@pytest.mark.skipif(not os.path.exists(SHARED_FEATURES_TSV), reason='shared/spec/features.tsv is not beside the checkout')
def test_the_fixture_is_the_shared_spec():
    with open(FEATURES_TSV) as ours, open(SHARED_FEATURES_TSV) as shared:
        assert ours.read() == shared.read()


def test_ids_names_and_categories_match_the_spec():
    with open(FEATURES_TSV) as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    spec = [(r['id'], None if r['criu_feature_name'] == '-' else r['criu_feature_name'],
             r['category'].replace('-', '_')) for r in rows]
    ours = [(p.id, p.criu_name, p.category) for p in REG.PROBES]
    assert ours == spec


def test_the_feature_list_names_every_probe_by_id_with_criu_s_name():
    """criu_check feature=list: every name feature accepts (our ids, the feature_only ones too) and criu's own
    --feature name, or null for the checks criu runs without one."""
    with open(FEATURES_TSV) as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    assert REG.feature_list() == [
        {'name': r['id'], 'category': r['category'].replace('-', '_'),
         'criu_feature': None if r['criu_feature_name'] == '-' else r['criu_feature_name']} for r in rows]


def test_each_probe_says_which_function_of_criu_it_is():
    """The spec's criu_function column (cr-check.c's check_*() or the kerndat step) is named in the docstring of
    the probe that re-implements it, where a CRIU developer looks first."""
    with open(FEATURES_TSV) as f:
        rows = list(csv.DictReader(f, delimiter='\t'))
    assert [r['id'] for r in rows if r['criu_function'] not in (REG.BY_ID[r['id']].func.__doc__ or '')] == []


def test_counts_per_category():
    counts = dict((c, len([p for p in REG.PROBES if p.category == c])) for c in REG.CATEGORIES)
    assert counts == {'required': 17, 'extra': 39, 'experimental': 2, 'optional': 1, 'feature_only': 8}
    assert len([p for p in REG.PROBES if p.criu_name]) == 45


def test_the_probes_with_a_process_of_their_own():
    """The engine runs these alone (tests/system/test_registry_cases.py shows why, where the kernel lets it)."""
    assert [p.id for p in REG.PROBES if p.own_process] == ['prctl_cat1', 'mem_dirty_track']


def test_every_row_is_complete():
    for probe in REG.PROBES:
        assert callable(probe.func), probe.id
        assert probe.fix and probe.fix[0].islower() and not probe.fix.endswith('.'), probe.id
        assert isinstance(probe.config, tuple), probe.id
        assert all(c.startswith('CONFIG_') for c in probe.config), probe.id
        assert probe.lib in (None, 'pyroute2', 'ptrace'), probe.id
        assert probe.criu_name in (None, probe.id), probe.id


def test_selection_errors_name_what_is_valid():
    with pytest.raises(_check.SelectionError) as exc:
        _check.by_features(['userns', 'no_such_thing'])
    assert "'no_such_thing'" in str(exc.value) and 'uffd-noncoop' in str(exc.value)
    # criu_check's feature=list is valid too (it lists the names and runs nothing)
    assert str(exc.value).endswith(', list')
    with pytest.raises(_check.SelectionError) as exc:
        _check.by_categories(['bogus'])
    assert 'required, extra, experimental, optional, feature_only, all' in str(exc.value)


def test_like_criu_check_selects_as_criu_does():
    plain = [p.category for p in _check.like_criu_check()]
    assert set(plain) == {'required', 'optional'}
    everything = set(p.category for p in _check.like_criu_check(extra=True, experimental=True))
    assert everything == {'required', 'optional', 'extra', 'experimental'}
    assert [p.id for p in _check.by_features(['tun', 'tun', 'userns'])] == ['tun', 'userns']
