# -*- coding: utf-8 -*-
# Copyright (c) criu.check contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a probe returns.

PRIVATE to the criu.check collection: not a public API.

A probe is a function ``probe(ctx)`` that returns one of the dictionaries
built here.  It never prints and never decides the verdict; it says what it
saw.  ``message`` carries criu's own text where criu has one (for a
``pr_perror`` the text is followed by ``": " + strerror(errno)``, exactly as
criu prints it), ``evidence`` what was observed (errno names, values read),
and ``fix`` overrides the registry's fix hint when the probe knows better
(a missing library, a read-only /proc/sys).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

SUPPORTED = 'supported'
UNSUPPORTED = 'unsupported'
UNKNOWN = 'unknown'
NOT_APPLICABLE = 'not_applicable'
ERROR = 'error'

STATUSES = (SUPPORTED, UNSUPPORTED, UNKNOWN, NOT_APPLICABLE, ERROR)

# The evidence key not_probed() sets to False: criu does not make this check here.
CRIU_PROBES = 'criu_probes'

# The evidence key of a failure that makes criu's kerndat_init() abort (criu/kerndat.c), so that criu check cannot
# run at all: _decide.kerndat_blockers() reads it to say criu would not start.  KERNDAT_FATAL sets it:
# errno_evidence(err, **KERNDAT_FATAL).
KERNDAT_FLAG = 'criu_kerndat_fails'
KERNDAT_FATAL = {KERNDAT_FLAG: True}


def _result(status, message, evidence, fix):
    result = {'status': status, 'message': message or '', 'evidence': evidence or {}}
    if fix:
        result['fix'] = fix
    return result


def supported(evidence=None, message=None):
    return _result(SUPPORTED, message, evidence, None)


def unsupported(message, evidence=None, fix=None):
    return _result(UNSUPPORTED, message, evidence, fix)


def not_probed(message, evidence=None, fix=None):
    """Unsupported as criu reads a check it does not make here (--unprivileged
    skips its kerndat step: the feature reads false whatever the kernel
    says).  ``criu_probes: False`` in the evidence tells the readers of a
    verdict (the kernel config's conflicts) that the kernel was not asked;
    its answer, when the probe found it another way, is evidence only."""
    return unsupported(message, dict(evidence or {}, **{CRIU_PROBES: False}), fix)


def unknown(message, evidence=None, fix=None):
    return _result(UNKNOWN, message, evidence, fix)


def not_applicable(message, evidence=None):
    return _result(NOT_APPLICABLE, message, evidence, None)


def error(message, evidence=None):
    return _result(ERROR, message, evidence, None)


def errno_name(err):
    """``EROFS`` for 30; the number as text when Python has no name for it."""
    return errno.errorcode.get(err, str(err))


def perror(text, err):
    """criu's ``pr_perror(text)``: the text, a colon, and strerror(errno)."""
    return '%s: %s' % (text, os.strerror(err))


def errno_evidence(err, **extra):
    """Evidence for a failed call: the errno by number and by name."""
    evidence = {'errno': err, 'errno_name': errno_name(err)}
    evidence.update(extra)
    return evidence


def is_not_probed(result):
    """Whether ``result`` is criu's reading of a check it does not make (not_probed())."""
    return (result.get('evidence') or {}).get(CRIU_PROBES) is False
