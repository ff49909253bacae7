/*
 * The HTTP workers: a fixed set of threads that answer requests the event
 * threads handed over (server.c suspends the connection, a worker renders
 * or runs the call and resumes it), so a slow answer never stops an event
 * thread from reading, writing and timing out its other connections.
 *
 * Bounds: nthreads threads; the queue holds at most one job per suspended
 * connection, so it is bounded by the listeners' connection limits.
 */
#include <pthread.h>
#include <stdlib.h>

#include "http/internal.h"
#include "util/log.h"
#include "util/xalloc.h"

struct http_workers {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct http_job *head, *tail;
	unsigned nthreads;
	bool closed;
	pthread_t *thr;
};

static void *worker_main(void *arg)
{
	struct http_workers *w = arg;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->head && !w->closed)
			pthread_cond_wait(&w->cv, &w->mu);
		struct http_job *j = w->head;
		if (!j)
			break; /* closed and drained */
		w->head = j->next;
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		j->run(j); /* may free j */
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct http_workers *http_workers_new(unsigned nthreads, const char *name)
{
	struct http_workers *w = xcalloc(1, sizeof(*w));
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->thr = xcalloc(nthreads ? nthreads : 1, sizeof(*w->thr));
	for (unsigned i = 0; i < (nthreads ? nthreads : 1); i++) {
		if (pthread_create(&w->thr[i], NULL, worker_main, w)) {
			log_warn("http: cannot start %s worker %u", name, i);
			break;
		}
		w->nthreads++;
	}
	return w;
}

bool http_workers_submit(struct http_workers *w, struct http_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&w->mu);
	bool ok = !w->closed && w->nthreads > 0;
	if (ok) {
		if (w->tail)
			w->tail->next = j;
		else
			w->head = j;
		w->tail = j;
		pthread_cond_signal(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	return ok;
}

void http_workers_close(struct http_workers *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->closed = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	for (unsigned i = 0; i < w->nthreads; i++)
		pthread_join(w->thr[i], NULL);
	w->nthreads = 0;
}

void http_workers_free(struct http_workers *w)
{
	if (!w)
		return;
	http_workers_close(w);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->thr);
	free(w);
}
