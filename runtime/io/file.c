/* What the safetensors and npy readers and writers share: opening a file
 * to read, reading one tensor's data (converting narrow or half-precision
 * types and the byte order on the way), and the atomic write (a temporary
 * file beside the target, renamed over it when complete; stale ones of
 * killed writers removed by the next write to the same path). */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

static const size_t raw_sizes[ML_RAW_COUNT] = {2, 2, 4, 8, 1, 2, 4, 8, 1, 2, 4, 1};
static const ml_dtype raw_targets[ML_RAW_COUNT] = {
    ML_FLOAT32, ML_FLOAT32, ML_FLOAT32, ML_FLOAT64, ML_INT64, ML_INT64,
    ML_INT64,   ML_INT64,   ML_INT64,   ML_INT64,   ML_INT64, ML_BOOL};

size_t ml_raw_size(ml_raw_type r) { return raw_sizes[r]; }
ml_dtype ml_raw_target(ml_raw_type r) { return raw_targets[r]; }

static const char *not_regular(mode_t m) {
    if (S_ISDIR(m)) return "is a directory";
    if (S_ISFIFO(m)) return "not a regular file (a FIFO)";
    if (S_ISCHR(m) || S_ISBLK(m)) return "not a regular file (a device)";
    if (S_ISSOCK(m)) return "not a regular file (a socket)";
    return "not a regular file";
}

/* Every reader opens through here. A FIFO or a device would block open()
 * or read() forever: the path is checked before the open, and opened
 * non-blocking so a FIFO swapped in between cannot block either; the
 * opened file is checked again. */
FILE *ml_io_open_read(const char *fn, const char *path, int64_t *size) {
    struct stat st;
    if (stat(path, &st) != 0) return ml_error("%s: cannot open '%s': %s", fn, path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return ml_error("%s: cannot open '%s': %s", fn, path, not_regular(st.st_mode));
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return ml_error("%s: cannot open '%s': %s", fn, path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ml_error("%s: cannot open '%s': %s", fn, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ml_error("%s: cannot open '%s': %s", fn, path, not_regular(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl != -1) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return ml_error("%s: cannot open '%s': %s", fn, path, strerror(e));
    }
    *size = (int64_t)st.st_size;
    return f;
}

/* ---- quoting file bytes in messages ------------------------------------ */
/* Length of the valid, printable UTF-8 sequence at s (2 to 4 bytes), else 0:
 * ml_utf8_len's rule, less ASCII (the caller's) and the C1 controls
 * (U+0080..U+009F, encoded C2 80..C2 9F). */
static size_t utf8_printable(const unsigned char *s, size_t len) {
    size_t n = ml_utf8_len(s, len);
    return n < 2 || (s[0] == 0xC2 && s[1] < 0xA0) ? 0 : n;
}

const char *ml_excerpt(char *buf, size_t size, const char *text, size_t len) {
    const unsigned char *s = (const unsigned char *)text;
    size_t k = 0, i = 0;
    int shown = 0;
    if (!size) return buf;
    while (i < len && shown < ML_EXCERPT_CHARS && k + 8 < size) {
        size_t u;
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\\') buf[k++] = (char)s[i++];
        else if (s[i] == '\\') { buf[k++] = '\\'; buf[k++] = '\\'; i++; }
        else if ((u = utf8_printable(s + i, len - i))) { memcpy(buf + k, s + i, u); k += u; i += u; }
        else k += (size_t)snprintf(buf + k, size - k, "\\x%02x", s[i++]);
        shown++;
    }
    if (i < len && k + 4 <= size) { memcpy(buf + k, "...", 3); k += 3; }
    buf[k < size ? k : size - 1] = 0;
    return buf;
}

/* ---- element conversion ----------------------------------------------- */
static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0x1f) bits = sign | 0x7f800000u | (man << 13); /* inf, nan */
    else if (exp) bits = sign | ((exp + 112) << 23) | (man << 13);
    else if (!man) bits = sign;
    else { /* subnormal: normalize */
        exp = 113;
        while (!(man & 0x400)) { man <<= 1; exp--; }
        bits = sign | (exp << 23) | ((man & 0x3ff) << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static float bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static void swap_bytes(void *p, size_t n, size_t es) {
    if (es == 1) return;
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++, c += es)
        for (size_t a = 0, b = es - 1; a < b; a++, b--) {
            unsigned char t = c[a];
            c[a] = c[b];
            c[b] = t;
        }
}

/* n elements of raw at src into dst (of raw's target dtype), converting. */
static void convert(void *dst, const void *src, size_t n, ml_raw_type raw) {
    float *fd = dst;
    int64_t *id = dst;
    for (size_t i = 0; i < n; i++) {
        switch (raw) {
        case ML_RAW_F16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); fd[i] = half_to_float(v); break; }
        case ML_RAW_BF16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); fd[i] = bf16_to_float(v); break; }
        case ML_RAW_I8: id[i] = ((const int8_t *)src)[i]; break;
        case ML_RAW_I16: { int16_t v; memcpy(&v, (const char *)src + 2 * i, 2); id[i] = v; break; }
        case ML_RAW_I32: { int32_t v; memcpy(&v, (const char *)src + 4 * i, 4); id[i] = v; break; }
        case ML_RAW_U8: id[i] = ((const uint8_t *)src)[i]; break;
        case ML_RAW_U16: { uint16_t v; memcpy(&v, (const char *)src + 2 * i, 2); id[i] = v; break; }
        case ML_RAW_U32: { uint32_t v; memcpy(&v, (const char *)src + 4 * i, 4); id[i] = v; break; }
        default: break;
        }
    }
}

