# SPDX-License-Identifier: GPL-2.0
"""cmlab, the chainmesh VM lab, as a package; tools/lab/cmlab runs it.

  common     where things are (repository, build dir, daemon, QEMU),
             LabError, logging, signals that end a start
  cpio       the newc archive writer
  walk       the command blocks of Documentation/operations.rst, by place
  kernel     Debian's vmlinux (unpacked from the bzImage) and its modules
  procs      processes by pid and start time, timeout(1), pidfiles, logs
  state      $CMLAB_DIR and lab.json
  shell      `exec`: the lab shell on ttyS1, both ends of its protocol
  initramfs  `build`: the guests' busybox initramfs and build.json
  qemu       the VMs and the ivshmem daemon: start, stop, status, kill,
             pause, resume, restart
  peers      cm-peer against the lab: peer, peer-wait, peer-stop
  hostvm     the real host in a VM: build-host, start-host
  cli        argparse and dispatch (main)

A module imports only modules above it in this list; Python 3.11's
standard library and nothing else.
"""
