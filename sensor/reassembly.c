/* reassembly.c - per-direction TCP stream reassembly over a fixed chunk pool. */
#include <stdlib.h>
#include <string.h>

#include "reassembly.h"

/* Design notes.
 *
 * In-order data is handed to on_data straight from the packet; only
 * out-of-order data is copied, into chunks of a pool reserved at start-up.
 * The queue of a direction is a sorted list of chunks that never overlap
 * each other, so delivery is a simple walk.
 *
 * Overlaps follow Suricata's OS_POLICY_LINUX: for queued bytes the old data
 * wins, except when the new segment starts before the queued one, or starts
 * at the same sequence and ends after it. The rule is applied against the
 * stored chunk's extent (chunks may be parts or merges of the original
 * segments). Bytes already delivered cannot change. Flows that want it
 * (ps_stream_keep_history) keep the last PS_SEG_DATA delivered bytes in a
 * ring, one pool chunk indexed by sequence number, only so that overlaps
 * with delivered data can be told same from different; other flows stay
 * copy-free and such overlaps go uncounted. History never calls reclaim
 * (it must not evict flows) and leaves a reserve of the pool to
 * out-of-order data, which matters more for reassembly. */

/* History states; recording is wanted from HIST_WANT on. */
enum { HIST_OFF = 0, HIST_NONE /* no chunk was free */, HIST_WANT, HIST_ON };

/* Result of comparing an overlap, ordered so the worst wins. */
enum { OV_NONE = 0, OV_SAME, OV_DIFF };

_Static_assert((PS_SEG_DATA & (PS_SEG_DATA - 1)) == 0, "ring index is seq mod PS_SEG_DATA");
#define HIST_MASK (PS_SEG_DATA - 1u)

struct ps_seg {
    ps_seg *next;
    uint32_t seq;
    uint32_t len;
    uint8_t data[PS_SEG_DATA];
};

struct ps_reasm {
    ps_seg *pool;
    ps_seg *free;
    size_t nchunks, nfree;
    size_t untouched;    /* pool[untouched..] never used: start-up stays cheap */
    size_t hist_reserve; /* free chunks history may not take */
    uint32_t ooo_cap, ooo_cap_chunks;
    const ps_flow_callbacks *cb;
    ps_flow_stats *st;
    ps_reasm_reclaim_fn reclaim;
    void *reclaim_ctx;
};

static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}
static inline bool seq_lt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) < 0;
}
static inline bool seq_leq(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
    return seq_diff(a, b) > 0;
}

size_t ps_reasm_chunk_size(void)
{
    return sizeof(ps_seg);
}

ps_reasm *ps_reasm_new(size_t nchunks, uint32_t ooo_cap, const ps_flow_callbacks *cb,
                       ps_flow_stats *st, ps_reasm_reclaim_fn reclaim, void *reclaim_ctx)
{
    ps_reasm *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    if (nchunks > 0) {
        r->pool = malloc(nchunks * sizeof(ps_seg));
        if (r->pool == NULL) {
            free(r);
            return NULL;
        }
    }
    r->nchunks = r->nfree = nchunks;
    r->hist_reserve = nchunks / 4;
    r->ooo_cap = ooo_cap;
    uint32_t cc = ooo_cap / PS_SEG_DATA + (ooo_cap % PS_SEG_DATA != 0);
    r->ooo_cap_chunks = PS_MAX(cc, 1u);
    if (r->ooo_cap_chunks > UINT16_MAX)
        r->ooo_cap_chunks = UINT16_MAX; /* ooo_count is 16 bits */
    r->cb = cb;
    r->st = st;
    r->reclaim = reclaim;
    r->reclaim_ctx = reclaim_ctx;
    return r;
}

void ps_reasm_free(ps_reasm *r)
{
    if (r == NULL)
        return;
    free(r->pool);
    free(r);
}

size_t ps_reasm_free_chunks(const ps_reasm *r)
{
    return r->nfree;
}

static void mem_add(ps_flow_stats *st, uint64_t n)
{
    st->mem_in_use += n;
    if (st->mem_in_use > st->mem_peak)
        st->mem_peak = st->mem_in_use;
}

