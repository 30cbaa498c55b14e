// SPDX-License-Identifier: GPL-2.0
/*
 * ksense-webhook: the node daemon.  Serves the node's score and records
 * Pod admissions over HTTPS, the agent endpoints over plain HTTP, and keeps
 * the CSV logs.  It computes nothing: every number comes from the pins.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "webhook/app.h"
#include "log.h"
#include "pins.h"
#include "self_exclude.h"
#include "opts.h"
#include "webhook/nodestate.h"
#include "webhook/podmeta.h"
#include "webhook/pods.h"
#include "version.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ksense-webhook [OPTIONS]\n"
		"\n"
		"Serves this node's ksense score over HTTPS (GET /healthz, GET /score,\n"
		"POST /validate for AdmissionReview v1, GET /metrics, GET /pods) and the\n"
		"same endpoints over plain HTTP on the agent port, and writes fuzzy_monitor.csv\n"
		"(one row per window) and fuzzy_score.csv (one row per recorded admission)\n"
		"in the data directory.  Pod CREATE is always allowed: a node in deny gets\n"
		"a warning and an audit annotation; the fuzzy-scheduler holds its pods.\n"
		"\n"
		"  --tls-addr ADDR     HTTPS listen address (default 0.0.0.0; '::' for IPv6)\n"
		"  --tls-port PORT     HTTPS port, env KSENSE_WEBHOOK_PORT (default 8443)\n"
		"  --no-tls            serve only the agent port\n"
		"  --agent-addr ADDR   plain-HTTP listen address (default 0.0.0.0)\n"
		"  --agent-port PORT   plain-HTTP port, env KSENSE_AGENT_PORT (default 5000)\n"
		"  --no-agent          no plain-HTTP listener\n"
		"  --cert FILE         PEM certificate, env KSENSE_TLS_CERT (default /etc/ksense/tls/tls.crt)\n"
		"  --key FILE          PEM key, env KSENSE_TLS_KEY (default /etc/ksense/tls/tls.key)\n"
		"  --data-dir DIR      CSV directory, env KSENSE_DATA_DIR (default /tmp/ksense)\n"
		"  --namespaces LIST   record admissions only in these namespaces (comma\n"
		"                      separated), env KSENSE_WEBHOOK_NAMESPACES (empty: all)\n"
		"  --node NAME         node name in /score and /pods, env NODE_NAME (default hostname)\n"
		"  --kubeconfig FILE   kube config for pod and container names in /pods;\n"
		"                      else $KUBECONFIG, ~/.kube/config or in-cluster; none:\n"
		"                      /pods still works, with empty names.  Pods are\n"
		"                      listed and watched with fieldSelector spec.nodeName=<node>\n"
		"  --pods-exclude-namespaces LIST  pods of these namespaces are left out of\n"
		"                      /pods (comma separated; only when the namespace is\n"
		"                      known), env KSENSE_PODS_EXCLUDE_NAMESPACES\n"
		"                      (default kube-system,ksense-system)\n"
		"  --no-node-condition  do not write the Node condition " KS_NODE_CONDITION "\n"
		"                      (env KSENSE_NODE_CONDITION=0).  With a kube config the\n"
		"                      daemon keeps it on its Node: True while the decision is\n"
		"                      deny (reason: the strongest rule), False on allow,\n"
		"                      Unknown without kernel data\n"
		"  --node-taint        also keep the taint " KS_NODE_TAINT_KEY ":PreferNoSchedule\n"
		"                      on the Node while the decision is deny (env KSENSE_NODE_TAINT=1)\n"
		"  --node-condition-interval-s S  least time between two writes to the Node\n"
		"                      (condition and taint together), env\n"
		"                      KSENSE_NODE_CONDITION_INTERVAL_S (default 10)\n"
		"  --node-condition-heartbeat-s S  the condition is rewritten at least this\n"
		"                      often, env KSENSE_NODE_CONDITION_HEARTBEAT_S (default 60)\n"
		"  --request-timeout-ms MS  time a client has to send a whole request (10000);\n"
		"                      when given, also the time a TLS handshake may take\n"
		"                      (else 5000)\n"
		"  --idle-timeout-ms MS     keep-alive connections idle longer are closed (60000)\n"
		"  --first-byte-timeout-ms MS  a new connection (after its TLS handshake)\n"
		"                      that sends nothing this long is closed (5000)\n"
		"  --write-timeout-ms MS    a client that takes none of its pending\n"
		"                      responses this long is closed (10000)\n"
		"  --memory-limit SIZE the container's memory limit, env\n"
		"                      KSENSE_WEBHOOK_MEMORY_LIMIT (bytes, or with Ki/Mi/Gi;\n"
		"                      default 64Mi): 3/8 of it is the budget for buffered\n"
		"                      requests and responses (past it: 503 + Retry-After),\n"
		"                      1/4 pays for TLS sessions (40 KiB each: the TLS cap)\n"
		"  --max-conns-tls N   TLS connection cap (default from --memory-limit)\n"
		"  --max-conns-agent N agent-port connection cap (default 1024); both caps\n"
		"                      are lowered to fit RLIMIT_NOFILE; a full listener\n"
		"                      closes its longest-idle connection for a newcomer\n"
		"  --max-loop-lag-ms MS  /healthz and /livez answer 503 when the event loop\n"
		"                      ran this late in the last 10 s (default 2000)\n"
		"  --test-score-file FILE  TEST ONLY: /score answers '<0..100> <allow|deny>'\n"
		"                      read from FILE on each request instead of the pins\n"
		"                      (env KSENSE_TEST_SCORE_FILE; scheduler tests and bench)\n"
		"  -v, --verbose       debug logs\n"
		"  -h, --help          this text\n"
		"  --version           version, commit and pin schema\n"
		"\n"
		"Endpoints: GET/HEAD /healthz (pins, window age, loop lag), /livez (loop\n"
		"lag only: the liveness probe), /score, /metrics, /pods on both ports;\n"
		"POST /validate on the HTTPS port only (the agent port is read-only).\n"
		"/validate (bodies over 16 KiB), /pods and /metrics run on a worker thread,\n"
		"so a heavy or hostile request never holds the others.\n"
		"\n"
		"GET /pods: each pod with a recently active cgroup on this node, its class\n"
		"(CPU, BLOCK, OFFCPU, THROTTLED, IDLE) and an OFFCPU pod's cause (LOCK,\n"
		"DEPENDENCY, NETWORK, DEVICE, KERNEL), on-CPU, off-CPU by what ended each\n"
		"wait, throttling and the CPU limit that binds, the pods it waits on, run-queue\n"
		"p50/p99 and PSI, block I/O rates, top sampled functions, and its containers;\n"
		"cgroup ids are mapped to pods through the cgroup2 mount and the kubelet's\n"
		"cgroup names.\n"
		"\n"
		"Signals: SIGHUP reloads the certificate and key (open connections keep\n"
		"theirs); SIGTERM/SIGINT stop.  Pins are read from $KSENSE_PIN_ROOT\n"
		"(default " KSENSE_PIN_ROOT "); run `ksense load` first.\n"
		"\nExamples:\n"
		"  tools/gen-webhook-certs --out /etc/ksense/tls\n"
		"  ksense-webhook --cert /etc/ksense/tls/tls.crt --key /etc/ksense/tls/tls.key\n"
		"  curl -k https://127.0.0.1:8443/score\n");
}

/* A comma-separated namespace list into dst[*n]; what names the flag. */
static int parse_ns_list(char (*dst)[64], int *n, const char *what, const char *list)
{
	char buf[4096], *tok, *save = NULL;

	*n = 0;
	if ((size_t)snprintf(buf, sizeof(buf), "%s", list) >= sizeof(buf)) {
		fprintf(stderr, "ksense-webhook: %s: namespace list too long\n", what);
		return -EINVAL;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (*n == KS_MAX_NAMESPACES || strlen(tok) >= sizeof(dst[0])) {
			fprintf(stderr, "ksense-webhook: %s: too many or too long namespaces (max %d of 63 chars)\n",
				what, KS_MAX_NAMESPACES);
			return -EINVAL;
		}
		strcpy(dst[(*n)++], tok);
	}
	return 0;
}

