/* test_session_prelude: Check suite for the pre-greeting stage slot of server/socks — a
 * trivial test stage set on a proxy takes the bytes before the greeting, then the handshake,
 * request and CONNECT go on as without it; a stage's error closes without an answer — and for
 * the PROXY protocol's stage (session_proxy_header) on a real session. */
#include "buffer_pool.h"
#include "event_loop.h"
#include "login_throttle.h"
#include "network.h"
#include "policy.h"
#include "proxy.h"
#include "session.h"
#include "session_proxy_header.h"
#include "socks5_session.h"
#include "users.h"

#include <arpa/inet.h>
#include <check.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- the test stage: a line of printable text ending in '\n' before the greeting ---- */

static size_t prelude_bytes_taken;
static unsigned prelude_begun;
static unsigned prelude_refused;

static void line_prelude_begin(struct session *session)
{
    (void)session;
    prelude_begun++;
}

static enum socks5_parse_result line_prelude_consume(struct session *session,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed)
{
    (void)session;
    for (size_t i = 0; i < length; i++) {
        if (data[i] == '\n') {
            *consumed = i + 1;
            prelude_bytes_taken += i + 1;
            return SOCKS5_PARSE_DONE;
        }
        if (data[i] < 0x20 || data[i] > 0x7e) {
            *consumed = i;
            prelude_refused++; /* the stage counts why it refused, the slot nothing */
            return SOCKS5_PARSE_ERROR;
        }
    }
    *consumed = length;
    prelude_bytes_taken += length;
    return SOCKS5_PARSE_MORE;
}

static const struct session_prelude line_prelude = {
    .begin = line_prelude_begin,
    .consume = line_prelude_consume,
};

/* ---- one worker's proxy, as worker.c sets it up, without the pools it does not need ---- */

struct fixture {
    struct proxy proxy;
    struct proxy_shared shared;
    int client; /* the test's end of the connection */
};

static void fixture_init(struct fixture *fixture, const struct session_prelude *prelude)
{
    memset(fixture, 0, sizeof(*fixture));
    prelude_bytes_taken = 0;
    prelude_begun = 0;
    prelude_refused = 0;
    struct proxy *proxy = &fixture->proxy;
    pthread_mutex_init(&proxy->sessions_lock, NULL);
    fixture->shared.users = users_create();
    fixture->shared.throttle = login_throttle_create();
    ck_assert_ptr_nonnull(fixture->shared.users);
    ck_assert_ptr_nonnull(fixture->shared.throttle);
    proxy->shared = &fixture->shared;
    proxy->users = fixture->shared.users;
    proxy->throttle = fixture->shared.throttle;
    proxy->loop = event_loop_create();
    proxy->relay.buffers = buffer_pool_create(16384, 8);
    ck_assert_ptr_nonnull(proxy->loop);
    ck_assert_ptr_nonnull(proxy->relay.buffers);
    proxy->settings = (struct proxy_settings){
        .handshake_timeout_ms = 5000,
        .connect_timeout_ms = 5000,
        .idle_timeout_ms = 0,
        .buffer_size = 16384,
        .no_auth_allowed = true,
        .max_connections = 16,
    };
    proxy->pre_greeting = prelude;
    fixture->client = -1;
}

