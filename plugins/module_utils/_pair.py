# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Can a process tree migrate from one host to another, and in which mode.

PRIVATE to the criu.check collection: not a public API.

From the ``criu_facts`` of a source and a destination, and what only the pair
can tell (criu's own ``criu cpuinfo check`` of the source's CPU on the
destination, whether the destination's page server is reachable from the
source), ``decide()`` gives one verdict per mode:

* ``pre-copy``: iterative ``criu pre-dump --track-mem`` to a page server on
  the destination, then a final dump and a restore there.  criu refuses
  memory tracking without soft-dirty bits on the source
  (criu/config.c check_options(): "Tracking memory is not available").
* ``stop-and-copy``: one ``criu dump``, the images copied, ``criu restore``.
* ``post-copy``: ``criu dump --lazy-pages`` on the source, ``criu restore
  --lazy-pages`` with ``criu lazy-pages`` on the destination.  Only the
  destination needs userfaultfd with the non-cooperative events
  (criu/uffd.c uffd_open(), uffd_noncooperative()); the source keeps the
  pages in its page pipes and serves them from its own page server
  (criu/cr-dump.c cr_lazy_mem_dump()), which needs no kernel feature beyond
  the dump itself.  The destination connects to the source there, the
  other direction from ``pair.page_server``, so that evidence does not
  apply to post-copy.  Post-copy is never chosen automatically: a
  failure after the restore started loses the process.

Every mode needs, first: criu usable on both sides, both kernels ready
(the required probes; ``_decide.is_ready``), the same architecture, the same
page size (when both facts carry it), a destination criu at least as new as
the source's (a criu reads the images of its own and older releases) and of
the same release series (major.minor: the page servers of two releases were
seen not to talk to each other), the
same cgroup layout (criu restores cgroup properties only into the hierarchy
layout it dumped them from, criu/cgroup.c), and a compatible CPU (from
``pair.cpuinfo`` when given).

Each answer is ``True``, ``False`` or ``None`` (cannot tell: the facts lack
what is needed).  What was not checked at all for want of evidence (no
``pair.cpuinfo``, no ``pair.page_server``, no page size in older facts) is
listed and does not change a verdict.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.criu.check.plugins.module_utils import _criu_options
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _facts_shape
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils._installed_criu import version_tuple
from ansible_collections.criu.check.plugins.module_utils._workloads import BUILTIN as WORKLOADS

PRE_COPY = 'pre-copy'
STOP_AND_COPY = 'stop-and-copy'
POST_COPY = 'post-copy'
MODES = (PRE_COPY, STOP_AND_COPY, POST_COPY)
# Chosen automatically, best first.
AUTOMATIC = (PRE_COPY, STOP_AND_COPY)

PAIR_KEYS = ('cpuinfo', 'page_server')
# The evidence each pair key carries: its boolean, and an optional message.
PAIR_FIELDS = {'cpuinfo': 'compatible', 'page_server': 'reachable'}

# The probes of the source for pre-copy, of the destination for post-copy.
PRE_COPY_PROBES = tuple(WORKLOADS['precopy_migration'])
POST_COPY_PROBES = tuple(WORKLOADS['lazy_migration'])

INSTALL_FIX = 'install criu %s or newer on %s (for example with the criu.check.install role)'
GATHER_FIX = 'gather criu_facts on %s with categories that include it (criu_facts categories: [all])'
REGATHER_FIX = 'gather criu_facts on %s again with this release of the criu.check collection'


# How errors name the two hosts' facts.
SOURCE, DESTINATION = 'the source (the input of the filter)', 'the destination'


class PairError(ValueError):
    """Input that is not what decide() takes; the message says what is valid."""


# ---------------------------------------------------------------- input


