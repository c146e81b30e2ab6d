# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What criu_smoke answers that no test held, found by mutating _smoke: which criu it runs, and how it reads
criu's log into the reason it reports."""

import collections
import os
import signal
import subprocess
import time

import pytest

from conftest import NOBODY, become_user, drop_effective_caps, in_child, requires_root
import process_list

from ansible_collections.criu.check.plugins.module_utils import _phaul
from ansible_collections.criu.check.plugins.module_utils import _smoke
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN


def test_a_criu_path_given_as_a_file_is_used_whatever_path_says(tmp_path):
    criu = tmp_path / 'opt' / 'criu'
    criu.parent.mkdir()
    criu.write_text('#!/bin/sh\n')
    criu.chmod(0o755)
    assert _smoke.find_criu(str(criu), env_path='') == str(criu)
    assert _smoke.find_criu(str(criu), env_path='/usr/bin:/bin') == str(criu)
    assert _smoke.find_criu(str(criu.parent), env_path='') is None        # a directory is no criu
    # A relative path names a file from the working directory, not one looked up on PATH.
    assert _smoke.find_criu('opt/criu', env_path=str(tmp_path)) is None


def test_a_name_on_path_is_an_executable_file_in_a_listed_directory(tmp_path):
    """Not a directory of that name, and not the working directory an empty PATH entry would mean."""
    (tmp_path / 'dir' / 'criu').mkdir(parents=True)
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'bin' / 'criu').write_text('#!/bin/sh\n')
    (tmp_path / 'bin' / 'criu').chmod(0o755)
    assert _smoke.find_criu('criu', env_path='%s:%s' % (tmp_path / 'dir', tmp_path / 'bin')) == str(
        tmp_path / 'bin' / 'criu')

    def from_cwd():
        os.chdir(str(tmp_path / 'bin'))
        return _smoke.find_criu('criu', env_path=':%s' % (tmp_path / 'dir'))
    assert in_child(from_cwd) is None


# ---------------------------------------------------------------- who may run criu

def _privilege(setup):
    def body():
        setup()
        return _smoke.privilege_problem()
    return in_child(body)


@requires_root
def test_root_or_either_capability_may_checkpoint():
    """criu/crtools.c refuses without CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE: either one is enough."""
    assert _privilege(lambda: None) is None
    assert _privilege(lambda: drop_effective_caps([CAP_SYS_ADMIN])) is None
    assert _privilege(lambda: drop_effective_caps([CAP_CHECKPOINT_RESTORE])) is None
    assert _privilege(lambda: drop_effective_caps([CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE])) == (
        'criu needs root, or the CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE capability, to checkpoint and restore; '
        'this process (uid 0) has neither: run the task with become: true')
    assert _privilege(become_user).endswith('this process (uid %d) has neither: run the task with become: true' % NOBODY)


# ---------------------------------------------------------------- criu's log

def test_without_an_error_line_the_last_ten_lines_explain():
    lines = ['(00.%03d) line %d' % (i, i) for i in range(30)]
    assert _smoke.explain_log('\n'.join(lines)) == lines[-10:]


def test_each_error_comes_with_the_three_lines_before_it_once():
    lines = ['(00.%03d) line %d' % (i, i) for i in range(20)]
    lines[6] = '(00.006) Error (criu/mem.c:1): first'
    lines[8] = '(00.008) Error (criu/mem.c:2): second'
    lines[16] = "(00.016) Can't connect to server 10.0.0.1:1234"
    assert _smoke.explain_log('\n'.join(lines)) == lines[3:9] + lines[13:17]
    assert _smoke.explain_log('\n'.join(lines), limit=2) == lines[15:17]
    lines[0] = '(00.000) Error (criu/crtools.c:1): first of all'
    assert _smoke.explain_log('\n'.join(lines[:3])) == lines[:1]


# ---------------------------------------------------------------- our processes

def test_the_session_of_a_process_and_of_none():
    """The session (stat field 6), not the process group (field 5): a group leader inside our session is ours."""
    def body():
        os.setsid()
        pid = os.fork()
        if pid == 0:
            os.setpgid(0, 0)
            time.sleep(30)
            os._exit(0)
        try:
            process_list.until(lambda: os.getpgid(pid) == pid, 10)
            return [_smoke.session_of(pid) == os.getpid(), _smoke.session_of(os.getpid()) == os.getpid()]
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert in_child(body) == [True, True]
    assert _smoke.session_of(2 ** 22 + 1) is None


