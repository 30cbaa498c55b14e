// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include "log.h"
#include "worker.h"

/* The worker yields to the loop: on a busy node both want the CPU, and the
 * loop's turns are what every probe and /score waits for (nice 10 is about
 * a tenth of the loop's weight under CFS).  Raising one's own nice needs no
 * privilege. */
#define WORKER_NICE 10

static void *worker_main(void *arg)
{
	struct ks_worker *w = arg;

	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE))
		ks_warn("worker: cannot lower its priority", "errno=%d", errno);
	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct ks_job *j;
		uint64_t one = 1;

		while (!w->todo && !w->stop)
			pthread_cond_wait(&w->wake, &w->mu);
		if (w->stop)
			break;
		j = w->todo;
		w->todo = j->next;
		if (!w->todo)
			w->todo_tail = &w->todo;
		w->nr_todo--;
		pthread_mutex_unlock(&w->mu);

		j->next = NULL;
		w->fn(w->app, &j->req, j->tls, &j->resp);

		pthread_mutex_lock(&w->mu);
		*w->done_tail = j;
		w->done_tail = &j->next;
		/* a full counter (never, in practice) still leaves it readable */
		if (write(w->event_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			ks_warn("worker: cannot wake the loop", "errno=%d", errno);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

int ks_worker_start(struct ks_worker *w, ks_job_fn fn, void *app, size_t resp_max_bytes)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->todo_tail = &w->todo;
	w->done_tail = &w->done;
	w->fn = fn;
	w->app = app;
	w->resp_max_bytes = resp_max_bytes;
	w->event_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (w->event_fd < 0)
		return -errno;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->wake, NULL);
	err = pthread_create(&w->th, NULL, worker_main, w);
	if (err) {
		close(w->event_fd);
		w->event_fd = -1;
		return -err;
	}
	w->started = true;
	return 0;
}

static void free_list(struct ks_job *j)
{
	while (j) {
		struct ks_job *next = j->next;

		ks_job_free(j);
		j = next;
	}
}

void ks_worker_stop(struct ks_worker *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	free_list(w->todo);
	free_list(w->done);
	close(w->event_fd);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->mu);
	w->started = false;
}

void ks_worker_submit(struct ks_worker *w, struct ks_job *j)
{
	ks_buf_init(&j->resp.body, w->resp_max_bytes);
	j->resp.status = 200;
	j->resp.content_type = "application/json";
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	*w->todo_tail = j;
	w->todo_tail = &j->next;
	w->nr_todo++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->mu);
}

int ks_worker_queued(struct ks_worker *w)
{
	int n;

	pthread_mutex_lock(&w->mu);
	n = w->nr_todo;
	pthread_mutex_unlock(&w->mu);
	return n;
}

struct ks_job *ks_worker_done(struct ks_worker *w)
{
	struct ks_job *list;
	uint64_t count;

	if (read(w->event_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		ks_warn("worker: cannot read its eventfd", "errno=%d", errno);
	pthread_mutex_lock(&w->mu);
	list = w->done;
	w->done = NULL;
	w->done_tail = &w->done;
	pthread_mutex_unlock(&w->mu);
	return list;
}

void ks_job_free(struct ks_job *j)
{
	if (!j)
		return;
	ks_buf_free(&j->resp.body);
	free(j->body);
	free(j);
}
