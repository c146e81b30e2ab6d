# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Boot Debian's kernels in QEMU (TCG) and run a command as root inside.

    python3 tests/tools/vm.py build
        Build the image and kernels if needed (tests/tools/vm_build.sh; cached
        under ~/.cache/criu-check/vm/KEY) and print the directory.
    python3 tests/tools/vm.py kernels
        Print the kernels of the image: "5.10 5.10.0-35-amd64" ...
    python3 tests/tools/vm.py run --kernel 6.12 [--append 'ARGS'] [--timeout S] [--] CMD...
        Boot that kernel, run CMD (through /bin/sh -c) as root with the checkout
        read-only at /src, print its stdout and stderr, exit with its code.

As a library: ``run(kernel, script, append='', timeout=600, files=None)``
returns a dict (rc, stdout, stderr, boot_s, run_s, wall_s, share, kernel,
console, error).

How: ``qemu-system-x86_64 -accel tcg -cpu max`` (no KVM needed: this host's
paravirtual KVM cannot boot stock kernels), the root image under
``snapshot=on`` (never changed), the checkout over virtio-9p read-only
(``-virtfs ... readonly=on``; a read-only ext4 image of the checkout made by
``mkfs.ext4 -d`` when the kernel has no 9p modules), the job as a tar on a
second virtio disk, the result as a tar the guest writes to a third one (the
console is only kept for the error message).  On timeout qemu gets SIGTERM,
then SIGKILL; its temporary files live in the cache and are removed.
"""

from __future__ import print_function

import argparse
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, 'vm_build.sh')
CACHE = os.environ.get('CRIU_CHECK_VM_CACHE') or os.path.join(
    os.environ.get('CRIU_CHECK_HOME') or os.path.expanduser('~/.cache/criu-check'), 'vm')
QEMU = 'qemu-system-x86_64'
RESULT_MB = 256
BASE_APPEND = 'console=ttyS0 root=/dev/vda rw rootfstype=ext4 init=/sbin/criu-vm-init panic=-1 loglevel=4 random.trust_cpu=on'


class VMError(Exception):
    pass


def qemu_missing():
    """Why QEMU cannot be used here, or '' when it can."""
    if not shutil.which(QEMU):
        return '%s is not installed (apt-get install qemu-system-x86)' % QEMU
    return ''


def build(timeout=1800):
    """Build (or find) the image; returns its directory."""
    proc = subprocess.run([BUILD, 'build'], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise VMError('tests/tools/vm_build.sh build failed (exit %s): %s' % (
            proc.returncode, proc.stderr.decode('utf-8', 'replace')[-3000:]))
    return proc.stdout.decode().strip().splitlines()[-1]


def image_dir():
    proc = subprocess.run([BUILD, 'path'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


def kernels(directory=None):
    """{"5.10": "5.10.0-35-amd64", ...} of the built image."""
    directory = directory or image_dir()
    if not directory:
        raise VMError('the VM image is not built: run tests/tools/vm.py build')
    with open(os.path.join(directory, 'kernels.json')) as f:
        return json.load(f)


def _release(kernel, directory):
    known = kernels(directory)
    if kernel in known:
        return known[kernel]
    if kernel in known.values():
        return kernel
    raise VMError('unknown kernel %r: one of %s' % (kernel, ', '.join(
        '%s (%s)' % (k, v) for k, v in sorted(known.items()))))


def _share(release):
    """How the checkout reaches the guest: virtio-9p (all four Debian kernels
    build 9p and 9pnet_virtio as modules, loaded from the root by the init),
    or, with CRIU_CHECK_VM_SHARE=disk (a kernel without them), a read-only
    ext4 image of the checkout.  The init tries 9p first, then the disk
    labelled criu-vm-src; the result's "share" says which it used."""
    return 'disk' if os.environ.get('CRIU_CHECK_VM_SHARE') == 'disk' else '9p'


def _job_tar(path, script, files):
    with tarfile.open(path, 'w', format=tarfile.GNU_FORMAT) as tar:
        entries = dict(files or {})
        entries['run'] = '#!/bin/sh\n' + script + '\n'
        for name, content in sorted(entries.items()):
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name == 'run' else 0o644
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(data))


def _src_image(work):
    """A read-only ext4 image of the checkout, for kernels without 9p."""
    path = os.path.join(work, 'src.ext4')
    subprocess.run(['mkfs.ext4', '-q', '-F', '-L', 'criu-vm-src', '-d', REPO, path, '512M'],
                   check=True, stdout=subprocess.DEVNULL)
    return path


def _read_result(path):
    out = {}
    try:
        with tarfile.open(path, 'r:') as tar:
            for member in tar.getmembers():
                if member.isfile():
                    out[os.path.basename(member.name)] = tar.extractfile(member).read().decode('utf-8', 'replace')
    except (tarfile.TarError, OSError):
        pass
    return out


