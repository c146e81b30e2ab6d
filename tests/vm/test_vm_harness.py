# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness itself (tests/tools/vm.py): output and exit code come back
from the result disk, the checkout is read-only, the disk fallback for
kernels without 9p works, a timeout kills qemu and leaves nothing behind."""

import os

import pytest

import _vm as V

vms = V.vms

SCRIPT = '''
echo "out: $(uname -r)"
echo "err: $(id -u)" >&2
if touch /src/.vm-write-test 2>/dev/null; then echo "src writable"; else echo "src read-only"; fi
test -f /src/tests/tools/vm.py && echo "checkout there"
cat /job/extra.txt
exit 7
'''


def test_run_returns_output_and_exit_code_over_the_disk_share(vms, monkeypatch):
    """One boot with the checkout on a read-only ext4 image (the fallback of
    a kernel without 9p); the main boots used 9p (test below)."""
    monkeypatch.setenv('CRIU_CHECK_VM_SHARE', 'disk')
    res = V.vm.run('6.12', SCRIPT, timeout=300, files={'extra.txt': 'extra file\n'}, directory=vms.directory)
    assert res['error'] is None, res
    assert res['rc'] == 7, res
    assert res['share'] == 'disk', res
    assert res['stdout'].splitlines() == ['out: %s' % res['kernel'], 'src read-only', 'checkout there', 'extra file'], res
    assert res['stderr'].strip() == 'err: 0', res
    assert res['boot_s'] and res['run_s'] is not None and res['wall_s'] >= res['boot_s'], res


def test_the_main_boots_shared_the_checkout_by_9p(vms):
    for boot in V.boots():
        res = vms.boot(boot)
        assert res.get('share') == '9p', (boot, res.get('share'), res.get('error'))


def test_timeout_kills_qemu_and_removes_everything(vms):
    before = set(os.listdir(V.vm.TMP))
    res = V.vm.run('7.2', 'sleep 600', timeout=5, directory=vms.directory)
    assert res['rc'] is None and res['error'] and 'timeout' in res['error'], res
    assert set(os.listdir(V.vm.TMP)) == before


def test_unknown_kernel_is_a_clear_error(vms):
    with pytest.raises(V.vm.VMError, match=r"unknown kernel '4\.19': one of 5\.10 \("):
        V.vm.run('4.19', 'true', directory=vms.directory)
