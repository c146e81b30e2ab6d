# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The kernel-config facts on real configs with real probes.

* this host's /proc/config.gz: every value is checked against
  ``zcat /proc/config.gz | grep`` run by the test, whatever kernel runs it;
* a real Debian kernel's /boot/config and module lists, from Debian's
  linux-image package (tests/tools/debian_kernel.sh), as the root of a
  kernel that has no /proc/config.gz;
* no config at all, and one the caller may not read;
* real disagreements: real probes in a read-only /proc/sys and as a plain
  user, against the running kernel's own config; and the config of "another
  build" (this kernel's own with one option turned off, as in criu#2026)
  against the probes that pass here.
"""

import gzip
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import NOBODY, REPO, become_user, in_child, requires_root, run_probe

from ansible_collections.criu.check.plugins.module_utils import _aggregate
from ansible_collections.criu.check.plugins.module_utils import _context
from ansible_collections.criu.check.plugins.module_utils import _engine
from ansible_collections.criu.check.plugins.module_utils import _environment
from ansible_collections.criu.check.plugins.module_utils import _kernel_config as K
from ansible_collections.criu.check.plugins.module_utils import _registry as REG

pytestmark = requires_root

RELEASE = os.uname().release
OPTIONS = sorted(set(opt for row in REG.PROBES for opt in row.config))
HAS_PROC_CONFIG = os.path.exists('/proc/config.gz')
needs_proc_config = pytest.mark.skipif(not HAS_PROC_CONFIG, reason='this kernel has no /proc/config.gz')
# The options of criu's required sock_diag probe (the registry's row).
SOCK_DIAG = tuple(REG.BY_ID['sock_diag'].config)


def grep_config(command, option):
    """The option's value as the shell sees it: ``COMMAND | grep``."""
    out = subprocess.run('%s | grep -E "^(# )?%s[= ]"' % (command, option), shell=True,
                         stdout=subprocess.PIPE, universal_newlines=True, check=False).stdout.strip()
    if not out:
        return 'unset'
    if out.endswith(' is not set'):
        return 'n'
    return out.split('=', 1)[1].strip('"')


@pytest.fixture(scope='module')
def host_results():
    """Every probe, run for real by the engine as the modules run them."""
    ctx = _context.ProbeContext(unprivileged=False)
    return _engine.run(REG.PROBES, ctx)


# ---------------------------------------------------------------- this host

@needs_proc_config
def test_host_values_match_zcat_grep():
    info = K.find(RELEASE, OPTIONS)
    assert info['source'] == '/proc/config.gz' and info['readable'] is True
    for option in OPTIONS:
        assert info['values'][option] == grep_config('zcat /proc/config.gz', option), option
    header = subprocess.run('zcat /proc/config.gz | head -5', shell=True, stdout=subprocess.PIPE,
                            universal_newlines=True, check=True).stdout
    assert ' %s Kernel Configuration' % info['version'] in header
    assert RELEASE.startswith('.'.join(info['version'].split('.')[:2]))


@needs_proc_config
def test_a_probe_that_fails_for_an_option_this_kernel_is_built_without_says_so_first(host_results):
    """The facts' fix of every unsupported probe with an option off in this
    kernel's own config (zcat | grep) leads with that option; the others do
    not (here: mem_dirty_track and autofs, CONFIG_MEM_SOFT_DIRTY and
    CONFIG_AUTOFS_FS are not set)."""
    kernel = {'release': RELEASE, 'arch': os.uname().machine}
    kernel['config'], values = K.gather(RELEASE, REG.PROBES, host_results)
    facts = _aggregate.facts(host_results, _environment.gather(_context.ProbeContext()), kernel, None, values)
    for row in REG.PROBES:
        fix = facts['probes'][row.id]['fix']
        off = [o for o in row.config if grep_config('zcat /proc/config.gz', o) in ('n', 'unset')
               and K._needed(row.id, o, K.major_minor(RELEASE), kernel['arch'])]
        if (host_results[row.id]['status'] == 'unsupported' and off and row.id not in K.TRUTH
                and not host_results[row.id].get('fix')):
            assert fix == "this kernel's config has %s off: %s" % (' and '.join(off), row.fix), (row.id, fix)
        else:
            assert not (fix or '').startswith("this kernel's config"), (row.id, fix)