def check_facts(facts, what):
    """Raise PairError unless ``facts`` looks like one host's criu_facts."""
    if not isinstance(facts, Mapping):
        raise PairError('%s must be the criu_facts dictionary of a host (ansible_facts.criu_facts, as '
                        'criu.check.criu_facts returns it), not %s' % (what, type(facts).__name__))
    if 'criu_facts' in facts and 'probes' not in facts:
        raise PairError('%s looks like ansible_facts or a host\'s variables: pass its criu_facts '
                        '(ansible_facts.criu_facts) instead' % what)
    if not isinstance(facts.get('probes'), Mapping):
        raise PairError('%s must be the criu_facts dictionary of a host (ansible_facts.criu_facts, as '
                        'criu.check.criu_facts returns it): it has no probes dictionary (keys: %s)'
                        % (what, ', '.join(sorted('%s' % (k,) for k in facts)) or 'none'))


def check_shape(facts, what):
    """check_facts(), then raise PairError naming each value of ``facts`` of an unexpected type
    (_facts_shape).  The criu_migration filter checks its input so; the fleet report reads every
    host's facts through the shape before its migration matrix, so decide() does not repeat it for
    every pair."""
    check_facts(facts, what)
    dropped = _facts_shape.conform(facts, _facts_shape.FACTS_SHAPE, 'facts')[1]
    if dropped:
        raise PairError(_facts_shape.malformed_message(what, dropped))


def check_pair(pair):
    """The pair evidence as a plain dict; raise PairError for what is not valid."""
    if pair is None:
        return {}
    if not isinstance(pair, Mapping):
        raise PairError('pair must be a dictionary with any of the keys %s, not %s'
                        % (', '.join(PAIR_KEYS), type(pair).__name__))
    unknown = sorted('%s' % (k,) for k in pair if k not in PAIR_KEYS)
    if unknown:
        raise PairError('unknown pair key(s): %s (valid: cpuinfo: {compatible: bool, message: str}, '
                        'page_server: {reachable: bool, message: str})' % ', '.join(unknown))
    out = {}
    for key, value in pair.items():
        if value is None:
            continue
        field = PAIR_FIELDS[key]
        if not isinstance(value, Mapping) or not isinstance(value.get(field), bool):
            raise PairError('pair.%s must be a dictionary with %s: true or false (and optionally message: '
                            'criu\'s words), not %r' % (key, field, value))
        message = value.get('message')
        if message is not None and not isinstance(message, str):
            raise PairError('pair.%s.message must be a string, not %r' % (key, message))
        out[key] = {field: value[field], 'message': (message or '').strip()}
    return out


# ---------------------------------------------------------------- checks

class _Checks(object):
    """The answers, each ``{'id', 'ok', 'reason', 'fix', 'modes'}``, and
    what was not checked."""

    def __init__(self):
        self.items = []
        self.not_checked = []

    def add(self, check_id, ok, modes, reason=None, fix=None):
        self.items.append({'id': check_id, 'ok': ok, 'modes': modes, 'reason': reason, 'fix': fix})

    def skip(self, check_id):
        if check_id not in self.not_checked:
            self.not_checked.append(check_id)


def _sentence(text):
    text = ('%s' % (text,)).strip()
    return text.rstrip('.') if text else text


def _section(facts, key):
    """The facts' ``key`` section (criu, environment, kernel), or {} when they carry none."""
    value = facts.get(key)
    return value if isinstance(value, Mapping) else {}


def _criu_usable(checks, facts, side):
    criu = _section(facts, 'criu')
    if 'usable' not in criu:
        return checks.add('criu_usable', None, MODES, 'cannot tell whether criu is usable on %s: its facts carry no '
                          'criu (gathered without the installed criu\'s check)' % side,
                          'gather criu_facts on %s with the installed criu\'s check' % side)
    if criu.get('usable'):
        return checks.add('criu_usable', True, MODES)
    reason = _sentence(criu.get('reason') or 'its own check did not pass')
    checks.add('criu_usable', False, MODES, 'criu is not usable on %s: %s' % (side, reason),
               _sentence(criu.get('fix')) or None)


