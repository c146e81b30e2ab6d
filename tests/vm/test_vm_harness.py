# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The harness itself (tests/tools/vm.py): output and exit code come back
from the result disk, the checkout is read-only, the disk fallback for
kernels without 9p works, a timeout kills qemu and leaves nothing behind,
and what a killed run left behind is removed by the next one."""

import os
import re
import signal
import subprocess
import sys

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


def test_what_a_killed_run_left_is_removed_and_nothing_else(tmp_path, monkeypatch):
    """A process that made a work directory is killed with SIGKILL: the next
    remove_abandoned() removes that directory, and keeps a live owner's, one
    without an OWNER file, and one whose owner's pid is alive but was reused
    (same pid, another start time: removed)."""
    monkeypatch.setattr(V.vm, 'TMP', str(tmp_path))
    monkeypatch.setattr(V.vm, 'REMOVED', [])   # not the session's summary
    alive = V.vm.work_dir('pair')   # this process's
    child = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time; sys.path.insert(0, sys.argv[1]); import vm; '
         'print(vm.work_dir("run"), flush=True); time.sleep(600)', os.path.dirname(V.vm.__file__)],
        env=dict(os.environ, CRIU_CHECK_VM_TMP=str(tmp_path)), stdout=subprocess.PIPE)
    try:
        killed = child.stdout.readline().decode().strip()
        assert os.path.dirname(killed) == str(tmp_path), killed
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
    unowned = tmp_path / 'early.unowned'
    unowned.mkdir()
    reused = tmp_path / 'run.reused'
    reused.mkdir()
    (reused / V.vm.OWNER).write_text('%d 1\n' % os.getpid())
    assert os.path.isdir(killed)
    assert sorted(V.vm.remove_abandoned()) == sorted([os.path.basename(killed), 'run.reused'])
    assert sorted(V.vm.REMOVED) == sorted([os.path.basename(killed), 'run.reused'])
    assert sorted(os.listdir(str(tmp_path))) == sorted([os.path.basename(alive), 'early.unowned'])


def test_the_vms_python_uses_the_bytecode_the_image_has():
    """vm_build.sh compiles the VM's Python libraries into VM_PYCACHE; inside_vm.py runs Python
    with PYTHONPYCACHEPREFIX=PYCACHE.  Two copies of one path (one is shell), kept equal here."""
    import inside_vm
    with open(os.path.join(os.path.dirname(V.vm.__file__), 'vm_build.sh')) as f:
        built = re.search(r'^VM_PYCACHE=(\S+)$', f.read(), re.M)
    assert built and built.group(1) == inside_vm.PYCACHE