/* Takes a chunk from a pool known not to be empty. */
static ps_seg *pool_take(ps_reasm *r)
{
    ps_seg *g;
    if (r->free != NULL) {
        g = r->free;
        r->free = g->next;
    } else {
        g = &r->pool[r->untouched++];
    }
    r->nfree--;
    mem_add(r->st, sizeof(ps_seg));
    g->next = NULL;
    return g;
}

/* Takes a chunk, asking the owner to reclaim memory when the pool is dry. */
static ps_seg *seg_get(ps_reasm *r)
{
    if (r->free == NULL && r->untouched == r->nchunks) {
        r->st->anomalies[PS_FA_MEMCAP]++;
        if (r->reclaim == NULL || !r->reclaim(r->reclaim_ctx) || r->free == NULL)
            return NULL;
    }
    return pool_take(r);
}

static void seg_put(ps_reasm *r, ps_seg *g)
{
    g->next = r->free;
    r->free = g;
    r->nfree++;
    r->st->mem_in_use -= sizeof(ps_seg);
}

void ps_stream_init(ps_stream *s)
{
    memset(s, 0, sizeof(*s));
}

void ps_stream_set_isn(ps_stream *s, uint32_t isn)
{
    s->isn = isn;
    s->isn_known = true;
    s->next_seq = isn + 1;
    s->synced = true;
}

void ps_stream_sync(ps_stream *s, uint32_t next_seq)
{
    if (s->synced)
        return;
    s->next_seq = next_seq;
    s->synced = true;
}

/* Returns the history chunk; history stays wanted if it was. */
static void hist_release(ps_reasm *r, ps_stream *s)
{
    if (s->hist != NULL) {
        seg_put(r, s->hist);
        s->hist = NULL;
        s->hist_state = HIST_WANT;
    }
    s->hist_len = 0;
}

void ps_stream_release(ps_reasm *r, ps_stream *s)
{
    hist_release(r, s);
    ps_seg *g = s->ooo;
    while (g != NULL) {
        ps_seg *n = g->next;
        seg_put(r, g);
        g = n;
    }
    s->ooo = NULL;
    s->ooo_count = 0;
    s->ooo_bytes = 0;
}

void ps_stream_keep_history(ps_reasm *r, ps_stream *s, bool on)
{
    if (!on) {
        hist_release(r, s);
        s->hist_state = HIST_OFF;
    } else if (s->hist_state < HIST_WANT) {
        s->hist_state = HIST_WANT;
    }
}

/* memcpy kept out of line: knowing n <= PS_SEG_DATA, gcc -O3 inlines it as
 * `rep movsq`, measured 3-4x slower per packet than libc's copy. */
__attribute__((noinline)) static void ring_copy(uint8_t *dst, const uint8_t *src, uint32_t n)
{
    memcpy(dst, src, n);
}

/* Appends delivered bytes [seq, seq+len) to the ring, taking its chunk on
 * first use. Only the last PS_SEG_DATA bytes can matter. */
static void hist_record(ps_reasm *r, ps_stream *s, uint32_t seq, const uint8_t *data, uint32_t len)
{
    if (s->hist == NULL) {
        if (r->nfree <= r->hist_reserve) {
            s->hist_state = HIST_NONE;
            r->st->history_unavailable++;
            return;
        }
        s->hist = pool_take(r);
        s->hist_state = HIST_ON;
        s->hist_len = 0;
    }
    if (s->hist_end != seq)
        s->hist_len = 0; /* a gap came between: older bytes are not kept */
    uint32_t n = PS_MIN(len, PS_SEG_DATA);
    uint32_t pos = (seq + len - n) & HIST_MASK;
    uint32_t k = PS_MIN(n, PS_SEG_DATA - pos);
    data += len - n;
    ring_copy(s->hist->data + pos, data, k);
    ring_copy(s->hist->data, data + k, n - k);
    s->hist_end = seq + len;
    s->hist_len = (uint16_t)PS_MIN(s->hist_len + n, PS_SEG_DATA);
}

