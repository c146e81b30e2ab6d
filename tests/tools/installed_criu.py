# SPDX-License-Identifier: GPL-3.0-or-later
"""Run _installed_criu.check() here and print its dict (and describe()'s) as JSON.

    python3 tests/tools/installed_criu.py [--unprivileged] [--timeout S] [--probes VERDICT]

For the system tests: it runs inside tests/tools/criu_root.sh's root (the
checkout at /src) as well as on the host, with whatever Python is there.
It imports the collection from this checkout through a symlink tree in a
temporary directory (removed at exit), so nothing is written into the checkout.
Prints {"raw": check(), "facts": describe(raw, {"verdict": VERDICT})}.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Ctx:
    def __init__(self, unprivileged, timeout):
        self.unprivileged = unprivileged
        self.euid = os.geteuid()
        self.timeout = timeout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--unprivileged', action='store_true')
    parser.add_argument('--timeout', type=float, default=10.0)
    parser.add_argument('--probes', default=None, metavar='VERDICT',
                        help="the probes' verdict to compare with (one of _installed_criu.PROBE_VERDICTS)")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix='criu-check-coll.')
    try:
        os.makedirs(os.path.join(tmp, 'ansible_collections', 'criu'))
        os.symlink(REPO, os.path.join(tmp, 'ansible_collections', 'criu', 'check'))
        sys.path.insert(0, tmp)
        from ansible_collections.criu.check.plugins.module_utils import _installed_criu
        if args.probes not in (None,) + _installed_criu.PROBE_VERDICTS:
            parser.error('--probes must be one of %s, got %s' % (', '.join(_installed_criu.PROBE_VERDICTS), args.probes))
        raw = _installed_criu.check(Ctx(args.unprivileged, args.timeout), timeout=args.timeout)
        facts = _installed_criu.describe(raw, {'verdict': args.probes} if args.probes else None)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    json.dump({'raw': raw, 'facts': facts}, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
