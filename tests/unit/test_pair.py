# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""_pair.decide() and the criu_migration filter, on real facts.

The facts are this host's, gathered once by the engine as criu_facts gathers
them (_check.run: every probe, the environment, the kernel); this host has no
criu, so its ``criu`` facts are those _installed_criu.describe() makes from
real criu outputs (tests/unit/fixtures/installed_criu_outputs.json: criu
4.1.1 passing its check here, Debian 12's criu 3.17.1 stopping in its vDSO
set-up on this kernel).  Each case changes a copy where the other host
would differ; what this host really lacks (soft-dirty memory tracking) is
taken as it is.
"""

import copy
import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

import conftest
import return_doc

from ansible_collections.criu.check.plugins.filter.criu_migration import criu_migration
from ansible_collections.criu.check.plugins.module_utils import _check
from ansible_collections.criu.check.plugins.module_utils import _pair

PRE, STOP, POST = 'pre-copy', 'stop-and-copy', 'post-copy'
CPU_MISMATCH = 'cpu: CPU instruction capabilities do not match run time'   # criu 4.1.1's words (criu/arch/x86/cpu.c)


criu_facts = conftest.installed_criu_facts


@pytest.fixture(scope='module')
def host():
    """This host's facts, with criu 4.1.1 as the installed criu."""
    facts = _check.run(_check.by_categories([_check.ALL]), timeout=10)
    facts['criu'] = criu_facts('criu41_root_check', '4.1.1', facts)
    return facts


@pytest.fixture
def src(host):
    return copy.deepcopy(host)


@pytest.fixture
def dst(host):
    return copy.deepcopy(host)


def with_probe(facts, probe_id, status, message=''):
    facts['probes'][probe_id].update(status=status, message=message)
    return facts


def test_the_host_is_what_the_cases_assume(host):
    # If this host's kernel changes, the cases below must be read again.
    assert host['ready'] is True and host['criu']['usable'] is True
    assert host['probes']['mem_dirty_track']['status'] == 'unsupported'
    assert host['probes']['mem_dirty_track']['message'] == 'Dirty tracking is OFF. Memory snapshot will not work.'
    assert host['environment']['page_size'] == os.sysconf('SC_PAGE_SIZE')


def test_this_host_to_itself_is_stop_and_copy_for_want_of_soft_dirty(src, dst):
    v = _pair.decide(src, dst)
    assert v['possible'] is True and v['mode'] == STOP
    assert v['modes'][STOP] == {'ok': True, 'reasons': [], 'fixes': []}
    assert v['modes'][PRE]['ok'] is False
    assert v['modes'][PRE]['reasons'] == ['mem_dirty_track on source: unsupported: Dirty tracking is OFF. '
                                          'Memory snapshot will not work']
    assert 'CONFIG_MEM_SOFT_DIRTY' in v['modes'][PRE]['fixes'][0]
    assert v['reasons'] == ['pre-copy: ' + v['modes'][PRE]['reasons'][0]]
    # This kernel has userfaultfd with the non-cooperative events.
    assert v['modes'][POST] == {'ok': True, 'reasons': [], 'fixes': []}
    assert v['checked'] == ['criu_usable', 'kernel_ready', 'arch', 'page_size', 'criu_version', 'criu_release',
                            'cgroup', 'mem_dirty_track', 'uffd', 'uffd-noncoop']
    assert v['not_checked'] == ['cpuinfo', 'page_server']


def test_a_source_with_soft_dirty_makes_it_pre_copy(src, dst):
    with_probe(src, 'mem_dirty_track', 'supported')
    v = _pair.decide(src, dst)
    assert v['mode'] == PRE and v['possible'] is True and v['reasons'] == []
    # Only the source's tracking matters: the destination only receives pages.
    v = _pair.decide(copy.deepcopy(dst), with_probe(copy.deepcopy(src), 'mem_dirty_track', 'supported'))
    assert v['mode'] == STOP


