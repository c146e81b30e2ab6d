# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run inside the Debian 13 root (tests/tools/criu_root.sh run) by
tests/integration/test_migration_steps.py, with the root's python3 and criu
4.1.1::

    python3 steps_inside.py REPO

runs the step modules as Ansible runs them (the module with a JSON args
file), in the cases steps.yml does not cover, and prints one JSON object:

- ``relative``: a local migration with relative images directories (the
  modules run in /tmp/TOKEN-rel): page server, dump to it, pack, unpack,
  restore;
- ``criu_path``: page servers started with copies of criu named
  ``criu-4.1.1`` and ``ckpt``, then stopped without and with that criu_path;
- ``unreachable``: a dump to a page server nobody listens for;
- ``more``: what the play and the scenarios above leave out (scenario_more());
- ``options``: criu_options against trees that need them (scenario_options());
- ``left``: what /tmp and /run hold after, and the processes still marked.

The root has no pid namespace of its own: every process and directory of
a run carries a token of its own (``token`` in the report; not on this
script's command line, which its callers carry), and only those are ended.

Only the standard library, the collection and tests/tools/process_list.py are used.
"""

import ctypes
import functools
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid

from inside_modules import import_root, run_module  # beside this script

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'tools'))
import process_list  # noqa: E402  (tests/tools: importable outside pytest)

TOKEN = 'stepsin' + uuid.uuid4().hex[:12]
# mount(2) itself: mount(8) would record the mount in /run/mount, which must be left as it was found.
LIBC = ctypes.CDLL(None, use_errno=True)
PTRACE_CONT, PTRACE_ATTACH = 7, 16


def workload(run):
    """A tree criu can dump, started by criu_process (so that it is not this
    script's child, and its pid is free again once a dump ends it)."""
    started = run('criu_process', {'state': 'started', 'command': 'while :; do sleep 1; done # %s' % TOKEN})
    return started['pid']


def trace(pid):
    """A child of this script that has attached to ``pid`` as its tracer (PTRACE_ATTACH, as gdb and strace do)
    and let it run on; its pid."""
    ready_r, ready_w = os.pipe()
    tracer = os.fork()
    if tracer == 0:
        os.close(ready_r)
        if LIBC.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
            os.waitpid(pid, 0)
            LIBC.ptrace(PTRACE_CONT, pid, None, None)
        os.write(ready_w, b'1')
        signal.pause()
        os._exit(0)
    os.close(ready_w)
    os.read(ready_r, 1)
    os.close(ready_r)
    return tracer


def hold_pid(pid):
    """A child of this script holding ``pid`` (forked after ns_last_pid is set below it; tried until it lands),
    or None where ``pid`` is held already (the ended tree's zombie, not reaped yet) or could not be had."""
    for dummy in range(50):
        if os.path.exists('/proc/%d' % pid):
            return None
        with open('/proc/sys/kernel/ns_last_pid', 'w') as f:
            f.write(str(pid - 1))
        child = os.fork()
        if child == 0:
            signal.pause()
            os._exit(0)
        if child == pid:
            return child
        os.kill(child, signal.SIGKILL)
        os.waitpid(child, 0)
    return None


def marked():
    return process_list.processes(lambda cmd: TOKEN in cmd)


def _read(path):
    """The text of ``path``, or '' while it is not there (a file a process has yet to write, a process gone)."""
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def _runs(pid, program='python3'):
    """Whether ``pid`` has exec'd ``program`` with TOKEN among its arguments (a fork that has not shows its
    parent's command line, which for unshare's holds TOKEN too)."""
    argv = _read('/proc/%d/cmdline' % pid).split('\0')
    return argv[0] == program and TOKEN in argv


def _has_socket(pid):
    def link(fd):
        try:
            return os.readlink('/proc/%d/fd/%s' % (pid, fd))
        except OSError:
            return ''
    try:
        return any(link(fd).startswith('socket:') for fd in os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return False


def reap():
    """Reap what has ended of this script's children (the processes criu_process started and criu restored end up
    here): a zombie would keep its pid from a restore."""
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break


def kill_marked():
    for line in marked():
        try:
            os.kill(int(line.split(':')[0]), signal.SIGKILL)
        except OSError:
            pass
    reap()
    time.sleep(0.2)


def scenario_relative(run):
    work = '/tmp/%s-rel' % TOKEN
    os.makedirs(work)
    out = {}
    umask = os.umask(0o022)             # the usual one, under which a directory made without a mode is 0755
    try:
        pid = workload(run)
        out['ps'] = ps = run('criu_page_server', {'images_dir': 'dst', 'address': '127.0.0.1'}, cwd=work)
        out['dump'] = dump = run('criu_dump', {'pid': pid, 'images_dir': 'src', 'leave_stopped': True,
                                               'page_server': {'address': '127.0.0.1', 'port': ps.get('port', 1)}},
                                 cwd=work)
        # Ended and waited for until its pids are free, as the migrate role does before the restore.
        out['killed'] = run('criu_process', {'state': 'killed', 'pids': dump.get('tree') or [pid]})
        packed = run('criu_images', {'path': 'src'}, cwd=work)
        out['packed'] = dict((k, v) for k, v in packed.items() if k != 'content')
        out['unpacked'] = run('criu_images', {'state': 'unpacked', 'path': 'dst', 'content': packed.get('content')},
                              cwd=work)
        out['restored'] = restored = run('criu_restore', {'images_dir': 'dst'}, cwd=work)
        if restored.get('pid'):
            out['running'] = run('criu_process', {'state': 'running', 'pid': restored['pid']})
        out['listing'] = sorted(os.listdir(work))
        # An archive unpacked where no directory was yet; then the modes of the three the modules made.
        out['unpacked_new'] = run('criu_images', {'state': 'unpacked', 'path': 'new/images',
                                                  'content': packed.get('content')}, cwd=work)
        out['modes'] = dict((name, stat.S_IMODE(os.stat(os.path.join(work, name)).st_mode))
                            for name in ('src', 'dst', 'new/images') if os.path.isdir(os.path.join(work, name)))
    finally:
        os.umask(umask)
        kill_marked()
        shutil.rmtree(work, ignore_errors=True)
    return out


def scenario_criu_path(run):
    out = {}
    base = '/tmp/%s-cp' % TOKEN
    os.makedirs(base)
    try:
        for name in ('criu-4.1.1', 'ckpt'):
            criu = os.path.join(base, name)
            shutil.copy2('/usr/sbin/criu', criu)
            ps = run('criu_page_server', {'images_dir': os.path.join(base, name + '.d'), 'address': '127.0.0.1',
                                          'criu_path': criu})
            out[name] = {'started': ps,
                         'stop_without_criu_path': run('criu_page_server', {'state': 'stopped', 'pid': ps.get('pid', 0)}),
                         'stop': run('criu_page_server', {'state': 'stopped', 'pid': ps.get('pid', 0),
                                                          'criu_path': criu})}
    finally:
        kill_marked()
        shutil.rmtree(base, ignore_errors=True)
    return out


def scenario_unreachable(run):
    out = {}
    try:
        pid = workload(run)
        out['dump'] = run('criu_dump', {'pid': pid, 'images_dir': '/tmp/%s-unreachable' % TOKEN,
                                        'page_server': {'address': '127.0.0.1', 'port': 1}})
        out['after'] = run('criu_process', {'state': 'running', 'pid': pid})
    finally:
        kill_marked()
        shutil.rmtree('/tmp/%s-unreachable' % TOKEN, ignore_errors=True)
    return out


def scenario_more(run):
    """What the play and the scenarios above leave out, against real processes and criu: dumps with
    --track-mem and with a parent, pid files an earlier attempt left, check mode of the page server's stop and
    of the restore, criu_process's other cases, bad input, images on a full file system, a traced tree, a restore
    whose pid is taken, a process with network sockets."""
    base = '/tmp/%s-more' % TOKEN
    os.makedirs(base)
    out = {}
    try:
        pid = workload(run)
        # Images on a file system with no room (a 64 KiB tmpfs): criu says only ENOSPC; the tree runs on.
        os.makedirs(base + '/full')
        if LIBC.mount(b'tmpfs', (base + '/full').encode(), b'tmpfs', 0, b'size=64k') != 0:
            raise OSError(ctypes.get_errno(), 'mount tmpfs on %s/full' % base)
        out['full'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/full/images'})
        # A tree one of whose processes has a tracer already (gdb, strace): criu cannot seize it.
        out['traced_pid'] = traced = workload(run)
        tracer = trace(traced)
        out['traced'] = run('criu_dump', {'pid': traced, 'images_dir': base + '/traced'})
        out['tracer'] = tracer
        os.kill(tracer, signal.SIGKILL)
        os.waitpid(tracer, 0)
        run('criu_process', {'state': 'killed', 'pids': out['traced'].get('tree') or [traced]})
        # A restore where a process holds the pid the tree had (restoring where another process got it since).
        out['taken_pid'] = taken = workload(run)
        out['taken_dump'] = run('criu_dump', {'pid': taken, 'images_dir': base + '/taken'})
        holder = hold_pid(taken)
        out['taken'] = run('criu_restore', {'images_dir': base + '/taken'})
        if holder:
            os.kill(holder, signal.SIGKILL)
            os.waitpid(holder, 0)
        # A process with network sockets: criu before 4.2 cannot dump it on Linux 6.16 and newer.
        out['sockets_pid'] = sockets = run('criu_process', {'state': 'started', 'command': [
            'python3', '-c', 'import socket, sys, time; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); '
            'time.sleep(600)', TOKEN]})['pid']
        process_list.until(lambda: _has_socket(sockets))
        out['sockets'] = run('criu_dump', {'pid': sockets, 'images_dir': base + '/sockets'})
        run('criu_process', {'state': 'killed', 'pids': [sockets]})
        # criu --track-mem needs soft-dirty tracking too, which this kernel lacks.
        out['track_mem'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/tm', 'track_mem': True})
        # A dump on top of an earlier one: criu links the parent given.
        out['first'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/1', 'leave_stopped': True})
        out['first_resumed'] = run('criu_process', {'state': 'resumed', 'pids': out['first'].get('tree') or [pid]})
        out['second'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/2', 'parent': '../1'})
        out['second_link'] = os.readlink(base + '/2/parent') if os.path.islink(base + '/2/parent') else None
        # What an earlier, failed attempt leaves in the images directories: criu opens its --pidfile O_EXCL.
        for name in ('ps', 'ps/restore.pid', 'ps/page-server.pid'):
            if name.endswith('.pid'):
                with open(os.path.join(base, name), 'w') as f:
                    f.write('1')
            else:
                os.makedirs(os.path.join(base, name))
        out['ps'] = ps = run('criu_page_server', {'images_dir': base + '/ps', 'address': '127.0.0.1'})
        out['ps_check_stop'] = run('criu_page_server', {'state': 'stopped', 'pid': ps.get('pid', 0),
                                                        '_ansible_check_mode': True})
        out['ps_after_check'] = run('criu_process', {'state': 'running', 'pid': ps.get('pid', 0)})
        out['ps_dump'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/src', 'page_server': {
            'address': '127.0.0.1', 'port': ps.get('port', 1)}})
        out['ps_killed'] = run('criu_process', {'state': 'killed', 'pids': out['ps_dump'].get('tree') or [pid]})
        out['ps_pack'] = packed = run('criu_images', {'path': base + '/src'})
        out['ps_unpack'] = run('criu_images', {'state': 'unpacked', 'path': base + '/ps',
                                               'content': packed.get('content')})
        out['restore_check'] = run('criu_restore', {'images_dir': base + '/ps', '_ansible_check_mode': True})
        out['restore_check_pids'] = marked()
        out['restored'] = run('criu_restore', {'images_dir': base + '/ps'})
        # criu_process beyond the play: a list command with its output and working directory, a resume and a kill
        # that change nothing, check mode, a zombie.
        os.makedirs(base + '/cwd')
        out['listed'] = listed = run('criu_process', {'state': 'started', 'cwd': base + '/cwd', 'output': base + '/out',
                                                      'command': ['sh', '-c', 'pwd; exec sleep "$0"', 300, TOKEN]})
        out['listed_output'] = process_list.until(lambda: _read(base + '/out'))    # what pwd wrote
        lpid = listed.get('pid', 0)
        if lpid <= 1:                   # os.kill(0, ...) would stop this script's own process group
            return out
        out['resume_running'] = run('criu_process', {'state': 'resumed', 'pids': [lpid]})
        out['resume_running_check'] = run('criu_process', {'state': 'resumed', 'pids': [lpid],
                                                           '_ansible_check_mode': True})
        os.kill(lpid, signal.SIGSTOP)
        out['resume_check'] = run('criu_process', {'state': 'resumed', 'pids': [lpid], '_ansible_check_mode': True})
        out['kill_check'] = run('criu_process', {'state': 'killed', 'pids': [lpid], '_ansible_check_mode': True})
        out['after_checks'] = run('criu_process', {'state': 'running', 'pid': lpid})
        out['kill'] = run('criu_process', {'state': 'killed', 'pids': [lpid]})
        out['kill_again'] = run('criu_process', {'state': 'killed', 'pids': [lpid]})
        child = os.fork()
        if child == 0:
            os._exit(0)
        process_list.until(lambda: process_list.state(child) == 'Z')    # not reaped: a zombie
        out['zombie'] = run('criu_process', {'state': 'running', 'pid': child})
        os.waitpid(child, 0)
        # Bad input the play does not give.
        out['bad'] = [run('criu_dump', {'pid': lpid, 'images_dir': base + '/bad', 'page_server': {
            'address': '127.0.0.1', 'port': 0}}),
            run('criu_page_server', {'images_dir': base + '/bad', 'port': 65536}),
            run('criu_page_server', {'state': 'stopped', 'pid': 1}),
            run('criu_images', {'path': ''})]
    finally:
        kill_marked()
        if os.path.ismount(base + '/full'):
            LIBC.umount2((base + '/full').encode(), 0)
        shutil.rmtree(base, ignore_errors=True)
    return out


def _locks_of(pid):
    """The lines of /proc/locks held by ``pid``."""
    with open('/proc/locks') as f:
        return [line.strip() for line in f if line.split()[4:5] == [str(pid)]]


def _gone(pid, seconds=10):
    """Wait until ``pid`` is no more, not even a zombie: its parent may be this host's init, which reaps late (a
    restore needs the pid)."""
    def ended():
        reap()
        return not os.path.exists('/proc/%d' % pid)
    process_list.until(ended, seconds)


def _restore_and_end(run, images, dumped, options, read):
    """criu_restore of ``images`` (of the tree of ``dumped``, once that is gone) with ``options``; ``read(pid)`` of
    the restored tree before it is killed."""
    _gone(dumped)
    restored = run('criu_restore', {'images_dir': images, 'criu_options': options})
    pid = restored.get('pid')
    seen = read(pid) if pid else None
    if pid:
        run('criu_process', {'state': 'killed', 'pids': restored.get('tree') or [pid]})
    return restored, seen


def _in_own_session(what, *args):
    """``what(*args)`` (a dict) in a child of this script that leads a session of its own (setsid()): what criu
    makes of sessions cannot depend on the one this script was started in, which may have no leader criu can see
    (CI's jobs run in session 0, criu's "A session leader of N(N) is outside of its pid namespace")."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read)
        try:
            os.setsid()
            out = what(*args)
        except BaseException as e:  # whatever happens, reported and not raised in the forked copy of this script
            out = {'error': repr(e)}
        with os.fdopen(write, 'w') as f:
            json.dump(out, f, default=str)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        out = json.load(f)
    os.waitpid(child, 0)
    return out


def _sessions(run, base):
    """The session cases, run by a session leader: a child of it that does not lead its session (dumped without
    and with --shell-job, and restored), and the first process of a pid namespace whose session's leader is that
    leader, outside the namespace (unshare -p -f, no setsid), which criu cannot dump, --shell-job or not."""
    out = {'sid': os.getsid(0)}
    # Forked and exec'd here without setsid(): in this leader's session.
    child = os.fork()
    if child == 0:
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):        # not this script's output pipe
            os.dup2(null, fd)
        os.closerange(3, 65536)     # nor its other files (a /dev/null of a mount criu does not see)
        os.execvp('python3', ['python3', '-c', 'import time; time.sleep(600)', TOKEN])
    process_list.until(lambda: _runs(child))
    out['shell_pid'] = child
    out['shell_without'] = run('criu_dump', {'pid': child, 'images_dir': base + '/shell0'})
    out['shell'] = run('criu_dump', {'pid': child, 'images_dir': base + '/shell',
                                     'criu_options': {'shell_job': True}})
    os.kill(child, signal.SIGKILL)  # criu ended it, unless the dump failed
    os.waitpid(child, 0)
    out['shell_restored'], out['shell_restored_sid'] = _restore_and_end(
        run, base + '/shell', child, {'shell_job': True}, os.getsid)
    with open(os.devnull, 'r+b') as null:
        unshare = subprocess.Popen(['unshare', '-p', '-f', '--kill-child', 'python3', '-c',
                                    'import time; time.sleep(600)', TOKEN], stdin=null, stdout=null, stderr=null)
    try:
        children = '/proc/%d/task/%d/children' % (unshare.pid, unshare.pid)
        # unshare's child, once it has exec'd python3
        started = process_list.until(lambda: [c for c in _read(children).split() if _runs(int(c))])
        out['outside_pid'] = first = int(started[0])
        out['outside'] = run('criu_dump', {'pid': first, 'images_dir': base + '/outside'})
        out['outside_shell'] = run('criu_dump', {'pid': first, 'images_dir': base + '/outside1',
                                                 'criu_options': {'shell_job': True}})
    finally:
        unshare.kill()  # and with it, its child (--kill-child)
        unshare.wait()
    return out


def _external_socket(run, base):
    """A tree whose datagram unix socket is connected to one bound by this script (outside the tree): dumped
    without and with --ext-unix-sk, restored without it, and what reaches this script's socket after."""
    out = {}
    sink = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sink.bind(base + '/sink.sock')
    sink.settimeout(10)
    try:
        out['ext_pid'] = pid = run('criu_process', {'state': 'started', 'command': [
            'python3', '-c', 'import socket, sys, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n'
            's.connect(sys.argv[1])\nwhile True:\n    s.send(b"here")\n    time.sleep(0.2)', base + '/sink.sock',
            TOKEN]})['pid']
        out['ext_before'] = sink.recv(64).decode()
        out['ext_without'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/ext0'})
        out['ext'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/ext',
                                       'criu_options': {'ext_unix_sk': True}})

        def after_restore(restored):
            sink.settimeout(0)
            while True:                 # what the tree sent before the dump ended it
                try:
                    sink.recv(64)
                except OSError:
                    break
            sink.settimeout(10)
            try:
                return sink.recv(64).decode()
            except OSError as exc:
                return repr(exc)
        out['ext_restored'], out['ext_after'] = _restore_and_end(run, base + '/ext', pid, {}, after_restore)
    finally:
        sink.close()
    return out


def _link_remap(run, base):
    """A tree holding a file open whose name was removed while another link to it remains: dumped without and
    with --link-remap, what criu leaves beside the file, restored (without it), and what the restored tree holds."""
    out = {}
    remap = base + '/remap'
    os.makedirs(remap)
    name, other = remap + '/opened', remap + '/other'
    out['remap_pid'] = pid = run('criu_process', {'state': 'started', 'command': [
        'python3', '-c', 'import os, sys, time\nfd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n'
        'os.link(sys.argv[1], sys.argv[2])\nos.unlink(sys.argv[1])\nwhile True:\n'
        '    time.sleep(1)', name, other, TOKEN]})['pid']
    process_list.until(lambda: not os.path.exists(name))    # the tree has opened, linked and removed it
    out['remap_inode'] = os.stat(other).st_ino
    out['remap_without'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/remap0'})
    out['remap'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/remapped',
                                     'criu_options': {'link_remap': True}})
    out['remap_left'] = sorted(os.listdir(remap))

    def held(restored):
        found = []
        for fd in os.listdir('/proc/%d/fd' % restored):
            try:
                if os.stat('/proc/%d/fd/%s' % (restored, fd)).st_ino == out['remap_inode']:
                    found.append(os.readlink('/proc/%d/fd/%s' % (restored, fd)))
            except OSError:
                pass
        return found
    out['remap_restored'], out['remap_held'] = _restore_and_end(run, base + '/remapped', pid, {}, held)
    out['remap_after'] = sorted(os.listdir(remap))
    return out


def scenario_options(run):
    """criu_options (criu's flags for what the tree holds), against real criu: the session cases (_sessions()), a
    tree holding a file lock (--file-locks) dumped without and with its option, and restored without it and with
    it, a unix socket connected outside the tree (_external_socket()) and a file open under a removed name
    (_link_remap())."""
    base = '/tmp/%s-opt' % TOKEN
    os.makedirs(base)
    try:
        out = _in_own_session(_sessions, run, base)
        # A process of its own session holding an exclusive flock() on a file.
        lock = base + '/lock'
        out['locked_pid'] = locked = run('criu_process', {'state': 'started', 'command': [
            'python3', '-c', 'import fcntl, sys, time; f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); '
            'time.sleep(600)', lock, TOKEN]})['pid']
        out['locks_before'] = process_list.until(lambda: _locks_of(locked))
        out['lock_without'] = run('criu_dump', {'pid': locked, 'images_dir': base + '/lock0'})
        out['lock'] = run('criu_dump', {'pid': locked, 'images_dir': base + '/locked',
                                        'criu_options': {'file_locks': True}})
        out['lock_restored_bare'], out['locks_bare'] = _restore_and_end(run, base + '/locked', locked, {}, _locks_of)
        out['lock_restored'], out['locks_restored'] = _restore_and_end(
            run, base + '/locked', locked, {'file_locks': True}, _locks_of)
        out.update(_external_socket(run, base))
        out.update(_link_remap(run, base))
        # Options the tree does not need change nothing but criu's command line.
        pid = workload(run)
        out['all'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/all', 'criu_options': {
            'tcp_established': True, 'file_locks': True, 'skip_in_flight': True, 'link_remap': True}})
        out['all_restored'] = _restore_and_end(run, base + '/all', pid, {
            'tcp_established': True, 'file_locks': True, 'skip_in_flight': True, 'link_remap': True}, str)[0]
        out['bad_option'] = run('criu_dump', {'pid': pid, 'images_dir': base + '/bad', 'criu_options': {
            'tcp_establish': True}})
    finally:
        kill_marked()
        shutil.rmtree(base, ignore_errors=True)
    return out


def main():
    repo = sys.argv[1]
    before = {'tmp': sorted(os.listdir('/tmp')), 'run': sorted(os.listdir('/run'))}
    coll = import_root(repo, 'steps-coll-')
    report = {'token': TOKEN}
    try:
        run = functools.partial(run_module, coll)   # run(module, args, cwd='/')
        for name, scenario in (('relative', scenario_relative), ('criu_path', scenario_criu_path),
                               ('unreachable', scenario_unreachable), ('more', scenario_more),
                               ('options', scenario_options)):
            report[name] = scenario(run)
    finally:
        shutil.rmtree(coll, ignore_errors=True)
    report['left'] = {'before': before, 'tmp': sorted(os.listdir('/tmp')), 'run': sorted(os.listdir('/run')),
                      'processes': marked()}
    print(json.dumps(report, default=str))


if __name__ == '__main__':
    main()
