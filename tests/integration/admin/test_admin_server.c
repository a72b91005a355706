/* test_admin_server: the admin protocol v2 server of socks5d over real TCP, driven through the
 * protocol library — every command and status, roles, persistence, paging, metrics, load. */
#include <arpa/inet.h>
#include <check.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "admin_protocol.h"
#include "admin_text.h"
#include "child_process.h"
#include "server_process.h"
#include "socks_client.h"
#include "test_socket.h"
#include "upstream_server.h"

/* ---- Users every test starts with (passwords must never reach the server's log) ---- */

#define ROOT "root"
#define ROOT_PASSWORD "r00t-Adm1n-Secret"
#define BOB "bob"
#define BOB_PASSWORD "b0b-Regular-Secret"
#define DAVE "dave"
#define DAVE_PASSWORD "d4ve-Regular-Secret"
#define EVE "eve"
#define EVE_PASSWORD "3ve-Adm1n-Secret"
#define CAROL "carol"
#define CAROL_PASSWORD "c4rol-Curl-Secret"
#define NEW_PASSWORD "n3w-Changed-Secret"
#define OTHER_PASSWORD "0ther-Changed-Secret"

static const char *const secrets[] = { ROOT_PASSWORD,  BOB_PASSWORD,        DAVE_PASSWORD,
                                       EVE_PASSWORD,   CAROL_PASSWORD,      NEW_PASSWORD,
                                       OTHER_PASSWORD, "m4ny-Users-Secret", NULL };

#define ARG_ROOT "-a", ROOT ":" ROOT_PASSWORD
#define ARG_EVE "-a", EVE ":" EVE_PASSWORD
#define ARG_BOB "-u", BOB ":" BOB_PASSWORD
#define ARG_DAVE "-u", DAVE ":" DAVE_PASSWORD
#define ARG_CAROL "-u", CAROL ":" CAROL_PASSWORD

#define WAIT_MS 10000 /* how long a test waits for something the server does on its own */

/* ---- Fixture: a private directory; whatever a failed test left running is stopped ---- */

static char test_directory[256];

/* Memory a failing assertion would strand (it jumps out of the test): freed in teardown. */
#define TRACKED_MAX 64
static void *tracked[TRACKED_MAX];

static void track(void *pointer)
{
    for (size_t i = 0; pointer != NULL && i < TRACKED_MAX; i++) {
        if (tracked[i] == NULL) {
            tracked[i] = pointer;
            return;
        }
    }
}

static void untrack(void *pointer)
{
    for (size_t i = 0; pointer != NULL && i < TRACKED_MAX; i++) {
        if (tracked[i] == pointer)
            tracked[i] = NULL;
    }
}

static void free_tracked(void)
{
    for (size_t i = 0; i < TRACKED_MAX; i++) {
        free(tracked[i]);
        tracked[i] = NULL;
    }
}

static void reply_free(struct admin_reply *reply)
{
    untrack(reply->body);
    admin_reply_free(reply);
}

/* The client calls, with the body tracked until reply_free. */
static bool read_reply(struct admin_client *client, struct admin_reply *reply)
{
    if (!admin_client_read_reply(client, reply))
        return false;
    track(reply->body);
    return true;
}

static bool call_raw(struct admin_client *client, const struct admin_request *request,
                     struct admin_reply *reply)
{
    return admin_client_send_request(client, request) && read_reply(client, reply);
}

/* Why a client call failed, and whether the server died meanwhile. */
static const char *why(void)
{
    static char text[8192];
    snprintf(text, sizeof(text), "%s%s", admin_client_error(), server_process_crash_report());
    return text;
}

static int remove_entry(const char *path, const struct stat *info, int type, struct FTW *walk)
{
    (void)info;
    (void)type;
    (void)walk;
    return remove(path);
}

