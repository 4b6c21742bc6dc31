/* test_pcapfile.c - CUnit tests of the in-place classic pcap reader (sensor/capture-file.c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "pcapfile.h"

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4); /* this machine's byte order: the files the reader takes */
}

static void put16(uint8_t *p, uint16_t v)
{
    memcpy(p, &v, 2);
}

static void file_header(uint8_t *h, uint32_t magic, uint16_t major, uint16_t minor,
                        uint32_t snaplen, uint32_t linktype)
{
    memset(h, 0, PS_PCAPFILE_HDR);
    put32(h, magic);
    put16(h + 4, major);
    put16(h + 6, minor);
    put32(h + 16, snaplen);
    put32(h + 20, linktype);
}

/* Writes a record header plus caplen bytes of pattern (byte i = seed + i). */
static size_t record(uint8_t *p, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen,
                     uint8_t seed)
{
    put32(p, sec);
    put32(p + 4, frac);
    put32(p + 8, caplen);
    put32(p + 12, wirelen);
    for (uint32_t i = 0; i < caplen; i++)
        p[PS_PCAPFILE_REC_HDR + i] = (uint8_t)(seed + i);
    return PS_PCAPFILE_REC_HDR + caplen;
}

/* Every prefix of a header is "need more"; the whole one is taken. */
static void test_header_prefixes(void)
{
    uint8_t h[PS_PCAPFILE_HDR];
    ps_pcapfile_info fi;
    file_header(h, 0xa1b2c3d4u, 2, 4, 65535, 1);
    for (size_t n = 0; n < sizeof h; n++)
        CU_ASSERT_EQUAL(ps_pcapfile_header(h, n, &fi), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_pcapfile_header(h, sizeof h, &fi), (int)PS_PCAPFILE_HDR);
    CU_ASSERT_EQUAL(fi.linktype, 1);
    CU_ASSERT_EQUAL(fi.snaplen, 65535);
    CU_ASSERT_EQUAL(fi.nanos, 0);
    file_header(h, 0xa1b23c4du, 2, 4, 65535, 113);
    CU_ASSERT_EQUAL(ps_pcapfile_header(h, sizeof h, &fi), (int)PS_PCAPFILE_HDR);
    CU_ASSERT_EQUAL(fi.nanos, 1);
    CU_ASSERT_EQUAL(fi.linktype, 113);
}

/* What libpcap must read instead: other formats, orders, versions, link types. */
static void test_header_refused(void)
{
    uint8_t h[PS_PCAPFILE_HDR];
    ps_pcapfile_info fi;
    const struct {
        uint32_t magic;
        uint16_t major, minor;
        uint32_t linktype;
    } no[] = {
        {0x0a0d0d0au, 2, 4, 1},           /* pcapng section header */
        {0xd4c3b2a1u, 2, 4, 1},           /* other byte order */
        {0x4d3cb2a1u, 2, 4, 1},           /* other byte order, nanoseconds */
        {0xa1b2cd34u, 2, 4, 1},           /* Kuznetzov's modified format */
        {0xa1b2c3d4u, 2, 3, 1},           /* old version: caplen/len may be swapped */
        {0xa1b2c3d4u, 1, 4, 1},           /* other major version */
        {0xa1b2c3d4u, 2, 4, 101},         /* LINKTYPE_RAW: libpcap reports DLT_RAW */
        {0xa1b2c3d4u, 2, 4, 147},         /* a user link type */
        {0xa1b2c3d4u, 2, 4, 0x10000001u}, /* Ethernet with the FCS-length bits set */
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(no); i++) {
        file_header(h, no[i].magic, no[i].major, no[i].minor, 65535, no[i].linktype);
        CU_ASSERT_EQUAL(ps_pcapfile_header(h, sizeof h, &fi), PS_ERR_UNSUPPORTED);
    }
}

/* libpcap's snapshot adjustment: 0 and too large mean the largest; the
 * largest itself (N) and N+1. */
