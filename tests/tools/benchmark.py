# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks, as ratios against a reference run in the same process tree.

Run it where a criu binary works (the Debian 13 root of the tests):

  tests/tools/criu_root.sh run -- python3 /src/tests/tools/benchmark.py

It prints, each as medians of interleaved runs:
  (a) the engine (in this process) for the required category vs `criu check`,
      and for all categories vs `criu check --all`; goal ratio <= 1.0.
      criu keeps kernel data in /run/criu.kdat between runs: "criu warm" is
      what an operator's second run costs, "criu cold" the first.
  (b) `ansible localhost -m criu.check.criu_facts` vs `ansible localhost -m
      ansible.builtin.setup`, whole commands; goal <= 1.0.
  (c) the peak memory (max RSS) of the criu_facts module process; goal < 60 MB.
  (d) probe cost: the whole criu_facts module process (all probes, the
      installed criu's own check beside them) minus a process that only
      builds an empty AnsibleModule and exits, against `criu check --all`
      cold; goal ratio <= 0.8.  Beside it, the fixed costs alone: a module
      process that compiles what criu_facts imports, imports the probes'
      two libraries and runs the installed criu's check, and runs no probe;
      and, for reference, a module process that runs the probes alone,
      without the installed criu's check and the runtimes' commands.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TOOLS))
sys.path.insert(0, TOOLS)

from run_probes import collection_tree, import_collection  # noqa: E402

KDAT = '/run/criu.kdat'


def timed(func):
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


def children_cpu():
    """CPU seconds (user + system) of the waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_quiet(argv, env=None):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, check=False, cwd='/tmp')
    return proc


def criu(*args):
    return lambda: run_quiet(['criu', 'check'] + list(args))


def criu_cold(*args):
    def go():
        if os.path.exists(KDAT):
            os.unlink(KDAT)
        run_quiet(['criu', 'check'] + list(args))
    return go


def medians(contenders, rounds, cpu=None):
    """Interleave the contenders round by round; return their median times.
    ``cpu``: a dict to fill with each one's median CPU time, for contenders
    that run as child processes of this one."""
    times = dict((name, []) for name in contenders)
    cpu_times = dict((name, []) for name in contenders)
    for func in contenders.values():
        func()  # warm-up: imports, page cache, criu's kdat cache
    for dummy in range(rounds):
        for name, func in contenders.items():
            before = children_cpu()
            times[name].append(timed(func))
            cpu_times[name].append(children_cpu() - before)
    if cpu is not None:
        cpu.update((name, statistics.median(t)) for name, t in cpu_times.items())
    return dict((name, statistics.median(t)) for name, t in times.items())


def report(title, results, ours, goal=1.0):
    """Each time, then our engine's ratio against every reference."""
    print(title)
    for name, seconds in results.items():
        print('  %-40s %8.1f ms' % (name, seconds * 1000))
    for name, seconds in results.items():
        if name != ours:
            ratio = results[ours] / seconds if seconds else float('inf')
            print('  ratio %s / %s: %.2f (goal <= %.1f: %s)'
                  % (ours, name, ratio, goal, 'met' if ratio <= goal else 'NOT met'))


def engine(check, probes):
    # The probes only, as criu check runs only its checks: not the installed
    # criu's own check beside them (that is criu_facts.criu, in (b) and (d)).
    return lambda: check.run(probes, installed_criu=False)


def module_env(collections):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_PYTHON_INTERPRETER=sys.executable,
               ANSIBLE_LOCALHOST_WARNING='0', ANSIBLE_INVENTORY_UNPARSED_WARNING='0')
    return env


def ansible(module, collections):
    ansible_bin = shutil.which('ansible') or os.path.join(os.path.dirname(sys.executable), 'ansible')
    argv = [ansible_bin, 'localhost', '-c', 'local', '-m', module]
    return lambda: run_quiet(argv, module_env(collections))


EMPTY_MODULE = """
from ansible.module_utils.basic import AnsibleModule
AnsibleModule(argument_spec={}, supports_check_mode=True).exit_json(changed=False)
"""

