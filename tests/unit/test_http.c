/* test_http.c - HTTP/1.x head parsers and connection state machine. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http.h"
#include "http_parse.h"

#define A(x) (1u << (x))

/* ---- harness ---- */

#define MAX_DONE 64

typedef struct rec {
    int requests, timeouts;
    ps_http_tx done[MAX_DONE];
    int ndone;
    uint8_t body[2][1 << 16];
    size_t body_len[2];
    /* what on_request sets */
    uint32_t set_flags;
    uint8_t set_mode;
    const char *set_key;
} rec;

static void on_request(void *ctx, ps_http_tx *tx)
{
    rec *r = ctx;
    r->requests++;
    tx->app_flags = r->set_flags;
    tx->count_mode = r->set_mode;
    if (r->set_key)
        snprintf(tx->count_key, sizeof(tx->count_key), "%s", r->set_key);
}

static void on_body(void *ctx, ps_http_tx *tx, int dir, const uint8_t *p, size_t n)
{
    rec *r = ctx;
    (void)tx;
    size_t room = sizeof(r->body[dir]) - r->body_len[dir];
    if (n > room)
        n = room;
    memcpy(r->body[dir] + r->body_len[dir], p, n);
    r->body_len[dir] += n;
}

static void on_done(void *ctx, ps_http_tx *tx)
{
    rec *r = ctx;
    if (r->ndone < MAX_DONE)
        r->done[r->ndone] = *tx;
    r->ndone++;
}

static void on_timeout(void *ctx, ps_http_tx *tx)
{
    rec *r = ctx;
    (void)tx;
    r->timeouts++;
}

typedef struct harness {
    ps_http_pool *pool;
    ps_http_conn *c;
    rec *r;
} harness;

static harness h_new_cfg(const ps_http_config *cfg)
{
    harness h;
    h.pool = ps_http_pool_new(cfg);
    CU_ASSERT_FATAL(h.pool != NULL);
    h.r = calloc(1, sizeof(rec));
    h.c = malloc(ps_http_conn_size());
    ps_http_callbacks cb = {on_request, on_body, on_done, on_timeout, h.r};
    ps_http_conn_init(h.c, h.pool, &cb);
    return h;
}

static ps_http_config small_cfg(void)
{
    ps_http_config cfg;
    ps_http_config_default(&cfg);
    cfg.pool_txs = 64;
    cfg.pool_head_bufs = 8;
    cfg.pool_inflaters = 2;
    return cfg;
}

static harness h_new(void)
{
    ps_http_config cfg = small_cfg();
    return h_new_cfg(&cfg);
}

/* Re-initialises the connection, keeping the pool. */
static void h_reset(harness *h)
{
    ps_http_conn_close(h->c, 0);
    uint32_t f = h->r->set_flags;
    uint8_t m = h->r->set_mode;
    const char *k = h->r->set_key;
    memset(h->r, 0, sizeof(*h->r));
    h->r->set_flags = f;
    h->r->set_mode = m;
    h->r->set_key = k;
    ps_http_callbacks cb = {on_request, on_body, on_done, on_timeout, h->r};
    ps_http_conn_init(h->c, h->pool, &cb);
}

static void h_free(harness *h)
{
    ps_http_conn_close(h->c, 0);
    free(h->c);
    free(h->r);
    ps_http_pool_free(h->pool);
}

static int feed(harness *h, int dir, const void *s, size_t n, ps_time_us ts)
{
    return ps_http_conn_feed(h->c, dir, s, n, ts);
}

static int feeds(harness *h, int dir, const char *s, ps_time_us ts)
{
    return feed(h, dir, s, strlen(s), ts);
}

/* Feeds in pieces of `step` bytes; returns the last status. */
static int feed_step(harness *h, int dir, const void *s, size_t n, size_t step, ps_time_us ts)
{
    int rc = PS_OK;
    const uint8_t *p = s;
    for (size_t i = 0; i < n; i += step)
        rc = feed(h, dir, p + i, PS_MIN(step, n - i), ts);
    return rc;
}

static uint64_t stat_anom(const harness *h, int a)
{
    return ps_http_pool_stats(h->pool)->anomalies[a];
}

/* ---- stateless parsers ---- */

static int preq(const char *s, ps_http_head *h, ps_http_hdr *hdrs, uint32_t max)
{
    h->hdrs = hdrs;
    h->max_hdrs = max;
    return ps_http_parse_request((const uint8_t *)s, strlen(s), 16384, h);
}

static int presp(const char *s, ps_http_head *h, ps_http_hdr *hdrs, uint32_t max)
{
    h->hdrs = hdrs;
    h->max_hdrs = max;
    return ps_http_parse_response((const uint8_t *)s, strlen(s), 16384, h);
}

static const char full_req[] = "GET /v1.43/containers/json?all=1 HTTP/1.1\r\n"
                               "Host: 10.0.0.5:2375\r\n"
                               "User-Agent: Docker-Client/24.0.7 (linux)\r\n"
                               "Content-Type: application/json\r\n"
                               "X-Empty:\r\n"
                               "Accept: */*\r\n"
                               "\r\n";

static const char full_resp[] = "HTTP/1.1 200 OK\r\n"
                                "Api-Version: 1.43\r\n"
                                "Content-Type: application/json\r\n"
                                "Docker-Experimental: false\r\n"
                                "Ostype: linux\r\n"
                                "Server: Docker/24.0.7 (linux)\r\n"
                                "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
                                "Content-Length: 2\r\n"
                                "\r\n";

static bool slice_is(const uint8_t *p, uint32_t n, const char *s)
{
    return n == strlen(s) && memcmp(p, s, n) == 0;
}

static void test_parse_request_basic(void)
{
    ps_http_hdr hdrs[16];
    ps_http_head h;
    int rc = preq(full_req, &h, hdrs, 16);
    CU_ASSERT_EQUAL(rc, (int)strlen(full_req));
    CU_ASSERT(slice_is(h.method, h.method_len, "GET"));
    CU_ASSERT(slice_is(h.target, h.target_len, "/v1.43/containers/json?all=1"));
    CU_ASSERT_EQUAL(h.version, 11);
    CU_ASSERT_EQUAL(h.num_hdrs, 5);
    CU_ASSERT(slice_is(h.host, h.host_len, "10.0.0.5:2375"));
    CU_ASSERT(ps_http_hdr_is(&hdrs[1], "USER-AGENT"));
    CU_ASSERT(slice_is(hdrs[1].value, hdrs[1].value_len, "Docker-Client/24.0.7 (linux)"));
    CU_ASSERT_EQUAL(hdrs[3].value_len, 0);
    CU_ASSERT_EQUAL(h.anomalies, 0);
    CU_ASSERT_FALSE(h.has_cl);

    /* every truncated prefix is NEED_MORE, never BAD_INPUT */
    size_t n = strlen(full_req);
    for (size_t i = 0; i < n; i++) {
        h.hdrs = hdrs;
        h.max_hdrs = 16;
        CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)full_req, i, 16384, &h),
                        PS_ERR_NEED_MORE);
    }
    /* trailing bytes after the head are not consumed */
    char buf[512];
    snprintf(buf, sizeof(buf), "%sGET / HTTP/1.1\r\n", full_req);
    CU_ASSERT_EQUAL(preq(buf, &h, hdrs, 16), (int)n);

    /* bare LF line ends */
    rc = preq("GET / HTTP/1.1\nHost: a\n\n", &h, hdrs, 16);
    CU_ASSERT_EQUAL(rc, 24);
    CU_ASSERT(h.anomalies & A(PS_HA_BARE_LF));
    CU_ASSERT(slice_is(h.host, h.host_len, "a"));
    const char *lf = "POST /x HTTP/1.0\nContent-Length: 3\n\n";
    for (size_t i = 0; i < strlen(lf); i++) {
        h.hdrs = hdrs;
        h.max_hdrs = 16;
        CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)lf, i, 16384, &h), PS_ERR_NEED_MORE);
    }
}

