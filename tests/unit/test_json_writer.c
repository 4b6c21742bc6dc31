/* test_json_writer.c - JSON writer: escaping, UTF-8 repair, caps, nesting, time format. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <CUnit/Basic.h>

#include "json_check.h"
#include "json_writer.h"

/* Writes raw bytes s[0..n) as a top-level string into buf; returns finish(). */
static int write_str(char *buf, size_t cap, const uint8_t *s, size_t n)
{
    ps_jw w;
    ps_jw_init(&w, buf, cap);
    ps_jw_strn(&w, NULL, s, n);
    return ps_jw_finish(&w);
}

/* Checks the writer's output for s[0..n) is a valid JSON string, valid
 * UTF-8, and decodes to the reference expectation. */
static void check_roundtrip(const uint8_t *s, size_t n)
{
    char out[4096], dec[4096], want[4096];
    int len = write_str(out, sizeof(out), s, n);

    CU_ASSERT_FATAL(len >= 2);
    CU_ASSERT(jc_utf8_valid((const uint8_t *)out, (size_t)len));
    CU_ASSERT(jc_valid(out, (size_t)len));
    long dl = jc_decode_string(out, (size_t)len, dec, sizeof(dec));
    size_t wl = jc_expected_decoded(s, n, want);
    CU_ASSERT_EQUAL(dl, (long)wl);
    if (dl == (long)wl)
        CU_ASSERT(memcmp(dec, want, wl) == 0);
}

static void test_every_single_byte(void)
{
    char out[64], want[64];

    for (unsigned b = 0; b < 256; b++) {
        uint8_t s = (uint8_t)b;
        int len = write_str(out, sizeof(out), &s, 1);
        CU_ASSERT_FATAL(len > 0);
        /* Expected encoding, spelled out per class. */
        switch (b) {
        case '"':
            strcpy(want, "\"\\\"\"");
            break;
        case '\\':
            strcpy(want, "\"\\\\\"");
            break;
        case '\n':
            strcpy(want, "\"\\n\"");
            break;
        case '\r':
            strcpy(want, "\"\\r\"");
            break;
        case '\t':
            strcpy(want, "\"\\t\"");
            break;
        case '\b':
            strcpy(want, "\"\\b\"");
            break;
        case '\f':
            strcpy(want, "\"\\f\"");
            break;
        default:
            if (b < 0x20 || b == 0x7F)
                snprintf(want, sizeof(want), "\"\\u%04x\"", b);
            else if (b < 0x80)
                snprintf(want, sizeof(want), "\"%c\"", (char)b);
            else
                snprintf(want, sizeof(want), "\"\\\\x%02X\"", b);
        }
        CU_ASSERT_STRING_EQUAL(out, want);
        check_roundtrip(&s, 1);
    }
}

typedef struct utf8_case {
    const char *bytes;
    size_t n;
    bool valid;
} utf8_case;

#define C(s, v)                                                                                    \
    {                                                                                              \
        s, sizeof(s) - 1, v                                                                        \
    }
static const utf8_case utf8_cases[] = {
    C("A", true),
    C("\xC2\x80", true),
    C("\xDF\xBF", true),
    C("\xE0\xA0\x80", true),
    C("\xE1\x80\x80", true),
    C("\xED\x9F\xBF", true), /* U+D7FF, just below surrogates */
    C("\xEE\x80\x80", true), /* U+E000, just above */
    C("\xEF\xBF\xBF", true),
    C("\xF0\x90\x80\x80", true),
    C("\xF1\x80\x80\x80", true),
    C("\xF4\x8F\xBF\xBF", true), /* U+10FFFF */
    /* overlong */
    C("\xC0\x80", false),
    C("\xC1\xBF", false),
    C("\xE0\x80\x80", false),
    C("\xE0\x9F\xBF", false),
    C("\xF0\x80\x80\x80", false),
    C("\xF0\x8F\xBF\xBF", false),
    /* surrogates */
    C("\xED\xA0\x80", false),
    C("\xED\xBF\xBF", false),
    /* above U+10FFFF and never-valid leads */
    C("\xF4\x90\x80\x80", false),
    C("\xF5\x80\x80\x80", false),
    C("\xF8\x88\x80\x80\x80", false),
    C("\xFE", false),
    C("\xFF", false),
    /* lone continuation */
    C("\x80", false),
    C("\xBF", false),
    /* truncated at end of string */
    C("\xC2", false),
    C("\xE0\xA0", false),
    C("\xE1", false),
    C("\xF0\x90\x80", false),
    C("\xF0\x90", false),
    C("\xF0", false),
    /* truncated, followed by ASCII */
    C("\xE1\x80"
      "A",
      false),
    C("\xF0\x90\x80"
      "A",
      false),
};

