/* json-fields.c - a bounded, non-allocating JSON walker that names each value by its key path. */
#include <string.h>
#include <strings.h>

#include "json_fields.h"

typedef struct walker {
    const uint8_t *p;
    size_t len, pos;
    uint32_t max_depth;
    ps_jf_cb cb;
    void *ctx;
    char path[PS_JF_PATH_MAX + 1];
    size_t plen;
    bool cut; /* path over the cap at this level or above */
} walker;

#define NEED_MORE PS_ERR_NEED_MORE
#define BAD       PS_ERR_BAD_INPUT

static void skip_ws(walker *w)
{
    while (w->pos < w->len) {
        uint8_t c = w->p[w->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
        w->pos++;
    }
}

static int hexv(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Scans a string whose opening quote is at pos; on PS_OK, [*s, *e) is its
 * raw content and pos is past the closing quote. */
static int scan_string(walker *w, size_t *s, size_t *e)
{
    size_t i = w->pos + 1;
    *s = i;
    while (i < w->len) {
        uint8_t c = w->p[i];
        if (c == '"') {
            *e = i;
            w->pos = i + 1;
            return PS_OK;
        }
        if (c < 0x20)
            return BAD;
        if (c == '\\') {
            if (i + 1 >= w->len)
                return NEED_MORE;
            uint8_t x = w->p[i + 1];
            if (x == 'u') {
                for (size_t k = 0; k < 4; k++) {
                    if (i + 2 + k >= w->len)
                        return NEED_MORE;
                    if (hexv(w->p[i + 2 + k]) < 0)
                        return BAD;
                }
                i += 6;
                continue;
            }
            if (!strchr("\"\\/bfnrt", x) || x == '\0')
                return BAD;
            i += 2;
            continue;
        }
        i++;
    }
    return NEED_MORE;
}

/* JSON number grammar; a number running to the end of the buffer needs
 * more input unless it is the whole document (depth 0). */
static int scan_number(walker *w, uint32_t depth)
{
    size_t i = w->pos;
    const uint8_t *p = w->p;
    size_t n = w->len;
#define AT_END (i >= n)
    if (p[i] == '-') {
        i++;
        if (AT_END)
            return NEED_MORE;
    }
    if (p[i] == '0') {
        i++;
    } else if (p[i] >= '1' && p[i] <= '9') {
        while (!AT_END && p[i] >= '0' && p[i] <= '9')
            i++;
    } else {
        return BAD;
    }
    if (!AT_END && p[i] == '.') {
        i++;
        if (AT_END)
            return NEED_MORE;
        if (!(p[i] >= '0' && p[i] <= '9'))
            return BAD;
        while (!AT_END && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (!AT_END && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (!AT_END && (p[i] == '+' || p[i] == '-'))
            i++;
        if (AT_END)
            return NEED_MORE;
        if (!(p[i] >= '0' && p[i] <= '9'))
            return BAD;
        while (!AT_END && p[i] >= '0' && p[i] <= '9')
            i++;
    }
    if (AT_END && depth > 0)
        return NEED_MORE;
#undef AT_END
    w->pos = i;
    return PS_OK;
}

static void emit(walker *w, int type, size_t start, size_t len)
{
    if (!w->cb)
        return;
    ps_jf_value v;
    w->path[w->plen] = '\0';
    v.path = w->path;
    v.path_len = w->plen;
    v.path_cut = w->cut;
    v.type = type;
    v.raw = w->p + start;
    v.raw_len = len;
    w->cb(w->ctx, &v);
}

/* Appends a path element (a decoded key, or "[]"); sets cut on overflow. */
static void path_push(walker *w, const char *elem, size_t n, bool dot)
{
    if (w->cut)
        return;
    size_t need = n + (dot && w->plen ? 1 : 0);
    if (w->plen + need > PS_JF_PATH_MAX) {
        w->cut = true;
        return;
    }
    if (dot && w->plen)
        w->path[w->plen++] = '.';
    memcpy(w->path + w->plen, elem, n);
    w->plen += n;
}

static int value(walker *w, uint32_t depth);

static int object(walker *w, uint32_t depth)
{
    size_t base = w->plen;
    bool base_cut = w->cut;
    w->pos++; /* '{' */
    skip_ws(w);
    if (w->pos >= w->len)
        return NEED_MORE;
    if (w->p[w->pos] == '}') {
        w->pos++;
        return PS_OK;
    }
    for (;;) {
        skip_ws(w);
        if (w->pos >= w->len)
            return NEED_MORE;
        if (w->p[w->pos] != '"')
            return BAD;
        size_t ks, ke;
        int rc = scan_string(w, &ks, &ke);
        if (rc != PS_OK)
            return rc;
        char key[PS_JF_PATH_MAX + 1];
        size_t kn = ps_jf_unescape(w->p + ks, ke - ks, key, sizeof(key));
        w->plen = base;
        w->cut = base_cut;
        if (kn >= sizeof(key))
            w->cut = true;
        else
            path_push(w, key, kn, true);
        skip_ws(w);
        if (w->pos >= w->len)
            return NEED_MORE;
        if (w->p[w->pos] != ':')
            return BAD;
        w->pos++;
        rc = value(w, depth);
        if (rc != PS_OK)
            return rc;
        skip_ws(w);
        if (w->pos >= w->len)
            return NEED_MORE;
        uint8_t c = w->p[w->pos++];
        if (c == '}')
            break;
        if (c != ',')
            return BAD;
    }
    w->plen = base;
    w->cut = base_cut;
    return PS_OK;
}

static int array(walker *w, uint32_t depth)
{
    size_t base = w->plen;
    bool base_cut = w->cut;
    w->pos++; /* '[' */
    skip_ws(w);
    if (w->pos >= w->len)
        return NEED_MORE;
    if (w->p[w->pos] == ']') {
        w->pos++;
        return PS_OK;
    }
    path_push(w, "[]", 2, false);
    for (;;) {
        int rc = value(w, depth);
        if (rc != PS_OK)
            return rc;
        skip_ws(w);
        if (w->pos >= w->len)
            return NEED_MORE;
        uint8_t c = w->p[w->pos++];
        if (c == ']')
            break;
        if (c != ',')
            return BAD;
    }
    w->plen = base;
    w->cut = base_cut;
    return PS_OK;
}

static int literal(walker *w, const char *lit, int type)
{
    size_t n = strlen(lit);
    for (size_t k = 0; k < n; k++) {
        if (w->pos + k >= w->len)
            return NEED_MORE;
        if (w->p[w->pos + k] != (uint8_t)lit[k])
            return BAD;
    }
    emit(w, type, w->pos, n);
    w->pos += n;
    return PS_OK;
}

/* One value at nesting `depth` (containers open at depth + 1). */
static int value(walker *w, uint32_t depth)
{
    skip_ws(w);
    if (w->pos >= w->len)
        return NEED_MORE;
    uint8_t c = w->p[w->pos];
    switch (c) {
    case '{':
    case '[':
        if (depth >= w->max_depth)
            return BAD;
        emit(w, c == '{' ? PS_JF_OBJECT : PS_JF_ARRAY, w->pos, 0);
        return c == '{' ? object(w, depth + 1) : array(w, depth + 1);
    case '"': {
        size_t s, e;
        int rc = scan_string(w, &s, &e);
        if (rc == PS_OK)
            emit(w, PS_JF_STRING, s, e - s);
        return rc;
    }
    case 't':
        return literal(w, "true", PS_JF_TRUE);
    case 'f':
        return literal(w, "false", PS_JF_FALSE);
    case 'n':
        return literal(w, "null", PS_JF_NULL);
    default: {
        size_t s = w->pos;
        int rc = scan_number(w, depth);
        if (rc == PS_OK)
            emit(w, PS_JF_NUMBER, s, w->pos - s);
        return rc;
    }
    }
}

int ps_jf_walk(const uint8_t *doc, size_t len, uint32_t max_depth, ps_jf_cb cb, void *ctx)
{
    walker w;
    memset(&w, 0, sizeof(w));
    w.p = doc;
    w.len = doc ? len : 0;
    w.max_depth = max_depth > PS_JF_MAX_DEPTH ? PS_JF_MAX_DEPTH : max_depth;
    w.cb = cb;
    w.ctx = ctx;
    int rc = value(&w, 0);
    if (rc != PS_OK)
        return rc;
    skip_ws(&w);
    return w.pos == w.len ? PS_OK : BAD;
}

static size_t put_utf8(char *out, size_t outlen, size_t o, uint32_t cp)
{
    uint8_t b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (uint8_t)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (uint8_t)(0xc0 | (cp >> 6));
        b[1] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (uint8_t)(0xe0 | (cp >> 12));
        b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (uint8_t)(0xf0 | (cp >> 18));
        b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (uint8_t)(0x80 | (cp & 0x3f));
        n = 4;
    }
    for (size_t k = 0; k < n; k++, o++)
        if (o + 1 < outlen)
            out[o] = (char)b[k];
    return o;
}

static uint32_t hex4(const uint8_t *p)
{
    uint32_t v = 0;
    for (int k = 0; k < 4; k++) {
        int h = hexv(p[k]);
        v = v << 4 | (uint32_t)(h < 0 ? 0 : h);
    }
    return v;
}

size_t ps_jf_unescape(const uint8_t *raw, size_t len, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        uint8_t c = raw[i];
        if (c != '\\' || i + 1 >= len) {
            if (o + 1 < outlen)
                out[o] = (char)c;
            o++;
            i++;
            continue;
        }
        uint8_t x = raw[i + 1];
        if (x == 'u' && i + 6 <= len) {
            uint32_t cp = hex4(raw + i + 2);
            i += 6;
            if (cp >= 0xd800 && cp < 0xdc00 && i + 6 <= len && raw[i] == '\\' &&
                raw[i + 1] == 'u') {
                uint32_t lo = hex4(raw + i + 2);
                if (lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
            }
            if (cp == 0 || (cp >= 0xd800 && cp < 0xe000))
                cp = '?';
            o = put_utf8(out, outlen, o, cp);
            continue;
        }
        char d;
        switch (x) {
        case 'b':
            d = '\b';
            break;
        case 'f':
            d = '\f';
            break;
        case 'n':
            d = '\n';
            break;
        case 'r':
            d = '\r';
            break;
        case 't':
            d = '\t';
            break;
        case '"':
        case '\\':
        case '/':
            d = (char)x;
            break;
        default:
            d = '?';
            break;
        }
        if (o + 1 < outlen)
            out[o] = d;
        o++;
        i += 2;
    }
    if (outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

bool ps_jf_path_is(const ps_jf_value *v, const char *want, bool nocase)
{
    size_t n = strlen(want);
    if (v->path_cut || v->path_len != n)
        return false;
    return nocase ? strncasecmp(v->path, want, n) == 0 : memcmp(v->path, want, n) == 0;
}
