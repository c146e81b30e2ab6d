# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_installed_criu: real criu outputs -> verdicts, and describe()'s facts.

The outputs in fixtures/installed_criu_outputs.json were captured from real
criu binaries by tests/tools/capture_criu_outputs.py (criu 4.1.1 in the
Debian 13 root in each context of tests/tools/criu_root.sh, Debian 12's
criu 3.17.1 on this Debian 12 host, kernel 6.18).  The verdicts expected
here are read off criu's source (criu/cr-check.c cr_check(), criu/crtools.c
check_caps() and kerndat_init()), not off our parser.
"""

import json
import os

import pytest

from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
with open(os.path.join(HERE, 'fixtures', 'installed_criu_outputs.json')) as _f:
    OUT = json.load(_f)


def test_the_parser_tells_criu_s_three_sentences_apart():
    """The sentences _decide prints for criu (_criu_words) are the ones the
    parser of a real criu's output finds, and "Looks good." is not found in
    "Looks good but ..."."""
    assert I._LOOKS_GOOD.match(_decide.LOOKS_GOOD) and I._LOOKS_GOOD_BUT.match(_decide.LOOKS_GOOD_BUT)
    assert not I._LOOKS_GOOD.search(_decide.LOOKS_GOOD_BUT)
    assert not I._LOOKS_GOOD_BUT.search(_decide.LOOKS_GOOD) and I._NOT_GOOD not in _decide.LOOKS_GOOD_BUT


def parsed(name):
    case = OUT[name]
    return I.parse(case['rc'], case['stdout'], case['stderr'])


# name: (verdict, the message describe() must quote)
EXPECTED = {
    'criu41_root_check': ('good', None),
    'criu41_root_check_all': ('good_but', None),
    'criu41_root_check_unpriv_no_xdg': ('good', None),
    'criu41_nonroot_check': ('blocked', 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'),
    'criu41_nonroot_check_unpriv': ('blocked', 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'),
    'criu41_nonroot_cr_check': ('blocked', "Running as non-root requires '--unprivileged'"),
    'criu41_nonroot_cr_check_unpriv': ('good', None),
    'criu41_userns_check': ('cannot_start', 'Fail to mount tmfps to /tmp/.criu.move_mount_set_group.'),
    'criu41_userns_check_unpriv': ('bad', "Can't turn TCP repair mode ON: Operation not permitted"),
    'criu41_ro_proc_sys_check': ('bad', 'sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system'),
    'criu41_no_sys_admin_check': ('cannot_start', 'Unable create a network namespace: Operation not permitted'),
    'criu41_no_loopback_check': ('cannot_start', 'Unable to connect a socket: Network is unreachable'),
    # the step that failed, not the errors of the steps kerndat_init() runs after it (fs/nr_open)
    'criu41_proc_subset_pid_check': ('cannot_start', "Can't open sysctl kernel/cap_last_cap: No such file or directory"),
    'criu41_podman_check': ('cannot_start', 'Unable create a network namespace: Operation not permitted'),
    'criu41_podman_check_unpriv': ('bad', 'sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system'),
    'criu41_podman_rw_check_unpriv': ('bad', "Unaligned vmsplice doesn't work: Operation not permitted"),
    'criu317_root_check': ('cannot_start', 'vdso: Unexpected rt vDSO area bounds'),
    'criu317_no_libs_check': ('cannot_start', 'error while loading shared libraries: libprotobuf-c.so.1'),
}


def test_every_captured_check_is_expected():
    checks = sorted(n for n in OUT if not n.endswith('_version'))
    assert checks == sorted(EXPECTED)


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_verdict_of_real_output(name):
    assert parsed(name)['verdict'] == EXPECTED[name][0]
    assert parsed(name)['rc'] == OUT[name]['rc']


@pytest.mark.parametrize('name', sorted(n for n in EXPECTED if EXPECTED[n][1]))
def test_quote_is_the_message_that_stopped_criu(name):
    p = parsed(name)
    quote = I._quote(p['raw_messages'], first=p['verdict'] == 'blocked')
    assert EXPECTED[name][1] in quote


def test_messages_clean_and_raw():
    p = parsed('criu317_root_check')
    assert 'Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds' in p['raw_messages']
    assert 'vdso: Unexpected rt vDSO area bounds' in p['messages']
    assert not any(m.startswith(('Error', 'Warn')) for m in p['messages'])
    # the summary lines are criu's verdict, not messages
    p = parsed('criu41_root_check_all')
    assert p['messages'] == ['Dirty tracking is OFF. Memory snapshot will not work.',
                             'failed to mount autofs: No such device']
    assert not any('Looks good' in m or 'dump or restore' in m for m in p['raw_messages'])


def test_cache_noise_is_raw_only():
    p = parsed('criu41_root_check_unpriv_no_xdg')
    assert p['messages'] == []
    assert any('$XDG_RUNTIME_DIR not set' in m for m in p['raw_messages'])
    # said twice by criu, once here
    assert len(p['raw_messages']) == 1


def test_blocked_lines_come_from_stdout_without_prefix():
    p = parsed('criu41_nonroot_check')
    assert p['messages'][0] == 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'
    assert p['messages'][1] == 'setcap cap_checkpoint_restore+eip criu'


def test_versions():
    assert I.parse_version(OUT['criu41_version']['stdout']) == ('4.1.1', None)
    assert I.parse_version(OUT['criu317_version']['stdout']) == ('3.17.1', None)
    # a git build prints a GitID line too (criu/config.c)
    assert I.parse_version('Version: 4.2\nGitID: v4.2-22-g2cf8f13ca\n') == ('4.2', 'v4.2-22-g2cf8f13ca')
    assert I.parse_version('') == (None, None)


def test_timeout_signal_and_not_run():
    assert I.parse(None, '', '', timed_out=True)['verdict'] == 'timeout'
    p = I.parse(-11, '', '')
    assert p['verdict'] == 'cannot_start' and p['messages'] == ['criu was killed by signal 11 (SIGSEGV)']
    p = I.parse(None, '', '', error='cannot run /x/criu: [Errno 13] Permission denied')
    assert p['verdict'] == 'not_run' and 'Permission denied' in p['messages'][0]


# ---------------------------------------------------------------- describe()

def raw_for(name, version, os_id='debian', os_version='12', argv=None, kernel='6.18.44'):
    """check()'s dict as it would be for a captured output."""
    check = parsed(name)
    check.update({'argv': argv or ['/usr/sbin/criu', 'check'], 'unprivileged': '--unprivileged' in (argv or []),
                  'isolation': 'mount_namespace', 'stdout': OUT[name]['stdout'], 'stderr': OUT[name]['stderr']})
    return {'binaries': [{'path': '/usr/sbin/criu', 'realpath': '/usr/sbin/criu', 'from': 'PATH', 'selected': True,
                          'version': version, 'gitid': None, 'error': None}],
            'path': '/usr/sbin/criu', 'version': version, 'gitid': None,
            'kernel': {'release': kernel, 'arch': 'x86_64'},
            'os': {'id': os_id, 'version_id': os_version, 'name': None}, 'check': check}


