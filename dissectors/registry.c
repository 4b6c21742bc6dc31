/* registry.c - the one list of dissectors, in probe order. */
#include "dissector.h"

const ps_stream_dissector *const ps_stream_dissectors[] = {
    &ps_dissector_tls,
    &ps_dissector_h2, /* before HTTP/1: its preface parses as a request line */
    &ps_dissector_http,
    NULL,
};

const ps_app_dissector *const ps_app_dissectors[] = {
    &ps_dissector_docker, &ps_dissector_kubelet, &ps_dissector_kubeapi, &ps_dissector_etcd, NULL,
};
