// SPDX-License-Identifier: GPL-2.0
/* The demo's middle VNF: counts IPv4 frames and bytes per source address
 * in the hash map cm_src_pkts (read by cmxdpstat), and hands every frame
 * on to the next node of its chain by XDP_TX (the same shared buffer). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct cm_src_val {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct cm_src_val);
} cm_src_pkts SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) =
	(void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key,
				   const void *value, __u64 flags) =
	(void *)BPF_FUNC_map_update_elem;

SEC("xdp")
int cm_xdp_count(struct xdp_md *ctx)
{
	void *end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;
	struct cm_src_val *v, nv;
	struct iphdr *ip;
	__u32 key;

	if ((void *)(eth + 1) > end || eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return XDP_TX;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end)
		return XDP_TX;
	key = ip->saddr;
	v = bpf_map_lookup_elem(&cm_src_pkts, &key);
	if (v) {
		__sync_fetch_and_add(&v->packets, 1);
		__sync_fetch_and_add(&v->bytes, end - data);
	} else {
		nv.packets = 1;
		nv.bytes = end - data;
		bpf_map_update_elem(&cm_src_pkts, &key, &nv, BPF_NOEXIST);
	}
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
