/* test_socket: blocking loopback sockets for the admin server tests — connect with timeouts,
 * whole sends and reads, waiting for the peer to close, and the byte pattern tunnels carry. */
#ifndef TEST_SOCKET_H
#define TEST_SOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Every socket the tests open waits at most this long for a read or a write. */
#define TEST_SOCKET_TIMEOUT_MS 10000

/* A TCP connection to 127.0.0.1:port, from source (an IPv4 literal) when not NULL; close-on-exec,
 * TCP_NODELAY and both timeouts set. -1 on failure (errno kept). */
int test_socket_connect(uint16_t port, const char *source);
/* A listening socket on 127.0.0.1, any free port; *port gets it. -1 on failure. */
int test_socket_listen(uint16_t *port);
void test_socket_set_timeouts(int fd, int timeout_ms);

bool test_socket_send_all(int fd, const void *data, size_t length);
/* Reads exactly length bytes; false on EOF, error or timeout. */
bool test_socket_recv_exact(int fd, void *data, size_t length);
/* True when the peer closes (EOF or reset) before any byte arrives and before the timeout. */
bool test_socket_wait_closed(int fd);
/* Reads until EOF, counting the bytes and checking them against the pattern from offset 0;
 * -1 on error, timeout or a wrong byte. */
ssize_t test_socket_drain_pattern(int fd);

/* The bytes every tunnel test sends: position-dependent, so a lost or repeated byte shows. */
uint8_t test_pattern_byte(uint64_t position);
void test_pattern_fill(uint8_t *out, uint64_t position, size_t length);
/* Index of the first byte that differs from the pattern, or length when all match. */
size_t test_pattern_check(const uint8_t *data, uint64_t position, size_t length);

/* Milliseconds from a monotonic clock. */
int64_t test_now_ms(void);
void test_sleep_ms(int milliseconds);

#endif
