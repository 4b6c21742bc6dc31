/* http.c - HTTP/1.x connection state machine: framing, pipelining, bodies and resync. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "dissector.h"
#include "http.h"
#include "http_parse.h"
#include "inflate.h"
#include "json_scan.h"

#define A(x)           (1u << (x))
#define CHUNK_LINE_MAX 4096u /* Go's maxLineLength for chunk size lines */

/* A pooled transaction; `next` links the free list or a connection's queue. */
typedef struct http_txn {
    ps_http_tx tx;
    struct http_txn *next;
} http_txn;

struct ps_http_pool {
    ps_http_config cfg;
    ps_http_stats stats;
    http_txn *txs, *free_txs;
    uint32_t txs_untouched; /* txs[txs_untouched..] never used: start-up touches no page */
    uint8_t *hbuf_mem;
    uint8_t **hbuf_free;
    uint32_t hbuf_nfree;
    ps_inflate **zs;
    uint32_t z_nfree, z_total;
    ps_http_hdr *hdrs; /* scratch for the parser; workers are single-threaded */
};

enum { ST_RESYNC = 0, ST_HEAD, ST_BODY_CL, ST_BODY_CHUNKED, ST_BODY_CLOSE, ST_FAILED };

enum {
    CK_SIZE = 0,
    CK_SIZE_MORE,
    CK_SIZE_WS,
    CK_EXT,
    CK_SIZE_LF,
    CK_DATA,
    CK_DATA_CR,
    CK_DATA_LF,
    CK_TRAILER,
    CK_TRAILER_CR,
    CK_TRAILER_LINE
};

typedef struct http_dir {
    uint8_t st;
    bool initial;     /* nothing parsed yet on this direction */
    bool unconfirmed; /* found by resync; no head parsed since */
    bool line_start, junk, pending_junk;
    uint8_t cand[16];
    uint8_t cand_len;

    uint8_t *hbuf; /* borrowed from the pool while a head is partial */
    uint32_t hlen;
    bool hlf; /* hbuf holds a complete first line */

    uint64_t remaining; /* Content-Length left, or current chunk size */
    uint8_t ck, ck_digits;
    uint32_t ck_line;

    http_txn *tx; /* tx of the message in progress (NULL: untracked) */
    uint32_t msg_anoms;
    bool want_body, json, json_broken;
    ps_inflate *z;
    bool z_dead;
} http_dir;

struct ps_http_conn {
    ps_http_pool *pool;
    ps_http_callbacks cb;
    http_dir d[2];
    http_txn *qhead, *qtail;
    uint32_t qn;
    uint32_t req_seq, resp_seq;
    uint64_t ring_head, ring_09, ring_connect; /* per request index mod 64 */
    bool upgraded, closed;
    ps_json_scan js;
};

static const char *const anomaly_names[PS_HA_MAX] = {
    [PS_HA_REQUEST_LINE_INVALID] = "http.request_line_invalid",
    [PS_HA_REQUEST_LINE_SPACES] = "http.request_line_spaces",
    [PS_HA_MISSING_PROTOCOL] = "http.missing_protocol",
    [PS_HA_HEADER_TOO_LONG] = "http.header_too_long",
    [PS_HA_TOO_MANY_HEADERS] = "http.too_many_headers",
    [PS_HA_HEADER_NO_COLON] = "http.header_no_colon",
    [PS_HA_HEADER_FOLDED] = "http.header_folded",
    [PS_HA_DUPLICATE_CL] = "http.duplicate_content_length",
    [PS_HA_CONFLICTING_CL] = "http.conflicting_content_length",
    [PS_HA_INVALID_CL] = "http.invalid_content_length",
    [PS_HA_TE_AND_CL] = "http.transfer_encoding_and_content_length",
    [PS_HA_TE_UNKNOWN] = "http.transfer_encoding_unknown",
    [PS_HA_CHUNK_INVALID] = "http.chunk_invalid",
    [PS_HA_CHUNK_EXTENSION] = "http.chunk_extension",
    [PS_HA_HOST_MISSING] = "http.host_missing",
    [PS_HA_HOST_AMBIGUOUS] = "http.host_ambiguous",
    [PS_HA_URL_TRUNCATED] = "http.url_truncated",
    [PS_HA_BARE_LF] = "http.bare_lf",
    [PS_HA_NUL_IN_HEADER] = "http.nul_in_header",
    [PS_HA_RESPONSE_INVALID] = "http.response_invalid",
    [PS_HA_UNMATCHED_RESPONSE] = "http.unmatched_response",
    [PS_HA_PIPELINE_CAP] = "http.pipeline_cap",
    [PS_HA_BODY_TRUNCATED] = "http.body_truncated",
    [PS_HA_GZIP_ERROR] = "http.gzip_error",
    [PS_HA_GZIP_BOMB] = "http.gzip_bomb",
    [PS_HA_GAP] = "http.gap",
    [PS_HA_JUNK_BEFORE_REQUEST] = "http.junk_before_request",
};

const char *ps_http_anomaly_name(int a)
{
    if (a < 0 || a >= PS_HA_MAX || !anomaly_names[a])
        return "http.unknown";
    return anomaly_names[a];
}

void ps_http_config_default(ps_http_config *cfg)
{
    cfg->max_header_bytes = 16384;
    cfg->max_headers = 128;
    cfg->max_pipeline = 16;
    cfg->max_inflate_bytes = 64ull << 20;
    cfg->pool_txs = 16384;
    cfg->pool_head_bufs = 4096;
    cfg->pool_inflaters = 64;
}

/* ---- pool ---- */

