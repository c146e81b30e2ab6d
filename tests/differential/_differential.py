# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real criu as the oracle: what to run in each context, how to read criu's
answers, and the disagreements we keep on purpose.

Used by conftest.py (which runs everything) and by the test modules (which
compare).  See docs/differential.md.
"""

import json
import os
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.criu.check.plugins.module_utils import _registry

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CRIU_ROOT = os.path.join(REPO, 'tests', 'tools', 'criu_root.sh')
RUN_PROBES = os.path.join(REPO, 'tests', 'tools', 'run_probes.py')
INSIDE = '/src/tests/differential/inside_root.py'
RUN_TIMEOUT = 240

# ---------------------------------------------------------------- what criu knows

# Feature names of CRIU 4.2 that Debian 13's criu 4.1.1 does not know.
CRIU_411_LACKS = ('timer_cr_ids', 'breakpoints', 'pagemap_scan_guard_pages')
FEATURE_IDS = dict((p.criu_name, p.id) for p in _registry.PROBES if p.criu_name)
FEATURES = [name for name in FEATURE_IDS if name not in CRIU_411_LACKS]
REQUIRED = _registry.ids(_registry.REQUIRED)

# ---------------------------------------------------------------- the cases

# Issue A (required category: `criu check` vs criu_ready / missing.required).
# name -> (context of criu_root.sh, run criu and our engine with --unprivileged)
A_CASES = {
    'root': ('root', False),
    'nonroot': ('nonroot', True),
    'nonroot-cr': ('nonroot-cr', False),
    'nonroot-cr --unprivileged': ('nonroot-cr', True),
    'userns': ('userns', False),
    'userns --unprivileged': ('userns', True),
    'ro-proc-sys': ('ro-proc-sys', False),
}

# Issue B (every feature, and the verdicts of --extra/--experimental/--all).
B_CASES = {
    'root': ('root', False),
    'no-sys-admin': ('no-sys-admin', True),
    'ro-proc-sys': ('ro-proc-sys', False),
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
# item is 'check' (issue A), 'feature:NAME' or 'verdict:--extra' etc. (issue B).
# Every entry is explained in docs/differential.md; a disagreement missing
# here fails, and so does an entry that no longer disagrees.
KNOWN = {
}

# ---------------------------------------------------------------- reading criu

START_FAILURES = (
    ('CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability',
     'no CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE'),
    ("Running as non-root requires '--unprivileged'", "non-root without --unprivileged"),
    ('Could not initialize kernel features detection.', 'kerndat_init() failed'),
)

_PREFIX = re.compile(r'^(?:Error|Warn ) \((?P<file>[^:()]+):\d+\): ')

# criu's own failure texts of the required checks (spec section 4), to name the
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
    our probes' own messages, then through criu's texts from the spec.
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


def short(out, limit=400):
    """criu's output on one line, for assertion messages and the report."""
    text = ' | '.join(t for _, t in criu_lines(out))
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
    proc = subprocess.run(
        [CRIU_ROOT, 'run', '--context', ctx, '--', 'python3', INSIDE, json.dumps(plan)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        timeout=RUN_TIMEOUT)
    wall = round((time.monotonic() - start) * 1000, 1)
    try:
        report = json.loads(proc.stdout.decode())
    except ValueError:
        raise RuntimeError('context %s: criu_root.sh run exited %s without a report; stderr: %s' % (
            ctx, proc.returncode, proc.stderr.decode('utf-8', 'replace')[-2000:]))
    report['wall_ms'] = wall
    report['context'] = ctx
    return report


class Oracle:
    """Runs every context once (two at a time: CI has two cores) and hands
    the reports to the tests."""

    def __init__(self, contexts):
        self.plans = plans()
        self.contexts = [c for c in self.plans if c in contexts]
        self.skipped = dict((c, contexts[c]) for c in self.plans if contexts.get(c) is not True
                            and c in contexts)
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2)
        # The slowest first, so that the pool stays busy.
        order = sorted((c for c in self.plans if contexts.get(c) is True),
                       key=lambda c: -len(self.plans[c]['features']) - (50 if c == 'podman' else 0))
        self._futures = dict((c, self._pool.submit(run_context, c, self.plans[c])) for c in order)
        self.finished = None

    def report(self, ctx):
        if ctx in self.skipped:
            return None
        return self._futures[ctx].result()

    def wait_all(self):
        for fut in self._futures.values():
            try:
                fut.result()
            except Exception:  # reported by the tests of that context
                pass
        with self._lock:
            if self.finished is None:
                self.finished = time.monotonic()
        self._pool.shutdown(wait=True)

    def reports(self):
        out = {}
        for ctx, fut in self._futures.items():
            if fut.done() and fut.exception() is None:
                out[ctx] = fut.result()
        return out


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
