/* json-writer.c - bounded JSON text builder that always emits valid UTF-8. */
#include <string.h>
#include <time.h>

#include "json_writer.h"

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

/* True when byte c can be copied into a JSON string unchanged: printable
 * ASCII except '"' and '\\'. */
static inline bool ascii_plain(uint8_t c)
{
    return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
}

void ps_jw_init(ps_jw *w, char *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    w->buf = buf;
    w->cap = cap;
}

/* Appends n bytes, keeping one byte free for the final NUL; on overflow the
 * writer fails for good so a truncated document is never reported as ok. */
static void put(ps_jw *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (w->cap == 0 || n > w->cap - 1 - w->len) {
        w->failed = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static void putc1(ps_jw *w, char c)
{
    if (w->failed)
        return;
    if (w->cap == 0 || w->len >= w->cap - 1) {
        w->failed = true;
        return;
    }
    w->buf[w->len++] = c;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if s[0] does not
 * start one (RFC 3629 table 3-7: no overlongs, surrogates or > U+10FFFF). */
static size_t utf8_seq_len(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    uint8_t lo = 0x80, hi = 0xBF;
    size_t len;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    if (n < len)
        return 0;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* Writes s[0..n) as a quoted JSON string (see ps_jw_strn contract). */
static void put_string(ps_jw *w, const uint8_t *s, size_t n)
{
    char esc[6];
    size_t i = 0;

    putc1(w, '"');
    while (i < n && !w->failed) {
        size_t run = i;
        while (run < n && ascii_plain(s[run]))
            run++;
        if (run > i) {
            put(w, s + i, run - i);
            i = run;
            continue;
        }
        uint8_t c = s[i];
        if (c >= 0x80) {
            size_t sl = utf8_seq_len(s + i, n - i);
            if (sl > 0) {
                put(w, s + i, sl);
                i += sl;
                continue;
            }
            /* Invalid byte: the literal text \xNN, JSON-escaped. */
            esc[0] = '\\';
            esc[1] = '\\';
            esc[2] = 'x';
            esc[3] = hexdig[c >> 4];
            esc[4] = hexdig[c & 0xF];
            put(w, esc, 5);
            i++;
            continue;
        }
        esc[0] = '\\';
        switch (c) {
        case '"':
            esc[1] = '"';
            put(w, esc, 2);
            break;
        case '\\':
            esc[1] = '\\';
            put(w, esc, 2);
            break;
        case '\n':
            esc[1] = 'n';
            put(w, esc, 2);
            break;
        case '\r':
            esc[1] = 'r';
            put(w, esc, 2);
            break;
        case '\t':
            esc[1] = 't';
            put(w, esc, 2);
            break;
        case '\b':
            esc[1] = 'b';
            put(w, esc, 2);
            break;
        case '\f':
            esc[1] = 'f';
            put(w, esc, 2);
            break;
        default: /* other controls and DEL */
            put(w, "\\u00", 4);
            esc[0] = hexlow[c >> 4];
            esc[1] = hexlow[c & 0xF];
            put(w, esc, 2);
            break;
        }
        i++;
    }
    putc1(w, '"');
}

/* Emits the separator and member name that precede every value. A second
 * top-level value is refused: the result would not be one JSON document. */
static void begin_value(ps_jw *w, const char *key)
{
    if (w->failed)
        return;
    if (w->need_comma[w->depth]) {
        if (w->depth == 0) {
            w->failed = true;
            return;
        }
        putc1(w, ',');
    }
    w->need_comma[w->depth] = true;
    if (key != NULL) {
        put_string(w, (const uint8_t *)key, strlen(key));
        putc1(w, ':');
    }
}

static void open_container(ps_jw *w, const char *key, char c)
{
    begin_value(w, key);
    if (w->failed)
        return;
    if (w->depth >= PS_JW_MAX_DEPTH) {
        w->failed = true;
        return;
    }
    putc1(w, c);
    w->depth++;
    w->need_comma[w->depth] = false;
}

static void close_container(ps_jw *w, char c)
{
    if (w->failed)
        return;
    if (w->depth <= 0) {
        w->failed = true;
        return;
    }
    putc1(w, c);
    w->depth--;
}

void ps_jw_obj_begin(ps_jw *w, const char *key)
{
    open_container(w, key, '{');
}

void ps_jw_obj_end(ps_jw *w)
{
    close_container(w, '}');
}

void ps_jw_arr_begin(ps_jw *w, const char *key)
{
    open_container(w, key, '[');
}

void ps_jw_arr_end(ps_jw *w)
{
    close_container(w, ']');
}

void ps_jw_str(ps_jw *w, const char *key, const char *s)
{
    if (s == NULL) {
        ps_jw_null(w, key);
        return;
    }
    ps_jw_strn(w, key, (const uint8_t *)s, strlen(s));
}

void ps_jw_strn(ps_jw *w, const char *key, const uint8_t *s, size_t n)
{
    begin_value(w, key);
    if (s == NULL)
        n = 0;
    put_string(w, s, n);
}

/* Writes v in decimal, digits generated backwards into a stack buffer. */
static void put_u64(ps_jw *w, uint64_t v, bool neg)
{
    char tmp[21];
    size_t p = sizeof(tmp);

    do {
        tmp[--p] = (char)('0' + (v % 10));
        v /= 10;
    } while (v != 0);
    if (neg)
        tmp[--p] = '-';
    put(w, tmp + p, sizeof(tmp) - p);
}

void ps_jw_u64(ps_jw *w, const char *key, uint64_t v)
{
    begin_value(w, key);
    put_u64(w, v, false);
}

void ps_jw_i64(ps_jw *w, const char *key, int64_t v)
{
    begin_value(w, key);
    if (v < 0)
        put_u64(w, (uint64_t)0 - (uint64_t)v, true); /* INT64_MIN safe */
    else
        put_u64(w, (uint64_t)v, false);
}

void ps_jw_bool(ps_jw *w, const char *key, bool v)
{
    begin_value(w, key);
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void ps_jw_null(ps_jw *w, const char *key)
{
    begin_value(w, key);
    put(w, "null", 4);
}

int ps_jw_finish(ps_jw *w)
{
    if (w->cap > 0)
        w->buf[w->len < w->cap ? w->len : w->cap - 1] = '\0';
    if (w->failed || w->depth != 0 || w->len > (size_t)INT32_MAX)
        return PS_ERR_CAP;
    return (int)w->len;
}

/* Writes v as exactly `width` decimal digits (v < 10^width), or more
 * digits when v is larger, into out; returns the digit count. */
static size_t put_dec(char *out, uint64_t v, size_t width)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while (n < width)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

char *ps_format_time(ps_time_us t, char *out, size_t outlen)
{
    char tmp[48];
    size_t n = 0;
    struct tm tm;
    time_t secs = (time_t)(t / PS_USEC_PER_SEC);

    if (outlen == 0)
        return out;
    if (gmtime_r(&secs, &tm) == NULL) {
        /* Only for years beyond int range; never for real packet times. */
        memset(&tm, 0, sizeof(tm));
        tm.tm_year = 70;
        tm.tm_mday = 1;
    }
    n += put_dec(tmp + n, (uint64_t)((int64_t)tm.tm_year + 1900), 4);
    tmp[n++] = '-';
    n += put_dec(tmp + n, (uint64_t)(tm.tm_mon + 1), 2);
    tmp[n++] = '-';
    n += put_dec(tmp + n, (uint64_t)tm.tm_mday, 2);
    tmp[n++] = 'T';
    n += put_dec(tmp + n, (uint64_t)tm.tm_hour, 2);
    tmp[n++] = ':';
    n += put_dec(tmp + n, (uint64_t)tm.tm_min, 2);
    tmp[n++] = ':';
    n += put_dec(tmp + n, (uint64_t)tm.tm_sec, 2);
    tmp[n++] = '.';
    n += put_dec(tmp + n, t % PS_USEC_PER_SEC, 6);
    tmp[n++] = 'Z';
    if (n > outlen - 1)
        n = outlen - 1;
    memcpy(out, tmp, n);
    out[n] = '\0';
    return out;
}
