# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the rtnetlink, network namespace and tun probes (criu.check).

They run the real probe functions on this kernel in the contexts criu
distinguishes (root; nobody with --unprivileged; a user namespace; dropped
CAP_SYS_ADMIN or CAP_NET_ADMIN) and check the answers against facts gathered
independently: /proc/config.gz, the device node's mode, hand-built netlink
requests sent from the test, the nft tool run by the test, and the bytes
criu 4.1.1 itself sends (captured with strace on this machine).
"""

import ctypes
import errno
import fcntl
import os
import platform
import socket
import stat
import struct
import subprocess
import sys

import pytest

import kernelinfo
import leftovers
import sbinless
import seccomp_deny

from conftest import NOBODY, become_user, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _probes_netlink as N
from ansible_collections.criu.check.plugins.module_utils._caps import CAP_NET_ADMIN, CAP_SYS_ADMIN

pytestmark = requires_root

PROBES = ('tun_cr', 'tun', 'tun_ns', 'nsid', 'link_nsid', 'newifindex', 'network_lock_nftables')

# Importing pyroute2 as nobody fails here (the interpreter's stdlib lives
# under /root): import it once as root; the forked children inherit it.
RT = N._rtnl()

# What criu 4.1.1 sends (strace -xx of `criu check --feature link_nsid` in
# the Debian 13 root, nlmsghdr included; the pid in RTM_GETNSID and the
# netns fd in RTM_NEWLINK are the ones of that run).
CRIU_GETNSID = '1c0000005a0005006860000000000000' + '00000000' + '08000200c5120000'
CRIU_SETLINK = ('380000001300050468600000000000000000000000000000000000000000000008003100ffffffff'
                '0d000300637269752d6b646174000000')
CRIU_NEWLINK = ('5c00000010000504686000000000000011000000' + '0a000000000000000000000008000300766574680800040' +
                '0dc0500002c00120008000100766574682000020' + '01c000100000000000b000000000000000000000008001c0006000000')


def _tun_open_for_others():
    st = os.stat(N.TUN_PATH)
    return stat.S_ISCHR(st.st_mode) and bool(st.st_mode & stat.S_IROTH and st.st_mode & stat.S_IWOTH)


# ---------------------------------------------------------------- raw netlink helpers (independent of pyroute2)

def _tlv(data):
    out, off = [], 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from('=HH', data, off)
        out.append((kind & 0x3fff, data[off + 4:off + length]))
        off += (length + 3) & ~3
    return out


def _canon_link(msg):
    """An RTM_*LINK message as comparable values, with names stripped of
    their NUL (pyroute2 terminates them, criu does not; the kernel's
    NLA_STRING policy reads both alike)."""
    length, kind, flags, seq, _pid = struct.unpack_from('=IHHII', msg)

    def peer(value):  # VETH_INFO_PEER: an ifinfomsg, then attributes
        return value[:16], _tlv(value[16:])

    def info_data(value):
        return [(t, peer(v) if t == 1 else v) for t, v in _tlv(value)]

    def linkinfo(value):  # IFLA_INFO_KIND (a name), IFLA_INFO_DATA
        return [(t, v.rstrip(b'\0') if t == 1 else info_data(v) if t == 2 else v) for t, v in _tlv(value)]

    attrs = [(t, v.rstrip(b'\0') if t == 3 else linkinfo(v) if t == 18 else v) for t, v in _tlv(msg[32:length])]
    return kind, flags, seq, msg[16:32], attrs


def _encoded(msg):
    msg['header']['sequence_number'] = N.CR_NLMSG_SEQ
    msg.encode()
    return bytes(msg.data)


def _sent_by(probe):
    """The requests ``probe`` sends, as bytes, and its answer (run it in a
    child: _rtnl_request is wrapped there)."""
    sent, original = [], N._rtnl_request

    def recording(rt, sock, msg, reply_cls):
        try:
            return original(rt, sock, msg, reply_cls)
        finally:
            sent.append(bytes(msg.data).hex())
    N._rtnl_request = recording
    return sent, probe(_context.ProbeContext())['status']


def _raw_request(payload, proto=0):
    """Send one hand-built netlink message; return the kernel's error (0 = ACK)
    and the other replies' types."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, proto)
    try:
        sock.settimeout(3)
        sock.sendto(payload, (0, 0))
        kinds = []
        while True:
            data = sock.recv(65536)
            off = 0
            while off < len(data):
                length, kind = struct.unpack_from('=IH', data, off)
                if kind == 2:
                    return struct.unpack_from('=i', data, off + 16)[0], kinds, data
                kinds.append((kind, data[off:off + length]))
                off += (length + 3) & ~3
    finally:
        sock.close()


