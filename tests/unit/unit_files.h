/*
 * unit_files.h — reading back files a unit test had the library write.
 */
#ifndef DOPPEL_UNIT_FILES_H
#define DOPPEL_UNIT_FILES_H

#include <stddef.h>

/* The start of path's content (up to len - 1 bytes) as a string in buf;
 * fails the test when the file cannot be opened. */
void unit_read_file(const char *path, char *buf, size_t len);

#endif
