/* test_tls.c - ClientHello/ServerHello parsers, JA3/JA4 vectors, TLS and h2 dissectors, nDPI
 * adapter. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "app.h"
#include "capture.h"
#include "worker.h"
#include "config.h"
#include "correlate.h"
#include "output.h"
#include "dissector.h"
#include "h2.h"
#include "ndpi_adapter.h"
#include "tls_hello.h"

/* ---- a tiny ClientHello builder ------------------------------------------- */

typedef struct bld {
    uint8_t b[20000];
    size_t n;
} bld;

static void u8(bld *b, unsigned v)
{
    b->b[b->n++] = (uint8_t)v;
}

static void u16(bld *b, unsigned v)
{
    u8(b, v >> 8);
    u8(b, v & 0xff);
}

static void put(bld *b, const void *p, size_t n)
{
    memcpy(b->b + b->n, p, n);
    b->n += n;
}

/* Patches a length field of `width` bytes at `at` to cover up to the end. */
static void patch(bld *b, size_t at, int width)
{
    size_t v = b->n - at - (size_t)width;
    for (int i = width - 1; i >= 0; i--, v >>= 8)
        b->b[at + (size_t)i] = (uint8_t)(v & 0xff);
}

typedef struct hello_spec {
    const uint16_t *ciphers;
    size_t nciphers;
    const uint16_t *exts; /* order; bodies generated per type */
    size_t nexts;
    const uint16_t *groups;
    size_t ngroups;
    const uint16_t *sigalgs;
    size_t nsigalgs;
    const char *sni;
    const char *const *alpn;
    size_t nalpn;
    const uint16_t *versions;
    size_t nversions;
    size_t key_share_len; /* bytes of the one key share */
} hello_spec;

static void ext_body(bld *b, uint16_t type, const hello_spec *s)
{
    size_t at;
    switch (type) {
    case 0x0000:
        at = b->n;
        u16(b, 0);
        u8(b, 0);
        u16(b, (unsigned)strlen(s->sni));
        put(b, s->sni, strlen(s->sni));
        patch(b, at, 2);
        break;
    case 0x0010:
        at = b->n;
        u16(b, 0);
        for (size_t i = 0; i < s->nalpn; i++) {
            u8(b, (unsigned)strlen(s->alpn[i]));
            put(b, s->alpn[i], strlen(s->alpn[i]));
        }
        patch(b, at, 2);
        break;
    case 0x000a:
        u16(b, (unsigned)(2 * s->ngroups));
        for (size_t i = 0; i < s->ngroups; i++)
            u16(b, s->groups[i]);
        break;
    case 0x000d:
        u16(b, (unsigned)(2 * s->nsigalgs));
        for (size_t i = 0; i < s->nsigalgs; i++)
            u16(b, s->sigalgs[i]);
        break;
    case 0x000b:
        u8(b, 1);
        u8(b, 0);
        break;
    case 0x002b:
        u8(b, (unsigned)(2 * s->nversions));
        for (size_t i = 0; i < s->nversions; i++)
            u16(b, s->versions[i]);
        break;
    case 0x0033:
        at = b->n;
        u16(b, 0);
        u16(b, 0x11ec);
        u16(b, (unsigned)s->key_share_len);
        for (size_t i = 0; i < s->key_share_len; i++)
            u8(b, (unsigned)(i * 7 + 1));
        patch(b, at, 2);
        break;
    case 0x002d:
        u8(b, 1);
        u8(b, 1);
        break;
    default:
        if (type == 0xff01)
            u8(b, 0);
        break;
    }
}

/* Handshake message (no record header) of spec into b. */
static void client_hello(bld *b, const hello_spec *s)
{
    b->n = 0;
    u8(b, 1);
    u8(b, 0);
    u16(b, 0); /* 24-bit length patched below */
    u16(b, 0x0303);
    for (int i = 0; i < 32; i++)
        u8(b, (unsigned)i);
    u8(b, 32);
    for (int i = 0; i < 32; i++)
        u8(b, 0xee);
    u16(b, (unsigned)(2 * s->nciphers));
    for (size_t i = 0; i < s->nciphers; i++)
        u16(b, s->ciphers[i]);
    u8(b, 1);
    u8(b, 0);
    size_t ext_at = b->n;
    u16(b, 0);
    for (size_t i = 0; i < s->nexts; i++) {
        u16(b, s->exts[i]);
        size_t at = b->n;
        u16(b, 0);
        ext_body(b, s->exts[i], s);
        patch(b, at, 2);
    }
    patch(b, ext_at, 2);
    size_t body = b->n - 4;
    b->b[1] = (uint8_t)(body >> 16);
    b->b[2] = (uint8_t)(body >> 8);
    b->b[3] = (uint8_t)body;
}

/* Chrome-like hello of the browserleaks.com dump (published JA3/JA4), with
 * GREASE values added where Chrome puts them. */
static const uint16_t chrome_ciphers[] = {0x2a2a, 4865,  4866,  4867,  49195, 49199, 49196, 49200,
                                          52393,  52392, 49171, 49172, 156,   157,   47,    53};
static const uint16_t chrome_exts[] = {0x3a3a, 45, 51,    16, 65037, 23, 17613, 0,  11,
                                       10,     43, 65281, 35, 18,    5,  13,    27, 0x4a4a};
static const uint16_t chrome_groups[] = {0x5a5a, 4588, 29, 23, 24};
static const uint16_t chrome_sigalgs[] = {0x0403, 0x0804, 0x0401, 0x0503,
                                          0x0805, 0x0501, 0x0806, 0x0601};
