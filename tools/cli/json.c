// SPDX-License-Identifier: GPL-2.0
/*
 * JSON output of the chainmesh CLI (see json.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "json.h"

#define J_DEPTH_MAX	8

bool json;

static int jdepth;
static bool jfirst[J_DEPTH_MAX];
/* j_member() wrote the key: the next value goes with it. */
static bool jkeyed;

static void j_str_raw(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* Separator and key; @key is NULL inside arrays. */
static void j_key(const char *key)
{
	if (jkeyed) {
		jkeyed = false;
		return;
	}
	if (!jfirst[jdepth])
		putchar(',');
	jfirst[jdepth] = false;
	if (key) {
		j_str_raw(key);
		putchar(':');
	}
}

void j_open(const char *key, char c)
{
	if (jdepth)
		j_key(key);
	putchar(c);
	jfirst[++jdepth] = true;
}

void j_close(char c)
{
	putchar(c);
	if (--jdepth == 0)
		putchar('\n');
}

/*
 * The key of a member whose value comes from a printer that writes it as
 * an element of an array (j_open(NULL, ...)): the monitor's "data".
 */
void j_member(const char *key)
{
	j_key(key);
	jkeyed = true;
}

void j_str(const char *key, const char *v)
{
	j_key(key);
	j_str_raw(v);
}

void j_uint(const char *key, uint64_t v)
{
	j_key(key);
	printf("%" PRIu64, v);
}
