/*
 * The server seen from outside while the bench runs: its process (found
 * by the port it listens on), CPU time and RSS from /proc, and its own
 * counters from GET /metrics (Prometheus text; loopback may read it).
 *
 * CPU per post and per delivery divide all the server's CPU time in the
 * window by the posts (deliveries) it committed (queued) in that window,
 * as counted by the server itself: they are upper bounds for each, not
 * an attribution. The per-thread split says where it went (the thread
 * whose id is the PID is the service thread: TLS, WebSocket, routing).
 */
#include "bench.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_INODES 16

static int
read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (f == NULL)
		return -1;
	n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = '\0';
	return 0;
}

/* utime + stime of /proc/.../stat, in seconds. */
static int
stat_cpu(const char *path, double *cpu)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0;

	if (read_small(path, buf, sizeof buf) != 0 || (p = strrchr(buf, ')')) == NULL)
		return -1;
	/* after the name: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

long
bench_rss_kib(int pid)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof path, "/proc/%d/status", pid);
	if (read_small(path, buf, sizeof buf) != 0 || (p = strstr(buf, "\nVmRSS:")) == NULL)
		return -1;
	return strtol(p + 7, NULL, 10);
}

/* Inodes of the sockets listening on port (IPv4 and IPv6). */
static size_t
listen_inodes(int port, unsigned long *inodes)
{
	static const char *const files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	char line[512];
	size_t n = 0;

	for (int i = 0; i < 2; i++) {
		FILE *f = fopen(files[i], "re");
		if (f == NULL)
			continue;
		while (fgets(line, sizeof line, f) != NULL && n < MAX_INODES) {
			unsigned int lport, state;
			unsigned long inode;
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*s %*[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu",
			           &lport, &state, &inode) == 3 &&
			    (int)lport == port && state == 0x0A)
				inodes[n++] = inode;
		}
		fclose(f);
	}
	return n;
}

/* 1 if process pid has one of the sockets open. */
static int
holds_socket(const char *pid, const unsigned long *inodes, size_t n)
{
	char path[600], link[64];
	struct dirent *d;
	unsigned long ino;
	int found = 0;
	DIR *dir;

	snprintf(path, sizeof path, "/proc/%.32s/fd", pid);
	if ((dir = opendir(path)) == NULL)
		return 0;
	while (!found && (d = readdir(dir)) != NULL) {
		ssize_t k;
		snprintf(path, sizeof path, "/proc/%.32s/fd/%.255s", pid, d->d_name);
		k = readlink(path, link, sizeof link - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino) == 1)
			for (size_t i = 0; i < n; i++)
				found |= ino == inodes[i];
	}
	closedir(dir);
	return found;
}

int
bench_server_pid(struct bench_opts *o, const struct bench_target *t, char *why, size_t whylen)
{
	unsigned long inodes[MAX_INODES];
	char path[300], comm[64];
	struct dirent *d;
	size_t n;
	DIR *dir;
	int port, pid = 0;

	if (o->server_pid > 0) {
		snprintf(path, sizeof path, "/proc/%d/stat", o->server_pid);
		if (access(path, R_OK) == 0)
			return o->server_pid;
		snprintf(why, whylen, "no process %d (--server-pid)", o->server_pid);
		return 0;
	}
	port = ntohs(t->addr.ss_family == AF_INET
	                     ? ((const struct sockaddr_in *)&t->addr)->sin_port
	                     : ((const struct sockaddr_in6 *)&t->addr)->sin6_port);
	n = listen_inodes(port, inodes);
	if (n > 0 && (dir = opendir("/proc")) != NULL) {
		while (pid == 0 && (d = readdir(dir)) != NULL) {
			if (!isdigit((unsigned char)d->d_name[0]))
				continue;
			snprintf(path, sizeof path, "/proc/%s/comm", d->d_name);
			if (read_small(path, comm, sizeof comm) != 0 ||
			    strcmp(comm, "renkei-server\n") != 0)
				continue;
			if (holds_socket(d->d_name, inodes, n))
				pid = atoi(d->d_name);
		}
		closedir(dir);
	}
	if (pid == 0)
		snprintf(why, whylen,
		         "no renkei-server process of ours listens on port %d: server CPU and "
		         "RSS not measured (--server-pid PID)",
		         port);
	return pid;
}

