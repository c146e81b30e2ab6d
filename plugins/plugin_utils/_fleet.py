# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""PRIVATE to the criu.check collection: the fleet report of playbooks/check.yml.

Runs on the controller only (the criu_report action plugin), never on a managed
node.  Pure functions from the facts of many hosts to one report:

  host_entry(name, facts, probe, previous)  one host: outcome, the three answers
                                            (kernel, installed criu, runtimes),
                                            missing, undecided, drift
  build(entries, generated, inventory)      the fleet: entries by outcome, causes
  snapshot(facts) / drift(previous, facts)  what a later run compares with
  render_table / render_csv / render_json (render_html: _fleet_html.py)

Every key of the facts is read with a default: the facts contract grows
(criu.usable, runtimes, verdict 'undecided') and a report must still read the
facts of an older or newer criu_facts.  A value of another type is read as
absent (_facts_shape.conform(), in host_entry()) and listed as 'malformed'.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io
import json
import re
import unicodedata

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _facts_shape
from ansible_collections.criu.check.plugins.module_utils import _pair
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R

CATEGORIES = REG.CATEGORIES
# The order hosts are listed in, worst news first after the good news.
OUTCOMES = ('ready', 'not_ready', 'undecided', 'failed', 'unreachable')
OUTCOME_TITLES = {
    'ready': 'ready',
    'not_ready': 'not ready',
    'undecided': 'undecided',
    'failed': 'no answer (the probe failed)',
    'unreachable': 'unreachable',
}
STATUSES = R.STATUSES
SNAPSHOT_VERSION = 1

# What to do about a host that gave no answer: the fix line of its cause.
UNREACHABLE_FIX = ('check that Ansible reaches the host: ansible HOST -m ansible.builtin.ping -vvv '
                   '(its address, user and key in the inventory; for a container, that it runs)')
NO_PYTHON_FIX = ('install Python 3.9 or newer on the host (the modules run there), '
                 'or set ansible_python_interpreter to one')
INTERPRETER_DENIED_FIX = ('set ansible_python_interpreter to a Python that the user the module runs as (the become user) '
                          'may execute: the one set lies in a directory that user cannot enter or read')
FAILED_FIX = 'run the probe task alone on the host and read its output: ansible HOST -m criu.check.criu_facts -vvv'
# The controller cannot load the connection plugin the inventory names for a host (its collection is not installed
# there, or the name is wrong): Ansible's words, in every release since 2.10.
_MISSING_CONNECTION = re.compile(r"the connection plugin '([^']+)' was not found")
# Ansible's own words when a module gave no result (ansible-core before 2.19, and since): the module's standard
# error holds the reason, its last line the error itself (a shell's, or a Python traceback's exception).
NO_RESULT = ('MODULE FAILURE', 'Module result deserialization failed', 'The module failed to execute correctly')
MALFORMED_TITLE = 'facts with values of an unexpected type, read as absent (each host\'s list: "malformed" in criu-report.json)'
MALFORMED_FIX = ('gather the facts again with criu.check.criu_facts of this release of the collection, and check that no '
                 'other task sets criu_facts on the host')


def group_name(text):
    """An inventory group name from a probe id or an outcome ('uffd-noncoop' -> 'uffd_noncoop')."""
    return re.sub(r'[^A-Za-z0-9_]', '_', str(text))


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return list(value) if isinstance(value, (list, tuple)) else []


def criu_answer(facts):
    """The installed criu, as the report shows it: installed, version, usable (True, False or None: not said),
    reason, fix, cannot_dump (what it cannot dump on this kernel, though usable).

    Facts without a criu section (an older release, or gathered without the installed criu's check) say nothing of
    it: installed is None (not known), never False, which the report would show as a host without criu."""
    criu = facts.get('criu')
    if not isinstance(criu, dict):
        return {'installed': None, 'version': None, 'usable': None, 'reason': None, 'fix': None, 'cannot_dump': []}
    installed = criu.get('installed', bool(criu.get('path') or criu.get('version')))
    usable = criu.get('usable')
    if usable is None and not installed:
        usable = False
    return {'installed': bool(installed), 'version': criu.get('version'), 'usable': usable,
            'reason': criu.get('reason') or (None if installed else 'criu is not installed'), 'fix': criu.get('fix'),
            'cannot_dump': [_dict(limit) for limit in _list(criu.get('cannot_dump'))]}


