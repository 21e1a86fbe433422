/* The HTTP server: the acceptor, the worker threads with their own
 * libmicrohttpd daemons, parked exchanges (see server.h for the design and
 * why libmicrohttpd). */
#define _GNU_SOURCE /* accept4 */
#include "server.h"
#include "../core/clock.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../io/io.h"

typedef struct worker worker;

/* A connection of a worker's daemon, and how long it has been reading its
 * current request: libmicrohttpd's timeout counts idle time only, so a
 * client that sends a byte every second (slow-loris) would hold its
 * connection forever; the worker cuts a request that is not read within
 * twice the timeout of the connection's start or the previous answer. */
typedef struct conn_state {
    struct conn_state *prev, *next; /* in the worker's list */
    struct MHD_Connection *conn;
    double since;  /* a request is being read since then */
    int reading;   /* 1 until its handler runs or an answer is queued */
    int cut;       /* shut down for reading too long */
} conn_state;

/* An exchange with what the server keeps beside it. */
typedef struct req {
    ml_http_exchange x; /* first: ml_http_resume casts back */
    worker *w;
    struct MHD_Connection *conn;
    int early;          /* a status answered before the handler (401, 413) */
    int queued;         /* a response is queued: ignore further calls */
    int parked;         /* the connection is suspended until ml_http_resume */
    struct req *next_parked; /* in the worker's list of exchanges parked in this run */
    size_t discarded;   /* body bytes dropped past the limit */
    double t0;
    char *method, *path;
    char remote[64];
    ml_buf body;
} req;

struct worker {
    ml_http_server *srv;
    int index;
    pthread_t thread;
    int started;
    struct MHD_Daemon *daemon;
    void *ctx;
    int nparked;        /* suspended connections of this worker's daemon */
    req *just_parked;   /* parked during the current MHD_run: told to the binding after it */
    atomic_int resumed; /* resumes asked since the last turn */
    atomic_int nconn;   /* open connections of this worker (the acceptor balances on it) */
    /* connections the acceptor gave this worker, added to its daemon by the
     * worker itself (MHD_add_connection belongs to the thread that runs the
     * daemon in external polling mode) */
    pthread_mutex_t inbox_mu;
    struct incoming { int fd; socklen_t len; struct sockaddr_storage addr; } *inbox;
    int ninbox, capinbox;
    int wake_fd;        /* an eventfd: a resume from another thread ends the worker's poll */
    conn_state *conns;  /* the daemon's connections (slow-request deadline) */
    unsigned long nstarted; /* start notices, to tell which failed MHD_add_connection was counted closed */
    double next_sweep;
};

struct ml_http_server {
    ml_http_config cfg;
    char *token, *host;
    int listen_fd, port;
    pthread_mutex_t mu;
    pthread_cond_t ready_cv;
    int nready, nfailed;
    pthread_t acceptor;
    int acceptor_started;
    char init_err[512];
    worker *workers;
    atomic_int in_flight;
    atomic_int parked;       /* exchanges parked on all workers */
    atomic_int stopping;     /* 1: accept no more and drain; 2: leave the loop */
    int stopped;
    ml_metrics *metrics;
    ml_shared *shared;
    ml_batcher *batcher;
};

static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

static conn_state *state_of(struct MHD_Connection *conn) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

/* Once every request in the server is parked, an eager leader may run at
 * once; its worker may be asleep until the leader's deadline, and what made
 * the count true (a park, a request finished) happened on another worker:
 * wake the others (each one's next turn looks). */
static void wake_if_all_parked(ml_http_server *s, const worker *self) {
    int parked = atomic_load(&s->parked);
    if (parked == 0 || atomic_load(&s->in_flight) > parked) return;
    uint64_t one = 1;
    for (int i = 0; i < s->cfg.workers; i++) {
        const worker *w = &s->workers[i];
        if (w != self && w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof one) < 0) { /* awake anyway */ }
    }
}

int ml_http_port(const ml_http_server *s) { return s->port; }
bool ml_http_tls(const ml_http_server *s) { return s->cfg.tls_cert != NULL; }
ml_metrics *ml_http_metrics(ml_http_server *s) { return s->metrics; }
ml_shared *ml_http_shared(ml_http_server *s) { return s->shared; }
ml_batcher *ml_http_batcher(ml_http_server *s) { return s->batcher; }

