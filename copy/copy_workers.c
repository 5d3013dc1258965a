/*
 * copy_workers.c — the supervisor of --workers N (see copy_workers.h): the
 * fork, the start-up handshake, the workers watched, and their statistics
 * added up for --stats-file and --metrics.
 */
#include "copy/copy_workers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/runtime/log.h"
#include "lib/runtime/metrics_http.h"

/* How long the supervisor waits for every worker to open its sockets. */
#define START_TIMEOUT_MS 30000
/* A worker publishes every second; one silent this long is hung (a loop
 * that does not turn): it is killed, which stops the others, and the
 * supervisor exits 1, well within the unit's WatchdogSec=30s, which the
 * supervisor's own pings would otherwise keep satisfied. */
#define SILENT_MS 20000
#define CHECK_MS 5000
/* A reader that finds a slot being written this many times in a row takes
 * the copy as it is (a worker stopped half-way writes no more). */
#define READ_TRIES 1000

struct copy_workers {
	const struct copy_options *o;
	struct loop *loop;
	unsigned n;
	pid_t pid[COPY_MAX_WORKERS];
	bool exited[COPY_MAX_WORKERS];
	unsigned live;
	bool stopping, failed;
	struct copy_worker_slot *slots;	/* n of them, MAP_SHARED */
	struct copy_worker_slot total;	/* what collect() added up last */
	struct copy_stats stats;	/* the totals as a statistics table */
	uint64_t stats_timer;
	uint32_t asked_seq[COPY_MAX_WORKERS];	/* each slot's seq when fresh numbers were asked */
	unsigned fresh_tries;
	uint32_t seen_seq[COPY_MAX_WORKERS];	/* for the hung-worker check */
	uint64_t seen_ms[COPY_MAX_WORKERS];
	uint64_t check_timer;
	struct metrics_server *metrics;
};

/* In a worker: its ends of the handshake pipes. */
static int worker_ready_fd = -1, worker_go_fd = -1;

static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Stop and reap every worker started so far (start-up failed). */
static void kill_all(struct copy_workers *w)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->pid[i] > 0)
			kill(w->pid[i], SIGTERM);
	for (unsigned i = 0; i < w->n; i++)
		if (w->pid[i] > 0)
			waitpid(w->pid[i], NULL, 0);
}

static void become_worker(struct copy_options *o, unsigned index, pid_t parent)
{
	char name[32];

	/* Never outlive the supervisor: its fanout group would be half. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(1);
	/* systemd takes notifications from the main process only. */
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	snprintf(name, sizeof(name), "doppel-copy worker %u", index);
	log_init(name, o->common.log_level);
	o->worker_index = index;
}

/* The supervisor waits for one byte from each worker (its sockets are open
 * and joined); a worker that exits first closes its pipe. */
static int wait_ready(struct copy_workers *w, int *ready, char *err, size_t errlen)
{
	uint64_t deadline = loop_clock_ms() + START_TIMEOUT_MS;
	unsigned waiting = w->n;

	while (waiting > 0) {
		struct pollfd pfd[COPY_MAX_WORKERS];
		uint64_t now = loop_clock_ms();
		int r;

		for (unsigned i = 0; i < w->n; i++)
			pfd[i] = (struct pollfd){ .fd = ready[i], .events = POLLIN };
		if (now >= deadline)
			return snprintf(err, errlen, "--workers: %u workers not ready after %d s",
					waiting, START_TIMEOUT_MS / 1000), -1;
		r = poll(pfd, w->n, (int)(deadline - now));
		if (r < 0 && errno != EINTR)
			return snprintf(err, errlen, "--workers: poll: %s", strerror(errno)), -1;
		for (unsigned i = 0; r > 0 && i < w->n; i++) {
			char byte;

			if (!pfd[i].revents)
				continue;
			if (read(ready[i], &byte, 1) != 1)
				return snprintf(err, errlen, "--workers: worker %u (pid %d) could not "
						"start (its log says why)", i, (int)w->pid[i]), -1;
			close_fd(&ready[i]);
			waiting--;
		}
	}
	return 0;
}

