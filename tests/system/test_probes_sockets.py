# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the sockets and sock_diag probes (criu.check).

They run the real probe functions on this kernel, in the contexts criu
distinguishes (root; nobody with and without --unprivileged; a user
namespace; dropped CAP_NET_ADMIN), and check the answers against facts
gathered independently: /proc/config.gz, the kernel release, a direct
syscall from the test, sockets the test itself opens before the probe.
"""

import ctypes
import errno
import fcntl
import json
import os
import platform
import shutil
import socket
import struct
import subprocess
import tempfile

import pytest

import kernelinfo
import seccomp_deny

from conftest import COLLECTIONS, NOBODY, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context, _deps
from ansible_collections.criu.check.plugins.module_utils import _probes_sockets as S
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_NET_ADMIN

pytestmark = requires_root

CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
PROBES = ('sock_diag', 'sock_peek_off', 'tcp', 'so_gets', 'tcp_window', 'tcp_half_closed', 'sk_ns',
          'net_diag_raw', 'sockopt_buf_lock', 'ipv6_freebind', 'sk_unix_file')

# The 10 SOCK_DIAG_BY_FAMILY requests of criu 4.1.1 (`criu check --feature
# net_diag_raw`, captured on this machine with `strace -e write=all`), in
# collect_sockets() order: unix, inet tcp/udp/udplite/raw, inet6 the same,
# packet, netlink.  Note the bytes the shared request union carries over.
CRIU_REQUESTS = [
    '48000000140001036860000000000000' + body + '00' * 40 for body in (
        '01000000ffffffff000000001f000000',
        '02060000360f0000000000001f000000',
        '02110000ffffffff000000001f000000',
        '02880000ffffffff000000001f000000',
        '02ff0000ffffffff000000001f000000',
        '0a060000360f0000000000001f000000',
        '0a110000ffffffff000000001f000000',
        '0a880000ffffffff000000001f000000',
        '0aff0000ffffffff000000001f000000',
        '11000000ffffffff0f0000001f000000',
        '10ff0000ffffffff020000001f000000',
    )
]

# Importing pyroute2 as nobody fails here (the interpreter's stdlib lives
# under /root): import it once as root, the forked children inherit it.
S._pyroute2()


def _by_key(entries):
    return dict(('%s/%s' % (e['family'], e['protocol']), e) for e in entries)


# ------------------------------------------------------------ sock_diag


def test_diag_requests_are_criu_bytes():
    lib = S._pyroute2()
    ours = [S.diag_request(lib, f, p, k).hex() for f, p, k in S.COLLECT_PLAN if k]
    assert ours == CRIU_REQUESTS


def test_sock_diag_sees_the_sockets_the_test_opens():
    """Each family's dump must list a socket of that family opened just
    before the probe (the diag socket itself shows in the netlink dump)."""
    def body():
        keep = [socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.bind(('127.0.0.1', 0))
        tcp.listen(1)
        udp6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        udp6.bind(('::1', 0))
        packet = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, 0)
        keep += [tcp, udp6, packet]
        return S.sock_diag(_context.ProbeContext())

    result = in_child(body)
    assert result['status'] == 'supported'
    entries = _by_key(result['evidence']['requests'])
    assert list(entries) == [
        'AF_UNIX/IPPROTO_IP', 'AF_INET/IPPROTO_TCP', 'AF_INET/IPPROTO_UDP', 'AF_INET/IPPROTO_UDPLITE',
        'AF_INET/IPPROTO_RAW', 'AF_INET/IPPROTO_ICMP', 'AF_INET6/IPPROTO_TCP', 'AF_INET6/IPPROTO_UDP',
        'AF_INET6/IPPROTO_UDPLITE', 'AF_INET6/IPPROTO_RAW', 'AF_INET6/IPPROTO_ICMPV6', 'AF_PACKET/IPPROTO_IP',
        'AF_NETLINK/NDIAG_PROTO_ALL']
    assert entries['AF_UNIX/IPPROTO_IP']['sockets'] >= 2
    assert entries['AF_INET/IPPROTO_TCP']['sockets'] >= 1
    assert entries['AF_INET6/IPPROTO_UDP']['sockets'] >= 1
    assert entries['AF_PACKET/IPPROTO_IP']['sockets'] >= 1
    assert entries['AF_NETLINK/NDIAG_PROTO_ALL']['sockets'] >= 1
    assert entries['AF_INET/IPPROTO_ICMP'] == {'family': 'AF_INET', 'protocol': 'IPPROTO_ICMP',
                                               'requested': False, 'collected': True}


def test_sock_diag_per_family_answers_follow_kernel_config():
    config = kernelinfo.options()
    if config is None:
        pytest.skip('no /proc/config.gz')
    result = run_probe('sock_diag')
    assert result['status'] == 'supported'
    entries = _by_key(result['evidence']['requests'])
    wanted = {'AF_UNIX/IPPROTO_IP': 'CONFIG_UNIX_DIAG', 'AF_INET/IPPROTO_TCP': 'CONFIG_INET_TCP_DIAG',
              'AF_INET/IPPROTO_UDP': 'CONFIG_INET_UDP_DIAG', 'AF_INET/IPPROTO_RAW': 'CONFIG_INET_RAW_DIAG',
              'AF_PACKET/IPPROTO_IP': 'CONFIG_PACKET_DIAG', 'AF_NETLINK/NDIAG_PROTO_ALL': 'CONFIG_NETLINK_DIAG'}
    for key, option in wanted.items():
        if config.get(option) == 'y':
            assert 'errno' not in entries[key], key
        elif config.get(option, 'n') == 'n':
            # no module either: the kernel answers ENOENT
            assert entries[key]['errno_name'] == 'ENOENT', key
    # criu forgives ENOENT only for protocol 255 (RAW, and netlink's NDIAG_PROTO_ALL)
    expect_uncollected = [k for k, e in entries.items()
                          if e.get('errno') and not k.endswith(('IPPROTO_RAW', 'NDIAG_PROTO_ALL'))]
    assert result['evidence']['uncollected'] == expect_uncollected
    assert bool(result['message']) == bool(expect_uncollected)


@pytest.mark.parametrize('kwargs', [dict(as_user=NOBODY, unprivileged=True), dict(as_user=NOBODY),
                                    dict(userns=True), dict(drop_caps=(CAP_NET_ADMIN,))])
def test_sock_diag_needs_no_privilege(kwargs):
    result = run_probe('sock_diag', **kwargs)
    assert result['status'] == 'supported'
    assert len(result['evidence']['requests']) == 13


def test_sock_diag_without_pyroute2_raises_missing_library():
    """python3 -S drops site-packages: the probe must raise MissingLibrary
    (which the engine reports as unknown with the install fix)."""
    code = ('from ansible_collections.criu.check.plugins.module_utils import _probes_sockets as S, _deps, _context\n'
            'try:\n    S.sock_diag(_context.ProbeContext())\n'
            'except _deps.MissingLibrary as exc:\n    print(exc.library, "|", exc.fix)\n')
    out = subprocess.run(['/usr/bin/python3', '-S', '-c', code], env=dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONDONTWRITEBYTECODE='1'),
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith('pyroute2 | install python3-pyroute2')
    assert issubclass(_deps.MissingLibrary, Exception)


def test_net_diag_raw_follows_criu_quirk_and_reports_truth():
    config = kernelinfo.options()
    result = run_probe('net_diag_raw')
    assert result['status'] == 'supported'      # as criu: ENOENT for RAW counts as collected
    raw = _by_key(result['evidence']['requests'])
    assert sorted(raw) == ['AF_INET/IPPROTO_RAW', 'AF_INET6/IPPROTO_RAW']
    available = result['evidence']['raw_diag_available']
    assert available == all('errno' not in e for e in raw.values())
    if config is not None and config.get('CONFIG_INET_RAW_DIAG', 'n') == 'n':
        assert available is False
        assert 'raw_diag is missing' in result['message']
        assert result['evidence']['criu_quirk'] == 'ENOENT (no raw_diag) on a RAW request counts as collected'
        assert [e['criu_log'] for e in raw.values()] == [
            'sockets: Sockects collect procedure family %s proto IPPROTO_RAW: -2' % f for f in ('AF_INET', 'AF_INET6')]
    elif config is not None and config.get('CONFIG_INET_RAW_DIAG') == 'y':
        assert available is True
        assert result['message'] == ''


def test_net_diag_raw_as_nobody_and_in_userns():
    for kwargs in (dict(as_user=NOBODY, unprivileged=True), dict(userns=True)):
        assert run_probe('net_diag_raw', **kwargs)['status'] == 'supported'


# ------------------------------------------------------------ socket options


@pytest.mark.parametrize('kwargs', [{}, dict(as_user=NOBODY, unprivileged=True), dict(userns=True)])
def test_sock_peek_off(kwargs):
    direct = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        expected = struct.unpack('=i', direct.getsockopt(socket.SOL_SOCKET, S.SO_PEEK_OFF, 4))[0]
    finally:
        direct.close()
    result = run_probe('sock_peek_off', **kwargs)
    assert expected == -1
    assert result['status'] == 'supported'
    assert result['evidence'] == {'so_peek_off': -1, 'optlen': 4}


def _repair_errno():
    """TCP_REPAIR straight from the test, in the current (child) context."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(S.SOL_TCP, S.TCP_REPAIR, 1)
        return 'on'
    except OSError as exc:
        return errno.errorcode[exc.errno]
    finally:
        sock.close()


