// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh: command line for the chainmesh host module, over the
 * "chainmesh" generic netlink family (include/uapi/linux/chainmesh.h).
 *
 *   chainmesh [-j] OBJECT COMMAND [ARGS]     see 'chainmesh help'
 *
 * Exit status: 0 success, 1 the kernel (or the system) refused, 2 bad
 * command line.
 *
 * This file: the options and the objects; each object's commands are in
 * a file of its own (chainmesh.h).
 */
#include <stdlib.h>
#include <string.h>

#include "chainmesh.h"
#include "json.h"

const char *prog = "chainmesh";

static const struct {
	const char *name;
	void (*fn)(struct cm_cmd *c);
	const char *usage;
} cm_objects[] = {
	{ "mesh", do_mesh, mesh_usage },
	{ "node", do_node, node_usage },
	{ "chain", do_chain, chain_usage },
	{ "flow", do_flow, flow_usage },
	{ "monitor", do_monitor, monitor_usage },
};

/* The help of every object, or of @object only. */
void usage_to(FILE *f, const char *object)
{
	size_t i;

	if (!object) {
		fprintf(f,
"Usage: chainmesh [OPTIONS] OBJECT COMMAND [ARGS]\n"
"       chainmesh help\n"
"       chainmesh OBJECT help\n"
"\n"
"OBJECT := { mesh | node | chain | flow | monitor }\n"
"OPTIONS := { -j[son] | -b[atch] FILE | -h[elp] }\n"
"  -j, --json   print JSON (an array of objects) instead of text\n"
"  -b, -batch FILE\n"
"               run the commands of FILE ('-': standard input), one a line\n"
"               without 'chainmesh', '#' to the end of a line a comment;\n"
"               stop at the first that fails. Consecutive 'flow add' (or\n"
"               'flow del') lines go as one request of many flows, applied\n"
"               in one update of each node's table, all or none: the way\n"
"               to load many flows\n"
"  -h, --help   print this help\n"
"\n"
"Without 'mesh NAME' a command applies to the only mesh there is.\n"
"Adding and deleting need CAP_NET_ADMIN.\n"
"\n");
	}
	for (i = 0; i < sizeof(cm_objects) / sizeof(cm_objects[0]); i++)
		if (!object || !strcmp(object, cm_objects[i].name))
			fputs(cm_objects[i].usage, f);
	if (!object)
		fprintf(f,
"\n"
"Exit status: 0 success, 1 refused by the kernel or the system, 2 bad\n"
"command line.\n");
}

/* One command line: run the OBJECT's command. */
void run_cmd(struct cm_cmd *c, int argc, char **argv)
{
	size_t i;

	if (!argc || matches(argv[0], "help")) {
		usage_to(argc ? stdout : stderr, NULL);
		exit(argc ? 0 : EXIT_USAGE);
	}
	for (i = 0; i < sizeof(cm_objects) / sizeof(cm_objects[0]); i++) {
		if (matches(argv[0], cm_objects[i].name)) {
			c->object = cm_objects[i].name;
			c->argc = argc - 1;
			c->argv = argv + 1;
			cm_objects[i].fn(c);
			return;
		}
	}
	usage_fail(NULL, "unknown object '%s'", argv[0]);
}

int main(int argc, char **argv)
{
	static struct cm_cmd c;

	argc--;
	argv++;
	while (argc && argv[0][0] == '-') {
		if (!strcmp(argv[0], "-j") || !strcmp(argv[0], "-json") ||
		    !strcmp(argv[0], "--json")) {
			json = true;
		} else if (!strcmp(argv[0], "-b") || !strcmp(argv[0], "-batch") ||
			   !strcmp(argv[0], "--batch")) {
			if (argc < 2)
				usage_fail(NULL, "%s: a file is needed", argv[0]);
			if (argc > 2)
				usage_fail(NULL, "nothing may follow -batch FILE");
			return batch_run(argv[1]);
		} else if (!strcmp(argv[0], "-h") || !strcmp(argv[0], "-help") ||
			   !strcmp(argv[0], "--help")) {
			usage_to(stdout, NULL);
			return 0;
		} else if (!strcmp(argv[0], "--")) {
			argc--;
			argv++;
			break;
		} else {
			usage_fail(NULL, "unknown option '%s'", argv[0]);
		}
		argc--;
		argv++;
	}
	run_cmd(&c, argc, argv);
	return 0;
}
