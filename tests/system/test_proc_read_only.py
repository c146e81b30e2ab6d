# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A /proc mounted read-only.

criu's start-up opens its own /proc/self/clear_refs read-write
(kerndat_get_dirty_track()) and stops there: "Can't open PID/clear_refs on
procfs: Read-only file system".  Real criu 4.1.1 in the Debian 13 root is
the oracle; the facts must give that start blocker with a fix that names the
read-only /proc, not the kernel's soft-dirty option (off on some kernels
too, but not why criu stops) nor criu's privileges.
"""

from conftest import criu_and_facts_in_root, requires_root

from ansible_collections.criu.check.plugins.module_utils import _probes_memory

pytestmark = requires_root

CRIU_SAYS = 'clear_refs on procfs: Read-only file system'


def test_real_criu_and_the_facts_agree_on_why_criu_cannot_start():
    criu_says, facts = criu_and_facts_in_root('mount -o remount,ro /proc')
    assert CRIU_SAYS in criu_says and 'kerndat_get_dirty_track failed' in criu_says, criu_says
    assert 'criu rc 1' in criu_says, criu_says
    environment = facts['environment']
    assert environment['criu_can_start'] is False and facts['verdict'] == 'bad', environment
    assert any(CRIU_SAYS in b for b in environment['criu_start_blockers']), environment['criu_start_blockers']
    fix = _probes_memory.PROC_READ_ONLY_FIX
    assert facts['probes']['mem_dirty_track']['fix'] == fix, facts['probes']['mem_dirty_track']
    # criu's line has criu's pid, the probe's its own: the same failure, so the same fix
    assert facts['criu']['starts'] is False and CRIU_SAYS in facts['criu']['reason'], facts['criu']
    assert facts['criu']['fix'] == fix[0].upper() + fix[1:] + '.', facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']
