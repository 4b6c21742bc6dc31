/* privileges.h - gives up root after the captures are open, keeping at most CAP_NET_RAW. */
#ifndef PS_PRIVILEGES_H
#define PS_PRIVILEGES_H

#include "ps_common.h"

/* Switches to `user` (its uid, primary gid, no supplementary groups) when
 * user is non-empty, and leaves the process with no capability but
 * CAP_NET_RAW when keep_net_raw (needed to reopen an interface), or none;
 * the bounding set is cut the same way and no_new_privs is set. With an
 * empty user and uid 0 nothing changes (the caller chose to stay root); a
 * non-root process (e.g. systemd's User= with ambient capabilities) still
 * has its capabilities reduced. Call from the capture thread before other
 * threads need capabilities (capabilities are per thread; the uid change
 * applies to the whole process). Returns PS_OK, PS_ERR_NOT_FOUND (unknown
 * user) or PS_ERR_IO, with one line in err. */
int ps_privileges_drop(const char *user, bool keep_net_raw, char *err, size_t errlen);

/* Effective capability set of the calling thread (bit n = capability n). */
uint64_t ps_privileges_effective(void);

#endif
