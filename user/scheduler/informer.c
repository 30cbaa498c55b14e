// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "informer.h"
#include "log.h"

#define BACKOFF_BASE_MS 250
#define BACKOFF_CAP_MS  30000
#define LIST_PAGE       500

long long informer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void informer_init(struct informer *in, const char *what, const char *path, struct kube_client *kc,
		   const struct informer_ops *ops, void *arg)
{
	memset(in, 0, sizeof(*in));
	in->what = what;
	snprintf(in->path, sizeof(in->path), "%s", path);
	in->kc = kc;
	in->ops = *ops;
	in->arg = arg;
	in->need_list = true;
	in->timeout_s = 300;
}

int informer_fd(const struct informer *in)
{
	return in->w ? kube_watch_fd(in->w) : -1;
}

static void back_off(struct informer *in, long long now, const char *why)
{
	unsigned int ms = kube_backoff_ms(in->failures, BACKOFF_BASE_MS, BACKOFF_CAP_MS);

	in->failures++;
	in->retry_at_ms = now + ms;
	ks_warn("watch failed, retrying", "resource=%s failures=%u retry_ms=%u err=\"%s\"", in->what,
		in->failures, ms, why);
}

struct list_ctx {
	struct informer *in;
	unsigned long gen;
};

static int list_item(void *arg, const char *json, size_t len, const struct ks_json *j)
{
	struct list_ctx *c = arg;

	/* an expired continue token restarted the list: a new generation, so
	 * what the first pages stamped is not mistaken for current */
	if (!json) {
		c->gen = ++c->in->gen;
		return 0;
	}
	c->in->ops.apply(c->in->arg, "ADDED", json, len, j, c->gen);
	return 0;
}

static int watch_event(void *arg, const char *type, const char *json, size_t len, const struct ks_json *j)
{
	struct informer *in = arg;

	in->events++;
	in->ops.apply(in->arg, type, json, len, j, in->gen);
	return 0;
}

static void do_list(struct informer *in, long long now)
{
	struct list_ctx c = { .in = in, .gen = ++in->gen };
	char err[512];
	int rc;

	rc = kube_list(in->kc, in->path, LIST_PAGE, list_item, &c, in->rv, sizeof(in->rv), err, sizeof(err));
	if (rc) {
		back_off(in, now, err);
		return;
	}
	in->lists++;
	in->ops.synced(in->arg, c.gen);
	in->need_list = false;
	in->synced = true;
	in->failures = 0;
	ks_debug("listed", "resource=%s rv=%s", in->what, in->rv);
}

/* 410: the resourceVersion is older than the server's history */
static void expired(struct informer *in)
{
	in->relists_410++;
	in->need_list = true;
	ks_info("watch expired (410), listing again", "resource=%s rv=%s", in->what, in->rv);
}

static void open_watch(struct informer *in, long long now)
{
	char err[512];
	int rc;

	rc = kube_watch_open(in->kc, in->path, in->rv, true, in->timeout_s, &in->w, err, sizeof(err));
	if (rc == KUBE_WATCH_GONE) {
		expired(in);
		return;
	}
	if (rc) {
		in->w = NULL;
		back_off(in, now, err);
	}
}

long long informer_step(struct informer *in, long long now)
{
	unsigned long long ev0;
	char err[512];
	int rc;

	if (now < in->retry_at_ms)
		return in->retry_at_ms;
	if (in->need_list) {
		do_list(in, now);
		if (in->need_list)
			return in->retry_at_ms;
	}
	if (!in->w) {
		open_watch(in, now);
		if (!in->w)
			return in->need_list ? now : in->retry_at_ms;
	}
	ev0 = in->events;
	rc = kube_watch_next(in->w, 0, watch_event, in, err, sizeof(err));
	if (in->events > ev0)
		in->failures = 0;
	if (rc == 0) {
		return now + 1000 * (long long)in->timeout_s;
	}
	snprintf(in->rv, sizeof(in->rv), "%s", kube_watch_rv(in->w));
	kube_watch_close(in->w);
	in->w = NULL;
	if (rc == KUBE_WATCH_GONE) {
		expired(in);
		return now;
	}
	if (rc == KUBE_WATCH_CLOSED) {
		in->reconnects++;
		/* a server that ends every watch at once gets a backoff too */
		if (in->failures++ == 0) {
			ks_debug("watch ended, resuming", "resource=%s rv=%s why=\"%s\"", in->what, in->rv, err);
			return now;
		}
		back_off(in, now, err);
		return in->retry_at_ms;
	}
	in->need_list = true;
	back_off(in, now, err);
	return in->retry_at_ms;
}

void informer_close(struct informer *in)
{
	if (in->w)
		kube_watch_close(in->w);
	in->w = NULL;
}
