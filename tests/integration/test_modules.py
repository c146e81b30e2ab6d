# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The two modules through real Ansible on localhost: options, bad input,
exit semantics, check mode, and facts gathering; and the checks of the
migration step modules that need no real criu, each module run as Ansible
runs it on a host (its file with a JSON arguments file)."""

import base64
import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time

import pytest

import conftest
from conftest import direct
import process_list
import return_doc

ANSIBLE_BIN = os.path.dirname(sys.executable)

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(ANSIBLE_BIN, 'ansible')),
                                reason='ansible is not installed beside this Python')


def _env():
    env = dict(os.environ)
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': conftest.COLLECTIONS,
        'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
        'ANSIBLE_LOCALHOST_WARNING': '0',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
    })
    return env


def _run_playbook(directory, text, check=False):
    """Run a playbook on localhost; it writes JSON to {{ out }}; return (that JSON, rc)."""
    path = os.path.join(directory, 'play.yml')
    out = os.path.join(directory, 'out.json')
    with open(path, 'w') as f:
        f.write(textwrap.dedent(text))
    cmd = [os.path.join(ANSIBLE_BIN, 'ansible-playbook'), '-i', 'localhost,', '-c', 'local', '-e', 'out=' + out, path]
    proc = subprocess.run(cmd + (['--check'] if check else []), env=_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, cwd=directory, check=False)
    assert os.path.exists(out), proc.stdout + proc.stderr
    with open(out) as f:
        return json.load(f), proc.returncode


def adhoc(module, args='', check=False, python=None):
    """Run one module on localhost (with the Python ``python`` when given); return (its result, whether the
    task failed)."""
    play = """
        - hosts: all
          gather_facts: false
          tasks:
            - name: the module under test
              %s: %s
              register: r
              ignore_errors: true
              vars: %s
            - name: save the result
              ansible.builtin.copy:
                dest: "{{ out }}"
                content: "{{ r | to_json }}"
              check_mode: false
    """ % (module, json.dumps(args), json.dumps({'ansible_python_interpreter': python} if python else {}))
    with tempfile.TemporaryDirectory() as directory:
        result, rc = _run_playbook(directory, play, check)
    assert rc == 0
    return result, bool(result.get('failed'))


def playbook(tmp_path, text):
    result, rc = _run_playbook(str(tmp_path), text)
    assert rc == 0
    return result, rc


def test_unknown_feature_fails_listing_valid_names():
    result, rc = adhoc('criu.check.criu_check', 'feature=userns,nope')
    assert rc and result['failed']
    assert "unknown feature name 'nope'" in result['msg']
    assert 'uffd-noncoop' in result['msg'] and 'ns_last_pid' in result['msg']
    assert result['msg'].endswith(', list')   # feature=list is valid too


def test_unknown_category_fails_listing_valid_ones():
    result, rc = adhoc('criu.check.criu_facts', 'categories=required,bogus')
    assert rc and result['failed']
    assert 'categories' in result['msg'] and 'feature_only' in result['msg'] and 'bogus' in result['msg']


@pytest.mark.parametrize('module,args,needle', [
    ('criu.check.criu_check', 'feature=list,userns', "'list' returns the names and must be given alone"),
    ('criu.check.criu_check', 'timeout=abc', 'timeout'),
    ('criu.check.criu_check', 'extra=maybe', 'extra'),
    ('criu.check.criu_check', 'fail_on=sometimes', 'fail_on'),
    ('criu.check.criu_facts', 'timeout=0', 'timeout must be a positive number'),
    ('criu.check.criu_facts', 'timeout=nan', 'timeout must be a positive number of seconds, at most 86400 (a day), got nan'),
    ('criu.check.criu_smoke', 'timeout=inf', 'at most 86400 (a day), got inf'),
    ('criu.check.criu_cpuinfo', 'timeout=1e300', 'at most 86400 (a day), got 1e+300'),
    ('criu.check.criu_process', 'state=killed pids=12345 timeout=86400.5', 'at most 86400 (a day), got 86400.5'),
    ('criu.check.criu_facts', 'unprivileged=perhaps', 'unprivileged'),
    ('criu.check.criu_facts', 'no_such_option=1', 'no_such_option'),
])
def test_wrong_types_and_values_are_rejected(module, args, needle):
    result, rc = adhoc(module, args)
    assert rc and result['failed']
    assert needle in result['msg']
    assert 'ansible_facts' not in result


def test_feature_list_returns_every_name_with_its_category():
    result, rc = adhoc('criu.check.criu_check', 'feature=list')
    assert not rc and not result.get('changed')
    names = dict((f['name'], f['category']) for f in result['features'])
    assert len(names) == 67
    assert names['uffd-noncoop'] == 'extra' and names['tun'] == 'feature_only'
    assert names['ns_last_pid'] == 'required' and names['breakpoints'] == 'optional'
    assert len([f for f in result['features'] if f['criu_feature']]) == 45
    assert return_doc.mismatches(result, 'criu_check') == []


def test_criu_check_required_runs_required_and_optional_only():
    result, rc = adhoc('criu.check.criu_check', 'fail_on=never', check=True)
    assert not rc and result['changed'] is False
    assert set(e['category'] for e in result['probes'].values()) == {'required', 'optional'}
    assert len(result['probes']) == 18
    assert result['criu_rc'] in (0, 1) and result['verdict'] in ('good', 'good_but', 'bad')


def test_fail_on_policies_follow_the_verdict():
    never, rc = adhoc('criu.check.criu_check', 'all=true fail_on=never')
    assert not rc
    strict, strict_rc = adhoc('criu.check.criu_check', 'all=true')
    lenient, lenient_rc = adhoc('criu.check.criu_check', 'all=true fail_on=required')
    assert (strict_rc != 0) == (never['criu_rc'] != 0)
    assert (lenient_rc != 0) == (never['verdict'] == 'bad')
    if strict_rc:
        assert strict['msg'] == never['summary']
    assert return_doc.mismatches(never, 'criu_check', return_doc.CRIU_CHECK_NAMED) == []


@pytest.mark.parametrize('args,categories', [
    ('extra=true', {'required', 'optional', 'extra'}),
    ('experimental=true', {'required', 'optional', 'experimental'}),
    ('all=true', {'required', 'optional', 'extra', 'experimental'}),
])
def test_each_option_answers_for_its_categories(args, categories):
    # criu says the same words whether or not a category ran where all its probes pass, so count them
    result, rc = adhoc('criu.check.criu_check', args + ' fail_on=never')
    assert set(e['category'] for e in result['probes'].values()) == categories


@pytest.mark.parametrize('module, args', [('criu.check.criu_check', 'all=true timeout=0.001 fail_on=never'),
                                          ('criu.check.criu_facts', 'timeout=0.001')])
def test_the_timeout_reaches_the_probes(module, args):
    # 1 ms: which probes finish in it varies, and where the time runs out (the engine kills the probe, or the
    # probe's own wait for its child gives up), but not all finish (a worker's fork alone takes longer)
    result, failed = adhoc(module, args)
    facts = result['ansible_facts']['criu_facts'] if 'ansible_facts' in result else result
    out_of_time = re.compile(r'(did not finish within 0\.001 s|timed out after 0\.0 s|within the probe\'s 0\.0 s)')
    timed_out = [i for i, e in facts['probes'].items() if out_of_time.search(e['message'] or '')]
    assert timed_out and set(timed_out) <= set(facts['unknown']), [facts['probes'][i]['message'] for i in facts['unknown']]


@pytest.fixture(scope='module')
def python_without_libraries(tmp_path_factory):
    """A Python without pyroute2 and python-ptrace, as a managed node may have: the probes that need them
    cannot decide, sock_diag (required) among them."""
    venv = tmp_path_factory.mktemp('bare') / 'venv'
    subprocess.run(['/usr/bin/python3', '-m', 'venv', '--without-pip', str(venv)], check=True)
    return str(venv / 'bin' / 'python3')


@pytest.mark.skipif(not os.path.exists('/usr/bin/python3'), reason='needs /usr/bin/python3 for a bare venv')
def test_probes_that_cannot_decide_are_undecided_and_fail_what_is_required(python_without_libraries):
    result, failed = adhoc('criu.check.criu_check', 'all=true fail_on=never', python=python_without_libraries)
    assert not failed and result['probes']['sock_diag']['status'] == 'unknown', result['probes']['sock_diag']
    unknown = sorted(i for i, e in result['probes'].items() if e['status'] in ('unknown', 'error'))
    assert sorted(result['unknown']) == unknown
    assert result['verdict'] == 'undecided' and result['criu_rc'] == 1 and result['ready'] is False
    missing = dict((c, sorted(i for i, e in result['probes'].items() if e['status'] == 'unsupported'
                              and e['category'] == c)) for c in ('required', 'extra', 'experimental'))
    assert dict((c, sorted(ids)) for c, ids in result['missing'].items()) == missing
    strict, failed = adhoc('criu.check.criu_check', 'all=true fail_on=required', python=python_without_libraries)
    assert failed and strict['verdict'] == 'undecided'
    # a named probe that cannot decide is not known to be met either
    named, failed = adhoc('criu.check.criu_check', 'feature=sock_diag fail_on=required', python=python_without_libraries)
    assert list(named['probes']) == ['sock_diag'] and named['verdict'] == 'undecided'
    assert failed and named['msg'] == named['summary']


def test_single_feature_answers_like_criu_feature():
    result, rc = adhoc('criu.check.criu_check', 'feature=cgroupns fail_on=never')
    assert list(result['probes']) == ['cgroupns']
    if result['probes']['cgroupns']['status'] == 'supported':
        assert result['summary'] == 'cgroupns is supported' and result['criu_rc'] == 0


def test_criu_facts_returns_the_contract():
    result, rc = adhoc('criu.check.criu_facts', '', check=True)
    assert not rc and result['changed'] is False
    facts = result['ansible_facts']
    assert facts['criu_ready'] == facts['criu_facts']['ready']
    assert facts['criu_usable'] == facts['criu_facts']['usable']
    crf = facts['criu_facts']
    for key in ('ready', 'verdict', 'summary', 'required', 'extra', 'experimental', 'optional', 'feature_only',
                'missing', 'unknown', 'probes', 'kernel', 'environment', 'criu'):
        assert key in crf, key
    assert len(crf['probes']) == 67
    assert crf['kernel']['release'] == os.uname().release
    assert crf['environment']['unprivileged'] is False    # criu's own default, as root would run it


def test_facts_through_gather_facts_and_usable_in_when(tmp_path):
    out, rc = playbook(tmp_path, """
        - hosts: all
          gather_facts: true
          vars:
            ansible_facts_modules: [setup, criu.check.criu_facts]
          tasks:
            - name: branch on a fact
              ansible.builtin.copy:
                dest: "{{ out }}"
                content: "{{ {'kernel': ansible_facts.kernel, 'cgroupns': ansible_facts.criu_facts.extra.cgroupns,
                              'ready': ansible_facts.criu_ready} | to_json }}"
              when: ansible_facts.criu_facts.probes.cgroupns.status is defined
    """)
    assert out['kernel'] == os.uname().release
    assert isinstance(out['cgroupns'], bool) and isinstance(out['ready'], bool)


# ---------------------------------------------------------------- the step modules, run as Ansible runs them


def _tar_b64(*members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode='w:gz') as tar:
        for name, linkname in members:
            info = tarfile.TarInfo(name)
            if linkname is None:
                info.size = 1
                tar.addfile(info, io.BytesIO(b'x'))
            else:
                info.type, info.linkname = tarfile.SYMTYPE, linkname
                tar.addfile(info)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize('members,needle', [
    ([('a', '/outside'), ('a/x', None)], "'a' is a symbolic link"),
    ([('restore.log', '/tmp/victim')], "'restore.log' is a symbolic link"),
    ([('parent', '../1'), ('parent/x', None)], "goes through the symbolic link 'parent'"),
])
def test_criu_images_check_mode_refuses_what_the_run_refuses(tmp_path, members, needle):
    content = _tar_b64(*members)
    for check in (True, False):
        result = direct('criu_images', {'state': 'unpacked', 'path': str(tmp_path / 'u'), 'content': content}, check)
        assert result.get('failed') is True and needle in result['msg'], (check, result)
        assert not result.get('changed')
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('check', [True, False])
@pytest.mark.parametrize('state', ['packed', 'unpacked'])
def test_criu_images_refuses_an_empty_path(tmp_path, state, check):
    """Check mode said it would unpack into "", which the run refused when it came to write."""
    args = {'state': state, 'path': ''}
    if state == 'unpacked':
        args['content'] = _tar_b64(('inventory.img', None))
    result = direct('criu_images', args, check=check, cwd=str(tmp_path))
    assert result.get('failed') is True and not result.get('changed'), result
    assert result['msg'] == ("path must name the images directory (absolute, or relative to the module's working "
                             "directory), got ''"), result
    assert os.listdir(str(tmp_path)) == []


def test_criu_images_packs_only_what_it_can_unpack(tmp_path):
    with conftest.images_dir_with_special_files(tmp_path / 'src') as src:
        (src / 'inventory.img').write_bytes(b'i')
        packed = direct('criu_images', {'path': str(src)})
    assert not packed.get('failed') and packed['changed'] is False, packed
    assert packed['files'] == ['inventory.img']
    assert packed['not_packed'] == ['fifo (a FIFO)', 'lazy-pages.socket (a socket)']
    assert 'fifo (a FIFO), lazy-pages.socket (a socket)' in json.dumps(packed['warnings'])   # a str or a summary
    assert return_doc.mismatches(packed, 'criu_images') == []
    unpacked = direct('criu_images', {'state': 'unpacked', 'path': str(tmp_path / 'dst'), 'content': packed['content']})
    assert unpacked['changed'] is True and unpacked['files'] == packed['files'], unpacked


@pytest.fixture
def fake_criu(tmp_path):
    """An executable named criu that does nothing: the step modules get past finding criu, and in check mode
    run nothing (what needs the real one runs in the Debian 13 root, tests/integration/test_migration_steps.py)."""
    path = tmp_path / 'bin' / 'criu'
    path.parent.mkdir()
    path.write_text('#!/bin/sh\nexit 0\n')
    path.chmod(0o755)
    return str(path)


@pytest.fixture
def sleeper():
    """A process that is neither this test nor one of its ancestors."""
    proc = subprocess.Popen(['sleep', '120'], stdin=subprocess.DEVNULL, start_new_session=True)
    yield proc.pid
    proc.kill()
    proc.wait()


def test_a_relative_images_dir_is_made_absolute(tmp_path, fake_criu, sleeper):
    """criu runs in images_dir and gets -D images_dir: a relative one was looked up inside itself."""
    work = tmp_path / 'work'
    (work / 'rel').mkdir(parents=True)
    absolute = str(work / 'rel')
    dump = direct('criu_dump', {'pid': sleeper, 'images_dir': 'rel', 'criu_path': fake_criu}, check=True, cwd=str(work))
    ps = direct('criu_page_server', {'images_dir': 'rel', 'criu_path': fake_criu}, check=True, cwd=str(work))
    restore = direct('criu_restore', {'images_dir': 'rel', 'criu_path': fake_criu}, check=True, cwd=str(work))
    for result, name in ((dump, 'criu_dump'), (ps, 'criu_page_server'), (restore, 'criu_restore')):
        assert not result.get('failed') and result['images_dir'] == absolute, (name, result)
        assert result['cmd'][result['cmd'].index('-D') + 1] == absolute, (name, result['cmd'])
        assert return_doc.mismatches(result, name) == [], name
    assert restore['cmd'][restore['cmd'].index('--pidfile') + 1] == os.path.join(absolute, 'restore.pid')


@pytest.mark.parametrize('check', [True, False])
@pytest.mark.parametrize('module', ['criu_dump', 'criu_page_server', 'criu_restore'])
def test_an_empty_images_dir_is_refused(tmp_path, sleeper, module, check):
    """Made absolute, "" was the module's working directory: criu would have dumped into it or restored from it."""
    work = tmp_path / 'work'
    work.mkdir()
    criu = tmp_path / 'criu'         # a criu that leaves a mark when it runs
    criu.write_text('#!/bin/sh\ntouch %s\n' % (tmp_path / 'ran'))
    criu.chmod(0o755)
    args = {'images_dir': '', 'criu_path': str(criu)}
    if module == 'criu_dump':
        args['pid'] = sleeper
    result = direct(module, args, check=check, cwd=str(work))
    assert result.get('failed') is True and not result.get('changed'), result
    assert result['msg'] == ("images_dir must name the images directory (absolute, or relative to the module's working "
                             "directory), got ''"), result
    assert os.listdir(str(work)) == [] and not (tmp_path / 'ran').exists()


