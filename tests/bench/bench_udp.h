/* bench_udp: the UDP scenario — associations opened with UDP ASSOCIATE, each keeping one datagram
 * in flight to a UDP echo served here: datagrams/s and round trips, via the proxy and direct. */
#ifndef BENCH_UDP_H
#define BENCH_UDP_H

struct bench_context;

/* 64- and 1,200-byte payloads, 1 and 100 associations, in rounds. Returns 0, or -1 if a
 * section failed (already in the report: a proxy without UDP says so there). */
int udp_run(const struct bench_context *context);

#endif
