# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verdict and facts logic: statuses are given here because the kernel cannot
be made to fail a required probe on demand."""

import errno

import pytest

import conftest

from ansible_collections.criu.check.plugins.module_utils import _aggregate as A
from ansible_collections.criu.check.plugins.module_utils import _decide as D
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils import _kerndat
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_CHECKPOINT_RESTORE

# conftest is imported first for its side effect: it puts the collection on sys.path.
COLLECTIONS = conftest.COLLECTIONS

ENV_OK = {'criu_can_start': True, 'criu_start_blockers': []}
KERNEL = {'release': '6.18.0', 'version': '#1', 'arch': 'x86_64'}


def results(default=R.SUPPORTED, **overrides):
    out = {}
    for probe in REG.PROBES:
        status = overrides.get(probe.id.replace('-', '_'), default)
        out[probe.id] = {'status': status, 'message': 'm-' + probe.id, 'evidence': {}, 'duration_ms': 0.1}
    return out


def test_all_supported_looks_good():
    facts = A.facts(results(), ENV_OK, KERNEL, None)
    assert (facts['verdict'], facts['summary']) == (D.GOOD, 'Looks good.')
    assert facts['ready'] is True
    assert facts['missing'] == {'required': [], 'extra': [], 'experimental': []}
    assert len(facts['required']) == 17 and len(facts['extra']) == 39
    assert len(facts['experimental']) == 2 and len(facts['optional']) == 1 and len(facts['feature_only']) == 8
    assert len(facts['probes']) == 67


def test_a_missing_required_probe_does_not_look_good():
    facts = A.facts(results(ns_last_pid=R.UNSUPPORTED, mem_dirty_track=R.UNSUPPORTED), ENV_OK, KERNEL, None)
    assert (facts['verdict'], facts['summary']) == (D.BAD, 'Does not look good.')
    assert facts['ready'] is False
    assert facts['missing']['required'] == ['ns_last_pid']
    assert facts['missing']['extra'] == ['mem_dirty_track']
    assert facts['required']['ns_last_pid'] is False


@pytest.mark.parametrize('overrides,verdict,kernel', [
    ({}, D.GOOD, True),
    ({'mem_dirty_track': R.UNSUPPORTED}, D.GOOD_BUT, True),
    ({'net_diag_raw': R.UNKNOWN}, D.UNDECIDED, True),          # an extra probe alone: the kernel is ready
    ({'sock_diag': R.UNKNOWN}, D.UNDECIDED, None),             # a required one: nobody can tell
    ({'ns_last_pid': R.UNSUPPORTED, 'sock_diag': R.UNKNOWN}, D.BAD, False),
])
def test_the_kernel_answer_of_the_runtimes_and_the_fleet_report(overrides, verdict, kernel):
    facts = A.facts(results(**overrides), ENV_OK, KERNEL, None)
    assert facts['verdict'] == verdict
    assert D.kernel_answer(facts['ready'], facts['verdict']) is kernel


def test_missing_extra_gives_criu_three_line_sentence():
    facts = A.facts(results(mem_dirty_track=R.UNSUPPORTED), ENV_OK, KERNEL, None)
    assert facts['verdict'] == D.GOOD_BUT
    assert facts['summary'].split('\n') == [
        'Looks good but some kernel features are missing',
        'which, depending on your process tree, may cause',
        'dump or restore failure.']
    assert facts['ready'] is True


def test_optional_feature_only_and_not_applicable_never_change_the_verdict():
    facts = A.facts(results(breakpoints=R.UNSUPPORTED, tun=R.UNSUPPORTED, apparmor_stacking=R.NOT_APPLICABLE),
                    ENV_OK, KERNEL, None)
    assert facts['verdict'] == D.GOOD
    assert facts['extra']['apparmor_stacking'] is False
    assert 'apparmor_stacking' not in facts['missing']['extra'] and 'apparmor_stacking' not in facts['unknown']


def test_unknown_is_not_missing_but_not_ready_when_required():
    facts = A.facts(results(sock_diag=R.UNKNOWN, uffd=R.ERROR), ENV_OK, KERNEL, None)
    assert facts['unknown'] == ['sock_diag', 'uffd']
    assert facts['missing']['required'] == [] and facts['missing']['extra'] == []
    assert facts['required']['sock_diag'] is False
    # Unknown is not "Does not look good.": criu's verdict cannot be told (issue 8).
    assert facts['ready'] is False and facts['verdict'] == D.UNDECIDED
    assert facts['summary'].startswith('Cannot tell: 1 required probe undecided (sock_diag)')


def test_criu_start_blockers_make_it_not_ready_and_are_the_summary():
    env = {'criu_can_start': False, 'criu_start_blockers': ['CRIU needs to have the CAP_SYS_ADMIN or the '
                                                            'CAP_CHECKPOINT_RESTORE capability']}
    facts = A.facts(results(), env, KERNEL, None)
    assert facts['ready'] is False and facts['verdict'] == D.BAD
    assert facts['summary'].startswith('CRIU needs to have the CAP_SYS_ADMIN')


def test_probe_entry_carries_the_registry_row_and_a_result_fix_wins():
    res = results(ns_last_pid=R.UNSUPPORTED)
    res['ns_last_pid']['fix'] = 'mount /proc/sys read-write'
    facts = A.facts(res, ENV_OK, KERNEL, None)
    entry = facts['probes']['ns_last_pid']
    assert entry['fix'] == 'mount /proc/sys read-write'
    assert entry['config'] == ['CONFIG_CHECKPOINT_RESTORE'] and entry['kernel_min'] == '3.3'
    assert entry['criu_feature'] is None and entry['category'] == 'required'
    assert facts['probes']['mem_dirty_track']['fix'] == REG.BY_ID['mem_dirty_track'].fix


CONFIG_READ = {'readable': True, 'version_matches': True}


def test_a_kernel_built_without_the_option_leads_the_fix_unless_the_environment_is_the_cause():
    res = results(mem_dirty_track=R.UNSUPPORTED, autofs=R.UNSUPPORTED)
    res['autofs']['fix'] = 'the probe\'s own fix'
    kernel = dict(KERNEL, config=CONFIG_READ)
    values = {'mem_dirty_track': {'CONFIG_MEM_SOFT_DIRTY': 'n'},
              'autofs': {'CONFIG_AUTOFS_FS': 'unset', 'CONFIG_AUTOFS4_FS': 'unset'}}
    probes = A.facts(res, ENV_OK, kernel, None, values)['probes']
    assert probes['mem_dirty_track']['fix'] == ("this kernel's config has CONFIG_MEM_SOFT_DIRTY off: "
                                                + REG.BY_ID['mem_dirty_track'].fix)
    assert probes['autofs']['fix'] == "the probe's own fix"      # a cause the probe saw comes first
    res['autofs']['fix'] = None
    probes = A.facts(res, ENV_OK, kernel, None, values)['probes']
    assert probes['autofs']['fix'] == "this kernel's config has CONFIG_AUTOFS_FS off: " + REG.BY_ID['autofs'].fix
    # arm64 has no soft-dirty at all: the environment's fix says so, not "boot a kernel built with it"
    probes = A.facts(res, dict(ENV_OK, arch='aarch64'), dict(kernel, arch='aarch64'), None, values)['probes']
    assert probes['mem_dirty_track']['fix'] == _environment_fix.ARM64_SOFT_DIRTY_FIX
    # a config that was not read says nothing
    probes = A.facts(res, ENV_OK, dict(KERNEL, config={'readable': False}), None, values)['probes']
    assert probes['mem_dirty_track']['fix'] == REG.BY_ID['mem_dirty_track'].fix


@pytest.mark.parametrize('environment', [
    dict(ENV_OK, container='podman', container_privileged=False, capabilities=['chown'], seccomp=2),
    dict(ENV_OK, container=None, euid=0, seccomp=2, user_namespace=False,
         capabilities=['sys_admin', 'net_admin', 'sys_ptrace']),
], ids=['unprivileged-container', 'seccomp-filter'])
def test_a_confinement_does_not_hide_that_the_kernel_is_built_without_the_feature(environment):
    """autofs refused (EPERM) by a container's or a filter's confinement: where the kernel's config has it off,
    lifting the confinement would not bring it, and the kernel's fix is the one; where it has it, the
    confinement's."""
    res = results(autofs=R.UNSUPPORTED)
    res['autofs']['evidence'] = {'errno_name': 'EPERM'}
    kernel = dict(KERNEL, config=CONFIG_READ)
    off = {'autofs': {'CONFIG_AUTOFS_FS': 'n', 'CONFIG_AUTOFS4_FS': 'unset'}}
    fix = A.facts(res, environment, kernel, None, off)['probes']['autofs']['fix']
    assert fix == "this kernel's config has CONFIG_AUTOFS_FS off: " + REG.BY_ID['autofs'].fix
    on = {'autofs': {'CONFIG_AUTOFS_FS': 'y', 'CONFIG_AUTOFS4_FS': 'unset'}}
    fix = A.facts(res, environment, kernel, None, on)['probes']['autofs']['fix']
    assert fix != REG.BY_ID['autofs'].fix and not fix.startswith("this kernel's config"), fix


