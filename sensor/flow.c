/* flow.c - bidirectional TCP flow table: hashing, SYN cache, timeouts, eviction. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "flow.h"
#include "mem.h"
#include "mix.h"
#include "reassembly.h"

/* Timeout classes; each has its own LRU list so expiry only ever looks at
 * list tails. A flow moves between lists as its state changes. */
enum { LRU_EST = 0, LRU_HANDSHAKE, LRU_CLOSED, LRU_NCLASS, LRU_NONE = 0xff };

/* Flows whose reassembly holds chunks are searched for this far from the
 * LRU tails when the segment pool is empty (bounded, so O(1)). */
#define RECLAIM_SCAN 64

/* A cached SYN. The connection is known by its 64-bit keyed tuple hash
 * alone (direction in the top bit, bit 0 set so 0 means free): two live
 * connections agreeing on 62 bits of a secret-keyed hash do not occur,
 * and a 2-way set then fits one cache line (one miss per SYN). */
typedef struct syn_ent {
    uint64_t tag;
    ps_time_us ts;
    uint32_t isn;
    uint32_t unused_[3];
} syn_ent;
_Static_assert(sizeof(syn_ent) * 2 == 64, "a SYN-cache set is one cache line");

#define SYN_SRC_FIRST (1ULL << 63) /* in a tuple hash: the sender sorts first */

/* Index entry of a live flow: its tuple hash next to its position, so a
 * lookup touches no flow whose hash differs (flows are 5 cache lines, and
 * a sweep's SYNs would otherwise each miss on some unrelated flow). */
typedef struct flow_slot {
    uint32_t hash;
    uint32_t idx; /* index in flows + 1; 0 = empty */
} flow_slot;

typedef struct lru_list {
    ps_flow *head, *tail; /* head = most recently used */
} lru_list;

struct ps_flow_table {
    ps_flow_config cfg;
    ps_flow_callbacks cb;
    ps_flow_stats st;
    ps_flow *flows;
    ps_flow *free_list; /* linked through hnext */
    uint32_t untouched; /* flows[untouched..] never used: start-up touches no page */
    flow_slot *slots;   /* open addressing, linear probing, at most half full */
    uint64_t *occ;      /* bit i: slots[i] in use. 1 bit a slot stays in cache where the
                         * slots do not: a sweep's SYN finds its slot empty without a miss */
    uint32_t smask;
    syn_ent *syn;      /* syn_sets * 2 entries, 2-way set associative, line aligned */
    void *syn_mem;     /* allocation holding syn */
    uint32_t syn_mask; /* syn_sets - 1 */
    lru_list lru[LRU_NCLASS];
    ps_reasm *ra;
    ps_flow *cur; /* flow being processed: never evicted to reclaim memory */
    /* ps_flow_find()'s last answer, for the ps_flow_process_hashed() of the
     * same packet that follows; any flow ending or starting forgets it. */
    const ps_packet *memo_pkt;
    uint64_t memo_hash;
    ps_flow *memo_flow;
    int memo_dir;
    ps_mix_key key;
    bool flows_huge; /* flows from ps_mem_huge_alloc() */
    uint64_t next_id;
    ps_time_us now;
};

void ps_flow_config_default(ps_flow_config *cfg)
{
    cfg->max_flows = 65536;
    cfg->memcap = 128ULL << 20;
    cfg->stream_ooo_cap = 256u << 10;
    cfg->syn_cache_slots = 65536;
    cfg->tcp_idle_timeout_s = 600;
    cfg->tcp_closed_timeout_s = 10;
    cfg->tcp_syn_timeout_s = 30;
}

const char *ps_flow_anomaly_name(int a)
{
    switch (a) {
    case PS_FA_OVERLAP_DIFFERENT:
        return "stream.overlap_different";
    case PS_FA_OOO_CAP:
        return "stream.ooo_cap";
    case PS_FA_GAP:
        return "stream.gap";
    case PS_FA_MEMCAP:
        return "stream.memcap";
    case PS_FA_BAD_SEQ:
        return "stream.bad_seq";
    case PS_FA_SYN_DATA_MISMATCH:
        return "stream.syn_mismatch";
    default:
        return "stream.unknown";
    }
}

