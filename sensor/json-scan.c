/* json-scan.c - validates streamed JSON in constant memory and counts one array's items. */
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "json_scan.h"

enum { J_VALUE = 0, J_AFTER, J_KEY, J_COLON, J_STR, J_ESC, J_UHEX, J_LIT, J_NUM, J_DONE, J_ERR };
enum { N_MINUS = 1, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

static const char *const lits[3] = {"true", "false", "null"};
static const uint8_t lit_lens[3] = {4, 5, 4};

void ps_json_scan_init(ps_json_scan *s, int mode, const char *key)
{
    memset(s, 0, sizeof(*s));
    s->mode = (uint8_t)mode;
    s->items = -1;
    s->st = J_VALUE;
    if (key) {
        size_t n = strlen(key);
        if (n < PS_JSON_KEY_MAX) {
            memcpy(s->key, key, n);
            s->key_len = (uint8_t)n;
        } else {
            s->key_len = 0xff; /* never matches */
        }
    }
}

static void fail(ps_json_scan *s)
{
    s->st = J_ERR;
    s->invalid = true;
}

static void after_value(ps_json_scan *s)
{
    if (s->depth == 0) {
        s->st = J_DONE;
        s->done = true;
    } else {
        s->st = J_AFTER;
    }
}

static void key_char(ps_json_scan *s, unsigned ch)
{
    if (!s->key_match)
        return;
    if (s->key_pos < s->key_len && s->key_len != 0xff && (unsigned char)s->key[s->key_pos] == ch)
        s->key_pos++;
    else
        s->key_match = false;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void push(ps_json_scan *s, bool array, bool target)
{
    if (s->depth >= PS_JSON_MAX_DEPTH) {
        fail(s);
        return;
    }
    if (array)
        s->stack |= 1ull << s->depth;
    else
        s->stack &= ~(1ull << s->depth);
    s->depth++;
    if (target) {
        s->in_target = true;
        s->target_depth = s->depth;
        s->items = 0;
    }
    s->st = array ? J_VALUE : J_KEY;
    s->allow_close = true;
}

static void pop(ps_json_scan *s)
{
    if (s->in_target && s->depth == s->target_depth)
        s->in_target = false;
    s->depth--;
    after_value(s);
}

static bool top_is_array(const ps_json_scan *s)
{
    return s->depth > 0 && (s->stack >> (s->depth - 1)) & 1u;
}

/* The opening quote of an object's key. */
static void key_start(ps_json_scan *s)
{
    s->st = J_STR;
    s->str_is_key = true;
    s->key_match = s->mode == PS_JSON_KEY && s->depth == 1;
    s->key_pos = 0;
}

/* First byte of a value: counts it and opens it. */
__attribute__((always_inline)) static inline void value_start(ps_json_scan *s, uint8_t c)
{
    bool target = false;
    if (s->in_target && s->depth == s->target_depth && s->items < INT64_MAX)
        s->items++;
    if (s->mode == PS_JSON_ARRAY && s->depth == 0) {
        target = c == '[';
    } else if (s->key_hit) {
        s->key_hit = false;
        target = c == '[';
        s->items = c == 'n' ? 0 : -1; /* Go marshals a nil slice as null */
    }
    switch (c) {
    case '[':
        push(s, true, target);
        break;
    case '{':
        push(s, false, false);
        break;
    case '"':
        s->st = J_STR;
        s->str_is_key = false;
        s->key_match = false;
        break;
    case 't':
    case 'f':
    case 'n':
        s->lit = c == 't' ? 0 : c == 'f' ? 1 : 2;
        s->lit_pos = 1;
        s->st = J_LIT;
        break;
    case '-':
        s->num = N_MINUS;
        s->st = J_NUM;
        break;
    default:
        if (c >= '0' && c <= '9') {
            s->num = c == '0' ? N_ZERO : N_INT;
            s->st = J_NUM;
        } else {
            fail(s);
        }
    }
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Advances the number state; returns false when `c` ends the number. */
static bool num_step(ps_json_scan *s, uint8_t c)
{
    bool digit = c >= '0' && c <= '9';
    bool e = c == 'e' || c == 'E';
    switch (s->num) {
    case N_MINUS:
        if (!digit)
            break;
        s->num = c == '0' ? N_ZERO : N_INT;
        return true;
    case N_ZERO:
    case N_INT:
    case N_FRAC:
        if (digit && s->num != N_ZERO)
            return true;
        if (digit)
            break; /* leading zero */
        if (c == '.' && s->num != N_FRAC) {
            s->num = N_DOT;
            return true;
        }
        if (e) {
            s->num = N_E;
            return true;
        }
        return false;
    case N_DOT:
        if (!digit)
            break;
        s->num = N_FRAC;
        return true;
    case N_E:
        if (c == '+' || c == '-') {
            s->num = N_ESIGN;
            return true;
        }
        if (!digit)
            break;
        s->num = N_EXP;
        return true;
    case N_ESIGN:
        if (!digit)
            break;
        s->num = N_EXP;
        return true;
    case N_EXP:
        return digit;
    default:
        break;
    }
    fail(s);
    return true;
}

static bool num_complete(const ps_json_scan *s)
{
    return s->num == N_ZERO || s->num == N_INT || s->num == N_FRAC || s->num == N_EXP;
}

/* Index of the first byte at or after i that ends a run of plain string
 * bytes (quote, backslash or control), or len. Bodies are mostly string
 * contents, so SSE2 looks at 16 bytes a step. */
static size_t skip_plain(const uint8_t *p, size_t i, size_t len)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\');
    const __m128i ctl = _mm_set1_epi8(0x1f);
    while (len - i >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                         _mm_cmpeq_epi8(_mm_min_epu8(v, ctl), v)); /* v <= 0x1f */
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < len && p[i] != '"' && p[i] != '\\' && p[i] >= 0x20)
        i++;
    return i;
}

int ps_json_scan_feed(ps_json_scan *s, const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        switch (s->st) {
        case J_ERR:
            return PS_ERR_BAD_INPUT;
        case J_DONE:
            if (!is_ws(c))
                fail(s);
            break;
        case J_VALUE:
            if (is_ws(c))
                break;
            if (c == ']' && s->allow_close) {
                pop(s);
                break;
            }
            value_start(s, c);
            break;
        case J_AFTER:
            if (is_ws(c))
                break;
            if (c == ',') {
                s->st = top_is_array(s) ? J_VALUE : J_KEY;
                s->allow_close = false;
            } else if (c == (top_is_array(s) ? ']' : '}')) {
                pop(s);
            } else {
                fail(s);
            }
            break;
        case J_KEY:
            if (is_ws(c))
                break;
            if (c == '}' && s->allow_close) {
                pop(s);
            } else if (c == '"') {
                key_start(s);
            } else {
                fail(s);
            }
            break;
        case J_COLON:
            if (is_ws(c))
                break;
            if (c == ':')
                s->st = J_VALUE;
            else
                fail(s);
            s->allow_close = false;
            break;
        case J_STR:
            if (!s->key_match) {
                /* Skip plain string bytes in bulk. */
                i = skip_plain(p, i, len);
                if (i == len)
                    return PS_OK;
                c = p[i];
            }
            if (c == '"') {
                /* Compact JSON (what APIs send) goes "key":"value","key": a
                 * step per structural byte; the commonest pairs are taken
                 * here, as the states they pass through would. */
                if (s->str_is_key) {
                    s->key_hit = s->key_match && s->key_pos == s->key_len;
                    s->st = J_COLON;
                    if (len - i > 1 && p[i + 1] == ':') {
                        i++;
                        s->st = J_VALUE;
                        s->allow_close = false;
                        if (len - i > 1 && p[i + 1] == '"')
                            value_start(s, p[++i]);
                    }
                } else {
                    after_value(s);
                    if (s->st == J_AFTER && len - i > 2 && p[i + 1] == ',' && p[i + 2] == '"' &&
                        !top_is_array(s)) {
                        i += 2;
                        s->allow_close = false;
                        key_start(s);
                    }
                }
            } else if (c == '\\') {
                s->st = J_ESC;
            } else if (c < 0x20) {
                fail(s);
            } else {
                key_char(s, c);
            }
            break;
        case J_ESC: {
            static const char from[] = "\"\\/bfnrt";
            static const char to[] = "\"\\/\b\f\n\r\t";
            const char *hit = c ? memchr(from, c, sizeof(from) - 1) : NULL;
            if (hit) {
                key_char(s, (unsigned char)to[hit - from]);
                s->st = J_STR;
            } else if (c == 'u') {
                s->st = J_UHEX;
                s->esc_hex = 4;
                s->uval = 0;
            } else {
                fail(s);
            }
            break;
        }
        case J_UHEX: {
            int h = hexval(c);
            if (h < 0) {
                fail(s);
                break;
            }
            s->uval = (uint16_t)(((unsigned)s->uval << 4) | (unsigned)h);
            if (--s->esc_hex == 0) {
                key_char(s, s->uval < 0x80 ? s->uval : 0x100u);
                s->st = J_STR;
            }
            break;
        }
        case J_LIT:
            if ((uint8_t)lits[s->lit][s->lit_pos] != c) {
                fail(s);
                break;
            }
            if (++s->lit_pos == lit_lens[s->lit])
                after_value(s);
            break;
        case J_NUM:
            if (!num_step(s, c)) {
                after_value(s);
                continue; /* the byte that ended the number is seen again */
            }
            break;
        default:
            fail(s);
        }
        i++;
    }
    return s->st == J_ERR ? PS_ERR_BAD_INPUT : PS_OK;
}

int ps_json_scan_finish(ps_json_scan *s)
{
    if (s->st == J_NUM && s->depth == 0 && num_complete(s))
        after_value(s);
    if (s->st != J_DONE)
        fail(s);
    return s->invalid ? PS_ERR_BAD_INPUT : PS_OK;
}
