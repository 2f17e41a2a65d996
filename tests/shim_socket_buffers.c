// SPDX-License-Identifier: MIT
/*
 * shim_socket_buffers: under `udax run`, send, sendto, sendmsg, recv,
 * recvfrom and recvmsg with buffers in udax mappings whose pages were
 * never touched (the kernel cannot fault them in: EFAULT before) move the
 * bytes exactly: a stream and a datagram socket pair, a vector mixing a
 * mapping and host memory, MSG_PEEK, and the kernel's own answers (a
 * truncated datagram's MSG_TRUNC, ENOTSOCK on a udax descriptor). Calls
 * the kernel would refuse are refused with nothing taken from the socket
 * (a receive into a read-only mapping or past the end of the file, a bad
 * pointer beside a udax part: EFAULT, where the shim's copy crashed); a
 * length far past the mapping takes what is queued; a sender's address
 * and an SCM_RIGHTS descriptor received into a mapping arrive; a udax
 * descriptor is not passed (EOPNOTSUPP). read, readv and writev on a pipe
 * refuse as the kernel does too.
 * Exit 0 pass, 1 fail.
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "shim_lib.h"

#define LEN (256u << 10)

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

	/* before any udax mapping: a bad vector is the kernel's EFAULT (the
	 * shim read it and crashed) */
	{
		int pp[2];
		struct iovec *volatile bad_iov = (struct iovec *)8;	/* hidden from gcc */
		struct msghdr *volatile bad_msg = (struct msghdr *)8;

		SHIM_CHECK(pipe(pp) == 0, "pipe");
		errno = 0;
		SHIM_CHECK(readv(pp[0], bad_iov, 1) == -1 && errno == EFAULT,
			   "readv of a bad vector: %s (want EFAULT)", strerror(errno));
		errno = 0;
		SHIM_CHECK(sendmsg(pp[1], bad_msg, 0) == -1,
			   "sendmsg of a bad message did not fail");
		close(pp[0]);
		close(pp[1]);
	}

	/* stream: send from an untouched mapping; a child reads it */
	SHIM_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
	src = shim_fresh_map("src", want, LEN, PROT_READ | PROT_WRITE);
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
	dst = shim_fresh_map("dst", NULL, LEN, PROT_READ | PROT_WRITE);
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
	dst = shim_fresh_map("dst2", NULL, LEN, PROT_READ | PROT_WRITE);
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

	/* refused as the kernel refuses them, with nothing taken from the
	 * socket: a receive into a read-only mapping, or past the end of the
	 * file; a bad pointer beside a udax part */
	{
		int ro = open(shim_path(1, "src"), O_RDONLY), tiny;
		char *r = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0), *past;
		struct iovec bad[2] = { { src, 10 }, { (void *)4096, 10 } };
		struct msghdr m = { .msg_iov = bad, .msg_iovlen = 2 };

		SHIM_CHECK(r != MAP_FAILED, "mmap read-only: %s", strerror(errno));
		SHIM_CHECK(send(sv[0], "hello, twenty bytes", 20, 0) == 20, "send: %s",
			   strerror(errno));	/* more than the udax part of bad[] */
		errno = 0;
		SHIM_CHECK(recv(sv[1], r, 100, MSG_DONTWAIT) == -1 && errno == EFAULT,
			   "recv into a read-only mapping: %s (want EFAULT)", strerror(errno));
		tiny = open(shim_path(1, "tiny"), O_RDWR | O_CREAT | O_TRUNC, 0644);
		SHIM_CHECK(tiny >= 0 && ftruncate(tiny, 4096) == 0, "tiny: %s", strerror(errno));
		past = mmap(NULL, 16384, PROT_READ | PROT_WRITE, MAP_SHARED, tiny, 0);
		SHIM_CHECK(past != MAP_FAILED, "mmap past the end: %s", strerror(errno));
		errno = 0;
		SHIM_CHECK(recv(sv[1], past + 8192, 100, MSG_DONTWAIT) == -1 && errno == EFAULT,
			   "recv past the end of the file: %s (want EFAULT)", strerror(errno));
		errno = 0;
		SHIM_CHECK(sendmsg(sv[1], &m, MSG_DONTWAIT) == -1 && errno == EFAULT,
			   "sendmsg with a bad part: %s (want EFAULT)", strerror(errno));
		bad[0].iov_base = dst;
		errno = 0;
		SHIM_CHECK(recvmsg(sv[1], &m, MSG_DONTWAIT) == -1 && errno == EFAULT,
			   "recvmsg with a bad part: %s (want EFAULT)", strerror(errno));
		SHIM_CHECK(recv(sv[1], small, sizeof(small), MSG_WAITALL) == sizeof(small) &&
			   !memcmp(small, "hello, twenty bytes", sizeof(small)) &&
			   recv(sv[1], small, sizeof(small), 0) == 20 - (ssize_t)sizeof(small),
			   "the refused calls took bytes");
		/* a length far past the mapping: what is queued comes */
		SHIM_CHECK(send(sv[0], want, 3000, 0) == 3000, "send: %s", strerror(errno));
		n = recv(sv[1], past, (size_t)1 << 40, MSG_DONTWAIT);
		SHIM_CHECK(n == 3000 && !memcmp(past, want, 3000), "recv of 2^40 bytes: %zd: %s", n,
			   strerror(errno));
		/* the same through read, readv and writev on a pipe */
		{
			int pp[2];
			struct iovec two[2] = { { dst, 10 }, { (void *)4096, 10 } };

			SHIM_CHECK(pipe(pp) == 0 && write(pp[1], "hello, twenty bytes", 20) == 20,
				   "pipe: %s", strerror(errno));
			errno = 0;
			SHIM_CHECK(read(pp[0], r, 100) == -1 && errno == EFAULT,
				   "read into a read-only mapping: %s (want EFAULT)", strerror(errno));
			errno = 0;
			SHIM_CHECK(readv(pp[0], two, 2) == -1 && errno == EFAULT,
				   "readv with a bad part: %s (want EFAULT)", strerror(errno));
			errno = 0;
			SHIM_CHECK(writev(pp[1], two, 2) == -1 && errno == EFAULT,
				   "writev with a bad part: %s (want EFAULT)", strerror(errno));
			SHIM_CHECK(read(pp[0], small, sizeof(small)) == sizeof(small) &&
				   !memcmp(small, "hello, twenty bytes", sizeof(small)),
				   "the refused calls took bytes from the pipe");
			close(pp[0]);
			close(pp[1]);
		}
		munmap(past, 16384);
		munmap(r, 4096);
		close(tiny);
		close(ro);
	}

	/* the address and control buffers in a mapping: a sender's name, and
	 * a descriptor passed with SCM_RIGHTS */
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX }, b = a, *got_name;
		socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 12, glen;
		char *ctl_map = dst + 600000 % LEN, ctl[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec one = { small, 1 };
		struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1, .msg_control = ctl,
				    .msg_controllen = sizeof(ctl) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		int u1 = socket(AF_UNIX, SOCK_DGRAM, 0), u2 = socket(AF_UNIX, SOCK_DGRAM, 0);
		int pfd[2], passed;

		snprintf(a.sun_path + 1, 11, "udaxA%05u", (unsigned)(shim_seed % 100000));
		snprintf(b.sun_path + 1, 11, "udaxB%05u", (unsigned)(shim_seed % 100000));
		SHIM_CHECK(u1 >= 0 && u2 >= 0 && bind(u1, (void *)&a, alen) == 0 &&
			   bind(u2, (void *)&b, alen) == 0, "bind: %s", strerror(errno));
		SHIM_CHECK(sendto(u1, "x", 1, 0, (void *)&b, alen) == 1, "sendto: %s",
			   strerror(errno));
		got_name = (struct sockaddr_un *)(dst + 123456);
		glen = sizeof(*got_name);
		SHIM_CHECK(recvfrom(u2, small, 1, MSG_DONTWAIT, (void *)got_name, &glen) == 1,
			   "recvfrom with the address in a mapping: %s", strerror(errno));
		SHIM_CHECK(glen == alen && !memcmp(got_name->sun_path, a.sun_path, 11),
			   "the sender's address did not arrive");
		SHIM_CHECK(pipe(pfd) == 0, "pipe");
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pfd[1], sizeof(int));
		SHIM_CHECK(sendmsg(sv[0], &m, 0) == 1, "sendmsg SCM_RIGHTS: %s", strerror(errno));
		m.msg_control = ctl_map;
		m.msg_controllen = sizeof(ctl);
		SHIM_CHECK(recvmsg(sv[1], &m, 0) == 1, "recvmsg: %s", strerror(errno));
		c = CMSG_FIRSTHDR(&m);
		SHIM_CHECK(c && !(m.msg_flags & MSG_CTRUNC) && c->cmsg_type == SCM_RIGHTS,
			   "the control message in a mapping was lost (flags 0x%x)", m.msg_flags);
		memcpy(&passed, CMSG_DATA(c), sizeof(int));
		SHIM_CHECK(write(passed, "y", 1) == 1 && read(pfd[0], small, 1) == 1 &&
			   small[0] == 'y', "the descriptor passed does not work");
		/* a udax descriptor cannot be passed */
		fd = open(shim_path(1, "src"), O_RDONLY);
		m.msg_control = ctl;
		c = CMSG_FIRSTHDR(&m);
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
		errno = 0;
		SHIM_CHECK(sendmsg(sv[0], &m, 0) == -1 && errno == EOPNOTSUPP,
			   "SCM_RIGHTS of a udax descriptor: %s (want EOPNOTSUPP)", strerror(errno));
		close(fd);
		close(passed);
		close(pfd[0]);
		close(pfd[1]);
		close(u1);
		close(u2);
	}

	/* a udax descriptor is not a socket */
	fd = open(shim_path(1, "src"), O_RDONLY);
	SHIM_CHECK(fd >= 0, "open: %s", strerror(errno));
	errno = 0;
	SHIM_CHECK(send(fd, small, sizeof(small), 0) == -1 && errno == ENOTSOCK,
		   "send on a udax descriptor: %s", strerror(errno));
	{
		int v;
		socklen_t vl = sizeof(v);

		errno = 0;
		SHIM_CHECK(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &vl) == -1 && errno == ENOTSOCK,
			   "getsockopt on a udax descriptor: %s", strerror(errno));
	}
	free(want);
	free(got);
	printf("PASS shim_socket_buffers\n");
	return 0;
}