void ml_http_add_header(ml_http_exchange *x, const char *name, const char *value) {
    ml_buf_add(&x->resp_headers, name, strlen(name) + 1);
    ml_buf_add(&x->resp_headers, value, strlen(value) + 1);
    x->nresp_headers++;
}

void ml_http_error_answer(ml_http_exchange *x, int status, const char *msg) {
    x->status = status;
    x->resp.len = 0;
    ml_buf_puts(&x->resp, "{\"error\": ");
    ml_json_put_string(&x->resp, msg, strlen(msg));
    ml_buf_puts(&x->resp, "}");
    snprintf(x->content_type, sizeof x->content_type, "application/json");
}

static _Thread_local worker *this_worker; /* the worker whose thread this is, or NULL */

void ml_http_resume(ml_http_exchange *x) {
    req *r = (req *)x;
    worker *w = r->w; /* r may be finished and freed once the resume is asked: only w after it */
    atomic_fetch_add(&w->resumed, 1);
    MHD_resume_connection(r->conn); /* thread-safe with MHD_USE_ITC */
    /* another thread wakes the worker from its poll; the worker itself is awake, and looks at
     * `resumed` before it polls again (a write is a system call per request in a C batch) */
    uint64_t one = 1;
    if (this_worker != w && w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof one) < 0) { /* awake anyway */ }
}

/* ---- requests ------------------------------------------------------------ */

typedef struct {
    const char **names, **values;
    int n, cap, lower;
} pairs;

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    (void)kind;
    pairs *p = cls;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        const char **n = realloc(p->names, cap * sizeof *n), **v = n ? realloc(p->values, cap * sizeof *v) : NULL;
        if (n) p->names = n;
        if (!n || !v) return MHD_NO;
        p->values = v;
        p->cap = cap;
    }
    char *k = strdup(key ? key : ""), *val = strdup(value ? value : "");
    if (!k || !val) { free(k); free(val); return MHD_NO; }
    if (p->lower)
        for (char *c = k; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c += 32;
    p->names[p->n] = k;
    p->values[p->n] = val;
    p->n++;
    return MHD_YES;
}

static void free_pairs(const char **names, const char **values, int n) {
    for (int i = 0; i < n; i++) { free((void *)names[i]); free((void *)values[i]); }
    free(names);
    free(values);
}

static void req_free(req *r) {
    if (!r) return;
    free_pairs(r->x.header_names, r->x.header_values, r->x.nheaders);
    free_pairs(r->x.query_names, r->x.query_values, r->x.nquery);
    ml_buf_free(&r->x.resp);
    ml_buf_free(&r->x.resp_headers);
    ml_buf_free(&r->body);
    free(r->method);
    free(r->path);
    free(r);
}

/* Constant-time comparison of the Authorization header with "Bearer TOKEN". */
static int token_ok(const char *token, const char *auth) {
    if (!auth) return 0;
    static const char prefix[] = "Bearer ";
    if (strncasecmp(auth, prefix, sizeof prefix - 1) != 0) return 0;
    auth += sizeof prefix - 1;
    size_t n = strlen(token), m = strlen(auth);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)token[i] ^ (unsigned char)(i < m ? auth[i] : 0);
    return diff == 0;
}

static void record(ml_http_server *s, req *r, int status) {
    char code[16];
    snprintf(code, sizeof code, "%d", status);
    const char *route = r->x.route[0] ? r->x.route : "other";
    const char *k2[] = {"route", "code"}, *v2[] = {route, code};
    ml_labels l2 = {k2, v2, 2}, l1 = {k2, v2, 1};
    double dt = ml_monotonic_s() - r->t0;
    ml_metrics_add(s->metrics, "moonlab_http_requests_total", ML_METRIC_COUNTER, &l2, 1, 0, NULL, 0);
    ml_metrics_observe(s->metrics, "moonlab_http_request_duration_seconds", &l1, dt, latency_bounds,
                       (int)(sizeof latency_bounds / sizeof *latency_bounds), NULL, 0);
    if (!s->cfg.quiet)
        fprintf(stderr, "http: %s %s %d %.2f ms %s\n", r->method, r->path, status, 1e3 * dt, r->remote);
}

