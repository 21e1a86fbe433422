/* The thread-local error message (see error.h). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char errbuf[512];

void *ml_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return NULL;
}

const char *ml_last_error(void) { return errbuf[0] ? errbuf : "unknown error"; }
