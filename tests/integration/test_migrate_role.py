# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The criu.check.migrate role for real on this machine: migrate_role/two_hosts.sh
makes two "hosts" inside the Debian 13 root (criu 4.1.1, its ansible-core) - the
destination a pid, mount and network namespace of its own, reached over a veth -
and runs migrate_role/play.yml there:

- stop-and-copy of a counter (this kernel has no soft-dirty tracking): it runs on
  the destination only, and the report's numbers agree with each other;
- a destination address nobody has, right after: the dump fails, the tree runs on,
  on the source, and the counter the migration before restored on the destination too;
- a tree whose root ends 2 s after the restore: the check after the settle time fails,
  and the rollback resumes the whole tree on the source and ends all of it on the
  destination;
- a pid that does not exist: the dump fails, and nothing is said to be resumed;
- a port taken on the destination, after those failures: the page server cannot start,
  nothing is said to be resumed and the tree runs on, on the source;
- a file in the work directory's path on the destination: refused, naming it, before
  anything starts;
- check mode from a block and from include_role's apply: the role decides, starts nothing;
- a tree holding a file lock, without criu_migrate_criu_options (the dump fails, naming the
  option; the tree runs on, on the source) and with file_locks (it moves);
- tcp_established where criu 4.1.1 cannot dump network sockets (Linux 6.16+): refused
  before the tree starts.

