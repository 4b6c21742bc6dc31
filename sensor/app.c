/* app.c - turns finished HTTP exchanges into graded events for the API that served them. */
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "client.h"
#include "http_parse.h"
#include "secrets.h"

#define PS_PENDING_SLOTS      65536u /* power of two */
#define PS_SERVER_CACHE_SLOTS 4096u

typedef struct pending {
    ps_app_stream *s;
    uint64_t flow_id;
    ps_time_us deadline;
} pending;

/* Servers that showed an API's signature on a port the config does not name,
 * so later connections are classified from their first request. */
typedef struct server_slot {
    ps_addr addr;
    uint16_t port;
    uint8_t api; /* index + 1 in ps_app_dissectors, 0 = empty */
} server_slot;

struct ps_app_ctx {
    const ps_config *cfg;
    ps_event_sink sink;
    ps_http_pool *http_pool;
    pending *ring;
    uint32_t head, tail; /* ring indices, tail - head = used */
    server_slot *servers;
    uint8_t *body_mem;   /* body_bufs buffers of body_cap bytes, reserved once */
    uint8_t **body_free; /* free list (stack) */
    uint32_t body_nfree;
    ps_app_stats stats;
};

ps_app_ctx *ps_app_new(const ps_config *cfg, ps_event_sink sink)
{
    ps_app_ctx *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = cfg;
    a->sink = sink;
    a->http_pool = ps_http_pool_new(&cfg->http);
    a->ring = calloc(PS_PENDING_SLOTS, sizeof(*a->ring));
    a->servers = calloc(PS_SERVER_CACHE_SLOTS, sizeof(*a->servers));
    a->body_mem = malloc((size_t)cfg->body_bufs * cfg->body_cap);
    a->body_free = calloc(cfg->body_bufs, sizeof(*a->body_free));
    if (!a->http_pool || !a->ring || !a->servers || !a->body_mem || !a->body_free) {
        ps_app_free(a);
        return NULL;
    }
    for (uint32_t i = 0; i < cfg->body_bufs; i++)
        a->body_free[a->body_nfree++] = a->body_mem + (size_t)i * cfg->body_cap;
    ps_secrets_configure(cfg->hmac_key, cfg->state_dir);
    return a;
}

void ps_app_free(ps_app_ctx *a)
{
    if (!a)
        return;
    if (a->http_pool)
        ps_http_pool_free(a->http_pool);
    free(a->ring);
    free(a->servers);
    free(a->body_mem);
    free(a->body_free);
    free(a);
}

ps_http_pool *ps_app_http_pool(ps_app_ctx *a)
{
    return a->http_pool;
}

const ps_app_stats *ps_app_stats_get(const ps_app_ctx *a)
{
    return &a->stats;
}

const ps_config *ps_app_config(const ps_app_ctx *a)
{
    return a->cfg;
}

void ps_app_stream_init(ps_app_stream *s, ps_app_ctx *a, ps_flow *f)
{
    s->app = a;
    s->flow = f;
    s->flow_id = f->id;
    s->api = NULL;
}

static uint32_t server_hash(const ps_addr *addr, uint16_t port)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < sizeof(addr->bytes); i++)
        h = (h ^ addr->bytes[i]) * 16777619u;
    h = (h ^ port) * 16777619u;
    return h & (PS_SERVER_CACHE_SLOTS - 1);
}

static int api_index(const ps_app_dissector *api)
{
    for (int i = 0; ps_app_dissectors[i]; i++)
        if (ps_app_dissectors[i] == api)
            return i;
    return -1;
}

static void remember_server(ps_app_ctx *a, const ps_flow *f, const ps_app_dissector *api)
{
    server_slot *slot = &a->servers[server_hash(&f->srv, f->sport)];
    int idx = api_index(api);
    if (idx < 0)
        return;
    slot->addr = f->srv;
    slot->port = f->sport;
    slot->api = (uint8_t)(idx + 1);
}

static const ps_app_dissector *known_server(const ps_app_ctx *a, const ps_flow *f)
{
    const server_slot *slot = &a->servers[server_hash(&f->srv, f->sport)];
    if (slot->api && slot->port == f->sport && memcmp(&slot->addr, &f->srv, sizeof(ps_addr)) == 0)
        return ps_app_dissectors[slot->api - 1];
    return NULL;
}

static void claim(ps_app_stream *s, const ps_app_dissector *api)
{
    int idx = api_index(api);
    s->api = api;
    if (idx >= 0 && (size_t)idx < PS_ARRAY_LEN(s->app->stats.api_flows))
        s->app->stats.api_flows[idx]++;
}