static void test_utf8_classes(void)
{
    char out[256];

    for (size_t i = 0; i < PS_ARRAY_LEN(utf8_cases); i++) {
        const utf8_case *c = &utf8_cases[i];
        const uint8_t *s = (const uint8_t *)c->bytes;
        int len = write_str(out, sizeof(out), s, c->n);
        CU_ASSERT_FATAL(len > 0);
        if (c->valid) {
            /* passes through verbatim between the quotes */
            CU_ASSERT_EQUAL((size_t)len, c->n + 2);
            CU_ASSERT(memcmp(out + 1, c->bytes, c->n) == 0);
        } else {
            CU_ASSERT(strstr(out, "\\\\x") != NULL);
            CU_ASSERT(memchr(out, 0x80, (size_t)len) == NULL || c->n > 1);
        }
        check_roundtrip(s, c->n);
    }
    /* Exact text for a couple of invalid inputs. */
    write_str(out, sizeof(out),
              (const uint8_t *)"a\xC0\xAF"
                               "b",
              4);
    CU_ASSERT_STRING_EQUAL(out, "\"a\\\\xC0\\\\xAFb\"");
    write_str(out, sizeof(out), (const uint8_t *)"\xED\xA0\x80", 3);
    CU_ASSERT_STRING_EQUAL(out, "\"\\\\xED\\\\xA0\\\\x80\"");
    write_str(out, sizeof(out), (const uint8_t *)"\xE2\x82", 2);
    CU_ASSERT_STRING_EQUAL(out, "\"\\\\xE2\\\\x82\"");
}

/* Every 2-byte string, every 3-byte string with a 3-byte lead, and a grid
 * of 4-byte strings agree with the reference decoder. */
static void test_utf8_exhaustive(void)
{
    uint8_t s[4];
    unsigned fails = 0;
    char out[64], dec[64], want[64];

    for (unsigned a = 0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++) {
            s[0] = (uint8_t)a, s[1] = (uint8_t)b;
            int len = write_str(out, sizeof(out), s, 2);
            long dl = jc_decode_string(out, (size_t)len, dec, sizeof(dec));
            size_t wl = jc_expected_decoded(s, 2, want);
            if (dl != (long)wl || memcmp(dec, want, wl) != 0)
                fails++;
        }
    for (unsigned a = 0xE0; a <= 0xEF; a++)
        for (unsigned b = 0; b < 256; b++)
            for (unsigned c = 0x70; c < 0xD0; c++) {
                s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = (uint8_t)c;
                int len = write_str(out, sizeof(out), s, 3);
                long dl = jc_decode_string(out, (size_t)len, dec, sizeof(dec));
                size_t wl = jc_expected_decoded(s, 3, want);
                if (dl != (long)wl || memcmp(dec, want, wl) != 0)
                    fails++;
            }
    static const uint8_t edge[] = {0x00, 0x7F, 0x80, 0x8F, 0x90, 0xBF, 0xC0, 0xFF};
    for (unsigned a = 0xEE; a <= 0xFF; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof(edge); c++)
                for (size_t d = 0; d < sizeof(edge); d++) {
                    s[0] = (uint8_t)a, s[1] = (uint8_t)b, s[2] = edge[c], s[3] = edge[d];
                    int len = write_str(out, sizeof(out), s, 4);
                    long dl = jc_decode_string(out, (size_t)len, dec, sizeof(dec));
                    size_t wl = jc_expected_decoded(s, 4, want);
                    if (dl != (long)wl || memcmp(dec, want, wl) != 0)
                        fails++;
                }
    CU_ASSERT_EQUAL(fails, 0);
}