def test_tcp_root():
    result = run_probe('tcp')
    assert result['status'] == 'supported'
    assert result['evidence']['tcp_repair'] == 'on'
    assert isinstance(result['evidence']['tcp_timestamp'], int)


def test_tcp_unprivileged_skips_repair_like_criu():
    result = run_probe('tcp', as_user=NOBODY, unprivileged=True)
    live = in_child(_repair_errno, setup=lambda: os.setresuid(NOBODY, NOBODY, NOBODY))
    assert live == 'EPERM'
    assert result['status'] == 'supported'
    assert result['evidence']['tcp_repair'].startswith('skipped: Not checking for TCP repair mode')
    assert result['evidence']['tcp_repair_live'] == live


@pytest.mark.parametrize('kwargs', [dict(as_user=NOBODY), dict(userns=True), dict(drop_caps=(CAP_NET_ADMIN,))])
def test_tcp_without_net_admin_fails_like_criu(kwargs):
    result = run_probe('tcp', **kwargs)
    assert result['status'] == 'unsupported'
    assert result['message'] == "Can't turn TCP repair mode ON: Operation not permitted"
    assert result['evidence']['errno_name'] == 'EPERM'


def test_tcp_unprivileged_with_net_admin_tries_repair():
    """--unprivileged keeps TCP_REPAIR when CAP_NET_ADMIN is effective."""
    result = run_probe('tcp', unprivileged=True)
    assert result['status'] == 'supported'
    assert result['evidence']['tcp_repair'] == 'on'


