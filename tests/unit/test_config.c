/* test_config.c - configuration defaults, the shipped file, and every way a file can be wrong. */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "config.h"

#define SHIPPED "config/portside.conf"

static char err[8192];

/* libconfig 1.5 leaks the string token at which a syntax error occurs (its
 * grammar has no %destructor); start-up only and bounded by the file size,
 * so LeakSanitizer is told to ignore allocations made inside libconfig. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static int load(ps_config *cfg, const char *text)
{
    ps_config_default(cfg);
    return ps_config_load_buffer(cfg, "t.conf", text, err, sizeof(err));
}

/* True when err has a line beginning with `prefix`. */
static bool err_has_line(const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *l = err; l != NULL && *l != '\0'; l = strchr(l, '\n')) {
        if (*l == '\n')
            l++;
        if (strncmp(l, prefix, n) == 0)
            return true;
    }
    return false;
}

static unsigned err_lines(void)
{
    unsigned n = err[0] != '\0';
    for (const char *p = err; *p != '\0'; p++)
        n += *p == '\n';
    return n;
}

static void test_defaults(void)
{
    ps_config c;
    char host[256] = {0};

    memset(&c, 0xAB, sizeof(c));
    ps_config_default(&c);
    if (gethostname(host, sizeof(host) - 1) == 0 && host[0] != '\0')
        CU_ASSERT_STRING_EQUAL(c.sensor_name, host);
    CU_ASSERT(c.sensor_name[0] != '\0');
    CU_ASSERT_EQUAL(c.decode.checksum_mode, PS_CSUM_AUTO);
    CU_ASSERT_EQUAL(c.decode.max_tunnel_depth, 3);
    CU_ASSERT_EQUAL(c.docker_ports.count, 3);
    CU_ASSERT_EQUAL(c.docker_ports.ports[0], 2375);
    CU_ASSERT_EQUAL(c.docker_ports.ports[1], 2376);
    CU_ASSERT_EQUAL(c.docker_ports.ports[2], 4243);
    CU_ASSERT(ps_port_set_has(&c.docker_ports, 2376));
    CU_ASSERT(!ps_port_set_has(&c.docker_ports, 2377));
    CU_ASSERT(!ps_port_set_has(&c.docker_ports, 0));
    CU_ASSERT_EQUAL(c.window_s, 300);
    CU_ASSERT_EQUAL(c.update_interval_s, 60);
    CU_ASSERT_EQUAL(c.response_timeout_s, 5);
    CU_ASSERT_EQUAL(c.max_aggregates, 65536);
    CU_ASSERT_EQUAL(c.max_urls, 8);
    CU_ASSERT_EQUAL(c.output_count, 0);
    CU_ASSERT_EQUAL(c.progress, -1);
}

