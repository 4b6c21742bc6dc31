/* config.h - the sensor's configuration: defaults, file loading, validation. */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "ps_common.h"
#include "decode.h"
#include "flow.h"
#include "http.h"

#define PS_MAX_PORTS   32
#define PS_MAX_OUTPUTS 8
#define PS_PATH_MAX    1024

typedef struct ps_port_set {
    uint16_t ports[PS_MAX_PORTS];
    uint32_t count;
} ps_port_set;

/* Returns true when `port` is in `set`. */
bool ps_port_set_has(const ps_port_set *set, uint16_t port);

typedef struct ps_config {
    /* [sensor] */
    char sensor_name[256]; /* default: gethostname() */

    /* [decode], [flow], [http] */
    ps_decode_config decode;
    ps_flow_config flow;
    ps_http_config http;

    /* [docker] */
    ps_port_set docker_ports; /* default 2375, 2376, 4243 */

    /* [detection] */
    uint32_t window_s;           /* aggregation window, default 300 */
    uint32_t update_interval_s;  /* min spacing of update records, default 60 */
    uint32_t response_timeout_s; /* request without answer -> unknown, default 5 */
    uint32_t max_aggregates;     /* open aggregates, default 65536 */
    uint32_t max_urls;           /* distinct URLs listed per aggregate, default 8 */

    /* [output] */
    char outputs[PS_MAX_OUTPUTS][PS_PATH_MAX]; /* "-" = stdout, else a file path */
    uint32_t output_count;

    /* [runtime] */
    int progress;  /* -1 auto (when stderr is a terminal), 0 off, 1 on */
    bool http_log; /* also write every HTTP exchange as an "http" record (--http-log) */
} ps_config;

/* Fills `cfg` with every documented default (see config/portside.conf). */
void ps_config_default(ps_config *cfg);

/* Loads `path` on top of the current contents of `cfg`. Unknown keys, wrong
 * types and out-of-range values are errors: each is written to `err` (one
 * line per error, "file:line: message", lines separated by '\n' with no
 * trailing newline, whole lines only, at most errlen bytes, NUL-terminated)
 * and the function returns PS_ERR_CONFIG; PS_ERR_IO when the file cannot be
 * read (PS_ERR_NOMEM if its 1 MiB read buffer cannot be had). Files over
 * 1 MiB, NUL bytes and @include directives are rejected. On error `cfg` may
 * be partly updated (settings that were valid are applied). */
int ps_config_load(ps_config *cfg, const char *path, char *err, size_t errlen);

/* As ps_config_load() but parses the NUL-terminated `text`, naming it `name`
 * in messages. Never touches the file system. */
int ps_config_load_buffer(ps_config *cfg, const char *name, const char *text, char *err,
                          size_t errlen);

#endif