def runtimes_answer(facts):
    """{name: {version, checkpoint: ready|not_ready|unknown, reasons, fix}} for the installed runtimes; None when the
    facts have no runtimes section (not known, unlike {}: none installed)."""
    if not isinstance(facts.get('runtimes'), dict):
        return None
    out = {}
    for name, runtime in sorted(_dict(facts.get('runtimes')).items()):
        runtime = _dict(runtime)
        checkpoint = runtime.get('checkpoint')
        if checkpoint not in ('ready', 'not_ready', 'unknown'):
            checkpoint = 'unknown'
        out[name] = {'version': runtime.get('version'), 'checkpoint': checkpoint,
                     'reasons': [str(r) for r in _list(runtime.get('reasons'))], 'fix': runtime.get('fix')}
    return out


def _probe_library(probe):
    return _dict(_dict(probe).get('evidence')).get('library')


def _interpreter_fix(probe):
    """The fix when a failed task failed because no Python ran the module, or None.  Ansible then says "you
    probably need to set the interpreter", and the shell's error names the python it could not find, or could
    not execute (one in a directory the become user cannot enter, such as a virtual environment under /root:
    it exists, so installing one is not the fix)."""
    stderr = str(probe.get('module_stderr') or '')
    if re.search(r'python[0-9.]*: Permission denied', stderr):
        return INTERPRETER_DENIED_FIX
    said = '%s\n%s' % (probe.get('msg') or '', stderr)
    if 'set the interpreter' in said or re.search(r'python[0-9.]*: (not found|No such file)', said):
        return NO_PYTHON_FIX
    return None


def _connection_fix(probe):
    """The fix when the controller could not load the host's connection plugin, or None."""
    match = _MISSING_CONNECTION.search(str(probe.get('msg') or ''))
    if not match:
        return None
    name = match.group(1)
    if name.count('.') == 2:
        return ('install the collection %s on the controller (ansible-galaxy collection install %s), '
                'or correct the host\'s ansible_connection' % ((name.rsplit('.', 1)[0],) * 2))
    return ('correct the host\'s ansible_connection: the controller has no connection plugin %s '
            '(ansible-doc -t connection -l lists those it has)' % name)


def _failure_reason(probe, facts):
    """The first line of why the probe task failed: Ansible's message, unless it only says that the module
    gave no result, where the module's last line of standard error says why."""
    msg = str(probe.get('msg') or '').strip()
    stderr = [line.strip() for line in str(probe.get('module_stderr') or '').splitlines() if line.strip()]
    if stderr and (not msg or msg.startswith(NO_RESULT)):
        return stderr[-1]
    if msg:
        return msg.splitlines()[0]
    if facts is not None:
        return 'its criu_facts is a %s, not a dictionary' % type(facts).__name__
    return 'the probe task did not run on this host'


def _without_host(reason, names):
    """``reason`` with the host's own names (inventory name, address) as HOST: Ansible's messages name the
    host ("connect to host 10.0.0.5 port 22", "Could not resolve hostname web7"), and one cause of many
    hosts must be one line of the report, not one per host."""
    for n in sorted(set(str(n) for n in names if n), key=len, reverse=True):
        reason = re.sub(r'(?<![\w.-])%s(?![\w-]|\.\w)' % re.escape(n), 'HOST', reason)
    return reason