def test_a_bad_parent_changes_nothing(tmp_path, fake_criu, sleeper):
    """parent is checked before images_dir or its parent link is created, in check mode too."""
    base = tmp_path / 'x'
    base.mkdir()
    for check in (True, False):
        result = direct('criu_page_server', {'images_dir': str(base / '2'), 'parent': '../1', 'criu_path': fake_criu},
                        check=check)
        assert result.get('failed') is True and not result.get('changed'), (check, result)
        assert result['msg'] == 'parent ../1 is not a directory (relative to %s)' % (base / '2')
        assert os.listdir(str(base)) == [], check
    # An existing images directory keeps the parent link it has.
    (base / '0').mkdir()
    (base / '2').mkdir()
    os.symlink('../0', str(base / '2' / 'parent'))
    result = direct('criu_page_server', {'images_dir': str(base / '2'), 'parent': '../1', 'criu_path': fake_criu})
    assert result.get('failed') is True and os.readlink(str(base / '2' / 'parent')) == '../0', result
    for check in (True, False):
        result = direct('criu_dump', {'pid': sleeper, 'images_dir': str(base / '3'), 'parent': '../nope',
                                      'criu_path': fake_criu}, check=check)
        assert result.get('failed') is True and not result.get('changed'), (check, result)
        assert result['msg'] == 'parent ../nope is not a directory (relative to %s)' % (base / '3')
    assert sorted(os.listdir(str(base))) == ['0', '2']


