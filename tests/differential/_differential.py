# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real criu as the oracle: what to run in each context, how to read criu's
answers, and the disagreements we keep on purpose.

The test modules import the fixtures from here (there is no conftest.py in
this directory on purpose: a second module named ``conftest`` would shadow
tests/conftest.py for the test modules that import from it).  The fixture
``oracle`` enters each context of tests/tools/criu_root.sh once, two at a
time; the tests only compare.  See docs/differential.md.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

from background_runs import BackgroundRuns
from ansible_collections.criu.check.plugins.module_utils import _registry

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CRIU_ROOT = os.path.join(REPO, 'tests', 'tools', 'criu_root.sh')
RUN_PROBES = os.path.join(REPO, 'tests', 'tools', 'run_probes.py')
INSIDE = '/src/tests/differential/inside_root.py'
ROOT_DIR = os.path.join(os.environ.get('CRIU_CHECK_CACHE', '/var/cache/criu-check'), 'trixie')
RUN_TIMEOUT = 240

# ---------------------------------------------------------------- what criu knows

# The criu of the root (Debian 13).
CRIU_VERSION = '4.1.1'

# Feature names of CRIU 4.2 that Debian 13's criu 4.1.1 does not know.
CRIU_411_LACKS = ('timer_cr_ids', 'breakpoints', 'pagemap_scan_guard_pages')
FEATURE_IDS = dict((p.criu_name, p.id) for p in _registry.PROBES if p.criu_name)
FEATURES = [name for name in FEATURE_IDS if name not in CRIU_411_LACKS]
REQUIRED = [p.id for p in _registry.PROBES if p.category == _registry.REQUIRED]

# ---------------------------------------------------------------- the cases

# Issue A (required category: `criu check` vs criu_ready / missing.required).
# name -> (context of criu_root.sh, run criu and our engine with --unprivileged)
A_CASES = {
    'root': ('root', False),
    'nonroot': ('nonroot', True),
    'nonroot-cr': ('nonroot-cr', False),
    'nonroot-cr-unprivileged': ('nonroot-cr', True),
    'userns': ('userns', False),
    'userns-unprivileged': ('userns', True),
    'ro-proc-sys': ('ro-proc-sys', False),
    # Beyond the brief, free or nearly (the contexts run for issue B anyway).
    'no-sys-admin': ('no-sys-admin', True),
    'no-sys-admin-without-unprivileged': ('no-sys-admin', False),
    'no-loopback': ('no-loopback', False),
    'no-loopback-unprivileged': ('no-loopback', True),
    'podman': ('podman', True),
    'podman-without-unprivileged': ('podman', False),
    'podman-rw': ('podman-rw', True),
}

# Issue B (every feature, and the verdicts of --extra/--experimental/--all).
B_CASES = {
    'root': ('root', False),
    'no-sys-admin': ('no-sys-admin', True),
    'ro-proc-sys': ('ro-proc-sys', False),
    'no-loopback': ('no-loopback', False),
    'podman': ('podman', True),
    'nonroot-cr': ('nonroot-cr', True),
}

# criu's three full-check modes, and how run_probes.py selects the same probes.
MODES = {
    '--extra': (['--extra'], ['--extra']),
    '--experimental': (['--experimental'], ['--experimental']),
    '--all': (['--all'], ['--extra', '--experimental']),
}

# ---------------------------------------------------------------- known disagreements
#
# (case, item) -> why we deliberately answer differently from criu 4.1.1.
# item is 'check' (issue A), 'feature:NAME', 'verdict:--extra' etc. or
# 'extra:PROBE_ID' (issue B).
# Every entry is explained in docs/differential.md; a disagreement missing
# here fails, and so does an entry that no longer disagrees.
KNOWN = {
    ('podman', 'feature:overlayfs_maps'):
        'criu reports success without testing when it cannot unshare a mount namespace '
        '(criu/cr-check.c check_overlayfs_maps()); our probe then tests inside a user namespace, and where '
        'none can be made (podman\'s seccomp profile) it says unknown, not supported',
}

# ---------------------------------------------------------------- reading criu

START_FAILURES = (
    ('CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability',
     'no CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE'),
    ("Running as non-root requires '--unprivileged'", "non-root without --unprivileged"),
    ('Could not initialize kernel features detection.', 'kerndat_init() failed'),
)

_PREFIX = re.compile(r'^(?:Error|Warn ) \((?P<file>[^:()]+):\d+\): ')

