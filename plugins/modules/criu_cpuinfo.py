#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_cpuinfo
short_description: Compare two hosts' CPUs the way criu does before a migration
version_added: 0.3.0
description:
  - With O(state=dump), runs C(criu cpuinfo dump) on the host and returns criu's image of its CPU (C(cpuinfo.img),
    base64) in RV(image).
  - With O(state=check), writes the O(image) made on another host and runs C(criu cpuinfo check) against this
    host's CPU; RV(compatible) says whether criu accepts it (exit code 0), RV(message) is what criu said.
  - Run the dump on the migration source and the check on the destination; hand the check's result to the
    P(criu.check.criu_migration#filter) filter as C(pair.cpuinfo).
  - criu works in a directory of its own under the system's temporary directory, removed on every path
    (success, criu failure, timeout, the module ended by C(SIGTERM)).
  - As root, criu runs in a private mount namespace with its own tmpfs on C(/run), so its kdat cache
    (C(/run/criu.kdat)) is neither read nor left behind, and the test mounts of its start-up stay in that
    namespace. Otherwise criu runs with C(--unprivileged) and its cache in a private directory removed afterwards.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - criu, run as root, or as a user with C(CAP_CHECKPOINT_RESTORE) (criu then runs with C(--unprivileged)).
options:
  state:
    description:
      - V(dump) makes the image of this host's CPU; V(check) checks O(image) against this host's CPU.
    type: str
    choices: [dump, check]
    default: dump
  image:
    description:
      - The RV(image) a O(state=dump) returned on the other host (base64 text). Required with O(state=check).
    type: str
  timeout:
    description:
      - Seconds the task may take, reading criu's version (at most 10 of them) and running criu together. On expiry
        criu and its children are killed, the directory removed, and the task fails.
    type: float
    default: 30
attributes:
  check_mode:
    support: full
    description: Runs the same way in check mode; the module changes nothing on the host.
extends_documentation_fragment:
  - criu.check.criu.criu_path
  - criu.check.criu.linux
seealso:
  - plugin: criu.check.criu_migration
    plugin_type: filter
  - module: criu.check.criu_facts
  - name: criu's cpuinfo commands
    description: criu's manual, C(cpuinfo dump) and C(cpuinfo check), and the C(--cpu-cap) option.
    link: https://criu.org/CLI/cmd/cpuinfo
notes:
  - C(changed) is always V(false).
  - It is not in the C(group/criu.check.criu) action group; its O(timeout) bounds one criu run, not one probe.
  - A damaged image is also reported as RV(compatible=false), with criu's message (for example C(Head magic
    doesn't match for cpuinfo.img)).
  - The task fails when criu is missing, cannot start here (privileges, a criu too old for the kernel), or, with
    O(state=dump), fails.
'''

EXAMPLES = r'''
- name: The source's CPU, as criu records it
  criu.check.criu_cpuinfo:
    state: dump
  become: true
  register: cpu_image
  delegate_to: "{{ source }}"

- name: Whether criu on the destination accepts it
  criu.check.criu_cpuinfo:
    state: check
    image: "{{ cpu_image.image }}"
  become: true
  register: cpu_check
  delegate_to: "{{ destination }}"

- name: Say why not
  ansible.builtin.debug:
    msg: "criu on {{ destination }}: {{ cpu_check.message }}"
  when: not cpu_check.compatible
'''

RETURN = r'''
image:
  description: The base64 of criu's C(cpuinfo.img).
  returned: when O(state=dump)
  type: str
  sample: GUNWVBNAQGFmAAAACmQIAhAZGAEgASgC...
size:
  description: Bytes of C(cpuinfo.img).
  returned: when O(state=dump)
  type: int
  sample: 114
compatible:
  description: Whether C(criu cpuinfo check) accepted the image on this host (it exited with 0).
  returned: when O(state=check)
  type: bool
  sample: false
message:
  description:
    - What criu printed, its lines without their C(Error (FILE:LINE)) prefixes, joined by newlines; empty when it
      printed nothing (as when the CPU is compatible).
  returned: when O(state=check)
  type: str
  sample: "cpu: CPU instruction capabilities do not match run time"
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
      description: Its version, from C(criu --version); null when it could not be read.
      type: str
      returned: always
      sample: 4.1.1
'''

import base64  # noqa: E402
import binascii  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _installed_criu  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _smoke  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils._criu_words import (  # noqa: E402
    KERNDAT_FAILED, NEEDS_UNPRIVILEGED, NO_CAPS)

IMAGE = 'cpuinfo.img'          # criu/include/image-desc.h CR_FD_CPUINFO
INSTALL_FIX = 'install criu, for example with the criu.check.install role, or give criu_path'
# criu stops before the command itself (criu/crtools.c check_caps(), kerndat_init()).
START_FAILURES = (KERNDAT_FAILED, NO_CAPS, NEEDS_UNPRIVILEGED)


class _Terminated(Exception):
    """SIGTERM (Ansible's task timeout): clean up, then fail."""


def _terminated(signum, frame):
    raise _Terminated()


def run_criu(path, args, deadline):
    """``criu ARGS`` as the installed criu's check runs it (_installed_criu.run_isolated()), leaving
    nothing behind, by ``deadline`` (time.monotonic()).  Returns (rc, parsed output, timed out, error)."""
    run = _installed_criu.run_isolated([path] + list(args), _installed_criu.environ(None), deadline)
    rc, out, err, timed_out, error = run['result']
    return rc, _installed_criu.parse(rc, out, err, timed_out=timed_out, error=error), timed_out, error


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['dump', 'check'], default='dump'),
            image=dict(type='str'),
            criu_path=dict(type='path'),
            timeout=dict(type='float', default=30.0),
        ),
        required_if=[('state', 'check', ('image',))],
        supports_check_mode=True,
    )
    params = module.params
    _engine.require_positive_timeout(module)
    # One deadline for the whole task: criu --version and criu cpuinfo share the timeout.
    deadline = time.monotonic() + params['timeout']
    raw = None
    if params['state'] == 'check':
        try:
            raw = base64.b64decode(params['image'].strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            module.fail_json(msg='image must be the base64 text that state=dump returned: %s' % exc)
        if not raw:
            module.fail_json(msg='image is empty: give the image that state=dump returned')
    elif params['image'] is not None:
        module.fail_json(msg='image is only for state=check')
    path = _smoke.find_criu(params['criu_path'])
    if path is None:
        where = params['criu_path'] or 'PATH nor in %s' % ', '.join(_installed_criu.SBIN_DIRS)
        module.fail_json(msg='criu was not found (%s): %s' % (
            'no executable %s' % where if params['criu_path'] else 'no criu on %s' % where, INSTALL_FIX),
            criu={'path': None, 'version': None})
    criu = {'path': path, 'version': _smoke.criu_version(path, max(0.0, deadline - time.monotonic()))}
    result = dict(changed=False, criu=criu)

    previous = signal.signal(signal.SIGTERM, _terminated)
    workdir = None
    try:
        workdir = tempfile.mkdtemp(prefix='criu-cpuinfo-')
        image = os.path.join(workdir, IMAGE)
        if raw is not None:
            with open(image, 'wb') as f:
                f.write(raw)
        rc, parsed, timed_out, error = run_criu(path, ['cpuinfo', params['state'], '-D', workdir], deadline)
        messages = parsed['messages']
        if error is not None:
            module.fail_json(msg='criu cpuinfo %s could not be run: %s' % (params['state'], error), **result)
        if timed_out:
            module.fail_json(msg='criu cpuinfo %s did not finish within %s s' % (params['state'], params['timeout']),
                             **result)
        if rc != 0 and any(s in m for s in START_FAILURES for m in messages):
            who = ('criu %s' % (criu['version'] or '')).strip()
            module.fail_json(msg='%s cannot start here: %s' % (who, '; '.join(messages)), **result)
        if params['state'] == 'dump':
            if rc != 0 or not os.path.isfile(image):
                why = '; '.join(messages) or 'no image written'
                module.fail_json(msg='criu cpuinfo dump failed (exit %s): %s' % (rc, why), **result)
            with open(image, 'rb') as f:
                data = f.read()
            result.update(image=base64.b64encode(data).decode('ascii'), size=len(data))
        else:
            result.update(compatible=rc == 0, message='\n'.join(messages))
    except _Terminated:
        module.fail_json(msg='terminated (SIGTERM) while criu cpuinfo %s ran' % params['state'], **result)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
