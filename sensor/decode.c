/* decode.c - decoder entry point and link layers (Ethernet, VLAN, MPLS, SLL, null, raw). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "decode-int.h"

#define ETH_IPV4   0x0800
#define ETH_ARP    0x0806
#define ETH_VLAN   0x8100
#define ETH_QINQ   0x88a8
#define ETH_QINQ_9 0x9100
#define ETH_IPV6   0x86dd
#define ETH_MPLS   0x8847
#define ETH_MPLS_M 0x8848
#define ETH_PPPOE  0x8864

static const char *const anomaly_names[PS_DA_MAX] = {
    [PS_DA_LINK_TRUNCATED] = "decode.link.truncated",
    [PS_DA_LINK_UNKNOWN_ETHERTYPE] = "decode.link.unknown_ethertype",
    [PS_DA_VLAN_TOO_DEEP] = "decode.vlan.too_deep",
    [PS_DA_MPLS_TOO_DEEP] = "decode.mpls.too_deep",
    [PS_DA_TUNNEL_TOO_DEEP] = "decode.tunnel.too_deep",
    [PS_DA_TUNNEL_MALFORMED] = "decode.tunnel.malformed",
    [PS_DA_IPV4_TRUNCATED] = "decode.ipv4.truncated",
    [PS_DA_IPV4_BAD_VERSION] = "decode.ipv4.bad_version",
    [PS_DA_IPV4_BAD_HLEN] = "decode.ipv4.bad_hlen",
    [PS_DA_IPV4_BAD_TOTAL_LEN] = "decode.ipv4.bad_total_len",
    [PS_DA_IPV4_BAD_CHECKSUM] = "decode.ipv4.bad_checksum",
    [PS_DA_IPV4_BAD_OPTIONS] = "decode.ipv4.bad_options",
    [PS_DA_IPV6_TRUNCATED] = "decode.ipv6.truncated",
    [PS_DA_IPV6_BAD_EXT_CHAIN] = "decode.ipv6.bad_ext_chain",
    [PS_DA_IPV6_TOO_MANY_EXT] = "decode.ipv6.too_many_ext",
    [PS_DA_FRAG_OVERLAP] = "decode.frag.overlap",
    [PS_DA_FRAG_TOO_BIG] = "decode.frag.too_big",
    [PS_DA_FRAG_TABLE_FULL] = "decode.frag.table_full",
    [PS_DA_FRAG_TIMEOUT] = "decode.frag.timeout",
    [PS_DA_TCP_TRUNCATED] = "decode.tcp.truncated",
    [PS_DA_TCP_BAD_HLEN] = "decode.tcp.bad_hlen",
    [PS_DA_TCP_BAD_CHECKSUM] = "decode.tcp.bad_checksum",
    [PS_DA_UDP_TRUNCATED] = "decode.udp.truncated",
    [PS_DA_UDP_BAD_LEN] = "decode.udp.bad_len",
    [PS_DA_UDP_BAD_CHECKSUM] = "decode.udp.bad_checksum",
    [PS_DA_DUPLICATE] = "decode.duplicate",
    [PS_DA_IPV6_BAD_VERSION] = "decode.ipv6.bad_version",
};

const char *ps_decode_anomaly_name(int a)
{
    if (a < 0 || a >= PS_DA_MAX || !anomaly_names[a])
        return "decode.unknown";
    return anomaly_names[a];
}

bool ps_linktype_supported(int linktype)
{
    switch (linktype) {
    case PS_LINK_NULL:
    case PS_LINK_ETHERNET:
    case PS_LINK_RAW_OLD:
    case PS_LINK_RAW_OLD2:
    case PS_LINK_RAW:
    case PS_LINK_LOOP:
    case PS_LINK_SLL:
    case PS_LINK_IPV4:
    case PS_LINK_IPV6:
    case PS_LINK_SLL2:
        return true;
    default:
        return false;
    }
}

void ps_decode_config_default(ps_decode_config *cfg)
{
    cfg->checksum_mode = PS_CSUM_AUTO;
    cfg->max_tunnel_depth = 3;
    cfg->frag_max_datagrams = 1024;
    cfg->frag_timeout_ms = 30000;
    cfg->dedup_window_us = 2000;
    cfg->dedup_slots = 4096;
}

static uint64_t make_seed(const void *salt)
{
    uint64_t seed = 0;
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        seed = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^ (uint64_t)(uintptr_t)salt;
    }
    return seed;
}

ps_decoder *ps_decoder_new(const ps_decode_config *cfg)
{
    ps_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (cfg)
        d->cfg = *cfg;
    else
        ps_decode_config_default(&d->cfg);
    d->max_depth = PS_MIN(d->cfg.max_tunnel_depth, (uint32_t)PS_DEC_MAX_TUNNEL_DEPTH);
    d->csum_validate = d->cfg.checksum_mode != PS_CSUM_NO;
    d->csum_sampling = d->cfg.checksum_mode == PS_CSUM_AUTO;
    uint64_t seed = make_seed(d);
    if (ps_frag_init(&d->frag, d->cfg.frag_max_datagrams, d->cfg.frag_timeout_ms, seed) != PS_OK ||
        ps_dedup_init(&d->dedup, d->cfg.dedup_slots, d->cfg.dedup_window_us,
                      seed ^ 0x9e3779b97f4a7c15ULL) != PS_OK) {
        ps_decoder_free(d);
        return NULL;
    }
    return d;
}

void ps_decoder_free(ps_decoder *d)
{
    if (!d)
        return;
    ps_frag_destroy(&d->frag);
    ps_dedup_destroy(&d->dedup);
    free(d);
}

void ps_decoder_defer_tcp_csum(ps_decoder *d, bool on)
{
    d->defer_tcp_csum = on;
}

const ps_decode_stats *ps_decoder_stats(const ps_decoder *d)
{
    return &d->stats;
}

int ps_dec_tunnel_enter(ps_dctx *c)
{
    if (c->depth >= c->d->max_depth)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_TOO_DEEP);
    c->depth++;
    c->outer = false;
    return PS_OK;
}

/* Guesses IPv4 or IPv6 from the version nibble (raw links, MPLS). */
int ps_dec_ip_guess(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 1)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    switch (p[0] >> 4) {
    case 4:
        return ps_dec_ipv4(c, p, len);
    case 6:
        return ps_dec_ipv6(c, p, len);
    default:
        return ps_dec_anomaly(c, PS_DA_IPV4_BAD_VERSION);
    }
}

