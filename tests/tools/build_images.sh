#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Build the container images the molecule scenarios run on, without any image
# registry: debootstrap a Debian root, then `podman import` it.
#
#   tests/tools/build_images.sh            # build what is missing or stale
#   tests/tools/build_images.sh --force    # rebuild roots and images
#
# Images (one per Debian release; each a minbase root with python3 and what
# Ansible's modules need, nothing of criu: the install role puts it there):
#   localhost/criu-check-debian12:latest   bookworm
#   localhost/criu-check-debian13:latest   trixie
#   localhost/criu-check-debian13-criu:latest
#                                          trixie with criu, python3-pyroute2
#                                          and python3-ptrace preinstalled (the
#                                          multi-host scenario runs offline)
#
# Roots are cached under ${CRIU_CHECK_CACHE:-/var/cache/criu-check}/images/NAME
# with a stamp holding the hash of their recipe; an image carries the same hash
# as a label.  A second run with nothing changed does nothing (about 0.2 s).
#
# Needs root, debootstrap and podman (Debian: apt-get install debootstrap podman
# runc).  Podman is run with the containers.conf written by podman_env (common.sh).
set -euo pipefail

CACHE=${CRIU_CHECK_CACHE:-/var/cache/criu-check}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

log() { printf '[build_images] %s\n' "$*" >&2; }

# mirror, podman_env
# shellcheck source=tests/tools/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# build NAME SUITE PACKAGES...
build() {
    local name=$1 suite=$2
    shift 2
    local pkgs
    pkgs=$(IFS=,; echo "$*")
    local m
    m=$(mirror)
    local recipe="v1 suite=$suite mirror=$m packages=$pkgs"
    local hash
    hash=$(printf '%s' "$recipe" | sha256sum | cut -c1-16)
    local root="$CACHE/images/$name"
    local image="localhost/criu-check-$name:latest"

    if [ "$FORCE" = 1 ] || [ "$(cat "$root.stamp" 2>/dev/null)" != "$hash" ]; then
        log "debootstrap $suite into $root ($pkgs)"
        rm -rf "$root" "$root.stamp" "$root.new"
        mkdir -p "$CACHE/images"
        debootstrap --variant=minbase --include="$pkgs" "$suite" "$root.new" "$m" \
            >"$CACHE/images/$name.log" 2>&1 || {
            tail -n 30 "$CACHE/images/$name.log" >&2
            log "debootstrap $suite failed (log: $CACHE/images/$name.log)"
            return 1
        }
        # Smaller images, and apt inside the container sees the same mirror.
        rm -rf "$root.new"/var/cache/apt/archives/*.deb "$root.new"/var/lib/apt/lists/*
        printf 'deb %s %s main\n' "$m" "$suite" >"$root.new/etc/apt/sources.list"
        # No daemons may start inside the image while packages install.
        printf '#!/bin/sh\nexit 101\n' >"$root.new/usr/sbin/policy-rc.d"
        chmod 755 "$root.new/usr/sbin/policy-rc.d"
        mv "$root.new" "$root"
        echo "$hash" >"$root.stamp"
    fi

    local have
    have=$(podman image inspect --format '{{ index .Labels "criu-check.recipe" }}' "$image" 2>/dev/null || true)
    if [ "$FORCE" = 1 ] || [ "$have" != "$hash" ]; then
        log "podman import $root -> $image"
        tar -C "$root" --numeric-owner -c . |
            podman import -q --change "LABEL=criu-check.recipe=$hash" \
                --change 'CMD=["/bin/bash"]' - "$image" >/dev/null
    fi
    log "ok $image"
}

main() {
    if [ "$(id -u)" != 0 ]; then
        log "needs root (debootstrap, rootful podman)"
        exit 1
    fi
    for tool in debootstrap podman; do
        command -v "$tool" >/dev/null || { log "missing $tool: apt-get install debootstrap podman runc"; exit 1; }
    done
    podman_env
    # python3-apt: the apt module; the rest comes from minbase.
    build debian12 bookworm python3,python3-apt &
    local p12=$!
    build debian13 trixie python3,python3-apt &
    local p13=$!
    local rc=0
    wait "$p12" || rc=1
    wait "$p13" || rc=1
    [ "$rc" = 0 ] || exit "$rc"
    build debian13-criu trixie python3,python3-apt,criu,python3-pyroute2,python3-ptrace,iptables
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi
