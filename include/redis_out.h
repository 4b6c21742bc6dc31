/* redis_out.h - Redis output: URI parsing, settings, and a sink that never blocks its caller. */
#ifndef PS_REDIS_OUT_H
#define PS_REDIS_OUT_H

#include "ps_common.h"
#include "spool.h"

#define PS_REDIS_NAME_MAX 256  /* channel, stream, user, env var names (with NUL) */
#define PS_REDIS_PATH_MAX 1024 /* file and directory names (with NUL) */

/* A parsed redis:// or rediss:// URI. */
typedef struct ps_redis_uri {
    bool tls;                     /* rediss:// */
    char user[PS_REDIS_NAME_MAX]; /* ACL user, "" = none */
    char host[PS_REDIS_NAME_MAX]; /* name or address, IPv6 without brackets */
    uint16_t port;                /* default 6379 */
    uint32_t db;                  /* default 0 */
} ps_redis_uri;

/* Parses "redis[s]://[user@]host[:port][/db]" strictly (host may be
 * "[IPv6]"; user is unreserved characters or %XX escapes; no password, no
 * query). Returns PS_OK or PS_ERR_CONFIG with a message such as
 * "bad Redis URI 'redis://x:99999': port out of range" in err. */
int ps_redis_uri_parse(const char *uri, ps_redis_uri *out, char *err, size_t errlen);

/* The [redis] configuration group (see config/portside.conf). */
typedef struct ps_redis_config {
    char channel[PS_REDIS_NAME_MAX];      /* PUBLISH target, "portside:alerts" */
    char stream[PS_REDIS_NAME_MAX];       /* XADD target, "portside:detections" */
    char stats_stream[PS_REDIS_NAME_MAX]; /* stats XADD target, "portside:stats" */
    uint32_t stream_maxlen;               /* MAXLEN ~ N, 0 = no trimming; 100000 */
    bool publish, xadd;                   /* both default true */
    char password[PS_REDIS_NAME_MAX];     /* "" = take it from password_env */
    char password_env[PS_REDIS_NAME_MAX]; /* "PORTSIDE_REDIS_PASSWORD" */
    char ca_file[PS_REDIS_PATH_MAX];
    char cert_file[PS_REDIS_PATH_MAX];
    char key_file[PS_REDIS_PATH_MAX];
    bool verify_hostname; /* default true */
    uint32_t connect_timeout_ms;
    uint32_t command_timeout_ms;
    uint32_t queue_size;               /* records between capture and publisher, 4096 */
    char spool_dir[PS_REDIS_PATH_MAX]; /* "" = no spool */
    uint64_t spool_max_bytes;          /* spool_max_mb in bytes */
    int fsync;                         /* PS_FSYNC_*, default interval */
    uint32_t fsync_interval_ms;
    uint32_t flush_timeout_s; /* wait at shutdown, default 10 */
} ps_redis_config;

/* Fills every documented default. */
void ps_redis_config_default(ps_redis_config *rc);

/* Counters of one sink; "dropped" records are lost for good. */
typedef struct ps_redis_stats {
    uint64_t queued;              /* records taken from the capture side */
    uint64_t delivered;           /* records Redis acknowledged */
    uint64_t spooled;             /* records written to the spool */
    uint64_t dropped;             /* sum of the dropped_* counters and rejected */
    uint64_t dropped_queue_full;  /* queue full (spool not keeping up) or closed */
    uint64_t dropped_spool_cap;   /* oldest spooled records removed at the cap */
    uint64_t dropped_spool_error; /* spool write failed (disk full...) or no spool */
    uint64_t dropped_too_big;     /* larger than a record may be */
    uint64_t rejected;            /* Redis answered with a permanent error */
    uint64_t queue_depth;         /* records now in the queue */
    uint64_t spool_pending;       /* records now in the spool */
    uint64_t spool_corrupt;       /* damaged spool records skipped */
    uint64_t reconnects;          /* connections established after the first */
    uint64_t stats_sent, stats_dropped;
    uint64_t state_sent;    /* shared-state writes (learned baseline) Redis confirmed */
    uint64_t state_dropped; /* ... lost: queue full, or Redis down (never spooled) */
    uint64_t reconfigures;  /* settings changes taken by the publisher (SIGHUP) */
    bool connected;
} ps_redis_stats;

typedef struct ps_redis_sink ps_redis_sink;

/* Creates a sink for `uri` with settings rc (copied): checks the settings,
 * opens the spool (locked against a second process) and the TLS context,
 * then starts the publisher thread, which connects in the background.
 * Returns NULL with a one-line message in err. */