def _child_with(parent, accepts):
    """The pid of a child of ``parent`` whose raw command line ``accepts(cmdline)`` takes, once there is one (at
    most 10 s); None if there is none by then."""
    def child():
        for name in os.listdir('/proc'):
            if name.isdigit() and _smoke.stat_field(name, 4) == str(parent).encode() and \
                    accepts(_smoke.read_file('/proc/%s/cmdline' % name) or b''):
                return int(name)
        return None
    return process_list.until(child, 10)


def _marked_child(parent, mark):
    """The child of ``parent`` whose command line holds ``mark``, once it does."""
    child = _child_with(parent, lambda cmdline: mark in cmdline)
    assert child, 'no marked child of %d' % parent
    return child


def _sleeping_child(parent):
    """Wait until ``parent`` (a shell) has a child that exec'd sleep: until then that child is a copy of the shell,
    with its command line, mark included."""
    assert _child_with(parent, lambda cmdline: cmdline.startswith(b'sleep\0')), 'no sleep under %d' % parent


def test_marked_processes_are_ours_by_mark_and_session(tmp_path):
    """A process counts when its command line holds the mark and its session is one we made, or is led by a
    process that holds the mark; not without the mark, and not when excluded."""
    mark = str(tmp_path / 'mark').encode()
    ours = subprocess.Popen(['sh', '-c', 'sleep 30; :', mark], start_new_session=True)
    other = subprocess.Popen(['sh', '-c', 'sh -c "sleep 30; :" "$MARK"; :'], start_new_session=True,
                             env={'PATH': os.environ['PATH'], 'MARK': mark})
    try:
        process_list.until(lambda: mark in (_smoke.read_file('/proc/%d/cmdline' % ours.pid) or b''), 10)
        _sleeping_child(ours.pid)
        # Led by a process with the mark (itself): found without naming the session.
        assert _smoke.marked_processes(mark, set()) == [ours.pid]
        assert _smoke.marked_processes(mark, {ours.pid}) == [ours.pid]
        assert _smoke.marked_processes(mark, {ours.pid}, exclude=(ours.pid,)) == []
        assert _smoke.marked_processes(b'no-such-mark-' + mark, {ours.pid, other.pid}) == []
        # A marked process in a session led by one without the mark: ours only when we made that session.
        inner = _marked_child(other.pid, mark)
        _sleeping_child(inner)
        assert _smoke.marked_processes(mark, set(), exclude=(ours.pid,)) == []
        assert _smoke.marked_processes(mark, {other.pid}, exclude=(ours.pid,)) == [inner]
    finally:
        for proc in (ours, other):
            os.killpg(proc.pid, signal.SIGKILL)     # with the sleep the shell started
            proc.wait()


def test_reap_collects_every_dead_child():
    def body():
        pids = []
        for code in (3, 4):
            pid = os.fork()
            if pid == 0:
                os._exit(code)
            pids.append(pid)
        for pid in pids:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
        exited = {}
        _smoke.reap(exited)
        return sorted((pid, os.waitstatus_to_exitcode(status)) for pid, status in exited.items()) == sorted(
            zip(pids, (3, 4)))
    assert in_child(body) is True


# ---------------------------------------------------------------- advice on a known cause

def test_a_bounding_set_criu_cannot_drop_is_explained_wherever_criu_fails_so(monkeypatch):
    """criu_smoke's message and criu_dump/criu_restore's (_phaul.failure_message()) both add what to do
    (tests/system/test_criu_file_capabilities.py meets the cause for real, and test_criu_under_limits.py for root);
    a number the table does not name stands as its digits, and a failure of another cause gets no advice."""
    why = 'Unable to drop capability 24: -1'
    assert _smoke.advice(why, '/run/b/criu').startswith(
        "the dumped task's capability bounding set lacked CAP_SYS_RESOURCE, and criu restores that set")
    assert 'give this root CAP_SETPCAP (a container: --cap-add=SETPCAP)' in _smoke.advice(why, '/run/b/criu')
    monkeypatch.setattr(_smoke.os, 'geteuid', lambda: 65534)
    assert 'setcap cap_checkpoint_restore,cap_setpcap+eip /run/b/criu' in _smoke.advice(why, '/run/b/criu')
    assert 'lacked CAP_63,' in _smoke.advice('Unable to drop capability 63: -1')
    assert _smoke.advice("Can't dump page with parasite") is None and _smoke.advice(None) is None
    res = {'rc': 1, 'timed_out': False, 'reason': why}
    assert _phaul.failure_message('restore', res, 10) == 'criu restore failed (exit 1): %s; %s' % (
        why, _smoke.advice(why))
    assert _phaul.failure_message('restore', dict(res, reason='other'), 10) == 'criu restore failed (exit 1): other'