int copy_workers_start(struct copy_options *o, struct copy_workers **out,
		       struct copy_worker_slot **slot, char *err, size_t errlen)
{
	struct copy_workers *w = calloc(1, sizeof(*w));
	int ready[COPY_MAX_WORKERS], go[COPY_MAX_WORKERS];
	pid_t parent = getpid();
	uint64_t since;
	int rc = -1;

	if (!w)
		return snprintf(err, errlen, "--workers: out of memory"), -1;
	w->o = o;
	w->n = o->workers;
	w->slots = mmap(NULL, w->n * sizeof(*w->slots), PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->slots == MAP_FAILED) {
		snprintf(err, errlen, "--workers: mmap: %s", strerror(errno));
		free(w);
		return -1;
	}
	/* Group ids are per network namespace; the pid keeps two doppel-copy
	 * in one namespace apart (a clash is refused by the kernel, named). */
	o->fanout_group = (uint16_t)(parent & 0xffff);
	for (unsigned i = 0; i < w->n; i++)
		ready[i] = go[i] = -1;
	for (unsigned i = 0; i < w->n; i++) {
		int r[2], g[2];

		if (pipe2(r, O_CLOEXEC) != 0 || pipe2(g, O_CLOEXEC) != 0) {
			snprintf(err, errlen, "--workers: pipe: %s", strerror(errno));
			goto fail;
		}
		w->pid[i] = fork();
		if (w->pid[i] < 0) {
			snprintf(err, errlen, "--workers: fork: %s", strerror(errno));
			close(r[0]), close(r[1]), close(g[0]), close(g[1]);
			goto fail;
		}
		if (w->pid[i] == 0) {
			for (unsigned j = 0; j < i; j++)
				close_fd(&ready[j]), close_fd(&go[j]);
			close(r[0]);
			close(g[1]);
			worker_ready_fd = r[1];
			worker_go_fd = g[0];
			become_worker(o, i, parent);
			w->slots[i].pid = (int32_t)getpid();
			*slot = &w->slots[i];
			free(w);	/* the supervisor's; the mapping stays */
			return 1;
		}
		close(r[1]);
		close(g[0]);
		ready[i] = r[0];
		go[i] = g[1];
		w->live++;
	}
	if (wait_ready(w, ready, err, errlen) < 0)
		goto fail;
	/* Every socket is in the group now: from here the spread is final. */
	since = wall_us();
	for (unsigned i = 0; i < w->n; i++)
		if (write(go[i], &since, sizeof(since)) != (ssize_t)sizeof(since)) {
			snprintf(err, errlen, "--workers: worker %u gone at start", i);
			goto fail;
		}
	copy_stats_init(&w->stats);
	*out = w;
	rc = 0;
fail:
	for (unsigned i = 0; i < w->n; i++)
		close_fd(&ready[i]), close_fd(&go[i]);
	if (rc < 0) {
		kill_all(w);
		munmap(w->slots, w->n * sizeof(*w->slots));
		free(w);
	}
	return rc;
}

uint64_t copy_workers_ready(void)
{
	uint64_t since = 0;
	char byte = 1;

	if (write(worker_ready_fd, &byte, 1) != 1 ||
	    read(worker_go_fd, &since, sizeof(since)) != (ssize_t)sizeof(since)) {
		log_warnx("--workers: the supervisor is gone");
		since = 0;
	}
	close_fd(&worker_ready_fd);
	close_fd(&worker_go_fd);
	return since;
}

/* ---- the statistics of them all ---- */

static void read_slot(const struct copy_worker_slot *s, struct copy_worker_slot *out)
{
	for (int tries = 0; tries < READ_TRIES; tries++) {
		uint32_t before = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);

		memcpy(out, (const void *)s, sizeof(*out));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (!(before & 1) && __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE) == before)
			return;
	}
}

