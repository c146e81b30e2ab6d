# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of rtnetlink, network namespaces and tun.

PRIVATE to the criu.check collection: not a public API.

rtnetlink messages are built and parsed with pyroute2's low-level message
classes (``ifinfmsg``, ``nsidmsg``, ``rtgenmsg``, ``nlmsgerr``) and sent on a
plain ``socket.AF_NETLINK`` socket.  That part of pyroute2 encodes the same
bytes in 0.7.x and 0.9.x, whereas its socket and IPRoute layers changed
(0.9 is asyncio-based); the plain socket also lets the probes use criu's
own sequence number, flags and attribute order.  pyroute2 encodes names
NUL-terminated where criu sends them bare; the kernel's NLA_STRING policy
reads both the same.

Import cost: a plain import of any path (``pyroute2``, ``pyroute2.netlink``,
``...rtnl.ifinfmsg``) runs ``pyroute2/__init__``, which loads the whole
library whichever submodule is named.  ``_deps.load()`` registers the
package without its ``__init__``; then only the five modules used here
(netlink, rtnl, ifinfmsg, nsidmsg, rtgenmsg) load (figures:
docs/architecture.md, "Costs").  They are imported once per
worker, before any fork.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import importlib.util
import os
import socket
import stat
import struct

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _child
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _probes_mounts as mounts
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _syscall
from ansible_collections.criu.check.plugins.module_utils._syscall import SIOCGSKNS

TUN_PATH = '/dev/net/tun'
TUNSETIFINDEX = 0x400454da      # _IOW('T', 218, unsigned int)

NETLINK_ROUTE = 0
CR_NLMSG_SEQ = 24680            # criu's netlink sequence number
NLMSG_HDR = struct.Struct('=IHHII')
RECV_BUF = 16384                # criu's do_rtnl_req() buffer
IFLA_NEW_IFINDEX_NONE = 0xffffffff  # s32 -1; pyroute2 declares the attribute uint32

MSG_TUN_OPEN = "tun: Can't check tun support"
MSG_TUN_IOCTL = 'tun: No proper support for tun dump/restore'
MSG_TUN_NS_OPEN = 'tun: Unable to create tun'
MSG_TUN_NS_IOCTL = 'net: Unable to get tun network namespace'
MSG_NSID = "NSID isn't supported"
MSG_NEWIFINDEX = "IFLA_NEW_IFINDEX isn't supported"
MSG_NFT = 'Nftables based locking requires libnftables and set concatenations support'
NOT_PROBED = ' (criu does not probe it in --unprivileged mode)'

NFT_CMDS = ('create table inet CRIU',
            'add set inet CRIU conn { type ipv4_addr . inet_service ;}',
            'delete table inet CRIU')


# ---------------------------------------------------------------- tun

def _tun_setifindex():
    """open(/dev/net/tun, O_RDWR) and TUNSETIFINDEX 13 on the unattached fd:
    that only stores the index in the file, no device is made.
    Return (open errno, ioctl errno); 0 means success."""
    try:
        fd = os.open(TUN_PATH, os.O_RDWR)
    except OSError as exc:
        return exc.errno, None
    try:
        fcntl.ioctl(fd, TUNSETIFINDEX, struct.pack('I', 13))
        return 0, 0
    except OSError as exc:
        return 0, exc.errno
    finally:
        os.close(fd)


def _device_cgroup():
    """This process's cgroup that rules its devices: the v1 ``devices``
    controller's (``devices:/PATH``), else the v2 one (its BPF programs)."""
    try:
        with open('/proc/self/cgroup') as f:
            lines = [line.rstrip('\n').split(':', 2) for line in f if line.count(':') >= 2]
    except OSError:
        return None
    for dummy, controllers, path in lines:
        if 'devices' in controllers.split(','):
            return 'devices:' + path
    unified = [path for dummy, controllers, path in lines if not controllers]
    return unified[0] if unified else None


def _open_failed(err, **extra):
    """The evidence of an open of /dev/net/tun that failed with ``err``:
    where the node's permissions refused it (EACCES), its mode and owner;
    where the device cgroup did (EPERM, its answer for a node it does not
    allow; a file's mode or an LSM says EACCES), that cgroup."""
    evidence = R.errno_evidence(err, **extra)
    if err == errno.EPERM:
        evidence['device_cgroup'] = _device_cgroup()
    if err == errno.EACCES:
        try:
            node = os.stat(TUN_PATH)
        except OSError:
            return evidence
        evidence.update(node_mode='%04o' % stat.S_IMODE(node.st_mode), node_uid=node.st_uid, node_gid=node.st_gid)
    return evidence