@needs_proc_config
def test_host_modules_match_the_kernel(host_results):
    facts, values = K.gather(RELEASE, REG.PROBES, host_results)
    proc_modules = set()
    if os.path.exists('/proc/modules'):
        with open('/proc/modules') as f:
            proc_modules = set(line.split()[0] for line in f)
    for option in OPTIONS:
        value = grep_config('zcat /proc/config.gz', option)
        if option not in K.MODULES or value not in ('y', 'm'):
            continue
        names = [n for n in K.MODULES[option] if n in facts['modules']]
        assert len(names) == 1, (option, facts['modules'])
        state = facts['modules'][names[0]]
        if value == 'y':
            assert state == 'builtin'
        elif names[0] in proc_modules:
            assert state == 'loaded'
        else:
            assert state in ('loadable', 'absent', 'builtin')


@needs_proc_config
def test_host_config_is_the_running_kernels_so_no_option_is_claimed_wrongly(host_results):
    """/proc/config.gz is the running kernel's own: a probe that passes with
    an option off means our tables claim a need the kernel does not have
    (the net_diag_raw quirk and map_files on >= 4.3 are the cases here)."""
    facts, values = K.gather(RELEASE, REG.PROBES, host_results)
    assert facts['version_matches'] is True
    assert [c for c in facts['conflicts'] if c['kind'] == 'config_not_needed'] == []
    for conflict in facts['conflicts']:   # whatever else this kernel shows, it is consistent
        assert host_results[conflict['probe']]['status'] == 'unsupported'
        for option in conflict['config']:
            assert values[conflict['probe']][option] not in ('n', 'unset')
    for row in REG.PROBES:
        assert values[row.id] == dict((o, grep_config('zcat /proc/config.gz', o)) for o in row.config)


@needs_proc_config
def test_cost_is_a_few_milliseconds(host_results):
    K.gather(RELEASE, REG.PROBES, host_results)
    best = min(K.gather(RELEASE, REG.PROBES, host_results)[0]['duration_ms'] for dummy in range(5))
    assert best < 25, best


# ---------------------------------------------------------------- a Debian kernel package

@pytest.fixture(scope='module')
def debian_root():
    """Debian's current linux-image-*-amd64 as a root: boot/config-RELEASE and
    lib/modules/RELEASE, no /proc/config.gz (Debian sets no CONFIG_IKCONFIG)."""
    if not shutil.which('apt-get') or not shutil.which('dpkg-deb'):
        pytest.skip('needs apt-get and dpkg-deb')
    proc = subprocess.run([os.path.join(REPO, 'tests', 'tools', 'debian_kernel.sh')], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=600, check=False)
    if proc.returncode != 0:
        pytest.skip('no Debian kernel package: %s' % proc.stderr.strip())
    root = proc.stdout.strip()
    configs = os.listdir(os.path.join(root, 'boot'))
    assert len(configs) == 1 and configs[0].startswith('config-')
    return root, configs[0][len('config-'):]


def test_debian_boot_config(debian_root):
    root, release = debian_root
    config = os.path.join(root, 'boot', 'config-' + release)
    info = K.find(release, OPTIONS, root)
    assert info['source'] == config
    for option in OPTIONS:
        assert info['values'][option] == grep_config('cat %s' % config, option), option
    # Debian builds the sock-diag families (criu's required sock_diag) as modules
    assert dict((o, info['values'][o]) for o in SOCK_DIAG) == dict((o, 'm') for o in SOCK_DIAG)
    assert info['values']['CONFIG_CHECKPOINT_RESTORE'] == 'y'
    assert grep_config('cat %s' % config, 'CONFIG_IKCONFIG_PROC') in ('n', 'unset')


