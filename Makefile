# SPDX-License-Identifier: GPL-2.0
#
# chainmesh: out-of-tree modules for Debian's 6.1 amd64 kernel, plus tools.
#
#   make                 modules, libchainmesh (lib/) and tools
#   make check           install test dependencies, build, run every test
#   make demo            install lab dependencies, build, boot the lab demo
#                        (both quiet: a line per step, the output in
#                        build/steps.log, V=1 for all of it)
#   make bench           ring and per-hop benchmarks into bench/results/
#   make W=1 C=1         the modules with extra warnings and sparse
#   make install         modules_install and install-tools
#   make install-tools   the CLI, the daemon (sbin), systemd units, man pages,
#                        bash completion into $(DESTDIR)$(PREFIX); needs no
#                        kernel headers
#   make install-guest   what a guest needs: modules_install and the .link file
#   make install-lib     libchainmesh (lib, header, .pc) alone
#   make dpdk            drivers/dpdk's net_chainmesh PMD (part of `make` when
#                        libdpdk-dev and the DPDK driver headers are there:
#                        scripts/dpdk-sdk.sh; else `make` says so and skips it)

# Debian's newest installed 6.1 amd64 headers, not the running kernel.
KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | grep -E '^6\.1\.[0-9]+-[0-9]+-amd64$$' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local
# systemd's own directory of .link files (the one udev reads on Debian).
SYSTEMD_NETWORK_DIR ?= /usr/lib/systemd/network

all: modules lib tools dpdk

modules:
	@test -d "$(KDIR)" || { echo "no kernel headers in '$(KDIR)': run 'make deps' or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

dpdk: lib
	$(MAKE) -C drivers/dpdk

deps:
	./scripts/deps.sh
	./scripts/deps-bench.sh
	./scripts/dpdk-sdk.sh

# make check and make demo print a line per step (its time; the output in
# build/steps.log, its tail when a step fails; V=1: all of it).
STEP := ./scripts/step.sh

check:
	@$(STEP) "packages (scripts/deps.sh)" ./scripts/deps.sh
	@$(STEP) "benchmark packages (scripts/deps-bench.sh)" ./scripts/deps-bench.sh
	@$(STEP) "DPDK driver headers (scripts/dpdk-sdk.sh)" ./scripts/dpdk-sdk.sh
	@$(STEP) "build: modules and tools" $(MAKE) all
	./selftests/run

demo:
	@$(STEP) "packages (scripts/deps.sh)" ./scripts/deps.sh
	@$(STEP) "build: modules and tools" $(MAKE) all
	./tools/lab/demo.sh

# The tables go into Documentation/performance.rst, the plots next to it.
bench: deps
	BENCH_DOC=$(CURDIR)/Documentation/performance.rst \
		RING_PNG_URI=bench/ring.png ./bench/run.sh

install: install-guest install-lib install-tools

install-tools:
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

# The guest module keeps its name cm0 under udev (see the .link file).
install-guest: modules_install
	install -D -m 0644 guest/systemd/70-chainmesh.link \
		$(DESTDIR)$(SYSTEMD_NETWORK_DIR)/70-chainmesh.link

# libchainmesh alone: lib, header, pkg-config file.
install-lib: lib
	$(MAKE) -C lib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C lib clean
	$(MAKE) -C tools clean
	$(MAKE) -C drivers/dpdk clean
	$(MAKE) -C selftests/unit clean

.PHONY: all modules lib tools dpdk deps check demo bench install install-tools install-guest install-lib modules_install clean
