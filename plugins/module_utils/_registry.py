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

Columns:
  id            stable fact key (criu's --feature name where it has one)
  criu_name     criu's --feature name, or None for checks that have none
  category      required | extra | experimental | optional | feature_only
  func          the probe: ``func(ctx) -> result`` (see _result)
  kernel_min    first upstream kernel with the feature ('' when n/a)
  config        kernel CONFIG options it depends on
  fix           one sentence an operator can act on
  own_process   True when the probe changes its own process (namespaces,
                credentials, mounts, signal state) and so must not share
                a child with other probes
  lib           the heavy third-party library it imports ('pyroute2',
                'ptrace') or None: the engine runs the probes that share a
                library in one child, so that it is imported once
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

from ansible_collections.criu.check.plugins.module_utils import (
    _probes_memory as memory,
    _probes_mounts as mounts,
    _probes_netlink as netlink,
    _probes_proc as proc,
    _probes_ptrace as ptrace,
    _probes_sockets as sockets,
    _probes_tty_ipc as tty_ipc,
    _probes_userland as userland,
)

REQUIRED = 'required'
EXTRA = 'extra'
EXPERIMENTAL = 'experimental'
OPTIONAL = 'optional'
FEATURE_ONLY = 'feature_only'

CATEGORIES = (REQUIRED, EXTRA, EXPERIMENTAL, OPTIONAL, FEATURE_ONLY)

Probe = namedtuple('Probe', 'id criu_name category func kernel_min config fix own_process lib',
                   defaults=(False, None))

_CR = 'CONFIG_CHECKPOINT_RESTORE'
_KERNEL_CR = 'boot a kernel built with CONFIG_CHECKPOINT_RESTORE=y'

PROBES = (
    # ---- Category 1: absolutely required (criu stops at the first failure; we run all)
    Probe('map_files', None, REQUIRED, proc.map_files, '3.3', (_CR,),
          'boot a Linux kernel >= 4.3 (or one built with CONFIG_CHECKPOINT_RESTORE=y); '
          'WSL1 and other non-Linux kernels have no /proc/PID/map_files', False),
    Probe('sock_diag', None, REQUIRED, sockets.sock_diag, '3.10',
          ('CONFIG_UNIX_DIAG', 'CONFIG_INET_DIAG', 'CONFIG_INET_UDP_DIAG',
           'CONFIG_PACKET_DIAG', 'CONFIG_NETLINK_DIAG'),
          'enable CONFIG_UNIX_DIAG, CONFIG_INET_DIAG, CONFIG_INET_UDP_DIAG, CONFIG_PACKET_DIAG and '
          'CONFIG_NETLINK_DIAG, or load the modules: modprobe -a unix_diag inet_diag udp_diag '
          'packet_diag netlink_diag', False, lib='pyroute2'),
    Probe('ns_last_pid', None, REQUIRED, proc.ns_last_pid, '3.3', (_CR,),
          _KERNEL_CR + ', and give criu a writable /proc/sys (run on the host or in a privileged '
          'container; containers mount /proc/sys read-only)', False),
    Probe('sock_peek_off', None, REQUIRED, sockets.sock_peek_off, '3.4', ('CONFIG_UNIX',),
          'upgrade to a kernel >= 3.4 with CONFIG_UNIX=y (SO_PEEK_OFF)', False),
    Probe('kcmp', None, REQUIRED, proc.kcmp, '3.5', (_CR, 'CONFIG_KCMP'),
          'boot a kernel with the kcmp system call: CONFIG_CHECKPOINT_RESTORE=y '
          '(CONFIG_KCMP=y since 5.12)', False),
    Probe('prctl_cat1', None, REQUIRED, proc.prctl_cat1, '3.18', (_CR,),
          _KERNEL_CR + ' and >= 3.18 (PR_SET_MM_MAP), or run criu with CAP_SYS_RESOURCE', True),
    Probe('fcntl', None, REQUIRED, proc.fcntl, '3.6', (_CR,),
          _KERNEL_CR + ' (F_GETOWNER_UIDS)', False),
    Probe('proc_stat', None, REQUIRED, proc.proc_stat, '3.5', ('CONFIG_PROC_FS',),
          'upgrade to a kernel >= 3.5, whose /proc/PID/stat has the extended fields', False),
    Probe('tcp', None, REQUIRED, sockets.tcp, '3.9', ('CONFIG_INET',),
          'run criu with CAP_NET_ADMIN (TCP_REPAIR) on a kernel >= 3.9 with CONFIG_INET=y', False),
    Probe('fdinfo_ext', None, REQUIRED, proc.fdinfo_ext, '3.8',
          ('CONFIG_EVENTFD', 'CONFIG_EPOLL', 'CONFIG_SIGNALFD', 'CONFIG_INOTIFY_USER',
           'CONFIG_FHANDLE'),
          'enable CONFIG_EVENTFD, CONFIG_EPOLL, CONFIG_SIGNALFD, CONFIG_INOTIFY_USER and '
          'CONFIG_FHANDLE, and run criu from a directory on a filesystem that supports file handles',
          False),
    Probe('unaligned_vmsplice', None, REQUIRED, tty_ipc.unaligned_vmsplice, '3.6', (),
          'upgrade to a kernel >= 3.6 (vmsplice with SPLICE_F_GIFT on unaligned buffers)', False),
    Probe('tty', None, REQUIRED, tty_ipc.tty, '2.6', ('CONFIG_UNIX98_PTYS',),
          'make /dev/ptmx usable (CONFIG_UNIX98_PTYS=y and a devpts mount with a ptmx node)', False),
    Probe('so_gets', None, REQUIRED, sockets.so_gets, '3.8', (),
          'upgrade to a kernel >= 3.8 (SO_GET_FILTER and SO_BINDTODEVICE readable)', False),
    Probe('ipc', None, REQUIRED, proc.ipc, '3.8', (_CR, 'CONFIG_SYSVIPC', 'CONFIG_SYSVIPC_SYSCTL'),
          _KERNEL_CR + ' and CONFIG_SYSVIPC, and give criu a writable /proc/sys '
          '(kernel/sem_next_id)', False),
    Probe('sigqueuinfo', None, REQUIRED, tty_ipc.sigqueuinfo, '3.9', (),
          'upgrade to a kernel >= 3.9 (rt_sigqueueinfo with a positive si_code to itself)', False),
    Probe('ptrace_peeksiginfo', None, REQUIRED, ptrace.ptrace_peeksiginfo, '3.11', (),
          'upgrade to a kernel >= 3.11 and allow ptrace of own children '
          '(kernel.yama.ptrace_scope <= 1, or CAP_SYS_PTRACE)', False, lib='ptrace'),
    Probe('special_mapping_mremap', None, REQUIRED, memory.special_mapping_mremap, '4.8', (),
          'upgrade to a kernel that can mremap the vDSO and other special mappings '
          '(x86 >= 4.8, arm64 >= 4.14)', False),

    # ---- Category 2: --extra
    Probe('prctl_cat2', None, EXTRA, proc.prctl_cat2, '3.18', (_CR,),
          _KERNEL_CR + ' >= 3.18 (PR_SET_MM_MAP_SIZE)', False),
    Probe('seccomp_suspend', 'seccomp_suspend', EXTRA, ptrace.seccomp_suspend, '4.3',
          (_CR, 'CONFIG_SECCOMP'),
          'use a kernel >= 4.3 with CONFIG_SECCOMP and CONFIG_CHECKPOINT_RESTORE, run criu as root '
          'with CAP_SYS_ADMIN and not itself under a seccomp filter '
          '(e.g. --security-opt seccomp=unconfined)', False, lib='ptrace'),
    Probe('seccomp_filters', 'seccomp_filters', EXTRA, ptrace.seccomp_filters, '4.4',
          (_CR, 'CONFIG_SECCOMP_FILTER'),
          'use a kernel >= 4.4 with CONFIG_SECCOMP_FILTER and CONFIG_CHECKPOINT_RESTORE, and run '
          'criu with CAP_SYS_ADMIN outside any seccomp filter', False, lib='ptrace'),
    Probe('mem_dirty_track', 'mem_dirty_track', EXTRA, memory.mem_dirty_track, '3.11',
          ('CONFIG_MEM_SOFT_DIRTY',),
          'boot a kernel built with CONFIG_MEM_SOFT_DIRTY=y (not available on arm64); without it '
          'pre-dump, pre-copy and --track-mem do not work', True),
    Probe('posix_timers', None, EXTRA, proc.posix_timers, '3.10', (_CR, 'CONFIG_POSIX_TIMERS'),
          _KERNEL_CR + ' and CONFIG_POSIX_TIMERS (/proc/PID/timers)', False),
    Probe('tun_cr', None, EXTRA, netlink.tun_cr, '3.8', ('CONFIG_TUN',),
          'enable CONFIG_TUN (or modprobe tun) so that /dev/net/tun supports TUNSETIFINDEX', False),
    Probe('timerfd', 'timerfd', EXTRA, proc.timerfd, '3.17', (_CR, 'CONFIG_TIMERFD'),
          _KERNEL_CR + ' >= 3.17 (TFD_IOC_SET_TICKS)', False),
    Probe('mnt_id', 'mnt_id', EXTRA, proc.mnt_id, '3.15', (),
          'upgrade to a kernel >= 3.15 (mnt_id in /proc/PID/fdinfo)', False),
    Probe('aio_remap', 'aio_remap', EXTRA, memory.aio_remap, '3.19', ('CONFIG_AIO',),
          'use a kernel >= 3.19 with CONFIG_AIO=y, and keep fs.aio-max-nr above fs.aio-nr', False),
    Probe('fdinfo_lock', 'fdinfo_lock', EXTRA, proc.fdinfo_lock, '4.1', ('CONFIG_FILE_LOCKING',),
          'upgrade to a kernel >= 4.1 (lock: lines in /proc/PID/fdinfo)', False),
    Probe('clone_parent_vs_pid', None, EXTRA, mounts.clone_parent_vs_pid, '3.13', ('CONFIG_PID_NS',),
          'run criu with CAP_SYS_ADMIN outside a PID-namespace init, on a kernel other than 3.12 '
          'with CONFIG_PID_NS=y', False),
    Probe('cgroupns', 'cgroupns', EXTRA, proc.cgroupns, '4.6', ('CONFIG_CGROUPS',),
          'upgrade to a kernel >= 4.6 with cgroup namespaces (CONFIG_CGROUPS=y)', False),
    Probe('tcp_window', None, EXTRA, sockets.tcp_window, '4.8', ('CONFIG_INET',),
          'run criu with CAP_NET_ADMIN on a kernel >= 4.8 (TCP_REPAIR_WINDOW)', False),
    Probe('tcp_half_closed', 'tcp_half_closed', EXTRA, sockets.tcp_half_closed, '4.10', ('CONFIG_INET',),
          'run criu with CAP_NET_ADMIN on a kernel >= 4.10 (TCP_REPAIR on half-closed sockets)', False),
    Probe('userns', 'userns', EXTRA, proc.userns, '3.18', ('CONFIG_USER_NS', _CR),
          'enable CONFIG_USER_NS and CONFIG_CHECKPOINT_RESTORE on a kernel >= 3.18', False),
    Probe('loginuid', 'loginuid', EXTRA, proc.loginuid, '3.13', ('CONFIG_AUDITSYSCALL',),
          'run criu as root with CAP_AUDIT_CONTROL on a kernel with CONFIG_AUDITSYSCALL=y and a '
          'mutable loginuid (audit=1 without loginuid_immutable)', False),
    Probe('can_map_vdso', 'can_map_vdso', EXTRA, memory.can_map_vdso, '4.9', ('CONFIG_IA32_EMULATION',),
          'on x86_64 use a kernel >= 4.9 with CONFIG_IA32_EMULATION (arch_prctl ARCH_MAP_VDSO_32); '
          'elsewhere criu falls back to mremap of the vDSO', False),
    Probe('uffd', 'uffd', EXTRA, memory.uffd, '4.3', ('CONFIG_USERFAULTFD',),
          'enable CONFIG_USERFAULTFD, and run criu as root without --unprivileged (which never probes '
          'userfaultfd), with CAP_SYS_PTRACE or sysctl vm.unprivileged_userfaultfd=1', False),
    Probe('uffd-noncoop', 'uffd-noncoop', EXTRA, memory.uffd_noncoop, '4.11', ('CONFIG_USERFAULTFD',),
          'use a kernel >= 4.11 with CONFIG_USERFAULTFD (fork, remap, remove and unmap events) and '
          'the privileges that uffd needs', False),
    Probe('sk_ns', 'sk_ns', EXTRA, sockets.sk_ns, '4.9', ('CONFIG_NET_NS',),
          'run criu as root (not --unprivileged) with CAP_NET_ADMIN on a kernel >= 4.9 (SIOCGSKNS)',
          False),
    Probe('kcmp_epoll', 'kcmp_epoll', EXTRA, proc.kcmp_epoll, '4.13', (_CR, 'CONFIG_KCMP'),
          _KERNEL_CR + ' >= 4.13 (kcmp KCMP_EPOLL_TFD)', False),
    Probe('net_diag_raw', 'net_diag_raw', EXTRA, sockets.net_diag_raw, '4.10', ('CONFIG_INET_RAW_DIAG',),
          'enable CONFIG_INET_RAW_DIAG (or modprobe raw_diag)', False, lib='pyroute2'),
    Probe('clone3_set_tid', 'clone3_set_tid', EXTRA, proc.clone3_set_tid, '5.5', (),
          'upgrade to a kernel >= 5.5 (clone3 with set_tid)', False),
    Probe('timens', 'timens', EXTRA, proc.timens, '5.6', ('CONFIG_TIME_NS',),
          'use a kernel >= 5.6 with CONFIG_TIME_NS=y', False),
    Probe('newifindex', 'newifindex', EXTRA, netlink.newifindex, '5.13', (),
          'run criu as root or with CAP_NET_ADMIN on a kernel >= 5.13 (IFLA_NEW_IFINDEX)', False, lib='pyroute2'),
    Probe('pidfd_store', 'pidfd_store', EXTRA, proc.pidfd_store, '5.6', (),
          'upgrade to a kernel >= 5.6 (pidfd_open and pidfd_getfd)', False),
    Probe('ns_pid', 'ns_pid', EXTRA, proc.ns_pid, '4.1', ('CONFIG_PID_NS',),
          'upgrade to a kernel >= 4.1 (NSpid in /proc/PID/status)', False),
    Probe('network_lock_nftables', 'network_lock_nftables', EXTRA, netlink.network_lock_nftables, '',
          ('CONFIG_NF_TABLES', 'CONFIG_NF_TABLES_INET'),
          'enable CONFIG_NF_TABLES and CONFIG_NF_TABLES_INET, install libnftables (python3-nftables '
          'or nft), and run criu as root', False),
    Probe('sockopt_buf_lock', 'sockopt_buf_lock', EXTRA, sockets.sockopt_buf_lock, '5.14', (),
          'upgrade to a kernel >= 5.14 (SO_BUF_LOCK)', False),
    Probe('memfd_hugetlb', 'memfd_hugetlb', EXTRA, memory.memfd_hugetlb, '4.14',
          ('CONFIG_MEMFD_CREATE', 'CONFIG_HUGETLBFS'),
          'use a kernel >= 4.14 with CONFIG_HUGETLBFS=y (memfd_create MFD_HUGETLB)', False),
    Probe('move_mount_set_group', 'move_mount_set_group', EXTRA, mounts.move_mount_set_group, '5.15', (),
          'run criu as root on a kernel >= 5.15 (MOVE_MOUNT_SET_GROUP, needed for mount-v2)', False),
    Probe('openat2', 'openat2', EXTRA, proc.openat2, '5.6', (),
          'upgrade to a kernel >= 5.6 (openat2)', False),
    Probe('get_rseq_conf', 'get_rseq_conf', EXTRA, ptrace.get_rseq_conf, '5.13', ('CONFIG_RSEQ',),
          'use a kernel >= 5.13 with CONFIG_RSEQ (PTRACE_GET_RSEQ_CONFIGURATION), or run programs '
          'with GLIBC_TUNABLES=glibc.pthread.rseq=0', False, lib='ptrace'),
    Probe('ipv6_freebind', 'ipv6_freebind', EXTRA, sockets.ipv6_freebind, '4.15', ('CONFIG_IPV6',),
          'upgrade to a kernel >= 4.15 (IPV6_FREEBIND)', False),
    Probe('pagemap_scan', 'pagemap_scan', EXTRA, memory.pagemap_scan, '6.8',
          ('CONFIG_PROC_PAGE_MONITOR',),
          'use a kernel >= 6.8 with CONFIG_PROC_PAGE_MONITOR (PAGEMAP_SCAN with the soft-dirty '
          'category, accepted even without CONFIG_MEM_SOFT_DIRTY)', False),
    Probe('overlayfs_maps', 'overlayfs_maps', EXTRA, mounts.overlayfs_maps, '6.8', ('CONFIG_OVERLAY_FS',),
          'use an upstream kernel with CONFIG_OVERLAY_FS whose /proc/PID/maps shows the real '
          'dev:ino of overlay files (avoid Ubuntu kernels with the overlayfs maps bug)', False),
    Probe('timer_cr_ids', 'timer_cr_ids', EXTRA, proc.timer_cr_ids, '6.15', ('CONFIG_POSIX_TIMERS',),
          'upgrade to a kernel >= 6.15 (PR_TIMER_CREATE_RESTORE_IDS)', False),
    Probe('pagemap_scan_guard_pages', 'pagemap_scan_guard_pages', EXTRA,
          memory.pagemap_scan_guard_pages, '6.16', ('CONFIG_PROC_PAGE_MONITOR',),
          'upgrade to a kernel whose PAGEMAP_SCAN reports PAGE_IS_GUARD (about 6.16)', False),
    Probe('apparmor_stacking', 'apparmor_stacking', EXTRA, mounts.apparmor_stacking, '4.14',
          ('CONFIG_SECURITY_APPARMOR',),
          'use a kernel whose AppArmor supports stacking (domain version >= 1.2) and make '
          '/sys/kernel/security readable', False),

    # ---- Category 3: --experimental
    Probe('autofs', 'autofs', EXPERIMENTAL, mounts.autofs, '4.6', ('CONFIG_AUTOFS_FS',),
          'enable CONFIG_AUTOFS_FS (or modprobe autofs4) on a kernel >= 4.6 and run criu with '
          'CAP_SYS_ADMIN', False),
    Probe('compat_cr', 'compat_cr', EXPERIMENTAL, memory.compat_cr, '4.12', ('CONFIG_IA32_EMULATION',),
          'on x86_64 use a kernel >= 4.12 with CONFIG_IA32_EMULATION=y', False),

    # ---- "Category 4, optional": always runs, never changes the verdict
    Probe('breakpoints', 'breakpoints', OPTIONAL, ptrace.breakpoints, '', ('CONFIG_HAVE_HW_BREAKPOINT',),
          'use bare metal or a hypervisor that virtualises debug registers (x86_64 or arm64); '
          'criu then falls back to slower software breakpoints', False, lib='ptrace'),

    # ---- reachable only with criu check --feature NAME
    Probe('tun', 'tun', FEATURE_ONLY, netlink.tun, '3.8', ('CONFIG_TUN',),
          'enable CONFIG_TUN (or modprobe tun) and make /dev/net/tun available', False),
    Probe('tun_ns', 'tun_ns', FEATURE_ONLY, netlink.tun_ns, '4.16', ('CONFIG_TUN',),
          'enable CONFIG_TUN and run criu with CAP_NET_ADMIN on a kernel >= 4.16 (SIOCGSKNS on tun)',
          False),
    Probe('sk_unix_file', 'sk_unix_file', FEATURE_ONLY, sockets.sk_unix_file, '4.17', ('CONFIG_UNIX',),
          'run criu as root (not --unprivileged) with CAP_NET_ADMIN on a kernel >= 4.17 '
          '(SIOCUNIXFILE)', False),
    Probe('nsid', 'nsid', FEATURE_ONLY, netlink.nsid, '4.0', ('CONFIG_NET_NS',),
          'upgrade to a kernel >= 4.0 (RTM_GETNSID)', False, lib='pyroute2'),
    Probe('link_nsid', 'link_nsid', FEATURE_ONLY, netlink.link_nsid, '4.0', ('CONFIG_NET_NS', 'CONFIG_VETH'),
          'run criu as root with CAP_SYS_ADMIN on a kernel >= 4.0 with CONFIG_VETH '
          '(IFLA_LINK_NETNSID)', False, lib='pyroute2'),
    Probe('external_net_ns', 'external_net_ns', FEATURE_ONLY, userland.external_net_ns, '', (),
          'install criu >= 3.9', False),
    Probe('nftables', 'nftables', FEATURE_ONLY, userland.nftables, '', ('CONFIG_NF_TABLES',),
          'install libnftables (python3-nftables) or the nft tool, and a criu built with libnftables',
          False),
    Probe('has_ipt_legacy', 'has_ipt_legacy', FEATURE_ONLY, userland.has_ipt_legacy, '', (),
          'install the legacy iptables binaries (iptables-legacy-save, ip6tables-legacy-save)', False),
)

BY_ID = dict((p.id, p) for p in PROBES)


def ids(category=None):
    """Probe ids in criu's order, all of them or those of one category."""
    return [p.id for p in PROBES if category is None or p.category == category]


def feature_list():
    """Every name ``feature`` accepts, with its category: criu's 45 names and
    our ids for the checks criu runs without a name."""
    return [{'name': p.id, 'category': p.category, 'criu_feature': p.criu_name} for p in PROBES]
