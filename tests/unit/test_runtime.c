/* test_runtime.c - what live running adds: capture/runtime keys, SIGHUP reload, stats record,
 * capture dispatch, live interface errors, output reopen, sd_notify, logging, privilege drop. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "capture.h"
#include "config.h"
#include "dissector.h"
#include "correlate.h"
#include "json_check.h"
#include "live.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "privileges.h"
#include "scan.h"
#include "summary.h"
#include "worker.h"

/* libconfig 1.5 leaks a token on some syntax errors (see test_config.c). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libconfig.so\n";
}

static char err[8192];
static char tmpdir[] = "/tmp/ps-runtime-XXXXXX";

static int load(ps_config *cfg, const char *text)
{
    ps_config_default(cfg);
    return ps_config_load_buffer(cfg, "t.conf", text, err, sizeof(err));
}

/* ---- configuration ----------------------------------------------------------------------- */

typedef struct change_log {
    char keys[16][64];
    bool applied[16];
    int n;
} change_log;

static void on_change(void *ctx, const char *group, const char *key, bool applied)
{
    change_log *l = ctx;
    if (l->n < 16) {
        snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s.%s", group, key);
        l->applied[l->n++] = applied;
    }
}

static void test_defaults(void)
{
    ps_config c;
    ps_config_default(&c);
    CU_ASSERT_EQUAL(c.iface_count, 0);
    CU_ASSERT_EQUAL(c.snaplen, 262144);
    CU_ASSERT_TRUE(c.promiscuous);
    CU_ASSERT_EQUAL(c.buffer_bytes, 64u << 20);
    CU_ASSERT_FALSE(c.immediate);
    CU_ASSERT_STRING_EQUAL(c.filter, "");
    CU_ASSERT_EQUAL(c.stats_interval_s, 60);
    CU_ASSERT_EQUAL(c.log_syslog, 0);
    CU_ASSERT_STRING_EQUAL(c.user, "");
    CU_ASSERT_TRUE(c.keep_net_raw);
    /* The shipped file states every default. */
    ps_config f;
    ps_config_default(&f);
    CU_ASSERT_EQUAL(ps_config_load(&f, "config/portside.conf", err, sizeof(err)), PS_OK);
    change_log log = {.n = 0};
    CU_ASSERT_EQUAL(ps_config_reload(&c, &f, on_change, &log), 0);
    CU_ASSERT_EQUAL(log.n, 0);
    for (int i = 0; i < log.n; i++)
        fprintf(stderr, "shipped config differs from the default: %s\n", log.keys[i]);
}

static void test_capture_keys(void)
{
    ps_config c;
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = [\"eth1\", \"eth2\"]; snaplen = 64;\n"
                             "promiscuous = false; buffer_mb = 2047; immediate = true;\n"
                             "filter = \"tcp or vlan\"; };"),
                    PS_OK);
    CU_ASSERT_EQUAL(c.iface_count, 2);
    CU_ASSERT_STRING_EQUAL(c.ifaces[1], "eth2");
    CU_ASSERT_EQUAL(c.snaplen, 64);
    CU_ASSERT_FALSE(c.promiscuous);
    CU_ASSERT_EQUAL(c.buffer_bytes, 2047u << 20);
    CU_ASSERT_TRUE(c.immediate);
    CU_ASSERT_STRING_EQUAL(c.filter, "tcp or vlan");
    /* Limits at N and N+1. */
    CU_ASSERT_EQUAL(load(&c, "capture = { snaplen = 262144; };"), PS_OK);
    CU_ASSERT_EQUAL(load(&c, "capture = { snaplen = 262145; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: 'capture.snaplen' must be an integer between 64 and "
                                "262144");
    CU_ASSERT_EQUAL(load(&c, "capture = { snaplen = 63; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "capture = { buffer_mb = 2048; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "capture = { buffer_mb = 0; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
                             "\"h\"]; };"),
                    PS_OK);
    CU_ASSERT_EQUAL(c.iface_count, 8);
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = [\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
                             "\"h\",\"i\"]; };"),
                    PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = [\"abcdefghijklmno\"]; };"), PS_OK);
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = [\"abcdefghijklmnop\"]; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "capture = {\n interfaces = [\"eth0\", \"eth0\"]; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:2: 'capture.interfaces' entry 2 repeats entry 1");
    const char *bad[] = {"a/b", "a:1", "a b", "", ".", ".."};
    for (size_t i = 0; i < PS_ARRAY_LEN(bad); i++) {
        char text[128];
        snprintf(text, sizeof(text), "capture = { interfaces = [\"%s\"]; };", bad[i]);
        CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "'capture.interfaces' entry 1 must be an interface"));
    }
    CU_ASSERT_EQUAL(load(&c, "capture = { interfaces = \"eth0\"; };"), PS_ERR_CONFIG);
}

