/* log.h - the program's diagnostics: one line each, to stderr or to syslog (journald). */
#ifndef PS_LOG_H
#define PS_LOG_H

#include <syslog.h>

#include "ps_common.h"

/* Sends later messages to syslog (openlog("portside", LOG_PID, LOG_DAEMON))
 * when `use_syslog`, otherwise to stderr as "portside: message". May be
 * called again (SIGHUP) to switch. */
void ps_log_init(bool use_syslog);

/* True while messages go to syslog. */
bool ps_log_syslog(void);

/* Logs one message at `level` (LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO).
 * A trailing newline is not needed. Safe from any thread; not from a
 * signal handler. */
__attribute__((format(printf, 2, 3))) void ps_log(int level, const char *fmt, ...);

#endif
