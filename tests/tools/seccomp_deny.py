# -*- coding: utf-8 -*-
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a command with chosen system calls failing: a seccomp filter, then exec.

  seccomp_deny.py --deny SYSCALL[,SYSCALL...] --errno ENOSYS|EPERM -- CMD [ARG...]
  seccomp_deny.py --list

Installs a classic-BPF seccomp filter (prctl(PR_SET_NO_NEW_PRIVS), then
seccomp(SECCOMP_SET_MODE_FILTER)), through ctypes only (no libseccomp), that
makes each listed x86_64 system call return -1 with the chosen errno
(SECCOMP_RET_ERRNO) and allows every other one; then execvp()s CMD.  The
filter is inherited by every child and survives exec, so CMD and everything
it starts (criu and its test children, the module's worker processes) see it.

The filter checks the architecture first.  For AUDIT_ARCH_X86_64 it denies
each listed number and its x32 alias (nr | __X32_SYSCALL_BIT), so the call
cannot slip through the x32 ABI; for AUDIT_ARCH_I386 (int 0x80 from a 64-bit
process, as criu's compat_cr check does) it denies the i386 number of the
same name; any other architecture is killed (an x86_64 kernel has none).
Every other call is allowed.  An empty deny list (--deny '') installs a
filter that allows everything: the control that the filter alone changes
nothing but what any filter changes (NO_NEW_PRIVS, "Seccomp: 2" in
/proc/PID/status, and the kernel's refusal of PTRACE_O_SUSPEND_SECCOMP to a
tracer under seccomp).

x86_64 only: elsewhere it exits 2 and says so.  Exit codes: 2 for bad usage
or a filter the kernel refused, 127 when CMD cannot be executed; otherwise
CMD's own (exec replaces this process).

The numbers are the kernel's arch/x86/entry/syscalls/syscall_64.tbl (common
and 64 entries; the x32-only entries 512-547 are not names of their own) and
syscall_32.tbl.
"""

import ctypes
import errno as errno_mod
import os
import platform
import struct
import sys

# arch/x86/entry/syscalls/syscall_64.tbl, 0-469 (Linux 6.17).
SYSCALLS_X86_64 = {
    'read': 0, 'write': 1, 'open': 2, 'close': 3, 'stat': 4, 'fstat': 5, 'lstat': 6, 'poll': 7, 'lseek': 8,
    'mmap': 9, 'mprotect': 10, 'munmap': 11, 'brk': 12, 'rt_sigaction': 13, 'rt_sigprocmask': 14,
    'rt_sigreturn': 15, 'ioctl': 16, 'pread64': 17, 'pwrite64': 18, 'readv': 19, 'writev': 20, 'access': 21,
    'pipe': 22, 'select': 23, 'sched_yield': 24, 'mremap': 25, 'msync': 26, 'mincore': 27, 'madvise': 28,
    'shmget': 29, 'shmat': 30, 'shmctl': 31, 'dup': 32, 'dup2': 33, 'pause': 34, 'nanosleep': 35,
    'getitimer': 36, 'alarm': 37, 'setitimer': 38, 'getpid': 39, 'sendfile': 40, 'socket': 41, 'connect': 42,
    'accept': 43, 'sendto': 44, 'recvfrom': 45, 'sendmsg': 46, 'recvmsg': 47, 'shutdown': 48, 'bind': 49,
    'listen': 50, 'getsockname': 51, 'getpeername': 52, 'socketpair': 53, 'setsockopt': 54, 'getsockopt': 55,
    'clone': 56, 'fork': 57, 'vfork': 58, 'execve': 59, 'exit': 60, 'wait4': 61, 'kill': 62, 'uname': 63,
    'semget': 64, 'semop': 65, 'semctl': 66, 'shmdt': 67, 'msgget': 68, 'msgsnd': 69, 'msgrcv': 70,
    'msgctl': 71, 'fcntl': 72, 'flock': 73, 'fsync': 74, 'fdatasync': 75, 'truncate': 76, 'ftruncate': 77,
    'getdents': 78, 'getcwd': 79, 'chdir': 80, 'fchdir': 81, 'rename': 82, 'mkdir': 83, 'rmdir': 84,
    'creat': 85, 'link': 86, 'unlink': 87, 'symlink': 88, 'readlink': 89, 'chmod': 90, 'fchmod': 91,
    'chown': 92, 'fchown': 93, 'lchown': 94, 'umask': 95, 'gettimeofday': 96, 'getrlimit': 97,
    'getrusage': 98, 'sysinfo': 99, 'times': 100, 'ptrace': 101, 'getuid': 102, 'syslog': 103, 'getgid': 104,
    'setuid': 105, 'setgid': 106, 'geteuid': 107, 'getegid': 108, 'setpgid': 109, 'getppid': 110,
    'getpgrp': 111, 'setsid': 112, 'setreuid': 113, 'setregid': 114, 'getgroups': 115, 'setgroups': 116,
    'setresuid': 117, 'getresuid': 118, 'setresgid': 119, 'getresgid': 120, 'getpgid': 121, 'setfsuid': 122,
    'setfsgid': 123, 'getsid': 124, 'capget': 125, 'capset': 126, 'rt_sigpending': 127,
    'rt_sigtimedwait': 128, 'rt_sigqueueinfo': 129, 'rt_sigsuspend': 130, 'sigaltstack': 131, 'utime': 132,
    'mknod': 133, 'uselib': 134, 'personality': 135, 'ustat': 136, 'statfs': 137, 'fstatfs': 138,
    'sysfs': 139, 'getpriority': 140, 'setpriority': 141, 'sched_setparam': 142, 'sched_getparam': 143,
    'sched_setscheduler': 144, 'sched_getscheduler': 145, 'sched_get_priority_max': 146,
    'sched_get_priority_min': 147, 'sched_rr_get_interval': 148, 'mlock': 149, 'munlock': 150,
    'mlockall': 151, 'munlockall': 152, 'vhangup': 153, 'modify_ldt': 154, 'pivot_root': 155, '_sysctl': 156,
    'prctl': 157, 'arch_prctl': 158, 'adjtimex': 159, 'setrlimit': 160, 'chroot': 161, 'sync': 162,
    'acct': 163, 'settimeofday': 164, 'mount': 165, 'umount2': 166, 'swapon': 167, 'swapoff': 168,
    'reboot': 169, 'sethostname': 170, 'setdomainname': 171, 'iopl': 172, 'ioperm': 173,
    'create_module': 174, 'init_module': 175, 'delete_module': 176, 'get_kernel_syms': 177,
    'query_module': 178, 'quotactl': 179, 'nfsservctl': 180, 'getpmsg': 181, 'putpmsg': 182,
    'afs_syscall': 183, 'tuxcall': 184, 'security': 185, 'gettid': 186, 'readahead': 187, 'setxattr': 188,
    'lsetxattr': 189, 'fsetxattr': 190, 'getxattr': 191, 'lgetxattr': 192, 'fgetxattr': 193,
    'listxattr': 194, 'llistxattr': 195, 'flistxattr': 196, 'removexattr': 197, 'lremovexattr': 198,
    'fremovexattr': 199, 'tkill': 200, 'time': 201, 'futex': 202, 'sched_setaffinity': 203,
    'sched_getaffinity': 204, 'set_thread_area': 205, 'io_setup': 206, 'io_destroy': 207,
    'io_getevents': 208, 'io_submit': 209, 'io_cancel': 210, 'get_thread_area': 211, 'lookup_dcookie': 212,
    'epoll_create': 213, 'epoll_ctl_old': 214, 'epoll_wait_old': 215, 'remap_file_pages': 216,
    'getdents64': 217, 'set_tid_address': 218, 'restart_syscall': 219, 'semtimedop': 220, 'fadvise64': 221,
    'timer_create': 222, 'timer_settime': 223, 'timer_gettime': 224, 'timer_getoverrun': 225,
    'timer_delete': 226, 'clock_settime': 227, 'clock_gettime': 228, 'clock_getres': 229,
    'clock_nanosleep': 230, 'exit_group': 231, 'epoll_wait': 232, 'epoll_ctl': 233, 'tgkill': 234,
    'utimes': 235, 'vserver': 236, 'mbind': 237, 'set_mempolicy': 238, 'get_mempolicy': 239, 'mq_open': 240,
    'mq_unlink': 241, 'mq_timedsend': 242, 'mq_timedreceive': 243, 'mq_notify': 244, 'mq_getsetattr': 245,
    'kexec_load': 246, 'waitid': 247, 'add_key': 248, 'request_key': 249, 'keyctl': 250, 'ioprio_set': 251,
    'ioprio_get': 252, 'inotify_init': 253, 'inotify_add_watch': 254, 'inotify_rm_watch': 255,
    'migrate_pages': 256, 'openat': 257, 'mkdirat': 258, 'mknodat': 259, 'fchownat': 260, 'futimesat': 261,
    'newfstatat': 262, 'unlinkat': 263, 'renameat': 264, 'linkat': 265, 'symlinkat': 266, 'readlinkat': 267,
    'fchmodat': 268, 'faccessat': 269, 'pselect6': 270, 'ppoll': 271, 'unshare': 272, 'set_robust_list': 273,
    'get_robust_list': 274, 'splice': 275, 'tee': 276, 'sync_file_range': 277, 'vmsplice': 278,
    'move_pages': 279, 'utimensat': 280, 'epoll_pwait': 281, 'signalfd': 282, 'timerfd_create': 283,
    'eventfd': 284, 'fallocate': 285, 'timerfd_settime': 286, 'timerfd_gettime': 287, 'accept4': 288,
    'signalfd4': 289, 'eventfd2': 290, 'epoll_create1': 291, 'dup3': 292, 'pipe2': 293, 'inotify_init1': 294,
    'preadv': 295, 'pwritev': 296, 'rt_tgsigqueueinfo': 297, 'perf_event_open': 298, 'recvmmsg': 299,
    'fanotify_init': 300, 'fanotify_mark': 301, 'prlimit64': 302, 'name_to_handle_at': 303,
    'open_by_handle_at': 304, 'clock_adjtime': 305, 'syncfs': 306, 'sendmmsg': 307, 'setns': 308,
    'getcpu': 309, 'process_vm_readv': 310, 'process_vm_writev': 311, 'kcmp': 312, 'finit_module': 313,
    'sched_setattr': 314, 'sched_getattr': 315, 'renameat2': 316, 'seccomp': 317, 'getrandom': 318,
    'memfd_create': 319, 'kexec_file_load': 320, 'bpf': 321, 'execveat': 322, 'userfaultfd': 323,
    'membarrier': 324, 'mlock2': 325, 'copy_file_range': 326, 'preadv2': 327, 'pwritev2': 328,
    'pkey_mprotect': 329, 'pkey_alloc': 330, 'pkey_free': 331, 'statx': 332, 'io_pgetevents': 333,
    'rseq': 334, 'pidfd_send_signal': 424, 'io_uring_setup': 425, 'io_uring_enter': 426,
    'io_uring_register': 427, 'open_tree': 428, 'move_mount': 429, 'fsopen': 430, 'fsconfig': 431,
    'fsmount': 432, 'fspick': 433, 'pidfd_open': 434, 'clone3': 435, 'close_range': 436, 'openat2': 437,
    'pidfd_getfd': 438, 'faccessat2': 439, 'process_madvise': 440, 'epoll_pwait2': 441, 'mount_setattr': 442,
    'quotactl_fd': 443, 'landlock_create_ruleset': 444, 'landlock_add_rule': 445,
    'landlock_restrict_self': 446, 'memfd_secret': 447, 'process_mrelease': 448, 'futex_waitv': 449,
    'set_mempolicy_home_node': 450, 'cachestat': 451, 'fchmodat2': 452, 'map_shadow_stack': 453,
    'futex_wake': 454, 'futex_wait': 455, 'futex_requeue': 456, 'statmount': 457, 'listmount': 458,
    'lsm_get_self_attr': 459, 'lsm_set_self_attr': 460, 'lsm_list_modules': 461, 'mseal': 462,
    'setxattrat': 463, 'getxattrat': 464, 'listxattrat': 465, 'removexattrat': 466, 'open_tree_attr': 467,
    'file_getattr': 468, 'file_setattr': 469,
}

# arch/x86/entry/syscalls/syscall_32.tbl: the same calls made through int 0x80
# (a 64-bit process may, and criu's compat check does).
SYSCALLS_I386 = {
    'restart_syscall': 0, 'exit': 1, 'fork': 2, 'read': 3, 'write': 4, 'open': 5, 'close': 6, 'waitpid': 7,
    'creat': 8, 'link': 9, 'unlink': 10, 'execve': 11, 'chdir': 12, 'time': 13, 'mknod': 14, 'chmod': 15,
    'lchown': 16, 'break': 17, 'oldstat': 18, 'lseek': 19, 'getpid': 20, 'mount': 21, 'umount': 22,
    'setuid': 23, 'getuid': 24, 'stime': 25, 'ptrace': 26, 'alarm': 27, 'oldfstat': 28, 'pause': 29,
    'utime': 30, 'stty': 31, 'gtty': 32, 'access': 33, 'nice': 34, 'ftime': 35, 'sync': 36, 'kill': 37,
    'rename': 38, 'mkdir': 39, 'rmdir': 40, 'dup': 41, 'pipe': 42, 'times': 43, 'prof': 44, 'brk': 45,
    'setgid': 46, 'getgid': 47, 'signal': 48, 'geteuid': 49, 'getegid': 50, 'acct': 51, 'umount2': 52,
    'lock': 53, 'ioctl': 54, 'fcntl': 55, 'mpx': 56, 'setpgid': 57, 'ulimit': 58, 'oldolduname': 59,
    'umask': 60, 'chroot': 61, 'ustat': 62, 'dup2': 63, 'getppid': 64, 'getpgrp': 65, 'setsid': 66,
    'sigaction': 67, 'sgetmask': 68, 'ssetmask': 69, 'setreuid': 70, 'setregid': 71, 'sigsuspend': 72,
    'sigpending': 73, 'sethostname': 74, 'setrlimit': 75, 'getrlimit': 76, 'getrusage': 77,
    'gettimeofday': 78, 'settimeofday': 79, 'getgroups': 80, 'setgroups': 81, 'select': 82, 'symlink': 83,
    'oldlstat': 84, 'readlink': 85, 'uselib': 86, 'swapon': 87, 'reboot': 88, 'readdir': 89, 'mmap': 90,
    'munmap': 91, 'truncate': 92, 'ftruncate': 93, 'fchmod': 94, 'fchown': 95, 'getpriority': 96,
    'setpriority': 97, 'profil': 98, 'statfs': 99, 'fstatfs': 100, 'ioperm': 101, 'socketcall': 102,
    'syslog': 103, 'setitimer': 104, 'getitimer': 105, 'stat': 106, 'lstat': 107, 'fstat': 108,
    'olduname': 109, 'iopl': 110, 'vhangup': 111, 'idle': 112, 'vm86old': 113, 'wait4': 114, 'swapoff': 115,
    'sysinfo': 116, 'ipc': 117, 'fsync': 118, 'sigreturn': 119, 'clone': 120, 'setdomainname': 121,
    'uname': 122, 'modify_ldt': 123, 'adjtimex': 124, 'mprotect': 125, 'sigprocmask': 126,
    'create_module': 127, 'init_module': 128, 'delete_module': 129, 'get_kernel_syms': 130, 'quotactl': 131,
    'getpgid': 132, 'fchdir': 133, 'bdflush': 134, 'sysfs': 135, 'personality': 136, 'afs_syscall': 137,
    'setfsuid': 138, 'setfsgid': 139, '_llseek': 140, 'getdents': 141, '_newselect': 142, 'flock': 143,
    'msync': 144, 'readv': 145, 'writev': 146, 'getsid': 147, 'fdatasync': 148, '_sysctl': 149, 'mlock': 150,
    'munlock': 151, 'mlockall': 152, 'munlockall': 153, 'sched_setparam': 154, 'sched_getparam': 155,
    'sched_setscheduler': 156, 'sched_getscheduler': 157, 'sched_yield': 158, 'sched_get_priority_max': 159,
    'sched_get_priority_min': 160, 'sched_rr_get_interval': 161, 'nanosleep': 162, 'mremap': 163,
    'setresuid': 164, 'getresuid': 165, 'vm86': 166, 'query_module': 167, 'poll': 168, 'nfsservctl': 169,
    'setresgid': 170, 'getresgid': 171, 'prctl': 172, 'rt_sigreturn': 173, 'rt_sigaction': 174,
    'rt_sigprocmask': 175, 'rt_sigpending': 176, 'rt_sigtimedwait': 177, 'rt_sigqueueinfo': 178,
    'rt_sigsuspend': 179, 'pread64': 180, 'pwrite64': 181, 'chown': 182, 'getcwd': 183, 'capget': 184,
    'capset': 185, 'sigaltstack': 186, 'sendfile': 187, 'getpmsg': 188, 'putpmsg': 189, 'vfork': 190,
    'ugetrlimit': 191, 'mmap2': 192, 'truncate64': 193, 'ftruncate64': 194, 'stat64': 195, 'lstat64': 196,
    'fstat64': 197, 'lchown32': 198, 'getuid32': 199, 'getgid32': 200, 'geteuid32': 201, 'getegid32': 202,
    'setreuid32': 203, 'setregid32': 204, 'getgroups32': 205, 'setgroups32': 206, 'fchown32': 207,
    'setresuid32': 208, 'getresuid32': 209, 'setresgid32': 210, 'getresgid32': 211, 'chown32': 212,
    'setuid32': 213, 'setgid32': 214, 'setfsuid32': 215, 'setfsgid32': 216, 'pivot_root': 217,
    'mincore': 218, 'madvise': 219, 'getdents64': 220, 'fcntl64': 221, 'gettid': 224, 'readahead': 225,
    'setxattr': 226, 'lsetxattr': 227, 'fsetxattr': 228, 'getxattr': 229, 'lgetxattr': 230, 'fgetxattr': 231,
    'listxattr': 232, 'llistxattr': 233, 'flistxattr': 234, 'removexattr': 235, 'lremovexattr': 236,
    'fremovexattr': 237, 'tkill': 238, 'sendfile64': 239, 'futex': 240, 'sched_setaffinity': 241,
    'sched_getaffinity': 242, 'set_thread_area': 243, 'get_thread_area': 244, 'io_setup': 245,
    'io_destroy': 246, 'io_getevents': 247, 'io_submit': 248, 'io_cancel': 249, 'fadvise64': 250,
    'exit_group': 252, 'lookup_dcookie': 253, 'epoll_create': 254, 'epoll_ctl': 255, 'epoll_wait': 256,
    'remap_file_pages': 257, 'set_tid_address': 258, 'timer_create': 259, 'timer_settime': 260,
    'timer_gettime': 261, 'timer_getoverrun': 262, 'timer_delete': 263, 'clock_settime': 264,
    'clock_gettime': 265, 'clock_getres': 266, 'clock_nanosleep': 267, 'statfs64': 268, 'fstatfs64': 269,
    'tgkill': 270, 'utimes': 271, 'fadvise64_64': 272, 'vserver': 273, 'mbind': 274, 'get_mempolicy': 275,
    'set_mempolicy': 276, 'mq_open': 277, 'mq_unlink': 278, 'mq_timedsend': 279, 'mq_timedreceive': 280,
    'mq_notify': 281, 'mq_getsetattr': 282, 'kexec_load': 283, 'waitid': 284, 'add_key': 286,
    'request_key': 287, 'keyctl': 288, 'ioprio_set': 289, 'ioprio_get': 290, 'inotify_init': 291,
    'inotify_add_watch': 292, 'inotify_rm_watch': 293, 'migrate_pages': 294, 'openat': 295, 'mkdirat': 296,
    'mknodat': 297, 'fchownat': 298, 'futimesat': 299, 'fstatat64': 300, 'unlinkat': 301, 'renameat': 302,
    'linkat': 303, 'symlinkat': 304, 'readlinkat': 305, 'fchmodat': 306, 'faccessat': 307, 'pselect6': 308,
    'ppoll': 309, 'unshare': 310, 'set_robust_list': 311, 'get_robust_list': 312, 'splice': 313,
    'sync_file_range': 314, 'tee': 315, 'vmsplice': 316, 'move_pages': 317, 'getcpu': 318,
    'epoll_pwait': 319, 'utimensat': 320, 'signalfd': 321, 'timerfd_create': 322, 'eventfd': 323,
    'fallocate': 324, 'timerfd_settime': 325, 'timerfd_gettime': 326, 'signalfd4': 327, 'eventfd2': 328,
    'epoll_create1': 329, 'dup3': 330, 'pipe2': 331, 'inotify_init1': 332, 'preadv': 333, 'pwritev': 334,
    'rt_tgsigqueueinfo': 335, 'perf_event_open': 336, 'recvmmsg': 337, 'fanotify_init': 338,
    'fanotify_mark': 339, 'prlimit64': 340, 'name_to_handle_at': 341, 'open_by_handle_at': 342,
    'clock_adjtime': 343, 'syncfs': 344, 'sendmmsg': 345, 'setns': 346, 'process_vm_readv': 347,
    'process_vm_writev': 348, 'kcmp': 349, 'finit_module': 350, 'sched_setattr': 351, 'sched_getattr': 352,
    'renameat2': 353, 'seccomp': 354, 'getrandom': 355, 'memfd_create': 356, 'bpf': 357, 'execveat': 358,
    'socket': 359, 'socketpair': 360, 'bind': 361, 'connect': 362, 'listen': 363, 'accept4': 364,
    'getsockopt': 365, 'setsockopt': 366, 'getsockname': 367, 'getpeername': 368, 'sendto': 369,
    'sendmsg': 370, 'recvfrom': 371, 'recvmsg': 372, 'shutdown': 373, 'userfaultfd': 374, 'membarrier': 375,
    'mlock2': 376, 'copy_file_range': 377, 'preadv2': 378, 'pwritev2': 379, 'pkey_mprotect': 380,
    'pkey_alloc': 381, 'pkey_free': 382, 'statx': 383, 'arch_prctl': 384, 'io_pgetevents': 385, 'rseq': 386,
    'semget': 393, 'semctl': 394, 'shmget': 395, 'shmctl': 396, 'shmat': 397, 'shmdt': 398, 'msgget': 399,
    'msgsnd': 400, 'msgrcv': 401, 'msgctl': 402, 'clock_gettime64': 403, 'clock_settime64': 404,
    'clock_adjtime64': 405, 'clock_getres_time64': 406, 'clock_nanosleep_time64': 407,
    'timer_gettime64': 408, 'timer_settime64': 409, 'timerfd_gettime64': 410, 'timerfd_settime64': 411,
    'utimensat_time64': 412, 'pselect6_time64': 413, 'ppoll_time64': 414, 'io_pgetevents_time64': 416,
    'recvmmsg_time64': 417, 'mq_timedsend_time64': 418, 'mq_timedreceive_time64': 419,
    'semtimedop_time64': 420, 'rt_sigtimedwait_time64': 421, 'futex_time64': 422,
    'sched_rr_get_interval_time64': 423, 'pidfd_send_signal': 424, 'io_uring_setup': 425,
    'io_uring_enter': 426, 'io_uring_register': 427, 'open_tree': 428, 'move_mount': 429, 'fsopen': 430,
    'fsconfig': 431, 'fsmount': 432, 'fspick': 433, 'pidfd_open': 434, 'clone3': 435, 'close_range': 436,
    'openat2': 437, 'pidfd_getfd': 438, 'faccessat2': 439, 'process_madvise': 440, 'epoll_pwait2': 441,
    'mount_setattr': 442, 'quotactl_fd': 443, 'landlock_create_ruleset': 444, 'landlock_add_rule': 445,
    'landlock_restrict_self': 446, 'memfd_secret': 447, 'process_mrelease': 448, 'futex_waitv': 449,
    'set_mempolicy_home_node': 450, 'cachestat': 451, 'fchmodat2': 452, 'futex_wake': 454, 'futex_wait': 455,
    'futex_requeue': 456, 'statmount': 457, 'listmount': 458, 'lsm_get_self_attr': 459,
    'lsm_set_self_attr': 460, 'lsm_list_modules': 461, 'mseal': 462, 'setxattrat': 463, 'getxattrat': 464,
    'listxattrat': 465, 'removexattrat': 466, 'open_tree_attr': 467, 'file_getattr': 468,
    'file_setattr': 469,
}

X32_SYSCALL_BIT = 0x40000000

# <linux/audit.h>
AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
# <linux/seccomp.h>
SECCOMP_SET_MODE_FILTER = 1
SECCOMP_MODE_FILTER = 2
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_KILL_THREAD = 0
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_DATA_NR = 0        # offsetof(struct seccomp_data, nr)
SECCOMP_DATA_ARCH = 4      # offsetof(struct seccomp_data, arch)
SECCOMP_DATA_ARGS = 16     # offsetof(struct seccomp_data, args)
# <linux/prctl.h>
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
# <linux/filter.h>: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K, BPF_RET|BPF_K
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
BPF_MAXJUMP = 255

ERRNOS = ('ENOSYS', 'EPERM')


class UsageError(Exception):
    pass


class SockFilter(ctypes.Structure):
    _fields_ = [('code', ctypes.c_uint16), ('jt', ctypes.c_uint8), ('jf', ctypes.c_uint8), ('k', ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.POINTER(SockFilter))]


def numbers(names):
    """The x86_64 numbers of ``names`` (a list); UsageError naming the valid
    names for an unknown one."""
    out = []
    for name in names:
        if name not in SYSCALLS_X86_64:
            raise UsageError('unknown x86_64 system call %r; valid names: %s'
                             % (name, ' '.join(sorted(SYSCALLS_X86_64))))
        out.append(SYSCALLS_X86_64[name])
    return out


def program(names, err):
    """The filter as a list of (code, jt, jf, k).  x86_64 calls (and their
    x32 aliases) with a listed number, and i386 calls with the i386 number of
    a listed name, return ERRNO|err; every other call of those two ABIs is
    allowed; any other architecture is killed (an x86_64 kernel has none)."""
    err = err & 0xFFFF
    n64 = []
    for name in names:
        for value in (SYSCALLS_X86_64[name], SYSCALLS_X86_64[name] | X32_SYSCALL_BIT):
            if value not in n64:
                n64.append(value)
    n32 = sorted(set(SYSCALLS_I386[name] for name in names if name in SYSCALLS_I386))
    if len(n64) + len(n32) + 8 > BPF_MAXJUMP:
        raise UsageError('too many system calls to deny (%d numbers)' % (len(n64) + len(n32)))
    # (code, true label or offset, false label or offset, k); labels resolved below.
    code = [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
            (BPF_JEQ_K, 0, 'i386', AUDIT_ARCH_X86_64),
            (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    code += [(BPF_JEQ_K, 'deny', 0, value) for value in n64]
    code += [(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
             ('i386',),
             (BPF_JEQ_K, 0, 'kill', AUDIT_ARCH_I386),
             (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR)]
    code += [(BPF_JEQ_K, 'deny', 0, value) for value in n32]
    code += [(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
             ('kill',), (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
             ('deny',), (BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | err)]
    labels, prog = {}, []
    for ins in code:
        if len(ins) == 1:
            labels[ins[0]] = len(prog)
        else:
            prog.append(ins)
    out = []
    for i, (op, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        out.append((op, jt, jf, k))
    return out


def argument_program(name, arg, value, err, kill=False):
    """The filter as a list of (code, jt, jf, k): the x86_64 call ``name``
    fails with ``err`` when its argument ``arg`` (its low 32 bits) equals
    ``value`` (with ``kill``, it kills the process instead: SIGSYS); every
    other x86_64 call is allowed, other architectures killed."""
    matched = SECCOMP_RET_KILL_PROCESS if kill else SECCOMP_RET_ERRNO | (err & 0xFFFF)
    return [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
            (BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS),
            (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
            (BPF_JEQ_K, 0, 3, SYSCALLS_X86_64[name]),
            (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARGS + 8 * arg),
            (BPF_JEQ_K, 0, 1, value),
            (BPF_RET_K, 0, 0, matched),
            (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]


# linux/sched.h: every CLONE_NEW* flag (CLONE_NEWTIME, CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS,
# CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET).
CLONE_NEW_ANY = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000
BPF_JSET_K = 0x45


def restrict_namespaces_program():
    """What systemd's RestrictNamespaces=yes installs, on x86_64: clone() and
    unshare() with any CLONE_NEW* flag, and setns(), fail with EPERM;
    clone3(), whose flags a filter cannot read, with ENOSYS (libc then falls
    back to clone()).  Every other call, and other architectures, allowed."""
    eperm, enosys = SECCOMP_RET_ERRNO | errno_mod.EPERM, SECCOMP_RET_ERRNO | errno_mod.ENOSYS
    return [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
            (BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
            (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
            (BPF_JEQ_K, 0, 1, SYSCALLS_X86_64['clone3']),
            (BPF_RET_K, 0, 0, enosys),
            (BPF_JEQ_K, 0, 1, SYSCALLS_X86_64['setns']),
            (BPF_RET_K, 0, 0, eperm),
            (BPF_JEQ_K, 1, 0, SYSCALLS_X86_64['clone']),
            (BPF_JEQ_K, 0, 3, SYSCALLS_X86_64['unshare']),
            (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARGS),      # the flags' low 32 bits, where CLONE_NEW* are
            (BPF_JSET_K, 0, 1, CLONE_NEW_ANY),
            (BPF_RET_K, 0, 0, eperm),
            (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]


def native_only_program():
    """What systemd's SystemCallArchitectures=native installs on x86_64: a
    filter of no rules but its architecture, whose default for any other
    (here i386, int $0x80) is libseccomp's SCMP_ACT_KILL, which kills the
    thread with SIGSYS."""
    return [(BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
            (BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
            (BPF_RET_K, 0, 0, SECCOMP_RET_KILL_THREAD),
            (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW)]


def call_fails(name, arg, value, err, kill=False):
    """For a child's set-up: install argument_program(name, arg, value, err, kill)."""
    return lambda: install(argument_program(name, arg, value, err, kill))


def install(prog):
    """NO_NEW_PRIVS, then the filter; OSError when the kernel refuses."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    libc.prctl.restype = ctypes.c_int
    if libc.prctl(PR_SET_NO_NEW_PRIVS, ctypes.c_ulong(1), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, 'prctl(PR_SET_NO_NEW_PRIVS): %s' % os.strerror(err))
    arr = (SockFilter * len(prog))(*[SockFilter(c, jt, jf, k) for c, jt, jf, k in prog])
    fprog = SockFprog(len(prog), arr)
    rc = libc.syscall(ctypes.c_long(SYSCALLS_X86_64['seccomp']), ctypes.c_long(SECCOMP_SET_MODE_FILTER),
                      ctypes.c_long(0), ctypes.byref(fprog))
    if rc != 0:
        err = ctypes.get_errno()
        if err != errno_mod.ENOSYS:
            raise OSError(err, 'seccomp(SECCOMP_SET_MODE_FILTER): %s' % os.strerror(err))
        # seccomp(2) is 3.17; before it, prctl(PR_SET_SECCOMP) does the same.
        if libc.prctl(PR_SET_SECCOMP, ctypes.c_ulong(SECCOMP_MODE_FILTER), ctypes.byref(fprog),
                      ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
            err = ctypes.get_errno()
            raise OSError(err, 'prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER): %s' % os.strerror(err))


def parse(argv):
    """(names, errno number, cmd) or UsageError."""
    names, err, listing = None, None, False
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == '--':
            i += 1
            break
        if arg == '--list':
            listing = True
            i += 1
            continue
        key, eq, value = arg.partition('=')
        if key in ('--deny', '--errno'):
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError('%s needs a value' % key)
                value = argv[i + 1]
                i += 1
            i += 1
            if key == '--deny':
                names = [n.strip() for n in value.split(',') if n.strip()]
            else:
                if value not in ERRNOS:
                    raise UsageError('--errno %r: one of %s' % (value, ', '.join(ERRNOS)))
                err = getattr(errno_mod, value)
            continue
        if arg.startswith('-'):
            raise UsageError('unknown option %r (valid: --deny, --errno, --list, --)' % arg)
        break
    if listing:
        return None, None, None
    if names is None:
        raise UsageError('--deny SYSCALL[,SYSCALL...] is required (an empty list installs an allow-all filter)')
    if err is None:
        raise UsageError('--errno is required: one of %s' % ', '.join(ERRNOS))
    cmd = argv[i:]
    if not cmd:
        raise UsageError('no command given after --')
    return names, err, cmd


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        names, err, cmd = parse(argv)
        if cmd is None:
            sys.stdout.write('\n'.join('%s %d' % kv for kv in sorted(SYSCALLS_X86_64.items(), key=lambda kv: kv[1])) + '\n')
            return 0
        numbers(names)
        if platform.machine() != 'x86_64' or struct.calcsize('P') != 8:
            raise UsageError('x86_64 only (this is %s, %d-bit Python): the table holds x86_64 numbers'
                             % (platform.machine(), struct.calcsize('P') * 8))
        prog = program(names, err)
    except UsageError as exc:
        sys.stderr.write('seccomp_deny.py: %s\n' % exc)
        return 2
    try:
        install(prog)
    except OSError as exc:
        sys.stderr.write('seccomp_deny.py: the kernel refused the filter: %s\n' % exc)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execvp(cmd[0], cmd)
    except OSError as exc:
        sys.stderr.write('seccomp_deny.py: cannot execute %s: %s\n' % (cmd[0], exc))
        return 127


if __name__ == '__main__':
    sys.exit(main())
