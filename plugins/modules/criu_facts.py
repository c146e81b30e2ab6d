#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: criu_facts
short_description: Gather facts about the kernel features CRIU needs
version_added: 0.1.0
description:
  - Runs every kernel probe of C(criu check) (CRIU 4.2), re-implemented in Python, on the managed node and
    returns the answers as facts, so that plays can branch on them, for example
    C(when) V(ansible_facts.criu_facts.extra.userns).
  - Unlike C(criu check) it runs every probe instead of stopping at the first failure, and says for each one
    what was observed, why it fails, and how to fix it.
  - Each probe runs in a forked child process with a timeout; nothing the probes do persists on the host.
  - Never fails because a feature is missing; missing features are facts. It fails only on invalid options.
  - C(criu_ready) is true when every required probe is met and real criu could start here (root, or
    C(CAP_CHECKPOINT_RESTORE) with O(unprivileged); Yama C(ptrace_scope) below 3, and below 2 without
    C(CAP_SYS_PTRACE)).
  - C(criu_usable) is true when, in addition, the installed criu (the first executable C(criu) on C(PATH), the one
    container runtimes call) starts on this kernel and its own C(criu check) passes. Its C(criu check) runs beside the
    probes, bounded by O(timeout), and leaves nothing behind on the host.
author:
  - criu.check contributors (@criu-check)
requirements:
  - Linux, Python 3.9 or newer on the managed node.
  - C(pyroute2) for the netlink probes and C(python-ptrace) for the ptrace probes (Debian C(python3-pyroute2),
    C(python3-ptrace)). Without them those probes are C(unknown) with the fix, and the others still run.
options:
  categories:
    description:
      - The categories of probes the facts answer for, as C(criu check) groups them. C(all) is all 67 probes.
      - C(required) is C(criu check)'s "absolutely required" category; C(extra) is C(--extra); C(experimental) is
        C(--experimental); C(optional) is the breakpoints probe; C(feature_only) are the probes reachable only
        with C(criu check --feature NAME).
      - C(criu_ready) can only be true when C(required) is among them.
      - The probes of the other categories run all the same, but only to tell whether real criu would start here
        (C(criu_facts.environment.criu_can_start)), as criu's start-up makes the calls of many of them for every
        command and stops on an error it does not expect.
    type: list
    elements: str
    choices: [required, extra, experimental, optional, feature_only, all]
    default: [all]
extends_documentation_fragment:
  - criu.check.criu
attributes:
  facts:
    support: full
    description: Action returns an C(ansible_facts) dictionary that updates existing host facts.
seealso:
  - module: criu.check.criu_check
  - name: criu check documentation
    description: The CRIU command this collection re-implements.
    link: https://criu.org/CLI/cmd/check
notes:
  - Facts are returned under C(ansible_facts), so they are cached with the other host facts. Use
    C(ansible_facts.criu_facts) and C(ansible_facts.criu_ready); the bare C(criu_facts) name relies on facts
    being injected as variables, which ansible-core deprecates.
  - Can run during fact gathering with C(ansible_facts_modules) (keep C(setup) in that list); its options then
    come from C(module_defaults).
'''

EXAMPLES = r'''
- name: Gather CRIU facts
  criu.check.criu_facts:

- name: Skip a task on hosts without user namespace support for CRIU
  ansible.builtin.debug:
    msg: "userns checkpoints work here"
  when: ansible_facts.criu_facts.extra.userns

- name: Stop unless the installed criu can checkpoint here
  ansible.builtin.assert:
    that: ansible_facts.criu_usable
    fail_msg: "{{ ansible_facts.criu_facts.criu.reason }} {{ ansible_facts.criu_facts.criu.fix }}"

# The facts of a run replace those of the last: after this one the extra map is empty,
# so a later condition on it reads ansible_facts.criu_facts.extra.userns | default(false).
- name: Only the required probes, as criu --unprivileged would answer
  criu.check.criu_facts:
    categories: [required]
    unprivileged: true

- name: Options for criu_facts and criu_check at once, through the criu action group
  hosts: all
  module_defaults:
    group/criu.check.criu:
      timeout: 10
      unprivileged: true
  tasks:
    - name: Gather CRIU facts, with timeout 10 and unprivileged from the group
      criu.check.criu_facts:

    - name: Check as criu check --unprivileged would, with the same defaults
      criu.check.criu_check:
        fail_on: never

