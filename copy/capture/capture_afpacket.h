/*
 * capture_afpacket.h — between the afpacket capture (capture_afpacket.c:
 * the socket, its ring, reading it) and its sizing to the traffic
 * (capture_afpacket_size.c: replacing the ring by one of another size).
 * Only those two include it.
 */
#ifndef DOPPEL_CAPTURE_AFPACKET_H
#define DOPPEL_CAPTURE_AFPACKET_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "copy/capture/capture.h"

/* The ring's frame: 80 bytes of headers and 432 of packet (capture_afpacket.c). */
#define AFPACKET_FRAME_BYTES 512

/* One socket and its ring. */
struct afring {
	int fd;
	uint8_t *ring;
	size_t ring_len;
	uint32_t frame_count;
	uint32_t next_frame;
};

/* A switch to a ring of another size, its waits on a thread of its own. */
struct afswitch {
	int efd;		/* eventfd: the thread is done */
	bool running;		/* started, not yet joined */
	pthread_t thread;
	struct afring next;
	uint32_t bytes;
	bool failed;
	uint64_t started_ms;
};

struct afpacket {
	struct afring cur;
	struct loop *loop;
	uint32_t snaplen;
	uint8_t *long_packet;	/* snaplen bytes: a packet read from the receive queue */
	bool outgoing;		/* cfg.outgoing: hand outgoing packets over too */
	/* ring_auto */
	bool sizing;
	char *filter, *device;	/* for the next socket */
	uint32_t ring_bytes, cap_bytes;
	uint16_t group;
	uint64_t timer;
	uint64_t frames;	/* taken from the ring since the last look */
	uint64_t window_frames;	/* since window_ms: growth looks every 100 ms */
	uint64_t window_ms;
	uint64_t drops_seen;
	unsigned quiet;		/* seconds in a row that wanted <= a quarter */
	struct afswitch sw;
};

/* capture_afpacket.c */
uint32_t afpacket_read_ring(struct capture *c, struct afpacket *a, struct afring *r,
			    uint32_t max);
void afpacket_on_readable(struct loop *l, int fd, unsigned events, void *arg);
void afpacket_ring_free(struct afring *r);
int afpacket_steer(int fd, uint32_t member, char *err, size_t errlen);
int afpacket_ring_open(struct afpacket *a, struct afring *r, uint32_t ring_bytes,
		       bool new_group, char *err, size_t errlen);
int afpacket_attach_filter(int fd, const char *filter, uint32_t snaplen, char *err,
			   size_t errlen);
void afpacket_update_stats(struct capture *c);

/* capture_afpacket_size.c: the sizing's timer and the switch's eventfd,
 * and their end (joining a switch still running). */
int afpacket_sizing_start(struct capture *c, char *err, size_t errlen);
/* After a read that took frames: grow now if the rate since the last look
 * (at least GROW_WINDOW_MS ago) wants a bigger ring. */
void afpacket_sizing_check(struct capture *c);
void afpacket_sizing_stop(struct capture *c);

#endif
