/* decode-tunnel.c - VXLAN, Geneve, GRE (with ERSPAN I/II/III) and IP-in-IP decapsulation. */
#include "decode-int.h"

#define GRE_C 0x8000
#define GRE_R 0x4000
#define GRE_K 0x2000
#define GRE_S 0x1000

#define PROTO_TEB     0x6558
#define PROTO_ERSPAN2 0x88be
#define PROTO_ERSPAN3 0x22eb
#define PROTO_IPV4    0x0800
#define PROTO_IPV6    0x86dd

int ps_dec_vxlan(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    /* Not VXLAN unless the header fits, says the VNI is valid and has the
     * last reserved byte clear (Suricata's test). */
    if (len < 8 || !(p[0] & 0x08) || p[7] != 0)
        return 1;
    int rc = ps_dec_tunnel_enter(c);
    if (rc != PS_OK)
        return rc;
    return ps_dec_ether(c, p + 8, len - 8);
}

int ps_dec_geneve(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 8 || (p[0] >> 6) != 0)
        return 1;
    uint32_t hl = 8 + (uint32_t)(p[0] & 0x3f) * 4;
    if (hl > len)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    int rc = ps_dec_tunnel_enter(c);
    if (rc != PS_OK)
        return rc;
    uint16_t proto = ps_rd16(p + 2);
    if (proto == PROTO_TEB)
        return ps_dec_ether(c, p + hl, len - hl);
    return ps_dec_ethertype(c, proto, p + hl, len - hl);
}

/* ERSPAN type III: 12 bytes, an 8-byte platform subheader when O is set;
 * the frame type says Ethernet (0) or IP (2). */
static int dec_erspan3(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 12 || (p[0] >> 4) != 2)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    uint32_t hl = (p[11] & 0x01) ? 20 : 12;
    if (hl > len)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    unsigned ft = (p[10] >> 2) & 0x1f;
    if (ft == 0)
        return ps_dec_ether(c, p + hl, len - hl);
    if (ft == 2)
        return ps_dec_ip_guess(c, p + hl, len - hl);
    return ps_dec_non_ip(c);
}

int ps_dec_gre(ps_dctx *c, const uint8_t *p, uint32_t len)
{
    if (len < 4)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    uint16_t flags = ps_rd16(p), proto = ps_rd16(p + 2);
    /* Version 1 is PPTP's enhanced GRE (PPP inside): not decoded. */
    if ((flags & 0x7) == 1)
        return ps_dec_non_ip(c);
    /* Linux's gre_parse_header() rejects other versions and routing. */
    if ((flags & 0x7) != 0 || (flags & GRE_R))
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    uint32_t hl = 4;
    hl += (flags & GRE_C) ? 4 : 0;
    hl += (flags & GRE_K) ? 4 : 0;
    hl += (flags & GRE_S) ? 4 : 0;
    if (hl > len)
        return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
    p += hl;
    len -= hl;
    int rc = ps_dec_tunnel_enter(c);
    if (rc != PS_OK)
        return rc;
    switch (proto) {
    case PROTO_TEB:
        return ps_dec_ether(c, p, len);
    case PROTO_ERSPAN2:
        if (!(flags & GRE_S)) /* type I: no header, Ethernet follows */
            return ps_dec_ether(c, p, len);
        if (len < 8 || (p[0] >> 4) != 1)
            return ps_dec_anomaly(c, PS_DA_TUNNEL_MALFORMED);
        return ps_dec_ether(c, p + 8, len - 8);
    case PROTO_ERSPAN3:
        return dec_erspan3(c, p, len);
    default:
        return ps_dec_ethertype(c, proto, p, len);
    }
}

int ps_dec_ipip(ps_dctx *c, uint8_t proto, const uint8_t *p, uint32_t len)
{
    int rc = ps_dec_tunnel_enter(c);
    if (rc != PS_OK)
        return rc;
    return proto == 4 ? ps_dec_ipv4(c, p, len) : ps_dec_ipv6(c, p, len);
}
