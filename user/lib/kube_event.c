// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "buf.h"
#include "kube_event.h"

void kube_rfc3339_now(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void member(struct ks_buf *b, const char *sep, const char *key, const char *value)
{
	ks_buf_printf(b, "%s\"%s\":", sep, key);
	ks_buf_json_str(b, value ? value : "");
}

static int finish(struct kube_client *k, const char *method, const char *path, const char *content_type,
		  struct ks_buf *b, char *err, size_t errlen)
{
	struct ks_buf resp;
	char msg[256];
	int status = 0, rc;

	if (b->overflow) {
		snprintf(err, errlen, "event too large");
		return -E2BIG;
	}
	ks_buf_init(&resp, 1u << 20);
	rc = kube_request(k, method, path, content_type, b->data, b->len, &status, &resp, err, errlen);
	if (!rc && status >= 300)
		snprintf(err, errlen, "%s", kube_status_message(resp.data, resp.len, msg, sizeof(msg)));
	ks_buf_free(&resp);
	return rc ? rc : status;
}

int kube_event_post(struct kube_client *k, const struct kube_event_ref *ref, const struct kube_event *ev,
		    char *name_out, size_t name_len, char *err, size_t errlen)
{
	char name[320], now[32], path[600];
	struct timespec ts;
	struct ks_buf b;
	int rc;

	kube_rfc3339_now(now, sizeof(now));
	/* as client-go names them: the object's name and the time in hex */
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof(name), "%.200s.%llx", ref->name,
		 (unsigned long long)ts.tv_sec * 1000000000ull + (unsigned long long)ts.tv_nsec);
	ks_buf_init(&b, 64u << 10);
	ks_buf_printf(&b, "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{");
	member(&b, "", "name", name);
	member(&b, ",", "namespace", ref->ns);
	ks_buf_printf(&b, "},\"involvedObject\":{");
	member(&b, "", "apiVersion", ref->api_version);
	member(&b, ",", "kind", ref->kind);
	member(&b, ",", "namespace", ref->ns);
	member(&b, ",", "name", ref->name);
	member(&b, ",", "uid", ref->uid);
	if (ref->resource_version && ref->resource_version[0])
		member(&b, ",", "resourceVersion", ref->resource_version);
	ks_buf_printf(&b, "}");
	member(&b, ",", "reason", ev->reason);
	member(&b, ",", "message", ev->message);
	member(&b, ",", "type", ev->type);
	if (ev->action)
		member(&b, ",", "action", ev->action);
	ks_buf_printf(&b, ",\"source\":{");
	member(&b, "", "component", ev->component);
	ks_buf_printf(&b, "}");
	member(&b, ",", "reportingComponent", ev->component);
	member(&b, ",", "reportingInstance", ev->instance);
	ks_buf_printf(&b, ",\"count\":%u,\"firstTimestamp\":\"%s\",\"lastTimestamp\":\"%s\"}", ev->count ?: 1, now,
		      now);
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", ref->ns);
	rc = finish(k, "POST", path, NULL, &b, err, errlen);
	if (rc >= 200 && rc < 300 && name_out)
		snprintf(name_out, name_len, "%s", name);
	ks_buf_free(&b);
	return rc;
}

int kube_event_bump(struct kube_client *k, const char *ns, const char *name, unsigned int count,
		    const char *message, char *err, size_t errlen)
{
	char now[32], path[700];
	struct ks_buf b;
	int rc;

	kube_rfc3339_now(now, sizeof(now));
	ks_buf_init(&b, 64u << 10);
	ks_buf_printf(&b, "{\"count\":%u,\"lastTimestamp\":\"%s\"", count, now);
	member(&b, ",", "message", message);
	ks_buf_printf(&b, "}");
	snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events/%s", ns, name);
	rc = finish(k, "PATCH", path, "application/merge-patch+json", &b, err, errlen);
	ks_buf_free(&b);
	return rc;
}
