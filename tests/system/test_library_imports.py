# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The probes' libraries are imported without the tools the standard library
would start for them (_deps._answers_without_tools): pyroute2.config asks
platform for uname and the interpreter's architecture (``uname -p``,
``file -b``), python-ptrace asks ctypes.util for libc (``ldconfig -p``).
The stand-ins must give the answers the tools give, start no process, and be
gone once the import ends."""

import ctypes.util
import json
import os
import platform
import subprocess
import sys

import pytest

import conftest
from ansible_collections.criu.check.plugins.module_utils import _deps

# A fresh interpreter (nothing imported yet) records every process it starts
# through Python's audit events while it imports both libraries as a probe
# worker does, then runs each library's own use of what it asked.
FRESH_IMPORT = r'''
import json, sys
sys.path.insert(0, %(tools)r)
from run_probes import import_collection
import_collection()
started = []
sys.addaudithook(lambda event, args: started.append(repr(args[:2])) if event in (
    'subprocess.Popen', 'os.posix_spawn', 'os.exec', 'os.system') else None)
from ansible_collections.criu.check.plugins.module_utils import _deps
diag = _deps.load('pyroute2.netlink.diag')
func = _deps.load('ptrace.binding.func')
config = sys.modules['pyroute2.config']
libc = sys.modules.get('ptrace.ctypes_libc')  # not with python-ptrace's C extension (cptrace)
print(json.dumps({'started': started, 'uname': list(config.uname[:5]), 'machine': config.machine,
                  'arch': config.arch, 'libc': libc and libc.LIBC_FILENAME, 'pid': libc and libc.libc.getpid()}))
'''


# The tests' Python, and Debian's, whose pyroute2 (0.7) asks platform at import.
PYTHONS = [sys.executable, '/usr/bin/python3']


@pytest.mark.parametrize('python', PYTHONS)
def test_the_libraries_import_without_starting_a_process(python):
    if subprocess.call([python, '-c', 'import ptrace, pyroute2'], stderr=subprocess.DEVNULL) != 0:
        pytest.skip('%s lacks pyroute2 or python-ptrace' % python)
    proc = subprocess.run([python, '-c', FRESH_IMPORT % {'tools': os.path.join(conftest.REPO, 'tests', 'tools')}],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen['started'] == []
    # What the tools themselves answer, asked here the standard library's way.
    assert seen['uname'] == list(platform.uname()[:5])
    assert seen['machine'] == platform.machine()
    assert seen['arch'] == platform.architecture()[0]  # the word size: all pyroute2 reads
    if seen['libc'] is not None:
        assert seen['libc'] == ctypes.util.find_library('c')
        assert seen['pid'] > 0  # python-ptrace's libc handle works


def test_the_stand_ins_answer_as_the_tools_and_are_removed_after():
    originals = platform.uname, platform.architecture, ctypes.util.find_library
    with _deps._answers_without_tools():
        inside = (tuple(platform.uname()), platform.machine(), platform.architecture(),
                  platform.architecture('/bin/sh'), ctypes.util.find_library('c'))
    assert (platform.uname, platform.architecture, ctypes.util.find_library) == originals
    assert inside[0][:5] == tuple(platform.uname())[:5]
    assert inside[1] == platform.machine()
    assert inside[2][0] == platform.architecture()[0]
    assert inside[3] == platform.architecture('/bin/sh')  # another file: the real function
    assert inside[4] == ctypes.util.find_library('c')


def test_without_a_linker_cache_the_stand_in_asks_find_library(tmp_path, monkeypatch):
    # musl has no /etc/ld.so.cache: the original find_library answers, once.
    asked = []
    monkeypatch.setattr(_deps, 'LD_SO_CACHE', str(tmp_path / 'missing'))
    monkeypatch.setattr(ctypes.util, 'find_library', lambda name: asked.append(name) or 'libc.musl-x86_64.so.1')
    with _deps._answers_without_tools():
        assert ctypes.util.find_library('c') == 'libc.musl-x86_64.so.1'
    assert asked == ['c']