# criu's own failure texts of the required checks (criu/cr-check.c), to name the
# probe criu stopped at even when our side has no message for it.
CRIU_REQUIRED_MESSAGES = {
    'map_files': ('/proc/<pid>/map_files is inaccessible',),
    'sock_diag': ("Can't make diag socket for check", 'The sock diag infrastructure is incomplete'),
    'ns_last_pid': ('sys/kernel/ns_last_pid sysctl is inaccessible',),
    'sock_peek_off': ("SO_PEEK_OFF sockoption doesn't work", "Can't create unix socket for check"),
    'kcmp': ('System call kcmp is not supported',),
    'prctl_cat1': ('prctl: PR_GET_TID_ADDRESS is not supported',
                   'prctl: One needs CAP_SYS_RESOURCE capability to perform testing',
                   'prctl: PR_SET_MM_BRK is not supported', 'prctl: PR_SET_MM_EXE_FILE is not supported',
                   'prctl: PR_SET_MM_AUXV is not supported'),
    'fcntl': ("Can't fetch file owner UIDs",),
    'proc_stat': ('procfs: stat extension is not supported',),
    'tcp': ("Can't create TCP socket :(", "Can't turn TCP repair mode ON", "Can't get TCP_TIMESTAMP"),
    'fdinfo_ext': ("Can't make eventfd", 'Error parsing proc fdinfo', 'Counter mismatch',
                   "Can't make pipe to watch", "Can't make epoll fd", "Can't add epoll tfd",
                   'TFD mismatch', "Can't make signalfd", "Can't make inotify fd", "Can't add watch",
                   'WD mismatch', 'No records of type'),
    'unaligned_vmsplice': ("Unaligned vmsplice doesn't work",),
    'tty': ("Can't open /dev/ptmx", "Can't lock pty master", 'Unexpected error on locked pty',
            'Managed to open locked pty', 'struct termios has'),
    'so_gets': ("Can't get socket filter", "Can't get socket bound dev"),
    'ipc': ('/proc/sys/kernel/sem_next_id is inaccessible',),
    'sigqueuinfo': ('Unable to send siginfo with positive si_code to itself',),
    'ptrace_peeksiginfo': ('Unable to dump pending signals', 'Unable to dump signal blocking mask',
                           'Unable to ptrace the child'),
    'special_mapping_mremap': ('Your kernel probably lacks the support for mremapping special mappings',
                               'Child killed by signal', 'Special mapping meet twice'),
}

# The extra checks that have no --feature name are seen only through
# `criu check --extra`: each fails exactly when criu prints one of these
# (criu/cr-check.c).  check_tun_cr(0) prints "tun: Can't check tun
# support" and still passes when /dev/net/tun cannot be opened, so only the
# ioctl failure counts; prctl_cat2's warning has no ": strerror" (check_userns
# prints the same words with one).
UNNAMED_EXTRA_FAILURES = {
    'prctl_cat2': ('=prctl: PR_SET_MM_MAP_SIZE is not supported',),
    'posix_timers': ('/proc/<pid>/timers file is missing',),
    'tun_cr': ('tun: No proper support for tun dump/restore',),
    'clone_parent_vs_pid': ("CLONE_PARENT | CLONE_NEWPID don't work together",),
    'tcp_window': ("The TCP_REPAIR_WINDOW option isn't supported", "TCP_REPAIR isn't available to unprivileged users",
                   'Unable to create inet socket', 'Unable to set TCP_REPAIR'),
}
UNNAMED_EXTRA = [p.id for p in _registry.PROBES if p.category == _registry.EXTRA and p.id in UNNAMED_EXTRA_FAILURES]


def unnamed_extra_failed(out, pid):
    """Did this `criu check --extra` run fail the unnamed extra check ``pid``?
    Returns the criu line that says so, or ''."""
    for src, text in criu_lines(out):
        if src is not None and not src.endswith('cr-check.c'):
            continue
        for needle in UNNAMED_EXTRA_FAILURES[pid]:
            if needle.startswith('='):
                if text == needle[1:]:
                    return text
            elif text.startswith(needle):
                return text
    return ''


def criu_lines(out):
    """criu's message lines (stdout then stderr), without the log prefix, as
    (source file or None, text)."""
    lines = []
    for stream in (out.get('stdout') or '', out.get('stderr') or ''):
        for raw in stream.splitlines():
            raw = raw.strip()
            if not raw:
                continue
            m = _PREFIX.match(raw)
            lines.append((m.group('file') if m else None, raw[m.end():] if m else raw))
    return lines


