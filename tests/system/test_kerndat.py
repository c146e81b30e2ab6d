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
SECCOMP_DATA_ARG0 = 16          # offsetof(struct seccomp_data, args[0]), its low 32 bits on x86_64


def prctl_option_fails(option, err):
    """In the child: prctl(option, ...) fails with ``err``, every other call
    (other prctl options included) is allowed."""
    def setup():
        SD.install([
            (SD.BPF_LD_W_ABS, 0, 0, SD.SECCOMP_DATA_ARCH),
            (SD.BPF_JEQ_K, 1, 0, SD.AUDIT_ARCH_X86_64),
            (SD.BPF_RET_K, 0, 0, SD.SECCOMP_RET_KILL_PROCESS),
            (SD.BPF_LD_W_ABS, 0, 0, SD.SECCOMP_DATA_NR),
            (SD.BPF_JEQ_K, 0, 3, SD.SYSCALLS_X86_64['prctl']),
            (SD.BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARG0),
            (SD.BPF_JEQ_K, 0, 1, option),
            (SD.BPF_RET_K, 0, 0, SD.SECCOMP_RET_ERRNO | err),
            (SD.BPF_RET_K, 0, 0, SD.SECCOMP_RET_ALLOW),
        ])
    return setup


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
