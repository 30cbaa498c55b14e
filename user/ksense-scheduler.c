// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scheduler: binds pods that ask for the fuzzy-scheduler to the
 * least-stressed node whose ksense decision is not deny.  Event-driven:
 * pods and nodes are watched, every node's /score is asked of its ksense
 * agent, and a pending pod is bound as soon as a node can take it.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include "log.h"
#include "opts.h"
#include "scheduler/extender.h"
#include "scheduler/sched.h"
#include "status_http.h"
#include "version.h"
#include "scheduler/metrics.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense-scheduler [OPTIONS]\n"
		"\n"
		"Watches pods with spec.schedulerName=fuzzy-scheduler and no node, filters the\n"
		"nodes (Ready, not cordoned, taints and tolerations, nodeSelector, required node\n"
		"affinity, pod capacity, CPU, memory and extended resources against\n"
		"allocatable, host ports, required pod anti-affinity on kubernetes.io/hostname),\n"
		"asks each remaining node's ksense agent for its /score, drops nodes in deny,\n"
		"and binds the pod to the lowest score (ties: most free CPU) through the\n"
		"pods/binding subresource.  A pod with a constraint it does not evaluate (pod\n"
		"affinity, topology spread, PersistentVolumeClaims, ...) stays Pending with an\n"
		"Event naming it: schedule such pods with kube-scheduler and --extender.\n"
		"Pods are decided a few at a time, with the watches and the lease read between\n"
		"steps; bindings go out from worker threads, each with a timeout, and the\n"
		"pod's requests count against the node from the decision on.  A binding whose\n"
		"node changed before it was sent is decided again; one whose outcome is unknown\n"
		"is checked by GET.  When no node fits the pod stays Pending with a\n"
		"FailedScheduling Event naming each node's reason, and is retried with backoff\n"
		"and whenever a node or a score changes.  Two or more replicas elect one leader\n"
		"with a Lease; nothing is sent once the lease cannot be proven held.\n"
		"\n"
		"Cluster access:\n"
		"  --kubeconfig FILE       kubeconfig (else $KUBECONFIG, ~/.kube/config, in-cluster)\n"
		"  --context NAME          kubeconfig context (default: current-context)\n"
		"  --qps N --burst N       client-side request limit (default 50, 100)\n"
		"Scheduling:\n"
		"  --scheduler-name NAME   pods' spec.schedulerName to serve (default fuzzy-scheduler)\n"
		"  --agent-namespace NS    where the ksense agents run (default ksense-system)\n"
		"  --agent-selector K=V    the agents' pod label (default\n"
		"                          app.kubernetes.io/name=ksense-node)\n"
		"  --agent-port PORT       agent port unless the pod's ksense.io/agent-port\n"
		"                          annotation says otherwise (default 5000)\n"
		"  --score-timeout-ms MS   one /score round over all nodes (default 300)\n"
		"  --score-ttl-ms MS       a node's score is reused this long (default 1000,\n"
		"                          the kernel window)\n"
		"  --backoff-initial-ms MS --backoff-max-ms MS\n"
		"                          retry of an unschedulable pod (default 1000, 10000)\n"
		"  --percentage-of-nodes-to-score P\n"
		"                          feasible nodes a decision scores, as kube-scheduler's\n"
		"                          percentageOfNodesToScore (default 0: all up to 100\n"
		"                          nodes, then 50%% minus 1%% per 125 nodes, at least 5%%\n"
		"                          and at least 100 nodes)\n"
		"Binding:\n"
		"  --bind-workers N        bindings (and Events) sent at once (default 8)\n"
		"  --bind-timeout-ms MS    one binding request; past it the outcome is unknown and\n"
		"                          the pod is checked by GET after a backoff (default 5000,\n"
		"                          at most half of lease-duration - retry-period; must stay\n"
		"                          below it)\n"
		"  --step-pods N           pods decided between two looks at the watches and the\n"
		"                          lease (default 32)\n"
		"  --no-scheduled-events   no Normal 'Scheduled' Event per binding\n"
		"  --profile seed          the replaced seed's pacing: POLL_S=10, MAX_PER_CYCLE=1,\n"
		"                          PLACEMENT_DELAY_S=5 (env FUZZY_SCHEDULER_PROFILE)\n"
		"Extender mode (kube-scheduler keeps every predicate; ksense adds its verdict):\n"
		"  --extender              serve kube-scheduler's HTTP extender instead of\n"
		"                          scheduling: POST .../filter drops nodes in deny (to\n"
		"                          failedAndUnresolvableNodes), POST .../prioritize maps\n"
		"                          the ksense score 0..100 to 10..0; nodeCacheCapable true\n"
		"                          (node names) or false (Node objects); no leader election\n"
		"                          (every replica serves).  See k8s/extender/.\n"
		"  --extender-addr ADDR    (default 0.0.0.0)\n"
		"  --extender-port PORT    (default 8888; 0: any free port, logged)\n"
		"  --tls-cert FILE --tls-key FILE\n"
		"                          serve HTTPS (enableHTTPS in the extender config)\n"
		"Leader election:\n"
		"  --no-leader-elect       act alone (one replica only)\n"
		"  --lease-namespace NS    (default $POD_NAMESPACE, else ksense-system)\n"
		"  --lease-name NAME       (default ksense-scheduler)\n"
		"  --identity ID           (default $POD_NAME, else hostname_pid)\n"
		"  --lease-duration-s S --renew-deadline-s S --retry-period-s S\n"
		"                          (default 15, 10, 2, as client-go)\n"
		"Other:\n"
		"  --status-addr HOST:PORT plain-HTTP status port: GET /healthz (the main loop\n"
		"                          turns: 503 when it has not for 10 s) and GET /metrics\n"
		"                          (pending pods by queue, attempts by result, the\n"
		"                          pending-to-bound histogram, binding errors, agent\n"
		"                          score requests and failures, leadership; with\n"
		"                          --extender: calls by verb, bad requests, agent score\n"
		"                          requests and failures); default\n"
		"                          :8080, :0 any free port (logged), none: off\n"
		"                          (env KSENSE_SCHEDULER_STATUS_ADDR)\n"
		"  --latency-log FILE      append 'ns/name node ms-pending' per binding (bench)\n"
		"  -v, --verbose           debug logs\n"
		"  -h, --help              this text\n"
		"  --version               version, commit and pin schema\n"
		"\n"
		"Environment (the seed's settings, same meaning):\n"
		"  FUZZY_SCHEDULER_POLL_S             resync period: unschedulable pods are\n"
		"                                     retried and scores re-read (default 30;\n"
		"                                     binding itself is event-driven)\n"
		"  FUZZY_SCHEDULER_MAX_PER_CYCLE      pods bound per cycle, a cycle every\n"
		"                                     POLL_S when set (default 0: no limit)\n"
		"  FUZZY_SCHEDULER_PLACEMENT_DELAY_S  pause after each binding so the node's\n"
		"                                     score sees the new pod (default 0)\n"
		"\n"
		"Logs are logfmt on stderr.  SIGTERM/SIGINT stop (the leader releases the Lease);\n"
		"SIGUSR1 logs the counters (bindings, checks, score rounds, agent requests).\n"
		"Exit status: 0 on a signal, 2 on bad options or configuration.\n");
}

