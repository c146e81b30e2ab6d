# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/check.yml against a play that only pings, over the same real hosts.

    ~/.cache/criu-check/venv/bin/python tests/tools/fleet_bench.py [--hosts 20] [--rounds 3] [--forks 20]

Starts --hosts podman containers (connection containers.podman.podman) in a mix
of contexts - privileged, every capability with a read-only /proc/sys, and
unprivileged with CAP_CHECKPOINT_RESTORE - runs both playbooks in interleaved
rounds with the same settings (forks, pipelining, fact cache), and prints the
median wall time of each and the ratio check.yml / ping (the goal is <= 1.5).
Everything it starts is removed at the end.  Needs root, podman, runc and the
images of tests/tools/build_images.sh (built when missing).
"""

import argparse
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fleet'))
from podman_fleet import REPO, Fleet  # noqa: E402

PING = """---
- name: Ping every host
  hosts: all
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""

FACTS_ONLY = """---
- name: Only the probe task of check.yml
  hosts: all
  gather_facts: false
  tasks:
    - name: Probe
      criu.check.criu_facts:
"""

MIX = ('privileged', 'rosys', 'cr')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--hosts', type=int, default=20, help='containers to start (default 20)')
    parser.add_argument('--rounds', type=int, default=3, help='timed rounds of each playbook (default 3)')
    parser.add_argument('--forks', type=int, default=20, help='ansible forks for both playbooks (default 20)')
    parser.add_argument('--no-pipelining', action='store_true', help='run both without pipelining')
    parser.add_argument('--facts-only', action='store_true',
                        help='also time a play that runs only the criu_facts task (what check.yml adds beyond its probe)')
    parser.add_argument('--fact-cache', action='store_true', help='both with a jsonfile fact cache (check.yml then keeps its drift snapshot)')
    args = parser.parse_args()
    if args.hosts < 1 or args.rounds < 1 or args.forks < 1:
        parser.error('--hosts, --rounds and --forks must be at least 1')
    hosts = [('h%02d' % i, MIX[i % len(MIX)]) for i in range(args.hosts)]
    with Fleet(hosts, prefix='criu-check-bench') as fleet:
        ping = os.path.join(fleet.dir, 'ping.yml')
        with open(ping, 'w') as f:
            f.write(PING)
        facts_only = os.path.join(fleet.dir, 'facts.yml')
        with open(facts_only, 'w') as f:
            f.write(FACTS_ONLY)
        env = {'ANSIBLE_FORKS': str(args.forks), 'ANSIBLE_PIPELINING': '0' if args.no_pipelining else '1'}
        if args.fact_cache:
            env.update(ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=os.path.join(fleet.dir, 'facts'))
        check = os.path.join(REPO, 'playbooks', 'check.yml')
        times = {'ping': [], 'check': [], 'facts': []}
        plays = [('ping', ping), ('check', check)] + ([('facts', facts_only)] if args.facts_only else [])
        # one untimed run of each: podman's first exec into a container, page cache
        for _name, playbook in plays:
            proc = fleet.playbook(playbook, env=env)
            if proc.returncode != 0:
                sys.exit('%s failed (rc %d):\n%s\n%s' % (playbook, proc.returncode, proc.stdout[-4000:], proc.stderr[-2000:]))
        for dummy in range(args.rounds):
            for name, playbook in plays:
                proc = fleet.playbook(playbook, env=env)
                if proc.returncode != 0:
                    sys.exit('%s failed (rc %d):\n%s' % (playbook, proc.returncode, proc.stdout[-4000:]))
                times[name].append(proc.seconds)
        contexts = ', '.join('%d %s' % (sum(1 for dummy, c in hosts if c == m), m) for m in MIX)
    ping_s, check_s = statistics.median(times['ping']), statistics.median(times['check'])
    print('hosts: %d podman containers (%s); forks %d; pipelining %s; fact cache %s; %d rounds' % (
        args.hosts, contexts, args.forks, 'off' if args.no_pipelining else 'on', 'jsonfile' if args.fact_cache else 'memory', args.rounds))
    print('ping-only play: %.2f s (median of %s)' % (ping_s, ', '.join('%.2f' % t for t in times['ping'])))
    print('check.yml:      %.2f s (median of %s)' % (check_s, ', '.join('%.2f' % t for t in times['check'])))
    if args.facts_only:
        facts_s = statistics.median(times['facts'])
        print('criu_facts only: %.2f s (median of %s); check.yml / criu_facts only: %.2f' % (
            facts_s, ', '.join('%.2f' % t for t in times['facts']), check_s / facts_s))
    print('load average at the end: %.1f (2 cores shared by every container and the controller)' % os.getloadavg()[0])
    print('ratio check.yml / ping: %.2f (goal <= 1.5)' % (check_s / ping_s))


if __name__ == '__main__':
    main()
