/* Worker processes (proc.h): the POSIX plumbing behind core/workers.lua. */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"

/* the largest message accepted (a result, not a data set) */
#define ML_PROC_MAX_MESSAGE ((size_t)1 << 34)

int ml_proc_fork(void) {
    fflush(NULL); /* or the child's exit would write the parent's buffered output twice */
    pid_t pid = fork();
    if (pid < 0) {
        ml_error("fork failed: %s", strerror(errno));
        return -1;
    }
    return (int)pid;
}

int ml_proc_pipe(int fds[2]) {
    if (pipe(fds) != 0) {
        ml_error("pipe failed: %s", strerror(errno));
        return -1;
    }
    fcntl(fds[0], F_SETFD, FD_CLOEXEC);
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    return 0;
}

int ml_proc_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    /* a reader that died must give EPIPE, not kill the writer */
    struct sigaction ign, old;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sigaction(SIGPIPE, &ign, &old);
    int rc = 0;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            ml_error("write to the pipe failed: %s", strerror(errno));
            rc = -1;
            break;
        }
        p += w;
        n -= (size_t)w;
    }
    sigaction(SIGPIPE, &old, NULL);
    return rc;
}

int64_t ml_proc_read_all(int fd, void *buf, size_t n) {
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            ml_error("read from the pipe failed: %s", strerror(errno));
            return -1;
        }
        if (r == 0) {
            if (got == 0) return 0;
            ml_error("the pipe closed after %zu of %zu bytes", got, n);
            return -1;
        }
        got += (size_t)r;
    }
    return (int64_t)n;
}

int ml_proc_send(int fd, const void *buf, size_t n) {
    unsigned char len[8];
    for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)n >> (8 * i));
    if (ml_proc_write_all(fd, len, 8) != 0) return -1;
    return ml_proc_write_all(fd, buf, n);
}

int ml_proc_recv(int fd, char **out, size_t *n) {
    unsigned char len[8];
    *out = NULL;
    *n = 0;
    int64_t r = ml_proc_read_all(fd, len, 8);
    if (r <= 0) return (int)r;
    uint64_t m = 0;
    for (int i = 0; i < 8; i++) m |= (uint64_t)len[i] << (8 * i);
    if (m > ML_PROC_MAX_MESSAGE) {
        ml_error("a message of %llu bytes is larger than the limit", (unsigned long long)m);
        return -1;
    }
    char *buf = malloc(m ? (size_t)m : 1);
    if (!buf) {
        ml_error("out of memory for a message of %llu bytes", (unsigned long long)m);
        return -1;
    }
    if (m > 0 && ml_proc_read_all(fd, buf, (size_t)m) != (int64_t)m) {
        free(buf);
        if (m > 0) ml_error("the pipe closed inside a message of %llu bytes", (unsigned long long)m);
        return -1;
    }
    *out = buf;
    *n = (size_t)m;
    return 1;
}

int ml_proc_poll(const int *fds, int n, int timeout_ms, int *ready) {
    struct pollfd stack[64];
    struct pollfd *p = n <= 64 ? stack : malloc(sizeof *p * (size_t)n);
    if (!p) {
        ml_error("out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        p[i].fd = fds[i];
        p[i].events = POLLIN;
        p[i].revents = 0;
    }
    int rc;
    do rc = poll(p, (nfds_t)n, timeout_ms);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) ml_error("poll failed: %s", strerror(errno));
    else
        for (int i = 0; i < n; i++) ready[i] = (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
    if (p != stack) free(p);
    return rc;
}

int ml_proc_wait(int pid, int nohang, const char **how, int *code) {
    int status = 0;
    pid_t r;
    do r = waitpid((pid_t)pid, &status, nohang ? WNOHANG : 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
        ml_error("waitpid(%d) failed: %s", pid, strerror(errno));
        return -1;
    }
    if (r == 0) return 0;
    if (WIFSIGNALED(status)) {
        *how = "signal";
        *code = WTERMSIG(status);
    } else {
        *how = "exit";
        *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    return 1;
}

void ml_proc_exit(int code) {
    fflush(NULL); /* the child's own output (the parent flushed its own before the fork) */
    _exit(code);
}

int ml_proc_kill(int pid, int sig) {
    if (kill((pid_t)pid, sig) != 0 && errno != ESRCH) {
        ml_error("kill(%d) failed: %s", pid, strerror(errno));
        return -1;
    }
    return 0;
}

int ml_proc_close(int fd) {
    if (close(fd) != 0 && errno != EINTR) {
        ml_error("close failed: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int ml_proc_getpid(void) { return (int)getpid(); }

/* A page fault costs ~18 us on this virtual machine (a fresh 4 KiB page; 21 us copy-on-write), and a
 * forest's fit frees and asks again for some 50 MB: a worker that gave it back would fault it all in again
 * for its next fold (~14,000 faults). The worker exits soon, so keeping it costs nothing. */
void ml_proc_keep_freed_memory(void) {
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

int ml_proc_alive(int pid) {
    if (pid <= 0 || !(kill((pid_t)pid, 0) == 0 || errno == EPERM)) return 0;
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *close_paren = strrchr(buf, ')'); /* "pid (name) S ..." */
    return !(close_paren && close_paren[1] == ' ' && (close_paren[2] == 'Z' || close_paren[2] == 'X'));
}

int ml_proc_ncpu(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
