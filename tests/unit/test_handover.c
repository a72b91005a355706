/* test_handover: Check suite for server/daemon/handover_message (the hand-over's messages:
 * each one formatted and parsed back, every prefix and every byte changed, bounds, garbage)
 * and handover_channel (a packet and its descriptors over a real SOCK_SEQPACKET pair). */
#include "handover_channel.h"
#include "handover_message.h"

#include <check.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static size_t format(const struct handover_message *message, char *out)
{
    return handover_message_format(message, out, HANDOVER_MESSAGE_MAX);
}

/* text parses, and formats back to the same bytes. */
static struct handover_message parse_canonical(const char *text)
{
    struct handover_message message;
    ck_assert_msg(handover_message_parse(text, strlen(text), &message), "refused: %s", text);
    char again[HANDOVER_MESSAGE_MAX];
    size_t length = format(&message, again);
    ck_assert_uint_eq(length, strlen(text));
    ck_assert(memcmp(again, text, length) == 0);
    return message;
}

static void assert_refused(const char *data, size_t length)
{
    struct handover_message message;
    ck_assert_msg(!handover_message_parse(data, length, &message), "accepted: %.*s", (int)length,
                  data);
}

START_TEST(each_message_round_trips)
{
    struct handover_message message = parse_canonical("take-over 1\n");
    ck_assert_int_eq(message.type, HANDOVER_HELLO);
    ck_assert_uint_eq(message.number, 1);
    message = parse_canonical("end 17 4242\n");
    ck_assert_int_eq(message.type, HANDOVER_END);
    ck_assert_uint_eq(message.number, 17);
    ck_assert_uint_eq(message.second, 4242);
    message = parse_canonical("started\n");
    ck_assert_int_eq(message.type, HANDOVER_STARTED);
    message = parse_canonical("stopping 0 120\n");
    ck_assert_int_eq(message.type, HANDOVER_STOPPING);
    ck_assert_uint_eq(message.number, 0);
    ck_assert_uint_eq(message.second, 120);
    message = parse_canonical("refused the running socks5d does not listen on [::1]:1080\n");
    ck_assert_int_eq(message.type, HANDOVER_REFUSED);
    ck_assert_str_eq(message.reason, "the running socks5d does not listen on [::1]:1080");
    message = parse_canonical("listeners\nsocks 127.0.0.1:1080\nsocks [::1]:1080\n"
                              "admin 127.0.0.1:8080\nupgrade /run/socks5d/up grade.sock\n");
    ck_assert_int_eq(message.type, HANDOVER_LISTENERS);
    ck_assert_uint_eq(message.listener_count, 4);
    ck_assert_int_eq(message.listeners[1].kind, HANDOVER_SOCKS);
    ck_assert_str_eq(message.listeners[1].address, "[::1]:1080");
    ck_assert_int_eq(message.listeners[2].kind, HANDOVER_ADMIN);
    ck_assert_int_eq(message.listeners[3].kind, HANDOVER_UPGRADE);
    ck_assert_str_eq(message.listeners[3].address, "/run/socks5d/up grade.sock");
}
END_TEST

static const char *const valid_messages[] = {
    "take-over 1\n",
    "end 3 99\n",
    "started\n",
    "stopping 12 5\n",
    "refused no\n",
    "listeners\nsocks 127.0.0.1:1\nadmin [::1]:2\n",
};
#define VALID_COUNT (sizeof(valid_messages) / sizeof(valid_messages[0]))

/* Every prefix is refused, but for a batch cut after a whole listener line: that is a smaller
 * batch (the channel refuses it when the descriptors that came with it are more). */
START_TEST(every_prefix_refused)
{
    const char *text = valid_messages[_i];
    bool batch = strncmp(text, "listeners\n", 10) == 0;
    for (size_t length = 0; length < strlen(text); length++) {
        if (batch && length > 10 && text[length - 1] == '\n') {
            char prefix[64];
            snprintf(prefix, sizeof(prefix), "%.*s", (int)length, text);
            struct handover_message message = parse_canonical(prefix);
            ck_assert_uint_eq(message.listener_count, 1);
            continue;
        }
        assert_refused(text, length);
    }
}
END_TEST

/* A control character or NUL anywhere but a line's end, or a '\n' added inside a field. */
START_TEST(every_byte_changed_to_a_control_refused)
{
    const char *text = valid_messages[_i];
    size_t length = strlen(text);
    const char controls[] = { '\0', '\r', '\t', 0x01, 0x7f };
    for (size_t position = 0; position + 1 < length; position++) {
        if (text[position] == '\n')
            continue;
        for (size_t c = 0; c < sizeof(controls); c++) {
            char changed[64];
            memcpy(changed, text, length);
            changed[position] = controls[c];
            assert_refused(changed, length);
        }
    }
}
END_TEST

START_TEST(trailing_bytes_refused)
{
    char text[128];
    snprintf(text, sizeof(text), "%sx", valid_messages[_i]);
    assert_refused(text, strlen(text));
    snprintf(text, sizeof(text), "%s\n", valid_messages[_i]);
    assert_refused(text, strlen(text));
}
END_TEST

