# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Decision cases the other unit tests left open: each asserts an answer an operator sees (a verdict, a
summary, a facts key, an unmet item, a fix) that a small change in _decide, _aggregate, _result, the
criu_unmet filter or _facts_shape would get wrong without another test noticing.  Statuses are given
here: the kernel cannot be made to fail a required probe on demand."""

import errno
import os

import pytest
import yaml

import conftest
from test_aggregate import ENV_OK, KERNEL, results

from ansible_collections.criu.check.plugins.filter import criu_unmet as F
from ansible_collections.criu.check.plugins.module_utils import _aggregate as A
from ansible_collections.criu.check.plugins.module_utils import _decide as D
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils import _facts_shape as S
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, CAP_SYS_PTRACE

# conftest is imported first for its side effect: it puts the collection on sys.path.
COLLECTIONS = conftest.COLLECTIONS

ROOT_CAPS = (1 << 41) - 1


def kerndat_step(message='uffd: ENOSYS', errno_name='ENOSYS'):
    return {'status': R.UNSUPPORTED, 'message': message,
            'evidence': {R.KERNDAT_FLAG: True, 'errno_name': errno_name}}


# ---------------------------------------------------------------- _aggregate: the facts


def test_a_kerndat_step_the_probes_saw_fail_is_a_start_blocker_in_the_environment_facts():
    """The environment gathered no blocker, but a probe saw a start-up step fail: the facts' environment
    (which criu_unmet and the require role read) must say that criu cannot start, and why."""
    res = results()
    res['uffd'] = kerndat_step()
    facts = A.facts(res, dict(ENV_OK), KERNEL, None)
    assert facts['environment']['criu_can_start'] is False
    assert facts['environment']['criu_start_blockers'] == [D.KERNDAT_FAILED + ' (uffd: uffd: ENOSYS)']
    assert (facts['verdict'], facts['ready']) == (D.BAD, False)
    items = F.criu_unmet(facts, require_ready=False)
    assert [(i['id'], i['message']) for i in items] == [(D.CRIU_START, D.KERNDAT_FAILED + ' (uffd: uffd: ENOSYS)')]


@pytest.mark.parametrize('compat_cr, foreign, blocked', [
    (R.SUPPORTED, True, True), (R.UNSUPPORTED, True, False), (R.SUPPORTED, False, False), (R.SUPPORTED, None, False)])
def test_a_proc_of_another_pid_namespace_blocks_criu_where_it_forks_its_compat_vdso_helper(compat_cr, foreign, blocked):
    """criu looks its compat vDSO helper up in /proc by pid only where the kernel can restore 32-bit tasks
    (compat_cr); elsewhere a foreign /proc stops nothing of its start-up.  start_blockers() runs twice on
    the same environment (_check.run, then _aggregate.facts): one line, not two."""
    res = results()
    res['compat_cr'] = {'status': compat_cr, 'message': '', 'evidence': {}}
    env = dict(ENV_OK, proc_of_other_pid_namespace=foreign)
    env['criu_start_blockers'] = D.start_blockers(env, res)
    facts = A.facts(res, env, KERNEL, None)
    blocker = '%s %s' % (D.KERNDAT_FAILED, D.FOREIGN_PROC)
    assert facts['environment']['criu_start_blockers'] == ([blocker] if blocked else [])
    assert (facts['verdict'] == D.BAD) is blocked, facts['summary']
    assert D.start_blocker_fix(blocker) == _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX


def test_the_config_values_of_each_probe_are_in_its_entry():
    values = {'mem_dirty_track': {'CONFIG_MEM_SOFT_DIRTY': 'n'}}
    facts = A.facts(results(), ENV_OK, KERNEL, None, config_values=values)
    assert facts['probes']['mem_dirty_track']['config_values'] == {'CONFIG_MEM_SOFT_DIRTY': 'n'}
    assert facts['probes']['ns_last_pid']['config_values'] == {}
    assert A.facts(results(), ENV_OK, KERNEL, None)['probes']['mem_dirty_track']['config_values'] == {}


def test_the_environment_s_fix_comes_before_the_probe_s_and_the_registry_s():
    """On WSL 1 a rebuilt kernel fixes nothing: the facts give the environment's fix, even over the probe's own."""
    res = results(ns_last_pid=R.UNSUPPORTED)
    res['ns_last_pid']['fix'] = 'the probe\'s own fix'
    env = dict(ENV_OK, wsl=1)
    assert A.facts(res, env, KERNEL, None)['probes']['ns_last_pid']['fix'] == _environment_fix.WSL1_FIX
    assert A.facts(res, ENV_OK, KERNEL, None)['probes']['ns_last_pid']['fix'] == 'the probe\'s own fix'


def test_a_probe_without_a_first_kernel_has_kernel_min_null():
    facts = A.facts(results(), ENV_OK, KERNEL, None)
    assert REG.BY_ID['breakpoints'].kernel_min == ''
    assert facts['probes']['breakpoints']['kernel_min'] is None
    assert facts['probes']['ns_last_pid']['kernel_min'] == '3.3'


# ---------------------------------------------------------------- _result: what a probe returns


def test_a_probe_s_own_fix_reaches_the_facts_and_only_when_it_has_one():
    res = results()
    res['sock_diag'] = R.unknown('no pyroute2', {'library': 'pyroute2'}, fix='install python3-pyroute2')
    res['tcp'] = R.unsupported('no tcp repair', fix='load the module')
    res['kcmp'] = R.error('the child died')
    res['apparmor_stacking'] = R.not_applicable('no AppArmor')
    facts = A.facts(res, ENV_OK, KERNEL, None)
    probes = facts['probes']
    assert (probes['sock_diag']['status'], probes['sock_diag']['fix']) == (R.UNKNOWN, 'install python3-pyroute2')
    assert (probes['tcp']['status'], probes['tcp']['fix']) == (R.UNSUPPORTED, 'load the module')
    assert (probes['kcmp']['status'], probes['kcmp']['message']) == (R.ERROR, 'the child died')
    assert probes['apparmor_stacking']['status'] == R.NOT_APPLICABLE
    assert 'fix' not in R.unsupported('no tcp repair') and 'fix' not in R.unknown('why')
    assert facts['unknown'] == ['sock_diag', 'kcmp']


def test_errno_evidence_and_perror_say_what_criu_says():
    assert R.perror('Can\'t open /proc/sys/kernel/ns_last_pid', errno.EROFS) == \
        'Can\'t open /proc/sys/kernel/ns_last_pid: ' + os.strerror(errno.EROFS)
    assert R.errno_evidence(errno.EPERM, path='/x') == {'errno': errno.EPERM, 'errno_name': 'EPERM', 'path': '/x'}
    assert R.errno_name(errno.ENOSYS) == 'ENOSYS' and R.errno_name(4242) == '4242'


def test_a_result_without_a_message_or_evidence_has_empty_ones():
    for result in (R.supported(), R.unsupported(None), R.unknown(None), R.not_applicable(None), R.error(None)):
        assert (result['message'], result['evidence']) == ('', {})
    facts = A.facts(dict(results(), ns_last_pid=R.supported()), ENV_OK, KERNEL, None)
    assert (facts['probes']['ns_last_pid']['message'], facts['probes']['ns_last_pid']['evidence']) == ('', {})


def test_every_status_is_one_the_engine_accepts():
    assert set(R.STATUSES) == {R.SUPPORTED, R.UNSUPPORTED, R.UNKNOWN, R.NOT_APPLICABLE, R.ERROR}


# ---------------------------------------------------------------- _decide: verdicts


def test_probes_undecided_for_one_missing_library_give_that_cause_once():
    res = results()
    for probe_id in ('sock_diag', 'tcp'):
        res[probe_id] = R.unknown('import failed', {'library': 'pyroute2'}, fix='install python3-pyroute2')
    res['kcmp'] = R.error('the probe timed out after 10 s')
    assert D.verdict(res) == (D.UNDECIDED, 'Cannot tell: 3 required probes undecided (sock_diag, kcmp, tcp): '
                                           'Python library pyroute2 is not available (install python3-pyroute2); '
                                           'the probe timed out after 10 s')


def test_criu_check_feature_where_criu_cannot_start_is_bad_with_its_reasons():
    blockers = [D.NO_CAPS]
    assert D.feature_verdict({'uffd': R.supported()}, blockers) == (D.BAD, D.NO_CAPS)


@pytest.mark.parametrize('statuses, level', [
    ({'userns': R.SUPPORTED, 'uffd': R.SUPPORTED}, D.GOOD),
    ({'userns': R.SUPPORTED, 'mem_dirty_track': R.UNSUPPORTED}, D.BAD),
    ({'userns': R.SUPPORTED, 'apparmor_stacking': R.NOT_APPLICABLE}, D.BAD),   # criu exits 1: not "supported"
    ({'userns': R.SUPPORTED, 'uffd': R.UNKNOWN}, D.UNDECIDED),
    ({'uffd': R.UNKNOWN, 'mem_dirty_track': R.UNSUPPORTED}, D.BAD),         # a known failure decides
])
def test_criu_check_feature_is_good_only_when_every_named_probe_is_supported(statuses, level):
    res = dict((probe_id, {'status': status, 'message': 'm-' + probe_id}) for probe_id, status in statuses.items())
    got, summary = D.feature_verdict(res)
    assert got == level
    assert summary.split('\n') == [('%s is supported' % i) if s == R.SUPPORTED else '%s: m-%s' % (i, i)
                                   for i, s in statuses.items()]
    assert D.exit_code(got) == (0 if level == D.GOOD else 1)


def test_criu_check_feature_names_the_status_of_a_probe_without_a_message():
    assert D.feature_verdict({'uffd': {'status': R.ERROR, 'message': ''}}) == (D.UNDECIDED, 'uffd: error')


# ---------------------------------------------------------------- _facts_shape


def test_five_values_that_do_not_fit_are_all_shown_with_no_more_to_count():
    dropped = ['p%d: int, expected str' % i for i in range(5)]
    message = S.malformed_message('the input', dropped)
    assert 'p4: int, expected str): pass the criu_facts' in message and 'more' not in message


# ---------------------------------------------------------------- _decide: criu_usable, exit code, fail_on


@pytest.mark.parametrize('ready, criu, usable', [
    (True, {'installed': True, 'usable': True}, True),
    (True, {'installed': True, 'usable': False}, False),
    (True, None, False),                                 # gathered without the installed criu's check
    (False, {'installed': True, 'usable': True}, False),
])
def test_criu_usable_needs_a_ready_kernel_and_a_usable_criu(ready, criu, usable):
    assert D.is_usable(ready, criu) is usable


@pytest.mark.parametrize('level, rc', [(D.GOOD, 0), (D.GOOD_BUT, 1), (D.BAD, 1), (D.UNDECIDED, 1)])
def test_criu_check_exit_code(level, rc):
    assert D.exit_code(level) == rc


@pytest.mark.parametrize('policy, level, required_met, fails', [
    ('criu', D.GOOD, True, False),
    ('criu', D.GOOD_BUT, True, True),          # criu check exits 1 for "Looks good but"
    ('criu', D.UNDECIDED, True, True),
    ('required', D.GOOD_BUT, True, False),     # what is required is met: an extra probe does not fail the task
    ('required', D.UNDECIDED, False, True),
    ('required', D.BAD, False, True),
    ('never', D.BAD, False, False),
])
def test_fail_on(policy, level, required_met, fails):
    assert D.should_fail(policy, level, required_met) is fails


def test_every_documented_fail_on_is_accepted():
    """criu_check's argument spec takes its choices from FAIL_POLICIES."""
    from ansible_collections.criu.check.plugins.modules import criu_check
    documented = yaml.safe_load(criu_check.DOCUMENTATION)['options']['fail_on']['choices']
    assert list(D.FAIL_POLICIES) == documented == ['criu', 'required', 'never']


