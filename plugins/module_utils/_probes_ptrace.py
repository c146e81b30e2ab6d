# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of ptrace.

PRIVATE to the criu.check collection: not a public API.

Every probe here traces a child it forked itself, exactly as criu does, and
always ends with SIGKILL and a reap of that child: a tracee never outlives
its probe, and one that outlives a killed worker dies by PR_SET_PDEATHSIG.

python-ptrace is used through its low-level binding ``ptrace.binding.func``
(imported lazily inside the probes): ``ptrace()`` for the raw requests that
python-ptrace has no helper for (PEEKSIGINFO, GETSIGMASK, SETSIGMASK,
SECCOMP_GET_FILTER, GET_RSEQ_CONFIGURATION, GETREGSET, SETREGSET), and its
named helpers (``ptrace_attach``, ``ptrace_traceme``, ``ptrace_cont``,
``ptrace_pokeuser``, ``ptrace_peekuser``, ``ptrace_getsiginfo``) otherwise.
That binding is the same in python-ptrace 0.9.x with either back end (ctypes
``libc.ptrace``, or the ``cptrace`` C extension that Debian ships).  The
errno of a failure is read from the text of ``PtraceError`` ("... error #N:
..."), because with the cptrace back end ``PtraceError.errno`` is ctypes'
private errno, not the real one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import ctypes
import errno
import os
import re
import signal
import socket
import time

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall

# ptrace requests (linux/ptrace.h)
PTRACE_POKEUSER = 6
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETREGSET = 0x4204
PTRACE_SETREGSET = 0x4205
PTRACE_PEEKSIGINFO = 0x4209
PTRACE_GETSIGMASK = 0x420a
PTRACE_SETSIGMASK = 0x420b
PTRACE_SECCOMP_GET_FILTER = 0x420c
PTRACE_GET_RSEQ_CONFIGURATION = 0x420f
PTRACE_O_SUSPEND_SECCOMP = 1 << 21

# seccomp(2)
SECCOMP_MODE_FILTER = 2

# classic BPF (linux/filter.h, linux/seccomp.h)
BPF_LD_W_ABS = 0x00 | 0x00 | 0x20      # BPF_LD + BPF_W + BPF_ABS
BPF_JMP_JEQ_K = 0x05 | 0x10 | 0x00     # BPF_JMP + BPF_JEQ + BPF_K
BPF_RET_K = 0x06 | 0x00                # BPF_RET + BPF_K
SECCOMP_DATA_NR_OFFSET = 0             # offsetof(struct seccomp_data, nr)
SECCOMP_RET_KILL = 0x00000000
SECCOMP_RET_ALLOW = 0x7fff0000

# x86_64 debug registers: offsetof(struct user, u_debugreg) (checked with gcc)
X86_64_U_DEBUGREG = 848
DR_FIRSTADDR = 0
DR_STATUS = 6
DR_CONTROL = 7
X86_DR_LOCAL_ENABLE_DR0 = 1            # DR7 L0: execute, 1 byte
# arm64 hardware breakpoints (asm/ptrace.h, compel's ptrace_set_breakpoint)
NT_ARM_HW_BREAK = 0x402
ARM_BREAKPOINT_LEN_4 = 0xf
ARM_BREAKPOINT_EXECUTE = 0
AARCH64_BREAKPOINT_EL0 = 2
ENABLE_HBP = 1
AARCH64_HBP_CTRL = ((((ARM_BREAKPOINT_LEN_4 << 2) | ARM_BREAKPOINT_EXECUTE) << 2 | AARCH64_BREAKPOINT_EL0) << 1) | ENABLE_HBP
TRAP_HWBKPT = 4                        # si_code of a hardware breakpoint trap

YAMA_PTRACE_SCOPE = '/proc/sys/kernel/yama/ptrace_scope'

MSG_RSEQ_CONF = ("ptrace(PTRACE_GET_RSEQ_CONFIGURATION) isn't supported. "
                 "C/R of processes which are using rseq() won't work.")
MSG_BREAKPOINTS = "Hardware breakpoints don't seem to work"


class _PeekSiginfoArgs(ctypes.Structure):
    """struct ptrace_peeksiginfo_args"""
    _fields_ = [('off', ctypes.c_uint64), ('flags', ctypes.c_uint32), ('nr', ctypes.c_int32)]


class _RseqConfiguration(ctypes.Structure):
    """struct ptrace_rseq_configuration: 24 bytes, which the kernel returns on success."""
    _fields_ = [('rseq_abi_pointer', ctypes.c_uint64), ('rseq_abi_size', ctypes.c_uint32),
                ('signature', ctypes.c_uint32), ('flags', ctypes.c_uint32), ('pad', ctypes.c_uint32)]


class _SockFilter(ctypes.Structure):
    """struct sock_filter"""
    _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    """struct sock_fprog"""
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]