static void
parse_metrics(const char *body, struct bench_metrics *m)
{
	static const char *const le[BENCH_HIST_BUCKETS] = {"1", "3", "15", "63", "255", "1023",
	                                                   "+Inf"};
	const struct {
		const char *name;
		double *v;
	} names[] = {
		{"renkei_posts_committed_total", &m->posts},
		{"renkei_deliveries_total", &m->deliveries},
		{"renkei_store_commits_total", &m->commits},
		{"renkei_store_ops_committed_total", &m->ops},
		{"renkei_store_commit_seconds_total", &m->commit_s},
		{"renkei_requests_total", &m->requests},
		{"renkei_errors_total", &m->errors},
		{"renkei_connections", &m->connections},
	};
	const char *p = body, *end, *sp;
	char key[128], want[128];
	size_t klen;

	for (; *p != '\0'; p = *end ? end + 1 : end) {
		end = strchr(p, '\n');
		if (end == NULL)
			end = p + strlen(p);
		if (*p == '#' || end == p)
			continue;
		for (sp = end; sp > p && sp[-1] != ' '; sp--)
			;
		klen = sp > p ? (size_t)(sp - p - 1) : 0;
		if (klen == 0 || klen >= sizeof key)
			continue;
		memcpy(key, p, klen);
		key[klen] = '\0';
		for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
			if (strcmp(key, names[i].name) == 0)
				*names[i].v = strtod(sp, NULL);
		for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
			snprintf(want, sizeof want, "renkei_store_batch_size_bucket{le=\"%s\"}",
			         le[i]);
			if (strcmp(key, want) == 0)
				m->hist[i] = strtod(sp, NULL);
		}
	}
	m->ok = 1;
}

void
bench_snapshot_take(struct bench_opts *o, const struct bench_target *t, int pid,
                    struct bench_snapshot *s)
{
	struct rkc_opts ro = {.url = t->url, .ca_file = t->ca, .timeout_ms = 5000};
	char path[96], *body = NULL;
	struct dirent *d;
	size_t len = 0;
	DIR *dir;
	int st;

	(void)o;
	memset(s, 0, sizeof *s);
	s->wall_ns = bench_now_ns();
	s->pid = pid;
	s->rss_kib = -1;
	if (pid > 0) {
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
		s->cpu_ok = stat_cpu(path, &s->cpu_s) == 0;
		snprintf(path, sizeof path, "/proc/%d/task", pid);
		if ((dir = opendir(path)) != NULL) {
			while ((d = readdir(dir)) != NULL && s->nthreads < BENCH_THREADS_MAX) {
				if (!isdigit((unsigned char)d->d_name[0]))
					continue;
				int k = s->nthreads;
				snprintf(path, sizeof path, "/proc/%d/task/%.16s/stat", pid,
				         d->d_name);
				if (stat_cpu(path, &s->tcpu_s[k]) != 0)
					continue;
				snprintf(path, sizeof path, "/proc/%d/task/%.16s/comm", pid,
				         d->d_name);
				if (read_small(path, s->tname[k], sizeof s->tname[k]) == 0)
					s->tname[k][strcspn(s->tname[k], "\n")] = '\0';
				s->tids[k] = atoi(d->d_name);
				s->nthreads++;
			}
			closedir(dir);
		}
		s->rss_kib = bench_rss_kib(pid);
	}
	st = rkc_https_get(&ro, "/metrics", NULL, &body, &len, s->metrics_why,
	                   sizeof s->metrics_why);
	if (st == 200 && body != NULL)
		parse_metrics(body, &s->m);
	else if (st > 0)
		snprintf(s->metrics_why, sizeof s->metrics_why, "GET /metrics: HTTP %d", st);
	free(body);
}

struct bench_snap_async {
	pthread_t th;
	int started;
	struct bench_opts *o;
	const struct bench_target *t;
	int pid;
	struct bench_snapshot *s;
};

static void *
snap_thread(void *arg)
{
	struct bench_snap_async *a = arg;

	bench_snapshot_take(a->o, a->t, a->pid, a->s);
	return NULL;
}

struct bench_snap_async *
bench_snapshot_start(struct bench_opts *o, const struct bench_target *t, int pid,
                     struct bench_snapshot *s)
{
	struct bench_snap_async *a = calloc(1, sizeof *a);

	if (a == NULL)
		abort();
	a->o = o;
	a->t = t;
	a->pid = pid;
	a->s = s;
	a->started = pthread_create(&a->th, NULL, snap_thread, a) == 0;
	if (!a->started)
		bench_snapshot_take(o, t, pid, s);
	return a;
}

void
bench_snapshot_wait(struct bench_snap_async *a)
{
	if (a == NULL)
		return;
	if (a->started)
		pthread_join(a->th, NULL);
	free(a);
}

static int
cmp_desc(const void *x, const void *y)
{
	const double *a = x, *b = y;

	return (a[0] < b[0]) - (a[0] > b[0]);
}

