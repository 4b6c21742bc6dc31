/* test_correlate.c - aggregation of graded calls into first/update/final detection records. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attack.h"
#include "correlate.h"
#include "json_check.h"

static const ps_rule rule_a = {"test.a", "docker", "/a", {&ps_t1613, NULL}, PS_SEV_MEDIUM};
static const ps_rule rule_b = {"test.b", "docker", "/b", {&ps_t1613, &ps_t1082, NULL}, PS_SEV_HIGH};

#define SEC(s) ((ps_time_us)(s)*PS_USEC_PER_SEC)

typedef struct fixture {
    ps_config cfg;
    char path[64];
    ps_output *out;
    ps_correlator *c;
    char lines[64][4096];
    int nlines;
} fixture;

static void fx_open(fixture *f, uint32_t max_aggregates, uint32_t max_urls)
{
    memset(f, 0, sizeof(*f));
    ps_config_default(&f->cfg);
    snprintf(f->cfg.sensor_name, sizeof(f->cfg.sensor_name), "unit");
    f->cfg.max_aggregates = max_aggregates;
    f->cfg.max_urls = max_urls;
    snprintf(f->path, sizeof(f->path), "/tmp/ps-corr-%d.jsonl", (int)getpid());
    unlink(f->path);
    char err[256];
    f->out = ps_output_new();
    CU_ASSERT_EQUAL_FATAL(ps_output_add(f->out, f->path, err, sizeof(err)), PS_OK);
    f->c = ps_correlator_new(&f->cfg, f->out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->c);
}

/* Reads what was written so far. */
static void fx_read(fixture *f)
{
    ps_output_flush(f->out);
    FILE *fp = fopen(f->path, "r");
    f->nlines = 0;
    while (fp && f->nlines < 64 && fgets(f->lines[f->nlines], sizeof(f->lines[0]), fp))
        f->nlines++;
    if (fp)
        fclose(fp);
}

static void fx_close(fixture *f, ps_time_us now)
{
    ps_correlator_free(f->c, now);
    f->c = NULL;
    fx_read(f);
    ps_output_free(f->out);
    unlink(f->path);
}

static ps_event ev_make(const ps_rule *r, int client, ps_time_us ts, uint8_t outcome,
                        const char *url)
{
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.kind = PS_EV_API_CALL;
    ev.rule = r;
    ev.ts = ts;
    ev.done_ts = ts + 1000;
    ev.outcome = outcome;
    ev.src.family = ev.dst.family = 4;
    ev.src.bytes[0] = 198;
    ev.src.bytes[1] = 18;
    ev.src.bytes[3] = (uint8_t)client;
    ev.dst.bytes[0] = 198;
    ev.dst.bytes[1] = 18;
    ev.dst.bytes[3] = 2;
    ev.sport = (uint16_t)(40000 + client);
    ev.dport = 2375;
    ev.proto = 6;
    ev.objects = -1;
    snprintf(ev.method, sizeof(ev.method), "GET");
    snprintf(ev.url, sizeof(ev.url), "%s", url);
    ev.status = outcome == PS_OUTCOME_SUCCEEDED ? 200 : outcome == PS_OUTCOME_DENIED ? 403 : 0;
    return ev;
}

static bool has(const char *line, const char *needle)
{
    return strstr(line, needle) != NULL;
}