class _Iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]


class _HwDebugReg(ctypes.Structure):
    _fields_ = [('addr', ctypes.c_uint64), ('ctrl', ctypes.c_uint32), ('pad', ctypes.c_uint32)]


class _UserHwDebugState(ctypes.Structure):
    """arm64 struct user_hwdebug_state"""
    _fields_ = [('dbg_info', ctypes.c_uint32), ('pad', ctypes.c_uint32), ('dbg_regs', _HwDebugReg * 16)]


class _Ptrace:
    """python-ptrace's low-level binding, returning ``(rc, errno)`` like _syscall."""

    def __init__(self):
        self.func = _deps.load('ptrace.binding.func')
        self.error = _deps.load('ptrace.error').PtraceError

    def call(self, request, pid, arg1=0, arg2=0):
        """A raw request number through ``ptrace.binding.func.ptrace``."""
        try:
            return self.func.ptrace(request, pid, arg1, arg2), 0
        except self.error as exc:
            return -1, _ptrace_errno(exc)

    def helper(self, name, *args):
        """One of python-ptrace's named helpers, e.g. ``ptrace_attach``."""
        try:
            result = getattr(self.func, name)(*args)
        except self.error as exc:
            return -1, _ptrace_errno(exc)
        return (0 if result is None else result), 0


def _ptrace_errno(exc):
    """The real errno of a PtraceError: both back ends write it into the text."""
    match = re.search(r'error #(\d+)', str(exc))
    if match:
        return int(match.group(1))
    return getattr(exc, 'errno', None) or errno.EIO


def _yama_scope():
    return _context.read_int(YAMA_PTRACE_SCOPE)


def _wait_stop(pid, ctx, what):
    """The next wait status of a traced child, within the probe's time."""
    status = _child.wait(pid, ctx.left())
    if status is None:
        raise RuntimeError('the traced child did not reach %s within the probe\'s %.1f s' % (what, ctx.timeout))
    return status


class _HelperFailed(Exception):
    """fork_and_ptrace_attach() failed; ``message`` is criu's text."""

    def __init__(self, message, evidence):
        Exception.__init__(self, message)
        self.message = message
        self.evidence = dict(evidence, helper='fork_and_ptrace_attach', yama_ptrace_scope=_yama_scope())


def _tracee_main(parent_end, child_end, setup, dumpable):
    """The child of fork_and_ptrace_attach (run by _child.spawn): run
    ``setup``, say it is ready (one byte), then sleep until killed; exit 1
    when ``setup`` fails."""
    parent_end.close()
    if dumpable:
        # criu --unprivileged made its whole process dumpable at start-up
        # (crtools.c), and so its tracee; a worker that changed its
        # credentials without exec is not, and could not be attached.
        _syscall.prctl(_syscall.PR_SET_DUMPABLE, 1)
    if setup is None or setup() == 0:
        child_end.send(b'\0')
        while True:
            time.sleep(1000)
    return 1


