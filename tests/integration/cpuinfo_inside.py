# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run inside the Debian 13 root (tests/tools/criu_root.sh run) by
tests/integration/test_criu_cpuinfo.py, with the root's python3 and criu 4.1.1::

    python3 cpuinfo_inside.py REPO module ARGS_JSON_LIST
        criu_cpuinfo once per argument dict, as Ansible runs a module (the
        module file with a JSON args file); prints the results and what /tmp
        and /run held before and after.
    python3 cpuinfo_inside.py REPO precopy
        gathers criu_facts here (the engine, with this root's criu), asks the
        pair decision about this host as source and destination, and runs
        ``criu pre-dump --track-mem`` of a sleeping child; prints both.

Only the standard library (and the collection) is used.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

from inside_modules import import_root, run_module  # beside this script


def listing():
    return {'tmp': sorted(os.listdir('/tmp')), 'run': sorted(os.listdir('/run'))}


def scenario_module(coll, calls):
    before = listing()
    results = [run_module(coll, 'criu_cpuinfo', args) for args in calls]
    return {'results': results, 'before': before, 'after': listing()}


def scenario_precopy(coll, repo):
    sys.path.insert(0, coll)
    sys.path.insert(0, os.path.join(repo, 'tests', 'tools'))
    from ansible_collections.criu.check.plugins.module_utils import _check, _pair
    facts = _check.run(_check.by_categories([_check.ALL]), timeout=10)
    verdict = _pair.decide(facts, facts)
    child = subprocess.Popen(['sleep', '120'], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    images = tempfile.mkdtemp(prefix='cpuinfo-predump-')
    try:
        proc = subprocess.run(['criu', 'pre-dump', '--track-mem', '-t', str(child.pid), '-D', images, '-v2'],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=60, check=False)
        alive = child.poll() is None
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
        shutil.rmtree(images, ignore_errors=True)
    return {'verdict': verdict, 'mem_dirty_track': facts['probes']['mem_dirty_track'],
            'criu': {'usable': facts['criu']['usable'], 'version': facts['criu']['version']},
            'predump': {'rc': proc.returncode, 'output': proc.stdout.decode('utf-8', 'replace')[-3000:],
                        'child_alive_after': alive}}


def main():
    repo, scenario = sys.argv[1], sys.argv[2]
    coll = import_root(repo, 'cpuinfo-coll-')
    try:
        if scenario == 'module':
            report = scenario_module(coll, json.loads(sys.argv[3]))
        elif scenario == 'precopy':
            report = scenario_precopy(coll, repo)
        else:
            raise SystemExit('unknown scenario %s' % scenario)
    finally:
        shutil.rmtree(coll, ignore_errors=True)
    print(json.dumps(report, default=str))


if __name__ == '__main__':
    main()