def host_entry(name, facts=None, probe=None, previous=None, address=None, previous_where=None):
    """One host of the report.

    facts: the host's ansible_facts.criu_facts from this run (None when it gave no answer);
    probe: the registered result of the probe task (for unreachable and failed hosts);
    previous: the snapshot of the previous run (from the fact cache), or None;
    address: the host's ansible_host, which Ansible's messages about it may name;
    previous_where: where the previous snapshot is stored (the fact cache's file), named when it cannot be compared.
    """
    probe = _dict(probe)
    entry = {'host': name, 'facts': None, 'drift': None, 'drift_note': None, 'reason': None, 'fix': None,
             'malformed': [], 'cause': None}
    if probe.get('unreachable'):
        reason = str(probe.get('msg') or 'unreachable').strip()
        entry.update(outcome='unreachable', reason=reason, fix=UNREACHABLE_FIX, cause=_without_host(reason, (name, address)))
        return entry
    if probe.get('failed') or not isinstance(facts, dict):
        reason = _failure_reason(probe, facts)
        entry.update(outcome='failed', reason=reason, fix=_interpreter_fix(probe) or _connection_fix(probe) or FAILED_FIX,
                     cause=_without_host(reason, (name, address)))
        return entry

    facts, malformed = _facts_shape.conform(facts, _facts_shape.FACTS_SHAPE, 'facts')
    note = previous_note(previous, previous_where)
    previous = _facts_shape.conform(previous, _facts_shape.SNAPSHOT_SHAPE, 'previous')[0]
    probes = _dict(facts.get('probes'))
    missing = _dict(facts.get('missing'))
    environment = _dict(facts.get('environment'))
    blockers = [str(b) for b in _list(environment.get('criu_start_blockers'))]
    missing_required = _list(missing.get('required'))
    unknown = _list(facts.get('unknown'))
    verdict = facts.get('verdict') or 'unknown'
    # The verdict is the facts' own (module_utils/_decide.py); this only names the outcome.
    if facts.get('ready'):
        outcome = 'ready'
    elif verdict == _decide.UNDECIDED:
        outcome = 'undecided'
    else:
        outcome = 'not_ready'

    counts = {}
    for category in CATEGORIES:
        ids = [i for i, p in probes.items() if _dict(p).get('category') == category]
        counts[category] = {
            'total': len(ids),
            'supported': sum(1 for i in ids if _decide.is_met(_dict(probes[i]).get('status'))),
        }
    kernel = _dict(facts.get('kernel'))
    entry.update(
        outcome=outcome,
        verdict=verdict,
        kernel_ready=_decide.kernel_answer(facts.get('ready'), verdict),
        kernel={'release': kernel.get('release'), 'arch': kernel.get('arch')},
        criu=criu_answer(facts),
        runtimes=runtimes_answer(facts),
        missing_required=missing_required + (['criu_start'] if blockers else []),
        start_blockers=blockers,
        missing_extra=_list(missing.get('extra')),
        missing_experimental=_list(missing.get('experimental')),
        unknown=unknown,
        counts=counts,
        facts=facts,
        malformed=malformed,
        drift=drift(previous, facts),
        drift_note=note,
    )
    return entry


def previous_note(previous, where=None):
    """Why the previous snapshot could not be compared (one of another format: an older or newer release of the
    collection wrote it, or something else set criu_fleet_last); None when there is none, or it can be compared."""
    if previous is None:
        return None
    conformed = _facts_shape.conform(previous, _facts_shape.SNAPSHOT_SHAPE, 'previous')[0]
    if conformed is None:
        what = 'a %s, not a snapshot' % type(previous).__name__
    elif 'version' not in conformed:
        what = 'without a format version'
    elif conformed['version'] != SNAPSHOT_VERSION:
        what = 'of format version %d' % conformed['version']
    else:
        return None
    return ('the previous snapshot (%s) is %s, and this release reads version %d: not compared; '
            'this run\'s snapshot replaces it' % (where or 'fact criu_fleet_last', what, SNAPSHOT_VERSION))


def snapshot(facts, generated=None):
    """What the next run compares with (stored in the fact cache as criu_fleet_last)."""
    facts = _dict(facts)
    probes = _dict(facts.get('probes'))
    criu = criu_answer(facts)
    runtimes = runtimes_answer(facts)
    return {
        'version': SNAPSHOT_VERSION,
        'time': generated,
        'kernel': _dict(facts.get('kernel')).get('release'),
        'criu': criu['version'],
        'criu_usable': criu['usable'],
        # None: the facts do not say which runtimes are installed ({}: none is)
        'runtimes': None if runtimes is None else dict((name, r['checkpoint']) for name, r in runtimes.items()),
        'verdict': facts.get('verdict'),
        'ready': bool(facts.get('ready')),
        'supported': sorted(i for i, p in probes.items() if _dict(p).get('status') == 'supported'),
    }


