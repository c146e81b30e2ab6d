#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_report
short_description: Report, on the controller, which hosts of a play can run CRIU and why not
version_added: 0.2.0
description:
  - Reads the C(criu_facts) every host of the play gathered with M(criu.check.criu_facts) (and the registered result of
    that task, for hosts that were unreachable or where it failed) and writes the fleet report of C(playbooks/check.yml)
    - a terminal table, and C(criu-report.html), C(criu-report.json) and C(criu-report.csv) in O(dest).
  - The table has one line per host, grouped by outcome (ready, not ready, undecided, failed, unreachable), and leads
    with three answers per host - is the kernel ready, is the installed criu usable, are the installed container
    runtimes ready to checkpoint - then the verdict, the kernel release, the missing required features, the number of
    missing extra features and of undecided probes, and what changed since the previous run. After the table come the
    causes of what is missing with their fixes, one line per cause (a missing Python library is one cause for all the
    probes that need it).
  - Runs once for the whole play, on the controller, and never connects to a host.
  - With a persistent fact cache (for example O(ignore:fact_caching=jsonfile)) it compares each host with the snapshot of
    the previous run (fact C(criu_fleet_last)) - kernel release, criu version, verdict, probes gained and lost.
    RV(snapshots) is what to store for the next run; C(playbooks/check.yml) stores it with M(ansible.builtin.set_fact).
  - This is an action plugin; this file only documents it.
author:
  - criu.check contributors (@criu-check)
options:
  dest:
    description:
      - The directory the report files go to, on the controller. Created when missing. Relative to the current
        directory of C(ansible-playbook).
    type: path
    default: criu-report
  formats:
    description:
      - Which report files to write. An empty list writes none (the table is still shown).
    type: list
    elements: str
    choices: [html, json, csv]
    default: [html, json, csv]
  hosts:
    description:
      - The hosts to report on. Default is every host of the play (C(ansible_play_hosts_all)), unreachable and failed
        ones included.
      - A host named more than once (a list joined from two groups it is in) is reported once, with a warning that
        names it; so is one in O(migration_hosts).
    type: list
    elements: str
  probe_result:
    description:
      - The name the M(criu.check.criu_facts) task registered its result under.
    type: str
    default: criu_check_probe
  print_table:
    description:
      - Show the table on the terminal.
    type: bool
    default: true
  migration_hosts:
    description:
      - Hosts (among O(hosts)) to decide migration between, each ordered pair with the criu.check.criu_migration
        filter's decision from their facts - the best mode (pre-copy, stop-and-copy) or why none. Shown as a matrix in
        the table and the HTML, in full in the JSON and in RV(migration). Empty (the default) - no matrix.
      - The pair-only evidence (C(criu cpuinfo check), a reachable page server) is not part of it; the
        criu.check.migrate role gathers it before a migration.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  drift:
    description:
      - Compare each host with its previous snapshot (fact C(criu_fleet_last)), and return RV(snapshots) when the fact
        cache is persistent.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Writes the report in check mode too; it changes no managed host.
  diff_mode:
    support: none
    description: Nothing on a managed host changes.
  platform:
    support: full
    platforms: all
    description: Runs on the controller only.
seealso:
  - module: criu.check.criu_facts
  - name: The fleet report
    description: docs/fleet.md in the collection.
    link: https://github.com/criu-check/criu.check/blob/main/docs/fleet.md
notes:
  - Register the M(criu.check.criu_facts) task with O(ignore:ignore_unreachable=true) and O(ignore:ignore_errors=true)
    so that unreachable and failed hosts stay in the play and the report lists them with the reason.
'''

EXAMPLES = r'''
- name: Probe
  criu.check.criu_facts:
  register: criu_check_probe
  ignore_unreachable: true
  ignore_errors: true

- name: Report
  criu.check.criu_report:
    dest: /var/www/criu
  register: criu_fleet

- name: Group hosts by outcome
  ansible.builtin.add_host:
    name: "{{ item.key }}"
    groups: "{{ item.value }}"
  loop: "{{ criu_fleet.groups | dict2items }}"
  run_once: true
  changed_when: false
'''

RETURN = r'''
files:
  description: The report files written, absolute paths.
  returned: always
  type: list
  elements: str
  sample: [/home/me/criu-report/criu-report.html, /home/me/criu-report/criu-report.json, /home/me/criu-report/criu-report.csv]