ps_http_pool *ps_http_pool_new(const ps_http_config *cfg)
{
    if (!cfg || cfg->max_header_bytes < 16 || cfg->max_header_bytes > INT_MAX / 2 ||
        cfg->max_headers == 0)
        return NULL;
    ps_http_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cfg = *cfg;
    p->txs = calloc(cfg->pool_txs ? cfg->pool_txs : 1, sizeof(http_txn));
    p->hbuf_free = calloc(cfg->pool_head_bufs ? cfg->pool_head_bufs : 1, sizeof(uint8_t *));
    p->zs = calloc(cfg->pool_inflaters ? cfg->pool_inflaters : 1, sizeof(ps_inflate *));
    p->hdrs = calloc(cfg->max_headers, sizeof(ps_http_hdr));
    size_t hb = (size_t)cfg->pool_head_bufs * cfg->max_header_bytes;
    p->hbuf_mem = malloc(hb ? hb : 1);
    if (!p->txs || !p->hbuf_free || !p->zs || !p->hdrs || !p->hbuf_mem) {
        ps_http_pool_free(p);
        return NULL;
    }
    for (uint32_t i = 0; i < cfg->pool_head_bufs; i++)
        p->hbuf_free[p->hbuf_nfree++] = p->hbuf_mem + (size_t)i * cfg->max_header_bytes;
    for (uint32_t i = 0; i < cfg->pool_inflaters; i++) {
        ps_inflate *z = ps_inflate_new();
        if (!z) {
            ps_http_pool_free(p);
            return NULL;
        }
        p->zs[p->z_nfree++] = z;
        p->z_total++;
    }
    return p;
}

void ps_http_pool_free(ps_http_pool *p)
{
    if (!p)
        return;
    /* Every connection is closed, so all inflaters are back in zs[]. */
    for (uint32_t i = 0; i < p->z_nfree; i++)
        ps_inflate_free(p->zs[i]);
    free(p->zs);
    free(p->txs);
    free(p->hbuf_free);
    free(p->hbuf_mem);
    free(p->hdrs);
    free(p);
}

const ps_http_stats *ps_http_pool_stats(const ps_http_pool *p)
{
    return &p->stats;
}

bool ps_http_pool_idle(const ps_http_pool *p)
{
    uint32_t n = 0;
    for (const http_txn *t = p->free_txs; t; t = t->next)
        n++;
    n += p->cfg.pool_txs - p->txs_untouched;
    return n == p->cfg.pool_txs && p->hbuf_nfree == p->cfg.pool_head_bufs &&
           p->z_nfree == p->z_total;
}

static http_txn *tx_get(ps_http_pool *p)
{
    http_txn *t = p->free_txs;
    if (t)
        p->free_txs = t->next;
    else if (p->txs_untouched < p->cfg.pool_txs)
        t = &p->txs[p->txs_untouched++];
    else
        return NULL;
    memset(t, 0, sizeof(*t));
    t->tx.json_items = -1;
    return t;
}

static void tx_put(ps_http_pool *p, http_txn *t)
{
    t->next = p->free_txs;
    p->free_txs = t;
}

static bool hbuf_get(ps_http_conn *c, http_dir *d)
{
    ps_http_pool *p = c->pool;
    if (p->hbuf_nfree == 0) {
        p->stats.pool_exhausted++;
        return false;
    }
    d->hbuf = p->hbuf_free[--p->hbuf_nfree];
    d->hlen = 0;
    d->hlf = false;
    return true;
}

static void hbuf_put(ps_http_conn *c, http_dir *d)
{
    if (d->hbuf)
        c->pool->hbuf_free[c->pool->hbuf_nfree++] = d->hbuf;
    d->hbuf = NULL;
    d->hlen = 0;
    d->hlf = false;
}

/* ---- anomalies ---- */

/* Counts anomaly `a` once per message and marks the direction's tx. */
static void flag(ps_http_conn *c, int dir, int a)
{
    http_dir *d = &c->d[dir];
    uint32_t bit = A(a);
    if (!(d->msg_anoms & bit)) {
        d->msg_anoms |= bit;
        c->pool->stats.anomalies[a]++;
    }
    if (d->tx)
        d->tx->tx.anomalies |= bit;
}

static void flag_mask(ps_http_conn *c, int dir, uint32_t mask)
{
    for (int a = 0; a < PS_HA_MAX; a++) {
        if (mask & A(a))
            flag(c, dir, a);
    }
}

/* ---- transactions ---- */

static void tx_done(ps_http_conn *c, http_txn *t, ps_time_us ts)
{
    http_txn **pp = &c->qhead, *prev = NULL;
    while (*pp && *pp != t) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = t->next;
        if (c->qtail == t)
            c->qtail = prev;
        c->qn--;
    }
    for (int i = 0; i < 2; i++) {
        if (c->d[i].tx == t)
            c->d[i].tx = NULL;
    }
    t->tx.done_ts = ts;
    c->pool->stats.txs_done++;
    if (c->cb.on_done)
        c->cb.on_done(c->cb.ctx, &t->tx);
    tx_put(c->pool, t);
}

static void enqueue(ps_http_conn *c, http_txn *t)
{
    t->next = NULL;
    if (c->qtail)
        c->qtail->next = t;
    else
        c->qhead = t;
    c->qtail = t;
    c->qn++;
}

/* Copies a wire slice into a fixed string; folded line breaks become spaces.
 * Returns false when it had to cut. */
static bool copy_str(char *dst, size_t cap, const uint8_t *src, size_t n)
{
    size_t m = n < cap - 1 ? n : cap - 1;
    for (size_t i = 0; i < m; i++) {
        uint8_t b = src[i];
        dst[i] = (char)((b == '\r' || b == '\n') ? ' ' : b);
    }
    dst[m] = '\0';
    return m == n;
}

static const ps_http_hdr *find_hdr(const ps_http_head *h, const char *name)
{
    for (uint32_t i = 0; i < h->num_hdrs; i++) {
        if (ps_http_hdr_is(&h->hdrs[i], name))
            return &h->hdrs[i];
    }
    return NULL;
}