int ml_io_read_data(FILE *f, int64_t pos, ml_tensor *t, ml_raw_type raw, bool swap, const char *fn,
                    const char *path) {
    size_t n = (size_t)t->numel, es = raw_sizes[raw];
    if (n == 0) return 0;
    if (fseeko(f, (off_t)pos, SEEK_SET) != 0) {
        ml_error("%s: '%s': cannot seek to byte %lld: %s", fn, path, (long long)pos, strerror(errno));
        return -1;
    }
    unsigned char *dst = ml_data(t);
    if (es == ml_dtype_size(t->dtype)) { /* stored as is: read straight into the tensor */
        if (fread(dst, es, n, f) != n) goto short_read;
        if (swap) swap_bytes(dst, n, es);
        if (raw == ML_RAW_BOOL)
            for (size_t i = 0; i < n; i++) dst[i] = dst[i] != 0;
        return 0;
    }
    enum { CHUNK = 8192 };
    unsigned char *buf = malloc(CHUNK * 8);
    if (!buf) { ml_error("%s: '%s': out of memory", fn, path); return -1; }
    size_t ds = ml_dtype_size(t->dtype);
    for (size_t done = 0; done < n;) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        if (fread(buf, es, k, f) != k) { free(buf); goto short_read; }
        if (swap) swap_bytes(buf, k, es);
        convert(dst + done * ds, buf, k, raw);
        done += k;
    }
    free(buf);
    return 0;
short_read:
    ml_error("%s: '%s': file ended while reading tensor data at byte %lld", fn, path, (long long)pos);
    return -1;
}

/* ---- atomic write ------------------------------------------------------ */
/* The temporary file of a write to DIR/NAME is DIR/.STEM.moonlab-tmp.PID.N:
 * hidden, recognisable, and naming the writing process, so the next write
 * to the same path removes what a killed writer left (its PID no longer
 * runs). STEM is NAME, or when NAME is too long for the suffix to fit in
 * NAME_MAX, NAME's first bytes and a hash of the whole name. */
static _Atomic unsigned tmp_counter = 0;

#define TMP_TAG ".moonlab-tmp."
#define TMP_NAME_MAX 255                              /* NAME_MAX on Linux, macOS and the BSDs */
#define TMP_EXTRA (1 + (sizeof TMP_TAG - 1) + 20 + 1 + 10) /* ".", tag, pid, ".", counter */

static uint64_t name_hash(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) h = (h ^ *c) * 0x100000001b3ULL;
    return h;
}

/* dir (without the final '/'; "." when path has none) and the prefix
 * ".STEM.moonlab-tmp." into buffers the caller frees; -1 out of memory. */
