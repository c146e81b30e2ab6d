# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The fleet report's logic without containers: facts of other shapes (older and
newer criu_facts), grouping by cause, drift, a 200-host page, and bad options of
criu.check.criu_report through real ansible-playbook."""

import contextlib
import csv
import functools
import io
import json
import operator
import os
import random
import shutil
import subprocess
import sys
import tempfile

import conftest
import return_doc
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.plugin_utils import _fleet
from ansible_collections.criu.check.plugins.plugin_utils._fleet_html import render_html

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# criu_report's dictionaries keyed by names: hosts, and each snapshot's runtimes
REPORT_NAMED = ('hosts', 'groups', 'snapshots', 'snapshots.*.runtimes')


def facts(ready=True, missing_required=(), unknown=(), library=None, criu='absent', runtimes=None, verdict=None,
          kernel='6.18.44', blockers=()):
    """A criu_facts of the contract's shape (fake: the logic under test only reads it)."""
    probes = {
        'ns_last_pid': {'category': 'required', 'status': 'supported', 'message': None, 'evidence': {}, 'fix': 'fix ns'},
        'sock_diag': {'category': 'required', 'status': 'supported', 'message': None, 'evidence': {}, 'fix': 'fix sd'},
        'net_diag_raw': {'category': 'extra', 'status': 'supported', 'message': None, 'evidence': {}, 'fix': 'fix nd'},
        'mem_dirty_track': {'category': 'extra', 'status': 'unsupported', 'message': 'Dirty tracking is OFF.',
                            'evidence': {}, 'fix': 'CONFIG_MEM_SOFT_DIRTY=y'},
    }
    for probe_id in missing_required:
        probes[probe_id]['status'] = 'unsupported'
        probes[probe_id]['message'] = '%s does not work </script>' % probe_id
    for probe_id in unknown:
        probes[probe_id]['status'] = 'unknown'
        probes[probe_id]['message'] = 'Python library %s is not available' % library
        probes[probe_id]['evidence'] = {'library': library} if library else {}
        probes[probe_id]['fix'] = 'install python3-%s' % library
    out = {
        'ready': ready, 'probes': probes, 'unknown': list(unknown),
        'missing': {'required': list(missing_required), 'extra': ['mem_dirty_track'], 'experimental': []},
        'kernel': {'release': kernel, 'arch': 'x86_64'},
        'environment': {'criu_start_blockers': list(blockers)},
        'verdict': verdict or ('good_but' if ready else 'bad'),
    }
    if criu != 'absent':
        out['criu'] = criu
    if runtimes is not None:
        out['runtimes'] = runtimes
    return out


def test_facts_of_an_older_module_without_criu_runtimes_or_undecided():
    old = facts(ready=False, unknown=['sock_diag'], library='pyroute2', verdict='bad')
    entry = _fleet.host_entry('h', old)
    # The report takes the facts' verdict as it is (decided in module_utils/_decide.py): a module
    # before 0.2.0 called an undecided host "bad".
    assert entry['outcome'] == 'not_ready'
    # Facts that say nothing of the installed criu and the runtimes: not known, not "none installed".
    assert entry['criu'] == {'installed': None, 'version': None, 'usable': None, 'reason': None, 'fix': None,
                             'cannot_dump': []}
    assert entry['runtimes'] is None
    assert _fleet.table_rows(_fleet.build([entry], 't', []))[0][1:4] == ('no', '?', '?')


def test_a_ready_host_with_an_extra_probe_undecided_has_its_kernel_ready():
    """Verdict undecided from an extra probe alone: the host is ready, and its kernel column says so."""
    entry = _fleet.host_entry('h', facts(ready=True, unknown=['net_diag_raw'], library='pyroute2', verdict='undecided'))
    assert entry['outcome'] == 'ready' and entry['kernel_ready'] is True
    assert _fleet.table_rows(_fleet.build([entry], 't', []))[0][1] == 'yes'
    undecided = _fleet.host_entry('u', facts(ready=False, unknown=['sock_diag'], library='pyroute2', verdict='undecided'))
    assert undecided['outcome'] == 'undecided' and undecided['kernel_ready'] is None


def test_three_answers_from_a_newer_module():
    new = facts(criu={'installed': True, 'version': '3.17.1', 'usable': False, 'reason': 'vdso', 'fix': 'criu 4.1'},
                runtimes={'podman': {'version': '4.3.1', 'checkpoint': 'ready', 'reasons': [], 'fix': None},
                          'runc': {'version': '1.1', 'checkpoint': 'not_ready', 'reasons': ['criu unusable'], 'fix': 'x'},
                          'odd': {'checkpoint': 'maybe'}})
    entry = _fleet.host_entry('h', new)
    assert entry['kernel_ready'] is True and entry['criu']['usable'] is False
    assert entry['runtimes']['odd']['checkpoint'] == 'unknown'   # a value outside the contract is not trusted
    row = _fleet.table_rows(_fleet.build([entry], 't', []))[0]
    assert row[1:4] == ('yes', 'no 3.17.1', '1/3 podman')
    kinds = [(c['kind'], c['severity']) for c in _fleet.causes([entry])]
    assert ('criu', 'criu') in kinds and kinds.count(('runtime', 'runtime')) == 2


