/*
 * copy_metrics.c — see copy_metrics.h. Each metric's samples are written
 * together (the text format wants one group per metric), so the per
 * intercept gauges take one pass over the links each.
 */
#include "copy/copy_metrics.h"

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static void addr_port(const struct dp_addr *a, uint16_t port, char *buf, size_t len)
{
	char text[64];

	dp_addr_str(a, text, sizeof(text));
	snprintf(buf, len, a->family == AF_INET6 ? "[%s]:%u" : "%s:%u", text, port);
}

void copy_metrics_transfer_label(const struct copy_transfer *t, char *buf, size_t len)
{
	char online[80], target[80];

	if (t->has_online_addr)
		addr_port(&t->online_addr, t->online_port, online, sizeof(online));
	else
		snprintf(online, sizeof(online), "%u", t->online_port);
	addr_port(&t->target_addr, t->target_port, target, sizeof(target));
	snprintf(buf, len, "%s-%s", online, target);
}

static void render_transfers(struct metrics_text *out, const struct copy_metrics_sources *src)
{
	char label_text[200];
	const char *label[2] = { "transfer", label_text };

	metrics_text_family(out, "transfer_packets_captured", STAT_COUNTER,
			    "captured client packets, by -x transfer");
	for (size_t i = 0; i < src->o->transfer_count; i++) {
		copy_metrics_transfer_label(&src->o->transfers[i], label_text, sizeof(label_text));
		metrics_text_sample(out, "transfer_packets_captured", STAT_COUNTER, label, 1,
				    src->transfer_packets ? src->transfer_packets[i] : 0);
	}
}

static const struct stat_def link_metrics[COPY_LINK_METRICS] = {
	[COPY_LINK_UP] = { "intercept_up", STAT_GAUGE,
		      "1 when the connection to that intercept is ready (HELLO exchanged)",
		      NULL, NULL, NULL },
	[COPY_LINK_FAILURES] = { "intercept_failures", STAT_GAUGE,
			    "connection attempts in a row that did not get to HELLO",
			    NULL, NULL, NULL },
	[COPY_LINK_PENDING_ROUTES] = { "intercept_pending_routes", STAT_GAUGE,
				  "routes queued for that intercept, not yet written",
				  NULL, NULL, NULL },
	[COPY_LINK_OUTPUT_BYTES] = { "intercept_output_queued_bytes", STAT_GAUGE,
				"bytes queued to that intercept, not yet taken by the kernel",
				NULL, NULL, NULL },
};

static void render_links(struct metrics_text *out, const struct copy_metrics_sources *src)
{
	char label_text[80];
	const char *label[2] = { "intercept", label_text };

	for (int m = 0; m < COPY_LINK_METRICS; m++) {
		metrics_text_family(out, link_metrics[m].name, link_metrics[m].type,
				    link_metrics[m].help);
		for (size_t i = 0; (src->links || src->link_values) && i < src->o->intercept_count;
		     i++) {
			struct intercept_link_status st;
			uint64_t v[COPY_LINK_METRICS];

			addr_port(&src->o->intercepts[i].addr, src->o->intercepts[i].port,
				  label_text, sizeof(label_text));
			if (src->links) {
				intercept_links_status(src->links, i, &st);
				v[COPY_LINK_UP] = st.state == LINK_READY;
				v[COPY_LINK_FAILURES] = st.failures;
				v[COPY_LINK_PENDING_ROUTES] = st.pending_routes;
				v[COPY_LINK_OUTPUT_BYTES] = st.output_bytes;
			} else {
				memcpy(v, src->link_values[i], sizeof(v));
			}
			metrics_text_sample(out, link_metrics[m].name, link_metrics[m].type, label,
					    1, v[m]);
		}
	}
}

void copy_metrics_render(struct metrics_text *out, const struct copy_metrics_sources *src)
{
	metrics_text_stats(out, &src->stats->table);
	render_transfers(out, src);
	render_links(out, src);
	if (src->capture_delay)
		metrics_text_histogram(out, "capture_delay",
				       "time from a packet's capture by the kernel to the daemon",
				       src->capture_delay);
	metrics_text_process(out, &src->stats->table);
}