/* Every prefix of a mixed string (cutting sequences at every byte). */
static void test_truncated_prefixes(void)
{
    static const char mixed[] = "GET /v1.41/containers/json?all=1 \"\\\t\x01\x7F"
                                "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x90\xB3\xED\xA0\x80\xFF end";
    for (size_t n = 0; n <= sizeof(mixed) - 1; n++)
        check_roundtrip((const uint8_t *)mixed, n);
}

/* Builds the same document into a buffer of `cap` bytes. */
static int build_doc(char *buf, size_t cap)
{
    ps_jw w;
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_str(&w, "event", "detection");
    ps_jw_u64(&w, "count", 42);
    ps_jw_i64(&w, "delta", -7);
    ps_jw_bool(&w, "ok", true);
    ps_jw_null(&w, "none");
    ps_jw_arr_begin(&w, "urls");
    ps_jw_str(&w, NULL, "/containers/json");
    ps_jw_strn(&w, NULL, (const uint8_t *)"\xFF\xC3\xA9", 3);
    ps_jw_arr_end(&w);
    ps_jw_obj_begin(&w, "k\"e\ny\xFE");
    ps_jw_obj_end(&w);
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}

static void test_cap_exact(void)
{
    char big[512], ref[512];
    int len = build_doc(big, sizeof(big));

    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT(jc_valid(big, (size_t)len));
    CU_ASSERT_STRING_EQUAL(big, "{\"event\":\"detection\",\"count\":42,\"delta\":-7,\"ok\":true,"
                                "\"none\":null,\"urls\":[\"/containers/json\",\"\\\\xFF\xC3\xA9\"],"
                                "\"k\\\"e\\ny\\\\xFE\":{}}");
    memcpy(ref, big, (size_t)len + 1);
    size_t need = (size_t)len + 1; /* text plus NUL */

    /* Exactly N: fits. */
    char *exact = malloc(need + 8);
    CU_ASSERT_FATAL(exact != NULL);
    memset(exact, 'Z', need + 8);
    CU_ASSERT_EQUAL(build_doc(exact, need), len);
    CU_ASSERT_STRING_EQUAL(exact, ref);
    CU_ASSERT(exact[need] == 'Z');
    /* N-1 and every smaller cap: PS_ERR_CAP, never a write past cap. */
    for (size_t cap = 0; cap < need; cap++) {
        memset(exact, 'Z', need + 8);
        CU_ASSERT_EQUAL(build_doc(exact, cap), PS_ERR_CAP);
        for (size_t i = cap; i < need + 8; i++)
            CU_ASSERT_FATAL(exact[i] == 'Z');
        if (cap > 0)
            CU_ASSERT(memchr(exact, '\0', cap) != NULL);
    }
    free(exact);
}

static int nest(char *buf, size_t cap, int levels, bool objects)
{
    ps_jw w;
    ps_jw_init(&w, buf, cap);
    for (int i = 0; i < levels; i++) {
        if (objects)
            ps_jw_obj_begin(&w, i == 0 ? NULL : "k");
        else
            ps_jw_arr_begin(&w, NULL);
    }
    ps_jw_u64(&w, objects ? "v" : NULL, 1);
    for (int i = 0; i < levels; i++) {
        if (objects)
            ps_jw_obj_end(&w);
        else
            ps_jw_arr_end(&w);
    }
    return ps_jw_finish(&w);
}

static void test_depth(void)
{
    char buf[1024];

    CU_ASSERT(nest(buf, sizeof(buf), PS_JW_MAX_DEPTH, false) > 0);
    CU_ASSERT(jc_valid(buf, strlen(buf)));
    CU_ASSERT_EQUAL(nest(buf, sizeof(buf), PS_JW_MAX_DEPTH + 1, false), PS_ERR_CAP);
    CU_ASSERT(nest(buf, sizeof(buf), PS_JW_MAX_DEPTH, true) > 0);
    CU_ASSERT(jc_valid(buf, strlen(buf)));
    CU_ASSERT_EQUAL(nest(buf, sizeof(buf), PS_JW_MAX_DEPTH + 1, true), PS_ERR_CAP);
}

