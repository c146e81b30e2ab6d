# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_phaul's logic: phaul's stop rules, the reader of criu's stats image (on
an image real criu 4.1.1 wrote, and against the field numbers of criu's own
stats.proto as Debian 12's pycriu carries it), the images archive's safety
checks on real tar files, and the helpers that read criu's log."""

import base64
import io
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time

import pytest

import conftest
from conftest import drop_effective_caps, in_child, requires_root
import process_list

from ansible_collections.criu.check.plugins.module_utils import _phaul
from ansible_collections.criu.check.plugins.module_utils import _smoke
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures')
# Written by criu 4.1.1 (Debian 13) dumping a shell counter to a page server
# (tests/integration/migration_steps/steps.yml); 47 bytes.
STATS_DUMP = os.path.join(FIXTURES, 'stats-dump.criu-4.1.1')


# ---------------------------------------------------------------- stop rules


def test_each_rule_fires_alone():
    assert _phaul.stop_reason([63]) == 'converged'
    assert _phaul.stop_reason([100, 132]) == 'growth'
    assert _phaul.stop_reason([100] * 8) == 'max_iterations'


def test_no_rule_fires_goes_on():
    assert _phaul.stop_reason([64]) is None                  # exactly the threshold: not converged
    assert _phaul.stop_reason([100, 131]) is None            # one page short of growth
    assert _phaul.stop_reason([100, 90]) is None             # shrinking
    assert _phaul.stop_reason([100] * 7) is None             # one iteration short of the limit


def test_the_first_iteration_never_grows():
    assert _phaul.stop_reason([10000]) is None


def test_order_converged_before_growth_before_limit():
    # Converged wins even when it is also the 8th iteration.
    assert _phaul.stop_reason([100] * 7 + [10]) == 'converged'
    # Converged wins over growth when the thresholds let both apply.
    assert _phaul.stop_reason([0, 40], converged_pages=64, growth_pages=32) == 'converged'
    # Growth wins over the limit.
    assert _phaul.stop_reason([100] * 7 + [200]) == 'growth'


def test_iterations_are_counted_by_the_history():
    """phaul's original loop never advanced its iteration counter, so its
    limit of 8 never applied: here the 8th iteration stops, whatever the
    pages, and the same pages at iteration 7 do not."""
    steady = []
    reasons = []
    for dummy in range(12):
        steady.append(500)
        reasons.append(_phaul.stop_reason(steady))
    assert reasons.index('max_iterations') == 7
    assert reasons[:7] == [None] * 7


def test_thresholds_are_parameters():
    assert _phaul.stop_reason([100], converged_pages=101) == 'converged'
    assert _phaul.stop_reason([100, 110], growth_pages=10) == 'growth'
    assert _phaul.stop_reason([100, 110], growth_pages=11) is None
    assert _phaul.stop_reason([100, 100, 100], max_iterations=3) == 'max_iterations'
    assert _phaul.stop_reason([100, 100], max_iterations=3) is None
    assert _phaul.stop_reason([100], max_iterations=1) == 'max_iterations'


