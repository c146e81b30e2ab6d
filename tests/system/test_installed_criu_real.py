# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_installed_criu against real criu binaries, and nothing left behind.

(a) no criu at all: this Debian 12 host has none installed;
(b) Debian 12's own criu 3.17.1 (tests/tools/debian12_criu.sh: unpacked in a
    cache, reached through PATH and LD_LIBRARY_PATH in a forked child only),
    which cannot start on x86 kernels >= 6.13;
(c) criu 4.1.1 in the Debian 13 root (tests/tools/criu_root.sh), in several
    contexts, against what the same criu says when run by hand there;
(d) nothing persists: no kdat cache, mount, process or temporary directory.
"""

import ctypes
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

import process_list
from conftest import COLLECTIONS, debian12_criu, in_child, python_in_new_pid_namespace, requires_root
from leftovers import children, mounts, quiet_scratch
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I
from ansible_collections.criu.check.plugins.module_utils import _runtimes as R

TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools')
ROOT_SH = os.path.join(TOOLS, 'criu_root.sh')

pytestmark = requires_root


class Ctx:
    """What the engine hands a job: unprivileged, euid, timeout."""

    def __init__(self, unprivileged=False, timeout=10.0):
        self.unprivileged = unprivileged
        self.euid = os.geteuid()
        self.timeout = timeout


def _kernel_at_least(major, minor):
    found = re.match(r'(\d+)\.(\d+)', platform.release())
    return found and (int(found.group(1)), int(found.group(2))) >= (major, minor)


@pytest.fixture(scope='module')
def debian12_env():
    """PATH and LD_LIBRARY_PATH that make Debian 12's criu the first criu."""
    lines = debian12_criu('env').split()
    return dict(line.split('=', 1) for line in lines)


@pytest.fixture
def scratch():
    """A directory outside /tmp (the checking child gets a /tmp of its own)."""
    import pathlib
    path = tempfile.mkdtemp(prefix='criu-check-test.', dir='/var/tmp')
    yield pathlib.Path(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope='module')
def trixie_root():
    build = subprocess.run([ROOT_SH, 'build'], capture_output=True, text=True, timeout=600, check=False)
    if build.returncode != 0:
        pytest.skip('the Debian 13 root cannot be built: %s' % build.stderr.strip()[-300:])
    return build.stdout.strip()


def _state(criu_path=None):
    """What check() could leave behind, seen from a quiet scratch namespace
    (leftovers.quiet_scratch: private mounts, an empty /tmp of its own), so
    that what others do on this shared machine meanwhile does not show: the
    kdat caches, mounts, this process's children, temporary directories,
    processes still running the criu binary that was checked."""
    running = []
    if criu_path:
        for pid in os.listdir('/proc'):
            if pid.isdigit():
                try:
                    if os.readlink('/proc/%s/exe' % pid) == os.path.realpath(criu_path):
                        running.append(pid)
                except OSError:
                    pass
    kdat = {}
    for path in ('/run/criu.kdat', '/run/.criu.kdat'):
        try:
            st = os.stat(path)
            kdat[path] = [st.st_ino, st.st_mtime_ns]
        except OSError:
            kdat[path] = None
    return {'kdat': kdat, 'mounts': mounts(), 'children': children(), 'running': running,
            'tmp': sorted(os.listdir(tempfile.gettempdir()))}


def _stand_in(scratch, script):
    """``scratch``/criu, a stand-in that says it is criu 9.9 and, for anything else, runs ``script``: no real
    criu hangs, forks or closes its output on demand, and what is tested is our process handling."""
    fake = scratch / 'criu'
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && { echo "Version: 9.9"; exit 0; }\n' + script)
    fake.chmod(0o755)
    return fake


def _prepare(in_worker):
    """in_child()'s set-up: a quiet scratch namespace, in an engine worker when ``in_worker``."""
    from ansible_collections.criu.check.plugins.module_utils import _child

    def prepare():
        quiet_scratch()
        if in_worker:
            _child.in_worker.append(True)
    return prepare


def _check_in_child(env=None, path=None, unprivileged=False, timeout=10.0):
    """check() as the engine runs it, in a forked child; returns its dict,
    with the state before and after under 'before' and 'after'."""
    def prepare():
        quiet_scratch()
        if env:
            os.environ.update(env)

    def body():
        selected = [b for b in I.find(path) if b['selected']]
        criu = selected[0]['path'] if selected else None
        before = _state(criu)
        raw = I.check(Ctx(unprivileged, timeout), path=path)
        time.sleep(0.05)
        return dict(raw, before=before, after=_state(criu))
    return in_child(body, prepare, timeout=60)


def assert_nothing_left(raw):
    assert raw['after'] == raw['before']
    assert raw['after']['kdat'] == {'/run/criu.kdat': None, '/run/.criu.kdat': None} or \
        raw['after']['kdat'] == raw['before']['kdat']


# ------------------------------------------------------------------ (a)

