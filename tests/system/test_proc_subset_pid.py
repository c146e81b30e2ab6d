# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A /proc mounted with subset=pid (what systemd's ProcSubset=pid gives a
service): only the process directories, no /proc/sys.

criu's start-up reads /proc/sys/kernel/cap_last_cap (get_last_cap()) and
stops there: "Can't open sysctl kernel/cap_last_cap: No such file or
directory", then "get_last_cap failed when initializing kerndat.", then the
errors of the steps kerndat_init() runs whatever happened before (vm/
mmap_min_addr, fs/nr_open).  Real criu 4.1.1 in the Debian 13 root is the
oracle: the facts must say criu cannot start for that first reason, with a
fix that names the /proc, and quote the installed criu's stop, not its
later noise.
"""

from conftest import criu_and_facts_in_root, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _kerndat

pytestmark = requires_root

CRIU_SAYS = "Can't open sysctl kernel/cap_last_cap: No such file or directory"
SUBSET_PID = 'mount -t proc -o subset=pid proc /proc'


def test_real_criu_and_the_facts_agree_on_why_criu_cannot_start():
    criu_says, facts = criu_and_facts_in_root(SUBSET_PID)
    assert CRIU_SAYS in criu_says and 'get_last_cap failed when initializing kerndat.' in criu_says, criu_says
    assert 'criu rc 1' in criu_says, criu_says
    environment = facts['environment']
    assert environment['criu_can_start'] is False and facts['verdict'] == 'bad', environment
    first = environment['criu_start_blockers'][0]
    assert _decide.LAST_CAP in first and 'No such file or directory' in first, environment['criu_start_blockers']
    assert 'ProcSubset=all' in _decide.start_blocker_fix(first, facts['probes'])
    assert facts['criu']['starts'] is False and CRIU_SAYS in facts['criu']['reason'], facts['criu']
    assert 'ProcSubset=all' in facts['criu']['fix'], facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']


def test_the_step_passes_where_proc_sys_is_there():
    assert in_child(_kerndat.failures) == []