static void
thread_rows(struct bench_report *r, const struct bench_snapshot *a,
            const struct bench_snapshot *b, double wall)
{
	double d[BENCH_THREADS_MAX][3]; /* cpu seconds, tid, index in b */
	json_t *arr = json_array();
	char label[64];
	int n = 0;

	for (int i = 0; i < b->nthreads; i++)
		for (int k = 0; k < a->nthreads; k++)
			if (a->tids[k] == b->tids[i]) {
				d[n][0] = b->tcpu_s[i] - a->tcpu_s[k];
				d[n][1] = b->tids[i];
				d[n++][2] = i;
			}
	qsort(d, (size_t)n, sizeof d[0], cmp_desc);
	for (int i = 0; i < n; i++) {
		int tid = (int)d[i][1];
		const char *name = b->tname[(int)d[i][2]];
		double pct = d[i][0] / wall * 100;
		json_array_append_new(arr, json_pack("{s:i,s:s,s:b,s:f}", "tid", tid, "name", name,
		                                     "main", tid == b->pid, "cpu_percent", pct));
		if (i >= 4 || pct < 1)
			continue;
		/* the main thread is the service thread (TLS, WebSocket, routing);
		 * the others are named only if the server names them */
		if (tid == b->pid)
			snprintf(label, sizeof label, "  thread %d (main: service)", tid);
		else if (strcmp(name, "renkei-server") != 0 && name[0] != '\0')
			snprintf(label, sizeof label, "  thread %d (%s)", tid, name);
		else
			snprintf(label, sizeof label, "  thread %d", tid);
		bench_row(r, label, NULL, pct, 0, "% of one core");
	}
	json_object_set_new(r->json, "server_threads", arr);
}

void
bench_server_rows(struct bench_report *r, const struct bench_snapshot *a,
                  const struct bench_snapshot *b, const char *pid_note)
{
	static const char *const bucket[BENCH_HIST_BUCKETS] = {"1", "2-3", "4-15", "16-63",
	                                                       "64-255", "256-1023", ">1023"};
	const struct bench_metrics *ma = &a->m, *mb = &b->m;
	double wall = (double)(b->wall_ns - a->wall_ns) / 1e9, cpu = b->cpu_s - a->cpu_s;
	double dposts = mb->posts - ma->posts, ddel = mb->deliveries - ma->deliveries;
	double dcommits = mb->commits - ma->commits, prev = 0;
	char hist[256] = "";
	json_t *h;
	size_t len = 0;

	if (wall <= 0)
		wall = 1e-9;
	if (a->cpu_ok && b->cpu_ok) {
		bench_row(r, "server CPU", "server_cpu_percent", cpu / wall * 100, 0,
		          "% of one core");
		/* every run says so, even when it made no posts */
		if (ma->ok && mb->ok && dposts > 0)
			bench_row(r, "server CPU per durable post", "server_cpu_us_per_post",
			          cpu * 1e6 / dposts, 1, "µs");
		else
			bench_row_text(r, "server CPU per durable post", NULL, "n/a (no posts)");
		if (ma->ok && mb->ok && ddel > 0)
			bench_row(r, "server CPU per delivery", "server_cpu_us_per_delivery",
			          cpu * 1e6 / ddel, 1, "µs");
		else
			bench_row_text(r, "server CPU per delivery", NULL, "n/a (no deliveries)");
		thread_rows(r, a, b, wall);
		if (b->rss_kib >= 0)
			bench_row(r, "server RSS", "server_rss_mib", (double)b->rss_kib / 1024, 1,
			          "MiB");
	} else {
		bench_row_text(r, "server CPU", "server_cpu_note",
		               pid_note && *pid_note ? pid_note : "not measured");
	}
	if (!ma->ok || !mb->ok) {
		bench_row_text(r, "server metrics", "metrics_note",
		               !ma->ok ? a->metrics_why : b->metrics_why);
		return;
	}
	bench_row(r, "posts committed (server)", "server_posts", dposts, 0, "");
	bench_row(r, "deliveries queued (server)", "server_deliveries", ddel, 0, "");
	bench_row(r, "group commits", "commits", dcommits, 0, "");
	bench_row(r, "group commits/s", "commits_per_s", dcommits / wall, 0, "/s");
	if (dcommits > 0) {
		bench_row(r, "operations per commit (mean)", "ops_per_commit",
		          (mb->ops - ma->ops) / dcommits, 1, "");
		bench_row(r, "commit time (mean)", "commit_ms_mean",
		          (mb->commit_s - ma->commit_s) * 1e3 / dcommits, 2, "ms");
	}
	h = json_object();
	for (int i = 0; i < BENCH_HIST_BUCKETS; i++) {
		double cum = mb->hist[i] - ma->hist[i], in = cum - prev;
		prev = cum;
		json_object_set_new(h, bucket[i], json_integer((json_int_t)in));
		if (in > 0 && len < sizeof hist - 32)
			len += (size_t)snprintf(hist + len, sizeof hist - len, "%s%s:%.0f",
			                        len ? " " : "", bucket[i], in);
	}
	json_object_set_new(r->json, "batch_size_histogram", h);
	bench_row_text(r, "batch sizes (ops: commits)", NULL, len ? hist : "none");
}
