// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scheduler against the fake API server, with ksense-webhook
 * agents on loopback (--test-score-file) playing the nodes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "json.h"
#include "schedfx.h"
#include "test_progs.h"

KS_TEST_F(scheduler, KS_SAN | KS_HOST)
{
	struct fake_agent ag[4] = {};
	struct fakeapi f;
	struct bound_count bc;
	struct bind_log bl;
	char msg[4096], log[600], node[254];
	const char *scores[4] = { "", "90 deny", "40 allow", "60 allow" };
	int i, slow_fd = -1, slow_port = 0, rc;
	pid_t sp = -1;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "sched"), "fake API server"))
		return;
	if (!ASSERT_OK(fake_agent_nodes(&f, ag, 3, scores, 4000), "nodes n1..n3 with their agents"))
		goto out;
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "sched.log"));
	sp = start_sched(&f, log, "sched-a", NULL, NULL);

	if (test__start_subtest("least_stressed_node")) {
		/* n1 is in deny with the highest score, n2 lowest */
		ASSERT_OK(seed_pods(&f, "calm", 0, 6, "100m"), "pods");
		if (ASSERT_TRUE(wait_bound(&f, "calm", 0, 6, 15000, &bc), "all bound"))
			ASSERT_EQ(bc.on[2], 6, "every pod on n2, the lowest score");
		ASSERT_EQ(bc.on[1], 0, "none on n1, in deny");
		ASSERT_OK(read_bindings(&f, "calm", &bl), "bindings");
		ASSERT_EQ(bl.ok, 6, "six bindings");
		ASSERT_EQ(bl.failed, 0, "no failed binding");
		ASSERT_TRUE(wait_event(&f, "calm-0", "Scheduled", "n2", msg, sizeof(msg), 5000), "Scheduled event");
	}
	if (test__start_subtest("no_node_fits_pending_with_event")) {
		ASSERT_OK(seed_pods(&f, "huge", 0, 1, "64"), "pod asking 64 CPUs");
		if (ASSERT_TRUE(wait_event(&f, "huge-0", "FailedScheduling", NULL, msg, sizeof(msg), 10000),
				"FailedScheduling event")) {
			ASSERT_STRHAS(msg, "0/3 nodes are available", "counts nodes");
			ASSERT_STRHAS(msg, "n2: insufficient cpu", "names n2's filter");
			ASSERT_STRHAS(msg, "n3: insufficient cpu", "names n3's filter");
		}
		node_of(&f, "huge-0", node, sizeof(node));
		ASSERT_STREQ(node, "", "still Pending");
		/* retried with backoff, but one Event per distinct reason */
		usleep(1500 * 1000);
		ASSERT_LE(event_of(&f, "huge-0", "FailedScheduling", msg, sizeof(msg)), 1, "no Event storm");
		fakeapi_call(&f, "DELETE", "/api/v1/namespaces/default/pods/huge-0", NULL, NULL);
	}
	if (test__start_subtest("all_denied_then_score_drops")) {
		fake_agent_set(&ag[2], "95 deny");
		fake_agent_set(&ag[3], "80 deny");
		usleep(400 * 1000); /* past the score TTL */
		ASSERT_OK(seed_pods(&f, "wait", 0, 1, "100m"), "pod");
		if (ASSERT_TRUE(wait_event(&f, "wait-0", "FailedScheduling", "n3: denied", msg, sizeof(msg), 10000),
				"FailedScheduling names the denial")) {
			ASSERT_STRHAS(msg, "n1: denied by ksense (score 90)", "n1 with its score");
			ASSERT_STRHAS(msg, "n2: denied by ksense (score 95)", "n2 with its score");
		}
		node_of(&f, "wait-0", node, sizeof(node));
		ASSERT_STREQ(node, "", "pending while every node denies");
		fake_agent_set(&ag[3], "10 allow");
		if (ASSERT_TRUE(wait_bound(&f, "wait", 0, 1, 10000, &bc), "bound once n3 recovers"))
			ASSERT_EQ(bc.on[3], 1, "on n3");
		fake_agent_set(&ag[2], "40 allow");
		fake_agent_set(&ag[3], "60 allow");
	}
	if (test__start_subtest("watch_dropped_and_410")) {
		/* pods arrive while the watches are cut; once, the pods watch
		 * cannot come back before the history is compacted, so its
		 * resume gets 410 and only a relist can find them */
		ASSERT_EQ(control(&f, "{\"drop_watches\":true}"), 200, "drop");
		ASSERT_OK(seed_pods(&f, "churn", 0, 5, "10m"), "pods");
		ASSERT_EQ(control(&f, "{\"fail_next\":{\"method\":\"GET\",\"path_regex\":\"pods.*watch=\","
				      "\"code\":500,\"count\":3}}"), 200, "fail the next pod watches");
		ASSERT_EQ(control(&f, "{\"drop_watches\":true}"), 200, "drop");
		ASSERT_OK(seed_pods(&f, "churn", 5, 10, "10m"), "pods");
		ASSERT_EQ(control(&f, "{\"compact\":true}"), 200, "compact");
		ASSERT_EQ(control(&f, "{\"split_chunks\":true}"), 200, "split chunks");
		ASSERT_OK(seed_pods(&f, "churn", 10, 15, "10m"), "pods");
		ASSERT_EQ(control(&f, "{\"drop_watches\":true}"), 200, "drop mid-stream");
		ASSERT_OK(seed_pods(&f, "churn", 15, 20, "10m"), "pods");
		ASSERT_TRUE(wait_bound(&f, "churn", 0, 20, 20000, &bc), "all 20 bound");
		ASSERT_OK(read_bindings(&f, "churn", &bl), "bindings");
		ASSERT_EQ(bl.ok, 20, "20 successful bindings");
		ASSERT_EQ(bl.max_ok_per_pod, 1, "no pod bound twice");
		ASSERT_EQ(bl.failed, 0, "no binding refused (none attempted twice)");
		ASSERT_TRUE(wait_log(log, "resource=pods rv=", "listing again", 5000), "a 410 made it list pods again");
		control(&f, "{\"split_chunks\":false}");
	}
	if (test__start_subtest("slow_wrong_and_dead_agents_skipped")) {
		char extra[4096];

		/* n4's agent accepts and never answers; n5's port is closed;
		 * both score better on paper (they have no score at all) */
		slow_fd = silent_listener(&slow_port);
		ASSERT_GE(slow_fd, 0, "listener");
		ag[0].port = slow_port;
		fake_node_json(extra, sizeof(extra), "n4", 64000, &ag[0]);
		ASSERT_OK(fakeapi_seed(&f, extra), "n4");
		ag[0].port = 1;
		fake_node_json(extra, sizeof(extra), "n5", 64000, &ag[0]);
		ASSERT_OK(fakeapi_seed(&f, extra), "n5");
		ASSERT_TRUE(wait_log(log, "node=n5", "node added", 10000), "n5 known");
		ASSERT_OK(seed_pods(&f, "skip", 0, 3, "100m"), "pods");
		if (ASSERT_TRUE(wait_bound(&f, "skip", 0, 3, 15000, &bc), "bound despite bad agents"))
			ASSERT_EQ(bc.on[2], 3, "on n2, the best node with a score");
		ASSERT_TRUE(wait_log(log, "node=n4", "no answer within 300 ms", 5000), "n4 skipped: slow");
		ASSERT_TRUE(wait_log(log, "node=n5", "Connection refused", 5000), "n5 skipped: down");
	}
	if (test__start_subtest("wrong_agent_skipped")) {
		char extra[4096];

		/* n6's agent answers 503 with an error body: wrong, not slow */
		if (ASSERT_OK(fake_agent_start(&f, &ag[0], "n6", "not a score"), "agent n6")) {
			fake_node_json(extra, sizeof(extra), "n6", 64000, &ag[0]);
			ASSERT_OK(fakeapi_seed(&f, extra), "n6");
			ASSERT_TRUE(wait_log(log, "node=n6", "node added", 10000), "n6 known");
			ASSERT_OK(seed_pods(&f, "wrong", 0, 2, "100m"), "pods");
			if (ASSERT_TRUE(wait_bound(&f, "wrong", 0, 2, 15000, &bc), "bound"))
				ASSERT_EQ(bc.on[2], 2, "on n2, not n6");
			ASSERT_TRUE(wait_log(log, "node=n6", "answered 503", 5000), "n6 skipped: its answer logged");
			fake_agent_stop(&ag[0]);
		}
	}
	if (test__start_subtest("huge_pod_bound")) {
		/* 1.2 MiB of annotation: bigger than an AdmissionReview may be,
		 * smaller than etcd's object limit */
		size_t big = 1200u << 10;
		struct ks_buf b;

		ks_buf_init(&b, 4u << 20);
		ks_buf_printf(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"huge-ann-0\","
			      "\"namespace\":\"default\",\"annotations\":{\"blob\":\"");
		for (i = 0; i < (int)(big / 64); i++)
			ks_buf_printf(&b, "%s", "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
		ks_buf_printf(&b, "\"}},\"spec\":{\"schedulerName\":\"fuzzy-scheduler\",\"containers\":"
			      "[{\"name\":\"c\",\"image\":\"pause\"}]}}");
		ASSERT_OK(fakeapi_seed(&f, b.data), "huge pod");
		ks_buf_free(&b);
		ASSERT_TRUE(wait_bound(&f, "huge-ann", 0, 1, 15000, &bc), "bound");
	}
	if (test__start_subtest("bind_conflict_is_not_an_error")) {
		/* the API says 409 to the first binding, as when another
		 * scheduler won: no error, and the pod is bound in the end */
		ASSERT_EQ(control(&f, "{\"fail_next\":{\"method\":\"POST\",\"path_regex\":\"conflict-0/binding\","
				      "\"code\":409,\"count\":1}}"), 200, "409 on the next binding");
		ASSERT_OK(seed_pods(&f, "conflict", 0, 1, "10m"), "pod");
		ASSERT_TRUE(wait_log(log, "pod=default/conflict-0", "already bound elsewhere", 10000), "409 logged as info");
		ASSERT_TRUE(wait_bound(&f, "conflict", 0, 1, 15000, &bc), "bound after all");
	}
	if (test__start_subtest("sigterm_releases_lease")) {
		rc = fx_stop(sp);
		sp = -1;
		ASSERT_EQ(rc, 0, "exit 0 on SIGTERM");
		ASSERT_GE(fx_count_in_file(log, "lease released"), 1, "lease released");
		ASSERT_EQ(fx_count_in_file(log, "level=error"), 0, "no errors logged");
	}
out:
	if (sp > 0)
		fx_stop(sp);
	if (slow_fd >= 0)
		close(slow_fd);
	for (i = 1; i <= 3; i++)
		fake_agent_stop(&ag[i]);
	if (test__failed())
		dump_log(log);
	fakeapi_stop(&f);
}

