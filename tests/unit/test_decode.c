/* test_decode.c - unit tests of the packet decoder: links, tunnels, IP, fragments, dedup. */
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"

/* ---- frame builders (independent of the decoder's own code) ---- */

typedef struct addrs {
    int fam;
    uint8_t src[16], dst[16];
} addrs;

static const addrs A4 = {4, {10, 0, 0, 1}, {10, 0, 0, 2}};
static const addrs B4 = {4, {192, 168, 1, 1}, {192, 168, 1, 2}};
static const addrs A6 = {6,
                         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                         {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}};
static const addrs B6 = {6,
                         {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x11},
                         {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x22}};

static const uint8_t MAC_D[6] = {0x02, 0, 0, 0, 0, 0xd1};
static const uint8_t MAC_S[6] = {0x02, 0, 0, 0, 0, 0x51};
static const uint8_t MAC_ID[6] = {0x02, 0, 0, 0, 0, 0xd2};
static const uint8_t MAC_IS[6] = {0x02, 0, 0, 0, 0, 0x52};

static const char HTTP[] = "GET /containers/json HTTP/1.1\r\nHost: x\r\n\r\n";
#define HTTP_LEN (sizeof HTTP - 1)

static void w16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void w32(uint8_t *p, uint32_t v)
{
    w16(p, v >> 16);
    w16(p + 2, v & 0xffff);
}

/* RFC 1071 over big-endian 16-bit words. */
static uint32_t sum16(uint32_t s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static uint32_t pseudo(const addrs *a, uint8_t proto, size_t len)
{
    uint32_t s = 0;
    size_t al = a->fam == 4 ? 4 : 16;
    s = sum16(s, a->src, al);
    s = sum16(s, a->dst, al);
    return s + proto + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
}

static size_t put_tcp_ex(uint8_t *o, const addrs *a, uint8_t flags, const uint8_t *opts,
                         size_t optlen, const void *pl, size_t plen)
{
    size_t hl = 20 + optlen;
    memset(o, 0, hl);
    w16(o, 40000);
    w16(o + 2, 2375);
    w32(o + 4, 1000);
    w32(o + 8, 2000);
    o[12] = (uint8_t)((hl / 4) << 4);
    o[13] = flags;
    w16(o + 14, 65535);
    w16(o + 18, 7);
    if (optlen)
        memcpy(o + 20, opts, optlen);
    if (plen)
        memcpy(o + hl, pl, plen);
    w16(o + 16, fold(sum16(pseudo(a, 6, hl + plen), o, hl + plen)));
    return hl + plen;
}

static const uint8_t MSS_OPT[4] = {2, 4, 0x05, 0xb4};

static size_t put_tcp(uint8_t *o, const addrs *a, const void *pl, size_t plen)
{
    return put_tcp_ex(o, a, 0x18, MSS_OPT, 4, pl, plen);
}

static size_t put_udp(uint8_t *o, const addrs *a, uint16_t sp, uint16_t dp, const void *pl,
                      size_t plen)
{
    w16(o, sp);
    w16(o + 2, dp);
    w16(o + 4, (uint32_t)(8 + plen));
    w16(o + 6, 0);
    if (plen)
        memcpy(o + 8, pl, plen);
    uint16_t c = fold(sum16(pseudo(a, 17, 8 + plen), o, 8 + plen));
    w16(o + 6, c ? c : 0xffff);
    return 8 + plen;
}

static size_t put_ip4_ex(uint8_t *o, const addrs *a, uint8_t proto, uint8_t ttl, uint16_t id,
                         uint16_t frag, const uint8_t *opts, size_t optlen, const void *pl,
                         size_t plen)
{
    size_t hl = 20 + optlen;
    memset(o, 0, hl);
    o[0] = (uint8_t)(0x40 | (hl / 4));
    o[1] = 0x10;
    w16(o + 2, (uint32_t)(hl + plen));
    w16(o + 4, id);
    w16(o + 6, frag);
    o[8] = ttl;
    o[9] = proto;
    memcpy(o + 12, a->src, 4);
    memcpy(o + 16, a->dst, 4);
    if (optlen)
        memcpy(o + 20, opts, optlen);
    w16(o + 10, fold(sum16(0, o, hl)));
    if (plen)
        memmove(o + hl, pl, plen);
    return hl + plen;
}

static size_t put_ip4(uint8_t *o, const addrs *a, uint8_t proto, const void *pl, size_t plen)
{
    return put_ip4_ex(o, a, proto, 64, 0x1234, 0x4000, NULL, 0, pl, plen);
}

static size_t put_ip6(uint8_t *o, const addrs *a, uint8_t nh, const void *pl, size_t plen)
{
    memset(o, 0, 40);
    o[0] = 0x60;
    o[1] = 0x20; /* traffic class 0x02 */
    w16(o + 4, (uint32_t)plen);
    o[6] = nh;
    o[7] = 55;
    memcpy(o + 8, a->src, 16);
    memcpy(o + 24, a->dst, 16);
    if (plen)
        memmove(o + 40, pl, plen);
    return 40 + plen;
}

static size_t put_eth_ex(uint8_t *o, const uint8_t *d, const uint8_t *s, uint16_t type,
                         const void *pl, size_t plen)
{
    memcpy(o, d, 6);
    memcpy(o + 6, s, 6);
    w16(o + 12, type);
    if (plen)
        memmove(o + 14, pl, plen);
    return 14 + plen;
}

static size_t put_eth(uint8_t *o, uint16_t type, const void *pl, size_t plen)
{
    return put_eth_ex(o, MAC_D, MAC_S, type, pl, plen);
}

/* IPv4 + TCP carrying HTTP. */
static size_t tcp4(uint8_t *o, const addrs *a)
{
    uint8_t t[256];
    size_t n = put_tcp(t, a, HTTP, HTTP_LEN);
    return put_ip4(o, a, 6, t, n);
}

static size_t tcp6(uint8_t *o, const addrs *a)
{
    uint8_t t[256];
    size_t n = put_tcp(t, a, HTTP, HTTP_LEN);
    return put_ip6(o, a, 6, t, n);
}

static size_t eth_tcp4(uint8_t *o)
{
    uint8_t ip[512];
    size_t n = tcp4(ip, &A4);
    return put_eth(o, 0x0800, ip, n);
}

/* ---- decoder helpers ---- */

static ps_decoder *mkdec_ex(int csum, uint32_t dedup_us, uint32_t frag_n, uint32_t frag_ms,
                            uint32_t depth)
{
    ps_decode_config cfg;
    ps_decode_config_default(&cfg);
    cfg.checksum_mode = csum;
    cfg.dedup_window_us = dedup_us;
    cfg.frag_max_datagrams = frag_n;
    cfg.frag_timeout_ms = frag_ms;
    cfg.max_tunnel_depth = depth;
    ps_decoder *d = ps_decoder_new(&cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static ps_decoder *mkdec(void)
{
    return mkdec_ex(PS_CSUM_YES, 0, 16, 30000, 3);
}

static uint64_t anom(ps_decoder *d, int a)
{
    return ps_decoder_stats(d)->anomalies[a];
}

static uint64_t total_anom(ps_decoder *d)
{
    uint64_t t = 0;
    for (int i = 0; i < PS_DA_MAX; i++)
        t += anom(d, i);
    return t;
}

/* Decodes a private, exactly-sized copy so ASan sees any overread. */
static int dec_at(ps_decoder *d, int lt, ps_time_us ts, const uint8_t *f, size_t n, ps_packet *p)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, f, n);
    int rc = ps_decode(d, lt, ts, copy, (uint32_t)n, (uint32_t)n, p);
    if (rc == PS_OK && p->payload_len) {
        /* Touch the payload so ASan checks the pointer. */
        volatile uint8_t x = p->payload[p->payload_len - 1];
        (void)x;
    }
    /* Payload pointers into the frame are not used after free below. */
    static uint8_t keep[70000];
    if (rc == PS_OK && p->payload >= copy && p->payload < copy + n) {
        memcpy(keep, copy, n);
        p->payload = keep + (p->payload - copy);
        if (p->tcp_opts)
            p->tcp_opts = keep + (p->tcp_opts - copy);
    }
    free(copy);
    return rc;
}

static int dec(ps_decoder *d, int lt, const uint8_t *f, size_t n, ps_packet *p)
{
    return dec_at(d, lt, 0, f, n, p);
}

static void expect_http4(const ps_packet *p, const addrs *a)
{
    CU_ASSERT_EQUAL(p->ip_version, 4);
    CU_ASSERT_EQUAL(p->src.family, 4);
    CU_ASSERT_EQUAL(memcmp(p->src.bytes, a->src, 4), 0);
    CU_ASSERT_EQUAL(memcmp(p->dst.bytes, a->dst, 4), 0);
    CU_ASSERT_EQUAL(p->ip_proto, 6);
    CU_ASSERT_EQUAL(p->sport, 40000);
    CU_ASSERT_EQUAL(p->dport, 2375);
    CU_ASSERT_EQUAL(p->payload_len, HTTP_LEN);
    CU_ASSERT(p->payload && memcmp(p->payload, HTTP, HTTP_LEN) == 0);
}

static void expect_http6(const ps_packet *p, const addrs *a)
{
    CU_ASSERT_EQUAL(p->ip_version, 6);
    CU_ASSERT_EQUAL(p->src.family, 6);
    CU_ASSERT_EQUAL(memcmp(p->src.bytes, a->src, 16), 0);
    CU_ASSERT_EQUAL(memcmp(p->dst.bytes, a->dst, 16), 0);
    CU_ASSERT_EQUAL(p->ip_proto, 6);
    CU_ASSERT_EQUAL(p->dport, 2375);
    CU_ASSERT_EQUAL(p->payload_len, HTTP_LEN);
    CU_ASSERT(p->payload && memcmp(p->payload, HTTP, HTTP_LEN) == 0);
}

/* ---- tests ---- */

static void test_config_and_names(void)
{
    ps_decode_config c;
    memset(&c, 0xff, sizeof c);
    ps_decode_config_default(&c);
    CU_ASSERT_EQUAL(c.checksum_mode, PS_CSUM_AUTO);
    CU_ASSERT_EQUAL(c.max_tunnel_depth, 3);
    CU_ASSERT_EQUAL(c.frag_max_datagrams, 1024);
    CU_ASSERT_EQUAL(c.frag_timeout_ms, 30000);
    CU_ASSERT_EQUAL(c.dedup_window_us, 2000);
    CU_ASSERT_EQUAL(c.dedup_slots, 4096);
    for (int i = 0; i < PS_DA_MAX; i++) {
        const char *n = ps_decode_anomaly_name(i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(n);
        CU_ASSERT_EQUAL(strncmp(n, "decode.", 7), 0);
        CU_ASSERT_STRING_NOT_EQUAL(n, "decode.unknown");
        for (int j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(n, ps_decode_anomaly_name(j));
    }
    CU_ASSERT_STRING_EQUAL(ps_decode_anomaly_name(PS_DA_IPV4_BAD_CHECKSUM),
                           "decode.ipv4.bad_checksum");
    CU_ASSERT_STRING_EQUAL(ps_decode_anomaly_name(PS_DA_FRAG_OVERLAP), "decode.frag.overlap");
    CU_ASSERT_STRING_EQUAL(ps_decode_anomaly_name(PS_DA_DUPLICATE), "decode.duplicate");
    CU_ASSERT_STRING_EQUAL(ps_decode_anomaly_name(-1), "decode.unknown");
    CU_ASSERT_STRING_EQUAL(ps_decode_anomaly_name(PS_DA_MAX), "decode.unknown");
    int ok[] = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CU_ASSERT(ps_linktype_supported(ok[i]));
    CU_ASSERT_FALSE(ps_linktype_supported(105));
    CU_ASSERT_FALSE(ps_linktype_supported(-1));
    ps_decoder *d = ps_decoder_new(NULL);
    CU_ASSERT_PTR_NOT_NULL(d);
    ps_decoder_free(d);
    ps_decoder_free(NULL);
}

static void test_ethernet_tcp4(void)
{
    ps_decoder *d = mkdec();
    uint8_t f[512];
    size_t n = eth_tcp4(f);
    ps_packet p;
    CU_ASSERT_EQUAL_FATAL(dec_at(d, PS_LINK_ETHERNET, 777, f, n, &p), PS_OK);
    expect_http4(&p, &A4);
    CU_ASSERT_EQUAL(p.ts, 777);
    CU_ASSERT_EQUAL(p.caplen, n);
    CU_ASSERT_EQUAL(p.wirelen, n);
    CU_ASSERT_EQUAL(memcmp(p.eth_dst, MAC_D, 6), 0);
    CU_ASSERT_EQUAL(memcmp(p.eth_src, MAC_S, 6), 0);
    CU_ASSERT_EQUAL(p.vlan_count, 0);
    CU_ASSERT_EQUAL(p.tunnel_depth, 0);
    CU_ASSERT_EQUAL(p.ttl, 64);
    CU_ASSERT_EQUAL(p.tos, 0x10);
    CU_ASSERT(p.df);
    CU_ASSERT_FALSE(p.reassembled);
    CU_ASSERT_EQUAL(p.ip_id, 0x1234);
    CU_ASSERT_EQUAL(p.ip_hdr_len, 20);
    CU_ASSERT_EQUAL(p.ip_total_len, n - 14);
    CU_ASSERT_EQUAL(p.seq, 1000);
    CU_ASSERT_EQUAL(p.ack, 2000);
    CU_ASSERT_EQUAL(p.tcp_flags, PS_TCP_PSH | PS_TCP_ACK);
    CU_ASSERT_EQUAL(p.window, 65535);
    CU_ASSERT_EQUAL(p.urg_ptr, 7);
    CU_ASSERT_EQUAL(p.tcp_opts_len, 4);
    CU_ASSERT(p.tcp_opts && memcmp(p.tcp_opts, MSS_OPT, 4) == 0);
    /* Ethernet padding after the IP datagram is not payload. */
    memset(f + n, 0xee, 10);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, f, n + 10, &p), PS_OK);
    CU_ASSERT_EQUAL(p.payload_len, HTTP_LEN);
    const ps_decode_stats *st = ps_decoder_stats(d);
    CU_ASSERT_EQUAL(st->frames, 2);
    CU_ASSERT_EQUAL(st->decoded, 2);
    CU_ASSERT_EQUAL(total_anom(d), 0);
    ps_decoder_free(d);
}

static void test_ethernet_tcp6(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip[512], f[600];
    size_t n = put_eth(f, 0x86dd, ip, tcp6(ip, &A6));
    ps_packet p;
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_ETHERNET, f, n, &p), PS_OK);
    expect_http6(&p, &A6);
    CU_ASSERT_EQUAL(p.ttl, 55);
    CU_ASSERT_EQUAL(p.tos, 0x02);
    CU_ASSERT_EQUAL(p.ip_hdr_len, 40);
    CU_ASSERT_EQUAL(p.ip_total_len, n - 14);
    CU_ASSERT_FALSE(p.df);
    ps_decoder_free(d);
}

