# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report: the answers no other test held, found by mutating _fleet and _fleet_html.

The hosts' facts are this host's real criu_facts (every probe run here, and criu
4.1.1's real output described), changed where a test needs another host."""

import copy
import csv
import io
import json
import html
import re
from html.parser import HTMLParser

import pytest

import conftest
from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.plugin_utils import _fleet
from ansible_collections.criu.check.plugins.plugin_utils._fleet_html import render_html


@pytest.fixture(scope='module')
def here():
    facts = _check.run(_check.by_categories([_check.ALL]), timeout=10)
    facts['criu'] = conftest.installed_criu_facts('criu41_root_check', '4.1.1', facts)
    return facts


def host(here, **changes):
    """A copy of this host's facts with ``changes`` (dotted keys: 'probes.ns_last_pid.status')."""
    facts = copy.deepcopy(here)
    for key, value in changes.items():
        where = facts
        parts = key.replace('__', '.').split('.')
        for part in parts[:-1]:
            where = where[part]
        where[parts[-1]] = value
    return facts


def supported(facts):
    return sorted(i for i, p in facts['probes'].items() if p['status'] == 'supported')


def rows(report):
    """The terminal table's cells, by host (HEADER's columns)."""
    return dict((row[0], row) for row in _fleet.table_rows(report))


def test_the_changed_column_says_what_changed_and_dash_for_nothing(here):
    """CHANGED: '-' when a second run finds the host as it was, the gained features' count when it gained some."""
    same = _fleet.host_entry('same', here, previous=_fleet.snapshot(here, 't0'))
    earlier = _fleet.snapshot(here, 't0')
    earlier['supported'] = supported(here)[1:]
    gained = _fleet.host_entry('gained', here, previous=earlier)
    table = rows(_fleet.build([same, gained], 't1', []))
    assert _fleet.render_table(_fleet.build([same], 't1', [])).splitlines()[1].split() == ' '.join(_fleet.HEADER).split()
    assert table['same'][9] == '-'
    assert table['gained'][9] == 'gained 1'
    assert gained['drift']['gained'] == supported(here)[:1]


def test_hosts_are_listed_by_outcome_then_numbered_as_a_person_numbers_them(here):
    names = ['web10', 'web2', 'db1', 'web1', 'web01', 'web2b', 'web']
    earlier = _fleet.snapshot(here, 't0')
    earlier['supported'] = supported(here)[1:]
    entries = [_fleet.host_entry(name, here, previous=earlier if name in ('web10', 'web2', 'db1') else None)
               for name in names]
    entries.append(_fleet.host_entry('down3', None, probe={'unreachable': True, 'msg': 'no route'}))
    entries.append(_fleet.host_entry('down20', None, probe={'unreachable': True, 'msg': 'no route'}))
    report = _fleet.build(entries, 't1', [])
    order = ['db1', 'web', 'web01', 'web1', 'web2', 'web2b', 'web10', 'down3', 'down20']
    assert [e['host'] for e in report['hosts']] == order
    assert [row[0] for row in _fleet.table_rows(report)] == order
    # nothing is known of a host without an answer: not '-', which says "nothing missing" or "nothing changed"
    assert _fleet.table_rows(report)[-1][1:] == ('?', '?', '?', 'unreachable', '?', '?', '?', '?', '?')
    assert report['changed'] == ['db1', 'web2', 'web10']
    assert [row['host'] for row in csv.DictReader(io.StringIO(_fleet.render_csv(report)))] == order


def test_no_migration_matrix_for_one_host(here):
    report = _fleet.build([_fleet.host_entry('here', here)], 't', [], migration_hosts=['here'])
    assert report['migration']['hosts'] == ['here']
    assert 'Migration between' not in _fleet.render_table(report)
    assert 'id="migration"' not in render_html(report)


def _search(page, name):
    """The words the page's filter box matches a host's row with (its data-search)."""
    return re.search(r'<tr data-host="%s" data-outcome="[^"]*" data-search="([^"]*)"' % re.escape(name), page).group(1).split()


def test_the_filter_box_finds_a_host_by_what_it_lacks_and_what_changed(here):
    """criu-report.html's filter: missing:ID, unknown:ID, verdict:V, criu:VERSION, changed, the kernel."""
    lacking = host(here, **{'probes.ns_last_pid.status': 'unsupported'})
    lacking['missing']['required'] = ['ns_last_pid'] + here['missing']['required']
    lacking['unknown'] = ['sock_diag']
    lacking['verdict'], lacking['ready'] = 'bad', False
    entry = _fleet.host_entry('web-1', lacking, previous=_fleet.snapshot(here, 't0'))
    words = _search(render_html(_fleet.build([entry], 't1', [])), 'web-1')
    for word in ('web-1', 'not_ready', 'outcome:not_ready', 'verdict:bad', here['kernel']['release'].lower(),
                 'missing:ns_last_pid', 'unknown:sock_diag', 'criu:4.1.1', 'changed'):
        assert word in words, word
    for extra in here['missing']['extra']:
        assert 'missing:' + extra in words


def test_the_page_counts_hosts_with_every_probe_of_a_category_met(here):
    """The matrix head: "(N/M hosts complete)" per category, over the hosts that answered."""
    complete = host(here)
    for probe in complete['probes'].values():
        if probe['category'] == 'required':
            probe['status'] = 'supported'
    lacking = host(complete, **{'probes.ns_last_pid.status': 'unsupported'})
    entries = [_fleet.host_entry('a', complete), _fleet.host_entry('b', lacking), _fleet.host_entry('c', complete),
               _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'ssh: connection refused'})]
    page = render_html(_fleet.build(entries, 't', []))
    head = re.search(r'<th class="cat" [^>]*data-category="required" data-complete="(\d+)"[^>]*>required '
                     r'<small>\((\d+)/(\d+) hosts complete\)</small>', page)
    assert head.groups() == ('2', '2', '3')
    assert entries[1]['counts']['required']['supported'] == entries[0]['counts']['required']['total'] - 1