/* A pod no node has room for waits out its backoff, unless room frees:
 * when a bound pod goes, the unschedulable pods are tried again at once
 * (as kube-scheduler does on an assigned pod's deletion).  The backoff
 * here is 10 s, so a bind within 3 s of the deletion is that retry. */
KS_TEST_F(scheduler_room_freed, KS_SAN | KS_HOST)
{
	static const char *const extra[] = { "--backoff-initial-ms", "10000", "--backoff-max-ms", "10000", NULL };
	static const char *const scores[3] = { "", "20 allow", "30 allow" };
	struct fake_agent ag[3] = {};
	struct bound_count bc;
	struct fakeapi f;
	char msg[4096], log[600], node[254];
	long long t;
	int i;
	pid_t sp = -1;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "roomfreed"), "fake API server"))
		return;
	if (!ASSERT_OK(fake_agent_nodes(&f, ag, 2, scores, 4000), "nodes n1, n2 with their agents"))
		goto out;
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "sched.log"));
	sp = start_sched(&f, log, "sched-room", extra, NULL);
	/* both nodes nearly full */
	ASSERT_OK(seed_pods(&f, "fill", 0, 2, "3500m"), "two pods of 3.5 CPUs");
	if (!ASSERT_TRUE(wait_bound(&f, "fill", 0, 2, 15000, &bc), "both bound"))
		goto out;
	ASSERT_OK(seed_pods(&f, "late", 0, 1, "1"), "a pod of 1 CPU");
	if (!ASSERT_TRUE(wait_event(&f, "late-0", "FailedScheduling", "insufficient cpu", msg, sizeof(msg), 10000),
			 "no room: FailedScheduling"))
		goto out;
	node_of(&f, "late-0", node, sizeof(node));
	ASSERT_STREQ(node, "", "Pending, its next try 10 s away");
	t = sfx_now_ms();
	fakeapi_call(&f, "DELETE", "/api/v1/namespaces/default/pods/fill-0", NULL, NULL);
	if (ASSERT_TRUE(wait_bound(&f, "late", 0, 1, 3000, &bc), "bound once a pod's room is free, not after its backoff"))
		printf("    bound %lld ms after the deletion\n", sfx_now_ms() - t);
	ASSERT_TRUE(wait_log(log, "unschedulable pods retried now", "room freed on a node", 2000), "and says why");