def test_an_empty_address_is_all_addresses(tmp_path, fake_criu):
    result = direct('criu_page_server', {'images_dir': str(tmp_path / '1'), 'address': '', 'criu_path': fake_criu},
                    check=True)
    assert not result.get('failed') and result['address'] is None, result
    assert '--address' not in result['cmd']


def test_criu_process_refuses_the_processes_it_runs_under(tmp_path):
    """The module runs under two shells of this test: the outer one, its grandparent, is refused (it was killed)."""
    args = tmp_path / 'args.json'
    module = 'ansible_collections.criu.check.plugins.modules.criu_process'
    inner = '%s -m %s %s; true' % (sys.executable, module, args)     # '; true': the shell waits, it does not exec
    outer = ('printf \'{"ANSIBLE_MODULE_ARGS": {"state": "killed", "pids": [%%d]}}\' $$ > %s; sh -c "%s"; '
             'echo outer shell lived' % (args, inner))
    proc = subprocess.run(['sh', '-c', outer], env=dict(os.environ, PYTHONPATH=conftest.COLLECTIONS),
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=60, check=False)
    result = json.loads(proc.stdout.strip().splitlines()[0])
    assert result.get('failed') is True and 'is this module or one of the processes it runs under' in result['msg'], \
        result
    assert proc.stdout.splitlines()[-1] == 'outer shell lived' and proc.returncode == 0


