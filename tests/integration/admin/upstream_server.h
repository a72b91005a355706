/* upstream_server: the destination the tests tunnel to — a threaded loopback TCP server that
 * echoes, or takes an exact number of pattern bytes and answers with an exact number. */
#ifndef UPSTREAM_SERVER_H
#define UPSTREAM_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum upstream_mode {
    UPSTREAM_ECHO, /* sends back what it reads until the client closes */
    UPSTREAM_EXCHANGE, /* reads up_bytes of pattern, sends down_bytes of pattern, closes */
};

struct upstream_server;

struct upstream_server *upstream_server_start(enum upstream_mode mode, size_t up_bytes,
                                              size_t down_bytes);
uint16_t upstream_server_port(const struct upstream_server *server);
/* Connections accepted so far. */
size_t upstream_server_accepted(struct upstream_server *server);
/* False once a connection sent bytes that broke the pattern or ended short (exchange mode). */
bool upstream_server_ok(struct upstream_server *server);
/* Closes every connection and joins every thread. */
void upstream_server_stop(struct upstream_server *server);
/* Stops every server still running: the teardown after a failed test. */
void upstream_server_stop_all(void);

#endif
