# SPDX-License-Identifier: GPL-2.0
# bash completion for chainmesh(8): objects, commands, keywords, and the
# names of meshes (from 'chainmesh mesh show').

_chainmesh_meshes()
{
	chainmesh mesh show 2>/dev/null | awk '$1 == "mesh" { print $2 }'
}

_chainmesh()
{
	local cur prev words cword i obj= cmd= n=0
	_init_completion || return

	for ((i = 1; i < cword; i++)); do
		case "${words[i]}" in
		-n|-netns|-b|-batch) ((i++)); continue ;;
		-*) continue ;;
		esac
		if [ -z "$obj" ]; then
			obj=${words[i]}
		elif [ -z "$cmd" ]; then
			cmd=${words[i]}
		fi
		n=$((n + 1))
	done

	case "$prev" in
	-b|-batch) _filedir; return ;;
	-n|-netns)
		COMPREPLY=($(compgen -W "$(ls /run/netns 2>/dev/null)" -- "$cur"))
		return ;;
	mesh)
		if [ -n "$cmd" ] || [ "$obj" != mesh ]; then
			COMPREPLY=($(compgen -W "$(_chainmesh_meshes)" -- "$cur"))
			return
		fi ;;
	esac

	if [ -z "$obj" ]; then
		if [[ "$cur" == -* ]]; then
			COMPREPLY=($(compgen -W "-V -Version -j -json -p -pretty -n -netns -b -batch -f -force -h -help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "mesh node chain flow remote rchain monitor save help" -- "$cur"))
		fi
		return
	fi
	if [ -z "$cmd" ]; then
		case "$obj" in
		mesh) COMPREPLY=($(compgen -W "show add del qemu-args libvirt-xml help" -- "$cur")) ;;
		node) COMPREPLY=($(compgen -W "show help" -- "$cur")) ;;
		chain) COMPREPLY=($(compgen -W "show add del rebalance help" -- "$cur")) ;;
		flow) COMPREPLY=($(compgen -W "show add set change del help" -- "$cur")) ;;
		remote) COMPREPLY=($(compgen -W "show add del help" -- "$cur")) ;;
		rchain) COMPREPLY=($(compgen -W "show add del help" -- "$cur")) ;;
		save) COMPREPLY=($(compgen -W "mesh" -- "$cur")) ;;
		esac
		return
	fi
	case "$obj $cmd" in
	"mesh show"|"mesh del"|"mesh qemu-args"|"mesh libvirt-xml")
		[ $n = 2 ] && COMPREPLY=($(compgen -W "$(_chainmesh_meshes)" -- "$cur"))
		case "$cmd" in qemu-args|libvirt-xml) ;; *) false ;; esac && [ $n -gt 2 ] &&
			COMPREPLY=($(compgen -W "node socket" -- "$cur")) ;;
	"mesh add")
		[ $n -gt 2 ] &&
			COMPREPLY=($(compgen -W "nodes ring-slots buf-size bufs-per-node max-flows queues" -- "$cur")) ;;
	"chain add")
		case "$prev" in
		policy) COMPREPLY=($(compgen -W "drop bypass failover" -- "$cur")) ;;
		*) [ $n -gt 2 ] && COMPREPLY=($(compgen -W "hops policy mesh" -- "$cur")) ;;
		esac ;;
	"remote add")
		[ $n -gt 2 ] && COMPREPLY=($(compgen -W "dev addr vni mesh" -- "$cur")) ;;
	"rchain add"|"rchain del")
		if [ $n = 2 ]; then
			COMPREPLY=($(compgen -W "out in" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "chain peer rchain mesh" -- "$cur"))
		fi ;;
	"flow add"|"flow set"|"flow change")
		case "$prev" in
		family) COMPREPLY=($(compgen -W "inet inet6" -- "$cur")) ;;
		proto) COMPREPLY=($(compgen -W "tcp udp sctp icmp icmpv6" -- "$cur")) ;;
		chain|prio|src|dst|sport|dport|vlan) ;;
		*) [ $n -gt 2 ] &&
			COMPREPLY=($(compgen -W "chain prio family proto src dst sport dport vlan mesh" -- "$cur")) ;;
		esac ;;
	*) COMPREPLY=($(compgen -W "mesh" -- "$cur")) ;;
	esac
}
complete -F _chainmesh chainmesh