def drift(previous, facts):
    """What changed since the previous snapshot: None when there is none (first run, or no fact cache)."""
    if not isinstance(previous, dict) or previous.get('version') != SNAPSHOT_VERSION:
        return None
    now = snapshot(facts)
    changes = {}
    # Facts that do not say which criu is installed (criu_answer(): installed None) have not seen it change, nor
    # those without runtimes their runtimes; a snapshot of an earlier release without a key has nothing to compare.
    known = ['kernel', 'verdict']
    if criu_answer(_dict(facts))['installed'] is not None:
        known.append('criu')
        # whether it is usable, while the same criu stays (a new one says it by its version), when both runs say
        if previous.get('criu') == now['criu'] and None not in (previous.get('criu_usable'), now['criu_usable']):
            known.append('criu_usable')
    if now['runtimes'] is not None and previous.get('runtimes') is not None:
        known.append('runtimes')
    for key in known:
        if previous.get(key) != now[key]:
            changes[key] = {'before': previous.get(key), 'after': now[key]}
    before, after = set(_list(previous.get('supported'))), set(now['supported'])
    gained, lost = sorted(after - before), sorted(before - after)
    return {'since': previous.get('time'), 'changed': bool(changes or gained or lost),
            'changes': changes, 'gained': gained, 'lost': lost}


def drift_text(d, note=None):
    """The CHANGED cell: what changed, '-' for nothing, 'first run' without a previous snapshot, and 'not compared'
    with one that could not be (note: previous_note())."""
    if d is None:
        return 'not compared' if note else 'first run'
    if not d['changed']:
        return '-'
    parts = []
    for key in ('verdict', 'kernel', 'criu'):
        if key in d['changes']:
            c = d['changes'][key]
            parts.append('%s %s>%s' % (key, c['before'] if c['before'] is not None else 'none',
                                       c['after'] if c['after'] is not None else 'none'))
    if 'criu_usable' in d['changes']:
        c = d['changes']['criu_usable']
        parts.append('criu usable %s>%s' % (_yes(c['before']), _yes(c['after'])))
    if 'runtimes' in d['changes']:
        before, after = d['changes']['runtimes']['before'], d['changes']['runtimes']['after']
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                parts.append('%s %s>%s' % (name, before.get(name) or 'none', after.get(name) or 'none'))
    if d['lost']:
        parts.append('lost %d' % len(d['lost']))
    if d['gained']:
        parts.append('gained %d' % len(d['gained']))
    return ', '.join(parts)


def groups_for(entry):
    """The inventory groups a host joins: criu_<outcome>, and criu_missing_<id> per missing required feature."""
    groups = ['criu_' + entry['outcome']]
    for probe_id in entry.get('missing_required') or []:
        groups.append('criu_missing_' + group_name(probe_id))
    if entry.get('drift') and entry['drift']['changed']:
        groups.append('criu_changed')
    return groups


def _cause_key(probe_id, probe):
    library = _probe_library(probe)
    if library:
        return ('library', library)
    return ('probe', probe_id)


def _same_fix(one, other):
    return bool(one and other) and str(one).rstrip('.') == str(other).rstrip('.')