static void push_pending(ps_app_ctx *a, ps_app_stream *s, ps_time_us req_ts)
{
    if (a->tail - a->head >= PS_PENDING_SLOTS) {
        a->head++; /* drop the oldest: its request is still reported at flow end */
        a->stats.pending_dropped++;
    }
    pending *p = &a->ring[a->tail & (PS_PENDING_SLOTS - 1)];
    p->s = s;
    p->flow_id = s->flow_id;
    p->deadline = req_ts + (ps_time_us)a->cfg->response_timeout_s * PS_USEC_PER_SEC;
    a->tail++;
}

bool ps_app_bodies_idle(const ps_app_ctx *a)
{
    return a->body_nfree == a->cfg->body_bufs;
}

/* Fingerprints the credentials of a request head, so records can show
 * reuse without carrying the secret. */
static void fingerprint_credentials(ps_http_tx *tx)
{
    const ps_http_head *h = tx->req_head;
    for (uint32_t i = 0; h && i < h->num_hdrs; i++) {
        const ps_http_hdr *x = &h->hdrs[i];
        if (ps_http_hdr_is(x, "authorization") && !tx->auth_fp[0]) {
            uint32_t n = 0;
            while (n < x->value_len && x->value[n] != ' ' && n + 1 < sizeof(tx->auth_scheme))
                n++;
            memcpy(tx->auth_scheme, x->value, n);
            tx->auth_scheme[n] = '\0';
            ps_secret_fingerprint(x->value, x->value_len, tx->auth_fp, sizeof(tx->auth_fp));
        } else if (ps_http_hdr_is(x, "x-registry-auth") && !tx->registry_fp[0]) {
            ps_secret_fingerprint(x->value, x->value_len, tx->registry_fp, sizeof(tx->registry_fp));
        }
    }
}

void ps_app_http_on_request(void *ctx, ps_http_tx *tx)
{
    ps_app_stream *s = ctx;
    ps_app_ctx *a = s->app;
    if (!s->api) {
        const ps_app_dissector *api = known_server(a, s->flow);
        for (int i = 0; !api && ps_app_dissectors[i]; i++)
            if (ps_app_dissectors[i]->probe_request(tx, s->flow->sport, a->cfg) == PS_PROBE_YES)
                api = ps_app_dissectors[i];
        if (api)
            claim(s, api);
    }
    if (s->api) {
        tx->app_desc = s->api;
        fingerprint_credentials(tx); /* API traffic only: other HTTP never needs the key */
        s->api->on_request(tx);
    }
    push_pending(a, s, tx->req_ts);
}

void ps_app_http_on_body(void *ctx, ps_http_tx *tx, int dir, const uint8_t *data, size_t len)
{
    ps_app_stream *s = ctx;
    ps_app_ctx *a = s->app;
    ps_http_body *b = dir ? &tx->resp_body : &tx->req_body;
    if (len == 0 || (b->truncated && !b->data))
        return;
    if (!b->data) {
        if (a->body_nfree == 0) {
            a->stats.body_pool_empty++;
            b->truncated = true; /* not kept at all */
            return;
        }
        b->data = a->body_free[--a->body_nfree];
        b->cap = a->cfg->body_cap;
        b->len = 0;
        a->stats.bodies_kept++;
    }
    size_t room = b->cap - b->len;
    size_t n = len < room ? len : room;
    memcpy(b->data + b->len, data, n);
    b->len += (uint32_t)n;
    if (n < len && !b->truncated) {
        b->truncated = true;
        a->stats.bodies_truncated++;
    }
}

