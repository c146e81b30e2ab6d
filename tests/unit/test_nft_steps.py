# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""network_lock_nftables: criu's three nft commands, as one transaction
first and one by one when it fails (the kernel's answers are faked here; the
real ones are in tests/system/test_probes_netlink.py and the VM variants)."""

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _probes_netlink as N

BATCH = '; '.join(N.NFT_CMDS)


def runner(failing):
    """A run(cmd) that fails the commands in ``failing``; records every call."""
    calls = []

    def run(cmd):
        calls.append(cmd)
        return (1, 'Error: %s' % cmd) if cmd in failing else (0, '')
    return run, calls


def test_one_transaction_when_it_passes():
    run, calls = runner(())
    assert N._nft_concat_steps(run) == {'has': True, 'failed': None, 'error': None, 'transaction': True}
    assert calls == [BATCH]


def test_no_table_stops_after_criu_first_step():
    run, calls = runner((BATCH, N.NFT_CMDS[0]))
    res = N._nft_concat_steps(run)
    assert calls == [BATCH, N.NFT_CMDS[0]]
    assert res == {'has': False, 'failed': N.NFT_CMDS[0], 'error': 'Error: %s' % N.NFT_CMDS[0],
                   'log': ["Can't create nftables table"]}


def test_no_concatenation_runs_criu_three_steps():
    run, calls = runner((BATCH, N.NFT_CMDS[1]))
    res = N._nft_concat_steps(run)
    assert calls == [BATCH] + list(N.NFT_CMDS)
    assert res == {'has': False, 'failed': N.NFT_CMDS[1], 'error': 'Error: %s' % N.NFT_CMDS[1]}


def test_a_failed_transaction_whose_steps_pass_is_supported():
    run, calls = runner((BATCH,))
    assert N._nft_concat_steps(run) == {'has': True, 'failed': None, 'error': None}
    assert calls == [BATCH] + list(N.NFT_CMDS)