static void test_first_update_final(void)
{
    fixture f;
    fx_open(&f, 64, 8);
    ps_event e = ev_make(&rule_a, 10, SEC(1000), PS_OUTCOME_DENIED, "/a?1");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 1); /* first record at once */
    CU_ASSERT(has(f.lines[0], "\"phase\":\"first\""));
    CU_ASSERT(has(f.lines[0], "\"seq\":1"));
    CU_ASSERT(has(f.lines[0], "\"outcome\":\"denied\""));
    CU_ASSERT(has(f.lines[0], "\"severity\":\"low\"")); /* medium, one step lower: none succeeded */

    /* Same aggregate, same outcome, inside the update interval: no record. */
    e = ev_make(&rule_a, 10, SEC(1010), PS_OUTCOME_DENIED, "/a?2");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL(f.nlines, 1);

    /* Outcome gets worse for the defender: update at once. */
    e = ev_make(&rule_a, 10, SEC(1020), PS_OUTCOME_SUCCEEDED, "/a?1");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 2);
    CU_ASSERT(has(f.lines[1], "\"phase\":\"update\""));
    CU_ASSERT(has(f.lines[1], "\"seq\":2"));
    CU_ASSERT(has(f.lines[1], "\"count\":3"));
    CU_ASSERT(has(f.lines[1], "\"outcomes\":{\"succeeded\":1,\"denied\":2}"));
    CU_ASSERT(has(f.lines[1], "\"urls\":[\"/a?1\",\"/a?2\"]"));
    CU_ASSERT(has(f.lines[1], "\"severity\":\"medium\""));

    /* Interval passed (60 s default): the next call writes an update. */
    e = ev_make(&rule_a, 10, SEC(1081), PS_OUTCOME_SUCCEEDED, "/a?3");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL(f.nlines, 3);
    e = ev_make(&rule_a, 10, SEC(1085), PS_OUTCOME_SUCCEEDED, "/a?3");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL(f.nlines, 3);

    /* Window (300 s) closes: final record with what changed. */
    ps_correlator_tick(f.c, SEC(1300));
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 4);
    CU_ASSERT(has(f.lines[3], "\"phase\":\"final\""));
    CU_ASSERT(has(f.lines[3], "\"count\":5"));
    CU_ASSERT(has(f.lines[3], "\"timestamp\":\"1970-01-01T00:21:40.000000Z\""));

    /* All records share the aggregate id; ids differ. */
    char agg[64], id0[64], id1[64];
    const char *p = strstr(f.lines[0], "\"aggregate_id\":\"");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    snprintf(agg, sizeof(agg), "%.52s", p);
    snprintf(id0, sizeof(id0), "%.44s", strstr(f.lines[0], "\"id\":\""));
    snprintf(id1, sizeof(id1), "%.44s", strstr(f.lines[1], "\"id\":\""));
    for (int i = 0; i < 4; i++)
        CU_ASSERT(has(f.lines[i], agg));
    CU_ASSERT_STRING_NOT_EQUAL(id0, id1);

    /* After the window a call starts a new aggregate. */
    e = ev_make(&rule_a, 10, SEC(1400), PS_OUTCOME_SUCCEEDED, "/a");
    ps_correlator_submit(f.c, &e);
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 5);
    CU_ASSERT(has(f.lines[4], "\"phase\":\"first\""));
    CU_ASSERT_FALSE(has(f.lines[4], agg));
    fx_close(&f, SEC(1401));
    CU_ASSERT_EQUAL(f.nlines, 5); /* nothing changed since: no final */
}

static void test_keys_and_late(void)
{
    fixture f;
    fx_open(&f, 64, 8);
    /* Different client or rule: separate aggregates. */
    ps_event a = ev_make(&rule_a, 10, SEC(10), PS_OUTCOME_SUCCEEDED, "/a");
    ps_event b = ev_make(&rule_b, 10, SEC(11), PS_OUTCOME_SUCCEEDED, "/b");
    ps_event c = ev_make(&rule_a, 11, SEC(12), PS_OUTCOME_SUCCEEDED, "/a");
    ps_correlator_submit(f.c, &a);
    ps_correlator_submit(f.c, &b);
    ps_correlator_submit(f.c, &c);
    fx_read(&f);
    CU_ASSERT_EQUAL(f.nlines, 3);
    CU_ASSERT(has(f.lines[1], "\"techniques\":[\"T1613\",\"T1082\"]"));

    /* Unknown call later answered: graded, not counted twice. */
    ps_event u = ev_make(&rule_b, 12, SEC(20), PS_OUTCOME_UNKNOWN, "/b");
    ps_correlator_submit(f.c, &u);
    u.late = true;
    u.outcome = PS_OUTCOME_SUCCEEDED;
    ps_correlator_submit(f.c, &u);
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 5);
    CU_ASSERT(has(f.lines[3], "\"outcome\":\"unknown\""));
    CU_ASSERT(has(f.lines[4], "\"count\":1"));
    CU_ASSERT(has(f.lines[4], "\"outcomes\":{\"succeeded\":1}"));
    fx_close(&f, SEC(30));
    const ps_correlator_stats *st = NULL;
    (void)st;
}

