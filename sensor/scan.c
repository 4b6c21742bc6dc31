/* scan.c - container-port sweep detection: scanner fingerprints, bounded per-source counts,
 * rate-limited reports. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "crypto.h"
#include "event.h"
#include "hll.h"
#include "mix.h"
#include "scan.h"

#define NIL        UINT32_MAX
#define NO_SLOT    0xff
#define MG_K       8 /* heavy-hitter counters for the vertical test */
#define NMAP_CANDS 4 /* recent (seq, sport) pairs remembered for nmap */
#define RESP_EXACT 8 /* responders deduplicated exactly, then by bitmap */
#define EVICT_LOOK 8 /* LRU entries examined for an unreported victim */
#define MICRO      1000000ULL
#define HCACHE     64 /* recent source-key hashes (power of two) */
/* A source moves to the head of the LRU lists at most this often: a
 * sweep's scanner then costs no list surgery per probe, and eviction and
 * idle expiry are late by at most this much. */
#define LRU_SLACK_US 100000ULL

/* Distinct targets that carried one fingerprint (first few only). */
typedef struct fp_ev {
    uint32_t tg[PS_SCAN_FP_K_MAX];
    uint8_t ntg;
} fp_ev;

typedef struct nmap_cand {
    uint32_t seq;
    uint32_t tg;
    uint16_t sport;
    bool used;
} nmap_cand;

enum { MC_HINT_NONE = 0, MC_HINT_132, MC_HINT_MASTER };
enum { ZM_NONE = 0, ZM_2X, ZM_3X };

/* One scanner source. Fixed size; the exact and window sets live in the
 * detector's arrays at index * exact_targets. */
typedef struct src {
    ps_addr addr;
    uint8_t kind; /* sticky best: fingerprint < vertical < horizontal */
    bool used;
    bool announced; /* a detection was declared (first report attempted) */
    bool emitted;   /* a report actually left */
    bool overflow;  /* exact set full: counting in the sketch */
    bool win_over;  /* window set full: dedup by bitmap */
    bool win_container;
    bool any_container;
    bool ports_more;
    uint8_t nports, nresp_ex;
    uint8_t mc_hint, zm_ver;
    bool nmap_old;
    uint8_t nmap_next;
    uint32_t older, newer;
    uint32_t sketch, sk_older, sk_newer;
    uint32_t nexact, nwin, nresp;
    uint32_t peak_hp, peak_ph;
    uint64_t scan_id;
    uint64_t targets_base; /* counted in sketches taken away */
    uint64_t probes;
    ps_time_us first_seen, last_seen, win_start, last_report;
    ps_time_us lru_at, sk_at; /* last moves to the heads of the LRU lists */
    ps_addr dst;
    uint16_t dport, sport;
    uint16_t ports[PS_SCAN_REPORT_PORTS];
    uint32_t ports_noted; /* container-set slots already passed to note_port() */
    uint16_t slot_hosts[PS_SCAN_MAX_PORTS];
    uint32_t mg_host[MG_K];
    uint16_t mg_cnt[MG_K];
    uint64_t win_bits[8];
    uint32_t resp_hash[RESP_EXACT];
    uint64_t resp_bits[4];
    ps_addr resp_addr[PS_SCAN_REPORT_RESP];
    uint16_t resp_port[PS_SCAN_REPORT_RESP];
    fp_ev fp_mc, fp_zold, fp_znew, fp_nmap, fp_rmac;
    nmap_cand nmap[NMAP_CANDS];
    ps_scan_features feat;
} src;

struct ps_scan {
    ps_scan_config cfg;
    uint64_t k0, k1;
    ps_mix_key key; /* from k0, k1: spoofed sources cannot aim at one bucket */
    src *srcs;
    /* Per source, apart from its large entry: table key and next in its
     * bucket (or in the free list). A bucket walk reads only these. */
    struct {
        uint32_t hash, next;
    } * link;
    uint32_t *buckets;
    uint32_t bmask;
    uint32_t *exact, *win;
    uint8_t *sketches;
    uint32_t *sk_next; /* free list links */
    uint32_t *sk_owner;
    uint32_t sk_free, sk_head, sk_tail;
    uint32_t lru_head, lru_tail, free_head;
    uint32_t untouched;   /* srcs[untouched..] never used: start-up touches no page */
    uint32_t last_src[2]; /* sources src_lookup() found last, or NIL (checked: may be reused) */
    ps_scan_report *q;
    uint32_t qhead, qlen;
    uint8_t *slot_of; /* port -> index in cfg.ports, NO_SLOT if absent */
    uint64_t tokens;  /* micro-tokens */
    ps_time_us tb_last, now;
    bool tb_init;
    uint64_t sup_pending;
    ps_time_us sup_first, sup_last, sup_emit;
    uint64_t next_id;
    ps_scan_stats st;
    size_t mem;
    /* Source-table hashes of recent addresses: a sweep's SYNs come from a
     * few scanners, so most probes skip one keyed hash. Direct-mapped by an
     * unkeyed index; a miss only costs the hash. family 0 = empty. */
    struct {
        ps_addr a;
        uint32_t h;
        uint32_t idx; /* the source's index when it was last found, or NIL */
    } hcache[HCACHE];
};

static const uint16_t default_ports[] = {2375,  2376, 2377, 4243, 4244, 10250, 10255,
                                         10256, 6443, 8080, 8001, 2379, 2380,  5000};

/* The option bytes zmap >= 4.1 sends by default (--probe-args windows). */
static const uint8_t zmap41_opts[12] = {0x02, 0x04, 0x05, 0xb4, 0x01, 0x03,
                                        0x03, 0x08, 0x01, 0x01, 0x04, 0x02};
static const uint8_t mss1460[4] = {0x02, 0x04, 0x05, 0xb4};
static const uint8_t router_mac[6] = {0x66, 0x55, 0x44, 0x33, 0x22, 0x11};

void ps_scan_config_default(ps_scan_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    memcpy(cfg->ports, default_ports, sizeof default_ports);
    cfg->nports = (uint32_t)PS_ARRAY_LEN(default_ports);
    cfg->horizontal_hosts = 25;
    cfg->vertical_ports = 15;
    cfg->window_s = 300;
    cfg->idle_timeout_s = 3600;
    cfg->max_sources = 16384;
    cfg->exact_targets = 64;
    cfg->hll_bits = 10;
    cfg->hll_sketches = 1024;
    cfg->fingerprint_k = 2;
    cfg->report_rate = 10;
    cfg->report_burst = 100;
    cfg->suppressed_interval_s = 60;
    cfg->max_pending = 1024;
    cfg->memcap = 64ULL << 20;
}

static int cfg_fail(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
    return PS_ERR_CONFIG;
}

