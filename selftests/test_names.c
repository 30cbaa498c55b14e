// SPDX-License-Identifier: GPL-2.0
/* The contract's enums have one name each, in one place (user/lib/names.c):
 * every enumerator named, no two alike, and a value from a newer kernel
 * side read as the enum's "none". */
#include <string.h>
#include "test_progs.h"
#include "names.h"

static void distinct(const char *what, const char *const *names, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		ASSERT_TRUE(names[i] && names[i][0], what);
		for (k = 0; k < i; k++)
			if (!ASSERT_TRUE(strcmp(names[i], names[k]), what))
				printf("    %s: '%s' twice\n", what, names[i]);
	}
}

KS_TEST_F(contract_names, KS_SAN | KS_HOST)
{
	const char *bands[] = { ks_band_name(KSENSE_BAND_NONE), ks_band_name(KSENSE_BAND_LOW),
				ks_band_name(KSENSE_BAND_MEDIUM), ks_band_name(KSENSE_BAND_HIGH) };
	const char *verdicts[] = { ks_verdict_name(KSENSE_VERDICT_NONE), ks_verdict_name(KSENSE_VERDICT_ALLOW),
				   ks_verdict_name(KSENSE_VERDICT_DENY) };
	const char *reasons[6], *causes[KSENSE_NR_CAUSES], *classes[5];
	int i;

	for (i = 0; i < 6; i++)
		reasons[i] = ks_reason_name((enum ksense_reason)i);
	for (i = 0; i < KSENSE_NR_CAUSES; i++)
		causes[i] = ks_cause_name((enum ksense_cause)i);
	for (i = 0; i < 5; i++)
		classes[i] = ks_cgroup_class_name((enum ksense_class)(i + 1));
	distinct("bands", bands, 4);
	distinct("verdicts", verdicts, 3);
	distinct("reasons", reasons, 6);
	distinct("causes", causes, KSENSE_NR_CAUSES);
	distinct("classes", classes, 5);
	ASSERT_STREQ(ks_verdict_name(KSENSE_VERDICT_DENY), "deny", "the word admission and CSVs use");
	ASSERT_STREQ(ks_band_name((enum ksense_band)77), "none", "unknown band");
	ASSERT_STREQ(ks_verdict_name((enum ksense_verdict)77), "none", "unknown verdict");
	ASSERT_STREQ(ks_cause_name((enum ksense_cause)77), "NONE", "unknown cause");
	ASSERT_STREQ(ks_cgroup_class_name(KSENSE_CLASS_UNKNOWN), "IDLE", "nothing seen yet is idle");
	ASSERT_STREQ(ks_baseline_name(KSENSE_BASELINE_FROZEN), "frozen", "baseline");
	ASSERT_STREQ(ks_psi_source_name(KSENSE_PSI_NONE), "none", "psi source");
}
