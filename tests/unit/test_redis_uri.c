/* test_redis_uri.c - Redis URI parser, [redis] settings, and the sink's offline (spool) path. */
#include <CUnit/Basic.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "output.h"
#include "redis_out.h"
#include "spool.h"

static void ok_uri(const char *uri, bool tls, const char *user, const char *host, uint16_t port,
                   uint32_t db)
{
    ps_redis_uri u;
    char err[512] = "";
    int rc = ps_redis_uri_parse(uri, &u, err, sizeof(err));
    CU_ASSERT_EQUAL(rc, PS_OK);
    if (rc != PS_OK) {
        fprintf(stderr, "\n%s: %s\n", uri, err);
        return;
    }
    CU_ASSERT_EQUAL(u.tls, tls);
    CU_ASSERT_STRING_EQUAL(u.user, user);
    CU_ASSERT_STRING_EQUAL(u.host, host);
    CU_ASSERT_EQUAL(u.port, port);
    CU_ASSERT_EQUAL(u.db, db);
}

static void bad_uri(const char *uri, const char *want)
{
    ps_redis_uri u;
    char err[512] = "";
    CU_ASSERT_EQUAL(ps_redis_uri_parse(uri, &u, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, want);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "\n got: %s\nwant: %s\n", err, want);
}

static void test_good(void)
{
    ok_uri("redis://127.0.0.1", false, "", "127.0.0.1", 6379, 0);
    ok_uri("redis://127.0.0.1:6380", false, "", "127.0.0.1", 6380, 0);
    ok_uri("redis://alice@redis.example.com:6380/3", false, "alice", "redis.example.com", 6380, 3);
    ok_uri("rediss://[::1]:6390/0", true, "", "::1", 6390, 0);
    ok_uri("rediss://bob@[2001:db8::7]", true, "bob", "2001:db8::7", 6379, 0);
    ok_uri("REDIS://Host-1_a.example", false, "", "Host-1_a.example", 6379, 0);
    ok_uri("redis://h/", false, "", "h", 6379, 0);
    ok_uri("redis://us%40er@h", false, "us@er", "h", 6379, 0);
    ok_uri("redis://a.b-c_d~e!@h", false, "a.b-c_d~e!", "h", 6379, 0);
    /* Limits at N and N+1 are in test_bad. */
    ok_uri("redis://h:1", false, "", "h", 1, 0);
    ok_uri("redis://h:65535", false, "", "h", 65535, 0);
    ok_uri("redis://h/2147483647", false, "", "h", 6379, 2147483647u);
}