@pytest.mark.parametrize('kwargs', [{}, dict(as_user=NOBODY, unprivileged=True), dict(userns=True)])
def test_so_gets(kwargs):
    result = run_probe('so_gets', **kwargs)
    assert result['status'] == 'supported'
    assert result['evidence'] == {'filter_len': 0, 'bound_dev': ''}


def test_tcp_window_root():
    result = run_probe('tcp_window')
    assert kernelinfo.version() >= (4, 8)
    assert result['status'] == 'supported'
    assert sorted(result['evidence']['tcp_repair_window']) == sorted(S.TCP_REPAIR_WINDOW_FIELDS)


@pytest.mark.parametrize('kwargs', [dict(as_user=NOBODY, unprivileged=True), dict(userns=True),
                                    dict(drop_caps=(CAP_NET_ADMIN,))])
def test_tcp_window_without_net_admin(kwargs):
    result = run_probe('tcp_window', **kwargs)
    assert result['status'] == 'unsupported'
    assert result['message'] == "The TCP_REPAIR_WINDOW option isn't supported."
    assert result['evidence']['errno_name'] == 'EPERM'
    assert result['evidence']['criu_warning'] == "TCP_REPAIR isn't available to unprivileged users"


def _tcp_rows(port):
    """/proc/net/tcp{,6} lines that use ``port`` on either side."""
    rows = []
    for name in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(name) as f:
            rows += [line for line in f.read().splitlines()[1:] if ':%04X ' % port in line]
    return rows


@pytest.mark.parametrize('kwargs,status', [({}, 'supported'), (dict(as_user=NOBODY, unprivileged=True), 'unsupported'),
                                           (dict(userns=True), 'unsupported')])
def test_tcp_half_closed(kwargs, status):
    result = run_probe('tcp_half_closed', **kwargs)
    assert result['status'] == status
    if status == 'unsupported':
        assert result['message'] == "TCP_REPAIR can't be enabled for half-closed sockets"
        assert result['evidence']['errno_name'] == 'EPERM'
    port = int(result['evidence']['listener'].rsplit(':', 1)[1])
    assert _tcp_rows(port) == []            # no listener, connection or TIME_WAIT left