static int env_int(const char *name, int lo, int hi, int *out)
{
	const char *v = ks_env(name);

	return v ? ks_opt_int("ksense-scheduler", name, v, lo, hi, out) : 0;
}

static void defaults(struct sched_opts *o)
{
	const char *pod = getenv("POD_NAME"), *ns = getenv("POD_NAMESPACE");
	char host[128] = "ksense-scheduler";

	memset(o, 0, sizeof(*o));
	strcpy(o->scheduler_name, "fuzzy-scheduler");
	strcpy(o->agent_namespace, KS_AGENT_NAMESPACE);
	strcpy(o->agent_label_key, "app.kubernetes.io/name");
	strcpy(o->agent_label_value, "ksense-node");
	o->agent_port = KS_AGENT_PORT;
	o->score_timeout_ms = 300;
	o->score_ttl_ms = 1000;
	o->poll_s = 30;
	o->backoff_initial_ms = 1000;
	o->backoff_max_ms = 10000;
	o->scheduled_events = true;
	o->leader_elect = true;
	snprintf(o->lease_namespace, sizeof(o->lease_namespace), "%s", ns && *ns ? ns : KS_AGENT_NAMESPACE);
	strcpy(o->lease_name, "ksense-scheduler");
	gethostname(host, sizeof(host) - 1);
	if (pod && *pod)
		snprintf(o->identity, sizeof(o->identity), "%s", pod);
	else
		snprintf(o->identity, sizeof(o->identity), "%s_%d", host, (int)getpid());
	o->lease_duration_s = 15;
	o->renew_deadline_s = 10;
	o->retry_period_s = 2;
	o->bind_workers = 8;
	o->bind_timeout_ms = 0; /* 0: 5000, or less when the lease is short (parse_args) */
	o->step_pods = 32;
}

