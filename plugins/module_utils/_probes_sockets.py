# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of sockets and sock_diag.

PRIVATE to the criu.check collection: not a public API.

Each probe repeats the socket calls of its criu function (criu/cr-check.c,
criu/kerndat.c, criu/sockets.c, criu/net.c, criu/sk-unix.c; CRIU 4.2) on the
running kernel, with criu's failure texts.  Texts criu prints with a log
prefix (``net: ``, ``unix: ``, ``sockets: ``) keep it, as criu prints them.

sock_diag and net_diag_raw talk NETLINK_SOCK_DIAG with pyroute2, imported
lazily through ``_deps`` the first time one of them runs, without the
package's ``__init__`` (which loads ndb, ipdb, conntrack, asyncio...;
figures: docs/architecture.md, "Costs").  Only ``pyroute2.netlink`` and ``pyroute2.netlink.diag``
are named, and only when a sock_diag probe runs.  The parts used are the ones that are
the same in 0.7.x and 0.9.x: the message classes ``nlmsg`` and ``nlmsgerr``,
the ``NLM_F_*`` constants, and ``unix_diag_req`` / ``inet_diag_req``;
packet_diag and netlink_diag requests are ``nlmsg`` subclasses defined here.
``DiagSocket`` is not used: it covers only unix and inet, it switches off
the decoding of netlink errors (``error_type = -1``), and its request API
became asyncio-based in 0.9.  The messages travel over a plain
``socket.socket(AF_NETLINK)``, with criu's own send/receive loop
(``do_rtnl_req()``), so that every errno reaches criu's error rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import errno
import fcntl
import os
import socket
import struct

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._criu_words import KERNDAT_FAILED
from ansible_collections.criu.check.plugins.module_utils._syscall import SIOCGSKNS

# <linux/socket.h>, <linux/in.h>: families and protocols criu names
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16
AF_PACKET = 17
IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_ICMPV6 = 58
IPPROTO_UDPLITE = 136
IPPROTO_RAW = 255

# <asm-generic/socket.h>
SOL_SOCKET = 1
SO_BINDTODEVICE = 25
SO_GET_FILTER = 26          # = SO_ATTACH_FILTER
SO_PEEK_OFF = 42
SO_BUF_LOCK = 72
IFNAMSIZ = 16

# <linux/tcp.h>
SOL_TCP = 6
TCP_REPAIR = 19
TCP_TIMESTAMP = 24
TCP_REPAIR_WINDOW = 29
TCP_REPAIR_WINDOW_FIELDS = ('snd_wl1', 'snd_wnd', 'max_window', 'rcv_wnd', 'rcv_wup')
TCP_REPAIR_WINDOW_SIZE = 20  # struct tcp_repair_window: five __u32

# <linux/in6.h>
SOL_IPV6 = 41
IPV6_FREEBIND = 78

# <linux/sockios.h>
SIOCUNIXFILE = 0x89E0       # SIOCPROTOPRIVATE + 0

# <linux/netlink.h>, <linux/sock_diag.h>, criu's libnetlink
NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSG_HDRLEN = 16
NLMSGERR_SIZE = 20          # struct nlmsgerr: int error + the request's nlmsghdr
NLMSG_HEADER = struct.Struct('=IHHII')
CR_NLMSG_SEQ = 24680
CR_RECV_BUF = 16384         # do_rtnl_req()'s receive buffer

# <linux/unix_diag.h>
UDIAG_SHOW_NAME = 0x01
UDIAG_SHOW_VFS = 0x02
UDIAG_SHOW_PEER = 0x04
UDIAG_SHOW_ICONS = 0x08
UDIAG_SHOW_RQLEN = 0x10
CRIU_UDIAG_SHOW = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN

# <netinet/tcp.h> states: collect_sockets() asks TCP for the states criu dumps
TCP_ESTABLISHED = 1
TCP_SYN_SENT = 2
TCP_FIN_WAIT1 = 4
TCP_FIN_WAIT2 = 5
TCP_CLOSE_WAIT = 8
TCP_LAST_ACK = 9
TCP_LISTEN = 10
TCP_CLOSING = 11
CRIU_TCP_STATES = sum(1 << s for s in (TCP_LISTEN, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2,
                                       TCP_CLOSE_WAIT, TCP_LAST_ACK, TCP_CLOSING, TCP_SYN_SENT))  # 0xf36
ALL_STATES = 0xffffffff     # criu's "-1 /* All */" in a __u32