START_TEST(malformed_refused)
{
    static const char *const bad[] = {
        "take-over\n", "take-over \n", "take-over 01\n", "take-over +1\n", "take-over -1\n",
        "take-over 1000000000\n", "take-over 1 2\n", "take-over  1\n", "TAKE-OVER 1\n",
        "end 1\n", "end 1 \n", "end 100001 1\n", "end 1 2 3\n", "started \n", "started x\n",
        "stopping 1\n", "stopping x 1\n", "refused\n", "refused \n", "listeners\n",
        "listeners \n", "listeners\nsocks\n", "listeners\nsocks \n", "listeners\nsock 1\n",
        "listeners\nsockss 1\n", "listeners\nprometheus 1\n", "listeners\n\n", "hello\n", "\n", "",
        "take-over 1", "started\nstarted\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], strlen(bad[i]));
}
END_TEST

START_TEST(bounds)
{
    char text[HANDOVER_MESSAGE_MAX + 64];
    /* HANDOVER_BATCH_MAX listeners, each with the longest address: accepted; one more: not. */
    char address[HANDOVER_ADDRESS_MAX + 2];
    memset(address, 'a', HANDOVER_ADDRESS_MAX);
    address[HANDOVER_ADDRESS_MAX] = '\0';
    size_t length = (size_t)snprintf(text, sizeof(text), "listeners\n");
    for (size_t i = 0; i < HANDOVER_BATCH_MAX; i++)
        length += (size_t)snprintf(text + length, sizeof(text) - length, "upgrade %s\n", address);
    ck_assert_uint_le(length, HANDOVER_MESSAGE_MAX);
    struct handover_message message = parse_canonical(text);
    ck_assert_uint_eq(message.listener_count, HANDOVER_BATCH_MAX);
    snprintf(text, sizeof(text), "listeners\n");
    length = strlen(text);
    for (size_t i = 0; i <= HANDOVER_BATCH_MAX; i++)
        length += (size_t)snprintf(text + length, sizeof(text) - length, "socks 1.2.3.4:5\n");
    assert_refused(text, length);
    /* An address one byte too long. */
    address[HANDOVER_ADDRESS_MAX] = 'a';
    address[HANDOVER_ADDRESS_MAX + 1] = '\0';
    snprintf(text, sizeof(text), "listeners\nsocks %s\n", address);
    assert_refused(text, strlen(text));
    parse_canonical("end 100000 999999999\n");
    assert_refused("end 100000 1000000000\n", strlen("end 100000 1000000000\n"));
}
END_TEST

START_TEST(unformattable_fields)
{
    char out[HANDOVER_MESSAGE_MAX];
    struct handover_message message = { .type = HANDOVER_REFUSED };
    ck_assert_uint_eq(format(&message, out), 0); /* empty reason */
    snprintf(message.reason, sizeof(message.reason), "two\nlines");
    ck_assert_uint_eq(format(&message, out), 0);
    message = (struct handover_message){ .type = HANDOVER_LISTENERS };
    ck_assert_uint_eq(format(&message, out), 0); /* no listener */
    message.listener_count = 1;
    message.listeners[0].kind = HANDOVER_KIND_COUNT;
    snprintf(message.listeners[0].address, sizeof(message.listeners[0].address), "x");
    ck_assert_uint_eq(format(&message, out), 0);
    message = (struct handover_message){ .type = HANDOVER_END, .number = HANDOVER_TOTAL_MAX + 1 };
    ck_assert_uint_eq(format(&message, out), 0);
    message = (struct handover_message){ .type = HANDOVER_STARTED };
    ck_assert_uint_eq(handover_message_format(&message, out, 8), 0); /* "started\n" + NUL */
    ck_assert_uint_eq(handover_message_format(&message, out, 9), 8);
    message.type = (enum handover_type)99;
    ck_assert_uint_eq(format(&message, out), 0);
}
END_TEST

/* Whatever comes in, a parse that succeeds formats back to the same bytes. */
START_TEST(garbage)
{
    unsigned seed = 15;
    const char alphabet[] = "take-over listeners socks admin upgrade end started stopping "
                            "refused 0123456789\n\n\n:[]./\t";
    char data[256];
    for (int round = 0; round < 200000; round++) {
        size_t length = (size_t)rand_r(&seed) % sizeof(data);
        for (size_t i = 0; i < length; i++)
            data[i] = rand_r(&seed) % 4 == 0 ? (char)rand_r(&seed)
                                             : alphabet[(size_t)rand_r(&seed) %
                                                        (sizeof(alphabet) - 1)];
        struct handover_message message;
        if (!handover_message_parse(data, length, &message))
            continue;
        char again[HANDOVER_MESSAGE_MAX];
        ck_assert_uint_eq(format(&message, again), length);
        ck_assert(memcmp(again, data, length) == 0);
    }
}
END_TEST

/* ---- the channel ---- */

static void socket_pair(int fds[2])
{
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds), 0);
}

static int tcp_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in address = { .sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&address, sizeof(address)), 0);
    ck_assert_int_eq(listen(fd, 1), 0);
    return fd;
}

static unsigned short port_of(int fd)
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    return ntohs(address.sin_port);
}