static void test_misuse(void)
{
    char buf[128];
    ps_jw w;

    /* unbalanced */
    ps_jw_init(&w, buf, sizeof(buf));
    ps_jw_obj_begin(&w, NULL);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
    /* end without begin */
    ps_jw_init(&w, buf, sizeof(buf));
    ps_jw_arr_end(&w);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
    /* two top-level values are not one document */
    ps_jw_init(&w, buf, sizeof(buf));
    ps_jw_u64(&w, NULL, 1);
    ps_jw_u64(&w, NULL, 2);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
    /* failed stays failed: later calls are no-ops */
    ps_jw_init(&w, buf, 4);
    ps_jw_str(&w, NULL, "toolong");
    ps_jw_init(&w, buf, sizeof(buf));
    ps_jw_arr_begin(&w, NULL);
    ps_jw_str(&w, NULL, NULL); /* NULL string -> null */
    ps_jw_strn(&w, NULL, NULL, 5);
    ps_jw_arr_end(&w);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), (int)strlen("[null,\"\"]"));
    CU_ASSERT_STRING_EQUAL(buf, "[null,\"\"]");
    /* cap 0 with no buffer at all */
    ps_jw_init(&w, NULL, 0);
    ps_jw_u64(&w, NULL, 1);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
    /* empty document is zero bytes, not an error */
    ps_jw_init(&w, buf, 1);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), 0);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void test_numbers(void)
{
    static const uint64_t uv[] = {0,
                                  1,
                                  9,
                                  10,
                                  99,
                                  100,
                                  4294967295ULL,
                                  4294967296ULL,
                                  9999999999999999999ULL,
                                  10000000000000000000ULL,
                                  UINT64_MAX};
    static const int64_t iv[] = {0, -1, 1, -9, -10, INT32_MIN, INT64_MAX, INT64_MIN, INT64_MIN + 1};
    char buf[64], want[64];
    ps_jw w;

    for (size_t i = 0; i < PS_ARRAY_LEN(uv); i++) {
        ps_jw_init(&w, buf, sizeof(buf));
        ps_jw_u64(&w, NULL, uv[i]);
        CU_ASSERT(ps_jw_finish(&w) > 0);
        snprintf(want, sizeof(want), "%" PRIu64, uv[i]);
        CU_ASSERT_STRING_EQUAL(buf, want);
    }
    for (size_t i = 0; i < PS_ARRAY_LEN(iv); i++) {
        ps_jw_init(&w, buf, sizeof(buf));
        ps_jw_i64(&w, NULL, iv[i]);
        CU_ASSERT(ps_jw_finish(&w) > 0);
        snprintf(want, sizeof(want), "%" PRId64, iv[i]);
        CU_ASSERT_STRING_EQUAL(buf, want);
        CU_ASSERT(jc_valid(buf, strlen(buf)));
    }
    /* pseudo-random sweep */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (i % 64);
        ps_jw_init(&w, buf, sizeof(buf));
        ps_jw_u64(&w, NULL, v);
        ps_jw_finish(&w);
        snprintf(want, sizeof(want), "%" PRIu64, v);
        if (strcmp(buf, want) != 0) {
            CU_FAIL("u64 mismatch");
            break;
        }
    }
}

/* Civil date from days since 1970-01-01 (H. Hinnant's algorithm), as an
 * independent check of ps_format_time's use of gmtime_r. */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void test_format_time(void)
{
    char out[32], want[64];

    CU_ASSERT_STRING_EQUAL(ps_format_time(0, out, sizeof(out)), "1970-01-01T00:00:00.000000Z");
    /* 2000-02-29 (leap year divisible by 400) + 5 us: zero padding */
    CU_ASSERT_STRING_EQUAL(ps_format_time(951782400ULL * 1000000 + 5, out, sizeof(out)),
                           "2000-02-29T00:00:00.000005Z");
    /* 2024-02-29T23:59:59.999999Z */
    CU_ASSERT_STRING_EQUAL(ps_format_time(1709251199ULL * 1000000 + 999999, out, sizeof(out)),
                           "2024-02-29T23:59:59.999999Z");
    /* 2100-03-01: 2100 is not a leap year */
    CU_ASSERT_STRING_EQUAL(ps_format_time(4107542400ULL * 1000000 + 120000, out, sizeof(out)),
                           "2100-03-01T00:00:00.120000Z");
    CU_ASSERT_STRING_EQUAL(ps_format_time(1772460309123456ULL, out, sizeof(out)),
                           "2026-03-02T14:05:09.123456Z");
    /* short buffers truncate but stay terminated */
    char small[8];
    memset(small, 'Z', sizeof(small));
    ps_format_time(0, small, 5);
    CU_ASSERT_STRING_EQUAL(small, "1970");
    CU_ASSERT(small[5] == 'Z');

    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (int i = 0; i < 5000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t t = x % (253402300799ULL * 1000000); /* through 9999-12-31 */
        uint64_t secs = t / 1000000;
        int64_t y;
        unsigned m, d;
        civil((int64_t)(secs / 86400), &y, &m, &d);
        unsigned sod = (unsigned)(secs % 86400);
        snprintf(want, sizeof(want), "%04" PRId64 "-%02u-%02uT%02u:%02u:%02u.%06uZ", y, m, d,
                 sod / 3600, sod / 60 % 60, sod % 60, (unsigned)(t % 1000000));
        ps_format_time(t, out, sizeof(out));
        if (strcmp(out, want) != 0) {
            CU_FAIL("format_time mismatch");
            printf("\n%s != %s\n", out, want);
            break;
        }
    }
}

