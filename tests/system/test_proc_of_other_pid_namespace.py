# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A new pid namespace without a /proc of its own (unshare --pid --fork
without --mount-proc): /proc still shows the parent namespace's pids.

criu opens /proc/PID by the pids of its own namespace, which this /proc
has not, or has for other processes.  Where the kernel can restore 32-bit
tasks (x86_64, compat_cr), criu 4.1.1 stops in its start-up, at the compat
vDSO helper it looks up by pid: "vdso: Can't open 10/maps on procfs" where
pid 10 is free outside, "vdso: Can't find rt vDSO" where it is a kernel
thread.  The facts must say so whichever it is (their own pids may exist
outside, so their probes may pass), and must not blame the kernel
(proc_stat's row says "upgrade to a kernel >= 3.5"): the fix names the
/proc.  Real criu in the Debian 13 root is the oracle; with --mount-proc
both work.
"""

import json
import os

import pytest

from conftest import criu_and_facts_in_root, python_in_new_pid_namespace, requires_root

from ansible_collections.criu.check.plugins.module_utils import _decide, _environment_fix

pytestmark = requires_root


@pytest.mark.parametrize('run_in, criu_works', [('unshare -pf', False), ('unshare -pf --mount-proc', True)],
                         ids=['without-its-proc', 'with-its-proc'])
def test_real_criu_and_the_facts(run_in, criu_works):
    criu_says, facts = criu_and_facts_in_root(run_in=run_in)
    environment = facts['environment']
    assert environment['proc_of_other_pid_namespace'] is (not criu_works), environment
    if criu_works:
        assert 'criu rc 0' in criu_says and facts['verdict'] != 'bad', (criu_says, facts['summary'])
        return
    if facts['probes']['compat_cr']['status'] != 'supported':
        pytest.skip('this kernel restores no 32-bit tasks (compat_cr): criu forks no compat vDSO helper to look up')
    assert 'criu rc 1' in criu_says and 'kerndat_vdso_fill_symtable failed' in criu_says, criu_says
    blocker = '%s %s' % (_decide.KERNDAT_FAILED, _decide.FOREIGN_PROC)
    assert facts['verdict'] == 'bad' and facts['summary'] == blocker, facts['summary']
    assert facts['criu']['starts'] is False and facts['criu']['disagreements'] == [], facts['criu']
    fix = _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX
    assert facts['criu']['fix'].lower().startswith(fix.lower()), facts['criu']
    # Whichever probes found no /proc file (their pids free outside) name the /proc, not the kernel.
    failed = [p for p in facts['probes'].values() if p['status'] in ('unsupported', 'unknown')
              and p['evidence'].get('errno_name') == 'ENOENT']
    assert all(p['fix'] == _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX for p in failed), failed


def test_the_modules_that_run_criu_stop_at_setup_and_say_why(tmp_path):
    """criu_smoke, criu_dump, criu_restore and criu_page_server (_phaul.criu_problem()), and criu_process,
    find their processes in /proc and kill them by the pids it shows: here those pids are another
    namespace's (pid 1 below would be the host's init).  They stop before starting or killing anything,
    with the fix.  The criu given is a stand-in: nothing gets to run it."""
    script = ('import json\n'
              'from ansible_collections.criu.check.plugins.module_utils import _phaul, _smoke\n'
              'print(json.dumps({"smoke": _smoke.run("/bin/true", timeout=10),\n'
              '                  "phaul": _phaul.criu_problem("/bin/true")}))\n')
    got = python_in_new_pid_namespace('-c', script)
    said = 'criu cannot run here: %s' % _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX
    assert (got['smoke']['ok'], got['smoke']['stage'], got['smoke']['msg']) == (False, 'setup', said), got['smoke']
    assert got['phaul'] == ['/bin/true', said], got['phaul']
    # criu_process finds a process's tree, and kills it, by /proc/PID too.
    args = os.path.join(str(tmp_path), 'args.json')
    with open(args, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': {'state': 'killed', 'pids': [1]}}, f)
    got = python_in_new_pid_namespace('-m', 'ansible_collections.criu.check.plugins.modules.criu_process', args)
    assert got.get('failed') and got['msg'] == 'criu_process cannot run here: %s' % (
        _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX), got
