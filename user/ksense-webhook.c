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
		"  --node-condition-interval-s S  least time between two writes of the\n"
		"                      condition (or of the taint), env\n"
		"                      KSENSE_NODE_CONDITION_INTERVAL_S (default 10)\n"
		"  --node-condition-heartbeat-s S  the condition is rewritten at least this\n"
		"                      often, env KSENSE_NODE_CONDITION_HEARTBEAT_S (default 60)\n"
		"  --request-timeout-ms MS  time a client has to send a whole request (10000)\n"
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
		"/validate and /pods run on a worker thread, so a heavy or hostile request\n"
		"never holds the others.\n"
		"\n"
		"GET /pods: each pod with a recently active cgroup on this node, its class\n"
		"(CPU, BLOCK, OFFCPU, IDLE), on-CPU, off-CPU and block I/O rates, top sampled\n"
		"functions, and its containers; cgroup ids are mapped to pods through the\n"
		"cgroup2 mount and the kubelet's cgroup names.\n"
		"\n"
		"Signals: SIGHUP reloads the certificate and key (open connections keep\n"
		"theirs); SIGTERM/SIGINT stop.  Pins are read from $KSENSE_PIN_ROOT\n"
		"(default " KSENSE_PIN_ROOT "); run `ksense load` first.\n"
		"\nExamples:\n"
		"  tools/gen-webhook-certs --out /etc/ksense/tls\n"
		"  ksense-webhook --cert /etc/ksense/tls/tls.crt --key /etc/ksense/tls/tls.key\n"
		"  curl -k https://127.0.0.1:8443/score\n");
}

static int parse_port(const char *what, const char *s, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < 0 || v > 65535) {
		fprintf(stderr, "ksense-webhook: %s='%s' is not a port number 0..65535\n", what, s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
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

/* "67108864", "64Mi", "512Ki", "1Gi" (also K/M/G as powers of 1000, as
 * Kubernetes quantities write them). */
static int parse_size(const char *what, const char *s, size_t *out)
{
	static const struct { const char *sfx; unsigned long long mul; } units[] = {
		{ "", 1 }, { "Ki", 1ull << 10 }, { "Mi", 1ull << 20 }, { "Gi", 1ull << 30 },
		{ "K", 1000 }, { "k", 1000 }, { "M", 1000000 }, { "G", 1000000000 },
	};
	unsigned long long v;
	char *end;
	size_t i;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!*s || *s == '-' || errno || end == s)
		goto bad;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].sfx)) {
			if (v > (1ull << 40) / units[i].mul)
				goto bad;
			v *= units[i].mul;
			if (v < (8u << 20))
				goto bad;
			*out = (size_t)v;
			return 0;
		}
bad:
	fprintf(stderr, "ksense-webhook: %s='%s' is not a memory size of at least 8Mi "
		"(bytes, or a number with Ki, Mi, Gi)\n", what, s);
	return -EINVAL;
}

/* A positive count up to max. */
static int parse_count(const char *what, const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max) {
		fprintf(stderr, "ksense-webhook: %s='%s' is not a number %d..%d\n", what, s, min, max);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);

	return v && *v ? v : def;
}

/* The Node condition writer (NULL without one) and what feeds it. */
static struct ks_nodestate *nodestate;