# ------------------------------------------------------------ kerndat probes


def test_sk_ns_root_matches_own_netns():
    result = run_probe('sk_ns')
    assert result['status'] == 'supported'
    assert result['evidence']['netns_inode'] == os.stat('/proc/self/ns/net').st_ino


@pytest.mark.parametrize('kwargs', [dict(as_user=NOBODY), dict(userns=True), dict(drop_caps=(CAP_NET_ADMIN,))])
def test_sk_ns_without_net_admin(kwargs):
    result = run_probe('sk_ns', **kwargs)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'net: Unable to get socket network namespace'
    assert result['evidence']['errno_name'] == 'EPERM'


def test_sk_ns_unprivileged_reads_false_even_when_the_kernel_says_yes():
    result = run_probe('sk_ns', unprivileged=True)      # root, but criu --unprivileged
    assert result['status'] == 'unsupported'
    assert 'does not probe sk_ns in --unprivileged mode' in result['message']
    assert result['evidence']['live'] is True


def _unix_file_inode_of_bound_socket():
    """SIOCUNIXFILE on a socket bound to a path opens that path: its inode
    must be the path's (an independent check that the ioctl works)."""
    tmp = tempfile.mkdtemp(prefix='criu-check-sk-')
    path = os.path.join(tmp, 'sock')
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        fd = fcntl.ioctl(sock.fileno(), S.SIOCUNIXFILE)
        try:
            return os.fstat(fd).st_ino == os.stat(path).st_ino
        finally:
            os.close(fd)
    finally:
        sock.close()
        shutil.rmtree(tmp)


def test_sk_unix_file_root():
    assert in_child(_unix_file_inode_of_bound_socket) is True
    result = run_probe('sk_unix_file')
    assert result['status'] == 'supported'
    assert result['evidence']['errno_name'] == 'ENOENT'     # unbound: no file, yet supported


@pytest.mark.parametrize('kwargs', [dict(as_user=NOBODY), dict(userns=True)])
def test_sk_unix_file_without_net_admin(kwargs):
    result = run_probe('sk_unix_file', **kwargs)
    assert result['status'] == 'unsupported'
    assert result['message'] == 'unix: Unable to open a socket file: Operation not permitted'


def test_sk_unix_file_unprivileged():
    result = run_probe('sk_unix_file', as_user=NOBODY, unprivileged=True)
    assert result['status'] == 'unsupported'
    assert 'does not probe sk_unix_file in --unprivileged mode' in result['message']
    assert result['evidence']['live'] is False


@pytest.mark.parametrize('kwargs', [{}, dict(as_user=NOBODY, unprivileged=True), dict(userns=True)])
def test_sockopt_buf_lock(kwargs):
    result = run_probe('sockopt_buf_lock', **kwargs)
    assert result['status'] == ('supported' if kernelinfo.version() >= (5, 14) else 'unsupported')
    if result['status'] == 'supported':
        assert result['evidence']['so_buf_lock'] == 0


@pytest.mark.parametrize('kwargs', [{}, dict(as_user=NOBODY, unprivileged=True), dict(userns=True)])
def test_ipv6_freebind(kwargs):
    result = run_probe('ipv6_freebind', **kwargs)
    if not os.path.exists('/proc/sys/net/ipv6'):
        assert result['status'] == 'unsupported'
        return
    assert result['status'] == ('supported' if kernelinfo.version() >= (4, 15) else 'unsupported')


# ------------------------------------------------------------ refused calls

def _fails(name, arg, value, err):
    return lambda: seccomp_deny.install(seccomp_deny.argument_program(name, arg, value, err))


def _refuse(names, err):
    return lambda: seccomp_deny.install(seccomp_deny.program(names, err))


AF_INET_GONE = _fails('socket', 0, socket.AF_INET, errno.EAFNOSUPPORT)     # a kernel without IPv4
AF_INET_REFUSED = _fails('socket', 0, socket.AF_INET, errno.EPERM)
AF_UNIX_REFUSED = _fails('socket', 0, socket.AF_UNIX, errno.EPERM)
DIAG_REFUSED = _fails('socket', 0, socket.AF_NETLINK, errno.EPERM)
EPERM_TEXT = 'Operation not permitted'
KERNDAT = 'kerndat'     # criu_kerndat_fails: criu itself cannot start


