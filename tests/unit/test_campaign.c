/* test_campaign.c - campaign stages per source, severity escalation, caps and expiry. */
#include <CUnit/Basic.h>
#include <string.h>

#include "attack.h"
#include "campaign.h"

static const ps_technique t1609 = {"T1609", "Container Administration Command", "execution"};
static const ps_technique t1610 = {"T1610", "Deploy Container", "execution"};
static const ps_technique t1611 = {"T1611", "Escape to Host", "privilege-escalation"};

static const ps_rule r_scan = {"scan.x", "scan", "", {&ps_t1046, &ps_t1613, NULL}, PS_SEV_LOW};
static const ps_rule r_disc = {"d.x", "docker", "", {&ps_t1613, NULL}, PS_SEV_MEDIUM};
static const ps_rule r_inspect = {"d.i", "docker", "", {&ps_t1613, &ps_t1552_007, NULL}, 3};
static const ps_rule r_cred = {"k.s", "kubeapi", "", {&ps_t1552_007, NULL}, PS_SEV_HIGH};
static const ps_rule r_exec = {"d.e", "docker", "", {&t1609, NULL}, PS_SEV_HIGH};
static const ps_rule r_create = {"d.c", "docker", "", {&t1610, NULL}, PS_SEV_MEDIUM};
static const ps_rule r_escape = {"d.c2", "docker", "", {&t1610, &t1611, NULL}, PS_SEV_HIGH};

#define SEC(s) ((ps_time_us)(s)*PS_USEC_PER_SEC)

static ps_addr ip(int last)
{
    ps_addr a;
    memset(&a, 0, sizeof(a));
    a.family = 4;
    a.bytes[0] = 198;
    a.bytes[1] = 18;
    a.bytes[3] = (uint8_t)last;
    return a;
}

static void test_stages(void)
{
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_scan), PS_STAGE_SCAN);
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_disc), PS_STAGE_DISCOVERY);
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_inspect), PS_STAGE_DISCOVERY); /* secondary cred: no */
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_cred), PS_STAGE_CREDENTIAL_ACCESS);
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_exec), PS_STAGE_EXECUTION);
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_create), PS_STAGE_DEPLOYMENT);
    CU_ASSERT_EQUAL(ps_stage_of_rule(&r_escape), PS_STAGE_ESCAPE);
    CU_ASSERT_STRING_EQUAL(ps_stage_name(PS_STAGE_CREDENTIAL_ACCESS), "credential-access");
    CU_ASSERT_STRING_EQUAL(ps_stage_name(99), "unknown");
}

static void test_escalation(void)
{
    ps_campaigns *c = ps_campaigns_new(64, 3600);
    ps_addr a = ip(66), b = ip(67);
    ps_campaign_info ci, cj;

    /* Discovery without a scan keeps the rule's severity. */
    ps_campaign_note(c, &b, PS_STAGE_DISCOVERY, SEC(1), &cj);
    CU_ASSERT_EQUAL(ps_campaign_severity(&cj, PS_SEV_MEDIUM), PS_SEV_MEDIUM);

    ps_campaign_note(c, &a, PS_STAGE_SCAN, SEC(10), &ci);
    CU_ASSERT_TRUE(ci.new_stage);
    CU_ASSERT_EQUAL(ps_campaign_severity(&ci, PS_SEV_LOW), PS_SEV_LOW); /* scan alone: low */
    char id[37];
    memcpy(id, ci.id, sizeof(id));

    ps_campaign_note(c, &a, PS_STAGE_DISCOVERY, SEC(20), &ci);
    CU_ASSERT_TRUE(ci.new_stage);
    CU_ASSERT_STRING_EQUAL(ci.id, id); /* same source, same campaign */
    CU_ASSERT_EQUAL(ci.stages, (1u << PS_STAGE_SCAN) | (1u << PS_STAGE_DISCOVERY));
    CU_ASSERT_EQUAL(ps_campaign_severity(&ci, PS_SEV_LOW), PS_SEV_HIGH);
    ps_campaign_note(c, &a, PS_STAGE_DISCOVERY, SEC(21), &ci);
    CU_ASSERT_FALSE(ci.new_stage);

    ps_campaign_note(c, &a, PS_STAGE_EXECUTION, SEC(30), &ci);
    CU_ASSERT_EQUAL(ps_campaign_severity(&ci, PS_SEV_MEDIUM), PS_SEV_CRITICAL);
    ps_campaign_note(c, &a, PS_STAGE_DEPLOYMENT, SEC(31), &ci);
    CU_ASSERT_EQUAL(ps_campaign_severity(&ci, PS_SEV_MEDIUM), PS_SEV_HIGH);
    CU_ASSERT_STRING_NOT_EQUAL(cj.id, ci.id); /* other source, other campaign */

    /* Idle past the timeout: a new campaign. */
    ps_campaign_note(c, &a, PS_STAGE_DISCOVERY, SEC(31 + 3601), &ci);
    CU_ASSERT_STRING_NOT_EQUAL(ci.id, id);
    CU_ASSERT_EQUAL(ci.stages, 1u << PS_STAGE_DISCOVERY);
    CU_ASSERT(ps_campaigns_stats(c)->expired >= 1);
    ps_campaigns_free(c);
}

/* max_sources N: N sources tracked, the N+1-th evicts the least recent. */
static void test_cap(void)
{
    ps_campaigns *c = ps_campaigns_new(16, 3600);
    ps_campaign_info ci;
    for (int i = 0; i < 16; i++) {
        ps_addr a = ip(i);
        ps_campaign_note(c, &a, PS_STAGE_SCAN, SEC(100 + i), &ci);
    }
    CU_ASSERT_EQUAL(ps_campaigns_stats(c)->evicted, 0);
    CU_ASSERT_EQUAL(ps_campaigns_stats(c)->active, 16);
    ps_addr n = ip(200);
    ps_campaign_note(c, &n, PS_STAGE_SCAN, SEC(200), &ci);
    CU_ASSERT_EQUAL(ps_campaigns_stats(c)->evicted, 1);
    CU_ASSERT_EQUAL(ps_campaigns_stats(c)->active, 16);
    /* The evicted one (ip 0) comes back as a fresh campaign without its scan. */
    ps_addr a0 = ip(0);
    ps_campaign_note(c, &a0, PS_STAGE_DISCOVERY, SEC(201), &ci);
    CU_ASSERT_EQUAL(ci.stages, 1u << PS_STAGE_DISCOVERY);
    ps_campaigns_free(c);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("campaign", NULL, NULL);
    CU_add_test(s, "stage of a rule", test_stages);
    CU_add_test(s, "severity escalation and expiry", test_escalation);
    CU_add_test(s, "source cap N and N+1", test_cap);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
