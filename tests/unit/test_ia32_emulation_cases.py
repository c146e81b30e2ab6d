# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""How compat_cr reads ia32_emulation= from a kernel command line, as the
kernel does (each word in turn through kstrtobool()): command lines this
machine cannot be booted with.  The real boot, Debian's 7.2 with
ia32_emulation=0, is tests/vm/test_vm_variants.py::test_ia32_emulation_off;
the real seccomp filter (SIGSYS) tests/system/test_seccomp_outside_containers.py."""

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _probes_memory as M


@pytest.mark.parametrize('cmdline, word', [
    ('BOOT_IMAGE=/vmlinuz root=/dev/vda ia32_emulation=0 quiet', 'ia32_emulation=0'),
    ('ia32_emulation=n', 'ia32_emulation=n'),
    ('ia32_emulation=False', 'ia32_emulation=False'),
    ('ia32_emulation=off\n', 'ia32_emulation=off'),
    ('ia32_emulation=0 ia32_emulation=1', None),       # each in turn: the last valid one wins
    ('ia32_emulation=1 ia32_emulation=no', 'ia32_emulation=no'),
    ('ia32_emulation=on', None),
    ('ia32_emulation=y', None),
    ('ia32_emulation=', None),                          # kstrtobool(): EINVAL, the default stands
    ('ia32_emulation=maybe', None),
    ('ia32_emulation=0 ia32_emulation=maybe', 'ia32_emulation=0'),   # EINVAL changes nothing
    ('ia32_emulation=off ia32_emulation=On', None),
    ('root=/dev/sda1 ro', None),
    ('', None),
    ('xia32_emulation=0', None),
])
def test_ia32_emulation_word(cmdline, word):
    assert M._ia32_emulation_word(cmdline) == word
