// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-scaler: the kernel-aware autoscaler.  Polls the nodes' ksense
 * agents for per-pod bottleneck classes, maps pods to Deployments and
 * scales the opted-in ones only when their pods are working (CPU), never
 * when they wait on disk (BLOCK), and through the named dependency when
 * they wait on something else (OFFCPU).  See user/scaler/scaler.h.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "agent_client.h"
#include "kube.h"
#include "kube_lease.h"
#include "log.h"
#include "opts.h"
#include "scaler/scaler.h"
#include "status_http.h"
#include "version.h"
#include "scaler/metrics.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense-scaler [OPTIONS]\n"
		"\n"
		"Scales Deployments by what their pods are waiting for, as the nodes' ksense\n"
		"agents see it in the kernel.  Every poll it lists the agent pods, GETs /pods\n"
		"from all of them at once, maps each reported pod to its Deployment (pod ->\n"
		"ReplicaSet -> Deployment by controller ownerReferences), and for each\n"
		"Deployment annotated ksense.io/autoscale: \"true\" takes the majority class of\n"
		"its reported pods (a tie goes to BLOCK, then OFFCPU, CPU, IDLE):\n"
		"\n"
		"  CPU     mean CPU demand (on-CPU plus run-queue wait) >=\n"
		"          --cpu-threshold-permille for --up-windows polls in a\n"
		"          row: one replica more (PATCH deployments/NAME/scale), then no other\n"
		"          step up for --up-cooldown-s.  Never above max-replicas.\n"
		"  BLOCK   never scaled up (more replicas queue on the same disk): a Warning\n"
		"          Event ScaleUpRefused with block ms/s, latency and D-state ms/s.\n"
		"  OFFCPU  if ksense.io/dependency names a Deployment that is CPU-bound by the\n"
		"          CPU rule and is itself annotated autoscale \"true\" (a team cannot\n"
		"          make the scaler touch a Deployment that did not opt in), that one\n"
		"          gets one replica more (within its own min/max) and an Event\n"
		"          DependencyScaled goes to the waiter; otherwise an Event OffCpuWait\n"
		"          names the wait (S and D ms/s, top function, why no scale).\n"
		"  IDLE    idle for --down-stabilization-s: one replica fewer, never below\n"
		"          min-replicas; the window then starts again.\n"
		"\n"
		"Every scale and refusal is a core/v1 Event on the Deployment (source\n"
		"ksense-scaler) and a logfmt line on stderr with the evidence (class, pods per\n"
		"class, on-CPU, S/D/block rates, top function).  An Event about a lasting\n"
		"condition is posted at most once per --event-interval-s per Deployment and\n"
		"reason; repeats raise its count.  The scale PATCH carries the Deployment's\n"
		"resourceVersion: a 409 (changed meanwhile) is retried on the next poll.\n"
		"\n"
		"Options (each also read from the environment variable shown):\n"
		"  --interval-s S            poll period, 0.05..3600 (KSENSE_SCALER_INTERVAL_S, 2)\n"
		"  --agent-timeout-ms MS     deadline for all agents' /pods, 10..60000\n"
		"                            (KSENSE_SCALER_AGENT_TIMEOUT_MS, 1000)\n"
		"  --agent-namespace NS      agent pods' namespace (KSENSE_SCALER_AGENT_NAMESPACE,\n"
		"                            " KS_AGENT_NAMESPACE ")\n"
		"  --agent-selector SEL      agent pods' label selector (KSENSE_SCALER_AGENT_SELECTOR,\n"
		"                            " KS_AGENT_SELECTOR ")\n"
		"  --agent-port PORT         agent port unless the pod's " KS_AGENT_PORT_ANNOTATION "\n"
		"                            annotation says otherwise (KSENSE_SCALER_AGENT_PORT, 5000)\n"
		"  --kubeconfig FILE         kubeconfig (KUBECONFIG; default ~/.kube/config, then\n"
		"                            in-cluster service account)\n"
		"  --context NAME            kubeconfig context (KSENSE_SCALER_CONTEXT; current-context)\n"
		"  --namespace NS            act only on Deployments and pods in NS\n"
		"                            (KSENSE_SCALER_NAMESPACE; default all namespaces)\n"
		"  --cpu-threshold-permille N  mean CPU demand per pod (on-CPU + run-queue wait),\n"
		"                            per-mille of one CPU, 1..100000\n"
		"                            (KSENSE_SCALER_CPU_THRESHOLD_PERMILLE, 800)\n"
		"  --up-windows N            consecutive CPU polls before a step up, 1..1000\n"
		"                            (KSENSE_SCALER_UP_WINDOWS, 1: the kernel has already\n"
		"                            held the class CPU for its hysteresis windows)\n"
		"  --up-cooldown-s S         no step up this soon after a scale, 0..86400\n"
		"                            (KSENSE_SCALER_UP_COOLDOWN_S, 30)\n"
		"  --down-stabilization-s S  idle this long before a step down, 0..86400\n"
		"                            (KSENSE_SCALER_DOWN_STABILIZATION_S, 60)\n"
		"  --event-interval-s S      one Event per Deployment and reason per S, 0..86400\n"
		"                            (KSENSE_SCALER_EVENT_INTERVAL_S, 300)\n"
		"  --dry-run                 log decisions (\"would scale\"), change nothing: no\n"
		"                            PATCH, no Event (KSENSE_SCALER_DRY_RUN=1)\n"
		"  --no-leader-elect         act alone; else replicas elect one leader with the\n"
		"                            Lease LEASE-NAMESPACE/LEASE-NAME and only it polls and\n"
		"                            writes (KSENSE_SCALER_NO_LEADER_ELECT=1)\n"
		"  --lease-namespace NS      (KSENSE_SCALER_LEASE_NAMESPACE; $POD_NAMESPACE, else\n"
		"                            ksense-system)\n"
		"  --lease-name NAME         (KSENSE_SCALER_LEASE_NAME, ksense-scaler)\n"
		"  --identity ID             this replica (KSENSE_SCALER_IDENTITY; $POD_NAME, else\n"
		"                            hostname_pid); also reportingInstance of its Events\n"
		"  --lease-duration-s S --renew-deadline-s S --retry-period-s S\n"
		"                            (15, 10, 2, as client-go)\n"
		"  --status-addr HOST:PORT   plain-HTTP status port (KSENSE_SCALER_STATUS_ADDR):\n"
		"                            GET /healthz (the loop turns: 503 when it has not for\n"
		"                            3 intervals + 30 s) and GET /metrics (decisions by\n"
		"                            Deployment, class and action, last scale time,\n"
		"                            polls, agents, leadership); default :8080, :0 any\n"
		"                            free port (logged), none: off\n"
		"  --once                    one poll, then exit (status 1 if the API failed)\n"
		"  --max-polls N             exit 0 after N polls (tests and benchmarks)\n"
		"  -v, --verbose             debug logs: every pod and poll (KSENSE_SCALER_VERBOSE=1)\n"
		"  -h, --help                this text\n"
		"  --version                 version, commit and pin schema\n"
		"\n"
		"Deployment annotations:\n"
		"  ksense.io/autoscale: \"true\"     opt in (anything else: left alone, unread)\n"
		"  ksense.io/min-replicas: \"N\"     1..100000, default 1\n"
		"  ksense.io/max-replicas: \"N\"     1..100000, default 10 (or min-replicas if\n"
		"                                   that is higher and max is not given)\n"
		"  ksense.io/dependency: \"name\" or \"namespace/name\" of the Deployment its pods\n"
		"                                   wait for (same namespace by default)\n"
		"A non-numeric, zero, negative or too large min/max, min > max, or a malformed\n"
		"dependency: a Warning Event InvalidAnnotation and no scaling at all.  Replicas\n"
		"already outside min..max (set by hand) are not clamped, only never moved\n"
		"further out: idle still steps down one at a time, CPU never steps above max.\n"
		"\n"
		"A scale also writes ksense.io/last-scale (time, direction, from, to, by) into\n"
		"the Deployment in the same PATCH: the cooldown and the stabilization window\n"
		"count from it, so a restarted or new replica waits them out too.  A Deployment\n"
		"that a HorizontalPodAutoscaler also targets is left alone, with a Warning\n"
		"Event HPAConflict naming the HPA.\n"
		"\n"
		"Pods whose ReplicaSet or Deployment is gone, agents that are down, slow or\n"
		"send garbage are logged and skipped.  When the API server cannot be reached\n"
		"the poll is retried with capped exponential backoff (0.5 s .. 30 s, jitter).\n"
		"\n"
		"Exit status: 0 on SIGTERM/SIGINT or after --max-polls; 1 when --once could not\n"
		"reach the API or the client could not be set up; 2 on bad options.\n"
		"\n"
		"Examples:\n"
		"  kubectl annotate deploy/web ksense.io/autoscale=true ksense.io/max-replicas=8\n"
		"  ksense-scaler --dry-run -v\n"
		"  ksense-scaler --interval-s 1 --up-windows 3 --cpu-threshold-permille 700\n");
}

