# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The test VMs' Python keeps what it compiles from zip archives, for the boot.

Installed by tests/tools/vm_build.sh into the VM image only (with a .pth
file that imports it when Python starts); never on a real host, and nothing
of it reaches the collection.

Why: Ansible runs every module from a zip (AnsiballZ) and Python's zipimport
keeps no bytecode, so each task compiles ansible-core's module_utils again.
Under TCG that is about 1.5 s of each task (a ``ping`` takes 2.9-3.8 s in the
guest, 1.3 s with this), which the migration tests between two VMs pay in
every one of their steps.  Here each module compiled from a zip is kept, keyed
by its source, its path inside the archive and the interpreter's cache tag,
in CACHE on the root disk, which the VMs boot as a snapshot: the cache lives
as long as the boot and no longer.  What a module does is unchanged; only its
compiling is skipped, as a __pycache__ directory would for a file on disk.
"""

import _imp
import marshal
import os
import sys
import zipimport

CACHE = '/var/cache/vm-zipimport-code'

_compile_source = zipimport._compile_source


def _cache_path(pathname, source):
    import hashlib  # only in processes that import from a zip
    inside = pathname.split('.zip' + os.sep, 1)[-1]  # the archive's own path is a new temporary one each run
    digest = hashlib.sha256(source)
    digest.update(b'\0'.join([b'', inside.encode('utf-8', 'surrogateescape'), sys.implementation.cache_tag.encode()]))
    return os.path.join(CACHE, digest.hexdigest())


def _compile_or_load(pathname, source):
    path = _cache_path(pathname, source)
    try:
        with open(path, 'rb') as f:
            code = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError):
        code = None
    if code is not None:
        _imp._fix_co_filename(code, pathname)  # as importlib does for bytecode found under another path
        return code
    code = _compile_source(pathname, source)
    try:
        os.makedirs(CACHE, exist_ok=True)
        partial = '%s.%d' % (path, os.getpid())
        with open(partial, 'wb') as f:
            f.write(marshal.dumps(code))
        os.replace(partial, path)
    except OSError:
        pass
    return code


zipimport._compile_source = _compile_or_load