def criu_outcome(out):
    """Classify one `criu check` run: ('cannot_start', why) | ('good', '') |
    ('good_but', '') | ('bad', '') | ('other', text)."""
    text = (out.get('stdout') or '') + '\n' + (out.get('stderr') or '')
    for needle, why in START_FAILURES:
        if needle in text:
            return 'cannot_start', why
    if 'Does not look good.' in text:
        return 'bad', ''
    if 'Looks good but some kernel features are missing' in text:
        return 'good_but', ''
    if out.get('rc') == 0 and 'Looks good.' in text:
        return 'good', ''
    return 'other', 'rc=%s %s' % (out.get('rc'), text.strip()[-300:])


def compare_verdict(criu, facts):
    """(kind, problem): criu's outcome of an --extra/--experimental/--all
    run and what is wrong with our facts against it ('' when nothing)."""
    kind, why = criu_outcome(criu)
    env = facts.get('environment') or {}
    if kind == 'cannot_start':
        ok = env.get('criu_can_start') is False and facts.get('ready') is False
        problem = '' if ok else 'criu cannot start (%s); ours: ready=%r criu_can_start=%r' % (
            why, facts.get('ready'), env.get('criu_can_start'))
    elif kind == 'other':
        problem = 'unexpected criu output: %s' % why
    else:
        problem = '' if facts.get('verdict') == kind else 'criu: %s, ours: %s' % (kind, facts.get('verdict'))
    return kind, problem


def failure_lines(out):
    """criu's failure messages of a "Does not look good." run: the lines of
    cr-check.c (and pr_msg lines, which have no prefix), in order."""
    skip = ('Does not look good.', 'Looks good')
    return [text for src, text in criu_lines(out)
            if (src is None or src.endswith('cr-check.c')) and not text.startswith(skip)]


def _matches(line, message):
    line, message = line.strip().rstrip('.'), (message or '').strip().rstrip('.')
    if not line or not message:
        return False
    return line == message or line.startswith(message) or message.startswith(line)


def probe_for_failure(lines, results):
    """Map criu's first failure message to a required probe id: first through
    our probes' own messages, then through criu's texts (criu/cr-check.c).
    Returns (probe id or None, how, the criu line)."""
    for line in lines:
        for pid in REQUIRED:
            res = results.get(pid) or {}
            if res.get('status') != 'supported' and _matches(line, res.get('message')):
                return pid, 'our message', line
        for pid in REQUIRED:
            if any(line.startswith(text) for text in CRIU_REQUIRED_MESSAGES.get(pid, ())):
                return pid, "criu's text (spec)", line
    return None, 'no required probe has this message', lines[0] if lines else ''


# criu's lines that say nothing about the probes.
NOISE = ('$XDG_RUNTIME_DIR not set',)


def short(out, limit=400):
    """criu's output on one line, for assertion messages and the report."""
    text = ' | '.join(t for dummy, t in criu_lines(out) if not t.startswith(NOISE))
    return (text[:limit] + '...') if len(text) > limit else text

# ---------------------------------------------------------------- running


def _args(unprivileged):
    return ['--unprivileged'] if unprivileged else []


def plans():
    """One plan per context of criu_root.sh: every criu call and every engine
    run that the cases of that context need, so that each context is entered
    once."""
    out = {}
    for name, (ctx, unpriv) in A_CASES.items():
        plan = out.setdefault(ctx, {'criu': {}, 'probes': {}, 'features': [], 'feature_args': []})
        plan['criu']['A:' + name] = _args(unpriv)
        plan['probes']['A:' + name] = _args(unpriv) + ['--like-criu']
    for name, (ctx, unpriv) in B_CASES.items():
        plan = out.setdefault(ctx, {'criu': {}, 'probes': {}, 'features': [], 'feature_args': []})
        for mode, (criu_args, our_args) in MODES.items():
            plan['criu']['B:%s:%s' % (name, mode)] = _args(unpriv) + criu_args
            plan['probes']['B:%s:%s' % (name, mode)] = _args(unpriv) + our_args
        plan['probes']['B:%s:all' % name] = _args(unpriv)
        plan['features'] = list(FEATURES)
        plan['feature_args'] = _args(unpriv)
        if ctx == 'root':
            # Check the premise: these names are unknown to criu 4.1.1.
            plan['features'] += list(CRIU_411_LACKS)
    return out


