// SPDX-License-Identifier: GPL-2.0
/*
 * The images `make images` built, run from their unpacked roots
 * (selftests/image-check): every binary answers --version and --help, the
 * node image loads the sensors with a private pin root, serves /healthz
 * and unloads; a missing shared library and an unreachable mirror fail.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fixture.h"
#include "test_progs.h"

static char out[1 << 16];

#define sh(...) fx_sh(out, sizeof(out), __VA_ARGS__)

static const char *image_dir(void)
{
	const char *d = getenv("KSENSE_IMAGE_DIR");

	return d && *d ? d : "build/images";
}

static const char *scratch(void)
{
	return fx_tmpdir("image-test");
}

/* selftests/image-check on build/images/ksense-NAME.oci.tar with args;
 * its exit status (its output in out, printed on failure when want_ok). */
static int check(const char *name, const char *args, bool want_ok)
{
	char tag[128];
	int rc;

	if (sh("tools/gen-version 2>/dev/null | cut -d' ' -f1") || !out[0])
		return -1;
	snprintf(tag, sizeof(tag), "%.*s", (int)strcspn(out, "\n"), out);
	rc = sh("selftests/image-check %s/ksense-%s.oci.tar %s/%s --tag %s %s 2>&1", image_dir(), name, scratch(),
		name, tag, args);
	if (want_ok && rc)
		printf("%s", out);
	return rc;
}

KS_TEST(image)
{
	if (!fx_is_root()) {
		test__skip("needs root (chroot, mount namespaces)");
		return;
	}
	if (system("command -v umoci >/dev/null && command -v mmdebstrap >/dev/null")) {
		/* not a skip: the images are part of what make test checks */
		ASSERT_TRUE(false, "umoci and mmdebstrap installed (make test-deps)");
		return;
	}

	if (test__start_subtest("node")) {
		if (ASSERT_OK(check("node", "--node", true), "node image")) {
			ASSERT_STRHAS(out, "ok: ksense ", "ksense --version");
			ASSERT_STRHAS(out, "ok: ksense-webhook ", "ksense-webhook --version");
			ASSERT_STRHAS(out, "ok: ksense load in the image", "load with a private pin root");
			ASSERT_STRHAS(out, "answers /healthz: {\"status\":\"ok\"", "/healthz 200");
			ASSERT_STRHAS(out, "ok: ksense unload in the image", "unload");
		}
	}
	if (test__start_subtest("scheduler")) {
		if (ASSERT_OK(check("scheduler", "", true), "scheduler image"))
			ASSERT_STRHAS(out, "ok: ksense-scheduler ", "--version and --help");
	}
	if (test__start_subtest("scaler")) {
		if (ASSERT_OK(check("scaler", "", true), "scaler image"))
			ASSERT_STRHAS(out, "ok: ksense-scaler ", "--version and --help");
	}
	if (test__start_subtest("missing_library_fails")) {
		/* the check is not blind: without libyaml the webhook cannot start */
		ASSERT_NEQ(check("node", "--remove-lib 'libyaml-0.so*'", false), 0, "check fails");
		ASSERT_STRHAS(out, "FAIL: ksense-webhook --version in the image", "names the binary");
		ASSERT_STRHAS(out, "libyaml-0.so.2", "names the library");
	}
	if (test__start_subtest("unreachable_mirror_fails")) {
		int rc;

		/* a port nothing listens on: apt cannot fetch the lists */
		rc = sh("tools/build-image --name scaler --tag mirror-test --out %s/mirror-test.tar --cache %s/debs "
			"--mirror http://127.0.0.1:9/debian build/ksense-scaler 2>&1", scratch(), scratch());
		ASSERT_EQ(rc, 1, "exit 1");
		ASSERT_STRHAS(out, "cannot reach the Debian mirror http://127.0.0.1:9/debian", "says which mirror");
		ASSERT_NEQ(access("build/images/mirror-test.tar", F_OK), 0, "no archive");
	}
}
