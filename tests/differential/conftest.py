# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Set-up of the differential tests: real criu 4.1.1 (Debian 13) against our
engine, in the same root and the same restricted context.

Everything is collected once per session: each context of
tests/tools/criu_root.sh is entered once and runs all of its criu calls and
engine runs in one go (tests/differential/inside_root.py); two contexts run at
a time.  The tests only compare.  See docs/differential.md.
"""

import os
import shutil
import subprocess
import time

import pytest

import _differential as D

_STATE = {'oracle': None, 'before': None, 'disagreements': [], 'setup_ms': None}


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
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=60)
    return proc.stdout.decode().splitlines()


def _all_containers():
    if not shutil.which('podman'):
        return []
    proc = subprocess.run(['podman', 'ps', '-a', '--format', '{{.ID}} {{.Image}} {{.Names}}'],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return proc.stdout.decode().splitlines()


def snapshot():
    return {'mounts': _mounts(), 'ours': _our_containers(), 'containers': _all_containers()}


@pytest.fixture(scope='session')
def oracle():
    if os.geteuid() != 0:
        pytest.skip('the differential tests need root (mount namespaces, pivot_root, rootful podman)')
    if not os.path.exists(D.RUN_PROBES):
        pytest.skip('tests/tools/run_probes.py is not there yet: nothing to compare criu with')
    start = time.monotonic()
    try:
        build = subprocess.run([D.CRIU_ROOT, 'build'], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip('the criu root cannot be built: %s' % exc)
    if build.returncode != 0:
        pytest.skip('the criu root cannot be built (tests/tools/criu_root.sh build): %s'
                    % build.stderr.decode('utf-8', 'replace').strip()[-600:])
    contexts = dict((ctx, True) for ctx in D.plans())
    if not shutil.which('podman'):
        contexts['podman'] = 'podman is not installed (apt-get install podman runc)'
    _STATE['before'] = snapshot()
    _STATE['setup_ms'] = round((time.monotonic() - start) * 1000, 1)
    orc = D.Oracle(contexts)
    _STATE['oracle'] = orc
    yield orc
    orc.wait_all()


@pytest.fixture(scope='session')
def leak_snapshots(oracle):
    """(before, after): taken before the first context ran and after the last."""
    oracle.wait_all()
    return _STATE['before'], snapshot()


def report_of(oracle, ctx):
    """The report of one context, or a skip when that context is unavailable."""
    reason = oracle.skipped.get(ctx)
    if reason:
        pytest.skip('context %s: %s' % (ctx, reason))
    return oracle.report(ctx)


def judge(case, item, criu_says, we_say, problem):
    """Fail on an unlisted disagreement, and on a listed one that is gone."""
    key = (case, item)
    reason = D.KNOWN.get(key)
    if problem:
        _STATE['disagreements'].append((case, item, criu_says, we_say, problem, reason))
        if reason is None:
            pytest.fail('%s / %s: criu and we disagree: %s\n  criu says: %s\n  we say:    %s\n'
                        '(fix the probe, or list it in KNOWN and docs/differential.md with the reason)'
                        % (case, item, problem, criu_says, we_say), pytrace=False)
    elif reason is not None:
        pytest.fail('%s / %s is listed as a known disagreement (%s) but criu and we agree now: '
                    'remove it from KNOWN and docs/differential.md' % (case, item, reason),
                    pytrace=False)


def pytest_terminal_summary(terminalreporter):
    orc = _STATE['oracle']
    if orc is None:
        return
    tr = terminalreporter
    tr.section('differential: criu 4.1.1 vs criu.check')
    tr.write_line('set-up (root build check, snapshots): %s ms' % _STATE['setup_ms'])
    if orc.finished:
        tr.write_line('all contexts collected in %.1f s (two at a time)' % (orc.finished - orc.started))
    for ctx, rep in sorted(orc.reports().items()):
        ident = rep.get('identity', {})
        tr.write_line('%-13s %7.0f ms wall (features %5.0f ms); uid %s CapEff %s; %s' % (
            ctx, rep['wall_ms'], rep.get('features_ms', 0), ident.get('uid'),
            ident.get('status', {}).get('CapEff'), rep.get('criu_version', '')))
        for key, out in sorted(rep['criu'].items()):
            kind, why = D.criu_outcome(out)
            tr.write_line('    criu check %-28s -> %s%s' % (
                ' '.join(out['argv'][2:]), kind, (' (%s)' % why) if why else ''))
        feats = rep.get('features') or {}
        if feats:
            ok = sorted(n for n, o in feats.items() if o['rc'] == 0)
            tr.write_line('    --feature: %d of %d supported; not: %s' % (
                len(ok), len(feats), ', '.join(sorted(n for n in feats if n not in ok))))
    for ctx, why in sorted(orc.skipped.items()):
        tr.write_line('%-13s skipped: %s' % (ctx, why))
    rows = _STATE['disagreements']
    tr.write_line('disagreements: %d (%d listed as known)' % (len(rows), sum(1 for r in rows if r[5])))
    for case, item, criu_says, we_say, problem, reason in rows:
        tr.write_line('  [%s] %s / %s: %s' % ('known' if reason else 'NEW', case, item, problem))
        tr.write_line('      criu: %s' % criu_says)
        tr.write_line('      ours: %s' % we_say)
