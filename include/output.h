/* output.h - where detection records go: stdout and files as JSON Lines, and Redis. */
#ifndef PS_OUTPUT_H
#define PS_OUTPUT_H

#include "ps_common.h"
#include "redis_out.h"

typedef struct ps_output ps_output;

typedef struct ps_output_stats {
    uint64_t records;      /* lines handed to ps_output_write */
    uint64_t write_errors; /* lines a sink failed to take */
} ps_output_stats;

ps_output *ps_output_new(void);

/* Settings for Redis sinks added later (copied); defaults apply without it. */
void ps_output_set_redis_config(ps_output *o, const ps_redis_config *rc);

/* Adds a sink: "-" is stdout, "redis://..." or "rediss://..." a Redis sink
 * (see redis_out.h; at most one), anything else a file opened for
 * appending. Returns PS_OK, PS_ERR_IO (message in err), PS_ERR_CONFIG (bad
 * URI or Redis settings, message in err) or PS_ERR_CAP (too many). */
int ps_output_add(ps_output *o, const char *spec, char *err, size_t errlen);

/* Replaces the file and stdout sinks by `specs` (SIGHUP: reopens files
 * moved away by log rotation, applies a changed output list) and hands the
 * Redis sink a changed URI or changed settings `rcfg` (NULL: the running
 * ones; see ps_redis_sink_prepare() for what may change). Every new file
 * is opened and new Redis settings checked before anything changes, so on
 * error (PS_ERR_IO, PS_ERR_CAP, or PS_ERR_CONFIG: bad Redis settings, or a
 * Redis output added or removed, which needs a restart) nothing changes
 * and err says why. */
int ps_output_reopen(ps_output *o, const char *const *specs, int n, const ps_redis_config *rcfg,
                     char *err, size_t errlen);

/* True when a Redis sink was added. */
bool ps_output_has_redis(const ps_output *o);

/* Queues a shared-state write for the Redis sink (SADD key value, or SET
 * key value NX); best effort, never waits; nothing without a Redis sink. */
void ps_output_state_write(ps_output *o, const char *key, const char *value, size_t len,
                           bool nx_value);

/* ps_redis_sink_sync_set() on the Redis sink (blocks up to the request's
 * timeout: start-up only); PS_ERR_STATE without a Redis sink. */
int ps_output_sync_set(ps_output *o, const ps_redis_set_sync *req, ps_redis_set_result *out,
                       char *err, size_t errlen);

/* Number of sinks added. */
int ps_output_count(const ps_output *o);

/* Writes one record (without newline; one is added) to every sink. The
 * Redis sink only queues it: this never waits on the network. */
void ps_output_write(ps_output *o, const char *line, size_t len);

/* Sends a stats JSON object to the Redis stats stream (best effort, never
 * spooled); does nothing without a Redis sink. */
void ps_output_publish_stats(ps_output *o, const char *json, size_t len);

/* Flushes buffered lines of file sinks (Redis delivers on its own thread);
 * returns PS_OK or PS_ERR_IO when a sink failed. */
int ps_output_flush(ps_output *o);

const ps_output_stats *ps_output_stats_get(const ps_output *o);

/* Counters of the Redis sink into *out; false (and zeros) without one. */
bool ps_output_redis_stats(const ps_output *o, ps_redis_stats *out);

/* End of run: flushes file sinks and gives the Redis sink up to timeout_ms
 * (< 0: redis.flush_timeout_s) to deliver what is queued or spooled; the
 * rest stays in the spool and a warning line goes to stderr. Counters stay
 * readable; nothing is written afterwards. Returns PS_OK, or PS_ERR_IO
 * when a file sink failed to flush. */
int ps_output_finish(ps_output *o, int64_t timeout_ms);

/* ps_output_finish(), then closes every sink and frees o. */
int ps_output_close(ps_output *o, int64_t timeout_ms);

/* ps_output_close(o, -1), ignoring the result. */
void ps_output_free(ps_output *o);

#endif
