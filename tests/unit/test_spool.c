/* test_spool.c - on-disk spool: order, restart, damage, caps, lock, disk full. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

static char dir[256];

static void rm_dir(const char *d)
{
    DIR *dp = opendir(d);
    struct dirent *e;
    char p[512];

    if (!dp)
        return;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof(p), "%s/%s", d, e->d_name);
        unlink(p);
    }
    closedir(dp);
    rmdir(d);
}

static void fresh_dir(void)
{
    if (dir[0])
        rm_dir(dir);
    strcpy(dir, "/tmp/test_spool.XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
}

static int count_segments(void)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    int n = 0;

    if (!dp)
        return -1;
    while ((e = readdir(dp)) != NULL)
        n += strstr(e->d_name, ".seg") != NULL;
    closedir(dp);
    return n;
}

/* Path of the only (or first) segment file. */
static void first_segment(char *out, size_t outlen)
{
    DIR *dp = opendir(dir);
    struct dirent *e;
    char best[256] = "";

    out[0] = '\0';
    if (!dp)
        return;
    while ((e = readdir(dp)) != NULL)
        if (strstr(e->d_name, ".seg") && (!best[0] || strcmp(e->d_name, best) < 0))
            snprintf(best, sizeof(best), "%s", e->d_name);
    closedir(dp);
    if (best[0])
        snprintf(out, outlen, "%s/%s", dir, best);
}

static ps_spool *open_spool(uint64_t max_bytes, uint64_t seg_bytes)
{
    char err[256] = "";
    ps_spool_config c = {.dir = dir,
                         .max_bytes = max_bytes,
                         .segment_bytes = seg_bytes,
                         .fsync = PS_FSYNC_INTERVAL,
                         .fsync_interval_ms = 1000,
                         .max_inflight = 64};
    ps_spool *s = ps_spool_open(&c, err, sizeof(err));
    if (!s)
        fprintf(stderr, "open: %s\n", err);
    return s;
}

static void rec_text(char *out, size_t outlen, int i)
{
    snprintf(out, outlen, "{\"id\":\"rec-%04d\",\"pad\":\"xxxxxxxxxx\"}", i);
}

static void append_n(ps_spool *s, int from, int n)
{
    char b[128];
    for (int i = from; i < from + n; i++) {
        rec_text(b, sizeof(b), i);
        CU_ASSERT(ps_spool_append(s, b, strlen(b)) == PS_OK);
    }
}

/* Reads everything unread; checks it equals records from..from+n-1; commits. */
static void expect_records(ps_spool *s, int from, int n)
{
    char want[128];
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    int got = 0;

    while (ps_spool_read(s, &d, &len, &ep) == PS_OK) {
        rec_text(want, sizeof(want), from + got);
        CU_ASSERT(got < n);
        CU_ASSERT(len == strlen(want) && memcmp(d, want, len) == 0);
        ps_spool_commit(s, ep);
        got++;
    }
    CU_ASSERT_EQUAL(got, n);
}

/* Bit at a time, straight from the definition (reflected, poly 0x1EDC6F41). */
static uint32_t crc_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
}

