# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry's own_process column on the real kernel: a probe without it shares a worker with other probes, so it
must leave that process as it found it (prctl_cat1's fallback, which rewrites its auxv, needs CAP_SYS_RESOURCE
and a kernel before 3.18; mem_dirty_track clears its soft-dirty bits: both have own_process); and its lib column
and load(), as the engine relies on them."""

import ctypes
import json
import mmap
import os
import resource
import struct
import subprocess
import sys

import pytest

from conftest import COLLECTIONS, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

STATUS_FIELDS = ('Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp',
                 'SigBlk', 'SigIgn', 'SigCgt')


# A private page written once, before the probe: its soft-dirty bit (pagemap bit 55, CONFIG_MEM_SOFT_DIRTY) stays
# set until clear_refs "4" resets the bits of the whole process, and so the dirty tracking of a probe sharing it.
_PAGE = mmap.mmap(-1, mmap.PAGESIZE)


def _soft_dirty():
    with open('/proc/self/pagemap', 'rb') as f:
        f.seek(ctypes.addressof(ctypes.c_char.from_buffer(_PAGE)) // mmap.PAGESIZE * 8)
        return bool(struct.unpack('=Q', f.read(8))[0] >> 55 & 1)


def _process():
    """What another probe in the same process could notice."""
    with open('/proc/self/status') as f:
        status = dict(line.rstrip('\n').split(':\t', 1) for line in f if line.split(':', 1)[0] in STATUS_FIELDS)
    with open('/proc/self/auxv', 'rb') as f:
        auxv = f.read().hex()
    with open('/proc/self/mountinfo') as f:
        mounts = f.read()
    namespaces = dict((ns, os.readlink('/proc/self/ns/' + ns)) for ns in sorted(os.listdir('/proc/self/ns')))
    umask = os.umask(0o22)
    os.umask(umask)
    limits = dict((name, resource.getrlimit(getattr(resource, name)))
                  for name in sorted(dir(resource)) if name.startswith('RLIMIT_'))
    return {'status': status, 'auxv': auxv, 'mounts': mounts, 'namespaces': namespaces, 'cwd': os.getcwd(),
            'umask': umask, 'limits': limits, 'soft_dirty': _soft_dirty()}


def _changes(probe_id):
    def body():
        _PAGE[0:1] = b'x'
        before = _process()
        REG.BY_ID[probe_id].func(_context.ProbeContext())
        after = _process()
        return sorted(key for key in before if before[key] != after[key])
    return in_child(body)


@requires_root
@pytest.mark.parametrize('probe_id', [p.id for p in REG.PROBES if not p.own_process])
def test_a_probe_that_shares_its_worker_leaves_it_as_it_was(probe_id):
    assert _changes(probe_id) == []


@requires_root
def test_own_process_marks_the_probes_that_change_their_process():
    """The other side: without own_process, mem_dirty_track would reset the soft-dirty bits of the probes beside it.
    prctl_cat1 changes its process only on kernels before 3.18, which no test host runs: the unit test
    test_registry.test_the_probes_with_a_process_of_their_own pins it."""
    def written():
        _PAGE[0:1] = b'x'
        return _soft_dirty()
    if not in_child(written):
        pytest.skip('this kernel keeps no soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)')
    assert _changes('mem_dirty_track') == ['soft_dirty']


# In a fresh interpreter, as the engine does it: load() the families of some probes, then run every probe in a
# forked child of its own and say which heavy library it imported.
FRESH = r'''
import json, os, sys
from ansible_collections.criu.check.plugins.module_utils import _context, _registry as REG

def families():
    return sorted(m.rsplit('_probes_', 1)[1] for m in sys.modules if '.module_utils._probes_' in m)

def heavy():
    return sorted(lib for lib in ('pyroute2', 'ptrace') if lib in sys.modules)

out = {'before': families(), 'heavy_before': heavy()}
REG.load([REG.BY_ID['userns'], REG.BY_ID['tun']])
out['loaded'] = families()
REG.load(REG.PROBES)
out['all'] = families()
out['imports'] = {}
for probe in REG.PROBES:
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        try:
            probe.run(_context.ProbeContext())
        finally:
            os.write(wfd, json.dumps(heavy()).encode())
            os._exit(0)
    os.close(wfd)
    with os.fdopen(rfd) as f:
        out['imports'][probe.id] = json.loads(f.read() or 'null')
    os.waitpid(pid, 0)
print(json.dumps(out))
'''


@requires_root
def test_load_imports_the_families_and_a_probe_imports_the_library_its_row_names():
    """The engine groups probes by their lib column (one worker imports each heavy library once) and load()
    compiles the selected families before the workers fork: a row whose lib is wrong sends a library to a worker
    that does not expect it, or groups a probe that never uses it; a load() that imports nothing slips through
    unnoticed, as the workers import the families themselves."""
    for lib in ('pyroute2', 'ptrace'):
        pytest.importorskip(lib)
    env = {'PYTHONPATH': COLLECTIONS, 'PYTHONDONTWRITEBYTECODE': '1', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
    proc = subprocess.run([sys.executable, '-c', FRESH], capture_output=True, text=True, timeout=120, check=False,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen['before'] == [] and seen['heavy_before'] == []
    # only what those two need (a family may import another, as proc does mounts)
    assert {REG.BY_ID['userns'].family, REG.BY_ID['tun'].family} <= set(seen['loaded']) < set(seen['all'])
    assert seen['all'] == sorted(set(p.family for p in REG.PROBES))
    assert seen['imports'] == dict((p.id, [p.lib] if p.lib else []) for p in REG.PROBES)