out:
	if (sp > 0)
		fx_stop(sp);
	for (i = 1; i <= 2; i++)
		fake_agent_stop(&ag[i]);
	if (test__failed())
		dump_log(log);
	fakeapi_stop(&f);
}

KS_TEST_F(scheduler_replicas, KS_SAN | KS_HOST)
{
	struct fake_agent ag[3] = {};
	struct fakeapi f;
	struct bound_count bc;
	struct bind_log bl;
	static const char *const scores[3] = { "", "30 allow", "50 allow" };
	char loga[600], logb[600];
	int i, la, lb;
	pid_t a = -1, b = -1;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "replicas"), "fake API server"))
		return;
	if (!ASSERT_OK(fake_agent_nodes(&f, ag, 2, scores, 64000), "nodes n1, n2 with their agents"))
		goto out;
	snprintf(loga, sizeof(loga), "%s", fakeapi_path(&f, "a.log"));
	snprintf(logb, sizeof(logb), "%s", fakeapi_path(&f, "b.log"));
	a = start_sched(&f, loga, "replica-a", NULL, NULL);
	b = start_sched(&f, logb, "replica-b", NULL, NULL);
	ASSERT_OK(seed_pods(&f, "rep", 0, 30, "10m"), "30 pods");
	ASSERT_TRUE(wait_bound(&f, "rep", 0, 30, 20000, &bc), "all bound");
	la = fx_count_in_file(loga, "became leader");
	lb = fx_count_in_file(logb, "became leader");
	ASSERT_EQ(la + lb, 1, "exactly one leader");
	/* the leader goes; the other takes over (the lease is released) */
	if (la) {
		ASSERT_EQ(fx_stop(a), 0, "leader a stops");
		a = -1;
	} else {
		ASSERT_EQ(fx_stop(b), 0, "leader b stops");
		b = -1;
	}
	ASSERT_OK(seed_pods(&f, "rep", 30, 40, "10m"), "10 more pods");
	ASSERT_TRUE(wait_bound(&f, "rep", 30, 40, 20000, &bc), "bound by the new leader");
	ASSERT_EQ(fx_count_in_file(la ? logb : loga, "became leader"), 1, "the other took over");
	/* a leader that dies without releasing: the lease must run out (3 s
	 * here) before a new replica takes it, and then it binds */
	{
		char logc[600];
		pid_t c = -1, *alive = a > 0 ? &a : &b;

		snprintf(logc, sizeof(logc), "%s", fakeapi_path(&f, "c.log"));
		c = start_sched(&f, logc, "replica-c", NULL, NULL);
		usleep(500 * 1000);
		kill(*alive, SIGKILL);
		waitpid(*alive, NULL, 0);
		*alive = -1;
		ASSERT_OK(seed_pods(&f, "rep", 40, 45, "10m"), "5 more pods");
		ASSERT_TRUE(wait_bound(&f, "rep", 40, 45, 20000, &bc), "bound once the dead leader's lease ran out");
		ASSERT_EQ(fx_count_in_file(logc, "became leader"), 1, "the new replica leads");
		if (c > 0)
			ASSERT_EQ(fx_stop(c), 0, "new leader stops cleanly");
		if (test__failed())
			dump_log(logc);
	}
	ASSERT_OK(read_bindings(&f, "rep", &bl), "bindings");
	ASSERT_EQ(bl.ok, 45, "45 successful bindings");
	ASSERT_EQ(bl.max_ok_per_pod, 1, "each pod bound exactly once");
