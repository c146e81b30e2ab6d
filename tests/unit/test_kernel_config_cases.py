# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Kernel-config cases the other tests left open (found by mutating
_kernel_config.py): the errno a conflict is judged by when a probe recorded
only its message, a config written with CRLF line ends, a release with no
version in it, and the release find(), annotate() and gather() default to."""

import os

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _kernel_config as K
from ansible_collections.criu.check.plugins.module_utils import _result as R

REL = '6.1.0-57-amd64'


class Row(object):
    def __init__(self, id, config, kernel_min='3.0', fix='the row fix'):
        self.id, self.config, self.kernel_min, self.fix = id, tuple(config), kernel_min, fix


def info(values, source='/boot/config-' + REL, version='6.1.192'):
    return {'source': source, 'readable': True, 'reason': None, 'version': version, 'values': values}


def write(root, path, text):
    full = os.path.join(str(root), path.lstrip('/'))
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'w') as f:
        f.write(text)
    return full


def conflicts(rows, results, inf, modules=None, release=REL):
    return K.annotate(rows, results, inf, modules, release, 'x86_64')[1]


SUPPORTED = {'status': 'supported', 'message': '', 'evidence': {}}


@pytest.mark.parametrize('message, kind', [
    # criu's own wording (strerror) is all some probes record: it still names the refusal
    ('sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system', 'read_only_proc_sys'),
    ("Can't turn TCP repair mode ON: Operation not permitted", 'permission'),
    ("Can't open /proc/sys/kernel/ns_last_pid: Permission denied", 'permission'),
    ('Dirty tracking is OFF. Memory snapshot will not work.', 'probe_failed'),
])
def test_the_refusal_is_read_from_the_message_without_an_errno(message, kind):
    found = conflicts([Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])],
                      {'ns_last_pid': {'status': 'unsupported', 'message': message, 'evidence': {}}},
                      info({'CONFIG_CHECKPOINT_RESTORE': 'y'}))
    assert [c['kind'] for c in found] == [kind]
    if kind == 'permission':
        assert '(%s;' % ('EACCES' if 'denied' in message else 'EPERM') in found[0]['detail']


def test_the_recorded_errno_wins_over_a_message_that_names_none():
    """A probe that recorded errno_name EROFS with a message of its own is a read-only /proc/sys."""
    found = conflicts([Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])],
                      {'ns_last_pid': {'status': 'unsupported', 'message': 'cannot write ns_last_pid',
                                       'evidence': {'errno_name': 'EROFS'}}},
                      info({'CONFIG_CHECKPOINT_RESTORE': 'y'}))
    assert [c['kind'] for c in found] == ['read_only_proc_sys']


def test_a_config_with_crlf_line_ends_reads_the_same():
    text = '# Linux/x86 6.1.192 Kernel Configuration\r\nCONFIG_TUN=m\r\nCONFIG_LOCALVERSION="-x"\r\n' \
           '# CONFIG_KCMP is not set\r\n'
    expected = {'CONFIG_TUN': 'm', 'CONFIG_LOCALVERSION': '-x', 'CONFIG_KCMP': 'n'}
    assert K.parse(text, sorted(expected)) == expected
    assert K.parse(text) == expected


def test_a_release_without_a_version_judges_only_the_unbounded_options():
    """Whether CONFIG_POSIX_TIMERS (4.10+) is needed cannot be told without a version: no conflict on it,
    and no crash; CONFIG_CHECKPOINT_RESTORE for ns_last_pid is needed on every kernel."""
    rows = [Row('posix_timers', ['CONFIG_POSIX_TIMERS']), Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])]
    found = conflicts(rows, {'posix_timers': SUPPORTED, 'ns_last_pid': SUPPORTED},
                      info({'CONFIG_POSIX_TIMERS': 'n', 'CONFIG_CHECKPOINT_RESTORE': 'n'}), release='custom-kernel')
    assert [(c['probe'], c['kind']) for c in found] == [('ns_last_pid', 'config_not_running_kernel')]


def test_the_running_kernel_is_the_default_release(tmp_path):
    """find(), annotate() and gather() without a release read the running kernel's."""
    release = os.uname().release
    boot = write(tmp_path, '/boot/config-%s' % release, '# CONFIG_CHECKPOINT_RESTORE is not set\n')
    assert K.find(options=['CONFIG_CHECKPOINT_RESTORE'], root=str(tmp_path))['source'] == boot
    row = Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])
    facts, values = K.gather(None, [row], {'ns_last_pid': SUPPORTED}, root=str(tmp_path))
    assert facts['source'] == boot and values == {'ns_last_pid': {'CONFIG_CHECKPOINT_RESTORE': 'n'}}
    assert [c['kind'] for c in facts['conflicts']] == ['config_not_running_kernel']
    # the modules looked up are the running kernel's too
    write(tmp_path, '/boot/config-%s' % release, 'CONFIG_TUN=m\n')
    write(tmp_path, '/lib/modules/%s/modules.dep' % release, 'kernel/drivers/net/tun.ko:\n')
    facts = K.gather(None, [Row('tun', ['CONFIG_TUN'])], {}, root=str(tmp_path))[0]
    assert facts['modules'] == {'tun': 'loadable'}
    # a bounded option: needed from 4.10 on, so the running kernel's version must be known to flag it
    found = K.annotate([Row('posix_timers', ['CONFIG_POSIX_TIMERS'])], {'posix_timers': SUPPORTED},
                       info({'CONFIG_POSIX_TIMERS': 'n'}))[1]
    assert [c['kind'] for c in found] == ['config_not_running_kernel']


