# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Pair decisions the other tests left open: each asserts a migration answer (a mode, a verdict, a
reason, a fix, what was checked) that a small change in _pair.py or the criu_migration filter would
get wrong without another test noticing.

As in test_pair.py, the facts are this host's, gathered once by the engine, with criu 4.1.1 as the
installed criu (from its real outputs); each case changes a copy where the other host would differ."""

import pytest

import test_pair

from ansible_collections.criu.check.plugins.filter import criu_migration as F
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils import _pair

PRE, STOP, POST = _pair.PRE_COPY, _pair.STOP_AND_COPY, _pair.POST_COPY


# This host's facts and the two copies each case changes, as test_pair.py has them.
host, src, dst = test_pair.host, test_pair.src, test_pair.dst


def test_the_filter_is_exposed_under_its_name():
    assert F.FilterModule().filters() == {'criu_migration': F.criu_migration}


def test_a_reachable_page_server_is_checked_and_changes_nothing(src, dst):
    v = _pair.decide(src, dst, pair={'page_server': {'reachable': True, 'message': ''}})
    assert v['mode'] == STOP and v['possible'] is True
    assert v['modes'][STOP] == {'ok': True, 'reasons': [], 'fixes': []}
    assert 'page_server' in v['checked'] and 'page_server' not in v['not_checked']


def test_facts_without_a_cgroup_layout_are_gathered_again_not_called_unmounted(src, dst):
    """Facts of an older release carry no environment.cgroup: the fix is to gather them again.  A host
    without a cgroup file system says cgroup: null, and is not known."""
    del dst['environment']['cgroup']
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['modes'][STOP]['ok'] is None and 'cgroup' in v['not_checked']
    assert 'cannot tell whether the cgroup layout is the same: the facts of web2 do not carry it' in v['reasons']
    assert _pair.REGATHER_FIX % 'web2' in v['fixes']
    del src['environment']['cgroup']
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['modes'][STOP]['ok'] is None and 'cgroup' in v['not_checked']
    assert 'cannot tell whether the cgroup layout is the same: the facts of web1 do not carry it' in v['reasons']


@pytest.mark.parametrize('side, name', [('src', 'web1'), ('dst', 'web2')])
def test_a_cgroup_layout_known_on_one_host_only_cannot_be_compared(src, dst, side, name):
    {'src': src, 'dst': dst}[side]['environment']['cgroup'] = None
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['modes'][STOP]['ok'] is None and v['possible'] is None
    assert ('cannot tell whether the cgroup layout is the same: it is not known on %s (no cgroup file system is '
            'mounted on /sys/fs/cgroup there)' % name) in v['reasons']


def test_no_cgroup_file_system_on_either_host_is_the_same_layout(src, dst):
    src['environment']['cgroup'] = dst['environment']['cgroup'] = None
    v = _pair.decide(src, dst)
    assert v['mode'] == STOP and 'cgroup' in v['checked']


def test_reasons_are_sentences_without_trailing_blanks_or_full_stops(src, dst):
    for probe_id in ('uffd', 'uffd-noncoop'):
        dst['probes'][probe_id].update(status='unsupported', message=' UFFD is not supported.\n')
    v = _pair.decide(src, dst)
    assert v['modes'][POST]['reasons'] == ['uffd on destination: unsupported: UFFD is not supported',
                                           'uffd-noncoop on destination: unsupported: UFFD is not supported']


def test_a_message_that_is_not_text_is_refused_by_name(src, dst):
    with pytest.raises(_pair.PairError) as info:
        _pair.decide(src, dst, pair={'cpuinfo': {'compatible': False, 'message': 5}})
    assert str(info.value) == 'pair.cpuinfo.message must be a string, not 5'


def test_a_destination_without_criu_says_so_once(src, dst):
    """criu_usable says criu is not installed, with the fix; the criu version is then not checked, not a
    second reason that the version is unknown."""
    dst['criu'] = _installed_criu.describe({'binaries': [], 'path': None, 'version': None}, dst)
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['possible'] is False and v['mode'] is None
    assert v['modes'][STOP]['reasons'] == ['criu is not usable on web2: criu is not installed: no criu on PATH nor '
                                           'in %s' % ', '.join(_installed_criu.SBIN_DIRS)]
    assert v['modes'][STOP]['fixes'] == ['Install criu, for example with the criu.check.install role']
    assert 'criu_version' in v['not_checked'] and 'criu_version' not in v['checked']


def test_criu_facts_without_usable_cannot_tell_rather_than_say_unusable(src, dst):
    dst['criu'] = {'installed': True, 'path': '/usr/sbin/criu', 'version': '4.1.1'}
    v = _pair.decide(src, dst)
    assert v['possible'] is None and v['modes'][STOP]['ok'] is None
    assert [r for r in v['reasons'] if 'criu' in r] == [
        'cannot tell whether criu is usable on destination: its facts carry no criu (gathered without the installed '
        'criu\'s check)']
    # The source answered: the check gave an answer on one host, and is listed once, as checked.
    assert 'criu_usable' in v['checked'] and 'criu_usable' not in v['not_checked']


def test_an_undecided_soft_dirty_probe_makes_pre_copy_cannot_tell(src, dst):
    src['probes']['mem_dirty_track'].update(status='unknown', message='timed out', fix='raise the probes\' timeout.')
    v = _pair.decide(src, dst)
    assert v['modes'][PRE]['ok'] is None and v['mode'] == STOP and v['possible'] is True
    assert v['modes'][PRE]['reasons'] == ['cannot tell whether source has mem_dirty_track (unknown): timed out']
    assert v['modes'][PRE]['fixes'] == ['raise the probes\' timeout']
    assert 'pre-copy: cannot tell whether source has mem_dirty_track (unknown): timed out' in v['reasons']
    assert 'mem_dirty_track' in v['not_checked']


def test_an_incompatible_cpu_without_criu_s_words_still_says_which_check_failed(src, dst):
    v = _pair.decide(src, dst, pair={'cpuinfo': {'compatible': False}})
    assert ('the CPU of destination lacks what the CPU of source offers (criu cpuinfo check on destination: criu '
            'cpuinfo check failed)') in v['modes'][STOP]['reasons']


@pytest.mark.parametrize('evidence', [True, 'compatible', ['compatible']])
def test_pair_evidence_that_is_not_a_dictionary_is_refused_by_name(src, dst, evidence):
    with pytest.raises(_pair.PairError) as info:
        _pair.decide(src, dst, pair={'cpuinfo': evidence})
    assert str(info.value).startswith('pair.cpuinfo must be a dictionary with compatible: true or false')


def test_pair_evidence_with_a_null_message_is_accepted(src, dst):
    v = _pair.decide(src, dst, pair={'cpuinfo': {'compatible': True, 'message': None}})
    assert v['mode'] == STOP and 'cpuinfo' in v['checked']


def test_criu_unusable_without_a_reason_says_its_check_did_not_pass(src, dst):
    dst['criu'] = {'installed': True, 'path': '/usr/sbin/criu', 'version': '4.1.1', 'usable': False}
    v = _pair.decide(src, dst)
    assert v['possible'] is False
    assert v['modes'][STOP]['reasons'] == ['criu is not usable on destination: its own check did not pass']


def test_a_kernel_not_ready_comes_with_the_probe_s_fix(src, dst):
    dst['probes']['map_files'].update(status='unsupported', message='/proc/PID/map_files is inaccessible',
                                      fix='boot a kernel with CONFIG_CHECKPOINT_RESTORE=y')
    v = _pair.decide(src, dst)
    assert v['modes'][STOP]['fixes'] == ['boot a kernel with CONFIG_CHECKPOINT_RESTORE=y']


def test_facts_without_any_architecture_are_gathered_again(src, dst):
    del dst['kernel']['arch'], dst['environment']['arch']
    v = _pair.decide(src, dst)
    assert ('cannot tell whether the architecture is the same: the facts of destination do not carry it'
            in v['reasons'])
    assert _pair.REGATHER_FIX % 'destination' in v['fixes']


def test_criu_that_cannot_start_is_why_the_kernel_is_not_ready(src, dst):
    dst['environment'].update(criu_can_start=False, criu_start_blockers=['CRIU needs to have the CAP_SYS_ADMIN or '
                                                                         'the CAP_CHECKPOINT_RESTORE capability'])
    v = _pair.decide(src, dst)
    assert v['modes'][STOP]['ok'] is False
    assert [r for r in v['modes'][STOP]['reasons'] if 'kernel' in r] == [
        'the kernel of destination is not ready for criu: criu_start (criu start-up): blocked: CRIU needs to have the '
        'CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability; fix: run criu as root with CAP_SYS_ADMIN or '
        'CAP_CHECKPOINT_RESTORE (on the host or in a privileged container), or as a user give criu '
        'CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+eip $(command -v criu), not on a nosuid mount) and '
        "run it with --unprivileged (the modules' unprivileged: true)"]


def test_a_page_size_that_is_not_known_is_not_checked(src, dst):
    dst['environment']['page_size'] = None
    v = _pair.decide(src, dst)
    assert v['mode'] == STOP and 'page_size' in v['not_checked'] and 'page_size' not in v['checked']


def test_an_unreachable_page_server_s_fix_names_both_hosts_the_right_way_round(src, dst):
    v = _pair.decide(src, dst, pair={'page_server': {'reachable': False}}, source_name='web1',
                     destination_name='web2')
    assert v['modes'][STOP]['reasons'] == ['the page server on web2 cannot be reached from web1']
    assert v['modes'][STOP]['fixes'] == ['open the page server\'s TCP port on web2 to web1, or give an address of '
                                         'web2 that web1 can reach']


def test_an_empty_dictionary_is_not_facts():
    with pytest.raises(_pair.PairError) as info:
        _pair.decide({}, {})
    assert str(info.value).endswith('it has no probes dictionary (keys: none)')


def test_a_criu_version_that_is_not_known_cannot_tell_which_criu_reads_the_images(src, dst):
    src['criu']['version'] = None
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['modes'][STOP]['ok'] is None and 'criu_version' in v['not_checked']
    assert v['modes'][STOP]['reasons'] == [
        'cannot tell whether criu on web2 can read the images: the criu version of web1 is not known']
    assert v['modes'][STOP]['fixes'] == ['install criu on web1 (for example with the criu.check.install role)']


def test_a_host_whose_facts_say_criu_cannot_start_without_a_reason_is_not_ready(src, dst):
    """The require role (criu_unmet) and the migration decision read such facts alike: criu would not
    start there (the matrix said pre-copy)."""
    dst['environment'].update(criu_can_start=False, criu_start_blockers=[])
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['possible'] is False and v['mode'] is None, v
    assert any('the kernel of web2 is not ready for criu' in r and 'criu would refuse to start here' in r
               for r in v['reasons']), v['reasons']


def test_a_probe_without_a_message_is_named_with_its_status_once(src, dst):
    src['probes']['mem_dirty_track'].update(status='unsupported', message='')
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert 'mem_dirty_track on web1: unsupported' in v['modes'][PRE]['reasons'], v['modes'][PRE]


def _cannot_dump_sockets():
    """criu_facts.criu.cannot_dump of criu 4.1.1 on a kernel that refuses SO_PASSCRED on IPv4 sockets (6.16+)."""
    return _installed_criu.cannot_dump({'version': '4.1.1', 'path': '/usr/sbin/criu', 'os': {'id': 'debian', 'version_id': '13'},
                                        'kernel': {'inet_passcred_refused': True, 'release': '6.18.1'}})


def test_criu_options_that_say_the_tree_holds_sockets_meet_what_the_source_s_criu_cannot_dump(src, dst):
    """tcp_established (or tcp_close, skip_in_flight) says the tree holds network sockets: a source whose criu
    cannot dump those fails every mode, with criu's reason and fix; options that say nothing of sockets, or none,
    check nothing; the destination's limits are not the dump's."""
    src['criu']['cannot_dump'] = _cannot_dump_sockets()
    limit = src['criu']['cannot_dump'][0]
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2',
                     criu_options={'tcp_established': True, 'skip_in_flight': True, 'file_locks': True})
    assert v['possible'] is False and v['mode'] is None
    assert all(v['modes'][mode]['ok'] is False for mode in (PRE, STOP, POST)), v['modes']
    reason = ('with criu_options.tcp_established, criu_options.skip_in_flight the tree holds what criu on web1 '
              'cannot dump: %s' % limit['reason'].rstrip('.'))
    assert reason in v['reasons'] and limit['fix'].rstrip('.') in v['fixes'], v
    assert 'criu_dump' in v['checked']
    for options in (None, {}, {'file_locks': True, 'tcp_established': False}):
        v = _pair.decide(src, dst, criu_options=options)
        assert v['mode'] == STOP and 'criu_dump' not in v['checked'] + v['not_checked'], v
    del src['criu']['cannot_dump']
    dst['criu']['cannot_dump'] = _cannot_dump_sockets()
    v = _pair.decide(src, dst, criu_options={'tcp_close': True})
    assert v['mode'] == STOP and 'criu_dump' in v['checked'], v


@pytest.mark.parametrize('options, message', [
    ({'tcp_establish': True}, 'unknown criu_options: tcp_establish (valid: tcp_established, tcp_close, '
                              'skip_in_flight, file_locks, shell_job, ext_unix_sk, link_remap)'),
    ({'tcp_close': 'yes'}, 'criu_options.tcp_close must be true or false'),
    (['tcp_close'], 'criu_options must be a dictionary of tcp_established, tcp_close, skip_in_flight, file_locks, '
                    'shell_job, ext_unix_sk, link_remap (each true or false), not list'),
])
def test_criu_options_that_are_not_valid_are_refused_naming_what_is(src, dst, options, message):
    with pytest.raises(_pair.PairError) as raised:
        _pair.decide(src, dst, criu_options=options)
    assert str(raised.value) == message
    with pytest.raises(F.AnsibleFilterError, match='criu_migration: ' + message.split(' (')[0]):
        F.criu_migration(src, dst, criu_options=options)
