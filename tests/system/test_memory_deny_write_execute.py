# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A process whose memory may not turn executable once it was writable
(prctl PR_SET_MDWE, kernel 6.3+, kept across fork and execve; what systemd's
MemoryDenyWriteExecute= sets where the kernel has it).

criu's checks run compiled code and are unaffected: criu 4.1.1 says
"compat_cr is supported" there.  compat_cr's probe runs 32-bit system calls
from a few bytes of machine code, which it must map executable without ever
writing to an anonymous page made executable afterwards (the kernel refuses
that mprotect()): it maps them from a memfd.  It said unknown ("executable
memory refused") before.  Real criu in the Debian 13 root is the oracle.
"""

import ctypes
import mmap

import pytest

from conftest import criu_and_facts_in_root, in_child, requires_root

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _registry

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
# Runs CMD with PR_SET_MDWE set (shell words, for criu_and_facts_in_root()).
UNDER_MDWE = ("python3 -c 'import ctypes, os, sys; ctypes.CDLL(None).prctl(65, 1, 0, 0, 0) == 0 or "
              "sys.exit(\"PR_SET_MDWE refused\"); os.execvp(sys.argv[1], sys.argv[1:])'")


def set_mdwe():
    if LIBC.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), 'prctl(PR_SET_MDWE)')


def _anonymous_page_made_executable():
    """Whether an anonymous page, written, may be made read+exec here (None: no page)."""
    mem = mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mem))
    try:
        return LIBC.mprotect(ctypes.c_void_p(addr), mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) == 0
    finally:
        LIBC.mprotect(ctypes.c_void_p(addr), mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_WRITE)


@pytest.fixture(scope='module')
def mdwe_kernel():
    try:
        in_child(lambda: None, set_mdwe)
    except RuntimeError as exc:
        pytest.skip('this kernel has no PR_SET_MDWE (6.3+): %s' % exc)


def test_the_context_refuses_what_the_probe_did_before(mdwe_kernel):
    assert in_child(_anonymous_page_made_executable) is True
    assert in_child(_anonymous_page_made_executable, set_mdwe) is False


def test_compat_cr_agrees_with_real_criu(mdwe_kernel):
    criu_says, facts = criu_and_facts_in_root(run_in=UNDER_MDWE, check='check --feature compat_cr')
    assert 'PR_SET_MDWE refused' not in criu_says, criu_says
    criu_status = 'supported' if 'compat_cr is supported' in criu_says else 'unsupported'
    probe = facts['probes']['compat_cr']
    assert probe['status'] == criu_status, (criu_says, probe)
    assert 'machine_code_refused' not in probe['evidence'], probe


def test_the_probes_that_run_machine_code_run_it(mdwe_kernel):
    """special_mapping_mremap has a ctypes way besides (the machine code one is criu's: no libc call
    between its mremap()s); both must run their machine code here."""
    def body():
        ctx = _context.ProbeContext()
        return dict((probe_id, _registry.BY_ID[probe_id].func(ctx))
                    for probe_id in ('compat_cr', 'special_mapping_mremap'))
    got = in_child(body, set_mdwe)
    for probe_id, result in got.items():
        assert 'machine_code_refused' not in result['evidence'], (probe_id, result)
        assert result['status'] in ('supported', 'unsupported'), (probe_id, result)
