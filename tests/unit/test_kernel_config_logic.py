# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kernel-config logic the kernel cannot vary on one machine: parsing,
the order of the places tried, the module lists, and every kind of
disagreement between a config and a probe's result.  The real files (this
host's /proc/config.gz, a Debian kernel package) and real probes are in
tests/system/test_kernel_config.py."""

import gzip
import os

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _kernel_config as K
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

REL = '6.1.0-57-amd64'
CONFIG_TEXT = '''#
# Automatically generated file; DO NOT EDIT.
# Linux/x86 6.1.192 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0"
CONFIG_CHECKPOINT_RESTORE=y
CONFIG_UNIX_DIAG=m
# CONFIG_MEM_SOFT_DIRTY is not set
CONFIG_HZ=250
CONFIG_LOCALVERSION=""
'''


def write(root, path, data, mode=0o644):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    os.chmod(full, mode)
    return full


# ---------------------------------------------------------------- parsing

@pytest.mark.parametrize('options', [None, ['CONFIG_CHECKPOINT_RESTORE', 'CONFIG_UNIX_DIAG', 'CONFIG_MEM_SOFT_DIRTY',
                                            'CONFIG_HZ', 'CONFIG_CC_VERSION_TEXT', 'CONFIG_LOCALVERSION']],
                         ids=['all', 'selected'])
def test_parse_values(options):
    values = K.parse(CONFIG_TEXT, options)
    assert values['CONFIG_CHECKPOINT_RESTORE'] == 'y'
    assert values['CONFIG_UNIX_DIAG'] == 'm'
    assert values['CONFIG_MEM_SOFT_DIRTY'] == 'n'
    assert values['CONFIG_HZ'] == '250'
    assert values['CONFIG_CC_VERSION_TEXT'] == 'gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0'
    assert values['CONFIG_LOCALVERSION'] == ''


def test_parse_selected_marks_absent_unset_and_keeps_only_those():
    values = K.parse(CONFIG_TEXT, ['CONFIG_UNIX_DIAG', 'CONFIG_TIME_NS', 'CONFIG_UNIX'])
    # CONFIG_UNIX is a prefix of CONFIG_UNIX_DIAG: it must not match that line
    assert values == {'CONFIG_UNIX_DIAG': 'm', 'CONFIG_TIME_NS': 'unset', 'CONFIG_UNIX': 'unset'}
    assert 'CONFIG_TIME_NS' not in K.parse(CONFIG_TEXT)


def test_parse_option_on_the_first_and_last_line():
    text = 'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m'
    assert K.parse(text, ['CONFIG_A', 'CONFIG_B', 'CONFIG_C']) == {'CONFIG_A': 'y', 'CONFIG_B': 'n', 'CONFIG_C': 'm'}
    assert K.parse(text) == {'CONFIG_A': 'y', 'CONFIG_B': 'n', 'CONFIG_C': 'm'}


@pytest.mark.skipif(not os.path.exists('/proc/config.gz'), reason='no /proc/config.gz')
def test_selected_and_full_parse_agree_on_a_real_config():
    with gzip.open('/proc/config.gz', 'rt') as f:
        text = f.read()
    full = K.parse(text)
    assert len(full) > 1000
    assert K.parse(text, sorted(full)) == full


# ---------------------------------------------------------------- where the config is

def test_find_tries_proc_then_boot_then_lib_modules(tmp_path):
    lib = write(tmp_path, '/lib/modules/%s/config' % REL, 'CONFIG_TUN=y\n')
    assert K.find(REL, ['CONFIG_TUN'], str(tmp_path))['source'] == lib
    boot = write(tmp_path, '/boot/config-%s' % REL, 'CONFIG_TUN=m\n')
    assert K.find(REL, ['CONFIG_TUN'], str(tmp_path))['values'] == {'CONFIG_TUN': 'm'}
    assert K.find(REL, ['CONFIG_TUN'], str(tmp_path))['source'] == boot
    proc = write(tmp_path, '/proc/config.gz', gzip.compress(CONFIG_TEXT.encode()))
    info = K.find(REL, ['CONFIG_TUN', 'CONFIG_UNIX_DIAG'], str(tmp_path))
    assert info == {'source': proc, 'readable': True, 'reason': None, 'version': '6.1.192',
                    'values': {'CONFIG_TUN': 'unset', 'CONFIG_UNIX_DIAG': 'm'}}


def test_find_other_release_is_not_used(tmp_path):
    write(tmp_path, '/boot/config-6.1.0-56-amd64', CONFIG_TEXT)
    info = K.find(REL, ['CONFIG_UNIX_DIAG'], str(tmp_path))
    assert info['readable'] is False
    assert info['values'] == {'CONFIG_UNIX_DIAG': 'unreadable'}


def test_find_nothing_says_not_found_for_each_place(tmp_path):
    info = K.find(REL, ['CONFIG_TUN', 'CONFIG_CHECKPOINT_RESTORE'], str(tmp_path))
    assert info['source'] is None and info['readable'] is False
    assert info['values'] == {'CONFIG_TUN': 'unreadable', 'CONFIG_CHECKPOINT_RESTORE': 'unreadable'}
    for path in K.candidates(REL, str(tmp_path)):
        assert '%s: not found' % path in info['reason']


def test_find_skips_a_corrupt_gzip(tmp_path):
    proc = write(tmp_path, '/proc/config.gz', b'\x1f\x8b' + b'not really gzip')
    boot = write(tmp_path, '/boot/config-%s' % REL, CONFIG_TEXT)
    info = K.find(REL, ['CONFIG_UNIX_DIAG'], str(tmp_path))
    assert info['source'] == boot
    assert info['values'] == {'CONFIG_UNIX_DIAG': 'm'}
    os.unlink(boot)
    info = K.find(REL, ['CONFIG_UNIX_DIAG'], str(tmp_path))
    assert info['readable'] is False
    assert 'cannot decompress %s' % proc in info['reason']


def test_find_skips_a_gzip_with_corrupt_data(tmp_path):
    """A valid gzip header over damaged deflate data raises zlib.error, which is no OSError."""
    good = gzip.compress(CONFIG_TEXT.encode())
    write(tmp_path, '/proc/config.gz', good[:10] + b'\xff' * 40 + good[-8:])
    boot = write(tmp_path, '/boot/config-%s' % REL, CONFIG_TEXT)
    assert K.find(REL, ['CONFIG_UNIX_DIAG'], str(tmp_path))['source'] == boot


# ---------------------------------------------------------------- modules

DEP = '''kernel/net/ipv4/inet_diag.ko.xz:
kernel/net/ipv4/udp_diag.ko.xz: kernel/net/ipv4/inet_diag.ko.xz
kernel/net/packet/af_packet_diag.ko.zst:
kernel/fs/autofs/autofs.ko.gz:
kernel/drivers/net/tun.ko:
kernel/net/netfilter/nf-tables.ko:
'''


@pytest.mark.parametrize('name, listed', [
    ('inet_diag', True), ('udp_diag', True), ('af_packet_diag', True), ('autofs', True), ('tun', True),
    ('nf_tables', True),        # file spelt with '-'
    ('diag', False), ('packet_diag', False), ('autofs4', False), ('unix_diag', False),
])
def test_modules_dep_lists_own_files_only(name, listed):
    assert K._lists('\n' + DEP, name) is listed


def test_a_dependency_is_not_a_module_of_its_own():
    assert K._lists('\nkernel/net/ipv4/udp_diag.ko: kernel/net/ipv4/inet_diag.ko\n', 'inet_diag') is False


def test_module_states(tmp_path):
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, DEP)
    write(tmp_path, '/lib/modules/%s/modules.builtin' % REL, 'kernel/net/unix/unix.ko\nkernel/net/unix/unix_diag.ko\n')
    write(tmp_path, '/proc/modules', 'tun 61440 0 - Live 0x0000000000000000\n')
    write(tmp_path, '/sys/module/overlay/initstate', 'live\n')
    write(tmp_path, '/sys/module/ipv6/parameters/disable', '0\n')
    mods = K.Modules(REL, str(tmp_path))
    assert mods.state('tun') == 'loaded'
    assert mods.state('overlay') == 'loaded'
    assert mods.state('unix_diag') == 'builtin'
    assert mods.state('ipv6') == 'builtin'       # /sys/module/NAME without initstate
    assert mods.state('udp_diag') == 'loadable'
    assert mods.state('raw_diag') == 'absent'
    assert mods.resolve('CONFIG_AUTOFS_FS') == ('autofs', 'loadable')   # renamed from autofs4
    assert mods.resolve('CONFIG_INET_RAW_DIAG') == ('raw_diag', 'absent')


def test_modprobe_rules_that_forbid_a_module(tmp_path):
    """install NAME /bin/false (or true) and blacklist NAME block a module the
    kernel would load on request; /etc replaces a file of the same name in
    /lib, /usr/lib and /run; comments, other commands and other files do not."""
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, DEP)
    write(tmp_path, '/etc/modprobe.d/criu-block.conf', 'install tun /bin/false\ninstall  nf-tables \\\n  /usr/bin/true\n')
    write(tmp_path, '/lib/modprobe.d/quiet.conf', 'blacklist udp_diag  # why\n')
    write(tmp_path, '/usr/lib/modprobe.d/dist.conf', 'install autofs /bin/false\n')
    write(tmp_path, '/etc/modprobe.d/dist.conf', '# autofs is fine here\n')   # replaces /usr/lib's
    write(tmp_path, '/run/modprobe.d/other.conf', 'install inet_diag /sbin/modprobe --ignore-install inet_diag\n'
                                                  'options af_packet_diag debug=1\n')
    write(tmp_path, '/etc/modprobe.d/notes.txt', 'install af_packet_diag /bin/false\n')   # not a .conf
    mods = K.Modules(REL, str(tmp_path))
    assert mods.state('tun') == 'blocked'
    assert mods.block('tun') == '/etc/modprobe.d/criu-block.conf: install tun /bin/false'
    assert mods.state('nf_tables') == 'blocked'
    assert mods.block('nf_tables') == '/etc/modprobe.d/criu-block.conf: install nf-tables /usr/bin/true'
    assert mods.state('udp_diag') == 'blocked'
    assert mods.state('autofs') == 'loadable' and mods.block('autofs') is None
    assert mods.state('inet_diag') == 'loadable' and mods.state('af_packet_diag') == 'loadable'
    assert K.Modules(REL, str(tmp_path / 'empty')).block('tun') is None


def test_module_state_without_modules_dep(tmp_path):
    """No modules.dep (a container, whose modules are the host's): unknown, not absent, so no fix says to
    install the kernel's modules; a modules.dep that does not list it: absent."""
    assert K.Modules(REL, str(tmp_path)).state('unix_diag') == 'unknown'
    write(tmp_path, '/lib/modules/%s/modules.order' % REL, '')
    assert K.Modules(REL, str(tmp_path)).state('unix_diag') == 'unknown'
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, 'kernel/net/packet/af_packet_diag.ko.xz:\n')
    assert K.Modules(REL, str(tmp_path)).state('unix_diag') == 'absent'