enum opt_type { O_NUM, O_STR, O_FLAG };

struct opt {
	const char *name;
	const char *env;
	enum opt_type type;
	double min, max;        /* O_NUM */
	bool integer;           /* O_NUM */
	void *dst;              /* double*, unsigned int*, int*, char[len], bool*, const char** */
	size_t len;             /* O_STR into a buffer; 0: const char * */
};

static int set_opt(const struct opt *o, const char *v, const char *from)
{
	char *end;
	double x;

	if (o->type == O_FLAG) {
		if (strcmp(v, "1") && strcmp(v, "true") && strcmp(v, "0") && strcmp(v, "false") && strcmp(v, "")) {
			fprintf(stderr, "ksense-scaler: %s: '%s' is not one of 1, 0, true, false\n", from, v);
			return -EINVAL;
		}
		*(bool *)o->dst = !strcmp(v, "1") || !strcmp(v, "true");
		return 0;
	}
	if (o->type == O_STR) {
		if (!o->len) {
			*(const char **)o->dst = v;
		} else if (strlen(v) >= o->len) {
			fprintf(stderr, "ksense-scaler: %s is longer than %zu bytes\n", from, o->len - 1);
			return -EINVAL;
		} else {
			strcpy(o->dst, v);
		}
		return 0;
	}
	errno = 0;
	x = strtod(v, &end);
	if (!*v || *end || errno || !isfinite(x) || x < o->min || x > o->max || (o->integer && x != floor(x))) {
		fprintf(stderr, "ksense-scaler: %s: '%s' is not %s in %g..%g\n", from, v,
			o->integer ? "a whole number" : "a number", o->min, o->max);
		return -EINVAL;
	}
	if (o->integer && o->len == sizeof(int))
		*(int *)o->dst = (int)x;
	else if (o->integer && o->len == sizeof(unsigned long long))
		*(unsigned long long *)o->dst = (unsigned long long)x;
	else if (o->integer)
		*(unsigned int *)o->dst = (unsigned int)x;
	else
		*(double *)o->dst = x;
	return 0;
}

