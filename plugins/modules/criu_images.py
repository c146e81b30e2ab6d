#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_images
short_description: Pack or unpack a criu images directory, to copy it between the hosts of a migration
version_added: 0.3.0
description:
  - O(state=packed) returns the regular files and directories of O(path) as a base64 C(tar.gz) in RV(content),
    with criu's C(parent) link to the previous iteration kept as a link (not followed). Anything else (a socket,
    a FIFO, a device, any other symbolic link) is left out, listed in RV(not_packed) and warned about.
  - O(state=unpacked) writes such an archive under O(path) (created if missing). The only symbolic link it accepts
    is criu's - named C(parent), with a relative target (for example C(../1)). It refuses, before writing
    anything, an archive with an absolute member path, a member leaving the directory (C(..)), a member that is
    neither a file, a directory nor such a link, a member under a link or a file of the archive, a member that an
    existing link under O(path) would send outside it, and a member that would replace a directory or be written
    under a file. Check mode refuses the same archives.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
options:
  state:
    description: Pack the directory, or unpack an archive into it.
    type: str
    choices: [packed, unpacked]
    default: packed
  path:
    description:
      - The images directory. O(state=unpacked) creates it if missing, with mode C(0700) (the images hold the tree's
        memory; an existing directory keeps its mode).
    type: path
    required: true
  content:
    description: The archive to unpack, RV(content) of a O(state=packed) task. Required for O(state=unpacked).
    type: str
attributes:
  check_mode:
    support: full
    description: Packing changes nothing and runs in check mode; unpacking checks the archive and writes nothing.
extends_documentation_fragment:
  - criu.check.criu.linux
seealso:
  - module: criu.check.criu_dump
  - module: criu.check.criu_restore
'''

EXAMPLES = r'''
- name: Pack the final dump's images on the source
  criu.check.criu_images:
    path: /var/tmp/migration/3
  register: images

- name: Unpack them beside the pages the page server received
  criu.check.criu_images:
    state: unpacked
    path: /var/tmp/migration/3
    content: "{{ images.content }}"
  delegate_to: destination
'''

RETURN = r'''
content:
  description: The base64 C(tar.gz) of the directory's files.
  returned: when O(state=packed)
  type: str
size:
  description: Bytes of the C(tar.gz) (before base64).
  returned: always
  type: int
files:
  description: The files packed or unpacked, relative to O(path).
  returned: always
  type: list
  elements: str
not_packed:
  description:
    - What O(path) holds that was left out of the archive, each as C(NAME (what it is)) - sockets, FIFOs, devices,
      and symbolic links other than criu's relative C(parent) link, which O(state=unpacked) would refuse.
  returned: when O(state=packed)
  type: list
  elements: str
  sample: [lazy-pages.socket (a socket)]
'''

import base64  # noqa: E402
import os  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _phaul  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['packed', 'unpacked'], default='packed'),
            path=dict(type='path', required=True),
            content=dict(type='str'),
        ),
        required_if=[('state', 'unpacked', ['content'])],
        supports_check_mode=True,
    )
    p = module.params
    if not p['path']:
        # Found before check mode decides: unpacking into "" fails only when it writes.
        module.fail_json(msg='path must name the images directory (absolute, or relative to the module\'s working '
                         'directory), got %r' % (p['path'],))
    if p['state'] == 'packed':
        if not os.path.isdir(p['path']):
            module.fail_json(msg='path %s is not a directory' % p['path'])
        try:
            data, names, not_packed = _phaul.pack(p['path'])
        except (IOError, OSError) as exc:
            module.fail_json(msg='cannot pack %s: %s' % (p['path'], exc))
        if not_packed:
            module.warn('not packed (only regular files, directories and criu\'s parent link are): %s'
                        % ', '.join(not_packed))
        module.exit_json(changed=False, content=base64.b64encode(data).decode('ascii'), size=len(data), files=names,
                         not_packed=not_packed)
    try:
        # With the path, so that check mode refuses what the real run would.
        dummy, found = _phaul.members(p['content'], p['path'])
        size = len(base64.b64decode(p['content']))
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    if module.check_mode:
        module.exit_json(changed=True, size=size, files=[m.name for m in found if not m.isdir()],
                         msg='check mode: nothing was written')
    try:
        written = _phaul.unpack(p['content'], p['path'])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg='cannot unpack into %s: %s' % (p['path'], exc))
    module.exit_json(changed=True, size=size, files=written)


if __name__ == '__main__':
    main()
