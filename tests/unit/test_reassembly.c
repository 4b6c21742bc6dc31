/* test_reassembly.c - unit tests for per-direction TCP stream reassembly. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "reassembly.h"

/* Collected output of one direction; gaps appear as '#' bytes. */
typedef struct sink {
    uint8_t buf[1 << 17];
    size_t len;
    uint64_t gap_bytes;
    int gaps, calls;
    int seq_errors; /* next_seq did not match the first byte's position */
    uint32_t expect_seq;
    bool expect_known;
    const uint8_t *last_ptr;
} sink;

static sink g_sink;
static ps_flow_stats g_st;
static ps_flow g_flow;
static ps_reasm *g_r;
static int g_reclaims;
static int g_hist_cb; /* on_data turns history: 1 on, -1 off, 0 leave */

static void check_pos(ps_flow *f, int dir)
{
    if (g_sink.expect_known && f->stream[dir].next_seq != g_sink.expect_seq)
        g_sink.seq_errors++;
}

static void on_data(void *ctx, ps_flow *f, int dir, const uint8_t *data, size_t len, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    check_pos(f, dir);
    g_sink.calls++;
    g_sink.last_ptr = data;
    size_t room = sizeof(g_sink.buf) - g_sink.len;
    size_t n = len < room ? len : room;
    memcpy(g_sink.buf + g_sink.len, data, n);
    g_sink.len += n;
    g_sink.expect_seq = f->stream[dir].next_seq + (uint32_t)len;
    g_sink.expect_known = true;
    if (g_hist_cb != 0)
        ps_stream_keep_history(g_r, &f->stream[dir], g_hist_cb > 0);
}

static void on_gap(void *ctx, ps_flow *f, int dir, uint32_t len, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    check_pos(f, dir);
    g_sink.gaps++;
    g_sink.gap_bytes += len;
    for (uint32_t i = 0; i < len && g_sink.len < sizeof(g_sink.buf); i++)
        g_sink.buf[g_sink.len++] = '#';
    g_sink.expect_seq = f->stream[dir].next_seq + len;
    g_sink.expect_known = true;
}

static ps_flow_callbacks g_cb = {on_data, on_gap, NULL, NULL};

static bool test_reclaim(void *ctx)
{
    (void)ctx;
    g_reclaims++;
    return false;
}

static void setup(size_t nchunks, uint32_t cap)
{
    if (g_r != NULL)
        ps_reasm_free(g_r);
    memset(&g_sink, 0, sizeof(g_sink));
    memset(&g_st, 0, sizeof(g_st));
    memset(&g_flow, 0, sizeof(g_flow));
    g_reclaims = 0;
    g_hist_cb = 0;
    g_r = ps_reasm_new(nchunks, cap, &g_cb, &g_st, test_reclaim, NULL);
    CU_ASSERT_FATAL(g_r != NULL);
}

static void feed(uint32_t seq, const char *s)
{
    ps_stream_data(g_r, &g_flow, PS_DIR_TO_SERVER, seq, (const uint8_t *)s, (uint32_t)strlen(s), 1);
}

static bool out_is(const char *s)
{
    return g_sink.len == strlen(s) && memcmp(g_sink.buf, s, g_sink.len) == 0;
}

static ps_stream *S(void)
{
    return &g_flow.stream[PS_DIR_TO_SERVER];
}

static void t_inorder_zero_copy(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 1000);
    static const char msg[] = "hello";
    ps_stream_data(g_r, &g_flow, 0, 1001, (const uint8_t *)msg, 5, 1);
    CU_ASSERT(g_sink.last_ptr == (const uint8_t *)msg);
    feed(1006, " world");
    CU_ASSERT(out_is("hello world"));
    CU_ASSERT_EQUAL(S()->next_seq, 1012);
    CU_ASSERT_EQUAL(S()->delivered, 11);
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
    CU_ASSERT_EQUAL(g_st.ooo_segments, 0);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
}

