/* The HTTP server of ml.http, on libmicrohttpd.
 *
 * Why libmicrohttpd: it is a Debian-packaged, well-kept GNU library that
 * speaks HTTP/1.1 with keep-alive and pipelining, runs its own threads,
 * brings TLS through GnuTLS (MHD_USE_TLS), and has connection limits and
 * per-connection idle timeouts built in, so none of that is ours to get
 * wrong. Its timeout counts idle time only: the worker also cuts a request
 * not read within twice the timeout (a client trickling a byte at a time).
 *
 * Threads: an acceptor thread takes each new connection and gives it to the
 * worker with the fewest (at max_connections it leaves new ones in the
 * backlog); a fixed pool of worker threads, each owning the context the
 * binding makes (a Lua state) and its own libmicrohttpd daemon in "external
 * polling" mode with no listening socket, adds them: the worker's loop polls
 * its daemon's epoll set and runs it, and the request handler runs right
 * there, in the thread that read the request. No request is handed from one
 * thread to another (on a virtual machine each hand-off costs two wake-ups of
 * tens of microseconds), and a slow client costs no thread: libmicrohttpd
 * reads bodies without blocking. A handler may park an exchange (dynamic
 * batching): the connection is suspended, the worker serves others, and
 * ml_http_resume from any thread brings it back to the same worker, whose
 * resume hook finishes it. Nothing here
 * calls Lua; the binding's hooks do, in the worker threads. */
#ifndef ML_NET_SERVER_H
#define ML_NET_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "../core/buf.h"
#include "batch.h"
#include "metrics.h"
#include "shared.h"

typedef struct ml_http_server ml_http_server;

/* One request and its answer. Strings in the request are NUL-terminated;
 * header names are lower-case. */
typedef struct ml_http_exchange {
    const char *method, *path, *remote;
    int nheaders, nquery;
    const char **header_names, **header_values; /* nheaders each */
    const char **query_names, **query_values;   /* nquery each */
    const char *body;
    size_t body_len;
    /* the answer, written by the worker's handler */
    int status;
    ml_buf resp;          /* body */
    char content_type[128];
    ml_buf resp_headers;  /* extra headers: name\0value\0 ... */
    int nresp_headers;
    char route[96];       /* the metrics label; "other" unless the handler sets it */
    void *parked;         /* the binding's state of a parked exchange (NULL otherwise) */
    int abandoned;        /* the client went away while it was parked: finish it, answer no one */
} ml_http_exchange;

typedef struct {
    const char *host;
    int port;
    int workers, max_connections, timeout;
    size_t body_limit;
    const char *token;             /* NULL: no authentication */
    const char *tls_cert, *tls_key; /* PEM text, both or neither */
    bool quiet;
    /* Hooks, run in each worker thread: init makes the worker's context
     * (NULL with err written on failure), handle answers one exchange and
     * returns 0, or returns 1 to park it; parked runs once the connection is
     * suspended (it may call ml_http_resume at once); resume runs when a
     * parked exchange comes back and returns 0 or 1 as handle does (also when
     * the client hung up meanwhile, with x->abandoned set: it must not park
     * again, so that a batch it leads still runs for the others); tick runs
     * on each turn of the loop and returns the milliseconds until it wants to
     * run again (-1: no wish), and runs again with idle = 1 when no socket of
     * the worker is ready and every request in the server is parked (no one
     * could join a batch then, so it need not wait for its delay), and
     * with idle = 2 once the server's grace is over (every parked batch
     * must run now: the worker cannot stop while one is parked);
     * close ends the context. parked, resume and
     * tick may be NULL when handle never parks. */
    void *(*worker_init)(void *ud, ml_http_server *srv, int index, char *err, size_t errlen);
    int (*worker_handle)(void *ctx, ml_http_exchange *x);
    void (*worker_parked)(void *ctx, ml_http_exchange *x);
    int (*worker_resume)(void *ctx, ml_http_exchange *x);
    int (*worker_tick)(void *ctx, int idle);
    void (*worker_close)(void *ctx);
    void *ud;
} ml_http_config;

/* Starts the server: binds, starts the workers (waiting until each has run
 * its init) and the daemon. NULL with err written ("cannot bind
 * 127.0.0.1:8080: Address already in use", a worker's init error ...). */
ml_http_server *ml_http_start(const ml_http_config *c, char *err, size_t errlen);
int ml_http_port(const ml_http_server *s);
bool ml_http_tls(const ml_http_server *s);
/* Graceful stop: stops accepting, lets requests in flight finish (up to
 * grace_s seconds), then runs every parked batch at once and waits for them,
 * closes the connections, joins the workers. Idempotent. */
void ml_http_stop(ml_http_server *s, double grace_s);
void ml_http_free(ml_http_server *s); /* stops first; NULL-safe */

ml_metrics *ml_http_metrics(ml_http_server *s);
ml_shared *ml_http_shared(ml_http_server *s);
ml_batcher *ml_http_batcher(ml_http_server *s);
/* The metrics text, with the in-flight gauge brought up to date. */
void ml_http_metrics_text(ml_http_server *s, ml_buf *out);

/* Brings a parked exchange back to its worker (from any thread, once per
 * parking, only after the parked hook has run for it). */
void ml_http_resume(ml_http_exchange *x);

/* Adds a response header (copied) to x. */
void ml_http_add_header(ml_http_exchange *x, const char *name, const char *value);
/* Writes {"error": msg} (JSON-escaped) as x's answer with this status. */
void ml_http_error_answer(ml_http_exchange *x, int status, const char *msg);

#endif