def test_criu_reported_absent_is_not_usable(here):
    """criu_facts.criu that says not installed and nothing of usable (an older module): not usable, and criu_usable
    "none" in the CSV, the table's word for a host without criu."""
    entry = _fleet.host_entry('h', host(here, criu={'installed': False}))
    assert entry['criu']['usable'] is False
    row = list(csv.DictReader(io.StringIO(_fleet.render_csv(_fleet.build([entry], 't', [])))))[0]
    assert row['criu_usable'] == 'none'


def test_facts_that_do_not_say_which_criu_or_runtimes_are_installed_say_unknown_not_none(here):
    """Facts without a criu or runtimes section (an older release; facts gathered without the installed criu's
    check) once read as "none installed": CRIU USABLE and RUNTIMES READY said none, the CSV none, the JSON "criu is
    not installed", and a criu seen in the previous run showed as removed (criu 4.1.1>none). Not known is '?'."""
    earlier = _fleet.snapshot(host(here, criu={'installed': True, 'version': '4.1.1', 'usable': True}, runtimes={}), 't0')
    silent = host(here)
    del silent['criu'], silent['runtimes']
    gathered_without = host(here, criu=None)
    del gathered_without['runtimes']
    none = host(here, criu={'installed': False, 'usable': False, 'reason': 'criu is not installed'}, runtimes={})
    entries = [_fleet.host_entry('silent', silent, previous=earlier), _fleet.host_entry('without', gathered_without),
               _fleet.host_entry('none', none, previous=earlier)]
    report = _fleet.build(entries, 't1', [])
    table = rows(report)
    assert [table[h][2:4] for h in ('silent', 'without', 'none')] == [('?', '?'), ('?', '?'), ('none', 'none')]
    assert dict((r['host'], r['criu_usable']) for r in csv.DictReader(io.StringIO(_fleet.render_csv(report)))) == {
        'silent': '?', 'without': '?', 'none': 'none'}
    doc = json.loads(_fleet.render_json(report))['hosts']
    assert doc['silent']['criu']['installed'] is None and doc['silent']['criu']['reason'] is None
    assert doc['silent']['runtimes'] is None and doc['none']['runtimes'] == {}
    # Not seen is not removed; a criu really gone is a change.
    assert table['silent'][9] == '-' and report['changed'] == ['none'] and table['none'][9] == 'criu 4.1.1>none'
    assert [c['hosts'] for c in report['causes'] if c['kind'] == 'criu'] == [['none']]
    assert '<td title="not reported by these facts">?</td>' in render_html(report)


