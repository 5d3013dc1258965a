/*
 * source_nfqueue.c — responses from NFQUEUE queues (--queues A-B), read
 * with libmnl and libnetfilter_queue's mnl helpers.
 *
 * One netlink socket per queue. Each gets its own receive buffer, so a
 * burst on one queue cannot overflow the others, and a loss (a gap in a
 * queue's packet ids) is known per queue; it is also what a reader per
 * thread would need later. Measured against one socket bound to all the
 * queues (4 queues, 200,000 packets to a stopped reader): per-queue
 * sockets held 127,047 of them, the shared one 40,329, and both drained
 * at about 200,000 packets a second. The sockets are non-blocking and
 * drained until EAGAIN whenever the loop finds one readable.
 *
 * Every packet gets NF_DROP (the assistant is a black hole), malformed ones
 * included. Verdicts go in batches: NFQNL_MSG_VERDICT_BATCH for the highest
 * id read covers every earlier packet of that queue. They are sent from
 * flush(), which the daemon calls before the loop sleeps, or at once when
 * many are pending, so the kernel's queue never holds more than a batch of
 * packets we have read.
 *
 * Losses: when our receive buffer is full the kernel drops the packet
 * (never lets it through: no NFQA_CFG_F_FAIL_OPEN, no bypass) and recv()
 * fails once with ENOBUFS; NETLINK_NO_ENOBUFS is left off so we hear of it.
 * The kernel numbers packets before it tries the socket, so the gaps in a
 * queue's ids count exactly the packets lost that way: counters.lost adds
 * them up. Packets dropped because more than -q waited for a verdict take
 * no id; flush() adds those from the kernel's per-queue count in
 * /proc/net/netfilter/nfnetlink_queue, read at most once a second. This
 * file never logs; the daemon reads the counters.
 *
 * With --queue-threads N the queues are shared out among N reader threads
 * (nfqueue_threads.c), each doing the above for its own queues and handing
 * the parsed packets to the event loop; without it the event loop reads
 * them itself, as here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "lib/runtime/loop.h"
#include "intercept/source/nfqueue_internal.h"
#include "intercept/source/nfqueue_msg.h"
#include "intercept/source/source.h"

/* Send a verdict without waiting for flush() once this many are pending. */
#define VERDICT_BATCH_MAX 1024
/* Receive buffer per queue socket. SO_RCVBUFFORCE passes net.core.rmem_max
 * (we hold CAP_NET_ADMIN to bind queues at all). 16 MiB held 40,330
 * headers-only packets in tests/nft (about 416 bytes each in the kernel's
 * accounting): below the default queue length, so a stalled reader loses
 * packets to ENOBUFS (seen as id gaps) before the queue fills. */
#define RECEIVE_BUFFER_BYTES (16 * 1024 * 1024)
/* How often flush() reads the kernel's queue-full drop counts. */
#define PROC_READ_INTERVAL_MS 1000
/* The kernel answers a config message at once; this only guards open(). */
#define CONFIG_ACK_TIMEOUT_SECONDS 5