def _tun_check(no_tun_ok):
    """criu: check_tun_cr(no_tun_err)."""
    open_err, ioctl_err = _tun_setifindex()
    if open_err:
        evidence = _open_failed(open_err, device_exists=os.path.exists(TUN_PATH), tun_usable=False)
        message = R.perror(MSG_TUN_OPEN, open_err)
        if no_tun_ok:
            evidence['criu_quirk'] = ('criu --extra counts a /dev/net/tun it cannot open as success '
                                      '(C/R works, only not for tun); --feature tun fails here')
            return R.supported(evidence=evidence, message=message)
        return R.unsupported(message, evidence=evidence)
    if ioctl_err:
        return R.unsupported(R.perror(MSG_TUN_IOCTL, ioctl_err), evidence=R.errno_evidence(ioctl_err))
    return R.supported(evidence={'TUNSETIFINDEX': 'ok', 'tun_usable': True})


def tun_cr(ctx):
    """criu: check_tun_cr(0), the --extra variant.

    When /dev/net/tun cannot be opened criu still prints its error but
    returns success, because C/R works, only not for tun.  This probe copies
    that verdict (``supported``, criu's message in ``message``) and records
    the truth in evidence (``tun_usable: false``).
    """
    return _tun_check(True)


def tun(ctx):
    """criu: check_tun() = check_tun_cr(-1): fails when /dev/net/tun cannot
    be opened."""
    return _tun_check(False)


def tun_ns(ctx):
    """criu: check_tun_netns() / check_tun_netns_cr() and check_has_netns_ioc().

    Live in every mode: SIOCGSKNS on an unattached tun fd, which needs
    CAP_NET_ADMIN over the tun file's network namespace.
    """
    try:
        fd = os.open(TUN_PATH, os.O_RDONLY)
    except OSError as exc:
        return R.unsupported(R.perror(MSG_TUN_NS_OPEN, exc.errno), evidence=_open_failed(exc.errno))
    try:
        ns_fd = fcntl.ioctl(fd, SIOCGSKNS)
    except OSError as exc:
        return R.unsupported(MSG_TUN_NS_IOCTL, evidence=R.errno_evidence(exc.errno, ioctl='SIOCGSKNS'))
    finally:
        os.close(fd)
    try:
        netns = os.fstat(ns_fd).st_ino
    finally:
        os.close(ns_fd)
    return R.supported(evidence={'SIOCGSKNS': 'ok', 'netns_inode': netns})


# ---------------------------------------------------------------- rtnetlink

class _Rtnl:
    """The pyroute2 names the probes use, imported once per worker."""

    def __init__(self):
        netlink = _deps.load('pyroute2.netlink')
        rtnl = _deps.load('pyroute2.netlink.rtnl')
        self.ifinfmsg = _deps.load('pyroute2.netlink.rtnl.ifinfmsg').ifinfmsg
        self.nsidmsg = _deps.load('pyroute2.netlink.rtnl.nsidmsg').nsidmsg
        self.rtgenmsg = _deps.load('pyroute2.netlink.rtnl.rtgenmsg').rtgenmsg
        self.nlmsgerr = netlink.nlmsgerr
        for name in ('NLM_F_REQUEST', 'NLM_F_ACK', 'NLM_F_CREATE', 'NLM_F_ROOT', 'NLM_F_MATCH',
                     'NLMSG_ERROR', 'NLMSG_DONE'):
            setattr(self, name, getattr(netlink, name))
        for name in ('RTM_NEWLINK', 'RTM_GETLINK', 'RTM_SETLINK', 'RTM_GETNSID'):
            setattr(self, name, getattr(rtnl, name))


_RTNL = []


def _rtnl():
    if not _RTNL:
        _RTNL.append(_Rtnl())
    return _RTNL[0]


def _rtnl_socket(timeout):
    """A NETLINK_ROUTE socket whose every wait ends after ``timeout`` s (what
    is left of the probe's time; criu would block for ever)."""
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    sock.settimeout(timeout)
    return sock


class _RtnlCallFailed(Exception):
    """sendmsg() or recvmsg() on the rtnetlink socket failed (a seccomp
    profile or an LSM can refuse them): criu's do_rtnl_req() prints ``line``
    and returns -errno, without the request's error callback."""

    def __init__(self, err, line):
        Exception.__init__(self, line)
        self.errno = err
        self.line = line


