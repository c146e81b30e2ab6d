# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the engine's process plumbing answers that no test held, found by mutating _engine, _child and _check:
a shortage however a probe says so, and only for the probe that had it; an answer that is no result; the
duration; the signals a probe runs with; what goes with a caller that is killed outright; and what _check.run()
does around the engine (every probe runs for criu's start-up, a failure stops the workers, a failed job's facts,
the runtimes' tools replayed).

The engine's probes are test hooks built here, never part of the production registry; _check.run() runs the real
ones, with fake criu and runc scripts on PATH.  The shortages, the signals and the deaths are real (RLIMIT_NOFILE,
a seccomp filter on one thread or process, SIGKILL)."""

import collections
import errno
import gc
import json
import os
import platform
# loaded before a worker runs out of fds for good (_engine._shortage imports it then, which opens a file)
import resource  # noqa: F401  # pylint: disable=unused-import
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import conftest
import limits
import process_list
import seccomp_deny
from probe_rows import row as _row

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _result as R

COLLECTIONS = conftest.COLLECTIONS  # importing conftest puts the collection on sys.path


def _run(rows, timeout=3.0, spread=1):
    return _engine.run(rows, _context.ProbeContext(), timeout=timeout, spread=spread)


def _open_with_no_fd_left():
    """open() in a worker whose open-file limit is 0 (the fds it has stay open): EMFILE, for real."""
    limits.nofile(0)
    os.open('/proc/self/status', os.O_RDONLY)


def raises_out_of_fds(ctx):
    _open_with_no_fd_left()
    return R.supported()


def says_it_like_criu(ctx):
    try:
        _open_with_no_fd_left()
    except OSError as exc:
        # criu's pr_perror(): strerror alone, no errno name anywhere in the result
        return R.unsupported(R.perror("Can't open /proc/self/status", exc.errno))
    return R.supported()


def test_a_probe_out_of_file_descriptors_is_a_shortage_however_it_says_so():
    results = _run([_row('raises', raises_out_of_fds, own_process=True),
                    _row('says', says_it_like_criu, own_process=True)])
    for key in ('raises', 'says'):
        assert results[key]['status'] == R.ERROR, results
        assert results[key]['message'] == ("the probe ran out of file descriptors (open-file limit 0): its answer is "
                                           "not the kernel's; raise the limit (ulimit -n)"), results
    assert results['says']['evidence']['probe_result']['message'] == (
        "Can't open /proc/self/status: %s" % os.strerror(errno.EMFILE))


def test_a_refusal_counts_against_the_probe_that_had_it_not_the_next_one():
    def refused(ctx):
        def thread():
            limits.refuse_fork()   # seccomp filters are per thread: this one alone is refused
            try:
                _child.run_in_child(lambda: 1, ctx.left())
            except OSError:
                pass
        worker = threading.Thread(target=thread)
        worker.start()
        worker.join()
        return R.unsupported('no child')

    def plain_no(ctx):
        return R.unsupported('the kernel said no', evidence={'pid': os.getpid()})
    results = _run([_row('refused', refused), _row('next', plain_no)])
    assert results['refused']['status'] == R.ERROR
    assert results['refused']['message'].startswith('the probe could not start a process (fork: Resource '
                                                    'temporarily unavailable (EAGAIN): '), results
    # the same worker, and the kernel's answer stands
    assert results['next'] == dict(R.unsupported('the kernel said no', evidence=results['next']['evidence']),
                                   duration_ms=results['next']['duration_ms'])


def test_a_dict_that_is_no_result_is_an_error():
    results = _run([_row('maybe', lambda ctx: {'status': 'maybe'})])
    assert results['maybe']['status'] == R.ERROR
    assert results['maybe']['message'] == "probe returned {'status': 'maybe'} instead of a result"


def test_the_duration_is_in_milliseconds():
    def sleeps(ctx):
        time.sleep(0.2)
        return R.supported()
    duration = _run([_row('sleeps', sleeps)])['sleeps']['duration_ms']
    assert 200 <= duration < 2000, duration


def _signal_masks():
    with open('/proc/self/status') as f:
        fields = dict(line.split(':\t', 1) for line in f.read().splitlines() if ':\t' in line)
    return dict((key, [s for s in range(1, 65) if int(fields[key], 16) >> (s - 1) & 1]) for key in ('SigIgn', 'SigCgt'))


def test_a_probe_runs_with_the_default_signal_dispositions():
    """Python ignores SIGPIPE and handles SIGINT, the engine's caller handles SIGHUP (Engine._trap_signals):
    a worker resets them, so that a probe, and a child it forks, meets those signals as criu would; it catches
    SIGTERM, its parent's death (_engine._end_group)."""
    masks = _run([_row('masks', lambda ctx: R.supported(evidence=_signal_masks()))])['masks']['evidence']
    reset = {signal.SIGINT, signal.SIGHUP, signal.SIGPIPE}
    assert not reset & set(masks['SigIgn'] + masks['SigCgt']), masks
    assert signal.SIGTERM in masks['SigCgt'], masks


def test_a_killed_caller_takes_its_workers_their_tools_and_the_jobs_scratch_along(tmp_path):
    """A caller SIGKILLed (the module killed outright) cannot clean up: its workers' SIGTERM on the parent's
    death ends each worker's process group, the tools it started too, and removes the jobs' scratch directory."""
    report = tmp_path / 'report'

    def job(ctx):
        tool = subprocess.Popen(['sleep', '60'])   # in the worker's process group, as run_tool's tools are
        (tmp_path / 'part').write_text(json.dumps({'scratch': ctx.scratch, 'worker': os.getpid(), 'tool': tool.pid}))
        os.rename(str(tmp_path / 'part'), str(report))
        time.sleep(60)
        return {}

    caller = os.fork()
    if caller == 0:
        try:
            _engine.Engine(_context.ProbeContext(), timeout=30).start_jobs({'hang': job})
            time.sleep(60)
        finally:
            os._exit(0)
    try:
        _wait_for_file(report)
        started = json.loads(report.read_text())
        assert os.path.isdir(started['scratch']) and process_list.running(started['tool'])
    finally:
        os.kill(caller, signal.SIGKILL)
        os.waitpid(caller, 0)
    worker, tool, scratch = started['worker'], started['tool'], started['scratch']
    process_list.until(lambda: not (process_list.running(worker) or process_list.running(tool)
                                    or os.path.exists(scratch)), 5)
    assert not process_list.running(worker)
    assert not process_list.running(tool)
    assert not os.path.exists(scratch)


def test_what_a_probe_writes_to_fd_1_never_reaches_the_callers_stdout(capfd):
    """A C library, or a child the probe forks, writes to fd 1 itself, not through sys.stdout: the module's JSON
    result goes there."""
    def writes_fd_1(ctx):
        os.write(1, b'noise on fd 1\n')
        _child.run_in_child(lambda: os.write(1, b'noise from a child\n'), ctx.left())
        return R.supported()
    assert _run([_row('noisy', writes_fd_1)])['noisy']['status'] == R.SUPPORTED
    out, err = capfd.readouterr()
    assert 'noise' not in out and 'noise' not in err


def _segfault(ctx):
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(5)


def test_a_worker_reaped_by_someone_else_is_an_error_not_a_traceback():
    """A caller that ignores SIGCHLD has its children reaped by the kernel: a worker that dies leaves no wait
    status to describe."""
    def body():
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        results = _run([_row('segv', _segfault), _row('after', lambda ctx: R.supported())])
        return dict((k, (v['status'], v['message'])) for k, v in results.items())
    assert conftest.in_child(body) == {
        'segv': [R.ERROR, 'the probe process ended (its wait status was lost) before reporting a result'],
        'after': [R.SUPPORTED, '']}


def _pipes():
    found = set()
    for fd in os.listdir('/proc/self/fd'):
        try:
            found.add(os.readlink('/proc/self/fd/' + fd))
        except OSError:
            pass
    return sorted(p for p in found if p.startswith('pipe:'))


def test_a_worker_holds_no_other_workers_result_pipe():
    """Each worker closes the read ends of the workers started before it: a probe, and every child it forks,
    holds its own result pipe, no other."""
    def pipes(ctx):
        time.sleep(0.2)   # the workers run side by side
        return R.supported(evidence={'pipes': _pipes()})
    engine = _engine.Engine(_context.ProbeContext(), timeout=3.0)
    engine.start([_row('p%d' % i, pipes, own_process=True) for i in range(3)])
    result_pipes = [os.readlink('/proc/self/fd/%d' % w.rfd) for w in engine.workers]
    results, dummy = engine.wait()
    assert len(result_pipes) == 3
    for index in range(3):
        held = [p for p in results['p%d' % index]['evidence']['pipes'] if p in result_pipes]
        assert held == [result_pipes[index]], (index, result_pipes, results)


def test_a_refused_fork_leaves_no_fd_behind():
    def body():
        before = sorted(os.listdir('/proc/self/fd'))
        limits.refuse_fork()
        try:
            _run([_row('a', lambda ctx: R.supported())])
        except _engine.EngineError as exc:
            return [str(exc).startswith('cannot run the probes: fork() failed'), sorted(os.listdir('/proc/self/fd')) == before]
        return 'no EngineError'
    assert conftest.in_child(body) == [True, True]


def test_probes_that_cannot_start_beside_a_running_job_are_one_engine_error():
    """The jobs' workers started; then the system refuses every fork: not one probe can run, which is one
    EngineError, not a list of per-probe errors that would read as the kernel's answers."""
    def body():
        engine = _engine.Engine(_context.ProbeContext(), timeout=3.0)
        engine.start_jobs({'quick': lambda ctx: {'done': True}})
        limits.refuse_fork()
        engine.start([_row('a', lambda ctx: R.supported()), _row('b', lambda ctx: R.supported(), own_process=True)])
        try:
            engine.wait()
        except _engine.EngineError as exc:
            return str(exc)
        return 'no EngineError'
    assert conftest.in_child(body) == ('cannot run the probes: fork() failed: Resource temporarily unavailable (EAGAIN): '
                                       'the kernel refused a new process (process limit, pids cgroup, or memory)')


class _FamilyRow(collections.namedtuple('_FamilyRow', 'id family own_process lib')):
    pass


def test_the_groups_keep_a_family_together_and_start_the_libraries_first():
    """A worker imports (from Ansible's zip: compiles) the family module of every probe it runs: a family's
    probes share a worker; the library groups come first, as their import is the longest wait."""
    rows = [_FamilyRow('a1', 'a', False, None), _FamilyRow('b1', 'b', False, None), _FamilyRow('a2', 'a', False, None),
            _FamilyRow('c1', 'c', False, None), _FamilyRow('x1', 'x', False, 'pyroute2'),
            _FamilyRow('own', 'a', True, None), _FamilyRow('b2', 'b', False, None)]
    groups = [[row.id for row in group] for group in _engine._groups(rows, 2)]
    assert groups == [['x1'], ['a1', 'a2', 'c1'], ['b1', 'b2'], ['own']]


def test_every_probe_left_when_no_worker_can_take_over_is_an_error():
    """A worker dies; the system now refuses the fresh worker that would run the probes it had not run yet, and
    no other worker runs to wait for: each of them is an error with the reason, none is missing."""
    def body():
        engine = _engine.Engine(_context.ProbeContext(), timeout=3.0, spread=1)
        engine.start([_row('a', lambda ctx: R.supported()), _row('vanish', lambda ctx: os._exit(3)),
                      _row('b', lambda ctx: R.supported()), _row('c', lambda ctx: R.supported())])
        limits.refuse_fork()
        results, dummy = engine.wait()
        return dict((k, (v['status'], v['message'])) for k, v in results.items())
    refused = ('cannot start a probe worker: fork() failed: Resource temporarily unavailable (EAGAIN): '
               'the kernel refused a new process (process limit, pids cgroup, or memory)')
    assert conftest.in_child(body) == {
        'a': [R.SUPPORTED, ''],
        'vanish': [R.ERROR, 'the probe process exited with status 3 before reporting a result'],
        'b': [R.ERROR, refused], 'c': [R.ERROR, refused]}


def test_a_worker_that_dies_or_overruns_says_how_and_when():
    def hangs(ctx):
        time.sleep(60)
    results = _run([_row('segv', _segfault), _row('vanish', lambda ctx: os._exit(3)), _row('hang', hangs)], timeout=0.3)
    assert os.WTERMSIG(results['segv']['evidence']['wait_status']) == signal.SIGSEGV, results
    assert os.WEXITSTATUS(results['vanish']['evidence']['wait_status']) == 3, results
    assert os.WTERMSIG(results['hang']['evidence']['wait_status']) == signal.SIGKILL, results
    # the time the probe had when it was killed, in milliseconds
    assert 300 <= results['hang']['duration_ms'] < 3000, results


def test_each_probe_of_a_worker_gets_its_own_timeout():
    def sleeps(ctx):
        time.sleep(0.3)
        return R.supported()
    results = _run([_row('s%d' % i, sleeps) for i in range(3)], timeout=0.6)
    assert [r['status'] for r in results.values()] == [R.SUPPORTED] * 3, results


def test_a_worker_whose_answers_are_in_ends_though_a_grandchild_holds_its_pipe():
    """A probe that leaves a process behind (which holds the worker's result pipe) costs the run nothing: the
    engine ends the worker, and its group, once every answer is in, without waiting for the pipe's EOF."""
    def leaves_a_child(ctx):
        if os.fork() == 0:
            try:
                time.sleep(5)
            finally:
                os._exit(0)
        return R.supported()
    start = time.monotonic()
    results = _run([_row('leaves', leaves_a_child)], timeout=1.0)
    assert results['leaves']['status'] == R.SUPPORTED
    assert time.monotonic() - start < 2.0


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGHUP], ids=['SIGTERM', 'SIGHUP'])
def test_a_signal_to_the_caller_ends_its_wait_and_its_workers_then_exits(tmp_path, sig):
    """A task killed (SIGTERM) or its session closed (SIGHUP) while the probes run: the caller leaves wait() through SystemExit, so that its own
    clean-up runs (Ansible's, the engine's), with every worker already killed and reaped."""
    ready, done = tmp_path / 'ready', tmp_path / 'done'

    def hangs(ctx):
        time.sleep(60)
    caller = os.fork()
    if caller == 0:
        try:
            # one worker, with a probe it has not run yet: a stop starts no fresh worker for it
            engine = _engine.Engine(_context.ProbeContext(), timeout=30, spread=1)
            engine.start([_row('hang', hangs), _row('never', lambda ctx: R.supported())])
            worker = engine.workers[0].pid
            ready.write_text(str(worker))
            try:
                engine.wait()
            except SystemExit as exc:
                with open('/proc/self/task/%d/children' % os.getpid()) as f:
                    children = f.read().split()
                done.write_text(json.dumps({'code': exc.code, 'worker': process_list.state(worker), 'children': children}))
        finally:
            os._exit(0)
    try:
        _wait_for_file(ready)
        _wait_for_sleep(caller)   # in wait(), blocked on the worker's pipe
        os.kill(caller, sig)
    finally:
        status = _wait_for(caller)
    assert json.loads(done.read_text()) == {'code': 128 + sig, 'worker': None, 'children': []}, status


