# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What criu_smoke's clean-up and decisions answer that no test held, found by mutating _smoke's Smoke, its
watchdog and the module: what is ended on a timeout, on a criu that dies, on a restore that brings back no tree
or a tree that does not run; what the watchdog ends, and when; that the kdat cache is removed when criu could
not get a /run of its own.

The real criu 4.1.1 of the Debian 13 root runs where it can; a fake criu (a Python script) only for what a real
one cannot be made to do on demand: hang, die by a signal, write no pid or a wrong one, restore a tree that
does not run on."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import conftest
import process_list
import return_doc

from ansible_collections.criu.check.plugins.module_utils import _smoke

pytestmark = conftest.requires_root

FAKE = '''#!%s
import os, signal, sys, time
args = sys.argv[1:]
if args == ['--version']:
    print('Version: 4.1.1')
    sys.exit(0)
action = args[0]
images = args[args.index('-D') + 1]
%s
'''
# criu dump ends the tree it dumped; a fake one must too, or the smoke waits for it to go.
END_TREE = "if action == 'dump':\n    os.killpg(int(args[args.index('-t') + 1]), signal.SIGKILL)\n    sys.exit(0)\n"


def _fake_criu(tmp_path, body):
    (tmp_path / 'bin').mkdir()
    (tmp_path / 'work').mkdir()
    criu = tmp_path / 'bin' / 'criu'
    criu.write_text(FAKE % (sys.executable, body))
    criu.chmod(0o755)
    return str(criu), str(tmp_path / 'work')


def _marked(mark):
    """Every process whose command line holds ``mark``."""
    found = []
    for name in os.listdir('/proc'):
        if name.isdigit() and mark.encode() in (_smoke.read_file('/proc/%s/cmdline' % name) or b''):
            found.append(int(name))
    return found


def _smoke_module(criu, work, timeout):
    """criu_smoke as Ansible runs it (its own process: it unshares its mount namespace); the result and the
    seconds it took."""
    start = time.monotonic()
    res = conftest.direct('criu_smoke', {'criu_path': criu, 'tmpdir': work, 'timeout': timeout,
                                         'fail_on_error': False}, timeout=120)
    return res, time.monotonic() - start


def _nothing_left(work):
    assert os.listdir(work) == [], os.listdir(work)
    assert _marked(work) == []


def test_a_criu_that_hangs_is_ended_at_the_timeout_with_the_tree(tmp_path):
    """The timeout bounds the wait for criu itself, not only the waits between; criu (stuck, deaf to SIGTERM)
    and the tree it was given are ended, and the task returns at once (not after the watchdog's own grace)."""
    criu, work = _fake_criu(tmp_path, "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(120)")
    res, took = _smoke_module(criu, work, 3)
    assert res['ok'] is False and res['stage'] == 'dump', res
    # the operator's own figure, not what was left of it after criu --version
    assert res['msg'].startswith('timeout in stage dump: criu dump did not finish within the timeout of 3s'), res['msg']
    assert res['cleanup'] == {'killed': 3, 'removed': True}    # criu, the leader, the child
    assert took < 3 + 4, 'the task took %.1f s with a timeout of 3 s' % took
    _nothing_left(work)


def test_a_tree_whose_leader_died_is_ended_by_the_session_it_was_started_in(tmp_path):
    """The leader gone (here killed by a criu that then hangs), the child it leaves holds the mark in a session
    whose leader no longer does: it is still ours, by the session the smoke started the tree in."""
    criu, work = _fake_criu(tmp_path, "os.kill(int(args[args.index('-t') + 1]), signal.SIGKILL)\ntime.sleep(120)")
    res, dummy = _smoke_module(criu, work, 3)
    assert res['ok'] is False and res['stage'] == 'dump', res
    assert res['cleanup'] == {'killed': 2, 'removed': True}    # criu and the child
    _nothing_left(work)


def test_a_criu_killed_by_a_signal_failed_and_what_it_printed_says_why(tmp_path):
    """An exit by a signal is a failure (not a success that then times out), named with its signal; what
    criu printed before it opened its log is the reason."""
    criu, work = _fake_criu(tmp_path, (
        "sys.stderr.write('(00.000100) Error (criu/crtools.c:1): cannot open the log file\\n')\n"
        "sys.stderr.flush()\n"
        "os.kill(os.getpid(), signal.SIGKILL)"))
    res, dummy = _smoke_module(criu, work, 20)
    assert res['ok'] is False and res['stage'] == 'dump', res
    assert res['msg'] == 'criu dump failed (exit -9): cannot open the log file', res['msg']
    assert res['log'] == ['(00.000100) Error (criu/crtools.c:1): cannot open the log file']
    assert res['dump_ms'] is None
    assert res['cleanup'] == {'killed': 2, 'removed': True}    # the tree criu never dumped
    assert return_doc.mismatches(res, 'criu_smoke') == []
    _nothing_left(work)