START_TEST(listeners_pass_with_their_descriptors)
{
    int pair[2];
    socket_pair(pair);
    int listeners[3] = { tcp_listener(), tcp_listener(), tcp_listener() };
    struct handover_message batch = { .type = HANDOVER_LISTENERS, .listener_count = 3 };
    for (size_t i = 0; i < 3; i++) {
        batch.listeners[i].kind = HANDOVER_SOCKS;
        snprintf(batch.listeners[i].address, sizeof(batch.listeners[i].address),
                 "127.0.0.1:%u", port_of(listeners[i]));
    }
    ck_assert(handover_send(pair[0], &batch, listeners));
    struct handover_message received;
    int fds[HANDOVER_BATCH_MAX];
    ck_assert(handover_receive(pair[1], &received, fds));
    ck_assert_uint_eq(received.listener_count, 3);
    for (size_t i = 0; i < 3; i++) {
        /* The same sockets: bound where the originals are, close-on-exec here. */
        ck_assert_uint_eq(port_of(fds[i]), port_of(listeners[i]));
        ck_assert_int_ne(fds[i], listeners[i]);
        ck_assert(fcntl(fds[i], F_GETFD) & FD_CLOEXEC);
        ck_assert_str_eq(received.listeners[i].address, batch.listeners[i].address);
        close(fds[i]);
        close(listeners[i]);
    }
    struct handover_message started = { .type = HANDOVER_STARTED };
    ck_assert(handover_send(pair[1], &started, NULL));
    ck_assert(handover_receive(pair[0], &received, fds));
    ck_assert_int_eq(received.type, HANDOVER_STARTED);
    close(pair[0]);
    ck_assert(!handover_receive(pair[1], &received, fds));
    ck_assert_int_eq(errno, 0); /* the peer's end */
    close(pair[1]);
}
END_TEST

/* A raw packet: text with count descriptors (copies of fd). */
static void send_raw(int socket_fd, const char *text, int fd, size_t count)
{
    union {
        char bytes[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof(control));
    struct iovec vector = { .iov_base = (void *)text, .iov_len = strlen(text) };
    struct msghdr header = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (count > 0) {
        header.msg_control = control.bytes;
        header.msg_controllen = CMSG_SPACE(count * sizeof(int));
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
        for (size_t i = 0; i < count; i++)
            memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
    }
    ck_assert_int_eq(sendmsg(socket_fd, &header, 0), (ssize_t)strlen(text));
}

/* How many descriptors this process has open. */
static int open_descriptors(void)
{
    int count = 0;
    for (int fd = 0; fd < 1024; fd++)
        count += fcntl(fd, F_GETFD) >= 0;
    return count;
}

START_TEST(descriptors_not_matching_the_lines_refused_and_closed)
{
    int pair[2];
    socket_pair(pair);
    int listener = tcp_listener();
    int before = open_descriptors();
    struct handover_message received;
    int fds[HANDOVER_BATCH_MAX];
    send_raw(pair[0], "listeners\nsocks 127.0.0.1:1\nsocks 127.0.0.1:2\n", listener, 1);
    ck_assert(!handover_receive(pair[1], &received, fds));
    ck_assert_int_eq(errno, EPROTO);
    send_raw(pair[0], "started\n", listener, 2);
    ck_assert(!handover_receive(pair[1], &received, fds));
    ck_assert_int_eq(errno, EPROTO);
    send_raw(pair[0], "garbage\n", listener, 3);
    ck_assert(!handover_receive(pair[1], &received, fds));
    ck_assert_int_eq(errno, EPROTO);
    ck_assert_int_eq(open_descriptors(), before);
    close(listener);
    close(pair[0]);
    close(pair[1]);
}
END_TEST

START_TEST(unformattable_message_not_sent)
{
    int pair[2];
    socket_pair(pair);
    struct handover_message refused = { .type = HANDOVER_REFUSED };
    ck_assert(!handover_send(pair[0], &refused, NULL));
    ck_assert_int_eq(errno, EINVAL);
    close(pair[0]);
    close(pair[1]);
}
END_TEST

static Suite *handover_suite(void)
{
    Suite *suite = suite_create("handover");
    TCase *message = tcase_create("message");
    tcase_add_test(message, each_message_round_trips);
    tcase_add_loop_test(message, every_prefix_refused, 0, VALID_COUNT);
    tcase_add_loop_test(message, every_byte_changed_to_a_control_refused, 0, VALID_COUNT);
    tcase_add_loop_test(message, trailing_bytes_refused, 0, VALID_COUNT);
    tcase_add_test(message, malformed_refused);
    tcase_add_test(message, bounds);
    tcase_add_test(message, unformattable_fields);
    tcase_add_test(message, garbage);
    tcase_set_timeout(message, 60);
    TCase *channel = tcase_create("channel");
    tcase_add_test(channel, listeners_pass_with_their_descriptors);
    tcase_add_test(channel, descriptors_not_matching_the_lines_refused_and_closed);
    tcase_add_test(channel, unformattable_message_not_sent);
    suite_add_tcase(suite, message);
    suite_add_tcase(suite, channel);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(handover_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
