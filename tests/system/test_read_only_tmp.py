# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A /tmp criu cannot write, as in a container run read-only without a tmpfs
on /tmp (docker run --read-only, Kubernetes' readOnlyRootFilesystem).

criu's start-up (kerndat_has_move_mount_set_group()) and its autofs check
make a directory under /tmp before they mount anything; the probes mount in a
private namespace over a /tmp of their own, which must not hide that.  Real
criu 4.1.1 in the Debian 13 root, with the root's /tmp read-only, is the
oracle: it stops at that step, and so must the facts say.
"""

import ctypes
import json
import subprocess

import pytest

from conftest import CRIU_ROOT, criu_root_or_skip, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts
from ansible_collections.criu.check.plugins.module_utils import _registry

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
EROFS = 'Read-only file system'
# What criu prints, its random part aside.
CRIU_SAYS = 'Fail to make dir /tmp/.criu.move_mount_set_group.'


def read_only_tmp():
    """In the child: a private mount namespace whose /tmp is read-only; it dies with the child."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')
    for args in ((None, b'/', None, MS_REC | MS_PRIVATE, None), (b'/tmp', b'/tmp', None, MS_BIND, None),
                 (None, b'/tmp', None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)):
        if LIBC.mount(*args) != 0:
            raise OSError(ctypes.get_errno(), 'mount %r' % (args,))


def probe(probe_id):
    return in_child(lambda: _registry.BY_ID[probe_id].func(_context.ProbeContext()), read_only_tmp)


def test_move_mount_set_group_stops_criu_at_its_mkdtemp():
    result = probe('move_mount_set_group')
    assert result['status'] == 'unsupported', result
    assert result['message'] == 'Fail to make dir /tmp/.criu.move_mount_set_group.XXXXXX: ' + EROFS, result
    assert result['fix'] == _probes_mounts.TMP_FIX
    blockers = _decide.kerndat_blockers({'move_mount_set_group': result})
    assert len(blockers) == 1 and CRIU_SAYS in blockers[0], blockers


def test_autofs_says_criu_s_mkdtemp_line():
    result = probe('autofs')
    assert result['status'] == 'unsupported', result
    assert result['message'] == 'failed to construct temporary name: ' + EROFS, result
    assert result['fix'] == _probes_mounts.TMP_FIX and not _decide.kerndat_blockers({'autofs': result})


def test_a_writable_tmp_changes_nothing():
    result = in_child(lambda: _registry.BY_ID['move_mount_set_group'].func(_context.ProbeContext()))
    assert not result.get('message', '').startswith('Fail to make dir'), result


@pytest.fixture(scope='module')
def in_root_with_read_only_tmp():
    """criu check and criu_facts in the Debian 13 root, its /tmp read-only."""
    criu_root_or_skip()
    script = ('cd / && mount -o remount,ro /tmp && rm -f /run/criu.kdat && criu check; echo "criu rc $?" >&2; '
              'mkdir -p /run/c/ansible_collections/criu && ln -s /src /run/c/ansible_collections/criu/check && '
              'echo \'{"ANSIBLE_MODULE_ARGS": {}}\' > /run/args.json && cd /run && PYTHONPATH=/run/c python3 -m '
              'ansible_collections.criu.check.plugins.modules.criu_facts /run/args.json')
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'sh', '-c', script], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, check=False)
    err = proc.stderr.decode('utf-8', 'replace')
    return err, json.loads(proc.stdout.decode())['ansible_facts']['criu_facts']


def test_real_criu_and_the_facts_agree_that_criu_cannot_start(in_root_with_read_only_tmp):
    criu_says, facts = in_root_with_read_only_tmp
    assert CRIU_SAYS in criu_says and 'criu rc 1' in criu_says, criu_says
    assert 'Could not initialize kernel features detection.' in criu_says, criu_says
    blockers = facts['environment']['criu_start_blockers']
    assert facts['environment']['criu_can_start'] is False and facts['verdict'] == 'bad', facts['environment']
    assert [b for b in blockers if CRIU_SAYS in b] == blockers and blockers, blockers
    # the installed criu (run by the module itself) stops at the same step: no disagreement
    assert facts['criu']['starts'] is False and CRIU_SAYS in facts['criu']['reason'], facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']
