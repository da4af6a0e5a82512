#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Packages the benchmarks in bench/ use (Debian 12): DPDK for the ring
# comparison, valgrind for instruction counts, gnuplot for the plot,
# iperf3 for the TCP throughput of bench/chain.sh (copied into the guests);
# dpdk-dev's dpdk-testpmd and DPDK's memif driver for the memif comparison
# and for net_chainmesh's test (selftests/vm/dpdk.sh).
set -eu

pkgs="libdpdk-dev dpdk-dev librte-net-memif23 valgrind gnuplot-nox pkg-config iperf3"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps-bench: all installed"
	exit 0
fi
sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends $missing