def _rtnl_request(rt, sock, msg, reply_cls):
    """criu: do_rtnl_req().  Send ``msg`` (a pyroute2 message, flags set)
    with criu's sequence number and collect the replies: only messages with
    that sequence number count; NLMSG_ERROR ends it (0 = ACK), NLMSG_DONE
    ends a dump.  Return (decoded replies, error), error being 0 or the
    negative errno the kernel sent; _RtnlCallFailed when a call fails."""
    msg['header']['sequence_number'] = CR_NLMSG_SEQ
    msg.encode()
    try:
        sock.sendto(bytes(msg.data), (0, 0))
    except socket.timeout:
        raise
    except OSError as exc:
        raise _RtnlCallFailed(exc.errno, R.perror("Can't send request message", exc.errno))
    replies = []
    while True:
        try:
            data, _anc, flags, _addr = sock.recvmsg(RECV_BUF)
        except socket.timeout:
            raise
        except OSError as exc:
            raise _RtnlCallFailed(exc.errno, R.perror('Error receiving nl report', exc.errno))
        if flags & socket.MSG_TRUNC:
            return replies, -errno.EMSGSIZE
        if not data:
            return replies, 0
        offset = 0
        while offset + NLMSG_HDR.size <= len(data):
            length, kind, _flags, seq, _pid = NLMSG_HDR.unpack_from(data, offset)
            if length < NLMSG_HDR.size:
                return replies, -errno.EBADMSG
            chunk = data[offset:offset + length]
            offset += (length + 3) & ~3
            if seq != CR_NLMSG_SEQ:
                continue
            if kind == rt.NLMSG_DONE:
                err = struct.unpack_from('=i', chunk, NLMSG_HDR.size)[0] if length >= 20 else 0
                return replies, min(err, 0)
            if kind == rt.NLMSG_ERROR:
                ack = rt.nlmsgerr(chunk)
                ack.decode()
                return replies, ack['error']
            reply = reply_cls(chunk)
            reply.decode()
            replies.append(reply)


def _new(cls, kind, flags):
    msg = cls()
    msg['header']['type'] = kind
    msg['header']['flags'] = flags
    return msg


# ---------------------------------------------------------------- nsid

def nsid(ctx):
    """criu: kerndat_nsid() + check_nsid(), in every mode.

    RTM_GETNSID for our own pid (NETNSA_PID) on NETLINK_ROUTE: any NETNSA_NSID
    in the reply, -1 (not assigned) included, means the kernel has NSIDs.
    """
    rt = _rtnl()
    try:
        sock = _rtnl_socket(ctx.left())
    except OSError as exc:
        return R.unsupported(MSG_NSID, evidence=R.errno_evidence(exc.errno, criu_log=[
            R.perror("Unable to create a netlink socket: NSID can't be used.", exc.errno)]))
    try:
        msg = _new(rt.nsidmsg, rt.RTM_GETNSID, rt.NLM_F_REQUEST | rt.NLM_F_ACK)
        msg['attrs'] = [('NETNSA_PID', os.getpid())]
        replies, err = _rtnl_request(rt, sock, msg, rt.nsidmsg)
    except socket.timeout:
        return R.unknown('no answer from rtnetlink to RTM_GETNSID within the probe\'s %.1f s' % ctx.timeout)
    except _RtnlCallFailed as exc:
        # criu: net_get_nsid() fails, kerndat_nsid() says so and goes on
        return R.unsupported(MSG_NSID, evidence=R.errno_evidence(exc.errno, criu_log=[exc.line, 'NSID is not supported']))
    finally:
        sock.close()
    ids = [r.get_attr('NETNSA_NSID') for r in replies if r.get_attr('NETNSA_NSID') is not None]
    if err or not ids:
        evidence = {'criu_log': ['NSID is not supported'], 'replies': len(replies)}
        if err:
            evidence.update(R.errno_evidence(-err))
        return R.unsupported(MSG_NSID, evidence=evidence)
    # pyroute2 declares NETNSA_NSID uint32; the kernel sends an s32.
    value = ids[0] - (1 << 32) if ids[0] >= 1 << 31 else ids[0]
    return R.supported(evidence={'nsid': value, 'nsid_assigned': value != -1})


# ---------------------------------------------------------------- newifindex

