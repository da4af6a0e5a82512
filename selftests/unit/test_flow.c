// SPDX-License-Identifier: GPL-2.0
/*
 * Flow tables (include/chainmesh/flow.h): parsing frames into keys,
 * matching and lookup order, compiling the logical table into per-node
 * tables, and the seqcount snapshot a node takes of its table, including
 * against a host that republishes it concurrently; editing a table and its
 * index by increments, and the flow log that carries them
 * (include/chainmesh/flowlog.h).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <sys/mman.h>
#include <time.h>

#include <chainmesh/flow.h>
#include <chainmesh/flowlog.h>
#include <chainmesh/layout.h>

#include "harness.h"
#include "flow_ref.h"

/* Tables of the index tests: as large as a node's used to be at most. */
#define NMAX	1024u

/* ---- frames ---- */

struct frame {
	u8 b[256];
	u32 len;
	u32 l3;		/* offset of the IP header */
	u32 l4;		/* offset of the L4 header */
};

static void put16(u8 *p, u16 v)
{
	p[0] = v >> 8;
	p[1] = (u8)v;
}

static void eth(struct frame *f, u16 proto)
{
	memset(f, 0, sizeof(*f));
	memcpy(f->b, "\x02\x43\x4d\x01\x01\x02\x02\x43\x4d\x01\x01\x01", 12);
	put16(f->b + 12, proto);
	f->len = f->l3 = 14;
}

/* A VLAN tag after the MAC addresses; @proto is what follows it. */
static void vlan(struct frame *f, u16 tpid, u16 tci, u16 proto)
{
	put16(f->b + f->len - 2, tpid);
	put16(f->b + f->len, tci);
	put16(f->b + f->len + 2, proto);
	f->len += 4;
	f->l3 = f->len;
}

static void ipv4(struct frame *f, u32 ihl, u8 proto, const char *src,
		 const char *dst, u16 frag)
{
	u8 *ip = f->b + f->len;

	ip[0] = 0x40 | (ihl & 0xf);
	put16(ip + 2, 20);
	put16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, dst, ip + 16);
	/* options, if any: NOPs */
	if (ihl > 5)
		memset(ip + 20, 1, (ihl - 5) * 4);
	f->len += ihl >= 5 ? ihl * 4 : 20;
	f->l4 = f->len;
}

static void ipv6(struct frame *f, u8 next, const char *src, const char *dst)
{
	u8 *ip = f->b + f->len;

	ip[0] = 0x60;
	ip[6] = next;
	ip[7] = 64;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, dst, ip + 24);
	f->len += 40;
	f->l4 = f->len;
}

/* L4 header of @hlen bytes starting with the two ports (ICMP: type/code). */
static void l4(struct frame *f, u16 sport, u16 dport, u32 hlen)
{
	put16(f->b + f->len, sport);
	put16(f->b + f->len + 2, dport);
	f->len += hlen;
}

static void payload(struct frame *f, u32 n)
{
	memset(f->b + f->len, 0xee, n);
	f->len += n;
}

static void key4(struct cm_flow_key *k, u8 proto, const char *src,
		 const char *dst, u16 sport, u16 dport, u16 vid)
{
	memset(k, 0, sizeof(*k));
	k->family = 4;
	k->proto = proto;
	k->vlan = htons(vid);
	k->sport = htons(sport);
	k->dport = htons(dport);
	inet_pton(AF_INET, src, &k->src[0]);
	inet_pton(AF_INET, dst, &k->dst[0]);
}

static void key6(struct cm_flow_key *k, u8 proto, const char *src,
		 const char *dst, u16 sport, u16 dport)
{
	memset(k, 0, sizeof(*k));
	k->family = 6;
	k->proto = proto;
	k->sport = htons(sport);
	k->dport = htons(dport);
	inet_pton(AF_INET6, src, k->src);
	inet_pton(AF_INET6, dst, k->dst);
}

static void show_key(const char *what, const struct cm_flow_key *k)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	int af = k->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, k->src, s, sizeof(s));
	inet_ntop(af, k->dst, d, sizeof(d));
	printf("#   %s: family %u proto %u vlan %u %s:%u -> %s:%u\n", what,
	       k->family, k->proto, ntohs(k->vlan), s, ntohs(k->sport), d,
	       ntohs(k->dport));
}

/* Parse @len bytes of @f placed at the very end of a page: one byte more
 * and the guard page behind it faults. */
struct guard {
	u8 *map;
	long pg;
};

static int guard_init(struct guard *g)
{
	g->pg = sysconf(_SC_PAGESIZE);
	g->map = mmap(NULL, 2 * g->pg, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED)
		return -1;
	return mprotect(g->map + g->pg, g->pg, PROT_NONE);
}

static void guard_parse(struct guard *g, const u8 *frame, u32 len,
			struct cm_flow_key *k)
{
	u8 *p = g->map + g->pg - len;

	memcpy(p, frame, len);
	cm_flow_parse(p, len, k);
}

static void guard_fini(struct guard *g)
{
	munmap(g->map, 2 * g->pg);
}

static bool key_eq(const struct cm_flow_key *a, const struct cm_flow_key *b)
{
	return !memcmp(a, b, sizeof(*a));
}

#define ASSERT_KEY(want, got, what, len)				\
	ASSERT_TRUE(key_eq(want, got)) {				\
		TH_LOG("%s, length %u", what, len);			\
		show_key("want", want);					\
		show_key("got ", got);					\
	}

/* The frames of the parse tests, with the key each gives. */
struct sample {
	const char *name;
	struct frame f;
	struct cm_flow_key k;
};

static u32 samples(struct sample *s)
{
	u32 n = 0;

	s[n].name = "IPv4 TCP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 6, "10.0.0.1", "10.0.0.2", 0x4000);
	l4(&s[n].f, 40000, 80, 20);
	payload(&s[n].f, 10);
	key4(&s[n++].k, 6, "10.0.0.1", "10.0.0.2", 40000, 80, 0);

	s[n].name = "IPv4 UDP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 17, "192.168.1.1", "8.8.8.8", 0);
	l4(&s[n].f, 5353, 53, 8);
	key4(&s[n++].k, 17, "192.168.1.1", "8.8.8.8", 5353, 53, 0);

	s[n].name = "IPv4 ICMP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 1, "10.0.0.1", "10.0.0.2", 0);
	l4(&s[n].f, 0x0800, 0x1234, 8);	/* echo request: no ports */
	payload(&s[n].f, 56);
	key4(&s[n++].k, 1, "10.0.0.1", "10.0.0.2", 0, 0, 0);

	s[n].name = "IPv4 SCTP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 132, "10.0.0.1", "10.0.0.2", 0);
	l4(&s[n].f, 2905, 2906, 12);
	key4(&s[n++].k, 132, "10.0.0.1", "10.0.0.2", 2905, 2906, 0);

	s[n].name = "IPv4 options, UDP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 7, 17, "10.1.1.1", "10.2.2.2", 0);
	l4(&s[n].f, 1000, 2000, 8);
	key4(&s[n++].k, 17, "10.1.1.1", "10.2.2.2", 1000, 2000, 0);

	s[n].name = "IPv4 longest header, TCP";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 15, 6, "10.1.1.1", "10.2.2.2", 0);
	l4(&s[n].f, 1, 65535, 20);
	key4(&s[n++].k, 6, "10.1.1.1", "10.2.2.2", 1, 65535, 0);

	s[n].name = "IPv6 UDP";
	eth(&s[n].f, CM_ETH_P_IPV6);
	ipv6(&s[n].f, 17, "2001:db8::1", "2001:db8:1::2");
	l4(&s[n].f, 546, 547, 8);
	payload(&s[n].f, 4);
	key6(&s[n++].k, 17, "2001:db8::1", "2001:db8:1::2", 546, 547);

	s[n].name = "IPv6 TCP";
	eth(&s[n].f, CM_ETH_P_IPV6);
	ipv6(&s[n].f, 6, "fe80::1", "ff02::1:ff00:1");
	l4(&s[n].f, 179, 50000, 20);
	key6(&s[n++].k, 6, "fe80::1", "ff02::1:ff00:1", 179, 50000);

	s[n].name = "IPv6 ICMPv6";
	eth(&s[n].f, CM_ETH_P_IPV6);
	ipv6(&s[n].f, 58, "2001:db8::1", "2001:db8::2");
	l4(&s[n].f, 0x8000, 0, 8);
	key6(&s[n++].k, 58, "2001:db8::1", "2001:db8::2", 0, 0);

	/* PCP and DEI bits are not part of the VLAN id. */
	s[n].name = "802.1Q IPv4 TCP";
	eth(&s[n].f, CM_ETH_P_8021Q);
	vlan(&s[n].f, CM_ETH_P_8021Q, 0xf000 | 100, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 6, "10.0.0.1", "10.0.0.2", 0);
	l4(&s[n].f, 1234, 443, 20);
	key4(&s[n++].k, 6, "10.0.0.1", "10.0.0.2", 1234, 443, 100);

	s[n].name = "802.1ad IPv4 UDP";
	eth(&s[n].f, CM_ETH_P_8021AD);
	vlan(&s[n].f, CM_ETH_P_8021AD, 4095, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 17, "10.0.0.1", "10.0.0.2", 0);
	l4(&s[n].f, 7, 9, 8);
	key4(&s[n++].k, 17, "10.0.0.1", "10.0.0.2", 7, 9, 4095);

	s[n].name = "802.1Q IPv6 UDP";
	eth(&s[n].f, CM_ETH_P_8021Q);
	vlan(&s[n].f, CM_ETH_P_8021Q, 1, CM_ETH_P_IPV6);
	ipv6(&s[n].f, 17, "::1", "::2");
	l4(&s[n].f, 1, 2, 8);
	key6(&s[n].k, 17, "::1", "::2", 1, 2);
	s[n++].k.vlan = htons(1);

	/* First fragment: ports are there. */
	s[n].name = "IPv4 first fragment";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 17, "10.0.0.1", "10.0.0.2", 0x2000);
	l4(&s[n].f, 4000, 4001, 8);
	payload(&s[n].f, 64);
	key4(&s[n++].k, 17, "10.0.0.1", "10.0.0.2", 4000, 4001, 0);

	/* Later fragments: what looks like ports is payload. */
	s[n].name = "IPv4 middle fragment";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 17, "10.0.0.1", "10.0.0.2", 0x2000 | 185);
	l4(&s[n].f, 4000, 4001, 8);
	key4(&s[n++].k, 17, "10.0.0.1", "10.0.0.2", 0, 0, 0);

	s[n].name = "IPv4 last fragment";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 6, "10.0.0.1", "10.0.0.2", 1);
	l4(&s[n].f, 4000, 4001, 20);
	key4(&s[n++].k, 6, "10.0.0.1", "10.0.0.2", 0, 0, 0);

	s[n].name = "ARP";
	eth(&s[n].f, 0x0806);
	payload(&s[n].f, 28);
	memset(&s[n++].k, 0, sizeof(s[0].k));

	s[n].name = "802.1Q ARP";
	eth(&s[n].f, CM_ETH_P_8021Q);
	vlan(&s[n].f, CM_ETH_P_8021Q, 5, 0x0806);
	payload(&s[n].f, 28);
	memset(&s[n].k, 0, sizeof(s[0].k));
	s[n++].k.vlan = htons(5);

	/* EtherType IPv4, version 6: not IP. */
	s[n].name = "IPv4 with version 6";
	eth(&s[n].f, CM_ETH_P_IP);
	ipv4(&s[n].f, 5, 6, "10.0.0.1", "10.0.0.2", 0);
	s[n].f.b[14] = 0x65;
	l4(&s[n].f, 1, 2, 20);
	memset(&s[n++].k, 0, sizeof(s[0].k));

	s[n].name = "IPv6 with version 4";
	eth(&s[n].f, CM_ETH_P_IPV6);
	ipv6(&s[n].f, 17, "::1", "::2");
	s[n].f.b[14] = 0x40;
	l4(&s[n].f, 1, 2, 8);
	memset(&s[n++].k, 0, sizeof(s[0].k));

	return n;
}

