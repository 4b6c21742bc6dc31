/* etcd.c - etcd's HTTP/JSON client API (v2 keys, the v3 gRPC gateway): reads, writes, snapshots. */
#include <string.h>

#include "apiutil.h"
#include "attack.h"
#include "config.h"
#include "dissector.h"
#include "json_fields.h"
#include "urlpath.h"

#define TECH(...)                                                                                  \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }
#define RULE(var, nm, ep, sev, ...)                                                                \
    static const ps_rule var = {nm, "etcd", ep, TECH(__VA_ARGS__), sev}

RULE(r_version, "etcd.version", "/version", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_health, "etcd.health", "/health", PS_SEV_INFO, &ps_t1613);
RULE(r_metrics, "etcd.metrics", "/metrics", PS_SEV_LOW, &ps_t1613, &ps_t1082);
RULE(r_v2_keys, "etcd.v2.keys", "/v2/keys/{key}", PS_SEV_MEDIUM, &ps_t1613);
RULE(r_v2_put, "etcd.v2.put", "/v2/keys/{key}", PS_SEV_HIGH, &ps_t1610);
RULE(r_cluster, "etcd.cluster", "/v2/members|/v3/cluster/member/list|/v3/maintenance/status",
     PS_SEV_LOW, &ps_t1613);
RULE(r_range, "etcd.kv.range", "/v3/kv/range", PS_SEV_HIGH, &ps_t1613);
RULE(r_range_secrets, "etcd.kv.range_secrets", "/v3/kv/range", PS_SEV_CRITICAL, &ps_t1552_007,
     &ps_t1613);
RULE(r_put, "etcd.kv.put", "/v3/kv/put", PS_SEV_HIGH, &ps_t1610);
RULE(r_snapshot, "etcd.snapshot", "/v3/maintenance/snapshot", PS_SEV_CRITICAL, &ps_t1005,
     &ps_t1552_007);
RULE(r_auth, "etcd.auth", "/v3/auth/{call}", PS_SEV_MEDIUM, &ps_t1613, &ps_t1069);

enum {
    R_NONE = 0,
    R_VERSION,
    R_HEALTH,
    R_METRICS,
    R_V2_KEYS,
    R_CLUSTER,
    R_RANGE,
    R_PUT,
    R_SNAPSHOT,
    R_AUTH
};

static bool seg_is(const ps_path *p, uint32_t i, const char *s)
{
    size_t n = strlen(s);
    return i < p->nseg && p->seg_len[i] == n && memcmp(p->seg[i], s, n) == 0;
}

/* /v3/, /v3beta/ (3.3) and /v3alpha/ (<= 3.2) name the same gateway. */
static bool v3_prefix(const ps_path *p)
{
    return seg_is(p, 0, "v3") || seg_is(p, 0, "v3beta") || seg_is(p, 0, "v3alpha");
}

static uint32_t classify(const ps_http_tx *tx, ps_path *p)
{
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), p);
    bool read = strcmp(tx->method, "GET") == 0 || strcmp(tx->method, "HEAD") == 0;
    if (read && p->nseg == 1 && seg_is(p, 0, "version"))
        return R_VERSION;
    if (read && p->nseg == 1 &&
        (seg_is(p, 0, "health") || seg_is(p, 0, "livez") || seg_is(p, 0, "readyz")))
        return R_HEALTH;
    if (read && seg_is(p, 0, "metrics"))
        return R_METRICS;
    if (seg_is(p, 0, "v2") && seg_is(p, 1, "keys"))
        return R_V2_KEYS;
    if (seg_is(p, 0, "v2") && (seg_is(p, 1, "members") || seg_is(p, 1, "stats")))
        return R_CLUSTER;
    if (!v3_prefix(p) || strcmp(tx->method, "POST") != 0 || p->nseg < 3)
        return R_NONE;
    if (seg_is(p, 1, "kv") && seg_is(p, 2, "range"))
        return R_RANGE;
    if (seg_is(p, 1, "kv") && seg_is(p, 2, "put"))
        return R_PUT;
    if (seg_is(p, 1, "maintenance") && seg_is(p, 2, "snapshot"))
        return R_SNAPSHOT;
    if (seg_is(p, 1, "maintenance") && seg_is(p, 2, "status"))
        return R_CLUSTER;
    if (seg_is(p, 1, "cluster"))
        return R_CLUSTER;
    if (seg_is(p, 1, "auth"))
        return R_AUTH;
    return R_NONE;
}

static int etcd_probe_request(const ps_http_tx *tx, uint16_t server_port,
                              const struct ps_config *cfg)
{
    (void)tx;
    return ps_port_set_has(&cfg->etcd_ports, server_port) ? PS_PROBE_YES : PS_PROBE_NO;
}

static int etcd_probe_response(const ps_http_tx *tx)
{
    return (tx->resp_hdrs & PS_HTTP_RH_ETCD) ? PS_PROBE_YES : PS_PROBE_NO;
}

static void etcd_on_request(ps_http_tx *tx)
{
    ps_path p;
    uint32_t r = classify(tx, &p);
    tx->app_route = r;
    if (r == R_NONE)
        return;
    tx->app_flags |= PS_HTTP_WANT_RESP_BODY; /* error text: "user name is empty"... */
    if (r == R_RANGE || r == R_PUT)
        tx->app_flags |= PS_HTTP_WANT_REQ_BODY;
    if (r == R_RANGE) {
        tx->count_mode = PS_COUNT_KEY;
        strcpy(tx->count_key, "kvs");
    }
}

