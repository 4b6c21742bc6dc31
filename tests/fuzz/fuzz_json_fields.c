/* fuzz_json_fields.c - bounded JSON walker: no crash, and every prefix is "need more" or an error.
 */
#include <stdlib.h>
#include <string.h>

#include "json_fields.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct acc {
    size_t values, bytes;
} acc;

static void cb(void *ctx, const ps_jf_value *v)
{
    acc *a = ctx;
    char out[64];
    a->values++;
    a->bytes += v->path_len;
    if (v->path_len > PS_JF_PATH_MAX || (v->path_len && v->path[v->path_len] != '\0'))
        abort();
    if (v->type == PS_JF_STRING)
        ps_jf_unescape(v->raw, v->raw_len, out, sizeof(out));
    ps_jf_path_is(v, "HostConfig.Binds[]", true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint32_t depth = data[0] % (PS_JF_MAX_DEPTH + 4);
    data++;
    size--;
    acc whole = {0, 0};
    int rc = ps_jf_walk(data, size, depth, cb, &whole);
    if (rc != PS_OK && rc != PS_ERR_NEED_MORE && rc != PS_ERR_BAD_INPUT)
        abort();
    if (rc == PS_OK && size > 0) {
        /* A proper prefix of a complete document is never "complete" unless
         * it is itself a top-level number (e.g. "12" of "123") or is only
         * missing trailing whitespace. */
        acc part = {0, 0};
        int prc = ps_jf_walk(data, size - 1, depth, cb, &part);
        if (prc == PS_ERR_BAD_INPUT)
            abort();
        if (part.values > whole.values)
            abort();
    }
    char out[32];
    ps_jf_unescape(data, size, out, sizeof(out));
    return 0;
}
