/* decode-dedup.c - drops identical copies of an IP packet seen moments apart (SPAN duplicates). */
#include <stdlib.h>

#include "decode-int.h"

#define P1 0x9e3779b185ebca87ULL
#define P2 0xc2b2ae3d27d4eb4fULL
#define P3 0x165667b19e3779f9ULL
#define P4 0x85ebca77c2b2ae63ULL
#define P5 0x27d4eb2f165667c5ULL

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t xxround(uint64_t acc, uint64_t w)
{
    return rotl64(acc + w * P2, 31) * P1;
}

/* xxHash64's structure (four independent lanes for long inputs), keyed by
 * the running state so calls chain. */
uint64_t ps_dec_hash64(uint64_t h, const uint8_t *p, size_t len)
{
    h += (uint64_t)len * P5;
    if (len >= 32) {
        uint64_t v1 = h + P1 + P2, v2 = h + P2, v3 = h, v4 = h - P1;
        do {
            uint64_t w[4];
            memcpy(w, p, 32);
            v1 = xxround(v1, w[0]);
            v2 = xxround(v2, w[1]);
            v3 = xxround(v3, w[2]);
            v4 = xxround(v4, w[3]);
            p += 32;
            len -= 32;
        } while (len >= 32);
        h ^= rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = (h ^ xxround(0, v1)) * P1 + P4;
        h = (h ^ xxround(0, v2)) * P1 + P4;
        h = (h ^ xxround(0, v3)) * P1 + P4;
        h = (h ^ xxround(0, v4)) * P1 + P4;
    }
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h ^= xxround(0, w);
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
        len -= 8;
    }
    if (len >= 4) {
        uint32_t w;
        memcpy(&w, p, 4);
        h ^= (uint64_t)w * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
        len -= 4;
    }
    while (len--) {
        h ^= (uint64_t)*p++ * P5;
        h = rotl64(h, 11) * P1;
    }
    return h;
}

uint64_t ps_dec_hash_final(uint64_t h)
{
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

int ps_dedup_init(ps_dedup *dd, uint32_t slots, uint32_t window_us, uint64_t seed)
{
    memset(dd, 0, sizeof *dd);
    dd->window_us = window_us;
    dd->seed = seed;
    /* Two dense keys for the multiply mix (splitmix64 steps of the seed). */
    dd->k1 = ps_dec_hash_final(seed + P1) | 1;
    dd->k2 = ps_dec_hash_final(seed + 2 * P1) | 1;
    if (slots == 0 || window_us == 0)
        return PS_OK;
    uint32_t n = 1;
    while (n < slots && n < (1u << 24))
        n <<= 1;
    dd->slots = calloc(n, sizeof *dd->slots);
    if (!dd->slots)
        return PS_ERR_NOMEM;
    dd->mask = n - 1;
    return PS_OK;
}

void ps_dedup_destroy(ps_dedup *dd)
{
    free(dd->slots);
    dd->slots = NULL;
}

static inline uint64_t rd64(const uint8_t *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* 64x64->128 multiply folded to 64 bits (wyhash's mum): keyed by the
 * caller's xor, a full-width mix for one multiply. */
static inline uint64_t mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* Masks of the bytes a router rewrites within the first 16 header bytes:
 * IPv4 TTL (byte 8) and header checksum (10-11), IPv6 hop limit (7). Byte
 * arrays, so the masks hold in either byte order. */
static const uint8_t keep4[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                  0x00, 0xff, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff};
static const uint8_t keep6[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
                                  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* True when the packet's transport checksum covers its payload: TCP, or
 * UDP with a checksum, right after the fixed IP header (IPv6 extension
 * headers or an IPv4 fragment: false). */
static bool l4_sum_covers(const uint8_t *ip, uint32_t hl, uint32_t len)
{
    uint8_t proto;
    if ((ip[0] >> 4) == 4) {
        if (ps_rd16(ip + 6) & 0x3fff) /* a fragment: the checksum is the datagram's */
            return false;
        proto = ip[9];
    } else {
        proto = ip[6];
    }
    if (proto == 6)
        return true;
    return proto == 17 && len - hl >= 8 && ps_rd16(ip + hl + 6) != 0;
}

/* Keyed hash of the packet with the fields a router rewrites (TTL / hop
 * limit and the IPv4 header checksum) blanked, so a copy one hop later
 * matches. Only the IP header and the first PS_DEDUP_BODY bytes after it
 * (transport header with its sequence numbers and checksum, start of
 * payload) are hashed, and the last 16 bytes unless a TCP or UDP checksum,
 * hashed with its header, already stands for the payload: with the length
 * compared too, two different packets that agree on all of that within the
 * window do not occur. Bulk data then costs the same as a small packet,
 * and a TCP segment's last cache line is never read. The packet is read
 * in place, 16 bytes a multiply. `len` >= 20 (IPv4) or 40 (IPv6). */
#define PS_DEDUP_BODY 128u
static uint64_t packet_hash(const ps_dedup *dd, const uint8_t *ip, uint32_t len)
{
    uint32_t hl = (ip[0] >> 4) == 4 ? (uint32_t)(ip[0] & 0x0f) * 4 : 40;
    const uint8_t *keep = (ip[0] >> 4) == 4 ? keep4 : keep6;
    uint64_t h = dd->seed ^ ((uint64_t)len * P5);
    h = mum((rd64(ip) & rd64(keep)) ^ dd->k1, (rd64(ip + 8) & rd64(keep + 8)) ^ h);
    /* Bytes [16, end) then, for long packets, the last 16. */
    uint32_t end = len - hl <= PS_DEDUP_BODY + 16u ? len : hl + PS_DEDUP_BODY;
    uint32_t i = 16;
    for (; i + 16 <= end; i += 16)
        h = mum(rd64(ip + i) ^ dd->k1, rd64(ip + i + 8) ^ h);
    if (i < end) {
        uint8_t t[16];
        const uint8_t *q;
        if (end >= 32) {
            q = ip + end - 16; /* overlaps bytes already hashed: fine, len is mixed in */
        } else {
            memset(t, 0, sizeof t);
            memcpy(t, ip + i, end - i);
            q = t;
        }
        h = mum(rd64(q) ^ dd->k2, rd64(q + 8) ^ h);
    }
    if (end < len && !(hl <= len && l4_sum_covers(ip, hl, len)))
        h = mum(rd64(ip + len - 16) ^ dd->k2, rd64(ip + len - 8) ^ h);
    return mum(h ^ dd->k1, (uint64_t)len ^ dd->k2);
}

bool ps_dedup_check(ps_dedup *dd, ps_time_us ts, const uint8_t *ip, uint32_t len)
{
    uint64_t h = packet_hash(dd, ip, len);
    ps_dedup_slot *s = &dd->slots[h & dd->mask];
    /* The first copy's time is kept, so a steady repetition ends at the window. */
    if (s->hash == h && s->len == len && ts >= s->ts && ts - s->ts < dd->window_us)
        return true;
    s->hash = h;
    s->ts = ts;
    s->len = len;
    return false;
}
