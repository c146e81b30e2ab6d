# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of namespaces, mounts and LSM.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def clone_parent_vs_pid(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def move_mount_set_group(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def overlayfs_maps(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def apparmor_stacking(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def autofs(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