def test_runtimes_stopped_only_by_the_missing_criu_are_named_on_its_cause_not_repeated():
    no_criu = {'installed': False, 'usable': False, 'reason': 'criu is not installed.', 'fix': 'Install criu.'}

    def runtime(fix, reason='Podman checkpoints with the first criu on PATH, and no criu is installed.'):
        return {'version': '1', 'checkpoint': 'not_ready', 'reasons': [reason], 'fix': fix}
    a = _fleet.host_entry('a', facts(criu=no_criu, runtimes={'podman': runtime('Install criu.'),
                                                             'runc': runtime('Install criu')}))
    # crun built without CRIU needs more than criu: its own line, with both fixes
    b = _fleet.host_entry('b', facts(criu=no_criu, runtimes={'crun': runtime('Install criu; install a crun built with CRIU.',
                                                                             'crun is built without CRIU.')}))
    c = _fleet.host_entry('c', facts(criu=dict(no_criu, reason='criu 3.17 is not usable: vdso.', fix='Upgrade criu.',
                                               installed=True),
                                     runtimes={'podman': runtime('Install criu.')}))
    causes = _fleet.causes([a, b, c])
    by_kind = dict(((cause['kind'], cause['name']), cause) for cause in causes)
    assert by_kind[('criu', 'criu is not installed.')]['runtimes'] == ['podman', 'runc']
    assert by_kind[('criu', 'criu is not installed.')]['hosts'] == ['a', 'b']
    assert by_kind[('criu', 'criu 3.17 is not usable: vdso.')]['runtimes'] == []
    assert sorted(name for kind, name in by_kind if kind == 'runtime') == [
        'crun: crun is built without CRIU.', 'podman: Podman checkpoints with the first criu on PATH, and no criu is installed.']
    report = _fleet.build([a, b, c], 't', [])
    table = _fleet.render_table(report).splitlines()
    at = table.index('  [criu] criu is not installed.')
    assert table[at + 1:at + 3] == ['      so podman, runc cannot checkpoint', '      fix: Install criu.']
    assert '<br><small>so podman, runc cannot checkpoint</small>' in render_html(report)
    assert json.loads(_fleet.render_json(report))['causes'][0]['runtimes'] == ['podman', 'runc']


def test_an_installed_criu_that_stops_where_criu_cannot_start_is_that_cause_not_a_second_line():
    """A user without CAP_CHECKPOINT_RESTORE: the facts' start blocker and the installed criu's refusal are one
    cause (tests/system/test_criu_file_capabilities.py has real facts of it); the runtimes it stops are named on
    it.  An installed criu unusable for another reason keeps its own line."""
    blocker = _decide.NO_CAPS
    refused = {'installed': True, 'version': '4.1.1', 'usable': False,
               'reason': 'criu 4.1.1 (/usr/sbin/criu) refuses to run in this context: "%s".' % blocker,
               'fix': 'Run criu as root.'}
    podman = {'version': '4.3.1', 'checkpoint': 'not_ready', 'reasons': ['criu is not usable'], 'fix': 'Run criu as root.'}
    a = _fleet.host_entry('a', facts(ready=False, blockers=[blocker], criu=refused, runtimes={'podman': podman}))
    b = _fleet.host_entry('b', facts(ready=False, blockers=[blocker], criu=dict(refused, reason='vdso.')))
    causes = _fleet.causes([a, b])
    start = [c for c in causes if c['kind'] == 'start']
    assert len(start) == 1 and start[0]['hosts'] == ['a', 'b'] and start[0]['runtimes'] == ['podman'], causes
    assert start[0]['fix'] == _decide.start_blocker_fix(blocker)
    assert [(c['name'], c['hosts']) for c in causes if c['kind'] == 'criu'] == [('vdso.', ['b'])]
    assert not [c for c in causes if c['kind'] == 'runtime'], causes


def test_a_missing_library_is_one_cause_for_all_its_probes_and_hosts():
    a = _fleet.host_entry('a', facts(ready=False, unknown=['sock_diag', 'net_diag_raw'], library='pyroute2'))
    b = _fleet.host_entry('b', facts(ready=False, unknown=['sock_diag'], library='pyroute2'))
    causes = [c for c in _fleet.causes([a, b]) if c['kind'] == 'library']
    assert len(causes) == 1
    assert causes[0]['hosts'] == ['a', 'b'] and sorted(causes[0]['probes']) == ['net_diag_raw', 'sock_diag']
    text = _fleet.render_table(_fleet.build([a, b], 't', []))
    assert text.count('Python library pyroute2') == 1


def test_unreachable_and_failed_hosts_are_listed_never_dropped():
    entries = [_fleet.host_entry('up', facts()),
               _fleet.host_entry('down', None, {'unreachable': True, 'msg': 'ssh: connect refused'}),
               _fleet.host_entry('broken', None, {'failed': True, 'msg': '/usr/bin/python3: not found\nmore'})]
    report = _fleet.build(entries, 't', ['inv.yml'])
    assert [e['host'] for e in report['hosts']] == ['up', 'broken', 'down']
    assert report['counts'] == {'ready': 1, 'not_ready': 0, 'undecided': 0, 'failed': 1, 'unreachable': 1}
    assert report['hosts'][1]['reason'] == '/usr/bin/python3: not found'
    assert [_fleet.groups_for(e) for e in report['hosts']] == [['criu_ready'], ['criu_failed'], ['criu_unreachable']]
    csv_rows = _fleet.render_csv(report).splitlines()
    assert csv_rows[2].startswith('broken,failed,') and csv_rows[3].startswith('down,unreachable,')


def test_a_host_without_an_answer_has_a_fix():
    """Unreachable: check the connection; failed: see why, or install Python when there is none."""
    down = _fleet.host_entry('down', None, {'unreachable': True, 'msg': 'ssh: connect refused'})
    no_python = _fleet.host_entry('bare', None, {
        'failed': True, 'module_stderr': '/bin/sh: 1: /usr/bin/python3: not found\n',
        'msg': 'The module failed to execute correctly, you probably need to set the interpreter.\nSee stdout/stderr'})
    broken = _fleet.host_entry('broken', None, {'failed': True, 'msg': 'Unsupported parameters for (criu_facts) module: x'})
    fixes = (_fleet.UNREACHABLE_FIX, _fleet.NO_PYTHON_FIX, _fleet.FAILED_FIX)
    assert (down['fix'], no_python['fix'], broken['fix']) == fixes
    report = _fleet.build([down, no_python, broken], 't', [])
    assert dict((c['hosts'][0], c['fix']) for c in report['causes']) == {
        'down': _fleet.UNREACHABLE_FIX, 'bare': _fleet.NO_PYTHON_FIX, 'broken': _fleet.FAILED_FIX}
    text = _fleet.render_table(report)
    for fix in fixes:
        assert '      fix: ' + fix in text
    assert _fleet.host_entry('up', facts())['fix'] is None


def test_groups_per_missing_required_feature_and_start_blocker():
    entry = _fleet.host_entry('h', facts(ready=False, missing_required=['ns_last_pid'], blockers=['no CAP_SYS_ADMIN']))
    assert _fleet.groups_for(entry) == ['criu_not_ready', 'criu_missing_ns_last_pid', 'criu_missing_criu_start']
    assert _fleet.group_name('uffd-noncoop') == 'uffd_noncoop'


