# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu 4.2.1 against criu.check on Debian's arm64 kernel, in
qemu-system-aarch64 (TCG; tests/tools/vm_arm64.py): the required verdict,
the verdicts of --extra, --experimental and --all, and every --feature name,
as root, with the comparisons of tests/differential.  The aarch64 machine
code of the special_mapping_mremap probe and the arm64 hardware-breakpoint
path of the breakpoints probe run there for real.

Slow (the image is built by emulated dpkg, the guest runs under TCG): these
tests carry the ``arm64`` marker and run only when asked for, with
``-m arm64`` or CRIU_CHECK_ARM64=1 (tests/conftest.py skips them otherwise):

    scripts/test tests/vm/test_vm_arm64.py -m arm64
"""

import io
import json
import os
import tarfile
import time

import pytest

import _vm as V
import vm_arm64
from process_list import processes

import _differential as D
from test_differential_features import compare_feature, compare_unnamed_extra
from test_differential_required import compare_required

pytestmark = pytest.mark.arm64

CTX, VERSION, STEP = 'root', '4.2.1', 'base'
KEY = V.run_key(STEP, CTX, VERSION)
CASE = 'arm64/' + KEY
# TCG emulating aarch64 on a shared two-core x86_64 host.
VM_TIMEOUT = 2400

# "ITEM" -> why criu and we deliberately differ on arm64 (every entry is
# explained in docs/differential.md, section arm64).  An unlisted
# disagreement fails; so does an entry that agrees now.
KNOWN = {}

STATE = {'result': None, 'build_s': None, 'directory': None, 'disagreements': []}


def _module_utils_tar():
    """ansible's module_utils, as AnsiballZ ships them with every module to
    a managed node (the engine's _context.which() uses
    ansible.module_utils.common.process): the arm64 root has no ansible-core
    (every package of it would be compiled by emulated dpkg at build time)."""
    import ansible.module_utils
    src = os.path.dirname(ansible.module_utils.__file__)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w', format=tarfile.GNU_FORMAT) as tar:
        info = tarfile.TarInfo('ansible/__init__.py')
        tar.addfile(info, io.BytesIO(b''))
        tar.add(src, 'ansible/module_utils', filter=lambda t: None if '__pycache__' in t.name else t)
    return buf.getvalue()


def _boot():
    """Build (or find) the image, boot it once, run inside_vm.py's plan."""
    if os.geteuid() != 0:
        return 'the arm64 VM test needs root (mmdebstrap, binfmt_misc, mkfs.ext4 -d)'
    missing = vm_arm64.qemu_missing()
    if missing:
        return missing
    STATE['binfmt_before'] = os.path.exists('/proc/sys/fs/binfmt_misc/qemu-aarch64')
    start = time.monotonic()
    try:
        directory = vm_arm64.build()
    except Exception as exc:  # a build that cannot happen is a failure of every test
        return exc
    STATE['build_s'] = round(time.monotonic() - start, 1)
    STATE['directory'] = directory
    plan = {'steps': [{'name': STEP, 'setup': '', 'teardown': '',
                       'runs': [{'key': KEY, 'context': CTX, 'criu': VERSION,
                                 'plan': V.run_plan(CTX, VERSION, STEP)}]}]}
    res = vm_arm64.run('echo "machine: $(uname -m)" >&2; tar -x -C /usr/lib/python3/dist-packages -f /job/ansible.tar && '
                       'exec python3 /src/tests/vm/inside_vm.py /job/plan.json',
                       timeout=VM_TIMEOUT, files={'plan.json': json.dumps(plan), 'ansible.tar': _module_utils_tar()},
                       directory=directory)
    V.save_result('arm64', V.with_report(res))
    return res


@pytest.fixture(scope='module')
def arm64(request):
    if STATE['result'] is None:
        replay = os.environ.get('CRIU_CHECK_VM_REPLAY')
        if replay and os.path.exists(os.path.join(replay, 'arm64.json')):
            with open(os.path.join(replay, 'arm64.json')) as f:
                STATE['result'] = json.load(f)
        else:
            STATE['result'] = _boot()
        request.config.pluginmanager.register(_Summary(), 'criu-check-vm-arm64-summary')
    r = STATE['result']
    if isinstance(r, str):
        pytest.skip(r)
    if isinstance(r, Exception):
        pytest.fail('the arm64 VM image cannot be built: %s' % r, pytrace=False)
    return r


