/*
 * fuzz_pcap.c — libFuzzer harness for the --offline file reader: the input
 * is a whole pcap or pcapng file, played by the real offline backend
 * (copy/capture/capture_offline.c: libpcap's reader, our byte offsets and
 * rounds) through capture_deliver_frame's link-layer parsing, in a real
 * event loop at speed 0, two rounds.
 *
 * The file lives in a memfd, opened by path (/proc/self/fd/N) as the daemon
 * opens its file. Checked: capture_offline_check() and open() agree; an
 * opened file ends with done() exactly once; a damaged file's error names
 * a byte offset inside the file; whatever is delivered is a parsed TCP
 * packet inside its frame, and no more packets come than the file could
 * hold records (two rounds). Any violation aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "copy/capture/capture.h"
#include "fuzz_check.h"
#include "lib/runtime/loop.h"

struct played {
	struct loop *loop;
	size_t packets;
	int done;
};

static void on_deliver(void *ctx, uint64_t ts_us, const struct packet *p)
{
	struct played *pl = ctx;

	REQUIRE(p->family == AF_INET || p->family == AF_INET6);
	REQUIRE(fuzz_family_ok(&p->src) && fuzz_family_ok(&p->dst));
	REQUIRE(p->payload_present <= p->payload_len);
	pl->packets++;
}

static void on_done(void *ctx)
{
	struct played *pl = ctx;

	pl->done++;
	loop_stop(pl->loop);
}

static struct loop *loop;
static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct capture_config cfg = { .kind = CAPTURE_OFFLINE, .speed = 0, .repeat = 2 };
	struct played pl;
	struct capture c;
	char err[640], check_err[640];
	int checked, opened;
	const char *at;

	if (!loop) {
		loop = loop_new();
		fd = memfd_create("fuzz_pcap", 0);
		REQUIRE(loop && fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	REQUIRE(ftruncate(fd, 0) == 0);
	REQUIRE(pwrite(fd, data, size, 0) == (ssize_t)size);
	cfg.file = path;

	checked = capture_offline_check(path, NULL, check_err, sizeof(check_err));
	memset(&c, 0, sizeof(c));
	memset(&pl, 0, sizeof(pl));
	pl.loop = loop;
	c.ops = capture_ops_for(CAPTURE_OFFLINE);
	c.deliver = on_deliver;
	c.done = on_done;
	c.ctx = &pl;
	opened = c.ops->open(&c, loop, &cfg, err, sizeof(err));
	REQUIRE(checked == opened);
	if (opened != 0) {
		REQUIRE(err[0] != '\0');
		return 0;
	}
	REQUIRE(loop_run(loop) == 0);
	REQUIRE(pl.done == 1);
	/* A record is at least its 16-byte header: two rounds of the file. */
	REQUIRE(pl.packets <= 2 * (size / 16));
	at = strstr(c.error, "byte offset ");
	if (c.error[0] && at) {
		long offset = strtol(at + strlen("byte offset "), NULL, 10);

		REQUIRE(offset >= 0 && (size_t)offset <= size);
	}
	c.ops->close(&c);
	return 0;
}
