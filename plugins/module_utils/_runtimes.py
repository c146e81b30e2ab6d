# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Whether the container runtimes installed here could checkpoint.

PRIVATE to the criu.check collection: not a public API.

For podman, runc, crun, youki, containerd, CRI-O, kubelet, Docker and LXC,
when installed: the version, and ``checkpoint`` ready / not_ready / unknown
with the reasons and one fix.  Each runtime's own gate is reproduced from its
source: the minimum criu it compares (podman pkg/criu/criu.go, runc
libcontainer/criu_linux.go checkCriuVersion(), crun src/libcrun/criu.c
LIBCRIU_MIN_VERSION, youki container_criu.rs CRIU_VERSION_MINIMUM, containerd
internal/cri/server/container_checkpoint_linux.go, CRI-O
internal/oci/runtime_oci.go, LXC src/lxc/criu.c), whether it was built with
CRIU, and its configuration keys.

Only version output and configuration files are read: no daemon, container
or daemon socket is ever touched (``podman info`` is not run: it may start
podman's own services, and everything it would tell is in containers.conf).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import json
import os
import re

from ansible_collections.criu.check.plugins.module_utils import _toml
from ansible_collections.criu.check.plugins.module_utils._context import which as which_tool

READY = 'ready'
NOT_READY = 'not_ready'
UNKNOWN = 'unknown'

# The order of the facts, and the binary whose presence means "installed".
RUNTIMES = ('podman', 'runc', 'crun', 'youki', 'containerd', 'cri-o', 'kubelet', 'docker', 'lxc')
BINARIES = {
    'podman': 'podman', 'runc': 'runc', 'crun': 'crun', 'youki': 'youki',
    'containerd': 'containerd', 'cri-o': 'crio', 'kubelet': 'kubelet',
    'docker': 'dockerd',             # the daemon checkpoints; the docker CLI alone may talk to another host
    'lxc': 'lxc-checkpoint',         # liblxc's tool; the "lxc" command is LXD's or Incus's client
}
VERSION_ARGS = {'cri-o': ['version']}   # everyone else answers --version
NAMES = {'podman': 'Podman', 'cri-o': 'CRI-O', 'docker': 'Docker', 'lxc': 'LXC'}

# The criu version as the runtimes compare it: major*10000 + minor*100 + sublevel
# (criu lib/c/criu.c criu_local_get_version(), go-criu GetCriuVersion()).
MIN_CRIU = {
    'podman': 31100,      # pkg/criu/criu.go MinCriuVersion
    'runc': 30000,        # libcontainer/criu_linux.go checkCriuVersion()
    'crun': 31500,        # src/libcrun/criu.c LIBCRIU_MIN_VERSION
    'youki': 31500,       # crates/libcontainer/src/container/container_criu.rs CRIU_VERSION_MINIMUM
    'containerd': 31600,  # internal/cri/server/container_checkpoint_linux.go (PodCriuVersion)
    'cri-o': 31600,       # internal/oci/runtime_oci.go (PodCriuVersion)
    'docker': 30000,      # Docker checkpoints through runc
    'lxc': 20000,         # src/lxc/criu.c compares criu --version with "2.0"
}

# containerd's configuration, and the CRI plugins in it that can hold enable_criu: the one that reads it
# (config version 3), and the one a version 2 file sets the CRI up in, which containerd 2 migrates into it.
CONTAINERD_CONFIG = '/etc/containerd/config.toml'
CRI_RUNTIME = 'io.containerd.cri.v1.runtime'
CRI_GRPC = 'io.containerd.grpc.v1.cri'
# The shim of containerd's default CRI configuration (internal/cri/config DefaultRuntimeConfig(): default_runtime_name
# "runc", its runtime_type), and the only one containerd's CheckpointContainer asks for criu and passes criu's options
# to (internal/cri/server/container_checkpoint_linux.go, plugins.RuntimeRuncV2). Any other shim gets the checkpoint
# request as it is: Kata Containers' shim answers it with "not implemented" (kata-containers containerd-shim-v2
# service.Checkpoint); what another one does is its own, not criu's.
CONTAINERD_RUNC_SHIM = 'io.containerd.runc.v2'
CONTAINERD_KATA_SHIM = re.compile(r'io\.containerd\.kata(-[\w-]+)?\.v2$')   # kata-deploy adds kata-qemu, kata-clh, ...

# The installed criu's check verdicts (_installed_criu's TIMEOUT, NOT_RUN, BLOCKED) that say nothing of
# whether it works for a runtime: it timed out or could not be run, or it refused the context of this check
# (not root), while the runtimes run it as root.
CRIU_CHECK_UNDETERMINED = ('timeout', 'not_run', 'blocked')

PODMAN_POD_CRIU = 31600   # pkg/criu/criu.go PodCriuVersion: podman pod checkpoint
OCI_RUNTIMES = ('crun', 'runc', 'youki')
# The OCI runtimes whose own gate already tells whether they answer `checkpoint`: crun has the command only when
# built with CRIU (src/crun.c, the same #if as +CRIU), runc always has it (runc_nocriu only makes it fail). Every
# other one, youki included, is asked `<rt> checkpoint --help` as podman and CRI-O ask it (checkpointctl
# utils CRRuntimeSupportsCheckpointRestore()); youki's 0.5 releases call the command `checkpointt` (liboci-cli
# CommonCmd::Checkpointt, clap without inferred subcommands), so they fail that question, and Docker's shim runs
# `<rt> checkpoint` too.
ANSWERS_CHECKPOINT = ('crun', 'runc')
# containers/common pkg/config/config.go findRuntime(): the first one installed
PODMAN_DEFAULT_RUNTIMES = ('crun', 'runc', 'runj', 'kata', 'runsc', 'ocijail')
# containers/common pkg/config/default.go: where podman looks for each OCI runtime, in this order and not on
# PATH; [engine.runtimes] in containers.conf replaces a name's list or adds a name.
PODMAN_RUNTIME_PATHS = {
    'crun': ('/usr/bin/crun', '/usr/sbin/crun', '/usr/local/bin/crun', '/usr/local/sbin/crun', '/sbin/crun', '/bin/crun',
             '/run/current-system/sw/bin/crun'),
    'runc': ('/usr/bin/runc', '/usr/sbin/runc', '/usr/local/bin/runc', '/usr/local/sbin/runc', '/sbin/runc', '/bin/runc',
             '/usr/lib/cri-o-runc/sbin/runc', '/run/current-system/sw/bin/runc'),
    'runj': ('/usr/local/bin/runj',),
    'kata': ('/usr/bin/kata-runtime', '/usr/sbin/kata-runtime', '/usr/local/bin/kata-runtime', '/usr/local/sbin/kata-runtime',
             '/sbin/kata-runtime', '/bin/kata-runtime', '/usr/bin/kata-qemu', '/usr/bin/kata-fc'),
    'runsc': ('/usr/bin/runsc', '/usr/sbin/runsc', '/usr/local/bin/runsc', '/usr/local/sbin/runsc', '/bin/runsc', '/sbin/runsc',
              '/run/current-system/sw/bin/runsc'),
    'youki': ('/usr/local/bin/youki', '/usr/bin/youki', '/bin/youki', '/run/current-system/sw/bin/youki'),
    'krun': ('/usr/bin/krun', '/usr/local/bin/krun'),
    'ocijail': ('/usr/local/bin/ocijail',),
}
RUNC_NOCRIU = b'runc_nocriu'   # libcontainer/criu_disabled_linux.go ErrNoCR, and the build tag in Go's build info
# criu and the daemons live in sbin, which a non-root PATH may lack (as _context.which)
BIN_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
LIB_DIRS = ('/usr/lib64', '/usr/lib', '/lib64', '/lib', '/usr/local/lib64', '/usr/local/lib')


def gather(run, criu=None, kernel_ready=None, root='/', which=None):
    """The facts of every installed runtime: ``{name: {...}}``; absent ones are left out.

    run           ``run(argv) -> (rc, stdout, stderr)``, never raising, rc 127
                  when the tool is missing (ProbeContext.run)
    criu          the installed criu: ``{installed, path, version, usable, reason, fix}``;
                  None or missing keys mean "not determined"
    kernel_ready  criu_ready of the probes: True, False or None
    root          where the configuration files are read ("/" on a host)
    which         ``which(name) -> path or None``; by default PATH and the sbin
                  directories, under ``root`` when it is not "/"
    """
    root = root or '/'
    if which is None:
        which = which_tool if root == '/' else (lambda name: _which_under(root, name))
    host = _Host(run, criu if isinstance(criu, dict) else None, kernel_ready, root, which)
    facts = {}
    for name in RUNTIMES:
        path = which(BINARIES[name])
        if path:
            facts[name] = host.evaluate(name, path)
    return facts


def criu_runnable(criu):
    """Whether the runtimes find a criu to run (exec.LookPath("criu")): one is installed and executable.  A criu
    that is present but not executable (criu_facts.criu.executable false) is one they do not see."""
    return bool(criu.get('installed')) and criu.get('executable', True) is not False


def criu_version_number(version, gitid=None):
    """``'4.1.1'`` -> 40101, ``'3.17'`` -> 31700; None when it is not a version.  A build from git
    (``gitid``, criu's GitID, not "0") counts as the next minor release, as go-criu's
    GetCriuVersion() counts it for runc, podman, CRI-O and containerd: 3.15 from git -> 31600."""
    match = re.match(r'\s*v?(\d+)\.(\d+)(?:\.(\d+))?', str(version or ''))
    if not match:
        return None
    number = int(match.group(1)) * 10000 + int(match.group(2)) * 100 + int(match.group(3) or 0)
    if gitid and gitid != '0':
        number = number - number % 100 + 100
    return number


def version_text(number):
    major, rest = divmod(number, 10000)
    minor, sub = divmod(rest, 100)
    return '%d.%d' % (major, minor) + ('.%d' % sub if sub else '')


def version_tuple(version):
    match = re.match(r'\s*v?(\d+)\.(\d+)(?:\.(\d+))?', str(version or ''))
    return tuple(int(g or 0) for g in match.groups()) if match else None


def _which_under(root, name):
    dirs = [d for d in os.environ.get('PATH', os.defpath).split(os.pathsep) if d.startswith('/')]
    for directory in dirs + list(BIN_DIRS):
        path = _join(root, directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def _join(root, *parts):
    return os.path.join(root, *[p.lstrip('/') for p in parts])


def _name(runtime):
    return NAMES.get(runtime, runtime)


# Names their projects write in lower case, even at the start of a sentence.
_LOWER_CASE_NAMES = frozenset(r for r in RUNTIMES if r not in NAMES) | frozenset(('criu',))


def _sentence(text):
    """``text`` as a sentence: a full stop at the end, a capital at the start
    unless it starts with a name written in lower case (runc, not Runc)."""
    text = text.strip()
    if not text:
        return text
    first = re.match(r"[\w-]*", text).group(0)
    if first not in _LOWER_CASE_NAMES:
        text = text[0].upper() + text[1:]
    return text if text.endswith('.') else text + '.'


class _Verdict:
    """What one runtime needs: blockers (not_ready), unknowns, and notes."""

    def __init__(self, runtime, path):
        self.runtime = runtime
        self.facts = {'path': path, 'version': None, 'checkpoint': UNKNOWN, 'reasons': [], 'fix': None,
                      'criu_min': None, 'notes': []}
        self.blockers = []    # (reason, fix)
        self.unknowns = []    # (reason, fix or None)

    def block(self, reason, fix):
        self.blockers.append((_sentence(reason), fix))

    def unknown(self, reason, fix=None):
        self.unknowns.append((_sentence(reason), fix))

    def note(self, text):
        self.facts['notes'].append(_sentence(text))

    def finish(self):
        pairs = self.blockers or self.unknowns
        self.facts['checkpoint'] = NOT_READY if self.blockers else (UNKNOWN if self.unknowns else READY)
        self.facts['reasons'] = [pair[0] for pair in self.blockers + self.unknowns]
        fixes = []
        for fix in [pair[1] for pair in pairs]:
            if fix and fix.rstrip('.') not in fixes:
                fixes.append(fix.rstrip('.'))
        self.facts['fix'] = _sentence('; '.join(fixes)) if fixes else None
        return self.facts


class _Host:
    def __init__(self, run, criu, kernel_ready, root, which):
        self.run, self.criu, self.kernel_ready, self.root, self.which = run, criu, kernel_ready, root, which
        self.done = {}
        self._procs = None

    # -- plumbing -------------------------------------------------------

    def verdict(self, runtime, path):
        """The _Verdict of ``runtime`` at ``path``, evaluated once per path (a manager may run another
        copy than the one on PATH: CRI-O's runtime_path, podman's [engine.runtimes])."""
        key = (runtime, path)
        if key not in self.done:
            verdict = _Verdict(runtime, path)
            self.done[key] = verdict
            self._version(verdict)
            getattr(self, '_' + runtime.replace('-', '_'))(verdict)
            verdict.finish()
        return self.done[key]

    def evaluate(self, runtime, path):
        return self.verdict(runtime, path).facts

    def _version(self, v):
        argv = [v.facts['path']] + VERSION_ARGS.get(v.runtime, ['--version'])
        try:
            rc, out, err = self.run(argv)
        except Exception as exc:  # a runner that raises is a result, not a traceback
            rc, out, err = 127, '', str(exc)
        v.output = out or ''
        pattern = {
            'podman': r'podman version (\S+)', 'runc': r'runc version (\S+)', 'crun': r'crun version (\S+)',
            'youki': r'youki version:? (\S+)', 'containerd': r'containerd \S+ v?(\d\S*)',
            'cri-o': r'(?m)^(?:Version:\s*|crio version )v?(\d\S*)', 'kubelet': r'Kubernetes v?(\d\S*)',
            'docker': r'Docker version ([^\s,]+)', 'lxc': r'^\s*(\d+\.\d+\S*)',
        }[v.runtime]
        match = re.search(pattern, v.output) if rc == 0 else None
        if match:
            v.facts['version'] = match.group(1)
        else:
            first = (err or out or '').strip().splitlines()
            v.version_error = '`%s %s` %s' % (
                os.path.basename(argv[0]), ' '.join(argv[1:]),
                ('exited with %d: %s' % (rc, first[0]) if first else 'exited with %d' % rc) if rc != 0
                else 'printed no version')
            v.note('its version could not be read: %s' % v.version_error)

    def _need_version(self, v):
        """The version tuple, or None with an unknown reason (for gates that depend on it)."""
        parsed = version_tuple(v.facts['version'])
        if parsed is None:
            v.unknown('%s\'s version decides its checkpoint gate and could not be read (%s)'
                      % (_name(v.runtime), getattr(v, 'version_error', 'unparsable')))
        return parsed

    def read(self, path):
        """(text, None), (None, None) when absent, or (None, error) when unreadable."""
        try:
            with open(_join(self.root, path), 'rb') as handle:
                return handle.read().decode('utf-8', 'replace'), None
        except (IOError, OSError) as exc:
            if getattr(exc, 'errno', None) == 2:
                return None, None
            return None, '%s: %s' % (path, exc.strerror or exc)

    def read_toml(self, v, path, invalid=''):
        """The TOML document of ``path``: {} when it is absent, None when it
        cannot be read or parsed (recorded on ``v`` as unknown, ``invalid``
        added to the parse error's sentence)."""
        text, error = self.read(path)
        if error:
            v.unknown('could not read %s' % error)
            return None
        if text is None:
            return {}
        try:
            return _toml.parse_toml(text)
        except ValueError as exc:
            v.unknown('the file %s is not valid TOML (%s)%s' % (path, exc, invalid))
            return None

    def root_home(self):
        """The home directory of uid 0 in the root's /etc/passwd; /root when it names none."""
        for line in (self.read('/etc/passwd')[0] or '').splitlines():
            fields = line.split(':')
            if len(fields) >= 7 and fields[2] == '0' and fields[5].startswith('/'):
                return fields[5]
        return '/root'

    def drop_ins(self, pattern):
        """The files of a drop-in directory, as paths without the root, sorted. The file name is matched as Go
        matches it (path/filepath Match() in containerd's resolveImports(), a ".conf" suffix in containers/common
        addConfigs()): a leading dot is an ordinary character there, where Python's glob would skip hidden files
        that containerd and podman load."""
        directory, name = os.path.split(pattern)
        found = []
        for here in sorted(glob.glob(_join(self.root, directory))):
            try:
                names = sorted(os.listdir(here))
            except OSError:
                continue
            found += [os.path.join(here, n) for n in names
                      if fnmatch.fnmatchcase(n, name) and os.path.isfile(os.path.join(here, n))]
        return [p[len(self.root.rstrip('/')):] for p in found]

    def walk(self, directory):
        """The files under ``directory``, recursively, as paths without the root, in the order of Go's
        filepath.Walk (names sorted; a subdirectory's files where its name sorts): CRI-O's drop-ins
        (pkg/config UpdateFromPath)."""
        top = _join(self.root, directory)
        found = []

        def visit(here):
            try:
                names = sorted(os.listdir(here))
            except OSError:
                return
            for name in names:
                full = os.path.join(here, name)
                if os.path.isdir(full) and not os.path.islink(full):
                    visit(full)
                elif os.path.isfile(full):
                    found.append(directory.rstrip('/') + full[len(top.rstrip('/')):])
        visit(top)
        return found

    def procs(self, comm):
        """Command lines of running processes named ``comm`` (read from /proc)."""
        if self._procs is None:
            self._procs = []
            for entry in glob.glob(_join(self.root, '/proc/[0-9]*/comm')):
                try:
                    with open(entry) as handle:
                        name = handle.read().strip()
                    with open(os.path.join(os.path.dirname(entry), 'cmdline'), 'rb') as handle:
                        args = handle.read().decode('utf-8', 'replace').split('\0')
                except (IOError, OSError):
                    continue
                self._procs.append((name, [a for a in args if a]))
        return [args for name, args in self._procs if name == comm]

    # -- what every runtime shares: criu and the kernel ---------------------

    def criu_checks(self, v, minimum):
        name = _name(v.runtime)
        v.facts['criu_min'] = version_text(minimum)
        criu = self.criu
        want = 'install criu %s or newer so that it is the first criu on PATH' % version_text(minimum)
        if criu is None or criu.get('installed') is None:
            v.unknown('whether criu is installed was not determined, so %s\'s need for criu %s or newer could not be checked'
                      % (name, version_text(minimum)))
        elif not criu.get('installed'):
            v.block('%s checkpoints with the first criu on PATH, which must be %s or newer, and no criu is installed'
                    % (name, version_text(minimum)),
                    criu.get('fix') or want)
        elif not criu_runnable(criu):
            v.block('%s checkpoints with the first executable criu on PATH, which must be %s or newer, and there is none: %s'
                    % (name, version_text(minimum), (criu.get('reason') or 'the criu installed cannot be executed').rstrip('.')),
                    criu.get('fix') or want)
        else:
            have = criu_version_number(criu.get('version'), criu.get('gitid'))
            where = criu.get('path') or 'criu'
            if have is None:
                v.unknown('the version of the installed criu (%s) could not be read, so %s\'s minimum (criu %s) could not be compared'
                          % (where, name, version_text(minimum)))
            elif have < minimum:
                v.block('%s requires at least criu %s and the installed criu (%s) is %s'
                        % (name, version_text(minimum), where, criu.get('version')), want)
            usable = criu.get('usable')
            verdict = (criu.get('check') or {}).get('verdict')
            if verdict in CRIU_CHECK_UNDETERMINED:
                why = (criu.get('reason') or '').rstrip('.')
                v.unknown('whether the installed criu works for %s was not determined%s'
                          % (name, ': ' + why[0].lower() + why[1:] if why else ''),
                          'gather criu_facts as root (become: true)' if verdict == 'blocked' else None)
            elif usable is False:
                why = criu.get('reason')
                v.block('the installed criu %s cannot checkpoint on this host%s'
                        % (criu.get('version') or '', ': ' + why.rstrip('.') if why else ''),
                        criu.get('fix') or 'install a criu release that works on this kernel')
            elif usable is None:
                v.unknown('whether the installed criu works on this host was not determined')
            else:
                # A criu that works but cannot dump some processes here (criu 4.1.1 and network sockets on Linux
                # 6.16+) leaves the runtime ready for the containers that hold none.
                for limit in criu.get('cannot_dump') or []:
                    v.note('the installed criu %s cannot dump %s on this kernel, so %s cannot checkpoint a container '
                           'whose processes hold one (criu_facts.criu.cannot_dump: why, and the fix)'
                           % (criu.get('version') or '', limit['what'], name))
        if self.kernel_ready is False:
            v.block('the kernel lacks features criu requires (criu_facts.missing.required)',
                    'provide the kernel features listed in criu_facts.missing.required')
        elif self.kernel_ready is None:
            v.unknown('whether the kernel has the features criu requires was not determined')

    def inherit(self, v, runtime, path, role):
        """Take over the build and configuration blockers of the OCI runtime or
        CRI that ``v`` checkpoints through (its criu checks are v's own)."""
        other = self.verdict(runtime, path)
        for reason, fix in other.own_blockers:
            v.block('%s %s %s: %s' % (_name(v.runtime), role, runtime, reason[0].lower() + reason[1:]), fix)
        for reason, fix in other.own_unknowns:
            v.unknown('%s %s %s: %s' % (_name(v.runtime), role, runtime, reason[0].lower() + reason[1:]), fix)
        return other.facts

    def own(self, v):
        """Mark the blockers so far as the runtime's own (before the criu checks)."""
        v.own_blockers = list(v.blockers)
        v.own_unknowns = list(v.unknowns)

    # -- the runtimes ----------------------------------------------------

    def _runtime_path(self, name, paths):
        """Where a manager finds the OCI runtime ``name``: the first executable file of its list in ``paths``
        (podman's), else on PATH; None when there is none."""
        if paths is None or name not in paths:
            return self.which(name)
        for candidate in paths[name]:
            full = _join(self.root, candidate) if self.root != '/' else candidate
            if os.path.isfile(full) and os.access(full, os.X_OK):
                return full
        return None

    def _oci_runtime(self, v, configured, source, candidates, paths=None):
        """Resolve the OCI runtime a manager uses; inherit its blockers; the minimum criu it adds."""
        if configured:
            name = os.path.basename(configured)
            path = configured if configured.startswith('/') else self._runtime_path(configured, paths)
            if configured.startswith('/') and self.root != '/':
                path = _join(self.root, configured)
        else:
            name, path, source = None, None, 'default'
            for candidate in candidates:
                path = self._runtime_path(candidate, paths)
                if path:
                    name = candidate
                    break
        v.facts['oci_runtime'] = {'name': name, 'path': path, 'source': source}
        if name is None:
            v.unknown('none of the OCI runtimes %s uses by default (%s) is installed' % (_name(v.runtime), ', '.join(candidates)))
            return 0
        if not path or not os.path.exists(path):
            v.block('%s is configured to run containers with %s (%s), which is not installed' % (_name(v.runtime), configured, source),
                    'install %s or configure an installed OCI runtime in %s' % (name, source))
            return 0
        extra = 0
        if name in OCI_RUNTIMES:
            self.inherit(v, name, path, 'runs containers with')
            extra = MIN_CRIU[name]
        if name not in ANSWERS_CHECKPOINT:
            # podman and CRI-O ask the runtime itself: "<rt> checkpoint --help" must exit 0
            rc = self.run([path, 'checkpoint', '--help'])[0]
            if rc != 0:
                v.block('%s runs containers with %s, which does not support checkpoint/restore (`%s checkpoint --help` exited with %d)'
                        % (_name(v.runtime), name, name, rc), 'configure crun (built with +CRIU) or runc as the OCI runtime in %s' % source)
        return extra

    def _podman(self, v):
        runtime, source = None, None
        files = ['/usr/share/containers/containers.conf', '/etc/containers/containers.conf']
        files += self.drop_ins('/etc/containers/containers.conf.d/*.conf')
        parsed = version_tuple(v.facts['version'])
        if parsed is not None and parsed >= (5, 0, 0):
            # Podman 5 reads the user's containers.conf and its .d after /etc's for root too (containers/common
            # pkg/config/new.go systemConfigs() calls userConfigPath() whatever the uid; up to 4.x only when rootless,
            # ifRootlessConfigPath()). Podman checkpoints only as root: root's $HOME/.config.
            user = '%s/.config/containers/containers.conf' % self.root_home().rstrip('/')
            files += [user] + self.drop_ins(user + '.d/*.conf')
        paths = dict(PODMAN_RUNTIME_PATHS)
        for path in files:
            doc = self.read_toml(v, path, ", so podman's OCI runtime is not known")
            value = _toml.toml_get(doc, ('engine', 'runtime')) if doc else None
            if isinstance(value, str) and value:
                runtime, source = value, '[engine] runtime in %s' % path
            tables = _toml.toml_get(doc, ('engine', 'runtimes')) if doc else None
            for name, listed in (tables.items() if isinstance(tables, dict) else ()):
                if isinstance(listed, list) and all(isinstance(p, str) for p in listed):
                    paths[name] = tuple(listed)
        extra = self._oci_runtime(v, runtime, source, PODMAN_DEFAULT_RUNTIMES, paths)
        self.own(v)
        self.criu_checks(v, max(MIN_CRIU['podman'], extra))
        have = criu_version_number((self.criu or {}).get('version'), (self.criu or {}).get('gitid'))
        if have is not None and have < PODMAN_POD_CRIU:
            v.note('checkpointing whole pods (podman pod checkpoint) needs criu %s' % version_text(PODMAN_POD_CRIU))
        if os.geteuid() != 0:
            v.note('podman checkpoints only as root ("checkpointing a container requires root")')

    def _runc(self, v):
        parsed = version_tuple(v.facts['version'])
        if parsed is None or parsed >= (1, 3, 0):   # the runc_nocriu build tag exists from 1.3.0
            found = _binary_contains(v.facts['path'], RUNC_NOCRIU)
            if found is None:
                v.unknown('could not read the runc binary to tell whether it was built without checkpoint/restore (runc_nocriu)')
            elif found:
                v.block('this runc was built with the runc_nocriu tag: "this runc binary has not been compiled with '
                        'checkpoint/restore support enabled"', 'install a runc built without the runc_nocriu build tag')
        v.facts['built_with_criu'] = not any('runc_nocriu' in pair[0] for pair in v.blockers)
        self.own(v)
        self.criu_checks(v, MIN_CRIU['runc'])

    def _crun(self, v):
        features = [line.split() for line in v.output.splitlines() if line.startswith(('+', '-'))]
        tokens = [t for line in features for t in line]
        if not tokens:
            v.facts['built_with_criu'] = None
            v.unknown('`crun --version` lists no build features, so whether crun was built with CRIU is not known')
        elif '+CRIU' not in tokens:
            v.facts['built_with_criu'] = False
            v.block('crun %s was built without CRIU (`crun --version` does not list +CRIU): it answers checkpoint with '
                    '"unknown command checkpoint"' % (v.facts['version'] or ''),
                    'install a crun built with CRIU (`crun --version` lists +CRIU) or use runc')
        else:
            v.facts['built_with_criu'] = True
            lib = self._find_library('libcriu.so.2')
            v.facts['libcriu'] = lib
            if lib is None:
                v.block('crun loads libcriu.so.2 to checkpoint and no libcriu.so.2 is installed ("could not load `libcriu.so.2`")',
                        'install criu\'s library (libcriu2 on Debian and Ubuntu, criu-libs on Fedora)')
        self.own(v)
        self.criu_checks(v, MIN_CRIU['crun'])

    def _find_library(self, soname):
        dirs = list(LIB_DIRS)
        dirs += [d[len(self.root.rstrip('/')):] for d in glob.glob(_join(self.root, '/usr/lib/*-linux-*'))]
        dirs += [d[len(self.root.rstrip('/')):] for d in glob.glob(_join(self.root, '/lib/*-linux-*'))]
        for conf in sorted(glob.glob(_join(self.root, '/etc/ld.so.conf.d/*.conf'))):
            try:
                with open(conf) as handle:
                    dirs += [line.strip() for line in handle if line.strip().startswith('/')]
            except (IOError, OSError):
                continue
        for directory in dirs:
            candidate = _join(self.root, directory, soname)
            if os.path.exists(candidate):
                return os.path.join(directory, soname)
        return None

    def _youki(self, v):
        v.facts['restore'] = False
        v.note('youki can checkpoint but has no restore command')
        self.own(v)
        self.criu_checks(v, MIN_CRIU['youki'])

    def containerd_config(self, v, parsed=None):
        """containerd's configuration as containerd 2 loads it (LoadConfig in cmd/containerd/server/config):
        the main file, then what it imports, breadth first and each file once. An import is relative to the
        directory of the file naming it, and one with ``*`` is a glob, sorted as Go's filepath.Glob sorts. A
        later file wins key by key inside a plugin's section (containerd 2.0, PR 9982; 1.x replaced whole
        sections, but only 2.2.7 and later read enable_criu), disabled_plugins add up, and a file of version 1
        or none names the CRI plugin ``cri``. Where the CRI tables of a file below version 3 end up depends on
        the release (_containerd_cri()). ``parsed`` is the version of containerd, None when not known: judged as
        the latest releases load, with a note where an older one would answer otherwise.

        A dict: ``version`` of the main file, ``merged_version``, the ``imports`` read, ``cri``: each key of
        _cri_keys() set somewhere, as {key path: (value, table as written, file)}, ``enable_criu`` its entry or None,
        ``disabled`` as [(plugin, file)]; None when a file could not be read or parsed (recorded on ``v``; containerd
        would not start with it either)."""
        merged = {'version': None, 'imports': [], 'disabled': []}
        files = []   # (path, version, {table as written: {key path: value}}), in the order containerd merges them
        pending, loaded = [(CONTAINERD_CONFIG, None)], []
        root_version = 0   # the version PR 12891 holds the drop-ins to: the first file's that sets one
        while pending:
            path, importer = pending.pop(0)
            if path in loaded:
                continue
            loaded.append(path)
            text, error = self.read(path)
            if text is None and importer is not None and not error:
                error = '%s, which %s imports: no such file' % (path, importer)
            if error:
                v.unknown('could not read %s' % error)
                return None
            try:
                doc = _toml.parse_toml(text) if text is not None else {}
            except ValueError as exc:
                v.unknown('the file %s is not valid TOML (%s)' % (path, exc))
                return None
            version = doc.get('version', 0)
            if isinstance(version, bool) or not isinstance(version, int):
                v.unknown('the version in %s is %s, not a number' % (path, json.dumps(version)))
                return None
            if importer is None:
                merged['version'] = (version or 1) if text is not None else None
            else:
                merged['imports'].append(path)
            lists = dict((key, doc.get(key) or []) for key in ('imports', 'disabled_plugins'))
            for key, names in lists.items():
                if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                    v.unknown('the %s in %s is not a list of strings' % (key, path))
                    return None
            # containerd PR 12891 (in 2.3.0, reverted in 2.3.5 by PR 13995 and before 2.4.0 by PR 13939) stops at a
            # drop-in of a higher version than the root file (LoadConfigWithPlugins(): `if rootConfigVersion == 0
            # { rootConfigVersion = config.Version }; if config.Version > rootConfigVersion { return fmt.Errorf(...) }`).
            root_version = root_version or version
            if version > root_version:
                refusal = 'drop-in config version %d higher than root config version %d' % (version, root_version)
                if parsed is not None and (2, 3, 0) <= parsed < (2, 3, 5):
                    v.block('containerd %s does not start: %s imports %s, whose version %d is higher than the root file\'s '
                            '("%s")' % (v.facts['version'], importer, path, version, refusal),
                            'write %s at version %d, or upgrade containerd to 2.3.5 or newer, which loads it'
                            % (path, root_version))
                    return None
                if parsed is None:
                    v.note('containerd 2.3.0 to 2.3.4 would not start with this configuration ("%s", %s)' % (refusal, path))
            tables = {}
            for written in (CRI_RUNTIME, CRI_GRPC) + (('cri',) if version < 2 else ()):
                table = _toml.toml_get(doc, ('plugins', written))
                if isinstance(table, dict):
                    tables[written] = dict((key, _toml.toml_get(table, key)) for key in _cri_keys(table)
                                           if _toml.toml_get(table, key) is not None)
            files.append((path, version, tables))
            for plugin in lists['disabled_plugins']:
                if plugin not in [d for d, dummy in merged['disabled']]:
                    merged['disabled'].append((plugin, path))
            for name in lists['imports']:
                name = os.path.normpath(os.path.join(os.path.dirname(path), name))
                pending.extend((p, path) for p in (self.drop_ins(name) if '*' in name else [name]))
        # containerd PR 12608 (first released in 2.3.0) migrates each file on its own as it loads it; before it the
        # files were merged first and the CRI migration ran once on the result.
        per_file = parsed is None or parsed >= (2, 3, 0)
        merged['cri'], merged['merged_version'], v2_tables = _containerd_cri(files, per_file)
        if parsed is None:
            older = _containerd_cri(files, False)[0]
            if older != merged['cri']:
                v.note('containerd 2.0 to 2.2 would read this configuration otherwise: they merge all files before '
                       'migrating the CRI tables of version 1 and 2, and not at all when the merged version is 3')
        # Up to 2.0.1 the migration put the v2 table in the runtime's place whole (`migrateConfig(conf)`, then
        # `pluginConfigs[...".runtime"] = conf`, the only change to it sandbox_mode becoming sandboxer), so the
        # runtime's own table counted for nothing once any file wrote a v2 one; the key by key merge came with
        # containerd PR 10980 (merged in January 2025, after 2.0.1). Whether the cherry-pick to release/2.0 made
        # 2.0.2 is not established: from 2.0.2 on, and for a version not known, the merge holds, with a note where
        # 2.0.0 and 2.0.1 would answer otherwise.
        if v2_tables and merged['merged_version'] < 3:
            whole = dict((key, entry) for (plugin, key), entry in _containerd_found(files, False).items()
                         if plugin == CRI_GRPC)
            if whole != merged['cri']:
                if parsed is not None and (2, 0, 0) <= parsed < (2, 0, 2):
                    merged['cri'] = whole
                elif parsed is None or parsed[:3] == (2, 0, 2):
                    v.note('containerd 2.0.0 and 2.0.1 would read this version %d configuration otherwise: they replace the '
                           'whole %s table with %s (in %s), where later releases merge the two key by key'
                           % (merged['merged_version'], _cri_table(CRI_RUNTIME), _cri_table(CRI_GRPC), ', '.join(v2_tables)))
        merged['enable_criu'] = merged['cri'].get(('enable_criu',))
        return merged

    def _containerd(self, v):
        parsed = self._need_version(v)
        config = {'file': CONTAINERD_CONFIG, 'imports': [], 'version': None, 'enable_criu': None, 'source': None}
        v.facts['config'] = config
        read = self.containerd_config(v, parsed)   # None: not read, recorded as unknown
        if read is not None:
            config['version'], config['imports'] = read['version'], read['imports']
        disabled = [(d, path) for d, path in (read or {}).get('disabled', []) if d in ('cri', CRI_GRPC, CRI_RUNTIME)]
        if disabled:
            v.block('containerd\'s CRI plugin is disabled (disabled_plugins = %s in %s, as Docker\'s containerd.io package ships it), '
                    'so Kubernetes cannot checkpoint through it' % (json.dumps([d for d, dummy in disabled]), disabled[0][1]),
                    'remove "%s" from disabled_plugins in %s' % (disabled[0][0], disabled[0][1]))
        if parsed is not None and parsed < (2, 0, 0):
            v.block('containerd %s does not implement the CRI checkpoint call Kubernetes uses (containerd 2.0 added it); '
                    '`ctr` and `nerdctl` checkpoint through runc instead' % v.facts['version'],
                    'upgrade containerd to 2.0 or newer')
        # enable_criu: 2.2.7 and later 2.2, 2.3.4 and later 2.3, 2.4 and later
        knows_key = parsed is not None and (parsed >= (2, 4, 0) or (2, 3, 4) <= parsed < (2, 4, 0) or (2, 2, 7) <= parsed < (2, 3, 0))
        if read is not None and read['enable_criu'] is None:
            config['enable_criu'], config['source'] = True, 'default'
        elif read is not None:
            value, written, path = read['enable_criu']
            shown = _cri_table(written)
            config['enable_criu'], config['source'] = value is True, '%s in %s' % (shown, path)
            if knows_key and value is not True:
                v.block('criu support is disabled by configuration: enable_criu = %s under %s in %s'
                        % (json.dumps(value), shown, path), 'set enable_criu = true (or remove it) under %s in %s' % (shown, path))
            elif parsed is not None and not knows_key:
                v.note('enable_criu in %s is ignored by containerd %s' % (path, v.facts['version']))
        v.facts['runtime_handler'] = {'name': None, 'runtime_type': None, 'source': None}
        v.facts['oci_runtime'] = {'name': None, 'path': None, 'source': None}
        extra = 0
        if read is not None and (parsed is None or parsed >= (2, 0, 0)):   # 1.x has no CRI checkpoint to judge
            extra = self._containerd_runtime(v, read)
        self.own(v)
        self.criu_checks(v, max(MIN_CRIU['containerd'], extra))

    def _containerd_runtime(self, v, read):
        """The default runtime handler of containerd's CRI, the shim it runs and the OCI runtime that shim runs,
        recorded in ``runtime_handler`` and ``oci_runtime``; the minimum criu that runtime adds.

        A pod without a RuntimeClass runs default_runtime_name (internal/cri/config: "runc" by default, and a name
        without a table under containerd.runtimes stops the CRI plugin: ValidateRuntimeConfig()); the checkpoint
        goes to that handler's runtime_type (see CONTAINERD_RUNC_SHIM). The runc shim runs options.BinaryName, or
        "runc" looked up on its PATH when that is unset (cmd/containerd-shim-runc-v2 NewContainer(), go-runc
        DefaultCommand). containerd decodes the file over its defaults, so a runc table that sets only some keys keeps
        the default runtime_type (Kubernetes' container runtime docs set only SystemdCgroup under runc.options)."""
        cri = read['cri']
        # a key left unset is named where a fix would write it: the table the merged version reads
        table = CRI_GRPC if read['merged_version'] < 3 else CRI_RUNTIME
        entry = cri.get(('containerd', 'default_runtime_name'))
        handler = entry[0] if entry else 'runc'
        source = ('default_runtime_name under %s in %s' % (_cri_table(entry[1], 'containerd'), entry[2]) if entry
                  else 'default_runtime_name unset, containerd\'s default "runc"')
        facts = v.facts['runtime_handler']
        facts.update(name=handler, source=source)
        if not isinstance(handler, str):
            v.unknown('default_runtime_name is %s (%s), not a string: containerd would not load it' % (json.dumps(handler), source))
            return 0
        if not handler:
            v.block('containerd\'s CRI plugin does not start: default_runtime_name is empty (%s: "`default_runtime_name` is empty")'
                    % source, 'set default_runtime_name = "runc" under %s in %s' % (_cri_table(entry[1], 'containerd'), entry[2]))
            return 0
        under = ('containerd', 'runtimes', handler)
        if handler != 'runc' and under not in cri:
            v.block('containerd\'s CRI plugin does not start: default_runtime_name = "%s" (%s) names no runtime handler table '
                    '("no corresponding runtime configured in `containerd.runtimes`")' % (handler, source),
                    'add a %s table with runtime_type = "%s", or set default_runtime_name to a configured handler'
                    % (_cri_table(table, *under), CONTAINERD_RUNC_SHIM))
            return 0
        entry = cri.get(under + ('runtime_type',))
        shim = entry[0] if entry else (CONTAINERD_RUNC_SHIM if handler == 'runc' else None)
        facts.update(runtime_type=shim)
        if entry:
            facts['source'] += ', runtime_type under %s in %s' % (_cri_table(entry[1], *under), entry[2])
        if shim is None:
            v.unknown('containerd\'s default runtime handler "%s" (%s) sets no runtime_type, so the shim it checkpoints '
                      'through is not known' % (handler, source),
                      'set runtime_type = "%s" under %s' % (CONTAINERD_RUNC_SHIM, _cri_table(table, *under)))
            return 0
        if shim != CONTAINERD_RUNC_SHIM:
            kata = isinstance(shim, str) and CONTAINERD_KATA_SHIM.match(shim)
            (v.block if kata else v.unknown)(
                'containerd checkpoints the containers of its default runtime handler "%s" through the shim %s (%s), not '
                'with criu: only %s checkpoints with criu%s' % (
                    handler, json.dumps(shim), facts['source'], CONTAINERD_RUNC_SHIM,
                    ', and Kata Containers\' shim answers a checkpoint with "not implemented"' if kata
                    else ', so criu does not decide whether that shim can'),
                'run the containers to checkpoint with a runtime handler whose runtime_type is "%s" (default_runtime_name, '
                'or a RuntimeClass)' % CONTAINERD_RUNC_SHIM)
            return 0
        entry = cri.get(under + ('options', 'BinaryName'))
        if entry and not isinstance(entry[0], str):
            v.unknown('BinaryName under %s in %s is %s, not a string: containerd would not load it'
                      % (_cri_table(entry[1], *under + ('options',)), entry[2], json.dumps(entry[0])))
            return 0
        options = _cri_table(entry[1] if entry else table, *under + ('options',))
        if entry and entry[0]:
            configured, where = entry[0], 'BinaryName under %s in %s' % (options, entry[2])
        else:
            configured, where = 'runc', 'BinaryName unset under %s, the runc shim\'s default: runc on PATH' % options
        return self._oci_runtime(v, configured, where, ())

    def _cri_o(self, v):
        parsed = self._need_version(v)
        files = ['/etc/crio/crio.conf'] + self.walk('/etc/crio/crio.conf.d')
        enabled, level, runtime, where = None, None, None, {}
        runtime_paths = {}   # handler name -> (runtime_path, file): CRI-O runs that binary, not the name on PATH
        for path in files:
            doc = self.read_toml(v, path)
            if not doc:
                continue
            handlers = _toml.toml_get(doc, ('crio', 'runtime', 'runtimes'))
            for name, handler in (handlers.items() if isinstance(handlers, dict) else ()):
                if isinstance(handler, dict) and isinstance(handler.get('runtime_path'), str) and handler['runtime_path']:
                    runtime_paths[name] = (handler['runtime_path'], path)
            value = _toml.toml_get(doc, ('crio', 'runtime', 'enable_criu_support'))
            if value is not None:
                enabled, where['enable_criu_support'] = value, path
            value = _toml.toml_get(doc, ('crio', 'checkpoint_restore', 'container_level_enabled'))
            if value is not None:
                level, where['container_level_enabled'] = value, path
            value = _toml.toml_get(doc, ('crio', 'runtime', 'default_runtime'))
            if value:
                runtime, where['default_runtime'] = value, path
        config = {'files': [f for f in files if os.path.exists(_join(self.root, f))],
                  'enable_criu_support': enabled, 'source': where.get('enable_criu_support')}
        v.facts['config'] = config
        if parsed is not None and parsed < (1, 25, 0):
            v.block('CRI-O %s has no checkpoint/restore support (CRI-O 1.25 added it)' % v.facts['version'],
                    'upgrade CRI-O to 1.25 or newer')
        elif level is not None:
            config['container_level_enabled'] = level
            if level == 'none':
                v.block('checkpoint/restore is off in CRI-O: container_level_enabled = "none" under [crio.checkpoint_restore] in %s'
                        % where['container_level_enabled'],
                        'set container_level_enabled = "checkpoint_restore" under [crio.checkpoint_restore] in /etc/crio/crio.conf.d/')
            elif level == 'checkpoint_only':
                v.note('CRI-O is configured to checkpoint but not restore (container_level_enabled = "checkpoint_only")')
        elif parsed is not None:
            default = parsed >= (1, 30, 0)
            if enabled is None:
                config['enable_criu_support'], config['source'] = default, 'default of CRI-O %d.%d' % parsed[:2]
                enabled = default
            if enabled is not True:
                shown = config['source'] if config['source'].startswith('default') else 'under [crio.runtime] in %s' % config['source']
                v.block('checkpoint/restore support is off in CRI-O ("checkpoint/restore support not available"): '
                        'enable_criu_support is false (%s)' % shown,
                        'set enable_criu_support = true under [crio.runtime] in a drop-in file in /etc/crio/crio.conf.d/ and restart CRI-O')
            elif self.criu is not None and self.criu.get('installed') is not None and not criu_runnable(self.criu):
                if parsed < (1, 30, 0):
                    v.note('with enable_criu_support = true and no criu in PATH, CRI-O %s refuses to start ("cannot enable '
                           'checkpoint/restore support without the criu binary in $PATH")' % v.facts['version'])
                else:
                    v.note('with no criu in PATH, CRI-O %s silently disables checkpoint/restore' % v.facts['version'])
        extra = 0
        if not runtime and parsed is not None:
            # default_runtime unset: CRI-O's own default, "runc" up to 1.30 (docs/crio.conf.5.md), "crun" from 1.31
            # (v1.31.0 release notes); a handler without runtime_path is looked up on PATH as for a configured one.
            runtime = 'crun' if parsed >= (1, 31, 0) else 'runc'
        if runtime:
            source = ('default_runtime under [crio.runtime] in %s' % where['default_runtime'] if 'default_runtime' in where
                      else 'default_runtime unset, the default of CRI-O %d.%d' % parsed[:2])
            configured = runtime
            if runtime in runtime_paths:   # pkg/config: ValidateRuntimePath() takes runtime_path, else LookPath(name)
                configured = runtime_paths[runtime][0]
                source += ', runtime_path under [crio.runtime.runtimes.%s] in %s' % (runtime, runtime_paths[runtime][1])
            extra = self._oci_runtime(v, configured, source, ())
        else:
            v.facts['oci_runtime'] = {'name': None, 'path': None, 'source': 'default'}
        self.own(v)
        self.criu_checks(v, max(MIN_CRIU['cri-o'], extra))

    def _kubelet(self, v):
        parsed = self._need_version(v)
        running = self.procs('kubelet')
        # Each argument with where it comes from; the files in the order kubeadm's unit puts them on the command
        # line ($KUBELET_KUBEADM_ARGS, then $KUBELET_EXTRA_ARGS), so that a later flag wins as on it.
        argv = [(arg, 'the running kubelet\'s command line') for arg in running[0][1:]] if running else []
        if not running:
            for path in ('/var/lib/kubelet/kubeadm-flags.env', '/etc/default/kubelet', '/etc/sysconfig/kubelet'):
                argv += [(arg, path) for arg in _env_args(self.read(path)[0] or '')]
        args = [arg for arg, dummy in argv]
        config_path = _flag(args, '--config') or '/var/lib/kubelet/config.yaml'
        text, error = self.read(config_path)
        if error:
            v.unknown('could not read %s' % error)
        file_gates = _yaml_map(text or '', 'featureGates')
        gate, source, flag_file = None, None, None
        if 'ContainerCheckpoint' in file_gates:
            gate, source = file_gates['ContainerCheckpoint'], 'featureGates in %s' % config_path
        # Flags override the config file; every --feature-gates adds its gates, a later one winning
        # (component-base cliflag.MapStringBool.Set).
        for value, where in _flag_values(argv, '--feature-gates'):
            flag_gates = _feature_gates(value)
            if 'ContainerCheckpoint' in flag_gates:
                gate, source, flag_file = flag_gates['ContainerCheckpoint'], '--feature-gates in %s' % where, where
        v.facts['config'] = {'file': config_path, 'ContainerCheckpoint': gate, 'source': source}
        if parsed is not None and parsed < (1, 25, 0):
            v.block('kubelet %s has no ContainerCheckpoint feature gate (Kubernetes 1.25 added it)' % v.facts['version'],
                    'upgrade Kubernetes to 1.25 or newer')
        elif gate is None and parsed is not None:
            gate = parsed >= (1, 30, 0)
            v.facts['config'].update({'ContainerCheckpoint': gate, 'source': 'default of Kubernetes %d.%d' % parsed[:2]})
        if gate is False:
            v.block('the ContainerCheckpoint feature gate is off (%s), so the kubelet has no /checkpoint endpoint'
                    % v.facts['config']['source'],
                    'set ContainerCheckpoint=true in --feature-gates in %s (flags override the config file) and restart '
                    'the kubelet' % flag_file if flag_file else
                    'set featureGates: {ContainerCheckpoint: true} in %s and restart the kubelet' % config_path)
        # the CRI runtime decides the rest
        endpoint = _flag(args, '--container-runtime-endpoint') or _yaml_scalar(text or '', 'containerRuntimeEndpoint') or ''
        cri = 'cri-o' if 'crio' in endpoint else ('containerd' if 'containerd' in endpoint else None)
        if cri is None:
            installed = [n for n in ('containerd', 'cri-o') if self.which(BINARIES[n])]
            cri = installed[0] if len(installed) == 1 else None
            if len(installed) > 1:
                v.unknown('both containerd and CRI-O are installed and the kubelet\'s container runtime endpoint is not configured')
        v.facts['cri'] = cri
        if cri is None:
            if not v.unknowns:
                v.unknown('no container runtime for the kubelet (containerd or CRI-O) is installed here')
        else:
            path = self.which(BINARIES[cri])
            if not path:
                v.block('the kubelet is configured for %s (%s), which is not installed' % (_name(cri), endpoint), 'install %s' % _name(cri))
            else:
                facts = self.evaluate(cri, path)
                if facts['checkpoint'] == NOT_READY:
                    v.block('the kubelet checkpoints through %s, which cannot checkpoint here (criu_facts.runtimes.%s)' % (_name(cri), cri),
                            facts['fix'])
                elif facts['checkpoint'] == UNKNOWN:
                    v.unknown('the kubelet checkpoints through %s, whose readiness is not known (criu_facts.runtimes.%s)' % (_name(cri), cri))
        self.own(v)

    def _docker(self, v):
        running = self.procs('dockerd')
        path = (_flag(running[0][1:], '--config-file') if running else None) or '/etc/docker/daemon.json'
        text, error = self.read(path)
        doc = {}
        experimental, source = False, 'default'
        if error:
            v.unknown('could not read %s' % error)
            experimental = None
        elif text is not None:
            try:
                doc = json.loads(text) if text.strip() else {}
            except ValueError as exc:
                doc = None
                experimental = None
                v.unknown('the file %s is not valid JSON (%s): dockerd would refuse to start' % (path, exc))
            if isinstance(doc, dict) and isinstance(doc.get('experimental'), bool):
                experimental, source = doc['experimental'], path
            elif isinstance(doc, dict) and 'experimental' in doc:
                experimental = None
                v.unknown('the value of "experimental" in %s is %s, not true or false: dockerd would refuse to start'
                          % (path, json.dumps(doc['experimental'])))
        for args in running:
            if '--experimental' in args or '--experimental=true' in args:
                experimental, source = True, 'the running dockerd\'s command line'
        v.facts['config'] = {'file': path, 'experimental': experimental, 'source': source}
        if experimental is False:
            v.block('the Docker daemon is not in experimental mode ("This experimental feature is disabled by default")',
                    'set "experimental": true in %s and restart dockerd' % path)
        extra = 0
        runtime = doc.get('default-runtime') if isinstance(doc, dict) else None
        runc = self.which('runc')
        if isinstance(runtime, str) and runtime and runtime != 'runc':
            # "runtimes": {"NAME": {"path": ...}} names its binary; else dockerd looks the name up on PATH
            handlers = doc.get('runtimes') if isinstance(doc.get('runtimes'), dict) else {}
            handler = handlers.get(runtime) if isinstance(handlers.get(runtime), dict) else {}
            configured = handler['path'] if isinstance(handler.get('path'), str) and handler['path'] else runtime
            extra = self._oci_runtime(v, configured, '"default-runtime" in %s' % path, ())
        elif runc:
            v.facts['oci_runtime'] = {'name': 'runc', 'path': runc, 'source': 'default'}
            self.inherit(v, 'runc', runc, 'runs containers with')
            extra = MIN_CRIU['runc']
        else:
            v.facts['oci_runtime'] = {'name': None, 'path': None, 'source': 'default'}
            v.note('runc is not on PATH; Docker may use its own bundled runtime')
        self.own(v)
        self.criu_checks(v, max(MIN_CRIU['docker'], extra))

    def _lxc(self, v):
        self.own(v)
        self.criu_checks(v, MIN_CRIU['lxc'])


def _containerd_found(files, per_file):
    """The CRI keys of containerd's files (containerd_config()) once merged, as {(plugin, key path): (value, table as
    written, file)}, the last file setting a key winning.

    ``per_file``: as containerd 2.3.0 and later load them (PR 12608, LoadConfigWithPlugins()): a file below version 3
    is migrated on its own before it is merged (top-level migration, then each plugin's ConfigMigration), its v2 table
    (``cri`` in a version 1 file) moving into its own runtime table as _v2_key_moves() says. Otherwise as 2.0 to 2.2
    do: a file of version 1 or none only has its ``cri`` renamed to the v2 name (LoadConfig(): `case 0, 1:
    config.MigrateConfigTo(ctx, out.Version)`), and the v2 tables stay where they are written until the migration of
    the merged result (_containerd_cri())."""
    found = {}
    for path, version, tables in files:
        own = tables.get(CRI_RUNTIME, {})
        for written in (CRI_RUNTIME, CRI_GRPC, 'cri'):   # the later one wins
            for key, value in tables.get(written, {}).items():
                if written == CRI_RUNTIME:
                    found[(CRI_RUNTIME, key)] = (value, written, path)
                elif per_file and version < 3:
                    if _v2_key_moves(key, own):
                        found[(CRI_RUNTIME, key)] = (value, written, path)
                else:
                    found[(CRI_GRPC, key)] = (value, written, path)
    return found


def _containerd_cri(files, per_file):
    """The CRI runtime's keys containerd reads from its files (see _containerd_found()), the merged version and the
    files whose v2 table stays one until the end, as (cri, merged_version, v2_tables).

    The merged version is the last one a file sets (the files merge with mergo.WithOverride; a file of version 1 or
    none is migrated to the version merged so far); from 2.3.0 every file is at version 3 once loaded, and it only
    names the table a fix writes to. Before 2.3.0 containerd migrates the merged result when its version is below
    3 (cmd/containerd/server/server.go New(), then the CRI migration of _v2_key_moves()); at version 3 the v2
    tables are not read."""
    found = _containerd_found(files, per_file)
    merged_version = 3
    for dummy, version, dummy in files:
        if version >= 2:
            merged_version = version
    cri = dict((key, entry) for (plugin, key), entry in found.items() if plugin == CRI_RUNTIME)
    v2_tables = [path for path, dummy, tables in files if CRI_GRPC in tables or 'cri' in tables] if merged_version < 3 else []
    if not per_file and merged_version < 3:
        own = dict(cri)   # the runtime's table as the files wrote it, before any v2 key moves in
        for (plugin, key), entry in found.items():
            if plugin == CRI_GRPC and _v2_key_moves(key, own):
                cri[key] = entry
    return cri, merged_version, v2_tables


def _v2_key_moves(key, runtime_keys):
    """Whether containerd's CRI migration (plugins/cri/runtime/plugin.go configMigration(), migrateConfig()) moves
    a v2 key into the runtime's table, whose keys are ``runtime_keys``: only where that does not set it, the keys of
    ``containerd`` one by one and its ``runtimes`` as one key (no v2 handler when the runtime's table has one)."""
    handlers = ('containerd', 'runtimes')
    return key not in runtime_keys and not (key[:2] == handlers and any(k[:2] == handlers for k in runtime_keys))


def _cri_keys(table):
    """The keys of a containerd CRI table (``enable_criu``, ``containerd.default_runtime_name``, and each
    ``containerd.runtimes.NAME`` with its ``runtime_type`` and ``options.BinaryName``) that decide a Kubernetes
    checkpoint, as key paths in that table; none when ``table`` is not a table."""
    if not isinstance(table, dict):
        return []
    keys = [('enable_criu',), ('containerd', 'default_runtime_name')]
    handlers = _toml.toml_get(table, ('containerd', 'runtimes'))
    for name in (sorted(handlers) if isinstance(handlers, dict) else ()):
        handler = ('containerd', 'runtimes', name)
        keys += [handler, handler + ('runtime_type',), handler + ('options', 'BinaryName')]
    return keys


def _cri_table(written, *keys):
    """A containerd CRI table as a configuration file writes it: ``[plugins.'io.containerd.cri.v1.runtime'.containerd]``."""
    return '[plugins.%s]' % '.'.join("'%s'" % key if '.' in key else key for key in (written,) + keys)


def _binary_contains(path, needle, chunk=1 << 20):
    """Whether a file contains ``needle``; None when it cannot be read."""
    try:
        with open(path, 'rb') as handle:
            tail = b''
            while True:
                block = handle.read(chunk)
                if not block:
                    return False
                if needle in tail + block:
                    return True
                tail = block[-len(needle):]
    except (IOError, OSError):
        return None


def _env_args(text):
    """Arguments from KUBELET_*ARGS="..." lines of an environment file."""
    args = []
    for line in text.splitlines():
        match = re.match(r'\s*(?:export\s+)?KUBELET_\w*ARGS\s*=\s*(["\']?)(.*)\1\s*$', line)
        if match:
            args += match.group(2).split()
    return args


def _flag_values(argv, name):
    """Every value of flag ``name`` (``--name=V`` or ``--name V``) in ``argv``, a list of
    (argument, where it comes from), in order, as (value, where)."""
    for i, (arg, where) in enumerate(argv):
        if arg.startswith(name + '='):
            yield arg[len(name) + 1:], where
        elif arg == name and i + 1 < len(argv):
            yield argv[i + 1][0], where


def _flag(args, name):
    """The value of flag ``name`` in ``args``: the last one given, as Go's pflag keeps it; None when absent."""
    values = [value for value, dummy in _flag_values([(arg, None) for arg in args], name)]
    return values[-1] if values else None


# The kubelet reads --feature-gates values with Go's strconv.ParseBool, and its YAML config
# with go-yaml v2 (sigs.k8s.io/yaml), whose booleans are YAML 1.1's.
_PARSEBOOL = {'1': True, 't': True, 'T': True, 'true': True, 'TRUE': True, 'True': True,
              '0': False, 'f': False, 'F': False, 'false': False, 'FALSE': False, 'False': False}
_YAML_BOOLS = dict((form, value)
                   for words, value in ((('y', 'yes', 'true', 'on'), True), (('n', 'no', 'false', 'off'), False))
                   for word in words for form in (word, word.capitalize(), word.upper()))


def _unquote(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in '"\'':
        return text[1:-1]
    return text


def _feature_gates(text):
    """``--feature-gates=A=true,B=false``: {name: True, False, or None when not a boolean}."""
    gates = {}
    for item in text.split(','):
        if '=' in item:
            key, value = item.split('=', 1)
            gates[key.strip()] = _PARSEBOOL.get(value.strip().strip('"\''))
    return gates


def _yaml_uncomment(text):
    """``text`` without a YAML comment (a # at the start or after a blank)."""
    match = re.search(r'(^|\s)#', text)
    return text[:match.start()] if match else text


def _yaml_map(text, key):
    """The top-level YAML map ``key`` of booleans, block or flow style (a flow
    over several lines too), keys and values plain or quoted: {name: True,
    False, or None when not a boolean}.  Enough for the kubelet's featureGates."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r'(["\']?)%s\1\s*:(\s.*)?$' % re.escape(key), line)
        if not match:
            continue
        rest = _yaml_uncomment(match.group(2) or '').strip()
        if rest.startswith('{'):
            for more in lines[i + 1:]:
                if '}' in rest:
                    break
                rest += ' ' + _yaml_uncomment(more).strip()
            items = [item.split(':', 1) for item in rest.strip('{} ').split(',') if ':' in item]
        else:
            items = []
            for item in lines[i + 1:]:
                if not item.strip() or item.lstrip().startswith('#'):
                    continue
                if not item.startswith((' ', '\t')):
                    break
                pair = re.match(r'\s+("[^"]*"|\'[^\']*\'|[\w.-]+)\s*:(\s.*)?$', item)
                if pair:
                    items.append((pair.group(1), _yaml_uncomment(pair.group(2) or '')))
        return dict((_unquote(name), _YAML_BOOLS.get(_unquote(value))) for name, value in items)
    return {}


def _yaml_scalar(text, key):
    match = re.search(r'(?m)^%s\s*:\s*["\']?([^"\'\s#]+)' % re.escape(key), text)
    return match.group(1) if match else None
