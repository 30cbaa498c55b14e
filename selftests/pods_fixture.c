// SPDX-License-Identifier: GPL-2.0
/*
 * /pods tests' fixture (see pods_fixture.h): ksense-webhook on a free
 * agent port, asked with curl, its answer parsed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "test_progs.h"
#include "fixture.h"
#include "fsutil.h"
#include "pods_fixture.h"

char pods_out[1 << 20];
static char tdir[128];

const char *pods_webhook_bin(void)
{
	const char *b = getenv("KSENSE_WEBHOOK_BIN");

	return b && *b ? b : "build/ksense-webhook";
}

int pods_free_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa)) &&
	    !getsockname(fd, (struct sockaddr *)&sa, &sl))
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

const char *pods_test_dir(void)
{
	if (!tdir[0]) {
		snprintf(tdir, sizeof(tdir), "/tmp/ksense-pods-test-%d", getpid());
		mkdir(tdir, 0700);
	}
	return tdir;
}

__attribute__((destructor)) static void remove_test_dir(void)
{
	if (tdir[0])
		ks_remove_tree(tdir);
}

/* ksense-webhook --no-tls on agent `port`, with extra args (NULL-ended)
 * and an environment without any kube config unless env says so. */
pid_t pods_start_webhook(int port, const char *log, const char *const *env, const char *const *args)
{
	char ps[16];
	const char *argv[32];
	pid_t pid;
	int n = 0, i;

	snprintf(ps, sizeof(ps), "%d", port);
	argv[n++] = pods_webhook_bin();
	argv[n++] = "--no-tls";
	argv[n++] = "--agent-addr";
	argv[n++] = "127.0.0.1";
	argv[n++] = "--agent-port";
	argv[n++] = ps;
	argv[n++] = "--data-dir";
	argv[n++] = pods_test_dir();
	argv[n++] = "--node";
	argv[n++] = "node-pods";
	for (i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* no ~/.kube/config or in-cluster config sneaks in */
		unsetenv("KUBECONFIG");
		unsetenv("KUBERNETES_SERVICE_HOST");
		setenv("HOME", pods_test_dir(), 1);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* SIGTERM, then SIGKILL after 5 s; the wait status, or -1. */
int pods_stop(pid_t pid)
{
	int i, status = -1;

	if (pid <= 0)
		return -1;
	kill(pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(pid, &status, WNOHANG) != pid; i++)
		usleep(100 * 1000);
	if (i == 50) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return status;
}

/* Stop the daemon; its log must hold no sanitizer report (an ASan build
 * of it runs with KSENSE_WEBHOOK_BIN=build/asan/ksense-webhook). */
void pods_stop_checked(pid_t pid, const char *log)
{
	int status = pods_stop(pid);

	/* a clean exit on SIGTERM, also with the pod-name thread running */
	if (pid > 0 && !ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "webhook exits 0 on SIGTERM"))
		printf("    wait status %#x\n", status);
	if (pid > 0 && !fx_sh(pods_out, sizeof(pods_out), "grep -A12 -E 'Sanitizer|runtime error' %s", log)) {
		printf("%s\n", pods_out);
		ASSERT_TRUE(false, "webhook log free of sanitizer reports");
	}
}

/* GET /pods into pods_out (body only); the HTTP status, or -1. */
int pods_get(int port, const char *method)
{
	char *tail;
	int rc;

	/* curl -X HEAD would wait for a body; --head knows there is none */
	rc = fx_sh(pods_out, sizeof(pods_out), "curl -s --max-time 10 %s%s -w '\\nHTTP=%%{http_code}' http://127.0.0.1:%d/pods",
		   strcmp(method, "HEAD") ? "-X " : "--head", strcmp(method, "HEAD") ? method : "", port);
	tail = strstr(pods_out, "\nHTTP=");
	if (rc || !tail)
		return -1;
	*tail = '\0';
	return atoi(tail + 6);
}

bool pods_wait_listening(int port)
{
	int i;

	for (i = 0; i < 100; i++) {
		if (pods_get(port, "GET") > 0)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

/* The element of "pods" whose uid is `uid`, or -1. */
int pods_find(const struct ks_json *j, const char *uid)
{
	int arr = ks_json_member(j, 0, "pods"), k, e;
	char s[64];

	for (k = 0; (e = ks_json_index(j, arr, k)) >= 0; k++)
		if (!ks_json_string(j, ks_json_member(j, e, "uid"), s, sizeof(s)) && !strcmp(s, uid))
			return e;
	return -1;
}

bool pods_str_is(const struct ks_json *j, int i, const char *want)
{
	char s[512];

	return !ks_json_string(j, i, s, sizeof(s)) && !strcmp(s, want);
}

/* Poll /pods until done(j) holds or timeout; 0 when it did. */
int pods_poll(int port, int timeout_ms, bool (*done)(const struct ks_json *j), struct ks_json *j)
{
	char err[256];
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 250) {
		ks_json_free(j);
		memset(j, 0, sizeof(*j));
		if (pods_get(port, "GET") == 200 && !ks_json_parse(j, pods_out, strlen(pods_out), err, sizeof(err)) && done(j))
			return 0;
		usleep(250 * 1000);
	}
	return -ETIMEDOUT;
}


bool pods_root_ready(void)
{
	char mnt[256];

	if (!fx_is_root()) {
		test__skip("needs root");
		return false;
	}
	if (ks_cgroup2_mount(mnt, sizeof(mnt))) {
		test__skip("no cgroup2 mount");
		return false;
	}
	return ASSERT_OK(fx_load(), "fx_load");
}