def test_only_the_probes_run_appear():
    res = dict((k, v) for k, v in results().items() if REG.BY_ID[k].category == REG.EXTRA)
    facts = A.facts(res, ENV_OK, KERNEL, None)
    assert facts['required'] == {} and len(facts['extra']) == 39
    assert facts['ready'] is False  # required probes did not run


def test_yama_blocks_criu_as_its_kerndat_does():
    """Yama 3 stops everyone; Yama 2 only a criu without CAP_SYS_PTRACE (the
    VMs' yama-2 variant: root starts, non-root with CAP_CHECKPOINT_RESTORE does
    not).  The blocker names Yama, not only kerndat."""
    root = (1 << 41) - 1
    cr_only = 1 << CAP_CHECKPOINT_RESTORE
    assert D.environment_blockers(0, False, root, 2, 40, True) == []
    yama2 = D.environment_blockers(1000, True, cr_only, 2, 40, True)
    assert len(yama2) == 1 and 'kernel.yama.ptrace_scope is 2' in yama2[0] and 'CAP_SYS_PTRACE' in yama2[0], yama2
    assert D.environment_blockers(1000, True, cr_only, 1, 40, True) == []
    for caps in (root, cr_only):
        yama3 = D.environment_blockers(0, True, caps, 3, 40, True)
        assert [b for b in yama3 if 'ptrace_scope is 3' in b], yama3


