# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every probe of ``criu check``, as one declarative table.

PRIVATE to the criu.check collection: not a public API.

This is the counterpart of ``feature_list[]`` and the ``CHECK_CAT1`` calls in
criu/cr-check.c (CRIU 4.2).  A probe is a row, never a branch: adding a probe
means adding a row here and a function in the family module of its kernel
area.  Rows are in criu's own order within each category, which is the order
``criu check`` runs them and so the order of "the first failure".

Columns, each given by keyword (defaults are not repeated):
  id            stable fact key, and criu's --feature name unless ``criu``
                says otherwise
  criu          criu's --feature name when it differs from the id, or None
                for the checks criu runs without a name (default: the id)
  category      required | extra | experimental | optional | feature_only
  probe         the probe function, as ``family.function`` of the
                ``_probes_<family>`` module: ``function(ctx) -> result`` (see
                _result).  Resolved by name, so that only the families of the
                selected probes are imported (load()).
  kernel_min    first upstream kernel with the feature (default: none, '')
  config        kernel CONFIG options it depends on (default: none)
  fix           one sentence an operator can act on
  own_process   True when the probe changes its own process (namespaces,
                credentials, mounts, signal state) and so must not share
                a child with other probes (default: False)
  lib           the heavy third-party library it imports ('pyroute2',
                'ptrace') or None: the engine runs the probes that share a
                library in one child, so that it is imported once
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib

REQUIRED = 'required'
EXTRA = 'extra'
EXPERIMENTAL = 'experimental'
OPTIONAL = 'optional'
FEATURE_ONLY = 'feature_only'

CATEGORIES = (REQUIRED, EXTRA, EXPERIMENTAL, OPTIONAL, FEATURE_ONLY)

_FAMILIES = 'ansible_collections.criu.check.plugins.module_utils._probes_'
_SAME = object()  # criu's --feature name is the id


def _packaged():  # pragma: no cover - never called
    """Names the probe families as imports, so that Ansible packs them with
    a module: AnsiballZ ships only the module_utils it sees imported, and the
    rows below import their family by name, in the worker that runs them."""
    from ansible_collections.criu.check.plugins.module_utils import (  # noqa: F401
        _probes_memory, _probes_mounts, _probes_netlink, _probes_proc, _probes_ptrace, _probes_sockets,
        _probes_tty_ipc, _probes_userland)


class Probe:
    """One row of the table; see the module docstring for the columns."""

    __slots__ = ('id', 'criu_name', 'category', 'probe', 'kernel_min', 'config', 'fix', 'own_process', 'lib')

    def __init__(self, id, category, probe, fix, criu=_SAME, kernel_min='', config=(), own_process=False, lib=None):
        self.id = id
        self.criu_name = id if criu is _SAME else criu
        self.category = category
        self.probe = probe
        self.kernel_min = kernel_min
        self.config = tuple(config)
        self.fix = fix
        self.own_process = own_process
        self.lib = lib

    @property
    def family(self):
        """The ``_probes_<family>`` module the probe lives in."""
        return self.probe.split('.')[0]

    @property
    def func(self):
        """The probe function, importing its family on first use."""
        return getattr(importlib.import_module(_FAMILIES + self.family), self.probe.split('.')[1])

    def run(self, ctx):
        return self.func(ctx)

    def __repr__(self):
        return 'Probe(%r)' % self.id


_CR = 'CONFIG_CHECKPOINT_RESTORE'
_KERNEL_CR = 'boot a kernel built with CONFIG_CHECKPOINT_RESTORE=y'