#define MAX_SAMPLES 32

TEST(parse_samples)
{
	struct sample *s = calloc(MAX_SAMPLES, sizeof(*s));
	struct cm_flow_key k;
	struct guard g;
	u32 i, n;

	ASSERT_NOT_NULL(s);
	ASSERT_EQ(0, guard_init(&g));
	n = samples(s);
	ASSERT_LE(n, MAX_SAMPLES);
	for (i = 0; i < n; i++) {
		guard_parse(&g, s[i].f.b, s[i].f.len, &k);
		ASSERT_KEY(&s[i].k, &k, s[i].name, s[i].f.len);
	}
	guard_fini(&g);
	free(s);
}

/* IHL below 5 is not IPv4; IHL beyond the frame is a truncated header. */
TEST(parse_bad_ihl)
{
	struct cm_flow_key k, zero;
	struct frame f;
	struct guard g;
	u32 ihl;

	memset(&zero, 0, sizeof(zero));
	ASSERT_EQ(0, guard_init(&g));
	for (ihl = 0; ihl < 5; ihl++) {
		eth(&f, CM_ETH_P_IP);
		ipv4(&f, ihl, 17, "10.0.0.1", "10.0.0.2", 0);
		l4(&f, 1, 2, 8);
		payload(&f, 64);
		guard_parse(&g, f.b, f.len, &k);
		ASSERT_KEY(&zero, &k, "ihl < 5", f.len);
	}
	for (ihl = 6; ihl <= 15; ihl++) {
		/* header claims more bytes than the frame has */
		eth(&f, CM_ETH_P_IP);
		ipv4(&f, 5, 17, "10.0.0.1", "10.0.0.2", 0);
		f.b[14] = 0x40 | ihl;
		f.len = 14 + ihl * 4 - 1;
		guard_parse(&g, f.b, f.len, &k);
		ASSERT_KEY(&zero, &k, "ihl past the end", f.len);
		/* exactly enough: IPv4, no room for ports */
		f.len++;
		guard_parse(&g, f.b, f.len, &k);
		ASSERT_EQ(4, k.family);
		ASSERT_EQ(0, k.sport);
		ASSERT_EQ(0, k.dport);
	}
	guard_fini(&g);
}

/*
 * Every sample cut at every length: never a read past the end (the guard
 * page), and what is found is the sample's key, or that key without its
 * ports, or nothing IP at all, as the header lengths say.
 */
TEST(parse_truncated)
{
	struct sample *s = calloc(MAX_SAMPLES, sizeof(*s));
	struct cm_flow_key k, want;
	struct guard g;
	u32 i, n, len;

	ASSERT_NOT_NULL(s);
	ASSERT_EQ(0, guard_init(&g));
	n = samples(s);
	for (i = 0; i < n; i++) {
		const struct sample *x = &s[i];
		u32 l3_end = x->f.l4, ports_end = x->f.l4 + 4;

		for (len = 0; len <= x->f.len; len++) {
			guard_parse(&g, x->f.b, len, &k);
			want = x->k;
			if (len < l3_end || !x->k.family) {
				/* no IP header (yet): only the tag, if complete */
				memset(&want, 0, sizeof(want));
				if (len >= x->f.l3 && x->f.l3 > 14)
					want.vlan = x->k.vlan;
			} else if (len < ports_end) {
				want.sport = 0;
				want.dport = 0;
			}
			ASSERT_KEY(&want, &k, x->name, len);
		}
	}
	/* And a NULL frame of length 0 is never touched. */
	cm_flow_parse(NULL, 0, &k);
	EXPECT_EQ(0, k.family);
	guard_fini(&g);
	free(s);
}

/* Random bytes behind the interesting EtherTypes, cut anywhere. */
TEST(parse_random)
{
	static const u16 types[] = {
		CM_ETH_P_IP, CM_ETH_P_IPV6, CM_ETH_P_8021Q, CM_ETH_P_8021AD,
	};
	u64 rnd = 0x2545f4914f6cdd1dull;
	struct cm_flow_key k;
	struct guard g;
	u8 f[128];
	u32 i, j, len;

	ASSERT_EQ(0, guard_init(&g));
	for (i = 0; i < 200000; i++) {
		for (j = 0; j < sizeof(f); j++) {
			rnd ^= rnd << 13;
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			f[j] = (u8)rnd;
		}
		put16(f + 12, types[rnd >> 60 & 3]);
		put16(f + 16, types[rnd >> 56 & 1]);	/* after a tag */
		if (rnd >> 50 & 1)
			f[14] = (f[14] & 0x0f) | 0x40;
		if (rnd >> 51 & 1)
			f[18] = (f[18] & 0x0f) | 0x40;
		len = (u32)(rnd >> 32) % (sizeof(f) + 1);
		guard_parse(&g, f, len, &k);
		ASSERT_TRUE(k.family == 0 || k.family == 4 || k.family == 6);
	}
	guard_fini(&g);
}

/* ---- matching ---- */

static void flow(struct chainmesh_flow *f, u32 id, u16 chain, u16 prio)
{
	memset(f, 0, sizeof(*f));
	f->flow_id = cpu_to_le32(id);
	f->chain = cpu_to_le16(chain);
	f->priority = cpu_to_le16(prio);
}

/* As the host stores a prefix: address pre-masked, big-endian. */
static void prefix(__be32 addr[4], __be32 mask[4], int af, const char *a,
		   u32 plen)
{
	int i;

	memset(addr, 0, 16);
	inet_pton(af, a, addr);
	cm_prefix_mask(plen, mask);
	for (i = 0; i < 4; i++)
		addr[i] &= mask[i];
}

static void f_src(struct chainmesh_flow *f, const char *a, u32 plen)
{
	f->family = strchr(a, ':') ? 6 : 4;
	prefix(f->src, f->src_mask, f->family == 6 ? AF_INET6 : AF_INET, a, plen);
}

static void f_dst(struct chainmesh_flow *f, const char *a, u32 plen)
{
	f->family = strchr(a, ':') ? 6 : 4;
	prefix(f->dst, f->dst_mask, f->family == 6 ? AF_INET6 : AF_INET, a, plen);
}

static void f_dport(struct chainmesh_flow *f, u16 port, u16 mask)
{
	f->dport = htons(port & mask);
	f->dport_mask = htons(mask);
}

static void f_sport(struct chainmesh_flow *f, u16 port, u16 mask)
{
	f->sport = htons(port & mask);
	f->sport_mask = htons(mask);
}

TEST(prefix_mask)
{
	__be32 m[4];
	u32 plen, bit;

	for (plen = 0; plen <= 140; plen++) {
		cm_prefix_mask(plen, m);
		for (bit = 0; bit < 128; bit++) {
			u32 word = ntohl(m[bit / 32]);
			bool set = word >> (31 - bit % 32) & 1;

			ASSERT_EQ(bit < plen, set) TH_LOG("plen %u bit %u", plen, bit);
		}
	}
}

TEST(match_fields)
{
	struct chainmesh_flow f;
	struct cm_flow_key k, k6;

	key4(&k, 6, "10.1.2.3", "10.9.8.7", 40000, 80, 0);
	key6(&k6, 6, "2001:db8::1", "2001:db8:ffff::2", 40000, 80);

	/* An empty flow matches every IP packet. */
	flow(&f, 1, 1, 0);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	EXPECT_TRUE(cm_flow_match(&f, &k6));

	/* Family and protocol. */
	f.family = 4;
	EXPECT_TRUE(cm_flow_match(&f, &k));
	EXPECT_FALSE(cm_flow_match(&f, &k6));
	f.family = 6;
	EXPECT_FALSE(cm_flow_match(&f, &k));
	EXPECT_TRUE(cm_flow_match(&f, &k6));
	flow(&f, 1, 1, 0);
	f.ip_proto = 17;
	EXPECT_FALSE(cm_flow_match(&f, &k));
	f.ip_proto = 6;
	EXPECT_TRUE(cm_flow_match(&f, &k));

	/* Prefixes. */
	flow(&f, 1, 1, 0);
	f_src(&f, "10.0.0.0", 8);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	f_src(&f, "10.1.2.3", 32);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	f_src(&f, "10.1.2.2", 32);
	EXPECT_FALSE(cm_flow_match(&f, &k));
	f_src(&f, "10.1.2.2", 31);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	f_src(&f, "11.0.0.0", 8);
	EXPECT_FALSE(cm_flow_match(&f, &k));
	f_src(&f, "0.0.0.0", 0);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	EXPECT_FALSE(cm_flow_match(&f, &k6));	/* family 4 now */
	f_dst(&f, "10.9.0.0", 16);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	f_dst(&f, "10.8.0.0", 16);
	EXPECT_FALSE(cm_flow_match(&f, &k));

	flow(&f, 1, 1, 0);
	f_dst(&f, "2001:db8::", 32);
	EXPECT_TRUE(cm_flow_match(&f, &k6));
	f_dst(&f, "2001:db8:ffff::", 48);
	EXPECT_TRUE(cm_flow_match(&f, &k6));
	f_dst(&f, "2001:db8:fffe::", 48);
	EXPECT_FALSE(cm_flow_match(&f, &k6));
	f_dst(&f, "2001:db8:ffff::3", 127);
	EXPECT_TRUE(cm_flow_match(&f, &k6));
	f_dst(&f, "2001:db8:ffff::3", 128);
	EXPECT_FALSE(cm_flow_match(&f, &k6));
	f_dst(&f, "2001:db8:ffff::2", 128);
	EXPECT_TRUE(cm_flow_match(&f, &k6));

	/* VLAN: 0 is any, else exact. */
	flow(&f, 1, 1, 0);
	f.vlan = htons(100);
	EXPECT_FALSE(cm_flow_match(&f, &k));
	k.vlan = htons(100);
	EXPECT_TRUE(cm_flow_match(&f, &k));
	k.vlan = htons(101);
	EXPECT_FALSE(cm_flow_match(&f, &k));
	f.vlan = 0;
	EXPECT_TRUE(cm_flow_match(&f, &k));
}

/* Every port against a range mask, on both ports. */
TEST(match_port_masks)
{
	struct chainmesh_flow f;
	struct cm_flow_key k;
	u32 port;

	key4(&k, 17, "1.1.1.1", "2.2.2.2", 0, 0, 0);
	flow(&f, 1, 1, 0);
	f_sport(&f, 1024, 0xfc00);	/* 1024..2047 */
	f_dport(&f, 53, 0xffff);
	for (port = 0; port <= 0xffff; port++) {
		k.sport = htons(port);
		k.dport = htons(53);
		ASSERT_EQ(port >= 1024 && port < 2048, cm_flow_match(&f, &k))
			TH_LOG("sport %u", port);
		k.sport = htons(1500);
		k.dport = htons(port);
		ASSERT_EQ(port == 53, cm_flow_match(&f, &k)) TH_LOG("dport %u", port);
	}
}

static void compile_one(struct __cm_meta *_metadata,
			const struct chainmesh_flow *flows, u32 n,
			struct cm_ftable *t)
{
	static struct cm_chain chains[CHAINMESH_MAX_CHAINS];

	memset(chains, 0, sizeof(chains));
	chains[1].used = 1;
	chains[1].nhops = 2;
	chains[1].hops[0] = 1;
	chains[1].hops[1] = 2;
	ASSERT_EQ((int)n, cm_ftable_compile(flows, n, chains, 1,
					    CHAINMESH_MAX_FLOWS, t));
	cm_ftable_index(t);
}

