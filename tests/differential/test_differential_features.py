# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue B: every feature criu 4.1.1 knows (`criu check --feature NAME` exit
code 0 <=> our result is supported), and the verdicts of --extra,
--experimental and --all, context by context."""

import pytest

import _differential as D
from _differential import judge, report_of

# The session's fixture, defined in _differential (no conftest.py here): bound
# in this module so that pytest finds it for the tests below.
oracle = D.oracle

UNDECIDED = ('unknown', 'error')


def compare_feature(criu, res, facts):
    kind, why = D.criu_outcome(criu)
    status = (res or {}).get('status')
    if kind == 'cannot_start':
        env = facts.get('environment') or {}
        if env.get('criu_can_start') is not False:
            return 'criu cannot start (%s); environment.criu_can_start is %r' % (
                why, env.get('criu_can_start'))
        return ''
    if criu['rc'] == 0:
        return '' if status == 'supported' else 'criu: supported, ours: %s' % status
    if status == 'supported':
        return 'criu: not supported (exit %s), ours: supported' % criu['rc']
    if status in UNDECIDED:
        return 'criu: not supported (exit %s), ours: undecided (%s)' % (criu['rc'], status)
    return ''


def compare_unnamed_extra(criu, probe_id, res):
    """(what criu says, the disagreement or '') for an extra check that has no
    --feature name: criu fails it when its --extra output has the line that
    says so (ours must then not be supported), else it passes it."""
    status = (res or {}).get('status')
    line = D.unnamed_extra_failed(criu, probe_id)
    if line:
        problem = '' if status in ('unsupported', 'not_applicable') else 'criu: fails (%s), ours: %s' % (
            line, status)
    else:
        problem = '' if status == 'supported' else 'criu: passes, ours: %s' % status
    return line or 'passes', problem


@pytest.mark.parametrize('feature', D.FEATURES)
@pytest.mark.parametrize('case', list(D.B_CASES))
def test_feature(oracle, case, feature):
    ctx, unpriv = D.B_CASES[case]
    report = report_of(oracle, ctx)
    criu = report['features'][feature]
    results, facts = D.ours(report, 'B:%s:all' % case)
    res = results.get(D.FEATURE_IDS[feature])
    problem = compare_feature(criu, res, facts)
    judge(case, 'feature:' + feature, 'exit %s: %s' % (criu['rc'], D.short(criu)), D.describe(res), problem)


def _explain(criu, results, facts):
    """Which probes make the difference: criu's failure lines, our misses."""
    missing = facts.get('missing') or {}
    unknown = facts.get('unknown') or []
    return 'criu: %s || ours: verdict=%r missing=%r unknown=%r' % (
        D.short(criu, 600), facts.get('verdict'), dict((k, v) for k, v in missing.items() if v), unknown)


@pytest.mark.parametrize('mode', list(D.MODES))
@pytest.mark.parametrize('case', list(D.B_CASES))
def test_verdict(oracle, case, mode):
    ctx, unpriv = D.B_CASES[case]
    report = report_of(oracle, ctx)
    criu = report['criu']['B:%s:%s' % (case, mode)]
    results, facts = D.ours(report, 'B:%s:%s' % (case, mode))
    kind, problem = D.compare_verdict(criu, facts)
    judge(case, 'verdict:' + mode, '%s: %s' % (kind, D.short(criu, 600)),
          'verdict=%r summary=%r missing=%r unknown=%r' % (
              facts.get('verdict'), facts.get('summary'),
              dict((k, v) for k, v in (facts.get('missing') or {}).items() if v), facts.get('unknown')),
          problem)


@pytest.mark.parametrize('feature', D.CRIU_411_LACKS)
def test_criu_411_lacks(oracle, feature):
    """The premise of the feature list: criu 4.1.1 does not know these three."""
    report = report_of(oracle, 'root')
    out = report['features'][feature]
    assert out['rc'] != 0 and 'Unknown feature' in out['stderr'] + out['stdout'], out


@pytest.mark.parametrize('probe_id', D.UNNAMED_EXTRA)
@pytest.mark.parametrize('case', list(D.B_CASES))
def test_unnamed_extra(oracle, case, probe_id):
    """The extra checks without a --feature name (prctl_cat2, posix_timers,
    tun_cr, clone_parent_vs_pid, tcp_window), read from criu's --extra output."""
    ctx, unpriv = D.B_CASES[case]
    report = report_of(oracle, ctx)
    criu = report['criu']['B:%s:--extra' % case]
    kind, why = D.criu_outcome(criu)
    if kind not in ('good', 'good_but'):
        pytest.skip('criu --extra stops before the extra checks here (%s)' % kind)
    results, facts = D.ours(report, 'B:%s:--extra' % case)
    res = results.get(probe_id)
    criu_says, problem = compare_unnamed_extra(criu, probe_id, res)
    judge(case, 'extra:' + probe_id, criu_says, D.describe(res), problem)
