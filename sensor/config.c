/* config.c - configuration defaults and a strict, table-driven libconfig loader. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <libconfig.h>

#include "config.h"

/* Config files are small; a larger one is a mistake (or /dev/zero). */
#define PS_CONFIG_MAX_BYTES (1u << 20)

bool ps_port_set_has(const ps_port_set *set, uint16_t port)
{
    uint32_t n = PS_MIN(set->count, (uint32_t)PS_MAX_PORTS);

    for (uint32_t i = 0; i < n; i++)
        if (set->ports[i] == port)
            return true;
    return false;
}

int ps_net_parse(const char *text, ps_net *out)
{
    char buf[64];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    long prefix = -1;

    if (alen == 0 || alen >= sizeof(buf))
        return PS_ERR_BAD_INPUT;
    memcpy(buf, text, alen);
    buf[alen] = '\0';
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->addr.bytes) == 1)
        out->addr.family = 4;
    else if (inet_pton(AF_INET6, buf, out->addr.bytes) == 1)
        out->addr.family = 6;
    else
        return PS_ERR_BAD_INPUT;
    long max = out->addr.family == 4 ? 32 : 128;
    if (slash) {
        const char *p = slash + 1;
        if (*p < '0' || *p > '9' || strlen(p) > 3)
            return PS_ERR_BAD_INPUT;
        prefix = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return PS_ERR_BAD_INPUT;
            prefix = prefix * 10 + (*p - '0');
        }
        if (prefix > max)
            return PS_ERR_BAD_INPUT;
    } else {
        prefix = max;
    }
    out->prefix = (uint8_t)prefix;
    for (long bit = prefix; bit < max; bit++) /* host bits must be zero */
        if (out->addr.bytes[bit / 8] & (0x80u >> (bit % 8)))
            return PS_ERR_BAD_INPUT;
    return PS_OK;
}

bool ps_net_set_has(const ps_net_set *set, const ps_addr *a)
{
    uint32_t n = PS_MIN(set->count, (uint32_t)PS_MAX_NETS);

    for (uint32_t i = 0; i < n; i++) {
        const ps_net *net = &set->nets[i];
        if (net->addr.family != a->family)
            continue;
        unsigned full = net->prefix / 8u, rest = net->prefix % 8u;
        if (memcmp(net->addr.bytes, a->bytes, full) != 0)
            continue;
        if (rest && ((net->addr.bytes[full] ^ a->bytes[full]) & (0xFFu << (8 - rest)) & 0xFFu))
            continue;
        return true;
    }
    return false;
}

void ps_config_default(ps_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    if (gethostname(cfg->sensor_name, sizeof(cfg->sensor_name)) != 0)
        cfg->sensor_name[0] = '\0';
    cfg->sensor_name[sizeof(cfg->sensor_name) - 1] = '\0'; /* truncation leaves no NUL */
    if (cfg->sensor_name[0] == '\0')
        strcpy(cfg->sensor_name, "portside");

    ps_decode_config_default(&cfg->decode);
    ps_flow_config_default(&cfg->flow);
    ps_http_config_default(&cfg->http);

    cfg->docker_ports.ports[0] = 2375;
    cfg->docker_ports.ports[1] = 2376;
    cfg->docker_ports.ports[2] = 4243;
    cfg->docker_ports.count = 3;
    cfg->kubelet_ports.ports[0] = 10255;
    cfg->kubelet_ports.ports[1] = 10250;
    cfg->kubelet_ports.count = 2;
    cfg->kubeapi_ports.ports[0] = 8080;
    cfg->kubeapi_ports.ports[1] = 8001;
    cfg->kubeapi_ports.count = 2;
    cfg->etcd_ports.ports[0] = 2379;
    cfg->etcd_ports.count = 1;
    cfg->body_cap = 64u * 1024u;
    cfg->body_bufs = 256;
    strcpy(cfg->state_dir, "/var/lib/portside");

    cfg->tls_ports.ports[0] = 2376;
    cfg->tls_ports.ports[1] = 2379;
    cfg->tls_ports.ports[2] = 6443;
    cfg->tls_ports.ports[3] = 10250;
    cfg->tls_ports.count = 4;
    cfg->tls_alert_untrusted = false;

    cfg->ndpi_enabled = true;
    cfg->ndpi_max_packets = 8;
    cfg->ndpi_max_flows = 4096;

    cfg->window_s = 300;
    cfg->update_interval_s = 60;
    cfg->response_timeout_s = 5;
    cfg->max_aggregates = 65536;
    cfg->max_urls = 8;
    ps_scan_config_default(&cfg->scan);
    cfg->scan_ports.count = PS_MIN(cfg->scan.nports, (uint32_t)PS_MAX_PORTS);
    memcpy(cfg->scan_ports.ports, cfg->scan.ports, cfg->scan_ports.count * sizeof(uint16_t));
    cfg->baseline_max_pairs = 65536;
    cfg->baseline_redis = true;
    strcpy(cfg->baseline_redis_key, "portside:baseline");
    cfg->baseline_redis_timeout_ms = 5000;
    cfg->campaign_max_sources = 65536;
    cfg->campaign_idle_s = 86400;

    cfg->output_count = 0;
    cfg->progress = -1;
    ps_redis_config_default(&cfg->redis);

    cfg->snaplen = 262144;
    cfg->promiscuous = true;
    cfg->buffer_bytes = 64u << 20;
    cfg->immediate = false;
    cfg->stats_interval_s = 60;
    cfg->log_syslog = 0;
    cfg->keep_net_raw = true;
}

