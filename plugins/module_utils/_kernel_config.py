# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The running kernel's own configuration, and where it disagrees with the probes.

PRIVATE to the criu.check collection: not a public API.

criu never reads the kernel's config: it probes (criu/cr-check.c).  Its hints
still name CONFIG options and modules ("Make sure you have: 1. *_DIAG kernel
config options turned on; 2. *_diag.ko modules loaded", check_sock_diag()),
so the facts put each probe's options next to its answer, say for every
``=m`` option whether the module is loaded or could be, and flag both kinds
of disagreement:

* the config says y/m but the probe fails: a module not loaded (or not
  installed), or the kernel has it and something else refuses it (a
  read-only /proc/sys, a capability, a sysctl);
* the config says n/unset but the probe passes: the file read is not the
  running kernel's (a /boot/config of another build).

Nothing here loads a module or writes anything; the files are read with the
caller's rights.  ``root`` lets the tests point every path into a directory
laid out as a root file system.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import time

from ansible_collections.criu.check.plugins.module_utils import _result as R

ON = ('y', 'm')
UNSET = 'unset'
UNREADABLE = 'unreadable'

LOADED = 'loaded'
LOADABLE = 'loadable'
BLOCKED = 'blocked'
BUILTIN = 'builtin'
ABSENT = 'absent'
UNKNOWN = 'unknown'

# Conflict kinds.  The first five: the config has the option, the probe fails.
MODULE_NOT_LOADED = 'module_not_loaded'
MODULE_BLOCKED = 'module_blocked'
MODULE_MISSING = 'module_missing'
READ_ONLY_PROC_SYS = 'read_only_proc_sys'
PERMISSION = 'permission'
KERNEL_TOO_OLD = 'kernel_too_old'
PROBE_FAILED = 'probe_failed'
# The config lacks the option, the probe passes.
CONFIG_NOT_RUNNING = 'config_not_running_kernel'
CONFIG_NOT_NEEDED = 'config_not_needed'

# The modules a tristate option builds, for the options the registry names
# (and their siblings criu's hints name).  Kconfig and the module files carry
# no mapping back to the option (modules.builtin.modinfo and modinfo list no
# CONFIG names), so this is the one place it is written down; each name is
# the object in the option's Makefile line (e.g. net/packet/Makefile:
# obj-$(CONFIG_PACKET_DIAG) += af_packet_diag.o).  Several names: the module
# was renamed; the first one present wins.
MODULES = {
    'CONFIG_UNIX': ('unix',),
    'CONFIG_UNIX_DIAG': ('unix_diag',),
    'CONFIG_INET_DIAG': ('inet_diag',),
    'CONFIG_INET_TCP_DIAG': ('tcp_diag',),
    'CONFIG_INET_UDP_DIAG': ('udp_diag',),
    'CONFIG_INET_RAW_DIAG': ('raw_diag',),
    'CONFIG_PACKET': ('af_packet',),
    'CONFIG_PACKET_DIAG': ('af_packet_diag',),
    'CONFIG_NETLINK_DIAG': ('netlink_diag',),
    'CONFIG_IPV6': ('ipv6',),
    'CONFIG_TUN': ('tun',),
    'CONFIG_VETH': ('veth',),
    'CONFIG_NF_TABLES': ('nf_tables',),
    'CONFIG_NETFILTER_XT_MARK': ('xt_mark',),
    'CONFIG_AUTOFS_FS': ('autofs4', 'autofs'),
    'CONFIG_AUTOFS4_FS': ('autofs4',),
    'CONFIG_OVERLAY_FS': ('overlay',),
}

# (probe id, option) -> (first kernel that needs it, first that no longer
# does), as (major, minor); None: no bound.  Outside the range a probe may
# pass with the option off, which is no disagreement.
#   map_files: proc_pid_map_files(5), "Until Linux 4.3, this directory
#     appeared only if CONFIG_CHECKPOINT_RESTORE".
#   kcmp: kernel/Makefile since 5.12 builds kcmp.o for CONFIG_KCMP (selected
#     by CHECKPOINT_RESTORE or DRM), before that for CHECKPOINT_RESTORE.
#   posix_timers: CONFIG_POSIX_TIMERS exists since 4.10 ("posix-timers: Make
#     them configurable"); before, they were always built.
#   memfd_hugetlb: CONFIG_MEMFD_CREATE exists since 4.18 ("mm: restructure
#     memfd code"); before, memfd_create() came with SHMEM.
#   autofs: 4.18 renamed autofs4 to autofs and CONFIG_AUTOFS4_FS to
#     CONFIG_AUTOFS_FS.
#   loginuid: /proc/<pid>/loginuid came with CONFIG_AUDITSYSCALL until 5.1
#     ("audit: move loginuid and sessionid from CONFIG_AUDITSYSCALL to
#     CONFIG_AUDIT"), with CONFIG_AUDIT since.
NEEDED = {
    ('posix_timers', 'CONFIG_POSIX_TIMERS'): ((4, 10), None),
    ('memfd_hugetlb', 'CONFIG_MEMFD_CREATE'): ((4, 18), None),
    ('autofs', 'CONFIG_AUTOFS4_FS'): (None, (4, 18)),
    ('autofs', 'CONFIG_AUTOFS_FS'): ((4, 18), None),
    ('loginuid', 'CONFIG_AUDITSYSCALL'): (None, (5, 1)),
    ('map_files', 'CONFIG_CHECKPOINT_RESTORE'): (None, (4, 3)),
    ('kcmp', 'CONFIG_CHECKPOINT_RESTORE'): (None, (5, 12)),
    ('kcmp', 'CONFIG_KCMP'): ((5, 12), None),
    ('kcmp_epoll', 'CONFIG_CHECKPOINT_RESTORE'): (None, (5, 12)),
    ('kcmp_epoll', 'CONFIG_KCMP'): ((5, 12), None),
}

# Options that exist only on some architectures (elsewhere they are unset
# whatever the probe says; arch/x86/Kconfig), and options a probe needs only
# on some (arch/x86/kernel/process_64.c offers ARCH_MAP_VDSO_32 under
# CONFIG_CHECKPOINT_RESTORE; other architectures have no such call, and
# their CONFIG_CHECKPOINT_RESTORE does not make it work).
ARCH_ONLY = {
    'CONFIG_IA32_EMULATION': ('x86_64',),
    ('can_map_vdso', 'CONFIG_CHECKPOINT_RESTORE'): ('x86_64',),
    ('compat_cr', 'CONFIG_CHECKPOINT_RESTORE'): ('x86_64',),
}

# Probes whose "supported" does not mean the option's feature is there
# (criu's own quirks, kept for the verdict): the evidence says, option by
# option, whether its feature answered.
#   net_diag_raw: criu/sockets.c counts ENOENT (no raw_diag) as collected.
#   sock_diag: criu/sockets.c collect_sockets() passes with families it
#     could not collect (each is a *_diag module): an option answered
#     unless every request it serves is in evidence.uncollected.  IPv4's
#     requests stand for inet_diag (IPv6 may be off on its own).
SOCK_DIAG_REQUESTS = {
    'CONFIG_UNIX_DIAG': ('AF_UNIX/IPPROTO_IP',),
    'CONFIG_INET_DIAG': ('AF_INET/IPPROTO_TCP', 'AF_INET/IPPROTO_UDP'),
    'CONFIG_INET_TCP_DIAG': ('AF_INET/IPPROTO_TCP',),
    'CONFIG_INET_UDP_DIAG': ('AF_INET/IPPROTO_UDP',),
    'CONFIG_PACKET_DIAG': ('AF_PACKET/IPPROTO_IP',),
    'CONFIG_NETLINK_DIAG': ('AF_NETLINK/NDIAG_PROTO_ALL',),
}


def _sock_diag_answered(result, option):
    uncollected = (result.get('evidence') or {}).get('uncollected') or ()
    requests = SOCK_DIAG_REQUESTS.get(option)
    return not requests or not all(key in uncollected for key in requests)


TRUTH = {
    'net_diag_raw': lambda result, option: (result.get('evidence') or {}).get('raw_diag_available', True),
    'sock_diag': _sock_diag_answered,
}


def _answered(row, result, option):
    """Whether ``option``'s feature answered in a result (TRUTH; else its status says it all)."""
    return TRUTH.get(row.id, lambda r, o: True)(result, option)


def built_without(row, result, values, config, release, machine=None):
    """The options an unsupported probe needs on this kernel that the
    kernel's config has off (n, or unset): then no module, sysctl or
    privilege can bring the feature, only another kernel.  ``config`` is the
    ``kernel.config`` facts: nothing unless it was read and is not of another
    version.  Never for the probes whose options do not decide their answer
    (TRUTH): their failure may have another cause."""
    if (result.get('status') != R.UNSUPPORTED or row.id in TRUTH or not config or not config.get('readable')
            or config.get('version_matches') is False):
        return []
    running = major_minor(release or '')
    return [opt for opt in row.config if values.get(opt) in ('n', UNSET) and _needed(row.id, opt, running, machine)]


def built_without_fix(options, fix):
    """``fix`` led by the cause built_without() found."""
    return "this kernel's config has %s off: %s" % (' and '.join(options), fix)


_HEADER = re.compile(r'^# Linux/\S+ (\d+)\.(\d+)(?:\.(\d+))?\S* Kernel Configuration')


def _path(root, path):
    return os.path.join(root, path.lstrip('/')) if root and root != '/' else path


def major_minor(text):
    """(major, minor) from a release or version string, or None."""
    match = re.match(r'(\d+)\.(\d+)', text or '')
    return (int(match.group(1)), int(match.group(2))) if match else None


def candidates(release, root='/'):
    """Where the running kernel's config may be, in the order tried."""
    return [
        _path(root, '/proc/config.gz'),
        _path(root, '/boot/config-%s' % release),
        _path(root, '/lib/modules/%s/config' % release),
    ]


def _read(path):
    """The config text at ``path`` (gzip by name or magic), or raise OSError /
    ValueError."""
    with open(path, 'rb') as f:
        data = f.read()
    if data[:2] == b'\x1f\x8b':
        import gzip  # only when there is something to decompress
        import zlib
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError('cannot decompress %s: %s' % (path, exc))
    return data.decode('utf-8', 'replace')


def _unquote(value):
    value = value.rstrip('\r')
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return value[1:-1]
    return value


def parse(text, options=None):
    """``{CONFIG_X: value}`` from a .config text: 'y', 'm', a string value as
    written (quotes taken off), 'n' for ``# CONFIG_X is not set``.  With
    ``options``, only those are looked up (a substring search each, about
    four times faster than splitting a distribution's 11000-line config),
    and the ones absent are 'unset'."""
    if options is not None:
        text = '\n' + text
        values = {}
        for key in options:
            at = text.find('\n%s=' % key)
            if at >= 0:
                start = at + len(key) + 2
                end = text.find('\n', start)
                values[key] = _unquote(text[start:end if end >= 0 else len(text)])
            elif text.find('\n# %s is not set' % key) >= 0:
                values[key] = 'n'
            else:
                values[key] = UNSET
        return values
    values = {}
    for line in text.splitlines():
        if line.startswith('CONFIG_'):
            key, sep, value = line.partition('=')
            if sep:
                values[key] = _unquote(value)
        elif line.startswith('# CONFIG_') and line.endswith(' is not set'):
            values[line[2:-len(' is not set')]] = 'n'
    return values


def find(release=None, options=None, root='/'):
    """The running kernel's config.

    Returns ``{'source': path or None, 'readable': bool, 'reason': str or None,
    'version': 'X.Y[.Z]' from the file's header or None, 'values': {CONFIG_X:
    value}}``.  ``values`` holds ``options`` only when given (absent ones
    'unset'), else every option in the file.  Without a readable file every
    asked option is 'unreadable' and ``reason`` says why for each place tried.
    """
    release = release or os.uname().release
    reasons = []
    for path in candidates(release, root):
        try:
            text = _read(path)
        except (OSError, ValueError) as exc:
            err = getattr(exc, 'errno', None)
            if err == errno.ENOENT:
                reasons.append('%s: not found' % path)
            elif err in (errno.EACCES, errno.EPERM):
                reasons.append('%s: permission denied' % path)
            else:
                reasons.append('%s: %s' % (path, getattr(exc, 'strerror', None) or exc))
            continue
        header = None
        for line in text[:512].splitlines()[:5]:
            match = _HEADER.match(line)
            if match:
                header = '.'.join(g for g in match.groups() if g is not None)
                break
        return {'source': path, 'readable': True, 'reason': None, 'version': header,
                'values': parse(text, options)}
    return {'source': None, 'readable': False, 'reason': '; '.join(reasons), 'version': None,
            'values': dict((key, UNREADABLE) for key in (options or ()))}


_ENDINGS = ('', '.xz', '.zst', '.gz')

# modprobe's configuration, lowest precedence first: a file replaces the file
# of the same name in the directories before it (modprobe.d(5)).
MODPROBE_DIRS = ('/lib/modprobe.d', '/usr/lib/modprobe.d', '/usr/local/lib/modprobe.d', '/run/modprobe.d',
                 '/etc/modprobe.d')
# "install NAME /bin/false" (or true): the usual way to forbid a module; the
# kernel's own requests (request_module(), how the sock-diag families, tun and
# nf_tables load on first use) run modprobe, which runs that command instead.
_NO_LOAD = ('false', 'true')


def modprobe_blocks(root='/'):
    """{module: 'PATH: rule'} for the modules modprobe will not load on the
    kernel's request: an ``install`` rule that runs false or true, or a
    ``blacklist`` (which stops loading by alias, as the kernel asks, though
    not ``modprobe NAME``).  Names with '-' spelled '_', as modprobe does."""
    files = {}
    for directory in MODPROBE_DIRS:
        try:
            names = os.listdir(_path(root, directory))
        except OSError:
            continue
        for name in names:
            if name.endswith('.conf'):
                files[name] = os.path.join(directory, name)
    blocks = {}
    for name in sorted(files):
        try:
            with open(_path(root, files[name])) as f:
                text = f.read().replace('\\\n', ' ')
        except (OSError, UnicodeDecodeError):
            continue
        for line in text.splitlines():
            words = line.split('#', 1)[0].split()
            if len(words) >= 3 and words[0] == 'install' and os.path.basename(words[2]) in _NO_LOAD \
                    or len(words) == 2 and words[0] == 'blacklist':
                blocks.setdefault(words[1].replace('-', '_'), '%s: %s' % (files[name], ' '.join(words)))
    return blocks


def _first_line(path):
    try:
        with open(path, errors='replace') as f:
            return f.readline().strip()
    except OSError:
        return None


MODULES_DISABLED = '/proc/sys/kernel/modules_disabled'
CMDLINE = '/proc/cmdline'


def kernel_blocks(root='/'):
    """{module: 'WHERE: rule'} for what the kernel itself (or modprobe, from
    the kernel's command line) refuses to load: ``module_blacklist=`` and
    ``modprobe.blacklist=``; ``{'*': ...}`` when kernel.modules_disabled is
    1, which no module escapes until reboot."""
    blocks = {}
    if _first_line(_path(root, MODULES_DISABLED)) == '1':
        blocks['*'] = '%s: 1' % MODULES_DISABLED
    for word in (_first_line(_path(root, CMDLINE)) or '').split():
        key, dummy, value = word.partition('=')
        if key in ('module_blacklist', 'modprobe.blacklist'):
            for name in value.split(','):
                blocks.setdefault(name.replace('-', '_'), '%s: %s' % (CMDLINE, word))
    return blocks


def _lists(text, name):
    """Whether a modules.dep / modules.builtin text (with a leading newline)
    lists module ``name`` as a file of its own: ``[dir/]NAME.ko[.xz|.zst|.gz]``
    as the first field of a line (a dependency after the colon does not
    count).  File names may spell '_' as '-'."""
    for spelling in set((name, name.replace('_', '-'))):
        needle = spelling + '.ko'
        at = text.find(needle)
        while at >= 0:
            after = at + len(needle)
            if text[at - 1:at] in ('/', '\n'):
                line_end = text.find('\n', after)
                line_end = line_end if line_end >= 0 else len(text)
                colon = text.find(':', after, line_end)
                tail = text[after:colon if colon >= 0 else line_end].rstrip()
                if tail in _ENDINGS and ':' not in text[text.rfind('\n', 0, at) + 1:at]:
                    return True
            at = text.find(needle, after)
    return False


class Modules:
    """What the kernel has of each module, read once and lazily: loaded
    (/proc/modules, /sys/module/NAME/initstate), built in (modules.builtin,
    /sys/module/NAME without initstate), blocked (in modules.dep, but
    modprobe's configuration forbids it: see modprobe_blocks()), loadable
    (modules.dep)."""

    def __init__(self, release, root='/'):
        self.release = release
        self.root = root
        self._loaded = None
        self._blocks = None
        self._files = {}

    def block(self, name):
        """The rule that forbids loading module ``name`` ('WHERE: rule'), or
        None: the kernel's own (kernel_blocks()) before modprobe's."""
        if self._blocks is None:
            self._blocks = modprobe_blocks(self.root)
            self._blocks.update(kernel_blocks(self.root))
        return self._blocks.get('*') or self._blocks.get(name.replace('-', '_'))

    def _text(self, name):
        """The text of /lib/modules/RELEASE/NAME, or the errno reading it."""
        if name not in self._files:
            path = _path(self.root, '/lib/modules/%s/%s' % (self.release, name))
            try:
                with open(path, errors='replace') as f:   # a DKMS path may be in another encoding
                    self._files[name] = '\n' + f.read()
            except OSError as exc:
                self._files[name] = exc.errno
        return self._files[name]

    def loaded(self):
        if self._loaded is None:
            try:
                with open(_path(self.root, '/proc/modules')) as f:
                    self._loaded = set(line.split(' ', 1)[0] for line in f)
            except OSError:
                self._loaded = set()
        return self._loaded

    def state(self, name):
        if name in self.loaded() or os.path.exists(_path(self.root, '/sys/module/%s/initstate' % name)):
            return LOADED
        builtin = self._text('modules.builtin')
        if (not isinstance(builtin, int) and _lists(builtin, name)) or os.path.isdir(_path(self.root, '/sys/module/' + name)):
            return BUILTIN
        dep = self._text('modules.dep')
        if not isinstance(dep, int):
            if not _lists(dep, name):
                return ABSENT
            return BLOCKED if self.block(name) else LOADABLE
        # No modules.dep (a container, whose modules are the host's; a kernel without its modules): unknown
        return UNKNOWN

    def resolve(self, option):
        """(module name, state) for a tristate option in MODULES; the first
        name with a state other than absent, else the first name."""
        names = MODULES.get(option, ())
        first = None
        for name in names:
            state = self.state(name)
            if state != ABSENT:
                return name, state
            first = first or (name, state)
        return first


def _needed(probe_id, option, running, machine):
    arches = ARCH_ONLY.get(option) or ARCH_ONLY.get((probe_id, option))
    if arches and machine not in arches:
        return False
    since, until = NEEDED.get((probe_id, option), (None, None))
    if running is None:
        return since is None and until is None
    if since is not None and running < since:
        return False
    if until is not None and running >= until:
        return False
    return True


def _errno_name(result):
    evidence = result.get('evidence') or {}
    name = evidence.get('errno_name')
    if name:
        return name
    message = result.get('message') or ''
    if 'Read-only file system' in message:
        return 'EROFS'
    if 'Operation not permitted' in message:
        return 'EPERM'
    if 'Permission denied' in message:
        return 'EACCES'
    return None


def _kernel_min(row):
    return major_minor(getattr(row, 'kernel_min', '') or '')


def has_kernel_min(row, release):
    """Whether the kernel ``release`` is the row's kernel_min or newer; False
    when either cannot be read."""
    minimum, running = _kernel_min(row), major_minor(release)
    return bool(minimum and running) and running >= minimum


def _unblock(block):
    """How to lift a rule 'WHERE: rule' of modprobe_blocks() or kernel_blocks()."""
    path, rule = block.split(': ', 1)
    if path == MODULES_DISABLED:
        return ('kernel.modules_disabled is 1, so no module loads until a reboot: remove the setting (from '
                '/etc/sysctl.d/ or the boot parameters) and reboot')
    if path == CMDLINE:
        return 'remove %s from the kernel command line (the boot loader\'s configuration) and reboot' % rule
    if rule.startswith('blacklist '):
        return 'delete "%s" from %s (or load it by name: a blacklist stops only loading by alias)' % (rule, path)
    return 'delete "%s" from %s' % (rule, path)


def _config_on_probe_fails(row, result, values, modules, running, release, machine, source, options=None,
                           modules_only=False):
    """The conflict for a probe that fails although every option it needs on
    this kernel is on, or None.  ``options``: only those (the ones whose
    feature did not answer in a probe that passed); ``modules_only``: only a
    module to load, unblock or install."""
    needed = [opt for opt in (options or row.config) if _needed(row.id, opt, running, machine)]
    on = [opt for opt in needed if values.get(opt) not in ('n', UNSET, UNREADABLE)]
    if not on or len(on) != len(needed):
        return None  # nothing to compare, or the config itself explains the failure
    not_loaded, blocked, missing = [], [], []
    for opt in on:
        if values[opt] == 'm' and opt in MODULES:
            name, state = modules[opt][:2]
            if state == LOADABLE:
                not_loaded.append((opt, name))
            elif state == BLOCKED:
                blocked.append((opt, name, modules[opt][2]))
            elif state == ABSENT:
                missing.append((opt, name))
    message = result.get('message') or ''
    shown = ', '.join('%s=%s' % (opt, values[opt]) for opt in on)
    err = None if modules_only else _errno_name(result)
    fix = result.get('fix') or row.fix
    # Refused before the kernel would load a module on demand: the permission comes first.
    unloaded = [name for dummy, name in not_loaded] + [name for dummy, name, dummy in blocked]
    later = ' (then %s, not loaded yet)' % ', '.join(n + '.ko' for n in unloaded) if unloaded else ''
    if err == 'EROFS':
        return {'kind': READ_ONLY_PROC_SYS, 'config': on,
                'detail': '%s, but /proc/sys is read-only here: %s%s' % (shown, message, later),
                'fix': fix}
    if err in ('EPERM', 'EACCES'):
        return {'kind': PERMISSION, 'config': on,
                'detail': '%s, but the kernel refused the probe (%s; %sa capability, a sysctl, seccomp or an LSM): %s%s'
                          % (shown, err, 'a file\'s mode, ' if err == 'EACCES' else '', message, later),
                'fix': fix}
    if blocked:
        rules = [rule for dummy, dummy, rule in blocked]
        names = [name for dummy, name, dummy in blocked]
        return {'kind': MODULE_BLOCKED, 'config': [opt for opt, dummy, dummy in blocked],
                'detail': '%s, and %s in /lib/modules/%s, but modprobe will not load %s: %s' % (
                    shown, ', '.join(n + '.ko' for n in names), release, 'it' if len(names) == 1 else 'them',
                    '; '.join(rules)),
                'fix': '; '.join(_unblock(rule) for rule in rules) + ', then ' + (
                    'modprobe ' if len(names) == 1 else 'modprobe -a ') + ' '.join(names)}
    if not_loaded:
        names = [name for dummy, name in not_loaded]
        return {'kind': MODULE_NOT_LOADED, 'config': [opt for opt, dummy in not_loaded],
                'detail': '%s, and %s %s in /lib/modules/%s but not loaded' % (
                    shown, ', '.join(n + '.ko' for n in names), 'is' if len(names) == 1 else 'are', release),
                'fix': ('modprobe ' if len(names) == 1 else 'modprobe -a ') + ' '.join(names)}
    if missing:
        names = [name for dummy, name in missing]
        return {'kind': MODULE_MISSING, 'config': [opt for opt, dummy in missing],
                'detail': '%s, but %s neither loaded nor installed for %s' % (
                    shown, ', '.join(n + '.ko' for n in names), release),
                'fix': 'install the modules of kernel %s (they are not under /lib/modules/%s; on Ubuntu: '
                       'linux-modules-extra-%s), or boot a kernel built with %s' % (
                           release, release, release, ', '.join('%s=y' % opt for opt, dummy in missing))}
    if modules_only:
        return None
    minimum = _kernel_min(row)
    if minimum and running and running < minimum:
        return {'kind': KERNEL_TOO_OLD, 'config': on,
                'detail': '%s, but the running kernel %s is older than %d.%d: %s' % (
                    shown, release, minimum[0], minimum[1], message),
                'fix': 'upgrade to a kernel >= %d.%d' % minimum}
    doubt = ''
    if source and not source.endswith('/proc/config.gz'):
        doubt = ' (unless %s is not the running kernel\'s config)' % source
    return {'kind': PROBE_FAILED, 'config': on,
            'detail': '%s, but the probe fails%s: %s' % (shown, doubt, message or '(no message)'),
            'fix': fix}


def _config_off_probe_passes(row, result, values, info, running, machine):
    off = [opt for opt in row.config if values.get(opt) in ('n', UNSET) and _needed(row.id, opt, running, machine)
           and _answered(row, result, opt)]
    if not off:
        return None
    shown = ', '.join('%s=%s' % (opt, values[opt]) for opt in off)
    source = info.get('source')
    if source and source.endswith('/proc/config.gz'):
        # /proc/config.gz is built into the running kernel: it cannot be another build's
        return {'kind': CONFIG_NOT_NEEDED, 'config': off,
                'detail': '%s in %s (the running kernel\'s own config), yet the probe passes: '
                          'the probe does not need %s on this kernel' % (shown, source, ' or '.join(off)),
                'fix': None}
    version = info.get('version')
    where = '%s%s' % (source, ' (built as %s)' % version if version else '')
    why = 'that file is not the running kernel\'s config'
    if version and major_minor(version) == running:
        why = 'that file is another build\'s config of the same version, or the probe does not need %s here' % ' or '.join(off)
    return {'kind': CONFIG_NOT_RUNNING, 'config': off,
            'detail': '%s in %s, yet the probe passes: %s' % (shown, where, why),
            'fix': 'compare `uname -rv` with the build of %s, and read the running kernel\'s own config '
                   '(/proc/config.gz, with CONFIG_IKCONFIG_PROC=y) instead' % source}


def annotate(rows, results, info, modules=None, release=None, machine=None):
    """Each probe's config values and the disagreements with its result.

    rows:     registry rows (``.id``, ``.config``, ``.fix``, ``.kernel_min``)
    results:  ``{probe id: result}`` (``status``, ``message``, ``evidence``,
              ``fix``); a row without a result gets values, no conflict
    info:     what ``find()`` returned, with values for every option of rows
    modules:  ``{option: (module, state)}`` for the ``=m``/``=y`` options
    Returns ``(config_values, conflicts)``: ``{probe id: {CONFIG_X: value}}``
    and a list of ``{'probe', 'kind', 'config': [options], 'detail', 'fix'}``.
    """
    release = release or os.uname().release
    machine = machine or os.uname().machine
    running = major_minor(release)
    values = info.get('values') or {}
    modules = modules or {}
    config_values = {}
    conflicts = []
    for row in rows:
        mine = dict((opt, values.get(opt, UNREADABLE if not info.get('readable') else UNSET)) for opt in row.config)
        config_values[row.id] = mine
        result = results.get(row.id)
        # A check criu does not make here (R.not_probed()) says nothing of the kernel: nothing to compare.
        if not result or not row.config or not info.get('readable') or R.is_not_probed(result):
            continue
        status = result.get('status')
        conflict = None
        if status == R.UNSUPPORTED:
            conflict = _config_on_probe_fails(row, result, mine, modules, running, release, machine, info.get('source'))
        elif status == R.SUPPORTED:
            conflict = _config_off_probe_passes(row, result, mine, info, running, machine)
            unanswered = [opt for opt in row.config if not _answered(row, result, opt)]
            if not conflict and unanswered:
                # criu passes, but will fail later without these: a module to load is worth saying
                conflict = _config_on_probe_fails(row, result, mine, modules, running, release, machine,
                                                  info.get('source'), options=unanswered, modules_only=True)
        if conflict:
            entry = {'probe': row.id}
            entry.update(conflict)
            conflicts.append(entry)
    return config_values, conflicts


def of_verdicts(conflicts, results):
    """annotate()'s ``conflicts`` without those of probes whose result in
    ``results`` is no longer a verdict: _decide.as_criu_runs() made it
    unknown, and annotate() finds no conflict for an unknown result."""
    return [c for c in conflicts if (results.get(c['probe']) or {}).get('status') in (R.SUPPORTED, R.UNSUPPORTED)]


def with_probe_fixes(conflicts, probes):
    """``conflicts`` where each refusal (its options on, the probe refused:
    PERMISSION, READ_ONLY_PROC_SYS) carries its probe's fix from ``probes``
    (criu_facts.probes): where the container or the node is the cause, that
    fix says so (_environment_fix), and it is what the probe's entry says."""
    refusals = (PERMISSION, READ_ONLY_PROC_SYS)
    return [dict(c, fix=probes[c['probe']]['fix']) if c['kind'] in refusals and c['probe'] in probes else c
            for c in conflicts]


def gather(release, rows, results, root='/', machine=None):
    """The ``kernel.config`` facts for the probes in ``rows`` and their ``results``.

    Returns ``(facts, config_values)``:
      facts = {'source', 'readable', 'reason', 'version', 'version_matches',
               'modules': {name: loaded|loadable|blocked|builtin|absent|unknown},
               'conflicts': [...], 'duration_ms'}
      config_values = {probe id: {CONFIG_X: y|m|n|unset|unreadable|value}}
    """
    start = time.time()
    release = release or os.uname().release
    options = sorted(set(opt for row in rows for opt in row.config))
    info = find(release, options, root)
    values = info['values']
    mods = Modules(release, root)
    modules = {}
    for opt in options:
        if opt in MODULES and values.get(opt) in ON:
            if values[opt] == 'y':
                modules[opt] = (MODULES[opt][0], BUILTIN)
            else:
                name, state = mods.resolve(opt)
                modules[opt] = (name, state, mods.block(name)) if state == BLOCKED else (name, state)
    config_values, conflicts = annotate(rows, results, info, modules, release, machine)
    running, built = major_minor(release), major_minor(info['version'])
    facts = {
        'source': info['source'],
        'readable': info['readable'],
        'reason': info['reason'],
        'version': info['version'],
        'version_matches': (running == built) if running and built else None,
        'modules': dict(m[:2] for m in modules.values()),
        'conflicts': conflicts,
        'duration_ms': round((time.time() - start) * 1000, 3),
    }
    return facts, config_values
