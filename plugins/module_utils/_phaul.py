# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of a phaul-style live migration: stop rules, criu's statistics,
running criu, and the process trees it works on.

PRIVATE to the criu.check collection: not a public API.

Used by the step modules criu_page_server, criu_dump, criu_restore,
criu_images and criu_process, which the criu.check.migrate role calls.

* ``stop_reason()``: phaul's three rules for ending the pre-dump loop, a pure
  function of the pages written per iteration.
* ``read_stats()``: criu's ``stats-dump`` image (criu/stats.c write_stats()),
  with a minimal protobuf reader, so no protobuf library is needed.
* ``run_criu()``: one criu command, bounded by a timeout, its output and log
  read back, leaving no kernel-feature cache behind.
* ``tree()``, ``alive()``, ``kill_and_wait()``: the process tree of a pid,
  read from /proc; nothing but the pids given is ever signalled.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import io
import os
import re
import shutil
import signal
import stat
import struct
import subprocess
import tarfile
import tempfile
import time

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _smoke

# criu/include/magic.h: every image but the inventory starts with the service
# magic, then the image's own magic (criu/image.c open_image_at()).
IMG_SERVICE_MAGIC = 0x55105940
STATS_MAGIC = 0x57093306
STATS_DUMP = 'stats-dump'
STATS_RESTORE = 'stats-restore'

# images/stats.proto.  The *_time fields are microseconds (criu/stats.c
# timing_stop() keeps struct timeval differences).
DUMP_STATS_FIELDS = {
    1: 'freezing_time_us', 2: 'frozen_time_us', 3: 'memdump_time_us', 4: 'memwrite_time_us',
    5: 'pages_scanned', 6: 'pages_skipped_parent', 7: 'pages_written', 8: 'irmap_resolve_us',
    9: 'pages_lazy', 10: 'page_pipes', 11: 'page_pipe_bufs', 12: 'shpages_scanned',
    13: 'shpages_skipped_parent', 14: 'shpages_written',
}
RESTORE_STATS_FIELDS = {
    1: 'pages_compared', 2: 'pages_skipped_cow', 3: 'forking_time_us', 4: 'restore_time_us',
    5: 'pages_restored',
}

DEFAULT_MAX_ITERATIONS = 8
DEFAULT_CONVERGED_PAGES = 64
DEFAULT_GROWTH_PAGES = 32
# Seconds one criu dump or restore may run (criu_dump, criu_restore, the migrate role):
# a large tree's pages take minutes to write or to read back.
DEFAULT_CRIU_TIMEOUT = 300.0

LOG_TAIL = 20
PRIVATE_FAILED = 126     # exit code of the child that could not make criu's private /run
# criu/kerndat.c kerndat_get_dirty_track(): the kernel has no soft-dirty bits.
SOFT_DIRTY_OFF = 'Dirty tracking support is OFF'
# What criu logs when the page server of --page-server does not answer (_smoke.reason() quotes it).
NO_PAGE_SERVER = _smoke.NO_PAGE_SERVER


class StatsError(Exception):
    """The stats image is missing or not what criu writes."""


# ---------------------------------------------------------------- stop rules


