/* output.h - where detection records go: stdout and files as JSON Lines (Redis later). */
#ifndef PS_OUTPUT_H
#define PS_OUTPUT_H

#include "ps_common.h"

typedef struct ps_output ps_output;

typedef struct ps_output_stats {
    uint64_t records;      /* lines handed to ps_output_write */
    uint64_t write_errors; /* lines a sink failed to take */
} ps_output_stats;

ps_output *ps_output_new(void);

/* Adds a sink: "-" is stdout, anything else a file opened for appending.
 * Returns PS_OK, PS_ERR_IO (message in err) or PS_ERR_CAP (too many). */
int ps_output_add(ps_output *o, const char *spec, char *err, size_t errlen);

/* Number of sinks added. */
int ps_output_count(const ps_output *o);

/* Writes one record (without newline; one is added) to every sink. */
void ps_output_write(ps_output *o, const char *line, size_t len);

/* Flushes buffered lines; returns PS_OK or PS_ERR_IO when a sink failed. */
int ps_output_flush(ps_output *o);

const ps_output_stats *ps_output_stats_get(const ps_output *o);

/* Flushes and closes every sink. */
void ps_output_free(ps_output *o);

#endif