int ps_scan_config_check(const ps_scan_config *c, char *err, size_t errlen)
{
    if (c->nports < 1 || c->nports > PS_SCAN_MAX_PORTS)
        return cfg_fail(err, errlen, "scan.ports: 1 to 32 ports");
    for (uint32_t i = 0; i < c->nports; i++)
        if (c->ports[i] == 0)
            return cfg_fail(err, errlen, "scan.ports: port 0");
    if (c->horizontal_hosts < 1 || c->horizontal_hosts > 65535)
        return cfg_fail(err, errlen, "scan.horizontal_hosts: 1 to 65535");
    if (c->vertical_ports < 1 || c->vertical_ports > 65535)
        return cfg_fail(err, errlen, "scan.vertical_ports: 1 to 65535");
    if (c->window_s < 1 || c->window_s > 7 * 86400)
        return cfg_fail(err, errlen, "scan.window: 1 s to 7 days");
    if (c->idle_timeout_s < 1 || c->idle_timeout_s > 30 * 86400)
        return cfg_fail(err, errlen, "scan.idle_timeout: 1 s to 30 days");
    if (c->max_sources < 1 || c->max_sources > (1U << 26))
        return cfg_fail(err, errlen, "scan.max_sources: 1 to 67108864");
    if (c->exact_targets < 1 || c->exact_targets > PS_SCAN_EXACT_MAX)
        return cfg_fail(err, errlen, "scan.exact_targets: 1 to 256");
    if (c->hll_bits < PS_HLL_MIN_BITS || c->hll_bits > PS_HLL_MAX_BITS)
        return cfg_fail(err, errlen, "scan.hll_bits: 4 to 16");
    if (c->hll_sketches < 1 || c->hll_sketches > c->max_sources)
        return cfg_fail(err, errlen, "scan.hll_sketches: 1 to max_sources");
    if (c->fingerprint_k < 2 || c->fingerprint_k > PS_SCAN_FP_K_MAX)
        return cfg_fail(err, errlen, "scan.fingerprint_k: 2 to 4");
    if (c->report_rate > 1000000 || (c->report_rate > 0 && c->report_burst < 1) ||
        c->report_burst > 1000000)
        return cfg_fail(err, errlen, "scan.report_rate/report_burst out of range");
    if (c->suppressed_interval_s < 1)
        return cfg_fail(err, errlen, "scan.suppressed_interval: at least 1 s");
    if (c->max_pending < 1 || c->max_pending > (1U << 20))
        return cfg_fail(err, errlen, "scan.max_pending: 1 to 1048576");
    if (ps_scan_config_memory(c) > c->memcap)
        return cfg_fail(err, errlen, "scan: tables exceed scan.memcap");
    return PS_OK;
}

static uint32_t bucket_count(uint32_t n)
{
    uint32_t b = 1;
    while (b < n)
        b <<= 1;
    return b;
}

size_t ps_scan_config_memory(const ps_scan_config *c)
{
    size_t n = c->max_sources, e = c->exact_targets, k = c->hll_sketches;
    size_t m = sizeof(ps_scan);
    m += n * (sizeof(src) + 2 * sizeof(uint32_t));
    m += (size_t)bucket_count(c->max_sources) * sizeof(uint32_t);
    m += 2 * n * e * sizeof(uint32_t);
    m += k * ((size_t)1 << c->hll_bits) + 2 * k * sizeof(uint32_t);
    m += (size_t)c->max_pending * sizeof(ps_scan_report);
    m += 65536;
    return m;
}

/* ---- hashing ---------------------------------------------------------- */

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Keyed hash of an address; `tag` separates the uses. */
static uint64_t addr_hash(const ps_scan *s, const ps_addr *a, uint64_t tag)
{
    uint64_t w[2];
    memcpy(w, a->bytes, 16);
    return ps_mix3(&s->key, w[0], w[1], (uint64_t)a->family | tag << 8);
}

/* A target is (host, port): derived from the host's keyed hash, so one
 * keyed hash per packet serves host and target. */
static uint32_t target_of(uint64_t hhost, uint16_t port)
{
    return (uint32_t)fmix64(hhost + ((uint64_t)port + 1) * 0x9e3779b97f4a7c15ULL);
}

/* (uint32_t)addr_hash(s, a, 0), the source table's key, through the cache;
 * *slot_out is the cache entry, whose idx may name the source. */
static uint32_t src_key(ps_scan *s, const ps_addr *a, uint32_t *slot_out)
{
    uint32_t x[4];
    memcpy(x, a->bytes, 16);
    uint32_t slot = ((x[0] ^ x[1] ^ x[2] ^ x[3]) * 0x9e3779b1u) >> 26;
    _Static_assert(HCACHE == 64, "slot is the top 6 bits");
    *slot_out = slot;
    if (s->hcache[slot].a.family == a->family && memcmp(s->hcache[slot].a.bytes, a->bytes, 16) == 0)
        return s->hcache[slot].h;
    uint32_t h = (uint32_t)addr_hash(s, a, 0);
    s->hcache[slot].a = *a;
    s->hcache[slot].h = h;
    s->hcache[slot].idx = NIL;
    return h;
}

static uint64_t hll_input(const ps_scan *s, uint32_t t)
{
    return fmix64((uint64_t)t ^ s->k1);
}

static bool addr_eq(const ps_addr *a, const ps_addr *b)
{
    return a->family == b->family && memcmp(a->bytes, b->bytes, 16) == 0;
}

/* ---- creation --------------------------------------------------------- */

ps_scan *ps_scan_new(const ps_scan_config *cfg)
{
    if (ps_scan_config_check(cfg, NULL, 0) != PS_OK)
        return NULL;
    ps_scan *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cfg = *cfg;
    uint32_t n = cfg->max_sources, nb = bucket_count(n);
    size_t e = cfg->exact_targets;
    s->srcs = calloc(n, sizeof(src));
    s->link = calloc(n, sizeof *s->link);
    s->buckets = malloc((size_t)nb * sizeof(uint32_t));
    s->exact = calloc((size_t)n * e, sizeof(uint32_t));
    s->win = calloc((size_t)n * e, sizeof(uint32_t));
    s->sketches = calloc(cfg->hll_sketches, (size_t)1 << cfg->hll_bits);
    s->sk_next = calloc(cfg->hll_sketches, sizeof(uint32_t));
    s->sk_owner = calloc(cfg->hll_sketches, sizeof(uint32_t));
    s->q = calloc(cfg->max_pending, sizeof(ps_scan_report));
    s->slot_of = malloc(65536);
    if (!s->srcs || !s->link || !s->buckets || !s->exact || !s->win || !s->sketches ||
        !s->sk_next || !s->sk_owner || !s->q || !s->slot_of) {
        ps_scan_free(s);
        return NULL;
    }
    s->bmask = nb - 1;
    for (uint32_t i = 0; i < nb; i++)
        s->buckets[i] = NIL;
    s->free_head = NIL;
    s->last_src[0] = s->last_src[1] = NIL;
    s->lru_head = s->lru_tail = NIL;
    for (uint32_t i = 0; i < cfg->hll_sketches; i++) {
        s->sk_next[i] = i + 1 < cfg->hll_sketches ? i + 1 : NIL;
        s->sk_owner[i] = NIL;
    }
    s->sk_free = 0;
    s->sk_head = s->sk_tail = NIL;
    memset(s->slot_of, NO_SLOT, 65536);
    for (uint32_t i = 0; i < cfg->nports; i++)
        if (s->slot_of[cfg->ports[i]] == NO_SLOT)
            s->slot_of[cfg->ports[i]] = (uint8_t)i;
    if (cfg->hash_key[0] || cfg->hash_key[1]) {
        s->k0 = cfg->hash_key[0];
        s->k1 = cfg->hash_key[1];
    } else {
        uint64_t k[2] = {0, 0};
        if (ps_random_bytes((uint8_t *)k, sizeof k) != PS_OK) {
            ps_scan_free(s);
            return NULL;
        }
        s->k0 = k[0];
        s->k1 = k[1];
    }
    ps_mix_key_init(&s->key, s->k0, s->k1);
    s->tokens = (uint64_t)cfg->report_burst * MICRO;
    s->mem = ps_scan_config_memory(cfg);
    return s;
}