static void test_vlan_qinq(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip[512], t[600], f[700];
    size_t ipn = tcp4(ip, &A4);
    ps_packet p;

    /* One 802.1Q tag. */
    w16(t, 0x2000 | 100);
    w16(t + 2, 0x0800);
    memcpy(t + 4, ip, ipn);
    size_t n = put_eth(f, 0x8100, t, ipn + 4);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.vlan_count, 1);
    CU_ASSERT_EQUAL(p.vlan[0], 100);
    expect_http4(&p, &A4);

    /* 802.1ad outer + 802.1Q inner. */
    w16(t, 200);
    w16(t + 2, 0x8100);
    w16(t + 4, 300);
    w16(t + 6, 0x0800);
    memcpy(t + 8, ip, ipn);
    n = put_eth(f, 0x88a8, t, ipn + 8);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.vlan_count, 2);
    CU_ASSERT_EQUAL(p.vlan[0], 200);
    CU_ASSERT_EQUAL(p.vlan[1], 300);
    expect_http4(&p, &A4);

    /* Three tags: one too many. */
    w16(t, 1);
    w16(t + 2, 0x8100);
    w16(t + 4, 2);
    w16(t + 6, 0x8100);
    w16(t + 8, 3);
    w16(t + 10, 0x0800);
    memcpy(t + 12, ip, ipn);
    n = put_eth(f, 0x88a8, t, ipn + 12);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_VLAN_TOO_DEEP), 1);
    ps_decoder_free(d);
}

static void test_mpls(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip[512], t[700], f[800];
    size_t ipn = tcp4(ip, &A4);
    ps_packet p;

    /* Two labels, bottom of stack on the second. */
    w32(t, (16 << 12) | 64);
    w32(t + 4, (17 << 12) | 0x100 | 64);
    memcpy(t + 8, ip, ipn);
    size_t n = put_eth(f, 0x8847, t, ipn + 8);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &A4);

    /* IPv6 under one label. */
    size_t ip6n = tcp6(ip, &A6);
    w32(t, (18 << 12) | 0x100 | 64);
    memcpy(t + 4, ip, ip6n);
    n = put_eth(f, 0x8847, t, ip6n + 4);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http6(&p, &A6);

    /* Pseudowire: control word then Ethernet. */
    uint8_t inner[700];
    ipn = tcp4(ip, &B4);
    size_t in = put_eth_ex(inner, MAC_ID, MAC_IS, 0x0800, ip, ipn);
    w32(t, (19 << 12) | 0x100 | 64);
    w32(t + 4, 0);
    memcpy(t + 8, inner, in);
    n = put_eth(f, 0x8847, t, in + 8);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);
    CU_ASSERT_EQUAL(memcmp(p.eth_src, MAC_S, 6), 0);

    /* Unknown payload nibble. */
    w32(t, (19 << 12) | 0x100 | 64);
    t[4] = 0x50;
    n = put_eth(f, 0x8847, t, 40);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_LINK_UNKNOWN_ETHERTYPE), 1);

    /* Eight labels are fine, nine are too deep. */
    ipn = tcp4(ip, &A4);
    for (int labels = 8; labels <= 9; labels++) {
        for (int i = 0; i < labels; i++)
            w32(t + 4 * i, (uint32_t)(20 + i) << 12 | (i == labels - 1 ? 0x100u : 0u) | 64);
        memcpy(t + 4 * labels, ip, ipn);
        n = put_eth(f, 0x8847, t, ipn + 4 * (size_t)labels);
        CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), labels == 8 ? PS_OK : PS_ERR_SKIP);
    }
    CU_ASSERT_EQUAL(anom(d, PS_DA_MPLS_TOO_DEEP), 1);
    ps_decoder_free(d);
}

