/* output-redis.c - Redis sink: lock-free queue, publisher thread, pipelining, spool, TLS. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "redis_out.h"
#include "tls.h"

/* Design (see docs/redis.md). The capture thread only copies a record into
 * a single-producer/single-consumer byte ring and, if the publisher sleeps,
 * pokes an eventfd: no lock, no disk, no network. The publisher thread owns
 * everything else. Connected, it pipelines PUBLISH + XADD per record and
 * keeps a record in the ring until Redis has answered both (so a cut
 * connection resends it: at least once). Disconnected, or when the ring
 * fills because Redis is slow, it moves the ring's records to the spool
 * (giving back each record's room at once), which then feeds the
 * connection in order before the ring does. A
 * record is lost only when the ring is full (the spool could not keep up)
 * or the spool drops its oldest segment at its cap; both are counted. */

#define RING_ALIGN       8u
#define RING_WRAP        0xFFFFFFFFu
#define REC_FLAG_STATS   1u
#define REC_FLAG_SADD    2u   /* shared state: "key\0member" */
#define REC_FLAG_SETNX   4u   /* shared state: "key\0value" */
#define SYNC_BATCH       256u /* members per SADD at start-up */
#define SYNC_SCAN_COUNT  "1000"
#define MAX_INFLIGHT     512u /* records written and not yet answered */
#define OBUF_HIGH        (1u << 20)
#define BACKOFF_MIN_MS   100u
#define BACKOFF_MAX_MS   5000u
#define TICK_MS          200u
#define STATS_MAXLEN     "10000"
#define DEFAULT_PASS_ENV "PORTSIDE_REDIS_PASSWORD"

/* ---- URI ---------------------------------------------------------------- */

/* Copies uri into out with any password after "user:" masked. */
static void redact(const char *uri, char *out, size_t outlen)
{
    const char *s = strstr(uri, "://");
    const char *at, *colon;
    size_t end;

    snprintf(out, outlen, "%s", uri);
    if (!s)
        return;
    s += 3;
    end = strcspn(s, "/?#");
    at = memrchr(s, '@', end);
    colon = at ? memchr(s, ':', (size_t)(at - s)) : NULL;
    if (colon)
        snprintf(out, outlen, "%.*s:***%s", (int)(colon - uri), uri, at);
}