def _wait_for_file(path, seconds=10):
    """Until ``path`` exists (a child's "I got there"), at most ``seconds``."""
    process_list.until(path.exists, seconds)


def _wait_for_sleep(pid, seconds=10):
    """Until ``pid`` sleeps (state S) after a tenth of a second, at most ``seconds``: a caller that has written
    its "I got there" and gone on into a blocking wait, not one that a loaded machine has yet to run."""
    time.sleep(0.1)
    process_list.until(lambda: process_list.state(pid) == 'S', seconds)


def _reaped(pid):
    """The wait status of our child ``pid`` in a list once it has ended (and is reaped); [] while it runs."""
    done, status = os.waitpid(pid, os.WNOHANG)
    return [status] if done else []


def _wait_for(pid):
    """The wait status of our child ``pid``, killed if it still runs after 10 s."""
    reaped = process_list.until(lambda: _reaped(pid), 10)
    if reaped:
        return reaped[0]
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_a_probe_overrun_is_found_at_its_own_deadline_beside_a_longer_job():
    def hangs(ctx):
        time.sleep(60)

    def long_job(ctx):
        time.sleep(1.5)
        return {}
    results, jobs = _engine.run([_row('hang', hangs)], _context.ProbeContext(), timeout=0.3,
                                jobs={'long': long_job}, job_timeout=5.0)
    assert jobs == {'long': {}}
    assert results['hang']['status'] == R.ERROR
    assert results['hang']['duration_ms'] < 1000, results