static enum MHD_Result send_answer(ml_http_server *s, struct MHD_Connection *conn, req *r) {
    ml_http_exchange *x = &r->x;
    int status = x->status >= 100 && x->status <= 599 ? x->status : 500;
    struct MHD_Response *resp;
    if (x->resp.len && x->resp.data && !x->resp.failed) {
        resp = MHD_create_response_from_buffer(x->resp.len, x->resp.data, MHD_RESPMEM_MUST_FREE);
        if (resp) x->resp.data = NULL, x->resp.len = x->resp.cap = 0; /* libmicrohttpd frees it */
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp) return MHD_NO;
    conn_state *cs = state_of(conn);
    if (cs) cs->reading = 0; /* answered: whatever of the body is left is not waited for */
    const char *ct = x->content_type[0] ? x->content_type : "text/plain; charset=utf-8";
    const char *h = x->resp_headers.data;
    for (int i = 0; h && i < x->nresp_headers; i++) {
        const char *name = h, *value = h + strlen(h) + 1;
        h = value + strlen(value) + 1;
        if (strcasecmp(name, "content-type") == 0) ct = value;
        else if (strcasecmp(name, "content-length") != 0 && strcasecmp(name, "transfer-encoding") != 0)
            MHD_add_response_header(resp, name, value);
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ct);
    if (atomic_load(&s->stopping)) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    r->queued = 1;
    record(s, r, status);
    return ok;
}

static enum MHD_Result answer_early(ml_http_server *s, struct MHD_Connection *conn, req *r, int status) {
    r->early = status;
    ml_http_error_answer(&r->x, status,
                         status == 401 ? "missing or wrong bearer token (send 'Authorization: Bearer TOKEN')"
                                       : "request body too large");
    if (status == 401) ml_http_add_header(&r->x, "WWW-Authenticate", "Bearer");
    else ml_http_add_header(&r->x, "Connection", "close"); /* the rest of the body is not worth reading */
    return send_answer(s, conn, r);
}

static void remote_of(struct MHD_Connection *conn, char *out, size_t n) {
    snprintf(out, n, "unknown");
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    getnameinfo(ci->client_addr, len, out, (socklen_t)n, NULL, 0, NI_NUMERICHOST);
}

