/* spool.c - bounded on-disk FIFO: append-only CRC-framed segment files, a commit cursor, a lock. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "spool.h"

/* On disk: DIR/lock (flock), DIR/cursor (where reading resumes), and
 * DIR/<20 digits>.seg, each a run of records: "PSR1", u32 length, u32
 * CRC32C of (length, payload), payload; integers little-endian. Segments
 * are only appended to by the run that created them, so a crash leaves at
 * worst a torn tail, which the reader skips. */
static const uint8_t rec_magic[4] = {'P', 'S', 'R', '1'};
static const uint8_t cur_magic[4] = {'P', 'S', 'C', '1'};
#define CURSOR_BYTES 28u
#define SCAN_CHUNK   65536u
#define SEG_NAME_LEN 24 /* 20 digits + ".seg" */

typedef struct seg {
    uint64_t id, bytes, nrec, first_seq;
} seg;

/* A position: segment id, byte offset in it, logical record number there. */
typedef struct pos {
    uint64_t id, off, seq;
} pos;

struct ps_spool {
    char dir[4096];
    int dirfd, lockfd, curfd;
    ps_spool_config cfg;
    seg *segs; /* oldest first */
    size_t nsegs, segcap;
    int wfd; /* appends go to segs[nsegs-1] when >= 0 */
    int rfd; /* read handle of segment rid */
    uint64_t rid;
    pos committed, rd;
    pos *inflight; /* end positions of read, uncommitted records */
    uint32_t inf_head, inf_count;
    uint32_t epoch;
    uint64_t next_seq, next_id, total;
    bool data_dirty, cursor_dirty;
    uint64_t last_sync_ms;
    uint8_t *buf;  /* one framed record */
    uint8_t *scan; /* resync window */
    ps_spool_stats st;
};

/* ---- CRC32C ---------------------------------------------------------------- */

/* The spill of a full queue to disk checksums every record, so the CRC must
 * be far faster than the capture side makes records: SSE4.2's crc32
 * instruction where the CPU has it, else slicing-by-8 (a byte-at-a-time
 * table was the spill's main cost). */
static uint32_t crc_table[8][256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;
static bool crc_hw;

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            crc_table[t][i] = (crc_table[t - 1][i] >> 8) ^ crc_table[0][crc_table[t - 1][i] & 0xFF];
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t crc, const uint8_t *p, size_t len)
{
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                             (uint32_t)p[3] << 24);
        crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
              crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^ crc_table[3][p[4]] ^
              crc_table[2][p[5]] ^ crc_table[1][p[6]] ^ crc_table[0][p[7]];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t crc, const uint8_t *p,
                                                            size_t len)
{
    uint64_t c = crc;
    while (len > 0 && ((uintptr_t)p & 7) != 0) {
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
        len--;
    }
    while (len >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
        p += 8;
        len -= 8;
    }
    while (len--)
        c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
    return (uint32_t)c;
}
#endif

uint32_t ps_crc32c(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (crc_hw)
        return ~crc_sse42(~crc, buf, len);
#endif
    return ~crc_sw(~crc, buf, len);
}

uint32_t ps_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, buf, len);
}

/* ---- helpers ---------------------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void seg_name(char *out, uint64_t id)
{
    snprintf(out, SEG_NAME_LEN + 1, "%020llu.seg", (unsigned long long)id);
}

/* Reads exactly n bytes at off; false on error or end of file. */
static bool pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return true;
}

static uint32_t rec_crc(uint32_t len, const uint8_t *payload)
{
    uint8_t l[4];
    put32(l, len);
    return ps_crc32c(ps_crc32c(0, l, 4), payload, len);
}

/* ---- record framing ---------------------------------------------------------- */

enum { REC_OK, REC_BAD, REC_EOF };

