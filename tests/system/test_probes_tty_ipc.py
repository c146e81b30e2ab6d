# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the tty, pipe and signal probes (unaligned_vmsplice, tty,
sigqueuinfo), run for real in forked children as root, as a plain user and
in a user namespace, with the facts checked independently."""

import ctypes
import errno
import gzip
import os
import platform
import signal
import stat

import pytest

import kernelinfo
import seccomp_deny

from conftest import NOBODY, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _registry
from ansible_collections.criu.check.plugins.module_utils import _syscall

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18

TTY_IPC_IDS = [p.id for p in _registry.PROBES if p.func.__module__.endswith('_probes_tty_ipc')]
CONTEXTS = {'root': {}, 'nobody': {'as_user': NOBODY, 'unprivileged': True}, 'userns': {'userns': True}}


def config_option(name):
    with gzip.open('/proc/config.gz', 'rt') as f:
        for line in f:
            if line.startswith(name + '='):
                return line.strip().split('=', 1)[1]
    return None


SYMBOLS = kernelinfo.symbols()
SYSCALL_PREFIX = '__x64_sys_' if platform.machine() == 'x86_64' else '__arm64_sys_'


def run_in_child(probe_id, setup=None, facts=None):
    """The real probe in a forked child after setup(); (result, facts())."""
    def body():
        result = _registry.BY_ID[probe_id].func(_context.ProbeContext())
        return [result, facts() if facts else None]

    return in_child(body, setup)


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_unaligned_vmsplice(context):
    assert SYSCALL_PREFIX + 'vmsplice' in SYMBOLS
    result = run_probe('unaligned_vmsplice', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['spliced'] == 1
    assert int(result['evidence']['address'], 16) % 2 == 1   # an odd address, never page-aligned


def pts_names():
    return sorted(os.listdir('/dev/pts'))


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_tty_locked_slave_gives_eio(context):
    assert config_option('CONFIG_UNIX98_PTYS') == 'y'
    assert stat.S_ISCHR(os.stat('/dev/ptmx').st_mode)
    before = pts_names()
    result = run_probe('tty', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['slave_open'] == 'EIO'
    assert result['evidence']['slave'].startswith('/dev/pts/')
    assert pts_names() == before   # the master was closed, so its slave node went away


def dev_null_as_ptmx():
    """In the child: a private mount namespace where /dev/ptmx is /dev/null."""
    if LIBC.unshare(CLONE_NEWNS) != 0 or LIBC.mount(None, b'/', None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), 'unshare/mount')
    if LIBC.mount(b'/dev/null', b'/dev/ptmx', None, MS_BIND, None) != 0:
        raise OSError(ctypes.get_errno(), 'bind /dev/null')


def test_tty_ptmx_that_is_not_a_pty():
    """A /dev/ptmx that is no pty multiplexer: the lock ioctl fails as in criu."""
    def facts():
        return os.stat('/dev/ptmx').st_rdev == os.stat('/dev/null').st_rdev

    result, is_null = run_in_child('tty', dev_null_as_ptmx, facts)
    assert is_null
    assert result['status'] == 'unsupported'
    assert result['message'] == "Can't lock pty master: Inappropriate ioctl for device"


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_sigqueuinfo(context):
    assert SYSCALL_PREFIX + 'rt_sigqueueinfo' in SYMBOLS
    result = run_probe('sigqueuinfo', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence'] == {'pending_taken': False, 'disposition_restored': True}


def sigaction_bytes(signum):
    """The kernel's struct sigaction for signum, read with the raw
    rt_sigaction syscall (glibc's copy carries stack bytes in sa_mask)."""
    buf = ctypes.create_string_buffer(64)
    rc = LIBC.syscall(_syscall.nr('rt_sigaction'), signum, None, buf, 8)
    assert rc == 0, ctypes.get_errno()
    return buf.raw.hex()


@pytest.mark.parametrize('blocked', [False, True], ids=['unblocked', 'blocked'])
def test_sigqueuinfo_restores_sigusr1(blocked):
    """criu leaves SIGUSR1 ignored; the probe puts the exact sigaction back
    and, when SIGUSR1 is blocked, takes its own queued signal away so that
    unblocking does not deliver it."""
    def body():
        delivered = []
        signal.signal(signal.SIGUSR1, lambda *a: delivered.append(1))
        handler = signal.getsignal(signal.SIGUSR1)
        if blocked:
            signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        before = sigaction_bytes(signal.SIGUSR1)
        result = _registry.BY_ID['sigqueuinfo'].func(_context.ProbeContext())
        after = sigaction_bytes(signal.SIGUSR1)
        pending = signal.SIGUSR1 in signal.sigpending()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        return [result, before == after, signal.getsignal(signal.SIGUSR1) is handler, pending, delivered]

    result, same_sigaction, same_handler, pending, delivered = in_child(body)
    assert result['status'] == 'supported'
    assert result['evidence']['pending_taken'] is blocked
    assert same_sigaction and same_handler
    assert not pending and delivered == []


def test_sigqueuinfo_with_default_disposition_survives():
    """SIG_DFL for SIGUSR1 terminates: the probe must not leave the signal behind."""
    def body():
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR1])
        result = _registry.BY_ID['sigqueuinfo'].func(_context.ProbeContext())
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGUSR1])
        return [result['status'], signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL]

    assert in_child(body) == ['supported', True]