/* Overlapping flows: priority decides, then flow id; never specificity. */
TEST(lookup_order)
{
	struct chainmesh_flow fl[6];
	struct cm_ftable *t = cm_ftable_alloc(6);
	const struct chainmesh_flow *m;
	struct cm_flow_key k;

	ASSERT_NOT_NULL(t);
	flow(&fl[0], 7, 1, 10);			/* A: 10/8 */
	f_dst(&fl[0], "10.0.0.0", 8);
	flow(&fl[1], 3, 1, 5);			/* B: 10.1/16 tcp */
	f_dst(&fl[1], "10.1.0.0", 16);
	fl[1].ip_proto = 6;
	flow(&fl[2], 4, 1, 5);			/* C: 10.1.2.3/32, after B */
	f_dst(&fl[2], "10.1.2.3", 32);
	flow(&fl[3], 0, 1, 20);			/* D: anything */
	flow(&fl[4], 9, 1, 1);			/* E: udp dport 53 */
	fl[4].ip_proto = 17;
	f_dport(&fl[4], 53, 0xffff);
	flow(&fl[5], 2, 1, 10);			/* F: same prio as A, lower id */
	f_dst(&fl[5], "10.200.0.0", 16);
	compile_one(_metadata, fl, 6, t);

#define LOOKUP(want) do {						\
		m = cm_flow_lookup(t, &k);				\
		ASSERT_NOT_NULL(m);					\
		EXPECT_EQ(want, le32_to_cpu(m->flow_id));		\
	} while (0)

	key4(&k, 6, "9.9.9.9", "10.1.2.3", 1000, 80, 0);
	LOOKUP(3);	/* B and C both match at prio 5: lower id */
	key4(&k, 17, "9.9.9.9", "10.1.2.3", 1000, 80, 0);
	LOOKUP(4);	/* C: B wants tcp */
	key4(&k, 17, "9.9.9.9", "10.1.2.3", 1000, 53, 0);
	LOOKUP(9);	/* E first of all */
	key4(&k, 6, "9.9.9.9", "10.9.9.9", 1000, 80, 0);
	LOOKUP(7);	/* A, less specific than nothing else */
	key4(&k, 6, "9.9.9.9", "10.200.1.1", 1000, 80, 0);
	LOOKUP(2);	/* F before A: same prio, lower id */
	key4(&k, 6, "9.9.9.9", "192.168.0.1", 1000, 80, 0);
	LOOKUP(0);	/* D */
	key6(&k, 17, "::1", "::2", 1, 53);
	LOOKUP(9);	/* E has no family: IPv6 too */
	key6(&k, 6, "::1", "::2", 1, 80);
	LOOKUP(0);
#undef LOOKUP

	/* Without the catch-all, some keys find nothing. */
	compile_one(_metadata, fl, 3, t);
	key4(&k, 6, "9.9.9.9", "192.168.0.1", 1000, 80, 0);
	EXPECT_NULL(cm_flow_lookup(t, &k));
	t->nflows = 0;
	key4(&k, 6, "9.9.9.9", "10.1.2.3", 1000, 80, 0);
	EXPECT_NULL(cm_flow_lookup(t, &k));
	cm_ftable_free(t);
}

/* ---- the lookup index, against a plain scan ---- */

static u64 xs(u64 *r)
{
	*r ^= *r << 13;
	*r ^= *r >> 7;
	*r ^= *r << 17;
	return *r;
}

/* The reference: the first entry cm_flow_match() accepts. */
static const struct chainmesh_flow *ref_lookup(const struct cm_ftable *t,
					       const struct cm_flow_key *k)
{
	u32 i;

	for (i = 0; i < t->nflows; i++)
		if (cm_flow_match(&t->flows[i], k))
			return &t->flows[i];
	return NULL;
}

static const u16 vids[] = { 1, 5, 100, 4095 }, kvids[] = { 1, 5, 100, 7 };
static const u16 sports[] = { 53, 80, 443, 40000 };
static const u16 dports[] = { 53, 80, 443, 5201 };

/* Few distinct values, so that flows overlap and keys hit them. */
static __be32 rnd_word(u64 *r)
{
	static const u32 pool[] = {
		0x0a000001, 0x0a000002, 0x0a0000ff, 0x0a010203, 0x0a01ff00,
		0xc0a80101, 0x20010db8, 0x00000000, 0xffffffff, 0x7f000001,
	};
	u64 x = xs(r);

	return htonl(x & 1 ? pool[x >> 8 & 7] ^ (u32)(x >> 40 & 3) : pool[(x >> 8) % 10]);
}

static void rnd_addr(u64 *r, u8 family, __be32 a[4])
{
	u32 i;

	memset(a, 0, 16);
	for (i = 0; i < (family == 6 ? 4u : 1u); i++)
		a[i] = rnd_word(r);
}

static u32 rnd_plen(u64 *r, u8 family)
{
	static const u32 p4[] = { 0, 8, 16, 24, 31, 32, 32, 32 };
	static const u32 p6[] = { 0, 32, 48, 64, 120, 127, 128, 128 };
	u64 x = xs(r);

	if (!(x & 15))
		return (u32)(x >> 8) % (family == 6 ? 129 : 33);
	return family == 6 ? p6[x >> 4 & 7] : p4[x >> 4 & 7];
}

static __be16 rnd_pmask(u64 *r)
{
	static const u16 m[] = { 0, 0, 0xffff, 0xffff, 0xff00, 0xfffc, 0x8000, 0x00ff };

	return htons(m[xs(r) >> 20 & 7]);
}

/* One of a few flow shapes (a mask set), or, now and then, any mask. */
static void rnd_flow(u64 *r, struct chainmesh_flow *f, u32 id, u16 prio,
		     u32 shapes)
{
	u64 shape = xs(r) % shapes, x;
	u64 sr = 0x1234567 + shape * 0x9e3779b97f4a7c15ull;	/* the shape's */
	u64 *mr = (xs(r) & 7) ? &sr : r;	/* 1 in 8: a random mask */
	__be32 sm[4], dm[4];
	u32 i;

	flow(f, id, 1, prio);
	x = xs(mr);
	f->family = (u8[]){ 0, 4, 4, 6 }[x & 3];
	f->ip_proto = (u8[]){ 0, 6, 17, 17 }[x >> 2 & 3];
	f->vlan = (x >> 4 & 3) == 3 ? htons(vids[xs(r) & 3]) : 0;
	cm_prefix_mask(f->family ? rnd_plen(mr, f->family) : 0, sm);
	cm_prefix_mask(f->family ? rnd_plen(mr, f->family) : 0, dm);
	f->sport_mask = rnd_pmask(mr);
	f->dport_mask = rnd_pmask(mr);

	if (f->ip_proto && !(xs(mr) & 3))
		f->ip_proto = (xs(r) & 1) ? 6 : 17;
	rnd_addr(r, f->family ? f->family : 6, f->src);
	rnd_addr(r, f->family ? f->family : 6, f->dst);
	for (i = 0; i < 4; i++) {
		f->src_mask[i] = sm[i];
		f->dst_mask[i] = dm[i];
		f->src[i] &= sm[i];
		f->dst[i] &= dm[i];
	}
	f->sport = htons(sports[xs(r) & 3]) & f->sport_mask;
	f->dport = htons(dports[xs(r) & 3]) & f->dport_mask;
	/* 1 in 64: a value bit outside its mask, a flow that matches nothing */
	if (!(xs(r) & 63))
		f->dport |= ~f->dport_mask & htons(1);
}

/* A key near a flow of @t (its value, other bits random), or any key. */
static void rnd_key(u64 *r, const struct cm_ftable *t, struct cm_flow_key *k)
{
	u64 x = xs(r);
	u32 i;

	memset(k, 0, sizeof(*k));
	k->family = (u8[]){ 4, 4, 6, 0 }[x & 3];
	k->proto = (u8[]){ 6, 17, 1, 58 }[x >> 2 & 3];
	k->vlan = (x >> 4 & 3) == 3 ? htons(kvids[x >> 6 & 3]) : 0;
	rnd_addr(r, k->family == 6 ? 6 : 4, k->src);
	rnd_addr(r, k->family == 6 ? 6 : 4, k->dst);
	k->sport = htons(sports[x >> 8 & 3] ^ (u16)(x >> 10 & 1));
	k->dport = htons(dports[x >> 12 & 3] ^ (u16)(x >> 14 & 1));

	if (t->nflows && (x >> 16 & 3)) {
		const struct chainmesh_flow *f = &t->flows[(x >> 20) % t->nflows];

		if (f->family)
			k->family = f->family;
		if (f->ip_proto)
			k->proto = f->ip_proto;
		if (f->vlan)
			k->vlan = f->vlan;
		k->sport = (k->sport & ~f->sport_mask) | f->sport;
		k->dport = (k->dport & ~f->dport_mask) | f->dport;
		for (i = 0; i < 4; i++) {
			k->src[i] = (k->src[i] & ~f->src_mask[i]) | f->src[i];
			k->dst[i] = (k->dst[i] & ~f->dst_mask[i]) | f->dst[i];
		}
	}
}

/* A random logical table of @n flows, compiled for node 1. */
static u32 rnd_table(struct __cm_meta *_metadata, u64 *r, u32 n, u32 shapes,
		     u32 nprio, struct cm_ftable *t)
{
	static struct chainmesh_flow fl[NMAX];
	static u16 ids[NMAX];
	u32 i, j;

	for (i = 0; i < NMAX; i++)
		ids[i] = (u16)i;
	for (i = NMAX - 1; i > 0; i--) {
		u16 tmp = ids[i];

		j = (u32)(xs(r) % (i + 1));
		ids[i] = ids[j];
		ids[j] = tmp;
	}
	for (i = 0; i < n; i++) {
		rnd_flow(r, &fl[i], ids[i], (u16)(xs(r) % nprio), shapes);
		/* 1 in 16: the same match as an earlier flow */
		if (i && !(xs(r) & 15)) {
			u32 id = ids[i];
			u16 prio = fl[i].priority;

			fl[i] = fl[xs(r) % i];
			fl[i].flow_id = cpu_to_le32(id);
			fl[i].priority = prio;
		}
	}
	compile_one(_metadata, fl, n, t);
	return n;
}

static u32 check_lookups(struct __cm_meta *_metadata, u64 *r,
			 const struct cm_ftable *t, u32 nkeys)
{
	const struct chainmesh_flow *got, *want;
	struct cm_flow_key k;
	u32 i, hits = 0;

	for (i = 0; i < nkeys; i++) {
		rnd_key(r, t, &k);
		got = cm_flow_lookup(t, &k);
		want = ref_lookup(t, &k);
		ASSERT_TRUE(got == want) {
			TH_LOG("table of %u: entry %ld, want %ld", t->nflows,
			       got ? (long)(got - t->flows) : -1L,
			       want ? (long)(want - t->flows) : -1L);
			show_key("key", &k);
		}
		hits += !!want;
	}
	return hits;
}

TEST_TIMEOUT(lookup_index_differential, 120)
{
	static const u32 sizes[] = { 1, 2, 3, 5, 17, 64, 200, 512, 1023, 1024 };
	struct cm_ftable *t = cm_ftable_alloc(NMAX);
	u64 r = 0xdeadbeefcafef00dull, lookups = 0, hits = 0;
	u32 round, n, shapes, nprio, groups = 0, linear = 0;

	ASSERT_NOT_NULL(t);
	for (round = 0; round < 600; round++) {
		n = round < 40 ? sizes[round % 10] : 1 + (u32)(xs(&r) % NMAX);
		shapes = (u32[]){ 1, 3, 8, 40, 200 }[round % 5];
		nprio = (u32[]){ 1, 4, 1000 }[round % 3];
		rnd_table(_metadata, &r, n, shapes, nprio, t);
		ASSERT_TRUE(t->ix.owner == t);
		ASSERT_EQ(t->nflows, t->ix.nflows);
		ASSERT_LE(t->ix.ngroups, CM_FIDX_GROUPS);
		groups += t->ix.ngroups;
		linear += t->ix.nlinear;
		hits += check_lookups(_metadata, &r, t, 2000);
		lookups += 2000;
	}
	TH_LOG("%llu lookups, %llu matched; %u groups, %u scanned entries in all",
	       (unsigned long long)lookups, (unsigned long long)hits, groups, linear);
	EXPECT_GT(hits, lookups / 4);
	EXPECT_GT(groups, 0);
	cm_ftable_free(t);
}

