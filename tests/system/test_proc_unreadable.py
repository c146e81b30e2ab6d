# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""When one /proc file criu needs cannot be opened, or opened but not read,
the probe says what criu says, and criu starts or not as it would.

A seccomp filter cannot refuse one open of /proc and allow the next, so the
probe runs in a child whose private mount namespace has a tmpfs on /proc
that holds only what the test puts there: a file that is missing fails its
open (ENOENT), a directory in a file's place opens and fails its read
(EISDIR), a plain file serves where criu only needs the open (/proc/locks,
clear_refs).  criu's lines are those of criu 4.2: open_proc() prints "Can't
open PID/NAME on procfs", with 0 for /proc/self and -1 for /proc itself
(criu/include/util.h); the rest are quoted beside each case.
"""

import ctypes
import os

import pytest

from conftest import in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _proc_parse as PP
from ansible_collections.criu.check.plugins.module_utils import _registry

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 16384, 1 << 18
# Directories named after every descriptor a probe may open: its open succeeds, its read fails.
EVERY_FD = ['self/fdinfo/%d' % fd for fd in range(64)]
NOENT = 'No such file or directory'
ISDIR = 'Is a directory'


def fake_proc(files=(), dirs=()):
    """In the child: a private mount namespace whose /proc is a tmpfs with
    only ``files`` (empty) and ``dirs`` in it; it dies with the child.
    "{pid}" in a name stands for the child's pid."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')
    for args in ((None, b'/', None, MS_REC | MS_PRIVATE, None), (b'none', b'/proc', b'tmpfs', 0, None)):
        if LIBC.mount(*args) != 0:
            raise OSError(ctypes.get_errno(), 'mount %r' % (args,))
    pid = os.getpid()
    for name in dirs:
        os.makedirs('/proc/' + name.format(pid=pid))
    for name in files:
        path = '/proc/' + name.format(pid=pid)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, 'w').close()


def probe_under(probe_id, files=(), dirs=()):
    """Run the real probe under fake_proc(); return (result, the child's pid)."""
    def body():
        ctx = _context.ProbeContext()   # reads the real /proc/self/status first
        fake_proc(files, dirs)
        return [_registry.BY_ID[probe_id].func(ctx), os.getpid()]

    return in_child(body)


def starts(result, probe_id):
    """Whether criu would get past kerndat with this result."""
    return not _decide.kerndat_blockers({probe_id: result})


# ---------------------------------------------------------------- fdinfo_lock: kerndat_fdinfo_has_lock()

def test_fdinfo_lock_without_proc_locks():
    result, dummy = probe_under('fdinfo_lock')
    assert result['message'] == "Can't open -1/locks on procfs: " + NOENT, result
    assert result['status'] == 'unknown' and not starts(result, 'fdinfo_lock'), result


def test_fdinfo_lock_without_its_fdinfo():
    result, dummy = probe_under('fdinfo_lock', files=['locks'])
    assert result['status'] == 'unknown' and not starts(result, 'fdinfo_lock'), result
    assert result['message'].startswith("Can't open 0/fdinfo/"), result
    assert result['message'].endswith(' on procfs: ' + NOENT), result


def test_fdinfo_lock_with_an_unreadable_fdinfo():
    # read() fails: pr_perror("Unable to read"), kerndat fails
    result, dummy = probe_under('fdinfo_lock', files=['locks'], dirs=EVERY_FD)
    assert result['message'] == 'Unable to read: ' + ISDIR, result
    assert result['status'] == 'unknown' and not starts(result, 'fdinfo_lock'), result


# ---------------------------------------------------------------- ns_pid: kerndat_has_nspid()

@pytest.mark.parametrize('dirs,message', [((), "Can't open /proc/self/status: " + NOENT),
                                          (('self/status',), 'Error reading file: ' + ISDIR)],   # bfd's brefill()
                         ids=['missing', 'unreadable'])