static void t_one_byte_segments(void)
{
    char msg[301];
    for (int i = 0; i < 300; i++)
        msg[i] = (char)('a' + i % 26);
    msg[300] = '\0';
    /* in order */
    setup(64, 65536);
    ps_stream_set_isn(S(), 7);
    for (uint32_t i = 0; i < 300; i++)
        ps_stream_data(g_r, &g_flow, 0, 8 + i, (const uint8_t *)msg + i, 1, 1);
    CU_ASSERT(out_is(msg));
    /* reverse order: everything queued until the first byte arrives */
    setup(512, 1u << 20);
    ps_stream_set_isn(S(), 7);
    for (uint32_t i = 300; i > 0; i--)
        ps_stream_data(g_r, &g_flow, 0, 8 + i - 1, (const uint8_t *)msg + i - 1, 1, 1);
    CU_ASSERT(out_is(msg));
    CU_ASSERT_EQUAL(S()->ooo_count, 0);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 512);
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
    /* forward order after a hole coalesces into few chunks */
    setup(8, 65536);
    ps_stream_set_isn(S(), 7);
    for (uint32_t i = 1; i < 300; i++)
        ps_stream_data(g_r, &g_flow, 0, 8 + i, (const uint8_t *)msg + i, 1, 1);
    CU_ASSERT_EQUAL(S()->ooo_count, 1);
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 0);
    ps_stream_data(g_r, &g_flow, 0, 8, (const uint8_t *)msg, 1, 1);
    CU_ASSERT(out_is(msg));
}

static void permute(int *a, int k, int n, void (*visit)(const int *))
{
    if (k == n) {
        visit(a);
        return;
    }
    for (int i = k; i < n; i++) {
        int x = a[k];
        a[k] = a[i];
        a[i] = x;
        permute(a, k + 1, n, visit);
        x = a[k];
        a[k] = a[i];
        a[i] = x;
    }
}

static const char *g_msg = "The quick brown fox jumps over the lazy dog 0123456789";
static const uint32_t g_off[4] = {0, 7, 20, 33};
static const uint32_t g_len[4] = {7, 13, 13, 21};
static const uint32_t g_ov_off[4] = {0, 5, 12, 30};
static const uint32_t g_ov_len[4] = {9, 12, 25, 24};
static int g_perm_bad, g_perm_runs;
static bool g_overlapping;

static void visit_perm(const int *p)
{
    setup(32, 65536);
    uint32_t isn = 0xfffffff0u; /* wraps inside the message */
    ps_stream_set_isn(S(), isn);
    for (int i = 0; i < 4; i++) {
        uint32_t o = g_overlapping ? g_ov_off[p[i]] : g_off[p[i]];
        uint32_t l = g_overlapping ? g_ov_len[p[i]] : g_len[p[i]];
        ps_stream_data(g_r, &g_flow, 0, isn + 1 + o, (const uint8_t *)g_msg + o, l, 1);
    }
    g_perm_runs++;
    if (!out_is(g_msg) || g_sink.seq_errors != 0 || S()->ooo_count != 0 ||
        ps_reasm_free_chunks(g_r) != 32 || g_st.anomalies[PS_FA_OVERLAP_DIFFERENT] != 0)
        g_perm_bad++;
}

static void t_permutations(void)
{
    int a[4] = {0, 1, 2, 3};
    g_perm_bad = g_perm_runs = 0;
    g_overlapping = false;
    permute(a, 0, 4, visit_perm);
    CU_ASSERT_EQUAL(g_perm_runs, 24);
    CU_ASSERT_EQUAL(g_perm_bad, 0);
    g_perm_bad = g_perm_runs = 0;
    g_overlapping = true;
    permute(a, 0, 4, visit_perm);
    CU_ASSERT_EQUAL(g_perm_runs, 24);
    CU_ASSERT_EQUAL(g_perm_bad, 0);
}

static void t_retransmission(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 99);
    feed(100, "abcdef");
    feed(100, "abc");
    feed(103, "def");
    CU_ASSERT_EQUAL(g_st.retransmitted, 2);
    CU_ASSERT(out_is("abcdef"));
    feed(103, "defghi"); /* partly new: only the tail is delivered */
    CU_ASSERT(out_is("abcdefghi"));
    CU_ASSERT_EQUAL(g_st.retransmitted, 2);
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
}

static void t_overlap_same(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(11, "KLMNO");
    feed(11, "KLMNO");
    feed(13, "MNOPQ");
    CU_ASSERT_EQUAL(g_st.overlaps, 2);
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_OVERLAP_DIFFERENT], 0);
    feed(1, "ABCDEFGHIJ");
    CU_ASSERT(out_is("ABCDEFGHIJKLMNOPQ"));
}

/* Queues old "AAAAA" at offset 10, then `newdata` at `off`, then fills
 * the bytes before both and returns whether output from offset 8 reads
 * `expect` and exactly one differing overlap was counted. */
