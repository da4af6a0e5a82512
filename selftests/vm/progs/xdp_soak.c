// SPDX-License-Identifier: GPL-2.0
/* The soak's middle node: IPv4 UDP to ports 7000..7099 goes on by XDP_TX
 * (the same shared buffer to the next node of its chain), everything else
 * is passed to the stack, which forwards it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define SEC(name) __attribute__((section(name), used))

#define CM_XDP_PORT_LO	7000
#define CM_XDP_PORT_HI	7099

SEC("xdp")
int cm_xdp_soak(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct udphdr *udp;
	struct iphdr *ip;
	__u16 port;

	if ((void *)(eth + 1) > end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return XDP_PASS;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	port = __builtin_bswap16(udp->dest);
	if (port < CM_XDP_PORT_LO || port > CM_XDP_PORT_HI)
		return XDP_PASS;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
