/* test_redis_spill.c - Redis sink internals: moving the queue to the spool, answers to moved
 * records. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* White-box: the sink's static functions are reached by including its
 * source; this file then defines the sink's exported symbols itself, so the
 * library's copy is not linked in. Every spool append made by the sink goes
 * through probe_append, which can act as the capture thread writing while
 * a spill is under way. */
#define ps_spool_append probe_append
#include "../../sensor/output-redis.c"
#undef ps_spool_append
int ps_spool_append(ps_spool *s, const void *data, size_t len);

static ps_redis_sink *probe_sink;
static int probe_writes; /* records the "capture thread" writes during a spill */
static int probe_next_id;
static int probe_appends;

static int rec(char *out, size_t outlen, int id)
{
    return snprintf(out, outlen, "{\"id\":\"%05d\",\"pad\":\"xxxxxxxxxxxxxxxx\"}", id);
}

static void sink_write_id(ps_redis_sink *s, int id)
{
    char b[128];
    int n = rec(b, sizeof(b), id);
    ps_redis_sink_write(s, b, (size_t)n);
}

int probe_append(ps_spool *sp, const void *data, size_t len)
{
    int rc = ps_spool_append(sp, data, len);
    /* From the second record of the spill on, the first is on disk: its room
     * in the queue must already be free for the capture side. */
    if (probe_sink && probe_appends++ > 0 && probe_writes > 0) {
        sink_write_id(probe_sink, probe_next_id++);
        probe_writes--;
    }
    return rc;
}

static char dir[] = "/tmp/test_redis_spill.XXXXXX";
static char spool_dir[300];

/* A sink whose publisher thread has already stopped (Redis unreachable,
 * nothing queued), so the test drives its internals from this thread. */
static ps_redis_sink *quiet_sink(uint32_t queue_size)
{
    char err[512];
    char cmd[400];
    ps_redis_config rc;

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_dir);
    CU_ASSERT(system(cmd) == 0);
    ps_redis_config_default(&rc);
    snprintf(rc.spool_dir, sizeof(rc.spool_dir), "%s", spool_dir);
    rc.queue_size = queue_size;
    rc.connect_timeout_ms = 100;
    ps_redis_sink *s = ps_redis_sink_new("redis://127.0.0.1:1", &rc, err, sizeof(err));
    if (!s) {
        fprintf(stderr, "sink: %s\n", err);
        return NULL;
    }
    CU_ASSERT_EQUAL(ps_redis_sink_stop(s, 0), 0);
    atomic_store(&s->stop, false); /* accept writes again */
    conn_close(s);
    inflight_clear(s);
    s->state = C_IDLE;
    return s;
}

/* Reads the spool from the start, expecting exactly ids[0..n) in order. */
static void expect_spool(ps_redis_sink *s, const int *ids, int n)
{
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    char want[128];
    int got = 0;

    ps_spool_rewind(s->spool);
    while (ps_spool_read(s->spool, &d, &len, &ep) == PS_OK) {
        if (got < n) {
            int wl = rec(want, sizeof(want), ids[got]);
            CU_ASSERT(len == (size_t)wl && memcmp(d, want, len) == 0);
        }
        got++;
    }
    CU_ASSERT_EQUAL(got, n);
    ps_spool_rewind(s->spool);
}

/* The regression: a spill used to hold the whole queue until it had caught
 * up with the producer, so the capture side found the queue full (and
 * dropped records) while the disk was keeping up. Room must come back
 * record by record, and the spill must not chase the producer. */
