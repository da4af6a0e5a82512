# SPDX-License-Identifier: GPL-2.0
#
# chainmesh: out-of-tree modules for Debian's 6.1 amd64 kernel, plus tools.
#
#   make                 modules, libchainmesh (lib/) and tools
#   make check           install test dependencies, build, run every test
#   make demo            install lab dependencies, build, boot the lab demo
#   make bench           ring and per-hop benchmarks into bench/results/
#   make W=1 C=1         the modules with extra warnings and sparse
#   make install         modules_install, libchainmesh (lib, header, .pc) and
#                        the tools into $(DESTDIR)$(PREFIX)

# Debian's newest installed 6.1 amd64 headers, not the running kernel.
KVER ?= $(shell ls -1 /lib/modules 2>/dev/null | grep -E '^6\.1\.[0-9]+-[0-9]+-amd64$$' | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
PREFIX ?= /usr/local

all: modules lib tools

modules:
	@test -d "$(KDIR)" || { echo "no kernel headers in '$(KDIR)': run 'make deps' or set KDIR" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

lib:
	$(MAKE) -C lib

tools: lib
	$(MAKE) -C tools

deps:
	./scripts/deps.sh
	./scripts/deps-bench.sh

check: deps
	$(MAKE) all
	./selftests/run

demo: deps
	$(MAKE) all
	./tools/lab/demo.sh

# The tables go into Documentation/performance.rst, the plots next to it.
bench: deps
	BENCH_DOC=$(CURDIR)/Documentation/performance.rst \
		RING_PNG_URI=bench/ring.png ./bench/run.sh

install: modules_install
	$(MAKE) -C lib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)
	$(MAKE) -C tools install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

# libchainmesh alone: lib, header, pkg-config file.
install-lib: lib
	$(MAKE) -C lib install DESTDIR=$(DESTDIR) PREFIX=$(PREFIX)

modules_install:
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) modules_install

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	$(MAKE) -C lib clean
	$(MAKE) -C tools clean
	$(MAKE) -C selftests/unit clean

.PHONY: all modules lib tools deps check demo bench install install-lib modules_install clean