# <linux/packet_diag.h>, <linux/netlink_diag.h>
PACKET_SHOW_INFO = 0x01
PACKET_SHOW_MCLIST = 0x02
PACKET_SHOW_FANOUT = 0x04
PACKET_SHOW_RING_CFG = 0x08
CRIU_PDIAG_SHOW = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_FANOUT | PACKET_SHOW_RING_CFG
NDIAG_PROTO_ALL = 255
NDIAG_SHOW_GROUPS = 0x02

# criu builds every request in one ``struct sock_diag_req`` (a union of the
# four request types, 56 bytes) that it zeroes once: a field a request does
# not set keeps what the previous request left there.  The requests below
# carry the same leftovers, so that the kernel gets criu's bytes exactly
# (checked against an strace of criu 4.1.1).  The kernel ignores them in a
# dump, but a reviewer can compare byte for byte.
SOCK_DIAG_UNION_SIZE = 56
# udiag_show (union offset 12) is read back as inet idiag_src[0], a __be32
RESIDUE_IDIAG_SRC0 = struct.unpack('>I', struct.pack('=I', CRIU_UDIAG_SHOW))[0]
# inet idiag_states (offset 4) of the last inet request is read back as pdiag_ino
RESIDUE_PDIAG_INO = ALL_STATES
# udiag_show, through idiag_src[0], is read back as pdiag_cookie[0] / ndiag_cookie[0]
RESIDUE_COOKIE = (CRIU_UDIAG_SHOW, 0)

# collect_sockets() order: (family, protocol, request kind).  For ICMP criu
# sends nothing and only sets the collect bit (criu/sockets.c collect_sockets()).
COLLECT_PLAN = (
    (AF_UNIX, IPPROTO_IP, 'unix'),
    (AF_INET, IPPROTO_TCP, 'inet'),
    (AF_INET, IPPROTO_UDP, 'inet'),
    (AF_INET, IPPROTO_UDPLITE, 'inet'),
    (AF_INET, IPPROTO_RAW, 'inet'),
    (AF_INET, IPPROTO_ICMP, None),
    (AF_INET6, IPPROTO_TCP, 'inet'),
    (AF_INET6, IPPROTO_UDP, 'inet'),
    (AF_INET6, IPPROTO_UDPLITE, 'inet'),
    (AF_INET6, IPPROTO_RAW, 'inet'),
    (AF_INET6, IPPROTO_ICMPV6, None),
    (AF_PACKET, IPPROTO_IP, 'packet'),
    (AF_NETLINK, NDIAG_PROTO_ALL, 'netlink'),
)

# criu's socket_family_name() / socket_proto_name() tables (sockets.c),
# used to rebuild its log lines; anything else prints as a number.
FAMILY_NAMES = {AF_UNIX: 'AF_UNIX', AF_INET: 'AF_INET', AF_INET6: 'AF_INET6',
                AF_NETLINK: 'AF_NETLINK', AF_PACKET: 'AF_PACKET'}
PROTO_NAMES = {IPPROTO_IP: 'IPPROTO_IP', IPPROTO_ICMP: 'IPPROTO_ICMP', IPPROTO_TCP: 'IPPROTO_TCP',
               IPPROTO_UDP: 'IPPROTO_UDP', IPPROTO_UDPLITE: 'IPPROTO_UDPLITE', IPPROTO_RAW: 'IPPROTO_RAW'}
# Readable evidence keys (criu's table calls the netlink protocol 255 "IPPROTO_RAW")
EVIDENCE_PROTO = dict(PROTO_NAMES)
EVIDENCE_PROTO[IPPROTO_ICMPV6] = 'IPPROTO_ICMPV6'

UNPRIVILEGED_SKIP = ('criu does not probe %s in --unprivileged mode (root-only kerndat): '
                     'it reads as unsupported there')

_PYROUTE2 = {}


# ---------------------------------------------------------------- helpers


def _errno_of(exc):
    """The errno of a socket exception (a timeout has none: ETIMEDOUT)."""
    return exc.errno if getattr(exc, 'errno', None) else errno.ETIMEDOUT


def _kerndat_abort(text, err, fix=None, **extra):
    """A kerndat step failed the way that makes criu refuse to start at all:
    criu prints ``text: strerror`` and then KERNDAT_FAILED, and every check
    (this one included) fails.  ``fix``: the cause's, where the step's
    failure names it better than the probe's row."""
    extra[R.KERNDAT_FLAG] = True
    extra['criu_then_prints'] = KERNDAT_FAILED
    return R.unsupported(R.perror(text, err), evidence=R.errno_evidence(err, **extra), fix=fix)


def _inet_stream_socket(protocol):
    """``socket(AF_INET, SOCK_STREAM, protocol)``, falling back to AF_INET6 on
    EAFNOSUPPORT as criu's kerndat does; returns (socket, family) or raises."""
    try:
        return socket.socket(AF_INET, socket.SOCK_STREAM, protocol), AF_INET
    except OSError as exc:
        if exc.errno != errno.EAFNOSUPPORT:
            raise
    return socket.socket(AF_INET6, socket.SOCK_STREAM, protocol), AF_INET6


