# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every decision criu.check makes from probe results, in one place.

PRIVATE to the criu.check collection: not a public API.

Probes only observe; this module decides.  It answers, for the modules, the
filters and (through them) the roles:

* is a probe's status *met* (supported, or not applicable here), *undecided*
  (unknown, error) or *missing* (unsupported);
* would real criu start at all (its ``check_caps()`` and ``kerndat_init()``,
  criu/crtools.c and criu/kerndat.c), and if not, why, in its words;
* criu's verdict for a category run (criu/cr-check.c ``cr_check()``) and its
  final sentence, its exit code, and the outcome of ``--feature NAME``;
* when a task fails (``fail_on``);
* what a host lacks, given what it must have (the require role).

criu's outcomes are three: a failed required check is "Does not look good."
(criu stops there; here every probe has run anyway), a failed extra or
experimental check is the three-line "Looks good but ...", otherwise "Looks
good.".  The optional breakpoints probe and the feature-only probes never
change the verdict.  We add a fourth, ``undecided``, for what criu never has
to say: no required probe is unsupported but some could not decide (a
missing library, a timeout, a crash).  It is never worded as criu's "Does not
look good.".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible_collections.criu.check.plugins.module_utils import _caps
from ansible_collections.criu.check.plugins.module_utils import _registry as REG
from ansible_collections.criu.check.plugins.module_utils import _result as R
from ansible_collections.criu.check.plugins.module_utils._criu_words import (
    BAD, CRIU_BINARY, DOES_NOT_LOOK_GOOD, GOOD, GOOD_BUT, KERNDAT_FAILED, KERNDAT_STEP_SOURCE, LOOKS_GOOD,
    LOOKS_GOOD_BUT, NEEDS_UNPRIVILEGED, NO_CAPS, UNDECIDED)
from ansible_collections.criu.check.plugins.module_utils._environment_fix import (
    PROC_OF_OTHER_PID_NAMESPACE_FIX, SKIPPED_UNPRIVILEGED, container_start_fix, criu_caps_not_held,
    no_new_privs_start_fix)
from ansible_collections.criu.check.plugins.module_utils._workloads import BUILTIN as BUILTIN_WORKLOADS
from ansible_collections.criu.check.plugins.module_utils._workloads import DUMPS as WORKLOAD_DUMPS

# ---------------------------------------------------------------- statuses

MET = (R.SUPPORTED, R.NOT_APPLICABLE)
UNDECIDED_STATUSES = (R.UNKNOWN, R.ERROR)


def is_met(status, unknown_is_met=False):
    """A probe with this status does not stand in criu's way."""
    return status in MET or (unknown_is_met and status == R.UNKNOWN)


def is_undecided(status):
    return status in UNDECIDED_STATUSES


# ---------------------------------------------------------------- criu start-up

# criu's own refusals (NO_CAPS, NEEDS_UNPRIVILEGED) and its kerndat sentence (KERNDAT_FAILED) are _criu_words';
# the evidence flag a probe sets when the kerndat step it mirrors would make criu abort is _result's (KERNDAT_FLAG).

# Before criu runs at all: execve() refuses a program whose file capabilities the bounding set cuts.
EXEC_REFUSED = ('The kernel refuses to run criu (execve(): Operation not permitted): its file capabilities include '
                '%s, which this process\'s capability bounding set lacks')
EXEC_REFUSED_SAYS = EXEC_REFUSED.split(':', maxsplit=1)[0]


# The reasons of environment_blockers() after KERNDAT_FAILED, each with how to remove it (start_blocker_fix()).
MOUNT_TEST = ('Without --unprivileged criu mounts a test tmpfs in its own mount namespace, which needs '
              'CAP_SYS_ADMIN in the user namespace that owns it (not so in a user namespace or without '
              'CAP_SYS_ADMIN); run criu with --unprivileged there')