static int parse_seconds(const char *what, const char *s, unsigned int *out)
{
	int v;

	if (parse_port(what, s, &v) || v < 1 || v > 86400) {
		fprintf(stderr, "ksense-webhook: %s takes 1..86400 seconds\n", what);
		return -EINVAL;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_bool(const char *what, const char *s, bool *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "true")) {
		*out = true;
	} else if (!strcmp(s, "0") || !strcmp(s, "false")) {
		*out = false;
	} else {
		fprintf(stderr, "ksense-webhook: %s='%s' is not 0/1/true/false\n", what, s);
		return -EINVAL;
	}
	return 0;
}

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
		.app = &app, .handle = ks_app_handle, .offload = ks_app_offload, .tick = tick,
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
	int i, rc;

	ks_server_opts_defaults(&o);
	app.max_loop_lag_ms = 2000;
	if (getenv("KSENSE_WEBHOOK_MEMORY_LIMIT") && *getenv("KSENSE_WEBHOOK_MEMORY_LIMIT") &&
	    parse_size("KSENSE_WEBHOOK_MEMORY_LIMIT", getenv("KSENSE_WEBHOOK_MEMORY_LIMIT"), &memory_limit))
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
	if (getenv("KSENSE_WEBHOOK_PORT") && parse_port("KSENSE_WEBHOOK_PORT", getenv("KSENSE_WEBHOOK_PORT"), &o.tls_port))
		return 2;
	if (getenv("KSENSE_TEST_SCORE_FILE"))
		snprintf(app.test_score_file, sizeof(app.test_score_file), "%s", getenv("KSENSE_TEST_SCORE_FILE"));
	if (getenv("KSENSE_AGENT_PORT") && parse_port("KSENSE_AGENT_PORT", getenv("KSENSE_AGENT_PORT"), &o.agent_port))
		return 2;
	if (parse_namespaces(&app, env_or("KSENSE_WEBHOOK_NAMESPACES", "")))
		return 2;
	if (parse_pods_exclude(&app, env_or("KSENSE_PODS_EXCLUDE_NAMESPACES", "kube-system,ksense-system")))
		return 2;
	if ((getenv("KSENSE_NODE_CONDITION") &&
	     parse_bool("KSENSE_NODE_CONDITION", getenv("KSENSE_NODE_CONDITION"), &node_condition)) ||
	    (getenv("KSENSE_NODE_TAINT") && parse_bool("KSENSE_NODE_TAINT", getenv("KSENSE_NODE_TAINT"), &nso.taint)) ||
	    (getenv("KSENSE_NODE_CONDITION_INTERVAL_S") &&
	     parse_seconds("KSENSE_NODE_CONDITION_INTERVAL_S", getenv("KSENSE_NODE_CONDITION_INTERVAL_S"), &nso.interval_s)) ||
	    (getenv("KSENSE_NODE_CONDITION_HEARTBEAT_S") &&
	     parse_seconds("KSENSE_NODE_CONDITION_HEARTBEAT_S", getenv("KSENSE_NODE_CONDITION_HEARTBEAT_S"), &nso.heartbeat_s)))
		return 2;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char opt[64];
		const char *eq = strchr(a, '=');
		int skip = 1; /* a separate value argument to step over */

		/* --name=value as well as --name value */
		if (!strncmp(a, "--", 2) && eq && (size_t)(eq - a) < sizeof(opt)) {
			snprintf(opt, sizeof(opt), "%.*s", (int)(eq - a), a);
			a = opt;
			v = eq + 1;
			skip = 0;
		}
		if (!skip && (!strcmp(a, "--help") || !strcmp(a, "--version") || !strcmp(a, "--verbose") || !strcmp(a, "--no-tls") ||
			      !strcmp(a, "--no-agent") || !strcmp(a, "--no-node-condition") || !strcmp(a, "--node-taint"))) {
			fprintf(stderr, "ksense-webhook: %s takes no value\n", a);
			return 2;
		}

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--version")) {
			ks_print_version(stdout, "ksense-webhook");
			return 0;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			verbose = true;
		} else if (!strcmp(a, "--no-tls")) {
			o.tls_addr = NULL;
		} else if (!strcmp(a, "--no-agent")) {
			o.agent_addr = NULL;
		} else if (!strcmp(a, "--no-node-condition")) {
			node_condition = false;
		} else if (!strcmp(a, "--node-taint")) {
			nso.taint = true;
		} else if (!v) {
			fprintf(stderr, "ksense-webhook: unknown option or missing value: '%s' (see --help)\n", a);
			return 2;
		} else if (!strcmp(a, "--tls-addr")) {
			o.tls_addr = v; i += skip;
		} else if (!strcmp(a, "--agent-addr")) {
			o.agent_addr = v; i += skip;
		} else if (!strcmp(a, "--tls-port")) {
			if (parse_port("--tls-port", v, &o.tls_port))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--agent-port")) {
			if (parse_port("--agent-port", v, &o.agent_port))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--cert")) {
			o.cert_path = v; i += skip;
		} else if (!strcmp(a, "--key")) {
			o.key_path = v; i += skip;
		} else if (!strcmp(a, "--data-dir")) {
			snprintf(app.data_dir, sizeof(app.data_dir), "%s", v); i += skip;
		} else if (!strcmp(a, "--namespaces")) {
			if (parse_namespaces(&app, v))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--kubeconfig")) {
			kubeconfig = v; i += skip;
		} else if (!strcmp(a, "--pods-exclude-namespaces")) {
			if (parse_pods_exclude(&app, v))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--request-timeout-ms") || !strcmp(a, "--idle-timeout-ms") ||
			   !strcmp(a, "--first-byte-timeout-ms") || !strcmp(a, "--write-timeout-ms")) {
			int ms;

			if (parse_count(a, v, 100, 3600000, &ms))
				return 2;
			if (a[2] == 'r')
				o.request_timeout_ms = o.handshake_timeout_ms = ms;
			else if (a[2] == 'i')
				o.idle_timeout_ms = ms;
			else if (a[2] == 'f')
				o.first_byte_timeout_ms = ms;
			else
				o.write_timeout_ms = ms;
			i += skip;
		} else if (!strcmp(a, "--memory-limit")) {
			if (parse_size(a, v, &memory_limit))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--max-conns-tls") || !strcmp(a, "--max-conns-agent")) {
			if (parse_count(a, v, 1, 1000000, a[12] == 't' ? &max_tls : &max_agent))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--max-loop-lag-ms")) {
			int ms;

			if (parse_count(a, v, 100, 3600000, &ms))
				return 2;
			app.max_loop_lag_ms = (unsigned int)ms;
			i += skip;
		} else if (!strcmp(a, "--node-condition-interval-s")) {
			if (parse_seconds(a, v, &nso.interval_s))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--node-condition-heartbeat-s")) {
			if (parse_seconds(a, v, &nso.heartbeat_s))
				return 2;
			i += skip;
		} else if (!strcmp(a, "--test-score-file")) {
			snprintf(app.test_score_file, sizeof(app.test_score_file), "%s", v); i += skip;
		} else if (!strcmp(a, "--node")) {
			snprintf(app.node_name, sizeof(app.node_name), "%s", v); i += skip;
		} else {
			fprintf(stderr, "ksense-webhook: unknown option '%s' (see --help)\n", a);
			return 2;
		}
	}
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
		fprintf(stderr, "ksense-webhook: %s\n", strerror(-rc));
		return 1;
	}
	return 0;
}