/* Field-by-field comparison (struct padding may differ). */
static void assert_same(const ps_config *a, const ps_config *b)
{
    CU_ASSERT_STRING_EQUAL(a->sensor_name, b->sensor_name);
    CU_ASSERT_EQUAL(a->decode.checksum_mode, b->decode.checksum_mode);
    CU_ASSERT_EQUAL(a->decode.max_tunnel_depth, b->decode.max_tunnel_depth);
    CU_ASSERT_EQUAL(a->decode.frag_max_datagrams, b->decode.frag_max_datagrams);
    CU_ASSERT_EQUAL(a->decode.frag_timeout_ms, b->decode.frag_timeout_ms);
    CU_ASSERT_EQUAL(a->decode.dedup_window_us, b->decode.dedup_window_us);
    CU_ASSERT_EQUAL(a->decode.dedup_slots, b->decode.dedup_slots);
    CU_ASSERT_EQUAL(a->flow.max_flows, b->flow.max_flows);
    CU_ASSERT_EQUAL(a->flow.memcap, b->flow.memcap);
    CU_ASSERT_EQUAL(a->flow.stream_ooo_cap, b->flow.stream_ooo_cap);
    CU_ASSERT_EQUAL(a->flow.syn_cache_slots, b->flow.syn_cache_slots);
    CU_ASSERT_EQUAL(a->flow.tcp_idle_timeout_s, b->flow.tcp_idle_timeout_s);
    CU_ASSERT_EQUAL(a->flow.tcp_closed_timeout_s, b->flow.tcp_closed_timeout_s);
    CU_ASSERT_EQUAL(a->flow.tcp_syn_timeout_s, b->flow.tcp_syn_timeout_s);
    CU_ASSERT_EQUAL(a->http.max_header_bytes, b->http.max_header_bytes);
    CU_ASSERT_EQUAL(a->http.max_headers, b->http.max_headers);
    CU_ASSERT_EQUAL(a->http.max_pipeline, b->http.max_pipeline);
    CU_ASSERT_EQUAL(a->http.max_inflate_bytes, b->http.max_inflate_bytes);
    CU_ASSERT_EQUAL(a->http.pool_txs, b->http.pool_txs);
    CU_ASSERT_EQUAL(a->http.pool_head_bufs, b->http.pool_head_bufs);
    CU_ASSERT_EQUAL(a->http.pool_inflaters, b->http.pool_inflaters);
    CU_ASSERT_EQUAL(a->docker_ports.count, b->docker_ports.count);
    CU_ASSERT(memcmp(a->docker_ports.ports, b->docker_ports.ports, sizeof(a->docker_ports.ports)) ==
              0);
    CU_ASSERT_EQUAL(a->window_s, b->window_s);
    CU_ASSERT_EQUAL(a->update_interval_s, b->update_interval_s);
    CU_ASSERT_EQUAL(a->response_timeout_s, b->response_timeout_s);
    CU_ASSERT_EQUAL(a->max_aggregates, b->max_aggregates);
    CU_ASSERT_EQUAL(a->max_urls, b->max_urls);
    CU_ASSERT_EQUAL(a->output_count, b->output_count);
    for (uint32_t i = 0; i < a->output_count && i < PS_MAX_OUTPUTS; i++)
        CU_ASSERT_STRING_EQUAL(a->outputs[i], b->outputs[i]);
    CU_ASSERT_EQUAL(a->progress, b->progress);
}

/* Turns every value in the shipped file into something else, so a default
 * that silently differs from the file would show. */
static void test_shipped_file(void)
{
    ps_config def, c;

    ps_config_default(&def);
    ps_config_default(&c);
    /* Start from non-defaults so the file must actually set each key. */
    c.decode.max_tunnel_depth = 7;
    c.flow.memcap = 1;
    c.http.max_inflate_bytes = 1;
    c.docker_ports.count = 1;
    c.window_s = 11;
    c.progress = 1;
    c.http.pool_inflaters = 1;
    int st = ps_config_load(&c, SHIPPED, err, sizeof(err));
    CU_ASSERT_EQUAL(st, PS_OK);
    if (st != PS_OK)
        printf("\n%s\n", err);
    CU_ASSERT_STRING_EQUAL(err, "");
    assert_same(&c, &def);
}

/* Every prefix of the shipped file loads or fails cleanly. */
static void test_shipped_prefixes(void)
{
    FILE *f = fopen(SHIPPED, "rb");
    CU_ASSERT_FATAL(f != NULL);
    static char text[65536];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 0 && n < sizeof(text) - 1);
    unsigned ok = 0;
    for (size_t len = 0; len <= n; len++) {
        char saved = text[len];
        ps_config c;
        text[len] = '\0';
        int st = load(&c, text);
        CU_ASSERT(st == PS_OK || st == PS_ERR_CONFIG);
        CU_ASSERT(st != PS_ERR_CONFIG || strncmp(err, "t.conf:", 7) == 0);
        ok += st == PS_OK;
        text[len] = saved;
    }
    CU_ASSERT(ok > 10);
}

typedef struct int_key {
    const char *group, *key;
    int64_t min, max;
    uint64_t scale;
    size_t off;
    size_t size; /* 4 or 8 */
} int_key;

#define IK(g, k, lo, hi, sc, f)                                                                    \
    {                                                                                              \
        g, k, lo, hi, sc, offsetof(ps_config, f), sizeof(((ps_config *)0)->f)                      \
    }