@contextlib.contextmanager
def _tracee(pt, ctx, setup=None):
    """criu: fork_and_ptrace_attach() (util.c), yielding the attached pid.

    socketpair(SOCK_SEQPACKET), fork; the child runs ``setup`` (which must
    return 0; it runs in the child, so it may change the child freely),
    writes one byte and sleeps; the parent reads that byte, PTRACE_ATTACHes
    and waits for the attach stop.  Raises _HelperFailed with criu's message.
    Unlike criu's helper, the child is always SIGKILLed and reaped on the way
    out (criu's callers do that themselves).
    """
    dumpable = ctx.unprivileged and not ctx.root
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        pid = _child.spawn(lambda: _tracee_main(parent_end, child_end, setup, dumpable))
    except OSError as exc:
        parent_end.close()
        child_end.close()
        raise _HelperFailed(R.perror('fork', exc.errno), R.errno_evidence(exc.errno, step='fork'))
    child_end.close()
    try:
        try:
            parent_end.settimeout(ctx.left())
            ready, err = parent_end.recv(1), 0
        except socket.timeout:
            raise RuntimeError('the traced child was not ready within the probe\'s %.1f s' % ctx.timeout)
        except OSError as exc:
            ready, err = b'', exc.errno
        finally:
            parent_end.close()
        if len(ready) != 1:
            # The child exited without writing: its setup failed.  criu
            # prints pr_perror("read") with whatever errno was left, "Success"
            # when read() simply returned 0.
            raise _HelperFailed(R.perror('read', err), {'step': 'read', 'errno': err, 'tracee_setup_failed': True})
        rc, err = pt.helper('ptrace_attach', pid)
        if rc:
            raise _HelperFailed(R.perror('Unable to ptrace the child', err),
                                R.errno_evidence(err, step='PTRACE_ATTACH'))
        _wait_stop(pid, ctx, 'the attach stop')
        yield pid
    finally:
        _child.kill_and_reap(pid)


def _helper_failure(exc, kerndat=False):
    evidence = dict(exc.evidence)
    if kerndat:
        # A kerndat probe: criu's kerndat_init() fails, and criu refuses to
        # run at all ("Could not initialize kernel features detection.").
        evidence[R.KERNDAT_FLAG] = True
    return R.unsupported(exc.message, evidence=evidence)


def ptrace_peeksiginfo(ctx):
    """criu: check_ptrace_peeksiginfo() (Category 1).

    Attach to an own child, then PTRACE_PEEKSIGINFO {off=0, flags=0, nr=1}
    must return exactly 0 (no pending signal: the attach SIGSTOP has been
    dequeued) and PTRACE_GETSIGMASK (8 bytes) must succeed.  Both run, as in
    criu, and every failure is reported.
    """
    pt = _Ptrace()
    try:
        with _tracee(pt, ctx) as pid:
            args = _PeekSiginfoArgs(off=0, flags=0, nr=1)
            siginfo = ctypes.create_string_buffer(128)
            mask = ctypes.c_uint64(0)
            peek_rc, peek_err = pt.call(PTRACE_PEEKSIGINFO, pid, ctypes.addressof(args), ctypes.addressof(siginfo))
            mask_rc, mask_err = pt.call(PTRACE_GETSIGMASK, pid, ctypes.sizeof(mask), ctypes.addressof(mask))
    except _HelperFailed as exc:
        return _helper_failure(exc)
    evidence = {'peeksiginfo_rc': _signed(peek_rc), 'peeksiginfo_errno': R.errno_name(peek_err) if peek_err else None,
                'getsigmask_rc': _signed(mask_rc), 'getsigmask_errno': R.errno_name(mask_err) if mask_err else None}
    failures = []
    if peek_rc != 0:
        failures.append(R.perror('Unable to dump pending signals', peek_err))
    if mask_rc != 0:
        failures.append(R.perror('Unable to dump signal blocking mask', mask_err))
    else:
        evidence['sigmask'] = '%#x' % mask.value
    if failures:
        return R.unsupported('\n'.join(failures), evidence=evidence)
    return R.supported(evidence=evidence)


def _signed(value):
    """ptrace() results come back as unsigned longs: show -1 as -1."""
    return ctypes.c_long(value).value


def _tracer_evidence(ctx):
    """Why the kernel may refuse the seccomp requests: CAP_SYS_ADMIN (in the
    initial user namespace) and the tracer's own seccomp mode."""
    evidence = {'cap_sys_admin': ctx.has_cap(_caps.CAP_SYS_ADMIN)}
    try:
        mode = _context.proc_status().get('Seccomp')
    except _context.EngineError:
        mode = None
    if mode is not None:
        evidence['tracer_seccomp_mode'] = _context.int_or_none(mode)
    return evidence


