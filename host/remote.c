// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh host: chains across hosts (Documentation/remote.rst).
 *
 * Out: a frame whose local chain ends at node 0 and is mapped to a remote
 * peer's chain gets a metadata dst (ip_tunnel_info: the peer's address,
 * VNI and one Geneve option with the remote chain and hop) and goes out
 * through the peer's geneve device, which must be in collect_md
 * ("external") mode: the kernel's geneve driver builds the headers,
 * routes, segments and checksums. No encapsulation is written here.
 *
 * In: node 0 is the rx_handler of each geneve device its peers use. A
 * frame from it carries the tunnel's metadata (skb_tunnel_info()): the
 * outer source and VNI name the peer, the option its chain; the mapping
 * names the local chain, which starts at node 0, and the frame goes out
 * on node 0's netdev with that context in skb->mark. A frame without a
 * well-formed option, from no peer, or of a chain not mapped here is
 * counted and dropped: never forwarded, never handed to the stack.
 *
 * The configuration is one immutable struct cm_rcfg, replaced whole
 * under RTNL (rtnl also serialises the rx_handler and the notifier) and
 * read under RCU by the datapath. Netlink requests take cm_mesh_lock
 * (the chains) and then RTNL, as mesh creation does.
 */
#include <linux/etherdevice.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <net/dst_metadata.h>
#include <net/geneve.h>
#include <net/genetlink.h>
#include <net/ip_tunnels.h>
#include <net/netlink.h>

#include "../node/ndev.h"
#include "mesh.h"
#include "netlink.h"
#include "remote.h"

/* The chainmesh Geneve option: header and 4 bytes of data. */
struct cm_gnv_opt {
	struct geneve_opt hdr;
	__be16 chain;
	u8 hop;
	u8 zero;
} __packed;

#define CM_GNV_OPT_WORDS	((sizeof(struct cm_gnv_opt) - sizeof(struct geneve_opt)) / 4)

struct cm_rpeer {
	struct net_device *dev;		/* held (dev_hold); NULL: went away */
	char name[CHAINMESH_NAME_LEN];	/* "": slot free */
	char ifname[IFNAMSIZ];
	u8 family;			/* AF_INET or AF_INET6 */
	union {
		__be32 a4;
		struct in6_addr a6;
	} addr;
	u32 vni;
};

struct cm_rout {
	u8 peer;			/* slot + 1; 0: not mapped */
	u8 rchain;
};

struct cm_rcfg {
	struct rcu_head rcu;
	struct cm_rpeer peer[CM_RMAX_PEERS];
	struct cm_rout out[CHAINMESH_MAX_CHAINS];	/* by local chain */
	u16 in[CM_RMAX_PEERS][CHAINMESH_MAX_CHAINS];	/* local chain + 1 */
};

struct cm_rpstat {
	atomic64_t tx_packets, tx_bytes, tx_errors;
	atomic64_t rx_packets, rx_bytes, rx_unknown;
};

struct cm_remote {
	struct cm_mesh *m;
	struct cm_rcfg __rcu *cfg;	/* RTNL writes */
	struct cm_rpstat ps[CM_RMAX_PEERS];
	atomic64_t out_packets[CHAINMESH_MAX_CHAINS];
	atomic64_t out_bytes[CHAINMESH_MAX_CHAINS];
	atomic64_t in_packets[CM_RMAX_PEERS][CHAINMESH_MAX_CHAINS];
	atomic64_t in_bytes[CM_RMAX_PEERS][CHAINMESH_MAX_CHAINS];
	atomic64_t malformed, unknown_peer, no_ctx;
};

/* ------------------------------------------------------------ out */

static void cm_remote_tx_err(struct cm_remote *r, u32 p, struct sk_buff *skb)
{
	atomic64_inc(&r->ps[p].tx_errors);
	kfree_skb(skb);
}

/*
 * ops->chain_end of node 0: @chain ends here at @hop; if it continues on
 * a peer, send @skb (after eth_type_trans()) there. NAPI context.
 */