/* ---- hashing ---------------------------------------------------------- */

/* Any total order will do for canonical keys; word compares are cheap. */
static int ep_cmp(const ps_addr *a, uint16_t ap, const ps_addr *b, uint16_t bp)
{
    uint64_t x[2], y[2];
    memcpy(x, a->bytes, 16);
    memcpy(y, b->bytes, 16);
    if (x[0] != y[0])
        return x[0] < y[0] ? -1 : 1;
    if (x[1] != y[1])
        return x[1] < y[1] ? -1 : 1;
    return (ap > bp) - (ap < bp);
}

/* Keyed hash of the direction-independent 5-tuple of a packet a -> b in
 * bits 0-62 (index slots and SYN-cache sets use the low 32); bit 63 says
 * whether the sender a sorts first. IPv4 packs into two words. */
static uint64_t tuple_hash(const ps_flow_table *t, const ps_addr *a, uint16_t ap, const ps_addr *b,
                           uint16_t bp)
{
    if (a->family == 4 && b->family == 4) {
        /* ep_cmp()'s order as two integers, and selects instead of a swap:
         * which side sorts first is a coin toss the predictor always loses. */
        uint32_t x, y;
        memcpy(&x, a->bytes, 4);
        memcpy(&y, b->bytes, 4);
        uint64_t ka = (uint64_t)x << 16 | ap, kb = (uint64_t)y << 16 | bp;
        bool first = ka <= kb;
        uint64_t lo = first ? ka : kb, hi = first ? kb : ka;
        uint64_t last = (lo & 0xffff) << 16 | (hi & 0xffff) | (uint64_t)4 << 32 | (uint64_t)6 << 40;
        uint64_t h = ps_mix2(&t->key, (lo >> 16) << 32 | (hi >> 16), last);
        return (h & ~SYN_SRC_FIRST) | ((uint64_t)first << 63);
    }
    bool a_first = ep_cmp(a, ap, b, bp) <= 0;
    if (!a_first) {
        const ps_addr *x = a;
        a = b;
        b = x;
        uint16_t y = ap;
        ap = bp;
        bp = y;
    }
    uint64_t w[5];
    memcpy(&w[0], a->bytes, 16);
    memcpy(&w[2], b->bytes, 16);
    w[4] = (uint64_t)ap << 16 | bp | (uint64_t)a->family << 32 | (uint64_t)6 << 40;
    uint64_t h = ps_mixn(&t->key, w, 5);
    return (h & ~SYN_SRC_FIRST) | (a_first ? SYN_SRC_FIRST : 0);
}