__attribute__((format(printf, 4, 5))) static int uri_err(const char *uri, char *err, size_t errlen,
                                                         const char *fmt, ...)
{
    char shown[512], why[256];
    va_list ap;

    redact(uri, shown, sizeof(shown));
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "bad Redis URI '%s': %s", shown, why);
    return PS_ERR_CONFIG;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool is_unreserved(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* Parses a decimal in [lo, hi] from s[0..n); false on anything else. */
static bool parse_dec(const char *s, size_t n, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return v <= hi;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return n > 0;
}

int ps_redis_uri_parse(const char *uri, ps_redis_uri *out, char *err, size_t errlen)
{
    const char *p, *auth_end, *at, *host, *host_end, *port = NULL;
    size_t n;

    memset(out, 0, sizeof(*out));
    out->port = 6379;
    if (strncasecmp(uri, "redis://", 8) == 0) {
        p = uri + 8;
    } else if (strncasecmp(uri, "rediss://", 9) == 0) {
        out->tls = true;
        p = uri + 9;
    } else {
        const char *sep = strstr(uri, "://");
        if (sep)
            return uri_err(uri, err, errlen,
                           "unsupported scheme '%.*s' (use redis:// or rediss://)",
                           (int)PS_MIN((size_t)(sep - uri), (size_t)32), uri);
        return uri_err(uri, err, errlen, "must start with redis:// or rediss://");
    }
    for (const char *q = p; *q; q++) {
        if (*q == '?' || *q == '#')
            return uri_err(uri, err, errlen, "query strings and fragments are not supported");
        if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
            return uri_err(uri, err, errlen, "control, space or non-ASCII character");
    }
    auth_end = p + strcspn(p, "/");
    at = memrchr(p, '@', (size_t)(auth_end - p));
    host = p;
    if (at) {
        if (memchr(p, ':', (size_t)(at - p)))
            return uri_err(uri, err, errlen,
                           "a password does not belong in the URI (set redis.password or the "
                           "environment variable named by redis.password_env)");
        if (at == p)
            return uri_err(uri, err, errlen, "empty user name before '@'");
        size_t o = 0;
        for (const char *q = p; q < at; q++) {
            char c = *q;
            if (c == '%') {
                int hi = q + 2 < at ? hexval(q[1]) : -1, lo = hi >= 0 ? hexval(q[2]) : -1;
                if (hi < 0 || lo < 0)
                    return uri_err(uri, err, errlen, "bad %%-escape in user name");
                c = (char)(hi << 4 | lo);
                if ((unsigned char)c < 0x20 || c == 0x7f)
                    return uri_err(uri, err, errlen, "control character in user name");
                q += 2;
            } else if (!is_unreserved(c) && !strchr("!$&'()*+,;=", c)) {
                return uri_err(uri, err, errlen, "bad character '%c' in user name", c);
            }
            if (o + 1 >= sizeof(out->user))
                return uri_err(uri, err, errlen, "user name too long");
            out->user[o++] = c;
        }
        out->user[o] = '\0';
        host = at + 1;
    }
    if (host < auth_end && *host == '[') {
        const char *rb = memchr(host, ']', (size_t)(auth_end - host));
        struct in6_addr a6;
        char tmp[64];
        if (!rb)
            return uri_err(uri, err, errlen, "missing ']' after IPv6 address");
        n = (size_t)(rb - host - 1);
        if (n == 0 || n >= sizeof(tmp))
            return uri_err(uri, err, errlen, "bad IPv6 address");
        memcpy(tmp, host + 1, n);
        tmp[n] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1)
            return uri_err(uri, err, errlen, "bad IPv6 address '%s'", tmp);
        memcpy(out->host, tmp, n + 1);
        host_end = rb + 1;
        if (host_end < auth_end && *host_end != ':')
            return uri_err(uri, err, errlen, "unexpected '%c' after IPv6 address", *host_end);
    } else {
        host_end = host + strcspn(host, ":/");
        if (host_end > auth_end)
            host_end = auth_end;
        n = (size_t)(host_end - host);
        if (n == 0)
            return uri_err(uri, err, errlen, "missing host");
        if (n > 253)
            return uri_err(uri, err, errlen, "host name too long");
        for (size_t i = 0; i < n; i++) {
            char c = host[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.' || c == '_'))
                return uri_err(uri, err, errlen, "bad character '%c' in host", c);
        }
        memcpy(out->host, host, n);
        out->host[n] = '\0';
    }
    if (host_end < auth_end) { /* ':' */
        uint64_t v;
        port = host_end + 1;
        n = (size_t)(auth_end - port);
        if (n == 0)
            return uri_err(uri, err, errlen, "missing port after ':'");
        if (!all_digits(port, n))
            return uri_err(uri, err, errlen, "bad port '%.*s'", (int)PS_MIN(n, (size_t)32), port);
        if (!parse_dec(port, n, 65535, &v) || v == 0)
            return uri_err(uri, err, errlen, "port out of range");
        out->port = (uint16_t)v;
    }
    if (*auth_end == '/') {
        const char *db = auth_end + 1;
        uint64_t v;
        n = strlen(db);
        if (n > 0) {
            if (!all_digits(db, n))
                return uri_err(uri, err, errlen, "bad database number '%.*s'",
                               (int)PS_MIN(n, (size_t)32), db);
            if (!parse_dec(db, n, INT32_MAX, &v))
                return uri_err(uri, err, errlen, "database number out of range");
            out->db = (uint32_t)v;
        }
    }
    return PS_OK;
}

void ps_redis_config_default(ps_redis_config *rc)
{
    memset(rc, 0, sizeof(*rc));
    strcpy(rc->channel, "portside:alerts");
    strcpy(rc->stream, "portside:detections");
    strcpy(rc->stats_stream, "portside:stats");
    rc->stream_maxlen = 100000;
    rc->publish = true;
    rc->xadd = true;
    strcpy(rc->password_env, DEFAULT_PASS_ENV);
    rc->verify_hostname = true;
    rc->connect_timeout_ms = 2000;
    rc->command_timeout_ms = 2000;
    rc->queue_size = 4096;
    strcpy(rc->spool_dir, "/var/lib/portside/spool");
    rc->spool_max_bytes = 256ull << 20;
    rc->fsync = PS_FSYNC_INTERVAL;
    rc->fsync_interval_ms = 1000;
    rc->flush_timeout_s = 10;
}

/* ---- SPSC ring ------------------------------------------------------------ */

typedef struct ring {
    uint8_t *buf;
    uint64_t cap; /* bytes, multiple of RING_ALIGN */
    uint32_t max_records;
    _Atomic uint64_t head, tail; /* byte positions, only ever grow */
    _Atomic uint64_t nin, nout;  /* records pushed, released */
} ring;

static uint64_t align8(uint64_t n)
{
    return (n + RING_ALIGN - 1) & ~(uint64_t)(RING_ALIGN - 1);
}

/* Producer side. Returns PS_OK, PS_ERR_CAP (full) or PS_ERR_BAD_INPUT (too big). */
static int ring_push(ring *r, const void *data, size_t len, uint32_t flags)
{
    uint64_t need = 8 + align8(len);
    if (len > PS_SPOOL_MAX_RECORD || need > r->cap / 2)
        return PS_ERR_BAD_INPUT;
    uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
    uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
    uint64_t nin = atomic_load_explicit(&r->nin, memory_order_relaxed);
    if (nin - atomic_load_explicit(&r->nout, memory_order_acquire) >= r->max_records)
        return PS_ERR_CAP;
    uint64_t off = h % r->cap, room = r->cap - off;
    uint64_t pad = room < need ? room : 0;
    if (h + pad + need - t > r->cap)
        return PS_ERR_CAP;
    if (pad) {
        uint32_t w[2] = {RING_WRAP, 0};
        memcpy(r->buf + off, w, sizeof(w));
        h += pad;
        off = 0;
    }
    uint32_t hdr[2] = {(uint32_t)len, flags};
    memcpy(r->buf + off, hdr, sizeof(hdr));
    memcpy(r->buf + off + 8, data, len);
    atomic_store_explicit(&r->head, h + need, memory_order_release);
    atomic_store_explicit(&r->nin, nin + 1, memory_order_release);
    return PS_OK;
}

/* Consumer side: the record at pos, if any; *next is the position after it. */
static bool ring_peek(ring *r, uint64_t pos, const uint8_t **data, uint32_t *len, uint32_t *flags,
                      uint64_t *next)
{
    for (;;) {
        if (pos >= atomic_load_explicit(&r->head, memory_order_acquire))
            return false;
        uint64_t off = pos % r->cap;
        uint32_t hdr[2];
        memcpy(hdr, r->buf + off, sizeof(hdr));
        if (hdr[0] == RING_WRAP) {
            pos += r->cap - off;
            continue;
        }
        *data = r->buf + off + 8;
        *len = hdr[0];
        *flags = hdr[1];
        *next = pos + 8 + align8(hdr[0]);
        return true;
    }
}

static void ring_release(ring *r, uint64_t upto, uint64_t nrec)
{
    atomic_store_explicit(&r->tail, upto, memory_order_release);
    atomic_fetch_add_explicit(&r->nout, nrec, memory_order_release);
}

static uint64_t ring_depth(ring *r)
{
    return atomic_load_explicit(&r->nin, memory_order_acquire) -
           atomic_load_explicit(&r->nout, memory_order_acquire);
}

/* ---- sink ----------------------------------------------------------------- */

enum { C_IDLE, C_CONNECTING, C_TLS, C_HELLO, C_READY };
enum {
    K_AUTH,
    K_SELECT,
    K_SPOOL,
    K_RING,
    K_RING_STATS,
    K_RING_STATE,
    K_SPILLED,
    K_SPILLED_STATS,
    K_SYNC_MARK, /* SET mark NX (answer ignored) */
    K_SYNC_GET,  /* GET mark */
    K_SYNC_ADD,  /* SADD of the members given */
    K_SYNC_SCAN, /* SSCAN page */
};

typedef struct pending {
    uint8_t kind;
    uint8_t replies; /* answers still due */
    bool rejected;   /* one answer was a permanent error */
    uint32_t epoch;  /* spool read epoch */
    uint64_t end;    /* ring position after the record */
} pending;

typedef _Atomic uint64_t counter;

/* What the publisher takes from the settings and the URI. Built and checked
 * on the caller's thread, so errors are reported there, and handed over
 * whole (at start, and on SIGHUP). */
typedef struct settings {
    ps_redis_config cfg;
    ps_redis_uri uri;
    char label[300]; /* host:port for messages */
    char password[PS_REDIS_NAME_MAX];
    bool have_password;
    char maxlen[16];
    ps_tls_ctx *tls_ctx; /* owned; NULL in an update: keep the running one */
} settings;

struct ps_redis_update {
    settings set;
    char uri[1024];
};

/* Start-up exchange with a shared set (ps_redis_sink_sync_set). */
enum { SY_NONE, SY_WANTED, SY_ADDING, SY_SCANNING, SY_DONE, SY_FAILED, SY_CANCELLED };

typedef struct set_sync {
    int state;
    char key[PS_REDIS_NAME_MAX], mark_key[PS_REDIS_NAME_MAX], mark_value[PS_REDIS_NAME_MAX];
    bool set_mark;
    char *add; /* members to add, '\n'-terminated (owned) */
    size_t add_len, add_off;
    uint32_t max_members;
    char cursor[32];
    bool scan_in_flight;
    uint32_t adds_in_flight;
    ps_redis_set_result res; /* members owned until handed to the caller */
    size_t res_cap;
    char err[512];
} set_sync;

struct ps_redis_sink {
    settings set;         /* publisher's; main thread reads flush_timeout_s only */
    ps_redis_config want; /* caller's: the settings last asked for */
    char want_uri[1024];  /* caller's: the URI last asked for */
    _Atomic uint32_t flush_timeout_s;
    pthread_mutex_t mu;    /* guards next and sync */
    pthread_cond_t cond;   /* sync progress */
    ps_redis_update *next; /* settings waiting for the publisher */
    _Atomic bool have_next;
    set_sync sync;
    _Atomic bool sync_active;

    ring q;
    ps_spool *spool;
    pthread_t thread;
    bool started, mu_ok;
    int efd;
    _Atomic bool sleeping, stop;
    _Atomic uint64_t stop_at_ms;

    counter queued, delivered, spooled, drop_full, drop_cap, drop_err, drop_big, rejected;
    counter reconnects, stats_sent, stats_dropped, spool_pending, spool_corrupt, left;
    counter state_sent, state_dropped, reconfigures;
    _Atomic bool connected;

    /* Publisher-private state. */
    int state, fd;
    ps_tls *tls;
    int tls_want;
    struct addrinfo *ais, *ai;
    redisReader *reader;
    char *obuf;
    size_t olen, ooff, ocap;
    pending *inflight;
    uint32_t inf_head, inf_count;
    uint64_t rd;            /* ring read position */
    uint64_t deadline;      /* connect deadline */
    uint64_t last_progress; /* last answer, for the command timeout */
    uint64_t next_attempt, backoff;
    uint64_t last_tick;
    uint64_t dropped_no_spool;
    uint64_t spool_big_seen;
    bool ever_connected, failing;
    char last_err[512];
};

static void wake(ps_redis_sink *s);

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void add(counter *c, uint64_t n)
{
    atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static uint64_t get(const counter *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* One line on stderr; a connection error repeated verbatim is said once. */
__attribute__((format(printf, 3, 4))) static void plog(ps_redis_sink *s, bool is_error,
                                                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (is_error) {
        if (strcmp(msg, s->last_err) == 0)
            return;
        memcpy(s->last_err, msg, sizeof(msg));
    }
    fprintf(stderr, "portside: redis %s: %s\n", s->set.label, msg);
}

/* ---- connection --------------------------------------------------------- */

static void inflight_clear(ps_redis_sink *s)
{
    s->inf_head = s->inf_count = 0;
}

static pending *inflight_push(ps_redis_sink *s, pending p, uint64_t now)
{
    if (s->inf_count == 0)
        s->last_progress = now;
    pending *e = &s->inflight[(s->inf_head + s->inf_count) % (MAX_INFLIGHT + 2)];
    *e = p;
    s->inf_count++;
    return e;
}

static void conn_close(ps_redis_sink *s)
{
    ps_tls_free(s->tls);
    s->tls = NULL;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    if (s->reader)
        redisReaderFree(s->reader);
    s->reader = NULL;
    if (s->ais)
        freeaddrinfo(s->ais);
    s->ais = s->ai = NULL;
    s->olen = s->ooff = 0;
    s->tls_want = 0;
}

/* Ends a start-up set exchange that is still under way (the caller is
 * told at once rather than after its timeout). */
static void sync_fail(ps_redis_sink *s, const char *msg)
{
    if (!atomic_load(&s->sync_active))
        return;
    pthread_mutex_lock(&s->mu);
    set_sync *y = &s->sync;
    if (y->state >= SY_WANTED && y->state <= SY_SCANNING) {
        y->state = SY_FAILED;
        snprintf(y->err, sizeof(y->err), "%s", msg);
        pthread_cond_broadcast(&s->cond);
    }
    pthread_mutex_unlock(&s->mu);
}

/* Drops the connection, keeping every record: unanswered ones are sent
 * again from the spool or the queue. */
static void conn_reset(ps_redis_sink *s)
{
    conn_close(s);
    inflight_clear(s);
    if (s->spool)
        ps_spool_rewind(s->spool);
    s->rd = atomic_load_explicit(&s->q.tail, memory_order_relaxed);
    s->state = C_IDLE;
    atomic_store(&s->connected, false);
}

/* Drops the connection after an error and retries with backoff. */
__attribute__((format(printf, 2, 3))) static void conn_fail(ps_redis_sink *s, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    plog(s, true, "%s%s", msg,
         s->spool ? "; spooling detections and retrying" : "; retrying (no spool)");
    sync_fail(s, msg);
    conn_reset(s);
    s->failing = true;
    s->next_attempt = mono_ms() + s->backoff;
    s->backoff = PS_MIN(s->backoff * 2, (uint64_t)BACKOFF_MAX_MS);
}

static bool obuf_append(ps_redis_sink *s, const char *cmd, size_t len)
{
    if (s->ooff > 0 && s->ooff == s->olen)
        s->ooff = s->olen = 0;
    if (s->olen + len > s->ocap) {
        if (s->ooff > 0) {
            memmove(s->obuf, s->obuf + s->ooff, s->olen - s->ooff);
            s->olen -= s->ooff;
            s->ooff = 0;
        }
        if (s->olen + len > s->ocap) {
            size_t ncap = PS_MAX(s->ocap * 2, s->olen + len);
            char *n = realloc(s->obuf, ncap);
            if (!n)
                return false;
            s->obuf = n;
            s->ocap = ncap;
        }
    }
    memcpy(s->obuf + s->olen, cmd, len);
    s->olen += len;
    return true;
}

static bool send_argv(ps_redis_sink *s, int argc, const char **argv, const size_t *lens)
{
    char *cmd = NULL;
    int n = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (n < 0 || !cmd)
        return false;
    bool ok = obuf_append(s, cmd, (size_t)n);
    redisFreeCommand(cmd);
    return ok;
}

static void become_ready(ps_redis_sink *s, uint64_t now)
{
    s->state = C_READY;
    s->backoff = BACKOFF_MIN_MS;
    s->last_progress = now;
    if (s->ever_connected)
        add(&s->reconnects, 1);
    if (s->failing) {
        uint64_t n = s->spool ? ps_spool_unread(s->spool) : 0;
        plog(s, false, "connected; sending %llu spooled detections", (unsigned long long)n);
    }
    s->ever_connected = true;
    s->failing = false;
    s->last_err[0] = '\0';
    atomic_store(&s->connected, true);
}

/* Transport is up: say hello (AUTH, SELECT) or go straight to work. */
static void transport_up(ps_redis_sink *s, uint64_t now)
{
    s->reader = redisReaderCreate();
    if (!s->reader) {
        conn_fail(s, "out of memory");
        return;
    }
    if (s->set.have_password || s->set.uri.user[0]) {
        const char *argv[3] = {"AUTH", s->set.uri.user, s->set.password};
        size_t lens[3] = {4, strlen(s->set.uri.user), strlen(s->set.password)};
        bool two = s->set.uri.user[0] != '\0';
        if (!send_argv(s, two ? 3 : 2, two ? argv : (const char *[]){"AUTH", s->set.password},
                       two ? lens : (size_t[]){4, strlen(s->set.password)})) {
            conn_fail(s, "out of memory");
            return;
        }
        inflight_push(s, (pending){.kind = K_AUTH, .replies = 1}, now);
    }
    if (s->set.uri.db != 0) {
        char db[16];
        int n = snprintf(db, sizeof(db), "%u", s->set.uri.db);
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, (size_t)n};
        if (!send_argv(s, 2, argv, lens)) {
            conn_fail(s, "out of memory");
            return;
        }
        inflight_push(s, (pending){.kind = K_SELECT, .replies = 1}, now);
    }
    if (s->inf_count > 0) {
        s->state = C_HELLO;
        s->deadline = now + s->set.cfg.connect_timeout_ms;
    } else {
        become_ready(s, now);
    }
}

static void tls_step(ps_redis_sink *s, uint64_t now)
{
    char err[256];
    int want = 0;
    int rc = ps_tls_handshake(s->tls, &want, err, sizeof(err));
    if (rc == PS_OK) {
        s->tls_want = 0;
        transport_up(s, now);
    } else if (rc == PS_ERR_NEED_MORE) {
        s->tls_want = want;
    } else {
        conn_fail(s, "%s", err);
    }
}

static void tcp_up(ps_redis_sink *s, uint64_t now)
{
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (!s->set.uri.tls) {
        transport_up(s, now);
        return;
    }
    char err[256];
    s->tls = ps_tls_new(s->set.tls_ctx, s->fd, s->set.uri.host, err, sizeof(err));
    if (!s->tls) {
        conn_fail(s, "%s", err);
        return;
    }
    s->state = C_TLS;
    tls_step(s, now);
}

/* Tries the current address and, on immediate failure, the following ones. */
static void try_addresses(ps_redis_sink *s, uint64_t now, int last_errno)
{
    for (; s->ai; s->ai = s->ai->ai_next) {
        int fd = socket(s->ai->ai_family, s->ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        s->ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, s->ai->ai_addr, s->ai->ai_addrlen) == 0) {
            s->fd = fd;
            tcp_up(s, now);
            return;
        }
        if (errno == EINPROGRESS) {
            s->fd = fd;
            s->state = C_CONNECTING;
            return;
        }
        last_errno = errno;
        close(fd);
    }
    conn_fail(s, "cannot connect: %s", strerror(last_errno ? last_errno : ECONNREFUSED));
}

static void start_connect(ps_redis_sink *s, uint64_t now)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    char port[8];

    snprintf(port, sizeof(port), "%u", s->set.uri.port);
    s->deadline = now + s->set.cfg.connect_timeout_ms;
    /* Name resolution blocks this thread (never the capture thread). */
    int rc = getaddrinfo(s->set.uri.host, port, &hints, &s->ais);
    if (rc != 0) {
        s->ais = NULL;
        conn_fail(s, "cannot resolve %s: %s", s->set.uri.host, gai_strerror(rc));
        return;
    }
    s->ai = s->ais;
    s->state = C_CONNECTING;
    try_addresses(s, now, 0);
}