# ---------------------------------------------------------------- tun

def test_tun_as_root_matches_the_device():
    assert os.path.exists(N.TUN_PATH), 'this machine has /dev/net/tun'
    assert kernelinfo.kconfig('CONFIG_TUN') in ('y', 'm')
    for probe in ('tun_cr', 'tun'):
        res = run_probe(probe)
        assert res['status'] == 'supported', res
        assert res['evidence']['tun_usable'] is True
    # The same ioctl from the test: TUNSETIFINDEX on an unattached tun fd.
    fd = os.open(N.TUN_PATH, os.O_RDWR)
    try:
        fcntl.ioctl(fd, N.TUNSETIFINDEX, struct.pack('I', 13))
    finally:
        os.close(fd)


def test_tun_as_nobody_follows_criu_quirk():
    """criu --extra passes when /dev/net/tun cannot be opened; --feature tun fails."""
    cr = run_probe('tun_cr', as_user=NOBODY, unprivileged=True)
    ft = run_probe('tun', as_user=NOBODY, unprivileged=True)
    if _tun_open_for_others():
        assert cr['status'] == ft['status'] == 'supported'
        return
    assert cr['status'] == 'supported', cr
    assert cr['message'] == "tun: Can't check tun support: Permission denied"
    assert cr['evidence']['tun_usable'] is False and cr['evidence']['errno_name'] == 'EACCES'
    assert cr['evidence']['device_exists'] is True
    assert ft['status'] == 'unsupported', ft
    assert ft['message'] == cr['message']


def test_tun_in_userns():
    # Root of a user namespace keeps host uid 0 (the node's owner): the open
    # works, and TUNSETIFINDEX needs no capability.
    assert run_probe('tun_cr', userns=True)['status'] == 'supported'
    assert run_probe('tun', userns=True)['status'] == 'supported'


def test_tun_ns_as_root_names_our_netns():
    res = run_probe('tun_ns')
    assert res['status'] == 'supported', res
    assert res['evidence']['netns_inode'] == os.stat('/proc/self/ns/net').st_ino


def test_tun_ns_needs_cap_net_admin():
    res = run_probe('tun_ns', userns=True)
    assert res['status'] == 'unsupported', res
    assert res['message'] == 'net: Unable to get tun network namespace'
    assert res['evidence']['errno_name'] == 'EPERM' and res['evidence']['ioctl'] == 'SIOCGSKNS'
    res = run_probe('tun_ns', drop_caps=(CAP_NET_ADMIN,))
    assert res['status'] == 'unsupported' and res['evidence']['errno_name'] == 'EPERM', res
    res = run_probe('tun_ns', as_user=NOBODY, unprivileged=True)
    assert res['status'] == 'unsupported', res
    if not _tun_open_for_others():
        assert res['message'] == 'tun: Unable to create tun: Permission denied'


def _tun_probes_where(setup):
    def body():
        setup()
        return dict((fn.__name__, fn(None)) for fn in (N.tun_cr, N.tun, N.tun_ns))
    return in_child(body)