static void copy_hdr(char *dst, size_t cap, const ps_http_head *h, const char *name)
{
    const ps_http_hdr *hd = find_hdr(h, name);
    if (hd)
        copy_str(dst, cap, hd->value, hd->value_len);
}

/* Content-Encoding we can decode (a single gzip/x-gzip/deflate coding). */
static int body_coding(const ps_http_head *h)
{
    const ps_http_hdr *hd = find_hdr(h, "content-encoding");
    if (!hd)
        return 0;
    const uint8_t *v = hd->value;
    size_t n = hd->value_len;
    if (ps_http_slice_ieq(v, n, "gzip") || ps_http_slice_ieq(v, n, "x-gzip"))
        return PS_INFLATE_GZIP;
    if (ps_http_slice_ieq(v, n, "deflate"))
        return PS_INFLATE_DEFLATE;
    return 0;
}

/* ---- bodies ---- */

typedef struct sink_ctx {
    ps_http_conn *c;
    int dir;
} sink_ctx;

static void deliver(ps_http_conn *c, int dir, const uint8_t *p, size_t n)
{
    http_dir *d = &c->d[dir];
    if (d->want_body && d->tx && c->cb.on_body)
        c->cb.on_body(c->cb.ctx, &d->tx->tx, dir, p, n);
    if (d->json && !d->json_broken)
        ps_json_scan_feed(&c->js, p, n);
}

static void inflate_sink(void *ctx, const uint8_t *p, size_t n)
{
    sink_ctx *s = ctx;
    deliver(s->c, s->dir, p, n);
}

static void kill_decoding(http_dir *d)
{
    d->json_broken = true;
    d->z_dead = true;
}

static void body_data(ps_http_conn *c, int dir, const uint8_t *p, size_t n)
{
    http_dir *d = &c->d[dir];
    if (d->tx) {
        uint64_t *len = dir ? &d->tx->tx.resp_body_len : &d->tx->tx.req_body_len;
        *len = ps_sat_add64(*len, n);
    }
    if (!d->want_body && !d->json)
        return;
    if (!d->z) {
        deliver(c, dir, p, n);
        return;
    }
    if (d->z_dead)
        return;
    sink_ctx s = {c, dir};
    int rc = ps_inflate_feed(d->z, p, n, inflate_sink, &s);
    if (rc == PS_ERR_CAP) {
        flag(c, dir, PS_HA_GZIP_BOMB);
        kill_decoding(d);
    } else if (rc != PS_OK) {
        flag(c, dir, PS_HA_GZIP_ERROR);
        kill_decoding(d);
    }
}

/* Sets up body delivery for the message just parsed. */
static void begin_body(ps_http_conn *c, int dir, int coding)
{
    http_dir *d = &c->d[dir];
    ps_http_tx *tx = d->tx ? &d->tx->tx : NULL;
    ps_http_pool *p = c->pool;
    d->want_body = tx && c->cb.on_body &&
                   (tx->app_flags & (dir ? PS_HTTP_WANT_RESP_BODY : PS_HTTP_WANT_REQ_BODY));
    d->json = dir == 1 && tx && tx->count_mode != PS_COUNT_NONE;
    d->json_broken = false;
    d->z_dead = false;
    if (d->json)
        ps_json_scan_init(&c->js, tx->count_mode == PS_COUNT_ARRAY ? PS_JSON_ARRAY : PS_JSON_KEY,
                          tx->count_key);
    if (coding && (d->want_body || d->json)) {
        if (p->z_nfree == 0) {
            p->stats.pool_exhausted++;
            d->want_body = d->json = false; /* cannot decode: count stays unknown */
            return;
        }
        d->z = p->zs[--p->z_nfree];
        if (ps_inflate_begin(d->z, coding, p->cfg.max_inflate_bytes) != PS_OK)
            d->z_dead = true;
    }
}

/* Ends body delivery; `complete` is false when the body was cut short. */
static void end_body(ps_http_conn *c, int dir, bool complete)
{
    http_dir *d = &c->d[dir];
    if (d->z) {
        if (!d->z_dead && complete && ps_inflate_finish(d->z) != PS_OK) {
            flag(c, dir, PS_HA_GZIP_ERROR);
            d->json_broken = true;
        }
        c->pool->zs[c->pool->z_nfree++] = d->z;
        d->z = NULL;
    }
    if (d->json) {
        int rc = ps_json_scan_finish(&c->js);
        if (d->tx) {
            d->tx->tx.json_items = ps_json_scan_items(&c->js);
            d->tx->tx.json_invalid = !complete || d->json_broken || rc != PS_OK;
        }
    }
    d->json = d->want_body = d->json_broken = d->z_dead = false;
}

/* A message of direction `dir` ended normally. */
static void message_done(ps_http_conn *c, int dir, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    end_body(c, dir, true);
    if (dir == 1 && d->tx)
        tx_done(c, d->tx, ts);
    d->tx = NULL;
    d->st = ST_HEAD;
}

/* The direction cannot be parsed any more; a response in progress ends. */
static void fail_dir(ps_http_conn *c, int dir, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    end_body(c, dir, false);
    if (dir == 1 && d->tx)
        tx_done(c, d->tx, ts);
    d->tx = NULL;
    hbuf_put(c, d);
    d->st = ST_FAILED;
}

static void enter_resync(http_dir *d, bool line_start)
{
    d->st = ST_RESYNC;
    d->cand_len = 0;
    d->line_start = line_start;
}

/* ---- responses: matching ---- */

static bool ring_bit(uint64_t ring, uint32_t idx)
{
    return (ring >> (idx & 63u)) & 1u;
}

