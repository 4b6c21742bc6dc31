/* slab.h - fixed-size object pool with a hard cap, grown in chunks, never shrunk. */
#ifndef PS_SLAB_H
#define PS_SLAB_H

#include "ps_common.h"

typedef struct ps_slab {
    size_t obj_size; /* rounded up to 16 bytes */
    uint32_t per_chunk;
    uint32_t max_objs; /* hard cap */
    uint32_t in_use, peak, allocated;
    void *free_list;
    void **chunks;
    uint32_t *chunk_objs; /* objects in each chunk (huge chunks are unmapped by size) */
    uint32_t nchunks, chunks_cap;
    bool huge; /* chunks of 2 MiB huge pages (see mem.h) */
} ps_slab;

/* Prepares a pool of at most max_objs objects of obj_size bytes. Memory is
 * taken a chunk at a time as the pool grows, so a small workload stays small;
 * nothing is returned to the system before ps_slab_destroy(). */
void ps_slab_init(ps_slab *s, size_t obj_size, uint32_t max_objs);
void ps_slab_destroy(ps_slab *s);

/* Returns a zeroed object, or NULL at the cap (the caller counts it). */
void *ps_slab_alloc(ps_slab *s);
/* As ps_slab_alloc() but not zeroed (contents undefined): for large
 * objects whose user initialises what it reads. */
void *ps_slab_alloc_raw(ps_slab *s);
void ps_slab_free(ps_slab *s, void *obj);

/* Bytes reserved from the system. */
size_t ps_slab_bytes(const ps_slab *s);

#endif
