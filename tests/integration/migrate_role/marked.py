# SPDX-License-Identifier: GPL-3.0-or-later
"""Print, as JSON, the processes of this pid namespace (not of those below it, whose
processes /proc shows too) whose command line holds argv[1] (pid, state, command
line), and what is under /var/tmp.

A shell that runs ``sleep`` forks first: for the moment before its exec the child
holds the shell's command line, and one look at /proc counted it as a second
workload.  Only the processes seen with the same command line in three looks
0.3 s apart are printed (two looks 0.15 s apart still caught one on a loaded
machine); the state is the last look's."""
import json
import os
import sys
import time


def look():
    found = {}
    own = os.readlink('/proc/self/ns/pid')
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % pid, 'rb') as f:
                cmd = f.read().replace(b'\0', b' ').decode('utf-8', 'replace').strip()
            with open('/proc/%s/stat' % pid) as f:
                st = f.read().rsplit(')', 1)[1].split()[0]
            ns = os.readlink('/proc/%s/ns/pid' % pid)
        except OSError:
            continue
        if sys.argv[1] in cmd and ns == own and int(pid) != os.getpid():
            found[int(pid)] = (st, cmd)
    return found


looks = [look()]
for dummy in range(2):
    time.sleep(0.3)
    looks.append(look())
procs = sorted([pid, st, cmd] for pid, (st, cmd) in looks[-1].items()
               if all(seen.get(pid, (None, None))[1] == cmd for seen in looks[:-1]))
var_tmp = sorted(os.path.join(top, name)[len('/var/tmp/'):] for top, dirs, files in os.walk('/var/tmp')
                 for name in dirs + files)
print(json.dumps({'processes': procs, 'var_tmp': var_tmp}))
