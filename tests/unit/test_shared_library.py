# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lookup of a library's soname in the dynamic linker's cache: libnftables
for the nftables probe, libc for python-ptrace (the real cache and
ctypes.util.find_library() are compared in tests/system/test_probes_userland.py
and tests/system/test_library_imports.py)."""

import ctypes.util

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _deps as U

# The shape of /etc/ld.so.cache: NUL-terminated sonames and paths among binary data.
CACHE = (b'glibc-ld.so.cache1.1\0\x03\x00libcap.so.2\0/lib/x86_64-linux-gnu/libcap.so.2\0'
         b'libnftables.so.1\0/lib/x86_64-linux-gnu/libnftables.so.1\0libxlibc.so.3\0libc.so.6\0\xff')


def test_the_soname_the_cache_holds(tmp_path, monkeypatch):
    cache = tmp_path / 'ld.so.cache'
    cache.write_bytes(CACHE)
    monkeypatch.setattr(U, 'LD_SO_CACHE', str(cache))
    assert U.shared_library('nftables') == 'libnftables.so.1'
    assert U.shared_library('cap') == 'libcap.so.2'
    assert U.shared_library('c') == 'libc.so.6'  # not the end of libxlibc.so.3


def test_a_library_the_cache_lacks_is_none_without_running_anything(tmp_path, monkeypatch):
    cache = tmp_path / 'ld.so.cache'
    cache.write_bytes(CACHE)
    monkeypatch.setattr(U, 'LD_SO_CACHE', str(cache))
    monkeypatch.setattr(ctypes.util, 'find_library', lambda name: 'must not be asked')
    assert U.shared_library('nft') is None
    assert U.shared_library('tables') is None


def test_without_a_cache_find_library_answers(tmp_path, monkeypatch):
    monkeypatch.setattr(U, 'LD_SO_CACHE', str(tmp_path / 'missing'))
    monkeypatch.setattr(ctypes.util, 'find_library', lambda name: 'lib%s.so.9' % name)
    assert U.shared_library('nftables') == 'libnftables.so.9'
