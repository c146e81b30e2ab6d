# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The registry's own_process column on the real kernel: a probe without it shares a worker with other probes, so it
must leave that process as it found it (prctl_cat1's fallback, which rewrites its auxv, needs CAP_SYS_RESOURCE
and a kernel before 3.18; mem_dirty_track clears its soft-dirty bits: both have own_process)."""

import os
import resource

import pytest

from conftest import in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

STATUS_FIELDS = ('Uid', 'Gid', 'Groups', 'CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp',
                 'SigBlk', 'SigIgn', 'SigCgt')


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
            'umask': umask, 'limits': limits}


def _changes(probe_id):
    def body():
        before = _process()
        REG.BY_ID[probe_id].func(_context.ProbeContext())
        after = _process()
        return sorted(key for key in before if before[key] != after[key])
    return in_child(body)


@requires_root
@pytest.mark.parametrize('probe_id', [p.id for p in REG.PROBES if not p.own_process])
def test_a_probe_that_shares_its_worker_leaves_it_as_it_was(probe_id):
    assert _changes(probe_id) == []
