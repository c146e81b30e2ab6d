# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_installed_criu's pure parts: the answers no other test held, found by mutating
parse(), version_tuple() and describe().

The outputs are criu's own (tests/unit/fixtures/installed_criu_outputs.json);
where one is changed, the comment says which line criu could print there.
"""

import json
import os

import pytest

from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'fixtures', 'installed_criu_outputs.json')) as _f:
    OUT = json.load(_f)


def raw_for(name, version='4.1.1', stderr=None, argv=None, **check):
    """check()'s dict for a captured output (``stderr`` replaces criu's)."""
    case = OUT[name]
    parsed = I.parse(case['rc'], case['stdout'], case['stderr'] if stderr is None else stderr)
    parsed.update({'argv': argv or ['/usr/sbin/criu', 'check'], 'isolation': 'mount_namespace',
                   'unprivileged': '--unprivileged' in (argv or [])}, **check)
    return {'binaries': [{'path': '/usr/sbin/criu', 'selected': True, 'version': version}],
            'path': '/usr/sbin/criu', 'version': version, 'gitid': None,
            'kernel': {'release': '6.18.44', 'arch': 'x86_64'}, 'os': {'id': 'debian', 'version_id': '13'},
            'check': parsed}


def test_parse_takes_no_output_as_empty():
    """check() passes None for a stream it could not read (criu not run, or killed before it wrote)."""
    p = I.parse(None, None, None, error='cannot run /usr/sbin/criu: [Errno 8] Exec format error')
    assert p['verdict'] == 'not_run'
    assert p['messages'] == p['raw_messages'] == ['cannot run /usr/sbin/criu: [Errno 8] Exec format error']
    p = I.parse(-9, None, None)
    assert p['verdict'] == 'cannot_start' and p['messages'] == p['raw_messages'] == ['criu was killed by signal 9 (SIGKILL)']
    # an exit code is no signal, 0 included (criu that printed nothing)
    for rc in (0, 1):
        assert I.parse(rc, '', '') == {'verdict': 'cannot_start', 'rc': rc, 'messages': [], 'raw_messages': []}


def test_lines_are_kept_without_surrounding_blanks():
    """criu_facts.criu.check.raw_messages: criu's lines as printed, but no blank line and no
    indentation or trailing blanks (criu pads its log columns)."""
    p = I.parse(1, '   \n', 'Warn  (criu/net.c:3683): net: Unable to get tun network namespace  \n  \t\n')
    assert p['raw_messages'] == ['Warn  (criu/net.c:3683): net: Unable to get tun network namespace']


def test_the_error_is_quoted_before_a_later_warning():
    """criu goes on logging warnings after the error that stops it (criu/net.c warns about
    NSID after "Unable create a network namespace"): the error is the reason, not the warning."""
    stderr = OUT['criu41_userns_check']['stderr'].replace(
        'Error (criu/kerndat.c:1793)', "Warn  (criu/net.c:4023): net: NSID isn't reported for network links\n"
        'Error (criu/kerndat.c:1793)')
    facts = I.describe(raw_for('criu41_userns_check', stderr=stderr), {'verdict': 'good'})
    assert '"Fail to mount tmfps to /tmp/.criu.move_mount_set_group.' in facts['reason']
    assert 'NSID' not in facts['reason']


def test_a_warning_is_quoted_before_criu_s_generic_closing_errors():
    """Only warnings besides kerndat_init()'s wrappers: the last warning says what went wrong."""
    stderr = ("Warn  (criu/net.c:4023): net: NSID isn't reported for network links\n"
              'Warn  (criu/net.c:3683): net: Unable to get tun network namespace\n'
              'Error (criu/kerndat.c:1793): kerndat_has_move_mount_set_group failed when initializing kerndat.\n'
              'Error (criu/crtools.c:267): Could not initialize kernel features detection.\n')
    facts = I.describe(raw_for('criu41_userns_check', stderr=stderr), {'verdict': 'good'})
    assert '"net: Unable to get tun network namespace"' in facts['reason']
    assert facts['disagreements'][0]['kind'] == 'ours'


