/*
 * log — operational log lines, one per event, on stderr.
 *
 * Each line is logfmt: time, level, a stable event name operators can
 * grep and alert on (e.g. "NET-CULL"), then key=value pairs:
 *
 *   2026-11-22T03:51:38.123Z level=info event=SERVER-READY port=8443
 *
 * Rule: operational logs never carry patient data, note text, passwords,
 * tokens or keys. Identify things by numeric id or login only.
 *
 * The level threshold is the one piece of process-wide mutable state: it is
 * set once by main before any thread starts, and only read afterwards.
 * Lines are written with one write(2) each, so threads do not interleave.
 */
#ifndef RK_UTIL_LOG_H
#define RK_UTIL_LOG_H

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

extern int log_threshold;

/* Parse "error", "warn", "info", "debug"; returns -1 if unknown. */
int log_level_parse(const char *name);

void log_write(int level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Check the level before formatting anything. `fmt` holds the key=value
 * pairs after the event name (may be ""). */
#define LOG(level, event, ...)                                                 \
	do {                                                                   \
		if ((level) <= log_threshold)                                  \
			log_write((level), (event), __VA_ARGS__);              \
	} while (0)

#define LOG_E(event, ...) LOG(LOG_ERROR, event, __VA_ARGS__)
#define LOG_W(event, ...) LOG(LOG_WARN, event, __VA_ARGS__)
#define LOG_I(event, ...) LOG(LOG_INFO, event, __VA_ARGS__)
#define LOG_D(event, ...) LOG(LOG_DEBUG, event, __VA_ARGS__)

#endif