@pytest.mark.parametrize('directory', ['/lib/modprobe.d', '/usr/lib/modprobe.d', '/usr/local/lib/modprobe.d',
                                       '/run/modprobe.d', '/etc/modprobe.d'])
def test_a_rule_in_any_of_modprobes_directories_blocks(tmp_path, directory):
    """modprobe.d(5) reads all five; a rule in any forbids the load, and the conflict names that file."""
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, 'kernel/drivers/net/tun.ko:\n')
    conf = '%s/criu.conf' % directory
    write(tmp_path, conf, 'install tun /bin/false\n')
    write(tmp_path, '/boot/config-%s' % REL, 'CONFIG_TUN=m\n')
    facts = K.gather(REL, [Row('tun', ['CONFIG_TUN'])],
                     {'tun': {'status': 'unsupported', 'message': 'No such device', 'evidence': {}}},
                     root=str(tmp_path), machine='x86_64')[0]
    assert facts['modules'] == {'tun': 'blocked'}
    assert [c['kind'] for c in facts['conflicts']] == ['module_blocked']
    assert facts['conflicts'][0]['fix'] == 'delete "install tun /bin/false" from %s, then modprobe tun' % conf


@pytest.mark.parametrize('release, off, flagged', [
    ('5.11.0', 'CONFIG_CHECKPOINT_RESTORE', True), ('5.11.0', 'CONFIG_KCMP', False),
    ('5.12.0', 'CONFIG_CHECKPOINT_RESTORE', False), ('5.12.0', 'CONFIG_KCMP', True),
])
def test_kcmp_epoll_needs_checkpoint_restore_then_kcmp(release, off, flagged):
    """KCMP_EPOLL_TFD is a kcmp() type: kernel/Makefile builds kcmp.o for CONFIG_KCMP since 5.12, before for
    CONFIG_CHECKPOINT_RESTORE; a probe that passes with the other option off is no disagreement."""
    values = {'CONFIG_CHECKPOINT_RESTORE': 'y', 'CONFIG_KCMP': 'y'}
    values[off] = 'unset'
    found = conflicts([Row('kcmp_epoll', ['CONFIG_CHECKPOINT_RESTORE', 'CONFIG_KCMP'])], {'kcmp_epoll': SUPPORTED},
                      info(values, version=release), release=release)
    assert [(c['kind'], c['config']) for c in found] == ([('config_not_running_kernel', [off])] if flagged else [])


SOCK_DIAG_ROW = Row('sock_diag', ['CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG', 'CONFIG_INET_TCP_DIAG',
                                  'CONFIG_INET_UDP_DIAG'])