# (probe, what fails, status, message, evidence expected in the answer).  An
# errno a kernel gives where it lacks the feature (ENOPROTOOPT, EINVAL,
# EAFNOSUPPORT) stands for that kernel; EPERM stands for a seccomp profile.
REFUSED = [
    ('tcp_window', AF_INET_GONE, 'supported', '', {'family': 'AF_INET6'}),
    ('tcp_half_closed', AF_INET_GONE, 'supported', '', {'family': 'AF_INET6'}),
    ('sockopt_buf_lock', AF_INET_GONE, 'supported', '', {'family': 'AF_INET6'}),
    ('tcp_window', AF_INET_REFUSED, 'unsupported', 'Unable to create inet socket: ' + EPERM_TEXT, {}),
    ('tcp_half_closed', AF_INET_REFUSED, 'unsupported', 'Unable to create a socket: ' + EPERM_TEXT, KERNDAT),
    ('sockopt_buf_lock', AF_INET_REFUSED, 'unsupported', 'Unable to create a socket: ' + EPERM_TEXT, KERNDAT),
    ('tcp', AF_INET_REFUSED, 'unsupported', "Can't create TCP socket :(: " + EPERM_TEXT, {}),
    ('tcp', _fails('getsockopt', 2, S.TCP_TIMESTAMP, errno.EPERM), 'unsupported',
     "Can't get TCP_TIMESTAMP: " + EPERM_TEXT, {'tcp_repair': 'on'}),
    ('so_gets', AF_INET_REFUSED, 'unsupported', 'No socket: ' + EPERM_TEXT, {}),
    ('so_gets', _fails('getsockopt', 2, S.SO_GET_FILTER, errno.EPERM), 'unsupported',
     "Can't get socket filter: " + EPERM_TEXT, {}),
    ('so_gets', _fails('getsockopt', 2, S.SO_BINDTODEVICE, errno.EPERM), 'unsupported',
     "Can't get socket bound dev: " + EPERM_TEXT, {'filter_len': 0}),
    ('sock_peek_off', AF_UNIX_REFUSED, 'unsupported', "Can't create unix socket for check: " + EPERM_TEXT, {}),
    ('sock_peek_off', _fails('getsockopt', 2, S.SO_PEEK_OFF, errno.ENOPROTOOPT), 'unsupported',
     "SO_PEEK_OFF sockoption doesn't work.", {'errno_name': 'ENOPROTOOPT'}),
    ('tcp_window', _fails('setsockopt', 2, S.TCP_REPAIR, errno.EINVAL), 'unsupported',
     'Unable to set TCP_REPAIR: Invalid argument', {'family': 'AF_INET'}),
    ('tcp_window', _fails('getsockopt', 2, S.TCP_REPAIR_WINDOW, errno.ENOPROTOOPT), 'unsupported',
     "The TCP_REPAIR_WINDOW option isn't supported.", {'errno_name': 'ENOPROTOOPT'}),
    ('tcp_window', _fails('getsockopt', 2, S.TCP_REPAIR_WINDOW, errno.EINVAL), 'unsupported',
     'Unable to set TCP_REPAIR_WINDOW: Invalid argument', {}),
    ('tcp_half_closed', _refuse(['bind'], errno.EPERM), 'unsupported', 'Unable to bind a socket: ' + EPERM_TEXT, KERNDAT),
    ('tcp_half_closed', _fails('setsockopt', 2, S.TCP_REPAIR, errno.EINVAL), 'unsupported',
     'Unable to set TCP_REPAIR with setsockopt: Invalid argument', KERNDAT),
    ('tcp_half_closed', _fails('shutdown', 1, socket.SHUT_WR, errno.EPERM), 'unsupported',
     'Unable to shutdown a socket: ' + EPERM_TEXT, KERNDAT),
    ('sockopt_buf_lock', _fails('getsockopt', 2, S.SO_BUF_LOCK, errno.ENOPROTOOPT), 'unsupported',
     'SO_BUF_LOCK is not supported (getsockopt answers ENOPROTOOPT)', {'errno_name': 'ENOPROTOOPT'}),
    ('sockopt_buf_lock', _fails('getsockopt', 2, S.SO_BUF_LOCK, errno.EINVAL), 'unsupported',
     'Unable to get SO_BUF_LOCK with getsockopt: Invalid argument', KERNDAT),
    ('ipv6_freebind', _fails('setsockopt', 2, S.IPV6_FREEBIND, errno.ENOPROTOOPT), 'unsupported',
     'IPV6_FREEBIND is not supported (setsockopt answers ENOPROTOOPT)', {'ipv6': True}),
    ('ipv6_freebind', _fails('setsockopt', 2, S.IPV6_FREEBIND, errno.EINVAL), 'unsupported',
     'Unable to setsockopt ipv6_freebind: Invalid argument', KERNDAT),
    ('ipv6_freebind', _fails('socket', 0, socket.AF_INET6, errno.EPERM), 'unsupported',
     'Unable to create a ipv6 dgram socket: ' + EPERM_TEXT, KERNDAT),
    ('ipv6_freebind', _refuse(['access', 'faccessat', 'faccessat2'], errno.ENOENT), 'unsupported',
     'IPv6 is disabled (/proc/sys/net/ipv6 is missing)', {'ipv6': False}),
    ('ipv6_freebind', _refuse(['access', 'faccessat', 'faccessat2'], errno.EACCES), 'unsupported',
     'Unable to access /proc/sys/net/ipv6: Permission denied', KERNDAT),
    ('sk_ns', AF_UNIX_REFUSED, 'unsupported', 'net: Unable to create socket: ' + EPERM_TEXT, KERNDAT),
    ('sk_unix_file', AF_UNIX_REFUSED, 'unsupported', 'unix: Unable to create socket: ' + EPERM_TEXT, KERNDAT),
    ('sock_diag', DIAG_REFUSED, 'unsupported', "Can't make diag socket for check: " + EPERM_TEXT, {}),
    ('net_diag_raw', DIAG_REFUSED, 'unsupported', "Can't make diag socket for check: " + EPERM_TEXT, {}),
]


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('probe_id, setup, status, message, evidence', REFUSED,
                         ids=['%s-%d' % (row[0], i) for i, row in enumerate(REFUSED)])