def _kernel_ready(checks, facts, side):
    probes = facts['probes']
    required = [p.id for p in REG.PROBES if p.category == REG.REQUIRED]
    absent = [i for i in required if not isinstance(probes.get(i), Mapping)]
    if absent:
        return checks.add('kernel_ready', None, MODES, 'cannot tell whether the kernel of %s is ready: its facts '
                          'lack the required probe(s) %s' % (side, ', '.join(absent)), GATHER_FIX % side)
    if _decide.is_ready(probes, _decide.start_blockers(_section(facts, 'environment'), probes)):
        return checks.add('kernel_ready', True, MODES)
    items = _decide.unmet(facts, require_ready=True, require_can_start=True)
    ok = None if items and all(_decide.is_undecided(i['status']) for i in items) else False
    what = 'cannot tell whether the kernel of %s is ready' if ok is None else 'the kernel of %s is not ready for criu'
    fixes = [i['fix'] for i in items if i['fix']]
    checks.add('kernel_ready', ok, MODES, '%s: %s' % (what % side, '; '.join(_sentence(i['line']) for i in items)),
               '; '.join(_dedupe(fixes)) or None)


def _arch(facts):
    for where in ('kernel', 'environment'):
        value = _section(facts, where)
        if value.get('arch'):
            return True, value['arch']
    return False, None


def _environment(facts, key):
    """(present, value) of an environment fact."""
    environment = _section(facts, 'environment')
    if key not in environment:
        return False, None
    return True, environment[key]


def _same(checks, check_id, src, dst, names, what, why, fix, unknown=None):
    """src and dst are (present, value); a value of None is not known
    (``unknown`` says why) unless both are None."""
    for (present, value), side in ((src, names[0]), (dst, names[1])):
        if not present:
            return checks.add(check_id, None, MODES, 'cannot tell whether the %s is the same: the facts of %s do '
                              'not carry it' % (what, side), REGATHER_FIX % side)
    src, dst = src[1], dst[1]
    if src is None and dst is None:
        return checks.add(check_id, True, MODES)
    if src is None or dst is None:
        side = names[0] if src is None else names[1]
        return checks.add(check_id, None, MODES, 'cannot tell whether the %s is the same: it is not known on %s%s'
                          % (what, side, ' (%s)' % unknown if unknown else ''), None)
    if src == dst:
        return checks.add(check_id, True, MODES)
    reason = 'the %s differs: %s on %s, %s on %s (%s)' % (what, src, names[0], dst, names[1], why)
    checks.add(check_id, False, MODES, reason, fix)


def _criu_version(checks, src, dst, names):
    versions, installed = [], []
    for facts in (src, dst):
        criu = _section(facts, 'criu')
        versions.append(criu.get('version'))
        installed.append(criu.get('installed'))
    parsed = [version_tuple(v) for v in versions]
    if None in parsed:
        side = names[parsed.index(None)]
        if installed[parsed.index(None)] is False:
            # criu_usable says it is not installed, with the fix.
            return checks.skip('criu_version')
        return checks.add('criu_version', None, MODES, 'cannot tell whether criu on %s can read the images: the '
                          'criu version of %s is not known' % (names[1], side),
                          'install criu on %s (for example with the criu.check.install role)' % side)
    if parsed[1] < parsed[0]:
        return checks.add('criu_version', False, MODES, 'criu %s on %s is older than criu %s on %s: images are read '
                          'by the criu that wrote them or a newer one' % (versions[1], names[1], versions[0], names[0]),
                          INSTALL_FIX % (versions[0], names[1]))
    checks.add('criu_version', True, MODES)
    # Every mode moves memory between two criu processes over criu's page-server protocol,
    # which carries no version: a dump by criu 4.1.1 to the page server of criu 4.2.1 hung
    # (tests/vm/test_vm_migration.py).  Only one release series on both sides is known to work.
    if parsed[0][:2] != parsed[1][:2]:
        checks.add('criu_release', False, MODES, 'criu %s on %s and criu %s on %s are different releases: their page '
                   'servers do not talk to each other (criu\'s page-server protocol carries no version; 4.1 to 4.2 '
                   'was seen to hang)' % (versions[0], names[0], versions[1], names[1]),
                   'install the same criu release (%s) on both hosts' % '.'.join(str(n) for n in parsed[1][:2]))
    else:
        checks.add('criu_release', True, MODES)


