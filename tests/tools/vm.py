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
    python3 tests/tools/vm.py serve [--kernel 6.12[,6.1...]] [--count 2] [--inventory FILE]
        Boot COUNT VMs with sshd and a network between them (pair() below),
        write and print their Ansible inventory, stay up until Ctrl-C/SIGTERM.

As a library: ``run(kernel, script, append='', timeout=600, files=None)``
returns a dict (rc, stdout, stderr, boot_s, run_s, wall_s, share, kernel,
console, error).  ``pair(kernel, count=2, timeout=600)`` is a context
manager yielding VMs that stay up with sshd ([{name, ssh_port, address, key,
kernel, ssh_s, console, qemu}, ...]; 10.77.0.N between them), ``inventory(hosts,
path, extra_vars=None)`` writes their Ansible inventory, ``ssh(host, cmd)``
runs a command in one, ``gone(host)`` says why one stopped (None while it runs).

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
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time

from process_list import stat_fields

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(HERE, 'vm_build.sh')
CACHE = os.environ.get('CRIU_CHECK_VM_CACHE') or os.path.join(
    os.environ.get('CRIU_CHECK_HOME') or os.path.expanduser('~/.cache/criu-check'), 'vm')
QEMU = 'qemu-system-x86_64'
RESULT_MB = 256
# Where the VMs' work directories go.  The early boots of the test suite set
# their own (tests/vm/_vm.py), so that tests which compare this directory
# before and after see only their own VMs.
TMP = os.environ.get('CRIU_CHECK_VM_TMP') or os.path.join(CACHE, 'tmp')
# The file in each work directory that names the process it belongs to.
OWNER = 'owner'
# What remove_abandoned() removed in this process, for a summary.
REMOVED = []
BASE_APPEND = 'console=ttyS0 root=/dev/vda rw rootfstype=ext4 init=/sbin/criu-vm-init panic=-1 loglevel=4 random.trust_cpu=on'


class VMError(Exception):
    pass


def process_start_time(pid):
    """/proc/PID/stat's starttime (field 22), which tells a pid from its reuse; None when gone."""
    fields = stat_fields(pid)
    return None if fields is None or fields[0] == 'Z' else fields[19]


def work_dir(prefix):
    """A new work directory in TMP: TMP/PREFIX.XXXXXXXX, with a file OWNER
    naming this process (pid and start time) for remove_abandoned()."""
    remove_abandoned()
    os.makedirs(TMP, exist_ok=True)
    directory = tempfile.mkdtemp(prefix=prefix + '.', dir=TMP)
    with open(os.path.join(directory, OWNER), 'w') as f:
        f.write('%d %s\n' % (os.getpid(), process_start_time(os.getpid())))
    return directory


def remove_abandoned():
    """Remove the work directories in TMP whose owner is gone, and return
    their names (also added to REMOVED).  A run killed with SIGKILL cannot
    remove its own, and the suite's check that nothing is left would blame
    the next run for them.  A directory without an OWNER file is left alone:
    it is not ours, or its owner is still writing that file."""
    removed = []
    for name in sorted(os.listdir(TMP)) if os.path.isdir(TMP) else []:
        path = os.path.join(TMP, name)
        try:
            with open(os.path.join(path, OWNER)) as f:
                pid, start = f.read().split()
            pid = int(pid)
        except (OSError, ValueError):
            continue
        if process_start_time(pid) != start:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    REMOVED.extend(removed)
    return removed


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
    share = _share(release)
    return run_job(release, script, share, timeout, files, append,
                   lambda work: command(directory, release, work, append, memory, cpus, share))


def run_job(release, script, share, timeout, files, append, qemu_argv):
    """Run one job in a VM that powers off at its end (run() here, and
    vm_arm64.run()): ``qemu_argv(work)`` is the qemu command line for the
    work directory that holds job.tar, result.raw and, when ``share`` is
    "disk", src.ext4.  Returns run()'s dict."""
    work = work_dir('run')
    start = time.monotonic()
    try:
        _job_tar(os.path.join(work, 'job.tar'), script, files)
        with open(os.path.join(work, 'result.raw'), 'wb') as f:
            f.truncate(RESULT_MB << 20)
        if share == 'disk':
            _src_image(work)
        argv = qemu_argv(work)
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


