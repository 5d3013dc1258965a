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

#include <libmnl/libmnl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "lib/runtime/loop.h"
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
/* One queue per CPU is the most fanout uses; this bounds sockets and
 * receive buffers (16 MiB each at worst) well above any real need. */
#define QUEUES_MAX 1024
/* How often flush() reads the kernel's queue-full drop counts. */
#define PROC_READ_INTERVAL_MS 1000
/* The kernel answers a config message at once; this only guards open(). */
#define CONFIG_ACK_TIMEOUT_SECONDS 5

struct nfqueue;

struct nfqueue_socket {
	struct nfqueue *owner;
	struct mnl_socket *socket;
	int fd;
	bool registered;	/* added to the loop */
	uint16_t queue_number;
	uint32_t next_id;	/* the id the kernel gives the next packet */
	uint32_t last_id;	/* the highest id read, to give a verdict to */
	uint32_t pending;	/* packets read and not yet given a verdict */
	uint32_t queue_dropped;	/* the kernel's queue-full count, last read */
};

struct nfqueue {
	struct source *source;
	struct loop *loop;
	uint16_t payload_prefix;
	uint32_t seq;
	uint8_t *receive_buffer;
	size_t receive_size;
	struct nfqueue_socket *sockets;
	size_t socket_count;
	uint64_t proc_read_ms;	/* when the queue-full counts were last read */
};