/* True when a whole valid record starts at off (payload left in s->buf). */
static bool rec_valid(ps_spool *s, int fd, uint64_t size, uint64_t off, uint32_t *len)
{
    uint8_t *h = s->buf;

    if (off >= size || size - off < PS_SPOOL_HDR || !pread_full(fd, h, PS_SPOOL_HDR, off))
        return false;
    uint32_t l = get32(h + 4);
    if (memcmp(h, rec_magic, 4) != 0 || l > PS_SPOOL_MAX_RECORD || size - off - PS_SPOOL_HDR < l)
        return false;
    if (!pread_full(fd, h + PS_SPOOL_HDR, l, off + PS_SPOOL_HDR))
        return false;
    if (rec_crc(l, h + PS_SPOOL_HDR) != get32(h + 8))
        return false;
    *len = l;
    return true;
}

/* Next offset after `from` where a valid record starts, or size. */
static uint64_t resync(ps_spool *s, int fd, uint64_t size, uint64_t from)
{
    uint64_t at = from;

    while (at + PS_SPOOL_HDR <= size) {
        size_t want = (size_t)PS_MIN((uint64_t)SCAN_CHUNK, size - at);
        if (!pread_full(fd, s->scan, want, at))
            return size;
        for (size_t i = 0; i + 4 <= want; i++) {
            if (memcmp(s->scan + i, rec_magic, 4) != 0)
                continue;
            uint32_t l;
            if (rec_valid(s, fd, size, at + i, &l))
                return at + i;
        }
        if (want < 4)
            break;
        at += want - 3; /* a magic may straddle chunks */
    }
    return size;
}

/* Reads the record at off. REC_OK: payload in s->buf + HDR, *next after it.
 * REC_BAD: *next is where the next valid record starts; *trunc tells a torn
 * tail (nothing valid follows) from damage in the middle. */
static int rec_at(ps_spool *s, int fd, uint64_t size, uint64_t off, uint32_t *len, uint64_t *next,
                  bool *trunc)
{
    if (off >= size)
        return REC_EOF;
    if (rec_valid(s, fd, size, off, len)) {
        *next = off + PS_SPOOL_HDR + *len;
        return REC_OK;
    }
    *next = resync(s, fd, size, off + 1);
    *trunc = *next >= size;
    return REC_BAD;
}

/* ---- segments ---------------------------------------------------------------- */

static ssize_t seg_find(const ps_spool *s, uint64_t id)
{
    size_t lo = 0, hi = s->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->segs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nsegs && s->segs[lo].id == id ? (ssize_t)lo : -1;
}

static bool seg_push(ps_spool *s, seg sg)
{
    if (s->nsegs == s->segcap) {
        size_t ncap = s->segcap ? s->segcap * 2 : 16;
        seg *n = realloc(s->segs, ncap * sizeof(*n));
        if (!n)
            return false;
        s->segs = n;
        s->segcap = ncap;
    }
    s->segs[s->nsegs++] = sg;
    return true;
}

/* Where reading starts when nothing older remains. */
static pos pos_front(const ps_spool *s)
{
    if (s->nsegs > 0)
        return (pos){s->segs[0].id, 0, s->segs[0].first_seq};
    return (pos){s->next_id, 0, s->next_seq};
}

static int read_fd(ps_spool *s, uint64_t id)
{
    char name[SEG_NAME_LEN + 1];

    if (s->rfd >= 0 && s->rid == id)
        return s->rfd;
    if (s->rfd >= 0)
        close(s->rfd);
    seg_name(name, id);
    s->rfd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
    s->rid = id;
    return s->rfd;
}

/* Deletes the oldest segment; `evicted` counts its uncommitted records. */
static void seg_drop_oldest(ps_spool *s, bool evicted)
{
    seg sg = s->segs[0];
    char name[SEG_NAME_LEN + 1];

    if (evicted && s->committed.id == sg.id) {
        uint64_t done = s->committed.seq - sg.first_seq;
        s->st.dropped_cap += sg.nrec > done ? sg.nrec - done : 0;
    }
    if (s->nsegs == 1 && s->wfd >= 0) {
        close(s->wfd);
        s->wfd = -1;
    }
    if (s->rfd >= 0 && s->rid == sg.id) {
        close(s->rfd);
        s->rfd = -1;
    }
    seg_name(name, sg.id);
    unlinkat(s->dirfd, name, 0);
    s->total -= sg.bytes;
    memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof(seg));
    s->nsegs--;
    bool hit = s->committed.id <= sg.id;
    if (hit) {
        s->committed = pos_front(s);
        s->cursor_dirty = true;
    }
    if (evicted && hit && s->inf_count > 0) {
        /* In-flight records of the lost segment can no longer be committed:
         * forget every in-flight record (a later one may be sent twice). */
        s->epoch++;
        s->inf_count = 0;
        s->rd = s->committed;
    } else if (s->rd.id <= sg.id) {
        s->rd = s->committed;
    }
}

