/* tls.c - TLS stream dissector: reassembles the hellos across records and segments, JA3/JA4. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "attack.h"
#include "config.h"
#include "crypto.h"
#include "dissector.h"
#include "json_writer.h"
#include "slab.h"
#include "tls_hello.h"

#define TLS_POOL_BUFS   1024u            /* split hellos buffered at once per worker */
#define TLS_RECORD_MAX  (16384u + 2048u) /* RFC 8446 5.2: ciphertext limit */
#define HS_CLIENT_HELLO 1
#define HS_SERVER_HELLO 2

/* ---- bounded reader ------------------------------------------------------ */

typedef struct rd {
    const uint8_t *p;
    size_t len, off;
} rd;

static bool rd_u8(rd *r, uint8_t *v)
{
    if (r->len - r->off < 1)
        return false;
    *v = r->p[r->off++];
    return true;
}

static bool rd_u16(rd *r, uint16_t *v)
{
    if (r->len - r->off < 2)
        return false;
    *v = (uint16_t)(r->p[r->off] << 8 | r->p[r->off + 1]);
    r->off += 2;
    return true;
}

/* A sub-reader over the next n bytes (n clamped by the caller's check). */
static bool rd_sub(rd *r, size_t n, rd *sub)
{
    if (r->len - r->off < n)
        return false;
    sub->p = r->p + r->off;
    sub->len = n;
    sub->off = 0;
    r->off += n;
    return true;
}

static bool rd_vec8(rd *r, rd *sub)
{
    uint8_t n;
    return rd_u8(r, &n) && rd_sub(r, n, sub);
}

static bool rd_vec16(rd *r, rd *sub)
{
    uint16_t n;
    return rd_u16(r, &n) && rd_sub(r, n, sub);
}

/* Handshake header: type and 24-bit length; NEED_MORE until whole. */
static int hs_frame(const uint8_t *buf, size_t len, uint8_t type, rd *body)
{
    if (len >= 1 && buf[0] != type)
        return PS_ERR_BAD_INPUT;
    if (len < 4)
        return PS_ERR_NEED_MORE;
    size_t n = (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3];
    if (len - 4 < n)
        return PS_ERR_NEED_MORE;
    body->p = buf + 4;
    body->len = n;
    body->off = 0;
    return (int)(n + 4);
}

/* ---- ClientHello ---------------------------------------------------------- */

static void push16(uint16_t *arr, uint16_t *n, size_t cap, uint16_t v, ps_tls_hello *h)
{
    if (ps_tls_is_grease(v)) {
        h->grease++;
        return;
    }
    if (*n >= cap) {
        h->truncated = true;
        return;
    }
    arr[(*n)++] = v;
}

static void list16(rd *r, uint16_t *arr, uint16_t *n, size_t cap, ps_tls_hello *h)
{
    uint16_t v;
    while (rd_u16(r, &v))
        push16(arr, n, cap, v, h);
}

static void ext_sni(rd *e, ps_tls_hello *h)
{
    rd list, name;
    uint8_t type;
    if (!rd_vec16(e, &list))
        return;
    while (rd_u8(&list, &type) && rd_vec16(&list, &name)) {
        if (type != 0 || h->has_sni)
            continue;
        size_t n = PS_MIN(name.len, sizeof(h->sni) - 1);
        const uint8_t *nul = memchr(name.p, 0, n);
        if (nul)
            n = (size_t)(nul - name.p);
        memcpy(h->sni, name.p, n);
        h->sni[n] = '\0';
        h->has_sni = true;
    }
}

static void ext_alpn(rd *e, ps_tls_hello *h)
{
    rd list, proto;
    size_t used = strlen(h->alpn);
    if (!rd_vec16(e, &list))
        return;
    while (rd_vec8(&list, &proto)) {
        if (proto.len == 0)
            continue;
        if (h->alpn_first_len == 0) {
            h->alpn_first0 = proto.p[0];
            h->alpn_firstN = proto.p[proto.len - 1];
            h->alpn_first_len = (uint8_t)proto.len;
        }
        size_t sep = used ? 1 : 0;
        if (used + sep + proto.len >= sizeof(h->alpn))
            continue; /* does not fit whole: leave it out */
        if (sep)
            h->alpn[used++] = ',';
        for (size_t i = 0; i < proto.len; i++)
            h->alpn[used++] = proto.p[i] ? (char)proto.p[i] : '?';
        h->alpn[used] = '\0';
    }
}