static void test_crc32c(void)
{
    CU_ASSERT_EQUAL(ps_crc32c(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(ps_crc32c_sw(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(ps_crc32c(0, "", 0), 0u);
    /* Incremental equals one shot. */
    CU_ASSERT_EQUAL(ps_crc32c(ps_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    /* The fast paths (crc32 instruction, slicing-by-8) against the
     * definition: every length around the 8-byte blocks, every alignment,
     * split anywhere. */
    uint8_t buf[300];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131u + 7u);
    int bad = 0;
    for (size_t off = 0; off < 8; off++)
        for (size_t n = 0; n + off <= sizeof(buf); n++) {
            uint32_t want = crc_ref(buf + off, n);
            size_t cut = n / 3;
            bad += ps_crc32c(0, buf + off, n) != want;
            bad += ps_crc32c_sw(0, buf + off, n) != want;
            bad += ps_crc32c(ps_crc32c(0, buf + off, cut), buf + off + cut, n - cut) != want;
            bad += ps_crc32c_sw(ps_crc32c_sw(0, buf + off, cut), buf + off + cut, n - cut) != want;
        }
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_order_and_commit(void)
{
    fresh_dir();
    ps_spool *s = open_spool(1 << 20, 512);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, 100);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 100);
    CU_ASSERT_EQUAL(ps_spool_unread(s), 100);
    CU_ASSERT(count_segments() > 1);
    expect_records(s, 0, 100);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 0);
    /* Fully consumed: no segment files remain. */
    CU_ASSERT_EQUAL(count_segments(), 0);
    /* Appending after draining works and keeps order. */
    append_n(s, 100, 3);
    expect_records(s, 100, 3);
    ps_spool_close(s);
}

static void test_rewind_and_inflight_cap(void)
{
    const uint8_t *d;
    size_t len;
    uint32_t ep;

    fresh_dir();
    ps_spool *s = open_spool(1 << 20, 0);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, 70);
    for (int i = 0; i < 64; i++)
        CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK);
    /* max_inflight (64) reached: at N+1 reading stops. */
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_ERR_CAP);
    ps_spool_commit(s, ep); /* record 0 done */
    ps_spool_rewind(s);     /* 1..63 come again */
    CU_ASSERT_EQUAL(ps_spool_unread(s), 69);
    expect_records(s, 1, 69);
    ps_spool_close(s);
}

/* After a rewind, an answer to a record read before it must not commit the
 * record read again in its place (the copy now in flight may still be lost). */
static void test_stale_commit_after_rewind(void)
{
    const uint8_t *d;
    size_t len;
    uint32_t ep0, ep1, ep;

    fresh_dir();
    ps_spool *s = open_spool(1 << 20, 0);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, 5);
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep0) == PS_OK);
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep1) == PS_OK);
    ps_spool_commit(s, ep0); /* record 0 done; record 1 in flight */
    CU_ASSERT_EQUAL(ps_spool_pending(s), 4);
    ps_spool_rewind(s);
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK); /* record 1 again */
    CU_ASSERT(ep != ep1);
    ps_spool_commit(s, ep1); /* the old connection's late answer: ignored */
    CU_ASSERT_EQUAL(ps_spool_pending(s), 4);
    ps_spool_commit(s, ep); /* the new answer counts */
    CU_ASSERT_EQUAL(ps_spool_pending(s), 3);
    /* Rewinding with nothing in flight changes nothing but the epoch. */
    ps_spool_rewind(s);
    CU_ASSERT_EQUAL(ps_spool_unread(s), 3);
    expect_records(s, 2, 3);
    ps_spool_close(s);
}

static void test_restart_replay(void)
{
    const uint8_t *d;
    size_t len;
    uint32_t ep;

    fresh_dir();
    ps_spool *s = open_spool(1 << 20, 300);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, 20);
    for (int i = 0; i < 7; i++) {
        CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK);
        ps_spool_commit(s, ep);
    }
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK); /* read, not committed */
    ps_spool_tick(s);
    ps_spool_close(s);

    s = open_spool(1 << 20, 300);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 13);
    append_n(s, 20, 2); /* new records go after the old ones */
    expect_records(s, 7, 15);
    ps_spool_close(s);

    s = open_spool(1 << 20, 300);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 0);
    ps_spool_close(s);
}

static void test_lock(void)
{
    char err[256] = "";
    fresh_dir();
    ps_spool *a = open_spool(1 << 20, 0);
    CU_ASSERT_FATAL(a != NULL);
    ps_spool_config c = {.dir = dir, .max_bytes = 1 << 20, .fsync = PS_FSYNC_NEVER};
    ps_spool *b = ps_spool_open(&c, err, sizeof(err));
    CU_ASSERT(b == NULL);
    CU_ASSERT(strstr(err, "in use by another portside process") != NULL);
    ps_spool_close(a);
    /* Released on close. */
    b = ps_spool_open(&c, err, sizeof(err));
    CU_ASSERT(b != NULL);
    ps_spool_close(b);
}

