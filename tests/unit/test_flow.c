/* test_flow.c - unit tests for the TCP flow table: creation rules, SYN cache, timeouts, caps. */
#include <CUnit/Basic.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "flow.h"
#include "reassembly.h"

#define SEC PS_USEC_PER_SEC
#define C   "10.0.0.1"
#define S   "10.0.0.2"

typedef struct rec {
    char data[2][4096];
    size_t len[2];
    int gaps[2];
    uint64_t gap_bytes[2];
    int closes;
    int close_reason[64];
    uint64_t close_id[64];
    const ps_flow *close_ptr[64];
    int data_calls;
} rec;

static rec g_rec;
static ps_flow_table *g_hist_table; /* on_data turns history on, as the worker does */

static void on_data(void *ctx, ps_flow *f, int dir, const uint8_t *d, size_t len, ps_time_us ts)
{
    (void)ctx;
    (void)f;
    (void)ts;
    g_rec.data_calls++;
    size_t room = sizeof(g_rec.data[dir]) - 1 - g_rec.len[dir];
    size_t n = len < room ? len : room;
    memcpy(g_rec.data[dir] + g_rec.len[dir], d, n);
    g_rec.len[dir] += n;
    g_rec.data[dir][g_rec.len[dir]] = '\0';
    if (g_hist_table != NULL)
        ps_flow_keep_history(g_hist_table, f, true);
}

static void on_gap(void *ctx, ps_flow *f, int dir, uint32_t len, ps_time_us ts)
{
    (void)ctx;
    (void)f;
    (void)ts;
    g_rec.gaps[dir]++;
    g_rec.gap_bytes[dir] += len;
}

static void on_close(void *ctx, ps_flow *f, int reason, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    if (g_rec.closes < 64) {
        g_rec.close_reason[g_rec.closes] = reason;
        g_rec.close_id[g_rec.closes] = f->id;
        g_rec.close_ptr[g_rec.closes] = f;
    }
    g_rec.closes++;
}

static const ps_flow_callbacks g_cb = {on_data, on_gap, on_close, NULL};

static ps_addr addr(const char *s)
{
    ps_addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(s, ':') != NULL) {
        a.family = 6;
        inet_pton(AF_INET6, s, a.bytes);
    } else {
        a.family = 4;
        inet_pton(AF_INET, s, a.bytes);
    }
    return a;
}

static ps_packet pkt(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint8_t flags,
                     uint32_t seq, uint32_t ack, const char *data, ps_time_us ts)
{
    ps_packet p;
    memset(&p, 0, sizeof(p));
    p.ts = ts;
    p.src = addr(src);
    p.dst = addr(dst);
    p.ip_version = p.src.family;
    p.ip_proto = 6;
    p.sport = sp;
    p.dport = dp;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload = (const uint8_t *)data;
    p.payload_len = data != NULL ? (uint32_t)strlen(data) : 0;
    return p;
}

static ps_flow_table *table(uint32_t max_flows, uint32_t syn_slots)
{
    ps_flow_config cfg;
    ps_flow_config_default(&cfg);
    cfg.max_flows = max_flows;
    cfg.syn_cache_slots = syn_slots;
    cfg.memcap = 64ULL << 20;
    memset(&g_rec, 0, sizeof(g_rec));
    return ps_flow_table_new(&cfg, &g_cb);
}

static int feed(ps_flow_table *t, ps_packet p, ps_flow **out)
{
    return ps_flow_process(t, &p, out);
}

/* The flow index (open addressing, entries moved back on removal) under
 * churn: 40 tuples through an 8-flow table (16 slots, so runs collide and
 * wrap), flows ending by eviction and timeout. After every step each live
 * flow must be found under its own tuple and nothing else. */