static int set_profile(struct sched_opts *o, const char *p)
{
	if (!strcmp(p, "seed")) {
		o->poll_s = 10;
		o->max_per_cycle = 1;
		o->placement_delay_s = 5;
		return 0;
	}
	if (!strcmp(p, "default") || !*p)
		return 0;
	fprintf(stderr, "ksense-scheduler: unknown profile '%s' (seed or default)\n", p);
	return -EINVAL;
}

struct cli {
	const char *kubeconfig, *context;
	int qps, burst;
	bool verbose;
	bool extender;
	struct extender_opts eo;
	const char *status_addr;
};

static int copy(char *dst, size_t len, const char *what, const char *v)
{
	if (!*v || strlen(v) >= len) {
		fprintf(stderr, "ksense-scheduler: %s must be 1..%zu characters\n", what, len - 1);
		return -EINVAL;
	}
	strcpy(dst, v);
	return 0;
}

enum {
	OPT_KUBECONFIG = 256, OPT_CONTEXT, OPT_QPS, OPT_BURST, OPT_SCHEDULER_NAME, OPT_AGENT_NAMESPACE,
	OPT_AGENT_SELECTOR, OPT_AGENT_PORT, OPT_SCORE_TIMEOUT_MS, OPT_SCORE_TTL_MS, OPT_BACKOFF_INITIAL_MS,
	OPT_BACKOFF_MAX_MS, OPT_PROFILE, OPT_LEASE_NAMESPACE, OPT_LEASE_NAME, OPT_IDENTITY,
	OPT_LEASE_DURATION_S, OPT_RENEW_DEADLINE_S, OPT_RETRY_PERIOD_S, OPT_LATENCY_LOG, OPT_BIND_WORKERS,
	OPT_BIND_TIMEOUT_MS, OPT_STEP_PODS, OPT_NODES_PCT, OPT_EXTENDER_ADDR, OPT_EXTENDER_PORT, OPT_TLS_CERT,
	OPT_TLS_KEY, OPT_STATUS_ADDR, OPT_VERSION, OPT_NO_LEADER_ELECT, OPT_NO_SCHEDULED_EVENTS, OPT_EXTENDER,
};

