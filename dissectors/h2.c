/* h2.c - HTTP/2 prior-knowledge (h2c) streams: the client preface, and etcd gRPC on its ports. */
#include <string.h>

#include "app.h"
#include "attack.h"
#include "dissector.h"
#include "h2.h"

#define H2_FRAME_HEADERS 1
#define H2_FLAG_PADDED   0x08
#define H2_FLAG_PRIORITY 0x20
#define H2_BLOCK_MAX     512 /* first bytes of the first HEADERS block kept */

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define PREFACE_LEN (sizeof(preface) - 1)

static const uint16_t etcd_ports[] = {2379, 2380};

static const ps_rule rule_etcd_grpc = {
    "etcd.grpc", "etcd", "gRPC over h2c", {&ps_t1613, NULL}, PS_SEV_MEDIUM};

int ps_h2_probe_preface(const uint8_t *buf, size_t len)
{
    size_t n = PS_MIN(len, PREFACE_LEN);
    if (memcmp(buf, preface, n) != 0)
        return 0;
    return len < PREFACE_LEN ? PS_ERR_NEED_MORE : 1;
}

/* RFC 7541 Appendix B as a canonical code: per code length, the first
 * code, how many codes there are, and where their symbols start. */
static const uint32_t hp_first[31] = {
    0x0,      0x0,       0x0,       0x0,       0x0,       0x0,      0x14,      0x5c,
    0xf8,     0x0,       0x3f8,     0x7fa,     0xffa,     0x1ff8,   0x3ffc,    0x7ffc,
    0x0,      0x0,       0x0,       0x7fff0,   0xfffe6,   0x1fffdc, 0x3fffd2,  0x7fffd8,
    0xffffea, 0x1ffffec, 0x3ffffe0, 0x7ffffde, 0xfffffe2, 0x0,      0x3ffffffc};
static const uint16_t hp_count[31] = {0, 0, 0, 0, 0, 10, 26, 32, 6,  0, 5,  3,  2,  6, 2, 3,
                                      0, 0, 0, 3, 8, 13, 26, 29, 12, 4, 15, 19, 29, 0, 4};
static const uint16_t hp_off[31] = {0,   0,   0,   0,   0,   0,   10,  36, 68, 0,  74,
                                    79,  82,  84,  90,  92,  0,   0,   0,  95, 98, 106,
                                    119, 145, 174, 186, 190, 205, 224, 0,  253};
static const uint16_t hp_syms[257] = {
    48,  49,  50,  97,  99,  101, 105, 111, 115, 116, 32,  37,  45,  46,  47,  51,  52,  53,  54,
    55,  56,  57,  61,  65,  95,  98,  100, 102, 103, 104, 108, 109, 110, 112, 114, 117, 58,  66,
    67,  68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78,  79,  80,  81,  82,  83,  84,  85,
    86,  87,  89,  106, 107, 113, 118, 119, 120, 121, 122, 38,  42,  44,  59,  88,  90,  33,  34,
    40,  41,  63,  39,  43,  124, 35,  62,  0,   36,  64,  91,  93,  126, 94,  125, 60,  96,  123,
    92,  195, 208, 128, 130, 131, 162, 184, 194, 224, 226, 153, 161, 167, 172, 176, 177, 179, 209,
    216, 217, 227, 229, 230, 129, 132, 133, 134, 136, 146, 154, 156, 160, 163, 164, 169, 170, 173,
    178, 181, 185, 186, 187, 189, 190, 196, 198, 228, 232, 233, 1,   135, 137, 138, 139, 140, 141,
    143, 147, 149, 150, 151, 152, 155, 157, 158, 165, 166, 168, 174, 175, 180, 182, 183, 188, 191,
    197, 231, 239, 9,   142, 144, 145, 148, 159, 171, 206, 215, 225, 236, 237, 199, 207, 234, 235,
    192, 193, 200, 201, 202, 205, 210, 213, 218, 219, 238, 240, 242, 243, 255, 203, 204, 211, 212,
    214, 221, 222, 223, 241, 244, 245, 246, 247, 248, 250, 251, 252, 253, 254, 2,   3,   4,   5,
    6,   7,   8,   11,  12,  14,  15,  16,  17,  18,  19,  20,  21,  23,  24,  25,  26,  27,  28,
    29,  30,  31,  127, 220, 249, 10,  13,  22,  256};

