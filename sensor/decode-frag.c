/* decode-frag.c - IPv4/IPv6 fragment reassembly in a fixed, preallocated table, Linux's rules. */
#include <stdlib.h>

#include "decode-int.h"

#define PS_FRAG_MAX_SLOTS (1u << 20)

int ps_frag_init(ps_frag_table *t, uint32_t n, uint32_t timeout_ms, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->free_head = t->old_head = t->old_tail = PS_FRAG_NIL;
    t->timeout_us = (ps_time_us)timeout_ms * 1000u;
    t->seed = seed;
    if (n > PS_FRAG_MAX_SLOTS)
        n = PS_FRAG_MAX_SLOTS;
    if (n == 0)
        return PS_OK;
    uint32_t nb = 1;
    while (nb < 2 * n)
        nb <<= 1;
    t->slots = calloc(n, sizeof *t->slots);
    t->buckets = malloc((size_t)nb * sizeof *t->buckets);
    /* Untouched pages of the arena cost no memory until used. */
    t->arena = malloc((size_t)n * PS_FRAG_BUF_SIZE);
    if (!t->slots || !t->buckets || !t->arena) {
        ps_frag_destroy(t);
        return PS_ERR_NOMEM;
    }
    t->n = n;
    t->bucket_mask = nb - 1;
    for (uint32_t i = 0; i < nb; i++)
        t->buckets[i] = PS_FRAG_NIL;
    for (uint32_t i = 0; i < n; i++) {
        t->slots[i].buf = t->arena + (size_t)i * PS_FRAG_BUF_SIZE;
        t->slots[i].next = i + 1 < n ? i + 1 : PS_FRAG_NIL;
    }
    t->free_head = 0;
    return PS_OK;
}

void ps_frag_destroy(ps_frag_table *t)
{
    free(t->slots);
    free(t->buckets);
    free(t->arena);
    t->slots = NULL;
    t->buckets = NULL;
    t->arena = NULL;
    t->n = 0;
}

static uint32_t key_bucket(const ps_frag_table *t, uint8_t family, uint8_t proto, uint32_t id,
                           const uint8_t *src, const uint8_t *dst)
{
    size_t alen = family == 4 ? 4 : 16;
    uint8_t k[8] = {
        family,     proto, 0, 0, (uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8),
        (uint8_t)id};
    uint64_t h = ps_dec_hash64(t->seed, k, 8);
    h = ps_dec_hash64(h, src, alen);
    h = ps_dec_hash64(h, dst, alen);
    return (uint32_t)ps_dec_hash_final(h) & t->bucket_mask;
}

static void age_unlink(ps_frag_table *t, uint32_t i)
{
    ps_frag_slot *s = &t->slots[i];
    if (s->prev != PS_FRAG_NIL)
        t->slots[s->prev].next = s->next;
    else
        t->old_head = s->next;
    if (s->next != PS_FRAG_NIL)
        t->slots[s->next].prev = s->prev;
    else
        t->old_tail = s->prev;
}

static void hash_unlink(ps_frag_table *t, uint32_t i)
{
    uint32_t *pp = &t->buckets[t->slots[i].bucket];
    while (*pp != PS_FRAG_NIL) {
        if (*pp == i) {
            *pp = t->slots[i].hnext;
            return;
        }
        pp = &t->slots[*pp].hnext;
    }
}

/* Takes a live slot out of the hash and age list (not yet freed). */
static void slot_detach(ps_frag_table *t, uint32_t i)
{
    hash_unlink(t, i);
    age_unlink(t, i);
}

static void slot_free(ps_frag_table *t, uint32_t i)
{
    t->slots[i].next = t->free_head;
    t->free_head = i;
}

static void slot_discard(ps_frag_table *t, uint32_t i)
{
    slot_detach(t, i);
    slot_free(t, i);
}

void ps_frag_release(ps_frag_table *t)
{
    for (uint32_t k = 0; k < t->npending; k++)
        slot_free(t, t->pending[k]);
    t->npending = 0;
}

