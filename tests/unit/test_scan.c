/* test_scan.c - unit tests for scan detection: tool fingerprints, thresholds, sketches, caps, rate
 * limit, captures. */
#include <CUnit/Basic.h>
#include <math.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "hll.h"
#include "json_check.h"
#include "json_writer.h"
#include "scan.h"

#define SEC  PS_USEC_PER_SEC
#define T0   (1751364000ULL * SEC)
#define NET  0xc6120000u /* 198.18.0.0 */
#define SCAN 0xc6120042u /* 198.18.0.66 */

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

static ps_addr a4(uint32_t v)
{
    ps_addr a;
    memset(&a, 0, sizeof a);
    a.family = 4;
    a.bytes[0] = (uint8_t)(v >> 24);
    a.bytes[1] = (uint8_t)(v >> 16);
    a.bytes[2] = (uint8_t)(v >> 8);
    a.bytes[3] = (uint8_t)v;
    return a;
}

static void cfg_test(ps_scan_config *c)
{
    ps_scan_config_default(c);
    c->hash_key[0] = 0x0123456789abcdefULL;
    c->hash_key[1] = 0xfedcba9876543210ULL;
    c->report_rate = 0; /* unlimited unless a test says otherwise */
    c->max_sources = 1024;
    c->hll_sketches = 64;
}

/* Base SYN: Linux connect() (DF, TTL 64, window 64240, MSS/SACK/TS/WS). */
static ps_probe syn(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, ps_time_us ts)
{
    static const uint8_t linux_opts[20] = {2, 4, 5, 0xb4, 4, 2, 8, 10, 0, 0,
                                           0, 1, 0, 0,    0, 0, 1, 3,  3, 7};
    ps_probe p;
    memset(&p, 0, sizeof p);
    p.ts = ts;
    p.src = a4(src);
    p.dst = a4(dst);
    p.sport = sport;
    p.dport = dport;
    p.ip_version = 4;
    p.flags = PS_TCP_SYN;
    p.ttl = 64;
    p.df = true;
    p.ip_id = (uint16_t)rnd();
    p.window = 64240;
    p.seq = rnd();
    memcpy(p.opts, linux_opts, sizeof linux_opts);
    p.opts_len = sizeof linux_opts;
    memcpy(p.eth_dst, "\x02\x00\xc6\x12\x00\x02", 6);
    return p;
}

static uint16_t mc_id(uint32_t dst, uint16_t dport, uint32_t seq)
{
    return (uint16_t)((dst ^ dport ^ seq) & 0xffff);
}

static ps_probe masscan132(uint32_t src, uint32_t dst, uint16_t dport, ps_time_us ts)
{
    ps_probe p = syn(src, dst, 41234, dport, ts);
    p.ttl = 255;
    p.df = false;
    p.window = 1024;
    p.opts_len = 0;
    memset(p.opts, 0, sizeof p.opts);
    p.ip_id = mc_id(dst, dport, p.seq);
    return p;
}

static ps_probe masscan_master(uint32_t src, uint32_t dst, uint16_t dport, ps_time_us ts)
{
    ps_probe p = masscan132(src, dst, dport, ts);
    p.window = 1025;
    memcpy(p.opts, "\x02\x04\x05\xb4", 4);
    p.opts_len = 4;
    p.sport = (rnd() & 1) ? 50000 : 50016;
    return p;
}

static ps_probe zmap2(uint32_t src, uint32_t dst, uint16_t dport, ps_time_us ts)
{
    ps_probe p = syn(src, dst, (uint16_t)(32768 + rnd() % 28232), dport, ts);
    p.ttl = 255;
    p.df = false;
    p.window = 65535;
    p.ip_id = 54321;
    p.opts_len = 0;
    return p;
}

static ps_probe zmap41(uint32_t src, uint32_t dst, uint16_t dport, ps_time_us ts)
{
    static const uint8_t o[12] = {2, 4, 5, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
    ps_probe p = syn(src, dst, (uint16_t)(32768 + rnd() % 28232), dport, ts);
    p.ttl = 64;
    p.df = false;
    p.window = 65535;
    memcpy(p.opts, o, sizeof o);
    p.opts_len = sizeof o;
    return p;
}

static ps_probe nmap(uint32_t src, uint32_t dst, uint16_t dport, uint32_t seq, uint16_t sport,
                     uint16_t window, ps_time_us ts)
{
    ps_probe p = syn(src, dst, sport, dport, ts);
    p.ttl = (uint8_t)(37 + rnd() % 23);
    p.df = false;
    p.window = window;
    p.seq = seq;
    memcpy(p.opts, "\x02\x04\x05\xb4", 4);
    p.opts_len = 4;
    return p;
}

static ps_scan *mk(const ps_scan_config *c)
{
    ps_scan *s = ps_scan_new(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* Drains every report; returns how many, keeping the last in *last. */
static int drain(ps_scan *s, ps_scan_report *last)
{
    int n = 0;
    ps_scan_report r = {0};
    while (ps_scan_next_report(s, &r)) {
        if (last)
            *last = r;
        n++;
    }
    return n;
}

/* ---- config ------------------------------------------------------------ */

static void t_config(void)
{
    ps_scan_config c;
    char err[128];
    ps_scan_config_default(&c);
    CU_ASSERT_EQUAL(c.nports, 14);
    CU_ASSERT_EQUAL(c.horizontal_hosts, 25);
    CU_ASSERT_EQUAL(c.vertical_ports, 15);
    CU_ASSERT_EQUAL(c.window_s, 300);
    CU_ASSERT_EQUAL(ps_scan_config_check(&c, err, sizeof err), PS_OK);
    CU_ASSERT(ps_scan_config_memory(&c) <= c.memcap);

    ps_scan_config b = c;
    b.nports = 0;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, err, sizeof err), PS_ERR_CONFIG);
    b = c;
    b.nports = PS_SCAN_MAX_PORTS + 1;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, err, sizeof err), PS_ERR_CONFIG);
    b = c;
    b.exact_targets = PS_SCAN_EXACT_MAX;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_OK);
    b.exact_targets = PS_SCAN_EXACT_MAX + 1;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_ERR_CONFIG);
    b = c;
    b.fingerprint_k = 1;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_ERR_CONFIG);
    b.fingerprint_k = PS_SCAN_FP_K_MAX + 1;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_ERR_CONFIG);
    b = c;
    b.hll_bits = 17;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_ERR_CONFIG);
    b = c;
    b.hll_sketches = b.max_sources + 1;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_ERR_CONFIG);
    /* memcap at exactly the reservation passes, one byte less fails */
    b = c;
    b.memcap = ps_scan_config_memory(&b);
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, NULL, 0), PS_OK);
    b.memcap--;
    CU_ASSERT_EQUAL(ps_scan_config_check(&b, err, sizeof err), PS_ERR_CONFIG);
    CU_ASSERT_PTR_NULL(ps_scan_new(&b));
    CU_ASSERT(strstr(err, "memcap") != NULL);

    ps_scan *s = mk(&c);
    CU_ASSERT_EQUAL(ps_scan_memory(s), ps_scan_config_memory(&c));
    ps_scan_free(s);
}

