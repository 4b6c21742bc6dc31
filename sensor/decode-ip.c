/* decode-ip.c - IPv4 and IPv6 (with extension headers), TCP and UDP, checksums. */
#include "decode-int.h"

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_IPIP_    4
#define IPPROTO_TCP_     6
#define IPPROTO_UDP_     17
#define IPPROTO_IPV6_    41
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAG_    44
#define IPPROTO_GRE_     47
#define IPPROTO_AH_      51
#define IPPROTO_DSTOPTS_ 60

#define PORT_VXLAN  4789
#define PORT_GENEVE 6081

/* Sum of the TCP/UDP pseudo header of the current (innermost) IP layer.
 * The IPv4 length is summed as 32 bits, as Linux does: the same sum up to
 * 64 KiB, and right for a super-segment sized from its frame. */
static uint64_t pseudo_sum(const ps_packet *pkt, uint8_t proto, uint32_t l4len)
{
    /* Words at even offsets, so any grouping gives the same folded sum:
     * [0, proto, 0, 0] and the length's four bytes, big-endian. */
    const uint8_t tail[8] = {0,
                             proto,
                             0,
                             0,
                             (uint8_t)(l4len >> 24),
                             (uint8_t)(l4len >> 16),
                             (uint8_t)(l4len >> 8),
                             (uint8_t)l4len};
    uint32_t w[2];
    memcpy(w, tail, 8);
    uint64_t sum = (uint64_t)w[0] + w[1];
    if (pkt->ip_version == 4) {
        uint32_t a, b;
        memcpy(&a, pkt->src.bytes, 4);
        memcpy(&b, pkt->dst.bytes, 4);
        return sum + a + b;
    }
    sum = ps_csum_add(sum, pkt->src.bytes, 16);
    return ps_csum_add(sum, pkt->dst.bytes, 16);
}

/* Validates an L4 checksum when policy says so; false means drop. While
 * auto mode is still sampling, a bad checksum is counted but the packet is
 * kept: a short capture from a host with checksum offload must not lose its
 * packets before the sample can decide. */
static bool l4_csum_ok(ps_dctx *c, uint8_t proto, const uint8_t *p, uint32_t len)
{
    if (!c->d->csum_validate || c->l4_csum_skip)
        return true;
    c->csum_checked = true;
    if (ps_csum_ok(ps_csum_add(pseudo_sum(c->pkt, proto, len), p, len)))
        return true;
    c->csum_failed = true;
    if (c->d->csum_sampling) {
        c->d->stats
            .anomalies[proto == IPPROTO_TCP_ ? PS_DA_TCP_BAD_CHECKSUM : PS_DA_UDP_BAD_CHECKSUM]++;
        return true;
    }
    return false;
}

static int dec_tcp(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 20)
        return ps_dec_anomaly(c, PS_DA_TCP_TRUNCATED);
    uint32_t hl = (uint32_t)(p[12] >> 4) * 4;
    if (hl < 20 || hl > len)
        return ps_dec_anomaly(c, PS_DA_TCP_BAD_HLEN);
    ps_packet *pkt = c->pkt;
    if (c->d->defer_tcp_csum && c->d->csum_validate && !c->d->csum_sampling && !c->l4_csum_skip)
        pkt->tcp_csum_pending = true; /* the header and payload locate the segment */
    else if (!l4_csum_ok(c, IPPROTO_TCP_, p, len))
        return ps_dec_anomaly(c, PS_DA_TCP_BAD_CHECKSUM);
    pkt->sport = ps_rd16(p);
    pkt->dport = ps_rd16(p + 2);
    pkt->seq = ps_rd32(p + 4);
    pkt->ack = ps_rd32(p + 8);
    pkt->tcp_flags = p[13] & 0x3f; /* ECE/CWR dropped: flag tests stay exact */
    pkt->window = ps_rd16(p + 14);
    pkt->urg_ptr = ps_rd16(p + 18);
    pkt->tcp_opts = hl > 20 ? p + 20 : NULL;
    pkt->tcp_opts_len = (uint8_t)(hl - 20);
    pkt->payload = p + hl;
    pkt->payload_len = len - hl;
    return PS_OK;
}

