# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_smoke for real: a dump and restore with criu 4.1.1 in the Debian 13
root, criu's own reason with Debian 12's criu 3.17.1 (too old for this
kernel), and nothing left behind after repeated runs, a timeout, or the module
killed with SIGKILL during the dump, the restore, or while it checks the
restored tree.  The options and check mode go through real Ansible."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import pytest

import conftest
import return_doc

from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils._probes_sockets import LOOPBACK_DOWN_FIX

REPO = conftest.REPO
CRIU_ROOT = conftest.CRIU_ROOT
INSIDE = os.path.join(REPO, 'tests', 'system', 'smoke_inside.py')
ANSIBLE_BIN = os.path.dirname(sys.executable)

pytestmark = conftest.requires_root

NOTHING_LEFT = {'marked': [], 'seen_alive': [], 'new_in_our_sessions': [], 'files': [], 'mounts_added': [],
                'mounts_removed': [], 'kdat_created': False}


def _left(report):
    left = dict(report['leftovers'])
    left.pop('clean_after_ms', None)
    return left


@pytest.fixture(scope='module')
def criu_root():
    """The root's path, and its criu's version as it says it."""
    root = conftest.criu_root_or_skip()
    version = subprocess.run([CRIU_ROOT, 'run', '--', 'criu', '--version'], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=60, check=False).stdout.decode()
    return root, version.split('Version:')[1].split()[0]