static uint32_t lookup(const ps_frag_table *t, uint32_t b, const ps_frag_in *in)
{
    size_t alen = in->family == 4 ? 4 : 16;
    for (uint32_t i = t->buckets[b]; i != PS_FRAG_NIL; i = t->slots[i].hnext) {
        const ps_frag_slot *s = &t->slots[i];
        if (s->id == in->id && s->family == in->family && s->proto == in->proto &&
            memcmp(s->src, in->src, alen) == 0 && memcmp(s->dst, in->dst, alen) == 0)
            return i;
    }
    return PS_FRAG_NIL;
}

/* Drops reassemblies older than the timeout (packet time), oldest first. */
static void expire(ps_frag_table *t, ps_decode_stats *st, ps_time_us now)
{
    while (t->old_head != PS_FRAG_NIL) {
        ps_frag_slot *s = &t->slots[t->old_head];
        if (now <= s->created || now - s->created <= t->timeout_us)
            return;
        st->anomalies[PS_DA_FRAG_TIMEOUT]++;
        slot_discard(t, t->old_head);
    }
}

static uint32_t slot_new(ps_frag_table *t, ps_decode_stats *st, uint32_t b, ps_time_us now,
                         const ps_frag_in *in)
{
    uint32_t i = t->free_head;
    if (i != PS_FRAG_NIL) {
        t->free_head = t->slots[i].next;
    } else {
        /* Full: the oldest reassembly makes room. */
        st->anomalies[PS_DA_FRAG_TABLE_FULL]++;
        i = t->old_head;
        if (i == PS_FRAG_NIL) /* everything is pending delivery */
            return PS_FRAG_NIL;
        slot_detach(t, i);
    }
    ps_frag_slot *s = &t->slots[i];
    s->family = in->family;
    s->proto = in->proto;
    s->id = in->id;
    memset(s->src, 0, sizeof s->src);
    memset(s->dst, 0, sizeof s->dst);
    memcpy(s->src, in->src, in->family == 4 ? 4 : 16);
    memcpy(s->dst, in->dst, in->family == 4 ? 4 : 16);
    s->created = now;
    s->len = 0;
    s->hdr_len = 0;
    s->ttl = s->tos = 0;
    s->has_last = s->has_first = false;
    s->nranges = 0;
    s->bucket = b;
    s->hnext = t->buckets[b];
    t->buckets[b] = i;
    s->next = PS_FRAG_NIL;
    s->prev = t->old_tail;
    if (t->old_tail != PS_FRAG_NIL)
        t->slots[t->old_tail].next = i;
    else
        t->old_head = i;
    t->old_tail = i;
    return i;
}

/* Inserts [off, end) into the sorted, merged range list. Returns 0 on
 * success, 1 for a fragment wholly inside received data (a retransmission
 * as far as Linux is concerned), -1 for a partial overlap, -2 when the
 * datagram has too many holes. */
static int range_insert(ps_frag_slot *s, uint32_t off, uint32_t end)
{
    uint16_t k = 0;
    while (k < s->nranges && s->r[k].e <= off) {
        if (s->r[k].e == off)
            break; /* touches: merge below */
        k++;
    }
    /* Now r[k] (if any) ends at or after off. */
    if (k < s->nranges && s->r[k].s < end && s->r[k].e > off) {
        if (s->r[k].s <= off && end <= s->r[k].e)
            return 1;
        return -1;
    }
    if (k + 1 < s->nranges && s->r[k].e == off && s->r[k + 1].s < end)
        return -1;
    bool left = k < s->nranges && s->r[k].e == off;
    uint16_t rk = left ? (uint16_t)(k + 1) : k; /* first range right of us */
    bool right = rk < s->nranges && s->r[rk].s == end;
    if (left && right) {
        s->r[k].e = s->r[rk].e;
        memmove(&s->r[rk], &s->r[rk + 1], (size_t)(s->nranges - rk - 1) * sizeof s->r[0]);
        s->nranges--;
    } else if (left) {
        s->r[k].e = end;
    } else if (right) {
        s->r[rk].s = off;
    } else {
        if (s->nranges >= PS_FRAG_MAX_RANGES)
            return -2;
        memmove(&s->r[k + 1], &s->r[k], (size_t)(s->nranges - k) * sizeof s->r[0]);
        s->r[k].s = off;
        s->r[k].e = end;
        s->nranges++;
    }
    return 0;
}