static void t_index_churn(void)
{
    ps_flow_table *t = table(8, 64);
    CU_ASSERT_FATAL(t != NULL);
    uint32_t rnd = 12345;
    ps_time_us now = 1 * SEC;
    int bad = 0;
    for (int step = 0; step < 3000; step++) {
        rnd = rnd * 1103515245u + 12345u;
        uint16_t k = (uint16_t)((rnd >> 16) % 40);
        if ((rnd >> 8) % 97 == 0)
            now += 700 * SEC; /* past the idle timeout: everything expires */
        else
            now += 1000;
        ps_flow_expire(t, now);
        feed(t, pkt(C, (uint16_t)(1000 + k), S, 22, PS_TCP_ACK | PS_TCP_PSH, 7, 9, "x", now), NULL);
        uint64_t found = 0;
        for (uint16_t j = 0; j < 40; j++) {
            ps_packet p = pkt(C, (uint16_t)(1000 + j), S, 22, PS_TCP_ACK, 8, 9, NULL, now);
            const ps_flow *f = ps_flow_find(t, &p, ps_flow_hash(t, &p));
            if (f == NULL)
                continue;
            found++;
            if (f->id == 0 || !((f->cport == 1000 + j && f->sport == 22) ||
                                (f->sport == 1000 + j && f->cport == 22)))
                bad++;
        }
        if (found != ps_flow_table_stats(t)->active)
            bad++;
        ps_packet last = pkt(C, (uint16_t)(1000 + k), S, 22, PS_TCP_ACK, 8, 9, NULL, now);
        if (ps_flow_find(t, &last, ps_flow_hash(t, &last)) == NULL)
            bad++; /* the flow just fed is live */
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(ps_flow_table_stats(t)->evicted > 100);
    CU_ASSERT(ps_flow_table_stats(t)->timed_out > 10);
    ps_flow_table_free(t);
}

/* PS_FLOW_F_NO_DATA: the owner reads no more; what was held out of order
 * is let go at the next packet, later segments are counted but neither
 * reassembled nor delivered, and FIN still closes. */
static void t_no_data(void)
{
    ps_flow_table *t = table(16, 64);
    CU_ASSERT_FATAL(t != NULL);
    ps_flow *f = NULL;
    feed(t, pkt(C, 40000, S, 22, PS_TCP_SYN, 100, 0, NULL, 1 * SEC), NULL);
    feed(t, pkt(S, 22, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 5000, 101, NULL, 1 * SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    feed(t, pkt(S, 22, C, 40000, PS_TCP_ACK | PS_TCP_PSH, 5001, 101, "SSH-2.0-x\r\n", 2 * SEC),
         NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[1], "SSH-2.0-x\r\n");
    /* held out of order (a hole before it) when the owner stops reading */
    feed(t, pkt(S, 22, C, 40000, PS_TCP_ACK | PS_TCP_PSH, 6000, 101, "later", 2 * SEC), NULL);
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_CLIENT].ooo_count, 1);
    int calls = g_rec.data_calls;
    f->flags |= PS_FLOW_F_NO_DATA;
    feed(t, pkt(S, 22, C, 40000, PS_TCP_ACK | PS_TCP_PSH, 5012, 101, "more", 2 * SEC), NULL);
    feed(t, pkt(C, 40000, S, 22, PS_TCP_ACK | PS_TCP_PSH, 101, 5016, "client", 2 * SEC), NULL);
    /* the held segment went at the next packet, after its hole (one gap) */
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_CLIENT].ooo_count, 0);
    CU_ASSERT_EQUAL(g_rec.gaps[1], 1);
    CU_ASSERT_EQUAL(g_rec.data_calls, calls + 1);
    CU_ASSERT_STRING_EQUAL(g_rec.data[1], "SSH-2.0-x\r\nlater");
    CU_ASSERT_EQUAL(g_rec.len[0], 0);
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_CLIENT].delivered, 16);
    CU_ASSERT_EQUAL(f->pkts[PS_DIR_TO_CLIENT], 4);
    CU_ASSERT_EQUAL(f->bytes[PS_DIR_TO_CLIENT], 20);
    CU_ASSERT_EQUAL(f->bytes[PS_DIR_TO_SERVER], 6);
    feed(t, pkt(C, 40000, S, 22, PS_TCP_ACK | PS_TCP_FIN, 107, 5016, NULL, 3 * SEC), NULL);
    CU_ASSERT(f->flags & PS_FLOW_F_FIN_CLIENT);
    CU_ASSERT_EQUAL(g_rec.gaps[0] + g_rec.gaps[1], 1);
    ps_flow_table_free(t);
}

/* ps_flow_find() remembers its answer for the same packet's processing;
 * a flow ending in between must not be handed back. */
