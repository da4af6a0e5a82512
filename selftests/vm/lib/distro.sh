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

# The operations guide's walk-through (Documentation/operations.rst, its
# blocks as tools/lab/cmlablib/walk.py takes them out): `image` blocks ran
# when the image was built (their IDs in build/distro/distro.json), `host`
# and `guest` blocks run here in vm2.
CM_GUIDE=$CM_ROOT/Documentation/operations.rst
CM_WALK=$CM_ROOT/tools/lab/cmlablib/walk.py

# distro_walk PLACE: the guide's PLACE blocks in vm2, in order, each as
# one `bash -e -o pipefail -x` script in /root; stops at the first that
# fails. The IDs of those that ran go to $CMLAB_DIR/walk.ran.
distro_walk()
{
	local place=$1 dir=$CMLAB_DIR/walk n p line id b64 count=0

	if [ ! -e "$dir/index" ]; then
		CM_OUT=$(python3 "$CM_WALK" split "$CM_GUIDE" "$dir" 2>&1) || return 1
	fi
	while read -r n p line id; do
		[ "$p" = "$place" ] || continue
		b64=$(base64 -w0 "$dir/$n.$p")
		if ! vm_exec vm2 "mkdir -p /root/walk && cd /root &&
				  echo $b64 | base64 -d > walk/$n.sh &&
				  bash -e -o pipefail -x walk/$n.sh" 300; then
			CM_OUT="operations.rst:$line, $place block $n failed:
$CM_OUT"
			return 1
		fi
		# the trace, but not a thousand lines of a loop's
		tap_diag "operations.rst:$line ($place):
$(head -n 40 <<<"$CM_OUT")$([ "$(wc -l <<<"$CM_OUT")" -le 40 ] ||
				echo "
... $(($(wc -l <<<"$CM_OUT") - 40)) more lines")"
		echo "$id" >>"$CMLAB_DIR/walk.ran"
		count=$((count + 1))
	done <"$dir/index"
	CM_OUT="$count $place blocks ran"
	tap_diag "$CM_OUT"
	[ "$count" -gt 0 ]
}

# Every block of the guide but `text` ones ran: in the image build or here.
distro_walk_complete()
{
	local want got missing

	[ -e "$CMLAB_DIR/walk/index" ] || CM_OUT=$(python3 "$CM_WALK" split "$CM_GUIDE" "$CMLAB_DIR/walk" 2>&1) ||
		return 1
	want=$(awk '$2 != "text" { print $4 }' "$CMLAB_DIR/walk/index" | sort)
	got=$({ cat "$CMLAB_DIR/walk.ran" 2>/dev/null
		python3 -c 'import json, sys; print("\n".join(json.load(open(sys.argv[1])).get("walk", [])))' \
			"$CM_ROOT/build/distro/distro.json"; } | sort -u)
	missing=$(comm -23 <(echo "$want") <(echo "$got"))
	CM_OUT="$(wc -l <<<"$want") blocks to run, $(comm -12 <(echo "$want") <(echo "$got") | wc -l) ran; not run: ${missing:-none}"
	tap_diag "$CM_OUT"
	[ -z "$missing" ]
}
