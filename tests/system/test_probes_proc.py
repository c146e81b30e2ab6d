# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the procfs / fdinfo / prctl / plain-syscall probes.

Every probe runs for real, in a forked child, in the contexts that change
criu's answer: root, a plain user with --unprivileged, a user namespace
(``unshare -Ur``), a read-only /proc/sys, dropped capabilities.  Expected
outcomes are those of criu 4.1.1/4.2 on this machine (kernel 6.18, x86_64),
cross-checked against facts the test reads itself (/proc/config.gz,
/proc/kallsyms, files, direct system calls).
"""

import ctypes
import errno
import gzip
import os
import platform
import re
import signal
import subprocess
import tempfile

import pytest

import kernelinfo
import seccomp_deny

from conftest import NOBODY, become_user, drop_effective_caps, enter_user_namespace, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _proc_parse as PP
from ansible_collections.criu.check.plugins.module_utils import _probes_proc as P
from ansible_collections.criu.check.plugins.module_utils import _registry
from ansible_collections.criu.check.plugins.module_utils import _result
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_CHECKPOINT_RESTORE, CAP_SYS_ADMIN, NUMBERS

CAP_SYS_RESOURCE = NUMBERS['sys_resource']

pytestmark = requires_root

LIBC = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 32, 4096, 16384, 1 << 18
PRCTL_MM_MAP_SIZE = 104   # sizeof(struct prctl_mm_map) on 64-bit kernels
PR_SET_NAME = 15
# include/uapi/linux/{prctl,fcntl,kcmp}.h, written out here so that a wrong constant in the probe shows
PR_SET_MM_MAP_SIZE, PR_GET_TID_ADDRESS, PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET = 15, 40, 77, 2
F_GETOWNER_UIDS, KCMP_EPOLL_TFD = 17, 7

PROC_IDS = [p.id for p in _registry.PROBES if p.func.__module__.endswith('_probes_proc')]
ROOT = {}
NOBODY_UNPRIV = {'as_user': NOBODY, 'unprivileged': True}
USERNS = {'userns': True}
CONTEXTS = {'root': ROOT, 'nobody': NOBODY_UNPRIV, 'userns': USERNS}


# ---------------------------------------------------------------- facts read independently

def kernel_config():
    config = {}
    with gzip.open('/proc/config.gz', 'rt') as f:
        for line in f:
            if line.startswith('CONFIG_'):
                key, dummy, value = line.strip().partition('=')
                config[key] = value
    return config


def kernel_version():
    return tuple(int(x) for x in platform.release().split('-')[0].split('.')[:2])


CONFIG = kernel_config()
SYMBOLS = kernelinfo.symbols()


def syscall_symbol(name):
    return '__x64_sys_' + name if platform.machine() == 'x86_64' else '__arm64_sys_' + name


def read_only_proc_sys():
    """In the child: a private mount namespace whose /proc/sys is read-only
    (what containers do); it dies with the child."""
    if LIBC.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare')
    for args in ((None, b'/', None, MS_REC | MS_PRIVATE, None),
                 (b'/proc/sys', b'/proc/sys', None, MS_BIND, None),
                 (None, b'/proc/sys', None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)):
        if LIBC.mount(*args) != 0:
            raise OSError(ctypes.get_errno(), 'mount %r' % (args,))


def context_setup(kwargs):
    """The set-up run_probe() does for a context, for probe_with()."""
    def setup():
        if kwargs.get('userns'):
            enter_user_namespace()
        if kwargs.get('as_user'):
            become_user(kwargs['as_user'], kwargs['as_user'])
    return setup


def probe_with(probe_id, setup=None, unprivileged=False, cwd=None, facts=None):
    """Run the real probe in a child after ``setup()``; return (result, facts())
    where facts() runs in the same child afterwards."""
    func = _registry.BY_ID[probe_id].func

    def body():
        result = func(_context.ProbeContext(unprivileged=unprivileged, cwd=cwd))
        return [result, facts() if facts else None]

    return in_child(body, setup)


def mount_options(mountpoint):
    found = None
    with open('/proc/self/mountinfo') as f:
        for line in f:
            fields = line.split()
            if fields[4] == mountpoint:
                found = fields[5].split(',')
    return found


# ---------------------------------------------------------------- category 1

@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_map_files(context):
    assert os.path.isdir('/proc/self/map_files')
    result = run_probe('map_files', **CONTEXTS[context])
    assert result['status'] == 'supported', result


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_ns_last_pid_writable(context):
    assert CONFIG.get('CONFIG_CHECKPOINT_RESTORE') == 'y'
    assert os.stat('/proc/sys/kernel/ns_last_pid').st_mode & 0o777 == 0o666
    result = run_probe('ns_last_pid', **CONTEXTS[context])
    assert result['status'] == 'supported', result


def test_ns_last_pid_read_only_proc_sys():
    result, options = probe_with('ns_last_pid', read_only_proc_sys, facts=lambda: mount_options('/proc/sys'))
    assert 'ro' in options
    assert result['status'] == 'unsupported'
    # the exact line criu 4.1.1 prints in this context
    assert result['message'] == 'sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system'
    assert result['evidence']['errno_name'] == 'EROFS'
    assert 'read-only' in result['fix']


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_kcmp(context):
    assert syscall_symbol('kcmp') in SYMBOLS
    result = run_probe('kcmp', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['errno_name'] == 'ESRCH'   # pid ok, the -1s are not


@pytest.mark.parametrize('kwargs', [ROOT, NOBODY_UNPRIV, USERNS, {'drop_caps': (CAP_SYS_RESOURCE,)}],
                         ids=['root', 'nobody', 'userns', 'no-CAP_SYS_RESOURCE'])
def test_prctl_cat1_uses_map_size(kwargs):
    """PR_SET_MM_MAP_SIZE needs no capability, so the auxv-overwriting
    fallback never runs on this kernel, even without CAP_SYS_RESOURCE."""
    assert 'prctl_set_mm_map' in SYMBOLS
    result = run_probe('prctl_cat1', **kwargs)
    assert result['status'] == 'supported', result
    assert result['evidence']['map_size'] == PRCTL_MM_MAP_SIZE
    assert 'fallback' not in result['evidence']
    assert result['evidence']['tid_address']


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_fcntl(context):
    result = run_probe('fcntl', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['owner_uids'] == [0, 0]   # no F_SETOWN was ever done on it


def test_proc_stat():
    def count():
        with open('/proc/self/stat') as f:
            text = f.read()
        return len(text[text.rfind(')') + 1:].split())

    result, fields = probe_with('proc_stat', facts=count)
    assert fields >= 50
    assert result['status'] == 'supported', result
    assert result['evidence']['fields'] == 50   # criu's format has exactly 50 conversions


def test_proc_stat_comm_with_parentheses():
    """A command name may hold ")", "(" and spaces: criu takes the last ")"
    of the line as the end of comm, and so does the probe."""
    name = b') x (y) 1 2'
    result, comm = probe_with('proc_stat', lambda: LIBC.prctl(PR_SET_NAME, name, 0, 0, 0),
                              facts=lambda: open('/proc/self/comm').read())
    assert comm == name.decode() + '\n'
    assert result['status'] == 'supported', result
    assert result['evidence']['fields'] == 50


class _FileHandle(ctypes.Structure):
    _fields_ = [('handle_bytes', ctypes.c_uint), ('handle_type', ctypes.c_int), ('f_handle', ctypes.c_ubyte * 128)]


def file_handle(path):
    """name_to_handle_at(2) of path: (bytes, type), the kernel's own encoding."""
    handle = _FileHandle(128, 0)
    mount_id = ctypes.c_int()
    if LIBC.name_to_handle_at(-100, path.encode(), ctypes.byref(handle), ctypes.byref(mount_id), 0) != 0:
        raise OSError(ctypes.get_errno(), 'name_to_handle_at')
    return handle.handle_bytes, handle.handle_type