static void test_parse_response_basic(void)
{
    ps_http_hdr hdrs[16];
    ps_http_head h;
    int rc = presp(full_resp, &h, hdrs, 16);
    CU_ASSERT_EQUAL(rc, (int)strlen(full_resp));
    CU_ASSERT_EQUAL(h.status, 200);
    CU_ASSERT_EQUAL(h.version, 11);
    CU_ASSERT(slice_is(h.reason, h.reason_len, "OK"));
    CU_ASSERT(h.has_cl && h.content_length == 2);
    CU_ASSERT_EQUAL(h.anomalies, 0);
    for (size_t i = 0; i < strlen(full_resp); i++) {
        h.hdrs = hdrs;
        h.max_hdrs = 16;
        CU_ASSERT_EQUAL(ps_http_parse_response((const uint8_t *)full_resp, i, 16384, &h),
                        PS_ERR_NEED_MORE);
    }
    rc = presp("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
               "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
               &h, hdrs, 16);
    CU_ASSERT(rc > 0);
    CU_ASSERT_EQUAL(h.status, 101);
    CU_ASSERT(slice_is(h.reason, h.reason_len, "UPGRADED"));
    /* lower-case protocol (zeek http-lower-case): parsed, flagged */
    CU_ASSERT(presp("http/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.status, 200);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_RESPONSE_INVALID));
    CU_ASSERT_EQUAL(ps_http_parse_response((const uint8_t *)"htt", 3, 100, &h), PS_ERR_NEED_MORE);
    /* no reason phrase, HTTP/1.0 */
    CU_ASSERT(presp("HTTP/1.0 204\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.status, 204);
    CU_ASSERT_EQUAL(h.version, 10);
    CU_ASSERT_EQUAL(h.reason_len, 0);
    static const char *const bad[] = {
        "HTTX/1.1 200 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n",
        "HTTP/1.1 200OK\r\n\r\n",  "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/11 200 OK\r\n\r\n",  "HTTP/1.1 099 X\r\n\r\n",
        "\x16\x03\x01\x02\x00",    "<html>",
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(bad); i++) {
        CU_ASSERT_EQUAL(presp(bad[i], &h, hdrs, 16), PS_ERR_BAD_INPUT);
        CU_ASSERT(h.anomalies & A(PS_HA_RESPONSE_INVALID));
    }
}

static void test_parse_request_lines(void)
{
    ps_http_hdr hdrs[16];
    ps_http_head h;
    /* absolute-form: the URI host wins */
    CU_ASSERT(
        preq("GET http://user@Example.com:8080/p?q HTTP/1.1\r\nHost: example.COM:8080\r\n\r\n", &h,
             hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.host, h.host_len, "Example.com:8080"));
    CU_ASSERT(h.host_from_target);
    CU_ASSERT_FALSE(h.anomalies & A(PS_HA_HOST_AMBIGUOUS));
    CU_ASSERT(preq("GET http://a.example/ HTTP/1.1\r\nHost: b.example\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.host, h.host_len, "a.example"));
    CU_ASSERT(h.anomalies & A(PS_HA_HOST_AMBIGUOUS));
    /* two Host headers */
    CU_ASSERT(preq("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(h.anomalies & A(PS_HA_HOST_AMBIGUOUS));
    /* Host rules by version */
    CU_ASSERT(preq("GET / HTTP/1.0\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.anomalies, 0);
    CU_ASSERT(preq("GET / HTTP/1.1\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_HOST_MISSING));
    CU_ASSERT(preq("CONNECT a:443 HTTP/1.1\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.anomalies, 0);
    /* HTTP/0.9 */
    CU_ASSERT_EQUAL(preq("GET /path\r\n", &h, hdrs, 16), 11);
    CU_ASSERT_EQUAL(h.version, 9);
    CU_ASSERT(h.anomalies & A(PS_HA_MISSING_PROTOCOL));
    CU_ASSERT(slice_is(h.target, h.target_len, "/path"));
    CU_ASSERT_EQUAL(h.num_hdrs, 0);
    CU_ASSERT_EQUAL(preq("GET /path\r\n\r\n \t", &h, hdrs, 16), 11); /* only blanks follow */
    CU_ASSERT_EQUAL(h.version, 9);
    /* ... but headers after it: a request that lost its protocol (suricata-verify
     * http-not09), parsed as HTTP/1.0 */
    CU_ASSERT_EQUAL(preq("GET /path\r\nHost: x\r\n\r\n", &h, hdrs, 16), 22);
    CU_ASSERT_EQUAL(h.version, 10);
    CU_ASSERT(h.anomalies & A(PS_HA_MISSING_PROTOCOL));
    CU_ASSERT(slice_is(h.host, h.host_len, "x"));
    CU_ASSERT_EQUAL(
        preq("GET /\nFakeHeader\nHost: localhost\nUser-Agent: myscript\n\n", &h, hdrs, 16), 55);
    CU_ASSERT(h.anomalies & A(PS_HA_HEADER_NO_COLON));
    CU_ASSERT_EQUAL(h.num_hdrs, 2);
    /* extra spaces, tabs, lower-case method */
    CU_ASSERT(preq("get   /a   HTTP/1.1  \r\nHost: x\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.method, h.method_len, "get"));
    CU_ASSERT(slice_is(h.target, h.target_len, "/a"));
    CU_ASSERT_EQUAL(h.version, 11);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_REQUEST_LINE_SPACES));
    CU_ASSERT(preq("GET\t/a\tHTTP/1.1\r\nHost: x\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.target, h.target_len, "/a"));
    CU_ASSERT(h.anomalies & A(PS_HA_REQUEST_LINE_SPACES));
    CU_ASSERT(preq("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.target, h.target_len, "/a b"));
    CU_ASSERT(h.anomalies & A(PS_HA_REQUEST_LINE_SPACES));
    /* no target (Zeek: empty URI) */
    CU_ASSERT(preq("OPTIONS HTTP/1.1\nHost: g\n\n", &h, hdrs, 16) > 0);
    CU_ASSERT(slice_is(h.method, h.method_len, "OPTIONS"));
    CU_ASSERT_EQUAL(h.target_len, 0);
    CU_ASSERT_EQUAL(h.version, 11);
    CU_ASSERT(h.anomalies & A(PS_HA_REQUEST_LINE_INVALID));
    /* lower-case protocol: understood, flagged */
    CU_ASSERT(preq("GET / http/1.1\r\nHost: x\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.version, 11);
    CU_ASSERT(slice_is(h.target, h.target_len, "/"));
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_REQUEST_LINE_INVALID));
    /* bad protocol token: flagged, parsed as 1.0 */
    CU_ASSERT(preq("GET / HTTP/1.x\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(h.anomalies & A(PS_HA_REQUEST_LINE_INVALID));
    CU_ASSERT_EQUAL(h.version, 10);
    /* invalid request lines, detected early */
    static const char *const bad[] = {"\x16\x03\x01\x00\xa5\x01",
                                      "GET\r\n\r\n",
                                      "G(T / HTTP/1.1\r\n",
                                      "\r\n",
                                      " \r\n",
                                      "GET \r\n\r\n",
                                      "{\"a\":1}"};
    for (size_t i = 0; i < PS_ARRAY_LEN(bad); i++) {
        CU_ASSERT_EQUAL(preq(bad[i], &h, hdrs, 16), PS_ERR_BAD_INPUT);
        CU_ASSERT(h.anomalies & A(PS_HA_REQUEST_LINE_INVALID));
    }
}

static void test_parse_headers_framing(void)
{
    ps_http_hdr hdrs[16];
    ps_http_head h;
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length:5\r\n\r\n",
                   &h, hdrs, 16) > 0);
    CU_ASSERT(h.has_cl && h.content_length == 5);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_DUPLICATE_CL));
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_DUPLICATE_CL));
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
                   &h, hdrs, 16) > 0);
    CU_ASSERT(h.has_cl && h.content_length == 5); /* first value kept */
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_CONFLICTING_CL));
    static const char *const bad_cl[] = {"abc", "-1", "+5", "1 2", "", "99999999999999999999",
                                         "0x10"};
    for (size_t i = 0; i < PS_ARRAY_LEN(bad_cl); i++) {
        char buf[128];
        snprintf(buf, sizeof(buf), "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %s\r\n\r\n",
                 bad_cl[i]);
        CU_ASSERT(preq(buf, &h, hdrs, 16) > 0);
        CU_ASSERT(h.anomalies & A(PS_HA_INVALID_CL));
        CU_ASSERT(h.cl_invalid);
        CU_ASSERT_FALSE(h.has_cl);
    }
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", &h,
                   hdrs, 16) > 0);
    CU_ASSERT(h.has_cl && h.content_length == 9223372036854775807ull);
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"
                   "\r\n\r\n",
                   &h, hdrs, 16) > 0);
    CU_ASSERT(h.te_chunked);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_TE_AND_CL));
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", &h,
                   hdrs, 16) > 0);
    CU_ASSERT(h.te_chunked);
    CU_ASSERT_EQUAL(h.anomalies, A(PS_HA_TE_UNKNOWN));
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n", &h,
                   hdrs, 16) > 0);
    CU_ASSERT_FALSE(h.te_chunked);
    CU_ASSERT(h.anomalies & A(PS_HA_TE_UNKNOWN));
    /* folding: value continues on the next line */
    CU_ASSERT(preq("GET / HTTP/1.1\r\nHost: a\r\nX-F: one\r\n  two\r\n\tthree\r\nY: z\r\n\r\n", &h,
                   hdrs, 16) > 0);
    CU_ASSERT(h.anomalies & A(PS_HA_HEADER_FOLDED));
    CU_ASSERT_EQUAL(h.num_hdrs, 3);
    CU_ASSERT(slice_is(hdrs[1].value, hdrs[1].value_len, "one\r\n  two\r\n\tthree"));
    CU_ASSERT(slice_is(hdrs[2].value, hdrs[2].value_len, "z"));
    /* folded Content-Length still counts */
    CU_ASSERT(preq("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n 12\r\n\r\n", &h, hdrs, 16) >
              0);
    CU_ASSERT(h.has_cl && h.content_length == 12);
    /* no colon, NUL */
    CU_ASSERT(preq("GET / HTTP/1.1\r\nHost: a\r\nbogus line\r\n\r\n", &h, hdrs, 16) > 0);
    CU_ASSERT(h.anomalies & A(PS_HA_HEADER_NO_COLON));
    CU_ASSERT_EQUAL(h.num_hdrs, 1);
    ps_http_head h2 = {.hdrs = hdrs, .max_hdrs = 16};
    static const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
    CU_ASSERT(ps_http_parse_request((const uint8_t *)nul, sizeof(nul) - 1, 16384, &h2) > 0);
    CU_ASSERT(h2.anomalies & A(PS_HA_NUL_IN_HEADER));
}

