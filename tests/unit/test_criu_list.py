# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The criu_list filter: how the roles read a list variable given as a list or,
with -e, as comma-separated text."""

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.criu.check.plugins.filter.criu_list import criu_list


@pytest.mark.parametrize('value, expected', [
    ('userns,timens', ['userns', 'timens']),
    (' userns , timens ,', ['userns', 'timens']),
    ('userns', ['userns']),
    ('', []),
    (',,', []),
    (['a', 'b,c'], ['a', 'b,c']),
    (('a',), ['a']),
    ([], []),
    (None, []),
])
def test_lists_and_text(value, expected):
    assert criu_list(value) == expected


def test_null_reads_as_what_the_caller_says():
    assert criu_list(None, none=['all']) == ['all']
    # an empty list given on purpose stays empty
    assert criu_list([], none=['all']) == [] and criu_list('', none=['all']) == []


@pytest.mark.parametrize('value', [{'a': 1}, 3, True, 1.5])
def test_anything_else_is_an_error_naming_the_variable(value):
    with pytest.raises(AnsibleFilterError) as info:
        criu_list(value, name='criu_require_features')
    assert str(info.value).startswith('criu_list: criu_require_features must be a list or comma-separated text, not ')


def test_without_a_name_the_error_says_the_input():
    with pytest.raises(AnsibleFilterError) as info:
        criu_list({'a': 1})
    assert str(info.value).startswith('criu_list: the input must be a list or comma-separated text, not dict ')