@pytest.fixture
def public_dir():
    """A directory every test identity can read (pytest's tmp_path is not)."""
    path = tempfile.mkdtemp(prefix='criu-check-test-')
    os.chmod(path, 0o755)
    yield path
    os.rmdir(path)


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_fdinfo_ext(context, public_dir):
    cwd = public_dir
    for symbol in ('eventfd_show_fdinfo', 'ep_show_fdinfo', 'signalfd_show_fdinfo', 'inotify_show_fdinfo',
                   'show_mark_fhandle'):
        assert symbol in SYMBOLS
    kwargs = dict(CONTEXTS[context])

    result, handle = probe_with('fdinfo_ext', context_setup(kwargs), unprivileged=kwargs.get('unprivileged', False), cwd=cwd,
                                facts=lambda: file_handle(cwd))
    assert result['status'] == 'supported', result
    evidence = result['evidence']
    assert evidence['cwd'] == cwd
    assert evidence['eventfd'] == {'ok': True, 'counter': 13}
    assert evidence['eventpoll']['ok'] and evidence['signalfd']['ok']
    assert evidence['signalfd']['sigmask'] == '%#x' % (1 << (signal.SIGUSR1 - 1))
    assert [evidence['inotify']['fhandle_bytes'], evidence['inotify']['fhandle_type']] == handle


