// SPDX-License-Identifier: GPL-2.0
/* A hop that corrupts payload in flight: UDP/IPv4 datagrams to port 9997
 * get their first payload byte flipped, checksums untouched; every frame
 * goes on to the next node of its chain (XDP_TX). The receiving socket
 * must not accept them. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#define SEC(name) __attribute__((section(name), used))
#define CM_CORRUPT_PORT	9997

SEC("xdp")
int cm_xdp_corrupt(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;
	unsigned char *payload;

	if ((void *)(ip + 1) > end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_TX;
	if (ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return XDP_TX;
	udp = (void *)(ip + 1);
	payload = (void *)(udp + 1);
	if ((void *)(payload + 1) > end ||
	    udp->dest != __builtin_bswap16(CM_CORRUPT_PORT))
		return XDP_TX;
	payload[0] ^= 0xff;
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