static void t_find_memo(void)
{
    ps_flow_table *t = table(16, 64);
    CU_ASSERT_FATAL(t != NULL);
    ps_flow *f = NULL, *g = NULL;
    feed(t, pkt(C, 40000, S, 22, PS_TCP_SYN, 100, 0, NULL, 1 * SEC), NULL);
    feed(t, pkt(S, 22, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 5000, 101, NULL, 1 * SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    uint64_t id = f->id;
    ps_packet p = pkt(C, 40000, S, 22, PS_TCP_ACK | PS_TCP_PSH, 101, 5001, "x", 2 * SEC);
    uint64_t h = ps_flow_hash(t, &p);
    CU_ASSERT(ps_flow_find(t, &p, h) == f);
    CU_ASSERT_EQUAL(ps_flow_process_hashed(t, &p, h, &g), PS_OK);
    CU_ASSERT(g == f);
    CU_ASSERT_EQUAL(g_rec.len[0], 1);

    /* Found, then timed out before its processing: a new flow (mid-stream). */
    p = pkt(C, 40000, S, 22, PS_TCP_ACK | PS_TCP_PSH, 102, 5001, "y", 2000 * SEC);
    h = ps_flow_hash(t, &p);
    CU_ASSERT(ps_flow_find(t, &p, h) == f);
    ps_flow_expire(t, 2000 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(ps_flow_process_hashed(t, &p, h, &g), PS_OK);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT(g->id != id);
    CU_ASSERT(g->flags & PS_FLOW_F_MIDSTREAM);

    /* Not found, then created by another packet: the stale "none" is not used. */
    ps_packet q = pkt(C, 40001, S, 22, PS_TCP_SYN | PS_TCP_ACK, 9000, 1, NULL, 2001 * SEC);
    uint64_t hq = ps_flow_hash(t, &q);
    CU_ASSERT(ps_flow_find(t, &q, hq) == NULL);
    feed(t, pkt(S, 22, C, 40001, PS_TCP_ACK | PS_TCP_PSH, 1, 9001, "z", 2001 * SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    q = pkt(C, 40001, S, 22, PS_TCP_ACK, 9001, 2, NULL, 2001 * SEC);
    CU_ASSERT_EQUAL(ps_flow_process_hashed(t, &q, ps_flow_hash(t, &q), &g), PS_OK);
    CU_ASSERT(g == f);
    ps_flow_table_free(t);
}

static void t_handshake_both_ways(void)
{
    ps_flow_table *t = table(16, 64);
    CU_ASSERT_FATAL(t != NULL);
    ps_flow *f = NULL, *g = NULL;
    CU_ASSERT_EQUAL(feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 100, 0, NULL, 1 * SEC), &f), PS_OK);
    CU_ASSERT(f == NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 0);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 5000, 101, NULL, 1 * SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 1);
    CU_ASSERT((f->flags & (PS_FLOW_F_SYN_SEEN | PS_FLOW_F_SYNACK_SEEN)) ==
              (PS_FLOW_F_SYN_SEEN | PS_FLOW_F_SYNACK_SEEN));
    CU_ASSERT(!(f->flags & PS_FLOW_F_MIDSTREAM));
    ps_addr ca = addr(C);
    CU_ASSERT(memcmp(&f->cli, &ca, sizeof(ca)) == 0);
    CU_ASSERT_EQUAL(f->cport, 40000);
    CU_ASSERT_EQUAL(f->sport, 2375);
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_SERVER].isn, 100);
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_CLIENT].isn, 5000);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 101, 5001, NULL, 1 * SEC), &g);
    CU_ASSERT(g == f);
    feed(t,
         pkt(C, 40000, S, 2375, PS_TCP_ACK | PS_TCP_PSH, 101, 5001, "GET /info HTTP/1.1\r\n\r\n",
             2 * SEC),
         &g);
    feed(t,
         pkt(S, 2375, C, 40000, PS_TCP_ACK | PS_TCP_PSH, 5001, 123, "HTTP/1.1 200 OK\r\n\r\n",
             2 * SEC),
         &g);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "GET /info HTTP/1.1\r\n\r\n");
    CU_ASSERT_STRING_EQUAL(g_rec.data[1], "HTTP/1.1 200 OK\r\n\r\n");
    CU_ASSERT_EQUAL(f->pkts[0], 2); /* the SYN lived in the SYN cache */
    CU_ASSERT_EQUAL(f->pkts[1], 2);
    CU_ASSERT_EQUAL(f->bytes[0], 22);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK | PS_TCP_FIN, 123, 5020, NULL, 3 * SEC), NULL);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_ACK | PS_TCP_FIN, 5020, 124, NULL, 3 * SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 124, 5021, NULL, 3 * SEC), NULL);
    CU_ASSERT(f->stream[0].closed && f->stream[1].closed);
    CU_ASSERT_EQUAL(f->stream[0].next_seq, 124);
    CU_ASSERT_EQUAL(g_rec.gaps[0] + g_rec.gaps[1], 0);
    uint64_t id = f->id;
    ps_flow_expire(t, 12 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 0);
    ps_flow_expire(t, 13 * SEC); /* closed timeout 10 s */
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_FIN);
    CU_ASSERT_EQUAL(g_rec.close_id[0], id);
    CU_ASSERT_EQUAL(f->id, 0); /* slot still readable, no longer this flow */
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->active, 0);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->closed, 1);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->mem_in_use, 0);
    ps_flow_table_free(t);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
}

static void midstream_case(uint16_t sp, uint16_t dp, bool sender_client)
{
    ps_flow_table *t = table(16, 64);
    CU_ASSERT_FATAL(t != NULL);
    ps_flow *f = NULL;
    CU_ASSERT_EQUAL(feed(t, pkt(C, sp, S, dp, PS_TCP_ACK, 777, 888, "data", SEC), &f), PS_OK);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(f->flags & PS_FLOW_F_MIDSTREAM);
    CU_ASSERT_EQUAL(f->cport, sender_client ? sp : dp);
    CU_ASSERT_EQUAL(f->sport, sender_client ? dp : sp);
    CU_ASSERT_STRING_EQUAL(g_rec.data[sender_client ? 0 : 1], "data");
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->midstream, 1);
    ps_flow_table_free(t);
}

