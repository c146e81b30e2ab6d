# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ptrace probes on the real kernel (run as root: Debian 12 userland,
kernel 6.18 x86_64), in the contexts criu distinguishes: root, non-root with
--unprivileged, a user namespace, and root without CAP_SYS_ADMIN.  The
expected answers are the ones real criu 4.1.1 gave on this machine in the
same contexts; facts are checked independently where the kernel offers a
second way (its config, a direct ptrace call from the test).
"""

import ctypes
import errno
import os
import signal
import subprocess
import threading
import time

import pytest

import conftest
import kernelinfo
import leftovers
import process_list
import seccomp_deny

from conftest import NOBODY, become_user, in_child, requires_root, run_probe

# python-ptrace is imported lazily by the probes.  This venv's standard
# library lives under /root, which a child that dropped to nobody cannot
# read, so the modules the probes load are imported here, before any fork.
import ctypes.util  # noqa: E402
import ptrace.binding.func  # noqa: E402
import ptrace.error  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _context  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _probes_ptrace as P  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _registry  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _syscall  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_SYS_ADMIN  # noqa: E402

pytestmark = requires_root

# Named here only to say why they are imported: loaded before any fork (above).
PRELOADED_BEFORE_FORK = (ctypes.util, ptrace.binding.func, ptrace.error)

PTRACE_IDS = ('ptrace_peeksiginfo', 'seccomp_suspend', 'seccomp_filters', 'get_rseq_conf', 'breakpoints')
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.ptrace.restype = ctypes.c_long
LIBC.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]


def _yama_scope():
    try:
        with open('/proc/sys/kernel/yama/ptrace_scope') as f:
            return int(f.read())
    except OSError:
        return 0


@pytest.fixture(autouse=True)
def _ptrace_allowed():
    if _yama_scope() >= 2:
        pytest.skip('Yama ptrace_scope >= 2: criu itself cannot run here')


# ------------------------------------------------------------ ptrace_peeksiginfo

def _direct_peeksiginfo():
    """The same requests made by the test itself with libc's ptrace on an
    attached child that has one blocked SIGUSR1 pending: PEEKSIGINFO must
    return 1 (so the request exists and reads the queue) and GETSIGMASK must
    show SIGUSR1 blocked."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        # thread-directed (tgkill): PEEKSIGINFO with flags 0 reads the
        # thread's own queue, not the process-wide one
        signal.pthread_kill(threading.get_ident(), signal.SIGUSR1)
        os.write(wfd, b'pending')
        while True:
            time.sleep(1000)
    os.close(wfd)
    try:
        # Attach once the signal is pending, not after a fixed sleep: a child
        # forked on a loaded machine may not have run that far in 50 ms.
        assert os.read(rfd, 16) == b'pending', 'the child ended before its SIGUSR1 was pending'
        assert LIBC.ptrace(16, pid, None, None) == 0, os.strerror(ctypes.get_errno())  # PTRACE_ATTACH
        os.waitpid(pid, 0)
        args = P._PeekSiginfoArgs(off=0, flags=0, nr=1)
        info = ctypes.create_string_buffer(128)
        peek = LIBC.ptrace(P.PTRACE_PEEKSIGINFO, pid, ctypes.addressof(args), ctypes.addressof(info))
        mask = ctypes.c_uint64()
        getmask = LIBC.ptrace(P.PTRACE_GETSIGMASK, pid, 8, ctypes.addressof(mask))
        return peek, getmask, mask.value
    finally:
        os.close(rfd)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_peeksiginfo_root_supported_and_agrees_with_direct_ptrace():
    result = run_probe('ptrace_peeksiginfo')
    assert result['status'] == 'supported', result
    assert result['evidence']['peeksiginfo_rc'] == 0
    assert result['evidence']['getsigmask_rc'] == 0
    peek, getmask, mask = in_child(_direct_peeksiginfo)
    assert peek == 1 and getmask == 0
    assert mask & (1 << (signal.SIGUSR1 - 1))


def test_peeksiginfo_nobody_unprivileged_supported():
    # criu 4.1.1 as uid 65534 with CAP_CHECKPOINT_RESTORE and --unprivileged
    # passes Category 1 on this machine.
    result = run_probe('ptrace_peeksiginfo', as_user=NOBODY, unprivileged=True)
    assert result['status'] == 'supported', result