/* More masks than groups: the smaller ones are scanned, still in order. */
TEST(lookup_index_many_masks)
{
	struct cm_ftable *t = cm_ftable_alloc(NMAX);
	static struct chainmesh_flow fl[NMAX];
	u64 r = 42;
	u32 i;

	ASSERT_NOT_NULL(t);
	/* 100 masks (dst /0../99 over IPv6) of 10 flows each, then a catch-all */
	for (i = 0; i + 1 < NMAX && i < 1000; i++) {
		flow(&fl[i], i, 1, (u16)(i % 7));
		f_dst(&fl[i], i % 3 ? "2001:db8::" : "2001:db8:ff00::", i % 100);
		fl[i].src[0] = htonl(i / 100) & htonl(0xff);
		fl[i].src_mask[0] = htonl(0xff);
	}
	flow(&fl[i], i, 1, 6);
	compile_one(_metadata, fl, i + 1, t);
	EXPECT_EQ(CM_FIDX_GROUPS, t->ix.ngroups);
	EXPECT_GT(t->ix.nlinear, 0);
	for (i = 0; i < 20000; i++) {
		struct cm_flow_key k;

		key6(&k, 17, "::1", "2001:db8:ff00::1", 1, 2);
		k.src[0] = htonl(xs(&r) % 12);
		k.dst[1] = htonl((u32)xs(&r) & 0xffff0000);
		k.family = xs(&r) & 1 ? 6 : 4;
		ASSERT_TRUE(cm_flow_lookup(t, &k) == ref_lookup(t, &k))
			TH_LOG("key %u", i);
	}
	cm_ftable_free(t);
}

/* The longest run of used slots of @t's index: no lookup probes more. */
static u32 longest_run(const struct cm_ftable *t)
{
	u32 nslots = 1u << t->ix.shift, i, run = 0, best = 0;

	/* twice round, for a run that wraps */
	for (i = 0; i < 2 * nslots; i++) {
		if (t->ix.slots[i & (nslots - 1)].ent == CM_FIDX_NONE)
			run = 0;
		else if (++run > best)
			best = run;
	}
	return best < nslots ? best : nslots;
}

/*
 * @n flows, one mask (UDP to an IPv4 /32), whose values all hash home to
 * slot 0 of a table of @n under the multipliers @mul: what an attacker
 * who knew a node's key could write into its table.
 */
static void craft_colliding(const u64 *mul, struct chainmesh_flow *fl, u32 n)
{
	u32 shift = cm_fidx_shift(n), k = 0, c, v[CM_FIDX_WORDS];
	u32 m[CM_FIDX_WORDS];

	for (c = 1; k < n; c++) {
		flow(&fl[k], k, 1, 0);
		fl[k].family = 4;
		fl[k].ip_proto = 17;
		fl[k].dst[0] = htonl(0x0a000000u + c);
		cm_prefix_mask(32, fl[k].dst_mask);
		cm_fidx_flow(&fl[k], v, m);
		if (cm_fidx_hash(mul, v, m, 0) >> (32 - shift) == 0)
			k++;
	}
}

/* Lookups of every other crafted value, and of as many values no flow
 * has, agree with the reference; the number that matched. */
static u32 check_crafted(struct __cm_meta *_metadata,
			 const struct cm_ftable *t)
{
	struct cm_flow_key k;
	u32 i, hits = 0;
	const struct chainmesh_flow *got;

	for (i = 0; i < t->nflows; i++) {
		key4(&k, 17, "10.9.9.9", "10.0.0.1", 1000, 2000, 0);
		/* odd keys: an address no crafted flow has (they are 10/8) */
		k.dst[0] = i & 1 ? htonl(0x0b000000u + i) : t->flows[i].dst[0];
		got = cm_flow_lookup(t, &k);
		ASSERT_TRUE(got == ref_lookup(t, &k))
			TH_LOG("key %u", i);
		hits += !!got;
	}
	return hits;
}

/*
 * A table whose entries collide as much as an attacker can make them.
 * The index hash is keyed per table (cm_ftable_init()), and the peer that
 * writes a node's table does not know the node's key: the most it can do
 * is pick entries that all collide under some other key. Indexed with the
 * node's own key they spread as any others do: the build stays within a
 * few probes per entry and no lookup probes more than a short run.
 * Entries that do collide under the node's key (an attacker that knew
 * it) exhaust the build's budget, CM_FIDX_PROBES(n), rather than taking
 * quadratic time; the table is then left unindexed and lookups scan it,
 * as flow.h documents: still correct, at most nflows matches each.
 */
TEST(lookup_index_colliding)
{
	struct cm_ftable *a = cm_ftable_alloc(NMAX), *b = cm_ftable_alloc(NMAX);
	static struct chainmesh_flow fl[NMAX];
	u32 run, hits;

	ASSERT_NOT_NULL(a);
	ASSERT_NOT_NULL(b);
	/* All home to slot 0 under a's key... */
	craft_colliding(a->ix.mul, fl, NMAX);

	/* ...indexed by a node with its own key (b): spread as usual. */
	memcpy(b->flows, fl, sizeof(fl));
	b->nflows = NMAX;
	ASSERT_EQ(0, cm_ftable_index(b));
	EXPECT_TRUE(b->ix.owner == b);
	EXPECT_EQ(1, b->ix.ngroups);
	run = longest_run(b);
	TH_LOG("other key: %u probes to build %u entries, longest run %u of %u slots",
	       b->ix.probes, NMAX, run, 1u << b->ix.shift);
	EXPECT_LE(b->ix.probes, 4 * NMAX);
	EXPECT_LE(run, 64);
	hits = check_crafted(_metadata, b);
	EXPECT_EQ(NMAX / 2, hits);

	/* Under the key they were made for: refused within the budget,
	 * lookups scan and still find the first match. */
	memcpy(a->flows, fl, sizeof(fl));
	a->nflows = NMAX;
	EXPECT_EQ(-EPROTO, cm_ftable_index(a));
	EXPECT_TRUE(a->ix.owner != a);
	EXPECT_LE(a->ix.probes, CM_FIDX_PROBES(NMAX) + 1);
	TH_LOG("its own key: build stopped after %u probes (budget %u)",
	       a->ix.probes, CM_FIDX_PROBES(NMAX));
	hits = check_crafted(_metadata, a);
	EXPECT_EQ(NMAX / 2, hits);
	cm_ftable_free(b);
	cm_ftable_free(a);
}

/* A copy, or a table changed by hand, scans until indexed again. */
TEST(lookup_index_copies)
{
	struct cm_ftable *t = cm_ftable_alloc(NMAX), *c = cm_ftable_alloc(700);
	struct cm_ftable shallow, big = { .nflows = 701 };
	u64 r = 7;

	ASSERT_NOT_NULL(t);
	ASSERT_NOT_NULL(c);
	rnd_table(_metadata, &r, 700, 5, 10, t);
	/* a replica group: the copy that a node swaps in carries it */
	t->groups[7].members[0] = 1;
	t->groups[7].members[1] = 2;
	t->groups[7].nmembers = 2;
	t->groups[7].live = 2;
	ASSERT_EQ(0, cm_ftable_copy(c, t));
	EXPECT_TRUE(c->ix.owner != c);
	EXPECT_EQ(700, c->nflows);
	EXPECT_EQ(0, memcmp(c->hops, t->hops, sizeof(c->hops)));
	EXPECT_EQ(0, memcmp(c->groups, t->groups, sizeof(c->groups)));
	EXPECT_EQ(-E2BIG, cm_ftable_copy(c, &big));
	/* a struct copy keeps the other table's arrays, not its index */
	shallow = *t;
	EXPECT_TRUE(shallow.ix.owner != &shallow);
	check_lookups(_metadata, &r, &shallow, 300);
	check_lookups(_metadata, &r, c, 3000);
	cm_ftable_index(c);
	EXPECT_TRUE(c->ix.owner == c);
	check_lookups(_metadata, &r, c, 3000);

	/* fewer entries, index not rebuilt: the scan sees only those */
	c->nflows = 300;
	check_lookups(_metadata, &r, c, 3000);
	c->nflows = 0;
	check_lookups(_metadata, &r, c, 100);
	cm_ftable_free(c);
	cm_ftable_free(t);
}

/* What a node snapshots is indexed, and agrees with the host's table. */
TEST(lookup_index_snapshot)
{
	struct cm_layout_params p = {
		.nodes = 3, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 4, .max_flows = NMAX,
	};
	struct cm_ftable *t = cm_ftable_alloc(NMAX), *s = cm_ftable_alloc(NMAX);
	struct cm_layout l;
	struct cm_flow_key k;
	void *base;
	u64 r = 99;
	u32 round, i;

	ASSERT_NOT_NULL(t);
	ASSERT_NOT_NULL(s);
	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &l));
	base = calloc(1, l.size);
	ASSERT_NOT_NULL(base);
	for (round = 0; round < 20; round++) {
		rnd_table(_metadata, &r, 1 + (u32)(xs(&r) % NMAX),
			  1 + round, 5, t);
		cm_ftable_publish(cm_ftable(base, &l, 1), t);
		ASSERT_EQ(0, cm_ftable_snapshot(cm_ftable(base, &l, 1), &l, 1, s));
		ASSERT_TRUE(s->ix.owner == s);
		for (i = 0; i < 2000; i++) {
			const struct chainmesh_flow *a, *b;

			rnd_key(&r, t, &k);
			a = cm_flow_lookup(t, &k);
			b = cm_flow_lookup(s, &k);
			ASSERT_EQ(a ? a - t->flows : -1, b ? b - s->flows : -1);
			ASSERT_TRUE(b == ref_lookup(s, &k));
		}
	}
	/* A refused table is empty, whatever its index said. */
	cm_ftable_hdr(cm_ftable(base, &l, 1))->nflows = cpu_to_le32(NMAX + 1);
	ASSERT_EQ(-EPROTO, cm_ftable_snapshot(cm_ftable(base, &l, 1), &l, 1, s));
	for (i = 0; i < 100; i++) {
		rnd_key(&r, t, &k);
		ASSERT_NULL(cm_flow_lookup(s, &k));
	}
	free(base);
	cm_ftable_free(s);
	cm_ftable_free(t);
}

/* ---- compiling ---- */

static void chain(struct cm_chain *c, u32 used, u32 nhops, const u8 *hops)
{
	memset(c, 0, sizeof(*c));
	c->used = (u8)used;
	c->nhops = (u8)nhops;
	memcpy(c->hops, hops, nhops);
}

struct want_hop {
	u32 chain;
	u8 flags, hop, next;
};

static void check_hops(struct __cm_meta *_metadata, const struct cm_ftable *t,
		       u32 node, const struct want_hop *w, u32 nw)
{
	u32 c, i;

	for (c = 0; c < CHAINMESH_MAX_CHAINS; c++) {
		const struct chainmesh_fhop *h = &t->hops[c];
		const struct want_hop *x = NULL;

		for (i = 0; i < nw; i++)
			if (w[i].chain == c)
				x = &w[i];
		if (!x) {
			EXPECT_EQ(0, h->flags) TH_LOG("node %u chain %u", node, c);
			continue;
		}
		EXPECT_EQ(x->flags, h->flags) TH_LOG("node %u chain %u", node, c);
		EXPECT_EQ(x->hop, h->hop) TH_LOG("node %u chain %u", node, c);
		EXPECT_EQ(x->next, h->next) TH_LOG("node %u chain %u", node, c);
	}
}

static int cmp_flow(const void *a, const void *b)
{
	const struct chainmesh_flow *x = a, *y = b;
	u32 px = le16_to_cpu(x->priority), py = le16_to_cpu(y->priority);
	u32 ix = le32_to_cpu(x->flow_id), iy = le32_to_cpu(y->flow_id);

	if (px != py)
		return px < py ? -1 : 1;
	return ix < iy ? -1 : ix > iy;
}