static int send_verdict(struct nfqueue_socket *qs)
{
	uint8_t buf[NFQUEUE_SEND_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfqueue_msg_verdict_batch(buf, qs->queue_number, qs->last_id, ++qs->reader->seq);
	/* On failure the packets stay pending and the next flush tries again;
	 * meanwhile they wait in the kernel's queue, never passing. */
	if (mnl_socket_sendto(qs->socket, nlh, nlh->nlmsg_len) < 0)
		return -1;
	qs->pending = 0;
	nfqueue_count(&qs->counters.verdicts, 1);
	return 0;
}

/* A queued packet: count id gaps, deliver it if it parses, note its id. */
static void handle_packet(struct nfqueue_socket *qs, const struct nlmsghdr *nlh)
{
	struct nfqueue_packet queued;
	const char *why;
	int rc = nfqueue_msg_parse_packet(nlh, qs->owner->payload_prefix, &queued, &why);

	if (queued.has_id) {
		uint32_t skipped = nfqueue_ids_skipped(qs->next_id, queued.id);

		if (skipped)
			nfqueue_count(&qs->counters.lost, skipped);
		qs->next_id = queued.id + 1;
		qs->last_id = queued.id;
		qs->pending++;
	}
	if (rc == 0) {
		nfqueue_count(&qs->counters.packets, 1);
		nfqueue_deliver(qs, &queued.packet);
	} else {
		nfqueue_count(&qs->counters.malformed, 1);
	}
	if (qs->pending >= VERDICT_BATCH_MAX)
		send_verdict(qs);
}

#define NO_ANSWER (-1)

/* Walk one datagram. Returns the errno of an NLMSG_ERROR answering seq
 * (0 for an ack), or NO_ANSWER when none answered it. */
static int handle_datagram(struct nfqueue_socket *qs, const void *buf, size_t len,
			   uint32_t seq)
{
	const struct nlmsghdr *nlh;
	size_t offset = 0;
	int answer = NO_ANSWER;

	while ((nlh = nfqueue_msg_walk(buf, len, &offset))) {
		if (nlh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *error = mnl_nlmsg_get_payload(nlh);

			if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*error))
				continue;
			/* Other errors answer verdicts (ENOENT when the kernel
			 * already dropped those packets, as on an interface
			 * going down): nothing to do about them. */
			if (seq && nlh->nlmsg_seq == seq)
				answer = -error->error;
		} else if (NFNL_SUBSYS_ID(nlh->nlmsg_type) == NFNL_SUBSYS_QUEUE) {
			handle_packet(qs, nlh);
		}
	}
	return answer;
}

void nfqueue_read_until_empty(struct nfqueue_socket *qs)
{
	struct nfqueue *nq = qs->owner;
	uint8_t *buffer = qs->reader->receive_buffer;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(qs->socket, buffer, nq->receive_size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* ENOBUFS: the lost packets show as an id gap. */
			if (errno == ENOBUFS)
				continue;
			if (errno == ENOSPC) {
				/* A datagram longer than our buffer, cut (never
				 * expected): its id shows as a gap, so it counts
				 * as lost, and the next batch verdict drops it. */
				continue;
			}
			return;	/* EAGAIN, or an error the next readiness retries */
		}
		if (n == 0)
			return;
		handle_datagram(qs, buffer, (size_t)n, 0);
	}
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	nfqueue_read_until_empty(arg);
}

static int set_receive_buffer(struct nfqueue_socket *qs)
{
	int size = RECEIVE_BUFFER_BYTES;

	if (setsockopt(qs->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) == 0)
		return 0;
	/* Without CAP_NET_ADMIN the bind fails anyway; say so there. */
	return setsockopt(qs->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Send the config message and wait for its answer, handling any packet
 * that arrives before it (the queue is live as soon as it is bound). */
static int bind_queue(struct nfqueue_socket *qs, uint32_t copy_range, uint32_t maxlen,
		      char *err, size_t errlen)
{
	struct nfqueue *nq = qs->owner;
	uint8_t buf[NFQUEUE_SEND_BUFFER_SIZE];
	uint8_t *buffer = qs->reader->receive_buffer;
	uint32_t seq = ++qs->reader->seq;
	struct nlmsghdr *nlh = nfqueue_msg_config(buf, qs->queue_number, copy_range, maxlen, seq);
	int answer = NO_ANSWER;

	if (mnl_socket_sendto(qs->socket, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "nfqueue: queue %u: sending the bind: %s",
			 qs->queue_number, strerror(errno));
		return -1;
	}
	while (answer == NO_ANSWER) {
		ssize_t n = mnl_socket_recvfrom(qs->socket, buffer, nq->receive_size);

		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "nfqueue: queue %u: no answer to the bind: %s",
				 qs->queue_number, n < 0 ? strerror(errno) : "socket closed");
			return -1;
		}
		answer = handle_datagram(qs, buffer, (size_t)n, seq);
	}
	if (answer == 0)
		return 0;
	if (answer == EPERM || answer == EBUSY)
		snprintf(err, errlen, "nfqueue: queue %u: bind refused: %s (another process holds "
			 "the queue, or CAP_NET_ADMIN is missing)", qs->queue_number,
			 strerror(answer));
	else
		snprintf(err, errlen, "nfqueue: queue %u: bind refused: %s (is nfnetlink_queue "
			 "available?)", qs->queue_number, strerror(answer));
	return -1;
}

