/* client.h - names the client tool and version behind an API call from its user agent and habits.
 */
#ifndef PS_CLIENT_H
#define PS_CLIENT_H

#include "ps_common.h"

typedef struct ps_client_id {
    char tool[32];    /* "docker-cli", "kubectl", "client-go", "curl"...; "unknown" */
    char version[48]; /* "" when not told */
    char program[48]; /* client-go: the program's own name ("peirates"); else "" */
} ps_client_id;

/* Identifies the client from `user_agent` (NUL-terminated, may be empty),
 * the API `app` ("docker", "kubelet"...) and the request target `url` (for
 * habits such as the /v1.24/ prefix of old Docker clients). Never fails:
 * an unknown agent is tool "other" (with its product token as program), an
 * absent one "unknown". */
void ps_client_identify(const char *user_agent, const char *app, const char *url,
                        ps_client_id *out);

#endif