static bool policy_case(uint32_t off, const char *newdata, const char *expect)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 999);
    feed(1000 + 10, "AAAAA");
    feed(1000 + off, newdata);
    ps_stream_data(g_r, &g_flow, 0, 1000, (const uint8_t *)"0123456789", PS_MIN(off, 10u), 1);
    if (g_st.anomalies[PS_FA_OVERLAP_DIFFERENT] != 1)
        return false;
    if (g_sink.len < 8 + strlen(expect))
        return false;
    return memcmp(g_sink.buf + 8, expect, strlen(expect)) == 0;
}

static void t_overlap_policy(void)
{
    /* new starts after the old one: old bytes kept */
    CU_ASSERT(policy_case(12, "BBBBB", "89AAAAABB"));
    /* new starts before: new bytes win */
    CU_ASSERT(policy_case(8, "BBBBB", "BBBBBAA"));
    /* same start, new longer: new wins */
    CU_ASSERT(policy_case(10, "BBBBBBB", "89BBBBBBB"));
    /* same start, same length or shorter: old kept */
    CU_ASSERT(policy_case(10, "BBBBB", "89AAAAA"));
    CU_ASSERT(policy_case(10, "BBB", "89AAAAA"));
    /* new inside the old one: old kept */
    CU_ASSERT(policy_case(11, "BB", "89AAAAA"));
    /* in-order data covering queued bytes starts before them: it wins */
    setup(16, 65536);
    ps_stream_set_isn(S(), 999);
    feed(1010, "AAAAA");
    feed(1000, "xxxxxxxxxxBB");
    CU_ASSERT(out_is("xxxxxxxxxxBBAAA"));
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_OVERLAP_DIFFERENT], 1);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 16);
}

/* Exactly at the cap nothing is skipped; one byte more forces a gap. */
static void t_gap_ooo_cap(void)
{
    char buf[201];
    memset(buf, 'z', sizeof(buf) - 1);
    buf[200] = '\0';
    setup(16, 100);
    ps_stream_set_isn(S(), 0);
    feed(1, "ab");
    ps_stream_data(g_r, &g_flow, 0, 13, (const uint8_t *)buf, 100, 1);
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_OOO_CAP], 0);
    CU_ASSERT_EQUAL(g_sink.gaps, 0);
    CU_ASSERT_EQUAL(S()->ooo_bytes, 100);
    ps_stream_data(g_r, &g_flow, 0, 113, (const uint8_t *)"!", 1, 1);
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_OOO_CAP], 1);
    CU_ASSERT_EQUAL(g_sink.gaps, 1);
    CU_ASSERT_EQUAL(g_sink.gap_bytes, 10);
    CU_ASSERT_EQUAL(g_st.gap_bytes, 10);
    CU_ASSERT_EQUAL(g_sink.len, 2 + 10 + 101);
    CU_ASSERT(memcmp(g_sink.buf, "ab##########zz", 14) == 0);
    CU_ASSERT_EQUAL(g_sink.buf[g_sink.len - 1], '!');
    CU_ASSERT_EQUAL(S()->next_seq, 114);
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
    /* the data after the gap continues in order */
    feed(114, "ok");
    CU_ASSERT_EQUAL(g_sink.buf[g_sink.len - 1], 'k');
}

static void t_gap_fin(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "hi ");
    feed(9, "world");
    CU_ASSERT(out_is("hi "));
    ps_stream_fin(g_r, &g_flow, 0, 14, 1);
    CU_ASSERT(out_is("hi #####world"));
    CU_ASSERT(S()->closed);
    CU_ASSERT(S()->fin_seen);
    CU_ASSERT_EQUAL(S()->next_seq, 15);
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_GAP], 1);
    /* FIN beyond all data: the missing tail is a gap too */
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "abc");
    ps_stream_fin(g_r, &g_flow, 0, 8, 1);
    CU_ASSERT(out_is("abc####"));
    feed(8, "late");
    CU_ASSERT(out_is("abc####"));
    /* FIN in order: no gap */
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "abc");
    ps_stream_fin(g_r, &g_flow, 0, 4, 1);
    CU_ASSERT_EQUAL(g_sink.gaps, 0);
    CU_ASSERT_EQUAL(S()->next_seq, 5);
}

