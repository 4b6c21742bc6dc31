/* fuzz_json_writer.c - libFuzzer target: any bytes in, valid UTF-8 JSON out (or PS_ERR_CAP). */
#include <stdlib.h>
#include <string.h>

#include "json_writer.h"

/* The JSON checker is not the code under test: no coverage callbacks in it
 * (they cost more than the writer it checks). */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "../unit/json_check.h"
#pragma clang attribute pop

#define BIG (1u << 20)

static char big[BIG], small[BIG], dec[BIG], want[BIG];

/* Drives the writer with ops decoded from the input; returns finish(). The
 * fuzzer tracks container kinds itself so keys go only inside objects. */
static int build(const uint8_t *d, size_t n, char *buf, size_t cap, bool *deep)
{
    ps_jw w;
    bool is_obj[64];
    int depth = 0;
    bool done = false; /* one top-level value written and closed */
    size_t i = 0;

    ps_jw_init(&w, buf, cap);
    *deep = false;
    while (i < n && !done) {
        uint8_t op = d[i++];
        char key[17];
        size_t kl = 0;
        const char *k = NULL;
        if (depth > 0 && is_obj[depth - 1]) {
            /* key: up to 16 bytes, stops at NUL */
            size_t want_kl = i < n ? d[i++] % 17u : 0;
            while (kl < want_kl && i < n && d[i] != 0)
                key[kl++] = (char)d[i++];
            key[kl] = '\0';
            k = key;
        }
        switch (op % 8) {
        case 0:
        case 2:
            if (depth >= 63)
                break;
            if (depth >= PS_JW_MAX_DEPTH)
                *deep = true;
            if (op % 8 == 0)
                ps_jw_obj_begin(&w, k);
            else
                ps_jw_arr_begin(&w, k);
            is_obj[depth++] = op % 8 == 0;
            break;
        case 1:
        case 3:
            if (depth == 0)
                break;
            if (is_obj[--depth])
                ps_jw_obj_end(&w);
            else
                ps_jw_arr_end(&w);
            done = depth == 0;
            break;
        case 4: {
            size_t len = i < n ? d[i++] : 0;
            len = PS_MIN(len, n - i);
            ps_jw_strn(&w, k, d + i, len);
            i += len;
            done = depth == 0;
            break;
        }
        case 5: {
            uint64_t v = 0;
            for (int b = 0; b < 8 && i < n; b++)
                v = v << 8 | d[i++];
            if (op & 0x80)
                ps_jw_i64(&w, k, (int64_t)v);
            else
                ps_jw_u64(&w, k, v);
            done = depth == 0;
            break;
        }
        case 6:
            ps_jw_bool(&w, k, (op & 0x10) != 0);
            done = depth == 0;
            break;
        default:
            ps_jw_null(&w, k);
            done = depth == 0;
            break;
        }
    }
    while (depth > 0) {
        if (is_obj[--depth])
            ps_jw_obj_end(&w);
        else
            ps_jw_arr_end(&w);
    }
    return ps_jw_finish(&w);
}

/* {"key":"value"} in big is valid JSON in valid UTF-8 and decodes back to
 * key and data. Not instrumented, and not inlined into code that is. */
__attribute__((no_sanitize("coverage"), noinline)) static void
check_member(const uint8_t *data, size_t size, const char *key, size_t kl, int len)
{
    if (!jc_utf8_valid((const uint8_t *)big, (size_t)len) || !jc_valid(big, (size_t)len))
        abort();
    /* decode the value: it starts after {"key": */
    const char *colon = big + 1;
    {
        jc c = {(const uint8_t *)big + 1, (const uint8_t *)big + len, 0, dec, BIG, 0};
        if (!jc_string(&c))
            abort();
        if (jc_expected_decoded((const uint8_t *)key, kl, want) != c.str_len ||
            memcmp(dec, want, c.str_len) != 0)
            abort();
        colon = (const char *)c.p;
    }
    if (*colon != ':')
        abort();
    long dl = jc_decode_string(colon + 1, (size_t)(big + len - 1 - (colon + 1)), dec, BIG);
    size_t wl = jc_expected_decoded(data, size, want);
    if (dl != (long)wl || memcmp(dec, want, wl) != 0)
        abort();
}

/* A document from build() is valid UTF-8 and, unless empty, valid JSON. */
__attribute__((no_sanitize("coverage"), noinline)) static bool doc_ok(const char *buf, int len)
{
    return jc_utf8_valid((const uint8_t *)buf, (size_t)len) &&
           (len == 0 || jc_valid(buf, (size_t)len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bool deep;

    if (size > 65536)
        return 0;

    /* 1. Whole input as one member: key and value round-trip. */
    ps_jw w;
    ps_jw_init(&w, big, BIG);
    size_t kl = strnlen((const char *)data, size);
    char *key = malloc(kl + 1);
    if (key == NULL)
        return 0;
    memcpy(key, data, kl);
    key[kl] = '\0';
    ps_jw_obj_begin(&w, NULL);
    ps_jw_strn(&w, key, data, size);
    ps_jw_obj_end(&w);
    int len = ps_jw_finish(&w);
    if (len < 0)
        abort();
    check_member(data, size, key, kl, len);
    free(key);

    /* 2. Structured document from ops; a big buffer must succeed unless
     * the nesting cap was exceeded. */
    len = build(data, size, big, BIG, &deep);
    if (len < 0) {
        if (!deep)
            abort();
    } else {
        if (deep || !doc_ok(big, len))
            abort();
        /* 3. A smaller cap gives the same text or PS_ERR_CAP, never more. */
        size_t cap = size > 0 ? (size_t)data[0] * 3u : 0;
        int l2 = build(data, size, small, cap, &deep);
        if (l2 >= 0 && (l2 != len || memcmp(small, big, (size_t)len + 1) != 0))
            abort();
        if (l2 < 0 && (size_t)len + 1 <= cap)
            abort();
    }
    return 0;
}
