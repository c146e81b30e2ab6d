# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nothing the differential tests did persists on the host: no mount and no
container.  (Named so that it runs after the comparisons; its fixture waits
for every context anyway.)"""

import _differential as D

# The session's fixtures, defined in _differential (no conftest.py here): bound
# in this module so that pytest finds them for the tests below.
oracle = D.oracle
leak_snapshots = D.leak_snapshots

# Paths that only our runs use.  Other engineers' containers may come and go
# while the suite runs: their mounts are reported, not failed.
OURS = (D.ROOT_DIR, '/.criu.', D.REPO + ' ')


def test_no_mounts_left(leak_snapshots):
    before, after = leak_snapshots
    added = [m for m in after['mounts'] if m not in set(before['mounts'])]
    ours = [m for m in added if any(p in m for p in OURS)]
    assert not ours, 'mounts left behind:\n' + '\n'.join(ours)
    others = [m for m in added if m not in ours]
    assert not others or all('/containers/' in m or '/netns/' in m for m in others), (
        'mounts appeared during the suite:\n' + '\n'.join(others))


def test_no_containers_left(leak_snapshots):
    before, after = leak_snapshots
    assert after['ours'] == [], 'containers left behind: %s' % after['ours']
    gone_or_new = sorted(set(after['containers']) ^ set(before['containers']))
    # Only containers of other images may have come or gone (other users).
    assert not [c for c in gone_or_new if 'criu-check-trixie' in c], gone_or_new