int ps_scan_set_limits(ps_scan *s, const ps_scan_config *cfg)
{
    ps_scan_config next = s->cfg;
    next.horizontal_hosts = cfg->horizontal_hosts;
    next.vertical_ports = cfg->vertical_ports;
    next.window_s = cfg->window_s;
    next.idle_timeout_s = cfg->idle_timeout_s;
    next.report_rate = cfg->report_rate;
    next.report_burst = cfg->report_burst;
    next.suppressed_interval_s = cfg->suppressed_interval_s;
    if (ps_scan_config_check(&next, NULL, 0) != PS_OK)
        return PS_ERR_CONFIG;
    s->cfg = next;
    uint64_t cap = (uint64_t)next.report_burst * MICRO;
    if (s->tokens > cap)
        s->tokens = cap;
    return PS_OK;
}

void ps_scan_free(ps_scan *s)
{
    if (!s)
        return;
    free(s->srcs);
    free(s->link);
    free(s->buckets);
    free(s->exact);
    free(s->win);
    free(s->sketches);
    free(s->sk_next);
    free(s->sk_owner);
    free(s->q);
    free(s->slot_of);
    free(s);
}

void ps_probe_from_packet(ps_probe *pr, const ps_packet *p)
{
    /* Every field is set, padding aside: no memset of the whole probe. */
    pr->ts = p->ts;
    pr->src = p->src;
    pr->dst = p->dst;
    pr->sport = p->sport;
    pr->dport = p->dport;
    pr->ip_version = p->ip_version;
    pr->flags = p->tcp_flags;
    pr->ttl = p->ttl;
    pr->tos = p->tos;
    pr->df = p->df;
    pr->ip_id = p->ip_id;
    pr->window = p->window;
    pr->seq = p->seq;
    pr->ack = p->ack;
    size_t ol = p->tcp_opts ? PS_MIN((size_t)p->tcp_opts_len, sizeof pr->opts) : 0;
    memset(pr->opts, 0, sizeof pr->opts);
    if (ol)
        memcpy(pr->opts, p->tcp_opts, ol);
    pr->opts_len = (uint8_t)ol;
    pr->payload_len = p->payload_len;
    memcpy(pr->eth_dst, p->eth_dst, 6);
}

/* ---- lists ------------------------------------------------------------ */

static void lru_unlink(ps_scan *s, uint32_t i)
{
    src *e = &s->srcs[i];
    if (e->older != NIL)
        s->srcs[e->older].newer = e->newer;
    else
        s->lru_tail = e->newer;
    if (e->newer != NIL)
        s->srcs[e->newer].older = e->older;
    else
        s->lru_head = e->older;
    e->older = e->newer = NIL;
}

static void lru_push_head(ps_scan *s, uint32_t i)
{
    src *e = &s->srcs[i];
    e->newer = NIL;
    e->older = s->lru_head;
    if (s->lru_head != NIL)
        s->srcs[s->lru_head].newer = i;
    else
        s->lru_tail = i;
    s->lru_head = i;
}

static void sk_unlink(ps_scan *s, uint32_t k)
{
    uint32_t o = s->sk_owner[k];
    src *e = &s->srcs[o];
    if (e->sk_older != NIL)
        s->srcs[s->sk_owner[e->sk_older]].sk_newer = e->sk_newer;
    else
        s->sk_tail = e->sk_newer;
    if (e->sk_newer != NIL)
        s->srcs[s->sk_owner[e->sk_newer]].sk_older = e->sk_older;
    else
        s->sk_head = e->sk_older;
    e->sk_older = e->sk_newer = NIL;
}

/* Holder list links hold sketch indexes; the owner table maps back. */
static void sk_push_head(ps_scan *s, uint32_t k)
{
    src *e = &s->srcs[s->sk_owner[k]];
    e->sk_newer = NIL;
    e->sk_older = s->sk_head;
    if (s->sk_head != NIL)
        s->srcs[s->sk_owner[s->sk_head]].sk_newer = k;
    else
        s->sk_tail = k;
    s->sk_head = k;
}

static uint8_t *sk_regs(ps_scan *s, uint32_t k)
{
    return s->sketches + ((size_t)k << s->cfg.hll_bits);
}

static uint64_t sk_estimate(const ps_scan *s, uint32_t k)
{
    double est = ps_hll_estimate(s->sketches + ((size_t)k << s->cfg.hll_bits), s->cfg.hll_bits);
    return est <= 0.0 ? 0 : (uint64_t)llround(est);
}

static void sk_release(ps_scan *s, uint32_t i)
{
    src *e = &s->srcs[i];
    uint32_t k = e->sketch;
    if (k == NIL)
        return;
    sk_unlink(s, k);
    s->sk_owner[k] = NIL;
    s->sk_next[k] = s->sk_free;
    s->sk_free = k;
    e->sketch = NIL;
}

/* Gives source i a sketch seeded with its exact set; with none free, the
 * least recently active holder loses its sketch but keeps its count. */
static void sk_acquire(ps_scan *s, uint32_t i)
{
    uint32_t k = s->sk_free;
    if (k != NIL) {
        s->sk_free = s->sk_next[k];
    } else {
        k = s->sk_tail;
        uint32_t victim = s->sk_owner[k];
        src *v = &s->srcs[victim];
        v->targets_base = ps_sat_add64(v->targets_base, sk_estimate(s, k));
        sk_unlink(s, k);
        v->sketch = NIL;
        s->st.sketch_stolen++;
    }
    s->st.sketch_acquired++;
    uint8_t *r = sk_regs(s, k);
    memset(r, 0, (size_t)1 << s->cfg.hll_bits);
    src *e = &s->srcs[i];
    const uint32_t *ex = s->exact + (size_t)i * s->cfg.exact_targets;
    for (uint32_t j = 0; j < e->nexact; j++)
        ps_hll_add(r, s->cfg.hll_bits, hll_input(s, ex[j]));
    e->sketch = k;
    s->sk_owner[k] = i;
    sk_push_head(s, k);
}

/* ---- reports ---------------------------------------------------------- */

static void tb_refill(ps_scan *s, ps_time_us now)
{
    if (!s->tb_init) {
        s->tb_init = true;
        s->tb_last = now;
        return;
    }
    if (now <= s->tb_last)
        return;
    uint64_t dt = now - s->tb_last;
    uint64_t cap = (uint64_t)s->cfg.report_burst * MICRO;
    uint64_t add = dt > cap ? cap : dt * s->cfg.report_rate; /* dt in us x per-second rate */
    s->tokens = s->tokens + add > cap ? cap : s->tokens + add;
    s->tb_last = now;
}