static void t_wants_and_copy(void)
{
    uint8_t opts[40];
    for (int i = 0; i < 40; i++)
        opts[i] = (uint8_t)(i + 1);
    ps_packet p;
    memset(&p, 0, sizeof p);
    p.ip_proto = 6;
    p.ip_version = 4;
    p.src = a4(SCAN);
    p.dst = a4(NET | 2);
    p.tcp_flags = PS_TCP_ACK;
    p.window = 501;
    CU_ASSERT_FALSE(ps_scan_wants(&p));
    p.tcp_flags = PS_TCP_SYN;
    CU_ASSERT_TRUE(ps_scan_wants(&p));
    p.tcp_flags = PS_TCP_SYN | PS_TCP_ACK;
    CU_ASSERT_TRUE(ps_scan_wants(&p));
    p.tcp_flags = PS_TCP_RST;
    CU_ASSERT_TRUE(ps_scan_wants(&p));
    p.tcp_flags = PS_TCP_ACK | PS_TCP_PSH;
    p.window = 1200;
    CU_ASSERT_TRUE(ps_scan_wants(&p));
    p.window = 600;
    CU_ASSERT_TRUE(ps_scan_wants(&p));
    p.ip_proto = 17;
    CU_ASSERT_FALSE(ps_scan_wants(&p));

    /* Options of every length 0..40 copy exactly. */
    p.ip_proto = 6;
    p.tcp_opts = opts;
    for (uint8_t n = 0; n <= 40; n++) {
        ps_probe pr;
        p.tcp_opts_len = n;
        ps_probe_from_packet(&pr, &p);
        CU_ASSERT_EQUAL(pr.opts_len, n);
        CU_ASSERT(memcmp(pr.opts, opts, n) == 0);
        CU_ASSERT(pr.dst.bytes[3] == 2 && pr.window == 600);
    }
    p.tcp_opts = NULL;
    p.tcp_opts_len = 12;
    ps_probe pr;
    ps_probe_from_packet(&pr, &p);
    CU_ASSERT_EQUAL(pr.opts_len, 0);
}

/* ---- fingerprints ------------------------------------------------------ */

static void t_masscan_k2(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    ps_scan_report r = {0};
    rng_state = 11;
    ps_probe p1 = masscan132(SCAN, NET | 7, 2375, T0);
    ps_scan_observe(s, &p1);
    CU_ASSERT_EQUAL(drain(s, NULL), 0); /* one packet names nothing */
    /* A retry (same target, same seq and ID) is still one target. */
    p1.ts += SEC;
    ps_scan_observe(s, &p1);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_probe p2 = masscan132(SCAN, NET | 9, 10250, T0 + 2 * SEC);
    ps_scan_observe(s, &p2);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_FINGERPRINT);
    CU_ASSERT_STRING_EQUAL(r.rule, PS_SCAN_RULE_FINGERPRINT);
    CU_ASSERT_STRING_EQUAL(r.tool_name, "masscan");
    CU_ASSERT_STRING_EQUAL(r.tool_version, "1.3.x");
    CU_ASSERT_EQUAL(r.phase, PS_SCAN_PHASE_FIRST);
    CU_ASSERT_EQUAL(r.targets, 2);
    CU_ASSERT_FALSE(r.targets_estimated);
    CU_ASSERT_EQUAL(r.features.masscan_identity, 3);
    CU_ASSERT_EQUAL(r.features.ttl, 255);
    CU_ASSERT_EQUAL(r.features.window, 1024);
    CU_ASSERT_EQUAL(r.probes, 3);
    CU_ASSERT_EQUAL(r.nports, 2);
    CU_ASSERT_EQUAL(r.dport, 2375);
    CU_ASSERT(r.dst.bytes[3] == 7);
    CU_ASSERT(r.src.bytes[3] == 0x42);
    ps_scan_free(s);

    /* The same two packets with the ID off by one bit: no name. */
    s = mk(&c);
    rng_state = 11;
    p1 = masscan132(SCAN, NET | 7, 2375, T0);
    p2 = masscan132(SCAN, NET | 9, 10250, T0 + 2 * SEC);
    p2.ip_id ^= 0x0100;
    ps_scan_observe(s, &p1);
    ps_scan_observe(s, &p2);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_scan_free(s);
}