/* MPLS label stack, then a best guess at the payload as Suricata does:
 * version nibble 4 or 6 is IP, 0 is a pseudowire control word + Ethernet. */
static int dec_mpls(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    for (unsigned n = 0;; n++) {
        if (n >= PS_DEC_MAX_MPLS)
            return ps_dec_anomaly(c, PS_DA_MPLS_TOO_DEEP);
        if (len < 4)
            return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
        bool bos = p[2] & 1;
        p += 4;
        len -= 4;
        if (bos)
            break;
    }
    if (len < 1)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    switch (p[0] >> 4) {
    case 4:
        return ps_dec_ipv4(c, p, len);
    case 6:
        return ps_dec_ipv6(c, p, len);
    case 0: {
        if (len < 4)
            return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
        int rc = ps_dec_tunnel_enter(c);
        if (rc != PS_OK)
            return rc;
        return ps_dec_ether(c, p + 4, len - 4);
    }
    default:
        return ps_dec_anomaly(c, PS_DA_LINK_UNKNOWN_ETHERTYPE);
    }
}

/* PPPoE session stage: 6-byte header, then a 2-byte PPP protocol. */
static int dec_pppoe(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 8)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    if (p[0] != 0x11 || p[1] != 0)
        return ps_dec_non_ip(c);
    uint32_t plen = ps_rd16(p + 4);
    if (plen < 2 || plen > len - 6)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    uint16_t proto = ps_rd16(p + 6);
    if (proto == 0x0021)
        return ps_dec_ipv4(c, p + 8, plen - 2);
    if (proto == 0x0057)
        return ps_dec_ipv6(c, p + 8, plen - 2);
    return ps_dec_non_ip(c);
}