def test_a_long_missing_list_is_cut_with_how_many_more(here):
    """MISSING REQUIRED keeps the table narrow: the first ids that fit, then +N for the rest."""
    required = sorted(i for i, p in here['probes'].items() if p['category'] == 'required')[:8]
    lacking = host(here)
    lacking['missing']['required'] = required
    cell = rows(_fleet.build([_fleet.host_entry('h', lacking)], 't', []))['h'][6]
    shown, more = cell.rsplit(',+', 1)
    assert len(cell) <= 34 and shown.split(',') == required[:len(shown.split(','))]
    assert int(more) == len(required) - len(shown.split(','))


class _Nesting(HTMLParser):
    """Whether every element the page opens is closed, in order."""
    VOID = {'meta', 'input', 'br', 'img', 'link', 'hr', 'col', 'wbr'}

    def __init__(self):
        HTMLParser.__init__(self)
        self.open, self.errors = [], []

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open.pop() != tag:
            self.errors.append(tag)


def test_the_page_s_header_counts_and_structure(here):
    """The header: one count per outcome and the changed hosts, the filter box, the legend; every element closed."""
    entries = [_fleet.host_entry('a', here, previous=dict(_fleet.snapshot(here, 't0'), kernel='6.1.0')),
               _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'ssh: connection refused'})]
    report = _fleet.build(entries, 't1', ['inventory.yml'], migration_hosts=['a', 'gone'])
    page = render_html(report)
    assert 'id="migration"' in page and '<tr><th>a</th><td>-</td><td class="mig" data-cell="no facts"' in page
    for outcome, count in report['counts'].items():
        assert re.search(r'id="count-%s" data-outcome="%s" data-count="%d">[^<]*: %d<' % (outcome, outcome, count, count), page)
    assert 'id="count-changed" data-count="1">changed since last run: 1<' in page
    assert '<input id="filter" type="search"' in page and '2 of 2 hosts shown' in page
    assert '<td title="%s">kernel 6.1.0&gt;' % html.escape(json.dumps(entries[0]['drift'], sort_keys=True)) in page
    fixed = len(re.findall(r'<th class="f" rowspan="2">', page))
    assert '<tfoot><tr><th>hosts with the probe met</th><td colspan="%d"></td>' % (fixed - 1) in page
    nesting = _Nesting()
    nesting.feed(page)
    assert nesting.errors == [] and nesting.open == []