static int tmp_parts(const char *path, char **dir, char **prefix) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dlen = slash ? (size_t)(slash - path) : 0;
    *dir = malloc(dlen + 2);
    *prefix = malloc(TMP_NAME_MAX + 1);
    if (!*dir || !*prefix) { free(*dir); free(*prefix); return -1; }
    if (!slash) strcpy(*dir, ".");
    else if (dlen == 0) strcpy(*dir, "/");
    else { memcpy(*dir, path, dlen); (*dir)[dlen] = 0; }
    size_t blen = strlen(base);
    if (blen + TMP_EXTRA <= TMP_NAME_MAX) {
        snprintf(*prefix, TMP_NAME_MAX + 1, ".%s" TMP_TAG, base);
    } else { /* too long: a cut of the name (at a UTF-8 boundary) and its hash */
        size_t cut = TMP_NAME_MAX - TMP_EXTRA - 17;
        while (cut > 0 && ((unsigned char)base[cut] & 0xC0) == 0x80) cut--;
        snprintf(*prefix, TMP_NAME_MAX + 1, ".%.*s~%016llx" TMP_TAG, (int)cut, base,
                 (unsigned long long)name_hash(base));
    }
    return 0;
}

/* Removes dir's temporary files of prefix whose writer is no longer alive. */
static void remove_stale(const char *dir, const char *prefix) {
    DIR *d = opendir(dir);
    if (!d) return;
    size_t plen = strlen(prefix);
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen)) continue;
        const char *q = e->d_name + plen;
        char *end;
        errno = 0;
        long pid = strtol(q, &end, 10);
        if (errno || end == q || *end != '.' || pid <= 0 || pid == (long)self) continue;
        const char *c = end + 1;
        if (!*c) continue;
        while (*c >= '0' && *c <= '9') c++;
        if (*c) continue; /* not PID.N: not ours */
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to judge) */
        size_t n = strlen(dir) + 1 + strlen(e->d_name) + 1;
        char *full = malloc(n);
        if (!full) break;
        snprintf(full, n, "%s/%s", dir, e->d_name);
        unlink(full);
        free(full);
    }
    closedir(d);
}

int ml_io_begin_write(ml_io_writer *w, const char *fn, const char *path) {
    memset(w, 0, sizeof *w);
    w->fn = fn;
    w->path = path;
    char *dir, *prefix;
    if (tmp_parts(path, &dir, &prefix) < 0) { ml_error("%s: out of memory", fn); return -1; }
    remove_stale(dir, prefix);
    size_t n = strlen(dir) + 1 + TMP_NAME_MAX + 1;
    w->tmp = malloc(n);
    if (!w->tmp) { free(dir); free(prefix); ml_error("%s: out of memory", fn); return -1; }
    int fd = -1;
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        snprintf(w->tmp, n, "%s/%s%ld.%u", dir, prefix, (long)getpid(), atomic_fetch_add(&tmp_counter, 1));
        fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    free(dir);
    free(prefix);
    if (fd < 0) {
        ml_error("%s: cannot create '%s': %s", fn, path, strerror(errno));
        free(w->tmp);
        w->tmp = NULL;
        return -1;
    }
    w->f = fdopen(fd, "wb");
    if (!w->f) {
        ml_error("%s: cannot create '%s': %s", fn, path, strerror(errno));
        close(fd);
        unlink(w->tmp);
        free(w->tmp);
        w->tmp = NULL;
        return -1;
    }
    return 0;
}

int ml_io_write(ml_io_writer *w, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, w->f) != n) {
        ml_error("%s: cannot write '%s': %s", w->fn, w->path, strerror(errno));
        return -1;
    }
    return 0;
}

void ml_io_abort(ml_io_writer *w) {
    if (w->f) fclose(w->f);
    if (w->tmp) { unlink(w->tmp); free(w->tmp); }
    w->f = NULL;
    w->tmp = NULL;
}

int ml_io_commit(ml_io_writer *w) {
    int bad = 0, e = 0;
    /* fsync: a crash of the machine, not only of the process, must not
     * leave the renamed file empty. EINVAL: a file system without sync. */
    if (fflush(w->f) != 0 || (fsync(fileno(w->f)) != 0 && errno != EINVAL)) { bad = 1; e = errno; }
    if (fclose(w->f) != 0 && !bad) { bad = 1; e = errno; }
    w->f = NULL;
    if (bad) {
        ml_error("%s: cannot write '%s': %s", w->fn, w->path, strerror(e));
        ml_io_abort(w);
        return -1;
    }
    if (rename(w->tmp, w->path) != 0) {
        ml_error("%s: cannot write '%s': %s", w->fn, w->path, strerror(errno));
        ml_io_abort(w);
        return -1;
    }
    free(w->tmp);
    w->tmp = NULL;
    return 0;
}