static void ext_versions(rd *e, ps_tls_hello *h)
{
    rd list;
    uint16_t v;
    if (!rd_vec8(e, &list))
        return;
    while (rd_u16(&list, &v)) {
        if (ps_tls_is_grease(v)) {
            h->grease++;
            continue;
        }
        if (!h->has_supported_versions || v > h->version)
            h->version = v;
        h->has_supported_versions = true;
    }
}

static void client_ext(uint16_t type, rd *e, ps_tls_hello *h)
{
    rd list;
    uint8_t b;
    switch (type) {
    case 0x0000:
        ext_sni(e, h);
        break;
    case 0x0010:
        h->has_alpn = true;
        ext_alpn(e, h);
        break;
    case 0x002b:
        ext_versions(e, h);
        break;
    case 0x000a:
        if (rd_vec16(e, &list))
            list16(&list, h->groups, &h->ngroups, PS_TLS_MAX_GROUPS, h);
        break;
    case 0x000d:
        if (rd_vec16(e, &list))
            list16(&list, h->sigalgs, &h->nsigalgs, PS_TLS_MAX_SIGALGS, h);
        break;
    case 0x000b:
        if (!rd_vec8(e, &list))
            break;
        while (rd_u8(&list, &b)) {
            if (h->nformats >= PS_TLS_MAX_FORMATS) {
                h->truncated = true;
                break;
            }
            h->formats[h->nformats++] = b;
        }
        break;
    default:
        break;
    }
}

int ps_tls_client_hello_parse(const uint8_t *buf, size_t len, ps_tls_hello *h)
{
    rd body, sid, ciphers, comp, exts;
    int total = hs_frame(buf, len, HS_CLIENT_HELLO, &body);
    memset(h, 0, sizeof(*h));
    if (total < 0)
        return total;
    if (!rd_u16(&body, &h->legacy_version) || !rd_sub(&body, 32, &sid) || !rd_vec8(&body, &sid) ||
        sid.len > 32 || !rd_vec16(&body, &ciphers) || ciphers.len < 2 || ciphers.len % 2 != 0 ||
        !rd_vec8(&body, &comp) || comp.len < 1)
        return PS_ERR_BAD_INPUT;
    if ((h->legacy_version >> 8) != 3)
        return PS_ERR_BAD_INPUT;
    h->version = h->legacy_version;
    list16(&ciphers, h->ciphers, &h->nciphers, PS_TLS_MAX_CIPHERS, h);
    if (body.off == body.len)
        return total; /* no extensions (SSL 3.0 style) */
    if (!rd_vec16(&body, &exts) || body.off != body.len)
        return PS_ERR_BAD_INPUT;
    while (exts.off < exts.len) {
        uint16_t type;
        rd e;
        if (!rd_u16(&exts, &type) || !rd_vec16(&exts, &e))
            return PS_ERR_BAD_INPUT;
        push16(h->exts, &h->nexts, PS_TLS_MAX_EXTS, type, h);
        if (!ps_tls_is_grease(type))
            client_ext(type, &e, h);
    }
    return total;
}

/* ---- ServerHello ---------------------------------------------------------- */

static const uint8_t hrr_random[32] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

int ps_tls_server_hello_parse(const uint8_t *buf, size_t len, ps_tls_server_hello *sh)
{
    rd body, random, sid, exts;
    int total = hs_frame(buf, len, HS_SERVER_HELLO, &body);
    memset(sh, 0, sizeof(*sh));
    if (total < 0)
        return total;
    if (!rd_u16(&body, &sh->legacy_version) || !rd_sub(&body, 32, &random) ||
        !rd_vec8(&body, &sid) || sid.len > 32 || !rd_u16(&body, &sh->cipher) ||
        !rd_u8(&body, &sh->compression) || (sh->legacy_version >> 8) != 3)
        return PS_ERR_BAD_INPUT;
    sh->version = sh->legacy_version;
    sh->hello_retry = memcmp(random.p, hrr_random, 32) == 0;
    if (body.off == body.len)
        return total;
    if (!rd_vec16(&body, &exts) || body.off != body.len)
        return PS_ERR_BAD_INPUT;
    while (exts.off < exts.len) {
        uint16_t type, v;
        rd e;
        if (!rd_u16(&exts, &type) || !rd_vec16(&exts, &e))
            return PS_ERR_BAD_INPUT;
        if (type == 0x002b && rd_u16(&e, &v))
            sh->version = v;
    }
    return total;
}