def test_the_matrix_columns_line_up(here):
    """Every probe a column under its category, the fixed columns first, and a cell per probe in each host's row."""
    report = _fleet.build([_fleet.host_entry('a', here), _fleet.host_entry('b', here),
                           _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'refused'})], 't', [])
    page = render_html(report)
    head = page[page.index('id="matrix"'):page.index('</thead>')]
    titles = re.findall(r'<th class="f" rowspan="2">([^<]*)</th>', head)
    assert titles[:2] == ['host', 'outcome'] and titles[-1] == 'changed'
    # the probes in a second header row, under the first one's fixed columns and categories
    first, second = head.split('</tr><tr class="r2">')
    assert re.findall(r'<th class="p(?: cs)?" title="([^"]*)">', second) == [p['id'] for p in report['probes']]
    assert '<th class="p' not in first and 'class="cat"' not in second
    for name in ('a', 'b'):
        row = page[page.index('<tr data-host="%s"' % name):]
        row = row[:row.index('</tr>')]
        # the host's own cells, one under each fixed heading, then one per probe
        assert len(re.findall(r'<t[hd][ >]', row[:row.index(' data-p=')])) - 1 == len(titles)
        assert [int(n) for n in re.findall(r' data-p="(\d+)"', row)] == list(range(len(report['probes'])))
    # a host without facts: its reason across the fixed columns after its name and outcome, then empty cells
    row = page[page.index('<tr data-host="gone"'):]
    row = row[:row.index('</tr>')]
    assert '<td colspan="%d" class="why">refused</td>' % (len(titles) - 2) in row
    assert [int(n) for n in re.findall(r' data-p="(\d+)"', row)] == list(range(len(report['probes'])))


def test_the_table_lists_what_changed_per_host(here):
    earlier = _fleet.snapshot(here, 't0')
    earlier['kernel'] = '6.1.0'
    earlier['supported'] = earlier['supported'][1:] + ['gone_probe']
    entry = _fleet.host_entry('a', here, previous=earlier)
    text = _fleet.render_table(_fleet.build([entry], 't1', [])).splitlines()
    start = text.index('Changed since the previous run:')
    assert text[start - 1] == ''
    assert text[start + 1] == '  a: kernel 6.1.0>%s, lost 1, gained 1; lost: gone_probe; gained: %s' % (
        here['kernel']['release'], supported(here)[0])


def test_the_table_ends_with_the_report_files(here):
    report = _fleet.build([_fleet.host_entry('a', here)], 't', [])
    text = _fleet.render_table(report, files=['/tmp/r/criu-report.json', '/tmp/r/criu-report.html'])
    assert text.endswith('\n\nReport files: /tmp/r/criu-report.json, /tmp/r/criu-report.html')
    assert 'Report files' not in _fleet.render_table(report)


def test_the_page_s_foot_counts_each_probe_over_the_hosts_that_answered(here):
    lacking = host(here, **{'probes.ns_last_pid.status': 'unsupported'})
    entries = [_fleet.host_entry('a', here), _fleet.host_entry('b', lacking),
               _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'ssh: connection refused'})]
    page = render_html(_fleet.build(entries, 't', []))
    foot = dict((p, (int(m), text)) for p, m, text in re.findall(
        r'<td class="n(?: cs)?" data-probe="([^"]*)" data-met="(\d+)" title="[^"]*: (\d+ of \d+ hosts)">', page))
    assert here['probes']['ns_last_pid']['status'] == 'supported', 'this host is assumed to have ns_last_pid'
    assert foot['ns_last_pid'] == (1, '1 of 2 hosts')
    assert sorted(foot) == sorted(here['probes'])


def page_block(page):
    """The cells' details the page carries (its JSON block)."""
    return json.loads(re.search(r'<script type="application/json" id="cells">(.*?)</script>', page).group(1))


def test_the_page_carries_each_cell_s_details_and_its_script(here):
    """A cell's status, message and fix travel in the JSON block (strings once, cells as indexes), read by the
    page's script into the detail panel."""
    here = host(here)
    here['probes'][sorted(here['probes'])[0]]['evidence'] = {}
    report = _fleet.build([_fleet.host_entry('a', here)], 't', [])
    page = render_html(report)
    block = page_block(page)
    for n, probe in enumerate(report['probes']):
        status, message, evidence, fix = (block['strings'][i] for i in block['cells']['a'][n])
        result = here['probes'][probe['id']]
        assert (status, message, fix) == (result['status'], result['message'] or '', result['fix'] or '')
        # evidence as JSON, none as nothing (not "{}")
        assert evidence == (json.dumps(result['evidence'], sort_keys=True, default=str) if result['evidence'] else '')
    assert '<div id="detail" hidden></div>' in page
    # a probe one host did not run (an older module) has no details there, the other host's stay whole
    older = host(here)
    gone_id = report['probes'][0]['id']
    del older['probes'][gone_id]
    both = page_block(render_html(_fleet.build([_fleet.host_entry('a', here), _fleet.host_entry('old', older)], 't', [])))
    assert both['cells']['old'][0] is None and both['cells']['old'][1] == both['cells']['a'][1]
    assert both['strings'][both['cells']['a'][0][0]] == here['probes'][gone_id]['status']
    assert re.search(r"<script>\s*\(function\(\)\{\s*var data=JSON.parse\(document.getElementById\('cells'\)", page)
    assert page.endswith('</script>\n</body></html>\n')