static void connect_step(ps_redis_sink *s, uint64_t now)
{
    int soerr = 0;
    socklen_t sl = sizeof(soerr);

    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
        soerr = errno;
    if (soerr == 0) {
        tcp_up(s, now);
        return;
    }
    close(s->fd);
    s->fd = -1;
    s->ai = s->ai->ai_next;
    try_addresses(s, now, soerr);
}

/* ---- records ------------------------------------------------------------ */

/* Appends the commands for one detection; returns how many answers are due. */
static int format_detection(ps_redis_sink *s, const uint8_t *rec, size_t len)
{
    int n = 0;
    if (s->set.cfg.publish) {
        const char *argv[3] = {"PUBLISH", s->set.cfg.channel, (const char *)rec};
        size_t lens[3] = {7, strlen(s->set.cfg.channel), len};
        if (!send_argv(s, 3, argv, lens))
            return -1;
        n++;
    }
    if (s->set.cfg.xadd) {
        const char *argv[8] = {"XADD", s->set.cfg.stream};
        size_t lens[8] = {4, strlen(s->set.cfg.stream)};
        int c = 2;
        if (s->set.cfg.stream_maxlen > 0) {
            argv[c] = "MAXLEN", lens[c++] = 6;
            argv[c] = "~", lens[c++] = 1;
            argv[c] = s->set.maxlen, lens[c++] = strlen(s->set.maxlen);
        }
        argv[c] = "*", lens[c++] = 1;
        argv[c] = "detection", lens[c++] = 9;
        argv[c] = (const char *)rec, lens[c++] = len;
        if (!send_argv(s, c, argv, lens))
            return -1;
        n++;
    }
    return n;
}

