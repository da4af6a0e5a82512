// SPDX-License-Identifier: GPL-2.0
/*
 * chainmesh mesh libvirt-xml NAME node N [socket PATH]: the <shmem>
 * element of a libvirt domain that is guest node N of mesh NAME, written
 * by tools/libvirt_xml.c. The same device `mesh qemu-args` prints as QEMU
 * options: the same checks, socket and vectors (mesh.c).
 */
#include <string.h>

#include "chainmesh.h"
#include "libvirt_xml.h"

void mesh_libvirt_xml(struct cm_cmd *c)
{
	struct cm_libvirt_shmem s = { 0 };
	struct cm_guest g;
	int err;

	cm_guest_parse(c, &g, "mesh libvirt-xml");
	cm_guest_lookup(c, &g, "mesh libvirt-xml");
	s.mesh = g.name;
	s.socket = g.socket;
	s.vectors = g.vectors;
	err = cm_libvirt_shmem_xml(stdout, &s);
	if (err)
		fail("mesh libvirt-xml: %s", strerror(-err));
}
