/* test_inflate.c - gzip/deflate streaming decoder: splits, codings, cap, corrupt input. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate.h"

typedef struct outbuf {
    uint8_t *data;
    size_t len, cap;
} outbuf;

static void sink(void *ctx, const uint8_t *p, size_t n)
{
    outbuf *o = ctx;
    if (o->len + n > o->cap) {
        o->cap = (o->len + n) * 2;
        o->data = realloc(o->data, o->cap);
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

/* Compresses with the given windowBits (31 gzip, 15 zlib, -15 raw). */
static size_t pack(const uint8_t *in, size_t n, int wbits, uint8_t *out, size_t cap)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (deflateInit2(&s, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return 0;
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    int rc = deflate(&s, Z_FINISH);
    size_t len = cap - s.avail_out;
    deflateEnd(&s);
    return rc == Z_STREAM_END ? len : 0;
}

static uint8_t plain[20000];
static size_t plain_len;

static void make_plain(void)
{
    plain_len = 0;
    for (int i = 0; plain_len + 64 < sizeof(plain); i++)
        plain_len += (size_t)snprintf((char *)plain + plain_len, 64, "{\"Id\":\"%08x\",\"n\":%d},",
                                      (unsigned)i * 2654435761u, i);
}

static int run_split(ps_inflate *z, int kind, const uint8_t *c, size_t n, size_t cut, uint64_t cap,
                     outbuf *o)
{
    o->len = 0;
    ps_inflate_begin(z, kind, cap);
    int rc = ps_inflate_feed(z, c, cut, sink, o);
    int rc2 = ps_inflate_feed(z, c + cut, n - cut, sink, o);
    if (rc == PS_OK)
        rc = rc2;
    return rc == PS_OK ? ps_inflate_finish(z) : rc;
}

static void check_kind(int kind, int wbits)
{
    static uint8_t comp[40000];
    make_plain();
    size_t n = pack(plain, plain_len, wbits, comp, sizeof(comp));
    CU_ASSERT_FATAL(n > 0);
    ps_inflate *z = ps_inflate_new();
    CU_ASSERT_FATAL(z != NULL);
    outbuf o = {0};
    for (size_t cut = 0; cut <= n; cut++) {
        int rc = run_split(z, kind, comp, n, cut, UINT64_MAX, &o);
        CU_ASSERT_EQUAL(rc, PS_OK);
        CU_ASSERT_EQUAL(o.len, plain_len);
        CU_ASSERT(o.len == plain_len && memcmp(o.data, plain, plain_len) == 0);
    }
    /* byte by byte */
    o.len = 0;
    ps_inflate_begin(z, kind, UINT64_MAX);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(ps_inflate_feed(z, comp + i, 1, sink, &o), PS_OK);
    CU_ASSERT_EQUAL(ps_inflate_finish(z), PS_OK);
    CU_ASSERT_EQUAL(o.len, plain_len);
    CU_ASSERT_EQUAL(ps_inflate_total_out(z), plain_len);
    /* every truncated prefix: no error, but not finished */
    for (size_t cut = 0; cut < n; cut += 7) {
        o.len = 0;
        ps_inflate_begin(z, kind, UINT64_MAX);
        CU_ASSERT_EQUAL(ps_inflate_feed(z, comp, cut, sink, &o), PS_OK);
        CU_ASSERT_EQUAL(ps_inflate_finish(z), PS_ERR_NEED_MORE);
    }
    free(o.data);
    ps_inflate_free(z);
}

static void test_gzip(void)
{
    check_kind(PS_INFLATE_GZIP, 31);
}

static void test_deflate_zlib(void)
{
    check_kind(PS_INFLATE_DEFLATE, 15);
}

static void test_deflate_raw(void)
{
    check_kind(PS_INFLATE_DEFLATE, -15);
}

static void test_gzip_multimember_and_trailing(void)
{
    uint8_t comp[256];
    size_t a = pack((const uint8_t *)"hello ", 6, 31, comp, sizeof(comp));
    size_t b = pack((const uint8_t *)"world", 5, 31, comp + a, sizeof(comp) - a);
    CU_ASSERT_FATAL(a > 0 && b > 0);
    ps_inflate *z = ps_inflate_new();
    outbuf o = {0};
    for (size_t cut = 0; cut <= a + b; cut++) {
        CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, a + b, cut, 100, &o), PS_OK);
        CU_ASSERT(o.len == 11 && memcmp(o.data, "hello world", 11) == 0);
    }
    /* bytes after a deflate stream are ignored */
    size_t r = pack((const uint8_t *)"abc", 3, -15, comp, sizeof(comp));
    memcpy(comp + r, "junk", 4);
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_DEFLATE, comp, r + 4, 1, 100, &o), PS_OK);
    CU_ASSERT(o.len == 3 && memcmp(o.data, "abc", 3) == 0);
    free(o.data);
    ps_inflate_free(z);
}

