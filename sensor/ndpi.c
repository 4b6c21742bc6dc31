/* ndpi.c - the nDPI adapter: the only file that includes nDPI; feeds it rebuilt packets of
 * unclaimed flows. */
#include <stdlib.h>
#include <string.h>

#include "ndpi_adapter.h"
#include "slab.h"

#if defined(__has_include)
#if __has_include(<ndpi/ndpi_api.h>)
#define PS_HAVE_NDPI 1
#endif
#endif

#ifdef PS_HAVE_NDPI

/* nDPI's headers are not written for -Wconversion/-Wshadow builds. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wconversion"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <ndpi/ndpi_api.h>
#pragma GCC diagnostic pop

#define PKT_PAYLOAD_MAX 4096u /* nDPI reads the first bytes of a packet only */
#define PKT_HDR_MAX     60u   /* IPv6 (40) + TCP (20) */
#define FLOW_HDR        64u   /* our part of a pooled flow, before nDPI's */
#define ISN_CLIENT      0x10000000u
#define ISN_SERVER      0x20000000u

struct ps_ndpi_flow {
    struct ndpi_flow_struct *nf;
    uint32_t next[2]; /* next sequence number per direction */
    uint32_t packets;
    bool started, decided;
    ndpi_protocol proto;
};

struct ps_ndpi {
    struct ndpi_detection_module_struct *mod;
    ps_slab flows; /* set up with mod */
    uint32_t max_flows, max_packets;
    bool init_failed; /* nDPI would not start: flows stay unclassified */
    uint32_t nprotos;
    uint64_t *counts; /* by protocol id; nprotos = out of range */
    ps_ndpi_stats stats;
    uint8_t pkt[PKT_HDR_MAX + PKT_PAYLOAD_MAX];
};

ps_ndpi *ps_ndpi_new(uint32_t max_flows, uint32_t max_packets)
{
    ps_ndpi *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    n->max_flows = max_flows;
    n->max_packets = max_packets ? max_packets : 1;
    return n;
}

/* The detection module is built on first need: it costs about 60 million
 * instructions (a tenth of a second of a short replay) and many captures,
 * a sweep's among them, never hand nDPI a flow. */
static bool ready(ps_ndpi *n)
{
    if (n->mod)
        return true;
    if (n->init_failed)
        return false;
    n->mod = ndpi_init_detection_module(ndpi_no_prefs);
    if (n->mod) {
        NDPI_PROTOCOL_BITMASK all;
        NDPI_BITMASK_SET_ALL(all);
        ndpi_set_protocol_detection_bitmask2(n->mod, &all);
        ndpi_finalize_initialization(n->mod);
        n->nprotos = ndpi_get_num_supported_protocols(n->mod);
        n->counts = calloc((size_t)n->nprotos + 1, sizeof(*n->counts));
    }
    if (!n->mod || !n->counts) {
        if (n->mod)
            ndpi_exit_detection_module(n->mod);
        n->mod = NULL;
        n->init_failed = true;
        return false;
    }
    ps_slab_init(&n->flows, FLOW_HDR + ndpi_detection_get_sizeof_ndpi_flow_struct(), n->max_flows);
    return true;
}

void ps_ndpi_warm(ps_ndpi *n)
{
    if (n)
        (void)ready(n);
}

void ps_ndpi_free(ps_ndpi *n)
{
    if (!n)
        return;
    if (n->mod) {
        ps_slab_destroy(&n->flows);
        ndpi_exit_detection_module(n->mod);
    }
    free(n->counts);
    free(n);
}

ps_ndpi_flow *ps_ndpi_flow_new(ps_ndpi *n)
{
    _Static_assert(sizeof(ps_ndpi_flow) <= FLOW_HDR, "flow header must fit");
    uint8_t *obj = ready(n) ? ps_slab_alloc(&n->flows) : NULL;
    if (!obj) {
        n->stats.pool_exhausted++;
        return NULL;
    }
    ps_ndpi_flow *f = (ps_ndpi_flow *)obj;
    f->nf = (struct ndpi_flow_struct *)(obj + FLOW_HDR);
    return f;
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffffu);
}

