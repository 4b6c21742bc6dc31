/* json_fields.h - walks a bounded JSON document and reports each value with its key path. */
#ifndef PS_JSON_FIELDS_H
#define PS_JSON_FIELDS_H

#include "ps_common.h"

#define PS_JF_MAX_DEPTH 32  /* deepest nesting accepted (containers) */
#define PS_JF_PATH_MAX  192 /* longest key path reported; longer ones are cut (and flagged) */

enum ps_jf_type {
    PS_JF_OBJECT = 1,
    PS_JF_ARRAY,
    PS_JF_STRING,
    PS_JF_NUMBER,
    PS_JF_TRUE,
    PS_JF_FALSE,
    PS_JF_NULL
};

/* One value. `path` is the key path from the root: member keys (escapes
 * decoded) joined by '.', each array level as "[]" ("HostConfig.Binds[]",
 * "spec.containers[].securityContext.privileged"); "" is the root. `raw`
 * is the value as written (a string without its quotes and still escaped:
 * see ps_jf_unescape); containers are reported on opening with raw_len 0.
 * `path_cut` says the path was longer than PS_JF_PATH_MAX (never matches). */
typedef struct ps_jf_value {
    const char *path;
    size_t path_len;
    bool path_cut;
    int type;
    const uint8_t *raw;
    size_t raw_len;
} ps_jf_value;

typedef void (*ps_jf_cb)(void *ctx, const ps_jf_value *v);

/* Walks doc[0..len) and calls cb for every value, in document order, as
 * soon as the value is complete. Never allocates; recursion is bounded by
 * max_depth (at most PS_JF_MAX_DEPTH). Returns PS_OK for exactly one
 * complete value (whitespace around it allowed), PS_ERR_NEED_MORE when doc
 * is a valid prefix of a document (values before the cut were reported),
 * PS_ERR_BAD_INPUT for invalid JSON or nesting deeper than max_depth (values
 * before the fault may have been reported). */
int ps_jf_walk(const uint8_t *doc, size_t len, uint32_t max_depth, ps_jf_cb cb, void *ctx);

/* Decodes JSON string escapes of raw[0..len) into out (NUL-terminated, cut
 * at outlen-1 bytes; \u0000 and bad escapes become '?'). Returns the
 * decoded length before any cut. */
size_t ps_jf_unescape(const uint8_t *raw, size_t len, char *out, size_t outlen);

/* True when path v equals `want` ('.'-joined, "[]" for arrays); `nocase`
 * compares ASCII case-insensitively (Go's encoding/json matches field
 * names that way). */
bool ps_jf_path_is(const ps_jf_value *v, const char *want, bool nocase);

#endif