def test_an_older_destination_criu_cannot_read_the_images(src, dst):
    dst['criu']['version'] = '3.19'
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['possible'] is False and v['mode'] is None
    for mode in (PRE, STOP, POST):
        assert v['modes'][mode]['ok'] is False
    reason = 'criu 3.19 on web2 is older than criu 4.1.1 on web1: images are read by the criu that wrote them ' \
             'or a newer one'
    assert reason in v['reasons']
    assert 'install criu 4.1.1 or newer on web2 (for example with the criu.check.install role)' in v['fixes']


def test_a_newer_patch_release_on_the_destination_is_fine(src, dst):
    dst['criu']['version'] = '4.1.2'
    assert _pair.decide(src, dst)['modes'][STOP]['ok'] is True
    # ... but not the other way round: images of 4.1.2 are not for 4.1.1.
    assert _pair.decide(dst, src)['modes'][STOP]['ok'] is False


def test_another_release_series_is_refused_both_ways(src, dst):
    """criu 4.1.1 dumping to a page server of criu 4.2.1 hung (test_vm_migration.py):
    the page-server protocol needs one release series on both sides."""
    dst['criu']['version'] = '4.2.1'
    v = _pair.decide(src, dst, source_name='web1', destination_name='web2')
    assert v['possible'] is False and all(v['modes'][m]['ok'] is False for m in (PRE, STOP, POST))
    assert [r for r in v['reasons'] if 'criu' in r] == [
        'criu 4.1.1 on web1 and criu 4.2.1 on web2 are different releases: their page servers do not talk to each '
        'other (criu\'s page-server protocol carries no version; 4.1 to 4.2 was seen to hang)']
    assert 'install the same criu release (4.2) on both hosts' in v['fixes']
    # The other way round the images rule speaks first, alone.
    v = _pair.decide(dst, src, source_name='web2', destination_name='web1')
    assert [r for r in v['reasons'] if 'criu' in r] == [
        'criu 4.1.1 on web1 is older than criu 4.2.1 on web2: images are read by the criu that wrote them or a newer one']


def test_an_aarch64_destination(src, dst):
    dst['kernel']['arch'] = dst['environment']['arch'] = 'aarch64'
    v = _pair.decide(src, dst)
    assert v['possible'] is False and all(v['modes'][m]['ok'] is False for m in (PRE, STOP, POST))
    assert ('the architecture differs: x86_64 on source, aarch64 on destination (criu restores only on the '
            'architecture it dumped)') in v['reasons']


def test_a_different_page_size(src, dst):
    dst['environment']['page_size'] = 65536
    v = _pair.decide(src, dst)
    assert v['modes'][STOP]['ok'] is False
    assert any('page size differs: 4096 on source, 65536 on destination' in r for r in v['reasons'])


def test_facts_without_a_page_size_are_not_checked_for_it(src, dst):
    del dst['environment']['page_size']          # facts of criu.check 0.2.0
    v = _pair.decide(src, dst)
    assert v['mode'] == STOP and 'page_size' in v['not_checked'] and 'page_size' not in v['checked']


def test_a_different_cgroup_layout(src, dst):
    assert src['environment']['cgroup'] == 'hybrid'
    dst['environment']['cgroup'] = 'v2'
    v = _pair.decide(src, dst)
    assert v['possible'] is False
    assert any(r.startswith('the cgroup layout differs: hybrid on source, v2 on destination') for r in v['reasons'])


def test_a_destination_without_uffd_rules_out_post_copy_only(src, dst):
    with_probe(dst, 'uffd', 'unsupported', 'UFFD is not supported')
    with_probe(dst, 'uffd-noncoop', 'unsupported', 'UFFD is not supported')
    v = _pair.decide(src, dst)
    assert v['mode'] == STOP and v['modes'][POST]['ok'] is False
    assert v['modes'][POST]['reasons'] == ['uffd on destination: unsupported: UFFD is not supported',
                                           'uffd-noncoop on destination: unsupported: UFFD is not supported']
    assert 'CONFIG_USERFAULTFD' in v['modes'][POST]['fixes'][0]
    # Post-copy's reasons are not the pair's: it is never chosen.
    assert not any('uffd' in r for r in v['reasons'])
    # The source needs no userfaultfd for post-copy.
    v = _pair.decide(dst, src)
    assert v['modes'][POST]['ok'] is True