def test_module_lists_in_another_encoding(tmp_path):
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, b'updates/dkms/caf\xe9.ko:\n' + DEP.encode())
    write(tmp_path, '/lib/modules/%s/modules.builtin' % REL, b'kernel/caf\xe9.ko\n')
    assert K.Modules(REL, str(tmp_path)).state('inet_diag') == 'loadable'


@pytest.mark.parametrize('files,rule,fix', [
    ({'/proc/sys/kernel/modules_disabled': '1\n'}, '/proc/sys/kernel/modules_disabled: 1', 'no module loads until a reboot'),
    ({'/proc/cmdline': 'BOOT_IMAGE=/vmlinuz ro module_blacklist=tun,inet-diag quiet\n'},
     '/proc/cmdline: module_blacklist=tun,inet-diag', 'remove module_blacklist=tun,inet-diag from the kernel command line'),
    ({'/proc/cmdline': 'ro modprobe.blacklist=inet_diag\n'}, '/proc/cmdline: modprobe.blacklist=inet_diag',
     'remove modprobe.blacklist=inet_diag from the kernel command line'),
])
def test_the_kernel_forbids_loading(tmp_path, files, rule, fix):
    """kernel.modules_disabled=1 and module_blacklist= (or modprobe.blacklist=) on the command line: blocked."""
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, DEP)
    for path, text in files.items():
        write(tmp_path, path, text)
    mods = K.Modules(REL, str(tmp_path))
    assert mods.state('inet_diag') == 'blocked' and mods.block('inet_diag') == rule
    dummy, conflict = one([Row('sock_diag', ['CONFIG_INET_DIAG'])], {'sock_diag': unsupported()},
                          info({'CONFIG_INET_DIAG': 'm'}), {'CONFIG_INET_DIAG': ('inet_diag', 'blocked', rule)})
    assert conflict['kind'] == 'module_blocked' and fix in conflict['fix'] and conflict['fix'].endswith('modprobe inet_diag')
    write(tmp_path, '/proc/sys/kernel/modules_disabled', '0\n')
    write(tmp_path, '/proc/cmdline', 'ro quiet\n')
    assert K.Modules(REL, str(tmp_path)).state('inet_diag') == 'loadable'