/* Each gate condition alone stops the identity. */
static void t_masscan_gate(void)
{
    ps_scan_config c;
    cfg_test(&c);
    for (int v = 0; v < 8; v++) {
        ps_scan *s = mk(&c);
        rng_state = 99;
        for (uint32_t h = 1; h <= 4; h++) {
            ps_probe p = masscan132(SCAN, NET | h, 2375, T0 + h * SEC);
            switch (v) {
            case 0:
                p.df = true;
                break;
            case 1:
                p.tos = 0x10;
                break;
            case 2:
                p.window = 1026;
                break;
            case 3:
                p.payload_len = 1;
                break;
            case 4:
                p.ack = 5;
                break;
            case 5:
                memcpy(p.opts, "\x02\x04\x05\xb5", 4);
                p.opts_len = 4;
                break;
            case 6:
                p.ip_version = 6;
                break;
            case 7:
                p.opts_len = 3;
                memcpy(p.opts, "\x02\x04\x05", 3);
                break;
            }
            ps_scan_observe(s, &p);
        }
        ps_scan_report r = {0};
        int n = drain(s, &r);
        CU_ASSERT_EQUAL(n, 0);
        ps_scan_free(s);
    }
}

static void t_masscan_master_and_banner(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    ps_scan_report r = {0};
    rng_state = 5;
    ps_probe p = masscan_master(SCAN, NET | 3, 2375, T0);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    p = masscan_master(SCAN, NET | 4, 2376, T0 + 100);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_STRING_EQUAL(r.tool_name, "masscan-master");
    CU_ASSERT_STRING_EQUAL(r.tool_version, "master");
    CU_ASSERT_EQUAL(r.features.opts_len, 4);
    ps_scan_free(s);

    /* Banner mode only (capture started mid-scan): window 1200 ACK and
     * data segments and a window 600 RST, identity holding. */
    s = mk(&c);
    static const uint16_t wins[3] = {1200, 1200, 600};
    static const uint8_t flags[3] = {PS_TCP_ACK, PS_TCP_ACK | PS_TCP_PSH, PS_TCP_RST};
    for (int j = 0; j < 3; j++) {
        ps_probe b =
            masscan132(SCAN, NET | (uint32_t)(10 + j), 2375, T0 + (uint64_t)(unsigned)j * SEC);
        b.flags = flags[j];
        b.window = wins[j];
        b.ack = rnd();
        b.payload_len = j == 1 ? 25 : 0;
        b.ip_id = mc_id(NET | (uint32_t)(10 + j), 2375, b.seq);
        ps_scan_observe(s, &b);
        CU_ASSERT_EQUAL(drain(s, &r), j == 1 ? 1 : 0);
    }
    CU_ASSERT_STRING_EQUAL(r.tool_name, "masscan");
    CU_ASSERT_EQUAL(r.features.banner_segments, 2);
    CU_ASSERT_FALSE(r.features.have_syn);
    /* A banner segment with another window is nothing. */
    ps_probe b = masscan132(SCAN + 1, NET | 10, 2375, T0);
    b.flags = PS_TCP_ACK;
    b.window = 1201;
    ps_scan_observe(s, &b);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->ignored, 1);
    ps_scan_free(s);
}

