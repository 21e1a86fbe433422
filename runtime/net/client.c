/* The HTTP/1.1 client of ml.http.request (see client.h). */
#define _GNU_SOURCE /* memmem */
#include "client.h"
#include "../core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int wait_fd(int fd, short ev, double until) {
    for (;;) {
        double left = until - ml_monotonic_s();
        if (left <= 0) return 0;
        struct pollfd p = {fd, ev, 0};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc < 0 && errno == EINTR) continue;
        return rc;
    }
}

int ml_net_connect(const char *host, int port, double timeout_s, char *err, size_t errlen) {
    char ps[16];
    snprintf(ps, sizeof ps, "%d", port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = getaddrinfo(host, ps, &hints, &res);
    if (rc != 0) { snprintf(err, errlen, "%s", gai_strerror(rc)); return -1; }
    int fd = -1, e = ECONNREFUSED;
    double until = ml_monotonic_s() + timeout_s;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
        if (fd < 0) { e = errno; continue; }
        if (connect(fd, a->ai_addr, a->ai_addrlen) < 0) {
            if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, until) > 0) {
                socklen_t len = sizeof e;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len);
                if (e == 0) break;
            } else e = errno == EINPROGRESS ? ETIMEDOUT : errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) snprintf(err, errlen, "%s", strerror(e));
    return fd;
}

int ml_net_send_all(int fd, const char *p, size_t n, double timeout_s) {
    double until = ml_monotonic_s() + timeout_s;
    while (n) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLOUT, until) > 0) continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

long ml_net_recv(int fd, char *buf, size_t cap, double timeout_s, int *closed) {
    *closed = 0;
    double until = ml_monotonic_s() + timeout_s;
    for (;;) {
        ssize_t k = recv(fd, buf, cap, 0);
        if (k > 0) return (long)k;
        if (k == 0) { *closed = 1; return 0; }
        if (errno == EINTR) continue;
        if (errno == ECONNRESET) { *closed = 1; return 0; }
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        int w = wait_fd(fd, POLLIN, until);
        if (w <= 0) return w == 0 ? 0 : -1; /* 0 bytes, not closed: timed out */
    }
}

void ml_http_reply_free(ml_http_reply *r) {
    ml_buf_free(&r->body);
    ml_buf_free(&r->headers);
    r->nheaders = 0;
}

/* Splits http://host[:port][/path]; host may be [v6]. */
static int parse_url(const char *url, char *host, size_t hn, int *port, const char **path, char *err, size_t errlen) {
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(err, errlen, "https is not supported (plain http only)");
        return -1;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "expected an http:// URL");
        return -1;
    }
    const char *h = url + 7, *end = h + strcspn(h, "/?#");
    *path = *end ? end : "/";
    const char *colon = NULL;
    if (*h == '[') {
        const char *rb = memchr(h, ']', (size_t)(end - h));
        if (!rb) { snprintf(err, errlen, "bad IPv6 host"); return -1; }
        if ((size_t)(rb - h - 1) >= hn) { snprintf(err, errlen, "host too long"); return -1; }
        memcpy(host, h + 1, (size_t)(rb - h - 1));
        host[rb - h - 1] = '\0';
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = memchr(h, ':', (size_t)(end - h));
        size_t n = (size_t)((colon ? colon : end) - h);
        if (n == 0 || n >= hn) { snprintf(err, errlen, "expected a host"); return -1; }
        memcpy(host, h, n);
        host[n] = '\0';
    }
    *port = 80;
    if (colon) {
        char *e;
        long p = strtol(colon + 1, &e, 10);
        if (e != end || p < 1 || p > 65535) { snprintf(err, errlen, "bad port"); return -1; }
        *port = (int)p;
    }
    return 0;
}

/* Reads more bytes into b; 1 read, 0 closed, -1 error/timeout. */
static int fill(int fd, ml_buf *b, double until, char *err, size_t errlen, double timeout_s) {
    char tmp[65536];
    double left = until - ml_monotonic_s();
    int closed;
    long k = left > 0 ? ml_net_recv(fd, tmp, sizeof tmp, left, &closed) : 0;
    if (k > 0) { ml_buf_add(b, tmp, (size_t)k); return b->failed ? -1 : 1; }
    if (k == 0 && closed) return 0;
    if (k < 0) snprintf(err, errlen, "%s", strerror(errno));
    else snprintf(err, errlen, "timed out after %g s", timeout_s);
    return -1;
}

static int parse_head(const char *h, size_t n, ml_http_reply *out, long long *clen, int *chunked) {
    const char *line_end = memmem(h, n, "\r\n", 2);
    if (!line_end || sscanf(h, "HTTP/%*d.%*d %d", &out->status) != 1) return -1;
    *clen = -1;
    *chunked = 0;
    const char *p = line_end + 2, *stop = h + n;
    while (p < stop) {
        const char *e = memmem(p, (size_t)(stop - p), "\r\n", 2);
        if (!e) e = stop;
        const char *colon = memchr(p, ':', (size_t)(e - p));
        if (colon) {
            char name[128];
            size_t nl = (size_t)(colon - p) < sizeof name - 1 ? (size_t)(colon - p) : sizeof name - 1;
            for (size_t i = 0; i < nl; i++) name[i] = (char)((p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i]);
            name[nl] = '\0';
            const char *v = colon + 1;
            while (v < e && (*v == ' ' || *v == '\t')) v++;
            ml_buf_add(&out->headers, name, nl + 1);
            ml_buf_add(&out->headers, v, (size_t)(e - v));
            ml_buf_add(&out->headers, "", 1);
            out->nheaders++;
            if (strcmp(name, "content-length") == 0) *clen = strtoll(v, NULL, 10);
            if (strcmp(name, "transfer-encoding") == 0 && strncasecmp(v, "chunked", 7) == 0) *chunked = 1;
        }
        p = e + 2;
    }
    return 0;
}

