/* Error strings: every C function that can fail returns NULL or -1 and
 * leaves one message in a thread-local buffer; the bindings raise it as a
 * Lua error. Nothing here knows about Lua. */
#ifndef ML_CORE_ERROR_H
#define ML_CORE_ERROR_H

/* Formats a message into a thread-local buffer; always returns NULL. */
void *ml_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The last message of this thread ("unknown error" when none was set). */
const char *ml_last_error(void);

#endif