counts:
  description: How many hosts have each outcome.
  returned: always
  type: dict
  sample: {ready: 12, not_ready: 3, undecided: 1, failed: 0, unreachable: 1}
  contains:
    ready:
      description: Hosts where criu can run (C(criu_ready)).
      type: int
      returned: always
    not_ready:
      description: Hosts where a required feature is missing or criu cannot start.
      type: int
      returned: always
    undecided:
      description: Hosts where no required feature is missing but some could not be decided.
      type: int
      returned: always
    failed:
      description: Hosts where the probe task failed, or was skipped (their older C(criu_facts) are not this run's answer).
      type: int
      returned: always
    unreachable:
      description: Hosts Ansible could not reach.
      type: int
      returned: always
groups:
  description:
    - For each host, the inventory groups it belongs in - C(criu_<outcome>), C(criu_missing_<id>) per missing required
      feature (C(criu_start) when criu could not start there), C(criu_changed) when it changed since the previous run.
  returned: always
  type: dict
  sample: {web1: [criu_ready], web2: [criu_not_ready, criu_missing_ns_last_pid]}
hosts:
  description: Per host (keyed by inventory name) - outcome, missing required features, drift, and for a host that
    gave no answer the reason and what to do about it.
  returned: always
  type: dict
  sample: {web1: {outcome: unreachable, missing_required: [], drift: null, reason: 'Failed to connect to the host via ssh',
           fix: 'check that Ansible reaches the host: ansible HOST -m ansible.builtin.ping -vvv (...)'}}
  contains:
    outcome:
      description: V(ready), V(not_ready), V(undecided), V(failed) or V(unreachable).
      type: str
      returned: always
    missing_required:
      description: The required features the host lacks (probe ids).
      type: list
      elements: str
      returned: always
    drift:
      description:
        - What changed since the previous run; null on the first run, without a persistent fact cache, or when the
          previous snapshot is of another format (RV(hosts.drift_note) then says so).
      type: dict
      returned: always
      contains:
        since:
          description: When the previous run was (ISO 8601, UTC).
          type: str
          returned: always
        changed:
          description: Whether anything below changed.
          type: bool
          returned: always
        changes:
          description:
            - The facts that changed, each with C(before) and C(after) - C(kernel), C(criu), C(verdict), C(criu_usable)
              (only while the installed criu's version stays the same) and C(runtimes) (each runtime's C(checkpoint)
              by name, compared when both runs' facts say which runtimes are installed).
          type: dict
          returned: always
        gained:
          description: Features supported now and not before (probe ids).
          type: list
          elements: str
          returned: always
        lost:
          description: Features supported before and not now (probe ids).
          type: list
          elements: str
          returned: always
    drift_note:
      description:
        - Why the host was not compared with its previous snapshot although it has one - the snapshot is of another
          format (another release of the collection wrote it) - and where it is stored (the fact cache's file);
          null otherwise.
      type: str
      returned: always
      version_added: 0.3.0
    reason:
      description: Why a host gave no answer (Ansible's message); null for a host that answered.
      type: str
      returned: always
    fix:
      description: What to do about a host that gave no answer; null for a host that answered.
      type: str
      returned: always
changed_hosts:
  description: The hosts that changed since the previous run.
  returned: always
  type: list
  elements: str
snapshots:
  description:
    - Per host (keyed by inventory name), what the next run compares with; empty without a persistent fact cache.
    - check.yml stores each in the fact cache as C(criu_fleet_last).
  returned: always
  type: dict
  contains:
    version:
      description: The snapshot's format; a run ignores a snapshot of another format.
      type: int
      returned: always
    time:
      description: When this run was (ISO 8601, UTC).
      type: str
      returned: always
    kernel:
      description: The kernel release.
      type: str
      returned: always
    criu:
      description: The installed criu's version; null without one.
      type: str
      returned: always
    criu_usable:
      description:
        - Whether the installed criu is usable (C(criu_facts.criu.usable)); null when the facts do not say.
        - Compared with the next run's only while the version stays the same.
      type: bool
      returned: always
      version_added: 0.3.0
    runtimes:
      description:
        - Each installed runtime's C(checkpoint) (V(ready), V(not_ready), V(unknown)) by name; V({}) with none
          installed, null when the facts do not say.
      type: dict
      returned: always
      version_added: 0.3.0
    verdict:
      description: The verdict of the facts.
      type: str
      returned: always
    ready:
      description: The host's C(criu_ready).
      type: bool
      returned: always
    supported:
      description: The supported features (probe ids).
      type: list
      elements: str
      returned: always
migration:
  description: With O(migration_hosts), the migration matrix between them; null without.
  returned: always
  type: dict
  version_added: 0.3.0
  sample: {hosts: [node1, node2], pairs: {node1: {node2: {cell: stop-copy, mode: stop-and-copy, possible: true,
           reasons: ['pre-copy: Dirty tracking is OFF. Memory snapshot will not work.'], fixes: []}}}}
  contains:
    hosts:
      description: The hosts of O(migration_hosts), in its order (one that gave no answer has V(no facts) cells).
      type: list
      elements: str
      returned: always
    pairs:
      description:
        - For each source, for each destination, the decision of the P(criu.check.criu_migration#filter) filter -
          C(cell) (V(pre-copy), V(stop-copy), V(no), V(cannot tell), V(no facts)), C(mode), C(possible), C(reasons),
          C(fixes).
      type: dict
      returned: always
table:
  description: The terminal table, one line per element.
  returned: always
  type: list
  elements: str
'''
