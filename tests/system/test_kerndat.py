# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of _kerndat: the start-up steps of criu's kerndat_init()
that no probe mirrors, run for real under seccomp filters that change one
answer of the kernel at a time."""

import ctypes
import errno
import platform

import pytest

from conftest import in_child, requires_root

import seccomp_deny as SD

from ansible_collections.criu.check.plugins.module_utils import _kerndat

pytestmark = [requires_root,
              pytest.mark.skipif(platform.machine() != 'x86_64', reason='the filter uses x86_64 system call numbers')]

PR_SET_THP_DISABLE = 41


def prctl_option_fails(option, err):
    """In the child: prctl(option, ...) fails with ``err``, every other call
    (other prctl options included) is allowed."""
    return SD.call_fails('prctl', 0, option, err)


def _thp_disable_errno():
    libc = ctypes.CDLL(None, use_errno=True)
    rc = libc.prctl(PR_SET_THP_DISABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0))
    return ctypes.get_errno() if rc else 0


def test_no_step_fails_here():
    assert in_child(_kerndat.failures) == []


def test_thp_disable_einval_is_not_a_failure():
    """criu/kerndat.c kerndat_has_thp_disable(): EINVAL from
    prctl(PR_SET_THP_DISABLE) (a kernel before 3.15) is "PR_SET_THP_DISABLE
    is not available" and criu goes on; any other error aborts kerndat.
    Under these two filters criu 4.1.1 says "Looks good." (EINVAL) and
    "Could not initialize kernel features detection." (EPERM)."""
    assert in_child(_thp_disable_errno, prctl_option_fails(PR_SET_THP_DISABLE, errno.EINVAL)) == errno.EINVAL
    assert in_child(_kerndat.failures, prctl_option_fails(PR_SET_THP_DISABLE, errno.EINVAL)) == []
    assert in_child(_kerndat.failures, prctl_option_fails(PR_SET_THP_DISABLE, errno.EPERM)) == [
        ['kerndat_has_thp_disable', 'prctl PR_SET_THP_DISABLE', errno.EPERM]]