bool cm_remote_chain_end(struct cm_ndev *nd, struct sk_buff *skb, u16 chain,
			 u8 hop)
{
	struct cm_mesh *m = nd->priv;
	const struct cm_rpeer *p;
	struct ip_tunnel_info *info;
	struct metadata_dst *md;
	struct cm_gnv_opt opt;
	const struct cm_rcfg *cfg;
	struct cm_remote *r;
	struct cm_rout o;
	u32 len;

	rcu_read_lock();
	r = rcu_dereference(m->remote);
	cfg = r ? rcu_dereference(r->cfg) : NULL;
	if (!cfg || !cfg->out[chain].peer) {
		rcu_read_unlock();
		return false;
	}
	o = cfg->out[chain];
	p = &cfg->peer[o.peer - 1];
	if (!p->dev || !netif_running(p->dev)) {
		cm_remote_tx_err(r, o.peer - 1, skb);
		goto out;
	}
	md = metadata_dst_alloc(sizeof(opt), METADATA_IP_TUNNEL, GFP_ATOMIC);
	if (!md) {
		cm_remote_tx_err(r, o.peer - 1, skb);
		goto out;
	}
	info = &md->u.tun_info;
	info->mode = IP_TUNNEL_INFO_TX;
	/* TUNNEL_CRIT_OPT: the header's C bit, as our option is critical */
	info->key.tun_flags = TUNNEL_KEY | TUNNEL_CRIT_OPT;
	info->key.tun_id = key32_to_tunnel_id(cpu_to_be32(p->vni));
	/* as the stack's default; the inner TTL is the chain's business */
	info->key.ttl = IPDEFTTL;
	if (p->family == AF_INET6) {
		info->mode |= IP_TUNNEL_INFO_IPV6;
		info->key.u.ipv6.dst = p->addr.a6;
	} else {
		info->key.u.ipv4.dst = p->addr.a4;
	}
	memset(&opt, 0, sizeof(opt));
	opt.hdr.opt_class = cpu_to_be16(CHAINMESH_GENEVE_CLASS);
	opt.hdr.type = CHAINMESH_GENEVE_TYPE;
	opt.hdr.length = CM_GNV_OPT_WORDS;
	opt.chain = cpu_to_be16(o.rchain);
	/* nodes visited so far: this one is at @hop */
	opt.hop = hop + 1;
	ip_tunnel_info_opts_set(info, &opt, sizeof(opt), TUNNEL_GENEVE_OPT);

	/* The geneve driver wants the inner frame from its Ethernet header,
	 * with the inner network header set for its offloads. */
	skb_reset_network_header(skb);
	if (!skb_transport_header_was_set(skb))
		skb_probe_transport_header(skb);
	skb_push(skb, ETH_HLEN);
	skb_reset_mac_header(skb);
	skb_dst_drop(skb);
	skb_dst_set(skb, &md->dst);
	skb->dev = p->dev;
	len = skb->len;
	atomic64_inc(&r->out_packets[chain]);
	atomic64_add(len, &r->out_bytes[chain]);
	if (dev_queue_xmit(skb) == NET_XMIT_SUCCESS) {
		atomic64_inc(&r->ps[o.peer - 1].tx_packets);
		atomic64_add(len, &r->ps[o.peer - 1].tx_bytes);
	} else {
		atomic64_inc(&r->ps[o.peer - 1].tx_errors);
	}
out:
	rcu_read_unlock();
	return true;
}

/* ------------------------------------------------------------ in */

/* The peer of @info on @dev, or -1. */
static int cm_remote_peer_of(const struct cm_rcfg *cfg,
			     const struct net_device *dev,
			     const struct ip_tunnel_info *info)
{
	u32 vni = be32_to_cpu(tunnel_id_to_key32(info->key.tun_id));
	bool v6 = ip_tunnel_info_af(info) == AF_INET6;
	int i;

	for (i = 0; i < CM_RMAX_PEERS; i++) {
		const struct cm_rpeer *p = &cfg->peer[i];

		if (!p->name[0] || p->dev != dev || p->vni != vni ||
		    (p->family == AF_INET6) != v6)
			continue;
		if (v6 ? ipv6_addr_equal(&p->addr.a6, &info->key.u.ipv6.src) :
			 p->addr.a4 == info->key.u.ipv4.src)
			return i;
	}
	return -1;
}

/* The chainmesh option of @info, checked whole; NULL if malformed. */
static const struct cm_gnv_opt *cm_remote_opt(const struct ip_tunnel_info *info)
{
	const struct cm_gnv_opt *opt;

	/* Exactly our option: one we do not know is not ours to skip. */
	if (!(info->key.tun_flags & TUNNEL_GENEVE_OPT) ||
	    info->options_len != sizeof(*opt))
		return NULL;
	opt = ip_tunnel_info_opts((struct ip_tunnel_info *)info);
	if (opt->hdr.opt_class != cpu_to_be16(CHAINMESH_GENEVE_CLASS) ||
	    opt->hdr.type != CHAINMESH_GENEVE_TYPE ||
	    opt->hdr.length != CM_GNV_OPT_WORDS ||
	    opt->hdr.r1 || opt->hdr.r2 || opt->hdr.r3 || opt->zero ||
	    !opt->hop || be16_to_cpu(opt->chain) >= CHAINMESH_MAX_CHAINS)
		return NULL;
	return opt;
}

static rx_handler_result_t cm_remote_rx(struct sk_buff **pskb)
{
	struct sk_buff *skb = *pskb;
	const struct ip_tunnel_info *info;
	const struct cm_gnv_opt *opt;
	const struct cm_rcfg *cfg;
	struct net_device *to;
	struct cm_remote *r;
	struct cm_ctx ctx;
	u32 mask, len;
	u16 rchain;
	int p;

	r = rcu_dereference(skb->dev->rx_handler_data);
	cfg = rcu_dereference(r->cfg);
	info = skb_tunnel_info(skb);
	opt = info && !(info->mode & IP_TUNNEL_INFO_TX) ?
	      cm_remote_opt(info) : NULL;
	if (!opt) {
		atomic64_inc(&r->malformed);
		goto drop;
	}
	p = cm_remote_peer_of(cfg, skb->dev, info);
	if (p < 0) {
		atomic64_inc(&r->unknown_peer);
		goto drop;
	}
	rchain = be16_to_cpu(opt->chain);
	if (!cfg->in[p][rchain]) {
		atomic64_inc(&r->ps[p].rx_unknown);
		goto drop;
	}
	mask = READ_ONCE(cm_mark_mask);
	if (!mask) {
		atomic64_inc(&r->no_ctx);
		goto drop;
	}
	skb = skb_share_check(skb, GFP_ATOMIC);
	if (!skb)
		return RX_HANDLER_CONSUMED;
	len = skb->len + ETH_HLEN;
	atomic64_inc(&r->ps[p].rx_packets);
	atomic64_add(len, &r->ps[p].rx_bytes);
	atomic64_inc(&r->in_packets[p][rchain]);
	atomic64_add(len, &r->in_bytes[p][rchain]);

	/* Continue the local chain at node 0, its first hop (checked when
	 * mapped; a chain changed since falls back to classification). */
	to = r->m->nd->netdev;
	skb_dst_drop(skb);
	skb_scrub_packet(skb, true);
	ctx.chain = cfg->in[p][rchain] - 1;
	ctx.hop = 0;
	skb->mark = cm_ctx_to_mark(0, mask, &ctx);
	skb_push(skb, ETH_HLEN);
	skb->dev = to;
	dev_queue_xmit(skb);
	return RX_HANDLER_CONSUMED;

drop:
	kfree_skb(skb);
	return RX_HANDLER_CONSUMED;
}

