/* test_crypto.c - SHA-1, MD5, SHA-256, HMAC-SHA-256, random bytes, Community ID and UUIDv4. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "crypto.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static ps_addr addr(const char *text)
{
    ps_addr a;
    memset(&a, 0, sizeof(a));
    if (strchr(text, ':') != NULL) {
        a.family = 6;
        CU_ASSERT_FATAL(inet_pton(AF_INET6, text, a.bytes) == 1);
    } else {
        a.family = 4;
        CU_ASSERT_FATAL(inet_pton(AF_INET, text, a.bytes) == 1);
    }
    return a;
}

/* fn(msg) is PS_OK with the n-byte digest `want` (hex). */
static void expect_digest(int (*fn)(const uint8_t *, size_t, uint8_t *), size_t n, const char *msg,
                          const char *want)
{
    uint8_t d[32];
    char h[65];
    CU_ASSERT_EQUAL_FATAL(fn((const uint8_t *)msg, strlen(msg), d), PS_OK);
    hex(d, n, h);
    CU_ASSERT_STRING_EQUAL(h, want);
}

static void expect_hmac(const uint8_t *key, size_t keylen, const char *msg, const char *want)
{
    uint8_t d[32];
    char h[65];
    CU_ASSERT_EQUAL_FATAL(ps_hmac_sha256(key, keylen, (const uint8_t *)msg, strlen(msg), d), PS_OK);
    hex(d, 32, h);
    CU_ASSERT_STRING_EQUAL(h, want);
}