NO_CRIU = {'binaries': [], 'path': None, 'version': None, 'gitid': None,
           'kernel': {'release': '6.18.44', 'arch': 'x86_64'}, 'os': {'id': 'debian', 'version_id': '12'},
           'check': None}


def test_no_criu_is_a_clear_state():
    facts = I.describe(NO_CRIU, {'verdict': 'good'})
    assert facts['installed'] is False and facts['usable'] is False
    assert facts['check'] is None and facts['starts'] is None and facts['agrees'] is None
    assert 'not installed' in facts['reason'] and 'criu.check.install' in facts['fix']
    json.dumps(facts)


def test_debian12_criu_on_a_new_kernel():
    facts = I.describe(raw_for('criu317_root_check', '3.17.1'), {'verdict': 'good_but'})
    assert facts['installed'] and facts['starts'] is False and facts['usable'] is False
    assert facts['check']['verdict'] == 'cannot_start'
    assert '"vdso: Unexpected rt vDSO area bounds"' in facts['reason']
    assert 'criu 3.17.1' in facts['reason'] and '6.18.44' in facts['reason']
    assert 'criu 4.1 or newer' in facts['fix']
    assert 'criu_install_apt_suite: trixie' in facts['fix']
    assert facts['agrees'] is False
    assert facts['disagreements'] == [{
        'criu': 'cannot_start', 'probes': 'good_but', 'kind': 'criu_too_old',
        'explanation': facts['disagreements'][0]['explanation']}]
    assert 'fixed in criu 4.1' in facts['disagreements'][0]['explanation']
    json.dumps(facts)


