# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""fdinfo and sscanf cases the other tests left open (found by mutating
_proc_parse.py), each as criu/proc_parse.c decides it: parse_file_lock_buf()
for "lock:" lines (10 fields, a known kind, an option valid for the type),
parse_fdinfo_pid_s() for the rest.  The kernel prints only well-formed
lines, so these are text; tests/system/test_probes_proc.py reads real fds."""

import errno
import os

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _proc_parse as PP

COMMON = 'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1039\n'


@pytest.mark.parametrize('lock, kind', [
    ('1: POSIX  ADVISORY  WRITE 29685 00:15:4026531879 0 EOF', 'POSIX'),
    ('2: OFDLCK ADVISORY  READ  -1 08:02:1234 0 EOF', 'OFDLCK'),
    ('3: FLOCK  MSNFS  RW 29685 00:15:4026531879 0 EOF', 'FLOCK'),   # RW is an option only a MSNFS lock has
])
def test_lock_lines_criu_reads(lock, kind):
    parsed = PP.parse_fdinfo_text(COMMON + 'lock:\t%s\n' % lock, PP.FD_TYPES_UND)
    assert parsed['ok'] and parsed['error'] is None
    assert [entry['kind'] for entry in parsed['locks']] == [kind]


def test_a_lock_is_recorded_field_by_field():
    """The fdinfo_lock probe's evidence: id, kind, type, option and owner (-1 for an OFD lock)."""
    parsed = PP.parse_fdinfo_text(COMMON + 'lock:\t2: OFDLCK ADVISORY  READ  -1 08:02:1234 0 EOF\n', PP.FD_TYPES_UND)
    assert parsed['locks'] == [{'id': 2, 'kind': 'OFDLCK', 'type': 'ADVISORY', 'option': 'READ', 'owner': -1}]


@pytest.mark.parametrize('lock', [
    '1: FLOCK  ADVISORY  READ 29685 00:15:4026531879 0',             # 9 fields: "Invalid file lock info (9)"
    '1: LEASE  ACTIVE    READ 29685 00:15:4026531879 0 EOF',         # FL_UNKNOWN: "Unknown file lock!"
    '1: FLOCK  ADVISORY  RW 29685 00:15:4026531879 0 EOF',           # "Unknown lock option!"
    '1: FLOCK  MSNFS  UNLCK 29685 00:15:4026531879 0 EOF',
])
def test_lock_lines_criu_rejects(lock):
    parsed = PP.parse_fdinfo_text(COMMON + 'lock:\t%s\n' % lock, PP.FD_TYPES_UND)
    assert not parsed['ok'] and parsed['locks'] == []
    assert parsed['error'] == 'parse_fdinfo_pid_s: error parsing [lock:\t%s] for 0' % lock


@pytest.mark.parametrize('line', [
    'eventfd-count: 0', 'clockid: 0', 'tfd: 4 events: 1d data: 0', 'sigmask:\t0000000000000200',
    'fanotify flags:10 event-flags:0', 'fanotify ino:3f7e8 sdev:fe00000 mflags:0 mask:1 ignored_mask:0',
    'fanotify mnt_id:17 mflags:0 mask:1 ignored_mask:0',
    'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f70300',
])
@pytest.mark.parametrize('fd_type', [PP.FD_TYPES_EVENTFD, PP.FD_TYPES_EVENTPOLL, PP.FD_TYPES_INOTIFY,
                                     PP.FD_TYPES_SIGNALFD])
def test_a_record_of_another_fd_type_is_a_parse_error(line, fd_type):
    """parse_fdinfo_pid_s() goes to parse_err for any typed record whose type is not the one asked for
    (clockid is a timerfd's, fanotify's are a fanotify fd's: neither is a type parse_fdinfo_text() reads)."""
    parsed = PP.parse_fdinfo_text(COMMON + line + '\n', fd_type)
    owner = {'eventfd-count': PP.FD_TYPES_EVENTFD, 'tfd': PP.FD_TYPES_EVENTPOLL, 'sigmask': PP.FD_TYPES_SIGNALFD,
             'inotify wd': PP.FD_TYPES_INOTIFY}.get(line.split(':')[0])
    if owner == fd_type:
        assert parsed['ok'] and len(parsed['entries']) == 1
    else:
        assert not parsed['ok'] and parsed['entries'] == []
        assert parsed['error'] == 'parse_fdinfo_pid_s: error parsing [%s] for %d' % (line, fd_type)


