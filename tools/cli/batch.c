// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh -batch FILE: the commands of a file, one a line.
 *
 * Runs of "flow add" or of "flow del" lines become one FLOW_NEW or
 * FLOW_DEL request of many flow nests (the kernel applies such a request
 * at once, or not at all); any other line runs as its own command, in a
 * child, so that it exits as it would alone.
 *
 * Words are split as sh(1) splits them: '...' and "..." quote (in "..."
 * a backslash escapes ", \, $ and `), a backslash outside quotes escapes
 * the next character, '#' at the start of a word comments out the rest.
 *
 * With -force a failing line is reported and the batch goes on; the exit
 * status is the last failure's.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <sys/wait.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "chainmesh.h"

/* In a batch: the line at fault, for every message. */
char batch_where[48];

#define CM_BATCH_MAX	(64 * 1024)	/* a request, well below the send buffer */
#define CM_BATCH_ROOM	1024		/* a flow nest takes less */
#define CM_BATCH_ARGS	64

struct cm_batch {
	struct cm_cmd c;		/* its socket is the batch's */
	char req[CM_BATCH_MAX] __attribute__((aligned(8)));
	struct nlmsghdr *nlh;		/* the request being filled, or NULL */
	uint8_t cmd;
	char mesh[CHAINMESH_NAME_LEN];	/* of the request */
	char only[CHAINMESH_NAME_LEN];	/* the only mesh, when none is named */
	unsigned long first, last;	/* its lines */
	unsigned int nflows;
	bool open;
	bool force;
	int status;			/* -force: the last failure's */
};

/*
 * Send the request being filled. With -force a refusal is reported and
 * recorded, and the batch goes on.
 */
static void batch_flush(struct cm_batch *b)
{
	struct cm_talk t = { .cb = NULL };
	jmp_buf jb, *outer = fail_jmp;
	char what[96];
	int err, st;

	if (!b->nlh)
		return;
	if (b->force) {
		st = setjmp(jb);
		if (st) {
			fail_jmp = outer;
			b->nlh = NULL;
			b->status = st;
			return;
		}
		fail_jmp = &jb;
	}
	mnl_attr_put_strz(b->nlh, CHAINMESH_A_MESH_NAME, b->mesh);
	snprintf(batch_where, sizeof(batch_where), "lines %lu-%lu: ", b->first,
		 b->last);
	snprintf(what, sizeof(what), "flow %s of %u flows",
		 b->cmd == CHAINMESH_CMD_FLOW_NEW ? "add" : "del", b->nflows);
	err = cm_talk(&b->c.nl, b->nlh, &t);
	if (err)
		cm_refused(what, &t, err);
	b->nlh = NULL;
	fail_jmp = outer;
}

/* A flow add or del line, into the request (flushed first when it is of
 * another kind or mesh, or full). */
static void batch_flow(struct cm_batch *b, uint8_t cmd, int argc, char **argv,
		       unsigned long line)
{
	char tmp[CM_BATCH_ROOM] __attribute__((aligned(8)));
	struct nlmsghdr *one = mnl_nlmsg_put_header(tmp);
	const struct nlattr *nest;
	const char *name;
	struct nlattr *attr;

	b->c.object = "flow";
	b->c.argc = argc;
	b->c.argv = argv;
	if (cmd == CHAINMESH_CMD_FLOW_NEW) {
		name = flow_put(&b->c, one, "flow add");
	} else {
		unsigned long id = parse_ulong("flow", "id", next_arg(&b->c), UINT32_MAX);

		name = opt_mesh_only(&b->c);
		attr = mnl_attr_nest_start(one, CHAINMESH_A_FLOW);
		mnl_attr_put_u32(one, CHAINMESH_FLOW_A_ID, id);
		mnl_attr_nest_end(one, attr);
	}
	nest = mnl_nlmsg_get_payload(one);
	if (!b->open) {
		if (b->c.nl.sk)
			mnl_socket_close(b->c.nl.sk);
		cm_open(&b->c.nl);
		b->open = true;
	}
	if (!name)
		name = b->only[0] ? b->only : cm_mesh_pick(&b->c.nl, NULL, b->only);
	if (b->nlh && (b->cmd != cmd || strcmp(b->mesh, name) ||
		       b->nlh->nlmsg_len + CM_BATCH_ROOM > CM_BATCH_MAX))
		batch_flush(b);
	if (!b->nlh) {
		b->nlh = cm_msg(b->req, b->c.nl.family, cmd, NLM_F_ACK);
		b->cmd = cmd;
		snprintf(b->mesh, sizeof(b->mesh), "%s", name);
		b->first = line;
		b->nflows = 0;
	}
	memcpy((char *)b->nlh + b->nlh->nlmsg_len, nest, mnl_attr_get_len(nest));
	b->nlh->nlmsg_len += MNL_ALIGN(mnl_attr_get_len(nest));
	b->last = line;
	b->nflows++;
}

/* All of @path ('-': standard input), NUL terminated: read before any
 * child runs, as a child's exit would move a shared file offset. */
static __attribute__((noinline)) char *batch_slurp(const char *path)
{
	size_t len = 0, cap = 0, n;
	char *buf = NULL, *more;
	FILE *f;

	f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f)
		fail("%s: %s", path, strerror(errno));
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			more = realloc(buf, cap);
			if (!more)
				fail("%s: out of memory", path);
			buf = more;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n);
	if (ferror(f))
		fail("%s: %s", path, strerror(errno));
	if (f != stdin)
		fclose(f);
	buf[len] = '\0';
	return buf;
}

