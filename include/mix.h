/* mix.h - keyed multiply-mix hashing of short fixed-size keys (flow tuples, addresses). */
#ifndef PS_MIX_H
#define PS_MIX_H

#include <stdint.h>

/* 64x64->128 multiply folded to 64 bits (wyhash's "mum"): one multiply mixes
 * every input bit into every output bit. */
static inline uint64_t ps_mum(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/* A secret key for ps_mix*(): four words derived from two seed words
 * (splitmix64 steps), so callers keep the two-word seeds they already have. */
typedef struct {
    uint64_t k[4];
} ps_mix_key;

static inline uint64_t ps_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline void ps_mix_key_init(ps_mix_key *key, uint64_t s0, uint64_t s1)
{
    uint64_t x = s0 ^ (s1 * 0xff51afd7ed558ccdULL);
    for (int i = 0; i < 4; i++)
        key->k[i] = ps_splitmix64(&x) | 1;
}

/* Keyed hash of two words. Without the key an attacker cannot aim inputs at
 * one bucket (the multiplicands are unknown); the second round hides the
 * first's structure. Seeded like Suricata's flow hash, at a fraction of
 * SipHash's cost, which was 5-7% of a packet's time. */
static inline uint64_t ps_mix2(const ps_mix_key *key, uint64_t a, uint64_t b)
{
    uint64_t h = ps_mum(a ^ key->k[0], b ^ key->k[1]);
    return ps_mum(h ^ key->k[2], (a + b) ^ key->k[3]);
}

/* Keyed hash of three words, the third a small tag or length: two
 * multiplies, as ps_mix2(). */
static inline uint64_t ps_mix3(const ps_mix_key *key, uint64_t a, uint64_t b, uint64_t c)
{
    return ps_mum(ps_mum(a ^ key->k[0], b ^ key->k[1]) ^ key->k[2], c ^ key->k[3]);
}

/* Keyed hash of n (>= 1) words. */
static inline uint64_t ps_mixn(const ps_mix_key *key, const uint64_t *w, unsigned n)
{
    uint64_t h = key->k[3] ^ n;
    unsigned i = 0;
    for (; i + 2 <= n; i += 2)
        h = ps_mum(w[i] ^ key->k[0], w[i + 1] ^ key->k[1] ^ h);
    if (i < n)
        h = ps_mum(w[i] ^ key->k[0], key->k[1] ^ h);
    return ps_mum(h ^ key->k[2], (uint64_t)n ^ key->k[3]);
}

#endif
