#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_dump
short_description: Pre-dump or dump a process tree with criu, for a migration
version_added: 0.3.0
description:
  - One dump step of a live migration the way CRIU's phaul does it, as the M(criu.check.criu_page_server),
    M(criu.check.criu_images) and M(criu.check.criu_restore) steps of the C(criu.check.migrate) role expect.
  - Runs C(criu pre-dump) (O(pre_dump=true)) or C(criu dump) on the tree of O(pid), into O(images_dir)
    (created if missing), with C(-o dump.log -v4) (C(pre-dump.log) for a pre-dump); optionally on top of the
    images of an earlier pre-dump (O(parent), criu's C(--prev-images-dir)) and sending the memory pages to a
    page server (O(page_server)).
  - Reads back criu's statistics (the C(stats-dump) image criu writes into O(images_dir)) and, for a pre-dump,
    decides with phaul's stop rules whether the pre-dump loop should end.
  - It touches no process but the tree of O(pid), and that only through criu; O(pid) may not be 1, nor this
    module or any process it runs under (the shell that started it, Ansible's worker, sshd).
  - criu's kernel-feature cache (C(/run/criu.kdat)) is removed afterwards when criu created it.
  - Ended by C(SIGTERM) (as at Ansible's task timeout) while criu runs, the module kills criu and the processes it
    started (its helpers), removes what criu left, and fails.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - criu, run as root, or as a user for whom criu has C(CAP_CHECKPOINT_RESTORE), its own or from criu's file
    capabilities (C(setcap cap_checkpoint_restore+eip)); criu then runs with C(--unprivileged), as it does for root
    without one of C(CAP_SYS_ADMIN), C(CAP_NET_ADMIN) and C(CAP_SYS_CHROOT).
  - For O(pre_dump=true), a kernel with soft-dirty memory tracking (C(CONFIG_MEM_SOFT_DIRTY)).
options:
  pid:
    description: The root of the process tree to dump.
    type: int
    required: true
  images_dir:
    description:
      - The directory criu writes the images and its log into; created if missing, with mode C(0700) (the images
        hold the tree's memory; an existing directory keeps its mode). A relative path is taken from the module's
        working directory and made absolute (RV(images_dir)).
    type: path
    required: true
  pre_dump:
    description:
      - Run C(criu pre-dump) (memory only, the tree keeps running) instead of C(criu dump).
      - criu enforces memory tracking for a pre-dump (criu/crtools.c), so O(track_mem) is implied.
    type: bool
    default: false
  parent:
    description:
      - The images of the previous pre-dump, relative to O(images_dir) (for example C(../1)); criu's
        C(--prev-images-dir). criu links it as C(parent) in O(images_dir) and writes only the pages changed
        since.
      - It must be a directory; this is checked before anything is created, in check mode too.
    type: str
  track_mem:
    description: Turn on the kernel's memory change tracking for a later iteration (C(--track-mem)).
    type: bool
    default: false
  leave_stopped:
    description:
      - Leave the tree stopped after a dump (C(--leave-stopped)) instead of ending it, so that it can be
        resumed (SIGCONT, M(criu.check.criu_process) O(criu.check.criu_process#module:state=resumed)) if the
        restore on the destination fails. Ignored for a pre-dump, which never stops the tree for long.
    type: bool
    default: false
  page_server:
    description: Send the memory pages to this page server (C(--page-server --address --port)).
    type: dict
    suboptions:
      address:
        description: The page server's address.
        type: str
        required: true
      port:
        description: The page server's TCP port.
        type: int
        required: true
  history:
    description:
      - The pages written by the earlier pre-dump iterations of this migration, oldest first (the
        RV(pages) of each). With this iteration's pages they decide RV(stop).
    type: list
    elements: int
    default: []
  max_iterations:
    description: Stop rule - the pre-dump loop ends after this many iterations.
    type: int
    default: 8
  converged_pages:
    description: Stop rule - the loop ends when an iteration writes fewer pages than this (it converged).
    type: int
    default: 64
  growth_pages:
    description:
      - Stop rule - the loop ends when an iteration writes this many pages more than the one before, or more
        (the working set grows faster than it can be copied).
    type: int
    default: 32
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
  - module: criu.check.criu_page_server
  - module: criu.check.criu_images
  - module: criu.check.criu_restore
  - module: criu.check.criu_process
notes:
  - 'The stop rules, after pre-dump iteration i with w_i pages written: w_i < O(converged_pages) gives
    V(converged); else i > 1 and w_i >= w_(i-1) + O(growth_pages) gives V(growth); else i >= O(max_iterations)
    gives V(max_iterations).'
'''

EXAMPLES = r'''
- name: First pre-dump iteration, pages to the destination's page server
  criu.check.criu_dump:
    pid: "{{ workload_pid }}"
    images_dir: /var/tmp/migration/1
    pre_dump: true
    page_server:
      address: 10.77.0.2
      port: 27000
  become: true
  register: it1

- name: Final dump on top of it, the tree left stopped for a rollback
  criu.check.criu_dump:
    pid: "{{ workload_pid }}"
    images_dir: /var/tmp/migration/2
    parent: ../1
    track_mem: true
    leave_stopped: true
    page_server:
      address: 10.77.0.2
      port: 27001
  become: true

- name: Checkpoint a server with established TCP connections and a lock file, into local images
  criu.check.criu_dump:
    pid: "{{ server_pid }}"
    images_dir: /var/tmp/checkpoint/server
    criu_options:
      tcp_established: true
      file_locks: true
  become: true
'''

RETURN = r'''
cmd:
  description: The criu command line that ran (would run, in check mode).
  returned: always
  type: list
  elements: str
stats:
  description:
    - criu's statistics of this dump, from the C(stats-dump) image (images/stats.proto C(DumpStatsEntry));
      times in microseconds. A field criu did not write is null.
  returned: success
  type: dict
  contains:
    pages_written:
      description: Private pages written (to the images or the page server).
      type: int
      returned: success
    shpages_written:
      description: Pages of shared anonymous memory written (criu counts them apart). Null from a criu that does not count them.
      type: int
      returned: success
    pages_scanned:
      description: Pages criu looked at.
      type: int
      returned: success
    pages_skipped_parent:
      description: Pages unchanged since the parent images, not written again.
      type: int
      returned: success
    frozen_time_us:
      description: How long the tree was frozen (the downtime of this step).
      type: int
      returned: success
    freezing_time_us:
      description: How long freezing the tree took.
      type: int
      returned: success
    memdump_time_us:
      description: Time spent collecting the memory.
      type: int
      returned: success
    memwrite_time_us:
      description: Time spent writing the memory.
      type: int
      returned: success
    irmap_resolve_us:
      description: Time spent finding the paths of inotify and fanotify watches (criu's irmap).
      type: int
      returned: success
    pages_lazy:
      description: Pages left for a lazy (post-copy) restore to fetch.
      type: int
      returned: success
    page_pipes:
      description: Page pipes criu used to collect the memory.
      type: int
      returned: success
    page_pipe_bufs:
      description: Buffers of those page pipes.
      type: int
      returned: success
    shpages_scanned:
      description: Pages of shared anonymous memory looked at.
      type: int
      returned: success
    shpages_skipped_parent:
      description: Pages of shared anonymous memory unchanged since the parent images.
      type: int
      returned: success
  sample: {pages_written: 1180, shpages_written: 0, pages_scanned: 1544, pages_skipped_parent: 0, frozen_time_us: 52311,
           freezing_time_us: 412, memdump_time_us: 10220, memwrite_time_us: 9001, irmap_resolve_us: null, pages_lazy: 0,
           page_pipes: 3, page_pipe_bufs: 5, shpages_scanned: 0, shpages_skipped_parent: 0}
pages:
  description:
    - Pages this dump wrote, private and shared (RV(stats.pages_written) + RV(stats.shpages_written)), the
      number the stop rules and the migration report read (phaul reads the private pages only).
    - criu 4.2.1's pre-dumps were seen to count no shared pages, so the rules cannot see shared memory grow;
      the final dump counts them.
  returned: success
  type: int
  sample: 1180
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
tree:
  description:
    - The pids of the tree, O(pid) first - for a dump those criu dumped (its log's pstree; a tree left stopped
      is exactly these), for a pre-dump or a failure those seen just before criu ran.
  returned: always
  type: list
  elements: int
iteration:
  description: The number of this pre-dump iteration (the length of O(history) plus one).
  returned: when O(pre_dump=true)
  type: int
stop:
  description: Whether the pre-dump loop should end after this iteration.
  returned: when O(pre_dump=true)
  type: bool
stop_reason:
  description: Which stop rule fired, V(converged), V(growth) or V(max_iterations); null to go on.
  returned: when O(pre_dump=true)
  type: str
images_dir:
  description: The images directory, as an absolute path.
  returned: always
  type: str
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
from ansible_collections.criu.check.plugins.module_utils import _smoke  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            pid=dict(type='int', required=True),
            images_dir=dict(type='path', required=True),
            pre_dump=dict(type='bool', default=False),
            parent=dict(type='str'),
            track_mem=dict(type='bool', default=False),
            leave_stopped=dict(type='bool', default=False),
            page_server=dict(type='dict', options=dict(address=dict(type='str', required=True),
                                                       port=dict(type='int', required=True))),
            history=dict(type='list', elements='int', default=[]),
            max_iterations=dict(type='int', default=_phaul.DEFAULT_MAX_ITERATIONS),
            converged_pages=dict(type='int', default=_phaul.DEFAULT_CONVERGED_PAGES),
            growth_pages=dict(type='int', default=_phaul.DEFAULT_GROWTH_PAGES),
            criu_path=dict(type='path'),
            criu_options=_criu_options.argument_spec(),
            timeout=dict(type='float', default=_phaul.DEFAULT_CRIU_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    p = module.params
    _engine.require_positive_timeout(module)
    p['images_dir'], problem = _phaul.absolute_images_dir(p['images_dir'])
    if problem:
        module.fail_json(msg=problem)
    for name in ('max_iterations', 'converged_pages', 'growth_pages'):
        if p[name] < 1:
            module.fail_json(msg='%s must be a positive integer, got %s' % (name, p[name]))
    if any(v < 0 for v in p['history']):
        module.fail_json(msg='history must list the pages written by earlier iterations (integers >= 0), got %s'
                         % p['history'])
    problem = _phaul.check_pids([p['pid']])
    if problem:
        module.fail_json(msg=problem)
    ps = p['page_server']
    if ps and not 0 < ps['port'] < 65536:
        module.fail_json(msg='page_server.port must be a TCP port (1-65535), got %s' % ps['port'])
    problem = _phaul.parent_problem(p['images_dir'], p['parent']) if p['parent'] is not None else None
    if problem:
        module.fail_json(msg=problem, images_dir=p['images_dir'], log=[])

    action = 'pre-dump' if p['pre_dump'] else 'dump'
    log_name = '%s.log' % action
    args = ['-t', str(p['pid']), '-D', p['images_dir']]
    if p['parent']:
        args += ['--prev-images-dir', p['parent']]
    if p['track_mem']:
        args.append('--track-mem')
    if ps:
        args += ['--page-server', '--address', ps['address'], '--port', str(ps['port'])]
    if p['leave_stopped'] and not p['pre_dump']:
        args.append('--leave-stopped')
    args += _criu_options.flags(p['criu_options'], action)

    pids = _phaul.tree(p['pid'])
    if not _phaul.alive(p['pid']):
        module.fail_json(msg='no process %d to dump (it does not exist or has exited)' % p['pid'], tree=pids,
                         images_dir=p['images_dir'], log=[])
    criu, problem = _phaul.criu_problem(p['criu_path'])
    cmd = [criu or 'criu', action] + args + ['-o', log_name, '-v4']
    if problem:
        module.fail_json(msg=problem, cmd=cmd, tree=pids, images_dir=p['images_dir'], log=[])
    if module.check_mode:
        module.exit_json(changed=True, msg='check mode: criu did not run', cmd=cmd, tree=pids,
                         images_dir=p['images_dir'], log=[])
    try:
        _phaul.make_images_dir(p['images_dir'])
    except OSError as exc:
        module.fail_json(msg='cannot create images_dir %s: %s' % (p['images_dir'], exc), cmd=cmd, tree=pids,
                         images_dir=p['images_dir'], log=[])

    res = _phaul.run_criu(criu, action, args, p['images_dir'], log_name, p['timeout'])
    result = dict(changed=True, cmd=res['argv'], tree=pids, images_dir=p['images_dir'], rc=res['rc'],
                  duration_ms=res['duration_ms'], started_at=res['started_at'], ended_at=res['ended_at'],
                  log=res['log'], log_tail=res['log_tail'])
    if res['rc'] != 0 or res['error']:
        msg = _phaul.failure_message(action, res, p['timeout'])
        log = _smoke.read_text(os.path.join(p['images_dir'], log_name))
        # criu/kerndat.c kerndat_get_dirty_track() logs this when the kernel has no soft-dirty bits; criu
        # pre-dump then trips BUG_ON(!kdat.has_dirty_track) (criu/mem.c) or refuses --track-mem.
        if (p['pre_dump'] or p['track_mem']) and _phaul.SOFT_DIRTY_OFF in log:
            msg += ('; criu\'s log says "%s": this kernel has no soft-dirty memory tracking (CONFIG_MEM_SOFT_DIRTY), '
                    'which pre-dump and --track-mem need; migrate with a plain dump (stop-and-copy)' % _phaul.SOFT_DIRTY_OFF)
        if ps and _phaul.NO_PAGE_SERVER in (res['reason'] or ''):
            msg += ('; no page server listens at %s:%s: start one there first (criu.check.criu_page_server, one per '
                    'dump: it exits when its client disconnects)' % (ps['address'], ps['port']))
        module.fail_json(msg=msg, **result)
    try:
        stats = _phaul.read_stats(p['images_dir'])['dump']
    except _phaul.StatsError as exc:
        module.fail_json(msg='criu %s succeeded but its statistics cannot be read: %s' % (action, exc), **result)
    if stats is None:
        module.fail_json(msg='criu %s succeeded but its stats-dump holds no dump statistics' % action, **result)
    result['stats'] = stats
    result['pages'] = _phaul.pages_written(stats)
    # The tree criu froze, which a rollback resumes and a migration ends: its
    # short-lived children may differ from the ones seen before the dump.
    dumped = _phaul.dumped_pids(_smoke.read_text(os.path.join(p['images_dir'], log_name)))
    if dumped:
        result['tree'] = dumped
    if p['pre_dump']:
        history = list(p['history']) + [result['pages']]
        reason = _phaul.stop_reason(history, p['max_iterations'], p['converged_pages'], p['growth_pages'])
        result.update(iteration=len(history), stop=reason is not None, stop_reason=reason)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
