# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot Debian's arm64 kernel in qemu-system-aarch64 (TCG) and run a command as root inside.

    python3 tests/tools/vm_arm64.py build
        Build the arm64 image if needed (tests/tools/vm_build_arm64.sh; cached
        under ~/.cache/criu-check/vm-arm64/KEY) and print the directory.
    python3 tests/tools/vm_arm64.py run [--timeout S] [--append 'ARGS'] [--] CMD...
        Boot it, run CMD (through /bin/sh -c) as root with the checkout
        read-only at /src, print its stdout and stderr, exit with its code.

As a library: ``run(script, append='', timeout=1800, files=None)`` returns
the dict of tests/tools/vm.py's run() (rc, stdout, stderr, boot_s, run_s,
wall_s, share, kernel, append, console, error).

The same guest protocol as tests/tools/vm.py (the same init,
tests/tools/vm_init.sh; vm.py's helpers for the job and result disks and
for stopping qemu); only the machine differs: ``qemu-system-aarch64 -M virt
-cpu max -accel tcg`` (pointer authentication with QEMU's cheap
implementation-defined algorithm: the architected QARMA one costs TCG much
time and changes nothing the probes look at), virtio-blk-pci disks in
the order vda (root, snapshot=on), vdb (job), vdc (result), the checkout
over virtio-9p-pci read-only, the console on the PL011 (ttyAMA0).
"""

from __future__ import print_function

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import vm  # noqa: E402  (the x86_64 harness: its job/result helpers)

REPO = vm.REPO
BUILD = os.path.join(HERE, 'vm_build_arm64.sh')
CACHE = os.environ.get('CRIU_CHECK_VM_ARM64_CACHE') or os.path.join(
    os.environ.get('CRIU_CHECK_HOME') or os.path.expanduser('~/.cache/criu-check'), 'vm-arm64')
QEMU = 'qemu-system-aarch64'
CPU = 'max,pauth-impdef=on'
BASE_APPEND = 'console=ttyAMA0 root=/dev/vda rw rootfstype=ext4 init=/sbin/criu-vm-init panic=-1 loglevel=4'

VMError = vm.VMError


def qemu_missing():
    """Why the arm64 VM cannot run here, or '' when it can (the build script
    installs qemu-system-arm when missing, so only a host that cannot
    install packages is left out)."""
    if shutil.which(QEMU):
        return ''
    if os.geteuid() != 0 or not shutil.which('apt-get'):
        return '%s is not installed and cannot be installed here (apt-get install qemu-system-arm qemu-user-static arch-test)' % QEMU
    return ''


def build(timeout=5400):
    """Build (or find) the image; returns its directory."""
    try:
        proc = subprocess.run([BUILD, 'build'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        raise VMError('tests/tools/vm_build_arm64.sh build: not done within %s s' % timeout)
    if proc.returncode != 0:
        raise VMError('tests/tools/vm_build_arm64.sh build failed (exit %s): %s' % (
            proc.returncode, proc.stderr.decode('utf-8', 'replace')[-3000:]))
    return proc.stdout.decode().strip().splitlines()[-1]


def image_dir():
    proc = subprocess.run([BUILD, 'path'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def kernel(directory):
    """The release of the image's kernel (it has one: sid's linux-image-arm64)."""
    with open(os.path.join(directory, 'kernels.json')) as f:
        known = json.load(f)
    if len(known) != 1:
        raise VMError('expected one kernel in %s/kernels.json, found %r' % (directory, known))
    return list(known.values())[0]


def manifest(directory):
    try:
        with open(os.path.join(directory, 'manifest.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def command(directory, release, work, append='', memory='1G', cpus=1, share='9p'):
    """The qemu-system-aarch64 command line of one boot."""
    def disk(n, path, extra=''):
        return ['-drive', 'file=%s,format=raw,if=none,id=d%d%s' % (path, n, extra),
                '-device', 'virtio-blk-pci,drive=d%d' % n]
    argv = [QEMU, '-M', 'virt', '-cpu', CPU, '-accel', 'tcg', '-m', memory, '-smp', str(cpus),
            '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none',
            '-serial', 'file:' + os.path.join(work, 'console.log'),
            '-kernel', os.path.join(directory, 'Image-' + release),
            '-initrd', os.path.join(directory, 'initrd.img-' + release),
            '-append', (BASE_APPEND + ' ' + append).strip()]
    argv += disk(0, os.path.join(directory, 'root.ext4'), ',snapshot=on')
    argv += disk(1, os.path.join(work, 'job.tar'), ',readonly=on')
    argv += disk(2, os.path.join(work, 'result.raw'))
    if share == '9p':
        argv += ['-virtfs', 'local,path=%s,mount_tag=src,security_model=none,readonly=on' % REPO]
    else:
        argv += disk(3, os.path.join(work, 'src.ext4'), ',readonly=on')
    return argv


def run(script, append='', timeout=1800, files=None, directory=None, memory='1G', cpus=1):
    """Boot the arm64 kernel with extra kernel arguments ``append``, run the
    shell ``script`` as root (files: {name: content} beside it in /job),
    power off.  Returns vm.run()'s dict; rc is None when there is no result
    (error then says why)."""
    directory = directory or image_dir()
    if not directory:
        raise VMError('the arm64 VM image is not built: run tests/tools/vm_arm64.py build')
    release = kernel(directory)
    share = 'disk' if os.environ.get('CRIU_CHECK_VM_SHARE') == 'disk' else '9p'
    return vm.run_job(release, script, share, timeout, files, append,
                      lambda work: command(directory, release, work, append, memory, cpus, share))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='cmd')
    sub.add_parser('build')
    r = sub.add_parser('run')
    r.add_argument('--append', default='')
    r.add_argument('--timeout', type=float, default=1800)
    r.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == 'build':
        print(build())
        return 0
    if args.cmd == 'run':
        cmd = args.command[1:] if args.command[:1] == ['--'] else args.command
        if not cmd:
            parser.error('run: no command given')
        return vm.print_run(run(' '.join(shlex.quote(c) for c in cmd), args.append, args.timeout), 'vm-arm64')
    parser.print_help()
    return 2


if __name__ == '__main__':
    sys.exit(main())