# What criu_facts pays whatever its probes find, one after another in one
# process: compiling every module it imports (Ansible ships source, without
# bytecode), importing the two libraries the probes use, and the installed
# criu's own check and the runtimes' version commands (criu_facts.criu and
# .runtimes).  Not a probe runs.
FIXED_COSTS_MODULE = """
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.criu.check.plugins.module_utils import _check, _context
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
module = AnsibleModule(argument_spec={}, supports_check_mode=True)
REG.load(REG.PROBES)
from ansible_collections.criu.check.plugins.module_utils import (
    _aggregate, _decide, _environment, _installed_criu, _kernel_config, _runtimes,
    _probes_netlink, _probes_ptrace, _probes_sockets)
_probes_netlink._Rtnl()
_probes_sockets._pyroute2()
_probes_ptrace._Ptrace()
ctx = _context.ProbeContext()
_check._installed_criu_check(ctx)
_check._runtime_commands(ctx)
module.exit_json(changed=False)
"""


# criu_facts' probes alone, in a module process: what issue 7 measured before the installed criu's own check and
# the runtimes' version commands joined the module (issue 8).  Printed beside the probe cost, for reference.
PROBES_ONLY_MODULE = """
from ansible.module_utils.basic import AnsibleModule
from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
module = AnsibleModule(argument_spec={}, supports_check_mode=True)
module.exit_json(changed=False, ansible_facts={'criu_facts': _check.run(REG.PROBES, installed_criu=False)})
"""


def module_process(collections, workdir, source=None, name=None):
    """A module run as Ansible runs it: a Python process with its arguments
    in a JSON file in ``workdir``; ``source`` None is the criu_facts module,
    else the source of a module written to ``workdir``/``name``.py."""
    args = os.path.join(workdir, 'args.json')
    with open(args, 'w') as f:
        json.dump({'ANSIBLE_MODULE_ARGS': {}}, f)
    module = os.path.join(REPO, 'plugins', 'modules', 'criu_facts.py')
    if source is not None:
        module = os.path.join(workdir, name + '.py')
        with open(module, 'w') as f:
            f.write(source)
    env = dict(os.environ, PYTHONPATH=collections)
    return lambda: subprocess.run([sys.executable, module, args], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, check=False, cwd='/tmp')


def probe_cost(args, collections):
    """(d): medians of interleaved rounds of the processes, wall and CPU."""
    workdir = tempfile.mkdtemp(prefix='criu-check-bench-')
    cpu = {}
    try:
        times = medians({
            'criu check --all (cold)': criu_cold('--all'),
            'criu_facts module process': module_process(collections, workdir),
            'empty AnsibleModule process': module_process(collections, workdir, EMPTY_MODULE, 'empty'),
            'fixed costs alone, no probe': module_process(collections, workdir, FIXED_COSTS_MODULE, 'fixed_costs'),
            'probes only, no installed criu': module_process(collections, workdir, PROBES_ONLY_MODULE, 'probes_only'),
        }, max(11, args.rounds), cpu)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    reference = times['criu check --all (cold)']
    print('\n(d) probe cost: criu_facts module process minus an empty AnsibleModule process')
    print('  %-40s %8s %9s' % ('', 'wall', 'CPU'))
    for name, seconds in times.items():
        print('  %-40s %5.1f ms %6.1f ms' % (name, seconds * 1000, cpu[name] * 1000))
    for label, name in (('probe cost', 'criu_facts module process'),
                        ('  of which fixed costs', 'fixed costs alone, no probe'),
                        ('probe cost without the installed criu', 'probes only, no installed criu')):
        wall = times[name] - times['empty AnsibleModule process']
        used = cpu[name] - cpu['empty AnsibleModule process']
        print('  %-40s %5.1f ms %6.1f ms' % (label, wall * 1000, used * 1000))
    cost = times['criu_facts module process'] - times['empty AnsibleModule process']
    ratio = cost / reference if reference else float('inf')
    print('  ratio probe cost / criu check --all (cold): %.2f (goal <= 0.8: %s)'
          % (ratio, 'met' if ratio <= 0.8 else 'NOT met'))
    alone = times['probes only, no installed criu'] - times['empty AnsibleModule process']
    print('  for reference, without the installed criu\'s check and the runtimes (issue 7 before issue 8): %.2f'
          % (alone / reference if reference else float('inf')))
    fixed_cpu = cpu['fixed costs alone, no probe'] - cpu['empty AnsibleModule process']
    floor = fixed_cpu / os.cpu_count()
    print('  fixed costs: compiling what criu_facts imports (Ansible ships source), importing pyroute2 and\n'
          '  python-ptrace, the installed criu\'s check; their CPU on %d cores is at least %.1f ms of wall time,\n'
          '  %.2f x criu check --all (cold)'
          % (os.cpu_count(), floor * 1000, floor / reference if reference else float('inf')))