def test_peeksiginfo_in_user_namespace_supported():
    assert run_probe('ptrace_peeksiginfo', userns=True)['status'] == 'supported'


def test_helper_failure_is_criu_text():
    # Without --unprivileged nothing makes the tracee dumpable, and a uid
    # change without exec left this process (and so its child) non-dumpable:
    # the kernel refuses PTRACE_ATTACH to a non-root tracer.
    result = run_probe('ptrace_peeksiginfo', as_user=NOBODY)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'Unable to ptrace the child: Operation not permitted'
    assert result['evidence']['step'] == 'PTRACE_ATTACH'
    assert result['evidence']['errno_name'] == 'EPERM'


# ---------------------------------------------------------------- seccomp_*

def test_seccomp_suspend_root_supported():
    assert kernelinfo.config_on('CONFIG_SECCOMP') and kernelinfo.config_on('CONFIG_CHECKPOINT_RESTORE')
    result = run_probe('seccomp_suspend')
    assert result['status'] == 'supported', result
    assert result['evidence']['tracer_seccomp_mode'] == 0


@pytest.mark.parametrize('context', [dict(userns=True), dict(drop_caps=(CAP_SYS_ADMIN,)),
                                     dict(as_user=NOBODY, unprivileged=True)],
                         ids=['userns', 'no-cap-sys-admin', 'nobody-unprivileged'])
def test_seccomp_suspend_needs_init_cap_sys_admin(context):
    result = run_probe('seccomp_suspend', **context)
    assert result['status'] == 'unsupported'
    assert result['message'] == "couldn't suspend seccomp: Operation not permitted"


def test_seccomp_filters_root_supported_with_criu_filter():
    assert kernelinfo.config_on('CONFIG_SECCOMP_FILTER')
    result = run_probe('seccomp_filters')
    assert result['status'] == 'supported', result
    assert result['evidence']['filter_instructions'] == 4   # criu's program


def test_seccomp_filters_in_user_namespace_is_eacces():
    # The tracee may install the filter (CAP_SYS_ADMIN in its namespace), but
    # PTRACE_SECCOMP_GET_FILTER needs it in the initial one: criu 4.1.1 says
    # exactly this under unshare -Ur.
    result = run_probe('seccomp_filters', userns=True)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'Dumping seccomp filters not supported: Permission denied'


@pytest.mark.parametrize('context', [dict(drop_caps=(CAP_SYS_ADMIN,)), dict(as_user=NOBODY, unprivileged=True)],
                         ids=['no-cap-sys-admin', 'nobody-unprivileged'])
def test_seccomp_filters_tracee_cannot_install_filter(context):
    # No CAP_SYS_ADMIN and no NO_NEW_PRIVS: the child's PR_SET_SECCOMP fails,
    # it exits unready, and criu prints "read: Success".
    result = run_probe('seccomp_filters', **context)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'read: Success'
    assert result['evidence']['tracee_setup_failed'] is True


def test_seccomp_filter_program_kills_ptrace_only():
    # criu's program, checked on its own: a child that installs it may still
    # call getpid(), and is killed (SECCOMP_RET_KILL: WTERMSIG SIGSYS) by
    # its first ptrace() call.
    program = P._kill_ptrace_filter()
    fprog = P._SockFprog(len(program), ctypes.addressof(program))
    pid = os.fork()
    if pid == 0:
        try:
            LIBC.prctl(38, 1, 0, 0, 0)   # PR_SET_NO_NEW_PRIVS: only for this check
            if LIBC.prctl(_syscall.PR_SET_SECCOMP, P.SECCOMP_MODE_FILTER, ctypes.c_void_p(ctypes.addressof(fprog)), 0, 0):
                os._exit(2)
            os.getpid()
            LIBC.ptrace(0x4209, 0, None, None)
        finally:
            os._exit(3)
    dummy, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSYS


# ------------------------------------------------------------ get_rseq_conf

@pytest.mark.parametrize('context', [dict(), dict(as_user=NOBODY, unprivileged=True), dict(userns=True)],
                         ids=['root', 'nobody-unprivileged', 'userns'])
