# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The criu.check.criu_unmet filter: what a host lacks, as the require role
reports it.  The facts are built by the collection's own aggregation, with
statuses given here."""


import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.criu.check.plugins.filter import criu_unmet as F
from ansible_collections.criu.check.plugins.module_utils import _aggregate as A
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils import _workloads as W

BUILTIN = W.BUILTIN

ENV_OK = {'criu_can_start': True, 'criu_start_blockers': []}
KERNEL = {'release': '6.18.0', 'version': '#1', 'arch': 'x86_64'}
CAP_BLOCKER = 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'
REQUIRED_IDS = [p.id for p in REG.PROBES if p.category == REG.REQUIRED]


def facts(env=None, only=None, **statuses):
    """criu_facts with every probe (or those of ``only``) supported but ``statuses`` (id with _ for -)."""
    env = dict(ENV_OK) if env is None else env
    results = {}
    for probe in REG.PROBES:
        if only is not None and probe.id not in only:
            continue
        status = statuses.get(probe.id.replace('-', '_'), R.SUPPORTED)
        results[probe.id] = {'status': status, 'message': 'm-' + probe.id, 'evidence': {}, 'duration_ms': 0.1}
    return A.facts(results, env, KERNEL, None)


def unmet(criu_facts, **kwargs):
    kwargs.setdefault('workload_definitions', BUILTIN)
    return F.criu_unmet(criu_facts, **kwargs)


def fix(probe_id):
    return REG.BY_ID[probe_id].fix


def test_the_filter_is_exposed_under_its_name():
    assert F.FilterModule().filters() == {'criu_unmet': F.criu_unmet}


def test_a_host_with_everything_has_nothing_unmet():
    assert unmet(facts()) == []
    assert unmet(facts(), features=['userns', 'uffd-noncoop'], workloads=sorted(BUILTIN)) == []


def test_a_required_probe_missing_is_one_item_with_every_field_and_its_line():
    items = unmet(facts(ns_last_pid=R.UNSUPPORTED, mem_dirty_track=R.UNSUPPORTED))
    assert items == [{
        'id': 'ns_last_pid',
        'why': 'required by criu',
        'status': 'unsupported',
        'message': 'm-ns_last_pid',
        'fix': fix('ns_last_pid'),
        'line': 'ns_last_pid (required by criu): unsupported: m-ns_last_pid; fix: ' + fix('ns_last_pid'),
    }]
    # the keys in the order the role has always given them
    assert list(items[0]) == ['id', 'why', 'status', 'message', 'fix', 'line']


def test_required_probes_come_in_the_order_of_the_facts():
    broken = dict((i.replace('-', '_'), R.ERROR) for i in REQUIRED_IDS)
    items = unmet(facts(**broken))
    assert [i['id'] for i in items] == REQUIRED_IDS
    assert set(i['status'] for i in items) == {'error'}


def test_require_ready_false_asks_nothing_of_the_required_probes():
    assert unmet(facts(ns_last_pid=R.UNSUPPORTED), require_ready=False) == []
    assert [i['id'] for i in unmet(facts(ns_last_pid=R.UNSUPPORTED), require_ready=False,
                                   features=['ns_last_pid'])] == ['ns_last_pid']


def test_unknown_counts_as_unmet_by_default():
    items = unmet(facts(sock_diag=R.UNKNOWN))
    assert [(i['id'], i['status']) for i in items] == [('sock_diag', 'unknown')]


def test_unknown_passes_when_unknown_is_unmet_is_false_but_error_and_unsupported_still_count():
    f = facts(sock_diag=R.UNKNOWN, kcmp=R.ERROR, tcp=R.UNSUPPORTED, userns=R.UNKNOWN)
    items = unmet(f, unknown_is_unmet=False, features=['userns'])
    assert [(i['id'], i['status']) for i in items] == [('kcmp', 'error'), ('tcp', 'unsupported')]
    items = unmet(f, unknown_is_unmet=True, features=['userns'])
    assert [i['id'] for i in items] == ['sock_diag', 'kcmp', 'tcp', 'userns']


def test_not_applicable_is_met():
    assert unmet(facts(apparmor_stacking=R.NOT_APPLICABLE), features=['apparmor_stacking']) == []


def test_ignore_waives_a_probe_whatever_asked_for_it():
    f = facts(ns_last_pid=R.UNSUPPORTED, tcp=R.UNSUPPORTED, mem_dirty_track=R.UNSUPPORTED, uffd=R.UNSUPPORTED)
    items = unmet(f, features=['mem_dirty_track'], workloads=['lazy_migration'],
                  ignore=['tcp', 'mem_dirty_track', 'uffd'])
    assert [i['id'] for i in items] == ['ns_last_pid']


def test_ignore_also_waives_a_probe_that_was_not_gathered():
    f = facts(only=REQUIRED_IDS)
    assert unmet(f, features=['userns'], ignore=['userns']) == []


def test_builtin_workloads_ask_for_their_probes_in_order():
    f = facts(uffd=R.UNSUPPORTED, uffd_noncoop=R.UNSUPPORTED, sk_ns=R.UNKNOWN, newifindex=R.ERROR)
    items = unmet(f, workloads=['network_namespaces', 'lazy_migration'])
    assert [(i['id'], i['why']) for i in items] == [
        ('sk_ns', 'needed for workload network_namespaces'),
        ('newifindex', 'needed for workload network_namespaces'),
        ('uffd', 'needed for workload lazy_migration'),
        ('uffd-noncoop', 'needed for workload lazy_migration'),
    ]


def test_custom_workloads_add_and_redefine():
    definitions = dict(BUILTIN, my_app=['timens', 'userns'], precopy_migration=['uffd'])
    f = facts(mem_dirty_track=R.UNSUPPORTED, uffd=R.UNSUPPORTED, timens=R.UNSUPPORTED)
    items = unmet(f, workloads=['my_app', 'precopy_migration'], workload_definitions=definitions)
    assert [i['line'] for i in items] == [
        'timens (needed for workload my_app): unsupported: m-timens; fix: ' + fix('timens'),
        'uffd (needed for workload precopy_migration): unsupported: m-uffd; fix: ' + fix('uffd'),
    ]


def test_custom_workloads_leave_the_builtin_ones_as_they_are():
    """Without workload_definitions the filter starts from the built-in workloads; a redefinition in
    custom_workloads is for that call only, not for the next host's."""
    f = facts(mem_dirty_track=R.UNSUPPORTED, uffd=R.UNSUPPORTED)
    items = F.criu_unmet(f, workloads=['precopy_migration'], custom_workloads={'precopy_migration': ['uffd']})
    assert [i['id'] for i in items] == ['uffd']
    assert [i['id'] for i in F.criu_unmet(f, workloads=['precopy_migration'])] == ['mem_dirty_track']
    assert W.BUILTIN['precopy_migration'] == ['mem_dirty_track']


