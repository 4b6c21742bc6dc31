/* decode.h - link, tunnel, IP, TCP and UDP decoding of one captured frame. */
#ifndef PS_DECODE_H
#define PS_DECODE_H

#include "ps_common.h"

/* libpcap DLT/LINKTYPE values we accept (numbers are the on-disk LINKTYPE). */
enum {
    PS_LINK_NULL = 0, /* BSD loopback, host-order AF in 4 bytes */
    PS_LINK_ETHERNET = 1,
    PS_LINK_RAW_OLD = 12,  /* DLT_RAW on some BSDs */
    PS_LINK_RAW_OLD2 = 14, /* DLT_RAW on OpenBSD */
    PS_LINK_RAW = 101,     /* LINKTYPE_RAW */
    PS_LINK_LOOP = 108,    /* OpenBSD loopback, network-order AF */
    PS_LINK_SLL = 113,
    PS_LINK_IPV4 = 228,
    PS_LINK_IPV6 = 229,
    PS_LINK_SLL2 = 276,
};

/* Returns true when ps_decode() understands `linktype`. */
bool ps_linktype_supported(int linktype);

#define PS_TCP_FIN 0x01
#define PS_TCP_SYN 0x02
#define PS_TCP_RST 0x04
#define PS_TCP_PSH 0x08
#define PS_TCP_ACK 0x10
#define PS_TCP_URG 0x20

#define PS_MAX_VLAN 2

/* One decoded packet. Pointers refer to the caller's frame or, for a
 * reassembled IP datagram, to the decoder's own buffer; both stay valid
 * until the next ps_decode() call on the same decoder. */
typedef struct ps_packet {
    ps_time_us ts;
    uint32_t caplen, wirelen;

    /* Layer 2 of the outermost frame (Ethernet only, else zero). */
    uint8_t eth_dst[6], eth_src[6];
    uint16_t vlan[PS_MAX_VLAN];
    uint8_t vlan_count;
    uint8_t tunnel_depth; /* number of tunnel layers removed */

    /* Innermost IP header. */
    uint8_t ip_version; /* 4 or 6 */
    ps_addr src, dst;
    uint8_t ip_proto; /* 6 TCP, 17 UDP, other */
    uint8_t ttl;      /* hop limit for IPv6 */
    uint8_t tos;      /* traffic class for IPv6 */
    bool df;          /* IPv4 don't-fragment */
    bool reassembled; /* built from IP fragments */
    uint16_t ip_id;   /* IPv4 only */
    uint16_t ip_total_len;
    uint8_t ip_hdr_len;

    /* Transport (valid when ip_proto is TCP or UDP). */
    uint16_t sport, dport;
    uint8_t tcp_flags;
    uint32_t seq, ack;
    uint16_t window;
    uint16_t urg_ptr;
    const uint8_t *tcp_opts;
    uint8_t tcp_opts_len;
    bool tcp_csum_pending; /* checksum deferred: see ps_decoder_defer_tcp_csum() */

    const uint8_t *payload;
    uint32_t payload_len;
} ps_packet;

/* Anomaly reasons counted by the decoder; names via ps_decode_anomaly_name(). */
enum ps_decode_anomaly {
    PS_DA_LINK_TRUNCATED = 0,
    PS_DA_LINK_UNKNOWN_ETHERTYPE,
    PS_DA_VLAN_TOO_DEEP,
    PS_DA_MPLS_TOO_DEEP,
    PS_DA_TUNNEL_TOO_DEEP,
    PS_DA_TUNNEL_MALFORMED,
    PS_DA_IPV4_TRUNCATED,
    PS_DA_IPV4_BAD_VERSION,
    PS_DA_IPV4_BAD_HLEN,
    PS_DA_IPV4_BAD_TOTAL_LEN,
    PS_DA_IPV4_BAD_CHECKSUM,
    PS_DA_IPV4_BAD_OPTIONS,
    PS_DA_IPV6_TRUNCATED,
    PS_DA_IPV6_BAD_EXT_CHAIN,
    PS_DA_IPV6_TOO_MANY_EXT,
    PS_DA_FRAG_OVERLAP,
    PS_DA_FRAG_TOO_BIG,
    PS_DA_FRAG_TABLE_FULL,
    PS_DA_FRAG_TIMEOUT,
    PS_DA_TCP_TRUNCATED,
    PS_DA_TCP_BAD_HLEN,
    PS_DA_TCP_BAD_CHECKSUM,
    PS_DA_UDP_TRUNCATED,
    PS_DA_UDP_BAD_LEN,
    PS_DA_UDP_BAD_CHECKSUM,
    PS_DA_DUPLICATE,
    PS_DA_IPV6_BAD_VERSION, /* appended: IPv6 link/EtherType carrying another version */
    PS_DA_MAX
};