/* The bucket is refilled here, when a report wants a token, not per probe:
 * refills only add up to the cap, so one refill over the whole gap gives
 * the same tokens as many small ones. */
static bool tb_take(ps_scan *s)
{
    if (s->cfg.report_rate == 0)
        return true;
    tb_refill(s, s->now);
    if (s->tokens < MICRO)
        return false;
    s->tokens -= MICRO;
    return true;
}

static ps_scan_report *q_push(ps_scan *s)
{
    if (s->qlen >= s->cfg.max_pending) {
        s->st.reports_dropped++;
        return NULL;
    }
    ps_scan_report *r = &s->q[(s->qhead + s->qlen) % s->cfg.max_pending];
    s->qlen++;
    s->st.reports++;
    memset(r, 0, sizeof *r);
    return r;
}

static int src_tool(const ps_scan *s, const src *e)
{
    uint32_t k = s->cfg.fingerprint_k;
    if (e->fp_mc.ntg >= k)
        return e->mc_hint == MC_HINT_MASTER ? PS_SCAN_TOOL_MASSCAN_MASTER : PS_SCAN_TOOL_MASSCAN;
    if (e->fp_znew.ntg >= k || e->fp_zold.ntg >= k)
        return PS_SCAN_TOOL_ZMAP;
    if (e->fp_nmap.ntg >= k)
        return PS_SCAN_TOOL_NMAP;
    return PS_SCAN_TOOL_UNKNOWN;
}

static const char *src_version(const ps_scan *s, const src *e, int tool)
{
    uint32_t k = s->cfg.fingerprint_k;
    switch (tool) {
    case PS_SCAN_TOOL_MASSCAN:
        return e->mc_hint == MC_HINT_132 ? "1.3.x" : "";
    case PS_SCAN_TOOL_MASSCAN_MASTER:
        return "master";
    case PS_SCAN_TOOL_ZMAP:
        if (e->fp_znew.ntg >= k)
            return ">=4.1";
        return e->zm_ver == ZM_3X ? "3.0-4.0" : "2.x";
    case PS_SCAN_TOOL_NMAP:
        return e->nmap_old ? "<2011" : "";
    default:
        return "";
    }
}

static uint64_t src_targets(const ps_scan *s, const src *e, bool *estimated)
{
    *estimated = e->overflow;
    if (!e->overflow)
        return e->nexact;
    uint64_t t = e->targets_base;
    if (e->sketch != NIL)
        t = ps_sat_add64(t, sk_estimate(s, e->sketch));
    return PS_MAX(t, (uint64_t)e->nexact);
}

static void fill_report(ps_scan *s, uint32_t i, ps_scan_report *r, int phase, int end)
{
    src *e = &s->srcs[i];
    r->phase = (uint8_t)phase;
    r->kind = e->kind;
    r->end = (uint8_t)end;
    r->severity = PS_SEV_LOW;
    r->rule = e->kind == PS_SCAN_KIND_HORIZONTAL ? PS_SCAN_RULE_HORIZONTAL
              : e->kind == PS_SCAN_KIND_VERTICAL ? PS_SCAN_RULE_VERTICAL
                                                 : PS_SCAN_RULE_FINGERPRINT;
    r->scan_id = e->scan_id;
    r->src = e->addr;
    r->sport = e->sport;
    r->dst = e->dst;
    r->dport = e->dport;
    int tool = src_tool(s, e);
    r->tool = (uint8_t)tool;
    r->tool_name = ps_scan_tool_name(tool);
    r->tool_version = src_version(s, e, tool);
    r->features = e->feat;
    r->targets = src_targets(s, e, &r->targets_estimated);
    memcpy(r->ports, e->ports, sizeof r->ports);
    r->nports = e->nports;
    r->ports_more = e->ports_more;
    r->responders = e->nresp;
    r->nresp = e->nresp_ex;
    memcpy(r->resp_addr, e->resp_addr, sizeof r->resp_addr);
    memcpy(r->resp_port, e->resp_port, sizeof r->resp_port);
    r->probes = e->probes;
    ps_time_us dur = e->last_seen > e->first_seen ? e->last_seen - e->first_seen : 0;
    if (dur < MICRO)
        dur = MICRO;
    /* Rounded; probes x 1e6 saturates only past 1.8e13 probes. */
    uint64_t pm = e->probes > UINT64_MAX / MICRO ? UINT64_MAX : e->probes * MICRO;
    r->rate_pps = pm / dur + ((pm % dur) * 2 >= dur ? 1 : 0);
    r->peak_hosts_per_port = e->peak_hp;
    r->peak_ports_per_host = e->peak_ph;
    r->first_seen = e->first_seen;
    r->last_seen = e->last_seen;
}

/* Queues a first/update/final record for source i through the token
 * bucket; a refused record is counted for the "suppressed" record. */
static void emit(ps_scan *s, uint32_t i, int phase, int end, ps_time_us now)
{
    src *e = &s->srcs[i];
    if (!tb_take(s)) {
        s->st.reports_suppressed++;
        if (s->sup_pending == 0) {
            s->sup_first = now;
            if (s->sup_emit == 0)
                s->sup_emit = now; /* the first period starts here */
        }
        s->sup_pending++;
        s->sup_last = now;
        return;
    }
    ps_scan_report *r = q_push(s);
    if (!r)
        return;
    if (!e->emitted && phase == PS_SCAN_PHASE_UPDATE)
        phase = PS_SCAN_PHASE_FIRST;
    fill_report(s, i, r, phase, end);
    e->emitted = true;
}

static void emit_suppressed(ps_scan *s, ps_time_us now)
{
    if (s->sup_pending == 0)
        return;
    ps_scan_report *r = q_push(s);
    if (!r)
        return; /* kept pending: the next tick tries again */
    r->kind = PS_SCAN_KIND_SUPPRESSED;
    r->rule = PS_SCAN_RULE_SUPPRESSED;
    r->severity = PS_SEV_LOW;
    r->tool_name = "";
    r->tool_version = "";
    r->suppressed = s->sup_pending;
    r->first_seen = s->sup_first;
    r->last_seen = s->sup_last;
    s->sup_pending = 0;
    s->sup_emit = now;
}

bool ps_scan_pending(const ps_scan *s)
{
    return s->qlen != 0;
}

bool ps_scan_next_report(ps_scan *s, ps_scan_report *out)
{
    if (s->qlen == 0)
        return false;
    *out = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->cfg.max_pending;
    s->qlen--;
    return true;
}

/* ---- source table ----------------------------------------------------- */

static uint32_t src_find(ps_scan *s, const ps_addr *a, uint32_t h)
{
    for (uint32_t i = s->buckets[h & s->bmask]; i != NIL; i = s->link[i].next)
        if (s->link[i].hash == h && addr_eq(&s->srcs[i].addr, a))
            return i;
    return NIL;
}

static void remember(ps_scan *s, uint32_t i)
{
    if (s->last_src[0] != i) {
        s->last_src[1] = s->last_src[0];
        s->last_src[0] = i;
    }
}

