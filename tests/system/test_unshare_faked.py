# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""unshare() answered by a seccomp filter with errno 0 returns 0 and changes nothing: what the probes and helpers
would then mount or create "in their private namespace" would land in the caller's, the host's, and stay.  Each
test runs in a child that first really unshares a throwaway mount and network namespace (/ rprivate, a tmpfs over
/tmp: leftovers.private_tmp_and_net()), and only then installs the filter, so that code that trusts the faked call
can only touch that throwaway namespace.  There, before and after: the mounts, the links and the nftables ruleset.
"""

import os
import platform
import subprocess
import time

import pytest

import leftovers
import seccomp_deny as SD

from conftest import enter_user_namespace, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context, _engine, _installed_criu, _phaul
from ansible_collections.criu.check.plugins.module_utils import _probes_netlink, _registry, _smoke

pytestmark = [requires_root,
              pytest.mark.skipif(platform.machine() != 'x86_64', reason='the filter uses x86_64 system call numbers')]

UNCHANGED = 'returned 0 but the %s namespace is unchanged (a seccomp filter answering the call with errno 0?)'


def _throwaway_then_faked_unshare():
    """In the child: a throwaway mount and network namespace for real (OSError, and no filter, when it cannot be
    made), then unshare() answered with errno 0."""
    leftovers.private_tmp_and_net()
    SD.install(SD.program(['unshare'], 0))


def _state():
    links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=True).stdout
    nft = subprocess.run(['nft', 'list', 'ruleset'], capture_output=True, text=True, check=False).stdout
    return {'mounts': leftovers.mounts(), 'links': sorted(line.split(':')[1].strip() for line in links.splitlines()),
            'nft': nft}


def _faked(func):
    """``func()`` under the faked unshare, with the throwaway namespace's state before and after."""
    def body():
        before = _state()
        result = func()
        return {'result': result, 'before': before, 'after': _state()}
    out = in_child(body, _throwaway_then_faked_unshare, timeout=60)
    assert out['after'] == out['before'], 'something was mounted or created in the namespace unshare() left'
    return out['result']


def _probe(probe_id, unprivileged=False):
    probe = _registry.BY_ID[probe_id]
    return lambda: _engine._run_one(probe, _context.ProbeContext(unprivileged=unprivileged), 30)


@pytest.mark.parametrize('probe_id, namespace', [
    ('move_mount_set_group', 'mount'), ('overlayfs_maps', 'mount'), ('autofs', 'mount'),
    ('link_nsid', 'network'), ('network_lock_nftables', 'network')])
def test_a_probe_is_unknown_and_changes_nothing_when_unshare_is_faked(probe_id, namespace):
    if probe_id == 'autofs' and any(' - autofs ' in line for line in leftovers.mounts()):
        pytest.skip('an autofs mount exists here: the probe decides from it and mounts nothing')
    if probe_id == 'network_lock_nftables' and _probes_netlink.nft_backend()[0] is None:
        pytest.skip('neither python3-nftables nor nft is installed')
    res = _faked(_probe(probe_id))
    assert res['status'] == 'unknown', res
    assert UNCHANGED % namespace in res['message'], res
    assert res['evidence']['failed_step'].startswith('unshare('), res
    # We refuse to change the host; criu, which trusts the call, would not abort.
    assert 'criu_kerndat_fails' not in res['evidence'], res


@pytest.mark.parametrize('probe_id', ['move_mount_set_group', 'link_nsid', 'network_lock_nftables'])
def test_unprivileged_the_answer_stays_criu_does_not_probe_and_the_faked_call_is_named(probe_id):
    """criu does not probe these in --unprivileged mode: the answer does not depend on the kernel's, which is
    only evidence; that evidence names the faked call instead of an errno the kernel never gave."""
    if probe_id == 'network_lock_nftables' and _probes_netlink.nft_backend()[0] is None:
        pytest.skip('neither python3-nftables nor nft is installed')
    res = _faked(_probe(probe_id, unprivileged=True))
    assert res['status'] == 'unsupported', res
    text = str(res['evidence'])
    assert UNCHANGED % 'user' in text, res
    assert 'EPERM' not in text, res


def test_in_a_user_namespace_not_owning_its_mount_namespace_the_faked_call_is_evidence():
    """unshare -U without -m: criu's own first mount gets EPERM whatever a private copy would say, so that
    copy's faked unshare is evidence beside criu's answer, not the probe's failure."""
    def setup():
        leftovers.private_tmp_and_net()
        enter_user_namespace()
        SD.install(SD.program(['unshare'], 0))
    out = in_child(lambda: {'before': _state(), 'result': _probe('move_mount_set_group')(), 'after': _state()},
                   setup, timeout=60)
    assert out['after'] == out['before']
    res = out['result']
    assert res['status'] == 'unsupported', res
    assert res['message'] == 'Fail to mount tmfps to /tmp/.criu.move_mount_set_group.XXXXXX: Operation not permitted'
    assert UNCHANGED % 'mount' in res['evidence']['namespace_unchanged'], res
    assert res['evidence']['criu_kerndat_fails'] is True, res


def test_installed_criu_runs_unprivileged_when_its_private_mount_namespace_is_faked():
    run = _faked(lambda: _installed_criu.run_isolated(['/bin/true'], dict(os.environ), time.monotonic() + 20,
                                                      euid=0, cap_eff=_installed_criu.own_caps()))
    assert run['isolation'] != 'mount_namespace', run
    # why, as private_mount_namespace() says it, not subprocess's "Exception occurred in preexec_fn."
    assert run['note'].startswith('the private mount namespace was refused (unshare(CLONE_NEWNS) ' +
                                  UNCHANGED % 'mount'), run
    assert run['unprivileged'] is True, run


def test_smoke_private_run_says_why_when_unshare_is_faked():
    why = _faked(_smoke.private_run)
    assert why is not None and UNCHANGED % 'mount' in why, why


def test_phaul_criu_is_not_run_when_its_private_mount_namespace_is_faked():
    def run():
        images = '/tmp/images'   # the throwaway tmpfs
        os.mkdir(images)
        return _phaul.run_criu('/bin/true', 'check', [], images, 'check.log', 10, private_run=True)
    res = _faked(run)
    assert res['rc'] == _phaul.PRIVATE_FAILED, res
    assert res['reason'] == 'criu could not be given a private mount namespace with its own /run (unshare, mount)'
