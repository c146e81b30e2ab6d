# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared pytest set-up: import the collection by its FQCN, and run real
probes in forked children under restricted identities."""

import contextlib
import ctypes
import hashlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collection_path():
    """Make ``ansible_collections.criu.check`` importable from this checkout
    (a symlink tree outside the repository, so nothing is generated in it).
    The tree is this checkout's own: two checkouts tested at the same time
    (a CI clone beside a working tree) must not import each other's code."""
    key = hashlib.sha256(REPO.encode('utf-8')).hexdigest()[:12]
    root = os.path.join(tempfile.gettempdir(), 'criu-check-collections-%d-%s' % (os.getuid(), key))
    link = os.path.join(root, 'ansible_collections', 'criu', 'check')
    os.makedirs(os.path.dirname(link), exist_ok=True)
    if os.path.realpath(link) != REPO:
        tmp = link + '.%d' % os.getpid()
        os.symlink(REPO, tmp)
        os.replace(tmp, link)
    return root


COLLECTIONS = _collection_path()
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)

from ansible_collections.criu.check.plugins.module_utils import _context  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _registry  # noqa: E402

sys.path.insert(0, os.path.join(REPO, 'tests', 'tools'))
# What AnsibleModule has imported before a module's probes run: the probes'
# tool lookup (_context.which) needs it, and a probe child that has dropped
# to another user may no longer read the virtual environment to import it.
import ansible.module_utils.common.process  # noqa: E402,F401  # pylint: disable=unused-import

NOBODY = 65534
DEBIAN12_CRIU = os.path.join(REPO, 'tests', 'tools', 'debian12_criu.sh')


def debian12_criu(command):
    """Debian 12's criu 3.17.1, unpacked (and cached) by
    tests/tools/debian12_criu.sh, which builds it on a fresh machine: the
    output of its ``command`` (``env``, ``path``).  Skips, with the reason,
    where it cannot be unpacked (no package mirror)."""
    try:
        build = subprocess.run([DEBIAN12_CRIU, 'build'], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                               timeout=300, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip("Debian 12's criu cannot be unpacked: %s" % exc)
    if build.returncode != 0:
        pytest.skip("Debian 12's criu cannot be unpacked: %s" % build.stderr.strip()[-600:])
    return subprocess.run([DEBIAN12_CRIU, command], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=30, check=True).stdout


CLONE_NEWUSER = 0x10000000
_LIBC = ctypes.CDLL(None, use_errno=True)


def run_tool(argv):
    """Run a userland tool as the probes and the modules do
    (ProbeContext.run: found on PATH, C locale, rc 127 when it is missing)."""
    return _context.ProbeContext().run(argv)


def direct(module, args, check=False, cwd='/', timeout=60):
    """Run plugins/modules/MODULE.py of this checkout with ``args`` as
    Ansible does on a host; return its JSON result."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, 'args.json')
        with open(path, 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': dict(args, _ansible_check_mode=check)}, f)
        proc = subprocess.run([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.' + module, path],
                              env=dict(os.environ, PYTHONPATH=COLLECTIONS), cwd=cwd, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, check=False)
    assert 'Traceback' not in proc.stderr, proc.stderr
    return json.loads(proc.stdout)


@contextlib.contextmanager
def images_dir_with_special_files(directory):
    """``directory`` (a pathlib path) with the files an images directory may hold that are no regular file: a
    FIFO and a bound unix socket (criu's lazy-pages.socket), the socket bound while the block runs."""
    directory.mkdir()
    os.mkfifo(str(directory / 'fifo'))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(directory / 'lazy-pages.socket'))
        yield directory
    finally:
        sock.close()


class _CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32),
                ('inheritable', ctypes.c_uint32)]


def drop_effective_caps(caps):
    """Remove ``caps`` (numbers) from this process's effective and permitted sets."""
    header = _CapHeader(0x20080522, 0)
    data = (_CapData * 2)()
    if _LIBC.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), 'capget')
    for cap in caps:
        word, bit = divmod(cap, 32)
        data[word].effective &= ~(1 << bit)
        data[word].permitted &= ~(1 << bit)
    if _LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), 'capset')


