#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# A Debian 13 (trixie) root with real criu 4.1.1 in it, entered the way criu
# accepts, so that `criu check` can be the oracle of the differential tests.
#
#   tests/tools/criu_root.sh build
#       Create the root if it is not there yet (idempotent; about 50 s) and
#       print its path: ${CRIU_CHECK_CACHE:-/var/cache/criu-check}/trixie.
#   tests/tools/criu_root.sh path
#       Print the root's path; exit 1 when it is not built.
#   tests/tools/criu_root.sh image
#       Import the root as localhost/criu-check-trixie:latest for podman
#       (idempotent: the image carries a stamp of the root as a label).
#   tests/tools/criu_root.sh run [--context CTX] [--bind HOST:DEST] [--] CMD...
#       Run CMD inside the root, in one of the contexts below, with this
#       repository bind-mounted read-only at /src and the working directory
#       /tmp (a fresh tmpfs).  CMD's exit code is returned.
#   tests/tools/criu_root.sh contexts
#       List the contexts.
#
# Contexts (criu's --unprivileged is the caller's business; the ones marked
# [u] are those where criu must be run with it):
#   root          root with every capability this host grants
#   nonroot   [u] uid/gid 65534, no capabilities
#   nonroot-cr [u] uid/gid 65534 with CAP_CHECKPOINT_RESTORE as an ambient
#                 capability: how CRIU documents running as non-root
#   userns        root of a new user namespace (unshare -Ur)
#   ro-proc-sys   root, /proc/sys read-only
#   no-sys-admin [u] root without CAP_SYS_ADMIN (setpriv drops it from the
#                 bounding, permitted and effective sets)
#   no-loopback   root in a network namespace of its own whose loopback is
#                 down, as after unshare -n or ip netns add without
#                 "ip link set lo up"
#   podman    [u] an unprivileged podman container of the root (rootful
#                 podman, every capability dropped except
#                 CAP_CHECKPOINT_RESTORE, podman's default seccomp profile,
#                 read-only /proc/sys, no network but loopback)
#   podman-rw [u] the same container with /proc/sys writable
#                 (--security-opt systempaths=unconfined), so that criu gets
#                 past ns_last_pid and meets the seccomp profile
#
# How the root is entered (criu refuses a plain chroot): a private mount
# namespace (unshare -m --propagation private), the root bind-mounted onto
# itself, proc, sysfs, tmpfs on /run and /tmp, /dev rbind-mounted, a new
# devpts instance (ptmxmode=0666) with /dev/ptmx bound to its ptmx, the
# repository read-only at /src, then pivot_root.  Nothing persists: every
# mount lives in the private namespace and vanishes with CMD; the podman
# container is --rm (and removed on SIGINT/SIGTERM too).
#
# Environment: CRIU_CHECK_CACHE (default /var/cache/criu-check),
# CRIU_CHECK_MIRROR (default: the URIs: line of /etc/apt/sources.list.d/*.sources),
# CRIU_CHECK_REPO (default: the checkout holding this script).
set -euo pipefail

SELF=$(readlink -f "${BASH_SOURCE[0]}")
CACHE=${CRIU_CHECK_CACHE:-/var/cache/criu-check}
ROOT="$CACHE/trixie"
REPO=${CRIU_CHECK_REPO:-$(dirname "$(dirname "$(dirname "$SELF")")")}
IMAGE=localhost/criu-check-trixie:latest
PACKAGES=criu,python3,python3-pyroute2,python3-ptrace,python3-cffi-backend,ansible-core,libcap2-bin,iptables,nftables
CONTEXTS="root nonroot nonroot-cr userns ro-proc-sys no-sys-admin no-loopback podman podman-rw"
PATH_IN_ROOT=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

log() { printf '[criu_root] %s\n' "$*" >&2; }
die() { log "$*"; exit 2; }

# mirror, podman_env
# shellcheck source=tests/tools/common.sh
. "$(dirname "$SELF")/common.sh"

need_root() {
    [ "$(id -u)" = 0 ] || die "needs root (debootstrap, mount namespaces, rootful podman)"
}

