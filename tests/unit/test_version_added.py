# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A plugin's version_added is the release that first shipped it: the release
changelogs/changelog.yaml lists it under, or, for one no release lists yet, one
after the last release and no later than galaxy.yml's version. ansible-doc
shows it to operators, and antsibull-changelog lists a release's new plugins by it."""

import glob
import os

import pytest
import yaml
from ansible.module_utils.compat.version import LooseVersion
from ansible.parsing.plugin_docs import read_docstring

import conftest


def _yaml(*path):
    with open(os.path.join(conftest.REPO, *path)) as f:
        return yaml.safe_load(f)


def _version_added(path):
    doc = read_docstring(path)['doc']
    doc = yaml.safe_load(doc) if isinstance(doc, str) else doc
    return str(doc['version_added'])


# (kind as changelog.yaml names it, name) -> version_added; criu_report, an action plugin, is documented as a module.
PLUGINS = dict(((kind, os.path.basename(path)[:-3]), _version_added(path))
               for kind, pattern in (('module', 'plugins/modules/*.py'), ('filter', 'plugins/filter/*.py'))
               for path in sorted(glob.glob(os.path.join(conftest.REPO, pattern))))
RELEASES = _yaml('changelogs', 'changelog.yaml')['releases']


def _released_in(version):
    release = RELEASES[version]
    named = [('module', m['name']) for m in release.get('modules') or []]
    for kind, plugins in (release.get('plugins') or {}).items():
        named += [(kind, p['name']) for p in plugins]
    return named


@pytest.mark.parametrize('version', sorted(RELEASES))
def test_a_release_lists_exactly_the_plugins_added_in_it(version):
    assert sorted(_released_in(version)) == sorted(key for key, added in PLUGINS.items() if added == version)


def test_a_plugin_no_release_lists_is_newer_than_the_last_release():
    released = set(key for version in RELEASES for key in _released_in(version))
    last = max(RELEASES, key=LooseVersion)
    galaxy = str(_yaml('galaxy.yml')['version'])
    wrong = dict((key, added) for key, added in PLUGINS.items() if key not in released
                 and not LooseVersion(last) < LooseVersion(added) <= LooseVersion(galaxy))
    assert wrong == {}, 'version_added must be after %s and at most %s' % (last, galaxy)