YAMA_3 = 'kernel.yama.ptrace_scope is 3: criu cannot ptrace its own test children'
YAMA_2 = 'kernel.yama.ptrace_scope is 2 and criu has no CAP_SYS_PTRACE: it cannot ptrace its own test children'
TOO_MANY_CAPS = 'Kernel reports more capabilities than this CRIU supports'
# criu builds the tree of its mounts before any check, dump or restore (criu/mount.c mnt_build_ids_tree()).
NO_MOUNT_TREE = 'criu cannot build its mount tree: its root directory is not a mount point (a chroot)'
# What criu's get_last_cap() reads in its start-up (_kerndat mirrors the step).
LAST_CAP = '/proc/sys/kernel/cap_last_cap'
# criu built with CONFIG_COMPAT (x86_64) forks a helper in kerndat_vdso_fill_symtable() when the kernel can
# restore 32-bit tasks (kdat.compat_cr, the compat_cr probe) and reads /proc/PID/maps by the helper's pid in
# criu's pid namespace (criu/vdso.c vdso_fill_compat_symtable()).  A /proc of another pid namespace has no such
# pid (criu 4.1.1: "Can't open 10/maps on procfs"), or another process's ("Can't find rt vDSO"): criu stops.
FOREIGN_PROC = ("/proc shows another pid namespace than criu's, where criu looks up its compat vDSO helper by the "
                "helper's pid %skerndat_vdso_fill_symtable())" % KERNDAT_STEP_SOURCE)


def exec_refused_blocker(names):
    """EXEC_REFUSED for the capabilities ``names`` (_caps.names()) that make the kernel refuse to run criu."""
    return EXEC_REFUSED % ', '.join('CAP_' + name.upper() for name in names)


def environment_blockers(euid, unprivileged, cap_eff, yama, cap_last_cap, can_mount, kerndat_failures=(),
                         mount_tree_error=None, exec_refused=()):
    """Why real criu would refuse to start here, in the order it checks,
    from what the environment says (see _environment.gather); kerndat_failures
    are the descriptions of the start-up steps that failed (_kerndat);
    mount_tree_error is criu's line when it cannot build its mount tree
    (_proc_parse.mount_tree_error()); exec_refused the capabilities whose
    want makes the kernel refuse to run criu at all
    (_environment.criu_exec()): then that is the only reason."""
    if exec_refused:
        return [exec_refused_blocker(exec_refused)]
    blockers = []
    if not (_caps.has(cap_eff, _caps.CAP_SYS_ADMIN) or _caps.has(cap_eff, _caps.CAP_CHECKPOINT_RESTORE)):
        blockers.append(NO_CAPS)
    elif euid != 0 and not unprivileged:
        blockers.append(NEEDS_UNPRIVILEGED)
    elif not unprivileged and can_mount is False:
        # kerndat's root-only kerndat_has_move_mount_set_group() mounts a
        # tmpfs under /tmp in criu's own mount namespace; any error but
        # EINVAL/ENOSYS aborts kerndat (seen with criu 4.1.1 in unshare -Ur).
        blockers.append('%s %s' % (KERNDAT_FAILED, MOUNT_TEST))
    if yama is not None and yama >= 3:
        blockers.append('%s %s' % (KERNDAT_FAILED, YAMA_3))
    elif yama == 2 and not _caps.has(cap_eff, _caps.CAP_SYS_PTRACE):
        # Yama's "admin-only attach" (security/yama/yama_lsm.c
        # yama_ptrace_access_check()): kerndat's ptrace of its own children fails
        # without CAP_SYS_PTRACE (non-root with CAP_CHECKPOINT_RESTORE only).
        blockers.append('%s %s' % (KERNDAT_FAILED, YAMA_2))
    if cap_last_cap is not None and cap_last_cap >= 64:
        blockers.append('%s %s' % (KERNDAT_FAILED, TOO_MANY_CAPS))
    blockers.extend('%s %s' % (KERNDAT_FAILED, failure) for failure in kerndat_failures)
    if mount_tree_error:
        blockers.append('%s (%s)' % (NO_MOUNT_TREE, mount_tree_error))
    return blockers


def _kerndat_probe_prefix(probe_id):
    """How a blocker for ``probe_id``'s failing kerndat step starts: kerndat_blockers() writes it,
    start_blocker_fix() recognises it."""
    return '%s (%s: ' % (KERNDAT_FAILED, probe_id)


