# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Workloads: a name an operator can require, and the probes it needs.

PRIVATE to the criu.check collection: not a public API.

The one list of built-in workloads; the require role and the criu_unmet
filter take it from here (``criu_require_custom_workloads`` adds to it or
redefines an entry).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

BUILTIN = {
    # pre-copy live migration (criu pre-dump, --track-mem)
    'precopy_migration': ['mem_dirty_track'],
    # lazy (post-copy) migration (criu restore --lazy-pages, page server)
    'lazy_migration': ['uffd', 'uffd-noncoop'],
    # containers under a seccomp profile (Docker, Podman, Kubernetes defaults)
    'seccomp_containers': ['seccomp_suspend', 'seccomp_filters'],
    # processes in user namespaces (rootless containers)
    'user_namespaces': ['userns'],
    # processes in network namespaces with their sockets and veth links
    'network_namespaces': ['sk_ns', 'nsid', 'link_nsid', 'newifindex'],
    # tun/tap devices (VPNs, slirp4netns, pasta)
    'tun_devices': ['tun', 'tun_ns', 'tun_cr'],
    # processes in time namespaces
    'time_namespaces': ['timens'],
    # programs linked with glibc >= 2.35 (rseq registered)
    'glibc_rseq': ['get_rseq_conf'],
    # established TCP connections (--tcp-established)
    'tcp_established': ['tcp_half_closed', 'tcp_window'],
    # the network lock with nftables (--network-lock nftables)
    'nftables_network_lock': ['network_lock_nftables'],
}

# What the installed criu must be able to dump for a workload besides its probes: ids of
# criu_facts.criu.cannot_dump (_installed_criu.CANNOT_DUMP, which a test keeps these in), listed there for a criu
# too old for its kernel.  Keyed by name: a workload redefined with criu_require_custom_workloads keeps them.
DUMPS = {
    # established TCP connections are IPv4 or IPv6 sockets
    'tcp_established': ['inet_sockets'],
}