static void test_bad_dir(void)
{
    char err[256] = "";
    ps_spool_config c = {.dir = "/proc/portside-no/spool", .max_bytes = 1 << 20};
    CU_ASSERT(ps_spool_open(&c, err, sizeof(err)) == NULL);
    CU_ASSERT(strstr(err, "cannot create spool directory /proc/portside-no/spool") != NULL);
    c.dir = "";
    CU_ASSERT(ps_spool_open(&c, err, sizeof(err)) == NULL);
}

/* Flips one payload byte of record `idx` (0-based; records are equal size). */
static void corrupt_record(int idx, size_t recbytes, size_t at)
{
    char path[512];
    first_segment(path, sizeof(path));
    int fd = open(path, O_RDWR);
    CU_ASSERT_FATAL(fd >= 0);
    uint8_t b;
    off_t off = (off_t)((size_t)idx * recbytes + at);
    CU_ASSERT(pread(fd, &b, 1, off) == 1);
    b ^= 0x20;
    CU_ASSERT(pwrite(fd, &b, 1, off) == 1);
    close(fd);
}

static size_t rec_bytes(void)
{
    char b[128];
    rec_text(b, sizeof(b), 0);
    return strlen(b) + PS_SPOOL_HDR;
}

static void test_corrupt_skipped(void)
{
    ps_spool_stats st;
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    char want[128];
    /* Damage in the payload, the length, and the magic of record 1. */
    size_t spots[] = {PS_SPOOL_HDR + 3, 5, 0};

    for (size_t k = 0; k < PS_ARRAY_LEN(spots); k++) {
        fresh_dir();
        ps_spool *s = open_spool(1 << 20, 0);
        CU_ASSERT_FATAL(s != NULL);
        append_n(s, 0, 3);
        ps_spool_close(s);
        corrupt_record(1, rec_bytes(), spots[k]);
        s = open_spool(1 << 20, 0);
        CU_ASSERT_FATAL(s != NULL);
        CU_ASSERT_EQUAL(ps_spool_pending(s), 2);
        int got = 0;
        while (ps_spool_read(s, &d, &len, &ep) == PS_OK) {
            rec_text(want, sizeof(want), got == 0 ? 0 : 2);
            CU_ASSERT(len == strlen(want) && memcmp(d, want, len) == 0);
            ps_spool_commit(s, ep);
            got++;
        }
        CU_ASSERT_EQUAL(got, 2);
        ps_spool_stats_get(s, &st);
        CU_ASSERT_EQUAL(st.corrupt, 1);
        CU_ASSERT_EQUAL(st.truncated, 0);
        ps_spool_close(s);
    }
}

/* Every truncated prefix of a 3-record segment yields the whole records. */
static void test_truncated_prefixes(void)
{
    char path[512];
    size_t rb = rec_bytes();
    ps_spool_stats st;

    for (size_t cut = 0; cut <= 3 * rb; cut++) {
        fresh_dir();
        ps_spool *s = open_spool(1 << 20, 0);
        CU_ASSERT_FATAL(s != NULL);
        append_n(s, 0, 3);
        ps_spool_close(s);
        first_segment(path, sizeof(path));
        CU_ASSERT_FATAL(truncate(path, (off_t)cut) == 0);
        s = open_spool(1 << 20, 0);
        CU_ASSERT_FATAL(s != NULL);
        int whole = (int)(cut / rb);
        CU_ASSERT_EQUAL(ps_spool_pending(s), (uint64_t)whole);
        expect_records(s, 0, whole);
        ps_spool_stats_get(s, &st);
        CU_ASSERT_EQUAL(st.truncated, cut % rb != 0 ? 1u : 0u);
        CU_ASSERT_EQUAL(st.corrupt, 0);
        ps_spool_close(s);
    }
}

