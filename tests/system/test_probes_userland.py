# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""System tests of the userland probes (criu.check): external_net_ns,
nftables, has_ipt_legacy.

They run the real probe functions against the tools installed here and
check the answers against facts gathered independently (the tools' own
output, the criu binary's bytes, the dynamic linker's view of libnftables).
Where the decision logic needs a userland this machine does not have (an
old criu, iptables without a legacy backend), small stand-in executables in
a private PATH play those tools: they are userland fixtures, not kernel
fakes.
"""

import ctypes.util
import os
import shutil
import struct
import subprocess
import tempfile

import pytest

import leftovers
import sbinless

from conftest import NOBODY, become_user, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _probes_userland as U

pytestmark = requires_root

PROBES = ('external_net_ns', 'nftables', 'has_ipt_legacy')
CONTEXTS = ({}, {'as_user': NOBODY, 'unprivileged': True}, {'userns': True})


@pytest.fixture
def bindir():
    path = tempfile.mkdtemp(prefix='criu-check-test-')
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def _tool(bindir, name, output, code=0):
    """A stand-in executable printing ``output`` and exiting ``code``."""
    path = os.path.join(bindir, name)
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nprintf \'%%s\\n\' "%s"\nexit %d\n' % (output, code))
    os.chmod(path, 0o755)
    return path


def _probe_with_path(func, path, then=None):
    """Run a probe function in a child whose PATH is only ``path`` and whose
    sbin directories are empty (in a mount namespace of its own), after
    ``then()`` when given."""
    def body():
        os.environ['PATH'] = path
        sbinless.hide_sbin()
        if then:
            then()
        return func(_context.ProbeContext())
    return in_child(body)


def _no_proc_sys_net(mode='0755', uid=None):
    """For ``then``: an empty tmpfs over /proc/sys/net, as a kernel booted
    with ipv6.disable=1 has no /proc/sys/net/ipv6 (mode 0700 and a plain
    user: it cannot be looked into); the mount dies with the child."""
    def then():
        sbinless._mount('criu-check-no-net', '/proc/sys/net', 'tmpfs', 0, 'mode=' + mode)
        if uid is not None:
            become_user(uid, uid)
    return then


# ---------------------------------------------------------------- has_ipt_legacy

def _legacy_found(names):
    """Which of names runs and does not report nf_tables: as the test sees it."""
    for name in names:
        proc = subprocess.run([name, '-V'], capture_output=True, check=False)
        if proc.returncode == 0 and b'nf_tables' not in proc.stdout[:99]:
            return name
    return None


@pytest.mark.parametrize('context', CONTEXTS)
def test_has_ipt_legacy_matches_the_tools(context):
    v4 = _legacy_found(U.IPT_BINS[False])
    v6 = _legacy_found(U.IPT_BINS[True]) if os.path.exists('/proc/sys/net/ipv6') else 'n/a'
    res = run_probe('has_ipt_legacy', **context)
    assert res['status'] == ('supported' if v4 and v6 else 'unsupported'), res
    if v4:
        assert res['evidence']['iptables_legacy_bin'] == v4
        assert res['evidence']['iptables'][0]['binary'] == 'iptables-save'


def test_has_ipt_legacy_decisions(bindir):
    nft, legacy = 'iptables-save v1.8.9 (nf_tables)', 'iptables-save v1.8.9 (legacy)'
    # Only nf_tables tools: no legacy binary for IPv4.
    _tool(bindir, 'iptables-save', nft)
    res = _probe_with_path(U.has_ipt_legacy, bindir)
    assert res['status'] == 'unsupported'
    assert res['message'] == "Couldn't find iptables version which is using iptables legacy API"
    assert [t['binary'] for t in res['evidence']['iptables']] == ['iptables-save', 'iptables-legacy-save']
    assert res['evidence']['iptables'][1]['error'] == 'iptables-legacy-save -V failed'
    # A legacy tool for IPv4 and an nf_tables one for IPv6.
    _tool(bindir, 'iptables-legacy-save', legacy)
    _tool(bindir, 'ip6tables-save', nft)
    res = _probe_with_path(U.has_ipt_legacy, bindir)
    if not os.path.exists('/proc/sys/net/ipv6'):
        assert res['status'] == 'supported'
        return
    assert res['status'] == 'unsupported'
    assert res['message'] == "Couldn't find ip6tables version which is using iptables legacy API"
    # A default tool that fails is skipped like an nf_tables one.
    _tool(bindir, 'ip6tables-save', legacy, code=1)
    _tool(bindir, 'ip6tables-legacy-save', legacy)
    res = _probe_with_path(U.has_ipt_legacy, bindir)
    assert res['status'] == 'supported'
    assert res['evidence']['ip6tables_legacy_bin'] == 'ip6tables-legacy-save'


def test_has_ipt_legacy_reads_99_bytes_like_criu(bindir):
    # criu reads the version into char[100]: "nf_tables" past byte 99 is unseen.
    _tool(bindir, 'iptables-save', 'v' * 99 + ' (nf_tables)')
    _tool(bindir, 'ip6tables-save', 'v' * 85 + ' (nf_tables)')  # seen: ends at byte 97
    _tool(bindir, 'ip6tables-legacy-save', 'legacy')
    res = _probe_with_path(U.has_ipt_legacy, bindir)
    assert res['evidence']['iptables_legacy_bin'] == 'iptables-save'
    if os.path.exists('/proc/sys/net/ipv6'):
        assert res['evidence']['ip6tables_legacy_bin'] == 'ip6tables-legacy-save'


@pytest.mark.parametrize('prefix, seen', [(90, True), (91, False)])
def test_has_ipt_legacy_nf_tables_at_byte_99(bindir, prefix, seen):
    """criu's one read() of "-V" fills 99 bytes of buf[100]: "nf_tables"
    ending at byte 99 is seen, one byte further it is not."""
    _tool(bindir, 'iptables-save', 'v' * prefix + 'nf_tables')
    _tool(bindir, 'iptables-legacy-save', 'legacy')
    res = _probe_with_path(U.has_ipt_legacy, bindir)
    assert res['evidence']['iptables_legacy_bin'] == ('iptables-legacy-save' if seen else 'iptables-save'), res


def test_has_ipt_legacy_without_ipv6(bindir):
    """No /proc/sys/net/ipv6 (criu: kdat.ipv6 false): ip6tables is not asked."""
    _tool(bindir, 'iptables-legacy-save', 'legacy')
    res = _probe_with_path(U.has_ipt_legacy, bindir, _no_proc_sys_net())
    assert res['status'] == 'supported', res
    assert res['evidence']['ipv6'] is False and 'ip6tables' not in res['evidence']


def test_has_ipt_legacy_ipv6_unreadable_is_unknown(bindir):
    """/proc/sys/net/ipv6 that cannot be looked up (EACCES): criu's
    get_ipv6() fails, and with it kerndat and criu check."""
    _tool(bindir, 'iptables-legacy-save', 'legacy')
    res = _probe_with_path(U.has_ipt_legacy, bindir, _no_proc_sys_net('0700', NOBODY))
    assert res['status'] == 'unknown', res
    assert res['message'] == 'Unable to access /proc/sys/net/ipv6: Permission denied'


# ---------------------------------------------------------------- nftables

@pytest.mark.parametrize('context', CONTEXTS)
def test_nftables_matches_the_installed_userland(context):
    criu = _context.which('criu')
    lib = ctypes.util.find_library('nftables')
    expected = bool(lib)
    if criu:
        with open(criu, 'rb') as f:
            expected = expected and b'libnftables.so.' in f.read()
    res = run_probe('nftables', **context)
    assert res['status'] == ('supported' if expected else 'unsupported'), res
    assert res['evidence']['libnftables'] == lib


def test_nftables_criu_built_without_it(bindir):
    """An ELF criu that does not link libnftables (here: true(1) under criu's name)."""
    true = shutil.which('true')
    with open(true, 'rb') as f:
        assert b'libnftables.so.' not in f.read()
    shutil.copy(true, os.path.join(bindir, 'criu'))
    res = _probe_with_path(U.nftables, bindir)
    assert res['status'] == 'unsupported'
    assert res['message'] == 'CRIU was built without nftables support - nftables rules will not be preserved during C/R'
    assert res['evidence']['criu_links_libnftables'] is False
    assert 'built with libnftables' in res['fix']


def test_nftables_criu_unreadable_is_unknown(bindir):
    """A criu the user may run but not read (mode 0711): how it was built
    cannot be told."""
    criu = os.path.join(bindir, 'criu')
    shutil.copy(shutil.which('true'), criu)
    os.chmod(criu, 0o711)
    res = _probe_with_path(U.nftables, bindir, lambda: become_user(NOBODY, NOBODY))
    assert res['status'] == 'unknown', res
    assert res['message'] == 'cannot read %s: Permission denied' % criu


def test_nftables_criu_wrapper_script_is_unknown(bindir):
    """A criu on PATH that is a script running the real criu: its bytes say
    nothing of how that criu was built."""
    real = _context.which('criu')
    wrapper = os.path.join(bindir, 'criu')
    with open(wrapper, 'w') as f:
        f.write('#!/bin/sh\nexec %s "$@"\n' % (real or '/usr/sbin/criu'))
    os.chmod(wrapper, 0o755)
    res = _probe_with_path(U.nftables, bindir)
    assert res['status'] == 'unknown', res
    assert res['message'].startswith('%s is not an ELF executable (a wrapper script?)' % wrapper)
    assert res['evidence']['criu_links_libnftables'] is None
    assert wrapper in res['fix']


def test_nftables_static_criu_is_unknown(bindir):
    """A statically linked criu (here: Debian's ldconfig, static-pie, under criu's name) loads no library: built
    with libnftables or not, no DT_NEEDED names it, so "built without" would be a guess."""
    static = '/sbin/ldconfig'
    ldd = subprocess.run(['ldd', static], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    if b'statically linked' not in ldd.stdout:
        pytest.skip('%s is not statically linked here: %r' % (static, ldd.stdout[:200]))
    shutil.copy(static, os.path.join(bindir, 'criu'))
    res = _probe_with_path(U.nftables, bindir)
    assert res['status'] == 'unknown', res
    assert res['message'].startswith('%s/criu is statically linked (it loads no library): ' % bindir), res
    assert res['evidence']['criu_links_libnftables'] is None
    assert 'criu check --feature nftables' in res['fix']


def test_nftables_truncated_elf_criu_is_unknown(bindir):
    """A criu whose ELF header points past its end (a truncated copy) is not read as a dynamic binary without
    libnftables."""
    with open(shutil.which('true'), 'rb') as f:
        head = f.read(64)
    with open(os.path.join(bindir, 'criu'), 'wb') as f:
        f.write(head)
    os.chmod(os.path.join(bindir, 'criu'), 0o755)
    res = _probe_with_path(U.nftables, bindir)
    assert res['status'] == 'unknown', res
    assert 'program headers cannot be read' in res['message']


def _elf(ei_class, order, types):
    """The smallest ELF image whose program headers have ``types``: what
    a 32-bit (armv7) or big-endian (s390x) criu would start with."""
    phoff = 0x40
    header = bytearray(phoff)
    header[:6] = b'\x7fELF' + bytes(bytearray([ei_class, 1 if order == '<' else 2]))
    phentsize = 0x20 if ei_class == 1 else 0x38
    if ei_class == 1:
        struct.pack_into(order + 'I', header, 0x1c, phoff)
        struct.pack_into(order + 'HH', header, 0x2a, phentsize, len(types))
    else:
        struct.pack_into(order + 'Q', header, 0x20, phoff)
        struct.pack_into(order + 'HH', header, 0x36, phentsize, len(types))
    return bytes(header) + b''.join(struct.pack(order + 'I', t) + bytes(phentsize - 4) for t in types)


@pytest.mark.parametrize('ei_class', [1, 2])
@pytest.mark.parametrize('order', ['<', '>'])
def test_elf_interpreter_read_for_every_class_and_byte_order(ei_class, order):
    """PT_LOAD 1, PT_DYNAMIC 2, PT_INTERP 3: a dynamic binary is told from a static one whatever its class and
    byte order; headers that point past the end are no answer."""
    assert U._has_interpreter(_elf(ei_class, order, [6, 3, 1, 2])) is True
    assert U._has_interpreter(_elf(ei_class, order, [1, 2])) is False
    assert U._has_interpreter(_elf(ei_class, order, [1, 3])[:0x50]) is None
    assert U._has_interpreter(b'\x7fELF\x03\x01' + bytes(58)) is None       # no such EI_CLASS


def test_nftables_without_criu_asks_for_the_library(bindir):
    res = _probe_with_path(U.nftables, bindir)
    assert res['evidence']['criu'] is None
    assert res['status'] == ('supported' if ctypes.util.find_library('nftables') else 'unsupported')


# ---------------------------------------------------------------- external_net_ns

@pytest.mark.parametrize('context', CONTEXTS)
def test_external_net_ns_with_installed_criu(context):
    res = run_probe('external_net_ns', **context)
    criu = _context.which('criu')
    if not criu:
        assert res['status'] == 'supported' and res['evidence']['criu'] is None
        return
    out = subprocess.run([criu, '--version'], capture_output=True, text=True, check=False).stdout
    version = tuple(int(v) for v in out.split('Version:')[1].split()[0].split('.')[:2])
    assert res['status'] == ('supported' if version >= (3, 9) else 'unsupported'), res
    assert res['evidence']['criu_version'].startswith('%d.%d' % version)


@pytest.mark.parametrize('output, code, status', [
    ('Version: 3.8.1', 0, 'unsupported'),
    ('Version: 3.9', 0, 'supported'),
    ('Version: 4.1.1', 0, 'supported'),
    ('criu: something else', 1, 'unknown'),
])
def test_external_net_ns_decisions(bindir, output, code, status):
    _tool(bindir, 'criu', output, code)
    res = _probe_with_path(U.external_net_ns, bindir)
    assert res['status'] == status, res
    assert res.get('fix') == ('install criu >= 3.9' if status == 'unsupported' else None), res


def test_external_net_ns_without_criu(bindir):
    res = _probe_with_path(U.external_net_ns, bindir)
    assert res['status'] == 'supported'
    assert res['evidence']['criu'] is None and 'no criu binary' in res['evidence']['note']


# ---------------------------------------------------------------- isolation
# (Debian's python3 giving the same answers: tests/system/test_python_environments.py)

def test_probes_leave_nothing_behind():
    def body():
        leftovers.quiet_scratch()
        before = leftovers.snapshot()
        ctx = _context.ProbeContext()
        for fn in (U.external_net_ns, U.nftables, U.has_ipt_legacy):
            fn(ctx)
        return before, leftovers.snapshot()
    before, after = in_child(body)
    assert before == after
    assert leftovers.host_traces() == []
