# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Inside a test VM (tests/tools/vm.py): run every step of a plan and print one JSON report.

    python3 /src/tests/vm/inside_vm.py /job/plan.json

The plan (written by tests/vm/_vm.py) is {"steps": [STEP, ...]}; each STEP is

    name      the variant ("base", "yama-2", "sockdiag-blocked", ...)
    setup     shell run as root before the runs (set a sysctl, block a module)
    teardown  shell run as root after them (undo it)
    runs      [{"key", "context", "criu", "plan"}]: tests/differential/inside_root.py
              runs with "plan" in "context", criu being "4.2.1" (sid's, /usr/sbin/criu)
              or "4.1.1" (trixie's, /opt/criu-4.1.1/bin/criu first in PATH)

Contexts, as tests/tools/criu_root.sh makes them on the host:
    root          root, every capability
    ro-proc-sys   root, /proc/sys remounted read-only in a private mount namespace
    nonroot-cr    uid/gid 65534 with CAP_CHECKPOINT_RESTORE only (ambient)
    userns        root of a new user namespace (unshare -Ur)

criu's kerndat cache (/run/criu.kdat) is removed before each run, so that
each run starts as on a freshly booted host.  Only the standard library is used.
"""

import glob
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time

INSIDE_ROOT = '/src/tests/differential/inside_root.py'
PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
CRIU_PATHS = {'4.2.1': PATH, '4.1.1': '/opt/criu-4.1.1/bin:' + PATH}
SHELL_TIMEOUT = 60
# The checkout is read-only: without a cache every Python process would
# compile the collection again (slow under TCG).  The image holds the
# bytecode of the standard library and the packages there
# (tests/tools/vm_build.sh VM_PYCACHE); the collection's is compiled into it
# once, as root, at the start; readable by every context.
PYCACHE = '/var/cache/criu-vm-pycache'
RUN_TIMEOUT = 900

RO_PROC_SYS = 'mount --bind /proc/sys /proc/sys && mount -o remount,bind,ro /proc/sys && exec "$@"'
CONTEXTS = {
    'root': [],
    'ro-proc-sys': ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', RO_PROC_SYS, 'sh'],
    'nonroot-cr': ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups',
                   '--inh-caps=-all,+checkpoint_restore', '--ambient-caps=-all,+checkpoint_restore',
                   '--bounding-set=-all,+checkpoint_restore', '--'],
    'userns': ['unshare', '-Ur', '--'],
}


def shell(script):
    if not script:
        return {'rc': 0, 'out': ''}
    try:
        proc = subprocess.run(['sh', '-c', script], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=SHELL_TIMEOUT, check=False)
        return {'rc': proc.returncode, 'out': proc.stdout.decode('utf-8', 'replace')[-4000:]}
    except subprocess.TimeoutExpired:
        return {'rc': None, 'out': 'TIMEOUT'}


def modules():
    try:
        with open('/proc/modules') as f:
            return sorted(line.split()[0] for line in f)
    except OSError:
        return []


def one_run(run):
    ctx = run['context']
    if ctx not in CONTEXTS:
        return {'error': 'unknown context %r (one of %s)' % (ctx, ', '.join(sorted(CONTEXTS)))}
    try:
        os.unlink('/run/criu.kdat')
    except OSError:
        pass
    cwd = tempfile.mkdtemp(prefix='ctx.', dir='/tmp')
    os.chmod(cwd, 0o1777)
    home = '/root' if ctx != 'nonroot-cr' else cwd
    env = ['env', '-i', 'PATH=' + CRIU_PATHS[run['criu']], 'LANG=C.UTF-8', 'TERM=dumb', 'HOME=' + home,
           'PYTHONPYCACHEPREFIX=' + PYCACHE]
    argv = env + CONTEXTS[ctx] + ['python3', INSIDE_ROOT, json.dumps(run['plan'])]
    start = time.monotonic()
    try:
        proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=RUN_TIMEOUT, check=False)
        try:
            report = json.loads(proc.stdout.decode())
        except ValueError:
            report = {'error': 'inside_root.py exited %s without a report: %s' % (
                proc.returncode, proc.stderr.decode('utf-8', 'replace')[-2000:])}
    except subprocess.TimeoutExpired:
        report = {'error': 'inside_root.py: no report within %s s' % RUN_TIMEOUT}
    finally:
        shutil.rmtree(cwd, ignore_errors=True)
    report['wall_ms'] = round((time.monotonic() - start) * 1000, 1)
    report['context'] = ctx
    return report


def compile_collection():
    """Compile the collection's module_utils into PYCACHE, in this process.

    Not ``compileall -j 0``: with the VM's one CPU its process pool only
    added a second Python and a forkserver (6-7 s of the 13 s it took under
    TCG).  The scripts (run_probes.py, inside_root.py) are not compiled:
    Python never reads a cached ``__main__``."""
    prefix = sys.pycache_prefix
    sys.pycache_prefix = PYCACHE
    try:
        for path in sorted(glob.glob('/src/plugins/module_utils/*.py')):
            try:
                py_compile.compile(path, doraise=True, invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
            except (py_compile.PyCompileError, OSError) as exc:
                progress('compiling %s: %s (each run compiles it then)' % (path, exc))
    finally:
        sys.pycache_prefix = prefix


def progress(line):
    """To stderr (the result) and to the console, which the host shows when
    the VM gives no result (a timeout)."""
    sys.stderr.write(line + '\n')
    sys.stderr.flush()
    try:
        with open('/dev/console', 'w') as f:
            f.write('inside_vm: %s\n' % line)
    except OSError:
        pass


def main():
    # A session of our own, as every login or service has: a child of PID 1
    # that never called setsid() is in process group 0, and criu's autofs
    # check (criu/cr-check.c check_autofs(): pgrp=getpgrp()) then fails with
    # EINVAL: fs/autofs/inode.c finds no process group 0.
    try:
        os.setsid()
    except OSError:
        pass
    with open(sys.argv[1]) as f:
        plan = json.load(f)
    start = time.monotonic()
    out = {'uname': os.uname().release, 'steps': {}, 'order': []}
    with open('/proc/cmdline') as f:
        out['cmdline'] = f.read().strip()
    t0 = time.monotonic()
    compile_collection()
    out['compile_ms'] = round((time.monotonic() - t0) * 1000, 1)
    for step in plan['steps']:
        t0 = time.monotonic()
        rec = {'setup': shell(step.get('setup')), 'runs': {}}
        for run in step['runs']:
            rec['runs'][run['key']] = one_run(run)
        rec['modules'] = modules()
        rec['teardown'] = shell(step.get('teardown'))
        rec['ms'] = round((time.monotonic() - t0) * 1000, 1)
        out['steps'][step['name']] = rec
        out['order'].append(step['name'])
        progress('step %s: %.1f s' % (step['name'], rec['ms'] / 1000))
    out['ms'] = round((time.monotonic() - start) * 1000, 1)
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