static int dec_udp(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 8)
        return ps_dec_anomaly(c, PS_DA_UDP_TRUNCATED);
    uint32_t ulen = ps_rd16(p + 4);
    if (ulen < 8 || ulen > len)
        return ps_dec_anomaly(c, PS_DA_UDP_BAD_LEN);
    uint16_t sport = ps_rd16(p), dport = ps_rd16(p + 2);
    bool tunnel_port = dport == PORT_VXLAN || dport == PORT_GENEVE;
    uint16_t csum = ps_rd16(p + 6);
    /* Zero means "none" for IPv4 and for IPv6 UDP tunnels (RFC 6935). */
    if ((csum != 0 || (c->pkt->ip_version == 6 && !tunnel_port)) &&
        !l4_csum_ok(c, IPPROTO_UDP_, p, ulen))
        return ps_dec_anomaly(c, PS_DA_UDP_BAD_CHECKSUM);
    if (tunnel_port) {
        int rc = dport == PORT_VXLAN ? ps_dec_vxlan(c, p + 8, ulen - 8)
                                     : ps_dec_geneve(c, p + 8, ulen - 8);
        if (rc != 1)
            return rc;
    }
    ps_packet *pkt = c->pkt;
    pkt->sport = sport;
    pkt->dport = dport;
    pkt->payload = p + 8;
    pkt->payload_len = ulen - 8;
    return PS_OK;
}

bool ps_decode_tcp_csum(ps_decoder *d, ps_packet *pkt)
{
    if (!pkt->tcp_csum_pending)
        return true;
    pkt->tcp_csum_pending = false;
    uint32_t hl = 20u + pkt->tcp_opts_len, len = hl + pkt->payload_len;
    const uint8_t *seg = pkt->payload - hl;
    if (ps_csum_ok(ps_csum_add(pseudo_sum(pkt, IPPROTO_TCP_, len), seg, len)))
        return true;
    d->stats.anomalies[PS_DA_TCP_BAD_CHECKSUM]++;
    d->stats.decoded--; /* as if ps_decode() had dropped it */
    d->stats.tunnels -= pkt->tunnel_depth;
    return false;
}

/* Upper-layer dispatch shared by IPv4 and IPv6. */
static int dec_l4(ps_dctx *c, uint8_t proto, const uint8_t *p, uint32_t len)
{
    c->pkt->ip_proto = proto;
    switch (proto) {
    case IPPROTO_TCP_:
        return dec_tcp(c, p, len);
    case IPPROTO_UDP_:
        return dec_udp(c, p, len);
    case IPPROTO_IPIP_:
    case IPPROTO_IPV6_:
        return ps_dec_ipip(c, proto, p, len);
    case IPPROTO_GRE_:
        return ps_dec_gre(c, p, len);
    default:
        c->pkt->payload = p;
        c->pkt->payload_len = len;
        return PS_OK;
    }
}

/* Type-length options; the source-route and timestamp ones are checked
 * further the way Linux's ip_options_compile() rejects them. */
static bool ipv4_options_ok(const uint8_t *o, uint32_t n)
{
    uint32_t i = 0;
    while (i < n) {
        uint8_t t = o[i];
        if (t == 0) /* end of list */
            return true;
        if (t == 1) { /* no-op */
            i++;
            continue;
        }
        if (n - i < 2)
            return false;
        uint8_t l = o[i + 1];
        if (l < 2 || l > n - i)
            return false;
        switch (t) {
        case 7:   /* record route */
        case 131: /* loose source route */
        case 137: /* strict source route */
            if (l < 3 || o[i + 2] < 4)
                return false;
            break;
        case 68: /* timestamp */
            if (l < 4 || o[i + 2] < 5)
                return false;
            break;
        default:
            break;
        }
        i += l;
    }
    return true;
}

/* Remembers the packet for dedup when it is the outermost IP header. */
static bool is_duplicate(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (c->ip_layers++ != 0 || !c->d->dedup.slots)
        return false;
    if (!ps_dedup_check(&c->d->dedup, c->ts, p, len))
        return false;
    c->d->stats.duplicates++;
    c->d->stats.anomalies[PS_DA_DUPLICATE]++;
    return true;
}

/* A GRO or BIG TCP super-segment captured on the host carries no length:
 * the kernel leaves IPv4's total length (or IPv6's payload length) at 0 when
 * the segment passes 64 KiB. Its length is then the frame's, as Wireshark
 * and Suricata take it, unless the capture cut the frame (snaplen), which
 * would make the length wrong: such a packet is truncated. */
static bool frame_is_whole(const ps_dctx *c)
{
    return c->pkt->caplen >= c->pkt->wirelen;
}

