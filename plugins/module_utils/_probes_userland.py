# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of the installed userland tools (iptables, nftables).

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def external_net_ns(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def nftables(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def has_ipt_legacy(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

