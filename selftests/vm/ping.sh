#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Walking skeleton: VM1 pings VM2 through a chainmesh region, end to end.
#
#                 +------------------------------------------+
#                 | VM0  node 0 (host)   chainmesh_host.ko   |
#                 |      lays out the region, flow table,    |
#                 |      `chainmesh` CLI over netlink        |
#                 +--------------------+---------------------+
#                                      | ivshmem-doorbell, peer 0
#   chainmesh-ivshmemd ===== one shared region (memfd, 16 MiB) =====
#                  | peer 1                             | peer 2
#   +--------------+-------------+       +--------------+-------------+
#   | VM1  node 1  chainmesh.ko  |       | VM2  node 2  chainmesh.ko  |
#   |      cm0 10.0.0.1/24       |       |      cm0 10.0.0.2/24       |
#   +----------------------------+       +----------------------------+
#
#   chain 1 = hops 1 2: flow 1  10.0.0.1 -> 10.0.0.2  (ring 1->2)
#   chain 2 = hops 2 1: flow 2  10.0.0.2 -> 10.0.0.1  (ring 2->1)
#
# Asserts the ping count from ping's own summary, the node and flow
# counters seen by the host, the guests' `ip -s link` counters, a clean
# unload, and consoles free of Oops/BUG/WARNING. Prints TAP.

set -e
# shellcheck source=selftests/vm/lib.sh
. "$(dirname "$0")/lib.sh"

tap_plan "$CM_PING_STEPS"
cm_ping_scenario
tap_exit_status
