# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run the probe engine from a checkout, without Ansible, and print JSON.

Used by the differential tests (inside a Debian 13 root next to real criu) and
by the benchmarks.  Prints {"results": {...}, "facts": {...}} on stdout.

  run_probes.py [--unprivileged] [--category C ...] [--feature NAME ...]
                [--like-criu [--extra] [--experimental]] [--timeout S]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def import_collection():
    """Make ansible_collections.criu.check importable from this checkout via a
    throwaway symlink tree (the checkout may be read-only)."""
    root = tempfile.mkdtemp(prefix='criu-check-')
    os.makedirs(os.path.join(root, 'ansible_collections', 'criu'))
    os.symlink(REPO, os.path.join(root, 'ansible_collections', 'criu', 'check'))
    sys.path.insert(0, root)
    return root


def run_command(argv):
    """The run_command the modules get from AnsibleModule, for plain Python."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              check=False, timeout=30)
    except OSError as exc:
        return 127, '', str(exc)
    return proc.returncode, proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--unprivileged', action='store_true')
    parser.add_argument('--category', action='append', default=[])
    parser.add_argument('--feature', action='append', default=[])
    parser.add_argument('--like-criu', action='store_true',
                        help='select as plain "criu check" does (required + optional)')
    parser.add_argument('--extra', action='store_true')
    parser.add_argument('--experimental', action='store_true')
    parser.add_argument('--timeout', type=float, default=5.0)
    args = parser.parse_args(argv)

    root = import_collection()
    try:
        from ansible_collections.criu.check.plugins.module_utils import _check
        if args.feature:
            probes = _check.by_features(args.feature)
        elif args.like_criu or args.extra or args.experimental:
            probes = _check.like_criu_check(args.extra, args.experimental)
        else:
            probes = _check.by_categories(args.category or [_check.ALL])
        results, facts = _check.run(probes, run_command, unprivileged=args.unprivileged, timeout=args.timeout)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    json.dump({'results': results, 'facts': facts}, sys.stdout, indent=1, sort_keys=True, default=str)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