static void test_sll_sll2(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip[512], f[600];
    size_t ipn = tcp4(ip, &A4);
    ps_packet p;

    memset(f, 0, 16);
    w16(f, 0);     /* to us */
    w16(f + 2, 1); /* ARPHRD_ETHER */
    w16(f + 4, 6);
    memcpy(f + 6, MAC_S, 6);
    w16(f + 14, 0x0800);
    memcpy(f + 16, ip, ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_SLL, f, 16 + ipn, &p), PS_OK);
    expect_http4(&p, &A4);
    CU_ASSERT_EQUAL(p.eth_src[5], 0);

    size_t ip6n = tcp6(ip, &A6);
    memset(f, 0, 20);
    w16(f, 0x86dd);
    w32(f + 4, 3); /* ifindex */
    w16(f + 8, 1);
    f[11] = 6;
    memcpy(f + 12, MAC_S, 6);
    memcpy(f + 20, ip, ip6n);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_SLL2, f, 20 + ip6n, &p), PS_OK);
    expect_http6(&p, &A6);

    /* Netlink on "any" is not IP. */
    w16(f, 0x0800);
    w16(f + 8, 824);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_SLL2, f, 20 + ip6n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->non_ip, 1);
    ps_decoder_free(d);
}

static void test_null_loop_raw(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip4[512], ip6[512], f[600];
    size_t n4 = tcp4(ip4, &A4), n6 = tcp6(ip6, &A6);
    ps_packet p;
    struct {
        int lt;
        uint8_t af[4];
        int v;
    } cases[] = {
        {PS_LINK_NULL, {2, 0, 0, 0}, 4},  {PS_LINK_NULL, {0, 0, 0, 2}, 4},
        {PS_LINK_NULL, {30, 0, 0, 0}, 6}, {PS_LINK_NULL, {10, 0, 0, 0}, 6},
        {PS_LINK_NULL, {0, 0, 0, 28}, 6}, {PS_LINK_LOOP, {0, 0, 0, 2}, 4},
        {PS_LINK_LOOP, {0, 0, 0, 24}, 6}, {PS_LINK_NULL, {7, 0, 0, 0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(f, cases[i].af, 4);
        bool six = cases[i].v == 6;
        memcpy(f + 4, six ? ip6 : ip4, six ? n6 : n4);
        int rc = dec(d, cases[i].lt, f, 4 + (six ? n6 : n4), &p);
        if (cases[i].v == 0) {
            CU_ASSERT_EQUAL(rc, PS_ERR_SKIP);
        } else {
            CU_ASSERT_EQUAL(rc, PS_OK);
            CU_ASSERT_EQUAL(p.ip_version, cases[i].v);
        }
    }
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->non_ip, 1);

    int raws[] = {PS_LINK_RAW, PS_LINK_RAW_OLD, PS_LINK_RAW_OLD2};
    for (size_t i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(dec(d, raws[i], ip4, n4, &p), PS_OK);
        expect_http4(&p, &A4);
        CU_ASSERT_EQUAL(dec(d, raws[i], ip6, n6, &p), PS_OK);
        expect_http6(&p, &A6);
    }
    CU_ASSERT_EQUAL(dec(d, PS_LINK_IPV4, ip4, n4, &p), PS_OK);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_IPV6, ip6, n6, &p), PS_OK);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_IPV4, ip6, n6, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_VERSION), 1);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_IPV6, ip4, n4 < 40 ? 40 : n4, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_BAD_VERSION), 1);
    ip4[0] = 0x50;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip4, n4, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_VERSION), 2);
    ps_decoder_free(d);
}

static void test_non_ip_and_unsupported(void)
{
    ps_decoder *d = mkdec();
    uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1}, f[100];
    size_t n = put_eth(f, 0x0806, arp, sizeof arp);
    ps_packet p;
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    n = put_eth(f, 0x88cc, arp, sizeof arp); /* LLDP */
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    n = put_eth(f, 46, arp, sizeof arp); /* 802.3 length */
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->non_ip, 3);
    CU_ASSERT_EQUAL(total_anom(d), 0);
    CU_ASSERT_EQUAL(dec(d, 147, f, n, &p), PS_ERR_UNSUPPORTED);
    CU_ASSERT_EQUAL(ps_decode(d, 1, 0, NULL, 0, 0, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_LINK_TRUNCATED), 1);

    /* PPPoE session carrying IPv4. */
    uint8_t ip[512], t[600];
    size_t ipn = tcp4(ip, &A4);
    t[0] = 0x11;
    t[1] = 0;
    w16(t + 2, 0x1234);
    w16(t + 4, (uint32_t)(ipn + 2));
    w16(t + 6, 0x0021);
    memcpy(t + 8, ip, ipn);
    uint8_t big[700];
    n = put_eth(big, 0x8864, t, 8 + ipn);
    CU_ASSERT_EQUAL(dec(d, 1, big, n, &p), PS_OK);
    expect_http4(&p, &A4);
    ps_decoder_free(d);
}

/* Outer Ethernet/IPv4/UDP(dport) around `inner`. */
static size_t wrap_udp4(uint8_t *f, uint16_t dport, const uint8_t *inner, size_t in)
{
    uint8_t u[2048], ip[2048];
    size_t un = put_udp(u, &A4, 50000, dport, inner, in);
    size_t ipn = put_ip4(ip, &A4, 17, u, un);
    return put_eth(f, 0x0800, ip, ipn);
}

static size_t inner_eth_tcp4(uint8_t *o)
{
    uint8_t ip[512];
    size_t ipn = tcp4(ip, &B4);
    return put_eth_ex(o, MAC_ID, MAC_IS, 0x0800, ip, ipn);
}

static size_t vxlan_frame(uint8_t *f)
{
    uint8_t v[1024];
    memset(v, 0, 8);
    v[0] = 0x08;
    v[6] = 0x42; /* VNI */
    size_t n = inner_eth_tcp4(v + 8);
    return wrap_udp4(f, 4789, v, 8 + n);
}

static void test_vxlan(void)
{
    ps_decoder *d = mkdec();
    uint8_t f[2048], v[1024];
    ps_packet p;
    size_t n = vxlan_frame(f);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);
    CU_ASSERT_EQUAL(memcmp(p.eth_src, MAC_S, 6), 0);
    CU_ASSERT_EQUAL(memcmp(p.eth_dst, MAC_D, 6), 0);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->tunnels, 1);

    /* Without the I flag it is just UDP to 4789. */
    memset(v, 0, 8);
    size_t in = inner_eth_tcp4(v + 8);
    n = wrap_udp4(f, 4789, v, 8 + in);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_proto, 17);
    CU_ASSERT_EQUAL(p.dport, 4789);
    CU_ASSERT_EQUAL(p.payload_len, 8 + in);
    CU_ASSERT_EQUAL(p.tunnel_depth, 0);

    /* Nor with the last reserved byte set. */
    v[0] = 0x08;
    v[7] = 1;
    n = wrap_udp4(f, 4789, v, 8 + in);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.dport, 4789);
    CU_ASSERT_EQUAL(p.tunnel_depth, 0);
    v[7] = 0;

    /* VXLAN over IPv6 with a zero UDP checksum (RFC 6935). */
    uint8_t u[2048], ip6[2048];
    size_t un = put_udp(u, &A6, 50000, 4789, v, 8 + in);
    w16(u + 6, 0);
    size_t ipn = put_ip6(ip6, &A6, 17, u, un);
    n = put_eth(f, 0x86dd, ip6, ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    /* ... but a zero checksum on ordinary IPv6 UDP is bad. */
    un = put_udp(u, &A6, 50000, 53, v, 8);
    w16(u + 6, 0);
    ipn = put_ip6(ip6, &A6, 17, u, un);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip6, ipn, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_UDP_BAD_CHECKSUM), 1);
    ps_decoder_free(d);
}

static void test_geneve(void)
{
    ps_decoder *d = mkdec();
    uint8_t f[2048], g[1024], ip[512];
    ps_packet p;
    /* Two 4-byte option words, Ethernet payload. */
    memset(g, 0, 16);
    g[0] = 2;
    w16(g + 2, 0x6558);
    g[6] = 7;
    memset(g + 8, 0xab, 8);
    size_t in = inner_eth_tcp4(g + 16);
    size_t n = wrap_udp4(f, 6081, g, 16 + in);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);

    /* IPv6 payload without options. */
    memset(g, 0, 8);
    w16(g + 2, 0x86dd);
    size_t ipn = tcp6(ip, &B6);
    memcpy(g + 8, ip, ipn);
    n = wrap_udp4(f, 6081, g, 8 + ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http6(&p, &B6);

    /* Options longer than the packet. */
    g[0] = 0x3f;
    n = wrap_udp4(f, 6081, g, 40);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_MALFORMED), 1);
    ps_decoder_free(d);
}

static size_t gre_frame(uint8_t *f, uint16_t flags, uint16_t proto, const uint8_t *hdr, size_t hlen,
                        const uint8_t *inner, size_t in)
{
    uint8_t g[2048], ip[2048];
    size_t n = 4;
    w16(g, flags);
    w16(g + 2, proto);
    for (int bit = 0; bit < 3; bit++)
        if (flags & (0x8000 >> (bit == 0 ? 0 : bit + 1))) {
            w32(g + n, 0x01020304);
            n += 4;
        }
    if (hlen)
        memcpy(g + n, hdr, hlen);
    if (in)
        memcpy(g + n + hlen, inner, in);
    size_t ipn = put_ip4(ip, &A4, 47, g, n + hlen + in);
    return put_eth(f, 0x0800, ip, ipn);
}