def stop_reason(history, max_iterations=DEFAULT_MAX_ITERATIONS, converged_pages=DEFAULT_CONVERGED_PAGES,
                growth_pages=DEFAULT_GROWTH_PAGES):
    """Why the pre-dump loop stops after the last iteration of ``history``,
    or None to go on.

    ``history``: pages written by each pre-dump so far, the last one being
    the iteration just done (iteration i = len(history), 1-based).  The rules,
    in this order (phaul's loop):

    - it wrote fewer than ``converged_pages`` pages: ``'converged'``;
    - it is not the first and wrote ``growth_pages`` or more pages more than
      the one before: ``'growth'`` (the working set grows faster than it can
      be copied);
    - ``max_iterations`` iterations are done: ``'max_iterations'``.

    The iteration number is the length of the history, so it advances with
    every iteration (phaul's original loop never advanced its counter, so its
    limit never applied).
    """
    history = list(history)
    if not history:
        raise ValueError('history must hold the pages written by at least the iteration just done')
    for value in history:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError('pages written must be non-negative integers, got %r' % (value,))
    for name, value in (('max_iterations', max_iterations), ('converged_pages', converged_pages),
                        ('growth_pages', growth_pages)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError('%s must be a positive integer, got %r' % (name, value))
    iteration = len(history)
    written = history[-1]
    if written < converged_pages:
        return 'converged'
    if iteration > 1 and written >= history[-2] + growth_pages:
        return 'growth'
    if iteration >= max_iterations:
        return 'max_iterations'
    return None


def pages_written(stats):
    """The pages a dump or pre-dump wrote, private and shared: what the stop
    rules and the migration report read.  phaul reads ``pages_written`` only;
    criu counts the pages of shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS,
    a database's shared buffers) apart, as ``shpages_written``: a final dump
    that wrote 3239 pages, most of them shared, had ``pages_written`` about 20."""
    return (stats.get('pages_written') or 0) + (stats.get('shpages_written') or 0)


# ---------------------------------------------------------------- stats image


def _varint(data, pos):
    value = shift = 0
    while True:
        if pos >= len(data):
            raise StatsError('truncated varint at byte %d' % pos)
        byte = data[pos] if isinstance(data[pos], int) else ord(data[pos])
        pos += 1
        value |= (byte & 0x7f) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise StatsError('varint longer than 10 bytes at byte %d' % pos)


def parse_message(data):
    """A protobuf message as {field number: [values]}: varints as ints,
    length-delimited fields as bytes, fixed ones as ints."""
    fields = {}
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            if pos + 8 > len(data):
                raise StatsError('truncated 64-bit field %d' % number)
            value = struct.unpack('<Q', data[pos:pos + 8])[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            if pos + length > len(data):
                raise StatsError('truncated field %d: %d bytes announced, %d left' % (number, length, len(data) - pos))
            value = bytes(data[pos:pos + length])
            pos += length
        elif wire == 5:
            if pos + 4 > len(data):
                raise StatsError('truncated 32-bit field %d' % number)
            value = struct.unpack('<I', data[pos:pos + 4])[0]
            pos += 4
        else:
            raise StatsError('unsupported wire type %d for field %d' % (wire, number))
        fields.setdefault(number, []).append(value)
    return fields


def _named(fields, names):
    out = {}
    for number, name in names.items():
        values = fields.get(number)
        out[name] = values[-1] if values else None
    return out


def parse_stats(data):
    """The content of a criu stats image (bytes) as
    {'dump': {...} or None, 'restore': {...} or None}."""
    if len(data) < 12:
        raise StatsError('%d bytes: too short for a criu image' % len(data))
    service, magic, length = struct.unpack('<III', data[:12])
    if service != IMG_SERVICE_MAGIC:
        raise StatsError('not a criu service image: magic 0x%08x, expected 0x%08x' % (service, IMG_SERVICE_MAGIC))
    if magic != STATS_MAGIC:
        raise StatsError('not a stats image: magic 0x%08x, expected 0x%08x' % (magic, STATS_MAGIC))
    if 12 + length > len(data):
        raise StatsError('truncated: the entry announces %d bytes, %d follow' % (length, len(data) - 12))
    entry = parse_message(data[12:12 + length])
    out = {'dump': None, 'restore': None}
    if entry.get(1):
        out['dump'] = _named(parse_message(entry[1][-1]), DUMP_STATS_FIELDS)
    if entry.get(2):
        out['restore'] = _named(parse_message(entry[2][-1]), RESTORE_STATS_FIELDS)
    return out


def read_stats(images_dir, name=STATS_DUMP):
    """The statistics criu wrote into ``images_dir`` (``stats-dump`` after a
    dump or pre-dump).  Raises StatsError when missing or malformed."""
    path = os.path.join(images_dir, name)
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except (IOError, OSError) as exc:
        raise StatsError('cannot read %s: %s' % (path, exc))
    try:
        return parse_stats(data)
    except StatsError as exc:
        raise StatsError('%s: %s' % (path, exc))


# ---------------------------------------------------------------- processes


def state(pid):
    """The state letter of ``pid`` (/proc/PID/stat field 3), or None when it
    does not exist."""
    letter = _smoke.stat_field(pid, 3)
    return letter.decode() if letter is not None else None


def read_pidfile(path):
    """The pid criu wrote to ``path`` (--pidfile), or None when there is none or it is no number."""
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (IOError, OSError, ValueError):
        return None


def alive(pid):
    """Does ``pid`` exist and is it not a zombie (or dead)?"""
    return state(pid) not in (None, 'Z', 'X', 'x')


def _children(pid):
    """Direct children of ``pid``: /proc/PID/task/*/children
    (CONFIG_PROC_CHILDREN), else a scan of every process's parent."""
    tasks = '/proc/%d/task' % pid
    try:
        tids = os.listdir(tasks)
    except OSError:
        return []
    out = []
    readable = False
    for tid in tids:
        text = _smoke.read_file(os.path.join(tasks, tid, 'children'))
        if text is None:
            continue
        readable = True
        out.extend(int(p) for p in text.split())
    if readable:
        return out
    for name in os.listdir('/proc'):
        if name.isdigit():
            if _smoke.stat_field(name, 4) == b'%d' % pid:
                out.append(int(name))
    return out


def tree(pid):
    """``pid`` and all its descendants, parents before children; empty when
    ``pid`` does not exist."""
    if not os.path.exists('/proc/%d' % pid):
        return []
    out, todo, seen = [], [pid], set()
    while todo:
        p = todo.pop(0)
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        todo.extend(_children(p))
    return out


def cmdline(pid):
    raw = _smoke.read_file('/proc/%d/cmdline' % pid)
    return [a.decode('utf-8', 'replace') for a in raw.split(b'\0')[:-1]] if raw else []


def _same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
    except OSError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def is_page_server(pid, criu=None):
    """Is ``pid`` a criu page server: ``page-server`` its first argument,
    and its program a criu - one named ``criu*`` (criu, a copy such as
    criu-4.1.1), or the very file ``criu`` (the criu_path it was started
    with, whatever its name: compared with /proc/PID/exe)?"""
    argv = cmdline(pid)
    if len(argv) < 2 or argv[1] != 'page-server':
        return False
    if os.path.basename(argv[0]).startswith('criu'):
        return True
    return criu is not None and _same_file('/proc/%d/exe' % pid, criu)


def signal_pids(pids, sig):
    """Send ``sig`` to each pid that exists; return those it reached."""
    done = []
    for pid in pids:
        try:
            os.kill(pid, sig)
            done.append(pid)
        except OSError:
            pass
    return done


def _reap_if_ours(pid):
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass


def kill_and_wait(pids, timeout):
    """SIGKILL every pid that is alive and wait until every one is gone from
    /proc (a restore needs the pids free again, so a zombie is waited for
    too, until its parent reaps it).  Returns (killed, still alive, zombies
    left at the timeout)."""
    killed = signal_pids([p for p in pids if alive(p)], signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while True:
        for pid in killed:
            _reap_if_ours(pid)
        present = [p for p in pids if state(p) is not None]
        if not present or time.monotonic() >= deadline:
            left = [p for p in present if alive(p)]
            return killed, left, [p for p in present if p not in left]
        time.sleep(0.02)


def ancestors(pid=None):
    """``pid`` (this process by default) and every process above it, its
    parent first, up to init: the parent chain of /proc/PID/stat."""
    pid = os.getpid() if pid is None else pid
    chain = []
    while pid > 0 and pid not in chain:
        chain.append(pid)
        parent = _smoke.stat_field(pid, 4)
        if parent is None:
            break
        pid = int(parent)
    return chain


def check_pids(pids):
    """Why these pids must not be signalled, or None: init, and this module
    with every process it runs under (the shell that started it, Ansible's
    worker, sshd), whose end would end the task itself."""
    chain = ancestors()
    for pid in pids:
        if pid <= 1:
            return 'pid %d cannot be a workload: valid pids are greater than 1' % pid
        if pid in chain:
            return ('pid %d is this module or one of the processes it runs under (%s), not a workload: give the '
                    'pids of the tree to signal' % (pid, ' <- '.join(str(p) for p in chain)))
    return None


# criu writes its images 0600 (criu/include/image.h CR_FD_PERM): they hold the tree's memory.  The
# directory made for them is private too, as runc makes its checkpoint directory
# (libcontainer/criu_linux.go: os.Mkdir(ImagesDirectory, 0o700)).
IMAGES_DIR_MODE = 0o700


def make_images_dir(path):
    """Create the images directory ``path`` (mode IMAGES_DIR_MODE; missing
    parents as the umask says) unless it is one already, whose mode is the
    operator's and left alone."""
    if not os.path.isdir(path):
        os.makedirs(path, IMAGES_DIR_MODE)


def absolute_images_dir(images_dir):
    """(``images_dir`` made absolute, None) or (None, why it cannot be one).
    criu runs in images_dir and is given -D images_dir: a relative one would
    be looked up from inside itself.  An empty one is refused: made absolute
    it would be the module's working directory, which criu would fill with
    images (or restore from) without the operator having named it."""
    if not images_dir:
        return None, ('images_dir must name the images directory (absolute, or relative to the module\'s working '
                      'directory), got %r' % (images_dir,))
    return os.path.abspath(images_dir), None


def parent_problem(images_dir, parent):
    """Why ``parent``, criu's --prev-images-dir relative to the absolute
    ``images_dir`` (e.g. ../1), is not the previous images directory, or
    None.  Checked before anything is created: a bad parent must not leave
    a new images directory or a dangling ``parent`` link behind."""
    if not parent or os.path.isabs(parent):
        return 'parent must be the previous images directory relative to images_dir (e.g. ../1), got %r' % (parent,)
    where = os.path.join(images_dir, parent)
    # The kernel resolves DIR/../1 as criu will (from DIR's real place) once DIR exists; before that, normpath.
    if not os.path.isdir(where if os.path.isdir(images_dir) else os.path.normpath(where)):
        return 'parent %s is not a directory (relative to %s)' % (parent, images_dir)
    return None


def spawn_detached(command, output, cwd='/', env=None):
    """Start ``command`` (a list, or a string run by /bin/sh -c) in a session
    of its own, stdin null (_child.null_stdin()), stdout and stderr appended
    to ``output``, no other inherited fd.  Returns the Popen object."""
    argv = ['/bin/sh', '-c', command] if isinstance(command, str) else list(command)
    with open(output, 'ab') as out:
        # The workload must outlive the module, which run_command cannot do.
        # pylint: disable-next=ansible-bad-function
        return subprocess.Popen(argv, cwd=cwd, stdin=_child.null_stdin(), stdout=out, stderr=out, close_fds=True,
                                start_new_session=True, env=env)


# ---------------------------------------------------------------- criu


class Terminated(Exception):
    """SIGTERM (Ansible's task timeout) while criu ran."""


def _terminated(signum, frame):
    raise Terminated()


def _end(proc):
    """Kill criu with its process group and every process under it (a
    half-restored tree, a page server not yet detached from its launcher),
    then reap it."""
    pids = tree(proc.pid)
    if proc.returncode is None:             # not reaped yet: its pid, so its group's id, is still its own
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass
    signal_pids(pids, signal.SIGKILL)
    return proc.wait()


def criu_problem(criu_path):
    """(the criu to use, None) or (None, why it cannot run)."""
    criu = _smoke.find_criu(criu_path)
    if criu is None:
        where = criu_path or 'PATH, %s' % ', '.join(_smoke.SBIN_DIRS)
        return None, 'criu is not installed (looked for %s)' % where
    problem = _smoke.privilege_problem(criu) or _smoke.proc_problem()
    if problem:
        return criu, problem
    return criu, None


def run_criu(criu, action, args, images_dir, log_name, timeout, private_run=False):
    """Run ``criu ACTION ARGS -o LOG_NAME -v4`` (the log in ``images_dir``,
    criu's work directory), bounded by ``timeout`` seconds.

    criu keeps a kernel-feature cache in /run/criu.kdat (criu/kerndat.c
    kerndat_save_cache()).  ``private_run``: criu gets a private mount
    namespace with a fresh tmpfs on /run, as _smoke does, so the cache neither
    is read nor outlives it; only for commands whose processes need not share
    the host's mounts (the page server: a dumped or restored tree must stay
    in its own mount namespace, or criu would dump that namespace and the
    restored tree would live in another).  Otherwise a cache criu created is
    removed afterwards.  As non-root, or as root without a capability its
    root mode needs (_smoke.unprivileged_mode()), criu runs with
    --unprivileged and keeps its cache in a private XDG_RUNTIME_DIR, removed
    afterwards.

    criu runs in a process group of its own.  At the timeout, or on SIGTERM
    (Ansible's task timeout, which would otherwise end this module and
    leave criu running), criu, its group and every process under it are
    killed and the clean-up below still runs; SIGTERM is then an ``error``.
    No parent-death signal is set: a page server (page-server --daemon)
    must outlive the module.

    Returns {'argv', 'images_dir', 'rc' (negative: killed by that signal),
    'timed_out', 'terminated', 'duration_ms', 'started_at', 'ended_at',
    'log' (criu's lines explaining a failure), 'log_tail', 'reason' (criu's
    first error), 'error' (when criu could not be started, or was ended by
    SIGTERM)}.
    """
    argv = [criu, action] + list(args) + ['-o', log_name, '-v4']
    res = {'argv': argv, 'images_dir': images_dir, 'rc': None, 'timed_out': False, 'terminated': False,
           'duration_ms': None, 'started_at': None, 'ended_at': None, 'log': [], 'log_tail': [], 'reason': None,
           'error': None}
    log_path = os.path.join(images_dir, log_name)
    if os.path.islink(log_path):
        # criu opens its log by name: as root it would write wherever the link points.
        res['error'] = ('refusing to run criu: its log %s is a symbolic link (to %s); remove it'
                        % (log_path, os.readlink(log_path)))
        return res
    env = dict(os.environ)
    env.pop('LISTEN_FDS', None)
    runtime = None
    unprivileged = _smoke.unprivileged_mode()
    if unprivileged:
        argv.append('--unprivileged')
        runtime = tempfile.mkdtemp(prefix='criu-run-')
        env['XDG_RUNTIME_DIR'] = runtime
    # Unsharing the mount namespace needs CAP_SYS_ADMIN (criu's root mode); a tmpfs on /run would hide what criu needs.
    private = private_run and not unprivileged and not _smoke._needs_run(images_dir, criu)
    kdat_existed = os.path.exists(_smoke.KDAT_CACHE)
    out = tempfile.TemporaryFile()
    previous = signal.signal(signal.SIGTERM, _terminated)
    proc = None
    try:
        def preexec():
            # criu gets the signal mask this module had, not the one blocking SIGTERM below.
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            # A group of its own, which the clean-up can end whole without ending this module.
            os.setpgid(0, 0)
            if private and _smoke.private_run() is not None:
                os._exit(PRIVATE_FAILED)
        res['started_at'] = time.time()
        start = time.monotonic()
        # SIGTERM waits until Popen() returns: raised inside it, criu would run on with no handle to end it by.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])
        try:
            # criu's daemons (page-server --daemon) outlive the call, which run_command cannot do.
            # pylint: disable-next=ansible-bad-function
            proc = subprocess.Popen(argv, cwd=images_dir, stdin=_child.null_stdin(), stdout=out, stderr=out,
                                    close_fds=True, env=env, preexec_fn=preexec)
        except OSError as exc:
            res['error'] = 'cannot run %s: %s' % (criu, exc)
            res['ended_at'] = time.time()
            return res
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        try:
            res['rc'] = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            res['timed_out'] = True
            res['rc'] = _end(proc)
        res['duration_ms'] = round((time.monotonic() - start) * 1000, 1)
        res['ended_at'] = time.time()
        out.seek(0)
        printed = out.read().decode('utf-8', 'replace')
        log = _smoke.read_text(os.path.join(images_dir, log_name))
        lines = _smoke.explain_log(printed, 10) if printed.strip() else []
        if log.strip():
            lines += _smoke.explain_log(log)
        res['log_tail'] = (log or printed).splitlines()[-LOG_TAIL:]
        if res['rc'] != 0:
            res['log'] = lines[-_smoke.LOG_MAX:]
            res['reason'] = reason(res['log'], res['rc'])
            if private and res['rc'] == PRIVATE_FAILED and not log.strip():
                res['reason'] = 'criu could not be given a private mount namespace with its own /run (unshare, mount)'
        return res
    except Terminated:
        # A second SIGTERM must not cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        res['terminated'] = True
        if proc is not None:
            res['rc'] = _end(proc)
        res['ended_at'] = time.time()
        res['error'] = ('terminated (SIGTERM, as at the task\'s timeout) while criu %s ran: criu and the processes '
                        'it had started were killed' % action)
        return res
    finally:
        signal.signal(signal.SIGTERM, previous)
        out.close()
        if not private and not kdat_existed:
            _smoke.remove_kdat_cache()
        if runtime:
            shutil.rmtree(runtime, ignore_errors=True)


# criu's first error that explains a failure (shared with criu_smoke).
reason = _smoke.reason


# criu/pstree.c dump_pstree(): "Process: VPID(REAL PID)" for each dumped task.
_PSTREE = re.compile(r'\)\s+Process:\s+\d+\((\d+)\)\s*$')


def dumped_pids(log_text):
    """The real pids of the tasks criu dumped, from its dump log (empty when
    the log has no pstree, as after a pre-dump)."""
    out = []
    for line in log_text.splitlines():
        m = _PSTREE.search(line)
        if m and int(m.group(1)) not in out:
            out.append(int(m.group(1)))
    return out


def failure_message(action, res, timeout):
    """One sentence for a failed criu run, quoting criu."""
    if res.get('error'):
        return res['error']
    if res['timed_out']:
        return 'criu %s did not finish within the timeout of %ss and was killed' % (action, timeout)
    rc = res['rc']
    how = 'exit %d' % rc if rc >= 0 else 'killed by signal %d' % -rc
    return _smoke.with_advice('criu %s failed (%s): %s' % (action, how, res['reason'] or 'no message'), res['reason'],
                              rc=rc, images_dir=res.get('images_dir'))


# ---------------------------------------------------------------- images

# The only symbolic link criu puts in an images directory: --prev-images-dir
# (criu/image.c), a relative link to the previous iteration's images (../1).
PARENT_LINK = 'parent'


def _link_problem(name, target):
    """Why the symbolic link ``name`` -> ``target`` is not criu's parent
    link, or None.  Any other link would let a later criu (run as root)
    write its log or images wherever it points."""
    if os.path.basename(name) != PARENT_LINK:
        return ('%r is a symbolic link: the only one an images directory holds is criu\'s %r link to the '
                'previous images' % (name, PARENT_LINK))
    if not target or os.path.isabs(target):
        return '%r links to %r: criu\'s parent link is relative (e.g. ../1)' % (name, target)
    return None


def _kind(mode):
    for test, word in ((stat.S_ISSOCK, 'a socket'), (stat.S_ISFIFO, 'a FIFO'), (stat.S_ISCHR, 'a character device'),
                       (stat.S_ISBLK, 'a block device')):
        if test(mode):
            return word
    return 'of file type %o' % stat.S_IFMT(mode)


def pack(path):
    """The images directory ``path`` as a tar.gz (bytes), the names packed,
    and what was left out, as ``(data, names, not_packed)``.

    Only what unpack() accepts is packed: regular files, directories, and
    criu's ``parent`` link, which stays a link (nothing is followed out of
    the directory).  ``not_packed`` lists the rest ("NAME (a socket)"):
    sockets and FIFOs (a lazy-pages socket), devices, any other link."""
    buf = io.BytesIO()
    names, not_packed = [], []
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for root, dirs, files in os.walk(path, followlinks=False):
            dirs.sort()
            for name in sorted(dirs + files):
                full = os.path.join(root, name)
                rel = os.path.relpath(full, path)
                mode = os.lstat(full).st_mode
                if stat.S_ISDIR(mode):
                    tar.add(full, arcname=rel, recursive=False)
                    continue
                if stat.S_ISLNK(mode):
                    target = os.readlink(full)
                    if _link_problem(rel, target):
                        not_packed.append('%s (a symbolic link to %s)' % (rel, target))
                        continue
                elif not stat.S_ISREG(mode):
                    not_packed.append('%s (%s)' % (rel, _kind(mode)))
                    continue
                tar.add(full, arcname=rel, recursive=False)
                names.append(rel)
    return buf.getvalue(), names, not_packed


def _member_problem(member):
    name = member.name
    if not name or name.startswith('/') or os.path.isabs(name):
        return 'absolute path %r' % name
    if '..' in name.replace('\\', '/').split('/'):
        return 'path %r leaves the directory' % name
    if member.issym():
        return _link_problem(name, member.linkname)
    if not (member.isfile() or member.isdir()):
        return '%r is neither a file, a directory nor criu\'s parent link' % name
    return None


def _prefixes(name):
    """The directories ``name`` (normalised) is under: a/b/c -> a, a/b."""
    parts = name.split('/')
    return ['/'.join(parts[:i]) for i in range(1, len(parts))]


def _archive_problem(found):
    """Why the members, each acceptable alone, cannot be written together:
    one under a link or a file of the archive, or a name that is both a
    directory and something else.  None when they can."""
    kinds = {}
    for member in found:
        name = os.path.normpath(member.name)
        kind = 'directory' if member.isdir() else 'link' if member.issym() else 'file'
        before = kinds.setdefault(name, kind)
        if before != kind and 'directory' in (before, kind):
            return '%r is both a directory and a %s' % (member.name, before if kind == 'directory' else kind)
    for member in found:
        for prefix in _prefixes(os.path.normpath(member.name)):
            if kinds.get(prefix) == 'link':
                return '%r goes through the symbolic link %r of the archive' % (member.name, prefix)
            if kinds.get(prefix) == 'file':
                return '%r is under %r, a file of the archive' % (member.name, prefix)
    return None


def _inside(path, real):
    return path == real or path.startswith(real + os.sep)


def _disk_problem(found, path):
    """Why writing the members under ``path`` would leave it or replace
    what is there (an existing link leading outside, a file where a
    directory must be, a directory where a file must be), or None."""
    real = os.path.realpath(path)
    for member in found:
        name = os.path.normpath(member.name)
        dest = os.path.join(path, name)
        # A directory member may itself be an existing link; a file or link member replaces its own name.
        where = os.path.realpath(dest if member.isdir() else os.path.dirname(dest))
        if not _inside(where, real):
            return '%r would be written outside %s (through %s)' % (member.name, path, where)
        for prefix in _prefixes(name):
            above = os.path.join(path, prefix)
            if os.path.lexists(above) and not os.path.isdir(above):
                return '%r would be written under %s, which is not a directory' % (member.name, above)
        if member.isdir():
            if os.path.lexists(dest) and not os.path.isdir(dest):
                return '%r would replace %s, which is not a directory' % (member.name, dest)
        elif os.path.isdir(dest) and not os.path.islink(dest):
            return '%r would replace the directory %s' % (member.name, dest)
    return None


def members(content, path=None):
    """The members of a base64 tar.gz, checked: raises ValueError naming
    the first member that is absolute, leaves the directory (``..``), is
    not a file, a directory or criu's relative ``parent`` link, or goes
    through a link of the archive; with ``path``, also one that an existing
    file or link under ``path`` would send outside it or that would replace
    a directory.  Every check is made here, before anything is written, so
    that check mode refuses what the real run refuses."""
    try:
        data = base64.b64decode(content, validate=True)
    except (TypeError, ValueError) as exc:
        raise ValueError('content is not base64: %s' % exc)
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode='r:gz')
        found = tar.getmembers()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise ValueError('content is not a tar.gz archive: %s' % exc)
    for member in found:
        problem = _member_problem(member)
        if problem:
            raise ValueError('refusing the archive: %s' % problem)
    problem = _archive_problem(found) or (_disk_problem(found, path) if path is not None else None)
    if problem:
        raise ValueError('refusing the archive: %s' % problem)
    return tar, found


def unpack(content, path):
    """Write the archive ``content`` (base64 tar.gz) under ``path``
    (created as needed), once members() accepted all of it.  Returns the
    names written."""
    tar, found = members(content, path)
    written = []
    make_images_dir(path)
    real = os.path.realpath(path)
    for member in found:
        dest = os.path.join(real, os.path.normpath(member.name))
        parent = os.path.dirname(dest)
        # members() checked this; only a change on disk since then can fail it.
        if not _inside(os.path.realpath(parent), real):
            raise ValueError('refusing the archive: %r would be written outside %s' % (member.name, path))
        if member.isdir():
            if not os.path.isdir(dest):
                os.makedirs(dest)
            continue
        if not os.path.isdir(parent):
            os.makedirs(parent)
        if os.path.lexists(dest):
            os.unlink(dest)
        if member.issym():
            os.symlink(member.linkname, dest)
        else:
            src = tar.extractfile(member)
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, member.mode & 0o777 or 0o600)
            with os.fdopen(fd, 'wb') as f:
                shutil.copyfileobj(src, f)
        written.append(member.name)
    return written