/* A head of exactly `n` bytes. */
static size_t make_head(char *buf, size_t n)
{
    const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ";
    size_t pl = strlen(pre);
    memcpy(buf, pre, pl);
    size_t pad = n - pl - 4;
    memset(buf + pl, 'p', pad);
    memcpy(buf + pl + pad, "\r\n\r\n", 5);
    return n;
}

static void test_header_cap(void)
{
    static char buf[4096];
    ps_http_hdr hdrs[8];
    ps_http_head h = {.hdrs = hdrs, .max_hdrs = 8};
    size_t cap = 1000;
    size_t n = make_head(buf, cap);
    CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)buf, n, cap, &h), (int)cap);
    CU_ASSERT_FALSE(h.anomalies & A(PS_HA_HEADER_TOO_LONG));
    n = make_head(buf, cap + 1);
    CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)buf, n, cap, &h), PS_ERR_BAD_INPUT);
    CU_ASSERT(h.anomalies & A(PS_HA_HEADER_TOO_LONG));
    /* a prefix of exactly the cap is still undecided */
    CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)buf, cap, cap, &h), PS_ERR_NEED_MORE);

    /* same through a connection, in place and fed byte by byte */
    for (size_t step = 1; step <= 2000; step += 1999) {
        ps_http_config cfg = small_cfg();
        cfg.max_header_bytes = (uint32_t)cap;
        harness hh = h_new_cfg(&cfg);
        n = make_head(buf, cap);
        CU_ASSERT_EQUAL(feed_step(&hh, 0, buf, n, step, 1), PS_OK);
        CU_ASSERT_EQUAL(hh.r->requests, 1);
        n = make_head(buf, cap + 1);
        CU_ASSERT_EQUAL(feed_step(&hh, 0, buf, n, step, 2), PS_ERR_BAD_INPUT);
        CU_ASSERT_EQUAL(hh.r->requests, 1);
        CU_ASSERT_EQUAL(stat_anom(&hh, PS_HA_HEADER_TOO_LONG), 1);
        /* the direction stays failed */
        CU_ASSERT_EQUAL(feeds(&hh, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 3), PS_ERR_BAD_INPUT);
        CU_ASSERT_EQUAL(hh.r->requests, 1);
        /* responses still work */
        CU_ASSERT_EQUAL(feeds(&hh, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 4), PS_OK);
        CU_ASSERT_EQUAL(hh.r->ndone, 1);
        CU_ASSERT_EQUAL(hh.r->done[0].status, 200);
        h_free(&hh);
    }
}

static void test_max_headers(void)
{
    ps_http_hdr hdrs[8];
    ps_http_head h;
    char buf[1024];
    size_t n = (size_t)sprintf(buf, "POST / HTTP/1.1\r\n");
    for (int i = 0; i < 7; i++)
        n += (size_t)sprintf(buf + n, "X-%d: v\r\n", i);
    n += (size_t)sprintf(buf + n, "Content-Length: 4\r\n\r\n");
    /* 8 headers with room for 8 */
    h.hdrs = hdrs;
    h.max_hdrs = 8;
    CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)buf, n, 16384, &h), (int)n);
    CU_ASSERT_EQUAL(h.num_hdrs, 8);
    CU_ASSERT_FALSE(h.anomalies & A(PS_HA_TOO_MANY_HEADERS));
    /* room for 7: flagged, the 8th (Content-Length) still frames the body */
    h.max_hdrs = 7;
    CU_ASSERT_EQUAL(ps_http_parse_request((const uint8_t *)buf, n, 16384, &h), (int)n);
    CU_ASSERT_EQUAL(h.num_hdrs, 7);
    CU_ASSERT_EQUAL(h.total_hdrs, 8);
    CU_ASSERT(h.anomalies & A(PS_HA_TOO_MANY_HEADERS));
    CU_ASSERT(h.has_cl && h.content_length == 4);

    ps_http_config cfg = small_cfg();
    cfg.max_headers = 7;
    harness hh = h_new_cfg(&cfg);
    CU_ASSERT_EQUAL(feed(&hh, 0, buf, n, 1), PS_OK);
    CU_ASSERT_EQUAL(feeds(&hh, 0, "abcdGET /2 HTTP/1.0\r\n\r\n", 1), PS_OK);
    CU_ASSERT_EQUAL(hh.r->requests, 2);
    CU_ASSERT_EQUAL(stat_anom(&hh, PS_HA_TOO_MANY_HEADERS), 1);
    h_free(&hh);
}