def causes(entries):
    """What is missing across the fleet, one line per cause: a missing library is one cause for all its probes."""
    found = {}

    def add(key, severity, title, fix, host, probe_id=None):
        cause = found.setdefault(key, {'kind': key[0], 'name': key[1], 'severity': severity, 'title': title,
                                       'fix': fix, 'hosts': [], 'probes': [], 'runtimes': []})
        if CAUSE_ORDER.index(severity) < CAUSE_ORDER.index(cause['severity']):
            cause['severity'] = severity
        if not cause['fix'] and fix:
            cause['fix'] = fix
        if host not in cause['hosts']:
            cause['hosts'].append(host)
        if probe_id and probe_id not in cause['probes']:
            cause['probes'].append(probe_id)
        return cause

    for e in entries:
        host = e['host']
        if e['outcome'] in ('unreachable', 'failed'):
            cause = e.get('cause') or e['reason']
            add((e['outcome'], cause), e['outcome'], cause, e.get('fix'), host)
            continue
        probes = _dict(e['facts'].get('probes'))
        environment = _dict(e['facts'].get('environment'))
        starts = {}
        for blocker in e['start_blockers']:
            starts[blocker] = add(('start', blocker), 'required', 'criu cannot start: ' + blocker,
                                  _decide.start_blocker_fix(blocker, probes, environment), host, 'criu_start')
        for severity, ids in (('required', e['missing_required']), ('undecided', e['unknown']),
                              ('extra', e['missing_extra']), ('experimental', e['missing_experimental'])):
            for probe_id in ids:
                if probe_id == 'criu_start':
                    continue
                probe = _dict(probes.get(probe_id))
                key = _cause_key(probe_id, probe)
                fix = probe.get('fix')
                if key[0] == 'probe' and severity == 'undecided' and probe.get('message'):
                    # Probes that could not decide for the same reason (a permission, a timeout, a crash) are one
                    # cause; their kernel fixes (the registry's) differ and do not fix the reason, so the group
                    # shows only a fix that the result itself gave (a tool to install, a context to change).
                    key = ('unknown', probe.get('message'))
                    title = 'could not decide: %s' % probe.get('message')
                    row = REG.BY_ID.get(probe_id)
                    fix = fix if row is None or fix != row.fix else None
                elif key[0] == 'library':
                    title = 'Python library %s is not available on the host' % key[1]
                else:
                    title = '%s: %s' % (probe_id, probe.get('message') or probe.get('status') or 'missing')
                add(key, severity, title, fix, host, probe_id)
        if e['malformed']:
            add(('facts', 'malformed'), 'undecided', MALFORMED_TITLE, MALFORMED_FIX, host)
        criu = e['criu']
        criu_cause = None
        if criu['installed'] and criu['usable'] is False:
            # Where it stops at a start blocker of the facts (a user without CAP_CHECKPOINT_RESTORE), that is its
            # cause: one line, not a second in criu's words.
            stopped_at = [cause for blocker, cause in starts.items() if blocker in (criu['reason'] or '')]
            criu_cause = stopped_at[0] if stopped_at else add(
                ('criu', criu['reason'] or 'unusable'), 'criu', 'installed criu %s is not usable: %s' % (
                    criu['version'] or '', criu['reason'] or 'no reason given'), criu['fix'], host)
        elif criu['usable'] is False:
            # No criu: nothing can checkpoint there, whatever the kernel has (None: facts too old to say).
            criu_cause = add(('criu', criu['reason']), 'criu', criu['reason'], criu['fix'], host)
        for limit in criu['cannot_dump']:
            # Per release and limit, not per host: the kernel release in each host's reason would split the line.
            add(('cannot_dump', '%s %s' % (criu['version'], limit.get('id'))), 'workload', 'criu %s cannot dump %s: %s'
                % (criu['version'], limit.get('what'), limit.get('why')), limit.get('fix'), host)
        for name, runtime in (e['runtimes'] or {}).items():
            if runtime['checkpoint'] == 'ready':
                continue
            if criu_cause is not None and _same_fix(runtime['fix'], criu['fix']):
                # Stopped by the criu installed there and nothing else (its whole fix is criu's): one cause, whose
                # line names the runtimes it stops, not one more line per runtime with the same fix.
                if name not in criu_cause['runtimes']:
                    criu_cause['runtimes'].append(name)
                continue
            reason = runtime_reasons(runtime) or runtime['checkpoint']
            add(('runtime', name + ': ' + reason), 'runtime', '%s cannot checkpoint (%s): %s' % (
                name, runtime['checkpoint'], reason), runtime['fix'], host)
    return sorted(found.values(), key=lambda c: (CAUSE_ORDER.index(c['severity']), -len(c['hosts']), c['title']))


