/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Leader election on a coordination.k8s.io/v1 Lease, as client-go's
 * leaderelection does it, in a thread of its own with a client of its own:
 * a slow request elsewhere in the daemon can neither delay a renewal nor be
 * delayed by one.
 *
 * The holder renews every retry period.  Another replica takes the lease
 * only when the record has not changed for a whole lease duration as
 * measured on its own clock (renewTime is never compared across clocks);
 * every write carries the resourceVersion read, so two replicas racing get
 * one 200 and one 409.
 *
 * What "leading" means here is provable from this process's own clock: a
 * renewal whose request was sent at t0 keeps anyone else out until at
 * least t0 + lease duration (they wait that long after seeing our write,
 * which they cannot see before t0).  kube_lease_held() is true until
 * t0 + renew deadline (< lease duration); a caller about to make a write
 * that may take up to T ms to land asks kube_lease_held_for(T), which also
 * needs now + T <= t0 + lease duration.  Nothing is assumed about the
 * thread having run recently: validity is a timestamp, not a flag.
 */
#ifndef KSENSE_KUBE_LEASE_H
#define KSENSE_KUBE_LEASE_H

#include <stdbool.h>
#include "kube.h"

struct kube_lease_opts {
	char ns[254];
	char name[254];
	char identity[256];
	int duration_s, renew_deadline_s, retry_period_s; /* client-go: 15, 10, 2 */
	const char *user_agent;                           /* NULL: the client's default */
};

struct kube_lease;

/* retry < renew deadline < duration, names set: 0, else -EINVAL with why. */
int kube_lease_opts_check(const struct kube_lease_opts *o, char *err, size_t errlen);
/* Start electing in a thread with its own client made from kc (no QPS
 * limit: one request per retry period).  0 or negative errno with why. */
int kube_lease_start(const struct kube_config *kc, const struct kube_lease_opts *o, struct kube_lease **out,
		     char *err, size_t errlen);
/* An eventfd that becomes readable when leadership is gained or lost
 * (read it to reset); -1 for a NULL lease. */
int kube_lease_fd(const struct kube_lease *l);
/* Leading now: the last successful renewal was sent less than the renew
 * deadline ago.  now_ms is CLOCK_MONOTONIC in ms. */
bool kube_lease_held(const struct kube_lease *l, long long now_ms);
/* Leading now, and a write that lands within flight_ms still lands before
 * anyone else can hold the lease. */
bool kube_lease_held_for(const struct kube_lease *l, long long now_ms, long long flight_ms);
/* When kube_lease_held stops being true unless renewed again (0: not
 * leading). */
long long kube_lease_valid_until_ms(const struct kube_lease *l);
/* Counts the terms this process has led; a new value means leadership was
 * lost and gained again in between. */
unsigned long kube_lease_term(const struct kube_lease *l);
/* Stop the thread; when release is set and we hold the lease, empty its
 * holder so a standby takes over at once.  NULL is fine. */
void kube_lease_stop(struct kube_lease *l, bool release);

/* One acquire-or-renew attempt, for tests and callers without a thread:
 * 1 we hold it (sent_ms: when the write was sent), 0 another replica does,
 * negative errno on failure.  *observed_ms/observed keep what was last
 * seen between calls (zero-initialise them). */
struct kube_lease_seen {
	char record[512];         /* holder|renewTime last read */
	long long at_ms;          /* when it last changed, on our clock */
};
int kube_lease_try(struct kube_client *k, const struct kube_lease_opts *o, struct kube_lease_seen *seen,
		   long long now_ms, long long *sent_ms, char *err, size_t errlen);

#endif
