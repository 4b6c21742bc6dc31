/* decode-int.h - private glue between the decoder's files (link, tunnel, IP, frag, dedup). */
#ifndef PS_DECODE_INT_H
#define PS_DECODE_INT_H

#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "decode.h"

/* Hard caps that hold whatever the configuration says. */
#define PS_DEC_MAX_TUNNEL_DEPTH 8     /* tunnel layers removed per frame */
#define PS_DEC_MAX_IPV6_EXT     8     /* extension headers walked per IPv6 header */
#define PS_DEC_MAX_MPLS         8     /* labels in one stack */
#define PS_CSUM_SAMPLE          1000u /* auto mode looks at this many packets */
#define PS_CSUM_EARLY           8u    /* ...but may decide after this many */

#define PS_FRAG_BUF_SIZE    65536u
#define PS_FRAG_MAX_RANGES  64 /* disjoint islands of one datagram */
#define PS_FRAG_MAX_PENDING (PS_DEC_MAX_TUNNEL_DEPTH + 2)
#define PS_FRAG_NIL         UINT32_MAX

typedef struct ps_frag_range {
    uint32_t s, e; /* [s, e) */
} ps_frag_range;

typedef struct ps_frag_slot {
    uint8_t family, proto, ttl, tos;
    uint8_t src[16], dst[16];
    uint32_t id;
    uint32_t hnext;      /* hash chain */
    uint32_t bucket;     /* index into buckets */
    uint32_t prev, next; /* age list (oldest first) or free list */
    ps_time_us created;
    uint32_t len;     /* highest end seen, or total once has_last */
    uint32_t hdr_len; /* first fragment's IPv4 header / IPv6 unfragmentable part */
    bool has_last, has_first;
    uint16_t nranges;
    ps_frag_range r[PS_FRAG_MAX_RANGES];
    uint8_t *buf;
} ps_frag_slot;

typedef struct ps_frag_table {
    ps_frag_slot *slots;
    uint8_t *arena;
    uint32_t n;
    uint32_t *buckets;
    uint32_t bucket_mask;
    uint32_t free_head, old_head, old_tail;
    uint32_t pending[PS_FRAG_MAX_PENDING]; /* delivered; freed on the next frame */
    uint32_t npending;
    ps_time_us timeout_us;
    uint64_t seed;
} ps_frag_table;

/* One fragment handed to the reassembler. */
typedef struct ps_frag_in {
    uint8_t family, proto, ttl, tos;
    const uint8_t *src, *dst; /* 4 or 16 bytes */
    uint32_t id;
    uint32_t offset; /* bytes */
    bool more;
    uint32_t hdr_len; /* bytes in front of the fragmentable part (size cap) */
    const uint8_t *data;
    uint32_t len;
} ps_frag_in;

/* A completed datagram: the fragmentable part, plus first-fragment fields. */
typedef struct ps_frag_out {
    const uint8_t *data;
    uint32_t len;
    uint32_t hdr_len;
    uint8_t ttl, tos;
} ps_frag_out;

typedef struct ps_dedup_slot {
    uint64_t hash;
    ps_time_us ts;
    uint32_t len;
} ps_dedup_slot;

typedef struct ps_dedup {
    ps_dedup_slot *slots; /* NULL when disabled */
    uint32_t mask;
    uint32_t window_us;
    uint64_t seed, k1, k2;
} ps_dedup;

struct ps_decoder {
    ps_decode_config cfg;
    ps_decode_stats stats;
    uint32_t max_depth;
    bool csum_validate;  /* YES, or AUTO not (yet) disabled */
    bool csum_sampling;  /* AUTO and still looking */
    bool defer_tcp_csum; /* ps_decoder_defer_tcp_csum() */
    uint32_t csum_seen, csum_bad;
    ps_frag_table frag;
    ps_dedup dedup;
};

/* State of one ps_decode() call. */
typedef struct ps_dctx {
    ps_decoder *d;
    ps_packet *pkt;
    ps_time_us ts;
    uint32_t depth;     /* tunnel layers removed */
    uint32_t ip_layers; /* IP headers seen; dedup looks at the first */
    bool outer;         /* still in the outermost link layer */
    bool csum_checked, csum_failed;
    bool l4_csum_skip; /* pseudo header unknowable (IPv6 routing in progress) */
} ps_dctx;

static inline uint16_t ps_rd16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t ps_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Counts anomaly `a` and returns PS_ERR_SKIP so callers can `return`. */
static inline int ps_dec_anomaly(ps_dctx *c, int a)
{
    c->d->stats.anomalies[a]++;
    return PS_ERR_SKIP;
}

static inline int ps_dec_non_ip(ps_dctx *c)
{
    c->d->stats.non_ip++;
    return PS_ERR_SKIP;
}