static void test_header_snaplen(void)
{
    uint8_t h[PS_PCAPFILE_HDR];
    ps_pcapfile_info fi;
    const uint32_t in[] = {0, 1, PS_PCAPFILE_MAX_CAPLEN, PS_PCAPFILE_MAX_CAPLEN + 1, UINT32_MAX};
    const uint32_t out[] = {PS_PCAPFILE_MAX_CAPLEN, 1, PS_PCAPFILE_MAX_CAPLEN,
                            PS_PCAPFILE_MAX_CAPLEN, PS_PCAPFILE_MAX_CAPLEN};
    for (size_t i = 0; i < PS_ARRAY_LEN(in); i++) {
        file_header(h, 0xa1b2c3d4u, 2, 4, in[i], 1);
        CU_ASSERT_EQUAL_FATAL(ps_pcapfile_header(h, sizeof h, &fi), (int)PS_PCAPFILE_HDR);
        CU_ASSERT_EQUAL(fi.snaplen, out[i]);
    }
}

/* Every prefix of a record is "need more"; the whole one gives its fields. */
static void test_record_prefixes(void)
{
    ps_pcapfile_info fi = {.linktype = 1, .snaplen = 65535, .nanos = 0};
    uint8_t buf[PS_PCAPFILE_REC_HDR + 60];
    size_t n = record(buf, 1751328000u, 123456, 60, 1514, 7);
    ps_pcapfile_rec r;
    char err[160];
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, k, &r, err, sizeof err), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, n, &r, err, sizeof err), (int64_t)n);
    CU_ASSERT_EQUAL(r.ts, 1751328000ull * 1000000u + 123456u);
    CU_ASSERT_EQUAL(r.caplen, 60);
    CU_ASSERT_EQUAL(r.wirelen, 1514);
    CU_ASSERT_PTR_EQUAL(r.data, buf + PS_PCAPFILE_REC_HDR);
    /* Nanoseconds become microseconds, truncated as libpcap does. */
    fi.nanos = 1;
    record(buf, 10, 999999999u, 60, 60, 0);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, n, &r, err, sizeof err), (int64_t)n);
    CU_ASSERT_EQUAL(r.ts, 10ull * 1000000u + 999999u);
}

/* Captured length: 262144 (N) is a packet, 262145 (N+1) is damage, said as
 * soon as the record header is there; over the snaplen, the record keeps
 * its size in the file but hands out snaplen bytes. */
static void test_record_limits(void)
{
    ps_pcapfile_info fi = {.linktype = 1, .snaplen = PS_PCAPFILE_MAX_CAPLEN, .nanos = 0};
    size_t big = PS_PCAPFILE_REC_HDR + PS_PCAPFILE_MAX_CAPLEN + 1;
    uint8_t *buf = calloc(1, big);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    ps_pcapfile_rec r;
    char err[160] = "";
    record(buf, 1, 0, PS_PCAPFILE_MAX_CAPLEN, PS_PCAPFILE_MAX_CAPLEN, 0);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, big - 2, &r, err, sizeof err), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, big - 1, &r, err, sizeof err), (int64_t)(big - 1));
    CU_ASSERT_EQUAL(r.caplen, PS_PCAPFILE_MAX_CAPLEN);
    put32(buf + 8, PS_PCAPFILE_MAX_CAPLEN + 1);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, PS_PCAPFILE_REC_HDR, &r, err, sizeof err),
                    PS_ERR_BAD_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid packet capture length 262145"));
    put32(buf + 8, 0x80000000u);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, big, &r, err, sizeof err), PS_ERR_BAD_INPUT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "2147483648"));
    /* snaplen 96: a 100-byte record is cut to 96 (N+4), a 96-byte one is whole (N). */
    fi.snaplen = 96;
    record(buf, 1, 0, 100, 1500, 3);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, big, &r, err, sizeof err),
                    (int64_t)PS_PCAPFILE_REC_HDR + 100);
    CU_ASSERT_EQUAL(r.caplen, 96);
    CU_ASSERT_EQUAL(r.wirelen, 1500);
    record(buf, 1, 0, 96, 96, 3);
    CU_ASSERT_EQUAL(ps_pcapfile_record(&fi, buf, big, &r, err, sizeof err),
                    (int64_t)PS_PCAPFILE_REC_HDR + 96);
    CU_ASSERT_EQUAL(r.caplen, 96);
    free(buf);
}

/* A temporary file holding len bytes, opened for reading at offset 0. */
static int temp_file(const uint8_t *data, size_t len)
{
    char path[] = "/tmp/ps_pcapfile_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    unlink(path);
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)n;
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