out:
	if (a > 0)
		fx_stop(a);
	if (b > 0)
		fx_stop(b);
	for (i = 1; i <= 2; i++)
		fake_agent_stop(&ag[i]);
	if (test__failed()) {
		dump_log(loga);
		dump_log(logb);
	}
	fakeapi_stop(&f);
}

KS_TEST_F(scheduler_seed_pacing, KS_SAN | KS_HOST)
{
	struct fake_agent ag = {};
	struct fakeapi f;
	struct bound_count bc;
	struct bind_log bl;
	char nodes[4096], log[600];
	const char *env[] = { "FUZZY_SCHEDULER_MAX_PER_CYCLE=1", "FUZZY_SCHEDULER_POLL_S=1", NULL };
	pid_t sp = -1;

	if (fakeapi_missing()) {
		test__skip("%s", fakeapi_missing());
		return;
	}
	if (!ASSERT_OK(fakeapi_start(&f, "pacing"), "fake API server"))
		return;
	if (!ASSERT_OK(fake_agent_start(&f, &ag, "n1", "20 allow"), "agent"))
		goto out;
	fake_node_json(nodes, sizeof(nodes), "n1", 64000, &ag);
	if (!ASSERT_OK(fakeapi_seed(&f, nodes), "seed node"))
		goto out;
	ASSERT_OK(seed_pods(&f, "paced", 0, 3, "10m"), "3 pods");
	snprintf(log, sizeof(log), "%s", fakeapi_path(&f, "sched.log"));
	sp = start_sched(&f, log, "paced", (const char *const[]){ "--no-leader-elect", NULL }, env);
	if (ASSERT_TRUE(wait_bound(&f, "paced", 0, 3, 15000, &bc), "all bound") &&
	    ASSERT_OK(read_bindings(&f, "paced", &bl), "bindings") && ASSERT_EQ(bl.nt, 3, "3 binding times")) {
		/* one pod per POLL_S cycle, as the seed did (lower bound only) */
		ASSERT_GE(bl.t[1] - bl.t[0], 0.7, "second a cycle later");
		ASSERT_GE(bl.t[2] - bl.t[1], 0.7, "third a cycle later");
	}
	ASSERT_GE(fx_count_in_file(log, "max_per_cycle=1"), 1, "setting logged");
out:
	if (sp > 0)
		fx_stop(sp);
	fake_agent_stop(&ag);
	if (test__failed())
		dump_log(log);
	fakeapi_stop(&f);
}