/* sh(1)'s word splitting, in place; see the top of this file. */
int batch_split(char *line, char **argv, int max, const char **err)
{
	char *src = line, *dst = line;
	int argc = 0;
	char q;

	*err = NULL;
	for (;;) {
		while (*src == ' ' || *src == '\t' || *src == '\r')
			src++;
		if (!*src || *src == '#')
			break;
		if (argc == max) {
			*err = "too many words";
			return -1;
		}
		argv[argc++] = dst;
		while (*src && *src != ' ' && *src != '\t' && *src != '\r') {
			if (*src == '\'' || *src == '"') {
				q = *src++;
				while (*src && *src != q) {
					if (q == '"' && *src == '\\' && src[1] &&
					    strchr("\"\\$`", src[1]))
						src++;
					*dst++ = *src++;
				}
				if (!*src) {
					*err = q == '"' ? "unterminated \"" :
							  "unterminated '";
					return -1;
				}
				src++;
			} else if (*src == '\\') {
				if (!src[1]) {
					*err = "backslash at the end of the line";
					return -1;
				}
				src++;
				*dst++ = *src++;
			} else {
				*dst++ = *src++;
			}
		}
		if (*src)
			src++;
		*dst++ = '\0';
	}
	return argc;
}

/* A line that is not a flow add or del: in a child, as if alone. */
static int batch_child(int argc, char **argv)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork: %s", strerror(errno));
	if (!pid) {
		static struct cm_cmd c;

		fail_jmp = NULL;
		run_cmd(&c, argc, argv);
		fflush(stdout);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) < 0)
		fail("waitpid: %s", strerror(errno));
	if (!WIFEXITED(status))
		return EXIT_REFUSED;
	return WEXITSTATUS(status);
}

static void batch_line(struct cm_batch *b, char *line, unsigned long n)
{
	char *argv[CM_BATCH_ARGS];
	const char *err;
	int argc, st;

	argc = batch_split(line, argv, CM_BATCH_ARGS, &err);
	if (argc < 0)
		usage_fail(NULL, "%s", err);
	if (!argc)
		return;
	if (argc >= 2 && matches(argv[0], "flow") &&
	    (matches(argv[1], "add") || matches(argv[1], "delete"))) {
		batch_flow(b, matches(argv[1], "add") ? CHAINMESH_CMD_FLOW_NEW :
			   CHAINMESH_CMD_FLOW_DEL, argc - 2, argv + 2, n);
		return;
	}
	batch_flush(b);
	snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
	st = batch_child(argc, argv);
	if (st && !b->force)
		exit(st);
	if (st)
		b->status = st;
}

int batch_run(const char *path, bool force)
{
	/* static: what a longjmp() must find as it was */
	static struct cm_batch b;
	static jmp_buf jb;
	static char *buf, *line, *next;
	static unsigned long n;
	int st;

	buf = batch_slurp(path);

	b.force = force;
	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n++;
		snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
		if (force) {
			st = setjmp(jb);
			if (st) {
				/* this line failed in here; on to the next */
				fail_jmp = NULL;
				b.status = st;
				continue;
			}
			fail_jmp = &jb;
		}
		batch_line(&b, line, n);
		fail_jmp = NULL;
	}
	batch_flush(&b);
	free(buf);
	return b.status;
}
