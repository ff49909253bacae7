/*
 * Writing to a socket whole, shared by the forwarded-socket server, the
 * RRD sender and the command-line client.
 */
#ifndef RRDD_UTIL_SOCKIO_H
#define RRDD_UTIL_SOCKIO_H

#include <stddef.h>

/* Send all n bytes on socket fd (retrying short sends and EINTR; no
 * SIGPIPE).  0, or -errno (a timeout set on the socket gives -EAGAIN). */
int sock_send_all(int fd, const void *p, size_t n);

#endif