/* Compares new bytes [seq, seq+len) with the delivered bytes the ring still
 * holds; bytes outside the ring are not compared. */
static int hist_compare(const ps_stream *s, uint32_t seq, const uint8_t *data, uint32_t len)
{
    if (s->hist == NULL || s->hist_len == 0)
        return OV_NONE;
    uint32_t lo = s->hist_end - s->hist_len, end = seq + len;
    uint32_t a = seq_lt(seq, lo) ? lo : seq;
    uint32_t b = seq_lt(s->hist_end, end) ? s->hist_end : end;
    if (!seq_lt(a, b))
        return OV_NONE;
    uint32_t n = b - a, pos = a & HIST_MASK;
    uint32_t k = PS_MIN(n, PS_SEG_DATA - pos);
    data += a - seq;
    if (memcmp(data, s->hist->data + pos, k) != 0 || memcmp(data + k, s->hist->data, n - k) != 0)
        return OV_DIFF;
    return OV_SAME;
}

static void count_overlap(ps_reasm *r, int ov)
{
    if (ov == OV_DIFF)
        r->st->anomalies[PS_FA_OVERLAP_DIFFERENT]++;
    else if (ov == OV_SAME)
        r->st->overlaps++;
}

/* Hands in-order bytes out; next_seq moves only after the callback so the
 * callback can read the sequence number of the data. The callback may have
 * turned history on or off, hence the check after it. */
static void deliver(ps_reasm *r, ps_flow *f, int dir, const uint8_t *data, uint32_t len,
                    ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (len == 0)
        return;
    if (r->cb != NULL && r->cb->on_data != NULL)
        r->cb->on_data(r->cb->ctx, f, dir, data, len, ts);
    if (s->hist_state >= HIST_WANT)
        hist_record(r, s, s->next_seq, data, len);
    s->next_seq += len;
    s->delivered += len;
}

static void gap(ps_reasm *r, ps_flow *f, int dir, uint32_t len, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (len == 0)
        return;
    if (r->cb != NULL && r->cb->on_gap != NULL)
        r->cb->on_gap(r->cb->ctx, f, dir, len, ts);
    s->next_seq += len;
    r->st->gap_bytes += len;
    r->st->anomalies[PS_FA_GAP]++;
}

/* Delivers queued chunks that have become contiguous with next_seq. */
static void drain(ps_reasm *r, ps_flow *f, int dir, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    ps_seg *h;
    while ((h = s->ooo) != NULL && seq_leq(h->seq, s->next_seq)) {
        uint32_t hend = h->seq + h->len;
        s->ooo = h->next;
        s->ooo_count--;
        s->ooo_bytes -= h->len;
        if (seq_lt(s->next_seq, hend)) {
            uint32_t skip = s->next_seq - h->seq;
            deliver(r, f, dir, h->data + skip, h->len - skip, ts);
        }
        seg_put(r, h);
    }
}

/* Declares the hole before the first queued chunk lost and resumes there. */
static void skip_hole(ps_reasm *r, ps_flow *f, int dir, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (s->ooo == NULL)
        return;
    if (seq_gt(s->ooo->seq, s->next_seq))
        gap(r, f, dir, s->ooo->seq - s->next_seq, ts);
    drain(r, f, dir, ts);
}

/* Queued data behind a hole the peer acknowledged: the hole is capture loss. */
static void ack_resync(ps_reasm *r, ps_flow *f, int dir, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (!s->peer_ack_known)
        return;
    if (!seq_gt(s->peer_ack, s->next_seq)) {
        s->peer_ack_known = false; /* stale; avoid serial wrap-around later */
        return;
    }
    while (s->ooo != NULL && seq_lt(s->ooo->seq, s->peer_ack))
        skip_hole(r, f, dir, ts);
}

static bool over_cap(const ps_reasm *r, const ps_stream *s)
{
    return s->ooo_bytes > r->ooo_cap || s->ooo_count > r->ooo_cap_chunks;
}

