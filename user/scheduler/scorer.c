// SPDX-License-Identifier: GPL-2.0
/* The agents' /score in a thread of its own (see scorer.h). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "log.h"
#include "scorer.h"

struct scorer {
	int timeout_ms;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	struct score_req *req;
	int nreq, capreq;
	struct score_res *res;
	int nres, capres;
	unsigned long long sent;
	int efd;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int grow(void **arr, int *cap, int need, size_t sz)
{
	int ncap = *cap ? *cap : 64;
	void *p;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	p = realloc(*arr, (size_t)ncap * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static void round_of(struct scorer *s, struct score_req *r, int n)
{
	struct ks_agent_get *g = calloc((size_t)n, sizeof(*g));
	struct score_res *out = calloc((size_t)n, sizeof(*out));
	uint64_t one = 1;
	long long now;
	int i;

	if (!g || !out) {
		ks_err("out of memory", "what=score_round n=%d", n);
		goto done;
	}
	for (i = 0; i < n; i++) {
		g[i].host = r[i].host;
		g[i].port = r[i].port;
		g[i].path = "/score";
	}
	ks_agent_get_many(g, n, s->timeout_ms);
	now = mono_ms();
	for (i = 0; i < n; i++) {
		char err[256];

		snprintf(out[i].node, sizeof(out[i].node), "%s", r[i].node);
		snprintf(out[i].host, sizeof(out[i].host), "%s", r[i].host);
		out[i].port = r[i].port;
		out[i].rc = ks_agent_score_from(&g[i], &out[i].sc, err, sizeof(err));
		if (out[i].rc)
			snprintf(out[i].err, sizeof(out[i].err), "%.127s", err);
		out[i].at_ms = now;
		ks_agent_get_free(&g[i]);
	}
	pthread_mutex_lock(&s->mu);
	s->sent += (unsigned long long)n;
	if (!grow((void **)&s->res, &s->capres, s->nres + n, sizeof(*s->res))) {
		memcpy(s->res + s->nres, out, (size_t)n * sizeof(*out));
		s->nres += n;
	} else {
		ks_err("out of memory", "what=score_results n=%d", n);
	}
	pthread_mutex_unlock(&s->mu);
	if (write(s->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ks_warn("scorer: cannot signal", "err=\"%s\"", strerror(errno));
done:
	free(g);
	free(out);
}

static void *scorer_main(void *arg)
{
	struct scorer *s = arg;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		struct score_req *batch;
		int n;

		while (!s->stop && !s->nreq)
			pthread_cond_wait(&s->cond, &s->mu);
		if (s->stop)
			break;
		n = s->nreq < SCORER_ROUND ? s->nreq : SCORER_ROUND;
		batch = malloc((size_t)n * sizeof(*batch));
		if (!batch) {
			ks_err("out of memory", "what=score_batch n=%d", n);
			s->nreq = 0;
			continue;
		}
		memcpy(batch, s->req, (size_t)n * sizeof(*batch));
		memmove(s->req, s->req + n, (size_t)(s->nreq - n) * sizeof(*s->req));
		s->nreq -= n;
		pthread_mutex_unlock(&s->mu);
		round_of(s, batch, n);
		free(batch);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int scorer_start(struct scorer **out, int timeout_ms, char *err, size_t errlen)
{
	struct scorer *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory for the scorer");
		return -ENOMEM;
	}
	s->timeout_ms = timeout_ms;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	rc = pthread_create(&s->thread, NULL, scorer_main, s);
	if (rc) {
		snprintf(err, errlen, "scorer thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	s->started = true;
	*out = s;
	return 0;
fail:
	scorer_stop(s);
	return rc;
}

int scorer_fd(const struct scorer *s)
{
	return s->efd;
}

void scorer_request(struct scorer *s, const struct score_req *r, int n)
{
	if (n <= 0)
		return;
	pthread_mutex_lock(&s->mu);
	if (grow((void **)&s->req, &s->capreq, s->nreq + n, sizeof(*s->req))) {
		ks_err("out of memory", "what=score_requests n=%d", n);
	} else {
		memcpy(s->req + s->nreq, r, (size_t)n * sizeof(*r));
		s->nreq += n;
		pthread_cond_signal(&s->cond);
	}
	pthread_mutex_unlock(&s->mu);
}

int scorer_results(struct scorer *s, struct score_res **out)
{
	uint64_t v;
	int n;

	if (read(s->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		ks_warn("scorer: cannot read its eventfd", "err=\"%s\"", strerror(errno));
	pthread_mutex_lock(&s->mu);
	*out = s->res;
	n = s->nres;
	s->res = NULL;
	s->nres = s->capres = 0;
	pthread_mutex_unlock(&s->mu);
	return n;
}

unsigned long long scorer_requests(struct scorer *s)
{
	unsigned long long n;

	pthread_mutex_lock(&s->mu);
	n = s->sent;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void scorer_stop(struct scorer *s)
{
	if (!s)
		return;
	if (s->started) {
		pthread_mutex_lock(&s->mu);
		s->stop = true;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (s->efd >= 0)
		close(s->efd);
	free(s->req);
	free(s->res);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
