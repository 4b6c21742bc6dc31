/* json_scan.h - streaming JSON validator that counts the items of one array. */
#ifndef PS_JSON_SCAN_H
#define PS_JSON_SCAN_H

#include "ps_common.h"

#define PS_JSON_MAX_DEPTH 64 /* nesting beyond this is reported invalid */
#define PS_JSON_KEY_MAX   32

/* What to count. ARRAY: elements of a top-level array. KEY: elements of the
 * array that is the value of top-level object key `key` (null counts 0). */
enum ps_json_mode { PS_JSON_ARRAY = 1, PS_JSON_KEY = 2 };

/* Constant-size scanner state; no pointer into the input is kept, so the
 * body can arrive in pieces of any size. Fields are private. */
typedef struct ps_json_scan {
    uint64_t stack; /* bit d-1 set: container at depth d is an array */
    int64_t items;
    uint32_t depth, target_depth;
    uint8_t mode, st, num, lit, lit_pos, esc_hex;
    uint16_t uval;
    bool invalid, done, in_target, allow_close;
    bool str_is_key, key_match, key_hit;
    uint8_t key_len, key_pos;
    char key[PS_JSON_KEY_MAX];
} ps_json_scan;

/* Prepares `s` for a new document. `key` (KEY mode) is copied; a key longer
 * than PS_JSON_KEY_MAX-1 bytes never matches. */
void ps_json_scan_init(ps_json_scan *s, int mode, const char *key);

/* Scans the next piece. Returns PS_OK, or PS_ERR_BAD_INPUT once the input
 * is not JSON (sticky; later pieces are ignored). */
int ps_json_scan_feed(ps_json_scan *s, const uint8_t *p, size_t len);

/* Ends the document. Returns PS_OK when exactly one complete JSON value
 * (plus whitespace) was seen, else PS_ERR_BAD_INPUT and the scan is invalid. */
int ps_json_scan_finish(ps_json_scan *s);

/* Items counted so far in the target array (final after finish when the
 * scan is valid); -1 when the target array was not found (absent key, or
 * the value is not an array). */
static inline int64_t ps_json_scan_items(const ps_json_scan *s)
{
    return s->items;
}

static inline bool ps_json_scan_invalid(const ps_json_scan *s)
{
    return s->invalid;
}

#endif
