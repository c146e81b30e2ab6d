# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/check.yml over a mixed fleet of real hosts: podman containers reached
with containers.podman.podman - privileged, every capability with a read-only
/proc/sys, podman's default (unprivileged), Debian 12 without the probes'
libraries - and one host that cannot be reached.

One fleet serves every test (module scope) and check.yml runs twice with a
jsonfile fact cache: between the runs one host is recreated unprivileged and
criu is removed from another, so the second run shows drift.  The terminal
table, criu-report.json, criu-report.csv and criu-report.html (in real headless
Chromium) are checked against the facts Ansible itself cached for each host.
"""

import csv
import html as html_lib
import io
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile

import pytest
from ansible.plugins.loader import cache_loader

import return_doc
from ansible_collections.criu.check.plugins.module_utils import _decide, _installed_criu
from podman_fleet import REPO, Fleet

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason='the fleet needs root (rootful podman)'),
    pytest.mark.skipif(not shutil.which('podman'), reason='podman is not installed'),
]

HOSTS = [('ready-1', 'privileged'), ('ready-2', 'privileged'), ('rosys', 'rosys'), ('unpriv', 'unprivileged'),
         ('bare', 'bare')]
UNREACHABLE = ['gone-1']
# After the first run: ready-2 loses its privileges, rosys loses its criu.
CHANGED = {'ready-2', 'rosys'}

# A second play after check.yml, on the controller: the groups check.yml made, as the next play sees them.
WRAPPER = """---
- name: The main job
  ansible.builtin.import_playbook: %s

- name: What the next play sees
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Groups made by check.yml
      ansible.builtin.debug:
        msg: "CRIU-GROUPS {{ groups | dict2items | selectattr('key', 'match', 'criu_') | items2dict | to_json }}"