static const uint16_t chrome_versions[] = {0x6a6a, 0x0304, 0x0303};
static const char *const chrome_alpn[] = {"h2", "http/1.1"};

static hello_spec chrome_spec(size_t key_share)
{
    hello_spec s = {chrome_ciphers,
                    PS_ARRAY_LEN(chrome_ciphers),
                    chrome_exts,
                    PS_ARRAY_LEN(chrome_exts),
                    chrome_groups,
                    PS_ARRAY_LEN(chrome_groups),
                    chrome_sigalgs,
                    PS_ARRAY_LEN(chrome_sigalgs),
                    "tls.browserleaks.com",
                    chrome_alpn,
                    PS_ARRAY_LEN(chrome_alpn),
                    chrome_versions,
                    PS_ARRAY_LEN(chrome_versions),
                    key_share};
    return s;
}

static void test_chrome_vector(void)
{
    static bld b;
    ps_tls_hello h;
    char ja3s[2048], ja3[33], ja4[40];
    hello_spec s = chrome_spec(1216);
    client_hello(&b, &s);
    CU_ASSERT_EQUAL_FATAL(ps_tls_client_hello_parse(b.b, b.n, &h), (int)b.n);
    CU_ASSERT_EQUAL(h.nciphers, 15);
    CU_ASSERT_EQUAL(h.nexts, 16);
    CU_ASSERT_EQUAL(h.grease, 5);
    CU_ASSERT_EQUAL(h.version, 0x0304);
    CU_ASSERT_STRING_EQUAL(h.sni, "tls.browserleaks.com");
    CU_ASSERT_STRING_EQUAL(h.alpn, "h2,http/1.1");
    CU_ASSERT_EQUAL(ps_tls_ja3(&h, ja3s, sizeof(ja3s), ja3), PS_OK);
    CU_ASSERT_STRING_EQUAL(ja3s, "771,4865-4866-4867-49195-49199-49196-49200-52393-52392-49171-"
                                 "49172-156-157-47-53,45-51-16-65037-23-17613-0-11-10-43-65281-"
                                 "35-18-5-13-27,4588-29-23-24,0");
    CU_ASSERT_STRING_EQUAL(ja3, "98487aa16281980e7d1120d399efb6a4");
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_STRING_EQUAL(ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, 36), PS_ERR_CAP); /* N-1 */
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, 37), PS_OK);      /* N */
}

/* The worked example of FoxIO's JA4 technical details. */
static void test_foxio_example(void)
{
    static const uint16_t ciphers[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f,
                                       0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                                       0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
    static const uint16_t exts[] = {0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
                                    0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015};
    static bld b;
    ps_tls_hello h;
    char ja4[40];
    hello_spec s = chrome_spec(32);
    s.ciphers = ciphers;
    s.nciphers = PS_ARRAY_LEN(ciphers);
    s.exts = exts;
    s.nexts = PS_ARRAY_LEN(exts);
    client_hello(&b, &s);
    CU_ASSERT_EQUAL_FATAL(ps_tls_client_hello_parse(b.b, b.n, &h), (int)b.n);
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_STRING_EQUAL(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
    /* Without signature algorithms the extension list alone is hashed. */
    h.nsigalgs = 0;
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_STRING_EQUAL(ja4 + 24, "6d807ffa2a79");
    /* No SNI, no ALPN; ALPN with a non-alphanumeric end uses hex digits. */
    h.has_sni = false;
    h.alpn_first_len = 0;
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_NSTRING_EQUAL(ja4, "t13i151600_", 11);
    h.alpn_first_len = 3;
    h.alpn_first0 = 0xab;
    h.alpn_firstN = '.';
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_NSTRING_EQUAL(ja4, "t13i1516ae_", 11);
    h.nciphers = 0;
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_NSTRING_EQUAL(ja4 + 8, "ae_000000000000_", 16);
}

static void test_truncated_prefixes(void)
{
    static bld b;
    ps_tls_hello h;
    hello_spec s = chrome_spec(1216);
    client_hello(&b, &s);
    for (size_t n = 0; n < b.n; n++)
        if (ps_tls_client_hello_parse(b.b, n, &h) != PS_ERR_NEED_MORE) {
            CU_FAIL("prefix not NEED_MORE");
            printf("prefix %zu\n", n);
            break;
        }
    b.b[b.n] = 0x16; /* the next record follows: consumed stays the message */
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(b.b, b.n + 1, &h), (int)b.n);
}

static void test_bad_lengths(void)
{
    static bld b, c;
    ps_tls_hello h;
    hello_spec s = chrome_spec(64);
    client_hello(&b, &s);
    /* Handshake length N+1: a prefix. N-1: the extensions overrun. */
    c = b;
    c.b[3]++;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n, &h), PS_ERR_NEED_MORE);
    c.b[c.n++] = 0;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n, &h), PS_ERR_BAD_INPUT);
    c = b;
    c.b[3]--;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n - 1, &h), PS_ERR_BAD_INPUT);
    /* Session id of 32 is fine, 33 is not. */
    c = b;
    c.b[4 + 2 + 32] = 33;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n, &h), PS_ERR_BAD_INPUT);
    /* Odd cipher list length. */
    c = b;
    c.b[4 + 2 + 32 + 1 + 32 + 1]++;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n, &h), PS_ERR_BAD_INPUT);
    /* Not a ClientHello. */
    c = b;
    c.b[0] = 2;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, 1, &h), PS_ERR_BAD_INPUT);
    /* An extension whose length runs past the block (N+1). */
    c = b;
    size_t ext0 = 4 + 2 + 32 + 1 + 32 + 2 + 2 * PS_ARRAY_LEN(chrome_ciphers) + 2 + 2;
    CU_ASSERT_EQUAL(c.b[ext0 + 1], 0x3a); /* the first (GREASE) extension */
    c.b[ext0 + 3] = 1;
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(c.b, c.n, &h), PS_ERR_BAD_INPUT);
}

