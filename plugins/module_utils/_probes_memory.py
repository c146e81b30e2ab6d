# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of memory, mappings, pagemap and userfaultfd.

PRIVATE to the criu.check collection: not a public API.

Raw system calls go through _syscall (ctypes ``syscall()``), so that no libc
wrapper and no Python object stands between a probe and the kernel.  Probes
that fork (the vDSO ones, compat_cr) do their work in a child that dies with
its parent (PR_SET_PDEATHSIG) and is always reaped; everything mapped or
opened in the probe's own process is unmapped or closed before it returns.

Two probes execute a few bytes of machine code (written into an anonymous
page, made read+exec, and called through ctypes), because Python cannot do
what they test otherwise; the assembly is next to the bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ctypes
import errno
import fcntl
import mmap
import os
import re
import signal
import struct

from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _kernel_config
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._proc_parse import PROC_SELF, ReadError, open_proc_error, read_proc
from ansible_collections.criu.check.plugins.module_utils._syscall import MADV_GUARD_INSTALL

PAGE_SIZE = mmap.PAGESIZE
PROT_NONE = 0x0                         # Python's mmap module has no name for it
MREMAP_MAYMOVE = 1
MREMAP_FIXED = 2

# special_mapping_mremap: criu's table, in its order
SPECIAL_MAPPINGS = ('[vvar]', '[vdso]', '[sigpage]')
# mem_dirty_track
PME_SOFT_DIRTY = 1 << 55
CLEAR_REFS_SOFT_DIRTY = b'4\0'          # criu writes sizeof("4") bytes
# aio_remap
AIO_RING_NAME = '/[aio] (deleted)'
AIO_NR_EVENTS = 16
# can_map_vdso / compat_cr (x86)
ARCH_MAP_VDSO_32 = 0x2002
NR32_MMAP2 = 192
# userfaultfd
UFFD_API = 0xAA
UFFDIO_API = 0xc018aa3f
UFFD_FEATURE_EVENT_FORK = 1 << 1
UFFD_FEATURE_EVENT_REMAP = 1 << 2
UFFD_FEATURE_EVENT_REMOVE = 1 << 3
UFFD_FEATURE_EVENT_UNMAP = 1 << 6
NEED_UFFD_API_FEATURES = (UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP |
                          UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP)
UNPRIVILEGED_USERFAULTFD = '/proc/sys/vm/unprivileged_userfaultfd'
# memfd
MFD_HUGETLB = 4
# pagemap scan (linux/fs.h)
PAGEMAP_SCAN = 0xc0606610
PAGE_IS_FILE = 1 << 2
PAGE_IS_PRESENT = 1 << 3
PAGE_IS_SWAPPED = 1 << 4
PAGE_IS_PFNZERO = 1 << 5
PAGE_IS_SOFT_DIRTY = 1 << 7
PAGE_IS_GUARD = 1 << 8
PM_SCAN_ARG = struct.Struct('=12Q')     # struct pm_scan_arg: 12 u64, 96 bytes

MSG_DIRTY_TRACK = 'Dirty tracking is OFF. Memory snapshot will not work.'
MSG_CAN_MAP_VDSO = 'Do not have API to map vDSO - will use mremap() to restore vDSO'
MSG_UFFD = 'UFFD is not supported'
MSG_COMPAT_CR = 'compat_cr is not supported. Requires kernel >= v4.12'
MSG_GUARD = ("ioctl(PAGEMAP_SCAN) doesn't support PAGE_IS_GUARD flag. CRIU dump will fail if dumped processes "
             "use madvise(MADV_GUARD_INSTALL). Please, consider updating your kernel.")
NOT_PROBED_UNPRIVILEGED = 'criu does not probe it in --unprivileged mode'

# The whole of check_special_mapping_mremap_child() after its set-up, as
# machine code: no Python, libc or vDSO code runs between the first mremap
# and the exit.  Entry at byte 1 (x86_64) / 4 (aarch64) with one argument, a
# u64 array [count, parking_lot, pid, addr0, size0, addr1, size1, ...];
# byte 0 is the SIGUSR1 handler (a bare return).
#
# x86_64:                              aarch64:
#   handler: ret                         handler: ret
#   entry:   mov r12, rdi                entry:   mov x9, x0
#            mov r13, [r12]   ; count             ldr x10, [x9]
#            mov r14, [r12+8] ; lot               ldr x11, [x9, #8]
#            lea r15, [r12+24]                    add x12, x9, #24
#   1:       test r13, r13               1:       cbz x10, 2f
#            jz 2f                                ldr x0, [x12]
#            mov rdi, [r15]   ; old               ldr x1, [x12, #8]
#            mov rsi, [r15+8] ; size              mov x2, x1
#            mov rdx, rsi                         mov x3, #3
#            mov r10d, 3      ; FIXED|MAYMOVE     mov x4, x11
#            mov r8, r14      ; new               mov x8, #216      ; mremap
#            mov eax, 25      ; mremap            svc #0
#            syscall                              cmp x0, x11
#            cmp rax, r14                         b.ne 3f
#            jne 3f                               ldr x1, [x12, #8]
#            add r14, [r15+8]                     add x11, x11, x1
#            add r15, 16                          add x12, x12, #16
#            dec r13                              sub x10, x10, #1
#            jmp 1b                               b 1b
#   2:       mov rdi, [r12+16]; pid      2:       ldr x0, [x9, #16]
#            mov esi, 10      ; SIGUSR1           mov x1, #10
#            mov eax, 62      ; kill              mov x8, #129      ; kill
#            syscall                              svc #0
#            xor edi, edi                         mov x0, #0
#            mov eax, 60      ; exit              mov x8, #93       ; exit
#            syscall                              svc #0
#   3:       mov edi, 1                  3:       mov x0, #1
#            mov eax, 60                          mov x8, #93
#            syscall                              svc #0
#            ud2                                  brk #0
_MREMAP_CODE = {
    'x86_64': (1, bytes.fromhex(
        'c34989fc4d8b2c244d8b7424084d8d7c24184d85ed742c498b3f498b77084889f241ba030000004d89f0b8190000000f05'
        '4c39f075274d0377084983c71049ffcdebcf498b7c2410be0a000000b83e0000000f0531ffb83c0000000f05bf01000000'
        'b83c0000000f050f0b')),
    'aarch64': (4, bytes.fromhex(
        'c0035fd6e90300aa2a0140f92b0540f92c610091ea0100b4800140f9810540f9e20301aa630080d2e4030baa081b80d2'
        '010000d41f000beba1010054810540f96b01018b8c4100914a0500d1f2ffff17200940f9410180d2281080d2010000d4'
        '000080d2a80b80d2010000d4200080d2a80b80d2010000d4000020d4')),
}

