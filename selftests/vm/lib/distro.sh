# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Helpers of the tests with the Debian 12 guest of tools/lab/cmlab-distro
# (distro.sh, libvirt.sh): its image, networkd's configuration of cm0 and
# a ping from it. Source after lib.sh. The guest is vm2, node 2,
# 10.0.0.2/24 from the .network file below; vm1 is 10.0.0.1.

CMLAB_DISTRO=$CM_ROOT/tools/lab/cmlab-distro
CM_DISTRO_NETWORK=$CM_ROOT/selftests/vm/distro/50-cm0.network

# The image, built when its inputs changed (cached in build/distro).
distro_image()
{
	local t0=$SECONDS

	CM_OUT=$("$CMLAB_DISTRO" build \
		--file "$CM_DISTRO_NETWORK:/etc/systemd/network/50-cm0.network" 2>&1) ||
		return 1
	tap_diag "image: $(tail -n 1 <<<"$CM_OUT") ($((SECONDS - t0)) s)"
}

# networkd configured cm0 (the flows are in: it has carrier).
distro_configured()
{
	vm_wait_for vm2 "networkctl list --no-legend --no-pager cm0 2>/dev/null | grep -q configured" 60 ||
		{ vm_exec vm2 "networkctl list --no-pager; ip -br link"; return 1; }
	vm_exec vm2 "networkctl list --no-pager; ip -4 addr show dev cm0 | grep 'inet 10.0.0.2/24'"
}

distro_ping()
{
	vm_exec vm2 "ping -c $CM_PING_COUNT -i 0.2 -W 2 10.0.0.1" $((CM_PING_COUNT + 30))
	grep -q "$CM_PING_COUNT packets transmitted, $CM_PING_COUNT received" <<<"$CM_OUT"
}