/* Deletes segments whose records are all committed. */
static void release_committed(ps_spool *s)
{
    while (s->nsegs > 0) {
        const seg *sg = &s->segs[0];
        bool done = s->committed.id > sg->id ||
                    (s->committed.id == sg->id && s->committed.off >= sg->bytes);
        bool active = s->nsegs == 1 && s->wfd >= 0;
        /* The segment being appended to goes too once drained and nothing
         * is in flight, so an idle spool holds no files. */
        if (!done || (active && (s->inf_count > 0 || s->rd.off < sg->bytes)))
            break;
        seg_drop_oldest(s, false);
    }
}

static int seg_create(ps_spool *s)
{
    char name[SEG_NAME_LEN + 1];

    if (s->wfd >= 0) {
        if (s->cfg.fsync != PS_FSYNC_NEVER && s->data_dirty)
            fdatasync(s->wfd);
        close(s->wfd);
        s->wfd = -1;
    }
    seg_name(name, s->next_id);
    int fd = openat(s->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0640);
    if (fd < 0)
        return PS_ERR_IO;
    if (!seg_push(s, (seg){s->next_id, 0, 0, s->next_seq})) {
        close(fd);
        unlinkat(s->dirfd, name, 0);
        return PS_ERR_NOMEM;
    }
    s->next_id++;
    s->wfd = fd;
    if (s->cfg.fsync == PS_FSYNC_ALWAYS)
        fsync(s->dirfd);
    return PS_OK;
}

/* ---- cursor ------------------------------------------------------------------ */

static void cursor_write(ps_spool *s)
{
    uint8_t b[CURSOR_BYTES];

    if (!s->cursor_dirty || s->curfd < 0)
        return;
    memcpy(b, cur_magic, 4);
    put32(b + 4, 0);
    put64(b + 8, s->committed.id);
    put64(b + 16, s->committed.off);
    put32(b + 24, ps_crc32c(0, b, 24));
    if (pwrite(s->curfd, b, sizeof(b), 0) == (ssize_t)sizeof(b)) {
        s->cursor_dirty = false;
        if (s->cfg.fsync == PS_FSYNC_ALWAYS)
            fdatasync(s->curfd);
    }
}

static bool cursor_read(ps_spool *s, uint64_t *id, uint64_t *off)
{
    uint8_t b[CURSOR_BYTES];

    if (!pread_full(s->curfd, b, sizeof(b), 0) || memcmp(b, cur_magic, 4) != 0 ||
        ps_crc32c(0, b, 24) != get32(b + 24))
        return false;
    *id = get64(b + 8);
    *off = get64(b + 16);
    return true;
}

/* ---- open / close -------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool parse_seg_name(const char *n, uint64_t *id)
{
    uint64_t v = 0;

    if (strlen(n) != SEG_NAME_LEN || strcmp(n + 20, ".seg") != 0)
        return false;
    for (int i = 0; i < 20; i++) {
        if (n[i] < '0' || n[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(n[i] - '0');
    }
    *id = v;
    return true;
}

/* Lists segment ids (sorted) into *ids; returns the count or -1. */
static ssize_t list_segments(ps_spool *s, uint64_t **ids)
{
    int fd = openat(s->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;

    *ids = NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        uint64_t id;
        if (!parse_seg_name(e->d_name, &id))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            uint64_t *t = realloc(*ids, ncap * sizeof(uint64_t));
            if (!t) {
                closedir(d);
                return -1;
            }
            *ids = t;
            cap = ncap;
        }
        (*ids)[n++] = id;
    }
    closedir(d);
    if (n > 0)
        qsort(*ids, n, sizeof(uint64_t), cmp_u64);
    return (ssize_t)n;
}

