# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of the installed userland tools (iptables, nftables, criu itself).

PRIVATE to the criu.check collection: not a public API.

These three ``--feature`` checks of criu ask no system call: two are
properties of the criu binary (external_net_ns, nftables) and one runs
iptables tools (has_ipt_legacy).  They describe the userland installed on
the host: the criu binary when there is one, and the tools and libraries
criu would use.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import struct

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _deps
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils import _result as R

IPT_VERSION_BYTES = 99          # criu reads "-V" output into char buf[100]

# criu: get_legacy_iptables_bin(): the default tool, then the legacy one.
IPT_BINS = {False: ('iptables-save', 'iptables-legacy-save'),
            True: ('ip6tables-save', 'ip6tables-legacy-save')}
MSG_IPT = "Couldn't find %s version which is using iptables legacy API"
MSG_NFT = 'CRIU was built without nftables support - nftables rules will not be preserved during C/R'
EXTERNAL_NET_NS_SINCE = (3, 9)


def _run(ctx, argv):
    """Run a tool through the caller's runner (found in PATH, as execvp
    does); ``(exit code, stdout, stderr)``, 127 when it is not installed.
    A tool outliving a killed probe dies with the worker's process group."""
    return ctx.run(argv)


# ---------------------------------------------------------------- external_net_ns

def _criu_version(ctx, criu):
    """``(exit code, the version it prints or None, the output)`` of ``criu --version``."""
    code, out, err = _run(ctx, [criu, '--version'])
    return code, _installed_criu.parse_version(out)[0], (out + err)[:200]


def external_net_ns(ctx):
    """criu: check_external_net_ns(), a constant "supported" in every criu
    since 3.9 (a marker for clients that cannot compare versions).

    Decision: with a criu binary installed, the answer is that binary's:
    supported from version 3.9 on (``criu --version``), unsupported before,
    unknown when its version cannot be read.  Without criu there is no
    binary to ask; the result is then criu's constant ("supported"), since
    the feature needs nothing of the kernel beyond network namespaces and
    every criu a distribution ships today is newer than 3.9; evidence says
    that no criu was found.
    """
    criu = _context.which('criu')
    evidence = {'criu': criu, 'net_ns': os.path.exists('/proc/self/ns/net')}
    if not criu:
        evidence['note'] = 'no criu binary found: criu >= 3.9 always reports this feature'
        return R.supported(evidence=evidence)
    code, version, text = _criu_version(ctx, criu)
    evidence.update({'criu_version': version, 'output': text.strip()})
    number = _installed_criu.version_tuple(version)
    if number is None:
        return R.unknown('cannot read the version of %s (criu --version exited %s)' % (criu, code),
                         evidence=evidence)
    if number[:2] >= EXTERNAL_NET_NS_SINCE:
        return R.supported(evidence=evidence)
    return R.unsupported('criu %s predates external network namespace support (criu >= 3.9)' % version,
                         evidence=evidence, fix='install criu >= 3.9')


# ---------------------------------------------------------------- nftables

ELF_MAGIC = b'\x7fELF'
PT_INTERP = 3
# (e_phoff format and offset, offset of e_phentsize and e_phnum) by e_ident[EI_CLASS]
ELF_PHDR_FIELDS = {1: ('I', 0x1c, 0x2a), 2: ('Q', 0x20, 0x36)}


def _has_interpreter(data):
    """Whether the ELF image ``data`` names a dynamic linker (a PT_INTERP
    program header), None when its headers cannot be read.  Without one the
    binary is statically linked (static or static-pie) and loads no
    library: whatever it was built with left no name behind."""
    ident = bytearray(data[4:6])            # EI_CLASS, EI_DATA
    fields = ELF_PHDR_FIELDS.get(ident[0]) if len(ident) == 2 else None
    if fields is None:
        return None
    order = '<' if ident[1] == 1 else '>'
    phoff_format, phoff_at, sizes_at = fields
    try:
        phoff = struct.unpack_from(order + phoff_format, data, phoff_at)[0]
        phentsize, phnum = struct.unpack_from(order + 'HH', data, sizes_at)
        return any(struct.unpack_from(order + 'I', data, phoff + i * phentsize)[0] == PT_INTERP
                   for i in range(phnum))
    except struct.error:
        return None