def test_a_run_leaves_the_callers_signals_gc_and_temporary_files_as_they_were():
    def callers_own(signum, frame):
        pass

    def job(ctx):
        return {'scratch': ctx.scratch}
    saved = [signal.signal(sig, callers_own) for sig in (signal.SIGTERM, signal.SIGHUP)]
    try:
        frozen = gc.get_freeze_count()
        dummy, jobs = _engine.run([_row('a', lambda ctx: R.supported())], _context.ProbeContext(), jobs={'job': job})
        assert [signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGHUP)] == [callers_own, callers_own]
    finally:
        for sig, handler in zip((signal.SIGTERM, signal.SIGHUP), saved):
            signal.signal(sig, handler)
    assert gc.get_freeze_count() == frozen
    assert jobs['job']['scratch'].startswith(os.path.join(tempfile.gettempdir(), 'criu-check-jobs.'))
    assert not os.path.exists(jobs['job']['scratch'])


def test_a_worker_found_dead_after_its_time_is_its_error_not_a_traceback():
    """The caller was busy past the probes' timeout (as _check.run() is while it gathers the environment); a
    worker died meanwhile: its EOF, read while deciding whether it overran, ends it once."""
    engine = _engine.Engine(_context.ProbeContext(), timeout=0.05)
    engine.start([_row('vanish', lambda ctx: os._exit(3), own_process=True)])
    time.sleep(0.3)
    results, dummy = engine.wait()
    assert results['vanish']['message'] == 'the probe process exited with status 3 before reporting a result', results