static void t_gap_ack(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "hi ");
    feed(9, "world");
    ps_stream_ack(g_r, &g_flow, 0, 9, 1); /* acks up to the queued data only */
    CU_ASSERT(out_is("hi "));
    ps_stream_ack(g_r, &g_flow, 0, 10, 1);
    CU_ASSERT(out_is("hi #####world"));
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
    /* ack first, data later */
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "hi ");
    ps_stream_ack(g_r, &g_flow, 0, 20, 1);
    CU_ASSERT(out_is("hi "));
    feed(9, "world");
    CU_ASSERT(out_is("hi #####world"));
    /* an ack of the in-order position does nothing */
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1, "hi ");
    feed(9, "world");
    ps_stream_ack(g_r, &g_flow, 0, 4, 1);
    CU_ASSERT(out_is("hi "));
}

static void t_seq_wrap(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 0xfffffffdu);
    feed(0xfffffffeu, "ab");
    feed(0, "cd");
    feed(4, "gh");
    feed(2, "ef");
    CU_ASSERT(out_is("abcdefgh"));
    CU_ASSERT_EQUAL(S()->next_seq, 6);
    feed(0xffffffffu, "bcd"); /* retransmission across the wrap */
    CU_ASSERT_EQUAL(g_st.retransmitted, 1);
    ps_stream_fin(g_r, &g_flow, 0, 6, 1);
    CU_ASSERT_EQUAL(S()->next_seq, 7);
    CU_ASSERT_EQUAL(g_sink.gaps, 0);
}

static void t_bad_seq(void)
{
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    feed(1 + PS_SEQ_WINDOW + 1, "far");
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_BAD_SEQ], 1);
    CU_ASSERT_EQUAL(S()->ooo_count, 0);
    feed(1 + PS_SEQ_WINDOW, "edge"); /* exactly at the window: queued */
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_BAD_SEQ], 1);
    CU_ASSERT_EQUAL(S()->ooo_count, 1);
    feed(1u - PS_SEQ_WINDOW - 10, "behind");
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_BAD_SEQ], 2);
    feed(1, "ok");
    CU_ASSERT(out_is("ok"));
}

static void t_pool_exhausted(void)
{
    setup(2, 65536);
    ps_stream_set_isn(S(), 0);
    feed(10, "b");
    feed(20, "c");
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 0); /* N chunks: fine */
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 0);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 2 * ps_reasm_chunk_size());
    feed(30, "d"); /* N+1: pool dry, reclaim fails, stream resyncs */
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 1);
    CU_ASSERT_EQUAL(g_reclaims, 1);
    CU_ASSERT(out_is("#########b#########c"));
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 2);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
    CU_ASSERT_EQUAL(g_st.mem_peak, 2 * ps_reasm_chunk_size());
    feed(21, "xxxxxxxxx");
    feed(30, "d");
    CU_ASSERT(out_is("#########b#########cxxxxxxxxxd"));
    /* no pool at all: out-of-order data can never be held */
    setup(0, 65536);
    ps_stream_set_isn(S(), 0);
    feed(5, "x");
    feed(1, "abc");
    CU_ASSERT(out_is("abc"));
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 1);
}

static void t_large_segment(void)
{
    static uint8_t big[10000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + i / 256);
    setup(16, 65536);
    ps_stream_set_isn(S(), 0);
    ps_stream_data(g_r, &g_flow, 0, 101, big + 100, 9900, 1);
    CU_ASSERT_EQUAL(S()->ooo_count, 5);
    CU_ASSERT_EQUAL(S()->ooo_bytes, 9900);
    ps_stream_data(g_r, &g_flow, 0, 1, big, 150, 1);
    CU_ASSERT_EQUAL(g_sink.len, 10000);
    CU_ASSERT(memcmp(g_sink.buf, big, 10000) == 0);
    CU_ASSERT_EQUAL(g_st.overlaps, 1);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 16);
}

/* Every prefix of a message sent out of order then closed by FIN arrives
 * whole and without gaps. */