def test_newer_suite_offered_only_where_the_role_has_one():
    facts = I.describe(raw_for('criu317_root_check', '3.17.1', os_id='fedora', os_version='40'), {'verdict': 'good'})
    assert 'criu_install_apt_suite' not in facts['fix']
    assert 'criu 4.1 or newer' in facts['fix'] and I.UPSTREAM in facts['fix']


def test_newer_suites_are_suites_the_install_role_can_pin():
    with open(os.path.join(REPO, 'roles', 'install', 'meta', 'argument_specs.yml')) as f:
        spec = f.read()
    assert 'criu_install_apt_suite' in spec
    for entry in I.NEWER_SUITES.values():
        assert entry['version'] in entry['what']


def test_a_fixed_criu_with_the_old_symptom_is_not_called_too_old():
    facts = I.describe(raw_for('criu317_root_check', '4.1.1'), {'verdict': 'good'})
    assert facts['usable'] is False
    assert facts['disagreements'][0]['kind'] == 'ours'
    assert 'criu_install_apt_suite' not in (facts['fix'] or '')


def test_working_criu():
    facts = I.describe(raw_for('criu41_root_check', '4.1.1', os_version='13'), {'verdict': 'good_but'})
    assert facts['usable'] is True and facts['starts'] is True
    assert facts['reason'] is None and facts['fix'] is None
    # plain criu check runs only the required checks: good vs good_but agree
    assert facts['agrees'] is True and facts['disagreements'] == []


def test_whole_check_compares_exactly():
    raw = raw_for('criu41_root_check_all', '4.1.1', argv=['/usr/sbin/criu', 'check', '--all'])
    assert I.describe(raw, {'verdict': 'good_but'})['agrees'] is True
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['agrees'] is False and facts['disagreements'][0]['kind'] == 'ours'


def test_criu_passes_what_the_probes_fail():
    raw = raw_for('criu41_root_check', '4.1.1')
    lenient = I.describe(raw, {'verdict': 'bad', 'missing': {'required': ['sock_diag']}})
    assert lenient['agrees'] is False and lenient['disagreements'][0]['kind'] == 'criu_bug'
    ours = I.describe(raw, {'verdict': 'bad', 'missing': {'required': ['map_files']}})
    assert ours['disagreements'][0]['kind'] == 'ours'
    assert 'map_files' in ours['disagreements'][0]['explanation']


def test_criu_fails_what_the_probes_pass():
    facts = I.describe(raw_for('criu41_ro_proc_sys_check', '4.1.1'), {'verdict': 'good'})
    assert facts['usable'] is False and facts['starts'] is True
    assert 'ns_last_pid sysctl is inaccessible' in facts['reason']
    assert facts['agrees'] is False
    d = facts['disagreements'][0]
    assert (d['criu'], d['probes'], d['kind']) == ('bad', 'good', 'ours')
    both_bad = I.describe(raw_for('criu41_ro_proc_sys_check', '4.1.1'), {'verdict': 'bad'})
    assert both_bad['agrees'] is True and both_bad['disagreements'] == []


def test_undecided_probes_compare_to_nothing():
    for name in ('criu41_root_check', 'criu41_ro_proc_sys_check', 'criu317_root_check'):
        facts = I.describe(raw_for(name, '4.1.1'), {'verdict': 'undecided'})
        assert facts['agrees'] is None and facts['disagreements'] == []


def test_no_probe_facts():
    facts = I.describe(raw_for('criu317_root_check', '3.17.1'))
    assert facts['agrees'] is None and facts['usable'] is False and 'vDSO' in facts['reason']


def test_blocked():
    facts = I.describe(raw_for('criu41_nonroot_check', '4.1.1'), {'verdict': 'good'}, _decide.start_blocker_fix)
    assert facts['starts'] is False and facts['usable'] is False and facts['agrees'] is None
    assert 'CAP_CHECKPOINT_RESTORE capability' in facts['reason']
    assert 'setcap cap_checkpoint_restore+eip /usr/sbin/criu' in facts['fix']


