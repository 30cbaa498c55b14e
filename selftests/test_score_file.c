// SPDX-License-Identifier: GPL-2.0
/*
 * --test-score-file: one parser for /score and the Node condition, and the
 * bands /score gives its score, which follow the config pin as the
 * kernel's own scores do.
 *
 *   score_file_parse  what the file may hold, and what it may not
 *   score_file_bands  /score's band moves with `ksense config set`
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "test_progs.h"
#include "fixture.h"
#include "loopback.h"
#include "webhook/test_score.h"

static const struct {
	const char *text;
	bool ok;
	unsigned int score;
	bool deny;
} rows[] = {
	{ "42 allow", true, 42, false },
	{ "42 allow\n", true, 42, false },
	{ "  0 deny \n", true, 0, true },
	{ "100 deny", true, 100, true },
	{ "101 deny", false, 0, false },
	{ "-1 allow", false, 0, false },
	{ "42 allow junk", false, 0, false }, /* the Node condition's reader once took it */
	{ "42 maybe", false, 0, false },
	{ "42", false, 0, false },
	{ "allow 42", false, 0, false },
	{ "", false, 0, false },
	{ "1000 allow", false, 0, false },
	{ "42 allowed", false, 0, false },
};

KS_TEST_F(score_file_parse, KS_SAN | KS_HOST)
{
	char nul[] = "42 allow\0junk";
	unsigned int score;
	size_t i;
	bool deny;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		score = 7;
		deny = false;
		if (!ASSERT_EQ(ks_test_score_parse(rows[i].text, strlen(rows[i].text), &score, &deny), rows[i].ok,
			       rows[i].text) || !rows[i].ok)
			continue;
		ASSERT_EQ(score, rows[i].score, rows[i].text);
		ASSERT_EQ(deny, rows[i].deny, rows[i].text);
	}
	ASSERT_FALSE(ks_test_score_parse(nul, sizeof(nul) - 1, &score, &deny), "a NUL inside");
	ASSERT_FALSE(ks_test_score_read("/nonexistent/score", &score, &deny), "no file");
}

/* /score's band for the file's score, into band; -1 when /score failed. */
static int band_of(int port, char *band, size_t len)
{
	char buf[4096], *p;

	if (!lb_get_ok(port, "/score", buf, sizeof(buf), 2000) || !(p = strstr(buf, "\"band\":\"")))
		return -1;
	p += 8;
	snprintf(band, len, "%.*s", (int)strcspn(p, "\""), p);
	return 0;
}

KS_TEST_F(score_file_bands, KS_SAN)
{
	char out[4096], band[32], file[256], log[256];
	const char *tmp = fx_tmpdir("score-file");
	char *argv[] = { (char *)(getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook"), "--no-tls", "--agent-addr",
			 "127.0.0.1", "--agent-port", "0", "--test-score-file", file, "--data-dir", (char *)tmp, NULL };
	struct lb_webhook w;

	if (!fx_is_root()) {
		test__skip("needs root (a pin tree)");
		return;
	}
	if (!ASSERT_OK(fx_load(), "fx_load"))
		return;
	snprintf(file, sizeof(file), "%s/score", tmp);
	snprintf(log, sizeof(log), "%s/webhook.log", tmp);
	if (!ASSERT_OK(fx_sh(out, sizeof(out), "printf '65 allow\\n' > %s", file), "score file"))
		return;
	if (!ASSERT_OK(lb_webhook_start(&w, log, 0, argv), "webhook with a test score file")) {
		lb_webhook_stop(&w);
		return;
	}
	if (ASSERT_OK(band_of(w.agent_port, band, sizeof(band)), "/score"))
		ASSERT_STREQ(band, "medium", "65 is medium under the default bands (45, 70)");
	if (ASSERT_OK(fx_sh(out, sizeof(out), "%s config set band_high_from=62 2>&1", fx_bin()), "config set") &&
	    ASSERT_OK(band_of(w.agent_port, band, sizeof(band)), "/score"))
		ASSERT_STREQ(band, "high", "and high once band_high_from is 62");
	ASSERT_OK(fx_sh(out, sizeof(out), "%s config set band_high_from=70 2>&1", fx_bin()), "config restored");
	if (ASSERT_OK(fx_sh(out, sizeof(out), "printf '65 allow junk' > %s", file), "a bad score file"))
		ASSERT_FALSE(lb_get_ok(w.agent_port, "/score", out, sizeof(out), 2000), "/score refuses it");
	lb_webhook_stop(&w);
}