def test_a_criu_killed_by_a_signal_is_not_explained_by_a_warning_it_went_on_after():
    """criu warns when it cannot raise its own RLIMIT_NOFILE and goes on: that line is the reason only of a criu
    that ended by itself, never of one a signal ended (tests/system/test_criu_under_limits.py)."""
    lines = ["(00.001) Error (criu/util.c:1): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted"]
    assert _smoke.reason(lines, rc=1) == "rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted"
    assert _smoke.reason(lines, rc=-25) is None
    assert _smoke.reason(lines + ['(00.002) Error (criu/mem.c:2): real cause'], rc=-25) == 'real cause'
    res = {'rc': -25, 'timed_out': False, 'reason': None}
    assert _phaul.failure_message('dump', res, 10).startswith(
        'criu dump failed (killed by signal 25): no message; it wrote past its file size limit (RLIMIT_FSIZE, ')


def test_a_full_file_system_or_quota_says_which_directory_and_what_to_do(tmp_path):
    """ENOSPC is met for real (tests/system/test_read_only_tmp.py, tests/integration/test_migration_steps.py);
    EDQUOT cannot be here (this kernel's tmpfs has no quotas): the same advice, with the quota to raise.  A
    directory that is gone leaves out the figures, never the advice."""
    full = _smoke.advice('page-xfer: Unable to spice data: No space left on device', images_dir=str(tmp_path))
    assert full.startswith('a file system criu writes to is full (the images directory %s: ' % tmp_path), full
    assert 'free space there, or put the images on a file system with room' in full
    quota = _smoke.advice("Can't write: Disk quota exceeded", images_dir=str(tmp_path / 'gone'))
    assert quota.startswith("criu's user has used up its disk quota on a file system criu writes to: "), quota
    assert 'raise the quota (setquota, edquota), or put the images' in quota
    assert [_smoke._size(n) for n in (0, 1023, 65536, 3 << 20, 5 << 40)] == [
        '0 bytes', '1023 bytes', '64.0 KiB', '3.0 MiB', '5120.0 GiB']
    res = {'rc': 1, 'timed_out': False, 'reason': 'No space left on device', 'images_dir': str(tmp_path)}
    assert '(the images directory %s: ' % tmp_path in _phaul.failure_message('dump', res, 10)


@pytest.mark.parametrize('euid, room, expected', [
    (0, dict(f_bavail=0, f_bfree=0), '0 bytes free of 64.0 KiB'),
    (65534, dict(f_bavail=0, f_bfree=3), '0 bytes free of 64.0 KiB'),
    (0, dict(f_bavail=0, f_bfree=3), None),                 # root has the reserved blocks left
    (0, dict(f_favail=0), 'no inode free of 50'),
    (0, dict(f_files=0, f_favail=0), None),                 # counts no inodes (btrfs)
    (0, dict(f_blocks=0, f_bavail=0, f_bfree=0), None),     # counts no blocks
])
def test_criu_s_words_cut_short_on_a_full_file_system_still_get_the_advice(monkeypatch, euid, room, expected):
    """criu's log is in the images directory: on a full file system it may end before its reason (seen with a
    64 KiB tmpfs), so a full file system there is advice of itself.  Which statvfs() figures are full cannot be
    chosen on one kernel (blocks reserved for root, inodes), hence a fake."""
    fs = dict(f_frsize=4096, f_blocks=16, f_bavail=5, f_bfree=5, f_files=50, f_favail=7)
    fs.update(room)
    monkeypatch.setattr(_smoke.os, 'statvfs', lambda path: collections.namedtuple('statvfs', fs)(**fs))
    monkeypatch.setattr(_smoke.os, 'geteuid', lambda: euid)
    text = _smoke.advice('page-xfer: Unable to spice da', images_dir='/run/s/images')
    if expected is None:
        assert text is None
    else:
        assert text.startswith('a file system criu writes to is full (the images directory /run/s/images: %s), and '
                               "criu's log, written there too, may end before its reason: " % expected), text
    assert _smoke.advice('page-xfer: Unable to spice da') is None