/* A file of records of sizes 0..1600 cycling, big enough for several
 * buffer refills, so records straddle every read boundary. */
static uint8_t *many_records(size_t *len_out, uint32_t *count_out)
{
    size_t cap = 6u << 20;
    uint8_t *f = malloc(cap);
    if (!f)
        return NULL;
    file_header(f, 0xa1b2c3d4u, 2, 4, 65535, 1);
    size_t len = PS_PCAPFILE_HDR;
    uint32_t i = 0;
    while (len + PS_PCAPFILE_REC_HDR + 1601 < cap) {
        uint32_t caplen = (i * 37u) % 1601u;
        len += record(f + len, 1000 + i, i % 1000000u, caplen, caplen + 4, (uint8_t)i);
        i++;
    }
    *len_out = len;
    *count_out = i;
    return f;
}

/* A reader over the first `len` bytes of file image f. */
static ps_pcapfile_reader *open_image(const uint8_t *f, size_t len)
{
    int fd = temp_file(f, len);
    CU_ASSERT_FATAL(fd >= 0);
    ps_pcapfile_reader *r = ps_pcapfile_open(fd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    return r;
}

/* The reader hands out every record of a file larger than its buffer, in
 * order and intact, then 0; the offset ends at the file's size. */
static void test_reader_whole_file(void)
{
    size_t len = 0;
    uint32_t count = 0;
    uint8_t *f = many_records(&len, &count);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ps_pcapfile_reader *r = open_image(f, len);
    CU_ASSERT_EQUAL(ps_pcapfile_info_of(r)->linktype, 1);
    CU_ASSERT_EQUAL(ps_pcapfile_offset(r), PS_PCAPFILE_HDR);
    ps_pcapfile_rec rec;
    char err[160];
    uint32_t i = 0;
    int rc;
    bool intact = true;
    while ((rc = ps_pcapfile_next(r, &rec, err, sizeof err)) == 1) {
        uint32_t caplen = (i * 37u) % 1601u;
        if (rec.caplen != caplen || rec.wirelen != caplen + 4 ||
            rec.ts != (1000ull + i) * 1000000u + i % 1000000u)
            intact = false;
        for (uint32_t k = 0; k < rec.caplen && intact; k++)
            if (rec.data[k] != (uint8_t)(i + k))
                intact = false;
        i++;
    }
    CU_ASSERT(intact);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(i, count);
    CU_ASSERT_EQUAL(ps_pcapfile_offset(r), len);
    CU_ASSERT_EQUAL(ps_pcapfile_next(r, &rec, err, sizeof err), 0); /* the end stays the end */
    ps_pcapfile_close(r);
    free(f);
}

typedef struct seen {
    uint32_t n;
    bool intact;
} seen;

static void on_rec(void *user, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen)
{
    seen *sn = user;
    uint32_t i = sn->n++;
    uint32_t want = (i * 37u) % 1601u;
    if (caplen != want || wirelen != want + 4 || ts != (1000ull + i) * 1000000u + i % 1000000u)
        sn->intact = false;
    for (uint32_t k = 0; k < caplen && sn->intact; k++)
        if (data[k] != (uint8_t)(i + k))
            sn->intact = false;
}

/* ps_pcapfile_dispatch in batches of 7 hands out the same records as
 * ps_pcapfile_next, across refills, then 0; on a truncated copy it hands
 * out the whole records and then fails, and stays failed. */
static void test_reader_dispatch(void)
{
    size_t len = 0;
    uint32_t count = 0;
    uint8_t *f = many_records(&len, &count);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int cut = 0; cut < 2; cut++) {
        size_t flen = cut ? len - 3 : len;
        ps_pcapfile_reader *r = open_image(f, flen);
        seen sn = {0, true};
        char err[160] = "";
        int rc, calls = 0;
        while ((rc = ps_pcapfile_dispatch(r, 7, on_rec, &sn, err, sizeof err)) > 0) {
            CU_ASSERT(rc <= 7);
            calls++;
        }
        CU_ASSERT(sn.intact);
        CU_ASSERT(calls >= (int)(count / 7));
        if (!cut) {
            CU_ASSERT_EQUAL(rc, 0);
            CU_ASSERT_EQUAL(sn.n, count);
            CU_ASSERT_EQUAL(ps_pcapfile_offset(r), len);
        } else {
            CU_ASSERT_EQUAL(rc, PS_ERR_IO);
            CU_ASSERT_EQUAL(sn.n, count - 1);
            CU_ASSERT_PTR_NOT_NULL(strstr(err, "truncated dump file"));
            CU_ASSERT_EQUAL(ps_pcapfile_dispatch(r, 7, on_rec, &sn, err, sizeof err), PS_ERR_IO);
            CU_ASSERT_EQUAL(sn.n, count - 1);
        }
        ps_pcapfile_close(r);
    }
    free(f);
}

