# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A seccomp filter that refuses a socket family with EAFNOSUPPORT, as
systemd's RestrictAddressFamilies= does for the families it leaves out.

Without AF_NETLINK, criu 4.1.1 stops in its start-up ("net: Unable to
create a netlink socket: Address family not supported by protocol"), and
the facts said so, but their fixes blamed the kernel (sock_diag's "enable
CONFIG_UNIX_DIAG ...", newifindex's "a kernel >= 5.13"), and criu.fix gave
none.  Every kernel with networking has netlink: the fix names the filter.
Without AF_PACKET (no probe creates one, neither does criu's check) both
say criu works.  Real criu in the Debian 13 root is the oracle.
"""

import platform

import pytest

from conftest import criu_and_facts_in_root, requires_root

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils._probes_sockets import AF_NETLINK, AF_PACKET

pytestmark = [requires_root, pytest.mark.skipif(platform.machine() != 'x86_64',
                                                reason='seccomp_deny.py knows x86_64 system calls only')]


def refusing(family):
    """Shell words that run CMD with socket(family, ...) refused: EAFNOSUPPORT."""
    return ("python3 -c 'import errno, os, sys; sys.path.insert(0, \"/src/tests/tools\"); import seccomp_deny as S; "
            "S.install(S.argument_program(\"socket\", 0, %d, errno.EAFNOSUPPORT)); "
            "os.execvp(sys.argv[1], sys.argv[1:])'" % family)


def test_without_netlink_criu_cannot_start_and_the_fix_names_the_filter():
    criu_says, facts = criu_and_facts_in_root(run_in=refusing(AF_NETLINK))
    assert 'criu rc 1' in criu_says and 'Unable to create a netlink socket: Address family not supported' in criu_says
    assert facts['verdict'] == 'bad' and facts['criu']['starts'] is False, facts['summary']
    assert facts['criu']['disagreements'] == [], facts['criu']
    fix = _environment_fix.SOCKET_FAMILY_REFUSED_FIX
    refused = dict((i, p) for i, p in facts['probes'].items() if p['evidence'].get('errno_name') == 'EAFNOSUPPORT')
    assert {'sock_diag', 'newifindex'} <= set(refused), sorted(refused)
    assert all(p['fix'] == fix for p in refused.values()), refused
    blockers = facts['environment']['criu_start_blockers']
    assert blockers and _decide.start_blocker_fix(blockers[0], facts['probes']) == fix, blockers
    assert facts['criu']['fix'].lower().startswith(fix.lower()), facts['criu']


def test_without_packet_sockets_both_say_criu_works():
    criu_says, facts = criu_and_facts_in_root(run_in=refusing(AF_PACKET))
    assert 'criu rc 0' in criu_says, criu_says
    assert facts['verdict'] != 'bad' and facts['criu']['starts'] is True, facts['summary']
    assert not [i for i, p in facts['probes'].items() if p['evidence'].get('errno_name') == 'EAFNOSUPPORT']
