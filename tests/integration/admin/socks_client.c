/* socks_client: a blocking SOCKS5 client for the admin server tests — opens CONNECT tunnels to
 * 127.0.0.1 through the proxy, with RFC 1929 credentials or offering no authentication. */
#include "socks_client.h"

#include "test_socket.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

const char *socks_result_name(enum socks_result result)
{
    switch (result) {
    case SOCKS_OK: return "ok";
    case SOCKS_IO_ERROR: return "I/O error";
    case SOCKS_NO_METHOD: return "no acceptable method";
    case SOCKS_AUTH_FAILED: return "authentication failed";
    case SOCKS_REQUEST_FAILED: return "request failed";
    }
    return "?";
}

static enum socks_result socks_handshake(int fd, const char *user, const char *password,
                                         uint16_t target_port, uint8_t *reply)
{
    uint8_t greeting[3] = { 0x05, 0x01, user != NULL ? 0x02 : 0x00 };
    uint8_t answer[10];
    if (!test_socket_send_all(fd, greeting, sizeof(greeting)) ||
        !test_socket_recv_exact(fd, answer, 2))
        return SOCKS_IO_ERROR;
    if (answer[1] != greeting[2])
        return SOCKS_NO_METHOD;
    if (user != NULL) {
        uint8_t auth[3 + 2 * 255];
        size_t user_length = strlen(user), password_length = strlen(password), at = 0;
        auth[at++] = 0x01;
        auth[at++] = (uint8_t)user_length;
        memcpy(auth + at, user, user_length);
        at += user_length;
        auth[at++] = (uint8_t)password_length;
        memcpy(auth + at, password, password_length);
        at += password_length;
        if (!test_socket_send_all(fd, auth, at) || !test_socket_recv_exact(fd, answer, 2))
            return SOCKS_IO_ERROR;
        if (answer[1] != 0x00)
            return SOCKS_AUTH_FAILED;
    }
    uint8_t request[10] = {
        0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, (uint8_t)(target_port >> 8), (uint8_t)target_port
    };
    if (!test_socket_send_all(fd, request, sizeof(request)) ||
        !test_socket_recv_exact(fd, answer, 4))
        return SOCKS_IO_ERROR;
    *reply = answer[1];
    if (answer[1] != 0x00)
        return SOCKS_REQUEST_FAILED;
    /* The bound address: IPv4 here, as the target is 127.0.0.1. */
    if (answer[3] != 0x01 || !test_socket_recv_exact(fd, answer + 4, 6))
        return SOCKS_IO_ERROR;
    return SOCKS_OK;
}

int socks_client_connect(uint16_t proxy_port, const char *user, const char *password,
                         uint16_t target_port, enum socks_result *result, uint8_t *reply)
{
    uint8_t ignored;
    *(reply != NULL ? reply : &ignored) = 0;
    int fd = test_socket_connect(proxy_port, NULL);
    if (fd < 0) {
        *result = SOCKS_IO_ERROR;
        return -1;
    }
    *result = socks_handshake(fd, user, password, target_port, reply != NULL ? reply : &ignored);
    if (*result != SOCKS_OK) {
        close(fd);
        return -1;
    }
    return fd;
}
