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


def _links_libnftables(binary):
    """Whether an ELF binary names libnftables among its libraries (its
    DT_NEEDED string lives in .dynstr); None when the file is no ELF (a
    wrapper script, say), whose bytes say nothing of the criu it runs."""
    with open(binary, 'rb') as f:
        data = f.read()
    if not data.startswith(ELF_MAGIC):
        return None
    return b'libnftables.so.' in data


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
            evidence['criu_links_libnftables'] = linked = _links_libnftables(criu)
        except OSError as exc:
            evidence.update(R.errno_evidence(exc.errno))
            return R.unknown(R.perror('cannot read %s' % criu, exc.errno), evidence=evidence)
        if linked is None:
            # Following a wrapper to the criu it runs would mean reading shell: not reliable.
            return R.unknown('%s is not an ELF executable (a wrapper script?): whether the criu it runs was built '
                             'with libnftables cannot be read from it' % criu, evidence=evidence,
                             fix='run "criu check --feature nftables" through %s, or put the criu binary itself '
                                 'first on PATH' % criu)
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