static void test_gre_erspan(void)
{
    ps_decoder *d = mkdec();
    uint8_t f[2048], ip[512], eth[600], h[20];
    ps_packet p;
    size_t ipn = tcp4(ip, &B4);
    size_t en = inner_eth_tcp4(eth);

    size_t n = gre_frame(f, 0, 0x0800, NULL, 0, ip, ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);

    n = gre_frame(f, 0x8000 | 0x2000 | 0x1000, 0x0800, NULL, 0, ip, ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);

    n = gre_frame(f, 0x2000, 0x6558, NULL, 0, eth, en);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(memcmp(p.eth_src, MAC_S, 6), 0);

    /* ERSPAN type II: sequence bit + 8-byte header, version 1. */
    memset(h, 0, sizeof h);
    h[0] = 0x10;
    n = gre_frame(f, 0x1000, 0x88be, h, 8, eth, en);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    /* ERSPAN type I: no sequence bit, no header. */
    n = gre_frame(f, 0, 0x88be, NULL, 0, eth, en);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    /* Type II with a wrong version. */
    h[0] = 0x20;
    n = gre_frame(f, 0x1000, 0x88be, h, 8, eth, en);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_MALFORMED), 1);

    /* ERSPAN type III without and with the platform subheader. */
    memset(h, 0, sizeof h);
    h[0] = 0x20;
    n = gre_frame(f, 0x1000, 0x22eb, h, 12, eth, en);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    h[11] = 0x01;
    memset(h + 12, 0xcc, 8);
    n = gre_frame(f, 0x1000, 0x22eb, h, 20, eth, en);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    /* Frame type 2 carries IP directly. */
    h[10] = 2 << 2;
    n = gre_frame(f, 0x1000, 0x22eb, h, 20, ip, ipn);
    CU_ASSERT_EQUAL_FATAL(dec(d, 1, f, n, &p), PS_OK);
    expect_http4(&p, &B4);
    /* O bit set but no room for the subheader. */
    h[10] = 0;
    n = gre_frame(f, 0x1000, 0x22eb, h, 12, NULL, 0);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_MALFORMED), 2);

    /* Routing bit is rejected (as Linux does); version 1 is PPTP. */
    n = gre_frame(f, 0x4000, 0x0800, NULL, 0, ip, ipn);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_MALFORMED), 3);
    n = gre_frame(f, 0x0001, 0x880b, NULL, 0, ip, ipn);
    CU_ASSERT_EQUAL(dec(d, 1, f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->non_ip, 1);
    ps_decoder_free(d);
}

static void test_ip_in_ip(void)
{
    ps_decoder *d = mkdec();
    uint8_t in4[512], in6[512], ip[1024];
    ps_packet p;
    size_t n4 = tcp4(in4, &B4), n6 = tcp6(in6, &B6);

    size_t n = put_ip4(ip, &A4, 4, in4, n4);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);
    n = put_ip4(ip, &A4, 41, in6, n6);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http6(&p, &B6);
    CU_ASSERT_EQUAL(p.ip_id, 0);
    CU_ASSERT_FALSE(p.df);
    n = put_ip6(ip, &A6, 41, in6, n6);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http6(&p, &B6);
    n = put_ip6(ip, &A6, 4, in4, n4);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http4(&p, &B4);
    CU_ASSERT_EQUAL(p.ttl, 64);
    ps_decoder_free(d);
}

static void test_tunnel_depth(void)
{
    ps_decoder *d = mkdec(); /* depth 3 */
    uint8_t a[2048], b[2048];
    ps_packet p;
    size_t n = tcp4(a, &B4);
    for (int layers = 1; layers <= 4; layers++) {
        n = put_ip4(b, &A4, 4, a, n);
        memcpy(a, b, n);
        int rc = dec(d, PS_LINK_RAW, a, n, &p);
        CU_ASSERT_EQUAL(rc, layers <= 3 ? PS_OK : PS_ERR_SKIP);
        if (rc == PS_OK) {
            CU_ASSERT_EQUAL(p.tunnel_depth, layers);
            expect_http4(&p, &B4);
        }
    }
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_TOO_DEEP), 1);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->tunnels, 1 + 2 + 3);
    ps_decoder_free(d);

    d = mkdec_ex(PS_CSUM_YES, 0, 4, 1000, 0);
    n = vxlan_frame(a);
    CU_ASSERT_EQUAL(dec(d, 1, a, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TUNNEL_TOO_DEEP), 1);
    ps_decoder_free(d);
}

/* IPv6 with `count` extension headers of kind `kind` in front of TCP. */
static size_t ipv6_ext(uint8_t *o, const uint8_t *kinds, int count)
{
    uint8_t t[256], x[1024];
    size_t tn = put_tcp(t, &A6, HTTP, HTTP_LEN);
    size_t xn = 0;
    for (int i = 0; i < count; i++) {
        uint8_t next = i + 1 < count ? kinds[i + 1] : 6;
        size_t l = kinds[i] == 51 ? 12 : 8;
        memset(x + xn, 0, l);
        x[xn] = next;
        x[xn + 1] = kinds[i] == 51 ? 1 : 0;
        if (kinds[i] == 0 || kinds[i] == 60) {
            x[xn + 2] = 1; /* PadN covering the rest */
            x[xn + 3] = 4;
        }
        xn += l;
    }
    memcpy(x + xn, t, tn);
    return put_ip6(o, &A6, count ? kinds[0] : 6, x, xn + tn);
}

static void test_ipv6_ext_chain(void)
{
    ps_decoder *d = mkdec();
    uint8_t ip[2048];
    ps_packet p;
    const uint8_t mixed[] = {0, 60, 43, 51, 60};
    size_t n = ipv6_ext(ip, mixed, 5);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http6(&p, &A6);

    /* Eight extension headers are allowed, nine are not. */
    uint8_t many[9];
    memset(many, 60, sizeof many);
    n = ipv6_ext(ip, many, 8);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    n = ipv6_ext(ip, many, 9);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_TOO_MANY_EXT), 1);

    /* Hop-by-hop anywhere but first. */
    const uint8_t late_hbh[] = {60, 0};
    n = ipv6_ext(ip, late_hbh, 2);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_BAD_EXT_CHAIN), 1);

    /* Extension header longer than the payload. */
    const uint8_t one[] = {60};
    n = ipv6_ext(ip, one, 1);
    ip[41] = 200;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_BAD_EXT_CHAIN), 2);

    /* Atomic fragment: offset 0, M clear - decoded in place. */
    const uint8_t frag[] = {44};
    n = ipv6_ext(ip, frag, 1);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http6(&p, &A6);
    CU_ASSERT_FALSE(p.reassembled);

    /* No next header: an empty packet, not an error. */
    n = put_ip6(ip, &A6, 59, NULL, 0);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_proto, 59);
    CU_ASSERT_EQUAL(p.payload_len, 0);

    /* Routing header with segments left: the TCP checksum is computed to
     * the final hop, so it is not checked here. */
    const uint8_t rt[] = {43};
    n = ipv6_ext(ip, rt, 1);
    ip[40 + 3] = 1;
    ip[40 + 8 + 16] ^= 0x55; /* corrupt the TCP checksum */
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    ip[40 + 3] = 0;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 1);
    ps_decoder_free(d);
}

static void test_ipv4_malformed(void)
{
    ps_decoder *d = mkdec();
    uint8_t t[256], ip[512];
    ps_packet p;
    size_t tn = put_tcp(t, &A4, HTTP, HTTP_LEN);
    size_t n = put_ip4(ip, &A4, 6, t, tn);

    /* Header length below 20. */
    ip[0] = 0x44;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_HLEN), 1);
    /* Total length below the header length. */
    n = put_ip4(ip, &A4, 6, t, tn);
    w16(ip + 2, 19);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_TOTAL_LEN), 1);
    /* Total length past the capture: N ok, N+1 truncated. */
    w16(ip + 2, (uint32_t)n);
    w16(ip + 10, 0);
    w16(ip + 10, fold(sum16(0, ip, 20)));
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    w16(ip + 2, (uint32_t)n + 1);
    w16(ip + 10, 0);
    w16(ip + 10, fold(sum16(0, ip, 20)));
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_TRUNCATED), 1);

    /* Options: NOP, record route (len 7, ptr 4), EOL - fine. */
    const uint8_t good[8] = {1, 7, 7, 4, 0, 0, 0, 0};
    n = put_ip4_ex(ip, &A4, 6, 64, 1, 0, good, 8, t, tn);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_hdr_len, 28);
    CU_ASSERT_EQUAL(p.payload_len, HTTP_LEN);
    const uint8_t bad[][4] = {{1, 1, 1, 0x44}, {0x44, 0, 0, 0}, {0x44, 5, 5, 0}, {7, 3, 3, 0}};
    for (size_t i = 0; i < 4; i++) {
        n = put_ip4_ex(ip, &A4, 6, 64, 1, 0, bad[i], 4, t, tn);
        CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    }
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_OPTIONS), 4);

    /* Bad header checksum. */
    n = put_ip4(ip, &A4, 6, t, tn);
    ip[10] ^= 1;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_CHECKSUM), 1);
    ps_decoder_free(d);
}

