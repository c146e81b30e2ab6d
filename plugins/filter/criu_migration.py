# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: criu_migration
short_description: Whether a process tree can migrate from one host to another with CRIU, and in which mode
version_added: 0.3.0
positional: _input, destination
author:
  - criu.check contributors (@criu-check)
description:
  - Takes the C(criu_facts) of a source host and of a destination host (as gathered by M(criu.check.criu_facts)),
    and optionally what only the pair can tell, and says for each migration mode whether it works, with the
    reasons and fixes where it does not.
  - The modes are V(pre-copy) (iterative C(criu pre-dump --track-mem) to a page server on the destination, then a
    final dump and a restore there), V(stop-and-copy) (one dump, the images copied, a restore) and V(post-copy)
    (C(criu dump --lazy-pages) on the source, C(criu restore --lazy-pages) on the destination).
  - "Every mode needs: criu usable on both hosts (C(criu_facts.criu.usable)); both kernels ready (every required
    probe met and criu able to start, as C(criu_facts.ready)); the same architecture; the same page size (when both
    facts carry C(environment.page_size)); a destination criu of the same version as the source's or newer (images
    are read by the criu that wrote them or a newer one) and of the same release series (major.minor: the page
    servers of criu 4.1 and 4.2 were seen not to talk to each other); the same cgroup layout (C(environment.cgroup): criu
    restores cgroup properties only into the layout it dumped them from); and, when O(pair.cpuinfo) is given, a
    destination CPU that C(criu cpuinfo check) accepts for the source's C(criu cpuinfo dump)."
  - Pre-copy also needs memory tracking (soft-dirty bits, probe C(mem_dirty_track)) on the source; criu refuses
    C(--track-mem) without it. Pre-copy and stop-and-copy also need the destination's page server reachable from
    the source, when O(pair.page_server) is given.
  - Post-copy also needs userfaultfd with its non-cooperative events on the destination (probes C(uffd) and
    C(uffd-noncoop)), where C(criu lazy-pages) and the restored tree fault pages in. The source needs no such
    feature - it keeps the pages and serves them from its own page server - but the destination must reach the
    source there, the opposite direction of O(pair.page_server), which this filter does not check.
  - Each mode's RV(_value.modes.MODE.ok) is V(true), V(false), or V(null) when it cannot be told (the facts of a
    host lack what is needed, or a probe could not decide). Evidence not given at all (no O(pair.cpuinfo), no
    O(pair.page_server), no page size in facts gathered by an older release) is listed in RV(_value.not_checked)
    and does not change a verdict.
  - RV(_value.mode) is the best mode that works, V(pre-copy) before V(stop-and-copy). Post-copy is never chosen;
    if anything fails after its restore has started, the process is lost on both hosts.
  - What is ready or met is decided by the collection's one decision module (C(plugins/module_utils/_decide.py)),
    the pair verdict by C(plugins/module_utils/_pair.py).
