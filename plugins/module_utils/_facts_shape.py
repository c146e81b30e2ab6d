# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PRIVATE to the criu.check collection: the shape of a host's criu_facts as the controller reads them.

A host writes its own facts: those of an older or newer criu_facts, a task of another collection
that sets the same name, a broken or hostile host.  What reads them on the controller (the fleet
report, the criu_unmet and criu_migration filters) checks them against this shape first, so that
a value of an unexpected type (a list where a text belongs, a number for a status) is named, not
a Python error: the report reads it as absent and lists it, the filters refuse it with its path.
Keys the shape does not name are kept as they are: nothing reads them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.criu.check.plugins.module_utils import _result

# A shape is a type, a list of one shape (every element must fit) or a dictionary of shapes by key,
# where '*' is the shape of every key not named (maps keyed by probe ids or runtime names); without
# '*', other keys are kept as they are.  A value in a dictionary may also be None (not known, or not
# gathered: criu is null without the installed criu's check); an element of a list may not.
TEXT_LIST = [str]

FACTS_SHAPE = {
    'ready': bool,
    'usable': bool,
    'verdict': str,
    'summary': str,
    'unknown': TEXT_LIST,
    'kernel': {'release': str, 'arch': str},
    'missing': {'required': TEXT_LIST, 'extra': TEXT_LIST, 'experimental': TEXT_LIST},
    'environment': {'criu_can_start': bool, 'criu_start_blockers': TEXT_LIST, 'arch': str, 'page_size': int,
                    'cgroup': str},
    'criu': {'installed': bool, 'path': str, 'version': str, 'usable': bool, 'reason': str, 'fix': str,
             'cannot_dump': [{'id': str, 'what': str, 'why': str, 'reason': str, 'fix': str, 'ref': str}]},
    'runtimes': {'*': {'version': str, 'checkpoint': str, 'reasons': TEXT_LIST, 'fix': str}},
    'probes': {'*': {'category': str, 'status': str, 'message': str, 'fix': str,
                     'evidence': {'library': str, _result.KERNDAT_FLAG: bool}}},
}

# What a fleet report keeps for the next run's comparison (criu_fleet_last), read back from the fact cache.
SNAPSHOT_SHAPE = {'version': int, 'time': str, 'kernel': str, 'criu': str, 'criu_usable': bool, 'runtimes': {'*': str},
                  'verdict': str, 'ready': bool, 'supported': TEXT_LIST}

_DROPPED = object()


def conform(value, shape, name):
    """(``value`` read as ``shape``, what did not fit and was dropped).

    Each dropped value is named by its path from ``name``, its type and the type expected:
    'facts.probes.fcntl.status: int, expected str'.  A dictionary that is not one is dropped
    whole: conform([], FACTS_SHAPE, 'facts') is (None, ['facts: list, expected dict'])."""
    dropped = []
    value = _conform(value, shape, name, dropped)
    return (None if value is _DROPPED else value), dropped


def _conform(value, shape, path, dropped):
    if isinstance(shape, dict):
        if not isinstance(value, Mapping):
            return _drop(path, value, dict, dropped)
        out = {}
        for key, item in value.items():
            item_shape = shape.get(key, shape.get('*'))
            if item_shape is None or item is None:
                out[key] = item   # not read, or not known or not gathered (criu: null without its check)
                continue
            item = _conform(item, item_shape, '%s.%s' % (path, key), dropped)
            if item is not _DROPPED:
                out[key] = item
        return out
    if isinstance(shape, list):
        if not isinstance(value, list):
            return _drop(path, value, list, dropped)
        items = (_conform(item, shape[0], '%s[%d]' % (path, index), dropped) for index, item in enumerate(value))
        return [item for item in items if item is not _DROPPED]
    # bool is an int to Python, but a page size of true is not a number.
    if isinstance(value, shape) and (shape is bool or not isinstance(value, bool)):
        return value
    return _drop(path, value, shape, dropped)


def _drop(path, value, expected, dropped):
    dropped.append('%s: %s, expected %s' % (path, type(value).__name__, expected.__name__))
    return _DROPPED


def malformed_message(what, dropped, most=5):
    """The error of a reader that refuses facts of another shape: ``what`` and the first values that
    did not fit, with what to do."""
    shown = '; '.join(dropped[:most]) + ('; and %d more' % (len(dropped) - most) if len(dropped) > most else '')
    return ('%s holds values of an unexpected type (%s): pass the criu_facts of a host as criu.check.criu_facts '
            'returns them, gathered again with this release of the collection' % (what, shown))