/* The source with address a, or NIL; *h_out is its table key and *slot_out
 * its key-cache entry. The cache remembers where the source was, so a
 * sweep's probes skip the bucket walk. */
static uint32_t src_lookup(ps_scan *s, const ps_addr *a, uint32_t *h_out, uint32_t *slot_out)
{
    /* A sweep's probes come from one or two scanners: the last two sources
     * found need no key at all (callers use h and slot only when nothing
     * is found). */
    for (int k = 0; k < 2; k++) {
        uint32_t last = s->last_src[k];
        if (last != NIL && s->srcs[last].used && addr_eq(&s->srcs[last].addr, a))
            return last;
    }
    uint32_t h = src_key(s, a, slot_out);
    *h_out = h;
    uint32_t i = s->hcache[*slot_out].idx;
    if (i != NIL && s->srcs[i].used && s->link[i].hash == h && addr_eq(&s->srcs[i].addr, a)) {
        remember(s, i);
        return i;
    }
    i = src_find(s, a, h);
    s->hcache[*slot_out].idx = i;
    if (i != NIL)
        remember(s, i);
    return i;
}

/* Drops source i (final record first if it was reported). */
static void src_drop(ps_scan *s, uint32_t i, int end, ps_time_us now)
{
    src *e = &s->srcs[i];
    if (e->announced)
        emit(s, i, PS_SCAN_PHASE_FINAL, end, now);
    uint32_t *pp = &s->buckets[s->link[i].hash & s->bmask];
    while (*pp != i && *pp != NIL)
        pp = &s->link[*pp].next;
    if (*pp == i)
        *pp = s->link[i].next;
    lru_unlink(s, i);
    sk_release(s, i);
    e->used = false;
    s->link[i].next = s->free_head;
    s->free_head = i;
    s->st.sources_active--;
}

static bool src_expired(const ps_scan *s, const src *e, ps_time_us now)
{
    return e->last_seen + (ps_time_us)s->cfg.idle_timeout_s * MICRO <= now;
}

static uint32_t src_new(ps_scan *s, const ps_addr *a, uint32_t h, ps_time_us now)
{
    if (s->free_head == NIL && s->untouched == s->cfg.max_sources) {
        uint32_t victim = s->lru_tail;
        if (src_expired(s, &s->srcs[victim], now)) {
            s->st.sources_expired++;
            src_drop(s, victim, PS_SCAN_END_IDLE, now);
        } else {
            /* Prefer a source that was never reported, so a flood of
             * one-packet spoofed sources cannot push out a real scanner. */
            uint32_t j = victim;
            for (int n = 0; n < EVICT_LOOK && j != NIL; n++, j = s->srcs[j].newer) {
                if (!s->srcs[j].announced) {
                    victim = j;
                    break;
                }
            }
            s->st.sources_evicted++;
            src_drop(s, victim, PS_SCAN_END_EVICTED, now);
        }
    }
    uint32_t i = s->free_head;
    if (i != NIL)
        s->free_head = s->link[i].next;
    else
        i = s->untouched++;
    src *e = &s->srcs[i];
    memset(e, 0, sizeof *e);
    e->used = true;
    e->addr = *a;
    s->link[i].hash = h;
    e->sketch = e->sk_older = e->sk_newer = NIL;
    e->first_seen = e->last_seen = e->win_start = e->lru_at = e->sk_at = now;
    s->link[i].next = s->buckets[h & s->bmask];
    s->buckets[h & s->bmask] = i;
    lru_push_head(s, i);
    s->st.sources_created++;
    s->st.sources_active++;
    return i;
}

static void src_touch(ps_scan *s, uint32_t i, ps_time_us now)
{
    src *e = &s->srcs[i];
    if (now > e->last_seen)
        e->last_seen = now;
    if (s->lru_head != i && now - e->lru_at >= LRU_SLACK_US) {
        lru_unlink(s, i);
        lru_push_head(s, i);
        e->lru_at = now;
    }
}

/* ---- fingerprints ----------------------------------------------------- */

/* Adds target t to a fingerprint's distinct targets; true once k differ. */
static bool fp_add(fp_ev *f, uint32_t t, uint32_t k)
{
    if (f->ntg >= k)
        return true; /* enough: later targets change nothing */
    for (uint8_t j = 0; j < f->ntg; j++)
        if (f->tg[j] == t)
            return false;
    if (f->ntg < PS_SCAN_FP_K_MAX)
        f->tg[f->ntg++] = t;
    return f->ntg >= k;
}

static uint32_t ipv4_host_order(const ps_addr *a)
{
    return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 | (uint32_t)a->bytes[2] << 8 |
           a->bytes[3];
}

static bool is_syn(const ps_probe *p)
{
    return (p->flags & (PS_TCP_SYN | PS_TCP_ACK)) == PS_TCP_SYN;
}

static bool opts_mss1460(const ps_probe *p)
{
    return p->opts_len == 4 && memcmp(p->opts, mss1460, 4) == 0;
}

/* masscan: gate (scanners.md section 3), then IP ID == dst ^ dport ^ seq. */
static bool masscan_pass(const ps_probe *p)
{
    if (p->ip_version != 4 || p->df || p->tos != 0)
        return false;
    if (is_syn(p)) {
        if ((p->window != 1024 && p->window != 1025) || p->payload_len != 0 || p->ack != 0)
            return false;
        if (p->opts_len != 0 && !opts_mss1460(p))
            return false;
    } else if ((p->flags & PS_TCP_SYN) || (p->window != 1200 && p->window != 600)) {
        return false;
    }
    uint32_t x = ipv4_host_order(&p->dst) ^ p->dport ^ p->seq;
    return (uint16_t)(x & 0xffff) == p->ip_id;
}

static bool zmap_old_pass(const ps_probe *p)
{
    return p->ip_version == 4 && is_syn(p) && p->ip_id == 54321 && p->window == 65535 && !p->df &&
           p->ttl > 200;
}

static bool zmap_new_pass(const ps_probe *p)
{
    return p->ip_version == 4 && is_syn(p) && p->window == 65535 && !p->df && p->ttl >= 40 &&
           p->ttl <= 64 && p->opts_len == sizeof zmap41_opts &&
           memcmp(p->opts, zmap41_opts, sizeof zmap41_opts) == 0;
}

static bool nmap_gate(const ps_probe *p)
{
    return is_syn(p) && !p->df &&
           (p->window == 1024 || p->window == 2048 || p->window == 3072 || p->window == 4096) &&
           p->opts_len == 4 && p->opts[0] == 2 && p->opts[1] == 4;
}

static bool router_mac_hit(const ps_probe *p)
{
    return memcmp(p->eth_dst, router_mac, 6) == 0;
}