def _ioctl_fd(sock, request):
    """An ioctl that returns a new fd: (inode of that fd, 0) or (None, errno).
    The fd is closed at once; only its inode is kept as evidence."""
    try:
        fd = fcntl.ioctl(sock.fileno(), request)
    except OSError as exc:
        return None, exc.errno
    try:
        return os.fstat(fd).st_ino, 0
    finally:
        os.close(fd)


# ------------------------------------------------------- sock_diag (netlink)


def _pyroute2():
    """The pyroute2 classes of the sock_diag probes, built on first use."""
    if not _PYROUTE2:
        netlink = _deps.load('pyroute2.netlink')
        diag = _deps.load('pyroute2.netlink.diag')
        _PYROUTE2.update(_diag_classes(netlink, diag))
    return _PYROUTE2


def _diag_classes(netlink, diag):
    """Request classes padded to criu's union size, and the reply classes."""

    class unix_req(diag.unix_diag_req):
        fields = diag.unix_diag_req.fields + (('__union_tail', '32s'),)

    class packet_diag_req(netlink.nlmsg):
        fields = (('sdiag_family', 'B'), ('sdiag_protocol', 'B'), ('__pad', 'H'),
                  ('pdiag_ino', 'I'), ('pdiag_show', 'I'), ('pdiag_cookie', '2I'),
                  ('__union_tail', '36s'))

    class netlink_diag_req(netlink.nlmsg):
        fields = (('sdiag_family', 'B'), ('sdiag_protocol', 'B'), ('__pad', 'H'),
                  ('ndiag_ino', 'I'), ('ndiag_show', 'I'), ('ndiag_cookie', '2I'),
                  ('__union_tail', '36s'))

    class done_msg(netlink.nlmsg):
        # NLMSG_DONE carries the dump's final status as an int
        fields = (('error', 'i'),)

    return {'unix': unix_req, 'inet': diag.inet_diag_req, 'packet': packet_diag_req,
            'netlink': netlink_diag_req, 'done': done_msg, 'error': netlink.nlmsgerr,
            'flags': netlink.NLM_F_REQUEST | netlink.NLM_F_DUMP}


def _request_fields(family, protocol, kind):
    """The fields criu sets for this request, plus the union's leftovers."""
    if kind == 'unix':
        return dict(sdiag_family=family, sdiag_protocol=protocol, __pad=0, udiag_states=ALL_STATES,
                    udiag_ino=0, udiag_show=CRIU_UDIAG_SHOW, udiag_cookie=0, __union_tail=b'')
    if kind == 'inet':
        states = CRIU_TCP_STATES if protocol == IPPROTO_TCP else ALL_STATES
        return dict(sdiag_family=family, sdiag_protocol=protocol, idiag_ext=0, __pad=0,
                    idiag_states=states, idiag_sport=0, idiag_dport=0,
                    idiag_src=(RESIDUE_IDIAG_SRC0, 0, 0, 0), idiag_dst=(0, 0, 0, 0),
                    idiag_if=0, idiag_cookie=0)
    if kind == 'packet':
        return dict(sdiag_family=family, sdiag_protocol=protocol, __pad=0, pdiag_ino=RESIDUE_PDIAG_INO,
                    pdiag_show=CRIU_PDIAG_SHOW, pdiag_cookie=RESIDUE_COOKIE, __union_tail=b'')
    return dict(sdiag_family=family, sdiag_protocol=protocol, __pad=0, ndiag_ino=RESIDUE_PDIAG_INO,
                ndiag_show=NDIAG_SHOW_GROUPS, ndiag_cookie=RESIDUE_COOKIE, __union_tail=b'')


def diag_request(lib, family, protocol, kind):
    """criu's SOCK_DIAG_BY_FAMILY dump request, encoded by pyroute2:
    ``NLM_F_DUMP | NLM_F_REQUEST``, seq 24680, nlmsg_len 16 + 56."""
    msg = lib[kind]()
    msg['header']['type'] = SOCK_DIAG_BY_FAMILY
    msg['header']['flags'] = lib['flags']
    msg['header']['sequence_number'] = CR_NLMSG_SEQ
    msg['header']['pid'] = 0
    for name, value in _request_fields(family, protocol, kind).items():
        msg[name] = value
    msg.encode()
    return bytes(msg.data)


