# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu under a small file size limit (RLIMIT_FSIZE: ulimit -f, systemd's
LimitFSIZE=, a container's --ulimit fsize=), under a small process limit
(RLIMIT_NPROC: ulimit -u, LimitNPROC=), and the smoke under a small
descriptor limit, or without CAP_SYS_ADMIN.

criu 4.1.1 without a kdat cache writes one (904 bytes) at the end of its
start-up: under a limit smaller than that the kernel kills it with SIGXFSZ,
before any check, and the facts called that a failure the probes do not
model ("criu was killed by signal 25").  Above it criu checks, but a dump
writes images far larger, and is killed the same way; criu_smoke quoted a
warning criu goes on after ("Can't setup RLIMIT_NOFILE") as the reason.

A user allowed 8 processes: criu alone (and its children) says "Looks
good."; the module's workers, all at once, were refused processes, and its
facts said undecided, and that criu failed its own check ("fork: Resource
temporarily unavailable").  What was refused a process now runs again, alone.
Real criu in the Debian 13 root is the oracle.
"""

import pytest

from conftest import criu_and_facts_in_root, requires_root, smoke_in_root
from test_criu_file_capabilities import AS_NOBODY, SETCAP

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _installed_criu
from ansible_collections.criu.check.plugins.module_utils._context import proc_status

pytestmark = requires_root

SIGXFSZ_EXIT = 128 + 25   # the shell's status for a command killed by SIGXFSZ


def test_under_a_limit_below_its_cache_criu_is_killed_and_the_facts_say_why():
    criu_says, facts = criu_and_facts_in_root(run_in='prlimit --fsize=0 --', check='check')
    assert 'criu rc %d' % SIGXFSZ_EXIT in criu_says, criu_says
    criu = facts['criu']
    assert criu['check']['messages'] == [_installed_criu.KILLED_BY_FILE_SIZE], criu['check']
    assert 'killed by SIGXFSZ' in criu['reason'] and '(RLIMIT_FSIZE, 0 bytes)' in criu['reason'], criu['reason']
    assert criu['fix'].startswith('Raise the file size limit criu runs with: ulimit -f unlimited'), criu['fix']
    assert [d['kind'] for d in criu['disagreements']] == ['environment'], criu['disagreements']


def test_under_a_limit_above_its_cache_criu_checks_and_the_facts_agree():
    criu_says, facts = criu_and_facts_in_root(run_in='prlimit --fsize=16384 --', check='check')
    assert 'Looks good.' in criu_says and 'criu rc 0' in criu_says, criu_says
    assert facts['criu']['agrees'] is True and facts['criu']['check']['verdict'] == 'good', facts['criu']


def test_the_smoke_under_a_limit_below_its_images_names_the_signal_and_the_limit():
    result = smoke_in_root(run_in='prlimit --fsize=65536 --')
    assert (result['ok'], result['stage']) == (False, 'dump'), result
    assert result['msg'].startswith('criu dump failed (exit -25): killed by signal 25 (SIGXFSZ); it wrote past its '
                                    'file size limit (RLIMIT_FSIZE, 65536 bytes): '), result['msg']
    assert result['msg'].endswith(_installed_criu.FILE_SIZE_FIX) and 'RLIMIT_NOFILE' not in result['msg'], result
    assert result['cleanup']['removed'] is True, result


def test_the_smoke_under_a_small_descriptor_limit_says_what_criu_lacks():
    """criu keeps its own descriptors at the top of RLIMIT_NOFILE and raises the limit first, which needs
    CAP_SYS_RESOURCE; where it has not got it (this kind of host: no process has it) a restore under 64 fails with
    "Can't chose service_fd_base", and the smoke says what to raise."""
    if _caps.has(int(proc_status()['CapBnd'], 16), _caps.NUMBERS['sys_resource']):
        pytest.skip('criu raises its own RLIMIT_NOFILE here (CAP_SYS_RESOURCE): nothing fails')
    result = smoke_in_root(run_in='prlimit --nofile=64 --')
    assert (result['ok'], result['stage']) == (False, 'restore'), result
    assert "Can't chose service_fd_base" in result['msg'], result
    assert 'below the file descriptor limit (RLIMIT_NOFILE, 64; hard limit 64)' in result['msg'], result


@pytest.mark.parametrize('cap', ['sys_admin', 'net_admin', 'sys_chroot'])
def test_the_smoke_as_root_without_a_capability_root_s_criu_needs_runs_criu_unprivileged(cap):
    """Root without CAP_SYS_ADMIN (criu_root.sh's no-sys-admin; a container granted only some capabilities):
    criu without --unprivileged stops in its start-up ("net: Unable create a network namespace"), which the
    smoke reported; without CAP_NET_ADMIN its restore fails ("Unable to set socket SO_SNDBUFFORCE/SO_RCVBUFFORCE"),
    and without CAP_SYS_CHROOT too ("Can't change root").  With --unprivileged criu dumps and restores."""
    result = smoke_in_root(run_in='setpriv --inh-caps=-{0} --bounding-set=-{0} --'.format(cap))
    assert result['ok'] is True and result['stage'] == 'done', result


def _as_user_allowed(processes):
    """criu and the facts run by uid 65534 (criu with cap_checkpoint_restore in its file) allowed ``processes``."""
    return criu_and_facts_in_root(prepare=SETCAP.format(mount='', caps='cap_checkpoint_restore'),
                                  run_in='prlimit --nproc=%d %s' % (processes, AS_NOBODY.format(extra='')),
                                  check='check --unprivileged', module_args={'unprivileged': True})


def test_under_a_process_limit_criu_alone_passes_and_so_do_the_facts_run_again_alone():
    criu_says, facts = _as_user_allowed(8)
    assert 'Looks good.' in criu_says and 'criu rc 0' in criu_says, criu_says
    assert facts['verdict'] in ('good', 'good_but'), facts['summary']
    assert not [p for p, probe in facts['probes'].items() if probe['status'] == 'error'], facts['unknown']
    assert facts['criu']['check']['verdict'] == 'good' and facts['criu']['agrees'] is True, facts['criu']


def test_where_even_alone_criu_is_refused_a_process_the_facts_name_the_limit():
    """Allowed 3: criu run by hand (two processes with its child) still
    passes, but the module holds two of its own (itself and the worker that
    runs criu), and criu is refused its child.  A disagreement of the
    environment's, whose fix is the limit."""
    criu_says, facts = _as_user_allowed(3)
    assert 'Looks good.' in criu_says, criu_says
    criu = facts['criu']
    assert criu['check']['verdict'] in ('cannot_start', 'bad'), criu['check']
    assert 'was refused a process' in criu['reason'] and '(RLIMIT_NPROC 3,' in criu['reason'], criu['reason']
    assert criu['fix'] == 'R' + _installed_criu.PROCESS_LIMIT_FIX[1:] + '.', criu['fix']
    assert [d['kind'] for d in criu['disagreements']] == ['environment'], criu['disagreements']


@pytest.mark.parametrize('processes, says', [
    (3, 'the counter tree exited at once: '),                           # the tree's own fork refused
    (4, 'cannot run /run/b/criu: [Errno 11] Resource temporarily unavailable; '),
    (5, 'criu dump failed (exit 1): fork() failed: Resource temporarily unavailable; '),
])
def test_the_smoke_under_a_process_limit_says_which_limit_and_how_to_raise_it(processes, says):
    result = smoke_in_root(SETCAP.format(mount='', caps='cap_checkpoint_restore,cap_setpcap'),
                           'prlimit --nproc=%d %s' % (processes, AS_NOBODY.format(extra='')))
    assert result['ok'] is False and says in result['msg'], result['msg']
    assert result['msg'].endswith('the kernel refused a process (RLIMIT_NPROC %d, or a pids cgroup\'s pids.max): %s'
                                  % (processes, _installed_criu.PROCESS_LIMIT_FIX)), result['msg']
    raised = smoke_in_root(SETCAP.format(mount='', caps='cap_checkpoint_restore,cap_setpcap'),
                           'prlimit --nproc=%d %s' % (processes + 5, AS_NOBODY.format(extra='')))
    assert raised['ok'] is True, raised['msg']


def test_the_smoke_as_root_without_cap_setpcap_says_to_grant_it():
    """Root without CAP_SETPCAP: criu dumps, and its restore cannot drop from the restored task's bounding set
    what the dumped one lacked (CAP_SETPCAP itself), with or without --unprivileged: the advice is root's."""
    result = smoke_in_root(run_in='setpriv --inh-caps=-setpcap --bounding-set=-setpcap --')
    assert result['ok'] is False and result['stage'] == 'restore', result
    assert 'Unable to drop capability 8' in result['msg'], result['msg']
    assert 'give this root CAP_SETPCAP (a container: --cap-add=SETPCAP)' in result['msg'], result['msg']
