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


# ---------------------------------------------------------------- run_tool

def test_run_tool_returns_code_and_both_outputs():
    rc, out, err = _child.run_tool(['/bin/sh', '-c', 'echo "$LC_ALL"; echo oops >&2; exit 3'], {'LC_ALL': 'C'})
    assert (rc, out, err) == (3, 'C\n', 'oops\n')


def test_run_tool_replaces_undecodable_bytes_and_reads_no_stdin():
    rc, out, dummy = _child.run_tool(['/bin/sh', '-c', r"printf 'a\377b'; cat"])
    assert (rc, out) == (0, 'a\ufffdb')


def test_run_tool_keeps_the_module_zip_off_a_tool_python_path(monkeypatch):
    show = ['/bin/sh', '-c', 'echo "${PYTHONPATH-unset}"']
    monkeypatch.setenv('PYTHONPATH', '/usr/lib/x:/tmp/ansible_xyz/ansible_modlib.zip')
    assert _child.run_tool(show)[1] == '/usr/lib/x\n'
    monkeypatch.setenv('PYTHONPATH', '/tmp/ansible_xyz/ansible_modlib.zip')
    assert _child.run_tool(show)[1] == 'unset\n'


def test_run_tool_that_cannot_start_is_a_result_for_the_probes(tmp_path):
    with pytest.raises(OSError):
        _child.run_tool([str(tmp_path / 'missing')])
    # found and executable, but exec() fails: its interpreter is missing
    script = tmp_path / 'bad-interpreter'
    script.write_text('#!/nonexistent/interpreter\n')
    script.chmod(0o755)
    from ansible_collections.criu.check.plugins.module_utils import _context
    rc, dummy, err = _context.ProbeContext().run([str(script)])
    assert rc == 127 and 'No such file or directory' in err
