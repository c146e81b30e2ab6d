# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: criu_unmet
short_description: What a host lacks to run CRIU as required, from its criu_facts
version_added: 0.1.0
author:
  - criu.check contributors (@criu-check)
description:
  - Takes the C(criu_facts) of one host (as gathered by M(criu.check.criu_facts)) and what that host must have, and
    returns every unmet item, one dictionary each, in a stable order. The C(criu.check.require) role fails the play
    with the RV(_value[].line) of these items.
  - The order is the start-up blockers of real criu first (O(require_can_start)), then the probes that are not
    supported, in the order they were asked for - the required probes (O(require_ready)), O(features), then the
    probes of each of O(workloads). A probe asked for more than once is one item, with every reason.
  - A probe is met when its status is C(supported) or C(not_applicable), and also when it is C(unknown) if
    O(unknown_is_unmet=false). A probe asked for but absent from C(criu_facts.probes) (not gathered) is unmet,
    with status C(not_gathered).
  - This filter does not check that probe ids exist; the role does that before it calls the filter.
options:
  _input:
    description: The C(criu_facts) of the host, that is C(ansible_facts.criu_facts).
    type: dict
    required: true
  require_ready:
    description: Every probe of criu's "absolutely required" category (C(category=required)) must be supported.
    type: bool
    default: true
  require_can_start:
    description:
      - Real criu must be able to start there (C(criu_facts.environment.criu_can_start)); each of
        C(criu_facts.environment.criu_start_blockers) becomes an item with id C(criu_start).
    type: bool
    default: true
  features:
    description: Probe ids (keys of C(criu_facts.probes)) that must be supported.
    type: list
    elements: str
    default: []
  workloads:
    description: Names of workloads (keys of O(workload_definitions)) whose probes must be supported.
    type: list
    elements: str
    default: []
  workload_definitions:
    description:
      - Every known workload, as a name to a list of probe ids. The role passes its built-in workloads combined with
        C(criu_require_custom_workloads).
      - A name in O(workloads) that is not a key here is an error.
    type: dict
    default: {}
  ignore:
    description: Probe ids waived, whatever asked for them (a required probe, a feature, a workload).
    type: list
    elements: str
    default: []
  unknown_is_unmet:
    description:
      - A probe that could not decide (status C(unknown)) counts as unmet. C(error) and C(unsupported) always count.
    type: bool
    default: true
seealso:
  - module: criu.check.criu_facts
'''

EXAMPLES = r'''
- name: What this host lacks for pre-copy migration of containers in user namespaces
  ansible.builtin.set_fact:
    unmet: >-
      {{ ansible_facts.criu_facts | criu.check.criu_unmet(
           workloads=['precopy_migration'], features=['userns'],
           workload_definitions={'precopy_migration': ['mem_dirty_track']}) }}
  # unmet:
  #   - id: mem_dirty_track
  #     why: needed for workload precopy_migration
  #     status: unsupported
  #     message: Dirty tracking is OFF. Memory snapshot will not work.
  #     fix: boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y ...
  #     line: "mem_dirty_track (needed for workload precopy_migration): unsupported: Dirty tracking is OFF. ...; fix: ..."

- name: Print one line per unmet item, ignoring TCP and letting undecided probes pass
  ansible.builtin.debug:
    msg: >-
      {{ ansible_facts.criu_facts
         | criu.check.criu_unmet(ignore=['tcp'], unknown_is_unmet=false)
         | map(attribute='line') }}