static void t_zmap(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan_report r = {0};
    for (int v = 0; v < 3; v++) {
        ps_scan *s = mk(&c);
        rng_state = 77;
        for (uint32_t h = 1; h <= 3; h++) {
            ps_probe p = v == 0   ? zmap2(SCAN, NET | h, 2375, T0 + h)
                         : v == 1 ? zmap2(SCAN, NET | h, 2375, T0 + h)
                                  : zmap41(SCAN, NET | h, 2375, T0 + h);
            if (v == 1) {
                memcpy(p.opts, "\x02\x04\x05\xb4", 4);
                p.opts_len = 4;
            }
            ps_scan_observe(s, &p);
            CU_ASSERT_EQUAL(drain(s, &r), h == 2 ? 1 : 0);
        }
        CU_ASSERT_STRING_EQUAL(r.tool_name, "zmap");
        CU_ASSERT_STRING_EQUAL(r.tool_version, v == 0 ? "2.x" : v == 1 ? "3.0-4.0" : ">=4.1");
        CU_ASSERT_EQUAL(v == 2 ? r.features.zmap_options : r.features.zmap_ipid, 2);
        ps_scan_free(s);
    }
    /* Windows itself: same options but DF and TTL 128 -> nothing; zmap 4.1
     * options cut at every prefix -> nothing. */
    ps_scan *s = mk(&c);
    for (uint32_t h = 1; h <= 3; h++) {
        ps_probe p = zmap41(SCAN, NET | h, 2375, T0 + h);
        p.df = true;
        p.ttl = 128;
        ps_scan_observe(s, &p);
    }
    for (uint8_t n = 0; n < 12; n++)
        for (uint32_t h = 1; h <= 3; h++) {
            ps_probe p = zmap41(SCAN + 1 + n, NET | h, 2375, T0 + h);
            p.opts_len = n;
            ps_scan_observe(s, &p);
        }
    /* zmap 2.x ID with a kernel TTL */
    for (uint32_t h = 1; h <= 3; h++) {
        ps_probe p = zmap2(SCAN + 100, NET | h, 2375, T0 + h);
        p.ttl = 64;
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_scan_free(s);
}

static void t_nmap(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan_report r = {0};
    ps_scan *s = mk(&c);
    rng_state = 3;
    ps_probe p = nmap(SCAN, NET | 2, 2375, 0xdeadbeef, 45000, 1024, T0);
    ps_scan_observe(s, &p);
    /* a retry uses seq ^ 0x00010001 and port + 1: no match yet */
    p = nmap(SCAN, NET | 2, 2375, 0xdeadbeef ^ 0x00010001, 45001, 1024, T0 + 1);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    p = nmap(SCAN, NET | 2, 10250, 0xdeadbeef, 45000, 1024, T0 + 2);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_STRING_EQUAL(r.tool_name, "nmap");
    CU_ASSERT_STRING_EQUAL(r.tool_version, "");
    CU_ASSERT_EQUAL(r.features.nmap_shared_seq, 1);
    ps_scan_free(s);

    /* old window, different hosts */
    s = mk(&c);
    p = nmap(SCAN, NET | 2, 2375, 77, 60000, 3072, T0);
    ps_scan_observe(s, &p);
    p = nmap(SCAN, NET | 3, 2375, 77, 60000, 3072, T0 + 1);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_STRING_EQUAL(r.tool_version, "<2011");
    ps_scan_free(s);

    /* different seq each time, or DF, or other options: nothing */
    s = mk(&c);
    for (uint32_t h = 1; h <= 5; h++) {
        p = nmap(SCAN, NET | h, 2375, h, 45000, 1024, T0 + h);
        ps_scan_observe(s, &p);
        p = nmap(SCAN + 1, NET | h, 2375, 5, 45000, 1024, T0 + h);
        p.df = true;
        ps_scan_observe(s, &p);
        p = nmap(SCAN + 2, NET | h, 2375, 5, 45000, 1024, T0 + h);
        p.opts_len = 8;
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_scan_free(s);
}

/* ---- false positives --------------------------------------------------- */

static bool ref_identity(const ps_probe *p)
{
    uint32_t d = (uint32_t)p->dst.bytes[0] << 24 | (uint32_t)p->dst.bytes[1] << 16 |
                 (uint32_t)p->dst.bytes[2] << 8 | p->dst.bytes[3];
    return (uint16_t)(d ^ p->dport ^ p->seq) == p->ip_id;
}

static void t_linux_control(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    rng_state = 20250701;
    /* 3000 connect() SYNs: 100 clients, 30 each, to 6 servers x 5 ports. */
    int id_hits = 0;
    for (int i = 0; i < 3000; i++) {
        uint32_t cli = NET | 0x100u | (uint32_t)(i % 100);
        uint16_t port = c.ports[(i / 100) % 5];
        ps_probe p = syn(cli, NET | (uint32_t)(2 + (i / 500)), (uint16_t)(32768 + rnd() % 28232),
                         port, T0 + (uint64_t)i * 1000);
        id_hits += ref_identity(&p);
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_scan_flush(s, T0 + 10 * SEC);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->detections, 0);
    (void)id_hits; /* DF closes the gate whatever the ID */
    ps_scan_free(s);

    /* Worst case: 100,000 SYNs that pass the gate (no DF, window 1024)
     * with random ID and seq, 1000 sources x 100 distinct targets on
     * container ports (below the sweep thresholds). Single identity hits happen; k=2 keeps
     * "masscan" from being named (p ~ 1e-6 per source). */
    s = mk(&c);
    id_hits = 0;
    rng_state = 42;
    for (uint32_t src = 0; src < 1000; src++)
        for (uint32_t j = 0; j < 100; j++) {
            ps_probe p = masscan132(NET | 0x10000u | src, NET | 0x200u | j, 443, T0 + j);
            p.ip_id = (uint16_t)rnd();
            p.dport = c.ports[j % 14];
            id_hits += ref_identity(&p);
            ps_scan_observe(s, &p);
        }
    ps_scan_report r = {0};
    int masscan = 0;
    while (ps_scan_next_report(s, &r))
        masscan += r.tool == PS_SCAN_TOOL_MASSCAN;
    ps_scan_flush(s, T0 + 200 * SEC);
    while (ps_scan_next_report(s, &r))
        masscan += r.tool == PS_SCAN_TOOL_MASSCAN;
    CU_ASSERT_EQUAL(masscan, 0);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->by_tool[PS_SCAN_TOOL_MASSCAN], 0);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->detections, 0);
    printf("\n    %d single identity hits among 100000 gate-passing random SYNs ", id_hits);
    ps_scan_free(s);
}

/* ---- thresholds -------------------------------------------------------- */

static int sweep_reports(uint32_t hosts, uint32_t ports, bool container, uint64_t step)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    rng_state = 8;
    ps_time_us t = T0;
    int kind = -1;
    for (uint32_t h = 0; h < hosts; h++)
        for (uint32_t j = 0; j < ports; j++) {
            uint16_t port =
                container ? (j == 0 ? 2375 : (uint16_t)(20000 + j)) : (uint16_t)(30000 + j);
            if (!container && j == 0)
                port = 22;
            ps_probe p = syn(SCAN, NET | (h + 1), 50000, port, t);
            ps_scan_observe(s, &p);
            /* repeats never count */
            ps_scan_observe(s, &p);
            t += step;
        }
    ps_scan_report r = {0};
    while (ps_scan_next_report(s, &r))
        if (r.phase == PS_SCAN_PHASE_FIRST)
            kind = r.kind;
    ps_scan_free(s);
    return kind;
}

static void t_thresholds(void)
{
    CU_ASSERT_EQUAL(sweep_reports(24, 1, true, SEC), -1);
    CU_ASSERT_EQUAL(sweep_reports(25, 1, true, SEC), PS_SCAN_KIND_HORIZONTAL);
    CU_ASSERT_EQUAL(sweep_reports(1, 14, true, SEC), -1);
    CU_ASSERT_EQUAL(sweep_reports(1, 15, true, SEC), PS_SCAN_KIND_VERTICAL);
    /* vertical on non-container ports only: not ours */
    CU_ASSERT_EQUAL(sweep_reports(1, 40, false, SEC), -1);
    /* 25 hosts spread over two windows (13 s apart: 24 x 13 > 300) */
    CU_ASSERT_EQUAL(sweep_reports(25, 1, true, 13 * SEC), -1);
    CU_ASSERT_EQUAL(sweep_reports(25, 1, true, 12 * SEC), PS_SCAN_KIND_HORIZONTAL);

    /* Custom thresholds: 3 hosts */
    ps_scan_config c;
    cfg_test(&c);
    c.horizontal_hosts = 3;
    c.vertical_ports = 2;
    ps_scan *s = mk(&c);
    ps_scan_report r = {0};
    ps_probe p = syn(SCAN, NET | 1, 1, 8080, T0);
    ps_scan_observe(s, &p);
    p = syn(SCAN, NET | 2, 1, 8080, T0);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    p = syn(SCAN, NET | 2, 1, 9999, T0);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_VERTICAL);
    CU_ASSERT_STRING_EQUAL(r.rule, PS_SCAN_RULE_VERTICAL);
    CU_ASSERT_STRING_EQUAL(r.tool_name, "unknown");
    p = syn(SCAN, NET | 3, 1, 8080, T0 + 1);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, NULL), 0); /* no update inside the window */
    ps_scan_flush(s, T0 + 2);
    CU_ASSERT_EQUAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.phase, PS_SCAN_PHASE_FINAL);
    CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_HORIZONTAL); /* upgraded */
    CU_ASSERT_EQUAL(r.end, PS_SCAN_END_FLUSH);
    CU_ASSERT_EQUAL(r.targets, 4);
    CU_ASSERT_EQUAL(r.peak_hosts_per_port, 3);
    CU_ASSERT_EQUAL(r.peak_ports_per_host, 2);
    ps_scan_free(s);
}

