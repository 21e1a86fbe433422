/* An append-only journal file shared by several processes (journal.c): a
 * search's trials as JSON lines. Readers and writers take flock(2) locks on
 * the file itself, so concurrent searches on one journal see whole lines in
 * one order; an exclusive lock held across "read the tail, append a line"
 * makes claiming the next trial atomic. Nothing here knows about Lua or JSON.
 * Every function returns -1 (or NULL) with ml_error's message naming the
 * path and the OS reason on failure. */
#ifndef ML_IO_JOURNAL_H
#define ML_IO_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

typedef struct ml_journal ml_journal;

/* Opens and locks path: exclusive when excl (read-write, creating it when absent), else shared (read-only: the file must exist). */
ml_journal *ml_journal_lock(const char *path, int excl);
/* The bytes from offset to the end (malloc'ed in *out, *n); the caller frees *out. */
int ml_journal_read(ml_journal *j, int64_t offset, char **out, size_t *n);
/* Appends n bytes under the held lock; with sync, also flushes them to the disk (fdatasync) so they survive
 * a machine crash (a killed process loses nothing either way: the bytes are in the kernel's page cache). */
int ml_journal_append(ml_journal *j, const char *bytes, size_t n, int sync);
/* Unlocks and closes. */
void ml_journal_unlock(ml_journal *j);

#endif
