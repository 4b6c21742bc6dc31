/* fuzz_h2.c - libFuzzer target: h2c streams (preface, frame framing, HPACK) in both directions. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "h2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
static int events;

static void submit(void *ctx, const ps_event *ev)
{
    (void)ctx;
    events++;
    if (ev->kind != PS_EV_API_CALL || ev->rule == NULL || ev->outcome >= PS_OUTCOME_MAX ||
        strnlen(ev->url, sizeof(ev->url)) == sizeof(ev->url) ||
        strnlen(ev->user_agent, sizeof(ev->user_agent)) == sizeof(ev->user_agent) ||
        strnlen(ev->method, sizeof(ev->method)) == sizeof(ev->method))
        abort();
    if (ev->status > 999)
        abort();
}

/* Input: byte 0 picks the server port (etcd or not) and whether the
 * preface is sent for the client; then chunks [u8 head][bytes]: head bit 0
 * is the direction, 0x80 a gap, the rest the chunk length (1..63; 0 = the
 * rest of the input). Each chunk is fed in an exactly sized copy. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    const ps_stream_dissector *d = &ps_dissector_h2;
    uint8_t ctl = data[0];
    data++;
    size--;
    ps_flow f;
    memset(&f, 0, sizeof(f));
    f.id = 7;
    f.cli.family = f.srv.family = 4;
    f.proto = 6;
    f.cport = 40000;
    f.sport = (ctl & 1) ? 2379 : 8080;
    void *st = calloc(1, d->state_size());
    if (st == NULL)
        return 0;
    events = 0;
    d->init(st, NULL, &f);
    ps_event_sink sink = {.submit = submit};
    d->bind(st, NULL, sink);
    ps_time_us ts = 1000;
    int stopped = 0;
    if (!(ctl & 2)) {
        /* The probe must agree with the parser on the preface, whole or split. */
        size_t cut = (size_t)(ctl >> 3) % sizeof(preface);
        if (ps_h2_probe_preface((const uint8_t *)preface, cut) !=
            (cut < sizeof(preface) - 1 ? PS_ERR_NEED_MORE : 1))
            abort();
        d->parse(st, PS_DIR_TO_SERVER, (const uint8_t *)preface, cut, ts);
        d->parse(st, PS_DIR_TO_SERVER, (const uint8_t *)preface + cut, sizeof(preface) - 1 - cut,
                 ts);
    }
    size_t i = 0;
    while (i < size && !stopped) {
        uint8_t h = data[i++];
        int dir = h & 1;
        ts += 100;
        if (h & 0x80) {
            d->gap(st, dir, (uint32_t)(h >> 1) + 1, ts);
            continue;
        }
        size_t n = (size_t)(h >> 1) & 63u;
        if (n == 0 || n > size - i)
            n = size - i;
        uint8_t *chunk = malloc(n ? n : 1);
        if (chunk == NULL)
            break;
        memcpy(chunk, data + i, n);
        int rc = d->parse(st, dir, chunk, n, ts);
        free(chunk);
        if (rc != PS_OK && rc != PS_ERR_BAD_INPUT && rc != PS_ERR_STATE)
            abort();
        /* The worker stops feeding a stream that said it is done. */
        stopped = rc != PS_OK;
        i += n;
    }
    d->expire(st, ts, 1);
    d->close(st, ts);
    if (events > 1)
        abort(); /* one event per connection at most */
    free(st);
    return 0;
}