static int format_stats(ps_redis_sink *s, const uint8_t *rec, size_t len)
{
    const char *argv[8] = {"XADD",  s->set.cfg.stats_stream, "MAXLEN", "~", STATS_MAXLEN, "*",
                           "stats", (const char *)rec};
    size_t lens[8] = {4, strlen(s->set.cfg.stats_stream), 6, 1, strlen(STATS_MAXLEN), 1, 5, len};
    return send_argv(s, 8, argv, lens) ? 1 : -1;
}

/* SADD key member, or SET key value NX, from a "key\0value" record. */
static int format_state(ps_redis_sink *s, const uint8_t *rec, size_t len, uint32_t flags)
{
    const uint8_t *nul = memchr(rec, 0, len);
    if (!nul)
        return -2;
    size_t klen = (size_t)(nul - rec);
    const char *key = (const char *)rec, *val = (const char *)nul + 1;
    size_t vlen = len - klen - 1;
    bool nx = flags & REC_FLAG_SETNX;
    const char *argv[4] = {nx ? "SET" : "SADD", key, val, "NX"};
    size_t lens[4] = {nx ? 3u : 4u, klen, vlen, 2};
    return send_argv(s, nx ? 4 : 3, argv, lens) ? 1 : -1;
}

/* Moves the ring's records (sent or not) to the spool. Records in flight
 * stay in flight, but their answers no longer count: the spooled copy is
 * what will be confirmed (so it may arrive twice). Each record's room is
 * given back as soon as it is on disk, so the capture side can go on while
 * the spill runs; records pushed meanwhile wait for the next call (a spill
 * that chased the producer kept the ring full until it caught up, and the
 * capture side dropped records although the disk kept up). */
static void spill_ring(ps_redis_sink *s)
{
    uint64_t pos = atomic_load_explicit(&s->q.tail, memory_order_relaxed), next;
    uint64_t end = atomic_load_explicit(&s->q.head, memory_order_acquire);
    const uint8_t *d;
    uint32_t len, flags;

    if (!s->spool)
        return;
    /* First, so no late answer releases ring room a second time. */
    for (uint32_t i = 0; i < s->inf_count; i++) {
        pending *e = &s->inflight[(s->inf_head + i) % (MAX_INFLIGHT + 2)];
        if (e->kind == K_RING)
            e->kind = K_SPILLED;
        else if (e->kind == K_RING_STATS || e->kind == K_RING_STATE)
            e->kind = K_SPILLED_STATS;
    }
    while (pos < end && ring_peek(&s->q, pos, &d, &len, &flags, &next)) {
        if (flags & REC_FLAG_STATS)
            add(&s->stats_dropped, 1);
        else if (flags & (REC_FLAG_SADD | REC_FLAG_SETNX))
            add(&s->state_dropped, 1);
        else if (ps_spool_append(s->spool, d, len) == PS_OK)
            add(&s->spooled, 1);
        pos = next;
        ring_release(&s->q, pos, 1);
    }
    s->rd = pos;
}

/* ---- start-up set exchange ------------------------------------------------ */

/* Sends what the set exchange needs next: SET NX and GET of the marker,
 * SADD batches of the members to add, then one SSCAN page at a time (a
 * page's cursor comes with the previous answer). Pipeline order means the
 * scan sees the members added. False when the connection was dropped. */
static bool sync_step(ps_redis_sink *s, uint64_t now)
{
    bool ok = true;
    pthread_mutex_lock(&s->mu);
    set_sync *y = &s->sync;
    if (y->state == SY_WANTED && s->inf_count + 2 <= MAX_INFLIGHT) {
        size_t kl = strlen(y->mark_key);
        if (y->set_mark) {
            const char *argv[4] = {"SET", y->mark_key, y->mark_value, "NX"};
            size_t lens[4] = {3, kl, strlen(y->mark_value), 2};
            ok = send_argv(s, 4, argv, lens);
            if (ok)
                inflight_push(s, (pending){.kind = K_SYNC_MARK, .replies = 1}, now);
        }
        const char *argv[2] = {"GET", y->mark_key};
        size_t lens[2] = {3, kl};
        ok = ok && send_argv(s, 2, argv, lens);
        if (ok)
            inflight_push(s, (pending){.kind = K_SYNC_GET, .replies = 1}, now);
        y->state = SY_ADDING;
    }
    while (ok && y->state == SY_ADDING && s->inf_count < MAX_INFLIGHT &&
           s->olen - s->ooff < OBUF_HIGH) {
        if (y->add_off >= y->add_len) {
            y->state = SY_SCANNING;
            strcpy(y->cursor, "0");
            break;
        }
        const char *argv[SYNC_BATCH + 2] = {"SADD", y->key};
        size_t lens[SYNC_BATCH + 2] = {4, strlen(y->key)};
        int c = 2;
        while (c < (int)SYNC_BATCH + 2 && y->add_off < y->add_len) {
            const char *m = y->add + y->add_off;
            const char *nl = memchr(m, '\n', y->add_len - y->add_off);
            size_t ml = nl ? (size_t)(nl - m) : y->add_len - y->add_off;
            y->add_off += ml + (nl ? 1 : 0);
            if (ml == 0)
                continue;
            argv[c] = m, lens[c++] = ml;
        }
        if (c == 2)
            continue;
        ok = send_argv(s, c, argv, lens);
        if (ok)
            inflight_push(s, (pending){.kind = K_SYNC_ADD, .replies = 1}, now);
    }
    if (ok && y->state == SY_SCANNING && !y->scan_in_flight && s->inf_count < MAX_INFLIGHT) {
        const char *argv[5] = {"SSCAN", y->key, y->cursor, "COUNT", SYNC_SCAN_COUNT};
        size_t lens[5] = {5, strlen(y->key), strlen(y->cursor), 5, strlen(SYNC_SCAN_COUNT)};
        ok = send_argv(s, 5, argv, lens);
        if (ok) {
            inflight_push(s, (pending){.kind = K_SYNC_SCAN, .replies = 1}, now);
            y->scan_in_flight = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!ok)
        conn_fail(s, "out of memory");
    return ok;
}

/* Appends one member to the result, within max_members. */
static void sync_keep(set_sync *y, const char *m, size_t len)
{
    if (len == 0 || len >= PS_REDIS_NAME_MAX || memchr(m, '\n', len))
        return; /* not a member this exchange wrote; ignore it */
    if (y->res.count >= y->max_members) {
        y->res.truncated = true;
        return;
    }
    if (y->res.len + len + 1 > y->res_cap) {
        size_t ncap = PS_MAX(y->res_cap * 2, y->res.len + len + 1 + 4096);
        char *n = realloc(y->res.members, ncap);
        if (!n) {
            y->res.truncated = true;
            return;
        }
        y->res.members = n;
        y->res_cap = ncap;
    }
    memcpy(y->res.members + y->res.len, m, len);
    y->res.members[y->res.len + len] = '\n';
    y->res.len += len + 1;
    y->res.count++;
}

static void sync_end(ps_redis_sink *s, int state, const char *msg)
{
    set_sync *y = &s->sync;
    y->state = state;
    snprintf(y->err, sizeof(y->err), "%s", msg);
    pthread_cond_broadcast(&s->cond);
}

/* Takes one answer of the set exchange (a late one, after the caller gave
 * up, is ignored). */
static void sync_reply(ps_redis_sink *s, int kind, const redisReply *r)
{
    pthread_mutex_lock(&s->mu);
    set_sync *y = &s->sync;
    if (y->state < SY_WANTED || y->state > SY_SCANNING || kind == K_SYNC_MARK) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        sync_end(s, SY_FAILED, r->str ? r->str : "error");
    } else if (kind == K_SYNC_GET) {
        if (r->type == REDIS_REPLY_STRING && r->str) {
            y->res.have_mark = true;
            snprintf(y->res.mark, sizeof(y->res.mark), "%.*s",
                     (int)PS_MIN(r->len, sizeof(y->res.mark) - 1), r->str);
        }
    } else if (kind == K_SYNC_SCAN) {
        y->scan_in_flight = false;
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
            r->element[0]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 ||
            r->element[0]->len >= sizeof(y->cursor) || r->element[1]->type != REDIS_REPLY_ARRAY) {
            sync_end(s, SY_FAILED, "unexpected SSCAN answer");
        } else {
            const redisReply *m = r->element[1];
            for (size_t i = 0; i < m->elements; i++)
                if (m->element[i]->type == REDIS_REPLY_STRING)
                    sync_keep(y, m->element[i]->str, m->element[i]->len);
            memcpy(y->cursor, r->element[0]->str, r->element[0]->len);
            y->cursor[r->element[0]->len] = '\0';
            if (strcmp(y->cursor, "0") == 0 || y->res.truncated)
                sync_end(s, SY_DONE, "");
        }
    }
    pthread_mutex_unlock(&s->mu);
}