/* One record per segment; cap of N records: N fit, N+1 drops the oldest. */
static void test_cap(void)
{
    size_t rb = rec_bytes();
    ps_spool_stats st;
    const int n = 5;

    fresh_dir();
    ps_spool *s = open_spool((uint64_t)n * rb, rb);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, n);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.dropped_cap, 0);
    CU_ASSERT_EQUAL(st.pending, (uint64_t)n);
    CU_ASSERT_EQUAL(st.bytes, (uint64_t)n * rb);
    append_n(s, n, 1);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.dropped_cap, 1);
    CU_ASSERT_EQUAL(st.pending, (uint64_t)n);
    CU_ASSERT_EQUAL(count_segments(), n);
    expect_records(s, 1, n);
    ps_spool_close(s);

    /* Eviction while records are in flight: stale commits are ignored and
     * the survivors are read again. */
    fresh_dir();
    s = open_spool((uint64_t)n * rb, rb);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, n);
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK);
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_OK);
    append_n(s, n, 1); /* drops record 0, which was in flight */
    ps_spool_commit(s, ep);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.committed, 0);
    expect_records(s, 1, n);
    ps_spool_close(s);

    /* Too large for the cap: refused and counted, nothing else lost. */
    fresh_dir();
    s = open_spool(rb, rb);
    CU_ASSERT_FATAL(s != NULL);
    append_n(s, 0, 1);
    char big[256];
    memset(big, 'x', sizeof(big));
    CU_ASSERT(ps_spool_append(s, big, sizeof(big)) == PS_ERR_CAP);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.dropped_big, 1);
    expect_records(s, 0, 1);
    ps_spool_close(s);
}

/* Disk full (simulated with RLIMIT_FSIZE): counted, never fatal, and the
 * records that made it stay readable. */
static void test_disk_full(void)
{
    struct rlimit old, lim;
    ps_spool_stats st;
    size_t rb = rec_bytes();

    fresh_dir();
    ps_spool *s = open_spool(1 << 20, 0);
    CU_ASSERT_FATAL(s != NULL);
    signal(SIGXFSZ, SIG_IGN);
    CU_ASSERT_FATAL(getrlimit(RLIMIT_FSIZE, &old) == 0);
    lim = old;
    lim.rlim_cur = (rlim_t)(2 * rb + rb / 2); /* room for 2.5 records */
    CU_ASSERT_FATAL(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    char b[128];
    int ok = 0, failed = 0;
    for (int i = 0; i < 4; i++) {
        rec_text(b, sizeof(b), i);
        int rc = ps_spool_append(s, b, strlen(b));
        if (rc == PS_OK)
            ok++;
        else if (rc == PS_ERR_IO)
            failed++;
    }
    setrlimit(RLIMIT_FSIZE, &old);
    CU_ASSERT_EQUAL(ok, 2);
    CU_ASSERT_EQUAL(failed, 2);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.dropped_io, 2);
    /* Space is back: appends work again, and the torn write is gone. */
    append_n(s, 4, 1);
    ps_spool_close(s);
    s = open_spool(1 << 20, 0);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 3);
    const int want_ids[] = {0, 1, 4};
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    for (size_t i = 0; i < PS_ARRAY_LEN(want_ids); i++) {
        CU_ASSERT_FATAL(ps_spool_read(s, &d, &len, &ep) == PS_OK);
        rec_text(b, sizeof(b), want_ids[i]);
        CU_ASSERT(len == strlen(b) && memcmp(d, b, len) == 0);
    }
    CU_ASSERT(ps_spool_read(s, &d, &len, &ep) == PS_ERR_NOT_FOUND);
    ps_spool_stats_get(s, &st);
    CU_ASSERT_EQUAL(st.truncated + st.corrupt, 0);
    ps_spool_close(s);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite su = CU_add_suite("spool", NULL, NULL);
    CU_add_test(su, "crc32c", test_crc32c);
    CU_add_test(su, "order and commit", test_order_and_commit);
    CU_add_test(su, "rewind and in-flight cap", test_rewind_and_inflight_cap);
    CU_add_test(su, "stale commit after rewind", test_stale_commit_after_rewind);
    CU_add_test(su, "restart replay", test_restart_replay);
    CU_add_test(su, "lock", test_lock);
    CU_add_test(su, "bad dir", test_bad_dir);
    CU_add_test(su, "corrupt records skipped", test_corrupt_skipped);
    CU_add_test(su, "truncated prefixes", test_truncated_prefixes);
    CU_add_test(su, "cap N and N+1", test_cap);
    CU_add_test(su, "disk full", test_disk_full);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    if (dir[0])
        rm_dir(dir);
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}
