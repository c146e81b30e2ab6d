# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the probe engine from a checkout, without Ansible, and print JSON.

Used by the differential tests (inside a Debian 13 root next to real criu) and
by the benchmarks.  Prints {"results": {...}, "facts": {...}} on stdout.

A module always has ansible.module_utils beside it (AnsiballZ ships it); a
Python without ansible-core (Debian's python3, a bare venv) gets the same
here: the package directory named by $CRIU_CHECK_ANSIBLE_MODULE_UTILS is
linked into the throwaway tree under an empty ``ansible`` package, as
AnsiballZ lays it out, and nothing else of ansible-core.

  run_probes.py [--unprivileged] [--category C ...] [--feature NAME ...]
                [--like-criu [--extra] [--experimental]] [--timeout S]
                [--no-installed-criu]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_collection():
    """Make ansible_collections.criu.check importable from this checkout via a
    throwaway symlink tree (the checkout may be read-only)."""
    root = tempfile.mkdtemp(prefix='criu-check-')
    os.makedirs(os.path.join(root, 'ansible_collections', 'criu'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'criu', 'check'))
    module_utils = os.environ.get('CRIU_CHECK_ANSIBLE_MODULE_UTILS')
    if module_utils:
        try:
            import ansible.module_utils  # noqa: F401  (this Python has ansible-core: use it)
        except ImportError:
            os.makedirs(os.path.join(root, 'ansible'))
            open(os.path.join(root, 'ansible', '__init__.py'), 'w').close()
            os.symlink(module_utils, os.path.join(root, 'ansible', 'module_utils'))
    sys.path.insert(0, root)
    return root


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

    root = import_collection()
    try:
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
    finally:
        shutil.rmtree(root, ignore_errors=True)
    json.dump({'results': facts['probes'], 'facts': facts}, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
