/* fuzz_e2e.c - the whole pipeline: length-prefixed frames through a worker (decode, flows, HTTP,
 * Docker, TLS, h2, nDPI) and a correlator writing to an output without sinks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "correlate.h"
#include "output.h"
#include "worker.h"

/* The JSON checker is not the code under test: no coverage callbacks in it. */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "../unit/json_check.h"
#pragma clang attribute pop

static ps_config cfg;
static ps_output *out;
static ps_correlator *c;
static ps_worker *w;
static ps_time_us ts = 1751364000ull * PS_USEC_PER_SEC;
static char path[64];
static FILE *rd; /* the sink file, read back after every input */

/* Every line the pipeline wrote is one JSON object in valid UTF-8; then
 * the file is emptied for the next input (the sink appends). Not
 * instrumented, and not inlined into code that is. */
__attribute__((no_sanitize("coverage"), noinline)) static void check_output(void)
{
    static char line[1 << 20];
    if (ps_output_flush(out) != PS_OK)
        abort();
    rewind(rd);
    while (fgets(line, sizeof(line), rd) != NULL) {
        size_t n = strlen(line);
        if (n == 0 || line[n - 1] != '\n')
            abort(); /* a line longer than any record, or cut */
        n--;
        if (!jc_utf8_valid((const uint8_t *)line, n) || !jc_valid(line, n) || line[0] != '{')
            abort();
    }
    if (ftruncate(fileno(rd), 0) != 0)
        abort();
}

/* Input: records of [u16 big-endian length][u8 flags][frame]; flags bit 0
 * advances packet time by 10 s (timeouts), bit 1 picks raw IP framing.
 * The worker lives across inputs, as in a sensor (nDPI's set-up is costly);
 * every input ends by flushing all flows and aggregates. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!out) {
        ps_config_default(&cfg);
        strcpy(cfg.sensor_name, "fuzz");
        cfg.flow.max_flows = 64;
        cfg.flow.memcap = 8u << 20;
        cfg.flow.syn_cache_slots = 64;
        cfg.http.pool_txs = 64;
        cfg.http.pool_head_bufs = 16;
        cfg.http.pool_inflaters = 2;
        cfg.max_aggregates = 64;
        cfg.decode.checksum_mode = PS_CSUM_NO;
        cfg.ndpi_max_flows = 32;
        cfg.tls_alert_untrusted = true;
        ps_net_parse("10.0.0.0/8", &cfg.tls_trusted.nets[0]);
        cfg.tls_trusted.count = 1;
        cfg.http_log = true;
        out = ps_output_new();
        char err[256];
        /* tmpfs when there is one: the file is written, read back and
         * truncated for every input */
        strcpy(path, "/dev/shm/fuzz_e2e.XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0) {
            strcpy(path, "/tmp/fuzz_e2e.XXXXXX");
            fd = mkstemp(path);
        }
        if (!out || fd < 0 || ps_output_add(out, path, err, sizeof(err)) != PS_OK)
            abort();
        rd = fdopen(fd, "r+");
        unlink(path); /* the sink keeps it open */
        c = out ? ps_correlator_new(&cfg, out) : NULL;
        w = c ? ps_worker_new(&cfg, ps_correlator_sink(c)) : NULL;
        if (!w)
            abort();
    }
    size_t off = 0;
    while (size - off >= 3) {
        size_t len = (size_t)data[off] << 8 | data[off + 1];
        uint8_t flags = data[off + 2];
        off += 3;
        len = PS_MIN(len, size - off);
        ts += (flags & 1) ? 10 * PS_USEC_PER_SEC : 1000;
        ps_worker_packet(w, (flags & 2) ? 101 : 1, ts, data + off, (uint32_t)len, (uint32_t)len);
        ps_correlator_tick(c, ts);
        off += len;
    }
    ps_worker_flush(w, ts);
    ps_correlator_flush(c, ts);
    check_output();
    ts += 1000 * PS_USEC_PER_SEC; /* the next input starts well after */
    return 0;
}
