# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""After every VM: no qemu left running, no temporary image left, no loop
device or mount of the cache, and every known disagreement still happens.
(Named so that it runs after the comparisons; the fixture waits anyway.)"""

import os
import subprocess

import _vm as V
from process_list import processes

vms = V.vms


def _qemus():
    return processes(lambda cmd: 'qemu-system' in cmd and V.vm.CACHE in cmd)


def test_no_qemu_left(vms):
    vms.wait_all()
    assert _qemus() == []


def test_no_temporary_files_left(vms):
    vms.wait_all()
    tmp = V.vm.TMP
    left = os.listdir(tmp) if os.path.isdir(tmp) else []
    assert left == [], 'left in %s: %s' % (tmp, left)


def test_no_mounts_or_loop_devices(vms):
    vms.wait_all()
    with open('/proc/self/mountinfo') as f:
        mounts = [m for m in f.read().splitlines() if V.vm.CACHE in m]
    assert mounts == []
    loops = subprocess.run(['losetup', '-a'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    assert V.vm.CACHE not in loops.stdout.decode()


def test_known_disagreements_still_happen(vms):
    vms.wait_all()
    # Only the entries whose cases ran in this session (pytest -k may select a few).
    stale = sorted(V.STATE['judged_known'] - V.STATE['matched_known'])
    assert not stale, 'listed in KNOWN but no case disagrees any more (remove them, and from docs/differential.md): %s' % stale