def _run(res):
    rep = res.get('report')
    if rep is None:
        pytest.fail('the arm64 VM gave no report (%s; rc=%s): %s\nconsole: %s' % (
            res.get('error'), res.get('rc'), res.get('stderr', '')[-2000:], res.get('console', '')[-2000:]),
            pytrace=False)
    run = rep['steps'].get(STEP, {}).get('runs', {}).get(KEY)
    if run is None or run.get('error'):
        pytest.fail('arm64 VM: %s' % (run or {}).get('error', 'the run did not happen'), pytrace=False)
    return run


class _Runner:
    """V.ours() reads the report through runner.boot(BOOT)."""

    def __init__(self, res):
        self.res = res

    def boot(self, boot):
        return self.res


def _ours(res, key):
    return V.ours(_Runner(res), CASE, key)


def judge(item, criu_says, we_say, problem):
    reason = KNOWN.get(item)
    if problem:
        STATE['disagreements'].append((item, criu_says, we_say, problem, reason))
        if reason is None:
            pytest.fail('arm64 / %s: criu and we disagree: %s\n  criu says: %s\n  we say:    %s\n'
                        '(fix the probe, or list it in KNOWN of tests/vm/test_vm_arm64.py and docs/differential.md)'
                        % (item, problem, criu_says, we_say), pytrace=False)
    elif reason is not None:
        pytest.fail('arm64 / %s is listed as a known disagreement (%s) but criu and we agree now' % (item, reason),
                    pytrace=False)


def test_is_aarch64(arm64):
    """The guest really is arm64, and the criu there is 4.2.1."""
    run = _run(arm64)
    assert 'machine: aarch64' in arm64.get('stderr', ''), arm64.get('stderr', '')[-500:]
    assert run['criu_version'].startswith('Version: 4.2'), run['criu_version']
    assert run['identity']['uid'] == 0


def test_required(arm64):
    """`criu check` against ready / missing.required / environment.criu_can_start."""
    run = _run(arm64)
    criu = run['criu']['A']
    results, facts = _ours(arm64, 'A')
    kind, why = D.criu_outcome(criu)
    problem = compare_required(kind, why, criu, results, facts)
    env = facts.get('environment') or {}
    judge('check', '%s: %s' % (kind, D.short(criu)),
          'ready=%r verdict=%r missing.required=%r criu_can_start=%r' % (
              facts.get('ready'), facts.get('verdict'), (facts.get('missing') or {}).get('required'),
              env.get('criu_can_start')), problem)


@pytest.mark.parametrize('mode', list(D.MODES))
def test_verdict(arm64, mode):
    """The verdicts of --extra, --experimental and --all."""
    run = _run(arm64)
    criu = run['criu']['B:' + mode]
    results, facts = _ours(arm64, 'B:' + mode)
    kind, problem = D.compare_verdict(criu, facts)
    judge('verdict:' + mode, '%s: %s' % (kind, D.short(criu, 600)),
          'verdict=%r missing=%r unknown=%r' % (
              facts.get('verdict'), dict((k, v) for k, v in (facts.get('missing') or {}).items() if v),
              facts.get('unknown')), problem)


@pytest.mark.parametrize('feature', V.ALL_FEATURES)
def test_feature(arm64, feature):
    """`criu check --feature NAME` exits 0 exactly when ours is supported."""
    run = _run(arm64)
    criu = run['features'][feature]
    results, facts = _ours(arm64, 'all')
    res = results.get(D.FEATURE_IDS[feature])
    problem = compare_feature(criu, res, facts)
    judge('feature:' + feature, 'exit %s: %s' % (criu['rc'], D.short(criu)), D.describe(res), problem)


