/* SHA-256 (FIPS 180-4) for run records: hashes of scripts, recipes and the data files
 * a tracked run reads. Streaming (init, update, final) and whole-file helpers.
 * Nothing here knows about Lua. */
#ifndef ML_CORE_SHA256_H
#define ML_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t h[8];
    uint64_t bytes;      /* message length so far */
    uint8_t block[64];   /* a partial block */
    size_t fill;         /* bytes in block */
} ml_sha256_ctx;

void ml_sha256_init(ml_sha256_ctx *c);
void ml_sha256_update(ml_sha256_ctx *c, const void *data, size_t n);
void ml_sha256_final(ml_sha256_ctx *c, uint8_t digest[32]);
/* digest of n bytes at data */
void ml_sha256(const void *data, size_t n, uint8_t digest[32]);
/* 64 lowercase hex characters and a NUL into hex[65] */
void ml_sha256_hex(const uint8_t digest[32], char hex[65]);
/* Hashes a whole file; *bytes gets its size. Returns 0, or -1 with ml_error's message (path and OS reason). */
int ml_sha256_file(const char *path, uint8_t digest[32], uint64_t *bytes);

#endif