/* ---- error collection ---------------------------------------------------- */

typedef struct errbuf {
    char *buf;
    size_t cap, len;
    unsigned count;
    bool full;        /* a line did not fit: later ones are dropped too */
    const char *name; /* file name used as the prefix of every message */
} errbuf;

/* Appends one "name:line: message" line. Once a line does not fit whole,
 * it and all later ones are dropped, so err always holds the first errors;
 * the count still tells the caller something went wrong. */
__attribute__((format(printf, 3, 4))) static void err_add(errbuf *e, unsigned line, const char *fmt,
                                                          ...)
{
    char msg[512];
    char full[PS_PATH_MAX + 1024];
    va_list ap;
    int n;

    e->count++;
    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (line > 0)
        n = snprintf(full, sizeof(full), "%s%s:%u: %s", e->len > 0 ? "\n" : "", e->name, line, msg);
    else
        n = snprintf(full, sizeof(full), "%s%s: %s", e->len > 0 ? "\n" : "", e->name, msg);
    if (n < 0 || e->buf == NULL || e->cap == 0 || e->full)
        return;
    size_t need = PS_MIN((size_t)n, sizeof(full) - 1); /* absurd names: cut */
    if (need >= e->cap - e->len) {
        e->full = true;
        return;
    }
    memcpy(e->buf + e->len, full, need + 1);
    e->len += need;
}

/* ---- lexical pre-scan ---------------------------------------------------- */

/* libconfig 1.5 parses a plain integer with atoi()/strtoul() and silently
 * wraps values beyond 32 bits (4294967312 reads as 16), and it opens files
 * named by @include at parse time. This pass, mirroring its scanner, finds
 * both before libconfig sees the text. */
#define SCAN_MAX_LINES 32

typedef struct scan {
    unsigned wrapped_lines[SCAN_MAX_LINES]; /* lines holding a wrapping literal */
    unsigned nwrapped;
    bool wrapped_overflow; /* more than SCAN_MAX_LINES: distrust every int */
    bool has_include;
} scan;

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '*';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void scan_mark(scan *sc, unsigned line)
{
    if (sc->nwrapped > 0 && sc->wrapped_lines[sc->nwrapped - 1] == line)
        return;
    if (sc->nwrapped < SCAN_MAX_LINES)
        sc->wrapped_lines[sc->nwrapped++] = line;
    else
        sc->wrapped_overflow = true;
}

static bool scan_is_wrapped(const scan *sc, unsigned line)
{
    if (sc->wrapped_overflow)
        return true;
    for (unsigned i = 0; i < sc->nwrapped; i++)
        if (sc->wrapped_lines[i] == line)
            return true;
    return false;
}

/* Scans a number token at p (sign already consumed into `neg`); returns
 * the position after it and marks its line when a 32-bit literal wraps. */
static const char *scan_number(scan *sc, const char *p, bool neg, bool had_sign, unsigned line)
{
    uint64_t v = 0;
    bool big = false;

    if (!had_sign && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && is_xdigit(p[2])) {
        p += 2;
        for (; is_xdigit(*p); p++) {
            unsigned d = is_digit(*p) ? (unsigned)(*p - '0') : (unsigned)((*p | 0x20) - 'a' + 10);
            if (v > (UINT64_MAX >> 4))
                big = true;
            else
                v = v << 4 | d;
        }
        if (*p == 'L')
            return p + 1; /* 64-bit literal: libconfig saturates, never wraps into range */
        if (big || v > INT32_MAX)
            scan_mark(sc, line);
        return p;
    }
    for (; is_digit(*p); p++) {
        if (v > (UINT64_MAX - 9) / 10)
            big = true;
        else
            v = v * 10 + (unsigned)(*p - '0');
    }
    if (*p == '.' || *p == 'e' || *p == 'E') { /* float: not an integer literal */
        while (is_digit(*p) || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-')
            p++;
        return p;
    }
    if (*p == 'L')
        return p + 1;
    if (big || v > (neg ? (uint64_t)INT32_MAX + 1 : (uint64_t)INT32_MAX))
        scan_mark(sc, line);
    return p;
}

static void scan_text(scan *sc, const char *t)
{
    unsigned line = 1;

    memset(sc, 0, sizeof(*sc));
    /* libconfig acts on "@include" at the start of any line (the scanner
     * anchors it with ^); refuse it on every such line, even one inside a
     * string or comment, rather than second-guess the scanner's state. */
    for (const char *l = t; l != NULL; l = strchr(l, '\n')) {
        l += *l == '\n';
        if (strncmp(l + strspn(l, " \t"), "@include", 8) == 0)
            sc->has_include = true;
    }
    while (*t != '\0') {
        char c = *t;
        if (c == '\n') {
            line++;
            t++;
            continue;
        }
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            t++;
            continue;
        }
        if (c == '#' || (c == '/' && t[1] == '/')) {
            while (*t != '\0' && *t != '\n')
                t++;
        } else if (c == '/' && t[1] == '*') {
            t += 2;
            while (*t != '\0' && !(t[0] == '*' && t[1] == '/')) {
                if (*t == '\n')
                    line++;
                t++;
            }
            if (*t != '\0')
                t += 2;
        } else if (c == '"') {
            t++;
            while (*t != '\0' && *t != '"') {
                if (*t == '\\' && t[1] != '\0')
                    t++;
                if (*t == '\n')
                    line++;
                t++;
            }
            if (*t != '\0')
                t++;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '*') {
            while (is_name_char(*t))
                t++;
        } else if (is_digit(c)) {
            t = scan_number(sc, t, false, false, line);
        } else if ((c == '-' || c == '+') && is_digit(t[1])) {
            t = scan_number(sc, t + 1, c == '-', true, line);
        } else {
            t++;
        }
    }
}