static void nmap_check(ps_scan *s, src *e, const ps_probe *p, uint32_t t)
{
    if (p->window != 1024)
        e->nmap_old = true;
    for (int j = 0; j < NMAP_CANDS; j++) {
        nmap_cand *c = &e->nmap[j];
        if (c->used && c->seq == p->seq && c->sport == p->sport) {
            if (c->tg != t) {
                fp_add(&e->fp_nmap, c->tg, s->cfg.fingerprint_k);
                fp_add(&e->fp_nmap, t, s->cfg.fingerprint_k);
                e->feat.nmap_shared_seq++;
            }
            return;
        }
    }
    nmap_cand *c = &e->nmap[e->nmap_next];
    e->nmap_next = (uint8_t)((e->nmap_next + 1) % NMAP_CANDS);
    c->used = true;
    c->seq = p->seq;
    c->sport = p->sport;
    c->tg = t;
}

static void note_first_syn(src *e, const ps_probe *p)
{
    ps_scan_features *f = &e->feat;
    if (!f->have_syn) {
        f->have_syn = true;
        f->ttl = f->ttl_min = f->ttl_max = p->ttl;
        f->tos = p->tos;
        f->df = p->df;
        f->ip_id = p->ip_id;
        f->window = p->window;
        memcpy(f->opts, p->opts, sizeof f->opts);
        f->opts_len = (uint8_t)PS_MIN((size_t)p->opts_len, sizeof f->opts);
    }
    f->ttl_min = PS_MIN(f->ttl_min, p->ttl);
    f->ttl_max = PS_MAX(f->ttl_max, p->ttl);
    for (uint8_t j = 0; j < f->nsports; j++)
        if (f->sports[j] == p->sport)
            return;
    if (f->nsports < PS_SCAN_REPORT_SPORTS)
        f->sports[f->nsports++] = p->sport;
    else
        f->sports_more = true;
}

/* ---- counting --------------------------------------------------------- */

/* `slot`: the port's index in the container set, or NO_SLOT. A set port
 * noted once changes nothing later (listed, or ports_more already set), so
 * a bit per slot skips the list walk for a sweep's ports. */
static bool ports_has(const src *e, uint16_t port)
{
#ifdef __SSE2__
    _Static_assert(PS_SCAN_REPORT_PORTS == 16, "two 8-port vectors");
    const __m128i want = _mm_set1_epi16((short)port);
    __m128i a = _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(const void *)e->ports), want);
    __m128i b =
        _mm_cmpeq_epi16(_mm_loadu_si128((const __m128i *)(const void *)(e->ports + 8)), want);
    unsigned m = (unsigned)_mm_movemask_epi8(_mm_packs_epi16(a, b)); /* bit j: ports[j] */
    return (m & ((1u << e->nports) - 1u)) != 0;
#else
    for (uint8_t j = 0; j < e->nports; j++)
        if (e->ports[j] == port)
            return true;
    return false;
#endif
}

/* One branch, nearly always taken, for a port seen before, whichever set it
 * is in: a sweep's ports come in random order, so a branch on the set or a
 * loop's exit would be mispredicted on every other probe. */
static void note_port(src *e, uint16_t port, uint8_t slot)
{
    uint32_t bit = slot != NO_SLOT ? 1u << slot : 0;
    if ((e->ports_noted & bit) | (uint32_t)ports_has(e, port))
        return;
    e->ports_noted |= bit;
    if (e->nports < PS_SCAN_REPORT_PORTS)
        e->ports[e->nports++] = port;
    else
        e->ports_more = true;
}

static bool exact_has(const uint32_t *set, uint32_t n, uint32_t t)
{
    for (uint32_t j = 0; j < n; j++)
        if (set[j] == t)
            return true;
    return false;
}

/* Lifetime distinct targets: exact set, then the sketch. */
static void count_target(ps_scan *s, uint32_t i, uint32_t t)
{
    src *e = &s->srcs[i];
    uint32_t *ex = s->exact + (size_t)i * s->cfg.exact_targets;
    if (!e->overflow) {
        if (exact_has(ex, e->nexact, t))
            return;
        if (e->nexact < s->cfg.exact_targets) {
            ex[e->nexact++] = t;
            return;
        }
        e->overflow = true;
    }
    if (e->sketch == NIL)
        sk_acquire(s, i);
    else if (s->sk_head != e->sketch && s->now - e->sk_at >= LRU_SLACK_US) {
        sk_unlink(s, e->sketch);
        sk_push_head(s, e->sketch);
        e->sk_at = s->now;
    }
    ps_hll_add(sk_regs(s, e->sketch), s->cfg.hll_bits, hll_input(s, t));
}

static void window_reset(src *e, ps_time_us now)
{
    e->win_start = now;
    e->nwin = 0;
    e->win_over = false;
    e->win_container = false;
    memset(e->win_bits, 0, sizeof e->win_bits);
    memset(e->slot_hosts, 0, sizeof e->slot_hosts);
    memset(e->mg_cnt, 0, sizeof e->mg_cnt);
}

/* True when (host, port) is new in this window: exact set, then (once
 * full) a 512-bit filter that may take a new target for a repeat, which
 * only undercounts. */
static bool window_new(ps_scan *s, uint32_t i, uint32_t t)
{
    src *e = &s->srcs[i];
    uint32_t *w = s->win + (size_t)i * s->cfg.exact_targets;
    uint64_t bit = 1ULL << (t & 63);
    uint64_t *word = &e->win_bits[(t >> 6) & 7];
    if (!e->win_over) {
        if (exact_has(w, e->nwin, t))
            return false;
        *word |= bit;
        if (e->nwin < s->cfg.exact_targets) {
            w[e->nwin++] = t;
            return true;
        }
        e->win_over = true;
        return true;
    }
    if (*word & bit)
        return false;
    *word |= bit;
    return true;
}

/* Misra-Gries over hosts of new targets: exact while at most MG_K hosts are
 * in the window, else finds any host holding > 1/(MG_K+1) of them. */
static uint32_t mg_add(src *e, uint32_t host)
{
    int freej = -1;
    for (int j = 0; j < MG_K; j++) {
        if (e->mg_cnt[j] && e->mg_host[j] == host) {
            if (e->mg_cnt[j] < UINT16_MAX)
                e->mg_cnt[j]++;
            return e->mg_cnt[j];
        }
        if (!e->mg_cnt[j] && freej < 0)
            freej = j;
    }
    if (freej >= 0) {
        e->mg_host[freej] = host;
        e->mg_cnt[freej] = 1;
        return 1;
    }
    for (int j = 0; j < MG_K; j++)
        e->mg_cnt[j]--;
    return 0;
}

static void add_responder(ps_scan *s, uint32_t i, const ps_probe *p)
{
    src *e = &s->srcs[i];
    uint64_t hh = addr_hash(s, &p->src, 1);
    uint32_t t = target_of(hh, p->sport);
    /* Only answers to targets this source probed (while counted exactly). */
    if (!e->overflow && !exact_has(s->exact + (size_t)i * s->cfg.exact_targets, e->nexact, t))
        return;
    uint32_t n = PS_MIN(e->nresp, (uint32_t)RESP_EXACT);
    if (exact_has(e->resp_hash, n, t))
        return;
    if (e->nresp >= RESP_EXACT) {
        uint64_t bit = 1ULL << (t & 63);
        uint64_t *word = &e->resp_bits[(t >> 6) & 3];
        if (*word & bit)
            return;
        *word |= bit;
    } else {
        e->resp_hash[e->nresp] = t;
        e->resp_bits[(t >> 6) & 3] |= 1ULL << (t & 63);
    }
    if (e->nresp < UINT32_MAX)
        e->nresp++;
    if (e->nresp_ex < PS_SCAN_REPORT_RESP) {
        e->resp_addr[e->nresp_ex] = p->src;
        e->resp_port[e->nresp_ex] = p->sport;
        e->nresp_ex++;
    }
}