/* Counts the valid records of a segment left by an earlier run; *before
 * receives how many end at or before `upto` (the commit offset). */
static uint64_t seg_count(ps_spool *s, int fd, uint64_t size, uint64_t upto, uint64_t *before,
                          uint64_t *upto_aligned)
{
    uint64_t off = 0, n = 0;
    uint32_t len;
    uint64_t next;
    bool trunc;

    *before = 0;
    *upto_aligned = 0;
    for (;;) {
        int r = rec_at(s, fd, size, off, &len, &next, &trunc);
        if (r == REC_EOF)
            break;
        if (r == REC_OK) {
            n++;
            if (next <= upto) {
                *before = n;
                *upto_aligned = next;
            }
        }
        off = next;
    }
    return n;
}

static int load_existing(ps_spool *s, char *err, size_t errlen)
{
    uint64_t *ids, cid = 0, coff = 0;
    ssize_t n = list_segments(s, &ids);
    bool have_cursor = cursor_read(s, &cid, &coff);

    if (n < 0) {
        snprintf(err, errlen, "cannot list spool %s: %s", s->dir, strerror(errno));
        return PS_ERR_IO;
    }
    s->next_id = 1;
    s->next_seq = 0;
    s->committed = (pos){0, 0, 0};
    bool committed_set = false;
    for (ssize_t i = 0; i < n; i++) {
        char name[SEG_NAME_LEN + 1];
        struct stat sb;
        uint64_t id = ids[i];
        seg_name(name, id);
        if (id >= s->next_id)
            s->next_id = id + 1;
        int fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0 || (have_cursor && id < cid)) {
            if (fd >= 0)
                close(fd);
            unlinkat(s->dirfd, name, 0); /* consumed by the earlier run */
            continue;
        }
        uint64_t size = (uint64_t)sb.st_size, before, aligned;
        uint64_t upto = have_cursor && id == cid ? coff : 0;
        uint64_t nrec = seg_count(s, fd, size, upto, &before, &aligned);
        close(fd);
        if (!seg_push(s, (seg){id, size, nrec, s->next_seq})) {
            free(ids);
            snprintf(err, errlen, "out of memory");
            return PS_ERR_NOMEM;
        }
        if (!committed_set) {
            s->committed = (pos){id, 0, s->next_seq};
            if (have_cursor && id == cid)
                s->committed = (pos){id, aligned, s->next_seq + before};
            committed_set = true;
        }
        s->next_seq += nrec;
        s->total += size;
    }
    free(ids);
    if (!committed_set)
        s->committed = pos_front(s);
    s->rd = s->committed;
    release_committed(s);
    return PS_OK;
}

