# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_defaults for the criu action group (meta/runtime.yml) reach both
modules through real ansible-playbook on localhost, as criu_facts' EXAMPLES
show it."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import conftest

ANSIBLE_BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(ANSIBLE_BIN, 'ansible-playbook')),
                                reason='ansible-core is not installed beside this Python')


def _play(tmp_path, group_defaults, tasks):
    """Run ``tasks`` (each registered, errors ignored) under ``module_defaults`` for
    ``group/criu.check.criu``; return {register name: result}."""
    out = tmp_path / 'out.json'
    names = [t['register'] for t in tasks]
    play = [{
        'hosts': 'all',
        'gather_facts': False,
        'module_defaults': {'group/criu.check.criu': group_defaults},
        'tasks': [dict(t, ignore_errors=True) for t in tasks] + [{
            'name': 'save the results',
            'ansible.builtin.copy': {'dest': str(out),
                                     'content': '{{ {%s} | to_json }}' % ', '.join("'%s': %s" % (n, n) for n in names)},
        }],
    }]
    path = tmp_path / 'play.yml'
    path.write_text(json.dumps(play))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=conftest.COLLECTIONS, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    proc = subprocess.run([os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', str(path)],
                          env=env, cwd=str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0 and out.exists(), textwrap.shorten(proc.stdout, 4000)
    return json.loads(out.read_text())


def test_an_invalid_timeout_from_the_group_fails_both_modules(tmp_path):
    results = _play(tmp_path, {'timeout': -1}, [
        {'name': 'facts', 'criu.check.criu_facts': {'categories': ['required']}, 'register': 'facts'},
        {'name': 'check', 'criu.check.criu_check': {'feature': ['kcmp']}, 'register': 'check'},
    ])
    for name in ('facts', 'check'):
        assert results[name].get('failed'), results[name]
        assert results[name]['msg'] == 'timeout must be a positive number of seconds, at most 86400 (a day), got -1.0', results[name]


def test_the_group_sets_unprivileged_and_a_task_option_overrides_it(tmp_path):
    results = _play(tmp_path, {'timeout': 10, 'unprivileged': True}, [
        {'name': 'facts', 'criu.check.criu_facts': {'categories': ['required']}, 'register': 'facts'},
        {'name': 'check', 'criu.check.criu_check': {'feature': ['kcmp'], 'fail_on': 'never'}, 'register': 'check'},
        {'name': 'override', 'criu.check.criu_check': {'feature': ['kcmp'], 'fail_on': 'never', 'unprivileged': False},
         'register': 'override'},
    ])
    assert not results['facts'].get('failed'), results['facts']
    assert results['facts']['ansible_facts']['criu_facts']['environment']['unprivileged'] is True
    assert results['check']['environment']['unprivileged'] is True, results['check']
    assert results['override']['environment']['unprivileged'] is False, results['override']