/* max_aggregates N: the N+1-th closes the oldest early. */
static void test_aggregate_cap(void)
{
    fixture f;
    fx_open(&f, 16, 8);
    for (int i = 0; i < 16; i++) {
        ps_event e = ev_make(&rule_a, i, SEC(100 + i), PS_OUTCOME_SUCCEEDED, "/a");
        ps_correlator_submit(f.c, &e);
    }
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->aggregates_evicted, 0);
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->aggregates_open, 16);
    /* Change the oldest so its early close has something to write. */
    ps_event e0 = ev_make(&rule_a, 0, SEC(120), PS_OUTCOME_SUCCEEDED, "/a2");
    ps_correlator_submit(f.c, &e0);
    ps_event e = ev_make(&rule_a, 99, SEC(121), PS_OUTCOME_SUCCEEDED, "/a");
    ps_correlator_submit(f.c, &e);
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->aggregates_evicted, 1);
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->aggregates_open, 16);
    fx_read(&f);
    CU_ASSERT_EQUAL_FATAL(f.nlines, 18);
    CU_ASSERT(has(f.lines[16], "\"phase\":\"final\""));
    CU_ASSERT(has(f.lines[16], "\"src_ip\":\"198.18.0.0\""));
    fx_close(&f, SEC(130));
}

/* max_urls N: N distinct URLs listed, the N+1-th sets urls_truncated. */
static void test_url_cap(void)
{
    fixture f;
    fx_open(&f, 64, 2);
    const char *urls[] = {"/u1", "/u2", "/u1", "/u3"};
    for (int i = 0; i < 4; i++) {
        ps_event e = ev_make(&rule_a, 1, SEC(50 + i), PS_OUTCOME_SUCCEEDED, urls[i]);
        ps_correlator_submit(f.c, &e);
    }
    fx_close(&f, SEC(60));
    CU_ASSERT_EQUAL_FATAL(f.nlines, 2);
    CU_ASSERT(has(f.lines[1], "\"urls\":[\"/u1\",\"/u2\"],\"urls_truncated\":true"));
    CU_ASSERT(has(f.lines[1], "\"count\":4"));
    CU_ASSERT_FALSE(has(f.lines[0], "urls_truncated"));
}

/* The packed URL list holds max_urls * PS_AGG_URL_AVG bytes (here 8 * 64):
 * two 255-byte URLs fill it exactly (N), a third of 2 bytes is one too many
 * (N+1) and sets urls_truncated. */
static void test_url_bytes(void)
{
    fixture f;
    fx_open(&f, 64, 8);
    CU_ASSERT_EQUAL_FATAL(ps_agg_url_bytes(8), 512u);
    char u1[256], u2[256];
    memset(u1, 'a', 255);
    memset(u2, 'b', 255);
    u1[0] = u2[0] = '/';
    u1[255] = u2[255] = '\0';
    const char *urls[] = {u1, u2, u1, "/c"};
    for (int i = 0; i < 4; i++) {
        ps_event e = ev_make(&rule_a, 1, SEC(50 + i), PS_OUTCOME_SUCCEEDED, urls[i]);
        ps_correlator_submit(f.c, &e);
    }
    fx_close(&f, SEC(60));
    CU_ASSERT_EQUAL_FATAL(f.nlines, 2);
    char want[600];
    snprintf(want, sizeof(want), "\"urls\":[\"%s\",\"%s\"],\"urls_truncated\":true", u1, u2);
    CU_ASSERT(has(f.lines[1], want));
    CU_ASSERT(has(f.lines[1], "\"count\":4"));
}

/* Bytes that are not UTF-8 in a URL come out as \xNN, so lines stay valid. */
static void test_invalid_utf8(void)
{
    fixture f;
    fx_open(&f, 64, 8);
    ps_event e = ev_make(&rule_a, 1, SEC(5), PS_OUTCOME_SUCCEEDED, "/a\xff\xc3(");
    ps_correlator_submit(f.c, &e);
    fx_close(&f, SEC(6));
    CU_ASSERT_EQUAL_FATAL(f.nlines, 1);
    CU_ASSERT(has(f.lines[0], "\"url\":\"/a\\\\xFF\\\\xC3(\""));
}