def test_a_category_no_host_ran_has_no_column(here):
    """Facts of a run limited to the required probes: no empty extra or experimental heading."""
    required = host(here)
    required['probes'] = dict((i, p) for i, p in here['probes'].items() if p['category'] == 'required')
    page = render_html(_fleet.build([_fleet.host_entry('a', required)], 't', []))
    assert re.findall(r'data-category="([^"]*)"', page) == ['required']


def test_a_cause_takes_its_worst_severity_and_a_fix_any_host_gave(here):
    """ns_last_pid undecided on one host (no message, no fix) and missing on another: one cause, required,
    with the fix the second host's result gives, whichever host comes first."""
    undecided = host(here, **{'probes.ns_last_pid.status': 'unknown', 'probes.ns_last_pid.message': None,
                              'probes.ns_last_pid.fix': None})
    undecided['unknown'] = ['ns_last_pid']
    missing = host(here, **{'probes.ns_last_pid.status': 'unsupported', 'probes.ns_last_pid.fix': 'echo 1 > x'})
    missing['missing']['required'] = ['ns_last_pid']
    cause, = [c for c in _fleet.causes([_fleet.host_entry('u', undecided), _fleet.host_entry('m', missing)])
              if c['kind'] == 'probe' and c['name'] == 'ns_last_pid']
    assert (cause['severity'], cause['fix'], cause['hosts']) == ('required', 'echo 1 > x', ['u', 'm'])


def test_no_heading_for_a_group_of_causes_the_fleet_does_not_have(here):
    only = host(here)
    only['missing'] = {'required': [], 'extra': [], 'experimental': []}
    only['unknown'], only['runtimes'] = [], {}
    entries = [_fleet.host_entry('a', only), _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'refused'})]
    report = _fleet.build(entries, 't', [])
    assert [c['severity'] for c in report['causes']] == ['unreachable'], report['causes']
    page = render_html(report)
    assert page.count('<details class="causes"') == 1 and 'Missing extra and experimental' not in page


def test_the_table_groups_hosts_under_their_outcome(here):
    lacking = host(here, ready=False, verdict='bad')
    ready = host(here, ready=True, verdict='good')
    entries = [_fleet.host_entry('b', lacking), _fleet.host_entry('a', ready), _fleet.host_entry('c', lacking),
               _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'refused'})]
    text = _fleet.render_table(_fleet.build(entries, 't', [])).splitlines()
    groups = [line for line in text if line.startswith('-- ')]
    assert groups == ['-- ready (1)', '-- not ready (2)', '-- unreachable (1)']
    assert text[text.index('-- not ready (2)') + 1].startswith('b ')


def test_a_criu_whose_use_was_not_determined_is_neither_yes_nor_no(here):
    """criu installed, usable not determined (null): '?' in the table and the CSV, not 'no'."""
    entry = _fleet.host_entry('h', host(here, criu={'installed': True, 'version': '4.1.1', 'usable': None}))
    report = _fleet.build([entry], 't', [])
    assert rows(report)['h'][2] == '? 4.1.1'
    assert list(csv.DictReader(io.StringIO(_fleet.render_csv(report))))[0]['criu_usable'] == '?'
    unknown_version = _fleet.host_entry('h', host(here, criu={'installed': True, 'version': None, 'usable': True}))
    assert rows(_fleet.build([unknown_version], 't', []))['h'][2] == 'yes ?'


