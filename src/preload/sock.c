// SPDX-License-Identifier: MIT
/*
 * sock.c - layer preload: send, sendto, sendmsg, recv, recvfrom and
 * recvmsg with a buffer (data, address or control) in a udax mapping. The
 * kernel cannot fault a udax page in for a syscall (userfaultfd's SIGBUS
 * mode serves user accesses only: EFAULT), so such a part goes through a
 * buffer of the shim (bounce.c: checked first as the kernel would check
 * it, so that nothing is taken from the socket that could not be stored;
 * the other parts go to the kernel as they are). One call
 * moves at most SOCK_UDAX_MAX bytes of a vector holding udax parts (a
 * short count, which stream sockets allow; no datagram is that large).
 * A udax descriptor passed with SCM_RIGHTS is refused (EOPNOTSUPP: the
 * receiver would get the placeholder). udax descriptors are not sockets:
 * ENOTSOCK for these calls and the other socket calls.
 *
 * May call: shim.h (the mappings, the descriptor table), libc.
 * Locks: none of its own (shim_map_piece takes maps_lock per piece).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "preload/shim.h"

#define SOCK_UDAX_MAX ((size_t)64 << 20)

/* A udax descriptor is no socket (its placeholder would answer EBADF);
 * the library's own descriptors are not the program's.
 * Return: 0 (the kernel's descriptor), or -errno. */
static int sock_fd_check(int fd)
{
	if (shim_in_vfork_child())
		return 0;
	if (shim_fd_is_library(fd))
		return -EBADF;
	return shim_fd_is_udax(fd) ? -ENOTSOCK : 0;
}

/* A message as the kernel gets it: its vector planned by bounce.c, the
 * address and control replaced by buffers of the shim where they lie in a
 * mapping. */
struct sock_plan {
	struct msghdr msg;
	struct shim_bounce vec;
	void *name, *control;	/* the shim's buffers, or NULL */
};

static void plan_free(struct sock_plan *p)
{
	shim_bounce_free(&p->vec);
	free(p->name);
	free(p->control);
}

/* Whether the message has a part in a udax mapping. */
static bool msg_in_maps(const struct msghdr *msg)
{
	if (!shim_map_any())	/* never read the message then: the kernel checks it */
		return false;
	if ((msg->msg_name && msg->msg_namelen &&
	     shim_map_overlaps(msg->msg_name, msg->msg_namelen)) ||
	    (msg->msg_control && msg->msg_controllen &&
	     shim_map_overlaps(msg->msg_control, msg->msg_controllen)))
		return true;
	return msg->msg_iov && msg->msg_iovlen <= IOV_MAX &&	/* else the kernel refuses it */
	       shim_bounce_needed(msg->msg_iov, msg->msg_iovlen);
}

/* A copy of [p, p+len) (the address or control of msg) when it lies in a
 * udax mapping, into *copy. Return: the buffer the kernel gets. */
static void *side_buffer(void *p, size_t len, bool in, void **copy)
{
	if (!p || !len || !shim_map_overlaps(p, len))
		return p;
	*copy = malloc(len);
	if (*copy && in)
		memcpy(*copy, p, len);
	return *copy;
}

/* Whether control (a sendmsg's) passes a udax descriptor. */
static bool passes_udax_fd(struct msghdr *msg)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (shim_fd_is_udax(fd))
				return true;
		}
	}
	return false;
}

/* Make p for msg. Return: 0, or -errno with nothing taken or sent. */
static int plan_make(struct sock_plan *p, const struct msghdr *msg, bool receive)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->msg = *msg;
	p->msg.msg_name = side_buffer(msg->msg_name, msg->msg_namelen, !receive, &p->name);
	p->msg.msg_control = side_buffer(msg->msg_control, msg->msg_controllen, !receive,
					 &p->control);
	if ((msg->msg_name && !p->msg.msg_name) || (msg->msg_control && !p->msg.msg_control))
		return -ENOMEM;
	ret = shim_bounce_plan(&p->vec, msg->msg_iov, msg->msg_iovlen, SOCK_UDAX_MAX, receive);
	p->msg.msg_iov = p->vec.iov;
	p->msg.msg_iovlen = p->vec.cnt;
	return ret;
}

/* After a receive of got bytes: the udax parts, address and control to
 * the program's buffers, and what the kernel said of them into msg. */
