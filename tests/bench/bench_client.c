/* bench_client: opens one tunnel — non-blocking connect, then the SOCKS5 greeting, RFC 1929
 * auth and CONNECT step by step or pipelined in one write (or nothing, for direct runs). */
#include "bench_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define SOCKS_VERSION 5
#define METHOD_NONE 0x00
#define METHOD_USERPASS 0x02
#define AUTH_VERSION 1
#define MAX_SEGMENTS 4
#define PROXY_V2_TCP4_LENGTH 28

/* One write of the handshake, followed by the answer the client then waits for. */
struct plan_segment {
    uint8_t *bytes;
    size_t len;
    enum client_state then; /* CLIENT_READING_* or CLIENT_READY */
};

struct client_plan {
    struct sockaddr_storage connect_to;
    socklen_t connect_len;
    char connect_text[64]; /* "127.0.0.1:1080" for messages */
    bool direct;
    bool auth;
    uint8_t method;
    struct plan_segment segments[MAX_SEGMENTS];
    unsigned segment_count;
    /* PROXY header + greeting + auth + request, contiguous for pipelining */
    uint8_t storage[PROXY_V2_TCP4_LENGTH + 3 + 513 + 262];
    uint8_t *early;
    size_t early_len;
    uint8_t *pipelined; /* storage + early in one buffer */
};

/* What a balancer's send-proxy-v2 sends: client 198.18.0.1:4000 (a benchmarking network)
 * connected to the balancer's 127.0.0.1:1080. */
static size_t build_proxy_header(uint8_t *out)
{
    const uint16_t proxy_port = 1080;
    static const uint8_t head[16] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51,
                                     0x55, 0x49, 0x54, 0x0A, 0x21, 0x11, 0x00, 12};
    const uint8_t addresses[12] = {198, 18, 0, 1, 127, 0, 0, 1, 4000 >> 8, 4000 & 0xFF,
                                   (uint8_t)(proxy_port >> 8), (uint8_t)proxy_port};
    memcpy(out, head, sizeof(head));
    memcpy(out + sizeof(head), addresses, sizeof(addresses));
    return PROXY_V2_TCP4_LENGTH;
}

static size_t build_greeting(uint8_t *out, uint8_t method)
{
    out[0] = SOCKS_VERSION;
    out[1] = 1;
    out[2] = method;
    return 3;
}

static size_t build_auth(uint8_t *out, const char *user, const char *pass)
{
    size_t user_len = strlen(user);
    size_t pass_len = strlen(pass);
    out[0] = AUTH_VERSION;
    out[1] = (uint8_t)user_len;
    memcpy(out + 2, user, user_len);
    out[2 + user_len] = (uint8_t)pass_len;
    memcpy(out + 3 + user_len, pass, pass_len);
    return 3 + user_len + pass_len;
}

static size_t build_request(uint8_t *out, const char *domain, uint16_t port)
{
    size_t len = 0;
    out[len++] = SOCKS_VERSION;
    out[len++] = 0x01; /* CONNECT */
    out[len++] = 0x00;
    if (domain != NULL) {
        size_t name_len = strlen(domain);
        out[len++] = 0x03;
        out[len++] = (uint8_t)name_len;
        memcpy(out + len, domain, name_len);
        len += name_len;
    } else {
        out[len++] = 0x01;
        uint32_t loopback = htonl(INADDR_LOOPBACK);
        memcpy(out + len, &loopback, 4);
        len += 4;
    }
    out[len++] = (uint8_t)(port >> 8);
    out[len++] = (uint8_t)port;
    return len;
}

static void plan_add(struct client_plan *plan, uint8_t *bytes, size_t len, enum client_state then)
{
    plan->segments[plan->segment_count++] = (struct plan_segment){bytes, len, then};
}

static int plan_copy_early(struct client_plan *plan, const struct client_plan_config *config)
{
    if (config->early_len == 0)
        return 0;
    plan->early = malloc(config->early_len);
    if (plan->early == NULL)
        return -1;
    memcpy(plan->early, config->early, config->early_len);
    plan->early_len = config->early_len;
    return 0;
}

