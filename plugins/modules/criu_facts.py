#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_facts
short_description: Gather facts about the kernel features CRIU needs
version_added: 0.1.0
description:
  - Runs every kernel probe of C(criu check) (CRIU 4.2), re-implemented in Python, on the managed node and
    returns the answers as facts, so that plays can branch on them, for example
    C(when) V(ansible_facts.criu_facts.extra.userns).
  - Unlike C(criu check) it runs every probe instead of stopping at the first failure, and says for each one
    what was observed, why it fails, and how to fix it.
  - Each probe runs in a forked child process with a timeout; nothing the probes do persists on the host.
  - Never fails because a feature is missing; missing features are facts. It fails only on invalid options.
  - C(criu_ready) is true when every required probe is supported and real criu could start here (root, or
    C(CAP_CHECKPOINT_RESTORE) with O(unprivileged); Yama C(ptrace_scope) below 3).
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - C(pyroute2) for the netlink probes and C(python-ptrace) for the ptrace probes (Debian C(python3-pyroute2),
    C(python3-ptrace)). Without them those probes are C(unknown) with the fix, and the others still run.
options:
  categories:
    description:
      - The categories of probes to run, as C(criu check) groups them. C(all) runs all 67 probes.
      - C(required) is C(criu check)'s "absolutely required" category; C(extra) is C(--extra); C(experimental) is
        C(--experimental); C(optional) is the breakpoints probe; C(feature_only) are the probes reachable only
        with C(criu check --feature NAME).
      - C(criu_ready) can only be true when C(required) is among them.
    type: list
    elements: str
    choices: [required, extra, experimental, optional, feature_only, all]
    default: [all]
  unprivileged:
    description:
      - Answer as C(criu check --unprivileged) would, for a non-root user with C(CAP_CHECKPOINT_RESTORE).
      - In that mode criu skips some probes (TCP repair without C(CAP_NET_ADMIN)) and reads its root-only probes
        as unsupported; the facts do the same.
    type: bool
    default: false
  timeout:
    description:
      - Seconds one probe may run before it is killed and reported as C(error).
    type: float
    default: 5.0
attributes:
  check_mode:
    support: full
    description: The module never changes the host; it runs the same way in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so it has no diff to show.
  facts:
    support: full
    description: The module returns its results as facts in C(ansible_facts).
seealso:
  - module: criu.check.criu_check
  - name: criu check documentation
    description: The CRIU command this collection re-implements.
    link: https://criu.org/CLI/cmd/check
notes:
  - Facts are returned under C(ansible_facts), so they are cached with the other host facts. Use
    C(ansible_facts.criu_facts) and C(ansible_facts.criu_ready); the bare C(criu_facts) name relies on facts
    being injected as variables, which ansible-core deprecates.
  - Can run during fact gathering with C(ansible_facts_modules) (keep C(setup) in that list); its options then
    come from C(module_defaults).
'''

EXAMPLES = r'''
- name: Gather CRIU facts
  criu.check.criu_facts:

- name: Only the required probes, as criu --unprivileged would answer
  criu.check.criu_facts:
    categories: [required]
    unprivileged: true

- name: Skip a task on hosts without user namespace support for CRIU
  ansible.builtin.debug:
    msg: "userns checkpoints work here"
  when: ansible_facts.criu_facts.extra.userns

- name: Gather CRIU facts with the other facts at play start
  hosts: all
  gather_facts: true
  vars:
    ansible_facts_modules:
      - setup  # keep the default facts
      - criu.check.criu_facts
  tasks:
    - name: Show what is missing
      ansible.builtin.debug:
        var: ansible_facts.criu_facts.missing
'''

RETURN = r'''
ansible_facts:
  description: Facts about CRIU's kernel features on the managed node.
  returned: always
  type: complex
  contains:
    criu_ready:
      description: Every required probe is supported and criu could start here.
      returned: always
      type: bool
      sample: true
    criu_facts:
      description: The detail.
      returned: always
      type: complex
      contains:
        ready:
          description: Same as C(criu_ready).
          type: bool
          returned: always
        verdict:
          description:
            - C(good), C(good_but) or C(bad), criu's three outcomes for the categories run.
            - A required probe that could not decide makes it C(bad) (it cannot be called good).
          type: str
          returned: always
          sample: good_but
        summary:
          description:
            - criu's own final sentence for that verdict (C(Looks good.), C(Does not look good.), or the
              three-line C(Looks good but ...)), or the reasons criu would refuse to start.
          type: str
          returned: always
        required:
          description: Required probe id to supported (true) or not (false).
          type: dict
          returned: always
          sample: {map_files: true, sock_diag: true}
        extra:
          description: Extra (C(--extra)) probe id to supported.
          type: dict
          returned: always
          sample: {userns: true, mem_dirty_track: false}
        experimental:
          description: Experimental probe id to supported.
          type: dict
          returned: always
        optional:
          description: The optional breakpoints probe; it never changes the verdict.
          type: dict
          returned: always
        feature_only:
          description: Probes reachable only with C(criu check --feature NAME).
          type: dict
          returned: always
        missing:
          description: Ids of unsupported probes, by category (required, extra, experimental).
          type: dict
          returned: always
          sample: {required: [], extra: [mem_dirty_track], experimental: []}
        unknown:
          description: Ids of probes that could not decide (a missing library, a timeout, a crash). Not missing.
          type: list
          elements: str
          returned: always
        probes:
          description:
            - One entry per probe id with C(category), C(criu_feature) (criu's C(--feature) name or null),
              C(status) (supported, unsupported, unknown, not_applicable, error), C(message) (criu's own text
              where it has one), C(evidence) (what was observed), C(kernel_min), C(config) (kernel options),
              C(fix) (one actionable sentence) and C(duration_ms).
          type: dict
          returned: always
        kernel:
          description: Kernel C(release), C(version) and C(arch).
          type: dict
          returned: always
        environment:
          description:
            - Identity and limits that decide whether criu could run; C(criu_can_start) and
              C(criu_start_blockers) say whether real criu would refuse to start here, and why, in its words.
          type: dict
          returned: always
        criu:
          description: The installed criu binary (C(path), C(version)), or null when there is none.
          type: dict
          returned: always
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _check  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            categories=dict(type='list', elements='str', default=[_check.ALL],
                            choices=list(_check.CATEGORY_CHOICES)),
            unprivileged=dict(type='bool', default=False),
            timeout=dict(type='float', default=5.0),
        ),
        supports_check_mode=True,
    )
    if module.params['timeout'] <= 0:
        module.fail_json(msg='timeout must be a positive number of seconds, got %s' % module.params['timeout'])
    probes = _check.by_categories(module.params['categories'])
    dummy, facts = _check.run(probes, module.run_command, unprivileged=module.params['unprivileged'],
                              timeout=module.params['timeout'])
    module.exit_json(changed=False, ansible_facts={'criu_ready': facts['ready'], 'criu_facts': facts})


if __name__ == '__main__':
    main()
