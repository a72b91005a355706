/* test_socket: blocking loopback sockets for the admin server tests — connect with timeouts,
 * whole sends and reads, waiting for the peer to close, and the byte pattern tunnels carry. */
#include "test_socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

void test_socket_set_timeouts(int fd, int timeout_ms)
{
    struct timeval timeout = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
}

static struct sockaddr_in loopback(const char *address, uint16_t port)
{
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, address, &in.sin_addr);
    return in;
}

int test_socket_connect(uint16_t port, const char *source)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    test_socket_set_timeouts(fd, TEST_SOCKET_TIMEOUT_MS);
    int on = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
    if (source != NULL) {
        struct sockaddr_in local = loopback(source, 0);
        if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
    }
    struct sockaddr_in remote = loopback("127.0.0.1", port);
    if (connect(fd, (struct sockaddr *)&remote, sizeof(remote)) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int test_socket_listen(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = loopback("127.0.0.1", 0);
    socklen_t length = sizeof(address);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(fd, 128) < 0 ||
        getsockname(fd, (struct sockaddr *)&address, &length) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(address.sin_port);
    return fd;
}

bool test_socket_send_all(int fd, const void *data, size_t length)
{
    const uint8_t *bytes = data;
    while (length > 0) {
        ssize_t sent = send(fd, bytes, length, MSG_NOSIGNAL);
        if (sent < 0 && errno == EINTR)
            continue;
        if (sent <= 0)
            return false;
        bytes += sent;
        length -= (size_t)sent;
    }
    return true;
}

bool test_socket_recv_exact(int fd, void *data, size_t length)
{
    uint8_t *bytes = data;
    while (length > 0) {
        ssize_t received = recv(fd, bytes, length, 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received <= 0)
            return false;
        bytes += received;
        length -= (size_t)received;
    }
    return true;
}

bool test_socket_wait_closed(int fd)
{
    uint8_t byte;
    for (;;) {
        ssize_t received = recv(fd, &byte, 1, 0);
        if (received == 0)
            return true;
        if (received > 0)
            return false;
        if (errno == EINTR)
            continue;
        return errno == ECONNRESET || errno == EPIPE;
    }
}

ssize_t test_socket_drain_pattern(int fd)
{
    uint8_t buffer[16384];
    uint64_t position = 0;
    for (;;) {
        ssize_t received = recv(fd, buffer, sizeof(buffer), 0);
        if (received < 0 && errno == EINTR)
            continue;
        if (received < 0)
            return -1;
        if (received == 0)
            return (ssize_t)position;
        if (test_pattern_check(buffer, position, (size_t)received) != (size_t)received)
            return -1;
        position += (uint64_t)received;
    }
}

uint8_t test_pattern_byte(uint64_t position)
{
    /* 251 is prime: the pattern does not line up with any buffer size. */
    return (uint8_t)((position * 7 + position / 251) % 251);
}

void test_pattern_fill(uint8_t *out, uint64_t position, size_t length)
{
    for (size_t i = 0; i < length; i++)
        out[i] = test_pattern_byte(position + i);
}

size_t test_pattern_check(const uint8_t *data, uint64_t position, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        if (data[i] != test_pattern_byte(position + i))
            return i;
    }
    return length;
}

int64_t test_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

void test_sleep_ms(int milliseconds)
{
    struct timespec pause = { .tv_sec = milliseconds / 1000,
                              .tv_nsec = (long)(milliseconds % 1000) * 1000000 };
    while (nanosleep(&pause, &pause) < 0 && errno == EINTR) {
    }
}