def test_environment_stops_criu():
    facts = I.describe(raw_for('criu41_userns_check', '4.1.1'), {'verdict': 'good'})
    assert facts['starts'] is False and facts['usable'] is False
    assert 'move_mount_set_group' in facts['reason']
    assert facts['disagreements'][0]['kind'] == 'environment'
    # a failing kernel and a criu that cannot start: nothing to dispute
    assert I.describe(raw_for('criu41_userns_check', '4.1.1'), {'verdict': 'bad'})['agrees'] is True


def test_a_probe_that_stopped_where_criu_stops_gives_the_fix():
    """criu's own line, quote for quote (mkdtemp()'s random name read as criu's template), is a probe's message:
    that probe's fix is criu's; with no such probe, the general advice or none."""
    said = 'Unable to connect a socket: Network is unreachable'
    probes = {'tcp_half_closed': {'message': said, 'fix': 'bring the loopback up'},
              'tcp': {'message': 'other', 'fix': 'other fix'}}
    facts = I.describe(raw_for('criu41_no_loopback_check', '4.1.1'), {'verdict': 'bad', 'probes': probes})
    assert facts['starts'] is False and facts['fix'] == 'Bring the loopback up.', facts
    assert I.describe(raw_for('criu41_no_loopback_check', '4.1.1'), {'verdict': 'bad'})['fix'] is None
    stop = 'Fail to make dir /tmp/.criu.move_mount_set_group.a1B2c3: Read-only file system'
    probe = {'message': 'Fail to make dir /tmp/.criu.move_mount_set_group.XXXXXX: Read-only file system', 'fix': 'f'}
    assert I._fix_of_probe_that_says(stop, {'probes': {'move_mount_set_group': probe}}) == 'f'
    assert I._fix_of_probe_that_says(stop.replace('a1B2c3', 'a1B2'), {'probes': {'move_mount_set_group': probe}}) is None
    # criu's pid in a /proc path, the probe's own in its message
    probe = {'message': "Can't open 4321/clear_refs on procfs: Read-only file system", 'fix': 'rw'}
    assert I._fix_of_probe_that_says("Can't open 23365/clear_refs on procfs: Read-only file system",
                                     {'probes': {'mem_dirty_track': probe}}) == 'rw'
    assert I._fix_of_probe_that_says("Can't open 23365/pagemap on procfs: Read-only file system",
                                     {'probes': {'mem_dirty_track': probe}}) is None


def test_a_start_blocker_at_the_step_criu_names_gives_the_fix():
    """criu names the kerndat step that stopped it; the environment's blocker for the step _kerndat mirrors
    (its own wording, not criu's line) gives criu.fix, through _decide's start_blocker_fix()."""
    blocker = '%s reading %s failed: No such file or directory %sget_last_cap())' % (
        _decide.KERNDAT_FAILED, _decide.LAST_CAP, _decide.KERNDAT_STEP_SOURCE)
    probe_facts = {'verdict': 'bad', 'environment': {'criu_start_blockers': [blocker]}, 'probes': {}}
    raw = raw_for('criu41_proc_subset_pid_check', '4.1.1')
    facts = I.describe(raw, probe_facts, _decide.start_blocker_fix)
    assert 'ProcSubset=all' in facts['fix'] and facts['fix'].endswith('.'), facts
    assert I.describe(raw, probe_facts)['fix'] is None            # no way to tell the fix: none
    other = dict(probe_facts, environment={'criu_start_blockers': [blocker.replace('get_last_cap', 'other')]})
    assert I.describe(raw, other, _decide.start_blocker_fix)['fix'] is None


def test_broken_install():
    raw = raw_for('criu317_no_libs_check', None)
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['usable'] is False and 'libprotobuf-c.so.1' in facts['reason']
    assert 'Reinstall' in facts['fix']
    assert facts['disagreements'][0]['kind'] == 'broken_install'


