/* baseline.h - trusted client networks and the learned (client, server) baseline. */
#ifndef PS_BASELINE_H
#define PS_BASELINE_H

#include "ps_common.h"
#include "config.h"
#include "output.h"

/* Verdict on a client for one API call. */
typedef struct ps_client_verdict {
    bool trusted;      /* in the API's trusted networks */
    int8_t new_client; /* 1 outside the learned baseline, 0 inside, -1 no baseline yet */
} ps_client_verdict;

typedef struct ps_baseline_stats {
    uint64_t pairs;         /* (client, server, port) pairs in the baseline */
    uint64_t pairs_dropped; /* not learned: max_pairs reached */
    uint64_t loaded;        /* pairs read from the state file */
    uint64_t redis_loaded;  /* pairs from Redis this sensor did not have */
    bool learned;           /* learning period over */
} ps_baseline_stats;

typedef struct ps_baseline ps_baseline;

/* Creates the baseline for `cfg` and loads its state file when one exists
 * (a file from a finished learning period ends learning at once). NULL on
 * allocation failure; an unreadable or malformed file is reported on
 * stderr and ignored. */
ps_baseline *ps_baseline_new(const ps_config *cfg);

/* Saves (when learning produced something new) and frees. */
void ps_baseline_free(ps_baseline *b);

/* Judges `client` calling `app` ("docker", "kubelet"...) on server:port at
 * `ts`, learning the pair while the learning period runs. */
ps_client_verdict ps_baseline_judge(ps_baseline *b, const char *app, const ps_addr *client,
                                    const ps_addr *server, uint16_t port, ps_time_us ts);

/* Shares the baseline through the Redis output `out` (when learning is on,
 * baseline.redis is true and `out` has a Redis sink; otherwise does
 * nothing and returns PS_OK). Start-up only, before capture: sends this
 * sensor's pairs (and, if learning is over, the "learned" marker, set once
 * with the sensor's name and `now`) to the set baseline.redis_key, reads
 * the set back and merges it within baseline.max_pairs; a marker ends
 * learning here too. Waits up to baseline.redis_timeout_ms; when Redis
 * cannot be reached, logs a warning and keeps the state file's pairs
 * (PS_ERR_IO). Either way, pairs learned later are queued to Redis as
 * they are learned (never waiting), and the marker when learning ends. */
int ps_baseline_redis_sync(ps_baseline *b, ps_output *out, ps_time_us now);

/* Writes the state file now (atomic rename). PS_OK, or PS_ERR_IO. */
int ps_baseline_save(ps_baseline *b);

const ps_baseline_stats *ps_baseline_stats_get(const ps_baseline *b);

#endif