/* ---- schema -------------------------------------------------------------- */

typedef enum key_type {
    KT_U32,    /* integer in [min, max], times scale, into a uint32_t */
    KT_U64,    /* integer in [min, max], times scale, into a uint64_t */
    KT_ENUM,   /* string from `enums`, its value into an int */
    KT_NAME,   /* string of min..max bytes into char[max + 1] */
    KT_PORTS,  /* array of min..max ports into a ps_port_set */
    KT_PATHS,  /* array of min..max paths into outputs[] / output_count */
    KT_BOOL,   /* true/false into a bool */
    KT_NETS,   /* array of min..max "addr/len" strings into a ps_net_set */
    KT_IFACES, /* array of min..max interface names into ifaces[] / iface_count */
} key_type;

typedef struct enum_val {
    const char *name;
    int value;
} enum_val;

typedef struct key_def {
    const char *group, *key;
    key_type type;
    int64_t min, max;
    uint64_t scale;
    size_t off;
    const enum_val *enums; /* NULL-name terminated */
    bool live;             /* applied by ps_config_reload() (SIGHUP) */
} key_def;

static const enum_val checksum_enums[] = {
    {"auto", PS_CSUM_AUTO}, {"yes", PS_CSUM_YES}, {"no", PS_CSUM_NO}, {NULL, 0}};
static const enum_val trust_enums[] = {{"drop", 0}, {"info", 1}, {NULL, 0}};
static const enum_val progress_enums[] = {{"auto", -1}, {"on", 1}, {"off", 0}, {NULL, 0}};
static const enum_val log_enums[] = {{"stderr", 0}, {"syslog", 1}, {NULL, 0}};
static const enum_val fsync_enums[] = {{"always", PS_FSYNC_ALWAYS},
                                       {"interval", PS_FSYNC_INTERVAL},
                                       {"never", PS_FSYNC_NEVER},
                                       {NULL, 0}};

#define OFF(f) offsetof(ps_config, f)
#define U32(g, k, lo, hi, sc, f)                                                                   \
    {                                                                                              \
        g, k, KT_U32, lo, hi, sc, OFF(f), NULL, false                                              \
    }
#define U64(g, k, lo, hi, sc, f)                                                                   \
    {                                                                                              \
        g, k, KT_U64, lo, hi, sc, OFF(f), NULL, false                                              \
    }
/* A key applied on SIGHUP without a restart. */
#define LIVE_U32(g, k, lo, hi, f)                                                                  \
    {                                                                                              \
        g, k, KT_U32, lo, hi, 1, OFF(f), NULL, true                                                \
    }

/* One row per accepted key: adding a setting is adding a row (and its
 * default, and a line in config/portside.conf). */