CAUSE_ORDER = ('unreachable', 'failed', 'required', 'criu', 'undecided', 'runtime', 'workload', 'extra', 'experimental')


# The cell of a pair in the migration matrix: the best mode, or why there is none.
MODE_CELLS = {_pair.PRE_COPY: 'pre-copy', _pair.STOP_AND_COPY: 'stop-copy'}
CORNER = 'from (row) to (column)'


def migration_matrix(entries, hosts):
    """Every ordered pair of ``hosts`` (those among ``entries``; one without facts gets "no facts" cells):
    the decision of _pair.decide() from their facts, and one short cell.
    {'hosts': [...], 'pairs': {src: {dst: {'cell', 'mode', 'possible', 'reasons', 'fixes'}}}}"""
    facts = dict((e['host'], e['facts']) for e in entries if e['host'] in hosts)
    names = [h for h in hosts if h in facts]
    pairs = {}
    for src in names:
        row = pairs.setdefault(src, {})
        for dst in names:
            if src == dst:
                continue
            if facts[src] is None or facts[dst] is None:
                row[dst] = {'cell': 'no facts', 'mode': None, 'possible': None,
                            'reasons': ['no criu_facts from %s' % (src if facts[src] is None else dst)], 'fixes': []}
                continue
            try:
                d = _pair.decide(facts[src], facts[dst], source_name=src, destination_name=dst)
            except _pair.PairError as exc:   # facts without probes (malformed): nothing to decide from
                row[dst] = {'cell': 'cannot tell', 'mode': None, 'possible': None, 'reasons': [str(exc)],
                            'fixes': [MALFORMED_FIX]}
                continue
            cell = MODE_CELLS.get(d['mode']) or ('cannot tell' if d['possible'] is None else 'no')
            row[dst] = {'cell': cell, 'mode': d['mode'], 'possible': d['possible'], 'reasons': d['reasons'],
                        'fixes': d['fixes']}
    return {'hosts': names, 'pairs': pairs}


def render_migration(matrix):
    """The matrix as text lines: sources down, destinations across."""
    names = matrix['hosts']
    if len(names) < 2:
        return []
    first = max(len(CORNER), *(len(n) for n in names))
    widths = [max(len(n), *(len(matrix['pairs'][s][n]['cell']) for s in names if s != n)) for n in names]
    out = ['Migration between these hosts (best mode from source to destination; the reasons are in the JSON):',
           '  ' + CORNER.ljust(first) + '  ' + '  '.join(n.ljust(w) for n, w in zip(names, widths))]
    for src in names:
        cells = [('-' if src == dst else matrix['pairs'][src][dst]['cell']).ljust(w) for dst, w in zip(names, widths)]
        out.append(('  ' + src.ljust(first) + '  ' + '  '.join(cells)).rstrip())
    return out


def host_order(name):
    """The sort key of a host name: its numbers as numbers, so that web2 comes
    before web10 (as a person numbers a fleet), then the name itself."""
    parts = re.split('([0-9]+)', name)
    # re.split() alternates text and digits, so each position holds one type
    return [int(part) if i % 2 else part for i, part in enumerate(parts)], name


def build(entries, generated, inventory, playbook=None, drift_enabled=True, migration_hosts=None):
    """The whole report: entries sorted by outcome then name, counts, causes, probe order."""
    entries = sorted(entries, key=lambda e: (OUTCOMES.index(e['outcome']), host_order(e['host'])))
    probe_ids = {}
    for e in entries:
        for probe_id, probe in _dict(_dict(e['facts']).get('probes')).items():
            category = _dict(probe).get('category')
            if category not in CATEGORIES:
                category = 'feature_only'
            probe_ids.setdefault(probe_id, category)
    ordered = sorted(probe_ids, key=lambda i: (CATEGORIES.index(probe_ids[i]), i))
    counts = dict((o, sum(1 for e in entries if e['outcome'] == o)) for o in OUTCOMES)
    return {
        'generated': generated,
        'inventory': inventory,
        'playbook': playbook,
        'hosts': entries,
        'counts': counts,
        'total': len(entries),
        'changed': sorted((e['host'] for e in entries if e.get('drift') and e['drift']['changed']), key=host_order),
        'causes': causes(entries),
        'probes': [{'id': i, 'category': probe_ids[i]} for i in ordered],
        # False without a persistent fact cache: there is no previous run to compare with
        'drift_enabled': drift_enabled,
        'migration': migration_matrix(entries, migration_hosts) if migration_hosts else None,
    }


