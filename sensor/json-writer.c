/* json-writer.c - bounded JSON text builder that always emits valid UTF-8. */
#include <assert.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json_writer.h"

static const char hexdig[] = "0123456789ABCDEF";
static const char hexlow[] = "0123456789abcdef";

/* "00" to "99": decimal output two digits per lookup. */
static const char digits2[] = "00010203040506070809"
                              "10111213141516171819"
                              "20212223242526272829"
                              "30313233343536373839"
                              "40414243444546474849"
                              "50515253545556575859"
                              "60616263646566676869"
                              "70717273747576777879"
                              "80818283848586878889"
                              "90919293949596979899";

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

/* True when n more bytes fit with one byte left for the final NUL
 * (len <= cap always holds, so the subtraction cannot wrap). */
static inline bool fits(const ps_jw *w, size_t n)
{
    return n < w->cap - w->len;
}

/* Appends n bytes; on overflow the writer fails for good so a truncated
 * document is never reported as ok. */
static inline void put(ps_jw *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    if (!fits(w, n)) {
        w->failed = true;
        return;
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static inline void putc1(ps_jw *w, char c)
{
    if (w->failed)
        return;
    if (!fits(w, 1)) {
        w->failed = true;
        return;
    }
    w->buf[w->len++] = c;
}

#define ONES UINT64_C(0x0101010101010101)

#ifndef __SSE2__
#define HIGH UINT64_C(0x8080808080808080)

/* Nonzero when one of the 8 bytes of x is not ascii_plain() (a control,
 * '"', '\\', DEL or a non-ASCII byte). Byte-wise "x < 0x20" and "x == k"
 * tests share the final "& ~x & HIGH"; exact for "any byte", which is all
 * the callers ask. */
static inline uint64_t swar_special(uint64_t x)
{
    uint64_t t = (x - ONES * 0x20) | ((x ^ (ONES * '"')) - ONES) | ((x ^ (ONES * '\\')) - ONES) |
                 ((x ^ (ONES * 0x7F)) - ONES);
    return ((t & ~x) | x) & HIGH;
}
#endif

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

static inline uint32_t load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof(v));
    return v;
}

/* Copies the plain prefix of s[0..n) to d byte by byte; returns its length. */
static size_t copy_plain_bytes(char *d, const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n && ascii_plain(s[i])) {
        d[i] = (char)s[i];
        i++;
    }
    return i;
}

#ifdef __SSE2__
/* Bit i set when byte i of v is not ascii_plain(). Signed compare: bytes
 * >= 0x80 are negative, so "< 0x20" also catches every non-ASCII byte. */
static inline unsigned special_mask(__m128i v)
{
    __m128i low = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
    __m128i quote = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
    __m128i bslash = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
    __m128i del = _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7F));
    return (unsigned)_mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(low, quote), _mm_or_si128(bslash, del)));
}
#endif

/* True when the 16 bytes of lo and hi are all ascii_plain(). */
static inline bool plain_words(uint64_t lo, uint64_t hi)
{
#ifdef __SSE2__
    return special_mask(_mm_set_epi64x((long long)hi, (long long)lo)) == 0;
#else
    return (swar_special(lo) | swar_special(hi)) == 0;
#endif
}

/* copy_plain() for n < 16: the bytes are gathered into two 64-bit words
 * (overlapping loads for 4..15 bytes, the unused part filled with a plain
 * byte), checked at once and copied with as many stores. */
static inline size_t copy_plain_short(char *d, const uint8_t *s, size_t n)
{
    const uint64_t pad = ONES * 'a';

    if (n >= 8) {
        uint64_t a = load64(s), b = load64(s + n - 8);
        if (plain_words(a, b)) {
            memcpy(d, &a, 8);
            memcpy(d + n - 8, &b, 8);
            return n;
        }
    } else if (n >= 4) {
        uint32_t a = load32(s), b = load32(s + n - 4);
        if (plain_words((uint64_t)b << 32 | a, pad)) {
            memcpy(d, &a, 4);
            memcpy(d + n - 4, &b, 4);
            return n;
        }
    } else if (n > 0) {
        /* s[0], s[n/2] and s[n-1] cover 1..3 bytes. */
        uint64_t x = pad << 24 | (uint64_t)s[n - 1] << 16 | (uint64_t)s[n >> 1] << 8 | s[0];
        if (plain_words(x, pad)) {
            d[0] = (char)s[0];
            d[n >> 1] = (char)s[n >> 1];
            d[n - 1] = (char)s[n - 1];
            return n;
        }
    } else {
        return 0;
    }
    return copy_plain_bytes(d, s, n);
}

