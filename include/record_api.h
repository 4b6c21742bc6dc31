/* record_api.h - the API-specific parts of a detection record (client, auth, per-API objects). */
#ifndef PS_RECORD_API_H
#define PS_RECORD_API_H

#include "correlate.h"
#include "json_writer.h"

/* Writes `client`, `auth` and the object named after the rule's API
 * (`docker`, `kubelet`, `kubeapi`, `etcd`) of aggregate `a`'s latest call
 * into the open record object of `w` (see docs/output.md). */
void ps_record_api_objects(ps_jw *w, const ps_aggregate *a);

#endif