'''

RETURN = r'''
_value:
  description:
    - The unmet items, in order. An empty list when the host has everything asked for.
  type: list
  elements: dict
  contains:
    id:
      description: The probe id, or C(criu_start) for a reason real criu would refuse to start.
      type: str
    why:
      description:
        - Why it was asked for - C(criu start-up), C(required by criu), C(in criu_require_features),
          C(needed for workload NAME); the reasons joined with C(, ) when it was asked for more than once.
      type: str
    status:
      description:
        - The probe's status (C(unsupported), C(unknown), C(error)), C(blocked) for C(criu_start), or C(not_gathered).
      type: str
    message:
      description: What was observed (criu's own words where criu has them), or an empty string.
      type: str
    fix:
      description: One actionable sentence, or an empty string.
      type: str
    line:
      description:
        - "The item on one line: the id, the reasons in parentheses, C(: STATUS), then C(: MESSAGE) unless the message
          is empty and C(; fix: FIX) unless the fix is empty."
      type: str
'''

from collections.abc import Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402

CRIU_START = 'criu_start'
CRIU_START_WHY = 'criu start-up'
CRIU_START_STATUS = 'blocked'
CRIU_START_DEFAULT_BLOCKER = 'criu would refuse to start here'
CRIU_START_FIX = 'run criu as root with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (on the host or in a privileged container)'

WHY_REQUIRED = 'required by criu'
WHY_FEATURE = 'in criu_require_features'
WHY_WORKLOAD = 'needed for workload %s'

NOT_GATHERED = 'not_gathered'
NOT_GATHERED_MESSAGE = 'criu_facts has no result for this probe'
NOT_GATHERED_FIX = 'gather with categories that include it (criu_require_categories: [all])'

MET = ('supported', 'not_applicable')
UNKNOWN = 'unknown'


def _flag(name, value):
    try:
        return boolean(value, strict=True)
    except TypeError as exc:
        raise AnsibleFilterError('criu_unmet: %s must be a boolean: %s' % (name, exc))


def _names(name, value):
    if value is None:
        return []
    if isinstance(value, (str, Mapping)):
        raise AnsibleFilterError('criu_unmet: %s must be a list, not %r' % (name, value))
    return list(value)


def _mapping(name, value):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError('criu_unmet: %s must be a dictionary, not %r' % (name, value))
    return value


def _text(value):
    """Jinja's ``~``: the value as text (None as 'None')."""
    return '%s' % (value,)


def _or_empty(value):
    """Jinja's ``default('', true)``: any false value becomes ''."""
    return value if value else ''


def _line(item):
    return (_text(item['id']) + ' (' + _text(item['why']) + '): ' + _text(item['status'])
            + (': ' + _text(item['message']) if item['message'] else '')
            + ('; fix: ' + _text(item['fix']) if item['fix'] else ''))


def _reasons(wanted, probe_id):
    """Every reason ``probe_id`` was asked for, in order, each once, joined.

    Reasons that differ only in case count once (the first is kept), as
    Ansible's ``unique`` filter, which the role used before, compares them."""
    reasons, seen = [], set()
    for wanted_id, why in wanted:
        key = why.lower() if isinstance(why, str) else why
        if wanted_id == probe_id and key not in seen:
            seen.add(key)
            reasons.append(_text(why))
    return ', '.join(reasons)


def criu_unmet(criu_facts, require_ready=True, require_can_start=True, features=None, workloads=None,
               workload_definitions=None, ignore=None, unknown_is_unmet=True):
    """Return what a host lacks to run CRIU as required.

    :param criu_facts: the host's ``ansible_facts.criu_facts``
    :param require_ready: every probe of category ``required`` must be supported
    :param require_can_start: real criu must be able to start (environment.criu_can_start)
    :param features: probe ids that must be supported
    :param workloads: workload names (keys of ``workload_definitions``) whose probes must be supported
    :param workload_definitions: workload name to a list of probe ids
    :param ignore: probe ids waived, whatever asked for them
    :param unknown_is_unmet: a probe of status ``unknown`` counts as unmet
    :returns: a list of dicts with the keys id, why, status, message, fix and line, in this order: criu
        start-up blockers, then the probes asked for (required, features, workloads), each probe once
    """
    facts = _mapping('the input (criu_facts)', criu_facts)
    require_ready = _flag('require_ready', require_ready)
    require_can_start = _flag('require_can_start', require_can_start)
    unknown_is_unmet = _flag('unknown_is_unmet', unknown_is_unmet)
    features = _names('features', features)
    workloads = _names('workloads', workloads)
    ignore = _names('ignore', ignore)
    definitions = _mapping('workload_definitions', workload_definitions)
    probes = _mapping('criu_facts.probes', facts.get('probes'))
    environment = facts.get('environment') or {}

    unknown_workloads = [name for name in workloads if name not in definitions]
    if unknown_workloads:
        raise AnsibleFilterError('criu_unmet: unknown workload(s): %s (known: %s)'
                                 % (', '.join(map(_text, unknown_workloads)), ', '.join(sorted(map(_text, definitions)))))

    met = MET if unknown_is_unmet else MET + (UNKNOWN,)
    items = []

    if require_can_start and not environment.get('criu_can_start', True):
        for blocker in environment.get('criu_start_blockers') or [CRIU_START_DEFAULT_BLOCKER]:
            items.append({'id': CRIU_START, 'why': CRIU_START_WHY, 'status': CRIU_START_STATUS,
                          'message': blocker, 'fix': CRIU_START_FIX})

    # Every (probe id, reason) pair asked for, in order; a probe may come more than once.
    wanted = []
    if require_ready:
        wanted.extend((probe_id, WHY_REQUIRED) for probe_id, probe in probes.items()
                      if isinstance(probe, Mapping) and probe.get('category') == 'required')
    wanted.extend((probe_id, WHY_FEATURE) for probe_id in features)
    for name in workloads:
        probe_ids = _names('the probe ids of workload %s' % (name,), definitions[name])
        wanted.extend((probe_id, WHY_WORKLOAD % (name,)) for probe_id in probe_ids)

    seen = []
    for probe_id, why in wanted:
        if probe_id in ignore or probe_id in seen:
            continue
        seen.append(probe_id)
        probe = probes.get(probe_id)
        if probe is None:
            # Only the first reason, as before: gathering more categories is the fix whatever asked for it.
            items.append({'id': probe_id, 'why': why, 'status': NOT_GATHERED,
                          'message': NOT_GATHERED_MESSAGE, 'fix': NOT_GATHERED_FIX})
        elif probe.get('status') not in met:
            items.append({'id': probe_id, 'why': _reasons(wanted, probe_id), 'status': probe.get('status'),
                          'message': _or_empty(probe.get('message')), 'fix': _or_empty(probe.get('fix'))})

    for item in items:
        item['line'] = _line(item)
    return items


class FilterModule(object):
    """criu.check filters."""

    def filters(self):
        return {
            'criu_unmet': criu_unmet,
        }
