// SPDX-License-Identifier: GPL-2.0
/*
 * Node 0: the one node implementation of node/, compiled into this module
 * as one unit (guest/node.c does the same for chainmesh.ko). See
 * Documentation/architecture.rst, "One node datapath".
 */
#include "../node/params.c"
#include "../node/ftsnap.c"
#include "../node/debugfs.c"
#include "../node/xdp.c"
#include "../node/rx.c"
#include "../node/offload.c"
#include "../node/netdev.c"