static void test_caps(void)
{
    static uint16_t many[300];
    static bld b;
    ps_tls_hello h;
    char ja3[33], ja4[40];
    for (size_t i = 0; i < PS_ARRAY_LEN(many); i++)
        many[i] = (uint16_t)(0x0100 + i);
    hello_spec s = chrome_spec(32);
    s.ciphers = many;
    s.nciphers = PS_TLS_MAX_CIPHERS; /* N: all kept */
    client_hello(&b, &s);
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(b.b, b.n, &h), (int)b.n);
    CU_ASSERT_FALSE(h.truncated);
    CU_ASSERT_EQUAL(h.nciphers, PS_TLS_MAX_CIPHERS);
    s.nciphers = PS_TLS_MAX_CIPHERS + 1; /* N+1: cut, flagged */
    client_hello(&b, &s);
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(b.b, b.n, &h), (int)b.n);
    CU_ASSERT_TRUE(h.truncated);
    CU_ASSERT_EQUAL(h.nciphers, PS_TLS_MAX_CIPHERS);
    CU_ASSERT_EQUAL(ps_tls_ja3(&h, NULL, 0, ja3), PS_OK);
    CU_ASSERT_EQUAL(ps_tls_ja4(&h, ja4, sizeof(ja4)), PS_OK);
    CU_ASSERT_NSTRING_EQUAL(ja4 + 4, "99", 2); /* counts stop at 99 */
    /* A long SNI is cut at the cap, NUL-terminated. */
    static char longname[600];
    memset(longname, 'a', sizeof(longname) - 1);
    s = chrome_spec(32);
    s.sni = longname;
    client_hello(&b, &s);
    CU_ASSERT_EQUAL(ps_tls_client_hello_parse(b.b, b.n, &h), (int)b.n);
    CU_ASSERT_EQUAL(strlen(h.sni), PS_TLS_SNI_MAX - 1);
}

/* ServerHello, TLS 1.3 (supported_versions) and 1.2. */
static size_t server_hello(uint8_t *out, bool tls13, bool hrr)
{
    bld b;
    b.n = 0;
    u8(&b, 2);
    u8(&b, 0);
    u16(&b, 0);
    u16(&b, 0x0303);
    static const uint8_t hrr_rand[32] = {0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
                                         0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
                                         0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
                                         0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};
    if (hrr)
        put(&b, hrr_rand, 32);
    else
        for (int i = 0; i < 32; i++)
            u8(&b, 0x55);
    u8(&b, 0);
    u16(&b, tls13 ? 0x1301 : 0xc02f);
    u8(&b, 0);
    if (tls13) {
        u16(&b, 6);
        u16(&b, 0x002b);
        u16(&b, 2);
        u16(&b, 0x0304);
    }
    size_t body = b.n - 4;
    b.b[3] = (uint8_t)body;
    memcpy(out, b.b, b.n);
    return b.n;
}

static void test_server_hello(void)
{
    uint8_t m[128];
    ps_tls_server_hello sh;
    size_t n = server_hello(m, true, false);
    CU_ASSERT_EQUAL(ps_tls_server_hello_parse(m, n, &sh), (int)n);
    CU_ASSERT_EQUAL(sh.version, 0x0304);
    CU_ASSERT_EQUAL(sh.cipher, 0x1301);
    CU_ASSERT_FALSE(sh.hello_retry);
    for (size_t k = 0; k < n; k++)
        CU_ASSERT_EQUAL(ps_tls_server_hello_parse(m, k, &sh), PS_ERR_NEED_MORE);
    n = server_hello(m, false, false);
    CU_ASSERT_EQUAL(ps_tls_server_hello_parse(m, n, &sh), (int)n);
    CU_ASSERT_EQUAL(sh.version, 0x0303);
    CU_ASSERT_EQUAL(sh.cipher, 0xc02f);
    n = server_hello(m, true, true);
    CU_ASSERT_EQUAL(ps_tls_server_hello_parse(m, n, &sh), (int)n);
    CU_ASSERT_TRUE(sh.hello_retry);
    m[0] = 1;
    CU_ASSERT_EQUAL(ps_tls_server_hello_parse(m, n, &sh), PS_ERR_BAD_INPUT);
}

/* ---- the stream dissector, driven as the worker does ----------------------- */

static ps_event last_ev;

/* Runs TLS events through a correlator (the policy lives there: trusted
 * networks and the baseline) and returns how many records it wrote. */
