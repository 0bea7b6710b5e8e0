# SPDX-License-Identifier: GPL-2.0
#
# mkvm: out-of-tree module build, install, DKMS, and the QEMU test suite.
# `make help` lists the targets.

KDIR ?= /lib/modules/$(shell uname -r)/build
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
KERNELRELEASE_OF_KDIR = $(shell $(MAKE) -s -C $(KDIR) kernelrelease 2>/dev/null)

# Lanes and test selection for `make check` / `make demo`. KERNEL names
# one lane (tests/kernels/<name>.lane); unset, `make check` runs the
# stock and debug lanes.
KERNEL ?=
TESTS ?=
EXTRA_TESTS ?=

.PHONY: all modules kdir-check clean install uninstall dkms-install dkms-remove \
	check check-matrix matrix-lanes demo bench fuzz checkpatch prove help

all: modules

modules: kdir-check
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

kdir-check:
	@test -f $(KDIR)/Makefile || { \
	  echo "mkvm: no kernel build tree at $(KDIR)."; \
	  echo "      On Debian: apt-get install linux-headers-$$(uname -r)"; \
	  echo "      or pass KDIR=/path/to/kernel/build"; exit 1; }

clean:
	@if [ -f $(KDIR)/Makefile ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	@if [ -d tests ]; then $(MAKE) -C tests clean; fi

install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=extra modules_install
	depmod -a $(KERNELRELEASE_OF_KDIR)

uninstall:
	rm -f /lib/modules/$(KERNELRELEASE_OF_KDIR)/extra/mkvm.ko*
	depmod -a $(KERNELRELEASE_OF_KDIR)

# DKMS builds for the running kernel unless DKMS_KERNEL names another.
DKMS_KERNEL ?= $(shell uname -r)
DKMS_SRC = /usr/src/mkvm-$(VERSION)
DKMS_FILES = Kbuild Makefile dkms.conf LICENSE README.md src include

dkms-install:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r $(DKMS_FILES) $(DKMS_SRC)/
	dkms add mkvm/$(VERSION)
	dkms build mkvm/$(VERSION) -k $(DKMS_KERNEL)
	dkms install mkvm/$(VERSION) -k $(DKMS_KERNEL)

dkms-remove:
	-dkms remove mkvm/$(VERSION) --all
	rm -rf $(DKMS_SRC)

# Every lane: x86_64 kernels from bookworm to sid, the debug kernel,
# arm64, and DKMS.
MATRIX = stock debug trixie sid arm64 dkms

check:
	tests/vm/check.sh --tests "$(TESTS)" --extra "$(EXTRA_TESTS)" $(KERNEL)

check-matrix:
	$(MAKE) --no-print-directory check KERNEL="$(MATRIX)"

matrix-lanes:
	@echo $(MATRIX)

demo:
	tests/vm/run.sh --kernel $(or $(KERNEL),stock) --demo

# Benchmarks print rates and ratios against a baseline measured in the
# same guest; they assert nothing about speed. The bench lane's kernel has
# test_hmm, the peer; results go to bench.json and bench.svg beside the
# run's logs (docs/bench.md). BENCHES= picks some (e.g. bench_peer:fault_in).
BENCHES ?= bench_peer bench_gpc bench_scale bench_slots bench_dirty
bench:
	tests/vm/run.sh --kernel $(or $(KERNEL),bench) --tests "$(BENCHES)" --name bench

# The coverage-guided fuzzer on the debug kernel, and what it left
# uncovered (SEED= replays a run's programs; DURATION=30m for long runs).
fuzz:
	SEED="$(SEED)" DURATION="$(DURATION)" PROG="$(PROG)" tests/fuzz/run.sh

checkpatch:
	tests/checkpatch.sh

# LKMM litmus tests of the barrier pairs (herd7, in the sid chroot).
prove:
	proofs/prove.sh

help:
	@echo "make [KDIR=...]         build mkvm.ko (default: running kernel's headers)"
	@echo "make install/uninstall  install into /lib/modules/<kernel>/extra"
	@echo "make dkms-install       register, build and install through DKMS"
	@echo "                        (DKMS_KERNEL=<release> for another kernel)"
	@echo "make dkms-remove        remove every DKMS build of this version"
	@echo "make check              run the suite in QEMU (KERNEL=stock|debug,"
	@echo "                        TESTS='api kmod' subset, EXTRA_TESTS=DIR)"
	@echo "make check-matrix       every lane: $(MATRIX)"
	@echo "make demo               boot QEMU and run the demo program"
	@echo "make bench              benchmarks in QEMU on the bench lane: rates and"
	@echo "                        ratios, bench.json, bench.svg (BENCHES=prog[:test])"
	@echo "make fuzz               the fuzzer on the debug kernel, with coverage"
	@echo "                        (SEED=N to replay, DURATION=30m; default 120s)"
	@echo "make checkpatch         checkpatch --strict on src/ and include/"
	@echo "make prove              litmus tests of every barrier (herd7), spin models of the seed races"