static void plan_direct(struct client_plan *plan, const struct client_plan_config *config)
{
    struct sockaddr_in *target = (struct sockaddr_in *)&plan->connect_to;
    target->sin_family = AF_INET;
    target->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    target->sin_port = htons(config->target_port);
    plan->connect_len = sizeof(*target);
    plan->direct = true;
    if (plan->early_len > 0)
        plan_add(plan, plan->early, plan->early_len, CLIENT_READY);
}

static int plan_socks(struct client_plan *plan, const struct client_plan_config *config)
{
    memcpy(&plan->connect_to, config->proxy, config->proxy_len);
    plan->connect_len = config->proxy_len;
    plan->auth = config->user != NULL;
    plan->method = plan->auth ? METHOD_USERPASS : METHOD_NONE;
    size_t header_len = config->proxy_header ? build_proxy_header(plan->storage) : 0;
    uint8_t *greeting = plan->storage + header_len;
    size_t greeting_len = build_greeting(greeting, plan->method);
    uint8_t *auth = greeting + greeting_len;
    size_t auth_len = plan->auth ? build_auth(auth, config->user, config->pass) : 0;
    uint8_t *request = auth + auth_len;
    size_t request_len = build_request(request, config->domain, config->target_port);
    size_t handshake_len = header_len + greeting_len + auth_len + request_len;

    if (config->pipelined) {
        plan->pipelined = malloc(handshake_len + plan->early_len);
        if (plan->pipelined == NULL)
            return -1;
        memcpy(plan->pipelined, plan->storage, handshake_len);
        if (plan->early_len > 0)
            memcpy(plan->pipelined + handshake_len, plan->early, plan->early_len);
        plan_add(plan, plan->pipelined, handshake_len + plan->early_len, CLIENT_READING_METHOD);
        return 0;
    }
    plan_add(plan, plan->storage, header_len + greeting_len, CLIENT_READING_METHOD);
    if (plan->auth)
        plan_add(plan, auth, auth_len, CLIENT_READING_AUTH);
    plan_add(plan, request, request_len, CLIENT_READING_REPLY);
    if (plan->early_len > 0)
        plan_add(plan, plan->early, plan->early_len, CLIENT_READY);
    return 0;
}

static void plan_describe_address(struct client_plan *plan)
{
    char host[INET6_ADDRSTRLEN] = "?";
    uint16_t port = 0;
    if (plan->connect_to.ss_family == AF_INET6) {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&plan->connect_to;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        port = ntohs(v6->sin6_port);
        snprintf(plan->connect_text, sizeof(plan->connect_text), "[%s]:%u", host, port);
        return;
    }
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&plan->connect_to;
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
    port = ntohs(v4->sin_port);
    snprintf(plan->connect_text, sizeof(plan->connect_text), "%s:%u", host, port);
}

struct client_plan *client_plan_new(const struct client_plan_config *config)
{
    struct client_plan *plan = calloc(1, sizeof(*plan));
    if (plan == NULL)
        return NULL;
    if (plan_copy_early(plan, config) != 0) {
        free(plan);
        return NULL;
    }
    if (config->proxy == NULL) {
        plan_direct(plan, config);
    } else if (plan_socks(plan, config) != 0) {
        client_plan_free(plan);
        return NULL;
    }
    plan_describe_address(plan);
    return plan;
}

void client_plan_free(struct client_plan *plan)
{
    if (plan == NULL)
        return;
    free(plan->early);
    free(plan->pipelined);
    free(plan);
}

const char *client_state_name(enum client_state state)
{
    switch (state) {
    case CLIENT_IDLE:
        return "idle";
    case CLIENT_CONNECTING:
        return "connect";
    case CLIENT_WRITING:
        return "handshake write";
    case CLIENT_READING_METHOD:
        return "method selection";
    case CLIENT_READING_AUTH:
        return "authentication";
    case CLIENT_READING_REPLY:
        return "CONNECT reply";
    case CLIENT_READY:
        return "tunnel";
    }
    return "?";
}

