# SPDX-License-Identifier: GPL-3.0-or-later
"""Print, as JSON, the processes of this pid namespace (not of those below it, whose
processes /proc shows too) whose command line holds argv[1] (pid, state, command
line), and what is under /var/tmp."""
import json
import os
import sys

procs = []
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
        procs.append([int(pid), st, cmd])
var_tmp = sorted(os.path.join(top, name)[len('/var/tmp/'):] for top, dirs, files in os.walk('/var/tmp')
                 for name in dirs + files)
print(json.dumps({'processes': sorted(procs), 'var_tmp': var_tmp}))