int main(int argc, char **argv)
{
	static struct ks_scaler s;
	struct ks_scaler_cfg *c = &s.cfg;
	bool verbose = false, once = false;
	const struct opt opts[] = {
		{ "--interval-s", "KSENSE_SCALER_INTERVAL_S", O_NUM, 0.05, 3600, false, &c->interval_s, 0 },
		{ "--agent-timeout-ms", "KSENSE_SCALER_AGENT_TIMEOUT_MS", O_NUM, 10, 60000, true, &c->agent_timeout_ms, sizeof(int) },
		{ "--agent-namespace", "KSENSE_SCALER_AGENT_NAMESPACE", O_STR, 0, 0, false, c->agent_namespace, sizeof(c->agent_namespace) },
		{ "--agent-selector", "KSENSE_SCALER_AGENT_SELECTOR", O_STR, 0, 0, false, c->agent_selector, sizeof(c->agent_selector) },
		{ "--agent-port", "KSENSE_SCALER_AGENT_PORT", O_NUM, 1, 65535, true, &c->agent_port, sizeof(int) },
		{ "--kubeconfig", NULL, O_STR, 0, 0, false, &c->kubeconfig, 0 },
		{ "--context", "KSENSE_SCALER_CONTEXT", O_STR, 0, 0, false, &c->context, 0 },
		{ "--namespace", "KSENSE_SCALER_NAMESPACE", O_STR, 0, 0, false, c->namespace_, sizeof(c->namespace_) },
		{ "--cpu-threshold-permille", "KSENSE_SCALER_CPU_THRESHOLD_PERMILLE", O_NUM, 1, 100000, true, &c->cpu_threshold_permille, sizeof(unsigned int) + 1 },
		{ "--up-windows", "KSENSE_SCALER_UP_WINDOWS", O_NUM, 1, 1000, true, &c->up_windows, sizeof(unsigned int) + 1 },
		{ "--up-cooldown-s", "KSENSE_SCALER_UP_COOLDOWN_S", O_NUM, 0, 86400, false, &c->up_cooldown_s, 0 },
		{ "--down-stabilization-s", "KSENSE_SCALER_DOWN_STABILIZATION_S", O_NUM, 0, 86400, false, &c->down_stabilization_s, 0 },
		{ "--event-interval-s", "KSENSE_SCALER_EVENT_INTERVAL_S", O_NUM, 0, 86400, false, &c->event_interval_s, 0 },
		{ "--max-polls", NULL, O_NUM, 1, 1e15, true, &c->max_polls, sizeof(unsigned long long) },
		{ "--dry-run", "KSENSE_SCALER_DRY_RUN", O_FLAG, 0, 0, false, &c->dry_run, 0 },
		{ "--once", NULL, O_FLAG, 0, 0, false, &once, 0 },
		{ "--no-leader-elect", "KSENSE_SCALER_NO_LEADER_ELECT", O_FLAG, 0, 0, false, &c->no_leader_elect, 0 },
		{ "--lease-namespace", "KSENSE_SCALER_LEASE_NAMESPACE", O_STR, 0, 0, false, c->lease_namespace, sizeof(c->lease_namespace) },
		{ "--lease-name", "KSENSE_SCALER_LEASE_NAME", O_STR, 0, 0, false, c->lease_name, sizeof(c->lease_name) },
		{ "--identity", "KSENSE_SCALER_IDENTITY", O_STR, 0, 0, false, c->identity, sizeof(c->identity) },
		{ "--lease-duration-s", "KSENSE_SCALER_LEASE_DURATION_S", O_NUM, 1, 3600, true, &c->lease_duration_s, sizeof(int) },
		{ "--renew-deadline-s", "KSENSE_SCALER_RENEW_DEADLINE_S", O_NUM, 1, 3600, true, &c->renew_deadline_s, sizeof(int) },
		{ "--retry-period-s", "KSENSE_SCALER_RETRY_PERIOD_S", O_NUM, 1, 3600, true, &c->retry_period_s, sizeof(int) },
		{ "--verbose", "KSENSE_SCALER_VERBOSE", O_FLAG, 0, 0, false, &verbose, 0 },
		{ "--status-addr", "KSENSE_SCALER_STATUS_ADDR", O_STR, 0, 0, false, c->status_addr, sizeof(c->status_addr) },
	};
	const size_t nopts = sizeof(opts) / sizeof(opts[0]);
	struct option longopts[sizeof(opts) / sizeof(opts[0]) + 3];
	struct ks_opts p;
	struct kube_config kc = { 0 };
	struct ks_status *statusd = NULL;
	struct sigaction sa;
	unsigned int attempt = 0;
	bool was_leading = false;
	double waiting_since = ks_now_s();
	char err[1024], ua[160];
	int i, rc = 1;
	size_t k;

	c->interval_s = 2;
	snprintf(c->status_addr, sizeof(c->status_addr), ":8080");
	c->agent_timeout_ms = 1000;
	snprintf(c->agent_namespace, sizeof(c->agent_namespace), "%s", KS_AGENT_NAMESPACE);
	snprintf(c->agent_selector, sizeof(c->agent_selector), "%s", KS_AGENT_SELECTOR);
	c->agent_port = KS_AGENT_PORT;
	c->cpu_threshold_permille = 800;
	c->up_windows = 1; /* a CPU class is already 3 kernel windows old */
	c->up_cooldown_s = 30;
	c->down_stabilization_s = 60;
	c->event_interval_s = 300;
	{
		const char *pod = getenv("POD_NAME"), *ns = getenv("POD_NAMESPACE");
		char host[64] = "ksense-scaler";

		gethostname(host, sizeof(host) - 1);
		snprintf(c->lease_namespace, sizeof(c->lease_namespace), "%s", ns && *ns ? ns : KS_AGENT_NAMESPACE);
		snprintf(c->lease_name, sizeof(c->lease_name), "ksense-scaler");
		if (pod && *pod)
			snprintf(c->identity, sizeof(c->identity), "%.127s", pod);
		else
			snprintf(c->identity, sizeof(c->identity), "%.63s_%d", host, (int)getpid());
		c->lease_duration_s = 15;
		c->renew_deadline_s = 10;
		c->retry_period_s = 2;
	}

	for (k = 0; k < nopts; k++) {
		const char *v = opts[k].env ? getenv(opts[k].env) : NULL;

		/* an empty variable is unset, as for every ksense daemon */
		if (v && !*v && opts[k].type != O_FLAG)
			v = NULL;

		if (v && set_opt(&opts[k], v, opts[k].env))
			return 2;
	}
	/* the table's flags as getopt_long options, val = 256 + index */
	for (k = 0; k < nopts; k++)
		longopts[k] = (struct option){ opts[k].name + 2, opts[k].type == O_FLAG ? no_argument : required_argument,
					       NULL, 256 + (int)k };
	longopts[k++] = (struct option){ "help", no_argument, NULL, 'h' };
	longopts[k++] = (struct option){ "version", no_argument, NULL, 'V' };
	longopts[k] = (struct option){};
	ks_opts_init(&p, "ksense-scaler", argc, argv, "hv", longopts);
	while ((i = ks_opts_next(&p)) != -1) {
		if (i == 'h') {
			usage(stdout);
			return 0;
		}
		if (i == 'V') {
			ks_print_version(stdout, "ksense-scaler");
			return 0;
		}
		if (i == 'v') {
			verbose = true;
			continue;
		}
		if (i < 256)
			return 2;
		k = (size_t)(i - 256);
		if (opts[k].type == O_FLAG)
			*(bool *)opts[k].dst = true;
		else if (set_opt(&opts[k], p.value, p.name))
			return 2;
	}
	if (ks_opts_operands(&p, 0, &i))
		return 2;
	if (once)
		c->max_polls = 1;
	if (!c->agent_namespace[0]) {
		fprintf(stderr, "ksense-scaler: --agent-namespace must not be empty\n");
		return 2;
	}
	ks_log_init("ksense-scaler", verbose);
	snprintf(s.instance, sizeof(s.instance), "%s", c->identity);
	if (!c->no_leader_elect) {
		struct kube_lease_opts lo = { .duration_s = c->lease_duration_s, .renew_deadline_s = c->renew_deadline_s,
					      .retry_period_s = c->retry_period_s };

		snprintf(lo.ns, sizeof(lo.ns), "%s", c->lease_namespace);
		snprintf(lo.name, sizeof(lo.name), "%s", c->lease_name);
		snprintf(lo.identity, sizeof(lo.identity), "%s", c->identity);
		if (kube_lease_opts_check(&lo, err, sizeof(err))) {
			fprintf(stderr, "ksense-scaler: %s\n", err);
			return 2;
		}
	}

	if (kube_config_load(&kc, c->kubeconfig, c->context, err, sizeof(err))) {
		ks_err("no Kubernetes configuration", "err=\"%s\"", err);
		return 1;
	}
	s.kube = kube_client_new(&kc, 20, 40, err, sizeof(err));
	if (!s.kube) {
		ks_err("Kubernetes client setup failed", "source=\"%s\" err=\"%s\"", kc.source, err);
		goto out;
	}
	/* a poll must not hang on one request much longer than the poll period */
	kube_client_set_timeouts(s.kube, 3000, 10000);
	/* a scale must land before anyone else can hold the Lease: its
	 * request gets at most half of what a renewal leaves */
	s.io_timeout_ms = 10000;
	if (!c->no_leader_elect && s.io_timeout_ms > 500 * (c->lease_duration_s - c->retry_period_s))
		s.io_timeout_ms = 500 * (c->lease_duration_s - c->retry_period_s);
	snprintf(ua, sizeof(ua), "ksense-scaler/1 (%.120s)", c->identity);
	kube_client_set_user_agent(s.kube, ua);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: the sleep ends at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (!c->no_leader_elect) {
		struct kube_lease_opts lo = { .duration_s = c->lease_duration_s, .renew_deadline_s = c->renew_deadline_s,
					      .retry_period_s = c->retry_period_s, .user_agent = ua };
		sigset_t block, old;

		snprintf(lo.ns, sizeof(lo.ns), "%s", c->lease_namespace);
		snprintf(lo.name, sizeof(lo.name), "%s", c->lease_name);
		snprintf(lo.identity, sizeof(lo.identity), "%s", c->identity);
		/* the lease thread never takes a signal: they must end the
		 * main loop's sleep */
		sigemptyset(&block);
		sigaddset(&block, SIGTERM);
		sigaddset(&block, SIGINT);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		i = kube_lease_start(&kc, &lo, &s.lease, err, sizeof(err));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (i) {
			ks_err("leader election setup failed", "err=\"%s\"", err);
			rc = 1;
			goto out;
		}
	}

	s.metrics = ks_scaler_metrics_new();
	if (!s.metrics) {
		ks_err("out of memory", "what=metrics%s", "");
		rc = 1;
		goto out;
	}
	{
		/* the status thread takes no signal: they end the main loop's sleep */
		sigset_t block, old;

		sigfillset(&block);
		pthread_sigmask(SIG_BLOCK, &block, &old);
		i = ks_status_open("--status-addr", c->status_addr, ks_scaler_metrics_render, ks_scaler_metrics_health,
				   s.metrics, &statusd, err, sizeof(err));
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (i) {
			ks_err("status port", "err=\"%s\"", err);
			rc = 2;
			goto out;
		}
		if (statusd)
			ks_info("status port listening", "status_port=%d", ks_status_port(statusd));
	}
	ks_info("starting", "api=\"%s\" interval_s=%g namespace=\"%s\" agents=\"%s/%s\" cpu_threshold_permille=%u "
		"up_windows=%u up_cooldown_s=%g down_stabilization_s=%g dry_run=%d", kc.source, c->interval_s,
		c->namespace_[0] ? c->namespace_ : "(all)", c->agent_namespace, c->agent_selector,
		c->cpu_threshold_permille, c->up_windows, c->up_cooldown_s, c->down_stabilization_s, c->dry_run);
	rc = 0;
	while (!stop) {
		double start = ks_now_s(), wait_s;
		struct timespec ts;
		bool leading = !s.lease || kube_lease_held(s.lease, (long long)(start * 1000));

		if (leading != was_leading) {
			if (leading)
				ks_info("leading: polling", "identity=%s", c->identity);
			else if (s.lease)
				ks_info("not leading: another replica polls and scales", "identity=%s lease=%s/%s",
					c->identity, c->lease_namespace, c->lease_name);
			was_leading = leading;
			waiting_since = start;
		}
		ks_scaler_metrics_turn(s.metrics, &s, leading, false, false, c->interval_s);
		if (!leading) {
			/* --once or --max-polls count polls; a replica that cannot
			 * lead within a lease duration and a retry gives up */
			if (c->max_polls && start - waiting_since > c->lease_duration_s + c->retry_period_s + 1) {
				ks_err("could not become leader", "identity=%s lease=%s/%s", c->identity,
				       c->lease_namespace, c->lease_name);
				rc = 1;
				break;
			}
			ts.tv_sec = 0;
			ts.tv_nsec = 200 * 1000000L;
			nanosleep(&ts, NULL);
			continue;
		}
		i = ks_poll(&s, start, err, sizeof(err));
		ks_scaler_metrics_turn(s.metrics, &s, leading, true, !i, c->interval_s);
		if (i) {
			attempt++;
			wait_s = kube_backoff_ms(attempt < 16 ? attempt : 16, 500, 30000) / 1000.0;
			if (wait_s < 0.05)
				wait_s = 0.05;
			ks_err("poll failed: API server unreachable or refusing", "attempt=%u retry_in_s=%.2f err=\"%s\"",
			       attempt, c->max_polls == 1 ? 0.0 : wait_s, err);
			if (c->max_polls == 1) {
				rc = 1;
				break;
			}
		} else {
			attempt = 0;
			wait_s = c->interval_s - (ks_now_s() - start);
		}
		if (c->max_polls && s.poll >= c->max_polls)
			break;
		if (wait_s > 0 && !stop) {
			ts.tv_sec = (time_t)wait_s;
			ts.tv_nsec = (long)((wait_s - (double)ts.tv_sec) * 1e9);
			nanosleep(&ts, NULL);
		}
	}
	ks_info("stopping", "polls=%llu reason=%s", s.poll, stop ? "signal" : "done");
out:
	ks_status_stop(statusd);
	ks_scaler_metrics_free(s.metrics);
	kube_lease_stop(s.lease, true);
	kube_client_free(s.kube);
	kube_config_free(&kc);
	ks_cluster_free(&s);
	return rc;
}