def test_debian_modules_are_loadable_not_loaded(debian_root):
    root, release = debian_root
    facts, values = K.gather(release, REG.PROBES, {}, root=root)
    assert values['sock_diag'] == dict((o, 'm') for o in SOCK_DIAG)
    dep = os.path.join(root, 'lib', 'modules', release, 'modules.dep')
    for option in SOCK_DIAG + ('CONFIG_TUN', 'CONFIG_AUTOFS_FS', 'CONFIG_OVERLAY_FS', 'CONFIG_NF_TABLES'):
        names = [n for n in K.MODULES[option] if n in facts['modules']]
        assert len(names) == 1, option
        assert facts['modules'][names[0]] == 'loadable'
        # the package ships that very file
        found = subprocess.run(['grep', '-Eq', r'(^|/)%s\.ko(\.(xz|zst|gz))?:' % names[0], dep], check=False)
        assert found.returncode == 0, names[0]
    # and what is built in says so, from the package's modules.builtin
    assert facts['modules']['unix'] == 'builtin'
    assert facts['conflicts'] == []   # no results, nothing to disagree with


def test_debian_config_against_a_failing_probe_says_modprobe(debian_root):
    """This kernel has no autofs (the real probe fails with ENODEV); Debian's
    builds autofs4 as a module: on such a host the fix is to load it."""
    root, release = debian_root
    result = run_probe('autofs')
    if result['status'] != 'unsupported':
        pytest.skip('autofs works on this kernel: %s' % result['status'])
    row = REG.BY_ID['autofs']
    values, conflicts = K.annotate([row], {'autofs': result}, K.find(release, list(row.config), root),
                                   {'CONFIG_AUTOFS_FS': K.Modules(release, root).resolve('CONFIG_AUTOFS_FS')}, release)
    assert values['autofs']['CONFIG_AUTOFS_FS'] == 'm'
    assert [(c['kind'], c['fix']) for c in conflicts] in ([('module_not_loaded', 'modprobe autofs4')],
                                                          [('module_not_loaded', 'modprobe autofs')])


# ---------------------------------------------------------------- no config

def test_no_config_at_all(host_results):
    root = tempfile.mkdtemp(prefix='criu-check-noconfig-')
    try:
        facts, values = K.gather(RELEASE, REG.PROBES, host_results, root=root)
    finally:
        shutil.rmtree(root)
    assert facts['readable'] is False and facts['source'] is None
    assert facts['reason'].count('not found') == 3
    assert facts['conflicts'] == [] and facts['modules'] == {}
    for row in REG.PROBES:
        assert values[row.id] == dict((o, 'unreadable') for o in row.config)


def test_config_the_caller_may_not_read():
    root = tempfile.mkdtemp(prefix='criu-check-noread-')
    try:
        os.chmod(root, 0o755)
        os.mkdir(os.path.join(root, 'boot'), 0o755)
        path = os.path.join(root, 'boot', 'config-' + RELEASE)
        with open(path, 'w') as f:
            f.write('CONFIG_CHECKPOINT_RESTORE=y\n')
        os.chmod(path, 0o600)
        info = in_child(lambda: K.find(RELEASE, ['CONFIG_CHECKPOINT_RESTORE'], root), become_user)
        assert K.find(RELEASE, ['CONFIG_CHECKPOINT_RESTORE'], root)['values'] == {'CONFIG_CHECKPOINT_RESTORE': 'y'}
    finally:
        shutil.rmtree(root)
    assert info['readable'] is False
    assert info['values'] == {'CONFIG_CHECKPOINT_RESTORE': 'unreadable'}
    assert '%s: permission denied' % path in info['reason']


# ---------------------------------------------------------------- real disagreements

