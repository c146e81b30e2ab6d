# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu's own words, and the names criu.check gives its verdicts.

PRIVATE to the criu.check collection: not a public API.

Shared by _decide, which decides the verdict and prints criu's sentences,
_installed_criu, which finds the same sentences in a real criu's output, and
the probes and modules that quote them.  It imports nothing, so that the
modules that run no probe (criu_smoke and the migration steps) get these
words without the probe registry behind _decide.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# The verdict of a category run: criu's three outcomes, and ours for what
# criu never has to say (_decide's docstring).
GOOD = 'good'
GOOD_BUT = 'good_but'
BAD = 'bad'
UNDECIDED = 'undecided'
VERDICTS = (GOOD, GOOD_BUT, BAD, UNDECIDED)

# criu's final sentences (criu/cr-check.c cr_check()).
LOOKS_GOOD = 'Looks good.'
DOES_NOT_LOOK_GOOD = 'Does not look good.'
LOOKS_GOOD_BUT = ('Looks good but some kernel features are missing\n'
                  'which, depending on your process tree, may cause\n'
                  'dump or restore failure.')

# What criu says when kerndat_init() fails and it runs no check at all (criu/crtools.c).
KERNDAT_FAILED = 'Could not initialize kernel features detection.'

# What criu says when it will not start at all (criu/crtools.c check_caps()).
NO_CAPS = 'CRIU needs to have the CAP_SYS_ADMIN or the CAP_CHECKPOINT_RESTORE capability'
NEEDS_UNPRIVILEGED = "Running as non-root requires '--unprivileged'"

# How a start-up step of _kerndat that failed names its source: _kerndat.describe() writes it after the call and
# its error; _decide.start_blocker_fix() and _installed_criu recognise it.
KERNDAT_STEP_SOURCE = '(criu/kerndat.c '

# Where a fix names the criu binary; _installed_criu puts the installed one's path in its place.
CRIU_BINARY = '$(command -v criu)'