# criu checks its privileges before kerndat_init() (criu/crtools.c check_caps()) and stops there.
PRIVILEGE_BLOCKERS = (NO_CAPS, NEEDS_UNPRIVILEGED)
PERMISSION_ERRNOS = ('EPERM', 'EACCES')
# An environment blocker that is the very kerndat step a probe mirrors (criu stops there once): the
# probe's own blocker would give the same cause a second line.
SAME_STEP = ((MOUNT_TEST, ('move_mount_set_group',)),)


def kerndat_blockers(results, without_privilege=False, said=()):
    """The probes whose kerndat step would make criu abort at start-up.

    ``without_privilege``: criu already stops for want of privilege (PRIVILEGE_BLOCKERS), before any
    kerndat step; a step refused for want of permission here (EPERM, EACCES) is that same cause, and
    says nothing about a criu that has the privilege, so it is left out.  ``said``: the blockers
    already known, which may name a probe's step already (SAME_STEP)."""
    blockers = []
    covered = set(probe_id for says, ids in SAME_STEP if any(says in b for b in said) for probe_id in ids)
    for probe in REG.PROBES:
        if probe.id in covered:
            continue
        result = results.get(probe.id)
        evidence = (result or {}).get('evidence') or {}
        if without_privilege and evidence.get('errno_name') in PERMISSION_ERRNOS:
            continue
        if result and evidence.get(R.KERNDAT_FLAG):
            blockers.append('%s%s)' % (_kerndat_probe_prefix(probe.id), result.get('message') or result.get('status')))
    return blockers


def as_criu_runs(results, environment, kernel_lacks=None):
    """``results``, with each probe this process could not make as criu
    makes it here unknown: one that failed needing capabilities criu has
    from its file and this process has not (criu_caps_not_held()), unless
    ``kernel_lacks(row, result)`` (the kernel's config has the feature off:
    no capability would bring it).  The probe's own answer stays in the
    evidence."""
    out = dict(results)
    for probe_id, result in results.items():
        caps = criu_caps_not_held(probe_id, result, environment)
        if caps and not (kernel_lacks and probe_id in REG.BY_ID and kernel_lacks(REG.BY_ID[probe_id], result)):
            names = ' and '.join('CAP_%s' % c.upper() for c in caps)
            evidence = dict(result.get('evidence') or {}, criu_has=caps,
                            without_them={'status': result['status'], 'message': result.get('message', '')})
            # nor is it known that criu's start-up step fails, with them
            if evidence.pop(R.KERNDAT_FLAG, False):
                evidence['without_them'][R.KERNDAT_FLAG] = True
            out[probe_id] = R.unknown(
                'criu has %s here (its file capabilities), which this check needs and this module\'s process has '
                'not: it cannot make the check as criu does' % names, evidence=evidence,
                fix='run the module as root (become: true) to probe it with every capability criu may have')
            if 'duration_ms' in result:
                out[probe_id]['duration_ms'] = result['duration_ms']
    return out


def start_blockers(environment, results):
    """Every reason criu would not start: the environment's, then kerndat's
    as the probes that ran observed it."""
    blockers = list(environment.get('criu_start_blockers') or [])
    if any(b.startswith(EXEC_REFUSED_SAYS) for b in blockers):
        return blockers   # criu does not run at all: nothing it would meet later counts
    if environment.get('criu_can_start') is False and not blockers:
        # Facts that say criu would not start without saying why (not this
        # collection's; another task's or a hand-made criu_facts): still no.
        blockers.append(CRIU_START_DEFAULT_BLOCKER)
    foreign_proc = '%s %s' % (KERNDAT_FAILED, FOREIGN_PROC)
    if (environment.get('proc_of_other_pid_namespace') and foreign_proc not in blockers
            and (results.get('compat_cr') or {}).get('status') == R.SUPPORTED):
        blockers.append(foreign_proc)
    without_privilege = any(b in PRIVILEGE_BLOCKERS for b in blockers)
    blockers.extend(b for b in kerndat_blockers(results, without_privilege, blockers) if b not in blockers)
    return blockers


# How to remove each kind of start blocker: (what the blocker says, the fix), first match wins.
CRIU_START_FIX = ('run criu as root with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE '
                  '(on the host or in a privileged container)')
NO_CAPS_FIX = (CRIU_START_FIX + ', or as a user give criu CAP_CHECKPOINT_RESTORE (setcap cap_checkpoint_restore+eip '
               '%s, not on a nosuid mount) and run it with --unprivileged (the modules\' unprivileged: true)'
               % CRIU_BINARY)


