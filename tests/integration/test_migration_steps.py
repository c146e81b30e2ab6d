# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The migration step modules (criu_process, criu_page_server, criu_dump,
criu_images, criu_restore) for real, through Ansible: the root's
ansible-core runs migration_steps/steps.yml inside the Debian 13 root with
its criu 4.1.1, on this host:

- a local migration: a shell counter started detached, a page server on
  127.0.0.1 into DST/1, a final dump of the tree (left stopped) to it, the
  rest of the images packed and unpacked into DST/1, the stopped source tree
  killed, a restore from DST/1, and the counter going on from where it was;
- the rollback: a dump left stopped, then SIGCONT, and the counter goes on;
- a pre-dump, which this kernel cannot do (no soft-dirty tracking): criu's
  failure is the result, and the workload survives it;
- a page server on a parent iteration, stopped while it waits, and a
  process that is none left alone;
- check mode, and bad input failing with clear messages;
- nothing left: no process, file, mount or kdat cache.

steps_inside.py runs the modules without Ansible (as Ansible runs them) in
the cases the play does not cover: a migration with relative images
directories, page servers started through a criu_path, a dump to a page
server nobody listens for, and what mutating the modules showed no test held
(--track-mem and a parent given to criu, pid files an earlier attempt left,
check mode of a page server's stop, of a restore and of criu_process,
criu_process's list command, output, cwd and zombie, more bad input).
"""

import base64
import json
import os
import signal
import subprocess
import textwrap
import uuid

import pytest

import conftest
import return_doc
from process_list import processes

from ansible_collections.criu.check.plugins.module_utils import _installed_criu, _phaul

REPO = conftest.REPO
CRIU_ROOT = conftest.CRIU_ROOT

pytestmark = conftest.requires_root

# The "Bad input N" tasks of steps.yml, in order: what each message must say.
BAD_INPUT = [
    'pid 1 cannot be a workload',
    'no process 4194304',
    'timeout must be a positive number',
    'parent must be the previous images directory',
    'history must list',
    'growth_pages must be a positive integer',
    'page_server.port must be a TCP port',
    'criu is not installed',
    'images_dir',
    'pid',
    'port must be a TCP port',
    'state',
    'is not a directory',
    'timeout must be a positive number',
    'content',
    'content is not base64',
    'not a tar.gz archive',
    'is not a directory',
    'command',
    'command must be a string',
    'cwd',
    'the command exited at once with code 3',
    'process 4194304 does not exist',
    'pid 1 cannot be a workload',
    'pids',
    'is this module or one of the processes it runs under',     # Ansible's worker, the lookup's parent
]


def _marked(token):
    """Processes on this host whose command line holds ``token``."""
    return processes(lambda cmd: token in cmd)


@pytest.fixture(scope='module')
def steps():
    """Run steps.yml once in the root; return (results, report of leftovers)."""
    conftest.criu_root_or_skip()
    token = 'mst' + uuid.uuid4().hex[:12]
    script = textwrap.dedent('''
        d=$(mktemp -d)
        mkdir -p "$d/c/ansible_collections/criu" "$d/home"
        ln -s /src "$d/c/ansible_collections/criu/check"
        export ANSIBLE_COLLECTIONS_PATH="$d/c" ANSIBLE_HOME="$d/home" ANSIBLE_LOCAL_TEMP="$d/home/tmp" \\
               ANSIBLE_REMOTE_TEMP="$d/home/tmp" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_INVENTORY_UNPARSED_WARNING=0 \\
               ANSIBLE_NOCOLOR=1
        cut -d' ' -f5- /proc/self/mountinfo | sort > "$d/mounts.before"
        timeout 900 ansible-playbook -i localhost, -c local -e ansible_python_interpreter=/usr/bin/python3 \\
            -e token=TOKEN /src/tests/integration/migration_steps/steps.yml > "$d/play.log" 2>&1
        echo "=== rc $?"
        echo '=== result'
        cat /tmp/steps-TOKEN.json 2>/dev/null
        rm -f /tmp/steps-TOKEN.json
        echo
        echo '=== mounts'
        cut -d' ' -f5- /proc/self/mountinfo | sort | diff "$d/mounts.before" - | grep '^[<>]'
        echo '=== play'
        tail -c 6000 "$d/play.log"
        rm -rf "$d"
        echo '=== tmp'
        ls -A /tmp
        echo '=== run'
        ls -A /run
    ''').replace('TOKEN', token)
    try:
        proc = subprocess.run([CRIU_ROOT, 'run', '--', 'bash', '-c', script], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=1200, check=False)
        out = proc.stdout.decode('utf-8', 'replace')
        parts = {}
        for chunk in out.split('=== ')[1:]:
            head, dummy, body = chunk.partition('\n')
            parts[head.split()[0]] = (head, body.strip())
        left = _marked(token)
    finally:
        # Whatever leaked is reported: do not let it outlive the test.
        for line in _marked(token):
            try:
                os.kill(int(line.split()[0]), signal.SIGKILL)
            except OSError:
                pass
    assert 'result' in parts and parts['result'][1], out + proc.stderr.decode('utf-8', 'replace')
    results = json.loads(parts['result'][1])
    report = {'rc': parts['rc'][0], 'play': parts['play'][1], 'mounts': parts['mounts'][1].splitlines(),
              'tmp': parts['tmp'][1].split(), 'run': parts['run'][1].split(), 'processes': left}
    return results, report


def _numbers(slurped):
    return [int(x) for x in base64.b64decode(slurped['content']).decode().split()]


def _consecutive(numbers):
    return numbers == list(range(1, len(numbers) + 1))


def test_the_play_ran_every_step(steps):
    results, report = steps
    assert report['rc'] == 'rc 0', report['play']


def test_local_migration_through_a_page_server(steps):
    r, dummy = steps
    assert r['workload']['changed'] is True and r['workload']['pid'] > 1
    assert r['ps']['port'] > 0 and r['ps']['pid'] > 1 and '--port' not in r['ps']['cmd']   # criu chose the port
    dump = r['dump']
    assert dump['changed'] is True and dump['rc'] == 0 and dump['log'] == []
    assert dump['cmd'][1] == 'dump' and '--leave-stopped' in dump['cmd'] and '--page-server' in dump['cmd']
    assert dump['cmd'][dump['cmd'].index('--port') + 1] == str(r['ps']['port'])
    # The tree criu dumped, one core image per process: sh and its sleep, or sh alone when criu froze it
    # between two sleeps (1 look at /proc in 1000 to 5000 here, loaded).
    files = r['packed_files']['files']
    cores = sorted(int(f[len('core-'):-len('.img')]) for f in files if f.startswith('core-') and f.endswith('.img'))
    assert dump['tree'][0] == r['workload']['pid'] and sorted(dump['tree']) == cores, (dump['tree'], files)
    assert 'stop' not in dump and 'stop_reason' not in dump                       # not a pre-dump
    assert dump['duration_ms'] > 0 and dump['started_at'] < dump['ended_at']
    # The stats are criu's: what the module returns is what the image holds.
    stats = dump['stats']
    image = _phaul.parse_stats(base64.b64decode(r['stats_file']['content']))
    assert stats == image['dump'] and image['restore'] is None
    assert 0 < stats['pages_written'] <= stats['pages_scanned']
    assert 0 < stats['frozen_time_us'] <= dump['duration_ms'] * 1000
    assert stats['pages_skipped_parent'] == 0                                     # no parent images
    # Left stopped, counting no more.
    assert r['stopped_src']['process_state'] == 't'.upper()
    assert sorted(r['stopped_src']['tree']) == sorted(dump['tree'])
    before = _numbers(r['at_dump'])
    assert _consecutive(before) and len(before) >= 4
    # The images: what the page server did not get, the parent link absent.
    assert 'inventory.img' in files and 'pstree.img' in files and 'stats-dump' in files
    assert not [f for f in files if f.startswith('pages-') or f.startswith('pagemap-')], files
    assert r['unpacked']['changed'] is True and r['unpacked']['files'] == files
    # The page server exited when its client disconnected.
    assert r['ps_stop']['changed'] is False and r['ps_stop']['stopped'] is False
    assert 'not running' in r['ps_stop']['msg']
    assert r['killed_src']['killed'] == dump['tree'] and r['killed_src']['zombies'] == []
    restored = r['restored']
    assert restored['rc'] == 0 and restored['pid'] == r['workload']['pid'] and restored['duration_ms'] > 0
    assert set(restored['stats']) == set(_phaul.RESTORE_STATS_FIELDS.values())   # criu's stats-restore
    assert restored['stats']['restore_time_us'] > 0
    # running: not stopped, not exited (D: a fresh restore may still be faulting its pages in)
    assert r['running_dst']['process_state'] in ('S', 'R', 'D')
    # The counter goes on from where it was dumped, not from 1.
    after = _numbers(r['after_restore'])
    assert _consecutive(after) and len(after) > len(before), (before[-3:], after[-3:])
    assert r['killed_dst']['killed'] and r['killed_dst']['zombies'] == []


def test_rollback_resumes_the_stopped_tree(steps):
    r, dummy = steps
    assert r['rb_dump']['rc'] == 0 and '--page-server' not in r['rb_dump']['cmd']
    at_dump, still = _numbers(r['rb_at_dump']), _numbers(r['rb_still'])
    assert still == at_dump, 'the tree counted while stopped'
    assert sorted(r['rb_resumed']['resumed']) == sorted(r['rb_dump']['tree']) and r['rb_resumed']['changed']
    assert r['rb_state']['process_state'] in ('S', 'R', 'D')
    after = _numbers(r['rb_after'])
    assert _consecutive(after) and len(after) > len(at_dump)
    assert r['rb_killed']['killed']


def test_pre_dump_without_soft_dirty_fails_with_crius_reason(steps):
    r, dummy = steps
    pd = r['pd_dump']
    assert pd['failed'] is True and pd['changed'] is True
    assert pd['cmd'][1] == 'pre-dump' and '--leave-stopped' not in pd['cmd']
    assert pd['msg'].startswith('criu pre-dump failed (')
    # criu 4.1.1 on a kernel without CONFIG_MEM_SOFT_DIRTY: BUG_ON(!kdat.has_dirty_track) in criu/mem.c aborts it.
    assert 'killed by signal 6): BUG at criu/mem.c:' in pd['msg'] and pd['rc'] == -6, pd['msg']
    assert 'Dirty tracking support is OFF' in pd['msg'] and 'stop-and-copy' in pd['msg']
    assert pd['rc'] != 0 and pd['log'], pd
    assert 'stats' not in pd and 'stop' not in pd
    # The reason quoted is one of criu's error lines, not its RLIMIT warning.
    reason = pd['msg'].split('): ', 1)[1].split('; ')[0]
    assert not reason.startswith("rlimit: Can't setup"), pd['msg']
    assert any(reason in line for line in pd['log']), (pd['msg'], pd['log'])
    # The workload outlived criu's failure and counts on.
    assert r['pd_state'].get('failed') is not True, r['pd_state']
    assert len(_numbers(r['pd_after'])) > len(_numbers(r['pd_before']))


def test_page_server_on_a_parent_and_its_stop(steps):
    r, dummy = steps
    assert r['ps2']['pid'] > 1 and r['ps2']['port'] > 0
    assert r['ps2_link']['stat']['islnk'] is True and r['ps2_link']['stat']['lnk_target'] == '../1'
    assert r['ps2_not_ps']['changed'] is False and 'is not a criu page server' in r['ps2_not_ps']['msg']
    assert r['ps2_stop']['changed'] is True and r['ps2_stop']['stopped'] is True
    assert r['ps2_stop_again']['changed'] is False and r['ps2_stop_again']['stopped'] is False


def test_check_mode_changes_nothing(steps):
    r, dummy = steps
    assert r['cm_started']['changed'] is True and 'nothing was started' in r['cm_started']['msg']
    assert 'pid' not in r['cm_started']
    assert r['cm_dump']['changed'] is True and 'criu did not run' in r['cm_dump']['msg']
    assert r['cm_dump']['cmd'][1] == 'dump'
    assert r['cm_images']['changed'] is True and 'nothing was written' in r['cm_images']['msg']
    assert r['cm_images']['files'] == r['packed_files']['files']


def test_bad_input_fails_clearly(steps):
    r, dummy = steps
    assert len(r['bad']) == len(BAD_INPUT)
    for i, (res, needle) in enumerate(zip(r['bad'], BAD_INPUT)):
        assert res.get('failed') is True and needle in res['msg'], (i, needle, res.get('msg'))
        assert 'Traceback' not in res['msg'] and not res.get('exception', '').startswith('Traceback'), res


# The results steps.yml saves, by the module that returned them (packed_files is criu_images' without its archive).
RESULTS = {
    'criu_process': ['workload', 'stopped_src', 'killed_src', 'running_dst', 'killed_dst', 'rb_resumed', 'rb_state',
                     'pd_state', 'cm_started', 'idle'],
    'criu_page_server': ['ps', 'ps_stop', 'ps2', 'ps2_not_ps', 'ps2_stop'],
    'criu_dump': ['dump', 'rb_dump', 'pd_dump', 'cm_dump'],
    'criu_images': ['packed_files', 'unpacked', 'cm_images'],
    'criu_restore': ['restored'],
}


@pytest.mark.parametrize('module', sorted(RESULTS))
def test_what_each_step_returns_is_documented(steps, module):
    r, dummy = steps
    for name in RESULTS[module]:
        assert return_doc.mismatches(r[name], module) == [], name


def test_nothing_is_left(steps):
    dummy, report = steps
    assert report['processes'] == []
    assert report['mounts'] == []
    assert report['tmp'] == []
    assert report['run'] == []          # no /run/criu.kdat: criu's cache was removed


# ---------------------------------------------------------------- steps_inside.py


@pytest.fixture(scope='module')
def edges():
    """Run steps_inside.py once in the root; return its report."""
    conftest.criu_root_or_skip()
    proc = subprocess.run([CRIU_ROOT, 'run', '--', 'python3', '/src/tests/integration/steps_inside.py', '/src'],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600,
                          check=False)
    out = proc.stdout.decode('utf-8', 'replace')
    report = json.loads(out) if proc.returncode == 0 and out.strip() else None
    if report:
        # Whatever leaked is reported (by the test below): do not let it outlive the test.
        for line in _marked(report['token']):
            try:
                os.kill(int(line.split()[0].rstrip(':')), signal.SIGKILL)
            except OSError:
                pass
    assert report, out + proc.stderr.decode('utf-8', 'replace')[-3000:]
    return report


def test_relative_images_dirs_are_made_absolute(edges):
    """criu runs in images_dir and is given -D images_dir: with a relative one every step failed with "Can't open
    dir"; each module now makes it absolute (from its working directory) and returns it so."""
    r = edges['relative']
    work = '/tmp/%s-rel' % edges['token']
    for step, name in (('ps', 'dst'), ('dump', 'src'), ('restored', 'dst')):
        assert not r[step].get('failed') and r[step]['images_dir'] == os.path.join(work, name), (step, r[step])
        assert r[step]['cmd'][r[step]['cmd'].index('-D') + 1] == os.path.join(work, name), r[step]['cmd']
    assert r['unpacked']['files'] == r['packed']['files'] and 'pstree.img' in r['packed']['files']
    assert r['running']['pid'] == r['restored']['pid'] == r['dump']['tree'][0]
    assert r['listing'] == ['dst', 'src']                    # nothing but the two, in the working directory
    assert return_doc.mismatches(r['restored'], 'criu_restore') == []


def test_images_dirs_the_modules_make_are_private(edges):
    """The images hold the tree's memory (criu writes them 0600): the directory criu_dump, criu_page_server and
    criu_images (unpacked) make for them is 0700, as runc makes its checkpoint directory, under the umask 022 the
    modules ran with (0755 before)."""
    r = edges['relative']
    assert r['unpacked_new']['changed'] is True and r['unpacked_new']['files'] == r['packed']['files'], r['unpacked_new']
    assert r['modes'] == {'src': 0o700, 'dst': 0o700, 'new/images': 0o700}, dict((k, oct(v)) for k, v in r['modes'].items())


def test_a_page_server_started_through_criu_path_is_stopped(edges):
    """A copy of criu named criu-4.1.1 is a criu; one named otherwise is recognised by the criu_path given."""
    named = edges['criu_path']['criu-4.1.1']
    assert named['started']['pid'] > 1 and named['started']['cmd'][0].endswith('/criu-4.1.1'), named['started']
    # Stopped by the first task: its name says criu.
    assert named['stop_without_criu_path']['stopped'] is True, named['stop_without_criu_path']
    assert named['stop']['stopped'] is False and 'not running' in named['stop']['msg']
    other = edges['criu_path']['ckpt']
    assert other['started']['pid'] > 1, other['started']
    assert other['stop_without_criu_path']['stopped'] is False and other['stop_without_criu_path']['changed'] is False
    assert 'is not a criu page server' in other['stop_without_criu_path']['msg']
    assert 'named criu* or the criu_path given' in other['stop_without_criu_path']['msg']
    assert other['stop']['stopped'] is True and other['stop']['changed'] is True, other['stop']
    for result in (named['stop_without_criu_path'], other['stop']):
        assert return_doc.mismatches(result, 'criu_page_server') == []


def test_a_dump_to_no_page_server_says_so(edges):
    """criu logs the cause without "Error (" and fails with "Unable to detach from PID: No such process"."""
    dump = edges['unreachable']['dump']
    assert dump['failed'] is True and dump['rc'] == 1, dump
    assert dump['msg'].startswith("criu dump failed (exit 1): Can't connect to server 127.0.0.1:1; "), dump['msg']
    assert 'no page server listens at 127.0.0.1:1' in dump['msg']
    assert any("Can't connect to server 127.0.0.1:1" in line for line in dump['log']), dump['log']
    assert edges['unreachable']['after']['process_state'] in ('S', 'R', 'D')      # the tree runs on


def test_a_dump_with_track_mem_or_a_parent_passes_them_to_criu(edges):
    """This kernel has no soft-dirty tracking: criu refuses --track-mem, and the module says why."""
    more = edges['more']
    tm = more['track_mem']
    assert tm['failed'] is True and '--track-mem' in tm['cmd'] and '--leave-stopped' not in tm['cmd'], tm
    assert 'Dirty tracking support is OFF' in tm['msg'] and 'CONFIG_MEM_SOFT_DIRTY' in tm['msg'], tm['msg']
    assert more['first']['rc'] == 0 and '--prev-images-dir' not in more['first']['cmd']
    # criu itself links the parent it is given (the module does so only for a page server).
    second = more['second']
    assert second['cmd'][second['cmd'].index('--prev-images-dir') + 1] == '../1', second['cmd']
    assert more['second_link'] == '../1'


def test_a_dump_to_a_full_file_system_says_where_and_what_to_do(edges):
    """criu says only "No space left on device", or less where its log (there too) is cut short; the module adds
    which directory, how full, and what to do."""
    full = edges['more']['full']
    assert full['failed'] is True and full['rc'] == 1, full
    assert full['msg'].startswith('criu dump failed (exit 1): '), full
    assert ('; a file system criu writes to is full (the images directory %s: 0 bytes free of 64.0 KiB)'
            % full['images_dir']) in full['msg'], full['msg']
    assert full['msg'].endswith('(criu_smoke: tmpdir; criu_dump: images_dir)'), full['msg']


def test_a_dump_of_a_traced_tree_names_the_tracer_not_criu_s_last_error(edges):
    """compel warns "Unable to interrupt task: N (Operation not permitted)", then criu fails with "Unable to detach
    from N: No such process", which the module quoted; it now quotes the first and names the tracer."""
    more = edges['more']
    traced = more['traced']
    assert traced['failed'] is True and traced['rc'] == 1, traced
    assert traced['msg'] == (
        'criu dump failed (exit 1): Unable to interrupt task: %d (Operation not permitted); process %d is traced '
        'already, by python3 (pid %d): a process has one tracer, and criu must be it; detach that one (a debugger, '
        'strace) and dump again' % (more['traced_pid'], more['traced_pid'], more['tracer'])), traced['msg']


def test_a_restore_whose_pid_is_taken_says_so_and_what_to_do(edges):
    """criu says "Can't fork for N: File exists"; the module adds that the pid is taken, and how to restore."""
    more = edges['more']
    assert more['taken_dump'].get('failed') is not True, more['taken_dump']
    taken = more['taken']
    assert taken['failed'] is True and taken['rc'] == 1, taken
    assert taken['msg'].startswith("criu restore failed (exit 1): Can't fork for %d: File exists; pid %d, which the "
                                   'dumped tree had, is taken here (by ' % (more['taken_pid'], more['taken_pid'])), taken
    assert taken['msg'].endswith('or checkpoint a tree that runs in a pid namespace of its own (as a container does), '
                                 "whose pids cannot collide with this host's"), taken['msg']


def test_a_dump_this_criu_cannot_do_on_this_kernel_says_which_criu_can(edges):
    """criu 4.1.1 says only "Can't get 1:16 opt: Operation not supported" for a process with a UDP socket on Linux
    6.16 and newer; the module adds that this criu cannot dump such a process on this kernel, and which can."""
    sockets = edges['more']['sockets']
    if not _installed_criu.inet_passcred_refused():
        assert sockets.get('failed') is not True, sockets       # a kernel before 6.16: criu 4.1.1 dumps it
        return
    assert sockets['failed'] is True and sockets['rc'] == 1, sockets
    assert sockets['msg'] == (
        "criu dump failed (exit 1): sockets: Can't get 1:16 opt: Operation not supported; criu 4.1.1 cannot dump a "
        'process with an IPv4, IPv6 or packet socket (a network server or client) on this kernel: %s; install criu '
        '4.2 or newer (%s), or boot a kernel older than 6.16 (%s)' % (
            _installed_criu.CANNOT_DUMP[0]['why'], _installed_criu.UPSTREAM, _installed_criu.CANNOT_DUMP[0]['ref'])
    ), sockets['msg']


def test_pid_files_of_an_earlier_attempt_are_no_failure(edges):
    """criu opens its --pidfile O_EXCL: the page server and the restore remove the old ones first."""
    more = edges['more']
    ps = more['ps']
    assert ps['pid'] > 1 and ps['cmd'][ps['cmd'].index('--address') + 1] == '127.0.0.1' == ps['address'], ps
    assert more['ps_dump']['rc'] == 0, more['ps_dump'].get('msg')
    assert more['restored'].get('rc') == 0 and more['restored']['pid'] == more['ps_dump']['tree'][0], more['restored']
    assert more['ps_pack']['changed'] is False and more['ps_unpack']['size'] == more['ps_pack']['size'] > 0


def test_check_mode_stops_and_restores_nothing(edges):
    more = edges['more']
    stop = more['ps_check_stop']
    assert stop['changed'] is True and stop['stopped'] is False and 'check mode' in stop['msg'], stop
    assert more['ps_after_check']['pid'] == more['ps']['pid'] and more['ps_after_check']['process_state'] in 'SRD'
    restore = more['restore_check']
    assert restore['changed'] is True and 'criu did not run' in restore['msg'] and 'rc' not in restore, restore
    assert more['restore_check_pids'] == []           # the tree was not restored


def test_criu_process_beyond_the_play(edges):
    more = edges['more']
    listed = more['listed']
    assert listed['pid'] > 1 and listed['tree'] == [listed['pid']], listed
    # The list run as is (300 made a string), in cwd, its output appended to output.
    assert more.get('listed_output') == '/tmp/%s-more/cwd\n' % edges['token']
    assert more['resume_running']['changed'] is False and more['resume_running']['resumed'] == [listed['pid']]
    assert more['resume_running_check']['changed'] is False and more['resume_running_check']['resumed'] == []
    assert more['resume_check']['changed'] is True and more['resume_check']['resumed'] == []
    assert more['kill_check']['changed'] is True and more['kill_check']['killed'] == []
    assert more['after_checks']['process_state'] == 'T'  # still stopped, still there
    assert more['kill']['changed'] is True and more['kill']['killed'] == [listed['pid']]
    assert more['kill_again']['changed'] is False and more['kill_again']['killed'] == []
    zombie = more['zombie']
    assert zombie['failed'] is True and 'has exited (state Z)' in zombie['msg'] and zombie['process_state'] == 'Z'


@pytest.mark.parametrize('index, needle', list(enumerate([
    'page_server.port must be a TCP port (1-65535), got 0',
    'port must be a TCP port (1-65535, or 0 to let criu choose), got 65536',
    'pid 1 cannot be a workload',
    'path must name the images directory',
])))
def test_more_bad_input_fails_clearly(edges, index, needle):
    res = edges['more']['bad'][index]
    assert res.get('failed') is True and needle in res['msg'], res


def test_steps_inside_leave_nothing(edges):
    left = edges['left']
    assert left['tmp'] == left['before']['tmp'] and left['run'] == left['before']['run'] == []
    assert left['processes'] == [] and _marked(edges['token']) == []


def test_criu_options_are_what_the_tree_needs_and_restore_needs_them_too(edges):
    """A tree that does not lead its session (--shell-job) and one holding a flock() (--file-locks): without the
    option criu refuses and the module names it; with it, the dump and the restore work, into criu's caller's
    session and with the lock taken again.  A tree whose session's leader is outside its pid namespace fails with
    the option too, and the module says how to start one criu can dump.  --ext-unix-sk and --link-remap are the
    dump's only: criu restores what they dumped without them.  criu restores such images without --file-locks as if there were no
    lock, so criu_restore refuses to; options the tree does not need go to criu (the restore's only) and change
    nothing; an unknown one is refused with the valid names."""
    opt = edges['options']
    assert 'error' not in opt, opt
    advice = ("criu needs --%s for what this tree holds: set criu_options.%s: true on criu_dump and criu_restore "
              "alike (criu restore needs it too), or %s: true in the migrate role's "
              'criu_migrate_criu_options')
    without = opt['shell_without']
    assert without['failed'] is True and without['msg'] == (
        'criu dump failed (exit 1): The root process %d is not a session leader. Consider using --shell-job option; '
        % opt['shell_pid'] + advice % ('shell-job', 'shell_job', 'shell_job')), without
    assert opt['shell']['rc'] == 0 and '--shell-job' in opt['shell']['cmd'], opt['shell']
    restored = opt['shell_restored']
    assert restored['pid'] == opt['shell_pid'] and '--shell-job' in restored['cmd'], restored
    assert opt['shell_restored_sid'] == opt['sid'], opt
    # A session leader outside the tree's pid namespace: no option helps, and the module says what does.
    leader = ('criu dump failed (exit 1): A session leader of {0}(1) is outside of its pid namespace; process {0} (1 '
              'in its pid namespace) is in a session whose leader is outside that pid namespace, and criu dumps a tree '
              "with its session's leader, --shell-job or not: start the namespace's first process in a session of "
              'its own (unshare -p -f setsid COMMAND), then dump it')
    for outside in (opt['outside'], opt['outside_shell']):
        assert outside['failed'] is True and outside['msg'] == leader.format(opt['outside_pid']), outside
    assert '--shell-job' in opt['outside_shell']['cmd'], opt['outside_shell']
    without = opt['lock_without']
    assert without['failed'] is True and without['msg'] == (
        'criu dump failed (exit 1): Some file locks are hold by dumping tasks! You can try --file-locks to dump them.; '
        + advice % ('file-locks', 'file_locks', 'file_locks')), without
    lock = 'FLOCK  ADVISORY  WRITE %d ' % opt['locked_pid']
    assert [line.split(': ', 1)[1][:len(lock)] for line in opt['locks_before']] == [lock], opt['locks_before']
    assert opt['lock']['rc'] == 0 and '--file-locks' in opt['lock']['cmd'], opt['lock']
    bare = opt['lock_restored_bare']
    assert bare['failed'] is True and 'rc' not in bare and opt['locks_bare'] is None, bare
    assert bare['msg'] == ('the images hold what criu dumps only with --file-locks (filelocks.img), and criu restore '
                           'without it leaves that out silently: set criu_options.file_locks: true, as on criu_dump')
    assert opt['lock_restored']['pid'] == opt['locked_pid'], opt['lock_restored']
    assert [line.split(': ', 1)[1][:len(lock)] for line in opt['locks_restored']] == [lock], opt['locks_restored']
    # A datagram socket connected outside the tree: dumped with --ext-unix-sk only, restored without it (the
    # images mark it external), and it reaches the peer again.
    dump_only = "criu needs --%s for what this tree holds: set criu_options.%s: true on criu_dump, or %s: true in " \
                "the migrate role's criu_migrate_criu_options"
    without = opt['ext_without']
    assert opt['ext_before'] == 'here' and without['failed'] is True, opt
    assert without['msg'] == ('criu dump failed (exit 1): unix: External socket is used. Consider using '
                              '--ext-unix-sk option.; ' + dump_only % ('ext-unix-sk', 'ext_unix_sk', 'ext_unix_sk'))
    assert opt['ext']['rc'] == 0 and '--ext-unix-sk' in opt['ext']['cmd'], opt['ext']
    assert opt['ext_restored']['pid'] == opt['ext_pid'] and '--ext-unix-sk' not in opt['ext_restored']['cmd'], opt
    assert opt['ext_after'] == 'here', opt
    # A file open under a removed name with another link: dumped with --link-remap only, through a link criu
    # leaves beside it, which the restore (without the option) removes; the restored tree holds the same file.
    without = opt['remap_without']
    assert without['failed'] is True and without['msg'] == (
        "criu dump failed (exit 1): Can't create link remap for /tmp/%s-opt/remap/opened. Use link-remap option.; "
        % edges['token'] + dump_only % ('link-remap', 'link_remap', 'link_remap')), without
    assert opt['remap']['rc'] == 0 and '--link-remap' in opt['remap']['cmd'], opt['remap']
    assert len(opt['remap_left']) == 2 and opt['remap_left'][0].startswith('link_remap.'), opt['remap_left']
    assert opt['remap_left'][1] == 'other', opt['remap_left']
    assert opt['remap_restored']['pid'] == opt['remap_pid'], opt['remap_restored']
    assert opt['remap_held'] == ['/tmp/%s-opt/remap/opened (deleted)' % edges['token']], opt
    assert opt['remap_after'] == ['other'], opt['remap_after']
    assert opt['all']['cmd'][-7:-3] == ['--tcp-established', '--skip-in-flight', '--file-locks', '--link-remap']
    assert opt['all_restored']['cmd'][-5:-3] == ['--tcp-established', '--file-locks'], opt['all_restored']
    assert opt['all_restored']['pid'] > 1, opt['all_restored']
    assert opt['bad_option']['failed'] is True and opt['bad_option']['msg'] == (
        'Unsupported parameters for (basic.py) module: criu_options.tcp_establish. Supported parameters include: '
        'ext_unix_sk, file_locks, link_remap, shell_job, skip_in_flight, tcp_close, tcp_established.')
