# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A new pid namespace without a /proc of its own (unshare --pid --fork
without --mount-proc): /proc still shows the parent namespace's pids.

criu opens /proc/PID by the pids of its own namespace and finds none of
them: criu 4.1.1 stops in its start-up ("vdso: Can't open 10/maps on
procfs", "Could not initialize kernel features detection.").  The facts
must not blame the kernel (proc_stat's row says "upgrade to a kernel >=
3.5"): the fix names the /proc.  Real criu in the Debian 13 root is the
oracle; with --mount-proc both work.
"""

import pytest

from conftest import criu_and_facts_in_root, requires_root

from ansible_collections.criu.check.plugins.module_utils import _environment_fix

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
    assert 'criu rc 1' in criu_says and 'on procfs: No such file or directory' in criu_says, criu_says
    assert facts['verdict'] == 'bad' and 'proc_stat' in facts['missing']['required'], facts['missing']
    assert facts['criu']['starts'] is False and facts['criu']['disagreements'] == [], facts['criu']
    failed = [p for p in facts['probes'].values() if p['status'] in ('unsupported', 'unknown')
              and p['evidence'].get('errno_name') == 'ENOENT']
    assert failed and all(p['fix'] == _environment_fix.PROC_OF_OTHER_PID_NAMESPACE_FIX for p in failed), failed
