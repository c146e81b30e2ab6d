# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the installed criu cannot dump though it starts and passes its check (criu_facts.criu.cannot_dump),
against real dumps on Debian's kernels: in the main boot of each, as root, criu 4.1.1 and 4.2.1 each dump a
process with an IPv4 UDP socket and a TCP socket listening on the loopback (tests/tools/dump_sockets.py, run by
tests/differential/inside_root.py), and what _installed_criu.cannot_dump() predicts of that criu on that kernel
is set beside it.  Linux 6.16 and newer (sid's 7.2) refuse SO_PASSCRED on those sockets, which criu 4.1.1 reads
and 4.2.1 does not; the kernels before (5.10, 6.1, 6.12) let both dump.  tests/system/test_cannot_dump.py does
the same on this host's kernel."""

import pytest

import _vm as V
from _vm import report_of

vms = V.vms

CASES = ['%s/base/root/%s' % (suite, version) for suite in V.SUITES for version in V.VERSIONS]


def _dump(vms, case):
    run = report_of(vms, case)['scripts']['dump_sockets']
    if run['json'] is None:
        pytest.fail('%s: dump_sockets.py printed no JSON (rc %s): %s' % (case, run['rc'], run['stderr'][-1500:]),
                    pytrace=False)
    return run['json']


@pytest.mark.parametrize('case', CASES)
def test_the_prediction_is_what_the_dump_does(vms, case):
    out = _dump(vms, case)
    assert out['version'] == V.split(case)[3], out
    assert out['dumped'] == (out['predicted'] == []), out
    if not out['dumped']:
        assert "Can't get 1:16 opt: Operation not supported" in (out['error'] or ''), out


def test_the_kernels_tell_apart(vms):
    """Only sid's kernel (7.2, at least 6.16) refuses SO_PASSCRED on an IPv4 socket, and there criu 4.1.1 is
    the one that cannot dump: were the observation or the table wrong, every case would agree trivially."""
    seen = dict((case, _dump(vms, case)) for case in CASES)
    refused = sorted(set(V.split(c)[0] for c, out in seen.items() if out['kernel']['inet_passcred_refused']))
    assert refused == ['sid'], dict((c, out['kernel']) for c, out in seen.items())
    assert [c for c, out in seen.items() if out['predicted']] == ['sid/base/root/4.1.1'], seen