static void test_sha1(void)
{
    /* FIPS 180 examples */
    expect_digest(ps_sha1, 20, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d");
    expect_digest(ps_sha1, 20, "", "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void test_hmac(void)
{
    uint8_t key[20];

    /* RFC 4231 test cases 1 and 2 */
    memset(key, 0x0b, sizeof(key));
    expect_hmac(key, 20, "Hi There",
                "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    expect_hmac((const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    /* RFC 4231 test case 6: a key longer than the block is hashed first. */
    uint8_t big[131];
    memset(big, 0xaa, sizeof(big));
    expect_hmac(big, sizeof(big), "Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    /* A key of exactly one block (64 bytes) is used as is; an empty key is
     * all zeros (values from Python's hmac module). */
    uint8_t k64[64];
    for (size_t i = 0; i < sizeof(k64); i++)
        k64[i] = (uint8_t)i;
    expect_hmac(k64, sizeof(k64), "abc",
                "6ab541b4869dca71c4ca11d8bb1b02533b789a557583161429292c7404bc21f6");
    expect_hmac(k64, 0, "abc", "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
}

/* JA3 (MD5) and JA4 (SHA-256) digests: FIPS 180 and RFC 1321 examples. */
static void test_md5_sha256(void)
{
    expect_digest(ps_md5, 16, "abc", "900150983cd24fb0d6963f7d28e17f72");
    expect_digest(ps_md5, 16, "", "d41d8cd98f00b204e9800998ecf8427e");
    expect_digest(ps_sha256, 32, "abc",
                  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect_digest(ps_sha256, 32, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_random(void)
{
    uint8_t a[32], b[32];

    CU_ASSERT_EQUAL(ps_random_bytes(a, sizeof(a)), PS_OK);
    CU_ASSERT_EQUAL(ps_random_bytes(b, sizeof(b)), PS_OK);
    CU_ASSERT(memcmp(a, b, sizeof(a)) != 0);
    CU_ASSERT_EQUAL(ps_random_bytes(a, 0), PS_OK);
}

/* Computes the ID of (sa, sp) -> (da, dp) and checks the reverse matches. */
static void cid_both(const char *sa, uint16_t sp, const char *da, uint16_t dp, uint8_t proto,
                     uint16_t seed, const char *want)
{
    ps_addr s = addr(sa), d = addr(da);
    char out[32], rev[32];

    CU_ASSERT_EQUAL(ps_community_id(&s, sp, &d, dp, proto, seed, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, want);
    CU_ASSERT_EQUAL(ps_community_id(&d, dp, &s, sp, proto, seed, rev, sizeof(rev)), PS_OK);
    CU_ASSERT_STRING_EQUAL(rev, want);
}

static void test_community_id_vectors(void)
{
    /* Vectors given with the assignment (Community ID v1 spec). */
    cid_both("1.2.3.4", 1122, "5.6.7.8", 3344, 6, 0, "1:wCb3OG7yAFWelaUydu0D+125CLM=");
    cid_both("1.2.3.4", 1122, "5.6.7.8", 3344, 17, 0, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=");
    cid_both("1.2.3.4", 1122, "5.6.7.8", 3344, 6, 1, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=");
    cid_both("203.0.113.7", 40123, "10.0.0.5", 2375, 6, 0, "1:q8zrkyqL7s4Rx/Y4ZUvsX9k4adw=");
    /* Published examples (Zeek community-id docs, pycommunityid README). */
    cid_both("128.232.110.120", 34855, "66.35.250.204", 80, 6, 0, "1:LQU9qZlK+B5F3KDmev6m5PMibrg=");
    /* The following were computed at authoring time with Python's hashlib
     * and base64 over the spec's big-endian layout (seed, ordered addrs,
     * proto, 0, ordered ports), not with this code. */
    /* IPv6, equal address: the port breaks the tie. */
    cid_both("fe80::1", 443, "fe80::1", 80, 6, 0, "1:uVlbkTS8i6FBWMX9PAsDQls0o8o=");
    /* No ports for GRE. */
    cid_both("5.6.7.8", 1234, "1.2.3.4", 80, 47, 0, "1:+mluqz76jObh6dJLwnhX08n5St4=");
}

static void test_community_id_icmp(void)
{
    ps_addr a = addr("192.168.0.89"), b = addr("192.168.0.1");
    char out[32];

    /* pycommunityid README: icmp 192.168.0.89 -> 192.168.0.1 type 8 code 0 */
    CU_ASSERT_EQUAL(ps_community_id(&a, 8, &b, 0, 1, 0, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    /* ...and the echo reply (type 0) from the other side maps to the same */
    CU_ASSERT_EQUAL(ps_community_id(&b, 0, &a, 0, 1, 0, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=");
    /* Python hashlib at authoring time: echo 1.2.3.4 -> 5.6.7.8. */
    cid_both("1.2.3.4", 8, "5.6.7.8", 0, 1, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0=");
    /* ICMPv6 echo reply 2001:db8::1 -> ::2 type 129 (pairs with 128). */
    ps_addr c = addr("2001:db8::1"), d = addr("2001:db8::2");
    CU_ASSERT_EQUAL(ps_community_id(&c, 129, &d, 0, 58, 0, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, "1:YDcnf7YthUKAbDNo6Cs3rX4jq4w=");
    CU_ASSERT_EQUAL(ps_community_id(&d, 128, &c, 0, 58, 0, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, "1:YDcnf7YthUKAbDNo6Cs3rX4jq4w=");
    /* One-way type (3 = unreachable): never reordered. */
    ps_addr e = addr("5.6.7.8"), f = addr("1.2.3.4");
    CU_ASSERT_EQUAL(ps_community_id(&e, 3, &f, 1, 1, 0, out, sizeof(out)), PS_OK);
    CU_ASSERT_STRING_EQUAL(out, "1:8LPUHMfboj3XbJKoR1RD6x9ML9Y=");
}

/* Independent base64 (bit-at-a-time) for the hand-laid IPv6 check. */
static void b64_slow(const uint8_t *in, size_t n, char *out)
{
    static const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t bits = n * 8, o = 0;
    for (size_t pos = 0; pos < bits; pos += 6) {
        unsigned v = 0;
        for (size_t k = 0; k < 6; k++) {
            size_t bit = pos + k;
            unsigned b =
                bit < bits ? ((unsigned)in[bit / 8] >> (7u - (unsigned)(bit % 8))) & 1u : 0u;
            v = v << 1 | b;
        }
        out[o++] = tab[v];
    }
    while (o % 4 != 0)
        out[o++] = '=';
    out[o] = '\0';
}

static void test_community_id_ipv6(void)
{
    /* 2001:db8::2:2375 -> 2001:db8::1:49152 TCP seed 0x1234. Hand-laid
     * input: ::1 sorts first, so it and its port come first. */
    uint8_t in[] = {0x12, 0x34,                                                 /* seed */
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, /* A */
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, /* B */
                    6,    0,                                                    /* proto, pad */
                    0xC0, 0x00,                                                 /* port A 49152 */
                    0x09, 0x47};                                                /* port B 2375 */
    uint8_t dig[20];
    char want[32] = "1:";
    CU_ASSERT_EQUAL_FATAL(ps_sha1(in, sizeof(in), dig), PS_OK);
    b64_slow(dig, 20, want + 2);
    CU_ASSERT_EQUAL(strlen(want), 30);
    cid_both("2001:db8::2", 2375, "2001:db8::1", 49152, 6, 0x1234, want);

    /* Python hashlib at authoring time, seed 0: */
    cid_both("2001:db8::1", 49152, "2001:db8::2", 2375, 6, 0, "1:AU4AdC0JAk0LPR/yAvg7JmH5sfA=");
}

static void test_community_id_errors(void)
{
    ps_addr v4 = addr("1.2.3.4"), v6 = addr("::1"), unset;
    char out[32];

    memset(&unset, 0, sizeof(unset));
    CU_ASSERT_EQUAL(ps_community_id(&v4, 1, &v6, 2, 6, 0, out, sizeof(out)), PS_ERR_BAD_INPUT);
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(ps_community_id(&unset, 1, &unset, 2, 6, 0, out, sizeof(out)),
                    PS_ERR_BAD_INPUT);
    /* 30 characters + NUL: 31 bytes suffice, 30 do not. */
    CU_ASSERT_EQUAL(ps_community_id(&v4, 1, &v4, 2, 6, 0, out, 31), PS_OK);
    CU_ASSERT_EQUAL(strlen(out), 30);
    memset(out, 'Z', sizeof(out));
    CU_ASSERT_EQUAL(ps_community_id(&v4, 1, &v4, 2, 6, 0, out, 30), PS_ERR_CAP);
    CU_ASSERT_EQUAL(out[0], '\0');
    CU_ASSERT_EQUAL(out[1], 'Z');
}

static bool uuid_well_formed(const char *u)
{
    if (strlen(u) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (u[i] != '-')
                return false;
        } else if (!((u[i] >= '0' && u[i] <= '9') || (u[i] >= 'a' && u[i] <= 'f'))) {
            return false;
        }
    }
    return u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

static int cmp_uuid(const void *a, const void *b)
{
    return memcmp(a, b, 37);
}

static void test_uuid(void)
{
    enum { N = 10000 };
    char(*u)[37] = malloc(N * sizeof(*u));
    unsigned bad = 0, dups = 0, variant_seen[4] = {0};

    CU_ASSERT_FATAL(u != NULL);
    for (int i = 0; i < N; i++) {
        ps_uuid4(u[i], 37);
        if (!uuid_well_formed(u[i]))
            bad++;
        else
            variant_seen[strchr("89ab", u[i][19]) - "89ab"]++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    for (int v = 0; v < 4; v++)
        CU_ASSERT(variant_seen[v] > 0);
    qsort(u, N, sizeof(*u), cmp_uuid);
    for (int i = 1; i < N; i++)
        if (memcmp(u[i - 1], u[i], 37) == 0)
            dups++;
    CU_ASSERT_EQUAL(dups, 0);
    free(u);

    char small[36];
    memset(small, 'Z', sizeof(small));
    ps_uuid4(small, sizeof(small));
    CU_ASSERT_EQUAL(small[0], '\0');
    CU_ASSERT_EQUAL(small[1], 'Z');
}

/* A forked child must not repeat the parent's sequence. */
static void test_uuid_fork(void)
{
    char parent[37], child[37] = {0};
    int fds[2];

    ps_uuid4(parent, sizeof(parent)); /* seed the parent's generator */
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        char c[37];
        ps_uuid4(c, sizeof(c));
        ssize_t w = write(fds[1], c, sizeof(c));
        _exit(w == (ssize_t)sizeof(c) ? 0 : 1);
    }
    close(fds[1]);
    ps_uuid4(parent, sizeof(parent));
    CU_ASSERT_EQUAL(read(fds[0], child, sizeof(child)), (ssize_t)sizeof(child));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CU_ASSERT(uuid_well_formed(child));
    CU_ASSERT(strcmp(parent, child) != 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("crypto", NULL, NULL);
    CU_add_test(s, "sha1", test_sha1);
    CU_add_test(s, "hmac-sha256", test_hmac);
    CU_add_test(s, "md5 and sha256", test_md5_sha256);
    CU_add_test(s, "random bytes", test_random);
    CU_add_test(s, "community id vectors", test_community_id_vectors);
    CU_add_test(s, "community id icmp", test_community_id_icmp);
    CU_add_test(s, "community id ipv6", test_community_id_ipv6);
    CU_add_test(s, "community id errors", test_community_id_errors);
    CU_add_test(s, "uuid4", test_uuid);
    CU_add_test(s, "uuid4 after fork", test_uuid_fork);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