def test_only_generic_errors_are_quoted_rather_than_nothing():
    stderr = 'Error (criu/crtools.c:267): Could not initialize kernel features detection.\n'
    facts = I.describe(raw_for('criu41_userns_check', stderr=stderr), {'verdict': 'good'})
    assert '"Could not initialize kernel features detection."' in facts['reason']


def test_a_silent_criu_that_cannot_start_says_so():
    facts = I.describe(raw_for('criu41_userns_check', stderr=''), {'verdict': 'good'})
    assert facts['reason'] == 'criu 4.1.1 (/usr/sbin/criu) stops in its start-up here, before any check: "no message".'
    assert facts['fix'] is None and facts['starts'] is False


def test_criu_and_probes_in_different_modes_are_not_compared():
    """criu ran with --unprivileged (it could not run as root here), the probes as root:
    criu's good answers another question than the probes' bad."""
    raw = raw_for('criu41_nonroot_cr_check_unpriv', argv=['/usr/sbin/criu', 'check', '--unprivileged'])
    facts = I.describe(raw, {'verdict': 'bad', 'environment': {'unprivileged': False}})
    assert facts['agrees'] is None and facts['disagreements'] == []
    assert facts['agrees_note'] == 'criu ran with --unprivileged and the probes without it: nothing to compare'
    same = I.describe(raw, {'verdict': 'bad', 'environment': {'unprivileged': True}})
    assert same['agrees'] is False and 'agrees_note' not in same


def test_a_criu_that_cannot_be_executed_says_why_and_how(tmp_path):
    """The only criu found has no execute bit (check() found it, selected none): installed, not
    executable, and the fix is chmod, not installing criu again."""
    criu = tmp_path / 'criu'
    criu.write_text('#!/bin/sh\necho "Version: 4.1.1"\n')
    criu.chmod(0o644)
    raw = {'binaries': [{'path': str(criu), 'selected': False, 'executable': False, 'version': None}],
           'path': None, 'version': None, 'gitid': None, 'check': None}
    facts = I.describe(raw, {'verdict': 'good'})
    assert (facts['installed'], facts['executable'], facts['usable'], facts['check']) == (True, False, False, None)
    assert facts['reason'] == ('criu is installed at %s but cannot be executed: its mode 0644 has no execute bit, so '
                               'runtimes, which run the first executable criu on PATH, find none.' % criu)
    assert facts['fix'] == 'Make it executable: chmod +x %s.' % criu


def test_a_newer_suite_is_offered_only_when_its_criu_has_the_fix():
    """Debian 12 on an arm64 kernel >= 6.12: the fix is in criu 4.2, and Debian 13's criu 4.1.1
    (what criu_install_apt_suite would bring) still stops there: upstream is the only way."""
    stderr = OUT['criu317_root_check']['stderr'].replace('Unexpected rt vDSO area bounds', 'ELF header magic mismatch')
    raw = raw_for('criu317_root_check', version='3.17.1', stderr=stderr)
    raw['os'] = {'id': 'debian', 'version_id': '12'}
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['disagreements'][0]['kind'] == 'criu_too_old'
    assert facts['fix'] == ('Install criu 4.2 or newer (https://github.com/checkpoint-restore/criu/releases), or boot a '
                            'kernel that criu 3.17.1 supports; see %s.' % I.TOO_OLD[1]['ref'])
    assert 'criu_install_apt_suite' not in facts['fix']