def test_every_tristate_option_of_the_registry_has_a_module_name():
    """Options that Kconfig declares tristate, among those the registry names
    (from drivers/net/Kconfig, net/*/Kconfig, fs/*/Kconfig)."""
    tristate = {'CONFIG_UNIX', 'CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG', 'CONFIG_INET_UDP_DIAG', 'CONFIG_INET_RAW_DIAG',
                'CONFIG_PACKET_DIAG', 'CONFIG_NETLINK_DIAG', 'CONFIG_IPV6', 'CONFIG_TUN', 'CONFIG_VETH',
                'CONFIG_NF_TABLES', 'CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS', 'CONFIG_OVERLAY_FS'}
    used = set(opt for row in REG.PROBES for opt in row.config)
    assert tristate <= used
    assert tristate <= set(K.MODULES)


# ---------------------------------------------------------------- disagreements

class Row(object):
    def __init__(self, id, config, kernel_min='3.0', fix='the row fix'):
        self.id, self.config, self.kernel_min, self.fix = id, tuple(config), kernel_min, fix


def info(values, source='/boot/config-' + REL, version='6.1.192'):
    return {'source': source, 'readable': True, 'reason': None, 'version': version, 'values': values}


def one(rows, results, inf, modules=None, release=REL, machine='x86_64'):
    values, conflicts = K.annotate(rows, results, inf, modules, release, machine)
    assert len(conflicts) <= 1, conflicts
    return values, conflicts[0] if conflicts else None


