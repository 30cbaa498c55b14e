# ksense build.  `make run` and `make test` are the two commands a fresh
# Debian machine needs (as root); everything generated lands in $(BUILD).
BUILD      ?= build
CC         ?= cc
CLANG      ?= clang
BPFTOOL    ?= bpftool
ARCH       := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

DEPS_PKGS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libmbedtls-dev \
	libjsmn-dev libnl-3-dev libnl-genl-3-dev libnl-route-3-dev pkg-config \
	linux-perf libclang-rt-14-dev iproute2 make gcc curl openssl wrk gnuplot-nox \
	libyaml-dev python3 golang-go bpftrace

NL_CFLAGS  := $(shell pkg-config --cflags libnl-genl-3.0 2>/dev/null || echo -I/usr/include/libnl3)
NL_LIBS    := $(shell pkg-config --libs libnl-genl-3.0 2>/dev/null || echo -lnl-genl-3 -lnl-3)

WARN       := -Wall -Wextra -Werror
CFLAGS     ?= -O2 -g
KS_CFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -I$(BUILD) -Ipins -Iuser/lib -Ikern
LDLIBS     := -lbpf -lelf -lz
BPF_CFLAGS := -g -O2 $(WARN) -Wno-unused-parameter -target bpf -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Ikern
SAN_FLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_SRCS   := kern/sched.bpf.c kern/softirq.bpf.c kern/context.bpf.c kern/cgroup.bpf.c kern/tick.bpf.c
BPF_TEST_SRCS := $(BPF_SRCS) kern/selftest.bpf.c
BPF_HDRS   := $(wildcard kern/*.h) pins/ksense.h
LIB_SRCS   := $(wildcard user/lib/*.c)
LIB_HDRS   := $(wildcard user/lib/*.h) pins/ksense.h
CLI_SRCS   := $(wildcard user/ksense.c user/cmd_*.c)
WEBHOOK_SRCS := user/ksense-webhook.c $(wildcard user/webhook/*.c)
SCHEDULER_SRCS := user/ksense-scheduler.c $(wildcard user/scheduler/*.c)
SCALER_SRCS := user/ksense-scaler.c $(wildcard user/scaler/*.c)
TLS_LIBS   := -lmbedtls -lmbedx509 -lmbedcrypto
KUBE_LIBS  := $(TLS_LIBS) -lyaml
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

.PHONY: all deps run test test-host bench clean help vmtest plot
all: $(BUILD)/ksense $(BUILD)/ksense-webhook $(BUILD)/ksense-scheduler $(BUILD)/ksense-scaler $(BUILD)/test_progs \
	$(BUILD)/ksense-workloads $(GO_PROGS)

include tools/vmtest.mk
include fuzz/fuzz.mk

help:
	@echo "make deps     install missing Debian packages (apt-get; root)"
	@echo "make          build $(BUILD)/ksense and $(BUILD)/test_progs"
	@echo "make run      deps + build + ksense load + ksense top (root)"
	@echo "make test     deps + build + every test (root for the BPF tests)"
	@echo "make bench    benchmarks: BPF ns/event and perf ratio, webhook req/s, scheduler pods/s, scaler reaction"
	@echo "make fuzz     run every libFuzzer harness for FUZZ_SECONDS (30) each"
	@echo "make plot     30 s capture of the webhook's CSVs plotted to $(BUILD)/plot/fuzzy.png"
	@echo "make clean    remove $(BUILD)"

# Installs only what is missing, so a provisioned machine needs no network.
deps:
	@missing=""; for p in $(DEPS_PKGS); do \
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

$(BUILD)/libksense.a: $(patsubst user/lib/%.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
	$(AR) rcs $@ $^

$(BUILD)/ksense: $(CLI_SRCS) $(wildcard user/*.h) $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $(CLI_SRCS) $(BUILD)/libksense.a $(LDLIBS) -o $@

$(BUILD)/ksense-webhook: $(WEBHOOK_SRCS) $(wildcard user/webhook/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser/webhook $(WEBHOOK_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -lpthread -o $@

$(BUILD)/ksense-scheduler: $(SCHEDULER_SRCS) $(wildcard user/scheduler/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser $(SCHEDULER_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -o $@

# Needs no BPF and no skeleton: it only talks to the API and the agents.
$(BUILD)/ksense-scaler: $(SCALER_SRCS) $(wildcard user/scaler/*.h) $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iuser/scaler $(SCALER_SRCS) $(BUILD)/libksense.a $(LDLIBS) $(KUBE_LIBS) -lm -o $@

$(BUILD)/test_progs: $(TEST_SRCS) $(TEST_HDRS) $(TEST_SCALER_SRCS) $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $(NL_CFLAGS) -Iselftests -Iuser/scaler $(TEST_SRCS) $(TEST_SCALER_SRCS) $(BUILD)/libksense.a \
		$(LDLIBS) $(NL_LIBS) $(KUBE_LIBS) -lpthread -lm -o $@

# The same tests built with ASan/UBSan (clang, for its runtime).
$(BUILD)/asan/test_progs: $(TEST_SRCS) $(TEST_HDRS) $(TEST_SCALER_SRCS) $(LIB_SRCS) $(LIB_HDRS) $(SKELS) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) $(NL_CFLAGS) -Iselftests -Iuser/scaler $(TEST_SRCS) $(TEST_SCALER_SRCS) $(LIB_SRCS) \
		$(LDLIBS) $(NL_LIBS) $(KUBE_LIBS) -lpthread -lm -o $@

# The daemon built with the sanitizers too: the scheduler tests run it.
$(BUILD)/asan/ksense-scheduler: $(SCHEDULER_SRCS) $(wildcard user/scheduler/*.h) $(LIB_SRCS) $(LIB_HDRS) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser $(SCHEDULER_SRCS) $(LIB_SRCS) $(LDLIBS) $(KUBE_LIBS) -o $@

# The scaler with the sanitizers, run by the sanitizer test pass.
$(BUILD)/asan/ksense-scaler: $(SCALER_SRCS) $(wildcard user/scaler/*.h) $(LIB_SRCS) $(LIB_HDRS) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser/scaler $(SCALER_SRCS) $(LIB_SRCS) $(LDLIBS) $(KUBE_LIBS) -lm -o $@

$(BUILD)/go-burner: selftests/go/burner.go | $(BUILD)
	@if command -v $(GO) >/dev/null 2>&1; then \
		echo "go build $@"; \
		cd selftests/go && $(GO_ENV) $(GO) build -trimpath -o $(abspath $@) burner.go; \
	else \
		echo "go not installed (make deps installs golang-go): $@ not built"; \
	fi

# The daemon with ASan/UBSan, for the tests that start it (KSENSE_WEBHOOK_BIN).
$(BUILD)/asan/ksense-webhook: $(WEBHOOK_SRCS) $(wildcard user/webhook/*.h) $(LIB_SRCS) $(LIB_HDRS) | $(BUILD)/asan
	$(CLANG) -O1 -g $(SAN_FLAGS) $(KS_CFLAGS) -Iuser/webhook $(WEBHOOK_SRCS) $(LIB_SRCS) \
		$(LDLIBS) $(KUBE_LIBS) -lpthread -o $@

# The tests' labeled workloads in kubelet-style pod cgroups, for people
# and for the end-to-end tests.
$(BUILD)/ksense-workloads: tools/ksense-workloads.c selftests/workloads.c selftests/workloads.h $(BUILD)/libksense.a
	$(CC) $(CFLAGS) $(KS_CFLAGS) -Iselftests tools/ksense-workloads.c selftests/workloads.c $(BUILD)/libksense.a \
		$(LDLIBS) -lpthread -o $@

$(BUILD)/bench_tick: tools/bench_tick.c $(BUILD)/libksense.a $(SKELS)
	$(CC) $(CFLAGS) $(KS_CFLAGS) $< $(BUILD)/libksense.a $(LDLIBS) -o $@

# The benchmark floor: empty programs on ksense's tracepoints, an object of
# its own (never in what `ksense load` loads).
$(BUILD)/floor.bpf.o: $(BUILD)/bpf/floor.bpf.o
	$(BPFTOOL) gen object $@ $^

$(BUILD)/bench_floor: tools/bench_floor.c $(BUILD)/floor.skel.h
	$(CC) $(CFLAGS) $(KS_CFLAGS) $< $(LDLIBS) -o $@

# The collector writes $KSENSE_METRICS_CSV (default /tmp/ksense/kernel_metrics.csv)
# beside the live view; both stop when the view is closed.
run: deps all
	$(BUILD)/ksense load
	@$(BUILD)/ksense collect & collector=$$!; \
	$(BUILD)/ksense top; status=$$?; \
	kill $$collector 2>/dev/null; wait $$collector 2>/dev/null; \
	echo "ksense: still loaded (build/ksense unload removes it); CSV in $${KSENSE_METRICS_CSV:-/tmp/ksense/kernel_metrics.csv}"; \
	exit $$status

# Host and BPF tests; the sanitizer build runs the tests that need no
# live workload, the plain build runs them all.
test: deps all $(BUILD)/asan/test_progs $(BUILD)/asan/ksense-scheduler $(BUILD)/asan/ksense-scaler \
		$(BUILD)/asan/ksense-webhook
	KSENSE_BIN=$(BUILD)/ksense KSENSE_SCHEDULER_BIN=$(BUILD)/asan/ksense-scheduler \
		KSENSE_SCALER_BIN=$(BUILD)/asan/ksense-scaler KSENSE_WEBHOOK_BIN=$(BUILD)/asan/ksense-webhook \
		$(BUILD)/asan/test_progs -t 'hist*,analytics*,decision*,http*,admission*,json*,kube*,sched*,scaler*,podmap*,podmeta*,cgpath*,pods*,e2e*'
	KSENSE_BIN=$(BUILD)/ksense $(BUILD)/test_progs
	$(MAKE) --no-print-directory vmtest

# A fresh 30 s capture of ksense-webhook's CSVs, plotted to build/plot/fuzzy.png.
plot: deps all
	tools/plot --capture 30 --out $(BUILD)/plot/fuzzy.png

bench: deps all $(BUILD)/bench_tick $(BUILD)/bench_floor
	tools/bench
	tools/bench_webhook
	tools/bench_scheduler
	tools/bench_scaler
	tools/bench_reaction

clean:
	rm -rf $(BUILD)