static void setup(void)
{
    snprintf(test_directory, sizeof(test_directory), "/tmp/socks5d-admin-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(test_directory));
}

static void teardown(void)
{
    admin_client_close_all();
    free_tracked();
    upstream_server_stop_all();
    server_process_kill_all();
    child_kill_all();
    nftw(test_directory, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- Server processes ---- */

static struct server_process *start_server(const char *const args[])
{
    struct server_process *server = server_process_start(test_directory, args);
    ck_assert_msg(server != NULL, "%s", server_process_error());
    return server;
}

static void stop_server(struct server_process *server)
{
    ck_assert_msg(server_process_stop(server, secrets), "%s", server_process_error());
}

/* ---- Requests ---- */

static struct admin_request request_of(uint8_t command)
{
    struct admin_request request;
    admin_request_init(&request, command);
    return request;
}

static void set_str8(struct admin_str8 *field, const char *text)
{
    ck_assert(admin_str8_set(field, text));
}

/* user-metrics, remove-user and close-user-connections: one str8 user. */
static struct admin_request request_user(uint8_t command, const char *user)
{
    struct admin_request request = request_of(command);
    if (command == ADMIN_CMD_USER_METRICS)
        set_str8(&request.args.user_metrics.user, user);
    else if (command == ADMIN_CMD_REMOVE_USER)
        set_str8(&request.args.remove_user.user, user);
    else
        set_str8(&request.args.close_user_connections.user, user);
    return request;
}

static struct admin_request request_connections(const char *user, uint8_t which, uint32_t offset,
                                                uint32_t limit)
{
    struct admin_request request = request_of(ADMIN_CMD_CONNECTIONS);
    set_str8(&request.args.connections.user, user);
    request.args.connections.which = which;
    request.args.connections.offset = offset;
    request.args.connections.limit = limit;
    return request;
}

static struct admin_request request_add_user(const char *user, const char *password, uint8_t role)
{
    struct admin_request request = request_of(ADMIN_CMD_ADD_USER);
    set_str8(&request.args.add_user.user, user);
    set_str8(&request.args.add_user.password, password);
    request.args.add_user.role = role;
    return request;
}

static struct admin_request request_set_role(const char *user, uint8_t role)
{
    struct admin_request request = request_of(ADMIN_CMD_SET_ROLE);
    set_str8(&request.args.set_role.user, user);
    request.args.set_role.role = role;
    return request;
}

static struct admin_request request_set_password(const char *user, const char *password)
{
    struct admin_request request = request_of(ADMIN_CMD_SET_PASSWORD);
    set_str8(&request.args.set_password.user, user);
    set_str8(&request.args.set_password.password, password);
    return request;
}

static struct admin_request request_set_no_auth(uint8_t allowed)
{
    struct admin_request request = request_of(ADMIN_CMD_SET_NO_AUTH);
    request.args.set_no_auth.allowed = allowed;
    return request;
}

static struct admin_request request_set_buffer_size(uint32_t size)
{
    struct admin_request request = request_of(ADMIN_CMD_SET_BUFFER_SIZE);
    request.args.set_buffer_size.size = size;
    return request;
}

static struct admin_request request_close_connection(uint64_t id)
{
    struct admin_request request = request_of(ADMIN_CMD_CLOSE_CONNECTION);
    request.args.close_connection.id = id;
    return request;
}

/* ---- Calls: the macros record the caller's line, so a failure names the test's line ---- */

static int call_line;

static struct admin_reply call(struct admin_client *client, struct admin_request request)
{
    struct admin_reply reply;
    ck_assert_msg(call_raw(client, &request, &reply), "line %d: %s: %s", call_line,
                  admin_command_name(request.command), why());
    return reply;
}

static struct admin_reply call_ok(struct admin_client *client, struct admin_request request)
{
    struct admin_reply reply = call(client, request);
    ck_assert_msg(reply.status == ADMIN_STATUS_OK, "line %d: %s answered 0x%02x: %s", call_line,
                  admin_command_name(request.command), reply.status, reply.body);
    return reply;
}

/* PROTOCOL.md 8.5: an error body is one line ending in LF, at most 512 bytes. */
static void check_error_body(const struct admin_reply *reply, const char *what)
{
    ck_assert_msg(reply->length >= 2 && reply->length <= ADMIN_ERROR_BODY_MAX &&
                      reply->body[reply->length - 1] == '\n' &&
                      strchr(reply->body, '\n') == reply->body + reply->length - 1,
                  "line %d: %s: the error body is not one line: '%s'", call_line, what,
                  reply->body);
}

static void call_expect(struct admin_client *client, struct admin_request request, uint8_t status)
{
    struct admin_reply reply = call(client, request);
    ck_assert_msg(reply.status == status,
                  "line %d: %s answered 0x%02x (%s), expected 0x%02x (%s): %s", call_line,
                  admin_command_name(request.command), reply.status,
                  admin_status_name(reply.status), status, admin_status_name(status), reply.body);
    if (status != ADMIN_STATUS_OK)
        check_error_body(&reply, admin_command_name(request.command));
    reply_free(&reply);
}

#define CALL(client, request) (call_line = __LINE__, call((client), (request)))
#define CALL_OK(client, request) (call_line = __LINE__, call_ok((client), (request)))
#define EXPECT(client, request, status) \
    (call_line = __LINE__, call_expect((client), (request), (status)))

static void expect_ok(struct admin_client *client, struct admin_request request)
{
    struct admin_reply reply = call_ok(client, request);
    reply_free(&reply);
}
#define EXPECT_OK(client, request) (call_line = __LINE__, expect_ok((client), (request)))

/* A raw frame whose answer must be status, after which the server closes. */
static void expect_final_error(struct admin_client *client, const void *frame, size_t length,
                               uint8_t status)
{
    struct admin_reply reply;
    ck_assert_msg(admin_client_send_raw(client, frame, length), "line %d: %s", call_line, why());
    ck_assert_msg(read_reply(client, &reply), "line %d: no response: %s", call_line, why());
    ck_assert_msg(reply.status == status, "line %d: status 0x%02x, expected 0x%02x: %s", call_line,
                  reply.status, status, reply.body);
    check_error_body(&reply, "framing error");
    reply_free(&reply);
    ck_assert_msg(admin_client_wait_closed(client), "line %d: %s", call_line, why());
}
#define EXPECT_FINAL_ERROR(client, frame, length, status) \
    (call_line = __LINE__, expect_final_error((client), (frame), (length), (status)))

static struct admin_client *open_session(uint16_t port, const char *user, const char *password,
                                         uint8_t role)
{
    uint8_t got = 0xff;
    struct admin_client *client = admin_client_session(port, user, password, &got);
    ck_assert_msg(client != NULL, "line %d: %s", call_line, why());
    ck_assert_msg(got == role, "line %d: %s logged in with role 0x%02x, expected 0x%02x", call_line,
                  user, got, role);
    return client;
}
#define OPEN_SESSION(port, user, password, role) \
    (call_line = __LINE__, open_session((port), (user), (password), (role)))

/* A login that must fail with status; the server then closes. */
static void expect_login(uint16_t port, const char *source, const char *user, const char *password,
                         uint8_t status)
{
    struct admin_client *client = admin_client_connect(port, source);
    ck_assert_msg(client != NULL, "line %d: %s", call_line, why());
    struct admin_login_reply reply;
    ck_assert_msg(admin_client_login(client, user, password, &reply), "line %d: login as %s: %s",
                  call_line, user, why());
    ck_assert_msg(reply.status == status && reply.role == 0,
                  "line %d: login as %s answered status 0x%02x role 0x%02x, expected 0x%02x role 0",
                  call_line, user, reply.status, reply.role, status);
    ck_assert_msg(admin_client_wait_closed(client), "line %d: after a failed login: %s", call_line,
                  why());
    admin_client_close(client);
}
#define EXPECT_LOGIN_FAILS(port, user, password, status) \
    (call_line = __LINE__, expect_login((port), NULL, (user), (password), (status)))

/* ---- Bodies ---- */

static uint64_t record_u64(const struct admin_reply *reply, const char *key)
{
    uint64_t value = 0;
    ck_assert_msg(admin_record_get_u64(reply->body, reply->length, key, &value),
                  "line %d: no u64 '%s' in:\n%s", call_line, key, reply->body);
    return value;
}

static void record_text(const struct admin_reply *reply, const char *key, char *out,
                        size_t capacity)
{
    ck_assert_msg(admin_record_get_text(reply->body, reply->length, key, out, capacity),
                  "line %d: no '%s' in:\n%s", call_line, key, reply->body);
}

/* One key of a record command's answer. */
static uint64_t fetch_u64(struct admin_client *client, struct admin_request request,
                          const char *key)
{
    struct admin_reply reply = call_ok(client, request);
    uint64_t value = record_u64(&reply, key);
    reply_free(&reply);
    return value;
}
#define FETCH_U64(client, request, key) \
    (call_line = __LINE__, fetch_u64((client), (request), (key)))

static void fetch_text(struct admin_client *client, struct admin_request request, const char *key,
                       char *out, size_t capacity)
{
    struct admin_reply reply = call_ok(client, request);
    record_text(&reply, key, out, capacity);
    reply_free(&reply);
}
#define FETCH_TEXT(client, request, key, out) \
    (call_line = __LINE__, fetch_text((client), (request), (key), (out), sizeof(out)))

static void span_text(struct admin_span span, char *out, size_t capacity)
{
    ck_assert_msg(admin_text_unescape(span, out, capacity) < capacity, "line %d: field too long",
                  call_line);
}

static uint64_t span_u64(struct admin_span span, const char *column)
{
    uint64_t value = 0;
    ck_assert_msg(admin_span_to_u64(span, &value), "line %d: column %s is not a number: '%.*s'",
                  call_line, column, (int)span.length, span.data);
    return value;
}

struct connection_row {
    uint64_t id;
    char state[16];
    char user[256];
    char client[64];
    char destination[600];
    char destination_address[64];
    uint64_t bytes_up;
    uint64_t bytes_down;
    char status[8];
};

struct connection_page {
    uint64_t total;
    uint64_t offset;
    size_t count;
    struct connection_row *rows;
};

static void parse_connection_row(const struct admin_row *row, const long columns[],
                                 struct connection_row *out)
{
    struct admin_span field[ADMIN_CONNECTIONS_COLUMN_COUNT];
    for (size_t i = 0; i < ADMIN_CONNECTIONS_COLUMN_COUNT; i++)
        ck_assert_msg(admin_row_field(row, (size_t)columns[i], &field[i]),
                      "line %d: short row '%.*s'", call_line, (int)row->line.length,
                      row->line.data);
    int64_t started;
    ck_assert_msg(admin_span_to_time(field[2], &started), "line %d: bad started time", call_line);
    out->id = span_u64(field[0], "id");
    span_text(field[1], out->state, sizeof(out->state));
    span_text(field[3], out->user, sizeof(out->user));
    span_text(field[4], out->client, sizeof(out->client));
    span_text(field[5], out->destination, sizeof(out->destination));
    span_text(field[6], out->destination_address, sizeof(out->destination_address));
    out->bytes_up = span_u64(field[7], "bytes_up");
    out->bytes_down = span_u64(field[8], "bytes_down");
    span_text(field[9], out->status, sizeof(out->status));
    span_u64(field[10], "duration_ms");
    ck_assert_msg(strcmp(out->state, "live") == 0 || strcmp(out->state, "closed") == 0,
                  "line %d: state '%s'", call_line, out->state);
}

static struct connection_page list_connections(struct admin_client *client, const char *user,
                                               uint8_t which, uint32_t offset, uint32_t limit)
{
    struct admin_reply reply = call_ok(client, request_connections(user, which, offset, limit));
    struct connection_page page = { .total = record_u64(&reply, ADMIN_KEY_TOTAL),
                                    .offset = record_u64(&reply, ADMIN_KEY_OFFSET) };
    struct admin_table table;
    ck_assert_msg(admin_table_open(&table, reply.body, reply.length), "line %d: no table in:\n%s",
                  call_line, reply.body);
    long columns[ADMIN_CONNECTIONS_COLUMN_COUNT];
    for (size_t i = 0; i < ADMIN_CONNECTIONS_COLUMN_COUNT; i++) {
        columns[i] = admin_table_column(&table, admin_connections_columns[i]);
        ck_assert_msg(columns[i] >= 0, "line %d: no column %s", call_line,
                      admin_connections_columns[i]);
    }
    struct admin_row row;
    size_t capacity = 0;
    while (admin_table_next_row(&table, &row)) {
        ck_assert_msg(admin_row_field_count(&row) == table.column_count,
                      "line %d: row with %zu fields under %zu columns", call_line,
                      admin_row_field_count(&row), table.column_count);
        if (page.count == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            untrack(page.rows);
            page.rows = realloc(page.rows, capacity * sizeof(*page.rows));
            ck_assert_ptr_nonnull(page.rows);
            track(page.rows);
        }
        parse_connection_row(&row, columns, &page.rows[page.count++]);
    }
    reply_free(&reply);
    for (size_t i = 1; i < page.count; i++)
        ck_assert_msg(page.rows[i - 1].id < page.rows[i].id,
                      "line %d: ids not ascending: %llu, %llu", call_line,
                      (unsigned long long)page.rows[i - 1].id, (unsigned long long)page.rows[i].id);
    return page;
}
#define LIST_CONNECTIONS(client, user, which, offset, limit) \
    (call_line = __LINE__, list_connections((client), (user), (which), (offset), (limit)))

static void page_free(struct connection_page *page)
{
    untrack(page->rows);
    free(page->rows);
    page->rows = NULL;
}

static size_t page_count_state(const struct connection_page *page, const char *state)
{
    size_t count = 0;
    for (size_t i = 0; i < page->count; i++)
        count += strcmp(page->rows[i].state, state) == 0;
    return count;
}

static const struct connection_row *page_find_client(const struct connection_page *page,
                                                     const char *client)
{
    for (size_t i = 0; i < page->count; i++) {
        if (strcmp(page->rows[i].client, client) == 0)
            return &page->rows[i];
    }
    return NULL;
}

struct user_row {
    char role[16];
    uint64_t connections_live;
    uint64_t connections_total;
    uint64_t bytes_up;
    uint64_t bytes_down;
};

#define USERS_LISTED_MAX 32

static char users_order_sent[1024]; /* the names as the server listed them */

static int compare_names(const void *left, const void *right)
{
    return strcmp((const char *)left, (const char *)right);
}

/* The users table: its total; the names, sorted here (comma-separated), so that a test's
 * other checks do not depend on the order; whether the server itself sent them in bytewise
 * order (PROTOCOL.md 7.7), which test_users_table_order checks; and one user's row. */
static uint64_t list_users(struct admin_client *client, char *names, size_t names_capacity,
                           const char *wanted, struct user_row *wanted_row, bool *found,
                           bool *ordered)
{
    struct admin_reply reply = call_ok(client, request_of(ADMIN_CMD_USERS));
    uint64_t total = record_u64(&reply, ADMIN_KEY_TOTAL);
    struct admin_table table;
    ck_assert_msg(admin_table_open(&table, reply.body, reply.length), "line %d: no table",
                  call_line);
    long columns[ADMIN_USERS_COLUMN_COUNT];
    for (size_t i = 0; i < ADMIN_USERS_COLUMN_COUNT; i++) {
        columns[i] = admin_table_column(&table, admin_users_columns[i]);
        ck_assert_msg(columns[i] >= 0, "line %d: no column %s", call_line, admin_users_columns[i]);
    }
    static char listed[USERS_LISTED_MAX][256];
    size_t rows = 0;
    *found = false;
    *ordered = true;
    struct admin_row row;
    while (admin_table_next_row(&table, &row)) {
        ck_assert_msg(rows < USERS_LISTED_MAX, "line %d: too many users", call_line);
        struct admin_span field[ADMIN_USERS_COLUMN_COUNT];
        for (size_t i = 0; i < ADMIN_USERS_COLUMN_COUNT; i++)
            ck_assert(admin_row_field(&row, (size_t)columns[i], &field[i]));
        char *name = listed[rows];
        span_text(field[0], name, sizeof(listed[rows]));
        if (rows > 0 && strcmp(listed[rows - 1], name) >= 0)
            *ordered = false;
        if (wanted != NULL && strcmp(name, wanted) == 0) {
            *found = true;
            span_text(field[1], wanted_row->role, sizeof(wanted_row->role));
            wanted_row->connections_live = span_u64(field[2], "connections_live");
            wanted_row->connections_total = span_u64(field[3], "connections_total");
            wanted_row->bytes_up = span_u64(field[4], "bytes_up");
            wanted_row->bytes_down = span_u64(field[5], "bytes_down");
        }
        rows++;
    }
    reply_free(&reply);
    ck_assert_msg(rows == total, "line %d: users total %llu but %zu rows", call_line,
                  (unsigned long long)total, rows);
    users_order_sent[0] = '\0';
    for (size_t i = 0; i < rows; i++) {
        strncat(users_order_sent, i > 0 ? "," : "",
                sizeof(users_order_sent) - strlen(users_order_sent) - 1);
        strncat(users_order_sent, listed[i],
                sizeof(users_order_sent) - strlen(users_order_sent) - 1);
    }
    qsort(listed, rows, sizeof(listed[0]), compare_names);
    names[0] = '\0';
    for (size_t i = 0; i < rows; i++) {
        if (i > 0)
            strncat(names, ",", names_capacity - strlen(names) - 1);
        strncat(names, listed[i], names_capacity - strlen(names) - 1);
    }
    return total;
}
static bool users_ordered; /* set by LIST_USERS; checked only where the order is the point */
#define LIST_USERS(client, names, wanted, row, found) \
    (call_line = __LINE__,                            \
     list_users((client), (names), sizeof(names), (wanted), (row), (found), &users_ordered))

/* Polls user-metrics until the user's live connections reach count. */
static void wait_live(struct admin_client *client, const char *user, uint64_t count)
{
    int64_t deadline = test_now_ms() + WAIT_MS;
    uint64_t live;
    while ((live = fetch_u64(client, request_user(ADMIN_CMD_USER_METRICS, user),
                             ADMIN_KEY_CONNECTIONS_LIVE)) != count) {
        ck_assert_msg(test_now_ms() < deadline,
                      "line %d: %s still has %llu live connections, not %llu", call_line, user,
                      (unsigned long long)live, (unsigned long long)count);
        test_sleep_ms(10);
    }
}
#define WAIT_LIVE(client, user, count) (call_line = __LINE__, wait_live((client), (user), (count)))

/* ---- Tunnels ---- */

static int open_tunnel(uint16_t socks_port, const char *user, const char *password,
                       uint16_t target_port)
{
    enum socks_result result;
    uint8_t reply;
    int fd = socks_client_connect(socks_port, user, password, target_port, &result, &reply);
    ck_assert_msg(fd >= 0, "line %d: tunnel as %s: %s (REP %u)", call_line,
                  user != NULL ? user : "(no auth)", socks_result_name(result), reply);
    return fd;
}
#define OPEN_TUNNEL(port, user, password, target) \
    (call_line = __LINE__, open_tunnel((port), (user), (password), (target)))

static enum socks_result tunnel_result(uint16_t socks_port, const char *user, const char *password,
                                       uint16_t target_port)
{
    enum socks_result result;
    int fd = socks_client_connect(socks_port, user, password, target_port, &result, NULL);
    if (fd >= 0)
        close(fd);
    return result;
}

/* Through an exchange upstream: sends up bytes, reads down bytes until the close. */
static void run_exchange(int fd, size_t up, size_t down)
{
    uint8_t buffer[16384];
    for (size_t sent = 0; sent < up;) {
        size_t chunk = up - sent < sizeof(buffer) ? up - sent : sizeof(buffer);
        test_pattern_fill(buffer, sent, chunk);
        ck_assert_msg(test_socket_send_all(fd, buffer, chunk), "line %d: send through the tunnel",
                      call_line);
        sent += chunk;
    }
    ssize_t received = test_socket_drain_pattern(fd);
    ck_assert_msg(received == (ssize_t)down, "line %d: %zd bytes came back, expected %zu",
                  call_line, received, down);
    close(fd);
}
#define RUN_EXCHANGE(fd, up, down) (call_line = __LINE__, run_exchange((fd), (up), (down)))

/* Through an echo upstream: length pattern bytes there and back. */
static void echo_round(int fd, size_t length)
{
    uint8_t out[4096], in[4096];
    ck_assert(length <= sizeof(out));
    test_pattern_fill(out, 0, length);
    ck_assert_msg(test_socket_send_all(fd, out, length) && test_socket_recv_exact(fd, in, length) &&
                      memcmp(in, out, length) == 0,
                  "line %d: echo through the tunnel failed", call_line);
}
#define ECHO_ROUND(fd, length) (call_line = __LINE__, echo_round((fd), (length)))

static void expect_tunnel_closed(int fd)
{
    ck_assert_msg(test_socket_wait_closed(fd), "line %d: the proxy did not close the tunnel",
                  call_line);
    close(fd);
}
#define EXPECT_TUNNEL_CLOSED(fd) (call_line = __LINE__, expect_tunnel_closed(fd))

/* "127.0.0.1:port" of our end of fd: the client column of its connection row. */
static void local_address(int fd, char out[64])
{
    struct sockaddr_in address;
    socklen_t length = sizeof(address);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&address, &length), 0);
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address.sin_addr, ip, sizeof(ip));
    snprintf(out, 64, "%s:%u", ip, ntohs(address.sin_port));
}

/* ================================ 0x00: every command ================================ */

static const char *const server_info_keys[] = {
    ADMIN_KEY_SERVER,
    ADMIN_KEY_PROTOCOL_VERSION,
    ADMIN_KEY_STARTED,
    ADMIN_KEY_UPTIME_SECONDS,
    ADMIN_KEY_SOCKS_LISTENERS,
    ADMIN_KEY_ADMIN_LISTENERS,
    ADMIN_KEY_AUTH_MODE,
    ADMIN_KEY_BUFFER_SIZE,
    ADMIN_KEY_MAX_CONNECTIONS,
    ADMIN_KEY_HANDSHAKE_TIMEOUT,
    ADMIN_KEY_CONNECT_TIMEOUT,
    ADMIN_KEY_IDLE_TIMEOUT,
    ADMIN_KEY_CONNECTION_HISTORY,
    ADMIN_KEY_USERS,
    ADMIN_KEY_ADMIN_SESSIONS,
    ADMIN_KEY_ADMIN_MAX_SESSIONS,
    ADMIN_KEY_ADMIN_AUTH_TIMEOUT,
    ADMIN_KEY_ADMIN_IDLE_TIMEOUT,
    ADMIN_KEY_REQUEST_BODY_MAX,
    ADMIN_KEY_RESPONSE_BODY_MAX,
};

static const char *const metrics_keys[] = {
    ADMIN_KEY_UPTIME_SECONDS,     ADMIN_KEY_CONNECTIONS_TOTAL, ADMIN_KEY_CONNECTIONS_CURRENT,
    ADMIN_KEY_BYTES_UP,           ADMIN_KEY_BYTES_DOWN,        ADMIN_KEY_SEND_ERRORS,
    ADMIN_KEY_RECEIVE_ERRORS,     ADMIN_KEY_DNS_ERRORS,        ADMIN_KEY_SERVER_ERRORS,
    ADMIN_KEY_UNSUPPORTED_INPUT,  ADMIN_KEY_DNS_CONNECTIONS,   ADMIN_KEY_IPV4_CONNECTIONS,
    ADMIN_KEY_IPV6_CONNECTIONS,   ADMIN_KEY_AUTH_ERRORS,       ADMIN_KEY_HOST_UNREACHABLE,
    ADMIN_KEY_CONNECTION_REFUSED, ADMIN_KEY_ACCEPT_PAUSED,
};