def unsupported(message='', **evidence):
    return {'status': 'unsupported', 'message': message, 'evidence': evidence}


SUPPORTED = {'status': 'supported', 'message': '', 'evidence': {}}


def test_module_loadable_but_not_loaded_says_modprobe():
    rows = [Row('sock_diag', ['CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG'])]
    mods = {'CONFIG_UNIX_DIAG': ('unix_diag', 'loadable'), 'CONFIG_INET_DIAG': ('inet_diag', 'loaded')}
    values, conflict = one(rows, {'sock_diag': unsupported('The sock diag infrastructure is incomplete.')},
                           info({'CONFIG_UNIX_DIAG': 'm', 'CONFIG_INET_DIAG': 'm'}), mods)
    assert values == {'sock_diag': {'CONFIG_UNIX_DIAG': 'm', 'CONFIG_INET_DIAG': 'm'}}
    assert conflict['kind'] == 'module_not_loaded'
    assert conflict['config'] == ['CONFIG_UNIX_DIAG']
    assert conflict['fix'] == 'modprobe unix_diag'
    mods['CONFIG_INET_DIAG'] = ('inet_diag', 'loadable')
    dummy, conflict = one(rows, {'sock_diag': unsupported()}, info({'CONFIG_UNIX_DIAG': 'm', 'CONFIG_INET_DIAG': 'm'}), mods)
    assert conflict['fix'] == 'modprobe -a unix_diag inet_diag'


def test_module_blocked_names_the_rule_and_how_to_lift_it():
    rows = [Row('tun', ['CONFIG_TUN'])]
    mods = {'CONFIG_TUN': ('tun', 'blocked', '/etc/modprobe.d/b.conf: install tun /bin/false')}
    dummy, conflict = one(rows, {'tun': unsupported('Unable to create tun: No such device')},
                          info({'CONFIG_TUN': 'm'}), mods)
    assert conflict['kind'] == 'module_blocked' and conflict['config'] == ['CONFIG_TUN']
    assert 'modprobe will not load it: /etc/modprobe.d/b.conf: install tun /bin/false' in conflict['detail']
    assert conflict['fix'] == 'delete "install tun /bin/false" from /etc/modprobe.d/b.conf, then modprobe tun'
    mods = {'CONFIG_TUN': ('tun', 'blocked', '/lib/modprobe.d/q.conf: blacklist tun')}
    dummy, conflict = one(rows, {'tun': unsupported()}, info({'CONFIG_TUN': 'm'}), mods)
    assert conflict['fix'].startswith('delete "blacklist tun" from /lib/modprobe.d/q.conf (or load it by name')


def test_gather_reports_a_blocked_module_by_state_and_its_rule_in_the_conflict(tmp_path):
    write(tmp_path, '/boot/config-%s' % REL, CONFIG_TEXT.replace('# CONFIG_TUN is not set', 'CONFIG_TUN=m')
          if '# CONFIG_TUN is not set' in CONFIG_TEXT else CONFIG_TEXT + 'CONFIG_TUN=m\n')
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, DEP)
    write(tmp_path, '/etc/modprobe.d/b.conf', 'install tun /bin/false\n')
    facts, values = K.gather(REL, [REG.BY_ID['tun']], {'tun': unsupported('Unable to create tun: No such device')},
                             root=str(tmp_path), machine='x86_64')
    assert facts['modules'] == {'tun': 'blocked'}
    assert [c['kind'] for c in facts['conflicts']] == ['module_blocked'], facts['conflicts']
    assert 'install tun /bin/false' in facts['conflicts'][0]['fix']


