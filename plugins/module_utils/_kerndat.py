# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of criu's start-up (criu/kerndat.c kerndat_init()) that no probe
mirrors, because they have no feature of their own, yet abort criu when the
kernel answers them with an error criu does not expect (for the /proc/sys
file get_last_cap() reads, with any error).

PRIVATE to the criu.check collection: not a public API.

Each step is a row (the kerndat function it mirrors, the call it makes, the
errors criu takes as "the kernel has not got it") and makes the same call,
which changes nothing: the arguments are the ones criu uses to ask, not to do.
A step whose call fails with any other error is a reason criu would not start
(_decide.environment_blockers()); seen when a seccomp filter denies the call
with EPERM, or with ENOSYS where criu expects EINVAL.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import mmap
import os

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _syscall as S
from ansible_collections.criu.check.plugins.module_utils._proc_parse import read_proc

MEMBARRIER_CMD_GET_REGISTRATIONS = 1 << 9
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42
PAGE = mmap.PAGESIZE


def _membarrier():
    return S.syscall('membarrier', MEMBARRIER_CMD_GET_REGISTRATIONS, 0)[1]


def _close_range():
    # first > last: the kernel refuses with EINVAL before touching any fd.
    return S.syscall('close_range', 2, 1, 0)[1]


def _thp_disable():
    # kerndat_has_thp_disable() sets the flag on criu itself; here it is put
    # back as it was at once.  Before 3.15 the kernel answers EINVAL to both
    # prctl options, which criu takes as "not available".
    old, err = S.prctl(PR_GET_THP_DISABLE)
    if err:
        return err
    err = S.prctl(PR_SET_THP_DISABLE, 1)[1]
    if not err:
        S.prctl(PR_SET_THP_DISABLE, old)
    return err


def _madv_guard():
    # kerndat_has_madv_guard(): one private anonymous page, guarded, then unmapped.
    addr, err = S.syscall('mmap', 0, PAGE, mmap.PROT_READ | mmap.PROT_WRITE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if err:
        raise OSError(err, os.strerror(err))
    try:
        return S.syscall('madvise', addr, PAGE, S.MADV_GUARD_INSTALL)[1]
    finally:
        S.syscall('munmap', addr, PAGE)


def _last_cap():
    # criu's sysctl_op() opens the file under /proc/sys, which a proc mounted
    # with subset=pid (systemd's ProcSubset=pid) does not have.
    try:
        read_proc(_decide.LAST_CAP)
    except OSError as exc:
        return exc.errno or errno.EIO
    return 0


# (criu's function, the call as criu logs it, what it calls, the errnos criu accepts besides success)
STEPS = (
    ('get_last_cap', 'reading %s' % _decide.LAST_CAP, _last_cap, ()),
    ('kerndat_has_thp_disable', 'prctl PR_SET_THP_DISABLE', _thp_disable, (errno.EINVAL,)),
    ('kerndat_has_membarrier_get_registrations', 'membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS)', _membarrier,
     (errno.EINVAL,)),
    ('kerndat_has_close_range', 'close_range()', _close_range, (errno.EINVAL, errno.ENOSYS)),
    ('kerndat_has_madv_guard', 'madvise(MADV_GUARD_INSTALL)', _madv_guard, (errno.EINVAL,)),
)


def failures():
    """[(criu's function, the call, errno)] of the steps that would abort criu here."""
    out = []
    for function, call, probe, accepted in STEPS:
        try:
            err = probe()
        except (OSError, ValueError, S.UnsupportedArch):
            continue  # nothing observed: no reason to claim criu would abort
        if err and err not in accepted:
            out.append((function, call, err))
    return out


def describe(failure):
    function, call, err = failure
    return '%s failed: %s %s%s())' % (call, os.strerror(err), _decide.KERNDAT_STEP_SOURCE, function)