def refusing(*calls):
    """In the child: a seccomp filter making ``calls`` fail with EPERM, as a
    container's profile may (podman's refuses vmsplice, and criu 4.1.1 there
    says "Unaligned vmsplice doesn't work: Operation not permitted")."""
    return lambda: seccomp_deny.install(seccomp_deny.program(list(calls), errno.EPERM))


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('probe_id, calls, status, message', [
    ('unaligned_vmsplice', ['vmsplice'], 'unsupported', "Unaligned vmsplice doesn't work: Operation not permitted"),
    ('unaligned_vmsplice', ['pipe', 'pipe2'], 'unsupported', "Can't create pipe: Operation not permitted"),
    ('tty', ['open', 'openat'], 'unsupported', "Can't open /dev/ptmx: Operation not permitted"),
    ('sigqueuinfo', ['rt_sigqueueinfo'], 'unsupported',
     'Unable to send siginfo with positive si_code to itself: Operation not permitted'),
    # Without its saved sigaction the probe cannot put SIGUSR1 back: it sends nothing.
    ('sigqueuinfo', ['rt_sigaction'], 'unknown', 'rt_sigaction(SIGUSR1) could not be read: Operation not permitted'),
], ids=['vmsplice', 'pipe', 'ptmx', 'rt_sigqueueinfo', 'rt_sigaction'])
def test_refused_calls(probe_id, calls, status, message):
    def body():
        signal.signal(signal.SIGUSR1, signal.SIG_DFL)   # what a signal left behind would kill
        ctx = _context.ProbeContext()   # reads /proc/self/status itself: before the filter
        refusing(*calls)()
        result = _registry.BY_ID[probe_id].func(ctx)
        return [result, signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL, signal.SIGUSR1 in signal.sigpending()]

    result, default, pending = in_child(body)
    assert (result['status'], result['message']) == (status, message), result
    assert result['evidence']['errno_name'] == 'EPERM', result
    assert default and not pending
    if probe_id == 'sigqueuinfo' and status == 'unsupported':
        assert result['evidence']['disposition_restored'] is True


def test_no_leftovers():
    """The three probes in one process: same fds, pts nodes, children and
    SIGUSR1 disposition afterwards."""
    def snapshot():
        children = ''.join(open('/proc/self/task/%s/children' % t).read() for t in os.listdir('/proc/self/task'))
        return {'fds': sorted(os.listdir('/proc/self/fd')), 'pts': pts_names(), 'children': children,
                'sigusr1': sigaction_bytes(signal.SIGUSR1), 'tmp': sorted(os.listdir('/tmp'))}

    def body():
        before = snapshot()
        ctx = _context.ProbeContext()
        statuses = dict((i, _registry.BY_ID[i].func(ctx)['status']) for i in TTY_IPC_IDS)
        return [before, snapshot(), statuses]

    before, after, statuses = in_child(body)
    assert before == after
    assert set(statuses.values()) == {'supported'}, statuses