/* Builds an IP/TCP packet of direction dir into n->pkt; returns its length. */
static size_t build(ps_ndpi *n, const ps_flow *f, int dir, uint8_t flags, uint32_t seq,
                    uint32_t ack, const uint8_t *data, size_t len)
{
    const ps_addr *src = dir == PS_DIR_TO_SERVER ? &f->cli : &f->srv;
    const ps_addr *dst = dir == PS_DIR_TO_SERVER ? &f->srv : &f->cli;
    uint16_t sp = dir == PS_DIR_TO_SERVER ? f->cport : f->sport;
    uint16_t dp = dir == PS_DIR_TO_SERVER ? f->sport : f->cport;
    uint8_t *p = n->pkt;
    size_t ip;

    len = PS_MIN(len, (size_t)PKT_PAYLOAD_MAX);
    memset(p, 0, PKT_HDR_MAX);
    if (src->family == 6) {
        ip = 40;
        p[0] = 0x60;
        put16(p + 4, (uint32_t)(20 + len));
        p[6] = 6;
        p[7] = 64;
        memcpy(p + 8, src->bytes, 16);
        memcpy(p + 24, dst->bytes, 16);
    } else {
        ip = 20;
        p[0] = 0x45;
        put16(p + 2, (uint32_t)(40 + len));
        p[6] = 0x40; /* DF */
        p[8] = 64;
        p[9] = 6;
        memcpy(p + 12, src->bytes, 4);
        memcpy(p + 16, dst->bytes, 4);
    }
    uint8_t *t = p + ip;
    put16(t, sp);
    put16(t + 2, dp);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    if (len)
        memcpy(t + 20, data, len);
    return ip + 20 + len;
}

static void process(ps_ndpi *n, ps_ndpi_flow *nf, size_t plen, ps_time_us ts)
{
    ndpi_protocol p = ndpi_detection_process_packet(n->mod, nf->nf, n->pkt, (unsigned short)plen,
                                                    (u_int64_t)(ts / 1000u));
    if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
        nf->proto = p;
        nf->decided = true;
    }
}

static bool is_http(const ndpi_protocol *p)
{
    return p->master_protocol == NDPI_PROTOCOL_HTTP || p->app_protocol == NDPI_PROTOCOL_HTTP ||
           p->master_protocol == NDPI_PROTOCOL_HTTP_PROXY ||
           p->app_protocol == NDPI_PROTOCOL_HTTP_PROXY;
}

int ps_ndpi_flow_feed(ps_ndpi *n, ps_ndpi_flow *nf, const ps_flow *f, int dir, const uint8_t *data,
                      size_t len, ps_time_us ts)
{
    enum { FIN = 0x01, SYN = 0x02, PSH = 0x08, ACK = 0x10 };
    (void)FIN;
    if (nf->decided)
        return is_http(&nf->proto) ? PS_NDPI_HTTP : PS_NDPI_OTHER;
    if (dir != PS_DIR_TO_SERVER && dir != PS_DIR_TO_CLIENT)
        return PS_NDPI_UNDECIDED;
    if (!nf->started) { /* the handshake nDPI expects to have seen */
        nf->started = true;
        process(n, nf, build(n, f, 0, SYN, ISN_CLIENT, 0, NULL, 0), ts);
        process(n, nf, build(n, f, 1, SYN | ACK, ISN_SERVER, ISN_CLIENT + 1, NULL, 0), ts);
        process(n, nf, build(n, f, 0, ACK, ISN_CLIENT + 1, ISN_SERVER + 1, NULL, 0), ts);
        nf->next[0] = ISN_CLIENT + 1;
        nf->next[1] = ISN_SERVER + 1;
    }
    if (len == 0)
        return PS_NDPI_UNDECIDED;
    size_t plen = build(n, f, dir, PSH | ACK, nf->next[dir], nf->next[1 - dir], data, len);
    nf->next[dir] += (uint32_t)len; /* wraps like TCP */
    nf->packets++;
    n->stats.packets++;
    process(n, nf, plen, ts);
    if (nf->decided)
        return is_http(&nf->proto) ? PS_NDPI_HTTP : PS_NDPI_OTHER;
    return nf->packets >= n->max_packets ? PS_NDPI_OTHER : PS_NDPI_UNDECIDED;
}