static const struct option longopts[] = {
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "context", required_argument, NULL, OPT_CONTEXT },
	{ "qps", required_argument, NULL, OPT_QPS },
	{ "burst", required_argument, NULL, OPT_BURST },
	{ "scheduler-name", required_argument, NULL, OPT_SCHEDULER_NAME },
	{ "agent-namespace", required_argument, NULL, OPT_AGENT_NAMESPACE },
	{ "agent-selector", required_argument, NULL, OPT_AGENT_SELECTOR },
	{ "agent-port", required_argument, NULL, OPT_AGENT_PORT },
	{ "score-timeout-ms", required_argument, NULL, OPT_SCORE_TIMEOUT_MS },
	{ "score-ttl-ms", required_argument, NULL, OPT_SCORE_TTL_MS },
	{ "backoff-initial-ms", required_argument, NULL, OPT_BACKOFF_INITIAL_MS },
	{ "backoff-max-ms", required_argument, NULL, OPT_BACKOFF_MAX_MS },
	{ "profile", required_argument, NULL, OPT_PROFILE },
	{ "lease-namespace", required_argument, NULL, OPT_LEASE_NAMESPACE },
	{ "lease-name", required_argument, NULL, OPT_LEASE_NAME },
	{ "identity", required_argument, NULL, OPT_IDENTITY },
	{ "lease-duration-s", required_argument, NULL, OPT_LEASE_DURATION_S },
	{ "renew-deadline-s", required_argument, NULL, OPT_RENEW_DEADLINE_S },
	{ "retry-period-s", required_argument, NULL, OPT_RETRY_PERIOD_S },
	{ "latency-log", required_argument, NULL, OPT_LATENCY_LOG },
	{ "bind-workers", required_argument, NULL, OPT_BIND_WORKERS },
	{ "bind-timeout-ms", required_argument, NULL, OPT_BIND_TIMEOUT_MS },
	{ "step-pods", required_argument, NULL, OPT_STEP_PODS },
	{ "percentage-of-nodes-to-score", required_argument, NULL, OPT_NODES_PCT },
	{ "extender-addr", required_argument, NULL, OPT_EXTENDER_ADDR },
	{ "extender-port", required_argument, NULL, OPT_EXTENDER_PORT },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "status-addr", required_argument, NULL, OPT_STATUS_ADDR },
	{ "no-leader-elect", no_argument, NULL, OPT_NO_LEADER_ELECT },
	{ "no-scheduled-events", no_argument, NULL, OPT_NO_SCHEDULED_EVENTS },
	{ "extender", no_argument, NULL, OPT_EXTENDER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{}
};

/* A numeric option's range and field, by option id. */
static int *int_field(int id, struct sched_opts *o, struct cli *c, int *lo, int *hi)
{
	static const struct {
		int id, lo, hi;
	} ranges[] = {
		{ OPT_QPS, 0, 100000 }, { OPT_BURST, 1, 100000 }, { OPT_AGENT_PORT, 1, 65535 },
		{ OPT_SCORE_TIMEOUT_MS, 10, 60000 }, { OPT_SCORE_TTL_MS, 0, 3600000 },
		{ OPT_BACKOFF_INITIAL_MS, 1, 3600000 }, { OPT_BACKOFF_MAX_MS, 1, 3600000 },
		{ OPT_LEASE_DURATION_S, 1, 3600 }, { OPT_RENEW_DEADLINE_S, 1, 3600 }, { OPT_RETRY_PERIOD_S, 1, 3600 },
		{ OPT_BIND_WORKERS, 1, 256 }, { OPT_BIND_TIMEOUT_MS, 50, 600000 }, { OPT_STEP_PODS, 1, 100000 },
		{ OPT_NODES_PCT, 0, 100 }, { OPT_EXTENDER_PORT, 0, 65535 },
	};
	int *const fields[] = {
		&c->qps, &c->burst, &o->agent_port, &o->score_timeout_ms, &o->score_ttl_ms, &o->backoff_initial_ms,
		&o->backoff_max_ms, &o->lease_duration_s, &o->renew_deadline_s, &o->retry_period_s,
		&o->bind_workers, &o->bind_timeout_ms, &o->step_pods, &o->nodes_to_score_pct, &c->eo.port,
	};
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++)
		if (ranges[i].id == id) {
			*lo = ranges[i].lo;
			*hi = ranges[i].hi;
			return fields[i];
		}
	return NULL;
}

/* A text option's buffer, by option id. */
static int str_field(int id, struct sched_opts *o, char **dst, size_t *len)
{
	switch (id) {
	case OPT_SCHEDULER_NAME: *dst = o->scheduler_name; *len = sizeof(o->scheduler_name); return 0;
	case OPT_AGENT_NAMESPACE: *dst = o->agent_namespace; *len = sizeof(o->agent_namespace); return 0;
	case OPT_LEASE_NAMESPACE: *dst = o->lease_namespace; *len = sizeof(o->lease_namespace); return 0;
	case OPT_LEASE_NAME: *dst = o->lease_name; *len = sizeof(o->lease_name); return 0;
	case OPT_IDENTITY: *dst = o->identity; *len = sizeof(o->identity); return 0;
	default: return -ENOENT;
	}
}

