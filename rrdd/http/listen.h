/*
 * Listening sockets (listen.c): rrdd/http's, and the v4 plugin socket's.
 */
#ifndef RRDD_HTTP_LISTEN_H
#define RRDD_HTTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* Bind a Unix stream socket at path (stale socket replaced, live refused),
 * mode 0660, listening.  Returns the fd or a negative errno with message. */
int http_unix_listen(const char *path, int backlog, char *err, size_t errlen);

/* Bind and listen on "ADDR:PORT" or "[V6]:PORT" (numeric; port 0 picks
 * one); *loopback says whether the address is a loopback one.  Returns the
 * fd, or a negative errno with a message. */
int http_tcp_listen(const char *spec, bool *loopback, char *err, size_t errlen);

/* The local port of a bound TCP socket, or 0. */
unsigned http_sock_port(int fd);

#endif
