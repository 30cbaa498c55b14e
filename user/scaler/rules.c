// SPDX-License-Identifier: GPL-2.0
/*
 * The rules.  Per Deployment and poll, the pods the agents reported are
 * reduced to a majority class and mean rates; then:
 *   CPU    CPU demand (on-CPU plus run-queue wait: a pod the node's other
 *          work keeps off the CPU wants what it waits for) over
 *          --cpu-threshold-permille for --up-windows polls in a row:
 *          one replica more (not past max, not within --up-cooldown-s)
 *   BLOCK  never more replicas (they would queue on the same disk): Event
 *   THROTTLED  held back by its own CPU limit: CPU-bound as far as
 *          scaling goes (the CPU rule, without its on-CPU threshold), and
 *          the Event says the limit binds and raising it is the
 *          alternative
 *   OFFCPU never scaled itself.  Waiting on a DEPENDENCY: the
 *          Deployment of the pod the kernel names (whose tasks ended most
 *          of the wait; else the one ksense.io/dependency names) is scaled
 *          when it is CPU-bound by the CPU rule and itself opted in; an
 *          Event names it either way.  Waiting on its own threads (LOCK):
 *          an Event that says they are serialized
 *   IDLE   for --down-stabilization-s: one replica fewer (not below min),
 *          and the window starts again
 * A tie between classes goes to the one that scales least
 * (BLOCK, OFFCPU, THROTTLED, CPU, IDLE): a split Deployment is never scaled up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "log.h"
#include "scaler.h"

void ks_rules_add_pod(struct ks_deploy *d, const struct ks_pod_report *p)
{
	d->nclass[p->cls]++;
	if (p->cls == KS_CLASS_OFFCPU)
		d->ncause[p->cause]++;
	d->oncpu_permille += p->oncpu_permille;
	d->d_ms_per_s += p->d_ms_per_s;
	d->s_ms_per_s += p->s_ms_per_s;
	d->block_ms_per_s += p->block_ms_per_s;
	d->block_lat_avg_us += p->block_lat_avg_us;
	d->throttled_permille += p->throttled_permille;
	d->throttled_ms_per_s += p->throttled_ms_per_s;
	d->runq_wait_permille += p->runq_wait_permille;
	if (p->cpu_limit_millicores > d->cpu_limit_millicores)
		d->cpu_limit_millicores = p->cpu_limit_millicores;
	/* the evidence shown: the top function of the busiest reporting pod */
	if (p->ntop > 0 && (!d->npods || !d->top.function[0] || p->samples > d->top_samples)) {
		d->top = p->top[0];
		d->top_samples = p->samples;
	}
	d->npods++;
}

void ks_rules_add_dep(struct ks_deploy *d, struct ks_deploy *dep, const struct ks_pod_dep *pd)
{
	struct ks_kdep *k = NULL;
	int i;

	if (dep == d)
		return; /* another pod of the same Deployment */
	for (i = 0; i < d->nkdeps && !k; i++)
		if (dep ? d->kdeps[i].d == dep
			: !d->kdeps[i].d && !strcmp(d->kdeps[i].ns, pd->namespace_) && !strcmp(d->kdeps[i].pod, pd->name))
			k = &d->kdeps[i];
	if (!k) {
		if (d->nkdeps == (int)(sizeof(d->kdeps) / sizeof(d->kdeps[0])))
			return;
		k = &d->kdeps[d->nkdeps++];
		memset(k, 0, sizeof(*k));
		k->d = dep;
		snprintf(k->ns, sizeof(k->ns), "%s", pd->namespace_);
		snprintf(k->pod, sizeof(k->pod), "%s", pd->name);
	}
	k->share_sum += pd->share_permille;
}

static struct ks_deploy_state *state_of(struct ks_scaler *s, struct ks_deploy *d)
{
	struct ks_deploy_state *st;
	int i;

	for (i = 0; i < s->nstates; i++)
		if (!strcmp(s->states[i].uid, d->uid))
			return &s->states[i];
	if (s->nstates == s->capstates) {
		int ncap = s->capstates ? s->capstates * 2 : 16;
		void *q = realloc(s->states, (size_t)ncap * sizeof(*s->states));

		if (!q)
			return NULL;
		/* ks_deploy.st of earlier Deployments point into the old array */
		for (i = 0; i < s->ndeps; i++)
			if (s->deps[i].st)
				s->deps[i].st = (struct ks_deploy_state *)q + (s->deps[i].st - s->states);
		s->states = q;
		s->capstates = ncap;
	}
	st = &s->states[s->nstates++];
	memset(st, 0, sizeof(*st));
	snprintf(st->uid, sizeof(st->uid), "%s", d->uid);
	return st;
}

