/* bench_upstream: the destination servers the tunnels reach — echo, echo-once (echoes one
 * message, then closes), source (sends the byte count asked for, or until the client
 * half-closes) and sink (swallows a byte count, then acknowledges) — on loopback. */
#ifndef BENCH_UPSTREAM_H
#define BENCH_UPSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct bench_loop;
struct bench_upstream;

enum upstream_kind {
    UPSTREAM_ECHO,
    UPSTREAM_ECHO_ONCE,
    UPSTREAM_SOURCE,
    UPSTREAM_SINK,
    UPSTREAM_KINDS,
};

/* Source and sink requests start with this big-endian byte count; the sink answers with the
 * same 8-byte count once it has swallowed that many bytes. Either closes, without more, on
 * the client's end-of-stream. */
#define UPSTREAM_HEADER_SIZE 8

/* Listens on 127.0.0.1 (and on ::1 at the same port when IPv6 is there, so that a proxy which
 * resolves "localhost" to ::1 still arrives) for each kind. echo_once_size is the message the
 * echo-once server returns before closing. NULL on failure, errno set. */
struct bench_upstream *upstream_start(struct bench_loop *loop, size_t echo_once_size);
void upstream_free(struct bench_upstream *upstream);
/* Closes every accepted connection from this side: the upstream closing first leaves TIME_WAIT
 * on its listening port rather than on anybody's ephemeral ports. */
void upstream_close_all(struct bench_upstream *upstream);

uint16_t upstream_port(const struct bench_upstream *upstream, enum upstream_kind kind);
/* Accepted connections still open. */
size_t upstream_live(const struct bench_upstream *upstream);
/* accept() failures so far (EMFILE when the descriptor limit is too low for hold). */
uint64_t upstream_accept_errors(const struct bench_upstream *upstream);

void upstream_header_encode(uint8_t header[UPSTREAM_HEADER_SIZE], uint64_t count);
uint64_t upstream_header_decode(const uint8_t header[UPSTREAM_HEADER_SIZE]);

#endif
