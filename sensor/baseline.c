/* baseline.c - which clients are expected: configured trusted networks and a learned baseline. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "json_writer.h"
#include "log.h"

typedef struct pair {
    ps_addr client, server;
    uint16_t port;
    bool used;
} pair;

struct ps_baseline {
    const ps_config *cfg;
    pair *slots; /* open addressing, power of two, at most half full */
    uint32_t mask;
    ps_time_us learn_end; /* 0 until the first call starts the period */
    bool dirty;
    ps_output *out; /* Redis output the baseline is shared through, or NULL */
    char mark_key[sizeof(((ps_config *)0)->baseline_redis_key) + 16];
    char path[PS_PATH_MAX + 32];
    ps_baseline_stats stats;
};

static uint32_t pair_hash(const ps_addr *c, const ps_addr *s, uint16_t port)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < 16; i++)
        h = (h ^ c->bytes[i]) * 1099511628211ULL;
    for (size_t i = 0; i < 16; i++)
        h = (h ^ s->bytes[i]) * 1099511628211ULL;
    h = (h ^ port) * 1099511628211ULL;
    return (uint32_t)(h ^ (h >> 29));
}

/* Finds the pair's slot, or the empty slot where it belongs. */
static pair *find(ps_baseline *b, const ps_addr *c, const ps_addr *s, uint16_t port)
{
    uint32_t i = pair_hash(c, s, port) & b->mask;
    for (;;) {
        pair *p = &b->slots[i];
        if (!p->used || (p->port == port && memcmp(&p->client, c, sizeof(*c)) == 0 &&
                         memcmp(&p->server, s, sizeof(*s)) == 0))
            return p;
        i = (i + 1) & b->mask;
    }
}

/* Learns a pair; true when it is new (false: known, or the cap is reached). */
static bool add(ps_baseline *b, const ps_addr *c, const ps_addr *s, uint16_t port)
{
    pair *p = find(b, c, s, port);
    if (p->used)
        return false;
    if (b->stats.pairs >= b->cfg->baseline_max_pairs) {
        b->stats.pairs_dropped++;
        return false;
    }
    p->used = true;
    p->client = *c;
    p->server = *s;
    p->port = port;
    b->stats.pairs++;
    b->dirty = true;
    return true;
}

static int parse_addr(const char *text, ps_addr *out)
{
    ps_net n;
    if (ps_net_parse(text, &n) != PS_OK)
        return PS_ERR_BAD_INPUT;
    *out = n.addr;
    return PS_OK;
}

/* Parses "CLIENT SERVER PORT" (a state file line or a Redis set member). */
static int parse_pair(const char *line, ps_addr *c, ps_addr *s, uint16_t *port)
{
    char cs[64], ss[64];
    unsigned p;
    if (sscanf(line, "%63s %63s %u", cs, ss, &p) != 3 || p > 65535 || parse_addr(cs, c) != PS_OK ||
        parse_addr(ss, s) != PS_OK)
        return PS_ERR_BAD_INPUT;
    *port = (uint16_t)p;
    return PS_OK;
}

/* Formats a pair as parse_pair() reads it; returns the length. */
static int format_pair(const pair *p, char *out, size_t outlen)
{
    char c[64], s[64];
    return snprintf(out, outlen, "%s %s %u", ps_addr_format(&p->client, c, sizeof(c)),
                    ps_addr_format(&p->server, s, sizeof(s)), p->port);
}

/* File format, one pair a line after a header:
 *   # portside baseline v1 learned
 *   CLIENT SERVER PORT */
static void load(ps_baseline *b)
{
    FILE *f = fopen(b->path, "r");
    if (!f) {
        if (errno != ENOENT)
            fprintf(stderr, "portside: baseline %s: %s (ignored)\n", b->path, strerror(errno));
        return;
    }
    char line[256];
    unsigned lineno = 0;
    bool learned = false;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (line[0] == '#') {
            if (lineno == 1 && strstr(line, "portside baseline v1"))
                learned = strstr(line, " learned") != NULL;
            continue;
        }
        uint16_t port;
        ps_addr c, s;
        if (parse_pair(line, &c, &s, &port) != PS_OK) {
            fprintf(stderr, "portside: baseline %s:%u: malformed line (ignored)\n", b->path,
                    lineno);
            continue;
        }
        add(b, &c, &s, port);
        b->stats.loaded++;
    }
    fclose(f);
    b->dirty = false;
    if (learned) {
        b->stats.learned = true;
        b->learn_end = 1; /* in the past: learning is over */
    }
}

