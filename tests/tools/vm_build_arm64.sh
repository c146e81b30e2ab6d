#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the arm64 disk image and kernel the arm64 VM test boots
# (tests/tools/vm_arm64.py, tests/vm/test_vm_arm64.py).
#
#   tests/tools/vm_build_arm64.sh build    build if needed (idempotent), print the directory
#   tests/tools/vm_build_arm64.sh path     print the directory; exit 1 when it is not built
#   tests/tools/vm_build_arm64.sh key      print the cache key
#
# The directory is ${CRIU_CHECK_VM_ARM64_CACHE:-~/.cache/criu-check/vm-arm64}/KEY,
# KEY being a hash of this script and of tests/tools/vm_init.sh (the init
# copied unchanged into the image: it is the x86_64 image's, and has nothing
# arch-specific); a new key removes the older builds.  It holds:
#   root.ext4               a Debian sid arm64 root (mmdebstrap --arch=arm64),
#                           made by mkfs.ext4 -d without mounting anything
#   vmlinuz-REL, initrd.img-REL
#                           sid's linux-image-arm64 and its initramfs-tools
#                           initramfs (virtio-pci, virtio-blk and ext4 modules)
#   Image-REL               the same kernel uncompressed (qemu -kernel boots it
#                           whatever the compression of vmlinuz)
#   kernels.json            {"7.2": "REL"}: major.minor -> release
#   manifest.json           criu's version, build time
# The root holds criu (sid's, 4.2.1), python3 with pyroute2 and python-ptrace,
# iproute2, iptables, nftables, and the kernel's modules.
#
# How, on an x86_64 host: the arm64 packages are configured in a chroot
# through qemu-user-static, registered with binfmt_misc for this build only
# (flag F, so that the interpreter works inside the chroot); the registration,
# and the binfmt_misc mount when this script made it, are undone on exit.
# qemu-user-static, arch-test (mmdebstrap wants it) and qemu-system-arm are installed (apt-get, no
# recommends) when missing: only the arm64 test needs them.
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
CACHE=${CRIU_CHECK_VM_ARM64_CACHE:-${CRIU_CHECK_HOME:-$HOME/.cache/criu-check}/vm-arm64}
PACKAGES=criu,python3,python3-pyroute2,python3-ptrace,initramfs-tools,kmod,mount,util-linux,libcap2-bin,iptables,nftables,iproute2,procps,tar
HOST_PACKAGES="qemu-user-static qemu-system-arm arch-test"
# What the initramfs needs to find the root disk (the rest is loaded from it).
INITRAMFS_MODULES="virtio_pci virtio_mmio virtio_blk ext4"
BINFMT=/proc/sys/fs/binfmt_misc

log() { printf '[vm_build_arm64] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# mirror
# shellcheck source=tests/tools/common.sh
. "$HERE/common.sh"

key() {
    cat "$SELF" "$HERE/vm_init.sh" | sha256sum | cut -c1-16
}

DIR="$CACHE/$(key)"

built() { [ -f "$DIR/.complete" ]; }

host_packages() {
    local p missing=()
    for p in $HOST_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "installing ${missing[*]} (apt-get install --no-install-recommends)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || {
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    }
}

# binfmt_misc: mounted and qemu-aarch64 registered for the build only.
MOUNTED_BINFMT=0
REGISTERED=0
binfmt_undo() {
    if [ "$REGISTERED" = 1 ] && [ -e "$BINFMT/qemu-aarch64" ]; then
        echo -1 >"$BINFMT/qemu-aarch64" || log "could not unregister $BINFMT/qemu-aarch64"
    fi
    REGISTERED=0
    if [ "$MOUNTED_BINFMT" = 1 ]; then
        umount "$BINFMT" || log "could not unmount $BINFMT"
    fi
    MOUNTED_BINFMT=0
}

binfmt_setup() {
    if [ ! -e "$BINFMT/register" ]; then
        mount -t binfmt_misc binfmt_misc "$BINFMT" || die "cannot mount binfmt_misc on $BINFMT"
        MOUNTED_BINFMT=1
    fi
    if [ -e "$BINFMT/qemu-aarch64" ]; then
        grep -q '^flags:.*F' "$BINFMT/qemu-aarch64" ||
            die "$BINFMT/qemu-aarch64 is registered without the F flag: the chroot cannot use it"
        log "qemu-aarch64 already registered with binfmt_misc: using it"
        return 0
    fi
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf line
    [ -f "$conf" ] || die "$conf is missing (qemu-user-static)"
    # Debian's line, with F (fix binary: opened now, usable in a chroot).
    line=$(grep '^:qemu-aarch64:' "$conf")
    case "${line##*:}" in *F*) ;; *) line="${line}F" ;; esac
    printf '%s' "$line" >"$BINFMT/register" || die "cannot register qemu-aarch64 with binfmt_misc"
    REGISTERED=1
    log "registered qemu-aarch64 with binfmt_misc (undone on exit)"
}

