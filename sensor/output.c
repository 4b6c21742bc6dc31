/* output.c - JSON Lines sinks (stdout, append-mode files, fully buffered) and the Redis sink. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "output.h"

#define PS_MAX_SINKS 8

struct ps_output {
    FILE *sinks[PS_MAX_SINKS];
    bool is_stdout[PS_MAX_SINKS];
    int nfiles; /* entries of sinks[] */
    int count;
    ps_output_stats stats;
    ps_redis_sink *redis; /* at most one; counted in count */
    ps_redis_config rcfg;
    char redis_spec[1024]; /* its URI, to recognise it on reopen */
};

ps_output *ps_output_new(void)
{
    ps_output *o = calloc(1, sizeof(ps_output));
    if (o)
        ps_redis_config_default(&o->rcfg);
    return o;
}

void ps_output_set_redis_config(ps_output *o, const ps_redis_config *rc)
{
    o->rcfg = *rc;
}

/* True for "scheme://..." with a URI scheme name before "://". */
static bool has_scheme(const char *spec, size_t *len)
{
    const char *sep = strstr(spec, "://");
    if (!sep || sep == spec)
        return false;
    for (const char *p = spec; p < sep; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (p > spec && ((*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.'))))
            return false;
    *len = (size_t)(sep - spec);
    return true;
}

int ps_output_add(ps_output *o, const char *spec, char *err, size_t errlen)
{
    size_t slen;
    if (o->count == PS_MAX_SINKS) {
        snprintf(err, errlen, "too many outputs (at most %d)", PS_MAX_SINKS);
        return PS_ERR_CAP;
    }
    if (has_scheme(spec, &slen)) {
        if (strncasecmp(spec, "redis://", 8) != 0 && strncasecmp(spec, "rediss://", 9) != 0) {
            snprintf(err, errlen,
                     "unsupported output '%.*s://': use -, a file path, redis:// or rediss://",
                     (int)PS_MIN(slen, (size_t)32), spec);
            return PS_ERR_CONFIG;
        }
        if (o->redis) {
            snprintf(err, errlen, "only one Redis output is supported");
            return PS_ERR_CONFIG;
        }
        o->redis = ps_redis_sink_new(spec, &o->rcfg, err, errlen);
        if (!o->redis)
            return PS_ERR_CONFIG;
        snprintf(o->redis_spec, sizeof(o->redis_spec), "%s", spec);
        o->count++;
        return PS_OK;
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
    o->sinks[o->nfiles] = f;
    o->is_stdout[o->nfiles] = out;
    o->nfiles++;
    o->count++;
    return PS_OK;
}

int ps_output_reopen(ps_output *o, const char *const *specs, int n, const ps_redis_config *rcfg,
                     char *err, size_t errlen)
{
    FILE *files[PS_MAX_SINKS];
    bool is_out[PS_MAX_SINKS];
    int nf = 0, rc = PS_OK;
    const char *redis_spec = NULL;
    ps_redis_update *upd = NULL;
    size_t slen;

    for (int i = 0; i < n && rc == PS_OK; i++) {
        if (has_scheme(specs[i], &slen)) {
            if (!o->redis) {
                snprintf(err, errlen,
                         "a Redis output cannot be added while running (%.*s...): restart",
                         (int)PS_MIN(slen + 3, (size_t)40), specs[i]);
                rc = PS_ERR_CONFIG;
            } else if (redis_spec) {
                snprintf(err, errlen, "only one Redis output is supported");
                rc = PS_ERR_CONFIG;
            }
            redis_spec = specs[i];
            continue;
        }
        if (nf == PS_MAX_SINKS) {
            snprintf(err, errlen, "too many outputs (at most %d)", PS_MAX_SINKS);
            rc = PS_ERR_CAP;
            break;
        }
        is_out[nf] = strcmp(specs[i], "-") == 0;
        files[nf] = is_out[nf] ? stdout : fopen(specs[i], "a");
        if (!files[nf]) {
            snprintf(err, errlen, "cannot open output %s: %s", specs[i], strerror(errno));
            rc = PS_ERR_IO;
            break;
        }
        nf++;
    }
    if (rc == PS_OK && o->redis && !redis_spec) {
        snprintf(err, errlen, "the Redis output cannot be removed while running: restart");
        rc = PS_ERR_CONFIG;
    }
    /* Changed Redis settings are checked (URI, TLS files...) before anything changes. */
    if (rc == PS_OK && o->redis)
        rc = ps_redis_sink_prepare(o->redis, redis_spec, rcfg ? rcfg : &o->rcfg, &upd, err, errlen);
    if (rc != PS_OK) {
        for (int i = 0; i < nf; i++)
            if (!is_out[i])
                fclose(files[i]);
        return rc;
    }
    for (int i = 0; i < o->nfiles; i++) {
        if (o->is_stdout[i])
            fflush(o->sinks[i]);
        else if (fclose(o->sinks[i]) != 0)
            o->stats.write_errors++;
    }
    memcpy(o->sinks, files, (size_t)nf * sizeof(files[0]));
    memcpy(o->is_stdout, is_out, (size_t)nf * sizeof(is_out[0]));
    o->nfiles = nf;
    o->count = nf + (o->redis ? 1 : 0);
    if (rcfg)
        o->rcfg = *rcfg;
    if (upd) {
        ps_redis_sink_commit(o->redis, upd);
        snprintf(o->redis_spec, sizeof(o->redis_spec), "%s", redis_spec);
    }
    return PS_OK;
}

int ps_output_count(const ps_output *o)
{
    return o->count;
}

void ps_output_write(ps_output *o, const char *line, size_t len)
{
    o->stats.records++;
    for (int i = 0; i < o->nfiles; i++) {
        if (fwrite(line, 1, len, o->sinks[i]) != len || fputc('\n', o->sinks[i]) == EOF)
            o->stats.write_errors++;
    }
    if (o->redis)
        ps_redis_sink_write(o->redis, line, len);
}

bool ps_output_has_redis(const ps_output *o)
{
    return o->redis != NULL;
}

void ps_output_state_write(ps_output *o, const char *key, const char *value, size_t len,
                           bool nx_value)
{
    if (o->redis)
        ps_redis_sink_state_write(o->redis, key, value, len, nx_value);
}

int ps_output_sync_set(ps_output *o, const ps_redis_set_sync *req, ps_redis_set_result *out,
                       char *err, size_t errlen)
{
    if (!o->redis) {
        memset(out, 0, sizeof(*out));
        snprintf(err, errlen, "no Redis output");
        return PS_ERR_STATE;
    }
    return ps_redis_sink_sync_set(o->redis, req, out, err, errlen);
}

void ps_output_publish_stats(ps_output *o, const char *json, size_t len)
{
    if (o->redis)
        ps_redis_sink_publish_stats(o->redis, json, len);
}

int ps_output_flush(ps_output *o)
{
    int rc = PS_OK;
    for (int i = 0; i < o->nfiles; i++)
        if (fflush(o->sinks[i]) != 0)
            rc = PS_ERR_IO;
    return rc;
}

bool ps_output_redis_stats(const ps_output *o, ps_redis_stats *out)
{
    if (!o->redis) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    ps_redis_sink_stats(o->redis, out);
    return true;
}

const ps_output_stats *ps_output_stats_get(const ps_output *o)
{
    return &o->stats;
}

int ps_output_finish(ps_output *o, int64_t timeout_ms)
{
    int rc = ps_output_flush(o);
    if (o->redis)
        ps_redis_sink_stop(o->redis, timeout_ms);
    return rc;
}

int ps_output_close(ps_output *o, int64_t timeout_ms)
{
    if (!o)
        return PS_OK;
    int rc = ps_output_finish(o, timeout_ms);
    for (int i = 0; i < o->nfiles; i++)
        if (!o->is_stdout[i] && fclose(o->sinks[i]) != 0)
            rc = PS_ERR_IO;
    if (o->redis)
        ps_redis_sink_close(o->redis, timeout_ms);
    free(o);
    return rc;
}

void ps_output_free(ps_output *o)
{
    (void)ps_output_close(o, -1);
}