"""


def expected_outcome(facts):
    """The outcome of a host, from its facts alone (the facts contract)."""
    if facts['ready']:
        return 'ready'
    probes = facts['probes']
    blockers = facts.get('environment', {}).get('criu_start_blockers') or []
    required_unknown = [i for i in facts.get('unknown', []) if probes.get(i, {}).get('category') == 'required']
    if facts.get('verdict') == 'undecided' or (not facts['missing']['required'] and not blockers and required_unknown):
        return 'undecided'
    return 'not_ready'


def expected_missing_required(facts):
    blockers = facts.get('environment', {}).get('criu_start_blockers') or []
    return list(facts['missing']['required']) + (['criu_start'] if blockers else [])


class Run:
    def __init__(self, proc, workdir, cache, keep):
        self.proc = proc
        self.stdout = proc.stdout
        os.makedirs(keep)
        for name in ('criu-report.html', 'criu-report.json', 'criu-report.csv'):
            shutil.copy(os.path.join(workdir, 'criu-report', name), keep)
        self.dir = keep
        self.json = json.load(open(os.path.join(keep, 'criu-report.json')))
        self.csv = list(csv.DictReader(io.StringIO(open(os.path.join(keep, 'criu-report.csv')).read())))
        # What Ansible itself stored for each host (the jsonfile fact cache), not what the report says.
        # read with ansible's own jsonfile cache plugin: its file layout differs between ansible-core versions
        store = cache_loader.get('jsonfile', _uri=cache, _prefix='', _timeout=0)
        self.cached = dict((host, store.get(host)) for host in store.keys())
        m = re.search(r'CRIU-GROUPS (\{.*\})', self.stdout)
        self.groups = json.loads(m.group(1).replace('\\"', '"')) if m else None  # the callback escapes the quotes

    def facts(self, host):
        return self.cached[host]['criu_facts']

    def table(self):
        """{host: {column: text}} and the outcome sections in order, from the terminal table."""
        lines = self.stdout.splitlines()
        start = next(i for i, line in enumerate(lines) if line.startswith('CRIU fleet report:'))
        header = lines[start + 1]
        found = list(re.finditer(r'\S+(?: \S+)*', header))
        names, starts = [m.group(0) for m in found], [m.start() for m in found]
        rows, sections = {}, []
        for line in lines[start + 2:]:
            if not line.strip():
                break
            if line.startswith('-- '):
                sections.append(line[3:].rsplit(' (', 1)[0])
                continue
            cells = [line[s:(starts[k + 1] if k + 1 < len(starts) else None)].strip() for k, s in enumerate(starts)]
            rows[cells[0]] = dict(zip(names, cells))
        return rows, sections


@pytest.fixture(scope='module')
def fleet_runs():
    keep = tempfile.mkdtemp(prefix='criu-check-fleet-test-')
    try:
        with Fleet(HOSTS, unreachable=len(UNREACHABLE)) as fleet:
            assert sorted(fleet.unreachable) == UNREACHABLE
            wrapper = os.path.join(fleet.dir, 'check-and-groups.yml')
            with open(wrapper, 'w') as f:
                f.write(WRAPPER % os.path.join(REPO, 'playbooks', 'check.yml'))
            cache = os.path.join(fleet.dir, 'facts')
            env = {'ANSIBLE_CACHE_PLUGIN': 'jsonfile', 'ANSIBLE_CACHE_PLUGIN_CONNECTION': cache, 'ANSIBLE_FORKS': '10'}
            first = fleet.playbook(wrapper, '-e', 'criu_migration_group=all', env=env)
            assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
            run1 = Run(first, fleet.workdir, cache, os.path.join(keep, 'run1'))
            fleet.recreate('ready-2', 'unprivileged')
            rm = fleet.exec('rosys', 'rm', '-f', '/usr/sbin/criu', '/sbin/criu')  # the image's /sbin is not merged
            assert rm.returncode == 0, rm.stderr
            second = fleet.playbook(wrapper, '-e', 'criu_migration_group=all', env=env)
            assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
            run2 = Run(second, fleet.workdir, cache, os.path.join(keep, 'run2'))
            containers = [fleet.container(n) for n, dummy in HOSTS]
            yield run1, run2
        # Nothing of the fleet is left: containers, the working directory with the report and cache.
        assert not fleet.leftovers()
        assert fleet.dir is None
        ps = subprocess.run(['podman', 'ps', '-a', '--format', '{{.Names}}'], stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, CONTAINERS_CONF=fleet.env['CONTAINERS_CONF']), check=False).stdout
        assert not set(ps.split()) & set(containers)
    finally:
        shutil.rmtree(keep, ignore_errors=True)


@pytest.fixture(params=['run1', 'run2'])
def run(request, fleet_runs):
    return fleet_runs[0] if request.param == 'run1' else fleet_runs[1]


def test_every_host_is_reported_and_none_dropped(run):
    names = sorted([n for n, dummy in HOSTS] + UNREACHABLE)
    assert sorted(run.json['hosts']) == names
    assert sorted(r['host'] for r in run.csv) == names
    assert sorted(run.table()[0]) == names
    gone = run.json['hosts']['gone-1']
    assert gone['outcome'] == 'unreachable'
    assert 'not found' in gone['reason'] or 'no such' in gone['reason'].lower(), gone['reason']
    assert 'ansible.builtin.ping' in gone['fix']
    assert [c['fix'] for c in run.json['causes'] if c['hosts'] == ['gone-1']] == [gone['fix']]
    # every reachable host answered, and Ansible cached what it answered
    for name, dummy in HOSTS:
        assert run.json['hosts'][name]['outcome'] in ('ready', 'not_ready', 'undecided'), run.json['hosts'][name]
        assert 'criu_facts' in run.cached[name]
    assert 'gone-1' not in run.cached


def test_the_contexts_really_differ(fleet_runs):
    """The fleet is mixed: the contexts give different facts (else the comparisons below prove little)."""
    run1 = fleet_runs[0]
    env = dict((n, run1.facts(n)['environment']) for n, dummy in HOSTS)
    assert env['ready-1']['proc_sys_writable'] is True
    assert env['rosys']['proc_sys_writable'] is False
    assert not env['ready-1']['criu_start_blockers']
    assert env['unpriv']['criu_start_blockers']
    assert run1.json['hosts']['unpriv']['outcome'] == 'not_ready'
    assert 'criu_start' in run1.json['hosts']['unpriv']['missing_required']
    assert run1.facts('bare')['criu'] in (None, {}) or not run1.facts('bare')['criu'].get('installed', True)


def test_a_container_granting_criu_no_capability_is_one_cause_naming_the_option_to_add(run):
    """unpriv (podman's default capabilities): criu stops at its first start-up check.  The cause names the
    container and the option; rosys, the same container with every capability (--cap-add ALL), has criu start,
    so the option suffices for this blocker.  The installed criu, which stops there too, is that cause (its fix the
    same), not a line of its own."""
    start = [c for c in run.json['causes'] if c['kind'] == 'start' and 'unpriv' in c['hosts']]
    assert [c['name'] for c in start] == [_decide.NO_CAPS], start
    fix = start[0]['fix']
    assert fix == ('this podman container is the cause, not the kernel: it grants criu neither CAP_SYS_ADMIN nor '
                   'CAP_CHECKPOINT_RESTORE; run the container with --privileged, or at least with --cap-add SYS_ADMIN')
    assert not run.facts('rosys')['environment']['criu_start_blockers']
    assert run.facts('unpriv')['criu']['fix'] == fix[0].upper() + fix[1:] + '.'
    assert not [c for c in run.json['causes'] if c['kind'] == 'criu' and 'unpriv' in c['hosts']], run.json['causes']


def test_what_a_usable_criu_cannot_dump_is_one_cause_for_its_hosts(run):
    """criu 4.1.1 of the image, usable on ready-1 (every capability) on this host's kernel: where that kernel refuses
    SO_PASSCRED on an IPv4 socket (6.16 and newer) it cannot dump a process with one, which the facts say and the
    report gives one line, for the hosts whose facts say it."""
    limited = [name for name, dummy in HOSTS if run.facts(name).get('criu', {}).get('cannot_dump')]
    expected = _installed_criu.inet_passcred_refused() and run.facts('ready-1')['criu']['version'] == '4.1.1'
    assert ('ready-1' in limited) == bool(expected), [run.facts(n)['criu'] for n, dummy in HOSTS]
    causes = [c for c in run.json['causes'] if c['kind'] == 'cannot_dump']
    assert [(c['severity'], c['hosts']) for c in causes] == ([('workload', limited)] if limited else []), causes
    for cause in causes:
        limit = run.facts(limited[0])['criu']['cannot_dump'][0]
        assert cause['fix'] == limit['fix'] and cause['title'].endswith(limit['why']), cause


def test_json_holds_each_hosts_facts(run):
    for name, dummy in HOSTS:
        entry, facts = run.json['hosts'][name], run.facts(name)
        # Real facts fit the shape the report reads (_facts_shape.FACTS_SHAPE): nothing read as absent.
        assert entry['facts'] == facts and entry['malformed'] == []
        assert entry['outcome'] == expected_outcome(facts)
        assert entry['missing_required'] == expected_missing_required(facts)
        assert entry['missing_extra'] == facts['missing']['extra']
        assert entry['unknown'] == facts['unknown']
        assert entry['kernel']['release'] == facts['kernel']['release']
        # What criu_facts answered in this host's context is what its RETURN documents.
        assert return_doc.mismatches({'ansible_facts': {'criu_facts': facts}}, 'criu_facts',
                                     return_doc.CRIU_FACTS_NAMED) == [], name
    counts = dict((o, sum(1 for n, dummy in HOSTS if expected_outcome(run.facts(n)) == o)) for o in ('ready', 'not_ready', 'undecided'))
    counts.update(unreachable=1, failed=0)
    assert run.json['counts'] == counts


def test_terminal_table_matches_the_facts(run):
    rows, sections = run.table()
    order = ['ready', 'not ready', 'undecided', 'no answer', 'unreachable']
    assert sections == sorted(sections, key=lambda s: next(i for i, o in enumerate(order) if s.startswith(o)))
    assert sections[-1] == 'unreachable'
    for name, dummy in HOSTS:
        facts, row = run.facts(name), rows[name]
        outcome = expected_outcome(facts)
        assert row['KERNEL READY'] == {'ready': 'yes', 'not_ready': 'no', 'undecided': '?'}[outcome]
        assert row['VERDICT'] == facts['verdict']
        assert row['KERNEL'] == facts['kernel']['release']
        assert row['EXTRA'] == str(len(facts['missing']['extra']))
        assert row['UNDECIDED'] == str(len(facts['unknown']))
        missing = expected_missing_required(facts)
        assert row['MISSING REQUIRED'] == (','.join(missing) if missing else '-') or row['MISSING REQUIRED'].endswith(
            '+%d' % (len(missing) - len(row['MISSING REQUIRED'].split(',')) + 1))
        criu = facts.get('criu')
        installed = isinstance(criu, dict) and criu.get('installed', bool(criu.get('version') or criu.get('path')))
        if installed:
            assert row['CRIU USABLE'].split()[1] == (criu['version'] or '?')
            assert row['CRIU USABLE'].split()[0] == {True: 'yes', False: 'no'}.get(criu.get('usable'), '?')
        else:
            assert row['CRIU USABLE'] == 'none'
        runtimes = facts.get('runtimes') or {}
        ready = [r for r in runtimes.values() if r.get('checkpoint') == 'ready']
        assert row['RUNTIMES READY'].split()[0] == ('%d/%d' % (len(ready), len(runtimes)) if runtimes else 'none')
    assert rows['gone-1']['VERDICT'] == 'unreachable'


def test_causes_are_grouped_one_line_per_library(run):
    """A missing library is one cause, whatever the number of probes that need it."""
    libraries = {}
    for name, dummy in HOSTS:
        for probe_id, probe in run.facts(name)['probes'].items():
            library = (probe.get('evidence') or {}).get('library')
            if library and probe_id in run.facts(name)['unknown']:
                libraries.setdefault(library, set()).add(name)
    by_library = dict((c['name'], c) for c in run.json['causes'] if c['kind'] == 'library')
    assert set(by_library) == set(libraries)
    for library, hosts in libraries.items():
        assert set(by_library[library]['hosts']) == hosts
        assert len([line for line in run.stdout.splitlines() if 'Python library %s is not' % library in line]) == 1


def test_migration_matrix_is_the_pair_decision_of_the_facts(run):
    """criu_migration_group=all: every ordered pair of reported hosts, decided by _pair from the
    two hosts' real facts (the unreachable ones have none), in the JSON and the table."""
    from ansible_collections.criu.check.plugins.module_utils import _pair
    matrix = run.json['migration']
    with open(run.json['inventory'][0]) as f:
        inventory_order = list(json.load(f)['all']['hosts'])
    assert matrix['hosts'] == inventory_order, 'the hosts in inventory order, the same in every run'
    for src in matrix['hosts']:
        for dst in matrix['hosts']:
            if src == dst:
                continue
            cell = matrix['pairs'][src][dst]
            a, b = run.json['hosts'][src]['facts'], run.json['hosts'][dst]['facts']
            if a is None or b is None:
                assert cell['cell'] == 'no facts', (src, dst, cell)
                continue
            want = _pair.decide(a, b, source_name=src, destination_name=dst)
            # The report's JSON keeps each host's facts as the report saw them; the reasons' wording may
            # differ where the plugin read them before the JSON round trip, the decision may not.
            assert (cell['mode'], cell['possible'], bool(cell['reasons'])) == (
                want['mode'], want['possible'], bool(want['reasons'])), (src, dst, cell, want)
    assert 'Migration between these hosts' in run.stdout


def test_csv_is_host_by_probe_status(run):
    for row in run.csv:
        if row['host'] == 'gone-1':
            assert row['outcome'] == 'unreachable'
            continue
        facts = run.facts(row['host'])
        assert row['outcome'] == expected_outcome(facts)
        probe_columns = [k for k in row if k in facts['probes']]
        assert len(probe_columns) == len(facts['probes'])
        for probe_id in probe_columns:
            assert row[probe_id] == facts['probes'][probe_id]['status'], (row['host'], probe_id)


def test_groups_for_the_next_play(run):
    assert run.groups is not None, run.stdout[-3000:]
    for name, dummy in HOSTS:
        facts = run.facts(name)
        assert name in run.groups['criu_' + expected_outcome(facts)]
        for probe_id in expected_missing_required(facts):
            assert name in run.groups['criu_missing_' + probe_id.replace('-', '_')]
    assert run.groups['criu_unreachable'] == ['gone-1']
    members = [h for g, hosts in run.groups.items() if g in ('criu_ready', 'criu_not_ready', 'criu_undecided', 'criu_unreachable')
               for h in hosts]
    assert sorted(members) == sorted([n for n, dummy in HOSTS] + UNREACHABLE)


def test_drift_after_a_host_changed(fleet_runs):
    run1, run2 = fleet_runs
    assert all(run1.json['hosts'][n]['drift'] is None for n, dummy in HOSTS)   # nothing to compare with yet
    changed = set(run2.json['changed'])
    for name, dummy in HOSTS:
        before, after = run1.facts(name), run2.facts(name)
        drift = run2.json['hosts'][name]['drift']
        assert drift is not None
        was = set(i for i, p in before['probes'].items() if p['status'] == 'supported')
        now = set(i for i, p in after['probes'].items() if p['status'] == 'supported')
        assert set(drift['lost']) == was - now and set(drift['gained']) == now - was
        if before['verdict'] != after['verdict']:
            assert drift['changes']['verdict'] == {'before': before['verdict'], 'after': after['verdict']}
        assert drift['changed'] == (name in changed)
    assert CHANGED <= changed, run2.json['changed']
    # rosys lost its criu, ready-2 its privileges
    assert run2.json['hosts']['rosys']['drift']['changes']['criu']['after'] is None
    assert run2.json['hosts']['rosys']['drift']['changes']['criu']['before']
    d2 = run2.json['hosts']['ready-2']['drift']
    assert d2['lost'] or 'verdict' in d2['changes']
    # the terminal says so
    rows, dummy = run2.table()
    assert 'criu ' in rows['rosys']['CHANGED'] and '>none' in rows['rosys']['CHANGED']
    assert rows['ready-1']['CHANGED'] == ('-' if 'ready-1' not in changed else rows['ready-1']['CHANGED'])
    assert 'Changed since the previous run:' in run2.stdout
    assert 'criu_changed' in run2.groups and set(run2.groups['criu_changed']) == changed


CHROMIUM = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
            '--disable-background-networking', '--disable-component-update', '--disable-sync', '--window-size=1600,1000']