def test_ns_pid_unreadable_status(dirs, message):
    result, dummy = probe_under('ns_pid', dirs=dirs)
    assert result['message'] == message, result
    assert result['status'] == 'unknown' and not starts(result, 'ns_pid'), result


# ---------------------------------------------------------------- fcntl, proc_stat: in cr-check.c, after kerndat

def test_fcntl_without_proc_self_comm():
    result, dummy = probe_under('fcntl')
    assert result['message'] == "Can't open 0/comm on procfs: " + NOENT, result
    assert result['status'] == 'unsupported' and starts(result, 'fcntl'), result


@pytest.mark.parametrize('files,dirs,error', [
    ((), (), "Can't open {pid}/stat on procfs: " + NOENT),     # open_proc()
    (('{pid}/stat',), (), 'stat for {pid} is corrupted'),       # read() < 1: empty
    ((), ('{pid}/stat',), 'stat for {pid} is corrupted'),       # read() < 1: an error
], ids=['missing', 'empty', 'unreadable'])
def test_proc_stat_unreadable(files, dirs, error):
    result, pid = probe_under('proc_stat', files, dirs)
    # check_proc_stat() says its sentence last, after parse_pid_stat()'s reason
    assert result['message'] == 'procfs: stat extension is not supported', result
    assert result['evidence']['error'] == error.format(pid=pid), result
    assert result['status'] == 'unsupported' and starts(result, 'proc_stat'), result


# ---------------------------------------------------------------- mem_dirty_track: kerndat_get_dirty_track()

def test_mem_dirty_track_without_pagemap():
    # clear_refs takes the reset; the open of pagemap fails and so does kerndat
    result, dummy = probe_under('mem_dirty_track', files=['self/clear_refs'])
    assert result['message'] == "Can't open 0/pagemap on procfs: " + NOENT, result
    assert result['status'] == 'unsupported' and not starts(result, 'mem_dirty_track'), result


def test_mem_dirty_track_with_an_unreadable_pagemap():
    # pr_perror("Read pmap err!"), then the entry reads as 0: tracking is off, kerndat goes on
    result, dummy = probe_under('mem_dirty_track', files=['self/clear_refs'], dirs=['self/pagemap'])
    assert result['message'] == 'Dirty tracking is OFF. Memory snapshot will not work.', result
    assert result['evidence']['error'] == 'Read pmap err!: ' + ISDIR, result
    assert result['status'] == 'unsupported' and starts(result, 'mem_dirty_track'), result


# ---------------------------------------------------------------- aio_remap, special_mapping_mremap: /proc/self/maps

@pytest.mark.parametrize('probe_id', ['aio_remap', 'special_mapping_mremap'])
def test_maps_missing(probe_id):
    # get_ring_len() and parse_special_maps() return after open_proc()'s line; the check fails
    result, dummy = probe_under(probe_id)
    assert result['message'] == "Can't open 0/maps on procfs: " + NOENT, result
    assert result['status'] == 'unsupported' and starts(result, probe_id), result


def test_aio_remap_with_unreadable_maps():
    # fgets() ends at the read error: the ring is not found
    result, dummy = probe_under('aio_remap', dirs=['self/maps'])
    assert result['message'] == 'No AIO ring at expected location', result
    assert result['status'] == 'unsupported', result


# ---------------------------------------------------------------- parse_fdinfo(): the fdinfo probes' reader

@pytest.mark.parametrize('dirs,error', [((), "Can't open 0/fdinfo/{fd} on procfs: " + NOENT),
                                        (EVERY_FD, 'Error reading file: ' + ISDIR)],   # bfd's brefill()
                         ids=['missing', 'unreadable'])
def test_parse_fdinfo_unreadable(dirs, error):
    def body():
        rfd, wfd = os.pipe()
        fake_proc(dirs=dirs)
        return [PP.parse_fdinfo(rfd, PP.FD_TYPES_UND), rfd]

    parsed, fd = in_child(body)
    assert parsed['ok'] is False and parsed['error'] == error.format(fd=fd), parsed