int ps_dec_ethertype(ps_dctx *c, uint16_t type, const uint8_t *p, uint32_t len)
{
    unsigned tags = 0;
    for (;;) {
        switch (type) {
        case ETH_IPV4:
            return ps_dec_ipv4(c, p, len);
        case ETH_IPV6:
            return ps_dec_ipv6(c, p, len);
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_9:
            if (len < 4)
                return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
            if (tags >= PS_MAX_VLAN)
                return ps_dec_anomaly(c, PS_DA_VLAN_TOO_DEEP);
            if (c->outer)
                c->pkt->vlan[c->pkt->vlan_count++] = ps_rd16(p) & 0x0fff;
            tags++;
            type = ps_rd16(p + 2);
            p += 4;
            len -= 4;
            continue;
        case ETH_MPLS:
        case ETH_MPLS_M:
            return dec_mpls(c, p, len);
        case ETH_PPPOE:
            return dec_pppoe(c, p, len);
        default:
            /* 1501..1535 is neither a length nor an EtherType. */
            if (type > 1500 && type < 0x0600)
                return ps_dec_anomaly(c, PS_DA_LINK_UNKNOWN_ETHERTYPE);
            return ps_dec_non_ip(c);
        }
    }
}

int ps_dec_ether(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 14)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    if (c->outer) {
        memcpy(c->pkt->eth_dst, p, 6);
        memcpy(c->pkt->eth_src, p + 6, 6);
    }
    return ps_dec_ethertype(c, ps_rd16(p + 12), p + 14, len - 14);
}

/* Linux cooked v1: 16 bytes, protocol last. */
static int dec_sll(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 16)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    uint16_t hatype = ps_rd16(p + 2);
    if (hatype == 824) /* ARPHRD_NETLINK */
        return ps_dec_non_ip(c);
    return ps_dec_ethertype(c, ps_rd16(p + 14), p + 16, len - 16);
}

/* Linux cooked v2: 20 bytes, protocol first. */
static int dec_sll2(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 20)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    uint16_t hatype = ps_rd16(p + 8);
    if (hatype == 824)
        return ps_dec_non_ip(c);
    return ps_dec_ethertype(c, ps_rd16(p), p + 20, len - 20);
}

/* BSD loopback: a 4-byte address family in the capturing host's order
 * (DLT_NULL) or network order (DLT_LOOP); IPv6 has a different AF per OS. */
static int dec_null(ps_dctx *c, const uint8_t *p, uint32_t len, bool net_order)
{
    if (len < 4)
        return ps_dec_anomaly(c, PS_DA_LINK_TRUNCATED);
    uint32_t af = net_order ? ps_rd32(p)
                            : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                                  (uint32_t)p[3] << 24;
    if (af > 0xffff) /* written by a host of the other byte order */
        af = (af >> 24) | ((af >> 8) & 0xff00) | ((af << 8) & 0xff0000) | (af << 24);
    switch (af) {
    case 2:
        return ps_dec_ipv4(c, p + 4, len - 4);
    case 10: /* Linux */
    case 24: /* NetBSD, OpenBSD */
    case 28: /* FreeBSD */
    case 30: /* macOS */
        return ps_dec_ipv6(c, p + 4, len - 4);
    default:
        return ps_dec_non_ip(c);
    }
}

/* Auto checksum mode: after the sample, or as soon as the outcome is
 * certain, decide whether the capture has offloaded checksums. */