def module_peak_rss_mb(collections):
    """Run the criu_facts module as Ansible runs a module (a Python process with
    its arguments in a JSON file) and return that process's peak RSS."""
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as args:
        json.dump({'ANSIBLE_MODULE_ARGS': {}}, args)
    code = ('import resource, subprocess, sys; '
            'subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); '
            'print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)')
    module = os.path.join(REPO, 'plugins', 'modules', 'criu_facts.py')
    env = dict(os.environ, PYTHONPATH=collections)
    try:
        out = subprocess.run([sys.executable, '-c', code, sys.executable, module, args.name], env=env,
                             stdout=subprocess.PIPE, check=True, text=True).stdout
    finally:
        os.unlink(args.name)
    return int(out.split()[-1]) / 1024.0


def main():
    parser = argparse.ArgumentParser(description='criu.check benchmarks')
    parser.add_argument('--rounds', type=int, default=15)
    parser.add_argument('--skip-ansible', action='store_true', help='skip (b)')
    parser.add_argument('--only-probe-cost', action='store_true', help='only (d)')
    args = parser.parse_args()
    if not shutil.which('criu'):
        sys.exit('benchmark.py: no criu binary on PATH; run it in the criu root (see its docstring)')

    collections = collection_tree()
    import_collection()
    from ansible_collections.criu.check.plugins.module_utils import _check

    print('criu.check benchmarks: %s, Python %s, %d rounds (medians)\n'
          % (run_quiet(['criu', '--version']).stdout.decode().split('\n')[0], sys.version.split()[0], args.rounds))
    if args.only_probe_cost:
        probe_cost(args, collections)
        shutil.rmtree(collections, ignore_errors=True)
        return 0
    required = _check.like_criu_check()
    everything = _check.by_categories(['required', 'extra', 'experimental', 'optional'])
    report('(a) required category: engine vs criu check', medians({
        'criu check (warm kdat cache)': criu(),
        'criu check (cold, no kdat cache)': criu_cold(),
        'engine, required + optional': engine(_check, required),
    }, args.rounds), 'engine, required + optional')
    report('\n(a) all categories: engine vs criu check --all', medians({
        'criu check --all (warm kdat cache)': criu('--all'),
        'criu check --all (cold)': criu_cold('--all'),
        'engine, all four categories': engine(_check, everything),
    }, args.rounds), 'engine, all four categories')
    if not args.skip_ansible:
        report('\n(b) whole ansible commands: criu_facts vs setup', medians({
            'ansible -m ansible.builtin.setup': ansible('ansible.builtin.setup', collections),
            'ansible -m criu.check.criu_facts': ansible('criu.check.criu_facts', collections),
        }, max(3, args.rounds // 3)), 'ansible -m criu.check.criu_facts')
    peak = module_peak_rss_mb(collections)
    print('\n(c) criu_facts module process peak RSS: %.1f MB (goal < 60 MB: %s)'
          % (peak, 'met' if peak < 60 else 'NOT met'))
    probe_cost(args, collections)
    shutil.rmtree(collections, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
