# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a family of probes could leave behind, seen from a quiet scratch
namespace (shared by the per-family leak tests)."""

import ctypes
import os
import subprocess

# What the probes could leave on the host, by name: their directories and
# mount sources, and the links link_nsid makes (in namespaces of its own).
MARKERS = ('.criu.', 'criu-check', 'criu.move_mount_set_group', 'lowerdir=/tmp/l')
PROBE_LINKS = ('veth', 'criu-kdat')


def quiet_scratch():
    """In a child: a private mount namespace with a fresh, empty /tmp, so
    that what other processes on this machine mount or write meanwhile does
    not show, while whatever the probes leave behind would."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.unshare(0x00020000) == 0
    assert libc.mount(None, b'/', None, ctypes.c_ulong(16384 | (1 << 18)), None) == 0
    assert libc.mount(b'test', b'/tmp', b'tmpfs', ctypes.c_ulong(0), None) == 0


def private_tmp_and_net():
    """In a child: as quiet_scratch(), and a private network namespace too, so
    that links others create meanwhile do not show either."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(0x00020000 | 0x40000000) != 0:   # CLONE_NEWNS | CLONE_NEWNET
        raise OSError(ctypes.get_errno(), 'unshare')
    if libc.mount(b'none', b'/', None, ctypes.c_ulong(0x4000 | 0x40000), None) != 0:   # MS_REC | MS_PRIVATE
        raise OSError(ctypes.get_errno(), 'mount --make-rprivate /')
    if libc.mount(b'tmpfs', b'/tmp', b'tmpfs', ctypes.c_ulong(0), None) != 0:
        raise OSError(ctypes.get_errno(), 'mount tmpfs /tmp')


def children():
    """The pids of this process's children, of all its threads."""
    found = []
    for tid in os.listdir('/proc/self/task'):
        with open('/proc/self/task/%s/children' % tid) as f:
            found += f.read().split()
    return found


def mounts():
    """This namespace's mounts, without their ids (fields 5 on of mountinfo),
    which change when the same mount is made again."""
    with open('/proc/self/mountinfo') as f:
        return sorted(line.split(' ', 4)[4] for line in f)


def snapshot():
    links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=False).stdout
    links = [line.split(':')[1].strip().split('@')[0] for line in links.splitlines()]
    return {'fds': sorted(os.listdir('/proc/self/fd')), 'children': children(), 'mounts': mounts(),
            'tmp': sorted(os.listdir('/tmp')), 'cwd': os.getcwd(),
            'probe_links': [name for name in links if name in PROBE_LINKS],
            'netns': os.stat('/proc/self/ns/net').st_ino, 'mntns': os.stat('/proc/self/ns/mnt').st_ino,
            'pidns': os.stat('/proc/self/ns/pid').st_ino}


def process_state():
    """This process's fds, children, mounts and links, as they are (run in a
    private namespace from private_tmp_and_net(), so that only ours show)."""
    with open('/proc/self/mountinfo') as f:
        mountinfo = f.read()
    links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=False).stdout
    return {'fds': sorted(os.listdir('/proc/self/fd')), 'children': children(), 'mounts': mountinfo, 'links': links,
            'tmp': sorted(os.listdir('/tmp'))}


def host_traces():
    with open('/proc/1/mountinfo') as f:
        mounts = [line for line in f if any(m in line for m in MARKERS)]
    return mounts + [n for n in os.listdir('/tmp') if n.startswith('.criu.')]


def run_twice_between_snapshots(probe_ids, unprivileged, take_snapshot):
    """Run each probe once (imports and caches warm up), then again between
    two calls of ``take_snapshot()``: {'before', 'after', 'statuses',
    'unreaped'}, unreaped being true when a child of this process is still
    there to be waited for."""
    from ansible_collections.criu.check.plugins.module_utils import _context, _registry
    ctx = _context.ProbeContext(unprivileged=unprivileged)
    for probe_id in probe_ids:
        _registry.BY_ID[probe_id].func(ctx)
    before = take_snapshot()
    statuses = dict((probe_id, _registry.BY_ID[probe_id].func(ctx)['status']) for probe_id in probe_ids)
    after = take_snapshot()
    try:
        os.waitpid(-1, os.WNOHANG)
        unreaped = True
    except ChildProcessError:
        unreaped = False
    return {'before': before, 'after': after, 'statuses': statuses, 'unreaped': unreaped}