/* Decodes the chunked body in raw[from..] into out; 1 done, 0 needs more, -1 malformed. */
static int dechunk(const char *raw, size_t len, size_t from, ml_buf *out) {
    size_t p = from;
    out->len = 0;
    for (;;) {
        const char *e = memmem(raw + p, len - p, "\r\n", 2);
        if (!e) return 0;
        char *end;
        unsigned long long n = strtoull(raw + p, &end, 16);
        if (end == raw + p) return -1;
        p = (size_t)(e - raw) + 2;
        if (n == 0) return memmem(raw + p, len - p, "\r\n", 2) ? 1 : 0; /* trailers end with an empty line */
        if (len - p < n + 2) return 0;
        ml_buf_add(out, raw + p, (size_t)n);
        p += n + 2;
    }
}

int ml_http_fetch(const char *method, const char *url, const char *const *names, const char *const *values, int nh,
                  const char *body, size_t body_len, double timeout_s, ml_http_reply *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    char host[256], why[256];
    int port;
    const char *path;
    if (parse_url(url, host, sizeof host, &port, &path, why, sizeof why) < 0) {
        snprintf(err, errlen, "bad URL '%s': %s", url, why);
        return -1;
    }
    double until = ml_monotonic_s() + timeout_s;
    int fd = ml_net_connect(host, port, timeout_s, why, sizeof why);
    if (fd < 0) { snprintf(err, errlen, "cannot connect to %s: %s", url, why); return -1; }
    ml_buf req = {0};
    ml_buf_printf(&req, "%s %s HTTP/1.1\r\n", method, path);
    int has_host = 0, has_len = 0;
    for (int i = 0; i < nh; i++) {
        if (strcasecmp(names[i], "host") == 0) has_host = 1;
        if (strcasecmp(names[i], "content-length") == 0) has_len = 1;
        ml_buf_printf(&req, "%s: %s\r\n", names[i], values[i]);
    }
    if (!has_host) ml_buf_printf(&req, strchr(host, ':') ? "Host: [%s]:%d\r\n" : "Host: %s:%d\r\n", host, port);
    if (!has_len && (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0))
        ml_buf_printf(&req, "Content-Length: %zu\r\n", body_len);
    ml_buf_puts(&req, "Connection: close\r\n\r\n");
    if (body_len) ml_buf_add(&req, body, body_len);
    int rc = -1;
    ml_buf raw = {0};
    if (req.failed || ml_net_send_all(fd, req.data, req.len, timeout_s) < 0) {
        snprintf(err, errlen, "cannot send to %s: %s", url, req.failed ? "out of memory" : strerror(errno));
        goto done;
    }
    size_t head_end = 0;
    long long clen = -1;
    int chunked = 0, got;
    while (!head_end) {
        if ((got = fill(fd, &raw, until, why, sizeof why, timeout_s)) <= 0) {
            snprintf(err, errlen, "no answer from %s: %s", url, got == 0 ? "connection closed" : why);
            goto done;
        }
        const char *e = memmem(raw.data, raw.len, "\r\n\r\n", 4);
        if (e) head_end = (size_t)(e - raw.data) + 4;
        else if (raw.len > (1 << 20)) { snprintf(err, errlen, "bad answer from %s: headers too long", url); goto done; }
    }
    if (parse_head(raw.data, head_end - 2, out, &clen, &chunked) < 0) {
        snprintf(err, errlen, "bad answer from %s: no HTTP status line", url);
        goto done;
    }
    int no_body = strcmp(method, "HEAD") == 0 || out->status == 204 || out->status == 304 || out->status / 100 == 1;
    for (;;) {
        size_t have = raw.len - head_end;
        if (no_body) break;
        if (chunked) {
            int d = dechunk(raw.data, raw.len, head_end, &out->body);
            if (d < 0) { snprintf(err, errlen, "bad answer from %s: malformed chunked body", url); goto done; }
            if (d == 1) break;
        } else if (clen >= 0 && have >= (size_t)clen) {
            ml_buf_add(&out->body, raw.data + head_end, (size_t)clen);
            break;
        }
        got = fill(fd, &raw, until, why, sizeof why, timeout_s);
        if (got < 0) { snprintf(err, errlen, "reading from %s: %s", url, why); goto done; }
        if (got == 0) {
            if (chunked || clen >= 0) { snprintf(err, errlen, "reading from %s: connection closed early", url); goto done; }
            ml_buf_add(&out->body, raw.data + head_end, have); /* read until close */
            break;
        }
    }
    ml_buf_add(&out->body, "", 0);
    rc = 0;
done:
    close(fd);
    ml_buf_free(&req);
    ml_buf_free(&raw);
    return rc;
}
