# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The differential tests on Debian's real kernels, in QEMU (tests/tools/vm.py).

One boot per kernel (and per boot-parameter variant) runs every step of that
boot (the variants a sysctl or a module block makes, set and undone inside
the same VM), every context and both criu versions, through
tests/vm/inside_vm.py, which runs tests/differential/inside_root.py once per
(step, context, criu version).  The tests then only compare, with the
comparisons of tests/differential.  See docs/differential.md.

No conftest.py here either (see tests/differential/_differential.py): the
test modules import the fixtures from this module.
"""

import contextlib
import fnmatch
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
for _p in (os.path.join(REPO, 'tests', 'differential'), os.path.join(REPO, 'tests', 'tools')):
    if _p not in sys.path:
        sys.path.insert(0, _p)

import _differential as D  # noqa: E402  (criu's texts, the feature list, how to read criu)
import vm  # noqa: E402
from background_runs import BackgroundRuns  # noqa: E402
from process_list import until  # noqa: E402

# ---------------------------------------------------------------- what runs where

SUITES = ('bullseye', 'bookworm', 'trixie', 'sid')
# The kernel each suite's linux-image-amd64 installs (major.minor).
SUITE_KERNEL = {'bullseye': '5.10', 'bookworm': '6.1', 'trixie': '6.12', 'sid': '7.2'}
VERSIONS = ('4.2.1', '4.1.1')
OUR_RUN_BESIDE = '4.2.1'
DUMP_SOCKETS = '/src/tests/tools/dump_sockets.py'
# Seconds per probe: TCG runs 20 to 50 times slower than the hardware the
# default (5 s) is made for.
PROBE_TIMEOUT = 120
ALL_FEATURES = list(D.FEATURE_IDS)                       # the 45 names of criu 4.2
FEATURES_411 = list(D.FEATURES)                          # the 42 criu 4.1.1 knows
LACKS_IDS = [D.FEATURE_IDS[n] for n in D.CRIU_411_LACKS]  # our probes of the other three
# context -> criu and our engine run with --unprivileged
CONTEXTS = {'root': False, 'ro-proc-sys': False, 'nonroot-cr': True, 'userns': True}

SOCK_DIAG_MODULES = ('unix_diag', 'inet_diag', 'tcp_diag', 'udp_diag', 'raw_diag', 'af_packet_diag', 'netlink_diag')
# The modules each blocking step makes unloadable.  Cumulative, because a step
# loads what it does not block (the probes and criu use tun and nf_tables):
# first all, then tun and nf_tables (so that `criu check` passes and --extra
# reaches tun_cr), then nf_tables alone.
BLOCKS = {'block-sockdiag+tun+nft': SOCK_DIAG_MODULES + ('tun', 'nf_tables'),
          'block-tun+nft': ('tun', 'nf_tables'), 'block-nft': ('nf_tables',)}


def _block(name, modules):
    """Setup/teardown that make ``modules`` unloadable (an install rule
    running /bin/false, as a distribution's blacklist with install rules
    does) and check that none is loaded or built in."""
    conf = '/etc/modprobe.d/criu-vm-%s.conf' % name
    lines = ''.join('install %s /bin/false\n' % m for m in modules)
    setup = ("printf '%s' > %s; for m in %s; do grep -q \"^$m \" /proc/modules && echo \"loaded: $m\"; "
             "grep -q \"/$m.ko\" /lib/modules/$(uname -r)/modules.builtin && echo \"builtin: $m\"; done; true"
             % (lines, conf, ' '.join(modules)))
    return setup, 'rm -f %s' % conf


def _securityfs():
    """Setup/teardown that mount securityfs, as systemd does on every host
    (the VMs' init does not): criu and our probe see AppArmor only through
    /sys/kernel/security/apparmor (criu/kerndat.c kerndat_lsm())."""
    return ('mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security; '
            'echo "lsm: $(cat /sys/kernel/security/lsm)"; '
            'test -d /sys/kernel/security/apparmor && echo "apparmor: stack $(cat '
            '/sys/kernel/security/apparmor/features/domain/stack 2>&1), domain version $(cat '
            '/sys/kernel/security/apparmor/features/domain/version 2>&1)" || echo "apparmor: absent"; true',
            'umount /sys/kernel/security')


def _sysctl(path, value):
    """Setup/teardown for one sysctl: the old value is kept in /run."""
    keep = '/run/criu-vm-%s' % path.replace('/', '.')
    return ('cat /proc/sys/{p} > {k} && echo {v} > /proc/sys/{p} && echo "{p} = $(cat /proc/sys/{p})"'.format(
        p=path, k=keep, v=value),
        'cat {k} > /proc/sys/{p} 2>/dev/null; true'.format(p=path, k=keep))


# The variants of the main boot of each kernel, in the order they run: the
# module blocks come before anything could load those modules; Yama 3 comes
# last (it cannot be undone: security/yama/yama_lsm.c
# yama_dointvec_minmax() refuses to lower it).
# name -> (setup, teardown, [(context, criu version)])
ROOT, NONROOT = ('root', '4.2.1'), ('nonroot-cr', '4.2.1')
VARIANTS = {
    'block-sockdiag+tun+nft': _block('all', BLOCKS['block-sockdiag+tun+nft']) + ([ROOT],),
    'block-tun+nft': _block('tun', BLOCKS['block-tun+nft']) + ([ROOT],),
    'block-nft': _block('nft', BLOCKS['block-nft']) + ([ROOT],),
    'base': ('', '', [(ctx, ver) for ver in VERSIONS for ctx in CONTEXTS]),
    'securityfs': _securityfs() + ([ROOT, NONROOT],),
    'yama-1': _sysctl('kernel/yama/ptrace_scope', 1) + ([ROOT, NONROOT],),
    'yama-2': _sysctl('kernel/yama/ptrace_scope', 2) + ([ROOT, NONROOT],),
    'uffd-0': _sysctl('vm/unprivileged_userfaultfd', 0) + ([NONROOT],),
    'userns-0': _sysctl('user/max_user_namespaces', 0) + ([ROOT, NONROOT],),
    'yama-3': _sysctl('kernel/yama/ptrace_scope', 3) + ([ROOT, NONROOT],),
}
ORDER = list(VARIANTS)

# Which kernel runs which variant.  Every variant on every kernel takes about
# twice the time budget of this stage on two cores (TCG), so by default the
# kernel-independent sysctl variants are spread over the kernels (uffd-0 on
# 5.10, whose default is 1; it is 0 from 5.11 on, mm/userfaultfd.c), and
# CRIU_CHECK_VM_VARIANTS=all runs them all everywhere.
SPREAD = {
    'bullseye': ('block-sockdiag+tun+nft', 'block-tun+nft', 'block-nft', 'base', 'securityfs', 'uffd-0', 'userns-0'),
    'bookworm': ('block-sockdiag+tun+nft', 'block-tun+nft', 'block-nft', 'base', 'yama-1', 'yama-2', 'yama-3'),
    'trixie': ('block-sockdiag+tun+nft', 'block-tun+nft', 'block-nft', 'base', 'securityfs', 'userns-0', 'uffd-0'),
    'sid': ('block-sockdiag+tun+nft', 'block-tun+nft', 'block-nft', 'base', 'yama-1', 'yama-2', 'yama-3'),
}


def _steps(suite):
    wanted = ORDER if os.environ.get('CRIU_CHECK_VM_VARIANTS') == 'all' else SPREAD[suite]
    return [(name,) + VARIANTS[name] for name in ORDER if name in wanted]


# ---------------------------------------------------------------- system calls taken away
#
# tests/differential/test_seccomp.py's cases - one system call made to fail
# with ENOSYS, then EPERM, by a seccomp filter on criu and on our engine
# alike - in a boot of their own on the newest kernel, against criu 4.2.1
# (the host runs them against criu 4.1.1 on its own kernel).  The filter goes
# before criu and run_probes.py (inside_root.py's ``wrap``), so that the
# report comes back even when no program can start under it.  Each case runs
# `criu check`, the --feature names of the call, and our required and
# optional probes with the call's (test_vm_seccomp.py).
SECCOMP_BOOT = 'sid-seccomp'
SECCOMP_SUITE = 'sid'
SECCOMP_DENY = '/src/tests/tools/seccomp_deny.py'
SECCOMP_CONTROL = 'seccomp-control'
# The feature names criu 4.2 added that depend on one of the calls (criu/kerndat.c
# kerndat_has_timer_cr_ids(): prctl; kerndat_breakpoints(): ptrace).
SECCOMP_ADDED_IN_42 = {'prctl': ['timer_cr_ids'], 'ptrace': ['breakpoints']}
# A call only criu 4.2's start-up makes: kerndat_has_madv_guard() takes any
# error of madvise(MADV_GUARD_INSTALL) but EINVAL as fatal, which
# plugins/module_utils/_kerndat.py mirrors.  Not on the host: its criu 4.1.1
# has no such step and starts.
SECCOMP_CALLS_42 = {'madvise': []}
# Every call fails with ENOSYS (a kernel without it); EPERM too (a container's
# seccomp profile) for the calls where criu tells the two apart:
# criu/cr-check.c check_kcmp() fails on ENOSYS only; criu/kerndat.c
# kerndat_uffd() reads EPERM as "no uffd"; kerndat_has_memfd_create(),
# kerndat_has_openat2(), kerndat_has_move_mount_set_group() and
# kerndat_has_close_range() read ENOSYS as "absent" and any other error as
# present or as fatal.  About 7.5 s a case under TCG: every call with both
# errnos (CRIU_CHECK_VM_VARIANTS=all) is 8.5 minutes of one core, the
# default about 5.  The host runs both errnos for every call.
SECCOMP_BOTH_ERRNOS = ('kcmp', 'userfaultfd', 'memfd_create', 'openat2', 'move_mount', 'close_range')


def seccomp_calls():
    """{system call: the criu 4.2.1 feature names that depend on it}."""
    import test_seccomp as S   # tests/differential: the calls and what depends on them
    calls = dict((call, names + SECCOMP_ADDED_IN_42.get(call, [])) for call, names in S.SYSCALLS.items())
    calls.update(SECCOMP_CALLS_42)
    return calls


def seccomp_cases():
    """{step name: (system call, errno name)}; the control denies nothing."""
    import test_seccomp as S
    every = os.environ.get('CRIU_CHECK_VM_VARIANTS') == 'all'
    out = {SECCOMP_CONTROL: ('', 'ENOSYS')}
    for call in seccomp_calls():
        for err in S.ERRNOS:
            if err == 'ENOSYS' or every or call in SECCOMP_BOTH_ERRNOS:
                out['seccomp-%s-%s' % (call, err)] = (call, err)
    return out


def seccomp_features(step):
    """The --feature names a seccomp step compares: the call's, every one for the control."""
    call = seccomp_cases()[step][0]
    return seccomp_calls()[call] if call else list(ALL_FEATURES)


def _seccomp_plan(step):
    call, err = seccomp_cases()[step]
    features = seccomp_features(step)
    probes = ['--timeout', str(PROBE_TIMEOUT), '--no-installed-criu']
    if call:
        from ansible_collections.criu.check.plugins.module_utils import _check
        wanted = [p.id for p in _check.like_criu_check()] + [D.FEATURE_IDS[f] for f in features]
        probes += ['--feature=%s' % i for i in wanted]
    return {'criu': {'A': []}, 'features': features, 'probes': {'all': probes},
            'wrap': ['python3', SECCOMP_DENY, '--deny', call, '--errno', err, '--']}


# Boots: name -> (suite, extra kernel arguments, steps)
def boots():
    out = {}
    for suite in SUITES:
        out[suite] = (suite, '', _steps(suite))
    out[SECCOMP_BOOT] = (SECCOMP_SUITE, '', [(step, '', '', [ROOT]) for step in seccomp_cases()])
    # ia32_emulation= exists from 6.7 on (arch/x86/entry/common.c,
    # ia32_emulation_override_cmdline()): trixie's 6.12 and sid's 7.2.
    ia32 = ('trixie', 'sid') if os.environ.get('CRIU_CHECK_VM_VARIANTS') == 'all' else ('sid',)
    for suite in ia32:
        out[suite + '+ia32_emulation=0'] = (suite, 'ia32_emulation=0', [('base', '', '', [ROOT])])
    # AppArmor off in the kernel (Debian builds it in and enables it), securityfs mounted.
    out['sid+apparmor=0'] = ('sid', 'apparmor=0', [('securityfs',) + VARIANTS['securityfs'][:2] + ([ROOT],)])
    # CRIU_CHECK_VM_ONLY=BOOT[/STEP],...: only those (to work on one variant).
    only = [item.split('/', 1) for item in os.environ.get('CRIU_CHECK_VM_ONLY', '').split(',') if item]
    if only:
        out = dict((boot, (suite, append, [st for st in steps if any(o[0] == boot and (len(o) == 1 or o[1] == st[0])
                                                                     for o in only)]))
                   for boot, (suite, append, steps) in out.items() if any(o[0] == boot for o in only))
    return out


def run_plan(ctx, version, step):
    """inside_root.py's plan for one (context, criu version)."""
    if step in seccomp_cases():
        return _seccomp_plan(step)
    unpriv = ['--unprivileged'] if CONTEXTS[ctx] else []
    criu = {'A': unpriv}
    for mode, (criu_args, dummy) in D.MODES.items():
        criu['B:' + mode] = unpriv + criu_args
    # Our engine runs once per (step, context), beside criu 4.2.1: criu's
    # version changes nothing on our side, and the selections of `criu check`,
    # --extra, --experimental and --all are cut from that one run (ours()).
    probes = {'all': unpriv + ['--timeout', str(PROBE_TIMEOUT)]} if version == OUR_RUN_BESIDE else {}
    features = list(ALL_FEATURES if version == '4.2.1' else FEATURES_411)
    scripts = {}
    if ctx == 'root' and step == 'base':
        if version == '4.1.1':
            features += list(D.CRIU_411_LACKS)
        # A real dump of a process with network sockets beside what we predict of this criu on this kernel
        # (tests/vm/test_vm_cannot_dump.py).
        scripts['dump_sockets'] = [DUMP_SOCKETS]
    return {'criu': criu, 'probes': probes, 'features': features, 'feature_args': unpriv, 'scripts': scripts}


def run_key(step, ctx, version):
    return '%s/%s/%s' % (step, ctx, version)


def guest_plan(boot):
    suite, append, steps = boots()[boot]
    out = []
    for name, setup, teardown, runs in steps:
        out.append({'name': name, 'setup': setup, 'teardown': teardown,
                    'runs': [{'key': run_key(name, ctx, ver), 'context': ctx, 'criu': ver,
                              'plan': run_plan(ctx, ver, name)} for ctx, ver in runs]})
    return {'steps': out}


def cases():
    """Every (boot, step, context, criu version) the VMs run, as test ids."""
    out = []
    for boot, (suite, append, steps) in boots().items():
        if boot == SECCOMP_BOOT:   # compared by test_vm_seccomp.py
            continue
        for name, setup, teardown, runs in steps:
            for ctx, ver in runs:
                out.append('%s/%s' % (boot, run_key(name, ctx, ver)))
    return out


def split(case):
    boot, step, ctx, ver = case.split('/')
    return boot, step, ctx, ver


def features_of(case):
    return ALL_FEATURES if split(case)[3] == '4.2.1' else FEATURES_411


# ---------------------------------------------------------------- known disagreements
#
# Glob over "BOOT/STEP/CONTEXT/CRIU/ITEM" -> why.  Every entry is explained
# in docs/differential.md.  An unlisted disagreement fails; so does an entry
# none of whose cases disagrees any more (test_vm_zz_nothing_left.py).
KNOWN = {
    '*/userns-0/nonroot-cr/*/feature:overlayfs_maps':
        'criu reports success without testing when it cannot unshare a mount namespace '
        '(criu/cr-check.c do_check_overlayfs_maps()); with user.max_user_namespaces=0 our probe '
        'has no user namespace to test in either and says unknown, never supported',
    'bullseye/*/nonroot-cr/*/feature:overlayfs_maps':
        'the same quirk of criu (success without testing when it cannot unshare a mount namespace); '
        'our probe tests in a user namespace, but 5.10 cannot mount overlayfs there (overlayfs is '
        'mountable in a user namespace from 5.11 on, fs/overlayfs/super.c FS_USERNS_MOUNT), so it says unknown',
    'bookworm/*/nonroot-cr/*/feature:overlayfs_maps':
        'the same quirk of criu; our probe tests in a user namespace and finds what criu finds as root on '
        'this kernel ("unmatched dev:ino", criu/cr-check.c check_overlayfs_maps()): unsupported',
}

# ---------------------------------------------------------------- running the boots

# A VM's whole job: about 10 minutes on two idle cores; twice that when the
# machine is shared (a timeout loses the whole VM's results).  The early boots
# (below) share the machine with the other stages, niced: they get an hour.
VM_TIMEOUT = 1800
EARLY_VM_TIMEOUT = 3600
STATE = {'runner': None, 'early': None, 'disagreements': [], 'matched_known': set(), 'judged_known': set()}


def boot_order():
    """The longest first: the main boots, then the system calls taken away,
    then the short ones."""
    return sorted(boots(), key=lambda b: (2 if '+' in b else 1 if b == SECCOMP_BOOT else 0, b))


def boot_vm(directory, boot, timeout=VM_TIMEOUT):
    """Boot ``boot``, run inside_vm.py with its plan; vm.run()'s dict with
    the guest's JSON report as "report" (None when there is none)."""
    suite, append, steps = boots()[boot]
    return with_report(vm.run(SUITE_KERNEL[suite], 'exec python3 /src/tests/vm/inside_vm.py /job/plan.json',
                              append=append, timeout=timeout, files={'plan.json': json.dumps(guest_plan(boot))},
                              directory=directory))


def with_report(res):
    """vm.run()'s dict ``res`` with the guest's JSON report (its stdout) as
    "report" (None when there is none), and no stdout."""
    try:
        res['report'] = json.loads(res['stdout'])
    except ValueError:
        res['report'] = None
    res['stdout'] = ''
    return res


def save_result(name, res):
    """CRIU_CHECK_VM_SAVE=DIR: keep ``res`` as DIR/name.json (for CRIU_CHECK_VM_REPLAY)."""
    save = os.environ.get('CRIU_CHECK_VM_SAVE')
    if save:
        os.makedirs(save, exist_ok=True)
        with open(os.path.join(save, name + '.json'), 'w') as f:
            json.dump(res, f)


# ---------------------------------------------------------------- early boots
#
# The boots need about 45 minutes of one core under TCG, and the stages before
# this one leave a core mostly idle.  So tests/conftest.py starts them when the
# session starts, in a process of their own (tests/vm/early_boots.py: niced, in
# a private mount namespace, one VM at a time), and the Runner below, once this
# stage begins, lets it run two at a time and reads its results
# (EARLY_DIR/BOOT.json) instead of booting.  CRIU_CHECK_VM_EARLY=0 turns it off.

EARLY_SCRIPT = os.path.join(HERE, 'early_boots.py')
EARLY_NICE = 10
EARLY_START_S = 120   # how long the early process may take to write its pid


class EarlyProcess:
    """The early boots' process, as much of subprocess.Popen as the Runner
    uses.  It is not a child of the session (setsid --fork): tests here
    count this process's children and expect none.  It writes DIR/pid as it
    starts and DIR/exit as it ends."""

    def __init__(self, directory):
        self.dir = directory
        self.started = time.monotonic()
        self.pid = None
        self.returncode = None

    def _read(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def poll(self):
        if self.returncode is not None:
            return self.returncode
        if self.pid is None:
            self.pid = self._read('pid')
            if self.pid is None:
                if time.monotonic() - self.started > EARLY_START_S:
                    self.returncode = -1   # it never started
                return self.returncode
            self.start_time = vm.process_start_time(self.pid)
        if self.start_time is None or vm.process_start_time(self.pid) != self.start_time:
            code = self._read('exit')
            self.returncode = code if code is not None else -9
        return self.returncode

    def send(self, sig):
        while self.poll() is None and self.pid is None:
            time.sleep(0.1)   # just started: its pid is not written yet (poll() gives up after EARLY_START_S)
        if self.poll() is None and self.pid is not None:
            try:
                os.kill(self.pid, sig)
            except OSError:
                pass

    def wait(self, timeout):
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired('early_boots.py', timeout)
            time.sleep(0.2)
        return self.returncode


def start_early(collections):
    """Start the early boots (once per session); ``collections`` is the
    collections path the guest-independent imports need."""
    if STATE['early'] is not None or os.environ.get('CRIU_CHECK_VM_EARLY') == '0' \
            or os.environ.get('CRIU_CHECK_VM_REPLAY') or os.geteuid() != 0 or vm.qemu_missing():
        return
    directory = vm.work_dir('early')   # after removing what a killed run left
    # Its VMs' work directories stay in its own directory: the migration
    # tests, which run beside it, compare vm.TMP before and after.
    os.mkdir(os.path.join(directory, 'tmp'))
    env = dict(os.environ, PYTHONPATH=collections, CRIU_CHECK_VM_TMP=os.path.join(directory, 'tmp'))
    with open(os.path.join(directory, 'log'), 'wb') as log:
        subprocess.run(['setsid', '--fork', 'unshare', '-m', '--propagation', 'private', '--',
                        'nice', '-n', str(EARLY_NICE), sys.executable, EARLY_SCRIPT, directory,
                        str(os.getpid()), vm.process_start_time(os.getpid())],
                       stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)
    STATE['early'] = {'proc': EarlyProcess(directory), 'dir': directory, 'started': time.monotonic()}


def _early_file(name, proc, timeout):
    """EARLY_DIR/name loaded once it exists; None when the early process
    ended without writing it or ``timeout`` passed."""
    path = os.path.join(STATE['early']['dir'], name)
    until(lambda: os.path.exists(path) or proc.poll() is not None, timeout)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def stop_early(timeout=120):
    """End the early boots (what they still run is lost) and remove their directory."""
    early = STATE['early']
    if early is None:
        return
    proc = early['proc']
    if proc.poll() is None:
        proc.send(signal.SIGTERM)   # it stops its VMs and removes their work directories
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.send(signal.SIGKILL)
            proc.wait(30)
    try:
        with open(os.path.join(early['dir'], 'log'), 'rb') as f:
            early['log'] = f.read()[-3000:].decode('utf-8', 'replace')
    except OSError:
        pass
    shutil.rmtree(early['dir'], ignore_errors=True)


class Runner(BackgroundRuns):
    """Boots every VM once, two at a time (2 cores: one vCPU each), or reads
    what the early boots made of them."""

    def __init__(self, directory):
        self.directory = directory
        super().__init__(((b, self._boot, (b,)) for b in boot_order()),
                         workers=int(os.environ.get('CRIU_CHECK_VM_PARALLEL', '2')))

    def _boot(self, boot):
        # CRIU_CHECK_VM_REPLAY=DIR: judge the results a run saved with
        # CRIU_CHECK_VM_SAVE=DIR (DIR/BOOT.json) instead of booting.
        replay = os.environ.get('CRIU_CHECK_VM_REPLAY')
        if replay:
            with open(os.path.join(replay, boot + '.json')) as f:
                return json.load(f)
        res = None
        if STATE['early'] is not None:
            res = _early_file(boot + '.json', STATE['early']['proc'], EARLY_VM_TIMEOUT)
            if res is not None and res.get('exception'):
                raise vm.VMError(res['exception'])
        if res is None:   # no early boots, or they ended without this one: boot it here
            res = boot_vm(self.directory, boot)
        save_result(boot, res)
        return res

    def boot(self, boot):
        return self.result(boot)

    def wait_all(self):
        super().wait_all()
        stop_early()


def _make_runner(request):
    if os.geteuid() != 0:
        return 'the VM tests need root (mmdebstrap, mkfs.ext4 -d of a root-owned tree)'
    missing = vm.qemu_missing()
    if missing:
        return missing
    vm.remove_abandoned()   # also when no VM boots here (replayed results)
    start = time.monotonic()
    early = STATE['early']
    built = None
    if early is not None:
        # Two at a time from now on; the image is what the early boots built.
        open(os.path.join(early['dir'], 'parallel'), 'w').close()
        built = _early_file('build.json', early['proc'], 3600)
    try:
        if built is None or built.get('error'):
            directory = vm.build()
        else:
            directory = built['directory']
            STATE['early_build_s'] = built['build_s']
    except Exception as exc:  # a build that cannot happen is a failure, reported by every test
        return exc
    STATE['build_s'] = round(time.monotonic() - start, 1)
    STATE['directory'] = directory
    request.config.pluginmanager.register(_Summary(), 'criu-check-vm-summary')
    return Runner(directory)


@pytest.fixture(scope='session')
def vms(request):
    if STATE['runner'] is None:
        STATE['runner'] = _make_runner(request)
    r = STATE['runner']
    if isinstance(r, str):
        pytest.skip(r)
    if isinstance(r, Exception):
        pytest.fail('the VM image cannot be built: %s' % r, pytrace=False)
    yield r
    r.wait_all()


def report_of(vms, case):
    """inside_root.py's report of one case (fails when the VM gave none;
    skipped when CRIU_CHECK_VM_ONLY leaves its boot or step out)."""
    boot, step, ctx, ver = split(case)
    if os.environ.get('CRIU_CHECK_VM_ONLY') and step not in [st[0] for st in boots().get(boot, ('', '', []))[2]]:
        pytest.skip('%s is not selected by CRIU_CHECK_VM_ONLY' % case)
    res = vms.boot(boot)
    rep = res.get('report')
    if rep is None:
        pytest.fail('VM %s gave no report (%s; rc=%s): %s\nconsole: %s' % (
            boot, res.get('error'), res.get('rc'), res.get('stderr', '')[-2000:], res.get('console', '')[-2000:]),
            pytrace=False)
    st = rep['steps'].get(step)
    if st is None:
        pytest.fail('VM %s: step %s did not run' % (boot, step), pytrace=False)
    run = st['runs'].get(run_key(step, ctx, ver))
    if run is None or run.get('error'):
        pytest.fail('VM %s, %s: %s' % (boot, case, (run or {}).get('error', 'did not run')), pytrace=False)
    return run


# The selection of each criu invocation: (--extra, --experimental) of _check.like_criu_check().
SELECTIONS = {'A': (False, False), 'B:--extra': (True, False), 'B:--experimental': (False, True),
              'B:--all': (True, True)}


def ours(vms, case, key):
    """(results, facts) of our engine for ``case``: 'all' is the run itself;
    'A' and 'B:MODE' are the facts of the probes `criu check [MODE]` runs, made
    by _aggregate.facts() from that run's results (as _check.run() makes them)."""
    boot, step, ctx, ver = split(case)
    run = report_of(vms, '%s/%s/%s/%s' % (boot, step, ctx, OUR_RUN_BESIDE))
    results, facts = D.ours(run, 'all')
    if key == 'all':
        return results, facts
    from ansible_collections.criu.check.plugins.module_utils import _aggregate, _check
    ids = [p.id for p in _check.like_criu_check(*SELECTIONS[key])]
    if ver != '4.2.1':
        # What criu 4.1.1 runs: not the checks it does not have (on 6.12,
        # timer_cr_ids and pagemap_scan_guard_pages fail, which 4.1.1 never asks).
        ids = [i for i in ids if i not in LACKS_IDS]
    missing = [i for i in ids if i not in results]
    if missing:
        pytest.fail('our run in %s lacks probes %s' % (case, missing), pytrace=False)
    subset = dict((i, results[i]) for i in ids)
    env = dict((k, v) for k, v in facts['environment'].items() if k != 'criu_can_start')
    return subset, _aggregate.facts(subset, env, facts['kernel'], None)


def known(case, item):
    key = '%s/%s' % (case, item)
    for pattern, why in KNOWN.items():
        if fnmatch.fnmatchcase(key, pattern):
            return pattern, why
    return None, None


def judge(case, item, criu_says, we_say, problem):
    pattern, reason = known(case, item)
    if pattern:
        STATE['judged_known'].add(pattern)
    if problem:
        STATE['disagreements'].append((case, item, criu_says, we_say, problem, reason))
        if reason is None:
            pytest.fail('%s / %s: criu and we disagree: %s\n  criu says: %s\n  we say:    %s\n'
                        '(fix the probe, or list it in KNOWN of tests/vm/_vm.py and docs/differential.md)'
                        % (case, item, problem, criu_says, we_say), pytrace=False)
        STATE['matched_known'].add(pattern)

# ---------------------------------------------------------------- the summary


class _Summary:
    def pytest_terminal_summary(self, terminalreporter):
        summary(terminalreporter.write_line, terminalreporter.section)


def _verdict(rep, key):
    out = rep['criu'].get(key)
    if not out:
        return '-'
    kind, why = D.criu_outcome(out)
    if kind == 'bad':
        why = (D.failure_lines(out) or [''])[0]
    return kind + ((' (%s)' % why[:90]) if why else '')


def summary(write, section=None):
    r = STATE['runner']
    if not isinstance(r, Runner):
        return
    if section:
        section('vm: Debian kernels, criu 4.2.1 and 4.1.1 vs criu.check')
    write('image %s (build/check %s s)' % (STATE.get('directory'), STATE.get('build_s')))
    if vm.REMOVED:
        write('removed what a killed run left in %s: %s' % (vm.TMP, ' '.join(vm.REMOVED)))
    early = STATE['early']
    if early is not None:
        write('early boots: started with the session, niced, one VM at a time until this stage began '
              '%.1f s later (their image build/check took %s s)' % (r.started - early['started'], STATE.get('early_build_s')))
        if early['proc'].returncode not in (0, None) or early.get('log'):
            write('early boots: exit %s; %s' % (early['proc'].returncode, early.get('log', '').strip()[-1500:]))
    if r.finished:
        write('all VMs done %.1f s after this stage began (%s at a time)' % (r.finished - r.started, r.workers))
    for boot, res in sorted(r.results().items()):
        rep = res.get('report') or {}
        write('VM %-28s kernel %s: userspace after %s s, job %s s, wall %s s%s' % (
            boot, res.get('kernel'), res.get('boot_s'), res.get('run_s'), res.get('wall_s'),
            ('; ' + res['error']) if res.get('error') else ''))
        for step in rep.get('order', []):
            st = rep['steps'][step]
            setup = (st['setup'].get('out') or '').strip().replace('\n', '; ')
            write('    step %-18s %6.1f s%s' % (step, st['ms'] / 1000.0, ('  [%s]' % setup) if setup else ''))
            for key, run in sorted(st['runs'].items()):
                if run.get('error'):
                    write('        %-28s ERROR %s' % (key, run['error'][:200]))
                    continue
                feats = run.get('features') or {}
                ok = sum(1 for o in feats.values() if o['rc'] == 0)
                write('        %-28s %5.1f s  check: %s; --all: %s; --feature %d/%d' % (
                    key, run['wall_ms'] / 1000.0, _verdict(run, 'A'), _verdict(run, 'B:--all'), ok, len(feats)))
    path = os.environ.get('CRIU_CHECK_VM_MATRIX')
    if path:
        with open(path, 'w') as f:
            f.write(matrix(r) + '\n')
        write('matrix written to %s' % path)
    rows = STATE['disagreements']
    write('disagreements: %d (%d listed as known)' % (len(rows), sum(1 for x in rows if x[5])))
    for case, item, criu_says, we_say, problem, reason in rows:
        write('  [%s] %s / %s: %s' % ('known' if reason else 'NEW', case, item, problem))
        write('      criu: %s' % criu_says[:300])
        write('      ours: %s' % we_say[:300])


def _cell(criu, facts):
    kind, why = D.criu_outcome(criu)
    if kind == 'bad':
        why = (D.failure_lines(criu) or [''])[0]
    ours = 'cannot start' if (facts.get('environment') or {}).get('criu_can_start') is False else facts.get('verdict')
    crit = {'good': 'good', 'good_but': 'good_but', 'bad': 'bad', 'cannot_start': 'cannot start'}.get(kind, kind)
    text = crit if crit == ours else '%s / ours %s' % (crit, ours)
    if why and kind in ('bad', 'cannot_start'):
        text += ' (%s)' % why[:70].replace('|', '/')
    return text


def matrix(runner):
    """The kernel x variant x context table of docs/differential.md."""
    lines = ['| kernel | variant | context | criu | `criu check` | `--all` | `--feature`: criu supports | ours differs on |',
             '|---|---|---|---|---|---|---|---|']
    boots_run = [(b, res) for b, res in runner.results().items() if b != SECCOMP_BOOT]   # its own table
    for boot, res in sorted(boots_run, key=lambda x: (SUITES.index(x[0].split('+')[0]), x[0])):
        rep = res.get('report') or {}
        for step in rep.get('order', []):
            for key, run in sorted(rep['steps'][step]['runs'].items(), key=lambda x: (x[0].split('/')[2], x[0])):
                case = '%s/%s' % (boot, key)
                dummy, dummy, ctx, ver = split(case)
                if run.get('error'):
                    lines.append('| %s | %s | %s | %s | error: %s | | | |' % (res.get('kernel'), step, ctx, ver, run['error'][:80]))
                    continue
                try:
                    results, facts_all = ours_from(runner, case, 'all')
                    cells = [_cell(run['criu']['A'], ours_from(runner, case, 'A')[1]),
                             _cell(run['criu']['B:--all'], ours_from(runner, case, 'B:--all')[1])]
                except (Exception, pytest.fail.Exception) as exc:  # a broken report shows as such in the table
                    cells = ['no report of ours: %s' % exc, '']
                    results = {}
                feats = run.get('features') or {}
                yes = sum(1 for n, o in feats.items() if o['rc'] == 0 and n in FEATURE_IDS_OF)
                known_names = [n for n in feats if n in FEATURE_IDS_OF and 'Unknown feature' not in o_text(feats[n])]
                from test_differential_features import compare_feature
                differ = [n for n in known_names if compare_feature(feats[n], results.get(D.FEATURE_IDS[n]), facts_all)]
                lines.append('| %s | %s | %s | %s | %s | %s | %d of %d | %s |' % (
                    res.get('kernel'), step + ('' if '+' not in boot else ' ' + boot.split('+', 1)[1]), ctx, ver,
                    cells[0], cells[1], yes, len(known_names), ', '.join('`%s`' % n for n in differ) or '-'))
    return '\n'.join(lines)


FEATURE_IDS_OF = D.FEATURE_IDS


def o_text(out):
    return (out.get('stdout') or '') + (out.get('stderr') or '')


def ours_from(runner, case, key):
    """ours() for the summary, outside a test."""
    class _Fake:
        def boot(self, b):
            return runner.boot(b)
    return ours(_Fake(), case, key)


# ---------------------------------------------------------------- two VMs that stay up

PAIR_KERNEL = '6.12'   # Debian 13's: soft-dirty tracking, criu 4.2.1 in the image


def _pair_usable():
    if os.geteuid() != 0:
        pytest.skip('the VM tests need root (mmdebstrap, mkfs.ext4 -d of a root-owned tree)')
    missing = vm.qemu_missing()
    if missing:
        pytest.skip(missing)
    # The pair comes before the tests of the early boots (tests/conftest.py
    # orders them), beside one niced early VM.  Should this session's boots
    # be running two at a time already, not four TCG VMs on two cores: they
    # finish first.
    if isinstance(STATE.get('runner'), Runner):
        STATE['runner'].wait_all()
    try:
        return vm.build()
    except Exception as exc:  # a build that cannot happen is a failure
        pytest.fail('the VM image cannot be built: %s' % exc, pytrace=False)


@pytest.fixture(scope='session')
def vm_pair():
    """Two VMs of vm.pair() for the session (test_vm_migration.py drives
    them with Ansible, test_vm_pair.py tests the harness and closes them):
    {'hosts', 'work', 'before' (the cache's tmp entries before), 'close'}.
    Modules bind this fixture under names of their own, and pytest keeps one
    instance per name: the pair lives in STATE so that all of them share it."""
    if STATE.get('pair') is None:
        directory = _pair_usable()
        tmp = vm.TMP
        os.makedirs(tmp, exist_ok=True)
        before = set(os.listdir(tmp))
        stack = contextlib.ExitStack()
        stack.callback(STATE.pop, 'pair', None)
        start = time.monotonic()
        hosts = stack.enter_context(vm.pair(PAIR_KERNEL, 2, directory=directory))
        work = os.path.dirname(hosts[0]['key'])
        print('\n[vm pair] both answer ssh after %.1f s: %s' % (time.monotonic() - start, ', '.join(
            '%s %s s' % (h['name'], h['ssh_s']) for h in hosts)))
        STATE['pair'] = {'hosts': hosts, 'work': work, 'before': before, 'close': stack.close}
    pair = STATE['pair']
    yield pair
    pair['close']()
