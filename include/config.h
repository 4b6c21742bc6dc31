/* config.h - the sensor's configuration: defaults, file loading, validation. */
#ifndef PS_CONFIG_H
#define PS_CONFIG_H

#include "ps_common.h"
#include "decode.h"
#include "flow.h"
#include "http.h"
#include "scan.h"
#include "redis_out.h"

#define PS_MAX_PORTS   32
#define PS_MAX_OUTPUTS 8
#define PS_PATH_MAX    1024
#define PS_MAX_IFACES  8
#define PS_IFNAME_MAX  16 /* IFNAMSIZ, with the NUL */

typedef struct ps_port_set {
    uint16_t ports[PS_MAX_PORTS];
    uint32_t count;
} ps_port_set;

/* Returns true when `port` is in `set`. */
bool ps_port_set_has(const ps_port_set *set, uint16_t port);

#define PS_MAX_NETS 64

/* An address prefix ("198.18.0.0/15", "2001:db8::/32"); host bits are zero. */
typedef struct ps_net {
    ps_addr addr;
    uint8_t prefix; /* 0..32 for IPv4, 0..128 for IPv6 */
} ps_net;

typedef struct ps_net_set {
    ps_net nets[PS_MAX_NETS];
    uint32_t count;
} ps_net_set;

/* Parses "ADDR" or "ADDR/LEN" into *out (host bits must be zero).
 * PS_OK or PS_ERR_BAD_INPUT. */
int ps_net_parse(const char *text, ps_net *out);

/* Returns true when `a` lies in one of the prefixes of `set`. */
bool ps_net_set_has(const ps_net_set *set, const ps_addr *a);

typedef struct ps_config {
    /* [sensor] */
    char sensor_name[256]; /* default: gethostname() */

    /* [decode], [flow], [http] */
    ps_decode_config decode;
    ps_flow_config flow;
    ps_http_config http;

    /* [docker] */
    ps_port_set docker_ports; /* default 2375, 2376, 4243 */

    /* [kubelet], [kubeapi], [etcd] */
    ps_port_set kubelet_ports; /* default 10255, 10250 */
    ps_port_set kubeapi_ports; /* default 8080, 8001 */
    ps_port_set etcd_ports;    /* default 2379 */

    /* [http] request/response bodies kept for API inspection (app.c) */
    uint32_t body_cap;  /* bytes kept per body (http.body_cap_kb), default 64 KiB */
    uint32_t body_bufs; /* buffers per worker (http.pool_body_bufs), default 256 */

    /* [secrets] */
    char hmac_key[256]; /* fingerprint key; "" = generated into state_dir */

    /* [tls] TLS to container ports (docs/detection.md, "TLS") */
    ps_port_set tls_ports;    /* container TLS ports, default 2376, 2379, 6443, 10250 */
    bool tls_alert_untrusted; /* detection for clients outside tls_trusted, default false */
    ps_net_set tls_trusted;   /* trusted client networks, default none */

    /* [ndpi] classification of flows no dissector claims */
    bool ndpi_enabled;         /* default true */
    uint32_t ndpi_max_packets; /* data segments fed per unclaimed flow, default 8 */
    uint32_t ndpi_max_flows;   /* nDPI flow states at once, default 4096 */

    /* [detection] */
    uint32_t window_s;           /* aggregation window, default 300 */
    uint32_t update_interval_s;  /* min spacing of update records, default 60 */
    uint32_t response_timeout_s; /* request without answer -> unknown, default 5 */
    uint32_t max_aggregates;     /* open aggregates, default 65536 */
    uint32_t max_urls;           /* distinct URLs listed per aggregate, default 8 */

    /* [scan] */
    ps_scan_config scan;
    ps_port_set scan_ports; /* copied into scan.ports */

    /* [trust] and [baseline]: expected clients */
    ps_net_set trust_any, trust_docker, trust_kubelet, trust_kubeapi, trust_etcd;
    int trust_mode;                  /* 0 drop discovery from trusted clients, 1 report as info */
    uint32_t baseline_learn_s;       /* learning period, 0 = no baseline (default) */
    char baseline_file[PS_PATH_MAX]; /* state file; "" = state_dir/baseline */
    uint32_t baseline_max_pairs;     /* default 65536 */
    bool baseline_redis;             /* keep it in Redis too, with a Redis output; default true */
    char baseline_redis_key[256];    /* the Redis set, default "portside:baseline" */
    uint32_t baseline_redis_timeout_ms; /* start-up wait for it, default 5000 */

    /* [campaign] */
    uint32_t campaign_max_sources; /* attacking sources followed, default 65536 */
    uint32_t campaign_idle_s;      /* a campaign ends after this idle time, default 86400 */

    /* [output] */
    char outputs[PS_MAX_OUTPUTS][PS_PATH_MAX]; /* "-" = stdout, else a file path */
    uint32_t output_count;

    /* [redis] */
    ps_redis_config redis;

    /* [capture] live capture (-i) */
    char ifaces[PS_MAX_IFACES][PS_IFNAME_MAX]; /* capture.interfaces; -i replaces them */
    uint32_t iface_count;
    uint32_t snaplen;         /* bytes kept per packet, default 262144 (GRO/LRO segments) */
    bool promiscuous;         /* default true */
    uint32_t buffer_bytes;    /* kernel ring per interface (capture.buffer_mb), default 64 MiB */
    bool immediate;           /* deliver each packet at once rather than in blocks, default false */
    char filter[PS_PATH_MAX]; /* BPF filter expression, "" = every packet */

    /* [runtime] */
    int progress;  /* -1 auto (when stderr is a terminal), 0 off, 1 on */
    bool http_log; /* also write every HTTP exchange as an "http" record (--http-log) */
    char state_dir[PS_PATH_MAX]; /* generated state (hmac.key), default /var/lib/portside */
    uint32_t stats_interval_s;   /* periodic stats record, default 60, 0 = off */
    int log_syslog;              /* runtime.log: 0 "stderr" (default), 1 "syslog" */
    char user[64];               /* drop to this user after opening captures; "" = stay */
    bool keep_net_raw;           /* keep CAP_NET_RAW to reopen interfaces, default true */
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

/* Called by ps_config_reload() for each key whose value differs between
 * the running and the new configuration; `applied` is false for keys that
 * need a restart (table sizes, capture, Redis, privileges...). */
typedef void (*ps_config_change_fn)(void *ctx, const char *group, const char *key, bool applied);

/* Copies into `live` the keys of `next` that may change while running
 * (thresholds, trusted networks, outputs, sensor name, logging and stats
 * settings; README.md, "Reloading", lists them) and reports every changed key to
 * `fn` (may be NULL). Keys that need a restart keep their running value.
 * Returns the number of changed keys that were not applied. */
unsigned ps_config_reload(ps_config *live, const ps_config *next, ps_config_change_fn fn,
                          void *ctx);

#endif