def _hide_dev_net():
    """In the child: a mount namespace of its own with an empty tmpfs on
    /dev/net, as in a container given no /dev/net/tun (Docker's default)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for call, args in (('unshare', (0x00020000,)), ('mount', (None, b'/', None, ctypes.c_ulong(0x4000 | 0x40000), None)),
                       ('mount', (b'none', b'/dev/net', b'tmpfs', ctypes.c_ulong(0), None))):
        if getattr(libc, call)(*args) != 0:
            raise OSError(ctypes.get_errno(), call)


def test_tun_without_the_device():
    res = _tun_probes_where(_hide_dev_net)
    assert res['tun']['status'] == 'unsupported', res
    assert res['tun']['message'] == "tun: Can't check tun support: No such file or directory"
    assert res['tun']['evidence']['device_exists'] is False
    # criu --extra: C/R works, only not for tun
    assert res['tun_cr']['status'] == 'supported' and res['tun_cr']['evidence']['tun_usable'] is False, res
    assert res['tun_ns']['message'] == 'tun: Unable to create tun: No such file or directory', res


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
def test_tun_without_tunsetifindex():
    """A kernel before 3.8 answers TUNSETIFINDEX with EINVAL: both tun
    variants fail, with criu's text."""
    res = _tun_probes_where(seccomp_deny.call_fails('ioctl', 1, N.TUNSETIFINDEX, errno.EINVAL))
    for name in ('tun_cr', 'tun'):
        assert res[name]['status'] == 'unsupported', res
        assert res[name]['message'] == 'tun: No proper support for tun dump/restore: Invalid argument'
        assert res[name]['evidence']['errno_name'] == 'EINVAL'
    assert res['tun_ns']['status'] == 'supported'


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
def test_tun_open_modes_are_criu_modes():
    """criu opens /dev/net/tun read-write for tun and read-only for tun_ns:
    a device cgroup allowing it for reading only (c 10:200 r) fails the one
    and not the other.  A seccomp filter on openat's flags stands in for it."""
    read_write = _tun_probes_where(seccomp_deny.call_fails('openat', 2, os.O_RDWR | os.O_CLOEXEC, errno.EPERM))
    assert read_write['tun']['status'] == 'unsupported', read_write
    assert read_write['tun']['message'] == "tun: Can't check tun support: Operation not permitted"
    assert read_write['tun_cr']['status'] == 'supported' and read_write['tun_cr']['evidence']['tun_usable'] is False
    assert read_write['tun_ns']['status'] == 'supported', read_write
    read_only = _tun_probes_where(seccomp_deny.call_fails('openat', 2, os.O_RDONLY | os.O_CLOEXEC, errno.EPERM))
    assert read_only['tun']['status'] == read_only['tun_cr']['status'] == 'supported', read_only
    assert read_only['tun_ns']['status'] == 'unsupported', read_only
    assert read_only['tun_ns']['message'] == 'tun: Unable to create tun: Operation not permitted'


# ---------------------------------------------------------------- nsid

def _nsid_by_hand():
    req = struct.pack('=IHHII', 28, 90, 5, 1, 0) + b'\0' * 4 + struct.pack('=HHI', 8, 2, os.getpid())
    err, replies, dummy = _raw_request(req)
    assert err == 0
    for kind, msg in replies:
        for t, v in _tlv(msg[20:]):
            if t == 1:
                return struct.unpack('=i', v)[0]
    return None


@pytest.mark.parametrize('context', [{}, {'as_user': NOBODY, 'unprivileged': True}, {'userns': True}])
def test_nsid_every_mode(context):
    res = run_probe('nsid', **context)
    assert res['status'] == 'supported', res
    assert res['evidence']['nsid'] == in_child(_nsid_by_hand)
    assert res['evidence']['nsid_assigned'] is (res['evidence']['nsid'] != -1)


def test_nsid_request_is_criu_request():
    sent, status, pid = in_child(lambda: _sent_by(N.nsid) + (os.getpid(),))
    assert status == 'supported'
    assert sent == [CRIU_GETNSID.replace('c5120000', struct.pack('=I', pid).hex())]


# ---------------------------------------------------------------- newifindex

