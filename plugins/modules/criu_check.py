#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_check
short_description: Check kernel support for CRIU, as C(criu check) does
version_added: 0.1.0
description:
  - Runs the kernel probes of C(criu check) (CRIU 4.2), re-implemented in Python, on the managed node, and
    answers as C(criu check) would, with the same categories, feature names, messages and exit semantics.
  - Without options it runs the required probes (and the optional breakpoints probe, whose result criu
    ignores); O(extra), O(experimental) and O(all) add categories as C(--extra), C(--experimental) and C(--all)
    do; O(feature) runs only the named probes, as C(--feature NAME).
  - Unlike C(criu check) every selected probe runs, even after a required one fails, and each result says what
    was observed and how to fix it.
  - By default the task fails when C(criu check) would exit non-zero (see O(fail_on)).
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - C(pyroute2) and C(python-ptrace) on the managed node for the netlink and ptrace probes; without them those
    probes are C(unknown) with the fix.
options:
  extra:
    description: Also run the extra probes, as C(criu check --extra).
    type: bool
    default: false
  experimental:
    description: Also run the experimental probes, as C(criu check --experimental).
    type: bool
    default: false
  all:
    description: Run the extra and experimental probes too, as C(criu check --all).
    type: bool
    default: false
  feature:
    description:
      - Run only these probes, by criu C(--feature) name or, for the checks criu runs without a name, by our
        probe id (for example V(ns_last_pid)). O(extra), O(experimental) and O(all) are then ignored, as criu
        ignores them.
      - V(list) returns every known name with its category in RV(features) and runs nothing.
      - An unknown name fails the task with the list of valid names.
    type: list
    elements: str
  unprivileged:
    description: Answer as C(criu check --unprivileged) would, for a non-root user with C(CAP_CHECKPOINT_RESTORE).
    type: bool
    default: false
  timeout:
    description: Seconds one probe may run before it is killed and reported as C(error).
    type: float
    default: 5.0
  fail_on:
    description:
      - When the task fails.
      - V(criu) fails whenever C(criu check) would exit non-zero, that is for C(Does not look good.), for
        C(Looks good but ...), for an unsupported O(feature), and when criu could not start here.
      - V(required) fails only when the verdict is C(bad) (a required probe or a named feature is not supported,
        or criu could not start).
      - V(never) never fails; read RV(verdict) and RV(criu_rc).
    type: str
    choices: [criu, required, never]
    default: criu
attributes:
  check_mode:
    support: full
    description: The module never changes the host; it runs the same way in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so it has no diff to show.
seealso:
  - module: criu.check.criu_facts
  - name: criu check documentation
    description: The CRIU command this module re-implements.
    link: https://criu.org/CLI/cmd/check
'''

EXAMPLES = r'''
- name: Fail unless CRIU's required kernel features are present (criu check)
  criu.check.criu_check:

- name: Everything, as criu check --all, without failing the task
  criu.check.criu_check:
    all: true
    fail_on: never
  register: criu

- name: Show criu's verdict
  ansible.builtin.debug:
    msg: "{{ criu.summary }}"

- name: Two single features, as criu check --feature
  criu.check.criu_check:
    feature: [userns, uffd-noncoop]

- name: List every feature name with its category
  criu.check.criu_check:
    feature: list
  register: names
'''

RETURN = r'''
verdict:
  description:
    - V(good), V(good_but) or V(bad), criu's three outcomes. With O(feature), V(good) when every named feature
      is supported, else V(bad).
  returned: unless O(feature=list)
  type: str
  sample: good
summary:
  description:
    - What C(criu check) prints last, in its words (C(Looks good.), C(Does not look good.), the three-line
      C(Looks good but ...), or one C(NAME is supported) line per feature), or why criu would not start.
  returned: unless O(feature=list)
  type: str
  sample: Looks good.
criu_rc:
  description:
    - The exit code C(criu check) would return, 0 or 1. (Not C(rc), which Ansible reads as the task's own
      failure.)
  returned: unless O(feature=list)
  type: int
  sample: 0
ready:
  description: Every required probe run is supported and criu could start here.
  returned: unless O(feature=list)
  type: bool
missing:
  description: Unsupported probe ids by category.
  returned: unless O(feature=list)
  type: dict
  sample: {required: [], extra: [mem_dirty_track], experimental: []}
unknown:
  description: Probe ids that could not decide (missing library, timeout, crash).
  returned: unless O(feature=list)
  type: list
  elements: str
probes:
  description:
    - One entry per probe run, by id, with C(category), C(criu_feature), C(status), C(message), C(evidence),
      C(kernel_min), C(config), C(fix) and C(duration_ms), as in the C(criu_facts) probes.
  returned: unless O(feature=list)
  type: dict
environment:
  description: Identity and limits that decide whether criu could start (C(criu_can_start), C(criu_start_blockers)).
  returned: unless O(feature=list)
  type: dict
features:
  description: Every feature name the module accepts, with its category and criu C(--feature) name (null if none).
  returned: when O(feature=list)
  type: list
  elements: dict
  sample: [{name: mnt_id, category: extra, criu_feature: mnt_id}]
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _aggregate  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _check  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _registry  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _result  # noqa: E402


def feature_outcome(facts):
    """``criu check --feature NAME`` semantics for each named probe."""
    lines = []
    for probe_id, entry in facts['probes'].items():
        if entry['status'] == _result.SUPPORTED:
            lines.append('%s is supported' % probe_id)
        else:
            lines.append('%s: %s' % (probe_id, entry['message'] or entry['status']))
    blockers = facts['environment']['criu_start_blockers']
    good = not blockers and all(e['status'] == _result.SUPPORTED for e in facts['probes'].values())
    return (_aggregate.GOOD if good else _aggregate.BAD), '\n'.join(blockers or lines)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            extra=dict(type='bool', default=False),
            experimental=dict(type='bool', default=False),
            all=dict(type='bool', default=False),
            feature=dict(type='list', elements='str'),
            unprivileged=dict(type='bool', default=False),
            timeout=dict(type='float', default=5.0),
            fail_on=dict(type='str', default='criu', choices=['criu', 'required', 'never']),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if params['timeout'] <= 0:
        module.fail_json(msg='timeout must be a positive number of seconds, got %s' % params['timeout'])
    features = params['feature'] or []
    if features == ['list']:
        module.exit_json(changed=False, features=_registry.feature_list())
    if 'list' in features:
        module.fail_json(msg="feature: 'list' returns the names and must be given alone, got %s" % ', '.join(features))
    try:
        if features:
            probes = _check.by_features(features)
        else:
            probes = _check.like_criu_check(extra=params['extra'] or params['all'],
                                            experimental=params['experimental'] or params['all'])
    except _check.SelectionError as exc:
        module.fail_json(msg=str(exc))

    dummy, facts = _check.run(probes, module.run_command, unprivileged=params['unprivileged'], timeout=params['timeout'])
    if features:
        verdict, summary = feature_outcome(facts)
    else:
        verdict, summary = facts['verdict'], facts['summary']
    result = dict(
        changed=False,
        verdict=verdict,
        summary=summary,
        criu_rc=0 if verdict == _aggregate.GOOD else 1,
        ready=facts['ready'],
        missing=facts['missing'],
        unknown=facts['unknown'],
        probes=facts['probes'],
        environment=facts['environment'],
    )
    policy = params['fail_on']
    if (policy == 'criu' and result['criu_rc'] != 0) or (policy == 'required' and verdict == _aggregate.BAD):
        module.fail_json(msg=summary, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