# Unmount whatever a failed debootstrap left mounted under $1, then remove it.
remove_tree() {
    local dir=$1 mnt
    [ -e "$dir" ] || return 0
    # Deepest first.
    while read -r mnt; do
        umount -l "$mnt" 2>/dev/null || true
    done < <(awk -v d="$dir" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$dir"
}

cmd_build() {
    need_root
    if [ -x "$ROOT/usr/sbin/criu" ]; then
        echo "$ROOT"
        return 0
    fi
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
    mkdir -p "$CACHE"
    # One builder at a time; a second caller waits and then finds the root.
    exec 9>"$CACHE/.trixie.lock"
    flock 9
    if [ -x "$ROOT/usr/sbin/criu" ]; then
        echo "$ROOT"
        return 0
    fi
    [ -e "$ROOT" ] && die "$ROOT exists but holds no criu: remove it and build again"
    local tmp m
    tmp=$(mktemp -d "$CACHE/trixie.build.XXXXXX")
    m=$(mirror)
    log "debootstrap trixie into $tmp from $m (about 50 s; log $tmp.log)"
    if ! debootstrap --variant=minbase --include="$PACKAGES" trixie "$tmp" "$m" >"$tmp.log" 2>&1; then
        tail -n 30 "$tmp.log" >&2
        remove_tree "$tmp"
        die "debootstrap failed (log: $tmp.log)"
    fi
    mkdir -p "$tmp/src"
    # mktemp made it 0700; as the root directory of the non-root contexts
    # it must be traversable by everyone, as / always is.
    chmod 755 "$tmp"
    mv -T "$tmp" "$ROOT"
    rm -f "$tmp.log"
    echo "$ROOT"
}

cmd_path() {
    [ -x "$ROOT/usr/sbin/criu" ] || { log "no root at $ROOT: run '$0 build'"; exit 1; }
    echo "$ROOT"
}

# What identifies the root's content: a rebuilt or upgraded root gets a new stamp.
root_stamp() {
    printf '%s-%s' "$(stat -c %i "$ROOT")" "$(stat -c %Y "$ROOT/var/lib/dpkg/status")"
}

cmd_image() {
    need_root
    cmd_path >/dev/null
    command -v podman >/dev/null || die "podman is missing: apt-get install podman runc"
    podman_env
    local stamp have
    stamp=$(root_stamp)
    have=$(podman image inspect --format '{{ index .Labels "criu-check.root" }}' "$IMAGE" 2>/dev/null || true)
    if [ "$have" != "$stamp" ]; then
        exec 8>"$CACHE/.trixie-image.lock"
        flock 8
        have=$(podman image inspect --format '{{ index .Labels "criu-check.root" }}' "$IMAGE" 2>/dev/null || true)
        if [ "$have" != "$stamp" ]; then
            local old
            old=$(podman image inspect --format '{{ .Id }}' "$IMAGE" 2>/dev/null || true)
            log "podman import $ROOT -> $IMAGE"
            tar -C "$ROOT" --numeric-owner --exclude=./.oldroot -c . |
                podman import --quiet --change "LABEL=criu-check.root=$stamp" \
                    --change 'CMD=["/bin/bash"]' - "$IMAGE" >/dev/null
            # The image it replaced is ours and now untagged: drop it.
            [ -z "$old" ] || podman rmi "$old" >/dev/null 2>&1 || true
        fi
    fi
    echo "$IMAGE"
}

# Runs in the new private mount namespace (called through unshare).
#   __enter CONTEXT NBINDS [HOST DEST]... -- CMD...
cmd_enter() {
    local context=$1 nbinds=$2
    shift 2
    local binds=()
    while [ "$nbinds" -gt 0 ]; do
        binds+=("$1" "$2")
        shift 2
        nbinds=$((nbinds - 1))
    done
    [ "$1" = "--" ] && shift

    local d=$ROOT
    mount --make-rprivate /
    mount --bind "$d" "$d"
    mount -t proc -o nosuid,nodev,noexec proc "$d/proc"
    if [ "$context" = ro-proc-sys ]; then
        mount --bind "$d/proc/sys" "$d/proc/sys"
        mount -o remount,bind,ro "$d/proc/sys"
    fi
    mount -t sysfs -o nosuid,nodev,noexec sysfs "$d/sys"
    mount -t tmpfs -o mode=755 tmpfs "$d/run"
    mount -t tmpfs -o mode=1777 tmpfs "$d/tmp"
    mount --rbind /dev "$d/dev"
    mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts "$d/dev/pts"
    mount --bind "$d/dev/pts/ptmx" "$d/dev/ptmx"
    [ -d "$d/src" ] || mkdir "$d/src"
    mount --bind -o ro "$REPO" "$d/src"
    local i
    for ((i = 0; i < ${#binds[@]}; i += 2)); do
        mkdir -p "$d/${binds[i + 1]}"
        mount --bind -o ro "${binds[i]}" "$d/${binds[i + 1]}"
    done
    cd "$d"
    pivot_root . .
    # From here on only the root's own binaries exist.
    umount -l .
    cd /tmp

    local env=(env -i "PATH=$PATH_IN_ROOT" LANG=C.UTF-8 TERM=dumb)
    case "$context" in
        root | ro-proc-sys)
            exec "${env[@]}" HOME=/root "$@" ;;
        userns)
            exec "${env[@]}" HOME=/root unshare -Ur -- "$@" ;;
        nonroot)
            exec "${env[@]}" HOME=/tmp USER=nobody \
                setpriv --reuid=65534 --regid=65534 --clear-groups \
                --inh-caps=-all --bounding-set=-all -- "$@" ;;
        nonroot-cr)
            exec "${env[@]}" HOME=/tmp USER=nobody \
                setpriv --reuid=65534 --regid=65534 --clear-groups \
                --inh-caps=-all,+checkpoint_restore --ambient-caps=-all,+checkpoint_restore \
                --bounding-set=-all,+checkpoint_restore -- "$@" ;;
        no-sys-admin)
            exec "${env[@]}" HOME=/root \
                setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin -- "$@" ;;
        no-loopback)
            exec "${env[@]}" HOME=/root unshare -n -- "$@" ;;
        *)
            die "unknown context $context" ;;
    esac
}