typedef struct held {
    const uint8_t *data;
    uint32_t caplen, index;
    uint64_t end; /* file bytes handed out up to this record's end */
} held;

typedef struct stable_ctx {
    held fifo[8192];
    uint32_t head, count, n;
    uint64_t bytes;
    bool intact;
} stable_ctx;

static bool held_ok(const held *h)
{
    for (uint32_t k = 0; k < h->caplen; k++)
        if (h->data[k] != (uint8_t)(h->index + k))
            return false;
    return true;
}

static void on_stable(void *user, ps_time_us ts, const uint8_t *data, uint32_t caplen,
                      uint32_t wirelen)
{
    stable_ctx *c = user;
    (void)ts, (void)wirelen;
    c->bytes += PS_PCAPFILE_REC_HDR + caplen;
    /* Records handed out less than PS_PCAPFILE_STABLE_BYTES ago must still
     * be there; the oldest such is checked on every call. */
    while (c->count && c->bytes - c->fifo[c->head].end >= PS_PCAPFILE_STABLE_BYTES) {
        c->head = (c->head + 1) % 8192;
        c->count--;
    }
    if (c->count && !held_ok(&c->fifo[c->head]))
        c->intact = false;
    if (c->count < 8192) {
        held *h = &c->fifo[(c->head + c->count) % 8192];
        *h = (held){data, caplen, c->n, c->bytes};
        c->count++;
    }
    c->n++;
}

/* What a consumer may hold without copying: every record's data stays in
 * place until PS_PCAPFILE_STABLE_BYTES of later records have come out,
 * across refills of both buffers. */
