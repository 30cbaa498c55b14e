// SPDX-License-Identifier: GPL-2.0
/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection does it: the holder renews every retry period; another
 * replica takes the lease only when the record has not changed for a whole
 * lease duration *as measured on its own clock* (never trusting renewTime
 * against a skewed clock); every write carries the resourceVersion read,
 * so two replicas racing get one 200 and one 409.  A leader that could not
 * renew for the renew deadline stops binding before anyone may take over.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "log.h"
#include "sched.h"

struct lease_rec {
	char holder[256];
	char renew[40];
	char acquire[40];
	char rv[KUBE_RV_MAX];
	long long duration_s;
	long long transitions;
};

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

static void lease_body(struct scheduler *s, struct ks_buf *b, const struct lease_rec *r, const char *holder,
		       const char *acquire, const char *renew, long long transitions)
{
	ks_buf_printf(b, "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":{\"name\":");
	ks_buf_json_str(b, s->o.lease_name);
	ks_buf_printf(b, ",\"namespace\":");
	ks_buf_json_str(b, s->o.lease_namespace);
	if (r && r->rv[0]) {
		ks_buf_printf(b, ",\"resourceVersion\":");
		ks_buf_json_str(b, r->rv);
	}
	ks_buf_printf(b, "},\"spec\":{\"holderIdentity\":");
	ks_buf_json_str(b, holder);
	ks_buf_printf(b, ",\"leaseDurationSeconds\":%d,\"acquireTime\":\"%s\",\"renewTime\":\"%s\","
		      "\"leaseTransitions\":%lld}}", s->o.lease_duration_s, acquire, renew, transitions);
}

static void set_leader(struct scheduler *s, bool leader, const char *why)
{
	if (leader == s->leader)
		return;
	s->leader = leader;
	if (leader) {
		ks_info("became leader", "identity=%s lease=%s/%s", s->o.identity, s->o.lease_namespace,
			s->o.lease_name);
		/* whatever waited while we were not leading is due now */
		sched_requeue_all(s, "became leader");
	} else {
		ks_warn("stopped leading", "identity=%s why=\"%s\"", s->o.identity, why);
	}
}

/* One try: 1 leader, 0 someone else is, negative errno on failure. */
static int try_acquire_or_renew(struct scheduler *s, long long now, char *err, size_t errlen)
{
	char path[700], ts[40], acquire[40], observed[sizeof(s->lease_observed)], msg[256];
	struct ks_buf b, resp;
	struct lease_rec r;
	int status = 0, rc;
	bool exists;

	ks_buf_init(&b, 8192);
	ks_buf_init(&resp, 1 << 20);
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", s->o.lease_namespace,
		 s->o.lease_name);
	rc = kube_request(s->kc, "GET", path, NULL, NULL, 0, &status, &resp, err, errlen);
	if (rc)
		goto out;
	if (status != 200 && status != 404) {
		kube_status_message(resp.data, resp.len, msg, sizeof(msg));
		snprintf(err, errlen, "GET lease: HTTP %d: %s", status, msg);
		rc = kube_status_errno(status);
		goto out;
	}
	exists = status == 200;
	micro_now(ts, sizeof(ts));
	if (exists) {
		rc = parse_lease(resp.data, resp.len, &r, err, errlen);
		if (rc)
			goto out;
		snprintf(observed, sizeof(observed), "%s|%s", r.holder, r.renew);
		if (strcmp(observed, s->lease_observed)) {
			snprintf(s->lease_observed, sizeof(s->lease_observed), "%s", observed);
			s->lease_observed_ms = now;
		}
		if (r.holder[0] && strcmp(r.holder, s->o.identity) &&
		    now - s->lease_observed_ms < 1000LL * (r.duration_s > 0 ? r.duration_s : s->o.lease_duration_s)) {
			rc = 0; /* held, and renewed within its duration as we saw it */
			goto out;
		}
		if (!strcmp(r.holder, s->o.identity))
			snprintf(acquire, sizeof(acquire), "%s", r.acquire[0] ? r.acquire : ts);
		else
			snprintf(acquire, sizeof(acquire), "%s", ts);
		lease_body(s, &b, &r, s->o.identity, acquire, ts,
			   r.transitions + (strcmp(r.holder, s->o.identity) ? 1 : 0));
		rc = kube_request(s->kc, "PUT", path, NULL, b.data, b.len, &status, &resp, err, errlen);
	} else {
		snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases", s->o.lease_namespace);
		lease_body(s, &b, NULL, s->o.identity, ts, ts, 0);
		rc = kube_request(s->kc, "POST", path, NULL, b.data, b.len, &status, &resp, err, errlen);
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
	snprintf(s->lease_observed, sizeof(s->lease_observed), "%s|%s", s->o.identity, ts);
	s->lease_observed_ms = now;
	rc = 1;
out:
	ks_buf_free(&b);
	ks_buf_free(&resp);
	return rc;
}

long long sched_lease_step(struct scheduler *s, long long now)
{
	char err[512] = "";
	int rc;

	if (!s->o.leader_elect) {
		set_leader(s, true, "");
		return now + 3600 * 1000LL;
	}
	if (now < s->lease_next_ms)
		return s->lease_next_ms;
	rc = try_acquire_or_renew(s, now, err, sizeof(err));
	if (rc == 1) {
		s->lease_renewed_ms = now;
		set_leader(s, true, "");
	} else if (rc == 0) {
		set_leader(s, false, "the lease is held by another replica");
	} else {
		ks_warn("lease: cannot acquire or renew", "lease=%s/%s err=\"%s\"", s->o.lease_namespace,
			s->o.lease_name, err);
		if (s->leader && now - s->lease_renewed_ms >= 1000LL * s->o.renew_deadline_s)
			set_leader(s, false, "could not renew the lease within the renew deadline");
	}
	s->lease_next_ms = now + 1000LL * s->o.retry_period_s;
	return s->lease_next_ms;
}

/* On a clean exit the leader empties the holder, so a standby takes over
 * at once instead of after a lease duration. */
void sched_lease_release(struct scheduler *s)
{
	char path[700], ts[40], err[256];
	struct ks_buf b, resp;
	struct lease_rec r;
	int status = 0;

	if (!s->o.leader_elect || !s->leader)
		return;
	s->leader = false;
	ks_buf_init(&b, 8192);
	ks_buf_init(&resp, 1 << 20);
	snprintf(path, sizeof(path), "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", s->o.lease_namespace,
		 s->o.lease_name);
	if (kube_request(s->kc, "GET", path, NULL, NULL, 0, &status, &resp, err, sizeof(err)) || status != 200 ||
	    parse_lease(resp.data, resp.len, &r, err, sizeof(err)) || strcmp(r.holder, s->o.identity))
		goto out;
	micro_now(ts, sizeof(ts));
	lease_body(s, &b, &r, "", r.acquire[0] ? r.acquire : ts, ts, r.transitions);
	if (!kube_request(s->kc, "PUT", path, NULL, b.data, b.len, &status, &resp, err, sizeof(err)) &&
	    status == 200)
		ks_info("lease released", "lease=%s/%s", s->o.lease_namespace, s->o.lease_name);
out:
	ks_buf_free(&b);
	ks_buf_free(&resp);
}
