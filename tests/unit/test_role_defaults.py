# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The roles' defaults are written twice, in defaults/main.yml (what a play
gets) and in meta/argument_specs.yml (what ansible-doc and the argument
validation show), and some repeat a module's default: these tests keep the
copies equal."""

import os

import pytest
import yaml

import conftest

from ansible_collections.criu.check.plugins.module_utils import _phaul

ROLES = sorted(os.listdir(os.path.join(conftest.REPO, 'roles')))


def _load(role, *path):
    with open(os.path.join(conftest.REPO, 'roles', role, *path)) as f:
        return yaml.safe_load(f) or {}


@pytest.mark.parametrize('role', ROLES)
def test_the_argument_specs_give_the_defaults_the_role_has(role):
    defaults = _load(role, 'defaults', 'main.yml')
    options = _load(role, 'meta', 'argument_specs.yml')['argument_specs']['main']['options']
    assert sorted(set(defaults) - set(options)) == [], 'variables with a default but no argument spec'
    for name, spec in options.items():
        if 'default' in spec:
            assert defaults.get(name, '<absent>') == spec['default'], name
        else:
            # An option without a default in the spec is required or None (the module decides).
            assert defaults.get(name) is None, name


def test_the_migrate_role_defaults_are_the_modules():
    defaults = _load('migrate', 'defaults', 'main.yml')
    assert defaults['criu_migrate_max_iterations'] == _phaul.DEFAULT_MAX_ITERATIONS
    assert defaults['criu_migrate_converged_pages'] == _phaul.DEFAULT_CONVERGED_PAGES
    assert defaults['criu_migrate_growth_pages'] == _phaul.DEFAULT_GROWTH_PAGES
    assert defaults['criu_migrate_timeout'] == _phaul.DEFAULT_CRIU_TIMEOUT
