# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the probe engine from a checkout, without Ansible, and print JSON.

Used by the differential tests (inside a Debian 13 root next to real criu) and
by the benchmarks.  Prints {"results": {...}, "facts": {...}} on stdout.

A module always has ansible.module_utils beside it (AnsiballZ ships it); a
Python without ansible-core (Debian's python3, a bare venv) gets the same
here: the package directory named by $CRIU_CHECK_ANSIBLE_MODULE_UTILS becomes
``ansible.module_utils`` under an empty ``ansible`` package, as AnsiballZ lays
it out, and nothing else of ansible-core.

  run_probes.py [--unprivileged] [--category C ...] [--feature NAME ...]
                [--like-criu [--extra] [--experimental]] [--timeout S]
                [--no-installed-criu]
"""

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import types

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collection_tree():
    """A throwaway tree whose ansible_collections/criu/check is this checkout
    (the checkout may be read-only), for another process's
    ANSIBLE_COLLECTIONS_PATH or PYTHONPATH.  The caller removes it."""
    root = tempfile.mkdtemp(prefix='criu-check-')
    os.makedirs(os.path.join(root, 'ansible_collections', 'criu'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'criu', 'check'))
    return root


def _package(name, path, init=None):
    """Register package ``name`` searching ``path``, running ``init`` if given."""
    if init:
        spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=list(path))
        module = importlib.util.module_from_spec(spec)  # sets __path__ from the spec
    else:
        spec, module = None, types.ModuleType(name)
        module.__path__ = list(path)
    sys.modules[name] = module
    parent, child = name.rpartition('.')[::2]
    if parent:
        setattr(sys.modules[parent], child, module)
    if spec:
        spec.loader.exec_module(module)


def import_collection():
    """Make ansible_collections.criu.check importable in this process from the
    checkout's own files.  Their paths are the same in every run, so a
    PYTHONPYCACHEPREFIX keeps their bytecode from one run to the next (the
    VMs set one: tests/vm/inside_vm.py); a throwaway tree would be compiled
    again each time."""
    _package('ansible_collections', [])
    _package('ansible_collections.criu', [])
    _package('ansible_collections.criu.check', [REPO])
    module_utils = os.environ.get('CRIU_CHECK_ANSIBLE_MODULE_UTILS')
    if module_utils:
        try:
            import ansible.module_utils  # noqa: F401  (this Python has ansible-core: use it)
        except ImportError:
            _package('ansible', [])
            _package('ansible.module_utils', [module_utils], os.path.join(module_utils, '__init__.py'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--unprivileged', action='store_true')
    parser.add_argument('--category', action='append', default=[])
    parser.add_argument('--feature', action='append', default=[])
    parser.add_argument('--like-criu', action='store_true',
                        help='select as plain "criu check" does (required + optional)')
    parser.add_argument('--extra', action='store_true')
    parser.add_argument('--experimental', action='store_true')
    parser.add_argument('--timeout', type=float, default=None, help='seconds per probe (default: the modules\' default)')
    parser.add_argument('--no-installed-criu', dest='installed_criu', action='store_false',
                        help='the probes alone: not the installed criu\'s own check nor the runtimes\' versions')
    args = parser.parse_args(argv)

    import_collection()
    # A module has Ansible's tool lookup loaded before any probe forks
    # (AnsibleModule imports it); without this, each worker whose probes look
    # for a tool would import it again (_context.which()).
    import ansible.module_utils.common.process  # noqa: F401
    from ansible_collections.criu.check.plugins.module_utils import _check, _engine
    if args.feature:
        probes = _check.by_features(args.feature)
    elif args.like_criu or args.extra or args.experimental:
        probes = _check.like_criu_check(args.extra, args.experimental)
    else:
        probes = _check.by_categories(args.category or [_check.ALL])
    timeout = _engine.DEFAULT_TIMEOUT if args.timeout is None else args.timeout
    facts = _check.run(probes, unprivileged=args.unprivileged, timeout=timeout,
                       installed_criu=args.installed_criu)
    json.dump({'results': facts['probes'], 'facts': facts}, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
