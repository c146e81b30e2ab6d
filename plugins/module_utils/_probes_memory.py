# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Probes of memory, mappings, pagemap and userfaultfd.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.criu.check.plugins.module_utils import _result as R


def special_mapping_mremap(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def mem_dirty_track(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def aio_remap(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def can_map_vdso(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def uffd(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def uffd_noncoop(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def memfd_hugetlb(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def pagemap_scan(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def pagemap_scan_guard_pages(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')


def compat_cr(ctx):
    return R.unknown('PLACEHOLDER: not implemented yet')