static void test_tcp_udp_limits(void)
{
    ps_decoder *d = mkdec();
    uint8_t t[256], ip[512];
    ps_packet p;
    const uint8_t opts[12] = {1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2};

    /* Data offset equal to the segment (N): header only, no payload. */
    size_t tn = put_tcp_ex(t, &A4, PS_TCP_SYN, opts, 12, NULL, 0);
    size_t n = put_ip4(ip, &A4, 6, t, tn);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.tcp_opts_len, 12);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(p.tcp_flags, PS_TCP_SYN);
    /* One word past it (N+1). */
    ip[20 + 12] = (uint8_t)(((tn / 4) + 1) << 4);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_HLEN), 1);
    ip[20 + 12] = 4 << 4;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_HLEN), 2);
    /* ECE/CWR are masked out of tcp_flags. */
    tn = put_tcp_ex(t, &A4, 0xc2, NULL, 0, NULL, 0);
    n = put_ip4(ip, &A4, 6, t, tn);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.tcp_flags, PS_TCP_SYN);
    CU_ASSERT_PTR_NULL(p.tcp_opts);
    /* Fewer than 20 bytes of TCP. */
    n = put_ip4(ip, &A4, 6, t, 19);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_TRUNCATED), 1);

    /* UDP: length field at the IP payload (N) and one past it (N+1). */
    size_t un = put_udp(t, &A4, 1000, 53, "abcd", 4);
    n = put_ip4(ip, &A4, 17, t, un);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.payload_len, 4);
    CU_ASSERT_EQUAL(p.sport, 1000);
    w16(ip + 20 + 4, 13);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_UDP_BAD_LEN), 1);
    w16(ip + 20 + 4, 7);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_UDP_BAD_LEN), 2);
    /* Zero checksum on IPv4 means none. */
    un = put_udp(t, &A4, 1000, 53, "abcd", 4);
    w16(t + 6, 0);
    n = put_ip4(ip, &A4, 17, t, un);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    /* Bad UDP checksum. */
    w16(t + 6, 0x1234);
    n = put_ip4(ip, &A4, 17, t, un);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_UDP_BAD_CHECKSUM), 1);
    n = put_ip4(ip, &A4, 17, t, 7);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_UDP_TRUNCATED), 1);
    /* Other protocols are delivered with their payload. */
    n = put_ip4(ip, &A4, 1, "\x08\x00\xf7\xff", 4);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_proto, 1);
    CU_ASSERT_EQUAL(p.payload_len, 4);
    CU_ASSERT_EQUAL(p.sport, 0);
    ps_decoder_free(d);
}

/* One IPv4 fragment of `l4` (already a full UDP/TCP segment). */
static size_t frag4(uint8_t *o, uint16_t id, const uint8_t *l4, size_t off, size_t len, bool more)
{
    uint16_t fr = (uint16_t)((off / 8) | (more ? 0x2000 : 0));
    return put_ip4_ex(o, &A4, 17, 64, id, fr, NULL, 0, l4 + off, len);
}

static uint8_t big_udp[3008];

static size_t make_big_udp(const addrs *a)
{
    uint8_t pl[3000];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7 + 3);
    return put_udp(big_udp, a, 5353, 9999, pl, sizeof pl);
}

static void expect_big_udp(const ps_packet *p)
{
    CU_ASSERT(p->reassembled);
    CU_ASSERT_EQUAL(p->ip_proto, 17);
    CU_ASSERT_EQUAL(p->sport, 5353);
    CU_ASSERT_EQUAL(p->dport, 9999);
    CU_ASSERT_EQUAL_FATAL(p->payload_len, 3000);
    CU_ASSERT_EQUAL(memcmp(p->payload, big_udp + 8, 3000), 0);
}

/* Feeds fragments (offset,len) of big_udp in the given order. */
static int feed4(ps_decoder *d, uint16_t id, const size_t (*fr)[2], size_t nfr, ps_time_us ts,
                 ps_packet *p)
{
    int rc = PS_ERR_SKIP;
    uint8_t ip[2048];
    for (size_t i = 0; i < nfr; i++) {
        bool more = fr[i][0] + fr[i][1] < 3008;
        size_t n = frag4(ip, id, big_udp, fr[i][0], fr[i][1], more);
        rc = dec_at(d, PS_LINK_RAW, ts, ip, n, p);
        if (i + 1 < nfr && rc != PS_ERR_SKIP)
            return 99;
    }
    return rc;
}

static void test_frag4(void)
{
    ps_decoder *d = mkdec();
    ps_packet p;
    make_big_udp(&A4);
    static const size_t in_order[3][2] = {{0, 1480}, {1480, 1480}, {2960, 48}};
    static const size_t shuffled[3][2] = {{2960, 48}, {0, 1480}, {1480, 1480}};
    static const size_t dup[4][2] = {{0, 1480}, {0, 1480}, {2960, 48}, {1480, 1480}};
    static const size_t small[5][2] = {{1000, 1000}, {0, 504}, {2000, 1008}, {504, 496}};

    CU_ASSERT_EQUAL_FATAL(feed4(d, 1, in_order, 3, 0, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(p.ip_total_len, 3028);
    CU_ASSERT_EQUAL(p.ttl, 64);
    CU_ASSERT_EQUAL(feed4(d, 2, shuffled, 3, 0, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(feed4(d, 3, dup, 4, 0, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(feed4(d, 4, small, 4, 0, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(total_anom(d), 0);
    const ps_decode_stats *st = ps_decoder_stats(d);
    CU_ASSERT_EQUAL(st->fragments, 14);
    CU_ASSERT_EQUAL(st->reassembled, 4);

    /* Partial overlap drops the whole datagram (Linux since FragmentSmack). */
    static const size_t overlap[4][2] = {{0, 1480}, {1000, 1000}, {1480, 1480}, {2960, 48}};
    CU_ASSERT_EQUAL(feed4(d, 5, overlap, 4, 0, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_OVERLAP), 1);

    /* A contained copy with different bytes: first copy wins, counted. */
    uint8_t ip[2048];
    size_t n = frag4(ip, 6, big_udp, 0, 1480, true);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    big_udp[100] ^= 0xff;
    n = frag4(ip, 6, big_udp, 0, 1480, true);
    big_udp[100] ^= 0xff;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_OVERLAP), 2);
    CU_ASSERT_EQUAL(feed4(d, 6, in_order + 1, 2, 0, &p), PS_OK);
    expect_big_udp(&p);

    /* Two different last fragments: inconsistent, dropped. */
    static const size_t two_ends[3][2] = {{2960, 48}, {2960, 40}, {0, 1480}};
    CU_ASSERT_EQUAL(feed4(d, 7, two_ends, 1, 0, &p), PS_ERR_SKIP);
    n = put_ip4_ex(ip, &A4, 17, 64, 7, 2960 / 8, NULL, 0, big_udp + 2960, 40);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_OVERLAP), 3);

    /* Too big: offset 65528 with 16 bytes. */
    n = put_ip4_ex(ip, &A4, 17, 64, 8, 65528 / 8, NULL, 0, big_udp, 16);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TOO_BIG), 1);
    /* Largest legal end: 65535 - 20 header bytes. */
    n = put_ip4_ex(ip, &A4, 17, 64, 8, 65512 / 8, NULL, 0, big_udp, 3);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TOO_BIG), 1);
    n = put_ip4_ex(ip, &A4, 17, 64, 9, 65512 / 8, NULL, 0, big_udp, 4);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TOO_BIG), 2);
    ps_decoder_free(d);
}

/* An outer fragmented IP-in-IP datagram carrying the last inner fragment:
 * both reassemblies complete in one frame. */
static void test_frag_nested(void)
{
    ps_decoder *d = mkdec();
    ps_packet p;
    uint8_t in1[2048], in2[2048], f[2048];
    make_big_udp(&A4);
    size_t n1 = frag4(in1, 50, big_udp, 0, 1480, true);
    size_t n2 = frag4(in2, 50, big_udp, 1480, 3008 - 1480, false);
    size_t n = put_ip4_ex(f, &B4, 4, 64, 9, 0, NULL, 0, in1, n1);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, f, n, &p), PS_ERR_SKIP);
    n = put_ip4_ex(f, &B4, 4, 64, 10, 0x2000, NULL, 0, in2, 800);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, f, n, &p), PS_ERR_SKIP);
    n = put_ip4_ex(f, &B4, 4, 64, 10, 800 / 8, NULL, 0, in2 + 800, n2 - 800);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, f, n, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(p.tunnel_depth, 1);
    CU_ASSERT_EQUAL(memcmp(p.src.bytes, A4.src, 4), 0);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->reassembled, 2);
    /* Both slots come back: the table (16) keeps working afterwards. */
    static const size_t in_order[3][2] = {{0, 1480}, {1480, 1480}, {2960, 48}};
    for (uint16_t id = 100; id < 140; id++)
        CU_ASSERT_EQUAL(feed4(d, id, in_order, 3, 0, &p), PS_OK);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TABLE_FULL), 0);
    ps_decoder_free(d);
}

