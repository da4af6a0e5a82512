/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The libvirt <shmem> element that connects a domain to a chainmesh mesh:
 * an ivshmem-doorbell device served by the mesh's chainmesh-ivshmemd.
 * For `chainmesh mesh libvirt-xml NAME node N` (the CLI checks that the
 * mesh exists and that N is one of its guest nodes, as `mesh qemu-args`
 * does, and passes the same socket).
 *
 *	<shmem name='cm-NAME'>
 *	  <model type='ivshmem-doorbell'/>
 *	  <server path='/run/chainmesh/NAME.sock'/>
 *	  <msi vectors='1' ioeventfd='on'/>
 *	</shmem>
 *
 * No <size>: the region's size is the file the daemon hands QEMU. The
 * node a domain becomes is its ivshmem peer id, which the daemon gives
 * out (the lowest free one), as with `mesh qemu-args`.
 */
#ifndef _CM_LIBVIRT_XML_H
#define _CM_LIBVIRT_XML_H

#include <stdio.h>

struct cm_libvirt_shmem {
	const char *mesh;	/* mesh name; the element's name is cm-MESH */
	const char *socket;	/* the daemon's socket, absolute; NULL:
				 * /run/chainmesh/MESH.sock */
	unsigned int vectors;	/* MSI-X vectors: one per queue (1) */
	unsigned int indent;	/* spaces before each line (0: none) */
};

/*
 * Write the element to @f, attribute values escaped for XML. Returns 0,
 * -EINVAL for an empty mesh name, a relative socket path or no vectors,
 * -EIO when writing failed.
 */
int cm_libvirt_shmem_xml(FILE *f, const struct cm_libvirt_shmem *s);

#endif /* _CM_LIBVIRT_XML_H */
