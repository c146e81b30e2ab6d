# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue A: `criu check` (the required category) against criu_ready,
missing.required and environment.criu_can_start, context by context."""

import pytest

import _differential as D
from _differential import judge, report_of

# The session's fixture, defined in _differential (no conftest.py here): bound
# in this module so that pytest finds it for the tests below.
oracle = D.oracle


def compare_required(kind, why, criu, results, facts):
    """What is wrong with our facts, given criu's outcome ('' when nothing)."""
    env = facts.get('environment') or {}
    missing = (facts.get('missing') or {}).get('required')
    problems = []
    if kind == 'cannot_start':
        if facts.get('ready') is not False:
            problems.append('criu cannot start (%s) but ready is %r' % (why, facts.get('ready')))
        if env.get('criu_can_start') is not False:
            problems.append('criu cannot start (%s) but environment.criu_can_start is %r'
                            % (why, env.get('criu_can_start')))
        blockers = env.get('criu_start_blockers')
        if not blockers or not all(isinstance(b, str) and b for b in blockers):
            problems.append('criu cannot start (%s) but environment.criu_start_blockers is %r'
                            % (why, blockers))
        return '; '.join(problems)
    if env.get('criu_can_start') is not True:
        problems.append('criu starts but environment.criu_can_start is %r (blockers %r)'
                        % (env.get('criu_can_start'), env.get('criu_start_blockers')))
    if kind == 'good':
        bad = ['%s: %s' % (pid, D.describe(results.get(pid))) for pid in D.REQUIRED
               if (results.get(pid) or {}).get('status') != 'supported']
        if bad:
            problems.append('criu says "Looks good." but these required probes are not supported: '
                            + '; '.join(bad))
        if facts.get('ready') is not True:
            problems.append('criu says "Looks good." but ready is %r' % facts.get('ready'))
    elif kind == 'bad':
        lines = D.failure_lines(criu)
        pid, how, line = D.probe_for_failure(lines, results)
        if pid is None:
            problems.append('criu failed with %r, which no required probe message matches' % line)
        else:
            if missing is None or pid not in missing:
                problems.append('criu stops at %s (%r, matched by %s) but missing.required is %r'
                                % (pid, line, how, missing))
            earlier = ['%s: %s' % (p, D.describe(results.get(p))) for p in D.REQUIRED[:D.REQUIRED.index(pid)]
                       if (results.get(p) or {}).get('status') != 'supported']
            if earlier:
                problems.append('criu passed every check before %s, we did not: %s'
                                % (pid, '; '.join(earlier)))
        if facts.get('ready') is not False:
            problems.append('criu says "Does not look good." but ready is %r' % facts.get('ready'))
    else:
        problems.append('unexpected criu outcome %s %s' % (kind, why))
    return '; '.join(problems)


@pytest.mark.parametrize('case', list(D.A_CASES))
def test_required(oracle, case):
    ctx, unpriv = D.A_CASES[case]
    report = report_of(oracle, ctx)
    criu = report['criu']['A:' + case]
    results, facts = D.ours(report, 'A:' + case)
    kind, why = D.criu_outcome(criu)
    problem = compare_required(kind, why, criu, results, facts)
    env = facts.get('environment') or {}
    we_say = 'ready=%r verdict=%r missing.required=%r criu_can_start=%r blockers=%r' % (
        facts.get('ready'), facts.get('verdict'), (facts.get('missing') or {}).get('required'),
        env.get('criu_can_start'), env.get('criu_start_blockers'))
    judge(case, 'check', '%s: %s' % (kind, D.short(criu)), we_say, problem)


# The installed criu (criu 4.1.1 of the root) as criu_facts.criu reports it,
# against the probes' verdict: a disagreement fails unless it is listed here,
# with the reason (docs/differential.md).
DOCUMENTED_CRIU_DISAGREEMENTS = {}


@pytest.mark.parametrize('case', list(D.A_CASES))
def test_installed_criu_agrees_with_the_probes(oracle, case):
    report = report_of(oracle, D.A_CASES[case][0])
    dummy, facts = D.ours(report, 'A:' + case)
    criu = facts.get('criu') or {}
    problems = []
    if not criu.get('installed') or criu.get('version') != D.CRIU_VERSION:
        problems.append('the installed criu is %r %r, not criu %s' % (criu.get('installed'), criu.get('version'),
                                                                      D.CRIU_VERSION))
    if criu.get('agrees') is False and case not in DOCUMENTED_CRIU_DISAGREEMENTS:
        problems.append('undocumented disagreement: %r' % (criu.get('disagreements'),))
    if facts.get('usable') != bool(facts.get('ready') and criu.get('usable')):
        problems.append('criu_usable %r is not criu_ready %r and criu.usable %r'
                        % (facts.get('usable'), facts.get('ready'), criu.get('usable')))
    if case == 'root' and facts.get('usable') is not True:
        problems.append('as root in the Debian 13 root, criu %s works: criu_usable must be true' % D.CRIU_VERSION)
    check = criu.get('check') or {}
    criu_says = 'criu %s check: %s %s' % (criu.get('version'), check.get('verdict'), check.get('messages'))
    we_say = 'probes: %s, agrees=%r' % (facts.get('verdict'), criu.get('agrees'))
    judge(case, 'installed criu', criu_says, we_say, '; '.join(problems))