static void test_runtime_keys(void)
{
    ps_config c;
    CU_ASSERT_EQUAL(load(&c, "runtime = { stats_interval_s = 0; log = \"syslog\";\n"
                             "user = \"nobody\"; keep_net_raw = false; };"),
                    PS_OK);
    CU_ASSERT_EQUAL(c.stats_interval_s, 0);
    CU_ASSERT_EQUAL(c.log_syslog, 1);
    CU_ASSERT_STRING_EQUAL(c.user, "nobody");
    CU_ASSERT_FALSE(c.keep_net_raw);
    CU_ASSERT_EQUAL(load(&c, "runtime = { stats_interval_s = 86400; };"), PS_OK);
    CU_ASSERT_EQUAL(load(&c, "runtime = { stats_interval_s = 86401; };"), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "runtime = { log = \"journal\"; };"), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "t.conf:1: 'runtime.log' must be one of \"stderr\", \"syslog\"");
    char text[200];
    snprintf(text, sizeof(text), "runtime = { user = \"%063d\"; };", 0);
    CU_ASSERT_EQUAL(load(&c, text), PS_OK);
    snprintf(text, sizeof(text), "runtime = { user = \"%064d\"; };", 0);
    CU_ASSERT_EQUAL(load(&c, text), PS_ERR_CONFIG);
    CU_ASSERT_EQUAL(load(&c, "runtime = { keep_net_raw = 1; };"), PS_ERR_CONFIG);
}