def seccomp_suspend(ctx):
    """criu: check_ptrace_suspend_seccomp().

    Attach to an own child and PTRACE_SETOPTIONS PTRACE_O_SUSPEND_SECCOMP,
    which needs CAP_SYS_ADMIN in the initial user namespace and a tracer
    that is not itself under seccomp (EPERM otherwise).
    """
    pt = _Ptrace()
    try:
        with _tracee(pt, ctx) as pid:
            rc, err = pt.call(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_SUSPEND_SECCOMP)
    except _HelperFailed as exc:
        return _helper_failure(exc)
    evidence = _tracer_evidence(ctx)
    if rc == 0:
        return R.supported(evidence=evidence)
    evidence.update(R.errno_evidence(err))
    if err == errno.EINVAL:
        return R.unsupported("Kernel doesn't support PTRACE_O_SUSPEND_SECCOMP", evidence=evidence)
    return R.unsupported(R.perror("couldn't suspend seccomp", err), evidence=evidence)


def _kill_ptrace_filter():
    """criu's setup_seccomp_filter() program: load seccomp_data.nr; if it is
    __NR_ptrace of this architecture RET KILL, else RET ALLOW."""
    return (_SockFilter * 4)(
        _SockFilter(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR_OFFSET),
        _SockFilter(BPF_JMP_JEQ_K, 0, 1, _syscall.nr('ptrace')),
        _SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_KILL),
        _SockFilter(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    )


def seccomp_filters(ctx):
    """criu: check_ptrace_dump_seccomp_filters().

    The tracee installs criu's 4-instruction filter with PR_SET_SECCOMP and
    no PR_SET_NO_NEW_PRIVS (so it needs CAP_SYS_ADMIN; without it the child
    exits before it is ready and criu reports "read: Success"), then the
    tracer asks PTRACE_SECCOMP_GET_FILTER(index 0, NULL), which returns the
    filter's length and needs CAP_SYS_ADMIN in the initial user namespace
    (EACCES in a user namespace).
    """
    pt = _Ptrace()
    program = _kill_ptrace_filter()   # built before fork: nr() may raise UnsupportedArch
    fprog = _SockFprog(len(program), ctypes.addressof(program))

    def setup():
        rc, dummy = _syscall.prctl(_syscall.PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(fprog))
        return 0 if rc == 0 else -1

    try:
        with _tracee(pt, ctx, setup) as pid:
            rc, err = pt.call(PTRACE_SECCOMP_GET_FILTER, pid, 0, 0)
    except _HelperFailed as exc:
        return _helper_failure(exc)
    evidence = _tracer_evidence(ctx)
    if rc != -1:
        evidence['filter_instructions'] = rc
        return R.supported(evidence=evidence)
    evidence.update(R.errno_evidence(err))
    return R.unsupported(R.perror('Dumping seccomp filters not supported', err), evidence=evidence)


def get_rseq_conf(ctx):
    """criu: check_ptrace_get_rseq_conf() reading kdat from
    kerndat_has_ptrace_get_rseq_conf().

    Attach to an own child and PTRACE_GET_RSEQ_CONFIGURATION with the size
    of struct ptrace_rseq_configuration: the kernel must return that size
    (24, sizeof(struct ptrace_rseq_configuration), as the kernel and criu use) with flags 0.
    The tracee is a forked Python whose glibc (>= 2.35) registered rseq, so
    the configuration read is the one criu would save for such a task.
    """
    pt = _Ptrace()
    conf = _RseqConfiguration()
    try:
        with _tracee(pt, ctx) as pid:
            rc, err = pt.call(PTRACE_GET_RSEQ_CONFIGURATION, pid, ctypes.sizeof(conf), ctypes.addressof(conf))
    except _HelperFailed as exc:
        return _helper_failure(exc, kerndat=True)
    evidence = {'rc': _signed(rc), 'expected': ctypes.sizeof(conf)}
    if rc != ctypes.sizeof(conf):
        if err:
            evidence.update(R.errno_evidence(err))
        return R.unsupported(MSG_RSEQ_CONF, evidence=evidence)
    evidence.update({'rseq_abi_pointer': '%#x' % conf.rseq_abi_pointer, 'rseq_abi_size': conf.rseq_abi_size,
                     'signature': '%#x' % conf.signature, 'flags': conf.flags})
    if conf.flags != 0:
        # criu: pr_err "rseq.flags != 0" and the feature reads as missing.
        return R.unsupported(MSG_RSEQ_CONF, evidence=dict(evidence, kerndat_message=(
            'ptrace(PTRACE_GET_RSEQ_CONFIGURATION): rseq.flags != 0')))
    return R.supported(evidence=evidence)