def test_a_restore_that_writes_no_pid_is_a_failure_named_so(tmp_path):
    criu, work = _fake_criu(tmp_path, END_TREE + "sys.exit(0)")
    res, dummy = _smoke_module(criu, work, 20)
    assert res['ok'] is False and res['stage'] == 'restore', res
    assert res['msg'] == 'criu restore wrote no pid to its --pidfile'
    assert res['cleanup'] == {'killed': 0, 'removed': True}
    _nothing_left(work)


def test_a_restored_pid_that_is_not_the_tree_is_refused_and_left_alone(tmp_path):
    """criu's pidfile names a process that is not the counter (here one in a session of its own, as the
    restored leader would be): the smoke says so at once, and that process lives on."""
    bystander = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)
    try:
        criu, work = _fake_criu(tmp_path, END_TREE + (
            "open(args[args.index('--pidfile') + 1], 'w').write('%d')\n" % bystander.pid))
        res, dummy = _smoke_module(criu, work, 20)
        assert res['ok'] is False and res['stage'] == 'restore', res
        assert res['msg'] == 'the restored pid %d is not the counter tree' % bystander.pid
        assert res['cleanup'] == {'killed': 0, 'removed': True}
        assert bystander.poll() is None, 'the smoke ended a process not its own'
        _nothing_left(work)
    finally:
        bystander.kill()
        bystander.wait()


def test_a_restored_tree_that_does_not_run_on_is_not_ok(tmp_path):
    """A tree back from its images whose counters stay where they were dumped is no success: the smoke ends
    at its timeout in `verify`, and ends that tree."""
    criu, work = _fake_criu(tmp_path, END_TREE + (
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os.setsid()\n"
        "    os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(60)',\n"
        "                              os.path.join(os.path.dirname(images), 'tree')])\n"
        "open(args[args.index('--pidfile') + 1], 'w').write('%d' % pid)\n"))
    res, took = _smoke_module(criu, work, 3)
    assert res['ok'] is False and res['stage'] == 'verify', res
    assert res['msg'].startswith('timeout in stage verify: the restored counters did not advance'), res['msg']
    assert res['counter']['after'] is None and res['counter']['before'] >= 3
    assert res['cleanup'] == {'killed': 1, 'removed': True}
    assert took < 3 + 4
    _nothing_left(work)