def _no_caps_fix(environment):
    """NO_CAPS's fix where it is: root in a container, a user under no_new_privs, else NO_CAPS_FIX."""
    return container_start_fix(environment) or no_new_privs_start_fix(environment) or NO_CAPS_FIX


# A fix is its words, or a function of the environment (criu_facts.environment) that gives them.
START_BLOCKER_FIXES = (
    (EXEC_REFUSED_SAYS, 'set on criu only capabilities this bounding set has (setcap cap_checkpoint_restore+eip '
                        'on it; getcap shows what it has), or run it where the bounding set has them all'),
    (NO_CAPS, _no_caps_fix),
    (NEEDS_UNPRIVILEGED, 'run criu as root, or with --unprivileged (the modules\' unprivileged: true) as a user '
                         'with CAP_CHECKPOINT_RESTORE'),
    (MOUNT_TEST, 'run criu with --unprivileged (the modules\' unprivileged: true) in this namespace, or as root '
                 'on the host'),
    (YAMA_3, 'kernel.yama.ptrace_scope 3 cannot be lowered until a reboot: set it to 1 in /etc/sysctl.d '
             '(kernel.yama.ptrace_scope = 1) and reboot'),
    (YAMA_2, 'run criu as root (with CAP_SYS_PTRACE), or lower Yama: sysctl -w kernel.yama.ptrace_scope=1'),
    (TOO_MANY_CAPS, 'criu knows at most 64 capabilities (criu/kerndat.c kerndat_get_last_cap()): use a criu '
                    'release that knows more, or a kernel with fewer'),
    (NO_MOUNT_TREE, 'run criu where its root directory is a mount point: outside the chroot, in a container (its '
                    'runtime makes the root one), or bind-mount the chroot\'s directory onto itself before entering it '
                    '(mount --bind DIR DIR)'),
    (LAST_CAP, 'criu reads /proc/sys/kernel/cap_last_cap in its start-up, which this /proc does not show (a proc '
               'mounted with subset=pid, as systemd\'s ProcSubset=pid makes, has no /proc/sys): run criu where /proc '
               'is whole (systemd: ProcSubset=all)'),
    (FOREIGN_PROC, PROC_OF_OTHER_PID_NAMESPACE_FIX),
    (KERNDAT_STEP_SOURCE, 'a seccomp filter or an old kernel refuses a call criu makes at start-up: run criu '
                          'without that filter (in a container: --security-opt seccomp=unconfined), or on a '
                          'kernel that has the call'),
)


# Said after the fix of a start-up step that criu --unprivileged skips (SKIPPED_UNPRIVILEGED).
SKIPS_STEP = ('; or run criu with --unprivileged, which skips this root-only start-up step (it then checkpoints '
              'only what needs no root)')


def start_blocker_fix(blocker, probes=None, environment=None):
    """How to remove ``blocker``, one of start_blockers()'s reasons: the
    fix for its kind, or for a probe's kerndat step that probe's ``fix``
    (from ``probes``, criu_facts.probes, else the registry's: the probe
    may have run only to tell whether criu starts); CRIU_START_FIX when
    neither says.  A step criu --unprivileged never makes says so too
    (SKIPS_STEP): a way past it where the filter or the kernel cannot be
    changed (criu 4.1.1 under RestrictNamespaces= says "Looks good." so).
    Root in a container without the capabilities criu asks for first is
    told what to change in the container (``environment``:
    criu_facts.environment)."""
    for probe in REG.PROBES:
        if blocker.startswith(_kerndat_probe_prefix(probe.id)):
            entry = (probes or {}).get(probe.id)
            fix = (entry.get('fix') if isinstance(entry, Mapping) else probe.fix) or CRIU_START_FIX
            return '%s%s' % (fix, SKIPS_STEP if probe.id in SKIPPED_UNPRIVILEGED else '')
    for says, fix in START_BLOCKER_FIXES:
        if says in blocker:
            return fix(environment) if callable(fix) else fix
    return CRIU_START_FIX


# ---------------------------------------------------------------- verdicts

# The verdicts' names and criu's sentences are _criu_words' (_installed_criu reads the same in criu's output).