# criu's do_full_int80(): a 32-bit system call through int $0x80 from 64-bit
# code.  One argument, a u32 array [nr, ebx, ecx, edx, esi, edi, ebp]; it
# returns eax (32 bits, as criu's helper).  Callee-saved registers are kept.
#   push rbx; push rbp; push r12; push r13; push r14; push r15; push rdi
#   mov eax, [rdi]; mov ebx, [rdi+4]; mov ecx, [rdi+8]; mov edx, [rdi+12]
#   mov esi, [rdi+16]; mov ebp, [rdi+24]; mov edi, [rdi+20]
#   int 0x80
#   pop rdi; pop r15; pop r14; pop r13; pop r12; pop rbp; pop rbx; ret
_INT80_CODE = bytes.fromhex('53554154415541564157578b078b5f048b4f088b570c8b77108b6f188b7f14cd805f415f415e415d415c5d5bc3')


# ---------------------------------------------------------------- helpers

def _mmap(length, prot, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, fd=-1):
    """Raw mmap(NULL, length, prot, flags, fd, 0): (address, errno)."""
    addr, err = _syscall.syscall('mmap', 0, length, prot, flags, fd, 0)
    return (None, err) if addr == -1 else (addr, 0)


def _munmap(addr, length):
    _syscall.syscall('munmap', addr, length)


def _read_maps():
    """/proc/self/maps as (start, end, name): the fields after the four that
    criu's ``sscanf("%lx-%lx %*s %*s %*s %*s %n")`` skips.  (criu reads lines
    with a 256-byte buffer and would choke on longer ones; this does not.)
    Raises OSError when the file cannot be opened."""
    try:
        text = read_proc('/proc/self/maps')
    except ReadError:
        text = ''                                   # criu's fgets() loop ends at a read error
    maps = []
    for line in text.split('\n'):               # as fgets(): a file name may hold other line breaks
        match = re.match(r'([0-9a-f]+)-([0-9a-f]+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(.*?)$', line)
        if match:
            maps.append((int(match.group(1), 16), int(match.group(2), 16), match.group(3)))
    return maps


def _status_evidence(status):
    if os.WIFSIGNALED(status):
        return {'child_signal': os.WTERMSIG(status)}
    if os.WIFEXITED(status):
        return {'child_exit': os.WEXITSTATUS(status)}
    return {'child_wait_status': status}


@contextlib.contextmanager
def _criu_dumpable(ctx):
    """As criu --unprivileged run by non-root (crtools.c: prctl(PR_SET_DUMPABLE,
    1)): a non-dumpable process (one that changed its credentials without
    exec) sees its own /proc/self/pagemap and clear_refs owned by root.  The
    previous value is put back (PR_SET_DUMPABLE takes only 0 or 1)."""
    if not ctx.unprivileged or ctx.root:
        yield
        return
    old, dummy = _syscall.prctl(_syscall.PR_GET_DUMPABLE)
    if old != 1:
        _syscall.prctl(_syscall.PR_SET_DUMPABLE, 1)
    try:
        yield
    finally:
        if old != 1:
            _syscall.prctl(_syscall.PR_SET_DUMPABLE, 0)


class _Code:
    """A few bytes of machine code in a page mapped read+exec, never writable
    and executable at once: from a memfd that holds them, which a process
    whose memory may not turn executable once writable can still map (prctl
    PR_SET_MDWE, systemd's MemoryDenyWriteExecute=), criu's own compiled
    code being unaffected; else an anonymous page filled, then made
    read+exec."""

    def __init__(self, code):
        self.addr = _map_code_from_memfd(code) or _map_code_written(code)
        _flush_icache(self.addr, len(code))

    def close(self):
        if self.addr is not None:
            _munmap(self.addr, PAGE_SIZE)
            self.addr = None


def _map_code_from_memfd(code):
    """``code`` in a private read+exec mapping of a memfd (gone with the
    mapping), or None where there is no memfd or it may not be executed
    (vm.memfd_noexec)."""
    if not hasattr(os, 'memfd_create'):   # Python < 3.8
        return None
    try:
        fd = os.memfd_create('criu-check-code', os.MFD_CLOEXEC)
    except OSError:
        return None
    try:
        os.write(fd, code)
        os.ftruncate(fd, PAGE_SIZE)
        return _mmap(PAGE_SIZE, mmap.PROT_READ | mmap.PROT_EXEC, mmap.MAP_PRIVATE, fd)[0]
    except OSError:
        return None
    finally:
        os.close(fd)