void copy_workers_sum(const struct copy_worker_slot *slots, unsigned n, size_t transfers,
		      size_t intercepts, struct copy_worker_slot *total)
{
	memset(total, 0, sizeof(*total));
	for (unsigned w = 0; w < n; w++) {
		const struct copy_worker_slot *s = &slots[w];

		for (size_t i = 0; i < COPY_STAT_COUNT; i++) {
			if (i == COPY_STAT_INTERCEPT_CONNECTED)
				total->values[i] = w == 0 || s->values[i] < total->values[i] ?
						   s->values[i] : total->values[i];
			else
				total->values[i] += s->values[i];
		}
		for (size_t b = 0; b < HISTOGRAM_BUCKETS; b++)
			total->capture_delay.buckets[b] += s->capture_delay.buckets[b];
		total->capture_delay.count += s->capture_delay.count;
		total->capture_delay.sum_us += s->capture_delay.sum_us;
		for (size_t t = 0; t < transfers; t++)
			total->transfer_packets[t] += s->transfer_packets[t];
		for (size_t i = 0; i < intercepts; i++) {
			const uint64_t *l = s->links[i];
			uint64_t *sum = total->links[i];

			sum[COPY_LINK_UP] = w == 0 ? l[COPY_LINK_UP] : sum[COPY_LINK_UP] &&
								       l[COPY_LINK_UP];
			if (l[COPY_LINK_FAILURES] > sum[COPY_LINK_FAILURES])
				sum[COPY_LINK_FAILURES] = l[COPY_LINK_FAILURES];
			sum[COPY_LINK_PENDING_ROUTES] += l[COPY_LINK_PENDING_ROUTES];
			sum[COPY_LINK_OUTPUT_BYTES] += l[COPY_LINK_OUTPUT_BYTES];
		}
	}
	for (int p = 0; p < 2; p++) {
		uint64_t q = histogram_quantile_us(&total->capture_delay, p ? 0.99 : 0.5);

		total->values[p ? COPY_STAT_CAPTURE_DELAY_P99_US : COPY_STAT_CAPTURE_DELAY_P50_US] =
			q == UINT64_MAX ? 128000 : q;
	}
}

static struct copy_worker_slot *read_all(struct copy_workers *w)
{
	struct copy_worker_slot *copies = calloc(w->n, sizeof(*copies));

	if (!copies)
		return NULL;
	for (unsigned i = 0; i < w->n; i++)
		read_slot(&w->slots[i], &copies[i]);
	copy_workers_sum(copies, w->n, w->o->transfer_count, w->o->intercept_count, &w->total);
	memcpy(w->stats.values, w->total.values, sizeof(w->stats.values));
	return copies;
}

/* Per worker in the JSON file: what shows the spread and a stuck one. */
static const enum copy_stat per_worker[] = {
	COPY_STAT_PACKETS_CAPTURED, COPY_STAT_SESSIONS_STARTED, COPY_STAT_SESSIONS_ACTIVE,
	COPY_STAT_SESSIONS_COMPLETED, COPY_STAT_SESSIONS_FAILED,
};
#define PER_WORKER (sizeof(per_worker) / sizeof(per_worker[0]))

void copy_workers_report(struct copy_workers *w)
{
	struct copy_worker_slot *copies = read_all(w);
	char line[2048], *extra;
	size_t extra_len = 128 + (size_t)w->n * PER_WORKER * 80;

	if (!copies)
		return;
	stats_format_line(&w->stats.table, line, sizeof(line), 0);
	log_info("stats (%u workers): %s", w->n, line[0] ? line : "nothing yet");
	extra = calloc(1, extra_len);
	if (extra && w->o->common.stats_file) {
		stats_extra_add_uint(extra, extra_len, "workers", w->n);
		for (unsigned i = 0; i < w->n; i++) {
			char key[96];

			snprintf(key, sizeof(key), "worker_%u_pid", i);
			stats_extra_add_uint(extra, extra_len, key, (uint64_t)copies[i].pid);
			for (size_t k = 0; k < PER_WORKER; k++) {
				snprintf(key, sizeof(key), "worker_%u_%s", i,
					 copy_stats_name(per_worker[k]));
				stats_extra_add_uint(extra, extra_len, key,
						     copies[i].values[per_worker[k]]);
			}
		}
		if (stats_write_json(&w->stats.table, extra, w->o->common.stats_file) < 0)
			log_warn("--stats-file %s", w->o->common.stats_file);
	}
	free(extra);
	free(copies);
}

