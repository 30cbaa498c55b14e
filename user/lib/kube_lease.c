// SPDX-License-Identifier: GPL-2.0
/*
 * Leader election on a Lease, in its own thread (see kube_lease.h for what
 * "leading" guarantees).  The thread is the only writer of the validity
 * timestamps; readers see them through atomics, so asking "may I still
 * write?" costs a load and never waits for a request in flight.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "buf.h"
#include "json.h"
#include "kube_lease.h"
#include "log.h"

struct lease_rec {
	char holder[256];
	char renew[40];
	char acquire[40];
	char rv[KUBE_RV_MAX];
	long long duration_s;
	long long transitions;
};

struct kube_lease {
	struct kube_lease_opts o;
	struct kube_client *kc;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
	int efd;
	_Atomic long long valid_until_ms;   /* t0 + renew deadline; 0 not leading */
	_Atomic long long safe_until_ms;    /* t0 + lease duration */
	_Atomic unsigned long term;
	struct kube_lease_seen seen;
};

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void micro_now(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000) % 1000000);
}

static long long num_at(const struct ks_json *j, const char *path)
{
	int i = ks_json_path(j, path);

	return ks_json_is_number(j, i) ? strtoll(j->src + j->tok[i].start, NULL, 10) : 0;
}

static int parse_lease(const char *body, size_t len, struct lease_rec *r, char *err, size_t errlen)
{
	struct ks_json j;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = ks_json_parse(&j, body, len, err, errlen);
	if (rc)
		return rc;
	ks_json_string(&j, ks_json_path(&j, "spec.holderIdentity"), r->holder, sizeof(r->holder));
	ks_json_string(&j, ks_json_path(&j, "spec.renewTime"), r->renew, sizeof(r->renew));
	ks_json_string(&j, ks_json_path(&j, "spec.acquireTime"), r->acquire, sizeof(r->acquire));
	ks_json_string(&j, ks_json_path(&j, "metadata.resourceVersion"), r->rv, sizeof(r->rv));
	r->duration_s = num_at(&j, "spec.leaseDurationSeconds");
	r->transitions = num_at(&j, "spec.leaseTransitions");
	ks_json_free(&j);
	return 0;
}