def _newifindex_request(rt, timeout):
    """criu: kerndat_has_newifindex(): RTM_SETLINK for the absent device
    "criu-kdat" with IFLA_NEW_IFINDEX = -1.  A kernel that knows the
    attribute rejects the index (ERANGE) before looking up the device
    (ENODEV).  Return the kernel's error (negative) or an exception text."""
    sock = _rtnl_socket(timeout)
    try:
        msg = _new(rt.ifinfmsg, rt.RTM_SETLINK, rt.NLM_F_REQUEST | rt.NLM_F_ACK | rt.NLM_F_CREATE)
        msg['family'] = socket.AF_UNSPEC
        msg['attrs'] = [('IFLA_NEW_IFINDEX', IFLA_NEW_IFINDEX_NONE), ('IFLA_IFNAME', 'criu-kdat')]
        return _rtnl_request(rt, sock, msg, rt.ifinfmsg)[1]
    finally:
        sock.close()


def _newifindex_in_userns(rt, ctx):
    err = mounts.enter_user_namespace(_syscall.CLONE_NEWNET)
    if err:
        return {'unshare_errno_name': R.errno_name(err)}
    try:
        return {'netlink_error': _newifindex_request(rt, ctx.left())}
    except _RtnlCallFailed as exc:
        return {'failed': exc.line}
    except socket.timeout:
        return {'failed': 'no answer from rtnetlink to RTM_SETLINK'}
    except OSError as exc:
        return {'failed': R.perror('Unable to create a netlink socket', exc.errno)}


