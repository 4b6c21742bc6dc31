/* crypto.c - the sensor's only doorway to OpenSSL: hashes, randomness, flow and record IDs. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "crypto.h"

int ps_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    unsigned int outlen = 0;

    if (EVP_Digest(data, len, out, &outlen, EVP_sha1(), NULL) != 1 || outlen != 20)
        return PS_ERR_STATE;
    return PS_OK;
}

int ps_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                   uint8_t out[32])
{
    unsigned int outlen = 0;

    if (keylen > (size_t)INT32_MAX)
        return PS_ERR_STATE;
    if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen) == NULL || outlen != 32)
        return PS_ERR_STATE;
    return PS_OK;
}

int ps_random_bytes(uint8_t *out, size_t len)
{
    while (len > 0) {
        int chunk = len > (size_t)INT32_MAX ? INT32_MAX : (int)len;
        if (RAND_bytes(out, chunk) != 1)
            return PS_ERR_STATE;
        out += chunk;
        len -= (size_t)chunk;
    }
    return PS_OK;
}

/* Standard base64 with padding; out must hold 4*ceil(n/3)+1 bytes. */
static void base64(const uint8_t *in, size_t n, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;

    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = '=';
        out[o++] = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63];
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* Protocols whose hash input carries ports (Community ID spec). */
static bool proto_has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132 || proto == 1 || proto == 58;
}

/* ICMP request/reply type pairs, per the spec's reference implementation:
 * the counterpart type stands in for the destination port so both halves of
 * an exchange share one ID. Types without a pair are one-way. */
static int icmp_counterpart(uint8_t proto, uint16_t type)
{
    static const uint8_t v4[][2] = {{8, 0}, {13, 14}, {15, 16}, {10, 9}, {17, 18}};
    static const uint8_t v6[][2] = {{128, 129}, {130, 131}, {133, 134},
                                    {135, 136}, {139, 140}, {144, 145}};
    const uint8_t(*tab)[2] = proto == 1 ? v4 : v6;
    size_t n = proto == 1 ? PS_ARRAY_LEN(v4) : PS_ARRAY_LEN(v6);

    for (size_t i = 0; i < n; i++) {
        if (tab[i][0] == type)
            return tab[i][1];
        if (tab[i][1] == type)
            return tab[i][0];
    }
    return -1;
}

int ps_community_id(const ps_addr *src, uint16_t sport, const ps_addr *dst, uint16_t dport,
                    uint8_t proto, uint16_t seed, char *out, size_t outlen)
{
    uint8_t in[2 + 16 + 16 + 2 + 4];
    uint8_t digest[20];
    size_t alen, n = 0;
    const ps_addr *a = src, *b = dst;
    uint16_t pa = sport, pb = dport;
    bool one_way = false;

    if (outlen > 0)
        out[0] = '\0';
    if (src->family != dst->family || (src->family != 4 && src->family != 6))
        return PS_ERR_BAD_INPUT;
    if (outlen < 31)
        return PS_ERR_CAP;
    alen = src->family == 4 ? 4 : 16;
    if (!proto_has_ports(proto)) {
        pa = pb = 0;
    } else if (proto == 1 || proto == 58) {
        int peer = icmp_counterpart(proto, sport);
        if (peer >= 0)
            pb = (uint16_t)peer;
        else
            one_way = true;
    }
    /* Order endpoints so both directions hash alike: IP first, then port. */
    int c = memcmp(src->bytes, dst->bytes, alen);
    if (!one_way && (c > 0 || (c == 0 && pa > pb))) {
        a = dst;
        b = src;
        uint16_t t = pa;
        pa = pb;
        pb = t;
    }
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, a->bytes, alen);
    n += alen;
    memcpy(in + n, b->bytes, alen);
    n += alen;
    in[n++] = proto;
    in[n++] = 0;
    if (proto_has_ports(proto)) {
        in[n++] = (uint8_t)(pa >> 8);
        in[n++] = (uint8_t)pa;
        in[n++] = (uint8_t)(pb >> 8);
        in[n++] = (uint8_t)pb;
    }
    if (ps_sha1(in, n, digest) != PS_OK)
        return PS_ERR_STATE;
    out[0] = '1';
    out[1] = ':';
    base64(digest, sizeof(digest), out + 2);
    return PS_OK;
}

/* UUID generator: xoshiro256** per thread, seeded from the OS CSPRNG on
 * first use and again in a forked child (else parent and child would emit
 * the same IDs). IDs need uniqueness, not secrecy. */
static _Thread_local uint64_t uuid_state[4];
static _Thread_local unsigned long uuid_gen; /* fork generation it was seeded in */
static atomic_ulong fork_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&fork_gen, 1);
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t *s)
{
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static void uuid_seed(void)
{
    uint64_t seed[4];

    if (ps_random_bytes((uint8_t *)seed, sizeof(seed)) != PS_OK) {
        /* CSPRNG unavailable: still unique enough per thread and process. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)&uuid_state;
        for (int i = 0; i < 4; i++)
            seed[i] = splitmix64(&x);
    }
    /* Run the seed through splitmix64 so an all-zero state is impossible. */
    for (int i = 0; i < 4; i++) {
        uint64_t x = seed[i] + (uint64_t)i;
        uuid_state[i] = splitmix64(&x);
    }
    if ((uuid_state[0] | uuid_state[1] | uuid_state[2] | uuid_state[3]) == 0)
        uuid_state[0] = 1;
}

void ps_uuid4(char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t b[16];
    size_t o = 0;

    if (outlen == 0)
        return;
    if (outlen < 37) {
        out[0] = '\0';
        return;
    }
    pthread_once(&atfork_once, register_atfork);
    unsigned long gen = atomic_load(&fork_gen);
    if (uuid_gen != gen) {
        uuid_seed();
        uuid_gen = gen;
    }
    uint64_t hi = xoshiro_next(uuid_state), lo = xoshiro_next(uuid_state);
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(hi >> (56 - 8 * i));
        b[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
    }
    b[6] = (uint8_t)((b[6] & 0x0F) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3F) | 0x80); /* RFC 4122 variant */
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[o++] = '-';
        out[o++] = hex[b[i] >> 4];
        out[o++] = hex[b[i] & 0xF];
    }
    out[o] = '\0';
}
