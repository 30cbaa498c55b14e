/* SPDX-License-Identifier: GPL-2.0 */
/*
 * List+watch of one resource, driven from a poll() loop: list (pages),
 * then watch from the list's resourceVersion; a dropped watch resumes from
 * the last resourceVersion seen, a 410 lists again, and failures back off
 * (capped exponential, jittered).  After every list the owner is told
 * which generation the list stamped, so objects the list no longer holds
 * (deleted while the watch was down) can be forgotten: nothing is lost.
 */
#ifndef KSENSE_SCHED_INFORMER_H
#define KSENSE_SCHED_INFORMER_H

#include <stdbool.h>
#include "kube.h"

struct informer;

struct informer_ops {
	/* An object from a list (type "ADDED", gen = this list's generation)
	 * or a watch event (ADDED, MODIFIED, DELETED; gen = the current one). */
	void (*apply)(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j,
		      unsigned long gen);
	/* A list with generation gen completed: drop objects older than gen. */
	void (*synced)(void *arg, unsigned long gen);
};

struct informer {
	const char *what;          /* "pods", for logs */
	char path[512];            /* /api/v1/pods */
	struct kube_client *kc;
	struct informer_ops ops;
	void *arg;
	struct kube_watch *w;
	char rv[KUBE_RV_MAX];
	unsigned long gen;
	bool synced;               /* at least one full list done */
	bool need_list;
	unsigned int failures;     /* consecutive, for the backoff */
	long long retry_at_ms;     /* nothing until then */
	unsigned long long events, lists, relists_410, reconnects;
	int timeout_s;             /* watch timeoutSeconds */
};

void informer_init(struct informer *in, const char *what, const char *path, struct kube_client *kc,
		   const struct informer_ops *ops, void *arg);
/* The watch's fd to poll for POLLIN, or -1 (listing or backing off). */
int informer_fd(const struct informer *in);
/* Do whatever is due: (re)list, (re)open the watch, read events.  Never
 * blocks longer than a request; returns the time (ms, monotonic) it wants
 * to be called again at the latest. */
long long informer_step(struct informer *in, long long now_ms);
void informer_close(struct informer *in);

long long informer_now_ms(void);

#endif
