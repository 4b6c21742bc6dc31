/* scan-hll.c - HyperLogLog cardinality estimate for the scan detector's per-source sketches. */
#include <math.h>

#include "hll.h"

/* Ertl, "New cardinality estimation algorithms for HyperLogLog sketches"
 * (2017), section 3: sigma and tau correct the small and large ranges
 * without the empirical bias tables of HLL++. */
static double hll_sigma(double x)
{
    if (x >= 1.0)
        return INFINITY;
    double y = 1.0, z = x, zp;
    do {
        x *= x;
        zp = z;
        z += x * y;
        y += y;
    } while (z != zp);
    return z;
}

static double hll_tau(double x)
{
    if (x <= 0.0 || x >= 1.0)
        return 0.0;
    double y = 1.0, z = 1.0 - x, zp;
    do {
        x = sqrt(x);
        zp = z;
        y *= 0.5;
        z -= (1.0 - x) * (1.0 - x) * y;
    } while (z != zp);
    return z / 3.0;
}

double ps_hll_estimate(const uint8_t *reg, unsigned bits)
{
    if (bits < PS_HLL_MIN_BITS || bits > PS_HLL_MAX_BITS)
        return 0.0;
    const unsigned q = 64 - bits;
    const size_t m = (size_t)1 << bits;
    uint32_t c[66] = {0};
    for (size_t i = 0; i < m; i++) {
        unsigned v = reg[i] > q + 1 ? q + 1 : reg[i];
        c[v]++;
    }
    double md = (double)m;
    double z = md * hll_tau(1.0 - (double)c[q + 1] / md);
    for (unsigned k = q; k >= 1; k--)
        z = 0.5 * (z + (double)c[k]);
    z += md * hll_sigma((double)c[0] / md);
    if (!isfinite(z) || z <= 0.0)
        return 0.0;
    const double alpha_inf = 0.5 / log(2.0);
    return alpha_inf * md * md / z;
}
