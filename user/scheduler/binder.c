// SPDX-License-Identifier: GPL-2.0
/*
 * Worker threads for the scheduler's API writes (see binder.h).  One mutex
 * guards the queues; each worker owns its client, so no request ever waits
 * for another's connection.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "binder.h"
#include "buf.h"
#include "json.h"
#include "kube_event.h"
#include "log.h"

struct job_queue {
	struct sched_job *head, *tail;
	int n;
};

struct binder {
	struct binder_opts o;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	struct job_queue binds, verifies, events, done;
	int inflight_binds;
	int efd;
	/* the shared QPS limit: a token bucket */
	double tokens;
	long long last_ns;
	struct worker *w;
	int nworkers;
	struct binder_stats st;
};

struct worker {
	struct binder *b;
	struct kube_client *kc;
	pthread_t thread;
	bool started;
};

static long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long mono_ms(void)
{
	return mono_ns() / 1000000;
}

static void q_push(struct job_queue *q, struct sched_job *j)
{
	j->next = NULL;
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
}

static struct sched_job *q_pop(struct job_queue *q)
{
	struct sched_job *j = q->head;

	if (!j)
		return NULL;
	q->head = j->next;
	if (!q->head)
		q->tail = NULL;
	q->n--;
	j->next = NULL;
	return j;
}

void sched_jobs_free(struct sched_job *j)
{
	while (j) {
		struct sched_job *n = j->next;

		free(j);
		j = n;
	}
}

/* Take a token, waiting (outside the lock) for the refill when none is
 * left.  The debt is paid by the refill the next taker counts. */
static void take_token(struct binder *b)
{
	long long now, wait_ns = 0;
	struct timespec ts;

	if (b->o.qps <= 0)
		return;
	pthread_mutex_lock(&b->mu);
	now = mono_ns();
	b->tokens += (double)(now - b->last_ns) / 1e9 * b->o.qps;
	if (b->tokens > b->o.burst)
		b->tokens = b->o.burst;
	b->last_ns = now;
	b->tokens -= 1;
	if (b->tokens < 0)
		wait_ns = (long long)(-b->tokens / b->o.qps * 1e9);
	pthread_mutex_unlock(&b->mu);
	if (wait_ns > 0) {
		ts.tv_sec = wait_ns / 1000000000LL;
		ts.tv_nsec = wait_ns % 1000000000LL;
		nanosleep(&ts, NULL);
	}
}

static void do_bind(struct worker *w, struct sched_job *j)
{
	struct binder *b = w->b;
	struct ks_buf body, resp;
	char path[600], msg[256];
	int rc;

	if (b->o.lease && !kube_lease_held_for(b->o.lease, mono_ms(), b->o.timeout_ms)) {
		j->outcome = OUT_NOT_SENT;
		snprintf(j->err, sizeof(j->err), "not leading (the lease may be taken before a binding sent now lands)");
		return;
	}
	ks_buf_init(&body, 8192);
	ks_buf_init(&resp, 64 << 10);
	ks_buf_printf(&body, "{\"apiVersion\":\"v1\",\"kind\":\"Binding\",\"metadata\":{\"name\":");
	ks_buf_json_str(&body, j->name);
	ks_buf_printf(&body, ",\"namespace\":");
	ks_buf_json_str(&body, j->ns);
	/* the uid is a precondition: a pod re-created under the same name
	 * since we looked is not bound by mistake */
	if (j->uid[0]) {
		ks_buf_printf(&body, ",\"uid\":");
		ks_buf_json_str(&body, j->uid);
	}
	ks_buf_printf(&body, "},\"target\":{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"name\":");
	ks_buf_json_str(&body, j->node);
	ks_buf_printf(&body, "}}");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s/binding", j->ns, j->name);
	j->sent_ms = mono_ms();
	rc = kube_request(w->kc, "POST", path, NULL, body.data, body.len, &j->status, &resp, j->err, sizeof(j->err));
	if (rc) {
		/* the request may have reached the server: only a GET can tell */
		j->outcome = OUT_UNKNOWN;
	} else if (j->status == 201 || j->status == 200) {
		j->outcome = OUT_BOUND;
	} else {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(j->err, sizeof(j->err), "HTTP %d: %s", j->status, msg);
		j->outcome = j->status == 409 ? OUT_CONFLICT :
			     j->status == 404 ? OUT_GONE :
			     j->status >= 500 ? OUT_UNKNOWN : OUT_FAILED;
	}
	ks_buf_free(&body);
	ks_buf_free(&resp);
}