static void check_server_info(struct admin_client *admin, struct server_process *server)
{
    struct admin_reply reply = CALL_OK(admin, request_of(ADMIN_CMD_SERVER_INFO));
    struct admin_span value;
    for (size_t i = 0; i < sizeof(server_info_keys) / sizeof(server_info_keys[0]); i++)
        ck_assert_msg(admin_record_find(reply.body, reply.length, server_info_keys[i], &value),
                      "server-info has no %s:\n%s", server_info_keys[i], reply.body);
    char text[256], expected[64];
    record_text(&reply, ADMIN_KEY_SERVER, text, sizeof(text));
    ck_assert_str_eq(text, "socks5d 0.1.0");
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_PROTOCOL_VERSION), 2);
    ck_assert(admin_record_find(reply.body, reply.length, ADMIN_KEY_STARTED, &value));
    int64_t started;
    ck_assert_msg(admin_span_to_time(value, &started), "started is not a time");
    record_text(&reply, ADMIN_KEY_SOCKS_LISTENERS, text, sizeof(text));
    snprintf(expected, sizeof(expected), "127.0.0.1:%u", server_process_socks_port(server));
    ck_assert_str_eq(text, expected);
    record_text(&reply, ADMIN_KEY_ADMIN_LISTENERS, text, sizeof(text));
    snprintf(expected, sizeof(expected), "127.0.0.1:%u", server_process_admin_port(server));
    ck_assert_str_eq(text, expected);
    record_text(&reply, ADMIN_KEY_AUTH_MODE, text, sizeof(text));
    ck_assert_str_eq(text, ADMIN_TEXT_AUTH_PASSWORD);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BUFFER_SIZE), 16384);
    ck_assert_uint_gt(record_u64(&reply, ADMIN_KEY_MAX_CONNECTIONS), 0);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_HANDSHAKE_TIMEOUT), 10);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECT_TIMEOUT), 10);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_IDLE_TIMEOUT), 3600);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTION_HISTORY), 1000);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_USERS), 2);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_SESSIONS), 1);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_MAX_SESSIONS), 64);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_AUTH_TIMEOUT), 10);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_IDLE_TIMEOUT), 600);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_REQUEST_BODY_MAX), 4096);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_RESPONSE_BODY_MAX), 16777216);
    reply_free(&reply);
}

static void check_user_metrics(struct admin_client *admin, const char *name, const char *user,
                               const char *role)
{
    struct admin_reply reply = CALL_OK(admin, request_user(ADMIN_CMD_USER_METRICS, name));
    char text[256];
    record_text(&reply, ADMIN_KEY_USER, text, sizeof(text));
    ck_assert_str_eq(text, user);
    record_text(&reply, ADMIN_KEY_ROLE, text, sizeof(text));
    ck_assert_str_eq(text, role);
    record_u64(&reply, ADMIN_KEY_CONNECTIONS_LIVE);
    record_u64(&reply, ADMIN_KEY_CONNECTIONS_TOTAL);
    record_u64(&reply, ADMIN_KEY_BYTES_UP);
    record_u64(&reply, ADMIN_KEY_BYTES_DOWN);
    reply_free(&reply);
}

START_TEST(test_every_command_succeeds)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert_ptr_nonnull(echo);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);

    /* 0x01 ping: empty body */
    struct admin_reply reply = CALL_OK(admin, request_of(ADMIN_CMD_PING));
    ck_assert_uint_eq(reply.length, 0);
    reply_free(&reply);
    /* 0x02 server-info */
    check_server_info(admin, server);
    /* 0x03 metrics */
    reply = CALL_OK(admin, request_of(ADMIN_CMD_METRICS));
    for (size_t i = 0; i < sizeof(metrics_keys) / sizeof(metrics_keys[0]); i++)
        record_u64(&reply, metrics_keys[i]);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_TOTAL), 0);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_CURRENT), 0);
    reply_free(&reply);
    /* 0x04 user-metrics: self, another user, the reserved anonymous */
    check_user_metrics(admin, "", ROOT, ADMIN_TEXT_ROLE_ADMIN);
    check_user_metrics(admin, BOB, BOB, ADMIN_TEXT_ROLE_USER);
    check_user_metrics(admin, ADMIN_ANONYMOUS_USER, ADMIN_ANONYMOUS_USER, ADMIN_TEXT_ROLE_NONE);
    /* 0x05 connections: empty table with every column */
    struct connection_page page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_BOTH, 0, 0);
    ck_assert_uint_eq(page.total, 0);
    ck_assert_uint_eq(page.count, 0);
    page_free(&page);
    /* 0x06 users: ordered by name, anonymous not listed */
    char names[512];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(admin, names, BOB, &row, &found), 2);
    ck_assert_str_eq(names, "bob,root");
    ck_assert(found);
    ck_assert_str_eq(row.role, ADMIN_TEXT_ROLE_USER);
    /* 0x07 add-user: the new user logs in to both ports */
    EXPECT_OK(admin, request_add_user(CAROL, CAROL_PASSWORD, ADMIN_ROLE_USER));
    admin_client_close(OPEN_SESSION(port, CAROL, CAROL_PASSWORD, ADMIN_ROLE_USER));
    close(OPEN_TUNNEL(socks, CAROL, CAROL_PASSWORD, upstream_server_port(echo)));
    ck_assert_uint_eq(LIST_USERS(admin, names, NULL, &row, &found), 3);
    ck_assert_str_eq(names, "bob,carol,root");
    /* 0x09 set-role */
    EXPECT_OK(admin, request_set_role(CAROL, ADMIN_ROLE_ADMIN));
    admin_client_close(OPEN_SESSION(port, CAROL, CAROL_PASSWORD, ADMIN_ROLE_ADMIN));
    /* 0x0A set-password */
    EXPECT_OK(admin, request_set_password(CAROL, NEW_PASSWORD));
    admin_client_close(OPEN_SESSION(port, CAROL, NEW_PASSWORD, ADMIN_ROLE_ADMIN));
    EXPECT_LOGIN_FAILS(port, CAROL, CAROL_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    /* 0x08 remove-user */
    EXPECT_OK(admin, request_user(ADMIN_CMD_REMOVE_USER, CAROL));
    EXPECT_LOGIN_FAILS(port, CAROL, NEW_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    /* 0x0B set-no-auth */
    char text[64];
    EXPECT_OK(admin, request_set_no_auth(1));
    FETCH_TEXT(admin, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_KEY_AUTH_MODE, text);
    ck_assert_str_eq(text, ADMIN_TEXT_AUTH_PASSWORD_OR_NONE);
    EXPECT_OK(admin, request_set_no_auth(0));
    FETCH_TEXT(admin, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_KEY_AUTH_MODE, text);
    ck_assert_str_eq(text, ADMIN_TEXT_AUTH_PASSWORD);
    /* 0x0C get-buffer-size, 0x0D set-buffer-size */
    ck_assert_uint_eq(
        FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE), 16384);
    EXPECT_OK(admin, request_set_buffer_size(4096));
    ck_assert_uint_eq(
        FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE), 4096);
    /* 0x0E close-connection */
    int tunnel = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, upstream_server_port(echo));
    ECHO_ROUND(tunnel, 100);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.count, 1);
    EXPECT_OK(admin, request_close_connection(page.rows[0].id));
    page_free(&page);
    EXPECT_TUNNEL_CLOSED(tunnel);
    /* 0x0F close-user-connections */
    int first = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, upstream_server_port(echo));
    int second = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, upstream_server_port(echo));
    ECHO_ROUND(first, 10);
    ECHO_ROUND(second, 10);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, BOB), ADMIN_KEY_CLOSED), 2);
    EXPECT_TUNNEL_CLOSED(first);
    EXPECT_TUNNEL_CLOSED(second);

    admin_client_close(admin);
    upstream_server_stop(echo);
    stop_server(server);
}
END_TEST

/* ============================ 0x01: admin session limit ============================ */

START_TEST(test_session_limit_answers_server_error)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, "--admin-sessions", "1", NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    struct admin_client *first = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    /* A correct login over the limit: 02 00 01 00, then the server closes. */
    EXPECT_LOGIN_FAILS(port, ROOT, ROOT_PASSWORD, ADMIN_STATUS_SERVER_ERROR);
    EXPECT_LOGIN_FAILS(port, BOB, BOB_PASSWORD, ADMIN_STATUS_SERVER_ERROR);
    struct admin_reply reply = CALL_OK(first, request_of(ADMIN_CMD_SERVER_INFO));
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_MAX_SESSIONS), 1);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_SESSIONS), 1);
    reply_free(&reply);
    EXPECT_OK(first, request_of(ADMIN_CMD_PING)); /* the open session is untouched */

    /* Once it ends, its place is free again (the close reaches the server a little later). */
    admin_client_close(first);
    int64_t deadline = test_now_ms() + WAIT_MS;
    struct admin_client *next = NULL;
    while (next == NULL) {
        next = admin_client_connect(port, NULL);
        ck_assert_ptr_nonnull(next);
        struct admin_login_reply login;
        ck_assert_msg(admin_client_login(next, BOB, BOB_PASSWORD, &login), "%s", why());
        if (login.status != ADMIN_STATUS_OK) {
            ck_assert_uint_eq(login.status, ADMIN_STATUS_SERVER_ERROR);
            admin_client_close(next);
            next = NULL;
            ck_assert_msg(test_now_ms() < deadline, "the session slot was never freed");
            test_sleep_ms(20);
        }
    }
    EXPECT_OK(next, request_user(ADMIN_CMD_USER_METRICS, ""));
    admin_client_close(next);
    stop_server(server);
}
END_TEST

/* ================================ 0x02: bad request ================================ */

/* A request frame with the given header fields and body, bytes as they are. */
static size_t raw_request(uint8_t *out, uint8_t version, uint8_t reserved, uint8_t command,
                          uint32_t body_length, const void *body, size_t body_bytes)
{
    out[0] = version;
    out[1] = reserved;
    out[2] = command;
    out[3] = (uint8_t)(body_length >> 24);
    out[4] = (uint8_t)(body_length >> 16);
    out[5] = (uint8_t)(body_length >> 8);
    out[6] = (uint8_t)body_length;
    if (body_bytes > 0)
        memcpy(out + ADMIN_REQUEST_HEADER_SIZE, body, body_bytes);
    return ADMIN_REQUEST_HEADER_SIZE + body_bytes;
}

/* A whole frame whose body the server reads and refuses; the session goes on. */
static void expect_body_refused(struct admin_client *client, uint8_t command, const void *body,
                                size_t length, uint8_t status)
{
    uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
    size_t frame_length = raw_request(frame, 0x02, 0x00, command, (uint32_t)length, body, length);
    struct admin_reply reply;
    ck_assert_msg(admin_client_send_raw(client, frame, frame_length) && read_reply(client, &reply),
                  "line %d: %s", call_line, why());
    ck_assert_msg(reply.status == status,
                  "line %d: command 0x%02x: status 0x%02x, expected 0x%02x: %s", call_line, command,
                  reply.status, status, reply.body);
    check_error_body(&reply, "refused body");
    reply_free(&reply);
    /* The frame was read whole: the session goes on. */
    struct admin_request ping = request_of(ADMIN_CMD_PING);
    ck_assert_msg(call_raw(client, &ping, &reply) && reply.status == ADMIN_STATUS_OK,
                  "line %d: the session did not go on: %s", call_line, why());
    reply_free(&reply);
}
#define EXPECT_BODY_REFUSED(client, command, body, length) \
    (call_line = __LINE__,                                 \
     expect_body_refused((client), (command), (body), (length), ADMIN_STATUS_BAD_REQUEST))

/* A raw login that the server must refuse with status before closing. */
static void expect_raw_login(uint16_t port, const void *bytes, size_t length, uint8_t status)
{
    struct admin_client *client = admin_client_connect(port, NULL);
    ck_assert_ptr_nonnull(client);
    struct admin_login_reply reply;
    ck_assert_msg(admin_client_send_raw(client, bytes, length) &&
                      admin_client_read_login_reply(client, &reply),
                  "line %d: %s", call_line, why());
    ck_assert_msg(reply.status == status && reply.role == 0,
                  "line %d: login reply status 0x%02x role 0x%02x, expected 0x%02x", call_line,
                  reply.status, reply.role, status);
    ck_assert_msg(admin_client_wait_closed(client), "line %d: %s", call_line, why());
    admin_client_close(client);
}
#define EXPECT_RAW_LOGIN(port, bytes, status) \
    (call_line = __LINE__, expect_raw_login((port), (bytes), sizeof(bytes), (status)))