@pytest.mark.parametrize('probe_id', D.UNNAMED_EXTRA)
def test_unnamed_extra(arm64, probe_id):
    """The extra checks without a --feature name, read from criu's --extra output."""
    run = _run(arm64)
    criu = run['criu']['B:--extra']
    kind, why = D.criu_outcome(criu)
    if kind not in ('good', 'good_but'):
        pytest.skip('criu --extra stops before the extra checks here (%s)' % kind)
    results, facts = _ours(arm64, 'B:--extra')
    res = results.get(probe_id)
    criu_says, problem = compare_unnamed_extra(criu, probe_id, res)
    judge('extra:' + probe_id, criu_says, D.describe(res), problem)


def test_special_mapping_mremap_ran_aarch64_code(arm64):
    """The required probe with aarch64 machine code of its own (it mremaps
    the vDSO and vvar and makes its system calls itself): it ran that code,
    and the child exited 0."""
    results, facts = _ours(arm64, 'all')
    res = results.get('special_mapping_mremap') or {}
    ev = res.get('evidence') or {}
    assert res.get('status') in ('supported', 'unsupported'), res
    assert ev.get('method') == 'machine code' and '[vdso]' in (ev.get('mappings') or {}), res


def test_breakpoints_ran_arm64_path(arm64):
    """The breakpoints probe went through NT_ARM_HW_BREAK (the debug
    architecture and breakpoint count come from GETREGSET) and decided."""
    results, facts = _ours(arm64, 'all')
    res = results.get(D.FEATURE_IDS['breakpoints']) or {}
    ev = res.get('evidence') or {}
    assert res.get('status') in ('supported', 'unsupported'), res
    assert ev.get('arch') == 'aarch64' and 'debug_arch' in ev, res


def test_nothing_left(arm64):
    """After the boot: no qemu-system-aarch64 of ours, no temporary file in
    the cache, no mount of it, no binfmt_misc registration of the build."""
    left = processes(lambda cmd: cmd.startswith(vm_arm64.QEMU) and vm_arm64.CACHE in cmd)
    assert left == []
    # The guest's work directories (vm.run_job) are in vm.TMP, beside the early boots' directory.
    tmp = V.vm.TMP
    assert [e for e in (os.listdir(tmp) if os.path.isdir(tmp) else []) if e.startswith('run.')] == []
    with open('/proc/self/mountinfo') as f:
        assert [m for m in f.read().splitlines() if vm_arm64.CACHE in m] == []
    if STATE.get('binfmt_before') is False:
        assert not os.path.exists('/proc/sys/fs/binfmt_misc/qemu-aarch64')


# ---------------------------------------------------------------- the summary

class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        summary(terminalreporter.write_line, terminalreporter.section)


def summary(write, section=None):
    res = STATE['result']
    if not isinstance(res, dict):
        return
    if section:
        section('vm arm64: Debian arm64 kernel (qemu-system-aarch64, TCG), criu 4.2.1 vs criu.check')
    write('image %s (build/check %s s; %s)' % (STATE.get('directory'), STATE.get('build_s'),
                                               vm_arm64.manifest(STATE['directory']).get('criu', '?').strip()
                                               if STATE.get('directory') else 'replayed'))
    write('VM arm64 kernel %s: userspace after %s s, job %s s, wall %s s%s' % (
        res.get('kernel'), res.get('boot_s'), res.get('run_s'), res.get('wall_s'),
        ('; ' + res['error']) if res.get('error') else ''))
    rep = res.get('report') or {}
    run = ((rep.get('steps') or {}).get(STEP) or {}).get('runs', {}).get(KEY)
    if run and not run.get('error'):
        feats = run.get('features') or {}
        ok = sorted(n for n, o in feats.items() if o['rc'] == 0)
        write('    %s %.1f s: check: %s; --all: %s; --feature %d of %d supported (not: %s)' % (
            KEY, run['wall_ms'] / 1000.0, V._verdict(run, 'A'), V._verdict(run, 'B:--all'), len(ok), len(feats),
            ', '.join(sorted(n for n in feats if n not in ok))))
    rows = STATE['disagreements']
    write('disagreements: %d (%d listed as known)' % (len(rows), sum(1 for x in rows if x[4])))
    for item, criu_says, we_say, problem, reason in rows:
        write('  [%s] arm64 / %s: %s' % ('known' if reason else 'NEW', item, problem))
        write('      criu: %s' % criu_says[:300])
        write('      ours: %s' % we_say[:300])