static void t_prefixes(void)
{
    const char *m = "GET /containers/json HTTP/1.1\r\nHost: x\r\n\r\n";
    uint32_t n = (uint32_t)strlen(m);
    int bad = 0;
    for (uint32_t k = 0; k <= n; k++) {
        setup(8, 65536);
        ps_stream_set_isn(S(), 0x7ffffff0u);
        uint32_t base = 0x7ffffff1u;
        uint32_t cut1 = k / 3, cut2 = 2 * k / 3;
        ps_stream_data(g_r, &g_flow, 0, base + cut2, (const uint8_t *)m + cut2, k - cut2, 1);
        ps_stream_data(g_r, &g_flow, 0, base + cut1, (const uint8_t *)m + cut1, cut2 - cut1, 1);
        ps_stream_data(g_r, &g_flow, 0, base, (const uint8_t *)m, cut1, 1);
        ps_stream_fin(g_r, &g_flow, 0, base + k, 1);
        if (g_sink.len != k || memcmp(g_sink.buf, m, k) != 0 || g_sink.gaps != 0 ||
            S()->next_seq != base + k + 1)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static void t_flush_and_midstream(void)
{
    setup(16, 65536);
    /* unsynced: the first data defines next_seq */
    feed(5000, "mid");
    CU_ASSERT(out_is("mid"));
    CU_ASSERT(S()->synced);
    CU_ASSERT(!S()->isn_known);
    feed(5010, "tail");
    ps_stream_flush(g_r, &g_flow, 0, 1);
    CU_ASSERT(out_is("mid#######tail"));
    CU_ASSERT(S()->closed);
    feed(5014, "more");
    CU_ASSERT(out_is("mid#######tail"));
    /* a FIN on a stream never seen */
    setup(16, 65536);
    ps_stream_fin(g_r, &g_flow, 0, 77, 1);
    CU_ASSERT(S()->closed);
    CU_ASSERT_EQUAL(g_sink.len, 0);
}

/* ---- history of delivered bytes ------------------------------------- */

static uint64_t n_diff(void)
{
    return g_st.anomalies[PS_FA_OVERLAP_DIFFERENT];
}

/* Fresh reassembler with history wanted on direction 0 at `isn`. */
static void hsetup(size_t nchunks, uint32_t isn)
{
    setup(nchunks, 65536);
    ps_stream_set_isn(S(), isn);
    ps_stream_keep_history(g_r, S(), true);
}

static void t_hist_same(void)
{
    hsetup(4, 0);
    feed(1, "abcdef");
    CU_ASSERT_EQUAL(g_st.mem_in_use, ps_reasm_chunk_size());
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 3);
    feed(3, "cdefgh"); /* partial overlap, same bytes, new tail */
    CU_ASSERT_EQUAL(g_st.overlaps, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT(out_is("abcdefgh"));
    feed(2, "bcd"); /* wholly delivered, same bytes: a retransmission */
    CU_ASSERT_EQUAL(g_st.retransmitted, 1);
    CU_ASSERT_EQUAL(g_st.overlaps, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_sink.seq_errors, 0);
    /* off returns the chunk at once */
    ps_stream_keep_history(g_r, S(), false);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 4);
    feed(3, "XdefghZ");
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT(out_is("abcdefghZ"));
}

/* The overlap-diff.pcap case: 40 bytes delivered, then 86 bytes from
 * offset 4 that rewrite delivered bytes and bring 50 new ones. */
static const char *g_req1 = "GET /v1.50/containers/json HTTP/1.1\r\nHos";
static const char *g_req2 = "/v1.50/XXXXXXXXXX/json HTTP/1.1\r\nHost: 198.18.0.2:2375\r\n"
                            "User-Agent: Docker-Client/28.2";

static void t_hist_diff(void)
{
    CU_ASSERT_EQUAL_FATAL(strlen(g_req1), 40);
    CU_ASSERT_EQUAL_FATAL(strlen(g_req2), 86);
    char expect[200];
    snprintf(expect, sizeof(expect), "%s%s", g_req1, g_req2 + 36);
    hsetup(4, 1000000);
    feed(1000001, g_req1);
    feed(1000005, g_req2);
    CU_ASSERT_EQUAL(n_diff(), 1);
    CU_ASSERT_EQUAL(g_st.overlaps, 0);
    CU_ASSERT(out_is(expect)); /* delivered bytes kept, tail delivered */
    CU_ASSERT_EQUAL(S()->next_seq, 1000001 + 90);
    /* wholly delivered with different bytes: one more, nothing delivered */
    feed(1000002, "ET /v1.50/c0ntainers");
    CU_ASSERT_EQUAL(n_diff(), 2);
    CU_ASSERT_EQUAL(g_st.retransmitted, 1);
    CU_ASSERT(out_is(expect));
    /* the same without history: nothing counted, no memory */
    setup(4, 65536);
    ps_stream_set_isn(S(), 1000000);
    feed(1000001, g_req1);
    feed(1000005, g_req2);
    feed(1000002, "ET /v1.50/c0ntainers");
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_st.overlaps, 0);
    CU_ASSERT(out_is(expect));
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
    CU_ASSERT_EQUAL(g_st.mem_peak, 0);
    CU_ASSERT_EQUAL(g_st.history_unavailable, 0);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 4);
    CU_ASSERT(S()->hist == NULL);
}

