/* campaign.c - ties an attacking source's scans, discovery and execution into one campaign. */
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "crypto.h"
#include "slab.h"

typedef struct source {
    ps_addr addr;
    char id[37];
    uint16_t stages;
    ps_time_us last;
    uint32_t hash;
    struct source *hnext, *older, *newer;
} source;

struct ps_campaigns {
    ps_slab slab;
    source **buckets;
    uint32_t nbuckets; /* power of two */
    source *oldest, *newest;
    ps_time_us idle_us;
    ps_campaign_stats stats;
};

static const char *const stage_names[PS_STAGE_MAX] = {
    "scan", "discovery", "credential-access", "execution", "deployment", "escape"};

const char *ps_stage_name(int s)
{
    return s >= 0 && s < PS_STAGE_MAX ? stage_names[s] : "unknown";
}

static int stage_of_technique(const ps_technique *t)
{
    if (strcmp(t->id, "T1046") == 0 || strcmp(t->id, "T1595") == 0)
        return PS_STAGE_SCAN;
    if (strcmp(t->id, "T1611") == 0)
        return PS_STAGE_ESCAPE;
    if (strcmp(t->id, "T1610") == 0 || strncmp(t->id, "T1543", 5) == 0)
        return PS_STAGE_DEPLOYMENT;
    if (strcmp(t->id, "T1609") == 0)
        return PS_STAGE_EXECUTION;
    if (strncmp(t->id, "T1552", 5) == 0 || strcmp(t->id, "T1528") == 0)
        return PS_STAGE_CREDENTIAL_ACCESS;
    return PS_STAGE_DISCOVERY;
}

int ps_stage_of_rule(const ps_rule *r)
{
    /* The primary technique decides, except that escape and execution
     * among the secondary ones move the call further on: a create with a
     * host bind is an escape attempt whatever its primary technique. */
    int st = stage_of_technique(r->techniques[0]);
    for (int i = 1; i < PS_RULE_MAX_TECHNIQUES && r->techniques[i]; i++) {
        int s = stage_of_technique(r->techniques[i]);
        if (s >= PS_STAGE_EXECUTION && s > st)
            st = s;
    }
    return st;
}

ps_campaigns *ps_campaigns_new(uint32_t max_sources, uint32_t idle_s)
{
    ps_campaigns *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = 1024;
    while (c->nbuckets < max_sources && c->nbuckets < (1u << 24))
        c->nbuckets <<= 1;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    ps_slab_init(&c->slab, sizeof(source), max_sources ? max_sources : 1);
    c->idle_us = (ps_time_us)idle_s * PS_USEC_PER_SEC;
    return c;
}

void ps_campaigns_free(ps_campaigns *c)
{
    if (!c)
        return;
    ps_slab_destroy(&c->slab);
    free(c->buckets);
    free(c);
}

static uint32_t addr_hash(const ps_addr *a)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < sizeof(a->bytes); i++)
        h = (h ^ a->bytes[i]) * 16777619u;
    return h ^ a->family;
}

static void lru_unlink(ps_campaigns *c, source *s)
{
    if (s->older)
        s->older->newer = s->newer;
    else
        c->oldest = s->newer;
    if (s->newer)
        s->newer->older = s->older;
    else
        c->newest = s->older;
    s->older = s->newer = NULL;
}

static void lru_push(ps_campaigns *c, source *s)
{
    s->older = c->newest;
    s->newer = NULL;
    if (c->newest)
        c->newest->newer = s;
    else
        c->oldest = s;
    c->newest = s;
}

static void drop(ps_campaigns *c, source *s)
{
    source **pp = &c->buckets[s->hash & (c->nbuckets - 1)];
    while (*pp && *pp != s)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = s->hnext;
    lru_unlink(c, s);
    ps_slab_free(&c->slab, s);
    c->stats.active--;
}

void ps_campaign_note(ps_campaigns *c, const ps_addr *src, int stage, ps_time_us ts,
                      ps_campaign_info *out)
{
    if (stage < 0 || stage >= PS_STAGE_MAX)
        stage = PS_STAGE_DISCOVERY;
    /* Sources idle past the timeout end their campaign. */
    while (c->oldest && c->idle_us && c->oldest->last + c->idle_us < ts) {
        drop(c, c->oldest);
        c->stats.expired++;
    }
    uint32_t h = addr_hash(src);
    source *s = c->buckets[h & (c->nbuckets - 1)];
    while (s && !(s->hash == h && memcmp(&s->addr, src, sizeof(*src)) == 0))
        s = s->hnext;
    if (!s) {
        s = ps_slab_alloc(&c->slab);
        if (!s && c->oldest) {
            drop(c, c->oldest);
            c->stats.evicted++;
            s = ps_slab_alloc(&c->slab);
        }
        if (!s) { /* max_sources 0: campaigns of one detection */
            memset(out, 0, sizeof(*out));
            ps_uuid4(out->id, sizeof(out->id));
            out->stage = (uint8_t)stage;
            out->stages = (uint16_t)(1u << stage);
            out->new_stage = true;
            return;
        }
        s->addr = *src;
        s->hash = h;
        ps_uuid4(s->id, sizeof(s->id));
        s->hnext = c->buckets[h & (c->nbuckets - 1)];
        c->buckets[h & (c->nbuckets - 1)] = s;
        c->stats.campaigns++;
        c->stats.active++;
    } else {
        lru_unlink(c, s);
    }
    lru_push(c, s);
    if (ts > s->last)
        s->last = ts;
    uint16_t bit = (uint16_t)(1u << stage);
    out->new_stage = !(s->stages & bit);
    s->stages |= bit;
    memcpy(out->id, s->id, sizeof(out->id));
    out->stage = (uint8_t)stage;
    out->stages = s->stages;
}

int ps_campaign_severity(const ps_campaign_info *ci, int base)
{
    int sev = base;
    bool scanned = ci->stages & (1u << PS_STAGE_SCAN);
    bool earlier = (ci->stages & ((1u << ci->stage) - 1u)) != 0;
    switch (ci->stage) {
    case PS_STAGE_SCAN:
        break;
    case PS_STAGE_DISCOVERY:
    case PS_STAGE_CREDENTIAL_ACCESS:
        if (scanned)
            sev = PS_MAX(sev, PS_SEV_HIGH);
        break;
    case PS_STAGE_DEPLOYMENT:
        if (earlier)
            sev = PS_MAX(sev, PS_SEV_HIGH);
        break;
    case PS_STAGE_EXECUTION:
    case PS_STAGE_ESCAPE:
        sev = PS_SEV_CRITICAL;
        break;
    default:
        break;
    }
    return sev;
}

const ps_campaign_stats *ps_campaigns_stats(const ps_campaigns *c)
{
    return &c->stats;
}