/* Writes records into the pipeline: a start-up set exchange first, then
 * spooled records, then the ring's. */
static void fill_pipeline(ps_redis_sink *s, uint64_t now)
{
    if (atomic_load(&s->sync_active) && !sync_step(s, now))
        return;
    while (s->inf_count < MAX_INFLIGHT && s->olen - s->ooff < OBUF_HIGH) {
        if (s->spool && ps_spool_unread(s->spool) > 0) {
            const uint8_t *d;
            size_t len;
            uint32_t epoch;
            int rc = ps_spool_read(s->spool, &d, &len, &epoch);
            if (rc == PS_ERR_CAP)
                return;
            if (rc == PS_OK) {
                int n = format_detection(s, d, len);
                if (n < 0) {
                    conn_fail(s, "out of memory");
                    return;
                }
                inflight_push(s, (pending){.kind = K_SPOOL, .replies = (uint8_t)n, .epoch = epoch},
                              now);
                continue;
            }
        }
        const uint8_t *d;
        uint32_t len, flags;
        uint64_t next;
        if (!ring_peek(&s->q, s->rd, &d, &len, &flags, &next))
            return;
        bool stats = flags & REC_FLAG_STATS, state = flags & (REC_FLAG_SADD | REC_FLAG_SETNX);
        int n = stats   ? format_stats(s, d, len)
                : state ? format_state(s, d, len, flags)
                        : format_detection(s, d, len);
        if (n == -2) { /* cannot happen: the producer builds these records */
            ring_release(&s->q, next, 1);
            add(&s->state_dropped, 1);
            s->rd = next;
            continue;
        }
        if (n < 0) {
            conn_fail(s, "out of memory");
            return;
        }
        uint8_t kind = stats ? K_RING_STATS : state ? K_RING_STATE : K_RING;
        inflight_push(s, (pending){.kind = kind, .replies = (uint8_t)n, .end = next}, now);
        s->rd = next;
    }
}

/* Errors after which a retry can succeed: the record is kept. */
static bool transient_error(const char *e)
{
    static const char *const codes[] = {"NOAUTH",    "NOPERM",      "WRONGPASS",  "OOM",
                                        "LOADING",   "BUSY",        "MASTERDOWN", "READONLY",
                                        "TRYAGAIN",  "CLUSTERDOWN", "MISCONF",    "NOREPLICAS",
                                        "UNBLOCKED", "MOVED",       "ASK"};
    size_t n = strcspn(e, " ");
    for (size_t i = 0; i < PS_ARRAY_LEN(codes); i++)
        if (strlen(codes[i]) == n && strncmp(e, codes[i], n) == 0)
            return true;
    return false;
}

static void complete(ps_redis_sink *s, const pending *e, uint64_t now)
{
    switch (e->kind) {
    case K_AUTH:
    case K_SELECT:
        break;
    case K_SPOOL:
        ps_spool_commit(s->spool, e->epoch);
        add(e->rejected ? &s->rejected : &s->delivered, 1);
        break;
    case K_RING:
        ring_release(&s->q, e->end, 1);
        add(e->rejected ? &s->rejected : &s->delivered, 1);
        break;
    case K_RING_STATS:
        ring_release(&s->q, e->end, 1);
        add(e->rejected ? &s->stats_dropped : &s->stats_sent, 1);
        break;
    case K_RING_STATE:
        ring_release(&s->q, e->end, 1);
        add(e->rejected ? &s->state_dropped : &s->state_sent, 1);
        break;
    default: /* spilled: the spooled copy will be confirmed */
        break;
    }
    if (s->state == C_HELLO && s->inf_count == 0)
        become_ready(s, now);
}

/* Handles one answer; false when the connection was dropped. */
static bool on_reply(ps_redis_sink *s, const redisReply *r, uint64_t now)
{
    if (s->inf_count == 0) {
        conn_fail(s, "unexpected reply from server");
        return false;
    }
    pending *e = &s->inflight[s->inf_head];
    if (e->kind >= K_SYNC_MARK) {
        sync_reply(s, e->kind, r);
    } else if (r->type == REDIS_REPLY_ERROR) {
        const char *msg = r->str ? r->str : "error";
        if (e->kind == K_AUTH) {
            conn_fail(s, "AUTH failed%s%s: %s", s->set.uri.user[0] ? " for user " : "",
                      s->set.uri.user, msg);
            return false;
        }
        if (e->kind == K_SELECT) {
            conn_fail(s, "SELECT %u failed: %s", s->set.uri.db, msg);
            return false;
        }
        if (transient_error(msg)) {
            conn_fail(s, "server refused a write: %s", msg);
            return false;
        }
        if (!e->rejected)
            plog(s, true, "server rejected a %s (dropped): %s",
                 e->kind == K_RING_STATE ? "state write" : "detection", msg);
        e->rejected = true;
    }
    s->last_progress = now;
    if (--e->replies > 0)
        return true;
    pending done = *e;
    s->inf_head = (s->inf_head + 1) % (MAX_INFLIGHT + 2);
    s->inf_count--;
    complete(s, &done, now);
    return true;
}

