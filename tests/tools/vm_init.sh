#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
#
# PID 1 of the test VMs (tests/tools/vm.py; installed as /sbin/criu-vm-init by
# tests/tools/vm_build.sh).  No systemd: mount what a host has, share the
# checkout read-only at /src, run the job, write its output to a disk, power off.
#
# Disks: vda the root (under qemu -snapshot), vdb the job (a tar holding an
# executable "run"), vdc the result (this script writes a tar of /out to it:
# stdout, stderr, rc, times), vdd (only when there is no 9p) the checkout.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

up() { cut -d' ' -f1 /proc/uptime; }

mountpoint -q /proc || mount -t proc -o nosuid,nodev,noexec proc /proc
mountpoint -q /sys || mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mountpoint -q /dev || mount -t devtmpfs -o mode=755 devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/net
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mountpoint -q /run || mount -t tmpfs -o mode=755,nosuid,nodev tmpfs /run
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /out
mount -o remount,rw / 2>/dev/null
[ -e /dev/ptmx ] || ln -s pts/ptmx /dev/ptmx
# What systemd-tmpfiles does on a host from the kernel's static nodes
# (kmod static-nodes): /dev/net/tun and friends exist before their module loads.
kmod static-nodes --format=tmpfiles 2>/dev/null | while read -r type path mode uid gid age arg; do
    case "$type" in
        c* | b*) [ -e "$path" ] || { mkdir -p "$(dirname "$path")"; mknod -m "$mode" "$path" "${type%!}" \
            "${arg%%:*}" "${arg##*:}" 2>/dev/null; } ;;
        d*) mkdir -p "$path" ;;
    esac
done
# udev's rule (50-udev-default.rules): KERNEL=="tun", MODE="0666".
[ -c /dev/net/tun ] && chmod 666 /dev/net/tun
echo criu-vm >/proc/sys/kernel/hostname
ip link set lo up 2>/dev/null

boot_s=$(up)
echo "criu-vm-init: userspace at ${boot_s}s" >/dev/console

if modprobe -q 9pnet_virtio 2>/dev/null && modprobe -q 9p 2>/dev/null &&
    mount -t 9p -o trans=virtio,version=9p2000.L,ro src /src 2>/dev/null; then
    share=9p
elif dev=$(blkid -L criu-vm-src 2>/dev/null) && mount -o ro "$dev" /src; then
    share=disk
else
    share=none
fi

mkdir -p /job
if tar -x -C /job -f /dev/vdb 2>/out/job.err && [ -x /job/run ]; then
    echo "criu-vm-init: running the job (checkout shared by $share)" >/dev/console
    start_s=$(up)
    /job/run >/out/stdout 2>/out/stderr </dev/null
    echo $? >/out/rc
    end_s=$(up)
else
    echo "no job on /dev/vdb" >/out/stderr
    echo 125 >/out/rc
    start_s=$(up)
    end_s=$start_s
fi
printf '{"boot_s": %s, "start_s": %s, "end_s": %s, "share": "%s", "kernel": "%s"}\n' \
    "$boot_s" "$start_s" "$end_s" "$share" "$(uname -r)" >/out/times.json
tar -c -C /out . | dd of=/dev/vdc bs=1M conv=fsync 2>/dev/null
sync
echo "criu-vm-init: done, powering off" >/dev/console
echo o >/proc/sysrq-trigger
sleep 10
poweroff -f