/* ------------------------------------------------------------ stats */

const char *const cm_remote_stat_names[CM_REMOTE_NSTATS] = {
	"remote_tx_packets", "remote_tx_errors", "remote_rx_packets",
	"remote_rx_malformed", "remote_rx_unknown_peer",
	"remote_rx_unknown_chain", "remote_rx_no_ctx",
};

/* ops->ext_stats of node 0: the sums over the peers, and the drops. */
void cm_remote_ext_stats(struct cm_ndev *nd, u64 *data)
{
	struct cm_mesh *m = nd->priv;
	struct cm_remote *r;
	int i;

	memset(data, 0, CM_REMOTE_NSTATS * sizeof(*data));
	rcu_read_lock();
	r = rcu_dereference(m->remote);
	if (r) {
		for (i = 0; i < CM_RMAX_PEERS; i++) {
			data[0] += atomic64_read(&r->ps[i].tx_packets);
			data[1] += atomic64_read(&r->ps[i].tx_errors);
			data[2] += atomic64_read(&r->ps[i].rx_packets);
			data[5] += atomic64_read(&r->ps[i].rx_unknown);
		}
		data[3] = atomic64_read(&r->malformed);
		data[4] = atomic64_read(&r->unknown_peer);
		data[6] = atomic64_read(&r->no_ctx);
	}
	rcu_read_unlock();
}

/* ------------------------------------------------------------ config */

static void cm_rcfg_free_rcu(struct rcu_head *h)
{
	kvfree(container_of(h, struct cm_rcfg, rcu));
}

/* A copy of the mesh's configuration to change; RTNL held. */
static struct cm_rcfg *cm_rcfg_dup(struct cm_remote *r)
{
	struct cm_rcfg *c = kvzalloc(sizeof(*c), GFP_KERNEL);
	const struct cm_rcfg *old = rtnl_dereference(r->cfg);

	if (c && old)
		memcpy(c, old, sizeof(*c));
	return c;
}

static void cm_rcfg_publish(struct cm_remote *r, struct cm_rcfg *c)
{
	struct cm_rcfg *old = rtnl_dereference(r->cfg);

	rcu_assign_pointer(r->cfg, c);
	if (old)
		call_rcu(&old->rcu, cm_rcfg_free_rcu);
}

static bool cm_rcfg_uses_dev(const struct cm_rcfg *c,
			     const struct net_device *dev)
{
	int i;

	for (i = 0; i < CM_RMAX_PEERS; i++)
		if (c->peer[i].name[0] && c->peer[i].dev == dev)
			return true;
	return false;
}

/* The mesh's remote state, made on first use; RTNL held. */
static struct cm_remote *cm_remote_get(struct cm_mesh *m)
{
	struct cm_remote *r = rtnl_dereference(m->remote);
	struct cm_rcfg *c;

	if (r)
		return r;
	r = kvzalloc(sizeof(*r), GFP_KERNEL);
	c = kvzalloc(sizeof(*c), GFP_KERNEL);
	if (!r || !c) {
		kvfree(r);
		kvfree(c);
		return NULL;
	}
	r->m = m;
	RCU_INIT_POINTER(r->cfg, c);
	rcu_assign_pointer(m->remote, r);
	return r;
}

/* Mesh @m goes away; cm_mesh_lock not held, the mesh unlisted. */
void cm_remote_destroy(struct cm_mesh *m)
{
	struct cm_remote *r;
	struct cm_rcfg *c;
	int i;

	rtnl_lock();
	r = rtnl_dereference(m->remote);
	if (!r) {
		rtnl_unlock();
		return;
	}
	RCU_INIT_POINTER(m->remote, NULL);
	c = rtnl_dereference(r->cfg);
	for (i = 0; i < CM_RMAX_PEERS; i++) {
		struct net_device *dev = c->peer[i].dev;

		if (!c->peer[i].name[0] || !dev)
			continue;
		if (rtnl_dereference(dev->rx_handler_data) == r)
			netdev_rx_handler_unregister(dev);
		dev_put(dev);
	}
	rtnl_unlock();
	synchronize_net();
	kvfree(c);
	kvfree(r);
}

/* A device of our peers goes away: forget it (the peers stay, counting
 * their frames as tx_errors until they are deleted). */