static void ring_set(uint64_t *ring, uint32_t idx, bool on)
{
    uint64_t bit = 1ull << (idx & 63u);
    *ring = on ? (*ring | bit) : (*ring & ~bit);
}

static bool expect_09(const ps_http_conn *c)
{
    return c->resp_seq < c->req_seq && ring_bit(c->ring_09, c->resp_seq);
}

/* Queued tx for response number k; older unanswered ones are finished. */
static http_txn *match_response(ps_http_conn *c, uint32_t k, ps_time_us ts)
{
    while (c->qhead && c->qhead->tx.index < k)
        tx_done(c, c->qhead, ts);
    if (c->qhead && c->qhead->tx.index == k)
        return c->qhead;
    return NULL;
}

/* HTTP/0.9 answer: no head, the body runs until close. */
static void start_09_response(ps_http_conn *c, ps_time_us ts)
{
    http_dir *d = &c->d[1];
    uint32_t k = c->resp_seq++;
    http_txn *t = match_response(c, k, ts);
    c->pool->stats.responses++;
    d->msg_anoms = 0;
    d->tx = t;
    d->initial = d->unconfirmed = false;
    if (t) {
        t->tx.response_seen = true;
        t->tx.resp_version = 9;
        t->tx.resp_ts = ts;
    }
    d->st = ST_BODY_CLOSE;
    begin_body(c, 1, 0);
}

/* ---- heads ---- */

static void on_request_head(ps_http_conn *c, const ps_http_head *h, ps_time_us ts)
{
    http_dir *d = &c->d[0];
    ps_http_pool *p = c->pool;
    p->stats.requests++;
    uint32_t idx = c->req_seq++;
    ring_set(&c->ring_head, idx,
             ps_http_slice_ieq(h->method, h->method_len, "HEAD") &&
                 memcmp(h->method, "HEAD", 4) == 0);
    ring_set(&c->ring_connect, idx,
             ps_http_slice_ieq(h->method, h->method_len, "CONNECT") &&
                 memcmp(h->method, "CONNECT", 7) == 0);
    /* Servers answer a request without protocol HTTP/0.9-style (no head). */
    ring_set(&c->ring_09, idx, (h->anomalies & A(PS_HA_MISSING_PROTOCOL)) != 0);

    http_txn *t = NULL;
    bool capped = c->qn >= p->cfg.max_pipeline;
    if (!capped && !(t = tx_get(p)))
        p->stats.pool_exhausted++;
    d->msg_anoms = 0;
    d->tx = t;
    d->initial = d->unconfirmed = false;
    if (capped)
        flag(c, 0, PS_HA_PIPELINE_CAP);
    if (d->pending_junk) {
        flag(c, 0, PS_HA_JUNK_BEFORE_REQUEST);
        d->pending_junk = false;
    }
    flag_mask(c, 0, h->anomalies);
    if (h->target_len >= PS_HTTP_URL_MAX)
        flag(c, 0, PS_HA_URL_TRUNCATED);
    int coding = body_coding(h);
    bool te = h->te_present && h->version >= 11; /* Go ignores TE before HTTP/1.1 */
    if (t) {
        ps_http_tx *tx = &t->tx;
        tx->index = idx;
        tx->req_ts = ts;
        copy_str(tx->method, sizeof(tx->method), h->method, h->method_len);
        tx->url_truncated = !copy_str(tx->url, sizeof(tx->url), h->target, h->target_len);
        if (h->host)
            copy_str(tx->host, sizeof(tx->host), h->host, h->host_len);
        copy_hdr(tx->user_agent, sizeof(tx->user_agent), h, "user-agent");
        copy_hdr(tx->req_content_type, sizeof(tx->req_content_type), h, "content-type");
        copy_hdr(tx->upgrade, sizeof(tx->upgrade), h, "upgrade");
        tx->req_version = h->version;
        tx->req_chunked = te && h->te_chunked;
        enqueue(c, t);
        tx->req_head = h; /* for the callback only: h points into packet memory */
        if (c->cb.on_request)
            c->cb.on_request(c->cb.ctx, tx);
        tx->req_head = NULL;
        tx->count_key[PS_HTTP_COUNT_KEY_MAX - 1] = '\0';
        tx->json_items = -1;
        tx->json_invalid = false;
    }
    d->remaining = 0;
    if (h->version == 9) {
        d->tx = NULL;
        d->st = ST_HEAD;
    } else if (te && h->te_chunked) {
        d->st = ST_BODY_CHUNKED;
        d->ck = CK_SIZE;
        d->ck_digits = 0;
        d->ck_line = 0;
        begin_body(c, 0, coding);
    } else if (h->cl_conflict && !te) {
        /* Go answers 400 and closes the connection: nothing after this head
         * is a request the server would read (a smuggling attempt). */
        d->tx = NULL;
        fail_dir(c, 0, ts);
    } else if (te || h->cl_invalid) {
        /* Body length unknowable (RFC 7230 3.3.3; Go answers 400/501 and
         * closes): skip to something that looks like the next request. */
        d->tx = NULL;
        enter_resync(d, true);
    } else if (h->has_cl && h->content_length > 0) {
        d->st = ST_BODY_CL;
        d->remaining = h->content_length;
        begin_body(c, 0, coding);
    } else {
        d->tx = NULL;
        d->st = ST_HEAD;
    }
}

