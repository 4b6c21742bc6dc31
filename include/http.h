/* http.h - incremental HTTP/1.x parser for both directions of a connection. */
#ifndef PS_HTTP_H
#define PS_HTTP_H

#include "ps_common.h"

#define PS_HTTP_METHOD_MAX    24
#define PS_HTTP_URL_MAX       1024
#define PS_HTTP_HOST_MAX      256
#define PS_HTTP_UA_MAX        256
#define PS_HTTP_VAL_MAX       96
#define PS_HTTP_COUNT_KEY_MAX 16

/* Anomalies, as bits in ps_http_tx.anomalies and counters in ps_http_stats. */
enum ps_http_anomaly {
    PS_HA_REQUEST_LINE_INVALID = 0, /* not METHOD SP target SP HTTP/x.y */
    PS_HA_REQUEST_LINE_SPACES,      /* extra or odd whitespace in request line */
    PS_HA_MISSING_PROTOCOL,         /* HTTP/0.9 style request line */
    PS_HA_HEADER_TOO_LONG,          /* header block over the cap */
    PS_HA_TOO_MANY_HEADERS,
    PS_HA_HEADER_NO_COLON,
    PS_HA_HEADER_FOLDED,   /* obsolete line folding */
    PS_HA_DUPLICATE_CL,    /* repeated Content-Length, same value */
    PS_HA_CONFLICTING_CL,  /* repeated Content-Length, different values */
    PS_HA_INVALID_CL,      /* not a decimal number / overflow */
    PS_HA_TE_AND_CL,       /* Transfer-Encoding together with Content-Length */
    PS_HA_TE_UNKNOWN,      /* Transfer-Encoding other than chunked */
    PS_HA_CHUNK_INVALID,   /* bad chunk size line */
    PS_HA_CHUNK_EXTENSION, /* chunk extension present */
    PS_HA_HOST_MISSING,    /* HTTP/1.1 request without Host */
    PS_HA_HOST_AMBIGUOUS,  /* several Host headers, or absolute URI host differs */
    PS_HA_URL_TRUNCATED,   /* target longer than PS_HTTP_URL_MAX */
    PS_HA_BARE_LF,         /* LF without CR as line end */
    PS_HA_NUL_IN_HEADER,
    PS_HA_RESPONSE_INVALID,    /* unparsable status line */
    PS_HA_UNMATCHED_RESPONSE,  /* response with no request waiting */
    PS_HA_PIPELINE_CAP,        /* too many outstanding requests */
    PS_HA_BODY_TRUNCATED,      /* connection ended inside a body */
    PS_HA_GZIP_ERROR,          /* Content-Encoding gzip that failed to inflate */
    PS_HA_GZIP_BOMB,           /* inflated size beyond the cap */
    PS_HA_GAP,                 /* bytes lost inside the HTTP stream */
    PS_HA_JUNK_BEFORE_REQUEST, /* bytes skipped to find a request line */
    PS_HA_MAX
};

/* How a response body's JSON should be counted (set by the API layer in
 * on_request). NONE: not at all; ARRAY: elements of a top-level array;
 * KEY: elements of the array that is the value of top-level key count_key. */
enum ps_http_count_mode { PS_COUNT_NONE = 0, PS_COUNT_ARRAY, PS_COUNT_KEY };

/* A body kept by the API layer from its preallocated pool: at most cap
 * bytes of it; truncated when more arrived. The HTTP layer never touches it. */
typedef struct ps_http_body {
    uint8_t *data; /* NULL: not kept */
    uint32_t len, cap;
    bool truncated;
} ps_http_body;

/* Bits of ps_http_tx.resp_hdrs. */
#define PS_HTTP_RH_AUDIT_ID 0x1u /* Audit-Id (kube-apiserver) */
#define PS_HTTP_RH_K8S_PF   0x2u /* X-Kubernetes-Pf-* (API priority and fairness) */
#define PS_HTTP_RH_ETCD     0x4u /* X-Etcd-Cluster-Id / X-Etcd-Index */