def test_fdinfo_ext_unwatchable_cwd():
    """A cwd the user cannot read: inotify_add_watch fails with EACCES, as
    criu's does; the other three sub-probes still run and pass."""
    assert os.stat('/root').st_mode & 0o007 == 0
    result, dummy = probe_with('fdinfo_ext', lambda: become_user(NOBODY, NOBODY), unprivileged=True, cwd='/root')
    assert result['status'] == 'unsupported'
    assert result['message'] == "Can't add watch: Permission denied"
    evidence = result['evidence']
    assert [evidence[name]['ok'] for name in ('eventfd', 'eventpoll', 'signalfd', 'inotify')] == [True, True, True, False]


def test_ipc_root_and_nobody():
    assert CONFIG.get('CONFIG_SYSVIPC') == 'y' and CONFIG.get('CONFIG_CHECKPOINT_RESTORE') == 'y'
    assert run_probe('ipc')['status'] == 'supported'
    result = run_probe('ipc', **NOBODY_UNPRIV)
    # criu skips the check for any non-root euid; the truth is kept as evidence
    assert result['status'] == 'supported'
    assert result['evidence'] == {'skipped': 'criu does not check sem_next_id for non-root', 'live': 'EACCES'}


@pytest.mark.parametrize('kwargs', [USERNS, {'drop_caps': (CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE)}],
                         ids=['userns', 'no-CAP_SYS_ADMIN-no-CAP_CHECKPOINT_RESTORE'])
def test_ipc_without_checkpoint_restore_capability(kwargs):
    """sem_next_id is writable only with CAP_CHECKPOINT_RESTORE (or
    CAP_SYS_ADMIN) over the IPC namespace's user namespace."""
    result = run_probe('ipc', **kwargs)
    assert result['status'] == 'unsupported'
    assert result['message'] == '/proc/sys/kernel/sem_next_id is inaccessible: Permission denied'


def test_ipc_read_only_proc_sys():
    result, dummy = probe_with('ipc', read_only_proc_sys)
    assert result['status'] == 'unsupported'
    assert result['message'] == '/proc/sys/kernel/sem_next_id is inaccessible: Read-only file system'
    assert 'read-only' in result['fix']


# ---------------------------------------------------------------- category 2

