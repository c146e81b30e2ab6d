# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_facts_shape: what the controller's readers of criu_facts (the fleet report, the criu_unmet and
criu_migration filters) take as the facts' shape. Real facts of every context fit it: the fleet test
(tests/fleet/test_fleet_report.py) checks each host of the podman fleet, tests/fleet/test_fleet_logic.py
this host's."""

import copy

import pytest

from ansible.errors import AnsibleFilterError

import conftest
import return_doc
from ansible_collections.criu.check.plugins.filter.criu_migration import criu_migration
from ansible_collections.criu.check.plugins.filter.criu_unmet import criu_unmet
from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _facts_shape as S
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result
from ansible_collections.criu.check.plugins.plugin_utils import _fleet
from ansible_collections.criu.check.plugins.plugin_utils._fleet_html import render_html


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
            element = type(item[0]).__name__ if isinstance(item[0], dict) else item[0].__name__
            if (entry.get('type'), entry.get('elements')) != ('list', element):
                yield '%s.%s: list of %s, documented %s of %s' % (
                    path, key, element, entry.get('type'), entry.get('elements'))
            if isinstance(item[0], dict):
                yield from _documented(item[0], entry.get('contains') or {}, '%s.%s[]' % (path, key))
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


def _paths(value, path=()):
    """Every key path of ``value``'s dictionaries, the deepest last."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield path + (key,)
            yield from _paths(item, path + (key,))


def _with(facts, path, value):
    facts = copy.deepcopy(facts)
    where = facts
    for key in path[:-1]:
        where = where[key]
    where[path[-1]] = value
    return facts


@pytest.fixture(scope='module')
def real_facts():
    """This host's facts (the required probes and two others, criu 4.1.1 described, the runtimes found here), with a
    library named and a kerndat failure flagged, as on a host that lacks them."""
    facts = _check.run(_check.by_features([p.id for p in REG.PROBES if p.category == REG.REQUIRED]
                                          + ['mem_dirty_track', 'uffd']), timeout=10)
    facts['criu'] = conftest.installed_criu_facts('criu41_root_check', '4.1.1', facts)
    facts['probes']['uffd']['evidence'].update({'library': 'pyroute2', _result.KERNDAT_FLAG: True})
    facts['runtimes'] = facts.get('runtimes') or {'podman': {'version': '5.4.2', 'checkpoint': 'not_ready',
                                                             'reasons': ['no criu'], 'fix': 'install criu'}}
    return facts


def test_every_reader_names_a_value_of_another_type_never_a_python_error(real_facts):
    """Each value of real facts replaced by one of another type: the fleet report lists it as malformed and still
    renders, the filters refuse it by its path.  What the shape leaves out is what no reader reads."""
    good = copy.deepcopy(real_facts)
    for path in _paths(real_facts):
        if path[0] == 'probes' and path[1:2] not in ((), ('ns_last_pid',), ('uffd',)):
            continue   # one shape for every probe: two of them stand for all
        value = real_facts
        for key in path:
            value = value[key]
        for other in ([], 7) if not isinstance(value, list) else ({'a': 1},):
            if isinstance(value, int) and other == 7 and not isinstance(value, bool):
                continue
            facts = _with(real_facts, path, other)
            where = 'facts.' + '.'.join(path)
            entry = _fleet.host_entry('h', facts)
            report = _fleet.build([entry, _fleet.host_entry('g', good)], 't', [], migration_hosts=['g', 'h'])
            for render in (_fleet.render_table, _fleet.render_json, _fleet.render_csv, render_html):
                render(report)
            named = [m for m in entry['malformed'] if m.startswith(where + ':') or m.startswith(where + '[')]
            for call in (lambda: criu_unmet(facts, features=['mem_dirty_track', 'uffd']),
                         lambda: criu_migration(facts, good), lambda: criu_migration(good, facts)):
                try:
                    call()
                except AnsibleFilterError:
                    continue
                assert not named, (where, other)
