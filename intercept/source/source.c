/*
 * source.c — the sources doppel-intercept knows, by the name --source
 * takes.
 */
#include <stddef.h>
#include <string.h>

#include "intercept/source/source.h"

static const struct source_ops *const sources[] = {
	&source_nfqueue_ops,
	&source_pcap_ops,
	&source_kmod_ops,
};

const struct source_ops *source_find(const char *name)
{
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		if (strcmp(sources[i]->name, name) == 0)
			return sources[i];
	return NULL;
}
