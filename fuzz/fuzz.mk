# libFuzzer harnesses: `make fuzz` builds each fuzz/fuzz_*.c with clang's
# -fsanitize=fuzzer,address,undefined, linked with the archives built by the
# Makefile's BUILD_TREE template in $(BUILD)/fuzz (coverage-instrumented:
# fuzzer-no-link), and runs it for FUZZ_SECONDS (bounded), from the seed
# corpus fuzz/corpus/<name>/.
FUZZ_SECONDS ?= 30
FUZZ_SRCS    := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all

$(eval $(call BUILD_TREE,$(BUILD)/fuzz,$(CLANG) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN),$(FUZZ_SAN)))

# Every harness links every archive: each takes only what its parser needs.
$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/fuzz/fuzz_%.o $(addprefix $(BUILD)/fuzz/,$(PROGRAM_ARCHIVES) libksense.a)
	$(CLANG) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) $^ $(LDLIBS) $(KUBE_LIBS) -lm -o $@

.PHONY: fuzz
fuzz: $(FUZZ_BINS) ## run every libFuzzer harness for FUZZ_SECONDS (30) each
	@set -e; for f in $(FUZZ_BINS); do \
		name=$$(basename $$f); corpus=$(BUILD)/fuzz/corpus-$$name; \
		mkdir -p $$corpus; \
		seeds=fuzz/corpus/$${name#fuzz_}; \
		echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=1100000 -print_final_stats=1 \
			$$corpus $$( [ -d $$seeds ] && echo $$seeds ) 2>&1 | tail -n 12; \
	done