def newifindex(ctx):
    """criu: kerndat_has_newifindex() + check_newifindex().

    criu probes only when not --unprivileged or when CAP_NET_ADMIN is
    effective; otherwise it reads false.  Then, as evidence only, the
    request is repeated in a network namespace of a user namespace of our
    own, where it is allowed, to record what the kernel supports.
    """
    rt = _rtnl()
    if ctx.unprivileged and not ctx.has_cap(_caps.CAP_NET_ADMIN):
        live = _child.run_in_child(lambda: _newifindex_in_userns(rt, ctx), ctx.left(), evidence_only=True)
        live['kernel_answer'] = live.get('netlink_error') == -errno.ERANGE if 'netlink_error' in live else None
        return R.not_probed(MSG_NEWIFINDEX + ' (criu does not probe it in --unprivileged mode without '
                            'CAP_NET_ADMIN)', evidence=live)
    try:
        err = _newifindex_request(rt, ctx.left())
    except socket.timeout:
        return R.unknown('no answer from rtnetlink to RTM_SETLINK within the probe\'s %.1f s' % ctx.timeout)
    except _RtnlCallFailed as exc:
        # criu: do_rtnl_req() fails, and with it kerndat.
        return R.unsupported(exc.line, evidence=R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    except OSError as exc:
        # criu: kerndat fails, so criu check cannot run at all.
        return R.unsupported(R.perror('Unable to create a netlink socket', exc.errno),
                             evidence=R.errno_evidence(exc.errno, **R.KERNDAT_FATAL))
    evidence = R.errno_evidence(-err) if err else {'netlink_error': 0}
    if err == -errno.ERANGE:
        return R.supported(evidence=evidence)
    if err != -errno.ENODEV:
        evidence['criu_log'] = ['net: Unexpected error: %d(%s)' % (err, os.strerror(-err))]
    return R.unsupported(MSG_NEWIFINDEX, evidence=evidence)


# ---------------------------------------------------------------- link_nsid

def _veth_request(rt, peer_ns_fd):
    """criu's restore_one_link() with nsid_link_info(): a veth "veth"
    (index 10, MTU 1500) whose peer (index 11) goes to ``peer_ns_fd``."""
    msg = _new(rt.ifinfmsg, rt.RTM_NEWLINK, rt.NLM_F_REQUEST | rt.NLM_F_ACK | rt.NLM_F_CREATE)
    msg['family'] = socket.AF_PACKET
    msg['index'] = 10
    peer = {'index': 11, 'attrs': [('IFLA_NET_NS_FD', peer_ns_fd)]}
    msg['attrs'] = [('IFLA_IFNAME', 'veth'), ('IFLA_MTU', 1500),
                    ('IFLA_LINKINFO', {'attrs': [('IFLA_INFO_KIND', 'veth'),
                                                 ('IFLA_INFO_DATA', {'attrs': [('VETH_INFO_PEER', peer)]})]})]
    return msg


def _nl_error(err):
    """criu's default netlink error report (libnetlink.c)."""
    return '%d reported by netlink: %s' % (err, os.strerror(-err))


def _link_nsid_child(rt, ctx):
    """criu: the child of kerndat_link_nsid().  Two nested network
    namespaces, a veth pair across them, then an RTM_GETLINK dump: the child
    "exits" 0 when a link carries IFLA_LINK_NETNSID, 5 when none does, 1 on
    failure.  Everything it made dies with this forked child."""
    if ctx.unprivileged:
        err = mounts.enter_user_namespace()
        if err:
            return {'exit': 1, 'log': ['unshare(CLONE_NEWUSER): %s' % os.strerror(err)]}
    err = _syscall.unshare(_syscall.CLONE_NEWNET)
    if err:
        return {'exit': 1, 'log': [R.perror('net: Unable create a network namespace', err)]}
    ns_fd = os.open('/proc/self/ns/net', os.O_RDONLY)
    err = _syscall.unshare(_syscall.CLONE_NEWNET)
    if err:
        return {'exit': 1, 'log': [R.perror('net: Unable create a network namespace', err)]}
    try:
        sock = _rtnl_socket(ctx.left())
    except OSError as exc:
        return {'exit': 1, 'log': [R.perror('net: Unable to create a netlink socket', exc.errno)]}
    try:
        err = _rtnl_request(rt, sock, _veth_request(rt, ns_fd), rt.ifinfmsg)[1]
    except _RtnlCallFailed as exc:
        return {'exit': 1, 'log': [exc.line, 'net: Unable to create a veth pair: %d' % -exc.errno]}
    if err:
        return {'exit': 1, 'log': [_nl_error(err), 'net: Unable to create a veth pair: %d' % err]}
    dump = _new(rt.rtgenmsg, rt.RTM_GETLINK, rt.NLM_F_ROOT | rt.NLM_F_MATCH | rt.NLM_F_REQUEST)
    dump['rtgen_family'] = socket.AF_PACKET
    try:
        links, err = _rtnl_request(rt, sock, dump, rt.ifinfmsg)
    except _RtnlCallFailed as exc:
        return {'exit': 1, 'log': [exc.line]}
    if err:
        return {'exit': 1, 'log': [_nl_error(err)]}
    seen = dict((link.get_attr('IFLA_IFNAME'), link.get_attr('IFLA_LINK_NETNSID')) for link in links)
    return {'exit': 0 if any(v is not None for v in seen.values()) else 5, 'links': seen}


def link_nsid(ctx):
    """criu: kerndat_link_nsid() (root-only) + check_link_nsid().

    As criu does, a forked child unshares two network namespaces, creates a
    veth pair across them and looks for IFLA_LINK_NETNSID.  Under
    --unprivileged criu does not probe; the same test then runs in a user
    namespace of our own, as evidence only.
    """
    rt = _rtnl()
    res = _child.run_in_child(lambda: _link_nsid_child(rt, ctx), ctx.left(), evidence_only=ctx.unprivileged)
    if 'namespace_unchanged' in res:
        res = {'exit': 1, 'log': [res['namespace_unchanged']]}
    evidence = {'child_exit': res['exit'], 'links': res.get('links'), 'criu_log': res.get('log', [])}
    if ctx.unprivileged:
        evidence['kernel_answer'] = res['exit'] == 0 if res['exit'] != 1 else None
        return R.not_probed(MSG_NSID + NOT_PROBED, evidence=evidence)
    if res['exit'] != 0:
        evidence['criu_log'].append("net: NSID isn't reported for network links")
        return R.unsupported(MSG_NSID, evidence=evidence)
    return R.supported(evidence=evidence)


# ---------------------------------------------------------------- network_lock_nftables

def nft_backend():
    """How libnftables can be driven here: ('python3-nftables', None),
    ('nft', path) or (None, None).  Nothing is imported or run."""
    try:
        if importlib.util.find_spec('nftables') is not None:
            return 'python3-nftables', None
    except (ImportError, ValueError):
        pass
    nft = _context.which('nft')
    return ('nft', nft) if nft else (None, None)


def _nft_runner(ctx, backend, nft):
    """A function running one nft command: returns (rc, error text)."""
    if backend == 'python3-nftables':
        # Created after unshare, as criu calls nft_ctx_new() in the new netns.
        ctx = importlib.import_module('nftables').Nftables()
        return lambda cmd: ctx.cmd(cmd)[0::2]

    def run(cmd):
        # in this child's own network namespace; the tool dies with the
        # worker's process group if the probe is killed
        rc, dummy, err = ctx.run([nft, cmd])
        return rc, err.strip()[:300]
    return run


def _nft_concat_steps(run):
    """criu's three nft commands through ``run(cmd) -> (rc, error text)``.

    The three as one nftables transaction first: when it passes, so does
    each of criu's three (the same kernel checks, one tool run instead of
    three).  When it fails, nothing was applied, and criu's steps one by one
    say which failed and why.
    """
    if run('; '.join(NFT_CMDS))[0] == 0:
        return {'has': True, 'failed': None, 'error': None, 'transaction': True}
    rc, text = run(NFT_CMDS[0])
    if rc:
        return {'has': False, 'failed': NFT_CMDS[0], 'error': text, 'log': ["Can't create nftables table"]}
    rc, text = run(NFT_CMDS[1])
    run(NFT_CMDS[2])
    return {'has': rc == 0, 'failed': NFT_CMDS[1] if rc else None, 'error': text if rc else None}


def _nft_concat_child(ctx, backend, nft, userns):
    """criu: __has_nftables_concat(), run in criu's vfork-like child."""
    if userns:
        err = mounts.enter_user_namespace()
        if err:
            return {'unshare_errno': err, 'step': 'unshare(CLONE_NEWUSER)'}
    # A network namespace of its own: nothing can collide with the host's
    # tables, and everything vanishes with this child.
    err = _syscall.unshare(_syscall.CLONE_NEWNET)
    if err:
        return {'unshare_errno': err, 'step': 'unshare(CLONE_NEWNET)'}
    try:
        run = _nft_runner(ctx, backend, nft)
    except OSError as exc:
        # python3-nftables without a loadable libnftables: criu's
        # nft_ctx_new() would fail the same way.
        return {'has': False, 'error': str(exc), 'log': ['nft_ctx_new() failed']}
    return _nft_concat_steps(run)


def network_lock_nftables(ctx):
    """criu: kerndat_has_nftables_concat() (root-only) + check_network_lock_nftables().

    criu drives libnftables in a child that unshares its network namespace:
    create table inet CRIU, add a set with a concatenated key
    (ipv4_addr . inet_service), delete the table.  Here libnftables is
    driven through python3-nftables when it can be imported, else through
    the nft tool, in a forked child that unshares its network namespace.
    Whether the installed criu binary was built with libnftables is the
    ``nftables`` probe's question.  Under --unprivileged criu does not
    probe; the test then runs in a user namespace of our own, as evidence.
    """
    backend, nft = nft_backend()
    evidence = {'backend': backend, 'nft': nft}
    if ctx.unprivileged and backend is None:
        return R.not_probed(MSG_NFT + NOT_PROBED, evidence=evidence)
    if backend is None:
        # criu links libnftables itself; we need a userland to drive the
        # kernel with, and without one cannot tell: undecided, not missing.
        return R.unknown('neither python3-nftables nor the nft tool is installed: the kernel\'s nftables set '
                         'concatenation support cannot be probed', evidence=evidence,
                         fix='install python3-nftables or the nft tool (Debian/Ubuntu: nftables; '
                             'Fedora/RHEL: nftables, python3-nftables)')
    res = _child.run_in_child(lambda: _nft_concat_child(ctx, backend, nft, ctx.unprivileged), ctx.left(),
                              evidence_only=ctx.unprivileged)
    if 'unshare_errno' in res:
        evidence.update(R.errno_evidence(res['unshare_errno'], failed_step=res['step']))
    for key in ('failed', 'error', 'log', 'transaction', 'namespace_unchanged'):
        if res.get(key):
            evidence[key] = res[key]
    if ctx.unprivileged:
        evidence['kernel_answer'] = res.get('has')
        return R.not_probed(MSG_NFT + NOT_PROBED, evidence=evidence)
    if 'unshare_errno' in res:
        # criu: the child fails, and with it kerndat and the whole criu check
        # (criu/net.c kerndat_has_nftables_concat()); criu_kerndat_fails is
        # the flag _decide.kerndat_blockers() reads.
        evidence[R.KERNDAT_FLAG] = True
        return R.unsupported(R.perror('Unable create a network namespace', res['unshare_errno']),
                             evidence=evidence)
    if res['has']:
        return R.supported(evidence=evidence)
    return R.unsupported(MSG_NFT, evidence=evidence)