SOCK_DIAG_ON = {'CONFIG_UNIX_DIAG': 'y', 'CONFIG_INET_DIAG': 'm', 'CONFIG_INET_TCP_DIAG': 'm', 'CONFIG_INET_UDP_DIAG': 'm'}
SOCK_DIAG_MODULES = {'CONFIG_INET_DIAG': ('inet_diag', 'loadable'), 'CONFIG_INET_TCP_DIAG': ('tcp_diag', 'loadable'),
                     'CONFIG_INET_UDP_DIAG': ('udp_diag', 'loadable')}


@pytest.mark.parametrize('uncollected, named', [
    # TCP collected: inet_diag is there, only udp_diag is missing
    (['AF_INET/IPPROTO_UDP'], ['CONFIG_INET_UDP_DIAG']),
    (['AF_INET/IPPROTO_TCP'], ['CONFIG_INET_TCP_DIAG']),
    # neither: inet_diag first of all (udp_diag and tcp_diag need it)
    (['AF_INET/IPPROTO_TCP', 'AF_INET/IPPROTO_UDP'], ['CONFIG_INET_DIAG', 'CONFIG_INET_TCP_DIAG', 'CONFIG_INET_UDP_DIAG']),
])
def test_sock_diag_names_inet_diag_only_when_no_ipv4_family_was_collected(uncollected, named):
    result = {'status': 'supported', 'message': 'sockets: Uncollected sockets! Will probably fail later.',
              'evidence': {'uncollected': uncollected}}
    found = conflicts([SOCK_DIAG_ROW], {'sock_diag': result}, info(SOCK_DIAG_ON), SOCK_DIAG_MODULES)
    assert [(c['kind'], c['config']) for c in found] == [('module_not_loaded', named)]


def test_sock_diag_evidence_without_uncollected_is_every_family_collected():
    found = conflicts([SOCK_DIAG_ROW], {'sock_diag': SUPPORTED}, info(SOCK_DIAG_ON), SOCK_DIAG_MODULES)
    assert found == []


def test_a_probe_without_a_first_kernel_or_a_release_without_a_version_fails_as_a_probe():
    """No kernel_min (the registry has probes without one) or no version in the release: nothing to compare."""
    failed = {'status': 'unsupported', 'message': 'no', 'evidence': {}}
    found = conflicts([Row('tcp', ['CONFIG_INET'], kernel_min=None)], {'tcp': failed}, info({'CONFIG_INET': 'y'}))
    assert [c['kind'] for c in found] == ['probe_failed']
    found = conflicts([Row('tcp', ['CONFIG_INET'])], {'tcp': failed}, info({'CONFIG_INET': 'y'}), release='custom')
    assert [c['kind'] for c in found] == ['probe_failed']


def test_a_result_without_evidence_is_judged_by_its_message():
    found = conflicts([Row('tcp', ['CONFIG_INET'])],
                      {'tcp': {'status': 'unsupported', 'message': "Can't turn TCP repair mode ON: Operation not permitted"}},
                      info({'CONFIG_INET': 'y'}))
    assert [c['kind'] for c in found] == ['permission']


@pytest.mark.parametrize('version, why', [
    ('6.1.192', 'that file is another build\'s config of the same version, or the probe does not need CONFIG_INET here'),
    ('5.10.0', 'that file is not the running kernel\'s config'),
    (None, 'that file is not the running kernel\'s config'),
])
def test_config_off_but_probe_passes_says_why_by_the_file_s_version(version, why):
    found = conflicts([Row('tcp', ['CONFIG_INET'])], {'tcp': SUPPORTED}, info({'CONFIG_INET': 'n'}, version=version),
                      release='6.1.0-57-amd64')
    assert [c['kind'] for c in found] == ['config_not_running_kernel']
    assert found[0]['detail'].endswith('yet the probe passes: ' + why)


