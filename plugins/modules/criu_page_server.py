#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_page_server
short_description: Start or stop a criu page server, the receiving end of a migration's memory
version_added: 0.3.0
description:
  - The destination side of a dump step of a live migration (phaul's loop), for M(criu.check.criu_dump) with
    its O(criu.check.criu_dump#module:page_server) option.
  - O(state=started) creates O(images_dir) and runs C(criu page-server -D IMAGES_DIR [--port PORT]
    [--address ADDRESS] --daemon --pidfile IMAGES_DIR/page-server.pid -o page-server.log -v4); criu returns once it
    listens. With O(parent), O(images_dir) gets the link C(parent) to the previous iteration's images, where
    the page server looks up pages the client asks about (criu/page-xfer.c page_server_check_parent()).
  - A page server serves one client and exits when it disconnects (the end of one dump); start one per
    iteration.
  - O(state=stopped) ends the page server O(pid) if it still runs, and only if C(/proc/PID/cmdline) is a
    C(criu page-server) - a program named C(criu*) (C(criu), a copy such as C(criu-4.1.1)), or the O(criu_path)
    given to this task whatever its name, with C(page-server) as its first argument; a pid that has exited, or now
    belongs to another program, is left alone.
  - The page server runs in a private mount namespace with its own tmpfs on C(/run), so criu's kernel-feature
    cache (C(/run/criu.kdat)) is neither read nor left behind.
  - Ended by C(SIGTERM) (as at Ansible's task timeout) while criu starts the page server, the module kills criu,
    the processes it started and the page server if it had detached already, and fails.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - criu, run as root, or as a user for whom criu has C(CAP_CHECKPOINT_RESTORE), its own or from criu's file
    capabilities (C(setcap cap_checkpoint_restore+eip)); criu then runs with C(--unprivileged), as it does for root
    without one of C(CAP_SYS_ADMIN), C(CAP_NET_ADMIN) and C(CAP_SYS_CHROOT).
options:
  state:
    description: Start a page server, or stop one.
    type: str
    choices: [started, stopped]
    default: started
  images_dir:
    description:
      - Where the page server writes the pages it receives; created if missing, with mode C(0700) (the pages are
        the tree's memory; an existing directory keeps its mode). Required to start.
      - A relative path is taken from the module's working directory and made absolute (RV(images_dir)).
    type: path
  parent:
    description:
      - The previous iteration's images directory, relative to O(images_dir) (for example C(../1)), linked as
        C(parent) in O(images_dir).
      - It must be a directory; this is checked before anything is created or replaced, in check mode too.
    type: str
  port:
    description:
      - The TCP port to listen on. V(0) lets criu choose a free one (C(--port) is then not given), returned in
        RV(port).
    type: int
    default: 0
  address:
    description: The address to listen on; all addresses when not given or empty.
    type: str
  pid:
    description: The page server to stop (the RV(pid) returned when it was started). Required to stop.
    type: int
  timeout:
    description: Seconds criu may take to start listening, or the page server to end once stopped.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description: In check mode nothing is started or stopped; the result says what would have been done.
extends_documentation_fragment:
  - criu.check.criu.criu_path
  - criu.check.criu.linux
seealso:
  - module: criu.check.criu_dump
  - module: criu.check.criu_images
  - module: criu.check.criu_restore
'''

EXAMPLES = r'''
- name: Page server for iteration 2 on the destination
  criu.check.criu_page_server:
    images_dir: /var/tmp/migration/2
    parent: ../1
    address: 10.77.0.2
    port: 27002
  become: true
  register: ps

- name: Stop it (a no-op when the dump already disconnected and it exited)
  criu.check.criu_page_server:
    state: stopped
    pid: "{{ ps.pid }}"
  become: true
'''

RETURN = r'''
pid:
  description: The page server's pid (the one stopped, for O(state=stopped)).
  returned: success
  type: int
port:
  description: The port it listens on.
  returned: when O(state=started)
  type: int
address:
  description: The address it listens on; null for all.
  returned: when O(state=started)
  type: str
images_dir:
  description: Its images directory, as an absolute path.
  returned: when O(state=started)
  type: str
cmd:
  description: The criu command line.
  returned: when O(state=started)
  type: list
  elements: str
stopped:
  description: Whether a running page server was ended (false when it had exited already).
  returned: when O(state=stopped)
  type: bool
rc:
  description:
    - The exit code of C(criu page-server --daemon) (negative - killed by that signal); 0 once the page server
      runs in the background.
  returned: when criu ran
  type: int
log:
  description: criu's lines that explain a failure.
  returned: always
  type: list
  elements: str
log_tail:
  description: The last lines of the page server's log (C(page-server.log) in O(images_dir)) when criu returned.
  returned: when criu ran
  type: list
  elements: str
'''

import os  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _phaul  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _smoke  # noqa: E402

PIDFILE = 'page-server.pid'
LOG = 'page-server.log'
# Seconds a page server gets to end after SIGTERM before SIGKILL (bounded by the task's timeout too).
TERM_GRACE = 5.0
# criu/page-xfer.c prepare_page_server_socket(): the port it bound when given 0.
_PORT = re.compile(r'Using (\d+) port')


def stop(module, pid, timeout, criu_path):
    if not _phaul.alive(pid):
        module.exit_json(changed=False, stopped=False, pid=pid, log=[],
                         msg='page server %d is not running (it exits when its client disconnects)' % pid)
    # The criu it was started with may have any name: given as criu_path, it is recognised by its file.
    if not _phaul.is_page_server(pid, _smoke.find_criu(criu_path) if criu_path else None):
        module.exit_json(changed=False, stopped=False, pid=pid, log=[],
                         msg='process %d is not a criu page server (%s): left alone; a page server is a program '
                         'named criu* or the criu_path given, with page-server as its first argument'
                         % (pid, ' '.join(_phaul.cmdline(pid))[:200]))
    if module.check_mode:
        module.exit_json(changed=True, stopped=False, pid=pid, log=[], msg='check mode: page server %d not stopped' % pid)
    _phaul.signal_pids([pid], signal.SIGTERM)
    deadline = time.monotonic() + min(timeout, TERM_GRACE)
    while _phaul.alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    if _phaul.alive(pid):
        dummy, left, dummy2 = _phaul.kill_and_wait([pid], timeout)
        if left:
            module.fail_json(msg='page server %d did not end within %ss' % (pid, timeout), pid=pid, log=[])
    module.exit_json(changed=True, stopped=True, pid=pid, log=[], msg='page server %d stopped' % pid)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['started', 'stopped'], default='started'),
            images_dir=dict(type='path'),
            parent=dict(type='str'),
            port=dict(type='int', default=0),
            address=dict(type='str'),
            pid=dict(type='int'),
            criu_path=dict(type='path'),
            timeout=dict(type='float', default=30.0),
        ),
        required_if=[('state', 'started', ['images_dir']), ('state', 'stopped', ['pid'])],
        supports_check_mode=True,
    )
    p = module.params
    _engine.require_positive_timeout(module)
    if p['state'] == 'stopped':
        problem = _phaul.check_pids([p['pid']])
        if problem:
            module.fail_json(msg=problem)
        stop(module, p['pid'], p['timeout'], p['criu_path'])
    if not 0 <= p['port'] < 65536:
        module.fail_json(msg='port must be a TCP port (1-65535, or 0 to let criu choose), got %s' % p['port'])
    images, problem = _phaul.absolute_images_dir(p['images_dir'])
    if problem:
        module.fail_json(msg=problem)
    problem = _phaul.parent_problem(images, p['parent']) if p['parent'] is not None else None
    if problem:
        module.fail_json(msg=problem, images_dir=images, log=[])
    address = p['address'] or None      # "" is all addresses, as documented: null
    pidfile = os.path.join(images, PIDFILE)
    # criu 4.1 refuses --port 0; without --port it binds a free port and logs it.
    args = ['-D', images] + (['--port', str(p['port'])] if p['port'] else [])
    if address:
        args += ['--address', address]
    args += ['--daemon', '--pidfile', pidfile]
    criu, problem = _phaul.criu_problem(p['criu_path'])
    cmd = [criu or 'criu', 'page-server'] + args + ['-o', LOG, '-v4']
    if problem:
        module.fail_json(msg=problem, cmd=cmd, log=[])
    if module.check_mode:
        module.exit_json(changed=True, cmd=cmd, images_dir=images, port=p['port'], address=address, log=[],
                         msg='check mode: no page server was started')
    try:
        _phaul.make_images_dir(images)
        if p['parent']:
            link = os.path.join(images, 'parent')
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(p['parent'], link)
        if os.path.lexists(pidfile):
            os.unlink(pidfile)
    except OSError as exc:
        module.fail_json(msg='cannot prepare images_dir %s: %s' % (images, exc), cmd=cmd, log=[])

    res = _phaul.run_criu(criu, 'page-server', args, images, LOG, p['timeout'], private_run=True)
    result = dict(cmd=res['argv'], images_dir=images, address=address, log=res['log'],
                  log_tail=res['log_tail'], rc=res['rc'])
    if res['terminated']:
        # The daemon may have detached from its launcher already: a page server nobody will use or stop.
        daemon = _phaul.read_pidfile(pidfile)
        if daemon and _phaul.is_page_server(daemon, criu):
            _phaul.kill_and_wait([daemon], min(p['timeout'], TERM_GRACE))
    if res['rc'] != 0 or res['error']:
        module.fail_json(msg=_phaul.failure_message('page-server', res, p['timeout']), changed=False, **result)
    pid = _phaul.read_pidfile(pidfile)
    if pid is None:
        module.fail_json(msg='criu page-server wrote no pid to %s' % pidfile, changed=False, **result)
    if not _phaul.alive(pid):
        module.fail_json(msg='the page server %d exited at once' % pid, changed=False, pid=pid, **result)
    port = p['port']
    if not port:
        m = _PORT.search(_smoke.read_text(os.path.join(images, LOG)))
        if not m:
            _phaul.kill_and_wait([pid], p['timeout'])
            module.fail_json(msg='criu page-server chose a port but its log does not say which', changed=False,
                             **result)
        port = int(m.group(1))
    module.exit_json(changed=True, pid=pid, port=port, **result)


if __name__ == '__main__':
    main()