def _yes(value):
    return {True: 'yes', False: 'no'}.get(value, '?')


def _short_list(items, width=34):
    text = ','.join(items) if items else '-'
    if len(text) <= width:
        return text
    shown = []
    for item in items:
        if len(','.join(shown + [item])) > width - 4:
            break
        shown.append(item)
    return '%s,+%d' % (','.join(shown), len(items) - len(shown))


def criu_usable_word(criu):
    """Whether the installed criu is usable, in the table's and the CSV's words: yes, no, ? (not said, or facts that
    do not say whether criu is installed), none (no criu)."""
    if criu['installed'] is None:
        return '?'
    return _yes(criu['usable']) if criu['installed'] else 'none'


def _criu_cell(criu):
    if not criu['installed']:
        return criu_usable_word(criu)
    return '%s %s' % (criu_usable_word(criu), criu['version'] or '?')


def runtime_reasons(runtime):
    """A runtime's reasons as one text: they are sentences, each with its full stop."""
    return ' '.join(runtime['reasons'])


def _runtimes_cell(runtimes):
    if runtimes is None:
        return '?'   # facts without a runtimes section: not known, not "none installed"
    if not runtimes:
        return 'none'
    ready = [n for n, r in runtimes.items() if r['checkpoint'] == 'ready']
    return '%d/%d %s' % (len(ready), len(runtimes), _short_list(ready, 20) if ready else '')


HEADER = ('HOST', 'KERNEL READY', 'CRIU USABLE', 'RUNTIMES READY', 'VERDICT', 'KERNEL',
          'MISSING REQUIRED', 'EXTRA', 'UNDECIDED', 'CHANGED')


def table_rows(report):
    rows = []
    for e in report['hosts']:
        if e['outcome'] in ('unreachable', 'failed'):
            # nothing is known of them: '-' would read as "nothing missing" or "nothing changed"
            rows.append((e['host'], '?', '?', '?', e['outcome'], '?', '?', '?', '?', '?'))
            continue
        rows.append((e['host'], _yes(e['kernel_ready']), _criu_cell(e['criu']), _runtimes_cell(e['runtimes']).strip(),
                     e['verdict'], e['kernel']['release'] or '?', _short_list(e['missing_required']),
                     str(len(e['missing_extra'])), str(len(e['unknown'])),
                     drift_text(e['drift'], e.get('drift_note')) if report.get('drift_enabled', True) else 'n/a'))
    return rows


def printable(text):
    """``text`` for a terminal, on one line: control and format characters (an escape sequence, a carriage
    return, a right-to-left override: text a host writes into its facts) shown as Python escapes, so that
    no host can redraw or hide lines of the report."""
    return ''.join(ascii(c)[1:-1] if unicodedata.category(c) in ('Cc', 'Cf') else c for c in str(text))


