/* fuzz_reassembly.c - libFuzzer target: arbitrary segment sequences into one TCP flow. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "reassembly.h"

/* Input: 11-byte header (mode and history mode, ooo cap, pool chunks,
 * client ISN, server ISN) then 10-byte records (dir|corrupt|toggle history,
 * flags, seq offset 24 bit, length 16 bit, xor key, ack offset 16 bit).
 * Payload bytes are a function of their sequence number, so the model knows
 * what every delivered byte must be; "corrupt" records change them (an
 * overlap with different bytes), after which content is no longer checked
 * for that direction. Without corrupt records no overlap may differ. */

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

typedef struct model {
    uint32_t base[2];     /* ISN of each direction */
    int64_t lo[2], hi[2]; /* extent of sequence space sent, relative to base+1 */
    bool corrupt[2];
    uint64_t flow_id;
    uint64_t adv[2];  /* delivered + gap bytes of the current flow */
    uint32_t next[2]; /* where the next callback must start */
    bool next_known[2];
} model;

static model m;
static ps_flow_table *g_t;
static bool g_hist_in_cb; /* turn history on from on_data, as the worker does */

static uint8_t byte_at(uint32_t seq, int dir)
{
    return (uint8_t)(((seq * 2654435761u) >> 24) ^ (dir ? 0xa5u : 0u));
}

static void track(ps_flow *f)
{
    if (f->id != m.flow_id) {
        m.flow_id = f->id;
        m.adv[0] = m.adv[1] = 0;
        m.next_known[0] = m.next_known[1] = false;
    }
}

/* Callbacks of one direction tile the sequence space: no silent skips. */
static void advance(int md, uint32_t seq, uint32_t len)
{
    CHECK(!m.next_known[md] || m.next[md] == seq);
    m.next[md] = seq + len;
    m.next_known[md] = true;
}

/* The flow may have picked the other side as client: map to model sides. */
static int mdir(const ps_flow *f, int dir)
{
    return f->cport == 40000 ? dir : dir ^ 1;
}

static void check_adv(int dir)
{
    CHECK(m.adv[dir] <= (uint64_t)(m.hi[dir] - m.lo[dir]));
}

/* The model's per-byte loops are not the code under test: no coverage
 * callbacks in them (they cost more than the reassembly they check). */
__attribute__((no_sanitize("coverage"), noinline)) static bool
content_ok(const uint8_t *d, size_t len, uint32_t seq, int md)
{
    for (size_t i = 0; i < len; i++)
        if (d[i] != byte_at(seq + (uint32_t)i, md))
            return false;
    return true;
}

__attribute__((no_sanitize("coverage"), noinline)) static void
fill(uint8_t *buf, uint32_t len, uint32_t seq, int dir, uint8_t x)
{
    for (uint32_t i = 0; i < len; i++)
        buf[i] = byte_at(seq + i, dir) ^ x;
}

static void on_data(void *ctx, ps_flow *f, int dir, const uint8_t *d, size_t len, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    CHECK(dir == 0 || dir == 1);
    CHECK(len > 0);
    track(f);
    if (g_hist_in_cb)
        ps_flow_keep_history(g_t, f, true);
    uint32_t seq = f->stream[dir].next_seq;
    int md = mdir(f, dir);
    if (!m.corrupt[md])
        CHECK(content_ok(d, len, seq, md));
    advance(md, seq, (uint32_t)len);
    m.adv[md] += len;
    check_adv(md);
}

static void on_gap(void *ctx, ps_flow *f, int dir, uint32_t len, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    CHECK(len > 0);
    track(f);
    advance(mdir(f, dir), f->stream[dir].next_seq, len);
    m.adv[mdir(f, dir)] += len;
    check_adv(mdir(f, dir));
}

static void on_close(void *ctx, ps_flow *f, int reason, ps_time_us ts)
{
    (void)ctx;
    (void)ts;
    (void)reason;
    CHECK(f->id != 0);
}

static void extend(int dir, int64_t pos)
{
    if (pos < m.lo[dir])
        m.lo[dir] = pos;
    if (pos > m.hi[dir])
        m.hi[dir] = pos;
}