def test_refused_calls(probe_id, setup, status, message, evidence):
    """One call (or one argument of it) fails in the child, through a
    seccomp filter: the probe follows criu's branch for that errno."""
    def body():
        ctx = _context.ProbeContext()
        setup()
        return getattr(S, probe_id)(ctx)

    result = in_child(body)
    assert (result['status'], result['message']) == (status, message), result
    if evidence == KERNDAT:
        assert result['evidence']['criu_kerndat_fails'] is True, result
        assert result['evidence']['criu_then_prints'] == S.KERNDAT_FAILED
    else:
        assert 'criu_kerndat_fails' not in result['evidence'], result
        for key, value in evidence.items():
            assert result['evidence'][key] == value, (key, result)
    if probe_id == 'tcp_half_closed' and status == 'supported':
        assert result['evidence']['listener'].startswith('::1:'), result


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('call, stage', [('sendto', 'sendmsg'), ('recvmsg', 'recvmsg')])
def test_sock_diag_requests_refused(call, stage):
    """Every SOCK_DIAG_BY_FAMILY request fails: criu still passes sock_diag
    (it zeroes collect errors for its own namespace, and says so at info
    level) but not net_diag_raw, whose RAW bits stay unset."""
    def body():
        ctx = _context.ProbeContext()
        _refuse([call], errno.EPERM)()
        return S.sock_diag(ctx), S.net_diag_raw(ctx)

    diag, raw = in_child(body)
    assert diag['status'] == 'supported', diag
    assert diag['message'] == 'sockets: Uncollected sockets! Will probably fail later.'
    requested = [e for e in diag['evidence']['requests'] if e['requested']]
    assert len(requested) == 11
    assert all((e['collected'], e['stage'], e['errno_name']) == (False, stage, 'EPERM') for e in requested), requested
    assert diag['evidence']['uncollected'] == list(_by_key(requested))
    assert raw['status'] == 'unsupported', raw
    assert raw['message'] == '; '.join('%s/IPPROTO_RAW: %s: %s' % (family, stage, EPERM_TEXT)
                                       for family in ('AF_INET', 'AF_INET6'))


