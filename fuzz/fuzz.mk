# libFuzzer harnesses: `make fuzz` builds each fuzz/fuzz_*.c with clang's
# -fsanitize=fuzzer,address,undefined against the library sources and runs
# it for FUZZ_SECONDS (bounded), from the seed corpus fuzz/corpus/<name>/.
FUZZ_SECONDS ?= 30
FUZZ_SRCS    := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))

$(BUILD)/fuzz:
	@mkdir -p $@

$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c $(LIB_SRCS) $(LIB_HDRS) $(VERSION_O) | $(BUILD)/fuzz
	$(CLANG) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(KS_CFLAGS) $< $(LIB_SRCS) $(VERSION_O) $(LDLIBS) $(KUBE_LIBS) -o $@

.PHONY: fuzz
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
		name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; \
		mkdir -p $$corpus; \
		seeds=fuzz/corpus/$${name#fuzz_}; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=1100000 -print_final_stats=1 \
			$$corpus $$( [ -d $$seeds ] && echo $$seeds ) 2>&1 | tail -n 12; \
	done

# The /pods parser is the scaler's, not the library's.
$(BUILD)/fuzz/fuzz_pods: fuzz/fuzz_pods.c user/scaler/pods_report.c user/scaler/scaler.h $(LIB_SRCS) $(LIB_HDRS) $(VERSION_O) | $(BUILD)/fuzz
	$(CLANG) -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(KS_CFLAGS) -Iuser/scaler $< user/scaler/pods_report.c $(LIB_SRCS) $(VERSION_O) $(LDLIBS) $(KUBE_LIBS) -lm -o $@