def test_an_experimental_probe_missing_looks_good_but():
    assert REG.BY_ID['autofs'].category == REG.EXPERIMENTAL
    assert D.verdict(results(autofs=R.UNSUPPORTED)) == (D.GOOD_BUT, D.LOOKS_GOOD_BUT)
    level, summary = D.verdict(results(compat_cr=R.UNKNOWN))
    assert level == D.UNDECIDED and summary.startswith('Cannot tell: 1 extra or experimental probe undecided (compat_cr)')


def test_an_environment_that_could_not_be_read_blocks_nothing_by_itself():
    """Yama and cap_last_cap are None where /proc/sys could not be read: no blocker, and no error."""
    assert D.environment_blockers(0, False, ROOT_CAPS, None, None, True) == []
    assert D.environment_blockers(0, False, ROOT_CAPS, None, None, None) == []
    assert D.environment_blockers(0, False, ROOT_CAPS, 1, 63, True) == []


def test_cap_sys_admin_alone_lets_criu_start():
    """Kernels before 5.9 have no CAP_CHECKPOINT_RESTORE: CAP_SYS_ADMIN is enough (criu/crtools.c check_caps())."""
    assert D.environment_blockers(0, False, (1 << CAP_SYS_ADMIN) | (1 << CAP_SYS_PTRACE), 1, 38, True) == []
    assert D.environment_blockers(0, False, 1 << CAP_SYS_PTRACE, 1, 38, True) == [D.NO_CAPS]


