/* dissector.h - descriptors of stream dissectors and HTTP API dissectors, and their registry. */
#ifndef PS_DISSECTOR_H
#define PS_DISSECTOR_H

#include "ps_common.h"
#include "event.h"
#include "flow.h"
#include "http.h"

struct ps_config;
struct ps_app_ctx;

/* Probe results. */
enum { PS_PROBE_NO = 0, PS_PROBE_YES = 1 }; /* or PS_ERR_NEED_MORE */

/* A dissector of a TCP byte stream (HTTP/1.x, TLS, the HTTP/2 preface).
 * Which one reads a stream is decided from the first client bytes (probe);
 * ports are hints only. State is state_size() bytes owned by the worker and
 * must begin with a ps_app_stream (app.h), which init() binds to the flow. */
typedef struct ps_stream_dissector {
    const char *name;
    const uint16_t *ports; /* hint ports, may be NULL */
    size_t port_count;
    /* Decides from the first bytes of direction dir: PS_PROBE_YES,
     * PS_PROBE_NO or PS_ERR_NEED_MORE. Must not read past len. */
    int (*probe)(const uint8_t *buf, size_t len, int dir);
    size_t (*state_size)(void);
    /* Prepares zeroed state for flow f. */
    void (*init)(void *state, struct ps_app_ctx *app, ps_flow *f);
    /* In-order bytes; returns PS_OK, or a negative code once the stream is
     * no longer of interest (the worker then stops feeding it). */
    int (*parse)(void *state, int dir, const uint8_t *data, size_t len, ps_time_us ts);
    void (*gap)(void *state, int dir, uint32_t len, ps_time_us ts);
    /* Reports requests waiting since before now - timeout. */
    void (*expire)(void *state, ps_time_us now, ps_time_us timeout);
    /* The flow ends; release everything. */
    void (*close)(void *state, ps_time_us ts);
    /* Optional (NULL when unused). ctx_new makes a per-worker context
     * shared by this dissector's streams (pools, counters), NULL on
     * allocation failure; ctx_free releases it after every stream closed.
     * bind, called right after init, hands a stream that context and the
     * worker's event sink, for dissectors that report without HTTP. */
    void *(*ctx_new)(const struct ps_config *cfg);
    void (*ctx_free)(void *ctx);
    void (*bind)(void *state, void *ctx, ps_event_sink sink);
} ps_stream_dissector;

/* An API spoken over HTTP (Docker now; kubelet, API server, etcd later). */
typedef struct ps_app_dissector {
    const char *name;
    /* Whether this API serves the exchange, from what is known when the
     * request head is parsed (server port, request) - PS_PROBE_YES/NO. */
    int (*probe_request)(const ps_http_tx *tx, uint16_t server_port, const struct ps_config *cfg);
    /* Whether the response head carries this API's signature. */
    int (*probe_response)(const ps_http_tx *tx);
    /* Classifies the request; may ask the HTTP layer to count JSON items or
     * keep a body (tx->count_mode, tx->app_flags). */
    void (*on_request)(ps_http_tx *tx);
    /* Builds the event for a finished (or timed-out) exchange. Returns true
     * when the exchange is a detection. */
    bool (*on_done)(const ps_http_tx *tx, ps_event *ev);
} ps_app_dissector;

/* The registries, NULL-terminated, in probe order. */
extern const ps_stream_dissector *const ps_stream_dissectors[];
extern const ps_app_dissector *const ps_app_dissectors[];

/* Dissectors (each defined in its own file under dissectors/). */
extern const ps_stream_dissector ps_dissector_http;
extern const ps_stream_dissector ps_dissector_tls;
extern const ps_stream_dissector ps_dissector_h2;
extern const ps_app_dissector ps_dissector_docker;
extern const ps_app_dissector ps_dissector_kubelet;
extern const ps_app_dissector ps_dissector_kubeapi;
extern const ps_app_dissector ps_dissector_etcd;

#endif