def test_get_rseq_conf_supported(context):
    assert kernelinfo.version() >= (5, 13) and kernelinfo.config_on('CONFIG_RSEQ')
    result = run_probe('get_rseq_conf', **context)
    assert result['status'] == 'supported', result
    evidence = result['evidence']
    assert evidence['rc'] == ctypes.sizeof(P._RseqConfiguration) == 24
    assert evidence['flags'] == 0
    # glibc registered rseq in the tracee: a real area and x86's RSEQ_SIG.
    assert int(evidence['rseq_abi_pointer'], 16) != 0
    assert evidence['signature'] == '0x53053053'


def test_rseq_syscall_exists_independently():
    rc = ctypes.CDLL(None, use_errno=True).syscall(334, None, 0, 0, 0)   # rseq(NULL, 0, 0, 0)
    assert rc == -1 and ctypes.get_errno() != errno.ENOSYS


# -------------------------------------------------------------- breakpoints

@pytest.mark.parametrize('context', [dict(), dict(as_user=NOBODY, unprivileged=True), dict(userns=True)],
                         ids=['root', 'nobody-unprivileged', 'userns'])
def test_breakpoints_trap_on_x86_64(context):
    if os.uname().machine != 'x86_64':
        pytest.skip('expectations written for x86_64')
    assert kernelinfo.config_on('CONFIG_HAVE_HW_BREAKPOINT')
    result = run_probe('breakpoints', **context)
    assert result['status'] == 'supported', result
    evidence = result['evidence']
    # It was the hardware breakpoint: si_code TRAP_HWBKPT and DR6.B0 set.
    assert evidence['si_code'] == P.TRAP_HWBKPT
    assert int(evidence['dr6'], 16) & 1


def test_breakpoints_address_is_the_called_function():
    result = run_probe('breakpoints')
    libc = ctypes.CDLL(None)
    assert int(result['evidence']['breakpoint_address'], 16) == ctypes.cast(libc.getppid, ctypes.c_void_p).value


# ------------------------------------------------------- nothing left behind

def _snapshot():
    return dict(leftovers.process_state(), sigchld=str(signal.getsignal(signal.SIGCHLD)),
                sigusr1=str(signal.getsignal(signal.SIGUSR1)))


@pytest.mark.parametrize('context', [dict(), dict(unprivileged=True), dict(as_user=NOBODY, unprivileged=True)],
                         ids=['root', 'root-unprivileged', 'nobody-unprivileged'])
def test_probes_leave_nothing_behind(context):
    def setup():
        leftovers.private_tmp_and_net()
        if 'as_user' in context:
            become_user(NOBODY, NOBODY)

    unprivileged = context.get('unprivileged', False)
    outcome = in_child(lambda: leftovers.run_twice_between_snapshots(PTRACE_IDS, unprivileged, _snapshot), setup=setup)
    assert outcome['before'] == outcome['after']
    assert not outcome['unreaped']
    assert outcome['statuses']['ptrace_peeksiginfo'] == 'supported'


def _abandoned_tracee():
    """Enter fork_and_ptrace_attach() and die by SIGKILL with the tracee
    attached: PR_SET_PDEATHSIG must take the tracee down too."""
    rfd, wfd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rfd)
        pt = P._Ptrace()
        ctx = _context.ProbeContext()
        with P._tracee(pt, ctx) as tracee:
            os.write(wfd, str(tracee).encode())
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(0)
    os.close(wfd)
    tracee = int(os.read(rfd, 64))
    os.close(rfd)
    os.waitpid(pid, 0)
    if process_list.ended([tracee], 5):
        return True   # gone, or dead and waiting for init to reap it
    os.kill(tracee, signal.SIGKILL)
    return False


def test_tracee_dies_with_a_killed_probe():
    assert in_child(_abandoned_tracee)


# ------------------------------------------- what the kernel refuses, for real
#
# A seccomp filter (tests/tools/seccomp_deny.py) in the child that runs the
# probe makes exactly one ptrace request fail (arg 0 is the request); the
# tracer being under seccomp changes nothing else for these requests.

def _request_fails(request, err, arg=0):
    return seccomp_deny.call_fails('ptrace', arg, request, err)


def _probe_under(probe_id, *setups):
    def setup():
        for step in setups:
            step()
    return in_child(lambda: _registry.BY_ID[probe_id].func(_context.ProbeContext()), setup)