/* Every prefix of the rewriting segment: the anomaly appears exactly when
 * the prefix reaches a differing byte, identical prefixes count overlaps,
 * and the output is the delivered bytes plus whatever tail is new. */
static void t_hist_prefixes(void)
{
    uint32_t n1 = (uint32_t)strlen(g_req1), n2 = (uint32_t)strlen(g_req2);
    int bad = 0;
    for (uint32_t k = 0; k <= n2; k++) {
        hsetup(4, 1000000);
        feed(1000001, g_req1);
        ps_stream_data(g_r, &g_flow, 0, 1000005, (const uint8_t *)g_req2, k, 1);
        uint32_t ovl = PS_MIN(k, n1 - 4);
        bool differs = memcmp(g_req2, g_req1 + 4, ovl) != 0;
        char expect[200];
        size_t elen = n1;
        memcpy(expect, g_req1, n1);
        if (k > ovl) {
            memcpy(expect + n1, g_req2 + ovl, k - ovl);
            elen += k - ovl;
        }
        /* wholly delivered prefixes are retransmissions, longer ones overlaps */
        bool whole = k > 0 && k <= ovl;
        if (n_diff() != (differs ? 1u : 0u) || g_st.retransmitted != (whole ? 1u : 0u) ||
            g_st.overlaps != (k > ovl && !differs ? 1u : 0u) || g_sink.len != elen ||
            memcmp(g_sink.buf, expect, elen) != 0 || g_sink.seq_errors != 0)
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* Fills `buf` with bytes that are a function of their position. */
static void pattern(uint8_t *buf, size_t n, unsigned salt)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((i * 131 + salt + i / 251) & 0xff);
}

/* Delivered bytes older than the ring (PS_SEG_DATA) are not compared:
 * the oldest byte in the ring is (N), the one before it is not (N+1). */
static void t_hist_older_than_ring(void)
{
    static uint8_t big[3000], alt[3000];
    pattern(big, sizeof(big), 1);
    uint32_t first_kept = 3000 - PS_SEG_DATA;
    for (int in_ring = 0; in_ring < 2; in_ring++) {
        hsetup(4, 0);
        ps_stream_data(g_r, &g_flow, 0, 1, big, 1000, 1);
        ps_stream_data(g_r, &g_flow, 0, 1001, big + 1000, 2000, 1);
        uint32_t at = in_ring ? first_kept : first_kept - 1;
        memcpy(alt, big, sizeof(alt));
        alt[at] ^= 0x55;
        /* differs only at `at`; covers it and some bytes around */
        ps_stream_data(g_r, &g_flow, 0, 1 + at - 5, alt + at - 5, 11, 1);
        CU_ASSERT_EQUAL(n_diff(), in_ring ? 1u : 0u);
        /* a segment wholly older than the ring compares nothing */
        ps_stream_data(g_r, &g_flow, 0, 1, alt + 10, 100, 1);
        CU_ASSERT_EQUAL(n_diff(), in_ring ? 1u : 0u);
        CU_ASSERT_EQUAL(g_st.retransmitted, 2);
        CU_ASSERT_EQUAL(g_sink.len, 3000);
        CU_ASSERT(memcmp(g_sink.buf, big, 3000) == 0);
    }
    /* one segment larger than the ring: only its last PS_SEG_DATA bytes */
    hsetup(4, 0);
    ps_stream_data(g_r, &g_flow, 0, 1, big, 3000, 1);
    CU_ASSERT_EQUAL(S()->hist_len, PS_SEG_DATA);
    memcpy(alt, big, sizeof(alt));
    alt[first_kept - 1] ^= 1;
    ps_stream_data(g_r, &g_flow, 0, 1, alt, 3000, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    alt[first_kept] ^= 1;
    ps_stream_data(g_r, &g_flow, 0, 1, alt, 3000, 1);
    CU_ASSERT_EQUAL(n_diff(), 1);
}

/* A differing byte at every position of an overlap that crosses both the
 * ring's physical end and the 32-bit sequence wrap. */
static void t_hist_every_position_wrap(void)
{
    static uint8_t data[1500], alt[1500];
    pattern(data, sizeof(data), 7);
    /* stream byte i has sequence isn+1+i; byte 1000 sits at seq 0 */
    uint32_t isn = 0u - 1000u - 1u;
    uint32_t ov_lo = 900, ov_hi = 1100; /* overlap [900, 1100) spans seq 0 */
    int bad = 0, runs = 0;
    for (uint32_t at = ov_lo; at < ov_hi; at++) {
        hsetup(4, isn);
        ps_stream_data(g_r, &g_flow, 0, isn + 1, data, 700, 1);
        ps_stream_data(g_r, &g_flow, 0, isn + 701, data + 700, 400, 1);
        memcpy(alt, data, sizeof(alt));
        alt[at] ^= 0x80;
        /* starts in delivered data, ends past next_seq (1100) */
        ps_stream_data(g_r, &g_flow, 0, isn + 1 + ov_lo, alt + ov_lo, 1500 - ov_lo, 1);
        runs++;
        if (n_diff() != 1 || g_st.overlaps != 0 || g_sink.len != 1500 ||
            memcmp(g_sink.buf, data, 1500) != 0 || g_sink.seq_errors != 0 ||
            S()->next_seq != isn + 1501)
            bad++;
    }
    CU_ASSERT_EQUAL(runs, 200);
    CU_ASSERT_EQUAL(bad, 0);
    /* and the identical overlap across the wrap counts as an overlap */
    hsetup(4, isn);
    ps_stream_data(g_r, &g_flow, 0, isn + 1, data, 1100, 1);
    ps_stream_data(g_r, &g_flow, 0, isn + 1 + ov_lo, data + ov_lo, 1500 - ov_lo, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_st.overlaps, 1);
    CU_ASSERT_EQUAL(g_sink.len, 1500);
}

/* History chunks come from the segment pool but leave a quarter of it to
 * out-of-order data; a direction denied one is counted once, keeps no
 * history, and tries again only when history is turned on anew. */
static void t_hist_pool_exhausted(void)
{
    static ps_flow other[3];
    memset(other, 0, sizeof(other));
    hsetup(8, 0); /* reserve 2 */
    ps_stream_set_isn(&g_flow.stream[1], 0);
    for (uint32_t i = 0; i < 4; i++) /* 4 separate queued chunks in direction 1 */
        ps_stream_data(g_r, &g_flow, 1, 100 + 10 * i, (const uint8_t *)"q", 1, 1);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 4);
    feed(1, "abc"); /* takes the 5th chunk: 3 stay free */
    CU_ASSERT(S()->hist != NULL);
    for (int i = 0; i < 2; i++) {
        ps_stream_set_isn(&other[i].stream[0], 0);
        ps_stream_keep_history(g_r, &other[i].stream[0], true);
        ps_stream_data(g_r, &other[i], 0, 1, (const uint8_t *)"abc", 3, 1);
    }
    /* N: the free count fell to the reserve; N+1: refused */
    CU_ASSERT(other[0].stream[0].hist != NULL);
    CU_ASSERT(other[1].stream[0].hist == NULL);
    CU_ASSERT_EQUAL(g_st.history_unavailable, 1);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 2);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 6 * ps_reasm_chunk_size());
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 0);
    /* no retry while denied, even with chunks back: a different overlap
     * goes uncounted */
    ps_stream_release(g_r, &g_flow.stream[1]);
    ps_stream_data(g_r, &other[1], 0, 4, (const uint8_t *)"def", 3, 1);
    ps_stream_data(g_r, &other[1], 0, 2, (const uint8_t *)"XXXX", 4, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_st.history_unavailable, 1);
    ps_stream_keep_history(g_r, &other[1].stream[0], true);
    ps_stream_data(g_r, &other[1], 0, 7, (const uint8_t *)"ghi", 3, 1);
    CU_ASSERT(other[1].stream[0].hist != NULL);
    ps_stream_data(g_r, &other[1], 0, 7, (const uint8_t *)"gXi", 3, 1);
    CU_ASSERT_EQUAL(n_diff(), 1);
    /* release returns every history chunk */
    ps_stream_release(g_r, S());
    ps_stream_release(g_r, &other[0].stream[0]);
    ps_stream_release(g_r, &other[1].stream[0]);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 8);
    /* a pool of 1 (reserve 0) and of 0 */
    hsetup(1, 0);
    feed(1, "abc");
    CU_ASSERT(S()->hist != NULL);
    CU_ASSERT_EQUAL(ps_reasm_free_chunks(g_r), 0);
    feed(10, "later"); /* out of order, pool dry: as without history */
    CU_ASSERT_EQUAL(g_st.anomalies[PS_FA_MEMCAP], 1);
    ps_stream_release(g_r, S());
    hsetup(0, 0);
    feed(1, "abc");
    feed(2, "X");
    CU_ASSERT_EQUAL(g_st.history_unavailable, 1);
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT(out_is("abc"));
}