/* Parks r (the handler asked for it) or sends its answer. */
static enum MHD_Result after_handler(worker *w, struct MHD_Connection *conn, req *r, int parked) {
    ml_http_server *s = w->srv;
    if (!parked) {
        r->x.parked = NULL;
        return send_answer(s, conn, r);
    }
    MHD_suspend_connection(conn);
    r->parked = 1;
    w->nparked++;
    atomic_fetch_add(&s->parked, 1);
    /* libmicrohttpd completes the suspension once this callback returns:
     * only then may anyone resume it, so the binding hears of it after the run */
    r->next_parked = w->just_parked;
    w->just_parked = r;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    worker *w = cls;
    ml_http_server *s = w->srv;
    req *r = *con_cls;
    if (!r) { /* headers are in */
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->w = w;
        r->conn = conn;
        r->t0 = ml_monotonic_s();
        r->method = strdup(method);
        r->path = strdup(url);
        *con_cls = r;
        atomic_fetch_add(&s->in_flight, 1);
        if (!r->method || !r->path) return MHD_NO;
        remote_of(conn, r->remote, sizeof r->remote);
        if (s->token && !(strcmp(method, "GET") == 0 && strcmp(url, "/health") == 0) &&
            !token_ok(s->token, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
            return answer_early(s, conn, r, 401);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->cfg.body_limit) return answer_early(s, conn, r, 413);
        return MHD_YES;
    }
    if (r->parked) { /* resumed: the handler finishes it, or parks it again */
        r->parked = 0;
        w->nparked--;
        atomic_fetch_sub(&s->parked, 1);
        return after_handler(w, conn, r, s->cfg.worker_resume(w->ctx, &r->x));
    }
    if (r->queued) { *upload_data_size = 0; return MHD_YES; }
    if (*upload_data_size) { /* a piece of the body */
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->early || r->body.len + n > s->cfg.body_limit) {
            /* libmicrohttpd answers only once the upload ends: drop what
             * comes, and hang up on a client that keeps sending */
            r->early = 413;
            r->discarded += n;
            return r->discarded > s->cfg.body_limit + (1u << 20) ? MHD_NO : MHD_YES;
        }
        ml_buf_add(&r->body, upload_data, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    if (r->early) return answer_early(s, conn, r, r->early);
    /* the whole request is in: the handler runs here, in this worker */
    conn_state *cs = state_of(conn);
    if (cs) cs->reading = 0;
    pairs hp = {.lower = 1}, qp = {0};
    MHD_get_connection_values(conn, MHD_HEADER_KIND, collect, &hp);
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect, &qp);
    ml_http_exchange *x = &r->x;
    x->header_names = hp.names, x->header_values = hp.values, x->nheaders = hp.n;
    x->query_names = qp.names, x->query_values = qp.values, x->nquery = qp.n;
    x->method = r->method;
    x->path = r->path;
    x->remote = r->remote;
    x->body = r->body.data ? r->body.data : "";
    x->body_len = r->body.len;
    x->status = 200;
    return after_handler(w, conn, r, s->cfg.worker_handle(w->ctx, x));
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode why) {
    (void)why;
    worker *w = cls;
    conn_state *cs = state_of(conn);
    if (cs) { cs->reading = 1; cs->since = ml_monotonic_s(); } /* the next request's time starts */
    req *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    if (r->parked) { /* closed while parked: the call still finishes (a batch it leads runs for the others) */
        r->parked = 0;
        w->nparked--;
        atomic_fetch_sub(&w->srv->parked, 1);
        r->x.abandoned = 1;
        w->srv->cfg.worker_resume(w->ctx, &r->x);
    }
    req_free(r);
    atomic_fetch_sub(&w->srv->in_flight, 1);
    wake_if_all_parked(w->srv, w);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) {
    ml_http_server *s = cls;
    if (s->cfg.quiet) return;
    fputs("http: ", stderr);
    vfprintf(stderr, fmt, ap);
}

/* ---- start and stop ------------------------------------------------------ */

static int bind_listen(const char *host, int port, char *err, size_t errlen) {
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot bind %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    int fd = -1, e = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) { e = errno; continue; }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) < 0 || listen(fd, 512) < 0) {
            e = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) snprintf(err, errlen, "cannot bind %s:%d: %s", host, port, strerror(e ? e : EADDRNOTAVAIL));
    return fd;
}

static int bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* ---- workers ------------------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code) {
    worker *w = cls;
    conn_state *cs = *socket_context;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        w->nstarted++;
        cs = calloc(1, sizeof *cs); /* out of memory: this one has no deadline but the idle timeout */
        if (!cs) return;
        cs->conn = conn;
        cs->since = ml_monotonic_s();
        cs->reading = 1;
        cs->next = w->conns;
        if (w->conns) w->conns->prev = cs;
        w->conns = cs;
        *socket_context = cs;
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_CLOSED) return;
    atomic_fetch_sub(&w->nconn, 1);
    if (!cs) return;
    if (cs->prev) cs->prev->next = cs->next;
    else w->conns = cs->next;
    if (cs->next) cs->next->prev = cs->prev;
    free(cs);
    *socket_context = NULL;
}

/* Cuts the connections that have been reading one request for more than
 * twice the timeout (a few times a second): shut down, the daemon sees the
 * socket end and closes it. */
static void sweep(worker *w) {
    double now = ml_monotonic_s();
    if (now < w->next_sweep) return;
    w->next_sweep = now + 0.25;
    double limit = 2.0 * w->srv->cfg.timeout;
    for (conn_state *c = w->conns; c; c = c->next) {
        if (!c->reading || c->cut || now - c->since <= limit) continue;
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (ci) shutdown(ci->connect_fd, SHUT_RDWR);
        c->cut = 1;
    }
}

/* The acceptor: takes each new connection and gives it to the worker with
 * the fewest, so that 16 keep-alive clients are 8 and 8 on two workers (a
 * shared listening socket lets whichever worker wakes first take a burst).
 * At max_connections it leaves new ones in the backlog. */