# ---------------------------------------------------------------- VMs that stay up: pair()

# The guest's side of NIC 1 (qemu's user-mode network: the guest is 10.0.2.15,
# the host 10.0.2.2; hostfwd forwards a port of 127.0.0.1 to the guest's :22).
SLIRP_GUEST, SLIRP_HOST = '10.0.2.15', '10.0.2.2'
NET_PREFIX = '10.77.0.'
# The cheapest key exchange and host key both sides have: the guest's sshd
# computes under TCG (about 10 times slower than the host, more when loaded).
SSH_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
               '-o', 'IdentitiesOnly=yes', '-o', 'KexAlgorithms=curve25519-sha256', '-o', 'HostKeyAlgorithms=ssh-ed25519',
               '-o', 'BatchMode=yes']

# The job of a VM of pair(): it never returns (the init would power off), so
# the VM serves until qemu is killed.  No udev in the guest: the NICs are
# found by their MAC, and virtio_net is loaded by hand.
SERVE = r"""
log() {{ echo "criu-vm-serve: $*" >/dev/console; }}
fail() {{ log "$*"; exit 1; }}
echo {name} >/proc/sys/kernel/hostname
modprobe -q virtio_net
iface_of() {{
    for d in /sys/class/net/*; do
        [ "$(cat "$d/address" 2>/dev/null)" = "$1" ] && {{ echo "${{d##*/}}"; return 0; }}
    done
    return 1
}}
i=0
until ctl=$(iface_of {ctl_mac}) && net=$(iface_of {net_mac}); do
    i=$((i + 1))
    [ $i -lt 300 ] || fail "no NIC with MAC {ctl_mac} and {net_mac}: $(ls /sys/class/net)"
    sleep 0.1
done
ip link set "$ctl" up && ip addr add {slirp_guest}/24 dev "$ctl" && ip route add default via {slirp_host} ||
    fail "cannot configure $ctl"
ip link set "$net" up && ip addr add {address}/24 dev "$net" || fail "cannot configure $net"
printf '%s\n' {hosts} >>/etc/hosts
mkdir -p -m 700 /root/.ssh
install -m 600 /job/authorized_keys /root/.ssh/authorized_keys
mkdir -p -m 755 /run/sshd
# No password and no PAM (no login session to open without systemd); no
# penalties: every connection comes from {slirp_host}.
/usr/sbin/sshd -E /dev/console -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no \
    -o KbdInteractiveAuthentication=no -o UsePAM=no -o UseDNS=no -o PerSourcePenalties=no ||
    fail "sshd did not start"
log "sshd up at $(cut -d' ' -f1 /proc/uptime)s, $ctl {slirp_guest} (control), $net {address}"
exec sleep infinity
"""