def test_every_cause_that_has_a_fix_shows_it():
    """criu's start-up blockers take _decide's fix for their kind; probes undecided for one reason show a fix
    only when the result gave one of its own (a tool to install), never a kernel fix of the registry's."""
    from ansible_collections.criu.check.plugins.module_utils import _decide
    from ansible_collections.criu.check.plugins.module_utils import _registry
    yama = _decide.environment_blockers(0, False, (1 << 41) - 1, 3, 40, True)
    tool = facts(ready=False, unknown=['ns_last_pid', 'net_diag_raw'], blockers=yama)
    tool['probes']['ns_last_pid'].update(message='the nft tool is missing', fix='install nftables')
    tool['probes']['net_diag_raw'].update(message='timed out', fix=_registry.BY_ID['net_diag_raw'].fix)
    by_title = dict((c['title'], c['fix']) for c in _fleet.causes([_fleet.host_entry('h', tool)]))
    assert by_title['criu cannot start: ' + yama[0]] == _decide.start_blocker_fix(yama[0])
    assert 'reboot' in by_title['criu cannot start: ' + yama[0]]
    assert by_title['could not decide: the nft tool is missing'] == 'install nftables'
    assert by_title['could not decide: timed out'] is None


def test_a_runtime_s_reasons_read_as_sentences():
    """A runtime's reasons are sentences, each with its full stop (criu_facts.runtimes.NAME.reasons)."""
    reasons = ['Podman checkpoints with the first criu on PATH, and no criu is installed.',
               'The kernel lacks features criu requires (criu_facts.missing.required).']
    entry = _fleet.host_entry('h', facts(runtimes={'podman': {'version': '4.3.1', 'checkpoint': 'not_ready',
                                                              'reasons': reasons, 'fix': 'Install criu.'}}))
    cause, = [c for c in _fleet.causes([entry]) if c['severity'] == 'runtime']
    assert cause['title'] == 'podman cannot checkpoint (not_ready): ' + ' '.join(reasons)
    assert 'podman 4.3.1: not_ready (%s %s)' % tuple(reasons) in render_html(_fleet.build([entry], 't', []))


def test_drift_kernel_criu_verdict_and_features():
    before = facts(kernel='6.1.0', criu={'installed': True, 'version': '4.1.1'})
    after = facts(ready=False, missing_required=['ns_last_pid'], kernel='6.12.0', criu={'installed': False})
    assert _fleet.drift(None, after) is None                                   # first run
    assert _fleet.drift({'version': 0}, after) is None                         # a snapshot of another format
    assert _fleet.drift(_fleet.snapshot(before, 't0'), before)['changed'] is False
    d = _fleet.drift(_fleet.snapshot(before, 't0'), after)
    assert d['since'] == 't0' and d['lost'] == ['ns_last_pid'] and d['gained'] == []
    assert d['changes'] == {'kernel': {'before': '6.1.0', 'after': '6.12.0'}, 'criu': {'before': '4.1.1', 'after': None},
                            'verdict': {'before': 'good_but', 'after': 'bad'}}
    assert _fleet.drift_text(d) == 'verdict good_but>bad, kernel 6.1.0>6.12.0, criu 4.1.1>none, lost 1'
    entry = _fleet.host_entry('h', after, previous=_fleet.snapshot(before, 't0'))
    assert 'criu_changed' in _fleet.groups_for(entry)


def test_drift_of_the_same_criu_s_usability_and_of_the_runtimes():
    def runtime(checkpoint):
        return {'version': '1', 'checkpoint': checkpoint, 'reasons': [], 'fix': None}
    criu = {'installed': True, 'version': '4.1.1', 'usable': True}
    before = facts(criu=criu, runtimes={'podman': runtime('ready'), 'runc': runtime('ready')})
    # the same criu now refuses (a capability taken away), podman lost it, runc was removed, crun came
    after = facts(criu=dict(criu, usable=False), runtimes={'podman': runtime('not_ready'), 'crun': runtime('unknown')})
    d = _fleet.drift(_fleet.snapshot(before, 't0'), after)
    assert d['changed'] is True and set(d['changes']) == {'criu_usable', 'runtimes'}
    assert d['changes']['criu_usable'] == {'before': True, 'after': False}
    assert d['changes']['runtimes'] == {'before': {'podman': 'ready', 'runc': 'ready'},
                                        'after': {'crun': 'unknown', 'podman': 'not_ready'}}
    assert _fleet.drift_text(d) == 'criu usable yes>no, crun none>unknown, podman ready>not_ready, runc ready>none'
    # a new criu says it by its version; facts that do not say which runtimes are installed, or a snapshot of an
    # earlier release without these keys, have nothing to compare
    upgraded = facts(criu=dict(criu, version='4.2', usable=False), runtimes=before['runtimes'])
    assert set(_fleet.drift(_fleet.snapshot(before, 't0'), upgraded)['changes']) == {'criu'}
    assert _fleet.drift(_fleet.snapshot(before, 't0'), facts(criu=criu))['changed'] is False
    older = dict(_fleet.snapshot(before, 't0'))
    del older['criu_usable'], older['runtimes']
    assert _fleet.drift(older, after)['changed'] is False


def page_cells(page):
    """The cells' details that travel in the page (its JSON block)."""
    return json.loads(page.split('<script type="application/json" id="cells">', 1)[1].split('</script>', 1)[0])


def test_what_a_host_says_cannot_change_how_the_page_parses():
    """A message, a fix or a host name holding HTML (a host's facts are its own to write) is text on the page:
    escaped in the HTML, and with no < at all in the JSON block, where "</script>", or "<!--" and then "<script",
    would change where a browser ends the block."""
    f = facts(ready=False, missing_required=['ns_last_pid'])
    f['probes']['ns_last_pid'].update(message='<!--<script>x</script>', fix='<b>bold</b>')
    entry = _fleet.host_entry('<i>h</i>', f)
    page = render_html(_fleet.build([entry], 't', []))
    block = page.split('<script type="application/json" id="cells">', 1)[1].split('</script>', 1)[0]
    assert '<' not in block
    assert page_cells(page)['strings'] and '<!--<script>x</script>' in page_cells(page)['strings']
    assert '<b>bold</b>' not in page and '<i>h</i>' not in page and '&lt;b&gt;bold&lt;/b&gt;' in page