static uint64_t correlate(const ps_config *cfg, const ps_event *ev, int n)
{
    ps_output *out = ps_output_new();
    ps_correlator *c = ps_correlator_new(cfg, out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    for (int i = 0; i < n; i++)
        ps_correlator_submit(c, &ev[i]);
    uint64_t records = ps_correlator_stats_get(c)->records;
    ps_correlator_free(c, 0);
    ps_output_close(out, 0);
    return records;
}
static int nev;

static void capture(void *ctx, const ps_event *ev)
{
    (void)ctx;
    last_ev = *ev;
    nev++;
}

static ps_flow mkflow(uint16_t sport)
{
    ps_flow f;
    memset(&f, 0, sizeof(f));
    f.id = 7;
    f.cli.family = f.srv.family = 4;
    memcpy(f.cli.bytes, "\xc6\x12\x01\x0a", 4);
    memcpy(f.srv.bytes, "\xc6\x12\x01\x02", 4);
    f.cport = 40000;
    f.sport = sport;
    f.proto = 6;
    return f;
}

/* Wraps a handshake message in records of at most `rec` payload bytes. */
static size_t records(const uint8_t *msg, size_t n, size_t rec, uint8_t *out)
{
    size_t o = 0;
    for (size_t off = 0; off < n; off += rec) {
        size_t k = PS_MIN(rec, n - off);
        out[o++] = 0x16;
        out[o++] = 3;
        out[o++] = 1;
        out[o++] = (uint8_t)(k >> 8);
        out[o++] = (uint8_t)k;
        memcpy(out + o, msg + off, k);
        o += k;
    }
    return o;
}

/* Feeds a whole session in segments of `seg` bytes; returns the event count. */
static int run_session(const ps_config *cfg, uint16_t port, size_t rec, size_t seg, bool answer)
{
    static bld b;
    static uint8_t wire[40000];
    uint8_t sh[128], shw[256];
    hello_spec s = chrome_spec(1216);
    client_hello(&b, &s);
    size_t n = records(b.b, b.n, rec, wire);
    void *ctx = ps_dissector_tls.ctx_new(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx);
    void *st = calloc(1, ps_dissector_tls.state_size());
    ps_flow f = mkflow(port);
    ps_event_sink sink = {.submit = capture};
    ps_dissector_tls.init(st, NULL, &f);
    ps_dissector_tls.bind(st, ctx, sink);
    f.app_desc = &ps_dissector_tls;
    f.app_state = st;
    nev = 0;
    CU_ASSERT_EQUAL(ps_dissector_tls.probe(wire, 6, 0), PS_PROBE_YES);
    for (size_t off = 0; off < n; off += seg)
        ps_dissector_tls.parse(st, 0, wire + off, PS_MIN(seg, n - off), 1000);
    const ps_tls_info *meta = ps_tls_flow_meta(&f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(meta);
    CU_ASSERT_TRUE(meta->client_hello);
    CU_ASSERT_STRING_EQUAL(meta->ja4, "t13d1516h2_8daaf6152771_d8a2da3f94cd");
    CU_ASSERT_STRING_EQUAL(meta->sni, "tls.browserleaks.com");
    if (answer) {
        size_t k = server_hello(sh, true, false);
        size_t w = records(sh, k, 1000, shw);
        int rc = 0;
        for (size_t off = 0; off < w; off += seg)
            rc = ps_dissector_tls.parse(st, 1, shw + off, PS_MIN(seg, w - off), 2000);
        CU_ASSERT_EQUAL(rc, PS_ERR_STATE); /* done: the worker stops feeding */
        CU_ASSERT_TRUE(meta->server_hello);
        CU_ASSERT_EQUAL(meta->cipher, 0x1301);
        CU_ASSERT_EQUAL(meta->server_version, 0x0304);
    }
    ps_dissector_tls.close(st, 3000);
    const ps_tls_stats *ts = ps_tls_stats_get(ctx);
    CU_ASSERT_EQUAL(ts->client_hellos, 1);
    CU_ASSERT_EQUAL(ts->pool_exhausted, 0);
    free(st);
    ps_dissector_tls.ctx_free(ctx);
    return nev;
}

static void test_stream_splits(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    /* One record in 3 segments (a post-quantum hello), byte by byte, and a
     * hello fragmented over several records. */
    CU_ASSERT_EQUAL(run_session(&cfg, 6443, 16384, 600, true), 1);
    CU_ASSERT_EQUAL(last_ev.kind, PS_EV_TLS);
    CU_ASSERT_PTR_NOT_NULL(last_ev.rule);             /* a candidate on a container port... */
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 0); /* ...not a detection by default */
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_SUCCEEDED);
    CU_ASSERT_EQUAL(run_session(&cfg, 6443, 16384, 1, true), 1);
    CU_ASSERT_EQUAL(run_session(&cfg, 6443, 100, 7, true), 1);
    CU_ASSERT_EQUAL(run_session(&cfg, 6443, 16384, 100000, false), 1); /* reported at close */
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_UNKNOWN);
}

