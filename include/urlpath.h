/* urlpath.h - request-target normalisation as the Go servers behind the container APIs route it. */
#ifndef PS_URLPATH_H
#define PS_URLPATH_H

#include "ps_common.h"

#define PS_PATH_MAX_SEGMENTS 32

#define PS_PATH_F_DECODED    0x01u /* percent-encoding was decoded */
#define PS_PATH_F_CLEANED    0x02u /* "//", "." or ".." removed: Go's mux would redirect (301) */
#define PS_PATH_F_TRAILING   0x04u /* trailing slash */
#define PS_PATH_F_BAD_ESCAPE 0x08u /* malformed %XX: Go answers 400 */
#define PS_PATH_F_TRUNCATED  0x10u /* path or segment count over the cap */
#define PS_PATH_F_ABSOLUTE   0x20u /* absolute-form target (http://host/path) */

/* A normalised path split into segments (pointers into `buf`). */
typedef struct ps_path {
    char buf[1024];
    const char *seg[PS_PATH_MAX_SEGMENTS];
    size_t seg_len[PS_PATH_MAX_SEGMENTS];
    uint32_t nseg;
    const char *query; /* points into the caller's target, NULL if none */
    size_t query_len;
    uint32_t flags;
} ps_path;

/* Normalises request target `target` (len bytes, not NUL-terminated): drops
 * scheme and authority of an absolute-form target, splits off the query,
 * percent-decodes, and cleans the path as Go's path.Clean (keeping the
 * trailing-slash flag). Never fails: anomalies are reported in p->flags.
 * `p->query` points into `target`, so `target` must outlive its use. */
void ps_path_normalize(const char *target, size_t len, ps_path *p);

/* Matches p's segments against `pattern` ("/containers/{}/json"): `{}` is one
 * segment, `{*}` one or more (at most one per pattern). Starts at segment
 * `first`. Returns true on a full match. */
bool ps_path_match(const ps_path *p, uint32_t first, const char *pattern);

/* Value of query parameter `name` (raw, not decoded) into out; returns its
 * length or -1 when absent. */
int ps_path_query_param(const ps_path *p, const char *name, char *out, size_t outlen);

#endif
