# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 9's system calls taken away, in a VM as on the host: the cases of
tests/differential/test_seccomp.py (one system call failing with ENOSYS,
then EPERM, through a seccomp filter on criu and on our engine alike) on
Debian's 7.2 kernel against criu 4.2.1, whose three newer feature names
join the calls they depend on (_vm.SECCOMP_ADDED_IN_42).  The host runs the
same cases against criu 4.1.1 on its own kernel.

A case id is ``sid-seccomp/seccomp-CALL-ERRNO/root/4.2.1``; the comparisons
are test_seccomp.py's, and a disagreement is judged as every VM case is
(KNOWN of _vm.py, docs/differential.md)."""

import pytest

import _vm as V
from _vm import judge, report_of

import _differential as D
import test_seccomp as S

# The session's fixture, defined in _vm (no conftest.py here).
vms = V.vms

CASES = ['%s/%s/root/4.2.1' % (V.SECCOMP_BOOT, step) for step in V.seccomp_cases()]
FEATURE_CASES = [(case, f) for case in CASES for f in V.seccomp_features(V.split(case)[1])]


@pytest.mark.parametrize('case', CASES)
def test_check(vms, case):
    """`criu check` under the filter against ready / criu_can_start and the
    required probes that say why."""
    run = report_of(vms, case)
    criu = run['criu']['A']
    results, facts = S.ours(run)
    if results is None:
        judge(case, 'check', D.short(criu), facts, S._cannot_run(criu, facts))
        return
    env = facts.get('environment') or {}
    judge(case, 'check', '%s: %s' % (D.criu_outcome(criu)[0], D.short(criu)),
          'ready=%r missing.required=%r unknown=%r criu_can_start=%r' % (
              facts.get('ready'), (facts.get('missing') or {}).get('required'), facts.get('unknown'),
              env.get('criu_can_start')), S.compare_check(criu, results, facts))


@pytest.mark.parametrize('case,feature', FEATURE_CASES)
def test_feature(vms, case, feature):
    """`criu check --feature NAME` under the filter against our probe."""
    run = report_of(vms, case)
    criu = run['features'][feature]
    results, facts = S.ours(run)
    if results is None:
        judge(case, 'feature:' + feature, D.short(criu), facts, S._cannot_run(criu, facts))
        return
    res = results.get(D.FEATURE_IDS[feature])
    judge(case, 'feature:' + feature, 'exit %s: %s' % (criu['rc'], D.short(criu)), D.describe(res),
          S.compare_one(criu, res, facts))


@pytest.mark.parametrize('case', CASES)
def test_filter_applied(vms, case):
    """The filter was on both sides: criu's version command ran under it
    (inside_root.py puts it before every command), and where our engine
    reported, its process was in seccomp filter mode; inside_root.py itself
    ran without one."""
    run = report_of(vms, case)
    assert run['wrap'][:2] == ['python3', V.SECCOMP_DENY], run['wrap']
    assert run['identity']['status'].get('Seccomp') == '0', run['identity']
    results, facts = S.ours(run)
    if results is not None:
        assert (facts.get('environment') or {}).get('seccomp') == 2, facts.get('environment')


def test_no_traceback(vms):
    """Whatever the filter breaks, our engine reports it: no Python traceback
    from run_probes.py (a Python that cannot start at all is not ours)."""
    bad = []
    for case in CASES:
        err = report_of(vms, case)['probes']['all'].get('stderr') or ''
        if 'Traceback (most recent call last)' in err:
            bad.append('%s: %s' % (case, err[-800:]))
    assert not bad, '\n'.join(bad)