static bool addr_eq(const ps_addr *a, const ps_addr *b)
{
    uint64_t x[2], y[2];
    memcpy(x, a->bytes, 16);
    memcpy(y, b->bytes, 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0 && a->family == b->family;
}

/* ---- LRU lists -------------------------------------------------------- */

static uint8_t flow_class(const ps_flow *f)
{
    if ((f->flags & PS_FLOW_F_RST) || (f->flags & (PS_FLOW_F_FIN_CLIENT | PS_FLOW_F_FIN_SERVER)) ==
                                          (PS_FLOW_F_FIN_CLIENT | PS_FLOW_F_FIN_SERVER))
        return LRU_CLOSED;
    if ((f->flags & PS_FLOW_F_SYNACK_SEEN) && f->bytes[0] == 0 && f->bytes[1] == 0)
        return LRU_HANDSHAKE;
    return LRU_EST;
}

static void lru_unlink(ps_flow_table *t, ps_flow *f)
{
    if (f->lru_class >= LRU_NCLASS)
        return;
    lru_list *l = &t->lru[f->lru_class];
    if (f->lru_prev != NULL)
        f->lru_prev->lru_next = f->lru_next;
    else
        l->head = f->lru_next;
    if (f->lru_next != NULL)
        f->lru_next->lru_prev = f->lru_prev;
    else
        l->tail = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
    f->lru_class = LRU_NONE;
}

static void lru_push(ps_flow_table *t, ps_flow *f)
{
    uint8_t c = flow_class(f);
    lru_list *l = &t->lru[c];
    f->lru_class = c;
    f->lru_prev = NULL;
    f->lru_next = l->head;
    if (l->head != NULL)
        l->head->lru_prev = f;
    else
        l->tail = f;
    l->head = f;
}

/* ---- flow life cycle -------------------------------------------------- */

static void hash_insert(ps_flow_table *t, ps_flow *f)
{
    uint32_t i = f->hash & t->smask;
    while (t->slots[i].idx != 0) /* never full: twice as many slots as flows */
        i = (i + 1) & t->smask;
    t->slots[i].hash = f->hash;
    t->slots[i].idx = (uint32_t)(f - t->flows) + 1;
    t->occ[i >> 6] |= 1ULL << (i & 63);
}

static bool slot_used(const ps_flow_table *t, uint32_t i)
{
    return (t->occ[i >> 6] >> (i & 63)) & 1;
}

/* Removes f's slot; later slots of its run move back so that every entry
 * stays reachable from its home slot (no tombstones). */
static void hash_remove(ps_flow_table *t, ps_flow *f)
{
    uint32_t idx = (uint32_t)(f - t->flows) + 1, i = f->hash & t->smask;
    while (t->slots[i].idx != idx) {
        if (t->slots[i].idx == 0)
            return; /* not indexed */
        i = (i + 1) & t->smask;
    }
    for (uint32_t j = (i + 1) & t->smask; t->slots[j].idx != 0; j = (j + 1) & t->smask) {
        uint32_t home = t->slots[j].hash & t->smask;
        /* The entry at j may fill the hole at i unless its home lies in (i, j]. */
        bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            t->slots[i] = t->slots[j];
            i = j;
        }
    }
    t->slots[i].idx = 0;
    t->occ[i >> 6] &= ~(1ULL << (i & 63));
}

/* Delivers what both directions hold (holes become gaps) and closes them. */
static void flush_both(ps_flow_table *t, ps_flow *f, ps_time_us ts)
{
    ps_stream_flush(t->ra, f, PS_DIR_TO_SERVER, ts);
    ps_stream_flush(t->ra, f, PS_DIR_TO_CLIENT, ts);
}

static bool holds_ooo(const ps_flow *f)
{
    return f->stream[0].ooo_count > 0 || f->stream[1].ooo_count > 0;
}

/* Ends `f`: flushes both directions, tells the owner, frees the slot. */
static void flow_end(ps_flow_table *t, ps_flow *f, int reason, ps_time_us ts)
{
    t->memo_pkt = NULL;
    lru_unlink(t, f);
    flush_both(t, f, ts);
    if (t->cb.on_close != NULL)
        t->cb.on_close(t->cb.ctx, f, reason, ts);
    ps_stream_release(t->ra, &f->stream[0]);
    ps_stream_release(t->ra, &f->stream[1]);
    hash_remove(t, f);
    t->st.closed++;
    t->st.active--;
    if (reason == PS_FLOW_END_IDLE)
        t->st.timed_out++;
    else if (reason == PS_FLOW_END_EVICTED)
        t->st.evicted++;
    t->st.mem_in_use -= sizeof(ps_flow);
    f->id = 0;
    f->hnext = t->free_list;
    t->free_list = f;
}

static int end_reason(const ps_flow *f)
{
    if (f->flags & PS_FLOW_F_RST)
        return PS_FLOW_END_RST;
    if (f->flags & (PS_FLOW_F_FIN_CLIENT | PS_FLOW_F_FIN_SERVER))
        return PS_FLOW_END_FIN;
    return PS_FLOW_END_IDLE;
}

/* Victim for a full table: finished flows first, then the least recently
 * used of the rest. */