int ps_dec_ipv4(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    c->outer = false;
    if (len < 20)
        return ps_dec_anomaly(c, PS_DA_IPV4_TRUNCATED);
    if ((p[0] >> 4) != 4)
        return ps_dec_anomaly(c, PS_DA_IPV4_BAD_VERSION);
    uint32_t hl = (uint32_t)(p[0] & 0x0f) * 4;
    uint32_t tot = ps_rd16(p + 2);
    uint16_t frag = ps_rd16(p + 6);
    if (hl < 20)
        return ps_dec_anomaly(c, PS_DA_IPV4_BAD_HLEN);
    if (hl > len)
        return ps_dec_anomaly(c, PS_DA_IPV4_TRUNCATED);
    /* Total length 0: a super-segment when it is unfragmented TCP with its
     * header there; anything else stays a bad length. */
    if (tot == 0 && p[9] == IPPROTO_TCP_ && (frag & 0x3fff) == 0 && len - hl >= 20) {
        if (!frame_is_whole(c))
            return ps_dec_anomaly(c, PS_DA_IPV4_TRUNCATED);
        tot = len;
        c->d->stats.ipv4_len_zero_frame++;
    }
    if (tot < hl)
        return ps_dec_anomaly(c, PS_DA_IPV4_BAD_TOTAL_LEN);
    if (tot > len)
        return ps_dec_anomaly(c, PS_DA_IPV4_TRUNCATED);
    if (hl > 20 && !ipv4_options_ok(p + 20, hl - 20))
        return ps_dec_anomaly(c, PS_DA_IPV4_BAD_OPTIONS);
    if (is_duplicate(c, p, tot))
        return PS_ERR_SKIP;
    if (c->d->csum_validate) {
        c->csum_checked = true;
        if (!ps_csum_ok(ps_csum_add(0, p, hl))) {
            c->csum_failed = true;
            if (!c->d->csum_sampling) /* see l4_csum_ok() */
                return ps_dec_anomaly(c, PS_DA_IPV4_BAD_CHECKSUM);
            c->d->stats.anomalies[PS_DA_IPV4_BAD_CHECKSUM]++;
        }
    }

    ps_packet *pkt = c->pkt;
    pkt->ip_version = 4;
    pkt->src.family = 4;
    memcpy(pkt->src.bytes, p + 12, 4);
    memset(pkt->src.bytes + 4, 0, 12);
    pkt->dst.family = 4;
    memcpy(pkt->dst.bytes, p + 16, 4);
    memset(pkt->dst.bytes + 4, 0, 12);
    pkt->ttl = p[8];
    pkt->tos = p[1];
    pkt->df = (frag & 0x4000) != 0;
    pkt->ip_id = ps_rd16(p + 4);
    pkt->ip_total_len = (uint16_t)PS_MIN(tot, 65535u);
    pkt->ip_hdr_len = (uint8_t)hl;
    pkt->reassembled = false;
    c->l4_csum_skip = false;

    const uint8_t *l4 = p + hl;
    uint32_t l4len = tot - hl;
    if (frag & 0x3fff) { /* MF or an offset */
        c->d->stats.fragments++;
        ps_frag_in in = {.family = 4,
                         .proto = p[9],
                         .ttl = p[8],
                         .tos = p[1],
                         .src = p + 12,
                         .dst = p + 16,
                         .id = pkt->ip_id,
                         .offset = (uint32_t)(frag & 0x1fff) * 8,
                         .more = (frag & 0x2000) != 0,
                         .hdr_len = hl,
                         .data = l4,
                         .len = l4len};
        ps_frag_out out;
        int rc = ps_frag_add(&c->d->frag, &c->d->stats, c->ts, &in, &out);
        if (rc != PS_OK)
            return rc;
        c->d->stats.reassembled++;
        pkt->reassembled = true;
        pkt->df = false;
        pkt->ttl = out.ttl;
        pkt->tos = out.tos;
        pkt->ip_hdr_len = (uint8_t)out.hdr_len;
        pkt->ip_total_len = (uint16_t)PS_MIN(out.hdr_len + out.len, 65535u);
        l4 = out.data;
        l4len = out.len;
    }
    return dec_l4(c, p[9], l4, l4len);
}

/* Length of the extension header at `q` (rem bytes left), 0 if malformed. */
static uint32_t ext_len(uint8_t nh, const uint8_t *q, uint32_t rem)
{
    if (rem < 8)
        return 0;
    uint32_t l = nh == IPPROTO_AH_ ? ((uint32_t)q[1] + 2) * 4 : ((uint32_t)q[1] + 1) * 8;
    return l <= rem ? l : 0;
}

/* True when the header after the IPv6 header (next header nh, rem bytes) is
 * a Hop-by-Hop header with a Jumbo Payload option (RFC 2675): its payload
 * length 0 is then meant, the length is in the option. */
static bool has_jumbo(uint8_t nh, const uint8_t *q, uint32_t rem)
{
    if (nh != IPPROTO_HOPOPTS_ || rem < 8)
        return false;
    uint32_t l = ((uint32_t)q[1] + 1) * 8;
    if (l > rem)
        return false;
    for (uint32_t i = 2; i < l;) {
        if (q[i] == 0) { /* Pad1 */
            i++;
            continue;
        }
        if (l - i < 2)
            return false;
        if (q[i] == 0xC2)
            return true;
        i += 2u + q[i + 1];
    }
    return false;
}