ps_baseline *ps_baseline_new(const ps_config *cfg)
{
    ps_baseline *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cfg = cfg;
    uint32_t n = 16;
    while (n < 2 * (uint64_t)cfg->baseline_max_pairs && n < (1u << 30))
        n <<= 1;
    b->slots = calloc(n, sizeof(*b->slots));
    if (!b->slots) {
        free(b);
        return NULL;
    }
    b->mask = n - 1;
    if (cfg->baseline_file[0])
        snprintf(b->path, sizeof(b->path), "%s", cfg->baseline_file);
    else if (cfg->state_dir[0])
        snprintf(b->path, sizeof(b->path), "%s/baseline", cfg->state_dir);
    if (b->path[0] && cfg->baseline_learn_s > 0)
        load(b);
    return b;
}

int ps_baseline_save(ps_baseline *b)
{
    if (!b->path[0])
        return PS_OK;
    char tmp[sizeof(b->path) + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", b->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "portside: cannot write baseline %s: %s\n", tmp, strerror(errno));
        return PS_ERR_IO;
    }
    fprintf(f, "# portside baseline v1%s\n", b->stats.learned ? " learned" : "");
    char line[160];
    for (uint32_t i = 0; i <= b->mask; i++) {
        const pair *p = &b->slots[i];
        if (p->used && format_pair(p, line, sizeof(line)) > 0)
            fprintf(f, "%s\n", line);
    }
    int rc = ferror(f) ? PS_ERR_IO : PS_OK;
    if (fclose(f) != 0)
        rc = PS_ERR_IO;
    if (rc == PS_OK && rename(tmp, b->path) != 0)
        rc = PS_ERR_IO;
    if (rc != PS_OK)
        fprintf(stderr, "portside: cannot write baseline %s: %s\n", b->path, strerror(errno));
    else
        b->dirty = false;
    return rc;
}

void ps_baseline_free(ps_baseline *b)
{
    if (!b)
        return;
    if (b->dirty)
        ps_baseline_save(b);
    free(b->slots);
    free(b);
}

/* "SENSOR TIME": who ended learning, and when. */
static int mark_value(const ps_baseline *b, ps_time_us ts, char *out, size_t outlen)
{
    char t[40];
    int n =
        snprintf(out, outlen, "%.200s %s", b->cfg->sensor_name, ps_format_time(ts, t, sizeof(t)));
    return PS_MIN(n, (int)outlen - 1);
}

