/* crypto.c - the sensor's only doorway to OpenSSL: hashes, randomness, flow and record IDs. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/* SHA-1, MD5 and SHA-256 go through the low-level interfaces, deprecated in
 * OpenSSL 3.0 but kept: they hash on a stack context and allocate nothing,
 * while 3.0's EVP_DigestInit_ex2 re-creates the provider's context on every
 * call (1 to 3 allocations a digest, 13 an HMAC), and a Community ID is
 * hashed for every record written, JA3/JA4 for every TLS flow. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/md5.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "crypto.h"
#include "tls.h"

int ps_sha1(const uint8_t *data, size_t len, uint8_t out[20])
{
    SHA_CTX c;
    if (SHA1_Init(&c) != 1 || SHA1_Update(&c, data, len) != 1 || SHA1_Final(out, &c) != 1)
        return PS_ERR_STATE;
    return PS_OK;
}

int ps_md5(const uint8_t *data, size_t len, uint8_t out[16])
{
    MD5_CTX c;
    if (MD5_Init(&c) != 1 || MD5_Update(&c, data, len) != 1 || MD5_Final(out, &c) != 1)
        return PS_ERR_STATE;
    return PS_OK;
}

int ps_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    SHA256_CTX c;
    if (SHA256_Init(&c) != 1 || SHA256_Update(&c, data, len) != 1 || SHA256_Final(out, &c) != 1)
        return PS_ERR_STATE;
    return PS_OK;
}

/* HMAC (RFC 2104) over SHA-256 on stack contexts, for the same reason:
 * HMAC() allocates a MAC context on every call, and a fingerprint is taken
 * for every call that carries a credential. */
int ps_hmac_sha256(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                   uint8_t out[32])
{
    uint8_t k[SHA256_CBLOCK], pad[SHA256_CBLOCK], inner[32];
    SHA256_CTX c;
    int rc = PS_ERR_STATE;

    memset(k, 0, sizeof(k));
    if (keylen > sizeof(k)) {
        if (ps_sha256(key, keylen, k) != PS_OK)
            goto done;
    } else if (keylen > 0) {
        memcpy(k, key, keylen);
    }
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    if (SHA256_Init(&c) != 1 || SHA256_Update(&c, pad, sizeof(pad)) != 1 ||
        SHA256_Update(&c, data, len) != 1 || SHA256_Final(inner, &c) != 1)
        goto done;
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    if (SHA256_Init(&c) != 1 || SHA256_Update(&c, pad, sizeof(pad)) != 1 ||
        SHA256_Update(&c, inner, sizeof(inner)) != 1 || SHA256_Final(out, &c) != 1)
        goto done;
    rc = PS_OK;
done:
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(&c, sizeof(c));
    return rc;
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

/* ---- TLS client transport (for the Redis output) ------------------------- */

struct ps_tls_ctx {
    SSL_CTX *ctx;
    bool verify_hostname;
};

struct ps_tls {
    SSL *ssl;
};

/* The oldest queued OpenSSL error as text, with the verify result when a
 * certificate was refused; clears the thread's error queue. */
static void tls_reason(SSL *ssl, const char *what, char *err, size_t errlen)
{
    unsigned long e = ERR_peek_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    long vr = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;

    if (vr != X509_V_OK)
        snprintf(err, errlen, "%s: certificate verify failed: %s", what,
                 X509_verify_cert_error_string(vr));
    else if (r)
        snprintf(err, errlen, "%s: %s", what, r);
    else if (errno)
        snprintf(err, errlen, "%s: %s", what, strerror(errno));
    else
        snprintf(err, errlen, "%s: connection closed by peer", what);
    ERR_clear_error();
}

ps_tls_ctx *ps_tls_ctx_new(const ps_tls_options *opt, char *err, size_t errlen)
{
    ps_tls_ctx *c = calloc(1, sizeof(*c));
    const char *key = opt->key_file && opt->key_file[0] ? opt->key_file : opt->cert_file;

    ERR_clear_error();
    if (!c || !(c->ctx = SSL_CTX_new(TLS_client_method()))) {
        snprintf(err, errlen, "cannot create TLS context");
        free(c);
        return NULL;
    }
    c->verify_hostname = opt->verify_hostname;
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    SSL_CTX_set_mode(c->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (opt->ca_file && opt->ca_file[0]) {
        if (SSL_CTX_load_verify_locations(c->ctx, opt->ca_file, NULL) != 1) {
            tls_reason(NULL, "cannot load CA file", err, errlen);
            size_t n = strlen(err);
            snprintf(err + n, errlen > n ? errlen - n : 0, " (%s)", opt->ca_file);
            ps_tls_ctx_free(c);
            return NULL;
        }
    } else if (SSL_CTX_set_default_verify_paths(c->ctx) != 1) {
        tls_reason(NULL, "cannot load the system trust store", err, errlen);
        ps_tls_ctx_free(c);
        return NULL;
    }
    if (opt->cert_file && opt->cert_file[0]) {
        if (SSL_CTX_use_certificate_chain_file(c->ctx, opt->cert_file) != 1) {
            tls_reason(NULL, "cannot load client certificate", err, errlen);
            size_t n = strlen(err);
            snprintf(err + n, errlen > n ? errlen - n : 0, " (%s)", opt->cert_file);
            ps_tls_ctx_free(c);
            return NULL;
        }
        if (SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(c->ctx) != 1) {
            tls_reason(NULL, "cannot load client key", err, errlen);
            size_t n = strlen(err);
            snprintf(err + n, errlen > n ? errlen - n : 0, " (%s)", key);
            ps_tls_ctx_free(c);
            return NULL;
        }
    }
    return c;
}

void ps_tls_ctx_free(ps_tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ctx);
    free(ctx);
}

ps_tls *ps_tls_new(ps_tls_ctx *ctx, int fd, const char *host, char *err, size_t errlen)
{
    ps_tls *t = calloc(1, sizeof(*t));
    uint8_t ip[16];
    bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;

    ERR_clear_error();
    if (!t || !(t->ssl = SSL_new(ctx->ctx)) || SSL_set_fd(t->ssl, fd) != 1) {
        snprintf(err, errlen, "cannot create TLS session");
        ps_tls_free(t);
        return NULL;
    }
    if (!is_ip && SSL_set_tlsext_host_name(t->ssl, host) != 1) {
        tls_reason(NULL, "cannot set SNI", err, errlen);
        ps_tls_free(t);
        return NULL;
    }
    if (ctx->verify_hostname) {
        X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host)
                       : X509_VERIFY_PARAM_set1_host(param, host, 0);
        if (ok != 1) {
            tls_reason(NULL, "cannot set the name to verify", err, errlen);
            ps_tls_free(t);
            return NULL;
        }
    }
    SSL_set_connect_state(t->ssl);
    return t;
}

