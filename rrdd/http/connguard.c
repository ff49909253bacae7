/*
 * The connection guard of one listener: the time limits libmicrohttpd does
 * not have.  MHD's timeout is an idle timeout, reset by every byte, so a
 * client sending a header line every few seconds keeps its slot for ever.
 * The guard knows each connection's phase (told by server.c) and closes it
 * (shutdown(2) on its socket: MHD sees the end of the stream and cleans up
 * in its own thread) when:
 *
 *  - its request headers are not complete header_s after it was accepted,
 *    or idle_s + header_s after its previous answer (kept-alive);
 *  - its body is not complete body_s after its headers;
 *  - the listener is under pressure (3/4 of its connections taken): the
 *    connections that are waiting for a request (no request yet, or idle
 *    after an answer) for more than a second go, oldest first, until half
 *    the slots are free; a client that sends its request at once is never
 *    one of them.
 *
 * Answers in progress (handed to a worker, or being sent) are not the
 * guard's: MHD's idle timeout bounds a client that stops reading.
 *
 * The socket is shut down under the guard's mutex and only while its entry
 * is present; MHD reports a connection closed (gd_close) before it closes
 * the socket, so the descriptor is never one reused by another file.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "clock/clock.h"
#include "http/internal.h"
#include "util/log.h"
#include "util/xalloc.h"

struct gd_conn {
	struct gd_conn *prev, *next;
	int fd;
	enum gd_phase phase;
	bool kept;   /* waiting after an answer (kept alive), not fresh */
	bool closed; /* shut down by the guard */
	double since;
};

struct conn_guard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct gd_conn *head;
	unsigned live, max_conns;
	double header_s, body_s, idle_s;
	bool stop;
	pthread_t thr;
	bool started;
	const char *name;
	struct gd_stats st;
	double logged_at;
	uint64_t logged_total;
};

static double now_s(void)
{
	return clk_elapsed(); /* network time limits are real time */
}

static void shut(struct conn_guard *g, struct gd_conn *e, uint64_t *counter)
{
	shutdown(e->fd, SHUT_RDWR);
	e->closed = true;
	g->live--;
	(*counter)++;
}

/* The deadline of a connection in phase e->phase, or 0 for none. */
static double deadline(const struct conn_guard *g, const struct gd_conn *e)
{
	switch (e->phase) {
	case GD_WAITING:
		return e->since + (e->kept ? g->idle_s : 0) + g->header_s;
	case GD_BODY:
		return e->since + g->body_s;
	default:
		return 0;
	}
}

static void sweep(struct conn_guard *g, double now)
{
	for (struct gd_conn *e = g->head; e; e = e->next) {
		if (e->closed)
			continue;
		double dl = deadline(g, e);
		if (dl > 0 && now >= dl)
			shut(g, e, e->phase == GD_BODY ? &g->st.body_late : &g->st.header_late);
	}
	unsigned hi = g->max_conns - g->max_conns / 4, lo = g->max_conns / 2;
	while (g->live >= hi && g->live > lo) {
		struct gd_conn *oldest = NULL;
		for (struct gd_conn *e = g->head; e; e = e->next)
			if (!e->closed && e->phase == GD_WAITING && now - e->since > 1.0 &&
			    (!oldest || e->since < oldest->since))
				oldest = e;
		if (!oldest)
			break;
		shut(g, oldest, &g->st.evicted);
	}
	uint64_t total = g->st.header_late + g->st.body_late + g->st.evicted;
	if (total != g->logged_total && now - g->logged_at >= 60) {
		log_warn("http %s: closed %llu connection(s) that sent no request in time, %llu "
		         "whose body came too slowly, %llu waiting ones to free slots (totals)",
		         g->name, (unsigned long long)g->st.header_late,
		         (unsigned long long)g->st.body_late, (unsigned long long)g->st.evicted);
		g->logged_at = now;
		g->logged_total = total;
	}
}

static void *guard_main(void *arg)
{
	struct conn_guard *g = arg;
	pthread_mutex_lock(&g->mu);
	while (!g->stop) {
		clk_cond_wait_for(&g->cv, &g->mu, 0.5);
		if (!g->stop)
			sweep(g, now_s());
	}
	pthread_mutex_unlock(&g->mu);
	return NULL;
}

struct conn_guard *gd_new(const char *name, unsigned max_conns, unsigned header_s, unsigned body_s,
                          unsigned idle_s)
{
	struct conn_guard *g = xcalloc(1, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->name = name;
	g->max_conns = max_conns ? max_conns : 1;
	g->header_s = header_s;
	g->body_s = body_s;
	g->idle_s = idle_s;
	g->logged_at = -1e9;
	g->started = pthread_create(&g->thr, NULL, guard_main, g) == 0;
	if (!g->started)
		log_warn("http %s: cannot start the connection guard", name);
	return g;
}

void gd_free(struct conn_guard *g)
{
	if (!g)
		return;
	pthread_mutex_lock(&g->mu);
	g->stop = true;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mu);
	if (g->started)
		pthread_join(g->thr, NULL);
	while (g->head) {
		struct gd_conn *e = g->head;
		g->head = e->next;
		free(e);
	}
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g);
}

struct gd_conn *gd_open(struct conn_guard *g, int fd)
{
	struct gd_conn *e = xcalloc(1, sizeof(*e));
	e->fd = fd;
	e->phase = GD_WAITING;
	pthread_mutex_lock(&g->mu);
	e->since = now_s();
	e->next = g->head;
	if (g->head)
		g->head->prev = e;
	g->head = e;
	g->live++;
	pthread_mutex_unlock(&g->mu);
	return e;
}

void gd_phase(struct conn_guard *g, struct gd_conn *e, enum gd_phase phase)
{
	if (!e)
		return;
	pthread_mutex_lock(&g->mu);
	if (phase == GD_WAITING)
		e->kept = true; /* only an answered connection goes back to waiting */
	if (phase != e->phase) {
		e->phase = phase;
		e->since = now_s();
	}
	pthread_mutex_unlock(&g->mu);
}

void gd_close(struct conn_guard *g, struct gd_conn *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&g->mu);
	if (e->prev)
		e->prev->next = e->next;
	else
		g->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	if (!e->closed)
		g->live--;
	pthread_mutex_unlock(&g->mu);
	free(e);
}