/* ---- counting ---------------------------------------------------------- */

static void t_exact_to_sketch(void)
{
    for (uint32_t n = 64; n <= 65; n++) {
        ps_scan_config c;
        cfg_test(&c);
        ps_scan *s = mk(&c);
        ps_scan_report r = {0};
        for (uint32_t h = 0; h < n; h++) {
            ps_probe p = syn(SCAN, NET | (h + 1), 1, 2375, T0 + h);
            ps_scan_observe(s, &p);
        }
        drain(s, NULL);
        ps_scan_flush(s, T0 + n);
        CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
        CU_ASSERT_EQUAL(r.targets_estimated, n > 64);
        CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sketch_acquired, n > 64 ? 1 : 0);
        if (n == 64) {
            CU_ASSERT_EQUAL(r.targets, 64);
        } else {
            CU_ASSERT(r.targets >= 63 && r.targets <= 67);
        }
        ps_scan_free(s);
    }
}

static void t_hll_100k(void)
{
    double sum = 0.0, worst = 0.0;
    const int runs = 8;
    for (int run = 0; run < runs; run++) {
        ps_scan_config c;
        cfg_test(&c);
        c.hash_key[0] += (uint64_t)(unsigned)run * 0x9e3779b97f4a7c15ULL;
        ps_scan *s = mk(&c);
        const uint32_t n = 100000;
        for (uint32_t j = 0; j < n; j++) {
            ps_probe p = syn(SCAN, NET | (j / 14), 1, c.ports[j % 14], T0 + j * 100);
            ps_scan_observe(s, &p);
            if (j % 3 == 0)
                ps_scan_observe(s, &p); /* repeats */
        }
        ps_scan_report r = {0};
        drain(s, NULL);
        ps_scan_flush(s, T0 + n * 100ULL);
        CU_ASSERT_EQUAL(drain(s, &r), 1);
        CU_ASSERT_TRUE(r.targets_estimated);
        double err = fabs((double)r.targets - n) / n;
        sum += err;
        worst = err > worst ? err : worst;
        CU_ASSERT(err < 0.10);
        ps_scan_free(s);
    }
    printf("\n    HLL 2^10 at 100k: mean |err| %.2f%%, worst %.2f%% ", 100 * sum / runs,
           100 * worst);
    CU_ASSERT(sum / runs < 0.05);

    /* the estimator itself, direct */
    uint8_t reg[1 << 12];
    memset(reg, 0, sizeof reg);
    CU_ASSERT(ps_hll_estimate(reg, 12) < 0.5);
    rng_state = 1;
    for (int j = 0; j < 10; j++) {
        uint64_t h = (uint64_t)rnd() << 32 | rnd();
        ps_hll_add(reg, 12, h);
    }
    double e = ps_hll_estimate(reg, 12);
    CU_ASSERT(e > 9.5 && e < 10.5);
    CU_ASSERT_EQUAL(ps_hll_estimate(reg, 3), 0.0);
}

static void t_sketch_steal(void)
{
    ps_scan_config c;
    cfg_test(&c);
    c.hll_sketches = 2;
    c.exact_targets = 8;
    ps_scan *s = mk(&c);
    for (uint32_t src = 0; src < 3; src++)
        for (uint32_t h = 0; h < 200; h++) {
            ps_probe p = syn(SCAN + src, NET | (h + 1), 1, 2375, T0 + src * 1000 + h);
            ps_scan_observe(s, &p);
        }
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sketch_acquired, 3);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sketch_stolen, 1);
    drain(s, NULL);
    /* the robbed source keeps its count and continues in a new sketch */
    for (uint32_t h = 200; h < 300; h++) {
        ps_probe p = syn(SCAN, NET | (h + 1), 1, 2375, T0 + 5000 + h);
        ps_scan_observe(s, &p);
    }
    ps_scan_flush(s, T0 + 9000);
    ps_scan_report r = {0};
    int seen = 0;
    while (ps_scan_next_report(s, &r)) {
        if (r.src.bytes[3] == 0x42) {
            CU_ASSERT(r.targets >= 280 && r.targets <= 320);
            seen++;
        } else {
            CU_ASSERT(r.targets >= 185 && r.targets <= 215);
        }
    }
    CU_ASSERT_EQUAL(seen, 1);
    ps_scan_free(s);
}