#define V	CHAINMESH_H_VALID
#define L	CHAINMESH_H_LAST
#define NONE	CHAINMESH_NODE_NONE

TEST(compile_chains)
{
	static struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	static struct chainmesh_flow fl[600], ref[600];
	struct cm_ftable *t = cm_ftable_alloc(600);
	u64 rnd = 0x9e3779b97f4a7c15ull;
	static const u16 chain_of[] = { 1, 2, 3, 4, 255, 77 };
	u32 i, node, nref;
	int n;

	ASSERT_NOT_NULL(t);
	chain(&chains[1], 1, 3, (const u8[]){ 1, 2, 3 });
	chain(&chains[2], 1, 2, (const u8[]){ 3, 1 });
	chain(&chains[3], 1, 1, (const u8[]){ 2 });
	chain(&chains[4], 0, 2, (const u8[]){ 1, 2 });	/* deleted */
	chain(&chains[255], 1, 3, (const u8[]){ 0, 5, 1 });
	/* chain 77 does not exist */

	{
		const struct want_hop n0[] = { { 255, V, 0, 5 } };
		const struct want_hop n1[] = {
			{ 1, V, 0, 2 }, { 2, V | L, 1, NONE }, { 255, V | L, 2, NONE },
		};
		const struct want_hop n2[] = { { 1, V, 1, 3 }, { 3, V | L, 0, NONE } };
		const struct want_hop n3[] = { { 1, V | L, 2, NONE }, { 2, V, 0, 1 } };
		const struct want_hop n5[] = { { 255, V, 1, 1 } };

		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 0, 16, t));
		check_hops(_metadata, t, 0, n0, 1);
		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 1, 16, t));
		check_hops(_metadata, t, 1, n1, 3);
		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 2, 16, t));
		check_hops(_metadata, t, 2, n2, 2);
		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 3, 16, t));
		check_hops(_metadata, t, 3, n3, 2);
		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 4, 16, t));
		check_hops(_metadata, t, 4, NULL, 0);	/* on no chain */
		ASSERT_EQ(0, cm_ftable_compile(NULL, 0, chains, 5, 16, t));
		check_hops(_metadata, t, 5, n5, 1);
	}

	/* Flows in random order, many priorities shared. */
	for (i = 0; i < 600; i++) {
		rnd ^= rnd << 13;
		rnd ^= rnd >> 7;
		rnd ^= rnd << 17;
		flow(&fl[i], (u32)(rnd >> 20) % NMAX,
		     chain_of[rnd % 6], (u16)(rnd >> 40) % 8);
		fl[i].src[0] = htonl(i);	/* tells them apart */
	}
	for (node = 0; node < 7; node++) {
		nref = 0;
		for (i = 0; i < 600; i++) {
			u16 c = le16_to_cpu(fl[i].chain);

			if (chains[c].used && cm_chain_pos(&chains[c], node) >= 0)
				ref[nref++] = fl[i];
		}
		qsort(ref, nref, sizeof(ref[0]), cmp_flow);

		n = cm_ftable_compile(fl, 600, chains, node, CHAINMESH_MAX_FLOWS, t);
		ASSERT_EQ((int)nref, n) TH_LOG("node %u", node);
		ASSERT_EQ(nref, t->nflows);
		for (i = 0; i < nref; i++) {
			ASSERT_EQ(0, cmp_flow(&ref[i], &t->flows[i]))
				TH_LOG("node %u entry %u", node, i);
			if (i)
				ASSERT_GE(0, cmp_flow(&t->flows[i - 1], &t->flows[i]));
		}

		/* Exactly full fits; one flow more does not. */
		if (nref) {
			EXPECT_EQ((int)nref, cm_ftable_compile(fl, 600, chains, node,
							       nref, t));
			EXPECT_EQ(-E2BIG, cm_ftable_compile(fl, 600, chains, node,
							    nref - 1, t));
		} else {
			/* flows of other chains take no room */
			EXPECT_EQ(0, cm_ftable_compile(fl, 600, chains, node, 1, t));
		}
	}
	cm_ftable_free(t);
}

/* ---- snapshot and publish ---- */

FIXTURE(ft) {
	struct cm_layout l;
	void *base;
	struct cm_chain chains[CHAINMESH_MAX_CHAINS];
	struct chainmesh_flow flows[64];
	struct cm_ftable *t, *snap;
};

FIXTURE_SETUP(ft)
{
	struct cm_layout_params p = {
		.nodes = 4, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 4, .max_flows = 64,
	};
	u32 i;

	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &self->l));
	self->base = calloc(1, self->l.size);
	self->t = cm_ftable_alloc(p.max_flows);
	self->snap = cm_ftable_alloc(p.max_flows);
	ASSERT_NOT_NULL(self->base);
	ASSERT_NOT_NULL(self->t);
	ASSERT_NOT_NULL(self->snap);
	chain(&self->chains[1], 1, 3, (const u8[]){ 1, 2, 3 });
	chain(&self->chains[9], 1, 2, (const u8[]){ 3, 2 });
	for (i = 0; i < 64; i++) {
		flow(&self->flows[i], i, i & 1 ? 1 : 9, (u16)(64 - i));
		f_dst(&self->flows[i], "10.0.0.0", 8 + i % 24);
	}
}

FIXTURE_TEARDOWN(ft)
{
	cm_ftable_free(self->snap);
	cm_ftable_free(self->t);
	free(self->base);
}

static bool same_table(const struct cm_ftable *a, const struct cm_ftable *b)
{
	return a->nflows == b->nflows &&
	       !memcmp(a->hops, b->hops, sizeof(a->hops)) &&
	       !memcmp(a->flows, b->flows, a->nflows * sizeof(a->flows[0]));
}

TEST_F(ft, round_trip)
{
	static const int nflows[] = { 0, 32, 64, 64 };
	const struct cm_layout *l = &self->l;
	u32 node, seq;

	for (node = 0; node < l->p.nodes; node++) {
		void *ft = cm_ftable(self->base, l, node);

		self->snap->seq = 0;	/* a fresh node */
		ASSERT_EQ(nflows[node],
			  cm_ftable_compile(self->flows, 64, self->chains, node,
					    l->p.max_flows, self->t));
		cm_ftable_publish(ft, self->t);
		seq = le32_to_cpu(cm_ftable_hdr(ft)->seq);
		EXPECT_EQ(2, seq);
		EXPECT_TRUE(cm_ftable_changed(ft, self->snap));
		ASSERT_EQ(0, cm_ftable_snapshot(ft, l, node, self->snap));
		EXPECT_EQ(seq, self->snap->seq);
		EXPECT_TRUE(same_table(self->t, self->snap)) TH_LOG("node %u", node);
		EXPECT_FALSE(cm_ftable_changed(ft, self->snap));
	}

	/* Fewer flows next time: the stale tail is not seen. */
	{
		void *ft = cm_ftable(self->base, l, 3);

		ASSERT_EQ(3, cm_ftable_compile(self->flows, 3, self->chains, 3,
					       l->p.max_flows, self->t));
		cm_ftable_publish(ft, self->t);
		EXPECT_EQ(4, le32_to_cpu(cm_ftable_hdr(ft)->seq));
		EXPECT_TRUE(cm_ftable_changed(ft, self->snap));
		ASSERT_EQ(0, cm_ftable_snapshot(ft, l, 3, self->snap));
		EXPECT_EQ(3, self->snap->nflows);
		EXPECT_TRUE(same_table(self->t, self->snap));
	}
}

/* Publish a good table to node 1, then break one thing in shared memory. */
static void *good_table(struct __cm_meta *_metadata, FIXTURE_DATA(ft) *self)
{
	void *ft = cm_ftable(self->base, &self->l, 1);

	cm_ftable_compile(self->flows, 64, self->chains, 1,
			  self->l.p.max_flows, self->t);
	cm_ftable_publish(ft, self->t);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, &self->l, 1, self->snap));
	return ft;
}

TEST_F(ft, refuses_bad_tables)
{
	const struct cm_layout *l = &self->l;
	struct chainmesh_fhop *h;
	struct chainmesh_flow *f;
	void *ft;
	u32 seq;

#define REFUSED(what) do {						\
		self->snap->nflows = 99;				\
		EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, l, 1, self->snap)) \
			TH_LOG(what);					\
		EXPECT_EQ(0, self->snap->nflows) TH_LOG(what);		\
	} while (0)

	ft = good_table(_metadata, self);
	h = &cm_ftable_hops(ft)[1];		/* node 1 is first on chain 1 */
	ASSERT_EQ(V, h->flags);
	h->next = 4;
	REFUSED("next hop beyond the nodes");
	ft = good_table(_metadata, self);
	h->next = 0xfe;
	REFUSED("next hop 0xfe");
	ft = good_table(_metadata, self);
	h->next = 1;
	REFUSED("next hop is self");
	ft = good_table(_metadata, self);
	h->next = NONE;
	REFUSED("no next hop, not last");
	ft = good_table(_metadata, self);
	h->flags = 0;
	h->next = 200;				/* not valid: not looked at */
	EXPECT_EQ(0, cm_ftable_snapshot(ft, l, 1, self->snap));

	ft = good_table(_metadata, self);
	f = &cm_ftable_flows(ft)[5];
	f->flow_id = cpu_to_le32(l->p.max_flows);
	REFUSED("flow id = max_flows");
	ft = good_table(_metadata, self);
	f->flow_id = cpu_to_le32(CHAINMESH_MAX_FLOWS);
	REFUSED("flow id");
	ft = good_table(_metadata, self);
	f->flow_id = cpu_to_le32(l->p.max_flows - 1);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, l, 1, self->snap));
	ft = good_table(_metadata, self);
	f->chain = cpu_to_le16(CHAINMESH_MAX_CHAINS);
	REFUSED("chain id");
	ft = good_table(_metadata, self);
	cm_ftable_flows(ft)[31].chain = cpu_to_le16(0xffff);	/* the last */
	REFUSED("last flow's chain id");
	ft = good_table(_metadata, self);
	cm_ftable_hdr(ft)->nflows = cpu_to_le32(l->p.max_flows + 1);
	REFUSED("nflows > max_flows");
	ft = good_table(_metadata, self);
	cm_ftable_hdr(ft)->nflows = cpu_to_le32(~0u);
	REFUSED("nflows ~0");
	ft = good_table(_metadata, self);
	cm_ftable_hdr(ft)->nflows = cpu_to_le32(l->p.max_flows);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, l, 1, self->snap));
	EXPECT_EQ(l->p.max_flows, self->snap->nflows);

	/* Entries past nflows are not looked at. */
	ft = good_table(_metadata, self);
	cm_ftable_flows(ft)[32].chain = cpu_to_le16(0xffff);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, l, 1, self->snap));
	EXPECT_EQ(32, self->snap->nflows);
#undef REFUSED

	/* The host is writing: try again later, the old table stays. */
	ft = good_table(_metadata, self);
	seq = le32_to_cpu(cm_ftable_hdr(ft)->seq);
	cm_ftable_hdr(ft)->seq = cpu_to_le32(seq + 1);
	self->snap->nflows = 12345;
	EXPECT_EQ(-EAGAIN, cm_ftable_snapshot(ft, l, 1, self->snap));
	EXPECT_EQ(12345, self->snap->nflows);
	EXPECT_EQ(seq, self->snap->seq);
	EXPECT_TRUE(cm_ftable_changed(ft, self->snap));

	/* A host that died mid-write publishes cleanly next time. */
	cm_ftable_publish(ft, self->t);
	seq = le32_to_cpu(cm_ftable_hdr(ft)->seq);
	EXPECT_EQ(0, seq & 1);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, l, 1, self->snap));
	EXPECT_EQ(seq, self->snap->seq);
	EXPECT_TRUE(same_table(self->t, self->snap));
}