static void release_bodies(ps_app_ctx *a, ps_http_tx *tx)
{
    ps_http_body *bodies[2] = {&tx->req_body, &tx->resp_body};
    for (int i = 0; i < 2; i++) {
        if (bodies[i]->data && a->body_nfree < a->cfg->body_bufs)
            a->body_free[a->body_nfree++] = bodies[i]->data;
        memset(bodies[i], 0, sizeof(*bodies[i]));
    }
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void fill_tuple(ps_event *ev, const ps_app_stream *s, const ps_http_tx *tx)
{
    const ps_flow *f = s->flow;
    ev->flow_id = s->flow_id;
    ev->src = f->cli;
    ev->dst = f->srv;
    ev->sport = f->cport;
    ev->dport = f->sport;
    ev->proto = f->proto;
    ev->ts = tx->req_ts;
    ev->done_ts = tx->response_seen ? (tx->done_ts ? tx->done_ts : tx->resp_ts) : tx->done_ts;
}

/* The transaction log (--http-log): every exchange as parsed, API or not. */
static void log_http(ps_app_stream *s, const ps_http_tx *tx)
{
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = PS_EV_HTTP;
    fill_tuple(&ev, s, tx);
    copy_str(ev.method, sizeof(ev.method), tx->method);
    copy_str(ev.url, sizeof(ev.url), tx->url);
    copy_str(ev.host, sizeof(ev.host), tx->host);
    copy_str(ev.user_agent, sizeof(ev.user_agent), tx->user_agent);
    copy_str(ev.server, sizeof(ev.server), tx->server);
    ev.status = tx->response_seen ? tx->status : 0;
    ev.req_version = tx->req_version;
    ev.resp_version = tx->response_seen ? tx->resp_version : 0;
    ev.http_anomalies = tx->anomalies;
    ev.json_items = tx->count_mode != PS_COUNT_NONE ? tx->json_items : -1;
    s->app->sink.submit(s->app->sink.ctx, &ev);
}

static void report(ps_app_stream *s, ps_http_tx *tx, bool timeout)
{
    ps_app_ctx *a = s->app;
    if (a->cfg->http_log && !timeout)
        log_http(s, tx);
    if (!s->api && tx->response_seen) {
        /* A response signature (e.g. Server: Docker/...) claims the flow
         * even on a port the config does not list. */
        for (int i = 0; ps_app_dissectors[i]; i++) {
            if (ps_app_dissectors[i]->probe_response(tx) == PS_PROBE_YES) {
                claim(s, ps_app_dissectors[i]);
                remember_server(a, s->flow, ps_app_dissectors[i]);
                break;
            }
        }
    }
    if (!s->api) {
        a->stats.calls_unclassified++;
        return;
    }
    if (tx->app_desc != s->api) {
        tx->app_desc = s->api;
        s->api->on_request(tx); /* classify late: the route table needs it */
    }
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = PS_EV_API_CALL;
    ev.objects = -1;
    ev.allowed = -1;
    if (!s->api->on_done(tx, &ev)) {
        /* A port claim can be wrong (a Docker daemon on 8080): another
         * API's signature in the answer takes the flow over. */
        const ps_app_dissector *other = NULL;
        for (int i = 0; tx->response_seen && !other && ps_app_dissectors[i]; i++)
            if (ps_app_dissectors[i] != s->api &&
                ps_app_dissectors[i]->probe_response(tx) == PS_PROBE_YES)
                other = ps_app_dissectors[i];
        if (!other)
            return;
        claim(s, other);
        remember_server(a, s->flow, other);
        tx->app_desc = other;
        tx->app_flags = 0;
        tx->count_mode = PS_COUNT_NONE;
        other->on_request(tx);
        tx->json_items = -1; /* counted for the wrong API: unknown */
        memset(&ev, 0, sizeof(ev));
        ev.kind = PS_EV_API_CALL;
        ev.objects = -1;
        ev.allowed = -1;
        if (!other->on_done(tx, &ev))
            return;
    }
    fill_tuple(&ev, s, tx);
    ps_client_id cid;
    ps_client_identify(tx->user_agent, ev.rule ? ev.rule->app : "", tx->url, &cid);
    copy_str(ev.client_tool, sizeof(ev.client_tool), cid.tool);
    copy_str(ev.client_version, sizeof(ev.client_version), cid.version);
    copy_str(ev.client_program, sizeof(ev.client_program), cid.program);
    copy_str(ev.auth_scheme, sizeof(ev.auth_scheme), tx->auth_scheme);
    copy_str(ev.auth_fp, sizeof(ev.auth_fp), tx->auth_fp);
    copy_str(ev.registry_fp, sizeof(ev.registry_fp), tx->registry_fp);
    if (timeout) {
        ev.outcome = PS_OUTCOME_UNKNOWN;
        ev.done_ts = tx->req_ts + (ps_time_us)a->cfg->response_timeout_s * PS_USEC_PER_SEC;
        a->stats.timeouts++;
    } else {
        ev.late = tx->timeout_reported;
    }
    a->stats.events++;
    a->sink.submit(a->sink.ctx, &ev);
}

void ps_app_http_on_done(void *ctx, ps_http_tx *tx)
{
    ps_app_stream *s = ctx;
    report(s, tx, false);
    release_bodies(s->app, tx);
}

void ps_app_http_on_timeout(void *ctx, ps_http_tx *tx)
{
    report(ctx, tx, true);
}

void ps_app_tick(ps_app_ctx *a, ps_time_us now)
{
    ps_time_us timeout = (ps_time_us)a->cfg->response_timeout_s * PS_USEC_PER_SEC;
    while (a->head != a->tail) {
        pending *p = &a->ring[a->head & (PS_PENDING_SLOTS - 1)];
        if (p->deadline > now)
            break;
        a->head++;
        ps_app_stream *s = p->s;
        if (s->flow_id != p->flow_id || !s->desc || !s->desc->expire)
            continue; /* the flow ended; its requests were reported then */
        s->desc->expire(s->dstate, now, timeout);
    }
}