static void test_cap(void)
{
    size_t big = 4u << 20;
    uint8_t *zeros = calloc(1, big);
    static uint8_t comp[65536];
    size_t n = pack(zeros, big, 31, comp, sizeof(comp));
    CU_ASSERT_FATAL(n > 0 && n < 10000); /* a bomb: ~1000:1 */
    ps_inflate *z = ps_inflate_new();
    outbuf o = {0};
    /* cap at exactly the size: fine; one less: capped with exactly cap bytes out */
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, n, n / 2, big, &o), PS_OK);
    CU_ASSERT_EQUAL(o.len, big);
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, n, n / 2, big - 1, &o), PS_ERR_CAP);
    CU_ASSERT_EQUAL(o.len, big - 1);
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, n, 3, 1000, &o), PS_ERR_CAP);
    CU_ASSERT_EQUAL(o.len, 1000);
    CU_ASSERT_EQUAL(ps_inflate_total_out(z), 1000);
    /* sticky */
    CU_ASSERT_EQUAL(ps_inflate_feed(z, comp, n, sink, &o), PS_ERR_CAP);
    CU_ASSERT_EQUAL(o.len, 1000);
    CU_ASSERT_EQUAL(ps_inflate_finish(z), PS_ERR_CAP);
    free(o.data);
    free(zeros);
    ps_inflate_free(z);
}

static void test_corrupt(void)
{
    ps_inflate *z = ps_inflate_new();
    outbuf o = {0};
    static const uint8_t notgz[] = "this is not gzip data at all";
    ps_inflate_begin(z, PS_INFLATE_GZIP, 1000);
    CU_ASSERT_EQUAL(ps_inflate_feed(z, notgz, sizeof(notgz) - 1, sink, &o), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_inflate_feed(z, notgz, 4, sink, &o), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_inflate_finish(z), PS_ERR_BAD_INPUT);
    /* flipped bytes inside a valid stream: the CRC or the codes fail */
    uint8_t comp[256];
    size_t n = pack((const uint8_t *)"corruption test corruption test", 31, 31, comp, sizeof(comp));
    comp[n - 6] ^= 0xff; /* CRC32 */
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, n, 5, 1000, &o), PS_ERR_BAD_INPUT);
    /* unknown kind */
    CU_ASSERT_EQUAL(ps_inflate_begin(z, 99, 10), PS_ERR_BAD_INPUT);
    /* reuse after errors works */
    n = pack((const uint8_t *)"ok", 2, 31, comp, sizeof(comp));
    CU_ASSERT_EQUAL(run_split(z, PS_INFLATE_GZIP, comp, n, 1, 10, &o), PS_OK);
    CU_ASSERT(o.len == 2 && memcmp(o.data, "ok", 2) == 0);
    free(o.data);
    ps_inflate_free(z);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("inflate", NULL, NULL);
    CU_add_test(s, "gzip split at every byte", test_gzip);
    CU_add_test(s, "deflate zlib split at every byte", test_deflate_zlib);
    CU_add_test(s, "deflate raw split at every byte", test_deflate_raw);
    CU_add_test(s, "gzip members and trailing bytes", test_gzip_multimember_and_trailing);
    CU_add_test(s, "output cap (bomb)", test_cap);
    CU_add_test(s, "corrupt input", test_corrupt);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
