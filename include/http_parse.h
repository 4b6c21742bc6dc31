/* http_parse.h - stateless HTTP/1.x request and response head parsers. */
#ifndef PS_HTTP_PARSE_H
#define PS_HTTP_PARSE_H

#include <string.h>

#include "ps_common.h"

/* One header as slices of the parsed buffer. A folded value (obsolete line
 * folding) spans its continuation lines, CR/LF included. */
typedef struct ps_http_hdr {
    const uint8_t *name, *value;
    uint32_t name_len, value_len;
} ps_http_hdr;

/* Result of parsing one head. The caller sets `hdrs` and `max_hdrs` before
 * the call; the parser fills the rest. Slices point into the input buffer.
 * The framing fields summarise every header, also those beyond max_hdrs. */
typedef struct ps_http_head {
    ps_http_hdr *hdrs;
    uint32_t max_hdrs;
    uint32_t num_hdrs; /* headers stored (at most max_hdrs) */
    uint32_t total_hdrs;

    /* Request line. */
    const uint8_t *method, *target;
    uint32_t method_len, target_len;
    /* Status line. */
    uint16_t status;
    const uint8_t *reason;
    uint32_t reason_len;
    uint8_t version; /* major*10+minor: 9 (HTTP/0.9), 10, 11, ... */

    /* Framing. */
    bool has_cl, cl_invalid;
    bool cl_conflict;        /* Content-Length values disagree: Go answers 400 and closes */
    uint64_t content_length; /* first valid value */
    bool te_present;         /* Transfer-Encoding seen */
    bool te_chunked;         /* last transfer coding is chunked */
    /* Host: absolute-form authority when present, else first Host header. */
    const uint8_t *host;
    uint32_t host_len;
    bool host_from_target;
    const uint8_t *host_hdr; /* first Host header value */
    uint32_t host_hdr_len;
    uint32_t host_headers;

    uint32_t anomalies; /* bits 1u << enum ps_http_anomaly */
} ps_http_head;

/* Parses a request head (request line, headers, blank line) at the start
 * of buf[0..len). A line without protocol ("GET /x", flagged MISSING_PROTOCOL)
 * is a complete HTTP/0.9 head by itself (version 9) unless more than
 * whitespace follows it in buf; then headers follow and version is 10.
 * The head may not exceed max_head bytes. Returns the head's length (> 0),
 * PS_ERR_NEED_MORE when buf is a valid prefix, or PS_ERR_BAD_INPUT (h->anomalies
 * then says why: REQUEST_LINE_INVALID or HEADER_TOO_LONG). Never allocates. */
int ps_http_parse_request(const uint8_t *buf, size_t len, size_t max_head, ps_http_head *h);

/* Same for a response head (status line, headers, blank line); a bad status
 * line sets RESPONSE_INVALID. */
int ps_http_parse_response(const uint8_t *buf, size_t len, size_t max_head, ps_http_head *h);

/* ASCII lower case of one byte. */
static inline uint8_t ps_http_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* True when a[0..n) and b[0..n) are equal ignoring ASCII case. */
static inline bool ps_http_ieq_n(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ps_http_lower(a[i]) != ps_http_lower(b[i]))
            return false;
    }
    return true;
}

/* Case-insensitive comparison of a slice with a NUL-terminated string.
 * Inline, so a literal's length is a constant: most calls (a header name
 * against the names a dissector wants) end at the length test. */
static inline bool ps_http_slice_ieq(const uint8_t *s, size_t n, const char *lit)
{
    return n == strlen(lit) && ps_http_ieq_n(s, (const uint8_t *)lit, n);
}

/* True when header `h` is named `name` (ASCII case-insensitive, NUL-terminated). */
static inline bool ps_http_hdr_is(const ps_http_hdr *h, const char *name)
{
    return ps_http_slice_ieq(h->name, h->name_len, name);
}

#endif