def test_net_diag_raw_evidence_without_the_raw_diag_answer_counts_as_answered():
    found = conflicts([Row('net_diag_raw', ['CONFIG_INET_RAW_DIAG'])], {'net_diag_raw': SUPPORTED},
                      info({'CONFIG_INET_RAW_DIAG': 'unset'}))
    assert [c['kind'] for c in found] == ['config_not_running_kernel']


@pytest.mark.parametrize('header, matches', [
    ('# Linux/x86 6.1.192 Kernel Configuration\n', True),
    ('# Linux/x86 6.12.48 Kernel Configuration\n', False),
    ('', None),                      # a config without its header: nothing to compare
])
def test_version_matches_compares_the_config_s_header_with_the_release(tmp_path, header, matches):
    write(tmp_path, '/boot/config-%s' % REL, header + 'CONFIG_TUN=y\n')
    facts = K.gather(REL, [Row('tun', ['CONFIG_TUN'])], {}, root=str(tmp_path), machine='x86_64')[0]
    assert facts['version_matches'] is matches


def test_an_option_off_on_the_config_s_first_line_is_n():
    text = '# CONFIG_KCMP is not set\nCONFIG_TUN=m\n'
    assert K.parse(text, ['CONFIG_KCMP', 'CONFIG_TUN']) == K.parse(text) == {'CONFIG_KCMP': 'n', 'CONFIG_TUN': 'm'}


def test_a_modprobe_file_that_cannot_be_read_is_skipped(tmp_path):
    """A .conf in another encoding (or unreadable): its rules are not modprobe's to us, the other files' still are."""
    write(tmp_path, '/lib/modules/%s/modules.dep' % REL, 'kernel/drivers/net/tun.ko:\nkernel/net/ipv4/inet_diag.ko:\n')
    full = os.path.join(str(tmp_path), 'etc/modprobe.d/00-latin1.conf')
    os.makedirs(os.path.dirname(full))
    with open(full, 'wb') as f:
        f.write(b'# caf\xe9\ninstall inet_diag /bin/false\n')
    write(tmp_path, '/etc/modprobe.d/10-tun.conf', 'install tun /bin/false\n')
    mods = K.Modules(REL, str(tmp_path))
    assert mods.state('tun') == 'blocked' and mods.state('inet_diag') == 'loadable'


UNSUPPORTED = {'status': 'unsupported', 'message': 'no', 'evidence': {}}
READ = {'readable': True, 'version_matches': True}


@pytest.mark.parametrize('row, result, values, config, release, machine, off', [
    # the options the kernel needs that are off, n or unset
    (Row('autofs', ['CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS']), UNSUPPORTED,
     {'CONFIG_AUTOFS_FS': 'n', 'CONFIG_AUTOFS4_FS': 'unset'}, READ, REL, 'x86_64', ['CONFIG_AUTOFS_FS']),
    (Row('autofs', ['CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS']), UNSUPPORTED,
     {'CONFIG_AUTOFS_FS': 'unset', 'CONFIG_AUTOFS4_FS': 'n'}, READ, '4.9.0-8-amd64', 'x86_64', ['CONFIG_AUTOFS4_FS']),
    (Row('x', ['CONFIG_A', 'CONFIG_B', 'CONFIG_C']), UNSUPPORTED,
     {'CONFIG_A': 'n', 'CONFIG_B': 'm', 'CONFIG_C': 'unset'}, READ, REL, 'x86_64', ['CONFIG_A', 'CONFIG_C']),
    # a config of unknown version still counts; nothing off, nothing to say
    (Row('x', ['CONFIG_A']), UNSUPPORTED, {'CONFIG_A': 'n'}, {'readable': True, 'version_matches': None}, REL,
     'x86_64', ['CONFIG_A']),
    (Row('x', ['CONFIG_A']), UNSUPPORTED, {'CONFIG_A': 'y'}, READ, REL, 'x86_64', []),
    # not a failure, or not one the config can explain
    (Row('x', ['CONFIG_A']), SUPPORTED, {'CONFIG_A': 'n'}, READ, REL, 'x86_64', []),
    (Row('x', ['CONFIG_A']), {'status': 'unknown'}, {'CONFIG_A': 'n'}, READ, REL, 'x86_64', []),
    (Row('net_diag_raw', ['CONFIG_INET_RAW_DIAG']), UNSUPPORTED, {'CONFIG_INET_RAW_DIAG': 'n'}, READ, REL, 'x86_64',
     []),
    (Row('can_map_vdso', ['CONFIG_CHECKPOINT_RESTORE']), UNSUPPORTED, {'CONFIG_CHECKPOINT_RESTORE': 'n'}, READ, REL,
     'aarch64', []),
    # a config that was not read, or is another version's
    (Row('x', ['CONFIG_A']), UNSUPPORTED, {'CONFIG_A': 'unreadable'}, {'readable': False}, REL, 'x86_64', []),
    (Row('x', ['CONFIG_A']), UNSUPPORTED, {'CONFIG_A': 'n'}, {'readable': True, 'version_matches': False}, REL,
     'x86_64', []),
    (Row('x', ['CONFIG_A']), UNSUPPORTED, {'CONFIG_A': 'n'}, None, REL, 'x86_64', []),
])
def test_built_without_names_only_what_the_running_kernel_lacks(row, result, values, config, release, machine, off):
    assert K.built_without(row, result, values, config, release, machine) == off