def _newifindex_by_hand():
    name = b'criu-kdat'
    req = (struct.pack('=IHHII', 56, 19, 0x405, 1, 0) + b'\0' * 16 + struct.pack('=HHi', 8, 49, -1)
           + struct.pack('=HH', 4 + len(name), 3) + name + b'\0' * 3)
    return _raw_request(req)[0]


def test_newifindex_as_root():
    res = run_probe('newifindex')
    expected = -errno.ERANGE if kernelinfo.version() >= (5, 13) else -errno.ENODEV
    assert in_child(_newifindex_by_hand) == expected
    assert res['status'] == ('supported' if expected == -errno.ERANGE else 'unsupported'), res


def test_newifindex_without_net_admin():
    # criu probes (not --unprivileged) and the kernel says EPERM.
    for context in ({'userns': True}, {'drop_caps': (CAP_NET_ADMIN,)}):
        res = run_probe('newifindex', **context)
        assert res['status'] == 'unsupported', (context, res)
        assert res['message'] == "IFLA_NEW_IFINDEX isn't supported"
        assert res['evidence']['criu_log'] == ['net: Unexpected error: -1(Operation not permitted)']
    # --unprivileged without CAP_NET_ADMIN: criu does not probe; evidence has the kernel's answer.
    res = run_probe('newifindex', as_user=NOBODY, unprivileged=True)
    assert res['status'] == 'unsupported', res
    assert 'does not probe it in --unprivileged mode' in res['message']
    assert res['evidence']['criu_probes'] is False
    assert res['evidence']['kernel_answer'] is (kernelinfo.version() >= (5, 13))
    # --unprivileged with CAP_NET_ADMIN: criu probes.
    assert run_probe('newifindex', unprivileged=True)['status'] == 'supported'


def test_newifindex_request_is_criu_request():
    sent, dummy = in_child(lambda: _sent_by(N.newifindex))
    assert len(sent) == 1
    ours = bytes.fromhex(sent[0])
    criu = bytes.fromhex(CRIU_SETLINK)
    assert len(ours) == len(criu)
    # Only IFLA_IFNAME's length differs: 14 with pyroute2's NUL, 13 without.
    assert _tlv(ours[32:]) == [(49, b'\xff' * 4), (3, b'criu-kdat\0')]
    assert _tlv(criu[32:]) == [(49, b'\xff' * 4), (3, b'criu-kdat')]
    assert ours[:32] == criu[:32]


# ---------------------------------------------------------------- link_nsid

def test_link_nsid_as_root_and_in_userns():
    for context in ({}, {'userns': True}):
        res = run_probe('link_nsid', **context)
        assert res['status'] == 'supported', (context, res)
        # The veth's peer lives in the other namespace, known there as nsid 0.
        assert res['evidence']['links']['veth'] == 0
        assert res['evidence']['links']['lo'] is None


def test_link_nsid_unprivileged_and_without_sys_admin():
    res = run_probe('link_nsid', as_user=NOBODY, unprivileged=True)
    assert res['status'] == 'unsupported', res
    assert res['message'] == "NSID isn't supported (criu does not probe it in --unprivileged mode)"
    assert res['evidence']['kernel_answer'] is True
    res = run_probe('link_nsid', drop_caps=(CAP_SYS_ADMIN,))
    assert res['status'] == 'unsupported', res
    assert res['message'] == "NSID isn't supported"
    assert res['evidence']['criu_log'] == ['net: Unable create a network namespace: Operation not permitted',
                                           "net: NSID isn't reported for network links"]