def test_empty_workload_definitions_know_no_workload():
    with pytest.raises(AnsibleFilterError, match=r'unknown workload\(s\): precopy_migration \(known: ;'):
        F.criu_unmet(facts(), workloads=['precopy_migration'], workload_definitions={})


def test_an_unknown_workload_is_an_error():
    with pytest.raises(AnsibleFilterError, match='unknown workload.*no_such_thing'):
        unmet(facts(), workloads=['no_such_thing'])


def test_a_workload_defined_as_a_string_is_an_error_not_its_letters():
    with pytest.raises(AnsibleFilterError, match='probe ids of workload my_app must be a list'):
        unmet(facts(), workloads=['my_app'], workload_definitions={'my_app': 'userns'})


def test_criu_start_blockers_come_first_one_item_each():
    env = {'criu_can_start': False, 'criu_start_blockers': [CAP_BLOCKER, 'Yama ptrace_scope is 3']}
    items = unmet(facts(env=env, ns_last_pid=R.UNSUPPORTED))
    start_fix = ('run criu as root with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE '
                 '(on the host or in a privileged container)')
    cap_fix = start_fix + (', or as a user give criu CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+eip '
                           '$(command -v criu), not on a nosuid mount) and run it with --unprivileged '
                           "(the modules' unprivileged: true)")
    assert items[:2] == [
        {'id': 'criu_start', 'why': 'criu start-up', 'status': 'blocked', 'message': CAP_BLOCKER, 'fix': cap_fix,
         'line': 'criu_start (criu start-up): blocked: ' + CAP_BLOCKER + '; fix: ' + cap_fix},
        {'id': 'criu_start', 'why': 'criu start-up', 'status': 'blocked', 'message': 'Yama ptrace_scope is 3',
         'fix': start_fix, 'line': 'criu_start (criu start-up): blocked: Yama ptrace_scope is 3; fix: ' + start_fix},
    ]
    assert [i['id'] for i in items] == ['criu_start', 'criu_start', 'ns_last_pid']


