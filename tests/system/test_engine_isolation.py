# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine's isolation, on the real kernel: a probe that hangs, raises, or
dies by a signal becomes ``error`` for itself alone, within the timeout, and
nothing it started outlives the run.

The misbehaving probes are test hooks: rows built here and handed to the
engine, never part of the production registry.
"""

import os
import signal
import time

import pytest

import conftest
import process_list
from conftest import in_child
from probe_rows import row as _row

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _result as R

# conftest is imported first for its side effect: it puts the collection on sys.path.
COLLECTIONS = conftest.COLLECTIONS


def ok(ctx):
    return R.supported(evidence={'pid': os.getpid()})


def hang(ctx):
    while True:
        time.sleep(60)


def hang_with_grandchild(ctx):
    # A grandchild that would outlive a careless engine; its pid goes to the
    # file the test names in the environment.
    pid = os.fork()
    if pid == 0:
        while True:
            time.sleep(60)
    with open(os.environ['CRIU_CHECK_TEST_PIDFILE'], 'w') as f:
        f.write(str(pid))
    while True:
        time.sleep(60)


def boom(ctx):
    raise ValueError('deliberate failure')


def segfault(ctx):
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(5)


def vanish(ctx):
    os._exit(3)


def not_a_result(ctx):
    return 42


def _children_of(pid):
    children = set()
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/children' % (pid, tid)) as f:
            children.update(int(c) for c in f.read().split())
    return children


def _run(rows, timeout=1.0, spread=1):
    return _engine.run(rows, _context.ProbeContext(), timeout=timeout, spread=spread)


def test_each_failure_is_its_own_error_and_others_report():
    rows = [_row('a', ok), _row('hang', hang), _row('b', ok), _row('boom', boom),
            _row('c', ok), _row('segv', segfault), _row('d', ok), _row('vanish', vanish),
            _row('e', ok), _row('weird', not_a_result), _row('f', ok, own_process=True)]
    start = time.monotonic()
    results = _run(rows, timeout=1.0)
    elapsed = time.monotonic() - start
    assert list(results) == [r.id for r in rows]
    for probe_id in 'abcdef':
        assert results[probe_id]['status'] == R.SUPPORTED, results[probe_id]
    assert results['hang']['status'] == R.ERROR
    assert 'did not finish within 1.0 s' in results['hang']['message']
    assert results['boom']['status'] == R.ERROR
    assert 'ValueError: deliberate failure' in results['boom']['message']
    assert results['segv']['status'] == R.ERROR
    assert 'killed by signal 11 (SIGSEGV)' in results['segv']['message']
    assert results['vanish']['status'] == R.ERROR
    assert 'exited with status 3' in results['vanish']['message']
    assert results['weird']['status'] == R.ERROR
    # one timeout of 1 s, not one per probe
    assert elapsed < 3.0
    # the probes after a failure ran in a fresh worker, not the dead one
    assert results['c']['evidence']['pid'] != results['a']['evidence']['pid']


def test_shared_probes_share_a_worker_and_own_process_probes_do_not():
    rows = [_row('a', ok), _row('b', ok), _row('c', ok, own_process=True), _row('d', ok, lib='x'),
            _row('e', ok, lib='x')]
    results = _run(rows)
    pids = dict((k, v['evidence']['pid']) for k, v in results.items())
    assert pids['a'] == pids['b']
    assert pids['d'] == pids['e']  # one worker per library: imported once
    assert len({pids['a'], pids['c'], pids['d']}) == 3
    assert os.getpid() not in pids.values()


def test_library_free_probes_are_dealt_over_the_spread():
    rows = [_row(str(i), ok) for i in range(8)] + [_row('x1', ok, lib='x'), _row('x2', ok, lib='x')]
    pids = dict((k, v['evidence']['pid']) for k, v in _run(rows, spread=3).items())
    assert len({pids[str(i)] for i in range(8)}) == 3
    assert pids['0'] == pids['3'] == pids['6'] and pids['1'] == pids['4'] == pids['7']
    assert pids['x1'] == pids['x2'] and pids['x1'] not in [pids[str(i)] for i in range(8)]


def _job_pid(ctx):
    time.sleep(0.2)
    return {'pid': os.getpid()}


def test_jobs_started_first_run_while_the_caller_loads_the_probes():
    engine = _engine.Engine(_context.ProbeContext(), timeout=2.0)
    engine.start_jobs({'job': _job_pid})
    # Its worker runs before start() is called: the caller may compile the
    # probes' families meanwhile (_check.run()).
    running = [w.pid for w in engine.workers]
    assert len(running) == 1 and process_list.running(running[0])
    engine.start([_row('a', ok), _row('b', ok, lib='x')])
    results, jobs = engine.wait()
    assert jobs == {'job': {'pid': running[0]}}
    assert [r['status'] for r in results.values()] == [R.SUPPORTED, R.SUPPORTED]
    assert running[0] not in [r['evidence']['pid'] for r in results.values()]
    assert not process_list.running(running[0])


def test_hung_probe_and_its_grandchildren_are_killed_and_reaped(tmp_path, monkeypatch):
    pidfile = tmp_path / 'grandchild.pid'
    monkeypatch.setenv('CRIU_CHECK_TEST_PIDFILE', str(pidfile))
    before = _children_of(os.getpid())
    results = _run([_row('hang', hang_with_grandchild), _row('after', ok)], timeout=0.5)
    assert results['hang']['status'] == R.ERROR
    assert results['after']['status'] == R.SUPPORTED
    assert _children_of(os.getpid()) == before
    grandchild = int(pidfile.read_text())
    assert process_list.ended([grandchild], 2)


def test_no_fds_or_children_leak_from_the_caller():
    fds_before = sorted(os.listdir('/proc/self/fd'))
    children_before = _children_of(os.getpid())
    for dummy in range(20):
        _run([_row('a', ok), _row('boom', boom), _row('segv', segfault), _row('b', ok, own_process=True)])
    assert sorted(os.listdir('/proc/self/fd')) == fds_before
    assert _children_of(os.getpid()) == children_before


def test_worker_output_never_reaches_the_callers_stdout(capfd):
    def noisy(ctx):
        print('noise on stdout')
        os.write(2, b'noise on stderr\n')
        return R.supported()
    _run([_row('noisy', noisy)])
    out, err = capfd.readouterr()
    assert 'noise' not in out and 'noise' not in err


def test_answers_already_in_the_pipe_are_read_before_an_overrun_is_declared():
    # The caller is busy between start() and wait() (as _check.run() is while
    # it gathers the environment) for longer than the probes' timeout; the
    # probes answered at once: their answers count, none "did not finish".
    engine = _engine.Engine(_context.ProbeContext(), timeout=0.01)
    engine.start([_row('p%d' % i, ok, own_process=True) for i in range(4)])
    time.sleep(0.3)
    results, dummy = engine.wait()
    assert dict((k, v['status']) for k, v in results.items()) == dict(('p%d' % i, R.SUPPORTED) for i in range(4)), results


def test_overrun_message_shows_a_short_timeout_as_given():
    results = _run([_row('hang', hang)], timeout=0.05)
    assert results['hang']['message'] == 'the probe did not finish within 0.05 s and was killed', results


@pytest.mark.parametrize('closed', [(0,), (2,), (0, 2), (0, 1, 2)], ids=str)
def test_a_caller_with_closed_standard_streams_gets_every_result(closed):
    # os.pipe() then hands out fds 0-2, which each worker points at /dev/null.
    def body():
        for fd in closed:
            os.close(fd)
        results = _engine.run([_row('a', ok, own_process=True), _row('b', ok, own_process=True), _row('c', ok)],
                              _context.ProbeContext(), timeout=2.0)
        return dict((k, v['status']) for k, v in results.items())
    assert in_child(body) == {'a': R.SUPPORTED, 'b': R.SUPPORTED, 'c': R.SUPPORTED}