START_TEST(test_bad_requests)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);

    /* Malformed logins: 02 00 02 00, then close. */
    static const uint8_t login_reserved[] = { 2, 1, 4, 'r', 'o', 'o', 't', 2, 'p', 'w' };
    static const uint8_t login_empty_user[] = { 2, 0, 0, 2, 'p', 'w' };
    static const uint8_t login_empty_password[] = { 2, 0, 4, 'r', 'o', 'o', 't', 0 };
    static const uint8_t login_nul_user[] = { 2, 0, 3, 'a', 0, 'b', 2, 'p', 'w' };
    static const uint8_t login_nul_password[] = { 2, 0, 1, 'a', 3, 'p', 0, 'w' };
    EXPECT_RAW_LOGIN(port, login_reserved, ADMIN_STATUS_BAD_REQUEST);
    EXPECT_RAW_LOGIN(port, login_empty_user, ADMIN_STATUS_BAD_REQUEST);
    EXPECT_RAW_LOGIN(port, login_empty_password, ADMIN_STATUS_BAD_REQUEST);
    EXPECT_RAW_LOGIN(port, login_nul_user, ADMIN_STATUS_BAD_REQUEST);
    EXPECT_RAW_LOGIN(port, login_nul_password, ADMIN_STATUS_BAD_REQUEST);

    /* Bodies that do not fit their command's layout or values: 0x02, the session goes on. */
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    static const uint8_t one_byte[] = { 0 };
    static const uint8_t str8_past_end[] = { 5, 'a', 'b' };
    static const uint8_t str8_nul[] = { 3, 'b', 0, 'b' };
    static const uint8_t str8_extra[] = { 3, 'b', 'o', 'b', 0 };
    static const uint8_t which_bad[] = { 0, 3, 0, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t connections_short[] = { 0, 2, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t role_bad[] = { 1, 'x', 1, 'y', 2 };
    static const uint8_t user_empty[] = { 0, 1, 'y', 0 };
    static const uint8_t password_empty[] = { 1, 'x', 0, 0 };
    static const uint8_t set_role_bad[] = { 3, 'b', 'o', 'b', 7 };
    static const uint8_t flag_bad[] = { 2 };
    static const uint8_t id_short[] = { 0, 0, 0, 1 };
    static const uint8_t size_short[] = { 0, 0, 8 };
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_PING, one_byte, sizeof(one_byte));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_METRICS, one_byte, sizeof(one_byte));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_USER_METRICS, NULL, 0);
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_USER_METRICS, str8_past_end, sizeof(str8_past_end));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_USER_METRICS, str8_nul, sizeof(str8_nul));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_USER_METRICS, str8_extra, sizeof(str8_extra));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_CONNECTIONS, which_bad, sizeof(which_bad));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_CONNECTIONS, connections_short, sizeof(connections_short));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_ADD_USER, role_bad, sizeof(role_bad));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_ADD_USER, user_empty, sizeof(user_empty));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_ADD_USER, password_empty, sizeof(password_empty));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_REMOVE_USER, one_byte, sizeof(one_byte));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_SET_ROLE, set_role_bad, sizeof(set_role_bad));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_SET_NO_AUTH, flag_bad, sizeof(flag_bad));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_SET_BUFFER_SIZE, size_short, sizeof(size_short));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_CLOSE_CONNECTION, id_short, sizeof(id_short));
    EXPECT_BODY_REFUSED(admin, ADMIN_CMD_CLOSE_USER_CONNECTIONS, one_byte, sizeof(one_byte));

    /* Well-formed, but values the server does not accept. */
    EXPECT(admin, request_add_user("a:b", OTHER_PASSWORD, ADMIN_ROLE_USER),
           ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_add_user("a\nb", OTHER_PASSWORD, ADMIN_ROLE_USER),
           ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_add_user(ADMIN_ANONYMOUS_USER, OTHER_PASSWORD, ADMIN_ROLE_USER),
           ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_set_buffer_size(0), ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_set_buffer_size(511), ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_set_buffer_size(16777217), ADMIN_STATUS_BAD_REQUEST);
    EXPECT(admin, request_set_buffer_size(UINT32_MAX), ADMIN_STATUS_BAD_REQUEST);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE), 16384);
    char names[256];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(admin, names, NULL, &row, &found), 2); /* nothing was added */

    /* Bad frames: 0x02 and the server closes (RSV, BODYLEN over 4096 with no body sent). */
    uint8_t frame[ADMIN_REQUEST_HEADER_SIZE];
    EXPECT_FINAL_ERROR(admin, frame, raw_request(frame, 2, 1, ADMIN_CMD_PING, 0, NULL, 0),
                       ADMIN_STATUS_BAD_REQUEST);
    admin_client_close(admin);
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_FINAL_ERROR(admin, frame, raw_request(frame, 2, 0, ADMIN_CMD_PING, 4097, NULL, 0),
                       ADMIN_STATUS_BAD_REQUEST);
    admin_client_close(admin);
    admin = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    EXPECT_FINAL_ERROR(admin, frame,
                       raw_request(frame, 2, 0, ADMIN_CMD_ADD_USER, UINT32_MAX, NULL, 0),
                       ADMIN_STATUS_BAD_REQUEST);
    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ============================== 0x03: unauthenticated ============================== */

static int64_t timed_failed_login(uint16_t port, const char *source, const char *user)
{
    int64_t start = test_now_ms();
    expect_login(port, source, user, OTHER_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    return test_now_ms() - start;
}

START_TEST(test_bad_login_unauthenticated)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    /* Wrong password and unknown user: the same 02 00 03 00, then close. */
    EXPECT_LOGIN_FAILS(port, ROOT, BOB_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    EXPECT_LOGIN_FAILS(port, "nobody", ROOT_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    EXPECT_LOGIN_FAILS(port, ADMIN_ANONYMOUS_USER, ROOT_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    ck_assert_uint_ge(FETCH_U64(admin, request_of(ADMIN_CMD_METRICS), ADMIN_KEY_AUTH_ERRORS), 3);

    /* Failed logins from one address: the 4th waits >= 250 ms, the 5th >= 500 ms (PROTOCOL.md
     * 4.4); a correct login from there is still accepted. */
    call_line = __LINE__;
    for (int i = 0; i < 3; i++)
        timed_failed_login(port, "127.0.0.3", BOB);
    int64_t fourth = timed_failed_login(port, "127.0.0.3", BOB);
    int64_t fifth = timed_failed_login(port, "127.0.0.3", "nobody");
    ck_assert_msg(fourth >= 240, "the 4th failed login was answered after %lld ms",
                  (long long)fourth);
    ck_assert_msg(fifth >= 490, "the 5th failed login was answered after %lld ms",
                  (long long)fifth);
    struct admin_client *client = admin_client_connect(port, "127.0.0.3");
    ck_assert_ptr_nonnull(client);
    struct admin_login_reply login;
    ck_assert(admin_client_login(client, BOB, BOB_PASSWORD, &login));
    ck_assert_uint_eq(login.status, ADMIN_STATUS_OK);
    admin_client_close(client);

    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ============================ 0x04: roles and forbidden ============================ */

START_TEST(test_regular_user_is_confined_to_self)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, ARG_DAVE, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert_ptr_nonnull(echo);
    uint16_t target = upstream_server_port(echo);
    /* bob: one finished tunnel and one live; dave: one live. */
    int bob_done = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, target);
    ECHO_ROUND(bob_done, 50);
    close(bob_done);
    int bob_live = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, target);
    int dave_live = OPEN_TUNNEL(socks, DAVE, DAVE_PASSWORD, target);
    ECHO_ROUND(bob_live, 60);
    ECHO_ROUND(dave_live, 70);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    WAIT_LIVE(admin, BOB, 1);

    struct admin_client *bob = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    EXPECT_OK(bob, request_of(ADMIN_CMD_PING));
    /* Own metrics, by empty name or by name; nobody else's. */
    check_user_metrics(bob, "", BOB, ADMIN_TEXT_ROLE_USER);
    check_user_metrics(bob, BOB, BOB, ADMIN_TEXT_ROLE_USER);
    ck_assert_uint_eq(FETCH_U64(bob, request_user(ADMIN_CMD_USER_METRICS, ""), ADMIN_KEY_BYTES_UP),
                      110);
    EXPECT(bob, request_user(ADMIN_CMD_USER_METRICS, DAVE), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_USER_METRICS, ROOT), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_USER_METRICS, ADMIN_ANONYMOUS_USER), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_USER_METRICS, "nobody"), ADMIN_STATUS_FORBIDDEN);
    /* Own connections only: an empty name means bob's, not everybody's. */
    struct connection_page page = LIST_CONNECTIONS(bob, "", ADMIN_CONNECTIONS_BOTH, 0, 0);
    ck_assert_uint_eq(page.total, 2);
    ck_assert_uint_eq(page.count, 2);
    for (size_t i = 0; i < page.count; i++)
        ck_assert_str_eq(page.rows[i].user, BOB);
    ck_assert_uint_eq(page_count_state(&page, "live"), 1);
    uint64_t bob_live_id =
        strcmp(page.rows[0].state, "live") == 0 ? page.rows[0].id : page.rows[1].id;
    page_free(&page);
    page = LIST_CONNECTIONS(bob, BOB, ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.total, 1);
    page_free(&page);
    EXPECT(bob, request_connections(DAVE, ADMIN_CONNECTIONS_BOTH, 0, 0), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_connections(ADMIN_ANONYMOUS_USER, ADMIN_CONNECTIONS_BOTH, 0, 0),
           ADMIN_STATUS_FORBIDDEN);
    /* Every admin-only command, even aimed at bob himself. */
    EXPECT(bob, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_of(ADMIN_CMD_METRICS), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_of(ADMIN_CMD_USERS), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_add_user("mallory", OTHER_PASSWORD, ADMIN_ROLE_ADMIN),
           ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_REMOVE_USER, DAVE), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_REMOVE_USER, BOB), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_set_role(BOB, ADMIN_ROLE_ADMIN), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_set_no_auth(1), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_set_buffer_size(4096), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_close_connection(bob_live_id), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, BOB), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, DAVE), ADMIN_STATUS_FORBIDDEN);
    /* Only his own password. */
    EXPECT(bob, request_set_password(DAVE, OTHER_PASSWORD), ADMIN_STATUS_FORBIDDEN);
    EXPECT(bob, request_set_password(ROOT, OTHER_PASSWORD), ADMIN_STATUS_FORBIDDEN);
    EXPECT_OK(bob, request_set_password("", NEW_PASSWORD));
    EXPECT_OK(bob, request_of(ADMIN_CMD_PING)); /* open sessions stay open */
    admin_client_close(OPEN_SESSION(port, BOB, NEW_PASSWORD, ADMIN_ROLE_USER));
    EXPECT_OK(bob, request_set_password(BOB, OTHER_PASSWORD));
    admin_client_close(OPEN_SESSION(port, BOB, OTHER_PASSWORD, ADMIN_ROLE_USER));
    ck_assert_int_eq(tunnel_result(socks, BOB, OTHER_PASSWORD, target), SOCKS_OK);
    ck_assert_int_eq(tunnel_result(socks, BOB, BOB_PASSWORD, target), SOCKS_AUTH_FAILED);
    EXPECT_LOGIN_FAILS(port, BOB, NEW_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);

    /* Nothing bob tried changed anything: the tunnels and the other users are as they were. */
    ECHO_ROUND(bob_live, 10);
    ECHO_ROUND(dave_live, 10);
    admin_client_close(OPEN_SESSION(port, DAVE, DAVE_PASSWORD, ADMIN_ROLE_USER));
    char names[256];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(admin, names, BOB, &row, &found), 3);
    ck_assert_str_eq(names, "bob,dave,root");
    ck_assert_str_eq(row.role, ADMIN_TEXT_ROLE_USER);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE), 16384);

    close(bob_live);
    close(dave_live);
    admin_client_close(bob);
    admin_client_close(admin);
    upstream_server_stop(echo);
    stop_server(server);
}
END_TEST

/* ========================= 0x05 not found, 0x06 already exists ========================= */

START_TEST(test_not_found_and_already_exists)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *exchange = upstream_server_start(UPSTREAM_EXCHANGE, 5, 5);
    ck_assert_ptr_nonnull(exchange);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);

    EXPECT(admin, request_user(ADMIN_CMD_USER_METRICS, "nobody"), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_connections("nobody", ADMIN_CONNECTIONS_BOTH, 0, 0),
           ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_user(ADMIN_CMD_REMOVE_USER, "nobody"), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_set_role("nobody", ADMIN_ROLE_ADMIN), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_set_password("nobody", OTHER_PASSWORD), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, "nobody"), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_close_connection(999999), ADMIN_STATUS_NOT_FOUND);
    EXPECT(admin, request_close_connection(0), ADMIN_STATUS_NOT_FOUND);
    /* A finished connection is not live: it cannot be closed. */
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, upstream_server_port(exchange)), 5, 5);
    WAIT_LIVE(admin, BOB, 0);
    struct connection_page page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.count, 1);
    EXPECT(admin, request_close_connection(page.rows[0].id), ADMIN_STATUS_NOT_FOUND);
    page_free(&page);

    EXPECT(admin, request_add_user(BOB, OTHER_PASSWORD, ADMIN_ROLE_USER),
           ADMIN_STATUS_ALREADY_EXISTS);
    EXPECT(admin, request_add_user(ROOT, OTHER_PASSWORD, ADMIN_ROLE_ADMIN),
           ADMIN_STATUS_ALREADY_EXISTS);
    EXPECT_OK(admin, request_add_user(DAVE, DAVE_PASSWORD, ADMIN_ROLE_USER));
    EXPECT(admin, request_add_user(DAVE, OTHER_PASSWORD, ADMIN_ROLE_ADMIN),
           ADMIN_STATUS_ALREADY_EXISTS);
    /* The refused adds changed nothing: old passwords and roles still hold. */
    admin_client_close(OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER));
    admin_client_close(OPEN_SESSION(port, DAVE, DAVE_PASSWORD, ADMIN_ROLE_USER));
    EXPECT_LOGIN_FAILS(port, DAVE, OTHER_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);

    admin_client_close(admin);
    upstream_server_stop(exchange);
    stop_server(server);
}
END_TEST

