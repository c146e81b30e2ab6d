# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Guarded, lazy imports of the probes' third-party libraries.

PRIVATE to the criu.check collection: not a public API.

pyroute2 and python-ptrace cost tens to hundreds of milliseconds to import
(measured figures: docs/architecture.md, "Costs"), so they are imported only inside the forked child of a probe that needs them, and only
when such a probe is selected.  When a library is missing the probe raises
``MissingLibrary``; the engine turns that into ``unknown`` with the fix that
installs it, and every other probe still runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import importlib.util
import sys

# Distribution package names; pip names in parentheses in the fix text.
LIBRARIES = {
    'pyroute2': ('python3-pyroute2', 'pyroute2'),
    'ptrace': ('python3-ptrace', 'python-ptrace'),
}


class MissingLibrary(Exception):
    def __init__(self, library, detail=''):
        self.library = library
        self.detail = detail
        distro, pip = LIBRARIES.get(library, (library, library))
        self.fix = 'install %s on the managed node (pip: %s)' % (distro, pip)
        Exception.__init__(self, 'Python library %s is not available%s' % (
            library, (': ' + detail) if detail else ''))


# Packages whose __init__ imports far more than the probes use: pyroute2's
# loads IPRoute, NDB (sqlite), IPDB and conntrack, where the probes need only
# the netlink message classes of pyroute2.netlink.* (a fraction of the cost:
# docs/architecture.md, "Costs").  For these the package is registered without running its __init__,
# and only the submodules asked for are imported.
_BARE_PACKAGES = ('pyroute2',)


def _register_bare_package(name):
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError('No module named %r' % name)
    sys.modules[name] = importlib.util.module_from_spec(spec)


def load(module, library=None):
    """Import ``module`` (for example ``pyroute2.netlink.diag``) or raise
    ``MissingLibrary`` naming the distribution package to install."""
    library = library or module.split('.')[0]
    try:
        if library in _BARE_PACKAGES and module != library:
            _register_bare_package(library)
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingLibrary(library, str(exc))