def test_each_disagreement_explains_itself():
    """Which side passes decides the explanation (criu_facts.criu.disagreements[].explanation)."""
    criu_fails = I.describe(raw_for('criu41_ro_proc_sys_check'), {'verdict': 'good'})['disagreements']
    bad = I.describe(raw_for('criu41_ro_proc_sys_check'), {'verdict': 'good'})
    assert bad['fix'] == 'See the missing required features of the probes (criu_facts.missing.required) and their fixes.'
    assert criu_fails[0]['explanation'] == ('criu fails its check with "sys/kernel/ns_last_pid sysctl is inaccessible: '
                                            'Read-only file system", but every required probe passes')
    criu_passes = I.describe(raw_for('criu41_root_check'), {'verdict': 'bad', 'missing': {'required': ['map_files']}})
    assert criu_passes['disagreements'][0]['explanation'] == 'criu passes its check, but the probes find map_files missing'
    # bad without a missing required probe: a start blocker (the test mount in a user namespace)
    blocked = I.describe(raw_for('criu41_root_check'), {'verdict': 'bad', 'missing': {'required': []}})
    assert blocked['disagreements'][0]['explanation'] == 'criu passes its check, but the probes find a required feature missing'
    whole = raw_for('criu41_root_check_all', argv=['/usr/sbin/criu', 'check', '--all'])
    assert I.describe(whole, {'verdict': 'good'})['disagreements'] == [
        {'criu': 'good_but', 'probes': 'good', 'kind': 'ours', 'explanation': 'criu says good_but, the probes say good'}]


def test_check_extra_is_compared_exactly_too():
    """criu check --extra runs the extra checks as --all does (criu/cr-check.c): good_but then means
    an extra feature is missing, which the probes' good denies."""
    raw = raw_for('criu41_root_check_all', argv=['/usr/sbin/criu', 'check', '--extra'])
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['agrees'] is False and facts['disagreements'][0]['kind'] == 'ours'
    same = I.describe(raw, {'verdict': 'good_but'})
    assert same['agrees'] is True and same['starts'] is True and same['usable'] is True


def test_a_message_printed_from_two_places_is_one_message():
    p = I.parse(1, '', 'Error (criu/net.c:3967): net: Unable create a network namespace: Operation not permitted\n'
                       'Error (criu/net.c:3990): net: Unable create a network namespace: Operation not permitted\n')
    assert p['messages'] == ['net: Unable create a network namespace: Operation not permitted']
    assert len(p['raw_messages']) == 2


def test_no_version_output_is_no_version():
    assert I.parse_version(None) == (None, None)


def test_the_cache_warning_is_never_the_reason():
    """criu --unprivileged without $XDG_RUNTIME_DIR warns that it has nowhere for its cache (the
    isolation's doing): never the reason, even when only kerndat_init()'s wrappers follow."""
    stderr = ('Warn  (criu/kerndat.c:1195): $XDG_RUNTIME_DIR not set. Cannot find location for kerndat file\n'
              'Error (criu/kerndat.c:1793): kerndat_has_move_mount_set_group failed when initializing kerndat.\n'
              'Error (criu/crtools.c:267): Could not initialize kernel features detection.\n')
    facts = I.describe(raw_for('criu41_userns_check', stderr=stderr), {'verdict': 'good'})
    assert '"Could not initialize kernel features detection."' in facts['reason']


def test_the_release_with_the_fix_is_not_too_old():
    """criu 4.1 itself has the vDSO fix: a criu 4.1 stopping there has another cause."""
    facts = I.describe(raw_for('criu317_root_check', version='4.1'), {'verdict': 'good'})
    assert facts['disagreements'][0]['kind'] == 'ours' and 'criu 4.1 or newer' not in (facts['fix'] or '')
    assert I.describe(raw_for('criu317_root_check', version='4.0.99'), {'verdict': 'good'})['disagreements'][0]['kind'] \
        == 'criu_too_old'


def test_criu_stopped_by_its_context_gets_the_context_fix():
    """criu in a user namespace: "Operation not permitted" in its start-up is the context, not criu or the kernel."""
    raw = raw_for('criu41_userns_check')
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['fix'] == ('Run criu where it may do what its start-up needs (root with CAP_SYS_ADMIN, outside a user '
                            'namespace or restricted container), or with --unprivileged.')
    # criu's lines as printed, prefixes and all, are kept in the facts
    assert facts['check']['raw_messages'] == raw['check']['raw_messages']
    assert 'Error (criu/crtools.c:267): Could not initialize kernel features detection.' in facts['check']['raw_messages']


