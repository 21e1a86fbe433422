/* runtime/core/proc.c: message pipes, end of file, reaping exits and signals; a worker's kept memory. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/core/proc.h"
#include "check.h"

int main(void) {
    int fds[2];
    CHECK(ml_proc_pipe(fds) == 0);
    int pid = ml_proc_fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        ml_proc_close(fds[0]);
        char big[100000];
        memset(big, 'x', sizeof big);
        ml_proc_send(fds[1], "hello", 5);
        ml_proc_send(fds[1], big, sizeof big); /* larger than a pipe's buffer */
        ml_proc_send(fds[1], "", 0);
        ml_proc_exit(7);
    }
    ml_proc_close(fds[1]);
    int ready = 0;
    CHECK(ml_proc_poll(&fds[0], 1, 5000, &ready) == 1 && ready == 1);
    char *msg;
    size_t n;
    CHECK(ml_proc_recv(fds[0], &msg, &n) == 1 && n == 5 && memcmp(msg, "hello", 5) == 0);
    free(msg);
    CHECK(ml_proc_recv(fds[0], &msg, &n) == 1 && n == 100000 && msg[99999] == 'x');
    free(msg);
    CHECK(ml_proc_recv(fds[0], &msg, &n) == 1 && n == 0);
    free(msg);
    CHECK(ml_proc_recv(fds[0], &msg, &n) == 0); /* end of file: the child is gone */
    const char *how = NULL;
    int code = -1;
    CHECK(ml_proc_wait(pid, 0, &how, &code) == 1 && strcmp(how, "exit") == 0 && code == 7);
    ml_proc_close(fds[0]);

    /* a child killed by a signal */
    pid = ml_proc_fork();
    if (pid == 0) {
        raise(SIGKILL);
        ml_proc_exit(0);
    }
    CHECK(ml_proc_wait(pid, 0, &how, &code) == 1 && strcmp(how, "signal") == 0 && code == SIGKILL);

    /* writing to a pipe whose reader is gone is an error, not SIGPIPE */
    CHECK(ml_proc_pipe(fds) == 0);
    ml_proc_close(fds[0]);
    CHECK(ml_proc_send(fds[1], "x", 1) == -1);
    ml_proc_close(fds[1]);
    CHECK(ml_proc_ncpu() >= 1);

    /* a worker that keeps what it frees: 20 MB freed and asked for again come back without page faults
     * (glibc's malloc; AddressSanitizer's has its own policy) */
#ifndef __SANITIZE_ADDRESS__
    pid = ml_proc_fork();
    if (pid == 0) {
        ml_proc_keep_freed_memory();
        size_t n = 20u << 20;
        volatile char *a = malloc(n), sink = 0; /* volatile: the writes must happen */
        for (size_t i = 0; i < n; i += 4096) a[i] = 1;
        free((void *)a);
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        volatile char *b = malloc(n);
        for (size_t i = 0; i < n; i += 4096) b[i] = 2;
        getrusage(RUSAGE_SELF, &r1);
        sink = b[n / 2];
        (void)sink;
        free((void *)b);
        ml_proc_exit(r1.ru_minflt - r0.ru_minflt < 100 ? 0 : 1); /* 5,120 pages were it fresh */
    }
    CHECK(ml_proc_wait(pid, 0, &how, &code) == 1 && strcmp(how, "exit") == 0 && code == 0);
#endif
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
