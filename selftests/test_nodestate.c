// SPDX-License-Identifier: GPL-2.0
/*
 * The node's verdict in the API (user/webhook/nodestate.c), against the
 * fake API server: ksense-webhook with --test-score-file plays the node
 * and keeps the KernelStress condition and the PreferNoSchedule taint on
 * its Node.  The condition appears and transitions (transition time moves
 * only with the status, the heartbeat alone moves, and a restarted daemon
 * keeps it), the taint comes and
 * goes beside another taint, an oscillating score never makes more than
 * one write to the Node per interval (condition and taint together; a
 * conflict's retry waits an interval too), and an API that is down is retried with backoff
 * and caught up with once it is back.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "fakeapi.h"
#include "fixture.h"
#include "json.h"
#include "test_progs.h"

#define NODE "ns-node"
#define INTERVAL_S 1
#define HEARTBEAT_S 3

struct cond {
	char status[16], reason[64], message[256], since[40], beat[40];
	bool tainted, other_taint;
};

/* The KernelStress condition and taints of Node `node`; false when unreadable. */
static bool read_node_named(struct fakeapi *f, const char *node, struct cond *c)
{
	char path[300];
	struct ks_buf b;
	struct ks_json j;
	char err[128], s[64];
	int arr, e, k;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	ks_buf_init(&b, 1 << 20);
	snprintf(path, sizeof(path), "/api/v1/nodes/%s", node);
	if (fakeapi_call(f, "GET", path, NULL, &b) == 200 && !ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
		arr = ks_json_path(&j, "status.conditions");
		for (k = 0; (e = ks_json_index(&j, arr, k)) >= 0; k++)
			if (!ks_json_string(&j, ks_json_member(&j, e, "type"), s, sizeof(s)) && !strcmp(s, "KernelStress")) {
				ks_json_string(&j, ks_json_member(&j, e, "status"), c->status, sizeof(c->status));
				ks_json_string(&j, ks_json_member(&j, e, "reason"), c->reason, sizeof(c->reason));
				ks_json_string(&j, ks_json_member(&j, e, "message"), c->message, sizeof(c->message));
				ks_json_string(&j, ks_json_member(&j, e, "lastTransitionTime"), c->since, sizeof(c->since));
				ks_json_string(&j, ks_json_member(&j, e, "lastHeartbeatTime"), c->beat, sizeof(c->beat));
			}
		arr = ks_json_path(&j, "spec.taints");
		for (k = 0; (e = ks_json_index(&j, arr, k)) >= 0; k++) {
			ks_json_string(&j, ks_json_member(&j, e, "key"), s, sizeof(s));
			if (!strcmp(s, "ksense.io/kernel-stress"))
				c->tainted = true;
			if (!strcmp(s, "example.com/other"))
				c->other_taint = true;
		}
		ks_json_free(&j);
		ok = true;
	}
	ks_buf_free(&b);
	return ok;
}

static bool read_node(struct fakeapi *f, struct cond *c)
{
	return read_node_named(f, NODE, c);
}

/* Poll until Node `node`'s condition status is one of `statuses`
 * ("True|False"), within timeout_ms. */
static bool wait_named(struct fakeapi *f, const char *node, const char *statuses, struct cond *c, int timeout_ms)
{
	int waited;

	for (waited = 0; waited <= timeout_ms; waited += 100) {
		if (read_node_named(f, node, c) && c->status[0] && strstr(statuses, c->status))
			return true;
		usleep(100 * 1000);
	}
	return false;
}

static bool wait_status(struct fakeapi *f, const char *status, struct cond *c, int timeout_ms)
{
	return wait_named(f, NODE, status, c, timeout_ms);
}

static double number(const struct ks_json *j, int i)
{
	return ks_json_is_number(j, i) ? atof(j->src + j->tok[i].start) : -1;
}

/* PATCHes of the node (status: its /status) answered in [t0, t1] (Unix
 * seconds), their count; the times into t[] (up to n), the failed ones
 * into *failed. */