static void test_spill_frees_room_as_it_goes(void)
{
    ps_redis_sink *s = quiet_sink(16);
    CU_ASSERT_FATAL(s != NULL);
    for (int i = 0; i < 17; i++)
        sink_write_id(s, i);
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.queued, 16); /* N fit, N+1 is dropped */
    CU_ASSERT_EQUAL(st.dropped_queue_full, 1);

    probe_sink = s;
    probe_appends = 0;
    probe_writes = 15;
    probe_next_id = 100;
    spill_ring(s);
    probe_sink = NULL;
    CU_ASSERT_EQUAL(probe_writes, 0);
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.dropped_queue_full, 1); /* nothing lost during the spill */
    CU_ASSERT_EQUAL(st.queued, 31);
    CU_ASSERT_EQUAL(st.spooled, 16);
    CU_ASSERT_EQUAL(st.queue_depth, 15); /* written meanwhile: next spill */
    CU_ASSERT_EQUAL(s->rd, atomic_load(&s->q.tail));

    spill_ring(s);
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.spooled, 31);
    CU_ASSERT_EQUAL(st.queue_depth, 0);
    int ids[31];
    for (int i = 0; i < 16; i++)
        ids[i] = i;
    for (int i = 0; i < 15; i++)
        ids[16 + i] = 100 + i;
    expect_spool(s, ids, 31);
    ps_redis_sink_close(s, 0);
}

/* Answers every command in flight, one by one. */
static void answer_all(ps_redis_sink *s)
{
    redisReply ok = {.type = REDIS_REPLY_INTEGER, .integer = 1};
    while (s->inf_count > 0)
        CU_ASSERT_FATAL(on_reply(s, &ok, mono_ms()));
}

/* Records sent from the queue and then moved to the spool: their answers
 * release nothing (the spooled copy is what counts), the spooled copies are
 * sent before newer records, and each is confirmed once. */
static void test_answers_to_spilled_records(void)
{
    ps_redis_sink *s = quiet_sink(64);
    CU_ASSERT_FATAL(s != NULL);
    s->state = C_READY;
    for (int i = 0; i < 4; i++)
        sink_write_id(s, i);
    fill_pipeline(s, mono_ms());
    CU_ASSERT_EQUAL(s->inf_count, 4);
    spill_ring(s); /* Redis slow: the 4 sent records go to the spool too */
    CU_ASSERT_EQUAL(ring_depth(&s->q), 0);
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 4);
    for (int i = 4; i < 6; i++)
        sink_write_id(s, i);
    fill_pipeline(s, mono_ms()); /* spooled 0..3 first, then 4, 5 from the queue */
    CU_ASSERT_EQUAL(s->inf_count, 4 + 4 + 2);

    redisReply ok = {.type = REDIS_REPLY_INTEGER, .integer = 1};
    for (int i = 0; i < 4 * 2; i++) /* PUBLISH + XADD for each spilled record */
        CU_ASSERT_FATAL(on_reply(s, &ok, mono_ms()));
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.delivered, 0);
    CU_ASSERT_EQUAL(ring_depth(&s->q), 2);
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 4);
    for (int i = 0; i < 4 * 2; i++)
        CU_ASSERT_FATAL(on_reply(s, &ok, mono_ms()));
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 0);
    CU_ASSERT_EQUAL(ring_depth(&s->q), 2);
    answer_all(s);
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.delivered, 6);
    CU_ASSERT_EQUAL(ring_depth(&s->q), 0);
    ps_redis_sink_close(s, 0);
}

/* A connected sink with records 0..2 sent from the spool and 3, 4 from the
 * queue, all unanswered. */
static ps_redis_sink *sent_from_spool_and_queue(void)
{
    ps_redis_sink *s = quiet_sink(64);
    if (!s)
        return NULL;
    s->state = C_READY;
    for (int i = 0; i < 3; i++)
        sink_write_id(s, i);
    spill_ring(s);
    for (int i = 3; i < 5; i++)
        sink_write_id(s, i);
    fill_pipeline(s, mono_ms());
    CU_ASSERT_EQUAL(s->inf_count, 5);
    return s;
}

/* A connection lost with records in flight from both the spool and the
 * queue: all of them are sent again, spool first, and late answers of the
 * dead connection cannot confirm anything. */
