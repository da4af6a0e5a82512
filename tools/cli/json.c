// SPDX-License-Identifier: GPL-2.0
/*
 * JSON output of the chainmesh CLI (see json.h).
 */
#include <inttypes.h>
#include <stdio.h>

#include "json.h"

#define J_DEPTH_MAX	8

bool json;
bool json_pretty;

static int jdepth;
static bool jfirst[J_DEPTH_MAX];
/* j_member() wrote the key: the next value goes with it. */
static bool jkeyed;

/*
 * The length of the well-formed UTF-8 sequence at @s (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;	/* also stops at the NUL */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/*
 * A JSON string: quote and backslash escaped, control characters (and
 * DEL) as \u00XX, and every byte that is not part of well-formed UTF-8
 * as U+FFFD, so that the output is valid UTF-8 whatever the kernel
 * handed us.
 */
void j_str_raw(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	putchar('"');
	while (*s) {
		if (*s == '"' || *s == '\\') {
			printf("\\%c", *s++);
			continue;
		}
		if (*s < 0x20 || *s == 0x7f) {
			printf("\\u%04x", *s++);
			continue;
		}
		n = utf8_len(s);
		if (!n) {
			fputs("\\ufffd", stdout);
			s++;
			continue;
		}
		fwrite(s, 1, n, stdout);
		s += n;
	}
	putchar('"');
}

static void j_indent(void)
{
	int i;

	putchar('\n');
	for (i = 0; i < jdepth; i++)
		fputs("    ", stdout);
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
	if (json_pretty)
		j_indent();
	if (key) {
		j_str_raw(key);
		fputs(json_pretty ? ": " : ":", stdout);
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
	bool empty = jfirst[jdepth];

	jdepth--;
	if (json_pretty && !empty)
		j_indent();
	putchar(c);
	if (jdepth == 0)
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