static void t_midstream(void)
{
    midstream_case(40000, 2375, true);
    midstream_case(2375, 40000, false);
    midstream_case(40000, 10250, true);
    midstream_case(6443, 50000, false);
    midstream_case(8080, 443, true); /* both well known: lower is server */
    midstream_case(443, 8080, false);
    midstream_case(50000, 40000, true); /* neither: lower is server */
    midstream_case(40000, 50000, false);
    midstream_case(1023, 1024, false);
    midstream_case(1024, 1023, true);

    /* mid-stream data both ways, then more data */
    ps_flow_table *t = table(16, 64);
    ps_flow *f = NULL, *g = NULL;
    feed(t, pkt(S, 2379, C, 51000, PS_TCP_ACK, 9000, 100, "resp1", SEC), &f);
    feed(t, pkt(C, 51000, S, 2379, PS_TCP_ACK, 100, 9005, "req2", SEC), &g);
    feed(t, pkt(S, 2379, C, 51000, PS_TCP_ACK, 9005, 104, "resp2", SEC), NULL);
    CU_ASSERT(f == g);
    CU_ASSERT_STRING_EQUAL(g_rec.data[1], "resp1resp2");
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "req2");
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 1);
    ps_flow_table_free(t);
}

static void t_one_sided(void)
{
    ps_flow_table *t = table(16, 64);
    ps_flow *f = NULL;
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_SYN, 1000, 0, NULL, SEC), &f);
    CU_ASSERT(f == NULL);
    CU_ASSERT_EQUAL(feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK, 1001, 1, NULL, SEC), &f),
                    PS_ERR_SKIP);
    CU_ASSERT(f == NULL);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK, 1001, 1, "GET /pods ", SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK, 1011, 1, "HTTP/1.1\r\n", SEC), NULL);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK | PS_TCP_FIN, 1021, 1, NULL, SEC), NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "GET /pods HTTP/1.1\r\n");
    CU_ASSERT(f->flags & PS_FLOW_F_SYN_SEEN);
    CU_ASSERT(!(f->flags & PS_FLOW_F_MIDSTREAM));
    CU_ASSERT_EQUAL(f->cport, 45000);
    CU_ASSERT_EQUAL(f->stream[0].isn, 1000);
    CU_ASSERT(f->stream[0].closed);
    CU_ASSERT_EQUAL(g_rec.gaps[0], 0);
    ps_flow_table_free(t);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_SHUTDOWN);

    /* a client data packet lost right after the SYN shows as a gap at FIN */
    t = table(16, 64);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_SYN, 1000, 0, NULL, SEC), NULL);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK, 1011, 1, "HTTP/1.1\r\n", SEC), &f);
    CU_ASSERT_EQUAL(g_rec.len[0], 0);
    feed(t, pkt(C, 45000, S, 10250, PS_TCP_ACK | PS_TCP_FIN, 1021, 1, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(g_rec.gap_bytes[0], 10);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "HTTP/1.1\r\n");
    ps_flow_table_free(t);
}

static void t_syn_flood(void)
{
    ps_flow_table *t = table(1024, 65536);
    int ok = 0;
    for (uint32_t i = 0; i < 10000; i++) {
        char dst[32];
        snprintf(dst, sizeof(dst), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        ps_flow *f = (ps_flow *)1;
        if (feed(t, pkt(C, 40000, dst, 2375, PS_TCP_SYN, i, 0, NULL, SEC), &f) == PS_OK &&
            f == NULL)
            ok++;
    }
    const ps_flow_stats *st = ps_flow_table_stats(t);
    CU_ASSERT_EQUAL(ok, 10000);
    CU_ASSERT_EQUAL(st->created, 0);
    CU_ASSERT_EQUAL(st->active, 0);
    CU_ASSERT_EQUAL(st->syn_cached, 10000);
    CU_ASSERT(st->syn_cache_evicted < 10000);
    ps_flow_table_free(t);
    CU_ASSERT_EQUAL(g_rec.closes, 0);

    /* a tiny SYN cache overwrites and counts */
    t = table(16, 4);
    for (uint32_t i = 0; i < 100; i++) {
        char dst[32];
        snprintf(dst, sizeof(dst), "10.1.%u.%u", i >> 8, i & 255);
        feed(t, pkt(C, 40000, dst, 2375, PS_TCP_SYN, i, 0, NULL, SEC), NULL);
    }
    CU_ASSERT(ps_flow_table_stats(t)->syn_cache_evicted >= 96);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 0);
    ps_flow_table_free(t);
}

