# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu where /dev is a small one made by hand, as systemd's
PrivateDevices=yes makes it (null, zero, full, random, urandom, tty, a pts
instance, shm, mqueue) or a chroot's or a container's: no /dev/net/tun.

criu 4.1.1 starts there and says the kernel is fine but for tun: "tun:
Unable to create tun: No such file or directory".  The kernel has
CONFIG_TUN; the node is what is missing, and the facts' fix must say so
rather than ask for the option.  Making the node brings tun back, for criu
and for the facts.  Real criu in the Debian 13 root is the oracle; the /dev
is a tmpfs in that root's private mount namespace, gone with it.

The node may be there and a device cgroup not allow it (a systemd unit's
DevicePolicy=closed without DeviceAllow=/dev/net/tun): criu 4.1.1 says
"Operation not permitted", and the fix is the cgroup's, not the kernel's.
The cgroup is a cgroup v1 devices controller's, removed after the test.
"""

import os

import pytest

from conftest import criu_and_facts_in_root, requires_root

from ansible_collections.criu.check.plugins.module_utils import _environment_fix

pytestmark = requires_root

SMALL_DEV = ('mount -t tmpfs -o mode=755,nosuid none /dev && cd /dev '
             '&& mknod -m 666 null c 1 3 && mknod -m 666 zero c 1 5 && mknod -m 666 full c 1 7 '
             '&& mknod -m 666 random c 1 8 && mknod -m 666 urandom c 1 9 && mknod -m 666 tty c 5 0 '
             '&& mkdir pts shm mqueue && mount -t devpts -o newinstance,ptmxmode=0666 devpts pts && ln -s pts/ptmx ptmx '
             '&& mount -t tmpfs none shm && mount -t mqueue none mqueue && ln -s /proc/self/fd fd && cd /')
TUN_NODE = ' && mkdir /dev/net && mknod -m 666 /dev/net/tun c 10 200'


def test_without_the_tun_node_criu_and_the_facts_lack_tun_and_the_fix_names_the_node():
    criu_says, facts = criu_and_facts_in_root(prepare=SMALL_DEV, check='check --feature tun_ns')
    assert 'tun: Unable to create tun: No such file or directory' in criu_says and 'criu rc 1' in criu_says, criu_says
    if facts['probes']['tun_ns']['config_values'].get('CONFIG_TUN') in ('n', 'unset'):
        pytest.skip('this kernel is built without CONFIG_TUN: the node is not what is missing')
    assert facts['environment']['criu_can_start'] is True, facts['environment']['criu_start_blockers']
    for probe_id in ('tun', 'tun_ns'):
        probe = facts['probes'][probe_id]
        assert probe['status'] == 'unsupported' and probe['evidence']['errno_name'] == 'ENOENT', probe
        assert probe['fix'] == _environment_fix.TUN_NODE_MISSING_FIX, probe


def test_with_the_node_made_as_the_fix_says_tun_works_for_both():
    criu_says, facts = criu_and_facts_in_root(prepare=SMALL_DEV + TUN_NODE, check='check --feature tun_ns')
    assert 'tun_ns is supported' in criu_says and 'criu rc 0' in criu_says, criu_says
    assert [facts['probes'][p]['status'] for p in ('tun', 'tun_ns')] == ['supported', 'supported'], facts['probes']


DEVICES = '/sys/fs/cgroup/devices'
CGROUP = 'criu-check-no-tun'
# The root's shell (criu and the module are its children) in a devices cgroup that refuses /dev/net/tun.
NO_TUN_CGROUP = ('mkdir -p /run/cg && mount -t cgroup -o devices cgroup /run/cg && mkdir /run/cg/{cg} '
                 '&& echo "c 10:200 rwm" > /run/cg/{cg}/devices.deny && echo $$ > /run/cg/{cg}/cgroup.procs'
                 ).format(cg=CGROUP)


@pytest.fixture
def devices_controller():
    if not os.access(os.path.join(DEVICES, 'devices.deny'), os.W_OK):
        pytest.skip('no cgroup v1 devices controller to write to here')
    yield
    if os.path.isdir(os.path.join(DEVICES, CGROUP)):
        os.rmdir(os.path.join(DEVICES, CGROUP))


@pytest.mark.usefixtures('devices_controller')
def test_a_device_cgroup_that_refuses_the_node_is_named_and_allowing_it_as_the_fix_says_works():
    criu_says, facts = criu_and_facts_in_root(prepare=NO_TUN_CGROUP, check='check --feature tun')
    assert "tun: Can't check tun support: Operation not permitted" in criu_says and 'criu rc 1' in criu_says, criu_says
    for probe_id in ('tun', 'tun_ns'):
        probe = facts['probes'][probe_id]
        assert probe['status'] == 'unsupported' and probe['evidence']['errno_name'] == 'EPERM', probe
        assert probe['fix'] == _environment_fix.TUN_DEVICE_CGROUP_FIX % ('devices:/' + CGROUP), probe
    os.rmdir(os.path.join(DEVICES, CGROUP))   # made again below
    criu_says, facts = criu_and_facts_in_root(
        prepare=NO_TUN_CGROUP + ' && echo "c 10:200 rwm" > /run/cg/%s/devices.allow' % CGROUP, check='check --feature tun')
    assert 'tun is supported' in criu_says and 'criu rc 0' in criu_says, criu_says
    assert [facts['probes'][p]['status'] for p in ('tun', 'tun_ns')] == ['supported', 'supported'], facts['probes']
