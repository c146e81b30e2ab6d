# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""criu_options of criu_dump, criu_restore and the migrate role: the one table (module_utils/_criu_options.py), the
docs and the role's argument spec that repeat it, the command lines and the advice.  Real criu meets shell_job,
file_locks, ext_unix_sk and link_remap in tests/integration/test_migration_steps.py (criu 4.1.1), tcp_established
and tcp_close in tests/vm/test_vm_migration.py (criu 4.2.1); skip_in_flight only here."""

import os

import pytest
import yaml

from ansible_collections.criu.check.plugins.doc_fragments.criu import ModuleDocFragment
from ansible_collections.criu.check.plugins.module_utils import _criu_options as O
from ansible_collections.criu.check.plugins.module_utils import _smoke

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NAMES = [option.name for option in O.OPTIONS]


def test_the_doc_fragment_documents_each_option_as_the_table_has_it():
    doc = yaml.safe_load(ModuleDocFragment.CRIU_OPTIONS)['options']['criu_options']
    assert list(doc['suboptions']) == NAMES
    assert O.argument_spec()['options'] == dict((name, {'type': 'bool', 'default': False}) for name in NAMES)
    for option in O.OPTIONS:
        entry = doc['suboptions'][option.name]
        text = ' '.join(entry['description'] if isinstance(entry['description'], list) else [entry['description']])
        assert (entry['type'], entry['default']) == ('bool', False)
        assert 'C(%s)' % O.flag(option) in text, text
        assert ('dump only' in text) == (not option.restore), text


def test_the_migrate_role_takes_the_same_options():
    with open(os.path.join(REPO, 'roles', 'migrate', 'meta', 'argument_specs.yml')) as f:
        spec = yaml.safe_load(f)['argument_specs']['main']['options']['criu_migrate_criu_options']
    assert list(spec['options']) == NAMES
    for option in O.OPTIONS:
        assert 'C(%s)' % O.flag(option) in spec['options'][option.name]['description']


def test_the_flags_for_each_command():
    given = {'tcp_established': True, 'skip_in_flight': True, 'link_remap': True, 'file_locks': False}
    assert O.flags(given, 'dump') == O.flags(given, 'pre-dump') == [
        '--tcp-established', '--skip-in-flight', '--link-remap']
    assert O.flags(given, 'restore') == ['--tcp-established']
    assert O.flags(None, 'dump') == O.flags({}, 'restore') == []


@pytest.mark.parametrize('line, name', [
    ("inet: Connected TCP socket, consider using --tcp-established option.", 'tcp_established'),
    ('Need to set the --tcp-close options.', 'tcp_close'),
    ('inet: In-flight connection (l) for inode 1234 can be ignored with the --skip-in-flight option.', 'skip_in_flight'),
    ('Some file locks are hold by dumping tasks! You can try --file-locks to dump them.', 'file_locks'),
    ('The root process 4242 is not a session leader. Consider using --shell-job option', 'shell_job'),
    ('sk unix: External socket is used. Consider using --ext-unix-sk option.', 'ext_unix_sk'),
    ("Can't create link remap for /tmp/x. Use link-remap option.", 'link_remap'),
])
def test_what_criu_asks_for_is_named_as_the_option_to_set(line, name):
    """criu's own words for each option (the module docstring says where real criu meets them): the advice
    names the module's option, and says whether the restore needs it too."""
    hint = _smoke.advice(line)
    option = [o for o in O.OPTIONS if o.name == name][0]
    assert hint.startswith('criu needs %s for what this tree holds: set criu_options.%s: true on ' % (
        O.flag(option), name)), hint
    assert ('criu_dump and criu_restore alike' in hint) == option.restore, hint


def test_a_restore_without_the_option_its_images_need_is_refused(tmp_path):
    assert O.restore_problem(str(tmp_path), {}) is None
    (tmp_path / 'filelocks.img').write_bytes(b'')
    assert 'set criu_options.file_locks: true' in O.restore_problem(str(tmp_path), {'file_locks': False})
    assert O.restore_problem(str(tmp_path), {'file_locks': True}) is None


def test_what_an_option_says_the_tree_holds_is_something_criu_facts_name():
    """holds names ids of _installed_criu.CANNOT_DUMP (what _pair.decide() looks for in criu_facts.criu.cannot_dump);
    the TCP options say the tree holds network sockets."""
    from ansible_collections.criu.check.plugins.module_utils import _installed_criu
    known = set(limit['id'] for limit in _installed_criu.CANNOT_DUMP)
    assert set(i for option in O.OPTIONS for i in option.holds) <= known
    assert O.held({'tcp_established': True, 'tcp_close': True, 'file_locks': True}) == {
        'inet_sockets': ['tcp_established', 'tcp_close']}
    assert O.held(None) == O.held({'tcp_established': False}) == {}
