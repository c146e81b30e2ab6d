# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_phaul answers the other tests left open: each asserts something a migration step tells or does
(a statistic read from criu's image, which processes are a tree, alive, a page server, what may be
signalled, a parent directory, how long a kill takes) that a small change in _phaul.py would get
wrong without another test noticing.  The processes are real ones; only the kernel's
/proc/PID/task/TID/children (CONFIG_PROC_CHILDREN, fixed at build time) is hidden, to reach the scan
that replaces it."""

import base64
import os
import stat
import struct
import subprocess
import time

import pytest

import process_list
from test_phaul import _fake_criu, _image

from ansible_collections.criu.check.plugins.module_utils import _phaul
from ansible_collections.criu.check.plugins.module_utils import _smoke


# ---------------------------------------------------------------- stats image


def test_fixed_width_fields_are_read_and_skipped_to_the_next_field():
    """A stats entry criu may grow with a double or a fixed32: the fields after them still read right."""
    data = (bytes([0x09]) + struct.pack('<Q', 2 ** 40 + 3)       # field 1, 64-bit
            + bytes([0x15]) + struct.pack('<I', 70000)         # field 2, 32-bit
            + bytes([0x38, 0x2a]))                              # field 7 = 42 (pages_written)
    assert _phaul.parse_message(data) == {1: [2 ** 40 + 3], 2: [70000], 7: [42]}
    dump = bytes([0x39]) + struct.pack('<Q', 7) + bytes([0x38, 0x2a])   # unknown 64-bit 7, then 7 = 42
    stats = _phaul.parse_stats(_image(bytes([0x0a, len(dump)]) + dump))
    assert stats['dump']['pages_written'] == 42


@pytest.mark.parametrize('data,needle', [
    (bytes([0x09]) + b'\0' * 7, 'truncated 64-bit field 1'),
    (bytes([0x15]) + b'\0' * 3, 'truncated 32-bit field 2'),
])
def test_truncated_fixed_width_fields_are_refused(data, needle):
    with pytest.raises(_phaul.StatsError, match='^%s$' % needle):
        _phaul.parse_message(data)
    assert _phaul.parse_message(data + b'\0') is not None      # one byte more is whole


def test_an_entry_longer_than_the_image_is_refused_with_both_sizes():
    data = struct.pack('<III', _phaul.IMG_SERVICE_MAGIC, _phaul.STATS_MAGIC, 40) + b'\x0a\x02'
    with pytest.raises(_phaul.StatsError, match='^truncated: the entry announces 40 bytes, 2 follow$'):
        _phaul.parse_stats(data)


def test_bytes_after_the_entry_are_not_read_as_fields():
    dump = bytes([0x38, 0x05])
    stats = _phaul.parse_stats(_image(bytes([0x0a, len(dump)]) + dump) + b'\x0b\xff')
    assert stats['dump']['pages_written'] == 5 and stats['restore'] is None


# ---------------------------------------------------------------- processes


def _wait(cond, what):
    assert process_list.until(cond, 5), what


@pytest.fixture
def zombie_family():
    """A parent that never reaps (it exec'd sleep) and its child: (parent pid, child pid)."""
    proc = subprocess.Popen(['/bin/sh', '-c', 'sleep 60 & exec sleep 61'], start_new_session=True)
    try:
        _wait(lambda: len(_phaul.tree(proc.pid)) == 2 and _phaul.cmdline(proc.pid)[:2] == ['sleep', '61'],
              'the child was not started')
        yield proc.pid, _phaul.tree(proc.pid)[1]
    finally:
        try:
            os.killpg(proc.pid, 9)
        except ProcessLookupError:      # the test killed them all
            pass
        proc.wait()


def test_a_killed_process_its_parent_does_not_reap_is_a_zombie_not_alive(zombie_family):
    parent, child = zombie_family
    start = time.monotonic()
    killed, left, zombies = _phaul.kill_and_wait([child], 0.5)
    assert (killed, left, zombies) == ([child], [], [child])
    assert _phaul.state(child) == 'Z' and not _phaul.alive(child) and _phaul.alive(parent)
    assert time.monotonic() - start >= 0.5


def test_a_kill_returns_once_the_processes_are_gone_not_at_the_timeout(zombie_family):
    parent, child = zombie_family
    start = time.monotonic()
    assert _phaul.kill_and_wait([parent, child], 20) == ([parent, child], [], [])
    assert time.monotonic() - start < 10


def test_the_tree_without_proc_children_is_found_by_the_parents_of_all(monkeypatch):
    """Kernels without CONFIG_PROC_CHILDREN have no task/TID/children file: every process's parent
    tells (the parent's, not the process group's: the child is in a session of its own)."""
    proc = subprocess.Popen(['/bin/sh', '-c', 'setsid sleep 60 & exec sleep 61'], start_new_session=True)
    try:
        # the child is sleep once setsid(1) has made its session and exec'd it
        _wait(lambda: len(_phaul.tree(proc.pid)) == 2 and _phaul.cmdline(proc.pid)[:2] == ['sleep', '61']
              and _phaul.cmdline(_phaul.tree(proc.pid)[1])[:2] == ['sleep', '60'], 'the child was not started')
        parent, child = _phaul.tree(proc.pid)
        assert os.getpgid(child) != parent
        _tree_without_proc_children(monkeypatch, parent, child)
    finally:
        _phaul.kill_and_wait(_phaul.tree(proc.pid), 10)
        proc.wait()


def _tree_without_proc_children(monkeypatch, parent, child):
    real = _smoke.read_file

    def no_children(path, *args, **kwargs):
        return None if path.endswith('/children') else real(path, *args, **kwargs)

    monkeypatch.setattr(_smoke, 'read_file', no_children)
    assert _phaul.tree(parent) == [parent, child]
    assert _phaul.tree(child) == [child]


def test_the_command_line_is_every_argument_even_one_not_utf8(tmp_path):
    argv = [b'criu', b'page-server', b'-D', b'caf\xe9']
    (tmp_path / 'page-server').write_text('sleep 30\n')
    proc = subprocess.Popen(argv, executable='/bin/sh', cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: _phaul.cmdline(proc.pid)[:1] == ['criu'], 'the process did not start')
        assert _phaul.cmdline(proc.pid) == ['criu', 'page-server', '-D', 'caf\ufffd']
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


@pytest.mark.parametrize('argv,criu,expected', [
    (['criu', 'page-server'], None, True),              # nothing after the action
    (['criu', 'dump', '-t', '1'], None, False),         # a criu, but a dump: never stopped as a page server
    (['/opt/ckpt', 'page-server'], '/nonexistent/criu', False),   # a criu_path that is no file matches nothing
])
def test_only_a_criu_page_server_is_a_page_server(tmp_path, argv, criu, expected):
    (tmp_path / argv[1]).write_text('sleep 30\n')      # sh runs its first argument, a sleep
    proc = subprocess.Popen(argv, executable='/bin/sh', cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait(lambda: _phaul.cmdline(proc.pid)[:1] == argv[:1], 'the process did not start')
        assert _phaul.is_page_server(proc.pid, criu) is expected
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_pid_2_may_be_a_workload():
    """In a container's pid namespace pid 2 is an ordinary process; only 1 (and below) is refused."""
    assert _phaul.check_pids([2]) is None
    assert 'valid pids are greater than 1' in _phaul.check_pids([1])


# ---------------------------------------------------------------- parent, criu


def test_the_parent_is_the_previous_images_directory_relative_to_the_new_one(tmp_path):
    (tmp_path / '1').mkdir()
    new = str(tmp_path / '2')
    assert _phaul.parent_problem(new, '../1') is None
    assert _phaul.parent_problem(new, '../3') == 'parent ../3 is not a directory (relative to %s)' % new
    for bad in (str(tmp_path / '1'), ''):
        assert _phaul.parent_problem(new, bad).startswith('parent must be the previous images directory relative')


def test_criu_not_installed_names_where_it_was_looked_for(monkeypatch):
    assert _phaul.criu_problem('/nonexistent/criu') == (None, 'criu is not installed (looked for /nonexistent/criu)')
    monkeypatch.setattr(_smoke, 'find_criu', lambda path: None)
    assert _phaul.criu_problem(None) == (None, 'criu is not installed (looked for PATH, /sbin, /usr/sbin, '
                                               '/usr/local/sbin)')


# ---------------------------------------------------------------- running criu (a script in its place)

RESULT_KEYS = {'argv', 'images_dir', 'rc', 'timed_out', 'terminated', 'duration_ms', 'started_at', 'ended_at', 'log', 'log_tail',
               'reason', 'error'}


def test_a_criu_that_cannot_run_still_gives_every_key_the_modules_read(tmp_path):
    """criu_dump and criu_restore build their result from these keys: a missing one was a KeyError."""
    res = _phaul.run_criu(str(tmp_path / 'missing'), 'dump', [], str(tmp_path), 'dump.log', 5)
    assert set(res) == RESULT_KEYS and res['duration_ms'] is None and res['log'] == [] and res['log_tail'] == []
    assert res['started_at'] <= res['ended_at'] and res['timed_out'] is False and res['terminated'] is False


def test_how_long_criu_ran_is_measured_in_milliseconds(tmp_path):
    res = _phaul.run_criu(_fake_criu(tmp_path, 'sleep 0.3\n'), 'dump', [], str(tmp_path), 'dump.log', 10)
    assert set(res) == RESULT_KEYS and res['rc'] == 0 and res['reason'] is None
    assert 250 <= res['duration_ms'] < 5000
    assert 0.25 <= res['ended_at'] - res['started_at'] < 5


def _namespace_and_env(tmp_path, private_run):
    criu = _fake_criu(tmp_path, 'readlink /proc/self/ns/mnt > ns; env > env\n')
    kwargs = {} if private_run is None else {'private_run': private_run}
    res = _phaul.run_criu(criu, 'page-server', [], str(tmp_path), 'ps.log', 10, **kwargs)
    assert res['rc'] == 0, res
    return (tmp_path / 'ns').read_text().strip(), (tmp_path / 'env').read_text()


@pytest.mark.parametrize('private_run', [None, False, True])
def test_only_a_private_run_gets_a_mount_namespace_of_its_own(tmp_path, private_run):
    """A dumped or restored tree must stay in the host's mount namespace (else criu dumps another one),
    a page server gets its own, with its own /run for criu's cache."""
    if os.geteuid() != 0:
        pytest.skip('only root unshares the mount namespace')
    ns, env = _namespace_and_env(tmp_path, private_run)
    assert (ns != os.readlink('/proc/self/ns/mnt')) is bool(private_run)


def test_criu_does_not_inherit_a_socket_activation(tmp_path, monkeypatch):
    monkeypatch.setenv('LISTEN_FDS', '1')
    ns, env = _namespace_and_env(tmp_path, False)
    assert 'LISTEN_FDS=' not in env and 'PATH=' in env


def test_the_kdat_cache_criu_created_is_removed_one_there_before_kept(tmp_path):
    """criu/kerndat.c writes /run/criu.kdat: left behind it would outlive what was asked."""
    if os.path.lexists(_smoke.KDAT_CACHE) or os.geteuid() != 0:
        pytest.skip('%s is there already (or this is not root): it is not this test\'s to touch' % _smoke.KDAT_CACHE)
    criu = _fake_criu(tmp_path, 'echo cache > %s\n' % _smoke.KDAT_CACHE)
    try:
        assert _phaul.run_criu(criu, 'dump', [], str(tmp_path), 'dump.log', 10)['rc'] == 0
        assert not os.path.lexists(_smoke.KDAT_CACHE)
        with open(_smoke.KDAT_CACHE, 'w') as f:
            f.write('there before\n')
        assert _phaul.run_criu(criu, 'dump', [], str(tmp_path), 'dump.log', 10)['rc'] == 0
        assert os.path.exists(_smoke.KDAT_CACHE)
    finally:
        if os.path.lexists(_smoke.KDAT_CACHE):
            os.unlink(_smoke.KDAT_CACHE)


# ---------------------------------------------------------------- images archive


def test_a_subdirectory_is_packed_without_what_unpack_refuses_in_it(tmp_path):
    """A FIFO below the top directory is left out as one at the top is: packing the
    subdirectory whole would put it in an archive the destination then refuses."""
    src = tmp_path / 'src'
    (src / 'sub').mkdir(parents=True)
    (src / 'sub' / 'pages.img').write_bytes(b'pages')
    os.mkfifo(str(src / 'sub' / 'fifo'))
    data, names, not_packed = _phaul.pack(str(src))
    assert names == ['sub/pages.img'] and not_packed == ['sub/fifo (a FIFO)']
    dummy, found = _phaul.members(base64.b64encode(data))
    assert sorted(m.name for m in found) == ['sub', 'sub/pages.img']


def test_unpacking_again_into_the_same_directory_works_and_keeps_file_modes(tmp_path):
    """The role unpacks beside what the page server wrote: directories already there are kept."""
    src = tmp_path / 'src'
    (src / 'sub').mkdir(parents=True)
    for name, mode in (('kept.img', 0o640), ('sub/none.img', 0)):
        (src / name).write_bytes(b'x')
        os.chmod(str(src / name), mode)
    content = base64.b64encode(_phaul.pack(str(src))[0])
    dst = tmp_path / 'dst'
    for dummy in range(2):
        assert sorted(_phaul.unpack(content, str(dst))) == ['kept.img', 'sub/none.img']
    assert stat.S_IMODE(os.stat(str(dst / 'kept.img')).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(str(dst / 'sub' / 'none.img')).st_mode) == 0o600     # no mode: the owner's only
