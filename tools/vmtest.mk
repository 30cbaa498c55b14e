# vmtest: the BPF selftests on other kernels under qemu (issue "vmtest").
# Included by the top-level Makefile.
