# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu in a plain chroot: its root directory is not a mount point.

Before any check, dump or restore, criu builds the tree of its mounts from
/proc/self/mountinfo (criu/mount.c mnt_build_ids_tree()); in a chroot the
mounts below the root hang from a mount it cannot see, and criu stops:
"mnt: No parent found for mountpoint N (@./sys)", exit 1, for every check
and every --feature.  With the chroot's directory bind-mounted onto itself
the root is a mount point and criu says "Looks good."  Real criu 4.1.1 in
the Debian 13 root (entered with chroot here, not criu_root.sh's
pivot_root) is the oracle.  Everything is mounted in a private mount
namespace that dies with the command.
"""

import json
import subprocess

import pytest

from conftest import REPO, criu_root_or_skip, requires_root

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts
from ansible_collections.criu.check.plugins.module_utils._proc_parse import mount_tree_error

pytestmark = requires_root

INSIDE = ('cd / && rm -f /run/criu.kdat && criu check >&2; echo "criu rc $?" >&2; '
          'mkdir -p /run/c/ansible_collections/criu && ln -s /src /run/c/ansible_collections/criu/check && '
          'echo \'{"ANSIBLE_MODULE_ARGS": {}}\' > /run/args.json && cd /run && '
          'PYTHONPATH=/run/c python3 -m ansible_collections.criu.check.plugins.modules.criu_facts /run/args.json')

SMOKE = ('mkdir -p /run/c/ansible_collections/criu && ln -s /src /run/c/ansible_collections/criu/check && '
         "echo 'ARGS' > /run/args.json && cd /run && PYTHONPATH=/run/c "
         'python3 -m ansible_collections.criu.check.plugins.modules.criu_smoke /run/args.json; '
         'printf "left in /tmp: %s\\n" "$(ls -A /tmp)" >&2')


def _chrooted(root_is_a_mount_point, dev, inside):
    """The shell command ``inside`` chrooted into the Debian 13 root with
    /proc, /sys and ``dev`` mounted: (its stderr, the JSON it printed)."""
    root = criu_root_or_skip()
    setup = 'mount --bind "$R" "$R" && ' if root_is_a_mount_point else ''
    script = (setup + 'mount -t proc proc "$R/proc" && mount -t sysfs sysfs "$R/sys" && ' + dev + ' && '
              'mount -t tmpfs tmpfs "$R/run" && mount -t tmpfs tmpfs "$R/tmp" && mount --bind -o ro "$SRC" "$R/src" && '
              'exec chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin sh -c "$INSIDE"')
    proc = subprocess.run(['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', script],
                          env={'R': root, 'SRC': REPO, 'INSIDE': inside, 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'},
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    err = proc.stderr.decode('utf-8', 'replace')
    try:
        return err, json.loads(proc.stdout.decode())
    except ValueError:
        raise AssertionError('the module printed no JSON: %r %r' % (proc.stdout[-2000:], err[-2000:]))


def in_chroot(root_is_a_mount_point, dev='mount --rbind /dev "$R/dev"'):
    """criu check, then criu_facts, chrooted into the Debian 13 root with
    /proc, /sys and ``dev`` (a shell command: the host's /dev by default)
    mounted: (what criu printed, "criu rc N" last; the facts)."""
    err, printed = _chrooted(root_is_a_mount_point, dev, INSIDE)
    return err, printed['ansible_facts']['criu_facts']


def test_real_criu_and_the_facts_agree_that_criu_cannot_work_in_a_plain_chroot():
    criu_says, facts = in_chroot(False)
    assert 'criu rc 1' in criu_says and 'mnt: No parent found for mountpoint' in criu_says, criu_says
    said = [line.split('): ', 1)[1] for line in criu_says.splitlines() if 'No parent found' in line][0]
    environment = facts['environment']
    assert environment['criu_can_start'] is False and facts['verdict'] == 'bad', environment
    blockers = environment['criu_start_blockers']
    # the same line as criu's, and no other reason: criu's own start-up steps pass in a chroot
    assert blockers == ['%s (%s)' % (_decide.NO_MOUNT_TREE, said)], blockers
    assert 'mount --bind DIR DIR' in _decide.start_blocker_fix(blockers[0], facts['probes'])
    # the probes that mount cannot keep their test mounts from the host here: not tested, not criu's failure
    for probe_id in ('move_mount_set_group', 'autofs'):
        probe = facts['probes'][probe_id]
        assert (probe['status'], probe['message']) == ('unknown', _probes_mounts.MSG_NO_ISOLATION), probe
    assert facts['criu']['starts'] is False and said in facts['criu']['reason'], facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']


def test_with_the_chroot_a_mount_point_criu_and_the_facts_say_it_works():
    criu_says, facts = in_chroot(True)
    assert 'criu rc 0' in criu_says and 'No parent found' not in criu_says, criu_says
    assert facts['environment']['criu_can_start'] is True, facts['environment']
    assert facts['probes']['move_mount_set_group']['status'] == 'supported', facts['probes']['move_mount_set_group']
    assert facts['criu']['agrees'] is True, facts['criu']


def test_a_chroot_whose_dev_is_empty_runs_every_probe_as_criu_runs_every_check():
    """/dev not mounted in the chroot (an empty directory, no /dev/null):
    criu starts and says "Does not look good." at tty (no /dev/ptmx).  The
    facts say the same, each probe run: none is an error for want of
    /dev/null, where the module's workers point their standard streams."""
    criu_says, facts = in_chroot(True, dev='mount -t tmpfs tmpfs "$R/dev"')
    assert "Can't open /dev/ptmx: No such file or directory" in criu_says and 'criu rc 1' in criu_says, criu_says
    assert facts['verdict'] == 'bad' and facts['missing']['required'] == ['tty'], (facts['verdict'], facts['missing'])
    assert facts['environment']['criu_can_start'] is True, facts['environment']
    errors = dict((k, p['message']) for k, p in facts['probes'].items() if p['status'] in ('error', 'unknown'))
    assert not errors, errors
    assert facts['probes']['tun']['status'] == 'unsupported', facts['probes']['tun']
    # the installed criu ran too (its stdin is the worker's), and said what criu says
    check = facts['criu']['check']
    assert (check['verdict'], check['rc']) == ('bad', 1) and facts['criu']['agrees'] is True, facts['criu']


def test_in_a_chroot_whose_dev_is_empty_the_smoke_checkpoints_and_restores():
    """criu dumps and restores a tree without a terminal there; the smoke could not start it ("No such file or
    directory: '/dev/null'", its stdin), nor read criu's version.  Nothing of it is left in the chroot's /tmp."""
    inside = SMOKE.replace('ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': {'fail_on_error': False, 'timeout': 30}}))
    err, result = _chrooted(True, 'mount -t tmpfs tmpfs "$R/dev"', inside)
    assert result['ok'] is True and result['stage'] == 'done', (result, err)
    assert result['criu']['version'] and result['cleanup'] == {'killed': 2, 'removed': True}, result
    assert 'left in /tmp: \n' in err, err


MOUNTINFO_HOST = ('22 1 0:21 / / rw - ext4 /dev/vda1 rw\n'
                  '23 22 0:22 / /proc rw - proc proc rw\n'
                  '24 22 0:23 / /sys rw - sysfs sysfs rw\n')
# the same mounts seen from a chroot into /srv/root: its own mounts only, hanging from mount 22
MOUNTINFO_CHROOT = ('70 22 0:40 / /proc rw,relatime - proc proc rw\n'
                    '71 22 0:41 / /run rw,relatime - tmpfs tmpfs rw\n')


@pytest.mark.parametrize('text, said', [
    (MOUNTINFO_HOST, None),
    # criu reads the lines from the last
    (MOUNTINFO_CHROOT, 'mnt: No parent found for mountpoint 71 (@./run)'),
    # a second mount without a listed parent, even at /, is one too many
    (MOUNTINFO_HOST + '90 5 0:50 / / rw - tmpfs tmpfs rw\n', 'mnt: No parent found for mountpoint 22 (@./)'),
    ('', None),
])
def test_mount_tree_error_is_crius_rule(text, said):
    assert mount_tree_error(text) == said