def test_a_tool_that_is_not_there_is_no_shortage(tmp_path):
    """Only a refusal for want of processes or memory (EAGAIN, ENOMEM) makes a probe's answer the process's
    shortage; a tool that cannot be executed (ENOENT) is the probe's own answer."""
    def missing_tool(ctx):
        try:
            _child.run_tool([str(tmp_path / 'missing')])
        except OSError as exc:
            return R.unsupported('no tool', evidence=R.errno_evidence(exc.errno))
        return R.supported()
    result = _run([_row('missing', missing_tool)])['missing']
    assert (result['status'], result['evidence']) == (R.UNSUPPORTED, R.errno_evidence(errno.ENOENT)), result


def test_a_probe_child_meets_sigterm_as_any_process_does():
    """A worker's SIGTERM handler ends its whole process group (_engine._end_group); the children a probe
    forks do not inherit it: a child that gets SIGTERM dies of it, alone."""
    def child_terminated(ctx):
        status, dummy = _child.call(lambda report: os.kill(os.getpid(), signal.SIGTERM) or time.sleep(5), ctx.left())
        return R.supported(evidence={'signal': os.WTERMSIG(status), 'worker': os.getpid()})
    results = _run([_row('term', child_terminated), _row('after', lambda ctx: R.supported(evidence={'worker': os.getpid()}))])
    assert results['term']['status'] == R.SUPPORTED, results
    assert results['term']['evidence']['signal'] == signal.SIGTERM
    assert results['after']['evidence']['worker'] == results['term']['evidence']['worker']


