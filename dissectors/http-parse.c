/* http-parse.c - stateless, non-allocating HTTP/1.x head parsers and stream probes. */
#include <limits.h>
#include <string.h>

#include "http.h"
#include "http_parse.h"

#define A(x) (1u << (x))

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* RFC 7230 tchar. */
static bool is_tchar(uint8_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* True when s[0..n) is a case-insensitive prefix of `lit` (n <= strlen). */
static bool ieq_prefix(const uint8_t *s, size_t n, const char *lit)
{
    for (size_t i = 0; i < n; i++) {
        if (lit[i] == '\0' || ps_http_lower(s[i]) != ps_http_lower((uint8_t)lit[i]))
            return false;
    }
    return true;
}

static bool starts_ci(const uint8_t *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && ps_http_slice_ieq(s, l, lit);
}

/* Finds the line starting at `pos` within buf[0..lim). Sets *end to the
 * end of its content (CR stripped) and *next past its LF. */
static int next_line(const uint8_t *buf, size_t lim, size_t pos, size_t *end, size_t *next,
                     uint32_t *anoms)
{
    const uint8_t *lf = pos < lim ? memchr(buf + pos, '\n', lim - pos) : NULL;
    if (!lf)
        return PS_ERR_NEED_MORE;
    size_t e = (size_t)(lf - buf);
    *next = e + 1;
    if (e > pos && buf[e - 1] == '\r')
        e--;
    else
        *anoms |= A(PS_HA_BARE_LF);
    *end = e;
    return PS_OK;
}

/* Parses "HTTP/d.d" ("http" in any case is tolerated and reported through
 * *odd); returns major*10+minor or -1. */
static int parse_version(const uint8_t *s, size_t n, bool *odd)
{
    if (n != 8 || !starts_ci(s, n, "HTTP/") || s[6] != '.')
        return -1;
    if (memcmp(s, "HTTP/", 5) != 0)
        *odd = true;
    if (s[5] < '0' || s[5] > '9' || s[7] < '0' || s[7] > '9')
        return -1;
    return (s[5] - '0') * 10 + (s[7] - '0');
}

/* Parses a Content-Length value: a comma list of identical decimals is
 * tolerated (RFC 7230 3.3.2); anything else is invalid. */
static void on_content_length(ps_http_head *h, const uint8_t *v, size_t n)
{
    size_t i = 0;
    while (i <= n) {
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (s < e && (is_ws(v[s]) || v[s] == '\r' || v[s] == '\n'))
            s++;
        while (e > s && (is_ws(v[e - 1]) || v[e - 1] == '\r' || v[e - 1] == '\n'))
            e--;
        uint64_t val = 0;
        bool ok = e > s;
        for (size_t k = s; k < e && ok; k++) {
            if (v[k] < '0' || v[k] > '9' ||
                val > ((uint64_t)INT64_MAX - (uint64_t)(v[k] - '0')) / 10)
                ok = false;
            else
                val = val * 10 + (uint64_t)(v[k] - '0');
        }
        if (!ok) {
            h->anomalies |= A(PS_HA_INVALID_CL);
            if (!h->has_cl)
                h->cl_invalid = true;
        } else if (!h->has_cl && !h->cl_invalid) {
            h->has_cl = true;
            h->content_length = val;
        } else if (h->has_cl && val == h->content_length) {
            h->anomalies |= A(PS_HA_DUPLICATE_CL);
        } else {
            h->anomalies |= A(PS_HA_CONFLICTING_CL);
            h->cl_conflict = true;
        }
        i++; /* past the comma, or past the end */
    }
}

static void on_transfer_encoding(ps_http_head *h, const uint8_t *v, size_t n)
{
    size_t i = 0;
    bool tokens = false;
    h->te_present = true;
    while (i < n) {
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        for (size_t k = s; k < e; k++) {
            if (v[k] == ';') { /* transfer parameters */
                e = k;
                break;
            }
        }
        while (s < e && (is_ws(v[s]) || v[s] == '\r' || v[s] == '\n'))
            s++;
        while (e > s && (is_ws(v[e - 1]) || v[e - 1] == '\r' || v[e - 1] == '\n'))
            e--;
        if (e > s) {
            tokens = true;
            h->te_chunked = ps_http_slice_ieq(v + s, e - s, "chunked");
            if (!h->te_chunked)
                h->anomalies |= A(PS_HA_TE_UNKNOWN);
        }
        i++;
    }
    if (!tokens) {
        h->te_chunked = false;
        h->anomalies |= A(PS_HA_TE_UNKNOWN);
    }
}

/* Records a complete header (after any folded continuation lines). */
static void finish_header(ps_http_head *h, const ps_http_hdr *hd)
{
    h->total_hdrs++;
    if (h->num_hdrs < h->max_hdrs)
        h->hdrs[h->num_hdrs++] = *hd;
    else
        h->anomalies |= A(PS_HA_TOO_MANY_HEADERS);
    if (ps_http_hdr_is(hd, "content-length")) {
        on_content_length(h, hd->value, hd->value_len);
    } else if (ps_http_hdr_is(hd, "transfer-encoding")) {
        on_transfer_encoding(h, hd->value, hd->value_len);
    } else if (ps_http_hdr_is(hd, "host")) {
        if (h->host_headers++ == 0) {
            h->host_hdr = hd->value;
            h->host_hdr_len = hd->value_len;
        }
    }
}

/* Parses header lines from `pos` through the blank line. Returns the head
 * length or PS_ERR_NEED_MORE; malformed lines are flagged and skipped. */
static int parse_headers(const uint8_t *buf, size_t lim, size_t pos, ps_http_head *h)
{
    ps_http_hdr cur = {0};
    bool active = false;
    for (;;) {
        size_t le, next;
        if (next_line(buf, lim, pos, &le, &next, &h->anomalies) != PS_OK)
            return PS_ERR_NEED_MORE;
        if (le == pos) {
            if (active)
                finish_header(h, &cur);
            if (h->te_present && (h->has_cl || h->cl_invalid))
                h->anomalies |= A(PS_HA_TE_AND_CL);
            return (int)next;
        }
        if (memchr(buf + pos, 0, le - pos))
            h->anomalies |= A(PS_HA_NUL_IN_HEADER);
        if (is_ws(buf[pos])) {
            /* obs-fold: the value continues on this line */
            h->anomalies |= A(PS_HA_HEADER_FOLDED);
            size_t s = pos, e = le;
            while (s < e && is_ws(buf[s]))
                s++;
            while (e > s && is_ws(buf[e - 1]))
                e--;
            if (active && e > s) {
                if (cur.value_len == 0)
                    cur.value = buf + s;
                cur.value_len = (uint32_t)((buf + e) - cur.value);
            }
            pos = next;
            continue;
        }
        if (active)
            finish_header(h, &cur);
        active = false;
        const uint8_t *colon = memchr(buf + pos, ':', le - pos);
        size_t ne = colon ? (size_t)(colon - buf) : pos;
        while (ne > pos && is_ws(buf[ne - 1]))
            ne--;
        if (!colon || ne == pos) {
            h->anomalies |= A(PS_HA_HEADER_NO_COLON);
            pos = next;
            continue;
        }
        size_t vs = (size_t)(colon - buf) + 1, ve = le;
        while (vs < ve && is_ws(buf[vs]))
            vs++;
        while (ve > vs && is_ws(buf[ve - 1]))
            ve--;
        cur.name = buf + pos;
        cur.name_len = (uint32_t)(ne - pos);
        cur.value = buf + vs;
        cur.value_len = (uint32_t)(ve - vs);
        active = true;
        pos = next;
    }
}

static void reset_head(ps_http_head *h)
{
    ps_http_hdr *hdrs = h->hdrs;
    uint32_t max = h->max_hdrs;
    memset(h, 0, sizeof(*h));
    h->hdrs = hdrs;
    h->max_hdrs = hdrs ? max : 0;
}

/* Sets the host from an absolute-form target (RFC 7230 5.4: it wins). */
static void absolute_host(ps_http_head *h)
{
    const uint8_t *t = h->target;
    size_t n = h->target_len, s;
    if (starts_ci(t, n, "http://"))
        s = 7;
    else if (starts_ci(t, n, "https://"))
        s = 8;
    else
        return;
    size_t e = s;
    while (e < n && t[e] != '/' && t[e] != '?' && t[e] != '#')
        e++;
    for (size_t k = e; k > s; k--) {
        if (t[k - 1] == '@') { /* userinfo */
            s = k;
            break;
        }
    }
    if (e == s)
        return;
    h->host = t + s;
    h->host_len = (uint32_t)(e - s);
    h->host_from_target = true;
}

static int request_line(const uint8_t *buf, size_t lim, ps_http_head *h, size_t *next)
{
    size_t le, i = 0;
    if (next_line(buf, lim, 0, &le, next, &h->anomalies) != PS_OK) {
        /* Reject early when the method already cannot be a token. */
        while (i < lim && is_ws(buf[i]))
            i++;
        while (i < lim && is_tchar(buf[i]))
            i++;
        if (i < lim && !is_ws(buf[i]) && buf[i] != '\r')
            goto invalid;
        return PS_ERR_NEED_MORE;
    }
    if (i < le && is_ws(buf[i])) {
        h->anomalies |= A(PS_HA_REQUEST_LINE_SPACES);
        while (i < le && is_ws(buf[i]))
            i++;
    }
    size_t ms = i;
    while (i < le && is_tchar(buf[i]))
        i++;
    if (i == ms || i == le || !is_ws(buf[i]))
        goto invalid;
    h->method = buf + ms;
    h->method_len = (uint32_t)(i - ms);
    size_t sp = i;
    while (i < le && is_ws(buf[i]))
        i++;
    if (i - sp > 1 || buf[sp] == '\t')
        h->anomalies |= A(PS_HA_REQUEST_LINE_SPACES);
    size_t e = le;
    while (e > i && is_ws(buf[e - 1]))
        e--;
    if (e < le)
        h->anomalies |= A(PS_HA_REQUEST_LINE_SPACES);
    if (e == i)
        goto invalid;
    /* The protocol is the last token; the target is what lies between. */
    size_t k = e;
    while (k > i && !is_ws(buf[k - 1]))
        k--;
    size_t te = e;
    bool odd = false;
    int v;
    if (k == i && (v = parse_version(buf + k, e - k, &odd)) >= 0) {
        /* "GET HTTP/1.1": no target (Zeek logs an empty URI) */
        te = i;
        h->version = (uint8_t)v;
        h->anomalies |= A(PS_HA_REQUEST_LINE_INVALID);
    } else if (k > i && starts_ci(buf + k, e - k, "HTTP/")) {
        te = k;
        while (te > i && is_ws(buf[te - 1]))
            te--;
        if (k - te > 1 || buf[te] == '\t')
            h->anomalies |= A(PS_HA_REQUEST_LINE_SPACES);
        v = parse_version(buf + k, e - k, &odd);
        if (v < 0 || odd)
            h->anomalies |= A(PS_HA_REQUEST_LINE_INVALID);
        h->version = (uint8_t)(v < 0 ? 10 : v);
    } else {
        h->version = 9;
        h->anomalies |= A(PS_HA_MISSING_PROTOCOL);
    }
    h->target = buf + i;
    h->target_len = (uint32_t)(te - i);
    for (size_t t = i; t < te; t++) {
        if (is_ws(buf[t])) {
            h->anomalies |= A(PS_HA_REQUEST_LINE_SPACES);
            break;
        }
    }
    absolute_host(h);
    return PS_OK;
invalid:
    h->anomalies |= A(PS_HA_REQUEST_LINE_INVALID);
    return PS_ERR_BAD_INPUT;
}

static int request(const uint8_t *buf, size_t lim, ps_http_head *h)
{
    size_t pos;
    int rc = request_line(buf, lim, h, &pos);
    if (rc != PS_OK)
        return rc;
    if (h->version == 9) {
        /* HTTP/0.9 has no headers, but a line without protocol followed by
         * more than whitespace is a request that lost its protocol (libhtp's
         * heuristic): its headers are parsed as HTTP/1.0. */
        bool more = lim - pos > 16;
        for (size_t k = pos; k < lim && !more; k++)
            more = !is_ws(buf[k]) && buf[k] != '\r' && buf[k] != '\n';
        if (!more)
            return (int)pos;
        h->version = 10;
    }
    rc = parse_headers(buf, lim, pos, h);
    if (rc < 0)
        return rc;
    if (h->host_from_target && h->host_headers > 0 &&
        !(h->host_hdr_len == h->host_len && ps_http_ieq_n(h->host_hdr, h->host, h->host_len)))
        h->anomalies |= A(PS_HA_HOST_AMBIGUOUS);
    if (!h->host_from_target && h->host_headers > 0) {
        h->host = h->host_hdr;
        h->host_len = h->host_hdr_len;
    }
    if (h->host_headers > 1)
        h->anomalies |= A(PS_HA_HOST_AMBIGUOUS);
    if (h->version >= 11 && h->host_headers == 0 &&
        !ps_http_slice_ieq(h->method, h->method_len, "CONNECT"))
        h->anomalies |= A(PS_HA_HOST_MISSING);
    return rc;
}

int ps_http_parse_request(const uint8_t *buf, size_t len, size_t max_head, ps_http_head *h)
{
    reset_head(h);
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    size_t lim = len < max_head ? len : max_head;
    int rc = request(buf, lim, h);
    if (rc == PS_ERR_NEED_MORE && len > max_head) {
        h->anomalies |= A(PS_HA_HEADER_TOO_LONG);
        return PS_ERR_BAD_INPUT;
    }
    return rc;
}

static int response(const uint8_t *buf, size_t lim, ps_http_head *h)
{
    size_t le, next;
    if (next_line(buf, lim, 0, &le, &next, &h->anomalies) != PS_OK) {
        size_t n = lim < 5 ? lim : 5;
        if (n > 0 && !ieq_prefix(buf, n, "HTTP/"))
            goto invalid;
        return PS_ERR_NEED_MORE;
    }
    if (le < 12)
        goto invalid;
    bool odd = false;
    int v = parse_version(buf, 8, &odd);
    if (v < 0 || !is_ws(buf[8]))
        goto invalid;
    if (odd) /* "http/1.1 200": Go refuses it, Zeek and libhtp accept it */
        h->anomalies |= A(PS_HA_RESPONSE_INVALID);
    size_t i = 8;
    while (i < le && is_ws(buf[i]))
        i++;
    if (le - i < 3)
        goto invalid;
    unsigned st = 0;
    for (size_t k = i; k < i + 3; k++) {
        if (buf[k] < '0' || buf[k] > '9')
            goto invalid;
        st = st * 10 + (unsigned)(buf[k] - '0');
    }
    i += 3;
    if (st < 100 || (i < le && !is_ws(buf[i])))
        goto invalid;
    while (i < le && is_ws(buf[i]))
        i++;
    h->version = (uint8_t)v;
    h->status = (uint16_t)st;
    h->reason = buf + i;
    h->reason_len = (uint32_t)(le - i);
    return parse_headers(buf, lim, next, h);
invalid:
    h->anomalies |= A(PS_HA_RESPONSE_INVALID);
    return PS_ERR_BAD_INPUT;
}

int ps_http_parse_response(const uint8_t *buf, size_t len, size_t max_head, ps_http_head *h)
{
    reset_head(h);
    if (max_head > INT_MAX)
        max_head = INT_MAX;
    size_t lim = len < max_head ? len : max_head;
    int rc = response(buf, lim, h);
    if (rc == PS_ERR_NEED_MORE && len > max_head) {
        h->anomalies |= A(PS_HA_HEADER_TOO_LONG);
        return PS_ERR_BAD_INPUT;
    }
    return rc;
}

static const char *const known_methods[] = {"GET",     "HEAD",  "POST",    "PUT",  "DELETE",
                                            "OPTIONS", "PATCH", "CONNECT", "TRACE"};

/* A method is a token (RFC 9110 tchar; Go accepts any): letters, digits,
 * '_' and '-', starting with a letter, so CCM_POST and lower-case "get" are
 * requests too. Unknown tokens must be followed by a target that looks like
 * one, so that other line protocols (SMTP "EHLO x", Redis "PING") are not. */
static bool method_char(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

#define PS_METHOD_PROBE_MAX 20u

int ps_http_probe_request(const uint8_t *buf, size_t len)
{
    size_t i = 0;
    if (len > 0 && !((buf[0] >= 'A' && buf[0] <= 'Z') || (buf[0] >= 'a' && buf[0] <= 'z')))
        return 0;
    while (i < len && i <= PS_METHOD_PROBE_MAX && method_char(buf[i]))
        i++;
    if (i == len)
        return i <= PS_METHOD_PROBE_MAX ? PS_ERR_NEED_MORE : 0;
    if (i > PS_METHOD_PROBE_MAX || i < 3 || buf[i] != ' ')
        return 0;
    for (size_t k = 0; k < PS_ARRAY_LEN(known_methods); k++) {
        if (strlen(known_methods[k]) == i && memcmp(buf, known_methods[k], i) == 0)
            return 1;
    }
    if (i + 1 == len)
        return PS_ERR_NEED_MORE;
    uint8_t c = buf[i + 1];
    return (c == '/' || c == 'h' || c == 'H' || c == '*') ? 1 : 0;
}

int ps_http_probe_response(const uint8_t *buf, size_t len)
{
    size_t n = len < 7 ? len : 7;
    if (n > 0 && memcmp(buf, "HTTP/1.", n) != 0)
        return 0;
    return len < 7 ? PS_ERR_NEED_MORE : 1;
}