/* Copies the longest prefix of s[0..n) that needs no escaping to d and
 * returns its length. May write up to n bytes to d (bytes past the prefix
 * are garbage the caller overwrites or leaves past its length). */
static inline size_t copy_plain(char *d, const uint8_t *s, size_t n)
{
    if (n < 16)
        return copy_plain_short(d, s, n);
#ifdef __SSE2__
    size_t i = 0;
    for (;;) {
        /* The last step re-reads up to 15 checked bytes to stay inside s. */
        size_t at = i + 16 <= n ? i : n - 16;
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + at));
        _mm_storeu_si128((__m128i *)(void *)(d + at), v);
        unsigned m = special_mask(v);
        if (m != 0)
            return at + (size_t)__builtin_ctz(m);
        i = at + 16;
        if (i >= n)
            return n;
    }
#else
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x = load64(s + i);
        if (swar_special(x) != 0)
            break;
        memcpy(d + i, &x, 8);
    }
    return i + copy_plain_bytes(d + i, s + i, n - i);
#endif
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

/* Writes the byte at s[0] (not ascii_plain) escaped, or the valid UTF-8
 * sequence it starts verbatim; returns the input bytes consumed. */
static size_t put_special(ps_jw *w, const uint8_t *s, size_t n)
{
    char esc[6];
    uint8_t c = s[0];

    if (c >= 0x80) {
        size_t sl = utf8_seq_len(s, n);
        if (sl > 0) {
            put(w, s, sl);
            return sl;
        }
        /* Invalid byte: the literal text \xNN, JSON-escaped. */
        esc[0] = '\\';
        esc[1] = '\\';
        esc[2] = 'x';
        esc[3] = hexdig[c >> 4];
        esc[4] = hexdig[c & 0xF];
        put(w, esc, 5);
        return 1;
    }
    esc[0] = '\\';
    switch (c) {
    case '"':
    case '\\':
        esc[1] = (char)c;
        break;
    case '\n':
        esc[1] = 'n';
        break;
    case '\r':
        esc[1] = 'r';
        break;
    case '\t':
        esc[1] = 't';
        break;
    case '\b':
        esc[1] = 'b';
        break;
    case '\f':
        esc[1] = 'f';
        break;
    default: /* other controls and DEL */
        esc[1] = 'u';
        esc[2] = '0';
        esc[3] = '0';
        esc[4] = hexlow[c >> 4];
        esc[5] = hexlow[c & 0xF];
        put(w, esc, 6);
        return 1;
    }
    put(w, esc, 2);
    return 1;
}

/* Writes s[0..n) as a quoted JSON string (see ps_jw_strn contract), one
 * run of plain bytes and one escape or UTF-8 sequence at a time; runs are
 * copied straight into the buffer while the rest of the input fits. */
static void put_string_slow(ps_jw *w, const uint8_t *s, size_t n)
{
    size_t i = 0;

    putc1(w, '"');
    while (!w->failed) {
        size_t left = n - i, k;
        if (fits(w, left + 1)) { /* the rest and the closing quote */
            k = copy_plain(w->buf + w->len, s + i, left);
            w->len += k;
        } else {
            k = 0;
            while (k < left && ascii_plain(s[i + k]))
                k++;
            put(w, s + i, k);
        }
        i += k;
        if (i == n)
            break;
        i += put_special(w, s + i, n - i);
    }
    putc1(w, '"');
}

/* put_string_slow() for the usual string: plain bytes that fit are found
 * and copied 16 bytes a step with no per-byte work; UTF-8 is checked only
 * when a non-ASCII byte shows up, on the slow path. */