static ps_flow *pick_victim(ps_flow_table *t)
{
    if (t->lru[LRU_CLOSED].tail != NULL)
        return t->lru[LRU_CLOSED].tail;
    ps_flow *a = t->lru[LRU_HANDSHAKE].tail, *b = t->lru[LRU_EST].tail;
    if (a == NULL)
        return b;
    if (b == NULL)
        return a;
    return a->last_ts <= b->last_ts ? a : b;
}

/* Segment pool dry: evict the least recently used flow holding chunks,
 * never the one being processed. */
static bool reclaim(void *ctx)
{
    ps_flow_table *t = ctx;
    static const int order[] = {LRU_EST, LRU_HANDSHAKE};
    for (size_t i = 0; i < PS_ARRAY_LEN(order); i++) {
        int n = 0;
        for (ps_flow *f = t->lru[order[i]].tail; f != NULL && n < RECLAIM_SCAN;
             f = f->lru_prev, n++) {
            if (f != t->cur && holds_ooo(f)) {
                flow_end(t, f, PS_FLOW_END_EVICTED, t->now);
                return true;
            }
        }
    }
    return false;
}

static ps_flow *flow_new(ps_flow_table *t, uint32_t hash, const ps_addr *cli, uint16_t cport,
                         const ps_addr *srv, uint16_t sport, ps_time_us ts)
{
    if (t->free_list == NULL && t->untouched == t->cfg.max_flows) {
        ps_flow *v = pick_victim(t);
        if (v == NULL)
            return NULL;
        flow_end(t, v, PS_FLOW_END_EVICTED, ts);
    }
    ps_flow *f = t->free_list;
    if (f != NULL)
        t->free_list = f->hnext;
    else
        f = &t->flows[t->untouched++];
    memset(f, 0, sizeof(*f));
    f->id = t->next_id++;
    f->cli = *cli;
    f->srv = *srv;
    f->cport = cport;
    f->sport = sport;
    f->proto = 6;
    f->first_ts = f->last_ts = ts;
    f->hash = hash;
    f->lru_class = LRU_NONE;
    f->hnext = NULL;
    hash_insert(t, f);
    t->st.created++;
    t->st.active++;
    if (t->st.active > t->st.active_peak)
        t->st.active_peak = t->st.active;
    t->st.mem_in_use += sizeof(ps_flow);
    if (t->st.mem_in_use > t->st.mem_peak)
        t->st.mem_peak = t->st.mem_in_use;
    return f;
}

static ps_flow *flow_lookup(ps_flow_table *t, const ps_packet *p, uint32_t hash, int *dir)
{
    if (!slot_used(t, hash & t->smask))
        return NULL; /* an empty home slot ends the run at once */
    for (uint32_t i = hash & t->smask; t->slots[i].idx != 0; i = (i + 1) & t->smask) {
        if (t->slots[i].hash != hash)
            continue;
        ps_flow *f = &t->flows[t->slots[i].idx - 1];
        if (f->cport == p->sport && f->sport == p->dport && addr_eq(&f->cli, &p->src) &&
            addr_eq(&f->srv, &p->dst)) {
            *dir = PS_DIR_TO_SERVER;
            return f;
        }
        if (f->sport == p->sport && f->cport == p->dport && addr_eq(&f->srv, &p->src) &&
            addr_eq(&f->cli, &p->dst)) {
            *dir = PS_DIR_TO_CLIENT;
            return f;
        }
    }
    return NULL;
}

/* ---- SYN cache -------------------------------------------------------- */

/* SYN-cache tag of the connection whose client is the packet's sender
 * (`cli_is_src`) or its receiver. */
static uint64_t syn_tag(uint64_t h, bool cli_is_src)
{
    return (cli_is_src ? h : h ^ SYN_SRC_FIRST) | 1;
}

static syn_ent *syn_set(const ps_flow_table *t, uint64_t h)
{
    return &t->syn[((uint32_t)h & t->syn_mask) * 2];
}