def test_page_for_200_hosts_is_self_contained_and_small():
    entries = []
    for i in range(200):
        f = facts(ready=i % 3 != 0, missing_required=['ns_last_pid'] if i % 3 == 0 else [])
        # 67 probes as in the real facts
        for n in range(63):
            f['probes']['p%02d' % n] = {'category': 'extra', 'status': 'supported', 'message': 'm%d' % n,
                                        'evidence': {'n': n}, 'fix': 'f%d' % n}
        entries.append(_fleet.host_entry('host-%03d' % i, f))
    report = _fleet.build(entries, '2026-12-02T10:00:00+00:00', ['fleet.yml'])
    page = render_html(report)
    assert len(page) < 1500000, len(page)
    assert page.count('<tr data-host=') == 200
    assert 'http://' not in page and 'https://' not in page
    legend = page.split('<div class="legend">', 1)[1].split('</div>', 1)[0]   # every status chip, in one line
    assert legend.count('<span class=') == 6 and legend.endswith('no answer</span>'), legend
    # the message holding </script> cannot end the data block early
    decoded = page_cells(page)
    assert 'ns_last_pid does not work </script>' in decoded['strings']
    assert len(decoded['cells']) == 200 and all(len(row) == 67 for row in decoded['cells'].values())


def test_report_json_round_trips():
    report = _fleet.build([_fleet.host_entry('a', facts())], 't', [])
    doc = json.loads(_fleet.render_json(report))
    assert doc['order'] == ['a'] and doc['hosts']['a']['facts'] == facts()


class Scratch:
    """A scratch directory to run ansible-playbook in, with the collection of this checkout."""

    def __init__(self, work):
        self.work = work

    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)
        return self.path(name)

    def playbook(self, *argv, env=None, timeout=120):
        """ansible-playbook ARGV here, its output (stdout and stderr) in the result's stdout; env: more variables."""
        environ = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_NOCOLOR='1',
                       ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCAL_TEMP=self.path('tmp'),
                       ANSIBLE_HOME=self.path('home'), **(env or {}))
        return subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')] + list(argv),
                              cwd=self.work, env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              check=False, timeout=timeout)


@contextlib.contextmanager
def scratch(prefix):
    """A Scratch, removed at the end whatever the test's assertions said."""
    work = tempfile.mkdtemp(prefix=prefix)
    try:
        yield Scratch(work)
    finally:
        shutil.rmtree(work)


def _report_task(here, task_args):
    """Run criu.check.criu_report alone on localhost in the Scratch ``here``; its result goes to result.json there."""
    play = here.write('play.yml', '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - criu.check.criu_report:\n%s'
                      '      register: r\n    - ansible.builtin.copy: {dest: result.json, content: "{{ r | to_json }}", '
                      'mode: "0600"}\n' % ''.join('        %s: %s\n' % kv for kv in task_args.items()))
    return here.playbook('-i', 'localhost,', '-c', 'local', play)


def test_bad_options_name_what_is_valid():
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'formats': '[pdf]', 'dest': 'out'})
        assert proc.returncode != 0
        assert 'formats: pdf is not valid; valid: html, json, csv' in proc.stdout, proc.stdout[-2000:]
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'print_table': 'maybe'})
        assert proc.returncode != 0 and 'print_table: must be a boolean' in proc.stdout, proc.stdout[-2000:]
    # Neither a list nor text: refused by name, not a Python error about iterating an int or hashing a list.
    for args, words in (({'formats': '5'}, 'formats: must be a list of html, json, csv (or none of them), got 5'),
                        ({'formats': '{html: 1}'}, "formats: must be a list of html, json, csv (or none of them), got {'html': 1}"),
                        ({'probe_result': '[a]'}, 'probe_result: must be the name the criu.check.criu_facts task '
                                                  "registered its result under, got ['a']"),
                        ({'probe_result': '""'}, "probe_result: must be the name the criu.check.criu_facts task "
                                                 "registered its result under, got ''")):
        with scratch('criu-check-report-args-') as here:
            proc = _report_task(here, dict(args, dest='out'))
            assert proc.returncode != 0 and words in ' '.join(proc.stdout.split()), (args, proc.stdout[-2000:])
            assert not os.path.exists(here.path('out'))


def test_a_host_without_a_probe_result_is_reported_as_failed():
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'dest': 'out'})
        work = here.work
        assert proc.returncode == 0, proc.stdout[-3000:]
        doc = json.load(open(os.path.join(work, 'out', 'criu-report.json')))
        assert doc['hosts']['localhost']['outcome'] == 'failed'
        assert 'no result of the probe task' in doc['hosts']['localhost']['reason']
        assert '-- no answer (the probe failed) (1)' in proc.stdout
        result = json.load(open(os.path.join(work, 'result.json')))
        assert result['hosts']['localhost']['fix'] and result['counts']['failed'] == 1
        assert return_doc.mismatches(result, 'criu_report', REPORT_NAMED) == []


def test_without_a_persistent_fact_cache_drift_says_not_available():
    report = _fleet.build([_fleet.host_entry('a', facts())], 't', [], drift_enabled=False)
    assert _fleet.table_rows(report)[0][-1] == 'n/a'
    assert 'n/a (no fact cache)' in render_html(report)
    assert _fleet.table_rows(_fleet.build([_fleet.host_entry('a', facts())], 't', []))[0][-1] == 'first run'