static void test_reader_stable(void)
{
    size_t len = 0;
    uint32_t count = 0;
    uint8_t *f = many_records(&len, &count);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    ps_pcapfile_reader *r = open_image(f, len);
    stable_ctx *c = calloc(1, sizeof *c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    c->intact = true;
    char err[160];
    while (ps_pcapfile_dispatch(r, 64, on_stable, c, err, sizeof err) > 0)
        ;
    CU_ASSERT_EQUAL(c->n, count);
    CU_ASSERT(c->intact);
    CU_ASSERT(len > 4 * PS_PCAPFILE_STABLE_BYTES); /* both buffers were refilled */
    free(c);
    ps_pcapfile_close(r);
    free(f);
}

/* Every truncation of a three-record file: the whole records before the
 * cut come out, then 0 at a record boundary or a "truncated" error
 * (header or data, in libpcap's words) that stays. */
static void test_reader_truncated(void)
{
    uint8_t f[PS_PCAPFILE_HDR + 3 * (PS_PCAPFILE_REC_HDR + 40)];
    file_header(f, 0xa1b2c3d4u, 2, 4, 65535, 1);
    size_t ends[4] = {PS_PCAPFILE_HDR};
    size_t len = PS_PCAPFILE_HDR;
    for (int i = 0; i < 3; i++) {
        len += record(f + len, 5, (uint32_t)i, 40, 40, (uint8_t)i);
        ends[i + 1] = len;
    }
    CU_ASSERT_EQUAL_FATAL(len, sizeof f);
    for (size_t cut = PS_PCAPFILE_HDR; cut <= len; cut++) {
        int fd = temp_file(f, cut);
        CU_ASSERT_FATAL(fd >= 0);
        ps_pcapfile_reader *r = ps_pcapfile_open(fd);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        ps_pcapfile_rec rec;
        char err[160] = "";
        int got = 0, rc;
        while ((rc = ps_pcapfile_next(r, &rec, err, sizeof err)) == 1)
            got++;
        int whole = 0;
        while (whole < 3 && ends[whole + 1] <= cut)
            whole++;
        CU_ASSERT_EQUAL(got, whole);
        if (cut == ends[whole]) {
            CU_ASSERT_EQUAL(rc, 0);
        } else {
            CU_ASSERT_EQUAL(rc, PS_ERR_IO);
            bool in_header = cut - ends[whole] < PS_PCAPFILE_REC_HDR;
            CU_ASSERT_PTR_NOT_NULL(strstr(err, in_header ? "tried to read 16 header bytes"
                                                         : "tried to read 40 captured bytes"));
            CU_ASSERT_EQUAL(ps_pcapfile_next(r, &rec, err, sizeof err), PS_ERR_IO);
        }
        ps_pcapfile_close(r);
    }
}

/* A small file gets a buffer its own size; when it grows between opening
 * and reading (being written), a record larger than that buffer still
 * comes out whole. */
static void test_reader_file_grows(void)
{
    char path[] = "/tmp/ps_pcapfile_grow_XXXXXX";
    int wfd = mkstemp(path);
    CU_ASSERT_FATAL(wfd >= 0);
    uint8_t buf[PS_PCAPFILE_HDR + 2 * PS_PCAPFILE_REC_HDR + 40 + 3000];
    file_header(buf, 0xa1b2c3d4u, 2, 4, 65535, 1);
    size_t first = PS_PCAPFILE_HDR + record(buf + PS_PCAPFILE_HDR, 1, 0, 40, 40, 1);
    size_t second = record(buf + first, 2, 0, 3000, 3000, 2);
    CU_ASSERT_FATAL(write(wfd, buf, first) == (ssize_t)first);
    int rfd = open(path, O_RDONLY);
    CU_ASSERT_FATAL(rfd >= 0);
    ps_pcapfile_reader *r = ps_pcapfile_open(rfd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_FATAL(write(wfd, buf + first, second) == (ssize_t)second);
    ps_pcapfile_rec rec;
    char err[160] = "";
    CU_ASSERT_EQUAL(ps_pcapfile_next(r, &rec, err, sizeof err), 1);
    CU_ASSERT_EQUAL(rec.caplen, 40);
    CU_ASSERT_EQUAL(ps_pcapfile_next(r, &rec, err, sizeof err), 1);
    CU_ASSERT_EQUAL(rec.caplen, 3000);
    CU_ASSERT_EQUAL(rec.data[2999], (uint8_t)(2 + 2999));
    CU_ASSERT_EQUAL(ps_pcapfile_next(r, &rec, err, sizeof err), 0);
    ps_pcapfile_close(r);
    close(wfd);
    unlink(path);
}

/* A file the reader does not take is left to libpcap, at offset 0; so is a
 * file shorter than a header. */
static void test_reader_refuses(void)
{
    uint8_t h[PS_PCAPFILE_HDR];
    file_header(h, 0x0a0d0d0au, 2, 4, 65535, 1);
    for (size_t n = 0; n <= sizeof h; n++) {
        if (n == sizeof h)
            file_header(h, 0xa1b2c3d4u, 2, 4, 65535, 101);
        int fd = temp_file(h, n);
        CU_ASSERT_FATAL(fd >= 0);
        CU_ASSERT_PTR_NULL(ps_pcapfile_open(fd));
        CU_ASSERT_EQUAL(lseek(fd, 0, SEEK_CUR), 0);
        close(fd);
    }
    ps_pcapfile_close(NULL); /* harmless */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("pcapfile", NULL, NULL);
    CU_add_test(s, "header prefixes", test_header_prefixes);
    CU_add_test(s, "header refused", test_header_refused);
    CU_add_test(s, "header snaplen N and N+1", test_header_snaplen);
    CU_add_test(s, "record prefixes", test_record_prefixes);
    CU_add_test(s, "record caplen N and N+1, snaplen cut", test_record_limits);
    CU_add_test(s, "reader whole file across refills", test_reader_whole_file);
    CU_add_test(s, "reader every truncation", test_reader_truncated);
    CU_add_test(s, "dispatch in batches, whole and truncated", test_reader_dispatch);
    CU_add_test(s, "records stay in place for STABLE_BYTES", test_reader_stable);
    CU_add_test(s, "reader: a small file that grows", test_reader_file_grows);
    CU_add_test(s, "reader leaves other files to libpcap", test_reader_refuses);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