static void *acceptor_main(void *arg) {
    ml_http_server *s = arg;
    int n = s->cfg.workers;
    while (!atomic_load(&s->stopping)) {
        struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0) continue;
        int total = 0, best = 0;
        for (int i = 0; i < n; i++) {
            int c = atomic_load(&s->workers[i].nconn);
            total += c;
            if (c < atomic_load(&s->workers[best].nconn)) best = i;
        }
        if (total >= s->cfg.max_connections) {
            struct timespec t = {0, 5 * 1000 * 1000};
            nanosleep(&t, NULL);
            continue;
        }
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        int fd = accept4(s->listen_fd, (struct sockaddr *)&addr, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                struct timespec t = {0, 10 * 1000 * 1000}; /* out of descriptors: let some close */
                nanosleep(&t, NULL);
            }
            continue;
        }
        worker *w = &s->workers[best];
        pthread_mutex_lock(&w->inbox_mu);
        if (w->ninbox == w->capinbox) {
            int cap = w->capinbox ? 2 * w->capinbox : 16;
            struct incoming *in = realloc(w->inbox, (size_t)cap * sizeof *in);
            if (in) w->inbox = in, w->capinbox = cap;
        }
        int queued = w->ninbox < w->capinbox;
        if (queued) {
            w->inbox[w->ninbox].fd = fd;
            w->inbox[w->ninbox].len = len;
            memcpy(&w->inbox[w->ninbox].addr, &addr, len);
            w->ninbox++;
            atomic_fetch_add(&w->nconn, 1);
        }
        pthread_mutex_unlock(&w->inbox_mu);
        if (!queued) { close(fd); continue; } /* out of memory */
        uint64_t one = 1; /* the worker may be asleep in its poll */
        if (w->wake_fd >= 0 && write(w->wake_fd, &one, sizeof one) < 0) { /* awake anyway */ }
    }
    return NULL;
}

static struct MHD_Daemon *start_daemon(worker *w, char *err, size_t errlen) {
    ml_http_server *s = w->srv;
    const ml_http_config *c = &s->cfg;
    /* no listening socket: the acceptor hands each connection to a worker */
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | MHD_USE_NO_LISTEN_SOCKET;
    if (c->tls_cert) flags |= MHD_USE_TLS;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, w, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)c->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)c->timeout,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, w, MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
        c->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, c->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, c->tls_key,
        MHD_OPTION_END);
    if (!d)
        snprintf(err, errlen, "cannot start the server on %s:%d%s", s->host, s->port,
                 c->tls_cert ? " (is the TLS certificate or key invalid?)" : "");
    return d;
}

/* Adds the connections the acceptor gave this worker to its daemon. */
static void take_inbox(worker *w) {
    pthread_mutex_lock(&w->inbox_mu);
    int n = w->ninbox;
    struct incoming in[64];
    if (n == 0) { pthread_mutex_unlock(&w->inbox_mu); return; }
    if (n > 64) n = 64;
    memcpy(in, w->inbox, (size_t)n * sizeof *in);
    memmove(w->inbox, w->inbox + n, (size_t)(w->ninbox - n) * sizeof *in);
    w->ninbox -= n;
    pthread_mutex_unlock(&w->inbox_mu);
    for (int i = 0; i < n; i++) {
        unsigned long started = w->nstarted;
        /* MHD closed it; when it failed after its start notice, the closed one counted it already */
        if (MHD_add_connection(w->daemon, in[i].fd, (struct sockaddr *)&in[i].addr, in[i].len) != MHD_YES &&
            w->nstarted == started)
            atomic_fetch_sub(&w->nconn, 1);
    }
}

/* Runs the daemon, then tells the binding what was parked during the run. */
static void run_daemon(worker *w) {
    take_inbox(w);
    MHD_run(w->daemon);
    req *r = w->just_parked;
    w->just_parked = NULL;
    if (r) wake_if_all_parked(w->srv, w);
    while (r) {
        req *next = r->next_parked;
        if (w->srv->cfg.worker_parked) w->srv->cfg.worker_parked(w->ctx, &r->x);
        r = next;
    }
}

/* One turn: wait for the daemon's sockets (or the tick's or the daemon's
 * own deadline, or 50 ms to look at the stop flag), then run the daemon. */