def test_module_not_installed_names_the_package_and_the_option():
    rows = [Row('net_diag_raw', ['CONFIG_INET_RAW_DIAG'])]
    dummy, conflict = one(rows, {'net_diag_raw': unsupported()}, info({'CONFIG_INET_RAW_DIAG': 'm'}),
                          {'CONFIG_INET_RAW_DIAG': ('raw_diag', 'absent')})
    assert conflict['kind'] == 'module_missing'
    assert 'linux-modules-extra-%s' % REL in conflict['fix']
    assert 'CONFIG_INET_RAW_DIAG=y' in conflict['fix']


def test_read_only_proc_sys_is_named():
    result = unsupported('sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system', errno_name='EROFS')
    result['fix'] = 'give criu a writable /proc/sys'
    dummy, conflict = one([Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])], {'ns_last_pid': result},
                          info({'CONFIG_CHECKPOINT_RESTORE': 'y'}))
    assert conflict['kind'] == 'read_only_proc_sys'
    assert conflict['fix'] == 'give criu a writable /proc/sys'
    assert 'Read-only file system' in conflict['detail']


def test_permission_uses_the_row_fix_without_a_probe_fix():
    dummy, conflict = one([Row('tcp', ['CONFIG_INET'])],
                          {'tcp': unsupported("Can't turn TCP repair mode ON: Operation not permitted")},
                          info({'CONFIG_INET': 'y'}))
    assert conflict['kind'] == 'permission'
    assert conflict['fix'] == 'the row fix'


def test_kernel_too_old():
    dummy, conflict = one([Row('timens', ['CONFIG_TIME_NS'], kernel_min='5.6')], {'timens': unsupported('no')},
                          info({'CONFIG_TIME_NS': 'y'}), release='5.4.0-1-amd64')
    assert conflict['kind'] == 'kernel_too_old'
    assert conflict['fix'] == 'upgrade to a kernel >= 5.6'


def test_sk_unix_file_came_with_4_11():
    """SIOCUNIXFILE is in 4.11 (it was given as 4.17): on 4.14 a failure is not the kernel's age."""
    rows = [REG.BY_ID['sk_unix_file']]
    failed = {'sk_unix_file': unsupported('Unable to open a socket file: Inappropriate ioctl for device')}
    assert one(rows, failed, info({'CONFIG_UNIX': 'y'}), release='4.14.0-1-amd64')[1]['kind'] != 'kernel_too_old'
    assert one(rows, failed, info({'CONFIG_UNIX': 'y'}), release='4.9.0-1-amd64')[1]['kind'] == 'kernel_too_old'


def test_probe_failed_doubts_a_boot_config_but_not_proc_config():
    rows = [Row('mem_dirty_track', ['CONFIG_MEM_SOFT_DIRTY'])]
    results = {'mem_dirty_track': unsupported('Dirty tracking is OFF. Memory snapshot will not work.')}
    dummy, conflict = one(rows, results, info({'CONFIG_MEM_SOFT_DIRTY': 'y'}))
    assert conflict['kind'] == 'probe_failed'
    assert 'not the running kernel' in conflict['detail']
    dummy, conflict = one(rows, results, info({'CONFIG_MEM_SOFT_DIRTY': 'y'}, source='/proc/config.gz'))
    assert 'not the running kernel' not in conflict['detail']


@pytest.mark.parametrize('status', ['unknown', 'error', 'not_applicable'])
def test_undecided_probes_have_no_conflict(status):
    dummy, conflict = one([Row('tcp', ['CONFIG_INET'])], {'tcp': {'status': status, 'message': 'x', 'evidence': {}}},
                          info({'CONFIG_INET': 'y'}))
    assert conflict is None


def test_config_off_and_probe_failing_agree():
    dummy, conflict = one([Row('autofs', ['CONFIG_AUTOFS_FS'])], {'autofs': unsupported('No such device')},
                          info({'CONFIG_AUTOFS_FS': 'unset'}))
    assert conflict is None


def test_config_off_but_probe_passes_in_a_boot_config():
    dummy, conflict = one([Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])], {'ns_last_pid': SUPPORTED},
                          info({'CONFIG_CHECKPOINT_RESTORE': 'n'}))
    assert conflict['kind'] == 'config_not_running_kernel'
    assert conflict['config'] == ['CONFIG_CHECKPOINT_RESTORE']
    assert '6.1.192' in conflict['detail'] and 'uname' in conflict['fix']


