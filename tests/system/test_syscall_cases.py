# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_syscall's numbers and constants against the kernel headers installed here (linux-libc-dev), compiled with
the C compiler, and its helpers on the real kernel.  A wrong number calls another system call: on aarch64 no
test here would see it, and on x86_64 some would only make a probe answer wrongly."""

import ctypes
import os
import re
import shutil
import subprocess

import pytest

from conftest import in_child

from ansible_collections.criu.check.plugins.module_utils import _syscall

GENERIC_HEADER = '/usr/include/asm-generic/unistd.h'


def _c_values(includes, names, tmp_path):
    """{name: value} of the C expressions ``names`` after ``includes``, those the headers define."""
    if not shutil.which('cc'):
        pytest.skip('no C compiler')
    lines = ['#include <stdio.h>'] + ['#include <%s>' % i for i in includes] + ['int main(void) {']
    for name, expr in names.items():
        lines += ['#ifdef %s' % expr, 'printf("%s %%lld\\n", (long long)(%s));' % (name, expr), '#endif']
    source = tmp_path / 'values.c'
    source.write_text('\n'.join(lines + ['return 0; }', '']))
    binary = str(tmp_path / 'values')
    subprocess.run(['cc', '-o', binary, str(source)], check=True, capture_output=True)
    out = subprocess.run([binary], check=True, capture_output=True, text=True).stdout
    return dict((name, int(value)) for name, value in (line.split() for line in out.splitlines()))


@pytest.mark.skipif(_syscall.MACHINE != 'x86_64', reason='the x86_64 table needs the x86_64 headers')
def test_the_x86_64_numbers_are_the_kernel_s(tmp_path):
    headers = _c_values(['asm/unistd_64.h'], dict((n, '__NR_' + n) for n in _syscall._X86_64), tmp_path)
    assert headers == _syscall._X86_64


def test_the_generic_numbers_are_the_kernel_s():
    """aarch64, riscv64 and loongarch64 number their system calls as asm-generic/unistd.h (mmap is
    __NR3264_mmap there, for 32-bit and 64-bit alike)."""
    if not os.path.exists(GENERIC_HEADER):
        pytest.skip('%s is not installed (linux-libc-dev)' % GENERIC_HEADER)
    with open(GENERIC_HEADER) as f:
        header = dict((name, int(number)) for name, number in
                      re.findall(r'^#define __NR(?:3264)?_(\w+)\s+(\d+)\s*$', f.read(), re.M))
    assert dict((name, header.get(name)) for name in _syscall._GENERIC) == _syscall._GENERIC
    assert set(_syscall._X86_64) == set(_syscall._GENERIC) | {'arch_prctl'}
    assert dict((arch, table is _syscall._GENERIC) for arch, table in _syscall._TABLES.items()) == {
        'x86_64': False, 'aarch64': True, 'riscv64': True, 'loongarch64': True}


def test_the_shared_constants_are_the_kernel_s(tmp_path):
    """Each is compared where the installed headers define it (MADV_GUARD_INSTALL is only in those of 6.13)."""
    names = {'PR_SET_PDEATHSIG': 'PR_SET_PDEATHSIG', 'PR_GET_DUMPABLE': 'PR_GET_DUMPABLE',
             'PR_SET_DUMPABLE': 'PR_SET_DUMPABLE', 'PR_SET_SECCOMP': 'PR_SET_SECCOMP', 'CLONE_NEWNS': 'CLONE_NEWNS',
             'MS_REC': 'MS_REC', 'MS_PRIVATE': 'MS_PRIVATE', 'AT_FDCWD': 'AT_FDCWD', 'WALL': '__WALL',
             'NS_GET_USERNS': 'NS_GET_USERNS', 'SIOCGSKNS': 'SIOCGSKNS', 'MADV_GUARD_INSTALL': 'MADV_GUARD_INSTALL'}
    headers = _c_values(['linux/prctl.h', 'linux/sched.h', 'linux/mount.h', 'linux/fcntl.h', 'linux/wait.h',
                         'linux/nsfs.h', 'linux/sockios.h', 'asm-generic/mman-common.h'], names, tmp_path)
    assert set(names) - set(headers) <= {'MADV_GUARD_INSTALL'}, headers
    assert headers == dict((name, getattr(_syscall, name)) for name in headers)


def test_a_libc_function_keeps_the_types_it_was_made_with():
    """Two modules may type one libc function differently: each gets a handle of its own signature."""
    as_int = _syscall.libc_function('getpid', ctypes.c_int)
    as_long = _syscall.libc_function('getpid', ctypes.c_long)
    assert as_int is not as_long and (as_int.restype, as_long.restype) == (ctypes.c_int, ctypes.c_long)
    assert _syscall.libc_function('getpid', ctypes.c_int) is as_int
    assert _syscall.libc_call(as_long) == (os.getpid(), 0)


def test_close_quietly_closes_descriptor_0():
    """A process started without stdin gets 0 for the first file it opens; it must not leak."""
    def body():
        os.close(0)
        fd = os.open('/dev/null', os.O_RDONLY)
        _syscall.close_quietly(fd, -1, None)
        try:
            os.fstat(fd)
        except OSError:
            return fd, 'closed'
        return fd, 'open'
    assert in_child(body) == [0, 'closed']
