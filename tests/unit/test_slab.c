/* test_slab.c - CUnit tests of the object pools (sensor/slab.c) and huge-page tables
 * (sensor/mem.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "mem.h"
#include "slab.h"

/* A small pool: exactly max_objs objects (N), then NULL (N+1); a freed
 * object comes back; ps_slab_alloc zeroes. */
static void test_small_pool(void)
{
    ps_slab s;
    ps_slab_init(&s, 40, 300);
    CU_ASSERT_FALSE(s.huge);
    CU_ASSERT_EQUAL(s.obj_size, 48); /* rounded to 16 */
    void *objs[300];
    for (int i = 0; i < 300; i++) {
        objs[i] = ps_slab_alloc(&s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(objs[i]);
        CU_ASSERT_EQUAL(((uintptr_t)objs[i]) % 16, 0);
        memset(objs[i], 0xab, 48);
    }
    CU_ASSERT_PTR_NULL(ps_slab_alloc(&s)); /* N+1 */
    CU_ASSERT_EQUAL(s.in_use, 300);
    ps_slab_free(&s, objs[7]);
    uint8_t *again = ps_slab_alloc(&s);
    CU_ASSERT_PTR_EQUAL(again, objs[7]);
    for (int i = 0; i < 48; i++)
        CU_ASSERT_EQUAL_FATAL(again[i], 0);
    CU_ASSERT_EQUAL(ps_slab_bytes(&s), 300u * 48u);
    ps_slab_destroy(&s);
}

/* A pool that may pass 4 MiB takes 2 MiB huge-page chunks: every object is
 * usable up to the cap, chunks are 2 MiB aligned, and destroy unmaps them. */
static void test_huge_pool(void)
{
    ps_slab s;
    const uint32_t n = 3000;
    ps_slab_init(&s, 4000, n); /* 12 MB at most */
    CU_ASSERT_TRUE(s.huge);
    CU_ASSERT_EQUAL(s.per_chunk, (2u << 20) / 4000u);
    uint8_t *first = NULL;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t *o = ps_slab_alloc_raw(&s);
        CU_ASSERT_PTR_NOT_NULL_FATAL(o);
        o[0] = (uint8_t)i;
        o[3999] = (uint8_t)~i;
        if (i == 0)
            first = o;
    }
    CU_ASSERT_PTR_NULL(ps_slab_alloc_raw(&s));
    CU_ASSERT_EQUAL(s.nchunks, (n + s.per_chunk - 1) / s.per_chunk);
    for (uint32_t k = 0; k < s.nchunks; k++)
        CU_ASSERT_EQUAL(((uintptr_t)s.chunks[k]) % (2u << 20), 0);
    CU_ASSERT_PTR_NOT_NULL(first);
    ps_slab_destroy(&s);
    CU_ASSERT_EQUAL(s.nchunks, 0);
}

/* ps_mem_huge_alloc: zeroed, 2 MiB aligned, size 0 refused, a size that
 * cannot be rounded refused. */
static void test_huge_alloc(void)
{
    CU_ASSERT_PTR_NULL(ps_mem_huge_alloc(0));
    CU_ASSERT_PTR_NULL(ps_mem_huge_alloc(SIZE_MAX - 100));
    size_t sizes[] = {1, 4096, (2u << 20) - 1, 2u << 20, (2u << 20) + 1, 5u << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint8_t *p = ps_mem_huge_alloc(sizes[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(((uintptr_t)p) % (2u << 20), 0);
        CU_ASSERT_EQUAL(p[0], 0);
        CU_ASSERT_EQUAL(p[sizes[k] - 1], 0);
        p[sizes[k] - 1] = 1;
        ps_mem_huge_free(p, sizes[k]);
    }
    ps_mem_huge_free(NULL, 10); /* harmless */
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("slab", NULL, NULL);
    CU_add_test(s, "small pool N and N+1", test_small_pool);
    CU_add_test(s, "huge-page pool", test_huge_pool);
    CU_add_test(s, "huge-page tables", test_huge_alloc);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    int fails = (int)CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails != 0 || CU_get_error() != CUE_SUCCESS;
}
