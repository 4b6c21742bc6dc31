/* scan_mem.c - benchmark: 10 million synthetic probes through the scan detector, showing fixed
 * memory and ns/probe. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "scan.h"

#define PROBES 10000000ULL

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void set4(ps_addr *a, uint32_t v)
{
    memset(a, 0, sizeof *a);
    a->family = 4;
    a->bytes[0] = (uint8_t)(v >> 24);
    a->bytes[1] = (uint8_t)(v >> 16);
    a->bytes[2] = (uint8_t)(v >> 8);
    a->bytes[3] = (uint8_t)v;
}

/* Scenario a: one masscan-like source to 10M distinct (host, port)
 * targets; b: 1M spoofed sources, 10 probes each. */
static int run(int scenario, const ps_scan_config *cfg)
{
    ps_scan *s = ps_scan_new(cfg);
    if (!s) {
        fprintf(stderr, "scan_mem: ps_scan_new failed\n");
        return 1;
    }
    size_t mem0 = ps_scan_memory(s);
    long rss0 = maxrss_kib();
    ps_probe p;
    memset(&p, 0, sizeof p);
    p.ip_version = 4;
    p.flags = PS_TCP_SYN;
    p.ttl = 255;
    p.window = 1024;
    p.sport = 40000;
    uint64_t reports = 0, x = 0x9e3779b97f4a7c15ULL;
    ps_scan_report r;
    double t0 = now_s();
    for (uint64_t i = 0; i < PROBES; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p.ts = 1751364000ULL * PS_USEC_PER_SEC + i * 10; /* 100 kpps */
        uint32_t tgt = (uint32_t)(i / cfg->nports);
        set4(&p.dst, 0x0a000000u + tgt); /* 10.0.0.0/8 space, never sent */
        p.dport = cfg->ports[i % cfg->nports];
        p.seq = (uint32_t)x;
        uint32_t d = 0x0a000000u + tgt;
        p.ip_id = (uint16_t)((d ^ p.dport ^ p.seq) & 0xffff);
        if (scenario == 0)
            set4(&p.src, 0xc6120042u);
        else
            set4(&p.src, 0xc0000000u + (uint32_t)(i % 1000000)); /* 1M spoofed */
        ps_scan_observe(s, &p);
        if ((i & 0xffff) == 0) {
            ps_scan_tick(s, p.ts);
            while (ps_scan_next_report(s, &r))
                reports++;
        }
    }
    ps_scan_flush(s, p.ts);
    while (ps_scan_next_report(s, &r))
        reports++;
    double dt = now_s() - t0;
    const ps_scan_stats *st = ps_scan_stats_get(s);
    printf("%s: %llu probes, %.1f ns/probe, ps_scan_memory %zu bytes (before %zu, cap %llu), "
           "maxrss %ld -> %ld KiB, sources created %llu evicted %llu, sketches %llu stolen %llu, "
           "reports %llu suppressed %llu\n",
           scenario == 0 ? "(a) 1 source -> 10M targets" : "(b) 1M spoofed sources",
           (unsigned long long)PROBES, dt * 1e9 / (double)PROBES, ps_scan_memory(s), mem0,
           (unsigned long long)cfg->memcap, rss0, maxrss_kib(),
           (unsigned long long)st->sources_created, (unsigned long long)st->sources_evicted,
           (unsigned long long)st->sketch_acquired, (unsigned long long)st->sketch_stolen,
           (unsigned long long)reports, (unsigned long long)st->reports_suppressed);
    if (scenario == 0 && r.kind != PS_SCAN_KIND_SUPPRESSED)
        printf("    final: tool %s targets %llu (estimated %d, true 10000000/%u = %u hosts x %u "
               "ports)\n",
               r.tool_name, (unsigned long long)r.targets, r.targets_estimated, cfg->nports,
               (unsigned)(PROBES / cfg->nports), cfg->nports);
    int bad = ps_scan_memory(s) != mem0 || mem0 > cfg->memcap;
    ps_scan_free(s);
    return bad;
}

int main(void)
{
    ps_scan_config cfg;
    ps_scan_config_default(&cfg);
    printf(
        "scan_mem: defaults max_sources %u, exact %u, hll 2^%u x %u sketches, reserved %zu bytes\n",
        cfg.max_sources, cfg.exact_targets, cfg.hll_bits, cfg.hll_sketches,
        ps_scan_config_memory(&cfg));
    int bad = run(0, &cfg);
    bad |= run(1, &cfg);
    return bad;
}
