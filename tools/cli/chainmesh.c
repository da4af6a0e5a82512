// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh: command line for the chainmesh host module, over the
 * "chainmesh" generic netlink family (include/uapi/linux/chainmesh.h).
 *
 *   chainmesh [OPTIONS] OBJECT COMMAND [ARGS]     see 'chainmesh help'
 *
 * Exit status, as ip(8): 0 success, 1 bad command line, 2 the kernel (or
 * the system) refused.
 *
 * This file: the options and the objects; each object's commands are in
 * a file of its own (chainmesh.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	{ "remote", do_remote, remote_usage },
	{ "rchain", do_rchain, rchain_usage },
	{ "monitor", do_monitor, monitor_usage },
	{ "save", do_save, save_usage },
};

/* The help of every object, or of @object only. */
void usage_to(FILE *f, const char *object)
{
	size_t i;

	if (!object) {
		fprintf(f,
"Usage: chainmesh [OPTIONS] OBJECT COMMAND [ARGS]\n"
"       chainmesh [OPTIONS] -batch FILE\n"
"       chainmesh help\n"
"       chainmesh OBJECT help\n"
"\n"
"OBJECT := { mesh | node | chain | flow | remote | rchain | monitor | save }\n"
"OPTIONS := { -V[ersion] | -j[son] | -p[retty] | -n[etns] NAME |\n"
"             -b[atch] FILE | -f[orce] | -h[elp] }\n"
"  -V, -Version\n"
"               print the version of chainmesh and exit\n"
"  -j, -json    print JSON (an array of objects) instead of text\n"
"  -p, -pretty  print JSON indented, one member a line (implies -json)\n"
"  -n, -netns NAME\n"
"               with 'mesh show': name node 0's interface as seen in\n"
"               network namespace NAME (/run/netns/NAME, as made by 'ip\n"
"               netns add'), where it may have been moved. The family is\n"
"               in the initial namespace: other commands refuse -n\n"
"  -b, -batch FILE\n"
"               run the commands of FILE ('-': standard input), one a line\n"
"               without 'chainmesh', '#' to the end of a line a comment,\n"
"               words quoted as in sh(1) ('...', \"...\", backslash); stop\n"
"               at the first that fails. Consecutive 'flow add' (or 'flow\n"
"               del') lines go as one request of many flows, applied in one\n"
"               update of each node's table, all or none: the way to load\n"
"               many flows. 'chainmesh save' writes such a file\n"
"  -f, -force   with -batch: go on after a command that fails, and exit\n"
"               with the status of the last failure at the end\n"
"  -h, -help    print this help\n"
"\n"
"Keywords and commands may be abbreviated (e.g. 'fl sh' for 'flow show').\n"
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
"Exit status: 0 success, 1 bad command line, 2 refused by the kernel or\n"
"the system (as ip(8)).\n");
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

/*
 * -n NAME: the network namespace 'ip netns add NAME' made, opened here
 * (a missing one is refused before anything else), entered by
 * cm_netns_enter() once the netlink socket is open.
 */
static int cm_netns_fd = -1;
bool cm_netns_ok;
static const char *cm_netns_name;

static void netns_open(const char *name)
{
	char path[PATH_MAX];

	if (!name || !name[0] || strchr(name, '/') || !strcmp(name, ".") ||
	    !strcmp(name, ".."))
		usage_fail(NULL, "-netns: a namespace name expected");
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	cm_netns_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (cm_netns_fd < 0)
		fail("cannot open network namespace \"%s\": %s", name, strerror(errno));
	cm_netns_name = name;
}

/*
 * The family answers in the initial network namespace only (it is not
 * netns-aware), so its socket is opened there and -n only changes where
 * interface names are looked up: node 0's netdev cmh-NAME may have been
 * moved into NAME. Only `mesh show` prints such names; every other
 * command refuses -n rather than silently ignore it.
 */
void cm_netns_enter(const char *what)
{
	if (cm_netns_fd < 0)
		return;
	if (!what)
		usage_fail(NULL, "-netns goes with 'mesh show' only: the chainmesh family is in the initial network namespace");
	if (setns(cm_netns_fd, CLONE_NEWNET))
		fail("%s: setting the network namespace \"%s\" failed: %s", what,
		     cm_netns_name, strerror(errno));
	close(cm_netns_fd);
	cm_netns_fd = -1;
}

/*
 * An option: "-x" or the whole word or an abbreviation of it, with one
 * dash or two ("-j", "-js", "-json", "--json").
 */
static bool is_opt(const char *arg, const char *letter, const char *word)
{
	if (!strcmp(arg, letter))
		return true;
	if (arg[0] == '-' && arg[1] == '-')
		arg++;
	return strlen(arg) > 2 && matches(arg, word);
}

int main(int argc, char **argv)
{
	static struct cm_cmd c;
	const char *batch = NULL;
	bool force = false;

	argc--;
	argv++;
	while (argc && argv[0][0] == '-' && argv[0][1]) {
		if (is_opt(argv[0], "-V", "-Version")) {
			printf("chainmesh %s (generic netlink family %s version %d)\n",
			       CM_VERSION, CHAINMESH_GENL_NAME, CHAINMESH_GENL_VERSION);
			return 0;
		} else if (is_opt(argv[0], "-j", "-json")) {
			json = true;
		} else if (is_opt(argv[0], "-p", "-pretty")) {
			json = true;
			json_pretty = true;
		} else if (is_opt(argv[0], "-n", "-netns")) {
			if (argc < 2)
				usage_fail(NULL, "%s: a namespace name is needed", argv[0]);
			netns_open(argv[1]);
			argc--;
			argv++;
		} else if (is_opt(argv[0], "-b", "-batch")) {
			if (argc < 2)
				usage_fail(NULL, "%s: a file is needed", argv[0]);
			batch = argv[1];
			argc--;
			argv++;
		} else if (is_opt(argv[0], "-f", "-force")) {
			force = true;
		} else if (is_opt(argv[0], "-h", "-help")) {
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
	if (batch) {
		if (cm_netns_fd >= 0)
			usage_fail(NULL, "-netns goes with 'mesh show' only, not with -batch");
		if (argc)
			usage_fail(NULL, "nothing may follow -batch FILE but options");
		return batch_run(batch, force);
	}
	if (force)
		usage_fail(NULL, "-force goes with -batch");
	run_cmd(&c, argc, argv);
	return 0;
}
