# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_facts never ends in a traceback: run for real with 8, 12 and 16
open files allowed, and with every fork refused (a seccomp filter: root
ignores RLIMIT_NPROC), both directly and through Ansible (the limit applies
to the module's interpreter only, through an interpreter wrapper).  The
result is JSON every time: facts whose probes carry the reason as ``error``,
or failed=true with a clear message.  With over a thousand files inherited
from its caller it answers as it does without them.  Without procfs it fails,
saying how to mount it."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

import conftest
import process_list
import return_doc
import test_modules

LIMITS = os.path.join(conftest.REPO, 'tests', 'tools', 'limits.py')
STATUSES = ('supported', 'unsupported', 'unknown', 'not_applicable', 'error')
SHORTAGES = [['--nofile', '8'], ['--nofile', '12'], ['--nofile', '16'], ['--refuse-fork']]
REFUSED = 'cannot run the probes: fork() failed: Resource temporarily unavailable (EAGAIN)'


def _check(result, shortage):
    # ansible-core 2.19+ registers every fail_json with an ``exception`` summary
    # ('(traceback unavailable)' without -vvv): what must never be there is a
    # Python traceback from the module.
    assert 'Traceback' not in '%s' % (result.get('exception') or ''), result.get('exception')
    if result.get('failed'):
        assert shortage == ['--refuse-fork'] or 'file descriptors' in result['msg'], result['msg']
        assert result['msg'].startswith(REFUSED) or 'file descriptors' in result['msg'], result['msg']
        assert 'Traceback' not in result['msg']
        return
    facts = result['ansible_facts']['criu_facts']
    assert shortage != ['--refuse-fork'], 'no probe can run without fork'
    assert return_doc.mismatches(result, 'criu_facts', return_doc.CRIU_FACTS_NAMED) == []
    for probe_id, probe in facts['probes'].items():
        assert probe['status'] in STATUSES, (probe_id, probe)
        if probe['status'] == 'error':
            assert 'file descriptors' in probe['message'], (probe_id, probe)


@pytest.mark.parametrize('shortage', SHORTAGES, ids=' '.join)
def test_module_run_directly_answers_json(tmp_path, shortage):
    proc, result = _run_directly(tmp_path, shortage, {'categories': ['required', 'extra']})
    assert (proc.returncode != 0) == bool(result.get('failed'))
    _check(result, shortage)


def test_criu_check_fails_when_no_probe_can_run(tmp_path):
    # the engine's error is the task's failure, as criu_facts', not a result that reads as an answer
    proc, result = _run_directly(tmp_path, ['--refuse-fork'], {'feature': ['kcmp'], 'fail_on': 'never'}, 'criu_check')
    assert proc.returncode != 0 and result.get('failed') is True, result
    assert result['msg'].startswith(REFUSED) and 'verdict' not in result, result


def test_without_procfs_the_module_fails_saying_how_to_mount_it(tmp_path):
    # a chroot or a mount namespace without /proc: criu cannot run there either
    (tmp_path / 'args.json').write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {}}))
    proc = subprocess.run(['unshare', '-m', '--propagation', 'private', 'sh', '-c', 'umount -l /proc && exec "$@"', 'sh',
                           sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.criu_facts',
                           str(tmp_path / 'args.json')], env=dict(os.environ, PYTHONPATH=conftest.COLLECTIONS),
                          cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                          check=False)
    result = json.loads(proc.stdout)
    assert proc.returncode == 1 and result['failed'] is True, (proc.stdout, proc.stderr)
    assert result['msg'] == ('cannot read /proc/self/status: No such file or directory; procfs is not mounted on /proc '
                             'here, and criu cannot run without it: mount -t proc proc /proc'), result