def _kill(proc):
    """qemu exits cleanly on SIGTERM; SIGKILL after 10 s."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def command(directory, release, work, append='', memory='1G', cpus=1, share='9p'):
    """The qemu command line of one boot (for the log and for run())."""
    argv = [QEMU, '-accel', 'tcg', '-cpu', 'max', '-m', memory, '-smp', str(cpus),
            '-nodefaults', '-no-reboot', '-display', 'none', '-monitor', 'none',
            '-serial', 'file:' + os.path.join(work, 'console.log'),
            '-kernel', os.path.join(directory, 'vmlinuz-' + release),
            '-initrd', os.path.join(directory, 'initrd.img-' + release),
            '-append', (BASE_APPEND + ' ' + append).strip(),
            '-drive', 'file=%s,format=raw,if=virtio,snapshot=on' % os.path.join(directory, 'root.ext4'),
            '-drive', 'file=%s,format=raw,if=virtio,readonly=on' % os.path.join(work, 'job.tar'),
            '-drive', 'file=%s,format=raw,if=virtio' % os.path.join(work, 'result.raw')]
    if share == '9p':
        argv += ['-virtfs', 'local,path=%s,mount_tag=src,security_model=none,readonly=on' % REPO]
    else:
        argv += ['-drive', 'file=%s,format=raw,if=virtio,readonly=on' % os.path.join(work, 'src.ext4')]
    return argv


def run(kernel, script, append='', timeout=600, files=None, directory=None, memory='1G', cpus=1):
    """Boot ``kernel`` (e.g. "6.12") with extra kernel arguments ``append``,
    run the shell ``script`` as root (files: {name: content} beside it in
    /job), power off.  Returns {rc, stdout, stderr, boot_s, run_s, wall_s,
    share, kernel, console, error}; rc is None when there is no result
    (error then says why)."""
    directory = directory or image_dir()
    if not directory:
        raise VMError('the VM image is not built: run tests/tools/vm.py build')
    release = _release(kernel, directory)
    tmp = os.path.join(CACHE, 'tmp')
    os.makedirs(tmp, exist_ok=True)
    work = tempfile.mkdtemp(prefix='run.', dir=tmp)
    start = time.monotonic()
    try:
        _job_tar(os.path.join(work, 'job.tar'), script, files)
        with open(os.path.join(work, 'result.raw'), 'wb') as f:
            f.truncate(RESULT_MB << 20)
        share = _share(release)
        if share == 'disk':
            _src_image(work)
        argv = command(directory, release, work, append, memory, cpus, share)
        # qemu's snapshot=on overlay goes to TMPDIR: keep it in the cache.
        env = dict(os.environ, TMPDIR=work)
        error = None
        with open(os.path.join(work, 'qemu.err'), 'wb') as err:
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                                    start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                error = 'timeout: no power-off within %s s' % timeout
            finally:
                _kill(proc)
        wall = time.monotonic() - start
        result = _read_result(os.path.join(work, 'result.raw'))
        with open(os.path.join(work, 'console.log'), 'rb') as f:
            console = f.read().decode('utf-8', 'replace')
        with open(os.path.join(work, 'qemu.err'), 'rb') as f:
            qemu_err = f.read().decode('utf-8', 'replace')
        times = {}
        try:
            times = json.loads(result.get('times.json', ''))
        except ValueError:
            pass
        rc = result.get('rc', '').strip()
        if not rc and error is None:
            error = 'no result on the result disk (qemu exit %s): %s' % (proc.returncode, qemu_err.strip()[-500:])
        return {'rc': int(rc) if rc.lstrip('-').isdigit() else None,
                'stdout': result.get('stdout', ''), 'stderr': result.get('stderr', ''),
                'boot_s': times.get('boot_s'),
                'run_s': round(times['end_s'] - times['start_s'], 1) if times else None,
                'wall_s': round(wall, 1), 'share': times.get('share'), 'kernel': times.get('kernel', release),
                'append': append, 'console': console[-4000:], 'error': error}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='cmd')
    sub.add_parser('build')
    sub.add_parser('kernels')
    r = sub.add_parser('run')
    r.add_argument('--kernel', required=True)
    r.add_argument('--append', default='')
    r.add_argument('--timeout', type=float, default=600)
    r.add_argument('command', nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    if args.cmd == 'build':
        print(build())
        return 0
    if args.cmd == 'kernels':
        for k, v in sorted(kernels().items()):
            print(k, v)
        return 0
    if args.cmd == 'run':
        cmd = args.command[1:] if args.command[:1] == ['--'] else args.command
        if not cmd:
            parser.error('run: no command given')
        import shlex
        res = run(args.kernel, ' '.join(shlex.quote(c) for c in cmd), args.append, args.timeout)
        sys.stdout.write(res['stdout'])
        sys.stderr.write(res['stderr'])
        sys.stderr.write('[vm] kernel %s: userspace after %s s, command %s s, wall %s s%s\n' % (
            res['kernel'], res['boot_s'], res['run_s'], res['wall_s'],
            ('; ' + res['error']) if res['error'] else ''))
        if res['rc'] is None:
            sys.stderr.write(res['console'][-2000:] + '\n')
            return 125
        return res['rc']
    parser.print_help()
    return 2


if __name__ == '__main__':
    sys.exit(main())
