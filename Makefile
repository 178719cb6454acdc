# SPDX-License-Identifier: GPL-2.0
#
# kvmnull.  `make run` and `make test` set up everything they need first.
# By hand, against your own test VM's kernel (Documentation/kbuild/modules.rst):
#   make modules KDIR=/lib/modules/$(uname -r)/build KVM_SRC=/path/to/linux

VENV     := .venv
KVMNULL  := $(VENV)/bin/kvmnull
KDIR     ?= /lib/modules/$(shell uname -r)/build
KVM_SRC  ?=
GEN      := $(CURDIR)/module/gen
PYTEST   := $(VENV)/bin/pytest -ra --durations=15
# unit tests: no kernel cache, no build, no guest, no wheel (seconds)
UNIT     := not guest and not build and not cache and not install
# the shell scripts: the set-up, and the guest's init and scenario (busybox sh)
SCRIPTS  := $(wildcard scripts/*.sh) tools/kvmnull/initramfs/kvmnull-init.sh tools/kvmnull/guest/kvmnull-scenario.sh

.PHONY: help setup run test lint unit integration bench modules clean

help:
	@echo "make run          the full hook matrix on the default kernel (Debian 6.12 cloud)"
	@echo "make test         lint, unit tests, then the tests on cached kernels, the wheel and real guests"
	@echo "make setup        system packages (as root), .venv, apt lists"
	@echo "make lint         ruff, mypy and shellcheck"
	@echo "make unit         unit tests only (seconds; no kernel cache needed)"
	@echo "make bench        measure build, run and matrix times into docs/performance.md"
	@echo "make modules      build kvm-null.ko by hand: KDIR=<kernel build dir> KVM_SRC=<kernel source>"
	@echo "make clean        remove by-hand build output"

setup:
	./scripts/setup.sh

run: setup
	$(KVMNULL) matrix

# cheapest first: a unit failure costs seconds, before any fetch, build or guest
test: setup lint
	$(PYTEST) -m "$(UNIT)"
	$(KVMNULL) fetch
	$(KVMNULL) fetch --kernel 6.1
	$(KVMNULL) fetch --kernel 7.2
	$(KVMNULL) fetch --kernel 7.3
	$(PYTEST) -m "(cache or install) and not guest and not build"
	$(PYTEST) -m "guest or build"

lint: setup
	$(VENV)/bin/ruff check tools
	$(VENV)/bin/mypy
	shellcheck $(SCRIPTS)

unit: setup
	$(PYTEST) -m "$(UNIT)"

bench: setup
	$(VENV)/bin/python bench/bench.py

# By hand: kvm-null.ko for the kernel in KDIR, with stubs generated from KVM_SRC.
modules:
	@test -n "$(KVM_SRC)" || { echo "KVM_SRC=<kernel source tree matching KDIR> is required"; exit 2; }
	$(KVMNULL) stubs --source $(KVM_SRC) --config $(KDIR)/.config --out $(GEN)
	$(MAKE) -C $(KDIR) M=$(CURDIR) KVM_SRC=$(KVM_SRC) KVMNULL_GEN=$(GEN) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf $(GEN)
