# ksense build.  `make run` and `make test` are the two commands a fresh
# Debian machine needs (as root); everything generated lands in $(BUILD).
BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

# What building and running need (`make deps`, `make run`): the compilers,
# the libraries the programs link, openssl for tools/gen-webhook-certs.
DEPS_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmbedtls-dev \
	libjsmn-dev libyaml-dev pkg-config make gcc openssl
# What only the tests, benchmarks and plots need (`make test-deps`, run by
# `make test`, `bench`, `plot`): libnl for the taskstats oracle, the
# sanitizer runtime, curl and python3 (with yaml) for the daemon and
# manifest tests, Go for the Go burner, perf and wrk for the benchmarks,
# gnuplot for plots, mmdebstrap and umoci for the image tests; vmtest.mk adds
# qemu.
TEST_PKGS := libnl-3-dev libnl-genl-3-dev libnl-route-3-dev libclang-rt-14-dev curl \
	python3 python3-yaml golang-go linux-perf wrk gnuplot-nox iproute2 \
	mmdebstrap umoci bpftrace

NL_CFLAGS  := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS    := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)

WARN       := -Wall -Wextra -Werror
CFLAGS     ?= -O2 -g
# One -I list for every C file built here: $(BUILD) (vmlinux.h, skeletons),
# the contract, kern/'s math shared with the host tests, the shared library
# by bare name ("log.h"), user/ so a program's header is named by its folder
# from outside it ("scaler/scaler.h"), and the tests' helpers.  A file
# includes its own folder's headers by bare name.
INCLUDES   := -I$(BUILD) -Ipins -Ikern -Iuser/lib -Iuser -Iselftests
KS_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) $(INCLUDES)
# Every object writes its own dependency file: a header change rebuilds
# exactly what includes it.
DEPFLAGS   := -MMD -MP
LDLIBS     := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 $(WARN) -Wno-unused-parameter -target bpf -D__TARGET_ARCH_$(ARCH) $(INCLUDES)
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
TLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
KUBE_LIBS  := $(TLS_LIBS) -lyaml -lpthread