def test_migration_matrix_between_real_facts():
    """check.yml's migration matrix (criu_migration_group) from this host's real facts: this
    kernel has no soft-dirty tracking, so from it stop-and-copy, towards it from a host that has
    it pre-copy, and never to or from an arm64 host; a host without facts says so."""
    from ansible_collections.criu.check.plugins.module_utils import _check
    here = _check.run(_check.by_categories([_check.ALL]), timeout=10)
    here['criu'] = conftest.installed_criu_facts('criu41_root_check', '4.1.1', here)
    assert here['probes']['mem_dirty_track']['status'] == 'unsupported', 'this host is assumed to lack soft-dirty'
    tracked = json.loads(json.dumps(here))
    tracked['probes']['mem_dirty_track']['status'] = 'supported'
    arm = json.loads(json.dumps(here))
    arm['kernel']['arch'] = 'aarch64'
    entries = [_fleet.host_entry('here', here), _fleet.host_entry('tracked', tracked), _fleet.host_entry('arm', arm),
               _fleet.host_entry('gone', None, {'unreachable': True, 'msg': 'ssh: connection refused'})]
    report = _fleet.build(entries, 't', [], migration_hosts=['here', 'tracked', 'arm', 'gone'])
    pairs = report['migration']['pairs']
    assert report['migration']['hosts'] == ['here', 'tracked', 'arm', 'gone']
    assert pairs['here']['tracked']['cell'] == 'stop-copy' and pairs['here']['tracked']['mode'] == 'stop-and-copy'
    assert pairs['tracked']['here']['cell'] == 'pre-copy'
    assert pairs['here']['arm']['cell'] == 'no' and pairs['arm']['tracked']['cell'] == 'no'
    assert any('aarch64' in r for r in pairs['here']['arm']['reasons']), pairs['here']['arm']
    assert pairs['here']['gone']['cell'] == 'no facts' and pairs['gone']['here']['reasons'] == ['no criu_facts from gone']
    table = _fleet.render_table(report).splitlines()
    start = table.index([line for line in table if line.startswith('Migration between these hosts')][0])
    assert table[start + 2].split()[:3] == ['here', '-', 'stop-copy'], table[start:]
    page = render_html(report)
    assert 'id="migration"' in page and 'data-cell="pre-copy"' in page
    # the matrix of migrations leaves the cells' details whole (it once took their name)
    assert page_cells(page) == page_cells(render_html(_fleet.build(entries, 't', [])))
    assert sorted(page_cells(page)['cells']) == ['arm', 'here', 'tracked']
    assert json.loads(_fleet.render_json(report))['migration']['pairs']['tracked']['here']['mode'] == 'pre-copy'
    assert _fleet.build(entries, 't', [])['migration'] is None


def _paths(value, path=()):
    """Every path into nested dictionaries and lists (keys and indexes)."""
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in children:
        yield path + (key,)
        yield from _paths(item, path + (key,))


def test_facts_of_unexpected_types_are_read_as_absent_and_listed():
    """A host writes its own facts (an older or newer module, another collection's task, a broken or hostile
    host): values of other types, put at random places of this host's real facts (seeded), never stop the
    report of the fleet; what did not fit is listed per host and is one cause. Such facts once ended the
    whole report in a TypeError or AttributeError (in the table, the causes, the page, the migration matrix)."""
    from ansible_collections.criu.check.plugins.module_utils import _check
    from ansible_collections.criu.check.plugins.module_utils import _facts_shape
    here = _check.run(_check.by_categories([_check.ALL]), timeout=10)
    here['criu'] = conftest.installed_criu_facts('criu41_root_check', '4.1.1', here)
    here['runtimes'] = {'podman': {'version': '4.3.1', 'checkpoint': 'not_ready', 'reasons': ['No criu.'], 'fix': 'x'}}
    assert _facts_shape.conform(here, _facts_shape.FACTS_SHAPE, 'facts') == (here, [])
    others = [None, 0, -1, 2.5, True, '', 'text', [], ['a', 1, None, {}], {}, {'a': 1}, [{'b': []}]]
    rng = random.Random(20261205)
    listed = 0
    for dummy in range(400):
        broken = json.loads(json.dumps(here))
        for dummy2 in range(rng.randint(1, 4)):
            # a path of the facts as the mutations so far left them, so that it always leads somewhere
            path = rng.choice(list(_paths(broken)))
            functools.reduce(operator.getitem, path[:-1], broken)[path[-1]] = json.loads(json.dumps(rng.choice(others)))
        previous = _fleet.snapshot(broken if rng.random() < 0.5 else here, 't')
        entry = _fleet.host_entry('h', broken, None, previous)
        report = _fleet.build([entry, _fleet.host_entry('g', here)], 't', [], migration_hosts=['h', 'g'])
        for render in (_fleet.render_table, _fleet.render_csv, _fleet.render_json, render_html):
            render(report)
        assert entry['malformed'] == _facts_shape.conform(broken, _facts_shape.FACTS_SHAPE, 'facts')[1]
        cause = [c for c in report['causes'] if c['kind'] == 'facts']
        assert (cause[0]['hosts'] if cause else []) == (['h'] if entry['malformed'] else [])
        listed += bool(entry['malformed'])
    assert listed > 100   # the mutations do hit what the report reads

    entry = _fleet.host_entry('h', ['not', 'a', 'dictionary'])
    assert entry['outcome'] == 'failed' and entry['reason'] == 'its criu_facts is a list, not a dictionary'


def test_a_hosts_text_cannot_redraw_the_terminal_or_run_in_a_spreadsheet():
    """Escape sequences, carriage returns and right-to-left overrides in a host's facts are shown escaped in
    the table; a CSV cell that a spreadsheet would take for a formula starts with '."""
    hostile = facts(ready=False, missing_required=['ns_last_pid'], kernel='=HYPERLINK("http://x")\x1b[2J')
    hostile['probes']['ns_last_pid']['message'] = 'gone\r\x1b[1A\u202eydaer'
    hostile['probes']['sock_diag']['status'] = '+1'
    report = _fleet.build([_fleet.host_entry('h', hostile), _fleet.host_entry('g', facts())], 't', [])
    table = _fleet.render_table(report)
    assert not [c for c in table if c != '\n' and (ord(c) < 32 or 0x7f <= ord(c) < 0xa0 or c == '\u202e')]
    assert 'ns_last_pid: gone\\r\\x1b[1A\\u202eydaer' in table and '\\x1b[2J' in table
    # an inventory name with a tab (Ansible takes "web\t1" from a YAML inventory) once ended the table in a KeyError
    tab = _fleet.render_table(_fleet.build([_fleet.host_entry('web\t1', facts())], 't', [])).splitlines()
    assert tab[2] == '-- ready (1)' and tab[3].startswith('web\\t1  yes'), tab
    row = [r for r in csv.DictReader(io.StringIO(_fleet.render_csv(report))) if r['host'] == 'h'][0]
    assert row['kernel'] == '\'=HYPERLINK("http://x")\x1b[2J'
    assert row['sock_diag'] == "'+1" and row['ns_last_pid'] == 'unsupported'