# Runs inside mmdebstrap as a customize hook: $1 is the new root.
hook_kernel() {
    local root=$1
    printf '%s\n' $INITRAMFS_MODULES >"$root/etc/initramfs-tools/modules"
    sed -i -e 's/^MODULES=.*/MODULES=list/' -e 's/^COMPRESS=.*/COMPRESS=gzip/' \
        "$root/etc/initramfs-tools/initramfs.conf"
    grep -q '^COMPRESS=gzip' "$root/etc/initramfs-tools/initramfs.conf" ||
        echo COMPRESS=gzip >>"$root/etc/initramfs-tools/initramfs.conf"
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends linux-image-arm64 >&2
    install -m 755 "$HERE/vm_init.sh" "$root/sbin/criu-vm-init"
    mkdir -p "$root/src" "$root/job" "$root/out"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
}

# An uncompressed Image of vmlinuz (gzip, or an EFI zboot image whose
# payload is gzip: qemu's -kernel needs a plain or gzip Image).
plain_image() {
    local src=$1 dst=$2 off
    if gzip -t "$src" 2>/dev/null; then
        gzip -dc "$src" >"$dst"
        return
    fi
    if [ "$(head -c 2 "$src")" = "MZ" ] && [ "$(dd if="$src" bs=1 skip=4 count=4 2>/dev/null)" = "zimg" ]; then
        # struct in drivers/firmware/efi/libstub/zboot-header.S: payload offset, size at 8, 12.
        local po ps comp
        po=$(od -An -tu4 -j8 -N4 "$src" | tr -d ' ')
        ps=$(od -An -tu4 -j12 -N4 "$src" | tr -d ' ')
        comp=$(dd if="$src" bs=1 skip=24 count=8 2>/dev/null | tr -d '\0')
        case "$comp" in
            gzip) tail -c +$((po + 1)) "$src" | head -c "$ps" | gzip -dc >"$dst" ;;
            zstd*) tail -c +$((po + 1)) "$src" | head -c "$ps" | zstd -dc >"$dst" ;;
            *) die "EFI zboot kernel with payload compression '$comp': cannot unpack" ;;
        esac
        return
    fi
    off=$(grep -abo $'\x1f\x8b\x08' "$src" | head -n1 | cut -d: -f1 || true)
    if [ -n "$off" ]; then
        tail -c +$((off + 1)) "$src" | gzip -dc >"$dst" 2>/dev/null || true
        [ -s "$dst" ] && return
    fi
    cp "$src" "$dst"
}

cmd_build() {
    [ "$(id -u)" = 0 ] || die "needs root (mmdebstrap in root mode, binfmt_misc)"
    if built; then echo "$DIR"; return 0; fi
    command -v mmdebstrap >/dev/null || die "mmdebstrap is missing: apt-get install mmdebstrap"
    command -v mkfs.ext4 >/dev/null || die "mkfs.ext4 is missing: apt-get install e2fsprogs"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock 9
    if built; then echo "$DIR"; return 0; fi
    host_packages
    trap binfmt_undo EXIT
    trap 'binfmt_undo; exit 130' INT TERM
    binfmt_setup
    local m t0 work root
    t0=$(date +%s)
    m=$(mirror)
    rm -rf "$DIR"
    work="$DIR.build"
    rm -rf "$work"
    mkdir -p "$work"
    root="$work/root"
    log "mmdebstrap --arch=arm64 sid + linux-image-arm64 from $m into $root (log $work/mmdebstrap.log)"
    if ! mmdebstrap --mode=root --arch=arm64 --variant=apt --include="$PACKAGES" \
        --aptopt='Acquire::Check-Valid-Until "false"' \
        --aptopt='APT::Install-Recommends "false"' \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        --customize-hook="$SELF __hook_kernel \"\$1\"" \
        sid "$root" "deb $m sid main" >"$work/mmdebstrap.log" 2>&1; then
        tail -n 40 "$work/mmdebstrap.log" >&2
        die "mmdebstrap failed (log: $work/mmdebstrap.log)"
    fi
    log "root built in $(($(date +%s) - t0)) s"
    local rel kernels='{' sep=''
    for rel in $(ls "$root/boot" | sed -n 's/^vmlinuz-//p'); do
        [ -f "$root/boot/initrd.img-$rel" ] || die "no initramfs for $rel"
        cp "$root/boot/vmlinuz-$rel" "$root/boot/initrd.img-$rel" "$work/"
        plain_image "$work/vmlinuz-$rel" "$work/Image-$rel"
        kernels+="$sep\"$(echo "$rel" | cut -d. -f1,2)\": \"$rel\""
        sep=', '
    done
    kernels+='}'
    [ "$kernels" != '{}' ] || die "no kernel in $root/boot"
    echo "$kernels" >"$work/kernels.json"
    local criu
    criu=$(chroot "$root" criu --version | tr '\n' ' ')
    binfmt_undo
    printf '{"arch": "arm64", "criu": "%s", "kernels": %s, "built": "%s", "build_s": %s}\n' \
        "$criu" "$kernels" "$(date -u +%FT%TZ)" "$(($(date +%s) - t0))" >"$work/manifest.json"
    local mb
    mb=$(( $(du -sm "$root" | cut -f1) * 12 / 10 + 300 ))
    mkfs.ext4 -q -F -L criu-vm-root -E root_owner=0:0 -d "$root" "$work/root.ext4" "${mb}M"
    rm -rf "$root"
    mv -T "$work" "$DIR"
    touch "$DIR/.complete"
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
    __hook_kernel) hook_kernel "$2" ;;
    *) sed -n '3,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