/* The schema as documented in the assignment (kept separate from config.c). */
static const int_key int_keys[] = {
    IK("decode", "max_tunnel_depth", 0, 8, 1, decode.max_tunnel_depth),
    IK("decode", "frag_max_datagrams", 1, 1000000, 1, decode.frag_max_datagrams),
    IK("decode", "frag_timeout_ms", 100, 600000, 1, decode.frag_timeout_ms),
    IK("decode", "dedup_window_us", 0, 1000000, 1, decode.dedup_window_us),
    IK("decode", "dedup_slots", 16, 16777216, 1, decode.dedup_slots),
    IK("flow", "max_flows", 16, 100000000, 1, flow.max_flows),
    IK("flow", "memcap_mb", 1, 1048576, 1048576, flow.memcap),
    IK("flow", "stream_ooo_cap_kb", 1, 65536, 1024, flow.stream_ooo_cap),
    IK("flow", "syn_cache_slots", 16, 100000000, 1, flow.syn_cache_slots),
    IK("flow", "tcp_idle_timeout_s", 1, 86400, 1, flow.tcp_idle_timeout_s),
    IK("flow", "tcp_closed_timeout_s", 1, 3600, 1, flow.tcp_closed_timeout_s),
    IK("flow", "tcp_syn_timeout_s", 1, 3600, 1, flow.tcp_syn_timeout_s),
    IK("http", "max_header_bytes", 256, 1048576, 1, http.max_header_bytes),
    IK("http", "max_headers", 8, 10000, 1, http.max_headers),
    IK("http", "max_pipeline", 1, 1024, 1, http.max_pipeline),
    IK("http", "max_inflate_mb", 1, 4096, 1048576, http.max_inflate_bytes),
    IK("http", "pool_txs", 16, 10000000, 1, http.pool_txs),
    IK("http", "pool_head_bufs", 1, 1000000, 1, http.pool_head_bufs),
    IK("http", "pool_inflaters", 1, 65536, 1, http.pool_inflaters),
    IK("detection", "window_s", 10, 86400, 1, window_s),
    IK("detection", "update_interval_s", 1, 86400, 1, update_interval_s),
    IK("detection", "response_timeout_s", 1, 3600, 1, response_timeout_s),
    IK("detection", "max_aggregates", 16, 10000000, 1, max_aggregates),
    IK("detection", "max_urls", 1, 64, 1, max_urls),
};

static uint64_t field(const ps_config *c, const int_key *k)
{
    if (k->size == 4) {
        uint32_t v;
        memcpy(&v, (const char *)c + k->off, 4);
        return v;
    }
    uint64_t v;
    memcpy(&v, (const char *)c + k->off, 8);
    return v;
}

static void test_int_limits(void)
{
    char text[256], want[256];
    ps_config c;

    for (size_t i = 0; i < PS_ARRAY_LEN(int_keys); i++) {
        const int_key *k = &int_keys[i];
        const int64_t vals[4] = {k->min - 1, k->min, k->max, k->max + 1};
        for (int j = 0; j < 4; j++) {
            /* the value sits on line 3 */
            snprintf(text, sizeof(text), "# limits\n%s = {\n  %s = %" PRId64 ";\n};\n", k->group,
                     k->key, vals[j]);
            int st = load(&c, text);
            if (j == 1 || j == 2) {
                CU_ASSERT_EQUAL(st, PS_OK);
                CU_ASSERT_STRING_EQUAL(err, "");
                CU_ASSERT_EQUAL(field(&c, k), (uint64_t)vals[j] * k->scale);
            } else {
                CU_ASSERT_EQUAL(st, PS_ERR_CONFIG);
                snprintf(want, sizeof(want),
                         "t.conf:3: '%s.%s' must be an integer between %" PRId64 " and %" PRId64,
                         k->group, k->key, k->min, k->max);
                CU_ASSERT_STRING_EQUAL(err, want);
            }
        }
        /* wrong type: a string and a float */
        snprintf(text, sizeof(text), "%s = {\n\n %s = \"10\";\n};\n", k->group, k->key);
        CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
        CU_ASSERT(err_has_line("t.conf:3: '"));
        snprintf(text, sizeof(text), "%s = { %s = 10.0; };\n", k->group, k->key);
        CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
        CU_ASSERT(err_has_line("t.conf:1: '"));
        /* 64-bit literal in range is fine */
        snprintf(text, sizeof(text), "%s = { %s = %" PRId64 "L; };\n", k->group, k->key, k->max);
        CU_ASSERT_EQUAL(load(&c, text), PS_OK);
        CU_ASSERT_EQUAL(field(&c, k), (uint64_t)k->max * k->scale);
    }
}

/* libconfig 1.5 wraps plain literals beyond 32 bits (4294967312 -> 16);
 * they must be rejected, not accepted as the wrapped value. */
