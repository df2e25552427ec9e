/*
 * The anchor sink's syslog delivery, in a file of its own: <syslog.h>
 * defines LOG_INFO and LOG_DEBUG, which util/log.h uses for its levels.
 */
#include <syslog.h>

#include "audit/internal.h"

void
audit_syslog_open(void)
{
	openlog("renkei-server", LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
audit_syslog_line(const char *line)
{
	syslog(LOG_NOTICE, "%s", line);
}

void
audit_syslog_close(void)
{
	closelog();
}
