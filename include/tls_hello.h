/* tls_hello.h - TLS ClientHello/ServerHello parsing, JA3/JA4 fingerprints, per-flow TLS metadata.
 */
#ifndef PS_TLS_HELLO_H
#define PS_TLS_HELLO_H

#include "ps_common.h"
#include "event.h"
#include "flow.h"
#include "http.h"

#define PS_TLS_MAX_CIPHERS 128
#define PS_TLS_MAX_EXTS    64
#define PS_TLS_MAX_GROUPS  64
#define PS_TLS_MAX_SIGALGS 64
#define PS_TLS_MAX_FORMATS 16
#define PS_TLS_HELLO_MAX   16384 /* largest handshake message the dissector buffers */

/* What a ClientHello offers. Lists are in wire order with GREASE values
 * (RFC 8701) removed; beyond a list's cap entries are dropped and
 * `truncated` is set, so fingerprints then cover the first entries only. */
typedef struct ps_tls_hello {
    uint16_t legacy_version; /* client_version field */
    uint16_t version;        /* highest supported_versions entry, else legacy_version */
    uint16_t ciphers[PS_TLS_MAX_CIPHERS];
    uint16_t exts[PS_TLS_MAX_EXTS];
    uint16_t groups[PS_TLS_MAX_GROUPS];
    uint16_t sigalgs[PS_TLS_MAX_SIGALGS];
    uint8_t formats[PS_TLS_MAX_FORMATS];
    uint16_t nciphers, nexts, ngroups, nsigalgs, nformats;
    uint16_t grease; /* GREASE values skipped */
    bool truncated;
    bool has_sni, has_alpn, has_supported_versions;
    char sni[PS_TLS_SNI_MAX];         /* first host_name, cut at the cap */
    char alpn[PS_TLS_ALPN_MAX];       /* protocols comma-joined, cut at the cap */
    uint8_t alpn_first0, alpn_firstN; /* first and last byte of the first protocol */
    uint8_t alpn_first_len;           /* its length (0: none) */
} ps_tls_hello;

/* What a ServerHello chose. */
typedef struct ps_tls_server_hello {
    uint16_t legacy_version;
    uint16_t version; /* supported_versions selection (TLS 1.3), else legacy_version */
    uint16_t cipher;
    uint8_t compression;
    bool hello_retry; /* a HelloRetryRequest (RFC 8446 4.1.3 magic random) */
} ps_tls_server_hello;

/* Parses one handshake message that must be a ClientHello, starting at its
 * 4-byte handshake header (record headers already removed). Returns the
 * message length consumed (> 0), PS_ERR_NEED_MORE when buf is a prefix of
 * a longer message, or PS_ERR_BAD_INPUT (another message type, or a length
 * that does not fit its container). Never allocates; fills *h. */
int ps_tls_client_hello_parse(const uint8_t *buf, size_t len, ps_tls_hello *h);

/* As above for a ServerHello (or HelloRetryRequest). */
int ps_tls_server_hello_parse(const uint8_t *buf, size_t len, ps_tls_server_hello *sh);

/* JA3 (salesforce): the canonical string "version,ciphers,exts,groups,formats"
 * into str (may be NULL) and its MD5 as 32 hex digits + NUL into md5hex.
 * Returns PS_OK, PS_ERR_CAP (str too small, cut) or PS_ERR_STATE. */
int ps_tls_ja3(const ps_tls_hello *h, char *str, size_t strcap, char md5hex[33]);

/* JA4 (FoxIO, TLS over TCP): "t13d1516h2_8daaf6152771_e5627efa2ab1" + NUL
 * into out (>= 37 bytes). Returns PS_OK or PS_ERR_STATE / PS_ERR_CAP. */
int ps_tls_ja4(const ps_tls_hello *h, char *out, size_t outcap);

/* True when v is a GREASE value (0x?a?a with equal bytes). */
static inline bool ps_tls_is_grease(uint16_t v)
{
    return (v & 0x0f0fu) == 0x0a0au && (v >> 8) == (v & 0xffu);
}

/* TLS metadata of flow f while its TLS stream is tracked (the flow is
 * open), else NULL. The pointer is valid until the flow closes. */
const ps_tls_info *ps_tls_flow_meta(const ps_flow *f);

/* True when an HTTP exchange is Go's answer to plaintext sent to a TLS
 * port: "HTTP/1.0 400 Bad Request", no headers, the 48-byte body "Client
 * sent an HTTP request to an HTTPS server.\n" (crypto/tls + net/http).
 * For the app layer: the server speaks TLS on this port. */
bool ps_tls_is_go_plaintext_reject(const ps_http_tx *tx);

/* Writes info as the "tls" object of a record (fields in docs/output.md). */
struct ps_jw;
void ps_tls_record_object(struct ps_jw *w, const ps_tls_info *info);

/* "TLSv1.3", "TLSv1.2", ... for a wire version; NULL when unknown. */
const char *ps_tls_version_name(uint16_t v);

/* Counters of the TLS dissector, per worker. */
typedef struct ps_tls_stats {
    uint64_t client_hellos, server_hellos, alerts;
    uint64_t bad_records;     /* not a TLS record where one was due */
    uint64_t bad_hellos;      /* hello that does not parse */
    uint64_t hello_too_large; /* handshake message over PS_TLS_HELLO_MAX */
    uint64_t pool_exhausted;  /* no buffer for a split hello */
    uint64_t events, detections;
} ps_tls_stats;

/* The TLS dissector's counters in its per-worker context (see
 * ps_stream_dissector.ctx_new), or NULL. */
const ps_tls_stats *ps_tls_stats_get(const void *ctx);

#endif