/* Ones-complement sum in native byte order; only the last chunk may have a
 * length that is not a multiple of 4. 32-bit words go into a 64-bit sum
 * (2^32 = 1 mod 0xffff, so ps_csum_ok() folds it); with SSE2 (every x86-64)
 * two 64-bit lanes take four words per instruction pair: bulk segments are
 * the one place every payload byte is read. */
static inline uint64_t ps_csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
#ifdef __SSE2__
    if (len >= 32) {
        const __m128i z = _mm_setzero_si128();
        __m128i a0 = z, a1 = z, a2 = z, a3 = z;
        while (len >= 64) {
            __m128i v0 = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i v1 = _mm_loadu_si128((const __m128i *)(const void *)(p + 16));
            __m128i v2 = _mm_loadu_si128((const __m128i *)(const void *)(p + 32));
            __m128i v3 = _mm_loadu_si128((const __m128i *)(const void *)(p + 48));
            a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(v0, z));
            a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(v0, z));
            a2 = _mm_add_epi64(a2, _mm_unpacklo_epi32(v1, z));
            a3 = _mm_add_epi64(a3, _mm_unpackhi_epi32(v1, z));
            a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(v2, z));
            a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(v2, z));
            a2 = _mm_add_epi64(a2, _mm_unpacklo_epi32(v3, z));
            a3 = _mm_add_epi64(a3, _mm_unpackhi_epi32(v3, z));
            p += 64;
            len -= 64;
        }
        while (len >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            a0 = _mm_add_epi64(a0, _mm_unpacklo_epi32(v, z));
            a1 = _mm_add_epi64(a1, _mm_unpackhi_epi32(v, z));
            p += 16;
            len -= 16;
        }
        a0 = _mm_add_epi64(_mm_add_epi64(a0, a1), _mm_add_epi64(a2, a3));
        uint64_t t[2];
        _mm_storeu_si128((__m128i *)(void *)t, a0);
        sum += t[0] + t[1];
    }
#endif
    while (len >= 16) {
        uint32_t w[4];
        memcpy(w, p, 16);
        sum += (uint64_t)w[0] + w[1] + w[2] + w[3];
        p += 16;
        len -= 16;
    }
    while (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        sum += w;
        p += 4;
        len -= 4;
    }
    if (len) { /* 1-3 bytes, zero-padded; no variable-length copy */
        uint8_t t[4] = {p[0], len > 1 ? p[1] : 0, len > 2 ? p[2] : 0, 0};
        uint32_t w;
        memcpy(&w, t, 4);
        sum += w;
    }
    return sum;
}

/* True when a sum over data that includes its checksum field verifies. */
static inline bool ps_csum_ok(uint64_t sum)
{
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    sum = (sum & 0xffffu) + (sum >> 16);
    return sum == 0xffffu;
}

/* Seeded 64-bit hash of `len` bytes continuing from `h`. */
uint64_t ps_dec_hash64(uint64_t h, const uint8_t *p, size_t len);
uint64_t ps_dec_hash_final(uint64_t h);

/* decode.c */
int ps_dec_ether(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_ethertype(ps_dctx *c, uint16_t type, const uint8_t *p, uint32_t len);
int ps_dec_ip_guess(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_tunnel_enter(ps_dctx *c);

/* decode-ip.c */
int ps_dec_ipv4(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_ipv6(ps_dctx *c, const uint8_t *p, uint32_t len);

/* decode-tunnel.c: each returns 1 when the UDP payload is not that tunnel
 * and should be delivered as plain UDP; otherwise a ps_decode() result. */
int ps_dec_vxlan(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_geneve(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_gre(ps_dctx *c, const uint8_t *p, uint32_t len);
int ps_dec_ipip(ps_dctx *c, uint8_t proto, const uint8_t *p, uint32_t len);

/* decode-frag.c */
int ps_frag_init(ps_frag_table *t, uint32_t n, uint32_t timeout_ms, uint64_t seed);
void ps_frag_destroy(ps_frag_table *t);
/* Frees the slots delivered by the previous frame. */
void ps_frag_release(ps_frag_table *t);
/* Adds one fragment. PS_OK with `out` filled when it completes a datagram
 * (valid until the next ps_frag_release()); PS_ERR_SKIP when held or dropped
 * (anomalies counted in `st`). */
int ps_frag_add(ps_frag_table *t, ps_decode_stats *st, ps_time_us ts, const ps_frag_in *in,
                ps_frag_out *out);

/* decode-dedup.c */
int ps_dedup_init(ps_dedup *dd, uint32_t slots, uint32_t window_us, uint64_t seed);
void ps_dedup_destroy(ps_dedup *dd);
/* True when the IP packet `ip[0..len)` (version 4 or 6) is a copy of one
 * seen within the window; otherwise remembers it and returns false. */
bool ps_dedup_check(ps_dedup *dd, ps_time_us ts, const uint8_t *ip, uint32_t len);

#endif
