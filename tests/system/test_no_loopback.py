# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A network namespace whose loopback is down (unshare -n, or ip netns add
without "ip link set lo up").

criu's start-up (kerndat_tcp_repair(), in every mode) connects a TCP socket
to a listener on 127.0.0.1, and stops when it cannot: "Unable to connect a
socket: Network is unreachable", "Could not initialize kernel features
detection."  Real criu 4.1.1 in the Debian 13 root is the oracle; the facts
must say criu cannot start, and why, with a fix that names the loopback
(the row's own fix, CAP_NET_ADMIN and kernel 4.10, is not the cause here).
"""

import ctypes

import pytest

from conftest import criu_and_facts_in_root, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _probes_sockets
from ansible_collections.criu.check.plugins.module_utils import _registry

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000
CRIU_SAYS = 'Unable to connect a socket: Network is unreachable'


def network_namespace_without_loopback():
    """In the child: a network namespace of its own, whose lo is down; it dies with the child."""
    if LIBC.unshare(CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNET)')


def tcp_half_closed(unprivileged=False):
    ctx = _context.ProbeContext(unprivileged=unprivileged)
    return in_child(lambda: _registry.BY_ID['tcp_half_closed'].func(ctx), network_namespace_without_loopback)


@pytest.mark.parametrize('unprivileged', [False, True], ids=['root', 'unprivileged'])
def test_tcp_half_closed_stops_criu_and_names_the_loopback(unprivileged):
    result = tcp_half_closed(unprivileged)
    assert result['status'] == 'unsupported' and result['message'] == CRIU_SAYS, result
    assert result['evidence']['errno_name'] == 'ENETUNREACH' and result['evidence']['criu_kerndat_fails'], result
    assert result['fix'] == _probes_sockets.LOOPBACK_DOWN_FIX
    blockers = _decide.kerndat_blockers({'tcp_half_closed': result})
    assert len(blockers) == 1 and CRIU_SAYS in blockers[0], blockers
    assert _decide.start_blocker_fix(blockers[0], {'tcp_half_closed': result}) == _probes_sockets.LOOPBACK_DOWN_FIX


def test_with_the_loopback_there_is_no_such_fix():
    result = in_child(lambda: _registry.BY_ID['tcp_half_closed'].func(_context.ProbeContext()))
    assert result['status'] == 'supported' and not result.get('fix'), result


def test_real_criu_and_the_facts_agree_that_criu_cannot_start():
    criu_says, facts = criu_and_facts_in_root(run_in='unshare -n')
    assert CRIU_SAYS in criu_says and 'Could not initialize kernel features detection.' in criu_says, criu_says
    assert 'criu rc 1' in criu_says, criu_says
    environment = facts['environment']
    assert environment['criu_can_start'] is False and facts['verdict'] == 'bad', environment
    assert [b for b in environment['criu_start_blockers'] if CRIU_SAYS in b] == environment['criu_start_blockers']
    assert facts['probes']['tcp_half_closed']['fix'] == _probes_sockets.LOOPBACK_DOWN_FIX
    # the module's own run of the installed criu stops at the same step, and gives the same fix
    assert facts['criu']['starts'] is False and CRIU_SAYS in facts['criu']['reason'], facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']
    fix = _probes_sockets.LOOPBACK_DOWN_FIX
    assert facts['criu']['fix'] == fix[0].upper() + fix[1:] + '.', facts['criu']
