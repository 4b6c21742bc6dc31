/* fuzz_record.c - libFuzzer target: detection, http and scan records from fuzzed aggregates,
 * events and scan reports; every record must be one valid JSON object in valid UTF-8. */
#include <stdlib.h>
#include <string.h>

#include "attack.h"
#include "correlate.h"
#include "scan.h"

/* The JSON checker is not the code under test: no coverage callbacks in it
 * (they cost more than the formatter it checks). */
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#include "../unit/json_check.h"
#pragma clang attribute pop

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rules as dissectors define them; the names select record-api.c's variants. */
static const ps_rule rules[] = {
    {"docker.containers.list", "docker", "/containers/json", {&ps_t1613, NULL}, PS_SEV_MEDIUM},
    {"docker.exec.start", "docker", "/exec/{id}/start", {&ps_t1609, NULL}, PS_SEV_HIGH},
    {"docker.containers.archive_put",
     "docker",
     "/containers/{id}/archive",
     {&ps_t1105, &ps_t1609, NULL},
     PS_SEV_HIGH},
    {"kubelet.pods", "kubelet", "/pods", {&ps_t1613, NULL}, PS_SEV_MEDIUM},
    {"kubeapi.secrets", "kubeapi", "/api/v1/secrets", {&ps_t1552_007, &ps_t1613, NULL}, 3},
    {"etcd.range", "etcd", "/v3/kv/range", {&ps_t1613, &ps_t1552_007, NULL}, PS_SEV_HIGH},
    {"tls.container_port", "tls", "tls", {&ps_t1613, NULL}, PS_SEV_LOW},
    {"escape", "docker", "/containers/create", {&ps_t1611, &ps_t1610, &ps_t1612, &ps_t1572}, 4},
};

static const char *const scan_rules[] = {PS_SCAN_RULE_HORIZONTAL, PS_SCAN_RULE_VERTICAL,
                                         PS_SCAN_RULE_FINGERPRINT, PS_SCAN_RULE_SUPPRESSED};
static const char *const tool_names[] = {NULL, "masscan", "zmap", "nmap", "unknown"};
static const char *const tool_versions[] = {NULL, "", "1.3.x", "<=4.0", ">=4.1"};

typedef struct rd {
    const uint8_t *p;
    size_t n;
} rd;

static uint8_t u8(rd *r)
{
    if (r->n == 0)
        return 0;
    r->n--;
    return *r->p++;
}

static uint64_t un(rd *r, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++)
        v = v << 8 | u8(r);
    return v;
}

/* A C string of up to cap - 1 bytes: a length byte, then the bytes; 255
 * fills the whole field with a repeated 1-4 byte pattern (worst cases for
 * escaping: control bytes, invalid UTF-8). */
static void str(rd *r, char *dst, size_t cap)
{
    uint8_t l = u8(r);
    size_t n;
    if (l == 255) {
        uint8_t k = (uint8_t)(u8(r) % 4 + 1), pat[4];
        for (int i = 0; i < k; i++)
            pat[i] = u8(r);
        n = cap - 1;
        /* the pattern, then doubled until the field is full */
        size_t have = PS_MIN((size_t)k, n);
        memcpy(dst, pat, have);
        for (; have < n; have *= 2)
            memcpy(dst + have, dst, PS_MIN(have, n - have));
    } else {
        n = PS_MIN((size_t)l, cap - 1);
        size_t m = PS_MIN(n, r->n); /* past the input: zero bytes, as u8() gives */
        memcpy(dst, r->p, m);
        memset(dst + m, 0, n - m);
        r->p += m;
        r->n -= m;
    }
    dst[n] = '\0';
}

static void addr(rd *r, ps_addr *a)
{
    memset(a, 0, sizeof(*a));
    a->family = (u8(r) & 1) ? 6 : 4;
    for (int i = 0; i < (a->family == 4 ? 4 : 16); i++)
        a->bytes[i] = u8(r);
}