def in_root(scenario, args=None, context='root'):
    """smoke_inside.py in the root, with the root's python3."""
    proc = subprocess.run([CRIU_ROOT, 'run', '--context', context, '--', 'python3',
                           '/src/tests/system/smoke_inside.py', '/src', scenario, json.dumps(args or {})],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
    return json.loads(proc.stdout.decode())


def test_smoke_passes_with_criu_411(criu_root):
    dummy, version = criu_root
    report = in_root('once', {'timeout': 60})
    res = report['runs'][0]
    assert res['ok'] is True and not res.get('failed'), res
    assert res['changed'] is False and res['stage'] == 'done'
    assert res['criu'] == {'path': '/usr/sbin/criu', 'version': version}
    assert res['dump_ms'] > 0 and res['restore_ms'] > 0
    assert res['image_size'] > 100000          # a Python process's memory, not an empty directory
    counter = res['counter']
    assert counter['after'] > counter['before'] >= 3
    assert counter['child_after'] > counter['child_before'] >= 3
    assert res['log'] == []
    assert res['cleanup'] == {'killed': 2, 'removed': True}   # the restored leader and child
    assert return_doc.mismatches(res, 'criu_smoke') == []
    # It really was a tree of two, dumped by criu and restored from its images.
    assert any(' dump -t ' in s for s in report['seen']) and any(' restore -d ' in s for s in report['seen'])
    assert _left(report) == NOTHING_LEFT


def test_repeated_runs_leave_nothing(criu_root):
    report = in_root('repeat:5', {'timeout': 60})
    assert [r.get('ok') for r in report['runs']] == [True] * 5, report['runs']
    assert _left(report) == NOTHING_LEFT


@pytest.mark.parametrize('when', ['dump', 'restore', 'restored'])
def test_module_killed_halfway_leaves_nothing(criu_root, when):
    """SIGKILL of the module process: the watchdog ends criu and the tree
    (re-parented, and after `restored` a tree criu brought back) and removes
    the images.  The moment is caught by watching the module's children, so
    a fast criu can slip through: try a few times."""
    for dummy in range(4):
        report = in_root('kill:' + when, {'timeout': 60})
        run = report['runs'][0]
        if run['killed_at']:
            break
    assert run['killed_at'], 'never caught the module during %s' % when
    assert run['rc'] == -9
    assert report['seen'], 'no process of the smoke was seen: the test saw nothing to leak'
    assert _left(report) == NOTHING_LEFT


# Well below the whole smoke here (about 0.3 s): 0.05 s ends it while the counter
# starts, 0.08 s during criu dump.  (0.15 s reached the restore, and once, on a
# loaded machine, the end: a step that ends while the module waits for the CPU is
# seen finished, not late.)
@pytest.mark.parametrize('timeout', [0.05, 0.08])
def test_timeout_ends_everything(criu_root, timeout):
    report = in_root('once', {'timeout': timeout})
    res = report['runs'][0]
    assert res['ok'] is False and res['failed'] is True
    assert 'timeout' in res['msg'] and res['stage'] in ('start', 'dump', 'restore', 'verify'), res['msg']
    assert res['cleanup']['removed'] is True
    assert return_doc.mismatches(res, 'criu_smoke') == []
    assert _left(report) == NOTHING_LEFT


def test_one_timeout_bounds_criu_version_and_the_smoke(tmp_path):
    """A criu that answers nothing, not even --version: both share the timeout (each had its own)."""
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\nexec sleep 60\n')
    criu.chmod(0o755)
    start = time.monotonic()
    result = conftest.direct('criu_smoke', {'criu_path': str(criu), 'timeout': 3, 'tmpdir': str(tmp_path)},
                             cwd=str(tmp_path), timeout=120)
    took = time.monotonic() - start
    assert result['failed'] is True and 'timeout' in result['msg'] and result['criu']['version'] is None, result
    assert result['cleanup']['removed'] is True, result
    # The module's start-up and clean-up aside; with a timeout each, it took 6 s and more.
    assert took < 5.5, 'the task took %.1f s with a timeout of 3 s' % took


def test_without_capabilities_the_failure_names_them(criu_root):
    report = in_root('once', {'timeout': 30}, context='nonroot')
    res = report['runs'][0]
    assert res['ok'] is False and res['failed'] is True and res['stage'] == 'setup'
    assert 'CAP_CHECKPOINT_RESTORE' in res['msg'] and 'CAP_SYS_ADMIN' in res['msg'] and 'uid 65534' in res['msg']
    assert _left(report) == NOTHING_LEFT


def test_in_an_unprivileged_container_the_failure_says_what_the_seccomp_filter_needs(criu_root):
    """criu_root.sh's podman context (CAP_CHECKPOINT_RESTORE only, podman's default seccomp profile): the counter
    tree runs under the container's filter, and criu 4.1.1 cannot suspend it ("suspending seccomp failed"): the
    message says why, with the seccomp_suspend check's fix."""
    report = in_root('once', {'timeout': 30}, context='podman')
    res = report['runs'][0]
    assert res['ok'] is False and res['stage'] == 'dump', res
    assert res['msg'].startswith('criu dump failed (exit 1): suspending seccomp failed: Operation not permitted; '
                                 'the dumped tree runs under a seccomp filter, which criu suspends'), res['msg']
    assert res['msg'].endswith(REG.BY_ID['seccomp_suspend'].fix), res['msg']
    assert _left(report) == NOTHING_LEFT


def test_as_root_of_a_user_namespace_the_failure_says_whose_root_criu_needs(criu_root):
    """criu_root.sh's userns context: criu 4.1.1 dumps, and its restore is refused SO_SNDBUFFORCE, which needs
    CAP_NET_ADMIN in the initial user namespace: the message says so."""
    report = in_root('once', {'timeout': 30}, context='userns')
    res = report['runs'][0]
    assert res['ok'] is False and res['stage'] == 'restore', res
    assert 'Unable to set socket SO_SNDBUFFORCE/SO_RCVBUFFORCE: Operation not permitted; ' in res['msg'], res['msg']
    assert res['msg'].endswith('CAP_NET_ADMIN in the initial user namespace, and root of another user namespace has '
                               'none there: run criu as the host\'s root'), res['msg']
    assert _left(report) == NOTHING_LEFT


def test_without_a_loopback_the_failure_says_to_bring_it_up(criu_root):
    """criu_root.sh's no-loopback context: criu 4.1.1's start-up connects over the loopback, which is down; the
    message says so, as the tcp_half_closed probe's fix does."""
    report = in_root('once', {'timeout': 30}, context='no-loopback')
    res = report['runs'][0]
    assert res['ok'] is False and res['stage'] == 'dump', res
    assert res['msg'] == 'criu dump failed (exit 1): Unable to connect a socket: Network is unreachable; %s' % (
        LOOPBACK_DOWN_FIX), res['msg']
    assert _left(report) == NOTHING_LEFT


def test_criu_3171_fails_with_its_own_reason():
    """Debian 12's criu on this kernel: the dump fails in criu's vDSO set-up,
    and the result quotes criu, not a guess."""
    env = dict(os.environ)
    for line in conftest.debian12_criu('env').split():
        key, dummy, value = line.partition('=')
        if key == 'LD_LIBRARY_PATH':
            env[key] = value
    criu = os.path.join(conftest.debian12_criu('path').strip(), 'root', 'usr', 'sbin', 'criu')
    version = subprocess.run([criu, '--version'], stdout=subprocess.PIPE, env=env, check=False).stdout.decode()
    kernel = tuple(int(x) for x in os.uname().release.split('-')[0].split('.')[:2])
    if kernel < (6, 13):
        pytest.skip('criu 3.17.1 starts on kernel %s.%s; the vDSO failure needs 6.13 or newer' % kernel)
    proc = subprocess.run([sys.executable, INSIDE, REPO, 'once', json.dumps({'criu_path': criu, 'timeout': 30})],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    report = json.loads(proc.stdout.decode())
    res = report['runs'][0]
    assert res['ok'] is False and res['failed'] is True and res['stage'] == 'dump'
    assert res['criu'] == {'path': criu, 'version': version.split('Version:')[1].split()[0]}
    assert res['msg'].startswith('criu dump failed (exit 1): vdso: '), res['msg']
    errors = [line for line in res['log'] if 'Error (criu/vdso.c' in line]
    assert errors and errors[0].endswith(res['msg'].split(': ', 1)[1]), res['log']
    assert res['dump_ms'] is None and res['image_size'] is None
    assert return_doc.mismatches(res, 'criu_smoke') == []
    assert _left(report) == NOTHING_LEFT


def test_find_criu_follows_path_then_sbin(tmp_path):
    from ansible_collections.criu.check.plugins.module_utils import _smoke
    first, second = tmp_path / 'a', tmp_path / 'b'
    for d in (first, second):
        d.mkdir()
        (d / 'criu').write_text('#!/bin/sh\n')
        (d / 'criu').chmod(0o755)
    (first / 'criu').chmod(0o644)          # not executable: skipped
    assert _smoke.find_criu(env_path='%s:%s' % (first, second)) == str(second / 'criu')
    assert _smoke.find_criu(str(first / 'criu')) is None
    assert _smoke.find_criu('criu', env_path=str(second)) == str(second / 'criu')
    empty = tmp_path / 'empty'
    empty.mkdir()
    found = _smoke.find_criu(env_path=str(empty))
    assert found is None or os.path.dirname(found) in _smoke.SBIN_DIRS


def test_a_criu_that_cannot_be_executed_is_named_not_missing(tmp_path):
    """Given as criu_path or first on PATH, a criu without an execute bit: the result names it and the fix."""
    from ansible_collections.criu.check.plugins.module_utils import _smoke
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\n')
    criu.chmod(0o644)
    res = _smoke.run(str(criu), str(tmp_path), 5)
    assert res['ok'] is False and res['stage'] == 'setup' and res['criu']['path'] is None
    assert res['msg'] == 'criu at %s cannot be executed: its mode 0644 has no execute bit; make it executable: chmod +x %s' % (
        criu, criu)
    path = os.environ['PATH']
    try:
        os.environ['PATH'] = str(tmp_path)
        res = _smoke.run(None, str(tmp_path), 5)
    finally:
        os.environ['PATH'] = path
    if res['criu']['path'] is None:     # else this host has an executable criu in an sbin directory
        assert res['msg'].startswith('criu at %s cannot be executed: ' % criu), res['msg']
    assert os.listdir(str(tmp_path)) == ['criu']


# ---------------------------------------------------------------- through Ansible


def _ansible(args, check=False, extra_env=None):
    """One task on localhost through ansible-playbook; return its registered result."""
    if not os.path.exists(os.path.join(ANSIBLE_BIN, 'ansible-playbook')):
        pytest.skip('ansible is not installed beside this Python')
    with tempfile.TemporaryDirectory() as directory:
        out = os.path.join(directory, 'out.json')
        with open(os.path.join(directory, 'play.yml'), 'w') as f:
            f.write(textwrap.dedent('''
                - hosts: all
                  gather_facts: false
                  tasks:
                    - criu.check.criu_smoke: %s
                      register: r
                      ignore_errors: true
                    - ansible.builtin.copy:
                        dest: "{{ out }}"
                        content: "{{ r | to_json }}"
                      check_mode: false
                ''' % json.dumps(args)))
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0', **(extra_env or {}))
        cmd = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', 'out=' + out,
               'play.yml'] + (['--check'] if check else [])
        proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180,
                              cwd=directory, check=False)
        assert proc.returncode == 0 and os.path.exists(out), proc.stdout.decode() + proc.stderr.decode()
        with open(out) as f:
            return json.load(f)