/* Entry for the SYN of the packet's sender (cli_is_src) or receiver, or NULL. */
static syn_ent *syn_find(ps_flow_table *t, uint64_t h, bool cli_is_src)
{
    syn_ent *set = syn_set(t, h);
    uint64_t tag = syn_tag(h, cli_is_src);
    if (set[0].tag == tag)
        return &set[0];
    if (set[1].tag == tag)
        return &set[1];
    return NULL;
}

static bool syn_fresh(const ps_flow_table *t, const syn_ent *e, ps_time_us now)
{
    return now < e->ts || now - e->ts <= (uint64_t)t->cfg.tcp_syn_timeout_s * PS_USEC_PER_SEC;
}

static void syn_insert(ps_flow_table *t, uint64_t h, const ps_packet *p)
{
    syn_ent *e = syn_find(t, h, true);
    if (e != NULL) {
        if (e->isn != p->seq && syn_fresh(t, e, p->ts))
            t->st.anomalies[PS_FA_SYN_DATA_MISMATCH]++;
    } else {
        syn_ent *set = syn_set(t, h);
        if (set[0].tag == 0)
            e = &set[0];
        else if (set[1].tag == 0)
            e = &set[1];
        else {
            e = &set[set[1].ts < set[0].ts]; /* the older; an index, not a branch: a sweep's
                                              * evictions go either way at random */
            t->st.syn_cache_evicted++;
        }
    }
    e->tag = syn_tag(h, true);
    e->isn = p->seq;
    e->ts = p->ts;
    t->st.syn_cached++;
}

/* ---- mid-stream direction heuristic ----------------------------------- */

static bool port_is_service(uint16_t p)
{
    if (p < 1024)
        return true;
    switch (p) {
    case 2375:
    case 2376:
    case 2377:
    case 4243:
    case 4244:
    case 10250:
    case 10255:
    case 6443:
    case 8080:
    case 8001:
    case 2379:
    case 2380:
    case 5000:
        return true;
    default:
        return false;
    }
}

/* True when the sender of a packet sport->dport is the client. */
static bool sender_is_client(uint16_t sport, uint16_t dport)
{
    bool ss = port_is_service(sport), ds = port_is_service(dport);
    if (ss != ds)
        return ds;
    if (sport != dport)
        return dport < sport;
    return true;
}

/* ---- public API ------------------------------------------------------- */

static uint32_t pow2_at_least(uint32_t n)
{
    uint32_t p = 1;
    while (p < n && p < (1u << 31))
        p <<= 1;
    return p;
}

static void free_flows(ps_flow_table *t)
{
    if (t->flows_huge)
        ps_mem_huge_free(t->flows, (size_t)t->cfg.max_flows * sizeof(ps_flow));
    else
        free(t->flows);
}

