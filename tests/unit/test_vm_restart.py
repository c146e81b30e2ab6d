# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""tests/tools/vm.py _restart(): a VM's qemu that exited before ssh answered
boots again forwarding a port picked afresh, so that a port another process
bound between _free_port() and qemu's own bind does not fail the pair.  A
real process stands for qemu: like qemu's user network at start, it binds the
port of its hostfwd option and exits 1 when it cannot; the port is really
held by the test."""

import socket
import sys

import process_list
import vm

# What qemu does with -netdev user,hostfwd=tcp:127.0.0.1:PORT-:22 at start.
QEMU_STAND_IN = r'''
import re, socket, sys, time
option = [a for a in sys.argv if 'hostfwd=' in a][0]
port = int(re.search(r'hostfwd=tcp:127\.0\.0\.1:(\d+)-:22', option).group(1))
sock = socket.socket()
try:
    sock.bind(('127.0.0.1', port))
except OSError:
    sys.stderr.write("qemu-system-x86_64: -netdev %s: Could not set up host forwarding rule\n" % option)
    sys.exit(1)
sock.listen(1)
time.sleep(60)
'''


def _connects(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


def _answers(port, within=30):
    return process_list.until(lambda: _connects(port), within)


def test_a_qemu_whose_ssh_port_was_taken_starts_again_on_another(tmp_path):
    taken = socket.socket()
    taken.bind(('127.0.0.1', 0))
    port = taken.getsockname()[1]
    host = {'name': 'vm1', 'ssh_port': port, 'console': str(tmp_path / 'console.log'),
            '_argv': [sys.executable, '-c', QEMU_STAND_IN, '-netdev', 'user,id=ctl,' + vm._hostfwd(port),
                      '-device', 'virtio-net-pci,netdev=ctl']}
    second = None
    try:
        first = vm._start(host)
        assert first.wait(timeout=30) == 1
        assert 'Could not set up host forwarding rule' in (tmp_path / 'qemu.err').read_text()
        second = vm._restart(host)
        assert host['ssh_port'] != port
        assert host['_argv'][-3:] == ['user,id=ctl,' + vm._hostfwd(host['ssh_port']), '-device',
                                      'virtio-net-pci,netdev=ctl']
        assert _answers(host['ssh_port']), (tmp_path / 'qemu.err').read_text()
        assert second.poll() is None
    finally:
        taken.close()
        if second is not None:
            second.kill()
            second.wait()