# Categories whose failures give criu's "Looks good but ...".
SOFT = (REG.EXTRA, REG.EXPERIMENTAL)
# Categories whose probes are listed under ``missing``.
MISSING_CATEGORIES = (REG.REQUIRED, REG.EXTRA, REG.EXPERIMENTAL)


def _cause(result):
    """Why a probe could not decide, once per cause: a missing library is
    one cause however many probes need it."""
    library = (result.get('evidence') or {}).get('library')
    if library:
        return 'Python library %s is not available (%s)' % (library, result.get('fix') or 'install it')
    return result.get('message') or result['status']


def undecided_causes(results, ids):
    causes = []
    for probe_id in ids:
        cause = _cause(results[probe_id])
        if cause not in causes:
            causes.append(cause)
    return causes


def _undecided_summary(results, ids, what):
    return 'Cannot tell: %d %s probe%s undecided (%s): %s' % (
        len(ids), what, '' if len(ids) == 1 else 's', ', '.join(ids), '; '.join(undecided_causes(results, ids)))


def verdict(results, blockers=()):
    """``(verdict, summary)`` for a category run, in criu's words.

    criu that cannot start is ``bad`` with its start-up messages.  A required
    probe unsupported is ``bad``; one undecided (and none unsupported) is
    ``undecided``.  Then an extra or experimental probe unsupported is
    ``good_but``; one undecided (none unsupported) is ``undecided``: it may
    be ``good`` or ``good_but``, nobody can tell.
    """
    if blockers:
        return BAD, '\n'.join(blockers)
    by_category = {}
    for probe in REG.PROBES:
        if probe.id in results:
            by_category.setdefault(probe.category, []).append(probe.id)

    def having(categories, test):
        return [i for c in categories for i in by_category.get(c, ()) if test(results[i]['status'])]

    if having((REG.REQUIRED,), lambda s: s == R.UNSUPPORTED):
        return BAD, DOES_NOT_LOOK_GOOD
    undecided = having((REG.REQUIRED,), is_undecided)
    if undecided:
        return UNDECIDED, _undecided_summary(results, undecided, 'required')
    if having(SOFT, lambda s: s == R.UNSUPPORTED):
        return GOOD_BUT, LOOKS_GOOD_BUT
    undecided = having(SOFT, is_undecided)
    if undecided:
        return UNDECIDED, _undecided_summary(results, undecided, 'extra or experimental')
    return GOOD, LOOKS_GOOD


def feature_verdict(results, blockers=()):
    """``criu check --feature NAME`` for each named probe: ``NAME is
    supported`` or the probe's message; ``good`` only when every one is
    supported (criu exits 0 only then)."""
    if blockers:
        return BAD, '\n'.join(blockers)
    lines = []
    for probe_id, result in results.items():
        if result['status'] == R.SUPPORTED:
            lines.append('%s is supported' % probe_id)
        else:
            lines.append('%s: %s' % (probe_id, result.get('message') or result['status']))
    statuses = [r['status'] for r in results.values()]
    if all(s == R.SUPPORTED for s in statuses):
        level = GOOD
    elif any(s in (R.UNSUPPORTED, R.NOT_APPLICABLE) for s in statuses):
        level = BAD
    else:
        level = UNDECIDED
    return level, '\n'.join(lines)


def is_ready(results, blockers=()):
    """criu_ready: every required probe met, and criu could start."""
    required = [p.id for p in REG.PROBES if p.category == REG.REQUIRED]
    return not blockers and all(is_met(results.get(i, {}).get('status')) for i in required)


def kernel_answer(ready, verdict):
    """Whether the kernel is ready, as the runtimes and the fleet report answer it: True when it
    is (``ready``, whatever extra probes could not decide: a verdict ``undecided`` can come from
    them alone), None when it cannot be told (not ready, and verdict undecided: no required probe
    fails, but some could not decide, so "the kernel lacks features" would be untrue), else False."""
    if ready:
        return True
    return None if verdict == UNDECIDED else False


def is_usable(ready, criu):
    """criu_usable: criu_ready, and the installed criu (the one runtimes
    call) starts here and its own check passes."""
    return bool(ready and criu and criu.get('usable'))


def exit_code(level):
    """The exit code ``criu check`` returns for a verdict.  Undecided is 1:
    nobody can promise criu's 0 there."""
    return 0 if level == GOOD else 1


