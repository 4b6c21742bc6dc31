/* mem.h - large zeroed tables backed by transparent huge pages where the kernel allows. */
#ifndef PS_MEM_H
#define PS_MEM_H

#include <stddef.h>

/* Tables at least this large are worth huge pages. */
#define PS_MEM_HUGE_MIN (1u << 20)

/* Returns `size` zeroed bytes, 2 MiB aligned and advised as huge pages
 * (MADV_HUGEPAGE), or NULL when the mapping fails (the caller falls back to
 * calloc). Pages are faulted in on first touch, as with calloc, but a
 * growing table then costs one fault per 2 MiB instead of 512: on a
 * virtual machine the page faults of growing per-flow and per-aggregate
 * state were a quarter of a replay's time. Free with ps_mem_huge_free()
 * and the same size. */
void *ps_mem_huge_alloc(size_t size);
void ps_mem_huge_free(void *p, size_t size);

#endif
