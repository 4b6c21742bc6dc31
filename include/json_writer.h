/* json_writer.h - bounded JSON text builder that always emits valid UTF-8. */
#ifndef PS_JSON_WRITER_H
#define PS_JSON_WRITER_H

#include "ps_common.h"

#define PS_JW_MAX_DEPTH 16

/* Writes into a caller-owned buffer; never allocates. Once the buffer is
 * too small (or nesting exceeds PS_JW_MAX_DEPTH) the writer is failed and
 * every later call is a no-op; ps_jw_finish() then reports PS_ERR_CAP. */
typedef struct ps_jw {
    char *buf;
    size_t cap, len;
    bool failed;
    int depth;
    bool need_comma[PS_JW_MAX_DEPTH + 1];
} ps_jw;

void ps_jw_init(ps_jw *w, char *buf, size_t cap);

/* `key` is NULL for array elements and the top-level value, else the member
 * name (written escaped). */
void ps_jw_obj_begin(ps_jw *w, const char *key);
void ps_jw_obj_end(ps_jw *w);
void ps_jw_arr_begin(ps_jw *w, const char *key);
void ps_jw_arr_end(ps_jw *w);

/* Strings are raw bytes: valid UTF-8 passes through (JSON-escaped where
 * required); every byte that is not part of a valid UTF-8 sequence is written
 * as the four characters \xNN (JSON "\\xNN"), so output stays valid UTF-8.
 * ps_jw_str(w, key, NULL) writes null. */
void ps_jw_str(ps_jw *w, const char *key, const char *s);
void ps_jw_strn(ps_jw *w, const char *key, const uint8_t *s, size_t n);
void ps_jw_u64(ps_jw *w, const char *key, uint64_t v);
void ps_jw_i64(ps_jw *w, const char *key, int64_t v);
void ps_jw_bool(ps_jw *w, const char *key, bool v);
void ps_jw_null(ps_jw *w, const char *key);

/* A member name fixed at compile time. PS_JW_KEY("name") holds it quoted,
 * with its separator and colon (,"name":), so writing it is one copy with
 * no escaping. `name` must be a string literal of printable ASCII other than
 * '"' and '\\' (checked by assert). Each ps_jw_k* call writes exactly what
 * its ps_jw_* counterpart writes for the same name. */
typedef struct ps_jw_key {
    const char *text;
    size_t len;
} ps_jw_key;

#define PS_JW_KEY(name) ((ps_jw_key){",\"" name "\":", sizeof(",\"" name "\":") - 1})

void ps_jw_kobj_begin(ps_jw *w, ps_jw_key k);
void ps_jw_karr_begin(ps_jw *w, ps_jw_key k);
void ps_jw_kstr(ps_jw *w, ps_jw_key k, const char *s);
void ps_jw_kstrn(ps_jw *w, ps_jw_key k, const uint8_t *s, size_t n);
void ps_jw_ku64(ps_jw *w, ps_jw_key k, uint64_t v);
void ps_jw_ki64(ps_jw *w, ps_jw_key k, int64_t v);
void ps_jw_kbool(ps_jw *w, ps_jw_key k, bool v);

/* Writes packet time `t` as a string, in ps_format_time()'s text. */
void ps_jw_ktime(ps_jw *w, ps_jw_key k, ps_time_us t);

/* NUL-terminates the text; returns its length, or PS_ERR_CAP if the buffer
 * was too small or the nesting unbalanced. */
int ps_jw_finish(ps_jw *w);

/* Formats packet time `t` as RFC 3339 UTC with microseconds and `Z`
 * (e.g. 2026-03-02T14:05:09.123456Z) into out (>= 32 bytes). Returns out. */
char *ps_format_time(ps_time_us t, char *out, size_t outlen);

#endif