ps_spool *ps_spool_open(const ps_spool_config *cfg, char *err, size_t errlen)
{
    ps_spool *s;

    if (!cfg->dir || !cfg->dir[0] || strlen(cfg->dir) >= sizeof(s->dir)) {
        snprintf(err, errlen, "spool directory name is empty or too long");
        return NULL;
    }
    if (cfg->max_bytes < PS_SPOOL_HDR + 1) {
        snprintf(err, errlen, "spool cap of %llu bytes is too small",
                 (unsigned long long)cfg->max_bytes);
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    strcpy(s->dir, cfg->dir);
    s->cfg = *cfg;
    s->cfg.dir = s->dir;
    if (s->cfg.segment_bytes == 0) {
        uint64_t sb = cfg->max_bytes / 16;
        sb = PS_MAX(sb, (uint64_t)64 << 10);
        s->cfg.segment_bytes = PS_MIN(sb, (uint64_t)16 << 20);
    }
    if (s->cfg.max_inflight == 0)
        s->cfg.max_inflight = 1024;
    s->dirfd = s->lockfd = s->curfd = s->wfd = s->rfd = -1;
    s->buf = malloc(PS_SPOOL_HDR + PS_SPOOL_MAX_RECORD);
    s->scan = malloc(SCAN_CHUNK);
    s->inflight = calloc(s->cfg.max_inflight, sizeof(pos));
    if (!s->buf || !s->scan || !s->inflight) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (mkdir(s->dir, 0750) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create spool directory %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        snprintf(err, errlen, "cannot open spool directory %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->lockfd < 0) {
        snprintf(err, errlen, "cannot create %s/lock: %s", s->dir, strerror(errno));
        goto fail;
    }
    if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            snprintf(err, errlen,
                     "spool %s is in use by another portside process (give each instance its "
                     "own spool directory)",
                     s->dir);
        else
            snprintf(err, errlen, "cannot lock %s/lock: %s", s->dir, strerror(errno));
        goto fail;
    }
    s->curfd = openat(s->dirfd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (s->curfd < 0) {
        snprintf(err, errlen, "cannot open %s/cursor: %s", s->dir, strerror(errno));
        goto fail;
    }
    if (load_existing(s, err, errlen) != PS_OK)
        goto fail;
    s->last_sync_ms = now_ms();
    return s;
fail:
    ps_spool_close(s);
    return NULL;
}

void ps_spool_close(ps_spool *s)
{
    if (!s)
        return;
    if (s->dirfd >= 0) {
        cursor_write(s);
        if (s->cfg.fsync != PS_FSYNC_NEVER) {
            if (s->wfd >= 0 && s->data_dirty)
                fdatasync(s->wfd);
            if (s->curfd >= 0)
                fdatasync(s->curfd);
        }
    }
    int fds[] = {s->wfd, s->rfd, s->curfd, s->lockfd, s->dirfd};
    for (size_t i = 0; i < PS_ARRAY_LEN(fds); i++)
        if (fds[i] >= 0)
            close(fds[i]); /* closing the lock file releases the flock */
    free(s->segs);
    free(s->inflight);
    free(s->buf);
    free(s->scan);
    free(s);
}

/* ---- append / read / commit ----------------------------------------------------- */

static void maybe_sync(ps_spool *s, bool force)
{
    if (!s->data_dirty || s->wfd < 0 || s->cfg.fsync == PS_FSYNC_NEVER)
        return;
    uint64_t t = now_ms();
    if (force || s->cfg.fsync == PS_FSYNC_ALWAYS ||
        t - s->last_sync_ms >= s->cfg.fsync_interval_ms) {
        fdatasync(s->wfd);
        s->data_dirty = false;
        s->last_sync_ms = t;
    }
}

int ps_spool_append(ps_spool *s, const void *data, size_t len)
{
    uint8_t hdr[PS_SPOOL_HDR];

    if (len > PS_SPOOL_MAX_RECORD || len + PS_SPOOL_HDR > s->cfg.max_bytes) {
        s->st.dropped_big++;
        return PS_ERR_CAP;
    }
    uint64_t need = PS_SPOOL_HDR + len;
    while (s->total + need > s->cfg.max_bytes && s->nsegs > 0)
        seg_drop_oldest(s, true);
    if (s->wfd < 0 || (s->segs[s->nsegs - 1].bytes > 0 &&
                       s->segs[s->nsegs - 1].bytes + need > s->cfg.segment_bytes)) {
        if (seg_create(s) != PS_OK) {
            s->st.dropped_io++;
            return PS_ERR_IO;
        }
    }
    seg *sg = &s->segs[s->nsegs - 1];
    memcpy(hdr, rec_magic, 4);
    put32(hdr + 4, (uint32_t)len);
    put32(hdr + 8, rec_crc((uint32_t)len, data));
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)(uintptr_t)data, len}};
    ssize_t w;
    do
        w = writev(s->wfd, iov, 2);
    while (w < 0 && errno == EINTR);
    if (w != (ssize_t)need) {
        /* Disk full or I/O error: cut the partial record so the segment
         * stays well formed; if even that fails, seal the segment. */
        int saved = errno;
        if (w > 0 && ftruncate(s->wfd, (off_t)sg->bytes) != 0) {
            close(s->wfd);
            s->wfd = -1;
        }
        s->st.dropped_io++;
        errno = w < 0 ? saved : ENOSPC;
        return PS_ERR_IO;
    }
    sg->bytes += need;
    sg->nrec++;
    s->next_seq++;
    s->total += need;
    s->st.appended++;
    s->data_dirty = true;
    maybe_sync(s, false);
    return PS_OK;
}