/* Decodes a Huffman-coded string (RFC 7541 5.2) into out, cut at cap - 1
 * bytes and NUL-terminated. False on EOS, a code over 30 bits or padding
 * that is not a short run of one bits. */
static bool hp_huffman(const uint8_t *src, size_t n, char *out, size_t cap)
{
    uint32_t code = 0;
    unsigned len = 0;
    size_t o = 0;
    if (cap == 0)
        return false;
    for (size_t i = 0; i < n && len <= 30; i++) {
        for (int bit = 7; bit >= 0 && len <= 30; bit--) {
            code = code << 1 | ((src[i] >> bit) & 1u);
            if (++len > 30)
                break;
            if (hp_count[len] && code - hp_first[len] < hp_count[len]) {
                uint16_t sym = hp_syms[hp_off[len] + code - hp_first[len]];
                if (sym == 256) {
                    len = 31;
                    break;
                }
                if (o + 1 < cap)
                    out[o++] = (char)sym;
                code = 0;
                len = 0;
            }
        }
    }
    bool ok = len <= 7 && code == (1u << len) - 1u;
    out[ok ? o : 0] = '\0'; /* nothing of an invalid string */
    return ok;
}

/* A string literal: raw or Huffman-coded, into out; false when invalid. */
static bool hp_string(const uint8_t *p, size_t n, bool huff, char *out, size_t cap)
{
    if (huff)
        return hp_huffman(p, n, out, cap);
    if (cap == 0)
        return false;
    size_t k = PS_MIN(n, cap - 1);
    memcpy(out, p, k);
    out[k] = '\0';
    return true;
}

