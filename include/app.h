/* app.h - application layer: routes HTTP exchanges to API dissectors and emits graded events. */
#ifndef PS_APP_H
#define PS_APP_H

#include "ps_common.h"
#include "config.h"
#include "dissector.h"
#include "event.h"
#include "flow.h"
#include "http.h"

/* Per-worker application context. */
typedef struct ps_app_ctx ps_app_ctx;

typedef struct ps_app_stats {
    uint64_t events;             /* events submitted */
    uint64_t calls_unclassified; /* exchanges no API claimed */
    uint64_t api_flows[8];       /* flows claimed, by index in ps_app_dissectors */
    uint64_t timeouts;           /* requests reported unknown after the response timeout */
    uint64_t pending_dropped;    /* response-timeout ring full */
    uint64_t bodies_kept;        /* request/response bodies kept for inspection */
    uint64_t bodies_truncated;   /* bodies longer than http.body_cap_kb */
    uint64_t body_pool_empty;    /* no body buffer free: body not inspected */
} ps_app_stats;

/* Creates the context; `cfg` and `sink` must outlive it. Reserves the HTTP
 * pool and the response-timeout ring. NULL on allocation failure. */
ps_app_ctx *ps_app_new(const ps_config *cfg, ps_event_sink sink);
void ps_app_free(ps_app_ctx *a);

ps_http_pool *ps_app_http_pool(ps_app_ctx *a);
const ps_app_stats *ps_app_stats_get(const ps_app_ctx *a);
const ps_config *ps_app_config(const ps_app_ctx *a);

/* Common head of every stream dissector's state: which flow, which API. */
typedef struct ps_app_stream {
    ps_app_ctx *app;
    ps_flow *flow;
    uint64_t flow_id;
    const ps_app_dissector *api;
    void *dstate; /* the stream dissector's own state (for expiry) */
    const ps_stream_dissector *desc;
} ps_app_stream;

/* Binds `s` to flow `f`. */
void ps_app_stream_init(ps_app_stream *s, ps_app_ctx *a, ps_flow *f);

/* HTTP callbacks whose ctx is a ps_app_stream. */
void ps_app_http_on_request(void *ctx, ps_http_tx *tx);
void ps_app_http_on_body(void *ctx, ps_http_tx *tx, int dir, const uint8_t *data, size_t len);
void ps_app_http_on_done(void *ctx, ps_http_tx *tx);
void ps_app_http_on_timeout(void *ctx, ps_http_tx *tx);

/* True when every body buffer is back in the pool (leak check for tests). */
bool ps_app_bodies_idle(const ps_app_ctx *a);

/* Checks the response-timeout ring as of `now` and asks the streams whose
 * requests are overdue to report them. */
void ps_app_tick(ps_app_ctx *a, ps_time_us now);

#endif