static void on_response_head(ps_http_conn *c, const ps_http_head *h, ps_time_us ts)
{
    http_dir *d = &c->d[1];
    ps_http_pool *p = c->pool;
    uint16_t st = h->status;
    d->initial = d->unconfirmed = false;
    d->msg_anoms = 0;
    d->tx = NULL;
    if (st >= 100 && st < 200 && st != 101) {
        /* Interim response (100 Continue, 103): the exchange goes on. */
        flag_mask(c, 1, h->anomalies);
        d->st = ST_HEAD;
        return;
    }
    p->stats.responses++;
    bool is_head = false, is_connect = false;
    http_txn *t = NULL;
    if (c->resp_seq < c->req_seq) {
        uint32_t k = c->resp_seq++;
        is_head = ring_bit(c->ring_head, k);
        is_connect = ring_bit(c->ring_connect, k);
        t = match_response(c, k, ts);
        d->tx = t;
    } else {
        flag(c, 1, PS_HA_UNMATCHED_RESPONSE);
    }
    flag_mask(c, 1, h->anomalies);
    int coding = body_coding(h);
    bool te = h->te_present && h->version >= 11;
    if (t) {
        ps_http_tx *tx = &t->tx;
        tx->status = st;
        tx->resp_version = h->version;
        tx->resp_ts = ts;
        tx->response_seen = true;
        copy_str(tx->reason, sizeof(tx->reason), h->reason, h->reason_len);
        copy_hdr(tx->server, sizeof(tx->server), h, "server");
        copy_hdr(tx->resp_content_type, sizeof(tx->resp_content_type), h, "content-type");
        const ps_http_hdr *hd = find_hdr(h, "api-version");
        if (hd) {
            tx->has_api_version = true;
            copy_str(tx->api_version, sizeof(tx->api_version), hd->value, hd->value_len);
        }
        if ((hd = find_hdr(h, "ostype")) != NULL) {
            tx->has_ostype = true;
            copy_str(tx->ostype, sizeof(tx->ostype), hd->value, hd->value_len);
        }
        tx->has_docker_experimental = find_hdr(h, "docker-experimental") != NULL;
        for (uint32_t i = 0; i < h->num_hdrs; i++) {
            const ps_http_hdr *x = &h->hdrs[i];
            if (ps_http_hdr_is(x, "audit-id"))
                tx->resp_hdrs |= PS_HTTP_RH_AUDIT_ID;
            else if (x->name_len > 15 && ps_http_slice_ieq(x->name, 15, "x-kubernetes-pf"))
                tx->resp_hdrs |= PS_HTTP_RH_K8S_PF;
            else if (ps_http_hdr_is(x, "x-etcd-cluster-id") || ps_http_hdr_is(x, "x-etcd-index"))
                tx->resp_hdrs |= PS_HTTP_RH_ETCD;
        }
        tx->resp_chunked = te && h->te_chunked;
        tx->resp_gzip = coding != 0;
    }
    if (st == 101 || (is_connect && st >= 200 && st < 300)) {
        /* Protocol switch or tunnel: HTTP ends on this connection. */
        p->stats.upgrades++;
        c->upgraded = true;
        if (t)
            tx_done(c, t, ts);
        d->tx = NULL;
        return;
    }
    d->remaining = 0;
    if (is_head || st == 204 || st == 304) {
        message_done(c, 1, ts);
        return;
    }
    if (te && h->te_chunked) {
        d->st = ST_BODY_CHUNKED;
        d->ck = CK_SIZE;
        d->ck_digits = 0;
        d->ck_line = 0;
    } else if (!te && !h->cl_invalid && h->has_cl) {
        d->st = ST_BODY_CL;
        d->remaining = h->content_length;
    } else {
        d->st = ST_BODY_CLOSE;
    }
    begin_body(c, 1, coding);
    if (d->st == ST_BODY_CL && d->remaining == 0)
        message_done(c, 1, ts);
}

/* A head could not be parsed. Right after a resync (or at the start of a
 * stream) the match was wrong, so scanning goes on, at a line start when
 * `at_line` says the consumed bytes end one; otherwise the direction has
 * failed for good. Returns the bytes to consume. */
static size_t head_failed(ps_http_conn *c, int dir, const ps_http_head *h, size_t used,
                          bool at_line, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    d->msg_anoms = 0;
    d->tx = NULL;
    flag_mask(c, dir, h->anomalies);
    hbuf_put(c, d);
    if (d->unconfirmed) {
        c->pool->stats.ignored_bytes += used;
        d->junk = true;
        enter_resync(d, at_line);
        return used;
    }
    fail_dir(c, dir, ts);
    return 0;
}

static int parse_head(int dir, const uint8_t *p, size_t n, size_t cap, ps_http_head *h)
{
    return dir == 0 ? ps_http_parse_request(p, n, cap, h) : ps_http_parse_response(p, n, cap, h);
}

static void on_head(ps_http_conn *c, int dir, const ps_http_head *h, ps_time_us ts)
{
    if (dir == 0)
        on_request_head(c, h, ts);
    else
        on_response_head(c, h, ts);
}

/* A message's head could not be kept: the message is lost. */
static void lose_message(ps_http_conn *c, int dir, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    if (dir == 0) {
        uint32_t idx = c->req_seq++; /* keep responses in step */
        ring_set(&c->ring_head, idx, false);
        ring_set(&c->ring_connect, idx, false);
        ring_set(&c->ring_09, idx, false);
    } else if (c->resp_seq < c->req_seq) {
        http_txn *t = match_response(c, c->resp_seq++, ts);
        if (t) {
            t->tx.anomalies |= A(PS_HA_GAP);
            tx_done(c, t, ts);
        }
    }
    hbuf_put(c, d);
    enter_resync(d, false);
}