static int patches(struct fakeapi *f, bool status, double t0, double t1, double *t, int n, int *failed)
{
	const char *want = status ? "/api/v1/nodes/" NODE "/status" : "/api/v1/nodes/" NODE;
	struct ks_buf b;
	struct ks_json j;
	char err[128], m[16], p[128];
	int arr, e, k, count = 0;

	*failed = 0;
	ks_buf_init(&b, 64 << 20);
	if (fakeapi_call(f, "GET", "/fake/state?resource=nodes", NULL, &b) == 200 &&
	    !ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
		arr = ks_json_member(&j, 0, "requests");
		for (k = 0; (e = ks_json_index(&j, arr, k)) >= 0; k++) {
			double when;

			if (ks_json_string(&j, ks_json_member(&j, e, "method"), m, sizeof(m)) || strcmp(m, "PATCH") ||
			    ks_json_string(&j, ks_json_member(&j, e, "path"), p, sizeof(p)) || strcmp(p, want))
				continue;
			when = number(&j, ks_json_member(&j, e, "t"));
			if (when < t0 || when > t1)
				continue;
			if ((int)number(&j, ks_json_member(&j, e, "code")) != 200)
				(*failed)++;
			if (count < n)
				t[count] = when;
			count++;
		}
		ks_json_free(&j);
	}
	ks_buf_free(&b);
	return count;
}

/* Every PATCH of the node, /status and not, answered in [t0, t1]: their
 * times merged in order into t[] (up to n), their count. */
static int all_patches(struct fakeapi *f, double t0, double t1, double *t, int n)
{
	double a[128], b[128];
	int na, nb, i = 0, k = 0, m = 0, failed;

	na = patches(f, true, t0, t1, a, 128, &failed);
	nb = patches(f, false, t0, t1, b, 128, &failed);
	na = na < 128 ? na : 128;
	nb = nb < 128 ? nb : 128;
	while (i < na || k < nb) {
		double x = k >= nb || (i < na && a[i] <= b[k]) ? a[i++] : b[k++];

		if (m < n)
			t[m] = x;
		m++;
	}
	return m;
}

