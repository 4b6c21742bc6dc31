/* mem.c - large zeroed tables backed by transparent huge pages where the kernel allows. */
#include <stdint.h>
#include <sys/mman.h>

#include "mem.h"

#define HUGE_PAGE ((size_t)2 << 20)

static size_t round_huge(size_t size)
{
    return (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
}

void *ps_mem_huge_alloc(size_t size)
{
    if (size == 0 || size > SIZE_MAX - 2 * HUGE_PAGE)
        return NULL;
    size_t len = round_huge(size);
    /* Over-map by one huge page and trim, so the start is 2 MiB aligned. */
    uint8_t *m =
        mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t start = ((uintptr_t)m + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uint8_t *p = (uint8_t *)start;
    if (p > m)
        munmap(m, (size_t)(p - m));
    if (p + len < m + len + HUGE_PAGE)
        munmap(p + len, (size_t)(m + len + HUGE_PAGE - (p + len)));
#ifdef MADV_HUGEPAGE
    (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: without THP, small pages */
#endif
    return p;
}

void ps_mem_huge_free(void *p, size_t size)
{
    if (p != NULL && size != 0)
        munmap(p, round_huge(size));
}
