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

/* Hash of the packet with the fields a router rewrites (TTL / hop limit and
 * the IPv4 header checksum) blanked, so a copy one hop later matches. Only
 * the first PS_DEDUP_BODY bytes after the IP header (transport header with
 * its sequence numbers and checksum, start of payload) and the last 16 bytes
 * are hashed: with the length compared too, two different packets that agree
 * on all of that within the window do not occur, and bulk data then costs
 * the same as a small packet. */
#define PS_DEDUP_BODY 128u
static uint64_t packet_hash(uint64_t seed, const uint8_t *ip, uint32_t len)
{
    uint8_t hdr[60];
    uint32_t hl;
    if ((ip[0] >> 4) == 4) {
        hl = (uint32_t)(ip[0] & 0x0f) * 4;
        memcpy(hdr, ip, hl);
        hdr[8] = 0;
        hdr[10] = hdr[11] = 0;
    } else {
        hl = 40;
        memcpy(hdr, ip, hl);
        hdr[7] = 0;
    }
    uint64_t h = ps_dec_hash64(seed, hdr, hl);
    uint32_t body = len - hl;
    if (body <= PS_DEDUP_BODY + 16u) {
        h = ps_dec_hash64(h, ip + hl, body);
    } else {
        h = ps_dec_hash64(h, ip + hl, PS_DEDUP_BODY);
        h = ps_dec_hash64(h, ip + len - 16u, 16u);
    }
    return ps_dec_hash_final(h);
}

bool ps_dedup_check(ps_dedup *dd, ps_time_us ts, const uint8_t *ip, uint32_t len)
{
    uint64_t h = packet_hash(dd->seed, ip, len);
    ps_dedup_slot *s = &dd->slots[h & dd->mask];
    /* The first copy's time is kept, so a steady repetition ends at the window. */
    if (s->hash == h && s->len == len && ts >= s->ts && ts - s->ts < dd->window_us)
        return true;
    s->hash = h;
    s->ts = ts;
    s->len = len;
    return false;
}
