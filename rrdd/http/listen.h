/*
 * Listening sockets of rrdd/http (listen.c).  http_unix_listen is declared
 * in internal.h.
 */
#ifndef RRDD_HTTP_LISTEN_H
#define RRDD_HTTP_LISTEN_H

#include <stdbool.h>
#include <stddef.h>

/* Bind and listen on "ADDR:PORT" or "[V6]:PORT" (numeric; port 0 picks
 * one); *loopback says whether the address is a loopback one.  Returns the
 * fd, or a negative errno with a message. */
int http_tcp_listen(const char *spec, bool *loopback, char *err, size_t errlen);

/* The local port of a bound TCP socket, or 0. */
unsigned http_sock_port(int fd);

#endif