@pytest.mark.parametrize('check', [True, False])
@pytest.mark.parametrize('output', ['', '.', '/tmp'])
def test_criu_process_refuses_an_output_that_is_no_file(tmp_path, output, check):
    """Check mode said changed where the run failed to open it; nothing is started either way."""
    mark = tmp_path / 'ran'
    result = direct('criu_process', {'state': 'started', 'command': 'touch %s; sleep 5' % mark, 'output': output},
                    check=check, cwd=str(tmp_path))
    assert result.get('failed') is True and not result.get('changed'), result
    assert result['msg'] == 'output must be a file to append the output to (or /dev/null), got %r' % output
    time.sleep(0.3)
    assert not mark.exists()


def test_criu_process_resumed_is_a_change_only_for_a_stopped_process(sleeper):
    for check in (True, False):
        result = direct('criu_process', {'state': 'resumed', 'pids': [sleeper]}, check)
        assert not result.get('failed') and result['changed'] is False, (check, result)
    assert result['resumed'] == [sleeper]                  # SIGCONT sent all the same
    os.kill(sleeper, signal.SIGSTOP)
    process_list.until(lambda: process_list.state(sleeper) == 'T', 2)
    result = direct('criu_process', {'state': 'resumed', 'pids': [sleeper]}, check=True)
    assert result['changed'] is True and result['resumed'] == [] and process_list.state(sleeper) == 'T'
    result = direct('criu_process', {'state': 'resumed', 'pids': [sleeper]})
    assert result['changed'] is True and result['resumed'] == [sleeper]
    assert return_doc.mismatches(result, 'criu_process') == []