def test_a_probe_that_exits_through_python_is_told_from_one_that_ended_cleanly():
    """SystemExit is no Exception: it leaves the worker's loop, and the worker exits with EX_SOFTWARE."""
    def exits(ctx):
        raise SystemExit(0)
    results = _run([_row('exits', exits), _row('after', lambda ctx: R.supported())])
    assert results['exits']['message'] == 'the probe process exited with status 70 before reporting a result', results
    assert results['after']['status'] == R.SUPPORTED


def test_a_child_exits_with_what_its_body_returns_and_0_for_anything_else():
    assert [_child.call(body, 5.0)[0] for body in (lambda report: None, lambda report: 'done', lambda report: 3)] == \
        [0, 0, 3 << 8]


def test_reap_kills_a_child_that_outlives_its_time():
    pid = _child.spawn(lambda: time.sleep(30))
    start = time.monotonic()
    status = _child.reap(pid, 0.2)
    assert os.WTERMSIG(status) == signal.SIGKILL and time.monotonic() - start < 2
    assert process_list.state(pid) is None


def test_a_child_body_that_raises_reports_it_and_exits_127():
    status, info = _child.call(lambda report: 1 // 0, 5.0)
    assert (os.WEXITSTATUS(status), info) == (127, {'child_exception': 'ZeroDivisionError: integer division or modulo by zero'})


def test_a_child_that_dies_without_its_value_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r'^probe child died without a result \(wait status 1024\)$'):
        _child.run_in_child(lambda: os._exit(4), 5.0)