static void t_no_flow_from_strays(void)
{
    ps_flow_table *t = table(16, 64);
    ps_flow *f = NULL;
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 1, 0, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(feed(t, pkt(S, 2375, C, 40000, PS_TCP_RST | PS_TCP_ACK, 0, 2, NULL, SEC), &f),
                    PS_ERR_SKIP);
    CU_ASSERT(f == NULL);
    CU_ASSERT_EQUAL(feed(t, pkt(C, 40001, S, 80, PS_TCP_ACK, 5, 5, NULL, SEC), &f), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(feed(t, pkt(C, 40002, S, 80, PS_TCP_RST, 5, 0, NULL, SEC), &f), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(feed(t, pkt(C, 40003, S, 80, PS_TCP_FIN | PS_TCP_ACK, 5, 5, NULL, SEC), &f),
                    PS_ERR_SKIP);
    CU_ASSERT_EQUAL(feed(t, pkt(C, 40004, S, 80, PS_TCP_RST, 5, 0, "rstdata", SEC), &f),
                    PS_ERR_SKIP);
    ps_packet udp = pkt(C, 53, S, 53, 0, 0, 0, "q", SEC);
    udp.ip_proto = 17;
    CU_ASSERT_EQUAL(ps_flow_process(t, &udp, &f), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_flow_process(t, NULL, &f), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 0);
    /* the SYN-ACK after the RST finds no cached SYN: server is its sender */
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 50, 2, NULL, SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(f->sport, 2375);
    CU_ASSERT(f->flags & PS_FLOW_F_SYNACK_SEEN);
    CU_ASSERT(!(f->flags & PS_FLOW_F_SYN_SEEN));
    CU_ASSERT_EQUAL(f->stream[PS_DIR_TO_SERVER].next_seq, 2);
    ps_flow_table_free(t);
}

static void make_flow(ps_flow_table *t, uint32_t i, ps_time_us ts, ps_flow **out)
{
    char src[32];
    snprintf(src, sizeof(src), "192.168.%u.%u", (i >> 8) & 255, i & 255);
    feed(t, pkt(src, 40000, S, 2375, PS_TCP_ACK, 1, 1, "x", ts), out);
}

static void t_max_flows(void)
{
    enum { N = 8 };
    ps_flow_table *t = table(N, 64);
    ps_flow *fl[N + 1];
    for (uint32_t i = 0; i < N; i++)
        make_flow(t, i, (i + 1) * SEC, &fl[i]);
    const ps_flow_stats *st = ps_flow_table_stats(t);
    CU_ASSERT_EQUAL(st->active, N);
    CU_ASSERT_EQUAL(st->evicted, 0);
    CU_ASSERT_EQUAL(g_rec.closes, 0);
    /* touch flow 0 so flow 1 becomes least recently used */
    make_flow(t, 0, 20 * SEC, NULL);
    uint64_t id1 = fl[1]->id;
    make_flow(t, N, 21 * SEC, &fl[N]);
    CU_ASSERT_EQUAL(st->evicted, 1);
    CU_ASSERT_EQUAL(st->active, N);
    CU_ASSERT_EQUAL(st->created, N + 1);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_EVICTED);
    CU_ASSERT_EQUAL(g_rec.close_id[0], id1);
    CU_ASSERT(fl[N] == fl[1]); /* slot reused, new identity */
    CU_ASSERT(fl[N]->id != id1);
    CU_ASSERT_EQUAL(st->active_peak, N);
    ps_flow_table_free(t);
    CU_ASSERT_EQUAL(g_rec.closes, N + 1);
}

static void t_timeouts(void)
{
    ps_flow_table *t = table(16, 64);
    ps_flow *est = NULL, *hs = NULL, *rst = NULL;
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 1, 1, "est", 100 * SEC), &est);
    feed(t, pkt(S, 443, C, 40001, PS_TCP_SYN | PS_TCP_ACK, 1, 1, NULL, 100 * SEC), &hs);
    feed(t, pkt(C, 40002, S, 80, PS_TCP_ACK, 1, 1, "r", 100 * SEC), &rst);
    feed(t, pkt(S, 80, C, 40002, PS_TCP_RST, 1, 0, NULL, 100 * SEC), NULL);
    uint64_t ids[3] = {est->id, hs->id, rst->id};
    ps_flow_expire(t, 109 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 0);
    ps_flow_expire(t, 110 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_id[0], ids[2]);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_RST);
    ps_flow_expire(t, 129 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    ps_flow_expire(t, 130 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 2);
    CU_ASSERT_EQUAL(g_rec.close_id[1], ids[1]);
    CU_ASSERT_EQUAL(g_rec.close_reason[1], PS_FLOW_END_IDLE);
    /* activity resets the idle clock */
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 4, 1, "more", 300 * SEC), NULL);
    ps_flow_expire(t, 899 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 2);
    ps_flow_expire(t, 900 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 3);
    CU_ASSERT_EQUAL(g_rec.close_id[2], ids[0]);
    CU_ASSERT_EQUAL(g_rec.close_reason[2], PS_FLOW_END_IDLE);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->timed_out, 2);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->closed, 3);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->active, 0);
    /* time going backwards never expires anything */
    feed(t, pkt(C, 40005, S, 2375, PS_TCP_ACK, 1, 1, "x", 1000 * SEC), NULL);
    ps_flow_expire(t, 5 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 3);
    ps_flow_table_free(t);
}

