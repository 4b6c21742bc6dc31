/* apiutil.h - helpers shared by the HTTP API dissectors (grading, event filling, form values). */
#ifndef PS_APIUTIL_H
#define PS_APIUTIL_H

#include "event.h"
#include "http.h"
#include "urlpath.h"

/* Outcome of an answer: 2xx and 101 (stream granted) succeeded, 401/403
 * denied, any other status failed, 0 (none) unknown. */
uint8_t ps_api_grade(uint16_t status);

/* Sets ev's rule, outcome and HTTP fields (method, url, host, user agent,
 * status, versions, anomalies, Server) from tx. */
void ps_api_fill(const ps_http_tx *tx, const ps_rule *rule, ps_event *ev);

/* Copies src[0..n) into dst (cap bytes, NUL-terminated, cut at cap-1). */
void ps_api_copy(char *dst, size_t cap, const char *src, size_t n);

/* Finds parameter `name` in an x-www-form-urlencoded text (a query string
 * or a form body) and writes its value decoded (%XX, '+' as space) into out.
 * Repeated parameters are joined with `sep` (0: only the first is used).
 * Bytes outside printable ASCII are kept as decoded. Returns the number of
 * values found (0 when absent). Never reads past len. */
int ps_api_form_value(const char *text, size_t len, const char *name, char sep, char *out,
                      size_t outlen);

/* Appends item to a comma-separated list in buf (cap bytes) unless it is
 * already listed or does not fit. */
void ps_api_list_add(char *buf, size_t cap, const char *item);

/* Segment i of p as a NUL-terminated copy into out. */
void ps_api_seg(const ps_path *p, uint32_t i, char *out, size_t outlen);

/* True when the body's first bytes (after whitespace) start with `prefix`. */
bool ps_api_body_starts(const ps_http_body *b, const char *prefix);

/* True when the answer is Go's "Client sent an HTTP request to an HTTPS
 * server." (a TLS port spoken to in clear). */
bool ps_api_tls_port_answer(const ps_http_tx *tx);

/* True when a host path given to a container is the host's root or a
 * path that hands over the host ("/etc", "/proc", "/var/run/docker.sock",
 * "/var/lib/kubelet"...), after trailing slashes are dropped. */
bool ps_api_sensitive_host_path(const char *path);

/* True when a Linux capability (with or without "CAP_", any case) lets a
 * container reach the host: SYS_ADMIN, SYS_PTRACE, SYS_MODULE,
 * DAC_READ_SEARCH, NET_ADMIN, SYS_RAWIO, BPF, ALL. */
bool ps_api_dangerous_cap(const char *cap);

#endif
