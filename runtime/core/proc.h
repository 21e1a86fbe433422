/* Worker processes: fork, pipes that carry whole messages, and the reaping
 * of children, for core/workers.lua (cross-validation folds, searches).
 * Nothing here knows about Lua. Every function returns -1 (or NULL) with
 * ml_error's message on failure, and retries on EINTR. */
#ifndef ML_CORE_PROC_H
#define ML_CORE_PROC_H

#include <stddef.h>
#include <stdint.h>

/* Flushes stdio, then forks; returns the child's pid (0 in the child). */
int ml_proc_fork(void);
/* A pipe: fds[0] reads, fds[1] writes; both close on exec. */
int ml_proc_pipe(int fds[2]);
/* Writes all n bytes (a reader that went away is an error, not SIGPIPE). */
int ml_proc_write_all(int fd, const void *buf, size_t n);
/* Reads exactly n bytes; returns n, 0 at end of file before the first byte, -1 on error or a short read. */
int64_t ml_proc_read_all(int fd, void *buf, size_t n);
/* A message: an 8-byte little-endian length, then the bytes. */
int ml_proc_send(int fd, const void *buf, size_t n);
/* Reads one message into a malloc'ed buffer (*out, *n); returns 1, 0 at end of file, -1 on error. */
int ml_proc_recv(int fd, char **out, size_t *n);
/* Waits up to timeout_ms (-1: forever) until one of fds is readable or closed;
 * sets ready[i] to 1 for those; returns how many are ready. */
int ml_proc_poll(const int *fds, int n, int timeout_ms, int *ready);
/* Reaps pid (blocking, or not when nohang): returns 1 when it ended, 0 when it still runs;
 * *how is "exit" or "signal", *code the exit status or the signal number. */
int ml_proc_wait(int pid, int nohang, const char **how, int *code);
/* Ends the calling process now: stdio flushed, no atexit handlers (a forked child's end). */
void ml_proc_exit(int code) __attribute__((noreturn));
int ml_proc_kill(int pid, int sig);
int ml_proc_close(int fd);
int ml_proc_getpid(void);
/* Whether process pid exists (not ours counts too); a zombie, killed and never reaped (a container's
 * init may never reap it), counts as gone. */
int ml_proc_alive(int pid);
/* Online processors (at least 1). */
int ml_proc_ncpu(void);
/* For a short-lived worker: malloc keeps what the process frees for its own reuse (no trimming of the
 * heap back to the system, blocks up to 32 MiB from the heap rather than their own mappings), so its
 * later jobs reuse mapped pages instead of faulting fresh ones in. */
void ml_proc_keep_freed_memory(void);

#endif