/* Smallest memcap that creates a table with these limits. */
static uint64_t min_memcap(uint32_t max_flows, uint32_t syn_slots)
{
    uint64_t lo = 0, hi = 64ULL << 20;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        ps_flow_config cfg;
        ps_flow_config_default(&cfg);
        cfg.max_flows = max_flows;
        cfg.syn_cache_slots = syn_slots;
        cfg.memcap = mid;
        ps_flow_table *t = ps_flow_table_new(&cfg, &g_cb);
        if (t != NULL) {
            ps_flow_table_free(t);
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return lo;
}

static void t_memcap(void)
{
    uint64_t fixed = min_memcap(8, 4);
    CU_ASSERT(fixed >= 8 * sizeof(ps_flow));
    ps_flow_config cfg;
    ps_flow_config_default(&cfg);
    cfg.max_flows = 8;
    cfg.syn_cache_slots = 4;
    cfg.memcap = fixed - 1;
    CU_ASSERT(ps_flow_table_new(&cfg, &g_cb) == NULL);
    cfg.memcap = fixed + 2 * ps_reasm_chunk_size();
    memset(&g_rec, 0, sizeof(g_rec));
    ps_flow_table *t = ps_flow_table_new(&cfg, &g_cb);
    CU_ASSERT_FATAL(t != NULL);
    const ps_flow_stats *st = ps_flow_table_stats(t);
    ps_flow *a = NULL, *b = NULL;
    /* flow A holds both chunks (N = 2: no memcap event) */
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 1000, 1, "a", SEC), &a);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 1100, 1, "b", SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 1200, 1, "c", SEC), NULL);
    CU_ASSERT_EQUAL(a->stream[0].ooo_count, 2);
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_MEMCAP], 0);
    CU_ASSERT_EQUAL(st->mem_in_use, 2 * ps_reasm_chunk_size() + sizeof(ps_flow));
    /* flow B needs a third chunk (N + 1): A, the LRU holder, is evicted */
    uint64_t aid = a->id;
    feed(t, pkt(C, 40001, S, 2375, PS_TCP_ACK, 5000, 1, "x", 2 * SEC), &b);
    CU_ASSERT_EQUAL(g_rec.closes, 0); /* no chunk needed yet */
    feed(t, pkt(C, 40001, S, 2375, PS_TCP_ACK, 5100, 1, "y", 2 * SEC), NULL);
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_MEMCAP], 1);
    CU_ASSERT_EQUAL(st->evicted, 1);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_id[0], aid);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_EVICTED);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "axbc"); /* A flushed on eviction */
    CU_ASSERT_EQUAL(g_rec.gaps[0], 2);
    CU_ASSERT_EQUAL(b->stream[0].ooo_count, 1);
    CU_ASSERT_EQUAL(st->mem_in_use, ps_reasm_chunk_size() + sizeof(ps_flow));
    CU_ASSERT(st->mem_peak >= 2 * ps_reasm_chunk_size() + 2 * sizeof(ps_flow));
    /* pool dry and no other holder: B resyncs on itself, nobody evicted */
    feed(t, pkt(C, 40001, S, 2375, PS_TCP_ACK, 5200, 1, "z", 3 * SEC), NULL);
    feed(t, pkt(C, 40001, S, 2375, PS_TCP_ACK, 5300, 1, "w", 3 * SEC), NULL);
    CU_ASSERT_EQUAL(st->evicted, 1);
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_MEMCAP], 2);
    ps_flow_table_free(t);
}

static void t_port_reuse(void)
{
    ps_flow_table *t = table(16, 64);
    ps_flow *f = NULL, *g = NULL;
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 100, 0, NULL, SEC), NULL);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 500, 101, NULL, SEC), &f);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 101, 501, "one", SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_RST, 104, 0, NULL, SEC), NULL);
    CU_ASSERT_FATAL(f != NULL);
    uint64_t id = f->id;
    /* a retransmitted SYN with another ISN on a live flow is an anomaly */
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 9000, 0, NULL, 2 * SEC), &g);
    CU_ASSERT(g == NULL);
    CU_ASSERT_EQUAL(g_rec.closes, 1);
    CU_ASSERT_EQUAL(g_rec.close_reason[0], PS_FLOW_END_RST);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 7000, 9001, NULL, 2 * SEC), &g);
    CU_ASSERT_FATAL(g != NULL);
    CU_ASSERT(g->id != id);
    CU_ASSERT_EQUAL(g->stream[0].isn, 9000);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 9001, 7001, "two", 2 * SEC), NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "onetwo");
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 2);
    ps_flow_table_free(t);
}

static void t_syn_mismatch(void)
{
    ps_flow_table *t = table(16, 64);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 100, 0, NULL, SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 100, 0, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->anomalies[PS_FA_SYN_DATA_MISMATCH], 0);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 200, 0, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->anomalies[PS_FA_SYN_DATA_MISMATCH], 1);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 500, 201, NULL, SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 300, 0, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->anomalies[PS_FA_SYN_DATA_MISMATCH], 2);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 1);
    ps_flow_table_free(t);
}