def _free_port(kind=socket.SOCK_STREAM):
    """A port the kernel says is free on 127.0.0.1 (for qemu to bind)."""
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _die_with_parent():
    """qemu gets SIGKILL when the process that started it dies (even by
    SIGKILL): no VM outlives its test."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def ssh_argv(host, *command, **kwargs):
    """The ssh command line that runs ``command`` as root in ``host`` (a
    host of pair()); keyword connect_timeout (seconds, 30)."""
    return ['ssh'] + SSH_OPTIONS + ['-o', 'ConnectTimeout=%d' % kwargs.get('connect_timeout', 30), '-i', host['key'],
                                    '-p', str(host['ssh_port']), 'root@127.0.0.1', '--'] + list(command)


def ssh(host, command, timeout=120):
    """Run the shell ``command`` as root in ``host``; a CompletedProcess
    (stdout and stderr text)."""
    return subprocess.run(ssh_argv(host, command), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout, check=False)


def _tail(path, size=3000):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')[-size:]
    except OSError:
        return ''


@contextlib.contextmanager
def pair(kernel='6.12', count=2, timeout=600, memory='1G', append='', directory=None):
    """Boot ``count`` VMs of the image (``kernel``: one for all, or a list of
    one per VM), each with sshd, root's key the pair's own, the checkout
    read-only at /src, and a network between them (10.77.0.1, 10.77.0.2, ...).
    Yields [{'name': 'vm1', 'ssh_port': N, 'address': '10.77.0.1', 'key':
    PATH, 'kernel': RELEASE, 'ssh_s': seconds from qemu's start to ssh's
    answer, 'console': PATH, 'qemu': its Popen}, ...] once ssh answers on
    every VM (VMError with the console's tail when one does not within
    ``timeout`` s; a VM that needed a second boot also has 'first_console').
    gone(host) says why a VM stopped answering later.  On exit,
    also by an exception or Ctrl-C, every qemu is killed and its files are
    removed.

    NIC 1 is qemu's user-mode network with hostfwd 127.0.0.1:ssh_port ->
    :22; NIC 2 of every VM is on one multicast group of 127.0.0.1 (qemu
    -netdev socket,mcast=: any number of VMs on one segment, nothing
    relayed by this process), group and port picked per pair."""
    if count < 1:
        raise VMError('count must be 1 or more, not %r' % (count,))
    for tool in ('ssh', 'ssh-keygen'):
        if not shutil.which(tool):
            raise VMError('%s is not installed (apt-get install openssh-client)' % tool)
    directory = directory or image_dir()
    if not directory:
        raise VMError('the VM image is not built: run tests/tools/vm.py build')
    wanted = list(kernel) if isinstance(kernel, (list, tuple)) else [kernel] * count
    if len(wanted) != count:
        raise VMError('%d kernels given for %d VMs: %r' % (len(wanted), count, wanted))
    releases = [_release(k, directory) for k in wanted]
    work = work_dir('pair')
    procs = []
    try:
        key = os.path.join(work, 'id_ed25519')
        subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'criu-check-vm-pair', '-f', key],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        with open(key + '.pub') as f:
            pub = f.read()
        # One segment per pair: a random group of 239.77/16 (organisation-
        # local scope) and a UDP port free now.
        group = '239.77.%d.%d' % (random.randint(0, 255), random.randint(1, 254))
        mcast = '%s:%d' % (group, _free_port(socket.SOCK_DGRAM))
        share = _share(releases[0])
        if share == 'disk':
            _src_image(work)
        hosts = []
        names = ['vm%d' % (i + 1) for i in range(count)]
        etc_hosts = ' '.join("'%s%d %s'" % (NET_PREFIX, i + 1, n) for i, n in enumerate(names))
        for i, (name, release) in enumerate(zip(names, releases)):
            vmdir = os.path.join(work, name)
            os.mkdir(vmdir)
            if share == 'disk':
                os.link(os.path.join(work, 'src.ext4'), os.path.join(vmdir, 'src.ext4'))
            host = {'name': name, 'ssh_port': _free_port(), 'address': NET_PREFIX + str(i + 1), 'key': key,
                    'kernel': release, 'console': os.path.join(vmdir, 'console.log')}
            ctl_mac, net_mac = '52:54:00:c7:00:%02x' % (i + 1), '52:54:00:77:00:%02x' % (i + 1)
            script = SERVE.format(name=name, ctl_mac=ctl_mac, net_mac=net_mac, address=host['address'],
                                  slirp_guest=SLIRP_GUEST, slirp_host=SLIRP_HOST, hosts=etc_hosts)
            _job_tar(os.path.join(vmdir, 'job.tar'), script, {'authorized_keys': pub})
            with open(os.path.join(vmdir, 'result.raw'), 'wb') as f:
                f.truncate(1 << 20)
            argv = command(directory, release, vmdir, append, memory, 1, share) + [
                '-netdev', 'user,id=ctl,' + _hostfwd(host['ssh_port']),
                '-device', 'virtio-net-pci,netdev=ctl,mac=' + ctl_mac,
                '-netdev', 'socket,id=net,mcast=%s,localaddr=127.0.0.1' % mcast,
                '-device', 'virtio-net-pci,netdev=net,mac=' + net_mac]
            host['_argv'] = argv
            procs.append(_start(host))
            hosts.append(host)

        def restart(i):
            procs[i] = _restart(hosts[i])
        _wait_for_ssh(hosts, procs, timeout, restart)
        for host, proc in zip(hosts, procs):
            del host['_argv']
            host['qemu'] = proc
        yield hosts
    finally:
        _kill_all(procs)
        shutil.rmtree(work, ignore_errors=True)


def _kill_all(procs):
    """SIGTERM to every qemu at once, SIGKILL to those alive 10 s later."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _start(host):
    """Start (or start again) the qemu of ``host``."""
    vmdir = os.path.dirname(host['console'])
    with open(os.path.join(vmdir, 'qemu.err'), 'wb') as err:
        proc = subprocess.Popen(host['_argv'], stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                env=dict(os.environ, TMPDIR=vmdir), start_new_session=True, preexec_fn=_die_with_parent)
    host['_started'] = time.monotonic()
    return proc


