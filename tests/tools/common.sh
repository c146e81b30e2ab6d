# shellcheck shell=bash
# SPDX-License-Identifier: GPL-3.0-or-later
# Shell functions shared by criu_root.sh and build_images.sh (sourced; they
# expect $CACHE, the cache directory, to be set).

# The Debian mirror apt is configured with on this machine (the only one
# reachable): CRIU_CHECK_MIRROR, else the URIs: line of the deb822 sources,
# else the first deb line of sources.list.
mirror() {
    if [ -n "${CRIU_CHECK_MIRROR:-}" ]; then
        echo "$CRIU_CHECK_MIRROR"
        return
    fi
    local m=""
    if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
        m=$(awk '/^URIs:/ {print $2}' /etc/apt/sources.list.d/*.sources |
            grep -v -e security -e updates | head -n1 || true)
    fi
    if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
        m=$(awk '/^deb / && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
    fi
    echo "${m:-http://deb.debian.org/debian}"
}

# podman on these machines: runc (crun refuses the hybrid cgroups) and
# ulimits that need no CAP_SYS_RESOURCE; exports CONTAINERS_CONF.
podman_env() {
    local conf="$CACHE/containers.conf" want
    want=$'[engine]\nruntime = "runc"\n\n[containers]\ndefault_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]\n'
    if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "${want%$'\n'}" ]; then
        mkdir -p "$CACHE"
        printf '%s' "$want" >"$conf.tmp.$$"
        mv "$conf.tmp.$$" "$conf"
    fi
    export CONTAINERS_CONF="$conf"
}