static void render_metrics(void *ctx, struct metrics_text *out)
{
	struct copy_workers *w = ctx;
	struct copy_worker_slot *copies = read_all(w);
	struct copy_metrics_sources src = {
		&w->stats, w->o, w->total.transfer_packets, NULL, &w->total.capture_delay,
		(const uint64_t (*)[COPY_LINK_METRICS])w->total.links,
	};
	char index[16];
	const char *label[2] = { "worker", index };

	if (!copies)
		return;
	copy_metrics_render(out, &src);
	for (size_t k = 0; k < PER_WORKER; k++) {
		const struct stat_def *def = copy_stats_def(per_worker[k]);
		char name[96], help[160];

		snprintf(name, sizeof(name), "worker_%s", def->name);
		snprintf(help, sizeof(help), "%s, by --workers worker", def->help);
		metrics_text_family(out, name, def->type, help);
		for (unsigned i = 0; i < w->n; i++) {
			snprintf(index, sizeof(index), "%u", i);
			metrics_text_sample(out, name, def->type, label, 1,
					    copies[i].values[per_worker[k]]);
		}
	}
	free(copies);
}

/* ---- watching the workers ---- */

static void on_child(struct loop *l, int signo, void *arg)
{
	struct copy_workers *w = arg;
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < w->n; i++) {
			if (w->pid[i] != pid || w->exited[i])
				continue;
			w->exited[i] = true;
			w->live--;
			if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && w->stopping)
				break;
			w->failed = true;
			if (WIFSIGNALED(status))
				log_warnx("worker %u (pid %d) killed by %s", i, (int)pid,
					  strsignal(WTERMSIG(status)));
			else
				log_warnx("worker %u (pid %d) exited with status %d", i, (int)pid,
					  WEXITSTATUS(status));
			/* Its flows would move to the others mid-session. */
			if (!w->stopping) {
				log_warnx("stopping the other workers: a worker's sessions cannot "
					  "move to another");
				copy_workers_stop(w);
			}
			break;
		}
	}
	if (w->live == 0)
		loop_stop(l);
}

#define FRESH_POLL_MS 10

static void on_stats_timer(struct loop *l, uint64_t timer_id, void *arg);

/* Every live worker has written its slot since it was asked (or the wait
 * is over): the report, then the next interval. */
static void on_fresh_poll(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy_workers *w = arg;
	bool fresh = true;

	for (unsigned i = 0; i < w->n && fresh; i++) {
		uint32_t seq = __atomic_load_n(&w->slots[i].seq, __ATOMIC_ACQUIRE);

		fresh = w->exited[i] || (seq != w->asked_seq[i] && !(seq & 1));
	}
	if (!fresh && ++w->fresh_tries < COPY_WORKERS_FRESH_MS / FRESH_POLL_MS) {
		w->stats_timer = loop_timer_add(l, FRESH_POLL_MS, on_fresh_poll, w);
		return;
	}
	copy_workers_report(w);
	w->stats_timer = loop_timer_add(l, w->o->common.stats_interval_ms, on_stats_timer, w);
}