options:
  _input:
    description: The C(criu_facts) of the source host, that is its C(ansible_facts.criu_facts).
    type: dict
    required: true
  destination:
    description: The C(criu_facts) of the destination host, for example C(hostvars[dest].ansible_facts.criu_facts).
    type: dict
    required: true
  pair:
    description:
      - What only the pair can tell. A key left out (or null) is listed in RV(_value.not_checked); another key is an
        error.
    type: dict
    suboptions:
      cpuinfo:
        description:
          - The result of M(criu.check.criu_cpuinfo) with O(criu.check.criu_cpuinfo#module:state=check) on the
            destination, for the image its O(criu.check.criu_cpuinfo#module:state=dump) made on the source
            (a registered result works as it is).
          - C(compatible) (bool, required) and C(message) (criu's words).
        type: dict
      page_server:
        description:
          - Whether the source reached the destination's page server, C(reachable) (bool, required) and
            C(message) (what failed). Applies to pre-copy and stop-and-copy.
        type: dict
  criu_options:
    description:
      - The criu options the tree is to be dumped with (M(criu.check.criu_dump)'s
        O(criu.check.criu_dump#module:criu_options), the migrate role's C(criu_migrate_criu_options)).
      - Those that say the tree holds network sockets (V(tcp_established), V(tcp_close), V(skip_in_flight)) are
        checked against what the source's criu cannot dump on its kernel (C(criu_facts.criu.cannot_dump), such as
        criu before 4.2 on Linux 6.16 and newer); every mode fails there, with criu's reason and fix (check
        C(criu_dump)).
    type: dict
    version_added: 0.3.0
  source_name:
    description: How the reasons and fixes name the source, for example its C(inventory_hostname).
    type: str
    default: source
  destination_name:
    description: How the reasons and fixes name the destination.
    type: str
    default: destination
seealso:
  - module: criu.check.criu_facts
  - module: criu.check.criu_cpuinfo
  - plugin: criu.check.criu_unmet
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Can web1 migrate to web2, and how
  ansible.builtin.set_fact:
    verdict: >-
      {{ hostvars['web1'].ansible_facts.criu_facts
         | criu.check.criu_migration(hostvars['web2'].ansible_facts.criu_facts,
                                     source_name='web1', destination_name='web2') }}
  # verdict:
  #   possible: true
  #   mode: stop-and-copy
  #   modes:
  #     pre-copy:
  #       ok: false
  #       reasons: ["mem_dirty_track on web1: unsupported: Dirty tracking is OFF. Memory snapshot will not work"]
  #       fixes: ["boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y ..."]
  #     stop-and-copy: {ok: true, reasons: [], fixes: []}
  #     post-copy: {ok: true, reasons: [], fixes: []}
  #   reasons: ["pre-copy: mem_dirty_track on web1: unsupported: Dirty tracking is OFF. ..."]
  #   checked: [criu_usable, kernel_ready, arch, page_size, criu_version, criu_release, cgroup, mem_dirty_track, uffd, uffd-noncoop]
  #   not_checked: [cpuinfo, page_server]

- name: Compare the CPUs with criu itself, then decide with that evidence
  criu.check.criu_cpuinfo:
    state: dump
  register: cpu_image
  delegate_to: web1

- name: Check the source's CPU image on the destination
  criu.check.criu_cpuinfo:
    state: check
    image: "{{ cpu_image.image }}"
  register: cpu_check
  delegate_to: web2

- name: Fail unless pre-copy works
  ansible.builtin.assert:
    that: verdict.modes['pre-copy'].ok
    fail_msg: "{{ verdict.modes['pre-copy'].reasons | join('; ') }}"
  vars:
    verdict: >-
      {{ hostvars['web1'].ansible_facts.criu_facts
         | criu.check.criu_migration(hostvars['web2'].ansible_facts.criu_facts, pair={'cpuinfo': cpu_check}) }}
'''

RETURN = r'''
_value:
  description: The verdict for the pair.
  type: dict
  contains:
    possible:
      description:
        - Whether pre-copy or stop-and-copy works; V(null) when neither is known to work and one cannot be told.
      type: bool
    mode:
      description: The best mode that works, V(pre-copy) or V(stop-and-copy); V(null) when none does.
      type: str
    modes:
      description: One entry per mode, keyed V(pre-copy), V(stop-and-copy) and V(post-copy).
      type: dict
      contains:
        ok:
          description: Whether the mode works; V(null) when it cannot be told.
          type: bool
        reasons:
          description: Why it does not work, or why it cannot be told, one sentence each.
          type: list
          elements: str
        fixes:
          description: The actions that would make it work, one sentence each.
          type: list
          elements: str
    reasons:
      description:
        - The reasons of pre-copy and stop-and-copy, each once; one that concerns pre-copy alone starts with
          the words C(pre-copy) and a colon. Empty when both work.
      type: list
      elements: str
    fixes:
      description: The fixes of those reasons, each once.
      type: list
      elements: str
    checked:
      description:
        - The checks that gave an answer (on at least one host), by id - C(criu_usable), C(kernel_ready),
          C(arch), C(page_size), C(criu_version), C(criu_release), C(cgroup), C(cpuinfo), C(page_server),
          C(criu_dump) (with O(criu_options) that say what the tree holds), and the probe ids C(mem_dirty_track),
          C(uffd) and C(uffd-noncoop).
      type: list
      elements: str
    not_checked:
      description:
        - The checks without an answer - no evidence given (C(cpuinfo), C(page_server)), no C(environment.page_size)
          in a host's facts (C(page_size)), or a host's facts lacking what is needed (the modes say why).
      type: list
      elements: str
'''

from ansible.errors import AnsibleFilterError  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _pair  # noqa: E402


def criu_migration(source, destination=None, pair=None, source_name='source', destination_name='destination',
                   criu_options=None):
    """Whether a process tree can migrate from ``source`` to ``destination``.

    Hands the facts to the collection's pair decision
    (module_utils/_pair.py, ``decide``).
    """
    if destination is None:
        raise AnsibleFilterError('criu_migration: the destination\'s criu_facts are required, as in '
                                 'src_facts | criu.check.criu_migration(dst_facts)')
    try:
        for facts, what in ((source, _pair.SOURCE), (destination, _pair.DESTINATION)):
            _pair.check_shape(facts, what)
        return _pair.decide(source, destination, pair=pair, source_name=source_name,
                            destination_name=destination_name, criu_options=criu_options)
    except _pair.PairError as exc:
        raise AnsibleFilterError('criu_migration: %s' % exc)


class FilterModule(object):
    """criu.check migration filters."""

    def filters(self):
        return {
            'criu_migration': criu_migration,
        }