/* ============================ 0x07: unsupported version ============================ */

START_TEST(test_unsupported_version)
{
    const char *args[] = { ARG_ROOT, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    /* The version 1 login of PROTOCOL.md 12.1, byte for byte: 02 00 07 00 and close. */
    static const uint8_t v1_login[] = { 0x01, 0x00, 0x05, 'a', 'l', 'i', 'c', 'e',
                                        0x06, 's',  'e',  'c', 'r', 'e', 't' };
    struct admin_client *client = admin_client_connect(port, NULL);
    ck_assert_ptr_nonnull(client);
    ck_assert(admin_client_send_raw(client, v1_login, sizeof(v1_login)));
    uint8_t reply[4];
    ck_assert_msg(test_socket_recv_exact(admin_client_fd(client), reply, sizeof(reply)),
                  "no reply to a version 1 login");
    static const uint8_t expected[] = { 0x02, 0x00, 0x07, 0x00 };
    ck_assert_mem_eq(reply, expected, sizeof(expected));
    ck_assert_msg(test_socket_wait_closed(admin_client_fd(client)), "not closed after 0x07");
    admin_client_close(client);
    static const uint8_t v3_login[] = { 0x03, 0x00, 0x04, 'r', 'o', 'o', 't', 0x02, 'p', 'w' };
    static const uint8_t v0_login[] = { 0x00, 0x00, 0x04, 'r', 'o', 'o', 't', 0x02, 'p', 'w' };
    EXPECT_RAW_LOGIN(port, v3_login, ADMIN_STATUS_UNSUPPORTED_VERSION);
    EXPECT_RAW_LOGIN(port, v0_login, ADMIN_STATUS_UNSUPPORTED_VERSION);

    /* A request with VER 1 inside a session: 0x07, then close. */
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(admin, request_of(ADMIN_CMD_PING));
    uint8_t frame[ADMIN_REQUEST_HEADER_SIZE];
    EXPECT_FINAL_ERROR(admin, frame, raw_request(frame, 0x01, 0, ADMIN_CMD_PING, 0, NULL, 0),
                       ADMIN_STATUS_UNSUPPORTED_VERSION);
    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ============================ 0x08: unsupported command ============================ */

START_TEST(test_unknown_command_keeps_session)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    static const uint8_t body[] = { 3, 'b', 'o', 'b', 0x02 };
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    struct admin_client *bob = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    /* Every code the protocol's table does not assign, 0x00 and 0xF0..0xFF among them. */
    for (unsigned code = 0; code <= 0xFF; code++) {
        uint8_t unknown = (uint8_t)code;
        if (admin_command_info(unknown) != NULL)
            continue;
        call_line = __LINE__;
        expect_body_refused(admin, unknown, NULL, 0, ADMIN_STATUS_UNSUPPORTED_COMMAND);
        expect_body_refused(admin, unknown, body, sizeof(body), ADMIN_STATUS_UNSUPPORTED_COMMAND);
        /* The command check comes before the role check: a regular user gets 0x08 too. */
        expect_body_refused(bob, unknown, NULL, 0, ADMIN_STATUS_UNSUPPORTED_COMMAND);
    }
    /* The largest body allowed is read whole and skipped (0xF0: never assigned, PROTOCOL.md 10). */
    static uint8_t big[ADMIN_REQUEST_BODY_MAX];
    memset(big, 'x', sizeof(big));
    call_line = __LINE__;
    expect_body_refused(admin, 0xf0, big, sizeof(big), ADMIN_STATUS_UNSUPPORTED_COMMAND);
    expect_body_refused(admin, ADMIN_CMD_USER_METRICS, big, sizeof(big), ADMIN_STATUS_BAD_REQUEST);
    EXPECT_OK(admin, request_of(ADMIN_CMD_METRICS));
    admin_client_close(bob);
    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ================================ 0x09: last admin ================================ */

START_TEST(test_last_admin_cannot_go)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    struct admin_client *root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT(root, request_user(ADMIN_CMD_REMOVE_USER, ROOT), ADMIN_STATUS_CONFLICT);
    EXPECT(root, request_set_role(ROOT, ADMIN_ROLE_USER), ADMIN_STATUS_CONFLICT);
    EXPECT_OK(root, request_set_role(ROOT, ADMIN_ROLE_ADMIN)); /* the role it has: fine */
    EXPECT_OK(root, request_set_role(BOB, ADMIN_ROLE_USER));

    /* With a second admin, root may be demoted; its open session loses its rights at once. */
    EXPECT_OK(root, request_set_role(BOB, ADMIN_ROLE_ADMIN));
    struct admin_client *bob = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(bob, request_set_role(ROOT, ADMIN_ROLE_USER));
    EXPECT(root, request_of(ADMIN_CMD_METRICS), ADMIN_STATUS_FORBIDDEN);
    check_user_metrics(root, "", ROOT, ADMIN_TEXT_ROLE_USER);
    admin_client_close(OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_USER));
    /* Now bob is the last admin. */
    EXPECT(bob, request_set_role(BOB, ADMIN_ROLE_USER), ADMIN_STATUS_CONFLICT);
    EXPECT(bob, request_user(ADMIN_CMD_REMOVE_USER, BOB), ADMIN_STATUS_CONFLICT);
    /* Promoted back, root gets admin rights on its next request. */
    EXPECT_OK(bob, request_set_role(ROOT, ADMIN_ROLE_ADMIN));
    EXPECT_OK(root, request_of(ADMIN_CMD_METRICS));
    EXPECT_OK(root, request_set_role(BOB, ADMIN_ROLE_USER));
    EXPECT(bob, request_of(ADMIN_CMD_USERS), ADMIN_STATUS_FORBIDDEN);
    EXPECT(root, request_set_role(ROOT, ADMIN_ROLE_USER), ADMIN_STATUS_CONFLICT);
    EXPECT(root, request_user(ADMIN_CMD_REMOVE_USER, ROOT), ADMIN_STATUS_CONFLICT);
    char names[256];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(root, names, ROOT, &row, &found), 2);
    ck_assert_str_eq(row.role, ADMIN_TEXT_ROLE_ADMIN);
    admin_client_close(bob);
    admin_client_close(root);
    stop_server(server);
}
END_TEST

/* ============================== users table order ============================== */

#define MANY_PASSWORD "m4ny-Users-Secret"
#define E_ACUTE "\xc3\xa9" /* UTF-8: bytes above every ASCII letter */

START_TEST(test_users_table_order)
{
    /* Bytewise order (PROTOCOL.md 7.7): capitals first, UTF-8 last, prefixes before longer. */
    /* clang-format off */
    const char *args[] = { ARG_ROOT, "-u", "zulu:" MANY_PASSWORD, "-u", "alpha:" MANY_PASSWORD,
                           "-u", "Mike:" MANY_PASSWORD, "-u", "ab:" MANY_PASSWORD,
                           "-u", "a:" MANY_PASSWORD, "-u", "b:" MANY_PASSWORD,
                           "-u", "x-ray:" MANY_PASSWORD, "-u", E_ACUTE "cho:" MANY_PASSWORD, NULL };
    /* clang-format on */
    struct server_process *server = start_server(args);
    struct admin_client *admin =
        OPEN_SESSION(server_process_admin_port(server), ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(admin, request_add_user("m", MANY_PASSWORD, ADMIN_ROLE_USER));
    EXPECT_OK(admin, request_add_user("Zed", MANY_PASSWORD, ADMIN_ROLE_USER));
    char names[512];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(admin, names, NULL, &row, &found), 11);
    ck_assert_str_eq(names, "Mike,Zed,a,ab,alpha,b,m,root,x-ray,zulu," E_ACUTE "cho");
    ck_assert_msg(users_ordered, "users table not ordered by name (PROTOCOL.md 7.7): %s",
                  users_order_sent);
    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ======================= remove-user ends tunnels and sessions ======================= */

/* The removed user's session: closed by the server, at once or after answering 0x03. */
static void expect_session_ended(struct admin_client *client)
{
    struct admin_request ping = request_of(ADMIN_CMD_PING);
    struct admin_reply reply;
    if (admin_client_send_request(client, &ping) && read_reply(client, &reply)) {
        ck_assert_msg(reply.status == ADMIN_STATUS_UNAUTHENTICATED,
                      "line %d: a removed user's session answered 0x%02x: %s", call_line,
                      reply.status, reply.body);
        check_error_body(&reply, "removed user");
        reply_free(&reply);
        ck_assert_msg(admin_client_wait_closed(client), "line %d: %s", call_line, why());
    }
    admin_client_close(client);
}
#define EXPECT_SESSION_ENDED(client) (call_line = __LINE__, expect_session_ended(client))

START_TEST(test_remove_user_ends_tunnels_and_sessions)
{
    const char *args[] = { ARG_ROOT, ARG_EVE, ARG_BOB, ARG_DAVE, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert_ptr_nonnull(echo);
    uint16_t target = upstream_server_port(echo);
    int bob_tunnels[2], dave_tunnel = OPEN_TUNNEL(socks, DAVE, DAVE_PASSWORD, target);
    for (size_t i = 0; i < 2; i++) {
        bob_tunnels[i] = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, target);
        ECHO_ROUND(bob_tunnels[i], 100);
    }
    struct admin_client *bob = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    struct admin_client *bob_again = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    struct admin_client *root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    WAIT_LIVE(root, BOB, 2);

    EXPECT_OK(root, request_user(ADMIN_CMD_REMOVE_USER, BOB));
    EXPECT_TUNNEL_CLOSED(bob_tunnels[0]);
    EXPECT_TUNNEL_CLOSED(bob_tunnels[1]);
    EXPECT_SESSION_ENDED(bob);
    EXPECT_SESSION_ENDED(bob_again);
    /* Gone everywhere: no logins, no metrics; other users untouched. */
    ck_assert_int_eq(tunnel_result(socks, BOB, BOB_PASSWORD, target), SOCKS_AUTH_FAILED);
    EXPECT_LOGIN_FAILS(port, BOB, BOB_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    EXPECT(root, request_user(ADMIN_CMD_USER_METRICS, BOB), ADMIN_STATUS_NOT_FOUND);
    EXPECT(root, request_connections(BOB, ADMIN_CONNECTIONS_BOTH, 0, 0), ADMIN_STATUS_NOT_FOUND);
    EXPECT(root, request_user(ADMIN_CMD_REMOVE_USER, BOB), ADMIN_STATUS_NOT_FOUND);
    ECHO_ROUND(dave_tunnel, 100);
    ck_assert_uint_eq(FETCH_U64(root, request_of(ADMIN_CMD_METRICS), ADMIN_KEY_CONNECTIONS_CURRENT),
                      1);
    /* The finished tunnels still count in the global metrics. */
    ck_assert_uint_eq(FETCH_U64(root, request_of(ADMIN_CMD_METRICS), ADMIN_KEY_BYTES_UP), 300);

    /* An admin removing itself: its own session's next request is answered 0x03, then closed. */
    struct admin_client *eve = OPEN_SESSION(port, EVE, EVE_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(eve, request_user(ADMIN_CMD_REMOVE_USER, EVE));
    struct admin_request ping = request_of(ADMIN_CMD_PING);
    struct admin_reply reply;
    ck_assert_msg(admin_client_send_request(eve, &ping) && read_reply(eve, &reply),
                  "the self-removed admin's session got no answer: %s", why());
    ck_assert_uint_eq(reply.status, ADMIN_STATUS_UNAUTHENTICATED);
    check_error_body(&reply, "self-removed");
    reply_free(&reply);
    ck_assert_msg(admin_client_wait_closed(eve), "%s", why());
    admin_client_close(eve);
    EXPECT_LOGIN_FAILS(port, EVE, EVE_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);

    char names[256];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(root, names, NULL, &row, &found), 2);
    ck_assert_str_eq(names, "dave,root");
    close(dave_tunnel);
    admin_client_close(root);
    upstream_server_stop(echo);
    stop_server(server);
}
END_TEST

/* ============================ one session, 1,000 requests ============================ */

START_TEST(test_session_survives_a_thousand_requests)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    struct admin_request requests[] = {
        request_of(ADMIN_CMD_PING),
        request_of(ADMIN_CMD_METRICS),
        request_user(ADMIN_CMD_USER_METRICS, ""),
        request_user(ADMIN_CMD_USER_METRICS, BOB),
        request_connections("", ADMIN_CONNECTIONS_BOTH, 0, 10),
        request_of(ADMIN_CMD_SERVER_INFO),
        request_of(ADMIN_CMD_GET_BUFFER_SIZE),
        request_of(ADMIN_CMD_USERS),
    };
    size_t kinds = sizeof(requests) / sizeof(requests[0]);
    for (int i = 0; i < 1000; i++) {
        struct admin_reply reply;
        ck_assert_msg(call_raw(admin, &requests[(size_t)i % kinds], &reply), "request %d: %s", i,
                      why());
        ck_assert_msg(reply.status == ADMIN_STATUS_OK, "request %d answered 0x%02x: %s", i,
                      reply.status, reply.body);
        reply_free(&reply);
    }
    /* Pipelined: 100 requests written at once, 100 answers in order. */
    uint8_t frames[100 * ADMIN_REQUEST_HEADER_SIZE + 100 * 2];
    size_t length = 0;
    for (int i = 0; i < 100; i++) {
        struct admin_request request =
            i % 2 == 0 ? request_of(ADMIN_CMD_PING) : request_user(ADMIN_CMD_USER_METRICS, "");
        length += admin_request_encode(&request, frames + length, sizeof(frames) - length);
    }
    ck_assert(admin_client_send_raw(admin, frames, length));
    for (int i = 0; i < 100; i++) {
        struct admin_reply reply;
        ck_assert_msg(read_reply(admin, &reply), "pipelined %d: %s", i, why());
        ck_assert_uint_eq(reply.status, ADMIN_STATUS_OK);
        ck_assert_msg(i % 2 == 0 ? reply.length == 0 : strstr(reply.body, "user: root\n") != NULL,
                      "pipelined answer %d out of order: '%s'", i, reply.body);
        reply_free(&reply);
    }
    ck_assert_uint_eq(FETCH_U64(admin, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_KEY_ADMIN_SESSIONS),
                      1);
    admin_client_close(admin);
    stop_server(server);
}
END_TEST

/* ========================= metrics equal the bytes moved ========================= */

#define HTTP_FILE_SIZE 300007

static const char *program(const char *variable, const char *fallback)
{
    const char *path = getenv(variable);
    return path != NULL && path[0] != '\0' ? path : fallback;
}

/* python3 -m http.server on any free port, serving directory; returns its port. */
static uint16_t start_http_server(const char *directory, pid_t *pid)
{
    char output[512];
    snprintf(output, sizeof(output), "%s/http.out", test_directory);
    const char *argv[] = { program("PYTHON3", "/usr/bin/python3"),
                           "-u",
                           "-m",
                           "http.server",
                           "--bind",
                           "127.0.0.1",
                           "--directory",
                           directory,
                           "0",
                           NULL };
    *pid = child_spawn(argv, NULL, output, NULL);
    ck_assert_int_gt(*pid, 0);
    int64_t deadline = test_now_ms() + 20000;
    for (;;) {
        char *text = child_read_file(output);
        const char *port = text != NULL ? strstr(text, " port ") : NULL;
        if (port != NULL && strchr(port, '\n') != NULL) {
            uint16_t value = (uint16_t)strtoul(port + 6, NULL, 10);
            free(text);
            ck_assert_uint_gt(value, 0);
            return value;
        }
        free(text);
        ck_assert_msg(child_running(*pid) && test_now_ms() < deadline,
                      "python3 -m http.server did not start");
        test_sleep_ms(20);
    }
}

struct curl_result {
    uint64_t size_download;
    uint64_t size_header;
    uint64_t size_request;
    unsigned http_code;
};

static struct curl_result run_curl(uint16_t socks_port, uint16_t http_port)
{
    char proxy[64], url[128], body[512], output[512], proxy_user[128];
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%u", socks_port);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/file", http_port);
    snprintf(body, sizeof(body), "%s/curl.body", test_directory);
    snprintf(output, sizeof(output), "%s/curl.out", test_directory);
    snprintf(proxy_user, sizeof(proxy_user), "%s:%s", CAROL, CAROL_PASSWORD);
    const char *argv[] = { program("CURL", "/usr/bin/curl"),
                           "-sS",
                           "--max-time",
                           "30",
                           "--socks5-hostname",
                           proxy,
                           "--proxy-user",
                           proxy_user,
                           "-o",
                           body,
                           "-w",
                           "%{size_download} %{size_header} %{size_request} %{http_code}",
                           url,
                           NULL };
    pid_t pid = child_spawn(argv, NULL, output, NULL);
    ck_assert_int_gt(pid, 0);
    int status;
    ck_assert_msg(child_wait(pid, 40000, &status), "curl did not finish");
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "curl failed (status %d)", status);
    char *text = child_read_file(output);
    ck_assert_ptr_nonnull(text);
    struct curl_result result;
    unsigned long long download, header, request;
    ck_assert_msg(
        sscanf(text, "%llu %llu %llu %u", &download, &header, &request, &result.http_code) == 4,
        "curl wrote '%s'", text);
    free(text);
    result.size_download = download;
    result.size_header = header;
    result.size_request = request;
    return result;
}

