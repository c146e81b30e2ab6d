#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_check
short_description: Check kernel support for CRIU, as C(criu check) does
version_added: 0.1.0
description:
  - Runs the kernel probes of C(criu check) (CRIU 4.2), re-implemented in Python, on the managed node, and
    answers as C(criu check) would, with the same categories, feature names, messages and exit semantics.
  - Without options it answers for the required probes (and the optional breakpoints probe, whose result criu
    ignores); O(extra), O(experimental) and O(all) add categories as C(--extra), C(--experimental) and C(--all)
    do; O(feature) answers for the named probes only, as C(--feature NAME).
  - Whatever is asked, every probe runs to tell whether real criu would start here at all, as criu's start-up
    (C(kerndat_init)) makes the calls of many of them, extra ones included, for every command and stops on an
    error it does not expect; only the selected probes are reported.
  - Unlike C(criu check) every selected probe is answered, even after a required one fails, and each result says
    what was observed and how to fix it.
  - By default the task fails when C(criu check) would exit non-zero (see O(fail_on)).
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - C(pyroute2) and C(python-ptrace) on the managed node for the netlink and ptrace probes; without them those
    probes are C(unknown) with the fix.
options:
  extra:
    description: Also answer for the extra probes, as C(criu check --extra).
    type: bool
    default: false
  experimental:
    description: Also answer for the experimental probes, as C(criu check --experimental).
    type: bool
    default: false
  all:
    description: Answer for the extra and experimental probes too, as C(criu check --all).
    type: bool
    default: false
  feature:
    description:
      - Answer for these probes only, by criu C(--feature) name or, for the checks criu runs without a name, by our
        probe id (for example V(ns_last_pid)). O(extra), O(experimental) and O(all) are then ignored, as criu
        ignores them.
      - V(list) returns every known name with its category in RV(features) and runs nothing.
      - An unknown name fails the task with the list of valid names.
    type: list
    elements: str
  fail_on:
    description:
      - When the task fails.
      - V(criu) fails whenever C(criu check) would exit non-zero (RV(criu_rc) 1), that is for C(Does not look
        good.), for C(Looks good but ...), for a feature of O(feature) that is not supported, when criu could not start here,
        and for RV(verdict=undecided), where nobody can promise criu's 0.
      - V(required) fails when what is required is not known to be met - criu could not start, or a required probe
        is unsupported or could not decide (with O(feature), a named probe that is not supported, be it unsupported,
        not applicable here or undecided). A task that guards a checkpoint does not pass on a guess.
      - V(never) never fails; read RV(verdict) and RV(criu_rc).
    type: str
    choices: [criu, required, never]
    default: criu
extends_documentation_fragment:
  - criu.check.criu
seealso:
  - module: criu.check.criu_facts
  - name: criu check documentation
    description: The CRIU command this module re-implements.
    link: https://criu.org/CLI/cmd/check
'''

EXAMPLES = r'''
- name: Fail unless CRIU's required kernel features are present (criu check)
  criu.check.criu_check:

- name: Everything, as criu check --all, without failing the task
  criu.check.criu_check:
    all: true
    fail_on: never
  register: criu

- name: Show criu's verdict
  ansible.builtin.debug:
    msg: "{{ criu.summary }}"

- name: Two single features, as criu check --feature
  criu.check.criu_check:
    feature: [userns, uffd-noncoop]

- name: List every feature name with its category
  criu.check.criu_check:
    feature: list
  register: names
'''

RETURN = r'''
verdict:
  description:
    - V(good), V(good_but) or V(bad), criu's three outcomes, or V(undecided), which criu never says.
    - V(bad) when real criu would refuse to start here or a required probe is unsupported; V(undecided) when none is
      unsupported but some could not decide (status C(unknown) or C(error)), or when every required probe is met,
      no extra or experimental probe is unsupported, but some of those could not decide; V(good_but) when every
      required probe is met and an extra or experimental probe is unsupported.
    - With O(feature), V(good) when every named probe is supported, V(bad) when one is unsupported or not
      applicable here (or criu would refuse to start), else V(undecided).
  returned: unless O(feature=list)
  type: str
  choices: [good, good_but, bad, undecided]
  sample: good
summary:
  description:
    - What C(criu check) prints last, in its words (C(Looks good.), C(Does not look good.), the three-line
      C(Looks good but ...), or one C(NAME is supported) line per feature), or why criu would not start.
    - For V(undecided) in a category run, which probes could not decide and why, one cause each, in a sentence
      that starts with C(Cannot tell); never criu's C(Does not look good.). With O(feature), one line per named probe
      that is not supported - its name, a colon and its message.
  returned: unless O(feature=list)
  type: str
  sample: Looks good.
