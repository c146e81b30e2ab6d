# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each start-up step of criu's kerndat_init() that _kerndat mirrors, run for real under a seccomp filter that
fails exactly the call criu makes (the system call and the argument that asks): an error criu does not expect is
a reason criu would not start, the errors it takes as "not available" are not; and the steps leave the process
as they found it (the THP flag, its descriptors)."""

import ctypes
import errno
import os
import platform

import pytest

from conftest import in_child, requires_root

import seccomp_deny as SD

from ansible_collections.criu.check.plugins.module_utils import _kerndat

pytestmark = [requires_root,
              pytest.mark.skipif(platform.machine() != 'x86_64', reason='the filter uses x86_64 system call numbers')]

MEMBARRIER_CMD_GET_REGISTRATIONS = 1 << 9
MADV_GUARD_INSTALL = 102
PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42


# (criu's function, the call as criu logs it, the system call, which argument asks and with what, accepted errnos)
STEPS = [
    ('kerndat_has_membarrier_get_registrations', 'membarrier(MEMBARRIER_CMD_GET_REGISTRATIONS)', 'membarrier', 0,
     MEMBARRIER_CMD_GET_REGISTRATIONS, [errno.EINVAL]),
    # close_range(2, 1, 0): first > last, refused before any descriptor is touched.
    ('kerndat_has_close_range', 'close_range()', 'close_range', 0, 2, [errno.EINVAL, errno.ENOSYS]),
    ('kerndat_has_madv_guard', 'madvise(MADV_GUARD_INSTALL)', 'madvise', 2, MADV_GUARD_INSTALL, [errno.EINVAL]),
]


@pytest.mark.parametrize('function, call, name, arg, value, accepted', STEPS, ids=[s[0] for s in STEPS])
def test_an_unexpected_error_of_the_step_is_a_failure_the_ones_criu_accepts_are_not(
        function, call, name, arg, value, accepted):
    assert in_child(_kerndat.failures, SD.call_fails(name, arg, value, errno.EPERM)) == [[function, call, errno.EPERM]]
    for err in accepted:
        assert in_child(_kerndat.failures, SD.call_fails(name, arg, value, err)) == [], errno.errorcode[err]


def test_the_failure_is_described_with_the_error_and_crius_function():
    failure = in_child(_kerndat.failures, SD.call_fails('close_range', 0, 2, errno.EPERM))[0]
    assert _kerndat.describe(failure).startswith('close_range() failed: Operation not permitted ')
    assert _kerndat.describe(failure).endswith('kerndat_has_close_range())')


def _thp_flag_after_the_steps(flag):
    libc = ctypes.CDLL(None, use_errno=True)
    args = [ctypes.c_ulong(0)] * 3
    if libc.prctl(PR_SET_THP_DISABLE, ctypes.c_ulong(flag), *args) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_THP_DISABLE)')
    failures = _kerndat.failures()
    return failures, libc.prctl(PR_GET_THP_DISABLE, ctypes.c_ulong(0), *args)


@pytest.mark.parametrize('flag', [0, 1])
def test_the_thp_step_puts_the_flag_back_as_it_was(flag):
    """kerndat_has_thp_disable() sets PR_SET_THP_DISABLE on criu itself; the mirror must not leave it changed on
    the process that runs the probes (THP off for the module's later mappings, or back on where it was off)."""
    assert in_child(lambda: _thp_flag_after_the_steps(flag)) == [[], flag]


def _descriptors_after_the_steps():
    before = sorted(os.listdir('/proc/self/fd'))
    _kerndat.failures()
    return before, sorted(os.listdir('/proc/self/fd'))


def test_the_steps_close_no_descriptor():
    before, after = in_child(_descriptors_after_the_steps)
    assert after == before
