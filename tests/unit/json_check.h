/* json_check.h - strict JSON validator and reference string encoder shared by the JSON tests. */
#ifndef PS_TEST_JSON_CHECK_H
#define PS_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Length of the valid UTF-8 sequence starting at s[0..n), 0 if none. Written
 * independently of the writer: decodes the code point and then rejects
 * overlongs, surrogates and values above U+10FFFF. */
static inline size_t jc_utf8_len(const uint8_t *s, size_t n)
{
    uint32_t cp, min;
    size_t len;

    if (n == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        len = 2, cp = s[0] & 0x1Fu, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        len = 3, cp = s[0] & 0x0Fu, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        len = 4, cp = s[0] & 0x07u, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* Whole buffer is valid UTF-8. */
static inline bool jc_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t l = jc_utf8_len(s + i, n - i);
        if (l == 0)
            return false;
        i += l;
    }
    return true;
}

/* What a JSON reader should get back for the raw bytes s[0..n): valid UTF-8
 * unchanged, each invalid byte as the four characters \xNN. Returns the
 * length written to out (capacity >= 4 * n). */
static inline size_t jc_expected_decoded(const uint8_t *s, size_t n, char *out)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t i = 0, o = 0;
    while (i < n) {
        size_t l = jc_utf8_len(s + i, n - i);
        if (l > 0) {
            memcpy(out + o, s + i, l);
            o += l;
            i += l;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hx[s[i] >> 4];
            out[o++] = hx[s[i] & 15];
            i++;
        }
    }
    return o;
}

/* ---- strict RFC 8259 validator ---- */

typedef struct jc {
    const uint8_t *p, *end;
    int depth;
    /* Decoded content of the last string parsed (truncated at cap). */
    char *str;
    size_t str_cap, str_len;
} jc;

static bool jc_value(jc *c);

static inline void jc_ws(jc *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static inline int jc_hex(uint8_t h)
{
    if (h >= '0' && h <= '9')
        return h - '0';
    if (h >= 'a' && h <= 'f')
        return h - 'a' + 10;
    if (h >= 'A' && h <= 'F')
        return h - 'A' + 10;
    return -1;
}

static inline void jc_emit(jc *c, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c->str != NULL && c->str_len < c->str_cap)
            c->str[c->str_len++] = (char)b[i];
}

static inline bool jc_u4(jc *c, uint32_t *v)
{
    if (c->end - c->p < 4)
        return false;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = jc_hex(c->p[i]);
        if (h < 0)
            return false;
        *v = *v << 4 | (uint32_t)h;
    }
    c->p += 4;
    return true;
}

static inline void jc_emit_cp(jc *c, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp, n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xC0 | cp >> 6), b[1] = (uint8_t)(0x80 | (cp & 63)), n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xE0 | cp >> 12), b[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        b[2] = (uint8_t)(0x80 | (cp & 63)), n = 3;
    } else {
        b[0] = (uint8_t)(0xF0 | cp >> 18), b[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 63)), b[3] = (uint8_t)(0x80 | (cp & 63)), n = 4;
    }
    jc_emit(c, b, n);
}

static inline bool jc_string(jc *c)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    c->str_len = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p;
        if (b == '"') {
            c->p++;
            return true;
        }
        if (b < 0x20)
            return false;
        if (b == '\\') {
            if (c->end - c->p < 2)
                return false;
            uint8_t e = c->p[1];
            c->p += 2;
            const char *m = strchr("\"\\/bfnrt", e);
            if (e != 0 && m != NULL) {
                static const char dec[] = "\"\\/\b\f\n\r\t";
                uint8_t d = (uint8_t)dec[m - "\"\\/bfnrt"];
                jc_emit(c, &d, 1);
            } else if (e == 'u') {
                uint32_t v, lo;
                if (!jc_u4(c, &v))
                    return false;
                if (v >= 0xDC00 && v <= 0xDFFF)
                    return false; /* lone low surrogate */
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
                        return false;
                    c->p += 2;
                    if (!jc_u4(c, &lo) || lo < 0xDC00 || lo > 0xDFFF)
                        return false;
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
                }
                jc_emit_cp(c, v);
            } else {
                return false;
            }
            continue;
        }
        size_t l = jc_utf8_len(c->p, (size_t)(c->end - c->p));
        if (l == 0)
            return false;
        jc_emit(c, c->p, l);
        c->p += l;
    }
    return false;
}

static inline bool jc_digits(jc *c)
{
    const uint8_t *s = c->p;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
        c->p++;
    return c->p > s;
}

static inline bool jc_number(jc *c)
{
    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p >= c->end)
        return false;
    if (*c->p == '0')
        c->p++;
    else if (!jc_digits(c))
        return false;
    if (c->p < c->end && *c->p == '.') {
        c->p++;
        if (!jc_digits(c))
            return false;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (!jc_digits(c))
            return false;
    }
    return true;
}

static inline bool jc_lit(jc *c, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static inline bool jc_container(jc *c, uint8_t close, bool obj)
{
    if (++c->depth > 64)
        return false;
    c->p++;
    jc_ws(c);
    if (c->p < c->end && *c->p == close) {
        c->p++;
        c->depth--;
        return true;
    }
    for (;;) {
        jc_ws(c);
        if (obj) {
            if (!jc_string(c))
                return false;
            jc_ws(c);
            if (c->p >= c->end || *c->p != ':')
                return false;
            c->p++;
            jc_ws(c);
        }
        if (!jc_value(c))
            return false;
        jc_ws(c);
        if (c->p >= c->end)
            return false;
        if (*c->p == ',') {
            c->p++;
            continue;
        }
        if (*c->p == close) {
            c->p++;
            c->depth--;
            return true;
        }
        return false;
    }
}

static bool jc_value(jc *c)
{
    jc_ws(c);
    if (c->p >= c->end)
        return false;
    switch (*c->p) {
    case '{':
        return jc_container(c, '}', true);
    case '[':
        return jc_container(c, ']', false);
    case '"':
        return jc_string(c);
    case 't':
        return jc_lit(c, "true");
    case 'f':
        return jc_lit(c, "false");
    case 'n':
        return jc_lit(c, "null");
    default:
        return jc_number(c);
    }
}

/* True when text[0..n) is exactly one valid JSON value (RFC 8259). */
static inline bool jc_valid(const char *text, size_t n)
{
    jc c = {(const uint8_t *)text, (const uint8_t *)text + n, 0, NULL, 0, 0};
    if (!jc_value(&c))
        return false;
    jc_ws(&c);
    return c.p == c.end;
}

/* Parses a JSON string literal text[0..n) (quotes included) and decodes it
 * into out; returns the decoded length or -1 if it is not exactly one valid
 * string. */
static inline long jc_decode_string(const char *text, size_t n, char *out, size_t cap)
{
    jc c = {(const uint8_t *)text, (const uint8_t *)text + n, 0, out, cap, 0};
    if (!jc_string(&c) || c.p != c.end)
        return -1;
    return (long)c.str_len;
}

#endif