def test_criu_that_cannot_start_without_a_blocker_gets_a_generic_one():
    for blockers in ([], None):
        # facts from elsewhere (a cache, another version) that say so without a reason
        f = facts()
        f['environment'] = {'criu_can_start': False, 'criu_start_blockers': blockers}
        items = unmet(f)
        assert [(i['id'], i['message']) for i in items] == [('criu_start', 'criu would refuse to start here')]


def test_criu_start_is_not_asked_when_not_required_or_not_known():
    env = {'criu_can_start': False, 'criu_start_blockers': [CAP_BLOCKER]}
    assert unmet(facts(env=env), require_can_start=False) == []
    assert unmet(facts(env={})) == []
    f = facts()
    del f['environment']
    assert unmet(f) == []


def test_a_probe_not_gathered_is_unmet_with_its_first_reason_only():
    f = facts(only=REQUIRED_IDS)
    items = unmet(f, features=['mem_dirty_track'], workloads=['precopy_migration'])
    assert items == [{
        'id': 'mem_dirty_track',
        'why': 'in criu_require_features',
        'status': 'not_gathered',
        'message': 'criu_facts has no result for this probe',
        'fix': 'gather with categories that include it (criu_require_categories: [all])',
        'line': 'mem_dirty_track (in criu_require_features): not_gathered: criu_facts has no result for this probe; '
                'fix: gather with categories that include it (criu_require_categories: [all])',
    }]


@pytest.mark.parametrize('only', [[], [p.id for p in REG.PROBES if p.category == REG.EXTRA], REQUIRED_IDS[1:]])
def test_required_probes_not_gathered_are_unmet(only):
    """Facts gathered without (all of) the required category do not make a host ready."""
    items = unmet(facts(only=only))
    assert [i['id'] for i in items] == [i for i in REQUIRED_IDS if i not in only]
    assert set(i['status'] for i in items) == {'not_gathered'} and items[0]['why'] == 'required by criu'
    assert unmet(facts(only=only), require_ready=False) == []


def test_a_probe_asked_for_several_times_is_one_item_with_every_reason():
    definitions = dict(BUILTIN, my_app=['tcp', 'userns'])
    f = facts(tcp=R.UNSUPPORTED, userns=R.UNSUPPORTED, kcmp=R.UNSUPPORTED)
    items = unmet(f, features=['userns', 'tcp', 'userns'], workloads=['user_namespaces', 'my_app', 'my_app'],
                  workload_definitions=definitions)
    assert [(i['id'], i['why']) for i in items] == [
        ('kcmp', 'required by criu'),
        ('tcp', 'required by criu, in criu_require_features, needed for workload my_app'),
        ('userns', 'in criu_require_features, needed for workload user_namespaces, needed for workload my_app'),
    ]
    assert items[1]['line'].startswith(
        'tcp (required by criu, in criu_require_features, needed for workload my_app): unsupported: m-tcp; fix: ')


def test_reasons_that_differ_only_in_case_count_once():
    # as Ansible's unique filter, which the role's Jinja used, compared them
    definitions = {'MyApp': ['userns'], 'myapp': ['userns']}
    items = unmet(facts(userns=R.UNSUPPORTED), workloads=['MyApp', 'myapp'], workload_definitions=definitions)
    assert [i['why'] for i in items] == ['needed for workload MyApp']