def test_timeout_and_not_run():
    raw = raw_for('criu41_root_check', '4.1.1')
    raw['check'] = dict(raw['check'], **I.parse(None, '', '', timed_out=True))
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['starts'] is None and facts['usable'] is False and facts['agrees'] is None
    assert 'did not finish' in facts['reason']
    raw['check'] = dict(raw['check'], **I.parse(None, '', '', error='cannot run /usr/sbin/criu: [Errno 8] Exec format error'))
    facts = I.describe(raw, {'verdict': 'good'})
    assert 'Exec format error' in facts['reason'] and facts['usable'] is False


def test_bad_input_names_what_is_valid():
    with pytest.raises(ValueError, match='good, good_but, bad, undecided'):
        I.describe(raw_for('criu41_root_check', '4.1.1'), {'verdict': 'fine'})
    with pytest.raises(TypeError, match='check'):
        I.describe(None)
    raw = raw_for('criu41_root_check', '4.1.1')
    raw['check']['verdict'] = 'great'
    with pytest.raises(ValueError, match='cannot_start'):
        I.describe(raw)


def test_criu_runs_in_the_c_locale_with_the_path_it_was_found_on(monkeypatch):
    """criu's messages carry strerror() text, parsed in English; it runs the tools of its start-up
    (iptables, ip) from the PATH it was found on, as a runtime would."""
    monkeypatch.setenv('LC_ALL', 'de_DE.UTF-8')
    monkeypatch.setenv('LANGUAGE', 'de')
    monkeypatch.setenv('PATH', '/usr/bin')
    env = I.environ('/opt/criu/bin:/usr/sbin')
    assert (env['LC_ALL'], 'LANGUAGE' in env, env['PATH']) == ('C', False, '/opt/criu/bin:/usr/sbin')
    assert I.environ(None)['PATH'] == '/usr/bin'


# ---------------------------------------------------------------- find()

def _exe(path, mode=0o755):
    with open(path, 'w') as f:
        f.write('#!/bin/sh\nexit 0\n')
    os.chmod(path, mode)


def test_find_orders_dedupes_and_marks_the_first(tmp_path, monkeypatch):
    a, b, c, d = (tmp_path / n for n in 'abcd')
    for directory in (a, b, c, d):
        directory.mkdir()
    # a relative PATH entry depends on the cwd: skipped, though a criu is there from this cwd
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'relative' / 'dir').mkdir(parents=True)
    _exe(str(tmp_path / 'relative' / 'dir' / 'criu'))
    _exe(str(a / 'criu'), 0o644)           # not executable: runtimes cannot call it
    _exe(str(b / 'criu'))
    os.symlink(str(b / 'criu'), str(c / 'criu'))   # the same file again
    _exe(str(d / 'criu'))
    found = I.find(os.pathsep.join([str(a), 'relative/dir', str(b), '', str(c), str(d)]))
    ours = [f for f in found if f['from'] == 'PATH']
    # listed, but runtimes cannot call it: the first executable one is selected
    assert [(f['path'], f['executable']) for f in ours] == [
        (str(a / 'criu'), False), (str(b / 'criu'), True), (str(d / 'criu'), True)]
    assert [f['selected'] for f in ours] == [False, True, False]
    assert ours[0]['not_executable']['fix'] == 'make it executable: chmod +x %s' % (a / 'criu')
    assert [f for f in found if f['selected']] == [ours[1]]
    assert all(f['from'] == 'sbin' and f['path'].startswith(I.SBIN_DIRS) for f in found[3:])


def test_find_falls_back_to_sbin(tmp_path):
    found = I.find(str(tmp_path))
    assert all(f['from'] == 'sbin' for f in found)
    # on a host without criu in sbin (this one) that is an empty list, not an error
    executable = [f for f in found if f['executable']]
    assert [f for f in found if f['selected']] == executable[:1]


def test_fixture_file_is_what_the_capture_tool_writes():
    # provenance: every case names where it ran and holds criu's streams as they came
    for name, case in OUT.items():
        assert set(case) >= {'argv', 'rc', 'stdout', 'stderr', 'where', 'kernel'}, name
    with open(os.path.join(REPO, 'tests', 'tools', 'capture_criu_outputs.py')) as tool:
        assert 'installed_criu_outputs.json' in tool.read()