def _start_module(tmp_path, criu, work, timeout):
    """The module started as Ansible's async wrapper starts it: the leader of a process group."""
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'criu_path': criu, 'tmpdir': work, 'timeout': timeout}}))
    return subprocess.Popen([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.criu_smoke',
                             str(args)], env=dict(os.environ, PYTHONPATH=conftest.COLLECTIONS), cwd='/',
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_for_dump(module, work):
    def dumps():
        return any(b' dump ' in (_smoke.read_file('/proc/%d/cmdline' % p) or b'').replace(b'\0', b' ')
                   for p in _marked(work))
    process_list.until(lambda: module.poll() is not None or dumps(), 30)
    assert module.poll() is None and dumps(), 'criu dump never started'


def _end_module(module, work):
    for pid in _marked(work):
        os.kill(pid, signal.SIGKILL)
    if module.poll() is None:
        module.kill()
        module.wait()


def test_the_process_group_killed_the_watchdog_still_cleans_up(tmp_path):
    """Ansible's async wrapper ends a task past its time limit with SIGKILL to the module's process group:
    the watchdog, in a session of its own, is not in it, and ends criu and the tree."""
    criu, work = _fake_criu(tmp_path, "time.sleep(120)")
    module = _start_module(tmp_path, criu, work, 60)
    try:
        _wait_for_dump(module, work)
        os.killpg(module.pid, signal.SIGKILL)
        module.wait()
        process_list.until(lambda: not (_marked(work) or os.listdir(work)), 10)
        _nothing_left(work)
    finally:
        _end_module(module, work)


def test_a_module_stuck_past_its_timeout_is_cleaned_up_after_it_plus_30_seconds(tmp_path):
    """The documented bound: a module alive but stopped (SIGSTOP) while criu hangs, the watchdog ends criu and
    the tree and removes the directory after the timeout plus 30 seconds, not later."""
    criu, work = _fake_criu(tmp_path, "time.sleep(120)")
    module = _start_module(tmp_path, criu, work, 2)
    start = time.monotonic()
    try:
        _wait_for_dump(module, work)
        os.kill(module.pid, signal.SIGSTOP)
        process_list.until(lambda: not (_marked(work) or os.listdir(work)), start + 2 + 30 + 3 - time.monotonic())
        _nothing_left(work)
    finally:
        _end_module(module, work)


# ---------------------------------------------------------------- the watchdog itself

def _wait_gone(proc, seconds=10):
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def test_the_watchdog_ends_what_it_was_told_of_when_its_pipe_closes(tmp_path):
    """On EOF the watchdog ends a marked process in a session it was told of, though the session's leader
    holds no mark (the restored leader gone, its child left); the leader itself, not marked, lives on."""
    work = str(tmp_path / 'criu-smoke-x')
    os.mkdir(work)
    leader = subprocess.Popen([sys.executable, '-c', 'import os, subprocess, sys\n'
                               'subprocess.call([sys.executable, "-c", "import time; time.sleep(60)", '
                               'os.environ["MARK"]])'],
                              env=dict(os.environ, MARK=work), start_new_session=True)
    watchdog, wfd = None, None
    try:
        process_list.until(lambda: _marked(work), 10)
        marked = _marked(work)
        assert marked, 'the marked child never started'
        watchdog, wfd = _smoke.start_watchdog(work, 60)
        os.write(wfd, b'session %d\n' % leader.pid)
        os.close(wfd)
        wfd = None
        assert _wait_gone(leader) == 0, 'the marked child was not ended, or its unmarked leader was'
        assert os.waitpid(watchdog, 0)[1] == 0
        watchdog = None
        assert not os.path.exists(work)
    finally:
        _smoke.clean_up(work, {leader.pid})
        if wfd is not None:
            os.close(wfd)
        if watchdog is not None:
            os.kill(watchdog, signal.SIGKILL)
            os.waitpid(watchdog, 0)
        leader.kill()
        leader.wait()


def test_the_watchdog_cleans_up_at_its_deadline_while_the_module_lives(tmp_path):
    """A module alive but stuck past its timeout (the watchdog's deadline): the watchdog does not wait for it."""
    work = str(tmp_path / 'criu-smoke-y')
    os.mkdir(work)
    tree = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', work], start_new_session=True)
    watchdog, wfd = _smoke.start_watchdog(work, 1.0)
    try:
        os.write(wfd, b'session %d\n' % tree.pid)
        assert _wait_gone(tree) == -signal.SIGKILL, 'the watchdog did not end the tree at its deadline'
        process_list.until(lambda: not os.path.exists(work), 10)
        assert not os.path.exists(work)
    finally:
        os.close(wfd)
        os.kill(watchdog, signal.SIGKILL)
        os.waitpid(watchdog, 0)
        tree.kill()
        tree.wait()


# ---------------------------------------------------------------- the module's answers

def test_without_criu_every_answer_documented_as_always_is_there(tmp_path):
    res = conftest.direct('criu_smoke', {'criu_path': str(tmp_path / 'no-criu'), 'fail_on_error': False})
    assert res['ok'] is False and res['changed'] is False and res['stage'] == 'setup'
    assert res['dump_ms'] is None and res['counter'] == {'before': None, 'after': None, 'child_before': None,
                                                         'child_after': None}
    assert return_doc.mismatches(res, 'criu_smoke') == []


# ---------------------------------------------------------------- real criu 4.1.1

@pytest.fixture(scope='module')
def criu_root():
    return conftest.criu_root_or_skip()


def test_under_run_criu_kdat_cache_is_removed_and_the_message_says_what_ran(criu_root):
    """With the working directory under /run, a tmpfs there would hide it: criu runs without one, and the
    kdat cache it writes to the real /run is removed afterwards."""
    proc = subprocess.run([conftest.CRIU_ROOT, 'run', '--', 'python3', '/src/tests/system/smoke_inside.py', '/src',
                           'once', json.dumps({'timeout': 60, '_scratch_dir': '/run'})],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
    report = json.loads(proc.stdout.decode())
    res = report['runs'][0]
    assert res['ok'] is True, res
    counter = res['counter']
    assert res['msg'] == ('criu 4.1.1 dumped and restored a two-process tree; its counters went on from %d to %d'
                          % (counter['before'], counter['after']))
    assert res['cleanup'] == {'killed': 2, 'removed': True}
    assert report['leftovers']['kdat_created'] is False, 'criu.kdat was left in /run'
    assert not any(report['leftovers'][k] for k in ('marked', 'seen_alive', 'new_in_our_sessions', 'files'))


def test_under_run_the_module_killed_the_watchdog_removes_criu_kdat_cache(criu_root):
    """As above, but the module is killed while it checks the restored tree: the watchdog removes the cache
    criu wrote to /run too (it was left there)."""
    for dummy in range(4):
        proc = subprocess.run([conftest.CRIU_ROOT, 'run', '--', 'python3', '/src/tests/system/smoke_inside.py',
                               '/src', 'kill:restored', json.dumps({'timeout': 60, '_scratch_dir': '/run'})],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
        report = json.loads(proc.stdout.decode())
        if report['runs'][0]['killed_at']:
            break
    assert report['runs'][0]['killed_at'] == 'restored', 'never caught the module with its tree restored'
    assert report['leftovers']['kdat_created'] is False, 'criu.kdat was left in /run'
    assert not any(report['leftovers'][k] for k in ('marked', 'seen_alive', 'new_in_our_sessions', 'files'))