/* One request/response exchange. Strings are NUL-terminated copies of the
 * wire bytes (cut at their cap, never decoded), so they outlive packets. */
typedef struct ps_http_tx {
    uint32_t index; /* 0-based position on the connection */
    ps_time_us req_ts, resp_ts, done_ts;

    /* Request. */
    char method[PS_HTTP_METHOD_MAX];
    char url[PS_HTTP_URL_MAX]; /* request target as sent */
    char host[PS_HTTP_HOST_MAX];
    char user_agent[PS_HTTP_UA_MAX];
    char req_content_type[PS_HTTP_VAL_MAX];
    char upgrade[PS_HTTP_VAL_MAX]; /* request Upgrade header */
    uint8_t req_version;           /* 9, 10, 11 */
    bool url_truncated;
    bool req_chunked;
    uint64_t req_body_len; /* decoded body bytes seen */

    /* Response (status 0: none seen). */
    uint16_t status;
    uint8_t resp_version;
    char reason[PS_HTTP_VAL_MAX];
    char server[PS_HTTP_VAL_MAX];
    char api_version[32]; /* Api-Version header (Docker) */
    char ostype[32];      /* Ostype header (Docker) */
    char resp_content_type[PS_HTTP_VAL_MAX];
    bool has_api_version, has_ostype, has_docker_experimental;
    bool resp_chunked, resp_gzip;
    uint64_t resp_body_len; /* decoded body bytes seen */

    /* JSON counting of the response body (see enum ps_http_count_mode). */
    uint8_t count_mode;
    char count_key[PS_HTTP_COUNT_KEY_MAX];
    int64_t json_items; /* -1 until a count is known */
    bool json_invalid;

    uint32_t anomalies; /* bit (1u << enum ps_http_anomaly) */

    /* Set by the API layer in on_request; the HTTP layer keeps them. */
    const void *app_desc;
    uint32_t app_route;
    uint32_t app_flags;

    /* The parsed request head, valid only during the on_request callback
     * (NULL otherwise): lets the API layer read any header (Authorization,
     * Accept, X-Registry-Auth) without the HTTP layer copying long values. */
    const struct ps_http_head *req_head;
    /* Response headers that mark an API server (PS_HTTP_RH_*). */
    uint32_t resp_hdrs;
    /* Secrets seen in the request, as fingerprints (set by the API layer). */
    char auth_scheme[16]; /* Authorization scheme ("Bearer", "Basic"), "" none */
    char auth_fp[32];     /* "hmac-sha256:<16 hex>" of the Authorization value */
    char registry_fp[32]; /* same, of X-Registry-Auth */
    /* Bodies kept by the API layer (app.c's pool; PS_HTTP_WANT_*_BODY). */
    ps_http_body req_body, resp_body;

    bool response_seen; /* status line + headers parsed */
    bool timeout_reported;
} ps_http_tx;

/* Callbacks into the API layer. */
typedef struct ps_http_callbacks {
    /* Request head parsed. The callee may set count_mode/count_key and the
     * app_* fields. */
    void (*on_request)(void *ctx, ps_http_tx *tx);
    /* Decoded (de-chunked, inflated) body bytes of direction dir (0 request,
     * 1 response); only called when the tx's app_flags has
     * PS_HTTP_WANT_BODY for that direction. */
    void (*on_body)(void *ctx, ps_http_tx *tx, int dir, const uint8_t *data, size_t len);
    /* Exchange finished: response complete, or the connection ended / was
     * upgraded / failed with the request unanswered (status 0). The tx is
     * recycled after the call returns. */
    void (*on_done)(void *ctx, ps_http_tx *tx);
    /* Request has waited longer than the response timeout; the tx stays
     * queued (timeout_reported set) and on_done follows later. */
    void (*on_timeout)(void *ctx, ps_http_tx *tx);
    void *ctx;
} ps_http_callbacks;

