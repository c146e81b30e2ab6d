# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one entry point the modules use: select probes, run them, build facts.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _aggregate
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _environment
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

ALL = 'all'
CATEGORY_CHOICES = REG.CATEGORIES + (ALL,)


class SelectionError(ValueError):
    """Bad category or feature name; the message lists what is valid."""


def _names():
    return [p.id for p in REG.PROBES]


def by_categories(categories):
    """Probes of the given categories, in criu's order."""
    wanted = set()
    for category in categories:
        if category == ALL:
            wanted.update(REG.CATEGORIES)
        elif category in REG.CATEGORIES:
            wanted.add(category)
        else:
            raise SelectionError('unknown category %r; valid categories: %s'
                                 % (category, ', '.join(CATEGORY_CHOICES)))
    return [p for p in REG.PROBES if p.category in wanted]


def by_features(names):
    """Probes named by criu feature name or by our id, in the order given."""
    unknown = [n for n in names if n not in REG.BY_ID]
    if unknown:
        raise SelectionError('unknown feature name%s %s; valid names: %s'
                             % ('s' if len(unknown) > 1 else '', ', '.join(repr(n) for n in unknown),
                                ', '.join(_names())))
    seen = []
    for name in names:
        if REG.BY_ID[name] not in seen:
            seen.append(REG.BY_ID[name])
    return seen


def like_criu_check(extra=False, experimental=False):
    """What ``criu check [--extra] [--experimental]`` runs: the required
    probes, the chosen categories, and the optional breakpoints probe whose
    result criu ignores."""
    categories = [REG.REQUIRED, REG.OPTIONAL]
    if extra:
        categories.append(REG.EXTRA)
    if experimental:
        categories.append(REG.EXPERIMENTAL)
    return by_categories(categories)


def run(probes, run_command, unprivileged=False, timeout=_engine.DEFAULT_TIMEOUT, cwd=None):
    """Run ``probes``; return ``(results, facts)``.

    ``run_command(argv) -> (rc, stdout, stderr)`` runs the userland tools some
    probes and the criu version lookup need (AnsibleModule.run_command).
    """
    ctx = _context.ProbeContext(unprivileged=unprivileged, cwd=cwd, run_command=run_command)
    results = _engine.run(probes, ctx, timeout=timeout)
    environment = _environment.gather(ctx)
    criu = _environment.find_criu(run_command)
    facts = _aggregate.facts(results, environment, _environment.kernel(), criu)
    return results, facts