static void lease_body(const struct kube_lease_opts *o, struct ks_buf *b, const struct lease_rec *r,
		       const char *holder, const char *acquire, const char *renew, long long transitions)
{
	ks_buf_printf(b, "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":");
	ks_buf_json_str(b, o->name);
	ks_buf_printf(b, ",\"namespace\":");
	ks_buf_json_str(b, o->ns);
	if (r && r->rv[0]) {
		ks_buf_printf(b, ",\"resourceVersion\":");
		ks_buf_json_str(b, r->rv);
	}
	ks_buf_printf(b, "},\"spec\":{\"holderIdentity\":");
	ks_buf_json_str(b, holder);
	ks_buf_printf(b, ",\"leaseDurationSeconds\":%d,\"acquireTime\":\"%s\",\"renewTime\":\"%s\","
		      "\"leaseTransitions\":%lld}}", o->duration_s, acquire, renew, transitions);
}

int kube_lease_opts_check(const struct kube_lease_opts *o, char *err, size_t errlen)
{
	if (!o->ns[0] || !o->name[0] || !o->identity[0]) {
		snprintf(err, errlen, "leader election needs a lease namespace, name and identity");
		return -EINVAL;
	}
	if (!(o->retry_period_s > 0 && o->retry_period_s < o->renew_deadline_s &&
	      o->renew_deadline_s < o->duration_s)) {
		snprintf(err, errlen, "leader election needs 0 < retry-period < renew-deadline < lease-duration "
			 "(got %d, %d, %d)", o->retry_period_s, o->renew_deadline_s, o->duration_s);
		return -EINVAL;
	}
	return 0;
}

int kube_lease_try(struct kube_client *k, const struct kube_lease_opts *o, struct kube_lease_seen *seen,
		   long long now, long long *sent_ms, char *err, size_t errlen)
{
	char path[700], ts[40], acquire[40], observed[sizeof(seen->record)], msg[256];
	struct ks_buf b, resp;
	struct lease_rec r;
	int status = 0, rc;
	bool exists;

	ks_buf_init(&b, 8192);
	ks_buf_init(&resp, 1 << 20);
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", o->ns, o->name);
	rc = kube_request(k, "GET", path, NULL, NULL, 0, &status, &resp, err, errlen);
	if (rc)
		goto out;
	if (status != 200 && status != 404) {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(err, errlen, "GET lease: HTTP %d: %s", status, msg);
		rc = kube_status_errno(status);
		goto out;
	}
	exists = status == 200;
	if (exists) {
		rc = parse_lease(resp.data, resp.len, &r, err, errlen);
		if (rc)
			goto out;
		snprintf(observed, sizeof(observed), "%s|%s", r.holder, r.renew);
		if (strcmp(observed, seen->record)) {
			snprintf(seen->record, sizeof(seen->record), "%s", observed);
			seen->at_ms = now;
		}
		if (r.holder[0] && strcmp(r.holder, o->identity) &&
		    now - seen->at_ms < 1000LL * (r.duration_s > 0 ? r.duration_s : o->duration_s)) {
			rc = 0; /* held, and renewed within its duration as we saw it */
			goto out;
		}
	}
	/* the write's send time bounds how early anyone can see it */
	*sent_ms = mono_ms();
	micro_now(ts, sizeof(ts));
	if (exists) {
		if (!strcmp(r.holder, o->identity))
			snprintf(acquire, sizeof(acquire), "%s", r.acquire[0] ? r.acquire : ts);
		else
			snprintf(acquire, sizeof(acquire), "%s", ts);
		lease_body(o, &b, &r, o->identity, acquire, ts, r.transitions + (strcmp(r.holder, o->identity) ? 1 : 0));
		rc = kube_request(k, "PUT", path, NULL, b.data, b.len, &status, &resp, err, errlen);
	} else {
		snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", o->ns);
		lease_body(o, &b, NULL, o->identity, ts, ts, 0);
		rc = kube_request(k, "POST", path, NULL, b.data, b.len, &status, &resp, err, errlen);
	}
	if (rc)
		goto out;
	if (status == 409) {
		rc = 0; /* another replica wrote first */
		goto out;
	}
	if (status != 200 && status != 201) {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(err, errlen, "%s lease: HTTP %d: %s", exists ? "PUT" : "POST", status, msg);
		rc = kube_status_errno(status);
		goto out;
	}
	snprintf(seen->record, sizeof(seen->record), "%s|%s", o->identity, ts);
	seen->at_ms = now;
	rc = 1;
out:
	ks_buf_free(&b);
	ks_buf_free(&resp);
	return rc;
}

static void notify(struct kube_lease *l)
{
	uint64_t one = 1;

	if (write(l->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		ks_warn("lease: cannot signal", "err=\"%s\"", strerror(errno));
}

static void set_lost(struct kube_lease *l, const char *why)
{
	if (!atomic_load(&l->valid_until_ms))
		return;
	atomic_store(&l->valid_until_ms, 0);
	atomic_store(&l->safe_until_ms, 0);
	ks_warn("stopped leading", "identity=%s lease=%s/%s why=\"%s\"", l->o.identity, l->o.ns, l->o.name, why);
	notify(l);
}

static void *lease_main(void *arg)
{
	struct kube_lease *l = arg;
	long long last_ok = 0;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		long long now, sent = 0, next;
		char err[512] = "";
		struct timespec ts;
		int rc;

		pthread_mutex_unlock(&l->mu);
		now = mono_ms();
		rc = kube_lease_try(l->kc, &l->o, &l->seen, now, &sent, err, sizeof(err));
		if (rc == 1) {
			bool was = atomic_load(&l->valid_until_ms) > mono_ms();

			last_ok = sent;
			atomic_store(&l->safe_until_ms, sent + 1000LL * l->o.duration_s);
			atomic_store(&l->valid_until_ms, sent + 1000LL * l->o.renew_deadline_s);
			if (!was) {
				atomic_fetch_add(&l->term, 1);
				ks_info("became leader", "identity=%s lease=%s/%s", l->o.identity, l->o.ns, l->o.name);
				notify(l);
			}
		} else if (rc == 0) {
			set_lost(l, "the lease is held by another replica");
		} else {
			ks_warn("lease: cannot acquire or renew", "lease=%s/%s err=\"%s\"", l->o.ns, l->o.name, err);
			if (last_ok && mono_ms() - last_ok >= 1000LL * l->o.renew_deadline_s)
				set_lost(l, "could not renew the lease within the renew deadline");
		}
		/* renew every retry period, counted from the attempt's start */
		next = now + 1000LL * l->o.retry_period_s;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		{
			long long wait = next - mono_ms();

			if (wait < 0)
				wait = 0;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
		}
		pthread_mutex_lock(&l->mu);
		while (!l->stop && pthread_cond_timedwait(&l->cond, &l->mu, &ts) != ETIMEDOUT)
			;
		/* a renewal that failed past the deadline ends leadership even
		 * if the next attempt is slow to come back */
		if (last_ok && mono_ms() - last_ok >= 1000LL * l->o.renew_deadline_s &&
		    atomic_load(&l->valid_until_ms)) {
			pthread_mutex_unlock(&l->mu);
			set_lost(l, "could not renew the lease within the renew deadline");
			pthread_mutex_lock(&l->mu);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int kube_lease_start(const struct kube_config *kc, const struct kube_lease_opts *o, struct kube_lease **out,
		     char *err, size_t errlen)
{
	struct kube_lease *l;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	rc = kube_lease_opts_check(o, err, errlen);
	if (rc)
		return rc;
	l = calloc(1, sizeof(*l));
	if (!l) {
		snprintf(err, errlen, "out of memory for the lease");
		return -ENOMEM;
	}
	l->o = *o;
	l->efd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	l->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->efd < 0) {
		rc = -errno;
		snprintf(err, errlen, "eventfd for the lease: %s", strerror(errno));
		goto fail;
	}
	l->kc = kube_client_new(kc, 0, 1, err, errlen);
	if (!l->kc) {
		rc = -EINVAL;
		goto fail;
	}
	/* a renewal must come back well within the renew deadline */
	{
		int half_ms = 500 * o->renew_deadline_s;

		kube_client_set_timeouts(l->kc, half_ms < 5000 ? half_ms : 5000, half_ms < 10000 ? half_ms : 10000);
	}
	if (o->user_agent)
		kube_client_set_user_agent(l->kc, o->user_agent);
	rc = pthread_create(&l->thread, NULL, lease_main, l);
	if (rc) {
		snprintf(err, errlen, "lease thread: %s", strerror(rc));
		rc = -rc;
		goto fail;
	}
	l->started = true;
	*out = l;
	return 0;
fail:
	kube_lease_stop(l, false);
	return rc;
}

int kube_lease_fd(const struct kube_lease *l)
{
	return l ? l->efd : -1;
}

bool kube_lease_held(const struct kube_lease *l, long long now_ms)
{
	return l && now_ms < atomic_load(&((struct kube_lease *)l)->valid_until_ms);
}

bool kube_lease_held_for(const struct kube_lease *l, long long now_ms, long long flight_ms)
{
	struct kube_lease *m = (struct kube_lease *)l;

	return l && now_ms < atomic_load(&m->valid_until_ms) && now_ms + flight_ms <= atomic_load(&m->safe_until_ms);
}

long long kube_lease_valid_until_ms(const struct kube_lease *l)
{
	return l ? atomic_load(&((struct kube_lease *)l)->valid_until_ms) : 0;
}

unsigned long kube_lease_term(const struct kube_lease *l)
{
	return l ? atomic_load(&((struct kube_lease *)l)->term) : 0;
}

/* Empty the holder so a standby takes over at once instead of after a
 * lease duration. */
static void release(struct kube_lease *l)
{
	char path[700], ts[40], err[256];
	struct ks_buf b, resp;
	struct lease_rec r;
	int status = 0;

	ks_buf_init(&b, 8192);
	ks_buf_init(&resp, 1 << 20);
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", l->o.ns, l->o.name);
	if (kube_request(l->kc, "GET", path, NULL, NULL, 0, &status, &resp, err, sizeof(err)) || status != 200 ||
	    parse_lease(resp.data, resp.len, &r, err, sizeof(err)) || strcmp(r.holder, l->o.identity))
		goto out;
	micro_now(ts, sizeof(ts));
	lease_body(&l->o, &b, &r, "", r.acquire[0] ? r.acquire : ts, ts, r.transitions);
	if (!kube_request(l->kc, "PUT", path, NULL, b.data, b.len, &status, &resp, err, sizeof(err)) &&
	    status == 200)
		ks_info("lease released", "lease=%s/%s", l->o.ns, l->o.name);
out:
	ks_buf_free(&b);
	ks_buf_free(&resp);
}

void kube_lease_stop(struct kube_lease *l, bool rel)
{
	bool held;

	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_signal(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	held = atomic_load(&l->valid_until_ms) > mono_ms();
	atomic_store(&l->valid_until_ms, 0);
	atomic_store(&l->safe_until_ms, 0);
	if (rel && held && l->kc)
		release(l);
	kube_client_free(l->kc);
	if (l->efd >= 0)
		close(l->efd);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->mu);
	free(l);
}
