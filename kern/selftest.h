/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kern/selftest.bpf.c hands the tests besides its globals (which the
 * skeleton carries): the records of its ring buffers.
 */
#ifndef KSENSE_SELFTEST_H
#define KSENSE_SELFTEST_H

#include "ksense.h"

/* One run-queue wait of the recorded cgroup (selftests/test_runq.c). */
struct ksense_test_rec {
	__u64 at_ns;   /* its end: the switch-in, CLOCK_MONOTONIC */
	__u64 wait_ns;
};

#endif