# ---------------------------------------------------------------- task failure

FAIL_ON_CRIU = 'criu'
FAIL_ON_REQUIRED = 'required'
FAIL_ON_NEVER = 'never'
FAIL_POLICIES = (FAIL_ON_CRIU, FAIL_ON_REQUIRED, FAIL_ON_NEVER)


def should_fail(policy, level, required_met):
    """Whether a ``criu_check`` task fails.

    criu: whenever ``criu check`` would exit non-zero (undecided included:
    nobody can promise its 0).  required: when what is required is not known
    to be met: criu cannot start, a required probe (or, with ``--feature``, a
    named one) is unsupported or could not decide; a task that guards a
    checkpoint must not pass on a guess.  never: never.
    """
    if policy == FAIL_ON_CRIU:
        return exit_code(level) != 0
    if policy == FAIL_ON_REQUIRED:
        return not required_met
    return False


# ---------------------------------------------------------------- categories

def category_maps(results):
    """``{category: {id: bool}}``, ``missing`` and ``unknown`` as the facts
    publish them.  Unknown is not missing: an undecided probe is false in its
    map and listed under ``unknown`` only."""
    maps = dict((c, {}) for c in REG.CATEGORIES)
    missing = dict((c, []) for c in MISSING_CATEGORIES)
    unknown = []
    for probe in REG.PROBES:
        result = results.get(probe.id)
        if result is None:
            continue
        status = result['status']
        maps[probe.category][probe.id] = status == R.SUPPORTED
        if status == R.UNSUPPORTED and probe.category in missing:
            missing[probe.category].append(probe.id)
        if is_undecided(status):
            unknown.append(probe.id)
    return maps, missing, unknown


# ---------------------------------------------------------------- what a host lacks

CRIU_START = 'criu_start'
CRIU_START_WHY = 'criu start-up'
CRIU_START_STATUS = 'blocked'
CRIU_START_DEFAULT_BLOCKER = 'criu would refuse to start here'
WHY_REQUIRED = 'required by criu'
WHY_FEATURE = 'in criu_require_features'
WHY_WORKLOAD = 'needed for workload %s'

# An unmet item for what the installed criu cannot dump on its kernel (criu_facts.criu.cannot_dump), which a
# workload needs (WORKLOAD_DUMPS): its id, waivable in ``ignore`` like a probe's.
CRIU_DUMP = 'criu_dump:%s'
CRIU_DUMP_IDS = sorted(set(CRIU_DUMP % limit for limits in WORKLOAD_DUMPS.values() for limit in limits))
CRIU_DUMP_STATUS = 'cannot_dump'

NOT_GATHERED = 'not_gathered'
NOT_GATHERED_MESSAGE = 'criu_facts has no result for this probe'
NOT_GATHERED_FIX = 'gather with categories that include it (criu_require_categories: [all])'


class DecisionError(ValueError):
    """A request that names what does not exist; the message lists what is valid."""


def check_names(features=(), ignore=(), workloads=(), definitions=None):
    """Raise DecisionError for an unknown probe id or workload name."""
    definitions = definitions or {}
    unknown_workloads = [w for w in workloads if w not in definitions]
    if unknown_workloads:
        raise DecisionError('unknown workload(s): %s (known: %s; add your own with criu_require_custom_workloads)'
                            % (', '.join('%s' % (w,) for w in unknown_workloads),
                               ', '.join(sorted('%s' % (d,) for d in definitions))))
    for name, ids in definitions.items():
        if isinstance(ids, (str, Mapping)) or not hasattr(ids, '__iter__'):
            raise DecisionError('the probe ids of workload %s must be a list, not %r' % (name, ids))
    waivable = [i for i in ignore if i not in CRIU_DUMP_IDS]
    asked = list(features) + waivable + [i for ids in definitions.values() for i in ids]
    unknown_ids = [i for i in asked if i not in REG.BY_ID]
    if CRIU_START in unknown_ids:
        # It is in the unmet items' ids, but it is criu's start-up, not a probe: its own switch waives it.
        raise DecisionError('%s is not a probe id: it is whether real criu can start here, which '
                            'criu_require_can_start turns on and off (the criu_unmet filter: require_can_start); '
                            'to waive it, set criu_require_can_start: false' % (CRIU_START,))
    if unknown_ids:
        raise DecisionError('unknown probe id(s): %s (valid ids, the keys of criu_facts.probes: %s)'
                            % (', '.join(sorted(set('%s' % (i,) for i in unknown_ids))), ', '.join(REG.BY_ID)))