- name: Gather CRIU facts with the other facts at play start
  hosts: all
  gather_facts: true
  vars:
    ansible_facts_modules:
      - setup  # keep the default facts
      - criu.check.criu_facts
  tasks:
    - name: Show what is missing
      ansible.builtin.debug:
        var: ansible_facts.criu_facts.missing
'''

RETURN = r'''
ansible_facts:
  description: Facts about CRIU on the managed node.
  returned: always
  type: complex
  contains:
    criu_ready:
      description:
        - Every required probe is met (supported, or not applicable here) and real criu could start here
          (C(criu_facts.environment.criu_can_start)).
        - This is about the kernel and the environment; whether the installed criu works is C(criu_usable).
      returned: always
      type: bool
      sample: true
    criu_usable:
      description:
        - C(criu_ready), and the installed criu (C(criu_facts.criu.path)) starts here and its own C(criu check)
          passes (C(criu_facts.criu.usable)). False when no criu is installed.
      returned: always
      type: bool
      sample: false
      version_added: 0.2.0
    criu_facts:
      description: The detail.
      returned: always
      type: complex
      contains:
        ready:
          description: Same as C(criu_ready).
          type: bool
          returned: always
          sample: true
        usable:
          description: Same as C(criu_usable).
          type: bool
          returned: always
          sample: false
          version_added: 0.2.0
        verdict:
          description:
            - V(good), V(good_but) or V(bad), criu's three outcomes for the categories run, or V(undecided), which
              criu never says.
            - V(bad) when real criu would refuse to start here or a required probe is unsupported.
            - V(undecided) when no required probe is unsupported but some could not decide (status C(unknown) or
              C(error), for example for lack of a Python library), or when every required probe is met, no extra or
              experimental probe is unsupported, but some of those could not decide. C(summary) then says what is
              unknown and why, never criu's C(Does not look good.).
            - V(good_but) when every required probe is met and an extra or experimental probe is unsupported.
          type: str
          returned: always
          choices: [good, good_but, bad, undecided]
          sample: good_but
        summary:
          description:
            - criu's own final sentence for the verdict (C(Looks good.), C(Does not look good.), or the three-line
              C(Looks good but ...)), the reasons criu would refuse to start, one per line, or, for V(undecided),
              which probes could not decide and why, one cause each, in a sentence that starts with C(Cannot tell).
          type: str
          returned: always
          sample: Looks good.
        required:
          description:
            - Each probe of criu's "absolutely required" category that was run, by id, to true when it is supported.
            - An undecided probe is false here and listed in C(unknown).
          type: dict
          returned: always
          sample: {map_files: true, sock_diag: true}
        extra:
          description: Each extra (C(criu check --extra)) probe that was run, by id, to true when it is supported.
          type: dict
          returned: always
          sample: {userns: true, mem_dirty_track: false}
        experimental:
          description: Each experimental probe that was run, by id, to true when it is supported.
          type: dict
          returned: always
          sample: {autofs: true, compat_cr: true}
        optional:
          description: The optional breakpoints probe, when run, to true when it is supported; it never changes the verdict.
          type: dict
          returned: always
          sample: {breakpoints: true}
        feature_only:
          description: Each probe reachable only with C(criu check --feature NAME) that was run, to true when it is supported.
          type: dict
          returned: always
          sample: {tun: true, tun_ns: true}
        missing:
          description: The ids of unsupported probes, by category. Undecided probes are not missing; see C(unknown).
          type: dict
          returned: always
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
          type: list
          elements: str
          returned: always
          sample: [sock_diag, tcp]
        probes:
          description: One entry per probe selected by the options, by probe id (criu's C(--feature) name where it has one).
          type: dict
          returned: always
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
        kernel:
          description: The running kernel.
          type: dict
          returned: always
          contains:
            release:
              description: The kernel release (C(uname -r)).
              type: str
              returned: always
              sample: 6.1.0-28-amd64
            version:
              description: The kernel version string (C(uname -v)).
              type: str
              returned: always
              sample: '#1 SMP PREEMPT_DYNAMIC Debian 6.1.119-1 (2024-11-22)'
            arch:
              description: The machine architecture (C(uname -m)).
              type: str
              returned: always
              sample: x86_64
            config:
              description:
                - The running kernel's build configuration, as far as it could be found and read, and where it
                  disagrees with the probes. Each probe's own values are in C(probes.ID.config_values).
                - Files are only read; no module is loaded.
              type: dict
              returned: always
              version_added: 0.2.0
              contains:
                source:
                  description:
                    - The file read - C(/proc/config.gz), C(/boot/config-RELEASE) or C(/lib/modules/RELEASE/config),
                      the first found - or null when none could be read.
                  type: str
                  returned: always
                  sample: /proc/config.gz
                readable:
                  description: Whether a config of the running kernel was found and read.
                  type: bool
                  returned: always
                  sample: true
                reason:
                  description: Why no config could be read (each place tried), or null.
                  type: str
                  returned: always
                version:
                  description: The kernel version in the config file's header, or null.
                  type: str
                  returned: always
                  sample: 6.1.119
                version_matches:
                  description: Whether that version is the running kernel's (major and minor); null when either is unknown.
                  type: bool
                  returned: always
                  sample: true
                modules:
                  description:
                    - For the probes' options built as modules (V(m)) or into the kernel (V(y)), by module name -
                      V(loaded), V(loadable) (in C(modules.dep), not loaded), V(blocked) (in C(modules.dep), but a
                      C(modprobe.d) rule, C(install NAME /bin/false) or C(blacklist NAME), C(module_blacklist=) or
                      C(modprobe.blacklist=) on the kernel command line, or C(kernel.modules_disabled=1) stops the
                      kernel loading it), V(builtin), V(absent) (C(modules.dep) does not list it) or V(unknown) (no
                      C(modules.dep) for the running kernel, as in a container, whose modules are the host's).
                  type: dict
                  returned: always
                  sample: {unix_diag: loaded, inet_diag: loadable}
                conflicts:
                  description:
                    - The probes whose result disagrees with the config, both ways - the config has the option but
                      the probe fails (a module not loaded, blocked or not installed, a read-only C(/proc/sys), a refused
                      capability or sysctl, a kernel too old), or the config lacks it but the probe passes (the file
                      is not the running kernel's config).
                    - C(sock_diag) passes as criu's does when some socket families cannot be collected (criu fails
                      later, at dump); a C(*_diag) module not loaded, blocked or not installed for such a family is
                      still a conflict.
                    - A check that criu does not make here (with C(--unprivileged), its root-only start-up steps;
                      C(criu_probes=false) in the probe's evidence) has none, nor has a probe that is C(unknown).
                  type: list
                  elements: dict
                  returned: always
                  sample: []
                  contains:
                    probe:
                      description: The probe id.
                      type: str
                      returned: always
                      sample: sock_diag
                    kind:
                      description: The kind of disagreement.
                      type: str
                      returned: always
                      choices: [module_not_loaded, module_blocked, module_missing, read_only_proc_sys, permission,
                                kernel_too_old, probe_failed, config_not_running_kernel, config_not_needed]
                      sample: module_not_loaded
                    config:
                      description: The options concerned.
                      type: list
                      elements: str
                      returned: always
                      sample: [CONFIG_UNIX_DIAG]
                    detail:
                      description: What the config says and what the probe found, in one sentence.
                      type: str
                      returned: always
                    fix:
                      description:
                        - The exact action (for example C(modprobe unix_diag)), or null when nothing is to be done.
                        - For a refusal (V(read_only_proc_sys), V(permission)) it is the probe's own C(fix) in
                          C(criu_facts.probes), which names the container or the device node where
                          that is the cause.
                      type: str
                      returned: always
                      sample: modprobe unix_diag
                duration_ms:
                  description: How long reading the config and the module lists took, in milliseconds.
                  type: float
                  returned: always
        environment:
          description: Identity, limits and surroundings that decide whether criu can run here.
          type: dict
          returned: always
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
                - The effective capabilities criu has when this user runs it, named as in C(capabilities). For root the
                  same; for another user what C(execve) leaves of the process's own with the file capabilities of the
                  criu it would run (C(setcap cap_checkpoint_restore+eip), which criu's documentation advises for
                  C(--unprivileged); not on a C(nosuid) mount, nor beyond the permitted set under C(no_new_privs)).
                  criu checks these, not the module's, before it starts. Null when they cannot be read.
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
        criu:
          description: The installed criu. C(installed) is false, and the other keys null or empty, when there is none.
          type: dict
          returned: always
          version_added: 0.2.0
          contains:
            installed:
              description:
                - Whether a C(criu) file was found on C(PATH) or in the sbin directories, executable or not (see
                  C(executable)).
              type: bool
              returned: always
              sample: true
            executable:
              description:
                - Whether one of them can be executed here. False when criu is there but is not executable (no execute
                  bit, a C(noexec) mount), which container runtimes treat as no criu; C(reason) says which and C(fix) how
                  to make it executable.
              type: bool
              returned: always
              sample: true
              version_added: 0.3.0
            path:
              description: The first executable C(criu) on C(PATH), the one container runtimes call; null when none.
              type: str
              returned: always
              sample: /usr/sbin/criu
            version:
              description: Its version, from C(criu --version); null when none or unreadable.
              type: str
              returned: always
              sample: 3.17.1
            gitid:
              description:
                - The C(GitID) line of C(criu --version), printed by a criu built from git; null for a release. The
                  runtimes' minimum criu then counts it as the next minor release, as go-criu does (3.15 from git
                  passes a 3.16 minimum).
              type: str
              returned: always
              sample: null
              version_added: 0.3.0
            binaries:
              description: Every C(criu) binary found, on C(PATH) and in the sbin directories.
              type: list
              elements: dict
              returned: always
              contains:
                path:
                  description: The binary.
                  type: str
                  returned: always
                  sample: /usr/sbin/criu
                version:
                  description: Its version, or null when unreadable.
                  type: str
                  returned: always
                  sample: 3.17.1
                selected:
                  description: Whether it is C(path), the first executable one on C(PATH).
                  type: bool
                  returned: always
                  sample: true
                executable:
                  description: Whether it can be executed here (an execute bit, not on a C(noexec) mount).
                  type: bool
                  returned: always
                  sample: true
                  version_added: 0.3.0
            starts:
              description: Whether its own C(criu check) got past start-up on this kernel; null when it was not run.
              type: bool
              returned: always
              sample: false
            check:
              description:
                - The result of its own C(criu check), run once, bounded by O(timeout), in a way that leaves nothing on
                  the host (its kdat cache goes to a private C(/run) or C(XDG_RUNTIME_DIR)). Null when no criu is installed.
              type: dict
              returned: always
              contains:
                verdict:
                  description:
                    - V(good), V(good_but), V(bad) (criu's outcomes), V(blocked) (it refused to run for lack of
                      privileges), V(cannot_start) (it stopped before any check), V(timeout), or V(not_run).
                  type: str
                  returned: always
                  choices: [good, good_but, bad, blocked, cannot_start, timeout, not_run]
                  sample: cannot_start
                rc:
                  description: Its exit code (negative - the signal - when it was killed); null when it did not run.
                  type: int
                  returned: always
                  sample: 1
                messages:
                  description: Its lines other than the verdict, without the C(Error (file:line)) prefixes, each once.
                  type: list
                  elements: str
                  returned: always
                  sample: ['vdso: Unexpected rt vDSO area bounds']
                raw_messages:
                  description: The same lines as criu printed them.
                  type: list
                  elements: str
                  returned: always
                unprivileged:
                  description: Whether it was run with C(--unprivileged).
                  type: bool
                  returned: always
                isolation:
                  description:
                    - How it was kept from leaving anything behind - V(mount_namespace) (a private mount namespace with
                      an empty C(/run)), V(xdg_runtime_dir) (a private runtime directory, removed afterwards) or V(none).
                  type: str
                  returned: always
                  sample: mount_namespace
            usable:
              description: Whether it starts here and its own C(criu check) passes.
              type: bool
              returned: always
              sample: false
            reason:
              description: Why it is not usable, in one sentence quoting criu's own error; null when usable.
              type: str
              returned: always
            fix:
              description: The action that makes it usable (which criu release fixes it and where to get it); null when usable.
              type: str
              returned: always
            agrees:
              description:
                - Whether its verdict agrees with the probes'; null when there is nothing to compare (no criu, the
                  probes undecided, criu blocked, timed out or not run, or criu run in the other
                  C(--unprivileged) mode than the probes).
              type: bool
              returned: always
            agrees_note:
              description: Why there is nothing to compare, when criu ran in the other C(--unprivileged) mode.
              type: str
              returned: when criu ran with C(--unprivileged) and the probes without it, or the reverse
              version_added: 0.2.0
            disagreements:
              description: Where its verdict and the probes' differ, with both sides and the explanation.
              type: list
              elements: dict
              returned: always
              sample: []
              contains:
                criu:
                  description: Its verdict (C(check.verdict)).
                  type: str
                  returned: always
                  sample: cannot_start
                probes:
                  description: The probes' verdict (C(verdict)).
                  type: str
                  returned: always
                  sample: good_but
                kind:
                  description:
                    - V(criu_too_old) (a newer criu fixes it), V(criu_bug) (criu passes a check it is known to pass
                      wrongly), V(environment) (criu cannot start in this context), V(broken_install) (criu's own files
                      are missing), or V(ours) (the probes are taken to be wrong until shown otherwise).
                  type: str
                  returned: always
                  choices: [criu_too_old, criu_bug, environment, broken_install, ours]
                  sample: criu_too_old
                explanation:
                  description: The disagreement in one sentence.
                  type: str
                  returned: always
            cannot_dump:
              description:
                - What it cannot dump on this kernel although it starts and passes its own check - a criu release
                  older than the kernel's behaviour, found from its version and that behaviour, observed here (Linux
                  6.16 and newer refuse C(SO_PASSCRED) on an IPv4 socket, which criu before 4.2 reads from every
                  socket it dumps). Empty when nothing is known, and where it does not start.
                - It stays C(usable) (it dumps other processes); plays that checkpoint such processes can test the
                  C(id) of each entry, or require a workload that needs it (the C(criu.check.require) role's
                  C(tcp_established)).
              type: list
              elements: dict
              returned: always
              version_added: 0.3.0
              sample: []
              contains:
                id:
                  description: What cannot be dumped, as an id - V(inet_sockets).
                  type: str
                  returned: always
                  choices: [inet_sockets]
                  sample: inet_sockets
                what:
                  description: The processes it cannot dump, in words.
                  type: str
                  returned: always
                  sample: a process with an IPv4, IPv6 or packet socket (a network server or client)
                why:
                  description: What the kernel does and what that criu does not expect.
                  type: str
                  returned: always
                reason:
                  description: The limit on this host in one sentence, with the message criu's dump stops with.
                  type: str
                  returned: always
                fix:
                  description: Which criu release has the fix and where to get it, or which kernels the installed one can dump on.
                  type: str
                  returned: always
                ref:
                  description: Where the fix is described.
                  type: str
                  returned: always
                  sample: https://github.com/checkpoint-restore/criu/issues/2718
        runtimes:
          description:
            - The container runtimes installed here, by name (V(podman), V(runc), V(crun), V(youki), V(containerd),
              V(cri-o), V(kubelet), V(docker), V(lxc)), and whether each can checkpoint. Absent runtimes are not listed.
            - Read from their version output and configuration only; no daemon or container is started.
          type: dict
          returned: always
          version_added: 0.2.0
          sample: {podman: {version: 4.3.1, checkpoint: ready, reasons: [], fix: null}}
          contains:
            path:
              description: The runtime's binary (C(crio) for CRI-O, C(dockerd) for Docker, C(lxc-checkpoint) for LXC).
              type: str
              returned: always
              sample: /usr/bin/podman
            version:
              description: The runtime's version, or null when unreadable.
              type: str
              returned: always
              sample: 4.3.1
            checkpoint:
              description:
                - Whether it can checkpoint here - V(ready), V(not_ready) (something named in C(reasons) stops it),
                  or V(unknown) (something could not be read or decided).
              type: str
              returned: always
              choices: [ready, not_ready, unknown]
              sample: ready
            reasons:
              description:
                - Why it is not ready or why that is unknown - its minimum criu against the installed one, a build
                  without CRIU, a configuration key, the kernel, or the installed criu - one sentence each.
              type: list
              elements: str
              returned: always
              sample: []
            fix:
              description: The actions that make it ready, in one sentence, or null.
              type: str
              returned: always
            criu_min:
              description: The oldest criu it accepts, as it compares versions; null when it has no such gate.
              type: str
              returned: always
              sample: '3.11'
            notes:
              description: What else limits it, for example that youki has no restore command.
              type: list
              elements: str
              returned: always
              sample: []
            built_with_criu:
              description: Whether it was built with checkpoint/restore support (runc's C(runc_nocriu) build, crun's C(+CRIU)); null when unknown.
              type: bool
              returned: for runc and crun
            libcriu:
              description: The C(libcriu.so.2) crun loads to checkpoint, or null when none is installed.
              type: str
              returned: for crun built with CRIU
            restore:
              description: False where the runtime can checkpoint but not restore.
              type: bool
              returned: for youki
            oci_runtime:
              description:
                - The OCI runtime it runs containers with, which must be able to checkpoint as well.
                - For containerd, the C(options.BinaryName) of its default runtime handler (C(runc) on the shim's
                  C(PATH) when unset); all null when that handler does not run the runc shim or was not read.
              type: dict
              returned: for the runtimes that delegate to one (podman, containerd, CRI-O, Docker)
              contains:
                name:
                  description: Its name, or null when none is installed.
                  type: str
                  sample: crun
                path:
                  description: Its binary, or null.
                  type: str
                  sample: /usr/bin/crun
                source:
                  description: Where the choice comes from (a configuration file and key, or V(default)).
                  type: str
                  sample: default
            runtime_handler:
              description:
                - containerd's default runtime handler (C(default_runtime_name)), which a pod without a RuntimeClass
                  runs, and the shim containerd checkpoints it through (its C(runtime_type)). Only
                  C(io.containerd.runc.v2) checkpoints with criu. All null when the configuration was not read or
                  containerd is older than 2.0.
              type: dict
              returned: for containerd
              version_added: 0.3.0
              contains:
                name:
                  description: The handler's name.
                  type: str
                  sample: runc
                runtime_type:
                  description: Its shim, or null when the configuration sets none.
                  type: str
                  sample: io.containerd.runc.v2
                source:
                  description: Where the name and the shim come from (configuration tables and files, or the defaults).
                  type: str
                  sample: default_runtime_name unset, containerd's default "runc"
            config:
              description:
                - The configuration that gates checkpointing, with the file it was read from (C(file) or C(files))
                  and C(source) (where the value came from, or the default it falls back to) - containerd's
                  C(enable_criu), its main file's config C(version) and the files it C(imports), read, migrated and
                  merged as the installed containerd 2 release does (breadth first, a later file winning key by key;
                  each file migrated as it loads from 2.3, the merged result before), CRI-O's C(enable_criu_support) (and
                  C(container_level_enabled)), the kubelet's C(ContainerCheckpoint) feature gate, Docker's
                  C(experimental).
              type: dict
              returned: for containerd, CRI-O, kubelet and Docker
            cri:
              description: The container runtime the kubelet talks to (V(containerd) or V(cri-o)), or null when unknown.
              type: str
              returned: for kubelet
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.criu.check.plugins.module_utils import _check  # noqa: E402
from ansible_collections.criu.check.plugins.module_utils import _engine  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            categories=dict(type='list', elements='str', default=[_check.ALL],
                            choices=list(_check.CATEGORY_CHOICES)),
            unprivileged=dict(type='bool', default=False),
            timeout=dict(type='float', default=_engine.DEFAULT_TIMEOUT),
        ),
        supports_check_mode=True,
    )
    _engine.require_positive_timeout(module)
    probes = _check.by_categories(module.params['categories'])
    error = None
    try:
        facts = _check.run(probes, unprivileged=module.params['unprivileged'],
                           timeout=module.params['timeout'])
    except _engine.EngineError as exc:
        error = str(exc)  # reported outside the handler: fail_json would attach a traceback
    if error:
        module.fail_json(msg=error)
    module.exit_json(changed=False, ansible_facts={
        'criu_ready': facts['ready'],
        'criu_usable': facts['usable'],
        'criu_facts': facts,
    })


if __name__ == '__main__':
    main()