static size_t do_head(ps_http_conn *c, int dir, const uint8_t *p, size_t n, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    ps_http_pool *pl = c->pool;
    size_t cap = pl->cfg.max_header_bytes;
    ps_http_head h;
    h.hdrs = pl->hdrs;
    h.max_hdrs = pl->cfg.max_headers;
    int rc;

    if (!d->hbuf) {
        if (dir == 1 && expect_09(c) && ps_http_probe_response(p, n) == 0) {
            start_09_response(c, ts);
            return 0;
        }
        size_t skip = 0;
        while (skip < n && (p[skip] == '\r' || p[skip] == '\n'))
            skip++;
        if (skip)
            return skip;
        rc = parse_head(dir, p, n, cap, &h);
        if (rc > 0) {
            on_head(c, dir, &h, ts);
            return (size_t)rc;
        }
        if (rc == PS_ERR_BAD_INPUT)
            return head_failed(c, dir, &h, d->unconfirmed ? 1 : 0, false, ts);
        if (n > cap) { /* cannot happen: the parser reports such a head too long */
            h.anomalies = A(PS_HA_HEADER_TOO_LONG);
            return head_failed(c, dir, &h, d->unconfirmed ? 1 : 0, false, ts);
        }
        if (!hbuf_get(c, d)) {
            lose_message(c, dir, ts);
            return 0;
        }
        memcpy(d->hbuf, p, n);
        d->hlen = (uint32_t)n;
        d->hlf = memchr(p, '\n', n) != NULL;
        return n;
    }

    size_t old = d->hlen, room = cap - old, take = n < room ? n : room;
    memcpy(d->hbuf + old, p, take);
    d->hlen = (uint32_t)(old + take);
    /* Re-parse only when the new bytes may end the head: the first line end
     * (HTTP/0.9, early errors) or an empty line. */
    bool trig = false;
    for (size_t i = old; i < d->hlen && !trig; i++) {
        const uint8_t *lf = memchr(d->hbuf + i, '\n', d->hlen - i);
        if (!lf)
            break;
        i = (size_t)(lf - d->hbuf);
        if (!d->hlf) {
            d->hlf = true;
            trig = true;
        } else if ((i >= 1 && d->hbuf[i - 1] == '\n') ||
                   (i >= 2 && d->hbuf[i - 1] == '\r' && d->hbuf[i - 2] == '\n')) {
            trig = true;
        }
    }
    if (trig) {
        rc = parse_head(dir, d->hbuf, d->hlen, cap, &h);
        if (rc > 0) {
            size_t used = (size_t)rc - old;
            on_head(c, dir, &h, ts);
            hbuf_put(c, d);
            return used;
        }
        if (rc == PS_ERR_BAD_INPUT) {
            /* A bad first line ended in the new bytes: rescan after it. */
            const uint8_t *lf = memchr(d->hbuf, '\n', d->hlen);
            size_t at = lf ? (size_t)(lf - d->hbuf) : 0;
            if (lf && at >= old)
                return head_failed(c, dir, &h, at + 1 - old, true, ts);
            return head_failed(c, dir, &h, take, false, ts);
        }
    }
    if (take < n) {
        /* The buffer is full and the head still open. */
        memset(&h, 0, sizeof(h));
        h.anomalies = A(PS_HA_HEADER_TOO_LONG);
        return head_failed(c, dir, &h, take, false, ts);
    }
    return take;
}

/* ---- resync ---- */

static size_t resync_found(ps_http_conn *c, int dir, size_t i, size_t carried, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    size_t in_feed = d->cand_len - carried;
    size_t start = i + 1 - in_feed;
    if (d->junk && dir == 0)
        d->pending_junk = true;
    d->junk = false;
    d->line_start = false;
    d->unconfirmed = true;
    d->initial = false;
    d->st = ST_HEAD;
    if (carried > 0) {
        if (!hbuf_get(c, d)) {
            lose_message(c, dir, ts);
            return i + 1;
        }
        memcpy(d->hbuf, d->cand, carried);
        d->hlen = (uint32_t)carried;
    }
    d->cand_len = 0;
    return start;
}

/* Skips bytes until a line starts with a request (or response) start. */
static size_t do_resync(ps_http_conn *c, int dir, const uint8_t *p, size_t n, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    ps_http_stats *s = &c->pool->stats;
    size_t carried = d->cand_len;
    if (dir == 1 && d->initial && d->cand_len == 0 && expect_09(c) &&
        ps_http_probe_response(p, n) == 0) {
        start_09_response(c, ts);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = p[i];
        if (d->cand_len > 0 || d->line_start) {
            d->line_start = false;
            d->cand[d->cand_len++] = b;
            int r = dir == 0 ? ps_http_probe_request(d->cand, d->cand_len)
                             : ps_http_probe_response(d->cand, d->cand_len);
            if (r == 1)
                return resync_found(c, dir, i, carried, ts);
            if (r == PS_ERR_NEED_MORE && d->cand_len < sizeof(d->cand))
                continue;
            if (d->cand_len > 1 || (b != '\r' && b != '\n'))
                d->junk = true;
            s->ignored_bytes += d->cand_len;
            d->cand_len = 0;
            carried = 0;
            d->line_start = b == '\n';
            continue;
        }
        if (b == '\n')
            d->line_start = true;
        else if (b != '\r')
            d->junk = true;
        s->ignored_bytes++;
    }
    return n;
}

/* ---- chunked bodies ---- */

static int hexval(uint8_t b)
{
    if (b >= '0' && b <= '9')
        return b - '0';
    if (b >= 'a' && b <= 'f')
        return b - 'a' + 10;
    if (b >= 'A' && b <= 'F')
        return b - 'A' + 10;
    return -1;
}

/* Incremental chunked decoder (after curl's http_chunks.c); bytes of every
 * line may arrive split anywhere. */
