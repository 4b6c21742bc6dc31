/* campaign.h - per-source campaigns: scan -> discovery -> execution/deployment/escape. */
#ifndef PS_CAMPAIGN_H
#define PS_CAMPAIGN_H

#include "ps_common.h"
#include "event.h"

/* Stages in the order an intrusion usually moves through them. */
enum ps_stage {
    PS_STAGE_SCAN = 0,
    PS_STAGE_DISCOVERY,
    PS_STAGE_CREDENTIAL_ACCESS,
    PS_STAGE_EXECUTION,
    PS_STAGE_DEPLOYMENT,
    PS_STAGE_ESCAPE,
    PS_STAGE_MAX
};

/* Stable name of stage `s` ("scan", "discovery", "credential-access", ...). */
const char *ps_stage_name(int s);

/* Stage a rule stands for: the furthest stage among its techniques
 * (T1046 scan; discovery tactic; T1552.* credential access; T1609
 * execution; T1610 deployment; T1611 escape). */
int ps_stage_of_rule(const ps_rule *r);

typedef struct ps_campaign_info {
    char id[37];     /* UUID of the source's campaign */
    uint8_t stage;   /* stage of the detection at hand */
    uint16_t stages; /* bit (1 << stage) for every stage seen from the source */
    bool new_stage;  /* this detection added `stage` */
} ps_campaign_info;

typedef struct ps_campaign_stats {
    uint64_t campaigns; /* created */
    uint64_t evicted;   /* closed early at max_sources */
    uint64_t expired;   /* idle longer than the timeout */
    uint64_t active;
} ps_campaign_stats;

typedef struct ps_campaigns ps_campaigns;

/* Creates the table: at most max_sources sources, a campaign ends after
 * idle_s seconds without a detection. NULL on allocation failure. */
ps_campaigns *ps_campaigns_new(uint32_t max_sources, uint32_t idle_s);
void ps_campaigns_free(ps_campaigns *c);

/* Records that `src` reached `stage` at `ts` and fills `out`. The least
 * recently active source is evicted (counted) when the table is full. */
void ps_campaign_note(ps_campaigns *c, const ps_addr *src, int stage, ps_time_us ts,
                      ps_campaign_info *out);

/* Severity of a detection given its campaign: a scan alone stays low;
 * discovery or credential access after a scan is high; execution and
 * escape are critical; deployment after any earlier stage is high. Never
 * lower than `base`. */
int ps_campaign_severity(const ps_campaign_info *ci, int base);

const ps_campaign_stats *ps_campaigns_stats(const ps_campaigns *c);

#endif