def _hostfwd(port):
    """qemu's user-network option that forwards 127.0.0.1:``port`` to the guest's sshd."""
    return 'hostfwd=tcp:127.0.0.1:%d-:22' % port


def _restart(host):
    """Start the qemu of ``host`` again, forwarding a port picked afresh:
    the one it had may be why it exited (another process can bind it
    between _free_port() and qemu's own bind, and would still hold it)."""
    old = _hostfwd(host['ssh_port'])
    host['ssh_port'] = _free_port()
    host['_argv'] = [arg.replace(old, _hostfwd(host['ssh_port'])) for arg in host['_argv']]
    return _start(host)


def _wait_for_ssh(hosts, procs, timeout, restart):
    """Until ``ssh ... true`` answers on every VM (each tried in turn, so
    that ssh_s is each one's own time).  A VM whose qemu exits before (a
    kernel panic at boot: seen once in TCG on a loaded machine; its ssh port
    taken before qemu bound it) boots once more (``restart``); its first
    console is kept in host['first_console']."""
    deadline = time.monotonic() + timeout
    last = {}
    pending = list(range(len(hosts)))
    while pending:
        for i in list(pending):
            host, proc = hosts[i], procs[i]
            if proc.poll() is not None:
                console = _tail(host['console'])
                if 'first_console' not in host and time.monotonic() < deadline:
                    host['first_console'] = console
                    restart(i)
                    continue
                raise VMError(_exited(host, proc, 'before ssh answered'))
            try:
                # ConnectTimeout bounds the wait for sshd's banner; the key
                # exchange after it may take long on a loaded TCG guest.
                res = subprocess.run(ssh_argv(host, 'true', connect_timeout=10), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     timeout=max(15, deadline - time.monotonic()), check=False)
                if res.returncode == 0:
                    host['ssh_s'] = round(time.monotonic() - host.pop('_started'), 1)
                    pending.remove(i)
                    continue
                last[host['name']] = res.stdout.decode('utf-8', 'replace').strip()
            except subprocess.TimeoutExpired:
                last[host['name']] = 'ssh gave no answer'
            if time.monotonic() > deadline:
                raise VMError('%s: ssh (127.0.0.1:%d) did not answer within %s s (%s)\nconsole:\n%s' % (
                    host['name'], host['ssh_port'], timeout, last[host['name']][-500:], _tail(host['console'])))
        if pending:
            time.sleep(1)


def _exited(host, proc, when):
    """What an exited qemu of ``host`` leaves to go on: its exit status (a
    signal's name when one killed it; 0 after a guest's panic, as the VMs
    boot with panic=-1 and -no-reboot), qemu's stderr and the console's end."""
    rc = proc.returncode
    status = 'status %d' % rc
    if rc < 0:
        try:
            status = 'killed by %s' % signal.Signals(-rc).name
        except ValueError:   # a real-time signal: no name of its own
            status = 'killed by signal %d' % -rc
    qemu_err = _tail(os.path.join(os.path.dirname(host['console']), 'qemu.err'), 1000).strip()
    return '%s: qemu exited (%s) %s: %s\nconsole:\n%s' % (
        host['name'], status, when, qemu_err or 'nothing on its stderr', _tail(host['console']))


