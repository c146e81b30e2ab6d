# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of sockets and sock_diag.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def sock_diag(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def sock_peek_off(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def tcp(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def so_gets(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def tcp_window(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def tcp_half_closed(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def sk_ns(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def net_diag_raw(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def sockopt_buf_lock(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def ipv6_freebind(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def sk_unix_file(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

