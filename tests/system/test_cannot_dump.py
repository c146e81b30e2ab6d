# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the installed criu cannot dump though it starts and passes its check (criu_facts.criu.cannot_dump), on
this host's kernel, against a real dump: criu 4.1.1 in the Debian 13 root dumps a process with an IPv4 UDP socket
and a TCP socket listening on the loopback (tests/tools/dump_sockets.py).  This host's kernel (6.18) refuses
SO_PASSCRED on those sockets, as every kernel from 6.16 on does, and criu 4.1.1 stops there; the VMs
(tests/vm/test_vm_cannot_dump.py) show the kernels before 6.16, and criu 4.2.1, dumping them."""

import json
import platform
import subprocess

import pytest

from conftest import CRIU_ROOT, criu_and_facts_in_root, criu_root_or_skip, requires_root, run_tool
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils import _runtimes
from ansible_collections.criu.check.plugins.module_utils._context import which

pytestmark = requires_root


def _dump_sockets():
    criu_root_or_skip()
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'python3', '/src/tests/tools/dump_sockets.py'],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    try:
        return json.loads(proc.stdout.decode())
    except ValueError:
        raise AssertionError('dump_sockets.py printed no JSON: %r %r' % (proc.stdout[-2000:], proc.stderr[-2000:]))


@pytest.fixture(scope='module')
def root_criu():
    """criu_facts.criu of the Debian 13 root's criu 4.1.1 on this host's kernel."""
    return criu_and_facts_in_root()[1]['criu']


def test_the_prediction_is_what_criu_does_and_the_facts_say_it(root_criu):
    out = _dump_sockets()
    assert out['version'] == '4.1.1', out
    assert out['kernel'] == {'inet_passcred_refused': _installed_criu.inet_passcred_refused(),
                             'release': platform.release()}, out
    assert out['dumped'] == (out['predicted'] == []), out
    if out['kernel']['inet_passcred_refused']:
        # The kernel this suite is meant for (6.18): the case that can fail.
        assert out['predicted'] == ['inet_sockets'], out
        assert "Can't get 1:16 opt: Operation not supported" in out['error'], out
    criu = root_criu
    assert criu['usable'] is True, criu
    assert [limit['id'] for limit in criu['cannot_dump']] == out['predicted'], criu['cannot_dump']
    for limit in criu['cannot_dump']:
        assert limit['reason'].startswith('criu 4.1.1 (/usr/sbin/criu) cannot dump a process with an IPv4, IPv6 or '
                                          'packet socket (a network server or client) on kernel %s: '
                                          % platform.release()), limit
        assert limit['fix'].startswith('Install criu 4.2 or newer'), limit


def test_the_runtimes_stay_ready_and_say_what_they_cannot_checkpoint(root_criu):
    """podman and runc of this host (scripts/test installs them), judged with the root's criu: ready, since the
    criu works, with a note for each limit, which names the runtime; none where there is no limit."""
    if not (which('podman') and which('runc')):
        pytest.skip('podman and runc are not installed (scripts/test installs them)')
    assert root_criu['cannot_dump'] or not _installed_criu.inet_passcred_refused(), root_criu
    facts = _runtimes.gather(run_tool, root_criu, True)
    for name, label in (('runc', 'runc'), ('podman', 'Podman')):
        fact = facts[name]
        notes = [note for note in fact['notes'] if 'cannot dump' in note]
        assert notes == ['The installed criu 4.1.1 cannot dump %s on this kernel, so %s cannot checkpoint a container '
                         'whose processes hold one (criu_facts.criu.cannot_dump: why, and the fix).' % (limit['what'], label)
                         for limit in root_criu['cannot_dump']], fact
    assert facts['runc']['checkpoint'] == _runtimes.READY, facts['runc']