static inline void put_string(ps_jw *w, const uint8_t *s, size_t n)
{
    if (!w->failed && fits(w, n + 2)) {
        char *o = w->buf + w->len;
        if (copy_plain(o + 1, s, n) == n) {
            o[0] = '"';
            o[n + 1] = '"';
            w->len += n + 2;
            return;
        }
    }
    put_string_slow(w, s, n);
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

/* memcpy() for the few bytes of a member name, without a call: two
 * overlapping loads and stores of 4, 8 or 16 bytes. */
static inline void copy_short(char *d, const char *s, size_t n)
{
    if (n >= 16 && n <= 32) {
        char a[16], b[16];
        memcpy(a, s, 16);
        memcpy(b, s + n - 16, 16);
        memcpy(d, a, 16);
        memcpy(d + n - 16, b, 16);
    } else if (n >= 8 && n < 16) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else if (n >= 4 && n < 8) {
        uint32_t a, b;
        memcpy(&a, s, 4);
        memcpy(&b, s + n - 4, 4);
        memcpy(d, &a, 4);
        memcpy(d + n - 4, &b, 4);
    } else {
        memcpy(d, s, n);
    }
}

#ifndef NDEBUG
/* True when k is ,"name": with a name JSON writes verbatim. */
static bool key_ok(ps_jw_key k)
{
    if (k.len < 4 || k.text[0] != ',' || k.text[1] != '"' || k.text[k.len - 2] != '"' ||
        k.text[k.len - 1] != ':')
        return false;
    for (size_t i = 2; i < k.len - 2; i++)
        if (!ascii_plain((uint8_t)k.text[i]))
            return false;
    return true;
}
#endif

/* begin_value() for a pre-quoted member name: one copy, the comma
 * included when one is due. */
static inline void begin_key(ps_jw *w, ps_jw_key k)
{
    assert(key_ok(k));
    if (w->failed)
        return;
    size_t skip = 1;
    if (w->need_comma[w->depth]) {
        if (w->depth == 0) {
            w->failed = true;
            return;
        }
        skip = 0;
    }
    w->need_comma[w->depth] = true;
    size_t n = k.len - skip;
    if (!fits(w, n)) {
        w->failed = true;
        return;
    }
    copy_short(w->buf + w->len, k.text + skip, n);
    w->len += n;
}

static void open_container(ps_jw *w, char c)
{
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
    begin_value(w, key);
    open_container(w, '{');
}

void ps_jw_kobj_begin(ps_jw *w, ps_jw_key k)
{
    begin_key(w, k);
    open_container(w, '{');
}

void ps_jw_obj_end(ps_jw *w)
{
    close_container(w, '}');
}

void ps_jw_arr_begin(ps_jw *w, const char *key)
{
    begin_value(w, key);
    open_container(w, '[');
}

void ps_jw_karr_begin(ps_jw *w, ps_jw_key k)
{
    begin_key(w, k);
    open_container(w, '[');
}

void ps_jw_arr_end(ps_jw *w)
{
    close_container(w, ']');
}

/* The value part of ps_jw_strn(): an empty string for NULL. */
static void put_strn(ps_jw *w, const uint8_t *s, size_t n)
{
    if (s == NULL)
        put(w, "\"\"", 2);
    else
        put_string(w, s, n);
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
    put_strn(w, s, n);
}

void ps_jw_kstr(ps_jw *w, ps_jw_key k, const char *s)
{
    begin_key(w, k);
    if (s == NULL)
        put(w, "null", 4);
    else
        put_string(w, (const uint8_t *)s, strlen(s));
}

void ps_jw_kstrn(ps_jw *w, ps_jw_key k, const uint8_t *s, size_t n)
{
    begin_key(w, k);
    put_strn(w, s, n);
}

/* Writes v in decimal ending just before `end`; returns the digit count. */
static size_t u64_digits(char *end, uint64_t v)
{
    char *p = end;

    while (v >= 100) {
        size_t r = (size_t)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, digits2 + 2 * r, 2);
    }
    if (v >= 10) {
        p -= 2;
        memcpy(p, digits2 + 2 * v, 2);
    } else {
        *--p = (char)('0' + v);
    }
    return (size_t)(end - p);
}

/* Writes v in decimal, with a '-' first when neg. */
static void put_u64(ps_jw *w, uint64_t v, bool neg)
{
    char tmp[21];
    size_t n = u64_digits(tmp + sizeof(tmp), v);

    if (neg)
        tmp[sizeof(tmp) - ++n] = '-';
    put(w, tmp + sizeof(tmp) - n, n);
}

static void put_i64(ps_jw *w, int64_t v)
{
    if (v < 0)
        put_u64(w, (uint64_t)0 - (uint64_t)v, true); /* INT64_MIN safe */
    else
        put_u64(w, (uint64_t)v, false);
}

void ps_jw_u64(ps_jw *w, const char *key, uint64_t v)
{
    begin_value(w, key);
    put_u64(w, v, false);
}

void ps_jw_ku64(ps_jw *w, ps_jw_key k, uint64_t v)
{
    begin_key(w, k);
    put_u64(w, v, false);
}

