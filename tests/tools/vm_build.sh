#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the disk image and the kernels the VM tests boot (tests/tools/vm.py).
#
#   tests/tools/vm_build.sh build    build if needed (idempotent), print the directory
#   tests/tools/vm_build.sh path     print the directory; exit 1 when it is not built
#
# The directory is ${CRIU_CHECK_VM_CACHE:-~/.cache/criu-check/vm}/KEY, KEY
# being a hash of this script, of tests/tools/vm_init.sh (the init copied
# into the image) and of tests/tools/vm_zipimport_cache.py: change one and the
# next build makes a new one (and removes the old ones).  It holds:
#   root.ext4               a Debian sid root (mmdebstrap), made by mkfs.ext4 -d
#                           without mounting anything
#   vmlinuz-REL, initrd.img-REL
#                           Debian's linux-image-amd64 of bullseye (5.10),
#                           bookworm (6.1), trixie (6.12) and sid, each with an
#                           initramfs-tools initramfs (virtio and ext4 modules)
#   kernels.json            {"5.10": "REL", ...}: major.minor -> release
#   manifest.json           criu versions, package versions, build time
# The root holds criu (sid's, 4.2.1), /opt/criu-4.1.1/bin/criu (trixie's criu
# 4.1.1 with trixie's libnet.so.1 beside it), python3 with pyroute2 and
# python-ptrace, ansible-core, iptables, nftables, openssh-server (host keys
# made here, so that vm.pair() boots do not wait for them), the modules of
# all four kernels, the bytecode of its Python's libraries in $VM_PYCACHE, and
# vm_zipimport_cache.py (Ansible's zipped modules compiled once a boot).
# The mirror is the one apt uses here (tests/tools/common.sh).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
CACHE=${CRIU_CHECK_VM_CACHE:-${CRIU_CHECK_HOME:-$HOME/.cache/criu-check}/vm}
SUITES="bullseye bookworm trixie sid"
PACKAGES=criu,python3,python3-pyroute2,python3-ptrace,ansible-core,initramfs-tools,kmod,mount,util-linux,libcap2-bin,iptables,nftables,iproute2,procps,tar,openssh-server
# Where the VMs' Python keeps bytecode (tests/vm/inside_vm.py PYCACHE).
VM_PYCACHE=/var/cache/criu-vm-pycache
# What the initramfs needs to find the root disk (the rest is loaded from it).
INITRAMFS_MODULES="virtio_pci virtio_blk ext4"

