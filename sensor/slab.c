/* slab.c - fixed-size object pool so that per-flow state never costs a malloc per packet. */
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "slab.h"

void ps_slab_init(ps_slab *s, size_t obj_size, uint32_t max_objs)
{
    memset(s, 0, sizeof(*s));
    if (obj_size < sizeof(void *))
        obj_size = sizeof(void *);
    s->obj_size = (obj_size + 15u) & ~(size_t)15u;
    s->max_objs = max_objs;
    s->per_chunk = max_objs < 256u ? (max_objs ? max_objs : 1u) : 256u;
    /* A pool that may grow past a few MiB (per-flow state, aggregates) takes
     * whole huge pages at a time: one page fault per 2 MiB as it grows. */
    if ((uint64_t)s->obj_size * max_objs >= 4ull * PS_MEM_HUGE_MIN &&
        (uint64_t)s->obj_size * s->per_chunk <= ((uint64_t)2 << 20)) {
        uint64_t n = ((uint64_t)2 << 20) / s->obj_size;
        s->per_chunk = (uint32_t)(n < max_objs ? n : max_objs);
        s->huge = true;
    }
}

void ps_slab_destroy(ps_slab *s)
{
    for (uint32_t i = 0; i < s->nchunks; i++) {
        if (s->huge)
            ps_mem_huge_free(s->chunks[i], (size_t)s->chunk_objs[i] * s->obj_size);
        else
            free(s->chunks[i]);
    }
    free(s->chunks);
    free(s->chunk_objs);
    memset(s, 0, sizeof(*s));
}

static int grow(ps_slab *s)
{
    if (s->allocated >= s->max_objs)
        return PS_ERR_CAP;
    if (s->nchunks == s->chunks_cap) {
        uint32_t ncap = s->chunks_cap ? s->chunks_cap * 2u : 16u;
        void **nc = realloc(s->chunks, ncap * sizeof(*nc));
        if (!nc)
            return PS_ERR_NOMEM;
        s->chunks = nc;
        uint32_t *no = realloc(s->chunk_objs, ncap * sizeof(*no));
        if (!no)
            return PS_ERR_NOMEM;
        s->chunk_objs = no;
        s->chunks_cap = ncap;
    }
    uint32_t n = s->per_chunk;
    if (n > s->max_objs - s->allocated)
        n = s->max_objs - s->allocated;
    char *chunk = s->huge ? ps_mem_huge_alloc(s->obj_size * n) : malloc(s->obj_size * n);
    if (!chunk)
        return PS_ERR_NOMEM;
    s->chunk_objs[s->nchunks] = n;
    s->chunks[s->nchunks++] = chunk;
    for (uint32_t i = n; i-- > 0;) {
        void **obj = (void **)(chunk + (size_t)i * s->obj_size);
        *obj = s->free_list;
        s->free_list = obj;
    }
    s->allocated += n;
    return PS_OK;
}

void *ps_slab_alloc_raw(ps_slab *s)
{
    if (!s->free_list && grow(s) != PS_OK)
        return NULL;
    void **obj = s->free_list;
    s->free_list = *obj;
    s->in_use++;
    if (s->in_use > s->peak)
        s->peak = s->in_use;
    return obj;
}

void *ps_slab_alloc(ps_slab *s)
{
    void *obj = ps_slab_alloc_raw(s);
    if (obj)
        memset(obj, 0, s->obj_size);
    return obj;
}

void ps_slab_free(ps_slab *s, void *obj)
{
    if (!obj)
        return;
    /* Only the first word is overwritten (free-list link): callers that keep
     * stale pointers (app.c's timeout ring) check a field further in. */
    void **o = obj;
    *o = s->free_list;
    s->free_list = o;
    s->in_use--;
}

size_t ps_slab_bytes(const ps_slab *s)
{
    return (size_t)s->allocated * s->obj_size;
}
