# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Nothing the probes do may persist on the host.

Snapshots of processes, zombies, fds, mounts, network links, namespaces,
temporary files and writable sysctls, before and after 200 runs of the
required category and 50 runs of all 67 probes, as root on the real kernel.

Every process the runs start inherits a marker in its environment, so a
leftover is found wherever it was reparented to.  The runs happen in a child
with a private mount namespace and fresh, empty temporary directories: what
the probes leave there shows, what other programs on the machine do meanwhile
does not.
"""

import ctypes
import glob
import importlib
import os
import signal
import uuid

import pytest

from conftest import in_child, requires_root
from ansible_collections.criu.check.plugins.module_utils import _check

MARK = 'CRIU_CHECK_LEAK_MARK'
TMP_DIRS = ('/tmp', '/var/tmp', '/dev/shm', '/run')
# sysctls that change by themselves (counters, random, the pid counter)
VOLATILE_SYSCTLS = ('kernel/ns_last_pid', 'kernel/random/', 'fs/dentry-state', 'fs/inode-', 'fs/file-nr',
                    'fs/aio-nr', 'kernel/pty/nr', 'net/netfilter/nf_conntrack_count', 'fs/quota/',
                    'kernel/tainted', 'vm/stat_refresh', 'fs/fanotify/', 'fs/inotify/', 'kernel/perf_',
                    'kernel/sched_', 'vm/compact_memory', 'vm/drop_caches', 'net/ipv4/route/flush',
                    'net/ipv6/route/flush', 'net/ipv4/tcp_fastopen_key', 'kernel/hung_task')


def private_temporary_directories():
    """A private mount namespace with an empty tmpfs on each temporary directory.

    The tests import the collection through a link tree in the temporary directory (conftest.py),
    which the tmpfs hides: everything _check.run() imports when it runs is imported first (it had
    been, by earlier tests, only when the whole suite ran in its usual order)."""
    for path in glob.glob(os.path.join(os.path.dirname(_check.__file__), '_*.py')):
        importlib.import_module('%s.%s' % (_check.__package__, os.path.basename(path)[:-3]))
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.unshare(0x00020000) == 0                     # CLONE_NEWNS
    assert libc.mount(None, b'/', None, ctypes.c_ulong(0x4000 | 0x40000), None) == 0   # MS_REC | MS_PRIVATE
    for directory in TMP_DIRS:
        if os.path.isdir(directory):
            assert libc.mount(b'criu-check-test', directory.encode(), b'tmpfs', ctypes.c_ulong(0), None) == 0


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError:
        return None


def marked_processes(mark):
    found = []
    for pid in os.listdir('/proc'):
        if pid.isdigit() and int(pid) != os.getpid():
            environ = _read('/proc/%s/environ' % pid)
            if environ and ('%s=%s' % (MARK, mark)).encode() in environ.split(b'\0'):
                found.append((int(pid), (_read('/proc/%s/comm' % pid) or b'').strip()))
    return found


def children():
    kids = set()
    for tid in os.listdir('/proc/self/task'):
        kids.update((_read('/proc/self/task/%s/children' % tid) or b'').split())
    return kids


def sysctls():
    values = {}
    for top, dirs, files in os.walk('/proc/sys'):
        for name in files:
            path = os.path.join(top, name)
            key = path[len('/proc/sys/'):]
            if key.startswith(VOLATILE_SYSCTLS) or not os.access(path, os.W_OK):
                continue
            values[key] = _read(path)
    return values


def snapshot():
    return {
        'fds': sorted(os.listdir('/proc/self/fd')),
        'children': children(),
        'mounts': _read('/proc/self/mountinfo'),
        'links': sorted(os.listdir('/sys/class/net')),
        'namespaces': dict((n, os.readlink('/proc/self/ns/' + n)) for n in os.listdir('/proc/self/ns')),
        'files': dict((d, sorted(os.listdir(d))) for d in TMP_DIRS if os.path.isdir(d)),
        'sysctls': sysctls(),
        'loginuid': _read('/proc/self/loginuid'),
        'sigusr1': str(signal.getsignal(signal.SIGUSR1)),
        'cwd': os.getcwd(),
    }


def diff(before, after):
    changed = {}
    for key in before:
        if before[key] != after[key]:
            if isinstance(before[key], dict):
                changed[key] = dict((k, (before[key].get(k), after[key].get(k)))
                                    for k in set(before[key]) | set(after[key])
                                    if before[key].get(k) != after[key].get(k))
            else:
                changed[key] = (before[key], after[key])
    return changed


@requires_root
@pytest.mark.parametrize('categories,runs', [(['required'], 200), (['all'], 50)])
def test_runs_leave_nothing_behind(categories, runs, monkeypatch):
    mark = uuid.uuid4().hex
    monkeypatch.setenv(MARK, mark)
    probes = _check.by_categories(categories)

    def runs_and_diff():
        before = snapshot()
        statuses = None
        for dummy in range(runs):
            results = _check.run(probes)['probes']
            current = dict((k, v['status']) for k, v in results.items())
            # the same answers every time: nothing a run did changed the next one
            assert statuses is None or current == statuses, (statuses, current)
            statuses = current
        return statuses, diff(before, snapshot())

    statuses, changed = in_child(runs_and_diff, setup=private_temporary_directories, timeout=600)
    assert not [k for k, v in statuses.items() if v == 'error'], statuses
    assert marked_processes(mark) == []
    assert changed == {}