/* HPACK integer with an n-bit prefix (RFC 7541 5.1), bounded to 2^28. */
static bool hp_int(const uint8_t *p, size_t len, size_t *off, unsigned bits, uint32_t *out)
{
    if (*off >= len)
        return false;
    uint32_t max = (1u << bits) - 1, v = p[(*off)++] & max;
    if (v < max) {
        *out = v;
        return true;
    }
    for (unsigned shift = 0; shift <= 21; shift += 7) {
        if (*off >= len)
            return false;
        uint8_t b = p[(*off)++];
        v += (uint32_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* What hp_scan found: NULL fields are not wanted. */
typedef struct hp_found {
    char *path, *ua, *method; /* method: PS_HTTP_METHOD_MAX bytes */
    size_t pathcap, uacap;
    uint16_t *status;
} hp_found;

/* Scans an HPACK block for :path, user-agent and :status. Without the
 * dynamic table, only static indexes and literals are visible, which is
 * what a connection's first HEADERS carries. Stops at what it cannot read. */
static void hp_scan(const uint8_t *p, size_t len, const hp_found *f)
{
    static const uint16_t static_status[] = {200, 204, 206, 304, 400, 404, 500}; /* 8..14 */
    char name[16], tmp[8];
    size_t off = 0;
    while (off < len) {
        uint8_t b = p[off];
        uint32_t idx, slen;
        if (b & 0x80) { /* indexed field */
            if (!hp_int(p, len, &off, 7, &idx))
                return;
            if (idx == 4 && f->path && f->pathcap > 1)
                memcpy(f->path, "/", 2);
            else if ((idx == 2 || idx == 3) && f->method)
                strcpy(f->method, idx == 2 ? "GET" : "POST");
            else if (idx >= 8 && idx <= 14 && f->status)
                *f->status = static_status[idx - 8];
            continue;
        }
        if ((b & 0xe0) == 0x20) { /* dynamic table size update */
            if (!hp_int(p, len, &off, 5, &idx))
                return;
            continue;
        }
        unsigned bits = (b & 0xc0) == 0x40 ? 6 : 4; /* incremental indexing, or without */
        if (!hp_int(p, len, &off, bits, &idx))
            return;
        int what = idx == 4 || idx == 5 ? 1 : idx == 58 ? 2 : idx == 8 ? 3 : 0;
        if (idx == 0) { /* literal name */
            if (off >= len)
                return;
            bool huff = p[off] & 0x80;
            if (!hp_int(p, len, &off, 7, &slen) || slen > len - off)
                return;
            if (slen < sizeof(name) && hp_string(p + off, slen, huff, name, sizeof(name)))
                what = strcmp(name, ":path") == 0        ? 1
                       : strcmp(name, "user-agent") == 0 ? 2
                       : strcmp(name, ":status") == 0    ? 3
                                                         : 0;
            off += slen;
        }
        if (off >= len)
            return;
        bool huff = p[off] & 0x80;
        if (!hp_int(p, len, &off, 7, &slen) || slen > len - off)
            return;
        if (what == 1 && f->path)
            hp_string(p + off, slen, huff, f->path, f->pathcap);
        else if (what == 2 && f->ua)
            hp_string(p + off, slen, huff, f->ua, f->uacap);
        else if (what == 3 && f->status && hp_string(p + off, slen, huff, tmp, sizeof(tmp)) &&
                 strlen(tmp) == 3 && strspn(tmp, "0123456789") == 3) /* RFC 9113 8.3.2 */
            *f->status = (uint16_t)((tmp[0] - '0') * 100 + (tmp[1] - '0') * 10 + (tmp[2] - '0'));
        off += slen;
    }
}

/* ---- stream dissector ----------------------------------------------------- */

typedef struct h2_dir {
    uint8_t hdr[9];
    uint8_t hdr_len;
    uint32_t left;   /* payload bytes of the current frame still to come */
    bool collecting; /* the current frame is the first HEADERS */
    bool seen_headers;
    uint8_t flags;
    uint8_t block[H2_BLOCK_MAX];
    uint32_t blen;
} h2_dir;

typedef struct h2_stream {
    ps_app_stream app;
    ps_event_sink sink;
    uint32_t preface_got;
    bool failed, reported, server_spoke;
    h2_dir d[2];
    char path[PS_HTTP_URL_MAX];
    char ua[PS_HTTP_UA_MAX];
    char method[PS_HTTP_METHOD_MAX];
    uint16_t status;
    ps_time_us first_ts, last_ts;
} h2_stream;

static int h2_probe(const uint8_t *buf, size_t len, int dir)
{
    if (dir != PS_DIR_TO_SERVER)
        return PS_PROBE_NO;
    int r = ps_h2_probe_preface(buf, len);
    return r == 1 ? PS_PROBE_YES : r == 0 ? PS_PROBE_NO : PS_ERR_NEED_MORE;
}

static size_t h2_state_size(void)
{
    return sizeof(h2_stream);
}

static void h2_init(void *state, struct ps_app_ctx *app, ps_flow *f)
{
    h2_stream *s = state;
    ps_app_stream_init(&s->app, app, f);
    s->app.dstate = s;
    s->app.desc = &ps_dissector_h2;
}

static void h2_bind(void *state, void *ctx, ps_event_sink sink)
{
    h2_stream *s = state;
    (void)ctx;
    s->sink = sink;
}

static bool is_etcd(const h2_stream *s)
{
    for (size_t i = 0; i < PS_ARRAY_LEN(etcd_ports); i++)
        if (s->app.flow->sport == etcd_ports[i])
            return true;
    return strncmp(s->path, "/etcdserverpb.", 14) == 0 || strncmp(s->path, "/v3lockpb.", 10) == 0 ||
           strncmp(s->path, "/v3electionpb.", 14) == 0;
}

/* One event per connection: etcd gRPC when the port or the :path says so. */
static void report(h2_stream *s, ps_time_us ts)
{
    if (s->reported || s->failed || s->preface_got < PREFACE_LEN || s->app.flow_id == 0)
        return;
    s->reported = true;
    if (!s->sink.submit || !is_etcd(s))
        return;
    const ps_flow *f = s->app.flow;
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = PS_EV_API_CALL;
    ev.rule = &rule_etcd_grpc;
    ev.ts = s->first_ts;
    ev.done_ts = ts > s->first_ts ? ts : s->first_ts;
    ev.flow_id = s->app.flow_id;
    ev.src = f->cli;
    ev.dst = f->srv;
    ev.sport = f->cport;
    ev.dport = f->sport;
    ev.proto = f->proto;
    ev.json_items = -1;
    ev.objects = -1;
    memcpy(ev.method, s->method, sizeof(ev.method));
    memcpy(ev.url, s->path, sizeof(ev.url));
    memcpy(ev.user_agent, s->ua, sizeof(ev.user_agent));
    if (s->status == 200)
        ev.outcome = PS_OUTCOME_SUCCEEDED;
    else if (s->status)
        ev.outcome = PS_OUTCOME_FAILED;
    else
        ev.outcome = PS_OUTCOME_UNKNOWN;
    ev.status = s->status;
    s->sink.submit(s->sink.ctx, &ev);
}

static void block_done(h2_stream *s, int dir)
{
    h2_dir *d = &s->d[dir];
    const uint8_t *p = d->block;
    size_t len = d->blen, off = 0;
    if (d->flags & H2_FLAG_PADDED) {
        if (len < 1)
            return;
        off = 1; /* pad length; the padding lies at the end, past what we scan */
    }
    if (d->flags & H2_FLAG_PRIORITY)
        off += 5;
    if (off > len)
        return;
    hp_found want;
    memset(&want, 0, sizeof(want));
    if (dir == PS_DIR_TO_SERVER) {
        want.path = s->path;
        want.pathcap = sizeof(s->path);
        want.ua = s->ua;
        want.method = s->method;
        want.uacap = sizeof(s->ua);
    } else {
        want.status = &s->status;
    }
    hp_scan(p + off, len - off, &want);
}

/* Frame framing of one direction: keeps the first HEADERS block's head. */
static void frames(h2_stream *s, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    h2_dir *d = &s->d[dir];
    while (len > 0) {
        if (d->left == 0 && !d->collecting) {
            size_t take = PS_MIN(len, (size_t)(9 - d->hdr_len));
            memcpy(d->hdr + d->hdr_len, data, take);
            d->hdr_len = (uint8_t)(d->hdr_len + take);
            data += take;
            len -= take;
            if (d->hdr_len < 9)
                return;
            d->hdr_len = 0;
            d->left = (uint32_t)d->hdr[0] << 16 | (uint32_t)d->hdr[1] << 8 | d->hdr[2];
            d->flags = d->hdr[4];
            d->collecting = d->hdr[3] == H2_FRAME_HEADERS && !d->seen_headers;
            d->blen = 0;
            if (d->collecting && d->left == 0) {
                d->collecting = false;
                d->seen_headers = true;
            }
            continue;
        }
        size_t take = PS_MIN(len, (size_t)d->left);
        if (d->collecting) {
            size_t keep = PS_MIN(take, (size_t)H2_BLOCK_MAX - d->blen);
            memcpy(d->block + d->blen, data, keep);
            d->blen += (uint32_t)keep;
        }
        d->left -= (uint32_t)take;
        data += take;
        len -= take;
        if (d->left == 0 && d->collecting) {
            d->collecting = false;
            d->seen_headers = true;
            block_done(s, dir);
            if (dir == PS_DIR_TO_CLIENT)
                report(s, ts);
        }
    }
}

static int h2_parse(void *state, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    h2_stream *s = state;
    if (s->failed)
        return PS_ERR_BAD_INPUT;
    if (!s->first_ts)
        s->first_ts = ts;
    s->last_ts = ts;
    if (dir == PS_DIR_TO_SERVER && s->preface_got < PREFACE_LEN) {
        size_t take = PS_MIN(len, PREFACE_LEN - s->preface_got);
        if (memcmp(data, preface + s->preface_got, take) != 0) {
            s->failed = true;
            return PS_ERR_BAD_INPUT;
        }
        s->preface_got += (uint32_t)take;
        data += take;
        len -= take;
    }
    if (dir == PS_DIR_TO_CLIENT)
        s->server_spoke = true;
    if (dir == PS_DIR_TO_SERVER || dir == PS_DIR_TO_CLIENT)
        frames(s, dir, data, len, ts);
    return s->reported ? PS_ERR_STATE : PS_OK;
}

static void h2_gap(void *state, int dir, uint32_t len, ps_time_us ts)
{
    h2_stream *s = state;
    (void)dir;
    (void)len;
    report(s, ts); /* framing is lost: say what is known */
    s->failed = true;
}

static void h2_expire(void *state, ps_time_us now, ps_time_us timeout)
{
    (void)state;
    (void)now;
    (void)timeout;
}

static void h2_close(void *state, ps_time_us ts)
{
    h2_stream *s = state;
    report(s, ts);
}

const ps_stream_dissector ps_dissector_h2 = {
    .name = "h2",
    .ports = NULL,
    .port_count = 0,
    .probe = h2_probe,
    .state_size = h2_state_size,
    .init = h2_init,
    .parse = h2_parse,
    .gap = h2_gap,
    .expire = h2_expire,
    .close = h2_close,
    .bind = h2_bind,
};