static void test_wrapping_literals(void)
{
    static const char *const lits[] = {
        "4294967312", "0x100000010", "2147483664", "-4294967280", "99999999999999999999999",
        "0xFFFFFFFF"};
    char text[256];
    ps_config c;

    for (size_t i = 0; i < PS_ARRAY_LEN(lits); i++) {
        snprintf(text, sizeof(text), "flow = {\n max_flows = %s;\n};", lits[i]);
        CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
        CU_ASSERT(err_has_line("t.conf:2: 'flow.max_flows' must be an integer"));
        snprintf(text, sizeof(text), "docker = {\n ports = [ 80,\n %s ];\n};", lits[i]);
        CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
        CU_ASSERT(err_has_line("t.conf:3: 'docker.ports' entry 2"));
    }
    /* digits inside names, strings and comments are not literals */
    CU_ASSERT_EQUAL(load(&c, "# 99999999999\nsensor = { name = \"h99999999999\"; };\n"
                             "/* 0x100000010 */ flow = { max_flows = 16; };"),
                    PS_OK);
    CU_ASSERT_STRING_EQUAL(c.sensor_name, "h99999999999");
    CU_ASSERT_EQUAL(c.flow.max_flows, 16);
}

static void test_enums(void)
{
    ps_config c;

    CU_ASSERT_EQUAL(load(&c, "decode = { checksum_validation = \"yes\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.decode.checksum_mode, PS_CSUM_YES);
    CU_ASSERT_EQUAL(load(&c, "decode = { checksum_validation = \"no\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.decode.checksum_mode, PS_CSUM_NO);
    CU_ASSERT_EQUAL(load(&c, "decode = { checksum_validation = \"auto\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.decode.checksum_mode, PS_CSUM_AUTO);
    CU_ASSERT_EQUAL(load(&c, "\ndecode = { checksum_validation = \"YES\"; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(
        err, "t.conf:2: 'decode.checksum_validation' must be one of \"auto\", \"yes\", \"no\"");
    CU_ASSERT_EQUAL(load(&c, "decode = { checksum_validation = 1; };"), PS_ERR_CONFIG);

    CU_ASSERT_EQUAL(load(&c, "runtime = { progress = \"on\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.progress, 1);
    CU_ASSERT_EQUAL(load(&c, "runtime = { progress = \"off\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.progress, 0);
    CU_ASSERT_EQUAL(load(&c, "runtime = { progress = \"auto\"; };"), PS_OK);
    CU_ASSERT_EQUAL(c.progress, -1);
    CU_ASSERT_EQUAL(load(&c, "runtime = {\n\n\n progress = true; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err,
                           "t.conf:4: 'runtime.progress' must be one of \"auto\", \"on\", \"off\"");
}

static void test_sensor_name(void)
{
    char text[600], name[300];
    ps_config c;

    CU_ASSERT_EQUAL(load(&c, "sensor = { name = \"edge-1\"; };"), PS_OK);
    CU_ASSERT_STRING_EQUAL(c.sensor_name, "edge-1");
    CU_ASSERT_EQUAL(load(&c, "sensor = { name = \"\"; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: 'sensor.name' must be a string of 1 to 255 characters");
    CU_ASSERT_EQUAL(load(&c, "sensor = { name = 5; };"), PS_ERR_CONFIG);
    memset(name, 'n', sizeof(name));
    name[255] = '\0';
    snprintf(text, sizeof(text), "sensor = { name = \"%s\"; };", name);
    CU_ASSERT_EQUAL(load(&c, text), PS_OK);
    CU_ASSERT_EQUAL(strlen(c.sensor_name), 255);
    name[255] = 'n';
    name[256] = '\0';
    snprintf(text, sizeof(text), "sensor = { name = \"%s\"; };", name);
    CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
}

static void test_ports(void)
{
    char text[1024];
    ps_config c;
    size_t n;

    CU_ASSERT_EQUAL(load(&c, "docker = { ports = [ 1, 65535 ]; };"), PS_OK);
    CU_ASSERT_EQUAL(c.docker_ports.count, 2);
    CU_ASSERT(ps_port_set_has(&c.docker_ports, 65535));
    CU_ASSERT(!ps_port_set_has(&c.docker_ports, 2375));
    /* a list is accepted too */
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = ( 8080 ); };"), PS_OK);
    CU_ASSERT_EQUAL(c.docker_ports.count, 1);
    CU_ASSERT_EQUAL(c.docker_ports.ports[0], 8080);
    CU_ASSERT_EQUAL(load(&c, "docker = {\n ports = [ ];\n};"), PS_ERR_CONFIG);
    CU_ASSERT(err_has_line("t.conf:2: 'docker.ports' must be an array of 1 to 32 integers"));
    CU_ASSERT_EQUAL(c.docker_ports.count, 3); /* left alone */
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = 2375; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = [ 0 ]; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(
        err, "t.conf:1: 'docker.ports' entry 1 must be an integer between 1 and 65535");
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = [ 80, 65536 ]; };"), PS_ERR_CONFIG);
    CU_ASSERT(err_has_line("t.conf:1: 'docker.ports' entry 2 must be"));
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = ( 80, \"81\" ); };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "docker = { ports = [ 80,\n 80 ]; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: 'docker.ports' lists port 80 twice");
    CU_ASSERT_EQUAL(c.docker_ports.count, 3);
    /* 32 entries fit, 33 do not */
    for (int cnt = 32; cnt <= 33; cnt++) {
        n = (size_t)snprintf(text, sizeof(text), "docker = { ports = [ ");
        for (int i = 0; i < cnt; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%d", i ? ", " : "", 1000 + i);
        snprintf(text + n, sizeof(text) - n, " ]; };");
        int st = load(&c, text);
        CU_ASSERT_EQUAL(st, cnt == 32 ? PS_OK : PS_ERR_CONFIG);
        if (cnt == 32) {
            CU_ASSERT_EQUAL(c.docker_ports.count, 32);
            CU_ASSERT(ps_port_set_has(&c.docker_ports, 1031));
        }
    }
}

static void test_outputs(void)
{
    char text[1024];
    ps_config c;
    size_t n;

    CU_ASSERT_EQUAL(load(&c, "output = { paths = [ \"-\", \"/tmp/x.json\" ]; };"), PS_OK);
    CU_ASSERT_EQUAL(c.output_count, 2);
    CU_ASSERT_STRING_EQUAL(c.outputs[0], "-");
    CU_ASSERT_STRING_EQUAL(c.outputs[1], "/tmp/x.json");
    CU_ASSERT_EQUAL(load(&c, "output = { paths = [ \"\" ]; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "output = { paths = \"-\"; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "output = { paths = [ ]; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "output = { paths = [ \"a\",\n\"a\" ]; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: 'output.paths' entry 2 repeats entry 1");
    CU_ASSERT_EQUAL(c.output_count, 0);
    for (int cnt = 8; cnt <= 9; cnt++) {
        n = (size_t)snprintf(text, sizeof(text), "output = { paths = [ ");
        for (int i = 0; i < cnt; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s\"/o/%d\"", i ? ", " : "", i);
        snprintf(text + n, sizeof(text) - n, " ]; };");
        CU_ASSERT_EQUAL(load(&c, text), cnt == 8 ? PS_OK : PS_ERR_CONFIG);
    }
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: 'output.paths' must be an array of 1 to 8 strings");
    /* PS_PATH_MAX - 1 characters fit, PS_PATH_MAX do not */
    static char big[PS_PATH_MAX + 64];
    char path[PS_PATH_MAX + 1];
    memset(path, 'p', sizeof(path));
    path[0] = '/';
    path[PS_PATH_MAX - 1] = '\0';
    snprintf(big, sizeof(big), "output = { paths = [ \"%s\" ]; };", path);
    CU_ASSERT_EQUAL(load(&c, big), PS_OK);
    CU_ASSERT_EQUAL(strlen(c.outputs[0]), PS_PATH_MAX - 1);
    path[PS_PATH_MAX - 1] = 'p';
    path[PS_PATH_MAX] = '\0';
    snprintf(big, sizeof(big), "output = { paths = [ \"%s\" ]; };", path);
    CU_ASSERT_EQUAL(load(&c, big), PS_ERR_CONFIG);
}

static void test_unknown(void)
{
    ps_config c;

    CU_ASSERT_EQUAL(load(&c, "flow = {\n  max_flows = 100;\n  max_flow = 100;\n};"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:3: unknown key 'flow.max_flow'");
    CU_ASSERT_EQUAL(c.flow.max_flows, 100); /* the valid key was applied */
    CU_ASSERT_EQUAL(load(&c, "\n\nflows = {\n  max_flows = 100;\n};"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:3: unknown group 'flows'");
    CU_ASSERT_EQUAL(load(&c, "max_flows = 100;"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: unknown key 'max_flows'");
    CU_ASSERT_EQUAL(load(&c, "flow = 5;"), PS_ERR_CONFIG);
    CU_ASSERT(err_has_line("t.conf:1: 'flow' must be a group"));
    CU_ASSERT_EQUAL(load(&c, "flow = {\n memcap = { mb = 5; };\n};"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: unknown key 'flow.memcap'");
    /* keys belong to their own group only */
    CU_ASSERT_EQUAL(load(&c, "http = { max_flows = 100; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: unknown key 'http.max_flows'");
}

static void test_syntax_error(void)
{
    ps_config c;

    CU_ASSERT_EQUAL(load(&c, "flow = {\n  max_flows = 100;\n  tcp_syn_timeout_s = = 3;\n};"),
                    PS_ERR_CONFIG);
    CU_ASSERT(err_has_line("t.conf:3: "));
    CU_ASSERT_EQUAL(err_lines(), 1);
    CU_ASSERT_EQUAL(load(&c, "flow = {\n  max_flows = 100;\n"), PS_ERR_CONFIG);
    CU_ASSERT(strncmp(err, "t.conf:", 7) == 0);
    CU_ASSERT_EQUAL(load(&c, "a = 1;\na = 2;\n"), PS_ERR_CONFIG);
    CU_ASSERT(err_has_line("t.conf:2: "));
    /* fuzz finding: a bare string is a syntax error (and leaks inside
     * libconfig 1.5, see __lsan_default_suppressions above) */
    CU_ASSERT_EQUAL(load(&c, "\n\"\""), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: syntax error");
}

static void test_several_errors(void)
{
    ps_config c;
    const char *text = "sensor = { name = \"\"; };\n"                  /* 1 */
                       "decode = {\n"                                  /* 2 */
                       "  max_tunnel_depth = 9;\n"                     /* 3 */
                       "  checksum_validation = \"maybe\";\n"          /* 4 */
                       "  frag_timeout_ms = 500;\n"                    /* 5: valid */
                       "};\n"                                          /* 6 */
                       "bogus = { x = 1; };\n"                         /* 7 */
                       "detection = { max_urls = 0; window = 5; };\n"; /* 8 */

    CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(err_lines(), 6);
    CU_ASSERT(err_has_line("t.conf:1: 'sensor.name'"));
    CU_ASSERT(err_has_line("t.conf:3: 'decode.max_tunnel_depth'"));
    CU_ASSERT(err_has_line("t.conf:4: 'decode.checksum_validation'"));
    CU_ASSERT(err_has_line("t.conf:7: unknown group 'bogus'"));
    CU_ASSERT(err_has_line("t.conf:8: 'detection.max_urls'"));
    CU_ASSERT(err_has_line("t.conf:8: unknown key 'detection.window'"));
    CU_ASSERT_EQUAL(c.decode.frag_timeout_ms, 500);

    /* A short err buffer holds whole lines only, and stays terminated. */
    char small[80];
    memset(small, 'Z', sizeof(small));
    ps_config_default(&c);
    CU_ASSERT_EQUAL(ps_config_load_buffer(&c, "t.conf", text, small, sizeof(small)), PS_ERR_CONFIG);
    CU_ASSERT(memchr(small, '\0', sizeof(small)) != NULL);
    CU_ASSERT_STRING_EQUAL(small,
                           "t.conf:1: 'sensor.name' must be a string of 1 to 255 characters");
    /* the first line alone at exactly N bytes, and N-1 */
    size_t need = strlen("t.conf:1: 'sensor.name' must be a string of 1 to 255 characters") + 1;
    char *exact = malloc(need);
    CU_ASSERT_FATAL(exact != NULL);
    CU_ASSERT_EQUAL(ps_config_load_buffer(&c, "t.conf", text, exact, need), PS_ERR_CONFIG);
    CU_ASSERT(strncmp(exact, "t.conf:1:", 9) == 0);
    CU_ASSERT_EQUAL(ps_config_load_buffer(&c, "t.conf", text, exact, need - 1), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(exact, "");
    free(exact);
    /* no err buffer at all */
    CU_ASSERT_EQUAL(ps_config_load_buffer(&c, "t.conf", text, NULL, 0), PS_ERR_CONFIG);
}

static void test_empty_and_comments(void)
{
    ps_config c, def;

    ps_config_default(&def);
    CU_ASSERT_EQUAL(load(&c, ""), PS_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
    assert_same(&c, &def);
    CU_ASSERT_EQUAL(load(&c, "# only\n// comments\n/* here */\n\n"), PS_OK);
    CU_ASSERT_EQUAL(load(&c, "flow = { };\noutput = {};"), PS_OK);
    assert_same(&c, &def);
}

static void test_include_rejected(void)
{
    ps_config c;

    CU_ASSERT_EQUAL(load(&c, "@include \"/etc/passwd\"\n"), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "@include") != NULL);
    CU_ASSERT_EQUAL(load(&c, "flow = { max_flows = 16; };\n   \t@include \"x.conf\"\n"),
                    PS_ERR_CONFIG);
    /* @include not at the start of a line is just a syntax error */
    CU_ASSERT_EQUAL(load(&c, "flow = { max_flows = 16; }; @include \"x\"\n"), PS_ERR_CONFIG);
}

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void test_files(void)
{
    char path[] = "/tmp/ps_test_config_XXXXXX";
    ps_config c;
    int fd = mkstemp(path);

    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    ps_config_default(&c);
    CU_ASSERT_EQUAL(ps_config_load(&c, "/nonexistent/portside.conf", err, sizeof(err)), PS_ERR_IO);
    CU_ASSERT(strncmp(err, "/nonexistent/portside.conf: ", 28) == 0);

    static const char ok_text[] = "flow = {\n max_flows = 17;\n};\n";
    write_file(path, ok_text, sizeof(ok_text) - 1);
    CU_ASSERT_EQUAL(ps_config_load(&c, path, err, sizeof(err)), PS_OK);
    CU_ASSERT_EQUAL(c.flow.max_flows, 17);

    /* errors name the file */
    static const char bad_text[] = "flow = {\n max_flows = 1;\n};\n";
    write_file(path, bad_text, sizeof(bad_text) - 1);
    CU_ASSERT_EQUAL(ps_config_load(&c, path, err, sizeof(err)), PS_ERR_CONFIG);
    char want[128];
    snprintf(want, sizeof(want), "%s:2: 'flow.max_flows'", path);
    CU_ASSERT(strncmp(err, want, strlen(want)) == 0);

    /* an embedded NUL would hide the rest of the file from libconfig */
    static const char nul_text[] = "flow = {\n max_flows = 17;\0 bogus = 1; };\n";
    write_file(path, nul_text, sizeof(nul_text) - 1);
    CU_ASSERT_EQUAL(ps_config_load(&c, path, err, sizeof(err)), PS_ERR_CONFIG);
    snprintf(want, sizeof(want), "%s:2: NUL byte", path);
    CU_ASSERT(strncmp(err, want, strlen(want)) == 0);

    /* over the 1 MiB cap */
    size_t big = (1u << 20) + 1;
    char *text = malloc(big);
    CU_ASSERT_FATAL(text != NULL);
    memset(text, '\n', big);
    write_file(path, text, big);
    CU_ASSERT_EQUAL(ps_config_load(&c, path, err, sizeof(err)), PS_ERR_CONFIG);
    write_file(path, text, big - 1); /* exactly 1 MiB of blank lines: fine */
    CU_ASSERT_EQUAL(ps_config_load(&c, path, err, sizeof(err)), PS_OK);
    free(text);
    unlink(path);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "shipped file", test_shipped_file);
    CU_add_test(s, "shipped file prefixes", test_shipped_prefixes);
    CU_add_test(s, "int limits", test_int_limits);
    CU_add_test(s, "wrapping literals", test_wrapping_literals);
    CU_add_test(s, "enums", test_enums);
    CU_add_test(s, "sensor name", test_sensor_name);
    CU_add_test(s, "docker ports", test_ports);
    CU_add_test(s, "outputs", test_outputs);
    CU_add_test(s, "unknown keys and groups", test_unknown);
    CU_add_test(s, "syntax errors", test_syntax_error);
    CU_add_test(s, "several errors", test_several_errors);
    CU_add_test(s, "empty and comments", test_empty_and_comments);
    CU_add_test(s, "include rejected", test_include_rejected);
    CU_add_test(s, "files", test_files);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode e = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || e != CUE_SUCCESS;
}