static void turn(worker *w, int epfd) {
    ml_http_server *s = w->srv;
    long wait_ms = 50;
    MHD_UNSIGNED_LONG_LONG mt;
    if (MHD_get_timeout(w->daemon, &mt) == MHD_YES && (long long)mt < wait_ms) wait_ms = (long)mt;
    struct pollfd p[2] = {{.fd = epfd, .events = POLLIN}, {.fd = w->wake_fd, .events = POLLIN}};
    int nfds = w->wake_fd >= 0 ? 2 : 1;
    if (s->cfg.worker_tick) {
        /* past the grace no one is waited for: every parked leader runs now */
        int t = s->cfg.worker_tick(w->ctx, atomic_load(&s->stopping) == 2 ? 2 : 0);
        /* something is parked on this worker: when no socket is ready and
         * every request in the server is parked, no one can join it: run it */
        if (t >= 0 && !atomic_load(&w->resumed) && atomic_load(&s->in_flight) <= atomic_load(&s->parked) &&
            poll(p, nfds, 0) == 0)
            t = s->cfg.worker_tick(w->ctx, 1);
        if (t >= 0 && t < wait_ms) wait_ms = t;
    }
    if (!atomic_load(&w->resumed)) poll(p, nfds, (int)wait_ms);
    if (w->wake_fd >= 0 && (p[1].revents & POLLIN)) {
        uint64_t v;
        if (read(w->wake_fd, &v, sizeof v) < 0) { /* nothing to read: another turn took it */ }
    }
    /* a resumed connection is moved back by one run and served by the
     * next, which no socket event would start */
    int resumed = atomic_exchange(&w->resumed, 0);
    run_daemon(w);
    if (resumed) run_daemon(w);
    sweep(w);
}

static void *worker_main(void *arg) {
    worker *w = arg;
    this_worker = w;
    ml_http_server *s = w->srv;
    char err[512] = "";
    w->ctx = s->cfg.worker_init(s->cfg.ud, s, w->index, err, sizeof err);
    if (w->ctx) w->daemon = start_daemon(w, err, sizeof err);
    int epfd = -1;
    if (w->daemon) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        epfd = di ? di->epoll_fd : -1;
        if (epfd < 0) snprintf(err, sizeof err, "cannot start the server: libmicrohttpd has no epoll set");
    }
    pthread_mutex_lock(&s->mu);
    s->nready++;
    int ok = w->daemon && epfd >= 0;
    if (!ok && !s->nfailed++) snprintf(s->init_err, sizeof s->init_err, "%s", err);
    pthread_cond_broadcast(&s->ready_cv);
    while (ok && s->nfailed == 0 && s->nready < s->cfg.workers) pthread_cond_wait(&s->ready_cv, &s->mu);
    if (s->nfailed) ok = 0;
    pthread_mutex_unlock(&s->mu);

    while (ok) {
        turn(w, epfd);
        /* 2: the grace is over, or nothing is in flight anywhere; parked
         * exchanges are still brought home first (the tick runs every
         * leader at once then, and a leader always publishes): stopping a
         * daemon that holds a suspended connection is a libmicrohttpd panic
         * (abort), so there is no time limit here */
        if (atomic_load(&s->stopping) == 2 && w->nparked == 0) break;
    }
    if (w->daemon) {
        MHD_stop_daemon(w->daemon); /* closes this worker's connections */
        w->daemon = NULL;
    }
    if (w->ctx) s->cfg.worker_close(w->ctx);
    w->ctx = NULL;
    return NULL;
}

static void join_workers(ml_http_server *s) {
    atomic_store(&s->stopping, 2);
    for (int i = 0; i < s->cfg.workers; i++)
        if (s->workers[i].started) {
            pthread_join(s->workers[i].thread, NULL);
            s->workers[i].started = 0;
        }
}