def test_link_nsid_request_is_criu_request():
    ours = _encoded(N._veth_request(RT, 6))
    assert _canon_link(ours) == _canon_link(bytes.fromhex(CRIU_NEWLINK))


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
@pytest.mark.parametrize('call, line', [
    ('sendto', "Can't send request message: Permission denied"),
    ('recvmsg', 'Error receiving nl report: Permission denied'),
])
def test_a_refused_rtnetlink_call_is_criu_answer_not_a_crash(call, line):
    """sendmsg or recvmsg on the rtnetlink socket refused, as an LSM (SELinux's
    nlmsg_read/nlmsg_write) or a seccomp profile may: criu's do_rtnl_req()
    prints the failed call and returns -errno.  kerndat_nsid() then says
    "NSID is not supported", kerndat_has_newifindex() fails kerndat, and the
    link_nsid child exits 1 with "Unable to create a veth pair: -13"."""
    def body():
        seccomp_deny.install(seccomp_deny.program([call], errno.EACCES))
        ctx = _context.ProbeContext()
        return dict((fn.__name__, fn(ctx)) for fn in (N.nsid, N.newifindex, N.link_nsid))

    res = in_child(body)
    assert (res['nsid']['status'], res['nsid']['message']) == ('unsupported', N.MSG_NSID), res['nsid']
    assert res['nsid']['evidence']['criu_log'] == [line, 'NSID is not supported']
    assert (res['newifindex']['status'], res['newifindex']['message']) == ('unsupported', line), res['newifindex']
    assert res['newifindex']['evidence']['criu_kerndat_fails'] is True
    assert res['link_nsid']['status'] == 'unsupported', res['link_nsid']
    assert res['link_nsid']['evidence']['criu_log'] == [line, 'net: Unable to create a veth pair: -13',
                                                        "net: NSID isn't reported for network links"]
    assert res['nsid']['evidence']['errno_name'] == res['newifindex']['evidence']['errno_name'] == 'EACCES'
    assert res['link_nsid']['evidence']['child_exit'] == 1


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
def test_netlink_socket_refused():
    """socket(AF_NETLINK) refused: criu's texts, and where criu does not
    probe (--unprivileged as nobody) the answer stays, with the failure as
    evidence."""
    def body(unprivileged):
        seccomp_deny.call_fails('socket', 0, socket.AF_NETLINK, errno.EACCES)()
        ctx = _context.ProbeContext(unprivileged=unprivileged)
        return dict((fn.__name__, fn(ctx)) for fn in (N.nsid, N.newifindex, N.link_nsid))

    res = in_child(lambda: body(False))
    assert res['nsid']['status'] == 'unsupported' and res['nsid']['message'] == N.MSG_NSID, res['nsid']
    assert res['nsid']['evidence']['criu_log'] == ["Unable to create a netlink socket: NSID can't be used.: Permission denied"]
    assert res['newifindex']['message'] == 'Unable to create a netlink socket: Permission denied', res['newifindex']
    assert res['newifindex']['evidence']['criu_kerndat_fails'] is True
    assert res['link_nsid']['evidence']['criu_log'] == ['net: Unable to create a netlink socket: Permission denied',
                                                        "net: NSID isn't reported for network links"], res['link_nsid']
    res = in_child(lambda: body(True), setup=lambda: become_user(NOBODY, NOBODY))
    assert res['newifindex']['status'] == 'unsupported', res['newifindex']
    assert res['newifindex']['evidence']['kernel_answer'] is None
    assert res['newifindex']['evidence']['failed'] == 'Unable to create a netlink socket: Permission denied'
    assert res['link_nsid']['status'] == 'unsupported', res['link_nsid']
    assert res['link_nsid']['evidence']['kernel_answer'] is None


@pytest.mark.skipif(platform.machine() != 'x86_64', reason='seccomp_deny.py knows x86_64 system calls only')
def test_unprivileged_evidence_when_unshare_is_refused():
    """--unprivileged as nobody where unshare() is refused (Docker's default
    seccomp profile): criu does not probe, the answer stays, and the
    evidence says the kernel's answer is unknown and why."""
    def body():
        seccomp_deny.install(seccomp_deny.program(['unshare'], errno.EPERM))
        ctx = _context.ProbeContext(unprivileged=True)
        return dict((fn.__name__, fn(ctx)) for fn in (N.newifindex, N.link_nsid, N.network_lock_nftables))

    res = in_child(body, setup=lambda: become_user(NOBODY, NOBODY))
    for name, answer in res.items():
        assert answer['status'] == 'unsupported' and answer['evidence']['criu_probes'] is False, (name, answer)
        assert answer['evidence']['kernel_answer'] is None, (name, answer)
    assert res['newifindex']['evidence']['unshare_errno_name'] == 'EPERM'
    assert res['link_nsid']['evidence']['criu_log'] == ['unshare(CLONE_NEWUSER): Operation not permitted']
    if N.nft_backend()[0] is not None:
        nft = res['network_lock_nftables']['evidence']
        assert (nft['failed_step'], nft['errno_name']) == ('unshare(CLONE_NEWUSER)', 'EPERM'), nft