static void test_policy(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    cfg.tls_alert_untrusted = true;
    /* Alerting on but nobody trusted: still no detection (docs/detection.md). */
    run_session(&cfg, 6443, 16384, 600, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(last_ev.rule);
    CU_ASSERT_STRING_EQUAL(last_ev.rule->name, "tls.container_port");
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 0);
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/8", &cfg.tls_trusted.nets[0]), PS_OK);
    cfg.tls_trusted.count = 1;
    run_session(&cfg, 6443, 16384, 600, true);
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 1);
    run_session(&cfg, 8443, 16384, 600, true); /* not a container port */
    CU_ASSERT_PTR_NULL(last_ev.rule);
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 0);
    CU_ASSERT_EQUAL(ps_net_parse("198.18.0.0/15", &cfg.tls_trusted.nets[0]), PS_OK);
    run_session(&cfg, 6443, 16384, 600, true); /* trusted client */
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 0);
    /* trust.any (the sweeps' trusted clients) counts as trusted networks too. */
    cfg.tls_trusted.count = 0;
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/8", &cfg.trust_any.nets[0]), PS_OK);
    cfg.trust_any.count = 1;
    run_session(&cfg, 6443, 16384, 600, true);
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 1);
    CU_ASSERT_EQUAL(ps_net_parse("198.18.1.0/24", &cfg.trust_any.nets[0]), PS_OK);
    run_session(&cfg, 6443, 16384, 600, true);
    CU_ASSERT_EQUAL(correlate(&cfg, &last_ev, 1), 0);

    /* Baseline: a session during learning is learned and silent; after it,
     * a new client's session is a detection, a learned one is not. */
    ps_config_default(&cfg);
    cfg.baseline_learn_s = 10;
    run_session(&cfg, 6443, 16384, 600, true);
    ps_event ev[3] = {last_ev, last_ev, last_ev};
    ev[1].ts = ev[1].done_ts = last_ev.ts + 20 * PS_USEC_PER_SEC; /* same pair, later */
    ev[2] = ev[1];
    ev[2].src.bytes[3] ^= 0x55; /* another client, later */
    CU_ASSERT_EQUAL(correlate(&cfg, ev, 2), 0);
    CU_ASSERT_EQUAL(correlate(&cfg, ev, 3), 1);
}

