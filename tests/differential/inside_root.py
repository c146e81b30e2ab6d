# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Collect both sides of the differential tests in one go, inside the criu root.

Run by the differential tests through ``tests/tools/criu_root.sh run``, in the
Debian 13 root and in the context under test, with the root's own python3::

    python3 /src/tests/differential/inside_root.py '{"criu": [...], ...}'

The single argument is a JSON plan:

    criu      {key: argument list}: each runs as ``criu check ARGS``
    features  list of --feature names: ``criu check FEATURE_ARGS --feature NAME``
              for each, one after the other (the batch of issue B)
    feature_args  arguments added before --feature (e.g. ["--unprivileged"])
    probes    {key: argument list}: each runs as ``python3 run_probes.py ARGS``
    scripts   {key: argument list}: each runs as ``python3 ARGS`` and prints one JSON
              object (tests/tools/dump_sockets.py: a real dump beside our prediction)
    wrap      argument list put before every criu and run_probes.py command
              (e.g. tests/tools/seccomp_deny.py's, so that a seccomp filter
              applies to both sides while this script itself runs unfiltered
              and always reports)

It prints one JSON object: what criu and our engine printed, their exit codes
and their wall times, plus who we were (uid, capabilities) and criu's version.
Only the standard library of the root's Python is used.
"""

import json
import os
import subprocess
import sys
import time

RUN_PROBES = '/src/tests/tools/run_probes.py'
TIMEOUT = 120


def run(argv):
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        out = {'rc': proc.returncode,
               'stdout': proc.stdout.decode('utf-8', 'replace'),
               'stderr': proc.stderr.decode('utf-8', 'replace')}
    except subprocess.TimeoutExpired as exc:
        out = {'rc': None, 'stdout': (exc.stdout or b'').decode('utf-8', 'replace'),
               'stderr': 'TIMEOUT after %ss' % TIMEOUT}
    except OSError as exc:
        out = {'rc': None, 'stdout': '', 'stderr': 'cannot run %s: %s' % (argv[0], exc)}
    out['argv'] = argv
    out['ms'] = round((time.monotonic() - start) * 1000, 1)
    return out


def identity():
    status = {}
    with open('/proc/self/status') as f:
        for line in f:
            key, dummy, value = line.partition(':')
            if key in ('CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp'):
                status[key] = value.strip()
    return {'uid': os.getuid(), 'euid': os.geteuid(), 'gid': os.getgid(),
            'cwd': os.getcwd(), 'status': status,
            'python': sys.version.split()[0]}


def main():
    plan = json.loads(sys.argv[1])
    wrap = list(plan.get('wrap', []))
    report = {'identity': identity(), 'criu': {}, 'features': {}, 'probes': {}, 'wrap': wrap}
    start = time.monotonic()
    version = run(wrap + ['criu', '--version'])
    report['criu_version'] = version['stdout'].strip() or version['stderr'].strip()
    for key, args in sorted(plan.get('criu', {}).items()):
        report['criu'][key] = run(wrap + ['criu', 'check'] + list(args))
    t0 = time.monotonic()
    for name in plan.get('features', []):
        report['features'][name] = run(wrap + ['criu', 'check'] + list(plan.get('feature_args', []))
                                       + ['--feature', name])
    report['features_ms'] = round((time.monotonic() - t0) * 1000, 1)
    for section, runs in (('probes', dict((key, [RUN_PROBES] + list(args))
                                          for key, args in plan.get('probes', {}).items())),
                          ('scripts', plan.get('scripts', {}))):
        report[section] = {}
        for key, args in sorted(runs.items()):
            out = run(wrap + [sys.executable] + list(args))
            try:
                out['json'] = json.loads(out['stdout'])
                out['stdout'] = ''
            except ValueError:
                out['json'] = None
            report[section][key] = out
    report['ms'] = round((time.monotonic() - start) * 1000, 1)
    json.dump(report, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
