/*
 * argv_input.h — a command line and a config file out of one fuzz input,
 * for the option parsers' harnesses (fuzz_copy_options.c,
 * fuzz_intercept_options.c).
 *
 * Input: one byte N (the number of arguments, at most ARGV_INPUT_MAX),
 * then N arguments each ending in a NUL byte (the last may run to the end
 * of the input), then the config file's bytes. argv[0] is the program.
 *
 * Every --config (and each prefix getopt_long takes for it, "--c" on) is
 * rewritten to --config=<a memfd holding the config bytes>, so a fuzzed
 * path never opens a file of this machine (/dev/zero, a FIFO). Arguments
 * starting "--=" are refused (getopt's reading of them is not ours to fuzz).
 */
#ifndef DOPPEL_FUZZ_ARGV_INPUT_H
#define DOPPEL_FUZZ_ARGV_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARGV_INPUT_MAX 64

struct argv_input {
	int argc;
	char *argv[ARGV_INPUT_MAX + 2];
	char *args[ARGV_INPUT_MAX + 1];	/* what argv held before getopt permuted it */
	char config_option[64];
};

/* Fill a from data; false when the input is one to skip. Free with
 * argv_input_free() either way. */
bool argv_input_build(struct argv_input *a, const char *program, const uint8_t *data,
		      size_t size);
void argv_input_free(struct argv_input *a);

/* argv_input.c also defines the harnesses' LLVMFuzzerInitialize: stdout
 * (usage, version) goes to /dev/null, the process leaves the network (see
 * no_name_lookup.c for why names must not be resolved), the memfd opens. */

#endif