static void test_probes(void)
{
    static const struct {
        const char *s;
        int want;
    } cases[] = {
        {"GET / HTTP/1.1", 1},
        {"GET ", 1},
        {"GET", PS_ERR_NEED_MORE},
        {"G", PS_ERR_NEED_MORE},
        {"", PS_ERR_NEED_MORE},
        {"OPTIONS * ", 1},
        {"CONNECT a:1 ", 1},
        {"PROPFIND /", 1},
        {"PROPFIND ", PS_ERR_NEED_MORE},
        {"PROPFIND x", 0},
        {"get / ", 1},      /* Go accepts any token: lower case too */
        {"CCM_POST / ", 1}, /* RFC 9110 tchar */
        {"M-SEARCH * ", 1},
        {"EHLO x", 0}, /* other line protocols stay out */
        {"PING\r\n", 0},
        {"1GET / ", 0},
        {"GE T", 0},
        {"AB /", 0},
        {"ABCDEFGHIJKLMNOPQRST /", 1},  /* 20 characters: N */
        {"ABCDEFGHIJKLMNOPQRSTU /", 0}, /* N + 1 */
        {"ABCDEFGHIJKLMNOPQRST", PS_ERR_NEED_MORE},
        {"ABCDEFGHIJKLMNOPQRSTU", 0},
        {"\x16\x03", 0},
        {"FOO  /", 0},
        {"FOO h", 1},
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(cases); i++) {
        int got = ps_http_probe_request((const uint8_t *)cases[i].s, strlen(cases[i].s));
        if (got != cases[i].want)
            printf("probe_request(%s) = %d\n", cases[i].s, got);
        CU_ASSERT_EQUAL(got, cases[i].want);
    }
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"HTTP/1.1 200", 12), 1);
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"HTTP/1.", 7), 1);
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"HTTP/", 5), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"", 0), PS_ERR_NEED_MORE);
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"HTTP/2", 6), 0);
    CU_ASSERT_EQUAL(ps_http_probe_response((const uint8_t *)"SSH-2.0", 7), 0);
}

static void test_anomaly_names(void)
{
    CU_ASSERT_STRING_EQUAL(ps_http_anomaly_name(PS_HA_CONFLICTING_CL),
                           "http.conflicting_content_length");
    CU_ASSERT_STRING_EQUAL(ps_http_anomaly_name(PS_HA_MISSING_PROTOCOL), "http.missing_protocol");
    CU_ASSERT_STRING_EQUAL(ps_http_anomaly_name(PS_HA_MAX), "http.unknown");
    for (int a = 0; a < PS_HA_MAX; a++) {
        CU_ASSERT(strncmp(ps_http_anomaly_name(a), "http.", 5) == 0);
        CU_ASSERT(strcmp(ps_http_anomaly_name(a), "http.unknown") != 0);
        for (int b = 0; b < a; b++)
            CU_ASSERT(strcmp(ps_http_anomaly_name(a), ps_http_anomaly_name(b)) != 0);
    }
}

/* ---- connection ---- */

static void test_conn_basic(void)
{
    harness h = h_new();
    CU_ASSERT_EQUAL(feeds(&h, 0, full_req, 100), PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    CU_ASSERT_EQUAL(feeds(&h, 1, full_resp, 200), PS_OK);
    CU_ASSERT_EQUAL(h.r->ndone, 0);
    CU_ASSERT_EQUAL(feeds(&h, 1, "[]", 300), PS_OK);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    ps_http_tx *tx = &h.r->done[0];
    CU_ASSERT_STRING_EQUAL(tx->method, "GET");
    CU_ASSERT_STRING_EQUAL(tx->url, "/v1.43/containers/json?all=1");
    CU_ASSERT_STRING_EQUAL(tx->host, "10.0.0.5:2375");
    CU_ASSERT_STRING_EQUAL(tx->user_agent, "Docker-Client/24.0.7 (linux)");
    CU_ASSERT_STRING_EQUAL(tx->req_content_type, "application/json");
    CU_ASSERT_EQUAL(tx->req_version, 11);
    CU_ASSERT_EQUAL(tx->status, 200);
    CU_ASSERT_EQUAL(tx->resp_version, 11);
    CU_ASSERT_STRING_EQUAL(tx->reason, "OK");
    CU_ASSERT_STRING_EQUAL(tx->server, "Docker/24.0.7 (linux)");
    CU_ASSERT_STRING_EQUAL(tx->api_version, "1.43");
    CU_ASSERT_STRING_EQUAL(tx->ostype, "linux");
    CU_ASSERT(tx->has_api_version && tx->has_ostype && tx->has_docker_experimental);
    CU_ASSERT_STRING_EQUAL(tx->resp_content_type, "application/json");
    CU_ASSERT_EQUAL(tx->resp_body_len, 2);
    CU_ASSERT_EQUAL(tx->req_ts, 100);
    CU_ASSERT_EQUAL(tx->resp_ts, 200);
    CU_ASSERT_EQUAL(tx->done_ts, 300);
    CU_ASSERT_EQUAL(tx->index, 0);
    CU_ASSERT_EQUAL(tx->anomalies, 0);
    CU_ASSERT_EQUAL(tx->json_items, -1);
    CU_ASSERT_TRUE(tx->response_seen);
    const ps_http_stats *st = ps_http_pool_stats(h.pool);
    CU_ASSERT_EQUAL(st->requests, 1);
    CU_ASSERT_EQUAL(st->responses, 1);
    CU_ASSERT_EQUAL(st->txs_done, 1);
    h_free(&h);
}

/* Request and response heads split at every position and byte by byte
 * give the same transaction as whole feeds. */
static void test_conn_split_heads(void)
{
    harness h = h_new();
    size_t rq = strlen(full_req), rs = strlen(full_resp);
    for (size_t cut = 0; cut <= rq + rs; cut++) {
        h_reset(&h);
        size_t c1 = PS_MIN(cut, rq), c2 = cut > rq ? cut - rq : 0;
        feed(&h, 0, full_req, c1, 1);
        feed(&h, 0, full_req + c1, rq - c1, 2);
        feed(&h, 1, full_resp, c2, 3);
        feed(&h, 1, full_resp + c2, rs - c2, 4);
        feeds(&h, 1, "[]", 5);
        CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
        CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/v1.43/containers/json?all=1");
        CU_ASSERT_STRING_EQUAL(h.r->done[0].api_version, "1.43");
        CU_ASSERT_EQUAL(h.r->done[0].req_ts, c1 == rq ? 1u : 2u);
        CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, 2);
    }
    h_reset(&h);
    feed_step(&h, 0, full_req, rq, 1, 1);
    feed_step(&h, 1, full_resp, rs, 1, 2);
    feed_step(&h, 1, "[]", 2, 1, 3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].user_agent, "Docker-Client/24.0.7 (linux)");
    CU_ASSERT_EQUAL(h.r->done[0].status, 200);
    CU_ASSERT_EQUAL(h.r->done[0].anomalies, 0);
    /* the partial-head buffers all went back */
    h_reset(&h);
    for (int i = 0; i < 20; i++) {
        feed_step(&h, 0, full_req, rq, 3, 1);
        feed_step(&h, 1, full_resp, rs, 3, 2);
        feeds(&h, 1, "[]", 3);
    }
    CU_ASSERT_EQUAL(h.r->ndone, 20);
    CU_ASSERT_EQUAL(ps_http_pool_stats(h.pool)->pool_exhausted, 0);
    h_free(&h);
}