@needs_proc_config
@pytest.mark.parametrize('probe_id', ['ns_last_pid', 'ipc'])
def test_read_only_proc_sys_against_checkpoint_restore_y(probe_id):
    """CONFIG_CHECKPOINT_RESTORE=y, but a read-only /proc/sys (what containers
    mount) makes the real probe fail: the config is not the cause."""
    if grep_config('zcat /proc/config.gz', 'CONFIG_CHECKPOINT_RESTORE') != 'y':
        pytest.skip('this kernel is built without CONFIG_CHECKPOINT_RESTORE')
    # the set-up the probe tests use for this context (imported here: that
    # module reads /proc/config.gz when imported)
    from test_probes_proc import mount_options, read_only_proc_sys
    row = REG.BY_ID[probe_id]
    result, options = in_child(lambda: [row.func(_context.ProbeContext()), mount_options('/proc/sys')],
                               read_only_proc_sys)
    assert 'ro' in options
    assert result['status'] == 'unsupported', result
    values, conflicts = K.annotate([row], {probe_id: result}, K.find(RELEASE, list(row.config)))
    assert all(v == 'y' for v in values[probe_id].values()), values
    assert len(conflicts) == 1, conflicts
    conflict = conflicts[0]
    assert conflict['probe'] == probe_id and conflict['kind'] == 'read_only_proc_sys'
    assert 'CONFIG_CHECKPOINT_RESTORE' in conflict['config']
    assert 'Read-only file system' in conflict['detail']
    assert 'read-only' in conflict['fix'] or 'writable /proc/sys' in conflict['fix']


@needs_proc_config
def test_plain_user_without_cap_net_admin_against_inet_y():
    """CONFIG_INET=y, but TCP_REPAIR needs CAP_NET_ADMIN: the real probe as
    a plain user fails with EPERM, and the fix is the capability."""
    if grep_config('zcat /proc/config.gz', 'CONFIG_INET') != 'y':
        pytest.skip('this kernel is built without CONFIG_INET')
    result = run_probe('tcp', as_user=NOBODY)
    assert result['status'] == 'unsupported' and result['evidence']['errno_name'] == 'EPERM', result
    values, conflicts = K.annotate([REG.BY_ID['tcp']], {'tcp': result}, K.find(RELEASE, ['CONFIG_INET']))
    assert [(c['kind'], c['config']) for c in conflicts] == [('permission', ['CONFIG_INET'])]
    assert 'CAP_NET_ADMIN' in conflicts[0]['fix']


@needs_proc_config
def test_another_builds_config_against_passing_probes(host_results):
    """criu#2026: the .config at hand has CONFIG_CHECKPOINT_RESTORE off, the
    booted kernel has it.  Here: this kernel's own config with that one line
    turned off, as /boot/config-RELEASE of a root without /proc/config.gz,
    against the probes that really pass on this kernel."""
    if grep_config('zcat /proc/config.gz', 'CONFIG_CHECKPOINT_RESTORE') != 'y':
        pytest.skip('this kernel is built without CONFIG_CHECKPOINT_RESTORE')
    with gzip.open('/proc/config.gz', 'rt') as f:
        text = f.read().replace('\nCONFIG_CHECKPOINT_RESTORE=y\n', '\n# CONFIG_CHECKPOINT_RESTORE is not set\n')
    root = tempfile.mkdtemp(prefix='criu-check-otherbuild-')
    try:
        os.mkdir(os.path.join(root, 'boot'))
        with open(os.path.join(root, 'boot', 'config-' + RELEASE), 'w') as f:
            f.write(text)
        facts, values = K.gather(RELEASE, REG.PROBES, host_results, root=root)
    finally:
        shutil.rmtree(root)
    flagged = set(c['probe'] for c in facts['conflicts'] if c['kind'] == 'config_not_running_kernel')
    passing = set(p for p, r in host_results.items() if r['status'] == 'supported')
    with_cr = set(row.id for row in REG.PROBES if 'CONFIG_CHECKPOINT_RESTORE' in row.config)
    # map_files needs it only before 4.3, kcmp and kcmp_epoll only before 5.12
    not_needed = set(['map_files']) | (set(['kcmp', 'kcmp_epoll']) if K.major_minor(RELEASE) >= (5, 12) else set())
    assert 'ns_last_pid' in passing
    assert flagged == (with_cr & passing) - not_needed
    for conflict in facts['conflicts']:
        if conflict['kind'] == 'config_not_running_kernel':
            assert conflict['config'] == ['CONFIG_CHECKPOINT_RESTORE']
            assert 'uname' in conflict['fix']