def test_children_leave_no_fd_behind_run_or_refused():
    def body():
        before = sorted(os.listdir('/proc/self/fd'))
        _child.run_in_child(lambda: 1, 5.0)
        ran = sorted(os.listdir('/proc/self/fd')) == before
        limits.refuse_fork()
        try:
            _child.call(lambda report: 0, 5.0)
        except OSError:
            pass
        return [ran, sorted(os.listdir('/proc/self/fd')) == before]
    assert conftest.in_child(body) == [True, True]


def test_the_facts_describe_the_selected_probes_alone():
    from ansible_collections.criu.check.plugins.module_utils import _check
    facts = _check.run(_check.by_features(['userns', 'tun']), installed_criu=False)
    assert sorted(facts['probes']) == ['tun', 'userns']
    assert facts['required'] == {}


def _check_module():
    from ansible_collections.criu.check.plugins.module_utils import _check
    return _check


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='the filter uses x86_64 system call numbers')
@conftest.requires_root
def test_a_kerndat_step_of_a_probe_not_selected_still_keeps_criu_from_starting():
    """criu's kerndat_init() runs kerndat_has_memfd_create() for every command: memfd_create() refused with EPERM
    (a seccomp filter, for real) stops criu though no selected probe makes that call; the facts still describe
    the selected probes alone (memfd_hugetlb is an extra probe, not a required one)."""
    _check = _check_module()
    required = _check.by_categories(['required'])
    assert 'memfd_hugetlb' not in [p.id for p in required]

    def body():
        facts = _check.run(required, installed_criu=False)
        return [facts['environment']['criu_start_blockers'], facts['ready'], sorted(facts['probes'])]
    blockers, ready, probes = conftest.in_child(body, lambda: seccomp_deny.install(
        seccomp_deny.program(['memfd_create'], errno.EPERM)))
    assert blockers == ['Could not initialize kernel features detection. (memfd_hugetlb: Unexpected error from '
                        'memfd_create(NULL, 0): %s)' % os.strerror(errno.EPERM)]
    assert ready is False
    assert probes == sorted(p.id for p in required)


