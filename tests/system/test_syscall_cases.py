# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_syscall's numbers and constants against the kernel headers installed here (linux-libc-dev), compiled with
the C compiler, and its helpers on the real kernel.  A wrong number calls another system call: on aarch64 no
test here would see it, and on x86_64 some would only make a probe answer wrongly."""

import ctypes
import errno
import os
import re
import shutil
import subprocess

import pytest

from conftest import become_user, in_child

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
    # the same result type with other argument types is another signature too
    as_uint_arg = _syscall.libc_function('close', ctypes.c_int, ctypes.c_uint)
    assert _syscall.libc_function('close', ctypes.c_int, ctypes.c_int) is not as_uint_arg
    assert as_uint_arg.argtypes == (ctypes.c_uint,)


def test_a_failed_call_gives_its_errno():
    """syscall() and libc_call() return the kernel's errno with -1, and 0 with a result."""
    close = _syscall.libc_function('close', ctypes.c_int, ctypes.c_int)
    assert _syscall.libc_call(close, -1) == (-1, errno.EBADF)
    assert _syscall.syscall('kill', os.getpid(), 0) == (0, 0)
    assert _syscall.syscall('kill', 0x7fffffff, 0) == (-1, errno.ESRCH)


def test_unshare_returns_the_errno_it_is_refused_with():
    """A user without CAP_SYS_ADMIN: unshare(CLONE_NEWNS) gives EPERM, returned, not -1."""
    assert in_child(lambda: _syscall.unshare(_syscall.CLONE_NEWNS), become_user) == errno.EPERM


def test_unshare_that_cannot_tell_whether_the_namespace_changed_raises():
    """/proc/self/ns unreadable after the call (one side unknown) is no proof: nothing may be done that needs
    the new namespace.  The reading is faked, in a child: the kernel gives no way to hide it midway."""
    def body():
        readings = iter([(1, 2), None])
        _syscall._namespace_id = lambda entry: next(readings)
        try:
            _syscall.unshare(_syscall.CLONE_NEWNS)
        except _syscall.NamespaceUnchanged as exc:
            return [str(exc), exc.step]
        return None
    message, step = in_child(body)
    assert step == 'unshare(CLONE_NEWNS)'
    assert message == ('unshare(CLONE_NEWNS) returned 0, but /proc/self/ns/mnt cannot be read to tell whether the '
                       'mount namespace changed: nothing that needs it was done')


def test_close_quietly_closes_descriptor_0():
    """A process started without stdin gets 0 for the first file it opens; it must not leak."""
    def body():
        os.close(0)
        fd = os.open('/dev/null', os.O_RDONLY)
        _syscall.close_quietly(fd, -1, None)
        try:
            os.fstat(fd)
        except OSError:
            _syscall.close_quietly(fd)   # closed already: EBADF is quiet too
            return fd, 'closed'
        return fd, 'open'
    assert in_child(body) == [0, 'closed']