static ps_packet mk(int dir, uint8_t flags, uint32_t seq, uint32_t ack, const uint8_t *d,
                    uint32_t len, ps_time_us ts)
{
    ps_packet p;
    memset(&p, 0, sizeof(p));
    p.ts = ts;
    p.ip_version = 4;
    p.ip_proto = 6;
    ps_addr c = {4, {10, 0, 0, 1}}, s = {4, {10, 0, 0, 2}};
    p.src = dir == 0 ? c : s;
    p.dst = dir == 0 ? s : c;
    p.sport = dir == 0 ? 40000 : 2375;
    p.dport = dir == 0 ? 2375 : 40000;
    p.tcp_flags = flags;
    p.seq = seq;
    p.ack = ack;
    p.payload = d;
    p.payload_len = len;
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t buf[3000];
    if (size < 11)
        return 0;
    memset(&m, 0, sizeof(m));
    static const ps_flow_callbacks cb = {on_data, on_gap, on_close, NULL};
    ps_flow_config cfg;
    ps_flow_config_default(&cfg);
    cfg.max_flows = 4;
    cfg.syn_cache_slots = 2;
    cfg.stream_ooo_cap = ((uint32_t)data[1] + 1) * 64;
    cfg.memcap = 4 * sizeof(ps_flow) + 4096 + (uint64_t)(data[2] % 8) * ps_reasm_chunk_size();
    ps_flow_table *t = ps_flow_table_new(&cfg, &cb);
    CHECK(t != NULL);
    g_t = t;

    int mode = data[0] % 3;
    int hmode = (data[0] / 3) % 3; /* history: 0 from on_data, 1 after a packet, 2 off */
    g_hist_in_cb = hmode == 0;
    memcpy(&m.base[0], data + 3, 4);
    memcpy(&m.base[1], data + 7, 4);
    ps_time_us ts = 1000000;
    if (mode != 1) {
        ps_packet p = mk(0, PS_TCP_SYN, m.base[0], 0, NULL, 0, ts);
        ps_flow_process(t, &p, NULL);
    }
    if (mode == 0) {
        ps_packet p = mk(1, PS_TCP_SYN | PS_TCP_ACK, m.base[1], m.base[0] + 1, NULL, 0, ts);
        ps_flow_process(t, &p, NULL);
    }

    for (size_t o = 11; o + 10 <= size; o += 10) {
        const uint8_t *r = data + o;
        int dir = r[0] & 1;
        bool corrupt = (r[0] & 2) != 0;
        uint8_t flags = r[1] & 0x3f;
        int32_t off =
            (int32_t)((uint32_t)r[2] | (uint32_t)r[3] << 8 | (uint32_t)r[4] << 16) - 65536;
        uint32_t len = ((uint32_t)r[5] | (uint32_t)r[6] << 8) % sizeof(buf);
        uint32_t ackoff = ((uint32_t)r[8] | (uint32_t)r[9] << 8) * 16;
        uint32_t seq = m.base[dir] + 1 + (uint32_t)off;
        fill(buf, len, seq + ((flags & PS_TCP_SYN) ? 1 : 0), dir,
             corrupt ? (uint8_t)(r[7] | 1) : 0);
        if (corrupt && len > 0)
            m.corrupt[dir] = true;
        /* the sequence space this record can make the stream cover */
        extend(dir, off);
        extend(dir, (int64_t)off + len + 2);
        extend(dir ^ 1, ackoff);
        ps_packet p = mk(dir, flags, seq, m.base[dir ^ 1] + 1 + ackoff, buf, len, ts);
        ps_flow *f = NULL;
        int rc = ps_flow_process(t, &p, &f);
        CHECK(rc == PS_OK || rc == PS_ERR_SKIP);
        if (f != NULL) {
            CHECK(f->id != 0);
            if (hmode == 1)
                ps_flow_keep_history(t, f, true);
            if (r[0] & 4) { /* toggle: off, or back on */
                bool on = f->stream[0].hist_state == 0;
                ps_flow_keep_history(t, f, on);
                if (!on)
                    CHECK(f->stream[0].hist == NULL && f->stream[1].hist == NULL);
            }
            for (int d = 0; d < 2; d++) {
                const ps_stream *s = &f->stream[d];
                CHECK(s->ooo_bytes <= cfg.stream_ooo_cap);
                CHECK((s->ooo == NULL) == (s->ooo_count == 0));
                /* the ring always ends where in-order delivery stands */
                CHECK(s->hist_len <= PS_SEG_DATA);
                CHECK(s->hist == NULL || s->hist_len == 0 || s->hist_end == s->next_seq);
                CHECK(s->hist == NULL || !s->closed);
            }
        }
        if (!m.corrupt[0] && !m.corrupt[1])
            CHECK(ps_flow_table_stats(t)->anomalies[PS_FA_OVERLAP_DIFFERENT] == 0);
        ts += 1000 * (uint64_t)r[7];
        if (r[7] == 0xff)
            ps_flow_expire(t, ts + 700 * PS_USEC_PER_SEC);
    }
    ps_flow_flush(t, PS_FLOW_END_SHUTDOWN, ts);
    const ps_flow_stats *st = ps_flow_table_stats(t);
    CHECK(st->active == 0);
    CHECK(st->mem_in_use == 0);
    CHECK(st->closed == st->created);
    if (hmode == 2 && st->history_unavailable != 0) {
        bool toggled = false;
        for (size_t o = 11; o + 10 <= size; o += 10)
            toggled |= (data[o] & 4) != 0;
        CHECK(toggled);
    }
    ps_flow_table_free(t);
    return 0;
}
