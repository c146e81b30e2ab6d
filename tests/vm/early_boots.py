# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VM boots of the differential, started with the test session (see
"early boots" in tests/vm/_vm.py), in a process of their own:

    python3 tests/vm/early_boots.py DIR SESSION_PID SESSION_START_TIME

Builds (or finds) the image and writes DIR/build.json, then boots every VM,
one at a time until DIR/parallel appears (the vm stage began), then
CRIU_CHECK_VM_PARALLEL (default 2) at a time, and writes each one's result to
DIR/BOOT.json.  It writes its pid to DIR/pid as it starts and its exit code
to DIR/exit as it ends.  It stops its VMs and ends on SIGTERM or when the
test session is gone (SESSION_PID with that start time, /proc/PID/stat
field 22: the session starts it with setsid --fork, so it is not its
parent); whatever it stops is booted again by the session if it needs it.
"""

import json
import os
import shutil
import signal
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _vm as V  # noqa: E402

POLL_S = 1.0
ORPHANED = threading.Event()   # no session will read or remove DIR


def write_json(directory, name, data):
    path = os.path.join(directory, name)
    with open(path + '.tmp', 'w') as f:
        json.dump(data, f)
    os.replace(path + '.tmp', path)


def stop_vms():
    """SIGKILL this process's children (the qemus): vm.run_job() then reads
    what there is, removes its work directory and returns."""
    for tid in os.listdir('/proc/self/task'):
        try:
            with open('/proc/self/task/%s/children' % tid) as f:
                pids = [int(p) for p in f.read().split()]
        except OSError:
            continue
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


def yield_to_the_session():
    """Give this process's autogroup the nice value it runs with.  With
    CONFIG_SCHED_AUTOGROUP each session (setsid) is a group that gets as
    much CPU as any other, whatever its processes' nice values: without
    this, the early boots took as much CPU as the whole test session."""
    try:
        with open('/proc/self/autogroup', 'w') as f:
            f.write('%d\n' % os.nice(0))
    except OSError:
        pass   # no autogroups here: nice alone orders the processes


def main():
    directory, session, session_start = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    yield_to_the_session()
    with open(os.path.join(directory, 'pid.tmp'), 'w') as f:
        f.write('%d\n' % os.getpid())
    os.replace(os.path.join(directory, 'pid.tmp'), os.path.join(directory, 'pid'))
    stopping = threading.Event()
    slots = threading.Semaphore(1)
    workers = max(1, int(os.environ.get('CRIU_CHECK_VM_PARALLEL', '2')))

    def stop(*signal_args):
        stopping.set()
        stop_vms()
        for dummy in range(workers):   # a worker waiting for a slot sees the stop
            slots.release()

    signal.signal(signal.SIGTERM, stop)

    start = time.monotonic()
    try:
        image = V.vm.build()
    except Exception as exc:
        write_json(directory, 'build.json', {'error': str(exc), 'build_s': round(time.monotonic() - start, 1)})
        return 1
    write_json(directory, 'build.json', {'directory': image, 'build_s': round(time.monotonic() - start, 1)})

    pending = list(V.boot_order())
    lock = threading.Lock()

    def worker():
        while not stopping.is_set():
            with lock:
                if not pending:
                    return
                boot = pending.pop(0)
            with slots:
                if stopping.is_set():
                    return
                try:
                    res = V.boot_vm(image, boot, timeout=V.EARLY_VM_TIMEOUT)
                except Exception:
                    res = {'exception': traceback.format_exc()[-3000:]}
                if stopping.is_set():   # killed halfway: not a result
                    return
                write_json(directory, boot + '.json', res)

    threads = [threading.Thread(target=worker, daemon=True) for dummy in range(workers)]
    for t in threads:
        t.start()
    released = False
    while any(t.is_alive() for t in threads):
        if not released and os.path.exists(os.path.join(directory, 'parallel')):
            for dummy in range(workers - 1):
                slots.release()
            released = True
        if V.vm.process_start_time(session) != session_start and not stopping.is_set():   # the session is gone
            ORPHANED.set()
            stop()
        if stopping.is_set():
            stop_vms()   # again: a boot may have started its qemu just after the first sweep
        for t in threads:
            t.join(POLL_S / len(threads))
    return 0


if __name__ == '__main__':
    code = 1
    try:
        code = main()
    finally:
        if ORPHANED.is_set():
            shutil.rmtree(sys.argv[1], ignore_errors=True)
        else:
            with open(os.path.join(sys.argv[1], 'exit'), 'w') as f:
                f.write('%s\n' % code)
    sys.exit(code)