static int open_socket(struct nfqueue_socket *qs, uint32_t copy_range, uint32_t maxlen,
		       char *err, size_t errlen)
{
	struct timeval timeout = { .tv_sec = CONFIG_ACK_TIMEOUT_SECONDS };

	qs->socket = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (!qs->socket) {
		snprintf(err, errlen, "nfqueue: netlink socket: %s", strerror(errno));
		return -1;
	}
	qs->fd = mnl_socket_get_fd(qs->socket);
	if (mnl_socket_bind(qs->socket, 0, MNL_SOCKET_AUTOPID) < 0) {
		snprintf(err, errlen, "nfqueue: netlink bind: %s", strerror(errno));
		return -1;
	}
	if (set_receive_buffer(qs) < 0 ||
	    setsockopt(qs->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0) {
		snprintf(err, errlen, "nfqueue: socket options: %s", strerror(errno));
		return -1;
	}
	if (bind_queue(qs, copy_range, maxlen, err, errlen) < 0)
		return -1;
	/* From here on the loop reads: never block. */
	if (fcntl(qs->fd, F_SETFL, fcntl(qs->fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "nfqueue: O_NONBLOCK: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static struct nfqueue_socket *socket_of_queue(struct nfqueue_reader *r,
					     const struct nfqueue_proc_entry *e)
{
	for (size_t i = 0; i < r->socket_count; i++) {
		struct nfqueue_socket *qs = &r->sockets[i];

		if (qs->socket && qs->queue_number == e->queue_number &&
		    mnl_socket_get_portid(qs->socket) == e->portid)
			return qs;
	}
	return NULL;
}

/* Add the queue-full drops of r's queues since the last read to their
 * lost counts. Without the file (no /proc in this mount namespace) they
 * stay unknown. */
static void read_queue_full_drops(struct nfqueue_reader *r)
{
	char line[256];
	FILE *file = fopen(NFQUEUE_PROC_PATH, "re");

	if (!file)
		return;
	while (fgets(line, sizeof(line), file)) {
		struct nfqueue_proc_entry e;
		struct nfqueue_socket *qs;

		if (nfqueue_proc_parse_line(line, &e) < 0 || !(qs = socket_of_queue(r, &e)))
			continue;
		if (e.queue_dropped != qs->queue_dropped)
			nfqueue_count(&qs->counters.lost, e.queue_dropped - qs->queue_dropped);
		qs->queue_dropped = e.queue_dropped;
	}
	fclose(file);
}

void nfqueue_reader_flush(struct nfqueue_reader *r, uint64_t now_ms)
{
	for (size_t i = 0; i < r->socket_count; i++)
		if (r->sockets[i].pending)
			send_verdict(&r->sockets[i]);
	if (now_ms - r->proc_read_ms >= PROC_READ_INTERVAL_MS) {
		r->proc_read_ms = now_ms;
		read_queue_full_drops(r);
	}
}

/* The source's counters: the sum of its queues'. */
static void sum_counters(struct nfqueue *nq)
{
	struct source_counters *total = &nq->source->counters;

	memset(total, 0, sizeof(*total));
	for (size_t i = 0; i < nq->socket_count; i++) {
		const struct nfqueue_counters *c = &nq->sockets[i].counters;

		total->packets += __atomic_load_n(&c->packets, __ATOMIC_RELAXED);
		total->malformed += __atomic_load_n(&c->malformed, __ATOMIC_RELAXED);
		total->lost += __atomic_load_n(&c->lost, __ATOMIC_RELAXED);
		total->verdicts += __atomic_load_n(&c->verdicts, __ATOMIC_RELAXED);
	}
}

static void nfqueue_flush(struct source *s)
{
	struct nfqueue *nq = s->priv;

	if (!nq)
		return;
	/* The threads send their own verdicts. */
	if (!nq->threaded)
		nfqueue_reader_flush(&nq->readers[0], loop_now_ms(nq->loop));
	sum_counters(nq);
}

static void nfqueue_each_queue(struct source *s,
			       void (*fn)(void *ctx, uint16_t queue,
					  const struct source_counters *c),
			       void *ctx)
{
	struct nfqueue *nq = s->priv;

	for (size_t i = 0; nq && i < nq->socket_count; i++) {
		const struct nfqueue_counters *q = &nq->sockets[i].counters;
		struct source_counters c = {
			.packets = __atomic_load_n(&q->packets, __ATOMIC_RELAXED),
			.malformed = __atomic_load_n(&q->malformed, __ATOMIC_RELAXED),
			.lost = __atomic_load_n(&q->lost, __ATOMIC_RELAXED),
			.verdicts = __atomic_load_n(&q->verdicts, __ATOMIC_RELAXED),
		};

		fn(ctx, nq->sockets[i].queue_number, &c);
	}
}

static void nfqueue_close(struct source *s)
{
	struct nfqueue *nq = s->priv;

	if (!nq)
		return;
	/* The threads first: from here on only this thread touches the
	 * sockets. */
	nfqueue_threads_stop(nq);
	for (size_t i = 0; i < nq->reader_count; i++)
		nfqueue_reader_flush(&nq->readers[i], 0);
	sum_counters(nq);
	for (size_t i = 0; i < nq->socket_count; i++) {
		struct nfqueue_socket *qs = &nq->sockets[i];

		if (qs->registered)
			loop_del_fd(nq->loop, qs->fd);
		/* Closing the socket unbinds the queue; the kernel drops what
		 * is still queued (no fail-open). */
		if (qs->socket)
			mnl_socket_close(qs->socket);
	}
	for (size_t i = 0; i < nq->reader_count; i++) {
		free(nq->readers[i].receive_buffer);
		handoff_free(nq->readers[i].handoff);
	}
	if (nq->stop_fd >= 0)
		close(nq->stop_fd);
	free(nq->readers);
	free(nq->sockets);
	free(nq);
	s->priv = NULL;
}

static int nfqueue_open_all(struct nfqueue *nq, const struct source_config *cfg,
			    char *err, size_t errlen)
{
	uint32_t copy_range = nfqueue_copy_range(cfg->payload_prefix);

	for (size_t i = 0; i < nq->socket_count; i++) {
		struct nfqueue_socket *qs = &nq->sockets[i];

		qs->owner = nq;
		qs->fd = -1;
		qs->queue_number = (uint16_t)(cfg->queue_first + i);
		qs->next_id = 1;	/* a new queue's first packet */
		if (open_socket(qs, copy_range, cfg->queue_maxlen, err, errlen) < 0)
			return -1;
		/* Threads: they read it once started. */
		if (nq->threaded)
			continue;
		if (loop_add_fd(nq->loop, qs->fd, LOOP_READ, on_readable, qs) < 0) {
			snprintf(err, errlen, "nfqueue: queue %u: event loop: %s",
				 qs->queue_number, strerror(errno));
			return -1;
		}
		qs->registered = true;
	}
	return 0;
}

static int nfqueue_check(const struct source_config *cfg, char *err, size_t errlen)
{
	size_t queues;

	if (cfg->queue_last < cfg->queue_first) {
		snprintf(err, errlen, "nfqueue: queues %u-%u: the last is below the first",
			 cfg->queue_first, cfg->queue_last);
		return -1;
	}
	queues = (size_t)cfg->queue_last - cfg->queue_first + 1;
	if (queues > NFQUEUE_QUEUES_MAX) {
		snprintf(err, errlen, "nfqueue: queues %u-%u: more than %d queues (a socket "
			 "and a receive buffer each)", cfg->queue_first, cfg->queue_last,
			 NFQUEUE_QUEUES_MAX);
		return -1;
	}
	if (cfg->queue_maxlen == 0) {
		snprintf(err, errlen, "nfqueue: queue length 0: the kernel would drop everything");
		return -1;
	}
	if (cfg->queue_threads > queues) {
		snprintf(err, errlen, "--queue-threads %u: more threads than the %zu queue%s of "
			 "--queues %u-%u (a queue is read by one thread)", cfg->queue_threads,
			 queues, queues == 1 ? "" : "s", cfg->queue_first, cfg->queue_last);
		return -1;
	}
	return 0;
}

/* The readers, each with a contiguous share of the queues (as even as can
 * be): one, the loop, without threads. */
static int make_readers(struct nfqueue *nq, size_t count)
{
	nq->readers = calloc(count, sizeof(*nq->readers));
	if (!nq->readers)
		return -1;
	nq->reader_count = count;
	for (size_t t = 0; t < count; t++) {
		struct nfqueue_reader *r = &nq->readers[t];
		size_t first = t * nq->socket_count / count;
		size_t last = (t + 1) * nq->socket_count / count;

		r->owner = nq;
		r->sockets = &nq->sockets[first];
		r->socket_count = last - first;
		/* libmnl walks attributes up to the aligned end of a message,
		 * and the kernel leaves the last one (the payload) unpadded:
		 * keep the few bytes of padding past a datagram that fills the
		 * buffer inside it. */
		r->receive_buffer = calloc(1, nq->receive_size + NLMSG_ALIGNTO);
		if (!r->receive_buffer)
			return -1;
		for (size_t i = first; i < last; i++)
			nq->sockets[i].reader = r;
	}
	return 0;
}

static int nfqueue_open(struct source *s, struct loop *l, const struct source_config *cfg,
			char *err, size_t errlen)
{
	struct nfqueue *nq;

	if (nfqueue_check(cfg, err, errlen) < 0)
		return -1;
	nq = calloc(1, sizeof(*nq));
	if (!nq) {
		snprintf(err, errlen, "nfqueue: out of memory");
		return -1;
	}
	s->priv = nq;
	nq->source = s;
	nq->loop = l;
	nq->stop_fd = -1;
	nq->payload_prefix = cfg->payload_prefix;
	nq->threaded = cfg->queue_threads > 0;
	nq->socket_count = (size_t)cfg->queue_last - cfg->queue_first + 1;
	nq->receive_size = nfqueue_receive_size(nfqueue_copy_range(cfg->payload_prefix));
	nq->sockets = calloc(nq->socket_count, sizeof(*nq->sockets));
	if (!nq->sockets ||
	    make_readers(nq, nq->threaded ? cfg->queue_threads : 1) < 0) {
		snprintf(err, errlen, "nfqueue: out of memory");
		nfqueue_close(s);
		return -1;
	}
	if (nfqueue_open_all(nq, cfg, err, errlen) < 0 ||
	    (nq->threaded && nfqueue_threads_prepare(nq, err, errlen) < 0)) {
		nfqueue_close(s);
		return -1;
	}
	return 0;
}

static int nfqueue_start(struct source *s, char *err, size_t errlen)
{
	struct nfqueue *nq = s->priv;

	if (!nq || !nq->threaded)
		return 0;
	return nfqueue_threads_start(nq, err, errlen);
}

const struct source_ops source_nfqueue_ops = {
	.name = "nfqueue",
	.open = nfqueue_open,
	.check = nfqueue_check,
	.start = nfqueue_start,
	.flush = nfqueue_flush,
	.close = nfqueue_close,
	.each_queue = nfqueue_each_queue,
};