static int b64v(uint8_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes standard or URL-safe base64 (padding optional) into out; returns
 * the decoded length (bytes beyond outlen are dropped), -1 when invalid. */
static long b64_decode(const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    while (len > 0 && in[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++) {
        int v = b64v(in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o < outlen)
                out[o] = (uint8_t)(acc >> bits);
            o++;
        }
        acc &= 0xffu;
    }
    return (long)o;
}

/* A key as text: printable ASCII kept, other bytes as \xNN. */
static void key_text(const uint8_t *k, size_t n, char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\') {
            out[o++] = (char)k[i];
        } else if (o + 5 < cap) {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[k[i] >> 4];
            out[o++] = hex[k[i] & 15];
        } else {
            break;
        }
    }
    out[o] = '\0';
}

#define KEY_MAX 512

typedef struct range_req {
    uint8_t key[KEY_MAX], end[KEY_MAX];
    long key_len, end_len; /* -1 absent or invalid */
} range_req;

static void range_cb(void *ctx, const ps_jf_value *v)
{
    range_req *r = ctx;
    if (v->type != PS_JF_STRING)
        return;
    if (ps_jf_path_is(v, "key", false))
        r->key_len = b64_decode(v->raw, v->raw_len, r->key, sizeof(r->key));
    else if (ps_jf_path_is(v, "range_end", false) || ps_jf_path_is(v, "rangeEnd", false))
        r->end_len = b64_decode(v->raw, v->raw_len, r->end, sizeof(r->end));
}

static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, PS_MIN(an, bn));
    if (c)
        return c;
    return an < bn ? -1 : an > bn ? 1 : 0;
}

/* True when the range [key, end) holds Kubernetes secrets: the key is under
 * /registry/secrets/, or the range spans that prefix (end "\0" = every key
 * from key on; no end = the key alone). */
static bool covers_secrets(const range_req *r)
{
    static const uint8_t s[] = "/registry/secrets/";
    size_t sn = sizeof(s) - 1;
    size_t kn = (size_t)PS_MIN(r->key_len, (long)KEY_MAX);
    if (r->key_len < 0)
        return false;
    if (kn >= sn && memcmp(r->key, s, sn) == 0)
        return true;
    if (r->end_len <= 0)
        return false;
    size_t en = (size_t)PS_MIN(r->end_len, (long)KEY_MAX);
    if (bytes_cmp(r->key, kn, s, sn) > 0)
        return false;
    if (en == 1 && r->end[0] == 0)
        return true;
    return bytes_cmp(s, sn, r->end, en) < 0;
}

/* The gateway's auth errors come back as 400/401/403 with etcdserver text. */
static bool denied_answer(const ps_http_tx *tx)
{
    const ps_http_body *b = &tx->resp_body;
    static const char *const msgs[] = {"user name is empty", "permission denied",
                                       "invalid auth token", "Insufficient credentials"};
    if (!b->data || tx->status < 400 || tx->status >= 500)
        return false;
    for (size_t m = 0; m < PS_ARRAY_LEN(msgs); m++) {
        size_t n = strlen(msgs[m]);
        for (size_t i = 0; i + n <= b->len; i++)
            if (memcmp(b->data + i, msgs[m], n) == 0)
                return true;
    }
    return false;
}

static bool etcd_on_done(const ps_http_tx *tx, ps_event *ev)
{
    static const ps_rule *const rules[] = {NULL,        &r_version, &r_health, &r_metrics,
                                           &r_v2_keys,  &r_cluster, &r_range,  &r_put,
                                           &r_snapshot, &r_auth};
    uint32_t r = tx->app_route;
    if (r == R_NONE || r >= PS_ARRAY_LEN(rules))
        return false;
    const ps_rule *rule = rules[r];
    ps_path p;
    ps_path_normalize(tx->url, strnlen(tx->url, sizeof(tx->url)), &p);
    if (r == R_V2_KEYS) {
        bool write = strcmp(tx->method, "PUT") == 0 || strcmp(tx->method, "POST") == 0;
        rule = write ? &r_v2_put : &r_v2_keys;
        const char *k = p.nseg > 2 ? p.seg[2] - 1 : "/";
        ps_api_copy(ev->etcd_key, sizeof(ev->etcd_key), k, strlen(k));
    }
    if ((r == R_RANGE || r == R_PUT) && tx->req_body.data) {
        range_req req;
        req.key_len = req.end_len = -1;
        ps_jf_walk(tx->req_body.data, tx->req_body.len, 8, range_cb, &req);
        if (req.key_len >= 0)
            key_text(req.key, (size_t)PS_MIN(req.key_len, (long)KEY_MAX), ev->etcd_key,
                     sizeof(ev->etcd_key));
        if (req.end_len >= 0)
            key_text(req.end, (size_t)PS_MIN(req.end_len, (long)KEY_MAX), ev->etcd_range_end,
                     sizeof(ev->etcd_range_end));
        if (r == R_RANGE && covers_secrets(&req))
            rule = &r_range_secrets;
    }
    ps_api_fill(tx, rule, ev);
    if (denied_answer(tx))
        ev->outcome = PS_OUTCOME_DENIED;
    if (ps_api_tls_port_answer(tx))
        ev->flags |= PS_EVF_TLS_PORT_PLAINTEXT;
    if (r == R_RANGE && ev->outcome == PS_OUTCOME_SUCCEEDED && !tx->json_invalid)
        ev->objects = tx->json_items < 0 ? 0 : tx->json_items; /* no "kvs": nothing matched */
    return true;
}

const ps_app_dissector ps_dissector_etcd = {
    .name = "etcd",
    .probe_request = etcd_probe_request,
    .probe_response = etcd_probe_response,
    .on_request = etcd_on_request,
    .on_done = etcd_on_done,
};