/* Connects a client to a new session: what the client sent before is read at once. */
static void fixture_connect(struct fixture *fixture, const void *first_bytes, size_t length)
{
    int pair[2];
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
    struct timeval timeout = {5, 0};
    setsockopt(pair[0], SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    ck_assert_int_eq(fcntl(pair[1], F_SETFL, O_NONBLOCK), 0);
    if (length > 0)
        ck_assert_int_eq(send(pair[0], first_bytes, length, 0), (ssize_t)length);
    struct sockaddr_storage peer;
    memset(&peer, 0, sizeof(peer));
    struct sockaddr_in *in4 = (struct sockaddr_in *)&peer;
    in4->sin_family = AF_INET;
    in4->sin_port = htons(40000);
    in4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fixture->client = pair[0];
    session_start(&fixture->proxy, pair[1], &peer);
}

static void fixture_destroy(struct fixture *fixture)
{
    struct proxy *proxy = &fixture->proxy;
    session_close_all(proxy);
    if (fixture->client >= 0)
        close(fixture->client);
    buffer_pool_destroy(proxy->relay.buffers);
    event_loop_destroy(proxy->loop);
    users_destroy(fixture->shared.users);
    login_throttle_destroy(fixture->shared.throttle);
    pthread_mutex_destroy(&proxy->sessions_lock);
}

static void receive_exactly(int fd, uint8_t *out, size_t length)
{
    size_t got = 0;
    while (got < length) {
        ssize_t n = recv(fd, out + got, length - got, 0);
        ck_assert_msg(n > 0, "expected %zu bytes, the connection gave %zu", length, got);
        got += (size_t)n;
    }
}

static const uint8_t greeting_no_auth[] = {0x05, 0x01, 0x00};
static const uint8_t method_no_auth[] = {0x05, 0x00};

/* ---- tests ---- */

START_TEST(prelude_takes_its_line_then_the_greeting_is_answered)
{
    struct fixture fixture;
    fixture_init(&fixture, &line_prelude);
    uint8_t first[6 + sizeof(greeting_no_auth)];
    memcpy(first, "HELLO\n", 6);
    memcpy(first + 6, greeting_no_auth, sizeof(greeting_no_auth));
    fixture_connect(&fixture, first, sizeof(first));

    uint8_t reply[2];
    receive_exactly(fixture.client, reply, sizeof(reply));
    ck_assert_mem_eq(reply, method_no_auth, 2);
    ck_assert_uint_eq(prelude_begun, 1);
    ck_assert_uint_eq(prelude_bytes_taken, 6);
    fixture_destroy(&fixture);
}
END_TEST

START_TEST(prelude_split_across_reads_then_connect_and_relay)
{
    struct fixture fixture;
    fixture_init(&fixture, &line_prelude);
    int listening = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t address_length = sizeof(address);
    ck_assert_int_eq(bind(listening, (struct sockaddr *)&address, sizeof(address)), 0);
    ck_assert_int_eq(listen(listening, 1), 0);
    ck_assert_int_eq(getsockname(listening, (struct sockaddr *)&address, &address_length), 0);

    fixture_connect(&fixture, "HEL", 3);
    ck_assert_uint_eq(prelude_bytes_taken, 3);
    ck_assert(event_loop_start_thread(fixture.proxy.loop, NULL, NULL));

    uint8_t rest[3 + sizeof(greeting_no_auth) + 10];
    memcpy(rest, "LO\n", 3);
    memcpy(rest + 3, greeting_no_auth, sizeof(greeting_no_auth));
    uint8_t *request = rest + 3 + sizeof(greeting_no_auth);
    const uint8_t connect_head[4] = {0x05, 0x01, 0x00, 0x01};
    memcpy(request, connect_head, 4);
    memcpy(request + 4, &address.sin_addr, 4);
    memcpy(request + 8, &address.sin_port, 2);
    ck_assert_int_eq(send(fixture.client, rest, sizeof(rest), 0), (ssize_t)sizeof(rest));

    uint8_t replies[2 + 10];
    receive_exactly(fixture.client, replies, sizeof(replies));
    ck_assert_mem_eq(replies, method_no_auth, 2);
    ck_assert_uint_eq(replies[2], 0x05);
    ck_assert_uint_eq(replies[3], 0x00); /* succeeded */
    ck_assert_uint_eq(prelude_bytes_taken, 6);

    struct pollfd ready = {.fd = listening, .events = POLLIN};
    ck_assert_int_eq(poll(&ready, 1, 5000), 1);
    int remote = accept(listening, NULL, NULL);
    ck_assert_int_ge(remote, 0);
    ck_assert_int_eq(send(fixture.client, "ping", 4, 0), 4);
    uint8_t relayed[4];
    struct timeval timeout = {5, 0};
    setsockopt(remote, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
    receive_exactly(remote, relayed, sizeof(relayed));
    ck_assert_mem_eq(relayed, "ping", 4);

    event_loop_join_thread(fixture.proxy.loop);
    close(remote);
    close(listening);
    fixture_destroy(&fixture);
}
END_TEST

START_TEST(prelude_error_closes_without_an_answer)
{
    struct fixture fixture;
    fixture_init(&fixture, &line_prelude);
    const uint8_t first[] = {'P', 'R', 0x01, 0x05, 0x01, 0x00};
    fixture_connect(&fixture, first, sizeof(first));
    uint8_t byte;
    ck_assert_int_eq(recv(fixture.client, &byte, 1, 0), 0); /* closed, nothing said */
    ck_assert_uint_eq(prelude_refused, 1);
    ck_assert_uint_eq(fixture.proxy.metrics.unsupported_input, 0);
    ck_assert_ptr_null(fixture.proxy.sessions);
    fixture_destroy(&fixture);
}
END_TEST

START_TEST(no_prelude_goes_straight_to_the_greeting)
{
    struct fixture fixture;
    fixture_init(&fixture, NULL);
    fixture_connect(&fixture, greeting_no_auth, sizeof(greeting_no_auth));
    uint8_t reply[2];
    receive_exactly(fixture.client, reply, sizeof(reply));
    ck_assert_mem_eq(reply, method_no_auth, 2);
    ck_assert_uint_eq(prelude_begun, 0);
    fixture_destroy(&fixture);
}
END_TEST

/* ---- the PROXY protocol stage (session_proxy_header) ---- */

/* The fixture's client is 127.0.0.1:40000; trusted names the balancers' network. */
static struct policy *trusting(struct fixture *fixture, const char *trusted)
{
    struct policy *policy = policy_create();
    ck_assert_ptr_nonnull(policy);
    char error[128];
    ck_assert(network_parse(trusted, &policy->proxy_sources[0], error, sizeof(error)));
    policy->proxy_source_count = 1;
    fixture_init(fixture, &session_proxy_header_prelude);
    fixture->proxy.settings.policy = policy;
    return policy;
}

static void expect_closed_silently(struct fixture *fixture)
{
    uint8_t byte;
    ck_assert_int_eq(recv(fixture->client, &byte, 1, 0), 0);
    ck_assert_ptr_null(fixture->proxy.sessions);
    ck_assert_uint_eq(fixture->proxy.metrics.unsupported_input, 0);
}

START_TEST(proxy_v1_header_names_the_client_then_the_greeting_is_answered)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "127.0.0.0/8");
    const char header[] = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1080\r\n";
    uint8_t first[sizeof(header) - 1 + sizeof(greeting_no_auth)];
    memcpy(first, header, sizeof(header) - 1);
    memcpy(first + sizeof(header) - 1, greeting_no_auth, sizeof(greeting_no_auth));
    fixture_connect(&fixture, first, sizeof(first));
    uint8_t reply[2];
    receive_exactly(fixture.client, reply, sizeof(reply));
    ck_assert_mem_eq(reply, method_no_auth, 2);
    struct session *session = fixture.proxy.sessions;
    ck_assert_ptr_nonnull(session);
    ck_assert_str_eq(session->record->client, "192.0.2.7:5555");
    const struct sockaddr_in *peer = (const struct sockaddr_in *)&session->setup->peer;
    ck_assert_uint_eq(peer->sin_family, AF_INET);
    ck_assert_uint_eq(ntohl(peer->sin_addr.s_addr), 0xC0000207);
    ck_assert_uint_eq(ntohs(peer->sin_port), 5555);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_headers, 1);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_v2_local_keeps_the_connection_address)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "127.0.0.1");
    const uint8_t first[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49,
                             0x54, 0x0A, 0x20, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00};
    fixture_connect(&fixture, first, sizeof(first));
    uint8_t reply[2];
    receive_exactly(fixture.client, reply, sizeof(reply));
    ck_assert_mem_eq(reply, method_no_auth, 2);
    ck_assert_str_eq(fixture.proxy.sessions->record->client, "127.0.0.1:40000");
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_headers, 1);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_trusted_source_without_a_header_is_closed)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "127.0.0.0/8");
    fixture_connect(&fixture, greeting_no_auth, sizeof(greeting_no_auth));
    expect_closed_silently(&fixture);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_missing, 1);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_malformed_header_is_closed)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "127.0.0.0/8");
    const char header[] = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 99999\r\n";
    fixture_connect(&fixture, header, sizeof(header) - 1);
    expect_closed_silently(&fixture);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_malformed, 1);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_headers, 0);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_header_from_an_untrusted_source_is_closed)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "10.0.0.0/8");
    const char header[] = "PROXY TCP4 192.0.2.7 127.0.0.1 5555 1080\r\n\x05\x01\x00";
    fixture_connect(&fixture, header, sizeof(header) - 1);
    expect_closed_silently(&fixture);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_untrusted, 1);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_untrusted_source_greets_as_usual)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "10.0.0.0/8");
    fixture_connect(&fixture, greeting_no_auth, 1); /* one byte decides */
    ck_assert_int_eq(send(fixture.client, greeting_no_auth + 1, 2, 0), 2);
    ck_assert(event_loop_start_thread(fixture.proxy.loop, NULL, NULL));
    uint8_t reply[2];
    receive_exactly(fixture.client, reply, sizeof(reply));
    ck_assert_mem_eq(reply, method_no_auth, 2);
    event_loop_join_thread(fixture.proxy.loop);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_headers, 0);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_untrusted, 0);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

