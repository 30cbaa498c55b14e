/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test fixture for the daemons that talk to Kubernetes: the fake API
 * server (selftests/fake_apiserver.py, plain HTTP on loopback), a
 * kubeconfig pointing at it, a client for seeding and reading it, and
 * ksense-webhook agents on loopback playing nodes with chosen scores.
 */
#ifndef KSENSE_SELFTEST_FAKEAPI_H
#define KSENSE_SELFTEST_FAKEAPI_H

#include <stdbool.h>
#include <sys/types.h>
#include "buf.h"
#include "kube.h"

#define FAKEAPI_SCRIPT "selftests/fake_apiserver.py"

struct fakeapi {
	pid_t pid;
	int port;
	char dir[256];          /* scratch directory, removed by fakeapi_stop */
	char kubeconfig[320];
	struct kube_client *kc;
	char extra[8][320];     /* fake_apiserver.py arguments kept for a restart */
	int nextra;
};

/* NULL when python3 or the script is missing (the caller skips). */
const char *fakeapi_missing(void);
int fakeapi_start(struct fakeapi *f, const char *tag);
/* The same with more fake_apiserver.py arguments (NULL-ended, at most 8);
 * "@DIR@" in one stands for f->dir. */
int fakeapi_start_args(struct fakeapi *f, const char *tag, const char *const *extra);
/* SIGTERM (a server with --dump-on-exit writes its state) and start again
 * on the same port with the same arguments; 0 or -1. */
int fakeapi_restart(struct fakeapi *f);
void fakeapi_stop(struct fakeapi *f);
/* HTTP status, or a negative errno; out may be NULL. */
int fakeapi_call(struct fakeapi *f, const char *method, const char *path, const char *body, struct ks_buf *out);
/* POST /fake/objects {"objects": [objs_json...], "defaults": true}; 0 or -1. */
int fakeapi_seed(struct fakeapi *f, const char *objects_json);
/* spec.replicas of Deployment ns/name read through k, or -1. */
int fx_deploy_replicas(struct kube_client *k, const char *ns, const char *name);
/* A path in f->dir. */
const char *fakeapi_path(struct fakeapi *f, const char *name);

/* Spawns argv with stdout+stderr to log and extra env ("K=V", NULL-ended). */
pid_t fx_spawn(const char *log, char *const argv[], const char *const env[]);
/* Spawns a server that writes its port to portfile once it listens
 * (argv must pass it --port-file portfile) and waits up to 10 s for it:
 * the pid with *port set, or -1 (the child is reaped). */
pid_t fx_spawn_port(const char *log, const char *portfile, char *const argv[], int *port);
/* SIGTERM, then SIGKILL after 5 s; the exit status (or -1). */
int fx_stop(pid_t pid);
/* How many times needle occurs in file. */
int fx_count_in_file(const char *path, const char *needle);

struct fake_agent {
	pid_t pid;
	int port;
	char score_file[400];
	char log[400];
};

/* A ksense-webhook --test-score-file on loopback, an ephemeral port. */
int fake_agent_start(struct fakeapi *f, struct fake_agent *a, const char *node, const char *score_line);
int fake_agent_set(struct fake_agent *a, const char *score_line);
void fake_agent_stop(struct fake_agent *a);
/* JSON of a Node and of its agent pod (annotation ksense.io/agent-port),
 * for fakeapi_seed. */
int fake_node_json(char *out, size_t len, const char *node, int cpu_milli, const struct fake_agent *a);
/* The same with a pod capacity other than 110. */
int fake_node_json_pods(char *out, size_t len, const char *node, int cpu_milli, int pods, const struct fake_agent *a);
/* Nodes n1..n<nr> of cpu_milli each, seeded into f, node i with the agent
 * ag[i] answering scores[i] (both indexed from 1).  0, or -1 (it says
 * which node failed). */
int fake_agent_nodes(struct fakeapi *f, struct fake_agent *ag, int nr, const char *const *scores, int cpu_milli);

#endif