/* Turned on from on_data (as the worker does when a dissector attaches):
 * the bytes of that very call are kept. Turned off there: nothing kept. */
static void t_hist_from_callback(void)
{
    setup(4, 65536);
    ps_stream_set_isn(S(), 0);
    g_hist_cb = 1;
    feed(1, "abcdef");
    g_hist_cb = 0;
    CU_ASSERT(S()->hist != NULL);
    feed(2, "bXd");
    CU_ASSERT_EQUAL(n_diff(), 1);
    g_hist_cb = -1;
    feed(7, "gh");
    CU_ASSERT(S()->hist == NULL);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
    g_hist_cb = 0;
    feed(2, "bYd");
    CU_ASSERT_EQUAL(n_diff(), 1);
    CU_ASSERT(out_is("abcdefgh"));
}

/* A gap empties the ring: bytes before it cannot be compared. One segment
 * overlapping both delivered and queued bytes counts once. */
static void t_hist_gap_and_queue(void)
{
    hsetup(8, 0);
    feed(1, "hi ");
    feed(9, "world");
    ps_stream_ack(g_r, &g_flow, 0, 10, 1);
    CU_ASSERT(out_is("hi #####world"));
    feed(1, "HI ");
    CU_ASSERT_EQUAL(n_diff(), 0);
    feed(4, "BBBBB"); /* the lost bytes, late: never delivered, not compared */
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_st.retransmitted, 2);
    feed(9, "worlD");
    CU_ASSERT_EQUAL(n_diff(), 1);
    /* delivered and queued overlap, both different: one anomaly */
    hsetup(8, 0);
    feed(1, "abcdef");
    feed(10, "jkl");
    feed(4, "dXfghiJKL");
    CU_ASSERT_EQUAL(n_diff(), 1);
    CU_ASSERT(out_is("abcdefghiJKL"));
    /* delivered same, queued different: one anomaly, no overlap count */
    hsetup(8, 0);
    feed(1, "abcdef");
    feed(10, "jkl");
    feed(4, "defghiJkl");
    CU_ASSERT_EQUAL(n_diff(), 1);
    CU_ASSERT_EQUAL(g_st.overlaps, 0);
    /* both same: one overlap */
    hsetup(8, 0);
    feed(1, "abcdef");
    feed(10, "jkl");
    feed(4, "defghijkl");
    CU_ASSERT_EQUAL(n_diff(), 0);
    CU_ASSERT_EQUAL(g_st.overlaps, 1);
    /* FIN releases the chunk */
    ps_stream_fin(g_r, &g_flow, 0, 13, 1);
    CU_ASSERT(S()->hist == NULL);
    CU_ASSERT_EQUAL(g_st.mem_in_use, 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("reassembly", NULL, NULL);
    CU_add_test(s, "in-order zero copy", t_inorder_zero_copy);
    CU_add_test(s, "1-byte segments", t_one_byte_segments);
    CU_add_test(s, "permutations of 4 segments", t_permutations);
    CU_add_test(s, "retransmission", t_retransmission);
    CU_add_test(s, "overlap same bytes", t_overlap_same);
    CU_add_test(s, "overlap policy", t_overlap_policy);
    CU_add_test(s, "gap via ooo cap", t_gap_ooo_cap);
    CU_add_test(s, "gap via FIN", t_gap_fin);
    CU_add_test(s, "gap via ACK", t_gap_ack);
    CU_add_test(s, "sequence wrap", t_seq_wrap);
    CU_add_test(s, "bad seq", t_bad_seq);
    CU_add_test(s, "pool exhausted", t_pool_exhausted);
    CU_add_test(s, "large segment", t_large_segment);
    CU_add_test(s, "prefixes", t_prefixes);
    CU_add_test(s, "flush and midstream", t_flush_and_midstream);
    CU_add_test(s, "history: same bytes", t_hist_same);
    CU_add_test(s, "history: different bytes", t_hist_diff);
    CU_add_test(s, "history: every prefix", t_hist_prefixes);
    CU_add_test(s, "history: older than the ring", t_hist_older_than_ring);
    CU_add_test(s, "history: every position, seq wrap", t_hist_every_position_wrap);
    CU_add_test(s, "history: pool exhausted", t_hist_pool_exhausted);
    CU_add_test(s, "history: from the callback", t_hist_from_callback);
    CU_add_test(s, "history: gap and queue", t_hist_gap_and_queue);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    ps_reasm_free(g_r);
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
