#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Run the molecule scenarios of extensions/molecule/ on local podman containers.
#
#   tests/tools/molecule.sh                 # every scenario, then a summary
#   tests/tools/molecule.sh debian13        # one scenario (molecule test -s debian13)
#   tests/tools/molecule.sh debian13 converge   # any molecule command for one scenario
#
# It builds what it needs itself, idempotently: the images (build_images.sh),
# the containers.podman collection (taken from PyPI's "ansible" package into
# ${CRIU_CHECK_CACHE:-/var/cache/criu-check}/collections; Galaxy is not used),
# and a collections tree outside the repository in which criu.check is this
# checkout.  Molecule and molecule-plugins[podman] come from the first of:
# $CRIU_CHECK_MOLECULE_VENV, a molecule on PATH, /opt/ccvenv, or the venv of
# scripts/setup with extensions/molecule/requirements.txt.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CACHE=${CRIU_CHECK_CACHE:-/var/cache/criu-check}
export CRIU_CHECK_CACHE=$CACHE

log() { printf '[molecule.sh] %s\n' "$*" >&2; }

# --- molecule and ansible -------------------------------------------------
find_bin() {
    local d
    for d in "${CRIU_CHECK_MOLECULE_VENV:+$CRIU_CHECK_MOLECULE_VENV/bin}" \
             "$(dirname "$(command -v molecule 2>/dev/null || echo /nonexistent/x)")" \
             /opt/ccvenv/bin; do
        if [ -n "$d" ] && [ -x "$d/molecule" ] && [ -x "$d/ansible-playbook" ] &&
           "$d/python" -c 'import molecule_plugins.podman' 2>/dev/null; then
            echo "$d"
            return
        fi
    done
    log "no molecule with the podman driver found: installing into the venv of scripts/setup"
    CRIU_CHECK_EXTRAS="$repo/extensions/molecule/requirements.txt" "$repo/scripts/setup" >&2
    echo "${CRIU_CHECK_HOME:-$HOME/.cache/criu-check}/venv/bin"
}
bindir=$(find_bin)
export PATH="$bindir:$PATH"

# --- images and podman ------------------------------------------------------
# shellcheck source=tests/tools/build_images.sh
. "$repo/tests/tools/build_images.sh"
podman_env   # exports CONTAINERS_CONF
"$repo/tests/tools/build_images.sh"

# --- collections: containers.podman (from PyPI's ansible) and criu.check ---
collections=$CACHE/collections
if [ ! -f "$collections/ansible_collections/containers/podman/MANIFEST.json" ]; then
    log "extracting containers.podman from PyPI's ansible package"
    mkdir -p "$CACHE/pip"
    wheels=("$CACHE"/pip/ansible-[0-9]*.whl)
    if [ ! -f "${wheels[-1]}" ]; then
        "$bindir/python" -m pip download -q --no-deps --only-binary=:all: -d "$CACHE/pip" "${CRIU_CHECK_ANSIBLE_PACKAGE:-ansible}"
        wheels=("$CACHE"/pip/ansible-[0-9]*.whl)
    fi
    wheel=${wheels[-1]}
    rm -rf "$collections.new"
    mkdir -p "$collections.new"
    "$bindir/python" - "$wheel" "$collections.new" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist()
                        if n.startswith('ansible_collections/containers/podman/')])
PY
    rm -rf "$collections"
    mv "$collections.new" "$collections"
fi
# This checkout's own tree: another checkout tested at the same time keeps its own.
tree=${TMPDIR:-/tmp}/criu-check-molecule-$(id -u)-$(printf %s "$repo" | sha256sum | cut -c1-12)
mkdir -p "$tree/ansible_collections/criu"
ln -sfn "$repo" "$tree/ansible_collections/criu/check"
export ANSIBLE_COLLECTIONS_PATH="$tree:$collections"
export CRIU_CHECK_REPO="$repo"
export MOLECULE_GLOB="extensions/molecule/*/molecule.yml"
# Nothing generated in the checkout: no bytecode, ansible's local temp outside.
export PYTHONDONTWRITEBYTECODE=1
export ANSIBLE_LOCAL_TEMP="$tree/tmp"
export ANSIBLE_HOME="$tree/ansible-home"
export ANSIBLE_CALLBACK_RESULT_FORMAT=yaml
export ANSIBLE_FORCE_COLOR=${ANSIBLE_FORCE_COLOR:-0}

cd "$repo"
scenarios=()
for f in extensions/molecule/*/molecule.yml; do
    scenarios+=("$(basename "$(dirname "$f")")")
done

if [ $# -ge 1 ]; then
    name=$1
    shift
    command=${1:-test}
    [ $# -ge 1 ] && shift
    exec molecule "$command" -s "$name" "$@"
fi

declare -A result seconds
rc=0
for name in "${scenarios[@]}"; do
    log "scenario $name"
    start=$(date +%s)
    if molecule test -s "$name"; then result[$name]=passed; else result[$name]=failed; rc=1; fi
    seconds[$name]=$(( $(date +%s) - start ))
done
passed=0 failed=0
for name in "${scenarios[@]}"; do
    printf '%-14s %-7s %4ss\n' "$name" "${result[$name]}" "${seconds[$name]}"
    if [ "${result[$name]}" = passed ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done
echo "molecule: $passed passed, $failed failed"
exit "$rc"