def test_the_line_leaves_out_an_empty_message_and_an_empty_fix():
    f = facts(tcp=R.UNSUPPORTED, kcmp=R.UNSUPPORTED, fcntl=R.UNSUPPORTED, tty=R.ERROR)
    f['probes']['tcp']['message'] = ''
    f['probes']['kcmp']['fix'] = None
    f['probes']['fcntl'].update(message=None, fix='')
    del f['probes']['tty']['message']
    del f['probes']['tty']['fix']
    items = dict((i['id'], i) for i in unmet(f, require_ready=False, features=['tcp', 'kcmp', 'fcntl', 'tty']))
    assert items['tcp']['line'] == 'tcp (in criu_require_features): unsupported; fix: ' + fix('tcp')
    assert items['kcmp']['line'] == 'kcmp (in criu_require_features): unsupported: m-kcmp'
    assert items['fcntl']['line'] == 'fcntl (in criu_require_features): unsupported'
    assert items['tty']['line'] == 'tty (in criu_require_features): error'
    assert (items['kcmp']['message'], items['kcmp']['fix']) == ('m-kcmp', '')
    assert (items['fcntl']['message'], items['fcntl']['fix']) == ('', '')
    assert (items['tty']['message'], items['tty']['fix']) == ('', '')


def test_the_lines_of_the_readme_example():
    env = {'criu_can_start': False, 'criu_start_blockers': [CAP_BLOCKER]}
    f = facts(env=env, ns_last_pid=R.UNSUPPORTED)
    f['probes']['ns_last_pid'].update(
        message='sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file system',
        fix='/proc/sys is mounted read-only here (typical in containers): run criu on the host or in a privileged '
            'container, or bind-mount that sysctl read-write into it')
    assert [i['line'] for i in unmet(f)] == [
        'criu_start (criu start-up): blocked: CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE '
        'capability; fix: run criu as root with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE (on the host or in a '
        'privileged container), or as a user give criu CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+eip '
        "$(command -v criu), not on a nosuid mount) and run it with --unprivileged (the modules' unprivileged: true)",
        'ns_last_pid (required by criu): unsupported: sys/kernel/ns_last_pid sysctl is inaccessible: Read-only file '
        'system; fix: /proc/sys is mounted read-only here (typical in containers): run criu on the host or in a '
        'privileged container, or bind-mount that sysctl read-write into it',
    ]


@pytest.mark.parametrize('value, expected', [('yes', True), ('no', False), ('true', True), ('0', False), (1, True)])
def test_flags_take_ansible_booleans(value, expected):
    items = unmet(facts(ns_last_pid=R.UNSUPPORTED), require_ready=value)
    assert bool(items) is expected


@pytest.mark.parametrize('value', ['no', 'false', '0', 'off'])
def test_unknown_is_unmet_takes_ansible_booleans_given_as_text(value):
    """-e criu_require_unknown_is_unmet=false gives the text 'false', which Python reads as true."""
    assert unmet(facts(sock_diag=R.UNKNOWN), unknown_is_unmet=value) == []
    assert [i['id'] for i in unmet(facts(sock_diag=R.UNKNOWN), unknown_is_unmet='yes')] == ['sock_diag']


@pytest.mark.parametrize('kwargs', [{'require_ready': 'maybe'}, {'features': 'userns'},
                                    {'workload_definitions': ['userns']}])
def test_wrong_argument_types_are_filter_errors(kwargs):
    with pytest.raises(AnsibleFilterError):
        unmet(facts(), **kwargs)


@pytest.mark.parametrize('kwargs, words', [
    ({'features': [['userns']]}, "features must be a list of names (strings); ['userns'] in it is not one"),
    ({'workloads': [['lazy_migration']]}, 'workloads must be a list of names (strings)'),
    ({'ignore': [{'tcp': True}]}, 'ignore must be a list of names (strings)'),
    ({'ignore': 5}, 'ignore must be a list of names, not 5'),
    ({'features': True}, 'features must be a list of names, not True'),
    # a dictionary is iterable, but its keys are not what was meant
    ({'features': {'userns': True}}, "features must be a list of names, not {'userns': True}"),
    ({'custom_workloads': {'my_app': [['userns']]}},
     "custom_workloads: the probe ids of workload my_app must be a list of names (strings); ['userns']"),
    ({'custom_workloads': {'my_app': 5}}, 'custom_workloads: the probe ids of workload my_app must be a list'),
    ({'workload_definitions': {'my_app': [None]}}, 'workload_definitions: the probe ids of workload my_app'),
])
def test_elements_of_wrong_types_are_filter_errors_naming_the_argument(kwargs, words):
    # they were raw TypeErrors: unhashable type 'list', 'int' object is not iterable
    with pytest.raises(AnsibleFilterError) as err:
        unmet(facts(), **kwargs)
    assert words in str(err.value)