static const key_def schema[] = {
    {"sensor", "name", KT_NAME, 1, 255, 1, OFF(sensor_name), NULL, true},

    {"decode", "checksum_validation", KT_ENUM, 0, 0, 1, OFF(decode.checksum_mode), checksum_enums,
     false},
    U32("decode", "max_tunnel_depth", 0, 8, 1, decode.max_tunnel_depth),
    U32("decode", "frag_max_datagrams", 1, 1000000, 1, decode.frag_max_datagrams),
    U32("decode", "frag_timeout_ms", 100, 600000, 1, decode.frag_timeout_ms),
    U32("decode", "dedup_window_us", 0, 1000000, 1, decode.dedup_window_us),
    U32("decode", "dedup_slots", 16, 16777216, 1, decode.dedup_slots),

    U32("flow", "max_flows", 16, 100000000, 1, flow.max_flows),
    U64("flow", "memcap_mb", 1, 1048576, 1u << 20, flow.memcap),
    U32("flow", "stream_ooo_cap_kb", 1, 65536, 1024, flow.stream_ooo_cap),
    U32("flow", "syn_cache_slots", 16, 100000000, 1, flow.syn_cache_slots),
    U32("flow", "tcp_idle_timeout_s", 1, 86400, 1, flow.tcp_idle_timeout_s),
    U32("flow", "tcp_closed_timeout_s", 1, 3600, 1, flow.tcp_closed_timeout_s),
    U32("flow", "tcp_syn_timeout_s", 1, 3600, 1, flow.tcp_syn_timeout_s),

    U32("http", "max_header_bytes", 256, 1048576, 1, http.max_header_bytes),
    U32("http", "max_headers", 8, 10000, 1, http.max_headers),
    U32("http", "max_pipeline", 1, 1024, 1, http.max_pipeline),
    U64("http", "max_inflate_mb", 1, 4096, 1u << 20, http.max_inflate_bytes),
    U32("http", "pool_txs", 16, 10000000, 1, http.pool_txs),
    U32("http", "pool_head_bufs", 1, 1000000, 1, http.pool_head_bufs),
    U32("http", "pool_inflaters", 1, 65536, 1, http.pool_inflaters),
    U32("http", "body_cap_kb", 1, 16384, 1024, body_cap),
    U32("http", "pool_body_bufs", 1, 1000000, 1, body_bufs),

    {"docker", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(docker_ports), NULL, false},
    {"kubelet", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(kubelet_ports), NULL, false},
    {"kubeapi", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(kubeapi_ports), NULL, false},
    {"etcd", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(etcd_ports), NULL, false},
    {"secrets", "hmac_key", KT_NAME, 16, 255, 1, OFF(hmac_key), NULL, false},

    {"tls", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(tls_ports), NULL, false},
    {"tls", "alert_untrusted", KT_BOOL, 0, 1, 1, OFF(tls_alert_untrusted), NULL, true},
    {"tls", "trusted_networks", KT_NETS, 0, PS_MAX_NETS, 1, OFF(tls_trusted), NULL, true},

    {"ndpi", "enabled", KT_BOOL, 0, 1, 1, OFF(ndpi_enabled), NULL, false},
    U32("ndpi", "max_packets", 1, 64, 1, ndpi_max_packets),
    U32("ndpi", "max_flows", 16, 10000000, 1, ndpi_max_flows),

    LIVE_U32("detection", "window_s", 10, 86400, window_s),
    LIVE_U32("detection", "update_interval_s", 1, 86400, update_interval_s),
    LIVE_U32("detection", "response_timeout_s", 1, 3600, response_timeout_s),
    U32("detection", "max_aggregates", 16, 10000000, 1, max_aggregates),
    U32("detection", "max_urls", 1, 64, 1, max_urls),
    {"scan", "ports", KT_PORTS, 1, PS_MAX_PORTS, 1, OFF(scan_ports), NULL, false},
    LIVE_U32("scan", "horizontal_hosts", 2, 1000000, scan.horizontal_hosts),
    LIVE_U32("scan", "vertical_ports", 2, 65535, scan.vertical_ports),
    LIVE_U32("scan", "window_s", 10, 86400, scan.window_s),
    LIVE_U32("scan", "idle_timeout_s", 60, 2592000, scan.idle_timeout_s),
    U32("scan", "max_sources", 16, 10000000, 1, scan.max_sources),
    U32("scan", "exact_targets", 1, 4096, 1, scan.exact_targets),
    U32("scan", "hll_bits", 4, 16, 1, scan.hll_bits),
    U32("scan", "hll_sketches", 1, 1000000, 1, scan.hll_sketches),
    U32("scan", "fingerprint_packets", 2, 4, 1, scan.fingerprint_k),
    LIVE_U32("scan", "report_rate", 1, 100000, scan.report_rate),
    LIVE_U32("scan", "report_burst", 1, 1000000, scan.report_burst),
    LIVE_U32("scan", "suppressed_interval_s", 1, 86400, scan.suppressed_interval_s),
    U64("scan", "memcap_mb", 1, 65536, 1024 * 1024, scan.memcap),
    U64("scan", "hash_seed", 0, INT64_MAX, 1, scan.hash_key[0]),
    {"trust", "any", KT_NETS, 0, PS_MAX_NETS, 1, OFF(trust_any), NULL, true},
    {"trust", "docker", KT_NETS, 0, PS_MAX_NETS, 1, OFF(trust_docker), NULL, true},
    {"trust", "kubelet", KT_NETS, 0, PS_MAX_NETS, 1, OFF(trust_kubelet), NULL, true},
    {"trust", "kubeapi", KT_NETS, 0, PS_MAX_NETS, 1, OFF(trust_kubeapi), NULL, true},
    {"trust", "etcd", KT_NETS, 0, PS_MAX_NETS, 1, OFF(trust_etcd), NULL, true},
    {"trust", "mode", KT_ENUM, 0, 0, 1, OFF(trust_mode), trust_enums, true},
    U32("baseline", "learn_s", 0, 31536000, 1, baseline_learn_s),
    {"baseline", "file", KT_NAME, 1, PS_PATH_MAX - 1, 1, OFF(baseline_file), NULL, false},
    U32("baseline", "max_pairs", 16, 10000000, 1, baseline_max_pairs),
    {"baseline", "redis", KT_BOOL, 0, 1, 1, OFF(baseline_redis), NULL, false},
    {"baseline", "redis_key", KT_NAME, 1, 200, 1, OFF(baseline_redis_key), NULL, false},
    U32("baseline", "redis_timeout_ms", 100, 600000, 1, baseline_redis_timeout_ms),
    U32("campaign", "max_sources", 16, 10000000, 1, campaign_max_sources),
    U32("campaign", "idle_timeout_s", 60, 2592000, 1, campaign_idle_s),

    {"output", "paths", KT_PATHS, 1, PS_MAX_OUTPUTS, 1, OFF(outputs), NULL, true},

    {"capture", "interfaces", KT_IFACES, 0, PS_MAX_IFACES, 1, OFF(ifaces), NULL, false},
    U32("capture", "snaplen", 64, 262144, 1, snaplen),
    {"capture", "promiscuous", KT_BOOL, 0, 1, 1, OFF(promiscuous), NULL, false},
    U32("capture", "buffer_mb", 1, 2047, 1u << 20, buffer_bytes),
    {"capture", "immediate", KT_BOOL, 0, 1, 1, OFF(immediate), NULL, false},
    {"capture", "filter", KT_NAME, 0, PS_PATH_MAX - 1, 1, OFF(filter), NULL, false},

    {"runtime", "progress", KT_ENUM, 0, 0, 1, OFF(progress), progress_enums, true},
    LIVE_U32("runtime", "stats_interval_s", 0, 86400, stats_interval_s),
    {"runtime", "log", KT_ENUM, 0, 0, 1, OFF(log_syslog), log_enums, true},
    {"runtime", "user", KT_NAME, 0, 63, 1, OFF(user), NULL, false},
    {"runtime", "keep_net_raw", KT_BOOL, 0, 1, 1, OFF(keep_net_raw), NULL, false},

    /* [redis]: string maxima are the field sizes - 1 (PS_REDIS_NAME_MAX, PS_REDIS_PATH_MAX). */
    {"redis", "channel", KT_NAME, 1, 255, 1, OFF(redis.channel), NULL, true},
    {"redis", "stream", KT_NAME, 1, 255, 1, OFF(redis.stream), NULL, true},
    {"redis", "stats_stream", KT_NAME, 1, 255, 1, OFF(redis.stats_stream), NULL, true},
    LIVE_U32("redis", "stream_maxlen", 0, 1000000000, redis.stream_maxlen),
    {"redis", "publish", KT_BOOL, 0, 1, 1, OFF(redis.publish), NULL, true},
    {"redis", "xadd", KT_BOOL, 0, 1, 1, OFF(redis.xadd), NULL, true},
    {"redis", "password", KT_NAME, 0, 255, 1, OFF(redis.password), NULL, true},
    {"redis", "password_env", KT_NAME, 0, 255, 1, OFF(redis.password_env), NULL, true},
    {"redis", "ca_file", KT_NAME, 0, 1023, 1, OFF(redis.ca_file), NULL, true},
    {"redis", "cert_file", KT_NAME, 0, 1023, 1, OFF(redis.cert_file), NULL, true},
    {"redis", "key_file", KT_NAME, 0, 1023, 1, OFF(redis.key_file), NULL, true},
    {"redis", "verify_hostname", KT_BOOL, 0, 1, 1, OFF(redis.verify_hostname), NULL, true},
    LIVE_U32("redis", "connect_timeout_ms", 10, 600000, redis.connect_timeout_ms),
    LIVE_U32("redis", "command_timeout_ms", 10, 600000, redis.command_timeout_ms),
    U32("redis", "queue_size", 16, 262144, 1, redis.queue_size),
    {"redis", "spool_dir", KT_NAME, 0, 1023, 1, OFF(redis.spool_dir), NULL, false},
    U64("redis", "spool_max_mb", 1, 1048576, 1u << 20, redis.spool_max_bytes),
    {"redis", "fsync", KT_ENUM, 0, 0, 1, OFF(redis.fsync), fsync_enums, false},
    U32("redis", "fsync_interval_ms", 1, 3600000, 1, redis.fsync_interval_ms),
    LIVE_U32("redis", "flush_timeout_s", 0, 3600, redis.flush_timeout_s),
    {"runtime", "state_dir", KT_NAME, 1, PS_PATH_MAX - 1, 1, OFF(state_dir), NULL, false},
};

