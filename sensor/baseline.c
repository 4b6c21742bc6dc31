/* baseline.c - which clients are expected: configured trusted networks and a learned baseline. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"

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

static void add(ps_baseline *b, const ps_addr *c, const ps_addr *s, uint16_t port)
{
    pair *p = find(b, c, s, port);
    if (p->used)
        return;
    if (b->stats.pairs >= b->cfg->baseline_max_pairs) {
        b->stats.pairs_dropped++;
        return;
    }
    p->used = true;
    p->client = *c;
    p->server = *s;
    p->port = port;
    b->stats.pairs++;
    b->dirty = true;
}

static int parse_addr(const char *text, ps_addr *out)
{
    ps_net n;
    if (ps_net_parse(text, &n) != PS_OK)
        return PS_ERR_BAD_INPUT;
    *out = n.addr;
    return PS_OK;
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
        char cs[64], ss[64];
        unsigned port;
        ps_addr c, s;
        if (sscanf(line, "%63s %63s %u", cs, ss, &port) != 3 || port > 65535 ||
            parse_addr(cs, &c) != PS_OK || parse_addr(ss, &s) != PS_OK) {
            fprintf(stderr, "portside: baseline %s:%u: malformed line (ignored)\n", b->path,
                    lineno);
            continue;
        }
        add(b, &c, &s, (uint16_t)port);
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
    char c[64], s[64];
    for (uint32_t i = 0; i <= b->mask; i++) {
        const pair *p = &b->slots[i];
        if (p->used)
            fprintf(f, "%s %s %u\n", ps_addr_format(&p->client, c, sizeof(c)),
                    ps_addr_format(&p->server, s, sizeof(s)), p->port);
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
        add(b, client, server, port);
        return v;
    }
    if (!b->stats.learned) {
        b->stats.learned = true;
        b->dirty = true;
        ps_baseline_save(b); /* the learned baseline survives a restart */
    }
    v.new_client = find(b, client, server, port)->used ? 0 : 1;
    return v;
}

const ps_baseline_stats *ps_baseline_stats_get(const ps_baseline *b)
{
    return &b->stats;
}
