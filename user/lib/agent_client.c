// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include "agent_client.h"
#include "json.h"

#define RESPONSE_MAX_BYTES 65536

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Wait for fd to be ready for `events` until the deadline; 0, -ETIMEDOUT. */
static int wait_fd(int fd, short events, long long deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	long long left = deadline - ms_now();
	int rc;

	if (left <= 0)
		return -ETIMEDOUT;
	do {
		rc = poll(&p, 1, (int)left);
	} while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	return rc == 0 ? -ETIMEDOUT : 0;
}

int ks_agent_score_parse(const char *body, size_t len, struct ks_agent_score *out, char *err,
			 size_t errlen)
{
	struct ks_json j;
	char num[32];
	int rc, i;

	memset(out, 0, sizeof(*out));
	rc = ks_json_parse(&j, body, len, err, errlen);
	if (rc)
		return rc;
	rc = -EINVAL;
	i = ks_json_path(&j, "score");
	if (i < 0 || j.tok[i].type != JSMN_PRIMITIVE || j.tok[i].end - j.tok[i].start >= (int)sizeof(num)) {
		snprintf(err, errlen, "/score without a numeric score");
		goto out;
	}
	snprintf(num, sizeof(num), "%.*s", j.tok[i].end - j.tok[i].start, body + j.tok[i].start);
	out->score = (unsigned int)strtoul(num, NULL, 10);
	if (out->score > 100) {
		snprintf(err, errlen, "/score score %u out of 0..100", out->score);
		goto out;
	}
	if (ks_json_string(&j, ks_json_path(&j, "decision"), out->decision, sizeof(out->decision)) ||
	    (strcmp(out->decision, "allow") && strcmp(out->decision, "deny"))) {
		snprintf(err, errlen, "/score decision is not allow or deny");
		goto out;
	}
	out->deny = !strcmp(out->decision, "deny");
	ks_json_string(&j, ks_json_path(&j, "band"), out->band, sizeof(out->band));
	i = ks_json_path(&j, "seq");
	if (i >= 0 && j.tok[i].type == JSMN_PRIMITIVE)
		out->seq = strtoull(body + j.tok[i].start, NULL, 10);
	i = ks_json_path(&j, "window_age_ms");
	if (i >= 0 && j.tok[i].type == JSMN_PRIMITIVE)
		out->window_age_ms = strtoull(body + j.tok[i].start, NULL, 10);
	rc = 0;
out:
	ks_json_free(&j);
	return rc;
}

int ks_agent_score_get(const char *host, int port, int timeout_ms, struct ks_agent_score *out,
		       char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	long long deadline = ms_now() + timeout_ms;
	char portstr[16], req[512], *resp = NULL, *body;
	size_t got = 0;
	int fd = -1, rc, status = 0;
	socklen_t sl = sizeof(rc);
	ssize_t n;

	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "resolve %s: %s", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS) {
		rc = -errno;
		snprintf(err, errlen, "connect %s:%d: %s", host, port, strerror(errno));
		goto out;
	}
	rc = wait_fd(fd, POLLOUT, deadline);
	if (!rc && getsockopt(fd, SOL_SOCKET, SO_ERROR, &status, &sl) == 0 && status)
		rc = -status;
	if (rc) {
		snprintf(err, errlen, "connect %s:%d: %s", host, port,
			 rc == -ETIMEDOUT ? "timed out" : strerror(-rc));
		goto out;
	}
	n = snprintf(req, sizeof(req), "GET /score HTTP/1.1\r\nHost: %s\r\nUser-Agent: ksense-scheduler\r\n"
		     "Accept: application/json\r\nConnection: close\r\n\r\n", host);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		rc = -EIO;
		snprintf(err, errlen, "send to %s:%d failed", host, port);
		goto out;
	}
	resp = malloc(RESPONSE_MAX_BYTES + 1);
	if (!resp) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc) {
			snprintf(err, errlen, "%s:%d /score: no answer within %d ms", host, port, timeout_ms);
			goto out;
		}
		n = recv(fd, resp + got, RESPONSE_MAX_BYTES - got, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s:%d: %s", host, port, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got == RESPONSE_MAX_BYTES) {
			rc = -E2BIG;
			snprintf(err, errlen, "%s:%d /score response over %d bytes", host, port, RESPONSE_MAX_BYTES);
			goto out;
		}
	}
	resp[got] = '\0';
	body = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !body) {
		rc = -EPROTO;
		snprintf(err, errlen, "%s:%d: not an HTTP response", host, port);
		goto out;
	}
	body += 4;
	if (status != 200) {
		rc = -EIO;
		snprintf(err, errlen, "%s:%d /score answered %d: %.120s", host, port, status, body);
		goto out;
	}
	rc = ks_agent_score_parse(body, got - (size_t)(body - resp), out, err, errlen);
out:
	free(resp);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}