def test_config_off_but_probe_passes_in_proc_config_blames_the_table():
    dummy, conflict = one([Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])], {'ns_last_pid': SUPPORTED},
                          info({'CONFIG_CHECKPOINT_RESTORE': 'n'}, source='/proc/config.gz'))
    assert conflict['kind'] == 'config_not_needed'


@pytest.mark.parametrize('release, flagged', [('4.2.0', True), ('4.3.0', False), ('6.18.44-fc', False)])
def test_map_files_needs_checkpoint_restore_only_before_4_3(release, flagged):
    dummy, conflict = one([Row('map_files', ['CONFIG_CHECKPOINT_RESTORE'])], {'map_files': SUPPORTED},
                          info({'CONFIG_CHECKPOINT_RESTORE': 'unset'}), release=release)
    assert (conflict is not None) is flagged


@pytest.mark.parametrize('release, off, flagged', [
    ('5.11.0', 'CONFIG_CHECKPOINT_RESTORE', True), ('5.11.0', 'CONFIG_KCMP', False),
    ('5.12.0', 'CONFIG_CHECKPOINT_RESTORE', False), ('5.12.0', 'CONFIG_KCMP', True),
])
def test_kcmp_needs_checkpoint_restore_then_kcmp(release, off, flagged):
    values = {'CONFIG_CHECKPOINT_RESTORE': 'y', 'CONFIG_KCMP': 'y'}
    values[off] = 'unset'
    dummy, conflict = one([Row('kcmp', ['CONFIG_CHECKPOINT_RESTORE', 'CONFIG_KCMP'])], {'kcmp': SUPPORTED},
                          info(values), release=release)
    assert (conflict is not None) is flagged
    # failing with an option it does not need off is still the config's "yes"
    dummy, conflict = one([Row('kcmp', ['CONFIG_CHECKPOINT_RESTORE', 'CONFIG_KCMP'])],
                          {'kcmp': unsupported('kcmp: Operation not permitted')}, info(values), release=release)
    assert (conflict is None) is flagged


def test_x86_only_option_on_another_arch():
    rows = [Row('can_map_vdso', ['CONFIG_IA32_EMULATION'])]
    assert one(rows, {'can_map_vdso': SUPPORTED}, info({'CONFIG_IA32_EMULATION': 'unset'}), machine='aarch64')[1] is None
    assert one(rows, {'can_map_vdso': SUPPORTED}, info({'CONFIG_IA32_EMULATION': 'unset'}), machine='x86_64')[1]


@pytest.mark.parametrize('probe_id', ['can_map_vdso', 'compat_cr'])
def test_map_vdso_32_needs_checkpoint_restore_on_x86_64_only(probe_id):
    """arch/x86/kernel/process_64.c offers ARCH_MAP_VDSO_32 only under CONFIG_CHECKPOINT_RESTORE: with
    CONFIG_IA32_EMULATION=y and it off, the probe's failure is explained (it was "IA32_EMULATION=y, but the
    probe fails"); on arm64 the call does not exist, and CONFIG_CHECKPOINT_RESTORE=y explains nothing."""
    rows = [REG.BY_ID[probe_id]]
    failed = {probe_id: unsupported('x')}
    assert one(rows, failed, info({'CONFIG_IA32_EMULATION': 'y', 'CONFIG_CHECKPOINT_RESTORE': 'unset'}))[1] is None
    assert 'CONFIG_CHECKPOINT_RESTORE' in rows[0].fix
    assert one(rows, failed, info({'CONFIG_IA32_EMULATION': 'unset', 'CONFIG_CHECKPOINT_RESTORE': 'y'}),
               machine='aarch64')[1] is None
    assert one(rows, failed, info({'CONFIG_IA32_EMULATION': 'y', 'CONFIG_CHECKPOINT_RESTORE': 'y'}))[1]['kind'] == 'probe_failed'


SOCK_DIAG_ROW = Row('sock_diag', ['CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG', 'CONFIG_NETLINK_DIAG'])


def uncollected(*keys):
    return {'status': 'supported', 'message': 'sockets: Uncollected sockets! Will probably fail later.',
            'evidence': {'uncollected': list(keys)}}


