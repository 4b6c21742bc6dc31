/* fuzz_json_scan.c - JSON scanner: whole-input and piecewise scans must agree. */
#include <stdlib.h>

#include "json_scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int mode = (data[0] & 1) ? PS_JSON_KEY : PS_JSON_ARRAY;
    size_t step = (size_t)(data[1] % 7) + 1;
    data += 2;
    size -= 2;
    ps_json_scan a, b;
    ps_json_scan_init(&a, mode, "items");
    ps_json_scan_init(&b, mode, "items");
    ps_json_scan_feed(&a, data, size);
    for (size_t i = 0; i < size; i += step)
        ps_json_scan_feed(&b, data + i, size - i < step ? size - i : step);
    int ra = ps_json_scan_finish(&a), rb = ps_json_scan_finish(&b);
    if (ra != rb || ps_json_scan_items(&a) != ps_json_scan_items(&b) ||
        ps_json_scan_invalid(&a) != ps_json_scan_invalid(&b))
        abort();
    if (!ps_json_scan_invalid(&a) && ps_json_scan_items(&a) < -1)
        abort();
    return 0;
}
