# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the running kernel is, read independently of the probes, so that the
system tests can check the probes' answers against it."""

import gzip
import os

import pytest


def config():
    """The running kernel's configuration; skips the test when there is none."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            return f.read()
    except OSError:
        pytest.skip('no /proc/config.gz to check against')


def config_on(option):
    return ('\n%s=y\n' % option) in ('\n' + config())


def kconfig(name):
    """The value of one option ('y', 'm', 'n'), or None without /proc/config.gz."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            for line in f:
                if line.startswith(name + '='):
                    return line.strip().split('=', 1)[1]
    except OSError:
        return None
    return 'n'


def version():
    """(major, minor) of the running kernel."""
    return tuple(int(x) for x in os.uname().release.split('-')[0].split('.')[:2])


def options():
    """Every CONFIG_* value of the running kernel ('n' for "is not set"), or
    None without /proc/config.gz."""
    try:
        with gzip.open('/proc/config.gz', 'rt') as f:
            text = f.read()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        if line.startswith('CONFIG_'):
            key, dummy, value = line.partition('=')
            values[key] = value
        elif line.startswith('# CONFIG_') and line.endswith(' is not set'):
            values[line[2:-len(' is not set')]] = 'n'
    return values


def symbols():
    """The kernel's symbols (/proc/kallsyms names): a syscall exists when its
    entry point does."""
    with open('/proc/kallsyms') as f:
        return set(line.split()[2] for line in f)