static int cm_remote_netdev_event(struct notifier_block *nb,
				  unsigned long event, void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct cm_remote *r;
	struct cm_rcfg *c;
	int i, n = 0;

	if (event != NETDEV_UNREGISTER ||
	    rtnl_dereference(dev->rx_handler) != cm_remote_rx)
		return NOTIFY_DONE;
	r = rtnl_dereference(dev->rx_handler_data);
	netdev_rx_handler_unregister(dev);
	c = cm_rcfg_dup(r);
	if (!c) {
		/* Keep the references rather than free a device in use. */
		pr_err("no memory to let go of %s\n", dev->name);
		return NOTIFY_DONE;
	}
	for (i = 0; i < CM_RMAX_PEERS; i++) {
		if (c->peer[i].name[0] && c->peer[i].dev == dev) {
			c->peer[i].dev = NULL;
			n++;
		}
	}
	cm_rcfg_publish(r, c);
	synchronize_net();
	while (n--)
		dev_put(dev);
	return NOTIFY_DONE;
}

static struct notifier_block cm_remote_nb = {
	.notifier_call = cm_remote_netdev_event,
};

int cm_remote_init(void)
{
	return register_netdevice_notifier(&cm_remote_nb);
}

void cm_remote_exit(void)
{
	unregister_netdevice_notifier(&cm_remote_nb);
}

/* ------------------------------------------------------------ netlink */

typedef int (*cm_remote_change_t)(struct cm_mesh *m, struct nlattr **tb,
				  struct genl_info *info);

static void cm_remote_notify(struct cm_mesh *m, u8 cmd, struct cm_remote *r,
			     const struct cm_rcfg *c, u32 dir, int p, u32 i);

/* @change on the mesh the request names, under cm_mesh_lock and RTNL
 * (the peers hold devices and their rx_handlers). */
static int cm_remote_locked(struct genl_info *info, struct nlattr **tb,
			    cm_remote_change_t change)
{
	struct cm_mesh *m;
	int err;

	mutex_lock(&cm_mesh_lock);
	m = cm_nl_mesh(info);
	if (IS_ERR(m)) {
		err = PTR_ERR(m);
	} else {
		rtnl_lock();
		err = change(m, tb, info);
		rtnl_unlock();
	}
	mutex_unlock(&cm_mesh_lock);
	return err;
}

/* Parse the request's nest @type, which it needs; @what: a literal. */
#define cm_remote_nl_nest(info, type, max, pol, tb, what) ({		\
	int __err = -EINVAL;						\
									\
	if (GENL_REQ_ATTR_CHECK(info, type))				\
		GENL_SET_ERR_MSG(info, what);				\
	else								\
		__err = nla_parse_nested(tb, max, (info)->attrs[type],	\
					 pol, (info)->extack);		\
	__err;								\
})

/* The slot of peer @name, or -1. */
static int cm_rcfg_find(const struct cm_rcfg *c, const char *name)
{
	int i;

	for (i = 0; i < CM_RMAX_PEERS; i++)
		if (c->peer[i].name[0] && !strcmp(c->peer[i].name, name))
			return i;
	return -1;
}

static void cm_rpstat_clear(struct cm_remote *r, int p)
{
	int c;

	atomic64_set(&r->ps[p].tx_packets, 0);
	atomic64_set(&r->ps[p].tx_bytes, 0);
	atomic64_set(&r->ps[p].tx_errors, 0);
	atomic64_set(&r->ps[p].rx_packets, 0);
	atomic64_set(&r->ps[p].rx_bytes, 0);
	atomic64_set(&r->ps[p].rx_unknown, 0);
	for (c = 0; c < CHAINMESH_MAX_CHAINS; c++) {
		atomic64_set(&r->in_packets[p][c], 0);
		atomic64_set(&r->in_bytes[p][c], 0);
	}
}

static int cm_remote_add(struct cm_mesh *m, struct nlattr **tb,
			 struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct net_device *dev;
	struct cm_remote *r;
	struct cm_rpeer *p;
	struct cm_rcfg *c;
	int i, slot = -1, err;

	/* netlink.c's policy says 15 (ynl-check reads numbers) */
	BUILD_BUG_ON(IFNAMSIZ != 16);
	r = cm_remote_get(m);
	if (!r)
		return -ENOMEM;
	c = cm_rcfg_dup(r);
	if (!c)
		return -ENOMEM;
	if (cm_rcfg_find(c, nla_data(tb[CHAINMESH_REMOTE_A_NAME])) >= 0) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_REMOTE_A_NAME],
				    "remote peer exists");
		err = -EEXIST;
		goto free_cfg;
	}
	for (i = 0; i < CM_RMAX_PEERS && slot < 0; i++)
		if (!c->peer[i].name[0])
			slot = i;
	if (slot < 0) {
		GENL_SET_ERR_MSG(info, "no room for another remote peer (16 per mesh)");
		err = -ENOSPC;
		goto free_cfg;
	}
	dev = __dev_get_by_name(dev_net(m->nd->netdev),
				nla_data(tb[CHAINMESH_REMOTE_A_IFNAME]));
	if (!dev) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_REMOTE_A_IFNAME],
				    "no such device");
		err = -ENODEV;
		goto free_cfg;
	}
	if (!netif_is_geneve(dev)) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_REMOTE_A_IFNAME],
				    "not a geneve device (ip link add NAME type geneve external)");
		err = -EINVAL;
		goto free_cfg;
	}
	p = &c->peer[slot];
	memset(p, 0, sizeof(*p));
	if (nla_len(tb[CHAINMESH_REMOTE_A_ADDR]) == 4) {
		p->family = AF_INET;
		p->addr.a4 = nla_get_in_addr(tb[CHAINMESH_REMOTE_A_ADDR]);
	} else {
		p->family = AF_INET6;
		p->addr.a6 = nla_get_in6_addr(tb[CHAINMESH_REMOTE_A_ADDR]);
	}
	for (i = 0; i < CM_RMAX_PEERS; i++) {
		const struct cm_rpeer *q = &c->peer[i];

		if (i == slot || !q->name[0] || q->dev != dev ||
		    q->family != p->family || memcmp(&q->addr, &p->addr, sizeof(p->addr)))
			continue;
		if (!tb[CHAINMESH_REMOTE_A_VNI] ||
		    q->vni == nla_get_u32(tb[CHAINMESH_REMOTE_A_VNI])) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_REMOTE_A_ADDR],
					    "another peer has this device, address and VNI");
			err = -EEXIST;
			goto free_cfg;
		}
	}
	if (!cm_rcfg_uses_dev(c, dev)) {
		err = netdev_rx_handler_register(dev, cm_remote_rx, r);
		if (err) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_REMOTE_A_IFNAME],
					    "device has a receive handler already (a bridge, a bond, another mesh)");
			goto free_cfg;
		}
	}
	dev_hold(dev);
	p->dev = dev;
	nla_strscpy(p->name, tb[CHAINMESH_REMOTE_A_NAME], sizeof(p->name));
	strscpy(p->ifname, dev->name, sizeof(p->ifname));
	if (tb[CHAINMESH_REMOTE_A_VNI])
		p->vni = nla_get_u32(tb[CHAINMESH_REMOTE_A_VNI]);
	memset(c->in[slot], 0, sizeof(c->in[slot]));
	cm_rpstat_clear(r, slot);
	cm_rcfg_publish(r, c);
	cm_remote_notify(m, CHAINMESH_CMD_REMOTE_ADD_NTF, r, c, 0, slot, 0);
	return 0;

