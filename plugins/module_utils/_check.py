# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one entry point the modules use: select probes, run them, build facts.

PRIVATE to the criu.check collection: not a public API.

Only what selecting probes and starting their workers needs is imported
with this module.  What builds the facts is imported once the workers run:
the module's own process only waits for them then, and (run from Ansible's
zip, without cached bytecode) an import is mostly compiling.  The jobs
import their modules in their own workers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

ALL = 'all'
# The feature name that asks criu_check for the names themselves: valid, but selects no probe.
LIST = 'list'
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
                                ', '.join(_names() + [LIST])))
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


def _installed_criu_check(ctx):
    """Engine job: the installed criu's own check (criu_facts.criu)."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    return _installed_criu.job(ctx)


def _runtime_commands(ctx):
    """Engine job: the runtimes' version commands, run beside the probes and
    recorded, so that judging the runtimes afterwards costs no process."""
    from ansible_collections.criu.check.plugins.module_utils import _runtimes
    record = {}

    def run(argv):
        record['\0'.join(argv)] = result = ctx.run(argv)
        return result
    _runtimes.gather(run)
    return record


def _replay(record, ctx):
    """``run`` for _runtimes.gather: what the job recorded, else the tool itself."""
    def run(argv):
        recorded = record.get('\0'.join(argv))
        return tuple(recorded) if recorded else ctx.run(argv)
    return run


def _not_run(reason):
    """``run`` for _runtimes.gather when the runtimes job failed or overran:
    every tool answers as one that could not be run, with the job's reason.
    The tools are never run in the module's own process, where nothing
    bounds them (a tool that hung in the job would hang the module)."""
    def run(argv):
        return 127, '', 'runtimes job: %s' % reason
    return run


def _installed_criu_raw(job_result):
    """The installed criu's check as the engine job returned it; a job that
    crashed or overran still names the binaries, with the reason."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    if 'error' not in job_result:
        return job_result
    binaries = _installed_criu.find()
    selected = [b['path'] for b in binaries if b['selected']]
    return {'binaries': binaries, 'path': selected[0] if selected else None,
            'check': _installed_criu.parse(None, '', '', error=job_result['error'])}


def run(probes, run_command=None, unprivileged=False, timeout=_engine.DEFAULT_TIMEOUT, cwd=None, installed_criu=True):
    """Run ``probes``; return the facts.

    ``run_command(argv, environ_update=None) -> (rc, stdout, stderr)`` runs
    the userland tools some probes need (default: _child.run_tool).
    ``installed_criu``: also run the installed criu's own check and the
    runtimes' version commands, beside the probes, for ``criu_facts.criu``
    and ``criu_facts.runtimes``.

    Every probe runs, whatever ``probes`` selects: criu's start-up
    (kerndat_init()) makes the calls of many of them (extra ones too) for
    every command, ``--feature NAME`` included, and aborts on an error it does
    not expect.  The others' results only decide whether criu would start
    (criu_start_blockers); the facts describe ``probes`` alone.
    """
    ctx = _context.ProbeContext(unprivileged=unprivileged, cwd=cwd, run_command=run_command, timeout=timeout)
    engine = _engine.Engine(ctx, timeout)
    if installed_criu:
        # Compiled once, here, for the jobs' workers and for describing their
        # results afterwards; and started before the probes' families are
        # compiled: a whole criu check is the longest single piece of work.
        from ansible_collections.criu.check.plugins.module_utils import _installed_criu, _runtimes  # noqa: F401
        engine.start_jobs({'installed_criu': _installed_criu_check, 'runtimes': _runtime_commands})
    try:
        REG.load(REG.PROBES)
        engine.start(REG.PROBES)
        # While the workers run (see the module docstring).
        from ansible_collections.criu.check.plugins.module_utils import (
            _aggregate, _decide, _environment, _installed_criu, _kernel_config, _runtimes)
        environment = _environment.gather(ctx)
        kernel = _environment.kernel()
    except BaseException:
        # A failure, or SIGTERM (see Engine): no waiting for the workers.
        engine.stop()
        raise
    every, job_results = engine.wait()
    kernel['config'], config_values = _kernel_config.gather(kernel['release'], probes,
                                                            dict((p.id, every[p.id]) for p in probes),
                                                            machine=kernel['arch'])

    def kernel_lacks(row, result):
        return _kernel_config.built_without(row, result, config_values.get(row.id) or {}, kernel['config'],
                                            kernel['release'], kernel['arch'])

    every = _decide.as_criu_runs(every, environment, kernel_lacks)
    kernel['config']['conflicts'] = _kernel_config.of_verdicts(kernel['config']['conflicts'], every)
    # criu's start-up runs every kerndat step, whichever checks are asked for: the blockers come from
    # every probe that ran, not only the ones reported (facts() below keeps them and finds no more).
    environment['criu_start_blockers'] = _decide.start_blockers(environment, every)
    results = dict((p.id, every[p.id]) for p in probes)
    facts = _aggregate.facts(results, environment, kernel, None, config_values)
    if installed_criu:
        facts['criu'] = _installed_criu.describe(
            _installed_criu_raw(job_results['installed_criu']), facts,
            functools.partial(_decide.start_blocker_fix, probes=facts['probes'], environment=facts['environment']))
        facts['usable'] = _decide.is_usable(facts['ready'], facts['criu'])
        recorded = job_results['runtimes']
        run_tool = _not_run(recorded['error']) if 'error' in recorded else _replay(recorded, ctx)
        facts['runtimes'] = _runtimes.gather(run_tool, facts['criu'], _decide.kernel_answer(facts['ready'], facts['verdict']))
    return facts
