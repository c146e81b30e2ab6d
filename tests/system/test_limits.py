# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The engine on the real kernel when time, file descriptors or processes run
short: the user's timeout bounds every inner wait, jobs run beside the
probes, and a shortage is a per-probe ``error`` or one EngineError, never a
traceback.  The shortages are real (RLIMIT_NOFILE, a seccomp filter that
refuses fork), each in a forked child of its own."""

import fcntl
import os
import re
import time

import pytest

import conftest
import limits
from conftest import in_child
from probe_rows import row as _row

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R

COLLECTIONS = conftest.COLLECTIONS  # importing conftest puts the collection on sys.path


def _child_sleeping(seconds):
    def probe(ctx):
        _child.run_in_child(lambda: time.sleep(seconds), ctx.left())
        return R.supported(evidence={'slept': seconds, 'left': ctx.left()})
    return probe


def ok(ctx):
    return R.supported(evidence={'pid': os.getpid()})


def opens_files(ctx):
    fds = []
    try:
        for dummy in range(4):
            fds.append(os.open('/proc/self/status', os.O_RDONLY))
    except OSError as exc:
        return R.unsupported('open failed', R.errno_evidence(exc.errno))
    finally:
        for fd in fds:
            os.close(fd)
    return R.supported()


def test_the_users_timeout_bounds_the_inner_waits():
    ctx = _context.ProbeContext()
    start = time.monotonic()
    results = _engine.run([_row('short', _child_sleeping(30))], ctx, timeout=0.6)
    elapsed = time.monotonic() - start
    # The probe's own child wait ran out first and said so (not the engine's kill).
    assert results['short']['status'] == R.ERROR
    assert re.search(r'probe child timed out after 0\.[34] s$', results['short']['message']), results['short']
    assert elapsed < 1.5
    # A child that needs longer than the old fixed 4 s gets it when the user allows it.
    results = _engine.run([_row('long', _child_sleeping(4.5))], ctx, timeout=6.0)
    assert results['long']['status'] == R.SUPPORTED, results['long']
    assert 0 < results['long']['evidence']['left'] < 6.0 - 0.6 - 4.5


def test_probe_called_directly_gets_the_whole_timeout_per_wait():
    ctx = _context.ProbeContext(timeout=2.0)
    assert ctx.deadline is None and ctx.left() == 2.0
    ctx.begin(1.0)
    assert ctx.timeout == 1.0 and 0.8 < ctx.left() <= 0.85
    ctx.deadline = time.monotonic() - 5
    assert ctx.left() == 0.001   # never 0: socket.settimeout(0) would mean non-blocking


def boom_job(ctx):
    raise ValueError('job failure')


def hang_job(ctx):
    time.sleep(60)


def list_job(ctx):
    return ['not', 'a', 'dict']


def crash_job(ctx):
    os._exit(9)


def sleepy_job(ctx):
    time.sleep(0.4)
    return {'pid': os.getpid(), 'left': ctx.left(), 'timeout': ctx.timeout}


def sleepy_probe(ctx):
    time.sleep(0.4)
    return R.supported(evidence={'pid': os.getpid()})


def test_jobs_run_beside_the_probes_each_in_its_own_worker():
    ctx = _context.ProbeContext()
    jobs = {'sleepy': sleepy_job, 'boom': boom_job, 'hang': hang_job, 'list': list_job, 'crash': crash_job}
    start = time.monotonic()
    results, job_results = _engine.run([_row('p', sleepy_probe), _row('q', ok)], ctx, timeout=2.0,
                                       jobs=jobs, job_timeout=1.0)
    elapsed = time.monotonic() - start
    assert list(job_results) == sorted(jobs)
    assert results['p']['status'] == results['q']['status'] == R.SUPPORTED
    assert job_results['sleepy']['pid'] not in (os.getpid(), results['p']['evidence']['pid'])
    assert job_results['sleepy']['timeout'] == 1.0 and job_results['sleepy']['left'] < 0.9
    assert job_results['boom'] == {'error': 'job boom raised ValueError: job failure'}
    assert job_results['hang'] == {'error': 'the job did not finish within 1.0 s and was killed'}
    assert 'instead of a dict' in job_results['list']['error']
    assert job_results['crash'] == {'error': 'the probe process exited with status 9 before reporting a result'}
    # side by side: the 1 s job timeout, not the sum of everything
    assert elapsed < 1.8
    # without jobs the return value is the results alone
    assert list(_engine.run([_row('q', ok)], ctx)) == ['q']


def _engine_under(limit_fn, rows, **kwargs):
    def body():
        ctx = _context.ProbeContext()
        limit_fn()
        try:
            return {'results': _engine.run(rows, ctx, timeout=3.0, **kwargs)}
        except _engine.EngineError as exc:
            return {'engine_error': str(exc)}
    return in_child(body)


def _limit_leaving(spare):
    """The RLIMIT_NOFILE (a bound on fd numbers, not a count) under which
    exactly ``spare`` descriptors can still be opened."""
    fd = free = 0
    while True:
        try:
            fcntl.fcntl(fd, fcntl.F_GETFD)
        except OSError:
            if free == spare:
                return fd
            free += 1
        fd += 1


@pytest.mark.parametrize('spare', [0, 1, 2, 3, 5, 8])
def test_out_of_file_descriptors_is_an_error_or_one_engine_error(spare):
    rows = [_row('a', ok), _row('b', opens_files), _row('c', ok, own_process=True), _row('d', ok),
            _row('e', ok, own_process=True)]

    def limit():
        limits.nofile(_limit_leaving(spare))
    out = _engine_under(limit, rows, spread=2)
    if 'engine_error' in out:
        assert spare < 2, out
        assert out['engine_error'].startswith('cannot run the probes: pipe() failed: Too many open files (EMFILE): '
                                              'out of file descriptors'), out
        return
    results = out['results']
    assert list(results) == [r.id for r in rows]
    for key in 'acde':
        # a worker that could not start waited for another to end: every
        # probe ran, one worker at a time if need be
        assert results[key]['status'] == R.SUPPORTED, (spare, results)
    assert results['b']['status'] in (R.SUPPORTED, R.ERROR)
    if results['b']['status'] == R.ERROR:
        assert 'ran out of file descriptors' in results['b']['message']


def test_fork_refused_is_one_engine_error():
    out = _engine_under(limits.refuse_fork, [_row('a', ok), _row('b', ok, own_process=True)])
    assert out == {'engine_error': 'cannot run the probes: fork() failed: Resource temporarily unavailable (EAGAIN): '
                                   'the kernel refused a new process (process limit, pids cgroup, or memory)'}


def test_fork_refused_inside_a_probe_is_that_probes_error():
    def forks_after_refusal(ctx):
        limits.refuse_fork()
        return R.supported(evidence=_child.run_in_child(lambda: 1, ctx.left()))
    results = _engine.run([_row('refused', forks_after_refusal, own_process=True), _row('fine', ok)],
                          _context.ProbeContext(), timeout=3.0)
    assert results['fine']['status'] == R.SUPPORTED
    assert results['refused']['status'] == R.ERROR
    assert 'Resource temporarily unavailable' in results['refused']['message']


def test_work_refused_a_process_runs_again_alone_and_its_second_answer_stands(tmp_path):
    """A probe and a job refused a process the first time (the others' workers held them) run again once the
    others are done: their answers are the second run's; a probe refused again keeps its error."""
    def refused_once(name):
        if not (tmp_path / name).exists():
            (tmp_path / name).write_text('refused')
            limits.refuse_fork()

    def probe(ctx):
        refused_once('probe')
        return R.supported(evidence=_child.run_in_child(lambda: 1, ctx.left()))

    def job(ctx):
        refused_once('job')
        return {'ran': ctx.run(['true'])[0]}

    def always(ctx):
        limits.refuse_fork()
        return R.supported(evidence=_child.run_in_child(lambda: 1, ctx.left()))
    results, jobs = _engine.run([_row('once', probe, own_process=True), _row('always', always, own_process=True),
                                 _row('fine', ok)], _context.ProbeContext(), timeout=3.0, jobs={'job': job})
    assert (tmp_path / 'probe').exists() and (tmp_path / 'job').exists()
    assert results['once']['status'] == R.SUPPORTED and results['fine']['status'] == R.SUPPORTED, results
    assert results['always']['status'] == R.ERROR, results['always']
    assert results['always']['evidence'][_engine.SHORT_OF_PROCESSES] is True, results['always']
    assert jobs == {'job': {'ran': 0}}, jobs


def test_no_usable_temporary_directory_is_no_error(tmp_path):
    def body():
        import tempfile
        tempfile.tempdir = None
        os.environ['TMPDIR'] = str(tmp_path / 'missing')
        for name in ('TEMP', 'TMP'):
            os.environ.pop(name, None)
        os.chdir('/')
        os.chmod('/', 0o755)
        return _context._usable_cwd()
    assert in_child(body) == '/'


def test_unreadable_proc_status_is_an_engine_error():
    def body():
        limits.nofile(_limit_leaving(0))
        try:
            _context.ProbeContext()
        except _engine.EngineError as exc:
            return str(exc)
    assert in_child(body) == 'cannot read /proc/self/status: Too many open files'


# Real probes whose answer needs a process: a traced child, a tool.
NEEDS_A_PROCESS = ('ptrace_peeksiginfo', 'get_rseq_conf', 'has_ipt_legacy')


def _pids_cgroup():
    """A fresh pids cgroup (v1 or v2), or skip."""
    for parent in ('/sys/fs/cgroup/pids', '/sys/fs/cgroup'):
        if os.path.exists(os.path.join(parent, 'cgroup.procs')) and (
                parent.endswith('pids') or 'pids' in open(os.path.join(parent, 'cgroup.controllers')).read()):
            path = os.path.join(parent, 'criu-check-test.%d' % os.getpid())
            os.mkdir(path)
            return path
    pytest.skip('no pids cgroup here')


def _probes_in(cgroup, pids_max):
    """The NEEDS_A_PROCESS probes' results, run from a child in ``cgroup``
    allowed ``pids_max`` processes (None: no limit)."""
    rows = [REG.BY_ID[name] for name in NEEDS_A_PROCESS]
    REG.load(rows)

    def body():
        with open(os.path.join(cgroup, 'cgroup.procs'), 'w') as procs:
            procs.write(str(os.getpid()))
        if pids_max is not None:
            with open(os.path.join(cgroup, 'pids.max'), 'w') as limit:
                limit.write(str(pids_max))
        return _engine.run(rows, _context.ProbeContext(), timeout=3.0)
    return in_child(body)


@conftest.requires_root
def test_a_process_refused_to_a_probe_is_an_error_not_the_kernels_unsupported():
    if _context.which('iptables-save') is None:
        pytest.skip('iptables-save is not installed')
    cgroup = _pids_cgroup()
    try:
        free = _probes_in(cgroup, None)
        # 2: the caller and one worker at a time (the engine waits for a worker to end before
        # it starts the next): no probe may fork
        short = _probes_in(cgroup, 2)
    finally:
        os.rmdir(cgroup)
    assert dict((k, v['status']) for k, v in free.items()) == dict.fromkeys(NEEDS_A_PROCESS, R.SUPPORTED), free
    for name in NEEDS_A_PROCESS:
        assert short[name]['status'] == R.ERROR, (name, short[name])
        assert short[name]['message'].startswith('the probe could not start a process'), (name, short[name])
        assert 'Resource temporarily unavailable' in str(short[name]['evidence']), (name, short[name])


def test_a_tool_the_system_refuses_to_start_is_not_reported_missing():
    def body():
        limits.refuse_fork()
        return _context.ProbeContext().run(['true'])
    rc, out, err = in_child(body)
    assert (rc, out) == (126, '') and err.startswith('true: cannot be started: ') and 'Resource temporarily' in err