log() { printf '[vm_build] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# mirror
# shellcheck source=tests/tools/common.sh
. "$HERE/common.sh"

key() {
    cat "$SELF" "$HERE/vm_init.sh" "$HERE/vm_zipimport_cache.py" | sha256sum | cut -c1-16
}

DIR="$CACHE/$(key)"

built() { [ -f "$DIR/.complete" ]; }

# Runs inside mmdebstrap as a customize hook: $1 is the new root.
hook_kernels() {
    local root=$1 names n
    printf '%s\n' $INITRAMFS_MODULES >"$root/etc/initramfs-tools/modules"
    sed -i -e 's/^MODULES=.*/MODULES=list/' -e 's/^COMPRESS=.*/COMPRESS=gzip/' \
        "$root/etc/initramfs-tools/initramfs.conf"
    grep -q '^COMPRESS=gzip' "$root/etc/initramfs-tools/initramfs.conf" ||
        echo COMPRESS=gzip >>"$root/etc/initramfs-tools/initramfs.conf"
    # Every suite's linux-image-amd64 depends on one versioned image package:
    # those install side by side.
    names=$(chroot "$root" apt-cache show linux-image-amd64 |
        awk '/^Depends:/ { for (i = 2; i <= NF; i++) { gsub(",", "", $i);
             if ($i ~ /^linux-image-[0-9].*-amd64$/) print $i } }' | sort -u)
    n=$(echo "$names" | wc -w)
    [ "$n" -ge 4 ] || die "expected the kernels of $SUITES, apt offers: $names"
    log "kernels: $(echo $names)"
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $names >&2
    # trixie's criu 4.1.1, and the libnet.so.1 it was built with (sid has libnet9).
    mkdir -p "$root/opt/criu-4.1.1/bin" "$root/opt/criu-4.1.1/lib" "$root/tmp/criu411"
    chroot "$root" sh -c 'cd /tmp/criu411 && apt-get download -q criu/trixie libnet1/trixie' >&2
    local deb
    for deb in "$root"/tmp/criu411/*.deb; do
        dpkg-deb -x "$deb" "$root/tmp/criu411/x"
    done
    cp "$root/tmp/criu411/x/usr/sbin/criu" "$root/opt/criu-4.1.1/criu"
    cp -a "$root"/tmp/criu411/x/usr/lib/x86_64-linux-gnu/libnet.so.1* "$root/opt/criu-4.1.1/lib/"
    rm -rf "$root/tmp/criu411"
    cat >"$root/opt/criu-4.1.1/bin/criu" <<'EOF'
#!/bin/sh
LD_LIBRARY_PATH=/opt/criu-4.1.1/lib exec /opt/criu-4.1.1/criu "$@"
EOF
    chmod 755 "$root/opt/criu-4.1.1/bin/criu"
    install -m 755 "$HERE/vm_init.sh" "$root/sbin/criu-vm-init"
    # sshd of vm.pair(): host keys now (not at every boot); root logs in with
    # the pair's key only (its password is "*" in /etc/passwd, no shadow: no
    # password matches, and sshd without PAM does not take it for locked).
    chroot "$root" ssh-keygen -A >&2
    # Ansible's tasks in the VMs compile its zipped module_utils once a boot,
    # not in every task (1.5 s each under TCG): see the file.
    install -m 644 "$HERE/vm_zipimport_cache.py" "$root/usr/lib/python3/dist-packages/vm_zipimport_cache.py"
    echo 'import vm_zipimport_cache' >"$root/usr/lib/python3/dist-packages/vm_zipimport_cache.pth"
    chroot "$root" python3 -m py_compile /usr/lib/python3/dist-packages/vm_zipimport_cache.py >&2
    # The VMs' jobs run Python with PYTHONPYCACHEPREFIX=$VM_PYCACHE (the
    # checkout is read-only there: tests/vm/inside_vm.py), which hides
    # Debian's own bytecode of the standard library, pyroute2, python-ptrace
    # and ansible-core: compiled into it here, natively, instead of under TCG
    # in every boot's first run and every new Python's start-up (3-4 s of each
    # boot's first run).  The collection's own bytecode goes there at each boot.
    chroot "$root" env PYTHONPYCACHEPREFIX="$VM_PYCACHE" python3 -c '
import compileall, os, sys
for path in sys.path:
    if path.startswith("/usr/lib/") and os.path.isdir(path):
        compileall.compile_dir(path, quiet=2)
' >&2
    [ -d "$root$VM_PYCACHE/usr/lib" ] || die "no bytecode in $VM_PYCACHE"
    grep -q '^root:\*:' "$root/etc/passwd" || die "root has a password in the image: $(grep ^root: "$root/etc/passwd")"
    mkdir -p "$root/src" "$root/job" "$root/out"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
}

cmd_build() {
    [ "$(id -u)" = 0 ] || die "needs root (mmdebstrap in root mode)"
    if built; then echo "$DIR"; return 0; fi
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
    command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    if built; then echo "$DIR"; return 0; fi
    local m t0 work root sources=() s
    t0=$(date +%s)
    m=$(mirror)
    for s in $SUITES; do sources+=("deb $m $s main"); done
    rm -rf "$DIR"
    work="$DIR.build"
    rm -rf "$work"
    mkdir -p "$work"
    root="$work/root"
    log "mmdebstrap sid + kernels of $SUITES from $m into $root (log $work/mmdebstrap.log)"
    if ! mmdebstrap --mode=root --variant=apt --include="$PACKAGES" \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook="$SELF __hook_kernels \"\$1\"" \
        sid "$root" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1; then
        tail -n 40 "$work/mmdebstrap.log" >&2
        die "mmdebstrap failed (log: $work/mmdebstrap.log)"
    fi
    log "root built in $(($(date +%s) - t0)) s"
    local rel kernels='{' sep=''
    for rel in $(ls "$root/boot" | sed -n 's/^vmlinuz-//p'); do
        [ -f "$root/boot/initrd.img-$rel" ] || die "no initramfs for $rel"
        cp "$root/boot/vmlinuz-$rel" "$root/boot/initrd.img-$rel" "$work/"
        kernels+="$sep\"$(echo "$rel" | cut -d. -f1,2)\": \"$rel\""
        sep=', '
    done
    kernels+='}'
    echo "$kernels" >"$work/kernels.json"
    local c421 c411
    c421=$(chroot "$root" criu --version | tr '\n' ' ')
    c411=$(chroot "$root" /opt/criu-4.1.1/bin/criu --version | tr '\n' ' ')
    printf '{"criu": "%s", "criu_411": "%s", "kernels": %s, "built": "%s", "build_s": %s}\n' \
        "$c421" "$c411" "$kernels" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" >"$work/manifest.json"
    # Room for the root plus a margin: the VMs write to it (under -snapshot).
    local mb
    mb=$(( $(du -sm "$root" | cut -f1) * 12 / 10 + 300 ))
    # No orphan_file / metadata_csum_seed: 5.10's ext4 would mount it read-only.
    mkfs.ext4 -q -F -L criu-vm-root -O ^orphan_file,^metadata_csum_seed -E root_owner=0:0 \
        -d "$root" "$work/root.ext4" "${mb}M"
    rm -rf "$root"
    mv -T "$work" "$DIR"
    touch "$DIR/.complete"
    # Older builds (another key) are garbage now; tmp holds the work
    # directories of the VMs running now (vm.py).
    local old
    for old in "$CACHE"/*; do
        [ -d "$old" ] && [ "$old" != "$DIR" ] && [ "$old" != "$CACHE/tmp" ] && rm -rf "$old"
    done
    log "built $DIR in $(($(date +%s) - t0)) s: $kernels"
    echo "$DIR"
}

case "${1:-}" in
    build) cmd_build ;;
    path) built && echo "$DIR" || { log "not built: $DIR"; exit 1; } ;;
    key) key ;;
    __hook_kernels) hook_kernels "$2" ;;
    *) sed -n '3,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
