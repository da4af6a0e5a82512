// SPDX-License-Identifier: GPL-2.0
/* Every frame goes on to the next node of its chain, untouched: on a
 * chainmesh device XDP_TX hands the same shared buffer on. */
#include <linux/bpf.h>

#define SEC(name) __attribute__((section(name), used))

SEC("xdp")
int cm_xdp_tx(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