free_cfg:
	kvfree(c);
	return err;
}

/* REMOTE_NEW and _DEL: parse the peer nest into @tb; both need the name,
 * @add also the device and a non-empty name with an address. */
static int cm_remote_parse_peer(struct genl_info *info, struct nlattr **tb,
				bool add)
{
	struct nlattr *nest = info->attrs[CHAINMESH_A_REMOTE];
	int err;

	err = cm_remote_nl_nest(info, CHAINMESH_A_REMOTE, CHAINMESH_REMOTE_A_MAX,
				cm_remote_policy, tb,
				"remote peer attributes are required");
	if (err)
		return err;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, CHAINMESH_REMOTE_A_NAME)) {
		GENL_SET_ERR_MSG(info, "remote peer name is required");
		return -EINVAL;
	}
	if (!add)
		return 0;
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, CHAINMESH_REMOTE_A_IFNAME)) {
		GENL_SET_ERR_MSG(info, "remote peer device is required");
		return -EINVAL;
	}
	if (NL_REQ_ATTR_CHECK(info->extack, nest, tb, CHAINMESH_REMOTE_A_ADDR)) {
		GENL_SET_ERR_MSG(info, "remote peer address is required");
		return -EINVAL;
	}
	/* The policy (NLA_NUL_STRING) lets "" through as one NUL byte; an
	 * empty name would mark the slot free (cm_rcfg_find()). */
	if (!*(const char *)nla_data(tb[CHAINMESH_REMOTE_A_NAME])) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_REMOTE_A_NAME],
				    "remote peer name is empty");
		return -EINVAL;
	}
	return 0;
}

static int cm_remote_del(struct cm_mesh *m, struct nlattr **tb,
			 struct genl_info *info)
{
	struct cm_remote *r = rtnl_dereference(m->remote);
	struct net_device *dev;
	struct cm_rcfg *c;
	int p, i;

	c = r ? cm_rcfg_dup(r) : NULL;
	if (r && !c)
		return -ENOMEM;
	p = c ? cm_rcfg_find(c, nla_data(tb[CHAINMESH_REMOTE_A_NAME])) : -1;
	if (p < 0) {
		NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_REMOTE_A_NAME],
				    "no such remote peer");
		kvfree(c);
		return -ENOENT;
	}
	for (i = 0; i < CHAINMESH_MAX_CHAINS; i++) {
		if (c->out[i].peer == p + 1 || c->in[p][i]) {
			NL_SET_ERR_MSG_ATTR(info->extack, tb[CHAINMESH_REMOTE_A_NAME],
					    "a remote chain mapping names this peer");
			kvfree(c);
			return -EBUSY;
		}
	}
	cm_remote_notify(m, CHAINMESH_CMD_REMOTE_DEL_NTF, r, c, 0, p, 0);
	dev = c->peer[p].dev;
	memset(&c->peer[p], 0, sizeof(c->peer[p]));
	if (dev && !cm_rcfg_uses_dev(c, dev))
		netdev_rx_handler_unregister(dev);
	cm_rcfg_publish(r, c);
	if (dev) {
		synchronize_net();
		dev_put(dev);
	}
	return 0;
}

/* REMOTE_NEW (@add) or REMOTE_DEL. */
static int cm_remote_peer_doit(struct genl_info *info, bool add)
{
	struct nlattr *tb[CHAINMESH_REMOTE_A_MAX + 1];
	int err;

	err = cm_remote_parse_peer(info, tb, add);
	if (err)
		return err;
	return cm_remote_locked(info, tb, add ? cm_remote_add : cm_remote_del);
}

int cm_remote_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	return cm_remote_peer_doit(info, true);
}

int cm_remote_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	return cm_remote_peer_doit(info, false);
}