def test_a_task_criu_could_not_seize_without_a_tracer_gets_what_criu_needs():
    """tests/integration/test_migration_steps.py meets a traced tree for real; a task without a tracer (this one)
    gets the other causes, and compel's warning, without its prefix, is the reason before criu's last error."""
    me = os.getpid()
    assert _smoke.advice('Unable to interrupt task: %d (Operation not permitted)' % me).startswith(
        'criu could not trace process %d (PTRACE_SEIZE): it needs CAP_SYS_PTRACE' % me)
    lines = ['(00.034487) Warn  (compel/src/lib/infect.c:133): Unable to interrupt task: 7 (Operation not permitted)',
             '(00.034501) Unfreezing tasks into 1',
             '(00.034503) Error (compel/src/lib/infect.c:418): Unable to detach from 7: No such process']
    assert _smoke.reason(lines, rc=1) == 'Unable to interrupt task: 7 (Operation not permitted)'
    assert _smoke.explain_log('\n'.join(lines))[0] == lines[0]
    assert _smoke.advice('Unable to interrupt task: %d (No such process)' % me) is None


def test_a_taken_pid_names_what_holds_it_a_live_process_or_a_zombie():
    """tests/integration/test_migration_steps.py meets it for real with criu (its holder there is the ended tree's
    zombie); here the holder is this process, then a zombie of it, and the older kernels' words (ns_last_pid)."""
    me = os.getpid()
    comm = open('/proc/self/comm').read().strip()
    text = _smoke.advice("Can't fork for %d: File exists" % me)
    assert text.startswith('pid %d, which the dumped tree had, is taken here (by %s): criu gives every ' % (me, comm))
    assert _smoke.advice('Pid 7 do not match expected %d' % me) == text
    child = os.fork()
    if child == 0:
        os._exit(0)
    try:
        process_list.until(lambda: _smoke.stat_field(child, 3) == b'Z', 2)
        zombie = _smoke.advice("Can't fork for %d: File exists" % child)
        assert '(by %s, a zombie its parent has not reaped)' % comm in zombie, zombie
    finally:
        os.waitpid(child, 0)
    assert _smoke.advice("Can't fork for %d: Operation not permitted" % me) is None


def test_no_room_for_crius_own_descriptors_names_the_limit_this_process_has():
    import resource
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    text = _smoke.advice("sfd: Can't chose service_fd_base: 0 34")
    assert text.startswith('criu keeps its own descriptors below the file descriptor limit (RLIMIT_NOFILE, %d; ' % soft)
    assert text.endswith('or give criu CAP_SYS_RESOURCE, with which it raises its own')


def test_a_tree_whose_session_criu_cannot_see_is_told_how_to_get_one():
    """criu's "A session leader of N(M) is outside of its pid namespace" (tests/integration/test_migration_steps.py
    meets it for real with unshare -p -f): a process in session 0 (a kernel thread, or a PID 1 that never calls
    setsid, as this machine's does: a tree's root is in session 0 in CI) is told to start in a session of its own;
    a process whose session has a leader (a child started in a session of its own) is told about its pid
    namespace."""
    zero = [int(pid) for pid in os.listdir('/proc') if pid.isdigit() and _smoke.session_of(pid) == 0]
    if not zero:
        pytest.skip('no process of session 0 is visible here (a pid namespace of its own)')
    said = 'A session leader of %d(%d) is outside of its pid namespace'
    assert _smoke.advice(said % (zero[0], zero[0])) == (
        "process %d is in session 0, which has no leader (it was started by an init or a supervisor that never called "
        "setsid(), nor did its parents), and criu dumps a tree with its session's leader, --shell-job or not: start "
        "the tree's root in a session of its own (setsid COMMAND), then dump it" % zero[0])
    # A process in a session of its own, not this one: CI runs the suite in session 0.
    led = subprocess.Popen(['sleep', '30'], start_new_session=True)
    try:
        assert _smoke.advice(said % (led.pid, 1)).startswith(
            'process %d (1 in its pid namespace) is in a session whose leader is outside that pid namespace' % led.pid)
    finally:
        led.kill()
        led.wait()
