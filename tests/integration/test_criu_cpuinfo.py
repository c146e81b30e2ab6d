# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_cpuinfo for real with criu 4.1.1 in the Debian 13 root, and the
pre-copy verdict of the pair decision against a real ``criu pre-dump
--track-mem`` on this host.

Inside the root (tests/tools/criu_root.sh run) /tmp and /run are fresh
tmpfs: whatever the module or criu leaves there (work directories, criu's
kdat cache) shows in the listing taken after the runs.
"""

import base64
import json
import os
import struct
import subprocess
import sys
import time

import pytest

import conftest
import return_doc

CRIU_ROOT = conftest.CRIU_ROOT
INSIDE = '/src/tests/integration/cpuinfo_inside.py'

pytestmark = conftest.requires_root


@pytest.fixture(scope='module')
def criu_root():
    root = conftest.criu_root_or_skip()
    return root


def inside(*args, **kwargs):
    context = kwargs.get('context', 'root')
    proc = subprocess.run([CRIU_ROOT, 'run', '--context', context, '--', 'python3', INSIDE, '/src'] + list(args),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr.decode('utf-8', 'replace')[-3000:]
    return json.loads(proc.stdout.decode())


def modules(calls, context='root'):
    report = inside('module', json.dumps(calls), context=context)
    assert report['after'] == report['before'], 'left behind: %r' % report
    assert report['after']['run'] == []          # no kdat cache
    return report['results']


# ---------------------------------------------------------------- images


def _varint(data, i):
    shift = value = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7f) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _encode(value):
    out = bytearray()
    while True:
        byte, value = value & 0x7f, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(data):
    i = 0
    while i < len(data):
        key, i = _varint(data, i)
        if key & 7 == 0:
            value, i = _varint(data, i)
        elif key & 7 == 2:
            size, i = _varint(data, i)
            value, i = data[i:i + size], i + size
        else:
            raise ValueError('wire type %d in a cpuinfo image' % (key & 7))
        yield key, value


def _build(fields):
    return b''.join(_encode(key) + (_encode(value) if key & 7 == 0 else _encode(len(value)) + value)
                    for key, value in fields)


def bigger_cpu(image):
    """The image of a CPU with every instruction capability: criu's
    cpuinfo.img (two magics, a size, a CpuinfoEntry, images/cpuinfo.proto)
    with each ``capability`` word (field 6 of its x86_entry, field 1) set to
    all ones."""
    data = base64.b64decode(image)
    size = struct.unpack('<I', data[8:12])[0]
    entry = []
    for key, value in _fields(data[12:12 + size]):
        if key == (1 << 3 | 2):
            value = _build([(k, 0xffffffff if k == (6 << 3) else v) for k, v in _fields(value)])
        entry.append((key, value))
    body = _build(entry)
    return base64.b64encode(data[:8] + struct.pack('<I', len(body)) + body).decode()


# ---------------------------------------------------------------- tests


def test_dump_then_check_on_the_same_host_is_compatible(criu_root):
    dump, = modules([{'state': 'dump'}])
    assert not dump.get('failed'), dump
    assert dump['changed'] is False and dump['criu'] == {'path': '/usr/sbin/criu', 'version': '4.1.1'}
    raw = base64.b64decode(dump['image'])
    assert dump['size'] == len(raw) > 12
    assert struct.unpack('<I', raw[:4])[0] == 0x54564319         # criu's image magic (criu/include/magic.h)
    check, = modules([{'state': 'check', 'image': dump['image']}])
    assert check['compatible'] is True and check['message'] == '' and check['changed'] is False
    assert return_doc.mismatches(dump, 'criu_cpuinfo') == [] and return_doc.mismatches(check, 'criu_cpuinfo') == []


def test_a_cpu_with_more_than_this_one_is_not_compatible(criu_root):
    dump, = modules([{'state': 'dump'}])
    check, = modules([{'state': 'check', 'image': bigger_cpu(dump['image'])}])
    assert not check.get('failed'), check
    assert check['compatible'] is False
    assert check['message'] == 'cpu: CPU instruction capabilities do not match run time'


@pytest.mark.parametrize('damage, message', [
    (lambda raw: b'\x00' * 4 + raw[4:], "Head magic doesn't match for cpuinfo.img"),
    (lambda raw: raw[:9], 'Read 1 bytes while 4 expected'),       # the magics, and 1 byte of the size
])
def test_a_damaged_image_is_not_compatible_with_criu_s_message(criu_root, damage, message):
    dump, = modules([{'state': 'dump'}])
    image = base64.b64encode(damage(base64.b64decode(dump['image']))).decode()
    check, = modules([{'state': 'check', 'image': image}])
    assert check['compatible'] is False and message in check['message'], check
    assert not check['message'].startswith('Error (')


def test_bad_input_and_missing_criu_fail_clearly(criu_root):
    results = modules([{'state': 'check'}, {'state': 'check', 'image': '!!'},
                       {'state': 'dump', 'image': 'AAAA'}, {'state': 'dump', 'criu_path': '/nonexistent/criu'},
                       {'state': 'dump', 'timeout': 0}, {'state': 'check', 'image': ' '}])
    assert all(r.get('failed') for r in results), results
    msgs = [r['msg'] for r in results]
    assert 'state is check but all of the following are missing: image' in msgs[0]
    assert msgs[1].startswith('image must be the base64 text that state=dump returned')
    assert msgs[2] == 'image is only for state=check'
    assert msgs[3] == ('criu was not found (no executable /nonexistent/criu): install criu, for example with the '
                       'criu.check.install role, or give criu_path')
    assert msgs[4].startswith('timeout must be a positive number')
    assert msgs[5] == 'image is empty: give the image that state=dump returned'


def test_check_mode_runs_the_same(criu_root):
    dump, = modules([{'state': 'dump', '_ansible_check_mode': True}])
    assert not dump.get('failed') and dump['changed'] is False and dump['size'] > 12, dump
    check, = modules([{'state': 'check', 'image': dump['image'], '_ansible_check_mode': True}])
    assert check['compatible'] is True and check['changed'] is False


def test_no_criu_on_this_host_fails_with_the_fix(tmp_path):
    """This Debian 12 host has no criu installed (the Debian 13 root has)."""
    args = tmp_path / 'args.json'
    args.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': {'state': 'dump'}}))
    module = os.path.join(conftest.REPO, 'plugins', 'modules', 'criu_cpuinfo.py')
    env = dict(os.environ, PYTHONPATH=conftest.COLLECTIONS, PATH='/usr/bin:/bin')
    if any(os.path.exists(os.path.join(d, 'criu')) for d in ('/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/sbin')):
        pytest.skip('criu is installed on this host')
    proc = subprocess.run([sys.executable, module, str(args)], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    result = json.loads(proc.stdout)
    assert result['failed'] is True and result['criu'] == {'path': None, 'version': None}
    assert return_doc.mismatches(result, 'criu_cpuinfo') == []
    assert result['msg'] == ('criu was not found (no criu on PATH nor in /sbin, /usr/sbin, /usr/local/sbin): install '
                             'criu, for example with the criu.check.install role, or give criu_path')


def test_one_timeout_bounds_the_whole_task(tmp_path):
    """A criu that answers nothing, not even --version: the version and the cpuinfo run share the timeout (each
    had its own, and timeout=2 took 4.4 s)."""
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\nexec sleep 60\n')
    criu.chmod(0o755)
    start = time.monotonic()
    result = conftest.direct('criu_cpuinfo', {'state': 'dump', 'criu_path': str(criu), 'timeout': 3}, cwd=str(tmp_path))
    took = time.monotonic() - start
    assert result['failed'] is True and result['msg'] == 'criu cpuinfo dump did not finish within 3.0 s', result
    assert result['criu'] == {'path': str(criu), 'version': None}
    # The module's own start-up aside; each wait had its own timeout before: 6 s and more.
    assert took < 5, 'the task took %.1f s with a timeout of 3 s' % took


def test_timeout_kills_criu_and_removes_everything(criu_root):
    result, = modules([{'state': 'dump', 'timeout': 0.001}])
    assert result.get('failed') and result['msg'] == 'criu cpuinfo dump did not finish within 0.001 s', result


def test_without_capabilities_criu_cannot_start_and_says_why(criu_root):
    result, = modules([{'state': 'dump'}], context='nonroot')
    assert result.get('failed'), result
    assert result['msg'].startswith('criu 4.1.1 cannot start here: CRIU needs to have the CAP_SYS_ADMIN or the '
                                    'CAP_CHECKPOINT_RESTORE capability'), result


def test_pre_copy_verdict_matches_a_real_pre_dump(criu_root):
    """This host's kernel lacks soft-dirty: criu refuses --track-mem, and the
    pair decision, from facts gathered beside that criu, says pre-copy is not
    possible from this host, for that reason."""
    report = inside('precopy')
    verdict, predump = report['verdict'], report['predump']
    assert report['criu'] == {'usable': True, 'version': '4.1.1'}
    refused = predump['rc'] != 0
    assert refused == (verdict['modes']['pre-copy']['ok'] is False)
    assert refused, predump
    assert 'Tracking memory is not available' in predump['output']
    assert predump['child_alive_after'] is True              # a refused pre-dump leaves the tree running
    assert verdict['modes']['pre-copy']['reasons'] == [
        'mem_dirty_track on source: unsupported: Dirty tracking is OFF. Memory snapshot will not work']
    # Everything else holds, so the pair falls back to stop-and-copy (which criu_smoke shows works here).
    assert verdict['mode'] == 'stop-and-copy' and verdict['possible'] is True