def _children():
    with open('/proc/self/task/%d/children' % os.getpid()) as f:
        return [int(pid) for pid in f.read().split()]


def _fake_tool(directory, name, script):
    """An executable ``name`` in ``directory`` (a shell script), for a PATH that starts there."""
    path = directory / name
    path.write_text('#!/bin/sh\n' + script)
    path.chmod(0o755)
    return str(path)


def test_a_failure_while_the_workers_run_stops_them_and_propagates(tmp_path):
    """Gathering the environment raises (a fake: the kernel cannot make it fail on demand) while the probes' and
    the jobs' workers run: _check.run() stops every one of them, and the tools they started, before the exception
    goes on to the caller."""
    started = tmp_path / 'criu-pid'
    _fake_tool(tmp_path, 'criu', 'echo $$ > %s.part; mv %s.part %s; exec sleep 30\n' % (started, started, started))
    _check = _check_module()
    from ansible_collections.criu.check.plugins.module_utils import _environment

    def body():
        os.environ['PATH'] = '%s:%s' % (tmp_path, os.environ.get('PATH', os.defpath))
        seen = {}

        def gather(ctx):
            _wait_for_file(started)   # the installed criu's job is running its criu
            seen['workers'] = _children()
            raise RuntimeError('no environment')
        _environment.gather = gather
        try:
            _check.run(_check.by_features(['kcmp']))
        except RuntimeError as exc:
            return {'raised': str(exc), 'workers': seen['workers'], 'left': _children(),
                    'tool_alive': process_list.running(int(started.read_text()))}
        return 'no exception'
    outcome = conftest.in_child(body)
    assert outcome['workers'], outcome   # they ran when gathering failed
    assert outcome == {'raised': 'no environment', 'workers': outcome['workers'], 'left': [], 'tool_alive': False}


def test_an_installed_criu_job_that_raises_still_names_the_binaries_found(tmp_path, monkeypatch):
    """The job's error comes with the criu binaries on PATH (_check._installed_criu_raw), not as no criu at all."""
    criu = _fake_tool(tmp_path, 'criu', 'exit 0\n')
    monkeypatch.setenv('PATH', '%s:%s' % (tmp_path, os.environ.get('PATH', os.defpath)))
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu

    def job(ctx):
        raise RuntimeError('the job broke')
    monkeypatch.setattr(_installed_criu, 'job', job)
    _check = _check_module()
    criu_facts = _check.run(_check.by_features(['kcmp']))['criu']
    assert criu_facts['installed'] is True and criu_facts['path'] == criu, criu_facts
    assert [b['path'] for b in criu_facts['binaries'] if b['selected']] == [criu], criu_facts
    assert criu_facts['check']['verdict'] == _installed_criu.NOT_RUN, criu_facts
    assert criu_facts['check']['messages'][0] == 'job installed_criu raised RuntimeError: the job broke', criu_facts


def test_the_runtimes_version_commands_run_once_in_the_job_and_are_replayed(tmp_path, monkeypatch):
    """The runtimes' job records each tool's output beside the probes; judging the runtimes afterwards replays it
    (_check._replay) instead of running every tool a second time in the module's process."""
    runs = tmp_path / 'runs'
    _fake_tool(tmp_path, 'runc', 'echo "$*" >> %s\necho "runc version 1.1.12"\n' % runs)
    _fake_tool(tmp_path, 'criu', 'case "$1" in --version) echo "Version: 4.1.1";; *) echo "Looks good.";; esac\n')
    monkeypatch.setenv('PATH', '%s:%s' % (tmp_path, os.environ.get('PATH', os.defpath)))
    _check = _check_module()
    facts = _check.run(_check.by_features(['kcmp']))
    assert facts['runtimes']['runc']['version'] == '1.1.12', facts['runtimes']
    assert runs.read_text().splitlines() == ['--version']