static const char chunked_resp_head[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                        "Transfer-Encoding: chunked\r\n\r\n";

static void test_chunked_splits(void)
{
    static const char body[] = "5\r\n[1,2,\r\n19;name=val\r\n3,4,5,6,7,8,9,10,11,12,13\r\n"
                               "00003\r\n,14\r\n3 \r\n,15\r\n1\r\n]\r\n0\r\nX-Trailer: 1\r\n\r\n";
    static const char decoded[] = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]";
    static char all[1024];
    const char *req = "GET /containers/json HTTP/1.1\r\nHost: d\r\n\r\n";
    size_t n = (size_t)snprintf(all, sizeof(all), "%s%sHTTP/1.1 204 No Content\r\n\r\n",
                                chunked_resp_head, body);
    harness h = h_new();
    h.r->set_flags = PS_HTTP_WANT_RESP_BODY;
    h.r->set_mode = PS_COUNT_ARRAY;
    for (size_t cut = 0; cut <= n; cut++) {
        h_reset(&h);
        feeds(&h, 0, req, 1);
        feeds(&h, 0, req, 1);
        CU_ASSERT_EQUAL(feed(&h, 1, all, cut, 2), PS_OK);
        CU_ASSERT_EQUAL(feed(&h, 1, all + cut, n - cut, 3), PS_OK);
        CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
        ps_http_tx *tx = &h.r->done[0];
        CU_ASSERT_TRUE(tx->resp_chunked);
        CU_ASSERT_EQUAL(tx->resp_body_len, strlen(decoded));
        CU_ASSERT_EQUAL(tx->json_items, 15);
        CU_ASSERT_FALSE(tx->json_invalid);
        CU_ASSERT(tx->anomalies & A(PS_HA_CHUNK_EXTENSION));
        CU_ASSERT_EQUAL(h.r->body_len[1], strlen(decoded));
        CU_ASSERT(memcmp(h.r->body[1], decoded, strlen(decoded)) == 0);
        CU_ASSERT_EQUAL(h.r->done[1].status, 204);
    }
    h_reset(&h);
    uint64_t ext0 = stat_anom(&h, PS_HA_CHUNK_EXTENSION);
    feeds(&h, 0, req, 1);
    CU_ASSERT_EQUAL(feed_step(&h, 1, all, n, 1, 2), PS_OK);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].json_items, 15);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_CHUNK_EXTENSION), ext0 + 1); /* once per message */

    /* chunked request body */
    h_reset(&h);
    h.r->set_flags = PS_HTTP_WANT_REQ_BODY;
    static const char preq_s[] =
        "POST /containers/create HTTP/1.1\r\nHost: d\r\nTransfer-Encoding: "
        "chunked\r\n\r\n4\r\nab\r\n\r\n2\r\ncd\r\n0\r\n\r\nGET /x HTTP/1.1"
        "\r\nHost: d\r\n\r\n";
    CU_ASSERT_EQUAL(feed_step(&h, 0, preq_s, strlen(preq_s), 1, 1), PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 2);
    CU_ASSERT_EQUAL(h.r->body_len[0], 6);
    CU_ASSERT(memcmp(h.r->body[0], "ab\r\ncd", 6) == 0);
    feeds(&h, 1,
          "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n"
          "Content-Length: 0\r\n\r\n",
          2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT_TRUE(h.r->done[0].req_chunked);
    CU_ASSERT_EQUAL(h.r->done[0].req_body_len, 6);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/x");
    h.r->set_flags = 0;
    h.r->set_mode = 0;
    h_free(&h);
}

static void test_chunked_bad(void)
{
    static const char *const bad[] = {
        "Z\r\n",                 /* not hex */
        "\r\n",                  /* empty size */
        "11111111111111111\r\n", /* 17 digits */
        " 5\r\n",                /* leading space */
        "5\r\nabcdeX",           /* no CRLF after data */
        "5\rX",                  /* CR without LF */
    };
    for (size_t i = 0; i < PS_ARRAY_LEN(bad); i++) {
        harness h = h_new();
        feeds(&h, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1);
        feeds(&h, 1, chunked_resp_head, 2);
        CU_ASSERT_EQUAL(feeds(&h, 1, bad[i], 3), PS_ERR_BAD_INPUT);
        CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_CHUNK_INVALID), 1);
        CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
        CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_CHUNK_INVALID));
        CU_ASSERT_EQUAL(feeds(&h, 1, "HTTP/1.1 200 OK\r\n\r\n", 4), PS_ERR_BAD_INPUT);
        h_free(&h);
    }
    /* 16 digits are fine (the size is then cut by close) */
    harness h = h_new();
    feeds(&h, 0, "GET / HTTP/1.1\r\nHost: a\r\n\r\n", 1);
    feeds(&h, 1, chunked_resp_head, 2);
    CU_ASSERT_EQUAL(feeds(&h, 1, "000000000000000a\r\n0123", 3), PS_OK);
    ps_http_conn_close(h.c, 9);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_BODY_TRUNCATED));
    CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, 4);
    h_free(&h);
}

