# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reading /proc files the way criu does (criu/proc_parse.c).

PRIVATE to the criu.check collection: not a public API.

criu reads /proc with sscanf() and counts the conversions, and its
``parse_fdinfo_pid_s()`` accepts a line only when exactly the expected
fields convert (the first 7 for inotify, 3 or 6 for an epoll tfd).  The same
rules are kept here, so that a kernel whose fdinfo criu cannot read fails our
probes too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.criu.check.plugins.module_utils import _result as R

# criu's FD_TYPES__* (images/fdinfo.proto), as parse_fdinfo() takes them
FD_TYPES_UND = 0
FD_TYPES_EVENTFD = 6
FD_TYPES_EVENTPOLL = 7
FD_TYPES_INOTIFY = 8
FD_TYPES_SIGNALFD = 9
# criu's PROC_SELF and PROC_GEN (criu/include/util.h), as its open_proc() lines print them
PROC_SELF = 0
PROC_GEN = -1


class ReadError(OSError):
    """read_proc(): the file opened, but a read failed (criu says that
    otherwise than a failed open).  An OSError, with the read's errno."""


def read_proc(path, limit=None):
    """Read a /proc file in one go (they are generated per read), to its end
    or ``limit`` bytes of it.  OSError when it cannot be opened, ReadError
    when it cannot be read."""
    fd = os.open(path, os.O_RDONLY)
    try:
        chunks = []
        size = 0
        while limit is None or size < limit:
            chunk = os.read(fd, 65536 if limit is None else limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ReadError(exc.errno, exc.strerror)
    finally:
        os.close(fd)
    return b''.join(chunks).decode('utf-8', 'replace')


def open_proc_error(pid, name, err):
    """The line of criu's open_proc() when it cannot open /proc/PID/NAME:
    ``pid`` is 0 for /proc/self (PROC_SELF) and -1 for /proc itself
    (PROC_GEN), as criu prints them."""
    return R.perror("Can't open %d/%s on procfs" % (pid, name), err)


def mount_tree_error(mountinfo):
    """criu's complaint when it builds the tree of its mounts from
    /proc/self/mountinfo text (criu/mount.c mnt_build_ids_tree(), before any
    check, dump or restore), or None: a mount whose parent is not listed must
    be the root mount, at "/", and only one may be.  In a plain chroot the
    mounts below the process's root hang from a mount it cannot see."""
    entries = []
    for line in mountinfo.splitlines():
        fields = line.split(None, 5)
        if len(fields) >= 5 and fields[0].isdigit() and fields[1].isdigit():
            entries.append((int(fields[0]), int(fields[1]), fields[4]))
    listed = set(entry[0] for entry in entries)
    root = None
    # criu's parse_mountinfo() puts each new mount at the head of its list: the last line comes first
    for mnt_id, parent_id, mountpoint in reversed(entries):
        if parent_id in listed:
            continue
        if root is None and mountpoint == '/':
            root = mnt_id
            continue
        # criu keeps mount points with a leading "." (./sys) and its mount log prefix is "mnt: "
        return 'mnt: No parent found for mountpoint %d (@.%s)' % (mnt_id, mountpoint)
    return None


_FMT_TOKEN = re.compile(r'%(\*?)(?:hh|h|ll|l|L|j|z|t)?([dixXusnc])|(\s+)|(.)', re.S)
_NUMBER = {
    'd': re.compile(r'[+-]?\d+'),
    'u': re.compile(r'[+-]?\d+'),
    'x': re.compile(r'[+-]?(?:0[xX](?=[0-9a-fA-F]))?[0-9a-fA-F]+'),
    'X': re.compile(r'[+-]?(?:0[xX](?=[0-9a-fA-F]))?[0-9a-fA-F]+'),
    'i': re.compile(r'[+-]?(?:0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)'),
}
_WS = re.compile(r'\s*')
_NONWS = re.compile(r'\S+')


def _to_int(conv, text):
    sign = -1 if text.startswith('-') else 1
    digits = text.lstrip('+-')
    if conv in 'xX':
        return sign * int(digits, 16)
    if conv == 'i':
        if digits[:2] in ('0x', '0X'):
            return sign * int(digits[2:], 16)
        if digits.startswith('0') and len(digits) > 1:
            return sign * int(digits, 8)
    return sign * int(digits, 10)


def sscanf(text, fmt):
    """The subset of C sscanf(3) that criu's fdinfo and stat parsers use.

    Returns ``(values, positions)``: the converted values in order (their
    count is sscanf's return value) and the offsets stored by ``%n``.
    Whitespace in the format matches any run of whitespace, ``%*s`` skips
    a word, conversions skip leading whitespace, and the first mismatch stops
    the scan, as in C.
    """
    values, positions, pos = [], [], 0
    for match in _FMT_TOKEN.finditer(fmt):
        suppress, conv, space, literal = match.groups()
        if space:
            pos = _WS.match(text, pos).end()
            continue
        if literal is not None:
            if not text.startswith(literal, pos):
                break
            pos += 1
            continue
        if conv == 'n':
            positions.append(pos)
            continue
        if conv == 'c':
            if pos >= len(text):
                break
            value, pos = text[pos], pos + 1
        else:
            pos = _WS.match(text, pos).end()
            found = (_NONWS if conv == 's' else _NUMBER[conv]).match(text, pos)
            if not found:
                break
            value = found.group() if conv == 's' else _to_int(conv, found.group())
            pos = found.end()
        if not suppress:
            values.append(value)
    return values, positions


def _field(line, name):
    """criu's fdinfo_field(): the line starts with "<name>:"."""
    return line.startswith(name + ':')


# Fields of typed fdinfo records; a record met for another fd type is a parse error.
_TYPED_FIELDS = ('eventfd-count', 'clockid', 'tfd', 'sigmask', 'fanotify flags', 'fanotify ino',
                 'fanotify mnt_id', 'inotify wd')
_LOCK_KINDS = ('POSIX', 'FLOCK', 'OFDLCK')


def _parse_lock(text):
    """criu's parse_file_lock_buf() for a non-blocked "lock:" line; None if invalid."""
    values = sscanf(text, '%lld:%s %s %s %d %x:%x:%ld %lld %s')[0]
    if len(values) < 10 or values[1] not in _LOCK_KINDS:
        return None
    if values[2] == 'MSNFS':
        ok = values[3] in ('READ', 'RW', 'WRITE')
    else:
        ok = values[3] in ('UNLCK', 'WRITE', 'READ')
    if not ok:
        return None
    return {'id': values[0], 'kind': values[1], 'type': values[2], 'option': values[3], 'owner': values[4]}


def _parse_typed(line, fd_type):
    """One typed fdinfo line: ``(field, entry)``; entry None on a parse error;
    ``(None, None)`` for a line criu ignores."""
    for name in _TYPED_FIELDS:
        if _field(line, name):
            break
    else:
        return None, None
    wanted = {'eventfd-count': FD_TYPES_EVENTFD, 'tfd': FD_TYPES_EVENTPOLL,
              'sigmask': FD_TYPES_SIGNALFD, 'inotify wd': FD_TYPES_INOTIFY}.get(name)
    if wanted != fd_type:
        return name, None
    if name == 'eventfd-count':
        values = sscanf(line, 'eventfd-count: %llx')[0]
        return name, {'counter': values[0]} if len(values) == 1 else None
    if name == 'tfd':
        values = sscanf(line, 'tfd: %d events: %x data: %llx pos:%lli ino:%lx sdev:%x')[0]
        if len(values) not in (3, 6):
            return name, None
        return name, dict(zip(('tfd', 'events', 'data', 'pos', 'ino', 'sdev'), values))
    if name == 'sigmask':
        values = sscanf(line, 'sigmask: %Lx')[0]
        return name, {'sigmask': values[0]} if len(values) == 1 else None
    # inotify: exactly the first 7 %x fields, so the file handle part is mandatory
    values = sscanf(line, 'inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x '
                          'fhandle-bytes:%x fhandle-type:%x f_handle: %n')[0]
    if len(values) != 7:
        return name, None
    return name, dict(zip(('wd', 'ino', 'sdev', 'mask', 'ignored_mask', 'fhandle_bytes', 'fhandle_type'), values))


def parse_fdinfo(fd, fd_type):
    """criu's ``parse_fdinfo(fd, type, obj)`` on /proc/self/fdinfo/<fd>: see
    parse_fdinfo_text(); an fdinfo file that cannot be read is an error too."""
    try:
        text = read_proc('/proc/self/fdinfo/%d' % fd)
    except ReadError as exc:
        return _unread(exc.errno, R.perror('Error reading file', exc.errno))   # criu's brefill()
    except OSError as exc:
        return _unread(exc.errno, open_proc_error(PROC_SELF, 'fdinfo/%d' % fd, exc.errno))
    return parse_fdinfo_text(text, fd_type)


def _unread(err, error):
    return {'ok': False, 'common': {'mnt_id': -1}, 'locks': [], 'entries': [], 'errno': err, 'error': error}


def parse_fdinfo_text(text, fd_type):
    """The rules of criu's ``parse_fdinfo_pid_s()`` applied to fdinfo text.

    pos/flags/mnt_id ("%*s %lli") and lock: lines count only for
    FD_TYPES_UND; a typed record met for another type is a parse error;
    a type with no record is an error, except eventpoll and inotify.

    Returns a dict: ``ok``; ``common`` (pos, flags, mnt_id: -1 when absent,
    as criu's callers initialise it) and ``locks`` for FD_TYPES_UND;
    ``entries`` for the typed records; ``error`` with criu's message when
    parsing fails; ``lines`` (the fdinfo text) for evidence.
    """
    result = {'ok': False, 'common': {'mnt_id': -1}, 'locks': [], 'entries': [], 'error': None,
              'lines': text.splitlines()}
    entry_met = False
    for line in result['lines']:
        if _field(line, 'pos') or _field(line, 'flags') or _field(line, 'mnt_id'):
            if fd_type != FD_TYPES_UND:
                continue
            values = sscanf(line, '%*s %lli')[0]
            if len(values) != 1:
                return _parse_error(result, line, fd_type)
            result['common'][line.split(':', 1)[0]] = values[0]
            entry_met = True
            continue
        if _field(line, 'lock'):
            if fd_type != FD_TYPES_UND:
                continue
            lock = _parse_lock(line[6:])
            if lock is None:
                return _parse_error(result, line, fd_type)
            result['locks'].append(lock)
        if fd_type == FD_TYPES_UND:
            continue
        name, entry = _parse_typed(line, fd_type)
        if name is None:
            continue
        if entry is None:
            return _parse_error(result, line, fd_type)
        result['entries'].append(entry)
        entry_met = True
    if entry_met or fd_type in (FD_TYPES_EVENTPOLL, FD_TYPES_INOTIFY):
        # an epoll or inotify fd may legitimately have no target at all
        result['ok'] = True
        return result
    result['error'] = 'No records of type %d found in fdinfo file' % fd_type
    return result


def _parse_error(result, line, fd_type):
    result['error'] = 'parse_fdinfo_pid_s: error parsing [%s] for %d' % (line, fd_type)
    return result