static void t_ack_gap(void)
{
    ps_flow_table *t = table(16, 64);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_SYN, 0, 0, NULL, SEC), NULL);
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_SYN | PS_TCP_ACK, 0, 1, NULL, SEC), NULL);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 1, 1, "AAAA", SEC), NULL);
    /* "BBBB" at 5 lost by the capture */
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 9, 1, "CCCC", SEC), NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "AAAA");
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_ACK, 1, 13, NULL, SEC), NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "AAAACCCC");
    CU_ASSERT_EQUAL(g_rec.gap_bytes[0], 4);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->gap_bytes, 4);
    ps_flow_table_free(t);
}

static void t_ipv6_and_wrap(void)
{
    ps_flow_table *t = table(16, 64);
    ps_flow *f = NULL;
    const char *c6 = "2001:db8::1", *s6 = "2001:db8::2";
    feed(t, pkt(c6, 40000, s6, 6443, PS_TCP_SYN, 0xfffffffeu, 0, NULL, SEC), NULL);
    feed(t, pkt(s6, 6443, c6, 40000, PS_TCP_SYN | PS_TCP_ACK, 0xffffffffu, 0xffffffffu, NULL, SEC),
         &f);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT_EQUAL(f->cli.family, 6);
    feed(t, pkt(c6, 40000, s6, 6443, PS_TCP_ACK, 0xffffffffu, 0, "wr", SEC), NULL);
    feed(t, pkt(c6, 40000, s6, 6443, PS_TCP_ACK, 3, 0, "!", SEC), NULL);
    feed(t, pkt(c6, 40000, s6, 6443, PS_TCP_ACK, 1, 0, "ap", SEC), NULL);
    feed(t, pkt(s6, 6443, c6, 40000, PS_TCP_ACK, 0, 4, "ok", SEC), NULL);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "wrap!");
    CU_ASSERT_STRING_EQUAL(g_rec.data[1], "ok");
    /* same ports, IPv4 addresses with the same leading bytes: another flow */
    feed(t, pkt("32.1.13.184", 40000, s6, 6443, PS_TCP_ACK, 1, 0, "v4?", SEC), NULL);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 2);
    ps_flow_table_free(t);
}

/* Many flows: each second packet finds the flow the first one created. */
static void t_many_flows_lookup(void)
{
    ps_flow_table *t = table(20000, 64);
    ps_flow *first[10000];
    int bad = 0;
    for (uint32_t i = 0; i < 10000; i++)
        make_flow(t, i, SEC, &first[i]);
    for (uint32_t i = 0; i < 10000; i++) {
        char src[32];
        ps_flow *f = NULL;
        snprintf(src, sizeof(src), "192.168.%u.%u", (i >> 8) & 255, i & 255);
        feed(t, pkt(S, 2375, src, 40000, PS_TCP_ACK, 1, 2, "y", SEC), &f);
        if (f != first[i] || f->pkts[1] != 1)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->created, 10000);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->active_peak, 10000);
    ps_flow_flush(t, PS_FLOW_END_SHUTDOWN, 2 * SEC);
    CU_ASSERT_EQUAL(g_rec.closes, 10000);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->active, 0);
    CU_ASSERT_EQUAL(ps_flow_table_stats(t)->mem_in_use, 0);
    ps_flow_table_free(t);
    CU_ASSERT_EQUAL(g_rec.closes, 10000);
}

/* Overlaps of delivered data are compared only for flows that keep a
 * history; its chunks are accounted and returned when the flow ends. */