def _cpuinfo(checks, pair, names):
    if 'cpuinfo' not in pair:
        return checks.skip('cpuinfo')
    evidence = pair['cpuinfo']
    if evidence['compatible']:
        return checks.add('cpuinfo', True, MODES)
    message = evidence['message'] or 'criu cpuinfo check failed'
    checks.add('cpuinfo', False, MODES, 'the CPU of %s lacks what the CPU of %s offers (criu cpuinfo check on %s: %s)'
               % (names[1], names[0], names[1], _sentence(' '.join(message.splitlines()))),
               'choose a destination whose CPU has every feature of the source\'s CPU (the same model or a newer '
               'one of the same vendor)')


def _page_server(checks, pair, names):
    if 'page_server' not in pair:
        return checks.skip('page_server')
    evidence = pair['page_server']
    if evidence['reachable']:
        return checks.add('page_server', True, (PRE_COPY, STOP_AND_COPY))
    message = ': %s' % _sentence(evidence['message']) if evidence['message'] else ''
    checks.add('page_server', False, (PRE_COPY, STOP_AND_COPY),
               'the page server on %s cannot be reached from %s%s' % (names[1], names[0], message),
               'open the page server\'s TCP port on %s to %s, or give an address of %s that %s can reach'
               % (names[1], names[0], names[1], names[0]))


def _criu_dump(checks, facts, options, side):
    """What ``options`` (criu_options) say the tree holds, against what the criu of ``facts`` cannot dump on its
    kernel (criu_facts.criu.cannot_dump): every mode dumps on the source.  Nothing is checked when the options say
    nothing of the kind."""
    held = _criu_options.held(options)
    if not held:
        return
    criu = _section(facts, 'criu')
    if criu.get('usable') is not True:
        return      # criu_usable answers for it
    limits = [limit for limit in criu.get('cannot_dump') or [] if isinstance(limit, Mapping) and limit.get('id') in held]
    if not limits:
        return checks.add('criu_dump', True, MODES)
    for limit in limits:
        given = ', '.join('criu_options.%s' % name for name in held[limit['id']])
        checks.add('criu_dump', False, MODES, 'with %s the tree holds what criu on %s cannot dump: %s'
                   % (given, side, _sentence(limit.get('reason') or limit['id'])), _sentence(limit.get('fix')) or None)


def _probes(checks, facts, ids, side, mode):
    probes = facts['probes']
    for probe_id in ids:
        probe = probes.get(probe_id)
        if not isinstance(probe, Mapping):
            checks.add(probe_id, None, (mode,), 'cannot tell whether %s has %s: its facts lack that probe'
                       % (side, probe_id), GATHER_FIX % side)
            continue
        status = probe.get('status')
        if _decide.is_met(status):
            checks.add(probe_id, True, (mode,))
            continue
        message = _sentence(probe.get('message') or '')
        said = ': ' + message if message else ''
        if _decide.is_undecided(status):
            checks.add(probe_id, None, (mode,), 'cannot tell whether %s has %s (%s)%s'
                       % (side, probe_id, status, said), _sentence(probe.get('fix')) or None)
        else:
            checks.add(probe_id, False, (mode,), '%s on %s: %s%s' % (probe_id, side, status, said),
                       _sentence(probe.get('fix')) or None)


def _dedupe(items):
    out = []
    for item in items:
        if item and item not in out:
            out.append(item)
    return out


def _verdict(items):
    oks = [i['ok'] for i in items]
    if False in oks:
        return False
    if None in oks:
        return None
    return True


# ---------------------------------------------------------------- the decision