static void do_verify(struct worker *w, struct sched_job *j)
{
	struct ks_buf resp;
	struct ks_json js;
	char path[600], msg[256];
	int rc;

	ks_buf_init(&resp, 8u << 20);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/pods/%s", j->ns, j->name);
	j->sent_ms = mono_ms();
	rc = kube_request(w->kc, "GET", path, NULL, NULL, 0, &j->status, &resp, j->err, sizeof(j->err));
	if (rc) {
		j->outcome = OUT_FAILED;
	} else if (j->status == 404) {
		j->outcome = OUT_GONE;
	} else if (j->status != 200) {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(j->err, sizeof(j->err), "HTTP %d: %s", j->status, msg);
		j->outcome = OUT_FAILED;
	} else if (ks_json_parse_limits(&js, resp.data, resp.len, resp.len + 1, KS_JSON_MAX_TOKENS, msg, sizeof(msg))) {
		snprintf(j->err, sizeof(j->err), "pod: %s", msg);
		j->outcome = OUT_FAILED;
	} else {
		ks_json_string(&js, ks_json_path(&js, "spec.nodeName"), j->got_node, sizeof(j->got_node));
		ks_json_string(&js, ks_json_path(&js, "metadata.uid"), j->got_uid, sizeof(j->got_uid));
		ks_json_free(&js);
		j->outcome = OUT_FOUND;
	}
	ks_buf_free(&resp);
}

