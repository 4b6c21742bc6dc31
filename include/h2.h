/* h2.h - HTTP/2 prior-knowledge (h2c) detection: the client connection preface. */
#ifndef PS_H2_H
#define PS_H2_H

#include "ps_common.h"

/* Whether buf starts with the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
 * (RFC 9113 3.4): 1 yes, 0 no, PS_ERR_NEED_MORE for a shorter matching prefix. */
int ps_h2_probe_preface(const uint8_t *buf, size_t len);

#endif
