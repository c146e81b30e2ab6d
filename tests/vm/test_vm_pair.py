# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The VMs that stay up (tests/tools/vm.py pair() and inventory()), which the
migration tests drive with Ansible: ssh as root with the pair's key, a network
between the VMs, Ansible over the inventory, nothing left after the context.
One pair of VMs for the whole module (two TCG VMs on two cores)."""

import json
import os
import re
import shlex
import subprocess

import pytest

import _vm as V
from process_list import processes, until

vm = V.vm
ANSIBLE_BIN = os.path.expanduser('~/.cache/criu-check/venv/bin')
TMP = vm.TMP


def _ours(work):
    """The processes whose command line names the pair's directory (its
    qemus, and ssh with the pair's key or a control socket there)."""
    return processes(lambda cmd: work in cmd)


# One pair for the session, shared with test_vm_migration.py (tests/vm/_vm.py).
pair = V.vm_pair


def _ansible(pair, tool, *args, **kwargs):
    work = pair['work']
    path = vm.inventory(pair['hosts'], os.path.join(work, 'inventory.yml'), extra_vars={'pair_test': 'yes'})
    env = dict(os.environ, ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1',
               # the control sockets and the temporary files go with the pair
               ANSIBLE_SSH_CONTROL_PATH_DIR=os.path.join(work, 'cp'), ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'))
    if kwargs.get('tree'):
        # each host's result as JSON in a file of that directory
        env.update(ANSIBLE_LOAD_CALLBACK_PLUGINS='1', ANSIBLE_CALLBACKS_ENABLED='ansible.builtin.tree',
                   ANSIBLE_CALLBACK_TREE_DIR=kwargs['tree'])
    proc = subprocess.run([os.path.join(ANSIBLE_BIN, tool), '-i', path] + list(args), cwd=V.REPO, env=env,
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=600, check=False)
    return proc


def test_ssh_runs_as_root_on_every_vm(pair):
    for host in pair['hosts']:
        print('[vm pair] %s: kernel %s, ssh answered %s s after qemu started' % (host['name'], host['kernel'], host['ssh_s']))
        res = vm.ssh(host, 'id -u; cat /proc/sys/kernel/hostname; uname -r; test -f /src/tests/tools/vm.py && echo src')
        assert res.returncode == 0, (host, res.stderr)
        assert res.stdout.split() == ['0', host['name'], host['kernel'], 'src'], res.stdout
        assert 0 < host['ssh_s'] < 600


def test_password_login_is_refused(pair):
    host = pair['hosts'][0]
    res = subprocess.run(['ssh'] + vm.SSH_OPTIONS + ['-o', 'PubkeyAuthentication=no', '-o', 'ConnectTimeout=30',
                                                     '-p', str(host['ssh_port']), 'root@127.0.0.1', 'true'],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True, timeout=120, check=False)
    assert res.returncode == 255 and 'Permission denied (publickey)' in res.stdout, res.stdout


SERVER = r'''
cat >/tmp/server.py <<'EOF'
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('{address}', 7777))
s.listen(1)
open('/tmp/listening', 'w').close()
s.settimeout(300)
c, peer = s.accept()
c.sendall(('%s saw %s' % (open('/proc/sys/kernel/hostname').read().strip(), peer[0])).encode())
c.close()
EOF
setsid python3 /tmp/server.py >/tmp/server.log 2>&1 </dev/null &
for i in $(seq 300); do [ -e /tmp/listening ] && exit 0; sleep 0.1; done
cat /tmp/server.log; exit 1
'''

CLIENT = r'''
import socket
c = socket.create_connection(('{address}', 7777), timeout=60)
print(c.recv(100).decode())
'''


def test_the_vms_reach_each_other_over_their_network(pair):
    """A TCP connection from vm1 to vm2's address on the network between
    them: vm2 sees vm1's address there (not the user-mode network's)."""
    vm1, vm2 = pair['hosts']
    res = vm.ssh(vm2, SERVER.replace('{address}', vm2['address']))
    assert res.returncode == 0, (res.stdout, res.stderr)
    res = vm.ssh(vm1, 'python3 -c %s' % shlex.quote(CLIENT.replace('{address}', vm2['address'])))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == 'vm2 saw %s' % vm1['address'], res.stdout
    # and by name (/etc/hosts of every VM)
    res = vm.ssh(vm1, 'getent hosts vm2')
    assert res.stdout.split() == [vm2['address'], 'vm2'], (res.stdout, res.stderr)


def test_ansible_ping_answers_pong_from_both(pair):
    tree = os.path.join(pair['work'], 'tree')
    proc = _ansible(pair, 'ansible', 'all', '-m', 'ansible.builtin.ping', tree=tree)
    assert proc.returncode == 0, proc.stdout
    answers = {}
    for name in sorted(os.listdir(tree)):
        with open(os.path.join(tree, name)) as f:
            answers[name] = json.load(f).get('ping')
    assert answers == {'vm1': 'pong', 'vm2': 'pong'}, proc.stdout


ZIP_CODE = 'ls /var/cache/vm-zipimport-code'  # tests/tools/vm_zipimport_cache.py CACHE


def test_ansible_modules_are_compiled_once_a_boot(pair):
    """The image's vm_zipimport_cache.py: the ping above left the code of
    what it compiled from its zip; another ping finds all of it there and
    compiles (adds) nothing."""
    host = pair['hosts'][0]
    before = vm.ssh(host, ZIP_CODE)
    assert before.returncode == 0 and len(before.stdout.split()) > 10, (before.stdout, before.stderr)
    proc = _ansible(pair, 'ansible', host['name'], '-m', 'ansible.builtin.ping')
    assert proc.returncode == 0 and 'pong' in proc.stdout, proc.stdout
    after = vm.ssh(host, ZIP_CODE)
    assert after.stdout.split() == before.stdout.split(), (before.stdout, after.stdout)


PLAYBOOK = '''
- hosts: vm1
  gather_facts: false
  tasks:
    - name: the destination's tasks are delegated (as the migration role does)
      ansible.builtin.command: cat /proc/sys/kernel/hostname
      delegate_to: vm2
      register: there
      changed_when: false
    - ansible.builtin.assert:
        that:
          - there.stdout == 'vm2'
          - hostvars['vm2'].criu_migrate_address == '10.77.0.2'
          - criu_migrate_address == '10.77.0.1'
          - pair_test == 'yes'
'''


def test_ansible_playbook_with_delegation(pair):
    path = os.path.join(pair['work'], 'play.yml')
    with open(path, 'w') as f:
        f.write(PLAYBOOK)
    proc = _ansible(pair, 'ansible-playbook', path)
    assert proc.returncode == 0, proc.stdout
    assert re.search(r'(?m)^vm1 +: ok=2 +changed=0 +unreachable=0 +failed=0', proc.stdout), proc.stdout


def test_a_vm_whose_qemu_died_says_how_and_shows_its_console(pair):
    """(Next to last: it kills vm2's qemu; the last test stops the pair.)
    gone() is None while a qemu runs, then names the VM, how its qemu ended
    and the console's end: what a migration test prints when a VM dies
    under it, where ssh would only say that the connection was refused."""
    vm1, vm2 = pair['hosts']
    assert vm.gone(vm1) is None and vm.gone(vm2) is None
    vm2['qemu'].kill()
    vm2['qemu'].wait(timeout=30)
    assert vm.gone(vm1) is None
    why = vm.gone(vm2)
    assert re.match(r'vm2: qemu exited \(killed by SIGKILL\) while the pair was up: .*\nconsole:\n', why), why
    # the console's end: what the guest printed last
    shown = why.split('\nconsole:\n', 1)[1]
    with open(vm2['console'], 'rb') as f:
        assert shown.strip() and f.read().decode('utf-8', 'replace').endswith(shown), why
    assert vm.ssh(vm2, 'true', timeout=60).returncode == 255


def test_nothing_left_after_the_context(pair):
    """(Last: it stops the pair.)"""
    work = pair['work']
    assert _ours(work), 'no qemu of the pair found while it runs: the check below would prove nothing'
    pair['close']()
    until(lambda: not _ours(work), 20)
    assert _ours(work) == []
    assert not os.path.exists(work)
    assert set(os.listdir(TMP)) == pair['before']


def test_ssh_that_never_answers_is_an_error_with_the_console():
    """A boot that cannot reach ssh in time: VMError naming the VM and
    showing its console; qemu killed and its files removed all the same."""
    directory = V._pair_usable()
    before = set(os.listdir(TMP))
    with pytest.raises(vm.VMError, match=r'(?s)vm1: ssh \(127\.0\.0\.1:\d+\) did not answer within 3 s .*console:') as exc:
        with vm.pair('6.12', 1, timeout=3, directory=directory):
            pytest.fail('pair() yielded without ssh')
    print('[vm pair] %s' % str(exc.value)[:300])
    assert set(os.listdir(TMP)) == before
    # the qemus of pairs that are not there any more
    assert [p for p in _ours(os.path.join(TMP, 'pair.')) if not any(os.path.join(TMP, b) in p for b in before)] == []


def test_bad_arguments_are_clear_errors():
    directory = V._pair_usable()
    with pytest.raises(vm.VMError, match=r"unknown kernel '4\.19': one of 5\.10 \("):
        with vm.pair('4.19', directory=directory):
            pass
    with pytest.raises(vm.VMError, match=r"1 kernels given for 2 VMs"):
        with vm.pair(['6.12'], 2, directory=directory):
            pass
    with pytest.raises(vm.VMError, match='count must be 1 or more'):
        with vm.pair('6.12', 0, directory=directory):
            pass