/* The global, per-user and per-connection counters of a server whose only tunnels are
 * `tunnels` finished ones of user, each having moved up and down bytes. */
static void check_counters(struct admin_client *admin, const char *user, uint64_t tunnels,
                           uint64_t up, uint64_t down, uint16_t target_port)
{
    WAIT_LIVE(admin, user, 0);
    struct admin_reply reply = CALL_OK(admin, request_of(ADMIN_CMD_METRICS));
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_TOTAL), tunnels);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_CURRENT), 0);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_UP), tunnels * up);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_DOWN), tunnels * down);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_IPV4_CONNECTIONS), tunnels);
    reply_free(&reply);
    reply = CALL_OK(admin, request_user(ADMIN_CMD_USER_METRICS, user));
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_TOTAL), tunnels);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_UP), tunnels * up);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_DOWN), tunnels * down);
    reply_free(&reply);
    char names[256];
    struct user_row row;
    bool found;
    LIST_USERS(admin, names, user, &row, &found);
    ck_assert(found);
    ck_assert_uint_eq(row.bytes_up, tunnels * up);
    ck_assert_uint_eq(row.bytes_down, tunnels * down);
    ck_assert_uint_eq(row.connections_total, tunnels);
    struct connection_page page = LIST_CONNECTIONS(admin, user, ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, tunnels);
    char destination[64];
    snprintf(destination, sizeof(destination), "127.0.0.1:%u", target_port);
    for (size_t i = 0; i < page.count; i++) {
        const struct connection_row *record = &page.rows[i];
        ck_assert_str_eq(record->state, "closed");
        ck_assert_str_eq(record->user, user);
        ck_assert_str_eq(record->destination, destination);
        ck_assert_str_eq(record->destination_address, destination);
        ck_assert_str_eq(record->status, "0");
        ck_assert_uint_eq(record->bytes_up, up);
        ck_assert_uint_eq(record->bytes_down, down);
    }
    page_free(&page);
}
#define CHECK_COUNTERS(admin, user, tunnels, up, down, port) \
    (call_line = __LINE__, check_counters((admin), (user), (tunnels), (up), (down), (port)))

START_TEST(test_metrics_match_curl_transfer)
{
    char www[512], path[600];
    snprintf(www, sizeof(www), "%s/www", test_directory);
    ck_assert_int_eq(mkdir(www, 0700), 0);
    snprintf(path, sizeof(path), "%s/file", www);
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    for (uint64_t i = 0; i < HTTP_FILE_SIZE; i++)
        fputc(test_pattern_byte(i), file);
    fclose(file);
    pid_t http;
    uint16_t http_port = start_http_server(www, &http);

    const char *args[] = { ARG_ROOT, ARG_CAROL, NULL };
    struct server_process *server = start_server(args);
    struct curl_result got = run_curl(server_process_socks_port(server), http_port);
    ck_assert_uint_eq(got.http_code, 200);
    ck_assert_uint_eq(got.size_download, HTTP_FILE_SIZE);
    ck_assert_uint_gt(got.size_header, 0);
    struct admin_client *admin =
        OPEN_SESSION(server_process_admin_port(server), ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    /* Everything curl sent is the request; everything it got is header plus body. */
    CHECK_COUNTERS(admin, CAROL, 1, got.size_request, got.size_header + got.size_download,
                   http_port);

    /* A second download adds exactly as much again. */
    struct curl_result again = run_curl(server_process_socks_port(server), http_port);
    ck_assert_uint_eq(again.size_header + again.size_download, got.size_header + got.size_download);
    ck_assert_uint_eq(again.size_request, got.size_request);
    CHECK_COUNTERS(admin, CAROL, 2, got.size_request, got.size_header + got.size_download,
                   http_port);

    admin_client_close(admin);
    stop_server(server);
    kill(http, SIGTERM);
    int status;
    if (!child_wait(http, 10000, &status))
        child_kill(http);
}
END_TEST

START_TEST(test_metrics_match_exact_raw_transfer)
{
    enum { UP = 123457, DOWN = 654321, TUNNELS = 3 };
    struct upstream_server *exchange = upstream_server_start(UPSTREAM_EXCHANGE, UP, DOWN);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert(exchange != NULL && echo != NULL);
    const char *args[] = { ARG_ROOT, ARG_CAROL, NULL };
    struct server_process *server = start_server(args);
    uint16_t socks = server_process_socks_port(server);
    for (int i = 0; i < TUNNELS; i++)
        RUN_EXCHANGE(OPEN_TUNNEL(socks, CAROL, CAROL_PASSWORD, upstream_server_port(exchange)), UP,
                     DOWN);
    ck_assert(upstream_server_ok(exchange));
    struct admin_client *admin =
        OPEN_SESSION(server_process_admin_port(server), ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    CHECK_COUNTERS(admin, CAROL, TUNNELS, UP, DOWN, upstream_server_port(exchange));

    /* A live tunnel's row counts as the bytes go. */
    int live = OPEN_TUNNEL(socks, CAROL, CAROL_PASSWORD, upstream_server_port(echo));
    char client[64];
    local_address(live, client);
    ECHO_ROUND(live, 1000);
    ECHO_ROUND(live, 234);
    struct connection_page page = LIST_CONNECTIONS(admin, CAROL, ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.count, 1);
    const struct connection_row *row = page_find_client(&page, client);
    ck_assert_msg(row != NULL, "no live row for client %s", client);
    ck_assert_str_eq(row->state, "live");
    ck_assert_str_eq(row->status, "0");
    ck_assert_uint_eq(row->bytes_up, 1234);
    ck_assert_uint_eq(row->bytes_down, 1234);
    page_free(&page);
    struct admin_reply reply = CALL_OK(admin, request_of(ADMIN_CMD_METRICS));
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_UP), TUNNELS * UP + 1234);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_DOWN), TUNNELS * DOWN + 1234);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_CURRENT), 1);
    reply_free(&reply);
    close(live);
    WAIT_LIVE(admin, CAROL, 0);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_user(ADMIN_CMD_USER_METRICS, CAROL), ADMIN_KEY_BYTES_DOWN),
        TUNNELS * DOWN + 1234);

    admin_client_close(admin);
    stop_server(server);
    upstream_server_stop(exchange);
    upstream_server_stop(echo);
}
END_TEST

/* ============================ users survive kill -9 ============================ */

static struct server_process *restart_after_kill(struct server_process *server)
{
    server_process_kill(server);
    return start_server(NULL); /* users from the file alone */
}

START_TEST(test_users_survive_restart_and_kill)
{
    const char *args[] = { ARG_ROOT, NULL };
    struct server_process *server = start_server(args);
    /* add-user, acknowledged, then SIGKILL at once */
    struct admin_client *root =
        OPEN_SESSION(server_process_admin_port(server), ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(root, request_add_user(BOB, BOB_PASSWORD, ADMIN_ROLE_USER));
    server = restart_after_kill(server);
    admin_client_close(root);
    uint16_t port = server_process_admin_port(server);
    admin_client_close(OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER));
    /* set-role */
    root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(root, request_set_role(BOB, ADMIN_ROLE_ADMIN));
    server = restart_after_kill(server);
    admin_client_close(root);
    port = server_process_admin_port(server);
    struct admin_client *bob = OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_ADMIN);
    /* set-password (bob's own, as an admin) */
    EXPECT_OK(bob, request_set_password("", NEW_PASSWORD));
    server = restart_after_kill(server);
    admin_client_close(bob);
    port = server_process_admin_port(server);
    admin_client_close(OPEN_SESSION(port, BOB, NEW_PASSWORD, ADMIN_ROLE_ADMIN));
    EXPECT_LOGIN_FAILS(port, BOB, BOB_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    /* set-password of another user */
    root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(root, request_set_password(BOB, OTHER_PASSWORD));
    server = restart_after_kill(server);
    admin_client_close(root);
    port = server_process_admin_port(server);
    admin_client_close(OPEN_SESSION(port, BOB, OTHER_PASSWORD, ADMIN_ROLE_ADMIN));
    ck_assert_int_eq(tunnel_result(server_process_socks_port(server), BOB, NEW_PASSWORD, 9),
                     SOCKS_AUTH_FAILED);
    /* remove-user */
    root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_OK(root, request_user(ADMIN_CMD_REMOVE_USER, BOB));
    server = restart_after_kill(server);
    admin_client_close(root);
    port = server_process_admin_port(server);
    EXPECT_LOGIN_FAILS(port, BOB, OTHER_PASSWORD, ADMIN_STATUS_UNAUTHENTICATED);
    root = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    char names[256];
    struct user_row row;
    bool found;
    ck_assert_uint_eq(LIST_USERS(root, names, NULL, &row, &found), 1);
    ck_assert_str_eq(names, ROOT);

    /* A clean stop and start keeps them as well. */
    EXPECT_OK(root, request_add_user(DAVE, DAVE_PASSWORD, ADMIN_ROLE_ADMIN));
    admin_client_close(root);
    stop_server(server);
    server = start_server(NULL);
    port = server_process_admin_port(server);
    admin_client_close(OPEN_SESSION(port, DAVE, DAVE_PASSWORD, ADMIN_ROLE_ADMIN));
    char users_path[512];
    snprintf(users_path, sizeof(users_path), "%s/users", test_directory);
    char *file = child_read_file(users_path);
    ck_assert_ptr_nonnull(file);
    ck_assert_msg(strstr(file, "\ndave:admin:$") != NULL &&
                      strstr(file, "\nroot:admin:$") != NULL && strstr(file, "bob:") == NULL,
                  "users file:\n%s", file);
    for (size_t i = 0; secrets[i] != NULL; i++)
        ck_assert_msg(strstr(file, secrets[i]) == NULL, "a password in clear in the users file");
    free(file);
    stop_server(server);
}
END_TEST