static bool group_known(const char *g)
{
    for (size_t i = 0; i < PS_ARRAY_LEN(schema); i++)
        if (strcmp(schema[i].group, g) == 0)
            return true;
    return false;
}

static const key_def *key_find(const char *g, const char *k)
{
    for (size_t i = 0; i < PS_ARRAY_LEN(schema); i++)
        if (strcmp(schema[i].group, g) == 0 && strcmp(schema[i].key, k) == 0)
            return &schema[i];
    return NULL;
}

typedef struct load_ctx {
    ps_config *cfg;
    errbuf *err;
    const scan *sc;
} load_ctx;

static unsigned line_of(const config_setting_t *s)
{
    while (s != NULL && config_setting_source_line(s) == 0)
        s = s->parent;
    return s != NULL ? (unsigned)config_setting_source_line(s) : 0;
}

/* Reads an integer setting into *out; false when it is not one or when its
 * literal wrapped on the way in (see scan_text). */
static bool get_int(const load_ctx *lc, const config_setting_t *s, int64_t *out)
{
    int t = config_setting_type(s);

    if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
        return false;
    if (t == CONFIG_TYPE_INT && scan_is_wrapped(lc->sc, line_of(s)))
        return false;
    *out = (int64_t)config_setting_get_int64(s);
    return true;
}

