/*
 * Socket writes (sockio.h).
 */
#include "util/sockio.h"

#include <errno.h>
#include <sys/socket.h>

int sock_send_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}