static void t_source_cap(void)
{
    for (uint32_t extra = 0; extra <= 1; extra++) {
        ps_scan_config c;
        cfg_test(&c);
        c.max_sources = 16;
        c.hll_sketches = 1;
        ps_scan *s = mk(&c);
        for (uint32_t i = 0; i < 16 + extra; i++) {
            ps_probe p = syn(NET | 0x1000u | i, NET | 2, 1, 2375, T0 + i);
            ps_scan_observe(s, &p);
        }
        const ps_scan_stats *st = ps_scan_stats_get(s);
        CU_ASSERT_EQUAL(st->sources_active, 16);
        CU_ASSERT_EQUAL(st->sources_created, 16 + extra);
        CU_ASSERT_EQUAL(st->sources_evicted, extra);
        CU_ASSERT_EQUAL(ps_scan_memory(s), ps_scan_config_memory(&c));
        ps_scan_free(s);
    }

    /* A reported scanner survives a flood of one-packet sources. */
    ps_scan_config c;
    cfg_test(&c);
    c.max_sources = 16;
    c.hll_sketches = 1;
    ps_scan *s = mk(&c);
    rng_state = 1;
    ps_probe p = masscan132(SCAN, NET | 2, 2375, T0);
    ps_scan_observe(s, &p);
    p = masscan132(SCAN, NET | 3, 2375, T0);
    ps_scan_observe(s, &p);
    CU_ASSERT_EQUAL(drain(s, NULL), 1);
    for (uint32_t i = 0; i < 1000; i++) {
        ps_probe q = syn(0x0a000000u | i, NET | 2, 1, 2375, T0 + i);
        ps_scan_observe(s, &q);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sources_evicted, 1000 - 15);
    p = masscan132(SCAN, NET | 4, 2375, T0 + 2000);
    ps_scan_observe(s, &p);
    ps_scan_flush(s, T0 + 3000);
    ps_scan_report r = {0};
    CU_ASSERT_EQUAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.targets, 3); /* state kept: same detection */
    CU_ASSERT_EQUAL(r.scan_id, 1);
    ps_scan_free(s);
}

/* ---- reporting --------------------------------------------------------- */

static void t_rate_limit(void)
{
    ps_scan_config c;
    cfg_test(&c);
    c.report_rate = 1;
    c.report_burst = 5;
    c.suppressed_interval_s = 60;
    ps_scan *s = mk(&c);
    rng_state = 4;
    /* 20 spoofed "masscan" sources at once */
    for (uint32_t i = 0; i < 20; i++) {
        ps_probe p = masscan132(0x0a000000u | i, NET | 2, 2375, T0);
        ps_scan_observe(s, &p);
        p = masscan132(0x0a000000u | i, NET | 3, 2375, T0);
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 5);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->reports_suppressed, 15);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->detections, 20);
    ps_scan_tick(s, T0 + 59 * SEC);
    ps_scan_report r = {0};
    CU_ASSERT_EQUAL(drain(s, &r), 0);
    ps_scan_tick(s, T0 + 60 * SEC);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_SUPPRESSED);
    CU_ASSERT_STRING_EQUAL(r.rule, PS_SCAN_RULE_SUPPRESSED);
    CU_ASSERT_EQUAL(r.suppressed, 15);
    CU_ASSERT_EQUAL(r.first_seen, T0);
    /* nothing new suppressed: no record */
    ps_scan_tick(s, T0 + 200 * SEC);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    /* tokens refilled at 1/s up to the burst: the next 5 detections pass,
     * the 6th is refused */
    for (uint32_t i = 100; i < 106; i++) {
        ps_probe p = masscan132(0x0a000000u | i, NET | 2, 2375, T0 + 201 * SEC);
        ps_scan_observe(s, &p);
        p = masscan132(0x0a000000u | i, NET | 3, 2375, T0 + 201 * SEC);
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(drain(s, NULL), 5);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->reports_suppressed, 16);
    char buf[512];
    ps_jw w;
    ps_scan_flush(s, T0 + 202 * SEC);
    int n = 0;
    while (ps_scan_next_report(s, &r)) {
        n++;
        if (r.kind == PS_SCAN_KIND_SUPPRESSED) {
            ps_jw_init(&w, buf, sizeof buf);
            ps_jw_obj_begin(&w, NULL);
            ps_scan_report_json(&w, &r);
            ps_jw_obj_end(&w);
            CU_ASSERT(ps_jw_finish(&w) > 0);
            CU_ASSERT(jc_valid(buf, strlen(buf)));
            CU_ASSERT(strstr(buf, "\"suppressed\":") != NULL);
        }
    }
    CU_ASSERT(n >= 2); /* one final with the refilled token + suppressed record */
    ps_scan_free(s);

    /* queue full: dropped and counted */
    cfg_test(&c);
    c.max_pending = 2;
    s = mk(&c);
    for (uint32_t i = 0; i < 3; i++) {
        ps_probe p = masscan132(0x0a000000u | i, NET | 2, 2375, T0);
        ps_scan_observe(s, &p);
        p = masscan132(0x0a000000u | i, NET | 3, 2375, T0);
        ps_scan_observe(s, &p);
    }
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->reports_dropped, 1);
    CU_ASSERT_EQUAL(drain(s, NULL), 2);
    ps_scan_free(s);
}

static void t_window_updates(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    rng_state = 6;
    int first = 0, updates = 0;
    ps_scan_report r = {0};
    /* a masscan sweep, two probes a second for 1000 s */
    for (uint32_t i = 0; i < 2000; i++) {
        ps_probe p = masscan132(SCAN, NET | (i % 250), c.ports[i % 14], T0 + (uint64_t)i * SEC / 2);
        ps_scan_observe(s, &p);
        while (ps_scan_next_report(s, &r)) {
            first += r.phase == PS_SCAN_PHASE_FIRST;
            updates += r.phase == PS_SCAN_PHASE_UPDATE;
            if (r.phase == PS_SCAN_PHASE_UPDATE)
                CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_HORIZONTAL);
        }
    }
    CU_ASSERT_EQUAL(first, 1);
    CU_ASSERT_EQUAL(updates, 3); /* at 300.5, 600.5, 900.5 s: once per window */
    /* idle expiry: final with end=idle */
    ps_time_us last = T0 + 1999 * SEC / 2;
    ps_scan_tick(s, last + (uint64_t)c.idle_timeout_s * SEC - 1);
    CU_ASSERT_EQUAL(drain(s, NULL), 0);
    ps_scan_tick(s, last + (uint64_t)c.idle_timeout_s * SEC);
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.phase, PS_SCAN_PHASE_FINAL);
    CU_ASSERT_EQUAL(r.end, PS_SCAN_END_IDLE);
    CU_ASSERT_EQUAL(r.probes, 2000);
    CU_ASSERT_EQUAL(r.rate_pps, 2);
    CU_ASSERT_TRUE(r.targets_estimated);
    CU_ASSERT((double)r.targets > 1750 * 0.9 && (double)r.targets < 1750 * 1.1);
    CU_ASSERT_EQUAL(r.nports, 14);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sources_expired, 1);
    CU_ASSERT_EQUAL(ps_scan_stats_get(s)->sources_active, 0);
    ps_scan_free(s);
}

