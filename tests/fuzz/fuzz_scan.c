/* fuzz_scan.c - libFuzzer target: arbitrary probe sequences (fixed-size records) into a small scan
 * detector. */
#include <string.h>

#include "scan.h"

/* One record: 24 bytes drive every field the detector reads, with the
 * addresses folded into a few /28s so sources and targets collide often. */
#define REC 24

static ps_addr addr_of(uint8_t fam, uint8_t hi, uint8_t lo)
{
    ps_addr a;
    memset(&a, 0, sizeof a);
    a.family = (fam & 1) ? 6 : 4;
    if (a.family == 4) {
        a.bytes[0] = 198;
        a.bytes[1] = 18;
        a.bytes[2] = hi & 3;
        a.bytes[3] = lo & 15;
    } else {
        a.bytes[0] = 0x20;
        a.bytes[1] = 0x01;
        a.bytes[2] = 0x0d;
        a.bytes[3] = 0xb8;
        a.bytes[14] = hi & 3;
        a.bytes[15] = lo & 15;
    }
    return a;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint16_t ports[8] = {2375, 10250, 6443, 22, 80, 8080, 2379, 5000};
    static const uint16_t wins[8] = {1024, 1025, 1200, 600, 65535, 64240, 2048, 0};
    if (size < 2)
        return 0;
    ps_scan_config c;
    ps_scan_config_default(&c);
    c.hash_key[0] = 1;
    c.hash_key[1] = 2;
    c.max_sources = 1 + data[0] % 8;
    c.hll_sketches = 1 + data[0] % c.max_sources;
    c.exact_targets = 1 + data[1] % 8;
    c.hll_bits = 4 + data[1] % 4;
    c.horizontal_hosts = 1 + (data[0] >> 4) % 5;
    c.vertical_ports = 1 + (data[1] >> 4) % 5;
    c.window_s = 1 + data[1] % 3;
    c.idle_timeout_s = 1 + data[0] % 5;
    c.report_rate = data[0] & 0x80 ? 1 : 0;
    c.report_burst = 2;
    c.suppressed_interval_s = 1;
    c.max_pending = 1 + data[1] % 4;
    ps_scan *s = ps_scan_new(&c);
    if (!s)
        return 0;
    data += 2;
    size -= 2;
    ps_time_us ts = 1000000;
    ps_scan_report r;
    char buf[8192];
    while (size >= REC) {
        const uint8_t *d = data;
        ps_probe p;
        memset(&p, 0, sizeof p);
        ts += (ps_time_us)d[0] * 50000; /* up to 12.75 s per step */
        if (d[1] & 0x80)
            ts -= 100000; /* time going backwards */
        p.ts = ts;
        p.ip_version = (d[1] & 0x40) ? 6 : 4;
        p.src = addr_of(d[1] >> 6, d[2], d[3]);
        p.dst = addr_of(d[1] >> 6, d[2] >> 2, d[4]);
        p.sport = (uint16_t)(d[5] << 8 | d[6]);
        p.dport = (d[7] & 0x80) ? (uint16_t)(d[7] << 8 | d[8]) : ports[d[7] & 7];
        p.flags = d[9];
        p.ttl = d[10];
        p.tos = (d[11] & 1) ? d[11] : 0;
        p.df = d[11] & 2;
        p.window = (d[11] & 4) ? (uint16_t)(d[12] << 8 | d[13]) : wins[d[12] & 7];
        p.seq = (uint32_t)d[14] << 24 | (uint32_t)d[15] << 16 | (uint32_t)d[16] << 8 | d[17];
        p.ack = (d[11] & 8) ? p.seq : 0;
        p.ip_id = (d[11] & 16) ? (uint16_t)(d[18] << 8 | d[19]) : 54321;
        if (d[11] & 32) {
            /* masscan identity holds */
            uint32_t dst = (uint32_t)p.dst.bytes[0] << 24 | (uint32_t)p.dst.bytes[1] << 16 |
                           (uint32_t)p.dst.bytes[2] << 8 | p.dst.bytes[3];
            p.ip_id = (uint16_t)((dst ^ p.dport ^ p.seq) & 0xffff);
        }
        p.opts_len = d[20] % 41;
        for (uint8_t j = 0; j < p.opts_len; j++)
            p.opts[j] = (uint8_t)(d[21] + j);
        if (d[20] & 0x80) {
            memcpy(p.opts, "\x02\x04\x05\xb4", 4);
            p.opts_len = 4;
        }
        p.payload_len = d[22];
        if (d[23] & 1)
            memcpy(p.eth_dst, "\x66\x55\x44\x33\x22\x11", 6);
        ps_scan_observe(s, &p);
        if (d[23] & 2)
            ps_scan_tick(s, ts);
        while (ps_scan_next_report(s, &r)) {
            ps_jw w;
            ps_jw_init(&w, buf, (d[23] & 4) ? 64 : sizeof buf);
            ps_jw_obj_begin(&w, NULL);
            ps_scan_report_json(&w, &r);
            ps_jw_obj_end(&w);
            (void)ps_jw_finish(&w);
        }
        data += REC;
        size -= REC;
    }
    ps_scan_flush(s, ts);
    while (ps_scan_next_report(s, &r))
        ;
    const ps_scan_stats *st = ps_scan_stats_get(s);
    if (st->sources_active > c.max_sources)
        __builtin_trap();
    ps_scan_free(s);
    return 0;
}
