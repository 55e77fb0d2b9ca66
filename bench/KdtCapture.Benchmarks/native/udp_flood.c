/* The sender of bench part 6 (taps): sends COUNT UDP datagrams of SIZE bytes to 127.0.0.1:PORT
 * as fast as one thread can, on a connected socket, to a receiving socket it binds itself (so no
 * ICMP port-unreachable replies join the traffic) and never reads (its tiny buffer overflows: the
 * kernel drops the datagrams after the loopback device and every tap has seen them).
 * Prints one line: sent failed seconds user_cpu_s system_cpu_s. Built by the benchmark with cc. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

static double seconds(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static char payload[65507];
	if (argc != 4) {
		fprintf(stderr, "usage: udp_flood PORT COUNT SIZE\n");
		return 2;
	}
	int port = atoi(argv[1]), size = atoi(argv[3]);
	long count = atol(argv[2]);
	if (port <= 0 || port > 65535 || count <= 0 || size < 8 || size > (int)sizeof payload) {
		fprintf(stderr, "udp_flood: bad arguments\n");
		return 2;
	}
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int rx = socket(AF_INET, SOCK_DGRAM, 0), tx = socket(AF_INET, SOCK_DGRAM, 0), small = 4096;
	if (rx < 0 || tx < 0 || setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) < 0 ||
	    bind(rx, (struct sockaddr *)&to, sizeof to) < 0 || connect(tx, (struct sockaddr *)&to, sizeof to) < 0) {
		perror("udp_flood");
		return 1;
	}
	memset(payload, 0x5a, sizeof payload);
	long failed = 0;
	double start = seconds();
	for (long i = 0; i < count; i++) {
		memcpy(payload, &i, sizeof i); /* a sequence number, so that every datagram differs */
		if (send(tx, payload, size, 0) < 0)
			failed++;
	}
	double elapsed = seconds() - start;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("%ld %ld %.6f %.6f %.6f\n", count - failed, failed, elapsed,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