def test_a_skipped_probe_is_no_answer_not_the_fact_cache_s_facts():
    """A host where the probe task was skipped gave no answer in this run: with a persistent fact cache its
    criu_facts of an earlier run are still in hostvars, and the report once showed them as this run's answer
    (ready, with drift '-')."""
    with scratch('criu-check-report-skip-') as here:
        play = here.write('play.yml', '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                          '    - criu.check.criu_facts:\n      register: criu_check_probe\n      when: not (skip | bool)\n'
                          '    - criu.check.criu_report: {dest: out, formats: [json]}\n')
        env = dict(ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=here.path('facts'))
        docs = []
        for skip in ('false', 'true'):
            proc = here.playbook('-i', 'localhost,', '-c', 'local', '-e', 'skip=%s' % skip, play, env=env)
            assert proc.returncode == 0, proc.stdout[-3000:]
            docs.append(json.load(open(here.path('out', 'criu-report.json'))))
        assert docs[0]['hosts']['localhost']['facts'] is not None  # the first run's facts are in the cache
        host = docs[1]['hosts']['localhost']
        assert host['outcome'] == 'failed' and host['facts'] is None, host
        assert 'was skipped on this host' in host['reason'] and 'skip | bool' in host['reason'], host['reason']


def test_a_cell_s_status_reads_without_colour():
    """Each probe's cell says its status in text, as the legend explains it: read without the page's style (a
    text browser, a screen reader) or by someone who cannot tell red from green, the cells were once empty."""
    import html.parser

    class Cells(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.cells, self.legend, self._in = [], '', None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == 'td' and 'c' in (attrs.get('class') or '').split():
                self.cells.append([attrs.get('data-s'), ''])
                self._in = 'cell'
            elif tag == 'div' and attrs.get('class') == 'legend':
                self._in = 'legend'

        def handle_endtag(self, tag):
            if tag in ('td', 'div'):
                self._in = None

        def handle_data(self, data):
            if self._in == 'cell':
                self.cells[-1][1] += data
            elif self._in == 'legend':
                self.legend += data + ' '

    f = facts(ready=False, missing_required=['ns_last_pid'])
    f['probes']['sock_diag']['status'] = 'not_applicable'
    f['probes']['net_diag_raw'].update(status='unknown')
    f['probes']['mem_dirty_track']['status'] = 'error'
    f['probes']['tcp'] = {'category': 'required', 'status': 'supported'}
    page = Cells()
    page.feed(render_html(_fleet.build([_fleet.host_entry('a', f)], 't', [])))
    marks = dict((status, text) for status, text in page.cells)
    assert sorted(marks) == ['error', 'not_applicable', 'supported', 'unknown', 'unsupported'], marks
    assert len(set(marks.values())) == 5 and all(marks.values()), marks
    for status, mark in marks.items():
        assert '%s %s' % (mark, status) in page.legend, (mark, status, page.legend)


def test_hosts_unreachable_for_one_cause_are_one_cause():
    """Ansible's messages name the host (its address, or the name ssh could not resolve: these are from a real
    run); the hosts of a subnet that is down were once one cause each, ahead of every other cause."""
    refused = 'Task failed: Failed to connect to the host via ssh: ssh: connect to host %s port 22: Connection refused'
    unresolved = ('Task failed: Failed to connect to the host via ssh: ssh: Could not resolve hostname %s: '
                  'Name or service not known')
    entries = [_fleet.host_entry('db%d' % i, None, {'unreachable': True, 'msg': refused % ('10.0.0.%d' % i)},
                                 address='10.0.0.%d' % i) for i in (1, 2, 3)]
    entries += [_fleet.host_entry(name, None, {'unreachable': True, 'msg': unresolved % name})
                for name in ('web7.example.com', 'web8.example.com')]
    # a name inside another word stays as it is
    entries.append(_fleet.host_entry('ssh', None, {'failed': True, 'msg': 'ssh-agent: no keys for ssh'}))
    report = _fleet.build(entries, 't', [])
    assert [(c['title'], c['hosts']) for c in report['causes']] == [
        (refused % 'HOST', ['db1', 'db2', 'db3']),
        (unresolved % 'HOST', ['web7.example.com', 'web8.example.com']),
        ('ssh-agent: no keys for HOST', ['ssh'])], report['causes']
    # each host's own reason is kept whole
    reasons = dict((e['host'], e['reason']) for e in report['hosts'])
    assert reasons['ssh'] == 'ssh-agent: no keys for ssh' and reasons['db2'] == refused % '10.0.0.2'
    assert _fleet.render_table(report).count('[unreachable]') == 2


def test_check_yml_names_the_groups_when_the_migration_group_is_not_one():
    """criu_migration_group names a group of the inventory: a misspelt one once gave no matrix, and no word."""
    with scratch('criu-check-migration-group-') as here:
        inventory = here.write('hosts.yml', 'all:\n  children:\n    nodes:\n      hosts:\n        localhost:\n'
                               '          ansible_connection: local\n          ansible_python_interpreter: %s\n'
                               % sys.executable)

        def check(group):
            return here.playbook('-i', inventory, os.path.join(REPO, 'playbooks', 'check.yml'),
                                 '-e', 'criu_migration_group=%s' % group, '-e', '{"criu_report_formats": []}', timeout=300)
        wrong = check('node')
        assert wrong.returncode != 0
        assert 'criu_migration_group: the inventory has no group node; its groups: nodes' in wrong.stdout, wrong.stdout[-3000:]
        assert 'CRIU fleet report' not in wrong.stdout
        right = check('nodes')
        assert right.returncode == 0 and 'CRIU fleet report: 1 host' in right.stdout, right.stdout[-3000:]


def test_a_category_is_complete_only_on_hosts_that_answered_every_probe_of_it():
    """The page's count of hosts with every probe of a category met: a host whose facts hold none of the
    category's probes (an older module, a selection of categories), or only some, was once counted complete."""
    full = facts()
    full['probes']['mem_dirty_track']['status'] = 'supported'
    none_extra = facts()
    for probe_id in ('net_diag_raw', 'mem_dirty_track'):
        del none_extra['probes'][probe_id]
    some_extra = facts()
    del some_extra['probes']['mem_dirty_track']
    page = render_html(_fleet.build([_fleet.host_entry('full', full), _fleet.host_entry('none', none_extra),
                                     _fleet.host_entry('some', some_extra)], 't', []))
    assert 'data-category="required" data-complete="3"' in page
    assert 'data-category="extra" data-complete="1"' in page and '(1/3 hosts complete)' in page


def test_a_previous_snapshot_of_another_format_is_named_not_a_first_run():
    """A snapshot another release wrote (another SNAPSHOT_VERSION, or none) was read as no snapshot at all: the report
    said 'first run' on a host that had one. It now says it was not compared, and names the fact cache's file."""
    now = facts()
    assert _fleet.host_entry('h', now, previous=_fleet.snapshot(now, 't0'))['drift_note'] is None
    assert _fleet.host_entry('h', now)['drift_note'] is None
    newer = _fleet.SNAPSHOT_VERSION + 1
    for previous, what in (({'version': newer, 'time': 't0'}, 'of format version %d' % newer),
                           ({'time': 't0', 'supported': []}, 'without a format version'),
                           ({'version': True}, 'without a format version'),
                           ('old', 'a str, not a snapshot')):
        entry = _fleet.host_entry('h', now, previous=previous, previous_where='criu_fleet_last in /cache/h')
        assert entry['drift'] is None
        assert entry['drift_note'] == (
            "the previous snapshot (criu_fleet_last in /cache/h) is %s, and this release reads version %d: not compared; "
            "this run's snapshot replaces it" % (what, _fleet.SNAPSHOT_VERSION)), entry['drift_note']
        report = _fleet.build([entry], 't', [])
        assert _fleet.table_rows(report)[0][-1] == 'not compared'
        assert ('Not compared with the previous run:\n  h: ' + entry['drift_note']) in _fleet.render_table(report)
        assert '>not compared</td>' in render_html(report)


def test_the_report_names_the_fact_cache_file_of_a_snapshot_it_cannot_compare():
    """Through ansible-playbook with a jsonfile fact cache that holds a snapshot of another format, as an older
    release would have left it: the task's result and criu-report.json name the cache's file."""
    with scratch('criu-check-report-format-') as here:
        work = here.work
        play = here.write('play.yml', '- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                          '    - ansible.builtin.set_fact: {criu_fleet_last: {version: 0, time: t0}, cacheable: true}\n'
                          '      when: old | bool\n'
                          '    - criu.check.criu_facts:\n      register: criu_check_probe\n      when: not (old | bool)\n'
                          '    - criu.check.criu_report: {dest: out, formats: [json]}\n      register: r\n'
                          '      when: not (old | bool)\n'
                          '    - ansible.builtin.copy: {dest: result.json, content: "{{ r | to_json }}", mode: "0600"}\n'
                          '      when: not (old | bool)\n')
        env = dict(ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=here.path('facts'))
        for old in ('true', 'false'):
            proc = here.playbook('-i', 'localhost,', '-c', 'local', '-e', 'old=%s' % old, play, env=env)
            assert proc.returncode == 0, proc.stdout[-3000:]
        # the file Ansible's own jsonfile cache keeps the host in (its name differs between ansible-core versions)
        cache_file, = [os.path.join(work, 'facts', n) for n in os.listdir(os.path.join(work, 'facts'))
                       if n.endswith('localhost')]
        from ansible.plugins.loader import cache_loader
        store = cache_loader.get('jsonfile', _uri=os.path.join(work, 'facts'), _prefix='', _timeout=0)
        assert store.get('localhost')['criu_fleet_last']['version'] == 0   # the older release's snapshot is there
        note = json.load(open(os.path.join(work, 'out', 'criu-report.json')))['hosts']['localhost']['drift_note']
        assert note and 'criu_fleet_last in %s' % cache_file in note and 'format version 0' in note, note
        assert 'Not compared with the previous run:' in proc.stdout and cache_file in proc.stdout
        result = json.load(open(os.path.join(work, 'result.json')))
        assert result['hosts']['localhost']['drift_note'] == note
        assert return_doc.mismatches(result, 'criu_report', REPORT_NAMED) == []


def test_a_host_named_twice_is_reported_once_with_a_warning():
    """hosts joined from two groups a host is in (groups.web + groups.db) named it twice: it was two lines of the
    table, two in the counts and the total, and two rows and columns of the migration matrix. A play's host pattern
    takes such a host once; so does the report, and a warning names it."""
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'dest': 'out', 'formats': '[csv]', 'hosts': '[localhost, localhost]',
                                   'migration_hosts': '[localhost, localhost]'})
        work = here.work
        assert proc.returncode == 0, proc.stdout[-3000:]
        out = ' '.join(proc.stdout.split())   # the warning may be wrapped
        assert 'hosts: localhost named more than once; each is reported once' in out, proc.stdout[-3000:]
        assert 'migration_hosts: localhost named more than once; each is reported once' in out
        result = json.load(open(os.path.join(work, 'result.json')))
        assert result['counts']['failed'] == 1 and list(result['hosts']) == ['localhost']
        assert result['migration']['hosts'] == ['localhost']
        assert 'CRIU fleet report: 1 host (1 no answer)' in proc.stdout
        assert [r['host'] for r in csv.DictReader(open(os.path.join(work, 'out', 'criu-report.csv')))] == ['localhost']
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'hosts': '7'})
        assert proc.returncode != 0 and 'hosts: must be a list of inventory host names, got 7' in proc.stdout, proc.stdout[-2000:]