def gone(host):
    """None while the qemu of ``host`` (one of pair()'s) runs, else why it
    stopped: its exit status, its stderr and the console's end.  For the
    failure of a test whose VM died under it (ssh then only says that the
    connection was refused)."""
    if host['qemu'].poll() is None:
        return None
    return _exited(host, host['qemu'], 'while the pair was up')


def inventory(hosts, path, extra_vars=None):
    """Write an Ansible YAML inventory of ``hosts`` (pair()'s) to ``path``:
    every VM in group all, reached over ssh as root with the pair's key
    (no host key check, pipelining), python /usr/bin/python3, and
    ``criu_migrate_address`` its address on the network between the VMs;
    ``extra_vars`` (a dict) become the group's vars.  Returns ``path``."""
    lines = ['# vm.pair() of tests/tools/vm.py', 'all:', '  hosts:']
    # ssh's options of SSH_OPTIONS but BatchMode (ansible's own choice).
    common = ' '.join('-o ' + o for o in SSH_OPTIONS[1::2] if not o.startswith('BatchMode'))
    for host in hosts:
        hv = {'ansible_host': '127.0.0.1', 'ansible_port': host['ssh_port'], 'ansible_user': 'root',
              'ansible_ssh_private_key_file': host['key'],
              'ansible_ssh_common_args': common,
              'ansible_ssh_pipelining': True, 'ansible_ssh_timeout': 60,
              'ansible_python_interpreter': '/usr/bin/python3',
              'criu_migrate_address': host['address']}
        lines.append('    %s:' % host['name'])
        lines += ['      %s: %s' % (k, json.dumps(v)) for k, v in hv.items()]
    if extra_vars:
        lines.append('  vars:')
        lines += ['    %s: %s' % (json.dumps(str(k)), json.dumps(v)) for k, v in sorted(extra_vars.items())]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return path


def _serve(args):
    kernel = args.kernel.split(',') if ',' in args.kernel else args.kernel

    def stop(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)
    try:
        with pair(kernel, args.count, timeout=args.timeout, memory=args.memory, append=args.append) as hosts:
            path = inventory(hosts, args.inventory or os.path.join(os.path.dirname(hosts[0]['key']), 'inventory.yml'))
            for host in hosts:
                sys.stderr.write('[vm] %s: kernel %s, ssh after %s s: %s\n' % (
                    host['name'], host['kernel'], host['ssh_s'], ' '.join(ssh_argv(host))))
            sys.stderr.write('[vm] inventory %s (Ctrl-C or SIGTERM stops the VMs):\n' % path)
            with open(path) as f:
                sys.stdout.write(f.read())
            sys.stdout.flush()
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        sys.stderr.write('[vm] stopped\n')
        return 0
    except VMError as exc:
        sys.stderr.write('[vm] %s\n' % exc)
        return 125


def print_run(res, tag):
    """The command line's end of a run: the job's output, a line of timings
    on stderr (the console's end too when there is no result), and the exit
    code to leave with (125 when the job gave none)."""
    sys.stdout.write(res['stdout'])
    sys.stderr.write(res['stderr'])
    sys.stderr.write('[%s] kernel %s: userspace after %s s, command %s s, wall %s s%s\n' % (
        tag, res['kernel'], res['boot_s'], res['run_s'], res['wall_s'],
        ('; ' + res['error']) if res['error'] else ''))
    if res['rc'] is None:
        sys.stderr.write(res['console'][-2000:] + '\n')
        return 125
    return res['rc']


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
    p = sub.add_parser('serve')
    p.add_argument('--kernel', default='6.12', help='one for all VMs, or one per VM separated by commas')
    p.add_argument('--count', type=int, default=2)
    p.add_argument('--inventory', help='write the Ansible inventory there (default: in the pair\'s temporary directory)')
    p.add_argument('--timeout', type=float, default=600, help='seconds until ssh answers on every VM')
    p.add_argument('--memory', default='1G')
    p.add_argument('--append', default='')
    args = parser.parse_args(argv)
    if args.cmd == 'serve':
        return _serve(args)
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
        return print_run(run(args.kernel, ' '.join(shlex.quote(c) for c in cmd), args.append, args.timeout), 'vm')
    parser.print_help()
    return 2


if __name__ == '__main__':
    sys.exit(main())