static void test_frag_timeout_and_table(void)
{
    /* 1 s timeout: the last fragment at exactly 1 s completes, 1 s + 1 us not. */
    ps_decoder *d = mkdec_ex(PS_CSUM_YES, 0, 4, 1000, 3);
    ps_packet p;
    uint8_t ip[2048];
    make_big_udp(&A4);
    static const size_t in_order[3][2] = {{0, 1480}, {1480, 1480}, {2960, 48}};
    CU_ASSERT_EQUAL(feed4(d, 1, in_order, 2, 0, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(feed4(d, 1, in_order + 2, 1, 1000000, &p), PS_OK);
    CU_ASSERT_EQUAL(feed4(d, 2, in_order, 2, 0, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(feed4(d, 2, in_order + 2, 1, 1000001, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TIMEOUT), 1);
    ps_decoder_free(d);

    /* Two slots, three datagrams: the oldest is evicted. */
    d = mkdec_ex(PS_CSUM_YES, 0, 2, 30000, 3);
    for (uint16_t id = 1; id <= 3; id++) {
        size_t n = frag4(ip, id, big_udp, 0, 1480, true);
        CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, id, ip, n, &p), PS_ERR_SKIP);
    }
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TABLE_FULL), 1);
    CU_ASSERT_EQUAL(feed4(d, 3, in_order + 1, 2, 10, &p), PS_OK);
    expect_big_udp(&p);
    CU_ASSERT_EQUAL(feed4(d, 2, in_order + 1, 2, 10, &p), PS_OK);
    CU_ASSERT_EQUAL(feed4(d, 1, in_order + 1, 2, 10, &p), PS_ERR_SKIP);
    ps_decoder_free(d);

    /* At most 64 islands per datagram: the 65th hole-making fragment drops it. */
    d = mkdec_ex(PS_CSUM_YES, 0, 2, 30000, 3);
    for (size_t k = 0; k < 65; k++) {
        size_t n = put_ip4_ex(ip, &A4, 17, 64, 77, (uint16_t)(2 * k | 0x2000), NULL, 0, big_udp, 8);
        CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
        CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TOO_BIG), k < 64 ? 0 : 1);
    }
    ps_decoder_free(d);

    /* No table at all. */
    d = mkdec_ex(PS_CSUM_YES, 0, 0, 30000, 3);
    CU_ASSERT_EQUAL(feed4(d, 1, in_order, 3, 0, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_FRAG_TABLE_FULL), 3);
    ps_decoder_free(d);
}

static void test_frag6(void)
{
    ps_decoder *d = mkdec();
    ps_packet p;
    uint8_t t[4096], ip[2048], x[2048];
    uint8_t pl[2000];
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i ^ 0x5a);
    size_t tn = put_tcp(t, &A6, pl, sizeof pl);
    const size_t cuts[][2] = {{0, 1232}, {1232, tn - 1232}};
    int order[2][2] = {{0, 1}, {1, 0}};
    for (int o = 0; o < 2; o++) {
        int rc = PS_ERR_SKIP;
        for (int k = 0; k < 2; k++) {
            const size_t *c = cuts[order[o][k]];
            /* Destination options (unfragmentable) then the fragment header. */
            memset(x, 0, 16);
            x[0] = 44;
            x[2] = 1;
            x[3] = 4;
            x[8] = 6;
            w16(x + 10, (uint32_t)(c[0] | (c[0] + c[1] < tn ? 1 : 0)));
            w32(x + 12, 0xabcdef00u + (uint32_t)o);
            memcpy(x + 16, t + c[0], c[1]);
            size_t n = put_ip6(ip, &A6, 60, x, 16 + c[1]);
            rc = dec(d, PS_LINK_RAW, ip, n, &p);
            if (k == 0)
                CU_ASSERT_EQUAL(rc, PS_ERR_SKIP);
        }
        CU_ASSERT_EQUAL_FATAL(rc, PS_OK);
        CU_ASSERT(p.reassembled);
        CU_ASSERT_EQUAL(p.ip_version, 6);
        CU_ASSERT_EQUAL(p.ip_proto, 6);
        CU_ASSERT_EQUAL(p.dport, 2375);
        CU_ASSERT_EQUAL_FATAL(p.payload_len, sizeof pl);
        CU_ASSERT_EQUAL(memcmp(p.payload, pl, sizeof pl), 0);
        CU_ASSERT_EQUAL(p.ip_total_len, 40 + 8 + tn);
    }
    CU_ASSERT_EQUAL(total_anom(d), 0);
    ps_decoder_free(d);
}

static size_t tcp4_with_csum(uint8_t *o, uint16_t seq, bool bad)
{
    uint8_t t[256];
    size_t tn = put_tcp(t, &A4, HTTP, HTTP_LEN);
    w32(t + 4, seq); /* keeps packets distinct; checksum fixed below */
    w16(t + 16, 0);
    w16(t + 16, fold(sum16(pseudo(&A4, 6, tn), t, tn)));
    if (bad)
        t[16] ^= 0x40;
    return put_ip4(o, &A4, 6, t, tn);
}

/* AUTO mode: `bad` of the first 1000 checksummed packets are invalid,
 * spread evenly so that no early prefix is "mostly bad" unless bad > 500. */
static ps_decoder *auto_run(int bad)
{
    ps_decoder *d = mkdec_ex(PS_CSUM_AUTO, 0, 4, 1000, 3);
    uint8_t ip[512];
    ps_packet p;
    for (int i = 0; i < 1000; i++) {
        bool b = ((i + 1) * bad) / 1000 != (i * bad) / 1000;
        size_t n = tcp4_with_csum(ip, (uint16_t)i, b);
        /* While sampling, invalid packets are counted but kept. */
        CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    }
    return d;
}

static void test_checksum_auto(void)
{
    uint8_t ip[512];
    ps_packet p;
    /* Exactly half bad (N): validation stays on and bad packets drop. */
    ps_decoder *d = auto_run(500);
    CU_ASSERT_FALSE(ps_decoder_stats(d)->checksum_disabled);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 500);
    size_t n = tcp4_with_csum(ip, 5000, true);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    ps_decoder_free(d);

    /* One more (N+1): offload assumed, validation off. */
    d = auto_run(501);
    CU_ASSERT(ps_decoder_stats(d)->checksum_disabled);
    CU_ASSERT(anom(d, PS_DA_TCP_BAD_CHECKSUM) > 0);
    CU_ASSERT(anom(d, PS_DA_TCP_BAD_CHECKSUM) <= 501);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    ip[10] ^= 1; /* even the IP header checksum */
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    ps_decoder_free(d);

    /* A short capture where every checksum is bad decides early (after
     * PS_CSUM_EARLY packets) and loses none of its packets. */
    d = mkdec_ex(PS_CSUM_AUTO, 0, 4, 1000, 3);
    for (int i = 0; i < 12; i++) {
        n = tcp4_with_csum(ip, (uint16_t)i, true);
        CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    }
    CU_ASSERT(ps_decoder_stats(d)->checksum_disabled);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 8);
    ps_decoder_free(d);

    /* Mostly good: bad ones are kept during the sample, dropped after it. */
    d = mkdec_ex(PS_CSUM_AUTO, 0, 4, 1000, 3);
    int dropped = 0;
    for (int i = 0; i < 2000; i++) {
        n = tcp4_with_csum(ip, (uint16_t)i, i % 10 == 0);
        if (dec(d, PS_LINK_RAW, ip, n, &p) == PS_ERR_SKIP)
            dropped++;
    }
    CU_ASSERT_EQUAL(dropped, 100);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 200);
    CU_ASSERT_FALSE(ps_decoder_stats(d)->checksum_disabled);
    ps_decoder_free(d);

    /* NO never checks. */
    d = mkdec_ex(PS_CSUM_NO, 0, 4, 1000, 3);
    n = tcp4_with_csum(ip, 1, true);
    ip[10] ^= 1;
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    ps_decoder_free(d);
}