static void do_event(struct worker *w, struct sched_job *j)
{
	const struct kube_event_ref ref = {
		.api_version = "v1", .kind = "Pod", .ns = j->ns, .name = j->name, .uid = j->uid,
	};
	const struct kube_event ev = {
		.type = j->ev_type, .reason = j->ev_reason, .message = j->ev_message, .component = w->b->o.component,
		.instance = w->b->o.instance, .action = j->ev_action[0] ? j->ev_action : NULL,
	};

	j->sent_ms = mono_ms();
	j->status = kube_event_post(w->kc, &ref, &ev, NULL, 0, j->err, sizeof(j->err));
	j->outcome = j->status >= 200 && j->status < 300 ? OUT_BOUND : OUT_FAILED;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct binder *b = w->b;
	uint64_t one = 1;

	pthread_mutex_lock(&b->mu);
	for (;;) {
		struct sched_job *j;

		while (!b->stop && !b->binds.n && !b->verifies.n && !b->events.n)
			pthread_cond_wait(&b->cond, &b->mu);
		if (b->stop)
			break;
		pthread_mutex_unlock(&b->mu);
		take_token(b);
		pthread_mutex_lock(&b->mu);
		if (b->stop)
			break;
		/* the oldest decision, taken only now that it can be sent */
		j = q_pop(&b->binds);
		if (j)
			b->inflight_binds++;
		else
			j = q_pop(&b->verifies);
		if (!j)
			j = q_pop(&b->events);
		if (!j)
			continue;
		b->st.sent++;
		pthread_mutex_unlock(&b->mu);
		if (j->kind == JOB_BIND)
			do_bind(w, j);
		else if (j->kind == JOB_VERIFY)
			do_verify(w, j);
		else
			do_event(w, j);
		j->done_ms = mono_ms();
		if (j->kind == JOB_EVENT && j->outcome != OUT_BOUND)
			ks_warn("cannot post event", "pod=%s/%s reason=%s status=%d err=\"%s\"", j->ns, j->name,
				j->ev_reason, j->status, j->err);
		pthread_mutex_lock(&b->mu);
		if (j->kind == JOB_BIND)
			b->inflight_binds--;
		if (j->kind == JOB_EVENT) {
			b->st.events_failed += j->outcome != OUT_BOUND;
			free(j);
		} else {
			q_push(&b->done, j);
			if (write(b->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
				ks_warn("binder: cannot signal", "err=\"%s\"", strerror(errno));
		}
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

int binder_start(struct binder **out, const struct kube_config *kc, const struct binder_opts *o, char *err,
		 size_t errlen)
{
	struct binder *b = calloc(1, sizeof(*b));
	int i, rc;

	*out = NULL;
	if (!b) {
		snprintf(err, errlen, "out of memory for the binder");
		return -ENOMEM;
	}
	b->o = *o;
	if (b->o.workers < 1)
		b->o.workers = 1;
	if (b->o.burst < 1)
		b->o.burst = 1;
	b->tokens = b->o.burst;
	b->last_ns = mono_ns();
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cond, NULL);
	b->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	b->w = calloc((size_t)b->o.workers, sizeof(*b->w));
	if (!b->w) {
		rc = -ENOMEM;
		snprintf(err, errlen, "out of memory for the binder");
		goto fail;
	}
	b->nworkers = b->o.workers;
	for (i = 0; i < b->nworkers; i++) {
		struct worker *w = &b->w[i];

		w->b = b;
		w->kc = kube_client_new(kc, 0, 1, err, errlen);
		if (!w->kc) {
			rc = -EINVAL;
			goto fail;
		}
		kube_client_set_timeouts(w->kc, b->o.timeout_ms < 5000 ? b->o.timeout_ms : 5000, b->o.timeout_ms);
		if (b->o.user_agent)
			kube_client_set_user_agent(w->kc, b->o.user_agent);
		rc = pthread_create(&w->thread, NULL, worker_main, w);
		if (rc) {
			snprintf(err, errlen, "binder thread: %s", strerror(rc));
			rc = -rc;
			goto fail;
		}
		w->started = true;
	}
	*out = b;
	return 0;
fail:
	binder_stop(b);
	return rc;
}

int binder_fd(const struct binder *b)
{
	return b->efd;
}

void binder_submit(struct binder *b, struct sched_job *j)
{
	j->queued_ms = mono_ms();
	j->next = NULL;
	pthread_mutex_lock(&b->mu);
	if (j->kind == JOB_EVENT && b->events.n >= b->o.max_events) {
		b->st.events_dropped++;
		pthread_mutex_unlock(&b->mu);
		free(j);
		return;
	}
	q_push(j->kind == JOB_BIND ? &b->binds : j->kind == JOB_VERIFY ? &b->verifies : &b->events, j);
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->mu);
}

int binder_bind_load(struct binder *b)
{
	int n;

	pthread_mutex_lock(&b->mu);
	n = b->binds.n + b->inflight_binds;
	pthread_mutex_unlock(&b->mu);
	return n;
}

/* Unlink the matching jobs of q, in order, onto the list at *tail; returns
 * the new end of that list. */
static struct sched_job **cancel_from(struct job_queue *q, const char *node, const char *ns, const char *name,
				      struct sched_job **tail)
{
	struct sched_job *j = q->head, *next;

	q->head = q->tail = NULL;
	q->n = 0;
	for (; j; j = next) {
		next = j->next;
		j->next = NULL;
		if ((!node || !strcmp(j->node, node)) && (!ns || !strcmp(j->ns, ns)) &&
		    (!name || !strcmp(j->name, name))) {
			*tail = j;
			tail = &j->next;
		} else {
			q_push(q, j);
		}
	}
	return tail;
}

struct sched_job *binder_cancel(struct binder *b, const char *node, const char *ns, const char *name)
{
	struct sched_job *out = NULL, **tail = &out;

	pthread_mutex_lock(&b->mu);
	tail = cancel_from(&b->binds, node, ns, name, tail);
	if (!node)
		cancel_from(&b->verifies, NULL, ns, name, tail);
	pthread_mutex_unlock(&b->mu);
	return out;
}

struct sched_job *binder_done(struct binder *b)
{
	struct sched_job *out;
	uint64_t v;

	if (read(b->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		ks_warn("binder: cannot read its eventfd", "err=\"%s\"", strerror(errno));
	pthread_mutex_lock(&b->mu);
	out = b->done.head;
	b->done.head = b->done.tail = NULL;
	b->done.n = 0;
	pthread_mutex_unlock(&b->mu);
	return out;
}

void binder_stats(struct binder *b, struct binder_stats *st)
{
	pthread_mutex_lock(&b->mu);
	*st = b->st;
	pthread_mutex_unlock(&b->mu);
}

void binder_stop(struct binder *b)
{
	int i;

	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	b->stop = true;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->mu);
	for (i = 0; i < b->nworkers; i++) {
		if (b->w[i].started)
			pthread_join(b->w[i].thread, NULL);
		kube_client_free(b->w[i].kc);
	}
	free(b->w);
	sched_jobs_free(b->binds.head);
	sched_jobs_free(b->verifies.head);
	sched_jobs_free(b->events.head);
	sched_jobs_free(b->done.head);
	if (b->efd >= 0)
		close(b->efd);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