/* How often needle occurs in the Node's JSON; 0 or -1. */
static int sh_count(struct fakeapi *f, const char *needle, int *n)
{
	struct ks_buf b;
	int rc = -1;

	*n = 0;
	ks_buf_init(&b, 1 << 20);
	if (fakeapi_call(f, "GET", "/api/v1/nodes/" NODE, NULL, &b) == 200) {
		for (const char *p = b.data; (p = strstr(p, needle)); p += strlen(needle))
			(*n)++;
		rc = 0;
	}
	ks_buf_free(&b);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ksense-webhook playing node NODE with the taint on, its output to log. */
static pid_t spawn_webhook(struct fakeapi *f, struct fake_agent *a, const char *log, char *interval, char *heartbeat)
{
	char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	char *argv[] = { bin, "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", "--node", NODE,
			 "--kubeconfig", f->kubeconfig, "--test-score-file", a->score_file, "--data-dir",
			 (char *)fakeapi_path(f, "data"), "--node-taint", "--node-condition-interval-s", interval,
			 "--node-condition-heartbeat-s", heartbeat, NULL };
	const char *env[] = { "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-none-for-nodestate", "KUBECONFIG=", NULL };

	return fx_spawn(log, argv, env);
}

KS_TEST_F(nodestate, KS_SAN | KS_HOST)
{
	const char *missing = fakeapi_missing();
	char nodes[1024], interval[8], heartbeat[8], log[600];
	struct fake_agent a;
	struct fakeapi f;
	struct cond c, c2;
	pid_t pid = -1;

	if (missing) {
		test__skip("%s", missing);
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "nodestate"), "fake API server"))
		return;
	snprintf(nodes, sizeof(nodes),
		 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"" NODE "\"},"
		 "\"spec\":{\"taints\":[{\"key\":\"example.com/other\",\"value\":\"x\",\"effect\":\"NoSchedule\"}]}}");
	if (!ASSERT_OK(fakeapi_seed(&f, nodes), "seed the node"))
		goto out;
	/* the agent's score file, then the daemon with a kube config */
	memset(&a, 0, sizeof(a));
	snprintf(a.score_file, sizeof(a.score_file), "%s", fakeapi_path(&f, "score"));
	fake_agent_set(&a, "20 allow");
	snprintf(interval, sizeof(interval), "%d", INTERVAL_S);
	snprintf(heartbeat, sizeof(heartbeat), "%d", HEARTBEAT_S);
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "webhook.log"));
	pid = spawn_webhook(&f, &a, log, interval, heartbeat);

	if (test__start_subtest("condition_appears_and_transitions")) {
		if (ASSERT_TRUE(wait_status(&f, "False", &c, 5000), "KernelStress False on allow")) {
			ASSERT_STREQ(c.reason, "KernelNotStressed", "reason");
			ASSERT_STRHAS(c.message, "score 20", "message has the score");
			ASSERT_TRUE(c.since[0] && c.beat[0], "both times set");
		}
		sleep(1); /* the API's times have seconds */
		fake_agent_set(&a, "90 deny");
		if (ASSERT_TRUE(wait_status(&f, "True", &c2, 5000), "KernelStress True on deny")) {
			ASSERT_STREQ(c2.reason, "TestScoreDeny", "reason");
			ASSERT_STRHAS(c2.message, "score 90", "message");
			ASSERT_TRUE(strcmp(c2.since, c.since) > 0, "lastTransitionTime moved with the status");
		}
		/* only the heartbeat moves while the status holds */
		sleep(HEARTBEAT_S + 1);
		if (ASSERT_TRUE(read_node(&f, &c), "read")) {
			ASSERT_STREQ(c.status, "True", "still True");
			ASSERT_STREQ(c.since, c2.since, "transition time kept");
			ASSERT_TRUE(strcmp(c.beat, c2.beat) > 0, "heartbeat moved");
		}
	}

	if (test__start_subtest("transition_time_survives_restart")) {
		/* the daemon reads the Node before its first write: a restart
		 * while the status holds keeps lastTransitionTime */
		fake_agent_set(&a, "90 deny");
		if (ASSERT_TRUE(wait_status(&f, "True", &c, 5000), "True before the restart")) {
			ASSERT_EQ(fx_stop(pid), 0, "webhook stops");
			sleep(1); /* the API's times have seconds: a new one would differ */
			snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "webhook-2.log"));
			pid = spawn_webhook(&f, &a, log, interval, heartbeat);
			/* its first write is a heartbeat (status and reason held) */
			for (int i = 0; i < 50 && read_node(&f, &c2) && !strcmp(c2.beat, c.beat); i++)
				usleep(100 * 1000);
			if (ASSERT_TRUE(strcmp(c2.beat, c.beat) > 0, "the restarted daemon wrote the condition")) {
				ASSERT_STREQ(c2.status, "True", "still True");
				ASSERT_STREQ(c2.since, c.since, "lastTransitionTime kept across the restart");
			}
		}
	}

	if (test__start_subtest("taint_added_and_removed")) {
		fake_agent_set(&a, "90 deny");
		ASSERT_TRUE(wait_status(&f, "True", &c, 5000), "deny");
		usleep(500 * 1000);
		read_node(&f, &c);
		ASSERT_TRUE(c.tainted, "PreferNoSchedule taint while deny");
		ASSERT_TRUE(c.other_taint, "another taint kept");
		sleep(INTERVAL_S);
		fake_agent_set(&a, "15 allow");
		ASSERT_TRUE(wait_status(&f, "False", &c, 5000), "allow");
		for (int i = 0; i < 30 && c.tainted; i++) {
			usleep(100 * 1000);
			read_node(&f, &c);
		}
		ASSERT_FALSE(c.tainted, "taint removed on allow");
		ASSERT_TRUE(c.other_taint, "the other taint still kept");
	}

	if (test__start_subtest("taint_conflict_retried")) {
		double t0, ts[8], tt[8];
		int late = 0, ns, nt, failed;

		fake_agent_set(&a, "15 allow");
		ASSERT_TRUE(wait_status(&f, "False", &c, 5000), "allow");
		sleep(INTERVAL_S);
		/* someone else taints the node meanwhile, and the API answers
		 * our next taint write with a conflict */
		{
			char err[256];
			int st = 0;
			const char *body = "{\"spec\":{\"taints\":[{\"key\":\"example.com/other\",\"value\":\"x\","
					   "\"effect\":\"NoSchedule\"},{\"key\":\"example.com/late\",\"effect\":\"NoExecute\"}]}}";

			ASSERT_OK(kube_request(f.kc, "PATCH", "/api/v1/nodes/" NODE, "application/merge-patch+json", body,
					       strlen(body), &st, NULL, err, sizeof(err)), "merge patch");
			ASSERT_EQ(st, 200, "another writer's taint");
		}
		ASSERT_EQ(fakeapi_call(&f, "POST", "/fake/control",
				       "{\"fail_next\":{\"method\":\"PATCH\",\"path_regex\":\"/nodes/" NODE "$\","
				       "\"code\":409,\"count\":1}}", NULL), 200, "a conflict on the next taint write");
		t0 = now_s();
		fake_agent_set(&a, "90 deny");
		ASSERT_TRUE(wait_status(&f, "True", &c, 5000), "deny");
		for (int i = 0; i < 50 && !c.tainted; i++) {
			usleep(100 * 1000);
			read_node(&f, &c);
		}
		ASSERT_TRUE(c.tainted, "tainted after the conflict");
		ASSERT_TRUE(c.other_taint, "the first taint kept");
		if (!sh_count(&f, "example.com/late", &late))
			ASSERT_EQ(late, 1, "the late taint kept, once");
		/* one limit for the whole Node: the condition, the taint write
		 * that met the conflict, and its retry, each an interval apart
		 * (the retry's read, an empty patch, comes right before it) */
		ns = patches(&f, true, t0, now_s(), ts, 8, &failed);
		nt = patches(&f, false, t0, now_s(), tt, 8, &failed);
		if (ASSERT_EQ(nt, 2, "the taint: a conflict, then the retry") && ASSERT_EQ(failed, 1, "one 409") &&
		    ASSERT_GE(ns, 2, "the condition, and the read before the retry")) {
			ASSERT_GE(fabs(tt[0] - ts[0]) * 1000, INTERVAL_S * 1000 - 50,
				  "condition and taint an interval apart");
			ASSERT_GE((tt[1] - tt[0]) * 1000, INTERVAL_S * 1000 - 50, "the retry an interval after the 409");
		}
	}

	if (test__start_subtest("rate_limit_under_oscillation")) {
		double t0 = now_s(), t[64], t1;
		int n, nt, failed, i;

		/* a flip every 100 ms for 4 s: 40 changes */
		for (i = 0; i < 40; i++) {
			fake_agent_set(&a, i % 2 ? "20 allow" : "95 deny");
			usleep(100 * 1000);
		}
		t1 = now_s();
		n = patches(&f, true, t0, t1, t, 64, &failed);
		ASSERT_GE(n, 2, "it keeps writing the condition");
		nt = patches(&f, false, t0, t1, t, 64, &failed);
		ASSERT_GE(nt, 1, "and the taint");
		/* condition and taint together: one write per interval for the
		 * Node (no conflict here, so no read between them) */
		n = all_patches(&f, t0, t1, t, 64);
		ASSERT_LE(n, (int)((t1 - t0) / INTERVAL_S) + 1, "at most one write to the Node per interval");
		for (i = 1; i < n && i < 64; i++)
			if (!ASSERT_GE((t[i] - t[i - 1]) * 1000, INTERVAL_S * 1000 - 50, "writes an interval apart"))
				break;
		/* settles on the last verdict (a write of a verdict read just
		 * before the last flip may still land: wait past it) */
		fake_agent_set(&a, "20 allow");
		sleep(2 * INTERVAL_S);
		ASSERT_TRUE(wait_status(&f, "False", &c, 5000), "settles on allow");
	}

	if (test__start_subtest("api_down_then_back")) {
		double t0, t[64];
		int n, failed;

		sleep(INTERVAL_S);
		t0 = now_s();
		/* the API drops three condition writes, as if it were down */
		ASSERT_EQ(fakeapi_call(&f, "POST", "/fake/control",
				       "{\"fail_next\":{\"method\":\"PATCH\",\"path_regex\":\"/nodes/" NODE "/status\","
				       "\"code\":503,\"count\":3}}", NULL), 200, "fail the next 3");
		fake_agent_set(&a, "88 deny");
		if (ASSERT_TRUE(wait_status(&f, "True", &c, 30000), "True once the API is back")) {
			n = patches(&f, true, t0, now_s(), t, 64, &failed);

			ASSERT_EQ(failed, 3, "three failed attempts");
			/* then the node is read again (an empty patch: no write)
			 * and the condition written, no more */
			ASSERT_EQ(n, 5, "a read and a write once it is back");
			/* backoff: never faster than the interval */
			if (n == 5) {
				ASSERT_GE((t[1] - t[0]) * 1000, INTERVAL_S * 1000 - 50, "first retry after an interval");
				ASSERT_GE((t[3] - t[0]) * 1000, 3 * INTERVAL_S * 1000 - 150, "backed off");
			}
		}
		ASSERT_OK(fakeapi_call(&f, "POST", "/fake/control", "{\"clear_faults\":true}", NULL) == 200 ? 0 : -1,
			  "clear");
	}

	ASSERT_EQ(fx_stop(pid), 0, "webhook stops cleanly with the writer running");
	if (test__failed()) {
		char cmd[700];

		snprintf(cmd, sizeof(cmd), "tail -n 30 %s", log);
		if (system(cmd)) {
		}
	}