static void test_dedup(void)
{
    ps_decoder *d = mkdec_ex(PS_CSUM_YES, 2000, 4, 1000, 3);
    uint8_t f[512], g[512];
    ps_packet p;
    size_t n = eth_tcp4(f);

    CU_ASSERT_EQUAL(dec_at(d, 1, 1000, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(dec_at(d, 1, 2999, f, n, &p), PS_ERR_SKIP); /* age window-1 */
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 1);
    CU_ASSERT_EQUAL(anom(d, PS_DA_DUPLICATE), 1);
    CU_ASSERT_EQUAL(dec_at(d, 1, 3000, f, n, &p), PS_OK);    /* age == window */
    CU_ASSERT_EQUAL(dec_at(d, 1, 1003000, f, n, &p), PS_OK); /* a retry 1 s later */

    /* The copy one router hop later: TTL and header checksum differ, and the
     * Ethernet header too. */
    memcpy(g, f, n);
    g[14 + 8]--;
    w16(g + 14 + 10, 0);
    w16(g + 14 + 10, fold(sum16(0, g + 14, 20)));
    memcpy(g, MAC_ID, 6);
    CU_ASSERT_EQUAL(dec_at(d, 1, 1003100, g, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 2);

    /* Any other byte makes it a different packet. */
    memcpy(g, f, n);
    g[n - 1] ^= 0x20; /* payload; fix the TCP checksum */
    uint8_t *t = g + 14 + 20;
    size_t tn = n - 34;
    w16(t + 16, 0);
    w16(t + 16, fold(sum16(pseudo(&A4, 6, tn), t, tn)));
    CU_ASSERT_EQUAL(dec_at(d, 1, 1003200, g, n, &p), PS_OK);
    memcpy(g, f, n);
    g[14 + 4] ^= 1; /* IP id */
    w16(g + 14 + 10, 0);
    w16(g + 14 + 10, fold(sum16(0, g + 14, 20)));
    CU_ASSERT_EQUAL(dec_at(d, 1, 1003300, g, n, &p), PS_OK);

    /* IPv6: hop limit only. */
    uint8_t ip6[512];
    size_t n6 = tcp6(ip6, &A6);
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, 2000000, ip6, n6, &p), PS_OK);
    ip6[7]--;
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, 2000500, ip6, n6, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 3);

    /* A copy stamped before the first (interfaces merged out of order) is
     * not taken for a duplicate, nor is one a whole 2^32 us later. */
    CU_ASSERT_EQUAL(dec_at(d, 1, 5000000, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(dec_at(d, 1, 4999000, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(dec_at(d, 1, 4999000 + (1ULL << 32), f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(dec_at(d, 1, 4999100 + (1ULL << 32), f, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 4);
    ps_decoder_free(d);

    /* Window 0 disables dedup. */
    d = mkdec_ex(PS_CSUM_YES, 0, 4, 1000, 3);
    CU_ASSERT_EQUAL(dec_at(d, 1, 1000, f, n, &p), PS_OK);
    CU_ASSERT_EQUAL(dec_at(d, 1, 1000, f, n, &p), PS_OK);
    ps_decoder_free(d);
}

/* Deferred TCP checksums: pending once validation is settled, verified
 * (and counted as a drop when bad) by ps_decode_tcp_csum(). */
static void test_defer_tcp_csum(void)
{
    uint8_t f[512], g[512];
    ps_packet p;
    size_t n = eth_tcp4(f);
    memcpy(g, f, n);
    g[n - 1] ^= 0x20; /* payload byte: the TCP checksum no longer holds */

    ps_decoder *d = mkdec_ex(PS_CSUM_YES, 0, 4, 1000, 3);
    ps_decoder_defer_tcp_csum(d, true);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_ETHERNET, f, n, &p), PS_OK);
    CU_ASSERT_TRUE(p.tcp_csum_pending);
    CU_ASSERT_TRUE(ps_decode_tcp_csum(d, &p));
    CU_ASSERT_FALSE(p.tcp_csum_pending);
    CU_ASSERT_TRUE(ps_decode_tcp_csum(d, &p)); /* nothing pending */
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_ETHERNET, g, n, &p), PS_OK);
    CU_ASSERT_TRUE(p.tcp_csum_pending);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 0);
    CU_ASSERT_FALSE(ps_decode_tcp_csum(d, &p));
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 1);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->decoded, 1); /* as if dropped in ps_decode() */
    ps_decoder_defer_tcp_csum(d, false);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, g, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_TCP_BAD_CHECKSUM), 2);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, f, n, &p), PS_OK);
    CU_ASSERT_FALSE(p.tcp_csum_pending);
    ps_decoder_free(d);

    /* auto: verified in place while sampling, deferred after. */
    d = mkdec_ex(PS_CSUM_AUTO, 0, 4, 1000, 3);
    ps_decoder_defer_tcp_csum(d, true);
    bool pending = false;
    for (unsigned i = 0; i < 1000; i++) { /* the auto sample */
        CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, f, n, &p), PS_OK);
        pending |= p.tcp_csum_pending;
    }
    CU_ASSERT_FALSE(pending);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, f, n, &p), PS_OK);
    CU_ASSERT_TRUE(p.tcp_csum_pending);
    ps_decoder_free(d);

    /* no: nothing to verify. */
    d = mkdec_ex(PS_CSUM_NO, 0, 4, 1000, 3);
    ps_decoder_defer_tcp_csum(d, true);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_ETHERNET, g, n, &p), PS_OK);
    CU_ASSERT_FALSE(p.tcp_csum_pending);
    ps_decoder_free(d);
}

/* Dedup hashes the packet in 16-byte steps: every length exercises its
 * tails; a router's TTL / hop limit rewrite stays a duplicate, a change in
 * the first 128 bytes after the IP header or in the last 16 does not. */
static void test_dedup_lengths(void)
{
    ps_decoder *d = mkdec_ex(PS_CSUM_YES, 2000, 4, 1000, 3);
    uint8_t pl[400], f[512], g[512];
    ps_packet p;
    ps_time_us ts = 1000000;
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 7 + 3);
    for (int v6 = 0; v6 < 2; v6++) {
        for (size_t plen = 0; plen <= 300; plen++, ts += 10000) {
            size_t hl = v6 ? 40 : 20;
            size_t n = v6 ? put_ip6(f, &A6, 59, pl, plen) : put_ip4(f, &A4, 253, pl, plen);
            CU_ASSERT_EQUAL_FATAL(dec_at(d, PS_LINK_RAW, ts, f, n, &p), PS_OK);
            memcpy(g, f, n);
            if (v6) {
                g[7]--;
            } else {
                g[8]--;
                w16(g + 10, 0);
                w16(g + 10, fold(sum16(0, g, 20)));
            }
            CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 1, g, n, &p), PS_ERR_SKIP);
            size_t at[4] = {hl, hl + plen / 2, hl + 127, n - 1};
            for (int k = 0; k < 4; k++) {
                if (at[k] >= n || at[k] < hl || (at[k] >= hl + 128 && at[k] < n - 16) ||
                    (k > 0 && at[k] == at[k - 1]) || (k == 3 && at[3] == at[1]))
                    continue; /* outside the payload, not hashed, or done */
                memcpy(g, f, n);
                g[at[k]] ^= 0x01;
                CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 2 + (ps_time_us)k, g, n, &p), PS_OK);
            }
        }
    }
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 2 * 301);
    ps_decoder_free(d);
}

/* A long TCP segment's (or checksummed UDP datagram's) last bytes are not
 * hashed: its checksum, hashed with the header, stands for them. A copy
 * whose tail changed with the checksum corrected is a different packet; a
 * tail change with the checksum left alone (a copy no sender would make)
 * is taken for the duplicate. UDP without a checksum keeps its tail
 * hashed. */
static void test_dedup_l4_sum_tail(void)
{
    ps_decoder *d = mkdec_ex(PS_CSUM_NO, 2000, 4, 1000, 3);
    uint8_t pl[600], l4[700], f[800], g[800];
    ps_packet p;
    for (size_t i = 0; i < sizeof pl; i++)
        pl[i] = (uint8_t)(i * 13 + 5);
    ps_time_us ts = 5000000;
    /* TCP */
    size_t n = put_ip4(f, &A4, 6, l4, put_tcp(l4, &A4, pl, sizeof pl));
    CU_ASSERT_EQUAL_FATAL(dec_at(d, PS_LINK_RAW, ts, f, n, &p), PS_OK);
    memcpy(g, f, n);
    g[n - 1] ^= 0x40; /* tail changed, checksum not */
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 1, g, n, &p), PS_ERR_SKIP);
    memcpy(g, f, n);
    memcpy(l4, f + 20, n - 20);
    l4[n - 21] ^= 0x40;
    w16(l4 + 16, 0);
    w16(l4 + 16, fold(sum16(pseudo(&A4, 6, n - 20), l4, n - 20)));
    memcpy(g + 20, l4, n - 20);
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 2, g, n, &p), PS_OK);
    /* UDP with a checksum: as TCP. */
    ts += 100000;
    n = put_ip4(f, &A4, 17, l4, put_udp(l4, &A4, 5353, 53, pl, sizeof pl));
    CU_ASSERT_EQUAL_FATAL(dec_at(d, PS_LINK_RAW, ts, f, n, &p), PS_OK);
    memcpy(g, f, n);
    g[n - 2] ^= 0x01;
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 1, g, n, &p), PS_ERR_SKIP);
    /* UDP without a checksum: the tail is what tells them apart. */
    ts += 100000;
    n = put_ip4(f, &A4, 17, l4, put_udp(l4, &A4, 5353, 53, pl, sizeof pl));
    w16(f + 20 + 6, 0);
    CU_ASSERT_EQUAL_FATAL(dec_at(d, PS_LINK_RAW, ts, f, n, &p), PS_OK);
    memcpy(g, f, n);
    g[n - 2] ^= 0x01;
    CU_ASSERT_EQUAL(dec_at(d, PS_LINK_RAW, ts + 1, g, n, &p), PS_OK);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->duplicates, 2);
    ps_decoder_free(d);
}

/* Every strict prefix must be skipped, the whole frame decoded. */
static void check_prefixes(int lt, const uint8_t *f, size_t n)
{
    ps_decoder *d = mkdec_ex(PS_CSUM_YES, 2000, 4, 1000, 3);
    ps_packet p;
    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        memcpy(copy, f, k);
        int rc = ps_decode(d, lt, k, copy, (uint32_t)k, (uint32_t)n, &p);
        if (rc != PS_ERR_SKIP)
            fprintf(stderr, "linktype %d prefix %zu/%zu -> %d\n", lt, k, n, rc);
        CU_ASSERT_EQUAL(rc, PS_ERR_SKIP);
        free(copy);
    }
    CU_ASSERT_EQUAL(dec_at(d, lt, 1000000, f, n, &p), PS_OK);
    ps_decoder_free(d);
}

static void test_truncated_prefixes(void)
{
    uint8_t f[2048], ip[512], ip6[512];
    size_t n = eth_tcp4(f);
    check_prefixes(PS_LINK_ETHERNET, f, n);
    n = vxlan_frame(f);
    check_prefixes(PS_LINK_ETHERNET, f, n);
    size_t n4 = tcp4(ip, &A4), n6 = tcp6(ip6, &A6);
    check_prefixes(PS_LINK_RAW, ip, n4);
    check_prefixes(PS_LINK_IPV6, ip6, n6);
    memset(f, 0, 20);
    w16(f + 14, 0x0800);
    memcpy(f + 16, ip, n4);
    check_prefixes(PS_LINK_SLL, f, 16 + n4);
    f[0] = 2;
    memcpy(f + 4, ip, n4);
    check_prefixes(PS_LINK_NULL, f, 4 + n4);
    /* GRE/ERSPAN III with subheader, Geneve, MPLS, QinQ. */
    uint8_t h[20] = {0x20};
    h[11] = 1;
    uint8_t eth[600];
    size_t en = inner_eth_tcp4(eth);
    n = gre_frame(f, 0x1000, 0x22eb, h, 20, eth, en);
    check_prefixes(PS_LINK_ETHERNET, f, n);
    uint8_t g[1024] = {1, 0, 0x65, 0x58};
    memcpy(g + 12, eth, en);
    n = wrap_udp4(f, 6081, g, 12 + en);
    check_prefixes(PS_LINK_ETHERNET, f, n);
    uint8_t t[700];
    w16(t, 200);
    w16(t + 2, 0x8847);
    w32(t + 4, 0x100);
    memcpy(t + 8, ip6, n6);
    n = put_eth(f, 0x8100, t, 8 + n6);
    check_prefixes(PS_LINK_ETHERNET, f, n);
}