/* Over the whole ps_time_us range (years past 9999 included) the text is
 * what gmtime_r() gives, as the writer used to call it; times alternate
 * between days so the per-thread date cache is crossed both ways. */
static void test_format_time_gmtime(void)
{
    char out[40], want[64];
    uint64_t x = 0xD1B54A32D192ED03ULL;
    unsigned fails = 0;
    static const uint64_t edge[] = {0,
                                    UINT64_MAX,
                                    253402300799999999ULL, /* 9999-12-31T23:59:59.999999 */
                                    253402300800000000ULL, /* 10000-01-01 */
                                    86399999999ULL,
                                    86400000000ULL};

    for (size_t i = 0; i < PS_ARRAY_LEN(edge) + 20000; i++) {
        uint64_t t = edge[i % PS_ARRAY_LEN(edge)];
        if (i >= PS_ARRAY_LEN(edge)) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            t = i % 2 ? x : x >> (i % 23);
        }
        time_t secs = (time_t)(t / 1000000);
        struct tm tm;
        CU_ASSERT_FATAL(gmtime_r(&secs, &tm) != NULL);
        snprintf(want, sizeof(want), "%04lld-%02d-%02dT%02d:%02d:%02d.%06uZ",
                 (long long)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, (unsigned)(t % 1000000));
        ps_format_time(t, out, sizeof(out));
        if (strcmp(out, want) != 0 && fails++ < 3)
            printf("\n%s != %s\n", out, want);
    }
    CU_ASSERT_EQUAL(fails, 0);
}

/* A large document with every byte value in keys and strings is accepted
 * by Python's json module (an independent, widely used parser). */
static void test_python_parses(void)
{
    static char buf[1 << 16];
    ps_jw w;
    uint8_t s[256];

    for (int i = 0; i < 256; i++)
        s[i] = (uint8_t)i;
    ps_jw_init(&w, buf, sizeof(buf));
    ps_jw_obj_begin(&w, NULL);
    ps_jw_strn(&w, "all", s, sizeof(s));
    for (int i = 1; i < 256; i++) {
        char key[2] = {(char)i, 0};
        ps_jw_i64(&w, key, -i);
    }
    ps_jw_arr_begin(&w, "u");
    for (size_t i = 0; i < PS_ARRAY_LEN(utf8_cases); i++)
        ps_jw_strn(&w, NULL, (const uint8_t *)utf8_cases[i].bytes, utf8_cases[i].n);
    ps_jw_arr_end(&w);
    ps_jw_obj_end(&w);
    int len = ps_jw_finish(&w);
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT(jc_valid(buf, (size_t)len));

    FILE *p = popen("/usr/bin/python3 -c 'import sys,json; d=json.loads(sys.stdin.buffer.read()"
                    ".decode(\"utf-8\",\"strict\")); print(len(d))' >/dev/null",
                    "w");
    if (p == NULL) {
        CU_FAIL("popen python3");
        return;
    }
    fwrite(buf, 1, (size_t)len, p);
    int rc = pclose(p);
    CU_ASSERT_EQUAL(rc, 0);
}

/* The writer's exact text for s[0..n), built independently with the
 * checker's UTF-8 decoder: plain ASCII verbatim, the short escapes, \u00XX
 * for other controls and DEL, valid UTF-8 verbatim, \\xNN for the rest. */