static int parse_namespaces(struct ks_app *a, const char *list)
{
	return parse_ns_list(a->namespaces, &a->nr_namespaces, "--namespaces", list);
}

static int parse_pods_exclude(struct ks_app *a, const char *list)
{
	return parse_ns_list(a->pods_exclude, &a->nr_pods_exclude, "--pods-exclude-namespaces", list);
}

#define PROG "ksense-webhook"
#define MEMORY_LIMIT_MIN (8u << 20)

enum {
	OPT_TLS_ADDR = 256, OPT_TLS_PORT, OPT_NO_TLS, OPT_AGENT_ADDR, OPT_AGENT_PORT, OPT_NO_AGENT, OPT_CERT,
	OPT_KEY, OPT_DATA_DIR, OPT_NAMESPACES, OPT_NODE, OPT_KUBECONFIG, OPT_PODS_EXCLUDE, OPT_NO_NODE_CONDITION,
	OPT_NODE_TAINT, OPT_NODE_CONDITION_INTERVAL_S, OPT_NODE_CONDITION_HEARTBEAT_S, OPT_REQUEST_TIMEOUT_MS,
	OPT_IDLE_TIMEOUT_MS, OPT_FIRST_BYTE_TIMEOUT_MS, OPT_WRITE_TIMEOUT_MS, OPT_MEMORY_LIMIT, OPT_MAX_CONNS_TLS,
	OPT_MAX_CONNS_AGENT, OPT_MAX_LOOP_LAG_MS, OPT_TEST_SCORE_FILE, OPT_VERSION,
};