needs_x86_64_filter = pytest.mark.skipif(os.uname().machine != 'x86_64',
                                         reason='seccomp_deny.py knows x86_64 system calls only')
PENDING = 'Unable to dump pending signals: Operation not permitted'
SIGMASK = 'Unable to dump signal blocking mask: Operation not permitted'


@needs_x86_64_filter
@pytest.mark.parametrize('requests, message', [
    ([P.PTRACE_PEEKSIGINFO], PENDING),
    ([P.PTRACE_GETSIGMASK], SIGMASK),
    ([P.PTRACE_PEEKSIGINFO, P.PTRACE_GETSIGMASK], PENDING + '\n' + SIGMASK),   # both run, as in criu
], ids=['peeksiginfo', 'getsigmask', 'both'])
def test_peeksiginfo_refused_request(requests, message):
    result = _probe_under('ptrace_peeksiginfo', *[_request_fails(r, errno.EPERM) for r in requests])
    assert (result['status'], result['message']) == ('unsupported', message), result


@needs_x86_64_filter
def test_seccomp_suspend_einval_is_an_old_kernel():
    result = _probe_under('seccomp_suspend', _request_fails(P.PTRACE_SETOPTIONS, errno.EINVAL))
    assert (result['status'], result['message']) == ('unsupported', "Kernel doesn't support PTRACE_O_SUSPEND_SECCOMP")


def test_seccomp_suspend_evidence_says_cap_sys_admin():
    assert run_probe('seccomp_suspend')['evidence']['cap_sys_admin'] is True
    assert run_probe('seccomp_suspend', drop_caps=(CAP_SYS_ADMIN,))['evidence']['cap_sys_admin'] is False


def test_get_rseq_conf_helper_failure_fails_crius_kerndat():
    # kerndat_has_ptrace_get_rseq_conf() returns -1 when it cannot attach,
    # and criu's kerndat_init() fails: criu does not start at all.
    result = run_probe('get_rseq_conf', as_user=NOBODY)
    assert (result['status'], result['message']) == ('unsupported', 'Unable to ptrace the child: Operation not permitted')
    assert result['evidence']['criu_kerndat_fails'] is True


@needs_x86_64_filter
@pytest.mark.parametrize('register, step', [(P.DR_FIRSTADDR, 'POKEUSER DR0'), (P.DR_CONTROL, 'POKEUSER DR7')])
def test_breakpoints_arming_refused_fails_crius_kerndat(register, step):
    offset = P.X86_64_U_DEBUGREG + 8 * register    # PTRACE_POKEUSER's addr argument
    result = _probe_under('breakpoints', _request_fails(offset, errno.EPERM, arg=2))
    assert (result['status'], result['message']) == ('unsupported', 'Failed to set breakpoint'), result
    assert (result['evidence']['step'], result['evidence']['criu_kerndat_fails']) == (step, True)


@needs_x86_64_filter
def test_breakpoints_child_that_cannot_traceme():
    result = _probe_under('breakpoints', _request_fails(0, errno.EPERM))   # PTRACE_TRACEME
    assert result['status'] == 'unsupported', result
    assert result['message'] == "Child didn't stop as expected: status=100"   # exit 1
    assert result['evidence']['criu_kerndat_fails'] is True


CPTRACE_ERRNO = '''
import os, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.criu.check.plugins.module_utils import _probes_ptrace as P
pt = P._Ptrace()
print(pt.func.HAS_CPTRACE, pt.call(P.PTRACE_PEEKSIGINFO, os.getpid())[1])   # not our tracee: ESRCH
'''


def test_errno_through_debians_cptrace_back_end():
    # Debian's python3-ptrace uses its cptrace C extension, whose PtraceError
    # carries ctypes' private errno (0): the module on a Debian host reads the
    # real one from the text, and here the host's own python3 shows it.
    try:
        out = subprocess.run(['/usr/bin/python3', '-c', CPTRACE_ERRNO, conftest.COLLECTIONS],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, check=False)
    except OSError:
        pytest.skip('no /usr/bin/python3')
    if 'HAS_CPTRACE' in out.stderr or 'No module named' in out.stderr:
        pytest.skip('no python3-ptrace with cptrace for /usr/bin/python3: %s' % out.stderr.strip()[-200:])
    assert out.stdout.split() == ['True', str(errno.ESRCH)], out.stderr