static void t_responders_and_json(void)
{
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    rng_state = 9;
    for (uint32_t h = 1; h <= 30; h++) {
        ps_probe p = masscan132(SCAN, NET | h, 2375, T0 + h * 1000);
        ps_scan_observe(s, &p);
    }
    /* SYN-ACKs from .2 and .3 (twice each), from an unprobed port, and a RST */
    for (int rep = 0; rep < 2; rep++)
        for (uint32_t h = 2; h <= 3; h++) {
            ps_probe a = syn(NET | h, SCAN, 2375, 41234, T0 + 50000);
            a.flags = PS_TCP_SYN | PS_TCP_ACK;
            ps_scan_observe(s, &a);
        }
    ps_probe a = syn(NET | 4, SCAN, 2376, 41234, T0 + 50000);
    a.flags = PS_TCP_SYN | PS_TCP_ACK;
    ps_scan_observe(s, &a);
    a = syn(NET | 5, SCAN, 2375, 41234, T0 + 50000);
    a.flags = PS_TCP_RST | PS_TCP_ACK;
    a.window = 0;
    ps_scan_observe(s, &a);
    /* masscan's RST (window 1200, identity) after the SYN-ACK */
    ps_probe rst = masscan132(SCAN, NET | 2, 2375, T0 + 60000);
    rst.flags = PS_TCP_RST;
    rst.window = 1200;
    rst.ip_id = mc_id(NET | 2, 2375, rst.seq);
    ps_scan_observe(s, &rst);
    drain(s, NULL);
    ps_scan_flush(s, T0 + 2 * SEC);
    ps_scan_report r = {0};
    CU_ASSERT_EQUAL_FATAL(drain(s, &r), 1);
    CU_ASSERT_EQUAL(r.responders, 2);
    CU_ASSERT_EQUAL(r.nresp, 2);
    CU_ASSERT_EQUAL(r.resp_port[0], 2375);
    CU_ASSERT_EQUAL(r.features.rejections, 1);
    CU_ASSERT_EQUAL(r.features.banner_segments, 1);
    CU_ASSERT_EQUAL(r.kind, PS_SCAN_KIND_HORIZONTAL);

    /* JSON: valid at the right size, and failed (not truncated garbage) at
     * every smaller buffer */
    char buf[4096];
    ps_jw w;
    ps_jw_init(&w, buf, sizeof buf);
    ps_jw_obj_begin(&w, NULL);
    ps_scan_report_json(&w, &r);
    ps_jw_obj_end(&w);
    int len = ps_jw_finish(&w);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT(jc_valid(buf, (size_t)len));
    static const char *keys[] = {"\"scan\":{",
                                 "\"tool\":\"masscan\"",
                                 "\"targets\":30",
                                 "\"targets_estimated\":false",
                                 "\"ports\":[2375]",
                                 "\"responders\":2",
                                 "\"rate_pps\":",
                                 "\"first_seen\":\"2025-07-01T10:00:00",
                                 "\"last_seen\":",
                                 "\"features\":{",
                                 "\"ttl\":255",
                                 "\"df\":false",
                                 "\"window\":1024",
                                 "\"tcp_options\":\"\"",
                                 "\"src_ports\":[41234]",
                                 "\"responder_examples\":[\"198.18.0.2:2375\"",
                                 "\"end\":\"end_of_capture\"",
                                 "\"kind\":\"horizontal\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        if (!strstr(buf, keys[k]))
            printf("\n    missing %s in %s", keys[k], buf);
        CU_ASSERT(strstr(buf, keys[k]) != NULL);
    }
    for (size_t cap = 0; cap < (size_t)len + 1; cap++) {
        char small[4096];
        ps_jw_init(&w, small, cap);
        ps_jw_obj_begin(&w, NULL);
        ps_scan_report_json(&w, &r);
        ps_jw_obj_end(&w);
        CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
    }
    ps_scan_free(s);
}

/* Every prefix of a two-tool probe sequence names the tool exactly when
 * the k-th distinct target arrives, and time going backwards is harmless. */
static void t_prefixes(void)
{
    ps_probe seq[12];
    rng_state = 31;
    for (int j = 0; j < 12; j++) {
        uint32_t h = (uint32_t)(j < 6 ? 1 + j / 2 : 10 + j);
        seq[j] = j < 6 ? masscan132(SCAN, NET | h, 2375, T0 + (uint64_t)(unsigned)(12 - j) * SEC)
                       : zmap2(SCAN + 1, NET | h, 2376, T0 + (uint64_t)(unsigned)j * SEC);
    }
    ps_scan_config c;
    cfg_test(&c);
    for (int n = 0; n <= 12; n++) {
        ps_scan *s = mk(&c);
        for (int j = 0; j < n; j++)
            ps_scan_observe(s, &seq[j]);
        int mc = 0, zm = 0;
        ps_scan_report r = {0};
        while (ps_scan_next_report(s, &r)) {
            mc += r.tool == PS_SCAN_TOOL_MASSCAN;
            zm += r.tool == PS_SCAN_TOOL_ZMAP;
        }
        /* masscan: targets .1 .1 .2 .2 .3 .3 -> named at the 3rd packet */
        CU_ASSERT_EQUAL(mc, n >= 3 ? 1 : 0);
        CU_ASSERT_EQUAL(zm, n >= 8 ? 1 : 0);
        ps_scan_free(s);
    }
}