/* RCHAIN_NEW and _DEL: the mapping named by @tb, checked. */
static int cm_rchain_parse(struct cm_mesh *m, const struct cm_rcfg *c,
			   struct nlattr **tb, struct genl_info *info,
			   u32 *dir, u32 *chain, int *peer, u32 *rchain,
			   bool add)
{
	struct nlattr *nest = info->attrs[CHAINMESH_A_RCHAIN];
	struct netlink_ext_ack *extack = info->extack;

	if (NL_REQ_ATTR_CHECK(extack, nest, tb, CHAINMESH_RCHAIN_A_DIR)) {
		GENL_SET_ERR_MSG(info, "direction (out or in) is required");
		return -EINVAL;
	}
	*dir = nla_get_u32(tb[CHAINMESH_RCHAIN_A_DIR]);
	if ((add || *dir == CHAINMESH_RCHAIN_OUT) &&
	    NL_REQ_ATTR_CHECK(extack, nest, tb, CHAINMESH_RCHAIN_A_CHAIN)) {
		GENL_SET_ERR_MSG(info, "local chain is required");
		return -EINVAL;
	}
	if ((add || *dir == CHAINMESH_RCHAIN_IN) &&
	    (NL_REQ_ATTR_CHECK(extack, nest, tb, CHAINMESH_RCHAIN_A_PEER) ||
	     NL_REQ_ATTR_CHECK(extack, nest, tb, CHAINMESH_RCHAIN_A_RCHAIN))) {
		GENL_SET_ERR_MSG(info, "remote peer and remote chain are required");
		return -EINVAL;
	}
	*chain = tb[CHAINMESH_RCHAIN_A_CHAIN] ?
		 nla_get_u32(tb[CHAINMESH_RCHAIN_A_CHAIN]) : 0;
	*rchain = tb[CHAINMESH_RCHAIN_A_RCHAIN] ?
		  nla_get_u32(tb[CHAINMESH_RCHAIN_A_RCHAIN]) : 0;
	*peer = -1;
	if (tb[CHAINMESH_RCHAIN_A_PEER]) {
		*peer = c ? cm_rcfg_find(c, nla_data(tb[CHAINMESH_RCHAIN_A_PEER])) : -1;
		if (*peer < 0) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_PEER],
					    "no such remote peer");
			return -ENOENT;
		}
	}
	if (!add)
		return 0;
	if (!m->chains[*chain].used) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_CHAIN],
				    "no such chain");
		return -ENOENT;
	}
	if (*dir == CHAINMESH_RCHAIN_OUT &&
	    m->chains[*chain].hops[m->chains[*chain].nhops - 1] != m->self) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_CHAIN],
				    "the chain must end at node 0 to leave the host");
		return -EINVAL;
	}
	if (*dir == CHAINMESH_RCHAIN_IN && m->chains[*chain].hops[0] != m->self) {
		NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_CHAIN],
				    "the chain must start at node 0 to come from another host");
		return -EINVAL;
	}
	return 0;
}

static int cm_rchain_change(struct cm_mesh *m, struct nlattr **tb,
			    struct genl_info *info, bool add)
{
	struct netlink_ext_ack *extack = info->extack;
	struct cm_remote *r = rtnl_dereference(m->remote);
	u32 dir, chain, rchain;
	struct cm_rcfg *c;
	int peer, err;

	c = r ? cm_rcfg_dup(r) : NULL;
	if (r && !c)
		return -ENOMEM;
	err = cm_rchain_parse(m, c, tb, info, &dir, &chain, &peer, &rchain, add);
	if (err)
		goto free_cfg;
	err = 0;
	if (dir == CHAINMESH_RCHAIN_OUT) {
		if (add && c->out[chain].peer) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_CHAIN],
					    "the chain leaves the host already");
			err = -EEXIST;
		} else if (!add && (!c || !c->out[chain].peer)) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_CHAIN],
					    "the chain does not leave the host");
			err = -ENOENT;
		} else if (add) {
			c->out[chain].peer = peer + 1;
			c->out[chain].rchain = rchain;
			atomic64_set(&r->out_packets[chain], 0);
			atomic64_set(&r->out_bytes[chain], 0);
		} else {
			cm_remote_notify(m, CHAINMESH_CMD_RCHAIN_DEL_NTF, r, c,
					 dir, 0, chain);
			c->out[chain].peer = 0;
		}
	} else {
		if (add && c->in[peer][rchain]) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_RCHAIN],
					    "this remote chain is mapped already");
			err = -EEXIST;
		} else if (!add && !c->in[peer][rchain]) {
			NL_SET_ERR_MSG_ATTR(extack, tb[CHAINMESH_RCHAIN_A_RCHAIN],
					    "this remote chain is not mapped");
			err = -ENOENT;
		} else if (add) {
			c->in[peer][rchain] = chain + 1;
			atomic64_set(&r->in_packets[peer][rchain], 0);
			atomic64_set(&r->in_bytes[peer][rchain], 0);
		} else {
			cm_remote_notify(m, CHAINMESH_CMD_RCHAIN_DEL_NTF, r, c,
					 dir, peer, rchain);
			c->in[peer][rchain] = 0;
		}
	}
	if (err)
		goto free_cfg;
	cm_rcfg_publish(r, c);
	if (add)
		cm_remote_notify(m, CHAINMESH_CMD_RCHAIN_ADD_NTF, r, c, dir, peer,
				 dir == CHAINMESH_RCHAIN_OUT ? chain : rchain);
	return 0;

free_cfg:
	kvfree(c);
	return err;
}