On every path nothing is left but what should run: no page server, no images, no work
directory the role created.
tests/vm/test_vm_migration.py runs the role between two VMs, pre-copy too.
"""

import json
import os
import re
import signal
import subprocess
import uuid

import pytest

import conftest
from process_list import processes

from ansible_collections.criu.check.plugins.module_utils import _installed_criu

CRIU_ROOT = conftest.CRIU_ROOT

pytestmark = conftest.requires_root


@pytest.fixture(scope='module')
def run():
    """Run play.yml once between the two hosts; return (results, {'src': ..., 'dst': ...}, report, said):
    the report is the play's rc and the end of its output, said the role's closing sentences."""
    conftest.criu_root_or_skip()
    token = 'mrl' + uuid.uuid4().hex[:12]
    try:
        proc = subprocess.run([CRIU_ROOT, 'run', '--', 'unshare', '-n', '--', 'bash',
                               '/src/tests/integration/migrate_role/two_hosts.sh', token],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=1200, check=False)
    finally:
        # Whatever leaked (both namespaces are seen from here) does not outlive the test.
        for line in processes(lambda cmd: token in cmd):
            try:
                os.kill(int(line.split()[0].rstrip(':')), signal.SIGKILL)
            except OSError:
                pass
    out = proc.stdout.decode('utf-8', 'replace')
    parts = {}
    for chunk in out.split('=== ')[1:]:
        head, dummy, body = chunk.partition('\n')
        parts[head.split()[0]] = (head, body.strip())
    assert 'result' in parts and parts['result'][1], out + proc.stderr.decode('utf-8', 'replace')[-3000:]
    hosts = {name: json.loads(parts[name][1]) for name in ('src', 'dst')}
    report = parts['rc'][0] + '\n' + parts['play'][1]
    return json.loads(parts['result'][1]), hosts, report, parts['said'][1].splitlines()


def _commands(host):
    return [cmd for dummy, state, cmd in host['processes'] if state != 'Z']


def test_stop_and_copy_moves_the_tree(run):
    results, hosts, play, said = run
    moved = results['moved']
    assert 'failed' not in moved, moved
    assert moved['mode'] == 'stop-and-copy' and moved['iterations'] == [] and moved['source_pid'] > 1
    assert moved['destination_pid'] == moved['source_pid'] and moved['images_dir'] is None
    counters = [cmd for cmd in _commands(hosts['dst']) if cmd.startswith('/bin/sh -c i=0;')]
    assert len(counters) == 1, hosts['dst']
    assert not [cmd for cmd in _commands(hosts['src']) if cmd.startswith('/bin/sh -c i=0;')], hosts['src']
    assert (moved['source'], moved['destination'], moved['stop_reason'], moved['pages_per_iteration']) == (
        'src', 'dst', None, []), moved
    assert moved['final_pages_written'] > 0 and 0 < moved['frozen_ms'] <= moved['dump_ms'], moved
    # the downtime runs from the freeze to the check: it spans the dump and the restore, not the start
    assert moved['dump_ms'] + moved['restore_ms'] <= moved['downtime_ms'] < moved['total_ms'], moved


def test_the_role_says_how_the_migration_went(run):
    # one sentence each for the two that moved (the counter, the lock with its option): the others fail or decide
    results, hosts, play, said = run
    sentence = ('Migrated process {source_pid} from src to dst (pid {destination_pid}) by stop-and-copy: 0 pre-copy '
                'iterations, {final_pages_written} pages in the final dump, frozen {frozen_ms} ms by criu, downtime '
                '{downtime_ms} ms, total {total_ms} ms.')
    assert said == [sentence.format(**results['moved']), sentence.format(**results['lock_with'])], (said, play)


def test_a_tree_holding_a_file_lock_moves_with_the_option_only(run):
    """Without criu_migrate_criu_options the dump fails with criu's words and the option to set, and the tree
    runs on, on the source; with file_locks it moves (the dump and the restore given --file-locks) and runs on the
    destination only."""
    results, hosts, play, said = run
    msg = results['lock_without'].get('failed', '')
    assert 'failed at "Dump the tree' in msg and 'You can try --file-locks to dump them.' in msg, msg
    assert ("file_locks: true in the migrate role's criu_migrate_criu_options" in msg and
            re.search(r'[.!?] The tree was resumed on src\.$', msg)), msg
    left = [state for dummy, state, cmd in hosts['src']['processes'] if 'lock0-' in cmd]
    assert len(left) == 1 and left[0] in ('S', 'R'), hosts['src']
    moved = results['lock_with']
    assert 'failed' not in moved and moved['mode'] == 'stop-and-copy', moved
    assert [cmd for cmd in _commands(hosts['dst']) if 'lock1-' in cmd] != [], hosts['dst']
    assert not [cmd for cmd in _commands(hosts['src']) if 'lock1-' in cmd], hosts['src']


def test_tcp_options_are_refused_before_anything_starts_where_criu_cannot_dump_sockets(run):
    """criu_migrate_criu_options.tcp_established says the tree holds network sockets.  On a kernel that refuses
    SO_PASSCRED on them (6.16 and newer, this host's 6.18), the root's criu 4.1.1 cannot dump them: the pair
    decision fails every mode with criu's reason and fix, and the tree never starts.  On an older kernel nothing
    stops the tree (which holds no socket) from moving."""
    results, hosts, play, said = run
    tcp = results['tcp']
    if not _installed_criu.inet_passcred_refused():
        assert 'failed' not in tcp and tcp['mode'] == 'stop-and-copy', tcp
        return
    msg = tcp.get('failed', '')
    assert msg.startswith('src cannot migrate to dst (auto -> stop-and-copy):'), msg
    assert ('- with criu_options.tcp_established the tree holds what criu on src cannot dump: criu 4.1.1 '
            '(/usr/sbin/criu) cannot dump a process with an IPv4, IPv6 or packet socket' in msg), msg
    assert 'fix: Install criu 4.2 or newer' in msg, msg
    for name in ('src', 'dst'):
        assert not [cmd for cmd in _commands(hosts[name]) if 'tcp-' in cmd], hosts[name]


def test_a_rollback_after_the_restore_ends_the_whole_tree_on_the_destination(run):
    """criu restored the root and its child; the root ended on the destination.  The
    rollback ended only the root's pid there, and the child ran on beside the tree
    resumed on the source.  The root ends 2 s after the restore: a check made without
    the settle time found it running and called the migration a success."""
    results, hosts, play, said = run
    msg = results['rollback'].get('failed', '')
    assert 'failed at "Check that the tree runs on the destination"' in msg, results['rollback']
    # criu's reason ends with a full stop before the sentence that follows it
    assert re.search(r'[.!?] The tree was resumed on src\.$', msg), msg
    assert not [cmd for cmd in _commands(hosts['dst']) if 'while :' in cmd and 'end-' in cmd], hosts['dst']
    resumed = [(pid, state) for pid, state, cmd in hosts['src']['processes'] if 'end-' in cmd]
    assert len(resumed) == 2 and all(state in ('S', 'R') for dummy, state in resumed), hosts['src']


def test_an_unreachable_destination_leaves_the_tree_running(run):
    results, hosts, play, said = run
    msg = results['unreachable'].get('failed', '')
    assert "Can't connect to server 10.77.0.9:27100" in msg, results['unreachable']
    assert 'failed at "Dump the tree' in msg
    left = [(state, cmd) for dummy, state, cmd in hosts['src']['processes'] if cmd.startswith('/bin/sh -c while')]
    assert len(left) == 1 and left[0][0] in ('S', 'R'), hosts['src']


def test_a_pid_that_does_not_exist_is_not_said_to_be_resumed(run):
    """The failure said "The tree was resumed on src." after "no process 4194000 to dump"."""
    results, hosts, play, said = run
    msg = results['no_such_pid'].get('failed', '')
    assert 'no process 4194000 to dump (it does not exist or has exited).' in msg, results['no_such_pid']
    assert 'resumed' not in msg, msg


def test_a_failure_before_the_freeze_resumes_nothing(run):
    """The page server cannot start: the rollback resumed this tree, never frozen, after
    a failed migration before it had left its record of a frozen tree, and said so."""
    results, hosts, play, said = run
    msg = results['port_taken'].get('failed', '')
    assert 'failed at "Start a page server on the destination' in msg and 'Address already in use' in msg, msg
    assert 'resumed' not in msg, msg
    left = [state for dummy, state, cmd in hosts['src']['processes'] if 'unfrozen-' in cmd]
    assert len(left) == 1 and left[0] in ('S', 'R'), hosts['src']


def test_a_file_in_the_work_directorys_path_is_named_before_anything_starts(run):
    """The stat of the path's chain failed on the destination ("Not a directory"), and
    the role stopped with the loop's "One or more items failed"."""
    results, hosts, play, said = run
    msg = results['notadir'].get('failed', '')
    assert 'criu_migrate_workdir /var/tmp/notadir/sub cannot hold the images' in msg, results['notadir']
    assert '/var/tmp/notadir/sub on dst: Not a directory' in msg and 'on src' not in msg, msg
    for name in ('src', 'dst'):
        assert not [cmd for cmd in _commands(hosts[name]) if 'notadir-' in cmd], hosts[name]
    assert 'notadir' in hosts['dst']['var_tmp'] and 'notadir' not in hosts['src']['var_tmp']


@pytest.mark.parametrize('case', ['check_block', 'check_apply'])
def test_check_mode_from_a_block_or_apply_only_decides(run, case):
    """check_mode on a block or in include_role's apply runs the role's tasks in check mode
    but leaves ansible_check_mode false: the role went on to "migrate" in check mode and
    failed, the workload it should not have started being said to be started."""
    results, hosts, play, said = run
    assert results[case] == {'mode': 'stop-and-copy', 'migrated': False}, results[case]
    for name in ('src', 'dst'):
        assert not [cmd for cmd in _commands(hosts[name]) if 'check-' in cmd], hosts[name]


def test_nothing_is_left(run):
    results, hosts, play, said = run
    assert play.startswith('rc 0'), play
    for name in ('src', 'dst'):
        # no page server, no criu; the images removed, and the work directories the role created
        # (the rollback's nested one with its two parents)
        assert not [cmd for cmd in _commands(hosts[name]) if 'criu' in cmd], hosts[name]
        assert [p for p in hosts[name]['var_tmp'] if p.startswith('criu-migrate')] == [], hosts[name]
    # the unreachable case's work directory: the role created it on src, it was there before on dst
    assert [p for p in hosts['src']['var_tmp'] if p.startswith('kept')] == [], hosts['src']
    assert [p for p in hosts['dst']['var_tmp'] if p.startswith('kept')] == ['kept'], hosts['dst']