typedef struct ps_decode_stats {
    uint64_t frames;        /* frames handed to ps_decode() */
    uint64_t decoded;       /* frames that produced a packet */
    uint64_t non_ip;        /* ARP, LLDP... skipped without anomaly */
    uint64_t fragments;     /* IP fragments seen */
    uint64_t reassembled;   /* datagrams rebuilt from fragments */
    uint64_t duplicates;    /* identical copies dropped */
    uint64_t tunnels;       /* tunnel layers removed */
    bool checksum_disabled; /* auto mode gave up validating (offload) */
    uint64_t anomalies[PS_DA_MAX];
    /* IP headers without a length (GRO / BIG TCP super-segments captured on
     * the host), sized from the frame: IPv4 TCP with total length 0, IPv6
     * with payload length 0 and no Jumbo option. */
    uint64_t ipv4_len_zero_frame;
    uint64_t ipv6_len_zero_frame;
} ps_decode_stats;

/* Checksum policy, as Suricata's checksum-validation: yes/no/auto. */
enum ps_checksum_mode { PS_CSUM_AUTO = 0, PS_CSUM_YES, PS_CSUM_NO };

typedef struct ps_decode_config {
    int checksum_mode;           /* enum ps_checksum_mode */
    uint32_t max_tunnel_depth;   /* default 3 */
    uint32_t frag_max_datagrams; /* concurrent reassemblies, default 1024 */
    uint32_t frag_timeout_ms;    /* default 30000 */
    uint32_t dedup_window_us;    /* 0 disables, default 2000 */
    uint32_t dedup_slots;        /* remembered packets, default 4096 */
} ps_decode_config;

/* Fills `cfg` with the defaults documented in config/portside.conf. */
void ps_decode_config_default(ps_decode_config *cfg);

typedef struct ps_decoder ps_decoder;

/* Creates a decoder; all its memory (fragment and duplicate tables) is
 * allocated here and nowhere else. Returns NULL on allocation failure. The
 * caller owns the result and frees it with ps_decoder_free(). */
ps_decoder *ps_decoder_new(const ps_decode_config *cfg);
void ps_decoder_free(ps_decoder *d);

/* Decodes one frame of link type `linktype` down to the innermost IP packet.
 * Returns PS_OK with `*pkt` filled; PS_ERR_SKIP when the frame is consumed
 * without a packet (non-IP, duplicate, fragment held for reassembly, or
 * malformed - the reason is counted in the stats); PS_ERR_UNSUPPORTED for an
 * unknown link type. Never reads outside frame[0..caplen). */
int ps_decode(ps_decoder *d, int linktype, ps_time_us ts, const uint8_t *frame, uint32_t caplen,
              uint32_t wirelen, ps_packet *pkt);

/* With `on`, once checksum validation no longer samples (auto mode has
 * decided to validate, or mode yes), TCP checksums are not verified in
 * ps_decode(): the packet comes back with tcp_csum_pending set and the
 * caller either verifies it with ps_decode_tcp_csum() before using it, or
 * knowingly skips it (a segment whose bytes nobody reads). Off by default. */
void ps_decoder_defer_tcp_csum(ps_decoder *d, bool on);

/* Verifies the deferred TCP checksum of `pkt`, the packet the last
 * ps_decode() call on `d` returned. True when it holds (or none was
 * pending); false when it does not: the packet must then be dropped, and it
 * is counted as ps_decode() would have (decode.tcp.bad_checksum, not
 * decoded). Clears tcp_csum_pending. */
bool ps_decode_tcp_csum(ps_decoder *d, ps_packet *pkt);

/* Read-only view of the decoder's counters. */
const ps_decode_stats *ps_decoder_stats(const ps_decoder *d);

/* Stable dotted name of anomaly `a` (e.g. "decode.ipv4.bad_checksum"). */
const char *ps_decode_anomaly_name(int a);

#endif