static void do_read(ps_redis_sink *s, uint64_t now)
{
    char buf[65536];
    char err[256];

    for (;;) {
        long n;
        if (s->tls) {
            int want = 0;
            n = ps_tls_read(s->tls, buf, sizeof(buf), &want, err, sizeof(err));
            if (n == PS_ERR_NEED_MORE) {
                s->tls_want = want == PS_TLS_WANT_WRITE ? PS_TLS_WANT_WRITE : 0;
                break;
            }
            if (n < 0) {
                conn_fail(s, "%s", err);
                return;
            }
        } else {
            n = recv(s->fd, buf, sizeof(buf), 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            if (n < 0) {
                conn_fail(s, "read failed: %s", strerror(errno));
                return;
            }
        }
        if (n == 0) {
            conn_fail(s, "connection closed by server");
            return;
        }
        if (redisReaderFeed(s->reader, buf, (size_t)n) != REDIS_OK) {
            conn_fail(s, "out of memory");
            return;
        }
        if ((size_t)n < sizeof(buf) && !s->tls)
            break;
    }
    for (;;) {
        void *reply = NULL;
        if (redisReaderGetReply(s->reader, &reply) != REDIS_OK) {
            conn_fail(s, "protocol error: %s", s->reader->errstr);
            return;
        }
        if (!reply)
            return;
        bool ok = on_reply(s, reply, now);
        freeReplyObject(reply);
        if (!ok)
            return;
    }
}

static void do_write(ps_redis_sink *s)
{
    char err[256];

    while (s->ooff < s->olen) {
        size_t chunk = PS_MIN(s->olen - s->ooff, (size_t)65536);
        long n;
        if (s->tls) {
            int want = 0;
            n = ps_tls_write(s->tls, s->obuf + s->ooff, chunk, &want, err, sizeof(err));
            if (n == PS_ERR_NEED_MORE)
                return;
            if (n < 0) {
                conn_fail(s, "%s", err);
                return;
            }
        } else {
            n = send(s->fd, s->obuf + s->ooff, chunk, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            if (n < 0) {
                conn_fail(s, "write failed: %s", strerror(errno));
                return;
            }
        }
        s->ooff += (size_t)n;
    }
    s->ooff = s->olen = 0;
}

/* ---- settings ------------------------------------------------------------- */

/* Checks uri and rc and fills *out. `cur` (with cur_tls, whether its URI
 * was rediss://) are the running settings: when the TLS files and checks
 * are the same, out->tls_ctx stays NULL (keep the running context);
 * otherwise a new one is made. PS_OK or PS_ERR_CONFIG with err. */
static int build_settings(const char *uri, const ps_redis_config *rc, const ps_redis_config *cur,
                          bool cur_tls, settings *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    out->cfg = *rc;
    if (ps_redis_uri_parse(uri, &out->uri, err, errlen) != PS_OK)
        return PS_ERR_CONFIG;
    if (strchr(out->uri.host, ':'))
        snprintf(out->label, sizeof(out->label), "[%s]:%u", out->uri.host, out->uri.port);
    else
        snprintf(out->label, sizeof(out->label), "%s:%u", out->uri.host, out->uri.port);
    if (!rc->publish && !rc->xadd) {
        snprintf(err, errlen, "redis.publish and redis.xadd are both false: nothing to send");
        return PS_ERR_CONFIG;
    }
    if (rc->key_file[0] && !rc->cert_file[0]) {
        snprintf(err, errlen, "redis.key_file is set but redis.cert_file is not");
        return PS_ERR_CONFIG;
    }
    if (rc->password[0]) {
        snprintf(out->password, sizeof(out->password), "%s", rc->password);
        out->have_password = true;
    } else if (rc->password_env[0]) {
        const char *p = getenv(rc->password_env);
        if (p && p[0]) {
            if (strlen(p) >= sizeof(out->password)) {
                snprintf(err, errlen, "the password in $%s is too long (at most %zu bytes)",
                         rc->password_env, sizeof(out->password) - 1);
                return PS_ERR_CONFIG;
            }
            strcpy(out->password, p);
            out->have_password = true;
        }
    }
    snprintf(out->maxlen, sizeof(out->maxlen), "%u", rc->stream_maxlen);
    bool same_tls = cur && cur_tls && strcmp(cur->ca_file, rc->ca_file) == 0 &&
                    strcmp(cur->cert_file, rc->cert_file) == 0 &&
                    strcmp(cur->key_file, rc->key_file) == 0 &&
                    cur->verify_hostname == rc->verify_hostname;
    if (out->uri.tls && !same_tls) {
        ps_tls_options o = {.ca_file = rc->ca_file,
                            .cert_file = rc->cert_file,
                            .key_file = rc->key_file,
                            .verify_hostname = rc->verify_hostname};
        char e2[512];
        out->tls_ctx = ps_tls_ctx_new(&o, e2, sizeof(e2));
        if (!out->tls_ctx) {
            snprintf(err, errlen, "redis: %s", e2);
            return PS_ERR_CONFIG;
        }
    }
    return PS_OK;
}

/* True when a key that may change while running differs. */
static bool live_differs(const ps_redis_config *a, const ps_redis_config *b)
{
    return strcmp(a->channel, b->channel) != 0 || strcmp(a->stream, b->stream) != 0 ||
           strcmp(a->stats_stream, b->stats_stream) != 0 || a->stream_maxlen != b->stream_maxlen ||
           a->publish != b->publish || a->xadd != b->xadd ||
           strcmp(a->password, b->password) != 0 || strcmp(a->password_env, b->password_env) != 0 ||
           strcmp(a->ca_file, b->ca_file) != 0 || strcmp(a->cert_file, b->cert_file) != 0 ||
           strcmp(a->key_file, b->key_file) != 0 || a->verify_hostname != b->verify_hostname ||
           a->connect_timeout_ms != b->connect_timeout_ms ||
           a->command_timeout_ms != b->command_timeout_ms ||
           a->flush_timeout_s != b->flush_timeout_s;
}

/* Copies the keys that may change while running from src into dst. */
static void copy_live(ps_redis_config *dst, const ps_redis_config *src)
{
    ps_redis_config keep = *dst;
    *dst = *src;
    dst->queue_size = keep.queue_size;
    memcpy(dst->spool_dir, keep.spool_dir, sizeof(dst->spool_dir));
    dst->spool_max_bytes = keep.spool_max_bytes;
    dst->fsync = keep.fsync;
    dst->fsync_interval_ms = keep.fsync_interval_ms;
}

/* Publisher: takes settings handed over by ps_redis_sink_commit(). Only a
 * change of where or how to connect drops the connection. */
static void take_update(ps_redis_sink *s, uint64_t now)
{
    if (!atomic_load(&s->have_next))
        return;
    pthread_mutex_lock(&s->mu);
    ps_redis_update *u = s->next;
    s->next = NULL;
    atomic_store(&s->have_next, false);
    pthread_mutex_unlock(&s->mu);
    if (!u)
        return;
    const settings *n = &u->set, *o = &s->set;
    bool reconnect = memcmp(&n->uri, &o->uri, sizeof(n->uri)) != 0 ||
                     n->have_password != o->have_password ||
                     strcmp(n->password, o->password) != 0 || n->tls_ctx != NULL;
    if (reconnect)
        conn_reset(s);
    ps_tls_ctx *ctx = n->tls_ctx ? n->tls_ctx : n->uri.tls ? o->tls_ctx : NULL;
    if (ctx != o->tls_ctx)
        ps_tls_ctx_free(o->tls_ctx); /* no connection uses it any more */
    s->set = *n;
    s->set.tls_ctx = ctx;
    free(u);
    add(&s->reconfigures, 1);
    if (reconnect) {
        s->next_attempt = now;
        s->backoff = BACKOFF_MIN_MS;
        s->failing = false;
        s->last_err[0] = '\0';
        plog(s, false, "settings changed: reconnecting (queued and spooled detections kept)");
    } else {
        plog(s, false, "settings changed: applied to the next records");
    }
}

void ps_redis_update_free(ps_redis_update *u)
{
    if (!u)
        return;
    ps_tls_ctx_free(u->set.tls_ctx);
    free(u);
}

int ps_redis_sink_prepare(ps_redis_sink *s, const char *uri, const ps_redis_config *rc,
                          ps_redis_update **out, char *err, size_t errlen)
{
    *out = NULL;
    if (strcmp(uri, s->want_uri) == 0 && !live_differs(&s->want, rc))
        return PS_OK;
    if (strlen(uri) >= sizeof(s->want_uri)) {
        snprintf(err, errlen, "Redis URI too long");
        return PS_ERR_CONFIG;
    }
    ps_redis_config merged = s->want;
    copy_live(&merged, rc);
    ps_redis_uri cur;
    char e2[16];
    bool cur_tls = ps_redis_uri_parse(s->want_uri, &cur, e2, sizeof(e2)) == PS_OK && cur.tls;
    ps_redis_update *u = calloc(1, sizeof(*u));
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return PS_ERR_CONFIG;
    }
    if (build_settings(uri, &merged, &s->want, cur_tls, &u->set, err, errlen) != PS_OK) {
        ps_redis_update_free(u);
        return PS_ERR_CONFIG;
    }
    snprintf(u->uri, sizeof(u->uri), "%s", uri);
    *out = u;
    return PS_OK;
}

void ps_redis_sink_commit(ps_redis_sink *s, ps_redis_update *u)
{
    if (!u)
        return;
    s->want = u->set.cfg;
    memcpy(s->want_uri, u->uri, sizeof(s->want_uri));
    atomic_store(&s->flush_timeout_s, u->set.cfg.flush_timeout_s);
    pthread_mutex_lock(&s->mu);
    if (s->next) { /* not taken yet: the newer one replaces it */
        if (!u->set.tls_ctx && u->set.uri.tls) {
            u->set.tls_ctx = s->next->set.tls_ctx; /* built for the settings u kept */
            s->next->set.tls_ctx = NULL;
        }
        ps_redis_update_free(s->next);
    }
    s->next = u;
    atomic_store(&s->have_next, true);
    pthread_mutex_unlock(&s->mu);
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* saturated: already awake */
    }
}

/* ---- publisher thread ----------------------------------------------------- */

