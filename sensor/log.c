/* log.c - diagnostics to stderr or syslog; one call, one line, so concurrent writers do not mix. */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static volatile bool use_syslog_;

void ps_log_init(bool use_syslog)
{
    if (use_syslog && !use_syslog_)
        openlog("portside", LOG_PID, LOG_DAEMON);
    else if (!use_syslog && use_syslog_)
        closelog();
    use_syslog_ = use_syslog;
}

bool ps_log_syslog(void)
{
    return use_syslog_;
}

void ps_log(int level, const char *fmt, ...)
{
    char msg[16384];
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = PS_MIN((size_t)n, sizeof(msg) - 1);
    while (len > 0 && msg[len - 1] == '\n')
        msg[--len] = '\0';
    if (use_syslog_)
        syslog(level, "%s", msg);
    else
        fprintf(stderr, "portside: %s\n", msg); /* one stdio call: one line */
}
