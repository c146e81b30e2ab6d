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
    probes of each of O(workloads). A probe asked for more than once is one item, with every reason. Last, what a
    workload needs the installed criu to dump and it cannot on this kernel (C(criu_facts.criu.cannot_dump)), as an
    item with id C(criu_dump:ID) and status C(cannot_dump) (the workload V(tcp_established) needs
    C(criu_dump:inet_sockets), since criu before 4.2 dumps no IPv4 or IPv6 socket on Linux 6.16 and newer).
  - A probe is met when its status is C(supported) or C(not_applicable), and also when it is C(unknown) if
    O(unknown_is_unmet=false). A probe asked for but absent from C(criu_facts.probes) (not gathered) is unmet,
    with status C(not_gathered).
  - Every probe id and workload name given is checked against the collection's registry; an unknown one is an error
    that lists the valid names. So are C(criu_facts) with values of an unexpected type (a number for a status, a text
    for a list), which the error names with the type expected.
  - What is met is decided by the collection's one decision module (C(plugins/module_utils/_decide.py)), as for the
    modules' verdicts.
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
      - Every known workload, as a name to a list of probe ids. By default the collection's built-in workloads
        (see the C(criu.check.require) role's documentation).
      - A name in O(workloads) that is not a key here or in O(custom_workloads) is an error.
    type: dict
  custom_workloads:
    description:
      - Workloads added to O(workload_definitions), or redefining one of them, as a name to a list of probe ids. The
        role passes C(criu_require_custom_workloads).
    type: dict
    default: {}
    version_added: 0.2.0
  ignore:
    description:
      - Probe ids waived, whatever asked for them (a required probe, a feature, a workload), and C(criu_dump:ID) items
        (what the installed criu cannot dump).
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
           workloads=['precopy_migration'], features=['userns']) }}
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

from collections.abc import Iterable, Mapping  # noqa: E402

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible.module_utils.parsing.convert_bool import boolean  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _decide  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _facts_shape  # noqa: E402


def _flag(name, value):
    try:
        return boolean(value, strict=True)
    except TypeError as exc:
        raise AnsibleFilterError('criu_unmet: %s must be a boolean: %s' % (name, exc))


def _names(name, value):
    """``value`` as a list of names (probe ids, workloads): a list of strings, or None."""
    if value is None:
        return []
    if isinstance(value, (str, Mapping)) or not isinstance(value, Iterable):
        raise AnsibleFilterError('criu_unmet: %s must be a list of names, not %r' % (name, value))
    names = list(value)
    wrong = [v for v in names if not isinstance(v, str)]
    if wrong:
        raise AnsibleFilterError('criu_unmet: %s must be a list of names (strings); %r in it is not one'
                                 % (name, wrong[0]))
    return names


def _mapping(name, value):
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise AnsibleFilterError('criu_unmet: %s must be a dictionary, not %r' % (name, value))
    return value


def _workloads(name, value):
    """``value`` as workload definitions: a dictionary of names to lists of probe ids."""
    return dict((workload, _names('%s: the probe ids of workload %s' % (name, workload), ids))
                for workload, ids in _mapping(name, value).items())


def criu_unmet(criu_facts, require_ready=True, require_can_start=True, features=None, workloads=None,
               workload_definitions=None, custom_workloads=None, ignore=None, unknown_is_unmet=True):
    """Return what a host lacks to run CRIU as required.

    Checks the arguments and hands them to the collection's one decision
    module (module_utils/_decide.py, ``unmet``), which decides what is met.
    """
    facts = _mapping('the input (criu_facts)', criu_facts)
    _mapping('criu_facts.probes', facts.get('probes'))
    dropped = _facts_shape.conform(facts, _facts_shape.FACTS_SHAPE, 'criu_facts')[1]
    if dropped:
        raise AnsibleFilterError('criu_unmet: %s' % _facts_shape.malformed_message('the input (criu_facts)', dropped))
    if workload_definitions is None:
        definitions = dict(_decide.BUILTIN_WORKLOADS)
    else:
        definitions = _workloads('workload_definitions', workload_definitions)
    definitions.update(_workloads('custom_workloads', custom_workloads))
    try:
        return _decide.unmet(
            facts,
            require_ready=_flag('require_ready', require_ready),
            require_can_start=_flag('require_can_start', require_can_start),
            features=_names('features', features),
            workloads=_names('workloads', workloads),
            definitions=definitions,
            ignore=_names('ignore', ignore),
            unknown_is_unmet=_flag('unknown_is_unmet', unknown_is_unmet))
    except _decide.DecisionError as exc:
        raise AnsibleFilterError('criu_unmet: %s' % exc)


class FilterModule(object):
    """criu.check filters."""

    def filters(self):
        return {
            'criu_unmet': criu_unmet,
        }