static int cm_rchain_add(struct cm_mesh *m, struct nlattr **tb,
			 struct genl_info *info)
{
	return cm_rchain_change(m, tb, info, true);
}

static int cm_rchain_del(struct cm_mesh *m, struct nlattr **tb,
			 struct genl_info *info)
{
	return cm_rchain_change(m, tb, info, false);
}

static int cm_rchain_doit(struct genl_info *info, bool add)
{
	struct nlattr *tb[CHAINMESH_RCHAIN_A_MAX + 1];
	int err;

	err = cm_remote_nl_nest(info, CHAINMESH_A_RCHAIN, CHAINMESH_RCHAIN_A_MAX,
				cm_rchain_policy, tb,
				"remote chain attributes are required");
	if (err)
		return err;
	return cm_remote_locked(info, tb, add ? cm_rchain_add : cm_rchain_del);
}

int cm_rchain_new_doit(struct sk_buff *skb, struct genl_info *info)
{
	return cm_rchain_doit(info, true);
}

int cm_rchain_del_doit(struct sk_buff *skb, struct genl_info *info)
{
	return cm_rchain_doit(info, false);
}

/* Dumps: cb->args[0] the mesh, [1] the item within it. Under
 * cm_mesh_lock and RCU; a change between batches may be seen half. */

static void *cm_remote_put_hdr(struct sk_buff *skb, struct netlink_callback *cb,
			       u8 cmd, struct cm_mesh *m)
{
	void *hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				cb->nlh->nlmsg_seq, genl_dumpit_info(cb)->family,
				NLM_F_MULTI, cmd);

	if (hdr && nla_put_string(skb, CHAINMESH_A_MESH_NAME, m->name)) {
		genlmsg_cancel(skb, hdr);
		return NULL;
	}
	return hdr;
}

