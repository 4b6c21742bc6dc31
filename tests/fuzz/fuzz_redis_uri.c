/* fuzz_redis_uri.c - libFuzzer target: any text through the Redis URI parser. */
#include <stdlib.h>
#include <string.h>

#include "redis_out.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ps_redis_uri u;
    char err[600];

    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    int rc = ps_redis_uri_parse(text, &u, err, sizeof(err));
    if (rc == PS_OK) {
        /* What parsed is well-formed. */
        if (u.host[0] == '\0' || u.port == 0 || memchr(u.host, '\0', sizeof(u.host)) == NULL)
            abort();
    } else if (rc != PS_ERR_CONFIG || strncmp(err, "bad Redis URI '", 15) != 0) {
        abort();
    }
    free(text);
    return 0;
}
