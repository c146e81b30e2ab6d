#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# The kernel configuration and module lists of a real Debian kernel package,
# for the kernel-config tests (tests/system/test_kernel_config.py).
#
#   tests/tools/debian_kernel.sh [PACKAGE]
#       Print a directory laid out as a root file system:
#         boot/config-RELEASE
#         lib/modules/RELEASE/{modules.builtin,modules.builtin.modinfo,modules.order,modules.dep}
#       PACKAGE defaults to the linux-image-*-amd64 package that
#       linux-image-amd64 depends on (what apt would install).  The package is
#       fetched with `apt-get download` from the mirror apt is configured with,
#       and unpacked with dpkg-deb; only those files are kept, under
#       ${CRIU_CHECK_KERNELS:-~/.cache/criu-check/kernels}/PACKAGE_VERSION.
#       Idempotent: a second call prints the cached directory.
#
# modules.dep is not in the package: depmod writes it when the package is
# installed.  Here it is written from the package's own file list (every
# kernel/**/*.ko* it ships, one "path:" line each, as depmod names them),
# without dependencies, which the tests do not need.
set -euo pipefail

PACKAGE=${1:-}
if [ -z "$PACKAGE" ]; then
    PACKAGE=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
if [ -z "$PACKAGE" ]; then
    echo "debian_kernel.sh: apt knows no linux-image-amd64 (run apt-get update?)" >&2
    exit 1
fi
VERSION=$(apt-cache policy "$PACKAGE" 2>/dev/null | awk '/Candidate:/ {print $2}')
if [ -z "$VERSION" ] || [ "$VERSION" = "(none)" ]; then
    echo "debian_kernel.sh: apt has no candidate for $PACKAGE" >&2
    exit 1
fi
CACHE=${CRIU_CHECK_KERNELS:-$HOME/.cache/criu-check/kernels}
DEST="$CACHE/${PACKAGE}_${VERSION//[:~]/_}"
if [ -f "$DEST/.complete" ]; then
    echo "$DEST"
    exit 0
fi

mkdir -p "$CACHE"
WORK=$(mktemp -d "$CACHE/.work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"   # apt-get download drops to _apt when it can
(cd "$WORK" && apt-get download -q "$PACKAGE=$VERSION" >/dev/null 2>"$WORK/apt.err") || {
    cat "$WORK/apt.err" >&2
    exit 1
}
DEB=$(ls "$WORK"/*.deb)
mkdir "$WORK/root"
dpkg-deb --fsys-tarfile "$DEB" |
    tar -x -C "$WORK/root" --wildcards './boot/config-*' './lib/modules/*/modules.builtin' \
        './lib/modules/*/modules.builtin.modinfo' './lib/modules/*/modules.order'
CONFIG=$(ls "$WORK"/root/boot/config-*)
RELEASE=${CONFIG##*/config-}
dpkg-deb -c "$DEB" | awk -v rel="$RELEASE" '
    {
        path = $NF
        prefix = "./lib/modules/" rel "/"
        if (index(path, prefix) == 1 && path ~ /\.ko(\.(xz|zst|gz))?$/)
            print substr(path, length(prefix) + 1) ":"
    }' >"$WORK/root/lib/modules/$RELEASE/modules.dep"
if [ ! -s "$WORK/root/lib/modules/$RELEASE/modules.dep" ]; then
    echo "debian_kernel.sh: $PACKAGE ships no modules under /lib/modules/$RELEASE" >&2
    exit 1
fi
rm -rf "$DEST"
mv "$WORK/root" "$DEST"
touch "$DEST/.complete"
echo "$DEST"
