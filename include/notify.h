/* notify.h - systemd's readiness and watchdog protocol (sd_notify) without libsystemd. */
#ifndef PS_NOTIFY_H
#define PS_NOTIFY_H

#include "ps_common.h"

/* Reads NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID) and opens
 * the datagram socket; without NOTIFY_SOCKET every call is a no-op. Call
 * once at start, before dropping privileges. */
void ps_notify_init(void);

/* Sends one state message ("READY=1", "STOPPING=1", "STATUS=..."), best
 * effort: systemd not listening is not an error. */
void ps_notify(const char *state);

/* Microseconds between WATCHDOG=1 messages (half of WATCHDOG_USEC), 0
 * when the service has no watchdog. */
uint64_t ps_notify_watchdog_interval_us(void);

#endif
