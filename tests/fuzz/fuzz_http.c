/* fuzz_http.c - drives both directions of one HTTP connection with gaps and expiry. */
#include <stdlib.h>
#include <string.h>

#include "http.h"

static void on_request(void *ctx, ps_http_tx *tx)
{
    (void)ctx;
    /* Vary what the API layer asks for, from the URL. */
    size_t n = strlen(tx->url);
    uint8_t k = n ? (uint8_t)tx->url[n - 1] : 0;
    tx->app_flags = k & 3u;
    tx->count_mode = (uint8_t)((k >> 2) % 3);
    strcpy(tx->count_key, (k & 0x20) ? "items" : "Volumes");
}

static volatile uint8_t sink;

static void on_body(void *ctx, ps_http_tx *tx, int dir, const uint8_t *p, size_t n)
{
    (void)ctx;
    (void)tx;
    (void)dir;
    for (size_t i = 0; i < n; i++)
        sink = (uint8_t)(sink ^ p[i]);
}

static void on_done(void *ctx, ps_http_tx *tx)
{
    (void)ctx;
    if (strlen(tx->url) >= PS_HTTP_URL_MAX || strlen(tx->method) >= PS_HTTP_METHOD_MAX)
        abort();
}

static void on_timeout(void *ctx, ps_http_tx *tx)
{
    (void)ctx;
    if (tx->response_seen)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ps_http_pool *pool;
    static ps_http_conn *c;
    if (!pool) {
        ps_http_config cfg;
        ps_http_config_default(&cfg);
        cfg.max_header_bytes = 256;
        cfg.max_headers = 8;
        cfg.max_pipeline = 4;
        cfg.pool_txs = 6;
        cfg.pool_head_bufs = 2;
        cfg.pool_inflaters = 1;
        cfg.max_inflate_bytes = 4096;
        pool = ps_http_pool_new(&cfg);
        c = malloc(ps_http_conn_size());
        if (!pool || !c)
            abort();
    }
    ps_http_callbacks cb = {on_request, on_body, on_done, on_timeout, NULL};
    ps_http_conn_init(c, pool, &cb);
    ps_time_us ts = 1;
    size_t i = 0;
    while (i < size) {
        uint8_t b = data[i++];
        int dir = b & 1;
        unsigned kind = (b >> 1) & 7u;
        ts += b;
        if (kind == 0) {
            uint32_t len = i < size ? data[i++] : 1;
            ps_http_conn_gap(c, dir, len, ts);
            continue;
        }
        if (kind == 1) {
            ps_http_conn_expire(c, ts, 50);
            continue;
        }
        size_t len = kind == 7 ? size - i : (size_t)((b >> 4) + 1) * (kind - 1);
        if (len > size - i)
            len = size - i;
        ps_http_conn_feed(c, dir, data + i, len, ts);
        i += len;
    }
    ps_http_conn_close(c, ts);
    if (!ps_http_pool_idle(pool))
        abort();
    return 0;
}
