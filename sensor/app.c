/* app.c - turns finished HTTP exchanges into graded events for the API that served them. */
#include <stdlib.h>
#include <string.h>

#include "app.h"

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
    if (!a->http_pool || !a->ring || !a->servers) {
        ps_app_free(a);
        return NULL;
    }
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
        s->api->on_request(tx);
    }
    push_pending(a, s, tx->req_ts);
}

void ps_app_http_on_body(void *ctx, ps_http_tx *tx, int dir, const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)tx;
    (void)dir;
    (void)data;
    (void)len; /* no API keeps bodies yet (container create inspection comes later) */
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
    if (!s->api->on_done(tx, &ev))
        return;
    fill_tuple(&ev, s, tx);
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
    report(ctx, tx, false);
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
