# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of ptrace.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def ptrace_peeksiginfo(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def seccomp_suspend(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def seccomp_filters(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def get_rseq_conf(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def breakpoints(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

