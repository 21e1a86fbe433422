/* Locked reads and appends of a journal file (see journal.h). */
#define _GNU_SOURCE
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/error.h"

struct ml_journal {
    int fd;
    char *path;
};

ml_journal *ml_journal_lock(const char *path, int excl) {
    int fd;
    /* a shared lock only reads: a read-only journal (another user's, a results folder) can still be shown */
    int flags = excl ? (O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
    do fd = open(path, flags, 0644);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return ml_error("cannot open '%s': %s", path, strerror(errno)), NULL;
    int rc;
    do rc = flock(fd, excl ? LOCK_EX : LOCK_SH);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        ml_error("cannot lock '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    ml_journal *j = malloc(sizeof *j);
    char *p = strdup(path);
    if (!j || !p) {
        free(j), free(p);
        close(fd);
        return ml_error("out of memory"), NULL;
    }
    j->fd = fd, j->path = p;
    return j;
}

int ml_journal_read(ml_journal *j, int64_t offset, char **out, size_t *n) {
    struct stat st;
    if (fstat(j->fd, &st) < 0) return ml_error("cannot stat '%s': %s", j->path, strerror(errno)), -1;
    if (offset < 0 || offset > st.st_size) offset = st.st_size; /* a journal never shrinks; a bad offset reads nothing */
    size_t len = (size_t)(st.st_size - offset);
    char *buf = malloc(len + 1);
    if (!buf) return ml_error("out of memory reading '%s'", j->path), -1;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(j->fd, buf + got, len - got, offset + (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            free(buf);
            return ml_error("cannot read '%s': %s", j->path, strerror(errno)), -1;
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    buf[got] = 0;
    *out = buf, *n = got;
    return 0;
}

int ml_journal_append(ml_journal *j, const char *bytes, size_t n, int sync) {
    size_t put = 0;
    while (put < n) {
        ssize_t w = write(j->fd, bytes + put, n - put);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ml_error("cannot write '%s': %s", j->path, strerror(errno)), -1;
        put += (size_t)w;
    }
    if (sync && fdatasync(j->fd) < 0 && errno != EINVAL) return ml_error("cannot sync '%s': %s", j->path, strerror(errno)), -1;
    return 0;
}

void ml_journal_unlock(ml_journal *j) {
    if (!j) return;
    flock(j->fd, LOCK_UN);
    close(j->fd);
    free(j->path);
    free(j);
}