out:
	fakeapi_stop(&f);
}

/* The verdict read from real pins (ks_node_verdict_from_pins): a loaded
 * tree gives True or False with the kernel's numbers in the message, no
 * tree gives Unknown. */
KS_TEST_F(nodestate_pins, KS_SAN)
{
	const char *missing = fakeapi_missing();
	char envpin[200], log[600], log2[600];
	struct fakeapi f;
	struct cond c;
	pid_t pid = -1, pid2 = -1;

	if (missing) {
		test__skip("%s", missing);
		return;
	}
	if (!fx_is_root()) {
		test__skip("needs root to load the sensors");
		return;
	}
	if (!ASSERT_OK(fx_load(), "ksense load") || !ASSERT_OK(fakeapi_start(&f, "nodestate-pins"), "fake API server"))
		return;
	if (!ASSERT_OK(fakeapi_seed(&f, "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"ns-pins\"}},"
				   "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"ns-nopins\"}}"),
		       "seed the nodes"))
		goto out;
	snprintf(envpin, sizeof(envpin), "KSENSE_PIN_ROOT=%s", fx_root());
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "pins.log"));
	snprintf(log2, sizeof(log2), "%s", fakeapi_path(&f, "nopins.log"));
	{
		char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
		char *argv[] = { bin, "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", "--node", "ns-pins",
				 "--kubeconfig", f.kubeconfig, "--data-dir", (char *)fakeapi_path(&f, "data1"),
				 "--node-condition-interval-s", "1", NULL };
		char *argv2[] = { bin, "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", "--node", "ns-nopins",
				  "--kubeconfig", f.kubeconfig, "--data-dir", (char *)fakeapi_path(&f, "data2"),
				  "--node-condition-interval-s", "1", NULL };
		const char *env[] = { envpin, "KUBECONFIG=", NULL };
		const char *env2[] = { "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-none-for-nodestate", "KUBECONFIG=", NULL };

		pid = fx_spawn(log, argv, env);
		pid2 = fx_spawn(log2, argv2, env2);
	}
	if (ASSERT_TRUE(wait_named(&f, "ns-pins", "True|False", &c, 10000), "a verdict from the pins")) {
		ASSERT_STRHAS(c.message, "ksense score ", "the score");
		ASSERT_STRHAS(c.message, " band, ", "the band");
		ASSERT_STRHAS(c.message, "window ", "the window");
		if (!strcmp(c.status, "False"))
			ASSERT_STREQ(c.reason, "KernelNotStressed", "allow's reason");
		else
			ASSERT_TRUE(strcmp(c.reason, "KernelNotStressed") && c.reason[0] >= 'A' && c.reason[0] <= 'Z',
				    "deny's reason: the strongest rule");
		ASSERT_STRHAS(c.message, !strcmp(c.status, "True") ? "deny" : "allow", "the decision agrees");
	}
	if (ASSERT_TRUE(wait_named(&f, "ns-nopins", "Unknown", &c, 10000), "Unknown without pins")) {
		ASSERT_STREQ(c.reason, "NoKernelData", "reason");
		ASSERT_STRHAS(c.message, "ksense-none-for-nodestate", "names the pin root");
	}
	ASSERT_EQ(fx_stop(pid), 0, "stops cleanly");
	ASSERT_EQ(fx_stop(pid2), 0, "stops cleanly");
out:
	fakeapi_stop(&f);
}
