/* A small blocking HTTP/1.1 client over a TCP socket (plain http only):
 * one request per connection, the answer read by Content-Length, chunked
 * transfer coding, or until the server closes. Every wait is bounded by the
 * timeout. Also the raw socket calls the tests use to send malformed bytes. */
#ifndef ML_NET_CLIENT_H
#define ML_NET_CLIENT_H

#include <stddef.h>

#include "../core/buf.h"

typedef struct {
    int status;
    ml_buf body;
    ml_buf headers; /* lower-case name\0value\0 ... */
    int nheaders;
} ml_http_reply;

/* Sends one request and reads the answer into out (free it with
 * ml_http_reply_free, also after a failure). -1 with err ("cannot connect
 * to URL: reason", "timed out after 5 s", ...) on failure. */
int ml_http_fetch(const char *method, const char *url, const char *const *names, const char *const *values, int nh,
                  const char *body, size_t body_len, double timeout_s, ml_http_reply *out, char *err, size_t errlen);
void ml_http_reply_free(ml_http_reply *r);

/* Raw sockets: a connected fd or -1 with err; send all bytes (-1 on
 * failure); receive what arrives within timeout_s (0 bytes and 1 in *closed
 * when the peer closed; -1 on error). */
int ml_net_connect(const char *host, int port, double timeout_s, char *err, size_t errlen);
int ml_net_send_all(int fd, const char *p, size_t n, double timeout_s);
long ml_net_recv(int fd, char *buf, size_t cap, double timeout_s, int *closed);

#endif