def _links_libnftables(binary):
    """(whether an ELF binary names libnftables among the libraries it
    loads - its DT_NEEDED string lives in .dynstr -, why that cannot be
    told from its bytes or None).  A wrapper script says nothing of the
    criu it runs; a statically linked criu names no library."""
    with open(binary, 'rb') as f:
        data = f.read()
    if not data.startswith(ELF_MAGIC):
        return None, 'is not an ELF executable (a wrapper script?)'
    dynamic = _has_interpreter(data)
    if dynamic is None:
        return None, 'is an ELF file whose program headers cannot be read'
    if not dynamic:
        return None, 'is statically linked (it loads no library)'
    return b'libnftables.so.' in data, None


def nftables(ctx):
    """criu: check_nftables_cr(), a build-time answer: was criu compiled
    with libnftables (CONFIG_HAS_NFTABLES_LIB_API_0/1)?

    With a criu binary installed, the answer is that binary's: does it link
    libnftables, and can the library be found?  Without criu, the answer is
    whether libnftables is installed for a criu built with it to use.  nft
    and python3-nftables (what the network_lock_nftables probe drives) are
    recorded in evidence.
    """
    criu = _context.which('criu')
    lib = _deps.shared_library('nftables')
    evidence = {'criu': criu, 'libnftables': lib,
                'nft': _context.which('nft')}
    if criu:
        try:
            linked, unreadable = _links_libnftables(criu)
        except OSError as exc:
            evidence.update(R.errno_evidence(exc.errno))
            return R.unknown(R.perror('cannot read %s' % criu, exc.errno), evidence=evidence)
        evidence['criu_links_libnftables'] = linked
        if unreadable:
            # Following a wrapper to the criu it runs would mean reading shell, and a static criu keeps no
            # library's name: criu itself is the one to ask.
            return R.unknown('%s %s: whether criu was built with libnftables cannot be read from its bytes'
                             % (criu, unreadable), evidence=evidence,
                             fix='run "criu check --feature nftables" through %s, or put a dynamically linked criu '
                                 'binary first on PATH' % criu)
        if not linked:
            return R.unsupported(MSG_NFT, evidence=evidence,
                                 fix='install a criu built with libnftables (Debian 13\'s criu package is)')
    if lib:
        return R.supported(evidence=evidence)
    return R.unsupported(MSG_NFT, evidence=evidence,
                         fix='install libnftables (Debian/Ubuntu: libnftables1; Fedora/RHEL: nftables)')


# ---------------------------------------------------------------- has_ipt_legacy

def _is_iptables_nft(ctx, binary):
    """criu: is_iptables_nft(): 1 when "binary -V" names the nf_tables
    backend, 0 when not, -1 when it fails; plus what was seen."""
    code, out, err = _run(ctx, [binary, '-V'])
    seen = {'binary': binary, 'exit': code, 'output': out[:IPT_VERSION_BYTES].strip()}
    if code != 0:
        seen['error'] = '%s -V failed' % binary
        if err:
            seen['stderr'] = err.strip()[:200]
        return -1, seen
    return (1 if 'nf_tables' in out[:IPT_VERSION_BYTES] else 0), seen


def _legacy_bin(ctx, ipv6):
    """criu: get_legacy_iptables_bin(ipv6, false): the first of
    (ip6)iptables-save and (ip6)iptables-legacy-save that runs and does not
    use nf_tables, or None; plus what each attempt saw."""
    tried = []
    for binary in IPT_BINS[ipv6]:
        ret, seen = _is_iptables_nft(ctx, binary)
        tried.append(seen)
        if ret == 0:
            return binary, tried
    return None, tried


def has_ipt_legacy(ctx):
    """criu: check_ipt_legacy().

    Runs ``iptables-save -V`` exactly as criu does (found through PATH, the
    first 99 bytes of stdout): a tool whose output names nf_tables, or that
    fails, sends criu on to ``iptables-legacy-save -V``.  IPv6 is checked
    the same way only when /proc/sys/net/ipv6 exists (criu: kdat.ipv6).
    """
    evidence = {}
    v4, evidence['iptables'] = _legacy_bin(ctx, False)
    if not v4:
        return R.unsupported(MSG_IPT % 'iptables', evidence=evidence)
    try:
        os.stat('/proc/sys/net/ipv6')
        ipv6 = True
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            # criu: get_ipv6() fails, and with it kerndat and criu check.
            return R.unknown(R.perror('Unable to access /proc/sys/net/ipv6', exc.errno),
                             evidence=R.errno_evidence(exc.errno))
        ipv6 = False
    evidence.update({'ipv6': ipv6, 'iptables_legacy_bin': v4})
    if ipv6:
        v6, evidence['ip6tables'] = _legacy_bin(ctx, True)
        if not v6:
            return R.unsupported(MSG_IPT % 'ip6tables', evidence=evidence)
        evidence['ip6tables_legacy_bin'] = v6
    return R.supported(evidence=evidence)
