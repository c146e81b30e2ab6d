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

import collections
import contextlib
import ctypes
import ctypes.util
import importlib
import importlib.util
import os
import platform
import re
import sys

# The package of each probe library (by the name it is imported by) in each
# distribution family (Ansible's os_family): the one table of these names, which
# the install role installs from too (the criu_library_packages filter).  A
# library missing from a family's row is not in its official repositories.
PACKAGES = {
    'Debian': {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-ptrace', 'nftables': 'python3-nftables'},
    # On RHEL-like systems python3-pyroute2 and python3-ptrace come from EPEL.
    'RedHat': {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-ptrace', 'nftables': 'python3-nftables'},
    # openSUSE packages python-ptrace as python-python-ptrace (there is no python3-ptrace).
    'Suse': {'pyroute2': 'python3-pyroute2', 'ptrace': 'python3-python-ptrace', 'nftables': 'python3-nftables'},
    # python-ptrace is not in Arch's official repositories.
    'Archlinux': {'pyroute2': 'python-pyroute2'},
}

# The name pip installs each library by.
PIP = {'pyroute2': 'pyroute2', 'ptrace': 'python-ptrace'}

# The os-release ID and ID_LIKE words of each family; derivatives name their
# parent in ID_LIKE (ubuntu: debian; rocky: rhel centos fedora; opensuse-leap:
# suse opensuse; manjaro: arch).
FAMILY_IDS = {
    'debian': 'Debian', 'ubuntu': 'Debian',
    'fedora': 'RedHat', 'rhel': 'RedHat', 'centos': 'RedHat',
    'suse': 'Suse', 'opensuse': 'Suse', 'sles': 'Suse',
    'arch': 'Archlinux',
}

OS_RELEASE = '/etc/os-release'


def os_release():
    """The fields of os-release(5) (``ID``, ``ID_LIKE``, ``VERSION_ID`` ...),
    unquoted; empty when the file cannot be read."""
    fields = {}
    try:
        with open(OS_RELEASE) as f:
            for line in f:
                key, sep, value = line.strip().partition('=')
                if sep:
                    fields[key] = value.strip().strip('"\'')
    except (IOError, OSError):
        pass
    return fields


def os_family(fields=None):
    """The distribution family of os-release's ID, else of the first word of
    its ID_LIKE that names one; None when neither does."""
    fields = os_release() if fields is None else fields
    for word in [fields.get('ID') or ''] + (fields.get('ID_LIKE') or '').split():
        if word in FAMILY_IDS:
            return FAMILY_IDS[word]
    return None


def install_fix(library, family):
    """How to install ``library`` on a host of ``family`` (None: unknown)."""
    package = PACKAGES.get(family, {}).get(library)
    pip = PIP.get(library, library)
    if package:
        return 'install %s on the managed node (pip: %s)' % (package, pip)
    return ("install the Python library %s on the managed node: pip install %s, or the distribution's package "
            "of it" % (library, pip))


class MissingLibrary(Exception):
    def __init__(self, library, detail=''):
        self.library = library
        self.detail = detail
        self.fix = install_fix(library, os_family())
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


LD_SO_CACHE = '/etc/ld.so.cache'


def _soname_in_linker_cache(name):
    """The soname of lib``name`` in the dynamic linker's cache, or None;
    raises OSError when the cache cannot be read (musl has none)."""
    with open(LD_SO_CACHE, 'rb') as f:
        cache = f.read()
    # A soname starts the cache's string (after a NUL) or a path's last part.
    found = re.search(br'(?<=[\0/])(lib' + re.escape(name.encode()) + br'\.so(?:\.[0-9]+)*)\0', cache)
    return found.group(1).decode() if found else None


def shared_library(name):
    """The soname of lib``name`` as the dynamic linker finds it, or None.

    Read from the linker's cache, which ctypes.util.find_library() also
    consults first (through ``ldconfig -p``), without starting a process:
    for a library the cache does not hold, find_library() goes on to run the
    C compiler and the linker, which a probe must not do on a managed host.
    find_library() itself only when the cache cannot be read.
    """
    try:
        return _soname_in_linker_cache(name)
    except (IOError, OSError):
        return ctypes.util.find_library(name)


_Uname = collections.namedtuple('_Uname', 'system node release version machine processor')


@contextlib.contextmanager
def _answers_without_tools():
    """While a library is first imported, answer in this process what the
    standard library would start a tool for.  At import, pyroute2.config calls
    platform.uname(), whose processor field runs ``uname -p``, and
    platform.architecture(), which runs ``file -b`` on the interpreter; and
    python-ptrace's ctypes_libc calls ctypes.util.find_library('c'), which
    runs ``ldconfig -p``: up to 10 ms of a worker's CPU and wall time where
    ``file`` is installed and python-ptrace lacks its C extension
    (docs/benchmarks.md).  The stand-ins give what the libraries use
    (the kernel's uname fields, the interpreter's word size, libc's soname;
    the processor field, which neither reads, is left blank, as platform
    leaves it where ``uname -p`` says "unknown"), only in the worker that
    imports, and only until the import ends."""
    saved = platform.uname, platform.architecture, ctypes.util.find_library

    def architecture(executable=sys.executable, bits='', linkage=''):
        if executable != sys.executable:
            return saved[1](executable, bits, linkage)
        return '%dbit' % (ctypes.sizeof(ctypes.c_void_p) * 8), 'ELF'

    def find_library(name):
        try:
            found = _soname_in_linker_cache(name)
        except (IOError, OSError):
            found = None
        return found or saved[2](name)

    platform.uname = lambda: _Uname(*(tuple(os.uname()) + ('',)))
    platform.architecture = architecture
    ctypes.util.find_library = find_library
    try:
        yield
    finally:
        platform.uname, platform.architecture, ctypes.util.find_library = saved


def load(module, library=None):
    """Import ``module`` (for example ``pyroute2.netlink.diag``) or raise
    ``MissingLibrary`` naming the distribution package to install."""
    library = library or module.split('.')[0]
    if module in sys.modules:
        return sys.modules[module]
    try:
        with _answers_without_tools():
            if library in _BARE_PACKAGES and module != library:
                _register_bare_package(library)
            return importlib.import_module(module)
    except ImportError as exc:
        raise MissingLibrary(library, str(exc))