ps_flow_table *ps_flow_table_new(const ps_flow_config *cfg, const ps_flow_callbacks *cb)
{
    ps_flow_config def;
    ps_flow_config_default(&def);
    ps_flow_config c = cfg != NULL ? *cfg : def;
    if (c.max_flows == 0)
        c.max_flows = def.max_flows;
    if (c.memcap == 0)
        c.memcap = def.memcap;
    if (c.syn_cache_slots < 2)
        c.syn_cache_slots = 2;
    if (c.max_flows > (1u << 30) || c.syn_cache_slots > (1u << 30))
        return NULL;

    uint32_t nslots = pow2_at_least(c.max_flows) * 2;
    uint32_t syn_sets = pow2_at_least(c.syn_cache_slots) / 2;
    uint64_t fixed = (uint64_t)c.max_flows * sizeof(ps_flow) +
                     (uint64_t)nslots * sizeof(flow_slot) +
                     (uint64_t)syn_sets * 2 * sizeof(syn_ent);
    if (fixed > c.memcap)
        return NULL;
    uint64_t nchunks = (c.memcap - fixed) / ps_reasm_chunk_size();
    if (nchunks > SIZE_MAX / ps_reasm_chunk_size())
        return NULL;

    ps_flow_table *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->cfg = c;
    if (cb != NULL)
        t->cb = *cb;
    /* Flows are used from the bottom up (untouched): huge pages make that
     * one page fault per 2 MiB. */
    t->flows = ps_mem_huge_alloc((size_t)c.max_flows * sizeof(ps_flow));
    t->flows_huge = t->flows != NULL;
    if (!t->flows)
        t->flows = calloc(c.max_flows, sizeof(ps_flow));
    t->slots = calloc(nslots, sizeof(flow_slot));
    t->occ = calloc(nslots / 64 + 1, sizeof(uint64_t));
    /* calloc, not aligned_alloc + memset: untouched pages stay unmapped. */
    t->syn_mem = calloc((size_t)syn_sets * 2 + 2, sizeof(syn_ent)); /* + a line to align */
    if (t->syn_mem != NULL)
        t->syn = (syn_ent *)(void *)((uintptr_t)((char *)t->syn_mem + 63) & ~(uintptr_t)63);
    t->ra = ps_reasm_new((size_t)nchunks, c.stream_ooo_cap, &t->cb, &t->st, reclaim, t);
    if (t->flows == NULL || t->slots == NULL || t->occ == NULL || t->syn == NULL || t->ra == NULL) {
        ps_reasm_free(t->ra);
        free(t->syn_mem);
        free(t->occ);
        free(t->slots);
        free_flows(t);
        free(t);
        return NULL;
    }
    t->smask = nslots - 1;
    t->syn_mask = syn_sets - 1;
    uint64_t seed[2];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed[0] = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)t;
        seed[1] = ~seed[0] * 0x9e3779b97f4a7c15ULL;
    }
    ps_mix_key_init(&t->key, seed[0], seed[1]);
    t->next_id = 1;
    return t;
}

void ps_flow_table_free(ps_flow_table *t)
{
    if (t == NULL)
        return;
    ps_flow_flush(t, PS_FLOW_END_SHUTDOWN, t->now);
    ps_reasm_free(t->ra);
    free(t->syn_mem);
    free(t->occ);
    free(t->slots);
    free_flows(t);
    free(t);
}

/* Creates the flow for a packet on an unknown tuple, or returns NULL when
 * the packet must not create one (SYN, RST, bare ACK/FIN). */
static ps_flow *flow_create(ps_flow_table *t, const ps_packet *p, uint64_t h, int *dir)
{
    t->memo_pkt = NULL;
    uint8_t fl = p->tcp_flags;
    uint32_t hash = (uint32_t)h;
    if (fl & PS_TCP_RST) {
        /* closed port answering a SYN, or a stray RST: forget the SYN */
        syn_ent *e = syn_find(t, h, false);
        if (e != NULL)
            e->tag = 0;
        return NULL;
    }
    if ((fl & PS_TCP_SYN) && !(fl & PS_TCP_ACK)) {
        syn_insert(t, h, p);
        return NULL;
    }
    bool synack = (fl & PS_TCP_SYN) && (fl & PS_TCP_ACK);
    if (!synack && p->payload_len == 0)
        return NULL;

    /* Who is the client: the SYN sender if we cached its SYN, the receiver
     * of a SYN-ACK, else the port heuristic. */
    syn_ent *e = NULL;
    bool cli_is_sender;
    if (synack) {
        cli_is_sender = false;
        e = syn_find(t, h, false);
    } else if ((e = syn_find(t, h, true)) != NULL && syn_fresh(t, e, p->ts)) {
        cli_is_sender = true;
    } else if ((e = syn_find(t, h, false)) != NULL && syn_fresh(t, e, p->ts)) {
        cli_is_sender = false;
    } else {
        e = NULL;
        cli_is_sender = sender_is_client(p->sport, p->dport);
    }
    if (e != NULL && !syn_fresh(t, e, p->ts)) {
        e->tag = 0;
        e = NULL;
    }

    ps_flow *f = cli_is_sender ? flow_new(t, hash, &p->src, p->sport, &p->dst, p->dport, p->ts)
                               : flow_new(t, hash, &p->dst, p->dport, &p->src, p->sport, p->ts);
    if (f == NULL)
        return NULL;
    *dir = cli_is_sender ? PS_DIR_TO_SERVER : PS_DIR_TO_CLIENT;
    if (e != NULL) {
        if (!synack || p->ack == e->isn + 1) {
            f->flags |= PS_FLOW_F_SYN_SEEN;
            ps_stream_set_isn(&f->stream[PS_DIR_TO_SERVER], e->isn);
        }
        e->tag = 0;
    } else if (!synack) {
        f->flags |= PS_FLOW_F_MIDSTREAM;
        t->st.midstream++;
    }
    return f;
}

