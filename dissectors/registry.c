/* registry.c - the one list of dissectors, in probe order. */
#include "dissector.h"

const ps_stream_dissector *const ps_stream_dissectors[] = {
    &ps_dissector_http,
    NULL,
};

const ps_app_dissector *const ps_app_dissectors[] = {
    &ps_dissector_docker,
    NULL,
};