/* A string field full of control bytes, each written as \u0001 (6 chars). */
static void fill_ctl(char *s, size_t cap)
{
    memset(s, 0x01, cap - 1);
    s[cap - 1] = '\0';
}
#define FILL(x) fill_ctl((x), sizeof(x))

/* Every string of an event at its cap, all of it escaped. */
static void event_worst(ps_event *e)
{
    FILL(e->method);
    FILL(e->url);
    FILL(e->host);
    FILL(e->user_agent);
    FILL(e->api_version);
    FILL(e->server_api_version);
    FILL(e->server);
    FILL(e->client_tool);
    FILL(e->client_version);
    FILL(e->client_program);
    FILL(e->auth_scheme);
    FILL(e->auth_fp);
    FILL(e->registry_fp);
    FILL(e->k8s_namespace);
    FILL(e->pod);
    FILL(e->container);
    FILL(e->resource);
    FILL(e->subresource);
    FILL(e->verb);
    FILL(e->object_name);
    FILL(e->command);
    FILL(e->image);
    FILL(e->escape);
    FILL(e->etcd_key);
    FILL(e->etcd_range_end);
    e->n_env_secrets = PS_EV_ENV_SECRETS;
    for (int i = 0; i < PS_EV_ENV_SECRETS; i++) {
        FILL(e->env_secrets[i].name);
        FILL(e->env_secrets[i].fp);
    }
    FILL(e->tls.sni);
    FILL(e->tls.alpn);
    FILL(e->tls.ja3);
    FILL(e->tls.ja4);
    e->flags = 0xff;
    e->allowed = 1;
    e->status = 200;
    e->http_anomalies = 0xffffffffu;
}

/* The longest records ps_record_format() can make, for each kind of API
 * object: longer than the old 16 KiB line buffer, within PS_RECORD_MAX. */
static void test_record_bound(void)
{
    static const ps_rule rules[] = {
        {"docker.exec.start", "docker", "/exec/{id}/start", {&ps_t1609, NULL}, PS_SEV_HIGH},
        {"kubelet.pods", "kubelet", "/pods", {&ps_t1613, NULL}, PS_SEV_MEDIUM},
        {"kubeapi.secrets", "kubeapi", "/api/v1/secrets", {&ps_t1552_007, &ps_t1613, NULL}, 3},
        {"etcd.range", "etcd", "/v3/kv/range", {&ps_t1613, &ps_t1552_007, NULL}, PS_SEV_HIGH},
        {"tls.container_port", "tls", "tls", {&ps_t1613, NULL}, PS_SEV_LOW},
    };
    static ps_config cfg;
    ps_config_default(&cfg);
    FILL(cfg.sensor_name);
    size_t asz = sizeof(ps_aggregate) + (size_t)PS_AGG_MAX_URLS * PS_AGG_URL_MAX;
    ps_aggregate *a = calloc(1, asz);
    char *buf = malloc(PS_RECORD_MAX);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    char id[37];
    fill_ctl(id, sizeof(id));
    size_t longest = 0;
    for (size_t k = 0; k < PS_ARRAY_LEN(rules); k++) {
        memset(a, 0, asz);
        FILL(a->aggregate_id);
        FILL(a->campaign.id);
        a->campaign.stages = 0xffff;
        a->rule = &rules[k];
        a->src.family = a->dst.family = 6;
        memset(a->src.bytes, 0xfe, 16);
        memset(a->dst.bytes, 0xfd, 16);
        a->sport = a->dport = 65535;
        a->proto = 6;
        a->seq = UINT32_MAX;
        a->count = UINT64_MAX;
        for (int o = 0; o < PS_OUTCOME_MAX; o++)
            a->outcomes[o] = UINT64_MAX;
        a->objects = INT64_MIN;
        a->http_anomalies = 0xffffffffu;
        a->new_client = 1;
        a->urls_overflow = true;
        /* 64 URLs of 255 bytes, packed: more than the correlator keeps, so a bound. */
        a->nurls = PS_AGG_MAX_URLS;
        for (uint32_t i = 0; i < a->nurls; i++)
            fill_ctl(a->urls + (size_t)i * PS_AGG_URL_MAX, PS_AGG_URL_MAX);
        static ps_event last;
        a->last = &last;
        event_worst(a->last);
        a->last->kind = strcmp(rules[k].app, "tls") == 0 ? PS_EV_TLS : PS_EV_API_CALL;
        a->last->rule = a->rule;
        int n = ps_record_format(a, &cfg, PS_PHASE_UPDATE, UINT64_MAX / 2, id, buf, PS_RECORD_MAX);
        CU_ASSERT_FATAL(n > 0);
        CU_ASSERT((size_t)n < PS_RECORD_MAX);
        CU_ASSERT((size_t)n > 16384);
        CU_ASSERT(jc_utf8_valid((const uint8_t *)buf, (size_t)n));
        CU_ASSERT(jc_valid(buf, (size_t)n));
        if ((size_t)n > longest)
            longest = (size_t)n;
        /* One byte short of the record: an error, never a cut record. */
        CU_ASSERT_EQUAL(
            ps_record_format(a, &cfg, PS_PHASE_UPDATE, UINT64_MAX / 2, id, buf, (size_t)n),
            PS_ERR_CAP);
    }
    CU_ASSERT(longest > 6 * PS_AGG_MAX_URLS * (PS_AGG_URL_MAX - 1)); /* the URLs alone */
    free(buf);
    free(a);
}