/* ---- fingerprints --------------------------------------------------------- */

static const char hexd[] = "0123456789abcdef";

static void hex(const uint8_t *in, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexd[in[i] >> 4];
        out[2 * i + 1] = hexd[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* Appends to a bounded string; false once it no longer fits. */
typedef struct sbuf {
    char *p;
    size_t cap, len;
    bool full;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->full || n >= b->cap - b->len) {
        b->full = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_dec(sbuf *b, unsigned v)
{
    char t[8];
    size_t n = 0;
    do {
        t[sizeof(t) - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < sizeof(t));
    sb_put(b, t + sizeof(t) - n, n);
}

static void sb_hex4(sbuf *b, uint16_t v)
{
    char t[4] = {hexd[v >> 12], hexd[(v >> 8) & 15], hexd[(v >> 4) & 15], hexd[v & 15]};
    sb_put(b, t, 4);
}

static void sb_list_dec(sbuf *b, const uint16_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(b, "-", 1);
        sb_dec(b, v[i]);
    }
}

int ps_tls_ja3(const ps_tls_hello *h, char *str, size_t strcap, char md5hex[33])
{
    char local[2048];
    sbuf b = {str ? str : local, str ? strcap : sizeof(local), 0, false};
    uint8_t md[16];
    uint16_t formats[PS_TLS_MAX_FORMATS];

    md5hex[0] = '\0';
    if (b.cap == 0)
        return PS_ERR_CAP;
    b.p[0] = '\0';
    for (size_t i = 0; i < h->nformats; i++)
        formats[i] = h->formats[i];
    sb_dec(&b, h->legacy_version);
    sb_put(&b, ",", 1);
    sb_list_dec(&b, h->ciphers, h->nciphers);
    sb_put(&b, ",", 1);
    sb_list_dec(&b, h->exts, h->nexts);
    sb_put(&b, ",", 1);
    sb_list_dec(&b, h->groups, h->ngroups);
    sb_put(&b, ",", 1);
    sb_list_dec(&b, formats, h->nformats);
    if (b.full)
        return PS_ERR_CAP;
    if (ps_md5((const uint8_t *)b.p, b.len, md) != PS_OK)
        return PS_ERR_STATE;
    hex(md, sizeof(md), md5hex);
    return PS_OK;
}

static int cmp16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* First 12 hex digits of SHA-256 of s, or "000000000000" for nothing. */
static int hash12(const sbuf *s, char out[13])
{
    uint8_t md[32];
    char full[65];
    if (s->len == 0) {
        memcpy(out, "000000000000", 13);
        return PS_OK;
    }
    if (ps_sha256((const uint8_t *)s->p, s->len, md) != PS_OK)
        return PS_ERR_STATE;
    hex(md, sizeof(md), full);
    memcpy(out, full, 12);
    out[12] = '\0';
    return PS_OK;
}

static const char *ja4_version(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "13";
    case 0x0303:
        return "12";
    case 0x0302:
        return "11";
    case 0x0301:
        return "10";
    case 0x0300:
        return "s3";
    case 0x0200:
        return "s2";
    case 0x0100:
        return "s1";
    default:
        return "00";
    }
}

static bool alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int ps_tls_ja4(const ps_tls_hello *h, char *out, size_t outcap)
{
    uint16_t sorted[PS_MAX(PS_TLS_MAX_CIPHERS, PS_TLS_MAX_EXTS)];
    char cbuf[PS_TLS_MAX_CIPHERS * 5 + 1];
    char ebuf[PS_TLS_MAX_EXTS * 5 + 1 + PS_TLS_MAX_SIGALGS * 5 + 1];
    char ch[13], eh[13], a[3];
    sbuf cb = {cbuf, sizeof(cbuf), 0, false}, eb = {ebuf, sizeof(ebuf), 0, false};

    if (outcap < 37)
        return PS_ERR_CAP;
    memcpy(sorted, h->ciphers, h->nciphers * sizeof(uint16_t));
    qsort(sorted, h->nciphers, sizeof(uint16_t), cmp16);
    for (size_t i = 0; i < h->nciphers; i++) {
        if (i)
            sb_put(&cb, ",", 1);
        sb_hex4(&cb, sorted[i]);
    }
    size_t n = 0;
    for (size_t i = 0; i < h->nexts; i++)
        if (h->exts[i] != 0x0000 && h->exts[i] != 0x0010)
            sorted[n++] = h->exts[i];
    qsort(sorted, n, sizeof(uint16_t), cmp16);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sb_put(&eb, ",", 1);
        sb_hex4(&eb, sorted[i]);
    }
    if (h->nsigalgs)
        sb_put(&eb, "_", 1);
    for (size_t i = 0; i < h->nsigalgs; i++) {
        if (i)
            sb_put(&eb, ",", 1);
        sb_hex4(&eb, h->sigalgs[i]);
    }
    if (cb.full || eb.full || hash12(&cb, ch) != PS_OK || hash12(&eb, eh) != PS_OK)
        return PS_ERR_STATE;
    if (h->alpn_first_len == 0) {
        memcpy(a, "00", 3);
    } else if (alnum(h->alpn_first0) && alnum(h->alpn_firstN)) {
        a[0] = (char)h->alpn_first0;
        a[1] = (char)h->alpn_firstN;
    } else { /* FoxIO: first and last hex digit of the value instead */
        a[0] = hexd[h->alpn_first0 >> 4];
        a[1] = hexd[h->alpn_firstN & 15];
    }
    a[2] = '\0';
    unsigned nc = PS_MIN(h->nciphers, 99u), ne = PS_MIN(h->nexts, 99u);
    const char *v = ja4_version(h->version);
    char head[11] = {'t',
                     v[0],
                     v[1],
                     h->has_sni ? 'd' : 'i',
                     (char)('0' + nc / 10),
                     (char)('0' + nc % 10),
                     (char)('0' + ne / 10),
                     (char)('0' + ne % 10),
                     a[0],
                     a[1],
                     '\0'};
    memcpy(out, head, 10);
    out[10] = '_';
    memcpy(out + 11, ch, 12);
    out[23] = '_';
    memcpy(out + 24, eh, 12);
    out[36] = '\0';
    return PS_OK;
}

bool ps_tls_is_go_plaintext_reject(const ps_http_tx *tx)
{
    return tx->response_seen && tx->status == 400 && tx->resp_version == 10 &&
           strcmp(tx->reason, "Bad Request") == 0 && tx->server[0] == '\0' &&
           tx->resp_content_type[0] == '\0' && tx->resp_body_len == 48;
}

const char *ps_tls_version_name(uint16_t v)
{
    switch (v) {
    case 0x0304:
        return "TLSv1.3";
    case 0x0303:
        return "TLSv1.2";
    case 0x0302:
        return "TLSv1.1";
    case 0x0301:
        return "TLSv1.0";
    case 0x0300:
        return "SSLv3";
    default:
        return NULL;
    }
}

static void version_field(ps_jw *w, const char *key, uint16_t v)
{
    const char *name = ps_tls_version_name(v);
    char t[8] = {'0',          'x',  hexd[v >> 12], hexd[(v >> 8) & 15], hexd[(v >> 4) & 15],
                 hexd[v & 15], '\0', '\0'};
    if (v)
        ps_jw_str(w, key, name ? name : t);
}

void ps_tls_record_object(ps_jw *w, const ps_tls_info *info)
{
    ps_jw_obj_begin(w, "tls");
    if (info->sni[0])
        ps_jw_str(w, "sni", info->sni);
    if (info->alpn[0]) {
        ps_jw_arr_begin(w, "alpn");
        const char *p = info->alpn;
        while (*p) {
            size_t n = strcspn(p, ",");
            ps_jw_strn(w, NULL, (const uint8_t *)p, n);
            p += n + (p[n] == ',');
        }
        ps_jw_arr_end(w);
    }
    version_field(w, "client_version", info->client_version);
    if (info->ja3[0])
        ps_jw_str(w, "ja3", info->ja3);
    if (info->ja4[0])
        ps_jw_str(w, "ja4", info->ja4);
    ps_jw_bool(w, "server_hello", info->server_hello);
    if (info->server_hello) {
        char c[8] = {'0',
                     'x',
                     hexd[info->cipher >> 12],
                     hexd[(info->cipher >> 8) & 15],
                     hexd[(info->cipher >> 4) & 15],
                     hexd[info->cipher & 15],
                     '\0',
                     '\0'};
        version_field(w, "version", info->server_version);
        ps_jw_str(w, "cipher", c);
    }
    ps_jw_obj_end(w);
}

/* ---- stream dissector ----------------------------------------------------- */

static const ps_rule rule_container_port = {
    "tls.container_port", "tls", "TLS handshake", {&ps_t1613, NULL}, PS_SEV_LOW};

typedef struct tls_ctx {
    const ps_config *cfg;
    ps_slab bufs;
    ps_tls_stats stats;
} tls_ctx;

/* One direction: record framing, and the first handshake message. */
typedef struct tls_dir {
    uint8_t hdr[5];
    uint8_t hdr_len;
    uint8_t rtype;
    uint32_t rec_left;
    uint8_t *buf; /* pooled while the message is split */
    uint32_t blen;
    bool done;
} tls_dir;

typedef struct tls_stream {
    ps_app_stream app;
    tls_ctx *ctx;
    ps_event_sink sink;
    tls_dir d[2];
    ps_tls_info info;
    ps_time_us hello_ts;
    uint8_t outcome;
    bool reported;
} tls_stream;

static void *tls_ctx_new(const ps_config *cfg)
{
    tls_ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = cfg;
    ps_slab_init(&c->bufs, PS_TLS_HELLO_MAX, TLS_POOL_BUFS);
    return c;
}

static void tls_ctx_free(void *ctx)
{
    tls_ctx *c = ctx;
    if (!c)
        return;
    ps_slab_destroy(&c->bufs);
    free(c);
}

const ps_tls_stats *ps_tls_stats_get(const void *ctx)
{
    return ctx ? &((const tls_ctx *)ctx)->stats : NULL;
}

static int tls_probe(const uint8_t *buf, size_t len, int dir)
{
    static const uint8_t want[6] = {0x16, 0x03, 0, 0, 0, 0};
    uint8_t hs = dir == PS_DIR_TO_SERVER ? HS_CLIENT_HELLO : HS_SERVER_HELLO;
    for (size_t i = 0; i < len && i < 6; i++) {
        bool ok = i < 2 ? buf[i] == want[i] : i == 2 ? buf[i] <= 4 : i == 5 ? buf[i] == hs : true;
        if (!ok)
            return PS_PROBE_NO;
    }
    return len < 6 ? PS_ERR_NEED_MORE : PS_PROBE_YES;
}

static size_t tls_state_size(void)
{
    return sizeof(tls_stream);
}

static void tls_init(void *state, struct ps_app_ctx *app, ps_flow *f)
{
    tls_stream *s = state;
    ps_app_stream_init(&s->app, app, f);
    s->app.dstate = s;
    s->app.desc = &ps_dissector_tls;
}

static void tls_bind(void *state, void *ctx, ps_event_sink sink)
{
    tls_stream *s = state;
    s->ctx = ctx;
    s->sink = sink;
}

static void buf_put(tls_stream *s, tls_dir *d)
{
    if (d->buf && s->ctx)
        ps_slab_free(&s->ctx->bufs, d->buf);
    d->buf = NULL;
    d->blen = 0;
}

/* A session to a TLS container port is a candidate detection; whether it
 * becomes one (untrusted or new client) is the correlator's call, since it
 * holds the trusted networks and the learned baseline (docs/detection.md). */
static const ps_rule *tls_policy(const tls_stream *s, const ps_config *cfg)
{
    const ps_flow *f = s->app.flow;
    if (!cfg || !ps_port_set_has(&cfg->tls_ports, f->sport))
        return NULL;
    return &rule_container_port;
}

/* One PS_EV_TLS per session, once the server answered or the flow ended. */
static void report(tls_stream *s, ps_time_us ts)
{
    if (s->reported || !s->info.client_hello || s->app.flow_id == 0)
        return;
    s->reported = true;
    if (!s->sink.submit)
        return;
    const ps_flow *f = s->app.flow;
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = PS_EV_TLS;
    ev.outcome = s->outcome;
    ev.ts = s->hello_ts;
    ev.done_ts = ts > s->hello_ts ? ts : s->hello_ts;
    ev.flow_id = s->app.flow_id;
    ev.src = f->cli;
    ev.dst = f->srv;
    ev.sport = f->cport;
    ev.dport = f->sport;
    ev.proto = f->proto;
    ev.json_items = -1;
    ev.objects = -1;
    memcpy(ev.host, s->info.sni, PS_MIN(sizeof(ev.host), sizeof(s->info.sni)));
    ev.host[sizeof(ev.host) - 1] = '\0';
    ev.tls = s->info;
    ev.rule = tls_policy(s, s->ctx ? s->ctx->cfg : NULL);
    if (s->ctx) {
        s->ctx->stats.events++;
        if (ev.rule)
            s->ctx->stats.detections++;
    }
    s->sink.submit(s->sink.ctx, &ev);
}

static void on_client_hello(tls_stream *s, const uint8_t *msg, size_t len, ps_time_us ts)
{
    ps_tls_hello h;
    int rc = ps_tls_client_hello_parse(msg, len, &h);
    if (rc < 0) {
        if (s->ctx)
            s->ctx->stats.bad_hellos++;
        return;
    }
    if (s->ctx)
        s->ctx->stats.client_hellos++;
    ps_tls_info *i = &s->info;
    i->client_hello = true;
    i->client_version = h.version;
    memcpy(i->sni, h.sni, sizeof(i->sni));
    memcpy(i->alpn, h.alpn, sizeof(i->alpn));
    if (ps_tls_ja3(&h, NULL, 0, i->ja3) != PS_OK)
        i->ja3[0] = '\0';
    if (ps_tls_ja4(&h, i->ja4, sizeof(i->ja4)) != PS_OK)
        i->ja4[0] = '\0';
    s->hello_ts = ts;
    s->outcome = PS_OUTCOME_UNKNOWN;
}

static void on_server_hello(tls_stream *s, const uint8_t *msg, size_t len)
{
    ps_tls_server_hello sh;
    if (ps_tls_server_hello_parse(msg, len, &sh) < 0) {
        if (s->ctx)
            s->ctx->stats.bad_hellos++;
        s->outcome = PS_OUTCOME_FAILED;
        return;
    }
    if (s->ctx)
        s->ctx->stats.server_hellos++;
    s->info.server_hello = true;
    s->info.server_version = sh.version;
    s->info.cipher = sh.cipher;
    s->outcome = PS_OUTCOME_SUCCEEDED;
}

/* A whole first handshake message of direction dir is at msg. */
static void on_message(tls_stream *s, int dir, const uint8_t *msg, size_t len, ps_time_us ts)
{
    if (dir == PS_DIR_TO_SERVER)
        on_client_hello(s, msg, len, ts);
    else
        on_server_hello(s, msg, len);
}

/* Handshake bytes of direction dir: collects the first message, from the
 * packet when it lies in one record, else through a pooled buffer. */
static void hs_bytes(tls_stream *s, int dir, const uint8_t *p, size_t n, ps_time_us ts)
{
    tls_dir *d = &s->d[dir];
    if (!d->buf && n >= 4) {
        size_t need = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
        if (need <= n - 4) { /* zero copy: the common, unsplit hello */
            on_message(s, dir, p, need + 4, ts);
            d->done = true;
            return;
        }
    }
    if (!d->buf) {
        d->buf = s->ctx ? ps_slab_alloc(&s->ctx->bufs) : NULL;
        if (!d->buf) {
            if (s->ctx)
                s->ctx->stats.pool_exhausted++;
            d->done = true;
            return;
        }
    }
    size_t take = PS_MIN(n, (size_t)PS_TLS_HELLO_MAX - d->blen);
    memcpy(d->buf + d->blen, p, take);
    d->blen += (uint32_t)take;
    if (d->blen < 4)
        return;
    size_t need = (size_t)d->buf[1] << 16 | (size_t)d->buf[2] << 8 | d->buf[3];
    if (need > PS_TLS_HELLO_MAX - 4) {
        if (s->ctx)
            s->ctx->stats.hello_too_large++;
        buf_put(s, d);
        d->done = true;
        return;
    }
    if (d->blen >= need + 4) {
        on_message(s, dir, d->buf, need + 4, ts);
        buf_put(s, d);
        d->done = true;
    }
}

/* Record framing of one direction until its first handshake message. */
static void dir_feed(tls_stream *s, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    tls_dir *d = &s->d[dir];
    while (len > 0 && !d->done) {
        if (d->rec_left == 0) {
            size_t take = PS_MIN(len, (size_t)(5 - d->hdr_len));
            memcpy(d->hdr + d->hdr_len, data, take);
            d->hdr_len = (uint8_t)(d->hdr_len + take);
            data += take;
            len -= take;
            if (d->hdr_len < 5)
                return;
            d->hdr_len = 0;
            d->rtype = d->hdr[0];
            d->rec_left = (uint32_t)(d->hdr[3] << 8 | d->hdr[4]);
            if (d->rtype < 20 || d->rtype > 24 || d->hdr[1] != 3 || d->rec_left == 0 ||
                d->rec_left > TLS_RECORD_MAX) {
                if (s->ctx)
                    s->ctx->stats.bad_records++;
                if (dir == PS_DIR_TO_CLIENT && s->outcome == PS_OUTCOME_UNKNOWN)
                    s->outcome = PS_OUTCOME_FAILED;
                d->done = true;
                return;
            }
            if (d->rtype != 22) { /* alert or data before the hello: no hello to see */
                if (dir == PS_DIR_TO_CLIENT && d->rtype == 21) {
                    if (s->ctx)
                        s->ctx->stats.alerts++;
                    s->outcome = PS_OUTCOME_DENIED;
                }
                d->done = true;
                return;
            }
            continue;
        }
        size_t take = PS_MIN(len, (size_t)d->rec_left);
        hs_bytes(s, dir, data, take, ts);
        d->rec_left -= (uint32_t)take;
        data += take;
        len -= take;
    }
}

static int tls_parse(void *state, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    tls_stream *s = state;
    if (dir != PS_DIR_TO_SERVER && dir != PS_DIR_TO_CLIENT)
        return PS_ERR_STATE;
    if (dir == PS_DIR_TO_CLIENT && !s->d[0].done)
        s->d[0].done = true; /* the server answers: the client's hello is over */
    dir_feed(s, dir, data, len, ts);
    if (s->d[1].done) {
        report(s, ts);
        if (s->d[0].done) {
            buf_put(s, &s->d[0]);
            buf_put(s, &s->d[1]);
            return PS_ERR_STATE; /* nothing more to learn from this stream */
        }
    }
    return PS_OK;
}

static void tls_gap(void *state, int dir, uint32_t len, ps_time_us ts)
{
    tls_stream *s = state;
    (void)len;
    (void)ts;
    if (dir == PS_DIR_TO_SERVER || dir == PS_DIR_TO_CLIENT) {
        buf_put(s, &s->d[dir]);
        s->d[dir].done = true; /* framing is lost */
    }
}

static void tls_expire(void *state, ps_time_us now, ps_time_us timeout)
{
    (void)state;
    (void)now;
    (void)timeout;
}

static void tls_close(void *state, ps_time_us ts)
{
    tls_stream *s = state;
    report(s, ts);
    buf_put(s, &s->d[0]);
    buf_put(s, &s->d[1]);
}

const ps_tls_info *ps_tls_flow_meta(const ps_flow *f)
{
    if (!f || f->app_desc != &ps_dissector_tls || !f->app_state)
        return NULL;
    const tls_stream *s = f->app_state;
    return s->app.flow_id == f->id ? &s->info : NULL;
}

const ps_stream_dissector ps_dissector_tls = {
    .name = "tls",
    .ports = NULL,
    .port_count = 0,
    .probe = tls_probe,
    .state_size = tls_state_size,
    .init = tls_init,
    .parse = tls_parse,
    .gap = tls_gap,
    .expire = tls_expire,
    .close = tls_close,
    .ctx_new = tls_ctx_new,
    .ctx_free = tls_ctx_free,
    .bind = tls_bind,
};