static void test_net_parse(void)
{
    ps_net n;
    ps_net_set set;
    memset(&set, 0, sizeof(set));
    CU_ASSERT_EQUAL(ps_net_parse("198.18.0.0/15", &n), PS_OK);
    CU_ASSERT_EQUAL(n.prefix, 15);
    CU_ASSERT_EQUAL(ps_net_parse("198.19.0.0/15", &n), PS_ERR_BAD_INPUT); /* host bits */
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/32", &n), PS_OK);
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/33", &n), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_net_parse("2001:db8::/128", &n), PS_OK);
    CU_ASSERT_EQUAL(ps_net_parse("2001:db8::/129", &n), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/", &n), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_net_parse("10.0.0.0/8x", &n), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_net_parse("nonsense", &n), PS_ERR_BAD_INPUT);
    CU_ASSERT_EQUAL(ps_net_parse("198.18.0.0/15", &set.nets[0]), PS_OK);
    CU_ASSERT_EQUAL(ps_net_parse("2001:db8::/32", &set.nets[1]), PS_OK);
    set.count = 2;
    ps_flow f = mkflow(1);
    CU_ASSERT_TRUE(ps_net_set_has(&set, &f.cli));
    f.cli.bytes[1] = 20; /* 198.20.x: outside /15 */
    CU_ASSERT_FALSE(ps_net_set_has(&set, &f.cli));
    f.cli.bytes[1] = 19;
    CU_ASSERT_TRUE(ps_net_set_has(&set, &f.cli));
}

static void test_go_reject(void)
{
    ps_http_tx tx;
    memset(&tx, 0, sizeof(tx));
    tx.response_seen = true;
    tx.status = 400;
    tx.resp_version = 10;
    strcpy(tx.reason, "Bad Request");
    tx.resp_body_len = 48;
    CU_ASSERT_TRUE(ps_tls_is_go_plaintext_reject(&tx));
    tx.resp_body_len = 49;
    CU_ASSERT_FALSE(ps_tls_is_go_plaintext_reject(&tx));
    tx.resp_body_len = 48;
    strcpy(tx.server, "nginx");
    CU_ASSERT_FALSE(ps_tls_is_go_plaintext_reject(&tx));
}

static void test_probe(void)
{
    static const uint8_t ch[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01};
    static const uint8_t pre[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    for (size_t n = 0; n < sizeof(ch); n++)
        CU_ASSERT_EQUAL(ps_dissector_tls.probe(ch, n, 0), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_dissector_tls.probe(ch, 6, 0), PS_PROBE_YES);
    CU_ASSERT_EQUAL(ps_dissector_tls.probe(ch, 6, 1), PS_PROBE_NO); /* not a ServerHello */
    uint8_t bad[6];
    memcpy(bad, ch, 6);
    bad[2] = 5;
    CU_ASSERT_EQUAL(ps_dissector_tls.probe(bad, 6, 0), PS_PROBE_NO);
    for (size_t n = 0; n < 24; n++)
        CU_ASSERT_EQUAL(ps_h2_probe_preface(pre, n), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_h2_probe_preface(pre, 24), 1);
    CU_ASSERT_EQUAL(ps_h2_probe_preface((const uint8_t *)"PRI * HTTP/1.1", 14), 0);
    CU_ASSERT_EQUAL(ps_dissector_h2.probe(pre, 24, 1), PS_PROBE_NO);
}

/* h2c to an etcd port: one etcd.grpc event with the :path, raw or
 * Huffman-coded (huff: the path's coded bytes, hlen long). */
static void h2_session_coded(uint16_t port, const char *path, const uint8_t *huff, size_t hlen,
                             int *events, char *url)
{
    uint8_t buf[256];
    size_t n = 0;
    memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
    n = 24;
    static const uint8_t settings[9] = {0, 0, 0, 4, 0, 0, 0, 0, 0};
    memcpy(buf + n, settings, 9);
    n += 9;
    size_t plen = huff ? hlen : strlen(path);
    size_t blk = 1 + 1 + 1 + plen; /* :method POST (0x83), literal :path */
    uint8_t hdr[9] = {0, 0, (uint8_t)blk, 1, 0x04, 0, 0, 0, 1};
    memcpy(buf + n, hdr, 9);
    n += 9;
    buf[n++] = 0x83;
    buf[n++] = 0x04; /* literal without indexing, name index 4 (:path) */
    buf[n++] = (uint8_t)(plen | (huff ? 0x80u : 0));
    memcpy(buf + n, huff ? huff : (const uint8_t *)path, plen);
    n += plen;
    void *st = calloc(1, ps_dissector_h2.state_size());
    ps_flow f = mkflow(port);
    ps_event_sink sink = {.submit = capture};
    nev = 0;
    ps_dissector_h2.init(st, NULL, &f);
    ps_dissector_h2.bind(st, NULL, sink);
    for (size_t i = 0; i < n; i++) /* byte by byte */
        ps_dissector_h2.parse(st, 0, buf + i, 1, 10);
    static const uint8_t resp[] = {0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1, 1, 4, 0, 0, 0, 1, 0x88};
    ps_dissector_h2.parse(st, 1, resp, sizeof(resp), 20);
    ps_dissector_h2.close(st, 30);
    *events = nev;
    strcpy(url, nev ? last_ev.url : "");
    free(st);
}

static void h2_session(uint16_t port, const char *path, int *events, char *url)
{
    h2_session_coded(port, path, NULL, 0, events, url);
}

static void test_h2_etcd(void)
{
    int n;
    char url[PS_HTTP_URL_MAX];
    h2_session(2379, "/etcdserverpb.KV/Range", &n, url);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(last_ev.rule->name, "etcd.grpc");
    CU_ASSERT_STRING_EQUAL(url, "/etcdserverpb.KV/Range");
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_SUCCEEDED);
    h2_session(12379, "/etcdserverpb.Maintenance/Status", &n, url); /* odd port, path says etcd */
    CU_ASSERT_EQUAL(n, 1);
    h2_session(8080, "/grpc.health.v1.Health/Check", &n, url); /* not etcd */
    CU_ASSERT_EQUAL(n, 0);
    /* Huffman-coded :path (RFC 7541 Appendix B code, as grpc-go sends it). */
    static const uint8_t range[] = {0x60, 0xa9, 0x24, 0x88, 0x2d, 0x9d, 0xcb, 0x65,
                                    0x71, 0xaf, 0x9b, 0x8b, 0x1b, 0x47, 0x54, 0xc5};
    h2_session_coded(8080, NULL, range, sizeof(range), &n, url); /* the path says etcd */
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_EQUAL(url, "/etcdserverpb.KV/Range");
    CU_ASSERT_STRING_EQUAL(last_ev.method, "POST");
    /* RFC 7541 C.4.1: "www.example.com". */
    static const uint8_t www[] = {0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a,
                                  0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff};
    h2_session_coded(2379, NULL, www, sizeof(www), &n, url);
    CU_ASSERT_STRING_EQUAL(url, "www.example.com");
    /* Padding that is not all ones (N), and 8 bits of padding (N+1): invalid. */
    uint8_t bad[sizeof(www)];
    memcpy(bad, www, sizeof(www));
    bad[sizeof(bad) - 1] = 0xf0;
    h2_session_coded(2379, NULL, bad, sizeof(bad), &n, url);
    CU_ASSERT_STRING_NOT_EQUAL(url, "www.example.com");
    uint8_t pad8[sizeof(www) + 1];
    memcpy(pad8, www, sizeof(www));
    pad8[sizeof(www)] = 0xff;
    h2_session_coded(2379, NULL, pad8, sizeof(pad8), &n, url);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_STRING_NOT_EQUAL(url, "www.example.com");
}

/* Server HEADERS with a literal :status (name index 8): the value is used
 * only when it is three digits (fuzz_h2 finding: "2\xff0" became 65xxx). */
static uint16_t h2_status_of(const char *status)
{
    static const uint8_t cli[] = {'P', 'R', 'I',  ' ',  '*',  ' ',  'H',  'T',  'T',
                                  'P', '/', '2',  '.',  '0',  '\r', '\n', '\r', '\n',
                                  'S', 'M', '\r', '\n', '\r', '\n', 0,    0,    2,
                                  1,   4,   0,    0,    0,    1,    0x83, 0x84};
    uint8_t resp[32];
    size_t sl = strlen(status), n = 0;
    uint8_t hdr[9] = {0, 0, (uint8_t)(2 + sl), 1, 4, 0, 0, 0, 1};
    memcpy(resp, hdr, 9);
    n = 9;
    resp[n++] = 0x08; /* literal without indexing, name :status */
    resp[n++] = (uint8_t)sl;
    memcpy(resp + n, status, sl);
    n += sl;
    void *st = calloc(1, ps_dissector_h2.state_size());
    ps_flow f = mkflow(2379);
    ps_event_sink sink = {.submit = capture};
    nev = 0;
    ps_dissector_h2.init(st, NULL, &f);
    ps_dissector_h2.bind(st, NULL, sink);
    ps_dissector_h2.parse(st, 0, cli, sizeof(cli), 10);
    for (size_t i = 0; i < n; i++) /* every split of the response */
        ps_dissector_h2.parse(st, 1, resp + i, 1, 20);
    ps_dissector_h2.close(st, 30);
    free(st);
    return nev == 1 ? last_ev.status : 0xffff;
}

static void test_h2_status_digits(void)
{
    CU_ASSERT_EQUAL(h2_status_of("200"), 200);
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_SUCCEEDED);
    CU_ASSERT_EQUAL(h2_status_of("503"), 503);
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_FAILED);
    CU_ASSERT_EQUAL(h2_status_of("2\xff"
                                 "0"),
                    0);
    CU_ASSERT_EQUAL(last_ev.outcome, PS_OUTCOME_UNKNOWN);
    CU_ASSERT_EQUAL(h2_status_of("20 "), 0);
    CU_ASSERT_EQUAL(h2_status_of("-10"), 0);
    CU_ASSERT_EQUAL(h2_status_of("2000"), 0);
    CU_ASSERT_EQUAL(h2_status_of("20"), 0);
}

