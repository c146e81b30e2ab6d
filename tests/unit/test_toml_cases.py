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


@pytest.mark.parametrize('text, line', [
    ("enable_criu = 'true\n", 1),             # a literal string without its closing quote
    ("[plugins]\nruntime = '\n", 2),          # a lone quote
    ('a = 1\na.b = 2\n', 2),                  # a dotted key through a value that is no table
    ('t = {x = 1}\nt.x.y = 2\n', 2),
])
def test_malformed_documents_are_rejected_with_their_line(text, line):
    tomllib = pytest.importorskip('tomllib')
    with pytest.raises(tomllib.TOMLDecodeError):   # not TOML either: the reader is no stricter than the standard
        tomllib.loads(text)
    with pytest.raises(ValueError, match='^line %d: ' % line):
        T.parse_toml(text)


def test_a_line_without_a_key_and_value_is_rejected_with_its_line():
    with pytest.raises(ValueError, match='^line 2: expected key = value'):
        T.parse_toml('[plugins]\nenable_criu true\n')


@pytest.mark.parametrize('text', [
    'a = """\nfirst line\nsecond line"""\nb = 1\n',         # the newline after the opening quotes is dropped
    "a = '''one line'''\n",
    'a = """\n[not.a.table]\nc = 2\n"""\n',                  # what looks like TOML inside the string stays in it
])
def test_multi_line_strings_read_as_tomllib_reads_them(text):
    tomllib = pytest.importorskip('tomllib')
    assert T.parse_toml(text) == tomllib.loads(text)


@pytest.mark.parametrize('text', ['a = "\n', '[[a]\nx = 1\n', '[[a\n'])
def test_a_lone_double_quote_or_an_unclosed_array_header_is_rejected_with_its_line(text):
    tomllib = pytest.importorskip('tomllib')
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(ValueError, match='^line 1: '):
        T.parse_toml(text)


@pytest.mark.parametrize('text', ["root = 'C:\\' # a literal string has no escapes\n",
                                  "a = ['x\\', 'y']\n", 'b = "say \\"hi\\" # not a comment" # one\n'])
def test_a_backslash_escapes_only_in_a_basic_string(text):
    tomllib = pytest.importorskip('tomllib')
    assert T.parse_toml(text) == tomllib.loads(text)


def test_an_unterminated_multi_line_string_is_rejected_with_the_line_it_starts_on():
    with pytest.raises(ValueError, match='^line 2: unterminated multi-line string'):
        T.parse_toml('a = 1\nb = """\nno end\n')


@pytest.mark.parametrize('text, message', [
    ('["plugins]\n', 'line 1: unterminated quoted key'),
    ('a b = 1\n', 'line 1: invalid key'),
    ('$a = 1\n', "line 1: invalid key '$a'"),
    ('a = 1\n[[a]]\n', 'line 2: a is not an array of tables'),
])
def test_keys_and_headers_toml_does_not_allow_are_rejected_with_their_line(text, message):
    tomllib = pytest.importorskip('tomllib')
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    with pytest.raises(ValueError, match='^%s' % re.escape(message)):
        T.parse_toml(text)


def test_toml_get_walks_tables_only():
    doc = {'plugins': {'cri': {'enable_criu': True}}, 'name': 'plugins'}
    assert T.toml_get(doc, ['plugins', 'cri', 'enable_criu']) is True
    assert T.toml_get(doc, ['name', 'p']) is None        # a string is no table, though 'p' is in 'plugins'
    assert T.toml_get(doc, ['plugins', 'io']) is None


def test_dotted_keys_read_as_tomllib_reads_them_and_a_repeated_one_is_rejected():
    tomllib = pytest.importorskip('tomllib')
    text = '[plugins]\ncri.enable_criu = true\ncri.runtime = "runc"\n'
    assert T.parse_toml(text) == tomllib.loads(text)
    with pytest.raises(ValueError, match='^line 3: duplicate key enable_criu'):
        T.parse_toml('[plugins]\ncri.enable_criu = true\ncri.enable_criu = false\n')
