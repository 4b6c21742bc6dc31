/* fuzz_apis.c - the HTTP API dissectors and client identification on arbitrary requests and
 * answers. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "dissector.h"
#include "http_parse.h"
#include "secrets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const methods[] = {"GET", "POST", "PUT", "HEAD", "DELETE", "get"};

/* Input: byte 0 picks the dissector, method and flags; then NUL-separated
 * url, user agent, accept, request body, response body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t req[4096], resp[4096];
    if (size < 2)
        return 0;
    ps_secrets_configure("fuzz-key-0123456789abcdef", NULL);
    uint8_t sel = data[0], st = data[1];
    data += 2;
    size -= 2;
    const char *part[5] = {"", "", "", "", ""};
    size_t plen[5] = {0, 0, 0, 0, 0};
    size_t i = 0;
    for (int k = 0; k < 5; k++) {
        size_t s = i;
        while (i < size && data[i] != 0)
            i++;
        part[k] = (const char *)data + s;
        plen[k] = i - s;
        if (i < size)
            i++;
    }
    ps_http_tx tx;
    memset(&tx, 0, sizeof(tx));
    tx.json_items = -1;
    strcpy(tx.method, methods[(sel >> 2) % 6]);
    memcpy(tx.url, part[0], PS_MIN(plen[0], sizeof(tx.url) - 1));
    memcpy(tx.user_agent, part[1], PS_MIN(plen[1], sizeof(tx.user_agent) - 1));
    ps_http_hdr hdr = {(const uint8_t *)"Accept", (const uint8_t *)part[2], 6, (uint32_t)plen[2]};
    ps_http_head head;
    memset(&head, 0, sizeof(head));
    head.hdrs = &hdr;
    head.num_hdrs = 1;
    tx.req_head = &head;
    const ps_app_dissector *d = ps_app_dissectors[sel % 4];
    if (!d)
        return 0;
    d->on_request(&tx);
    tx.req_head = NULL;
    memcpy(req, part[3], PS_MIN(plen[3], sizeof(req)));
    tx.req_body.data = req;
    tx.req_body.len = (uint32_t)PS_MIN(plen[3], sizeof(req));
    tx.req_body.cap = sizeof(req);
    tx.req_body.truncated = (sel & 0x80) != 0;
    memcpy(resp, part[4], PS_MIN(plen[4], sizeof(resp)));
    tx.resp_body.data = resp;
    tx.resp_body.len = (uint32_t)PS_MIN(plen[4], sizeof(resp));
    tx.resp_body.cap = sizeof(resp);
    static const uint16_t statuses[] = {0, 101, 200, 201, 204, 400, 401, 403, 404, 405, 500};
    tx.status = statuses[st % 11];
    tx.response_seen = tx.status != 0;
    tx.resp_hdrs = (uint32_t)(st >> 4) & 7u;
    tx.json_items = (st & 0x80) ? 3 : -1;
    ps_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.objects = -1;
    if (d->on_done(&tx, &ev)) {
        if (!ev.rule || !ev.rule->name || !ev.rule->techniques[0])
            abort();
        if (strnlen(ev.command, sizeof(ev.command)) == sizeof(ev.command) ||
            strnlen(ev.escape, sizeof(ev.escape)) == sizeof(ev.escape) ||
            strnlen(ev.etcd_key, sizeof(ev.etcd_key)) == sizeof(ev.etcd_key) ||
            ev.n_env_secrets > PS_EV_ENV_SECRETS)
            abort();
    }
    ps_client_id id;
    ps_client_identify(tx.user_agent, d->name, tx.url, &id);
    if (!id.tool[0])
        abort();
    return 0;
}
