# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_facts never ends in a traceback: run for real with 8, 12 and 16
open files allowed, and with every fork refused (a seccomp filter: root
ignores RLIMIT_NPROC), both directly and through Ansible (the limit applies
to the module's interpreter only, through an interpreter wrapper).  The
result is JSON every time: facts whose probes carry the reason as ``error``,
or failed=true with a clear message."""

import json
import os
import subprocess
import sys

import pytest

import conftest
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
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'categories': ['required', 'extra']}}))
    env = dict(os.environ, PYTHONPATH=conftest.COLLECTIONS)
    proc = subprocess.run([sys.executable, LIMITS] + shortage +
                          ['--', sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.criu_facts',
                           str(args)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, check=False)
    assert 'Traceback' not in proc.stderr, proc.stderr
    result = json.loads(proc.stdout)
    assert (proc.returncode != 0) == bool(result.get('failed'))
    _check(result, shortage)


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