/* ================================ malformed frames ================================ */

START_TEST(test_malformed_frames)
{
    const char *args[] = { ARG_ROOT, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server);
    uint8_t garbage[256];
    uint32_t state = 0x9e3779b9u;
    for (size_t i = 0; i < sizeof(garbage); i++) {
        state = state * 1103515245u + 12345u;
        garbage[i] = (uint8_t)(state >> 16);
    }
    garbage[0] = 0xa5; /* not a version */

    /* Garbage instead of a login. */
    call_line = __LINE__;
    expect_raw_login(port, garbage, sizeof(garbage), ADMIN_STATUS_UNSUPPORTED_VERSION);
    /* Garbage instead of a request. */
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_FINAL_ERROR(admin, garbage, sizeof(garbage), ADMIN_STATUS_UNSUPPORTED_VERSION);
    admin_client_close(admin);
    /* Bad VER, bad RSV, BODYLEN over 4096 (the body never comes): answer, then close. */
    uint8_t frame[ADMIN_REQUEST_HEADER_SIZE + 16];
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_FINAL_ERROR(admin, frame, raw_request(frame, 0x03, 0, ADMIN_CMD_PING, 0, NULL, 0),
                       ADMIN_STATUS_UNSUPPORTED_VERSION);
    admin_client_close(admin);
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_FINAL_ERROR(admin, frame, raw_request(frame, 0x02, 0x80, ADMIN_CMD_METRICS, 0, NULL, 0),
                       ADMIN_STATUS_BAD_REQUEST);
    admin_client_close(admin);
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    EXPECT_FINAL_ERROR(admin, frame,
                       raw_request(frame, 0x02, 0, ADMIN_CMD_USERS, 0x7fffffff, NULL, 0),
                       ADMIN_STATUS_BAD_REQUEST);
    admin_client_close(admin);

    /* Byte by byte: login and requests still work. */
    admin = admin_client_connect(port, NULL);
    ck_assert_ptr_nonnull(admin);
    uint8_t bytes[ADMIN_REQUEST_FRAME_MAX];
    size_t length =
        admin_login_request_encode(bytes, ROOT, strlen(ROOT), ROOT_PASSWORD, strlen(ROOT_PASSWORD));
    ck_assert(admin_client_send_bytewise(admin, bytes, length));
    struct admin_login_reply login;
    ck_assert_msg(admin_client_read_login_reply(admin, &login), "%s", why());
    ck_assert_uint_eq(login.status, ADMIN_STATUS_OK);
    ck_assert_uint_eq(login.role, ADMIN_ROLE_ADMIN);
    struct admin_request add = request_add_user(BOB, BOB_PASSWORD, ADMIN_ROLE_USER);
    struct admin_request metrics = request_user(ADMIN_CMD_USER_METRICS, BOB);
    struct admin_request page = request_connections("", ADMIN_CONNECTIONS_BOTH, 0, 5);
    const struct admin_request *sequence[] = { &add, &metrics, &page };
    for (size_t i = 0; i < 3; i++) {
        length = admin_request_encode(sequence[i], bytes, sizeof(bytes));
        ck_assert(admin_client_send_bytewise(admin, bytes, length));
        struct admin_reply reply;
        ck_assert_msg(read_reply(admin, &reply), "%s", why());
        ck_assert_msg(reply.status == ADMIN_STATUS_OK, "bytewise %s: 0x%02x %s",
                      admin_command_name(sequence[i]->command), reply.status, reply.body);
        if (sequence[i] == &metrics)
            ck_assert_ptr_nonnull(strstr(reply.body, "user: bob\n"));
        reply_free(&reply);
    }
    admin_client_close(admin);
    admin_client_close(OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER));

    /* Truncated messages, then the client closes its side: no answer, the server closes. */
    length =
        admin_login_request_encode(bytes, ROOT, strlen(ROOT), ROOT_PASSWORD, strlen(ROOT_PASSWORD));
    admin = admin_client_connect(port, NULL);
    ck_assert(admin_client_send_raw(admin, bytes, length - 3));
    shutdown(admin_client_fd(admin), SHUT_WR);
    ck_assert_msg(admin_client_wait_closed(admin), "truncated login: %s", why());
    admin_client_close(admin);
    static const uint8_t part_body[] = { 3, 'b', 'o' };
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    ck_assert(admin_client_send_raw(
        admin, frame,
        raw_request(frame, 2, 0, ADMIN_CMD_CONNECTIONS, 10, part_body, sizeof(part_body))));
    shutdown(admin_client_fd(admin), SHUT_WR);
    ck_assert_msg(admin_client_wait_closed(admin), "truncated body: %s", why());
    admin_client_close(admin);
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    ck_assert(admin_client_send_raw(admin, frame, 3));
    shutdown(admin_client_fd(admin), SHUT_WR);
    ck_assert_msg(admin_client_wait_closed(admin), "truncated header: %s", why());
    admin_client_close(admin);
    /* Truncated body and an abrupt close (reset). */
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    ck_assert(admin_client_send_raw(
        admin, frame,
        raw_request(frame, 2, 0, ADMIN_CMD_ADD_USER, 4000, part_body, sizeof(part_body))));
    struct linger hard = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(admin_client_fd(admin), SOL_SOCKET, SO_LINGER, &hard, sizeof(hard));
    admin_client_close(admin);

    /* The server is unharmed, and every broken session was let go. */
    admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    int64_t deadline = test_now_ms() + WAIT_MS;
    while (FETCH_U64(admin, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_KEY_ADMIN_SESSIONS) != 1) {
        ck_assert_msg(test_now_ms() < deadline, "broken sessions are still counted");
        test_sleep_ms(20);
    }
    admin_client_close(admin);
    ck_assert(server_process_running(server));
    stop_server(server);
}
END_TEST

/* ===================== 50 admin sessions while the proxy carries traffic ===================== */

#define TRAFFIC_TUNNELS 4
#define TRAFFIC_CHUNK 32768
#define SESSIONS 50

struct traffic {
    pthread_t thread;
    int fd;
    int stop; /* under lock; the thread finishes its round trip first */
    pthread_mutex_t lock;
    uint64_t bytes;
    bool failed;
};

static bool traffic_stopping(struct traffic *traffic)
{
    pthread_mutex_lock(&traffic->lock);
    bool stop = traffic->stop != 0;
    pthread_mutex_unlock(&traffic->lock);
    return stop;
}

static void *traffic_main(void *argument)
{
    struct traffic *traffic = argument;
    static _Thread_local uint8_t out[TRAFFIC_CHUNK], in[TRAFFIC_CHUNK];
    uint64_t position = 0;
    while (!traffic_stopping(traffic)) {
        test_pattern_fill(out, position, sizeof(out));
        bool ok = test_socket_send_all(traffic->fd, out, sizeof(out)) &&
                  test_socket_recv_exact(traffic->fd, in, sizeof(in)) &&
                  memcmp(in, out, sizeof(in)) == 0;
        pthread_mutex_lock(&traffic->lock);
        if (ok)
            traffic->bytes += sizeof(out);
        else
            traffic->failed = true;
        pthread_mutex_unlock(&traffic->lock);
        if (!ok)
            break;
        position += sizeof(out);
    }
    return NULL;
}

static uint64_t traffic_bytes(struct traffic *traffic)
{
    pthread_mutex_lock(&traffic->lock);
    uint64_t bytes = traffic->bytes;
    pthread_mutex_unlock(&traffic->lock);
    return bytes;
}

/* What session i asks in a round: admins vary the command, regular users ask for their own. */
static struct admin_request session_request(size_t session, int round)
{
    if (session % 5 == 4)
        return request_user(ADMIN_CMD_USER_METRICS, "");
    switch ((session + (size_t)round) % 4) {
    case 0: return request_of(ADMIN_CMD_METRICS);
    case 1: return request_connections("", ADMIN_CONNECTIONS_BOTH, 0, 20);
    case 2: return request_of(ADMIN_CMD_SERVER_INFO);
    default: return request_of(ADMIN_CMD_PING);
    }
}

START_TEST(test_fifty_sessions_during_traffic)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert_ptr_nonnull(echo);
    /* Warm the login cache so that 50 logins do not all wait for crypt. */
    admin_client_close(OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN));
    admin_client_close(OPEN_SESSION(port, BOB, BOB_PASSWORD, ADMIN_ROLE_USER));

    static struct traffic traffic[TRAFFIC_TUNNELS];
    for (size_t i = 0; i < TRAFFIC_TUNNELS; i++) {
        memset(&traffic[i], 0, sizeof(traffic[i]));
        pthread_mutex_init(&traffic[i].lock, NULL);
        traffic[i].fd = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, upstream_server_port(echo));
        ck_assert_int_eq(pthread_create(&traffic[i].thread, NULL, traffic_main, &traffic[i]), 0);
    }

    /* 50 connections, 50 logins sent before any reply is read. */
    struct admin_client *sessions[SESSIONS];
    for (size_t i = 0; i < SESSIONS; i++) {
        sessions[i] = admin_client_connect(port, NULL);
        ck_assert_msg(sessions[i] != NULL, "session %zu: %s", i, why());
        bool regular = i % 5 == 4;
        ck_assert(admin_client_send_login(sessions[i], regular ? BOB : ROOT,
                                          regular ? BOB_PASSWORD : ROOT_PASSWORD));
    }
    for (size_t i = 0; i < SESSIONS; i++) {
        struct admin_login_reply login;
        ck_assert_msg(admin_client_read_login_reply(sessions[i], &login), "session %zu: %s", i,
                      why());
        ck_assert_msg(login.status == ADMIN_STATUS_OK, "session %zu: login 0x%02x", i,
                      login.status);
        ck_assert_uint_eq(login.role, i % 5 == 4 ? ADMIN_ROLE_USER : ADMIN_ROLE_ADMIN);
    }
    /* Rounds: every session sends, then every answer is read. Sessions are answered in no
     * promised order, so each session's byte count only grows from its own last one. */
    static uint64_t bytes_before[SESSIONS];
    memset(bytes_before, 0, sizeof(bytes_before));
    for (int round = 0; round < 6; round++) {
        for (size_t i = 0; i < SESSIONS; i++) {
            struct admin_request request = session_request(i, round);
            ck_assert_msg(admin_client_send_request(sessions[i], &request), "session %zu: %s", i,
                          why());
        }
        for (size_t i = 0; i < SESSIONS; i++) {
            struct admin_reply reply;
            ck_assert_msg(read_reply(sessions[i], &reply), "round %d session %zu: %s", round, i,
                          why());
            ck_assert_msg(reply.status == ADMIN_STATUS_OK, "round %d session %zu: 0x%02x %s", round,
                          i, reply.status, reply.body);
            struct admin_request request = session_request(i, round);
            if (request.command == ADMIN_CMD_SERVER_INFO) {
                call_line = __LINE__;
                ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_ADMIN_SESSIONS), SESSIONS);
            }
            if (request.command == ADMIN_CMD_METRICS) {
                call_line = __LINE__;
                uint64_t bytes = record_u64(&reply, ADMIN_KEY_BYTES_UP);
                ck_assert_uint_ge(bytes, bytes_before[i]);
                bytes_before[i] = bytes;
                ck_assert_uint_ge(record_u64(&reply, ADMIN_KEY_CONNECTIONS_CURRENT),
                                  TRAFFIC_TUNNELS);
            }
            reply_free(&reply);
        }
    }
    /* The traffic went on meanwhile. */
    uint64_t moved = 0;
    for (size_t i = 0; i < TRAFFIC_TUNNELS; i++) {
        int64_t deadline = test_now_ms() + WAIT_MS;
        while (traffic_bytes(&traffic[i]) < 4 * TRAFFIC_CHUNK && test_now_ms() < deadline)
            test_sleep_ms(10);
    }
    for (size_t i = 0; i < TRAFFIC_TUNNELS; i++) {
        pthread_mutex_lock(&traffic[i].lock);
        traffic[i].stop = 1;
        pthread_mutex_unlock(&traffic[i].lock);
    }
    for (size_t i = 0; i < TRAFFIC_TUNNELS; i++) {
        pthread_join(traffic[i].thread, NULL);
        close(traffic[i].fd);
        pthread_mutex_destroy(&traffic[i].lock);
        ck_assert_msg(!traffic[i].failed, "tunnel %zu broke under admin load", i);
        ck_assert_uint_ge(traffic[i].bytes, 4 * TRAFFIC_CHUNK);
        moved += traffic[i].bytes;
    }
    WAIT_LIVE(sessions[0], BOB, 0);
    ck_assert_uint_eq(FETCH_U64(sessions[0], request_of(ADMIN_CMD_METRICS), ADMIN_KEY_BYTES_UP),
                      moved);
    ck_assert_uint_eq(FETCH_U64(sessions[0], request_of(ADMIN_CMD_METRICS), ADMIN_KEY_BYTES_DOWN),
                      moved);
    for (size_t i = 0; i < SESSIONS; i++)
        admin_client_close(sessions[i]);
    upstream_server_stop(echo);
    stop_server(server);
}
END_TEST

/* ================================ connections paging ================================ */

static void expect_page_ids(const struct connection_page *page, const struct connection_page *all,
                            size_t from, size_t count)
{
    ck_assert_msg(page->total == all->total && page->count == count,
                  "line %d: page total %llu count %zu, expected total %llu count %zu", call_line,
                  (unsigned long long)page->total, page->count, (unsigned long long)all->total,
                  count);
    for (size_t i = 0; i < count; i++)
        ck_assert_msg(page->rows[i].id == all->rows[from + i].id,
                      "line %d: row %zu has id %llu, not %llu", call_line, i,
                      (unsigned long long)page->rows[i].id,
                      (unsigned long long)all->rows[from + i].id);
}