def render_table(report, files=None, max_hosts_per_cause=4):
    """The terminal report: one line per host, grouped by outcome, then what is missing, by cause."""
    rows = [tuple(printable(cell) for cell in row) for row in table_rows(report)]
    widths = [max(len(HEADER[i]), *(len(r[i]) for r in rows)) if rows else len(HEADER[i]) for i in range(len(HEADER))]

    def line(cells):
        return '  '.join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip()

    counts = ', '.join('%d %s' % (report['counts'][o], OUTCOME_TITLES[o].split(' (', 1)[0])
                       for o in OUTCOMES if report['counts'][o])
    plural = '' if report['total'] == 1 else 's'
    out = ['CRIU fleet report: %d host%s (%s) at %s' % (report['total'], plural, counts or 'none', report['generated'])]
    out.append(line(HEADER))
    current = None
    # The rows are the hosts' in order: a row's name is shown escaped, and is no key to its host.
    for e, row in zip(report['hosts'], rows):
        outcome = e['outcome']
        if outcome != current:
            current = outcome
            out.append('-- %s (%d)' % (OUTCOME_TITLES[outcome], report['counts'][outcome]))
        out.append(line(row))
    if report['causes']:
        out.append('')
        out.append('What is missing, by cause (fix first, then the hosts):')
        for cause in report['causes']:
            hosts = cause['hosts']
            names = ', '.join(hosts[:max_hosts_per_cause]) + (' +%d more' % (len(hosts) - max_hosts_per_cause)
                                                              if len(hosts) > max_hosts_per_cause else '')
            probes = [p for p in cause['probes'] if p != 'criu_start']
            what = cause['title']
            if cause['kind'] in ('library', 'unknown') and probes:
                what += ' (%d probe%s: %s)' % (len(probes), '' if len(probes) == 1 else 's', _short_list(probes, 60))
            out.append('  [%s] %s' % (cause['severity'], what))
            if cause['runtimes']:
                out.append('      so %s cannot checkpoint' % ', '.join(sorted(cause['runtimes'])))
            if cause['fix']:
                out.append('      fix: %s' % cause['fix'])
            out.append('      %d host%s: %s' % (len(hosts), '' if len(hosts) == 1 else 's', names))
    changed = [e for e in report['hosts'] if e.get('drift') and e['drift']['changed']]
    if changed:
        out.append('')
        out.append('Changed since the previous run:')
        for e in changed:
            d = e['drift']
            parts = [drift_text(d)]
            if d['lost']:
                parts.append('lost: ' + ', '.join(d['lost']))
            if d['gained']:
                parts.append('gained: ' + ', '.join(d['gained']))
            out.append('  %s: %s' % (e['host'], '; '.join(parts)))
    notes = [e for e in report['hosts'] if e.get('drift_note')]
    if notes:
        out.append('')
        out.append('Not compared with the previous run:')
        for e in notes:
            out.append('  %s: %s' % (e['host'], e['drift_note']))
    migration = render_migration(report['migration']) if report.get('migration') else []
    if migration:
        out.append('')
        out.extend(migration)
    if files:
        out.append('')
        out.append('Report files: ' + ', '.join(files))
    return '\n'.join(printable(text) for text in out)


def render_json(report):
    """The full report: every host's facts as gathered, its outcome, the three answers, drift; and the causes."""
    doc = dict(report)
    doc['hosts'] = dict((e['host'], e) for e in report['hosts'])
    doc['order'] = [e['host'] for e in report['hosts']]
    return json.dumps(doc, indent=1, sort_keys=True, default=str) + '\n'


def spreadsheet_cell(text):
    """A CSV cell a spreadsheet shows as text: one that starts as a formula would (=, +, -, @, a tab or a
    carriage return; a host writes its own facts) gets a leading ' (OWASP's advice on CSV injection)."""
    return "'" + text if text[:1] in ('=', '+', '-', '@', '\t', '\r') else text


def render_csv(report):
    """host x probe status, with the outcome and the three answers first."""
    ids = [p['id'] for p in report['probes']]
    rows = [['host', 'outcome', 'verdict', 'kernel_ready', 'criu_usable', 'kernel'] + ids]
    for e in report['hosts']:
        if e['facts'] is None:
            rows.append([e['host'], e['outcome'], '', '', '', ''] + [''] * len(ids))
            continue
        probes = _dict(e['facts'].get('probes'))
        rows.append([e['host'], e['outcome'], e['verdict'], _yes(e['kernel_ready']), criu_usable_word(e['criu']),
                     e['kernel']['release'] or ''] + [_dict(probes.get(i)).get('status') or '' for i in ids])
    buf = io.StringIO()
    csv.writer(buf, lineterminator='\n').writerows([spreadsheet_cell(cell) for cell in row] for row in rows)
    return buf.getvalue()