@pytest.mark.parametrize('probe', [
    {'failed': True, 'msg': 'The module failed to execute correctly, you probably need to set the interpreter.'},
    {'failed': True, 'msg': 'MODULE FAILURE\nSee stdout/stderr for the exact error',
     'module_stderr': '/bin/sh: /usr/bin/python3: No such file or directory\n'},
])
def test_either_sign_of_a_host_without_python_gets_the_python_fix(probe):
    assert _fleet.host_entry('bare', None, probe)['fix'] == _fleet.NO_PYTHON_FIX


@pytest.mark.parametrize('msg, stderr, reason', [
    # ansible-core 2.19+ and before: no result, the module's last line of standard error says why
    ('Module result deserialization failed: No start of json char found',
     '/bin/sh: 1: /root/venv/bin/python: Permission denied\n', '/bin/sh: 1: /root/venv/bin/python: Permission denied'),
    ('MODULE FAILURE\nSee stdout/stderr for the exact error',
     'Traceback (most recent call last):\n  File "x", line 1\nMemoryError: out of memory\n\n', 'MemoryError: out of memory'),
    ('The module failed to execute correctly, you probably need to set the interpreter.\nSee stdout/stderr',
     '/bin/sh: 1: /usr/bin/python3: not found\n', '/bin/sh: 1: /usr/bin/python3: not found'),
    # Ansible's message is the reason when it says more, or when there is no standard error
    ('Unsupported parameters for (criu_facts) module: x', 'a warning\n', 'Unsupported parameters for (criu_facts) module: x'),
    ('MODULE FAILURE\nSee stdout/stderr for the exact error', '', 'MODULE FAILURE'),
    ('', 'only this\n', 'only this'),
])
def test_a_failed_probe_task_s_reason_is_the_module_s_own_when_ansible_only_says_it_gave_none(msg, stderr, reason):
    entry = _fleet.host_entry('h', None, {'failed': True, 'msg': msg, 'module_stderr': stderr})
    assert entry['reason'] == reason


def test_an_interpreter_the_user_may_not_run_gets_the_interpreter_fix():
    entry = _fleet.host_entry('h', None, {'failed': True, 'msg': 'Module result deserialization failed: x',
                                          'module_stderr': '/bin/sh: 1: /root/.venv/bin/python3.13: Permission denied'})
    assert entry['fix'] == _fleet.INTERPRETER_DENIED_FIX
    other = _fleet.host_entry('h', None, {'failed': True, 'msg': 'MODULE FAILURE',
                                          'module_stderr': "PermissionError: [Errno 13] Permission denied: '/x'"})
    assert other['fix'] == _fleet.FAILED_FIX


@pytest.mark.parametrize('plugin, fix', [
    ('containers.podman.podman', 'install the collection containers.podman on the controller (ansible-galaxy '
                                 'collection install containers.podman), or correct the host\'s ansible_connection'),
    ('podmn', 'correct the host\'s ansible_connection: the controller has no connection plugin podmn (ansible-doc -t '
              'connection -l lists those it has)')])
def test_a_connection_plugin_the_controller_lacks_gets_its_fix(plugin, fix):
    msg = "Task failed: the connection plugin '%s' was not found" % plugin
    entry = _fleet.host_entry('h', None, {'failed': True, 'msg': msg})
    assert (entry['outcome'], entry['reason'], entry['fix']) == ('failed', msg, fix)


