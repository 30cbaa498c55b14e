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
KS_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Ipins -Iuser/lib -Ikern
LDLIBS     := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 $(WARN) -Wno-unused-parameter -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ikern
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# every kern/*.bpf.c is a sensor (or the tick) of the object `ksense load`
# loads, but the test entry points and the benchmark floor
BPF_SRCS   := $(filter-out kern/selftest.bpf.c kern/floor.bpf.c,$(wildcard kern/*.bpf.c))
BPF_TEST_SRCS := $(BPF_SRCS) kern/selftest.bpf.c
BPF_HDRS   := $(wildcard kern/*.h) pins/ksense.h
LIB_SRCS   := $(wildcard user/lib/*.c)
LIB_HDRS   := $(wildcard user/lib/*.h) pins/ksense.h
CLI_SRCS   := $(wildcard user/ksense.c user/cmd_*.c)
WEBHOOK_SRCS := user/ksense-webhook.c $(wildcard user/webhook/*.c)
# --extender answers over the webhook's epoll server (and its TLS)
SCHEDULER_SRCS := user/ksense-scheduler.c $(wildcard user/scheduler/*.c) user/webhook/server.c user/webhook/tls.c \
	user/webhook/worker.c
SCALER_SRCS := user/ksense-scaler.c $(wildcard user/scaler/*.c)
TLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
KUBE_LIBS  := $(TLS_LIBS) -lyaml -lpthread
TEST_SRCS  := $(filter-out selftests/taskstats_demo.c,$(wildcard selftests/*.c))
TEST_HDRS  := $(wildcard selftests/*.h) $(wildcard user/scaler/*.h)
# The scaler's /pods parser is unit-tested in test_scaler.c.
TEST_SCALER_SRCS := user/scaler/pods_report.c
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
VERSION_O  := $(BUILD)/version.o

.PHONY: all deps test-deps run test test-host bench clean help vmtest plot FORCE
PROGRAMS := $(BUILD)/ksense $(BUILD)/ksense-webhook $(BUILD)/ksense-scheduler $(BUILD)/ksense-scaler
all: $(BUILD)/ksense $(BUILD)/ksense-webhook $(BUILD)/ksense-scheduler $(BUILD)/ksense-scaler $(BUILD)/test_progs \
	$(BUILD)/ksense-workloads $(GO_PROGS)

include tools/vmtest.mk
include fuzz/fuzz.mk

help:
	@echo "make deps     install the missing Debian packages building and running need (apt-get; root)"
	@echo "make test-deps  the same plus what only tests, benchmarks and plots need"
	@echo "make          build $(BUILD)/ksense and $(BUILD)/test_progs"
	@echo "make run      deps + build the programs + ksense load + ksense top (root)"
	@echo "make test     test-deps + build + every test (root for the BPF tests)"
	@echo "make bench    benchmarks: BPF ns/event and perf ratio, webhook req/s, scheduler pods/s, scaler reaction"
	@echo "make images   OCI image archives (node, scheduler, scaler) in $(IMAGE_DIR), from Debian packages"
	@echo "make fuzz     run every libFuzzer harness for FUZZ_SECONDS (30) each"
	@echo "make plot     30 s capture of the webhook's CSVs plotted to $(BUILD)/plot/fuzzy.png"
	@echo "make clean    remove $(BUILD)"

# Installs only what is missing, so a provisioned machine needs no network.
deps:
	@$(MAKE) --no-print-directory install-pkgs PKGS="$(DEPS_PKGS)"

test-deps:
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

$(BUILD) $(BUILD)/bpf $(BUILD)/obj $(BUILD)/asan:
	@mkdir -p $@

$(BUILD)/vmlinux.h: | $(BUILD)
	@test -r $(VMLINUX_BTF) || { echo "error: no kernel BTF at $(VMLINUX_BTF) (CONFIG_DEBUG_INFO_BTF)"; exit 1; }
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

$(BUILD)/bpf/%.bpf.o: kern/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/ksense.bpf.o: $(patsubst kern/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
	$(BPFTOOL) gen object $@ $^

$(BUILD)/ksense_test.bpf.o: $(patsubst kern/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_TEST_SRCS))
	$(BPFTOOL) gen object $@ $^

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

SKELS := $(BUILD)/ksense.skel.h $(BUILD)/ksense_test.skel.h

$(BUILD)/obj/%.o: user/lib/%.c $(LIB_HDRS) | $(BUILD)/obj
	$(CC) $(CFLAGS) $(KS_CFLAGS) -c $< -o $@

$(BUILD)/version.c: FORCE | $(BUILD)
	@tools/gen-version --c $@

$(VERSION_O): $(BUILD)/version.c
	$(CC) $(CFLAGS) $(KS_CFLAGS) -c $< -o $@

$(BUILD)/libksense.a: $(patsubst user/lib/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS)) $(VERSION_O)
	$(AR) rcs $@ $^

$(BUILD)/ksense: $(CLI_SRCS) $(wildcard user/*.h) $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $(CLI_SRCS) $(BUILD)/libksense.a $(LDLIBS) -o $@

$(BUILD)/ksense-webhook: $(WEBHOOK_SRCS) $(wildcard user/webhook/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser/webhook $(WEBHOOK_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -lpthread -o $@

$(BUILD)/ksense-scheduler: $(SCHEDULER_SRCS) $(wildcard user/scheduler/*.h) $(wildcard user/webhook/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser -Iuser/webhook $(SCHEDULER_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -o $@

# Needs no BPF and no skeleton: it only talks to the API and the agents.
$(BUILD)/ksense-scaler: $(SCALER_SRCS) $(wildcard user/scaler/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser/scaler $(SCALER_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -lm -o $@

$(BUILD)/test_progs: $(TEST_SRCS) $(TEST_HDRS) $(TEST_SCALER_SRCS) $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $(NL_CFLAGS) -Iselftests -Iuser/scaler $(TEST_SRCS) $(TEST_SCALER_SRCS) $(BUILD)/libksense.a \
		$(LDLIBS) $(NL_LIBS) $(KUBE_LIBS) -lpthread -lm -o $@

# The same tests built with ASan/UBSan (clang, for its runtime).
$(BUILD)/asan/test_progs: $(TEST_SRCS) $(TEST_HDRS) $(TEST_SCALER_SRCS) $(LIB_SRCS) $(LIB_HDRS) $(SKELS) $(VERSION_O) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) $(NL_CFLAGS) -Iselftests -Iuser/scaler $(TEST_SRCS) $(TEST_SCALER_SRCS) $(LIB_SRCS) $(VERSION_O) \
		$(LDLIBS) $(NL_LIBS) $(KUBE_LIBS) -lpthread -lm -o $@

# The daemon built with the sanitizers too: the scheduler tests run it.
$(BUILD)/asan/ksense-scheduler: $(SCHEDULER_SRCS) $(wildcard user/scheduler/*.h) $(wildcard user/webhook/*.h) $(LIB_SRCS) $(LIB_HDRS) $(VERSION_O) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser -Iuser/webhook $(SCHEDULER_SRCS) $(LIB_SRCS) $(VERSION_O) $(LDLIBS) $(KUBE_LIBS) -o $@

# The scaler with the sanitizers, run by the sanitizer test pass.
$(BUILD)/asan/ksense-scaler: $(SCALER_SRCS) $(wildcard user/scaler/*.h) $(LIB_SRCS) $(LIB_HDRS) $(VERSION_O) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser/scaler $(SCALER_SRCS) $(LIB_SRCS) $(VERSION_O) $(LDLIBS) $(KUBE_LIBS) -lm -o $@

$(BUILD)/go-burner: selftests/go/burner.go | $(BUILD)
	@if command -v $(GO) >/dev/null 2>&1; then \
		echo "go build $@"; \
		cd selftests/go && $(GO_ENV) $(GO) build -trimpath -o $(abspath $@) burner.go; \
	else \
		echo "go not installed (make test-deps installs golang-go): $@ not built"; \
	fi

# The daemon with ASan/UBSan, for the tests that start it (KSENSE_WEBHOOK_BIN).
$(BUILD)/asan/ksense-webhook: $(WEBHOOK_SRCS) $(wildcard user/webhook/*.h) $(LIB_SRCS) $(LIB_HDRS) $(VERSION_O) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser/webhook $(WEBHOOK_SRCS) $(LIB_SRCS) $(VERSION_O) \
		$(LDLIBS) $(KUBE_LIBS) -lpthread -o $@

# The tests' labeled workloads in kubelet-style pod cgroups, for people
# and for the end-to-end tests.
$(BUILD)/ksense-workloads: tools/ksense-workloads.c selftests/workloads.c selftests/workloads.h $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iselftests tools/ksense-workloads.c selftests/workloads.c $(BUILD)/libksense.a \
		$(LDLIBS) -lpthread -o $@

# The hostile clients of tools/bench_webhook (make bench), one row each.
$(BUILD)/webhook-attacks: tools/webhook_attacks.c selftests/tlsc.c selftests/tlsc.h selftests/loopback.c \
		selftests/loopback.h | $(BUILD)
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iselftests tools/webhook_attacks.c selftests/tlsc.c selftests/loopback.c \
		$(TLS_LIBS) -lpthread -o $@

$(BUILD)/bench_tick: tools/bench_tick.c $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $< $(BUILD)/libksense.a $(LDLIBS) -o $@

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

images: $(IMAGE_FILES)
	@for f in $(IMAGE_FILES); do \
		printf '%-48s %s  %6s  (%s bytes)\n' "$$f" "ksense/$$(basename $$f .oci.tar | sed 's/^ksense-//'):$(IMAGE_TAG)" \
			"$$(du -h $$f | cut -f1)" "$$(stat -c %s $$f)"; \
	done

# Thousands of node agents in one process, for tools/bench_scheduler.
$(BUILD)/agent-sim: tools/agent-sim.c | $(BUILD)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $< -o $@

# The benchmark floor: empty programs on ksense's tracepoints, an object of
# its own (never in what `ksense load` loads).
$(BUILD)/floor.bpf.o: $(BUILD)/bpf/floor.bpf.o
	$(BPFTOOL) gen object $@ $^

$(BUILD)/bench_floor: tools/bench_floor.c $(BUILD)/floor.skel.h
	$(CC) $(CFLAGS) $(KS_CFLAGS) $< $(LDLIBS) -o $@

# The collector writes $KSENSE_METRICS_CSV (default /tmp/ksense/kernel_metrics.csv)
# beside the live view; both stop when the view is closed.
run: deps $(PROGRAMS)
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

# Host and BPF tests; the sanitizer build runs the tests that need no
# live workload, the plain build runs them all.
test: test-deps all images $(BUILD)/asan/test_progs $(BUILD)/asan/ksense-scheduler $(BUILD)/asan/ksense-scaler \
		$(BUILD)/asan/ksense-webhook $(PROMTOOL)
	KSENSE_BIN=$(BUILD)/ksense KSENSE_SCHEDULER_BIN=$(BUILD)/asan/ksense-scheduler \
		KSENSE_SCALER_BIN=$(BUILD)/asan/ksense-scaler KSENSE_WEBHOOK_BIN=$(BUILD)/asan/ksense-webhook \
		$(BUILD)/asan/test_progs -t 'hist*,analytics*,decision*,http*,admission*,json*,kube*,sched*,scaler*,extender*,podmap*,podmeta*,cgpath*,pods*,e2e*,nodestate*,status_http*,control_plane*'
	KSENSE_BIN=$(BUILD)/ksense $(BUILD)/test_progs
	$(MAKE) --no-print-directory vmtest

# A fresh 30 s capture of ksense-webhook's CSVs, plotted to build/plot/fuzzy.png.
plot: test-deps all
	tools/plot --capture 30 --out $(BUILD)/plot/fuzzy.png

bench: test-deps all $(BUILD)/bench_tick $(BUILD)/webhook-attacks $(BUILD)/agent-sim $(BUILD)/bench_floor
	tools/bench
	tools/bench_webhook
	tools/bench_scheduler
	tools/bench_scaler
	tools/bench_reaction

clean:
	rm -rf $(BUILD)
