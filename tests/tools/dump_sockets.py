# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Dump, with the criu first on PATH, a process that holds network sockets, and say beside it what criu.check
predicts of that criu on this kernel (_installed_criu.cannot_dump()).

    python3 dump_sockets.py

Run as root by tests/system/test_cannot_dump.py (in the Debian 13 root, on this host's kernel) and, through
tests/differential/inside_root.py, in the VMs on Debian's kernels with criu 4.1.1 and 4.2.1 (tests/vm).  The
process is a python3 of its own session holding an IPv4 UDP socket and an IPv4 TCP socket listening on the
loopback; criu dumps it into a temporary directory (``criu dump -t PID -D DIR -o dump.log -v4``), which ends it.
Whatever the outcome, the process is killed and the directory removed.

Prints one JSON object: ``criu`` (its path), ``version``, ``kernel`` (check()'s observations), ``predicted`` (the
ids of cannot_dump()), ``rc`` (criu's exit code; None when it did not finish), ``error`` (its first error line),
``dumped`` (rc 0 and the process gone), ``ms``.  Only the standard library and the collection are used.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_probes  # noqa: E402  (beside this script: imports the collection from the checkout)

HOLDER = ('import socket, sys, time\n'
          'udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n'
          'tcp = socket.socket()\n'
          'tcp.bind(("127.0.0.1", 0))\n'
          'tcp.listen(1)\n'
          'sys.stdout.write("ready\\n")\n'
          'sys.stdout.flush()\n'
          'while True:\n'
          '    time.sleep(1)\n')
TIMEOUT = 120


def main():
    run_probes.import_collection()
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    import platform
    criu = shutil.which('criu')
    version = _installed_criu.read_version(criu, dict(os.environ), 30)[0] if criu else None
    kernel = dict(_installed_criu.kernel_behaviour(), release=platform.release())
    raw = {'path': criu, 'version': version, 'kernel': kernel, 'os': {}}
    out = {'criu': criu, 'version': version, 'kernel': kernel,
           'predicted': [limit['id'] for limit in _installed_criu.cannot_dump(raw)],
           'rc': None, 'error': None, 'dumped': False, 'ms': None}
    work = tempfile.mkdtemp(prefix='criu-check-dump-sockets.')
    # Without rseq: the VMs' glibc registers it, which criu cannot dump on kernels before 5.13 (get_rseq_conf,
    # "has rseq but kernel lacks get_rseq_conf feature" on 5.10): another question than the sockets'.
    holder = subprocess.Popen([sys.executable, '-c', HOLDER], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, start_new_session=True,
                              env=dict(os.environ, GLIBC_TUNABLES='glibc.pthread.rseq=0'))
    try:
        holder.stdout.readline()
        start = time.monotonic()
        try:
            proc = subprocess.run([criu or 'criu', 'dump', '-t', str(holder.pid), '-D', work, '-o', 'dump.log', '-v4'],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=TIMEOUT, check=False)
            out['rc'] = proc.returncode
        except (OSError, subprocess.TimeoutExpired) as exc:
            out['error'] = str(exc)
        out['ms'] = round((time.monotonic() - start) * 1000, 1)
        try:
            with open(os.path.join(work, 'dump.log'), errors='replace') as f:
                errors = [line.strip() for line in f if 'Error (' in line and 'RLIMIT_NOFILE' not in line]
        except OSError:
            errors = []
        if errors and out['error'] is None:
            out['error'] = errors[0]
        # criu ends what it dumped; a failed dump leaves it running (or stopped).
        out['dumped'] = out['rc'] == 0 and holder.wait(timeout=10) is not None
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
            holder.wait()
        holder.stdout.close()
        shutil.rmtree(work, ignore_errors=True)
    json.dump(out, sys.stdout)
    sys.stdout.write('\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
