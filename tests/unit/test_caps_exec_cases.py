# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The rules by which a process that is not root gets capabilities from
execve() (security/commoncap.c), for the combinations one machine does not
offer at once: inheritable sets, bounding sets cut, attributes of each
revision.  The real cases (setcap on criu, a nosuid mount, no_new_privs, with
real criu as the oracle) are tests/system/test_criu_file_capabilities.py."""

import pytest

import conftest  # noqa: F401  # pylint: disable=unused-import

from ansible_collections.criu.check.plugins.module_utils import _caps

CR = 1 << _caps.CAP_CHECKPOINT_RESTORE
ADMIN = 1 << _caps.CAP_SYS_ADMIN
ALL = (1 << 41) - 1


@pytest.mark.parametrize('hexdata, parsed', [
    # setcap cap_checkpoint_restore+eip (what getfattr -n security.capability -e hex shows)
    ('0100000200000000000000000001000000010000', (CR, CR, True, None)),
    # cap_checkpoint_restore+p: no effective flag
    ('0000000200000000000000000001000000000000', (CR, 0, False, None)),
    # revision 1: one pair of 32-bit masks
    ('0100000100002000ffffffff', (ADMIN, 0xffffffff, True, None)),
    # revision 3 (a user namespace's setcap): the root uid follows
    ('01000003000000000000000000010000000000001027000000', None),     # one byte too many
    ('010000030000000000000000000100000000000010270000', (CR, 0, True, 10000)),
    ('0100000200000000000000000001000000010000ff', None),             # a size no revision has
    ('01000004000000000000000000010000', None),                       # an unknown revision
    ('', None),
])
def test_file_caps_reads_the_attribute_as_the_kernel(hexdata, parsed):
    assert _caps.file_caps(bytes.fromhex(hexdata)) == parsed


@pytest.mark.parametrize('sets, program, effective', [
    # (inheritable, permitted, bounding, ambient, no_new_privs)
    ((0, 0, ALL, 0, False), None, 0),                             # no file capabilities: the ambient set
    ((CR, CR, ALL, CR, False), None, CR),                         # setpriv --ambient-caps +checkpoint_restore
    ((0, CR, ALL, 0, False), None, 0),                            # permitted and effective, not ambient: lost
    ((0, 0, ALL, 0, False), (CR, CR, True, None), CR),            # setcap cap_checkpoint_restore+eip
    ((0, 0, ALL, 0, False), (CR, 0, False, None), 0),             # +p only: permitted, never effective
    ((0, 0, ALL, CR, False), (ADMIN, 0, True, None), ADMIN),      # a program with file caps drops the ambient set
    ((0, 0, ALL, 0, True), (CR, CR, True, None), 0),              # no_new_privs: nothing beyond what it had
    ((0, CR, ALL, 0, True), (CR, CR, True, None), CR),            # ... which may include it
    ((0, 0, ALL & ~CR, 0, False), (CR, 0, True, None), 0),        # the bounding set cuts a forced cap: EPERM
    ((0, 0, ALL & ~CR, 0, False), (CR, 0, False, None), 0),       # ... not forced: runs, without it
    ((CR, 0, 0, 0, False), (0, CR, True, None), CR),              # inheritable & file inheritable
    ((0, 0, 0, 0, False), (0, CR, True, None), 0),                # file inheritable alone gives nothing
])
def test_after_exec_follows_cap_bprm_creds_from_file(sets, program, effective):
    inheritable, permitted, bounding, ambient, no_new_privs = sets
    assert _caps.after_exec(inheritable, permitted, bounding, ambient, no_new_privs, program) == effective


@pytest.mark.parametrize('inheritable, bounding, program, cut', [
    (0, ALL & ~ADMIN, (CR | ADMIN, 0, True, None), ADMIN),     # forced, and the bounding set lacks one: not run
    (ADMIN, ALL & ~ADMIN, (CR | ADMIN, ADMIN, True, None), 0),  # ... unless the inheritable sets carry it
    (0, ALL & ~ADMIN, (CR | ADMIN, 0, False, None), 0),        # not forced: it runs, without it
    (0, ALL, (CR | ADMIN, 0, True, None), 0),                  # nothing cut
])
def test_cut_by_bounding_names_what_makes_the_kernel_refuse_the_program(inheritable, bounding, program, cut):
    assert _caps.cut_by_bounding(inheritable, bounding, program) == cut