def test_sock_diag_passes_as_criu_does_but_a_family_uncollected_names_its_module():
    """criu passes sock_diag whatever it could not collect; a *_diag module to load or unblock is still said."""
    values = {'CONFIG_UNIX_DIAG': 'm', 'CONFIG_INET_DIAG': 'm', 'CONFIG_NETLINK_DIAG': 'm'}
    mods = {'CONFIG_UNIX_DIAG': ('unix_diag', 'loadable'), 'CONFIG_INET_DIAG': ('inet_diag', 'loaded'),
            'CONFIG_NETLINK_DIAG': ('netlink_diag', 'loaded')}
    dummy, conflict = one([SOCK_DIAG_ROW], {'sock_diag': uncollected('AF_UNIX/IPPROTO_IP')}, info(values), mods)
    assert (conflict['kind'], conflict['config'], conflict['fix']) == ('module_not_loaded', ['CONFIG_UNIX_DIAG'],
                                                                       'modprobe unix_diag')
    mods['CONFIG_UNIX_DIAG'] = ('unix_diag', 'blocked', '/etc/modprobe.d/x.conf: install unix_diag /bin/false')
    assert one([SOCK_DIAG_ROW], {'sock_diag': uncollected('AF_UNIX/IPPROTO_IP')}, info(values), mods)[1]['kind'] == 'module_blocked'
    # inet_diag answered for UDP: only tcp_diag can be missing, not inet_diag
    mods['CONFIG_UNIX_DIAG'] = ('unix_diag', 'loaded')
    mods['CONFIG_INET_DIAG'] = ('inet_diag', 'loadable')
    assert one([SOCK_DIAG_ROW], {'sock_diag': uncollected('AF_INET/IPPROTO_TCP')}, info(values), mods)[1] is None
    # built in, yet uncollected: no module to name, and criu's verdict stands
    assert one([SOCK_DIAG_ROW], {'sock_diag': uncollected('AF_UNIX/IPPROTO_IP')},
               info(dict(values, CONFIG_UNIX_DIAG='y')), dict(mods, CONFIG_UNIX_DIAG=('unix_diag', 'builtin')))[1] is None


def test_sock_diag_without_a_family_configured_is_no_disagreement():
    """CONFIG_NETLINK_DIAG off and netlink sockets uncollected agree, though criu's verdict is supported."""
    values = {'CONFIG_UNIX_DIAG': 'y', 'CONFIG_INET_DIAG': 'y', 'CONFIG_NETLINK_DIAG': 'n'}
    assert one([SOCK_DIAG_ROW], {'sock_diag': uncollected('AF_NETLINK/NDIAG_PROTO_ALL')}, info(values))[1] is None
    conflict = one([SOCK_DIAG_ROW], {'sock_diag': uncollected()}, info(values))[1]
    assert conflict['kind'] == 'config_not_running_kernel' and conflict['config'] == ['CONFIG_NETLINK_DIAG']
    # the file names the running version: it may be another build's, or the probe may not need the option
    assert 'another build' in conflict['detail']


@pytest.mark.parametrize('row, release, values, result, kind', [
    (Row('posix_timers', ['CONFIG_POSIX_TIMERS']), '4.9.0', {'CONFIG_POSIX_TIMERS': 'unset'}, SUPPORTED, None),
    (Row('posix_timers', ['CONFIG_POSIX_TIMERS']), '4.10.0', {'CONFIG_POSIX_TIMERS': 'n'}, SUPPORTED, 'config_not_running_kernel'),
    (Row('memfd_hugetlb', ['CONFIG_MEMFD_CREATE']), '4.15.0', {'CONFIG_MEMFD_CREATE': 'unset'}, SUPPORTED, None),
    (Row('autofs', ['CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS']), '4.15.0',
     {'CONFIG_AUTOFS_FS': 'unset', 'CONFIG_AUTOFS4_FS': 'm'}, SUPPORTED, None),
    (Row('autofs', ['CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS']), '4.15.0',
     {'CONFIG_AUTOFS_FS': 'unset', 'CONFIG_AUTOFS4_FS': 'm'}, unsupported('No such device'), 'module_not_loaded'),
    (Row('autofs', ['CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS']), '6.1.0',
     {'CONFIG_AUTOFS_FS': 'm', 'CONFIG_AUTOFS4_FS': 'unset'}, unsupported('No such device'), 'module_not_loaded'),
    # an architecture without syscall auditing has /proc/self/loginuid since 5.1
    (Row('loginuid', ['CONFIG_AUDIT', 'CONFIG_AUDITSYSCALL']), '6.1.0',
     {'CONFIG_AUDIT': 'y', 'CONFIG_AUDITSYSCALL': 'unset'}, SUPPORTED, None),
    (Row('loginuid', ['CONFIG_AUDIT', 'CONFIG_AUDITSYSCALL']), '4.19.0',
     {'CONFIG_AUDIT': 'y', 'CONFIG_AUDITSYSCALL': 'unset'}, SUPPORTED, 'config_not_running_kernel'),
    (Row('loginuid', ['CONFIG_AUDIT', 'CONFIG_AUDITSYSCALL']), '6.1.0',
     {'CONFIG_AUDIT': 'y', 'CONFIG_AUDITSYSCALL': 'y'}, SUPPORTED, None),
])
def test_options_that_older_kernels_did_not_have(row, release, values, result, kind):
    """CONFIG_POSIX_TIMERS (4.10), CONFIG_MEMFD_CREATE (4.18), CONFIG_AUTOFS_FS (4.18; CONFIG_AUTOFS4_FS before),
    /proc/<pid>/loginuid with CONFIG_AUDIT (5.1; CONFIG_AUDITSYSCALL before)."""
    mods = {'CONFIG_AUTOFS4_FS': ('autofs4', 'loadable'), 'CONFIG_AUTOFS_FS': ('autofs4', 'loadable')}
    conflict = one([row], {row.id: result}, info(values, version=release), mods, release=release)[1]
    assert (conflict or {}).get('kind') == kind, conflict