def enter_user_namespace():
    """As ``unshare -Ur``: a new user namespace with the caller mapped to root."""
    uid, gid = os.geteuid(), os.getegid()
    if _LIBC.unshare(CLONE_NEWUSER) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWUSER)')
    with open('/proc/self/setgroups', 'w') as f:
        f.write('deny')
    with open('/proc/self/uid_map', 'w') as f:
        f.write('0 %d 1' % uid)
    with open('/proc/self/gid_map', 'w') as f:
        f.write('0 %d 1' % gid)


def become_user(uid=NOBODY, gid=NOBODY):
    """Drop to a plain non-root user: all capabilities go with it."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def in_child(func, setup=None, timeout=30):
    """Run ``func()`` in a forked child after ``setup()``; return its JSON-able
    result.  The child's exceptions come back re-raised as RuntimeError."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(rfd)
            try:
                if setup:
                    setup()
                payload = {'ok': func()}
            except BaseException as exc:  # report everything to the parent
                payload = {'exc': '%s: %s' % (type(exc).__name__, exc)}
            data = json.dumps(payload, default=str).encode()
            while data:
                data = data[os.write(wfd, data):]
        finally:
            os._exit(0)  # never return into pytest in the child
    os.close(wfd)
    signal.signal(signal.SIGALRM, lambda *a: os.kill(pid, signal.SIGKILL))
    signal.alarm(timeout)
    try:
        chunks = []
        while True:
            chunk = os.read(rfd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        signal.alarm(0)
        os.close(rfd)
        os.waitpid(pid, 0)
    if not chunks:
        raise RuntimeError('child died without a result')
    payload = json.loads(b''.join(chunks))
    if 'exc' in payload:
        raise RuntimeError(payload['exc'])
    return payload['ok']


def run_probe(probe_id, unprivileged=False, as_user=None, drop_caps=(), userns=False):
    """Run one real probe function in a forked child, in the context asked for.

    as_user: a uid to become (gid the same) before probing
    drop_caps: capability numbers removed from the effective/permitted sets
    userns: enter a new user namespace first (as ``unshare -Ur``)
    """
    probe = _registry.BY_ID[probe_id]

    def setup():
        if userns:
            enter_user_namespace()
        if as_user is not None:
            become_user(as_user, as_user)
        if drop_caps:
            drop_effective_caps(drop_caps)

    def body():
        return probe.func(_context.ProbeContext(unprivileged=unprivileged))

    return in_child(body, setup)


requires_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root')


# What a person should look at after the run (the fleet report's screenshot):
# tests append (what, path) through the fixture; the paths are printed last.
_ARTIFACTS = []


@pytest.fixture(scope='session')
def fleet_artifacts():
    """Append (what, path) to have it printed at the end of the test run."""
    return _ARTIFACTS


# Seconds spent per stage (tests/STAGE/...: set-up, call and tear-down of its
# tests), printed at the end so that a slow stage shows in every CI log.
_STAGE_SECONDS = {}


def pytest_runtest_logreport(report):
    parts = report.nodeid.split('/')
    stage = parts[1] if len(parts) > 2 and parts[0] == 'tests' else parts[0]
    _STAGE_SECONDS[stage] = _STAGE_SECONDS.get(stage, 0.0) + (report.duration or 0.0)


def pytest_terminal_summary(terminalreporter):
    if _STAGE_SECONDS:
        terminalreporter.section('time per stage')
        for stage, seconds in sorted(_STAGE_SECONDS.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line('%-14s %7.1f s (%.1f min)' % (stage, seconds, seconds / 60))
    for what, path in _ARTIFACTS:
        terminalreporter.write_line('fleet report %s: %s' % (what, path))


# tests/vm/test_vm_arm64.py: an arm64 guest under TCG, too slow for every run.
# Selected by ``-m arm64`` or CRIU_CHECK_ARM64=1; skipped (with the reason)
# otherwise, so that the default run of scripts/test leaves it out.
def pytest_configure(config):
    config.addinivalue_line('markers', 'arm64: Debian arm64 in qemu-system-aarch64 (slow; -m arm64 or CRIU_CHECK_ARM64=1)')
    # python-ptrace 0.9.9's ptrace/tools.py computes its time-zone offset at import with
    # datetime.utcfromtimestamp(), deprecated since Python 3.12; the probes use none of it.
    config.addinivalue_line('filterwarnings',
                            r'ignore:datetime\.datetime\.utcfromtimestamp\(\) is deprecated:DeprecationWarning:ptrace\.tools')


# The VM boots of tests/vm start with the session, in the background, when the
# run holds tests that need them (see "early boots" in tests/vm/_vm.py).
_EARLY_BOOT_MODULES = ('tests/vm/test_vm_differential.py', 'tests/vm/test_vm_variants.py', 'tests/vm/test_vm_seccomp.py')


def pytest_collection_finish(session):
    if not session.config.option.collectonly and any(item.nodeid.startswith(_EARLY_BOOT_MODULES)
                                                     for item in session.items):
        import _vm   # importable: pytest put tests/vm on sys.path to collect those modules
        _vm.start_early(COLLECTIONS)


def pytest_sessionfinish(session):
    vm_module = sys.modules.get('_vm')
    if vm_module is not None:
        vm_module.stop_early()


def _vm_rank(item):
    """The order of the vm stage: first the tests of a VM pair (migration),
    which keep about one core busy, while the early boots go on beside them
    one at a time; then the tests of those boots (the fixture ``vms``, which
    lets the early boots run two at a time); the checks that nothing is
    left, last."""
    if item.nodeid.startswith('tests/vm/test_vm_zz_'):
        return 2
    return 1 if 'vms' in getattr(item, 'fixturenames', ()) else 0


def pytest_collection_modifyitems(config, items):
    positions = [i for i, item in enumerate(items) if item.nodeid.startswith('tests/vm/')]
    for i, item in zip(positions, sorted((items[i] for i in positions), key=_vm_rank)):
        items[i] = item
    if os.environ.get('CRIU_CHECK_ARM64') == '1' or 'arm64' in (config.getoption('markexpr') or ''):
        return
    skip = pytest.mark.skip(reason='arm64 VM test: run with -m arm64 or CRIU_CHECK_ARM64=1')
    for item in items:
        if item.get_closest_marker('arm64') is not None:
            item.add_marker(skip)


# Real criu outputs (criu 4.1.1 and 3.17.1 on this host's kernel, recorded by
# tests/tools/capture_criu_outputs.py), for facts of an installed criu where the
# test needs one this host does not have.
with open(os.path.join(REPO, 'tests', 'unit', 'fixtures', 'installed_criu_outputs.json')) as _f:
    INSTALLED_CRIU_OUTPUTS = json.load(_f)


def installed_criu_facts(check, version, facts):
    """criu_facts.criu as _installed_criu.describe() makes it from the real
    output ``check`` of INSTALLED_CRIU_OUTPUTS, for a host with ``facts``."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    case = INSTALLED_CRIU_OUTPUTS[check]
    raw = {'binaries': [{'path': '/usr/sbin/criu', 'realpath': '/usr/sbin/criu', 'from': 'PATH', 'selected': True,
                         'version': version, 'gitid': None, 'error': None}],
           'path': '/usr/sbin/criu', 'version': version, 'gitid': None,
           'kernel': {'release': facts['kernel']['release'], 'arch': facts['kernel']['arch']},
           'os': {'id': 'debian', 'version_id': '12', 'name': 'Debian GNU/Linux 12 (bookworm)'},
           'check': dict(_installed_criu.parse(case['rc'], case['stdout'], case['stderr']), unprivileged=False,
                         isolation='mount_namespace', argv=case['argv'])}
    return _installed_criu.describe(raw, facts)


CRIU_ROOT = os.path.join(REPO, 'tests', 'tools', 'criu_root.sh')


def criu_root_or_skip():
    """Build (or find) the Debian 13 root with real criu (tests/tools/criu_root.sh)
    and return its path; skip the calling test when it cannot be built here."""
    import subprocess
    try:
        build = subprocess.run([CRIU_ROOT, 'build'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=900, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.skip('the criu root cannot be built: %s' % exc)
    if build.returncode != 0:
        pytest.skip('the criu root cannot be built: %s' % build.stderr.decode('utf-8', 'replace')[-600:])
    return build.stdout.decode().strip()


def python_in_new_pid_namespace(*args):
    """``python ARGS`` (this interpreter, the collection on its path) in a new
    pid namespace without a /proc of its own (unshare --pid --fork, no
    --mount-proc): what it printed, read as JSON."""
    proc = subprocess.run(['unshare', '--pid', '--fork', sys.executable] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=COLLECTIONS),
                          timeout=60, check=False)
    try:
        return json.loads(proc.stdout.decode())
    except ValueError:
        raise AssertionError('no JSON from python %s: %r %r'
                             % (' '.join(args), proc.stdout[-2000:], proc.stderr[-2000:]))


def criu_and_facts_in_root(prepare='true', run_in='', check='check', module_args=None):
    """``criu CHECK`` (``check``: criu's arguments; with no kdat cache) and the
    criu_facts module (with ``module_args``), both run as ``run_in CMD`` in
    the Debian 13 root after the shell command ``prepare``: (what criu
    printed, with "criu rc N" last; the facts)."""
    criu_root_or_skip()
    args = json.dumps({'ANSIBLE_MODULE_ARGS': module_args or {}})
    script = ('cd / && {prepare} && rm -f /run/criu.kdat && {run_in} criu {check} >&2; echo "criu rc $?" >&2; '
              'mkdir -p /run/c/ansible_collections/criu && ln -s /src /run/c/ansible_collections/criu/check && '
              'echo {args} > /run/args.json && cd /run && PYTHONPATH=/run/c {run_in} '
              'python3 -m ansible_collections.criu.check.plugins.modules.criu_facts /run/args.json'
              ).format(prepare=prepare, run_in=run_in, check=check, args=shlex.quote(args))
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'sh', '-c', script], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300, check=False)
    err = proc.stderr.decode('utf-8', 'replace')
    try:
        return err, json.loads(proc.stdout.decode())['ansible_facts']['criu_facts']
    except ValueError:
        raise AssertionError('criu_facts printed no JSON: %r %r' % (proc.stdout[-2000:], err[-2000:]))


def smoke_in_root(prepare='true', run_in='', module_args=None):
    """criu_smoke (with ``module_args``; fail_on_error false, timeout 30 by
    default) run as ``run_in CMD`` in the Debian 13 root after the shell
    command ``prepare``, its working directories in /run/s (writable by
    anyone): its result."""
    criu_root_or_skip()
    args = json.dumps({'ANSIBLE_MODULE_ARGS': dict({'tmpdir': '/run/s', 'fail_on_error': False, 'timeout': 30},
                                                   **(module_args or {}))})
    script = ('cd / && {prepare} && mkdir -p /run/s && chmod 777 /run/s && '
              'mkdir -p /run/c/ansible_collections/criu && ln -s /src /run/c/ansible_collections/criu/check && '
              'echo {args} > /run/args.json && cd /run && PYTHONPATH=/run/c {run_in} '
              'python3 -m ansible_collections.criu.check.plugins.modules.criu_smoke /run/args.json'
              ).format(prepare=prepare, args=shlex.quote(args), run_in=run_in)
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'sh', '-c', script], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
    try:
        return json.loads(proc.stdout.decode())
    except ValueError:
        raise AssertionError('criu_smoke printed no JSON: %r %r' % (proc.stdout[-2000:], proc.stderr[-2000:]))