def test_facts_without_probes_lack_every_required_probe():
    items = F.criu_unmet({'environment': ENV_OK})
    assert [i['id'] for i in items] == [p.id for p in REG.PROBES if p.category == REG.REQUIRED]
    assert set(i['status'] for i in items) == {D.NOT_GATHERED}
    assert F.criu_unmet({'probes': None, 'environment': ENV_OK}) == items


def test_criu_unprivileged_mounts_no_test_tmpfs():
    """Only criu without --unprivileged mounts a tmpfs at start-up: with it, a namespace that cannot mount is no
    blocker."""
    caps = (1 << CAP_CHECKPOINT_RESTORE) | (1 << CAP_SYS_PTRACE)
    assert D.environment_blockers(1000, True, caps, 1, 40, False) == []
    assert D.environment_blockers(0, False, ROOT_CAPS, 1, 40, False) == ['%s %s' % (D.KERNDAT_FAILED, D.MOUNT_TEST)]


def test_a_kerndat_step_of_a_probe_without_a_fix_gets_the_generic_one():
    blocker = D.kerndat_blockers({'uffd': kerndat_step()})[0]
    assert D.start_blocker_fix(blocker, {'uffd': {'status': R.UNSUPPORTED, 'fix': ''}}) == D.CRIU_START_FIX + D.SKIPS_STEP