static int run_capture(char *out, size_t len, const char *cmd)
{
	FILE *p = popen(cmd, "r");
	size_t n;
	int st;

	if (!p)
		return -1;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

KS_TEST_F(scheduler_cli, KS_SAN | KS_HOST)
{
	char out[16384], cmd[1024], dir[128], log[256];
	const char *bin = sched_bin();
	pid_t pid;
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/ksense-sched-cli-%d", getpid());
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	if (!ASSERT_OK(system(cmd), "mkdir"))
		return;
	snprintf(cmd, sizeof(cmd), "%s --help 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 0, "--help exits 0");
	ASSERT_STRHAS(out, "FUZZY_SCHEDULER_POLL_S", "documents POLL_S");
	ASSERT_STRHAS(out, "FUZZY_SCHEDULER_PLACEMENT_DELAY_S", "documents PLACEMENT_DELAY_S");
	ASSERT_STRHAS(out, "--kubeconfig", "documents --kubeconfig");
	snprintf(cmd, sizeof(cmd), "%s --frobnicate 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "unknown option exits 2");
	ASSERT_STRHAS(out, "unknown option '--frobnicate'", "names it");
	snprintf(cmd, sizeof(cmd), "FUZZY_SCHEDULER_POLL_S=soon %s --kubeconfig /dev/null 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "bad env exits 2");
	ASSERT_STRHAS(out, "FUZZY_SCHEDULER_POLL_S: 'soon'", "names the variable");
	snprintf(cmd, sizeof(cmd), "%s --profile fast 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "unknown profile exits 2");
	/* a binding must be able to land while the lease is still ours */
	snprintf(cmd, sizeof(cmd), "%s --lease-duration-s 3 --renew-deadline-s 2 --retry-period-s 1 "
		 "--bind-timeout-ms 2000 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "a binding timeout past the lease exits 2");
	ASSERT_STRHAS(out, "--bind-timeout-ms 2000 must be below", "says why");
	snprintf(cmd, sizeof(cmd), "%s --extender --tls-cert /x.crt 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "a certificate without its key exits 2");
	ASSERT_STRHAS(out, "--tls-cert and --tls-key go together", "says why");
	snprintf(cmd, sizeof(cmd), "%s --tls-cert /x.crt --tls-key /x.key 2>&1", bin);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "TLS outside extender mode exits 2");
	snprintf(cmd, sizeof(cmd), "%s --help 2>&1", bin);
	run_capture(out, sizeof(out), cmd);
	ASSERT_STRHAS(out, "--extender", "documents extender mode");
	ASSERT_STRHAS(out, "--bind-workers", "documents the binders");
	ASSERT_STRHAS(out, "--percentage-of-nodes-to-score", "documents the sample");
	/* a kubeconfig that is not one */
	snprintf(log, sizeof(log), "%s/bad.kubeconfig", dir);
	f = fopen(log, "w");
	if (f) {
		fprintf(f, "clusters: [ {name: x, cluster: {server: 17}\n");
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s 2>&1", bin, log);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "bad kubeconfig exits 2");
	ASSERT_STRHAS(out, "bad.kubeconfig", "names the file");
	snprintf(cmd, sizeof(cmd), "%s --kubeconfig %s/missing 2>&1", bin, dir);
	ASSERT_EQ(run_capture(out, sizeof(out), cmd), 2, "missing kubeconfig exits 2");
	/* an unreachable server: keeps retrying, does not crash, stops on SIGTERM */
	snprintf(log, sizeof(log), "%s/unreachable.kubeconfig", dir);
	f = fopen(log, "w");
	if (f) {
		fprintf(f, "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:1\n"
			   "users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n"
			   "    user: u\ncurrent-context: x\n");
		fclose(f);
	}
	{
		char *argv[] = { (char *)bin, "--kubeconfig", log, NULL };
		char slog[256];

		snprintf(slog, sizeof(slog), "%s/unreachable.log", dir);
		pid = fx_spawn(slog, argv, NULL);
		usleep(1500 * 1000);
		ASSERT_EQ(waitpid(pid, NULL, WNOHANG), 0, "still running");
		ASSERT_EQ(fx_stop(pid), 0, "exits 0 on SIGTERM");
		ASSERT_GE(fx_count_in_file(slog, "retrying"), 1, "says it retries");
		ASSERT_GE(fx_count_in_file(slog, "127.0.0.1:1"), 1, "names the server");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
	}
}
