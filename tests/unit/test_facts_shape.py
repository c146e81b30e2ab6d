# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_facts_shape: what the controller's readers of criu_facts (the fleet report, the criu_unmet and
criu_migration filters) take as the facts' shape. Real facts of every context fit it: the fleet test
(tests/fleet/test_fleet_report.py) checks each host of the podman fleet, tests/fleet/test_fleet_logic.py
this host's."""

import return_doc
from ansible_collections.criu.check.plugins.module_utils import _facts_shape as S


def test_what_does_not_fit_is_dropped_and_named_with_the_type_expected():
    """None is a value a dictionary may hold (not known, not gathered); an element of a list may not be None."""
    read, dropped = S.conform({'probes': {'a': {'status': 3, 'evidence': None, 'x': [1]}, 'b': 'text'},
                               'unknown': ['x', None, 2], 'ready': 1, 'kernel': {'release': None},
                               'environment': {'page_size': True, 'arch': 'x86_64'}, 'other': {'kept': 1}},
                              S.FACTS_SHAPE, 'facts')
    assert read == {'probes': {'a': {'evidence': None, 'x': [1]}}, 'unknown': ['x'], 'kernel': {'release': None},
                    'environment': {'arch': 'x86_64'}, 'other': {'kept': 1}}
    assert dropped == ['facts.probes.a.status: int, expected str', 'facts.probes.b: str, expected dict', 'facts.unknown[1]: NoneType, expected str',
                       'facts.unknown[2]: int, expected str', 'facts.ready: int, expected bool',
                       'facts.environment.page_size: bool, expected int']


def test_a_value_that_is_not_a_dictionary_is_dropped_whole():
    assert S.conform(['a'], S.FACTS_SHAPE, 'facts') == (None, ['facts: list, expected dict'])
    assert S.conform({'version': 1, 'supported': 'tcp'}, S.SNAPSHOT_SHAPE, 'previous') == (
        {'version': 1}, ['previous.supported: str, expected list'])


def test_the_message_shows_the_first_five():
    dropped = ['p%d: int, expected str' % i for i in range(7)]
    message = S.malformed_message('the input', dropped)
    assert message.startswith('the input holds values of an unexpected type (p0: int, expected str; ')
    assert 'p4: int, expected str; and 2 more): pass the criu_facts' in message and 'p5' not in message


def _documented(shape, doc, path):
    """Where ``shape`` and criu_facts' RETURN (``doc``: the entries at ``path``) disagree on a key or its type."""
    for key, item in shape.items():
        if key == '*':
            yield from _documented(item, doc, path + '.*')
            continue
        entry = doc.get(key)
        if entry is None:
            yield '%s.%s: not documented' % (path, key)
            continue
        if isinstance(item, dict):
            if entry.get('type') != 'dict':
                yield '%s.%s: dict, documented %s' % (path, key, entry.get('type'))
            yield from _documented(item, entry.get('contains') or {}, '%s.%s' % (path, key))
        elif isinstance(item, list):
            if (entry.get('type'), entry.get('elements')) != ('list', item[0].__name__):
                yield '%s.%s: list of %s, documented %s of %s' % (
                    path, key, item[0].__name__, entry.get('type'), entry.get('elements'))
        elif entry.get('type') != item.__name__:
            yield '%s.%s: %s, documented %s' % (path, key, item.__name__, entry.get('type'))


def test_the_shape_is_what_criu_facts_documents():
    """The shape repeats only types that criu_facts' RETURN (the facts contract) already states; this keeps the
    two together."""
    doc = return_doc.return_doc('criu_facts')['ansible_facts']['contains']['criu_facts']['contains']
    # The evidence's keys are each probe's own, described in prose: only its type is checked.
    shape = dict(S.FACTS_SHAPE, probes={'*': dict(S.FACTS_SHAPE['probes']['*'], evidence={})})
    assert list(_documented(shape, doc, 'criu_facts')) == []
    wrong = dict(shape, environment=dict(shape['environment'], page_size=str), kernel={'name': str})
    assert list(_documented(wrong, doc, 'criu_facts')) == [
        'criu_facts.kernel.name: not documented', 'criu_facts.environment.page_size: str, documented int']
