// SPDX-License-Identifier: MIT
/*
 * shim_socket_buffers: under `udax run`, send, sendto, sendmsg, recv,
 * recvfrom and recvmsg with buffers in udax mappings whose pages were
 * never touched (the kernel cannot fault them in: EFAULT before) move the
 * bytes exactly: a stream and a datagram socket pair, a vector mixing a
 * mapping and host memory, MSG_PEEK, and the kernel's own answers (a
 * truncated datagram's MSG_TRUNC, ENOTSOCK on a udax descriptor).
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "shim_lib.h"

#define LEN (256u << 10)

/* A fresh MAP_SHARED mapping of store file NAME of LEN bytes: no page of
 * it touched by this process. */
static char *fresh_map(const char *name, const char *fill)
{
	int fd = open(shim_path(1, name), O_RDWR | O_CREAT | O_TRUNC, 0644);
	char *m;

	SHIM_CHECK(fd >= 0, "open %s: %s", name, strerror(errno));
	if (fill)
		SHIM_CHECK(write(fd, fill, LEN) == LEN, "write %s: %s", name, strerror(errno));
	else
		SHIM_CHECK(ftruncate(fd, LEN) == 0, "ftruncate: %s", strerror(errno));
	m = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	SHIM_CHECK(m != MAP_FAILED, "mmap %s: %s", name, strerror(errno));
	close(fd);
	return m;
}

/* Read exactly len bytes of stream socket fd into buf (host memory). */
static void recv_all(int fd, char *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = recv(fd, buf + done, len - done, 0);

		SHIM_CHECK(n > 0, "recv after %zu of %zu: %s", done, len, strerror(errno));
		done += (size_t)n;
	}
}

int main(int argc, char **argv)
{
	char *want, *got, *src, *dst, small[16];
	int sv[2], dg[2], fd;
	struct iovec iov[2];
	struct msghdr msg = { .msg_iov = iov, .msg_iovlen = 2 };
	ssize_t n;
	pid_t pid;

	shim_start(argc, argv, 60);
	want = malloc(LEN);
	got = malloc(LEN);
	SHIM_CHECK(want && got, "malloc");
	for (size_t i = 0; i < LEN; i++)
		want[i] = (char)shim_rand();

	/* stream: send from an untouched mapping; a child reads it */
	SHIM_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
	src = fresh_map("src", want);
	pid = fork();
	SHIM_CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {	/* echo LEN bytes back, from host memory */
		char *b = malloc(LEN);

		recv_all(sv[1], b, LEN);
		_exit(b && send(sv[1], b, LEN, 0) == LEN ? 0 : 3);
	}
	n = send(sv[0], src, LEN, 0);
	SHIM_CHECK(n == LEN, "send from a udax mapping: %zd: %s", n, strerror(errno));
	/* receive the echo into an untouched writable mapping */
	dst = fresh_map("dst", NULL);
	for (size_t done = 0; done < LEN; ) {
		n = recv(sv[0], dst + done, LEN - done, 0);
		SHIM_CHECK(n > 0, "recv into a udax mapping: %zd: %s", n, strerror(errno));
		done += (size_t)n;
	}
	{
		int status;

		SHIM_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
			   WEXITSTATUS(status) == 0, "the echoing child failed");
	}
	SHIM_CHECK(!memcmp(dst, want, LEN), "the bytes received into the mapping differ");

	/* sendmsg: a vector of a mapping and host memory; recvmsg into the
	 * other way round; MSG_PEEK first */
	SHIM_CHECK(munmap(dst, LEN) == 0, "munmap");
	dst = fresh_map("dst2", NULL);
	iov[0] = (struct iovec){ .iov_base = want, .iov_len = 1000 };
	iov[1] = (struct iovec){ .iov_base = src + 5000, .iov_len = 70000 };
	n = sendmsg(sv[0], &msg, 0);
	SHIM_CHECK(n == 71000, "sendmsg: %zd: %s", n, strerror(errno));
	n = recv(sv[1], dst, 8, MSG_PEEK);
	SHIM_CHECK(n == 8 && !memcmp(dst, want, 8), "recv MSG_PEEK into a mapping: %zd", n);
	for (size_t done = 0; done < 71000; done += (size_t)n) {
		struct iovec part[2];
		struct msghdr m = { .msg_iov = part };
		size_t host = done > 50000 ? done - 50000 : 0;

		if (done < 50000)
			part[m.msg_iovlen++] = (struct iovec){ dst + 100 + done, 50000 - done };
		part[m.msg_iovlen++] = (struct iovec){ got + host, 21000 - host };
		n = recvmsg(sv[1], &m, 0);
		SHIM_CHECK(n > 0, "recvmsg into a mapping: %zd: %s", n, strerror(errno));
	}
	SHIM_CHECK(!memcmp(dst + 100, want, 1000) && !memcmp(dst + 1100, want + 5000, 49000),
		   "recvmsg: the mapped part differs");
	SHIM_CHECK(!memcmp(got, want + 54000, 21000), "recvmsg: the host part differs");

	/* datagrams: whole, and MSG_TRUNC from the kernel */
	SHIM_CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, dg) == 0, "socketpair: %s", strerror(errno));
	n = sendto(dg[0], src + 4096 * 7, 3000, 0, NULL, 0);
	SHIM_CHECK(n == 3000, "sendto a datagram: %zd: %s", n, strerror(errno));
	n = recvfrom(dg[1], dst + 200000, 3000, 0, NULL, NULL);
	SHIM_CHECK(n == 3000 && !memcmp(dst + 200000, want + 4096 * 7, 3000),
		   "recvfrom a datagram: %zd: %s", n, strerror(errno));
	SHIM_CHECK(send(dg[0], src, 64, 0) == 64, "send: %s", strerror(errno));
	n = recv(dg[1], dst + 300, 10, MSG_TRUNC);
	SHIM_CHECK(n == 64 && !memcmp(dst + 300, want, 10),
		   "recv MSG_TRUNC: %zd (want the datagram's 64), first 10 bytes kept", n);

	/* a udax descriptor is not a socket */
	fd = open(shim_path(1, "src"), O_RDONLY);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	errno = 0;
	SHIM_CHECK(send(fd, small, sizeof(small), 0) == -1 && errno == ENOTSOCK,
		   "send on a udax descriptor: %s", strerror(errno));
	free(want);
	free(got);
	printf("PASS shim_socket_buffers\n");
	return 0;
}