def _run_directly(tmp_path, limits, args, module='criu_facts'):
    (tmp_path / 'args.json').write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=conftest.COLLECTIONS)
    proc = subprocess.run([sys.executable, LIMITS] + limits +
                          ['--', sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.' + module,
                           str(tmp_path / 'args.json')], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    assert 'Traceback' not in proc.stderr, proc.stderr
    return proc, json.loads(proc.stdout)


def test_module_run_with_many_files_inherited_answers_as_without(tmp_path):
    # 1100 files open before it starts: every pipe to a worker is numbered
    # above FD_SETSIZE (1024), which select() refuses with a ValueError
    args = {'categories': ['all']}
    dummy, plain = _run_directly(tmp_path, [], args)
    proc, crowded = _run_directly(tmp_path, ['--inherit', '1100'], args)
    assert proc.returncode == 0 and not crowded.get('failed'), crowded
    statuses = dict((probe_id, probe['status']) for probe_id, probe in crowded['ansible_facts']['criu_facts']['probes'].items())
    assert 'error' not in statuses.values(), crowded['ansible_facts']['criu_facts']['probes']
    assert statuses == dict((probe_id, probe['status'])
                            for probe_id, probe in plain['ansible_facts']['criu_facts']['probes'].items())


@pytest.mark.skipif(not os.path.exists(os.path.join(test_modules.ANSIBLE_BIN, 'ansible')),
                    reason='ansible is not installed beside this Python')
@pytest.mark.parametrize('shortage', SHORTAGES, ids=' '.join)
def test_module_through_ansible_answers_json(tmp_path, shortage):
    wrapper = tmp_path / 'python'
    wrapper.write_text('#!/bin/sh\nexec %s %s %s -- %s "$@"\n' % (sys.executable, LIMITS, ' '.join(shortage),
                                                                  sys.executable))
    wrapper.chmod(0o755)
    result, dummy = test_modules._run_playbook(str(tmp_path), """
        - hosts: all
          gather_facts: false
          tasks:
            - name: the module under a shortage
              criu.check.criu_facts:
                categories: [required, extra]
              vars:
                ansible_python_interpreter: %s
              register: r
              ignore_errors: true
            - name: save the result
              ansible.builtin.copy:
                dest: "{{ out }}"
                content: "{{ r | to_json }}"
    """ % wrapper)
    _check(result, shortage)


MARK = 'CRIU_CHECK_LEAK_MARK'


def _fake_tool(directory, name, body):
    tool = directory / name
    tool.write_text('#!/bin/sh\n' + body)
    tool.chmod(0o755)


def _module(tmp_path, args, **popen):
    """criu_facts started directly, its fake tools first on PATH, every
    process it starts marked, its temporary files in ``tmp_path/tmp``."""
    (tmp_path / 'tmp').mkdir(exist_ok=True)
    (tmp_path / 'args.json').write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    env = dict(os.environ, PYTHONPATH=conftest.COLLECTIONS, PATH='%s:%s' % (tmp_path / 'bin', os.environ['PATH']),
               TMPDIR=str(tmp_path / 'tmp'))
    env[MARK] = str(tmp_path)
    return subprocess.Popen([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.criu_facts',
                             str(tmp_path / 'args.json')], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def _carrying(mark):
    """(pid, command line) of the processes whose environment holds ``mark``."""
    found = []
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open('/proc/%s/environ' % pid, 'rb') as environ:
                if mark in environ.read().split(b'\0'):
                    with open('/proc/%s/cmdline' % pid, 'rb') as cmdline:
                        found.append((int(pid), cmdline.read().replace(b'\0', b' ').decode()))
        except OSError:
            pass
    return found


def _marked(tmp_path, wait=1.0):
    """The processes still marked for this test after up to ``wait`` seconds."""
    mark = ('%s=%s' % (MARK, tmp_path)).encode()
    process_list.until(lambda: not _carrying(mark), wait)
    return _carrying(mark)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGKILL], ids=['SIGTERM', 'SIGKILL'])
def test_a_killed_module_takes_the_tools_of_its_probes_along(tmp_path, sig):
    (tmp_path / 'bin').mkdir()
    _fake_tool(tmp_path / 'bin', 'iptables-save', 'touch "$TMPDIR/../started"; exec sleep 30\n')
    proc = _module(tmp_path, {'categories': ['all'], 'timeout': 20})
    assert process_list.until((tmp_path / 'started').exists, 5), 'the probe never ran its tool'
    proc.send_signal(sig)
    proc.communicate(timeout=10)
    assert _marked(tmp_path) == []
    assert os.listdir(str(tmp_path / 'tmp')) == []


def test_a_runtime_tool_that_hangs_costs_the_module_no_more_than_its_timeout(tmp_path):
    (tmp_path / 'bin').mkdir()
    _fake_tool(tmp_path / 'bin', 'podman', 'echo "$*" >> "$TMPDIR/../podman.log"; exec sleep 20\n')
    start = time.monotonic()
    out = _module(tmp_path, {'categories': ['required'], 'timeout': 1}).communicate(timeout=30)[0]
    elapsed = time.monotonic() - start
    podman = json.loads(out)['ansible_facts']['criu_facts']['runtimes']['podman']
    assert elapsed < 5, elapsed
    # run once, in the job: never again, unbounded, in the module's own process
    assert (tmp_path / 'podman.log').read_text() == '--version\n'
    assert podman['version'] is None
    assert 'runtimes job: the job did not finish within 1.0 s and was killed' in ' '.join(podman['notes']), podman
    assert _marked(tmp_path) == []


@pytest.mark.parametrize('unprivileged', [False, True])
def test_a_short_timeout_ends_criu_and_everything_it_started(tmp_path, unprivileged):
    # criu check outlasts a timeout shorter than its old floor of 0.5 s, and leaves a helper
    (tmp_path / 'bin').mkdir()
    _fake_tool(tmp_path / 'bin', 'criu', 'case "$1" in\n--version) echo "Version: 4.1.1";;\n'
               'check) [ -n "$XDG_RUNTIME_DIR" ] && touch "$XDG_RUNTIME_DIR/criu.kdat"\n'
               '      sleep 30 & sleep 3; echo "Looks good.";;\nesac\n')
    out = _module(tmp_path, {'categories': ['required'], 'timeout': 0.3, 'unprivileged': unprivileged}).communicate(
        timeout=30)[0]
    check = json.loads(out)['ansible_facts']['criu_facts']['criu']['check']
    assert check['verdict'] == 'timeout', check
    assert _marked(tmp_path) == []
    assert os.listdir(str(tmp_path / 'tmp')) == []