def test_a_failed_probe_task_is_no_answer_whatever_facts_the_host_has(here):
    """The probe task failed: facts from the fact cache (an earlier run) are not this run's answer."""
    entry = _fleet.host_entry('h', here, {'failed': True, 'msg': 'Timeout (12s) waiting for privilege escalation prompt'})
    assert (entry['outcome'], entry['facts'], entry['reason']) == (
        'failed', None, 'Timeout (12s) waiting for privilege escalation prompt')
    assert _fleet.host_entry('h', None)['reason'] == 'the probe task did not run on this host'
    assert _fleet.host_entry('h', 'ready')['reason'] == 'its criu_facts is a str, not a dictionary'


def test_facts_without_a_verdict_say_unknown(here):
    facts = host(here)
    del facts['verdict']
    assert rows(_fleet.build([_fleet.host_entry('h', facts)], 't', []))['h'][4] == 'unknown'


def test_what_the_filter_box_does_not_find(here):
    """A host without criu has no criu: word, one that did not change no 'changed'; no runtimes reads 'none installed'."""
    facts = host(here, criu={'installed': False}, runtimes={})
    entry = _fleet.host_entry('h', facts, previous=_fleet.snapshot(facts, 't0'))
    page = render_html(_fleet.build([entry], 't1', []))
    words = _search(page, 'h')
    assert not any(w.startswith('criu:') for w in words) and 'changed' not in words
    assert '<td title="none installed">none</td>' in page


def test_the_table_s_sections_appear_when_they_have_something_to_say(here):
    quiet = host(here, runtimes={})
    quiet['missing'] = {'required': [], 'extra': [], 'experimental': []}
    quiet['unknown'] = []
    text = _fleet.render_table(_fleet.build([_fleet.host_entry('a', quiet, previous=_fleet.snapshot(quiet, 't0'))], 't', []))
    assert 'What is missing' not in text and 'Changed since' not in text
    gone = _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'refused'})
    lines = _fleet.render_table(_fleet.build([_fleet.host_entry('a', quiet), gone], 't', [])).splitlines()
    start = lines.index('What is missing, by cause (fix first, then the hosts):')
    assert lines[start - 1] == '' and lines[start + 1] == '  [unreachable] refused'


def test_only_a_host_that_changed_joins_criu_changed(here):
    same = _fleet.host_entry('same', here, previous=_fleet.snapshot(here, 't0'))
    assert same['drift'] is not None and 'criu_changed' not in _fleet.groups_for(same)


@pytest.mark.parametrize('ids, cell', [
    (['ns_last_pid_0123456', 'seccomp_filter'], 'ns_last_pid_0123456,seccomp_filter'),      # 34 characters: whole
    (['ns_last_pid_01234567', 'seccomp_filter'], 'ns_last_pid_01234567,+1'),                # 35: cut
])
def test_the_missing_list_fits_34_characters(here, ids, cell):
    facts = host(here)
    facts['missing']['required'] = ids
    assert rows(_fleet.build([_fleet.host_entry('h', facts)], 't', []))['h'][6] == cell


def test_a_host_is_not_its_own_migration_pair(here):
    entries = [_fleet.host_entry('a', here), _fleet.host_entry('b', here)]
    report = _fleet.build(entries, 't', [], migration_hosts=['a', 'b'])
    assert sorted(report['migration']['pairs']['a']) == ['b'] and sorted(report['migration']['pairs']['b']) == ['a']
    lines = _fleet.render_table(report).splitlines()
    start = [n for n, line in enumerate(lines) if line.startswith('Migration between these hosts')][0]
    assert lines[start - 1] == ''