def test_no_criu_at_all(scratch):
    if any(os.access(os.path.join(d, 'criu'), os.X_OK) for d in _context.SBIN_DIRS):
        pytest.skip('this host has criu installed in an sbin directory')
    raw = _check_in_child(path=str(scratch) + os.pathsep + '/usr/bin:/bin')
    assert raw['binaries'] == [] and raw['path'] is None and raw['check'] is None
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['installed'] is False and facts['usable'] is False and facts['agrees'] is None
    assert 'not installed' in facts['reason']
    assert_nothing_left(raw)


@pytest.mark.parametrize('how', ['mode', 'noexec'])
def test_a_criu_that_cannot_be_executed_is_there_not_missing(scratch, how):
    """A criu file on PATH that may not be executed (mode 0644; a noexec mount, the kernel's refusal, made
    for real in a private mount namespace): present, not executable, and the fix makes it executable;
    "install criu" would not help.  A runtime's exec.LookPath skips it: they find no criu."""
    mount_point = scratch / 'mnt'      # the noexec mount, named in the reason: not criu's directory below it
    bindir = mount_point / 'bin'
    mount_point.mkdir()

    def prepare():
        quiet_scratch()
        if how == 'noexec':
            libc = ctypes.CDLL(None, use_errno=True)
            assert libc.mount(b'test', str(mount_point).encode(), b'tmpfs', ctypes.c_ulong(0x8), None) == 0  # MS_NOEXEC
        bindir.mkdir()
        fake = bindir / 'criu'
        fake.write_text('#!/bin/sh\necho "Version: 4.1.1"\n')
        fake.chmod(0o644 if how == 'mode' else 0o755)

    def body():
        raw = I.check(Ctx(timeout=5), path=str(bindir) + os.pathsep + '/usr/bin:/bin')
        return {'raw': raw, 'facts': I.describe(raw, {'verdict': 'good'}),
                'runtimes': R.gather(lambda argv: (0, '5.0.2\n', ''), I.describe(raw), True,
                                     which=lambda name: '/usr/bin/lxc-checkpoint' if name == 'lxc-checkpoint' else None)}
    got = in_child(body, prepare, timeout=30)
    ours = [b for b in got['raw']['binaries'] if b['path'] == str(bindir / 'criu')]
    assert ours and ours[0]['executable'] is False and ours[0]['selected'] is False
    assert (ours[0]['version'], ours[0]['error']) == (None, 'not executable')   # not run for its version either
    facts = got['facts']
    if any(b['selected'] for b in got['raw']['binaries']):
        pytest.skip('this host has an executable criu in an sbin directory')
    assert facts['installed'] is True and facts['executable'] is False and facts['usable'] is False
    assert facts['path'] is None and facts['check'] is None and 'not installed' not in facts['reason']
    assert 'installed at %s but cannot be executed' % (bindir / 'criu') in facts['reason']
    if how == 'mode':
        assert 'mode 0644' in facts['reason'] and facts['fix'] == 'Make it executable: chmod +x %s.' % (bindir / 'criu')
    else:
        assert 'it is on %s, which is mounted noexec' % mount_point in facts['reason']
        assert facts['fix'].startswith('Remount %s without noexec' % mount_point)
    lxc = got['runtimes']['lxc']
    assert lxc['checkpoint'] == R.NOT_READY and lxc['fix'] == facts['fix']
    assert 'there is none: criu is installed at' in ' '.join(lxc['reasons'])


# ------------------------------------------------------------------ (b)

def test_debian12_criu_cannot_start_on_this_kernel(debian12_env):
    if not (platform.machine() == 'x86_64' and _kernel_at_least(6, 13)):
        pytest.skip('criu 3.17.1 starts on kernels before 6.13 (and off x86_64): kernel %s' % platform.release())
    raw = _check_in_child(env=debian12_env, path=debian12_env['PATH'])
    assert raw['version'] == '3.17.1'
    assert raw['path'].startswith(os.path.dirname(os.path.dirname(debian12_env['PATH'].split(':')[0])))
    assert raw['check']['isolation'] == 'mount_namespace' and raw['check']['unprivileged'] is False
    assert raw['check']['verdict'] == 'cannot_start' and raw['check']['rc'] == 1
    assert 'vdso: Unexpected rt vDSO area bounds' in raw['check']['messages']
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['installed'] is True and facts['starts'] is False and facts['usable'] is False
    assert '"vdso: Unexpected rt vDSO area bounds"' in facts['reason']
    assert 'criu 4.1 or newer' in facts['fix']
    if raw['os'].get('id') == 'debian' and raw['os'].get('version_id') == '12':
        assert 'criu_install_apt_suite: trixie' in facts['fix']
    assert facts['disagreements'][0]['kind'] == 'criu_too_old'
    json.dumps(facts)
    assert_nothing_left(raw)


