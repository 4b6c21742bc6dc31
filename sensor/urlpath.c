/* urlpath.c - routes request targets the way Go's net/http and gorilla/mux see them. */
#include <string.h>

#include "urlpath.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Strips "scheme://authority" from an absolute-form target. */
static size_t skip_authority(const char *t, size_t len, uint32_t *flags)
{
    size_t i = 0;
    while (i < len && t[i] != '/' && t[i] != '?' && t[i] != ':')
        i++;
    if (i + 2 < len && t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/' && i > 0) {
        size_t j = i + 3;
        while (j < len && t[j] != '/' && t[j] != '?')
            j++;
        *flags |= PS_PATH_F_ABSOLUTE;
        return j;
    }
    return 0;
}

void ps_path_normalize(const char *target, size_t len, ps_path *p)
{
    p->buf[0] = '\0';
    p->nseg = 0;
    p->query = NULL;
    p->query_len = 0;
    p->flags = 0;

    size_t start = skip_authority(target, len, &p->flags);
    size_t end = start;
    while (end < len && target[end] != '?' && target[end] != '#')
        end++;
    if (end < len && target[end] == '?') {
        size_t qend = end + 1;
        while (qend < len && target[qend] != '#')
            qend++;
        p->query = target + end + 1;
        p->query_len = qend - end - 1;
    }

    /* Percent-decode into a scratch copy (Go routes on URL.Path, decoded). */
    char dec[sizeof(p->buf)];
    size_t dl = 0;
    for (size_t i = start; i < end; i++) {
        char c = target[i];
        if (c == '%') {
            int hi = i + 2 < end ? hexval(target[i + 1]) : -1;
            int lo = i + 2 < end ? hexval(target[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                p->flags |= PS_PATH_F_BAD_ESCAPE;
            } else {
                c = (char)(hi * 16 + lo);
                i += 2;
                p->flags |= PS_PATH_F_DECODED;
            }
        }
        if (dl + 1 >= sizeof(dec)) {
            p->flags |= PS_PATH_F_TRUNCATED;
            break;
        }
        dec[dl++] = c;
    }
    if (dl > 1 && dec[dl - 1] == '/')
        p->flags |= PS_PATH_F_TRAILING;
    if (dl == 0 || dec[0] != '/')
        p->flags |= PS_PATH_F_CLEANED; /* Go's mux prefixes the slash and redirects */

    /* Split into segments, dropping empty and "." and resolving "..". */
    size_t out = 0;
    size_t i = 0;
    while (i < dl) {
        while (i < dl && dec[i] == '/')
            i++;
        size_t s = i;
        while (i < dl && dec[i] != '/')
            i++;
        size_t n = i - s;
        if (i < dl && i + 1 < dl && dec[i + 1] == '/')
            p->flags |= PS_PATH_F_CLEANED;
        if (s > 1 && dec[s - 1] == '/' && dec[s - 2] == '/')
            p->flags |= PS_PATH_F_CLEANED;
        if (n == 0)
            continue;
        if (n == 1 && dec[s] == '.') {
            p->flags |= PS_PATH_F_CLEANED;
            continue;
        }
        if (n == 2 && dec[s] == '.' && dec[s + 1] == '.') {
            p->flags |= PS_PATH_F_CLEANED;
            if (p->nseg > 0) {
                p->nseg--;
                out = (size_t)(p->seg[p->nseg] - p->buf);
                out = out > 0 ? out - 1 : 0;
            }
            continue;
        }
        if (p->nseg == PS_PATH_MAX_SEGMENTS || out + 1 + n + 1 > sizeof(p->buf)) {
            p->flags |= PS_PATH_F_TRUNCATED;
            break;
        }
        p->buf[out++] = '/';
        memcpy(p->buf + out, dec + s, n);
        p->seg[p->nseg] = p->buf + out;
        p->seg_len[p->nseg] = n;
        p->nseg++;
        out += n;
    }
    if (out == 0)
        p->buf[out++] = '/';
    p->buf[out] = '\0';
}

static bool seg_eq(const ps_path *p, uint32_t i, const char *s, size_t n)
{
    return p->seg_len[i] == n && memcmp(p->seg[i], s, n) == 0;
}

bool ps_path_match(const ps_path *p, uint32_t first, const char *pattern)
{
    const char *pat[PS_PATH_MAX_SEGMENTS];
    size_t plen[PS_PATH_MAX_SEGMENTS];
    uint32_t np = 0;
    int star = -1;
    for (const char *c = pattern; *c;) {
        while (*c == '/')
            c++;
        if (!*c)
            break;
        const char *s = c;
        while (*c && *c != '/')
            c++;
        if (np == PS_PATH_MAX_SEGMENTS)
            return false;
        pat[np] = s;
        plen[np] = (size_t)(c - s);
        if (plen[np] == 3 && memcmp(s, "{*}", 3) == 0)
            star = (int)np;
        np++;
    }
    if (first > p->nseg)
        return false;
    uint32_t avail = p->nseg - first;
    if (star < 0) {
        if (avail != np)
            return false;
    } else if (avail < np) {
        return false;
    }
    uint32_t head = star < 0 ? np : (uint32_t)star;
    for (uint32_t i = 0; i < head; i++) {
        bool any = plen[i] == 2 && memcmp(pat[i], "{}", 2) == 0;
        if (!any && !seg_eq(p, first + i, pat[i], plen[i]))
            return false;
    }
    if (star < 0)
        return true;
    uint32_t tail = np - (uint32_t)star - 1;
    for (uint32_t k = 0; k < tail; k++) {
        uint32_t pi = np - 1 - k;
        uint32_t si = p->nseg - 1 - k;
        bool any = plen[pi] == 2 && memcmp(pat[pi], "{}", 2) == 0;
        if (!any && !seg_eq(p, si, pat[pi], plen[pi]))
            return false;
    }
    return true;
}

int ps_path_query_param(const ps_path *p, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *q = p->query;
    size_t ql = p->query_len;
    size_t i = 0;
    while (q && i < ql) {
        size_t s = i;
        while (i < ql && q[i] != '&' && q[i] != ';')
            i++;
        size_t e = i;
        i++;
        size_t eq = s;
        while (eq < e && q[eq] != '=')
            eq++;
        if (eq - s != nl || memcmp(q + s, name, nl) != 0)
            continue;
        size_t vs = eq < e ? eq + 1 : e;
        size_t vl = e - vs;
        if (outlen) {
            size_t c = PS_MIN(vl, outlen - 1);
            memcpy(out, q + vs, c);
            out[c] = '\0';
        }
        return (int)PS_MIN(vl, (size_t)INT32_MAX);
    }
    return -1;
}