static void plan_scatter(struct sock_plan *p, struct msghdr *msg, size_t got)
{
	shim_bounce_scatter(&p->vec, got);
	if (p->name)
		memcpy(msg->msg_name, p->name,
		       p->msg.msg_namelen < msg->msg_namelen ? p->msg.msg_namelen : msg->msg_namelen);
	if (p->control)
		memcpy(msg->msg_control, p->control, p->msg.msg_controllen);
	msg->msg_namelen = p->msg.msg_namelen;
	msg->msg_controllen = p->msg.msg_controllen;
	msg->msg_flags = p->msg.msg_flags;
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct sock_plan p;
	ssize_t ret;
	int err = sock_fd_check(fd);

	if (err)
		return shim_fail(err);
	if (!shim_store_opened())	/* never read the message then: the kernel checks it */
		return shim_real()->sendmsg(fd, msg, flags);
	if (msg && msg->msg_control && msg->msg_controllen >= sizeof(struct cmsghdr) &&
	    passes_udax_fd((struct msghdr *)msg))
		return shim_fail(-EOPNOTSUPP);
	if (!msg || !msg_in_maps(msg))
		return shim_real()->sendmsg(fd, msg, flags);
	err = plan_make(&p, msg, false);
	ret = err ? shim_fail(err) : shim_real()->sendmsg(fd, &p.msg, flags);
	err = errno;
	plan_free(&p);
	errno = err;
	return ret;
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct sock_plan p;
	ssize_t ret;
	int err = sock_fd_check(fd);

	if (err)
		return shim_fail(err);
	if (!msg || !msg_in_maps(msg))
		return shim_real()->recvmsg(fd, msg, flags);
	err = plan_make(&p, msg, true);
	ret = err ? shim_fail(err) : shim_real()->recvmsg(fd, &p.msg, flags);
	err = errno;
	if (ret >= 0)
		plan_scatter(&p, msg, (size_t)ret);
	plan_free(&p);
	errno = err;
	return ret;
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)to, .msg_namelen = to ? tolen : 0,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	int err = sock_fd_check(fd);

	if (err)
		return shim_fail(err);
	if (!shim_map_any() || !msg_in_maps(&msg))
		return shim_real()->sendto(fd, buf, len, flags, to, tolen);
	return sendmsg(fd, &msg, flags);
}

SHIM_EXPORT ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	return sendto(fd, buf, len, flags, NULL, 0);
}

SHIM_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *from,
			     socklen_t *fromlen)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	socklen_t room;
	ssize_t ret;
	int err = sock_fd_check(fd);

	if (err)
		return shim_fail(err);
	if (!shim_map_any() || (!msg_in_maps(&msg) &&
				!(from && fromlen && (shim_map_overlaps(fromlen, sizeof(*fromlen)) ||
						      shim_map_overlaps(from, *fromlen)))))
		return shim_real()->recvfrom(fd, buf, len, flags, from, fromlen);
	room = from && fromlen ? *fromlen : 0;	/* a user read: a mapping serves it */
	msg.msg_name = room ? from : NULL;
	msg.msg_namelen = room;
	ret = recvmsg(fd, &msg, flags);
	if (ret >= 0 && from && fromlen)
		*fromlen = msg.msg_namelen;
	return ret;
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

/* The other socket calls: ENOTSOCK on a udax descriptor, as on a file. */
#define NOT_A_SOCKET(call, ...)						\
	do {								\
		int err_ = sock_fd_check(fd);				\
									\
		if (err_)						\
			return shim_fail(err_);				\
		return shim_real()->call(__VA_ARGS__);			\
	} while (0)

SHIM_EXPORT int shutdown(int fd, int how)
{
	NOT_A_SOCKET(shutdown, fd, how);
}

SHIM_EXPORT int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	NOT_A_SOCKET(getsockopt, fd, level, name, val, len);
}

SHIM_EXPORT int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	NOT_A_SOCKET(setsockopt, fd, level, name, val, len);
}

SHIM_EXPORT int getsockname(int fd, struct sockaddr *addr, socklen_t *len)
{
	NOT_A_SOCKET(getsockname, fd, addr, len);
}

SHIM_EXPORT int getpeername(int fd, struct sockaddr *addr, socklen_t *len)
{
	NOT_A_SOCKET(getpeername, fd, addr, len);
}

SHIM_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	NOT_A_SOCKET(connect, fd, addr, len);
}

SHIM_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	NOT_A_SOCKET(bind, fd, addr, len);
}

SHIM_EXPORT int listen(int fd, int backlog)
{
	NOT_A_SOCKET(listen, fd, backlog);
}

SHIM_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	NOT_A_SOCKET(accept, fd, addr, len);
}

SHIM_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	NOT_A_SOCKET(accept4, fd, addr, len, flags);
}