def test_debian12_criu_unprivileged_mode(debian12_env):
    """The --unprivileged path on the host: the cache directory goes away."""
    raw = _check_in_child(env=debian12_env, path=debian12_env['PATH'], unprivileged=True)
    assert raw['check']['argv'][-1] == '--unprivileged'
    assert raw['check']['isolation'] == 'xdg_runtime_dir'
    assert raw['check']['verdict'] in ('cannot_start', 'good', 'bad')
    assert_nothing_left(raw)


def test_debian12_criu_without_its_libraries(debian12_env):
    env = dict(debian12_env, LD_LIBRARY_PATH='')
    raw = _check_in_child(env=env, path=debian12_env['PATH'])
    assert raw['version'] is None and 'error while loading shared libraries' in raw['binaries'][0]['error']
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['check']['rc'] == 127 and facts['usable'] is False
    assert facts['disagreements'][0]['kind'] == 'broken_install'


def test_the_first_criu_on_path_is_the_one_checked(debian12_env, scratch):
    """A second criu later on PATH is listed, not run."""
    later = scratch / 'later'
    later.mkdir()
    shutil.copy(os.path.join(debian12_env['PATH'].split(':')[0], 'criu'), str(later / 'criu'))
    raw = _check_in_child(env=debian12_env, path=debian12_env['PATH'] + ':' + str(later))
    paths = [b['path'] for b in raw['binaries']]
    assert paths[:2] == [os.path.join(debian12_env['PATH'].split(':')[0], 'criu'), str(later / 'criu')]
    assert [b['selected'] for b in raw['binaries'][:2]] == [True, False]
    assert raw['binaries'][1]['version'] == '3.17.1'
    assert raw['check']['argv'][0] == paths[0]


# ------------------------------------------------------------------ (c)

