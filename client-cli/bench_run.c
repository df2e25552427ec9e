/*
 * What every bench scenario shares: the stop flag that SIGINT/SIGTERM
 * set (bench.c installs the handler), the clocks, latency samples and
 * the report. Below the scenarios and the command: it calls only
 * output.c (tables, JSON) of the CLI.
 */
#include "bench.h"

#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* The stop flag (see cli.h: signal flags are the one kind of global). */
static volatile sig_atomic_t bench_stop;

void
bench_on_stop(int sig)
{
	(void)sig;
	bench_stop = 1;
}

int
bench_stopping(void)
{
	return bench_stop != 0;
}

int64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
bench_self_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---- samples */

void
bench_samples_add(struct bench_samples *s, int64_t ns)
{
	if (s->n == s->cap) {
		if (s->cap >= BENCH_SAMPLES_MAX) {
			s->dropped++;
			return;
		}
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		if (s->v == NULL)
			abort();
	}
	s->v[s->n++] = ns;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

int64_t
bench_samples_q(struct bench_samples *s, double q)
{
	size_t i;

	if (s->n == 0)
		return 0;
	/* sorting twice is harmless; the report asks for three quantiles */
	qsort(s->v, s->n, sizeof *s->v, cmp_i64);
	i = (size_t)(q * (double)(s->n - 1) + 0.5);
	return s->v[i < s->n ? i : s->n - 1];
}

void
bench_samples_free(struct bench_samples *s)
{
	free(s->v);
	memset(s, 0, sizeof *s);
}

/* ---- the report */

void
bench_report_init(struct bench_report *r, const char *scenario)
{
	static const char *const hdr[] = {"metric", "value", "unit"};

	r->json = json_pack("{s:s}", "scenario", scenario);
	r->table = cli_table_new(3, hdr, "lrl");
}

void
bench_row(struct bench_report *r, const char *label, const char *key, double value,
          int decimals, const char *unit)
{
	char v[64];
	const char *cells[3] = {label, v, unit};

	snprintf(v, sizeof v, "%.*f", decimals, value);
	cli_table_add(r->table, cells);
	if (key != NULL)
		json_object_set_new(r->json, key, decimals == 0 ? json_integer((json_int_t)value)
		                                                : json_real(value));
}

void
bench_row_text(struct bench_report *r, const char *label, const char *key, const char *text)
{
	const char *cells[3] = {label, text, ""};

	cli_table_add(r->table, cells);
	if (key != NULL)
		json_object_set_new(r->json, key, json_string(text));
}

void
bench_row_latency(struct bench_report *r, const char *label, const char *key,
                  struct bench_samples *s)
{
	static const char *const suffix[] = {" p50", " p99", " p99.9"};
	static const double qs[] = {0.5, 0.99, 0.999};
	char l[128];
	double ms[3];

	for (int i = 0; i < 3; i++) {
		ms[i] = (double)bench_samples_q(s, qs[i]) / 1e6;
		snprintf(l, sizeof l, "%s%s", label, suffix[i]);
		bench_row(r, l, NULL, ms[i], ms[i] < 10 ? 2 : 1, "ms");
	}
	json_object_set_new(r->json, key,
	                    json_pack("{s:f,s:f,s:f,s:I,s:I}", "p50_ms", ms[0], "p99_ms", ms[1],
	                              "p999_ms", ms[2], "samples", (json_int_t)s->n, "dropped",
	                              (json_int_t)s->dropped));
}

void
bench_describe(struct bench_report *r, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	json_object_set_new(r->json, "description", json_string(buf));
}

void
bench_report_print(struct bench_opts *o, struct bench_report *r)
{
	if (o->cli->json) {
		cli_json_print(o->cli, r->json);
	} else {
		json_t *d = json_object_get(r->json, "description");
		printf("renkei bench %s%s%s\n", o->scenario, d ? ": " : "",
		       d ? json_string_value(d) : "");
		cli_table_print(r->table, stdout, "  ");
		json_decref(r->json);
	}
	r->json = NULL;
	cli_table_free(r->table);
	r->table = NULL;
}