def _set_breakpoint_x86_64(pt, pid, addr):
    """compel (x86): ptrace_set_breakpoint(): DR0 = addr, DR7 = local enable
    of DR0 (execute, 1 byte), through PTRACE_POKEUSER into u_debugreg."""
    rc, err = pt.helper('ptrace_pokeuser', pid, X86_64_U_DEBUGREG + 8 * DR_FIRSTADDR, addr)
    if rc:
        return -1, {'step': 'POKEUSER DR0', 'errno': R.errno_name(err)}
    rc, err = pt.helper('ptrace_pokeuser', pid, X86_64_U_DEBUGREG + 8 * DR_CONTROL, X86_DR_LOCAL_ENABLE_DR0)
    if rc:
        return -1, {'step': 'POKEUSER DR7', 'errno': R.errno_name(err)}
    return 1, {}


def _set_breakpoint_aarch64(pt, pid, addr):
    """compel (arm64): ptrace_set_breakpoint(): read the breakpoint count
    with GETREGSET NT_ARM_HW_BREAK (none: "disabled", 0), then SETREGSET
    dbg_regs[0] = {addr, len 4, execute, EL0, enabled}."""
    info = ctypes.c_uint32(0)
    iov = _Iovec(ctypes.addressof(info), ctypes.sizeof(info))
    rc, err = pt.call(PTRACE_GETREGSET, pid, NT_ARM_HW_BREAK, ctypes.addressof(iov))
    arch, count = (info.value >> 8) & 0xff, info.value & 0xff
    evidence = {'dbg_info': '%#x' % info.value, 'debug_arch': arch, 'breakpoint_count': count}
    if rc == -1 or arch == 0 or count == 0:
        evidence['getregset_errno'] = R.errno_name(err) if rc == -1 else None
        return 0, evidence
    state = _UserHwDebugState()
    state.dbg_regs[0].addr = addr
    state.dbg_regs[0].ctrl = AARCH64_HBP_CTRL
    iov = _Iovec(ctypes.addressof(state), _UserHwDebugState.dbg_regs.offset + ctypes.sizeof(_HwDebugReg))
    rc, err = pt.call(PTRACE_SETREGSET, pid, NT_ARM_HW_BREAK, ctypes.addressof(iov))
    if rc:
        return -1, dict(evidence, step='SETREGSET NT_ARM_HW_BREAK', errno=R.errno_name(err))
    return 1, evidence


_SET_BREAKPOINT = {'x86_64': _set_breakpoint_x86_64, 'aarch64': _set_breakpoint_aarch64}


def _arm_and_continue(pt, pid, addr):
    """compel: ptrace_set_breakpoint(): set the breakpoint, block every
    signal but SIGTRAP with PTRACE_SETSIGMASK, and PTRACE_CONT.
    Returns (1 armed | 0 disabled | -1 failed, evidence)."""
    ret, evidence = _SET_BREAKPOINT[_syscall.MACHINE](pt, pid, addr)
    if ret != 1:
        return ret, evidence
    block = ctypes.c_uint64(0xffffffffffffffff & ~(1 << (signal.SIGTRAP - 1)))
    rc, err = pt.call(PTRACE_SETSIGMASK, pid, ctypes.sizeof(block), ctypes.addressof(block))
    if rc:
        return -1, dict(evidence, step='SETSIGMASK', errno=R.errno_name(err))
    rc, err = pt.helper('ptrace_cont', pid)
    if rc:
        return -1, dict(evidence, step='CONT', errno=R.errno_name(err))
    return 1, evidence


def _breakpoint_child(pt, target):
    """criu's kerndat_breakpoints() child (run by _child.spawn): PTRACE_TRACEME,
    stop, then run the code at the breakpoint (a libc function, ``getppid``,
    called through ctypes), then stop again (criu's breakpoint_func()) and
    exit 1."""
    try:
        rc, dummy = pt.helper('ptrace_traceme')
        if rc == 0:
            os.kill(os.getpid(), signal.SIGSTOP)
            target()
            os.kill(os.getpid(), signal.SIGSTOP)
    except Exception:  # criu's child exits 1 whatever happened
        pass
    return 1


