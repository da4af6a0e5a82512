/* SPDX-License-Identifier: GPL-2.0 */
/*
 * JSON output of the chainmesh CLI: just what it prints, written as it
 * goes to standard output. A value at depth 0 ends its line.
 */
#ifndef CM_JSON_H
#define CM_JSON_H

#include <stdbool.h>
#include <stdint.h>

/* -j: print JSON instead of text. */
extern bool json;
/* -p: indented, one member a line. */
extern bool json_pretty;

/* Members take a @key; inside arrays it is NULL. */
void j_open(const char *key, char c);
void j_close(char c);
void j_member(const char *key);
void j_str(const char *key, const char *v);
void j_uint(const char *key, uint64_t v);
/* A string as JSON, whatever its bytes: valid UTF-8 out. */
void j_str_raw(const char *s);

#endif /* CM_JSON_H */
