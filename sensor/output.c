/* output.c - JSON Lines sinks: stdout and append-mode files, each fully buffered. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define PS_MAX_SINKS 8

struct ps_output {
    FILE *sinks[PS_MAX_SINKS];
    bool is_stdout[PS_MAX_SINKS];
    int count;
    ps_output_stats stats;
};

ps_output *ps_output_new(void)
{
    return calloc(1, sizeof(ps_output));
}

int ps_output_add(ps_output *o, const char *spec, char *err, size_t errlen)
{
    if (o->count == PS_MAX_SINKS) {
        snprintf(err, errlen, "too many outputs (at most %d)", PS_MAX_SINKS);
        return PS_ERR_CAP;
    }
    FILE *f;
    bool out = strcmp(spec, "-") == 0;
    if (out) {
        f = stdout;
    } else {
        f = fopen(spec, "a");
        if (!f) {
            snprintf(err, errlen, "cannot open output %s: %s", spec, strerror(errno));
            return PS_ERR_IO;
        }
    }
    o->sinks[o->count] = f;
    o->is_stdout[o->count] = out;
    o->count++;
    return PS_OK;
}

int ps_output_count(const ps_output *o)
{
    return o->count;
}

void ps_output_write(ps_output *o, const char *line, size_t len)
{
    o->stats.records++;
    for (int i = 0; i < o->count; i++) {
        if (fwrite(line, 1, len, o->sinks[i]) != len || fputc('\n', o->sinks[i]) == EOF)
            o->stats.write_errors++;
    }
}

int ps_output_flush(ps_output *o)
{
    int rc = PS_OK;
    for (int i = 0; i < o->count; i++)
        if (fflush(o->sinks[i]) != 0)
            rc = PS_ERR_IO;
    return rc;
}

const ps_output_stats *ps_output_stats_get(const ps_output *o)
{
    return &o->stats;
}

void ps_output_free(ps_output *o)
{
    if (!o)
        return;
    ps_output_flush(o);
    for (int i = 0; i < o->count; i++)
        if (!o->is_stdout[i])
            fclose(o->sinks[i]);
    free(o);
}