static void test_bad(void)
{
    bad_uri("redis://x:99999", "bad Redis URI 'redis://x:99999': port out of range");
    bad_uri("redis://x:65536", "bad Redis URI 'redis://x:65536': port out of range");
    bad_uri("redis://x:0", "bad Redis URI 'redis://x:0': port out of range");
    bad_uri("redis://x:123456789012", "bad Redis URI 'redis://x:123456789012': port out of range");
    bad_uri("redis://x:", "bad Redis URI 'redis://x:': missing port after ':'");
    bad_uri("redis://x:/1", "bad Redis URI 'redis://x:/1': missing port after ':'");
    bad_uri("redis://x:ab", "bad Redis URI 'redis://x:ab': bad port 'ab'");
    bad_uri("redis://x:-1", "bad Redis URI 'redis://x:-1': bad port '-1'");
    bad_uri("redis://x:1:2", "bad Redis URI 'redis://x:1:2': bad port '1:2'");
    bad_uri("http://x", "bad Redis URI 'http://x': unsupported scheme 'http' (use redis:// or "
                        "rediss://)");
    bad_uri("x:6379", "bad Redis URI 'x:6379': must start with redis:// or rediss://");
    bad_uri("redis:/x", "bad Redis URI 'redis:/x': must start with redis:// or rediss://");
    bad_uri("", "bad Redis URI '': must start with redis:// or rediss://");
    bad_uri("redis://", "bad Redis URI 'redis://': missing host");
    bad_uri("redis://:6379", "bad Redis URI 'redis://:6379': missing host");
    bad_uri("redis://u@", "bad Redis URI 'redis://u@': missing host");
    bad_uri("redis://u:secret@h",
            "bad Redis URI 'redis://u:***@h': a password does not belong in the URI (set "
            "redis.password or the environment variable named by redis.password_env)");
    bad_uri("redis://:secret@h:1",
            "bad Redis URI 'redis://:***@h:1': a password does not belong in the URI (set "
            "redis.password or the environment variable named by redis.password_env)");
    bad_uri("redis://@h", "bad Redis URI 'redis://@h': empty user name before '@'");
    bad_uri("redis://a/b@h", "bad Redis URI 'redis://a/b@h': bad database number 'b@h'");
    bad_uri("redis://a%4@h", "bad Redis URI 'redis://a%4@h': bad %-escape in user name");
    bad_uri("redis://a%0a@h", "bad Redis URI 'redis://a%0a@h': control character in user name");
    bad_uri("redis://a\"b@h", "bad Redis URI 'redis://a\"b@h': bad character '\"' in user name");
    bad_uri("redis://[::1", "bad Redis URI 'redis://[::1': missing ']' after IPv6 address");
    bad_uri("redis://[]:1", "bad Redis URI 'redis://[]:1': bad IPv6 address");
    bad_uri("redis://[::g]:1", "bad Redis URI 'redis://[::g]:1': bad IPv6 address '::g'");
    bad_uri("redis://[1.2.3.4]", "bad Redis URI 'redis://[1.2.3.4]': bad IPv6 address '1.2.3.4'");
    bad_uri("redis://[fe80::1%25eth0]",
            "bad Redis URI 'redis://[fe80::1%25eth0]': bad IPv6 address 'fe80::1%25eth0'");
    bad_uri("redis://[::1]x", "bad Redis URI 'redis://[::1]x': unexpected 'x' after IPv6 address");
    bad_uri("redis://h!", "bad Redis URI 'redis://h!': bad character '!' in host");
    bad_uri("redis://h/abc", "bad Redis URI 'redis://h/abc': bad database number 'abc'");
    bad_uri("redis://h/1/2", "bad Redis URI 'redis://h/1/2': bad database number '1/2'");
    bad_uri("redis://h/2147483648", "bad Redis URI 'redis://h/2147483648': database number out of "
                                    "range");
    bad_uri("redis://h?db=1",
            "bad Redis URI 'redis://h?db=1': query strings and fragments are not supported");
    bad_uri("redis://h#x",
            "bad Redis URI 'redis://h#x': query strings and fragments are not supported");
    bad_uri("redis://h o", "bad Redis URI 'redis://h o': control, space or non-ASCII character");
    bad_uri("redis://h\x80", "bad Redis URI 'redis://h\x80': control, space or non-ASCII "
                             "character");
}

