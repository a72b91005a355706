/* admin_client: a tiny blocking admin protocol v2 client for the tests, on the protocol library:
 * connect, log in, send requests (whole, raw, or byte by byte) and read whole responses. */
#include "admin_client.h"

#include "test_socket.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BYTEWISE_PAUSE_MS 1

struct admin_client {
    int fd;
    uint8_t input[4096];
    size_t input_start;
    size_t input_end;
    struct admin_client *previous;
    struct admin_client *next;
};

static struct admin_client *clients;
static char error_text[512];

static bool fail(const char *format, ...) __attribute__((format(printf, 1, 2)));
static bool fail(const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error_text, sizeof(error_text), format, arguments);
    va_end(arguments);
    return false;
}

const char *admin_client_error(void)
{
    return error_text;
}

struct admin_client *admin_client_connect(uint16_t port, const char *source)
{
    int fd = test_socket_connect(port, source);
    if (fd < 0) {
        fail("connect to admin port %u: %s", port, strerror(errno));
        return NULL;
    }
    struct admin_client *client = calloc(1, sizeof(*client));
    if (client == NULL) {
        close(fd);
        fail("out of memory");
        return NULL;
    }
    client->fd = fd;
    client->next = clients;
    if (clients != NULL)
        clients->previous = client;
    clients = client;
    return client;
}

struct admin_client *admin_client_session(uint16_t port, const char *user, const char *password,
                                          uint8_t *role)
{
    struct admin_client *client = admin_client_connect(port, NULL);
    if (client == NULL)
        return NULL;
    struct admin_login_reply reply;
    if (!admin_client_login(client, user, password, &reply)) {
        admin_client_close(client);
        return NULL;
    }
    if (reply.status != ADMIN_STATUS_OK) {
        fail("login as %s: status 0x%02x (%s)", user, reply.status,
             admin_status_name(reply.status));
        admin_client_close(client);
        return NULL;
    }
    if (role != NULL)
        *role = reply.role;
    return client;
}

void admin_client_close(struct admin_client *client)
{
    if (client == NULL)
        return;
    if (client->previous != NULL)
        client->previous->next = client->next;
    else
        clients = client->next;
    if (client->next != NULL)
        client->next->previous = client->previous;
    close(client->fd);
    free(client);
}

void admin_client_close_all(void)
{
    while (clients != NULL)
        admin_client_close(clients);
}

int admin_client_fd(const struct admin_client *client)
{
    return client->fd;
}

bool admin_client_send_raw(struct admin_client *client, const void *data, size_t length)
{
    if (!test_socket_send_all(client->fd, data, length))
        return fail("send: %s", strerror(errno));
    return true;
}

bool admin_client_send_bytewise(struct admin_client *client, const void *data, size_t length)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < length; i++) {
        if (!admin_client_send_raw(client, bytes + i, 1))
            return false;
        test_sleep_ms(BYTEWISE_PAUSE_MS);
    }
    return true;
}

/* Makes sure unread input is buffered: false on EOF, error or timeout. */
static bool client_fill(struct admin_client *client)
{
    if (client->input_start < client->input_end)
        return true;
    client->input_start = client->input_end = 0;
    for (;;) {
        ssize_t received = recv(client->fd, client->input, sizeof(client->input), 0);
        if (received > 0) {
            client->input_end = (size_t)received;
            return true;
        }
        if (received == 0)
            return fail("the server closed the connection");
        if (errno != EINTR)
            return fail("recv: %s", errno == EAGAIN ? "timed out" : strerror(errno));
    }
}

bool admin_client_send_login(struct admin_client *client, const char *user, const char *password)
{
    uint8_t frame[ADMIN_LOGIN_REQUEST_MAX];
    size_t length =
        admin_login_request_encode(frame, user, strlen(user), password, strlen(password));
    if (length == 0)
        return fail("cannot encode a login for '%s'", user);
    return admin_client_send_raw(client, frame, length);
}

bool admin_client_read_login_reply(struct admin_client *client, struct admin_login_reply *reply)
{
    struct admin_login_reply_decoder decoder;
    admin_login_reply_decoder_init(&decoder);
    for (;;) {
        if (!client_fill(client))
            return false;
        size_t consumed = 0;
        enum admin_decode_result result =
            admin_login_reply_decoder_feed(&decoder, client->input + client->input_start,
                                           client->input_end - client->input_start, &consumed);
        client->input_start += consumed;
        if (result == ADMIN_DECODE_ERROR)
            return fail("bad login reply: %s", admin_decode_error_text(decoder.error));
        if (result == ADMIN_DECODE_DONE) {
            *reply = decoder.reply;
            return true;
        }
    }
}

bool admin_client_login(struct admin_client *client, const char *user, const char *password,
                        struct admin_login_reply *reply)
{
    return admin_client_send_login(client, user, password) &&
           admin_client_read_login_reply(client, reply);
}

bool admin_client_send_request(struct admin_client *client, const struct admin_request *request)
{
    uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
    size_t length = admin_request_encode(request, frame, sizeof(frame));
    if (length == 0)
        return fail("cannot encode command 0x%02x", request->command);
    return admin_client_send_raw(client, frame, length);
}

bool admin_client_read_reply(struct admin_client *client, struct admin_reply *reply)
{
    struct admin_response_decoder decoder;
    admin_response_decoder_init(&decoder);
    char *body = NULL;
    for (;;) {
        if (!client_fill(client)) {
            free(body);
            return false;
        }
        size_t consumed = 0;
        enum admin_decode_result result =
            admin_response_decoder_feed(&decoder, client->input + client->input_start,
                                        client->input_end - client->input_start, &consumed);
        client->input_start += consumed;
        if (result == ADMIN_DECODE_ERROR) {
            free(body);
            return fail("bad response frame: %s", admin_decode_error_text(decoder.error));
        }
        if (result == ADMIN_DECODE_HEADER) {
            body = malloc((size_t)decoder.body_length + 1);
            if (body == NULL)
                return fail("out of memory for a %u-byte body", decoder.body_length);
            admin_response_decoder_set_body(&decoder, (uint8_t *)body);
        }
        if (result == ADMIN_DECODE_DONE) {
            if (body == NULL && (body = malloc(1)) == NULL)
                return fail("out of memory");
            body[decoder.body_length] = '\0';
            *reply = (struct admin_reply){ decoder.status, decoder.body_length, body };
            return true;
        }
    }
}

bool admin_client_call(struct admin_client *client, const struct admin_request *request,
                       struct admin_reply *reply)
{
    return admin_client_send_request(client, request) && admin_client_read_reply(client, reply);
}

void admin_reply_free(struct admin_reply *reply)
{
    free(reply->body);
    reply->body = NULL;
}

bool admin_client_wait_closed(struct admin_client *client)
{
    if (client->input_start < client->input_end)
        return fail("%zu unexpected bytes before the close",
                    client->input_end - client->input_start);
    if (!test_socket_wait_closed(client->fd))
        return fail("the server did not close the connection (%s)",
                    errno == EAGAIN ? "timed out" : "data arrived");
    return true;
}