@pytest.mark.parametrize('environment, expected', [
    ({'container': 'kubernetes', 'euid': 0, 'user_namespace': False},
     'this kubernetes container is the cause, not the kernel: it grants criu neither CAP_SYS_ADMIN nor '
     'CAP_CHECKPOINT_RESTORE; set securityContext.privileged: true on the container, or at least securityContext '
     'capabilities.add: [SYS_ADMIN]'),
    ({'container': 'podman', 'euid': 0, 'user_namespace': True}, D.NO_CAPS_FIX),     # rootless: not the option
    ({'container': 'podman', 'euid': 0, 'user_namespace': None}, D.NO_CAPS_FIX),     # not known
    ({'container': 'podman', 'euid': 1000, 'user_namespace': False}, D.NO_CAPS_FIX),  # a user: setcap, not the box
    ({'container': None, 'euid': 0, 'user_namespace': False}, D.NO_CAPS_FIX),
    (None, D.NO_CAPS_FIX),
    ({'euid': 1000, 'no_new_privs': 1}, _environment_fix.no_new_privs_start_fix({'euid': 1000, 'no_new_privs': 1})),
    ({'euid': 1000, 'no_new_privs': 0}, D.NO_CAPS_FIX),
    ({'euid': 0, 'no_new_privs': 1}, D.NO_CAPS_FIX),          # root's criu needs no file capability
])
def test_root_in_a_container_without_criu_s_capabilities_is_told_what_to_change_in_it(environment, expected):
    """tests/fleet/test_fleet_report.py meets podman's for real; the other managers and the contexts where the
    container's option is not the way are the cases here."""
    assert D.start_blocker_fix(D.NO_CAPS, {}, environment) == expected and expected
    assert D.start_blocker_fix(D.NEEDS_UNPRIVILEGED, {}, environment).startswith('run criu as root, or with ')


def test_an_undecided_probe_without_words_is_named_by_its_status():
    res = results()
    res['sock_diag'] = {'status': R.UNKNOWN, 'message': '', 'evidence': {}}
    res['tcp'] = R.unknown('', {'library': 'pyroute2'})
    assert D.verdict(res)[1] == ('Cannot tell: 2 required probes undecided (sock_diag, tcp): unknown; '
                                 'Python library pyroute2 is not available (install it)')