def test_the_csv_says_of_the_installed_criu_what_the_table_says():
    """criu_usable in the CSV once said 'no' of a host without criu, where the table says 'none': the CSV and the
    table now use the same words (yes, no, ? not said, none without a criu)."""
    hosts = {'none': facts(criu={'installed': False, 'reason': 'criu is not installed'}),
             'usable': facts(criu={'installed': True, 'version': '4.1.1', 'usable': True}),
             'unusable': facts(criu={'installed': True, 'version': '3.17.1', 'usable': False, 'reason': 'vdso'}),
             'unsaid': facts(criu={'installed': True, 'version': '4.1.1'})}
    report = _fleet.build([_fleet.host_entry(name, f) for name, f in hosts.items()], 't', [])
    table = dict((row[0], row[2].split(' ')[0]) for row in _fleet.table_rows(report))
    assert table == {'none': 'none', 'usable': 'yes', 'unusable': 'no', 'unsaid': '?'}
    assert dict((r['host'], r['criu_usable']) for r in csv.DictReader(io.StringIO(_fleet.render_csv(report)))) == table


def test_a_host_without_criu_is_a_cause_with_its_fix():
    """A host whose kernel is ready but that has no criu (and no runtime to say so) had no line in what is missing:
    only its CRIU USABLE cell said none. It is now a cause, with the facts' fix; facts too old to say (no
    criu_facts.criu) give none."""
    reason = 'criu is not installed: no criu on PATH nor in /sbin, /usr/sbin, /usr/local/sbin.'
    fix = 'Install criu, for example with the criu.check.install role.'
    bare = [_fleet.host_entry(h, facts(criu={'installed': False, 'usable': False, 'reason': reason, 'fix': fix}))
            for h in ('web1', 'web2')]
    report = _fleet.build(bare + [_fleet.host_entry('old', facts())], 't', [])
    assert [(c['severity'], c['title'], c['fix'], c['hosts']) for c in report['causes'] if c['kind'] == 'criu'] == [
        ('criu', reason, fix, ['web1', 'web2'])]
    assert '  [criu] %s\n      fix: %s\n      2 hosts: web1, web2' % (reason, fix) in _fleet.render_table(report)


