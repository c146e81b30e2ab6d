# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run inside the Debian 13 root (tests/tools/criu_root.sh run) by
tests/integration/test_criu_check_cli.py, with the root's python3 and criu 4.1.1::

    python3 check_inside.py REPO CASES_JSON

CASES_JSON is a list of [criu's arguments after ``check``, criu_check's
arguments]: for each, ``criu check ARGS`` and the module (as Ansible runs
it), one after the other in this same context; prints both, as JSON.

Only the standard library (and the collection) is used.
"""

import json
import subprocess
import sys

from inside_modules import import_root, run_module  # beside this script


def main(repo, cases):
    coll = import_root(repo, 'check-inside-')
    out = []
    for criu_args, module_args in cases:
        proc = subprocess.run(['criu', 'check'] + criu_args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, cwd='/tmp', timeout=120, check=False)
        out.append({'criu': {'rc': proc.returncode, 'stdout': proc.stdout.decode('utf-8', 'replace'),
                             'stderr': proc.stderr.decode('utf-8', 'replace')},
                    'module': run_module(coll, 'criu_check', module_args, cwd='/tmp')})
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main(sys.argv[1], json.loads(sys.argv[2]))