def test_post_copy_is_never_chosen(src, dst):
    v = _pair.decide(src, dst, pair={'page_server': {'reachable': False, 'message': 'No route to host'}})
    assert v['modes'][POST]['ok'] is True
    assert v['mode'] is None and v['possible'] is False


def test_criu_unusable_quotes_its_reason(src, dst):
    src['criu'] = criu_facts('criu317_root_check', '3.17.1', src)
    assert src['criu']['usable'] is False
    v = _pair.decide(src, dst)
    assert v['possible'] is False and v['mode'] is None
    reason = [r for r in v['reasons'] if r.startswith('criu is not usable on source: ')]
    assert len(reason) == 1 and 'vdso: Unexpected rt vDSO area bounds' in reason[0]
    assert any('criu_install_apt_suite: trixie' in f for f in v['fixes'])


def test_a_kernel_not_ready(src, dst):
    with_probe(dst, 'map_files', 'unsupported', '/proc/PID/map_files is inaccessible')
    v = _pair.decide(src, dst)
    assert v['possible'] is False
    assert any(r.startswith('the kernel of destination is not ready for criu: map_files (required by criu): '
                            'unsupported') for r in v['reasons'])
    # An undecided required probe: cannot tell.
    with_probe(dst, 'map_files', 'unknown', 'timed out')
    v = _pair.decide(src, dst)
    assert v['possible'] is None and v['modes'][STOP]['ok'] is None and 'kernel_ready' in v['checked']
    assert any(r.startswith('cannot tell whether the kernel of destination is ready') for r in v['reasons'])


def test_cpuinfo_incompatible_quotes_criu(src, dst):
    v = _pair.decide(src, dst, pair={'cpuinfo': {'compatible': False, 'message': CPU_MISMATCH}})
    assert v['possible'] is False and 'cpuinfo' in v['checked']
    assert ('the CPU of destination lacks what the CPU of source offers (criu cpuinfo check on destination: %s)'
            % CPU_MISMATCH) in v['modes'][POST]['reasons']
    v = _pair.decide(src, dst, pair={'cpuinfo': {'compatible': True, 'message': ''}})
    assert v['mode'] == STOP and 'cpuinfo' in v['checked'] and v['not_checked'] == ['page_server']


def test_a_registered_criu_cpuinfo_result_is_evidence(src, dst):
    registered = {'changed': False, 'compatible': True, 'message': '', 'criu': {'path': '/usr/sbin/criu'},
                  'invocation': {'module_args': {'state': 'check'}}}
    v = _pair.decide(src, dst, pair={'cpuinfo': registered})
    assert 'cpuinfo' in v['checked'] and 'cpuinfo' not in v['not_checked']


def test_page_server_unreachable(src, dst):
    v = _pair.decide(src, dst, pair={'page_server': {'reachable': False, 'message': 'Connection refused'}})
    assert v['modes'][STOP]['ok'] is False and v['modes'][PRE]['ok'] is False
    assert v['modes'][POST]['ok'] is True      # there the destination connects to the source
    assert 'the page server on destination cannot be reached from source: Connection refused' in v['reasons']


@pytest.mark.parametrize('where, expect', [
    (('dst', 'criu'), 'cannot tell whether criu is usable on destination'),
    (('src', 'probes', 'mem_dirty_track'), 'pre-copy: cannot tell whether source has mem_dirty_track'),
    (('src', 'probes', 'map_files'), 'cannot tell whether the kernel of source is ready'),
    (('dst', 'kernel'), None),                     # environment.arch still says
    (('dst', 'environment'), 'cannot tell whether the cgroup layout is the same'),
])
def test_missing_keys_mean_cannot_tell(src, dst, where, expect):
    facts = {'src': src, 'dst': dst}[where[0]]
    for key in where[1:-1]:
        facts = facts[key]
    del facts[where[-1]]
    v = _pair.decide(src, dst)
    if expect is None:
        assert v['mode'] == STOP
        return
    assert any(r.startswith(expect) for r in v['reasons']), v['reasons']
    if where[-1] == 'mem_dirty_track':
        assert v['modes'][PRE]['ok'] is None and v['mode'] == STOP and v['possible'] is True
    else:
        assert v['modes'][STOP]['ok'] is None and v['mode'] is None and v['possible'] is None


