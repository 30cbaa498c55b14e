// SPDX-License-Identifier: GPL-2.0
/*
 * The fake Kubernetes API server (selftests/fake_apiserver.py) that the kube
 * client, scheduler and scaler tests run against: its own unittest suite,
 * over real sockets, must pass before anything is tested against it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"

static char out[1 << 16];

KS_TEST_F(fake_apiserver, KS_HOST)
{
	char log[128];
	int rc;

	if (system("command -v python3 >/dev/null 2>&1")) {
		test__skip("python3 not installed");
		return;
	}
	/* The full log goes to a file and only its tail into out: fx_sh reads
	 * at most sizeof(out) bytes, and a writer blocked on a full pipe would
	 * never exit. */
	snprintf(log, sizeof(log), "/tmp/ksense-fake-apiserver-%d.log", getpid());
	rc = fx_sh(out, sizeof(out),
		   "python3 selftests/test_fake_apiserver.py %s >%s 2>&1; rc=$?; tail -c 60000 %s; rm -f %s; exit $rc",
		   test__verbose() ? "-v" : "", log, log, log);
	if (!ASSERT_EQ(rc, 0, "python3 selftests/test_fake_apiserver.py"))
		printf("%s\n", out);
	else if (test__verbose())
		printf("%s", out);
}
