/* inflate.c - gzip/deflate body decoding on preallocated memory, with an output cap. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "inflate.h"

/* zlib needs one inflate_state (about 7 KiB) and a 32 KiB window; the
 * arena is sized with room to spare and reset at every body. */
#define ARENA_BYTES (64u * 1024u)
#define OUT_BYTES   (16u * 1024u)

enum { ZS_IDLE = 0, ZS_SNIFF, ZS_RUN, ZS_MEMBER_END, ZS_END, ZS_CAP, ZS_ERR };

struct ps_inflate {
    z_stream strm;
    int kind;
    int state;
    uint64_t max_out, total_out;
    uint8_t sniff[2];
    uint8_t sniff_len;
    size_t arena_used;
    _Alignas(16) uint8_t arena[ARENA_BYTES];
    uint8_t out[OUT_BYTES];
};

static voidpf arena_alloc(voidpf opaque, uInt items, uInt size)
{
    ps_inflate *z = opaque;
    size_t n = (size_t)items * (size_t)size;
    if (size != 0 && n / size != items)
        return Z_NULL;
    n = (n + 15u) & ~(size_t)15u;
    if (n > ARENA_BYTES - z->arena_used)
        return Z_NULL;
    void *p = z->arena + z->arena_used;
    z->arena_used += n;
    return p;
}

static void arena_free(voidpf opaque, voidpf addr)
{
    (void)opaque;
    (void)addr; /* released wholesale at the next ps_inflate_begin() */
}

ps_inflate *ps_inflate_new(void)
{
    ps_inflate *z = calloc(1, sizeof(*z));
    return z;
}

void ps_inflate_free(ps_inflate *z)
{
    free(z);
}

static int start_zlib(ps_inflate *z, int window_bits)
{
    memset(&z->strm, 0, sizeof(z->strm));
    z->arena_used = 0;
    z->strm.zalloc = arena_alloc;
    z->strm.zfree = arena_free;
    z->strm.opaque = z;
    if (inflateInit2(&z->strm, window_bits) != Z_OK) {
        z->state = ZS_ERR;
        return PS_ERR_BAD_INPUT;
    }
    z->state = ZS_RUN;
    return PS_OK;
}

int ps_inflate_begin(ps_inflate *z, int kind, uint64_t max_out)
{
    z->kind = kind;
    z->max_out = max_out;
    z->total_out = 0;
    z->sniff_len = 0;
    if (kind == PS_INFLATE_GZIP)
        return start_zlib(z, 15 + 32); /* gzip or zlib header, auto-detected */
    if (kind == PS_INFLATE_DEFLATE) {
        z->state = ZS_SNIFF;
        return PS_OK;
    }
    z->state = ZS_ERR;
    return PS_ERR_BAD_INPUT;
}

/* Runs zlib over `in`; returns the sticky state as a status code. */
static int run(ps_inflate *z, const uint8_t *in, size_t len, ps_inflate_sink sink, void *ctx)
{
    while (len > 0 || z->strm.avail_out == 0) {
        if (z->state != ZS_RUN)
            break;
        uInt chunk = len > (size_t)UINT32_MAX ? UINT32_MAX : (uInt)len;
        z->strm.next_in = (Bytef *)(uintptr_t)in;
        z->strm.avail_in = chunk;
        z->strm.next_out = z->out;
        z->strm.avail_out = OUT_BYTES;
        int ret = inflate(&z->strm, Z_NO_FLUSH);
        size_t used = chunk - z->strm.avail_in;
        in += used;
        len -= used;
        size_t produced = OUT_BYTES - z->strm.avail_out;
        if (produced > 0) {
            uint64_t room = z->max_out - z->total_out;
            if ((uint64_t)produced > room) {
                if (room > 0 && sink)
                    sink(ctx, z->out, (size_t)room);
                z->total_out = z->max_out;
                z->state = ZS_CAP;
                break;
            }
            if (sink)
                sink(ctx, z->out, produced);
            z->total_out += produced;
        }
        if (ret == Z_STREAM_END) {
            /* Another gzip member may follow (multistream, like Go). */
            if (z->kind == PS_INFLATE_GZIP && len == 0) {
                z->state = ZS_MEMBER_END;
                break;
            }
            if (z->kind == PS_INFLATE_GZIP && in[0] == 0x1f) {
                if (inflateReset(&z->strm) != Z_OK) {
                    z->state = ZS_ERR;
                    break;
                }
                continue;
            }
            z->state = ZS_END;
            break;
        }
        if (ret == Z_BUF_ERROR) {
            if (z->strm.avail_out == 0)
                continue;
            break; /* needs more input */
        }
        if (ret != Z_OK) {
            z->state = ZS_ERR;
            break;
        }
        if (used == 0 && produced == 0)
            break; /* no progress possible without more input */
    }
    if (z->state == ZS_CAP)
        return PS_ERR_CAP;
    if (z->state == ZS_ERR)
        return PS_ERR_BAD_INPUT;
    return PS_OK;
}

/* A zlib header is CM=8, CINFO<=7 and a 16-bit check divisible by 31. */
static bool looks_zlib(const uint8_t b[2])
{
    return (b[0] & 0x0f) == 8 && (b[0] >> 4) <= 7 && ((unsigned)b[0] * 256u + b[1]) % 31u == 0;
}

int ps_inflate_feed(ps_inflate *z, const uint8_t *in, size_t len, ps_inflate_sink sink, void *ctx)
{
    if (z->state == ZS_SNIFF) {
        while (len > 0 && z->sniff_len < 2) {
            z->sniff[z->sniff_len++] = *in++;
            len--;
        }
        if (z->sniff_len < 2)
            return PS_OK;
        int rc = start_zlib(z, looks_zlib(z->sniff) ? 15 : -15);
        if (rc != PS_OK)
            return rc;
        rc = run(z, z->sniff, 2, sink, ctx);
        if (rc != PS_OK)
            return rc;
    }
    if (z->state == ZS_MEMBER_END && len > 0) {
        if (in[0] != 0x1f) {
            z->state = ZS_END;
        } else if (inflateReset(&z->strm) != Z_OK) {
            z->state = ZS_ERR;
        } else {
            z->state = ZS_RUN;
        }
    }
    switch (z->state) {
    case ZS_RUN:
        return run(z, in, len, sink, ctx);
    case ZS_MEMBER_END:
    case ZS_END:
        return PS_OK;
    case ZS_CAP:
        return PS_ERR_CAP;
    default:
        return PS_ERR_BAD_INPUT;
    }
}

int ps_inflate_finish(ps_inflate *z)
{
    switch (z->state) {
    case ZS_MEMBER_END:
    case ZS_END:
        return PS_OK;
    case ZS_CAP:
        return PS_ERR_CAP;
    case ZS_SNIFF:
    case ZS_RUN:
        return PS_ERR_NEED_MORE;
    default:
        return PS_ERR_BAD_INPUT;
    }
}

uint64_t ps_inflate_total_out(const ps_inflate *z)
{
    return z->total_out;
}