static void apply_int(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    int64_t v;

    if (!get_int(lc, s, &v) || v < d->min || v > d->max) {
        err_add(lc->err, line_of(s), "'%s.%s' must be an integer between %" PRId64 " and %" PRId64,
                d->group, d->key, d->min, d->max);
        return;
    }
    uint64_t scaled = (uint64_t)v * d->scale; /* max * scale fits: see schema */
    char *field = (char *)lc->cfg + d->off;
    if (d->type == KT_U32) {
        uint32_t u = (uint32_t)scaled;
        memcpy(field, &u, sizeof(u));
    } else {
        memcpy(field, &scaled, sizeof(scaled));
    }
}

static void apply_enum(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    const char *str =
        config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    char names[128];
    size_t n = 0;

    for (const enum_val *e = d->enums; str != NULL && e->name != NULL; e++) {
        if (strcmp(e->name, str) == 0) {
            memcpy((char *)lc->cfg + d->off, &e->value, sizeof(int));
            return;
        }
    }
    names[0] = '\0';
    for (const enum_val *e = d->enums; e->name != NULL && n < sizeof(names); e++) {
        int w = snprintf(names + n, sizeof(names) - n, "%s\"%s\"", n > 0 ? ", " : "", e->name);
        if (w < 0)
            break;
        n += (size_t)w;
    }
    err_add(lc->err, line_of(s), "'%s.%s' must be one of %s", d->group, d->key, names);
}

static void apply_name(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    const char *str =
        config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    size_t len = str != NULL ? strlen(str) : 0;

    if (str == NULL || len < (size_t)d->min || len > (size_t)d->max) {
        err_add(lc->err, line_of(s),
                "'%s.%s' must be a string of %" PRId64 " to %" PRId64 " characters", d->group,
                d->key, d->min, d->max);
        return;
    }
    memcpy((char *)lc->cfg + d->off, str, len + 1);
}

static bool is_collection(const config_setting_t *s)
{
    return config_setting_is_array(s) || config_setting_is_list(s);
}

static void apply_ports(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    ps_port_set set;
    int n = is_collection(s) ? config_setting_length(s) : -1;
    bool ok = true;

    if (n < d->min || n > d->max) {
        err_add(lc->err, line_of(s),
                "'%s.%s' must be an array of %" PRId64 " to %" PRId64
                " integers between 1 and 65535",
                d->group, d->key, d->min, d->max);
        return;
    }
    memset(&set, 0, sizeof(set));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        int64_t v;
        if (e == NULL || !get_int(lc, e, &v) || v < 1 || v > 65535) {
            err_add(lc->err, line_of(e != NULL ? e : s),
                    "'%s.%s' entry %d must be an integer between 1 and 65535", d->group, d->key,
                    i + 1);
            ok = false;
            continue;
        }
        if (ps_port_set_has(&set, (uint16_t)v)) {
            err_add(lc->err, line_of(e), "'%s.%s' lists port %" PRId64 " twice", d->group, d->key,
                    v);
            ok = false;
            continue;
        }
        set.ports[set.count++] = (uint16_t)v;
    }
    if (ok)
        memcpy((char *)lc->cfg + d->off, &set, sizeof(set));
}

static void apply_paths(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    ps_config *cfg = lc->cfg;
    int n = is_collection(s) ? config_setting_length(s) : -1;
    const char *paths[PS_MAX_OUTPUTS];
    bool ok = true;

    if (n < d->min || n > d->max) {
        err_add(lc->err, line_of(s),
                "'%s.%s' must be an array of %" PRId64 " to %" PRId64 " strings", d->group, d->key,
                d->min, d->max);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *str = e != NULL && config_setting_type(e) == CONFIG_TYPE_STRING
                              ? config_setting_get_string(e)
                              : NULL;
        paths[i] = str;
        if (str == NULL || str[0] == '\0' || strlen(str) >= PS_PATH_MAX) {
            err_add(lc->err, line_of(e != NULL ? e : s),
                    "'%s.%s' entry %d must be a non-empty string of at most %d characters",
                    d->group, d->key, i + 1, PS_PATH_MAX - 1);
            ok = false;
            continue;
        }
        for (int j = 0; j < i; j++) {
            if (paths[j] != NULL && strcmp(paths[j], str) == 0) {
                err_add(lc->err, line_of(e), "'%s.%s' entry %d repeats entry %d", d->group, d->key,
                        i + 1, j + 1);
                ok = false;
                break;
            }
        }
    }
    if (!ok)
        return;
    for (int i = 0; i < n; i++)
        strcpy(cfg->outputs[i], paths[i]);
    cfg->output_count = (uint32_t)n;
}

static void apply_bool(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
        err_add(lc->err, line_of(s), "'%s.%s' must be true or false", d->group, d->key);
        return;
    }
    bool v = config_setting_get_bool(s) != 0;
    memcpy((char *)lc->cfg + d->off, &v, sizeof(v));
}