def test_no_arch_at_all_is_cannot_tell(src, dst):
    del dst['kernel']['arch'], dst['environment']['arch']
    v = _pair.decide(src, dst)
    assert v['possible'] is None and 'arch' in v['not_checked']


@pytest.mark.parametrize('call, needle', [
    (lambda s, d: criu_migration('x', d), 'must be the criu_facts dictionary'),
    (lambda s, d: criu_migration({'criu_facts': s}, d), 'pass its criu_facts (ansible_facts.criu_facts)'),
    (lambda s, d: criu_migration(s, {'ready': True}), 'it has no probes dictionary (keys: ready)'),
    (lambda s, d: criu_migration(s), 'the destination\'s criu_facts are required'),
    (lambda s, d: criu_migration(s, d, pair={'cpu': {}}), 'unknown pair key(s): cpu (valid: cpuinfo: '),
    (lambda s, d: criu_migration(s, d, pair=['cpuinfo']), 'pair must be a dictionary with any of the keys '
                                                          'cpuinfo, page_server'),
    (lambda s, d: criu_migration(s, d, pair={'cpuinfo': {'message': 'x'}}), 'pair.cpuinfo must be a dictionary '
                                                                            'with compatible: true or false'),
    (lambda s, d: criu_migration(s, d, pair={'page_server': {'reachable': 'yes'}}), 'with reachable: true'),
    (lambda s, d: criu_migration(s, dict(d, probes=dict(d['probes'], tcp={'status': 1, 'message': ['x']}))),
     'the destination holds values of an unexpected type (facts.probes.tcp.status: int, expected str; '
     'facts.probes.tcp.message: list, expected str): pass the criu_facts of a host'),
    (lambda s, d: criu_migration(dict(s, criu=dict(s['criu'], usable='yes')), d),
     'the source (the input of the filter) holds values of an unexpected type (facts.criu.usable: str, expected bool)'),
])
def test_bad_input_names_what_is_valid(host, call, needle):
    with pytest.raises(AnsibleFilterError) as info:
        call(host, host)
    assert needle in str(info.value) and str(info.value).startswith('criu_migration: ')


def test_the_filter_is_the_decision(src, dst):
    assert criu_migration(src, dst, pair={'page_server': None}) == _pair.decide(src, dst)


def test_the_filter_reads_its_input_as_the_source_and_its_argument_as_the_destination(src, dst):
    """The two hosts differ in what only one side needs: soft-dirty tracking on the source, a criu as new as the
    source's on the destination; the default names say which host is which."""
    with_probe(src, 'mem_dirty_track', 'supported')
    dst['criu']['version'] = '4.1.2'
    v = criu_migration(src, dst)
    assert v['mode'] == PRE and v['reasons'] == []
    back = criu_migration(dst, src)
    assert back == _pair.decide(dst, src) and back['possible'] is False
    assert back['reasons'][0] == ('criu 4.1.1 on destination is older than criu 4.1.2 on source: images are read by '
                                  'the criu that wrote them or a newer one')


def test_what_the_filter_returns_is_documented(src, dst):
    value = criu_migration(src, dst, pair={'cpuinfo': {'compatible': True, 'message': ''}})
    assert return_doc.mismatches(value, 'criu_migration', named=('modes',), kind='filter') == []


def test_the_migrate_role_offers_the_modes_the_role_can_run():
    """criu_migrate_mode: auto, or a mode of _pair's that the role implements (post-copy is decided, not run)."""
    with open(os.path.join(conftest.REPO, 'roles', 'migrate', 'meta', 'argument_specs.yml')) as f:
        spec = yaml.safe_load(f)['argument_specs']['main']['options']['criu_migrate_mode']
    assert spec['choices'] == ['auto', _pair.PRE_COPY, _pair.STOP_AND_COPY] and spec['default'] == 'auto'