/* ---- captures ---------------------------------------------------------- */

typedef struct cap_expect {
    const char *file;
    const char *tool; /* expected tool of the scanner's detection; NULL = no detection */
    int kind;         /* expected kind, -1 any */
    uint32_t src;     /* scanner address */
} cap_expect;

static const cap_expect cap_table[] = {
    {"pcaps/scan-masscan.pcap", "masscan", PS_SCAN_KIND_HORIZONTAL, SCAN},
    {"pcaps/scan-masscan-banners.pcap", "masscan", -1, 0xc6120043u}, /* --source-ip .67 */
    {"pcaps/scan-zmap.pcap", "zmap", PS_SCAN_KIND_HORIZONTAL, SCAN},
    {"pcaps/scan-nmap.pcap", "nmap", -1, SCAN},
    {"pcaps/scan-linux-control.pcap", NULL, -1, 0},
    {"pcaps/scan/masscan-master.pcap", "masscan-master", -1, SCAN},
    {"pcaps/scan/masscan-banner.pcap", "masscan", -1, SCAN},
    {"pcaps/scan/masscan-routermac.pcap", "masscan", -1, 0xc6120099u},
    {"pcaps/scan/zmap-2x.pcap", "zmap", -1, SCAN},
    {"pcaps/scan/zmap-41.pcap", "zmap", -1, SCAN},
    {"pcaps/scan/nmap-old.pcap", "nmap", -1, SCAN},
    {"pcaps/scan/internet-thin.pcap", "masscan", PS_SCAN_KIND_FINGERPRINT, 0xc613f00du},
    {"pcaps/scan/benign-connects.pcap", NULL, -1, 0},
};

/* Runs decode + scan over one capture; returns reports, -1 if absent. */
static int run_capture(const char *file, ps_scan_report *out, int max)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(file, eb);
    if (!pc)
        return -1;
    ps_decode_config dc;
    ps_decode_config_default(&dc);
    dc.checksum_mode = PS_CSUM_NO;
    ps_decoder *d = ps_decoder_new(&dc);
    ps_scan_config c;
    cfg_test(&c);
    ps_scan *s = mk(&c);
    struct pcap_pkthdr *h;
    const u_char *data;
    int n = 0, lt = pcap_datalink(pc);
    ps_time_us last = 0;
    ps_scan_report r = {0};
    while (pcap_next_ex(pc, &h, &data) == 1) {
        ps_packet p;
        last = (ps_time_us)h->ts.tv_sec * SEC + (ps_time_us)h->ts.tv_usec;
        if (ps_decode(d, lt, last, data, h->caplen, h->len, &p) != PS_OK || !ps_scan_wants(&p))
            continue;
        ps_probe pr;
        ps_probe_from_packet(&pr, &p);
        ps_scan_observe(s, &pr);
        ps_scan_tick(s, last);
    }
    ps_scan_flush(s, last);
    while (ps_scan_next_report(s, &r))
        if (n < max)
            out[n++] = r;
    ps_scan_free(s);
    ps_decoder_free(d);
    pcap_close(pc);
    return n;
}

static void t_captures(void)
{
    int found = 0;
    for (size_t i = 0; i < sizeof cap_table / sizeof cap_table[0]; i++) {
        const cap_expect *e = &cap_table[i];
        ps_scan_report rs[64];
        int n = run_capture(e->file, rs, 64);
        if (n < 0) {
            printf("\n    (absent: %s)", e->file);
            continue;
        }
        found++;
        int hits = 0;
        for (int j = 0; j < n; j++) {
            char a[64];
            ps_addr_format(&rs[j].src, a, sizeof a);
            printf("\n    %s: %s %s %s %s/%s targets=%lu resp=%u", e->file,
                   ps_scan_phase_name(rs[j].phase), a, ps_scan_kind_name(rs[j].kind),
                   rs[j].tool_name, rs[j].tool_version, (unsigned long)rs[j].targets,
                   rs[j].responders);
            if (!e->tool)
                continue;
            ps_addr want = a4(e->src);
            if (memcmp(rs[j].src.bytes, want.bytes, 16) == 0 &&
                rs[j].phase == PS_SCAN_PHASE_FINAL) {
                hits++;
                CU_ASSERT_STRING_EQUAL(rs[j].tool_name, e->tool);
                if (e->kind >= 0)
                    CU_ASSERT_EQUAL(rs[j].kind, e->kind);
            }
        }
        if (e->tool) {
            CU_ASSERT_EQUAL(hits, 1);
        } else {
            CU_ASSERT_EQUAL(n, 0);
        }
    }
    printf("\n    %d captures checked ", found);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("scan", NULL, NULL);
    CU_add_test(s, "config defaults and limits", t_config);
    CU_add_test(s, "gate and probe copy", t_wants_and_copy);
    CU_add_test(s, "masscan needs 2 targets", t_masscan_k2);
    CU_add_test(s, "masscan gate", t_masscan_gate);
    CU_add_test(s, "masscan master and banner mode", t_masscan_master_and_banner);
    CU_add_test(s, "zmap 2.x, 3.x, 4.1", t_zmap);
    CU_add_test(s, "nmap shared seq", t_nmap);
    CU_add_test(s, "Linux connect() control", t_linux_control);
    CU_add_test(s, "thresholds N-1 and N", t_thresholds);
    CU_add_test(s, "exact set to sketch at 64/65", t_exact_to_sketch);
    CU_add_test(s, "HLL at 100k targets", t_hll_100k);
    CU_add_test(s, "sketch stealing", t_sketch_steal);
    CU_add_test(s, "source cap N and N+1", t_source_cap);
    CU_add_test(s, "rate limiter and suppressed record", t_rate_limit);
    CU_add_test(s, "one update per window, idle final", t_window_updates);
    CU_add_test(s, "responders and JSON", t_responders_and_json);
    CU_add_test(s, "probe sequence prefixes", t_prefixes);
    CU_add_test(s, "captures", t_captures);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