static size_t gzip_pack(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    deflateInit2(&s, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
    s.next_in = (Bytef *)(uintptr_t)in;
    s.avail_in = (uInt)n;
    s.next_out = out;
    s.avail_out = (uInt)cap;
    deflate(&s, Z_FINISH);
    size_t len = cap - s.avail_out;
    deflateEnd(&s);
    return len;
}

static void test_gzip_body(void)
{
    static char json[8192];
    size_t jl = (size_t)sprintf(json, "{\"kind\":\"PodList\",\"items\":[");
    for (int i = 0; i < 40; i++)
        jl += (size_t)sprintf(json + jl, "%s{\"metadata\":{\"name\":\"pod-%d\"}}", i ? "," : "", i);
    jl += (size_t)sprintf(json + jl, "]}");
    static uint8_t gz[8192];
    size_t gl = gzip_pack((const uint8_t *)json, jl, gz, sizeof(gz));
    static char all[16384];
    size_t hl = (size_t)sprintf(all,
                                "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: "
                                "application/json\r\nContent-Length: %zu\r\n\r\n",
                                gl);
    memcpy(all + hl, gz, gl);
    size_t n = hl + gl;
    harness h = h_new();
    h.r->set_mode = PS_COUNT_KEY;
    h.r->set_key = "items";
    for (size_t cut = 0; cut <= n; cut++) {
        h_reset(&h);
        feeds(&h, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\nAccept-Encoding: gzip\r\n\r\n", 1);
        feed(&h, 1, all, cut, 2);
        feed(&h, 1, all + cut, n - cut, 3);
        CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
        CU_ASSERT_TRUE(h.r->done[0].resp_gzip);
        CU_ASSERT_EQUAL(h.r->done[0].json_items, 40);
        CU_ASSERT_FALSE(h.r->done[0].json_invalid);
        CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, gl);
        CU_ASSERT_EQUAL(h.r->done[0].anomalies, 0);
    }
    /* inflated body is delivered when asked for */
    h_reset(&h);
    h.r->set_flags = PS_HTTP_WANT_RESP_BODY;
    feeds(&h, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    feed_step(&h, 1, all, n, 1, 2);
    CU_ASSERT_EQUAL(h.r->body_len[1], jl);
    CU_ASSERT(memcmp(h.r->body[1], json, jl) == 0);
    CU_ASSERT_EQUAL(h.r->done[0].json_items, 40);

    /* bomb: output capped */
    ps_http_config cfg = small_cfg();
    cfg.max_inflate_bytes = 100;
    harness hb = h_new_cfg(&cfg);
    hb.r->set_mode = PS_COUNT_KEY;
    hb.r->set_key = "items";
    hb.r->set_flags = PS_HTTP_WANT_RESP_BODY;
    feeds(&hb, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    CU_ASSERT_EQUAL(feed(&hb, 1, all, n, 2), PS_OK);
    CU_ASSERT_EQUAL_FATAL(hb.r->ndone, 1);
    CU_ASSERT(hb.r->done[0].anomalies & A(PS_HA_GZIP_BOMB));
    CU_ASSERT_TRUE(hb.r->done[0].json_invalid);
    CU_ASSERT_EQUAL(hb.r->body_len[1], 100);
    CU_ASSERT_EQUAL(stat_anom(&hb, PS_HA_GZIP_BOMB), 1);
    /* max_inflate_bytes exactly the size: fine */
    h_free(&hb);
    cfg.max_inflate_bytes = jl;
    hb = h_new_cfg(&cfg);
    hb.r->set_mode = PS_COUNT_KEY;
    hb.r->set_key = "items";
    feeds(&hb, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    feed(&hb, 1, all, n, 2);
    CU_ASSERT_EQUAL_FATAL(hb.r->ndone, 1);
    CU_ASSERT_EQUAL(hb.r->done[0].anomalies, 0);
    CU_ASSERT_EQUAL(hb.r->done[0].json_items, 40);
    h_free(&hb);

    /* corrupt gzip */
    h_reset(&h);
    h.r->set_flags = 0;
    feeds(&h, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
          "0123456789",
          2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_GZIP_ERROR));
    CU_ASSERT_TRUE(h.r->done[0].json_invalid);
    /* truncated gzip within a complete body */
    h_reset(&h);
    feeds(&h, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    char head[128];
    int hl2 = sprintf(
        head, "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", gl / 2);
    feed(&h, 1, head, (size_t)hl2, 2);
    feed(&h, 1, gz, gl / 2, 3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_GZIP_ERROR));
    /* not decoded when nobody wants it */
    h_reset(&h);
    h.r->set_mode = 0;
    feeds(&h, 0, "GET /api/v1/pods HTTP/1.1\r\nHost: k\r\n\r\n", 1);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 10\r\n\r\n"
          "0123456789",
          2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].anomalies, 0);
    CU_ASSERT_TRUE(h.r->done[0].resp_gzip);
    h_free(&h);
}

static void test_pipelining(void)
{
    harness h = h_new();
    CU_ASSERT_EQUAL(feeds(&h, 0,
                          "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                          "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                          "HEAD /c HTTP/1.1\r\nHost: x\r\n\r\n",
                          1),
                    PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 3);
    CU_ASSERT_EQUAL(
        feeds(&h, 1,
              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"
              "HTTP/1.1 100 Continue\r\n\r\n"
              "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n"
              "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
              2),
        PS_OK);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 3);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/a");
    CU_ASSERT_EQUAL(h.r->done[0].status, 200);
    CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, 2);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/b");
    CU_ASSERT_STRING_EQUAL(h.r->done[1].method, "POST");
    CU_ASSERT_EQUAL(h.r->done[1].req_body_len, 3);
    CU_ASSERT_EQUAL(h.r->done[1].status, 201);
    CU_ASSERT_EQUAL(h.r->done[1].resp_body_len, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[2].url, "/c");
    CU_ASSERT_EQUAL(h.r->done[2].status, 200);
    CU_ASSERT_EQUAL(h.r->done[2].resp_body_len, 0); /* HEAD: no body despite CL */
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(h.r->done[i].index, (uint32_t)i);
    /* keep-alive: next exchange */
    feeds(&h, 0, "GET /d HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    feeds(&h, 1, "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", 4);
    feeds(&h, 0, "GET /e HTTP/1.1\r\nHost: x\r\n\r\n", 5);
    feeds(&h, 1, "HTTP/1.1 204 No Content\r\n\r\n", 6);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 5);
    CU_ASSERT_EQUAL(h.r->done[3].status, 304);
    CU_ASSERT_EQUAL(h.r->done[4].status, 204);
    CU_ASSERT_STRING_EQUAL(h.r->done[4].url, "/e");
    /* unmatched response */
    CU_ASSERT_EQUAL(feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 7), PS_OK);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_UNMATCHED_RESPONSE), 1);
    CU_ASSERT_EQUAL(h.r->ndone, 5);
    /* ... which does not shift later matching */
    feeds(&h, 0, "GET /f HTTP/1.1\r\nHost: x\r\n\r\n", 8);
    feeds(&h, 1, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 9);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 6);
    CU_ASSERT_STRING_EQUAL(h.r->done[5].url, "/f");
    CU_ASSERT_EQUAL(h.r->done[5].status, 404);
    h_free(&h);
}

static void test_pipeline_cap_and_pool(void)
{
    /* pipeline cap: the third request is not tracked, responses stay in step */
    ps_http_config cfg = small_cfg();
    cfg.max_pipeline = 2;
    harness h = h_new_cfg(&cfg);
    feeds(&h, 0,
          "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
          "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n",
          1);
    CU_ASSERT_EQUAL(h.r->requests, 2);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_PIPELINE_CAP), 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    feeds(&h, 0, "GET /4 HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    CU_ASSERT_EQUAL(h.r->requests, 3);
    feeds(&h, 1,
          "HTTP/1.1 201 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n"
          "HTTP/1.1 203 OK\r\nContent-Length: 0\r\n\r\n",
          4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 3);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/1");
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/2");
    CU_ASSERT_EQUAL(h.r->done[1].status, 201);
    CU_ASSERT_STRING_EQUAL(h.r->done[2].url, "/4");
    CU_ASSERT_EQUAL(h.r->done[2].status, 203);
    CU_ASSERT_EQUAL(h.r->done[2].index, 3);
    CU_ASSERT_EQUAL(ps_http_pool_stats(h.pool)->anomalies[PS_HA_UNMATCHED_RESPONSE], 0);
    h_free(&h);

    /* tx pool exhaustion */
    cfg = small_cfg();
    cfg.pool_txs = 1;
    h = h_new_cfg(&cfg);
    feeds(&h, 0, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    CU_ASSERT_EQUAL(ps_http_pool_stats(h.pool)->pool_exhausted, 1);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 500 X\r\nContent-Length: 0"
          "\r\n\r\n",
          2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].status, 200);
    /* the tx went back to the pool: next exchange is tracked */
    feeds(&h, 0, "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    feeds(&h, 1, "HTTP/1.1 202 OK\r\nContent-Length: 0\r\n\r\n", 4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/3");
    CU_ASSERT_EQUAL(h.r->done[1].status, 202);
    h_free(&h);

    /* head buffer pool exhaustion: a split head is lost, whole ones still parse */
    cfg = small_cfg();
    cfg.pool_head_bufs = 0;
    h = h_new_cfg(&cfg);
    feeds(&h, 0, "GET /1 HTTP/1.1\r\nHo", 1);
    feeds(&h, 0, "st: x\r\n\r\n", 1);
    CU_ASSERT_EQUAL(h.r->requests, 0);
    CU_ASSERT(ps_http_pool_stats(h.pool)->pool_exhausted >= 1);
    feeds(&h, 0, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 201 OK\r\nContent-Length: 0"
          "\r\n\r\n",
          3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/2");
    CU_ASSERT_EQUAL(h.r->done[0].status, 201);
    h_free(&h);
}