def decide(source, destination, pair=None, source_name='source', destination_name='destination', criu_options=None):
    """The migration verdict for one pair (of a tree to be dumped with ``criu_options``, the modules' and the
    migrate role's)::

        {'possible': True | False | None, 'mode': 'pre-copy' | 'stop-and-copy' | None,
         'modes': {MODE: {'ok': True | False | None, 'reasons': [...], 'fixes': [...]}},
         'reasons': [...], 'fixes': [...], 'checked': [check ids], 'not_checked': [check ids]}

    ``mode`` is the best mode that works, pre-copy before stop-and-copy;
    post-copy is never chosen.  ``possible`` is None when no mode is known
    to work and one cannot be told.  The top-level ``reasons`` and ``fixes``
    are those of pre-copy and stop-and-copy, once each; a reason of pre-copy
    alone starts with ``pre-copy: ``.  Raises PairError for bad input.
    """
    check_facts(source, SOURCE)
    check_facts(destination, DESTINATION)
    evidence = check_pair(pair)
    problem = _criu_options.check(criu_options)
    if problem:
        raise PairError(problem)
    names = ('%s' % (source_name,), '%s' % (destination_name,))
    checks = _Checks()
    for facts, side in ((source, names[0]), (destination, names[1])):
        _criu_usable(checks, facts, side)
    for facts, side in ((source, names[0]), (destination, names[1])):
        _kernel_ready(checks, facts, side)
    _same(checks, 'arch', _arch(source), _arch(destination), names, 'architecture',
          'criu restores only on the architecture it dumped', 'migrate between hosts of the same architecture')
    sizes = [_environment(facts, 'page_size') for facts in (source, destination)]
    if all(present and value for present, value in sizes):
        _same(checks, 'page_size', sizes[0], sizes[1], names, 'page size',
              'the images hold memory in pages of the source\'s size',
              'migrate between hosts whose kernels use the same page size')
    else:
        checks.skip('page_size')
    _criu_version(checks, source, destination, names)
    _criu_dump(checks, source, criu_options, names[0])
    _same(checks, 'cgroup', _environment(source, 'cgroup'), _environment(destination, 'cgroup'), names,
          'cgroup layout', 'criu restores cgroup properties only into the layout it dumped them from',
          'boot both hosts with the same cgroup layout (systemd.unified_cgroup_hierarchy)',
          unknown='no cgroup file system is mounted on /sys/fs/cgroup there')
    _cpuinfo(checks, evidence, names)
    _page_server(checks, evidence, names)
    _probes(checks, source, PRE_COPY_PROBES, names[0], PRE_COPY)
    _probes(checks, destination, POST_COPY_PROBES, names[1], POST_COPY)

    modes = {}
    for mode in MODES:
        items = [i for i in checks.items if mode in i['modes']]
        modes[mode] = {'ok': _verdict(items),
                       'reasons': _dedupe(i['reason'] for i in items if i['ok'] is not True),
                       'fixes': _dedupe(i['fix'] for i in items if i['ok'] is not True)}
    chosen = None
    for mode in AUTOMATIC:
        if modes[mode]['ok'] is True:
            chosen = mode
            break
    if chosen:
        possible = True
    elif any(modes[m]['ok'] is None for m in AUTOMATIC):
        possible = None
    else:
        possible = False
    reasons, fixes = [], []
    for item in checks.items:
        if item['ok'] is True or not any(m in item['modes'] for m in AUTOMATIC):
            continue
        only_pre_copy = STOP_AND_COPY not in item['modes']
        reasons.append(('%s: %s' % (PRE_COPY, item['reason'])) if only_pre_copy else item['reason'])
        fixes.append(item['fix'])
    checked = _dedupe(i['id'] for i in checks.items if i['ok'] is not None)
    not_checked = _dedupe(list(checks.not_checked) + [i['id'] for i in checks.items
                                                      if i['ok'] is None and i['id'] not in checked])
    return {'possible': possible, 'mode': chosen, 'modes': modes, 'reasons': _dedupe(reasons),
            'fixes': _dedupe(fixes), 'checked': checked, 'not_checked': not_checked}
