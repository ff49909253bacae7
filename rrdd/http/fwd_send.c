/*
 * The forwarded socket's sender: one thread that writes the answers of
 * handed-over requests without blocking (poll over every connection being
 * answered), so a client that reads slowly or not at all holds its answer's
 * memory (a shared body, or one piece of a produced one) and a slot, never
 * a worker.  A connection that takes nothing for idle_s seconds is closed.
 * When an answer is sent (or abandoned) both descriptors are closed and the
 * hand-over's count is released.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock/clock.h"
#include "http/internal.h"
#include "util/log.h"
#include "util/xalloc.h"

struct fsnd_out {
	struct fsnd_out *next;
	int fd, ctl;
	atomic_uint *active;
	struct http_resp r;
	struct buf head, piece;
	int stage; /* 0 head, 1 body or blob, 2 produced pieces, 3 done */
	size_t off;
	double last; /* last progress */
	bool ready;  /* writable (or new): worth a send */
};

struct fwd_sender {
	pthread_mutex_t mu;
	struct fsnd_out *incoming;
	int wake[2];
	pthread_t thr;
	bool started;
	unsigned idle_s;
};

static void out_free(struct fsnd_out *o)
{
	shutdown(o->fd, SHUT_RDWR);
	close(o->fd);
	if (o->ctl >= 0)
		close(o->ctl);
	http_resp_free(&o->r);
	buf_free(&o->head);
	buf_free(&o->piece);
	if (o->active)
		atomic_fetch_sub(o->active, 1);
	free(o);
}

/* The bytes of the current stage, advancing stages as they are used up.
 * False when the answer is complete. */
static bool chunk(struct fsnd_out *o, const char **p, size_t *len)
{
	for (;;) {
		switch (o->stage) {
		case 0:
			*p = o->head.p;
			*len = o->head.len;
			break;
		case 1:
			if (o->r.blob) {
				*p = o->r.blob->p;
				*len = o->r.blob->len;
			} else {
				*p = o->r.body.p;
				*len = o->r.body.len;
			}
			break;
		case 2:
			/* the next piece once this one is sent; at the end the
			 * generator appends nothing and the piece stays empty */
			while (o->off == o->piece.len && o->r.gen) {
				buf_reset(&o->piece);
				o->off = 0;
				if (!o->r.gen->next(o->r.gen, &o->piece))
					break;
			}
			*p = o->piece.p;
			*len = o->piece.len;
			break;
		default:
			return false;
		}
		if (o->off < *len)
			return true;
		o->stage++;
		o->off = 0;
	}
}

/* Send what the socket takes: false when the answer is done or failed. */
static bool pump(struct fsnd_out *o, double now)
{
	const char *p;
	size_t len;
	while (chunk(o, &p, &len)) {
		ssize_t n = send(o->fd, p + o->off, len - o->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			o->off += (size_t)n;
			o->last = now;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return true;
		return false; /* the client went away */
	}
	return false;
}

static void *sender_main(void *arg)
{
	struct fwd_sender *s = arg;
	struct fsnd_out *list = NULL;
	size_t n = 0, cap = 0;
	struct pollfd *pf = NULL;
	struct fsnd_out **ent = NULL;
	for (;;) {
		if (n + 1 > cap) {
			cap = cap ? cap * 2 : 64;
			pf = xrealloc(pf, cap * sizeof(*pf));
			ent = xrealloc(ent, cap * sizeof(*ent));
		}
		pf[0] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
		size_t k = 1;
		for (struct fsnd_out *o = list; o; o = o->next) {
			if (k == cap)
				break; /* grown on the next round */
			pf[k] = (struct pollfd){.fd = o->fd, .events = POLLOUT};
			ent[k++] = o;
		}
		int rc = poll(pf, k, 1000);
		if (rc < 0 && errno != EINTR)
			break;
		double now = clk_elapsed();
		if (pf[0].revents) {
			char b[64];
			if (read(s->wake[0], b, sizeof(b)) == 0)
				break; /* closed: stop */
			pthread_mutex_lock(&s->mu);
			struct fsnd_out *in = s->incoming;
			s->incoming = NULL;
			pthread_mutex_unlock(&s->mu);
			while (in) {
				struct fsnd_out *o = in;
				in = in->next;
				o->last = now;
				o->ready = true;
				o->next = list;
				list = o;
				n++;
			}
		}
		for (size_t i = 1; i < k; i++)
			ent[i]->ready = pf[i].revents != 0;
		struct fsnd_out **pp = &list;
		while (*pp) {
			struct fsnd_out *o = *pp;
			bool keep = (!o->ready || pump(o, now)) && now - o->last < s->idle_s;
			o->ready = false;
			if (keep) {
				pp = &o->next;
				continue;
			}
			*pp = o->next;
			n--;
			out_free(o);
		}
	}
	while (list) {
		struct fsnd_out *o = list;
		list = o->next;
		out_free(o);
	}
	free(pf);
	free(ent);
	return NULL;
}

struct fwd_sender *fsnd_new(unsigned idle_s)
{
	struct fwd_sender *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->idle_s = idle_s ? idle_s : 30;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) == 0 &&
	    pthread_create(&s->thr, NULL, sender_main, s) == 0)
		s->started = true;
	else
		log_warn("forwarded socket: cannot start its sender");
	return s;
}

void fsnd_submit(struct fwd_sender *s, int fd, int ctl, const struct buf *head, struct http_resp *r,
                 atomic_uint *active)
{
	struct fsnd_out *o = xcalloc(1, sizeof(*o));
	o->fd = fd;
	o->ctl = ctl;
	o->active = active;
	o->r = *r;
	http_resp_init(r); /* the answer's parts are the sender's now */
	buf_add(&o->head, head->p, head->len);
	if (!s->started) {
		out_free(o);
		return;
	}
	pthread_mutex_lock(&s->mu);
	o->next = s->incoming;
	s->incoming = o;
	pthread_mutex_unlock(&s->mu);
	(void)!write(s->wake[1], "x", 1);
}

void fsnd_free(struct fwd_sender *s)
{
	if (!s)
		return;
	if (s->started) {
		close(s->wake[1]);
		pthread_join(s->thr, NULL);
		close(s->wake[0]);
	}
	while (s->incoming) {
		struct fsnd_out *o = s->incoming;
		s->incoming = o->next;
		out_free(o);
	}
	pthread_mutex_destroy(&s->mu);
	free(s);
}