/* ---- nDPI adapter ----------------------------------------------------------- */

static void test_ndpi(void)
{
    ps_ndpi *n = ps_ndpi_new(16, 8);
    if (!n) {
        CU_ASSERT_STRING_EQUAL(ps_ndpi_version(), "none");
        return;
    }
    ps_flow f = mkflow(9999);
    static const char req[] = "GET /containers/json HTTP/1.1\r\nHost: x:9999\r\n"
                              "User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";
    ps_ndpi_flow *nf = ps_ndpi_flow_new(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(nf);
    int v = ps_ndpi_flow_feed(n, nf, &f, 0, (const uint8_t *)req, sizeof(req) - 1, 1000000);
    if (v == PS_NDPI_UNDECIDED) {
        static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]";
        v = ps_ndpi_flow_feed(n, nf, &f, 1, (const uint8_t *)resp, sizeof(resp) - 1, 1001000);
    }
    CU_ASSERT_EQUAL(v, PS_NDPI_HTTP);
    ps_ndpi_flow_end(n, nf);
    /* SSH: decided, not HTTP. */
    f = mkflow(2222);
    nf = ps_ndpi_flow_new(n);
    static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n";
    v = ps_ndpi_flow_feed(n, nf, &f, 0, (const uint8_t *)ssh, sizeof(ssh) - 1, 2000000);
    if (v == PS_NDPI_UNDECIDED) {
        static const char ssh2[] = "SSH-2.0-OpenSSH_9.2\r\n";
        v = ps_ndpi_flow_feed(n, nf, &f, 1, (const uint8_t *)ssh2, sizeof(ssh2) - 1, 2001000);
    }
    CU_ASSERT_EQUAL(v, PS_NDPI_OTHER);
    ps_ndpi_flow_end(n, nf);
    /* Random bytes: undecided until the packet cap (8 = N), then OTHER. */
    f = mkflow(31337);
    nf = ps_ndpi_flow_new(n);
    uint8_t junk[64];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 37 + 11);
    int i = 0;
    do
        v = ps_ndpi_flow_feed(n, nf, &f, i & 1, junk, sizeof(junk), 3000000 + (ps_time_us)i);
    while (v == PS_NDPI_UNDECIDED && ++i < 100);
    CU_ASSERT_EQUAL(i, 7); /* the 8th chunk ends it */
    ps_ndpi_flow_end(n, nf);
    /* Pool cap: 16 flow states (N), the 17th is refused and counted. */
    ps_ndpi_flow *all[17];
    for (int k = 0; k < 16; k++)
        CU_ASSERT_PTR_NOT_NULL(all[k] = ps_ndpi_flow_new(n));
    CU_ASSERT_PTR_NULL(all[16] = ps_ndpi_flow_new(n));
    CU_ASSERT_EQUAL(ps_ndpi_stats_get(n)->pool_exhausted, 1);
    for (int k = 0; k < 16; k++)
        ps_ndpi_flow_release(n, all[k]);
    ps_ndpi_count c[8];
    size_t k = ps_ndpi_counts(n, c, 8);
    CU_ASSERT_EQUAL(k, 3);
    bool http = false, ssh_seen = false;
    for (size_t j = 0; j < k; j++) {
        http |= strcmp(c[j].name, "HTTP") == 0 && c[j].flows == 1;
        ssh_seen |= strcmp(c[j].name, "SSH") == 0 && c[j].flows == 1;
    }
    CU_ASSERT_TRUE(http);
    CU_ASSERT_TRUE(ssh_seen);
    CU_ASSERT_EQUAL(ps_ndpi_stats_get(n)->flows, 3);
    ps_ndpi_free(n);
}

/* ---- whole captures through a worker ------------------------------------- */

static ps_event evs[32];
static int nevs;

static void collect(void *ctx, const ps_event *ev)
{
    (void)ctx;
    if (nevs < (int)PS_ARRAY_LEN(evs))
        evs[nevs] = *ev;
    nevs++;
}

static void replay(const char *path, const ps_config *cfg)
{
    char err[256];
    ps_capture *c = ps_capture_open_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ps_event_sink sink = {.submit = collect};
    ps_worker *w = ps_worker_new(cfg, sink);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ps_time_us ts = 0;
    const uint8_t *data;
    uint32_t caplen, wirelen;
    nevs = 0;
    while (ps_capture_next(c, &ts, &data, &caplen, &wirelen, err, sizeof(err)) == 1)
        ps_worker_packet(w, ps_capture_linktype(c), ts, data, caplen, wirelen);
    ps_worker_flush(w, ts);
    ps_worker_free(w, ts);
    ps_capture_close(c);
}

static const ps_event *tls_event(uint16_t dport)
{
    for (int i = 0; i < nevs && i < (int)PS_ARRAY_LEN(evs); i++)
        if (evs[i].kind == PS_EV_TLS && evs[i].dport == dport)
            return &evs[i];
    return NULL;
}