run_podman() {
    local context=$1
    shift
    local binds=("$@")
    cmd_image >/dev/null
    podman_env
    local name="criu-check-diff-$$-$RANDOM"
    # shellcheck disable=SC2054  # the commas are inside --tmpfs options
    local args=(run --rm --name "$name" --label criu-check-differential=1
        --init --network none --cap-drop all --cap-add CAP_CHECKPOINT_RESTORE
        --tmpfs /tmp:rw,mode=1777 --tmpfs /run:rw,mode=755 -w /tmp
        -e "PATH=$PATH_IN_ROOT" -e LANG=C.UTF-8 -e HOME=/root
        -v "$REPO:/src:ro")
    [ "$context" = podman-rw ] && args+=(--security-opt systempaths=unconfined)
    local i
    for ((i = 0; i < ${#binds[@]}; i += 2)); do
        args+=(-v "${binds[i]}:${binds[i + 1]}:ro")
    done
    args+=("$IMAGE")
    # The container goes with us, even when we are interrupted.
    trap 'podman rm -f -t 0 "$name" >/dev/null 2>&1 || true; exit 143' TERM INT HUP
    podman "${args[@]}" "${CMD[@]}" &
    local pid=$! rc=0
    wait "$pid" || rc=$?
    trap - TERM INT HUP
    podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
    return "$rc"
}

cmd_run() {
    need_root
    local context=root binds=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --context) context=$2; shift 2 ;;
            --context=*) context=${1#--context=}; shift ;;
            --bind) binds+=("${2%%:*}" "${2#*:}"); shift 2 ;;
            --) shift; break ;;
            -*) die "unknown option $1" ;;
            *) break ;;
        esac
    done
    [ $# -gt 0 ] || die "run: no command given"
    case " $CONTEXTS " in *" $context "*) ;; *) die "unknown context '$context' (one of: $CONTEXTS)" ;; esac
    cmd_path >/dev/null
    CMD=("$@")
    if [ "$context" = podman ] || [ "$context" = podman-rw ]; then
        run_podman "$context" "${binds[@]}"
        return
    fi
    # The namespace, and every mount in it, dies with the command.
    exec unshare -m --propagation private -- "$SELF" __enter "$context" $((${#binds[@]} / 2)) \
        "${binds[@]}" -- "$@"
}

main() {
    local sub=${1:-}
    [ $# -gt 0 ] && shift
    case "$sub" in
        build) cmd_build ;;
        path) cmd_path ;;
        image) cmd_image ;;
        run) cmd_run "$@" ;;
        contexts) echo "$CONTEXTS" | tr ' ' '\n' ;;
        __enter) cmd_enter "$@" ;;
        *) sed -n '3,/^set -euo/p' "$SELF" | sed -e '$d' -e 's/^# \{0,1\}//' >&2; exit 2 ;;
    esac
}

main "$@"
