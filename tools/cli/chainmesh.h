/* SPDX-License-Identifier: GPL-2.0 */
/*
 * chainmesh CLI: what its objects' files share. chainmesh.c dispatches
 * a command line to an object (mesh.c, node.c, chain.c, flow.c,
 * monitor.c), batch.c runs a file of them, cmd.c holds the argument
 * parsing, the error reporting and the requests they all make.
 */
#ifndef CM_CHAINMESH_H
#define CM_CHAINMESH_H

#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/chainmesh.h>
#include <linux/chainmesh_region.h>

#include "nl.h"

/* As ip(8): 1 for a command line we cannot parse, 2 for a refusal. */
#define EXIT_USAGE	1
#define EXIT_REFUSED	2

/* One command line of an object, and its socket. */
struct cm_cmd {
	const char *object;
	int argc;
	char **argv;
	struct cm_nl nl;
};

/*
 * An object's commands, ending with { NULL }: the first whose name the
 * command abbreviates (iproute2 style; @exact: only the whole name) runs,
 * no command at all runs the first, then "help".
 */
struct cm_verb {
	const char *name;
	bool exact;
	void (*fn)(struct cm_cmd *c);
};

extern const char *prog;
/* In a batch: the line at fault, for every message. */
extern char batch_where[48];
/*
 * -batch -force: where fail() and usage_fail() return to with the exit
 * status instead of exiting, so that the batch goes on; NULL otherwise.
 */
extern jmp_buf *fail_jmp;

/* chainmesh.c */
void usage_to(FILE *f, const char *object);
void run_cmd(struct cm_cmd *c, int argc, char **argv);
/*
 * -n NETNS: enter it (@what: the command, for messages), or, with
 * @what NULL, refuse the command for having -n.
 */
void cm_netns_enter(const char *what);
/* Set by the commands that take -n before they open their socket. */
extern bool cm_netns_ok;

/* cmd.c */
void __attribute__((noreturn, format(printf, 1, 2)))
fail(const char *fmt, ...);
void __attribute__((noreturn, format(printf, 2, 3)))
usage_fail(const char *object, const char *fmt, ...);
void __attribute__((noreturn)) cm_help(struct cm_cmd *c);
void cm_run_verb(struct cm_cmd *c, const struct cm_verb *verbs);
bool matches(const char *arg, const char *keyword);
char *next_arg(struct cm_cmd *c);
unsigned long parse_ulong(const char *object, const char *what,
			  const char *arg, unsigned long max);
const char *parse_name(const char *object, const char *arg);
const char *opt_mesh_only(struct cm_cmd *c);
void cm_open(struct cm_nl *nl);
void __attribute__((noreturn))
cm_refused(const char *what, const struct cm_talk *t, int err);
const char *cm_mesh_pick(struct cm_nl *nl, const char *name,
			 char out[CHAINMESH_NAME_LEN]);
void cm_show(struct cm_cmd *c, struct nlmsghdr *nlh, mnl_cb_t print,
	     const char *what);
void cm_change(struct cm_cmd *c, struct nlmsghdr *nlh, const char *what);
void obj_del(struct cm_cmd *c, uint8_t cmd, uint16_t nest_type,
	     uint16_t id_type, const char *what);
void obj_show(struct cm_cmd *c, uint8_t cmd, mnl_cb_t print,
	      const char *what);

/* The objects: their help, their commands, their printers. */
extern const char mesh_usage[], node_usage[], chain_usage[], flow_usage[],
		  monitor_usage[];
void do_mesh(struct cm_cmd *c);
void do_node(struct cm_cmd *c);
void do_chain(struct cm_cmd *c);
void do_flow(struct cm_cmd *c);
void do_monitor(struct cm_cmd *c);
int print_mesh(const struct nlmsghdr *nlh, void *data);
int print_node(const struct nlmsghdr *nlh, void *data);
int print_chain(const struct nlmsghdr *nlh, void *data);

/* chain.c: a chain as CHAIN_GET gives it, for chain show and save */
struct cm_chain_attrs {
	const struct nlattr *tb[CHAINMESH_CHAIN_A_MAX + 1];
	const uint8_t *h;	/* the hops, n of them */
	uint16_t n;
	uint64_t grp;		/* CHAINMESH_CHAIN_A_GROUPS, 0 without */
};

void cm_chain_parse(const struct nlmsghdr *nlh, struct cm_chain_attrs *ch);
void cm_chain_line(const struct cm_chain_attrs *ch, const char *verb);

/* group.c: replica groups among a chain's hops */
const char *cm_policy_name(uint32_t policy);
int cm_policy_parse(const char *arg);
unsigned int cm_hops_parse(struct cm_cmd *c, uint8_t *hops, uint64_t *grp);
void cm_hops_print(FILE *f, const uint8_t *h, unsigned int n, uint64_t grp);
void cm_groups_print(const uint8_t *h, unsigned int n, uint64_t grp,
		     uint64_t live);
int print_flow(const struct nlmsghdr *nlh, void *data);
const char *flow_put(struct cm_cmd *c, struct nlmsghdr *nlh,
		     const char *what);

/*
 * A guest node of a mesh, for the commands that print how to start one
 * (mesh.c: qemu-args; libvirt.c: libvirt-xml): NAME node N [socket PATH].
 */
#define CM_DAEMON_SOCK_FMT	"/run/chainmesh/NAME.sock"
#define CM_DAEMON_SOCK_DIR	"/run/chainmesh/"
struct cm_guest {
	const char *name;
	unsigned long node;
	const char *socket;		/* the daemon's; default under ..._DIR */
	char sock_buf[128];
	uint32_t nodes;			/* the mesh's, from the kernel */
	unsigned int vectors;		/* MSI-X vectors of the device */
};
void cm_guest_parse(struct cm_cmd *c, struct cm_guest *g, const char *what);
/* The mesh must exist and N be one of its guests; fills nodes, vectors. */
void cm_guest_lookup(struct cm_cmd *c, struct cm_guest *g, const char *what);
void mesh_libvirt_xml(struct cm_cmd *c);

/* save.c */
void do_save(struct cm_cmd *c);

/* remote.c: chains across hosts */
extern const char remote_usage[], rchain_usage[];
void do_remote(struct cm_cmd *c);
void do_rchain(struct cm_cmd *c);
int print_remote(const struct nlmsghdr *nlh, void *data);
int print_rchain(const struct nlmsghdr *nlh, void *data);
int save_remote_cb(const struct nlmsghdr *nlh, void *data);
int save_rchain_cb(const struct nlmsghdr *nlh, void *data);
extern const char save_usage[];

/* batch.c */
int batch_run(const char *path, bool force);
/* Split @line into words the way sh(1) would ('...', "...", \, '#'). */
int batch_split(char *line, char **argv, int max, const char **err);

#endif /* CM_CHAINMESH_H */