def test_what_a_usable_criu_cannot_dump_is_one_cause_per_release():
    """criu 4.1.1 on two hosts whose kernels (6.16 and newer) it cannot dump network sockets on: one line, below the
    runtimes, whatever each host's kernel release; the hosts stay ready and their criu usable."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    entries = []
    for host, release in (('web1', '6.18.44'), ('web2', '6.16.1'), ('old', '6.12.57')):
        raw = {'path': '/usr/sbin/criu', 'version': '4.1.1', 'os': {'id': 'debian', 'version_id': '13'},
               'kernel': {'release': release, 'inet_passcred_refused': release != '6.12.57'}}
        limits = _installed_criu.cannot_dump(raw)
        entries.append(_fleet.host_entry(host, facts(criu={'installed': True, 'version': '4.1.1', 'usable': True,
                                                           'cannot_dump': limits})))
    report = _fleet.build(entries, 't', [])
    assert [e['outcome'] for e in report['hosts']] == ['ready'] * 3
    cause, = [c for c in report['causes'] if c['kind'] == 'cannot_dump']
    limit = _installed_criu.CANNOT_DUMP[0]
    assert (cause['severity'], cause['hosts']) == ('workload', ['web1', 'web2'])
    assert cause['title'] == 'criu 4.1.1 cannot dump %s: %s' % (limit['what'], limit['why'])
    assert cause['fix'].startswith('Install criu 4.2 or newer (')
    assert '  [workload] %s\n      fix: %s\n      2 hosts: web1, web2' % (cause['title'], cause['fix']) in \
        _fleet.render_table(report)


def test_the_report_task_s_formats_table_and_facts_as_the_action_reads_them():
    """Through ansible-playbook: formats given as text (as a role variable from -e arrives), print_table off, the
    host's criu_facts (its ansible_facts) where the registered probe result holds none (a result registered by a
    task other than criu_facts), drift off, the files readable by others and none left half-written; a migration host
    the report does not cover is refused by name."""
    with scratch('criu-check-report-action-') as here:
        work = here.work
        here.write('vars.json', json.dumps({'given': facts()}))
        here.write('play.yml', '- hosts: localhost\n  gather_facts: false\n  vars_files: [vars.json]\n  tasks:\n'
                   '    - ansible.builtin.set_fact:\n'
                   '        {criu_facts: "{{ given }}", criu_fleet_last: {version: 0, time: t0}, cacheable: true}\n'
                   '    - ansible.builtin.debug: {msg: probed elsewhere}\n      register: criu_check_probe\n'
                   '    - criu.check.criu_report: {dest: out, formats: "json, csv", print_table: false, drift: false}\n'
                   '      register: r\n'
                   '    - criu.check.criu_report: {formats: [], print_table: false}\n      register: r2\n'
                   '    - ansible.builtin.copy: {dest: result.json, content: "{{ [r, r2] | to_json }}", mode: "0600"}\n')
        proc = here.playbook('-i', 'localhost,', '-c', 'local', 'play.yml')
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert 'CRIU fleet report' not in proc.stdout                  # print_table: false
        result, with_drift = json.load(open(os.path.join(work, 'result.json')))
        assert result['files'] == [os.path.join(work, 'out', 'criu-report.' + f) for f in ('json', 'csv')]
        assert sorted(os.listdir(os.path.join(work, 'out'))) == ['criu-report.csv', 'criu-report.json']
        assert [os.stat(f).st_mode & 0o777 for f in result['files']] == [0o644, 0o644]
        assert result['hosts']['localhost']['outcome'] == 'ready', result['hosts']['localhost']['reason']
        assert result['table'][0].startswith('CRIU fleet report: 1 host (1 ready)'), result['table']
        # The previous snapshot is not read with drift: false, and no snapshot is kept without a persistent cache.
        assert result['hosts']['localhost']['drift_note'] is None and result['snapshots'] == {}
        assert 'format version 0' in with_drift['hosts']['localhost']['drift_note'] and with_drift['files'] == []
        assert with_drift['snapshots'] == {}
    with scratch('criu-check-report-args-') as here:
        # A report that cannot be put in place leaves no half-written file beside it.
        os.makedirs(here.path('out', 'criu-report.json'))
        proc = _report_task(here, {'dest': 'out', 'formats': '[json]'})
        assert proc.returncode != 0 and 'cannot write the report into %s' % here.path('out') in proc.stdout
        assert os.listdir(here.path('out')) == ['criu-report.json'], os.listdir(here.path('out'))
    with scratch('criu-check-report-args-') as here:
        proc = _report_task(here, {'dest': 'out', 'migration_hosts': '[localhost, ghost]'})
        assert proc.returncode != 0 and not os.path.exists(here.path('out'))
        assert 'migration_hosts: ghost not among the hosts reported on (localhost)' in proc.stdout, proc.stdout[-2000:]