int ps_baseline_redis_sync(ps_baseline *b, ps_output *out, ps_time_us now)
{
    const ps_config *cfg = b->cfg;
    if (cfg->baseline_learn_s == 0 || !cfg->baseline_redis || !ps_output_has_redis(out))
        return PS_OK;
    snprintf(b->mark_key, sizeof(b->mark_key), "%s:learned", cfg->baseline_redis_key);
    b->out = out; /* pairs learned from now on are written, whatever happens below */

    /* What this sensor knows goes up first, so the set is the union. */
    size_t cap = (size_t)b->stats.pairs * 100 + 1, len = 0;
    char *add_buf = malloc(cap);
    if (!add_buf)
        return PS_ERR_NOMEM;
    for (uint32_t i = 0; i <= b->mask; i++) {
        if (!b->slots[i].used)
            continue;
        int n = format_pair(&b->slots[i], add_buf + len, cap - len - 1);
        if (n > 0 && (size_t)n < cap - len - 1) {
            len += (size_t)n;
            add_buf[len++] = '\n';
        }
    }
    char mark[PS_REDIS_NAME_MAX];
    mark_value(b, now, mark, sizeof(mark));
    uint64_t max = (uint64_t)cfg->baseline_max_pairs + b->stats.pairs;
    ps_redis_set_sync req = {.key = cfg->baseline_redis_key,
                             .add = add_buf,
                             .add_len = len,
                             .mark_key = b->mark_key,
                             .mark_value = b->stats.learned ? mark : NULL,
                             .max_members = (uint32_t)PS_MIN(max, (uint64_t)UINT32_MAX),
                             .timeout_ms = cfg->baseline_redis_timeout_ms};
    ps_redis_set_result res;
    char err[600];
    int rc = ps_output_sync_set(out, &req, &res, err, sizeof(err));
    free(add_buf);
    if (rc != PS_OK) {
        ps_log(LOG_WARNING,
               "baseline: not loaded from Redis (%s: %s); using %s only; pairs learned from now "
               "on are still written to Redis",
               cfg->baseline_redis_key, err, b->path[0] ? b->path : "no state file");
        return PS_ERR_IO;
    }
    uint64_t before = b->stats.pairs, bad = 0;
    for (char *m = res.members, *end = res.members + res.len; m && m < end;) {
        char *nl = memchr(m, '\n', (size_t)(end - m));
        if (!nl)
            break;
        *nl = '\0';
        ps_addr c, s;
        uint16_t port;
        if (parse_pair(m, &c, &s, &port) == PS_OK)
            add(b, &c, &s, port);
        else
            bad++;
        m = nl + 1;
    }
    free(res.members);
    bool learned_now = res.have_mark && !b->stats.learned;
    if (learned_now) { /* another sensor (or an earlier run) finished learning */
        b->stats.learned = true;
        b->learn_end = 1;
        b->dirty = true;
    }
    b->stats.redis_loaded = b->stats.pairs - before;
    char how[PS_REDIS_NAME_MAX + 40];
    if (learned_now)
        snprintf(how, sizeof(how), "learning is over (ended by %s)", res.mark);
    else
        snprintf(how, sizeof(how), "%s", b->stats.learned ? "learning is over" : "learning");
    ps_log(LOG_NOTICE, "baseline: %u pairs read from Redis set %s, %llu new here; %llu in all; %s",
           res.count, cfg->baseline_redis_key, (unsigned long long)b->stats.redis_loaded,
           (unsigned long long)b->stats.pairs, how);
    if (res.truncated || b->stats.pairs_dropped)
        ps_log(LOG_WARNING,
               "baseline: more pairs than baseline.max_pairs (%u); the rest not loaded",
               cfg->baseline_max_pairs);
    if (bad)
        ps_log(LOG_WARNING, "baseline: %llu members of %s are not 'CLIENT SERVER PORT' (ignored)",
               (unsigned long long)bad, cfg->baseline_redis_key);
    if (b->dirty && b->path[0])
        ps_baseline_save(b); /* the state file holds the union too */
    return PS_OK;
}

static const ps_net_set *trusted_set(const ps_config *cfg, const char *app)
{
    if (strcmp(app, "docker") == 0)
        return &cfg->trust_docker;
    if (strcmp(app, "kubelet") == 0)
        return &cfg->trust_kubelet;
    if (strcmp(app, "kubeapi") == 0)
        return &cfg->trust_kubeapi;
    if (strcmp(app, "etcd") == 0)
        return &cfg->trust_etcd;
    return NULL;
}

ps_client_verdict ps_baseline_judge(ps_baseline *b, const char *app, const ps_addr *client,
                                    const ps_addr *server, uint16_t port, ps_time_us ts)
{
    ps_client_verdict v = {false, -1};
    const ps_net_set *set = trusted_set(b->cfg, app);
    v.trusted = ps_net_set_has(&b->cfg->trust_any, client) || (set && ps_net_set_has(set, client));
    if (b->cfg->baseline_learn_s == 0)
        return v;
    if (b->learn_end == 0)
        b->learn_end = ts + (ps_time_us)b->cfg->baseline_learn_s * PS_USEC_PER_SEC;
    if (ts < b->learn_end) {
        if (add(b, client, server, port) && b->out) { /* shared at once, never waiting */
            pair p = {.client = *client, .server = *server, .port = port};
            char line[160];
            int n = format_pair(&p, line, sizeof(line));
            ps_output_state_write(b->out, b->cfg->baseline_redis_key, line, (size_t)n, false);
        }
        return v;
    }
    if (!b->stats.learned) {
        b->stats.learned = true;
        b->dirty = true;
        ps_baseline_save(b); /* the learned baseline survives a restart */
        if (b->out) {
            char mark[PS_REDIS_NAME_MAX];
            int n = mark_value(b, ts, mark, sizeof(mark));
            ps_output_state_write(b->out, b->mark_key, mark, (size_t)n, true);
        }
    }
    v.new_client = find(b, client, server, port)->used ? 0 : 1;
    return v;
}

const ps_baseline_stats *ps_baseline_stats_get(const ps_baseline *b)
{
    return &b->stats;
}