def run_context(ctx, plan):
    """Enter the root once in context ``ctx`` and run the plan; returns the
    report of inside_root.py, plus 'wall_ms' and 'context'."""
    start = time.monotonic()
    proc = subprocess.Popen(
        [CRIU_ROOT, 'run', '--context', ctx, '--', 'python3', INSIDE, json.dumps(plan)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        # TERM first: criu_root.sh then removes its podman container; the
        # whole group goes, so the private mount namespace empties and dies.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        raise RuntimeError('context %s: no report within %s s' % (ctx, RUN_TIMEOUT))
    wall = round((time.monotonic() - start) * 1000, 1)
    try:
        report = json.loads(stdout.decode())
    except ValueError:
        raise RuntimeError('context %s: criu_root.sh run exited %s without a report; stderr: %s' % (
            ctx, proc.returncode, stderr.decode('utf-8', 'replace')[-2000:]))
    report['wall_ms'] = wall
    report['context'] = ctx
    return report


class Oracle(BackgroundRuns):
    """Runs every context once (two at a time: CI has two cores) and hands
    the reports to the tests."""

    def __init__(self, contexts):
        self.plans = plans()
        self.contexts = [c for c in self.plans if c in contexts]
        self.skipped = dict((c, contexts[c]) for c in self.plans if contexts.get(c) is not True
                            and c in contexts)
        # The slowest first, so that the pool stays busy.
        order = sorted((c for c in self.plans if contexts.get(c) is True),
                       key=lambda c: -len(self.plans[c]['features']) - (50 if c.startswith('podman') else 0))
        super().__init__((c, run_context, (c, self.plans[c])) for c in order)

    def report(self, ctx):
        if ctx in self.skipped:
            return None
        return self.result(ctx)


# ---------------------------------------------------------------- our side


def ours(report, key):
    """(results, facts) of one run_probes.py call in a context report."""
    run = report['probes'][key]
    if not run.get('json'):
        raise AssertionError('run_probes.py %s failed (rc=%s): %s' % (
            ' '.join(run['argv'][2:]), run['rc'], (run.get('stderr') or '')[-1500:]))
    return run['json'].get('results') or {}, run['json'].get('facts') or {}


def describe(res):
    """Our result for one probe, short."""
    if not res:
        return 'no result'
    text = res.get('status', '?')
    if res.get('message'):
        text += ' (%s)' % res['message']
    return text


# ---------------------------------------------------------------- judging

# Shared with conftest.py: the oracle, the leak snapshots, what disagreed.
STATE = {'oracle': None, 'before': None, 'disagreements': [], 'setup_ms': None}


def report_of(oracle, ctx):
    """The report of one context, or a skip when that context is unavailable."""
    reason = oracle.skipped.get(ctx)
    if reason:
        pytest.skip('context %s: %s' % (ctx, reason))
    return oracle.report(ctx)


def judge(case, item, criu_says, we_say, problem):
    """Fail on an unlisted disagreement, and on a listed one that is gone."""
    key = (case, item)
    reason = KNOWN.get(key)
    if problem:
        STATE['disagreements'].append((case, item, criu_says, we_say, problem, reason))
        if reason is None:
            pytest.fail('%s / %s: criu and we disagree: %s\n  criu says: %s\n  we say:    %s\n'
                        '(fix the probe, or list it in KNOWN and docs/differential.md with the reason)'
                        % (case, item, problem, criu_says, we_say), pytrace=False)
    elif reason is not None:
        pytest.fail('%s / %s is listed as a known disagreement (%s) but criu and we agree now: '
                    'remove it from KNOWN and docs/differential.md' % (case, item, reason),
                    pytrace=False)

# ---------------------------------------------------------------- fixtures and summary


def _mounts():
    with open('/proc/self/mountinfo') as f:
        return f.read().splitlines()


def _our_containers():
    """Containers left by these tests (they carry this label)."""
    if not shutil.which('podman'):
        return []
    env = dict(os.environ, CONTAINERS_CONF=os.path.join(
        os.environ.get('CRIU_CHECK_CACHE', '/var/cache/criu-check'), 'containers.conf'))
    proc = subprocess.run(['podman', 'ps', '-a', '--filter', 'label=criu-check-differential=1',
                           '--format', '{{.ID}} {{.Names}} {{.Status}}'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60, check=False)
    return proc.stdout.decode().splitlines()


def _all_containers():
    if not shutil.which('podman'):
        return []
    proc = subprocess.run(['podman', 'ps', '-a', '--format', '{{.ID}} {{.Image}} {{.Names}}'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60, check=False)
    return proc.stdout.decode().splitlines()


def snapshot():
    return {'mounts': _mounts(), 'ours': _our_containers(), 'containers': _all_containers()}


def _make_oracle(request):
    """The one Oracle of the session, or the reason there can be none."""
    if os.geteuid() != 0:
        return 'the differential tests need root (mount namespaces, pivot_root, rootful podman)'
    if not os.path.exists(RUN_PROBES):
        return 'tests/tools/run_probes.py is not there yet: nothing to compare criu with'
    start = time.monotonic()
    try:
        build = subprocess.run([CRIU_ROOT, 'build'], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 'the criu root cannot be built: %s' % exc
    if build.returncode != 0:
        return 'the criu root cannot be built (tests/tools/criu_root.sh build): %s' % (
            build.stderr.decode('utf-8', 'replace').strip()[-600:])
    contexts = dict((ctx, True) for ctx in plans())
    if not shutil.which('podman'):
        for ctx in contexts:
            if ctx.startswith('podman'):
                contexts[ctx] = 'podman is not installed (apt-get install podman runc)'
    STATE['before'] = snapshot()
    STATE['setup_ms'] = round((time.monotonic() - start) * 1000, 1)
    request.config.pluginmanager.register(_Summary(), 'criu-check-differential-summary')
    return Oracle(contexts)


@pytest.fixture(scope='session')
def oracle(request):
    """Every context's report, collected once per session.  Several modules
    import this fixture, so each gets a fixture of its own: they all hand out
    the same Oracle (or the same skip reason)."""
    if STATE['oracle'] is None:
        STATE['oracle'] = _make_oracle(request)
    orc = STATE['oracle']
    if isinstance(orc, str):
        pytest.skip(orc)
    yield orc
    orc.wait_all()


@pytest.fixture(scope='session')
def leak_snapshots(oracle):
    """(before, after): taken before the first context ran and after the last."""
    oracle.wait_all()
    return STATE['before'], snapshot()


class _Summary:
    """Prints what criu said in each context, and every disagreement."""

    def pytest_terminal_summary(self, terminalreporter):
        _summary(terminalreporter)


def _summary(terminalreporter):
    orc = STATE['oracle']
    if not isinstance(orc, Oracle):
        return
    tr = terminalreporter
    tr.section('differential: criu 4.1.1 vs criu.check')
    tr.write_line('set-up (root build check, snapshots): %s ms' % STATE['setup_ms'])
    if orc.finished:
        tr.write_line('all contexts collected in %.1f s (two at a time)' % (orc.finished - orc.started))
    for ctx, rep in sorted(orc.results().items()):
        ident = rep.get('identity', {})
        tr.write_line('%-13s %7.0f ms wall (features %5.0f ms); uid %s CapEff %s; %s' % (
            ctx, rep['wall_ms'], rep.get('features_ms', 0), ident.get('uid'),
            ident.get('status', {}).get('CapEff'), rep.get('criu_version', '')))
        for key, out in sorted(rep['criu'].items()):
            kind, why = criu_outcome(out)
            if kind == 'bad':
                why = (failure_lines(out) or [''])[0]
            tr.write_line('    criu check %-28s -> %s%s' % (
                ' '.join(out['argv'][2:]), kind, (' (%s)' % why) if why else ''))
        feats = rep.get('features') or {}
        if feats:
            ok = sorted(n for n, o in feats.items() if o['rc'] == 0)
            tr.write_line('    --feature: %d of %d supported; not: %s' % (
                len(ok), len(feats), ', '.join(sorted(n for n in feats if n not in ok))))
    for ctx, why in sorted(orc.skipped.items()):
        tr.write_line('%-13s skipped: %s' % (ctx, why))
    rows = STATE['disagreements']
    tr.write_line('disagreements: %d (%d listed as known)' % (len(rows), sum(1 for r in rows if r[5])))
    for case, item, criu_says, we_say, problem, reason in rows:
        tr.write_line('  [%s] %s / %s: %s' % ('known' if reason else 'NEW', case, item, problem))
        tr.write_line('      criu: %s' % criu_says)
        tr.write_line('      ours: %s' % we_say)
