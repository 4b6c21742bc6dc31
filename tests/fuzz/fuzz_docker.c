/* fuzz_docker.c - libFuzzer target: request targets through path normalisation and the Docker
 * routes. */
#include <stdlib.h>
#include <string.h>

#include "dissector.h"
#include "urlpath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    /* byte 0: method, byte 1-2: status; the rest is the request target. */
    static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "get", "DELETE"};
    ps_http_tx tx;
    memset(&tx, 0, sizeof(tx));
    strcpy(tx.method, methods[data[0] % 6]);
    tx.status = (uint16_t)((data[1] << 8 | data[2]) % 600);
    tx.response_seen = tx.status != 0;
    tx.json_items = (int64_t)data[1] - 1;
    size_t n = PS_MIN(size - 3, sizeof(tx.url) - 1);
    memcpy(tx.url, data + 3, n);
    tx.url[n] = '\0';

    ps_path p;
    ps_path_normalize((const char *)data + 3, size - 3, &p); /* raw bytes, NULs included */
    if (p.buf[0] != '/' || strlen(p.buf) >= sizeof(p.buf) || p.nseg > PS_PATH_MAX_SEGMENTS)
        abort();
    for (uint32_t i = 0; i < p.nseg; i++)
        if (p.seg[i] < p.buf || p.seg[i] + p.seg_len[i] > p.buf + sizeof(p.buf))
            abort();
    char v[16];
    ps_path_query_param(&p, "all", v, sizeof(v));

    ps_dissector_docker.on_request(&tx);
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.objects = -1;
    if (ps_dissector_docker.on_done(&tx, &ev)) {
        if (!ev.rule || !ev.rule->name || ev.outcome >= PS_OUTCOME_MAX)
            abort();
    }
    return 0;
}