def _in_root(context, *cmd):
    return subprocess.run([ROOT_SH, 'run', '--context', context, '--'] + list(cmd),
                          capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize('context,unprivileged,expected_usable', [
    ('root', False, True),
    ('nonroot-cr', False, True),      # no CAP_SYS_ADMIN: --unprivileged, as CRIU documents
    ('nonroot', False, False),        # no capability at all: criu refuses
    ('ro-proc-sys', False, False),    # ns_last_pid: criu says "Does not look good."
    ('no-sys-admin', False, True),    # root without CAP_SYS_ADMIN: --unprivileged
    ('userns', False, False),         # unshare -Ur: --unprivileged, then TCP_REPAIR is refused
])
def test_debian13_criu(trixie_root, context, unprivileged, expected_usable):
    flags = ['--unprivileged'] if unprivileged else []
    ours = _in_root(context, 'python3', '/src/tests/tools/installed_criu.py', '--probes', 'good', *flags)
    assert ours.returncode == 0, ours.stderr
    got = json.loads(ours.stdout)
    raw, facts = got['raw'], got['facts']
    assert raw['version'] == '4.1.1' and raw['path'] == '/usr/sbin/criu'
    argv = raw['check']['argv'][1:]
    # the same criu, run by hand the same way in the same context
    real = _in_root(context, 'sh', '-c', 'cd / && XDG_RUNTIME_DIR=$(mktemp -d) exec criu "$@"', 'criu', *argv)
    assert raw['check']['rc'] == real.returncode
    summary = [line for line in real.stdout.splitlines() if line.startswith(('Looks good', 'CRIU needs'))]
    verdict = raw['check']['verdict']
    if real.returncode == 0:
        assert summary == ['Looks good.'] and verdict == 'good'
    elif 'Does not look good.' in real.stderr:
        assert verdict == 'bad'
    elif summary and summary[0].startswith('CRIU needs'):
        assert verdict == 'blocked'
    else:
        assert verdict == 'cannot_start'
    assert facts['usable'] is expected_usable
    if not expected_usable:
        first_error = [line for line in (real.stderr + real.stdout).splitlines()
                       if line.startswith('Error') or line.startswith('CRIU needs')][-1 if verdict != 'blocked' else 0]
        assert re.sub(r'^Error +\([^)]*\): ', '', first_error).rstrip(': ') in facts['reason']


# ------------------------------------------------------------------ (d)

LEAK_SCRIPT = r'''
import json, os, subprocess, sys, tempfile
def state():
    with open('/proc/self/mountinfo') as f:
        mounts = sorted(l.split(' ', 4)[4] for l in f)
    return {'kdat': sorted(n for n in os.listdir('/run') if 'kdat' in n),
            'tmp': sorted(os.listdir('/tmp')), 'tempdir': sorted(os.listdir(tempfile.gettempdir())),
            'mounts': mounts}
before = state()
runs = []
for flag in ([], ['--unprivileged']):
    runs.append(json.loads(subprocess.run([sys.executable, '/src/tests/tools/installed_criu.py'] + flag,
                                          capture_output=True, text=True, check=True).stdout)['raw']['check'])
after = state()
# control: criu run plainly here does leave its cache, so the check above can fail
subprocess.run(['criu', 'check'], cwd='/', capture_output=True)
control = state()
print(json.dumps({'before': before, 'after': after, 'control': control, 'runs': runs}))
'''


def test_nothing_left_in_the_debian13_root(trixie_root):
    out = _in_root('root', 'python3', '-c', LEAK_SCRIPT)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert [r['verdict'] for r in got['runs']] == ['good', 'good']
    assert [r['isolation'] for r in got['runs']] == ['mount_namespace', 'xdg_runtime_dir']
    assert got['before']['kdat'] == [] and got['after'] == got['before']
    assert 'criu.kdat' in got['control']['kdat']


def test_timeout_kills_the_whole_tree(scratch):
    """A criu that hangs (and forks): the verdict is timeout, in time, and
    nothing of it survives.  The binary is a stand-in: no real criu hangs on
    demand, and what is tested is our process handling."""
    marker = scratch / 'grandchild'
    _stand_in(scratch, '(exec -a criu-check-test-grandchild sleep 300) & echo $! > %s\nexec sleep 300\n' % marker)
    start = time.monotonic()
    raw = _check_in_child(path=str(scratch) + ':/usr/bin:/bin', timeout=1.5)
    elapsed = time.monotonic() - start
    assert raw['check']['verdict'] == 'timeout' and elapsed < 5
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['usable'] is False and 'did not finish' in facts['reason']
    assert process_list.ended([int(marker.read_text())], 0.1), 'the process criu started is still there'
    assert_nothing_left(raw)


@pytest.mark.parametrize('in_worker', [False, True], ids=['own_session', 'engine_worker'])
def test_timeout_with_a_setsid_child_holding_the_output(scratch, in_worker):
    """A criu that hangs and has started a process that left its process group (setsid) and holds its
    stdout and stderr: the kill of criu's group does not reach it, and reading criu's output until EOF
    would wait for it.  The check still ends in time with criu's output so far, and that process is gone.
    A stand-in: no real criu does this on demand."""
    marker = scratch / 'escaped'
    _stand_in(scratch, 'echo criu-started; echo criu-said >&2\n'
              'setsid sh -c \'echo $$ > %s; exec sleep 300\' &\nexec sleep 300\n' % marker)

    prepare = _prepare(in_worker)

    def body():
        start = time.monotonic()
        raw = I.check(Ctx(timeout=1.5), path=str(scratch) + ':/usr/bin:/bin')
        return dict(raw, elapsed=time.monotonic() - start)
    try:
        raw = in_child(body, prepare, timeout=20)
        assert raw['check']['verdict'] == 'timeout' and raw['elapsed'] < 4, raw['elapsed']
        assert 'criu-started' in raw['check']['stdout'] and 'criu-said' in raw['check']['stderr']
        assert process_list.ended([int(marker.read_text())], 2), 'the setsid process criu started is still there'
    finally:
        if marker.exists() and marker.read_text().strip():
            try:
                os.kill(int(marker.read_text()), signal.SIGKILL)
            except OSError:
                pass


@pytest.mark.parametrize('in_worker', [False, True], ids=['own_session', 'engine_worker'])
def test_timeout_kills_a_criu_that_closed_its_output(scratch, in_worker):
    """A criu that hangs with its stdout and stderr closed holds no pipe, so only the kill at the timeout
    ends it: criu itself, and in a session of its own whatever it started in its process group (in an
    engine worker that group is the worker's, which the engine kills).  A stand-in: no real criu does
    this on demand."""
    _stand_in(scratch, 'exec >/dev/null 2>&1\n(exec sleep 300) & echo $! > %s\necho $$ > %s\nexec sleep 300\n'
              % (scratch / 'started', scratch / 'criu.pid'))
    prepare = _prepare(in_worker)
    try:
        def body():
            start = time.monotonic()
            return dict(I.check(Ctx(timeout=1.5), path=str(scratch) + ':/usr/bin:/bin'),
                        elapsed=time.monotonic() - start)
        raw = in_child(body, prepare, timeout=20)
        assert raw['elapsed'] < 2.5, raw['elapsed']   # 1.35 s, and the kill
        criu, started = [int((scratch / name).read_text()) for name in ('criu.pid', 'started')]
        assert raw['check']['verdict'] == 'timeout' and raw['check']['rc'] == -signal.SIGKILL, raw['check']
        # the whole call's bound: a tenth less than the context's 1.5 s
        assert raw['check']['messages'] == ['criu check did not finish within 1.4 s'], raw['check']
        assert not process_list.running(criu), 'criu is still running'
        if not in_worker:
            assert not process_list.running(started), 'what criu started in its process group is still running'
    finally:
        for name in ('criu.pid', 'started'):
            if (scratch / name).exists() and (scratch / name).read_text().strip():
                try:
                    os.kill(int((scratch / name).read_text()), signal.SIGKILL)
                except OSError:
                    pass


def test_a_criu_that_hangs_on_version_still_gets_its_check(scratch):
    """criu --version gets half of the time left, not all of it: a binary that hangs there is still asked
    for its check, which answers.  A stand-in: no real criu hangs on demand."""
    fake = scratch / 'criu'
    fake.write_text('#!/bin/sh\n[ "$1" = --version ] && exec sleep 30\nprintf "%5000s\\n" ""\necho "Looks good."\n')
    fake.chmod(0o755)
    raw = _check_in_child(path=str(scratch) + ':/usr/bin:/bin', timeout=3)
    # half of the 2.7 s the call may take (a tenth less than the context's 3 s), less what went before
    assert re.match(r'did not answer within 1\.[0-4] s$', raw['binaries'][0]['error']), raw['binaries']
    assert raw['check']['verdict'] == 'good', raw['check']
    assert raw['check']['duration_ms'] > 1300, raw['check']   # the whole call, the wait for --version too
    # the output is kept up to 4000 characters: its end, where criu's summary is
    assert len(raw['check']['stdout']) == 4000 and raw['check']['stdout'].endswith(' \nLooks good.\n')
    assert_nothing_left(raw)


def test_in_an_engine_job_the_check_ends_within_the_job_s_time(scratch):
    """In an engine job criu gets what is left of the job's time (ProbeContext.left()), not the whole
    timeout: it is killed, and the job reports, before the engine kills the worker."""
    _stand_in(scratch, 'exec sleep 300\n')

    class JobCtx(Ctx):
        def __init__(self):
            Ctx.__init__(self, timeout=60)
            self.deadline = time.monotonic() + 1.0

        def left(self):
            return max(0.001, self.deadline - time.monotonic())

    def body():
        start = time.monotonic()
        raw = I.check(JobCtx(), path=str(scratch) + ':/usr/bin:/bin')
        return {'verdict': raw['check']['verdict'], 'elapsed': time.monotonic() - start}
    got = in_child(body, quiet_scratch, timeout=20)
    assert got['verdict'] == 'timeout' and got['elapsed'] < 3, got


@pytest.mark.parametrize('in_worker', [False, True], ids=['own_session', 'engine_worker'])
def test_criu_leads_its_own_process_group_only_outside_a_worker(scratch, in_worker):
    """Called directly, criu leads a session and process group of its own, killed whole on timeout; in an
    engine worker it stays in the worker's group, which the engine kills when the job ends or overruns.
    A stand-in prints its process group and session."""
    _stand_in(scratch, 'echo $$ $(cut -d" " -f5,6 /proc/$$/stat)\n')

    prepare = _prepare(in_worker)

    def body():
        out = I.check(Ctx(timeout=5), path=str(scratch) + ':/usr/bin:/bin')['check']['stdout']
        return {'ids': [int(n) for n in out.split()], 'worker': [os.getpgrp(), os.getsid(0)]}
    got = in_child(body, prepare)
    criu, pgid, sid = got['ids']
    assert [pgid, sid] == (got['worker'] if in_worker else [criu, criu]), got


def test_a_criu_in_an_sbin_directory_is_found_off_path(scratch):
    """PATH without the sbin directories (a user's shell): criu in /usr/local/sbin is still found, from
    'sbin', and selected.  Made for real under a tmpfs in a private mount namespace."""
    def prepare():
        quiet_scratch()
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.mount(b'test', b'/usr/local/sbin', b'tmpfs', ctypes.c_ulong(0), None) == 0
        with open('/usr/local/sbin/criu', 'w') as f:
            f.write('#!/bin/sh\nexit 0\n')
        os.chmod('/usr/local/sbin/criu', 0o755)
    found = in_child(lambda: I.find(str(scratch)), prepare)
    ours = [f for f in found if f['path'] == '/usr/local/sbin/criu']
    assert ours and ours[0]['from'] == 'sbin' and ours[0]['executable'] is True, found
    assert ours[0]['selected'] is (not any(f['executable'] for f in found[:found.index(ours[0])])), found


def test_a_criu_only_its_group_may_execute_is_not_called_one_without_execute_bit(scratch):
    """Mode 0610 has an execute bit, for the group only: for another user the reason is who may execute
    it, not a missing execute bit (chmod +x would be the wrong fix)."""
    from conftest import become_user
    os.chmod(str(scratch), 0o755)
    fake = scratch / 'criu'
    fake.write_text('#!/bin/sh\nexit 0\n')
    fake.chmod(0o610)
    why = in_child(lambda: I.not_executable(str(fake)), become_user)
    assert why['why'].startswith('uid 65534 may not execute it (mode 0610, owner uid 0)'), why


def test_capabilities_that_cannot_be_read_are_none():
    """A /proc that hides /proc/self/status (read to know this process's capabilities): no capability is
    taken for granted, so criu runs with --unprivileged rather than as root without CAP_SYS_ADMIN."""
    def setup():
        quiet_scratch()
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.mount(b'test', b'/proc', b'tmpfs', ctypes.c_ulong(0), None) == 0

    def body():
        return {'caps': I.own_caps(), 'run': I.run_isolated(['/bin/true'], I.environ(None), time.monotonic() + 10,
                                                            euid=0)}
    got = in_child(body, setup)
    assert got['caps'] == 0
    assert got['run']['note'].startswith('no CAP_SYS_ADMIN for a private mount namespace, so criu ran with '
                                         '--unprivileged'), got['run']


def test_the_processes_holding_criu_s_output_are_never_this_one():
    """_drain() kills what holds criu's pipes: this process holds their read ends, and must not be among
    them.  The descriptors below the pipes' are filled, so that /proc/self/fd's own descriptor (which
    reads as gone) comes after them and cannot hide this process from the search."""
    def body():
        import subprocess
        proc = subprocess.Popen(['sleep', '30'], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            top = max(proc.stdout.fileno(), proc.stderr.fileno())
            while os.open('/dev/null', os.O_RDONLY) < top:
                pass
            return {'holders': I._pipe_holders(proc), 'criu': proc.pid}
        finally:
            proc.kill()
            proc.wait()
    got = in_child(body)
    assert got['holders'] == [got['criu']], got


def test_under_a_proc_of_another_pid_namespace_no_process_is_taken_for_a_holder():
    """unshare --pid --fork without --mount-proc: /proc's pids are the parent namespace's, so neither this
    process nor criu is found under its own pid there, and kill() by a pid read there would reach another
    process of this namespace, or none.  No holder is named; the pipes are closed after DRAIN_SECONDS."""
    script = ('import os, subprocess, json\n'
              'from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I\n'
              'proc = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)\n'
              'try:\n'
              '    print(json.dumps({"holders": I._pipe_holders(proc), "self": os.readlink("/proc/self"),\n'
              '                      "pid": os.getpid()}))\n'
              'finally:\n'
              '    proc.kill()\n'
              '    proc.wait()\n')
    got = python_in_new_pid_namespace('-c', script)
    assert got['self'] != str(got['pid']), got   # /proc really is the parent namespace's
    assert got['holders'] == [], got


@pytest.mark.parametrize('script, expected', [
    ('echo "Version: 4.2"; echo "GitID: v4.2"', ('4.2', 'v4.2', None)),
    ('echo "criu: unknown option" >&2; exit 1', (None, None, 'criu: unknown option')),
    ('exit 3', (None, None, 'exit code 3')),
    ('echo "Version: 4.2"; echo "criu: broken" >&2; exit 1', ('4.2', None, 'criu: broken')),
    ('echo "no version here"', (None, None, 'no version here')),
    ('exec sleep 30', (None, None, 'did not answer within 0.3 s')),
])
def test_read_version_says_why_there_is_none(scratch, script, expected):
    """criu --version, as check() and criu_smoke read it: the version, or why not; a criu that hangs
    is killed at the timeout.  Stand-ins, since no real criu fails on demand."""
    fake = scratch / 'criu'
    fake.write_text('#!/bin/sh\n%s\n' % script)
    fake.chmod(0o755)
    start = time.monotonic()
    assert I.read_version(str(fake), I.environ(None), 0.3) == expected
    assert time.monotonic() - start < 2


def test_read_version_of_a_file_that_does_not_run(scratch):
    fake = scratch / 'criu'
    fake.write_text('not a program')
    fake.chmod(0o755)
    version, gitid, error = I.read_version(str(fake), I.environ(None), 1.0)
    assert (version, gitid) == (None, None) and error.startswith('cannot run %s: ' % fake), error


def test_worker_killed_midway_takes_criu_with_it(scratch):
    """PR_SET_PDEATHSIG: when the engine kills a worker, its criu dies too."""
    pidfile = scratch / 'pid'
    _stand_in(scratch, 'echo $$ > %s\nexec sleep 300\n' % pidfile)
    pid = os.fork()
    if pid == 0:
        try:
            I.check(Ctx(timeout=60), path=str(scratch) + ':/usr/bin:/bin')
        finally:
            os._exit(0)
    process_list.until(lambda: pidfile.exists() and pidfile.read_text().strip(), 10)
    criu_pid = int(pidfile.read_text())
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert process_list.ended([criu_pid], 5), 'criu is still running'


def test_import_is_cheap():
    """Loaded in the job's worker, a fork of the module's process, which has
    imported the engine, the probe context and criu's words already: no subprocess,
    tempfile or platform at import time, and little work (compiling aside,
    which Ansible does for every module_utils file alike)."""
    code = (
        'import re, sys, time; sys.path.insert(0, %r)\n'
        'from ansible_collections.criu.check.plugins.module_utils import _context, _criu_words, _engine\n'
        'from ansible_collections.criu.check.plugins import module_utils\n'
        'path = module_utils.__path__[0] + "/_installed_criu.py"\n'
        'compiled = compile(open(path).read(), path, "exec")\n'
        'before = set(sys.modules)\n'
        't = time.monotonic(); exec(compiled, {"__name__": "probe"}); took = time.monotonic() - t\n'
        'print(took); print(" ".join(sorted(set(sys.modules) - before)))\n' % COLLECTIONS)
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    took, loaded = out.stdout.splitlines()[0], out.stdout.splitlines()[1:]
    loaded = loaded[0].split() if loaded else []
    # a loose bound: this machine is shared, and the point is "no heavy work"
    # (measured about 7 ms when it is quiet)
    assert float(took) < 0.25
    assert not [m for m in loaded if m in ('subprocess', 'tempfile', 'platform')
                or m.startswith('ansible_collections.criu')], loaded


# ------------------------------------------------------------------ the whole facts

def _facts_with(env):
    """criu_facts as the module builds them (tests/tools/run_probes.py runs
    _check.run: the probes, and the installed criu's check beside them)."""
    proc = subprocess.run([sys.executable, os.path.join(TOOLS, 'run_probes.py'), '--category', 'required',
                           '--category', 'extra'], env=dict(os.environ, **env), cwd='/', capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(proc.stdout)['facts']


def test_facts_say_ready_but_not_usable_with_debian12_criu(debian12_env):
    """The operator's case: the kernel passes, and the criu that runtimes call
    cannot start here.  criu_ready true, criu_usable false, and why."""
    if not (platform.machine() == 'x86_64' and _kernel_at_least(6, 13)):
        pytest.skip('criu 3.17.1 starts on kernels before 6.13 (and off x86_64): kernel %s' % platform.release())
    facts = _facts_with(debian12_env)
    assert facts['ready'] is True, facts['summary']
    assert facts['usable'] is False
    criu = facts['criu']
    assert criu['installed'] is True and criu['version'] == '3.17.1' and criu['usable'] is False
    assert 'vdso: Unexpected rt vDSO area bounds' in criu['reason']
    assert 'criu 4.1 or newer' in criu['fix']
    assert criu['agrees'] is False and criu['disagreements'][0]['kind'] == 'criu_too_old'


def test_facts_without_any_criu(scratch):
    if any(os.path.exists(os.path.join(d, 'criu')) for d in I.SBIN_DIRS):
        pytest.skip('this host has criu installed in an sbin directory')
    facts = _facts_with({'PATH': str(scratch) + os.pathsep + '/usr/bin:/bin'})
    assert facts['criu']['installed'] is False and facts['criu']['usable'] is False
    assert facts['usable'] is False
    assert facts['ready'] in (True, False) and facts['verdict'] in ('good', 'good_but', 'bad', 'undecided')


# ------------------------------------------------------------------ run_isolated(): the private namespace

MS_SHARED = 1 << 20   # <linux/mount.h>


def _shared_run():
    """In the child: a throwaway mount namespace (leftovers.quiet_scratch) with its own tmpfs on /run, shared
    as systemd makes every mount: a mount criu's namespace made there without making it private would
    show here."""
    quiet_scratch()
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.mount(b'test', b'/run', b'tmpfs', ctypes.c_ulong(0), None) == 0
    assert libc.mount(None, b'/run', None, ctypes.c_ulong(MS_SHARED), None) == 0


def _isolated(argv, timeout=10):
    return I.run_isolated(argv, I.environ(None), time.monotonic() + timeout, euid=0, cap_eff=I.own_caps())


def test_what_criu_writes_to_run_stays_in_its_namespace_when_run_is_shared():
    """criu's kdat cache goes to /run; as root it gets an empty tmpfs there, in a mount namespace of its own
    whose every mount is private: neither the tmpfs nor what is written on it reaches the namespace that ran
    it, though /run there is shared.  A stand-in criu writes the cache where criu does."""
    def body():
        before = {'mounts': mounts(), 'run': sorted(os.listdir('/run'))}
        os.dup2(os.pipe()[0], 0)   # a stdin criu could read from (pytest's is /dev/null already)
        run = _isolated(['/bin/sh', '-c', 'echo cache > /run/criu.kdat && ls /run && stat -c %a /run && '
                         'awk \'$5 == "/run" {options = $6} END {print options}\' /proc/self/mountinfo && '
                         'pwd && readlink /proc/self/fd/0'])
        return {'run': run, 'before': before, 'after': {'mounts': mounts(), 'run': sorted(os.listdir('/run'))}}
    got = in_child(body, _shared_run)
    run = got['run']
    assert run['isolation'] == 'mount_namespace' and run['unprivileged'] is False, run
    # /run as systemd mounts it; criu in /, not in the caller's directory, and reading nothing
    assert run['result'][:2] == [0, 'criu.kdat\n755\nrw,nosuid,nodev,relatime\n/\n/dev/null\n'], run
    assert got['after'] == got['before'] == {'mounts': got['before']['mounts'], 'run': []}


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='the filter uses x86_64 system call numbers')
@pytest.mark.parametrize('flags, why', [
    (0x4000 | 1 << 18, 'mount --make-rprivate /: Operation not permitted'),       # MS_REC | MS_PRIVATE
    (I.MS_NOSUID | I.MS_NODEV, 'mounting a tmpfs on /run: Operation not permitted'),
], ids=['rprivate', 'tmpfs'])
def test_a_refused_private_namespace_says_why_and_criu_runs_unprivileged(flags, why):
    """A mount of the private namespace refused (as AppArmor or a seccomp profile can, with CAP_SYS_ADMIN):
    the note says which and why, not subprocess's "Exception occurred in preexec_fn.", and criu runs with
    --unprivileged, with nothing mounted in the namespace that ran it."""
    import seccomp_deny as SD

    def setup():
        _shared_run()
        SD.call_fails('mount', 3, flags, 1)()   # EPERM

    def body():
        before = mounts()
        return {'run': _isolated(['/bin/true']), 'same': mounts() == before}
    got = in_child(body, setup)
    run = got['run']
    assert run['note'].startswith('the private mount namespace was refused (%s), so criu ran with --unprivileged'
                                  % why), run['note']
    assert run['isolation'] == 'xdg_runtime_dir' and run['unprivileged'] is True, run
    assert run['argv'] == ['/bin/true', '--unprivileged'] and run['result'][0] == 0, run
    assert got['same'] is True


@pytest.mark.parametrize('context, why', [
    ('nonroot', 'criu runs as non-root, which requires --unprivileged'),
    ('no_sys_admin', 'no CAP_SYS_ADMIN for a private mount namespace'),
    ('userns', 'this user namespace does not own its mount namespace, where criu without --unprivileged cannot '
               'make its start-up mount'),
])
def test_where_criu_cannot_answer_as_root_it_runs_unprivileged_and_says_why(scratch, context, why):
    """Without what criu's start-up as root needs (euid 0, CAP_SYS_ADMIN, a user namespace that owns the mount
    namespace: unshare -U alone gives none), a private namespace would change criu's answer, not isolate it:
    criu runs with --unprivileged instead, and the note says why.  The euid and capabilities are the job
    context's (as the engine hands them), the user namespace is real; its cache directory is made in the
    context's scratch directory, which the engine removes even when it kills the job.  A stand-in criu
    says where its cache would go."""
    from ansible_collections.criu.check.plugins.module_utils import _caps
    from conftest import enter_user_namespace
    fake = _stand_in(scratch, 'echo "$XDG_RUNTIME_DIR"; echo "Looks good."\n')
    job_scratch = scratch / 'job'
    job_scratch.mkdir()

    def body():
        ctx = Ctx(timeout=10)
        ctx.scratch = str(job_scratch)
        ctx.euid, ctx.cap_eff = 0, I.own_caps()
        if context == 'nonroot':
            ctx.euid = 65534
        elif context == 'no_sys_admin':
            ctx.cap_eff &= ~(1 << _caps.CAP_SYS_ADMIN)
        return I.check(ctx, path=str(scratch) + ':/usr/bin:/bin')['check']
    check = in_child(body, enter_user_namespace if context == 'userns' else quiet_scratch)
    assert check['isolation_note'].startswith('%s, so criu ran with --unprivileged' % why), check['isolation_note']
    assert (check['isolation'], check['unprivileged'], check['argv']) == (
        'xdg_runtime_dir', True, [str(fake), 'check', '--unprivileged']), check
    assert check['stdout'].startswith(str(job_scratch / 'criu-check-kdat.')), check['stdout']
    assert os.listdir(str(job_scratch)) == []


def test_without_a_private_directory_for_its_cache_criu_gets_no_xdg_runtime_dir(scratch):
    """--unprivileged criu saves its cache in $XDG_RUNTIME_DIR: where no private directory can be made for
    it, the variable is unset (criu then saves none) rather than left pointing at the caller's directory,
    where the cache would stay.  A stand-in criu says what it got."""
    _stand_in(scratch, 'echo "${XDG_RUNTIME_DIR-unset}"; echo "Looks good."\n')

    def prepare():
        quiet_scratch()
        os.environ['XDG_RUNTIME_DIR'] = '/run/user/0'

    def body():
        ctx = Ctx(unprivileged=True, timeout=10)
        ctx.scratch = str(scratch / 'missing')
        return I.check(ctx, path=str(scratch) + ':/usr/bin:/bin')['check']
    check = in_child(body, prepare)
    assert (check['isolation'], check['stdout'], check['verdict']) == ('none', 'unset\nLooks good.\n', 'good'), check
    assert check['isolation_note'].startswith('--unprivileged was asked for; no private directory for its cache'), check


def test_a_criu_that_cannot_be_executed_is_not_run_again_unprivileged(scratch):
    """A criu the kernel will not execute (here: no valid executable format) in a private namespace that
    was made: that is the answer, not_run with the exec's error, and not a refused namespace followed by a
    second attempt with --unprivileged."""
    fake = scratch / 'criu'
    fake.write_text('not a program')
    fake.chmod(0o755)
    raw = _check_in_child(path=str(scratch) + ':/usr/bin:/bin', timeout=5)
    check = raw['check']
    assert check['verdict'] == 'not_run' and 'Exec format error' in check['messages'][0], check
    assert check['argv'] == [str(fake), 'check'], check
    assert (check['isolation'], check['unprivileged']) == ('mount_namespace', False), check
    assert 'refused' not in check['isolation_note'], check
    assert_nothing_left(raw)