def test_a_criu_of_unknown_version_is_named_so():
    """criu --version gave nothing (it timed out), criu check stopped on the vDSO: it is called too
    old, and every sentence names it without a version.  Debian sid has no VERSION_ID: no suite to offer."""
    raw = raw_for('criu317_root_check', version=None)
    raw['os'] = {'id': 'debian', 'version_id': None, 'name': 'Debian GNU/Linux trixie/sid'}
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['reason'].startswith('criu of unknown version (/usr/sbin/criu) cannot start on kernel 6.18.44: ')
    assert 'or boot a kernel that criu as installed supports; ' in facts['fix']


def test_the_first_criu_that_cannot_be_executed_is_named(tmp_path):
    """Two criu found, neither executable: the one runtimes would meet first (find()'s order) is named."""
    first, second = tmp_path / 'a' / 'criu', tmp_path / 'b' / 'criu'
    for criu in (first, second):
        criu.parent.mkdir()
        criu.write_text('#!/bin/sh\n')
        criu.chmod(0o644)
    raw = {'binaries': [{'path': str(first), 'selected': False, 'executable': False},
                        {'path': str(second), 'selected': False, 'executable': False}],
           'path': None, 'version': None, 'gitid': None, 'check': None}
    facts = I.describe(raw)
    assert facts['reason'].startswith('criu is installed at %s but cannot be executed' % first)
    assert facts['fix'] == 'Make it executable: chmod +x %s.' % first


@pytest.mark.parametrize('error', ['Permission denied', 'Read-only file system'])
def test_a_start_up_refused_by_the_context_is_the_environment(error):
    """EACCES (an LSM's denial) or EROFS (a read-only /proc/sys) in criu's start-up: its context, not criu."""
    stderr = OUT['criu41_no_sys_admin_check']['stderr'].replace('Operation not permitted', error)
    facts = I.describe(raw_for('criu41_no_sys_admin_check', stderr=stderr), {'verdict': 'good'})
    assert facts['disagreements'][0]['kind'] == 'environment'
    assert facts['fix'].startswith('Run criu where it may do what its start-up needs')


def test_version_tuple_reads_what_criu_prints():
    """criu --version prints 4.2, 4.1.1 or 4.2-rc1 (criu/Makefile.versions): missing parts are 0."""
    assert I.version_tuple('4.2') == I.version_tuple('4.2.0') == I.version_tuple('4.2-rc1') == (4, 2, 0)
    assert I.version_tuple('4.1.1') == (4, 1, 1) and I.version_tuple('4') == (4, 0, 0)
    assert I.version_tuple('') is None and I.version_tuple(None) is None
    # criu 4.1.0 has the vDSO fix of 4.1
    facts = I.describe(raw_for('criu317_root_check', version='4.1.0'), {'verdict': 'good'})
    assert facts['disagreements'][0]['kind'] == 'ours'


@pytest.mark.parametrize('name, stderr, verdict, where', [
    # The stderr criu 4.1.1 printed as uid 65534 allowed 8 processes, beside the module's workers.
    ('criu41_ro_proc_sys_check', 'Error (criu/util.c:722): fork: Resource temporarily unavailable\n'
                                 'Warn  (criu/cr-check.c:1661): Does not look good.\n', 'bad', 'by its check'),
    ('criu41_no_sys_admin_check', 'Error (criu/arch/x86/kerndat.c:33): kdat_can_map_vdso(): failed to fork(): '
                                  'Resource temporarily unavailable\nError (criu/kerndat.c:782): kdat_can_map_vdso '
                                  'failed\n', 'cannot_start', 'in its start-up'),
])
def test_a_criu_refused_a_process_names_the_limit_and_is_the_environment_s_disagreement(name, stderr, verdict, where):
    """A criu the kernel refused a process (EAGAIN) fails for the limit it runs under, not for the kernel: the
    reason quotes the refusal and the limit, the fix raises it, and the disagreement with passing probes is the
    environment's (tests/system/test_criu_under_limits.py meets it for real in the start-up)."""
    facts = I.describe(raw_for(name, stderr=stderr), {'verdict': 'good'})
    assert facts['check']['verdict'] == verdict and I.refused_a_process(facts['check']['messages'])
    assert facts['reason'].startswith('criu 4.1.1 (/usr/sbin/criu) was refused a process %s: "' % where)
    assert 'Resource temporarily unavailable"; the process limit it runs under (RLIMIT_NPROC ' in facts['reason']
    assert facts['fix'] == 'R%s.' % I.PROCESS_LIMIT_FIX[1:]
    assert [d['kind'] for d in facts['disagreements']] == ['environment'] and facts['agrees'] is False