static int cm_remote_fill_peer(struct sk_buff *skb, struct cm_remote *r,
			       const struct cm_rpeer *p, int i)
{
	struct nlattr *nest = nla_nest_start(skb, CHAINMESH_A_REMOTE);
	const struct cm_rpstat *s = &r->ps[i];

	if (!nest ||
	    nla_put_string(skb, CHAINMESH_REMOTE_A_NAME, p->name) ||
	    nla_put_string(skb, CHAINMESH_REMOTE_A_IFNAME, p->ifname) ||
	    (p->family == AF_INET ?
	     nla_put_in_addr(skb, CHAINMESH_REMOTE_A_ADDR, p->addr.a4) :
	     nla_put_in6_addr(skb, CHAINMESH_REMOTE_A_ADDR, &p->addr.a6)) ||
	    nla_put_u32(skb, CHAINMESH_REMOTE_A_VNI, p->vni) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_TX_PACKETS,
			      atomic64_read(&s->tx_packets), CHAINMESH_REMOTE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_TX_BYTES,
			      atomic64_read(&s->tx_bytes), CHAINMESH_REMOTE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_TX_ERRORS,
			      atomic64_read(&s->tx_errors),
			      CHAINMESH_REMOTE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_RX_PACKETS,
			      atomic64_read(&s->rx_packets), CHAINMESH_REMOTE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_RX_BYTES,
			      atomic64_read(&s->rx_bytes), CHAINMESH_REMOTE_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_REMOTE_A_RX_UNKNOWN,
			      atomic64_read(&s->rx_unknown), CHAINMESH_REMOTE_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int cm_remote_fill_rstats(struct sk_buff *skb, struct cm_remote *r)
{
	struct nlattr *nest = nla_nest_start(skb, CHAINMESH_A_RSTATS);

	if (!nest ||
	    nla_put_u64_64bit(skb, CHAINMESH_RSTATS_A_MALFORMED,
			      atomic64_read(&r->malformed), CHAINMESH_RSTATS_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_RSTATS_A_UNKNOWN_PEER,
			      atomic64_read(&r->unknown_peer), CHAINMESH_RSTATS_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_RSTATS_A_NO_CTX,
			      atomic64_read(&r->no_ctx), CHAINMESH_RSTATS_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* Items of a mesh's remote dump: the peers' slots, then the mesh's drops. */
static int cm_remote_dump_mesh(struct sk_buff *skb, struct netlink_callback *cb,
			       struct cm_mesh *m, struct cm_remote *r,
			       const struct cm_rcfg *c)
{
	long i;
	void *hdr;

	for (i = cb->args[1]; i <= CM_RMAX_PEERS; i++) {
		if (i < CM_RMAX_PEERS && !c->peer[i].name[0])
			continue;
		hdr = cm_remote_put_hdr(skb, cb, CHAINMESH_CMD_REMOTE_GET, m);
		if (!hdr)
			goto full;
		if (i < CM_RMAX_PEERS ? cm_remote_fill_peer(skb, r, &c->peer[i], i) :
					cm_remote_fill_rstats(skb, r)) {
			genlmsg_cancel(skb, hdr);
			goto full;
		}
		genlmsg_end(skb, hdr);
	}
	return 0;
full:
	cb->args[1] = i;
	return -EMSGSIZE;
}

static int cm_rchain_fill(struct sk_buff *skb, u32 dir, u32 chain,
			  const char *peer, u32 rchain, u64 packets, u64 bytes)
{
	struct nlattr *nest = nla_nest_start(skb, CHAINMESH_A_RCHAIN);

	if (!nest ||
	    nla_put_u32(skb, CHAINMESH_RCHAIN_A_DIR, dir) ||
	    nla_put_u32(skb, CHAINMESH_RCHAIN_A_CHAIN, chain) ||
	    nla_put_string(skb, CHAINMESH_RCHAIN_A_PEER, peer) ||
	    nla_put_u32(skb, CHAINMESH_RCHAIN_A_RCHAIN, rchain) ||
	    nla_put_u64_64bit(skb, CHAINMESH_RCHAIN_A_PACKETS, packets,
			      CHAINMESH_RCHAIN_A_PAD) ||
	    nla_put_u64_64bit(skb, CHAINMESH_RCHAIN_A_BYTES, bytes,
			      CHAINMESH_RCHAIN_A_PAD))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* The mapping out of local chain @i, or in from peer @p's remote chain @i. */
static int cm_rchain_fill_map(struct sk_buff *skb, struct cm_remote *r,
			      const struct cm_rcfg *c, u32 dir, int p, u32 i)
{
	if (dir == CHAINMESH_RCHAIN_OUT)
		return cm_rchain_fill(skb, dir, i, c->peer[c->out[i].peer - 1].name,
				      c->out[i].rchain,
				      atomic64_read(&r->out_packets[i]),
				      atomic64_read(&r->out_bytes[i]));
	return cm_rchain_fill(skb, dir, c->in[p][i] - 1, c->peer[p].name, i,
			      atomic64_read(&r->in_packets[p][i]),
			      atomic64_read(&r->in_bytes[p][i]));
}

/* The monitor's @cmd: REMOTE_ADD/DEL_NTF of peer @p of @c, or
 * RCHAIN_ADD/DEL_NTF of the mapping cm_rchain_fill_map() names by @dir, @p
 * and @i (a deleted one as it was); cm_mesh_lock held. */
static void cm_remote_notify(struct cm_mesh *m, u8 cmd, struct cm_remote *r,
			     const struct cm_rcfg *c, u32 dir, int p, u32 i)
{
	struct sk_buff *msg;
	void *hdr;

	msg = cm_nl_ntf_begin(m, cmd, &hdr);
	if (!msg)
		return;
	if (cmd == CHAINMESH_CMD_REMOTE_ADD_NTF ||
	    cmd == CHAINMESH_CMD_REMOTE_DEL_NTF)
		cm_nl_ntf_commit(msg, hdr,
				 cm_remote_fill_peer(msg, r, &c->peer[p], p));
	else
		cm_nl_ntf_commit(msg, hdr,
				 cm_rchain_fill_map(msg, r, c, dir, p, i));
}

/* Items: the out mappings by local chain, then the in mappings by peer
 * and remote chain. */
static int cm_rchain_dump_mesh(struct sk_buff *skb, struct netlink_callback *cb,
			       struct cm_mesh *m, struct cm_remote *r,
			       const struct cm_rcfg *c)
{
	const long nout = CHAINMESH_MAX_CHAINS;
	const long n = nout + CM_RMAX_PEERS * CHAINMESH_MAX_CHAINS;
	long i;
	void *hdr;
	int err;

	for (i = cb->args[1]; i < n; i++) {
		long p = (i - nout) / CHAINMESH_MAX_CHAINS;
		long rc = (i - nout) % CHAINMESH_MAX_CHAINS;

		if (i < nout ? !c->out[i].peer : !c->in[p][rc])
			continue;
		hdr = cm_remote_put_hdr(skb, cb, CHAINMESH_CMD_RCHAIN_GET, m);
		if (!hdr)
			goto full;
		if (i < nout)
			err = cm_rchain_fill_map(skb, r, c, CHAINMESH_RCHAIN_OUT,
						 0, i);
		else
			err = cm_rchain_fill_map(skb, r, c, CHAINMESH_RCHAIN_IN,
						 p, rc);
		if (err) {
			genlmsg_cancel(skb, hdr);
			goto full;
		}
		genlmsg_end(skb, hdr);
	}
	return 0;
full:
	cb->args[1] = i;
	return -EMSGSIZE;
}

static int cm_remote_dump(struct sk_buff *skb, struct netlink_callback *cb,
			  int (*one)(struct sk_buff *, struct netlink_callback *,
				     struct cm_mesh *, struct cm_remote *,
				     const struct cm_rcfg *))
{
	const struct genl_dumpit_info *gi = genl_dumpit_info(cb);
	struct nlattr *na = gi->attrs[CHAINMESH_A_MESH_NAME];
	struct cm_remote *r;
	struct cm_mesh *m;
	long idx = 0;
	int err = 0;

	mutex_lock(&cm_mesh_lock);
	rcu_read_lock();
	cm_for_each_mesh(m) {
		if (idx++ < cb->args[0])
			continue;
		if (na && strcmp(m->name, nla_data(na)))
			goto next;
		r = rcu_dereference(m->remote);
		if (r) {
			err = one(skb, cb, m, r, rcu_dereference(r->cfg));
			if (err)
				break;
		}
next:
		cb->args[0] = idx;
		cb->args[1] = 0;
	}
	rcu_read_unlock();
	mutex_unlock(&cm_mesh_lock);
	/* A full batch ends this one; an item too large for an empty one
	 * ends the dump with the error. */
	if (err && skb->len)
		return skb->len;
	return err ?: skb->len;
}

int cm_remote_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_remote_dump(skb, cb, cm_remote_dump_mesh);
}

int cm_rchain_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	return cm_remote_dump(skb, cb, cm_rchain_dump_mesh);
}
