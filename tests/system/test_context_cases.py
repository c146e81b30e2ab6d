# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What _context answers about the process the probes run in, on the real kernel: whether it can mount where it
is (the environment's can_mount, which decides whether criu can start in a user namespace) and the working
directory the probes and tools run in."""

import ctypes
import os
import resource
import tempfile

from conftest import become_user, enter_user_namespace, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _environment as E
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN

CLONE_NEWNS = 0x00020000


def _can_mount():
    return [_context.owns_mount_namespace(), E.gather(_context.ProbeContext())['can_mount']]


def _own_mount_namespace():
    enter_user_namespace()
    if ctypes.CDLL(None, use_errno=True).unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNS)')


@requires_root
def test_root_in_its_own_namespaces_can_mount():
    assert in_child(_can_mount) == [True, True]


@requires_root
def test_a_user_namespace_with_a_mount_namespace_of_its_own_can_mount():
    """unshare -Urm: the new user namespace owns the new mount namespace (unshare -Ur alone: it does not, and
    test_environment.py::test_user_namespace says can_mount is False)."""
    assert in_child(_can_mount, _own_mount_namespace) == [True, True]
    assert in_child(_can_mount, enter_user_namespace) == [False, False]


def test_the_probes_run_in_the_working_directory(tmp_path):
    def body():
        os.chdir(str(tmp_path))
        return _context.ProbeContext().cwd
    assert in_child(body) == str(tmp_path)


def test_a_removed_working_directory_falls_back_to_the_temporary_one(tmp_path):
    """A module started in a directory removed since (getcwd() fails) still runs, in the temporary directory."""
    def body():
        gone = tmp_path / 'gone'
        gone.mkdir()
        os.chdir(str(gone))
        gone.rmdir()
        return _context.ProbeContext().cwd
    assert in_child(body) == tempfile.gettempdir()


def test_a_probe_waits_at_most_its_own_time_less_the_margin_to_report():
    """Outside the engine an inner wait may take the whole timeout; once the engine starts a probe's clock with
    its timeout, the wait gets what is left of that, less the share kept to report a timeout (a tenth, at least
    0.15 s): a probe given 2 s must not wait the context's 30."""
    ctx = _context.ProbeContext(timeout=30)
    assert ctx.left() == 30.0
    ctx.begin(2)
    assert ctx.timeout == 2.0 and 1.5 < ctx.left() <= 1.8
    ctx.begin()
    assert 1.5 < ctx.left() <= 1.8


def test_a_tool_runs_in_the_c_locale_with_its_exit_status():
    """Probes parse the tools' output, so the tools speak C; their exit status is theirs."""
    ctx = _context.ProbeContext()
    assert ctx.run(['sh', '-c', 'echo "$LC_ALL $LANG"; echo oops >&2; exit 3']) == (3, 'C C\n', 'oops\n')


def test_a_missing_tool_is_127_named():
    assert _context.ProbeContext().run(['criu-check-no-such-tool']) == (
        127, '', 'criu-check-no-such-tool: command not found')


def test_a_tool_that_cannot_be_executed_is_127_with_the_error(tmp_path):
    tool = tmp_path / 'tool'
    tool.write_text('#!/nonexistent/interpreter\n')
    tool.chmod(0o755)
    rc, out, err = _context.ProbeContext().run([str(tool)])
    assert (rc, out) == (127, '') and 'No such file or directory' in err


def test_a_tool_the_system_will_not_start_is_126():
    """Out of processes (RLIMIT_NPROC 0 for a plain user): the tool is there, the shell's 'cannot execute'."""
    def body():
        become_user()
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        return _context.ProbeContext().run(['true'])
    rc, out, err = in_child(body)
    assert (rc, out) == (126, '') and err.startswith('true: cannot be started: '), err


@requires_root
def test_root_and_capabilities_as_root_and_as_a_plain_user():
    def body():
        ctx = _context.ProbeContext()
        return [ctx.root, ctx.has_cap(CAP_SYS_ADMIN)]
    assert in_child(body) == [True, True]
    assert in_child(body, become_user) == [False, False]


def test_integers_read_from_text_and_files(tmp_path):
    assert [_context.int_or_none(v) for v in ('12', ' 7 ', 'x', '', None)] == [12, 7, None, None, None]
    (tmp_path / 'value').write_text('42\n')
    (tmp_path / 'text').write_text('yes\n')
    assert [_context.read_int(str(tmp_path / name)) for name in ('value', 'text', 'missing')] == [42, None, None]