# What _environment gives environment_blockers() for a start-up step a seccomp filter denies.
SECCOMP_DENIED = _kerndat.describe(('kerndat_has_close_range', 'close_range()', errno.EPERM))


def test_each_start_blocker_has_its_own_fix():
    """start_blocker_fix() knows every kind of blocker environment_blockers() writes (a drift in its text
    would fall back to the generic fix and fail here), and a probe's kerndat step takes that probe's fix."""
    root = (1 << 41) - 1
    cr_only = 1 << CAP_CHECKPOINT_RESTORE
    cases = [
        (D.environment_blockers(0, False, 0, 1, 40, True), D.CRIU_START_FIX),
        (D.environment_blockers(1000, False, cr_only, 1, 40, True), '--unprivileged'),
        (D.environment_blockers(0, False, root, 1, 40, False), 'in this namespace'),
        (D.environment_blockers(0, False, root, 3, 40, True), 'reboot'),
        (D.environment_blockers(1000, True, cr_only, 2, 40, True), 'sysctl -w kernel.yama.ptrace_scope=1'),
        (D.environment_blockers(0, False, root, 1, 64, True), 'at most 64 capabilities'),
        (D.environment_blockers(0, False, root, 1, 40, True, [SECCOMP_DENIED]), 'seccomp=unconfined'),
    ]
    for blockers, fix in cases:
        assert len(blockers) == 1, blockers
        assert fix in D.start_blocker_fix(blockers[0]), (blockers, D.start_blocker_fix(blockers[0]))
    kerndat = D.kerndat_blockers({'uffd': {'status': 'unsupported', 'message': 'uffd: EPERM',
                                           'evidence': {R.KERNDAT_FLAG: True}}})
    # criu --unprivileged skips kerndat_uffd(): that way past it is said after the probe's fix
    assert D.start_blocker_fix(kerndat[0], {'uffd': {'fix': 'sysctl vm.unprivileged_userfaultfd=1'}}) == \
        'sysctl vm.unprivileged_userfaultfd=1' + D.SKIPS_STEP
    # A probe that ran only to tell whether criu starts (criu_check, criu_facts of some categories) is not in
    # the facts' probes: its own fix still, from the registry, not the generic one (which is about privileges).
    assert D.start_blocker_fix(kerndat[0], {}) == REG.BY_ID['uffd'].fix + D.SKIPS_STEP
    # a step criu makes with --unprivileged too gets no such words
    close_range = D.kerndat_blockers({'timens': {'status': 'unsupported', 'message': 'timens: EPERM',
                                                 'evidence': {R.KERNDAT_FLAG: True}}})
    assert D.start_blocker_fix(close_range[0], {}) == REG.BY_ID['timens'].fix


def test_a_kerndat_step_refused_for_want_of_privilege_is_not_another_blocker():
    """criu stops at its privileges (NO_CAPS, NEEDS_UNPRIVILEGED) before kerndat: a step refused with EPERM or
    EACCES is that cause again; one refused otherwise (ENOSYS: a seccomp filter, an old kernel) still blocks."""
    def step(errno_name):
        return {'status': 'unsupported', 'message': errno_name,
                'evidence': {R.KERNDAT_FLAG: True, 'errno_name': errno_name}}
    results = {'network_lock_nftables': step('EPERM'), 'move_mount_set_group': step('EACCES'), 'uffd': step('ENOSYS')}
    for first in (D.NO_CAPS, D.NEEDS_UNPRIVILEGED):
        blockers = D.start_blockers({'criu_start_blockers': [first]}, results)
        assert blockers == [first, D.KERNDAT_FAILED + ' (uffd: ENOSYS)'], blockers
    blockers = D.start_blockers({'criu_start_blockers': []}, results)
    assert len(blockers) == 3, blockers


def test_the_require_role_items_carry_the_blockers_fix():
    facts = {'probes': {}, 'environment': {'criu_can_start': False,
                                           'criu_start_blockers': D.environment_blockers(0, False, (1 << 41) - 1, 3, 40, True)}}
    items = D.unmet(facts, require_ready=False)   # no probes gathered: only the blocker
    assert [i['id'] for i in items] == [D.CRIU_START] and 'reboot' in items[0]['fix'], items