static void apply_nets(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    ps_net_set set;
    int n = is_collection(s) ? config_setting_length(s) : -1;
    bool ok = true;

    if (n < d->min || n > d->max) {
        err_add(lc->err, line_of(s),
                "'%s.%s' must be an array of %" PRId64 " to %" PRId64
                " strings such as \"10.0.0.0/8\"",
                d->group, d->key, d->min, d->max);
        return;
    }
    memset(&set, 0, sizeof(set));
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *str = e != NULL && config_setting_type(e) == CONFIG_TYPE_STRING
                              ? config_setting_get_string(e)
                              : NULL;
        if (str == NULL || ps_net_parse(str, &set.nets[set.count]) != PS_OK) {
            err_add(lc->err, line_of(e != NULL ? e : s),
                    "'%s.%s' entry %d must be an address or prefix with zero host bits, such as "
                    "\"10.0.0.0/8\" or \"2001:db8::/32\"",
                    d->group, d->key, i + 1);
            ok = false;
            continue;
        }
        set.count++;
    }
    if (ok)
        memcpy((char *)lc->cfg + d->off, &set, sizeof(set));
}

/* Linux interface names: 1-15 bytes, no '/', ':' or white space, not "." or "..". */
static bool iface_name_ok(const char *n)
{
    size_t len = n != NULL ? strlen(n) : 0;

    if (len == 0 || len >= PS_IFNAME_MAX || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
        return false;
    for (const char *p = n; *p != '\0'; p++)
        if (*p == '/' || *p == ':' || (unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static void apply_ifaces(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    ps_config *cfg = lc->cfg;
    int n = is_collection(s) ? config_setting_length(s) : -1;
    const char *names[PS_MAX_IFACES];
    bool ok = true;

    if (n < d->min || n > d->max) {
        err_add(lc->err, line_of(s),
                "'%s.%s' must be an array of %" PRId64 " to %" PRId64 " interface names", d->group,
                d->key, d->min, d->max);
        return;
    }
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *str = e != NULL && config_setting_type(e) == CONFIG_TYPE_STRING
                              ? config_setting_get_string(e)
                              : NULL;
        names[i] = str;
        if (!iface_name_ok(str)) {
            err_add(lc->err, line_of(e != NULL ? e : s),
                    "'%s.%s' entry %d must be an interface name of 1 to %d characters without "
                    "'/', ':' or spaces",
                    d->group, d->key, i + 1, PS_IFNAME_MAX - 1);
            ok = false;
            continue;
        }
        for (int j = 0; j < i; j++) {
            if (names[j] != NULL && strcmp(names[j], str) == 0) {
                err_add(lc->err, line_of(e), "'%s.%s' entry %d repeats entry %d", d->group, d->key,
                        i + 1, j + 1);
                ok = false;
                break;
            }
        }
    }
    if (!ok)
        return;
    for (int i = 0; i < n; i++)
        strcpy(cfg->ifaces[i], names[i]);
    cfg->iface_count = (uint32_t)n;
}

static void apply(const load_ctx *lc, const key_def *d, const config_setting_t *s)
{
    switch (d->type) {
    case KT_U32:
    case KT_U64:
        apply_int(lc, d, s);
        break;
    case KT_ENUM:
        apply_enum(lc, d, s);
        break;
    case KT_NAME:
        apply_name(lc, d, s);
        break;
    case KT_PORTS:
        apply_ports(lc, d, s);
        break;
    case KT_PATHS:
        apply_paths(lc, d, s);
        break;
    case KT_BOOL:
        apply_bool(lc, d, s);
        break;
    case KT_NETS:
        apply_nets(lc, d, s);
        break;
    case KT_IFACES:
        apply_ifaces(lc, d, s);
        break;
    }
}

static void load_root(const load_ctx *lc, const config_setting_t *root)
{
    int ng = config_setting_length(root);

    for (int i = 0; i < ng; i++) {
        const config_setting_t *g = config_setting_get_elem(root, (unsigned)i);
        const char *gname = g != NULL ? config_setting_name(g) : NULL;
        if (gname == NULL)
            continue;
        if (!group_known(gname)) {
            if (config_setting_is_group(g))
                err_add(lc->err, line_of(g), "unknown group '%s'", gname);
            else
                err_add(lc->err, line_of(g), "unknown key '%s'", gname);
            continue;
        }
        if (!config_setting_is_group(g)) {
            err_add(lc->err, line_of(g), "'%s' must be a group: %s = { ... };", gname, gname);
            continue;
        }
        int nk = config_setting_length(g);
        for (int j = 0; j < nk; j++) {
            const config_setting_t *s = config_setting_get_elem(g, (unsigned)j);
            const char *kname = s != NULL ? config_setting_name(s) : NULL;
            if (kname == NULL)
                continue;
            const key_def *d = key_find(gname, kname);
            if (d == NULL) {
                err_add(lc->err, line_of(s), "unknown key '%s.%s'", gname, kname);
                continue;
            }
            apply(lc, d, s);
        }
    }
}

/* ---- reload (SIGHUP) ------------------------------------------------------ */

/* Bytes of the field of key d, for keys stored in one fixed-size field. */
static size_t field_size(const key_def *d)
{
    switch (d->type) {
    case KT_U32:
        return sizeof(uint32_t);
    case KT_U64:
        return sizeof(uint64_t);
    case KT_ENUM:
        return sizeof(int);
    case KT_NAME:
        return (size_t)d->max + 1;
    case KT_PORTS:
        return sizeof(ps_port_set);
    case KT_BOOL:
        return sizeof(bool);
    case KT_NETS:
        return sizeof(ps_net_set);
    case KT_PATHS:
    case KT_IFACES:
        break;
    }
    return 0;
}

/* True when key d holds different values in a and b. */
static bool key_differs(const key_def *d, const ps_config *a, const ps_config *b)
{
    if (d->type == KT_PATHS) {
        if (a->output_count != b->output_count)
            return true;
        for (uint32_t i = 0; i < a->output_count && i < PS_MAX_OUTPUTS; i++)
            if (strcmp(a->outputs[i], b->outputs[i]) != 0)
                return true;
        return false;
    }
    if (d->type == KT_IFACES) {
        if (a->iface_count != b->iface_count)
            return true;
        for (uint32_t i = 0; i < a->iface_count && i < PS_MAX_IFACES; i++)
            if (strcmp(a->ifaces[i], b->ifaces[i]) != 0)
                return true;
        return false;
    }
    const char *fa = (const char *)a + d->off, *fb = (const char *)b + d->off;
    if (d->type == KT_NAME)
        return strncmp(fa, fb, field_size(d)) != 0;
    return memcmp(fa, fb, field_size(d)) != 0;
}

unsigned ps_config_reload(ps_config *live, const ps_config *next, ps_config_change_fn fn, void *ctx)
{
    unsigned kept = 0;

    for (size_t i = 0; i < PS_ARRAY_LEN(schema); i++) {
        const key_def *d = &schema[i];
        if (!key_differs(d, live, next))
            continue;
        if (d->live && d->type == KT_PATHS) {
            memcpy(live->outputs, next->outputs, sizeof(live->outputs));
            live->output_count = next->output_count;
        } else if (d->live) {
            memcpy((char *)live + d->off, (const char *)next + d->off, field_size(d));
        } else {
            kept++;
        }
        if (fn != NULL)
            fn(ctx, d->group, d->key, d->live);
    }
    return kept;
}

/* ---- entry points -------------------------------------------------------- */

int ps_config_load_buffer(ps_config *cfg, const char *name, const char *text, char *err,
                          size_t errlen)
{
    errbuf e = {.buf = err, .cap = errlen, .len = 0, .count = 0, .name = name ? name : "config"};
    scan sc;
    config_t lib;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    scan_text(&sc, text);
    if (sc.has_include) {
        err_add(&e, 0, "@include is not supported: keep the configuration in one file");
        return PS_ERR_CONFIG;
    }
    config_init(&lib);
    /* On some syntax errors libconfig 1.5 leaks the offending string token
     * (tens of bytes, once, at start-up); tests suppress it for LSan. */
    if (config_read_string(&lib, text) != CONFIG_TRUE) {
        const char *etext = config_error_text(&lib);
        err_add(&e, (unsigned)PS_MAX(config_error_line(&lib), 0), "%s",
                etext != NULL ? etext : "syntax error");
        config_destroy(&lib);
        return PS_ERR_CONFIG;
    }
    load_ctx lc = {.cfg = cfg, .err = &e, .sc = &sc};
    load_root(&lc, config_root_setting(&lib));
    config_destroy(&lib);
    return e.count > 0 ? PS_ERR_CONFIG : PS_OK;
}

int ps_config_load(ps_config *cfg, const char *path, char *err, size_t errlen)
{
    errbuf e = {.buf = err, .cap = errlen, .len = 0, .count = 0, .name = path};
    FILE *f;
    char *text;
    size_t n;

    if (err != NULL && errlen > 0)
        err[0] = '\0';
    f = fopen(path, "rb");
    if (f == NULL) {
        err_add(&e, 0, "cannot open: %s", strerror(errno));
        return PS_ERR_IO;
    }
    text = malloc(PS_CONFIG_MAX_BYTES + 1);
    if (text == NULL) {
        fclose(f);
        err_add(&e, 0, "out of memory");
        return PS_ERR_NOMEM;
    }
    n = fread(text, 1, PS_CONFIG_MAX_BYTES + 1, f);
    if (ferror(f)) {
        int saved = errno;
        fclose(f);
        free(text);
        err_add(&e, 0, "read error: %s", strerror(saved));
        return PS_ERR_IO;
    }
    fclose(f);
    if (n > PS_CONFIG_MAX_BYTES) {
        free(text);
        err_add(&e, 0, "larger than %u bytes", PS_CONFIG_MAX_BYTES);
        return PS_ERR_CONFIG;
    }
    text[n] = '\0';
    const char *nul = memchr(text, '\0', n);
    if (nul != NULL) {
        unsigned line = 1;
        for (const char *p = text; p < nul; p++)
            if (*p == '\n')
                line++;
        free(text);
        err_add(&e, line, "NUL byte in configuration text");
        return PS_ERR_CONFIG;
    }
    int st = ps_config_load_buffer(cfg, path, text, err, errlen);
    free(text);
    return st;
}