def _line(item):
    return ('%s (%s): %s' % (item['id'], item['why'], item['status'])
            + (': %s' % (item['message'],) if item['message'] else '')
            + ('; fix: %s' % (item['fix'],) if item['fix'] else ''))


def _reasons(wanted, probe_id):
    """Every reason ``probe_id`` was asked for, in order, each once (reasons
    that differ only in case count once), joined."""
    reasons, seen = [], set()
    for wanted_id, why in wanted:
        key = why.lower() if isinstance(why, str) else why
        if wanted_id == probe_id and key not in seen:
            seen.add(key)
            reasons.append('%s' % (why,))
    return ', '.join(reasons)


def unmet(facts, require_ready=True, require_can_start=True, features=(), workloads=(), definitions=None,
          ignore=(), unknown_is_unmet=True):
    """What a host lacks, from its ``criu_facts``: a list of items (id, why,
    status, message, fix, line), criu's start-up blockers first, then each
    probe asked for that is not met, once, with every reason it was asked for,
    then what a workload asked for needs the installed criu to dump and it
    cannot on this kernel (CRIU_DUMP ids, from criu_facts.criu.cannot_dump).
    """
    definitions = BUILTIN_WORKLOADS if definitions is None else definitions
    check_names(features, ignore, workloads, definitions)
    probes = facts.get('probes') or {}
    environment = facts.get('environment') or {}
    items = []
    if require_can_start and not environment.get('criu_can_start', True):
        for blocker in environment.get('criu_start_blockers') or [CRIU_START_DEFAULT_BLOCKER]:
            items.append({'id': CRIU_START, 'why': CRIU_START_WHY, 'status': CRIU_START_STATUS,
                          'message': blocker, 'fix': start_blocker_fix(blocker, probes, environment)})

    # Every (probe id, reason) pair asked for, in order; a probe may come more than once.
    wanted = []
    if require_ready:
        # From the registry, not the facts: a required probe that was not gathered is unmet, not absent.
        wanted.extend((probe.id, WHY_REQUIRED) for probe in REG.PROBES if probe.category == REG.REQUIRED)
    wanted.extend((probe_id, WHY_FEATURE) for probe_id in features)
    for name in workloads:
        wanted.extend((probe_id, WHY_WORKLOAD % (name,)) for probe_id in definitions[name])

    seen = []
    for probe_id, why in wanted:
        if probe_id in ignore or probe_id in seen:
            continue
        seen.append(probe_id)
        probe = probes.get(probe_id)
        if probe is None:
            # Only the first reason: gathering more categories is the fix whatever asked for it.
            items.append({'id': probe_id, 'why': why, 'status': NOT_GATHERED,
                          'message': NOT_GATHERED_MESSAGE, 'fix': NOT_GATHERED_FIX})
        elif not is_met(probe.get('status'), unknown_is_met=not unknown_is_unmet):
            items.append({'id': probe_id, 'why': _reasons(wanted, probe_id), 'status': probe.get('status'),
                          'message': probe.get('message') or '', 'fix': probe.get('fix') or ''})

    # What the installed criu cannot dump here, where a workload asked for needs it.
    limits = dict((CRIU_DUMP % limit.get('id'), limit)
                  for limit in (facts.get('criu') or {}).get('cannot_dump') or ())
    dumps = [(CRIU_DUMP % limit, WHY_WORKLOAD % (name,))
             for name in workloads for limit in WORKLOAD_DUMPS.get(name, ())]
    for item_id, dummy in dumps:
        if item_id in ignore or item_id in seen or item_id not in limits:
            continue
        seen.append(item_id)
        items.append({'id': item_id, 'why': _reasons(dumps, item_id), 'status': CRIU_DUMP_STATUS,
                      'message': limits[item_id].get('reason') or '', 'fix': limits[item_id].get('fix') or ''})
    for item in items:
        item['line'] = _line(item)
    return items
