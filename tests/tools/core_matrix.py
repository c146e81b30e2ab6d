# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""The older ansible-core releases criu.check is tested on, one virtual
environment each, cached outside the checkout.

    python3 tests/tools/core_matrix.py build [VERSION...]   build what is missing or stale; print each build's time
    python3 tests/tools/core_matrix.py list                  the pinned versions, their Python and venv, built or not
    python3 tests/tools/core_matrix.py bin                   a directory of python3.X links to pyenv's Pythons

Each venv is ~/.cache/criu-check/matrix/<ansible-core version>-py<X.Y> (CRIU_CHECK_HOME
moves ~/.cache/criu-check) and holds exactly that ansible-core plus requirements.txt (the
probes' libraries, so the managed node in a local run is complete).  A stamp in it records
what it was built from: a changed pin lands in a new directory, a changed requirements.txt or
Python rebuilds in place.  ``build`` removes the matrix's directories that no pin names any more.
The newest ansible-core is not here: it is the suite's own venv (scripts/setup).

Each release runs on a controller Python it supports (ansible-test's CONTROLLER_PYTHON_VERSIONS
in ansible_test/_util/target/common/constants.py of that release; PyPI's Requires-Python only
gives the lower bound):  2.16 and 2.17: 3.10-3.12, 2.18: 3.11-3.13.  Managed-node Pythons
(REMOTE_ONLY_PYTHON_VERSIONS) reach down to 3.9 in all three, which is the collection's floor
(tests/config.yml).  The Pythons are pyenv's (~/.pyenv/versions/X.Y.*) or python3.X on PATH.
"""

import glob
import os
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.environ.get('CRIU_CHECK_HOME') or os.path.expanduser('~/.cache/criu-check')
MATRIX = os.path.join(HOME, 'matrix')

# The versions tested, in one place: the newest patch release of each series on PyPI when
# pinned, each with the controller Python it runs on (spread over the supported range:
# 2.16 on its oldest, 2.18 on 3.12, the suite's own venv on 3.13).
PINS = (
    ('2.16.19', '3.10'),
    ('2.17.14', '3.11'),
    ('2.18.19', '3.12'),
)

# Managed-node Pythons each release supports, from ansible-test's constants (see above),
# cut at the collection's floor of 3.9.
MANAGED_PYTHONS = {
    '2.16': ('3.9', '3.10', '3.11', '3.12'),
    '2.17': ('3.9', '3.10', '3.11', '3.12'),
    '2.18': ('3.9', '3.10', '3.11', '3.12', '3.13'),
}


def series(version):
    """'2.16.19' -> '2.16'."""
    return '.'.join(version.split('.')[:2])


def find_python(minor):
    """Path of a CPython ``minor`` ('3.10') interpreter with venv, or None."""
    candidates = sorted(glob.glob(os.path.expanduser('~/.pyenv/versions/%s.*/bin/python%s' % (minor, minor))),
                        key=lambda p: [int(x) for x in p.split('/versions/')[1].split('/')[0].split('.') if x.isdigit()],
                        reverse=True)
    on_path = shutil.which('python' + minor)
    if on_path and '/.pyenv/shims/' not in on_path:
        candidates.append(on_path)
    for path in candidates:
        if subprocess.run([path, '-c', 'import venv, ensurepip'], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, check=False).returncode == 0:
            return path
    return None


def python_bin():
    """A directory of ``python3.X`` links to every Python 3.9+ found (find_python), for
    ansible-test, which looks its Pythons up on PATH and does not go through pyenv's shims."""
    path = os.path.join(MATRIX, 'bin')
    os.makedirs(path, exist_ok=True)
    for minor in ('3.9', '3.10', '3.11', '3.12', '3.13'):
        python = find_python(minor)
        link = os.path.join(path, 'python' + minor)
        if python and os.path.realpath(link) != os.path.realpath(python):
            tmp = '%s.%d' % (link, os.getpid())
            os.symlink(python, tmp)
            os.replace(tmp, link)
    return path


def venv_path(version, minor):
    return os.path.join(MATRIX, '%s-py%s' % (version, minor))


def wanted(version, python):
    """What a venv of ansible-core ``version`` on ``python`` is built from (its stamp)."""
    with open(os.path.join(REPO, 'requirements.txt')) as f:
        requirements = f.read()
    real = subprocess.run([python, '-c', 'import sys; print(sys.version.split()[0])'], stdout=subprocess.PIPE,
                          text=True, check=True).stdout.strip()
    return 'ansible-core==%s\npython %s\n%s' % (version, real, requirements)


def _stamp(venv):
    return os.path.join(venv, '.criu-check-matrix')


def ensure(version, minor, log=sys.stderr):
    """The venv of ansible-core ``version`` on Python ``minor``, built if missing or stale.
    Returns (venv path, seconds the build took, or None if it was already there); a build's
    time is also printed to ``log`` unless that is None.
    Raises RuntimeError naming what is missing when no such Python exists or pip fails."""
    python = find_python(minor)
    if python is None:
        raise RuntimeError('no Python %s with venv found (looked in ~/.pyenv/versions/%s.* and PATH)' % (minor, minor))
    venv = venv_path(version, minor)
    want = wanted(version, python)
    stamp = _stamp(venv)
    if os.path.isfile(stamp):
        with open(stamp) as f:
            if f.read() == want:
                return venv, None
    start = time.monotonic()
    # Built in place (a venv's scripts name its path, so it cannot be built elsewhere and
    # renamed); the stamp is written last, so an interrupted build is rebuilt next time.
    shutil.rmtree(venv, ignore_errors=True)
    try:
        subprocess.run([python, '-m', 'venv', venv], check=True)
        pip = [os.path.join(venv, 'bin', 'python'), '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
        proc = subprocess.run(pip + ['ansible-core==' + version, '-r', os.path.join(REPO, 'requirements.txt')],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError('pip could not install ansible-core %s on Python %s:\n%s' % (version, minor, proc.stdout[-3000:]))
        with open(stamp + '.tmp', 'w') as f:
            f.write(want)
        os.replace(stamp + '.tmp', stamp)
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    took = time.monotonic() - start
    if log is not None:
        print('core_matrix: built ansible-core %s on Python %s in %.1f s (%s)' % (version, minor, took, venv), file=log)
    return venv, took


def prune():
    """Remove the matrix's venvs that no pin names any more; returns their paths."""
    keep = set(venv_path(v, m) for v, m in PINS) | {os.path.join(MATRIX, 'bin')}
    gone = []
    for path in glob.glob(os.path.join(MATRIX, '*')):
        if path not in keep and os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
            gone.append(path)
    return gone


def main(argv):
    if not argv or argv[0] not in ('build', 'list', 'bin'):
        print('usage: core_matrix.py build [VERSION...] | list | bin', file=sys.stderr)
        return 2
    if argv[0] == 'bin':
        print(python_bin())
        return 0
    if argv[0] == 'list':
        for version, minor in PINS:
            venv = venv_path(version, minor)
            print('%s  python %s  %s  %s' % (version, minor, venv, 'built' if os.path.isfile(_stamp(venv)) else 'not built'))
        return 0
    known = [pin[0] for pin in PINS]
    unknown = [v for v in argv[1:] if v not in known]
    if unknown:
        print('core_matrix.py: unknown version(s) %s; pinned: %s' % (', '.join(unknown), ', '.join(known)), file=sys.stderr)
        return 2
    for path in prune():
        print('core_matrix: removed stale %s' % path, file=sys.stderr)
    for version, minor in PINS:
        if argv[1:] and version not in argv[1:]:
            continue
        venv, took = ensure(version, minor)
        if took is None:
            print('core_matrix: ansible-core %s on Python %s is up to date (%s)' % (version, minor, venv), file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