static void client_fail(struct bench_client *client, enum client_failure kind, const char *why)
{
    loop_close(&client->watch);
    client->state = CLIENT_IDLE;
    client->on_failure(client, kind, why);
}

static void client_fail_errno(struct bench_client *client, int error)
{
    char why[160];
    if (client->state == CLIENT_CONNECTING)
        snprintf(why, sizeof(why), "cannot connect to %s: %s", client->plan->connect_text,
                 strerror(error));
    else
        snprintf(why, sizeof(why), "%s: %s", client_state_name(client->state), strerror(error));
    bool refused = error == ECONNREFUSED && client->state == CLIENT_CONNECTING;
    client_fail(client, refused ? CLIENT_FAILURE_REFUSED : CLIENT_FAILURE_BROKEN, why);
}

static void client_become_ready(struct bench_client *client)
{
    client->state = CLIENT_READY;
    size_t extra_len = client->in_len;
    client->in_len = 0;
    client->on_ready(client, client->in, extra_len);
}

static const char *reply_meaning(uint8_t code)
{
    static const char *const meanings[] = {
        "succeeded", "general failure", "not allowed by ruleset", "network unreachable",
        "host unreachable", "connection refused", "TTL expired", "command not supported",
        "address type not supported",
    };
    return code < sizeof(meanings) / sizeof(meanings[0]) ? meanings[code] : "unknown code";
}

/* Consumes one answer from in[]. Returns the bytes used, 0 if incomplete, -1 after failing. */
static long client_parse_answer(struct bench_client *client)
{
    const uint8_t *in = client->in;
    char why[160];
    switch (client->state) {
    case CLIENT_READING_METHOD:
        if (client->in_len < 2)
            return 0;
        if (in[0] != SOCKS_VERSION || in[1] != client->plan->method) {
            snprintf(why, sizeof(why), "proxy refused method 0x%02x (answered %02x %02x)",
                     client->plan->method, in[0], in[1]);
            client_fail(client, CLIENT_FAILURE_REFUSED, why);
            return -1;
        }
        return 2;
    case CLIENT_READING_AUTH:
        if (client->in_len < 2)
            return 0;
        if (in[0] != AUTH_VERSION || in[1] != 0) {
            snprintf(why, sizeof(why), "proxy refused the username/password (answered %02x %02x)",
                     in[0], in[1]);
            client_fail(client, CLIENT_FAILURE_REFUSED, why);
            return -1;
        }
        return 2;
    case CLIENT_READING_REPLY: {
        /* A refusal may come short and be followed by a close: judge REP as soon as it is in. */
        bool refused = client->in_len >= 2 && (in[0] != SOCKS_VERSION || in[1] != 0);
        if (!refused && client->in_len < 5)
            return 0;
        size_t need = 0;
        if (!refused)
            need = in[3] == 0x01 ? 10 : in[3] == 0x04 ? 22 : in[3] == 0x03 ? 7u + in[4] : 0;
        if (refused || need == 0) {
            if (refused)
                snprintf(why, sizeof(why), "proxy refused CONNECT: REP 0x%02x (%s)", in[1],
                         reply_meaning(in[1]));
            else
                snprintf(why, sizeof(why), "CONNECT reply with unknown ATYP 0x%02x", in[3]);
            client_fail(client, CLIENT_FAILURE_REFUSED, why);
            return -1;
        }
        return client->in_len < need ? 0 : (long)need;
    }
    default:
        return 0;
    }
}

/* After the pipelined write the answers come one after the other: method, auth, reply. */
static enum client_state next_reading_state(const struct bench_client *client)
{
    if (client->state == CLIENT_READING_METHOD && client->plan->auth)
        return CLIENT_READING_AUTH;
    if (client->state != CLIENT_READING_REPLY)
        return CLIENT_READING_REPLY;
    return CLIENT_READY;
}

static void client_write_step(struct bench_client *client);

