#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Two "hosts" on this machine for the criu.check.migrate role, inside the criu
# root (tests/tools/criu_root.sh run -- unshare -n -- bash two_hosts.sh TOKEN):
#   src - this shell's namespaces: its own network namespace, 10.77.0.1 on a veth;
#   dst - a new pid, mount and network namespace with an init that reaps, its own
#         /var/tmp (a tmpfs), 10.77.0.2 on the veth's peer; Ansible reaches it with
#         a python interpreter that nsenters it.
# Both share /tmp (Ansible's temporary files).  The root's /var/tmp is a tmpfs of
# this mount namespace too, so everything vanishes with the command.  Prints
# sections: === rc, === result (the play's JSON), === src / === dst (the
# processes holding TOKEN in their command line, and what is under /var/tmp),
# === said (the role's closing sentences), === play (the end of its output).
set -u
token=$1
here=/src/tests/integration/migrate_role
d=$(mktemp -d)
mkdir -p "$d/c/ansible_collections/criu" "$d/home"
ln -s /src "$d/c/ansible_collections/criu/check"
export ANSIBLE_COLLECTIONS_PATH="$d/c" ANSIBLE_HOME="$d/home" ANSIBLE_LOCAL_TEMP="$d/home/tmp" \
       ANSIBLE_REMOTE_TEMP="$d/home/tmp" ANSIBLE_LOCALHOST_WARNING=0 ANSIBLE_NOCOLOR=1
mount -t tmpfs tmpfs /var/tmp

unshare -p -f -m -n --mount-proc -- sh -c 'mount -t tmpfs tmpfs /var/tmp
exec python3 -c "import os, time
while True:
    try:
        os.wait()
    except ChildProcessError:
        time.sleep(0.2)"' &
ushare=$!
dst=
for dummy in $(seq 100); do
    dst=$(cat "/proc/$ushare/task/$ushare/children" 2>/dev/null)
    [ -n "$dst" ] && break
    sleep 0.05
done
dst=$(echo $dst)
sleep 0.2      # the init has mounted /var/tmp and /proc

python3 - "$dst" <<'PY'
import sys
from pyroute2 import IPRoute
ip = IPRoute()
ip.link('add', ifname='mig0', kind='veth', peer='mig1')
ip.link('set', index=ip.link_lookup(ifname='lo')[0], state='up')
v0 = ip.link_lookup(ifname='mig0')[0]
ip.addr('add', index=v0, address='10.77.0.1', mask=24)
ip.link('set', index=v0, state='up')
ip.link('set', index=ip.link_lookup(ifname='mig1')[0], net_ns_pid=int(sys.argv[1]))
PY
nsenter -t "$dst" -n -- python3 - <<'PY'
from pyroute2 import IPRoute
ip = IPRoute()
for name in ('lo', 'mig1'):
    ip.link('set', index=ip.link_lookup(ifname=name)[0], state='up')
ip.addr('add', index=ip.link_lookup(ifname='mig1')[0], address='10.77.0.2', mask=24)
PY
# A port taken on dst: the page server of the play's last case cannot start.
nsenter -t "$dst" -p -m -n -- python3 -c 'import socket, sys, time
s = socket.socket()
s.bind(("", 27199))
s.listen()
time.sleep(900)' "holdport-$token" &
printf '#!/bin/sh\nexec nsenter -t %s -p -m -n -- /usr/bin/python3 "$@"\n' "$dst" > "$d/dstpy"
chmod +x "$d/dstpy"
cat > "$d/inventory" <<EOS
src ansible_connection=local ansible_python_interpreter=/usr/bin/python3 criu_migrate_address=10.77.0.1
dst ansible_connection=local ansible_python_interpreter=$d/dstpy criu_migrate_address=10.77.0.2
EOS

timeout 900 ansible-playbook -i "$d/inventory" -e "token=$token" "$here/play.yml" > "$d/play.log" 2>&1
echo "=== rc $?"
echo '=== result'
cat "/tmp/result-$token.json" 2>/dev/null
echo
echo '=== src'
python3 "$here/marked.py" "$token"
echo '=== dst'
nsenter -t "$dst" -p -m -- python3 "$here/marked.py" "$token"
echo "=== said (what the role said after each migration)"
grep -o 'Migrated process [^"]*' "$d/play.log"
echo '=== play'
tail -c 6000 "$d/play.log"
kill -9 "$dst"
wait
rm -rf "$d" "/tmp/result-$token.json"
