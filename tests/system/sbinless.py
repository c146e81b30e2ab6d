# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""A host without the sbin tools, for real: in a forked child (root), a
private mount namespace whose sbin directories are empty tmpfs mounts.

Tool lookup is Ansible's get_bin_path(), which always searches the sbin
directories after PATH; so "the tool is not installed" is made true, not
pretended, and nothing of it outlives the child."""

import ctypes
import os
import tempfile

from ansible_collections.criu.check.plugins.module_utils import _context

CLONE_NEWNS = 0x00020000
MS_BIND = 4096
MS_REC = 16384
MNT_DETACH = 2
MS_PRIVATE = 1 << 18
_LIBC = ctypes.CDLL(None, use_errno=True)


def _mount(source, target, fstype, flags, data=None):
    args = [v.encode() if isinstance(v, str) else v for v in (source, target, fstype, data)]
    if _LIBC.mount(args[0], args[1], args[2], ctypes.c_ulong(flags), args[3]) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'mount %s: %s' % (target, os.strerror(err)))


def hide_sbin(keep=('ldconfig',)):
    """Call in a forked child only: it changes the child's mount namespace.
    The tools in ``keep`` stay (ctypes.util.find_library runs ldconfig)."""
    if _LIBC.unshare(CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'unshare(CLONE_NEWNS): %s' % os.strerror(err))
    _mount(None, '/', None, MS_REC | MS_PRIVATE)
    for path in sorted(set(os.path.realpath(d) for d in _context.SBIN_DIRS if os.path.isdir(d))):
        saved = tempfile.mkdtemp(prefix='criu-check-sbin-')
        try:
            _mount(path, saved, None, MS_BIND)
            _mount('criu-check-no-sbin', path, 'tmpfs', 0, 'mode=0755')
            for name in keep:
                if os.path.exists(os.path.join(saved, name)):
                    open(os.path.join(path, name), 'w').close()
                    _mount(os.path.join(saved, name), os.path.join(path, name), None, MS_BIND)
            _LIBC.umount2(saved.encode(), MNT_DETACH)
        finally:
            os.rmdir(saved)