def _map_code_written(code):
    """``code`` in an anonymous page written, then made read+exec; OSError
    when either step is refused (the mprotect() under PR_SET_MDWE)."""
    addr, err = _mmap(PAGE_SIZE, mmap.PROT_READ | mmap.PROT_WRITE)
    if addr is None:
        raise OSError(err, 'mmap')
    ctypes.memmove(addr, code, len(code))
    rc, err = _syscall.syscall('mprotect', addr, PAGE_SIZE, mmap.PROT_READ | mmap.PROT_EXEC)
    if rc:
        _munmap(addr, PAGE_SIZE)
        raise OSError(err, 'mprotect(PROT_EXEC)')
    return addr


def _flush_icache(addr, length):
    """arm64 does not keep the instruction cache coherent with data writes by
    itself; libgcc's __clear_cache does it (best effort: the mprotect to exec
    also makes the kernel sync the page)."""
    if _syscall.MACHINE != 'aarch64':
        return
    try:
        ctypes.CDLL('libgcc_s.so.1').__clear_cache(ctypes.c_void_p(addr), ctypes.c_void_p(addr + length))
    except (OSError, AttributeError):
        pass


# ------------------------------------------------- special_mapping_mremap

def _special_vmas():
    """criu: parse_special_maps(): the special mappings by name, in criu's
    order; a name seen twice is an error."""
    found = {}
    try:
        maps = _read_maps()
    except OSError as exc:
        return None, open_proc_error(PROC_SELF, 'maps', exc.errno)
    for start, end, name in maps:
        if name in SPECIAL_MAPPINGS:
            if name in found:
                return None, 'Special mapping meet twice: %s' % name
            found[name] = (start, end - start)
    return [(name,) + found[name] for name in SPECIAL_MAPPINGS if name in found], None


def _mremap_child_code(vmas, code, report):
    """check_special_mapping_mremap_child() with the sequence in machine code."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    entry, dummy = _MREMAP_CODE[_syscall.MACHINE]
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])   # a blocked signal would test nothing
    if libc.signal(signal.SIGUSR1, ctypes.c_void_p(code.addr)) == ctypes.c_void_p(-1).value:
        return 1                                    # criu: "signal() failed"
    parking_size = sum(size for vma_name, vma_addr, size in vmas)
    lot, dummy = _mmap(parking_size, PROT_NONE)
    if lot is None:
        return 1                                    # criu: "mmap(%zu) failed"
    args = [len(vmas), lot, os.getpid()]
    for vma_name, addr, size in vmas:
        args.extend((addr, size))
    array = (ctypes.c_uint64 * len(args))(*args)
    report({'method': 'machine code'})
    ctypes.CFUNCTYPE(None, ctypes.c_void_p)(code.addr + entry)(ctypes.addressof(array))
    return 1                                        # not reached: the code exits


def _mremap_child_ctypes(vmas, report):
    """check_special_mapping_mremap_child() with one ctypes ``syscall()`` per
    step, every argument built before the first mremap, and libc's getpid()
    (a plain system call, no vDSO) as the C-level SIGUSR1 handler, so that no
    Python code runs at signal time.  Used where no machine code is at hand
    for the architecture, or executable memory is refused."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.signal.restype = ctypes.c_void_p
    handler = ctypes.cast(libc.getpid, ctypes.c_void_p)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
    if libc.signal(signal.SIGUSR1, handler) == ctypes.c_void_p(-1).value:
        return 1
    parking_size = sum(size for vma_name, vma_addr, size in vmas)
    lot, dummy = _mmap(parking_size, PROT_NONE)
    if lot is None:
        return 1
    raw = libc.syscall
    raw.restype = ctypes.c_long
    raw.argtypes = [ctypes.c_long] * 6
    nr_mremap, nr_kill, nr_exit = _syscall.nr('mremap'), _syscall.nr('kill'), _syscall.nr('exit')
    calls = []
    dest = lot
    for vma_name, addr, size in vmas:
        calls.append((nr_mremap, addr, size, size, MREMAP_FIXED | MREMAP_MAYMOVE, dest))
        dest += size
    kill_args = (nr_kill, os.getpid(), signal.SIGUSR1, 0, 0, 0)
    ok_args, fail_args = (nr_exit, 0, 0, 0, 0, 0), (nr_exit, 1, 0, 0, 0, 0)
    report({'method': 'ctypes'})
    for call in calls:
        if raw(*call) != call[5]:
            raw(*fail_args)
    raw(*kill_args)
    raw(*ok_args)
    return 1                                        # not reached