static const struct option longopts[] = {
	{ "tls-addr", required_argument, NULL, OPT_TLS_ADDR },
	{ "tls-port", required_argument, NULL, OPT_TLS_PORT },
	{ "no-tls", no_argument, NULL, OPT_NO_TLS },
	{ "agent-addr", required_argument, NULL, OPT_AGENT_ADDR },
	{ "agent-port", required_argument, NULL, OPT_AGENT_PORT },
	{ "no-agent", no_argument, NULL, OPT_NO_AGENT },
	{ "cert", required_argument, NULL, OPT_CERT },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "data-dir", required_argument, NULL, OPT_DATA_DIR },
	{ "namespaces", required_argument, NULL, OPT_NAMESPACES },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "kubeconfig", required_argument, NULL, OPT_KUBECONFIG },
	{ "pods-exclude-namespaces", required_argument, NULL, OPT_PODS_EXCLUDE },
	{ "no-node-condition", no_argument, NULL, OPT_NO_NODE_CONDITION },
	{ "node-taint", no_argument, NULL, OPT_NODE_TAINT },
	{ "node-condition-interval-s", required_argument, NULL, OPT_NODE_CONDITION_INTERVAL_S },
	{ "node-condition-heartbeat-s", required_argument, NULL, OPT_NODE_CONDITION_HEARTBEAT_S },
	{ "request-timeout-ms", required_argument, NULL, OPT_REQUEST_TIMEOUT_MS },
	{ "idle-timeout-ms", required_argument, NULL, OPT_IDLE_TIMEOUT_MS },
	{ "first-byte-timeout-ms", required_argument, NULL, OPT_FIRST_BYTE_TIMEOUT_MS },
	{ "write-timeout-ms", required_argument, NULL, OPT_WRITE_TIMEOUT_MS },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "max-conns-tls", required_argument, NULL, OPT_MAX_CONNS_TLS },
	{ "max-conns-agent", required_argument, NULL, OPT_MAX_CONNS_AGENT },
	{ "max-loop-lag-ms", required_argument, NULL, OPT_MAX_LOOP_LAG_MS },
	{ "test-score-file", required_argument, NULL, OPT_TEST_SCORE_FILE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{}
};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* The Node condition writer (NULL without one) and what feeds it. */
static struct ks_nodestate *nodestate;