# ---------------------------------------------------------------- network_lock_nftables

def _nft_by_hand():
    """The same three nft commands in a network namespace of the test's own."""
    nft = _context.which('nft')
    if not nft:
        return None
    script = '; '.join("%s '%s'" % (nft, cmd) for cmd in N.NFT_CMDS[:2])
    return subprocess.run(['unshare', '-n', 'sh', '-c', script], capture_output=True, check=False).returncode == 0


def test_network_lock_nftables_as_root():
    expected = _nft_by_hand()
    res = run_probe('network_lock_nftables')
    if expected is None and N.nft_backend()[0] is None:
        assert res['status'] == 'unsupported'
        return
    assert res['status'] == ('supported' if expected else 'unsupported'), res
    # supported in one nft run: criu's three commands as one transaction
    assert res['evidence'].get('transaction') is (True if expected else None), res
    assert kernelinfo.kconfig('CONFIG_NF_TABLES_INET') == 'y'
    assert run_probe('network_lock_nftables', userns=True)['status'] == res['status']


def test_network_lock_nftables_restricted():
    res = run_probe('network_lock_nftables', as_user=NOBODY, unprivileged=True)
    assert res['status'] == 'unsupported', res
    assert res['message'] == N.MSG_NFT + N.NOT_PROBED
    assert res['evidence']['kernel_answer'] is _nft_by_hand()
    # Root without CAP_SYS_ADMIN: criu's child cannot unshare, and kerndat fails.
    res = run_probe('network_lock_nftables', drop_caps=(CAP_SYS_ADMIN,))
    assert res['status'] == 'unsupported', res
    assert res['message'] == 'Unable create a network namespace: Operation not permitted'
    assert res['evidence']['criu_kerndat_fails'] is True


def test_network_lock_nftables_without_any_nftables_userland():
    def body():
        os.environ['PATH'] = '/nonexistent'
        sbinless.hide_sbin()
        sys.modules['nftables'] = None  # as if python3-nftables were not installed
        ctx = _context.ProbeContext()
        return (N.nft_backend(), N.network_lock_nftables(ctx),
                N.network_lock_nftables(_context.ProbeContext(unprivileged=True)))
    backend, res, unprivileged = in_child(body)
    assert backend == [None, None]
    # nothing to drive the kernel with: undecided, not missing
    assert res['status'] == 'unknown'
    assert 'python3-nftables' in res['fix'] and 'nft' in res['message']
    # criu itself does not probe in --unprivileged mode: unsupported, as criu says
    assert unprivileged['status'] == 'unsupported' and unprivileged['message'].startswith(N.MSG_NFT)


# ---------------------------------------------------------------- isolation
# (Debian's python3 and pyroute2 0.7.x giving the same answers: tests/system/test_python_environments.py)

def test_probes_leave_nothing_behind():
    def body():
        leftovers.quiet_scratch()
        before = leftovers.snapshot()
        ctx = _context.ProbeContext()
        for fn in (N.tun_cr, N.tun, N.tun_ns, N.nsid, N.link_nsid, N.newifindex, N.network_lock_nftables):
            assert fn(ctx)['status'] == 'supported', fn.__name__
        ctx = _context.ProbeContext(unprivileged=True)
        for fn in (N.link_nsid, N.newifindex, N.network_lock_nftables):
            fn(ctx)
        return before, leftovers.snapshot()
    before, after = in_child(body)
    assert before == after
    assert after['probe_links'] == [] and leftovers.host_traces() == []