uint64_t ps_flow_hash(const ps_flow_table *t, const ps_packet *p)
{
    return tuple_hash(t, &p->src, p->sport, &p->dst, p->dport);
}

bool ps_flow_prefetch(const ps_flow_table *t, const ps_packet *p, uint64_t h)
{
    bool used = slot_used(t, (uint32_t)h & t->smask);
    if (used)
        __builtin_prefetch(&t->slots[(uint32_t)h & t->smask]);
    if (p->tcp_flags & (PS_TCP_SYN | PS_TCP_RST))
        __builtin_prefetch(syn_set(t, h), 1);
    return used;
}

void ps_flow_prefetch_flow(const ps_flow_table *t, uint64_t h)
{
    uint32_t i = (uint32_t)h & t->smask;
    if (!slot_used(t, i) || t->slots[i].hash != (uint32_t)h)
        return;
    /* Every line of the flow: the lookup reads the tuple, processing the
     * counters, the direction's stream and the LRU links at the end. */
    const char *f = (const char *)&t->flows[t->slots[i].idx - 1];
    for (size_t off = 0; off < sizeof(ps_flow) + 63; off += 64)
        __builtin_prefetch(f + off);
}

const ps_flow *ps_flow_find(ps_flow_table *t, const ps_packet *p, uint64_t h)
{
    ps_flow *f = flow_lookup(t, p, (uint32_t)h, &t->memo_dir);
    t->memo_pkt = p;
    t->memo_hash = h;
    t->memo_flow = f;
    return f;
}

int ps_flow_process(ps_flow_table *t, const ps_packet *p, ps_flow **flow_out)
{
    if (t == NULL || p == NULL || p->ip_proto != 6) {
        if (flow_out != NULL)
            *flow_out = NULL;
        return PS_ERR_SKIP;
    }
    return ps_flow_process_hashed(t, p, ps_flow_hash(t, p), flow_out);
}

