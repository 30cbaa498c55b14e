/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core/v1 Events, as client-go's recorder writes them: named after the
 * object and the time, with source and reporting component, first/last
 * timestamps and a count; a repeat can bump the count of the one already
 * posted instead of adding another.
 */
#ifndef KSENSE_KUBE_EVENT_H
#define KSENSE_KUBE_EVENT_H

#include <stddef.h>
#include "kube.h"

/* The object the Event is about (involvedObject).  resource_version may be
 * NULL or "". */
struct kube_event_ref {
	const char *api_version;   /* "v1", "apps/v1" */
	const char *kind;          /* "Pod", "Deployment" */
	const char *ns;
	const char *name;
	const char *uid;
	const char *resource_version;
};

struct kube_event {
	const char *type;          /* "Normal" or "Warning" */
	const char *reason;        /* "FailedScheduling", "ScaledUp" */
	const char *message;
	const char *component;     /* source.component and reportingComponent */
	const char *instance;      /* reportingInstance: this replica */
	const char *action;        /* "Scheduling", or NULL */
	unsigned int count;        /* 0 is taken as 1 */
};

/* POST it into ref->ns; the Event's name into name_out (may be NULL).
 * Returns the HTTP status, or a negative errno on transport failure; for
 * a status >= 300 err holds the Status message. */
int kube_event_post(struct kube_client *k, const struct kube_event_ref *ref, const struct kube_event *ev,
		    char *name_out, size_t name_len, char *err, size_t errlen);
/* Merge-patch count, lastTimestamp (now) and message of Event ns/name;
 * the HTTP status (404: it expired, post a new one) or a negative errno. */
int kube_event_bump(struct kube_client *k, const char *ns, const char *name, unsigned int count,
		    const char *message, char *err, size_t errlen);

/* Now as the API's seconds-precision RFC 3339 time ("2024-05-01T12:00:00Z"). */
void kube_rfc3339_now(char *out, size_t len);

#endif