def test_a_kerndat_step_without_words_is_named_by_its_status():
    assert D.kerndat_blockers({'uffd': kerndat_step(message='')}) == [D.KERNDAT_FAILED + ' (uffd: unsupported)']


# ---------------------------------------------------------------- criu's own capabilities

NOBODY_CRIU_ADMIN = {'euid': 65534, 'capabilities': [], 'criu_capabilities': ['checkpoint_restore', 'sys_admin']}
EPERM = R.unsupported("couldn't suspend seccomp: Operation not permitted", {'errno_name': 'EPERM'})


def test_a_check_criu_makes_with_a_capability_the_module_lacks_is_unknown_with_the_modules_answer_kept():
    res = D.as_criu_runs({'seccomp_suspend': dict(EPERM, duration_ms=3.0), 'sk_ns': R.unsupported('skipped'),
                          'map_files': R.supported()}, NOBODY_CRIU_ADMIN)
    probe = res['seccomp_suspend']
    assert probe['status'] == R.UNKNOWN and 'CAP_SYS_ADMIN' in probe['message'] and probe['duration_ms'] == 3.0
    assert probe['evidence']['criu_has'] == ['sys_admin'] and probe['evidence']['errno_name'] == 'EPERM'
    assert probe['evidence']['without_them'] == {'status': R.UNSUPPORTED, 'message': EPERM['message']}
    # a start-up step that failed without them is not known to fail with them
    flagged = D.as_criu_runs({'seccomp_suspend': kerndat_step(errno_name='EPERM')}, NOBODY_CRIU_ADMIN)
    assert D.kerndat_blockers(flagged) == [], flagged
    assert flagged['seccomp_suspend']['evidence']['without_them'][R.KERNDAT_FLAG] is True
    # criu --unprivileged never probes sk_ns (root_only_init), whatever it has; a supported probe stays
    assert res['sk_ns']['status'] == R.UNSUPPORTED and res['map_files']['status'] == R.SUPPORTED


@pytest.mark.parametrize('environment', [
    dict(NOBODY_CRIU_ADMIN, euid=0),                                   # root: criu has what the module has
    dict(NOBODY_CRIU_ADMIN, capabilities=['sys_admin']),               # the module has it too: its answer is criu's
    dict(NOBODY_CRIU_ADMIN, criu_capabilities=['checkpoint_restore']),  # criu lacks it as well
    dict(NOBODY_CRIU_ADMIN, criu_capabilities=None),                   # not known
])
def test_the_modules_answer_stands_where_criu_has_no_capability_more_that_the_check_needs(environment):
    assert D.as_criu_runs({'seccomp_suspend': EPERM}, environment)['seccomp_suspend'] == EPERM


def test_a_kernel_built_without_the_feature_keeps_its_answer_whatever_criu_has():
    autofs = R.unsupported('failed to mount autofs: Operation not permitted', {'errno_name': 'EPERM'})
    res = D.as_criu_runs({'autofs': autofs}, NOBODY_CRIU_ADMIN, kernel_lacks=lambda row, result: ['CONFIG_AUTOFS_FS'])
    assert res['autofs'] == autofs
    lifted = D.as_criu_runs({'autofs': autofs}, NOBODY_CRIU_ADMIN, kernel_lacks=lambda row, result: [])
    assert lifted['autofs']['status'] == R.UNKNOWN


def test_a_criu_the_kernel_will_not_run_is_the_only_start_blocker_and_its_fix_says_which_capabilities():
    """criu's file capabilities forced (+e) beyond the bounding set: execve() fails, so nothing criu would meet
    later (its privileges, Yama, kerndat's steps) is a reason (tests/system/test_criu_file_capabilities.py)."""
    blockers = D.environment_blockers(65534, True, 0, 3, 40, True, exec_refused=['sys_resource'])
    assert blockers == [D.EXEC_REFUSED % 'CAP_SYS_RESOURCE'], blockers
    assert blockers[0].startswith(D.EXEC_REFUSED_SAYS)
    env = {'criu_start_blockers': blockers, 'criu_can_start': False}
    assert D.start_blockers(env, {'uffd': kerndat_step()}) == blockers
    assert D.start_blocker_fix(blockers[0]).startswith('set on criu only capabilities this bounding set has')
    assert D.environment_blockers(65534, True, 0, 0, 40, True) == [D.NO_CAPS]
