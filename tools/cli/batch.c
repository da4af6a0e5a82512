// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh -batch FILE: the commands of a file, one a line.
 *
 * Runs of "flow add" or of "flow del" lines become one FLOW_NEW or
 * FLOW_DEL request of many flow nests (the kernel applies such a request
 * at once, or not at all); any other line runs as its own command, in a
 * child, so that it exits as it would alone.
 */
#include <errno.h>
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
};

static void batch_flush(struct cm_batch *b)
{
	struct cm_talk t = { .cb = NULL };
	char what[96];
	int err;

	if (!b->nlh)
		return;
	mnl_attr_put_strz(b->nlh, CHAINMESH_A_MESH_NAME, b->mesh);
	snprintf(batch_where, sizeof(batch_where), "lines %lu-%lu: ", b->first,
		 b->last);
	snprintf(what, sizeof(what), "flow %s of %u flows",
		 b->cmd == CHAINMESH_CMD_FLOW_NEW ? "add" : "del", b->nflows);
	err = cm_talk(&b->c.nl, b->nlh, &t);
	if (err)
		cm_refused(what, &t, err);
	b->nlh = NULL;
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
static char *batch_slurp(const char *path)
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

int batch_run(const char *path)
{
	static struct cm_batch b;
	char *buf = batch_slurp(path), *line, *next, *argv[CM_BATCH_ARGS], *p;
	unsigned long n = 0;
	int argc, status;
	pid_t pid;

	for (line = buf; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		n++;
		snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
		p = strchr(line, '#');
		if (p)
			*p = '\0';
		argc = 0;
		for (p = strtok(line, " \t\r"); p; p = strtok(NULL, " \t\r")) {
			if (argc == CM_BATCH_ARGS)
				usage_fail(NULL, "more than %d words", CM_BATCH_ARGS);
			argv[argc++] = p;
		}
		if (!argc)
			continue;
		if (argc >= 2 && matches(argv[0], "flow") &&
		    (matches(argv[1], "add") || matches(argv[1], "delete"))) {
			batch_flow(&b, matches(argv[1], "add") ? CHAINMESH_CMD_FLOW_NEW :
				   CHAINMESH_CMD_FLOW_DEL, argc - 2, argv + 2, n);
			continue;
		}
		batch_flush(&b);
		snprintf(batch_where, sizeof(batch_where), "line %lu: ", n);
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			fail("fork: %s", strerror(errno));
		if (!pid) {
			static struct cm_cmd c;

			run_cmd(&c, argc, argv);
			exit(0);
		}
		if (waitpid(pid, &status, 0) < 0)
			fail("waitpid: %s", strerror(errno));
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			exit(WIFEXITED(status) ? WEXITSTATUS(status) : EXIT_REFUSED);
	}
	batch_flush(&b);
	free(buf);
	return 0;
}