ml_http_server *ml_http_start(const ml_http_config *c, char *err, size_t errlen) {
    ml_http_server *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return NULL; }
    s->cfg = *c;
    if (s->cfg.workers < 1) s->cfg.workers = 1;
    s->listen_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->ready_cv, NULL);
    s->metrics = ml_metrics_new();
    s->shared = ml_shared_new();
    s->batcher = ml_batcher_new();
    s->workers = calloc(s->cfg.workers, sizeof *s->workers);
    for (int i = 0; s->workers && i < s->cfg.workers; i++) s->workers[i].wake_fd = -1;
    s->token = c->token ? strdup(c->token) : NULL;
    s->host = strdup(c->host ? c->host : "127.0.0.1");
    s->stopped = 1; /* nothing to stop until the workers run */
    if (!s->metrics || !s->shared || !s->batcher || !s->workers || !s->host || (c->token && !s->token)) {
        snprintf(err, errlen, "out of memory");
        ml_http_free(s);
        return NULL;
    }
    s->cfg.host = s->host;
    ml_metrics_help(s->metrics, "moonlab_http_requests_total", "HTTP requests answered, by route and status code",
                    ML_METRIC_COUNTER, NULL, 0);
    ml_metrics_help(s->metrics, "moonlab_http_request_duration_seconds", "Time from request headers to answer, by route",
                    ML_METRIC_HISTOGRAM, NULL, 0);
    ml_metrics_help(s->metrics, "moonlab_http_requests_in_flight", "Requests being read, run or answered",
                    ML_METRIC_GAUGE, NULL, 0);
    s->listen_fd = bind_listen(s->host, c->port, err, errlen);
    if (s->listen_fd < 0) { ml_http_free(s); return NULL; }
    s->port = bound_port(s->listen_fd);

    /* Our threads leave SIGINT/SIGTERM to the thread that waits for them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (int i = 0; i < s->cfg.workers; i++) {
        s->workers[i].srv = s;
        s->workers[i].index = i;
        s->workers[i].wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        pthread_mutex_init(&s->workers[i].inbox_mu, NULL);
        s->workers[i].started = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]) == 0;
        if (!s->workers[i].started) {
            pthread_mutex_lock(&s->mu);
            s->nready++;
            if (!s->nfailed++) snprintf(s->init_err, sizeof s->init_err, "cannot start a worker thread");
            pthread_cond_broadcast(&s->ready_cv);
            pthread_mutex_unlock(&s->mu);
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&s->mu);
    while (s->nready < s->cfg.workers) pthread_cond_wait(&s->ready_cv, &s->mu);
    int failed = s->nfailed;
    pthread_mutex_unlock(&s->mu);
    if (!failed) {
        pthread_sigmask(SIG_BLOCK, &block, &old);
        s->acceptor_started = pthread_create(&s->acceptor, NULL, acceptor_main, s) == 0;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (!s->acceptor_started) {
            failed = 1;
            snprintf(s->init_err, sizeof s->init_err, "cannot start the acceptor thread");
        }
    }
    if (failed) {
        snprintf(err, errlen, "%s", s->init_err);
        join_workers(s);
        ml_http_free(s);
        return NULL;
    }
    s->stopped = 0;
    return s;
}

void ml_http_stop(ml_http_server *s, double grace_s) {
    if (s->stopped) return;
    s->stopped = 1;
    atomic_store(&s->stopping, 1);
    /* the acceptor ends, then the socket is closed: new connections are
     * refused from now on, not left in the backlog */
    if (s->acceptor_started) pthread_join(s->acceptor, NULL);
    s->acceptor_started = 0;
    if (s->listen_fd >= 0) close(s->listen_fd);
    s->listen_fd = -1;
    double until = ml_monotonic_s() + grace_s;
    while (atomic_load(&s->in_flight) > 0 && ml_monotonic_s() < until) {
        struct timespec t = {0, 5 * 1000 * 1000};
        nanosleep(&t, NULL);
    }
    join_workers(s);
}

void ml_http_free(ml_http_server *s) {
    if (!s) return;
    ml_http_stop(s, 0);
    if (s->listen_fd >= 0) close(s->listen_fd);
    ml_metrics_free(s->metrics);
    ml_shared_free(s->shared);
    ml_batcher_free(s->batcher);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->ready_cv);
    for (int i = 0; s->workers && i < s->cfg.workers; i++) {
        worker *w = &s->workers[i];
        if (w->wake_fd >= 0) close(w->wake_fd);
        for (int k = 0; k < w->ninbox; k++) close(w->inbox[k].fd); /* given but never taken */
        free(w->inbox);
        if (w->srv) pthread_mutex_destroy(&w->inbox_mu);
    }
    free(s->workers);
    free(s->token);
    free(s->host);
    free(s);
}

void ml_http_metrics_text(ml_http_server *s, ml_buf *out) {
    ml_metrics_add(s->metrics, "moonlab_http_requests_in_flight", ML_METRIC_GAUGE, NULL,
                   (double)atomic_load(&s->in_flight), 1, NULL, 0);
    ml_metrics_text(s->metrics, out);
}