/* 0 go on, 1 exit 0 (help, version), -1 exit 2 */
static int parse_args(int argc, char **argv, struct sched_opts *o, struct cli *c, const char **latency_log)
{
	const char *profile = getenv("FUZZY_SCHEDULER_PROFILE");
	struct ks_opts p;
	int id, first;

	if (profile && set_profile(o, profile))
		return -1;
	ks_opts_init(&p, "ksense-scheduler", argc, argv, "vh", longopts);
	while ((id = ks_opts_next(&p)) != -1) {
		const char *v = p.value;
		int *num, lo, hi;
		size_t len;
		char *dst;

		if ((num = int_field(id, o, c, &lo, &hi))) {
			if (ks_opt_int(p.prog, p.name, v, lo, hi, num))
				return -1;
			continue;
		}
		if (!str_field(id, o, &dst, &len)) {
			if (copy(dst, len, p.name, v))
				return -1;
			continue;
		}
		switch (id) {
		case 'h':
			usage(stdout);
			return 1;
		case OPT_VERSION:
			ks_print_version(stdout, "ksense-scheduler");
			return 1;
		case 'v': c->verbose = true; break;
		case OPT_NO_LEADER_ELECT: o->leader_elect = false; break;
		case OPT_NO_SCHEDULED_EVENTS: o->scheduled_events = false; break;
		case OPT_EXTENDER: c->extender = true; break;
		case OPT_KUBECONFIG: c->kubeconfig = v; break;
		case OPT_STATUS_ADDR: c->status_addr = v; break;
		case OPT_CONTEXT: c->context = v; break;
		case OPT_LATENCY_LOG: *latency_log = v; break;
		case OPT_EXTENDER_ADDR: c->eo.addr = v; break;
		case OPT_TLS_CERT: c->eo.cert_path = v; break;
		case OPT_TLS_KEY: c->eo.key_path = v; break;
		case OPT_PROFILE:
			if (set_profile(o, v))
				return -1;
			break;
		case OPT_AGENT_SELECTOR: {
			const char *e = strchr(v, '=');

			if (!e || e == v || strchr(e + 1, '=') || strchr(v, ',') ||
			    (size_t)(e - v) >= sizeof(o->agent_label_key) || strlen(e + 1) >= sizeof(o->agent_label_value)) {
				fprintf(stderr, "ksense-scheduler: --agent-selector: '%s' is not one KEY=VALUE label\n", v);
				return -1;
			}
			snprintf(o->agent_label_key, sizeof(o->agent_label_key), "%.*s", (int)(e - v), v);
			snprintf(o->agent_label_value, sizeof(o->agent_label_value), "%s", e + 1);
			break;
		}
		default:
			return -1;
		}
	}
	if (ks_opts_operands(&p, 0, &first))
		return -1;
	/* the seed's variables, given explicitly, win over a profile */
	if (env_int("FUZZY_SCHEDULER_POLL_S", 1, 86400, &o->poll_s) ||
	    env_int("FUZZY_SCHEDULER_MAX_PER_CYCLE", 0, 1000000, &o->max_per_cycle) ||
	    env_int("FUZZY_SCHEDULER_PLACEMENT_DELAY_S", 0, 86400, &o->placement_delay_s))
		return -1;
	if (!c->eo.cert_path != !c->eo.key_path) {
		fprintf(stderr, "ksense-scheduler: --tls-cert and --tls-key go together\n");
		return -1;
	}
	if (c->eo.cert_path && !c->extender) {
		fprintf(stderr, "ksense-scheduler: --tls-cert/--tls-key are for --extender\n");
		return -1;
	}
	if (c->eo.cert_path) {
		/* the one listener speaks HTTPS */
		c->eo.tls_addr = c->eo.addr;
		c->eo.tls_port = c->eo.port;
		c->eo.addr = NULL;
	}
	if (o->backoff_max_ms < o->backoff_initial_ms) {
		fprintf(stderr, "ksense-scheduler: --backoff-max-ms is below --backoff-initial-ms\n");
		return -1;
	}
	if (o->leader_elect && !(o->renew_deadline_s < o->lease_duration_s && o->retry_period_s < o->renew_deadline_s)) {
		fprintf(stderr, "ksense-scheduler: leader election needs retry-period < renew-deadline < "
				"lease-duration (got %d, %d, %d)\n",
			o->retry_period_s, o->renew_deadline_s, o->lease_duration_s);
		return -1;
	}
	/* a binding must land before anyone else can hold the lease: one sent
	 * right after a renewal has lease-duration - retry-period s for that */
	if (!o->bind_timeout_ms) {
		o->bind_timeout_ms = 5000;
		if (o->leader_elect && o->bind_timeout_ms > 500 * (o->lease_duration_s - o->retry_period_s))
			o->bind_timeout_ms = 500 * (o->lease_duration_s - o->retry_period_s);
	}
	if (o->leader_elect && o->bind_timeout_ms >= 1000LL * (o->lease_duration_s - o->retry_period_s)) {
		fprintf(stderr, "ksense-scheduler: --bind-timeout-ms %d must be below (lease-duration - retry-period) "
				"= %d ms\n", o->bind_timeout_ms, 1000 * (o->lease_duration_s - o->retry_period_s));
		return -1;
	}
	return 0;
}