/* Linux policy (see top): does new data [s0,e0) replace the queued chunk g? */
static bool new_wins(uint32_t s0, uint32_t e0, const ps_seg *g)
{
    return seq_lt(s0, g->seq) || (s0 == g->seq && seq_gt(e0, g->seq + g->len));
}

/* Copies new bytes [cur, cur+n) into the queue after *prev. Returns false
 * when the pool ran dry (what fit is kept). */
static bool fill(ps_reasm *r, ps_stream *s, ps_seg **prevp, ps_seg ***ppp, uint32_t cur,
                 const uint8_t *src, uint32_t n)
{
    ps_seg *prev = *prevp;
    ps_seg **pp = *ppp;
    bool ok = true;
    while (n > 0) {
        uint32_t k;
        if (prev != NULL && prev->seq + prev->len == cur && prev->len < PS_SEG_DATA) {
            k = PS_MIN(PS_SEG_DATA - prev->len, n);
            memcpy(prev->data + prev->len, src, k);
            prev->len += k;
        } else {
            if (s->ooo_count == UINT16_MAX) {
                ok = false;
                break;
            }
            ps_seg *g = seg_get(r);
            if (g == NULL) {
                ok = false;
                break;
            }
            k = PS_MIN(PS_SEG_DATA, n);
            g->seq = cur;
            g->len = k;
            memcpy(g->data, src, k);
            g->next = *pp;
            *pp = g;
            prev = g;
            pp = &g->next;
            s->ooo_count++;
        }
        s->ooo_bytes += k;
        cur += k;
        src += k;
        n -= k;
    }
    *prevp = prev;
    *ppp = pp;
    return ok;
}

/* Queues [seq, seq+len) (strictly after next_seq). Returns false when the
 * pool ran dry before all of it was stored. */
static bool ooo_insert(ps_reasm *r, ps_stream *s, uint32_t seq, const uint8_t *data, uint32_t len)
{
    uint32_t e0 = seq + len, cur = seq;
    ps_seg *prev = NULL, **pp = &s->ooo;
    bool diff = false, same = false, ok = true;

    while (*pp != NULL && seq_leq((*pp)->seq + (*pp)->len, cur)) {
        prev = *pp;
        pp = &prev->next;
    }
    while (seq_lt(cur, e0)) {
        ps_seg *n = *pp;
        uint32_t stop = (n != NULL && seq_lt(n->seq, e0)) ? n->seq : e0;
        if (seq_lt(cur, stop)) {
            if (!fill(r, s, &prev, &pp, cur, data + (cur - seq), stop - cur)) {
                ok = false;
                break;
            }
            cur = stop;
            continue;
        }
        /* n overlaps at cur: n->seq <= cur < end of n */
        uint32_t nend = n->seq + n->len;
        uint32_t ov_end = seq_lt(nend, e0) ? nend : e0;
        const uint8_t *nd = data + (cur - seq);
        uint8_t *od = n->data + (cur - n->seq);
        uint32_t ovl = ov_end - cur;
        if (memcmp(nd, od, ovl) != 0) {
            diff = true;
            if (new_wins(seq, e0, n))
                memcpy(od, nd, ovl);
        } else {
            same = true;
        }
        cur = ov_end;
        prev = n;
        pp = &n->next;
    }
    count_overlap(r, diff ? OV_DIFF : same ? OV_SAME : OV_NONE);
    return ok;
}

/* New in-order data [s0, e0) supersedes queued bytes it covers (it starts
 * before all of them); says whether they differed. */
static int check_covered(const ps_stream *s, uint32_t s0, const uint8_t *data, uint32_t e0)
{
    int ov = OV_NONE;
    for (const ps_seg *g = s->ooo; g != NULL && seq_lt(g->seq, e0); g = g->next) {
        uint32_t gend = g->seq + g->len;
        uint32_t ov_end = seq_lt(gend, e0) ? gend : e0;
        if (memcmp(g->data, data + (g->seq - s0), ov_end - g->seq) != 0)
            return OV_DIFF;
        ov = OV_SAME;
    }
    return ov;
}