def _trap_evidence(pt, pid):
    """What the trap was: si_code TRAP_HWBKPT, and on x86 DR6.B0."""
    evidence = {}
    info, err = pt.helper('ptrace_getsiginfo', pid)
    if not err:
        evidence['si_code'] = info.si_code
        evidence['si_code_is_trap_hwbkpt'] = info.si_code == TRAP_HWBKPT
    if _syscall.MACHINE == 'x86_64':
        dr6, err = pt.helper('ptrace_peekuser', pid, X86_64_U_DEBUGREG + 8 * DR_STATUS)
        if not err:
            evidence['dr6'] = '%#x' % dr6
    return evidence


def breakpoints(ctx):
    """criu: check_breakpoints() reading kdat from kerndat_breakpoints() (4.2).

    A forked child PTRACE_TRACEMEs and stops; the parent sets a hardware
    execute breakpoint on a known code address (x86_64: PTRACE_POKEUSER DR0
    and DR7 at offsetof(struct user, u_debugreg) = 848; arm64: the
    NT_ARM_HW_BREAK regset), blocks all signals but SIGTRAP and continues;
    the child then calls that address (libc ``getppid`` through ctypes) and
    must stop with SIGTRAP.  Other architectures are "disabled" in criu
    (ptrace_set_breakpoint() returns 0), so unsupported here too.  Virtual
    machines without debug-register virtualisation (AMD SEV) fail.

    In criu a hard failure here (no TRACEME stop, arming failed, an odd exit)
    makes kerndat_init() fail and criu refuse to run; that is reported as
    unsupported with ``criu_kerndat_fails`` in evidence.
    """
    arch = _syscall.MACHINE
    if arch not in _SET_BREAKPOINT:
        return R.unsupported(MSG_BREAKPOINTS, evidence={
            'arch': arch, 'kerndat_message': 'Hardware breakpoints appear to be disabled',
            'reason': 'criu has no hardware-breakpoint support for this architecture'})
    pt = _Ptrace()
    target = ctypes.CDLL(None).getppid
    addr = ctypes.cast(target, ctypes.c_void_p).value
    pid = _child.spawn(lambda: _breakpoint_child(pt, target))
    evidence = {'arch': arch, 'breakpoint_address': '%#x' % addr}
    outcome = None
    try:
        outcome = _drive_breakpoint_child(pt, pid, addr, evidence, ctx)
    finally:
        final = _child.kill_and_reap(pid)
    if final is not None and not (os.WIFSIGNALED(final) and os.WTERMSIG(final) == signal.SIGKILL):
        evidence[R.KERNDAT_FLAG] = True
        return R.unsupported("The child exited with unexpected code: %x" % final, evidence=evidence)
    return outcome


def _drive_breakpoint_child(pt, pid, addr, evidence, ctx):
    status = _wait_stop(pid, ctx, 'its first stop')
    if not (os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGSTOP):
        evidence[R.KERNDAT_FLAG] = True
        return R.unsupported("Child didn't stop as expected: status=%x" % status, evidence=evidence)
    ret, detail = _arm_and_continue(pt, pid, addr)
    evidence.update(detail)
    if ret < 0:
        evidence[R.KERNDAT_FLAG] = True
        return R.unsupported('Failed to set breakpoint', evidence=evidence)
    if ret == 0:
        evidence['kerndat_message'] = 'Hardware breakpoints appear to be disabled'
        return R.unsupported(MSG_BREAKPOINTS, evidence=evidence)
    status = _wait_stop(pid, ctx, 'the breakpoint')
    evidence['status'] = '%#x' % status
    if not (os.WIFSTOPPED(status) and os.WSTOPSIG(status) == signal.SIGTRAP):
        evidence['kerndat_message'] = "Hardware breakpoints don't seem to work (status=%x)" % status
        return R.unsupported(MSG_BREAKPOINTS, evidence=evidence)
    evidence.update(_trap_evidence(pt, pid))
    return R.supported(evidence=evidence)