static void test_reload(void)
{
    static ps_config live, next;
    change_log log = {.n = 0};

    CU_ASSERT_EQUAL(load(&live, "flow = { max_flows = 1000; };"), PS_OK);
    CU_ASSERT_EQUAL(load(&next, "flow = { max_flows = 1000; };"), PS_OK);
    CU_ASSERT_EQUAL(ps_config_reload(&live, &next, on_change, &log), 0);
    CU_ASSERT_EQUAL(log.n, 0);

    CU_ASSERT_EQUAL(load(&next, "flow = { max_flows = 2000; };\n"
                                "detection = { window_s = 120; };\n"
                                "scan = { horizontal_hosts = 7; };\n"
                                "trust = { docker = [\"198.18.0.0/15\"]; mode = \"info\"; };\n"
                                "output = { paths = [\"-\", \"/tmp/x.json\"]; };\n"
                                "capture = { snaplen = 1500; };\n"
                                "redis = { channel = \"other\"; queue_size = 64; "
                                "command_timeout_ms = 300; };\n"
                                "sensor = { name = \"s2\"; };\n"),
                    PS_OK);
    CU_ASSERT_EQUAL(ps_config_reload(&live, &next, on_change, &log), 3);
    CU_ASSERT_EQUAL(log.n, 11);
    for (int i = 0; i < log.n; i++) {
        bool want = strcmp(log.keys[i], "flow.max_flows") != 0 &&
                    strcmp(log.keys[i], "capture.snaplen") != 0 &&
                    strcmp(log.keys[i], "redis.queue_size") != 0;
        CU_ASSERT_EQUAL(log.applied[i], want);
    }
    CU_ASSERT_EQUAL(live.flow.max_flows, 1000); /* table size: needs a restart */
    CU_ASSERT_EQUAL(live.snaplen, 262144);
    CU_ASSERT_EQUAL(live.redis.queue_size, 4096); /* the queue: needs a restart */
    /* Redis names, credentials, TLS files and timeouts apply live (the sink
     * checks them first: main.c, reload()). */
    CU_ASSERT_STRING_EQUAL(live.redis.channel, "other");
    CU_ASSERT_EQUAL(live.redis.command_timeout_ms, 300);
    CU_ASSERT_EQUAL(live.window_s, 120);
    CU_ASSERT_EQUAL(live.scan.horizontal_hosts, 7);
    CU_ASSERT_EQUAL(live.trust_docker.count, 1);
    CU_ASSERT_EQUAL(live.trust_mode, 1);
    CU_ASSERT_EQUAL(live.output_count, 2);
    CU_ASSERT_STRING_EQUAL(live.outputs[1], "/tmp/x.json");
    CU_ASSERT_STRING_EQUAL(live.sensor_name, "s2");
    /* Applied keys now match: a second reload reports only the kept ones. */
    log.n = 0;
    CU_ASSERT_EQUAL(ps_config_reload(&live, &next, on_change, &log), 3);
    CU_ASSERT_EQUAL(log.n, 3);
    /* A shorter name leaves no tail of the longer one behind. */
    CU_ASSERT_EQUAL(load(&next, "sensor = { name = \"s\"; };"), PS_OK);
    next.flow = live.flow;
    ps_config_reload(&live, &next, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(live.sensor_name, "s");
}

/* ---- capture dispatch -------------------------------------------------------------------- */

typedef struct counter {
    uint64_t packets, bytes;
    ps_time_us last;
    bool ordered;
} counter;

static void count_cb(void *u, ps_time_us ts, const uint8_t *d, uint32_t caplen, uint32_t wirelen)
{
    counter *c = u;
    (void)d;
    c->packets++;
    c->bytes += caplen;
    (void)wirelen;
    if (ts < c->last)
        c->ordered = false;
    c->last = ts;
}

static void test_dispatch(void)
{
    char e[256];
    ps_capture *a = ps_capture_open_file("pcaps/demo.pcap", e, sizeof(e));
    ps_capture *b = ps_capture_open_file("pcaps/demo.pcap", e, sizeof(e));
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(ps_capture_fd(a), -1);
    uint64_t n_next = 0, bytes_next = 0;
    ps_time_us ts;
    const uint8_t *d;
    uint32_t caplen, wirelen;
    while (ps_capture_next(a, &ts, &d, &caplen, &wirelen, e, sizeof(e)) == 1) {
        n_next++;
        bytes_next += caplen;
    }
    counter c = {0, 0, 0, true};
    int n, calls = 0;
    while ((n = ps_capture_dispatch(b, 7, count_cb, &c, e, sizeof(e))) > 0) {
        CU_ASSERT(n <= 7);
        calls++;
    }
    CU_ASSERT_EQUAL(n, 0);
    CU_ASSERT_EQUAL(c.packets, n_next);
    CU_ASSERT_EQUAL(c.bytes, bytes_next);
    CU_ASSERT_EQUAL(c.packets, 214);
    CU_ASSERT_EQUAL(calls, (214 + 6) / 7);
    ps_capture_kstats ks;
    CU_ASSERT_TRUE(ps_capture_kernel_stats(b, &ks));
    CU_ASSERT_EQUAL(ks.recv + ks.drop + ks.ifdrop, 0);
    ps_capture_close(a);
    ps_capture_close(b);

    /* Damaged: the packets before the damage, then an error with libpcap's reason. */
    ps_capture *t = ps_capture_open_file("pcaps/damaged/truncated.pcap", e, sizeof(e));
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    counter tc = {0, 0, 0, true};
    while ((n = ps_capture_dispatch(t, 1000, count_cb, &tc, e, sizeof(e))) > 0)
        ;
    CU_ASSERT_EQUAL(n, PS_ERR_IO);
    CU_ASSERT(tc.packets > 0);
    CU_ASSERT(strlen(e) > 0);
    ps_capture_close(t);
}

/* ---- live interfaces --------------------------------------------------------------------- */

static void test_live_errors(void)
{
    char names[PS_MAX_IFACES + 1][PS_IFNAME_MAX];
    ps_capture_opts o = {.snaplen = 262144, .promiscuous = false, .buffer_bytes = 1 << 20};
    snprintf(names[0], PS_IFNAME_MAX, "ps-nope0");
    CU_ASSERT_PTR_NULL(ps_live_open(names, 1, &o, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'ps-nope0'"));
    bool root = geteuid() == 0;
    if (root) /* without root libpcap may report the permission problem first */
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such interface 'ps-nope0'"));
    CU_ASSERT_PTR_NULL(ps_live_open(names, 0, &o, err, sizeof(err)));
    CU_ASSERT_PTR_NULL(ps_live_open(names, PS_MAX_IFACES + 1, &o, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "1 to 8 interfaces"));
    if (!root) {
        fprintf(stderr, "(live interface tests need root; skipped)\n");
        return;
    }
    snprintf(names[0], PS_IFNAME_MAX, "lo");
    o.filter = "tcp and port 99999";
    CU_ASSERT_PTR_NULL(ps_live_open(names, 1, &o, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad capture filter 'tcp and port 99999'"));
    o.filter = "tcp port 1";
    snprintf(names[1], PS_IFNAME_MAX, "lo");
    CU_ASSERT_PTR_NULL(ps_live_open(names, 2, &o, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'lo' given twice"));
    ps_live *l = ps_live_open(names, 1, &o, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    bool more = true;
    CU_ASSERT_EQUAL(ps_live_poll(l, 0, NULL, NULL, &more), 0); /* nothing on tcp port 1 */
    CU_ASSERT_FALSE(more);
    ps_live_iface_stats st;
    ps_live_stats(l, 0, &st);
    CU_ASSERT_STRING_EQUAL(st.name, "lo");
    CU_ASSERT_TRUE(st.up);
    CU_ASSERT_EQUAL(st.packets, 0);
    CU_ASSERT_EQUAL(st.failures, 0);
    ps_live_close(l);
}

/* ---- stats record ------------------------------------------------------------------------ */

static void feed(void *u, ps_time_us ts, const uint8_t *d, uint32_t caplen, uint32_t wirelen)
{
    ps_worker_packet(u, 1, ts, d, caplen, wirelen);
}

/* ---- worker ring ------------------------------------------------------------------------ */

/* Calls the worker reported, in order: a rule, a URL and a time each (the
 * first 64), and a digest of all of them. */
typedef struct calls {
    int n;
    const ps_rule *rule[64];
    char url[64][64];
    ps_time_us ts[64];
    uint64_t digest;
    /* What the worker saw: TCP segments, checksums that failed, bytes lost
     * to gaps and overlaps with different bytes. */
    uint64_t tcp_packets, bad_csum, gap_bytes, overlap_diff;
} calls;

static void note_stats(calls *c, const ps_worker *w)
{
    c->tcp_packets = ps_worker_stats_get(w)->tcp_packets;
    c->bad_csum = ps_worker_decode_stats(w)->anomalies[PS_DA_TCP_BAD_CHECKSUM];
    c->gap_bytes = ps_worker_flow_stats(w)->gap_bytes;
    c->overlap_diff = ps_worker_flow_stats(w)->anomalies[PS_FA_OVERLAP_DIFFERENT];
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

static void note_call(void *ctx, const ps_event *ev)
{
    calls *c = ctx;
    c->digest = fnv(c->digest ^ (uint64_t)c->n, &ev->rule, sizeof ev->rule);
    c->digest = fnv(c->digest, ev->url, strnlen(ev->url, sizeof ev->url));
    c->digest = fnv(c->digest, &ev->ts, sizeof ev->ts);
    c->digest = fnv(c->digest, &ev->done_ts, sizeof ev->done_ts);
    c->digest = fnv(c->digest, &ev->status, sizeof ev->status);
    c->digest = fnv(c->digest, &ev->outcome, sizeof ev->outcome);
    c->digest = fnv(c->digest, &ev->objects, sizeof ev->objects);
    if (c->n < 64) {
        c->rule[c->n] = ev->rule;
        size_t n = strnlen(ev->url, sizeof(c->url[0]) - 1);
        memcpy(c->url[c->n], ev->url, n);
        c->url[c->n][n] = '\0';
        c->ts[c->n] = ev->ts;
    }
    c->n++;
}

typedef struct stable_run {
    ps_worker *w;
    int linktype;
    ps_time_us ts;
} stable_run;

static void stable_packet(void *u, ps_time_us ts, const uint8_t *d, uint32_t caplen,
                          uint32_t wirelen)
{
    stable_run *r = u;
    r->ts = ts;
    ps_worker_packet_stable(r->w, r->linktype, ts, d, caplen, wirelen);
}

enum { REPLAY_EACH, REPLAY_RING, REPLAY_HELD };

/* Replays a capture: REPLAY_EACH finishes every packet at once, as before
 * the ring existed; REPLAY_RING copies small frames into the ring;
 * REPLAY_HELD hands frames to ps_worker_packet_stable(), held where the
 * reader left them. */
static void replay_calls(const char *path, int mode, calls *out)
{
    static ps_config cfg;
    ps_config_default(&cfg);
    memset(out, 0, sizeof(*out));
    ps_worker *w = ps_worker_new(&cfg, (ps_event_sink){.submit = note_call, .ctx = out});
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ps_capture *c = ps_capture_open_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    stable_run r = {w, ps_capture_linktype(c), 0};
    if (mode == REPLAY_HELD) {
        CU_ASSERT_FATAL(ps_capture_stable(c));
        while (ps_capture_dispatch(c, 1024, stable_packet, &r, err, sizeof(err)) > 0)
            ;
    } else {
        const uint8_t *data;
        uint32_t caplen, wirelen;
        while (ps_capture_next(c, &r.ts, &data, &caplen, &wirelen, err, sizeof(err)) == 1) {
            ps_worker_packet(w, r.linktype, r.ts, data, caplen, wirelen);
            if (mode == REPLAY_EACH)
                ps_worker_drain(w);
        }
    }
    ps_worker_flush(w, r.ts);
    note_stats(out, w);
    ps_worker_free(w, r.ts);
    ps_capture_close(c);
}

/* Writes `copies` copies of the records of pcap `path` to a temporary file,
 * each copy an hour after the previous one; returns its path (static). */
static const char *repeat_capture(const char *path, int copies)
{
    static char out[64];
    FILE *in = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, in);
    fclose(in);
    CU_ASSERT_FATAL(n > 24 && n < sizeof buf);
    snprintf(out, sizeof out, "/tmp/ps_runtime_big_XXXXXX");
    int fd = mkstemp(out);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fwrite(buf, 1, 24, f);
    for (int k = 0; k < copies; k++) {
        for (size_t off = 24; off + 16 <= n;) {
            uint32_t sec, caplen;
            memcpy(&sec, buf + off, 4);
            memcpy(&caplen, buf + off + 8, 4);
            sec += (uint32_t)k * 3600u;
            fwrite(&sec, 4, 1, f);
            fwrite(buf + off + 4, 1, 12 + caplen, f);
            off += 16 + caplen;
        }
    }
    fclose(f);
    return out;
}

/* Frames held where the file reader left them give the same calls, in the
 * same order, as frames copied into the ring, on a small capture and on one
 * large enough for the reader to reuse both of its buffers (bulk segments
 * held too). */
static void test_worker_stable(void)
{
    static calls ring, held;
    const char *paths[2] = {"pcaps/demo.pcap", repeat_capture("pcaps/campaign-teamtnt.pcap", 30)};
    struct stat st;
    CU_ASSERT_FATAL(stat(paths[1], &st) == 0 && st.st_size > 8 * 1024 * 1024);
    for (int k = 0; k < 2; k++) {
        replay_calls(paths[k], REPLAY_RING, &ring);
        replay_calls(paths[k], REPLAY_HELD, &held);
        CU_ASSERT_FATAL(ring.n > (k ? 300 : 3));
        CU_ASSERT_EQUAL(held.n, ring.n);
        CU_ASSERT_EQUAL(held.digest, ring.digest);
        CU_ASSERT_EQUAL(held.tcp_packets, ring.tcp_packets);
        CU_ASSERT_EQUAL(held.bad_csum, ring.bad_csum);
        CU_ASSERT_EQUAL(held.gap_bytes, ring.gap_bytes);
        CU_ASSERT_EQUAL(held.overlap_diff, ring.overlap_diff);
        CU_ASSERT(ring.tcp_packets > (k ? 30000u : 100u));
        for (int i = 0; i < ring.n && i < 64; i++) {
            CU_ASSERT_PTR_EQUAL(held.rule[i], ring.rule[i]);
            CU_ASSERT_STRING_EQUAL(held.url[i], ring.url[i]);
        }
    }
    unlink(paths[1]);
}

/* The ring between decoding and the flow table holds small frames back but
 * must neither lose nor reorder them: the same calls, in the same order, as
 * finishing every packet at once; and a held-back call appears on drain. */
static void test_worker_ring(void)
{
    static calls each, ring;
    replay_calls("pcaps/demo.pcap", REPLAY_EACH, &each);
    replay_calls("pcaps/demo.pcap", REPLAY_RING, &ring);
    CU_ASSERT_FATAL(each.n > 3);
    CU_ASSERT_EQUAL_FATAL(ring.n, each.n);
    for (int i = 0; i < each.n && i < 64; i++) {
        CU_ASSERT_PTR_EQUAL(ring.rule[i], each.rule[i]);
        CU_ASSERT_STRING_EQUAL(ring.url[i], each.url[i]);
        CU_ASSERT_EQUAL(ring.ts[i], each.ts[i]);
    }

    /* demo.pcap opens with a SYN (a small frame): it reaches the SYN cache
     * only when the ring is drained (or fills, or time ticks). */
    static ps_config cfg;
    ps_config_default(&cfg);
    calls got;
    memset(&got, 0, sizeof(got));
    ps_worker *w = ps_worker_new(&cfg, (ps_event_sink){.submit = note_call, .ctx = &got});
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ps_capture *c = ps_capture_open_file("pcaps/demo.pcap", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ps_time_us ts = 0;
    const uint8_t *data;
    uint32_t caplen, wirelen;
    CU_ASSERT_EQUAL_FATAL(ps_capture_next(c, &ts, &data, &caplen, &wirelen, err, sizeof(err)), 1);
    CU_ASSERT_FATAL(caplen <= 192);
    ps_worker_packet(w, ps_capture_linktype(c), ts, data, caplen, wirelen);
    CU_ASSERT_EQUAL(ps_worker_flow_stats(w)->syn_cached, 0);
    ps_worker_drain(w);
    CU_ASSERT_EQUAL(ps_worker_flow_stats(w)->syn_cached, 1);
    ps_worker_free(w, ts);
    ps_capture_close(c);
}

/* ---- server speaks first ------------------------------------------------------------------ */

/* Ethernet + IPv4 + TCP from 10.1.0.x:port to 10.1.0.y:port, checksums right
 * unless `bad_csum`. Returns the frame length. */
static size_t tcp_frame(uint8_t *f, uint8_t from, uint16_t sp, uint8_t to, uint16_t dp,
                        uint8_t flags, uint32_t seq, uint32_t ack, const char *data, bool bad_csum)
{
    size_t dl = data ? strlen(data) : 0, tl = 20 + dl, il = 20 + tl;
    memset(f, 0, 14 + il);
    f[12] = 0x08;
    uint8_t *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(il >> 8);
    ip[3] = (uint8_t)il;
    ip[8] = 64;
    ip[9] = 6;
    const uint8_t src[4] = {10, 1, 0, from}, dst[4] = {10, 1, 0, to};
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)ip[i] << 8 | ip[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (uint8_t)(~sum >> 8);
    ip[11] = (uint8_t)~sum;
    tcp[0] = (uint8_t)(sp >> 8), tcp[1] = (uint8_t)sp, tcp[2] = (uint8_t)(dp >> 8);
    tcp[3] = (uint8_t)dp;
    for (int i = 0; i < 4; i++) {
        tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    tcp[12] = 0x50;
    tcp[13] = flags;
    tcp[14] = 0xff;
    if (dl)
        memcpy(tcp + 20, data, dl);
    sum = (uint32_t)(src[0] << 8 | src[1]) + (uint32_t)(src[2] << 8 | src[3]) +
          (uint32_t)(dst[0] << 8 | dst[1]) + (uint32_t)(dst[2] << 8 | dst[3]) + 6 + (uint32_t)tl;
    for (size_t i = 0; i < tl; i += 2)
        sum += (uint32_t)tcp[i] << 8 | (i + 1 < tl ? tcp[i + 1] : 0);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    if (bad_csum)
        sum ^= 0x0101;
    tcp[16] = (uint8_t)(sum >> 8);
    tcp[17] = (uint8_t)sum;
    return 14 + il;
}

/* A connection seen from its handshake on which the server speaks first
 * (an SSH greeting, a download) is decided from the server's bytes: no
 * dissector's protocol starts that way. After that its segments are not
 * read, so a bad checksum on one is not even looked at. Once the client has
 * sent part of a message, the server's bytes decide nothing. */
static void test_server_first(void)
{
    static ps_config cfg;
    ps_config_default(&cfg);
    cfg.ndpi_enabled = false;
    cfg.decode.checksum_mode = PS_CSUM_YES; /* auto would still be sampling */
    calls got;
    memset(&got, 0, sizeof(got));
    ps_worker *w = ps_worker_new(&cfg, (ps_event_sink){.submit = note_call, .ctx = &got});
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    uint8_t f[256];
    ps_time_us ts = 1000000;
#define PKT(...)                                                                                   \
    do {                                                                                           \
        size_t n_ = tcp_frame(f, __VA_ARGS__);                                                     \
        ps_worker_packet(w, 1, ts += 1000, f, (uint32_t)n_, (uint32_t)n_);                         \
        ps_worker_drain(w);                                                                        \
    } while (0)
    PKT(1, 40000, 2, 22, 0x02, 100, 0, NULL, false);
    PKT(2, 22, 1, 40000, 0x12, 5000, 101, NULL, false);
    PKT(1, 40000, 2, 22, 0x10, 101, 5001, NULL, false);
    PKT(2, 22, 1, 40000, 0x18, 5001, 101, "SSH-2.0-OpenSSH_9.2p1\r\n", false);
    CU_ASSERT_EQUAL(ps_worker_stats_get(w)->streams_unclaimed, 1);
    PKT(2, 22, 1, 40000, 0x18, 5024, 101, "key exchange", true);
    CU_ASSERT_EQUAL(ps_worker_decode_stats(w)->anomalies[PS_DA_TCP_BAD_CHECKSUM], 0);

    /* The client began a request ("GE"): the server's bytes wait for it. */
    PKT(3, 40001, 4, 80, 0x02, 700, 0, NULL, false);
    PKT(4, 80, 3, 40001, 0x12, 9000, 701, NULL, false);
    PKT(3, 40001, 4, 80, 0x18, 701, 9001, "GE", false);
    PKT(4, 80, 3, 40001, 0x18, 9001, 703, "hello", false);
    CU_ASSERT_EQUAL(ps_worker_stats_get(w)->streams_unclaimed, 1);
    PKT(3, 40001, 4, 80, 0x18, 703, 9006, "T /containers/json HTTP/1.1\r\nHost: x\r\n\r\n", false);
    CU_ASSERT_EQUAL(ps_worker_stats_get(w)->streams_unclaimed, 1);
    int http = 0;
    while (ps_stream_dissectors[http] && strcmp(ps_stream_dissectors[http]->name, "http") != 0)
        http++;
    CU_ASSERT_EQUAL(ps_worker_stats_get(w)->streams_dissected[http], 1);
#undef PKT
    ps_worker_free(w, ts);
}

static void test_stats(void)
{
    static ps_config cfg;
    static char buf[16384];
    ps_config_default(&cfg);
    snprintf(cfg.sensor_name, sizeof(cfg.sensor_name), "unit");
    snprintf(cfg.hmac_key, sizeof(cfg.hmac_key), "unit-test-fingerprint-key");
    ps_output *out = ps_output_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    char path[256];
    snprintf(path, sizeof(path), "%s/stats-det.jsonl", tmpdir);
    CU_ASSERT_EQUAL(ps_output_add(out, path, err, sizeof(err)), PS_OK);
    ps_correlator *c = ps_correlator_new(&cfg, out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    ps_worker *w = ps_worker_new(&cfg, ps_correlator_sink(c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    ps_capture *cap = ps_capture_open_file("pcaps/demo.pcap", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cap);
    while (ps_capture_dispatch(cap, 64, feed, w, err, sizeof(err)) > 0)
        ;
    ps_capture_close(cap);

    ps_live_iface_stats ifs[2] = {
        {.name = "eth1", .up = true, .packets = 10, .kernel = {12, 2, 1}, .over_mtu = 3},
        {.name = "eth2", .up = false, .failures = 1, .kernel = {5, 4, 0}},
    };
    ps_stats_source src = {.cfg = &cfg,
                           .w = w,
                           .c = c,
                           .o = out,
                           .ifaces = ifs,
                           .nifaces = 2,
                           .now = 1700000000000000ull,
                           .uptime_s = 42,
                           .rss_bytes = ps_stats_rss_bytes()};
    int len = ps_stats_format(&src, buf, sizeof(buf));
    CU_ASSERT_FATAL(len > 0);
    CU_ASSERT_EQUAL((size_t)len, strlen(buf));
    CU_ASSERT_TRUE(jc_valid(buf, (size_t)len));
    CU_ASSERT_EQUAL(strncmp(buf,
                            "{\"event_type\":\"stats\",\"timestamp\":\"2023-11-14T22:13:20."
                            "000000Z\",\"sensor\":\"unit\",\"uptime_s\":42,\"packets\":214,",
                            108),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"kernel_drops\":7,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"name\":\"eth2\",\"up\":false"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"over_mtu\":3"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(buf, "\"decode\":{\"ipv4_len_zero_frame\":0,\"ipv6_len_zero_frame\":0}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"docker.version\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"aggregates_evicted\":0,\"format_errors\":0,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"flows\":{\"active\":"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"memory\":{\"in_use_bytes\":"));
    CU_ASSERT_PTR_NULL(strstr(buf, "\"redis\"")); /* no Redis sink */
    CU_ASSERT(ps_stats_rss_bytes() > 0);
    /* Every smaller buffer is refused whole; len + 1 (the NUL) is enough. */
    for (int cap_len = 0; cap_len <= len; cap_len++)
        CU_ASSERT_EQUAL(ps_stats_format(&src, buf, (size_t)cap_len), PS_ERR_CAP);
    CU_ASSERT_EQUAL(ps_stats_format(&src, buf, (size_t)len + 1), len);
    /* Replay: no interfaces. */
    src.nifaces = 0;
    len = ps_stats_format(&src, buf, sizeof(buf));
    CU_ASSERT(len > 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"interfaces\":[],\"kernel_drops\":0,"));

    ps_worker_free(w, 0);
    ps_correlator_free(c, 0);
    CU_ASSERT_EQUAL(ps_output_close(out, 0), PS_OK);
}

/* ---- output reopen ----------------------------------------------------------------------- */

static long file_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    long n = 0;
    int ch;
    if (!f)
        return -1;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static void test_output_reopen(void)
{
    char a[256], b[256], rotated[256], bad[256];
    snprintf(a, sizeof(a), "%s/a.jsonl", tmpdir);
    snprintf(b, sizeof(b), "%s/b.jsonl", tmpdir);
    snprintf(rotated, sizeof(rotated), "%s/a.jsonl.1", tmpdir);
    snprintf(bad, sizeof(bad), "%s/missing/dir.jsonl", tmpdir);
    ps_output *o = ps_output_new();
    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    CU_ASSERT_EQUAL(ps_output_add(o, a, err, sizeof(err)), PS_OK);
    ps_output_write(o, "{\"n\":1}", 7);
    CU_ASSERT_EQUAL(ps_output_flush(o), PS_OK);
    CU_ASSERT_EQUAL(rename(a, rotated), 0);
    const char *same[] = {a};
    CU_ASSERT_EQUAL(ps_output_reopen(o, same, 1, NULL, err, sizeof(err)), PS_OK);
    ps_output_write(o, "{\"n\":2}", 7);
    CU_ASSERT_EQUAL(ps_output_flush(o), PS_OK);
    CU_ASSERT_EQUAL(file_lines(rotated), 1);
    CU_ASSERT_EQUAL(file_lines(a), 1);
    /* A failure changes nothing: records keep going to the running outputs. */
    const char *with_bad[] = {b, bad};
    CU_ASSERT_EQUAL(ps_output_reopen(o, with_bad, 2, NULL, err, sizeof(err)), PS_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open output"));
    const char *redis[] = {a, "redis://127.0.0.1:6379"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, redis, 2, NULL, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "restart"));
    ps_output_write(o, "{\"n\":3}", 7);
    CU_ASSERT_EQUAL(ps_output_flush(o), PS_OK);
    CU_ASSERT_EQUAL(file_lines(a), 2);
    CU_ASSERT_EQUAL(file_lines(b), 0); /* opened, then closed again: created but empty */
    /* A changed list: a new file, the old one closed. */
    const char *two[] = {b};
    CU_ASSERT_EQUAL(ps_output_reopen(o, two, 1, NULL, err, sizeof(err)), PS_OK);
    CU_ASSERT_EQUAL(ps_output_count(o), 1);
    ps_output_write(o, "{\"n\":4}", 7);
    CU_ASSERT_EQUAL(ps_output_close(o, 0), PS_OK);
    CU_ASSERT_EQUAL(file_lines(a), 2);
    CU_ASSERT_EQUAL(file_lines(b), 1);
    /* At the cap: 8 sinks fit, 9 do not. */
    o = ps_output_new();
    const char *many[9];
    char paths[9][256];
    for (int i = 0; i < 9; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/m%d.jsonl", tmpdir, i);
        many[i] = paths[i];
    }
    CU_ASSERT_EQUAL(ps_output_reopen(o, many, 8, NULL, err, sizeof(err)), PS_OK);
    CU_ASSERT_EQUAL(ps_output_count(o), 8);
    CU_ASSERT_EQUAL(ps_output_reopen(o, many, 9, NULL, err, sizeof(err)), PS_ERR_CAP);
    CU_ASSERT_EQUAL(ps_output_count(o), 8);
    CU_ASSERT_EQUAL(ps_output_close(o, 0), PS_OK);
}

/* ---- sd_notify --------------------------------------------------------------------------- */

static void test_notify(void)
{
    char path[108];
    snprintf(path, sizeof(path), "%s/notify", tmpdir);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    CU_ASSERT_FATAL(s >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    CU_ASSERT_EQUAL_FATAL(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
    setenv("NOTIFY_SOCKET", path, 1);
    setenv("WATCHDOG_USEC", "30000000", 1);
    unsetenv("WATCHDOG_PID");
    ps_notify_init();
    CU_ASSERT_EQUAL(ps_notify_watchdog_interval_us(), 15000000u);
    ps_notify("READY=1");
    ps_notify("WATCHDOG=1");
    char buf[64];
    ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_EQUAL(memcmp(buf, "READY=1", 7), 0);
    n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
    CU_ASSERT_EQUAL(n, 10);
    close(s);
    /* The watchdog belongs to another process: none for us. */
    setenv("WATCHDOG_PID", "1", 1);
    ps_notify_init();
    CU_ASSERT_EQUAL(ps_notify_watchdog_interval_us(), getpid() == 1 ? 15000000u : 0u);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

/* ---- logging ----------------------------------------------------------------------------- */

static void test_log(void)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/log.txt", tmpdir);
    fflush(stderr);
    int saved = dup(2);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CU_ASSERT_FATAL(saved >= 0 && fd >= 0);
    dup2(fd, 2);
    ps_log_init(false);
    CU_ASSERT_FALSE(ps_log_syslog());
    ps_log(LOG_ERR, "one %d\n", 1);
    ps_log(LOG_INFO, "two");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(fd);
    FILE *f = fopen(path, "r");
    char text[128] = "";
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    CU_ASSERT_STRING_EQUAL(text, "portside: one 1\nportside: two\n");
}

/* ---- privileges -------------------------------------------------------------------------- */

/* Runs the drop in a child (it cannot be undone) and returns its exit status. */
static int drop_in_child(const char *user, bool keep, uint64_t want_caps)
{
    pid_t pid = fork();
    if (pid == 0) {
        char e[256];
        if (ps_privileges_drop(user, keep, e, sizeof(e)) != PS_OK)
            _exit(2);
        if (getuid() != 65534 || geteuid() != 65534 || getgid() != 65534)
            _exit(3);
        if (ps_privileges_effective() != want_caps)
            _exit(4);
        if (setuid(0) == 0)
            _exit(5);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100;
}

static void test_privileges(void)
{
    char e[256];
    CU_ASSERT_EQUAL(ps_privileges_drop("ps-no-such-user", true, e, sizeof(e)), PS_ERR_NOT_FOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "runtime.user 'ps-no-such-user'"));
    if (geteuid() != 0) {
        fprintf(stderr, "(privilege drop tests need root; skipped)\n");
        return;
    }
    uint64_t before = ps_privileges_effective();
    CU_ASSERT_EQUAL(ps_privileges_drop("", true, e, sizeof(e)), PS_OK); /* root, no user: stay */
    CU_ASSERT_EQUAL(ps_privileges_effective(), before);
    CU_ASSERT_EQUAL(drop_in_child("nobody", true, 1ull << 13), 0); /* CAP_NET_RAW */
    CU_ASSERT_EQUAL(drop_in_child("nobody", false, 0), 0);
}

/* ---- scan limits ------------------------------------------------------------------------- */

static void test_scan_limits(void)
{
    ps_scan_config sc;
    ps_scan_config_default(&sc);
    sc.memcap = 64u << 20;
    ps_scan *s = ps_scan_new(&sc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t mem = ps_scan_memory(s);
    ps_scan_config next = sc;
    next.horizontal_hosts = 3;
    next.window_s = 60;
    next.max_sources = 1; /* a table size: ignored */
    CU_ASSERT_EQUAL(ps_scan_set_limits(s, &next), PS_OK);
    CU_ASSERT_EQUAL(ps_scan_memory(s), mem);
    next.horizontal_hosts = 0;
    CU_ASSERT_EQUAL(ps_scan_set_limits(s, &next), PS_ERR_CONFIG);
    ps_scan_free(s);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("runtime", NULL, NULL);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "capture keys", test_capture_keys);
    CU_add_test(s, "runtime keys", test_runtime_keys);
    CU_add_test(s, "reload", test_reload);
    CU_add_test(s, "dispatch", test_dispatch);
    CU_add_test(s, "live errors", test_live_errors);
    CU_add_test(s, "worker ring keeps order", test_worker_ring);
    CU_add_test(s, "frames held in place give the same calls", test_worker_stable);
    CU_add_test(s, "server speaks first", test_server_first);
    CU_add_test(s, "stats record", test_stats);
    CU_add_test(s, "output reopen", test_output_reopen);
    CU_add_test(s, "sd_notify", test_notify);
    CU_add_test(s, "log", test_log);
    CU_add_test(s, "privileges", test_privileges);
    CU_add_test(s, "scan limits", test_scan_limits);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode cerr = CU_get_error();
    CU_cleanup_registry();
    char cmd[64];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmpdir);
    return fails != 0 || cerr != CUE_SUCCESS;
}