static void tick(void *app)
{
	struct ks_app *a = app;
	struct ks_node_verdict v;

	ks_app_tick(app);
	if (!nodestate)
		return;
	if (a->test_score_file[0])
		ks_node_verdict_from_test_file(a->test_score_file, &v);
	else
		ks_node_verdict_from_pins(&v);
	ks_nodestate_set(nodestate, &v);
}

int main(int argc, char **argv)
{
	static struct ks_app app;
	struct ks_server_hooks hooks = {
		.app = &app, .handle = ks_app_handle, .refuse_early = ks_app_refuse_early,
		.offload = ks_app_offload, .tick = tick,
		.observe = ks_app_observe,
	};
	struct ks_nodestate_opts nso = { .interval_s = 10, .heartbeat_s = 60 };
	bool node_condition = true;
	struct ks_server_opts o;
	const char *kubeconfig = NULL;
	size_t memory_limit = 64u << 20;
	int max_tls = -1, max_agent = -1;
	char err[1024];
	bool verbose = false;
	struct ks_opts p;
	int i, rc, id;

	ks_server_opts_defaults(&o);
	app.max_loop_lag_ms = 2000;
	if (ks_env("KSENSE_WEBHOOK_MEMORY_LIMIT") &&
	    ks_opt_size(PROG, "KSENSE_WEBHOOK_MEMORY_LIMIT", ks_env("KSENSE_WEBHOOK_MEMORY_LIMIT"), MEMORY_LIMIT_MIN,
			&memory_limit))
		return 2;
	o.cert_path = env_or("KSENSE_TLS_CERT", "/etc/ksense/tls/tls.crt");
	o.key_path = env_or("KSENSE_TLS_KEY", "/etc/ksense/tls/tls.key");
	snprintf(app.data_dir, sizeof(app.data_dir), "%s", env_or("KSENSE_DATA_DIR", "/tmp/ksense"));
	{
		char host[sizeof(app.node_name)] = "";

		/* snprintf from a buffer into itself is undefined: a copy */
		if (gethostname(host, sizeof(host) - 1))
			strcpy(host, "unknown");
		snprintf(app.node_name, sizeof(app.node_name), "%s", env_or("NODE_NAME", host));
	}
	if (ks_env("KSENSE_WEBHOOK_PORT") && ks_opt_port(PROG, "KSENSE_WEBHOOK_PORT", ks_env("KSENSE_WEBHOOK_PORT"), &o.tls_port))
		return 2;
	if (getenv("KSENSE_TEST_SCORE_FILE"))
		snprintf(app.test_score_file, sizeof(app.test_score_file), "%s", getenv("KSENSE_TEST_SCORE_FILE"));
	if (ks_env("KSENSE_AGENT_PORT") && ks_opt_port(PROG, "KSENSE_AGENT_PORT", ks_env("KSENSE_AGENT_PORT"), &o.agent_port))
		return 2;
	if (parse_namespaces(&app, env_or("KSENSE_WEBHOOK_NAMESPACES", "")))
		return 2;
	if (parse_pods_exclude(&app, env_or("KSENSE_PODS_EXCLUDE_NAMESPACES", "kube-system,ksense-system")))
		return 2;
	if ((ks_env("KSENSE_NODE_CONDITION") &&
	     ks_opt_bool(PROG, "KSENSE_NODE_CONDITION", ks_env("KSENSE_NODE_CONDITION"), &node_condition)) ||
	    (ks_env("KSENSE_NODE_TAINT") && ks_opt_bool(PROG, "KSENSE_NODE_TAINT", ks_env("KSENSE_NODE_TAINT"), &nso.taint)) ||
	    (ks_env("KSENSE_NODE_CONDITION_INTERVAL_S") &&
	     ks_opt_uint(PROG, "KSENSE_NODE_CONDITION_INTERVAL_S", ks_env("KSENSE_NODE_CONDITION_INTERVAL_S"), 1, 86400,
			 &nso.interval_s)) ||
	    (ks_env("KSENSE_NODE_CONDITION_HEARTBEAT_S") &&
	     ks_opt_uint(PROG, "KSENSE_NODE_CONDITION_HEARTBEAT_S", ks_env("KSENSE_NODE_CONDITION_HEARTBEAT_S"), 1, 86400,
			 &nso.heartbeat_s)))
		return 2;

	ks_opts_init(&p, PROG, argc, argv, "vh", longopts);
	while ((id = ks_opts_next(&p)) != -1) {
		const char *v = p.value, *a = p.name;
		int ms;

		switch (id) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			ks_print_version(stdout, PROG);
			return 0;
		case 'v': verbose = true; break;
		case OPT_NO_TLS: o.tls_addr = NULL; break;
		case OPT_NO_AGENT: o.agent_addr = NULL; break;
		case OPT_NO_NODE_CONDITION: node_condition = false; break;
		case OPT_NODE_TAINT: nso.taint = true; break;
		case OPT_TLS_ADDR: o.tls_addr = v; break;
		case OPT_AGENT_ADDR: o.agent_addr = v; break;
		case OPT_CERT: o.cert_path = v; break;
		case OPT_KEY: o.key_path = v; break;
		case OPT_KUBECONFIG: kubeconfig = v; break;
		case OPT_DATA_DIR: snprintf(app.data_dir, sizeof(app.data_dir), "%s", v); break;
		case OPT_TEST_SCORE_FILE: snprintf(app.test_score_file, sizeof(app.test_score_file), "%s", v); break;
		case OPT_NODE: snprintf(app.node_name, sizeof(app.node_name), "%s", v); break;
		case OPT_TLS_PORT:
			if (ks_opt_port(PROG, a, v, &o.tls_port))
				return 2;
			break;
		case OPT_AGENT_PORT:
			if (ks_opt_port(PROG, a, v, &o.agent_port))
				return 2;
			break;
		case OPT_NAMESPACES:
			if (parse_namespaces(&app, v))
				return 2;
			break;
		case OPT_PODS_EXCLUDE:
			if (parse_pods_exclude(&app, v))
				return 2;
			break;
		case OPT_REQUEST_TIMEOUT_MS: case OPT_IDLE_TIMEOUT_MS: case OPT_FIRST_BYTE_TIMEOUT_MS:
		case OPT_WRITE_TIMEOUT_MS: case OPT_MAX_LOOP_LAG_MS:
			if (ks_opt_int(PROG, a, v, 100, 3600000, &ms))
				return 2;
			if (id == OPT_REQUEST_TIMEOUT_MS)
				o.request_timeout_ms = o.handshake_timeout_ms = ms;
			else if (id == OPT_IDLE_TIMEOUT_MS)
				o.idle_timeout_ms = ms;
			else if (id == OPT_FIRST_BYTE_TIMEOUT_MS)
				o.first_byte_timeout_ms = ms;
			else if (id == OPT_WRITE_TIMEOUT_MS)
				o.write_timeout_ms = ms;
			else
				app.max_loop_lag_ms = (unsigned int)ms;
			break;
		case OPT_MEMORY_LIMIT:
			if (ks_opt_size(PROG, a, v, MEMORY_LIMIT_MIN, &memory_limit))
				return 2;
			break;
		case OPT_MAX_CONNS_TLS: case OPT_MAX_CONNS_AGENT:
			if (ks_opt_int(PROG, a, v, 1, 1000000, id == OPT_MAX_CONNS_TLS ? &max_tls : &max_agent))
				return 2;
			break;
		case OPT_NODE_CONDITION_INTERVAL_S:
			if (ks_opt_uint(PROG, a, v, 1, 86400, &nso.interval_s))
				return 2;
			break;
		case OPT_NODE_CONDITION_HEARTBEAT_S:
			if (ks_opt_uint(PROG, a, v, 1, 86400, &nso.heartbeat_s))
				return 2;
			break;
		default:
			return 2;
		}
	}
	if (ks_opts_operands(&p, 0, &i))
		return 2;
	ks_server_opts_for_memory(&o, memory_limit);
	/* caps the operator chose are kept as given (with a warning when the
	 * fds cannot cover them); derived ones are fitted */
	if (max_tls > 0)
		o.max_conns_tls = max_tls;
	if (max_agent > 0)
		o.max_conns_agent = max_agent;
	o.caps_fit_nofile = max_tls <= 0 && max_agent <= 0;
	if (app.test_score_file[0])
		ks_warn("TEST MODE: /score is read from a file, not from the kernel", "file=%s",
			app.test_score_file);
	if (!o.tls_addr && !o.agent_addr) {
		fprintf(stderr, "ksense-webhook: --no-tls and --no-agent leave nothing to serve\n");
		return 2;
	}
	ks_log_init("ksense-webhook", verbose);
	ks_pin_cache_refresh();
	if (!ks_pins_present())
		ks_warn("no pin tree yet; /healthz answers 503 until `ksense load`", "root=%s", ks_pin_root());
	/* pod names for /pods: optional, the endpoint works without them */
	app.meta = ks_podmeta_new();
	if (!app.meta) {
		fprintf(stderr, "ksense-webhook: out of memory\n");
		return 1;
	}
	rc = ks_podmeta_start(app.meta, kubeconfig, app.node_name, err, sizeof(err));
	if (rc == -ENOENT) {
		ks_info("no kube config: /pods reports pods without namespace and names", "why=\"%s\"", err);
		ks_podmeta_free(app.meta);
		app.meta = NULL;
	} else if (rc) {
		fprintf(stderr, "ksense-webhook: pod names from the API: %s\n", err);
		ks_podmeta_free(app.meta);
		return 2;
	}
	if (nso.taint && !node_condition) {
		fprintf(stderr, "ksense-webhook: --node-taint needs the node condition (drop --no-node-condition)\n");
		ks_podmeta_free(app.meta);
		return 2;
	}
	if (nso.heartbeat_s < nso.interval_s) {
		fprintf(stderr, "ksense-webhook: the heartbeat (%u s) is shorter than the write interval (%u s)\n",
			nso.heartbeat_s, nso.interval_s);
		ks_podmeta_free(app.meta);
		return 2;
	}
	/* the same kube config as the pod names: without one, no condition */
	if (node_condition && app.meta) {
		nodestate = ks_nodestate_start(kubeconfig, app.node_name, &nso, err, sizeof(err));
		if (!nodestate) {
			fprintf(stderr, "ksense-webhook: node condition: %s\n", err);
			ks_podmeta_free(app.meta);
			return 2;
		}
		ks_info("node condition on", "node=%s type=" KS_NODE_CONDITION " taint=%s interval_s=%u heartbeat_s=%u",
			app.node_name, nso.taint ? KS_NODE_TAINT_KEY : "off", nso.interval_s, nso.heartbeat_s);
	}
	if (ks_csvlog_open(&app.csv, app.data_dir)) {
		fprintf(stderr, "ksense-webhook: cannot write CSV logs in %s\n", app.data_dir);
		ks_nodestate_free(nodestate);
		ks_podmeta_free(app.meta);
		return 1;
	}
	/* best effort, and again every tick (user/webhook/handlers.c): the
	 * daemon's own CPU time and I/O are not a pod's */
	if (ks_pins_present())
		ks_self_exclude_register();
	rc = ks_server_run(&o, &hooks);
	ks_nodestate_free(nodestate);
	ks_self_exclude_unregister();
	ks_csvlog_close(&app.csv);
	ks_pods_free(app.pods);
	ks_pods_free(app.pods_metrics);
	ks_podmeta_free(app.meta);
	if (rc) {
		/* what failed was logged where it failed, with its own
		 * error: an errno here would only blur it (the certificate's
		 * is mbedTLS's, not EINVAL) */
		ks_err("exiting on the error above", "status=1");
		return 1;
	}
	return 0;
}