static void event(rd *r, ps_event *e)
{
    memset(e, 0, sizeof(*e));
    uint8_t k = u8(r);
    e->kind = (uint8_t)(k % 3 + 1);
    e->outcome = (uint8_t)((k >> 2) % PS_OUTCOME_MAX);
    e->late = (k & 0x80) != 0;
    e->ts = un(r, 8);
    e->done_ts = un(r, 8);
    e->flow_id = un(r, 8);
    addr(r, &e->src);
    e->dst = e->src;
    e->dst.bytes[e->src.family == 4 ? 3 : 15] ^= 1;
    e->sport = (uint16_t)un(r, 2);
    e->dport = (uint16_t)un(r, 2);
    e->proto = u8(r);
    str(r, e->method, sizeof(e->method));
    str(r, e->url, sizeof(e->url));
    str(r, e->host, sizeof(e->host));
    str(r, e->user_agent, sizeof(e->user_agent));
    e->status = (uint16_t)un(r, 2);
    e->req_version = u8(r);
    e->resp_version = u8(r);
    e->http_anomalies = (uint32_t)un(r, 4);
    e->json_items = (int64_t)un(r, 8);
    str(r, e->api_version, sizeof(e->api_version));
    str(r, e->server_api_version, sizeof(e->server_api_version));
    str(r, e->server, sizeof(e->server));
    e->objects = (int64_t)un(r, 8);
    str(r, e->client_tool, sizeof(e->client_tool));
    str(r, e->client_version, sizeof(e->client_version));
    str(r, e->client_program, sizeof(e->client_program));
    str(r, e->auth_scheme, sizeof(e->auth_scheme));
    str(r, e->auth_fp, sizeof(e->auth_fp));
    str(r, e->registry_fp, sizeof(e->registry_fp));
    str(r, e->k8s_namespace, sizeof(e->k8s_namespace));
    str(r, e->pod, sizeof(e->pod));
    str(r, e->container, sizeof(e->container));
    str(r, e->resource, sizeof(e->resource));
    str(r, e->subresource, sizeof(e->subresource));
    str(r, e->verb, sizeof(e->verb));
    str(r, e->object_name, sizeof(e->object_name));
    str(r, e->command, sizeof(e->command));
    str(r, e->image, sizeof(e->image));
    str(r, e->escape, sizeof(e->escape));
    str(r, e->etcd_key, sizeof(e->etcd_key));
    str(r, e->etcd_range_end, sizeof(e->etcd_range_end));
    e->n_env_secrets = (uint8_t)(u8(r) % (PS_EV_ENV_SECRETS + 1));
    for (int i = 0; i < e->n_env_secrets; i++) {
        str(r, e->env_secrets[i].name, sizeof(e->env_secrets[i].name));
        str(r, e->env_secrets[i].fp, sizeof(e->env_secrets[i].fp));
    }
    e->allowed = (int8_t)(u8(r) % 3) - 1;
    e->flags = (uint32_t)u8(r);
    str(r, e->tls.sni, sizeof(e->tls.sni));
    str(r, e->tls.alpn, sizeof(e->tls.alpn));
    str(r, e->tls.ja3, sizeof(e->tls.ja3));
    str(r, e->tls.ja4, sizeof(e->tls.ja4));
    e->tls.client_version = (uint16_t)un(r, 2);
    e->tls.server_version = (uint16_t)un(r, 2);
    e->tls.cipher = (uint16_t)un(r, 2);
    e->tls.client_hello = u8(r) & 1;
    e->tls.server_hello = u8(r) & 1;
}

static void campaign(rd *r, ps_campaign_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    str(r, ci->id, sizeof(ci->id));
    ci->stage = (uint8_t)(u8(r) % PS_STAGE_MAX);
    ci->stages = (uint16_t)(un(r, 2) & ((1u << PS_STAGE_MAX) - 1));
    ci->new_stage = u8(r) & 1;
}

/* One record: valid UTF-8, one JSON object, exactly n bytes, NUL-ended.
 * Not instrumented either, and not inlined into code that is. */
