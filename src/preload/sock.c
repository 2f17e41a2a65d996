// SPDX-License-Identifier: MIT
/*
 * sock.c - layer preload: send, sendto, sendmsg, recv, recvfrom and
 * recvmsg with a buffer in a udax mapping. The kernel cannot fault a udax
 * page in for a syscall (userfaultfd's SIGBUS mode serves user accesses
 * only: the call would fail with EFAULT), so the data goes through a
 * buffer of the shim, copied in user space, whole (a datagram must go in
 * one call). Other buffers go straight to the kernel. udax descriptors are
 * not sockets: ENOTSOCK, as the kernel answers for a regular file.
 *
 * May call: shim.h (the mappings), libc.
 * Locks: none (shim_map_overlaps takes maps_lock for its lookup).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "preload/shim.h"

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

/* Whether a part of msg's vector lies in a udax mapping (a vector longer
 * than IOV_MAX goes to the kernel, which refuses it). */
static bool msg_in_maps(const struct msghdr *msg)
{
	if (!msg->msg_iov || msg->msg_iovlen > IOV_MAX)
		return false;
	for (size_t i = 0; i < msg->msg_iovlen; i++)
		if (msg->msg_iov[i].iov_len &&
		    shim_map_overlaps(msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len))
			return true;
	return false;
}

/* one: msg with its vector replaced by one buffer of the vector's size
 * (iov, malloc'ed). Return: 0, or -errno (the vector's size overflows). */
static int msg_one_buffer(const struct msghdr *msg, struct msghdr *one, struct iovec *iov)
{
	size_t len = 0;

	for (size_t i = 0; i < msg->msg_iovlen; i++) {
		if (msg->msg_iov[i].iov_len > SIZE_MAX - len)
			return -EINVAL;
		len += msg->msg_iov[i].iov_len;
	}
	iov->iov_base = malloc(len ? len : 1);
	if (!iov->iov_base)
		return -ENOMEM;
	iov->iov_len = len;
	*one = *msg;
	one->msg_iov = iov;
	one->msg_iovlen = 1;
	return 0;
}

SHIM_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
			   const struct sockaddr *to, socklen_t tolen)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_name = (void *)to, .msg_namelen = tolen, .msg_iov = &iov,
			      .msg_iovlen = 1 };
	int err;

	if ((err = sock_fd_check(fd)))
		return shim_fail(err);
	if (!len || !shim_map_overlaps(buf, len))
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
	struct msghdr msg = { .msg_name = from, .msg_namelen = from && fromlen ? *fromlen : 0,
			      .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t ret;
	int err;

	if ((err = sock_fd_check(fd)))
		return shim_fail(err);
	if (!len || !shim_map_overlaps(buf, len))
		return shim_real()->recvfrom(fd, buf, len, flags, from, fromlen);
	ret = recvmsg(fd, &msg, flags);
	if (ret >= 0 && from && fromlen)
		*fromlen = msg.msg_namelen;
	return ret;
}

SHIM_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	return recvfrom(fd, buf, len, flags, NULL, NULL);
}

SHIM_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct msghdr one;
	struct iovec iov;
	size_t at = 0;
	ssize_t ret;
	int err;

	if ((err = sock_fd_check(fd)))
		return shim_fail(err);
	if (!msg || !msg_in_maps(msg))
		return shim_real()->sendmsg(fd, msg, flags);
	if ((err = msg_one_buffer(msg, &one, &iov)))
		return shim_fail(err);
	for (size_t i = 0; i < msg->msg_iovlen; i++) {	/* gather */
		memcpy((char *)iov.iov_base + at, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
		at += msg->msg_iov[i].iov_len;
	}
	ret = shim_real()->sendmsg(fd, &one, flags);
	err = errno;
	free(iov.iov_base);
	errno = err;
	return ret;
}

SHIM_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	struct msghdr one;
	struct iovec iov;
	size_t left;
	ssize_t ret;
	int err;

	if ((err = sock_fd_check(fd)))
		return shim_fail(err);
	if (!msg || !msg_in_maps(msg))
		return shim_real()->recvmsg(fd, msg, flags);
	if ((err = msg_one_buffer(msg, &one, &iov)))
		return shim_fail(err);
	ret = shim_real()->recvmsg(fd, &one, flags);
	err = errno;
	if (ret >= 0) {	/* scatter; the kernel's answers go back to msg */
		left = (size_t)ret < iov.iov_len ? (size_t)ret : iov.iov_len;
		for (size_t i = 0, at = 0; i < msg->msg_iovlen && left; i++) {
			size_t k = msg->msg_iov[i].iov_len < left ? msg->msg_iov[i].iov_len : left;

			memcpy(msg->msg_iov[i].iov_base, (char *)iov.iov_base + at, k);
			at += k;
			left -= k;
		}
		msg->msg_namelen = one.msg_namelen;
		msg->msg_controllen = one.msg_controllen;
		msg->msg_flags = one.msg_flags;
	}
	free(iov.iov_base);
	errno = err;
	return ret;
}