def test_check_mode_runs_nothing(tmp_path):
    res = _ansible({'tmpdir': str(tmp_path)}, check=True)
    assert not res.get('failed') and res['changed'] is False
    assert res['ok'] is None and res['stage'] == 'check_mode' and 'nothing was run' in res['msg']
    assert res['criu']['version'] is None and res['dump_ms'] is None
    assert os.listdir(str(tmp_path)) == []
    assert return_doc.mismatches(res, 'criu_smoke') == []


def test_check_mode_names_the_criu_it_would_run(tmp_path):
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\nexit 1\n')
    criu.chmod(0o755)
    res = _ansible({'criu_path': str(criu)}, check=True)
    assert res['ok'] is None and res['criu'] == {'path': str(criu), 'version': None}, res
    assert res['msg'] == 'check mode: nothing was run (the smoke would dump and restore with %s)' % criu
    res = _ansible({'criu_path': str(tmp_path / 'no-criu')}, check=True)
    assert res['ok'] is None and res['criu']['path'] is None and not res.get('failed'), res
    assert res['msg'].endswith('(the smoke would dump and restore with no criu: none was found)'), res['msg']


@pytest.mark.parametrize('args,needle', [
    ({'timeout': 0}, 'timeout must be a positive number'),
    ({'timeout': 'soon'}, 'timeout'),
    ({'tmpdir': '/nonexistent/criu-smoke'}, 'tmpdir must be an existing directory'),
    ({'fail_on_error': 'maybe'}, 'fail_on_error'),
    ({'no_such_option': 1}, 'no_such_option'),
])
def test_bad_options_fail_naming_them(args, needle):
    res = _ansible(args)
    assert res['failed'] is True and needle in res['msg'], res['msg']