static void refresh_counters(ps_redis_sink *s)
{
    if (!s->spool)
        return;
    ps_spool_stats st;
    ps_spool_stats_get(s->spool, &st);
    atomic_store(&s->drop_cap, st.dropped_cap);
    atomic_store(&s->drop_err, st.dropped_io + s->dropped_no_spool);
    atomic_store(&s->spool_pending, st.pending);
    atomic_store(&s->spool_corrupt, st.corrupt + st.truncated);
    /* Records too big for the spool add to those refused by the queue. */
    if (st.dropped_big > s->spool_big_seen) {
        add(&s->drop_big, st.dropped_big - s->spool_big_seen);
        s->spool_big_seen = st.dropped_big;
    }
}

static bool all_done(ps_redis_sink *s)
{
    return ring_depth(&s->q) == 0 && s->inf_count == 0 &&
           (!s->spool || ps_spool_pending(s->spool) == 0);
}

static void *publisher(void *arg)
{
    ps_redis_sink *s = arg;
    bool stop_seen = false;

    for (;;) {
        uint64_t now = mono_ms();
        take_update(s, now);
        if (atomic_load(&s->stop)) {
            if (!stop_seen && s->state == C_IDLE)
                s->next_attempt = now; /* one more try right away */
            stop_seen = true;
            if (all_done(s) || now >= atomic_load(&s->stop_at_ms))
                break;
        }
        if (s->state == C_IDLE && now >= s->next_attempt)
            start_connect(s, now);
        if (s->state == C_READY) {
            fill_pipeline(s, now);
            uint64_t depth = ring_depth(&s->q);
            uint64_t used = atomic_load(&s->q.head) - atomic_load(&s->q.tail);
            /* Redis is slow: make room for the capture side. Spill early
             * once the pipeline is full, while the queue still has room for
             * the burst that comes while this thread waits for a CPU. */
            bool stuck = s->inf_count >= MAX_INFLIGHT || s->olen - s->ooff >= OBUF_HIGH;
            uint64_t part = stuck ? 4 : 2;
            if (depth * part >= s->q.max_records || used * part >= s->q.cap)
                spill_ring(s);
            if (s->state == C_READY)
                do_write(s);
        } else {
            spill_ring(s);
        }

        struct pollfd pfd[2] = {{.fd = s->efd, .events = POLLIN}, {.fd = -1}};
        uint64_t wake = now + TICK_MS;
        if (s->state == C_IDLE) {
            wake = PS_MIN(wake, s->next_attempt);
        } else {
            pfd[1].fd = s->fd;
            if (s->state == C_CONNECTING)
                pfd[1].events = POLLOUT;
            else if (s->state == C_TLS)
                pfd[1].events = s->tls_want == PS_TLS_WANT_WRITE ? POLLOUT : POLLIN;
            else
                pfd[1].events =
                    (short)(POLLIN |
                            (s->olen > s->ooff || s->tls_want == PS_TLS_WANT_WRITE ? POLLOUT : 0));
            if (s->state != C_READY)
                wake = PS_MIN(wake, s->deadline);
            else if (s->inf_count > 0)
                wake = PS_MIN(wake, s->last_progress + s->set.cfg.command_timeout_ms);
        }
        if (stop_seen)
            wake = PS_MIN(wake, atomic_load(&s->stop_at_ms));
        atomic_store(&s->sleeping, true);
        bool more = ring_peek(&s->q, s->rd, &(const uint8_t *){NULL}, &(uint32_t){0},
                              &(uint32_t){0}, &(uint64_t){0});
        /* New records arrived since we looked: go round again at once if
         * they can move (room in the pipeline, or a spool to take them). */
        bool can_move = s->state == C_READY
                            ? s->inf_count < MAX_INFLIGHT && s->olen - s->ooff < OBUF_HIGH
                            : s->spool != NULL;
        int timeout = more && can_move ? 0 : (int)(wake > now ? wake - now : 0);
        int pr = poll(pfd, pfd[1].fd >= 0 ? 2 : 1, timeout);
        atomic_store(&s->sleeping, false);
        now = mono_ms();
        if (pr > 0 && (pfd[0].revents & POLLIN)) {
            uint64_t v;
            if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                plog(s, true, "eventfd: %s", strerror(errno));
        }
        short rev = pr > 0 && pfd[1].fd >= 0 ? pfd[1].revents : 0;
        if (rev) {
            if (s->state == C_CONNECTING)
                connect_step(s, now);
            else if (s->state == C_TLS)
                tls_step(s, now);
            else {
                if (s->olen > s->ooff)
                    do_write(s);
                if (s->state >= C_HELLO &&
                    ((rev & (POLLIN | POLLHUP | POLLERR)) || s->tls_want == PS_TLS_WANT_WRITE))
                    do_read(s, now);
            }
        }
        if (s->state != C_IDLE && s->state != C_READY && now >= s->deadline)
            conn_fail(s, "connect timeout after %u ms (redis.connect_timeout_ms)",
                      s->set.cfg.connect_timeout_ms);
        else if (s->state == C_READY && s->inf_count > 0 &&
                 now >= s->last_progress + s->set.cfg.command_timeout_ms)
            conn_fail(s, "no reply within %u ms (redis.command_timeout_ms)",
                      s->set.cfg.command_timeout_ms);
        if (s->spool && now - s->last_tick >= TICK_MS / 2) {
            ps_spool_tick(s->spool);
            s->last_tick = now;
        }
        refresh_counters(s);
    }

    /* Out of time: whatever Redis has not confirmed stays on disk. */
    conn_close(s);
    inflight_clear(s);
    if (s->spool) {
        ps_spool_rewind(s->spool);
        spill_ring(s);
        ps_spool_tick(s->spool);
        refresh_counters(s);
        atomic_store(&s->left, ps_spool_pending(s->spool));
    } else { /* without a spool, what the queue holds is lost */
        uint64_t pos = atomic_load(&s->q.tail), next, n = 0, k = 0;
        const uint8_t *d;
        uint32_t len, flags;
        while (ring_peek(&s->q, pos, &d, &len, &flags, &next)) {
            if (flags & REC_FLAG_STATS)
                add(&s->stats_dropped, 1);
            else if (flags & (REC_FLAG_SADD | REC_FLAG_SETNX))
                add(&s->state_dropped, 1);
            else
                n++;
            pos = next;
            k++;
        }
        ring_release(&s->q, pos, k);
        s->dropped_no_spool += n;
        add(&s->drop_err, n);
        atomic_store(&s->left, n);
    }
    atomic_store(&s->connected, false);
    return NULL;
}

/* ---- start-up set exchange: caller side ------------------------------------ */

static void sync_clear(set_sync *y)
{
    free(y->add);
    free(y->res.members);
    memset(y, 0, sizeof(*y));
}

int ps_redis_sink_sync_set(ps_redis_sink *s, const ps_redis_set_sync *req, ps_redis_set_result *out,
                           char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!s->started) {
        snprintf(err, errlen, "the Redis output is stopped");
        return PS_ERR_IO;
    }
    if (strlen(req->key) >= PS_REDIS_NAME_MAX || strlen(req->mark_key) >= PS_REDIS_NAME_MAX ||
        (req->mark_value && strlen(req->mark_value) >= PS_REDIS_NAME_MAX)) {
        snprintf(err, errlen, "key or value too long");
        return PS_ERR_IO;
    }
    pthread_mutex_lock(&s->mu);
    set_sync *y = &s->sync;
    sync_clear(y);
    snprintf(y->key, sizeof(y->key), "%s", req->key);
    snprintf(y->mark_key, sizeof(y->mark_key), "%s", req->mark_key);
    if (req->mark_value) {
        y->set_mark = true;
        snprintf(y->mark_value, sizeof(y->mark_value), "%s", req->mark_value);
    }
    if (req->add_len > 0) {
        y->add = malloc(req->add_len);
        if (!y->add) {
            pthread_mutex_unlock(&s->mu);
            snprintf(err, errlen, "out of memory");
            return PS_ERR_IO;
        }
        memcpy(y->add, req->add, req->add_len);
        y->add_len = req->add_len;
    }
    y->max_members = req->max_members;
    y->state = SY_WANTED;
    atomic_store(&s->sync_active, true);
    uint64_t one = 1;
    if (write(s->efd, &one, sizeof(one)) < 0) {
        /* saturated: already awake */
    }
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(req->timeout_ms / 1000u);
    until.tv_nsec += (long)(req->timeout_ms % 1000u) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int wr = 0;
    while (y->state != SY_DONE && y->state != SY_FAILED && wr != ETIMEDOUT)
        wr = pthread_cond_timedwait(&s->cond, &s->mu, &until);
    int rc = PS_OK;
    if (y->state == SY_DONE) {
        *out = y->res;
        y->res.members = NULL;
    } else {
        snprintf(err, errlen, "%s",
                 y->state == SY_FAILED ? y->err : "no answer in time (is Redis reachable?)");
        rc = PS_ERR_IO;
    }
    /* Late answers find no exchange under way and are ignored. */
    sync_clear(y);
    y->state = SY_CANCELLED;
    atomic_store(&s->sync_active, false);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void ps_redis_sink_state_write(ps_redis_sink *s, const char *key, const char *value, size_t len,
                               bool nx_value)
{
    char buf[PS_REDIS_NAME_MAX * 2];
    size_t klen = strlen(key);
    if (klen >= PS_REDIS_NAME_MAX || len >= PS_REDIS_NAME_MAX ||
        atomic_load_explicit(&s->stop, memory_order_relaxed)) {
        add(&s->state_dropped, 1);
        return;
    }
    memcpy(buf, key, klen + 1);
    memcpy(buf + klen + 1, value, len);
    if (ring_push(&s->q, buf, klen + 1 + len, nx_value ? REC_FLAG_SETNX : REC_FLAG_SADD) != PS_OK)
        add(&s->state_dropped, 1);
    wake(s);
}