static int send_verdict(struct nfqueue_socket *qs)
{
	uint8_t buf[NFQUEUE_SEND_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	nlh = nfqueue_msg_verdict_batch(buf, qs->queue_number, qs->last_id, ++qs->owner->seq);
	/* On failure the packets stay pending and the next flush tries again;
	 * meanwhile they wait in the kernel's queue, never passing. */
	if (mnl_socket_sendto(qs->socket, nlh, nlh->nlmsg_len) < 0)
		return -1;
	qs->pending = 0;
	qs->owner->source->counters.verdicts++;
	return 0;
}

/* A queued packet: count id gaps, deliver it if it parses, note its id. */
static void handle_packet(struct nfqueue_socket *qs, const struct nlmsghdr *nlh)
{
	struct source *s = qs->owner->source;
	struct nfqueue_packet queued;
	const char *why;
	int rc = nfqueue_msg_parse_packet(nlh, qs->owner->payload_prefix, &queued, &why);

	if (queued.has_id) {
		s->counters.lost += nfqueue_ids_skipped(qs->next_id, queued.id);
		qs->next_id = queued.id + 1;
		qs->last_id = queued.id;
		qs->pending++;
	}
	if (rc == 0) {
		s->counters.packets++;
		if (s->deliver)
			s->deliver(s->deliver_ctx, &queued.packet);
	} else {
		s->counters.malformed++;
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

static void read_until_empty(struct nfqueue_socket *qs)
{
	struct nfqueue *nq = qs->owner;

	for (;;) {
		ssize_t n = mnl_socket_recvfrom(qs->socket, nq->receive_buffer, nq->receive_size);

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
		handle_datagram(qs, nq->receive_buffer, (size_t)n, 0);
	}
}

static void on_readable(struct loop *l, int fd, unsigned events, void *arg)
{
	read_until_empty(arg);
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
	uint32_t seq = ++nq->seq;
	struct nlmsghdr *nlh = nfqueue_msg_config(buf, qs->queue_number, copy_range, maxlen, seq);
	int answer = NO_ANSWER;

	if (mnl_socket_sendto(qs->socket, nlh, nlh->nlmsg_len) < 0) {
		snprintf(err, errlen, "nfqueue: queue %u: sending the bind: %s",
			 qs->queue_number, strerror(errno));
		return -1;
	}
	while (answer == NO_ANSWER) {
		ssize_t n = mnl_socket_recvfrom(qs->socket, nq->receive_buffer, nq->receive_size);

		if (n < 0 && (errno == EINTR || errno == ENOBUFS))
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "nfqueue: queue %u: no answer to the bind: %s",
				 qs->queue_number, n < 0 ? strerror(errno) : "socket closed");
			return -1;
		}
		answer = handle_datagram(qs, nq->receive_buffer, (size_t)n, seq);
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

static struct nfqueue_socket *socket_of_queue(struct nfqueue *nq,
					     const struct nfqueue_proc_entry *e)
{
	for (size_t i = 0; i < nq->socket_count; i++) {
		struct nfqueue_socket *qs = &nq->sockets[i];

		if (qs->socket && qs->queue_number == e->queue_number &&
		    mnl_socket_get_portid(qs->socket) == e->portid)
			return qs;
	}
	return NULL;
}

/* Add the queue-full drops since the last read to counters.lost. Without
 * the file (no /proc in this mount namespace) they stay unknown. */
static void read_queue_full_drops(struct nfqueue *nq)
{
	char line[256];
	FILE *file = fopen(NFQUEUE_PROC_PATH, "re");

	if (!file)
		return;
	while (fgets(line, sizeof(line), file)) {
		struct nfqueue_proc_entry e;
		struct nfqueue_socket *qs;

		if (nfqueue_proc_parse_line(line, &e) < 0 || !(qs = socket_of_queue(nq, &e)))
			continue;
		nq->source->counters.lost += e.queue_dropped - qs->queue_dropped;
		qs->queue_dropped = e.queue_dropped;
	}
	fclose(file);
}

static void nfqueue_flush(struct source *s)
{
	struct nfqueue *nq = s->priv;
	uint64_t now;

	if (!nq)
		return;
	for (size_t i = 0; i < nq->socket_count; i++)
		if (nq->sockets[i].pending)
			send_verdict(&nq->sockets[i]);
	now = loop_now_ms(nq->loop);
	if (now - nq->proc_read_ms >= PROC_READ_INTERVAL_MS) {
		nq->proc_read_ms = now;
		read_queue_full_drops(nq);
	}
}

static void nfqueue_close(struct source *s)
{
	struct nfqueue *nq = s->priv;

	if (!nq)
		return;
	nfqueue_flush(s);
	for (size_t i = 0; i < nq->socket_count; i++) {
		struct nfqueue_socket *qs = &nq->sockets[i];

		if (qs->registered)
			loop_del_fd(nq->loop, qs->fd);
		/* Closing the socket unbinds the queue; the kernel drops what
		 * is still queued (no fail-open). */
		if (qs->socket)
			mnl_socket_close(qs->socket);
	}
	free(nq->sockets);
	free(nq->receive_buffer);
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
		if (loop_add_fd(nq->loop, qs->fd, LOOP_READ, on_readable, qs) < 0) {
			snprintf(err, errlen, "nfqueue: queue %u: event loop: %s",
				 qs->queue_number, strerror(errno));
			return -1;
		}
		qs->registered = true;
	}
	return 0;
}

static int nfqueue_open(struct source *s, struct loop *l, const struct source_config *cfg,
			char *err, size_t errlen)
{
	struct nfqueue *nq;

	if (cfg->queue_last < cfg->queue_first) {
		snprintf(err, errlen, "nfqueue: queues %u-%u: the last is below the first",
			 cfg->queue_first, cfg->queue_last);
		return -1;
	}
	if ((size_t)cfg->queue_last - cfg->queue_first + 1 > QUEUES_MAX) {
		snprintf(err, errlen, "nfqueue: queues %u-%u: more than %d queues (a socket "
			 "and a receive buffer each)", cfg->queue_first, cfg->queue_last, QUEUES_MAX);
		return -1;
	}
	if (cfg->queue_maxlen == 0) {
		snprintf(err, errlen, "nfqueue: queue length 0: the kernel would drop everything");
		return -1;
	}
	nq = calloc(1, sizeof(*nq));
	if (!nq) {
		snprintf(err, errlen, "nfqueue: out of memory");
		return -1;
	}
	s->priv = nq;
	nq->source = s;
	nq->loop = l;
	nq->payload_prefix = cfg->payload_prefix;
	nq->socket_count = (size_t)cfg->queue_last - cfg->queue_first + 1;
	nq->receive_size = nfqueue_receive_size(nfqueue_copy_range(cfg->payload_prefix));
	/* libmnl walks attributes up to the aligned end of a message, and the
	 * kernel leaves the last one (the payload) unpadded: keep the few
	 * bytes of padding past a datagram that fills the buffer inside it. */
	nq->receive_buffer = calloc(1, nq->receive_size + NLMSG_ALIGNTO);
	nq->sockets = calloc(nq->socket_count, sizeof(*nq->sockets));
	if (!nq->receive_buffer || !nq->sockets) {
		snprintf(err, errlen, "nfqueue: out of memory");
		nfqueue_close(s);
		return -1;
	}
	if (nfqueue_open_all(nq, cfg, err, errlen) < 0) {
		nfqueue_close(s);
		return -1;
	}
	return 0;
}

const struct source_ops source_nfqueue_ops = {
	.name = "nfqueue",
	.open = nfqueue_open,
	.flush = nfqueue_flush,
	.close = nfqueue_close,
};
