# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 9, "every feature taken away": one system call at a time made to
fail (ENOSYS, then EPERM) by a seccomp filter (tests/tools/seccomp_deny.py),
applied identically to real criu 4.1.1 and to our probes in the Debian 13
root, context ``root``.

One root entry per (system call, errno): tests/differential/inside_root.py
runs ``criu check``, ``criu check --all``, ``criu check --feature NAME`` for
each feature that depends on that call, and run_probes.py (every probe) once,
each under the filter (its plan's ``wrap``).  The filter is inherited, so
criu's test children and our workers all see it; inside_root.py itself runs
without it, so the report comes back even when no program can start under
the filter (arch_prctl).  tests/vm/test_vm_seccomp.py runs the same cases on
a Debian kernel against criu 4.2.1.

Compared: the required verdict (as test_differential_required.py) and each
feature (as test_differential_features.py); where criu cannot start (its
kerndat aborts on the error), ours must say not ready / not supported with a
message, never supported.  The control: an empty deny list (an allow-all
filter) changes nothing against the unfiltered run but what any filter
changes (FILTER_EFFECTS).  Deliberate disagreements: KNOWN, and
docs/differential.md.
"""

import errno
import json
import os
import signal
import subprocess
import time

import pytest

import _differential as D
from background_runs import BackgroundRuns
from process_list import processes
from test_differential_features import compare_feature
from test_differential_required import compare_required

SECCOMP_DENY = '/src/tests/tools/seccomp_deny.py'
TIMEOUT = 120

# System call -> the criu 4.1.1 feature names whose probes depend on it
# (criu/cr-check.c, criu/kerndat.c).  `criu check` (the required checks and
# kerndat) runs for every call anyway: kcmp, vmsplice, rt_sigqueueinfo,
# ptrace, mremap and prctl are required checks; membarrier, close_range,
# fsopen, rseq are kerndat probes with no feature name; process_madvise,
# mount_setattr and open_tree are used by no probe (the filter must change
# nothing there).
SYSCALLS = {
    'kcmp': ['kcmp_epoll'],
    'userfaultfd': ['uffd', 'uffd-noncoop'],
    'pidfd_open': ['pidfd_store'],
    'pidfd_getfd': ['pidfd_store'],
    'clone3': ['clone3_set_tid'],
    'memfd_create': ['memfd_hugetlb'],
    'rseq': ['get_rseq_conf'],
    'io_setup': ['aio_remap'],
    'io_getevents': ['aio_remap'],
    'timerfd_create': ['timerfd'],
    'openat2': ['openat2'],
    'move_mount': ['move_mount_set_group', 'overlayfs_maps'],
    'fsopen': ['overlayfs_maps'],
    'fsmount': ['overlayfs_maps'],
    'mount_setattr': [],
    'open_tree': [],
    'process_madvise': [],
    'membarrier': [],
    'close_range': [],
    'vmsplice': [],
    'rt_sigqueueinfo': [],
    'ptrace': ['seccomp_suspend', 'seccomp_filters', 'get_rseq_conf'],
    'arch_prctl': ['can_map_vdso', 'compat_cr'],
    'unshare': ['overlayfs_maps', 'network_lock_nftables', 'link_nsid'],
    'seccomp': ['seccomp_filters'],
    'mremap': ['aio_remap'],
    'prctl': ['userns'],
    'flock': ['fdinfo_lock'],
    'epoll_ctl': ['kcmp_epoll'],
}
ERRNOS = ('ENOSYS', 'EPERM')
CASES = ['%s:%s' % (s, e) for s in SYSCALLS for e in ERRNOS]
FEATURE_CASES = [(case, f) for case in CASES for f in SYSCALLS[case.split(':')[0]]]

# What any seccomp filter changes, even one that allows everything:
# probe id -> why.  The control compares the empty filter with no filter.
FILTER_EFFECTS = {
    'seccomp_suspend': 'the kernel refuses PTRACE_O_SUSPEND_SECCOMP to a tracer that is itself under seccomp '
                       '(kernel/ptrace.c ptrace_setoptions(): EPERM when seccomp_mode(&current->seccomp) is set), '
                       'so criu (criu/cr-check.c check_ptrace_suspend_seccomp()) and we both say unsupported',
    'seccomp_filters': 'the kernel refuses PTRACE_SECCOMP_GET_FILTER with EACCES to a tracer that is itself under '
                       'seccomp (kernel/seccomp.c seccomp_get_filter()), so criu (criu/cr-check.c '
                       'check_ptrace_dump_seccomp_filters(): "Dumping seccomp filters not supported") and we both '
                       'say unsupported',
}

# (case, item) -> why we deliberately answer differently from criu 4.1.1
# under that filter; item is 'check' or 'feature:NAME'.  Each is in
# docs/differential.md; an unlisted disagreement fails, and so does an entry
# that agrees now.
# None since the start-up steps without a feature of their own (membarrier,
# close_range, madvise(MADV_GUARD_INSTALL)) are mirrored by
# plugins/module_utils/_kerndat.py.
KNOWN = {}

UNDECIDED_OK = ('unsupported', 'not_applicable', 'unknown', 'error')

# ---------------------------------------------------------------- running


def _inside(argv):
    return [D.CRIU_ROOT, 'run', '--context', 'root', '--'] + argv


def _deny(case):
    name, err = case.split(':') if case not in ('control', 'unfiltered') else ('', 'ENOSYS')
    return ['python3', SECCOMP_DENY, '--deny', name, '--errno', err, '--']


def _run(argv):
    """Run one root entry; (rc, stdout, stderr), killing its group on timeout."""
    for attempt in range(3):
        try:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            break
        except OSError as exc:
            # Seen once on a loaded CI run: the exec of this harness's own script failed with EFAULT in
            # the pool's thread; nothing had started, so starting again is safe.
            if exc.errno != errno.EFAULT or attempt == 2:
                raise
            time.sleep(0.5)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            out, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
        return None, out.decode('utf-8', 'replace'), 'TIMEOUT after %s s' % TIMEOUT
    return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')


def run_case(case):
    """The report of one case: inside_root.py's, which puts the filter before
    each criu and run_probes.py command it starts (its plan's ``wrap``) and
    so reports even when no program can start under the filter."""
    start = time.monotonic()
    feats = list(D.FEATURES) if case in ('control', 'unfiltered') else SYSCALLS[case.split(':')[0]]
    plan = {'criu': {'check': [], 'all': ['--all']}, 'features': feats, 'probes': {'all': []},
            'wrap': [] if case == 'unfiltered' else _deny(case)}
    rc, out, err = _run(_inside(['python3', D.INSIDE, json.dumps(plan)]))
    try:
        report = json.loads(out)
    except ValueError:
        report = {'error': 'inside_root.py gave no report: rc=%s %s' % (rc, err.strip()[-400:])}
    report['wall_ms'] = round((time.monotonic() - start) * 1000, 1)
    return report


class Runs(BackgroundRuns):
    """Every case, two at a time (two cores), collected once per session."""

    def __init__(self):
        self.mounts_before = D._mounts()
        super().__init__((c, run_case, (c,)) for c in ['unfiltered', 'control'] + CASES)

    def report(self, case):
        report = self.result(case)
        if 'error' in report:
            pytest.fail('%s: %s' % (case, report['error']), pytrace=False)
        return report


STATE = {'runs': None, 'rows': []}


@pytest.fixture(scope='session')
def runs(request):
    if os.geteuid() != 0:
        pytest.skip('the seccomp differential tests need root (mount namespaces, pivot_root)')
    if os.uname().machine != 'x86_64':
        pytest.skip('tests/tools/seccomp_deny.py knows the x86_64 system call numbers only')
    if STATE['runs'] is None:
        try:
            build = subprocess.run([D.CRIU_ROOT, 'build'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            STATE['runs'] = 'the criu root cannot be built: %s' % exc
        else:
            if build.returncode == 0:
                request.config.pluginmanager.register(_Summary(), 'criu-check-seccomp-summary')
            STATE['runs'] = Runs() if build.returncode == 0 else (
                'the criu root cannot be built (tests/tools/criu_root.sh build): %s'
                % build.stderr.decode('utf-8', 'replace').strip()[-600:])
    if isinstance(STATE['runs'], str):
        pytest.skip(STATE['runs'])
    yield STATE['runs']
    STATE['runs'].wait_all()


def ours(report):
    """(results, facts) of our run, or (None, why) when it gave no JSON."""
    run = report['probes']['all']
    if not run.get('json'):
        return None, 'run_probes.py gave no report (rc=%s): %s' % (run.get('rc'), (run.get('stderr') or '')[-600:])
    return run['json'].get('results') or {}, run['json'].get('facts') or {}


def judge(case, item, criu_says, we_say, problem):
    reason = KNOWN.get((case, item))
    STATE['rows'].append((case, item, criu_says, we_say, problem, reason))
    if problem and reason is None:
        pytest.fail('%s / %s: criu and we disagree: %s\n  criu says: %s\n  we say:    %s\n'
                    '(fix the probe, or list it in KNOWN and docs/differential.md with the reason)'
                    % (case, item, problem, criu_says, we_say), pytrace=False)
    if not problem and reason is not None:
        pytest.fail('%s / %s is listed in KNOWN (%s) but criu and we agree now: remove it' % (case, item, reason),
                    pytrace=False)

# ---------------------------------------------------------------- comparing


def _cannot_run(criu, why):
    """Our engine gave no report under the filter: fine only when criu could
    not run either (a filter that keeps every program from starting)."""
    kind = D.criu_outcome(criu)[0]
    if kind in ('good', 'good_but', 'bad'):
        return 'criu ran (%s) but our engine did not: %s' % (kind, why)
    return ''


def compare_check(criu, results, facts):
    """The required verdict; where criu cannot start under the filter (its
    kerndat aborts), we must not say ready, and each probe that the filter
    broke must say why."""
    kind, why = D.criu_outcome(criu)
    if kind == 'cannot_start' or kind == 'other':
        env = facts.get('environment') or {}
        if env.get('criu_can_start') is False:
            return '' if env.get('criu_start_blockers') else 'criu_can_start is false without a blocker'
        if facts.get('ready') is not False:
            return 'criu cannot start (%s) but we say ready=%r, criu_can_start=%r' % (
                why or D.short(criu), facts.get('ready'), env.get('criu_can_start'))
        # Not ready because of what our probes saw: they must name it.
        named = [pid for pid in D.REQUIRED if (results.get(pid) or {}).get('status') != 'supported'
                 and (results.get(pid) or {}).get('message')]
        return '' if named else 'criu cannot start (%s); we say not ready but no required probe says why' % (
            why or D.short(criu))
    return compare_required(kind, why, criu, results, facts)


def compare_one(criu, res, facts):
    kind, why = D.criu_outcome(criu)
    if kind in ('cannot_start', 'other') and criu['rc'] != 0:
        env = facts.get('environment') or {}
        status = (res or {}).get('status')
        if env.get('criu_can_start') is False:
            return ''
        if status in UNDECIDED_OK and (res or {}).get('message'):
            return ''
        return 'criu cannot answer (%s) but ours: %s' % (why or D.short(criu), D.describe(res))
    return compare_feature(criu, res, facts)


def judge_check(case, criu, report, judge_with):
    """Judge `criu check` (its output ``criu``) under the case's filter
    against our report; ``judge_with`` is the judge of the caller (this
    file's, or tests/vm/_vm.py's)."""
    results, facts = ours(report)
    if results is None:
        judge_with(case, 'check', D.short(criu), facts, _cannot_run(criu, facts))
        return
    env = facts.get('environment') or {}
    judge_with(case, 'check', '%s: %s' % (D.criu_outcome(criu)[0], D.short(criu)),
               'ready=%r missing.required=%r unknown=%r criu_can_start=%r' % (
                   facts.get('ready'), (facts.get('missing') or {}).get('required'), facts.get('unknown'),
                   env.get('criu_can_start')), compare_check(criu, results, facts))


def judge_feature(case, feature, report, judge_with):
    """Judge `criu check --feature NAME` under the case's filter against our probe."""
    criu = report['features'][feature]
    results, facts = ours(report)
    if results is None:
        judge_with(case, 'feature:' + feature, D.short(criu), facts, _cannot_run(criu, facts))
        return
    res = results.get(D.FEATURE_IDS[feature])
    judge_with(case, 'feature:' + feature, 'exit %s: %s' % (criu['rc'], D.short(criu)), D.describe(res),
               compare_one(criu, res, facts))


def tracebacks(reports):
    """'case: traceback' for each (case, report) whose run_probes.py printed one."""
    bad = []
    for case, report in reports:
        err = report['probes']['all'].get('stderr') or ''
        if 'Traceback (most recent call last)' in err:
            bad.append('%s: %s' % (case, err[-800:]))
    return bad


@pytest.mark.parametrize('case', CASES)
def test_check(runs, case):
    report = runs.report(case)
    judge_check(case, report['criu']['check'], report, judge)


@pytest.mark.parametrize('case,feature', FEATURE_CASES)
def test_feature(runs, case, feature):
    judge_feature(case, feature, runs.report(case), judge)


LACKS_IDS = [D.FEATURE_IDS[n] for n in D.CRIU_411_LACKS]


def facts_like_all(results, facts):
    """Our facts for the probes `criu check --all` runs (criu 4.1.1 has no
    LACKS_IDS), made by _aggregate.facts() from the one run's results, as
    tests/vm/_vm.py does."""
    from ansible_collections.criu.check.plugins.module_utils import _aggregate, _check
    ids = [p.id for p in _check.like_criu_check(True, True) if p.id not in LACKS_IDS]
    subset = dict((i, results[i]) for i in ids if i in results)
    env = dict((k, v) for k, v in facts['environment'].items() if k != 'criu_can_start')
    return _aggregate.facts(subset, env, facts['kernel'], None)


@pytest.mark.parametrize('case', CASES)
def test_all_verdict(runs, case):
    """`criu check --all` against our verdict of the same probes.  Where criu
    cannot start, compare_verdict wants criu_can_start false; where only our
    probes see the cause (not kerndat), not ready with a reason is enough."""
    report = runs.report(case)
    criu = report['criu']['all']
    results, facts = ours(report)
    if results is None:
        judge(case, 'verdict:--all', D.short(criu), facts, _cannot_run(criu, facts))
        return
    sel = facts_like_all(results, facts)
    kind, problem = D.compare_verdict(criu, sel)
    if problem and kind == 'cannot_start' and sel.get('ready') is False:
        problem = ''
    missing = dict((k, v) for k, v in (sel.get('missing') or {}).items() if v)
    judge(case, 'verdict:--all', '%s: %s' % (kind, D.short(criu, 300)),
          'verdict=%r ready=%r missing=%r' % (sel.get('verdict'), sel.get('ready'), missing),
          problem)


def test_no_traceback(runs):
    """Whatever the filter breaks, our engine reports it: no Python traceback
    from run_probes.py (a Python that cannot start at all is not ours)."""
    bad = tracebacks((case, runs.report(case)) for case in CASES)
    assert not bad, '\n'.join(bad)


def test_control_agrees_with_unfiltered(runs):
    """The negative control: an allow-all filter changes nothing, on criu's
    side or ours, but FILTER_EFFECTS."""
    base, ctrl = runs.report('unfiltered'), runs.report('control')
    diffs = []
    if D.criu_outcome(base['criu']['check'])[0] != D.criu_outcome(ctrl['criu']['check'])[0]:
        diffs.append('criu check: %s -> %s' % (D.short(base['criu']['check']), D.short(ctrl['criu']['check'])))
    for name in D.FEATURES:
        b, c = base['features'][name]['rc'], ctrl['features'][name]['rc']
        if b != c and D.FEATURE_IDS[name] not in FILTER_EFFECTS:
            diffs.append('criu --feature %s: exit %s -> %s' % (name, b, c))
    bres, dummy = ours(base)
    cres, dummy = ours(ctrl)
    assert bres is not None and cres is not None
    for pid in sorted(bres):
        b, c = bres[pid].get('status'), (cres.get(pid) or {}).get('status')
        if b != c and pid not in FILTER_EFFECTS:
            diffs.append('ours %s: %s -> %s' % (pid, b, c))
    for pid, why in FILTER_EFFECTS.items():
        name = [n for n, i in D.FEATURE_IDS.items() if i == pid][0]
        if base['features'][name]['rc'] == 0 and (ctrl['features'][name]['rc'] == 0 or
                                                  cres[pid]['status'] == 'supported'):
            diffs.append('%s is listed in FILTER_EFFECTS (%s) but a filter does not change it' % (pid, why))
    assert not diffs, '\n'.join(diffs)


@pytest.mark.parametrize('which', ['unfiltered', 'control'])
def test_control_criu_and_ours_agree(runs, which):
    """Under the allow-all filter (and without one) every feature agrees."""
    report = runs.report(which)
    results, facts = ours(report)
    assert results is not None, facts
    problems = []
    for name in D.FEATURES:
        problem = compare_feature(report['features'][name], results.get(D.FEATURE_IDS[name]), facts)
        if problem:
            problems.append('%s: %s' % (name, problem))
    kind, why = D.criu_outcome(report['criu']['check'])
    problem = compare_required(kind, why, report['criu']['check'], results, facts)
    if problem:
        problems.append('check: ' + problem)
    assert not problems, '\n'.join(problems)


# ---------------------------------------------------------------- the tool itself

TOOL = os.path.join(D.REPO, 'tests', 'tools', 'seccomp_deny.py')
# Each call with arguments that make it fail harmlessly (never with EPERM)
# when it is not denied: only the filter answers EPERM.
_CALL_ALL = r"""
import ctypes, json, sys
sys.path.insert(0, %r)
import seccomp_deny as S
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = {}
for name in sys.argv[1].split(','):
    for alias in (0, S.X32_SYSCALL_BIT):
        ctypes.set_errno(0)
        rc = libc.syscall(ctypes.c_long(S.SYSCALLS_X86_64[name] | alias), *[ctypes.c_long(-1)] * 6)
        out['%%s%%s' %% (name, '/x32' if alias else '')] = (rc, ctypes.get_errno())
print(json.dumps(out))
""" % os.path.join(D.REPO, 'tests', 'tools')


def _tool(args, timeout=30):
    return subprocess.run(['python3', TOOL] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)


@pytest.mark.parametrize('err', ERRNOS)
def test_tool_denies_each_call_and_its_x32_alias(err):
    """Every system call of SYSCALLS (but arch_prctl, without which no
    program starts) fails with the chosen errno under the filter, through its
    x86_64 number and its x32 alias; without the filter none gives EPERM."""
    if os.uname().machine != 'x86_64':
        pytest.skip('x86_64 only')
    names = ','.join(n for n in SYSCALLS if n != 'arch_prctl')
    proc = _tool(['--deny', names, '--errno', err, '--', 'python3', '-c', _CALL_ALL, names])
    assert proc.returncode == 0, proc.stderr.decode()
    got = json.loads(proc.stdout.decode())
    want = getattr(__import__('errno'), err)
    wrong = dict((k, v) for k, v in got.items() if v != [-1, want])
    assert not wrong, 'not denied with %s: %s' % (err, wrong)
    plain = subprocess.run(['python3', '-c', _CALL_ALL, names], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, check=True)
    eperm = [k for k, v in json.loads(plain.stdout.decode()).items() if v[1] == 1]
    assert not eperm, 'EPERM without a filter (the test could not tell the filter from the kernel): %s' % eperm


def test_tool_arch_prctl_keeps_programs_from_starting():
    """glibc sets the TLS base with arch_prctl(ARCH_SET_FS) before main:
    glibc 2.36 says "cannot set up thread-local storage", 2.41 "Fatal glibc
    error: Cannot allocate TLS block"."""
    proc = _tool(['--deny', 'arch_prctl', '--errno', 'EPERM', '--', 'true'])
    assert proc.returncode != 0 and (b'TLS' in proc.stderr or b'thread-local storage' in proc.stderr), (
        proc.returncode, proc.stderr)


def test_tool_filter_is_inherited_and_allows_the_rest():
    proc = _tool(['--deny', 'kcmp', '--errno', 'ENOSYS', '--', 'sh', '-c', 'grep ^Seccomp: /proc/self/status; echo $$'])
    assert proc.returncode == 0 and proc.stdout.decode().split()[:2] == ['Seccomp:', '2'], proc


@pytest.mark.parametrize('args,words', [
    (['--deny', 'no_such_call', '--errno', 'EPERM', '--', 'true'], ['unknown x86_64 system call', 'kcmp', 'openat2']),
    (['--deny', 'kcmp', '--errno', 'EINVAL', '--', 'true'], ['ENOSYS, EPERM']),
    (['--deny', 'kcmp', '--', 'true'], ['--errno is required']),
    (['--errno', 'EPERM', '--', 'true'], ['--deny']),
    (['--deny', 'kcmp', '--errno', 'EPERM'], ['no command']),
    (['--bogus'], ['unknown option', '--deny']),
])
def test_tool_bad_usage_names_what_is_valid(args, words):
    proc = _tool(args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and 'Traceback' not in err and all(w in err for w in words), err


def test_tool_cannot_execute():
    proc = _tool(['--deny', 'kcmp', '--errno', 'EPERM', '--', '/nonexistent/program'])
    assert proc.returncode == 127 and b'cannot execute' in proc.stderr, proc


def test_every_case_ran_under_its_filter(runs):
    """inside_root.py put the case's filter before every command and ran
    without one itself; where our engine reported, its process was in
    seccomp filter mode (2) under the filter and in none (0) without."""
    wrong = []
    for case in ['unfiltered', 'control'] + CASES:
        report = runs.report(case)
        if report['wrap'] != ([] if case == 'unfiltered' else _deny(case)):
            wrong.append('%s: wrapped in %r' % (case, report['wrap']))
        if report['identity']['status'].get('Seccomp') != '0':
            wrong.append('%s: inside_root.py itself in Seccomp mode %r' % (
                case, report['identity']['status'].get('Seccomp')))
        results, facts = ours(report)
        mode = (facts.get('environment') or {}).get('seccomp') if results is not None else None
        if results is not None and mode != (0 if case == 'unfiltered' else 2):
            wrong.append('%s: our engine in Seccomp mode %r' % (case, mode))
    assert not wrong, wrong


def test_zz_nothing_left(runs):
    """Every case ran in the root's private mount namespace: no mount of the
    root or of criu's /tmp/.criu.* directories is left on the host, and no
    process of ours is left running."""
    runs.wait_all()
    added = [m for m in D._mounts() if m not in set(runs.mounts_before)]
    ours_left = [m for m in added if D.ROOT_DIR in m or '/.criu.' in m]
    assert not ours_left, 'mounts left behind:\n' + '\n'.join(ours_left)
    procs = processes(lambda cmd: SECCOMP_DENY in cmd or (D.INSIDE in cmd and 'seccomp' in cmd))
    assert not procs, 'processes left running: %s' % procs


class _Summary:
    """criu's answers and ours side by side, case by case."""

    def pytest_terminal_summary(self, terminalreporter):
        runs = STATE['runs']
        if not isinstance(runs, Runs):
            return
        tr = terminalreporter
        tr.section('seccomp: one system call denied, criu 4.1.1 vs criu.check')
        if runs.finished:
            tr.write_line('all %d runs in %.1f s (two at a time)' % (len(CASES) + 2, runs.finished - runs.started))
        done = runs.results()
        for case in CASES:
            if case not in done:
                tr.write_line('%-24s no report' % case)
                continue
            report = done[case]
            if 'error' in report:
                tr.write_line('%-24s %s' % (case, report['error'][:200]))
                continue
            results, facts = ours(report)
            crit, why = D.criu_outcome(report['criu']['check'])
            if crit == 'bad':
                why = (D.failure_lines(report['criu']['check']) or [''])[0]
            if results is None:
                we = 'no report'
            else:
                env = facts.get('environment') or {}
                we = 'ready=%s criu_can_start=%s' % (facts.get('ready'), env.get('criu_can_start'))
            tr.write_line('%-24s %5.0f ms  criu check: %s%s | ours: %s' % (
                case, report['wall_ms'], crit, (' (%s)' % why[:90]) if why else '', we))
            for name in SYSCALLS[case.split(':')[0]]:
                res = (results or {}).get(D.FEATURE_IDS[name])
                tr.write_line('    %-22s criu: exit %-3s | ours: %s' % (
                    name, report['features'][name]['rc'], D.describe(res)[:110]))
        rows = [r for r in STATE['rows'] if r[4]]
        tr.write_line('disagreements: %d (%d listed as known)' % (len(rows), sum(1 for r in rows if r[5])))
        for case, item, criu_says, we_say, problem, reason in rows:
            tr.write_line('  [%s] %s / %s: %s' % ('known' if reason else 'NEW', case, item, problem))