/* Declares or refreshes a detection after source i changed. */
static void evaluate(ps_scan *s, uint32_t i, ps_time_us now)
{
    src *e = &s->srcs[i];
    if (!e->any_container)
        return;
    uint8_t kind = e->kind;
    if (kind < PS_SCAN_KIND_FINGERPRINT &&
        (src_tool(s, e) != PS_SCAN_TOOL_UNKNOWN || e->fp_rmac.ntg >= s->cfg.fingerprint_k))
        kind = PS_SCAN_KIND_FINGERPRINT;
    e->kind = kind;
    if (kind == PS_SCAN_KIND_NONE)
        return;
    if (!e->announced) {
        e->announced = true;
        e->scan_id = ++s->next_id;
        e->last_report = now;
        s->st.detections++;
        s->st.by_tool[src_tool(s, e)]++;
        emit(s, i, PS_SCAN_PHASE_FIRST, PS_SCAN_END_NONE, now);
    } else if (now - e->last_report >= (ps_time_us)s->cfg.window_s * MICRO) {
        e->last_report = now;
        emit(s, i, PS_SCAN_PHASE_UPDATE, PS_SCAN_END_NONE, now);
    }
}

static void on_syn(ps_scan *s, uint32_t i, const ps_probe *p, uint64_t hdst, bool mc,
                   ps_time_us now)
{
    src *e = &s->srcs[i];
    const uint32_t k = s->cfg.fingerprint_k;
    uint32_t t = target_of(hdst, p->dport);
    if (e->probes == 0) {
        e->dst = p->dst;
        e->dport = p->dport;
        e->sport = p->sport;
    }
    if (e->probes < UINT64_MAX)
        e->probes++;
    s->st.probes++;
    note_first_syn(e, p);
    if (mc) {
        e->feat.masscan_identity++;
        fp_add(&e->fp_mc, t, k);
        if (p->window == 1025 || p->opts_len)
            e->mc_hint = MC_HINT_MASTER;
        else if (e->mc_hint == MC_HINT_NONE)
            e->mc_hint = MC_HINT_132;
    }
    /* The window decides most of the gates at once: zmap sends 65535,
     * nmap's SYN scan 1024-4096 with one MSS option. */
    if (p->window == 65535) {
        if (zmap_old_pass(p)) {
            e->feat.zmap_ipid++;
            fp_add(&e->fp_zold, t, k);
            if (opts_mss1460(p))
                e->zm_ver = ZM_3X;
            else if (e->zm_ver == ZM_NONE)
                e->zm_ver = ZM_2X;
        }
        if (zmap_new_pass(p)) {
            e->feat.zmap_options++;
            fp_add(&e->fp_znew, t, k);
        }
    }
    if (p->opts_len == 4 && nmap_gate(p))
        nmap_check(s, e, p, t);
    if (router_mac_hit(p)) {
        e->feat.router_mac++;
        fp_add(&e->fp_rmac, t, k);
    }
    uint8_t slot = s->slot_of[p->dport];
    e->any_container |= slot != NO_SLOT;
    note_port(e, p->dport, slot);
    count_target(s, i, t);

    if (now - e->win_start >= (ps_time_us)s->cfg.window_s * MICRO)
        window_reset(e, now);
    if (window_new(s, i, t)) {
        if (slot != NO_SLOT) {
            e->win_container = true;
            if (e->slot_hosts[slot] < UINT16_MAX)
                e->slot_hosts[slot]++;
            e->peak_hp = PS_MAX(e->peak_hp, (uint32_t)e->slot_hosts[slot]);
            if (e->slot_hosts[slot] >= s->cfg.horizontal_hosts)
                e->kind = PS_SCAN_KIND_HORIZONTAL;
        }
        uint32_t c = mg_add(e, (uint32_t)(hdst >> 32));
        e->peak_ph = PS_MAX(e->peak_ph, c);
        if (e->win_container && c >= s->cfg.vertical_ports && e->kind < PS_SCAN_KIND_VERTICAL)
            e->kind = PS_SCAN_KIND_VERTICAL;
    }
}

void ps_scan_observe(ps_scan *s, const ps_probe *p)
{
    s->st.packets++;
    if (p->ip_version != 4 && p->ip_version != 6) {
        s->st.ignored++;
        return;
    }
    ps_time_us now = p->ts > s->now ? p->ts : s->now;
    s->now = now;

    /* Answers from targets: look the scanner up by destination. */
    if ((p->flags & (PS_TCP_SYN | PS_TCP_ACK)) == (PS_TCP_SYN | PS_TCP_ACK) ||
        ((p->flags & PS_TCP_RST) && !(p->flags & PS_TCP_SYN) && p->window != 1200 &&
         p->window != 600)) {
        uint32_t h, slot;
        uint32_t i = src_lookup(s, &p->dst, &h, &slot);
        if (i == NIL) {
            s->st.ignored++;
            return;
        }
        if (p->flags & PS_TCP_SYN)
            add_responder(s, i, p);
        else if (s->srcs[i].feat.rejections < UINT32_MAX)
            s->srcs[i].feat.rejections++;
        return;
    }

    bool syn = is_syn(p);
    bool mc = masscan_pass(p);
    if (!syn && !mc) {
        s->st.ignored++;
        return;
    }
    uint32_t h, slot;
    uint32_t i = src_lookup(s, &p->src, &h, &slot);
    if (i == NIL) {
        bool worth =
            mc || s->slot_of[p->dport] != NO_SLOT ||
            (syn && (zmap_old_pass(p) || zmap_new_pass(p) || nmap_gate(p) || router_mac_hit(p)));
        if (!worth) {
            s->st.ignored++;
            return;
        }
        i = src_new(s, &p->src, h, now);
        s->hcache[slot].idx = i;
    }
    src_touch(s, i, now);
    uint64_t hdst = addr_hash(s, &p->dst, 1);
    if (syn) {
        on_syn(s, i, p, hdst, mc, now);
    } else {
        /* masscan's own stack: RST after SYN-ACK, banner-mode segments. */
        src *e = &s->srcs[i];
        e->feat.banner_segments++;
        e->feat.masscan_identity++;
        fp_add(&e->fp_mc, target_of(hdst, p->dport), s->cfg.fingerprint_k);
        if (p->opts_len)
            e->mc_hint = MC_HINT_MASTER;
        if (s->slot_of[p->dport] != NO_SLOT)
            e->any_container = true;
        if (e->probes == 0 && e->dport == 0) {
            e->dst = p->dst;
            e->dport = p->dport;
            e->sport = p->sport;
        }
    }
    evaluate(s, i, now);
}

