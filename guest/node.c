// SPDX-License-Identifier: GPL-2.0
/*
 * A guest node: the one node implementation of node/, compiled into this
 * module as one unit (host/node.c does the same for node 0). See
 * Documentation/architecture.rst, "One node datapath".
 */
#include "../node/params.c"
#include "../node/ftsnap.c"
#include "../node/debugfs.c"
#include "../node/xdp.c"
#include "../node/rx.c"
#include "../node/offload.c"
#include "../node/netdev.c"
