# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu 4.2.1 and 4.1.1 against criu.check on Debian's kernels 5.10, 6.1,
6.12 and 7.2 (QEMU), in four contexts and with features taken away: the
comparisons of tests/differential, per (boot, step, context, criu version).

A case id is BOOT/STEP/CONTEXT/CRIU, e.g. ``sid/yama-2/nonroot-cr/4.2.1``;
BOOT is the Debian suite whose kernel runs (``sid+ia32_emulation=0``: with
that boot parameter), STEP the variant (``base``: nothing changed)."""

import pytest

import _vm as V
from _vm import judge, report_of

import _differential as D
from test_differential_features import compare_feature, compare_unnamed_extra
from test_differential_required import compare_required

# The session's fixture, defined in _vm (no conftest.py here).
vms = V.vms

CASES = V.cases()
FEATURE_CASES = [(c, f) for c in CASES for f in V.features_of(c)]


@pytest.mark.parametrize('case', CASES)
def test_required(vms, case):
    """`criu check` (with --unprivileged where the context needs it) against
    ready / missing.required / environment.criu_can_start."""
    run = report_of(vms, case)
    criu = run['criu']['A']
    results, facts = V.ours(vms, case, 'A')
    kind, why = D.criu_outcome(criu)
    problem = compare_required(kind, why, criu, results, facts)
    env = facts.get('environment') or {}
    judge(case, 'check', '%s: %s' % (kind, D.short(criu)),
          'ready=%r verdict=%r missing.required=%r criu_can_start=%r' % (
              facts.get('ready'), facts.get('verdict'), (facts.get('missing') or {}).get('required'),
              env.get('criu_can_start')), problem)


@pytest.mark.parametrize('mode', list(D.MODES))
@pytest.mark.parametrize('case', CASES)
def test_verdict(vms, case, mode):
    """The verdicts of --extra, --experimental and --all."""
    run = report_of(vms, case)
    criu = run['criu']['B:' + mode]
    results, facts = V.ours(vms, case, 'B:' + mode)
    kind, problem = D.compare_verdict(criu, facts)
    judge(case, 'verdict:' + mode, '%s: %s' % (kind, D.short(criu, 600)),
          'verdict=%r missing=%r unknown=%r' % (
              facts.get('verdict'), dict((k, v) for k, v in (facts.get('missing') or {}).items() if v),
              facts.get('unknown')), problem)


@pytest.mark.parametrize('case,feature', FEATURE_CASES)
def test_feature(vms, case, feature):
    """`criu check --feature NAME` exits 0 exactly when ours is supported."""
    run = report_of(vms, case)
    criu = run['features'][feature]
    results, facts = V.ours(vms, case, 'all')
    res = results.get(D.FEATURE_IDS[feature])
    problem = compare_feature(criu, res, facts)
    judge(case, 'feature:' + feature, 'exit %s: %s' % (criu['rc'], D.short(criu)), D.describe(res), problem)


@pytest.mark.parametrize('probe_id', D.UNNAMED_EXTRA)
@pytest.mark.parametrize('case', CASES)
def test_unnamed_extra(vms, case, probe_id):
    """The extra checks without a --feature name, read from criu's --extra output."""
    run = report_of(vms, case)
    criu = run['criu']['B:--extra']
    kind, why = D.criu_outcome(criu)
    if kind not in ('good', 'good_but'):
        pytest.skip('criu --extra stops before the extra checks here (%s)' % kind)
    results, facts = V.ours(vms, case, 'B:--extra')
    res = results.get(probe_id)
    criu_says, problem = compare_unnamed_extra(criu, probe_id, res)
    judge(case, 'extra:' + probe_id, criu_says, D.describe(res), problem)


@pytest.mark.parametrize('feature', D.CRIU_411_LACKS)
@pytest.mark.parametrize('boot', V.SUITES)
def test_criu_411_lacks(vms, boot, feature):
    """The premise of the 4.1.1 feature list: it does not know these three."""
    out = report_of(vms, '%s/base/root/4.1.1' % boot)['features'][feature]
    assert out['rc'] != 0 and 'Unknown feature' in out['stderr'] + out['stdout'], out
