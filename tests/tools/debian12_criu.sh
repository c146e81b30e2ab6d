#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Debian 12's own criu (3.17.1), unpacked into a cache directory and never
# installed: the real "criu too old for this kernel" case (on kernels >= 6.13
# it stops in its vDSO set-up, before any check).  The host's PATH, its dpkg
# database and /usr are left alone.
#
#   tests/tools/debian12_criu.sh build
#       Download criu and those of its library dependencies that this host
#       lacks with `apt-get download` from the host's configured suites
#       (bookworm here), unpack them with `dpkg-deb -x`, check with ldd that
#       every shared library resolves, and print the directory
#       (idempotent; a few seconds the first time).
#   tests/tools/debian12_criu.sh path
#       Print the directory; exit 1 when it is not built.
#   tests/tools/debian12_criu.sh env
#       Print PATH=... and LD_LIBRARY_PATH=... lines that make this criu the
#       first `criu` on PATH for one command (env "$(...)" is not needed:
#       `env $(tests/tools/debian12_criu.sh env) criu --version`).
#
# Layout: DIR/root (the unpacked packages), DIR/root/usr/sbin/criu, the libraries
# under DIR/root/usr/lib/<multiarch>.  DIR is
# ${CRIU_CHECK_USER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-check}/debian12-criu.
# Only for hosts whose apt sources hold Debian 12's criu (the apt candidate
# must be a 3.17.x); anything else is refused with the version apt offers.
set -euo pipefail

CACHE=${CRIU_CHECK_USER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/criu-check}
DIR="$CACHE/debian12-criu"

log() { printf '[debian12_criu] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

is_built() { [ -x "$DIR/root/usr/sbin/criu" ] && [ -f "$DIR/stamp" ]; }

libdirs() {
    local d dirs=()
    for d in "$DIR"/root/usr/lib/*-linux-gnu "$DIR"/root/lib/*-linux-gnu "$DIR"/root/usr/lib; do
        [ -d "$d" ] && dirs+=("$d")
    done
    (IFS=:; echo "${dirs[*]}")
}

cmd_build() {
    if is_built; then
        echo "$DIR"
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get is missing: this tool needs a Debian host"
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.debian12-criu.lock"
    flock 9
    if is_built; then
        echo "$DIR"
        return 0
    fi
    local candidate
    candidate=$(apt-cache policy criu | awk '/Candidate:/ {print $2}')
    case "$candidate" in
        3.17.*) ;;
        *) die "apt offers criu '${candidate:-none}', not Debian 12's 3.17.x: run this on a Debian 12 host" ;;
    esac
    local tmp
    tmp=$(mktemp -d "$CACHE/debian12-criu.build.XXXXXX")
    # apt-get download runs as _apt, which must be able to write here.
    chmod 755 "$tmp"
    trap 'rm -rf "$tmp"' EXIT
    # criu plus every library it depends on that this host does not have.
    local pkgs=(criu) dep
    while read -r dep; do
        case "$dep" in
            '<'*|python3*|libc6) continue ;;
        esac
        if ! dpkg-query -W -f '${Status}' "$dep" 2>/dev/null | grep -q 'install ok installed'; then
            pkgs+=("$dep")
        fi
    done < <(apt-cache depends --important criu | awk '$1 == "Depends:" {print $2}')
    log "apt-get download ${pkgs[*]}"
    (cd "$tmp" && apt-get download -q "${pkgs[@]}" >&2) || die "apt-get download ${pkgs[*]} failed"
    mkdir "$tmp/root"
    local deb
    for deb in "$tmp"/*.deb; do
        dpkg-deb -x "$deb" "$tmp/root"
    done
    rm -f "$tmp"/*.deb
    [ -x "$tmp/root/usr/sbin/criu" ] || die "the criu package held no usr/sbin/criu"
    rm -rf "$DIR"
    mv -T "$tmp" "$DIR"
    trap - EXIT
    local missing
    missing=$(LD_LIBRARY_PATH=$(libdirs) ldd "$DIR/root/usr/sbin/criu" | awk '/not found/ {print $1}' || true)
    if [ -n "$missing" ]; then
        rm -rf "$DIR"
        die "criu still misses shared libraries: $missing"
    fi
    echo "$candidate" >"$DIR/stamp"
    echo "$DIR"
}

cmd_path() {
    is_built || { log "not built: run '$0 build'"; exit 1; }
    echo "$DIR"
}

cmd_env() {
    cmd_path >/dev/null
    echo "PATH=$DIR/root/usr/sbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "LD_LIBRARY_PATH=$(libdirs)"
}

case "${1:-}" in
    build) cmd_build ;;
    path) cmd_path ;;
    env) cmd_env ;;
    *) sed -n '3,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