/* Reads the whole output file: records longer than the fixture's lines. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *b = malloc(4 * PS_RECORD_MAX);
    *len = b ? fread(b, 1, 4 * PS_RECORD_MAX - 1, fp) : 0;
    fclose(fp);
    if (b)
        b[*len] = '\0';
    return b;
}

/* Robustness case invalid-utf8-long, and the worst a client can make: 64
 * calls with 1 KiB URLs that escape 6-fold. Both records are written; none
 * is lost or cut. */
static void test_long_records(void)
{
    fixture f;
    fx_open(&f, 64, PS_AGG_MAX_URLS);
    for (int i = 0; i < PS_AGG_MAX_URLS; i++) {
        ps_event e = ev_make(&rule_a, 1, SEC(5), PS_OUTCOME_SUCCEEDED, "");
        FILL(e.url);
        FILL(e.user_agent);
        FILL(e.host);
        e.url[0] = (char)(0x80 + i); /* distinct URLs; a byte that is not UTF-8 */
        ps_correlator_submit(f.c, &e);
    }
    ps_correlator_flush(f.c, SEC(6));
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->records, 2);
    CU_ASSERT_EQUAL(ps_correlator_stats_get(f.c)->format_errors, 0);
    ps_correlator_free(f.c, SEC(6));
    f.c = NULL;
    ps_output_flush(f.out);
    size_t len = 0;
    char *b = slurp(f.path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    int lines = 0;
    size_t longest = 0;
    for (char *p = b, *nl; (nl = memchr(p, '\n', len - (size_t)(p - b))) != NULL; p = nl + 1) {
        CU_ASSERT(jc_valid(p, (size_t)(nl - p)));
        if ((size_t)(nl - p) > longest)
            longest = (size_t)(nl - p);
        lines++;
    }
    CU_ASSERT_EQUAL(lines, 2); /* first and final */
    /* The URL list keeps 16 of the 255-byte URLs (64 * PS_AGG_URL_AVG bytes), each
     * byte 5+ characters: well over the old 16 KiB buffer. */
    CU_ASSERT(longest > 16 * 255 * 5 && longest > 16384);
    CU_ASSERT(jc_utf8_valid((const uint8_t *)b, len));
    free(b);
    ps_output_free(f.out);
    unlink(f.path);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("correlate", NULL, NULL);
    CU_add_test(s, "first, update, final", test_first_update_final);
    CU_add_test(s, "aggregate keys and late answers", test_keys_and_late);
    CU_add_test(s, "aggregate cap N and N+1", test_aggregate_cap);
    CU_add_test(s, "url cap N and N+1", test_url_cap);
    CU_add_test(s, "url bytes N and N+1", test_url_bytes);
    CU_add_test(s, "invalid UTF-8", test_invalid_utf8);
    CU_add_test(s, "longest records within PS_RECORD_MAX", test_record_bound);
    CU_add_test(s, "records over 16 KiB are written", test_long_records);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
