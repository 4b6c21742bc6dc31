/* util.c - status strings and address formatting shared by every stage. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "ps_common.h"

const char *ps_strerror(int st)
{
    switch (st) {
    case PS_OK:
        return "ok";
    case PS_ERR_NEED_MORE:
        return "need more input";
    case PS_ERR_BAD_INPUT:
        return "malformed input";
    case PS_ERR_NOMEM:
        return "out of memory";
    case PS_ERR_CAP:
        return "limit reached";
    case PS_ERR_IO:
        return "input/output error";
    case PS_ERR_CONFIG:
        return "configuration error";
    case PS_ERR_UNSUPPORTED:
        return "unsupported";
    case PS_ERR_STATE:
        return "invalid state";
    case PS_ERR_SKIP:
        return "skipped";
    case PS_ERR_NOT_FOUND:
        return "not found";
    default:
        return st > 0 ? "ok" : "unknown error";
    }
}

/* Dotted quad of b[0..3] into out (>= 16 bytes), NUL-terminated; returns
 * the length. glibc's inet_ntop() goes through sprintf(), about 1,800
 * instructions a call, and every detection record formats two addresses. */
static size_t ipv4_text(const uint8_t *b, char *out)
{
    char *p = out;

    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (v >= 100) {
            *p++ = (char)('0' + v / 100);
            v %= 100;
            *p++ = (char)('0' + v / 10);
        } else if (v >= 10) {
            *p++ = (char)('0' + v / 10);
        }
        *p++ = (char)('0' + v % 10);
        *p++ = '.';
    }
    p[-1] = '\0';
    return (size_t)(p - 1 - out);
}

char *ps_addr_format(const ps_addr *a, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    out[0] = '\0';
    if (a->family == 4) {
        char tmp[16];
        size_t n = ipv4_text(a->bytes, tmp);
        if (n < outlen) /* else empty, as inet_ntop() leaves it */
            memcpy(out, tmp, n + 1);
    } else if (a->family == 6) {
        inet_ntop(AF_INET6, a->bytes, out, (socklen_t)outlen);
    }
    return out;
}