void ps_stream_data(ps_reasm *r, ps_flow *f, int dir, uint32_t seq, const uint8_t *data,
                    uint32_t len, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (len == 0 || data == NULL || s->closed)
        return;
    if (len > PS_SEQ_WINDOW) {
        r->st->anomalies[PS_FA_BAD_SEQ]++;
        return;
    }
    if (!s->synced)
        ps_stream_sync(s, seq); /* mid-stream: first data defines the position */

    int32_t off = seq_diff(seq, s->next_seq);
    if (off > (int32_t)PS_SEQ_WINDOW || off < -(int32_t)PS_SEQ_WINDOW) {
        r->st->anomalies[PS_FA_BAD_SEQ]++;
        return;
    }
    if (seq_leq(seq + len, s->next_seq)) {
        r->st->retransmitted++;
        if (hist_compare(s, seq, data, len) == OV_DIFF)
            r->st->anomalies[PS_FA_OVERLAP_DIFFERENT]++;
        return;
    }
    int ov = OV_NONE;
    if (off < 0) { /* starts in delivered data: only the new tail matters */
        ov = hist_compare(s, seq, data, len);
        uint32_t skip = s->next_seq - seq;
        data += skip;
        len -= skip;
        seq = s->next_seq;
    }
    if (seq == s->next_seq) {
        deliver(r, f, dir, data, len, ts);
        if (s->ooo != NULL) {
            ov = PS_MAX(ov, check_covered(s, seq, data, seq + len));
            drain(r, f, dir, ts);
        }
        count_overlap(r, ov); /* once per segment */
        return;
    }

    r->st->ooo_segments++;
    if (!ooo_insert(r, s, seq, data, len)) {
        /* Pool dry even after reclaim: free ours by resyncing; the lost
         * bytes surface later as a gap. */
        while (s->ooo != NULL)
            skip_hole(r, f, dir, ts);
        return;
    }
    if (over_cap(r, s)) {
        r->st->anomalies[PS_FA_OOO_CAP]++;
        while (s->ooo != NULL && over_cap(r, s))
            skip_hole(r, f, dir, ts);
    }
    ack_resync(r, f, dir, ts);
}

void ps_stream_fin(ps_reasm *r, ps_flow *f, int dir, uint32_t fin_seq, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (s->closed)
        return;
    if (!s->synced) {
        ps_stream_sync(s, fin_seq + 1);
        s->fin_seen = s->closed = true;
        return;
    }
    int32_t d = seq_diff(fin_seq, s->next_seq);
    if (d > (int32_t)PS_SEQ_WINDOW || d < -(int32_t)PS_SEQ_WINDOW) {
        r->st->anomalies[PS_FA_BAD_SEQ]++;
        return;
    }
    if (d >= 0) {
        while (s->ooo != NULL && seq_lt(s->ooo->seq, fin_seq))
            skip_hole(r, f, dir, ts);
        if (seq_lt(s->next_seq, fin_seq))
            gap(r, f, dir, fin_seq - s->next_seq, ts);
        if (s->next_seq == fin_seq)
            s->next_seq++; /* the FIN's own sequence number */
    }
    ps_stream_release(r, s); /* anything past the FIN is bogus */
    s->fin_seen = s->closed = true;
}

void ps_stream_ack(ps_reasm *r, ps_flow *f, int dir, uint32_t ack, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    if (!s->synced || s->closed)
        return;
    int32_t d = seq_diff(ack, s->next_seq);
    if (d <= 0 || d > (int32_t)PS_SEQ_WINDOW)
        return;
    if (!s->peer_ack_known || seq_gt(ack, s->peer_ack)) {
        s->peer_ack = ack;
        s->peer_ack_known = true;
    }
    ack_resync(r, f, dir, ts);
}

void ps_stream_flush(ps_reasm *r, ps_flow *f, int dir, ps_time_us ts)
{
    ps_stream *s = &f->stream[dir];
    while (s->ooo != NULL)
        skip_hole(r, f, dir, ts);
    hist_release(r, s); /* nothing more can be delivered or compared */
    s->closed = true;
}
