/* Seccomp probes for tests/Integration/Seccomp.Tests.ps1: each probe makes one system call (or a short sequence)
   in a form this kernel allows an unprivileged caller without a filter, and prints "<name> ok" or
   "<name> <errno>". Built static (gcc -static -O2) and copied into the test container's root fs. */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/perf_event.h>

static void report(const char *name, long rc) {
    if (rc < 0) printf("%s %d\n", name, errno);
    else printf("%s ok\n", name);
    fflush(stdout);
}

/* runs fn in a forked child so namespace changes do not affect later probes; the child's exit code is the errno */
static void in_child(const char *name, int (*fn)(void)) {
    pid_t pid = fork();
    if (pid == 0) _exit(fn());
    int st = 0;
    waitpid(pid, &st, 0);
    int e = WIFEXITED(st) ? WEXITSTATUS(st) : 255;
    if (e == 0) printf("%s ok\n", name); else printf("%s %d\n", name, e);
    fflush(stdout);
}

static int do_unshare_user(void) { return unshare(CLONE_NEWUSER) == 0 ? 0 : errno; }

static int do_userns_mount(void) {
    if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return errno;
    if (mount("none", "/tmp", "tmpfs", 0, NULL) != 0) return errno;
    return 0;
}

static int do_clone_newuser(void) {
    long pid = syscall(SYS_clone, CLONE_NEWUSER | CLONE_NEWUTS | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) return errno;
    if (pid == 0) _exit(0);
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}

static int do_clone_plain(void) {
    long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) return errno;
    if (pid == 0) _exit(0);
    waitpid((pid_t)pid, NULL, 0);
    return 0;
}

/* a 32-bit system call from this 64-bit process (AUDIT_ARCH_I386): returns -errno like the raw syscall */
static long int80(long nr, long a1) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(nr), "b"(a1) : "memory");
    return r;
}

static int do_i386_unshare_user(void) { long r = int80(310 /* i386 unshare */, CLONE_NEWUSER); return r < 0 ? (int)-r : 0; }

int main(int argc, char **argv) {
    const char *only = argc > 1 ? argv[1] : NULL;
#define WANT(n) (!only || strcmp(only, n) == 0)
    if (WANT("getpid")) report("getpid", getpid());
    if (WANT("unshare-user")) in_child("unshare-user", do_unshare_user);
    if (WANT("userns-mount")) in_child("userns-mount", do_userns_mount);
    if (WANT("clone-newuser")) in_child("clone-newuser", do_clone_newuser);
    if (WANT("clone-plain")) in_child("clone-plain", do_clone_plain);
    /* clone3 with no arguments: EINVAL from the kernel, ENOSYS from Docker's profile */
    if (WANT("clone3")) report("clone3", syscall(SYS_clone3, NULL, 0));
    if (WANT("add_key")) report("add_key", syscall(SYS_add_key, "user", "seccomp-probe", "x", 1, -2 /* KEY_SPEC_PROCESS_KEYRING */));
    if (WANT("keyctl")) report("keyctl", syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1 /* KEY_SPEC_THREAD_KEYRING */, 1));
    if (WANT("userfaultfd")) report("userfaultfd", syscall(SYS_userfaultfd, 1 /* UFFD_USER_MODE_ONLY */ | O_CLOEXEC));
    if (WANT("perf_event_open")) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a;
        a.type = PERF_TYPE_SOFTWARE;
        a.config = PERF_COUNT_SW_TASK_CLOCK;
        a.exclude_kernel = 1;
        a.exclude_hv = 1;
        a.disabled = 1;
        report("perf_event_open", syscall(SYS_perf_event_open, &a, 0, -1, -1, 0));
    }
    if (WANT("personality-ok")) report("personality-ok", personality(PER_LINUX));
    if (WANT("personality-bad")) report("personality-bad", personality(ADDR_NO_RANDOMIZE));
    if (WANT("socket-inet")) report("socket-inet", socket(AF_INET, SOCK_DGRAM, 0));
    if (WANT("socket-alg")) report("socket-alg", socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0));
    if (WANT("socket-vsock")) report("socket-vsock", socket(40 /* AF_VSOCK */, SOCK_STREAM, 0));
    if (WANT("io_uring_setup")) {
        unsigned char params[120];
        memset(params, 0, sizeof params);
        report("io_uring_setup", syscall(SYS_io_uring_setup, 4, params));
    }
    if (WANT("i386-getpid")) {
        long r = int80(20 /* i386 getpid */, 0);
        if (r < 0) { errno = (int)-r; r = -1; }
        report("i386-getpid", r);
    }
    if (WANT("i386-unshare-user")) in_child("i386-unshare-user", do_i386_unshare_user);
    if (WANT("mkdir")) report("mkdir", mkdir("/tmp/seccomp-probe-dir", 0755));
    return 0;
}
