# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The children probes fork (_child): a value comes back, the child dies with
its parent, exceptions and timeouts are reported, nothing is left unreaped."""

import ctypes
import os
import signal
import time

import pytest

import conftest
from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _syscall

COLLECTIONS = conftest.COLLECTIONS  # importing conftest puts the collection on sys.path
LIBC = ctypes.CDLL(None, use_errno=True)
PR_GET_PDEATHSIG = 2


def test_run_in_child_reports_value_and_sets_pdeathsig():
    def body():
        sig = ctypes.c_int(-1)
        LIBC.prctl(PR_GET_PDEATHSIG, ctypes.byref(sig), 0, 0, 0)
        return {'pdeathsig': sig.value, 'pid': os.getpid()}
    res = _child.run_in_child(body, 5.0)
    assert res['pdeathsig'] == signal.SIGKILL
    assert res['pid'] != os.getpid()
    with pytest.raises(ChildProcessError):
        os.waitpid(res['pid'], os.WNOHANG)  # already reaped


def test_run_in_child_raises_and_times_out():
    with pytest.raises(RuntimeError, match='ValueError: nope'):
        _child.run_in_child(lambda: (item for item in ()).throw(ValueError('nope')), 5.0)
    with pytest.raises(_syscall.UnsupportedArch):
        _child.run_in_child(lambda: _syscall.nr('no_such_call'), 5.0)

    def sleeper():
        time.sleep(30)
    with pytest.raises(RuntimeError, match='timed out'):
        _child.run_in_child(sleeper, timeout=0.3)
    with open('/proc/self/task/%d/children' % os.getpid()) as f:
        assert f.read().split() == []
