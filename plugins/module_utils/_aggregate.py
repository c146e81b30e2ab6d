# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Turn probe results into criu's verdict and the ``criu_facts`` contract.

PRIVATE to the criu.check collection: not a public API.

criu's outcomes (cr-check.c ``cr_check()``): a failed required check gives
"Does not look good." (and stops criu; here every probe has run anyway), a
failed extra or experimental check gives the three-line "Looks good but ...",
otherwise "Looks good.".  The optional breakpoints probe never changes the
verdict; feature-only probes are not part of any category run.  A probe that
could not decide (``unknown``, ``error``) is not "missing", but neither can it
be called good: it keeps ``criu_ready`` false when it is required and is
listed under ``unknown``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R

GOOD = 'good'
GOOD_BUT = 'good_but'
BAD = 'bad'

LOOKS_GOOD = 'Looks good.'
DOES_NOT_LOOK_GOOD = 'Does not look good.'
LOOKS_GOOD_BUT = ('Looks good but some kernel features are missing\n'
                  'which, depending on your process tree, may cause\n'
                  'dump or restore failure.')

# Categories whose failures give criu's "Looks good but ...".
_SOFT = (REG.EXTRA, REG.EXPERIMENTAL)
_UNDECIDED = (R.UNKNOWN, R.ERROR)


def probe_entry(probe, result):
    """One ``criu_facts.probes`` entry: the result plus the registry's row."""
    return {
        'category': probe.category,
        'criu_feature': probe.criu_name,
        'status': result['status'],
        'message': result.get('message', ''),
        'evidence': result.get('evidence', {}),
        'kernel_min': probe.kernel_min or None,
        'config': list(probe.config),
        'fix': result.get('fix') or probe.fix,
        'duration_ms': result.get('duration_ms'),
    }


def verdict(results):
    """(verdict, summary) in criu's words for a category run."""
    by_category = {}
    for probe_id, result in results.items():
        by_category.setdefault(REG.BY_ID[probe_id].category, []).append(result['status'])
    if any(s != R.SUPPORTED for s in by_category.get(REG.REQUIRED, [])):
        return BAD, DOES_NOT_LOOK_GOOD
    soft = [s for c in _SOFT for s in by_category.get(c, [])]
    if any(s == R.UNSUPPORTED or s in _UNDECIDED for s in soft):
        return GOOD_BUT, LOOKS_GOOD_BUT
    return GOOD, LOOKS_GOOD


def facts(results, environment, kernel, criu):
    """The ``criu_facts`` dictionary (DESIGN.md, "Facts returned by criu_facts")."""
    maps = dict((c, {}) for c in REG.CATEGORIES)
    missing = {REG.REQUIRED: [], REG.EXTRA: [], REG.EXPERIMENTAL: []}
    unknown = []
    probes = {}
    for probe in REG.PROBES:
        result = results.get(probe.id)
        if result is None:
            continue
        status = result['status']
        maps[probe.category][probe.id] = status == R.SUPPORTED
        if status == R.UNSUPPORTED and probe.category in missing:
            missing[probe.category].append(probe.id)
        if status in _UNDECIDED:
            unknown.append(probe.id)
        probes[probe.id] = probe_entry(probe, result)
    level, summary = verdict(results)
    required = [p for p in REG.PROBES if p.category == REG.REQUIRED]
    required_ok = all(results.get(p.id, {}).get('status') == R.SUPPORTED for p in required)
    blockers = environment.get('criu_start_blockers', [])
    if blockers:
        level, summary = BAD, '\n'.join(blockers)
    ready = required_ok and not blockers
    return {
        'ready': ready,
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