# every kern/*.bpf.c is a sensor (or the tick) of the object `ksense load`
# loads, but the test entry points and the benchmark floor
BPF_SRCS   := $(filter-out kern/selftest.bpf.c kern/floor.bpf.c,$(wildcard kern/*.bpf.c))
BPF_TEST_SRCS := $(BPF_SRCS) kern/selftest.bpf.c
# What two or more programs use; each program's own code lives in its
# folder and is built into its archive ($(BUILD)/libksense-<program>.a),
# which the program, the tests and the fuzz harnesses link alike.
LIB_SRCS   := $(wildcard user/lib/*.c)
CLI_SRCS   := $(wildcard user/cli/*.c)
WEBHOOK_SRCS := $(wildcard user/webhook/*.c)
SCHEDULER_SRCS := $(wildcard user/scheduler/*.c)
SCALER_SRCS := $(wildcard user/scaler/*.c)
TEST_SRCS  := $(filter-out selftests/taskstats_demo.c,$(wildcard selftests/*.c))
TOOL_SRCS  := $(wildcard tools/*.c)
# The archives in link order: a program's own before the shared library.
PROGRAM_ARCHIVES := libksense-cli.a libksense-webhook.a libksense-scheduler.a libksense-scaler.a
# The Go burner of the cgroup tests.  Offline and self-contained: the
# stdlib only, caches inside $(BUILD), the installed toolchain only.  Whether
# go exists is asked when the rule runs, not when this file is read: `make
# test` installs it (deps) in the same run.  Without go the test skips,
# saying so.
GO         ?= go
GO_ENV     := GOTOOLCHAIN=local GOFLAGS= GOPROXY=off CGO_ENABLED=0 \
	GOCACHE=$(abspath $(BUILD))/go/cache GOPATH=$(abspath $(BUILD))/go/path
GO_PROGS   := $(BUILD)/go-burner

# The version every binary reports: tools/gen-version (git describe, a
# git-archive stamp, or KSENSE_VERSION) into $(BUILD)/version.c, rewritten
# only when it changes, so a new commit relinks and rebuilds nothing else.
$(BUILD)/version.c: FORCE | $(BUILD)
	@tools/gen-version --c $@

.PHONY: all deps test-deps run test bench clean help vmtest plot FORCE
PROGRAMS := $(BUILD)/ksense $(BUILD)/ksense-webhook $(BUILD)/ksense-scheduler $(BUILD)/ksense-scaler
ALL      := $(PROGRAMS) $(BUILD)/test_progs $(BUILD)/ksense-workloads $(GO_PROGS)
all: $(ALL) ## the programs, the tests and the test workloads (listed below)

# Generated from the "## " notes on the targets of every makefile read.
help: ## this list
	@awk -F ':.*## ' -v build=$(BUILD) '/^[a-z][a-z-]*:.*## / { \
		gsub(/\$$\(BUILD\)/, build, $$2); printf "make %-10s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo
	@echo "make all builds: $(ALL)"
	@echo "the sanitizer pass (make test) also builds: $(SAN_PROGS)"
	@echo "make bench also builds: $(BENCH_PROGS)"

# Installs only what is missing, so a provisioned machine needs no network.
deps: ## install the missing Debian packages building and running need (apt-get; root)
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS_PKGS)"

test-deps: ## the same plus what only tests, benchmarks and plots need
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS_PKGS) $(TEST_PKGS)"

.PHONY: install-pkgs
install-pkgs:
	@missing=""; for p in $(PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(BUILD) $(BUILD)/bpf:
	@mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	@test -r $(VMLINUX_BTF) || { echo "error: no kernel BTF at $(VMLINUX_BTF) (CONFIG_DEBUG_INFO_BTF)"; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: kern/%.bpf.c $(BUILD)/vmlinux.h | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/ksense.bpf.o: $(patsubst kern/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
	$(BPFTOOL) gen object $@ $^

$(BUILD)/ksense_test.bpf.o: $(patsubst kern/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_TEST_SRCS))
	$(BPFTOOL) gen object $@ $^

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

SKELS := $(BUILD)/ksense.skel.h $(BUILD)/ksense_test.skel.h

# $(call objs,TREE,SOURCES): the objects of SOURCES in the build tree TREE
objs = $(patsubst %.c,$(1)/obj/%.o,$(2))

# One build tree: every object, archive and program, compiled by $(2) and
# linked with $(3).  The plain build ($(BUILD)), the ASan/UBSan build the
# sanitizer pass runs ($(BUILD)/asan) and the libFuzzer build
# ($(BUILD)/fuzz) are this one template with other flags.
define BUILD_TREE
$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	$(2) $$(KS_CFLAGS) $$(DEPFLAGS) -c $$< -o $$@
$(1)/obj/selftests/%.o: KS_CFLAGS += $$(NL_CFLAGS)
# the skeletons are generated before what includes them is compiled
$(call objs,$(1),$(CLI_SRCS) user/ksense.c $(TEST_SRCS) $(TOOL_SRCS)): | $$(SKELS)
$(1)/obj/tools/bench_floor.o: | $(BUILD)/floor.skel.h
$(1)/obj/build-version.o: $(BUILD)/version.c
	@mkdir -p $$(@D)
	$(2) $$(KS_CFLAGS) -c $$< -o $$@

$(1)/libksense.a: $(call objs,$(1),$(LIB_SRCS)) $(1)/obj/build-version.o
$(1)/libksense-cli.a: $(call objs,$(1),$(CLI_SRCS))
$(1)/libksense-webhook.a: $(call objs,$(1),$(WEBHOOK_SRCS))
$(1)/libksense-scheduler.a: $(call objs,$(1),$(SCHEDULER_SRCS))
$(1)/libksense-scaler.a: $(call objs,$(1),$(SCALER_SRCS))
$(addprefix $(1)/,libksense.a $(PROGRAM_ARCHIVES)):
	@rm -f $$@
	$$(AR) rcs $$@ $$^

$(1)/ksense: $(1)/obj/user/ksense.o $(1)/libksense-cli.a $(1)/libksense.a
	$(2) $(3) $$^ $$(LDLIBS) -o $$@
$(1)/ksense-webhook: $(1)/obj/user/ksense-webhook.o $(1)/libksense-webhook.a $(1)/libksense.a
	$(2) $(3) $$^ $$(LDLIBS) $$(KUBE_LIBS) -o $$@
$(1)/ksense-scheduler: $(1)/obj/user/ksense-scheduler.o $(1)/libksense-scheduler.a $(1)/libksense.a
	$(2) $(3) $$^ $$(LDLIBS) $$(KUBE_LIBS) -o $$@
# Needs no BPF and no skeleton: it only talks to the API and the agents.
$(1)/ksense-scaler: $(1)/obj/user/ksense-scaler.o $(1)/libksense-scaler.a $(1)/libksense.a
	$(2) $(3) $$^ $$(LDLIBS) $$(KUBE_LIBS) -lm -o $$@
$(1)/test_progs: $(call objs,$(1),$(TEST_SRCS)) $(addprefix $(1)/,libksense-cli.a libksense-scheduler.a \
		libksense-webhook.a libksense-scaler.a libksense.a)
	$(2) $(3) $$^ $$(LDLIBS) $$(NL_LIBS) $$(KUBE_LIBS) -lm -o $$@

DEP_FILES += $$(wildcard $(1)/obj/*/*.d $(1)/obj/*/*/*.d)
endef

$(eval $(call BUILD_TREE,$(BUILD),$(CC) $(CFLAGS)))
# The tests and the daemons they start, with ASan/UBSan (clang, for its runtime).
$(eval $(call BUILD_TREE,$(BUILD)/asan,$(CLANG) -O1 -g $(SAN_FLAGS),$(SAN_FLAGS)))

include tools/vmtest.mk
include fuzz/fuzz.mk

-include $(DEP_FILES) $(wildcard $(BUILD)/bpf/*.d)

$(BUILD)/go-burner: selftests/go/burner.go | $(BUILD)
	@if command -v $(GO) >/dev/null 2>&1; then \
		echo "go build $@"; \
		cd selftests/go && $(GO_ENV) $(GO) build -trimpath -o $(abspath $@) burner.go; \
	else \
		echo "go not installed (make test-deps installs golang-go): $@ not built"; \
	fi

# The tests' labeled workloads in kubelet-style pod cgroups, for people
# and for the end-to-end tests.
$(BUILD)/ksense-workloads: $(call objs,$(BUILD),tools/ksense-workloads.c selftests/workloads.c) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -lpthread -o $@

# The hostile clients of tools/bench_webhook (make bench), one row each.
$(BUILD)/webhook-attacks: $(call objs,$(BUILD),tools/webhook_attacks.c selftests/tlsc.c selftests/loopback.c)
	$(CC) $(CFLAGS) $^ $(TLS_LIBS) -lpthread -o $@

$(BUILD)/bench_tick: $(BUILD)/obj/tools/bench_tick.o $(BUILD)/libksense-cli.a $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# OCI image archives built here from Debian bookworm packages (no registry,
# no base image): tools/build-image finds each binary's shared libraries and
# the packages that provide them, lays those out with mmdebstrap (downloads
# cached in $(BUILD)/images/debs) and makes the image with umoci, tagged
# with the version.  An unreachable mirror fails the build.
IMAGE_PKGS  := mmdebstrap umoci
IMAGE_DIR   := $(BUILD)/images
IMAGE_TAG    = $(shell tools/gen-version 2>/dev/null | cut -d' ' -f1)
IMAGE_FILES := $(IMAGE_DIR)/ksense-node.oci.tar $(IMAGE_DIR)/ksense-scheduler.oci.tar \
	$(IMAGE_DIR)/ksense-scaler.oci.tar
NODE_IMAGE_BINS := $(BUILD)/ksense $(BUILD)/ksense-webhook

.PHONY: images image-deps
image-deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(IMAGE_PKGS)"

# version.c changes exactly when the version (the tag) does
$(IMAGE_DIR)/ksense-node.oci.tar: $(NODE_IMAGE_BINS) tools/build-image $(BUILD)/version.c | image-deps
	tools/build-image --name node --tag $(IMAGE_TAG) --out $@ --cache $(IMAGE_DIR)/debs \
		--packages-out $(IMAGE_DIR)/ksense-node.packages $(NODE_IMAGE_BINS)
$(IMAGE_DIR)/ksense-%.oci.tar: $(BUILD)/ksense-% tools/build-image $(BUILD)/version.c | image-deps
	tools/build-image --name $* --tag $(IMAGE_TAG) --out $@ --cache $(IMAGE_DIR)/debs \
		--packages-out $(IMAGE_DIR)/ksense-$*.packages $<

images: $(IMAGE_FILES) ## OCI image archives (node, scheduler, scaler) in $(BUILD)/images, from Debian packages
	@for f in $(IMAGE_FILES); do \
		printf '%-48s %s  %6s  (%s bytes)\n' "$$f" "ksense/$$(basename $$f .oci.tar | sed 's/^ksense-//'):$(IMAGE_TAG)" \
			"$$(du -h $$f | cut -f1)" "$$(stat -c %s $$f)"; \
	done

# Thousands of node agents in one process, for tools/bench_scheduler.
$(BUILD)/agent-sim: $(BUILD)/obj/tools/agent-sim.o $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $^ -o $@

# The benchmark floor: empty programs on ksense's tracepoints, an object of
# its own (never in what `ksense load` loads).
$(BUILD)/floor.bpf.o: $(BUILD)/bpf/floor.bpf.o
	$(BPFTOOL) gen object $@ $^

$(BUILD)/bench_floor: $(BUILD)/obj/tools/bench_floor.o
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# The collector writes $KSENSE_METRICS_CSV (default /tmp/ksense/kernel_metrics.csv)
# beside the live view; both stop when the view is closed.
run: deps $(PROGRAMS) ## deps, build the programs, ksense load, ksense top and collect (root)
	$(BUILD)/ksense load
	@$(BUILD)/ksense collect & collector=$$!; \
	$(BUILD)/ksense top; status=$$?; \
	kill $$collector 2>/dev/null; wait $$collector 2>/dev/null; \
	echo "ksense: still loaded (build/ksense unload removes it); CSV in $${KSENSE_METRICS_CSV:-/tmp/ksense/kernel_metrics.csv}"; \
	exit $$status

# promtool, from Debian's prometheus package: fetched into $(BUILD), never
# installed; the tests check every /metrics exposition and the alert rules
# with it.
PROMTOOL := $(BUILD)/prometheus/usr/bin/promtool
$(PROMTOOL): tools/fetch-deb
	tools/fetch-deb prometheus $(BUILD)/prometheus

# Host and BPF tests; the sanitizer build runs the tests whose subject is
# userspace code (they say so: KS_SAN in their KS_TEST_F), the plain build
# runs them all.
SAN_PROGS := $(addprefix $(BUILD)/asan/,test_progs ksense-scheduler ksense-scaler ksense-webhook)
test: test-deps all images $(SAN_PROGS) $(PROMTOOL) ## test-deps, build, every test, the sanitizer pass, vmtest (root)
	KSENSE_BIN=$(BUILD)/ksense KSENSE_SCHEDULER_BIN=$(BUILD)/asan/ksense-scheduler \
		KSENSE_SCALER_BIN=$(BUILD)/asan/ksense-scaler KSENSE_WEBHOOK_BIN=$(BUILD)/asan/ksense-webhook \
		$(BUILD)/asan/test_progs -m san
	KSENSE_BIN=$(BUILD)/ksense $(BUILD)/test_progs
	$(MAKE) --no-print-directory vmtest

# A fresh 30 s capture of ksense-webhook's CSVs, plotted to build/plot/fuzzy.png.
plot: test-deps all ## a 30 s capture of the webhook's CSVs plotted to $(BUILD)/plot/fuzzy.png
	tools/plot --capture 30 --out $(BUILD)/plot/fuzzy.png

BENCH_PROGS := $(addprefix $(BUILD)/,bench_tick webhook-attacks agent-sim bench_floor)
bench: test-deps all $(BENCH_PROGS) ## benchmarks: BPF cost, webhook req/s, scheduler pods/s, scaler reaction
	tools/bench
	tools/bench_webhook
	tools/bench_scheduler
	tools/bench_scaler
	tools/bench_reaction

clean: ## remove $(BUILD)/, everything generated
	rm -rf $(BUILD)
