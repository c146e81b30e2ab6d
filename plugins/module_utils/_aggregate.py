# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Assemble the ``criu_facts`` contract from probe results.

PRIVATE to the criu.check collection: not a public API.

Nothing is decided here: the verdict, what is met, missing or undecided, and
whether criu would start come from _decide.py; this module only puts each
answer where the facts contract (README.md, "The facts") says it goes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils import _kernel_config
from ansible_collections.criu.check.plugins.module_utils import _registry as REG


def probe_entry(probe, result, environment=None, config_values=None, kernel=None):
    """One ``criu_facts.probes`` entry: the result plus the registry's row.
    The fix is the one that fits: where the environment (a container, WSL)
    is the cause, its fix, unless the kernel's config shows the feature
    built without (no confinement lifted would bring it); else the probe's
    own (a cause it saw); else the registry's, led by the options the
    kernel is built without when its config shows them."""
    kernel = kernel or {}
    config_values = config_values if config_values is not None else {}
    off = _kernel_config.built_without(probe, result, config_values, kernel.get('config'), kernel.get('release'),
                                       kernel.get('arch'))
    fix = (_environment_fix.environment_fix(probe.id, result, environment, kernel.get('release'), bool(off))
           or result.get('fix'))
    if not fix:
        fix = _kernel_config.built_without_fix(off, probe.fix) if off else probe.fix
    return {
        'category': probe.category,
        'criu_feature': probe.criu_name,
        'status': result['status'],
        'message': result.get('message', ''),
        'evidence': result.get('evidence', {}),
        'kernel_min': probe.kernel_min or None,
        'config': list(probe.config),
        'config_values': config_values,
        'fix': fix,
        'duration_ms': result.get('duration_ms'),
    }


def facts(results, environment, kernel, criu, config_values=None):
    """The ``criu_facts`` dictionary."""
    blockers = _decide.start_blockers(environment, results)
    environment = dict(environment, criu_can_start=not blockers, criu_start_blockers=blockers)
    maps, missing, unknown = _decide.category_maps(results)
    level, summary = _decide.verdict(results, blockers)
    probes = dict((p.id, probe_entry(p, results[p.id], environment, (config_values or {}).get(p.id), kernel))
                  for p in REG.PROBES if p.id in results)
    if (kernel.get('config') or {}).get('conflicts'):
        config = dict(kernel['config'], conflicts=_kernel_config.with_probe_fixes(kernel['config']['conflicts'], probes))
        kernel = dict(kernel, config=config)
    return {
        'ready': _decide.is_ready(results, blockers),
        'verdict': level,
        'summary': summary,
        'required': maps[REG.REQUIRED],
        'extra': maps[REG.EXTRA],
        'experimental': maps[REG.EXPERIMENTAL],
        'optional': maps[REG.OPTIONAL],
        'feature_only': maps[REG.FEATURE_ONLY],
        'missing': missing,
        'unknown': unknown,
        'probes': probes,
        'kernel': kernel,
        'environment': environment,
        'criu': criu,
    }