def test_collect_err_is_criu_rule():
    """criu's collect_err(): which errors a kernel's answer keeps, and the
    log line (the unix, packet and netlink diag modules answer EINVAL to
    criu's short probe requests, which criu logs without strerror).  Module
    presence cannot be varied on demand here: the rule is checked directly."""
    line = 'sockets: Sockects collect procedure family %s proto %s: %d'
    assert S._collect_err(S.AF_UNIX, S.IPPROTO_IP, -errno.ENOENT) == (
        -errno.ENOENT, line % ('AF_UNIX', 'IPPROTO_IP', -errno.ENOENT))
    assert S._collect_err(S.AF_INET6, S.IPPROTO_RAW, -errno.ENOENT) == (
        0, line % ('AF_INET6', 'IPPROTO_RAW', -errno.ENOENT))
    assert S._collect_err(S.AF_NETLINK, S.NDIAG_PROTO_ALL, -errno.ENOENT)[0] == 0
    assert S._collect_err(S.AF_PACKET, S.IPPROTO_IP, -errno.EINVAL) == (
        -errno.EINVAL, line % ('AF_PACKET', 'IPPROTO_IP', -errno.EINVAL))
    assert S._collect_err(S.AF_INET, S.IPPROTO_TCP, -errno.EINVAL) == (
        -errno.EINVAL, line % ('AF_INET', 'IPPROTO_TCP', -errno.EINVAL) + ': Invalid argument')


# ------------------------------------------------------------ hygiene


def _snapshot():
    def listing(path):
        return sorted(os.listdir(path))
    with open('/proc/self/mountinfo') as f:
        mounts = f.read()
    children = []
    for tid in os.listdir('/proc/self/task'):
        with open('/proc/self/task/%s/children' % tid) as f:
            children += f.read().split()
    links = subprocess.run(['ip', '-o', 'link'], capture_output=True, text=True, check=True).stdout
    return {'fds': listing('/proc/self/fd'), 'mounts': mounts, 'children': children, 'links': links,
            'tmp': listing(tempfile.gettempdir())}


def _private_tmp():
    """A mount namespace of the child's own with an empty tmpfs on /tmp, so
    that files other people create in the host's /tmp meanwhile do not count
    and anything a probe would leave in /tmp shows."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), 'unshare(CLONE_NEWNS)')
    if libc.mount(b'none', b'/', None, MS_REC | MS_PRIVATE, None) != 0:
        raise OSError(ctypes.get_errno(), 'mount --make-rprivate /')
    if libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, None) != 0:
        raise OSError(ctypes.get_errno(), 'mount tmpfs /tmp')


def test_probes_leave_nothing_behind():
    """All the probes in one process, as the engine's shared worker runs them."""
    def body():
        before = _snapshot()
        ctx = _context.ProbeContext()
        results = dict((name, getattr(S, name)(ctx)) for name in PROBES)
        after = _snapshot()
        return before, after, results['tcp_half_closed']['evidence']['listener']

    before, after, listener = in_child(body, setup=_private_tmp)
    assert before['tmp'] == []
    assert after == before
    assert _tcp_rows(int(listener.rsplit(':', 1)[1])) == []


def test_older_pyroute2_gives_the_same_answers():
    """Debian's own python3 with its python3-pyroute2 (0.7.x here): same
    request bytes and the same verdicts as the test's interpreter."""
    code = ('import json\n'
            'from ansible_collections.criu.check.plugins.module_utils import _probes_sockets as S, _context\n'
            'lib = S._pyroute2()\n'
            'ctx = _context.ProbeContext()\n'
            'print(json.dumps({"requests": [S.diag_request(lib, f, p, k).hex() for f, p, k in S.COLLECT_PLAN if k],\n'
            '                  "status": dict((n, getattr(S, n)(ctx)["status"]) for n in %r)}))\n' % (PROBES,))
    probe = subprocess.run(['/usr/bin/python3', '-c', 'import pyroute2.netlink'], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip('/usr/bin/python3 has no pyroute2')
    out = subprocess.run(['/usr/bin/python3', '-c', code], env=dict(os.environ, PYTHONPATH=COLLECTIONS, PYTHONDONTWRITEBYTECODE='1'),
                         capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    old = json.loads(out.stdout)
    assert old['requests'] == CRIU_REQUESTS
    ctx = _context.ProbeContext()
    assert old['status'] == in_child(lambda: dict((n, getattr(S, n)(ctx)['status']) for n in PROBES))