static size_t do_chunked(ps_http_conn *c, int dir, const uint8_t *p, size_t n, ps_time_us ts)
{
    http_dir *d = &c->d[dir];
    size_t i = 0;
    while (i < n) {
        uint8_t b = p[i];
        switch (d->ck) {
        case CK_SIZE:
        case CK_SIZE_MORE: {
            int hv = hexval(b);
            if (hv >= 0) {
                if (d->ck_digits >= 16)
                    goto invalid; /* Go: "http chunk length too large" */
                if (d->ck == CK_SIZE)
                    d->remaining = 0;
                d->remaining = (d->remaining << 4) | (uint64_t)hv;
                d->ck_digits++;
                d->ck = CK_SIZE_MORE;
                break;
            }
            if (d->ck == CK_SIZE)
                goto invalid;
            if (b == ';') {
                flag(c, dir, PS_HA_CHUNK_EXTENSION);
                d->ck = CK_EXT;
            } else if (b == ' ' || b == '\t') {
                d->ck = CK_SIZE_WS;
            } else if (b == '\r') {
                d->ck = CK_SIZE_LF;
            } else if (b == '\n') {
                flag(c, dir, PS_HA_BARE_LF);
                goto size_done;
            } else {
                goto invalid;
            }
            break;
        }
        case CK_SIZE_WS:
            if (b == ';') {
                flag(c, dir, PS_HA_CHUNK_EXTENSION);
                d->ck = CK_EXT;
            } else if (b == '\r') {
                d->ck = CK_SIZE_LF;
            } else if (b == '\n') {
                flag(c, dir, PS_HA_BARE_LF);
                goto size_done;
            } else if (b != ' ' && b != '\t') {
                goto invalid;
            }
            break;
        case CK_EXT: {
            size_t j = i;
            while (j < n && p[j] != '\r' && p[j] != '\n')
                j++;
            if (j - i > CHUNK_LINE_MAX - d->ck_line)
                goto invalid;
            d->ck_line += (uint32_t)(j - i);
            i = j;
            if (i == n)
                return n;
            b = p[i];
            if (b == '\r') {
                d->ck = CK_SIZE_LF;
                break;
            }
            flag(c, dir, PS_HA_BARE_LF);
            goto size_done;
        }
        case CK_SIZE_LF:
            if (b != '\n')
                goto invalid;
            goto size_done;
        case CK_DATA: {
            size_t take = n - i;
            if ((uint64_t)take > d->remaining)
                take = (size_t)d->remaining;
            body_data(c, dir, p + i, take);
            d->remaining -= take;
            i += take;
            if (d->remaining == 0)
                d->ck = CK_DATA_CR;
            continue;
        }
        case CK_DATA_CR:
            if (b == '\r') {
                d->ck = CK_DATA_LF;
            } else if (b == '\n') {
                flag(c, dir, PS_HA_BARE_LF);
                d->ck = CK_SIZE;
            } else {
                goto invalid;
            }
            break;
        case CK_DATA_LF:
            if (b != '\n')
                goto invalid;
            d->ck = CK_SIZE;
            break;
        case CK_TRAILER:
            if (b == '\r') {
                d->ck = CK_TRAILER_CR;
            } else if (b == '\n') {
                flag(c, dir, PS_HA_BARE_LF);
                goto body_done;
            } else {
                d->ck = CK_TRAILER_LINE;
                continue; /* counted below */
            }
            break;
        case CK_TRAILER_CR:
            if (b != '\n')
                goto invalid;
            goto body_done;
        case CK_TRAILER_LINE: {
            /* Trailer fields are skipped; their total size is capped. */
            const uint8_t *lf = memchr(p + i, '\n', n - i);
            size_t j = lf ? (size_t)(lf - p) : n;
            if (j - i >
                c->pool->cfg.max_header_bytes - PS_MIN(d->ck_line, c->pool->cfg.max_header_bytes))
                goto invalid;
            d->ck_line += (uint32_t)(j - i);
            i = j;
            if (!lf)
                return n;
            d->ck = CK_TRAILER;
            break;
        }
        default:
            goto invalid;
        }
        i++;
        continue;
    size_done:
        i++;
        d->ck_digits = 0;
        d->ck_line = 0;
        d->ck = d->remaining == 0 ? CK_TRAILER : CK_DATA;
        continue;
    body_done:
        i++;
        message_done(c, dir, ts);
        return i;
    }
    return i;
invalid:
    flag(c, dir, PS_HA_CHUNK_INVALID);
    fail_dir(c, dir, ts);
    return i;
}

/* ---- connection ---- */

size_t ps_http_conn_size(void)
{
    return sizeof(ps_http_conn);
}

void ps_http_conn_init(ps_http_conn *c, ps_http_pool *pool, const ps_http_callbacks *cb)
{
    memset(c, 0, sizeof(*c));
    c->pool = pool;
    if (cb)
        c->cb = *cb;
    /* A stream may be picked up anywhere: the first head is tried, and if
     * it is not one, resync takes over. */
    for (int i = 0; i < 2; i++) {
        c->d[i].st = ST_HEAD;
        c->d[i].initial = c->d[i].unconfirmed = true;
    }
}

int ps_http_conn_feed(ps_http_conn *c, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    if (dir != 0 && dir != 1)
        return PS_ERR_BAD_INPUT;
    if (c->upgraded || c->closed)
        return PS_ERR_STATE;
    http_dir *d = &c->d[dir];
    unsigned stall = 0;
    while (len > 0 && !c->upgraded) {
        uint8_t st = d->st;
        size_t used;
        switch (st) {
        case ST_RESYNC:
            used = do_resync(c, dir, data, len, ts);
            break;
        case ST_HEAD:
            used = do_head(c, dir, data, len, ts);
            break;
        case ST_BODY_CL: {
            used = len;
            if ((uint64_t)used > d->remaining)
                used = (size_t)d->remaining;
            body_data(c, dir, data, used);
            d->remaining -= used;
            if (d->remaining == 0)
                message_done(c, dir, ts);
            break;
        }
        case ST_BODY_CHUNKED:
            used = do_chunked(c, dir, data, len, ts);
            break;
        case ST_BODY_CLOSE:
            body_data(c, dir, data, len);
            used = len;
            break;
        default:
            c->pool->stats.ignored_bytes += len;
            used = len;
            break;
        }
        if (used > len)
            used = len;
        /* Every step consumes bytes or changes state; guard anyway. */
        if (used == 0 && d->st == st && ++stall > 4) {
            fail_dir(c, dir, ts);
            continue;
        }
        data += used;
        len -= used;
    }
    if (c->upgraded)
        return PS_ERR_STATE;
    return d->st == ST_FAILED ? PS_ERR_BAD_INPUT : PS_OK;
}