static void test_upgrade(void)
{
    harness h = h_new();
    feeds(&h, 0,
          "POST /v1.43/containers/abc/attach?stream=1&stdin=1 HTTP/1.1\r\nHost: d\r\n"
          "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n",
          1);
    CU_ASSERT_EQUAL(feeds(&h, 1,
                          "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker."
                          "raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                          "\x01\x00\x00\x00\x00\x00\x00\x05hello",
                          2),
                    PS_ERR_STATE);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].status, 101);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].reason, "UPGRADED");
    CU_ASSERT_STRING_EQUAL(h.r->done[0].upgrade, "tcp");
    CU_ASSERT_EQUAL(ps_http_pool_stats(h.pool)->upgrades, 1);
    CU_ASSERT_EQUAL(feeds(&h, 0, "GET / HTTP/1.1\r\nHost: d\r\n\r\n", 3), PS_ERR_STATE);
    CU_ASSERT_EQUAL(feeds(&h, 1, "HTTP/1.1 200 OK\r\n\r\n", 3), PS_ERR_STATE);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    ps_http_conn_close(h.c, 4);
    CU_ASSERT_EQUAL(h.r->ndone, 1);
    /* CONNECT 200 is a tunnel too */
    h_reset(&h);
    feeds(&h, 0, "CONNECT a:443 HTTP/1.1\r\n\r\n", 1);
    CU_ASSERT_EQUAL(feeds(&h, 1, "HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01", 2),
                    PS_ERR_STATE);
    CU_ASSERT_EQUAL(h.r->ndone, 1);
    h_free(&h);
}

static void test_until_close_and_close(void)
{
    harness h = h_new();
    h.r->set_mode = PS_COUNT_ARRAY;
    feeds(&h, 0, "GET /v1.24/containers/json HTTP/1.0\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n[{\"Id\":1},", 2);
    feeds(&h, 1, "{\"Id\":2}]\n", 3);
    CU_ASSERT_EQUAL(h.r->ndone, 0);
    ps_http_conn_close(h.c, 4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, 20);
    CU_ASSERT_EQUAL(h.r->done[0].json_items, 2);
    CU_ASSERT_FALSE(h.r->done[0].json_invalid);
    CU_ASSERT_EQUAL(h.r->done[0].anomalies, 0);
    CU_ASSERT_EQUAL(h.r->done[0].done_ts, 4);
    /* CL body cut by close */
    h_reset(&h);
    feeds(&h, 0, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n[1,", 2);
    ps_http_conn_close(h.c, 5);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_BODY_TRUNCATED));
    CU_ASSERT_TRUE(h.r->done[0].json_invalid);
    CU_ASSERT_EQUAL(h.r->done[0].json_items, 1);
    CU_ASSERT_EQUAL(h.r->done[1].status, 0); /* never answered */
    CU_ASSERT_FALSE(h.r->done[1].response_seen);
    CU_ASSERT_EQUAL(h.r->done[1].done_ts, 5);
    CU_ASSERT_EQUAL(feeds(&h, 0, "GET / HTTP/1.1\r\n\r\n", 6), PS_ERR_STATE);
    /* Content-Length 0 JSON response: empty body is not JSON */
    h_reset(&h);
    feeds(&h, 0, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_TRUE(h.r->done[0].json_invalid);
    h.r->set_mode = 0;
    h_free(&h);
}

static void test_http09(void)
{
    harness h = h_new();
    CU_ASSERT_EQUAL(feeds(&h, 0, "GET /index.html\r\n", 1), PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    feeds(&h, 1, "<html>hello</html>", 2);
    ps_http_conn_close(h.c, 3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    ps_http_tx *tx = &h.r->done[0];
    CU_ASSERT_EQUAL(tx->req_version, 9);
    CU_ASSERT_EQUAL(tx->resp_version, 9);
    CU_ASSERT(tx->anomalies & A(PS_HA_MISSING_PROTOCOL));
    CU_ASSERT_STRING_EQUAL(tx->url, "/index.html");
    CU_ASSERT_EQUAL(tx->resp_body_len, 18);
    /* missing protocol with headers: the server may answer with a head or without */
    h_reset(&h);
    feeds(&h, 0, "GET /\nHost: a\nUser-Agent: myscript\n\n", 1);
    feeds(&h, 1, "<!DOCTYPE HTML>\n<html>", 2);
    ps_http_conn_close(h.c, 3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].user_agent, "myscript");
    CU_ASSERT_EQUAL(h.r->done[0].req_version, 10);
    CU_ASSERT_EQUAL(h.r->done[0].resp_version, 9);
    CU_ASSERT_EQUAL(h.r->done[0].resp_body_len, 22);
    h_reset(&h);
    feeds(&h, 0, "GET /x\nHost: a\n\n", 1);
    feeds(&h, 1, "HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].status, 400);
    h_free(&h);
}

static void test_conn_anomalies(void)
{
    harness h = h_new();
    /* conflicting CL: Go answers 400 and closes, so nothing after the head
     * is a request (the smuggled /b is not one) */
    feeds(&h, 0,
          "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\n"
          "abcGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
          1);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    feeds(&h, 1, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_CONFLICTING_CL));
    CU_ASSERT_EQUAL(h.r->done[0].status, 400);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_CONFLICTING_CL), 1);
    h_reset(&h);
    /* TE + CL: chunked wins */
    feeds(&h, 0,
          "POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nTransfer-Encoding: "
          "chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /d HTTP/1.1\r\nHost: x\r\n\r\n",
          2);
    CU_ASSERT_EQUAL(h.r->requests, 2);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0"
          "\r\n\r\n",
          3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_TE_AND_CL));
    CU_ASSERT_TRUE(h.r->done[0].req_chunked);
    CU_ASSERT_EQUAL(h.r->done[0].req_body_len, 3);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/d");
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_TE_AND_CL), 1);

    /* unknown TE on a request: the body is skipped by resync */
    h_reset(&h);
    feeds(&h, 0,
          "POST /e HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nxxxxx\r\nyyy\r\n"
          "GET /f HTTP/1.1\r\nHost: x\r\n\r\n",
          1);
    CU_ASSERT_EQUAL(h.r->requests, 2);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_TE_UNKNOWN), 1);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST), 1);
    /* TE on HTTP/1.0 is ignored (Go): Content-Length frames */
    h_reset(&h);
    feeds(&h, 0,
          "POST /g HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\nab"
          "GET /h HTTP/1.0\r\n\r\n",
          1);
    CU_ASSERT_EQUAL(h.r->requests, 2);

    /* URL truncation */
    h_reset(&h);
    static char big[PS_HTTP_URL_MAX + 64];
    int n = sprintf(big, "GET /");
    memset(big + n, 'u', PS_HTTP_URL_MAX);
    n += PS_HTTP_URL_MAX;
    n += sprintf(big + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    feed(&h, 0, big, (size_t)n, 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_TRUE(h.r->done[0].url_truncated);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_URL_TRUNCATED));
    CU_ASSERT_EQUAL(strlen(h.r->done[0].url), PS_HTTP_URL_MAX - 1);
    /* a URL of exactly max-1 bytes is not truncated */
    h_reset(&h);
    n = sprintf(big, "GET /");
    memset(big + n, 'u', PS_HTTP_URL_MAX - 2);
    n += PS_HTTP_URL_MAX - 2;
    n += sprintf(big + n, " HTTP/1.1\r\nHost: x\r\n\r\n");
    feed(&h, 0, big, (size_t)n, 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_FALSE(h.r->done[0].url_truncated);
    CU_ASSERT_EQUAL(h.r->done[0].anomalies, 0);

    /* absolute-form target: host from the URI */
    h_reset(&h);
    feeds(&h, 0, "GET http://10.1.1.1:10250/pods HTTP/1.1\r\nHost: other\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].host, "10.1.1.1:10250");
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_HOST_AMBIGUOUS));
    /* folded header value copied with spaces */
    h_reset(&h);
    feeds(&h, 0, "GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: a\r\n b\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 2);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].user_agent, "a   b");
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_HEADER_FOLDED));
    h_free(&h);
}

