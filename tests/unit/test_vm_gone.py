# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/tools/vm.py gone(): how a VM's qemu ended, for the failure of a test
whose VM died under it.  Real processes stand for qemu (a shell ended by
each kind of end), with a console and a qemu.err beside them as pair()
keeps them; the real qemu's case is tests/vm/test_vm_pair.py's."""

import signal
import subprocess

import pytest

import vm


def _ended(command):
    proc = subprocess.Popen(['sh', '-c', command])
    proc.wait()
    return proc


@pytest.mark.parametrize('command, status', [
    ('kill -KILL $$', 'killed by SIGKILL'),             # the host's OOM killer, or a person
    ('kill -%d $$' % (signal.SIGRTMIN + 6), 'killed by signal %d' % (signal.SIGRTMIN + 6)),   # no name of its own
    ('exit 0', 'status 0'),                            # a guest's panic (panic=-1, -no-reboot)
    ('exit 1', 'status 1'),
])
def test_says_how_qemu_ended_with_its_stderr_and_the_console_s_end(tmp_path, command, status):
    (tmp_path / 'console.log').write_bytes(b'boot\r\n' + b'x' * 4000 + b'\r\nKernel panic - not syncing\r\n')
    (tmp_path / 'qemu.err').write_text('qemu-system-x86_64: terminating on signal 15\n')
    host = {'name': 'vm2', 'console': str(tmp_path / 'console.log'), 'qemu': _ended(command)}
    why = vm.gone(host)
    head, console = why.split('\nconsole:\n')
    assert head == 'vm2: qemu exited (%s) while the pair was up: qemu-system-x86_64: terminating on signal 15' % status
    assert console.endswith('Kernel panic - not syncing\r\n') and 'boot' not in console, console


def test_is_none_while_qemu_runs_and_says_when_its_stderr_is_empty(tmp_path):
    proc = subprocess.Popen(['sleep', '30'])
    host = {'name': 'vm1', 'console': str(tmp_path / 'console.log'), 'qemu': proc}
    try:
        assert vm.gone(host) is None
    finally:
        proc.kill()
        proc.wait()
    assert vm.gone(host) == ('vm1: qemu exited (killed by SIGKILL) while the pair was up: nothing on its stderr'
                             '\nconsole:\n')