def special_mapping_mremap(ctx, method=None):
    """criu: check_special_mapping_mremap() (Category 1).

    The parent finds [vvar], [vdso] and [sigpage] in /proc/self/maps; a forked
    child installs a C-level SIGUSR1 handler, maps a PROT_NONE parking lot of
    their summed size, mremaps each (MREMAP_FIXED + MREMAP_MAYMOVE) to
    consecutive addresses in it, raw-kills itself with SIGUSR1 and raw-exits 0.
    A kernel that does not track the moved mappings kills the child on signal
    return (arm, arm64: the return trampoline lives in the vDSO/sigpage).

    After the vDSO moves, any call into it would crash the child and read as
    the kernel bug.  So the sequence from the first mremap to exit runs as
    machine code (x86_64, aarch64) that makes the system calls itself; on
    other architectures, or if executable memory is refused, as ctypes
    ``syscall()`` calls with nothing else in between (``method`` forces
    'ctypes' for tests).  As in criu, finding none of the mappings makes the
    child's mmap(0) fail: "Child exited with 1".
    """
    vmas, err = _special_vmas()
    if err:
        return R.unsupported(err)
    evidence = {'mappings': dict((name, {'start': '%#x' % addr, 'size': size}) for name, addr, size in vmas)}
    code = None
    if method != 'ctypes' and _syscall.MACHINE in _MREMAP_CODE:
        try:
            code = _Code(_MREMAP_CODE[_syscall.MACHINE][1])
        except OSError as exc:
            evidence['machine_code_refused'] = R.errno_name(exc.errno)
    try:
        if code is not None:
            status, info = _child.call(lambda report: _mremap_child_code(vmas, code, report), ctx.left())
        else:
            _syscall.nr('mremap')   # UnsupportedArch here, not in the child
            status, info = _child.call(lambda report: _mremap_child_ctypes(vmas, report), ctx.left())
    finally:
        if code is not None:
            code.close()
    evidence.update(info)
    evidence.update(_status_evidence(status))
    if os.WIFSIGNALED(status):
        return R.unsupported('Child killed by signal %d\nYour kernel probably lacks the support for mremapping special '
                             'mappings' % os.WTERMSIG(status), evidence=evidence)
    if os.WIFEXITED(status):
        if os.WEXITSTATUS(status) == 0:
            return R.supported(evidence=evidence)
        if 'child_exception' in info:
            return R.unknown('the probe child failed before the test: %s' % info['child_exception'], evidence=evidence)
        return R.unsupported('Child exited with %d' % os.WEXITSTATUS(status), evidence=evidence)
    return R.unsupported('BUG: waitpid() returned stat=%d' % status, evidence=evidence)


# -------------------------------------------------------- mem_dirty_track

# criu opens its own clear_refs read-write in its start-up: a /proc mounted read-only stops it there.
PROC_READ_ONLY_FIX = ('criu writes /proc/self/clear_refs in its start-up, and /proc is mounted read-only here: '
                      'mount it read-write (mount -o remount,rw /proc)')


def _reset_dirty_track():
    """criu: do_task_reset_dirty_track(getpid()): write "4" to the
    process's clear_refs.  Returns (0, 0, None) reset, (1, errno, None) no
    soft-dirty (EACCES on open or EINVAL on write), or (-1, errno, criu's
    error) when criu fails its kerndat."""
    pid = os.getpid()
    try:
        fd = os.open('/proc/self/clear_refs', os.O_RDWR)
    except OSError as exc:
        if exc.errno == errno.EACCES:
            return 1, exc.errno, None
        # criu's __open_proc() says it, not the reset (e.g. EROFS: /proc read-only)
        return -1, exc.errno, R.perror("Can't open %d/clear_refs on procfs" % pid, exc.errno)
    try:
        os.write(fd, CLEAR_REFS_SOFT_DIRTY)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return 1, exc.errno, None
        return -1, exc.errno, R.perror("Can't reset %d's dirty memory tracker (%d)" % (pid, exc.errno), exc.errno)
    finally:
        os.close(fd)
    return 0, 0, None


def _soft_dirty_write_only(addr):
    """The same test with clear_refs opened write-only: True/False, or None
    when that is refused too."""
    try:
        fd = os.open('/proc/self/clear_refs', os.O_WRONLY)
    except OSError:
        return None
    try:
        os.write(fd, CLEAR_REFS_SOFT_DIRTY)
        ctypes.memset(addr, 0, 1)
        entry = _pagemap_entry(addr)
    except OSError:
        return None
    finally:
        os.close(fd)
    return bool(entry and entry & PME_SOFT_DIRTY)


def _pagemap_entry(addr):
    fd = os.open('/proc/self/pagemap', os.O_RDONLY)
    try:
        return _read_pagemap_entry(fd, addr)
    finally:
        os.close(fd)