def test_the_page_marks_missing_optional_features_and_folds_their_causes(here):
    """An unsupported extra probe is marked apart from a missing required one; the causes that stop
    checkpointing are open, the extra and experimental ones folded."""
    facts = host(here, **{'probes.ns_last_pid.status': 'unsupported', 'probes.mem_dirty_track.status': 'unsupported'})
    facts['missing']['required'] = ['ns_last_pid']
    facts['missing']['extra'] = ['mem_dirty_track']
    page = render_html(_fleet.build([_fleet.host_entry('a', facts)], 't', []))
    cells = re.findall(r'<td class="c ([^"]*)" data-p="(\d+)" data-s="unsupported">', page)
    probes = [p['id'] for p in _fleet.build([_fleet.host_entry('a', facts)], 't', [])['probes']]
    by_probe = dict((probes[int(n)], cls.replace(' cs', '')) for cls, n in cells)
    assert by_probe['mem_dirty_track'].endswith(' x') and not by_probe['ns_last_pid'].endswith(' x')
    extra_met = [i for i, p in facts['probes'].items() if p['category'] == 'extra' and p['status'] == 'supported'][0]
    n = probes.index(extra_met)
    assert re.search(r'<td class="c sS(?: cs)?" data-p="%d" data-s="supported">' % n, page)
    assert '<details class="causes" open><summary><h2>What stops or clouds checkpointing, by cause' in page
    assert '<details class="causes"><summary><h2>Missing extra and experimental features, by cause' in page


def test_a_host_s_name_cannot_leave_its_attribute(here):
    name = 'web"1\' onmouseover="x'
    page = render_html(_fleet.build([_fleet.host_entry(name, here)], 't', []))
    assert 'data-host="web&quot;1&#x27; onmouseover=&quot;x"' in page


def test_a_cause_names_four_hosts_then_how_many_more(here):
    entries = [_fleet.host_entry('h%d' % n, None, {'unreachable': True, 'msg': 'refused'}) for n in range(1, 7)]
    text = _fleet.render_table(_fleet.build(entries[:5], 't', [])).splitlines()
    assert text[0] == 'CRIU fleet report: 5 hosts (5 unreachable) at t'
    assert '      5 hosts: h1, h2, h3, h4 +1 more' in text
    text = _fleet.render_table(_fleet.build(entries[:1], 't', [])).splitlines()
    assert text[0] == 'CRIU fleet report: 1 host (1 unreachable) at t' and '      1 host: h1' in text
    text = _fleet.render_table(_fleet.build(entries[:4], 't', [])).splitlines()
    assert '      4 hosts: h1, h2, h3, h4' in text


def test_the_page_names_its_run_and_inventory(here):
    entries = [_fleet.host_entry('a', here)]
    page = render_html(_fleet.build(entries, '2026-12-05T12:00:00Z', ['prod.yml', 'lab.yml']))
    assert '<time id="generated">2026-12-05T12:00:00Z</time>' in page and '<code id="inventory">prod.yml, lab.yml</code>' in page
    assert '<code id="inventory">-</code>' in render_html(_fleet.build(entries, 't', None))


def test_a_library_cause_lists_its_probes(here):
    facts = host(here)
    for probe_id in ('sock_diag', 'net_diag_raw'):
        facts['probes'][probe_id].update(status='unknown', message='Python library pyroute2 is not available',
                                         evidence={'library': 'pyroute2'}, fix='install python3-pyroute2')
    facts['unknown'] = ['sock_diag', 'net_diag_raw']
    text = _fleet.render_table(_fleet.build([_fleet.host_entry('h', facts)], 't', [])).splitlines()
    assert '  [undecided] Python library pyroute2 is not available on the host (2 probes: sock_diag,net_diag_raw)' in text
    page = render_html(_fleet.build([_fleet.host_entry('h', facts)], 't', []))
    assert 'Python library pyroute2 is not available on the host <small>(sock_diag, net_diag_raw)</small>' in page


def test_an_unusable_criu_s_reason_is_the_cause(here):
    criu = conftest.installed_criu_facts('criu317_root_check', '3.17.1', here)
    entry = _fleet.host_entry('h', host(here, criu=criu))
    assert entry['criu']['reason'] == criu['reason'] and 'vDSO' in criu['reason']
    cause, = [c for c in _fleet.causes([entry]) if c['kind'] == 'criu']
    assert cause['title'] == 'installed criu 3.17.1 is not usable: ' + criu['reason']
    assert cause['fix'] == criu['fix']