static void test_capture_pq(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    replay("pcaps/tls/pq-split-hello.pcap", &cfg);
    const ps_event *e = tls_event(6443);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    /* Expected values computed by tests/capture/make_tls_pcaps.py from the
     * spec texts, independently of this code. */
    CU_ASSERT_STRING_EQUAL(e->tls.ja3, "048e8224114c8d3dd805d2663676fe9a");
    CU_ASSERT_STRING_EQUAL(e->tls.ja4, "t13d1515h2_8daaf6152771_f37e75b10bcc");
    CU_ASSERT_STRING_EQUAL(e->tls.sni, "kubernetes.default.svc.cluster.local");
    CU_ASSERT_STRING_EQUAL(e->tls.alpn, "h2,http/1.1");
    CU_ASSERT_EQUAL(e->tls.server_version, 0x0304);
    CU_ASSERT_EQUAL(e->tls.cipher, 0x1301);
    CU_ASSERT_EQUAL(e->outcome, PS_OUTCOME_SUCCEEDED);
    CU_ASSERT_EQUAL(correlate(&cfg, e, 1), 0); /* default policy: not a detection */
}

static void test_capture_clients(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    cfg.tls_alert_untrusted = true;
    CU_ASSERT_EQUAL(ps_net_parse("198.18.0.0/24", &cfg.tls_trusted.nets[0]), PS_OK);
    cfg.tls_trusted.count = 1;
    replay("pcaps/tls/container-ports.pcap", &cfg);
    const ps_event *api = tls_event(6443), *kubelet = tls_event(10250), *dock = tls_event(2376);
    const ps_event *etcd = tls_event(2379);
    CU_ASSERT_PTR_NOT_NULL_FATAL(api);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kubelet);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dock);
    CU_ASSERT_PTR_NOT_NULL_FATAL(etcd);
    CU_ASSERT_STRING_EQUAL(api->tls.sni, "kubernetes.default.svc");
    CU_ASSERT_STRING_EQUAL(api->tls.alpn, "h2,http/1.1");
    CU_ASSERT_NSTRING_EQUAL(api->tls.ja4, "t13d", 4);
    CU_ASSERT_STRING_EQUAL(kubelet->tls.sni, "node1");
    CU_ASSERT_STRING_EQUAL(dock->tls.sni, "");
    CU_ASSERT_NSTRING_EQUAL(dock->tls.ja4, "t12i", 4); /* curl --tls-max 1.2 to an IP */
    CU_ASSERT_EQUAL(dock->tls.server_version, 0x0303);
    CU_ASSERT_EQUAL(api->tls.server_version, 0x0304);
    CU_ASSERT_EQUAL(strlen(api->tls.ja3), 32);
    /* 198.18.2.10 is outside the trusted /24: each is a detection. */
    CU_ASSERT_PTR_NOT_NULL(api->rule);
    CU_ASSERT_PTR_NOT_NULL(etcd->rule);
    CU_ASSERT_EQUAL(correlate(&cfg, evs, nevs), 4);
    /* Trusting the client's network silences them (a busy cluster). */
    CU_ASSERT_EQUAL(ps_net_parse("198.18.2.0/24", &cfg.tls_trusted.nets[1]), PS_OK);
    cfg.tls_trusted.count = 2;
    replay("pcaps/tls/container-ports.pcap", &cfg);
    CU_ASSERT_EQUAL(nevs, 4);
    CU_ASSERT_EQUAL(correlate(&cfg, evs, nevs), 0);
}

static void test_capture_h2c(void)
{
    ps_config cfg;
    ps_config_default(&cfg);
    replay("pcaps/tls/h2c-etcd.pcap", &cfg); /* real curl --http2-prior-knowledge */
    CU_ASSERT_EQUAL_FATAL(nevs, 1);
    CU_ASSERT_STRING_EQUAL(evs[0].rule->name, "etcd.grpc");
    CU_ASSERT_EQUAL(evs[0].outcome, PS_OUTCOME_SUCCEEDED);
    replay("pcaps/tls/etcd-grpc-path.pcap", &cfg);
    CU_ASSERT_EQUAL_FATAL(nevs, 1);
    CU_ASSERT_STRING_EQUAL(evs[0].url, "/etcdserverpb.KV/Range");
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("tls", NULL, NULL);
    CU_add_test(s, "chrome JA3/JA4 vector", test_chrome_vector);
    CU_add_test(s, "FoxIO JA4 example", test_foxio_example);
    CU_add_test(s, "truncated prefixes", test_truncated_prefixes);
    CU_add_test(s, "bad lengths", test_bad_lengths);
    CU_add_test(s, "list caps", test_caps);
    CU_add_test(s, "server hello", test_server_hello);
    CU_add_test(s, "stream splits", test_stream_splits);
    CU_add_test(s, "detection policy", test_policy);
    CU_add_test(s, "trusted networks", test_net_parse);
    CU_add_test(s, "Go plaintext reject", test_go_reject);
    CU_add_test(s, "probes", test_probe);
    CU_add_test(s, "h2c etcd", test_h2_etcd);
    CU_add_test(s, "h2 :status must be digits", test_h2_status_digits);
    CU_add_test(s, "nDPI adapter", test_ndpi);
    CU_add_test(s, "capture: post-quantum hello in 3 segments", test_capture_pq);
    CU_add_test(s, "capture: openssl and curl to container ports", test_capture_clients);
    CU_add_test(s, "capture: h2c etcd", test_capture_h2c);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