def test_the_types_are_criu_s_numbers():
    """The numbers criu prints in its errors are images/fdinfo.proto's enum fd_types."""
    assert (PP.FD_TYPES_UND, PP.FD_TYPES_EVENTFD, PP.FD_TYPES_EVENTPOLL, PP.FD_TYPES_INOTIFY,
            PP.FD_TYPES_SIGNALFD) == (0, 6, 7, 8, 9)
    assert PP.parse_fdinfo_text(COMMON, PP.FD_TYPES_SIGNALFD)['error'] == 'No records of type 9 found in fdinfo file'


def test_sscanf_stops_where_c_stops():
    assert PP.sscanf('a:1 b:2', 'a:%d c:%d') == ([1], [])          # a literal that does not match ends the scan
    assert PP.sscanf('5', '%d%c') == ([5], [])                      # %c at the end of the input converts nothing
    assert PP.sscanf('mnt_id:\t25', '%*s %lli') == ([25], [])       # %i: decimal unless 0 or 0x leads
    assert PP.sscanf('010 0 10', '%i %i %i') == ([8, 0, 10], [])
    assert PP.sscanf('-5 +7 -0x1f', '%d %u %x') == ([-5, 7, -31], [])


def test_a_typed_fd_read_as_an_untyped_one_keeps_only_the_common_fields():
    """criu's get_fd_mntid() parses any fd as FD_TYPES_UND: its typed records are skipped, not errors."""
    parsed = PP.parse_fdinfo_text(COMMON + 'eventfd-count: 5\n', PP.FD_TYPES_UND)
    assert parsed['ok'] and parsed['error'] is None
    assert parsed['common'] == {'pos': 0, 'flags': 2, 'mnt_id': 17} and parsed['entries'] == []


def test_a_lock_line_counts_only_for_the_untyped_read():
    parsed = PP.parse_fdinfo_text(COMMON + 'eventfd-count: 5\nlock:\t1: FLOCK ADVISORY WRITE 1 00:0f:1 0 EOF\n',
                                  PP.FD_TYPES_EVENTFD)
    assert parsed['ok'] and parsed['locks'] == [] and parsed['entries'] == [{'counter': 5}]
    parsed = PP.parse_fdinfo_text(COMMON + 'lock:\tgarbage\n', PP.FD_TYPES_EVENTPOLL)
    assert parsed['ok'] and parsed['locks'] == []


def test_an_fd_without_mnt_id_has_minus_one_as_criu_s_callers_set_it():
    parsed = PP.parse_fdinfo_text('pos:\t0\nflags:\t02\n', PP.FD_TYPES_UND)
    assert parsed['ok'] and parsed['common'] == {'pos': 0, 'flags': 2, 'mnt_id': -1}


def test_an_unreadable_common_field_is_a_parse_error():
    parsed = PP.parse_fdinfo_text('pos:\t0\nmnt_id:\tnone\n', PP.FD_TYPES_UND)
    assert not parsed['ok']
    assert parsed['error'] == 'parse_fdinfo_pid_s: error parsing [mnt_id:\tnone] for 0'


@pytest.mark.parametrize('fd_type', [PP.FD_TYPES_EVENTPOLL, PP.FD_TYPES_INOTIFY])
def test_an_epoll_or_inotify_fd_without_targets_is_read_without_an_error(fd_type):
    parsed = PP.parse_fdinfo_text(COMMON, fd_type)
    assert parsed['ok'] and parsed['error'] is None and parsed['entries'] == []


def test_reading_a_closed_fd_says_what_criu_says():
    """A real fd, closed: /proc/self/fdinfo/N is gone (ENOENT)."""
    fd = os.open('/dev/null', os.O_RDONLY)
    os.close(fd)
    parsed = PP.parse_fdinfo(fd, PP.FD_TYPES_UND)
    assert not parsed['ok'] and parsed['errno'] == errno.ENOENT
    assert parsed['error'] == "Can't open 0/fdinfo/%d on procfs: No such file or directory" % fd


def test_read_proc_reads_at_most_its_limit():
    """criu reads one buffer of /proc/PID/stat and the like: no more than the limit, however long the file."""
    whole = PP.read_proc('/proc/self/maps')
    assert len(whole) > 100
    assert PP.read_proc('/proc/self/maps', limit=100) == whole[:100]