/*
 * The host republishes node 1's table as fast as it can, alternating two
 * contents that differ in every byte that is copied; node 1 snapshots
 * meanwhile. Every snapshot that succeeds is exactly one of the two.
 */
struct race {
	void *ft;
	const struct cm_layout *l;
	struct cm_ftable *a, *b;
	int stop;
	u64 publishes;
};

static void fill(struct cm_ftable *t, u32 nflows, u8 salt)
{
	u32 c, i;

	cm_ftable_init(t, t->cap);
	for (c = 0; c < CHAINMESH_MAX_CHAINS; c++) {
		static const u8 next[] = { 0, 2, 3, NONE };
		u8 nx = next[(c + salt) % 4];

		t->hops[c].flags = nx == NONE ? V | L : V;
		t->hops[c].hop = (u8)(c + salt);
		t->hops[c].next = nx;
		t->hops[c].pad = salt;
	}
	for (i = 0; i < nflows; i++) {
		struct chainmesh_flow *f = &t->flows[i];

		memset(f, salt ^ (u8)i, sizeof(*f));
		f->flow_id = cpu_to_le32((i * 7 + salt) % t->cap);
		f->chain = cpu_to_le16((i + salt) % CHAINMESH_MAX_CHAINS);
	}
	t->nflows = nflows;
}

static void *race_host(void *arg)
{
	struct race *r = arg;
	u32 spin;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		cm_ftable_publish(r->ft, (r->publishes & 1) ? r->b : r->a);
		r->publishes++;
		/* a short gap now and then, for whole snapshots to fit */
		if (!(r->publishes % 3))
			for (spin = (r->publishes * 2654435761u) % 1024; spin; spin--)
				__builtin_ia32_pause();
	}
	return NULL;
}

TEST_F_TIMEOUT(ft, concurrent_republish, 20)
{
	struct race r = { .l = &self->l };
	u64 ok_a = 0, ok_b = 0, again = 0, torn = 0, tries = 0;
	struct timespec t0, now;
	pthread_t host;

	r.ft = cm_ftable(self->base, &self->l, 1);
	r.a = self->t;
	r.b = cm_ftable_alloc(self->l.p.max_flows);
	ASSERT_NOT_NULL(r.b);
	fill(r.a, self->l.p.max_flows, 0x11);
	fill(r.b, self->l.p.max_flows - 13, 0xa6);
	cm_ftable_publish(r.ft, r.a);

	ASSERT_EQ(0, pthread_create(&host, NULL, race_host, &r));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int err = cm_ftable_snapshot(r.ft, &self->l, 1, self->snap);

		tries++;
		if (err == -EAGAIN) {
			again++;
		} else if (err) {
			torn++;		/* a torn table fails validation */
		} else if (same_table(self->snap, r.a)) {
			ok_a++;
		} else if (same_table(self->snap, r.b)) {
			ok_b++;
		} else {
			torn++;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while ((now.tv_sec - t0.tv_sec) * 1000000000ll + now.tv_nsec - t0.tv_nsec <
		 500000000ll);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	pthread_join(host, NULL);

	TH_LOG("%llu snapshots: %llu of A, %llu of B, %llu retried, %llu torn; %llu publishes",
	       (unsigned long long)tries, (unsigned long long)ok_a,
	       (unsigned long long)ok_b, (unsigned long long)again,
	       (unsigned long long)torn, (unsigned long long)r.publishes);
	EXPECT_EQ(0, torn);
	EXPECT_GT(ok_a, 0);
	EXPECT_GT(ok_b, 0);
	cm_ftable_free(r.b);
}

/* ---- tables of 100 000 flows ---- */

#define NBIG	100000u

static double ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1e3 + (t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/*
 * Flow @k of a big table: a destination of its own (an IPv4 /32 in 10/8,
 * an IPv4 /24 from 11/8 on, or an IPv6 /64), so that no two flows
 * overlap; its other fields in one of 120 mask shapes, most flows in 8 of
 * them, a few hundred spread over the others (more masks than index
 * groups: the smallest are scanned).
 */
static void big_flow(struct chainmesh_flow *f, u32 k, u64 *r)
{
	static const u32 splen[] = { 0, 8, 16, 24, 32 };
	static const u16 smask[] = { 0, 0xffff, 0xff00, 0xfff0 };
	u32 shape = k % 200 ? (u32)(xs(r) % 8) : 8 + (u32)(xs(r) % 112);
	u32 kind = shape % 3, i;
	__be32 m[4];

	flow(f, k, 1, (u16)(xs(r) % 1000));
	f->ip_proto = k & 1 ? 17 : 6;
	if (kind == 2) {
		f->family = 6;
		f->dst[0] = htonl(0x20010db8);
		f->dst[1] = htonl(k);
		cm_prefix_mask(64, f->dst_mask);
	} else {
		f->family = 4;
		f->dst[0] = htonl(kind ? (11u << 24) + (k << 8) : (10u << 24) + k);
		cm_prefix_mask(kind ? 24 : 32, f->dst_mask);
	}
	cm_prefix_mask(splen[shape / 3 % 5], m);
	for (i = 0; i < 4; i++) {
		f->src_mask[i] = m[i];
		f->src[i] = (__be32)xs(r) & m[i];
	}
	f->sport_mask = htons(smask[shape / 15 % 4]);
	f->sport = (__be16)xs(r) & f->sport_mask;
	f->dport_mask = htons(shape / 60 ? 0xffff : 0xfffc);
	f->dport = (__be16)xs(r) & f->dport_mask;
}

/* A key that @f matches, its other bits random. */
static void key_of(u64 *r, const struct chainmesh_flow *f, struct cm_flow_key *k)
{
	u32 i;

	memset(k, 0, sizeof(*k));
	k->family = f->family;
	k->proto = f->ip_proto;
	k->sport = ((__be16)xs(r) & ~f->sport_mask) | f->sport;
	k->dport = ((__be16)xs(r) & ~f->dport_mask) | f->dport;
	for (i = 0; i < (f->family == 6 ? 4u : 1u); i++) {
		k->src[i] = ((__be32)xs(r) & ~f->src_mask[i]) | f->src[i];
		k->dst[i] = ((__be32)xs(r) & ~f->dst_mask[i]) | f->dst[i];
	}
}

FIXTURE(big) {
	struct cm_layout l;
	void *base;
	struct cm_chain *chains;
	struct chainmesh_flow *flows;	/* NBIG + 1, the last a catch-all */
	struct cm_ftable *t, *snap;
};

FIXTURE_SETUP(big)
{
	struct cm_layout_params p = {
		.nodes = 2, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 4, .max_flows = CHAINMESH_MAX_FLOWS,
	};
	u64 r = 0x5eed;
	u32 k;

	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &self->l));
	self->base = calloc(1, self->l.size);
	self->chains = calloc(CHAINMESH_MAX_CHAINS, sizeof(*self->chains));
	self->flows = calloc(NBIG + 1, sizeof(*self->flows));
	self->t = cm_ftable_alloc(p.max_flows);
	self->snap = cm_ftable_alloc(p.max_flows);
	ASSERT_NOT_NULL(self->base);
	ASSERT_NOT_NULL(self->chains);
	ASSERT_NOT_NULL(self->flows);
	ASSERT_NOT_NULL(self->t);
	ASSERT_NOT_NULL(self->snap);
	chain(&self->chains[1], 1, 2, (const u8[]){ 0, 1 });
	for (k = 0; k < NBIG; k++)
		big_flow(&self->flows[k], k, &r);
	flow(&self->flows[NBIG], NBIG, 1, 65535);	/* anything */
}

FIXTURE_TEARDOWN(big)
{
	cm_ftable_free(self->snap);
	cm_ftable_free(self->t);
	free(self->flows);
	free(self->chains);
	free(self->base);
}

/*
 * 100 000 flows (and a catch-all) in random order: compiled for node 1,
 * published, snapshotted and indexed as a node does; each flow found by
 * a key of its own, random keys agree with a scan, others fall to the
 * catch-all.
 */
TEST_F_TIMEOUT(big, table_100k, 240)
{
	const struct cm_fidx *x = &self->snap->ix;
	void *ft = cm_ftable(self->base, &self->l, 1);
	const struct chainmesh_flow *got;
	struct cm_flow_key k;
	struct timespec t0;
	u64 r = 77;
	u32 i, id;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ((int)NBIG + 1, cm_ftable_compile(self->flows, NBIG + 1, self->chains,
						   1, self->l.p.max_flows, self->t));
	TH_LOG("compile (with sort): %.1f ms", ms_since(&t0));
	for (i = 1; i < self->t->nflows; i++)
		ASSERT_TRUE(cm_flow_before(&self->t->flows[i - 1], &self->t->flows[i]))
			TH_LOG("entry %u", i);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cm_ftable_publish(ft, self->t);
	TH_LOG("publish: %.1f ms", ms_since(&t0));
	EXPECT_TRUE(cm_ftable_same(ft, self->t));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, cm_ftable_snapshot(ft, &self->l, 1, self->snap));
	TH_LOG("snapshot and index: %.1f ms", ms_since(&t0));
	ASSERT_EQ(NBIG + 1, self->snap->nflows);
	ASSERT_TRUE(x->owner == self->snap);
	EXPECT_EQ(CM_FIDX_GROUPS, x->ngroups);
	EXPECT_GT(x->nlinear, 0);
	EXPECT_LT(x->nlinear, 1000);
	TH_LOG("index: %u groups, %u entries scanned, %u slots", x->ngroups,
	       x->nlinear, 1u << x->shift);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < self->snap->nflows; i++) {
		const struct chainmesh_flow *f = &self->snap->flows[i];

		id = le32_to_cpu(f->flow_id);
		if (id == NBIG)
			continue;
		key_of(&r, f, &k);
		got = cm_flow_lookup(self->snap, &k);
		ASSERT_TRUE(got == f) {
			TH_LOG("flow %u (entry %u): got %ld", id, i,
			       got ? (long)le32_to_cpu(got->flow_id) : -1L);
			show_key("key", &k);
		}
	}
	TH_LOG("%u lookups, each its own flow: %.1f ms", NBIG, ms_since(&t0));

	for (i = 0; i < 2000; i++) {
		rnd_key(&r, self->snap, &k);
		ASSERT_TRUE(cm_flow_lookup(self->snap, &k) == ref_lookup(self->snap, &k))
			show_key("key", &k);
	}
	key4(&k, 6, "9.9.9.9", "192.0.2.1", 1, 2, 0);
	got = cm_flow_lookup(self->snap, &k);
	ASSERT_NOT_NULL(got);
	EXPECT_EQ(NBIG, le32_to_cpu(got->flow_id));
}

/* Flows given in table order compile without sorting to the same table;
 * a republish of the same table is recognised, a change is not. */
TEST_F_TIMEOUT(big, compile_orders_and_republish, 120)
{
	struct cm_ftable *sorted = cm_ftable_alloc(self->l.p.max_flows);
	void *ft = cm_ftable(self->base, &self->l, 1);
	struct timespec t0;

	ASSERT_NOT_NULL(sorted);
	ASSERT_EQ((int)NBIG + 1, cm_ftable_compile(self->flows, NBIG + 1, self->chains,
						   1, self->l.p.max_flows, self->t));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ((int)NBIG + 1, cm_ftable_compile(self->t->flows, NBIG + 1, self->chains,
						   1, self->l.p.max_flows, sorted));
	TH_LOG("compile (in order): %.1f ms", ms_since(&t0));
	EXPECT_EQ(0, memcmp(sorted->flows, self->t->flows,
			    (NBIG + 1) * sizeof(sorted->flows[0])));
	/* one entry too many for the table, or for its cap */
	EXPECT_EQ(-E2BIG, cm_ftable_compile(self->flows, NBIG + 1, self->chains, 1,
					    NBIG, sorted));

	EXPECT_FALSE(cm_ftable_same(ft, self->t));	/* never published */
	cm_ftable_publish(ft, self->t);
	EXPECT_TRUE(cm_ftable_same(ft, self->t));
	self->t->flows[NBIG / 2].dport ^= htons(1);
	EXPECT_FALSE(cm_ftable_same(ft, self->t));
	self->t->flows[NBIG / 2].dport ^= htons(1);
	self->t->hops[7].flags = CHAINMESH_H_VALID | CHAINMESH_H_LAST;
	self->t->hops[7].next = CHAINMESH_NODE_NONE;
	EXPECT_FALSE(cm_ftable_same(ft, self->t));
	self->t->nflows--;
	cm_ftable_publish(ft, self->t);
	EXPECT_TRUE(cm_ftable_same(ft, self->t));
	cm_ftable_free(sorted);
}

