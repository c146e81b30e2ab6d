# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A TOML reader for the runtimes' configuration files.

PRIVATE to the criu.check collection: not a public API.

containerd and CRI-O are configured in TOML; the managed node's Python may
be older than 3.11, which brought ``tomllib``.  This reads the subset those
files use (tables, dotted and quoted keys, strings, numbers, booleans,
arrays, inline tables) and raises ValueError naming the line otherwise.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re


def toml_get(doc, keys):
    for key in keys:
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _split_key(text, lineno):
    """``a."b.c".d`` -> ['a', 'b.c', 'd']."""
    parts, text = [], text.strip()
    while text:
        if text[0] in '"\'':
            end = text.find(text[0], 1)
            if end < 0:
                raise ValueError('line %d: unterminated quoted key' % lineno)
            parts.append(text[1:end])
            text = text[end + 1:].strip()
        else:
            match = re.match(r'[A-Za-z0-9_-]+', text)
            if not match:
                raise ValueError('line %d: invalid key %r' % (lineno, text))
            parts.append(match.group(0))
            text = text[match.end():].strip()
        if text:
            if text[0] != '.':
                raise ValueError('line %d: invalid key' % lineno)
            text = text[1:].strip()
    return parts


def _strip_comment(line):
    for i, char, dummy in _outside_quotes(line):
        if char == '#':
            return line[:i]
    return line


def _outside_quotes(text):
    """Each character outside quoted strings, with its index and the depth
    of [ and { around it (after it, for an opening or closing bracket)."""
    depth, quote, i = 0, None, 0
    while i < len(text):
        char = text[i]
        if quote:
            if char == '\\' and quote == '"':
                i += 1
            elif char == quote:
                quote = None
        elif char in '"\'':
            quote = char
        else:
            if char in '[{':
                depth += 1
            elif char in ']}':
                depth -= 1
            yield i, char, depth
        i += 1


def _key_value(text):
    """``key = value`` split at the first = outside quotes (a quoted key may
    hold one): (key, value), or None without one."""
    for i, char, dummy in _outside_quotes(text):
        if char == '=':
            return text[:i], text[i + 1:]
    return None


def _balanced(text):
    depth = 0
    for dummy, dummy, depth in _outside_quotes(text):
        pass
    return depth <= 0


def _split_items(text):
    items, start = [], 0
    for i, char, depth in _outside_quotes(text):
        if char == ',' and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [item.strip() for item in items if item.strip()]


_ESCAPES = {'n': '\n', 't': '\t', 'r': '\r', '"': '"', '\\': '\\', 'b': '\b', 'f': '\f'}


def _value(text, lineno):
    text = text.strip()
    if text.startswith('"'):
        if not text.endswith('"') or len(text) < 2:
            raise ValueError('line %d: unterminated string' % lineno)
        return re.sub(r'\\(u[0-9A-Fa-f]{4}|.)', lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == 'u'
                      else _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise ValueError('line %d: unterminated string' % lineno)
        return text[1:-1]
    if text in ('true', 'false'):
        return text == 'true'
    if text.startswith('['):
        return [_value(item, lineno) for item in _split_items(text[1:-1])]
    if text.startswith('{'):
        table = {}
        for item in _split_items(text[1:-1]):
            pair = _key_value(item)
            if not pair:
                raise ValueError('line %d: invalid inline table' % lineno)
            _put(table, _split_key(pair[0], lineno), _value(pair[1], lineno), lineno)
        return table
    if re.match(r'^[+-]?\d[\d_]*$', text):
        return int(text.replace('_', ''))
    # a float has digits before its fraction or exponent (TOML has no ".5" or "e5"; float() would take ".5")
    if re.match(r'^[+-]?\d[\d_]*(\.\d[\d_]*)?([eE][+-]?\d[\d_]*)?$', text):
        return float(text.replace('_', ''))
    raise ValueError('line %d: unsupported value %r' % (lineno, text))


def _put(table, keys, value, lineno):
    for key in keys[:-1]:
        table = table.setdefault(key, {})
        if not isinstance(table, dict):
            raise ValueError('line %d: %s is not a table' % (lineno, key))
    if keys[-1] in table:
        raise ValueError('line %d: duplicate key %s' % (lineno, keys[-1]))
    table[keys[-1]] = value


def _table(parent, key, lineno):
    """The table a header's ``key`` names in ``parent`` (made if absent): in
    an array of tables, its last one (``[[a.b]]`` or ``[a.b]`` after
    ``[[a]]``); ValueError if it is a value."""
    table = parent.setdefault(key, {})
    if isinstance(table, list) and table:
        table = table[-1]
    if not isinstance(table, dict):
        raise ValueError('line %d: %s is not a table' % (lineno, key))
    return table


def parse_toml(text):
    """The subset of TOML that containerd's, CRI-O's and containers' files use:
    tables, dotted and quoted keys, strings, booleans, numbers, arrays and
    inline tables (arrays may span lines).  Raises ValueError naming the line."""
    doc, current = {}, None
    current = doc
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        lineno = i + 1
        line = _strip_comment(lines[i]).strip()
        i += 1
        if not line:
            continue
        if line.startswith('[['):
            if not line.endswith(']]'):
                raise ValueError('line %d: invalid table header' % lineno)
            keys = _split_key(line[2:-2], lineno)
            parent = doc
            for key in keys[:-1]:
                parent = _table(parent, key, lineno)
            array = parent.setdefault(keys[-1], [])
            if not isinstance(array, list):
                raise ValueError('line %d: %s is not an array of tables' % (lineno, keys[-1]))
            current = {}
            array.append(current)
            continue
        if line.startswith('['):
            if not line.endswith(']'):
                raise ValueError('line %d: invalid table header' % lineno)
            current = doc
            for key in _split_key(line[1:-1], lineno):
                current = _table(current, key, lineno)
            continue
        pair = _key_value(line)
        if not pair:
            raise ValueError('line %d: expected key = value' % lineno)
        key, rest = pair[0], pair[1].strip()
        if rest.startswith(('"""', "'''")):
            delim = rest[:3]
            body = rest[3:]
            while delim not in body:
                if i >= len(lines):
                    raise ValueError('line %d: unterminated multi-line string' % lineno)
                body += '\n' + lines[i]
                i += 1
            value = body[:body.index(delim)]
            _put(current, _split_key(key, lineno), value[1:] if value.startswith('\n') else value, lineno)
            continue
        while rest.startswith(('[', '{')) and not _balanced(rest):
            if i >= len(lines):
                raise ValueError('line %d: unterminated array' % lineno)
            rest += ' ' + _strip_comment(lines[i]).strip()
            i += 1
        _put(current, _split_key(key, lineno), _value(rest, lineno), lineno)
    return doc