void ps_jw_i64(ps_jw *w, const char *key, int64_t v)
{
    begin_value(w, key);
    put_i64(w, v);
}

void ps_jw_ki64(ps_jw *w, ps_jw_key k, int64_t v)
{
    begin_key(w, k);
    put_i64(w, v);
}

static void put_bool(ps_jw *w, bool v)
{
    if (v)
        put(w, "true", 4);
    else
        put(w, "false", 5);
}

void ps_jw_bool(ps_jw *w, const char *key, bool v)
{
    begin_value(w, key);
    put_bool(w, v);
}

void ps_jw_kbool(ps_jw *w, ps_jw_key k, bool v)
{
    begin_key(w, k);
    put_bool(w, v);
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

/* Longest text time_text() writes: a 6-digit year (UINT64_MAX us is in
 * year 584554) and 23 more characters. */
#define TIME_TEXT_MAX 32

static inline void put2(char *out, unsigned v)
{
    memcpy(out, digits2 + 2 * v, 2);
}

/* Writes day `days` since 1970-01-01 as YYYY-MM-DD (more year digits after
 * 9999) into out; returns the length. H. Hinnant's civil_from_days
 * (proleptic Gregorian, as gmtime), with no locking or time-zone lookup. */
static size_t date_text(char *out, uint64_t days)
{
    uint64_t z = days + 719468; /* days since 0000-03-01 */
    uint64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned day = doy - (153 * mp + 2) / 5 + 1;
    unsigned mon = mp < 10 ? mp + 3 : mp - 9;
    uint64_t year = era * 400 + yoe + (mon <= 2);
    size_t n;

    if (year < 10000) {
        put2(out, (unsigned)(year / 100));
        put2(out + 2, (unsigned)(year % 100));
        n = 4;
    } else {
        char tmp[20];
        n = u64_digits(tmp + sizeof(tmp), year);
        memcpy(out, tmp + sizeof(tmp) - n, n);
    }
    out[n] = '-';
    put2(out + n + 1, mon);
    out[n + 3] = '-';
    put2(out + n + 4, day);
    return n + 6;
}

/* The last date date_text() wrote, per thread: a record's timestamps, and
 * those of a run, mostly fall on one day. */
static _Thread_local struct {
    uint64_t days; /* UINT64_MAX: none (no ps_time_us is that many days) */
    size_t len;
    char text[16];
} last_date = {UINT64_MAX, 0, {0}};

/* Writes t as RFC 3339 UTC with microseconds into out (TIME_TEXT_MAX
 * bytes, not terminated); returns the length (27 up to year 9999). */
static size_t time_text(char *out, ps_time_us t)
{
    uint64_t secs = t / PS_USEC_PER_SEC, days = secs / 86400;
    unsigned us = (unsigned)(t % PS_USEC_PER_SEC);
    unsigned sod = (unsigned)(secs - days * 86400);

    if (last_date.days != days) {
        last_date.len = date_text(last_date.text, days);
        last_date.days = days;
    }
    size_t n = last_date.len;
    memcpy(out, last_date.text, sizeof(last_date.text));
    out[n] = 'T';
    put2(out + n + 1, sod / 3600);
    out[n + 3] = ':';
    put2(out + n + 4, sod / 60 % 60);
    out[n + 6] = ':';
    put2(out + n + 7, sod % 60);
    out[n + 9] = '.';
    put2(out + n + 10, us / 10000);
    put2(out + n + 12, us / 100 % 100);
    put2(out + n + 14, us % 100);
    out[n + 16] = 'Z';
    return n + 17;
}

void ps_jw_ktime(ps_jw *w, ps_jw_key k, ps_time_us t)
{
    char tmp[TIME_TEXT_MAX + 2];

    begin_key(w, k);
    if (w->failed)
        return;
    if (fits(w, sizeof(tmp))) {
        char *o = w->buf + w->len;
        size_t n = time_text(o + 1, t);
        o[0] = '"';
        o[n + 1] = '"';
        w->len += n + 2;
        return;
    }
    size_t n = time_text(tmp + 1, t);
    tmp[0] = '"';
    tmp[n + 1] = '"';
    put(w, tmp, n + 2);
}

char *ps_format_time(ps_time_us t, char *out, size_t outlen)
{
    char tmp[TIME_TEXT_MAX];
    size_t n;

    if (outlen == 0)
        return out;
    n = time_text(tmp, t);
    if (n > outlen - 1)
        n = outlen - 1;
    memcpy(out, tmp, n);
    out[n] = '\0';
    return out;
}