static long long min_ll(long long a, long long b)
{
	return a < b ? a : b;
}

/* The counters, on SIGUSR1 and at the end. */
static void log_stats(struct scheduler *s, const char *msg)
{
	struct binder_stats bs = { 0 };

	if (s->binder)
		binder_stats(s->binder, &bs);
	ks_info(msg, "bound=%llu conflicts=%llu bind_errors=%llu bind_unknown=%llu verified=%llu taken_back=%llu "
		"dropped_assumed=%llu unschedulable=%llu events=%llu events_failed=%llu events_dropped=%llu "
		"score_rounds=%llu score_failures=%llu score_waits=%llu agent_requests=%llu nodes=%d pods=%u queued=%d",
		s->st.bound, s->st.bind_conflicts, s->st.bind_errors, s->st.bind_unknown, s->st.verified,
		s->st.requeued_changed, s->st.dropped_assumed, s->st.unschedulable, s->st.events_queued,
		bs.events_failed, bs.events_dropped, s->st.score_rounds, s->st.score_failures, s->st.score_waits,
		s->scorer ? scorer_requests(s->scorer) : 0, s->nnodes, s->npods, s->nheap);
}

/* Leadership as the lease proves it now; a loss (or a loss and a gain
 * between two looks) drops everything assumed. */
static void leadership(struct scheduler *s, long long now)
{
	bool leading = !s->lease || kube_lease_held(s->lease, now);
	unsigned long term = kube_lease_term(s->lease);
	uint64_t v;

	if (s->lease && read(kube_lease_fd(s->lease), &v, sizeof(v)) < 0 && errno != EAGAIN)
		ks_warn("lease: cannot read its eventfd", "err=\"%s\"", strerror(errno));
	if (s->leading && (!leading || term != s->lease_term))
		sched_drop_assumed(s, leading ? "leadership was lost and gained again" : "leadership lost");
	if (leading && (!s->leading || term != s->lease_term))
		sched_requeue_all(s, "became leader");
	s->leading = leading;
	s->lease_term = term;
}