/* A snapshot larger than the table it lands in is refused, not copied. */
TEST_F(big, snapshot_bounded_by_cap)
{
	void *ft = cm_ftable(self->base, &self->l, 1);
	struct cm_ftable *small = cm_ftable_alloc(1000);

	ASSERT_NOT_NULL(small);
	ASSERT_EQ(1000, cm_ftable_compile(self->flows, 1000, self->chains, 1,
					  self->l.p.max_flows, self->t));
	cm_ftable_publish(ft, self->t);
	EXPECT_EQ(0, cm_ftable_snapshot(ft, &self->l, 1, small));
	ASSERT_EQ(1001, cm_ftable_compile(self->flows, 1001, self->chains, 1,
					  self->l.p.max_flows, self->t));
	cm_ftable_publish(ft, self->t);
	EXPECT_EQ(-EPROTO, cm_ftable_snapshot(ft, &self->l, 1, small));
	EXPECT_EQ(0, small->nflows);
	EXPECT_EQ(NULL, cm_ftable_alloc(0));
	EXPECT_EQ(NULL, cm_ftable_alloc(CHAINMESH_MAX_FLOWS + 1));
	cm_ftable_free(small);
}

/* ---- editing a table by increments; the flow log ---- */

/* A random increment for the table @t (its ids below its cap): an add
 * for an absent id, a replace or a delete for a present one. */
static void rnd_op(u64 *r, const struct cm_ftable *t, u32 shapes,
		   struct cm_flog_op *op)
{
	u32 id = (u32)(xs(r) % t->cap);

	memset(op, 0, sizeof(*op));
	if (t->byid[id] != CM_FIDX_NONE && (xs(r) & 1)) {
		op->op = CHAINMESH_FLOG_DELETE;
		op->flow.flow_id = cpu_to_le32(id);
		return;
	}
	op->op = t->byid[id] != CM_FIDX_NONE ? CHAINMESH_FLOG_REPLACE :
					       CHAINMESH_FLOG_ADD;
	rnd_flow(r, &op->flow, id, (u16)(xs(r) % 8), shapes);
}

/* Lookups in @t through its index agree with the reference. */
static void check_rank_lookups(struct __cm_meta *_metadata, u64 *r,
			       const struct cm_ftable *t, u32 nkeys)
{
	struct cm_flow_key k;
	u32 i;

	ASSERT_TRUE(cm_fidx_current(t));
	for (i = 0; i < nkeys; i++) {
		const struct chainmesh_flow *got, *want;

		rnd_key(r, t, &k);
		got = cm_flow_lookup(t, &k);
		want = cm_ref_rank(t, &k);
		ASSERT_TRUE(got == want) {
			TH_LOG("table of %u: entry %ld, want %ld", t->nflows,
			       got ? (long)(got - t->flows) : -1L,
			       want ? (long)(want - t->flows) : -1L);
			show_key("key", &k);
		}
	}
}

/*
 * Random adds, replaces and deletes keep the index equal to a plain
 * scan, and to the index of the same entries built at once, or inserted
 * one by one into an empty table: a snapshot is "clear, insert all".
 */
TEST_TIMEOUT(index_edits_differential, 120)
{
	struct cm_ftable *t = cm_ftable_alloc(NMAX), *c = cm_ftable_alloc(NMAX);
	u64 r = 0x5eed0f10u, ops = 0, rebuilt = 0;
	struct cm_flog_op op;
	struct cm_flow_key k;
	u32 round, step, i;

	ASSERT_NOT_NULL(t);
	ASSERT_NOT_NULL(c);
	for (round = 0; round < 24; round++) {
		u32 shapes = 1 + round % 9 * 9;

		rnd_table(_metadata, &r, (u32)(xs(&r) % NMAX), shapes, 5, t);
		ASSERT_TRUE(t->byid_ok);
		for (step = 1; step <= 600; step++) {
			rnd_op(&r, t, shapes, &op);
			ASSERT_EQ(0, cm_flog_apply_one(t, &op));
			ops++;
			if (!cm_fidx_current(t)) {	/* it had to grow */
				rebuilt++;
				ASSERT_EQ(0, cm_ftable_index(t));
			}
			if (step % 100)
				continue;
			check_rank_lookups(_metadata, &r, t, 300);
			/* built at once */
			ASSERT_EQ(0, cm_ftable_copy(c, t));
			ASSERT_EQ(0, cm_ftable_index(c));
			for (i = 0; i < 300; i++) {
				const struct chainmesh_flow *a, *b;

				rnd_key(&r, t, &k);
				a = cm_flow_lookup(t, &k);
				b = cm_flow_lookup(c, &k);
				ASSERT_EQ(a ? a - t->flows : -1, b ? b - c->flows : -1);
			}
			/* inserted one by one */
			c->nflows = 0;
			ASSERT_EQ(0, cm_ftable_index(c));
			for (i = 0; i < t->nflows; i++)
				ASSERT_EQ(0, cm_ftable_set(c, &t->flows[i]));
			if (!cm_fidx_current(c))
				ASSERT_EQ(0, cm_ftable_index(c));
			ASSERT_EQ(t->nflows, c->nflows);
			for (i = 0; i < 300; i++) {
				const struct chainmesh_flow *a, *b;

				rnd_key(&r, t, &k);
				a = cm_flow_lookup(t, &k);
				b = cm_flow_lookup(c, &k);
				ASSERT_EQ(a ? le32_to_cpu(a->flow_id) : ~0u,
					  b ? le32_to_cpu(b->flow_id) : ~0u);
			}
		}
	}
	TH_LOG("%llu increments, %llu index rebuilds (growth)",
	       (unsigned long long)ops, (unsigned long long)rebuilt);
	/* growth only: a table at its size needs none */
	EXPECT_LT(rebuilt, ops / 50);
	/* an edit the table cannot take changes nothing */
	t->byid_ok = false;
	i = t->nflows;
	EXPECT_EQ(-EINVAL, cm_ftable_set(t, &c->flows[0]));
	EXPECT_EQ(-EINVAL, cm_ftable_del(t, 0));
	EXPECT_EQ(i, t->nflows);
	cm_ftable_free(c);
	cm_ftable_free(t);
}

/* A host, node 1's table and log in a region, and node 1. */
struct lg {
	struct cm_layout l;
	void *base, *ft;
	struct chainmesh_flog_hdr *log;
	struct cm_ftable *host, *cur, *spare;
	struct cm_flog_host w;
	struct cm_flog_node nr;
	u32 shapes;
};

static void lg_init(struct __cm_meta *_metadata, struct lg *g, u64 *r, u32 n)
{
	struct cm_layout_params p = {
		.nodes = 3, .ring_slots = 8, .buf_size = 1024,
		.bufs_per_node = 4, .max_flows = NMAX,
	};

	memset(g, 0, sizeof(*g));
	ASSERT_EQ(0, cm_layout_compute(&p, ~0ull, &g->l));
	ASSERT_EQ(64u, g->l.flog_slots);
	g->base = calloc(1, g->l.size);
	g->host = cm_ftable_alloc(NMAX);
	g->cur = cm_ftable_alloc(NMAX);
	g->spare = cm_ftable_alloc(NMAX);
	g->nr.buf = calloc(g->l.flog_slots, sizeof(*g->nr.buf));
	ASSERT_TRUE(g->base && g->host && g->cur && g->spare && g->nr.buf);
	g->nr.max = 16;
	g->ft = cm_ftable(g->base, &g->l, 1);
	g->log = cm_flog(g->base, &g->l, 1);
	g->shapes = 12;
	rnd_table(_metadata, r, n, g->shapes, 5, g->host);
	ASSERT_TRUE(g->host->byid_ok);
	cm_flog_host_init(&g->w, g->log, g->l.flog_slots);
	cm_flog_host_reset(&g->w, g->ft, g->host);
}

static void lg_fini(struct lg *g)
{
	free(g->nr.buf);
	cm_ftable_free(g->spare);
	cm_ftable_free(g->cur);
	cm_ftable_free(g->host);
	free(g->base);
}

/* @n random increments as one batch (drawn against the table as it was
 * before: an add of an id the batch added already is a replace then,
 * the log's increments set or delete whatever the table holds). */
static void lg_batch(struct __cm_meta *_metadata, struct lg *g, u64 *r, u32 n)
{
	static struct cm_flog_op ops[256];
	u32 i;

	ASSERT_LE(n, 256u);
	for (i = 0; i < n; i++)
		rnd_op(r, g->host, g->shapes, &ops[i]);
	ASSERT_EQ(0, cm_flog_host_batch(&g->w, g->log, g->ft, g->host, ops, n));
}

/* The node's table is the host's, entry for entry, and looks up right. */
static void lg_same(struct __cm_meta *_metadata, struct lg *g, u64 *r)
{
	ASSERT_EQ(g->host->nflows, g->cur->nflows);
	ASSERT_EQ(0, memcmp(g->host->flows, g->cur->flows,
			    g->host->nflows * sizeof(struct chainmesh_flow)));
	ASSERT_EQ(0, memcmp(g->host->hops, g->cur->hops, sizeof(g->host->hops)));
	check_rank_lookups(_metadata, r, g->cur, 200);
}

/* Sync until the node has the whole log. */
static void lg_drain(struct __cm_meta *_metadata, struct lg *g)
{
	int i, got;

	for (i = 0; i < 1000; i++) {
		got = cm_flog_sync(g->ft, g->log, &g->l, 1, &g->cur, &g->spare,
				   &g->nr);
		ASSERT_GE(got, 0) TH_LOG("sync: %d", got);
		if (!got && g->cur->log_pos == g->w.head)
			return;
	}
	ASSERT_TRUE(false) TH_LOG("the log never drained");
}

/*
 * Random batches, the node syncing now and then (sometimes after more
 * than the log holds): its table is the host's each time it drained the
 * log, taking the checkpoint only when it fell behind or the host wrote
 * a new generation.
 */
TEST_TIMEOUT(log_apply_equals_host, 120)
{
	u64 r = 0x10c0ffee;
	u32 round, b, behind_rounds = 0, big = 0;
	struct lg g;

	lg_init(_metadata, &g, &r, 300);
	lg_drain(_metadata, &g);
	lg_same(_metadata, &g, &r);
	for (round = 0; round < 400; round++) {
		u32 nb = (xs(&r) % 8) ? 1 + (u32)(xs(&r) % 4) : 40;

		if (nb == 40)
			behind_rounds++;
		for (b = 0; b < nb; b++) {
			u32 n = 1 + (u32)(xs(&r) % 6);

			if (!(xs(&r) % 50)) {
				n = 40;		/* more than half the log */
				big++;
			}
			lg_batch(_metadata, &g, &r, n);
		}
		lg_drain(_metadata, &g);
		lg_same(_metadata, &g, &r);
	}
	TH_LOG("%llu increments in %llu rounds; checkpoints %llu: behind %llu; host %llu checkpoints, %u big batches",
	       (unsigned long long)g.nr.applied, (unsigned long long)g.nr.rounds,
	       (unsigned long long)g.nr.checkpoints,
	       (unsigned long long)g.nr.fallbacks[CM_FLOG_BEHIND],
	       (unsigned long long)g.w.checkpoints, big);
	EXPECT_GT(g.nr.fallbacks[CM_FLOG_BEHIND], 0);
	EXPECT_LE(g.nr.fallbacks[CM_FLOG_BEHIND], behind_rounds);
	EXPECT_EQ(0, g.nr.fallbacks[CM_FLOG_TORN]);
	EXPECT_EQ(0, g.nr.fallbacks[CM_FLOG_REFUSED]);
	/* the log carried most of it */
	EXPECT_GT(g.nr.applied, 4 * g.nr.checkpoints);
	lg_fini(&g);
}