int ps_spool_read(ps_spool *s, const uint8_t **data, size_t *len, uint32_t *epoch)
{
    if (s->inf_count == s->cfg.max_inflight)
        return PS_ERR_CAP;
    for (;;) {
        ssize_t i = seg_find(s, s->rd.id);
        if (i < 0) {
            /* Not created yet (everything consumed) or gone: start over
             * at the front. */
            if (s->nsegs == 0 || s->segs[0].id < s->rd.id || s->rd.id == s->next_id) {
                s->rd.seq = s->next_seq;
                return PS_ERR_NOT_FOUND;
            }
            s->rd = pos_front(s);
            continue;
        }
        const seg *sg = &s->segs[i];
        if (s->rd.off >= sg->bytes) {
            if ((size_t)i + 1 < s->nsegs) {
                const seg *nx = &s->segs[i + 1];
                s->rd = (pos){nx->id, 0, nx->first_seq};
                continue;
            }
            s->rd.seq = s->next_seq;
            return PS_ERR_NOT_FOUND;
        }
        int fd = read_fd(s, sg->id);
        uint32_t l = 0;
        uint64_t next = sg->bytes;
        bool trunc = false;
        int r = fd >= 0 ? rec_at(s, fd, sg->bytes, s->rd.off, &l, &next, &trunc) : REC_BAD;
        if (r == REC_OK) {
            s->rd.off = next;
            s->rd.seq++;
            s->inflight[(s->inf_head + s->inf_count) % s->cfg.max_inflight] = s->rd;
            s->inf_count++;
            *data = s->buf + PS_SPOOL_HDR;
            *len = l;
            *epoch = s->epoch;
            return PS_OK;
        }
        if (r == REC_BAD) {
            if (trunc)
                s->st.truncated++;
            else
                s->st.corrupt++;
        }
        s->rd.off = next > s->rd.off ? next : sg->bytes;
    }
}

void ps_spool_commit(ps_spool *s, uint32_t epoch)
{
    if (epoch != s->epoch || s->inf_count == 0)
        return;
    s->committed = s->inflight[s->inf_head];
    s->inf_head = (s->inf_head + 1) % s->cfg.max_inflight;
    s->inf_count--;
    s->st.committed++;
    s->cursor_dirty = true;
    release_committed(s);
}

void ps_spool_rewind(ps_spool *s)
{
    /* A new epoch: an answer to a read from before the rewind must not
     * commit the record that is now read again (it was not sent again yet). */
    s->epoch++;
    s->inf_count = 0;
    s->rd = s->committed;
}

void ps_spool_tick(ps_spool *s)
{
    cursor_write(s);
    maybe_sync(s, false);
}

uint64_t ps_spool_pending(const ps_spool *s)
{
    return s->next_seq >= s->committed.seq ? s->next_seq - s->committed.seq : 0;
}

uint64_t ps_spool_unread(const ps_spool *s)
{
    return s->next_seq >= s->rd.seq ? s->next_seq - s->rd.seq : 0;
}

void ps_spool_stats_get(const ps_spool *s, ps_spool_stats *out)
{
    *out = s->st;
    out->pending = ps_spool_pending(s);
    out->unread = ps_spool_unread(s);
    out->bytes = s->total;
    out->segments = (uint32_t)PS_MIN(s->nsegs, (size_t)UINT32_MAX);
}

const char *ps_spool_dir(const ps_spool *s)
{
    return s->dir;
}