static size_t ref_encode(const uint8_t *s, size_t n, char *out)
{
    size_t i = 0, o = 0;

    out[o++] = '"';
    while (i < n) {
        size_t l = jc_utf8_len(s + i, n - i);
        uint8_t c = s[i];
        if (l > 1) {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
            continue;
        }
        i++;
        if (l == 0)
            o += (size_t)sprintf(out + o, "\\\\x%02X", c);
        else if (c == '"' || c == '\\')
            o += (size_t)sprintf(out + o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)sprintf(out + o, "\\n");
        else if (c == '\r')
            o += (size_t)sprintf(out + o, "\\r");
        else if (c == '\t')
            o += (size_t)sprintf(out + o, "\\t");
        else if (c == '\b')
            o += (size_t)sprintf(out + o, "\\b");
        else if (c == '\f')
            o += (size_t)sprintf(out + o, "\\f");
        else if (c < 0x20 || c == 0x7F)
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        else
            out[o++] = (char)c;
    }
    out[o++] = '"';
    out[o] = '\0';
    return o;
}

/* Random strings of 0..99 bytes at every alignment, mostly plain with a few
 * bytes to escape or UTF-8 sequences (valid and broken) at any position, so
 * the 16-, 8- and 4-byte steps of the fast path and their overlapping tails
 * are all crossed: the exact text matches ref_encode(), and a buffer one
 * byte short gives PS_ERR_CAP without writing past its end. */
static void test_fast_path_exact(void)
{
    static const uint8_t odd[] = {'"',  '\\', '\n', 0x00, 0x01, 0x1F, 0x7F, 0x80,
                                  0xBF, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F,
                                  0x90, 0xB3, 0xED, 0xA0, 0xFF, ' ',  '~'};
    uint8_t raw[128];
    char out[1024], want[1024];
    uint64_t x = 0x2545F4914F6CDD1DULL;
    unsigned fails = 0;

    for (int iter = 0; iter < 200000 && fails < 5; iter++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t n = (size_t)(x % 100), off = (size_t)(x >> 8) % 16;
        unsigned odds = (unsigned)(x >> 16) % 4; /* 0..3 odd bytes */
        uint8_t *s = raw + off;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint8_t)('0' + (x >> (i % 50)) % 75);
        for (unsigned k = 0; k < odds && n > 0; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            s[x % n] = odd[(x >> 32) % sizeof(odd)];
        }
        size_t wl = ref_encode(s, n, want);
        int len = write_str(out, sizeof(out), s, n);
        if (len != (int)wl || strcmp(out, want) != 0) {
            fails++;
            printf("\nstring of %zu bytes: %s != %s\n", n, out, want);
            continue;
        }
        memset(out, 'Z', sizeof(out));
        if (write_str(out, wl + 1, s, n) != (int)wl || strcmp(out, want) != 0)
            fails++;
        memset(out, 'Z', sizeof(out));
        if (write_str(out, wl, s, n) != PS_ERR_CAP || out[wl] != 'Z')
            fails++;
    }
    CU_ASSERT_EQUAL(fails, 0);
}

/* Builds build_doc()'s document with compile-time member names. */
static int build_doc_k(char *buf, size_t cap)
{
    ps_jw w;
    ps_jw_init(&w, buf, cap);
    ps_jw_obj_begin(&w, NULL);
    ps_jw_kstr(&w, PS_JW_KEY("event"), "detection");
    ps_jw_ku64(&w, PS_JW_KEY("count"), 42);
    ps_jw_ki64(&w, PS_JW_KEY("delta"), -7);
    ps_jw_kbool(&w, PS_JW_KEY("ok"), true);
    ps_jw_kstr(&w, PS_JW_KEY("none"), NULL);
    ps_jw_karr_begin(&w, PS_JW_KEY("urls"));
    ps_jw_str(&w, NULL, "/containers/json");
    ps_jw_strn(&w, NULL, (const uint8_t *)"\xFF\xC3\xA9", 3);
    ps_jw_arr_end(&w);
    ps_jw_kobj_begin(&w, PS_JW_KEY("k"));
    ps_jw_kstrn(&w, PS_JW_KEY("a_rather_long_member_name"), (const uint8_t *)"x\"", 2);
    ps_jw_kstrn(&w, PS_JW_KEY("b"), NULL, 3);
    ps_jw_ktime(&w, PS_JW_KEY("t"), 1772460309123456ULL);
    ps_jw_obj_end(&w);
    ps_jw_obj_end(&w);
    return ps_jw_finish(&w);
}