/* A batch shows whole or not at all, however many a round takes. */
TEST(log_batch_atomic)
{
	u64 r = 77;
	struct lg g;
	u32 head;

	lg_init(_metadata, &g, &r, 100);
	lg_drain(_metadata, &g);
	g.nr.max = 1;
	lg_batch(_metadata, &g, &r, 5);
	ASSERT_EQ(5, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare, &g.nr));
	lg_same(_metadata, &g, &r);

	/* a head that cuts a batch short: refused, none of it applied */
	head = g.w.head;
	lg_batch(_metadata, &g, &r, 3);
	g.log->head = cpu_to_le32(head + 2);
	ASSERT_EQ(-CM_FLOG_REFUSED, cm_flog_fetch(g.log, &g.l, head, g.nr.buf, 16));
	ASSERT_EQ(-EPROTO, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare,
					&g.nr));
	EXPECT_EQ(head, g.cur->log_pos);	/* the checkpoint is behind */
	EXPECT_EQ(1, g.nr.fallbacks[CM_FLOG_REFUSED]);
	/* the host's head again: the node catches up */
	g.log->head = cpu_to_le32(g.w.head);
	lg_batch(_metadata, &g, &r, 2);
	lg_drain(_metadata, &g);
	lg_same(_metadata, &g, &r);
	lg_fini(&g);
}

/* Torn and forged increments are refused, counted, never applied. */
TEST(log_refuses_torn_and_forged)
{
	struct chainmesh_flog_ent *e;
	struct cm_flog_op op;
	u64 r = 4242;
	u32 pos, id, n;
	struct lg g;

	lg_init(_metadata, &g, &r, 200);
	lg_drain(_metadata, &g);

	/* torn: an entry's seq says the host is rewriting it */
	pos = g.w.head;
	lg_batch(_metadata, &g, &r, 2);
	e = cm_flog_ent(g.log, g.l.flog_slots, pos);
	e->seq = cpu_to_le32(pos);
	ASSERT_EQ(-CM_FLOG_TORN, cm_flog_fetch(g.log, &g.l, pos, g.nr.buf, 16));
	n = g.cur->nflows;
	ASSERT_EQ(-EPROTO, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare,
					&g.nr));
	EXPECT_EQ(pos, g.cur->log_pos);
	EXPECT_EQ(n, g.cur->nflows);
	EXPECT_EQ(1, g.nr.fallbacks[CM_FLOG_TORN]);
	/* stuck until the host writes: no checkpoint copy per poll */
	n = (u32)g.nr.checkpoints;
	ASSERT_EQ(-EPROTO, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare,
					&g.nr));
	EXPECT_EQ(n, g.nr.checkpoints);
	e->seq = cpu_to_le32(pos + 1);
	lg_batch(_metadata, &g, &r, 1);
	lg_drain(_metadata, &g);
	lg_same(_metadata, &g, &r);

	/* forged: a valid add, then entries out of range, in one batch */
	for (id = 0; id < 4; id++) {
		u32 before = g.cur->nflows;

		pos = g.w.head;
		for (op.op = 0; ; ) {
			rnd_op(&r, g.host, g.shapes, &op);
			if (op.op == CHAINMESH_FLOG_ADD)
				break;
		}
		ASSERT_EQ(0, cm_flog_host_batch(&g.w, g.log, g.ft, g.host, &op, 1));
		lg_batch(_metadata, &g, &r, 1);
		/* make them one batch, its second entry forged */
		e = cm_flog_ent(g.log, g.l.flog_slots, pos);
		e->flags = 0;
		e = cm_flog_ent(g.log, g.l.flog_slots, pos + 1);
		switch (id) {
		case 0: e->op = 9; break;
		case 1: e->flow.flow_id = cpu_to_le32(NMAX); break;
		case 2: e->flags |= 0x80; break;
		case 3: e->op = CHAINMESH_FLOG_ADD;
			e->flow.chain = cpu_to_le16(CHAINMESH_MAX_CHAINS); break;
		}
		ASSERT_EQ(-EPROTO, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur,
						&g.spare, &g.nr));
		/* the valid add before it is not applied either */
		EXPECT_EQ(CM_FIDX_NONE,
			  g.cur->byid[le32_to_cpu(op.flow.flow_id)]);
		EXPECT_EQ(before, g.cur->nflows);
		EXPECT_EQ(pos, g.cur->log_pos);
		/* the host's cure: a new checkpoint past it */
		cm_flog_host_reset(&g.w, g.ft, g.host);
		lg_drain(_metadata, &g);
		lg_same(_metadata, &g, &r);
	}
	EXPECT_EQ(4, g.nr.fallbacks[CM_FLOG_REFUSED]);

	/* a head further ahead than the log holds: behind */
	g.log->head = cpu_to_le32(g.w.head + g.l.flog_slots + 1);
	ASSERT_EQ(-CM_FLOG_BEHIND,
		  cm_flog_fetch(g.log, &g.l, g.w.head, g.nr.buf, 16));
	g.log->head = cpu_to_le32(g.w.head);
	lg_fini(&g);
}

/*
 * The host's re-assertion (host/mesh.c, once a second): nothing written
 * while the region holds what it published; a checkpoint the log moved
 * past brought to the head in the same generation (the node reads on
 * from its log, takes no checkpoint); a scribbled entry, header or head
 * written again, the entry and header as a new generation the node takes.
 */
TEST(log_reassert)
{
	struct chainmesh_ftable_hdr *h;
	u64 r = 0x5eed17;
	struct lg g;
	u32 seq, gen, ck;

	lg_init(_metadata, &g, &r, 40);
	h = cm_ftable_hdr(g.ft);
	lg_drain(_metadata, &g);
	seq = le32_to_cpu(h->seq);
	gen = le32_to_cpu(h->gen);
	EXPECT_FALSE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	EXPECT_EQ(seq, le32_to_cpu(h->seq));

	/* the log moved: the checkpoint follows, same generation */
	lg_batch(_metadata, &g, &r, 5);
	EXPECT_EQ(seq, le32_to_cpu(h->seq));
	ck = (u32)g.nr.checkpoints;
	EXPECT_TRUE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	EXPECT_NE(seq, le32_to_cpu(h->seq));
	EXPECT_EQ(gen, le32_to_cpu(h->gen));
	EXPECT_EQ(g.w.head, le32_to_cpu(h->log_pos));
	EXPECT_FALSE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	lg_drain(_metadata, &g);
	EXPECT_EQ(ck, g.nr.checkpoints);
	lg_same(_metadata, &g, &r);

	/* an entry scribbled on: a new generation, taken */
	seq = le32_to_cpu(h->seq);
	cm_ftable_flows(g.ft)[0].priority ^= cpu_to_le16(7);
	EXPECT_TRUE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	EXPECT_EQ(gen + 1, le32_to_cpu(h->gen));
	EXPECT_TRUE(cm_ftable_same(g.ft, g.host));
	lg_drain(_metadata, &g);
	EXPECT_EQ(ck + 1, g.nr.checkpoints);
	lg_same(_metadata, &g, &r);

	/* a forged generation the node took: ours is another it takes */
	gen = le32_to_cpu(h->gen) + 5;
	h->gen = cpu_to_le32(gen);
	h->seq = cpu_to_le32(le32_to_cpu(h->seq) + 2);
	lg_drain(_metadata, &g);
	EXPECT_EQ(gen, g.cur->gen);
	EXPECT_TRUE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	EXPECT_NE(gen, le32_to_cpu(h->gen));
	EXPECT_EQ(g.w.gen, le32_to_cpu(h->gen));
	lg_drain(_metadata, &g);
	EXPECT_EQ(g.w.gen, g.cur->gen);
	lg_same(_metadata, &g, &r);

	/* a forged head, and a node that applied a forged increment it
	 * showed: the head is ours again, the checkpoint a new generation
	 * the node takes */
	gen = le32_to_cpu(h->gen);
	lg_batch(_metadata, &g, &r, 1);
	g.w.head--;
	cm_ftable_del(g.host, le32_to_cpu(cm_flog_ent(g.log, g.l.flog_slots,
						      g.w.head)->flow.flow_id));
	EXPECT_EQ(1, cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare,
				  &g.nr));
	EXPECT_EQ(g.w.head + 1, g.cur->log_pos);
	EXPECT_TRUE(cm_flog_host_reassert(&g.w, g.log, g.ft, g.host));
	EXPECT_EQ(g.w.head, le32_to_cpu(g.log->head));
	EXPECT_EQ(gen + 1, le32_to_cpu(h->gen));
	lg_drain(_metadata, &g);
	lg_same(_metadata, &g, &r);
	lg_fini(&g);
}

/* The host appending while the node reads: torn copies are caught (the
 * host laps the node's position), and the tables end equal. */
struct lg_race {
	struct lg *g;
	u64 r;
	int stop;
	u64 batches;
};

static void *lg_host_thread(void *arg)
{
	struct lg_race *x = arg;
	static struct cm_flog_op ops[8];
	u32 i, n;

	while (!__atomic_load_n(&x->stop, __ATOMIC_ACQUIRE)) {
		n = 1 + (u32)(xs(&x->r) % 8);
		for (i = 0; i < n; i++)
			rnd_op(&x->r, x->g->host, x->g->shapes, &ops[i]);
		cm_flog_host_batch(&x->g->w, x->g->log, x->g->ft, x->g->host,
				   ops, n);
		x->batches++;
	}
	return NULL;
}

TEST_TIMEOUT(log_concurrent_host, 60)
{
	struct lg_race x = { .r = 31337 };
	struct timespec t0, t1;
	u64 syncs = 0, lookups = 0, hits = 0;
	struct cm_flow_key k;
	pthread_t th;
	u64 r = 5;
	struct lg g;

	lg_init(_metadata, &g, &r, 500);
	lg_drain(_metadata, &g);
	x.g = &g;
	ASSERT_EQ(0, pthread_create(&th, NULL, lg_host_thread, &x));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int got = cm_flog_sync(g.ft, g.log, &g.l, 1, &g.cur, &g.spare,
				       &g.nr);

		ASSERT_TRUE(got >= 0 || got == -EAGAIN || got == -EPROTO);
		syncs++;
		rnd_key(&r, g.cur, &k);
		hits += !!cm_flow_lookup(g.cur, &k);
		lookups++;
		clock_gettime(CLOCK_MONOTONIC, &t1);
	} while (t1.tv_sec - t0.tv_sec < 2);
	__atomic_store_n(&x.stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	lg_drain(_metadata, &g);
	lg_same(_metadata, &g, &r);
	TH_LOG("%llu host batches, %llu syncs, %llu increments applied, checkpoints %llu (behind %llu, torn %llu); %llu of %llu lookups hit",
	       (unsigned long long)x.batches, (unsigned long long)syncs,
	       (unsigned long long)g.nr.applied,
	       (unsigned long long)g.nr.checkpoints,
	       (unsigned long long)g.nr.fallbacks[CM_FLOG_BEHIND],
	       (unsigned long long)g.nr.fallbacks[CM_FLOG_TORN],
	       (unsigned long long)hits, (unsigned long long)lookups);
	EXPECT_EQ(0, g.nr.fallbacks[CM_FLOG_REFUSED]);
	EXPECT_GT(g.nr.applied, 0);
	lg_fini(&g);
}

TEST_HARNESS_MAIN
