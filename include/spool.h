/* spool.h - bounded, crash-safe on-disk FIFO of records waiting for a sink to come back. */
#ifndef PS_SPOOL_H
#define PS_SPOOL_H

#include "ps_common.h"

/* When appended data is forced to disk. */
enum { PS_FSYNC_ALWAYS = 0, PS_FSYNC_INTERVAL = 1, PS_FSYNC_NEVER = 2 };

/* Largest payload one record may carry. */
#define PS_SPOOL_MAX_RECORD (1u << 20)
/* Bytes of framing per record: magic, length, CRC32C. */
#define PS_SPOOL_HDR 12u

typedef struct ps_spool ps_spool;

typedef struct ps_spool_config {
    const char *dir;            /* created (one level) when missing */
    uint64_t max_bytes;         /* cap on all segment files together */
    uint64_t segment_bytes;     /* rotate after this; 0 = max_bytes / 16 in [64 KiB, 16 MiB] */
    int fsync;                  /* PS_FSYNC_* */
    uint32_t fsync_interval_ms; /* for PS_FSYNC_INTERVAL */
    uint32_t max_inflight;      /* records read but not committed; 0 = 1024 */
} ps_spool_config;

typedef struct ps_spool_stats {
    uint64_t appended;    /* records written */
    uint64_t committed;   /* records consumed for good */
    uint64_t dropped_cap; /* records lost with the oldest segment at the cap */
    uint64_t dropped_io;  /* records not written: ENOSPC, EIO... */
    uint64_t dropped_big; /* records larger than the cap or PS_SPOOL_MAX_RECORD */
    uint64_t corrupt;     /* damaged regions skipped while reading */
    uint64_t truncated;   /* partial records at a segment's end skipped */
    uint64_t pending;     /* records not yet committed */
    uint64_t unread;      /* records not yet handed out by ps_spool_read */
    uint64_t bytes;       /* size of all segment files */
    uint32_t segments;
} ps_spool_stats;

/* Opens (creating if needed) the spool in cfg->dir, takes an exclusive
 * flock() on DIR/lock and scans the segments left by an earlier run, whose
 * uncommitted records are read first. Returns NULL with a message in err
 * when the directory cannot be used or another process holds the lock. The
 * caller owns the spool; it is not thread-safe (one owner thread). */
ps_spool *ps_spool_open(const ps_spool_config *cfg, char *err, size_t errlen);

/* Appends one record. At the cap, whole oldest segments are deleted first
 * and their uncommitted records counted in dropped_cap. Returns PS_OK,
 * PS_ERR_CAP (record too large, counted) or PS_ERR_IO (write failed, e.g.
 * disk full; the segment is truncated back and the record counted). */
int ps_spool_append(ps_spool *s, const void *data, size_t len);

/* Hands out the next unread record in append order: *data stays valid until
 * the next call on the spool. *epoch identifies the read for commit. Returns
 * PS_OK, PS_ERR_NOT_FOUND (nothing unread) or PS_ERR_CAP (max_inflight
 * records read and not committed). Damaged records are skipped and counted. */
int ps_spool_read(ps_spool *s, const uint8_t **data, size_t *len, uint32_t *epoch);

/* Marks the oldest read-but-uncommitted record as consumed. Ignored when
 * `epoch` is stale (a rewind, or the records were dropped at the cap).
 * Fully consumed segments are deleted. */
void ps_spool_commit(ps_spool *s, uint32_t epoch);

/* Forgets every read-but-uncommitted record so it is read again; commits
 * with an epoch handed out before the rewind are ignored from then on. */
void ps_spool_rewind(ps_spool *s);

/* Housekeeping: persists the commit position and honours the interval fsync
 * policy. Call every few hundred ms and after a batch of commits. */
void ps_spool_tick(ps_spool *s);

uint64_t ps_spool_pending(const ps_spool *s);
uint64_t ps_spool_unread(const ps_spool *s);
void ps_spool_stats_get(const ps_spool *s, ps_spool_stats *out);
const char *ps_spool_dir(const ps_spool *s);

/* Persists positions, syncs (unless fsync is "never"), releases the lock. */
void ps_spool_close(ps_spool *s);

/* CRC32C (Castagnoli) of buf, continuing from crc (start with 0). */
uint32_t ps_crc32c(uint32_t crc, const void *buf, size_t len);
/* The same without the CPU's crc32 instruction (for tests and CPUs without
 * SSE4.2, which ps_crc32c falls back to by itself). */
uint32_t ps_crc32c_sw(uint32_t crc, const void *buf, size_t len);

#endif