static void check_page(struct admin_client *admin, const struct connection_page *all,
                       uint32_t offset, uint32_t limit)
{
    struct connection_page page =
        list_connections(admin, "", ADMIN_CONNECTIONS_BOTH, offset, limit);
    ck_assert_uint_eq(page.offset, offset);
    size_t left = offset < all->count ? all->count - offset : 0;
    size_t count = limit == 0 || limit > left ? left : limit;
    expect_page_ids(&page, all, offset < all->count ? offset : 0, count);
    page_free(&page);
}
#define CHECK_PAGE(admin, all, offset, limit) \
    (call_line = __LINE__, check_page((admin), (all), (offset), (limit)))

START_TEST(test_connections_paging_and_closing)
{
    const char *args[] = { ARG_ROOT, ARG_BOB, ARG_DAVE, "--history", "100", NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *exchange = upstream_server_start(UPSTREAM_EXCHANGE, 10, 20);
    struct upstream_server *echo = upstream_server_start(UPSTREAM_ECHO, 0, 0);
    ck_assert(exchange != NULL && echo != NULL);
    uint16_t exchange_port = upstream_server_port(exchange), echo_port = upstream_server_port(echo);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);
    /* Finished, live and finished again, interleaved: 4 + 2 finished, 3 + 1 live. */
    int bob_live[3], dave_live;
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, exchange_port), 10, 20);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, DAVE, DAVE_PASSWORD, exchange_port), 10, 20);
    bob_live[0] = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, echo_port);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, exchange_port), 10, 20);
    dave_live = OPEN_TUNNEL(socks, DAVE, DAVE_PASSWORD, echo_port);
    bob_live[1] = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, echo_port);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, exchange_port), 10, 20);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, DAVE, DAVE_PASSWORD, exchange_port), 10, 20);
    bob_live[2] = OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, echo_port);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, exchange_port), 10, 20);
    for (size_t i = 0; i < 3; i++)
        ECHO_ROUND(bob_live[i], 33);
    ECHO_ROUND(dave_live, 44);
    WAIT_LIVE(admin, BOB, 3);
    WAIT_LIVE(admin, DAVE, 1);

    /* live / recent / both, for everybody and for one user */
    struct connection_page all = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_BOTH, 0, 0);
    ck_assert_uint_eq(all.total, 10);
    ck_assert_uint_eq(all.count, 10);
    ck_assert_uint_eq(page_count_state(&all, "live"), 4);
    ck_assert_uint_eq(page_count_state(&all, "closed"), 6);
    struct connection_page page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.total, 4);
    ck_assert_uint_eq(page_count_state(&page, "live"), 4);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, 6);
    ck_assert_uint_eq(page_count_state(&page, "closed"), 6);
    for (size_t i = 0; i < page.count; i++) {
        ck_assert_uint_eq(page.rows[i].bytes_up, 10);
        ck_assert_uint_eq(page.rows[i].bytes_down, 20);
        ck_assert_str_eq(page.rows[i].status, "0");
    }
    page_free(&page);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_BOTH, 0, 0);
    ck_assert_uint_eq(page.total, 7);
    for (size_t i = 0; i < page.count; i++)
        ck_assert_str_eq(page.rows[i].user, BOB);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.total, 3);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, DAVE, ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, 2);
    page_free(&page);

    /* offset and limit: slices of the same ascending list; total never changes */
    CHECK_PAGE(admin, &all, 0, 3);
    CHECK_PAGE(admin, &all, 2, 3);
    CHECK_PAGE(admin, &all, 8, 5);
    CHECK_PAGE(admin, &all, 9, 1);
    CHECK_PAGE(admin, &all, 10, 0);
    CHECK_PAGE(admin, &all, 10, 4);
    CHECK_PAGE(admin, &all, 1000, 1);
    CHECK_PAGE(admin, &all, UINT32_MAX, UINT32_MAX);
    CHECK_PAGE(admin, &all, 3, 0);
    for (uint32_t offset = 0; offset < 10; offset++)
        CHECK_PAGE(admin, &all, offset, 1);

    /* A client that has connected but sent nothing: everybody's live list shows it as "-". */
    int silent = test_socket_connect(socks, NULL);
    ck_assert_int_ge(silent, 0);
    char silent_client[64];
    local_address(silent, silent_client);
    int64_t deadline = test_now_ms() + WAIT_MS;
    const struct connection_row *row = NULL;
    for (;;) {
        page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_LIVE, 0, 0);
        row = page_find_client(&page, silent_client);
        if (row != NULL)
            break;
        page_free(&page);
        ck_assert_msg(test_now_ms() < deadline, "the silent client never showed up");
        test_sleep_ms(10);
    }
    ck_assert_uint_eq(page.total, 5);
    ck_assert_str_eq(row->user, "-");
    ck_assert_str_eq(row->destination, "-");
    ck_assert_str_eq(row->destination_address, "-");
    ck_assert_str_eq(row->status, "-");
    EXPECT_OK(admin, request_close_connection(row->id));
    page_free(&page);
    EXPECT_TUNNEL_CLOSED(silent);

    /* close-connection: one of bob's, found by its client address */
    char client[64];
    local_address(bob_live[1], client);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_LIVE, 0, 0);
    row = page_find_client(&page, client);
    ck_assert_msg(row != NULL, "no live row for %s", client);
    uint64_t closed_id = row->id;
    page_free(&page);
    EXPECT_OK(admin, request_close_connection(closed_id));
    EXPECT_TUNNEL_CLOSED(bob_live[1]);
    EXPECT(admin, request_close_connection(closed_id), ADMIN_STATUS_NOT_FOUND);
    ECHO_ROUND(bob_live[0], 10); /* the others are untouched */
    ECHO_ROUND(bob_live[2], 10);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.total, 2);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, BOB, ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, 5);
    bool among_recent = false; /* now among the recent */
    for (size_t i = 0; i < page.count; i++)
        among_recent |= page.rows[i].id == closed_id && strcmp(page.rows[i].state, "closed") == 0;
    ck_assert_msg(among_recent, "connection %llu is not among the recent ones",
                  (unsigned long long)closed_id);
    page_free(&page);

    /* close-user-connections: a count, then nothing left to close */
    ck_assert_uint_eq(
        FETCH_U64(admin, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, BOB), ADMIN_KEY_CLOSED), 2);
    EXPECT_TUNNEL_CLOSED(bob_live[0]);
    EXPECT_TUNNEL_CLOSED(bob_live[2]);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, BOB), ADMIN_KEY_CLOSED), 0);
    ECHO_ROUND(dave_live, 10);
    ck_assert_uint_eq(
        FETCH_U64(admin, request_user(ADMIN_CMD_CLOSE_USER_CONNECTIONS, DAVE), ADMIN_KEY_CLOSED),
        1);
    EXPECT_TUNNEL_CLOSED(dave_live);
    page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_LIVE, 0, 0);
    ck_assert_uint_eq(page.total, 0);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_BOTH, 0, 0);
    ck_assert_uint_eq(page.total,
                      10); /* every tunnel, now all closed; the silent one had no user */
    ck_assert_uint_eq(page_count_state(&page, "closed"), 10);
    page_free(&page);

    page_free(&all);
    admin_client_close(admin);
    upstream_server_stop(exchange);
    upstream_server_stop(echo);
    stop_server(server);
}
END_TEST

/* ==================================== settings ==================================== */

START_TEST(test_settings_no_auth_and_buffer_size)
{
    enum { UP = 50000, DOWN = 250000 };
    const char *args[] = { ARG_ROOT, ARG_BOB, NULL };
    struct server_process *server = start_server(args);
    uint16_t port = server_process_admin_port(server), socks = server_process_socks_port(server);
    struct upstream_server *exchange = upstream_server_start(UPSTREAM_EXCHANGE, UP, DOWN);
    ck_assert_ptr_nonnull(exchange);
    uint16_t target = upstream_server_port(exchange);
    struct admin_client *admin = OPEN_SESSION(port, ROOT, ROOT_PASSWORD, ADMIN_ROLE_ADMIN);

    /* No-auth clients: refused, allowed (as anonymous), refused again. */
    ck_assert_int_eq(tunnel_result(socks, NULL, NULL, target), SOCKS_NO_METHOD);
    EXPECT_OK(admin, request_set_no_auth(1));
    RUN_EXCHANGE(OPEN_TUNNEL(socks, NULL, NULL, target), UP, DOWN);
    RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, target), UP,
                 DOWN); /* passwords still work */
    WAIT_LIVE(admin, ADMIN_ANONYMOUS_USER, 0);
    struct admin_reply reply =
        CALL_OK(admin, request_user(ADMIN_CMD_USER_METRICS, ADMIN_ANONYMOUS_USER));
    char text[64];
    record_text(&reply, ADMIN_KEY_USER, text, sizeof(text));
    ck_assert_str_eq(text, ADMIN_ANONYMOUS_USER);
    record_text(&reply, ADMIN_KEY_ROLE, text, sizeof(text));
    ck_assert_str_eq(text, ADMIN_TEXT_ROLE_NONE);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_CONNECTIONS_TOTAL), 1);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_UP), UP);
    ck_assert_uint_eq(record_u64(&reply, ADMIN_KEY_BYTES_DOWN), DOWN);
    reply_free(&reply);
    struct connection_page page =
        LIST_CONNECTIONS(admin, ADMIN_ANONYMOUS_USER, ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, 1);
    ck_assert_str_eq(page.rows[0].user, ADMIN_ANONYMOUS_USER);
    ck_assert_uint_eq(page.rows[0].bytes_down, DOWN);
    page_free(&page);
    page = LIST_CONNECTIONS(admin, "", ADMIN_CONNECTIONS_RECENT, 0, 0);
    ck_assert_uint_eq(page.total, 2); /* anonymous's and bob's */
    page_free(&page);
    char names[256];
    struct user_row row;
    bool found;
    LIST_USERS(admin, names, NULL, &row, &found);
    ck_assert_str_eq(names, "bob,root"); /* anonymous is no user */
    EXPECT_OK(admin, request_set_no_auth(0));
    ck_assert_int_eq(tunnel_result(socks, NULL, NULL, target), SOCKS_NO_METHOD);
    ck_assert_uint_eq(FETCH_U64(admin, request_user(ADMIN_CMD_USER_METRICS, ADMIN_ANONYMOUS_USER),
                                ADMIN_KEY_CONNECTIONS_TOTAL),
                      1);

    /* Buffer size: round trips, bounds, refusals that change nothing; tunnels work at each. */
    ck_assert_uint_eq(
        FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE), 16384);
    static const uint32_t sizes[] = { 2000, 512, 16777216, 65536 };
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        EXPECT_OK(admin, request_set_buffer_size(sizes[i]));
        ck_assert_uint_eq(
            FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE),
            sizes[i]);
        ck_assert_uint_eq(
            FETCH_U64(admin, request_of(ADMIN_CMD_SERVER_INFO), ADMIN_KEY_BUFFER_SIZE), sizes[i]);
        RUN_EXCHANGE(OPEN_TUNNEL(socks, BOB, BOB_PASSWORD, target), UP, DOWN);
        EXPECT(admin, request_set_buffer_size(511), ADMIN_STATUS_BAD_REQUEST);
        EXPECT(admin, request_set_buffer_size(16777217), ADMIN_STATUS_BAD_REQUEST);
        ck_assert_uint_eq(
            FETCH_U64(admin, request_of(ADMIN_CMD_GET_BUFFER_SIZE), ADMIN_KEY_BUFFER_SIZE),
            sizes[i]);
    }
    ck_assert(upstream_server_ok(exchange));
    admin_client_close(admin);
    upstream_server_stop(exchange);
    stop_server(server);
}
END_TEST

/* ==================================== suite ==================================== */

static Suite *admin_server_suite(void)
{
    Suite *suite = suite_create("admin_server");
    struct {
        const char *name;
        const TTest *test;
    } cases[] = {
        { "every_command", test_every_command_succeeds },
        { "status_01_session_limit", test_session_limit_answers_server_error },
        { "status_02_bad_request", test_bad_requests },
        { "status_03_unauthenticated", test_bad_login_unauthenticated },
        { "status_04_roles", test_regular_user_is_confined_to_self },
        { "status_05_06_not_found_exists", test_not_found_and_already_exists },
        { "status_07_version", test_unsupported_version },
        { "status_08_unknown_command", test_unknown_command_keeps_session },
        { "status_09_last_admin", test_last_admin_cannot_go },
        { "users_table_order", test_users_table_order },
        { "remove_user", test_remove_user_ends_tunnels_and_sessions },
        { "thousand_requests", test_session_survives_a_thousand_requests },
        { "metrics_curl", test_metrics_match_curl_transfer },
        { "metrics_raw", test_metrics_match_exact_raw_transfer },
        { "persistence", test_users_survive_restart_and_kill },
        { "malformed_frames", test_malformed_frames },
        { "fifty_sessions", test_fifty_sessions_during_traffic },
        { "connections_paging", test_connections_paging_and_closing },
        { "settings", test_settings_no_auth_and_buffer_size },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tcase = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tcase, setup, teardown);
        tcase_set_timeout(tcase, 120); /* only enforced with CK_FORK=yes */
        tcase_add_test(tcase, cases[i].test);
        suite_add_tcase(suite, tcase);
    }
    return suite;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    SRunner *runner = srunner_create(admin_server_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
