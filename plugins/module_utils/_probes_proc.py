# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of procfs, fdinfo, prctl and plain system calls.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def map_files(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def ns_last_pid(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def kcmp(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def prctl_cat1(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def fcntl(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def proc_stat(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def fdinfo_ext(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def ipc(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def prctl_cat2(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def posix_timers(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def timerfd(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def mnt_id(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def fdinfo_lock(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def cgroupns(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def userns(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def loginuid(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def kcmp_epoll(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def clone3_set_tid(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def timens(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def pidfd_store(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def ns_pid(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def openat2(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def timer_cr_ids(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