@pytest.mark.parametrize('fail_on_error', [True, False])
def test_no_criu_is_a_clear_result(tmp_path, fail_on_error):
    res = _ansible({'criu_path': 'criu-not-installed-here', 'tmpdir': str(tmp_path),
                    'fail_on_error': fail_on_error})
    assert res['ok'] is False and res['changed'] is False
    assert bool(res.get('failed')) is fail_on_error
    assert 'criu is not installed' in res['msg'] and 'criu-not-installed-here' in res['msg']
    assert os.listdir(str(tmp_path)) == []


def test_through_ansible_in_the_root(criu_root):
    """The root's own ansible-core runs the module with the root's python3:
    the detached tree and the watchdog hold none of Ansible's pipes, so the
    task returns at once and passes."""
    script = textwrap.dedent('''
        set -e
        d=$(mktemp -d)
        mkdir -p "$d/c/ansible_collections/criu" "$d/home"
        ln -s /src "$d/c/ansible_collections/criu/check"
        export ANSIBLE_COLLECTIONS_PATH="$d/c" ANSIBLE_HOME="$d/home" ANSIBLE_LOCAL_TEMP="$d/home/tmp" \\
               ANSIBLE_REMOTE_TEMP="$d/home/tmp" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0
        timeout 120 ansible localhost -c local -e ansible_python_interpreter=/usr/bin/python3 \\
            -m criu.check.criu_smoke -a 'timeout=60 fail_on_error=false' > "$d/out.json" || true
        cat "$d/out.json"
        rm -rf "$d"
        echo '=== left in /tmp:'
        ls -A /tmp
    ''')
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'bash', '-c', script], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300, check=False)
    text, dummy, left = proc.stdout.decode().partition('=== left in /tmp:')
    assert text.startswith('localhost | SUCCESS => {'), text + proc.stderr.decode()
    res = json.loads(text[text.index('{'):])
    assert res['ok'] is True, res
    assert res['changed'] is False and res['counter']['after'] > res['counter']['before']
    assert left.strip() == '', 'left in /tmp: %s' % left