/* Seconds since ksense.io/last-scale (a huge number when never); a time
 * in the future (another replica's clock ahead of ours) counts as now. */
static double since_last_scale(const struct ks_deploy *d)
{
	double dt;

	if (!d->have_last_scale)
		return 1e18;
	dt = ks_wall_s() - d->last_scale_wall_s;
	return dt < 0 ? 0 : dt;
}

static void close_poll(struct ks_scaler *s, struct ks_deploy *d, double now_s)
{
	static const enum ks_class order[] = { KS_CLASS_BLOCK, KS_CLASS_OFFCPU, KS_CLASS_THROTTLED, KS_CLASS_CPU,
						KS_CLASS_IDLE };
	struct ks_deploy_state *st = d->st;
	size_t k;
	int best = -1;

	if (d->npods) {
		d->oncpu_permille /= d->npods;
		d->d_ms_per_s /= d->npods;
		d->s_ms_per_s /= d->npods;
		d->block_ms_per_s /= d->npods;
		d->block_lat_avg_us /= d->npods;
		d->throttled_permille /= d->npods;
		d->throttled_ms_per_s /= d->npods;
		d->runq_wait_permille /= d->npods;
		for (k = 0; k < sizeof(order) / sizeof(order[0]); k++)
			if (best < 0 || d->nclass[order[k]] > d->nclass[best])
				best = (int)order[k];
		d->cls = (enum ks_class)best;
		best = -1;
		for (k = KS_CAUSE_NONE; k < KS_CAUSE__N; k++)
			if (best < 0 || d->ncause[k] > d->ncause[best])
				best = (int)k;
		d->cause = d->ncause[best] ? (enum ks_cause)best : KS_CAUSE_NONE;
		/* a pod its limit holds back is CPU-bound whatever its on-CPU */
		d->cpu_hot = (d->cls == KS_CLASS_CPU &&
			      d->oncpu_permille + d->runq_wait_permille >= s->cfg.cpu_threshold_permille) ||
			     d->cls == KS_CLASS_THROTTLED;
	}
	st->seen_poll = s->poll;
	st->cpu_streak = d->cpu_hot ? st->cpu_streak + 1 : 0;
	if (d->npods && d->cls == KS_CLASS_IDLE) {
		if (!st->idle)
			st->idle_since_s = now_s;
		st->idle = true;
	} else {
		st->idle = false;
	}
}

/* The evidence, as logfmt and as prose for Events. */
static void evidence_kv(const struct ks_scaler *s, const struct ks_deploy *d, char *out, size_t n)
{
	snprintf(out, n,
		 "class=%s pods=%d cpu_pods=%d block_pods=%d offcpu_pods=%d idle_pods=%d oncpu_permille=%.0f "
		 "cause=%s d_ms_per_s=%.1f s_ms_per_s=%.1f block_ms_per_s=%.1f block_lat_avg_us=%.0f throttled_pods=%d "
		 "throttled_permille=%.0f throttled_ms_per_s=%.1f runq_wait_permille=%.0f cpu_limit_millicores=%.0f "
		 "top_function=\"%s\" "
		 "top_module=\"%s\" top_share_permille=%u cpu_streak=%u replicas=%d min=%d max=%d",
		 ks_class_name(d->cls), d->npods, d->nclass[KS_CLASS_CPU], d->nclass[KS_CLASS_BLOCK],
		 d->nclass[KS_CLASS_OFFCPU], d->nclass[KS_CLASS_IDLE], d->oncpu_permille, ks_report_cause_name(d->cause),
		 d->d_ms_per_s, d->s_ms_per_s, d->block_ms_per_s, d->block_lat_avg_us, d->nclass[KS_CLASS_THROTTLED],
		 d->throttled_permille, d->throttled_ms_per_s, d->runq_wait_permille, d->cpu_limit_millicores,
		 d->top.function,
		 d->top.module, d->top.share_permille, d->st ? d->st->cpu_streak : 0, d->replicas, d->min, d->max);
	(void)s;
}