ps_redis_sink *ps_redis_sink_new(const char *uri, const ps_redis_config *rc, char *err,
                                 size_t errlen);

/* Queues one detection record (JSON, no newline). Never blocks, never does
 * I/O; a full queue drops the record and counts it. One producer thread. */
void ps_redis_sink_write(ps_redis_sink *s, const char *rec, size_t len);

/* Queues a stats record for the stats stream; best effort, never spooled. */
void ps_redis_sink_publish_stats(ps_redis_sink *s, const char *json, size_t len);

/* Queues SADD key member, or SET key value NX when `nx_value` is true
 * (shared state such as the learned baseline). Never blocks; best effort:
 * dropped and counted (state_dropped) when the queue is full or Redis is
 * down, never spooled. Same producer thread as ps_redis_sink_write(). */
void ps_redis_sink_state_write(ps_redis_sink *s, const char *key, const char *value, size_t len,
                               bool nx_value);

/* A start-up exchange with a set several processes share: add members, set
 * a marker once, read everything back. */
typedef struct ps_redis_set_sync {
    const char *key; /* the set */
    const char *add; /* members to SADD first, each ending in '\n'; NULL = none */
    size_t add_len;
    const char *mark_key;   /* a string key read back with GET */
    const char *mark_value; /* non-NULL: SET mark_key mark_value NX first */
    uint32_t max_members;   /* read at most this many members */
    uint32_t timeout_ms;    /* longest wait */
} ps_redis_set_sync;

typedef struct ps_redis_set_result {
    char *members;  /* malloc'd; each member ends in '\n' (caller frees) */
    size_t len;     /* bytes in members */
    uint32_t count; /* members read (SSCAN may repeat one) */
    bool truncated; /* the set has more than max_members */
    bool have_mark; /* mark_key exists; its value in mark */
    char mark[PS_REDIS_NAME_MAX];
} ps_redis_set_result;

/* Runs `req` on the publisher's connection (after the connection's AUTH
 * and SELECT, before records it has not sent yet) and waits for it: the
 * caller blocks, so call it before capture starts. Ends early when a
 * connection attempt fails. PS_OK with *out filled (free out->members), or
 * PS_ERR_IO (unreachable, timeout, or an error answer such as WRONGTYPE:
 * message in err; *out empty). */
int ps_redis_sink_sync_set(ps_redis_sink *s, const ps_redis_set_sync *req, ps_redis_set_result *out,
                           char *err, size_t errlen);

/* Settings checked and ready to hand to a running sink (SIGHUP). */
typedef struct ps_redis_update ps_redis_update;

/* Checks new settings for a running sink: the URI and the keys that may
 * change while running (channel, streams, trimming, publish/xadd, password,
 * TLS files, hostname check, timeouts, flush timeout). Queue and spool
 * settings are not looked at: they need a restart. Returns PS_OK with
 * *out = NULL when nothing differs, PS_OK with an update to pass to
 * ps_redis_sink_commit() (or free), or PS_ERR_CONFIG with a message in err
 * (bad URI, CA file unreadable...). Caller's thread; never touches the
 * connection. */
int ps_redis_sink_prepare(ps_redis_sink *s, const char *uri, const ps_redis_config *rc,
                          ps_redis_update **out, char *err, size_t errlen);

/* Hands `u` (owned from now on) to the publisher. A changed URI, password
 * or TLS setting makes it drop the connection and connect with the new
 * ones; other changes apply to the next records without reconnecting. The
 * queue and the spool are kept; records written but not yet confirmed are
 * sent again (at least once). */
void ps_redis_sink_commit(ps_redis_sink *s, ps_redis_update *u);

void ps_redis_update_free(ps_redis_update *u);

/* Snapshot of the counters; safe from any thread. */
void ps_redis_sink_stats(const ps_redis_sink *s, ps_redis_stats *out);

/* Waits up to timeout_ms (< 0: flush_timeout_s) for everything queued or
 * spooled to be delivered, then stops the publisher, leaving the rest in
 * the spool with a warning on stderr. Later writes are counted as dropped.
 * Returns the number of records left undelivered. Idempotent. */
uint64_t ps_redis_sink_stop(ps_redis_sink *s, int64_t timeout_ms);

/* ps_redis_sink_stop(), then frees the sink. */
uint64_t ps_redis_sink_close(ps_redis_sink *s, int64_t timeout_ms);

#endif
