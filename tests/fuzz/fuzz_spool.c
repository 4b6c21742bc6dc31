/* fuzz_spool.c - libFuzzer target: any bytes as a spool segment and cursor left by a crash. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void put(const char *name, const uint8_t *d, size_t n)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        abort();
    if (n > 0 && write(fd, d, n) != (ssize_t)n)
        abort();
    close(fd);
}

/* Input: first byte picks how many leading bytes form the cursor file
 * (0-40); the rest is the segment. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];

    if (!dir[0]) {
        /* tmpfs when there is one: the spool's file I/O is the cost of each input */
        strcpy(dir, "/dev/shm/fuzz_spool.XXXXXX");
        if (!mkdtemp(dir)) {
            strcpy(dir, "/tmp/fuzz_spool.XXXXXX");
            if (!mkdtemp(dir))
                abort();
        }
    }
    if (size < 1 || size > 65536)
        return 0;
    size_t cn = PS_MIN((size_t)(data[0] % 41), size - 1);
    put("cursor", data + 1, cn);
    put("00000000000000000007.seg", data + 1 + cn, size - 1 - cn);
    ps_spool_config c = {
        .dir = dir, .max_bytes = 1 << 20, .fsync = PS_FSYNC_NEVER, .max_inflight = 8};
    ps_spool *s = ps_spool_open(&c, err, sizeof(err));
    if (!s)
        abort();
    uint64_t pending = ps_spool_pending(s), got = 0;
    const uint8_t *d;
    size_t len;
    uint32_t ep;
    int rc;
    while ((rc = ps_spool_read(s, &d, &len, &ep)) == PS_OK) {
        if (len > PS_SPOOL_MAX_RECORD)
            abort();
        ps_spool_commit(s, ep);
        got++;
    }
    /* Every record counted at open is handed out exactly once. */
    if (rc != PS_ERR_NOT_FOUND || got != pending || ps_spool_pending(s) != 0)
        abort();
    if (ps_spool_append(s, "x", 1) != PS_OK)
        abort();
    ps_spool_close(s);
    /* Clean up for the next input (the appended segment remains). */
    DIR *dp = opendir(dir);
    struct dirent *e;
    while (dp && (e = readdir(dp)) != NULL) {
        char p[400];
        if (strstr(e->d_name, ".seg") == NULL)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        unlink(p);
    }
    if (dp)
        closedir(dp);
    return 0;
}