static void test_cut_connection_resends(void)
{
    ps_redis_sink *s = sent_from_spool_and_queue();
    CU_ASSERT_FATAL(s != NULL);
    uint32_t old_epoch = s->inflight[s->inf_head].epoch;
    conn_fail(s, "test: connection cut");
    CU_ASSERT_EQUAL(s->inf_count, 0);
    CU_ASSERT_EQUAL(ps_spool_unread(s->spool), 3);
    ps_spool_commit(s->spool, old_epoch); /* a stale answer */
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 3);
    s->state = C_READY;
    fill_pipeline(s, mono_ms());
    CU_ASSERT_EQUAL(s->inf_count, 5);
    answer_all(s);
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.delivered, 5);
    CU_ASSERT_EQUAL(ring_depth(&s->q), 0);
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 0);
    ps_redis_sink_close(s, 0);
}

/* SIGHUP hands new settings over: a new URI drops the connection but keeps
 * the spool and the queue, whose records go out again, spool first; a new
 * stream name changes the next commands only, on the same connection. */
static void test_update_keeps_records(void)
{
    char err[512];
    ps_redis_sink *s = sent_from_spool_and_queue();
    CU_ASSERT_FATAL(s != NULL);

    ps_redis_config rc = s->want;
    strcpy(rc.stream, "s2");
    ps_redis_update *u = NULL;
    CU_ASSERT_EQUAL(ps_redis_sink_prepare(s, s->want_uri, &rc, &u, err, sizeof(err)), PS_OK);
    CU_ASSERT_FATAL(u != NULL);
    ps_redis_sink_commit(s, u);
    take_update(s, mono_ms());
    CU_ASSERT_EQUAL(s->state, C_READY); /* no reconnect for a name */
    CU_ASSERT_EQUAL(s->inf_count, 5);
    CU_ASSERT_STRING_EQUAL(s->set.cfg.stream, "s2");
    CU_ASSERT_EQUAL(s->set.cfg.queue_size, 64); /* restart-only keys untouched */

    CU_ASSERT_EQUAL(ps_redis_sink_prepare(s, "redis://127.0.0.1:2/5", &rc, &u, err, sizeof(err)),
                    PS_OK);
    CU_ASSERT_FATAL(u != NULL);
    ps_redis_sink_commit(s, u);
    uint64_t now = mono_ms();
    take_update(s, now);
    CU_ASSERT_EQUAL(s->state, C_IDLE);
    CU_ASSERT_EQUAL(s->inf_count, 0);
    CU_ASSERT(s->next_attempt <= now); /* at once, no backoff */
    CU_ASSERT_EQUAL(s->set.uri.port, 2);
    CU_ASSERT_EQUAL(s->set.uri.db, 5);
    CU_ASSERT_EQUAL(ps_spool_pending(s->spool), 3);
    CU_ASSERT_EQUAL(ring_depth(&s->q), 2);
    ps_redis_stats st;
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.reconfigures, 2);
    /* Connected again: everything is sent, to the new stream. */
    s->state = C_READY;
    s->olen = s->ooff = 0;
    fill_pipeline(s, mono_ms());
    CU_ASSERT_EQUAL(s->inf_count, 5);
    CU_ASSERT(memmem(s->obuf, s->olen, "$2\r\ns2\r\n", 8) != NULL);
    CU_ASSERT(memmem(s->obuf, s->olen, "portside:detections", 19) == NULL);
    answer_all(s);
    ps_redis_sink_stats(s, &st);
    CU_ASSERT_EQUAL(st.delivered, 5);
    s->state = C_IDLE;
    ps_redis_sink_close(s, 0);
}

/* SSCAN answers: members kept within max_members, odd members ignored,
 * malformed answers and error answers end the exchange. */