@pytest.mark.parametrize('args,kwargs,needle', [
    (([],), {}, 'at least the iteration just done'),
    (([10, -1],), {}, 'non-negative integers'),
    (([10, 'x'],), {}, 'non-negative integers'),
    (([True],), {}, 'non-negative integers'),
    (([100],), {'max_iterations': 0}, 'max_iterations must be a positive integer'),
    (([100],), {'growth_pages': -2}, 'growth_pages must be a positive integer'),
    (([100],), {'converged_pages': 1.5}, 'converged_pages must be a positive integer'),
])
def test_bad_input_is_refused(args, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        _phaul.stop_reason(*args, **kwargs)


# ---------------------------------------------------------------- stats image


def test_reads_a_stats_dump_written_by_criu_411():
    stats = _phaul.read_stats(FIXTURES, os.path.basename(STATS_DUMP))
    dump = stats['dump']
    assert stats['restore'] is None
    assert set(dump) == set(_phaul.DUMP_STATS_FIELDS.values())
    # A two-process shell tree: a few dozen pages written of about a hundred scanned, no parent.
    assert 0 < dump['pages_written'] <= dump['pages_scanned'] < 1000
    assert dump['pages_skipped_parent'] == 0 and dump['pages_lazy'] == 0
    assert dump['frozen_time_us'] > dump['freezing_time_us'] > 0
    assert dump['page_pipes'] >= 1


def test_pages_written_counts_shared_pages_too():
    """The stop rules read private and shared pages (phaul read the private ones only)."""
    dump = _phaul.read_stats(FIXTURES, os.path.basename(STATS_DUMP))['dump']
    assert _phaul.pages_written(dump) == dump['pages_written'] + (dump['shpages_written'] or 0)
    assert _phaul.pages_written({'pages_written': 21, 'shpages_written': 900}) == 921
    assert _phaul.pages_written({'pages_written': 21, 'shpages_written': None}) == 21
    assert _phaul.pages_written({'pages_written': None}) == 0
    assert _phaul.stop_reason([765, _phaul.pages_written({'pages_written': 21, 'shpages_written': 900})]) == 'growth'


def test_the_file_is_what_criu_image_c_writes():
    with open(STATS_DUMP, 'rb') as f:
        data = f.read()
    service, magic, length = struct.unpack('<III', data[:12])
    assert (service, magic) == (_phaul.IMG_SERVICE_MAGIC, _phaul.STATS_MAGIC)
    assert len(data) == 12 + length


def _debian12_pycriu():
    """pycriu's images package from Debian 12's criu (conftest.debian12_criu)."""
    root = conftest.debian12_criu('path').strip()
    images = os.path.join(root, 'root', 'usr', 'lib', 'python3', 'dist-packages', 'pycriu', 'images')
    assert os.path.isdir(images), "Debian 12's criu unpacked without pycriu: %s" % images
    return images


def test_field_numbers_and_magics_match_pycriu():
    """pycriu's generated stats_pb2.py holds criu's stats.proto as a
    serialized FileDescriptorProto: read it with the same protobuf reader
    and compare every name and number; and magic.py's two magics."""
    images = _debian12_pycriu()
    with open(os.path.join(images, 'stats_pb2.py')) as f:
        text = f.read()
    start = text.index("AddSerializedFile(b'") + len("AddSerializedFile(")
    end = text.index("')", start) + 1
    descriptor = eval(text[start:end], {'__builtins__': {}})   # a bytes literal, nothing else
    messages = {}
    for raw in _phaul.parse_message(descriptor)[4]:              # FileDescriptorProto.message_type
        msg = _phaul.parse_message(raw)
        fields = {}
        for rawf in msg.get(2, []):                              # DescriptorProto.field
            f = _phaul.parse_message(rawf)
            fields[f[3][0]] = f[1][0].decode()                   # number -> name
        messages[msg[1][0].decode()] = fields
    assert messages['stats_entry'] == {1: 'dump', 2: 'restore'}
    ours = dict((n, name.replace('_us', '')) for n, name in _phaul.DUMP_STATS_FIELDS.items())
    assert messages['dump_stats_entry'] == ours
    ours = dict((n, name.replace('_us', '')) for n, name in _phaul.RESTORE_STATS_FIELDS.items())
    assert messages['restore_stats_entry'] == ours
    magics = {}
    with open(os.path.join(images, 'magic.py')) as f:
        for line in f:
            if line.startswith("by_name['"):
                key, value = line.split("'")[1], int(line.split('=')[1])
                magics[key] = value
    assert magics['IMG_SERVICE'] == _phaul.IMG_SERVICE_MAGIC and magics['STATS'] == _phaul.STATS_MAGIC


def _image(entry):
    return struct.pack('<III', _phaul.IMG_SERVICE_MAGIC, _phaul.STATS_MAGIC, len(entry)) + entry


def test_a_restore_entry_and_unknown_fields():
    restore = bytes([0x08, 0x05, 0x10, 0x02, 0x28, 0x96, 0x01, 0x78, 0x01])  # 1=5, 2=2, 5=150, unknown 15=1
    stats = _phaul.parse_stats(_image(bytes([0x12, len(restore)]) + restore))
    assert stats['dump'] is None
    assert stats['restore'] == {'pages_compared': 5, 'pages_skipped_cow': 2, 'pages_restored': 150,
                                'forking_time_us': None, 'restore_time_us': None}


@pytest.mark.parametrize('data,needle', [
    (b'\x40\x59\x10\x55', 'too short'),
    (struct.pack('<III', 0x12345678, _phaul.STATS_MAGIC, 0), 'not a criu service image'),
    (struct.pack('<III', _phaul.IMG_SERVICE_MAGIC, 0x58313116, 0), 'not a stats image'),
    (struct.pack('<III', _phaul.IMG_SERVICE_MAGIC, _phaul.STATS_MAGIC, 40) + b'\x0a\x02', 'truncated'),
    (_image(b'\x0a\x05\x08'), 'truncated field 1'),
    (_image(b'\x08\xff\xff'), 'truncated varint'),
    (_image(b'\x0b'), 'unsupported wire type 3'),
])
def test_malformed_images_are_refused(data, needle):
    with pytest.raises(_phaul.StatsError, match=needle):
        _phaul.parse_stats(data)


def test_a_missing_image_is_a_stats_error(tmp_path):
    with pytest.raises(_phaul.StatsError, match='cannot read .*stats-dump'):
        _phaul.read_stats(str(tmp_path))


# ---------------------------------------------------------------- images archive


def test_pack_and_unpack_keep_the_parent_link(tmp_path):
    src = tmp_path / 'src' / '2'
    (tmp_path / 'src' / '1').mkdir(parents=True)
    (tmp_path / 'src' / '1' / 'pages-1.img').write_bytes(b'old pages')
    src.mkdir()
    (src / 'core-7.img').write_bytes(b'\x00\x01core')
    (src / 'sub').mkdir()
    (src / 'sub' / 'x.img').write_bytes(b'x')
    os.symlink('../1', str(src / 'parent'))
    data, names, not_packed = _phaul.pack(str(src))
    assert names == ['core-7.img', 'parent', 'sub/x.img'] and not_packed == []
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tar:
        member = tar.getmember('parent')
        assert member.issym() and member.linkname == '../1'          # not followed: no pages-1.img
        assert 'pages-1.img' not in tar.getnames() and 'parent/pages-1.img' not in tar.getnames()
    dst = tmp_path / 'dst' / '2'
    written = _phaul.unpack(base64.b64encode(data), str(dst))
    assert sorted(written) == names
    assert os.readlink(str(dst / 'parent')) == '../1'
    assert (dst / 'core-7.img').read_bytes() == b'\x00\x01core' and (dst / 'sub' / 'x.img').read_bytes() == b'x'


def _archive(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, kind, extra in members:
            info = tarfile.TarInfo(name)
            if kind == 'file':
                info.size = len(extra)
                tar.addfile(info, io.BytesIO(extra))
            else:
                info.type = kind
                info.linkname = extra or ''
                tar.addfile(info)
    return base64.b64encode(buf.getvalue())


@pytest.mark.parametrize('members,needle', [
    ([('ok.img', 'file', b'1'), ('/etc/evil', 'file', b'x')], "absolute path '/etc/evil'"),
    ([('../evil', 'file', b'x')], "path '../evil' leaves the directory"),
    ([('a/../../evil', 'file', b'x')], 'leaves the directory'),
    ([('dev', tarfile.CHRTYPE, None)], "neither a file, a directory nor criu's parent link"),
    ([('hard', tarfile.LNKTYPE, 'ok.img')], 'neither a file'),
])
def test_unsafe_archives_are_refused_before_writing(tmp_path, members, needle):
    dst = tmp_path / 'dst'
    with pytest.raises(ValueError, match=needle):
        _phaul.unpack(_archive(*members), str(dst))
    assert not dst.exists()


# What criu puts in an images directory besides files and directories is its relative parent link (../1),
# nothing else: any other link would let criu restore, run as root, write its log through it.
@pytest.mark.parametrize('members,needle', [
    ([('ok.img', 'file', b'1'), ('restore.log', tarfile.SYMTYPE, '/tmp/victim')],
     "'restore.log' is a symbolic link: the only one an images directory holds is criu's 'parent' link"),
    ([('restore.log', tarfile.SYMTYPE, 'parent/../x')], "'restore.log' is a symbolic link"),
    ([('parent', tarfile.SYMTYPE, '/var/tmp/1')], "'parent' links to '/var/tmp/1': criu's parent link is relative"),
    ([('parent', tarfile.SYMTYPE, '')], 'is relative'),
    ([('a', tarfile.SYMTYPE, '/outside'), ('a/x', 'file', b'x')], "'a' is a symbolic link"),
    ([('parent', tarfile.SYMTYPE, '../1'), ('parent/x', 'file', b'x')],
     "'parent/x' goes through the symbolic link 'parent' of the archive"),
    ([('parent/x', 'file', b'x'), ('parent', tarfile.SYMTYPE, '../1')], 'goes through the symbolic link'),
    ([('./parent', tarfile.SYMTYPE, '../1'), ('parent//sub/x', 'file', b'x')], 'goes through the symbolic link'),
    ([('x.img', 'file', b'1'), ('x.img/y', 'file', b'x')], "'x.img/y' is under 'x.img', a file of the archive"),
    ([('d', tarfile.DIRTYPE, None), ('d', 'file', b'x')], "'d' is both a directory and a file"),
    ([('ok.img', 'file', b'1'), ('fifo', tarfile.FIFOTYPE, None)], "neither a file, a directory nor criu's parent"),
])
def test_links_and_what_goes_through_them_are_refused_before_writing(tmp_path, members, needle):
    dst = tmp_path / 'u'
    content = _archive(*members)
    with pytest.raises(ValueError, match=re.escape(needle)):
        _phaul.members(content, str(dst))                 # what check mode runs
    with pytest.raises(ValueError, match=re.escape(needle)):
        _phaul.unpack(content, str(dst))
    assert not dst.exists()


def _existing_link_outside(tmp_path):
    """An images directory holding a link to a directory outside it (a stale parent, or planted)."""
    outside = tmp_path / 'outside'
    outside.mkdir()
    dst = tmp_path / 'u'
    dst.mkdir()
    os.symlink(str(outside), str(dst / 'sub'))
    return dst, outside


@pytest.mark.parametrize('members,needle', [
    ([('a.img', 'file', b'1'), ('sub/x', 'file', b'x')], "'sub/x' would be written outside"),
    ([('a.img', 'file', b'1'), ('sub', tarfile.DIRTYPE, None), ('sub/x', 'file', b'x')], "'sub' would be written"),
    ([('a.img', 'file', b'1'), ('keep/core.img', 'file', b'x')], "would replace the directory"),
    ([('a.img', 'file', b'1'), ('file.img/x', 'file', b'x')], 'which is not a directory'),
    ([('a.img', 'file', b'1'), ('file.img', tarfile.DIRTYPE, None)], "'file.img' would replace"),
])
def test_what_is_on_disk_is_checked_before_writing(tmp_path, members, needle):
    dst, outside = _existing_link_outside(tmp_path)
    (dst / 'keep' / 'core.img').mkdir(parents=True)
    (dst / 'file.img').write_bytes(b'f')
    before = sorted(os.listdir(str(dst)))
    content = _archive(*members)
    with pytest.raises(ValueError, match=re.escape(needle)):
        _phaul.members(content, str(dst))
    with pytest.raises(ValueError, match=re.escape(needle)):
        _phaul.unpack(content, str(dst))
    assert sorted(os.listdir(str(dst))) == before and os.listdir(str(outside)) == []   # not even a.img


def test_an_existing_link_is_replaced_not_written_through(tmp_path):
    """A file member whose name is an existing link on disk replaces the link."""
    victim = tmp_path / 'victim'
    victim.write_bytes(b'keep')
    dst = tmp_path / 'u'
    dst.mkdir()
    os.symlink(str(victim), str(dst / 'restore.log'))
    os.symlink('../1', str(dst / 'parent'))
    assert _phaul.unpack(_archive(('restore.log', 'file', b'new'), ('parent', tarfile.SYMTYPE, '../0')),
                         str(dst)) == ['restore.log', 'parent']
    assert victim.read_bytes() == b'keep' and not os.path.islink(str(dst / 'restore.log'))
    assert os.readlink(str(dst / 'parent')) == '../0'


def test_pack_leaves_out_what_unpack_refuses(tmp_path):
    """Sockets are not archived by tarfile, FIFOs are and then refused by unpack: neither is packed, nor a
    link other than criu's parent; what was left out is said, and files lists only what is archived."""
    with conftest.images_dir_with_special_files(tmp_path / 'src') as src:
        (src / 'core.img').write_bytes(b'core')
        os.symlink('/tmp/victim', str(src / 'restore.log'))
        os.symlink('/var/tmp/1', str(src / 'parent'))
        data, names, not_packed = _phaul.pack(str(src))
    assert names == ['core.img']
    assert not_packed == ['fifo (a FIFO)', 'lazy-pages.socket (a socket)', 'parent (a symbolic link to /var/tmp/1)',
                          'restore.log (a symbolic link to /tmp/victim)']
    with tarfile.open(fileobj=io.BytesIO(data), mode='r:gz') as tar:
        assert tar.getnames() == ['core.img']
    assert _phaul.unpack(base64.b64encode(data), str(tmp_path / 'dst')) == names


@pytest.mark.parametrize('content,needle', [(b'***', 'not base64'), (base64.b64encode(b'plain'), 'not a tar.gz')])
def test_not_an_archive(tmp_path, content, needle):
    with pytest.raises(ValueError, match=needle):
        _phaul.unpack(content, str(tmp_path))


# ---------------------------------------------------------------- criu's log


def test_reason_skips_what_criu_goes_on_after_and_its_summary():
    log = ["(00.036570) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted",
           '(00.036967) No pidns-1.img image',
           "(00.037435) Error (criu/cr-restore.c:1230): Can't fork for 13228: File exists",
           '(00.037600) Error (criu/cr-restore.c:2320): Restoring FAILED.']
    assert _phaul.reason(log) == "Can't fork for 13228: File exists"
    assert _phaul.reason(log[:1]) == "rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted"
    assert _phaul.reason(['(00.1) Error (criu/cr-dump.c:2111): Dumping FAILED.']) == 'Dumping FAILED.'
    assert _phaul.reason(['no error line', 'last line']) == 'last line'
    assert _phaul.reason([]) is None


# criu 4.1.1 (Debian 13) dumping a sleep to --page-server --address 127.0.0.1 --port 1, where nothing listens:
# the cause is logged at info level, the errors that follow do not say it.
UNREACHABLE_LOG = """(00.025202) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted
(00.025413) cg:     `- [pids] -> [/] [0]
(00.025413) cg: Set 1 is criu one
(00.025426) Connecting to server 127.0.0.1:1
(00.025461) Can't connect to server 127.0.0.1:1
(00.025470) net: Unlock network
(00.025474) Unfreezing tasks into 1
(00.025475) \tUnseizing 13301 into 1
(00.025477) Error (compel/src/lib/infect.c:418): Unable to detach from 13301: No such process
(00.025485) Error (criu/cr-dump.c:2111): Dumping FAILED."""


def test_reason_names_a_page_server_that_does_not_answer():
    lines = _smoke.explain_log(UNREACHABLE_LOG)
    assert '(00.025461) Can\'t connect to server 127.0.0.1:1' in lines
    assert _phaul.reason(lines) == "Can't connect to server 127.0.0.1:1"
    assert _phaul.NO_PAGE_SERVER in _phaul.reason(lines)


def test_dumped_pids_from_the_pstree_lines():
    log = '\n'.join(['(00.128535) Dumping pstree (pid: 13228)', '(00.128537) ----------------------------------------',
                     '(00.128539) Process: 13228(13228)', '(00.128554) Process: 1(13839)',
                     '(00.128556) ----------------------------------------', '(00.2) Process: 13228(13228)'])
    assert _phaul.dumped_pids(log) == [13228, 13839]
    assert _phaul.dumped_pids('(00.1) Pre-dumping') == []


def test_failure_message_names_exit_signal_and_timeout():
    base = {'error': None, 'timed_out': False, 'reason': 'BUG at criu/mem.c:45'}
    assert _phaul.failure_message('pre-dump', dict(base, rc=-6), 5) == \
        'criu pre-dump failed (killed by signal 6): BUG at criu/mem.c:45'
    assert _phaul.failure_message('dump', dict(base, rc=1), 5).startswith('criu dump failed (exit 1): ')
    assert 'within the timeout of 5s' in _phaul.failure_message('dump', dict(base, rc=-9, timed_out=True), 5)


# ---------------------------------------------------------------- processes (real ones)


def test_spawn_tree_stop_resume_kill(tmp_path):
    out = tmp_path / 'out'
    proc = _phaul.spawn_detached('echo started; sleep 30 & wait', str(out), cwd=str(tmp_path))
    try:
        process_list.until(lambda: len(_phaul.tree(proc.pid)) == 2 and out.exists() and out.read_text() == 'started\n',
                           2)
        pids = _phaul.tree(proc.pid)
        assert pids[0] == proc.pid and len(pids) == 2
        assert os.getsid(proc.pid) == proc.pid                       # a session of its own
        assert os.readlink('/proc/%d/fd/0' % proc.pid) == '/dev/null'
        assert os.readlink('/proc/%d/cwd' % proc.pid) == str(tmp_path)
        assert sorted(os.listdir('/proc/%d/fd' % proc.pid)) == ['0', '1', '2']
        assert _phaul.alive(proc.pid) and _phaul.state(proc.pid) in ('S', 'R')
        assert not _phaul.is_page_server(proc.pid)
        assert _phaul.signal_pids(pids, 19) == pids                  # SIGSTOP
        process_list.until(lambda: _phaul.state(proc.pid) == 'T', 2)
        assert _phaul.state(proc.pid) == 'T' and _phaul.alive(proc.pid)
        killed, left, zombies = _phaul.kill_and_wait(pids, 10)
        assert killed == pids and left == [] and zombies == []
        assert _phaul.tree(proc.pid) == [] and _phaul.state(proc.pid) is None and not _phaul.alive(proc.pid)
        assert _phaul.kill_and_wait(pids, 1) == ([], [], [])
    finally:
        for pid in _phaul.tree(proc.pid):
            _phaul.signal_pids([pid], 9)


def _argv_process(tmp_path, argv):
    """A process whose /proc/PID/cmdline is ``argv`` (argv[1] being page-server) and whose program is /bin/sh:
    sh runs the script file named by its first argument, here ./page-server, a sleep."""
    (tmp_path / 'page-server').write_text('sleep 30\n')
    return subprocess.Popen(argv, executable='/bin/sh', cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                            start_new_session=True)


@pytest.mark.parametrize('argv0,criu,expected', [
    ('criu', None, True),
    ('/tmp/criu-4.1.1/criu-4.1.1', None, True),          # a copy of criu, started through its criu_path
    ('/opt/ckpt', None, False),
    ('/opt/ckpt', '/bin/sh', True),                      # any name: the criu_path given is that very file
    ('/opt/ckpt', '/bin/true', False),
])
def test_a_page_server_is_recognised_by_its_argument_and_program(tmp_path, argv0, criu, expected):
    proc = _argv_process(tmp_path, [argv0, 'page-server', '-D', str(tmp_path)])
    try:
        process_list.until(lambda: _phaul.cmdline(proc.pid)[:2] == [argv0, 'page-server'], 2)
        assert _phaul.cmdline(proc.pid)[:2] == [argv0, 'page-server']
        assert _phaul.is_page_server(proc.pid, criu) is expected
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()


def test_check_pids_refuses_init_and_this_process_with_all_it_runs_under():
    """Under Ansible the module's grandparent is its worker (or sshd): ending it ends the task.  Here the chain
    may be as short as this test and init (pytest started by a shell that exec()s it, under setsid nohup)."""
    chain = _phaul.ancestors()
    assert chain[:2] == [os.getpid(), os.getppid()] and chain[-1] == 1 and len(chain) >= 2
    assert 'greater than 1' in _phaul.check_pids([5000, 1])
    for pid in chain[:-1]:
        problem = _phaul.check_pids([pid])
        assert problem.startswith('pid %d is this module or one of the processes it runs under (%d <- %d' % (
            pid, os.getpid(), os.getppid())), problem
    assert _phaul.check_pids([]) is None


# ---------------------------------------------------------------- running criu: the timeout and the log


def _fake_criu(tmp_path, body):
    """A stand-in for criu's exit paths (what the runner does with a hung or
    failing criu cannot be provoked from a real one on demand)."""
    path = tmp_path / 'criu'
    path.write_text('#!/bin/sh\n' + body)
    path.chmod(0o755)
    return str(path)


def test_a_hung_criu_is_killed_at_the_timeout(tmp_path):
    criu = _fake_criu(tmp_path, 'exec sleep 30\n')
    start = time.monotonic()
    res = _phaul.run_criu(criu, 'dump', ['-t', '5'], str(tmp_path), 'dump.log', 0.5)
    assert time.monotonic() - start < 10
    assert res['timed_out'] is True and res['rc'] == -9
    assert 'did not finish within the timeout of 0.5s' in _phaul.failure_message('dump', res, 0.5)


def test_criu_failing_is_explained_from_its_log_and_output(tmp_path):
    criu = _fake_criu(tmp_path, '''
echo "Warn: printed before the log was opened" >&2
for i in 1 2 3 4 5; do echo "(00.00$i) line $i"; done > dump.log
echo "(00.1) Error (criu/util.c:1533): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted" >> dump.log
echo "(00.2) Error (criu/files-reg.c:1790): Can't lookup mount=24 for fd=10 path=/dev/null" >> dump.log
echo "(00.3) Error (criu/cr-dump.c:2111): Dumping FAILED." >> dump.log
exit 1
''')
    res = _phaul.run_criu(criu, 'dump', ['-t', '5'], str(tmp_path), 'dump.log', 10)
    assert res['argv'] == [criu, 'dump', '-t', '5', '-o', 'dump.log', '-v4']
    assert res['rc'] == 1 and res['timed_out'] is False and res['duration_ms'] > 0
    assert res['started_at'] <= res['ended_at']
    assert res['reason'] == "Can't lookup mount=24 for fd=10 path=/dev/null"
    assert res['log'][0] == 'Warn: printed before the log was opened'
    assert res['log_tail'][-1] == '(00.3) Error (criu/cr-dump.c:2111): Dumping FAILED.'
    assert _phaul.failure_message('dump', res, 10) == \
        "criu dump failed (exit 1): Can't lookup mount=24 for fd=10 path=/dev/null"


# A criu that starts a helper and hangs; it writes "CRIU_PID HELPER_PID" beside itself once both run.
HANGING_CRIU = 'sleep 300 &\necho $$ $! > "$0.pids"\nwait\n'


def _pids_of(criu, timeout=30):
    pids = process_list.until(lambda: process_list.written_pids(criu + '.pids', 2), timeout)
    assert pids, 'the fake criu did not start'
    return pids


RUN_CRIU = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.criu.check.plugins.module_utils import _phaul
res = _phaul.run_criu(sys.argv[2], 'dump', ['-t', '5'], sys.argv[3], 'dump.log', 60)
print(json.dumps(res))
"""


def test_sigterm_kills_criu_and_what_it_started_and_returns(tmp_path):
    """Ansible's task timeout sends SIGTERM: run_criu kills criu, its process group and children, cleans up, and
    returns the reason, so the module can fail with JSON (it died at once, leaving criu running)."""
    criu = _fake_criu(tmp_path, HANGING_CRIU)
    proc = subprocess.Popen([sys.executable, '-c', RUN_CRIU, conftest.COLLECTIONS, criu, str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        pids = _pids_of(criu)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        res = json.loads(out)
        assert res['terminated'] is True and res['rc'] == -9 and res['timed_out'] is False, res
        assert res['error'].startswith('terminated (SIGTERM, as at the task\'s timeout) while criu dump ran')
        assert _phaul.failure_message('dump', res, 60) == res['error']
        assert process_list.ended(pids, 4), 'criu or its helper still runs'
    finally:
        proc.kill()
        proc.wait()
        _phaul.signal_pids(pids, signal.SIGKILL)


# The same, with SIGTERM arriving while Popen() still waits for criu's exec
# (widened here by a pre-exec step that waits): raised inside Popen(), it left
# criu running with no handle to end it by.
RUN_CRIU_SLOW_START = """
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.criu.check.plugins.module_utils import _phaul, _smoke
def private_run():
    open(sys.argv[2] + '.forked', 'w').close()
    time.sleep(1)
_smoke.private_run = private_run
_smoke._needs_run = lambda *paths: False
res = _phaul.run_criu(sys.argv[2], 'dump', ['-t', '5'], sys.argv[3], 'dump.log', 60, private_run=True)
print(json.dumps(res))
"""


def test_sigterm_while_criu_is_being_started_still_kills_it(tmp_path):
    criu = _fake_criu(tmp_path, HANGING_CRIU)
    proc = subprocess.Popen([sys.executable, '-c', RUN_CRIU_SLOW_START, conftest.COLLECTIONS, criu, str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        process_list.until(lambda: os.path.exists(criu + '.forked'), 30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        res = json.loads(out)
        assert res['terminated'] is True and res['rc'] == -9, res
        time.sleep(0.5)   # what would have been left running has started by now
        assert process_list.running_with_word(criu) == [], 'criu still runs'
        if os.path.exists(criu + '.pids'):   # written, maybe in part, before criu was killed
            with open(criu + '.pids') as f:
                assert [p for p in map(int, f.read().split()) if process_list.running(p)] == [], 'its helper still runs'
    finally:
        proc.kill()
        proc.wait()
        _phaul.signal_pids(process_list.running_with_word(criu), signal.SIGKILL)


def test_criu_runs_with_sigterm_deliverable(tmp_path):
    """run_criu blocks SIGTERM while it starts criu: criu itself must not inherit that."""
    criu = _fake_criu(tmp_path, 'exec grep SigBlk /proc/self/status > "$0.sigblk"\n')
    res = _phaul.run_criu(criu, 'dump', [], str(tmp_path), 'dump.log', 10)
    assert res['rc'] == 0, res
    with open(criu + '.sigblk') as f:
        assert not int(f.read().split()[1], 16) & (1 << (signal.SIGTERM - 1))


def test_a_hung_criu_is_killed_with_its_helpers_at_the_timeout(tmp_path):
    criu = _fake_criu(tmp_path, HANGING_CRIU)
    res = _phaul.run_criu(criu, 'dump', ['-t', '5'], str(tmp_path), 'dump.log', 1)
    pids = _pids_of(criu, 1)
    try:
        assert res['timed_out'] is True and res['rc'] == -9 and res['terminated'] is False
        assert process_list.ended([pids[1]], 4), 'its helper outlived it'
    finally:
        _phaul.signal_pids(pids, signal.SIGKILL)


def test_criu_that_cannot_run_is_an_error_not_a_traceback(tmp_path):
    res = _phaul.run_criu(str(tmp_path / 'missing'), 'dump', [], str(tmp_path), 'dump.log', 5)
    assert res['rc'] is None and 'cannot run' in res['error']


def test_criu_is_not_run_when_its_log_is_a_symbolic_link(tmp_path):
    """criu opens its log by name: as root it would write wherever a link planted there points."""
    ran = tmp_path / 'ran'
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\ntouch %s\n' % ran)
    criu.chmod(0o755)
    victim = tmp_path / 'victim'
    victim.write_text('keep me\n')
    (tmp_path / 'restore.log').symlink_to(victim)
    res = _phaul.run_criu(str(criu), 'restore', [], str(tmp_path), 'restore.log', 5)
    assert res['rc'] is None and 'is a symbolic link' in res['error'] and str(victim) in res['error']
    assert not ran.exists() and victim.read_text() == 'keep me\n'
    assert _phaul.failure_message('restore', res, 5) == res['error']


@requires_root
def test_root_without_cap_sys_admin_runs_criu_unprivileged(tmp_path):
    """criu as root without CAP_SYS_ADMIN cannot make its root-only start-up steps: --unprivileged skips them
    (tests/system/test_criu_under_limits.py proves it with real criu), with its cache in a private directory, and
    no private mount namespace is tried (it would fail)."""
    criu = _fake_criu(tmp_path, 'echo "$XDG_RUNTIME_DIR" > runtime\n')

    def body():
        drop_effective_caps([CAP_SYS_ADMIN])
        return _phaul.run_criu(criu, 'dump', [], str(tmp_path), 'dump.log', 10, private_run=True)
    res = in_child(body)
    assert res['argv'][-1] == '--unprivileged' and res['rc'] == 0, res
    runtime = (tmp_path / 'runtime').read_text().strip()
    assert runtime.startswith(tempfile.gettempdir()) and not os.path.exists(runtime), runtime
    assert _phaul.run_criu(criu, 'dump', [], str(tmp_path), 'dump.log', 10)['argv'][-1] == '-v4'
