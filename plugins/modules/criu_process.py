#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_process
short_description: Start, check, resume or end the process tree of a migration
version_added: 0.3.0
description:
  - The process side of a migration's steps, around M(criu.check.criu_dump) and M(criu.check.criu_restore).
  - O(state=started) starts O(command) detached, the way criu can dump it - in a session of its own
    (C(setsid)), stdin C(/dev/null), stdout and stderr appended to O(output), in O(cwd), no other inherited
    file descriptor - and returns its pid once it is seen running.
  - O(state=running) fails unless O(pid) exists and is not a zombie; it returns the tree and its state.
  - O(state=resumed) sends C(SIGCONT) to every pid of O(pids) that exists (the rollback of a dump with
    C(--leave-stopped)); C(changed) only when one of them was stopped (state C(T)).
  - O(state=killed) sends C(SIGKILL) to every pid of O(pids) that exists, and waits until they are gone from
    C(/proc) (their pids free again, as a restore of the same tree on the same host needs), at most O(timeout)
    seconds; those still zombies then (their parent has not reaped them) are listed in RV(zombies).
  - It signals no process but those given, and refuses pid 1 and this module with every process it runs under (the
    shell that started it, Ansible's worker, sshd - its parent chain in C(/proc)).
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
options:
  state:
    description: What to do.
    type: str
    choices: [started, running, resumed, killed]
    default: running
  command:
    description:
      - The command to start, a list (run as is) or a string (run by C(/bin/sh -c)). Required for
        O(state=started).
    type: raw
  output:
    description: The file the started command's stdout and stderr are appended to.
    type: path
    default: /dev/null
  cwd:
    description: The started command's working directory.
    type: path
    default: /
  pid:
    description: The process to check, for O(state=running).
    type: int
  pids:
    description: The processes to resume or to kill, for O(state=resumed) and O(state=killed).
    type: list
    elements: int
  timeout:
    description: Seconds to wait for a started command to be seen running, or killed processes to be gone.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: In check mode nothing is started or signalled; O(state=running) runs as usual (it changes nothing).
extends_documentation_fragment:
  - criu.check.criu.linux
seealso:
  - module: criu.check.criu_dump
  - module: criu.check.criu_restore
'''

EXAMPLES = r'''
- name: A counter to migrate, as in phaul's example
  criu.check.criu_process:
    state: started
    command: 'i=0; while :; do i=$((i+1)); echo $i >> /var/tmp/counter; sleep 0.2; done'
  register: workload

- name: Roll back - resume the tree a dump left stopped
  criu.check.criu_process:
    state: resumed
    pids: "{{ dump.tree }}"

- name: End the stopped source tree once the destination runs it
  criu.check.criu_process:
    state: killed
    pids: "{{ dump.tree }}"
'''

RETURN = r'''
pid:
  description: The started or checked process.
  returned: when O(state=started) or O(state=running)
  type: int
tree:
  description: O(pid) and its descendants.
  returned: when O(state=started) or O(state=running)
  type: list
  elements: int
process_state:
  description: The state letter of O(pid) from C(/proc/PID/stat) (C(S) sleeping, C(R) running, C(T) stopped).
  returned: when O(state=running)
  type: str
resumed:
  description: The pids that got C(SIGCONT).
  returned: when O(state=resumed)
  type: list
  elements: int
killed:
  description: The pids that got C(SIGKILL).
  returned: when O(state=killed)
  type: list
  elements: int
zombies:
  description:
    - Killed pids still zombies after O(timeout) (dead, but not yet reaped by their parent); empty in check mode.
  returned: when O(state=killed)
  type: list
  elements: int
'''

import os  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _phaul  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _smoke  # noqa: E402

SETTLE = 0.2      # seconds a started command must stay up to count as started


def start(module, p):
    command = p['command']
    if isinstance(command, str):
        if not command.strip():
            module.fail_json(msg='command must not be empty')
    elif isinstance(command, list) and command and all(isinstance(a, (str, int, float)) for a in command):
        command = [str(a) for a in command]
    else:
        module.fail_json(msg='command must be a string (run by /bin/sh -c) or a non-empty list of arguments, got %r'
                         % (command,))
    if not os.path.isdir(p['cwd']):
        module.fail_json(msg='cwd %s is not a directory' % p['cwd'])
    # Found before check mode decides: open() refuses these only when the command is started.
    if not p['output'] or os.path.isdir(p['output']):
        module.fail_json(msg='output must be a file to append the output to (or /dev/null), got %r' % (p['output'],))
    out_dir = os.path.dirname(p['output']) or '.'
    if not os.path.isdir(out_dir):
        module.fail_json(msg='output %s: its directory does not exist' % p['output'])
    if module.check_mode:
        module.exit_json(changed=True, msg='check mode: nothing was started')
    try:
        proc = _phaul.spawn_detached(command, p['output'], p['cwd'])
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot start %s: %s' % (command, exc))
    deadline = time.monotonic() + min(SETTLE, p['timeout'])
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    if proc.poll() is not None:
        module.fail_json(msg='the command exited at once with code %s (its output is in %s)'
                         % (proc.returncode, p['output']), rc=proc.returncode)
    # It runs on after the module; keep Popen from waiting for it or warning about it.
    proc.returncode = 0
    module.exit_json(changed=True, pid=proc.pid, tree=_phaul.tree(proc.pid))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['started', 'running', 'resumed', 'killed'], default='running'),
            command=dict(type='raw'),
            output=dict(type='path', default='/dev/null'),
            cwd=dict(type='path', default='/'),
            pid=dict(type='int'),
            pids=dict(type='list', elements='int'),
            timeout=dict(type='float', default=10.0),
        ),
        required_if=[('state', 'started', ['command']), ('state', 'running', ['pid']),
                     ('state', 'resumed', ['pids']), ('state', 'killed', ['pids'])],
        supports_check_mode=True,
    )
    p = module.params
    _engine.require_positive_timeout(module)
    # Processes are found, and killed, by their /proc/PID: here that is another namespace's pid.
    problem = _smoke.proc_problem('criu_process')
    if problem:
        module.fail_json(msg=problem)
    if p['state'] == 'started':
        start(module, p)
    pids = [p['pid']] if p['state'] == 'running' else p['pids']
    problem = _phaul.check_pids(pids)
    if problem:
        module.fail_json(msg=problem)
    if p['state'] == 'running':
        st = _phaul.state(p['pid'])
        if st is None:
            module.fail_json(msg='process %d does not exist' % p['pid'], process_state=None)
        if not _phaul.alive(p['pid']):
            module.fail_json(msg='process %d has exited (state %s)' % (p['pid'], st), process_state=st)
        module.exit_json(changed=False, pid=p['pid'], tree=_phaul.tree(p['pid']), process_state=st)
    present = [pid for pid in pids if _phaul.alive(pid)]
    # SIGCONT changes only a stopped process (T; not t, a tracer's stop, which it does not end).
    stopped = [pid for pid in present if _phaul.state(pid) == 'T']
    if module.check_mode:
        if p['state'] == 'resumed':
            module.exit_json(changed=bool(stopped), msg='check mode: no signal was sent', resumed=[])
        module.exit_json(changed=bool(present), msg='check mode: no signal was sent', killed=[], zombies=[])
    if p['state'] == 'resumed':
        done = _phaul.signal_pids(present, signal.SIGCONT)
        module.exit_json(changed=any(pid in done for pid in stopped), resumed=done)
    killed, left, zombies = _phaul.kill_and_wait(pids, p['timeout'])
    if left:
        module.fail_json(msg='still alive %ss after SIGKILL: %s' % (p['timeout'], left), killed=killed, zombies=zombies)
    module.exit_json(changed=bool(killed), killed=killed, zombies=zombies)


if __name__ == '__main__':
    main()