void ps_scan_tick(ps_scan *s, ps_time_us now)
{
    if (now < s->now)
        now = s->now;
    s->now = now;
    tb_refill(s, now);
    while (s->lru_tail != NIL && src_expired(s, &s->srcs[s->lru_tail], now)) {
        s->st.sources_expired++;
        src_drop(s, s->lru_tail, PS_SCAN_END_IDLE, now);
    }
    if (s->sup_pending && now - s->sup_emit >= (ps_time_us)s->cfg.suppressed_interval_s * MICRO)
        emit_suppressed(s, now);
}

void ps_scan_flush(ps_scan *s, ps_time_us now)
{
    if (now < s->now)
        now = s->now;
    s->now = now;
    tb_refill(s, now);
    /* Oldest first, so records come out in activity order. */
    while (s->lru_tail != NIL)
        src_drop(s, s->lru_tail, PS_SCAN_END_FLUSH, now);
    emit_suppressed(s, now);
}

/* ---- output ----------------------------------------------------------- */

const char *ps_scan_kind_name(int kind)
{
    switch (kind) {
    case PS_SCAN_KIND_FINGERPRINT:
        return "fingerprint";
    case PS_SCAN_KIND_VERTICAL:
        return "vertical";
    case PS_SCAN_KIND_HORIZONTAL:
        return "horizontal";
    case PS_SCAN_KIND_SUPPRESSED:
        return "suppressed";
    default:
        return "none";
    }
}

const char *ps_scan_phase_name(int phase)
{
    switch (phase) {
    case PS_SCAN_PHASE_FIRST:
        return "first";
    case PS_SCAN_PHASE_UPDATE:
        return "update";
    case PS_SCAN_PHASE_FINAL:
        return "final";
    default:
        return "unknown";
    }
}

const char *ps_scan_tool_name(int tool)
{
    switch (tool) {
    case PS_SCAN_TOOL_MASSCAN:
        return "masscan";
    case PS_SCAN_TOOL_MASSCAN_MASTER:
        return "masscan-master";
    case PS_SCAN_TOOL_ZMAP:
        return "zmap";
    case PS_SCAN_TOOL_NMAP:
        return "nmap";
    default:
        return "unknown";
    }
}

static const char *end_name(int end)
{
    switch (end) {
    case PS_SCAN_END_IDLE:
        return "idle";
    case PS_SCAN_END_EVICTED:
        return "evicted";
    case PS_SCAN_END_FLUSH:
        return "end_of_capture";
    default:
        return NULL;
    }
}

static void jw_time(ps_jw *w, const char *key, ps_time_us t)
{
    char buf[40];
    ps_jw_str(w, key, ps_format_time(t, buf, sizeof buf));
}

static void jw_endpoint(ps_jw *w, const ps_addr *a, uint16_t port)
{
    char ab[64], out[80];
    ps_addr_format(a, ab, sizeof ab);
    snprintf(out, sizeof out, a->family == 6 ? "[%s]:%u" : "%s:%u", ab, (unsigned)port);
    ps_jw_str(w, NULL, out);
}

static void features_json(ps_jw *w, const ps_scan_features *f)
{
    static const char hex[] = "0123456789abcdef";
    ps_jw_obj_begin(w, "features");
    if (f->have_syn) {
        char ob[2 * sizeof f->opts + 1];
        size_t n = PS_MIN((size_t)f->opts_len, sizeof f->opts);
        for (size_t j = 0; j < n; j++) {
            ob[2 * j] = hex[f->opts[j] >> 4];
            ob[2 * j + 1] = hex[f->opts[j] & 15];
        }
        ob[2 * n] = '\0';
        ps_jw_u64(w, "ttl", f->ttl);
        ps_jw_u64(w, "ttl_min", f->ttl_min);
        ps_jw_u64(w, "ttl_max", f->ttl_max);
        ps_jw_bool(w, "df", f->df);
        ps_jw_u64(w, "ip_id", f->ip_id);
        ps_jw_u64(w, "tos", f->tos);
        ps_jw_u64(w, "window", f->window);
        ps_jw_str(w, "tcp_options", ob);
        ps_jw_arr_begin(w, "src_ports");
        for (uint8_t j = 0; j < f->nsports && j < PS_SCAN_REPORT_SPORTS; j++)
            ps_jw_u64(w, NULL, f->sports[j]);
        ps_jw_arr_end(w);
        ps_jw_bool(w, "src_ports_more", f->sports_more);
    }
    ps_jw_u64(w, "masscan_identity", f->masscan_identity);
    ps_jw_u64(w, "zmap_ipid", f->zmap_ipid);
    ps_jw_u64(w, "zmap_options", f->zmap_options);
    ps_jw_u64(w, "nmap_shared_seq", f->nmap_shared_seq);
    ps_jw_u64(w, "banner_segments", f->banner_segments);
    ps_jw_u64(w, "router_mac", f->router_mac);
    ps_jw_u64(w, "rejections", f->rejections);
    ps_jw_obj_end(w);
}

void ps_scan_report_json(ps_jw *w, const ps_scan_report *r)
{
    ps_jw_obj_begin(w, "scan");
    if (r->kind == PS_SCAN_KIND_SUPPRESSED) {
        ps_jw_str(w, "kind", "suppressed");
        ps_jw_u64(w, "suppressed", r->suppressed);
        jw_time(w, "first_seen", r->first_seen);
        jw_time(w, "last_seen", r->last_seen);
        ps_jw_obj_end(w);
        return;
    }
    ps_jw_str(w, "kind", ps_scan_kind_name(r->kind));
    ps_jw_str(w, "tool", r->tool_name ? r->tool_name : ps_scan_tool_name(r->tool));
    ps_jw_str(w, "version", r->tool_version ? r->tool_version : "");
    ps_jw_u64(w, "targets", r->targets);
    ps_jw_bool(w, "targets_estimated", r->targets_estimated);
    ps_jw_arr_begin(w, "ports");
    for (uint8_t j = 0; j < r->nports && j < PS_SCAN_REPORT_PORTS; j++)
        ps_jw_u64(w, NULL, r->ports[j]);
    ps_jw_arr_end(w);
    ps_jw_bool(w, "ports_more", r->ports_more);
    ps_jw_u64(w, "responders", r->responders);
    ps_jw_arr_begin(w, "responder_examples");
    for (uint8_t j = 0; j < r->nresp && j < PS_SCAN_REPORT_RESP; j++)
        jw_endpoint(w, &r->resp_addr[j], r->resp_port[j]);
    ps_jw_arr_end(w);
    ps_jw_u64(w, "probes", r->probes);
    ps_jw_u64(w, "rate_pps", r->rate_pps);
    ps_jw_u64(w, "peak_hosts_per_port", r->peak_hosts_per_port);
    ps_jw_u64(w, "peak_ports_per_host", r->peak_ports_per_host);
    jw_time(w, "first_seen", r->first_seen);
    jw_time(w, "last_seen", r->last_seen);
    const char *end = end_name(r->end);
    if (end)
        ps_jw_str(w, "end", end);
    features_json(w, &r->features);
    ps_jw_obj_end(w);
}

const ps_scan_stats *ps_scan_stats_get(const ps_scan *s)
{
    return &s->st;
}

size_t ps_scan_memory(const ps_scan *s)
{
    return s->mem;
}