static void pool_put(ps_ndpi *n, ps_ndpi_flow *nf)
{
    ndpi_free_flow_data(nf->nf);
    ps_slab_free(&n->flows, nf);
}

void ps_ndpi_flow_end(ps_ndpi *n, ps_ndpi_flow *nf)
{
    if (!nf->decided && nf->started) {
        u_int8_t guessed = 0;
        ndpi_protocol p = ndpi_detection_giveup(n->mod, nf->nf, 0, &guessed);
        if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN)
            nf->proto = p;
    }
    uint32_t id = nf->proto.app_protocol != NDPI_PROTOCOL_UNKNOWN ? nf->proto.app_protocol
                                                                  : nf->proto.master_protocol;
    n->counts[id < n->nprotos ? id : n->nprotos]++;
    n->stats.flows++;
    if (is_http(&nf->proto))
        n->stats.http_handoffs++;
    pool_put(n, nf);
}

void ps_ndpi_flow_release(ps_ndpi *n, ps_ndpi_flow *nf)
{
    n->stats.released++;
    pool_put(n, nf);
}

static int count_cmp(const void *a, const void *b)
{
    const ps_ndpi_count *x = a, *y = b;
    if (x->flows != y->flows)
        return x->flows < y->flows ? 1 : -1;
    return strcmp(x->name, y->name);
}

size_t ps_ndpi_counts(const ps_ndpi *n, ps_ndpi_count *out, size_t cap)
{
    size_t k = 0;
    for (uint32_t id = 0; n->counts && id <= n->nprotos && k < cap; id++) {
        if (!n->counts[id])
            continue;
        const char *name = id < n->nprotos ? ndpi_get_proto_name(n->mod, (u_int16_t)id) : NULL;
        out[k].name = name ? name : "Other";
        out[k].flows = n->counts[id];
        k++;
    }
    qsort(out, k, sizeof(*out), count_cmp);
    return k;
}

const ps_ndpi_stats *ps_ndpi_stats_get(const ps_ndpi *n)
{
    return &n->stats;
}

const char *ps_ndpi_version(void)
{
    return ndpi_revision();
}

#else /* nDPI not available: every call is a harmless no-op. */

struct ps_ndpi {
    ps_ndpi_stats stats;
};

ps_ndpi *ps_ndpi_new(uint32_t max_flows, uint32_t max_packets)
{
    (void)max_flows;
    (void)max_packets;
    return NULL;
}

void ps_ndpi_warm(ps_ndpi *n)
{
    (void)n;
}

void ps_ndpi_free(ps_ndpi *n)
{
    (void)n;
}

ps_ndpi_flow *ps_ndpi_flow_new(ps_ndpi *n)
{
    (void)n;
    return NULL;
}

int ps_ndpi_flow_feed(ps_ndpi *n, ps_ndpi_flow *nf, const ps_flow *f, int dir, const uint8_t *data,
                      size_t len, ps_time_us ts)
{
    (void)n, (void)nf, (void)f, (void)dir, (void)data, (void)len, (void)ts;
    return PS_NDPI_OTHER;
}

void ps_ndpi_flow_end(ps_ndpi *n, ps_ndpi_flow *nf)
{
    (void)n, (void)nf;
}

void ps_ndpi_flow_release(ps_ndpi *n, ps_ndpi_flow *nf)
{
    (void)n, (void)nf;
}

size_t ps_ndpi_counts(const ps_ndpi *n, ps_ndpi_count *out, size_t cap)
{
    (void)n, (void)out, (void)cap;
    return 0;
}

const ps_ndpi_stats *ps_ndpi_stats_get(const ps_ndpi *n)
{
    return &n->stats;
}

const char *ps_ndpi_version(void)
{
    return "none";
}

#endif