/* Total length 0 in the 20-byte IPv4 header at ip, checksum redone. */
static void ip4_len_zero(uint8_t *ip)
{
    w16(ip + 2, 0);
    w16(ip + 10, 0);
    w16(ip + 10, fold(sum16(0, ip, 20)));
}

/* GRO / BIG TCP super-segments captured on the host: IPv4 total length 0
 * or IPv6 payload length 0 (no Jumbo option); the length is the frame's. */
static void test_len_zero_frame(void)
{
    ps_decoder *d = mkdec();
    static uint8_t pl[66000], t[66100], ip[66200], f[66300];
    ps_packet p;
    for (size_t i = 0; i < sizeof(pl); i++)
        pl[i] = (uint8_t)(i * 7);

    /* IPv4 TCP, 66,060 bytes: longer than a total length can say. */
    size_t tn = put_tcp_ex(t, &A4, PS_TCP_ACK, NULL, 0, pl, sizeof(pl));
    size_t n = put_ip4(ip, &A4, 6, t, tn);
    ip4_len_zero(ip);
    size_t fn = put_eth(f, 0x0800, ip, n);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_ETHERNET, f, fn, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_proto, 6);
    CU_ASSERT_EQUAL(p.payload_len, sizeof(pl));
    CU_ASSERT(p.payload && memcmp(p.payload, pl, sizeof(pl)) == 0);
    CU_ASSERT_EQUAL(p.ip_total_len, 65535);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv4_len_zero_frame, 1);
    /* A short one too (the checksum covers what the frame holds). */
    tn = put_tcp(t, &A4, HTTP, HTTP_LEN);
    n = put_ip4(ip, &A4, 6, t, tn);
    ip4_len_zero(ip);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http4(&p, &A4);
    CU_ASSERT_EQUAL(p.ip_total_len, n);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv4_len_zero_frame, 2);
    CU_ASSERT_EQUAL(total_anom(d), 0);

    /* A frame cut by the snap length: its length is unknown, truncated. */
    CU_ASSERT_EQUAL(ps_decode(d, PS_LINK_RAW, 0, ip, (uint32_t)n - 4, (uint32_t)n, &p),
                    PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_TRUNCATED), 1);

    /* IPv6 TCP, 66,040 bytes, payload length 0. */
    tn = put_tcp_ex(t, &A6, PS_TCP_ACK, NULL, 0, pl, sizeof(pl));
    n = put_ip6(ip, &A6, 6, t, tn);
    w16(ip + 4, 0);
    fn = put_eth(f, 0x86dd, ip, n);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_ETHERNET, f, fn, &p), PS_OK);
    CU_ASSERT_EQUAL(p.ip_version, 6);
    CU_ASSERT_EQUAL(p.ip_proto, 6);
    CU_ASSERT_EQUAL(p.payload_len, sizeof(pl));
    CU_ASSERT(p.payload && memcmp(p.payload, pl, sizeof(pl)) == 0);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv6_len_zero_frame, 1);
    /* ...behind a Hop-by-Hop header without a Jumbo option (PadN only). */
    tn = put_tcp(t, &A6, HTTP, HTTP_LEN);
    uint8_t hbh[256] = {6, 0, 1, 4, 0, 0, 0, 0};
    memcpy(hbh + 8, t, tn);
    n = put_ip6(ip, &A6, 0, hbh, 8 + tn);
    w16(ip + 4, 0);
    CU_ASSERT_EQUAL_FATAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    expect_http6(&p, &A6);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv6_len_zero_frame, 2);
    CU_ASSERT_EQUAL(total_anom(d), 1);
    ps_decoder_free(d);
}

/* Length 0 that is not a super-segment stays malformed. */
static void test_len_zero_malformed(void)
{
    ps_decoder *d = mkdec();
    uint8_t t[256], ip[512];
    ps_packet p;
    size_t tn = put_tcp(t, &A4, HTTP, HTTP_LEN);

    /* IPv4 UDP with total length 0. */
    uint8_t u[64];
    size_t un = put_udp(u, &A4, 5000, 53, "x", 1);
    size_t n = put_ip4(ip, &A4, 17, u, un);
    ip4_len_zero(ip);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_TOTAL_LEN), 1);
    /* IPv4 TCP fragments with total length 0: first (MF) and later (offset). */
    const uint16_t frags[] = {0x2000, 0x0010};
    for (size_t i = 0; i < 2; i++) {
        n = put_ip4_ex(ip, &A4, 6, 64, 0x77, frags[i], NULL, 0, t, tn);
        ip4_len_zero(ip);
        CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    }
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_TOTAL_LEN), 3);
    /* IPv4 TCP with less than a TCP header after the IP header: N-1 bad, N sized. */
    tn = put_tcp_ex(t, &A4, PS_TCP_ACK, NULL, 0, NULL, 0);
    n = put_ip4(ip, &A4, 6, t, tn);
    ip4_len_zero(ip);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n - 1, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_TOTAL_LEN), 4);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv4_len_zero_frame, 0);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv4_len_zero_frame, 1);
    tn = put_tcp(t, &A4, HTTP, HTTP_LEN);

    /* IPv6 "no next header" with payload length 0: nothing follows, whatever
     * the frame holds (no decode anomaly: a packet with no upper layer). */
    uint8_t ip6[64];
    n = put_ip6(ip6, &A6, 59, "padding", 7);
    w16(ip6 + 4, 0);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip6, n, &p), PS_OK);
    CU_ASSERT_EQUAL(p.payload_len, 0);
    /* IPv6 payload length 0 with a Jumbo option: a jumbogram, not sized
     * from the frame (its 8-byte Hop-by-Hop header does not fit in 0). */
    uint8_t hbh[256] = {6, 0, 0xC2, 4, 0, 1, 0, 0};
    memcpy(hbh + 8, t, tn);
    n = put_ip6(ip, &A6, 0, hbh, 8 + tn);
    w16(ip + 4, 0);
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, n, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_BAD_EXT_CHAIN), 1);
    CU_ASSERT_EQUAL(ps_decoder_stats(d)->ipv6_len_zero_frame, 0);
    ps_decoder_free(d);
}

/* Regressions found by fuzzing go here. */
static void test_odd_inputs(void)
{
    ps_decoder *d = mkdec();
    ps_packet p;
    /* IPv4 with hlen > total length but both within caplen. */
    uint8_t ip[64] = {0x4f, 0, 0, 24};
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip, sizeof ip, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV4_BAD_TOTAL_LEN), 1);
    /* IPv6 payload length larger than the frame. */
    uint8_t ip6[48] = {0x60, 0, 0, 0, 0, 9, 59, 1};
    CU_ASSERT_EQUAL(dec(d, PS_LINK_RAW, ip6, sizeof ip6, &p), PS_ERR_SKIP);
    CU_ASSERT_EQUAL(anom(d, PS_DA_IPV6_TRUNCATED), 1);
    ps_decoder_free(d);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return (int)CU_get_error();
    CU_pSuite s = CU_add_suite("decode", NULL, NULL);
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"config and names", test_config_and_names},
        {"ethernet tcp4", test_ethernet_tcp4},
        {"ethernet tcp6", test_ethernet_tcp6},
        {"vlan and qinq", test_vlan_qinq},
        {"mpls", test_mpls},
        {"sll and sll2", test_sll_sll2},
        {"null, loop, raw", test_null_loop_raw},
        {"non-ip and unsupported", test_non_ip_and_unsupported},
        {"vxlan", test_vxlan},
        {"geneve", test_geneve},
        {"gre and erspan", test_gre_erspan},
        {"ip in ip", test_ip_in_ip},
        {"tunnel depth", test_tunnel_depth},
        {"ipv6 extension chain", test_ipv6_ext_chain},
        {"ipv4 malformed", test_ipv4_malformed},
        {"tcp and udp limits", test_tcp_udp_limits},
        {"ipv4 fragments", test_frag4},
        {"fragment timeout and table", test_frag_timeout_and_table},
        {"nested fragments", test_frag_nested},
        {"ipv6 fragments", test_frag6},
        {"checksum auto mode", test_checksum_auto},
        {"dedup", test_dedup},
        {"dedup_lengths", test_dedup_lengths},
        {"dedup: TCP/UDP checksum stands for the tail", test_dedup_l4_sum_tail},
        {"defer_tcp_csum", test_defer_tcp_csum},
        {"truncated prefixes", test_truncated_prefixes},
        {"odd inputs", test_odd_inputs},
        {"length 0 sized from the frame", test_len_zero_frame},
        {"length 0 still malformed", test_len_zero_malformed},
    };
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++)
        if (!CU_add_test(s, tests[i].name, tests[i].fn)) {
            CU_cleanup_registry();
            return (int)CU_get_error();
        }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failures = CU_get_number_of_failures();
    int err = (int)CU_get_error();
    CU_cleanup_registry();
    return failures != 0 || err != 0;
}