/* PS_JW_KEY members write what the same names write through ps_jw_*()
 * (build_doc()'s text for the shared part), and respect the cap to the byte. */
static void test_key_literals(void)
{
    static const char want[] =
        "{\"event\":\"detection\",\"count\":42,\"delta\":-7,\"ok\":true,\"none\":null,"
        "\"urls\":[\"/containers/json\",\"\\\\xFF\xC3\xA9\"],\"k\":{\"a_rather_long_member_name\":"
        "\"x\\\"\",\"b\":\"\",\"t\":\"2026-03-02T14:05:09.123456Z\"}}";
    char a[512];
    ps_jw w;
    int len = (int)sizeof(want) - 1;

    CU_ASSERT_EQUAL(build_doc_k(a, sizeof(a)), len);
    CU_ASSERT_STRING_EQUAL(a, want);
    CU_ASSERT(jc_valid(a, (size_t)len));
    for (size_t cap = 0; cap <= (size_t)len; cap++) {
        memset(a, 'Z', sizeof(a));
        CU_ASSERT_EQUAL(build_doc_k(a, cap), PS_ERR_CAP);
        for (size_t i = cap; i < sizeof(a); i++)
            CU_ASSERT_FATAL(a[i] == 'Z');
    }
    CU_ASSERT_EQUAL(build_doc_k(a, (size_t)len + 1), len);
    CU_ASSERT_STRING_EQUAL(a, want);
    /* a member name needs an open object: never at the top level twice */
    ps_jw_init(&w, a, sizeof(a));
    ps_jw_ku64(&w, PS_JW_KEY("x"), 1);
    ps_jw_ku64(&w, PS_JW_KEY("y"), 2);
    CU_ASSERT_EQUAL(ps_jw_finish(&w), PS_ERR_CAP);
}

/* IPv4 text agrees with inet_ntop(), including its empty result when the
 * buffer is too short. */
static void test_addr_text(void)
{
    char got[80], want[80];
    ps_addr a = {.family = 4};
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    unsigned fails = 0;

    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        for (int b = 0; b < 4; b++) {
            unsigned v = (unsigned)(x >> (8 * b + (i % 3) * 16)) & 0xFF;
            a.bytes[b] = (uint8_t)(i < 256 ? (unsigned)i : i % 7 == 0 ? v % 10 : v);
        }
        size_t lens[] = {64, 16, 8, 7, 1};
        for (size_t k = 0; k < PS_ARRAY_LEN(lens); k++) {
            memset(got, 'Z', sizeof(got));
            memset(want, 0, sizeof(want));
            inet_ntop(AF_INET, a.bytes, want, (socklen_t)lens[k]);
            ps_addr_format(&a, got, lens[k]);
            if (strcmp(got, want) != 0 || got[lens[k]] != 'Z')
                fails++;
        }
    }
    CU_ASSERT_EQUAL(fails, 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("json_writer", NULL, NULL);
    CU_add_test(s, "every single byte", test_every_single_byte);
    CU_add_test(s, "utf8 classes", test_utf8_classes);
    CU_add_test(s, "utf8 exhaustive", test_utf8_exhaustive);
    CU_add_test(s, "truncated prefixes", test_truncated_prefixes);
    CU_add_test(s, "cap exact N and N-1", test_cap_exact);
    CU_add_test(s, "nesting depth", test_depth);
    CU_add_test(s, "misuse", test_misuse);
    CU_add_test(s, "numbers", test_numbers);
    CU_add_test(s, "format time", test_format_time);
    CU_add_test(s, "format time = gmtime_r", test_format_time_gmtime);
    CU_add_test(s, "python parses", test_python_parses);
    CU_add_test(s, "fast path exact text", test_fast_path_exact);
    CU_add_test(s, "key literals", test_key_literals);
    CU_add_test(s, "address text", test_addr_text);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != CUE_SUCCESS;
}
