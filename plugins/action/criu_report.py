# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report of playbooks/check.yml, on the controller (documented in plugins/modules/criu_report.py).

An action plugin rather than a callback: a callback of a collection runs only where the user's
configuration enables it, while a task of the playbook runs wherever the playbook does
(ansible-playbook criu.check.check, AWX, ansible-runner) and can hand the groups to the next task.
It never connects to a host (_requires_connection) and runs once for the whole play (BYPASS_HOST_LOOP).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import tempfile

from ansible import constants as C
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.plugins.cache import BaseFileCacheModule
from ansible.plugins.loader import cache_loader
from ansible.utils.display import Display

from ansible_collections.criu.check.plugins.plugin_utils import _fleet
from ansible_collections.criu.check.plugins.plugin_utils._fleet_html import render_html

display = Display()

FORMATS = ('html', 'json', 'csv')


def _write(path, text):
    """Write text to path atomically (a reader never sees half a report)."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix='.criu-report.', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except Exception:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _fact_cache():
    """The configured fact cache plugin, as Ansible loads it; None when it cannot be loaded here."""
    try:
        return cache_loader.get(C.CACHE_PLUGIN)
    except Exception:
        return None


def _snapshot_where(cache, host):
    """Where the fact cache keeps a host's criu_fleet_last, for an operator to look at: the file of a file cache
    (jsonfile, yaml, pickle) as the cache plugin itself names it, else the cache and its connection."""
    if isinstance(cache, BaseFileCacheModule):
        # ansible-core 2.19 and later wrap the plugin and store a host under a key with a schema prefix (s1_HOST):
        # name the file of the key that exists, never a guess.
        for key in (getattr(cache, '_get_key', lambda k: k)(host), host):
            path = cache._get_cache_file_name(key)
            if os.path.exists(path):
                return 'criu_fleet_last in %s' % path
    where = ' (%s)' % C.CACHE_PLUGIN_CONNECTION if C.CACHE_PLUGIN_CONNECTION else ''
    return 'criu_fleet_last in the %s fact cache%s' % (C.CACHE_PLUGIN, where)


class ActionModule(ActionBase):

    TRANSFERS_FILES = False
    BYPASS_HOST_LOOP = True
    _requires_connection = False
    _VALID_ARGS = frozenset(('dest', 'hosts', 'probe_result', 'formats', 'print_table', 'drift', 'migration_hosts'))

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        formats = args.get('formats', list(FORMATS))
        if isinstance(formats, str):
            formats = [f.strip() for f in formats.split(',') if f.strip()]
        if not isinstance(formats, (list, tuple)):
            raise AnsibleActionFail('formats: must be a list of %s (or none of them), got %r' % (', '.join(FORMATS), formats))
        bad = [f for f in formats if f not in FORMATS]
        if bad:
            raise AnsibleActionFail('formats: %s is not valid; valid: %s' % (', '.join(map(str, bad)), ', '.join(FORMATS)))
        hosts = self._host_names(args.get('hosts') or task_vars.get('ansible_play_hosts_all') or [], 'hosts')
        migration_hosts = self._host_names(args.get('migration_hosts') or [], 'migration_hosts')
        unknown = [h for h in migration_hosts if h not in hosts]
        if unknown:
            raise AnsibleActionFail('migration_hosts: %s not among the hosts reported on (%s)' % (
                ', '.join(unknown), ', '.join(hosts)))
        probe_name = args.get('probe_result', 'criu_check_probe')
        if not isinstance(probe_name, str) or not probe_name:
            raise AnsibleActionFail('probe_result: must be the name the criu.check.criu_facts task registered its result '
                                    'under, got %r' % (probe_name,))
        dest = args.get('dest') or 'criu-report'
        use_drift = self._bool(args.get('drift', True), 'drift')
        print_table = self._bool(args.get('print_table', True), 'print_table')

        generated = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
        hostvars = task_vars.get('hostvars') or {}
        entries, snapshots, cache = [], {}, []
        for host in hosts:
            hv = hostvars[host] if host in hostvars else {}
            probe = hv.get(probe_name)
            probe = probe if isinstance(probe, dict) else None
            facts = None
            if probe is not None and probe.get('skipped'):
                # A skipped probe gave no answer in this run: the host's criu_facts, if any, are older ones
                # (the fact cache's, or an earlier task's), which the report would show as this run's.
                condition = probe.get('false_condition')
                probe = {'failed': True, 'msg': 'the probe task (%s) was skipped on this host: %s%s' % (
                    probe_name, probe.get('skip_reason') or 'skipped', ' (when: %s)' % condition if condition else '')}
            elif probe is not None and not probe.get('failed') and not probe.get('unreachable'):
                facts = (probe.get('ansible_facts') or {}).get('criu_facts')
                if facts is None:
                    facts = (hv.get('ansible_facts') or {}).get('criu_facts')
            elif probe is None:
                probe = {'failed': True, 'msg': 'no result of the probe task (%s) for this host' % probe_name}
            previous = hv.get('criu_fleet_last') if use_drift else None
            where = None
            if previous is not None:
                cache = cache or [_fact_cache()]   # loaded once, and only when a host has a snapshot
                where = _snapshot_where(cache[0], host)
            entry = _fleet.host_entry(host, facts, probe, previous, address=hv.get('ansible_host'), previous_where=where)
            entries.append(entry)
            if entry['facts'] is not None:
                snapshots[host] = _fleet.snapshot(entry['facts'], generated)

        # Drift needs the previous snapshot: it survives only in a persistent fact cache (jsonfile, redis, AWX's).
        persistent = use_drift and C.CACHE_PLUGIN not in ('memory', 'ansible.builtin.memory')
        report = _fleet.build(entries, generated, list(task_vars.get('ansible_inventory_sources') or []),
                              task_vars.get('ansible_play_name'), drift_enabled=persistent,
                              migration_hosts=migration_hosts)
        files = []
        if formats:
            directory = os.path.abspath(os.path.expanduser(to_text(dest)))
            try:
                os.makedirs(directory, exist_ok=True)
                for fmt, render in (('html', render_html), ('json', _fleet.render_json), ('csv', _fleet.render_csv)):
                    if fmt in formats:
                        path = os.path.join(directory, 'criu-report.' + fmt)
                        _write(path, render(report))
                        files.append(path)
            except OSError as exc:
                raise AnsibleActionFail('cannot write the report into %s: %s' % (directory, exc))
        table = _fleet.render_table(report, files)
        if print_table:
            display.display(table)

        result.update(
            changed=False,
            files=files,
            counts=report['counts'],
            changed_hosts=report['changed'],
            groups=dict((e['host'], _fleet.groups_for(e)) for e in report['hosts']),
            hosts=dict((e['host'], {'outcome': e['outcome'], 'missing_required': e.get('missing_required', []),
                                    'drift': e.get('drift'), 'drift_note': e.get('drift_note'), 'reason': e.get('reason'),
                                    'fix': e.get('fix')}) for e in report['hosts']),
            snapshots=snapshots if persistent else {},
            table=table.splitlines(),
            migration=report['migration'],
        )
        return result

    @staticmethod
    def _host_names(hosts, name):
        """``hosts`` once each, in their order: a host named twice (a list joined from two groups it is in) is one host,
        as in a play's host pattern, not two lines and two counts of the report; a warning names it."""
        if isinstance(hosts, str) or not isinstance(hosts, (list, tuple)) or not all(isinstance(h, str) for h in hosts):
            raise AnsibleActionFail('%s: must be a list of inventory host names, got %r' % (name, hosts))
        once = list(dict.fromkeys(hosts))
        if len(once) < len(hosts):
            twice = [h for h in once if hosts.count(h) > 1]
            display.warning('%s: %s named more than once; each is reported once' % (name, ', '.join(twice)))
        return once

    @staticmethod
    def _bool(value, name):
        from ansible.module_utils.parsing.convert_bool import boolean
        try:
            return boolean(value, strict=True)
        except TypeError:
            raise AnsibleActionFail('%s: must be a boolean (true or false), got %r' % (name, value))