/* Maps an SSL_* call's result onto the ps_tls return convention. */
static long tls_result(ps_tls *t, int rc, const char *what, int *want, char *err, size_t errlen)
{
    switch (SSL_get_error(t->ssl, rc)) {
    case SSL_ERROR_NONE:
        return rc;
    case SSL_ERROR_WANT_READ:
        *want = PS_TLS_WANT_READ;
        return PS_ERR_NEED_MORE;
    case SSL_ERROR_WANT_WRITE:
        *want = PS_TLS_WANT_WRITE;
        return PS_ERR_NEED_MORE;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return 0;
    default:
        tls_reason(t->ssl, what, err, errlen);
        return PS_ERR_IO;
    }
}

int ps_tls_handshake(ps_tls *t, int *want, char *err, size_t errlen)
{
    ERR_clear_error();
    errno = 0;
    int rc = SSL_do_handshake(t->ssl);
    if (rc == 1)
        return PS_OK;
    long r = tls_result(t, rc, "TLS handshake failed", want, err, errlen);
    if (r == 0) {
        snprintf(err, errlen, "TLS handshake failed: connection closed by peer");
        return PS_ERR_IO;
    }
    return (int)r;
}

long ps_tls_read(ps_tls *t, void *buf, size_t n, int *want, char *err, size_t errlen)
{
    size_t got = 0;

    ERR_clear_error();
    errno = 0;
    int rc = SSL_read_ex(t->ssl, buf, n, &got);
    if (rc == 1)
        return (long)got;
    return tls_result(t, rc, "TLS read failed", want, err, errlen);
}

long ps_tls_write(ps_tls *t, const void *buf, size_t n, int *want, char *err, size_t errlen)
{
    size_t put = 0;

    ERR_clear_error();
    errno = 0;
    int rc = SSL_write_ex(t->ssl, buf, n, &put);
    if (rc == 1)
        return (long)put;
    long r = tls_result(t, rc, "TLS write failed", want, err, errlen);
    if (r == 0) {
        snprintf(err, errlen, "TLS write failed: connection closed by peer");
        return PS_ERR_IO;
    }
    return r;
}

void ps_tls_free(ps_tls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    free(t);
}
