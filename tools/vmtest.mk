# vmtest: the BPF selftests on other kernels under qemu (issue "vmtest").
# Included by the top-level Makefile.
#
#   make vmtest                        Debian's newest 6.1 and 6.12 cloud kernels
#   make vmtest VMTEST_KERNELS="6.12 /path/to/bzImage linux-image-6.1.0-56-cloud-amd64"
#
# Each kernel boots in turn (tools/vmtest: software emulation, no KVM needed);
# a kernel counts as failed if any test failed or the guest did not finish.
# VMTEST_TESTS, VMTEST_TIMEOUT and the other knobs of tools/vmtest pass
# through the environment.

VMTEST_KERNELS ?= 6.1 6.12

# qemu boots the kernels; mke2fs makes the guest's /var/tmp disk.  (Static
# busybox and the kernels are fetched into $(BUILD)/vmtest, not installed.)
TEST_PKGS += qemu-system-x86 e2fsprogs

vmtest: all ## the BPF selftests on Debian's 6.1 and 6.12 kernels under qemu (VMTEST_KERNELS)
	@pass=0; fail=0; summary=""; \
	for k in $(VMTEST_KERNELS); do \
		rf=$$(mktemp); \
		echo "=== vmtest: $$k"; \
		if BUILD="$(BUILD)" VMTEST_RESULT_FILE="$$rf" tools/vmtest "$$k"; then \
			pass=$$((pass + 1)); verdict=ok; \
		else \
			fail=$$((fail + 1)); verdict=FAIL; \
		fi; \
		line=$$(cat "$$rf" 2>/dev/null); rm -f "$$rf"; \
		summary="$$summary  [$$verdict] $${line:-$$k: no result (tools/vmtest stopped early)}\n"; \
	done; \
	echo "=== vmtest results"; \
	printf "%b" "$$summary"; \
	echo "vmtest kernels:"; \
	echo "vmtest: $$pass passed, $$fail failed"; \
	test $$fail -eq 0
