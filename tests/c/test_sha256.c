/* runtime/core/sha256.c against the FIPS 180-4 / NIST example vectors, streamed in odd pieces too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../runtime/core/sha256.h"
#include "check.h"

static int hex_is(const void *msg, size_t n, const char *want) {
    uint8_t d[32];
    char hex[65];
    ml_sha256(msg, n, d);
    ml_sha256_hex(d, hex);
    return strcmp(hex, want) == 0;
}

int main(void) {
    CHECK(hex_is("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(hex_is("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    CHECK(hex_is(two, strlen(two), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"));
    const char *four = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    CHECK(hex_is(four, strlen(four), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"));
    /* one million 'a', fed in pieces of 997 bytes (partial blocks on every call) */
    ml_sha256_ctx c;
    ml_sha256_init(&c);
    char piece[997];
    memset(piece, 'a', sizeof piece);
    size_t left = 1000000;
    while (left) { size_t k = left < sizeof piece ? left : sizeof piece; ml_sha256_update(&c, piece, k); left -= k; }
    uint8_t d[32];
    char hex[65];
    ml_sha256_final(&c, d);
    ml_sha256_hex(d, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
    /* a file: the same bytes as in memory, and a clear error for a missing one */
    char path[] = "/tmp/ml_sha256_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fwrite("abc", 1, 3, f);
    fclose(f);
    uint64_t bytes = 0;
    CHECK(ml_sha256_file(path, d, &bytes) == 0 && bytes == 3);
    ml_sha256_hex(d, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    remove(path);
    CHECK(ml_sha256_file("/nonexistent/x", d, &bytes) == -1);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
