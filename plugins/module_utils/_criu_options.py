# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu's options for what a dumped tree holds (criu_options of criu_dump and criu_restore, and of the migrate
role): the one table, which the modules' argument specs, the command lines and the advice on a dump that needs one
are made from.

PRIVATE to the criu.check collection: not a public API.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re

# A row: name, the option's key in criu_options, whose flag is criu's long option of that name (tcp_established:
# --tcp-established); asks, how criu's failed dump asks for it (criu's words, seen in the tests where marked, else
# from criu's source); restore, whether criu restore must be given it too (criu records only --tcp-close in the
# images, and then asks for it again; a dump-only option is one whose result the images carry); image, the image
# criu writes only with the option, whose restore without it criu lets pass silently (the file locks are then not
# taken again: seen), else None; holds, what the option says the tree holds, as ids of
# criu_facts.criu.cannot_dump (_installed_criu.CANNOT_DUMP, which a test keeps these in): a migration with it is
# refused where the source's criu cannot dump that (_pair.decide()).
Option = collections.namedtuple('Option', 'name asks restore image holds')
Option.__new__.__defaults__ = (True, None, ())

OPTIONS = (
    # criu/sk-inet.c dump_one_inet_fd() (the spec's and the fleet's most common refusal; seen with criu 4.2.1, in
    # the VMs' migration test).
    Option(name='tcp_established', asks='Connected TCP socket, consider using --tcp-established',
           holds=('inet_sockets',)),
    # Established connections dumped and restored closed (criu/image.c asks at restore: "Need to set the
    # --tcp-close options").
    Option(name='tcp_close', asks='Need to set the --tcp-close options', holds=('inet_sockets',)),
    # criu/sk-inet.c: a connection not yet accepted ("In-flight connection ... --skip-in-flight").
    Option(name='skip_in_flight', asks='--skip-in-flight', restore=False, holds=('inet_sockets',)),
    # criu/file-lock.c (seen: a process holding flock()).
    Option(name='file_locks', asks='You can try --file-locks to dump them', image='filelocks.img'),
    # criu/pstree.c (seen: a process that is not its session's leader, started from a shell or a script).
    Option(name='shell_job', asks='Consider using --shell-job option'),
    # criu/sk-unix.c (seen: a datagram socket connected to one bound outside the tree, which criu restores without
    # the option, connected to that name again: the images mark the socket external).
    Option(name='ext_unix_sk', asks='Consider using --ext-unix-sk option', restore=False),
    # criu/files-reg.c (seen: a file open under a removed name, linked under another; criu links it as
    # link_remap.N beside it, which the restore, without the option, removes).
    Option(name='link_remap', asks='Use link-remap option', restore=False),
)


NAMES = tuple(option.name for option in OPTIONS)


def flag(option):
    """criu's flag for ``option``."""
    return '--' + option.name.replace('_', '-')


# What a failed dump asks for, in criu's words: advice() below.
ASKS = re.compile('|'.join(re.escape(option.asks) for option in OPTIONS))


def argument_spec():
    """The criu_options entry of an argument spec: every option a bool, false by default."""
    return dict(type='dict', default={}, apply_defaults=True,
                options=dict((option.name, dict(type='bool', default=False)) for option in OPTIONS))


def flags(options, action):
    """criu's flags for ``options`` (the module's criu_options) for ``action`` (dump, pre-dump, restore)."""
    options = options or {}
    return [flag(option) for option in OPTIONS if options.get(option.name) and (action != 'restore' or option.restore)]


def check(options):
    """Why ``options`` (criu_options, as the migrate role passes them to a filter) are not valid, naming what is;
    None when they are."""
    if options is None:
        return None
    valid = ', '.join(NAMES)
    if not isinstance(options, dict):
        return 'criu_options must be a dictionary of %s (each true or false), not %s' % (valid, type(options).__name__)
    unknown = sorted('%s' % (name,) for name in options if name not in NAMES)
    if unknown:
        return 'unknown criu_options: %s (valid: %s)' % (', '.join(unknown), valid)
    wrong = sorted(name for name, value in options.items() if not isinstance(value, bool))
    if wrong:
        return 'criu_options.%s must be true or false' % wrong[0]
    return None


def held(options):
    """{cannot_dump id: [the options of ``options`` that say the tree holds it]}."""
    out = {}
    for option in OPTIONS:
        if (options or {}).get(option.name):
            for limit in option.holds:
                out.setdefault(limit, []).append(option.name)
    return out


def restore_problem(images_dir, options):
    """Why criu restore of ``images_dir`` must not run with ``options`` (the module's criu_options): images that
    only an option writes, and that criu would restore without it silently, as if there were none; or None."""
    options = options or {}
    for option in OPTIONS:
        if option.image and not options.get(option.name) and os.path.exists(os.path.join(images_dir, option.image)):
            return ('the images hold what criu dumps only with %s (%s), and criu restore without it leaves that out '
                    'silently: set criu_options.%s: true, as on criu_dump' % (flag(option), option.image, option.name))
    return None


def advice(said):
    """What to set for the dump that failed with ``said`` (what ASKS matched)."""
    option = [entry for entry in OPTIONS if entry.asks == said][0]
    where = ('criu_dump and criu_restore alike (criu restore needs it too)' if option.restore else
             'criu_dump')
    return ('criu needs %s for what this tree holds: set criu_options.%s: true on %s, or %s: true in the migrate '
            "role's criu_migrate_criu_options" % (flag(option), option.name, where, option.name))