def _receive_batch(lib, data):
    """criu: nlmsg_receive().  Returns (finished, err, data messages): err is
    0, the negative errno the kernel reported (criu hands it to its error
    callback), or None for criu's "ERROR truncated" (a bare -1)."""
    offset, messages = 0, 0
    while offset + NLMSG_HDRLEN <= len(data):
        length, mtype, _flags, seq, _pid = NLMSG_HEADER.unpack_from(data, offset)
        if length < NLMSG_HDRLEN or offset + length > len(data):
            break                           # NLMSG_OK() fails: end of this batch
        chunk = data[offset:offset + length]
        offset += (length + 3) & ~3
        if seq != CR_NLMSG_SEQ:
            continue                        # criu skips foreign messages
        if mtype == NLMSG_DONE:
            done = lib['done'](chunk)
            done.decode()
            return True, min(done['error'], 0), messages
        if mtype == NLMSG_ERROR:
            if length - NLMSG_HDRLEN < NLMSGERR_SIZE:
                return True, None, messages
            err = lib['error'](chunk)
            err.decode()
            return True, err['error'], messages
        messages += 1                       # criu parses it in *_receive_one()
    return False, 0, messages


def _do_request(sock, lib, request):
    """criu: do_rtnl_req(): send one dump request and read until DONE or an
    error.  Returns (err, stage, data messages): err 0 is success, stage
    says where a failure came from ('netlink' for the kernel's answer, which
    alone goes through collect_err())."""
    try:
        sock.sendto(request, (0, 0))
    except OSError as exc:
        return -_errno_of(exc), 'sendmsg', 0
    total = 0
    while True:
        try:
            data, _anc, flags, _addr = sock.recvmsg(CR_RECV_BUF)
        except OSError as exc:              # socket.timeout is an OSError too
            return -_errno_of(exc), 'recvmsg', total
        if not data:
            return 0, None, total
        if flags & socket.MSG_TRUNC:
            return -errno.EMSGSIZE, 'recvmsg', total
        finished, err, messages = _receive_batch(lib, data)
        total += messages
        if finished:
            if err is None:
                return -1, 'ERROR truncated', total
            return err, 'netlink', total


def _collect_err(family, protocol, err):
    """criu: collect_err().  ENOENT means the diag module is missing, but for
    IPPROTO_RAW it is forgiven (criu commit 4d4bf2477), which by the number
    also forgives AF_NETLINK's NDIAG_PROTO_ALL (255 == IPPROTO_RAW).  Returns
    (err after the rule, criu's log line)."""
    line = 'sockets: Sockects collect procedure family %s proto %s' % (
        FAMILY_NAMES.get(family, str(family)), PROTO_NAMES.get(protocol, str(protocol)))
    if err == -errno.ENOENT:
        return (0 if protocol == IPPROTO_RAW else err), '%s: %d' % (line, err)
    if err == -errno.EINVAL and family in (AF_UNIX, AF_PACKET, AF_NETLINK):
        return err, '%s: %d' % (line, err)
    return err, '%s: %d: %s' % (line, err, os.strerror(-err))


def _collect_one(sock, lib, family, protocol, kind):
    """One step of criu's collect_sockets(), as evidence; 'collected' is
    criu's collect bit for (family, protocol)."""
    entry = {'family': FAMILY_NAMES[family], 'protocol': EVIDENCE_PROTO.get(protocol, str(protocol))}
    if family == AF_NETLINK:
        entry['protocol'] = 'NDIAG_PROTO_ALL'
    if kind is None:
        entry.update(requested=False, collected=True)
        return entry
    err, stage, messages = _do_request(sock, lib, diag_request(lib, family, protocol, kind))
    entry.update(requested=True, sockets=messages)
    if err and stage == 'netlink':
        # only errors the kernel reports go through criu's collect_err()
        final, line = _collect_err(family, protocol, err)
        entry.update(R.errno_evidence(-err), criu_log=line)
        err = final
    elif err == -1 and stage == 'ERROR truncated':
        entry.update(stage=stage, criu_log='ERROR truncated')
    elif err:
        entry.update(R.errno_evidence(-err), stage=stage)
    entry['collected'] = err == 0
    return entry


def _collect_sockets(sock, lib, ctx):
    """criu: collect_sockets() with an NS_CRIU namespace: every request in
    criu's order on one NETLINK_SOCK_DIAG socket.  criu would wait for ever
    on a silent kernel; each request here waits what is left of the probe's
    time."""
    entries = []
    for family, protocol, kind in COLLECT_PLAN:
        sock.settimeout(ctx.left())
        entries.append(_collect_one(sock, lib, family, protocol, kind))
    return entries