int ps_dec_ipv6(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    c->outer = false;
    if (len < 40)
        return ps_dec_anomaly(c, PS_DA_IPV6_TRUNCATED);
    if ((p[0] >> 4) != 6)
        return ps_dec_anomaly(c, PS_DA_IPV6_BAD_VERSION);
    uint32_t plen = ps_rd16(p + 4);
    /* Payload length 0 with bytes after the header: a super-segment (see
     * frame_is_whole()), unless a Jumbo option or "no next header" (59)
     * says the 0 is meant. */
    if (plen == 0 && len > 40 && p[6] != 59 && !has_jumbo(p[6], p + 40, len - 40)) {
        if (!frame_is_whole(c))
            return ps_dec_anomaly(c, PS_DA_IPV6_TRUNCATED);
        plen = len - 40;
        c->d->stats.ipv6_len_zero_frame++;
    }
    if (plen > len - 40)
        return ps_dec_anomaly(c, PS_DA_IPV6_TRUNCATED);
    if (is_duplicate(c, p, 40 + plen))
        return PS_ERR_SKIP;

    ps_packet *pkt = c->pkt;
    pkt->ip_version = 6;
    pkt->src.family = 6;
    memcpy(pkt->src.bytes, p + 8, 16);
    pkt->dst.family = 6;
    memcpy(pkt->dst.bytes, p + 24, 16);
    pkt->ttl = p[7];
    pkt->tos = (uint8_t)((p[0] & 0x0f) << 4 | p[1] >> 4);
    pkt->df = false;
    pkt->ip_id = 0;
    pkt->ip_total_len = (uint16_t)(40 + PS_MIN(plen, 65495u));
    pkt->ip_hdr_len = 40;
    pkt->reassembled = false;
    c->l4_csum_skip = false;

    uint8_t nh = p[6];
    const uint8_t *q = p + 40;
    uint32_t rem = plen;
    unsigned next = 0;
    for (;;) {
        uint32_t l;
        switch (nh) {
        case IPPROTO_HOPOPTS_:
            if (next != 0 || pkt->reassembled) /* only right after the header */
                return ps_dec_anomaly(c, PS_DA_IPV6_BAD_EXT_CHAIN);
            /* fallthrough */
        case IPPROTO_ROUTING_:
        case IPPROTO_DSTOPTS_:
        case IPPROTO_AH_:
            if (++next > PS_DEC_MAX_IPV6_EXT)
                return ps_dec_anomaly(c, PS_DA_IPV6_TOO_MANY_EXT);
            l = ext_len(nh, q, rem);
            if (l == 0)
                return ps_dec_anomaly(c, PS_DA_IPV6_BAD_EXT_CHAIN);
            /* Segments left: the pseudo header's destination is elsewhere. */
            if (nh == IPPROTO_ROUTING_ && q[3] != 0)
                c->l4_csum_skip = true;
            nh = q[0];
            q += l;
            rem -= l;
            continue;
        case IPPROTO_FRAG_: {
            if (++next > PS_DEC_MAX_IPV6_EXT)
                return ps_dec_anomaly(c, PS_DA_IPV6_TOO_MANY_EXT);
            if (rem < 8)
                return ps_dec_anomaly(c, PS_DA_IPV6_BAD_EXT_CHAIN);
            uint16_t off = ps_rd16(q + 2);
            uint8_t fnh = q[0];
            uint32_t id = ps_rd32(q + 4);
            q += 8;
            rem -= 8;
            if ((off & 0xfff9) == 0) { /* atomic fragment (RFC 6946) */
                nh = fnh;
                continue;
            }
            if (pkt->reassembled)
                return ps_dec_anomaly(c, PS_DA_IPV6_BAD_EXT_CHAIN);
            c->d->stats.fragments++;
            uint32_t unfrag = (uint32_t)(q - (p + 40)) - 8;
            ps_frag_in in = {.family = 6,
                             .proto = fnh,
                             .ttl = p[7],
                             .tos = pkt->tos,
                             .src = p + 8,
                             .dst = p + 24,
                             .id = id,
                             .offset = (uint32_t)(off & 0xfff8),
                             .more = (off & 1) != 0,
                             .hdr_len = unfrag,
                             .data = q,
                             .len = rem};
            ps_frag_out out;
            int rc = ps_frag_add(&c->d->frag, &c->d->stats, c->ts, &in, &out);
            if (rc != PS_OK)
                return rc;
            c->d->stats.reassembled++;
            pkt->reassembled = true;
            pkt->ttl = out.ttl;
            pkt->tos = out.tos;
            pkt->ip_total_len = (uint16_t)PS_MIN(40u + out.hdr_len + out.len, 65535u);
            q = out.data;
            rem = out.len;
            nh = fnh;
            continue;
        }
        default:
            return dec_l4(c, nh, q, rem);
        }
    }
}
