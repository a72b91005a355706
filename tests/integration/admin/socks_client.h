/* socks_client: a blocking SOCKS5 client for the admin server tests — opens CONNECT tunnels to
 * 127.0.0.1 through the proxy, with RFC 1929 credentials or offering no authentication. */
#ifndef SOCKS_CLIENT_H
#define SOCKS_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

enum socks_result {
    SOCKS_OK,
    SOCKS_IO_ERROR, /* connect failed, or the proxy closed or timed out */
    SOCKS_NO_METHOD, /* method reply 05 FF */
    SOCKS_AUTH_FAILED, /* RFC 1929 reply status not 0 */
    SOCKS_REQUEST_FAILED /* REP not 0; *reply says which */
};

const char *socks_result_name(enum socks_result result);

/* A tunnel to 127.0.0.1:target_port through the proxy at 127.0.0.1:proxy_port; user NULL offers
 * only "no authentication". Returns the socket, or -1 with *result (and *reply) saying why. */
int socks_client_connect(uint16_t proxy_port, const char *user, const char *password,
                         uint16_t target_port, enum socks_result *result, uint8_t *reply);

#endif