static void csum_sample(ps_decoder *d, const ps_dctx *c)
{
    static atomic_flag warned = ATOMIC_FLAG_INIT;

    d->csum_seen++;
    if (c->csum_failed)
        d->csum_bad++;
    /* "Most" fail: over half of the sample, or over half of at least
     * PS_CSUM_EARLY packets so that short captures decide too. */
    if (d->csum_bad > PS_CSUM_SAMPLE / 2 ||
        (d->csum_seen >= PS_CSUM_EARLY && d->csum_bad * 2 > d->csum_seen)) {
        d->csum_sampling = false;
        d->csum_validate = false;
        d->stats.checksum_disabled = true;
        if (!atomic_flag_test_and_set(&warned))
            fprintf(stderr, "portside: most checksums are invalid (offload on the capturing "
                            "host?); checksum validation disabled\n");
    } else if (d->csum_seen >= PS_CSUM_SAMPLE) {
        d->csum_sampling = false;
    }
}

/* Every field must be defined and addresses need zero tails. In 16-byte
 * stores: for these 136 bytes the compiler's `rep stos` costs its start-up
 * (tens of cycles) on every packet. */
static inline void zero_packet(ps_packet *pkt)
{
#ifdef __SSE2__
    /* Written out: as a loop the compiler turns it back into `rep stos`. */
    _Static_assert(sizeof(ps_packet) > 128 && sizeof(ps_packet) <= 144, "nine stores");
    const __m128i z = _mm_setzero_si128();
    uint8_t *b = (uint8_t *)pkt;
    _mm_storeu_si128((__m128i *)(void *)b, z);
    _mm_storeu_si128((__m128i *)(void *)(b + 16), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 32), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 48), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 64), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 80), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 96), z);
    _mm_storeu_si128((__m128i *)(void *)(b + 112), z);
    _mm_storeu_si128((__m128i *)(void *)(b + sizeof *pkt - 16), z);
#else
    memset(pkt, 0, sizeof *pkt);
#endif
}

int ps_decode(ps_decoder *d, int linktype, ps_time_us ts, const uint8_t *frame, uint32_t caplen,
              uint32_t wirelen, ps_packet *pkt)
{
    d->stats.frames++;
    if (d->frag.npending)
        ps_frag_release(&d->frag);
    zero_packet(pkt);
    pkt->ts = ts;
    pkt->caplen = caplen;
    pkt->wirelen = wirelen;
    if (!frame)
        caplen = 0;

    ps_dctx c = {.d = d, .pkt = pkt, .ts = ts, .outer = true};
    int rc;
    switch (linktype) {
    case PS_LINK_ETHERNET:
        rc = ps_dec_ether(&c, frame, caplen);
        break;
    case PS_LINK_RAW:
    case PS_LINK_RAW_OLD:
    case PS_LINK_RAW_OLD2:
        rc = ps_dec_ip_guess(&c, frame, caplen);
        break;
    case PS_LINK_IPV4:
        rc = ps_dec_ipv4(&c, frame, caplen);
        break;
    case PS_LINK_IPV6:
        rc = ps_dec_ipv6(&c, frame, caplen);
        break;
    case PS_LINK_SLL:
        rc = dec_sll(&c, frame, caplen);
        break;
    case PS_LINK_SLL2:
        rc = dec_sll2(&c, frame, caplen);
        break;
    case PS_LINK_NULL:
        rc = dec_null(&c, frame, caplen, false);
        break;
    case PS_LINK_LOOP:
        rc = dec_null(&c, frame, caplen, true);
        break;
    default:
        return PS_ERR_UNSUPPORTED;
    }
    if (d->csum_sampling && c.csum_checked)
        csum_sample(d, &c);
    if (rc == PS_OK) {
        pkt->tunnel_depth = (uint8_t)c.depth;
        d->stats.decoded++;
        d->stats.tunnels += c.depth;
    }
    return rc;
}
