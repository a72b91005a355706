/* admin_client: a tiny blocking admin protocol v2 client for the tests, on the protocol library:
 * connect, log in, send requests (whole, raw, or byte by byte) and read whole responses. */
#ifndef ADMIN_CLIENT_H
#define ADMIN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_commands.h"
#include "admin_protocol.h"

struct admin_client;

/* A response: status and body (NUL-terminated, never NULL once read; free it). */
struct admin_reply {
    uint8_t status;
    uint32_t length;
    char *body;
};

/* Connects to 127.0.0.1:port, from source (an IPv4 loopback literal) when not NULL. */
struct admin_client *admin_client_connect(uint16_t port, const char *source);
/* Connects and logs in; NULL unless the login reply is 0x00 (then *role is set if not NULL). */
struct admin_client *admin_client_session(uint16_t port, const char *user, const char *password,
                                          uint8_t *role);
void admin_client_close(struct admin_client *client);
/* Closes every client still open: the teardown after a failed test. */
void admin_client_close_all(void);
int admin_client_fd(const struct admin_client *client);
/* What the last failing call of this module ran into. */
const char *admin_client_error(void);

bool admin_client_send_raw(struct admin_client *client, const void *data, size_t length);
/* One send per byte, with a short pause between them, so the server reads them one by one. */
bool admin_client_send_bytewise(struct admin_client *client, const void *data, size_t length);

bool admin_client_send_login(struct admin_client *client, const char *user, const char *password);
bool admin_client_read_login_reply(struct admin_client *client, struct admin_login_reply *reply);
bool admin_client_login(struct admin_client *client, const char *user, const char *password,
                        struct admin_login_reply *reply);

bool admin_client_send_request(struct admin_client *client, const struct admin_request *request);
bool admin_client_read_reply(struct admin_client *client, struct admin_reply *reply);
/* Sends request and reads its response. */
bool admin_client_call(struct admin_client *client, const struct admin_request *request,
                       struct admin_reply *reply);
void admin_reply_free(struct admin_reply *reply);

/* True when the server closes the connection (EOF or reset) with no byte left unread. */
bool admin_client_wait_closed(struct admin_client *client);

#endif