__attribute__((no_sanitize("coverage"), noinline)) static void check(const char *buf, int n)
{
    /* PS_RECORD_MAX (correlate.h), the correlator's line buffer, is the
     * longest record possible: every string of the aggregate, its event, 64
     * URLs and the sensor name with each byte escaped to 6 characters. */
    if (n < 0 || (size_t)n >= PS_RECORD_MAX)
        abort();
    if (strlen(buf) != (size_t)n || n < 2 || buf[0] != '{' || buf[n - 1] != '}')
        abort();
    if (!jc_utf8_valid((const uint8_t *)buf, (size_t)n) || !jc_valid(buf, (size_t)n))
        abort();
    if (memchr(buf, '\n', (size_t)n) != NULL) /* one line of JSON Lines */
        abort();
}

/* Records are formatted into PS_RECORD_MAX (about 132 KiB) in the correlator;
 * here a large buffer checks the text, then a small cap must give either
 * the same text or PS_ERR_CAP. */
#define BIG (1u << 20)
static char big[BIG], small[BIG];

static void same_or_cap(int n, int n2)
{
    if (n2 >= 0 && (n2 != n || memcmp(big, small, (size_t)n + 1) != 0))
        abort();
    if (n2 < 0 && n2 != PS_ERR_CAP)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ps_config cfg;
    static ps_aggregate *a;
    if (a == NULL) {
        ps_config_default(&cfg);
        a = calloc(1, sizeof(*a) + PS_AGG_MAX_URLS * (size_t)PS_AGG_URL_MAX);
        if (a == NULL)
            abort();
    }
    rd r = {data, size};
    uint8_t sel = u8(&r);
    size_t cap = (size_t)un(&r, 2);
    str(&r, cfg.sensor_name, sizeof(cfg.sensor_name));
    if (!cfg.sensor_name[0])
        strcpy(cfg.sensor_name, "s");
    char id[37];
    str(&r, id, sizeof(id));

    if (sel % 3 == 0) { /* detection record */
        memset(a, 0, sizeof(*a));
        str(&r, a->aggregate_id, sizeof(a->aggregate_id));
        a->seq = (uint32_t)un(&r, 4);
        a->rule = &rules[u8(&r) % PS_ARRAY_LEN(rules)];
        addr(&r, &a->src);
        addr(&r, &a->dst);
        a->dst.family = a->src.family;
        a->sport = (uint16_t)un(&r, 2);
        a->dport = (uint16_t)un(&r, 2);
        a->proto = u8(&r);
        a->first_seen = un(&r, 8);
        a->last_seen = un(&r, 8);
        a->count = un(&r, 8);
        for (int o = 0; o < PS_OUTCOME_MAX; o++)
            a->outcomes[o] = (u8(&r) & 1) ? un(&r, 8) : 0;
        a->outcome = (uint8_t)(u8(&r) % PS_OUTCOME_MAX);
        a->objects = (int64_t)un(&r, 8);
        a->http_anomalies = (uint32_t)un(&r, 4);
        campaign(&r, &a->campaign);
        uint8_t f = u8(&r);
        a->trusted = f & 1;
        a->new_client = (int8_t)((f >> 1) % 3) - 1;
        a->urls_overflow = (f & 8) != 0;
        a->nurls = (uint32_t)(u8(&r) % (PS_AGG_MAX_URLS + 1));
        char *u = a->urls; /* packed, as the correlator keeps them */
        for (uint32_t i = 0; i < a->nurls; i++) {
            str(&r, u, PS_AGG_URL_MAX);
            u += strlen(u) + 1;
        }
        a->url_used = (uint32_t)(u - a->urls);
        static ps_event last;
        a->last = &last;
        event(&r, a->last);
        a->last->rule = a->rule;
        int phase = (int)(u8(&r) % 5) - 1; /* out of range too */
        ps_time_us now = un(&r, 8);
        int n = ps_record_format(a, &cfg, phase, now, id, big, BIG);
        check(big, n);
        same_or_cap(n, ps_record_format(a, &cfg, phase, now, id, small, PS_MIN(cap, BIG)));
    } else if (sel % 3 == 1) { /* transaction log record */
        ps_event e;
        event(&r, &e);
        e.kind = PS_EV_HTTP;
        int n = ps_http_record_format(&e, &cfg, big, BIG);
        check(big, n);
        same_or_cap(n, ps_http_record_format(&e, &cfg, small, PS_MIN(cap, BIG)));
    } else { /* scan record */
        ps_scan_report s;
        memset(&s, 0, sizeof(s));
        s.phase = (uint8_t)(u8(&r) % 3);
        s.kind = (uint8_t)(u8(&r) % 5);
        s.end = (uint8_t)(u8(&r) % 4);
        s.severity = (uint8_t)(u8(&r) % PS_SEV_MAX);
        s.rule = scan_rules[u8(&r) % 4];
        s.scan_id = un(&r, 8);
        addr(&r, &s.src);
        addr(&r, &s.dst);
        s.sport = (uint16_t)un(&r, 2);
        s.dport = (uint16_t)un(&r, 2);
        s.tool = (uint8_t)(u8(&r) % PS_SCAN_TOOL_MAX);
        s.tool_name = tool_names[u8(&r) % 5];
        s.tool_version = tool_versions[u8(&r) % 5];
        ps_scan_features *ft = &s.features;
        ft->have_syn = u8(&r) & 1;
        ft->ttl = u8(&r);
        ft->ttl_min = u8(&r);
        ft->ttl_max = u8(&r);
        ft->tos = u8(&r);
        ft->df = u8(&r) & 1;
        ft->ip_id = (uint16_t)un(&r, 2);
        ft->window = (uint16_t)un(&r, 2);
        ft->opts_len = (uint8_t)(u8(&r) % 41);
        for (int i = 0; i < ft->opts_len; i++)
            ft->opts[i] = u8(&r);
        ft->nsports = (uint8_t)(u8(&r) % (PS_SCAN_REPORT_SPORTS + 1));
        for (int i = 0; i < ft->nsports; i++)
            ft->sports[i] = (uint16_t)un(&r, 2);
        ft->sports_more = u8(&r) & 1;
        ft->masscan_identity = (uint32_t)un(&r, 4);
        ft->zmap_ipid = (uint32_t)un(&r, 4);
        ft->zmap_options = (uint32_t)un(&r, 4);
        ft->nmap_shared_seq = (uint32_t)un(&r, 4);
        ft->banner_segments = (uint32_t)un(&r, 4);
        ft->router_mac = (uint32_t)un(&r, 4);
        ft->rejections = (uint32_t)un(&r, 4);
        s.targets = un(&r, 8);
        s.targets_estimated = u8(&r) & 1;
        s.nports = (uint8_t)(u8(&r) % (PS_SCAN_REPORT_PORTS + 1));
        for (int i = 0; i < s.nports; i++)
            s.ports[i] = (uint16_t)un(&r, 2);
        s.ports_more = u8(&r) & 1;
        s.responders = (uint32_t)un(&r, 4);
        s.nresp = (uint8_t)(u8(&r) % (PS_SCAN_REPORT_RESP + 1));
        for (int i = 0; i < s.nresp; i++) {
            addr(&r, &s.resp_addr[i]);
            s.resp_port[i] = (uint16_t)un(&r, 2);
        }
        s.probes = un(&r, 8);
        s.rate_pps = un(&r, 8);
        s.peak_hosts_per_port = (uint32_t)un(&r, 4);
        s.peak_ports_per_host = (uint32_t)un(&r, 4);
        s.first_seen = un(&r, 8);
        s.last_seen = un(&r, 8);
        s.suppressed = un(&r, 8);
        ps_campaign_info ci;
        campaign(&r, &ci);
        const ps_campaign_info *cp = (sel & 0x80) ? NULL : &ci;
        int n = ps_scan_record_format(&s, cp, &cfg, id, big, BIG);
        check(big, n);
        same_or_cap(n, ps_scan_record_format(&s, cp, &cfg, id, small, PS_MIN(cap, BIG)));
    }
    return 0;
}