criu_rc:
  description:
    - The exit code C(criu check) would return - 0 for V(good), else 1. V(undecided) gives 1, as nobody can
      promise criu's 0 there. (Not C(rc), which Ansible reads as the task's own failure.)
  returned: unless O(feature=list)
  type: int
  sample: 0
ready:
  description:
    - Every required probe is met (supported, or not applicable here) and real criu could start here.
    - With O(feature), false unless it names every required probe - readiness needs the whole required category.
  returned: unless O(feature=list)
  type: bool
  sample: true
missing:
  description: The ids of unsupported probes, by category. Undecided probes are not missing; see C(unknown).
  type: dict
  returned: unless O(feature=list)
  sample: {required: [], extra: [mem_dirty_track], experimental: []}
  contains:
    required:
      description: Unsupported required probes.
      type: list
      elements: str
      returned: always
    extra:
      description: Unsupported extra probes.
      type: list
      elements: str
      returned: always
    experimental:
      description: Unsupported experimental probes.
      type: list
      elements: str
      returned: always

unknown:
  description: The ids of probes that could not decide (status C(unknown) or C(error)), for example for a missing library, a timeout or a crash.
  returned: unless O(feature=list)
  type: list
  elements: str
  sample: []
probes:
  description: One entry per probe selected by the options, by probe id (criu's C(--feature) name where it has one).
  type: dict
  returned: unless O(feature=list)
  contains:
    category:
      description: The probe's category.
      type: str
      returned: always
      choices: [required, extra, experimental, optional, feature_only]
      sample: extra
    criu_feature:
      description: criu's C(--feature) name for the probe, or null when criu has none.
      type: str
      returned: always
      sample: mem_dirty_track
    status:
      description:
        - V(supported), V(unsupported), V(not_applicable) (criu would skip it here, for example
          C(apparmor_stacking) where AppArmor is not the LSM), V(unknown) (could not decide), or V(error)
          (the probe crashed or overran O(timeout)).
      type: str
      returned: always
      choices: [supported, unsupported, unknown, not_applicable, error]
      sample: unsupported
    message:
      description: What was observed, in criu's own words where criu has them; may be empty.
      type: str
      returned: always
      sample: Dirty tracking is OFF. Memory snapshot will not work.
    evidence:
      description: What the probe observed (errno values, values read, flags), by name. The keys differ per probe.
      type: dict
      returned: always
      sample: {errno: 2, errno_name: ENOENT}
    kernel_min:
      description: The first kernel release that has the feature, or null when not known.
      type: str
      returned: always
      sample: '3.11'
    config:
      description: The kernel CONFIG options the feature depends on.
      type: list
      elements: str
      returned: always
      sample: [CONFIG_MEM_SOFT_DIRTY]
    config_values:
      description:
        - The running kernel's value of each option of C(config), by option name - V(y), V(m), V(n),
          V(unset) (not in the kernel's config), V(unreadable) (no config of the running kernel was found
          or it could not be read), or the option's own value for a string or number option.
      type: dict
      returned: always
      sample: {CONFIG_MEM_SOFT_DIRTY: y}
      version_added: 0.2.0
    fix:
      description:
        - One actionable sentence that makes the probe pass (the feature's general fix when the probe has none of its own).
        - Where the environment is the cause (a container's confinement, WSL, gVisor, arm64), that environment's fix.
        - Else the probe's own fix, when it saw the cause; else, when the running kernel's config shows it is built
          without an option the probe needs, the feature's fix begins with
          C(this kernel's config has CONFIG_X off:).
      type: str
      returned: always
      sample: boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y
    duration_ms:
      description:
        - How long the probe ran, in milliseconds; null when it never reported.
        - It includes loading the library it uses (pyroute2, python-ptrace) when it is the first probe of its worker to use it.
      type: float
      returned: always
      sample: 0.4

environment:
  description: Identity, limits and surroundings that decide whether criu can run here.
  type: dict
  returned: unless O(feature=list)
  contains:
    uid:
      description: The real user id of the module's process.
      type: int
      returned: always
      sample: 0
    euid:
      description: The effective user id of the module's process.
      type: int
      returned: always
      sample: 0
    unprivileged:
      description: The value of O(unprivileged) for this run.
      type: bool
      returned: always
      sample: false
    capabilities:
      description:
        - The effective capabilities, by name in lower case without C(CAP_), sorted (the number where the name
          is not known).
      type: list
      elements: str
      returned: always
      sample: [checkpoint_restore, sys_admin, sys_ptrace]
    cap_eff:
      description: The effective capability set as 16 hexadecimal digits, as C(CapEff) in C(/proc/self/status).
      type: str
      returned: always
      sample: 000001ffffffffff
    criu_capabilities:
      description:
        - The effective capabilities criu has when this user runs it, named as in C(capabilities). For root the same; for
          another user what C(execve) leaves of the process's own with the file capabilities of the criu it would run
          (C(setcap cap_checkpoint_restore+eip), which criu's documentation advises for C(--unprivileged); not on a
          C(nosuid) mount, nor beyond the permitted set under C(no_new_privs)). criu checks these, not the module's,
          before it starts. Null when they cannot be read.
      type: list
      elements: str
      returned: always
      sample: [checkpoint_restore]
      version_added: 0.3.0
    yama_ptrace_scope:
      description: C(kernel.yama.ptrace_scope), or null without Yama; criu cannot start at 3, nor at 2 without C(CAP_SYS_PTRACE).
      type: int
      returned: always
      sample: 0
    cap_last_cap:
      description: C(kernel.cap_last_cap), or null when it could not be read.
      type: int
      returned: always
      sample: 40
    seccomp:
      description: The process's seccomp mode from C(/proc/self/status) (0 none, 1 strict, 2 filter), or null.
      type: int
      returned: always
      sample: 0
    seccomp_filters:
      description: The number of seccomp filters on the process (C(Seccomp_filters) in C(/proc/self/status)), or null.
      type: int
      returned: always
      sample: 0
      version_added: 0.2.0
    no_new_privs:
      description: The process's C(NoNewPrivs) flag from C(/proc/self/status) (0 or 1), or null.
      type: int
      returned: always
      sample: 0
    user_namespace:
      description: Whether the process runs in a user namespace other than the initial one; null if unknown.
      type: bool
      returned: always
      sample: false
    proc_sys_writable:
      description: Whether C(/proc/sys) is mounted writable; null if unknown.
      type: bool
      returned: always
      sample: true
    proc_of_other_pid_namespace:
      description:
        - Whether C(/proc) shows another pid namespace than the process's (a new pid namespace without a C(/proc)
          of its own, as after C(unshare --pid --fork) without C(--mount-proc)), where criu opens C(/proc/PID) of the wrong
          process or none; null if unknown. Where the kernel can restore 32-bit tasks (x86_64, compat_cr) criu
          then stops in its start-up (a start blocker).
      type: bool
      returned: always
      sample: false
    can_mount:
      description:
        - Whether the process holds C(CAP_SYS_ADMIN) in the user namespace that owns its mount namespace, so
          that criu could mount there (decided without mounting); null if unknown.
      type: bool
      returned: always
      sample: true
    container:
      description:
        - The container manager the process runs under (V(podman), V(docker), V(kubernetes), V(lxc),
          V(systemd-nspawn), or the name the manager gives itself), or null outside a container.
      type: str
      returned: always
      sample: podman
    container_evidence:
      description: What the decision about C(container) rests on (files, variables, cgroup paths), one line each.
      type: list
      elements: str
      returned: always
      sample: [/run/.containerenv exists, not the initial PID namespace]
      version_added: 0.2.0
    container_privileged:
      description:
        - In a container, whether it gives criu what C(--privileged) would - C(CAP_SYS_ADMIN), a writable
          C(/proc/sys), no seccomp filter, the host's user namespace. Null outside a container, or when one
          of these is unknown.
      type: bool
      returned: always
      version_added: 0.2.0
    wsl:
      description: The Windows Subsystem for Linux version (V(1) or V(2)), or null outside WSL. WSL 1 cannot run criu.
      type: int
      returned: always
      version_added: 0.2.0
    gvisor:
      description: Whether the process runs under gVisor, whose kernel criu cannot checkpoint on.
      type: bool
      returned: always
      sample: false
      version_added: 0.2.0
    virtualization:
      description:
        - The hypervisor under this kernel, as systemd names it (for example V(kvm), V(xen), V(vmware),
          V(microsoft), V(oracle), or V(vm-other) when only the CPU's hypervisor flag says so), read from files
          only; null on bare metal or when nothing is readable.
      type: str
      returned: always
      sample: kvm
      version_added: 0.2.0
    arch:
      description: The machine architecture (C(uname -m)).
      type: str
      returned: always
      sample: x86_64
      version_added: 0.2.0
    page_size:
      description: Bytes per memory page (C(getconf PAGE_SIZE)); a migration needs the same on both hosts.
      type: int
      returned: always
      sample: 4096
      version_added: 0.3.0
    lsm:
      description: The Linux security modules, and the state of AppArmor and SELinux for this process.
      type: dict
      returned: always
      version_added: 0.2.0
      contains:
        list:
          description: The active LSMs from C(/sys/kernel/security/lsm), or null when it is not readable (as in most containers).
          type: list
          elements: str
          returned: always
          sample: [lockdown, capability, landlock, yama, apparmor]
        apparmor:
          description: AppArmor's state.
          type: dict
          returned: always
          contains:
            enabled:
              description: Whether AppArmor is enabled; null when unknown.
              type: bool
              returned: always
            profile:
              description: This process's profile, or null.
              type: str
              returned: always
              sample: unconfined
            mode:
              description: The profile's mode (for example V(enforce), V(complain), V(unconfined)), or null.
              type: str
              returned: always
              sample: unconfined
        selinux:
          description: SELinux's state.
          type: dict
          returned: always
          contains:
            enabled:
              description: Whether SELinux is enabled; null when unknown.
              type: bool
              returned: always
            enforcing:
              description: Whether it enforces; null when unknown.
              type: bool
              returned: always
    cgroup:
      description: The cgroup layout on C(/sys/fs/cgroup) - V(v1), V(v2) or V(hybrid); null when nothing is mounted there.
      type: str
      returned: always
      sample: v2
      version_added: 0.2.0
    cwd:
      description: The working directory of the module's process.
      type: str
      returned: always
    criu_can_start:
      description: Whether real criu would get past its start-up checks here (no C(criu_start_blockers)).
      type: bool
      returned: always
      sample: true
    criu_start_blockers:
      description:
        - Why real criu would refuse to start here, in its own words where it has them, in the order it checks.
        - When criu lacks its privileges (it stops there first), a start-up step that the probes saw refused for
          want of permission (C(EPERM), C(EACCES)) is that same cause and is not listed again.
        - When the kernel would not run criu at all (a user's criu whose file capabilities, with the effective
          flag, include one the capability bounding set lacks), that is the only reason.
      type: list
      elements: str
      returned: always
      sample: []
features:
  description: Every feature name the module accepts, with its category and criu's C(--feature) name.
  returned: when O(feature=list)
  type: list
  elements: dict
  sample: [{name: mnt_id, category: extra, criu_feature: mnt_id}]
  contains:
    name:
      description: The name O(feature) accepts - criu's C(--feature) name, or the probe id for a check criu runs without a name.
      type: str
      returned: always
      sample: mnt_id
    category:
      description: The probe's category.
      type: str
      returned: always
      choices: [required, extra, experimental, optional, feature_only]
      sample: extra
    criu_feature:
      description: criu's C(--feature) name, or null when criu has none.
      type: str
      returned: always
      sample: mnt_id
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _check  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _decide  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _registry  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            extra=dict(type='bool', default=False),
            experimental=dict(type='bool', default=False),
            all=dict(type='bool', default=False),
            feature=dict(type='list', elements='str'),
            unprivileged=dict(type='bool', default=False),
            timeout=dict(type='float', default=_engine.DEFAULT_TIMEOUT),
            fail_on=dict(type='str', default=_decide.FAIL_ON_CRIU, choices=list(_decide.FAIL_POLICIES)),
        ),
        supports_check_mode=True,
    )
    params = module.params
    _engine.require_positive_timeout(module)
    features = params['feature'] or []
    if features == [_check.LIST]:
        module.exit_json(changed=False, features=_registry.feature_list())
    if _check.LIST in features:
        module.fail_json(msg="feature: %r returns the names and must be given alone, got %s"
                         % (_check.LIST, ', '.join(features)))
    try:
        if features:
            probes = _check.by_features(features)
        else:
            probes = _check.like_criu_check(extra=params['extra'] or params['all'],
                                            experimental=params['experimental'] or params['all'])
    except _check.SelectionError as exc:
        module.fail_json(msg=str(exc))

    error = None
    try:
        facts = _check.run(probes, unprivileged=params['unprivileged'], timeout=params['timeout'],
                           installed_criu=False)
    except _engine.EngineError as exc:
        error = str(exc)  # reported outside the handler: fail_json would attach a traceback
    if error:
        module.fail_json(msg=error)
    if features:
        blockers = facts['environment']['criu_start_blockers']
        results = dict((probe_id, facts['probes'][probe_id]) for probe_id in facts['probes'])
        verdict, summary = _decide.feature_verdict(results, blockers)
        required_met = verdict == _decide.GOOD
    else:
        verdict, summary = facts['verdict'], facts['summary']
        required_met = facts['ready']
    result = dict(
        changed=False,
        verdict=verdict,
        summary=summary,
        criu_rc=_decide.exit_code(verdict),
        ready=facts['ready'],
        missing=facts['missing'],
        unknown=facts['unknown'],
        probes=facts['probes'],
        environment=facts['environment'],
    )
    if _decide.should_fail(params['fail_on'], verdict, required_met):
        module.fail_json(msg=summary, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
