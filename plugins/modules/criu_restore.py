#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_restore
short_description: Restore a process tree from criu's images, the last step of a migration
version_added: 0.3.0
description:
  - Runs C(criu restore -D IMAGES_DIR --restore-detached --pidfile IMAGES_DIR/restore.pid -o restore.log -v4)
    and returns the pid of the restored tree's root, which then runs on detached from the module.
  - On failure the task fails with criu's own error lines from C(restore.log).
  - criu's kernel-feature cache (C(/run/criu.kdat)) is removed afterwards when criu created it.
  - Ended by C(SIGTERM) (as at Ansible's task timeout) while criu runs, the module kills criu and the processes it
    started (a tree it had half restored), removes what criu left, and fails.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - criu, run as root, or as a user for whom criu has C(CAP_CHECKPOINT_RESTORE), its own or from criu's file
    capabilities (C(setcap cap_checkpoint_restore+eip)); criu then runs with C(--unprivileged), as it does for root
    without one of C(CAP_SYS_ADMIN), C(CAP_NET_ADMIN) and C(CAP_SYS_CHROOT).
    Restoring a task whose capability bounding set lacks a capability needs C(CAP_SETPCAP)
    as well (C(setcap cap_checkpoint_restore,cap_setpcap+eip)); the failure says so.
options:
  images_dir:
    description:
      - The complete images of the tree (the final dump's images plus the pages its page server received).
      - A relative path is taken from the module's working directory and made absolute (RV(images_dir)).
    type: path
    required: true
  timeout:
    description: Seconds criu may run; it is killed after that and the task fails.
    type: float
    default: 300
attributes:
  check_mode:
    support: full
    description: In check mode criu does not run; the result says what would have run.
extends_documentation_fragment:
  - criu.check.criu.criu_path
  - criu.check.criu.criu_options
  - criu.check.criu.linux
seealso:
  - module: criu.check.criu_dump
  - module: criu.check.criu_process
'''

EXAMPLES = r'''
- name: Restore the migrated tree on the destination
  criu.check.criu_restore:
    images_dir: /var/tmp/migration/3
  become: true
  register: restored

- name: Check it runs
  criu.check.criu_process:
    state: running
    pid: "{{ restored.pid }}"

- name: Restore a server dumped with criu_options, given the same options
  criu.check.criu_restore:
    images_dir: /var/tmp/checkpoint/server
    criu_options:
      tcp_established: true
      file_locks: true
  become: true
'''

RETURN = r'''
pid:
  description: The pid of the restored tree's root.
  returned: success
  type: int
tree:
  description: The pids of the restored tree, RV(pid) first.
  returned: success
  type: list
  elements: int
stats:
  description:
    - criu's statistics of the restore, from the C(stats-restore) image (images/stats.proto C(RestoreStatsEntry)),
      times in microseconds; null when criu wrote none.
  returned: success
  type: dict
  sample: {pages_compared: 0, pages_skipped_cow: 0, pages_restored: 62, forking_time_us: 420, restore_time_us: 61200}
  contains:
    pages_compared:
      description: Pages of private mappings inherited from a parent process, compared with the parent's copy
        (criu/mem.c).
      type: int
      returned: success
    pages_skipped_cow:
      description: Of those, the pages equal to the parent's, left shared copy-on-write instead of written again.
      type: int
      returned: success
    pages_restored:
      description: Pages restored.
      type: int
      returned: success
    forking_time_us:
      description: How long creating the tree's processes took.
      type: int
      returned: success
    restore_time_us:
      description: How long the whole restore took.
      type: int
      returned: success
duration_ms:
  description: Wall time of criu, in milliseconds.
  returned: when criu ran
  type: float
started_at:
  description: When criu was started (seconds since the epoch).
  returned: when criu ran
  type: float
ended_at:
  description: When criu ended (seconds since the epoch).
  returned: when criu ran
  type: float
images_dir:
  description: The images directory, as an absolute path.
  returned: always
  type: str
cmd:
  description: The criu command line.
  returned: always
  type: list
  elements: str
rc:
  description: criu's exit code (negative - killed by that signal).
  returned: when criu ran
  type: int
log:
  description: criu's lines that explain a failure (every C(Error) line and the few before it).
  returned: always
  type: list
  elements: str
log_tail:
  description: The last lines of criu's log.
  returned: when criu ran
  type: list
  elements: str
'''

import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _criu_options  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _phaul  # noqa: E402

PIDFILE = 'restore.pid'
LOG = 'restore.log'


def main():
    module = AnsibleModule(
        argument_spec=dict(
            images_dir=dict(type='path', required=True),
            criu_path=dict(type='path'),
            criu_options=_criu_options.argument_spec(),
            timeout=dict(type='float', default=_phaul.DEFAULT_CRIU_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    p = module.params
    _engine.require_positive_timeout(module)
    images, problem = _phaul.absolute_images_dir(p['images_dir'])
    if problem:
        module.fail_json(msg=problem)
    pidfile = os.path.join(images, PIDFILE)
    args = ['-D', images, '--restore-detached', '--pidfile', pidfile]
    args += _criu_options.flags(p['criu_options'], 'restore')
    criu, problem = _phaul.criu_problem(p['criu_path'])
    cmd = [criu or 'criu', 'restore'] + args + ['-o', LOG, '-v4']
    if problem:
        module.fail_json(msg=problem, cmd=cmd, images_dir=images, log=[])
    if not os.path.isdir(images):
        module.fail_json(msg='images_dir %s is not a directory' % images, cmd=cmd, images_dir=images, log=[])
    problem = _criu_options.restore_problem(images, p['criu_options'])
    if problem:
        module.fail_json(msg=problem, cmd=cmd, images_dir=images, log=[])
    if module.check_mode:
        module.exit_json(changed=True, cmd=cmd, images_dir=images, log=[], msg='check mode: criu did not run')
    try:
        if os.path.lexists(pidfile):
            os.unlink(pidfile)
    except OSError as exc:
        module.fail_json(msg='cannot remove the old %s: %s' % (pidfile, exc), cmd=cmd, images_dir=images, log=[])
    res = _phaul.run_criu(criu, 'restore', args, images, LOG, p['timeout'])
    result = dict(changed=True, cmd=res['argv'], images_dir=images, rc=res['rc'], duration_ms=res['duration_ms'],
                  started_at=res['started_at'], ended_at=res['ended_at'], log=res['log'], log_tail=res['log_tail'])
    if res['rc'] != 0 or res['error']:
        module.fail_json(msg=_phaul.failure_message('restore', res, p['timeout']), **result)
    pid = _phaul.read_pidfile(pidfile)
    if pid is None:
        module.fail_json(msg='criu restore wrote no pid to %s' % pidfile, **result)
    try:
        stats = _phaul.read_stats(images, _phaul.STATS_RESTORE)['restore']
    except _phaul.StatsError:
        stats = None
    module.exit_json(pid=pid, tree=_phaul.tree(pid), stats=stats, **result)


if __name__ == '__main__':
    main()
