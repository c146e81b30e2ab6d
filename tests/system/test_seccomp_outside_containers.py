# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu as root under a seccomp filter, outside any container: what
systemd's RestrictNamespaces=yes installs (clone() and unshare() of a
namespace, and setns(), refused with EPERM; clone3() with ENOSYS), and what
its SystemCallArchitectures=native installs (32-bit calls killed).

criu 4.1.1 stops in its start-up ("Unable create a network namespace:
Operation not permitted"), and the facts said so, but their fixes asked for
kernel options and versions (network_lock_nftables' CONFIG_NF_TABLES,
move_mount_set_group's 5.15, clone3_set_tid's 5.5 for clone3()'s ENOSYS
on a 6.x kernel), and for the two checks the kernel refuses to
any filtered tracer (seccomp_suspend, seccomp_filters) a kernel >= 4.3: as
root with every capability and no user namespace, EPERM is the filter's.
Real criu in the Debian 13 root is the oracle.
"""

import platform
import signal

import pytest

from conftest import criu_and_facts_in_root, requires_root

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils import _probes_memory

pytestmark = [requires_root, pytest.mark.skipif(platform.machine() != 'x86_64',
                                                reason='seccomp_deny.py knows x86_64 system calls only')]


def _under(program):
    """A run_in prefix: install seccomp_deny.PROGRAM(), then exec the command."""
    return ("python3 -c 'import os, sys; sys.path.insert(0, \"/src/tests/tools\"); import seccomp_deny as S; "
            "S.install(S.%s()); os.execvp(sys.argv[1], sys.argv[1:])'" % program)


RESTRICT_NAMESPACES = _under('restrict_namespaces_program')


def test_restricted_namespaces_stop_criu_and_the_fix_names_the_filter():
    criu_says, facts = criu_and_facts_in_root(run_in=RESTRICT_NAMESPACES)
    assert 'criu rc 1' in criu_says and 'Unable create a network namespace: Operation not permitted' in criu_says
    environment = facts['environment']
    assert (environment['seccomp'], environment['container'], environment['euid']) == (2, None, 0), environment
    assert facts['verdict'] == 'bad', facts['summary']
    fix = _environment_fix.SECCOMP_FILTER_FIX
    probes = facts['probes']
    for probe_id in ('network_lock_nftables', 'move_mount_set_group', 'seccomp_suspend', 'seccomp_filters'):
        assert probes[probe_id]['status'] == 'unsupported' and probes[probe_id]['fix'] == fix, probes[probe_id]
    # clone3() answers ENOSYS, on a kernel that has it: not "upgrade to a kernel >= 5.5"
    clone3 = probes['clone3_set_tid']
    assert clone3['evidence'].get('errno_name') == 'ENOSYS' and clone3['fix'] == fix, clone3
    # criu's steps that the filter stops are root-only ones: --unprivileged is the other way past them
    blockers = environment['criu_start_blockers']
    assert blockers and all(_decide.start_blocker_fix(b, probes) == fix + _decide.SKIPS_STEP for b in blockers), blockers
    # autofs is refused by the filter too (its test mount is in a new mount namespace); where this kernel is
    # built without it, lifting the filter would not bring it: the kernel's fix stays.
    autofs = probes['autofs']
    assert autofs['status'] == 'unsupported' and autofs['evidence'].get('errno_name') == 'EPERM', autofs
    built_without = autofs['config_values'].get('CONFIG_AUTOFS_FS') in ('n', 'unset')
    assert autofs['fix'].startswith("this kernel's config has ") is built_without, autofs
    assert (autofs['fix'] == fix) is not built_without, autofs


def test_native_architecture_only_takes_32_bit_tasks_and_the_fix_names_the_filter():
    """SystemCallArchitectures=native kills int $0x80 with SIGSYS: criu says
    compat_cr is not supported (its one message, "Requires kernel >=
    v4.12"), and so do the facts, but their fix names the filter, not a
    kernel this one already is."""
    criu_says, facts = criu_and_facts_in_root(run_in=_under('native_only_program'), check='check --all')
    assert 'compat_cr is not supported' in criu_says and 'criu rc 1' in criu_says, criu_says
    compat = facts['probes']['compat_cr']
    assert compat['status'] == 'unsupported', compat
    if not compat['evidence']['can_map_vdso']:
        pytest.skip('this kernel cannot map the 32-bit vDSO: compat_cr fails before its int $0x80 test')
    assert compat['evidence']['child_signal'] == signal.SIGSYS, compat
    assert compat['fix'] == _probes_memory.IA32_FILTERED_FIX, compat
    # only the 32-bit calls are refused: the verdict is criu's, and nothing else is missing for it
    assert facts['verdict'] == 'good_but' and 'Looks good but' in criu_says, (facts['summary'], criu_says)
    assert facts['environment']['criu_can_start'], facts['environment']


def test_under_restricted_namespaces_criu_unprivileged_starts_as_the_blockers_fix_says():
    """The other way the start blockers' fix names: criu --unprivileged
    skips the root-only steps the filter stops, and says "Looks good." (or
    "Looks good but") under it; so do the facts, with no start blocker."""
    criu_says, facts = criu_and_facts_in_root(run_in=RESTRICT_NAMESPACES, check='check --unprivileged',
                                              module_args={'unprivileged': True})
    assert 'Looks good' in criu_says and 'criu rc 0' in criu_says, criu_says
    assert facts['environment']['criu_start_blockers'] == [] and facts['ready'] is True, facts['environment']
    assert facts['criu']['check']['verdict'] == 'good' and facts['criu']['agrees'] is True, facts['criu']