static const char *top_text(const struct ks_deploy *d, char *out, size_t n)
{
	if (d->top.function[0])
		snprintf(out, n, "top function %s (%u‰ of samples)", d->top.function, d->top.share_permille);
	else if (d->top.module[0])
		snprintf(out, n, "top module %s (%u‰ of samples)", d->top.module, d->top.share_permille);
	else
		snprintf(out, n, "no top function reported");
	return out;
}

/* Why d is CPU-bound, for Events: its own CPU, or its CPU limit (then
 * raising the limit is the alternative to more replicas). */
static const char *cpu_bound_text(const struct ks_scaler *s, const struct ks_deploy *d, char *out, size_t n)
{
	char lim[64] = "";

	if (d->cls != KS_CLASS_THROTTLED && d->oncpu_permille >= s->cfg.cpu_threshold_permille) {
		snprintf(out, n, "pods CPU-bound for %u polls (%d/%d pods CPU, mean on-CPU %.0f‰ >= %u‰)",
			 d->st->cpu_streak, d->nclass[KS_CLASS_CPU], d->npods, d->oncpu_permille,
			 s->cfg.cpu_threshold_permille);
		return out;
	}
	if (d->cls != KS_CLASS_THROTTLED) {
		snprintf(out, n,
			 "pods want more CPU than their node gives them for %u polls (%d/%d pods CPU, mean on-CPU "
			 "%.0f‰ + %.0f‰ waiting in the run queue >= %u‰): other work on the node keeps them off "
			 "the CPU - more replicas, placed elsewhere, get it",
			 d->st->cpu_streak, d->nclass[KS_CLASS_CPU], d->npods, d->oncpu_permille,
			 d->runq_wait_permille, s->cfg.cpu_threshold_permille);
		return out;
	}
	if (d->cpu_limit_millicores > 0)
		snprintf(lim, sizeof(lim), " of %.0fm", d->cpu_limit_millicores);
	snprintf(out, n,
		 "pods held back by their CPU limit%s for %u polls (%d/%d pods THROTTLED: waiting %.0f‰ of the "
		 "time, %.1f ms/s, for the next CFS period; on-CPU %.0f‰): the limit is what binds - raising "
		 "resources.limits.cpu is the alternative to more replicas",
		 lim, d->st->cpu_streak, d->nclass[KS_CLASS_THROTTLED], d->npods, d->throttled_permille,
		 d->throttled_ms_per_s, d->oncpu_permille);
	return out;
}

/* One more replica for d (for its own CPU or for a waiter); true when it
 * was scaled this poll (now or before). */
static bool try_up(struct ks_scaler *s, struct ks_deploy *d, const struct ks_deploy *waiter, double now_s)
{
	char kv[1024], msg[1400], top[256], why[600];

	if (d->scaled)
		return true;
	evidence_kv(s, d, kv, sizeof(kv));
	top_text(d, top, sizeof(top));
	cpu_bound_text(s, d, why, sizeof(why));
	if (d->replicas >= d->max) {
		snprintf(msg, sizeof(msg), "not scaling up: at %s %d (replicas %d) although %s, %s", KS_ANN_MAX, d->max,
			 d->replicas, why, top);
		ks_act_event(s, d, "Warning", "ScaleUpLimited", msg, kv, now_s);
		return false;
	}
	if (since_last_scale(d) < s->cfg.up_cooldown_s) {
		ks_debug("scale up waits for the cooldown", "deployment=%s/%s since_last_scale_s=%.1f %s", d->ns,
			 d->name, since_last_scale(d), kv);
		return false;
	}
	snprintf(msg, sizeof(msg), "scaled up %d -> %d: %s, %s%s%s%s", d->replicas, d->replicas + 1, why, top,
		 waiter ? "; awaited by " : "", waiter ? waiter->ns : "", waiter ? "/" : "");
	if (waiter)
		strncat(msg, waiter->name, sizeof(msg) - strlen(msg) - 1);
	if (ks_act_scale(s, d, d->replicas + 1, "ScaledUp", msg, kv, now_s))
		return false;
	d->scaled = true;
	/* the next step needs fresh evidence, taken with the new replica */
	d->st->cpu_streak = 0;
	return true;
}

