# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""TOML reader cases: arrays of tables inside tables, and documents a
runtime's configuration may hold by mistake, which must be a ValueError
naming the line (the runtimes' facts report it as invalid TOML) rather than
a value or another exception."""

import re

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _toml as T


@pytest.mark.parametrize('text', [
    # registries.conf's layout: an array of tables inside the last table of another
    '[[registry]]\nlocation = "a"\n[[registry.mirror]]\nlocation = "b"\n[[registry]]\nlocation = "c"\n',
    '[[a]]\n[a.b]\nx = 1\n',
    '[[a]]\nx = 1\n[[a]]\nx = 2\n[[a.b]]\ny = 3\n',          # the last table of a, not the first
    '[[a]]\nx = 1\n[[a]]\nx = 2\n',
])
def test_arrays_of_tables_read_as_tomllib_reads_them(text):
    tomllib = pytest.importorskip('tomllib')
    assert T.parse_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize('text', ['a = 1\n[[a.b]]\n', 'a = []\n[a.b]\n', 'a = []\n[[a.b]]\n', 't = {x}\n',
                                  'x = yes\n'])
def test_a_header_or_value_that_is_not_toml_is_a_value_error_with_its_line(text):
    """Not an AttributeError or IndexError: the runtimes report it as invalid TOML."""
    tomllib = pytest.importorskip('tomllib')
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(ValueError, match=r'^line \d: '):
        T.parse_toml(text)


@pytest.mark.parametrize('value', ['1.5', '-2e3', '1_000.5', '+0.1E-2', '6.02e+23', '3e1_0'])
def test_floats_read_as_tomllib_reads_them(value):
    tomllib = pytest.importorskip('tomllib')
    assert T.parse_toml('x = %s\n' % value) == tomllib.loads('x = %s\n' % value)


@pytest.mark.parametrize('value', ['e5', '.5', '5.', '1e', '+'])
def test_a_float_without_its_digits_is_rejected_with_its_line(value):
    """Not float()'s own words ("could not convert string to float") nor 0.5 for ".5": TOML has neither."""
    tomllib = pytest.importorskip('tomllib')
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads('x = %s\n' % value)
    with pytest.raises(ValueError, match="^line 1: unsupported value '%s'$" % re.escape(value)):
        T.parse_toml('x = %s\n' % value)
