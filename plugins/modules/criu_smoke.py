#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_smoke
short_description: Checkpoint and restore a tiny process tree with the installed criu
version_added: 0.2.0
description:
  - Answers "can the installed criu really checkpoint and restore here" by doing it, with a process tree of
    its own and nothing else.
  - Starts a counter, as in criu's and phaul's tests (a leader and one child, each writing an increasing
    number to a file every 20 ms), detached in a session of its own in a fresh directory under O(tmpdir);
    runs C(criu dump -t PID -D IMAGES -v4) (which ends the tree), then C(criu restore -d -D IMAGES -v4
    --pidfile FILE), and checks that both restored counters go on past their dumped values.
  - Then ends the tree and removes the directory (images, logs, counters) on every path, success, criu
    failure, timeout, or the module itself killed. A watchdog process, in a session of its own, does the
    same clean-up when the module ends in any other way, and after O(timeout) plus 30 seconds at the latest.
  - It never touches other processes. It ends only processes whose command line holds its own unique
    directory and whose session it created (the tree, criu, and what criu restored from its images); it
    never kills by name.
  - criu runs in a private mount namespace with its own tmpfs on C(/run), so criu's kdat cache
    (C(/run/criu.kdat)) is neither read nor left behind.
  - This module is opt-in; M(criu.check.criu_facts) never runs it.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - criu, run as root, or as a user for whom criu has C(CAP_CHECKPOINT_RESTORE), its own or from criu's file
    capabilities (C(setcap cap_checkpoint_restore+eip)); criu then runs with C(--unprivileged), as it does for root
    without one of C(CAP_SYS_ADMIN), C(CAP_NET_ADMIN) and C(CAP_SYS_CHROOT).
    Restoring a task whose capability bounding set lacks a capability needs C(CAP_SETPCAP)
    as well (C(setcap cap_checkpoint_restore,cap_setpcap+eip)); the failure says so. Without either capability the
    smoke fails and the message says so.
options:
  tmpdir:
    description:
      - The directory in which the module creates its own working directory (C(criu-smoke-XXXXXX)). Its
        file system must be one criu can dump open files from (a local one such as tmpfs or ext4).
      - By default the system's temporary directory (E(TMPDIR), else C(/tmp)).
    type: path
  timeout:
    description:
      - Seconds the whole smoke may take, from reading criu's version (at most 10 of them) and starting the tree to
        the restored counters advancing. Every wait is bounded by it; on expiry the module cleans up and reports
        where it stopped.
    type: float
    default: 60
  fail_on_error:
    description:
      - Fail the task when the checkpoint does not work (criu missing, not permitted, criu failing, the
        restored tree not running on), as M(ansible.builtin.command) fails on a non-zero exit.
      - Set to V(false) to get the same result with RV(ok=false) and no failure, for example to report on a
        whole fleet.
      - Invalid options fail the task either way.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: In check mode nothing runs; the result has RV(ok=null) and says so in RV(msg).
  diff_mode:
    support: none
    description: The module changes nothing, so it has no diff to show.
extends_documentation_fragment:
  - criu.check.criu.criu_path
  - criu.check.criu.linux
seealso:
  - module: criu.check.criu_facts
  - name: criu's own smoke tests (zdtm)
    description: The test suite whose simplest tests this module's counter mirrors.
    link: https://criu.org/ZDTM_test_suite
notes:
  - C(changed) is always V(false); everything the module creates is removed before it returns.
  - It is not in the C(group/criu.check.criu) action group; its O(timeout) bounds a whole dump and restore,
    not one probe, so the group's defaults for the probing modules do not apply to it.
  - The restored tree keeps its pids, so the dumped pids must be free again; the module waits for them.
  - If the module process is killed, the watchdog still ends the tree and removes the directory, typically
    within a second.
'''

EXAMPLES = r'''
- name: Really checkpoint and restore with the installed criu
  criu.check.criu_smoke:
  become: true

- name: Try Debian 13's criu from a non-default place, without failing the play
  criu.check.criu_smoke:
    criu_path: /opt/criu/sbin/criu
    timeout: 30
    fail_on_error: false
  become: true
  register: smoke

- name: Say why it does not work
  ansible.builtin.debug:
    msg: "{{ smoke.msg }}: {{ smoke.log | join('\n') }}"
  when: not smoke.ok