/* Parses what is buffered; returns true when the client wants to read more. */
static bool client_consume_answers(struct bench_client *client)
{
    for (;;) {
        long used = client_parse_answer(client);
        if (used < 0)
            return false;
        if (used == 0)
            return true;
        client->in_len -= (size_t)used;
        memmove(client->in, client->in + used, client->in_len);
        if (client->plan->pipelined != NULL) {
            client->state = next_reading_state(client);
            if (client->state == CLIENT_READY) {
                client_become_ready(client);
                return false;
            }
            continue;
        }
        client->step++;
        client->out_off = 0;
        client_write_step(client);
        return false;
    }
}

static void client_read_step(struct bench_client *client, uint32_t events)
{
    for (;;) {
        ssize_t got = recv(client->watch.fd, client->in + client->in_len,
                           sizeof(client->in) - client->in_len, 0);
        if (got == 0) {
            char why[160];
            snprintf(why, sizeof(why), "proxy closed the connection during %s",
                     client_state_name(client->state));
            client_fail(client, client->state == CLIENT_READING_METHOD ? CLIENT_FAILURE_REFUSED
                                                                     : CLIENT_FAILURE_BROKEN,
                        why);
            return;
        }
        if (got < 0) {
            if (errno != EAGAIN)
                client_fail_errno(client, errno);
            return;
        }
        size_t room = sizeof(client->in) - client->in_len;
        client->in_len += (size_t)got;
        if (!client_consume_answers(client))
            return;
        if ((size_t)got < room && loop_short_read_is_dry(events))
            return;
    }
}

/* Writes the current segment; when it is out, waits for its answer (or hands over). */
static void client_write_step(struct bench_client *client)
{
    const struct client_plan *plan = client->plan;
    if (client->step >= plan->segment_count) {
        client_become_ready(client);
        return;
    }
    const struct plan_segment *segment = &plan->segments[client->step];
    client->state = CLIENT_WRITING;
    while (client->out_off < segment->len) {
        ssize_t sent = send(client->watch.fd, segment->bytes + client->out_off,
                            segment->len - client->out_off, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno != EAGAIN)
                client_fail_errno(client, errno);
            return;
        }
        client->out_off += (size_t)sent;
    }
    client->state = segment->then;
    if (client->state == CLIENT_READY) {
        client_become_ready(client);
        return;
    }
    /* The answer may already be buffered (a fast proxy on the other CPU, or pipelined data
     * behind an earlier answer): parse before waiting for an edge that will not come. */
    if (client->in_len > 0 && !client_consume_answers(client))
        return;
}

static void client_on_event(struct bench_watch *watch, uint32_t events)
{
    struct bench_client *client = (struct bench_client *)watch;
    switch (client->state) {
    case CLIENT_CONNECTING: {
        if (events & (EPOLLERR | EPOLLHUP)) {
            int error = 0;
            socklen_t length = sizeof(error);
            getsockopt(watch->fd, SOL_SOCKET, SO_ERROR, &error, &length);
            client_fail_errno(client, error != 0 ? error : ECONNRESET);
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        client_write_step(client);
        return;
    }
    case CLIENT_WRITING:
        client_write_step(client);
        return;
    case CLIENT_READING_METHOD:
    case CLIENT_READING_AUTH:
    case CLIENT_READING_REPLY:
        client_read_step(client, events);
        return;
    case CLIENT_IDLE:
    case CLIENT_READY:
        return;
    }
}

void client_open(struct bench_client *client, struct bench_loop *loop,
                 const struct client_plan *plan)
{
    client->plan = plan;
    client->loop = loop;
    client->step = 0;
    client->out_off = 0;
    client->in_len = 0;
    client->watch.on_event = client_on_event;
    client->state = CLIENT_CONNECTING;
    client->started_ns = bench_now_ns();
    client->watch.fd = socket(plan->connect_to.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (client->watch.fd < 0) {
        client->watch.closed = true;
        client_fail_errno(client, errno);
        return;
    }
    if (connect(client->watch.fd, (const struct sockaddr *)&plan->connect_to, plan->connect_len) != 0 &&
        errno != EINPROGRESS) {
        client_fail_errno(client, errno);
        return;
    }
    if (loop_add(loop, &client->watch) != 0) {
        client_fail_errno(client, errno);
        return;
    }
    /* The first EPOLLOUT edge says the connection is up; loop_add reports it if it already is. */
}
