# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 9's system calls taken away, in a VM as on the host: the cases of
tests/differential/test_seccomp.py (one system call failing with ENOSYS,
then EPERM, through a seccomp filter on criu and on our engine alike) on
Debian's 7.2 kernel against criu 4.2.1, whose newer feature names join the
calls they depend on (_vm.SECCOMP_ADDED_IN_42) and whose start-up makes one
call more (_vm.SECCOMP_CALLS_42).  The host runs the
same cases against criu 4.1.1 on its own kernel.

A case id is ``sid-seccomp/seccomp-CALL-ERRNO/root/4.2.1``; the comparisons
are test_seccomp.py's, and a disagreement is judged as every VM case is
(KNOWN of _vm.py, docs/differential.md)."""

import pytest

import _vm as V
from _vm import judge, report_of

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
    S.judge_check(case, run['criu']['A'], run, judge)


@pytest.mark.parametrize('case,feature', FEATURE_CASES)
def test_feature(vms, case, feature):
    """`criu check --feature NAME` under the filter against our probe."""
    S.judge_feature(case, feature, report_of(vms, case), judge)


@pytest.mark.parametrize('case', CASES)
def test_filter_applied(vms, case):
    """inside_root.py put the case's filter before its commands and ran
    without one itself, and where our engine reported, its process was in
    seccomp filter mode."""
    run = report_of(vms, case)
    assert run['wrap'][:2] == ['python3', V.SECCOMP_DENY], run['wrap']
    assert run['identity']['status'].get('Seccomp') == '0', run['identity']
    results, facts = S.ours(run)
    if results is not None:
        assert (facts.get('environment') or {}).get('seccomp') == 2, facts.get('environment')


def test_no_traceback(vms):
    """Whatever the filter breaks, our engine reports it: no Python traceback
    from run_probes.py (a Python that cannot start at all is not ours)."""
    bad = S.tracebacks((case, report_of(vms, case)) for case in CASES)
    assert not bad, '\n'.join(bad)