@pytest.mark.parametrize('version, refused, limits', [
    ('4.1.1', True, ['inet_sockets']), ('4.1.99', True, ['inet_sockets']), ('4.2', True, []), ('4.2.1', True, []),
    ('4.1.1', False, []), ('4.1.1', None, []), (None, True, [])])
def test_what_a_criu_that_starts_cannot_dump(version, refused, limits):
    """criu before 4.2 on a kernel that refuses SO_PASSCRED on an IPv4 socket (6.16 and newer) cannot dump a process
    with such a socket; it stays usable (it dumps others).  A criu of unknown version, or a kernel whose answer is
    not known, is not said to be limited."""
    raw = raw_for('criu41_root_check', version=version)
    raw['kernel']['inet_passcred_refused'] = refused
    facts = I.describe(raw, {'verdict': 'good'})
    assert facts['usable'] is True and facts['reason'] is None, facts
    assert [limit['id'] for limit in facts['cannot_dump']] == limits


def test_a_criu_that_does_not_start_has_no_dump_limits():
    raw = raw_for('criu317_root_check', version='3.17.1')
    raw['kernel']['inet_passcred_refused'] = True
    assert I.describe(raw, {'verdict': 'good'})['cannot_dump'] == []


def test_a_dump_limit_offers_a_suite_only_where_its_criu_has_the_fix():
    """Debian 12's install role suite is trixie, whose criu 4.1.1 predates the fix: the fix names upstream and the
    kernels before 6.16, not that suite."""
    raw = raw_for('criu41_root_check')
    raw['kernel']['inet_passcred_refused'] = True
    raw['os'] = {'id': 'debian', 'version_id': '12'}
    limit, = I.describe(raw, {'verdict': 'good'})['cannot_dump']
    assert limit['fix'] == ('Install criu 4.2 or newer (%s), or boot a kernel older than 6.16; see %s.'
                            % (I.UPSTREAM, limit['ref']))
    assert limit['reason'] == (
        'criu 4.1.1 (/usr/sbin/criu) cannot dump a process with an IPv4, IPv6 or packet socket (a network server or '
        'client) on kernel 6.18.44: %s; its dump stops with "sockets: Can\'t get 1:16 opt: Operation not supported".'
        % limit['why'])


@pytest.mark.parametrize('version, says', [
    ('4.1.1', 'criu 4.1.1 cannot dump a process with an IPv4'), (None, 'criu of unknown version cannot dump a'),
    ('4.2.1', None)])
def test_the_advice_on_a_dump_that_stopped_so(monkeypatch, version, says):
    """What the dump modules add to criu's line: by the criu that failed; none from a criu that has the fix."""
    from ansible_collections.criu.check.plugins.module_utils import _smoke
    monkeypatch.setattr(I, 'read_version', lambda criu, env, timeout: (version, None, None))
    hint = _smoke.advice("sockets: Can't get 1:16 opt: Operation not supported", criu='/opt/criu')
    if says is None:
        assert hint is None
    else:
        assert hint.startswith(says) and hint.endswith('(%s)' % I.CANNOT_DUMP[0]['ref']), hint
