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

char *ps_addr_format(const ps_addr *a, char *out, size_t outlen)
{
    if (outlen == 0)
        return out;
    out[0] = '\0';
    if (a->family == 4)
        inet_ntop(AF_INET, a->bytes, out, (socklen_t)outlen);
    else if (a->family == 6)
        inet_ntop(AF_INET6, a->bytes, out, (socklen_t)outlen);
    return out;
}
