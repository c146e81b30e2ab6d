# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The variants really take the feature away, and what the issue asks of
them beyond agreeing with criu (test_vm_differential.py does that part)."""

import signal

import pytest

import _vm as V
from _vm import report_of

import _differential as D

from ansible_collections.criu.check.plugins.module_utils import _probes_memory

vms = V.vms

STEPS = ['%s/%s' % (boot, step[0]) for boot, (suite, append, steps) in V.boots().items() for step in steps
         if boot != V.SECCOMP_BOOT]   # no set-up there: test_vm_seccomp.py checks its filter
BLOCKED = V.BLOCKS
SYSCTL = {'yama-1': ('kernel/yama/ptrace_scope', '1'), 'yama-2': ('kernel/yama/ptrace_scope', '2'),
          'yama-3': ('kernel/yama/ptrace_scope', '3'), 'uffd-0': ('vm/unprivileged_userfaultfd', '0'),
          'userns-0': ('user/max_user_namespaces', '0')}


def _step(vms, boot, step):
    res = vms.boot(boot)
    rep = res.get('report')
    if rep is None:
        pytest.fail('VM %s gave no report (%s): %s' % (boot, res.get('error'), res.get('console', '')[-1500:]),
                    pytrace=False)
    return rep, rep['steps'][step]


@pytest.mark.parametrize('boot_step', STEPS)
def test_step_applied(vms, boot_step):
    """The set-up did what the step's name says, and was undone."""
    boot, step = boot_step.split('/')
    rep, st = _step(vms, boot, step)
    assert st['setup']['rc'] == 0, st['setup']
    assert st['teardown']['rc'] == 0, st['teardown']
    out = st['setup']['out']
    if step in BLOCKED:
        assert 'loaded:' not in out and 'builtin:' not in out, out
        assert not set(BLOCKED[step]) & set(st['modules']), 'loaded despite the block: %s' % (
            set(BLOCKED[step]) & set(st['modules']))
    elif step in SYSCTL:
        path, value = SYSCTL[step]
        assert '%s = %s' % (path, value) in out, out
    elif step == 'securityfs':
        assert 'lsm: ' in out, out
        assert ('apparmor: absent' if 'apparmor=0' in boot else 'apparmor: stack yes') in out, out
    if '+' in boot:
        arg = boot.split('+', 1)[1]
        assert arg in rep['cmdline'].split(), rep['cmdline']


@pytest.mark.parametrize('version', V.VERSIONS)
@pytest.mark.parametrize('boot', V.SUITES)
def test_mem_dirty_track_supported(vms, boot, version):
    """Debian's kernels have CONFIG_MEM_SOFT_DIRTY=y: both sides say supported
    (this host's kernel has not: tests/differential shows both say unsupported)."""
    case = '%s/base/root/%s' % (boot, version)
    criu = report_of(vms, case)['features']['mem_dirty_track']
    results, facts = V.ours(vms, case, 'all')
    assert criu['rc'] == 0, D.short(criu)
    assert results['mem_dirty_track']['status'] == 'supported', results['mem_dirty_track']


@pytest.mark.parametrize('boot', V.SUITES)
def test_sockdiag_blocked_names_the_modules(vms, boot):
    """Without loadable sock-diag modules criu's `check` still passes (it
    zeroes the collect errors of its own net namespace, criu/sockets.c
    collect_sockets(), after printing "Diag module missing"); so do we, and
    our report names the families that could not be collected and, in
    kernel.config.modules, each diag module this kernel builds as blocked
    (the install rule of the step, read from modprobe.d), with a conflict
    that says how to lift it."""
    case = '%s/block-sockdiag+tun+nft/root/4.2.1' % boot
    run = report_of(vms, case)
    kind, why = D.criu_outcome(run['criu']['A'])
    results, facts = V.ours(vms, case, 'A')
    assert (kind == 'good') == (facts['verdict'] == 'good'), (kind, facts['verdict'])
    evidence = facts['probes']['sock_diag']['evidence']
    uncollected = [(r['family'], r['protocol']) for r in evidence.get('requests', []) if not r.get('collected')]
    assert ('AF_UNIX', 'IPPROTO_IP') in uncollected and ('AF_INET', 'IPPROTO_TCP') in uncollected, evidence
    modules = (facts['kernel'].get('config') or {}).get('modules') or {}
    for name in ('unix_diag', 'inet_diag', 'tcp_diag', 'udp_diag', 'netlink_diag'):
        assert modules.get(name) == 'blocked', (name, modules)
    # criu passes, but will fail at dump: the conflict names the blocked modules of the families uncollected
    conflicts = [c for c in facts['kernel']['config']['conflicts'] if c['probe'] == 'sock_diag']
    assert [c['kind'] for c in conflicts] == ['module_blocked'], conflicts
    assert 'CONFIG_UNIX_DIAG' in conflicts[0]['config'] and 'CONFIG_INET_TCP_DIAG' in conflicts[0]['config'], conflicts
    assert 'criu-vm-' in conflicts[0]['fix'] and 'modprobe -a ' in conflicts[0]['fix'], conflicts


@pytest.mark.parametrize('boot', [b for b in V.boots() if 'ia32_emulation=0' in b])
def test_ia32_emulation_off(vms, boot):
    """ia32_emulation=0 takes 32-bit tasks away: compat_cr is gone on both
    sides.  The kernel has everything the registry's fix asks for (4.12,
    CONFIG_IA32_EMULATION: the 32-bit vDSO maps), so the fix is the boot
    argument: int $0x80 faults."""
    case = '%s/base/root/4.2.1' % boot
    criu = report_of(vms, case)['features']['compat_cr']
    results, facts = V.ours(vms, case, 'all')
    assert criu['rc'] != 0, D.short(criu)
    compat = facts['probes']['compat_cr']
    assert compat['status'] == 'unsupported' and compat['evidence']['can_map_vdso'], compat
    assert compat['evidence']['child_signal'] == signal.SIGSEGV, compat
    assert compat['evidence']['cmdline'] == 'ia32_emulation=0', compat
    assert compat['fix'] == _probes_memory.IA32_OFF_AT_BOOT_FIX % 'ia32_emulation=0', compat


SECURITYFS_CASES = [c for c in V.cases() if c.split('/')[1] == 'securityfs' and c.endswith('/root/4.2.1')]


@pytest.mark.parametrize('case', SECURITYFS_CASES)
def test_apparmor_on_and_off(vms, case):
    """With securityfs mounted, as on every systemd host: AppArmor on (Debian's
    default) runs apparmor_stacking on both sides, and both say supported;
    booted with apparmor=0 criu's --feature fails and ours is not_applicable
    (criu runs the check only where /sys/kernel/security/apparmor exists)."""
    criu = report_of(vms, case)['features']['apparmor_stacking']
    results, facts = V.ours(vms, case, 'all')
    res = results['apparmor_stacking']
    if 'apparmor=0' in case:
        assert criu['rc'] != 0, D.short(criu)
        assert res['status'] == 'not_applicable', res
        assert 'apparmor' not in (res['evidence'].get('lsm') or ''), res
    else:
        assert criu['rc'] == 0, D.short(criu)
        assert res['status'] == 'supported' and res['evidence']['stack'] == 'yes', res