static void test_gap_resync(void)
{
    harness h = h_new();
    /* gap inside a Content-Length body only shortens it */
    feeds(&h, 0, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab", 1);
    ps_http_conn_gap(h.c, 0, 5, 2);
    feeds(&h, 0, "cdeGET /b HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    CU_ASSERT_EQUAL(h.r->requests, 2);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST), 0);
    feeds(&h, 1,
          "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0"
          "\r\n\r\n",
          4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_GAP));
    CU_ASSERT_EQUAL(h.r->done[0].req_body_len, 5);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/b");

    /* gap inside a head: resync on the next request line */
    h_reset(&h);
    feeds(&h, 0, "GET /lost HTTP/1.1\r\nHo", 1);
    ps_http_conn_gap(h.c, 0, 100, 2);
    feeds(&h, 0, "junk\r\nmore: junk\r\nGET /found HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST), 1);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_GAP), 2);
    /* the lost request keeps the response order: its response is skipped */
    feeds(&h, 1,
          "HTTP/1.1 500 X\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0"
          "\r\n\r\n",
          4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/found");
    CU_ASSERT_EQUAL(h.r->done[0].status, 200);
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_JUNK_BEFORE_REQUEST));

    /* resync candidate split across feeds */
    h_reset(&h);
    ps_http_conn_gap(h.c, 0, 10, 1);
    feeds(&h, 0, "xx\r\nGE", 2);
    feeds(&h, 0, "T /split HTTP/1.1\r\nHost: x\r\n\r\n", 3);
    CU_ASSERT_EQUAL(h.r->requests, 1);

    /* response direction: gap in a chunked body ends that response; resync on HTTP/1. */
    h_reset(&h);
    feeds(&h, 0, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 2);
    ps_http_conn_gap(h.c, 1, 50, 3);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_STRING_EQUAL(h.r->done[0].url, "/1");
    CU_ASSERT(h.r->done[0].anomalies & A(PS_HA_GAP));
    feeds(&h, 1, "garbage\r\nHTTP/1.1 404 Nope\r\nContent-Length: 0\r\n\r\n", 4);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 2);
    CU_ASSERT_STRING_EQUAL(h.r->done[1].url, "/2");
    CU_ASSERT_EQUAL(h.r->done[1].status, 404);
    /* gap while idle, then a clean request */
    ps_http_conn_gap(h.c, 0, 7, 5);
    feeds(&h, 0, "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n", 6);
    CU_ASSERT_EQUAL(h.r->requests, 3);
    h_free(&h);
}

static void test_midstream(void)
{
    harness h = h_new();
    /* picked up inside a request body */
    CU_ASSERT_EQUAL(feeds(&h, 0,
                          "\"Image\":\"alpine\"}\r\nPOST /v1.43/containers/create HTTP/1.1"
                          "\r\nHost: d\r\nContent-Length: 2\r\n\r\n{}",
                          1),
                    PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST), 1);
    /* picked up inside a response body */
    CU_ASSERT_EQUAL(
        feeds(&h, 1, "ody>\r\n</html>\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 2),
        PS_OK);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_EQUAL(h.r->done[0].status, 201);
    /* a first line split over feeds that is not a request line: rescan after it */
    h_reset(&h);
    feeds(&h, 0, "abcdef", 1);
    feeds(&h, 0, "gh\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    /* a lower-case request at the start of a stream is a request */
    h_reset(&h);
    uint64_t junk0 = stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST);
    feeds(&h, 0, "get /lc HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    CU_ASSERT_EQUAL(h.r->requests, 1);
    CU_ASSERT_EQUAL(stat_anom(&h, PS_HA_JUNK_BEFORE_REQUEST), junk0);
    /* TLS on the port: skipped, nothing tracked, no failure */
    h_reset(&h);
    CU_ASSERT_EQUAL(feeds(&h, 0, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 1), PS_OK);
    CU_ASSERT_EQUAL(h.r->requests, 0);
    CU_ASSERT(ps_http_pool_stats(h.pool)->ignored_bytes > 0);
    h_free(&h);
}

static void test_expire(void)
{
    harness h = h_new();
    feeds(&h, 0, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n", 1000);
    feeds(&h, 0, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n", 5000);
    ps_http_conn_expire(h.c, 3000, 2000); /* 1000 is not older than 1000 */
    CU_ASSERT_EQUAL(h.r->timeouts, 0);
    ps_http_conn_expire(h.c, 3001, 2000);
    CU_ASSERT_EQUAL(h.r->timeouts, 1);
    ps_http_conn_expire(h.c, 3002, 2000); /* reported once */
    CU_ASSERT_EQUAL(h.r->timeouts, 1);
    ps_http_conn_expire(h.c, 100000, 2000);
    CU_ASSERT_EQUAL(h.r->timeouts, 2);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 100001);
    CU_ASSERT_EQUAL_FATAL(h.r->ndone, 1);
    CU_ASSERT_TRUE(h.r->done[0].timeout_reported);
    CU_ASSERT_EQUAL(h.r->done[0].status, 200);
    /* answered requests do not time out */
    feeds(&h, 0, "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n", 200000);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200001);
    feeds(&h, 1, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 200001);
    ps_http_conn_expire(h.c, 900000, 2000);
    CU_ASSERT_EQUAL(h.r->timeouts, 2);
    h_free(&h);
}

/* Regression inputs found by fuzzing go here. */
static void test_regressions(void)
{
    harness h = h_new();
    static const uint8_t junk[] = {0x00, 0xff, '\n', 'G', 'E', 'T', ' ', '\n', '\n'};
    feed(&h, 0, junk, sizeof(junk), 1);
    feed(&h, 1, junk, sizeof(junk), 1);
    ps_http_conn_gap(h.c, 0, 3, 2);
    ps_http_conn_gap(h.c, 1, 3, 2);
    h_free(&h);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite p = CU_add_suite("http_parse", NULL, NULL);
    CU_add_test(p, "request head + every prefix", test_parse_request_basic);
    CU_add_test(p, "response head + every prefix", test_parse_response_basic);
    CU_add_test(p, "request line variants", test_parse_request_lines);
    CU_add_test(p, "headers and framing", test_parse_headers_framing);
    CU_add_test(p, "header cap N and N+1", test_header_cap);
    CU_add_test(p, "max headers N and N+1", test_max_headers);
    CU_add_test(p, "probes", test_probes);
    CU_add_test(p, "anomaly names", test_anomaly_names);
    CU_pSuite c = CU_add_suite("http_conn", NULL, NULL);
    CU_add_test(c, "basic exchange and tx fields", test_conn_basic);
    CU_add_test(c, "heads split everywhere", test_conn_split_heads);
    CU_add_test(c, "chunked split at every byte", test_chunked_splits);
    CU_add_test(c, "bad chunks", test_chunked_bad);
    CU_add_test(c, "gzip bodies, bomb, errors", test_gzip_body);
    CU_add_test(c, "pipelining, HEAD, 1xx, 204/304", test_pipelining);
    CU_add_test(c, "pipeline cap and pool exhaustion", test_pipeline_cap_and_pool);
    CU_add_test(c, "101 upgrade", test_upgrade);
    CU_add_test(c, "until-close body and close", test_until_close_and_close);
    CU_add_test(c, "HTTP/0.9", test_http09);
    CU_add_test(c, "framing anomalies", test_conn_anomalies);
    CU_add_test(c, "gap resync", test_gap_resync);
    CU_add_test(c, "midstream pickup", test_midstream);
    CU_add_test(c, "expire", test_expire);
    CU_add_test(c, "regressions", test_regressions);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
