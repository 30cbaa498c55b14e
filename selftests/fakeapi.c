// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "fakeapi.h"
#include "json.h"

const char *fakeapi_missing(void)
{
	if (access(FAKEAPI_SCRIPT, R_OK))
		return "needs " FAKEAPI_SCRIPT " (run from the source tree)";
	if (system("command -v python3 >/dev/null 2>&1"))
		return "needs python3 (make test-deps installs it)";
	return NULL;
}

const char *fakeapi_path(struct fakeapi *f, const char *name)
{
	static char p[4][512];
	static int n;
	char *out = p[n++ % 4];

	snprintf(out, sizeof(p[0]), "%s/%s", f->dir, name);
	return out;
}

pid_t fx_spawn(const char *log, char *const argv[], const char *const env[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		for (; env && *env; env++)
			putenv((char *)*env);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

pid_t fx_spawn_port(const char *log, const char *portfile, char *const argv[], int *port)
{
	char buf[32];
	pid_t pid;
	int i;

	*port = 0;
	unlink(portfile);
	pid = fx_spawn(log, argv, NULL);
	for (i = 0; pid > 0 && i < 300; i++) {
		FILE *f = fopen(portfile, "r");

		if (f) {
			if (fgets(buf, sizeof(buf), f))
				*port = atoi(buf);
			fclose(f);
			if (*port > 0)
				return pid;
		}
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(100 * 1000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

int fx_stop(pid_t pid)
{
	int i, st = 0;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		usleep(50 * 1000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

int fx_count_in_file(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[8192];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		for (char *p = line; (p = strstr(p, needle)); p += strlen(needle))
			n++;
	fclose(f);
	return n;
}

/* The server on port (0: any), with f's extra arguments. */
static int spawn_server(struct fakeapi *f, int port)
{
	char portfile[600], portarg[16];
	char *argv[24] = { "python3", FAKEAPI_SCRIPT, "--port", portarg, "--port-file", portfile,
			   "--bookmark-interval", "1" };
	int n = 8, i;

	snprintf(portfile, sizeof(portfile), "%s/api.port", f->dir);
	snprintf(portarg, sizeof(portarg), "%d", port);
	for (i = 0; i < f->nextra; i++)
		argv[n++] = f->extra[i];
	argv[n] = NULL;
	f->pid = fx_spawn_port(fakeapi_path(f, "api.log"), portfile, argv, &f->port);
	return f->port > 0 ? 0 : -1;
}

int fakeapi_start(struct fakeapi *f, const char *tag)
{
	return fakeapi_start_args(f, tag, NULL);
}

int fakeapi_restart(struct fakeapi *f)
{
	int port = f->port, i;

	fx_stop(f->pid);
	/* the old socket may linger a moment; the server reuses the address */
	for (i = 0; i < 20; i++) {
		if (!spawn_server(f, port))
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

int fakeapi_start_args(struct fakeapi *f, const char *tag, const char *const *extra)
{
	char err[512];
	struct kube_config c;
	FILE *kc;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/ksense-%s-%d", tag, getpid());
	if (mkdir(f->dir, 0755) && errno != EEXIST)
		return -errno;
	for (; extra && *extra && f->nextra < 8; extra++) {
		const char *at = strstr(*extra, "@DIR@");

		if (at)
			snprintf(f->extra[f->nextra++], sizeof(f->extra[0]), "%.*s%s%s", (int)(at - *extra), *extra,
				 f->dir, at + 5);
		else
			snprintf(f->extra[f->nextra++], sizeof(f->extra[0]), "%s", *extra);
	}
	spawn_server(f, 0);
	if (f->port <= 0) {
		printf("  fake API server did not start; its log:\n");
		fflush(stdout);
		snprintf(err, sizeof(err), "tail -n 20 %s/api.log", f->dir);
		if (system(err)) {
		}
		return -1;
	}
	snprintf(f->kubeconfig, sizeof(f->kubeconfig), "%s/kubeconfig", f->dir);
	kc = fopen(f->kubeconfig, "w");
	if (!kc)
		return -errno;
	fprintf(kc, "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:%d\n"
		    "users:\n- name: test\n  user:\n    token: test-token\ncontexts:\n- name: fake\n  context:\n"
		    "    cluster: fake\n    user: test\n    namespace: default\ncurrent-context: fake\n", f->port);
	fclose(kc);
	if (kube_config_load(&c, f->kubeconfig, NULL, err, sizeof(err))) {
		printf("  %s\n", err);
		return -1;
	}
	f->kc = kube_client_new(&c, 0, 1, err, sizeof(err));
	kube_config_free(&c);
	if (!f->kc) {
		printf("  %s\n", err);
		return -1;
	}
	return 0;
}

void fakeapi_stop(struct fakeapi *f)
{
	char cmd[600];

	if (f->kc)
		kube_client_free(f->kc);
	f->kc = NULL;
	fx_stop(f->pid);
	f->pid = 0;
	if (f->dir[0] && !getenv("KSENSE_TEST_KEEP")) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
		if (system(cmd)) {
		}
	}
}

int fakeapi_call(struct fakeapi *f, const char *method, const char *path, const char *body, struct ks_buf *out)
{
	char err[1024];
	int status = 0, rc;

	if (out)
		ks_buf_reset(out);
	rc = kube_request(f->kc, method, path, NULL, body, body ? strlen(body) : 0, &status, out, err, sizeof(err));
	if (rc) {
		printf("  %s %s: %s\n", method, path, err);
		return rc;
	}
	return status;
}

int fakeapi_seed(struct fakeapi *f, const char *objects_json)
{
	struct ks_buf b;
	int rc;

	ks_buf_init(&b, 64u << 20);
	ks_buf_printf(&b, "{\"defaults\":true,\"objects\":[%s]}", objects_json);
	rc = fakeapi_call(f, "POST", "/fake/objects", b.data, NULL);
	ks_buf_free(&b);
	if (rc != 200 && rc != 201) {
		printf("  seeding the fake API server: %d\n", rc);
		return -1;
	}
	return 0;
}

int fake_agent_set(struct fake_agent *a, const char *score_line)
{
	char tmp[420];
	FILE *f;

	/* renamed into place: the daemon never reads half a line */
	snprintf(tmp, sizeof(tmp), "%s.tmp", a->score_file);
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%s\n", score_line);
	fclose(f);
	return rename(tmp, a->score_file) ? -errno : 0;
}

int fake_agent_start(struct fakeapi *f, struct fake_agent *a, const char *node, const char *score_line)
{
	char *bin = getenv("KSENSE_WEBHOOK_BIN") ?: "build/ksense-webhook";
	char nodearg[300], datadir[400];
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->score_file, sizeof(a->score_file), "%s/score-%s", f->dir, node);
	snprintf(a->log, sizeof(a->log), "%s/agent-%s.log", f->dir, node);
	snprintf(nodearg, sizeof(nodearg), "%s", node);
	snprintf(datadir, sizeof(datadir), "%s/data-%s", f->dir, node);
	if (fake_agent_set(a, score_line))
		return -1;
	{
		char *argv[] = { bin, "--no-tls", "--agent-addr", "127.0.0.1", "--agent-port", "0", "--test-score-file",
				 a->score_file, "--node", nodearg, "--data-dir", datadir, NULL };
		const char *env[] = { "KSENSE_PIN_ROOT=/sys/fs/bpf/ksense-none-for-fake-agents", NULL };

		a->pid = fx_spawn(a->log, argv, env);
	}
	for (i = 0; a->pid > 0 && i < 100; i++) {
		FILE *lf = fopen(a->log, "r");
		char line[1024], *p;

		while (lf && fgets(line, sizeof(line), lf))
			if ((p = strstr(line, "agent_port=")))
				a->port = atoi(p + 11);
		if (lf)
			fclose(lf);
		if (a->port > 0)
			return 0;
		usleep(50 * 1000);
	}
	printf("  agent for %s did not start (log %s)\n", node, a->log);
	return -1;
}

void fake_agent_stop(struct fake_agent *a)
{
	fx_stop(a->pid);
	a->pid = 0;
}

int fake_node_json(char *out, size_t len, const char *node, int cpu_milli, const struct fake_agent *a)
{
	return fake_node_json_pods(out, len, node, cpu_milli, 110, a);
}

int fake_node_json_pods(char *out, size_t len, const char *node, int cpu_milli, int pods, const struct fake_agent *a)
{
	int n = snprintf(out, len,
			 "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"%s\",\"labels\":"
			 "{\"kubernetes.io/hostname\":\"%s\"}},\"status\":{\"allocatable\":{\"cpu\":\"%dm\","
			 "\"memory\":\"8Gi\",\"pods\":\"%d\"},\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}",
			 node, node, cpu_milli, pods);

	if (a)
		n += snprintf(out + n, len - (size_t)n,
			      ",{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"ksense-node-%s\","
			      "\"namespace\":\"ksense-system\",\"labels\":{\"app.kubernetes.io/name\":\"ksense-node\"},"
			      "\"annotations\":{\"ksense.io/agent-port\":\"%d\"}},\"spec\":{\"nodeName\":\"%s\","
			      "\"containers\":[{\"name\":\"webhook\",\"image\":\"ksense/node\"}]},"
			      "\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.1\"}}",
			      node, a->port, node);
	return n < (int)len ? 0 : -ENOSPC;
}

int fake_agent_nodes(struct fakeapi *f, struct fake_agent *ag, int nr, const char *const *scores, int cpu_milli)
{
	char name[16], json[4096];
	int i;

	for (i = 1; i <= nr; i++) {
		snprintf(name, sizeof(name), "n%d", i);
		if (fake_agent_start(f, &ag[i], name, scores[i])) {
			printf("  the agent of %s did not start\n", name);
			return -1;
		}
		if (fake_node_json(json, sizeof(json), name, cpu_milli, &ag[i]) || fakeapi_seed(f, json)) {
			printf("  %s could not be seeded\n", name);
			return -1;
		}
	}
	return 0;
}

int fx_deploy_replicas(struct kube_client *k, const char *ns, const char *name)
{
	char path[512], err[256];
	struct ks_json j;
	struct ks_buf b;
	int r = -1, status = 0, i;

	ks_buf_init(&b, 1 << 20);
	snprintf(path, sizeof(path), "/apis/apps/v1/namespaces/%s/deployments/%s", ns, name);
	if (!kube_request(k, "GET", path, NULL, NULL, 0, &status, &b, err, sizeof(err)) && status == 200 &&
	    !ks_json_parse(&j, b.data, b.len, err, sizeof(err))) {
		i = ks_json_path(&j, "spec.replicas");
		r = ks_json_is_number(&j, i) ? atoi(j.src + j.tok[i].start) : -1;
		ks_json_free(&j);
	}
	ks_buf_free(&b);
	return r;
}