static int drop(ps_frag_table *t, ps_decode_stats *st, uint32_t i, int anomaly)
{
    st->anomalies[anomaly]++;
    if (i != PS_FRAG_NIL)
        slot_discard(t, i);
    return PS_ERR_SKIP;
}

int ps_frag_add(ps_frag_table *t, ps_decode_stats *st, ps_time_us ts, const ps_frag_in *in,
                ps_frag_out *out)
{
    if (t->n == 0) {
        st->anomalies[PS_DA_FRAG_TABLE_FULL]++;
        return PS_ERR_SKIP;
    }
    expire(t, st, ts);
    uint32_t b = key_bucket(t, in->family, in->proto, in->id, in->src, in->dst);
    uint32_t i = lookup(t, b, in);

    uint32_t off = in->offset;
    uint32_t end = off + in->len; /* both < 2^17 */
    if (in->more)
        end &= ~7u; /* Linux trims non-final fragments to 8-byte units */
    if (end + in->hdr_len > 65535)
        return drop(t, st, i, PS_DA_FRAG_TOO_BIG);
    if (i == PS_FRAG_NIL) {
        i = slot_new(t, st, b, ts, in);
        if (i == PS_FRAG_NIL)
            return PS_ERR_SKIP;
    }
    ps_frag_slot *s = &t->slots[i];

    /* Linux's ip_frag_queue(): inconsistent ends or an empty fragment
     * discard the whole datagram. */
    if (!in->more) {
        if (end < s->len || (s->has_last && end != s->len))
            return drop(t, st, i, PS_DA_FRAG_OVERLAP);
        s->has_last = true;
        s->len = end;
    } else if (end > s->len) {
        if (s->has_last)
            return drop(t, st, i, PS_DA_FRAG_OVERLAP);
        s->len = end;
    }
    if (end <= off)
        return drop(t, st, i, PS_DA_FRAG_OVERLAP);

    int r = range_insert(s, off, end);
    if (r == 1) {
        /* Inside received data: an identical copy is a retransmission;
         * different bytes are ignored (first copy wins, as in Linux) but
         * counted. */
        if (memcmp(s->buf + off, in->data, end - off) != 0)
            st->anomalies[PS_DA_FRAG_OVERLAP]++;
        return PS_ERR_SKIP;
    }
    if (r == -1)
        return drop(t, st, i, PS_DA_FRAG_OVERLAP);
    if (r == -2)
        return drop(t, st, i, PS_DA_FRAG_TOO_BIG);
    memcpy(s->buf + off, in->data, end - off);
    if (off == 0) {
        s->has_first = true;
        s->ttl = in->ttl;
        s->tos = in->tos;
        s->hdr_len = in->hdr_len;
    }
    if (!(s->has_last && s->nranges == 1 && s->r[0].s == 0 && s->r[0].e == s->len))
        return PS_ERR_SKIP;

    /* Complete: the buffer stays ours until the next frame. */
    slot_detach(t, i);
    if (t->npending >= PS_FRAG_MAX_PENDING) {
        slot_free(t, i);
        st->anomalies[PS_DA_TUNNEL_TOO_DEEP]++;
        return PS_ERR_SKIP;
    }
    t->pending[t->npending++] = i;
    out->data = s->buf;
    out->len = s->len;
    out->hdr_len = s->hdr_len;
    out->ttl = s->ttl;
    out->tos = s->tos;
    return PS_OK;
}