@pytest.mark.parametrize('probe_id', ['prctl_cat2', 'userns'])
@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_map_size_probes(probe_id, context):
    assert os.path.exists('/proc/self/ns/user')
    result = run_probe(probe_id, **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['map_size'] == PRCTL_MM_MAP_SIZE


@pytest.mark.parametrize('probe_id,path,option', [
    ('posix_timers', '/proc/self/timers', 'CONFIG_POSIX_TIMERS'),
    ('cgroupns', '/proc/self/ns/cgroup', 'CONFIG_CGROUPS'),
    ('timens', '/proc/self/timens_offsets', 'CONFIG_TIME_NS'),
])
@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_proc_files(probe_id, path, option, context):
    assert CONFIG.get(option) == 'y' and os.path.exists(path)
    result = run_probe(probe_id, **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['path'] == path


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_timerfd(context):
    assert 'timerfd_ioctl' in SYMBOLS and CONFIG.get('CONFIG_CHECKPOINT_RESTORE') == 'y'
    result = run_probe('timerfd', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['ioctl_errno'] == 'EFAULT'   # the ioctl exists and read the NULL pointer


def pipe_mnt_id():
    rfd, wfd = os.pipe()
    try:
        with open('/proc/self/fdinfo/%d' % rfd) as f:
            return [int(line.split()[1]) for line in f if line.startswith('mnt_id:')][0]
    finally:
        os.close(rfd)
        os.close(wfd)


def test_mnt_id():
    result, expected = probe_with('mnt_id', facts=pipe_mnt_id)
    assert result['status'] == 'supported', result
    assert result['evidence']['mnt_id'] == expected


def test_fdinfo_lock():
    def facts():
        with open('/proc/locks') as f:
            return [os.getpid(), f.read()]

    result, (pid, locks) = probe_with('fdinfo_lock', facts=facts)
    assert result['status'] == 'supported', result
    lock = result['evidence']['locks'][0]
    assert (lock['kind'], lock['option'], lock['owner']) == ('FLOCK', 'READ', pid)
    # closing the descriptor dropped the lock
    assert not [line for line in locks.splitlines() if line.split()[4] == str(pid)]


def denied(syscall):
    """In the child: a seccomp filter (tests/tools/seccomp_deny.py) that
    makes ``syscall`` fail with EPERM, as a container's profile may."""
    def setup():
        seccomp_deny.install(seccomp_deny.program([syscall], errno.EPERM))
    return setup


# (probe, the system call denied): criu's kerndat step for the probe
# (criu/kerndat.c kerndat_fdinfo_has_lock(), has_kcmp_epoll_tfd()) returns
# -1 on that error, so kerndat_init() fails and criu does not start ("Could
# not initialize kernel features detection.", seen with criu 4.1.1 under
# the same filter).
@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('probe_id,syscall', [('fdinfo_lock', 'flock'), ('kcmp_epoll', 'epoll_ctl')])
def test_kerndat_step_refused_means_criu_cannot_start(probe_id, syscall):
    result, dummy = probe_with(probe_id, setup=denied(syscall))
    assert result['status'] == 'unknown' and result['evidence']['errno_name'] == 'EPERM', result
    assert result['evidence'].get(_result.KERNDAT_FLAG) is True, result
    assert _decide.kerndat_blockers({probe_id: result}) == [
        '%s (%s: %s)' % (_decide.KERNDAT_FAILED, probe_id, result['message'])]


# With open(2) refused (a seccomp filter, as a container's profile may
# have), kerndat_has_nspid() returns -1 on /proc/self/status and
# kerndat_fdinfo_has_lock() on /proc/locks, so criu's kerndat_init() fails;
# check_fcntl() and check_proc_stat() open their /proc
# file in cr-check.c only, after kerndat: criu starts and reports the check.
@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('probe_id,criu_cannot_start', [
    ('ns_pid', True), ('fcntl', False), ('proc_stat', False), ('fdinfo_lock', True)])
def test_proc_file_refused(probe_id, criu_cannot_start):
    def body():
        ctx = _context.ProbeContext()   # reads /proc/self/status itself: before the filter
        denied('openat')()
        return _registry.BY_ID[probe_id].func(ctx)

    result = in_child(body)
    assert result['evidence']['errno_name'] == 'EPERM', result
    assert result['status'] == ('unknown' if criu_cannot_start else 'unsupported'), result
    assert bool(result['evidence'].get(_result.KERNDAT_FLAG)) is criu_cannot_start, result
    assert bool(_decide.kerndat_blockers({probe_id: result})) is criu_cannot_start
    if probe_id == 'fdinfo_lock':   # kerndat_fdinfo_has_lock() returns -1 when it cannot open /proc/locks
        assert result['message'] == "Can't open -1/locks on procfs: Operation not permitted", result
    if probe_id == 'proc_stat':   # criu's last word, as when the fields do not match; the open error is evidence
        assert result['message'] == 'procfs: stat extension is not supported', result
        assert re.match(r"Can't open \d+/stat on procfs: ", result['evidence']['error']), result


def refusing(*rules):
    """In the child: one seccomp filter per rule, each making a call fail as
    a kernel without the feature (EINVAL, ENOSYS) or a container's profile
    (EPERM, ENOENT) would.  A rule is (call, errno), for every use of the
    call, or (call, errno, arg, value), only when argument ``arg`` is
    ``value``: prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE) failing is a kernel
    before 3.18, kcmp(KCMP_EPOLL_TFD) one before 4.13."""
    def setup():
        for rule in rules:
            call, err = rule[:2]
            if len(rule) == 2:
                seccomp_deny.install(seccomp_deny.program([call], err))
            else:
                seccomp_deny.install(seccomp_deny.argument_program(call, rule[2], rule[3], err))
    return setup


MAP_SIZE_REFUSED = ('prctl', errno.EINVAL, 1, PR_SET_MM_MAP_SIZE)   # a kernel before 3.18


def without_sys_resource(*rules):
    def setup():
        refusing(*rules)()
        drop_effective_caps((CAP_SYS_RESOURCE,))
    return setup


# (probe, set-up, status, message): criu's lines for these calls (criu/cr-check.c, criu/kerndat.c).
REFUSED = {
    # The fallback's success needs CAP_SYS_RESOURCE, which this host's root lacks (tests/vm has it).
    'prctl_cat1-old-kernel-no-CAP_SYS_RESOURCE': (
        'prctl_cat1', without_sys_resource(MAP_SIZE_REFUSED), 'unsupported',
        'prctl: One needs CAP_SYS_RESOURCE capability to perform testing'),
    'prctl_cat1-no-tid-address': (
        'prctl_cat1', refusing(('prctl', errno.EINVAL, 0, PR_GET_TID_ADDRESS)), 'unsupported',
        'prctl: PR_GET_TID_ADDRESS is not supported: Invalid argument'),
    'prctl_cat2-old-kernel': ('prctl_cat2', refusing(MAP_SIZE_REFUSED), 'unsupported',
                              'prctl: PR_SET_MM_MAP_SIZE is not supported'),
    'userns-old-kernel': ('userns', refusing(MAP_SIZE_REFUSED), 'unsupported',
                          'prctl: PR_SET_MM_MAP_SIZE is not supported: Invalid argument'),
    'fcntl-no-owner-uids': ('fcntl', refusing(('fcntl', errno.EINVAL, 1, F_GETOWNER_UIDS)), 'unsupported',
                            "Can't fetch file owner UIDs: Invalid argument"),
    'kcmp_epoll-old-kernel': ('kcmp_epoll', refusing(('kcmp', errno.EINVAL, 2, KCMP_EPOLL_TFD)), 'unsupported',
                              'kcmp(KCMP_EPOLL_TFD) failed: Invalid argument'),
    'kcmp-still-there': ('kcmp', refusing(('kcmp', errno.EINVAL, 2, KCMP_EPOLL_TFD)), 'supported', ''),
    'timer_cr_ids-old-kernel': (
        'timer_cr_ids', refusing(('prctl', errno.EINVAL, 0, PR_TIMER_CREATE_RESTORE_IDS)), 'unsupported',
        "PR_TIMER_CREATE_RESTORE_IDS isn't supported"),
    'timer_cr_ids-EPERM': (
        'timer_cr_ids', refusing(('prctl', errno.EPERM, 0, PR_TIMER_CREATE_RESTORE_IDS)), 'unsupported',
        'prctl returned unexpected error code: Operation not permitted'),
    'pidfd_store-no-pidfd_open': ('pidfd_store', refusing(('pidfd_open', errno.ENOSYS)), 'unsupported',
                                  'Pidfd store requires pidfd_open syscall which is not supported'),
    'pidfd_store-no-pidfd_getfd': ('pidfd_store', refusing(('pidfd_getfd', errno.ENOSYS)), 'unsupported',
                                   'Pidfd store requires pidfd_getfd syscall which is not supported'),
    'pidfd_store-no-socketpair': ('pidfd_store', refusing(('socketpair', errno.EPERM)), 'unknown',
                                  "Can't open unix socket pair: Operation not permitted"),
    'openat2-ENOSYS': ('openat2', refusing(('openat2', errno.ENOSYS)), 'unsupported', 'No openat2 syscall support'),
    'timerfd-no-timerfd_create': ('timerfd', refusing(('timerfd_create', errno.EPERM)), 'unsupported',
                                  'timerfd: timerfd_create failed: Operation not permitted'),
    'fdinfo_ext-first-failure': (
        'fdinfo_ext', refusing(('eventfd2', errno.EPERM), ('inotify_init1', errno.EPERM)), 'unsupported',
        "Can't make eventfd: Operation not permitted"),
}
# The /proc files criu checks with access(2), gone (ENOENT) as on a kernel without the option.
for _probe, _message in (('map_files', '/proc/<pid>/map_files is inaccessible: No such file or directory'),
                         ('posix_timers', '/proc/<pid>/timers file is missing.'),
                         ('cgroupns', 'cgroupns not supported. This is not fatal.'),
                         ('userns', 'No userns proc file: No such file or directory'),
                         ('timens', 'Time namespaces are not supported')):
    REFUSED[_probe + '-ENOENT'] = (_probe, refusing(('access', errno.ENOENT)), 'unsupported', _message)
REFUSED['timens-EPERM'] = ('timens', refusing(('access', errno.EPERM)), 'unknown',
                           'Unable to access /proc/self/timens_offsets: Operation not permitted')


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('case', sorted(REFUSED))
def test_refused_calls(case):
    """What each probe answers when a call it makes fails as on an older
    kernel or under a container's seccomp profile; only the calls refused
    differ from this kernel's real answers."""
    probe_id, setup, status, message = REFUSED[case]
    result, dummy = probe_with(probe_id, setup=setup)
    assert (result['status'], result['message']) == (status, message), result
    if case == 'prctl_cat1-old-kernel-no-CAP_SYS_RESOURCE':   # the fallback ran, and stopped at its first step
        assert (result['evidence']['map_size_errno'], result['evidence']['step']) == ('EINVAL', 'PR_SET_MM_BRK'), result
    if status == 'unknown':   # criu's kerndat_init() fails on these: criu would not start
        assert _decide.kerndat_blockers({probe_id: result}), result
    if probe_id == 'fdinfo_ext':   # every sub-probe ran; the first failure is the message
        assert [result['evidence'][n]['ok'] for n in ('eventfd', 'eventpoll', 'signalfd', 'inotify')] == [
            False, True, True, False], result


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('err, warned', [(errno.ENOSYS, False), (errno.E2BIG, False), (errno.EPERM, True)])
def test_clone3_refused(err, warned):
    """No clone3 (ENOSYS) or no set_tid (E2BIG): unsupported; any other error
    is unsupported too, with criu's "Unexpected error from clone3" kept."""
    result, childless = probe_with('clone3_set_tid', setup=refusing(('clone3', err)), facts=no_children)
    assert result['status'] == 'unsupported' and result['message'] == 'clone3() with set_tid not supported', result
    assert result['evidence'].get('warning') == (
        'Unexpected error from clone3: %s' % os.strerror(err) if warned else None), result
    assert childless


def clone3_creates_a_child():
    """In the child: clone3() succeeds, as no kernel does with set_tid = -1
    (a fake: the kernel cannot be made to), by forking a real child."""
    real = P._syscall.syscall

    def syscall(name, *args):
        if name == 'clone3':
            return os.fork(), 0
        return real(name, *args)
    P._syscall.syscall = syscall


def test_clone3_unexpected_success_means_criu_cannot_start():
    """kerndat_has_clone3_set_tid(): "Unexpected success" returns -1, and
    kerndat_init() fails.  The child the call made is reaped."""
    result, childless = probe_with('clone3_set_tid', setup=clone3_creates_a_child, facts=no_children)
    assert result['status'] == 'error' and result['message'].startswith('Unexpected success: clone3() returned ')
    assert result['evidence']['reaped'] is True and childless
    assert result['evidence'].get(_result.KERNDAT_FLAG) is True, result
    assert _decide.kerndat_blockers({'clone3_set_tid': result}) == [
        '%s (clone3_set_tid: %s)' % (_decide.KERNDAT_FAILED, result['message'])]


def read_loginuid():
    with open('/proc/self/loginuid') as f:
        return int(f.read())


def test_loginuid_root():
    assert CONFIG.get('CONFIG_AUDIT') == 'y' and 'proc_loginuid_write' in SYMBOLS
    before = read_loginuid()
    result, after_in_child = probe_with('loginuid', facts=read_loginuid)
    assert result['status'] == 'supported', result
    assert result['evidence']['luid'] == 'full'
    assert after_in_child == before == read_loginuid()


def read_sessionid():
    with open('/proc/self/sessionid') as f:
        return int(f.read())


def test_loginuid_leaves_the_session_alone():
    """Each write of a valid loginuid opens a new audit session: the round
    trip runs in a child of its own, so the probing process keeps both its
    loginuid and its session id."""
    def body():
        with open('/proc/self/loginuid', 'w') as f:
            f.write('0')   # a set loginuid, which the probe's restore would write again
        before = [read_loginuid(), read_sessionid()]
        result = _registry.BY_ID['loginuid'].func(_context.ProbeContext())
        return [result['status'], before, [read_loginuid(), read_sessionid()]]

    status, before, after = in_child(body)
    assert status == 'supported'
    assert before[0] == 0 and after == before


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
def test_loginuid_unreadable_is_none():
    """criu's kerndat_loginuid(): a loginuid that cannot be read (no
    CONFIG_AUDIT; here open(2) refused) is LUID_NONE, not LUID_READ."""
    def body():
        ctx = _context.ProbeContext()   # reads /proc/self/status itself: before the filter
        refusing(('openat', errno.EPERM))()
        return _registry.BY_ID['loginuid'].func(ctx)

    result = in_child(body)
    assert result['status'] == 'unsupported' and result['message'] == 'Loginuid restore is OFF.', result
    assert result['evidence'] == {'luid': 'none', 'read_errno': 'EPERM'}, result


def test_loginuid_userns():
    """criu 4.1.1 says "loginuid is supported" in unshare -Urm too."""
    result = run_probe('loginuid', **USERNS)
    assert result['status'] == 'supported', result


def test_loginuid_unprivileged_is_off():
    """criu skips kerndat_loginuid() under --unprivileged: "Loginuid restore
    is OFF." whatever the kernel can do (here it can: see the evidence)."""
    result = run_probe('loginuid', unprivileged=True)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'Loginuid restore is OFF. (criu does not probe it in --unprivileged mode)'
    assert result['evidence']['live']['luid'] == 'full'


def test_loginuid_non_dumpable_user():
    """After setresuid the process is not dumpable, so its /proc files belong
    to root and the loginuid cannot be written: LUID_READ, "OFF"."""
    def facts():
        return [os.stat('/proc/self/loginuid').st_uid, os.geteuid()]

    result, (owner, euid) = probe_with('loginuid', lambda: become_user(NOBODY, NOBODY), facts=facts)
    assert (owner, euid) == (0, NOBODY)
    assert result['status'] == 'unsupported'
    assert result['evidence']['luid'] == 'read' and result['evidence']['write_errno'] == 'EACCES'


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_kcmp_epoll(context):
    assert 'get_epoll_tfile_raw_ptr' in SYMBOLS
    result = run_probe('kcmp_epoll', **CONTEXTS[context])
    assert result['status'] == 'supported', result


def no_children():
    try:
        os.waitpid(-1, os.WNOHANG | P.WALL)
    except ChildProcessError:
        return True
    return False


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_clone3_set_tid(context):
    assert syscall_symbol('clone3') in SYMBOLS and kernel_version() >= (5, 5)
    kwargs = dict(CONTEXTS[context])

    result, childless = probe_with('clone3_set_tid', context_setup(kwargs), facts=no_children)
    assert result['status'] == 'supported', result
    assert result['evidence']['errno_name'] == 'EINVAL'
    assert childless


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_pidfd_store(context):
    assert syscall_symbol('pidfd_open') in SYMBOLS and syscall_symbol('pidfd_getfd') in SYMBOLS
    result = run_probe('pidfd_store', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence'] == {'pidfd_open': 'ok', 'pidfd_getfd': 'ok'}


def nspid_line():
    with open('/proc/self/status') as f:
        return [line.split()[1:] for line in f if line.startswith('NSpid:')][0]


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_ns_pid(context):
    assert CONFIG.get('CONFIG_PID_NS') == 'y'
    kwargs = dict(CONTEXTS[context])

    result, nspid = probe_with('ns_pid', context_setup(kwargs), facts=nspid_line)
    assert result['status'] == 'supported', result
    assert result['evidence']['NSpid'] == nspid == [str(int(nspid[0]))]


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_openat2(context):
    assert syscall_symbol('openat2') in SYMBOLS
    result = run_probe('openat2', **CONTEXTS[context])
    assert result['status'] == 'supported', result
    assert result['evidence']['errno_name'] == 'EINVAL'   # how == NULL with size 0


@pytest.mark.parametrize('context', sorted(CONTEXTS))
def test_timer_cr_ids(context):
    """PR_TIMER_CREATE_RESTORE_IDS is in 6.15+; this kernel is 6.18."""
    assert kernel_version() >= (6, 15) and 'posixtimer_create_prctl' in SYMBOLS

    def restore_mode():
        return LIBC.prctl(PR_TIMER_CREATE_RESTORE_IDS, PR_TIMER_CREATE_RESTORE_IDS_GET, 0, 0, 0)

    result, mode_after = probe_with('timer_cr_ids', context_setup(CONTEXTS[context]), facts=restore_mode)
    assert result['status'] == 'supported', result
    assert result['evidence']['rc'] == 0   # GET: restore mode is off
    assert mode_after == 0   # and the probe only read it: timer_create() still picks its own IDs


# ---------------------------------------------------------------- criu's fdinfo rules, on text the kernel no longer prints

def test_sscanf_follows_c():
    assert PP.sscanf('  0x1f z', '%x %c') == ([31, 'z'], [])
    assert PP.sscanf('017 0x10 9', '%lli %lli %lli') == ([15, 16, 9], [])
    assert PP.sscanf('mnt_id:\t17', '%*s %lli') == ([17], [])
    assert PP.sscanf('tfd: 5 events: 1d data: ff', 'tfd: %d events: %x data: %llx pos:%lli') == ([5, 0x1d, 0xff], [])
    assert PP.sscanf('ab', 'a%nb%n') == ([], [1, 2])
    assert PP.sscanf('x', '%d') == ([], [])


INOTIFY_OLD = 'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:fff ignored_mask:0 \n'
INOTIFY_NEW = 'inotify wd:1 ino:3f7e8 sdev:fe00000 mask:fff ignored_mask:0 fhandle-bytes:8 fhandle-type:1 f_handle:e8f70300\n'
COMMON = 'pos:\t0\nflags:\t02\nmnt_id:\t17\nino:\t1039\n'


def test_inotify_without_fhandle_is_a_parse_error():
    """criu needs exactly 7 %x fields: a kernel or filesystem without file
    handles fails fdinfo_ext (criu: "Error parsing proc fdinfo")."""
    assert PP.parse_fdinfo_text(COMMON + INOTIFY_NEW, PP.FD_TYPES_INOTIFY)['entries'][0]['wd'] == 1
    parsed = PP.parse_fdinfo_text(COMMON + INOTIFY_OLD, PP.FD_TYPES_INOTIFY)
    assert not parsed['ok']
    assert parsed['error'].startswith('parse_fdinfo_pid_s: error parsing [inotify wd:1')


def test_fdinfo_type_rules():
    tfd = 'tfd:        4 events:       1d data:     7f1100000004  pos:0 ino:cff2 sdev:f\n'
    assert PP.parse_fdinfo_text(COMMON + tfd, PP.FD_TYPES_EVENTPOLL)['entries'][0]['tfd'] == 4
    assert PP.parse_fdinfo_text(COMMON + 'tfd: 4 events: 1d data: 0\n', PP.FD_TYPES_EVENTPOLL)['ok']      # 3 fields
    assert not PP.parse_fdinfo_text(COMMON + 'tfd: 4 events: 1d data: 0 pos:0\n', PP.FD_TYPES_EVENTPOLL)['ok']  # 4
    assert PP.parse_fdinfo_text(COMMON, PP.FD_TYPES_EVENTPOLL)['ok']           # no target is fine for epoll
    assert not PP.parse_fdinfo_text(COMMON, PP.FD_TYPES_EVENTFD)['ok']         # but not for eventfd
    assert PP.parse_fdinfo_text(COMMON, PP.FD_TYPES_EVENTFD)['error'] == 'No records of type 6 found in fdinfo file'
    assert not PP.parse_fdinfo_text(COMMON + 'sigmask:\t0000000000000200\n', PP.FD_TYPES_EVENTFD)['ok']  # wrong type
    und = PP.parse_fdinfo_text(COMMON + 'lock:\t1: FLOCK  ADVISORY  READ 29685 00:15:4026531879 0 EOF\n', PP.FD_TYPES_UND)
    assert und['common'] == {'pos': 0, 'flags': 2, 'mnt_id': 17}
    assert und['locks'][0]['kind'] == 'FLOCK'
    assert PP.parse_fdinfo_text('ino:\t5\n', PP.FD_TYPES_UND)['error'] == 'No records of type 0 found in fdinfo file'


# ---------------------------------------------------------------- hygiene and other interpreters

def snapshot():
    def children():
        tids = os.listdir('/proc/self/task')
        return ''.join(open('/proc/self/task/%s/children' % tid).read() for tid in tids)

    with open('/proc/self/mountinfo') as f:
        mounts = f.read()
    return {'fds': sorted(os.listdir('/proc/self/fd')), 'mounts': mounts, 'children': children(),
            'loginuid': read_loginuid(), 'sigusr1': str(signal.getsignal(signal.SIGUSR1)),
            'tmp': sorted(os.listdir('/tmp'))}


def links():
    return subprocess.run(['ip', '-o', 'link'], stdout=subprocess.PIPE, check=True).stdout


def test_no_leftovers():
    """Every probe of the family in one process: no fd, mount, child, file in
    /tmp, link, loginuid or signal disposition differs afterwards."""
    def body():
        ctx = _context.ProbeContext()
        before = snapshot()
        statuses = dict((probe_id, _registry.BY_ID[probe_id].func(ctx)['status']) for probe_id in PROC_IDS)
        return [before, snapshot(), statuses]

    links_before = links()
    before, after, statuses = in_child(body)
    assert before == after
    assert links() == links_before
    assert set(statuses.values()) == {'supported'}, statuses
