// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "loopback.h"

long long lb_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int lb_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

ssize_t lb_request(int port, const char *req, char *buf, size_t len, int timeout_ms)
{
	long long end = lb_mono_ms() + timeout_ms;
	int fd = lb_connect(port);
	size_t got = 0, n = strlen(req);

	buf[0] = '\0';
	if (fd < 0)
		return -1;
	if (send(fd, req, n, MSG_NOSIGNAL) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	while (got + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = end - lb_mono_ms();
		ssize_t r;

		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		r = recv(fd, buf + got, len - 1 - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

bool lb_get_ok(int port, const char *path, char *buf, size_t len, int timeout_ms)
{
	char req[512];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: lb\r\nConnection: close\r\n\r\n", path);
	return lb_request(port, req, buf, len, timeout_ms) > 0 && !strncmp(buf, "HTTP/1.1 200", 12);
}

double lb_metric(const char *e, const char *series)
{
	size_t n = strlen(series);
	const char *p;

	for (p = strstr(e, series); p; p = strstr(p + 1, series))
		if ((p == e || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
	return -1;
}

int lb_log_number(const char *log, const char *key)
{
	size_t kl = strlen(key);
	int i;

	for (i = 0; i < 100; i++) {
		FILE *f = fopen(log, "r");
		char line[2048], *p;
		int v = -1;

		while (f && fgets(line, sizeof(line), f))
			if ((p = strstr(line, key)) && p[kl] == '=')
				v = atoi(p + kl + 1);
		if (f)
			fclose(f);
		if (v > 0)
			return v;
		usleep(50 * 1000);
	}
	return -1;
}

static pid_t spawn(const char *log, int nofile, char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		char nf[32], *pargv[64];
		int i;

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nofile <= 0) {
			execv(argv[0], argv);
			_exit(127);
		}
		snprintf(nf, sizeof(nf), "--nofile=%d", nofile);
		pargv[0] = "prlimit";
		pargv[1] = nf;
		pargv[2] = "--";
		for (i = 0; argv[i] && i < 60; i++)
			pargv[3 + i] = argv[i];
		pargv[3 + i] = NULL;
		execvp(pargv[0], pargv);
		_exit(127);
	}
	return pid;
}

int lb_webhook_start(struct lb_webhook *w, const char *log, int nofile, char *const argv[])
{
	char buf[512];
	bool listening = false;
	int i;

	memset(w, 0, sizeof(*w));
	w->pid = spawn(log, nofile, argv);
	for (i = 0; w->pid > 0 && i < 200 && !listening; i++) {
		FILE *f = fopen(log, "r");
		char line[1024], *p;

		while (f && fgets(line, sizeof(line), f))
			if (strstr(line, "msg=\"listening\"")) {
				listening = true;
				p = strstr(line, "tls_port=");
				w->tls_port = p ? atoi(p + 9) : 0;
				p = strstr(line, "agent_port=");
				w->agent_port = p ? atoi(p + 11) : 0;
			}
		if (f)
			fclose(f);
		if (!listening)
			usleep(50 * 1000);
	}
	for (i = 0; w->agent_port > 0 && i < 100; i++) {
		if (lb_get_ok(w->agent_port, "/healthz", buf, sizeof(buf), 1000))
			return 0;
		usleep(50 * 1000);
	}
	return -1;
}

void lb_webhook_stop(struct lb_webhook *w)
{
	int i;

	if (w->pid <= 0)
		return;
	kill(w->pid, SIGTERM);
	for (i = 0; i < 50 && waitpid(w->pid, NULL, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	if (i == 50) {
		kill(w->pid, SIGKILL);
		waitpid(w->pid, NULL, 0);
	}
	w->pid = 0;
}

long long lb_proc_cpu_ms(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	p = fgets(buf, sizeof(buf), f);
	fclose(f);
	if (!p)
		return -1;
	/* fields after "(comm)": state is the 3rd, utime the 14th, stime the 15th */
	p = strrchr(buf, ')');
	for (i = 3; p && i < 14; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st) * 1000 / sysconf(_SC_CLK_TCK);
}

long lb_proc_status_kb(pid_t pid, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':')
			kb = atol(line + n + 1);
	if (f)
		fclose(f);
	return kb;
}

char *lb_deep_review(size_t *len)
{
	size_t cap = 1024 * 1024 - 64, o;
	char *b = malloc(cap + 512);

	if (!b)
		return NULL;
	o = (size_t)sprintf(b, "{\"apiVersion\":\"admission.k8s.io/v1\",\"kind\":\"AdmissionReview\",\"request\":"
			    "{\"uid\":\"deep\",\"x\":[");
	while (o + 205 < cap) {
		memset(b + o, '[', 100);
		memset(b + o + 100, ']', 100);
		b[o + 200] = ',';
		o += 201;
	}
	o += (size_t)sprintf(b + o, "0]}}");
	*len = o;
	return b;
}