static void rule_block(struct ks_scaler *s, struct ks_deploy *d, double now_s)
{
	char kv[1024], msg[900], top[256];

	evidence_kv(s, d, kv, sizeof(kv));
	snprintf(msg, sizeof(msg),
		 "not scaling up: pods wait on disk (%d/%d pods BLOCK): block I/O %.1f ms/s, average latency "
		 "%.0f us, D state %.1f ms/s; more replicas would queue on the same disk. %s",
		 d->nclass[KS_CLASS_BLOCK], d->npods, d->block_ms_per_s, d->block_lat_avg_us, d->d_ms_per_s,
		 top_text(d, top, sizeof(top)));
	ks_act_event(s, d, "Warning", "ScaleUpRefused", msg, kv, now_s);
}

/* Scale dep for waiter d when it may be and is CPU-bound; true when it was
 * scaled (now or earlier this poll), else why not into why. */
static bool scale_dependency(struct ks_scaler *s, struct ks_deploy *d, struct ks_deploy *dep, const char *label,
			     char *why, size_t whylen, double now_s)
{
	if (!dep->autoscale) {
		snprintf(why, whylen, "dependency %s is not annotated %s: \"true\", so it is not scaled", label,
			 KS_ANN_AUTOSCALE);
	} else if (dep->invalid) {
		snprintf(why, whylen, "dependency %s has invalid annotations (%s)", label, dep->invalid_why);
	} else if (!dep->npods) {
		snprintf(why, whylen, "no agent reports pods of dependency %s", label);
	} else if (!dep->scaled && dep->st->cpu_streak < s->cfg.up_windows) {
		snprintf(why, whylen, "dependency %s is not CPU-bound (class %s, on-CPU %.0f‰, %u of %u polls)", label,
			 ks_class_name(dep->cls), dep->oncpu_permille, dep->st->cpu_streak, s->cfg.up_windows);
	} else if (try_up(s, dep, d, now_s)) {
		return true;
	} else {
		snprintf(why, whylen, "dependency %s is CPU-bound but was not scaled (at max %d or cooling down)", label,
			 dep->max);
	}
	return false;
}

/* The dependency the kernel names most for d's pods: largest summed share. */
static const struct ks_kdep *top_kdep(const struct ks_deploy *d)
{
	const struct ks_kdep *best = NULL;
	int i;

	for (i = 0; i < d->nkdeps; i++)
		if (!best || d->kdeps[i].share_sum > best->share_sum)
			best = &d->kdeps[i];
	return best;
}

static void rule_offcpu(struct ks_scaler *s, struct ks_deploy *d, double now_s)
{
	char kv[1024], msg[2048], top[256], why[1024], label[700];
	const struct ks_kdep *k = d->cause == KS_CAUSE_DEPENDENCY ? top_kdep(d) : NULL;
	struct ks_deploy *dep = NULL;

	evidence_kv(s, d, kv, sizeof(kv));
	top_text(d, top, sizeof(top));
	if (d->cause == KS_CAUSE_LOCK) {
		snprintf(msg, sizeof(msg),
			 "not scaling: pods wait off-CPU for their own threads (%d/%d pods OFFCPU/LOCK: S %.1f ms/s, "
			 "on-CPU %.0f‰): serialized on a lock or an internal queue, so more CPU does not make them "
			 "faster; %s",
			 d->ncause[KS_CAUSE_LOCK], d->npods, d->s_ms_per_s, d->oncpu_permille, top);
		ks_act_event(s, d, "Normal", "OffCpuWait", msg, kv, now_s);
		return;
	}
	if (k) {
		/* named by the kernel: the pod whose tasks ended the waits */
		snprintf(label, sizeof(label), "%s%s%s (pod %s/%s, %.0f‰ of the wait, named by the kernel)",
			 k->d ? k->d->ns : "", k->d ? "/" : "", k->d ? k->d->name : "", k->ns, k->pod,
			 d->npods ? k->share_sum / d->npods : 0.0);
		dep = k->d;
		if (!dep)
			snprintf(why, sizeof(why), "they wait on pod %s/%s (%.0f‰ of the wait, named by the kernel), "
				 "which belongs to no Deployment the API knows", k->ns, k->pod,
				 d->npods ? k->share_sum / d->npods : 0.0);
	} else if (d->dep_name[0]) {
		snprintf(label, sizeof(label), "%s/%s (%s)", d->dep_ns, d->dep_name, KS_ANN_DEPENDENCY);
		dep = ks_cluster_find(s, d->dep_ns, d->dep_name);
		if (!dep)
			snprintf(why, sizeof(why), "dependency %s not found", label);
	} else {
		snprintf(why, sizeof(why), "the kernel names no pod they wait on (cause %s) and no %s annotation "
			 "does", ks_report_cause_name(d->cause), KS_ANN_DEPENDENCY);
	}
	if (dep && scale_dependency(s, d, dep, label, why, sizeof(why), now_s)) {
		snprintf(msg, sizeof(msg),
			 "not scaling this Deployment: pods wait off-CPU (S %.1f ms/s, D %.1f ms/s, %s) on CPU-bound "
			 "dependency %s: scaled it to %d instead",
			 d->s_ms_per_s, d->d_ms_per_s, top, label, dep->replicas);
		ks_act_event(s, d, "Normal", "DependencyScaled", msg, kv, now_s);
		return;
	}
	snprintf(msg, sizeof(msg), "not scaling: pods wait off-CPU (%d/%d pods OFFCPU, cause %s): S %.1f ms/s, D %.1f ms/s, %s; %s",
		 d->nclass[KS_CLASS_OFFCPU], d->npods, ks_report_cause_name(d->cause), d->s_ms_per_s, d->d_ms_per_s, top,
		 why);
	ks_act_event(s, d, "Normal", "OffCpuWait", msg, kv, now_s);
}

