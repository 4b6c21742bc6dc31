/* fuzz_decode.c - libFuzzer target: a link type byte, then frames split on "\xa5\x5a\xa5\x5a". */
#include <stdlib.h>
#include <string.h>

#include "decode.h"

static const int linktypes[] = {PS_LINK_NULL, PS_LINK_ETHERNET, PS_LINK_RAW_OLD, PS_LINK_RAW_OLD2,
                                PS_LINK_RAW,  PS_LINK_LOOP,     PS_LINK_SLL,     PS_LINK_IPV4,
                                PS_LINK_IPV6, PS_LINK_SLL2};

static const uint8_t delim[4] = {0xa5, 0x5a, 0xa5, 0x5a};

static void feed(ps_decoder *d, int lt, ps_time_us ts, const uint8_t *data, size_t n)
{
    /* An exactly sized copy, so ASan catches a read past the frame. */
    uint8_t *f = malloc(n ? n : 1);
    if (!f)
        return;
    memcpy(f, data, n);
    ps_packet p;
    int rc = ps_decode(d, lt, ts, f, (uint32_t)n, (uint32_t)n, &p);
    if (rc == PS_OK) {
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < p.payload_len; i++)
            sink ^= p.payload[i];
        for (uint32_t i = 0; i < p.tcp_opts_len; i++)
            sink ^= p.tcp_opts[i];
        if (p.payload >= f && p.payload <= f + n && p.payload_len > (size_t)(f + n - p.payload))
            abort();
        if (p.ip_version != 4 && p.ip_version != 6)
            abort();
        (void)sink;
    } else if (rc != PS_ERR_SKIP) {
        abort();
    }
    free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int lt = linktypes[(data[0] & 0x0f) % (sizeof linktypes / sizeof linktypes[0])];
    ps_decode_config cfg;
    ps_decode_config_default(&cfg);
    cfg.checksum_mode = (data[0] >> 4) % 3; /* AUTO, YES, NO */
    cfg.frag_max_datagrams = 4;
    cfg.frag_timeout_ms = 5;
    cfg.dedup_slots = 64;
    ps_decoder *d = ps_decoder_new(&cfg);
    if (!d)
        return 0;
    data++;
    size--;
    ps_time_us ts = 1000;
    while (size > 0) {
        const uint8_t *end = memmem(data, size, delim, sizeof delim);
        size_t n = end ? (size_t)(end - data) : size;
        feed(d, lt, ts, data, n);
        ts += 1500;
        if (!end)
            break;
        data += n + sizeof delim;
        size -= n + sizeof delim;
    }
    ps_decoder_free(d);
    return 0;
}
