# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options and attributes that criu_facts and criu_check share (DOCUMENTATION), and
those of the modules that run the installed criu for a migration (CRIU_PATH).

PRIVATE to the criu.check collection: not a public API; it may change at any time.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  unprivileged:
    description:
      - Answer as C(criu check --unprivileged) would, for a non-root user with C(CAP_CHECKPOINT_RESTORE).
      - In that mode criu skips some probes (TCP repair without C(CAP_NET_ADMIN)) and reads its root-only probes
        as unsupported; the results do the same.
    type: bool
    default: false
  timeout:
    description:
      - Seconds one probe may run before it is killed and reported as C(error).
      - Must be a positive number of seconds, at most 86400 (a day); anything else fails the task, naming that range.
    type: float
    default: 5.0
attributes:
  check_mode:
    support: full
    description: Can run in C(check_mode); the module never changes the host, so it runs the same way there.
  diff_mode:
    support: none
    description: The module changes nothing, so it has no diff to show.
  platform:
    support: full
    platforms: linux
    description: Target OS/families that can be operated against.
  action_group:
    support: full
    membership:
      - criu.check.criu
    description:
      - Use C(group/criu.check.criu) in C(module_defaults) to set default values for the options of
        M(criu.check.criu_facts) and M(criu.check.criu_check), the modules of the group (not the smoke test's or the
        migration modules', whose O(timeout) bounds one criu run).
      - Only the options both modules have (O(timeout), O(unprivileged)) belong there; an option of one of them
        (C(fail_on), C(categories)) makes the other fail with Ansible's C(Unsupported parameters). Set those in
        C(module_defaults) under the module's own name.
'''

    # The modules that run the installed criu: criu_smoke, criu_cpuinfo, criu_page_server, criu_dump,
    # criu_restore (each with criu.check.criu.linux too).
    CRIU_PATH = r'''
options:
  criu_path:
    description:
      - The criu binary to use, as a path or a name looked up on E(PATH).
      - By default the first executable C(criu) on E(PATH), then in C(/sbin), C(/usr/sbin) and C(/usr/local/sbin),
        which is the one container runtimes would call.
    type: path
'''

    # criu_dump and criu_restore: made from module_utils/_criu_options.py (a test keeps them equal).
    CRIU_OPTIONS = r'''
options:
  criu_options:
    description:
      - criu's options for what the tree holds, each off by default. The restore must be given the same (it takes
        those criu restore needs, and leaves out those marked dump only); criu records only C(--tcp-close) in the
        images, and refuses to restore them without it. The migrate role passes its C(criu_migrate_criu_options)
        to both.
      - A dump that needs one fails with criu's words and the option to set.
    type: dict
    default: {}
    suboptions:
      tcp_established:
        description: Dump and restore established TCP connections (C(--tcp-established); TCP repair mode).
        type: bool
        default: false
      tcp_close:
        description: Dump established TCP connections, and restore them closed (C(--tcp-close)).
        type: bool
        default: false
      skip_in_flight:
        description: Leave out connections not yet accepted by a listening socket (C(--skip-in-flight); dump only).
        type: bool
        default: false
      file_locks:
        description:
          - Dump and restore the tree's file locks (C(--file-locks)). criu restores images that hold file locks
            without it as if there were none, so M(criu.check.criu_restore) refuses them without it.
        type: bool
        default: false
      shell_job:
        description:
          - The tree was started from a shell or another program's session, not as a session of its own
            (C(--shell-job)); it is restored into the session and terminal of criu's caller.
          - It does not help a process in session 0 (started by an init that never called C(setsid)), nor the first
            process of a pid namespace whose session's leader is outside that namespace (C(unshare -p -f) without
            C(setsid)); criu cannot dump those, and the module says so.
        type: bool
        default: false
      ext_unix_sk:
        description:
          - Dump datagram unix sockets whose peer is outside the tree (C(--ext-unix-sk); dump only). criu restores
            them connected to the peer's name again, which must then be bound (criu does not dump half of a
            stream connection).
        type: bool
        default: false
      link_remap:
        description:
          - Dump open files whose name was removed while other links remain, through a temporary link
            (C(--link-remap); dump only).
          - criu leaves that link (C(link_remap.N) beside the file) until the images are restored on the same file
            system, which removes it; on another host the restore finds no such file.
        type: bool
        default: false
'''

    LINUX = r'''
attributes:
  diff_mode:
    support: none
    description: Not supported.
  platform:
    support: full
    platforms: linux
    description: Linux only, as criu.
'''
