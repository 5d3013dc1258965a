/*
 * copy_options_check.h — the checks of doppel-copy's options that need
 * every option read (copy_options.c calls them in this order once the
 * parse is done): each returns 0, or -1 with the reason in err.
 */
#ifndef DOPPEL_COPY_OPTIONS_CHECK_H
#define DOPPEL_COPY_OPTIONS_CHECK_H

#include <stddef.h>

#include "copy/copy_options.h"

int copy_options_check_transfers(const struct copy_options *o, char *err, size_t errlen);
int copy_options_check_protocols(const struct copy_options *o, char *err, size_t errlen);
/* After -s is parsed. */
int copy_options_check_served(const struct copy_options *o, char *err, size_t errlen);
int copy_options_check_compare(const struct copy_options *o, char *err, size_t errlen);
int copy_options_check_workers(const struct copy_options *o, char *err, size_t errlen);

#endif
