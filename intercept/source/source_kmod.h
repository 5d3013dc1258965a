/*
 * source_kmod.h — the part of the kmod source that reads doppel.ko's
 * summary batches, apart from its socket so tests can feed it bytes.
 */
#ifndef DOPPEL_SOURCE_KMOD_H
#define DOPPEL_SOURCE_KMOD_H

#include <stddef.h>
#include <stdint.h>

#include "intercept/source/source.h"

/* Parse one datagram (netlink messages of family family_id): deliver each
 * DOPPEL_CMD_SUMMARIES summary to s, add DOPPEL_A_LOST to s->counters.lost,
 * count summaries that are not whole or do not parse as malformed. Other
 * messages are ignored. Not reentrant (one parse buffer). */
void source_kmod_read_batch(struct source *s, uint16_t family_id, const void *buf, size_t len);

#endif
