// SPDX-License-Identifier: GPL-2.0
/* cgroup path -> pod UID, container ID, runtime and QoS (see podmap.h). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "podmap.h"

struct comp {
	const char *s;
	size_t n;
};

/* Every component needs at least one byte and a '/', so this many always
 * suffice for a path of KS_PODMAP_MAX_PATH bytes. */
#define MAX_COMPS (KS_PODMAP_MAX_PATH / 2 + 1)

static bool eq(struct comp c, const char *lit)
{
	size_t n = strlen(lit);

	return c.n == n && !memcmp(c.s, lit, n);
}

static bool starts(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !memcmp(s, lit, k);
}

static bool ends(const char *s, size_t n, const char *lit)
{
	size_t k = strlen(lit);

	return n >= k && !memcmp(s + n - k, lit, k);
}

static bool all_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A UUID (dashes, or systemd's underscores) or a 32-digit hash, written
 * out lowercase with dashes: the API's spelling, so it can be a map key. */
static bool parse_uid(const char *s, size_t n, char *out)
{
	size_t i;

	if (n == 32) {
		if (!all_hex(s, n))
			return false;
	} else if (n == 36) {
		for (i = 0; i < n; i++) {
			bool sep = i == 8 || i == 13 || i == 18 || i == 23;

			if (sep ? s[i] != '-' && s[i] != '_' : !isxdigit((unsigned char)s[i]))
				return false;
		}
	} else {
		return false;
	}
	for (i = 0; i < n; i++)
		out[i] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return true;
}

/* cgroupfs: pod<uid> under kubepods, kubepods/burstable or kubepods/besteffort */
static bool pod_cgroupfs(const struct comp *c, size_t i, struct ks_pod_ref *out)
{
	if (!starts(c[i].s, c[i].n, "pod") || i == 0 || !parse_uid(c[i].s + 3, c[i].n - 3, out->uid))
		return false;
	if (eq(c[i - 1], "kubepods")) {
		out->qos = KS_QOS_GUARANTEED;
		return true;
	}
	if (i >= 2 && eq(c[i - 2], "kubepods") && (eq(c[i - 1], "burstable") || eq(c[i - 1], "besteffort"))) {
		out->qos = eq(c[i - 1], "burstable") ? KS_QOS_BURSTABLE : KS_QOS_BESTEFFORT;
		return true;
	}
	return false;
}

/* systemd: [P-]kubepods[-qos]-pod<uid>.slice whose parent is
 * [P-]kubepods[-qos].slice: the slice name spells its whole path, and the
 * parent must agree with it. */
static bool pod_systemd(const struct comp *c, size_t i, struct ks_pod_ref *out)
{
	const char *s = c[i].s, *k, *rest;
	size_t n = c[i].n, pre, rn, pn;
	enum ks_pod_qos qos;

	if (i == 0 || !ends(s, n, ".slice"))
		return false;
	n -= 6;
	for (k = s; (k = memmem(k, n - (size_t)(k - s), "kubepods-", 9)); k++) {
		pre = (size_t)(k - s);
		if (pre && s[pre - 1] != '-')
			continue;
		rest = k + 9;
		rn = n - pre - 9;
		if (starts(rest, rn, "burstable-")) {
			qos = KS_QOS_BURSTABLE;
			rest += 10;
			rn -= 10;
		} else if (starts(rest, rn, "besteffort-")) {
			qos = KS_QOS_BESTEFFORT;
			rest += 11;
			rn -= 11;
		} else {
			qos = KS_QOS_GUARANTEED;
		}
		if (!starts(rest, rn, "pod") || !parse_uid(rest + 3, rn - 3, out->uid))
			continue;
		/* parent: the same text up to before "-pod", then ".slice" */
		pn = (size_t)(rest - s) - 1;
		if (c[i - 1].n != pn + 6 || memcmp(c[i - 1].s, s, pn) || memcmp(c[i - 1].s + pn, ".slice", 6))
			continue;
		out->qos = qos;
		return true;
	}
	out->uid[0] = '\0';
	return false;
}

static bool container(struct comp c, struct ks_pod_ref *out)
{
	static const struct { const char *prefix, *runtime; } rt[] = {
		{ "cri-containerd-", "containerd" },
		{ "crio-", "crio" },
		{ "docker-", "docker" },
	};
	const char *s = c.s;
	size_t n = c.n, i;
	const char *runtime = "";

	if (ends(s, n, ".scope"))
		n -= 6;
	for (i = 0; i < sizeof(rt) / sizeof(rt[0]); i++)
		if (starts(s, n, rt[i].prefix)) {
			runtime = rt[i].runtime;
			s += strlen(rt[i].prefix);
			n -= strlen(rt[i].prefix);
			break;
		}
	/* a bare id is a cgroupfs name; a .scope always names its runtime */
	if (n < 12 || n > 64 || !all_hex(s, n) || (!*runtime && n != c.n))
		return false;
	for (i = 0; i < n; i++)
		out->container_id[i] = (char)tolower((unsigned char)s[i]);
	out->container_id[n] = '\0';
	strcpy(out->runtime, runtime);
	return true;
}

int ks_podmap_parse(const char *path, struct ks_pod_ref *out)
{
	static __thread struct comp c[MAX_COMPS];
	struct ks_pod_ref cand;
	size_t len, nc = 0, i, pod = 0;
	const char *p, *colon;
	bool found = false;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!path)
		return -EINVAL;
	len = strnlen(path, KS_PODMAP_MAX_PATH + 1);
	if (len > KS_PODMAP_MAX_PATH)
		return -ENAMETOOLONG;
	/* a /proc/PID/cgroup line: "ID:controllers:/path" */
	if (isdigit((unsigned char)path[0]) && (colon = strchr(path, ':')) && (colon = strchr(colon + 1, ':')))
		path = colon + 1;
	for (p = path; *p;) {
		const char *e = strchrnul(p, '/');

		if (e > p) {
			c[nc].s = p;
			c[nc].n = (size_t)(e - p);
			nc++;
		}
		p = *e ? e + 1 : e;
	}
	/* the innermost pod: a kind node that is itself a pod has the
	 * outer pod's names in front of its own */
	for (i = 0; i < nc; i++) {
		memset(&cand, 0, sizeof(cand));
		if (pod_cgroupfs(c, i, &cand) || pod_systemd(c, i, &cand)) {
			*out = cand;
			pod = i;
			found = true;
		}
	}
	if (!found)
		return -ENOENT;
	if (pod + 1 < nc && !container(c[pod + 1], out)) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	return 0;
}

const char *ks_qos_name(enum ks_pod_qos q)
{
	switch (q) {
	case KS_QOS_GUARANTEED:
		return "Guaranteed";
	case KS_QOS_BURSTABLE:
		return "Burstable";
	case KS_QOS_BESTEFFORT:
		return "BestEffort";
	default:
		return "";
	}
}