START_TEST(proxy_header_cut_short_is_counted_as_truncated)
{
    struct fixture fixture;
    struct policy *policy = trusting(&fixture, "127.0.0.0/8");
    fixture_connect(&fixture, "PROXY TCP4 192.0.2.7 ", 21);
    ck_assert(event_loop_start_thread(fixture.proxy.loop, NULL, NULL));
    ck_assert_int_eq(shutdown(fixture.client, SHUT_WR), 0);
    uint8_t byte;
    ck_assert_int_eq(recv(fixture.client, &byte, 1, 0), 0);
    event_loop_join_thread(fixture.proxy.loop);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_truncated, 1);
    ck_assert_uint_eq(fixture.proxy.metrics.proxy_header_slow, 0);
    fixture_destroy(&fixture);
    policy_destroy(policy);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("session_prelude");
    TCase *slot = tcase_create("slot");
    tcase_add_test(slot, prelude_takes_its_line_then_the_greeting_is_answered);
    tcase_add_test(slot, prelude_split_across_reads_then_connect_and_relay);
    tcase_add_test(slot, prelude_error_closes_without_an_answer);
    tcase_add_test(slot, no_prelude_goes_straight_to_the_greeting);
    tcase_set_timeout(slot, 30);
    suite_add_tcase(suite, slot);
    TCase *proxy = tcase_create("proxy_header");
    tcase_add_test(proxy, proxy_v1_header_names_the_client_then_the_greeting_is_answered);
    tcase_add_test(proxy, proxy_v2_local_keeps_the_connection_address);
    tcase_add_test(proxy, proxy_trusted_source_without_a_header_is_closed);
    tcase_add_test(proxy, proxy_malformed_header_is_closed);
    tcase_add_test(proxy, proxy_header_from_an_untrusted_source_is_closed);
    tcase_add_test(proxy, proxy_untrusted_source_greets_as_usual);
    tcase_add_test(proxy, proxy_header_cut_short_is_counted_as_truncated);
    tcase_set_timeout(proxy, 30);
    suite_add_tcase(suite, proxy);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