'''

RETURN = r'''
ok:
  description:
    - Whether criu dumped and restored the tree and the restored tree ran on.
    - V(null) in check mode.
  returned: always
  type: bool
  sample: true
msg:
  description:
    - 'One sentence. On failure it names the step and quotes criu''s first error, for example
      "criu dump failed (exit 1): vdso: Unexpected rt vDSO area bounds" (Debian 12''s criu 3.17.1 on a kernel
      6.13 or newer).'
    - Where criu does not name the cause, the sentence adds it and what to do, for the causes seen on real hosts
      (the same in M(criu.check.criu_dump), M(criu.check.criu_restore) and M(criu.check.criu_page_server)) -
      a full file system or disk quota where the images go (criu's log, there too, may then end before its
      reason), a pid of the dumped tree that another process holds, a tracer (a debugger, strace) already on the
      tree, a process or file descriptor limit, a capability criu lacks, a seccomp filter on the tree, a loopback
      that is down.
  returned: always
  type: str
stage:
  description:
    - Where the smoke ended, V(setup), V(start), V(dump), V(restore), V(verify), or V(done) on success;
      V(check_mode) in check mode.
  returned: always
  type: str
  sample: done
criu:
  description: The criu used.
  returned: always
  type: dict
  contains:
    path:
      description: Its path; null when none was found.
      type: str
      returned: always
      sample: /usr/sbin/criu
    version:
      description: Its version, from C(criu --version); null when it could not be read (or in check mode).
      type: str
      returned: always
      sample: 4.1.1
dump_ms:
  description: Wall time of C(criu dump), in milliseconds; null when it did not run.
  returned: always
  type: float
  sample: 152.3
restore_ms:
  description: Wall time of C(criu restore), in milliseconds; null when it did not run.
  returned: always
  type: float
  sample: 98.7
image_size:
  description: Bytes of the images criu dumped (logs not counted); null when the dump did not succeed.
  returned: always
  type: int
  sample: 2711552
counter:
  description: The counters of the tree.
  returned: always
  type: dict
  contains:
    before:
      description: The leader's counter when it was dumped.
      type: int
      returned: always
    after:
      description: The restored leader's counter once it had advanced past RV(counter.before).
      type: int
      returned: always
    child_before:
      description: The child's counter when it was dumped.
      type: int
      returned: always
    child_after:
      description: The restored child's counter once it had advanced.
      type: int
      returned: always
log:
  description:
    - criu's lines that explain a failure, from C(dump.log) or C(restore.log) (and what criu printed before
      it opened its log) - every C(Error) line with the few lines before it. Empty on success.
  returned: always
  type: list
  elements: str
  sample: ["(00.020002) Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds",
           "(00.020005) Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable"]
cleanup:
  description:
    - What the clean-up did, C(killed) (how many processes of its own it ended) and C(removed) (the working
      directory is gone). Absent when nothing was started.
  returned: when the smoke ran
  type: dict
  sample: {killed: 2, removed: true}
  contains:
    killed:
      description: How many processes of its own (its tree, and criu when still running) the clean-up ended.
      type: int
      returned: always
    removed:
      description: Whether the working directory is gone.
      type: bool
      returned: always
'''

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _smoke  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            criu_path=dict(type='path'),
            tmpdir=dict(type='path'),
            timeout=dict(type='float', default=_smoke.DEFAULT_TIMEOUT),
            fail_on_error=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    _engine.require_positive_timeout(module)
    if params['tmpdir'] is not None and not os.path.isdir(params['tmpdir']):
        module.fail_json(msg='tmpdir must be an existing directory, got %s' % params['tmpdir'])
    empty = {'dump_ms': None, 'restore_ms': None, 'image_size': None, 'log': [],
             'counter': {'before': None, 'after': None, 'child_before': None, 'child_after': None}}
    if module.check_mode:
        path = _smoke.find_criu(params['criu_path'])
        module.exit_json(changed=False, ok=None, stage='check_mode', criu={'path': path, 'version': None},
                         msg='check mode: nothing was run (the smoke would dump and restore with %s)'
                         % (path or 'no criu: none was found'), **empty)
    result = dict(empty)
    result.update(_smoke.run(params['criu_path'], params['tmpdir'], params['timeout']))
    if not result['ok'] and params['fail_on_error']:
        module.fail_json(changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == '__main__':
    main()