def chromium(url, screenshot=None):
    """Load url in real headless Chromium; the DOM after its script ran (and a screenshot)."""
    binary = shutil.which('chromium') or shutil.which('chromium-browser')
    if not binary:
        pytest.skip('chromium is not installed (scripts/test installs it)')
    profile = tempfile.mkdtemp(prefix='criu-check-chromium-')
    try:
        argv = [binary] + CHROMIUM + ['--user-data-dir=' + profile, '--dump-dom']
        if screenshot:
            argv.append('--screenshot=' + screenshot)
        proc = subprocess.run(argv + [url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                              check=False, cwd=profile)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def rows_of(dom):
    """(host, outcome, hidden, missing_required, missing_extra, undecided) per matrix row."""
    out = {}
    for m in re.finditer(r'<tr ([^>]*data-host="[^"]*"[^>]*)>', dom):
        attrs = dict(re.findall(r'([\w-]+)="([^"]*)"', m.group(1)))
        out[attrs['data-host']] = attrs
    return out


def detail_of(dom):
    """The text of the details panel, '' while it is hidden."""
    m = re.search(r'<div id="detail"( hidden(="")?)?>(.*?)</div>', dom, re.S)
    assert m, 'no details panel'
    return '' if m.group(1) else html_lib.unescape(m.group(3))


def count_of(dom, element_id):
    m = re.search(r'id="%s"[^>]*data-count="(\d+)"' % element_id, dom) or re.search(
        r'data-count="(\d+)"[^>]*id="%s"' % element_id, dom)
    assert m, element_id
    return int(m.group(1))


def test_html_in_chromium(fleet_runs, fleet_artifacts):
    run = fleet_runs[1]
    page = os.path.join(run.dir, 'criu-report.html')
    html = open(page).read()
    assert not re.search(r'(src|href)="(https?:)?//', html) and '@import' not in html and 'url(http' not in html
    shot = os.path.join(tempfile.gettempdir(), 'criu-check-fleet-report.png')
    dom = chromium('file://' + page, screenshot=shot)
    fleet_artifacts.append(('screenshot (Chromium, second run)', shot))
    with open(shot, 'rb') as f:
        head = f.read(24)
    assert head[:8] == b'\x89PNG\r\n\x1a\n' and struct.unpack('>II', head[16:24]) == (1600, 1000)
    assert 'data-ready="1"' in dom  # the page's script ran
    # counts in the page = counts from the facts
    facts = dict((n, run.facts(n)) for n, dummy in HOSTS)
    for outcome in ('ready', 'not_ready', 'undecided'):
        assert count_of(dom, 'count-' + outcome) == sum(1 for f in facts.values() if expected_outcome(f) == outcome)
    assert count_of(dom, 'count-unreachable') == 1
    assert count_of(dom, 'total') == len(HOSTS) + 1
    assert count_of(dom, 'count-changed') == len(run.json['changed'])
    rows = rows_of(dom)
    assert sorted(rows) == sorted([n for n, dummy in HOSTS] + UNREACHABLE)
    for name, f in facts.items():
        assert rows[name]['data-outcome'] == expected_outcome(f)
        assert int(rows[name]['data-missing-required']) == len(expected_missing_required(f))
        assert int(rows[name]['data-missing-extra']) == len(f['missing']['extra'])
        assert int(rows[name]['data-undecided']) == len(f['unknown'])
        assert 'hidden' not in rows[name].get('class', '')
    assert rows['gone-1']['data-outcome'] == 'unreachable'
    # per probe: hosts where it is met, and per category: hosts complete
    for probe_id in ('ns_last_pid', 'map_files', 'userns'):
        m = re.search(r'data-probe="%s" data-met="(\d+)"' % probe_id, dom)
        assert m and int(m.group(1)) == sum(1 for f in facts.values()
                                            if f['probes'][probe_id]['status'] in ('supported', 'not_applicable'))
    m = re.search(r'data-category="required" data-complete="(\d+)"', dom)
    assert m and int(m.group(1)) == sum(1 for f in facts.values() if all(
        p['status'] in ('supported', 'not_applicable') for p in f['probes'].values() if p['category'] == 'required'))
    # every probe cell carries its status (the colour), and the details travel in the page
    n_cells = len(re.findall(r'<td class="c [^"]*" data-p="\d+" data-s="[a-z_]+"', dom))
    assert n_cells == sum(len(f['probes']) for f in facts.values())

    # a cell's details (its status, message, evidence and fix), opened from the address as a click opens them
    for name in ('ready-1', 'unpriv'):
        result = facts[name]['probes']['ns_last_pid']
        text = detail_of(chromium('file://' + page + '#cell=%s/ns_last_pid' % name))
        assert text.startswith('%s / ns_last_pid (required)\nstatus: %s\nmessage: %s\n' % (
            name, result['status'], result['message'])), text
        assert '\nfix: %s\n' % (result.get('fix') or '') in text, text
    assert detail_of(chromium('file://' + page + '#cell=gone-1/ns_last_pid')).startswith(
        'gone-1 / ns_last_pid: no answer from this host')

    # a filtered view: the address pre-fills the filter, only matching rows stay shown
    filtered = chromium('file://' + page + '#filter=outcome:not_ready')
    assert re.search(r'id="filter"[^>]*>', filtered)
    rows = rows_of(filtered)
    shown = sorted(h for h, a in rows.items() if 'hidden' not in a.get('class', ''))
    assert shown == sorted(n for n, f in facts.items() if expected_outcome(f) == 'not_ready')
    assert count_of(filtered, 'shown') == len(shown)
    # words match whole (ready is not not_ready); a host name matches in part
    ready = chromium('file://' + page + '#filter=ready')
    assert sorted(h for h, a in rows_of(ready).items() if 'hidden' not in a.get('class', '')) == sorted(
        n for n, f in facts.items() if expected_outcome(f) == 'ready' or 'ready' in n)
    one = chromium('file://' + page + '#filter=gone-1')
    assert [h for h, a in rows_of(one).items() if 'hidden' not in a.get('class', '')] == ['gone-1']
    # a malformed %-escape in a link is taken as written: the page still works
    odd = chromium('file://' + page + '#filter=gone%ZZ')
    assert 'data-ready="1"' in odd and count_of(odd, 'shown') == 0
