# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A /tmp criu cannot write, as in a container run read-only without a tmpfs
on /tmp (docker run --read-only, Kubernetes' readOnlyRootFilesystem), or one
whose filesystem has no inode left.

criu's start-up (kerndat_has_move_mount_set_group()) and its autofs check
make a directory under /tmp before they mount anything; the probes mount in a
private namespace over a /tmp of their own, which must not hide that.  Real
criu 4.1.1 in the Debian 13 root, with the root's /tmp read-only or out of
inodes, is the oracle: it stops at that step, and so must the facts say; with
a tmpfs /tmp whose blocks are all used it starts, and so must the facts say.
Its dump then cannot write its images, and says only ENOSPC: the smoke says
where, how full, and what to do.
"""

import ctypes
import os

import pytest

from conftest import criu_and_facts_in_root, in_child, requires_root, smoke_in_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts
from ansible_collections.criu.check.plugins.module_utils import _registry

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
EROFS = 'Read-only file system'
ENOSPC = 'No space left on device'
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


def _mount(*args):
    if LIBC.mount(*args) != 0:
        raise OSError(ctypes.get_errno(), 'mount %r' % (args,))


def tmpfs_on_tmp(options):
    """In the child: a private mount namespace with a tmpfs mounted with ``options`` on /tmp."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')
    _mount(None, b'/', None, MS_REC | MS_PRIVATE, None)
    _mount(b'tmpfs', b'/tmp', b'tmpfs', 0, options)


def tmp_without_inodes():
    # its root directory takes the only inode
    tmpfs_on_tmp(b'nr_inodes=1')


def tmp_without_blocks():
    tmpfs_on_tmp(b'size=4k')
    with open('/tmp/fill', 'wb') as fill:
        try:
            fill.write(b'x' * 65536)
            fill.flush()
        except OSError:
            pass
    if os.statvfs('/tmp').f_bfree:
        raise AssertionError('the tmpfs still has free blocks')


def probe(probe_id, setup=read_only_tmp):
    return in_child(lambda: _registry.BY_ID[probe_id].func(_context.ProbeContext()), setup)


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


def test_a_tmp_without_inodes_stops_criu_at_its_mkdtemp():
    result = probe('move_mount_set_group', tmp_without_inodes)
    assert result['status'] == 'unsupported', result
    assert result['message'] == 'Fail to make dir /tmp/.criu.move_mount_set_group.XXXXXX: ' + ENOSPC, result
    assert result['fix'] == _probes_mounts.TMP_NO_INODE_FIX
    assert result['evidence']['errno_name'] == 'ENOSPC', result
    assert _decide.kerndat_blockers({'move_mount_set_group': result}), result
    result = probe('autofs', tmp_without_inodes)
    assert result['message'] == 'failed to construct temporary name: ' + ENOSPC, result
    assert result['fix'] == _probes_mounts.TMP_NO_INODE_FIX


@pytest.mark.parametrize('setup', [None, tmp_without_blocks], ids=['writable', 'tmpfs-without-free-blocks'])
def test_a_usable_tmp_changes_nothing(setup):
    result = probe('move_mount_set_group', setup)
    assert result['status'] == 'supported', result


@pytest.fixture(scope='module', params=[('mount -o remount,ro /tmp', EROFS, _probes_mounts.TMP_FIX),
                                        ('mount -t tmpfs -o nr_inodes=1 tmpfs /tmp', ENOSPC,
                                         _probes_mounts.TMP_NO_INODE_FIX)],
                ids=['read-only', 'without-inodes'])
def in_root_with_unusable_tmp(request):
    prepare, strerror, fix = request.param
    return criu_and_facts_in_root(prepare) + (strerror, fix)


def test_real_criu_and_the_facts_agree_that_criu_cannot_start(in_root_with_unusable_tmp):
    criu_says, facts, strerror, fix = in_root_with_unusable_tmp
    assert CRIU_SAYS in criu_says and 'criu rc 1' in criu_says, criu_says
    assert strerror in criu_says.split(CRIU_SAYS, 1)[1].splitlines()[0], criu_says
    assert 'Could not initialize kernel features detection.' in criu_says, criu_says
    blockers = facts['environment']['criu_start_blockers']
    assert facts['environment']['criu_can_start'] is False and facts['verdict'] == 'bad', facts['environment']
    assert [b for b in blockers if CRIU_SAYS in b] == blockers and blockers, blockers
    # the installed criu (run by the module itself) stops at the same step: no disagreement
    assert facts['criu']['starts'] is False and CRIU_SAYS in facts['criu']['reason'], facts['criu']
    assert facts['criu']['disagreements'] == [], facts['criu']
    # the probe that failed criu's own call knows why: its fix, not the general advice on privileges
    assert facts['probes']['move_mount_set_group']['fix'] == fix
    assert facts['criu']['fix'] == fix[0].upper() + fix[1:] + '.', facts['criu']


def test_real_criu_and_the_facts_agree_that_full_tmpfs_blocks_do_not_matter():
    criu_says, facts = criu_and_facts_in_root(
        'mount -t tmpfs -o size=4k tmpfs /tmp && (head -c 65536 /dev/zero > /tmp/fill; true) && '
        'test "$(stat -f -c %f /tmp)" = 0')
    assert CRIU_SAYS not in criu_says and 'criu rc 0' in criu_says, criu_says
    assert not [b for b in facts['environment']['criu_start_blockers'] if CRIU_SAYS in b], facts['environment']
    assert facts['criu']['disagreements'] == [], facts['criu']


def test_the_smoke_on_a_full_file_system_says_where_and_what_to_do():
    result = smoke_in_root(prepare='mkdir -p /run/t && mount -t tmpfs -o size=64k tmpfs /run/t',
                           module_args={'tmpdir': '/run/t'})
    assert (result['ok'], result['stage']) == (False, 'dump'), result
    # criu's log is on the same file system: whether its reason fits in is chance (its last page-xfer line is
    # seen both whole and cut short), the advice is not.
    assert result['msg'].startswith('criu dump failed (exit 1): '), result['msg']
    assert '; a file system criu writes to is full (the images directory /run/t/criu-smoke-' in result['msg']
    assert '/images: 0 bytes free of 64.0 KiB)' in result['msg'], result['msg']
    assert result['cleanup']['removed'] is True, result