int ps_flow_process_hashed(ps_flow_table *t, const ps_packet *p, uint64_t h, ps_flow **flow_out)
{
    if (flow_out != NULL)
        *flow_out = NULL;
    if (t == NULL || p == NULL || p->ip_proto != 6)
        return PS_ERR_SKIP;
    if (p->ts > t->now)
        t->now = p->ts;

    const uint8_t *payload = p->payload;
    uint32_t plen = payload != NULL ? p->payload_len : 0;
    uint8_t fl = p->tcp_flags;
    uint32_t hash = (uint32_t)h;
    int dir = PS_DIR_TO_SERVER;
    ps_flow *f;
    if (t->memo_pkt == p && t->memo_hash == h) { /* ps_flow_find() just looked */
        f = t->memo_flow;
        dir = t->memo_dir;
    } else {
        f = flow_lookup(t, p, hash, &dir);
    }
    t->memo_pkt = NULL;

    if (f != NULL && (fl & PS_TCP_SYN) && !(fl & PS_TCP_ACK) && flow_class(f) == LRU_CLOSED) {
        /* port reuse: a new connection on the tuple of a finished one */
        flow_end(t, f, end_reason(f), p->ts);
        f = NULL;
    }
    if (f == NULL) {
        f = flow_create(t, p, h, &dir);
        if (f == NULL)
            return (fl & PS_TCP_SYN) && !(fl & (PS_TCP_ACK | PS_TCP_RST)) ? PS_OK : PS_ERR_SKIP;
    }

    t->cur = f;
    if (p->ts > f->last_ts)
        f->last_ts = p->ts;
    f->pkts[dir]++;
    f->bytes[dir] += plen;

    ps_stream *s = &f->stream[dir];
    uint32_t seq = p->seq;
    /* Nobody reads this flow: its streams stop where they are, with no gap
     * reported for what is no longer tracked. */
    bool track = !(f->flags & PS_FLOW_F_NO_DATA);
    if (!track && holds_ooo(f))
        flush_both(t, f, p->ts); /* what it still held out of order goes now, not at its end */
    if (fl & PS_TCP_RST) {
        f->flags |= PS_FLOW_F_RST;
        if (track)
            flush_both(t, f, p->ts);
    } else {
        if (fl & PS_TCP_SYN) {
            if (fl & PS_TCP_ACK) {
                if (dir == PS_DIR_TO_CLIENT) {
                    f->flags |= PS_FLOW_F_SYNACK_SEEN;
                    ps_stream_sync(&f->stream[PS_DIR_TO_SERVER], p->ack);
                }
            } else if (dir == PS_DIR_TO_SERVER) {
                f->flags |= PS_FLOW_F_SYN_SEEN;
            }
            if (s->isn_known && s->isn != seq)
                t->st.anomalies[PS_FA_SYN_DATA_MISMATCH]++;
            else if (!s->synced)
                ps_stream_set_isn(s, seq);
            seq++; /* the SYN's own sequence number */
        }
        if (plen > 0 && track)
            ps_stream_data(t->ra, f, dir, seq, payload, plen, p->ts);
        if (fl & PS_TCP_FIN) {
            f->flags |= dir == PS_DIR_TO_SERVER ? PS_FLOW_F_FIN_CLIENT : PS_FLOW_F_FIN_SERVER;
            if (track)
                ps_stream_fin(t->ra, f, dir, seq + plen, p->ts);
        }
        if ((fl & PS_TCP_ACK) && track)
            ps_stream_ack(t->ra, f, dir ^ 1, p->ack, p->ts);
    }
    /* relink only when it moves: bursts of one flow touch no neighbours */
    if (f->lru_class != flow_class(f) || t->lru[f->lru_class].head != f) {
        lru_unlink(t, f);
        lru_push(t, f);
    }
    t->cur = NULL;
    if (flow_out != NULL)
        *flow_out = f;
    return PS_OK;
}

void ps_flow_expire(ps_flow_table *t, ps_time_us now)
{
    if (t == NULL)
        return;
    uint64_t to[LRU_NCLASS];
    to[LRU_EST] = (uint64_t)t->cfg.tcp_idle_timeout_s * PS_USEC_PER_SEC;
    to[LRU_HANDSHAKE] = (uint64_t)t->cfg.tcp_syn_timeout_s * PS_USEC_PER_SEC;
    to[LRU_CLOSED] = (uint64_t)t->cfg.tcp_closed_timeout_s * PS_USEC_PER_SEC;
    for (int c = 0; c < LRU_NCLASS; c++) {
        ps_flow *f;
        while ((f = t->lru[c].tail) != NULL && now >= f->last_ts && now - f->last_ts >= to[c])
            flow_end(t, f, end_reason(f), now);
    }
}

void ps_flow_flush(ps_flow_table *t, int reason, ps_time_us now)
{
    if (t == NULL)
        return;
    for (int c = 0; c < LRU_NCLASS; c++) {
        ps_flow *f;
        while ((f = t->lru[c].tail) != NULL)
            flow_end(t, f, reason, now);
    }
}

const ps_flow_stats *ps_flow_table_stats(const ps_flow_table *t)
{
    return &t->st;
}

void ps_flow_keep_history(ps_flow_table *t, ps_flow *f, bool on)
{
    if (t == NULL || f == NULL || f->id == 0)
        return;
    ps_stream_keep_history(t->ra, &f->stream[PS_DIR_TO_SERVER], on);
    ps_stream_keep_history(t->ra, &f->stream[PS_DIR_TO_CLIENT], on);
}