static void t_history(void)
{
    for (int on = 0; on < 2; on++) {
        ps_flow_table *t = table(16, 64);
        CU_ASSERT_FATAL(t != NULL);
        const ps_flow_stats *st = ps_flow_table_stats(t);
        g_hist_table = on ? t : NULL;
        ps_flow *f = NULL;
        feed(t, pkt(C, 47480, S, 2375, PS_TCP_SYN, 1000000, 0, NULL, SEC), NULL);
        feed(t, pkt(S, 2375, C, 47480, PS_TCP_SYN | PS_TCP_ACK, 2000000, 1000001, NULL, SEC), &f);
        CU_ASSERT_FATAL(f != NULL);
        feed(t,
             pkt(C, 47480, S, 2375, PS_TCP_ACK, 1000001, 2000001,
                 "GET /v1.50/containers/json HTTP/1.1\r\nHos", SEC),
             NULL);
        feed(t,
             pkt(C, 47480, S, 2375, PS_TCP_ACK, 1000005, 2000001,
                 "/v1.50/XXXXXXXXXX/json HTTP/1.1\r\nHost: x\r\n\r\n", SEC),
             NULL);
        feed(t, pkt(S, 2375, C, 47480, PS_TCP_ACK, 2000001, 1000046, "HTTP/1.1 200 OK\r\n", SEC),
             NULL);
        feed(t, pkt(S, 2375, C, 47480, PS_TCP_ACK, 2000010, 1000046, "200 OK\r\n\r\n", SEC), NULL);
        CU_ASSERT_STRING_EQUAL(g_rec.data[0],
                               "GET /v1.50/containers/json HTTP/1.1\r\nHost: x\r\n\r\n");
        CU_ASSERT_STRING_EQUAL(g_rec.data[1], "HTTP/1.1 200 OK\r\n\r\n");
        CU_ASSERT_EQUAL(st->anomalies[PS_FA_OVERLAP_DIFFERENT], on ? 1u : 0u);
        CU_ASSERT_EQUAL(st->overlaps, on ? 1u : 0u);
        CU_ASSERT_EQUAL(st->history_unavailable, 0);
        CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow) + (on ? 2u : 0u) * ps_reasm_chunk_size());
        /* a FIN returns that direction's chunk; the flow's end the rest */
        feed(t, pkt(C, 47480, S, 2375, PS_TCP_ACK | PS_TCP_FIN, 1000046, 2000020, NULL, SEC), NULL);
        CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow) + (on ? 1u : 0u) * ps_reasm_chunk_size());
        ps_flow_flush(t, PS_FLOW_END_SHUTDOWN, 2 * SEC);
        CU_ASSERT_EQUAL(st->mem_in_use, 0);
        /* a freed slot or no flow at all: nothing happens */
        ps_flow_keep_history(t, f, true);
        ps_flow_keep_history(t, NULL, true);
        ps_flow_keep_history(NULL, f, true);
        CU_ASSERT(f->stream[0].hist == NULL && f->stream[1].hist == NULL);
        CU_ASSERT_EQUAL(st->mem_in_use, 0);
        g_hist_table = NULL;
        ps_flow_table_free(t);
    }
    /* turned off by the owner: chunks back at once, overlaps uncounted */
    ps_flow_table *t = table(16, 64);
    const ps_flow_stats *st = ps_flow_table_stats(t);
    ps_flow *f = NULL;
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 100, 1, "abcdef", SEC), &f);
    CU_ASSERT_FATAL(f != NULL);
    ps_flow_keep_history(t, f, true);
    CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow)); /* taken lazily */
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 106, 1, "ghi", SEC), NULL);
    CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow) + ps_reasm_chunk_size());
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 105, 1, "fGi", SEC), NULL);
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_OVERLAP_DIFFERENT], 1);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 105, 1, "Xgh", SEC), NULL); /* X before the ring */
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_OVERLAP_DIFFERENT], 1);
    ps_flow_keep_history(t, f, false);
    CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow));
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 106, 1, "GHI", SEC), NULL);
    CU_ASSERT_EQUAL(st->anomalies[PS_FA_OVERLAP_DIFFERENT], 1);
    CU_ASSERT_STRING_EQUAL(g_rec.data[0], "abcdefghi");
    /* on again; a RST closes both directions and returns the chunk while
     * the flow lingers */
    ps_flow_keep_history(t, f, true);
    feed(t, pkt(C, 40000, S, 2375, PS_TCP_ACK, 109, 1, "jkl", SEC), NULL);
    CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow) + ps_reasm_chunk_size());
    feed(t, pkt(S, 2375, C, 40000, PS_TCP_RST, 1, 0, NULL, SEC), NULL);
    CU_ASSERT_EQUAL(st->active, 1);
    CU_ASSERT_EQUAL(st->mem_in_use, sizeof(ps_flow));
    ps_flow_table_free(t);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("flow", NULL, NULL);
    CU_add_test(s, "handshake and data both ways", t_handshake_both_ways);
    CU_add_test(s, "mid-stream pickup", t_midstream);
    CU_add_test(s, "one-sided capture", t_one_sided);
    CU_add_test(s, "unanswered SYNs", t_syn_flood);
    CU_add_test(s, "RST, bare ACK, FIN create nothing", t_no_flow_from_strays);
    CU_add_test(s, "max_flows N and N+1", t_max_flows);
    CU_add_test(s, "timeouts", t_timeouts);
    CU_add_test(s, "memcap", t_memcap);
    CU_add_test(s, "index churn", t_index_churn);
    CU_add_test(s, "port reuse", t_port_reuse);
    CU_add_test(s, "SYN ISN mismatch", t_syn_mismatch);
    CU_add_test(s, "gap via ACK", t_ack_gap);
    CU_add_test(s, "IPv6 and wrap", t_ipv6_and_wrap);
    CU_add_test(s, "many flows lookup", t_many_flows_lookup);
    CU_add_test(s, "delivered-bytes history", t_history);
    CU_add_test(s, "no data after the owner stops reading", t_no_data);
    CU_add_test(s, "find remembers for the same packet only", t_find_memo);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