@pytest.mark.parametrize('kwargs', [{'ignore': ['criu_start']}, {'features': ['userns', 'criu_start']},
                                    {'custom_workloads': {'my_app': ['criu_start']}, 'workloads': ['my_app']}])
def test_criu_start_is_not_a_probe_and_the_error_says_what_waives_it(kwargs):
    with pytest.raises(AnsibleFilterError) as err:
        unmet(facts(), **kwargs)
    assert 'criu_start is not a probe id' in str(err.value)
    assert 'set criu_require_can_start: false' in str(err.value)


def test_the_input_is_not_changed():
    f = facts(env={'criu_can_start': False, 'criu_start_blockers': [CAP_BLOCKER]}, tcp=R.UNSUPPORTED)
    before = repr(f)
    unmet(f, features=['userns'], workloads=['tcp_established'])
    assert repr(f) == before


def test_facts_of_unexpected_types_are_refused_with_their_paths():
    """A value of another type (here a status that is a number, blockers that are one text) is named, with
    what it should be, instead of a Python error from deep in the decision."""
    broken = facts()
    broken['probes']['tcp']['status'] = 1
    broken['environment']['criu_start_blockers'] = 'no'
    with pytest.raises(AnsibleFilterError) as info:
        unmet(broken)
    assert str(info.value) == (
        'criu_unmet: the input (criu_facts) holds values of an unexpected type (criu_facts.probes.tcp.status: int, '
        'expected str; criu_facts.environment.criu_start_blockers: str, expected list): pass the '
        'criu_facts of a host as criu.check.criu_facts returns them, gathered again with this release of the collection')


def _with_criu(f, version='4.1.1', refused=True):
    """``f`` with the installed criu's facts as _installed_criu.describe() makes them for ``version`` on a kernel
    that refuses SO_PASSCRED on an IPv4 socket (``refused``) or not."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I
    raw = {'path': '/usr/sbin/criu', 'version': version, 'os': {'id': 'debian', 'version_id': '13'},
           'kernel': {'release': '6.18.44', 'inet_passcred_refused': refused}}
    f['criu'] = {'installed': True, 'version': version, 'usable': True, 'cannot_dump': I.cannot_dump(raw)}
    return f


def test_a_workload_the_installed_criu_cannot_dump_here_is_unmet():
    """tcp_established with every probe supported, but criu 4.1.1 on a 6.16+ kernel: it cannot dump the sockets of
    such a process, which the item says with criu's facts; criu 4.2.1, or a kernel before 6.16, meets it; a
    workload without sockets is not held up; the item is waived by its id."""
    items = unmet(_with_criu(facts()), workloads=['tcp_established', 'user_namespaces'])
    item, = items
    limit = _with_criu(facts())['criu']['cannot_dump'][0]
    assert (item['id'], item['why'], item['status']) == (
        'criu_dump:inet_sockets', 'needed for workload tcp_established', 'cannot_dump')
    assert (item['message'], item['fix']) == (limit['reason'], limit['fix'])
    assert item['line'].startswith('criu_dump:inet_sockets (needed for workload tcp_established): cannot_dump: '
                                   'criu 4.1.1 (/usr/sbin/criu) cannot dump a process with an IPv4')
    assert unmet(_with_criu(facts(), version='4.2.1'), workloads=['tcp_established']) == []
    assert unmet(_with_criu(facts(), refused=False), workloads=['tcp_established']) == []
    assert unmet(_with_criu(facts()), workloads=['user_namespaces']) == []
    assert unmet(_with_criu(facts()), workloads=['tcp_established'], ignore=['criu_dump:inet_sockets']) == []
    # Facts without the installed criu (an older module, or none installed) hold nothing up.
    assert unmet(facts(), workloads=['tcp_established']) == []


def test_the_workloads_ask_only_what_the_installed_criu_can_lack():
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu as I
    known = [limit['id'] for limit in I.CANNOT_DUMP]
    assert sorted(set(i for ids in W.DUMPS.values() for i in ids)) == sorted(known)
    assert set(W.DUMPS) <= set(W.BUILTIN)