/* Every prefix of valid URIs: accepted or refused with a message, never a crash. */
static void test_prefixes(void)
{
    static const char *const uris[] = {"rediss://alice@[2001:db8::7]:6380/12",
                                       "redis://us%40er@redis.example.com:1/0"};
    char buf[128], err[512];
    ps_redis_uri u;

    for (size_t k = 0; k < PS_ARRAY_LEN(uris); k++) {
        size_t n = strlen(uris[k]);
        for (size_t i = 0; i <= n; i++) {
            memcpy(buf, uris[k], i);
            buf[i] = '\0';
            err[0] = '\0';
            int rc = ps_redis_uri_parse(buf, &u, err, sizeof(err));
            if (rc != PS_OK) {
                CU_ASSERT_EQUAL(rc, PS_ERR_CONFIG);
                CU_ASSERT(strncmp(err, "bad Redis URI '", 15) == 0);
            }
        }
        CU_ASSERT_EQUAL(ps_redis_uri_parse(uris[k], &u, err, sizeof(err)), PS_OK);
    }
    /* A small err buffer is cut, NUL-terminated. */
    char small[8];
    CU_ASSERT_EQUAL(ps_redis_uri_parse("redis://x:0", &u, small, sizeof(small)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(small, "bad Red");
}

static void test_config(void)
{
    ps_config cfg;
    char err[2048];

    ps_config_default(&cfg);
    CU_ASSERT_STRING_EQUAL(cfg.redis.channel, "portside:alerts");
    CU_ASSERT_STRING_EQUAL(cfg.redis.stream, "portside:detections");
    CU_ASSERT_STRING_EQUAL(cfg.redis.stats_stream, "portside:stats");
    CU_ASSERT_EQUAL(cfg.redis.stream_maxlen, 100000);
    CU_ASSERT(cfg.redis.publish && cfg.redis.xadd && cfg.redis.verify_hostname);
    CU_ASSERT_STRING_EQUAL(cfg.redis.password_env, "PORTSIDE_REDIS_PASSWORD");
    CU_ASSERT_EQUAL(cfg.redis.connect_timeout_ms, 2000);
    CU_ASSERT_EQUAL(cfg.redis.command_timeout_ms, 2000);
    CU_ASSERT_EQUAL(cfg.redis.queue_size, 4096);
    CU_ASSERT_STRING_EQUAL(cfg.redis.spool_dir, "/var/lib/portside/spool");
    CU_ASSERT_EQUAL(cfg.redis.spool_max_bytes, 256ull << 20);
    CU_ASSERT_EQUAL(cfg.redis.fsync, PS_FSYNC_INTERVAL);
    CU_ASSERT_EQUAL(cfg.redis.fsync_interval_ms, 1000);
    CU_ASSERT_EQUAL(cfg.redis.flush_timeout_s, 10);

    const char *good = "redis = {\n channel = \"c\"; stream = \"s\"; stream_maxlen = 0;\n"
                       " publish = false; xadd = true; password = \"pw\"; password_env = \"\";\n"
                       " ca_file = \"/ca.pem\"; verify_hostname = false; queue_size = 16;\n"
                       " spool_dir = \"\"; spool_max_mb = 1; fsync = \"always\";\n"
                       " fsync_interval_ms = 1; flush_timeout_s = 0;\n"
                       " connect_timeout_ms = 10; command_timeout_ms = 600000;\n};\n";
    CU_ASSERT_EQUAL(ps_config_load_buffer(&cfg, "t.conf", good, err, sizeof(err)), PS_OK);
    CU_ASSERT_STRING_EQUAL(cfg.redis.channel, "c");
    CU_ASSERT_EQUAL(cfg.redis.stream_maxlen, 0);
    CU_ASSERT(!cfg.redis.publish && cfg.redis.xadd && !cfg.redis.verify_hostname);
    CU_ASSERT_STRING_EQUAL(cfg.redis.password, "pw");
    CU_ASSERT_STRING_EQUAL(cfg.redis.spool_dir, "");
    CU_ASSERT_EQUAL(cfg.redis.spool_max_bytes, 1u << 20);
    CU_ASSERT_EQUAL(cfg.redis.fsync, PS_FSYNC_ALWAYS);
    CU_ASSERT_EQUAL(cfg.redis.queue_size, 16);

    const char *bad =
        "redis = {\n fsync = \"sometimes\";\n queue_size = 15;\n"
        " publish = 1;\n channel = \"\";\n flush_timeout_s = 3601;\n bogus = 1;\n};\n";
    CU_ASSERT_EQUAL(ps_config_load_buffer(&cfg, "b.conf", bad, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "b.conf:2: 'redis.fsync' must be one of \"always\", \"interval\", "
                          "\"never\"") != NULL);
    CU_ASSERT(strstr(err, "b.conf:3: 'redis.queue_size' must be an integer between 16 and "
                          "262144") != NULL);
    CU_ASSERT(strstr(err, "b.conf:4: 'redis.publish' must be true or false") != NULL);
    CU_ASSERT(strstr(err, "b.conf:5: 'redis.channel'") != NULL);
    CU_ASSERT(strstr(err, "b.conf:6: 'redis.flush_timeout_s'") != NULL);
    CU_ASSERT(strstr(err, "b.conf:7: unknown key 'redis.bogus'") != NULL);
}

static void test_output_add_errors(void)
{
    char err[512];
    ps_output *o = ps_output_new();
    CU_ASSERT_FATAL(o != NULL);
    CU_ASSERT_EQUAL(ps_output_add(o, "redis://x:99999", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "bad Redis URI 'redis://x:99999': port out of range");
    CU_ASSERT_EQUAL(ps_output_add(o, "http://example.com/x", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(
        err, "unsupported output 'http://': use -, a file path, redis:// or rediss://");
    ps_redis_config rc;
    ps_redis_config_default(&rc);
    rc.publish = rc.xadd = false;
    ps_output_set_redis_config(o, &rc);
    CU_ASSERT_EQUAL(ps_output_add(o, "redis://127.0.0.1", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "redis.publish and redis.xadd are both false: nothing to send");
    ps_redis_config_default(&rc);
    strcpy(rc.spool_dir, "/proc/no-such/spool");
    ps_output_set_redis_config(o, &rc);
    CU_ASSERT_EQUAL(ps_output_add(o, "redis://127.0.0.1", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "cannot create spool directory /proc/no-such/spool") != NULL);
    ps_redis_config_default(&rc);
    strcpy(rc.ca_file, "/nonexistent/ca.pem");
    rc.spool_dir[0] = '\0';
    ps_output_set_redis_config(o, &rc);
    CU_ASSERT_EQUAL(ps_output_add(o, "rediss://127.0.0.1", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "cannot load CA file") != NULL && strstr(err, "/nonexistent/ca.pem"));
    CU_ASSERT_EQUAL(ps_output_count(o), 0);
    ps_output_free(o);
}

/* Redis unreachable: every record ends up in the spool, in order, and the
 * capture side never blocks. */
static void test_offline_spool(void)
{
    char dir[] = "/tmp/test_redis_uri.XXXXXX";
    char err[512];
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);

    ps_redis_config rc;
    ps_redis_config_default(&rc);
    snprintf(rc.spool_dir, sizeof(rc.spool_dir), "%s/spool", dir);
    rc.connect_timeout_ms = 100;
    ps_output *o = ps_output_new();
    CU_ASSERT_FATAL(o != NULL);
    ps_output_set_redis_config(o, &rc);
    /* Port 1 on loopback: connection refused. */
    CU_ASSERT_EQUAL_FATAL(ps_output_add(o, "redis://127.0.0.1:1", err, sizeof(err)), PS_OK);
    /* A second instance on the same spool is refused. */
    ps_output *o2 = ps_output_new();
    ps_output_set_redis_config(o2, &rc);
    CU_ASSERT_EQUAL(ps_output_add(o2, "redis://127.0.0.1:1", err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "in use by another portside process") != NULL);
    ps_output_free(o2);

    char line[128];
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof(line), "{\"id\":\"%04d\"}", i);
        ps_output_write(o, line, (size_t)n);
    }
    ps_output_publish_stats(o, "{\"x\":1}", 7);
    usleep(300000);
    ps_redis_stats st;
    CU_ASSERT(ps_output_redis_stats(o, &st));
    CU_ASSERT_EQUAL(st.queued, 50);
    CU_ASSERT_EQUAL(st.delivered, 0);
    CU_ASSERT_EQUAL(st.spooled, 50);
    CU_ASSERT_EQUAL(st.dropped, 0);
    CU_ASSERT_FALSE(st.connected);
    CU_ASSERT_EQUAL(ps_output_close(o, 200), PS_OK);

    /* The spool holds the 50 records in order for the next start. */
    ps_spool_config sc = {.dir = rc.spool_dir, .max_bytes = 1 << 20, .fsync = PS_FSYNC_NEVER};
    ps_spool *s = ps_spool_open(&sc, err, sizeof(err));
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT_EQUAL(ps_spool_pending(s), 50);
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    for (int i = 0; i < 50; i++) {
        int n = snprintf(line, sizeof(line), "{\"id\":\"%04d\"}", i);
        CU_ASSERT_FATAL(ps_spool_read(s, &d, &len, &ep) == PS_OK);
        CU_ASSERT(len == (size_t)n && memcmp(d, line, len) == 0);
        ps_spool_commit(s, ep);
    }
    ps_spool_close(s);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CU_ASSERT(system(cmd) == 0);
}

/* A queue of N records takes N while the publisher is away; N+1 is dropped. */
static void test_queue_full(void)
{
    char err[512];
    ps_redis_config rc;
    ps_redis_config_default(&rc);
    rc.spool_dir[0] = '\0'; /* no spool: records wait in the queue */
    rc.queue_size = 16;
    ps_redis_sink *s = ps_redis_sink_new("redis://127.0.0.1:1", &rc, err, sizeof(err));
    CU_ASSERT_FATAL(s != NULL);
    for (int i = 0; i < 17; i++)
        ps_redis_sink_write(s, "{}", 2);
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.queued, 16);
    CU_ASSERT_EQUAL(st.dropped_queue_full, 1);
    CU_ASSERT_EQUAL(st.queue_depth, 16);
    CU_ASSERT_EQUAL(ps_redis_sink_close(s, 100), 16);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The start-up set exchange gives up at the first failed connection, long
 * before its timeout, and says why; shared-state writes never block. */
static void test_sync_unreachable(void)
{
    char err[512] = "";
    ps_redis_config rc;
    ps_redis_config_default(&rc);
    rc.spool_dir[0] = '\0';
    rc.connect_timeout_ms = 100;
    ps_redis_sink *s = ps_redis_sink_new("redis://127.0.0.1:1", &rc, err, sizeof(err));
    CU_ASSERT_FATAL(s != NULL);
    ps_redis_set_sync req = {.key = "k",
                             .add = "a b 1\n",
                             .add_len = 6,
                             .mark_key = "k:learned",
                             .max_members = 10,
                             .timeout_ms = 5000};
    ps_redis_set_result res;
    uint64_t t0 = now_ms();
    CU_ASSERT_EQUAL(ps_redis_sink_sync_set(s, &req, &res, err, sizeof(err)), PS_ERR_IO);
    CU_ASSERT(now_ms() - t0 < 2000);
    CU_ASSERT(strstr(err, "cannot connect") != NULL);
    CU_ASSERT_PTR_NULL(res.members);
    CU_ASSERT_EQUAL(res.count, 0);
    /* A timeout shorter than a connection attempt ends the wait too. */
    rc.connect_timeout_ms = 2000;
    ps_redis_sink *s2 = ps_redis_sink_new("redis://192.0.2.1:6379", &rc, err, sizeof(err));
    CU_ASSERT_FATAL(s2 != NULL);
    req.timeout_ms = 150;
    t0 = now_ms();
    int rc2 = ps_redis_sink_sync_set(s2, &req, &res, err, sizeof(err));
    CU_ASSERT_EQUAL(rc2, PS_ERR_IO);
    CU_ASSERT(now_ms() - t0 < 1500);
    ps_redis_sink_close(s2, 0);
    for (int i = 0; i < 20; i++)
        ps_redis_sink_state_write(s, "k", "c s 1", 5, false);
    char big[PS_REDIS_NAME_MAX + 1];
    memset(big, 'x', sizeof(big));
    ps_redis_sink_state_write(s, "k", big, sizeof(big), true); /* too long: dropped */
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.state_dropped, 1);
    CU_ASSERT_EQUAL(st.queue_depth, 20); /* no spool: they wait in the queue */
    /* Left undelivered at the end: counted as state, not as detections. */
    CU_ASSERT_EQUAL(ps_redis_sink_stop(s, 0), 0);
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.state_dropped, 21);
    CU_ASSERT_EQUAL(st.state_sent, 0);
    CU_ASSERT_EQUAL(st.dropped, 0);
    CU_ASSERT_EQUAL(st.queued, 0);
    ps_redis_sink_close(s, 0);
    /* Without a Redis sink the output says so. */
    ps_output *o = ps_output_new();
    CU_ASSERT_FALSE(ps_output_has_redis(o));
    CU_ASSERT_EQUAL(ps_output_sync_set(o, &req, &res, err, sizeof(err)), PS_ERR_STATE);
    ps_output_state_write(o, "k", "v", 1, false); /* no-op */
    ps_output_free(o);
}

/* SIGHUP: new settings are checked before anything changes; unchanged ones
 * make no update; the output keeps one Redis sink. */
static void test_reconfigure(void)
{
    char err[512] = "";
    ps_redis_config rc;
    ps_redis_config_default(&rc);
    rc.spool_dir[0] = '\0';
    rc.connect_timeout_ms = 100;
    ps_output *o = ps_output_new();
    CU_ASSERT_FATAL(o != NULL);
    ps_output_set_redis_config(o, &rc);
    CU_ASSERT_EQUAL_FATAL(ps_output_add(o, "redis://127.0.0.1:1", err, sizeof(err)), PS_OK);
    const char *same[] = {"redis://127.0.0.1:1"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, same, 1, NULL, err, sizeof(err)), PS_OK);
    CU_ASSERT_EQUAL(ps_output_reopen(o, same, 1, &rc, err, sizeof(err)), PS_OK);
    ps_redis_stats st;
    usleep(100000);
    ps_output_redis_stats(o, &st);
    CU_ASSERT_EQUAL(st.reconfigures, 0); /* nothing changed: nothing handed over */

    ps_redis_config next = rc;
    strcpy(next.stream, "other");
    next.queue_size = 64; /* needs a restart: ignored here */
    CU_ASSERT_EQUAL(ps_output_reopen(o, same, 1, &next, err, sizeof(err)), PS_OK);
    const char *moved[] = {"redis://127.0.0.1:2/3"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, moved, 1, &next, err, sizeof(err)), PS_OK);
    for (int i = 0; i < 40 && st.reconfigures < 2; i++) {
        usleep(50000);
        ps_output_redis_stats(o, &st);
    }
    CU_ASSERT(st.reconfigures >= 1); /* the second may replace the first before it is taken */

    /* Refused: a bad URI, settings that send nothing, a missing CA file, a
     * second Redis output, no Redis output, a Redis output on an output
     * that has none. */
    const char *bad[] = {"redis://127.0.0.1:99999"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, bad, 1, &next, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "port out of range") != NULL);
    ps_redis_config none = next;
    none.publish = none.xadd = false;
    CU_ASSERT_EQUAL(ps_output_reopen(o, moved, 1, &none, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "redis.publish and redis.xadd are both false: nothing to send");
    ps_redis_config noca = next;
    strcpy(noca.ca_file, "/nonexistent/ca.pem");
    const char *tls[] = {"rediss://127.0.0.1:2"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, tls, 1, &noca, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "cannot load CA file") != NULL);
    const char *two[] = {"redis://127.0.0.1:2/3", "redis://127.0.0.1:4"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, two, 2, &next, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT_STRING_EQUAL(err, "only one Redis output is supported");
    const char *gone[] = {"-"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, gone, 1, &next, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "cannot be removed while running: restart") != NULL);
    CU_ASSERT_EQUAL(ps_output_count(o), 1);
    ps_output_free(o);

    o = ps_output_new();
    CU_ASSERT_EQUAL(ps_output_add(o, "-", err, sizeof(err)), PS_OK);
    const char *added[] = {"-", "redis://127.0.0.1:1"};
    CU_ASSERT_EQUAL(ps_output_reopen(o, added, 2, &rc, err, sizeof(err)), PS_ERR_CONFIG);
    CU_ASSERT(strstr(err, "a Redis output cannot be added while running") != NULL &&
              strstr(err, "restart") != NULL);
    ps_output_free(o);

    /* The sink itself: prepare reports "no change" as no update. */
    ps_redis_sink *s = ps_redis_sink_new("redis://127.0.0.1:1", &rc, err, sizeof(err));
    CU_ASSERT_FATAL(s != NULL);
    ps_redis_update *u = (ps_redis_update *)1;
    CU_ASSERT_EQUAL(ps_redis_sink_prepare(s, "redis://127.0.0.1:1", &rc, &u, err, sizeof(err)),
                    PS_OK);
    CU_ASSERT_PTR_NULL(u);
    CU_ASSERT_EQUAL(ps_redis_sink_prepare(s, "redis://127.0.0.1:1", &next, &u, err, sizeof(err)),
                    PS_OK);
    CU_ASSERT_PTR_NOT_NULL(u);
    ps_redis_sink_commit(s, u);
    CU_ASSERT_EQUAL(ps_redis_sink_prepare(s, "redis://127.0.0.1:1", &next, &u, err, sizeof(err)),
                    PS_OK);
    CU_ASSERT_PTR_NULL(u); /* the committed settings are the running ones now */
    ps_redis_sink_close(s, 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite su = CU_add_suite("redis_uri", NULL, NULL);
    CU_add_test(su, "good URIs", test_good);
    CU_add_test(su, "bad URIs", test_bad);
    CU_add_test(su, "prefixes", test_prefixes);
    CU_add_test(su, "config", test_config);
    CU_add_test(su, "output add errors", test_output_add_errors);
    CU_add_test(su, "offline spool", test_offline_spool);
    CU_add_test(su, "queue full", test_queue_full);
    CU_add_test(su, "sync unreachable", test_sync_unreachable);
    CU_add_test(su, "reconfigure", test_reconfigure);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    return fails != 0 || err != 0;
}
