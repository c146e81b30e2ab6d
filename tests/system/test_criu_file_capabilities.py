# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu run by a user other than root with file capabilities: what criu's
documentation has such users do for --unprivileged (setcap
cap_checkpoint_restore+eip on the criu binary), and what the installed
criu's fix (_installed_criu) tells them to do.

The module runs without the capability; the criu it runs gets it from the
file when it is executed.  criu 4.1.1 says "Looks good."; the facts said criu
could not start ("CRIU needs to have the CAP_SYS_ADMIN or the
CAP_CHECKPOINT_RESTORE capability": the module's own capabilities).  Where
the kernel does not apply the file's capabilities (a nosuid mount,
no_new_privs), criu says exactly that, and so must the facts.  Real criu in
the Debian 13 root is the oracle; the copy of criu with the capability lives
in that root's private /run, gone with it.

criu_smoke, run by that user, must run that criu too (it refused, from the
module's own capabilities), and say what the restore then lacks.
"""

import pytest

from conftest import criu_and_facts_in_root, requires_root, smoke_in_root

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _decide
from ansible_collections.criu.check.plugins.module_utils import _environment_fix
from ansible_collections.criu.check.plugins.module_utils._context import proc_status
from ansible_collections.criu.check.plugins.plugin_utils import _fleet

pytestmark = requires_root

# criu on the user's PATH with the capability (on a nosuid mount when asked), /run readable to the user.
SETCAP = ('mkdir -p /run/b && {mount}cp /usr/sbin/criu /run/b/criu && setcap {caps}+eip /run/b/criu '
          '&& chmod 755 /run /run/b')
AS_NOBODY = ('setpriv --reuid=65534 --regid=65534 --clear-groups {extra} '
             'env PATH=/run/b:/usr/sbin:/usr/bin:/sbin:/bin HOME=/run')


def _run(mount='', extra='', caps='cap_checkpoint_restore', check='check --unprivileged'):
    return criu_and_facts_in_root(prepare=SETCAP.format(mount=mount, caps=caps), run_in=AS_NOBODY.format(extra=extra),
                                  check=check, module_args={'unprivileged': True})


def test_criu_with_the_capability_in_its_file_starts_and_the_facts_say_so():
    criu_says, facts = _run()
    assert 'Looks good.' in criu_says and 'criu rc 0' in criu_says, criu_says
    environment = facts['environment']
    assert (environment['euid'], environment['capabilities']) == (65534, []), environment
    assert environment['criu_capabilities'] == ['checkpoint_restore'], environment
    assert environment['criu_can_start'] is True and environment['criu_start_blockers'] == [], environment
    assert facts['verdict'] in ('good', 'good_but') and facts['ready'] is True, facts['summary']
    criu = facts['criu']
    assert criu['path'] == '/run/b/criu' and criu['check']['verdict'] == 'good', criu
    assert criu['agrees'] is True and criu['disagreements'] == [], criu


@pytest.mark.parametrize('mount, extra', [
    ('mount -t tmpfs -o nosuid tmpfs /run/b && ', ''),   # the kernel ignores file capabilities on a nosuid mount
    ('', '--no-new-privs'),                               # and grants none beyond the permitted set under no_new_privs
])
def test_where_the_kernel_does_not_grant_them_criu_and_the_facts_say_it_cannot_start(mount, extra):
    criu_says, facts = _run(mount, extra)
    assert _decide.NO_CAPS in criu_says and 'criu rc 1' in criu_says, criu_says
    environment = facts['environment']
    assert environment['criu_capabilities'] == [], environment
    assert environment['criu_start_blockers'] == [_decide.NO_CAPS], environment
    assert facts['verdict'] == 'bad' and facts['criu']['check']['verdict'] == 'blocked', facts['criu']
    # criu stops where the facts say it cannot start: the same fix (with its path), and one line in a fleet report;
    # under no_new_privs setcap does nothing, and the fix says so
    blocker_fix = _decide.start_blocker_fix(_decide.NO_CAPS, facts['probes'], environment)
    assert blocker_fix.startswith('this process runs with no_new_privs, under which the kernel gives criu no file '
                                  'capability') is bool(extra), blocker_fix
    assert ('not on a nosuid mount' in blocker_fix) is bool(mount), blocker_fix
    assert facts['criu']['fix'].rstrip('.').lower() == blocker_fix.replace(_decide.CRIU_BINARY, '/run/b/criu').lower()
    causes = _fleet.causes([_fleet.host_entry('h', facts)])
    assert [c['title'] for c in causes if c['kind'] in ('start', 'criu')] == ['criu cannot start: ' + _decide.NO_CAPS]


# What criu 4.1.1 prints when each check that needs CAP_SYS_ADMIN or CAP_NET_ADMIN fails (criu/cr-check.c).
CRIU_FAILS_WITH = {
    'seccomp_suspend': ("couldn't suspend seccomp",),
    'seccomp_filters': ('Dumping seccomp filters not supported',),
    'clone_parent_vs_pid': ("CLONE_PARENT | CLONE_NEWPID don't work together",),
    'tcp_window': ("The TCP_REPAIR_WINDOW option isn't supported", "TCP_REPAIR isn't available to unprivileged users"),
    'tcp_half_closed': ("TCP_REPAIR can't be enabled for half-closed sockets",),
    'newifindex': ("IFLA_NEW_IFINDEX isn't supported",),
    'tun_ns': ('Unable to get tun network namespace',),   # where /dev/net/tun is open to the user (not --all's)
}


def test_checks_criu_makes_with_capabilities_the_module_has_not_are_unknown_not_missing():
    """criu given CAP_SYS_ADMIN and CAP_NET_ADMIN too makes checks the
    module's process (no capability) cannot: criu passes them, and the facts
    must not call them missing.  They are unknown, saying which capability,
    with the module's own answer in the evidence; the rest still agree."""
    criu_says, facts = _run(caps='cap_checkpoint_restore,cap_sys_admin,cap_net_admin', check='check --unprivileged --all')
    assert 'Looks good but some kernel features are missing' in criu_says, criu_says
    assert facts['environment']['criu_capabilities'] == ['checkpoint_restore', 'net_admin', 'sys_admin']
    unknown = facts['unknown']
    assert {'seccomp_suspend', 'seccomp_filters'} <= set(unknown), unknown
    for probe_id in unknown:
        probe = facts['probes'][probe_id]
        assert probe['evidence']['criu_has'] and probe['evidence']['without_them']['status'] == 'unsupported', probe
        assert not any(text in criu_says for text in CRIU_FAILS_WITH[probe_id]), (probe_id, criu_says)  # passed
    missing = [p for ids in facts['missing'].values() for p in ids]
    assert not set(CRIU_FAILS_WITH) & set(missing), missing
    assert facts['verdict'] == 'good_but' and facts['criu']['agrees'] is True, (facts['summary'], facts['criu'])
    # Nor do the kernel config's conflicts say that the kernel refused them, or the checks criu
    # --unprivileged does not make (its root-only kerndat steps), whose failure says nothing of the kernel.
    not_probed = set(p for p, probe in facts['probes'].items() if probe['evidence'].get('criu_probes') is False)
    assert {'sk_ns', 'sk_unix_file', 'loginuid', 'uffd'} <= not_probed, not_probed
    conflicted = [c['probe'] for c in facts['kernel']['config']['conflicts']]
    assert not (set(unknown) | not_probed) & set(conflicted), conflicted


# A /dev/net/tun of the root's own with this mode (hosts differ: udev makes it 0666, this one has 0600).
TUN_NODE = ('mkdir -p /run/d && mount -t tmpfs tmpfs /run/d && mknod -m {mode} /run/d/tun c 10 200 '
            '&& mount --bind /run/d/tun /dev/net/tun && ')
TUN_FOR_ALL = TUN_NODE.format(mode='666')


@pytest.mark.parametrize('caps, criu_passes', [
    ('cap_checkpoint_restore,cap_net_admin', True),
    ('cap_checkpoint_restore', False),
])
def test_tun_ns_is_asked_of_the_kernel_with_criu_s_capabilities_in_unprivileged_mode_too(caps, criu_passes):
    """criu --unprivileged skips the root-only start-up step that fills
    kdat.tun_ns, but its check_tun_netns() makes the SIOCGSKNS call itself,
    which criu's CAP_NET_ADMIN from its file allows: "tun_ns is supported"
    where the module (no capability) is refused.  The facts said missing."""
    criu_says, facts = criu_and_facts_in_root(prepare=TUN_FOR_ALL + SETCAP.format(mount='', caps=caps),
                                              run_in=AS_NOBODY.format(extra=''),
                                              check='check --unprivileged --feature tun_ns',
                                              module_args={'unprivileged': True})
    probe = facts['probes']['tun_ns']
    if criu_passes:
        assert 'tun_ns is supported' in criu_says and 'criu rc 0' in criu_says, criu_says
        assert probe['status'] == 'unknown' and probe['evidence']['criu_has'] == ['net_admin'], probe
        assert probe['evidence']['without_them']['status'] == 'unsupported', probe
        assert 'tun_ns' in facts['unknown'], facts['unknown']
    else:
        assert 'Unable to get tun network namespace' in criu_says and 'criu rc 1' in criu_says, criu_says
        assert probe['status'] == 'unsupported' and probe['message'] == 'net: Unable to get tun network namespace', probe
        assert facts['feature_only']['tun_ns'] is False, facts['feature_only']


@pytest.mark.parametrize('caps', ['cap_checkpoint_restore', 'cap_checkpoint_restore,cap_net_admin'])
def test_a_tun_node_closed_to_criu_s_user_is_named_with_its_mode_and_opening_it_as_the_fix_says_works(caps):
    """A 0600 /dev/net/tun: criu run by that user fails to open it, as the
    facts do, whose fix asked for CONFIG_TUN (on) and CAP_NET_ADMIN (no help
    to open a file: criu with it fails the same, and tun_ns is missing, not
    unknown).  The fix names the node's mode now, and what tun_ns needs
    next; made 0666 as it says, tun passes for criu and the facts alike."""
    closed = TUN_NODE.format(mode='600') + SETCAP.format(mount='', caps=caps)
    net_admin = 'cap_net_admin' in caps
    check = 'check --unprivileged --feature ' + ('tun_ns' if net_admin else 'tun')
    criu_says, facts = criu_and_facts_in_root(prepare=closed, run_in=AS_NOBODY.format(extra=''), check=check,
                                              module_args={'unprivileged': True})
    failed = 'tun: Unable to create tun: Permission denied' if net_admin else "tun: Can't check tun support: Permission denied"
    assert failed in criu_says and 'criu rc 1' in criu_says, criu_says
    tun, tun_ns = facts['probes']['tun'], facts['probes']['tun_ns']
    assert tun['status'] == 'unsupported' and tun['message'] == "tun: Can't check tun support: Permission denied"
    assert tun['fix'] == _environment_fix.TUN_NODE_CLOSED_FIX % (65534, '0600', 0, ''), tun
    assert tun_ns['status'] == 'unsupported' and tun_ns['message'] == 'tun: Unable to create tun: Permission denied'
    assert tun_ns['fix'] == _environment_fix.TUN_NODE_CLOSED_FIX % (
        65534, '0600', 0, '' if net_admin else ', and give criu CAP_NET_ADMIN, which tun_ns needs then'), tun_ns
    if facts['kernel']['config']['readable']:   # CONFIG_TUN on, yet refused: the conflict's fix is the probe's
        conflict = [c for c in facts['kernel']['config']['conflicts'] if c['probe'] == 'tun']
        assert [(c['kind'], c['fix']) for c in conflict] == [('permission', tun['fix'])], conflict
        assert "a file's mode" in conflict[0]['detail'], conflict
    criu_says, facts = criu_and_facts_in_root(prepare=closed + ' && chmod 0666 /dev/net/tun',
                                              run_in=AS_NOBODY.format(extra=''), check=check,
                                              module_args={'unprivileged': True})
    assert '%s is supported' % check.split()[-1] in criu_says and 'criu rc 0' in criu_says, criu_says
    assert facts['probes']['tun']['status'] == 'supported', facts['probes']['tun']
    assert facts['probes']['tun_ns']['status'] == ('unknown' if net_admin else 'unsupported'), facts['probes']['tun_ns']


def test_a_tun_node_closed_to_criu_s_user_is_unknown_where_criu_has_cap_dac_override():
    """criu with CAP_DAC_OVERRIDE in its file opens a 0600 /dev/net/tun ("tun is supported"), which the module's
    process (no capability) cannot: unknown, as the other checks criu makes with a capability the module has not."""
    criu_says, facts = criu_and_facts_in_root(
        prepare=TUN_NODE.format(mode='600') + SETCAP.format(mount='', caps='cap_checkpoint_restore,cap_dac_override'),
        run_in=AS_NOBODY.format(extra=''), check='check --unprivileged --feature tun', module_args={'unprivileged': True})
    assert 'tun is supported' in criu_says and 'criu rc 0' in criu_says, criu_says
    tun = facts['probes']['tun']
    assert tun['status'] == 'unknown' and tun['evidence']['criu_has'] == ['dac_override'], tun
    assert tun['evidence']['without_them']['status'] == 'unsupported' and tun['evidence']['node_mode'] == '0600', tun


# ---------------------------------------------------------------- criu_smoke run by that user

def _run_smoke(prepare):
    return smoke_in_root(prepare, AS_NOBODY.format(extra=''))


def _bounding_set_lacks():
    bnd = int(proc_status()['CapBnd'], 16)
    return [bit for bit in range(_caps.CAP_CHECKPOINT_RESTORE + 1) if not _caps.has(bnd, bit)]


def test_smoke_runs_the_users_criu_with_its_file_capabilities():
    """The smoke refused to start ("this process (uid 65534) has neither") where criu, with the capability from its
    file, dumps.  It now runs criu, which dumps; the restore needs CAP_SETPCAP as well where the bounding set lacks
    a capability (it is dropped again: criu/pie/restorer.c), and the smoke's message says so."""
    result = _run_smoke(SETCAP.format(mount='', caps='cap_checkpoint_restore'))
    assert result['stage'] != 'setup' and result['dump_ms'] is not None, result
    lacks = _bounding_set_lacks()
    if not lacks:
        assert result['ok'] is True, result
        return
    assert (result['ok'], result['stage']) == (False, 'restore'), result
    assert 'Unable to drop capability' in result['msg'], result
    assert 'lacked CAP_%s,' % _caps.NAMES[lacks[0]].upper() in result['msg'], result
    assert 'setcap cap_checkpoint_restore,cap_setpcap+eip /run/b/criu' in result['msg'], result   # a user's advice


def test_a_criu_whose_file_capabilities_the_bounding_set_cuts_is_not_run_and_everything_says_why():
    """setcap of a capability this host's bounding sets lack (here CAP_SYS_RESOURCE), with +e: the kernel
    refuses to execute criu at all (env: "Operation not permitted").  The facts said criu had no
    capability ("CRIU needs to have the CAP_SYS_ADMIN..."), and the smoke that the user had neither."""
    lacks = _bounding_set_lacks()
    if not lacks:
        pytest.skip('the bounding set here has every capability')
    caps = 'cap_checkpoint_restore,cap_%s' % _caps.NAMES[lacks[0]]
    blocker = _decide.EXEC_REFUSED % ('CAP_' + _caps.NAMES[lacks[0]].upper())
    criu_says, facts = criu_and_facts_in_root(prepare=SETCAP.format(mount='', caps=caps),
                                              run_in=AS_NOBODY.format(extra=''), check='check --unprivileged',
                                              module_args={'unprivileged': True})
    assert 'Operation not permitted' in criu_says and 'criu rc 126' in criu_says, criu_says   # env's execvp()
    assert facts['environment']['criu_start_blockers'] == [blocker], facts['environment']
    assert facts['verdict'] == 'bad' and facts['ready'] is False, facts['summary']
    fix = _decide.start_blocker_fix(blocker)
    assert facts['criu']['check']['verdict'] == 'not_run' and facts['criu']['fix'] == fix[0].upper() + fix[1:] + '.'
    result = _run_smoke(SETCAP.format(mount='', caps=caps))
    assert (result['ok'], result['stage']) == (False, 'setup'), result
    assert result['msg'] == 'cannot run /run/b/criu. %s: %s' % (blocker, fix), result['msg']


@pytest.mark.parametrize('umask', ['0022', '0777'])
def test_smoke_passes_with_the_capability_its_advice_adds(umask):
    """Under umask 0777 the smoke could not enter the working directory it had made ("Permission denied"), nor
    remove it: it left it behind."""
    result = smoke_in_root(SETCAP.format(mount='', caps='cap_checkpoint_restore,cap_setpcap'),
                           "sh -c 'umask %s; exec \"$0\" \"$@\"' %s" % (umask, AS_NOBODY.format(extra='')))
    assert result['ok'] is True and result['stage'] == 'done', result
    assert result['counter']['after'] > result['counter']['before'], result
    assert result['cleanup'] == {'killed': 2, 'removed': True}, result


@pytest.mark.parametrize('prepare', [
    'mkdir -p /run/b && cp /usr/sbin/criu /run/b/criu && chmod 755 /run /run/b',   # no file capabilities
    SETCAP.format(mount='mount -t tmpfs -o nosuid tmpfs /run/b && ', caps='cap_checkpoint_restore'),
])
def test_smoke_without_criu_having_the_capability_stops_before_starting_anything(prepare):
    result = _run_smoke(prepare)
    assert (result['ok'], result['stage'], result['dump_ms']) == (False, 'setup', None), result
    assert 'setcap cap_checkpoint_restore+eip /run/b/criu' in result['msg'], result