static int run(struct scheduler *s, int sfd)
{
	informer_init(&s->nodes, "nodes", "/api/v1/nodes", s->kc, &sched_node_ops, s);
	informer_init(&s->pods, "pods", "/api/v1/pods", s->kc, &sched_pod_ops, s);
	s->next_resync_ms = informer_now_ms() + 1000LL * s->o.poll_s;
	for (;;) {
		long long now = informer_now_ms(), wake = now + 1000, due;
		struct pollfd pfd[6] = { { .fd = sfd, .events = POLLIN },
					 { .fd = informer_fd(&s->nodes), .events = POLLIN },
					 { .fd = informer_fd(&s->pods), .events = POLLIN },
					 { .fd = binder_fd(s->binder), .events = POLLIN },
					 { .fd = scorer_fd(s->scorer), .events = POLLIN },
					 { .fd = kube_lease_fd(s->lease), .events = POLLIN } };
		struct score_res *res;
		int timeout, nres;

		/* what changed first: nodes, so the pods' first list finds them */
		wake = min_ll(wake, informer_step(&s->nodes, now));
		if (s->nodes.synced)
			wake = min_ll(wake, informer_step(&s->pods, now));
		sched_jobs_done(s, binder_done(s->binder));
		nres = scorer_results(s->scorer, &res);
		if (nres)
			sched_scores_done(s, res, nres);
		else
			free(res);
		now = informer_now_ms();
		leadership(s, now);
		sched_metrics_publish(s->metrics, s, now);
		if (now >= s->next_resync_ms) {
			sched_requeue_all(s, "resync period");
			if (s->leading)
				sched_refresh_all(s, now);
			s->next_resync_ms = now + 1000LL * s->o.poll_s;
		}
		wake = min_ll(wake, s->next_resync_ms);
		if (s->nwaiting) {
			if (now >= s->wait_check_ms)
				sched_wake_waiting(s);
			else
				wake = min_ll(wake, s->wait_check_ms);
		}
		if (s->leading) {
			long long until = kube_lease_valid_until_ms(s->lease);

			sched_step(s, now);
			wake = min_ll(wake, sched_keep_warm(s, informer_now_ms()));
			if (s->lease && until > now)
				wake = min_ll(wake, until);
			due = sched_next_due(s);
			if (s->step_more)
				wake = now;
			else if (due >= 0)
				wake = min_ll(wake, due > s->next_cycle_ms ? due : s->next_cycle_ms);
		}
		pfd[1].fd = informer_fd(&s->nodes);
		pfd[2].fd = informer_fd(&s->pods);
		now = informer_now_ms();
		timeout = wake <= now ? 0 : (int)min_ll(wake - now, INT_MAX);
		if (poll(pfd, 6, timeout) < 0 && errno != EINTR) {
			ks_err("poll", "err=\"%s\"", strerror(errno));
			return 1;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) != sizeof(si))
				continue;
			if (si.ssi_signo == SIGUSR1) {
				log_stats(s, "stats");
				continue;
			}
			ks_info("stopping", "signal=%u", si.ssi_signo);
			return 0;
		}
	}
}