static void on_stats_timer(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy_workers *w = arg;

	for (unsigned i = 0; i < w->n; i++)
		w->asked_seq[i] = __atomic_load_n(&w->slots[i].seq, __ATOMIC_ACQUIRE);
	copy_workers_signal(w, COPY_WORKERS_PUBLISH_SIGNAL);
	w->fresh_tries = 0;
	w->stats_timer = loop_timer_add(l, FRESH_POLL_MS, on_fresh_poll, w);
}

static void on_check(struct loop *l, uint64_t timer_id, void *arg)
{
	struct copy_workers *w = arg;
	uint64_t now = loop_now_ms(l);

	for (unsigned i = 0; i < w->n; i++) {
		uint32_t seq = __atomic_load_n(&w->slots[i].seq, __ATOMIC_ACQUIRE);

		if (w->exited[i])
			continue;
		if (seq != w->seen_seq[i] || !w->seen_ms[i]) {
			w->seen_seq[i] = seq;
			w->seen_ms[i] = now;
		} else if (now - w->seen_ms[i] >= SILENT_MS) {
			log_warnx("worker %u (pid %d) silent for %d s (its loop does not turn): "
				  "killed", i, (int)w->pid[i], SILENT_MS / 1000);
			kill(w->pid[i], SIGKILL);
			w->seen_ms[i] = now;
		}
	}
	w->check_timer = loop_timer_add(l, CHECK_MS, on_check, w);
}

int copy_workers_run(struct copy_workers *w, struct loop *l, char *err, size_t errlen)
{
	w->loop = l;
	if (loop_add_signal(l, SIGCHLD, on_child, w) < 0)
		return snprintf(err, errlen, "signals: %s", strerror(errno)), -1;
	on_child(l, SIGCHLD, w);	/* one that exited before the handler */
	if (copy_workers_metrics_listen(w, w->o->common.metrics, err, errlen) < 0)
		return -1;
	w->stats_timer = loop_timer_add(l, w->o->common.stats_interval_ms, on_stats_timer, w);
	w->check_timer = loop_timer_add(l, CHECK_MS, on_check, w);
	return 0;
}

void copy_workers_signal(struct copy_workers *w, int signo)
{
	for (unsigned i = 0; i < w->n; i++)
		if (!w->exited[i])
			kill(w->pid[i], signo);
}

void copy_workers_stop(struct copy_workers *w)
{
	w->stopping = true;
	copy_workers_signal(w, SIGTERM);
	if (w->stats_timer)
		loop_timer_cancel(w->loop, w->stats_timer);
	w->stats_timer = 0;
	if (w->live == 0)
		loop_stop(w->loop);
}

void copy_workers_stats_rearm(struct copy_workers *w)
{
	if (!w->stats_timer)
		return;
	loop_timer_cancel(w->loop, w->stats_timer);
	w->stats_timer = loop_timer_add(w->loop, w->o->common.stats_interval_ms, on_stats_timer, w);
}

int copy_workers_metrics_listen(struct copy_workers *w, const char *address, char *err,
				size_t errlen)
{
	struct metrics_server *m = NULL;

	if (address) {
		m = metrics_server_open(w->loop, address, "doppel_copy", render_metrics, w, err,
					errlen);
		if (!m)
			return -1;
		log_info("metrics on http://%s/metrics (the %u workers')", address, w->n);
	}
	metrics_server_free(w->metrics);
	w->metrics = m;
	return 0;
}

int copy_workers_status(const struct copy_workers *w)
{
	return w->failed ? 1 : 0;
}

void copy_workers_free(struct copy_workers *w)
{
	if (!w)
		return;
	if (w->live > 0) {
		copy_workers_signal(w, SIGTERM);
		for (unsigned i = 0; i < w->n; i++)
			if (!w->exited[i])
				waitpid(w->pid[i], NULL, 0);
	}
	if (w->stats_timer)
		loop_timer_cancel(w->loop, w->stats_timer);
	if (w->check_timer)
		loop_timer_cancel(w->loop, w->check_timer);
	metrics_server_free(w->metrics);
	munmap(w->slots, w->n * sizeof(*w->slots));
	free(w);
}