static void test_sync_answers(void)
{
    ps_redis_sink *s = quiet_sink(64);
    CU_ASSERT_FATAL(s != NULL);
    set_sync *y = &s->sync;
    atomic_store(&s->sync_active, true);
    y->state = SY_SCANNING;
    y->max_members = 3;
    redisReply m[4] = {{.type = REDIS_REPLY_STRING, .str = "a b 1", .len = 5},
                       {.type = REDIS_REPLY_STRING, .str = "bad\nx", .len = 5},
                       {.type = REDIS_REPLY_STRING, .str = "c d 2", .len = 5},
                       {.type = REDIS_REPLY_INTEGER, .integer = 7}};
    redisReply *mp[4] = {&m[0], &m[1], &m[2], &m[3]};
    redisReply members = {.type = REDIS_REPLY_ARRAY, .elements = 4, .element = mp};
    redisReply cursor = {.type = REDIS_REPLY_STRING, .str = "17", .len = 2};
    redisReply *top_el[2] = {&cursor, &members};
    redisReply top = {.type = REDIS_REPLY_ARRAY, .elements = 2, .element = top_el};
    y->scan_in_flight = true;
    sync_reply(s, K_SYNC_SCAN, &top);
    CU_ASSERT_EQUAL(y->state, SY_SCANNING); /* more to read */
    CU_ASSERT_FALSE(y->scan_in_flight);
    CU_ASSERT_STRING_EQUAL(y->cursor, "17");
    CU_ASSERT_EQUAL(y->res.count, 2);
    CU_ASSERT(y->res.len == 12 && memcmp(y->res.members, "a b 1\nc d 2\n", 12) == 0);
    sync_reply(s, K_SYNC_SCAN, &top); /* a repeat fills the cap, the next is one too many */
    CU_ASSERT_EQUAL(y->res.count, 3);
    CU_ASSERT_TRUE(y->res.truncated);
    CU_ASSERT_EQUAL(y->state, SY_DONE);
    /* GET of the marker. */
    y->state = SY_ADDING;
    redisReply mark = {.type = REDIS_REPLY_STRING, .str = "s1 2026-01-01T00:00:00Z", .len = 23};
    sync_reply(s, K_SYNC_GET, &mark);
    CU_ASSERT_TRUE(y->res.have_mark);
    CU_ASSERT_STRING_EQUAL(y->res.mark, "s1 2026-01-01T00:00:00Z");
    /* A malformed SSCAN answer, then an error answer. */
    y->state = SY_SCANNING;
    top.elements = 1;
    sync_reply(s, K_SYNC_SCAN, &top);
    CU_ASSERT_EQUAL(y->state, SY_FAILED);
    CU_ASSERT_STRING_EQUAL(y->err, "unexpected SSCAN answer");
    y->state = SY_ADDING;
    redisReply e = {.type = REDIS_REPLY_ERROR, .str = "WRONGTYPE x", .len = 11};
    sync_reply(s, K_SYNC_ADD, &e);
    CU_ASSERT_EQUAL(y->state, SY_FAILED);
    CU_ASSERT_STRING_EQUAL(y->err, "WRONGTYPE x");
    /* Answers after the caller gave up change nothing. */
    y->state = SY_CANCELLED;
    top.elements = 2;
    sync_reply(s, K_SYNC_SCAN, &top);
    CU_ASSERT_EQUAL(y->state, SY_CANCELLED);
    atomic_store(&s->sync_active, false);
    ps_redis_sink_close(s, 0);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    snprintf(spool_dir, sizeof(spool_dir), "%s/spool", dir);
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite su = CU_add_suite("redis_spill", NULL, NULL);
    CU_add_test(su, "spill frees room as it goes", test_spill_frees_room_as_it_goes);
    CU_add_test(su, "answers to spilled records", test_answers_to_spilled_records);
    CU_add_test(su, "cut connection resends", test_cut_connection_resends);
    CU_add_test(su, "update keeps records", test_update_keeps_records);
    CU_add_test(su, "sync answers", test_sync_answers);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_ErrorCode err = CU_get_error();
    CU_cleanup_registry();
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return fails != 0 || err != 0;
}