PROBES = (
    # ---- Category 1: absolutely required (criu stops at the first failure; we run all)
    Probe(id='map_files', category=REQUIRED, probe='proc.map_files',
          criu=None, kernel_min='3.3', config=(_CR,),
          fix='boot a Linux kernel >= 4.3 (or one built with CONFIG_CHECKPOINT_RESTORE=y); WSL1 and other '
              'non-Linux kernels have no /proc/PID/map_files'),
    Probe(id='sock_diag', category=REQUIRED, probe='sockets.sock_diag',
          criu=None, kernel_min='3.10', lib='pyroute2',
          config=('CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG', 'CONFIG_INET_TCP_DIAG', 'CONFIG_INET_UDP_DIAG',
                  'CONFIG_PACKET_DIAG', 'CONFIG_NETLINK_DIAG'),
          fix='enable CONFIG_UNIX_DIAG, CONFIG_INET_DIAG, CONFIG_INET_TCP_DIAG, CONFIG_INET_UDP_DIAG, '
              'CONFIG_PACKET_DIAG and CONFIG_NETLINK_DIAG, or load the modules: modprobe -a unix_diag '
              'inet_diag tcp_diag udp_diag af_packet_diag netlink_diag'),
    Probe(id='ns_last_pid', category=REQUIRED, probe='proc.ns_last_pid',
          criu=None, kernel_min='3.3', config=(_CR,),
          fix=_KERNEL_CR + ', and give criu a writable /proc/sys (run on the host or in a privileged container; '
                           'containers mount /proc/sys read-only)'),
    Probe(id='sock_peek_off', category=REQUIRED, probe='sockets.sock_peek_off',
          criu=None, kernel_min='3.4', config=('CONFIG_UNIX',),
          fix='upgrade to a kernel >= 3.4 with CONFIG_UNIX=y (SO_PEEK_OFF)'),
    Probe(id='kcmp', category=REQUIRED, probe='proc.kcmp',
          criu=None, kernel_min='3.5', config=(_CR, 'CONFIG_KCMP'),
          fix='boot a kernel with the kcmp system call: CONFIG_CHECKPOINT_RESTORE=y (CONFIG_KCMP=y since '
              '5.12)'),
    Probe(id='prctl_cat1', category=REQUIRED, probe='proc.prctl_cat1',
          criu=None, kernel_min='3.18', config=(_CR,), own_process=True,
          fix=_KERNEL_CR + ' and >= 3.18 (PR_SET_MM_MAP), or run criu with CAP_SYS_RESOURCE'),
    Probe(id='fcntl', category=REQUIRED, probe='proc.fcntl',
          criu=None, kernel_min='3.6', config=(_CR,),
          fix=_KERNEL_CR + ' (F_GETOWNER_UIDS)'),
    Probe(id='proc_stat', category=REQUIRED, probe='proc.proc_stat',
          criu=None, kernel_min='3.5', config=('CONFIG_PROC_FS',),
          fix='upgrade to a kernel >= 3.5, whose /proc/PID/stat has the extended fields'),
    Probe(id='tcp', category=REQUIRED, probe='sockets.tcp',
          criu=None, kernel_min='3.9', config=('CONFIG_INET',),
          fix='run criu with CAP_NET_ADMIN (TCP_REPAIR) on a kernel >= 3.9 with CONFIG_INET=y'),
    Probe(id='fdinfo_ext', category=REQUIRED, probe='proc.fdinfo_ext',
          criu=None, kernel_min='3.8',
          config=('CONFIG_EVENTFD', 'CONFIG_EPOLL', 'CONFIG_SIGNALFD', 'CONFIG_INOTIFY_USER', 'CONFIG_FHANDLE'),
          fix='enable CONFIG_EVENTFD, CONFIG_EPOLL, CONFIG_SIGNALFD, CONFIG_INOTIFY_USER and '
              'CONFIG_FHANDLE, and run criu from a directory on a filesystem that supports file handles'),
    Probe(id='unaligned_vmsplice', category=REQUIRED, probe='tty_ipc.unaligned_vmsplice',
          criu=None, kernel_min='3.6',
          fix='upgrade to a kernel >= 3.6 (vmsplice with SPLICE_F_GIFT on unaligned buffers)'),
    Probe(id='tty', category=REQUIRED, probe='tty_ipc.tty',
          criu=None, kernel_min='2.6', config=('CONFIG_UNIX98_PTYS',),
          fix='make /dev/ptmx usable (CONFIG_UNIX98_PTYS=y and a devpts mount with a ptmx node)'),
    Probe(id='so_gets', category=REQUIRED, probe='sockets.so_gets',
          criu=None, kernel_min='3.8',
          fix='upgrade to a kernel >= 3.8 (SO_GET_FILTER and SO_BINDTODEVICE readable)'),
    Probe(id='ipc', category=REQUIRED, probe='proc.ipc',
          criu=None, kernel_min='3.8', config=(_CR, 'CONFIG_SYSVIPC', 'CONFIG_SYSVIPC_SYSCTL'),
          fix=_KERNEL_CR + ' and CONFIG_SYSVIPC, and give criu a writable /proc/sys (kernel/sem_next_id)'),
    Probe(id='sigqueuinfo', category=REQUIRED, probe='tty_ipc.sigqueuinfo',
          criu=None, kernel_min='3.9',
          fix='upgrade to a kernel >= 3.9 (rt_sigqueueinfo with a positive si_code to itself)'),
    Probe(id='ptrace_peeksiginfo', category=REQUIRED, probe='ptrace.ptrace_peeksiginfo',
          criu=None, kernel_min='3.11', lib='ptrace',
          fix='upgrade to a kernel >= 3.11 and allow ptrace of own children (kernel.yama.ptrace_scope <= '
              '1, or CAP_SYS_PTRACE)'),
    Probe(id='special_mapping_mremap', category=REQUIRED, probe='memory.special_mapping_mremap',
          criu=None, kernel_min='4.8',
          fix='upgrade to a kernel that can mremap the vDSO and other special mappings (x86 >= 4.8, arm64 '
              '>= 4.14)'),

    # ---- Category 2: --extra
    Probe(id='prctl_cat2', category=EXTRA, probe='proc.prctl_cat2',
          criu=None, kernel_min='3.18', config=(_CR,),
          fix=_KERNEL_CR + ' >= 3.18 (PR_SET_MM_MAP_SIZE)'),
    Probe(id='seccomp_suspend', category=EXTRA, probe='ptrace.seccomp_suspend',
          kernel_min='4.3', config=(_CR, 'CONFIG_SECCOMP'), lib='ptrace',
          fix='use a kernel >= 4.3 with CONFIG_SECCOMP and CONFIG_CHECKPOINT_RESTORE, run criu as root '
              'with CAP_SYS_ADMIN and not itself under a seccomp filter (e.g. --security-opt '
              'seccomp=unconfined)'),
    Probe(id='seccomp_filters', category=EXTRA, probe='ptrace.seccomp_filters',
          kernel_min='4.4', config=(_CR, 'CONFIG_SECCOMP_FILTER'), lib='ptrace',
          fix='use a kernel >= 4.4 with CONFIG_SECCOMP_FILTER and CONFIG_CHECKPOINT_RESTORE, and run criu '
              'with CAP_SYS_ADMIN outside any seccomp filter'),
    Probe(id='mem_dirty_track', category=EXTRA, probe='memory.mem_dirty_track',
          kernel_min='3.11', config=('CONFIG_MEM_SOFT_DIRTY',), own_process=True,
          fix='boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y (not available on arm64); without it '
              'pre-dump, pre-copy and --track-mem do not work'),
    Probe(id='posix_timers', category=EXTRA, probe='proc.posix_timers',
          criu=None, kernel_min='3.10', config=(_CR, 'CONFIG_POSIX_TIMERS'),
          fix=_KERNEL_CR + ' and CONFIG_POSIX_TIMERS (/proc/PID/timers)'),
    Probe(id='tun_cr', category=EXTRA, probe='netlink.tun_cr',
          criu=None, kernel_min='3.8', config=('CONFIG_TUN',),
          fix='enable CONFIG_TUN (or modprobe tun) so that /dev/net/tun supports TUNSETIFINDEX'),
    Probe(id='timerfd', category=EXTRA, probe='proc.timerfd',
          kernel_min='3.17', config=(_CR, 'CONFIG_TIMERFD'),
          fix=_KERNEL_CR + ' >= 3.17 (TFD_IOC_SET_TICKS)'),
    Probe(id='mnt_id', category=EXTRA, probe='proc.mnt_id',
          kernel_min='3.15',
          fix='upgrade to a kernel >= 3.15 (mnt_id in /proc/PID/fdinfo)'),
    Probe(id='aio_remap', category=EXTRA, probe='memory.aio_remap',
          kernel_min='3.19', config=('CONFIG_AIO',),
          fix='use a kernel >= 3.19 with CONFIG_AIO=y, and keep fs.aio-max-nr above fs.aio-nr'),
    Probe(id='fdinfo_lock', category=EXTRA, probe='proc.fdinfo_lock',
          kernel_min='4.1', config=('CONFIG_FILE_LOCKING',),
          fix='upgrade to a kernel >= 4.1 (lock: lines in /proc/PID/fdinfo)'),
    Probe(id='clone_parent_vs_pid', category=EXTRA, probe='mounts.clone_parent_vs_pid',
          criu=None, kernel_min='3.13', config=('CONFIG_PID_NS',),
          fix='run criu with CAP_SYS_ADMIN outside a PID-namespace init, on a kernel other than 3.12 with '
              'CONFIG_PID_NS=y'),
    Probe(id='cgroupns', category=EXTRA, probe='proc.cgroupns',
          kernel_min='4.6', config=('CONFIG_CGROUPS',),
          fix='upgrade to a kernel >= 4.6 with cgroup namespaces (CONFIG_CGROUPS=y)'),
    Probe(id='tcp_window', category=EXTRA, probe='sockets.tcp_window',
          criu=None, kernel_min='4.8', config=('CONFIG_INET',),
          fix='run criu with CAP_NET_ADMIN on a kernel >= 4.8 (TCP_REPAIR_WINDOW)'),
    Probe(id='tcp_half_closed', category=EXTRA, probe='sockets.tcp_half_closed',
          kernel_min='4.10', config=('CONFIG_INET',),
          fix='run criu with CAP_NET_ADMIN on a kernel >= 4.10 (TCP_REPAIR on half-closed sockets)'),
    Probe(id='userns', category=EXTRA, probe='proc.userns',
          kernel_min='3.18', config=('CONFIG_USER_NS', _CR),
          fix='enable CONFIG_USER_NS and CONFIG_CHECKPOINT_RESTORE on a kernel >= 3.18'),
    Probe(id='loginuid', category=EXTRA, probe='proc.loginuid',
          kernel_min='3.13', config=('CONFIG_AUDIT', 'CONFIG_AUDITSYSCALL'),
          fix='run criu as root with CAP_AUDIT_CONTROL on a kernel with CONFIG_AUDIT=y (CONFIG_AUDITSYSCALL=y before 5.1) '
              'and a mutable loginuid (audit=1 without loginuid_immutable)'),
    Probe(id='can_map_vdso', category=EXTRA, probe='memory.can_map_vdso',
          kernel_min='4.9', config=('CONFIG_IA32_EMULATION', _CR),
          fix='on x86_64 use a kernel >= 4.9 with CONFIG_IA32_EMULATION and CONFIG_CHECKPOINT_RESTORE '
              '(arch_prctl ARCH_MAP_VDSO_32); '
              'elsewhere criu falls back to mremap of the vDSO'),
    Probe(id='uffd', category=EXTRA, probe='memory.uffd',
          kernel_min='4.3', config=('CONFIG_USERFAULTFD',),
          fix='enable CONFIG_USERFAULTFD, and run criu as root without --unprivileged (which never probes '
              'userfaultfd), with CAP_SYS_PTRACE or sysctl vm.unprivileged_userfaultfd=1'),
    Probe(id='uffd-noncoop', category=EXTRA, probe='memory.uffd_noncoop',
          kernel_min='4.11', config=('CONFIG_USERFAULTFD',),
          fix='use a kernel >= 4.11 with CONFIG_USERFAULTFD (fork, remap, remove and unmap events) and the '
              'privileges that uffd needs'),
    Probe(id='sk_ns', category=EXTRA, probe='sockets.sk_ns',
          kernel_min='4.9', config=('CONFIG_NET_NS',),
          fix='run criu as root (not --unprivileged) with CAP_NET_ADMIN on a kernel >= 4.9 (SIOCGSKNS)'),
    Probe(id='kcmp_epoll', category=EXTRA, probe='proc.kcmp_epoll',
          kernel_min='4.13', config=(_CR, 'CONFIG_KCMP'),
          fix=_KERNEL_CR + ' >= 4.13 (kcmp KCMP_EPOLL_TFD)'),
    Probe(id='net_diag_raw', category=EXTRA, probe='sockets.net_diag_raw',
          kernel_min='4.10', config=('CONFIG_INET_RAW_DIAG',), lib='pyroute2',
          fix='enable CONFIG_INET_RAW_DIAG (or modprobe raw_diag)'),
    Probe(id='clone3_set_tid', category=EXTRA, probe='proc.clone3_set_tid',
          kernel_min='5.5',
          fix='upgrade to a kernel >= 5.5 (clone3 with set_tid)'),
    Probe(id='timens', category=EXTRA, probe='proc.timens',
          kernel_min='5.6', config=('CONFIG_TIME_NS',),
          fix='use a kernel >= 5.6 with CONFIG_TIME_NS=y'),
    Probe(id='newifindex', category=EXTRA, probe='netlink.newifindex',
          kernel_min='5.13', lib='pyroute2',
          fix='run criu as root or with CAP_NET_ADMIN on a kernel >= 5.13 (IFLA_NEW_IFINDEX)'),
    Probe(id='pidfd_store', category=EXTRA, probe='proc.pidfd_store',
          kernel_min='5.6',
          fix='upgrade to a kernel >= 5.6 (pidfd_open and pidfd_getfd)'),
    Probe(id='ns_pid', category=EXTRA, probe='proc.ns_pid',
          kernel_min='4.1', config=('CONFIG_PID_NS',),
          fix='upgrade to a kernel >= 4.1 (NSpid in /proc/PID/status)'),
    Probe(id='network_lock_nftables', category=EXTRA, probe='netlink.network_lock_nftables',
          config=('CONFIG_NF_TABLES', 'CONFIG_NF_TABLES_INET'),
          fix='enable CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET, install libnftables (python3-nftables or '
              'nft), and run criu as root'),
    Probe(id='sockopt_buf_lock', category=EXTRA, probe='sockets.sockopt_buf_lock',
          kernel_min='5.14',
          fix='upgrade to a kernel >= 5.14 (SO_BUF_LOCK)'),
    Probe(id='memfd_hugetlb', category=EXTRA, probe='memory.memfd_hugetlb',
          kernel_min='4.14', config=('CONFIG_MEMFD_CREATE', 'CONFIG_HUGETLBFS'),
          fix='use a kernel >= 4.14 with CONFIG_HUGETLBFS=y (memfd_create MFD_HUGETLB)'),
    Probe(id='move_mount_set_group', category=EXTRA, probe='mounts.move_mount_set_group',
          kernel_min='5.15',
          fix='run criu as root on a kernel >= 5.15 (MOVE_MOUNT_SET_GROUP, needed for mount-v2)'),
    Probe(id='openat2', category=EXTRA, probe='proc.openat2',
          kernel_min='5.6',
          fix='upgrade to a kernel >= 5.6 (openat2)'),
    Probe(id='get_rseq_conf', category=EXTRA, probe='ptrace.get_rseq_conf',
          kernel_min='5.13', config=('CONFIG_RSEQ',), lib='ptrace',
          fix='use a kernel >= 5.13 with CONFIG_RSEQ (PTRACE_GET_RSEQ_CONFIGURATION), or run programs with '
              'GLIBC_TUNABLES=glibc.pthread.rseq=0'),
    Probe(id='ipv6_freebind', category=EXTRA, probe='sockets.ipv6_freebind',
          kernel_min='4.15', config=('CONFIG_IPV6',),
          fix='upgrade to a kernel >= 4.15 (IPV6_FREEBIND)'),
    Probe(id='pagemap_scan', category=EXTRA, probe='memory.pagemap_scan',
          kernel_min='6.8', config=('CONFIG_PROC_PAGE_MONITOR',),
          fix='use a kernel >= 6.8 with CONFIG_PROC_PAGE_MONITOR (PAGEMAP_SCAN with the soft-dirty '
              'category, accepted even without CONFIG_MEM_SOFT_DIRTY)'),
    Probe(id='overlayfs_maps', category=EXTRA, probe='mounts.overlayfs_maps',
          kernel_min='6.8', config=('CONFIG_OVERLAY_FS',),
          fix='use an upstream kernel with CONFIG_OVERLAY_FS whose /proc/PID/maps shows the real dev:ino '
              'of overlay files (avoid Ubuntu kernels with the overlayfs maps bug)'),
    Probe(id='timer_cr_ids', category=EXTRA, probe='proc.timer_cr_ids',
          kernel_min='6.15', config=('CONFIG_POSIX_TIMERS',),
          fix='upgrade to a kernel >= 6.15 (PR_TIMER_CREATE_RESTORE_IDS)'),
    Probe(id='pagemap_scan_guard_pages', category=EXTRA, probe='memory.pagemap_scan_guard_pages',
          kernel_min='6.16', config=('CONFIG_PROC_PAGE_MONITOR',),
          fix='upgrade to a kernel whose PAGEMAP_SCAN reports PAGE_IS_GUARD (about 6.16)'),
    Probe(id='apparmor_stacking', category=EXTRA, probe='mounts.apparmor_stacking',
          kernel_min='4.14', config=('CONFIG_SECURITY_APPARMOR',),
          fix='use a kernel whose AppArmor supports stacking (domain version >= 1.2) and make '
              '/sys/kernel/security readable'),

    # ---- Category 3: --experimental
    Probe(id='autofs', category=EXPERIMENTAL, probe='mounts.autofs',
          kernel_min='4.6', config=('CONFIG_AUTOFS_FS', 'CONFIG_AUTOFS4_FS'),
          fix='enable CONFIG_AUTOFS_FS (CONFIG_AUTOFS4_FS before 4.18) on a kernel >= 4.6, load it where it is a module '
              '(modprobe autofs4; autofs on newer kernels), and run criu with CAP_SYS_ADMIN'),
    Probe(id='compat_cr', category=EXPERIMENTAL, probe='memory.compat_cr',
          kernel_min='4.12', config=('CONFIG_IA32_EMULATION', _CR),
          fix='on x86_64 use a kernel >= 4.12 with CONFIG_IA32_EMULATION=y and CONFIG_CHECKPOINT_RESTORE=y'),

    # ---- "Category 4, optional": always runs, never changes the verdict
    Probe(id='breakpoints', category=OPTIONAL, probe='ptrace.breakpoints',
          config=('CONFIG_HAVE_HW_BREAKPOINT',), lib='ptrace',
          fix='use bare metal or a hypervisor that virtualises debug registers (x86_64 or arm64); criu '
              'then falls back to slower software breakpoints'),

    # ---- reachable only with criu check --feature NAME
    Probe(id='tun', category=FEATURE_ONLY, probe='netlink.tun',
          kernel_min='3.8', config=('CONFIG_TUN',),
          fix='enable CONFIG_TUN (or modprobe tun) and make /dev/net/tun available'),
    Probe(id='tun_ns', category=FEATURE_ONLY, probe='netlink.tun_ns',
          kernel_min='4.16', config=('CONFIG_TUN',),
          fix='enable CONFIG_TUN and run criu with CAP_NET_ADMIN on a kernel >= 4.16 (SIOCGSKNS on tun)'),
    # SIOCUNIXFILE: ba94f3088b79 ("unix: add ioctl to open a unix socket file with O_PATH"), net-next in
    # February 2017, so 4.11; its compat_ioctl fix was backported to 4.14-stable, not to 4.9.
    Probe(id='sk_unix_file', category=FEATURE_ONLY, probe='sockets.sk_unix_file',
          kernel_min='4.11', config=('CONFIG_UNIX',),
          fix='run criu as root (not --unprivileged) with CAP_NET_ADMIN on a kernel >= 4.11 (SIOCUNIXFILE)'),
    Probe(id='nsid', category=FEATURE_ONLY, probe='netlink.nsid',
          kernel_min='4.0', config=('CONFIG_NET_NS',), lib='pyroute2',
          fix='upgrade to a kernel >= 4.0 (RTM_GETNSID)'),
    Probe(id='link_nsid', category=FEATURE_ONLY, probe='netlink.link_nsid',
          kernel_min='4.0', config=('CONFIG_NET_NS', 'CONFIG_VETH'), lib='pyroute2',
          fix='run criu as root with CAP_SYS_ADMIN on a kernel >= 4.0 with CONFIG_VETH (IFLA_LINK_NETNSID)'),
    Probe(id='external_net_ns', category=FEATURE_ONLY, probe='userland.external_net_ns',
          fix='install criu >= 3.9'),
    Probe(id='nftables', category=FEATURE_ONLY, probe='userland.nftables',
          config=('CONFIG_NF_TABLES',),
          fix='install libnftables (python3-nftables) or the nft tool, and a criu built with libnftables'),
    Probe(id='has_ipt_legacy', category=FEATURE_ONLY, probe='userland.has_ipt_legacy',
          fix='install the legacy iptables binaries (iptables-legacy-save, ip6tables-legacy-save)'),
)

BY_ID = dict((p.id, p) for p in PROBES)


def load(probes):
    """Import the families of ``probes`` here, before the workers are forked:
    run from Ansible's zip there is no cached bytecode, so every import
    compiles, and compiling each family once in the parent costs less than
    once in every worker that runs one of its probes."""
    for family in sorted(set(p.family for p in probes)):
        importlib.import_module(_FAMILIES + family)


def feature_list():
    """Every name ``feature`` accepts, with its category: criu's 45 names and
    our ids for the checks criu runs without a name."""
    return [{'name': p.id, 'category': p.category, 'criu_feature': p.criu_name} for p in PROBES]