def _sock_diag_collect(ctx):
    """criu: check_sock_diag().  Returns (entries, None) or (None, errno) when
    the NETLINK_SOCK_DIAG socket cannot be made."""
    lib = _pyroute2()
    try:
        sock = socket.socket(AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    except OSError as exc:
        return None, exc.errno
    try:
        return _collect_sockets(sock, lib, ctx), None
    finally:
        sock.close()


def _entry_key(entry):
    return '%s/%s' % (entry['family'], entry['protocol'])


def sock_diag(ctx):
    """criu: check_sock_diag() -> collect_sockets().

    criu passes once the NETLINK_SOCK_DIAG socket exists: collect_sockets()
    zeroes every error for its own namespace (NS_CRIU) and only logs
    "Uncollected sockets! Will probably fail later." at info level.  The
    same verdict here; what each of the 11 requests answered (and the 2
    ICMP bits criu sets without asking) is in evidence, so a missing
    *_diag module shows up even though criu stays silent.  Module autoload
    (unix_diag, inet_diag, ...) is the kernel's side effect, as for criu.
    """
    entries, err = _sock_diag_collect(ctx)
    if entries is None:
        return R.unsupported(R.perror("Can't make diag socket for check", err), evidence=R.errno_evidence(err))
    uncollected = [_entry_key(e) for e in entries if not e['collected']]
    evidence = {'requests': entries, 'uncollected': uncollected,
                'criu_compat': 'criu zeroes collect errors for its own netns (NS_CRIU)'}
    if uncollected:
        return R.supported(evidence, message='sockets: Uncollected sockets! Will probably fail later.')
    return R.supported(evidence)


def net_diag_raw(ctx):
    """criu: check_net_diag_raw(): check_sock_diag() again, then both
    (AF_INET, IPPROTO_RAW) and (AF_INET6, IPPROTO_RAW) collect bits.

    criu's quirk, kept for the verdict: a RAW request answered ENOENT (no
    raw_diag in the kernel) sets the bit anyway (criu/sockets.c, since criu commit 4d4bf2477), so this
    fails only on other errors.  The truth (``raw_diag_available``) is in
    evidence, and in the message when raw_diag is missing.
    """
    entries, err = _sock_diag_collect(ctx)
    if entries is None:
        return R.unsupported(R.perror("Can't make diag socket for check", err), evidence=R.errno_evidence(err))
    raw = [e for e in entries if e['protocol'] == 'IPPROTO_RAW']
    missing = [_entry_key(e) for e in raw if e.get('errno') == errno.ENOENT]
    evidence = {'requests': raw, 'raw_diag_available': not missing}
    failed = [e for e in raw if not e['collected']]
    if failed:
        lines = [e.get('criu_log') or R.perror('%s: %s' % (_entry_key(e), e['stage']), e['errno']) for e in failed]
        return R.unsupported('; '.join(lines), evidence=evidence)
    if missing:
        evidence['criu_quirk'] = 'ENOENT (no raw_diag) on a RAW request counts as collected'
        return R.supported(evidence, message='raw_diag is missing (ENOENT for %s), which criu counts as supported; '
                                             'raw sockets cannot be dumped' % ', '.join(missing))
    return R.supported(evidence)


# ------------------------------------------------------------ socket options


def sock_peek_off(ctx):
    """criu: check_sock_peek_off(): SO_PEEK_OFF on a fresh AF_UNIX datagram
    socket must read as the int -1 (peeking without an offset)."""
    try:
        sock = socket.socket(AF_UNIX, socket.SOCK_DGRAM, 0)
    except OSError as exc:
        return R.unsupported(R.perror("Can't create unix socket for check", exc.errno),
                             evidence=R.errno_evidence(exc.errno))
    try:
        raw = sock.getsockopt(SOL_SOCKET, SO_PEEK_OFF, 4)
    except OSError as exc:
        return R.unsupported("SO_PEEK_OFF sockoption doesn't work.", evidence=R.errno_evidence(exc.errno))
    finally:
        sock.close()
    value = struct.unpack('=i', raw)[0] if len(raw) == 4 else None
    evidence = {'so_peek_off': value, 'optlen': len(raw)}
    if value == -1:
        return R.supported(evidence)
    return R.unsupported("SO_PEEK_OFF sockoption doesn't work.", evidence=evidence)


def tcp(ctx):
    """criu: check_tcp(): TCP_REPAIR on, then TCP_TIMESTAMP read back, on an
    unconnected TCP socket (closing it in repair mode is harmless).

    Under --unprivileged without CAP_NET_ADMIN criu skips TCP_REPAIR
    ("Not checking for TCP repair mode. Please set CAP_NET_ADMIN"); so does
    this probe, and evidence keeps the kernel's live answer to TCP_REPAIR.
    """
    try:
        sock = socket.socket(AF_INET, socket.SOCK_STREAM, IPPROTO_TCP)
    except OSError as exc:
        return R.unsupported(R.perror("Can't create TCP socket :(", exc.errno), evidence=R.errno_evidence(exc.errno))
    try:
        return _tcp_on(ctx, sock)
    finally:
        sock.close()


def _tcp_on(ctx, sock):
    skip_repair = ctx.unprivileged and not ctx.has_cap(_caps.CAP_NET_ADMIN)
    evidence = {}
    if not skip_repair:
        try:
            sock.setsockopt(SOL_TCP, TCP_REPAIR, 1)
        except OSError as exc:
            return R.unsupported(R.perror("Can't turn TCP repair mode ON", exc.errno),
                                 evidence=R.errno_evidence(exc.errno, call='setsockopt(SOL_TCP, TCP_REPAIR, 1)'))
        evidence['tcp_repair'] = 'on'
    try:
        evidence['tcp_timestamp'] = sock.getsockopt(SOL_TCP, TCP_TIMESTAMP)
    except OSError as exc:
        return R.unsupported(R.perror("Can't get TCP_TIMESTAMP", exc.errno),
                             evidence=R.errno_evidence(exc.errno, call='getsockopt(SOL_TCP, TCP_TIMESTAMP)', **evidence))
    if skip_repair:
        evidence['tcp_repair'] = 'skipped: Not checking for TCP repair mode. Please set CAP_NET_ADMIN'
        evidence['tcp_repair_live'] = _tcp_repair_live(sock)
    return R.supported(evidence)


def _tcp_repair_live(sock):
    """What TCP_REPAIR would answer now (evidence only): 'on' or an errno name."""
    try:
        sock.setsockopt(SOL_TCP, TCP_REPAIR, 1)
    except OSError as exc:
        return R.errno_name(exc.errno)
    return 'on'


def so_gets(ctx):
    """criu: check_so_gets(): SO_GET_FILTER with a NULL buffer and length 0
    (through ctypes: Python's getsockopt refuses a zero length), then
    SO_BINDTODEVICE into IFNAMSIZ bytes, on a UDP socket."""
    try:
        sock = socket.socket(AF_INET, socket.SOCK_DGRAM, IPPROTO_UDP)
    except OSError as exc:
        return R.unsupported(R.perror('No socket', exc.errno), evidence=R.errno_evidence(exc.errno))
    try:
        length = ctypes.c_uint32(0)
        rc, err = _syscall.libc_call(_syscall.LIBC.getsockopt, sock.fileno(), SOL_SOCKET, SO_GET_FILTER,
                                     None, ctypes.byref(length))
        if rc != 0:
            return R.unsupported(R.perror("Can't get socket filter", err), evidence=R.errno_evidence(err))
        try:
            dev = sock.getsockopt(SOL_SOCKET, SO_BINDTODEVICE, IFNAMSIZ)
        except OSError as exc:
            return R.unsupported(R.perror("Can't get socket bound dev", exc.errno),
                                 evidence=R.errno_evidence(exc.errno, filter_len=length.value))
    finally:
        sock.close()
    return R.supported({'filter_len': length.value, 'bound_dev': dev.split(b'\0', 1)[0].decode('ascii', 'replace')})


def tcp_window(ctx):
    """criu: check_tcp_window() -> kerndat_tcp_repair_window(): TCP_REPAIR on
    a fresh stream socket, then TCP_REPAIR_WINDOW read back (20 bytes).

    EPERM on TCP_REPAIR is criu's warning "TCP_REPAIR isn't available to
    unprivileged users" followed by its error, which is the message here.
    """
    try:
        sock, family = _inet_stream_socket(0)
    except OSError as exc:
        return R.unsupported(R.perror('Unable to create inet socket', exc.errno), evidence=R.errno_evidence(exc.errno))
    try:
        return _tcp_window_on(sock, family)
    finally:
        sock.close()


def _tcp_window_on(sock, family):
    unsupported = "The TCP_REPAIR_WINDOW option isn't supported."
    base = {'family': FAMILY_NAMES[family]}
    try:
        sock.setsockopt(SOL_TCP, TCP_REPAIR, 1)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return R.unsupported(unsupported, evidence=R.errno_evidence(
                exc.errno, criu_warning="TCP_REPAIR isn't available to unprivileged users", **base))
        return R.unsupported(R.perror('Unable to set TCP_REPAIR', exc.errno), evidence=R.errno_evidence(exc.errno, **base))
    try:
        raw = sock.getsockopt(SOL_TCP, TCP_REPAIR_WINDOW, TCP_REPAIR_WINDOW_SIZE)
    except OSError as exc:
        if exc.errno == errno.ENOPROTOOPT:
            return R.unsupported(unsupported, evidence=R.errno_evidence(exc.errno, **base))
        # criu's text says "set" although the call is getsockopt
        return R.unsupported(R.perror('Unable to set TCP_REPAIR_WINDOW', exc.errno),
                             evidence=R.errno_evidence(exc.errno, **base))
    base['tcp_repair_window'] = dict(zip(TCP_REPAIR_WINDOW_FIELDS, struct.unpack('=5I', raw)))
    return R.supported(base)


# No route to the loopback address: lo is down in this network namespace (unshare -n, or ip netns
# add without "ip link set lo up"); criu's start-up connects over it in every mode.
LOOPBACK_DOWN_FIX = ('criu connects a TCP socket over the loopback interface in its start-up, and this network '
                     'namespace has no route to it: bring the loopback up (ip link set lo up; for a namespace '
                     'made with ip netns add: ip netns exec NAME ip link set lo up)')


def tcp_half_closed(ctx):
    """criu: check_tcp_halt_closed() -> kerndat_tcp_repair(): a loopback
    listener (127.0.0.1:0, or [::1]:0 without IPv4), a client that connects
    and shuts its write side, then TCP_REPAIR on that half-closed client.

    EPERM reads as unsupported ("TCP_REPAIR can't be enabled for half-closed
    sockets"); any other failure makes criu's kerndat, hence criu, fail.
    Both sockets are closed (the client first, as criu); the connection is
    never accepted and dies with the listener.
    """
    try:
        listener, family = _inet_stream_socket(IPPROTO_TCP)
    except OSError as exc:
        return _kerndat_abort('Unable to create a socket', exc.errno)
    client = None
    try:
        client, result = _half_closed_client(listener, family, ctx)
        return result
    finally:
        if client is not None:
            client.close()
        listener.close()


def _half_closed_client(listener, family, ctx):
    """Returns (client socket or None, result)."""
    loopback = ('127.0.0.1', 0) if family == AF_INET else ('::1', 0)
    step = 'Unable to bind a socket'
    try:
        listener.bind(loopback)
        step = 'Unable to get a socket name'
        address = listener.getsockname()
        step = 'Unable to listen a socket'
        listener.listen(1)
        step = 'Unable to create a socket'
        client = socket.socket(family, socket.SOCK_STREAM, IPPROTO_TCP)
    except OSError as exc:
        return None, _kerndat_abort(step, _errno_of(exc))
    evidence = {'family': FAMILY_NAMES[family], 'listener': '%s:%d' % address[:2]}
    try:
        step = 'Unable to connect a socket'
        client.settimeout(ctx.left())       # a loopback connect never waits unless lo is filtered
        client.connect(address)
        step = 'Unable to shutdown a socket'
        client.shutdown(socket.SHUT_WR)
    except OSError as exc:
        err = _errno_of(exc)
        fix = LOOPBACK_DOWN_FIX if err == errno.ENETUNREACH and step == 'Unable to connect a socket' else None
        return client, _kerndat_abort(step, err, fix=fix, **evidence)
    try:
        client.setsockopt(SOL_TCP, TCP_REPAIR, 1)
    except OSError as exc:
        if exc.errno == errno.EPERM:
            return client, R.unsupported("TCP_REPAIR can't be enabled for half-closed sockets",
                                         evidence=R.errno_evidence(exc.errno, **evidence))
        return client, _kerndat_abort('Unable to set TCP_REPAIR with setsockopt', exc.errno, **evidence)
    evidence['tcp_repair'] = 'on (half-closed client)'
    return client, R.supported(evidence)


def sockopt_buf_lock(ctx):
    """criu: check_sockopt_buf_lock() -> kerndat_sockopt_buf_lock():
    getsockopt(SOL_SOCKET, SO_BUF_LOCK) on a TCP socket; ENOPROTOOPT means
    the kernel lacks it (criu prints nothing), other errors abort kerndat."""
    try:
        sock, family = _inet_stream_socket(IPPROTO_TCP)
    except OSError as exc:
        return _kerndat_abort('Unable to create a socket', exc.errno)
    try:
        value = sock.getsockopt(SOL_SOCKET, SO_BUF_LOCK)
    except OSError as exc:
        if exc.errno == errno.ENOPROTOOPT:
            return R.unsupported('SO_BUF_LOCK is not supported (getsockopt answers ENOPROTOOPT)',
                                 evidence=R.errno_evidence(exc.errno))
        return _kerndat_abort('Unable to get SO_BUF_LOCK with getsockopt', exc.errno)
    finally:
        sock.close()
    return R.supported({'family': FAMILY_NAMES[family], 'so_buf_lock': value})


def ipv6_freebind(ctx):
    """criu: check_ipv6_freebind() -> get_ipv6() + kerndat_has_ipv6_freebind():
    IPv6 must exist (access("/proc/sys/net/ipv6", F_OK), through libc to get
    the errno), then setsockopt(SOL_IPV6, IPV6_FREEBIND, 1) on a UDP socket;
    ENOPROTOOPT means unsupported, other errors abort kerndat."""
    err = _syscall.access('/proc/sys/net/ipv6', os.F_OK)
    if err:
        if err == errno.ENOENT:
            return R.unsupported('IPv6 is disabled (/proc/sys/net/ipv6 is missing)',
                                 evidence=R.errno_evidence(err, ipv6=False),
                                 fix='enable IPv6 (CONFIG_IPV6, no ipv6.disable=1 on the kernel command line)')
        return _kerndat_abort('Unable to access /proc/sys/net/ipv6', err)
    try:
        sock = socket.socket(AF_INET6, socket.SOCK_DGRAM, IPPROTO_UDP)
    except OSError as exc:
        return _kerndat_abort('Unable to create a ipv6 dgram socket', exc.errno)
    try:
        sock.setsockopt(SOL_IPV6, IPV6_FREEBIND, 1)
    except OSError as exc:
        if exc.errno == errno.ENOPROTOOPT:
            return R.unsupported('IPV6_FREEBIND is not supported (setsockopt answers ENOPROTOOPT)',
                                 evidence=R.errno_evidence(exc.errno, ipv6=True))
        return _kerndat_abort('Unable to setsockopt ipv6_freebind', exc.errno)
    finally:
        sock.close()
    return R.supported({'ipv6': True, 'ipv6_freebind': 1})


# ------------------------------------------------------- root-only kerndat


def _unix_dgram_ioctl(request):
    """An fd-returning ioctl on a fresh unbound AF_UNIX datagram socket:
    (socket errno or 0, inode of the returned fd or None, ioctl errno)."""
    try:
        sock = socket.socket(AF_UNIX, socket.SOCK_DGRAM, 0)
    except OSError as exc:
        return exc.errno, None, 0
    try:
        inode, err = _ioctl_fd(sock, request)
    finally:
        sock.close()
    return 0, inode, err


def sk_ns(ctx):
    """criu: check_sk_netns() -> kdat.sk_ns (kerndat_socket_netns(), in
    root_only_init): ioctl(SIOCGSKNS) on an AF_UNIX datagram socket must
    return a netns fd (it needs CAP_NET_ADMIN over the socket's netns).

    criu skips it under --unprivileged and reads false; so does this probe,
    with the kernel's live answer in evidence.
    """
    sock_err, inode, err = _unix_dgram_ioctl(SIOCGSKNS)
    evidence = {'ioctl': 'SIOCGSKNS'}
    if sock_err:
        evidence['socket_errno_name'] = R.errno_name(sock_err)
    else:
        evidence.update({'netns_inode': inode} if inode is not None else R.errno_evidence(err))
    if ctx.unprivileged:
        evidence['live'] = inode is not None
        return R.not_probed(UNPRIVILEGED_SKIP % 'sk_ns', evidence=evidence)
    if sock_err:
        return _kerndat_abort('net: Unable to create socket', sock_err)
    if inode is None:
        return R.unsupported('net: Unable to get socket network namespace', evidence=evidence)
    return R.supported(evidence)


def sk_unix_file(ctx):
    """criu: check_sk_unix_file() -> kdat.sk_unix_file
    (kerndat_socket_unix_file(), in root_only_init): ioctl(SIOCUNIXFILE) on
    an unbound AF_UNIX datagram socket.  An fd, or ENOENT (no file behind an
    unbound socket), means supported; EPERM (no CAP_NET_ADMIN), ENOTTY or
    EINVAL (old kernel) mean unsupported.

    criu skips it under --unprivileged and reads false; so does this probe,
    with the kernel's live answer in evidence.
    """
    sock_err, inode, err = _unix_dgram_ioctl(SIOCUNIXFILE)
    works = not sock_err and (inode is not None or err == errno.ENOENT)
    evidence = {'ioctl': 'SIOCUNIXFILE'}
    if sock_err:
        evidence['socket_errno_name'] = R.errno_name(sock_err)
    else:
        evidence.update({'file_inode': inode} if inode is not None else R.errno_evidence(err))
    if ctx.unprivileged:
        evidence['live'] = works
        return R.not_probed(UNPRIVILEGED_SKIP % 'sk_unix_file', evidence=evidence)
    if sock_err:
        return _kerndat_abort('unix: Unable to create socket', sock_err)
    if not works:
        return R.unsupported(R.perror('unix: Unable to open a socket file', err), evidence=evidence)
    return R.supported(evidence)