void ps_http_conn_gap(ps_http_conn *c, int dir, uint32_t len, ps_time_us ts)
{
    if ((dir != 0 && dir != 1) || c->upgraded || c->closed)
        return;
    http_dir *d = &c->d[dir];
    if (d->st == ST_FAILED)
        return;
    c->pool->stats.anomalies[PS_HA_GAP]++;
    if (d->tx)
        d->tx->tx.anomalies |= A(PS_HA_GAP);
    switch (d->st) {
    case ST_BODY_CL: {
        kill_decoding(d);
        if (len < d->remaining) {
            d->remaining -= len;
            return;
        }
        /* The body ended inside the gap; what followed it is lost too. */
        bool exact = len == d->remaining;
        d->remaining = 0;
        message_done(c, dir, ts);
        if (!exact)
            enter_resync(d, true);
        return;
    }
    case ST_BODY_CLOSE:
        kill_decoding(d);
        return;
    case ST_HEAD:
        if (d->hbuf) {
            lose_message(c, dir, ts);
            enter_resync(d, true);
            return;
        }
        enter_resync(d, true);
        return;
    case ST_BODY_CHUNKED:
        end_body(c, dir, false);
        if (dir == 1 && d->tx)
            tx_done(c, d->tx, ts);
        d->tx = NULL;
        enter_resync(d, true);
        return;
    default:
        enter_resync(d, true);
        return;
    }
}

void ps_http_conn_expire(ps_http_conn *c, ps_time_us now, ps_time_us timeout)
{
    if (now < timeout)
        return;
    for (http_txn *t = c->qhead; t; t = t->next) {
        ps_http_tx *tx = &t->tx;
        if (!tx->response_seen && !tx->timeout_reported && tx->req_ts < now - timeout) {
            tx->timeout_reported = true;
            if (c->cb.on_timeout)
                c->cb.on_timeout(c->cb.ctx, tx);
        }
    }
}

void ps_http_conn_close(ps_http_conn *c, ps_time_us ts)
{
    if (c->closed)
        return;
    for (int dir = 0; dir < 2; dir++) {
        http_dir *d = &c->d[dir];
        if (d->st == ST_BODY_CL || d->st == ST_BODY_CHUNKED) {
            flag(c, dir, PS_HA_BODY_TRUNCATED);
            end_body(c, dir, false);
        } else {
            end_body(c, dir, d->st == ST_BODY_CLOSE);
        }
        hbuf_put(c, d);
        d->tx = NULL;
        d->st = ST_FAILED;
    }
    while (c->qhead)
        tx_done(c, c->qhead, ts);
    c->closed = true;
}

/* ---- stream dissector descriptor ---- */

/* Worker-owned state of one HTTP stream; the ps_app_stream comes first. */
typedef struct http_stream {
    ps_app_stream app;
    ps_http_conn conn;
} http_stream;

static const uint16_t http_ports[] = {80, 2375, 4243, 8000, 8001, 8080, 10255};

static int http_probe(const uint8_t *buf, size_t len, int dir)
{
    int r = dir == 0 ? ps_http_probe_request(buf, len) : ps_http_probe_response(buf, len);
    return r == 1 ? PS_PROBE_YES : r == 0 ? PS_PROBE_NO : PS_ERR_NEED_MORE;
}

static size_t http_state_size(void)
{
    return sizeof(http_stream);
}

static void http_init(void *state, struct ps_app_ctx *app, ps_flow *f)
{
    http_stream *s = state;
    ps_app_stream_init(&s->app, app, f);
    s->app.dstate = s;
    s->app.desc = &ps_dissector_http;
    ps_http_callbacks cb = {ps_app_http_on_request, ps_app_http_on_body, ps_app_http_on_done,
                            ps_app_http_on_timeout, &s->app};
    ps_http_conn_init(&s->conn, ps_app_http_pool(app), &cb);
}

/* Stops the worker feeding only once neither direction can yield more. */
static int http_parse(void *state, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    http_stream *s = state;
    int rc = ps_http_conn_feed(&s->conn, dir, data, len, ts);
    if (rc == PS_ERR_STATE)
        return rc;
    if (s->conn.d[0].st == ST_FAILED && s->conn.d[1].st == ST_FAILED)
        return PS_ERR_BAD_INPUT;
    return PS_OK;
}

static void http_gap(void *state, int dir, uint32_t len, ps_time_us ts)
{
    http_stream *s = state;
    ps_http_conn_gap(&s->conn, dir, len, ts);
}

static void http_expire(void *state, ps_time_us now, ps_time_us timeout)
{
    http_stream *s = state;
    ps_http_conn_expire(&s->conn, now, timeout);
}

static void http_close(void *state, ps_time_us ts)
{
    http_stream *s = state;
    ps_http_conn_close(&s->conn, ts);
}

const ps_stream_dissector ps_dissector_http = {
    .name = "http",
    .ports = http_ports,
    .port_count = PS_ARRAY_LEN(http_ports),
    .probe = http_probe,
    .state_size = http_state_size,
    .init = http_init,
    .parse = http_parse,
    .gap = http_gap,
    .expire = http_expire,
    .close = http_close,
};
