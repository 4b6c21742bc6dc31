/* fuzz_tls.c - hello parsers, JA3/JA4 and the TLS and h2 stream dissectors on arbitrary bytes. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "dissector.h"
#include "tls_hello.h"

static ps_config cfg;
static void *tls_ctx;

static void sink_submit(void *ctx, const ps_event *ev)
{
    (void)ctx;
    if (ev->kind == PS_EV_TLS && (strnlen(ev->tls.sni, PS_TLS_SNI_MAX) >= PS_TLS_SNI_MAX ||
                                  strnlen(ev->tls.ja4, sizeof(ev->tls.ja4)) >= sizeof(ev->tls.ja4)))
        abort();
}

/* Feeds data to a stream dissector as a two-way stream: the first byte
 * picks segment sizes and where the server starts answering. */
static void drive(const ps_stream_dissector *d, void *ctx, const uint8_t *data, size_t size)
{
    static ps_flow f;
    void *st = calloc(1, d->state_size());
    if (!st)
        return;
    memset(&f, 0, sizeof(f));
    f.id = 1;
    f.cli.family = f.srv.family = 4;
    f.sport = size > 1 && (data[1] & 1) ? 6443 : 2379;
    ps_event_sink sink = {.submit = sink_submit};
    d->init(st, NULL, &f);
    if (d->bind)
        d->bind(st, ctx, sink);
    uint8_t k = size ? data[0] : 0;
    size_t seg = (size_t)(k & 31) + 1, split = size / 2 + (k >> 5);
    split = PS_MIN(split, size);
    int stop = 0;
    for (size_t off = 1; off < size && stop >= 0; off += seg) {
        size_t n = PS_MIN(seg, size - off);
        int dir = off >= split;
        if ((k & 0x80) && off % 97 == 0)
            d->gap(st, dir, 10, (ps_time_us)off);
        stop = d->parse(st, dir, data + off, n, (ps_time_us)off);
    }
    d->close(st, (ps_time_us)size);
    free(st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!tls_ctx) {
        ps_config_default(&cfg);
        cfg.tls_alert_untrusted = true;
        ps_net_parse("10.0.0.0/8", &cfg.tls_trusted.nets[0]);
        cfg.tls_trusted.count = 1;
        tls_ctx = ps_dissector_tls.ctx_new(&cfg);
    }
    ps_tls_hello h;
    ps_tls_server_hello sh;
    char ja3s[4096], ja3[33], ja4[40];
    int rc = ps_tls_client_hello_parse(data, size, &h);
    if (rc > (int)size)
        abort();
    if (rc > 0) {
        ps_tls_ja3(&h, ja3s, sizeof(ja3s), ja3);
        if (ps_tls_ja4(&h, ja4, sizeof(ja4)) == PS_OK && strlen(ja4) != 36)
            abort();
    }
    rc = ps_tls_server_hello_parse(data, size, &sh);
    if (rc > (int)size)
        abort();
    /* As a record stream: make the start look like a ClientHello record. */
    uint8_t *buf = malloc(size + 6);
    if (!buf)
        return 0;
    static const uint8_t head[6] = {0x16, 0x03, 0x01, 0x06, 0x00, 0x01};
    buf[0] = size ? data[0] : 0;
    memcpy(buf + 1, head, sizeof(head) - 1);
    if (size > 1)
        memcpy(buf + 6, data + 1, size - 1);
    drive(&ps_dissector_tls, tls_ctx, buf, size ? size + 5 : 6);
    drive(&ps_dissector_h2, NULL, data, size);
    free(buf);
    return 0;
}