def test_criu_process_killed_in_check_mode_returns_what_it_documents(sleeper):
    result = direct('criu_process', {'state': 'killed', 'pids': [sleeper]}, check=True)
    assert result['changed'] is True and result['killed'] == [] and result['zombies'] == [], result
    assert process_list.state(sleeper) in ('S', 'R')
    assert return_doc.mismatches(result, 'criu_process') == []


@pytest.mark.parametrize('module', ['criu_dump', 'criu_restore', 'criu_page_server'])
def test_sigterm_ends_criu_and_fails_with_json(tmp_path, sleeper, module):
    """Ansible's task timeout sends the module SIGTERM: it kills criu (here one that hangs, with a helper) and
    what it started, and fails with a result (it died at once, criu running on)."""
    criu = tmp_path / 'criu-hangs'
    criu.write_text('#!/bin/sh\nsleep 300 &\necho $$ $! > "$0.pids"\nwait\n')
    criu.chmod(0o755)
    images = tmp_path / 'images'
    images.mkdir()
    args = {'criu_dump': {'pid': sleeper}, 'criu_restore': {}, 'criu_page_server': {}}[module]
    args.update(images_dir=str(images), criu_path=str(criu))
    (tmp_path / 'args.json').write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    proc = subprocess.Popen([sys.executable, '-m', 'ansible_collections.criu.check.plugins.modules.' + module,
                             str(tmp_path / 'args.json')], env=dict(os.environ, PYTHONPATH=conftest.COLLECTIONS),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = []
    try:
        pids = process_list.until(lambda: process_list.written_pids(str(criu) + '.pids', 2), 30)
        assert pids, 'criu was not started'
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        result = json.loads(out)
        assert result.get('failed') is True and proc.returncode == 1, (result, err)
        assert result['msg'].startswith('terminated (SIGTERM, as at the task\'s timeout) while criu '), result['msg']
        assert result['rc'] == -9
        assert process_list.ended(pids, 4), [p for p in pids if process_list.running(p)]
    finally:
        proc.kill()
        proc.wait()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