def test_a_permission_refused_before_the_module_would_load_comes_first():
    """nfnetlink refuses (EPERM) before the kernel loads nf_tables: loading it would not help."""
    rows = [Row('network_lock_nftables', ['CONFIG_NF_TABLES'])]
    dummy, conflict = one(rows, {'network_lock_nftables': unsupported('Operation not permitted', errno_name='EPERM')},
                          info({'CONFIG_NF_TABLES': 'm'}), {'CONFIG_NF_TABLES': ('nf_tables', 'loadable')})
    assert conflict['kind'] == 'permission' and conflict['fix'] == 'the row fix'
    assert 'nf_tables.ko, not loaded yet' in conflict['detail']


def test_net_diag_raw_quirk_is_no_disagreement():
    """criu counts ENOENT (no raw_diag) as supported; the evidence says the truth."""
    rows = [Row('net_diag_raw', ['CONFIG_INET_RAW_DIAG'])]
    quirk = {'status': 'supported', 'message': 'raw_diag is missing', 'evidence': {'raw_diag_available': False}}
    assert one(rows, {'net_diag_raw': quirk}, info({'CONFIG_INET_RAW_DIAG': 'unset'}))[1] is None
    real = {'status': 'supported', 'message': '', 'evidence': {'raw_diag_available': True}}
    assert one(rows, {'net_diag_raw': real}, info({'CONFIG_INET_RAW_DIAG': 'unset'}))[1]['kind'] == 'config_not_running_kernel'


def test_unreadable_config_gives_values_and_no_conflict():
    unreadable = {'source': None, 'readable': False, 'reason': 'x', 'version': None,
                  'values': {'CONFIG_INET': 'unreadable'}}
    values, conflicts = K.annotate([Row('tcp', ['CONFIG_INET']), Row('so_gets', [])],
                                   {'tcp': unsupported('EPERM', errno_name='EPERM'), 'so_gets': SUPPORTED},
                                   unreadable, release=REL, machine='x86_64')
    assert values == {'tcp': {'CONFIG_INET': 'unreadable'}, 'so_gets': {}}
    assert conflicts == []


def test_a_row_without_result_gets_values_only():
    values, conflicts = K.annotate([Row('tcp', ['CONFIG_INET'])], {}, info({'CONFIG_INET': 'n'}),
                                   release=REL, machine='x86_64')
    assert values == {'tcp': {'CONFIG_INET': 'n'}} and conflicts == []


def test_registry_rows_annotate_with_every_option_looked_up(tmp_path):
    write(tmp_path, '/boot/config-%s' % REL, CONFIG_TEXT)
    facts, values = K.gather(REL, REG.PROBES, {}, root=str(tmp_path), machine='x86_64')
    assert set(values) == set(REG.BY_ID)
    assert values['sock_diag']['CONFIG_UNIX_DIAG'] == 'm'
    assert values['mem_dirty_track'] == {'CONFIG_MEM_SOFT_DIRTY': 'n'}
    assert values['tcp'] == {'CONFIG_INET': 'unset'}
    assert facts['modules'] == {'unix_diag': 'unknown'}   # no /lib/modules/REL here
    assert facts['conflicts'] == [] and facts['version'] == '6.1.192' and facts['version_matches'] is True