def _read_pagemap_entry(fd, addr):
    """The pagemap entry of ``addr``; None when the read comes short."""
    data = os.pread(fd, 8, addr // PAGE_SIZE * 8)
    return struct.unpack('=Q', data)[0] if len(data) == 8 else None


def mem_dirty_track(ctx):
    """criu: check_mem_dirty_track() reading kdat from kerndat_get_dirty_track().

    Map one private anonymous page, reset the soft-dirty bits (clear_refs
    "4"), touch the page and read its pagemap entry: bit 55 (PME_SOFT_DIRTY)
    must be set, which needs CONFIG_MEM_SOFT_DIRTY (never on arm64).  Like
    criu, this clears the soft-dirty bits of its own process (registry:
    own_process).
    """
    with _criu_dumpable(ctx):
        addr, err = _mmap(PAGE_SIZE, mmap.PROT_READ | mmap.PROT_WRITE)
        if addr is None:
            return R.unsupported(R.perror("Can't mmap memory for pagemap test", err),
                                 evidence=R.errno_evidence(err, **R.KERNDAT_FATAL))
        try:
            return _dirty_track(addr)
        finally:
            _munmap(addr, PAGE_SIZE)


def _dirty_track(addr):
    reset, err, error = _reset_dirty_track()
    if reset == 1:
        evidence = R.errno_evidence(err, clear_refs='no soft-dirty reset')
        if err == errno.EACCES:
            # clear_refs is mode 0200 and criu opens it O_RDWR, so non-root
            # criu never tracks memory.  What the kernel has, for the record:
            evidence['kernel_soft_dirty'] = _soft_dirty_write_only(addr)
        return R.unsupported(MSG_DIRTY_TRACK, evidence=evidence)
    if reset < 0:
        return R.unsupported(error, evidence=R.errno_evidence(err, **R.KERNDAT_FATAL),
                             fix=PROC_READ_ONLY_FIX if err == errno.EROFS else None)
    try:
        fd = os.open('/proc/self/pagemap', os.O_RDONLY)
    except OSError as exc:
        # criu's open_proc() says so and kerndat fails
        return R.unsupported(open_proc_error(PROC_SELF, 'pagemap', exc.errno),
                             evidence=R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    ctypes.memset(addr, 0, 1)      # map[0] = '\0': the page is now dirty
    try:
        entry = _read_pagemap_entry(fd, addr)
    except OSError as exc:
        # criu says so, reads the entry as 0 (no soft-dirty bit) and goes on
        return R.unsupported(MSG_DIRTY_TRACK, evidence=R.errno_evidence(
            exc.errno, error=R.perror('Read pmap err!', exc.errno), soft_dirty_bit=False))
    finally:
        os.close(fd)
    evidence = {'pagemap_entry': '%#018x' % entry if entry is not None else None,
                'soft_dirty_bit': bool(entry and entry & PME_SOFT_DIRTY)}
    if evidence['soft_dirty_bit']:
        return R.supported(evidence=evidence)
    return R.unsupported(MSG_DIRTY_TRACK, evidence=evidence)


# -------------------------------------------------------------- aio_remap

def _ring_len(ctx_id):
    """criu: get_ring_len(): the maps line that starts at the context must be
    named exactly "/[aio] (deleted)"."""
    for start, end, name in _read_maps():
        if start == ctx_id:
            return end - start if name == AIO_RING_NAME else 0, name
    return 0, None


def aio_remap(ctx):
    """criu: check_aio_remap().

    io_setup(16), find the ring in /proc/self/maps, mmap a private anonymous
    area of the same size, mremap the ring onto it (MREMAP_FIXED +
    MREMAP_MAYMOVE), then io_getevents(new, 0, 1, NULL, NULL) must not fail.
    criu leaks the AIO context; this destroys it (io_destroy) afterwards.
    """
    ctx_id = ctypes.c_ulong(0)
    rc, err = _syscall.syscall('io_setup', AIO_NR_EVENTS, ctypes.byref(ctx_id))
    if rc < 0:
        return R.unsupported(R.perror('No AIO syscall', err), evidence=R.errno_evidence(err))
    current = ctx_id.value
    try:
        try:
            length, name = _ring_len(current)
        except OSError as exc:
            return R.unsupported(open_proc_error(PROC_SELF, 'maps', exc.errno),
                                 evidence=R.errno_evidence(exc.errno, ctx='%#x' % current))
        evidence = {'ctx': '%#x' % current, 'ring_name': name, 'ring_len': length}
        if not length:
            return R.unsupported('No AIO ring at expected location', evidence=evidence)
        new, err = _mmap(length, mmap.PROT_READ | mmap.PROT_WRITE)
        if new is None:
            return R.unsupported(R.perror("Can't find place for new AIO ring", err), evidence=evidence)
        moved, err = _syscall.syscall('mremap', current, length, length, MREMAP_FIXED | MREMAP_MAYMOVE, new)
        if moved != new:
            _munmap(new, length)
            return R.unsupported(R.perror("Can't remap AIO ring", err), evidence=evidence)
        current = new              # the kernel now knows the context by its new address
        evidence['new_ctx'] = '%#x' % new
        rc, err = _syscall.syscall('io_getevents', new, 0, 1, 0, 0)
        evidence['io_getevents'] = rc
        if rc < 0:
            evidence.update(R.errno_evidence(err))
            return R.unsupported(R.perror("AIO remap doesn't work properly", err), evidence=evidence)
        return R.supported(evidence=evidence)
    finally:
        _syscall.syscall('io_destroy', current)


# ----------------------------------------------------- can_map_vdso, compat

def _can_map_vdso(ctx):
    """criu (x86): kdat_can_map_vdso(): a forked child tries
    arch_prctl(ARCH_MAP_VDSO_32, 0); rc 0 or EEXIST (the API exists and a
    vDSO is already mapped) exits 1, anything else 0.  The child's exit
    status is the answer; not exiting normally fails criu's kerndat."""
    def body(report):
        rc, err = _syscall.syscall('arch_prctl', ARCH_MAP_VDSO_32, 0)
        report({'arch_prctl_rc': rc, 'arch_prctl_errno': R.errno_name(err) if err else None})
        return 1 if rc == 0 or err == errno.EEXIST else 0

    status, evidence = _child.call(body, ctx.left())
    evidence.update(_status_evidence(status))
    if not os.WIFEXITED(status) or 'child_exception' in evidence:
        return None, evidence
    return os.WEXITSTATUS(status) == 1, evidence


def can_map_vdso(ctx):
    """criu: check_can_map_vdso() calling kdat_can_map_vdso() live.

    x86 only: elsewhere criu's kdat_can_map_vdso() is a constant 0, so the
    check always fails there (criu then restores the vDSO with mremap()).
    """
    if _syscall.MACHINE != 'x86_64':
        return R.unsupported(MSG_CAN_MAP_VDSO, evidence={'arch': _syscall.MACHINE,
                                                         'reason': 'ARCH_MAP_VDSO_32 exists on x86 only'})
    answer, evidence = _can_map_vdso(ctx)
    if answer is None:
        if 'child_exception' in evidence:
            return R.unknown('the probe child failed: %s' % evidence['child_exception'], evidence=evidence)
        return R.unsupported(MSG_CAN_MAP_VDSO, evidence=dict(evidence, **R.KERNDAT_FATAL))
    if answer:
        return R.supported(evidence=evidence)
    return R.unsupported(MSG_CAN_MAP_VDSO, evidence=evidence)


def _mmap_bug_test(report):
    """criu (x86): mmap_bug_test(): two 32-bit mmap2 calls through int $0x80
    for one PROT_NONE page with a 64-bit munmap between them; the second
    must return the first address (pre-4.12 kernels gave 64-bit addresses
    to 32-bit mmap from a 64-bit task).  Runs in a forked child."""
    try:
        code = _Code(_INT80_CODE)
    except OSError as exc:
        report({'machine_code_refused': R.errno_name(exc.errno)})
        return 126
    int80 = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p)(code.addr)

    def mmap_ia32():
        args = (ctypes.c_uint32 * 7)(NR32_MMAP2, 0, PAGE_SIZE, PROT_NONE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                                     0xffffffff, 0)   # addr, len, prot, flags, fd -1, pgoff
        return int80(ctypes.addressof(args))

    map1 = mmap_ia32()
    report({'map1': '%#x' % map1})
    if map1 % PAGE_SIZE:
        report({'error': 'ia32 mmap() failed: %d' % (map1 % PAGE_SIZE)})
        return 1
    rc, err = _syscall.syscall('munmap', map1, PAGE_SIZE)
    if rc:
        report({'error': 'Failed to unmap() 32-bit mapping: %s' % os.strerror(err)})
        return 1
    map2 = mmap_ia32()
    report({'map2': '%#x' % map2})
    if map2 % PAGE_SIZE:
        report({'error': 'ia32 mmap() failed: %d' % (map2 % PAGE_SIZE)})
        return 1
    return 0 if map1 == map2 else 1


def compat_cr(ctx):
    """criu: check_compat_cr() calling kdat_compatible_cr() (x86, CONFIG_COMPAT).

    False unless can_map_vdso; then a forked child runs criu's mmap_bug_test()
    with real 32-bit int $0x80 mmap2 system calls from machine code (criu's
    do_full_int80()), and must exit 0.  A child killed by a signal (no ia32
    emulation: int $0x80 is refused) reads as the bug, as in criu.  On other
    architectures criu is built without CONFIG_COMPAT.  Whether a given criu
    binary was built with CONFIG_COMPAT on x86_64 is not a kernel fact and is
    not probed here.
    """
    if _syscall.MACHINE != 'x86_64':
        return R.unsupported("CRIU built without CONFIG_COMPAT - can't C/R compatible tasks",
                             evidence={'arch': _syscall.MACHINE})
    can_map, evidence = _can_map_vdso(ctx)
    evidence = {'can_map_vdso': can_map, 'can_map_vdso_evidence': evidence}
    if not can_map:
        return R.unsupported(MSG_COMPAT_CR, evidence=evidence)
    status, info = _child.call(_mmap_bug_test, ctx.left())
    evidence.update(info)
    evidence.update(_status_evidence(status))
    if 'child_exception' in info or 'machine_code_refused' in info:
        return R.unknown('cannot run the 32-bit mmap test: %s' % info.get('child_exception', 'executable memory refused'),
                         evidence=evidence)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return R.supported(evidence=evidence)
    fix = _int80_refused_fix(status, evidence)
    return R.unsupported(MSG_COMPAT_CR, evidence=evidence, fix=fix)


# Why int $0x80 killed the test child where the kernel has the 32-bit ABI (can_map_vdso passed, and
# ARCH_MAP_VDSO_32 exists only with CONFIG_IA32_EMULATION): not the kernel's build, so not the registry's fix.
# SIGSYS is a seccomp filter's answer to an architecture it does not list (libseccomp's default for one;
# systemd's SystemCallArchitectures=native installs such a filter).  SIGSEGV, from 6.7 on, is a kernel with
# 32-bit system calls off (__ia32_enabled: CONFIG_IA32_EMULATION_DEFAULT_DISABLED, or ia32_emulation= on the
# command line, arch/x86/entry/common.c): int $0x80 then has no gate and faults (seen on Debian's 7.2 booted
# with ia32_emulation=0).
IA32_FILTERED_FIX = ('a seccomp filter kills this process\'s 32-bit system calls (int $0x80 got SIGSYS), not the '
                     'kernel: systemd\'s SystemCallArchitectures=native, or a seccomp profile without the x86 '
                     'architecture; run criu without that filter to restore 32-bit tasks')
IA32_OFF_AT_BOOT_FIX = ('this kernel was booted with %s, which turns 32-bit system calls off (int $0x80 faults): '
                        'boot it with ia32_emulation=1 (or without that argument) to restore 32-bit tasks')
IA32_OFF_BY_DEFAULT_FIX = ('this kernel has 32-bit system calls off (int $0x80 faults): built with '
                           'CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y, or a TDX or SEV guest, which turns them off: '
                           'boot it with ia32_emulation=1 to restore 32-bit tasks')
IA32_EMULATION_SWITCH = (6, 7)


def _ia32_emulation_word(cmdline):
    """The ``ia32_emulation=`` word of a kernel command line that left 32-bit
    system calls off, or None.  As the kernel parses it: each such word in
    turn through kstrtobool() (n, f, 0, off: false; y, t, 1, on: true; any
    other value changes nothing)."""
    word = None
    for item in cmdline.split():
        key, equals, value = item.partition('=')
        value = value.lower()
        if key != 'ia32_emulation' or not equals:
            continue
        if value[:1] in ('n', 'f', '0') or value[:2] == 'of':
            word = item
        elif value[:1] in ('y', 't', '1') or value[:2] == 'on':
            word = None
    return word


def _int80_refused_fix(status, evidence):
    """The fix for a test child that int $0x80 killed, where the kernel's
    build is not the cause, or None (the registry's fix).  A command line
    that turned 32-bit calls off goes into ``evidence`` as ``cmdline``."""
    if not os.WIFSIGNALED(status):
        return None
    if os.WTERMSIG(status) == signal.SIGSYS:
        return IA32_FILTERED_FIX
    running = _kernel_config.major_minor(os.uname().release)
    if os.WTERMSIG(status) != signal.SIGSEGV or not running or running < IA32_EMULATION_SWITCH:
        return None
    try:
        with open('/proc/cmdline') as handle:
            word = _ia32_emulation_word(handle.read())
    except OSError:
        word = None
    if word:
        evidence['cmdline'] = word
        return IA32_OFF_AT_BOOT_FIX % word
    return IA32_OFF_BY_DEFAULT_FIX


# ---------------------------------------------------------------- userfaultfd

def _uffd_open():
    """criu: uffd_open(0, &features) from kerndat_uffd(): userfaultfd(0), then
    UFFDIO_API {api=0xAA, features=0}.  Returns a dict: has_uffd, features,
    and why not."""
    fd, err = _syscall.syscall('userfaultfd', 0)
    if fd < 0:
        # ENOSYS (no CONFIG_USERFAULTFD) and EPERM (not allowed) read as
        # false; any other errno fails criu's kerndat.
        return {'has_uffd': False, 'errno': R.errno_name(err), 'err': err,
                R.KERNDAT_FLAG: err not in (errno.ENOSYS, errno.EPERM),
                'message': MSG_UFFD if err in (errno.ENOSYS, errno.EPERM) else R.perror('Lazy pages are not available', err)}
    try:
        buf = bytearray(struct.pack('=3Q', UFFD_API, 0, 0))
        try:
            fcntl.ioctl(fd, UFFDIO_API, buf, True)
        except OSError as exc:
            return {'has_uffd': False, 'errno': R.errno_name(exc.errno), R.KERNDAT_FLAG: True,
                    'message': R.perror('Failed to get uffd API', exc.errno)}
        api, features, ioctls = struct.unpack('=3Q', bytes(buf))
        if api != UFFD_API:
            return {'has_uffd': False, 'api': api, R.KERNDAT_FLAG: True,
                    'message': 'Incompatible uffd API: expected %d, got %d' % (UFFD_API, api)}
        return {'has_uffd': True, 'features': features, 'ioctls': ioctls}
    finally:
        os.close(fd)


def _uffd_evidence(info):
    evidence = dict((k, v) for k, v in info.items() if k not in ('err', 'message'))
    if 'features' in info:
        evidence['features'] = '%#x' % info['features']
        evidence['ioctls'] = '%#x' % info['ioctls']
    try:
        with open(UNPRIVILEGED_USERFAULTFD) as f:
            evidence['vm_unprivileged_userfaultfd'] = f.read().strip()
    except OSError:
        pass
    return evidence


def _uffd_result(ctx):
    """(result or None, info): the failing result of criu's check_uffd(), or
    None when kdat.has_uffd would be true."""
    info = _uffd_open()
    evidence = _uffd_evidence(info)
    if ctx.unprivileged:
        # kerndat_uffd() returns at once under --unprivileged: has_uffd stays
        # false whatever the kernel says (the live answer is in evidence).
        return R.not_probed('%s (%s)' % (MSG_UFFD, NOT_PROBED_UNPRIVILEGED), evidence={'live': evidence}), info
    if not info['has_uffd']:
        return R.unsupported(info['message'], evidence=evidence), info
    return None, info


def uffd(ctx):
    """criu: check_uffd() reading kdat from kerndat_uffd().

    userfaultfd(0) then UFFDIO_API.  Root-only in criu's kdat: skipped under
    --unprivileged, so unsupported there.  Without CAP_SYS_PTRACE (in the
    initial user namespace) and with vm.unprivileged_userfaultfd=0 the kernel
    answers EPERM, which criu reads as unsupported.
    """
    failed, info = _uffd_result(ctx)
    if failed:
        return failed
    return R.supported(evidence=_uffd_evidence(info))


def uffd_noncoop(ctx):
    """criu: check_uffd_noncoop(): check_uffd(), then the UFFDIO_API features
    must include EVENT_FORK, EVENT_REMAP, EVENT_REMOVE and EVENT_UNMAP."""
    failed, info = _uffd_result(ctx)
    if failed:
        return failed
    evidence = _uffd_evidence(info)
    evidence['needed'] = '%#x' % NEED_UFFD_API_FEATURES
    missing = NEED_UFFD_API_FEATURES & ~info['features']
    if missing:
        evidence['missing'] = '%#x' % missing
        return R.unsupported('Non-cooperative UFFD is not supported', evidence=evidence)
    return R.supported(evidence=evidence)


# ------------------------------------------------------------------ memfd

def memfd_hugetlb(ctx):
    """criu: check_memfd_hugetlb() reading kdat from kerndat_has_memfd_create()
    and kerndat_has_memfd_hugetlb().

    memfd_create(NULL, 0) must fail with EFAULT (memfd exists; ENOSYS: it
    does not); then memfd_create("", MFD_HUGETLB) must give an fd (closed at
    once).  EINVAL, ENOENT or ENOSYS read as false; other errors fail
    criu's kerndat.  The hugetlb pool size does not matter: nothing is
    allocated.
    """
    fd, err = _syscall.syscall('memfd_create', 0, 0)
    if fd >= 0:
        os.close(fd)
    if fd >= 0 or err not in (errno.EFAULT, errno.ENOSYS):
        return R.unsupported(R.perror('Unexpected error from memfd_create(NULL, 0)', err),
                             evidence=R.errno_evidence(err, **R.KERNDAT_FATAL))
    if err == errno.ENOSYS:
        return R.unsupported('memfd_create() is not supported', evidence=R.errno_evidence(err, has_memfd=False))
    fd, err = _syscall.syscall('memfd_create', ctypes.c_char_p(b''), MFD_HUGETLB)
    if fd >= 0:
        os.close(fd)
        return R.supported(evidence={'has_memfd': True})
    if err in (errno.EINVAL, errno.ENOENT, errno.ENOSYS):
        return R.unsupported('memfd_create(MFD_HUGETLB) is not supported', evidence=R.errno_evidence(err, has_memfd=True))
    return R.unsupported(R.perror('Unexpected error from memfd_create("", MFD_HUGETLB)', err),
                         evidence=R.errno_evidence(err, has_memfd=True, **R.KERNDAT_FATAL))


# ---------------------------------------------------------------- pagemap

def _pm_scan_arg(return_mask):
    """criu's check_pagemap() arguments: an empty range (start = end = 0),
    no output vector; only the kernel's validation of the masks is tested."""
    return bytearray(PM_SCAN_ARG.pack(
        PM_SCAN_ARG.size, 0, 0, 0, 0, 0, 0, 0,                 # size flags start end walk_end vec vec_len max_pages
        PAGE_IS_PFNZERO | PAGE_IS_FILE,                         # category_inverted
        PAGE_IS_PFNZERO | PAGE_IS_FILE,                         # category_mask
        PAGE_IS_PRESENT | PAGE_IS_SWAPPED,                      # category_anyof_mask
        return_mask))


def _pagemap_scan_ioctl(fd, return_mask):
    try:
        return fcntl.ioctl(fd, PAGEMAP_SCAN, _pm_scan_arg(return_mask), True), 0
    except OSError as exc:
        return -1, exc.errno


def _pagemap_scan_kdat():
    """criu: check_pagemap(), the PAGEMAP_SCAN part of kerndat: the first
    ioctl (return mask PRESENT + SWAPPED + SOFT_DIRTY) decides
    has_pagemap_scan, a second one with PAGE_IS_GUARD added decides
    has_pagemap_scan_guard_pages.  EPERM on open: pagemap disabled, both
    false.  EINVAL or ENOTTY: unsupported; other errors fail criu's kerndat."""
    kdat = {'has_pagemap_scan': False, 'has_pagemap_scan_guard_pages': False}
    try:
        fd = os.open('/proc/self/pagemap', os.O_RDONLY)
    except OSError as exc:
        kdat.update(R.errno_evidence(exc.errno, step='open /proc/self/pagemap'))
        if exc.errno == errno.EPERM:
            kdat['pmap'] = 'disabled'
        else:
            kdat[R.KERNDAT_FLAG] = True
            kdat['message'] = open_proc_error(PROC_SELF, 'pagemap', exc.errno)
        return kdat
    try:
        base = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_SOFT_DIRTY
        rc, err = _pagemap_scan_ioctl(fd, base)
        if rc == 0:
            kdat['has_pagemap_scan'] = True
            rc, err = _pagemap_scan_ioctl(fd, base | PAGE_IS_GUARD)
            kdat['has_pagemap_scan_guard_pages'] = rc == 0
            if rc:
                kdat['guard_errno'] = R.errno_name(err)
        else:
            kdat.update(R.errno_evidence(err, step='ioctl(PAGEMAP_SCAN)'))
            if err not in (errno.EINVAL, errno.ENOTTY):
                kdat[R.KERNDAT_FLAG] = True
                kdat['message'] = R.perror('PAGEMAP_SCAN failed with unexpected errno', err)
    finally:
        os.close(fd)
    return kdat


def pagemap_scan(ctx):
    """criu: check_pagemap_scan() reading kdat.has_pagemap_scan (check_pagemap()).

    Because the return mask includes PAGE_IS_SOFT_DIRTY, a 6.7 kernel (which
    has PAGEMAP_SCAN but not that category) reads as false, as in criu.
    """
    with _criu_dumpable(ctx):
        kdat = _pagemap_scan_kdat()
    if kdat['has_pagemap_scan']:
        return R.supported(evidence=kdat)
    default = 'Pagemap disabled' if kdat.get('pmap') == 'disabled' else 'ioctl(PAGEMAP_SCAN) is not supported'
    return R.unsupported(kdat.pop('message', default), evidence=kdat)


def _has_madv_guard():
    """criu: kerndat_has_madv_guard(): madvise(MADV_GUARD_INSTALL) on a fresh
    private page; EINVAL means no."""
    addr, err = _mmap(PAGE_SIZE, mmap.PROT_READ | mmap.PROT_WRITE)
    if addr is None:
        return None, err
    try:
        rc, err = _syscall.syscall('madvise', addr, PAGE_SIZE, MADV_GUARD_INSTALL)
    finally:
        _munmap(addr, PAGE_SIZE)
    if rc == 0:
        return True, 0
    return (False, err) if err == errno.EINVAL else (None, err)


def pagemap_scan_guard_pages(ctx):
    """criu: check_pagemap_scan_guard_pages(): kerndat_warn_about_madv_guards()
    (warns when MADV_GUARD_INSTALL works but PAGEMAP_SCAN cannot report guard
    regions), then kdat.has_pagemap_scan_guard_pages."""
    with _criu_dumpable(ctx):
        kdat = _pagemap_scan_kdat()
    madv_guard, err = _has_madv_guard()
    kdat['has_madv_guard'] = madv_guard
    if madv_guard is None:
        kdat['madv_guard_errno'] = R.errno_name(err)
        kdat[R.KERNDAT_FLAG] = True
    if kdat['has_pagemap_scan_guard_pages']:
        return R.supported(evidence=kdat)
    default = MSG_GUARD if madv_guard else 'ioctl(PAGEMAP_SCAN) does not accept PAGE_IS_GUARD'
    message = kdat.pop('message', default)
    return R.unsupported(message, evidence=kdat)