#define PS_HTTP_WANT_REQ_BODY  0x1u
#define PS_HTTP_WANT_RESP_BODY 0x2u

typedef struct ps_http_config {
    uint32_t max_header_bytes;  /* request/response head cap, default 16384 */
    uint32_t max_headers;       /* default 128 */
    uint32_t max_pipeline;      /* outstanding requests per connection, default 16 */
    uint64_t max_inflate_bytes; /* inflated bytes per body, default 64 MiB */
    uint32_t pool_txs;          /* transactions per worker, default 16384 */
    uint32_t pool_head_bufs;    /* partial-head buffers per worker, default 4096 */
    uint32_t pool_inflaters;    /* gzip/deflate decoders per worker (~80 KiB each), default 64 */
} ps_http_config;

void ps_http_config_default(ps_http_config *cfg);

typedef struct ps_http_stats {
    uint64_t requests, responses, txs_done, upgrades;
    uint64_t pool_exhausted; /* tx, buffer or inflater pool empty: not tracked/decoded */
    uint64_t ignored_bytes;  /* skipped while resynchronising or after a failure */
    uint64_t anomalies[PS_HA_MAX];
} ps_http_stats;

/* Per-worker storage for transactions and partial-head buffers, reserved
 * once. Caller owns it; free with ps_http_pool_free() after every
 * connection using it is closed. */
typedef struct ps_http_pool ps_http_pool;
ps_http_pool *ps_http_pool_new(const ps_http_config *cfg);
void ps_http_pool_free(ps_http_pool *p);
const ps_http_stats *ps_http_pool_stats(const ps_http_pool *p);

/* True when every transaction, head buffer and inflater is back in the
 * pool (all connections closed); a leak check for tests and shutdown. */
bool ps_http_pool_idle(const ps_http_pool *p);

/* Connection state; its size is ps_http_conn_size() and it holds no
 * pointer the caller must free apart from via ps_http_conn_close(). */
typedef struct ps_http_conn ps_http_conn;
size_t ps_http_conn_size(void);

/* Prepares `c` (ps_http_conn_size() bytes owned by the caller). */
void ps_http_conn_init(ps_http_conn *c, ps_http_pool *pool, const ps_http_callbacks *cb);

/* Feeds in-order stream bytes of direction `dir` (0 client->server).
 * Consumes everything it is given (bytes it cannot use are counted).
 * Returns PS_OK, or PS_ERR_BAD_INPUT once the direction failed for good
 * (the connection then ignores further bytes of that direction), or
 * PS_ERR_STATE after a 101 upgrade (HTTP has ended on this connection). */
int ps_http_conn_feed(ps_http_conn *c, int dir, const uint8_t *data, size_t len, ps_time_us ts);

/* `len` bytes of direction `dir` were lost: resynchronise on the next
 * message boundary where possible. */
void ps_http_conn_gap(ps_http_conn *c, int dir, uint32_t len, ps_time_us ts);

/* Reports (on_timeout) requests waiting for a response since before
 * now - timeout. */
void ps_http_conn_expire(ps_http_conn *c, ps_time_us now, ps_time_us timeout);

/* Ends the connection: every queued tx gets on_done, buffers go back to
 * the pool. `c` may be reused after ps_http_conn_init(). */
void ps_http_conn_close(ps_http_conn *c, ps_time_us ts);

/* True when the first bytes of a client stream look like an HTTP/1.x
 * request: returns 1 match, 0 no match, PS_ERR_NEED_MORE undecided. */
int ps_http_probe_request(const uint8_t *buf, size_t len);

/* True when the first bytes of a server stream look like an HTTP/1.x
 * response ("HTTP/1."): 1, 0 or PS_ERR_NEED_MORE. */
int ps_http_probe_response(const uint8_t *buf, size_t len);

/* Stable dotted name of anomaly `a` (e.g. "http.conflicting_content_length"). */
const char *ps_http_anomaly_name(int a);

#endif
