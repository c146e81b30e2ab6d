# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The capability table (module_utils/_caps.py) against libcap's own names
(``capsh --decode``) and the running kernel's last capability."""

import shutil
import subprocess

import pytest

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _context


def test_every_capability_has_libcaps_name():
    if not shutil.which('capsh'):
        pytest.skip('capsh (libcap2-bin) is not installed')
    for number, name in sorted(_caps.NAMES.items()):
        out = subprocess.run(['capsh', '--decode=0x%x' % (1 << number)], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out.split('=', 1)[1] == 'cap_' + name, (number, out)


def test_the_named_constants_are_libcaps():
    """The constants the decisions test (CAP_SYS_PTRACE: Yama's ptrace_scope 2; CAP_SYS_ADMIN and
    CAP_CHECKPOINT_RESTORE: whether criu starts) are the capabilities they are named for."""
    if not shutil.which('capsh'):
        pytest.skip('capsh (libcap2-bin) is not installed')
    constants = dict((name, value) for name, value in vars(_caps).items() if name.startswith('CAP_'))
    assert sorted(constants) == ['CAP_CHECKPOINT_RESTORE', 'CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']
    for name, number in sorted(constants.items()):
        out = subprocess.run(['capsh', '--decode=0x%x' % (1 << number)], capture_output=True, text=True,
                             check=True).stdout.strip()
        assert out.split('=', 1)[1] == name.lower(), (name, out)


def test_the_table_covers_the_running_kernel():
    last = _context.read_int('/proc/sys/kernel/cap_last_cap')
    assert last is not None and max(_caps.NAMES) >= last, last
    assert _caps.names((1 << (last + 1)) - 1) == sorted(_caps.NAMES[n] for n in range(last + 1))


def test_mask_bits_and_unknown_numbers():
    mask = 1 << _caps.CAP_SYS_ADMIN | 1 << _caps.CAP_NET_ADMIN | 1 << 63
    assert _caps.has(mask, _caps.CAP_SYS_ADMIN) and not _caps.has(mask, _caps.CAP_CHECKPOINT_RESTORE)
    assert _caps.names(mask) == ['63', 'net_admin', 'sys_admin']
    assert _caps.NUMBERS['checkpoint_restore'] == _caps.CAP_CHECKPOINT_RESTORE == 40
