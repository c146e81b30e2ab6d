# SPDX-License-Identifier: GPL-3.0-or-later
"""Capture real criu outputs for tests/unit/test_installed_criu.py.

    tests/tools/capture_criu_outputs.py [OUT]   (default tests/unit/fixtures/installed_criu_outputs.json)

Runs real criu binaries and records argv, exit code, stdout and stderr as
they came, with where they came from; the unit tests feed them to
_installed_criu.parse() and check the verdicts a reader of criu's source
expects.  Needs root, the Debian 13 root (tests/tools/criu_root.sh build,
criu 4.1.1), Debian 12's criu (tests/tools/debian12_criu.sh build, 3.17.1)
and podman for the container contexts.  Nothing is left behind: criu runs
inside criu_root.sh's private namespaces (their /run is a tmpfs), and
Debian 12's criu in `unshare -m` with a tmpfs on /run.
"""

import json
import os
import platform
import subprocess
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(TOOLS))
ROOT_SH = os.path.join(TOOLS, 'criu_root.sh')
D12_SH = os.path.join(TOOLS, 'debian12_criu.sh')

# Prints {"rc", "stdout", "stderr"} for argv, run from / (criu's images directory).
RUNNER = ('import json,subprocess,sys; p=subprocess.run(sys.argv[1:],cwd="/",capture_output=True,text=True); '
          'print(json.dumps({"rc":p.returncode,"stdout":p.stdout,"stderr":p.stderr}))')

# name: (context, argv, note)
IN_ROOT = {
    'criu41_root_check': ('root', ['criu', 'check'], ''),
    'criu41_root_check_all': ('root', ['criu', 'check', '--all'], 'no soft-dirty, no autofs on this kernel'),
    'criu41_root_check_unpriv_no_xdg': ('root', ['criu', 'check', '--unprivileged'], 'XDG_RUNTIME_DIR unset'),
    'criu41_nonroot_check': ('nonroot', ['criu', 'check'], ''),
    'criu41_nonroot_check_unpriv': ('nonroot', ['criu', 'check', '--unprivileged'], ''),
    'criu41_nonroot_cr_check': ('nonroot-cr', ['criu', 'check'], ''),
    'criu41_nonroot_cr_check_unpriv': ('nonroot-cr', ['criu', 'check', '--unprivileged'], ''),
    'criu41_userns_check': ('userns', ['criu', 'check'], 'unshare -Ur, host mount namespace'),
    'criu41_userns_check_unpriv': ('userns', ['criu', 'check', '--unprivileged'], ''),
    'criu41_ro_proc_sys_check': ('ro-proc-sys', ['criu', 'check'], ''),
    'criu41_no_sys_admin_check': ('no-sys-admin', ['criu', 'check'], ''),
    'criu41_no_loopback_check': ('no-loopback', ['criu', 'check'], 'unshare -n: lo down'),
    'criu41_proc_subset_pid_check': ('root', ['sh', '-c', 'mount -t proc -o subset=pid proc /proc && exec criu check'],
                                     '/proc mounted with subset=pid (systemd ProcSubset=pid): no /proc/sys'),
    'criu41_podman_check': ('podman', ['criu', 'check'], ''),
    'criu41_podman_check_unpriv': ('podman', ['criu', 'check', '--unprivileged'], ''),
    'criu41_podman_rw_check_unpriv': ('podman-rw', ['criu', 'check', '--unprivileged'], ''),
    'criu41_version': ('root', ['criu', '--version'], ''),
}


def run_in_root(context, argv):
    out = subprocess.run([ROOT_SH, 'run', '--context', context, '--', 'python3', '-c', RUNNER] + argv,
                         capture_output=True, text=True, timeout=180, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_debian12(argv, with_libs=True):
    lines = subprocess.run([D12_SH, 'env'], capture_output=True, text=True, check=True).stdout.split()
    env = dict(os.environ)
    for line in lines:
        key, dummy, value = line.partition('=')
        if key == 'LD_LIBRARY_PATH' and not with_libs:
            continue
        env[key] = value
    if not with_libs:
        env.pop('LD_LIBRARY_PATH', None)
    out = subprocess.run(['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c',
                          'mount -t tmpfs tmpfs /run && exec "$@"', 'sh', sys.executable, '-c', RUNNER] + argv,
                         capture_output=True, text=True, timeout=60, check=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, 'tests', 'unit', 'fixtures',
                                                                  'installed_criu_outputs.json')
    subprocess.run([ROOT_SH, 'build'], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([D12_SH, 'build'], check=True, stdout=subprocess.DEVNULL)
    kernel = '%s %s' % (platform.release(), platform.machine())
    cases = {}
    for name, (context, argv, note) in sorted(IN_ROOT.items()):
        result = run_in_root(context, argv)
        result.update({'argv': argv, 'where': 'Debian 13 root (criu 4.1.1), context %s' % context,
                       'note': note, 'kernel': kernel})
        cases[name] = result
        print(name, result['rc'], file=sys.stderr)
    for name, argv, with_libs, note in (
            ('criu317_root_check', ['criu', 'check'], True, ''),
            ('criu317_version', ['criu', '--version'], True, ''),
            ('criu317_no_libs_check', ['criu', 'check'], False, 'its libraries left out of LD_LIBRARY_PATH')):
        result = run_debian12(argv, with_libs)
        result.update({'argv': argv, 'where': "Debian 12's criu 3.17.1 on the Debian 12 host, root", 'note': note,
                       'kernel': kernel})
        cases[name] = result
        print(name, result['rc'], file=sys.stderr)
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path + '.tmp', 'w') as f:
        json.dump(cases, f, indent=1, sort_keys=True)
        f.write('\n')
    os.replace(out_path + '.tmp', out_path)
    print(out_path)


if __name__ == '__main__':
    main()