def test_a_check_criu_does_not_make_here_has_no_conflict():
    """criu --unprivileged skips sk_ns's kerndat step (R.not_probed()): it reads as unsupported whatever the
    kernel says, so CONFIG_NET_NS=y is not contradicted; the same failure, probed, is."""
    refused = R.errno_evidence(1)
    rows, values = [Row('sk_ns', ['CONFIG_NET_NS'])], info({'CONFIG_NET_NS': 'y'})
    assert conflicts(rows, {'sk_ns': R.not_probed('not probed', refused)}, values) == []
    assert [c['kind'] for c in conflicts(rows, {'sk_ns': R.unsupported('refused', refused)}, values)] == ['permission']


def test_a_probe_made_unknown_afterwards_loses_its_conflict():
    """_decide.as_criu_runs() makes a probe that failed without criu's file capabilities unknown: the conflict
    annotate() found on its failure goes with it; the others stay."""
    refused = R.unsupported("couldn't suspend seccomp", R.errno_evidence(1))
    rows = [Row('seccomp_suspend', ['CONFIG_SECCOMP']), Row('ns_last_pid', ['CONFIG_CHECKPOINT_RESTORE'])]
    found = conflicts(rows, {'seccomp_suspend': refused, 'ns_last_pid': refused},
                      info({'CONFIG_SECCOMP': 'y', 'CONFIG_CHECKPOINT_RESTORE': 'y'}))
    assert [c['probe'] for c in found] == ['seccomp_suspend', 'ns_last_pid']
    later = {'seccomp_suspend': R.unknown('criu has CAP_SYS_ADMIN'), 'ns_last_pid': refused}
    assert [c['probe'] for c in K.of_verdicts(found, later)] == ['ns_last_pid']


def test_a_refusal_carries_its_probe_s_fix_and_the_other_conflicts_keep_their_own():
    """The fix criu_facts.probes gives a refused probe is the environment's where it is the cause (a container,
    the node's mode): its conflict says the same, not the registry's.  A module to load keeps its own fix."""
    found = [{'probe': 'ns_last_pid', 'kind': K.READ_ONLY_PROC_SYS, 'fix': 'the row fix'},
             {'probe': 'tun', 'kind': K.PERMISSION, 'fix': 'the row fix'},
             {'probe': 'autofs', 'kind': K.MODULE_NOT_LOADED, 'fix': 'modprobe autofs4'},
             {'probe': 'sk_ns', 'kind': K.PERMISSION, 'fix': 'the row fix'}]
    probes = {'ns_last_pid': {'fix': 'remount /proc/sys'}, 'tun': {'fix': 'chmod 0666 /dev/net/tun'},
              'autofs': {'fix': 'the row fix'}}
    assert [c['fix'] for c in K.with_probe_fixes(found, probes)] == [
        'remount /proc/sys', 'chmod 0666 /dev/net/tun', 'modprobe autofs4', 'the row fix']
