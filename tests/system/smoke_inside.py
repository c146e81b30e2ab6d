# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run criu_smoke for real and look for what it leaves behind.

Run by tests/system/test_smoke.py, inside the Debian 13 root through
``tests/tools/criu_root.sh run`` (with the root's python3 and criu 4.1.1) or on
the host (with Debian 12's criu 3.17.1), as::

    python3 smoke_inside.py REPO SCENARIO [MODULE ARGS AS JSON]

Scenarios:
  once            one run; the module's result
  repeat:N        N runs one after the other
  kill:WHEN       SIGKILL the module process when WHEN is reached: ``dump``
                  (criu dump is running), ``restore`` (criu restore is
                  running) or ``restored`` (the restored tree runs and the
                  module is checking its counters)

Every scenario runs the module file directly, with a JSON args file, as
Ansible would, in a scratch directory of its own given as ``tmpdir``, and
prints one JSON object: the module results, what was seen of its processes
while it ran, and the leftovers afterwards (processes, files, mounts, criu's
kdat cache).  Only the standard library is used.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

KDAT = '/run/criu.kdat'


def import_root(repo):
    root = tempfile.mkdtemp(prefix='smoke-coll-')
    os.makedirs(os.path.join(root, 'ansible_collections', 'criu'))
    os.symlink(repo, os.path.join(root, 'ansible_collections', 'criu', 'check'))
    return root


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except (IOError, OSError):
        return None


def processes():
    """{pid: (starttime, session, cmdline)} of every process."""
    out = {}
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        stat = read('/proc/%s/stat' % name)
        if not stat:
            continue
        fields = stat[stat.rindex(b')') + 2:].split()
        cmd = (read('/proc/%s/cmdline' % name) or b'').replace(b'\0', b' ').decode('utf-8', 'replace')
        out[int(name)] = (int(fields[19]), int(fields[3]), cmd)
    return out


def mounts():
    with open('/proc/self/mountinfo') as f:
        return sorted(line.split(' ', 4)[4] for line in f)


def children(pid):
    """The children of ``pid``, none once it has exited (it may between any two looks at /proc)."""
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return []
    out = []
    for tid in tids:
        out += [int(p) for p in (read('/proc/%d/task/%s/children' % (pid, tid)) or b'').split()]
    return out


class Runner:
    def __init__(self, repo, args):
        self.coll = import_root(repo)
        self.args = dict(args)
        # ``_scratch_dir``: where the scratch directory (the module's tmpdir) is made, /tmp by default.
        self.scratch = tempfile.mkdtemp(prefix='smoke-test-', dir=self.args.pop('_scratch_dir', None))
        self.args['tmpdir'] = self.scratch
        self.seen = {}           # pid -> (starttime, session, cmdline): every process that held our scratch dir
        self.before = processes()
        self.mounts = mounts()
        self.kdat = os.path.exists(KDAT)

    def start(self):
        path = os.path.join(self.coll, 'args.json')
        with open(path, 'w') as f:
            json.dump({'ANSIBLE_MODULE_ARGS': self.args}, f)
        env = dict(os.environ, PYTHONPATH=self.coll)
        return subprocess.Popen([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.criu_smoke',
                                 path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, cwd='/')

    def watch(self):
        """Remember every process that holds our scratch directory."""
        mark = self.scratch
        for pid, info in processes().items():
            if mark in info[2]:
                self.seen.setdefault(pid, info)

    def remember(self, pids):
        for pid in pids:
            stat = read('/proc/%d/stat' % pid)
            cmd = (read('/proc/%d/cmdline' % pid) or b'').replace(b'\0', b' ').decode('utf-8', 'replace')
            if stat and self.scratch in cmd:
                fields = stat[stat.rindex(b')') + 2:].split()
                self.seen.setdefault(pid, (int(fields[19]), int(fields[3]), cmd))

    def result(self, proc, timeout=120):
        out, err = proc.communicate(timeout=timeout)
        try:
            return json.loads(out.decode())
        except ValueError:
            return {'no_json': True, 'rc': proc.returncode, 'stdout': out.decode('utf-8', 'replace')[-2000:],
                    'stderr': err.decode('utf-8', 'replace')[-2000:]}

    def kill_at(self, when, deadline=60):
        """Start the module; SIGKILL it when ``when`` is reached."""
        proc = self.start()
        end = time.monotonic() + deadline
        hit = None
        while time.monotonic() < end and proc.poll() is None:
            kids = children(proc.pid)
            kids += [g for k in kids for g in children(k)]
            cmds = dict((k, (read('/proc/%d/cmdline' % k) or b'').split(b'\0')) for k in kids)
            self.remember(kids)
            if when in ('dump', 'restore'):
                for k, argv in cmds.items():
                    if len(argv) > 1 and argv[1] == when.encode():
                        hit = '%s (criu pid %d)' % (when, k)
            elif when == 'restored':
                for name in os.listdir(self.scratch):
                    if os.path.exists(os.path.join(self.scratch, name, 'restore.pid')) and not any(
                            len(a) > 1 and a[1] == b'restore' for a in cmds.values()):
                        hit = 'restored'
            if hit:
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.0005)
        self.watch()
        proc.communicate(timeout=60)
        return {'killed_at': hit, 'rc': proc.returncode}

    def leftovers(self, wait=20):
        """What is left once the watchdog has had time to clean up (waiting
        until nothing is, or ``wait`` seconds: on a loaded machine pid 1
        reaps the re-parented children slowly)."""
        start = time.monotonic()
        while True:
            left = self._left()
            clean = not any(left[k] for k in ('marked', 'seen_alive', 'new_in_our_sessions', 'files'))
            if clean or time.monotonic() - start >= wait:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        left = self._left()
        left['clean_after_ms'] = round((time.monotonic() - start) * 1000)
        return left

    def _left(self):
        procs = processes()
        seen_sessions = set(info[1] for info in self.seen.values()) | set(self.seen)
        return {
            'marked': ['%d %s' % (p, info[2][:200]) for p, info in procs.items() if self.scratch in info[2]],
            'seen_alive': ['%d %s' % (p, procs[p][2][:200]) for p, info in self.seen.items()
                           if p in procs and procs[p][0] == info[0]],
            'new_in_our_sessions': ['%d %s' % (p, info[2][:200]) for p, info in procs.items()
                                    if info[1] in seen_sessions and (p not in self.before
                                                                     or self.before[p][0] != info[0])],
            'files': sorted(os.listdir(self.scratch)),
            'mounts_added': sorted(set(mounts()) - set(self.mounts)),
            'mounts_removed': sorted(set(self.mounts) - set(mounts())),
            'kdat_created': (not self.kdat) and os.path.exists(KDAT),
        }

    def close(self):
        # Whatever leaked is reported already: do not let it outlive the test.
        for pid, info in processes().items():
            if self.scratch in info[2]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(self.scratch, ignore_errors=True)
        os.unlink(os.path.join(self.coll, 'ansible_collections', 'criu', 'check'))
        for p in ('args.json',):
            if os.path.exists(os.path.join(self.coll, p)):
                os.unlink(os.path.join(self.coll, p))
        os.rmdir(os.path.join(self.coll, 'ansible_collections', 'criu'))
        os.rmdir(os.path.join(self.coll, 'ansible_collections'))
        os.rmdir(self.coll)


def main():
    repo, scenario = sys.argv[1], sys.argv[2]
    args = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    runner = Runner(repo, args)
    report = {'scenario': scenario, 'runs': []}
    if scenario == 'once' or scenario.startswith('repeat:'):
        n = 1 if scenario == 'once' else int(scenario.split(':')[1])
        for dummy in range(n):
            proc = runner.start()
            while proc.poll() is None:
                runner.watch()
                time.sleep(0.005)
            report['runs'].append(runner.result(proc))
    elif scenario.startswith('kill:'):
        report['runs'].append(runner.kill_at(scenario.split(':')[1]))
    else:
        raise SystemExit('unknown scenario %s' % scenario)
    report['seen'] = ['%d %s' % (p, info[2][:120]) for p, info in sorted(runner.seen.items())]
    report['leftovers'] = runner.leftovers()
    runner.close()
    print(json.dumps(report))


if __name__ == '__main__':
    main()