static void rule_idle(struct ks_scaler *s, struct ks_deploy *d, double now_s)
{
	char kv[1024], msg[900];
	double idle_s = now_s - d->st->idle_since_s;

	/* idle for the whole window, and the window not younger than the
	 * last scale either (that one survives restarts) */
	if (idle_s < s->cfg.down_stabilization_s || since_last_scale(d) < s->cfg.down_stabilization_s || d->scaled)
		return;
	evidence_kv(s, d, kv, sizeof(kv));
	if (d->replicas <= d->min) {
		ks_debug("idle at min-replicas", "deployment=%s/%s idle_s=%.1f %s", d->ns, d->name, idle_s, kv);
		return;
	}
	snprintf(msg, sizeof(msg), "scaled down %d -> %d: pods idle for %.0f s (%d/%d pods IDLE, mean on-CPU %.0f‰)",
		 d->replicas, d->replicas - 1, idle_s, d->nclass[KS_CLASS_IDLE], d->npods, d->oncpu_permille);
	if (ks_act_scale(s, d, d->replicas - 1, "ScaledDown", msg, kv, now_s))
		return;
	d->scaled = true;
	/* one step per stabilization window */
	d->st->idle_since_s = now_s;
}

void ks_rules_run(struct ks_scaler *s, double now_s)
{
	struct ks_deploy *d;
	char kv[1024];
	int i;

	for (i = 0; i < s->ndeps; i++) {
		d = &s->deps[i];
		d->st = state_of(s, d);
		if (!d->st) {
			ks_err("out of memory for Deployment state", "deployment=%s/%s", d->ns, d->name);
			continue;
		}
		close_poll(s, d, now_s);
	}
	for (i = 0; i < s->ndeps; i++) {
		d = &s->deps[i];
		if (!d->autoscale || !d->st)
			continue;
		if (d->invalid) {
			evidence_kv(s, d, kv, sizeof(kv));
			ks_act_event(s, d, "Warning", "InvalidAnnotation", d->invalid_why, kv, now_s);
			continue;
		}
		if (d->hpa[0]) {
			char msg[700];

			/* two autoscalers on one Deployment fight: the HPA's
			 * owner chose it, so ksense steps back and says why */
			evidence_kv(s, d, kv, sizeof(kv));
			snprintf(msg, sizeof(msg), "not scaling: HorizontalPodAutoscaler %s also targets this Deployment; "
				 "remove it or the %s annotation", d->hpa, KS_ANN_AUTOSCALE);
			ks_act_event(s, d, "Warning", "HPAConflict", msg, kv, now_s);
			continue;
		}
		if (!d->npods) {
			ks_debug("no pods reported", "deployment=%s/%s replicas=%d", d->ns, d->name, d->replicas);
			continue;
		}
		switch (d->cls) {
		case KS_CLASS_CPU:
		case KS_CLASS_THROTTLED:
			if (d->st->cpu_streak >= s->cfg.up_windows)
				try_up(s, d, NULL, now_s);
			break;
		case KS_CLASS_BLOCK:
			rule_block(s, d, now_s);
			break;
		case KS_CLASS_OFFCPU:
			rule_offcpu(s, d, now_s);
			break;
		case KS_CLASS_IDLE:
			rule_idle(s, d, now_s);
			break;
		default:
			break;
		}
	}
}
