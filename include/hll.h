/* hll.h - HyperLogLog distinct counting over caller-owned register arrays. */
#ifndef PS_HLL_H
#define PS_HLL_H

#include "ps_common.h"

#define PS_HLL_MIN_BITS 4
#define PS_HLL_MAX_BITS 16

/* Adds a 64-bit hash (it must be uniformly distributed) to the 2^bits
 * one-byte registers at `reg`. bits must be in [PS_HLL_MIN_BITS,
 * PS_HLL_MAX_BITS]. Never allocates. */
static inline void ps_hll_add(uint8_t *reg, unsigned bits, uint64_t h)
{
    size_t idx = (size_t)(h >> (64 - bits));
    uint64_t w = h << bits;
    uint8_t rho = (uint8_t)(w == 0 ? 64 - bits + 1 : (unsigned)__builtin_clzll(w) + 1);
    if (reg[idx] < rho)
        reg[idx] = rho;
}

/* Estimated number of distinct hashes added to `reg` (Ertl's improved
 * estimator: no bias tables, good from 0 upwards). Reads 2^bits registers. */
double ps_hll_estimate(const uint8_t *reg, unsigned bits);

#endif
