# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether a module's RETURN documentation describes what the module really
returns: the tests run a module for real and hand its result here."""

import fnmatch
import os

import yaml
from ansible.parsing.plugin_docs import read_docstring

PLUGINS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'plugins')

# Ansible's common return values (docs.ansible.com "Return Values"), which no module documents itself, and
# what ansible-core adds to a registered result.
COMMON = frozenset(('changed', 'failed', 'msg', 'invocation', 'warnings', 'deprecations', 'skipped', 'skip_reason',
                    'exception', 'attempts', 'diff'))

# The dictionaries of criu_facts keyed by names: a probe id, a runtime, a CONFIG option, a kernel module.
CRIU_FACTS_NAMED = tuple('ansible_facts.criu_facts.' + path for path in (
    'probes', 'runtimes', 'required', 'extra', 'experimental', 'optional', 'feature_only', 'kernel.config.modules',
    'probes.*.evidence', 'probes.*.config_values', 'runtimes.*.config'))
# And those of criu_check, which returns the probes as criu_facts does.
CRIU_CHECK_NAMED = ('probes', 'probes.*.evidence', 'probes.*.config_values')


def return_doc(name, kind='modules'):
    """The RETURN documentation of plugins/KIND/NAME.py (a dict); for a filter,
    that of the keys of its value (``_value``)."""
    returns = read_docstring(os.path.join(PLUGINS, kind, name + '.py'))['returndocs']
    # ansible-core 2.19 and newer parse it; older ones give the YAML text.
    returns = yaml.safe_load(returns) if isinstance(returns, str) else returns
    return returns['_value']['contains'] if kind == 'filter' else returns


def mismatches(result, name, named=(), kind='modules'):
    """Where ``result``, the real result of the module ``name`` (or the value
    of the filter, with ``kind='filter'``), and its RETURN disagree: a key with
    no entry (depth first), a dictionary documented without ``contains``, and a
    top-level key documented as returned always that the result lacks.

    ``named`` are the paths (fnmatch patterns; ``*`` for each name) of the
    dictionaries keyed by names - probe ids, hosts, runtimes: each value is read
    against the entry's ``contains``, or is free when it has none (a map from a
    probe id to a boolean)."""
    doc = return_doc(name, kind)
    value = dict((k, v) for k, v in result.items() if k not in COMMON and not k.startswith('_ansible'))
    absent = ['%s (returned always, absent)' % k for k, entry in doc.items()
              if entry.get('returned') == 'always' and k not in result]
    return sorted(set(_walk(value, doc, '', tuple(named)))) + absent


def _walk(value, doc, path, named):
    for key, item in value.items():
        where = path + key
        entry = doc.get(key)
        if entry is None:
            yield where
            continue
        contains = entry.get('contains')
        keyed = any(fnmatch.fnmatchcase(where, pattern) for pattern in named)
        if keyed and isinstance(item, dict):
            for name, each in item.items():
                if contains and isinstance(each, dict):
                    yield from _walk(each, contains, '%s.%s.' % (where, name), named)
        elif isinstance(item, dict) and item:
            if not contains:
                yield where + ' (a dictionary documented without contains)'
                continue
            yield from _walk(item, contains, where + '.', named)
        elif isinstance(item, list):
            for each in item:
                if isinstance(each, dict) and each:
                    if not contains:
                        yield where + '[] (dictionaries documented without contains)'
                        break
                    yield from _walk(each, contains, where + '[].', named)
