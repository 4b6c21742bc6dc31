/* inflate.h - streaming gzip/deflate decoder with an output cap (the only zlib user). */
#ifndef PS_INFLATE_H
#define PS_INFLATE_H

#include "ps_common.h"

/* Content codings we decode. GZIP also accepts a zlib stream (auto-detect)
 * and concatenated gzip members (as Go's gzip.Reader does); DEFLATE accepts
 * both zlib-wrapped (RFC 1950) and raw (RFC 1951) data, chosen from the
 * first two bytes, because servers send both under that name. */
enum ps_inflate_kind { PS_INFLATE_GZIP = 1, PS_INFLATE_DEFLATE = 2 };

/* Receives decoded bytes; `data` is valid only during the call. */
typedef void (*ps_inflate_sink)(void *ctx, const uint8_t *data, size_t len);

typedef struct ps_inflate ps_inflate;

/* Reserves one decoder together with every byte zlib will ever ask it for,
 * so decoding a body never allocates. Returns NULL when out of memory.
 * Free with ps_inflate_free(). */
ps_inflate *ps_inflate_new(void);
void ps_inflate_free(ps_inflate *z);

/* Starts a new body of coding `kind` whose decoded size may not exceed
 * `max_out` bytes. Returns PS_OK or PS_ERR_BAD_INPUT (unknown kind). */
int ps_inflate_begin(ps_inflate *z, int kind, uint64_t max_out);

/* Decodes the next `len` coded bytes, handing output to `sink`. Returns
 * PS_OK; PS_ERR_CAP once the output reached max_out (the sink got exactly
 * max_out bytes and nothing more); PS_ERR_BAD_INPUT on corrupt data. Both
 * errors are sticky until the next ps_inflate_begin(). Bytes after the end
 * of the compressed stream are ignored. */
int ps_inflate_feed(ps_inflate *z, const uint8_t *in, size_t len, ps_inflate_sink sink, void *ctx);

/* Called at the end of the body: PS_OK when the compressed stream ended
 * properly, PS_ERR_NEED_MORE when it was cut short, else the sticky error. */
int ps_inflate_finish(ps_inflate *z);

/* Decoded bytes produced since ps_inflate_begin(). */
uint64_t ps_inflate_total_out(const ps_inflate *z);

#endif
