# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_check as a task against ``criu check`` itself (criu 4.1.1 in the
Debian 13 root), invocation by invocation: no options, --extra,
--experimental, --all, --feature NAME (with --all, which criu ignores),
--unprivileged, in contexts where criu looks good, complains, or cannot
start at all.  Both run in the same context, one after the other
(tests/integration/check_inside.py); the module must give criu's exit code
(criu_rc), fail exactly when criu exits non-zero (fail_on's default), change
nothing, and say what criu says last.

The engine's probes are compared with criu feature by feature in
tests/differential; this is the module's own contract on top of them.
"""

import json
import subprocess

import pytest

import conftest

INSIDE = '/src/tests/integration/check_inside.py'
SECCOMP_DENY = '/src/tests/tools/seccomp_deny.py'

pytestmark = conftest.requires_root

LOOKS_GOOD = 'Looks good.'
DOES_NOT_LOOK_GOOD = 'Does not look good.'
LOOKS_GOOD_BUT = ('Looks good but some kernel features are missing\n'
                  'which, depending on your process tree, may cause\n'
                  'dump or restore failure.')
# What criu prints when it stops before any check (criu/crtools.c check_caps(), kerndat_init()).
CANNOT_START = ('CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability',
                "Running as non-root requires '--unprivileged'",
                'Could not initialize kernel features detection.')

# name -> (context of criu_root.sh, (system call, errno) a seccomp filter denies or None, criu's arguments)
SCENARIOS = {
    'root': ('root', None, [[], ['--extra'], ['--experimental'], ['--all'], ['--feature', 'userns'],
                            ['--feature', 'mem_dirty_track'], ['--feature', 'apparmor_stacking'],
                            ['--feature', 'userns', '--all'], ['--feature', 'tun'], ['--unprivileged']]),
    'nonroot-cr': ('nonroot-cr', None, [[], ['--unprivileged'], ['--feature', 'userns'],
                                        ['--feature', 'userns', '--unprivileged'], ['--all', '--unprivileged']]),
    'userns': ('userns', None, [[], ['--unprivileged'], ['--feature', 'userns', '--unprivileged']]),
    # criu's start-up (kerndat_has_memfd_create()) aborts on EPERM for every command, though only an extra
    # probe (memfd_hugetlb) makes that call: the module must see it whatever it was asked to run.
    'memfd_create-denied': ('root', ('memfd_create', 'EPERM'), [[], ['--feature', 'userns'], ['--extra']]),
}
CASES = [(name, ' '.join(args) or '(none)') for name, (dummy, dummy, cases) in SCENARIOS.items() for args in cases]


def module_args(criu_args):
    """criu_check's arguments for ``criu check CRIU_ARGS``."""
    args, rest = {}, list(criu_args)
    while rest:
        arg = rest.pop(0)
        if arg == '--feature':
            args.setdefault('feature', []).append(rest.pop(0))
        else:
            args[arg[2:]] = True
    return args


@pytest.fixture(scope='module')
def runs():
    conftest.criu_root_or_skip()
    done = {}

    def run(name):
        if name not in done:
            context, deny, cases = SCENARIOS[name]
            wrap = ['python3', SECCOMP_DENY, '--deny', deny[0], '--errno', deny[1], '--'] if deny else []
            argv = [conftest.CRIU_ROOT, 'run', '--context', context, '--'] + wrap + [
                'python3', INSIDE, '/src', json.dumps([[args, module_args(args)] for args in cases])]
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=600, check=False)
            assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
            done[name] = dict((' '.join(args) or '(none)', each)
                              for args, each in zip(cases, json.loads(proc.stdout.decode())))
        return done[name]
    return run


def problems(criu_args, criu, result):
    """What the module's result says that ``criu check CRIU_ARGS`` contradicts."""
    if 'criu_rc' not in result:
        return ['no result: %r' % (result,)]
    rc, out = criu['rc'], criu['stdout'].strip()
    said = out + '\n' + criu['stderr']
    wrong = []
    if result['criu_rc'] != (0 if rc == 0 else 1):
        wrong.append('criu exits %d, criu_rc is %r' % (rc, result['criu_rc']))
    if bool(result.get('failed')) != (rc != 0):
        wrong.append('criu exits %d, the task failed: %r' % (rc, result.get('failed')))
    if result.get('failed') and result.get('msg') != result['summary']:
        wrong.append('msg %r is not the summary %r' % (result.get('msg'), result['summary']))
    if result.get('changed') is not False:
        wrong.append('changed is %r' % (result.get('changed'),))
    if any(line in said for line in CANNOT_START):
        if result['verdict'] != 'bad' or result['environment']['criu_can_start'] is not False:
            wrong.append('criu cannot start, verdict %r, criu_can_start %r'
                         % (result['verdict'], result['environment']['criu_can_start']))
    elif '--feature' in criu_args:
        name = criu_args[criu_args.index('--feature') + 1]
        if rc == 0 and result['summary'] != out:
            wrong.append('criu says %r, the summary %r' % (out, result['summary']))
        if rc != 0 and not result['summary'].startswith(name + ': '):
            wrong.append('criu says %s is not supported, the summary %r' % (name, result['summary']))
    else:
        expected = DOES_NOT_LOOK_GOOD if DOES_NOT_LOOK_GOOD in said else out
        if expected not in (LOOKS_GOOD, DOES_NOT_LOOK_GOOD, LOOKS_GOOD_BUT):
            wrong.append('criu ends with %r, which no verdict says' % (out,))
        if result['summary'] != expected:
            wrong.append('criu ends with %r, the summary is %r' % (expected, result['summary']))
    return wrong


@pytest.mark.parametrize('scenario,case', CASES)
def test_the_task_answers_as_criu_check(runs, scenario, case):
    each = runs(scenario)[case]
    criu_args = [] if case == '(none)' else case.split()
    assert problems(criu_args, each['criu'], each['module']) == [], (each['criu'], {
        k: each['module'].get(k) for k in ('failed', 'msg', 'verdict', 'summary', 'criu_rc', 'missing', 'unknown')})