/* ---- public API ------------------------------------------------------------ */

ps_redis_sink *ps_redis_sink_new(const char *uri, const ps_redis_config *rc, char *err,
                                 size_t errlen)
{
    ps_redis_sink *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = s->efd = -1;
    if (build_settings(uri, rc, NULL, false, &s->set, err, errlen) != PS_OK)
        goto fail;
    s->want = *rc;
    snprintf(s->want_uri, sizeof(s->want_uri), "%s", uri);
    atomic_store(&s->flush_timeout_s, rc->flush_timeout_s);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    if (pthread_mutex_init(&s->mu, NULL) != 0 || pthread_cond_init(&s->cond, &ca) != 0) {
        pthread_condattr_destroy(&ca);
        snprintf(err, errlen, "redis: cannot create a lock");
        goto fail;
    }
    pthread_condattr_destroy(&ca);
    s->mu_ok = true;
    if (rc->spool_dir[0]) {
        ps_spool_config sc = {.dir = rc->spool_dir,
                              .max_bytes = rc->spool_max_bytes,
                              .fsync = rc->fsync,
                              .fsync_interval_ms = rc->fsync_interval_ms,
                              .max_inflight = MAX_INFLIGHT * 2};
        char e2[512];
        s->spool = ps_spool_open(&sc, e2, sizeof(e2));
        if (!s->spool) {
            snprintf(err, errlen, "redis: %s (set redis.spool_dir; \"\" runs without a spool)", e2);
            goto fail;
        }
    }
    uint32_t qn = PS_MAX(rc->queue_size, 16u);
    s->q.max_records = qn;
    s->q.cap = PS_MAX((uint64_t)qn * 2048u, (uint64_t)(2 * PS_SPOOL_MAX_RECORD + 64));
    s->q.buf = malloc(s->q.cap);
    s->inflight = calloc(MAX_INFLIGHT + 2, sizeof(pending));
    s->ocap = 2 * OBUF_HIGH;
    s->obuf = malloc(s->ocap);
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!s->q.buf || !s->inflight || !s->obuf || s->efd < 0) {
        snprintf(err, errlen, "redis: out of memory");
        goto fail;
    }
    s->backoff = BACKOFF_MIN_MS;
    s->state = C_IDLE;
    refresh_counters(s);

    /* The publisher takes no signals: SIGPIPE from a TLS write to a dead
     * socket becomes EPIPE, and SIGINT and friends go to the main thread. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc2 = pthread_create(&s->thread, NULL, publisher, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc2 != 0) {
        snprintf(err, errlen, "redis: cannot start publisher thread: %s", strerror(rc2));
        goto fail;
    }
    s->started = true;
    return s;
fail:
    ps_redis_sink_close(s, 0);
    return NULL;
}

static void wake(ps_redis_sink *s)
{
    if (atomic_load_explicit(&s->sleeping, memory_order_seq_cst) &&
        atomic_exchange(&s->sleeping, false)) {
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof(one)) < 0) {
            /* EAGAIN: the counter is saturated, so it is awake anyway. */
        }
    }
}

void ps_redis_sink_write(ps_redis_sink *s, const char *rec, size_t len)
{
    int rc = atomic_load_explicit(&s->stop, memory_order_relaxed) ? PS_ERR_CAP
                                                                  : ring_push(&s->q, rec, len, 0);
    if (rc == PS_OK)
        add(&s->queued, 1);
    else if (rc == PS_ERR_CAP)
        add(&s->drop_full, 1);
    else
        add(&s->drop_big, 1);
    wake(s);
}

void ps_redis_sink_publish_stats(ps_redis_sink *s, const char *json, size_t len)
{
    if (ring_push(&s->q, json, len, REC_FLAG_STATS) != PS_OK)
        add(&s->stats_dropped, 1);
    wake(s);
}

void ps_redis_sink_stats(const ps_redis_sink *s, ps_redis_stats *o)
{
    memset(o, 0, sizeof(*o));
    o->queued = get(&s->queued);
    o->delivered = get(&s->delivered);
    o->spooled = get(&s->spooled);
    o->dropped_queue_full = get(&s->drop_full);
    o->dropped_spool_cap = get(&s->drop_cap);
    o->dropped_spool_error = get(&s->drop_err);
    o->dropped_too_big = get(&s->drop_big);
    o->rejected = get(&s->rejected);
    o->dropped = o->dropped_queue_full + o->dropped_spool_cap + o->dropped_spool_error +
                 o->dropped_too_big + o->rejected;
    o->queue_depth = ring_depth((ring *)(uintptr_t)&s->q);
    o->spool_pending = get(&s->spool_pending);
    o->spool_corrupt = get(&s->spool_corrupt);
    o->reconnects = get(&s->reconnects);
    o->stats_sent = get(&s->stats_sent);
    o->stats_dropped = get(&s->stats_dropped);
    o->state_sent = get(&s->state_sent);
    o->state_dropped = get(&s->state_dropped);
    o->reconfigures = get(&s->reconfigures);
    o->connected = atomic_load(&s->connected);
}

uint64_t ps_redis_sink_stop(ps_redis_sink *s, int64_t timeout_ms)
{
    uint64_t left = 0;

    if (s->started) {
        uint64_t t = timeout_ms < 0 ? (uint64_t)atomic_load(&s->flush_timeout_s) * 1000u
                                    : (uint64_t)timeout_ms;
        atomic_store(&s->stop_at_ms, mono_ms() + t);
        atomic_store(&s->stop, true);
        uint64_t one = 1;
        if (write(s->efd, &one, sizeof(one)) < 0) {
            /* saturated: already awake */
        }
        pthread_join(s->thread, NULL);
        left = get(&s->left);
        if (left > 0 && s->spool)
            fprintf(stderr, "portside: %llu detections left in spool %s for the next start\n",
                    (unsigned long long)left, ps_spool_dir(s->spool));
        else if (left > 0)
            fprintf(stderr,
                    "portside: %llu detections could not be delivered to Redis and are lost "
                    "(no spool: redis.spool_dir is empty)\n",
                    (unsigned long long)left);
        s->started = false;
    }
    return get(&s->left);
}

uint64_t ps_redis_sink_close(ps_redis_sink *s, int64_t timeout_ms)
{
    if (!s)
        return 0;
    uint64_t left = ps_redis_sink_stop(s, timeout_ms);
    conn_close(s);
    ps_spool_close(s->spool);
    ps_tls_ctx_free(s->set.tls_ctx);
    ps_redis_update_free(s->next);
    sync_clear(&s->sync);
    if (s->mu_ok) {
        pthread_mutex_destroy(&s->mu);
        pthread_cond_destroy(&s->cond);
    }
    if (s->efd >= 0)
        close(s->efd);
    free(s->q.buf);
    free(s->inflight);
    free(s->obuf);
    free(s);
    return left;
}