int main(int argc, char **argv)
{
	static struct scheduler s;
	struct kube_config kc;
	struct cli c = { .qps = 50, .burst = 100, .eo = { .addr = "0.0.0.0", .port = 8888 }, .status_addr = ":8080" };
	struct ks_status *statusd = NULL;
	char err[1024], ua[160];
	sigset_t mask;
	int rc, sfd = -1, status = 2;

	defaults(&s.o);
	if (getenv("KSENSE_SCHEDULER_STATUS_ADDR") && *getenv("KSENSE_SCHEDULER_STATUS_ADDR"))
		c.status_addr = getenv("KSENSE_SCHEDULER_STATUS_ADDR");
	rc = parse_args(argc, argv, &s.o, &c, &s.latency_log);
	if (rc)
		return rc > 0 ? 0 : 2;
	ks_log_init("ksense-scheduler", c.verbose);
	if (kube_config_load(&kc, c.kubeconfig, c.context, err, sizeof(err))) {
		fprintf(stderr, "ksense-scheduler: %s\n", err);
		return 2;
	}
	s.kc = kube_client_new(&kc, c.qps, c.burst, err, sizeof(err));
	if (!s.kc) {
		fprintf(stderr, "ksense-scheduler: %s: %s\n", kc.source, err);
		kube_config_free(&kc);
		return 2;
	}
	/* the API server's audit log (and the fake's binding log) says which
	 * replica made each request */
	snprintf(ua, sizeof(ua), "ksense-scheduler/1 (%.120s)", s.o.identity);
	kube_client_set_user_agent(s.kc, ua);
	if (c.extender) {
		static struct extender_metrics em;

		kube_config_free(&kc);
		if (ks_status_open("--status-addr", c.status_addr, sched_extender_metrics_render,
				   sched_extender_metrics_health, &em, &statusd, err, sizeof(err))) {
			fprintf(stderr, "ksense-scheduler: %s\n", err);
			kube_client_free(s.kc);
			return 2;
		}
		if (statusd)
			ks_info("status port listening", "status_port=%d", ks_status_port(statusd));
		status = sched_extender_run(&s.o, &c.eo, s.kc, &em);
		ks_status_stop(statusd);
		kube_client_free(s.kc);
		return status;
	}
	ks_info("starting", "server=%s config=\"%s\" scheduler=%s leader_elect=%d identity=%s poll_s=%d "
		"max_per_cycle=%d placement_delay_s=%d qps=%d bind_workers=%d bind_timeout_ms=%d", kc.server, kc.source,
		s.o.scheduler_name, s.o.leader_elect, s.o.identity, s.o.poll_s, s.o.max_per_cycle,
		s.o.placement_delay_s, c.qps, s.o.bind_workers, s.o.bind_timeout_ms);
	/* blocked before any thread starts, so only the signalfd sees them */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) || (sfd = signalfd(-1, &mask, SFD_CLOEXEC)) < 0) {
		ks_err("signalfd", "err=\"%s\"", strerror(errno));
		goto out;
	}
	if (sched_cache_init(&s) || !(s.metrics = sched_metrics_new())) {
		ks_err("out of memory", "what=cache%s", "");
		goto out;
	}
	if (ks_status_open("--status-addr", c.status_addr, sched_metrics_render, sched_metrics_health, s.metrics,
			   &statusd, err, sizeof(err))) {
		fprintf(stderr, "ksense-scheduler: %s\n", err);
		goto out;
	}
	if (statusd)
		ks_info("status port listening", "status_port=%d", ks_status_port(statusd));
	if (s.o.leader_elect) {
		struct kube_lease_opts lo = { .duration_s = s.o.lease_duration_s, .renew_deadline_s = s.o.renew_deadline_s,
					      .retry_period_s = s.o.retry_period_s, .user_agent = ua };

		snprintf(lo.ns, sizeof(lo.ns), "%s", s.o.lease_namespace);
		snprintf(lo.name, sizeof(lo.name), "%s", s.o.lease_name);
		snprintf(lo.identity, sizeof(lo.identity), "%s", s.o.identity);
		if (kube_lease_start(&kc, &lo, &s.lease, err, sizeof(err))) {
			fprintf(stderr, "ksense-scheduler: %s\n", err);
			goto out;
		}
	}
	{
		struct binder_opts bo = { .workers = s.o.bind_workers, .qps = c.qps, .burst = c.burst,
					  .timeout_ms = s.o.bind_timeout_ms, .user_agent = ua, .lease = s.lease,
					  .component = s.o.scheduler_name, .instance = s.o.identity, .max_events = 10000 };

		if (binder_start(&s.binder, &kc, &bo, err, sizeof(err)) ||
		    scorer_start(&s.scorer, s.o.score_timeout_ms, err, sizeof(err))) {
			fprintf(stderr, "ksense-scheduler: %s\n", err);
			goto out;
		}
	}
	status = run(&s, sfd);
	log_stats(&s, "stopped");
	/* no binding after this: then the lease can go */
	binder_stop(s.binder);
	s.binder = NULL;
	kube_lease_stop(s.lease, true);
	s.lease = NULL;
out:
	binder_stop(s.binder);
	s.binder = NULL;
	scorer_stop(s.scorer);
	kube_lease_stop(s.lease, true);
	/* the status thread reads the snapshot: it goes first */
	ks_status_stop(statusd);
	sched_metrics_free(s.metrics);
	kube_config_free(&kc);
	informer_close(&s.pods);
	informer_close(&s.nodes);
	sched_cache_free(&s);
	kube_client_free(s.kc);
	if (sfd >= 0)
		close(sfd);
	return status;
}
