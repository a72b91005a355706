/* test_admin_protocol: checks the admin protocol v2 library — every message and command
 * round-trips, bad frames fail the same whole or byte by byte, and PROTOCOL.md's examples match. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_metrics.h"
#include "admin_protocol.h"
#include "admin_text.h"

/* ---- Helpers ---- */

/* A deterministic generator, so a failure can be replayed. */
static uint32_t random_state = 0x12345678u;
static uint32_t random_next(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 17;
    random_state ^= random_state << 5;
    return random_state;
}

static void fill_str8(struct admin_str8 *str, size_t length, char seed)
{
    char text[ADMIN_STR8_MAX + 1];
    for (size_t i = 0; i < length; i++)
        text[i] = (char)('a' + (seed + i) % 26);
    text[length] = '\0';
    ck_assert(admin_str8_set(str, text));
}

/* ---- PROTOCOL.md ---- */

static char *spec;
static size_t spec_length;

static void spec_load(void)
{
    if (spec != NULL)
        return;
    /* The sources sit at <root>/tests/unit/ and the spec at <root>/protocol/. */
    const char *file = __FILE__;
    const char *tests = strstr(file, "tests/unit/");
    ck_assert_msg(tests != NULL, "cannot locate the source tree from %s", file);
    char path[4096];
    snprintf(path, sizeof(path), "%.*sprotocol/PROTOCOL.md", (int)(tests - file), file);
    FILE *stream = fopen(path, "rb");
    ck_assert_msg(stream != NULL, "cannot open %s", path);
    fseek(stream, 0, SEEK_END);
    long size = ftell(stream);
    fseek(stream, 0, SEEK_SET);
    spec = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(spec);
    ck_assert_uint_eq(fread(spec, 1, (size_t)size, stream), (size_t)size);
    spec[size] = '\0';
    spec_length = (size_t)size;
    fclose(stream);
}

/* The text of the fenced block right after <!-- kind:id -->, each line with its LF. */
static void spec_block(const char *kind, const char *id, const char **text, size_t *length)
{
    spec_load();
    char marker[128];
    snprintf(marker, sizeof(marker), "<!-- %s:%s -->\n```\n", kind, id);
    const char *start = strstr(spec, marker);
    ck_assert_msg(start != NULL, "PROTOCOL.md has no example %s:%s", kind, id);
    start += strlen(marker);
    const char *end = strstr(start, "```\n");
    ck_assert_ptr_nonnull(end);
    *text = start;
    *length = (size_t)(end - start);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Reads a hex block: pairs of lowercase hex digits; "; ..." comments run to the line's end. */
static size_t spec_hex(const char *id, uint8_t *out, size_t capacity)
{
    const char *text;
    size_t length, count = 0;
    spec_block("hex", id, &text, &length);
    for (size_t i = 0; i < length;) {
        char c = text[i];
        if (c == ';') {
            while (i < length && text[i] != '\n')
                i++;
        } else if (c == ' ' || c == '\n') {
            i++;
        } else {
            ck_assert_msg(i + 1 < length && hex_digit(c) >= 0 && hex_digit(text[i + 1]) >= 0,
                          "bad hex in example %s", id);
            ck_assert(i + 2 >= length || text[i + 2] == ' ' || text[i + 2] == '\n');
            ck_assert(count < capacity);
            out[count++] = (uint8_t)(hex_digit(c) << 4 | hex_digit(text[i + 1]));
            i += 2;
        }
    }
    return count;
}

static void assert_bytes_equal(const char *what, const uint8_t *got, size_t got_length,
                               const uint8_t *expected, size_t expected_length)
{
    ck_assert_msg(got_length == expected_length, "%s: %zu bytes, spec shows %zu", what,
                  got_length, expected_length);
    for (size_t i = 0; i < got_length; i++)
        ck_assert_msg(got[i] == expected[i], "%s: byte %zu is %02x, spec shows %02x", what, i,
                      got[i], expected[i]);
}

/* ---- The examples, as the library builds them ---- */

static size_t build_request(uint8_t *out, struct admin_request *request)
{
    const char *problem;
    ck_assert_int_eq(admin_request_validate(request, &problem), ADMIN_STATUS_OK);
    size_t length = admin_request_encode(request, out, ADMIN_REQUEST_FRAME_MAX);
    ck_assert_uint_gt(length, 0);
    return length;
}

static size_t example_login_request(uint8_t *out)
{
    return admin_login_request_encode(out, "alice", 5, "secret", 6);
}

static size_t example_login_reply_admin(uint8_t *out)
{
    return admin_login_reply_encode(out, ADMIN_STATUS_OK, ADMIN_ROLE_ADMIN);
}

static size_t example_login_reply_unauthenticated(uint8_t *out)
{
    return admin_login_reply_encode(out, ADMIN_STATUS_UNAUTHENTICATED, ADMIN_ROLE_USER);
}

static size_t example_login_reply_unsupported_version(uint8_t *out)
{
    /* The reply the server derives from decoding a version 1 login. */
    static const uint8_t v1_login[] = {0x01, 0x00, 0x05, 'a', 'l', 'i', 'c', 'e',
                                       0x06, 's',  'e',  'c', 'r', 'e', 't'};
    struct admin_login_decoder decoder;
    size_t consumed;
    admin_login_decoder_init(&decoder);
    ck_assert_int_eq(admin_login_decoder_feed(&decoder, v1_login, sizeof(v1_login), &consumed),
                     ADMIN_DECODE_ERROR);
    return admin_login_reply_encode(out, admin_decode_error_status(decoder.error),
                                    ADMIN_ROLE_USER);
}

static size_t example_request_ping(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_PING);
    return build_request(out, &request);
}

static size_t example_response_ok_empty(uint8_t *out)
{
    return admin_response_header_encode(out, ADMIN_STATUS_OK, 0);
}

static size_t example_request_user_metrics_self(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_USER_METRICS);
    return build_request(out, &request);
}

static size_t example_request_connections(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_CONNECTIONS);
    request.args.connections.which = ADMIN_CONNECTIONS_BOTH;
    request.args.connections.offset = 0;
    request.args.connections.limit = 50;
    return build_request(out, &request);
}

static size_t example_request_add_user(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_ADD_USER);
    admin_str8_set(&request.args.add_user.user, "bob");
    admin_str8_set(&request.args.add_user.password, "hunter2");
    request.args.add_user.role = ADMIN_ROLE_USER;
    return build_request(out, &request);
}

static size_t example_request_set_role(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_ROLE);
    admin_str8_set(&request.args.set_role.user, "bob");
    request.args.set_role.role = ADMIN_ROLE_ADMIN;
    return build_request(out, &request);
}

static size_t example_request_set_password(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_PASSWORD);
    admin_str8_set(&request.args.set_password.password, "n3w-pass");
    return build_request(out, &request);
}

static size_t example_request_set_no_auth(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_NO_AUTH);
    request.args.set_no_auth.allowed = 1;
    return build_request(out, &request);
}

static size_t example_request_set_buffer_size(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_BUFFER_SIZE);
    request.args.set_buffer_size.size = 2000;
    return build_request(out, &request);
}

static size_t example_request_close_connection(uint8_t *out)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_CLOSE_CONNECTION);
    request.args.close_connection.id = 42;
    return build_request(out, &request);
}

static size_t example_response_buffer_size(uint8_t *out)
{
    struct admin_text body;
    admin_text_init(&body, ADMIN_RESPONSE_HEADER_SIZE, ADMIN_RESPONSE_BODY_MAX);
    admin_text_put_u64(&body, ADMIN_KEY_BUFFER_SIZE, 16384);
    admin_response_header_encode(admin_text_frame(&body), ADMIN_STATUS_OK,
                                 (uint32_t)admin_text_body_length(&body));
    size_t length = admin_text_frame_length(&body);
    memcpy(out, admin_text_frame(&body), length);
    admin_text_free(&body);
    return length;
}

static size_t example_response_forbidden(uint8_t *out)
{
    return admin_error_response_encode(out, ADMIN_STATUS_FORBIDDEN, "admin role required");
}

static size_t example_response_unsupported_command(uint8_t *out)
{
    return admin_error_response_format(out, ADMIN_STATUS_UNSUPPORTED_COMMAND,
                                       "unsupported command 0x%02x", 0x7f);
}

static size_t example_response_conflict(uint8_t *out)
{
    return admin_error_response_format(out, ADMIN_STATUS_CONFLICT, "%s is the last admin",
                                       "alice");
}

struct hex_example {
    const char *id;
    size_t (*build)(uint8_t *out);
};

static const struct hex_example hex_examples[] = {
    {"login-request", example_login_request},
    {"login-reply-admin", example_login_reply_admin},
    {"login-reply-unauthenticated", example_login_reply_unauthenticated},
    {"login-reply-unsupported-version", example_login_reply_unsupported_version},
    {"request-ping", example_request_ping},
    {"response-ok-empty", example_response_ok_empty},
    {"request-user-metrics-self", example_request_user_metrics_self},
    {"request-connections", example_request_connections},
    {"request-add-user", example_request_add_user},
    {"request-set-role", example_request_set_role},
    {"request-set-password", example_request_set_password},
    {"request-set-no-auth", example_request_set_no_auth},
    {"request-set-buffer-size", example_request_set_buffer_size},
    {"request-close-connection", example_request_close_connection},
    {"response-buffer-size", example_response_buffer_size},
    {"response-forbidden", example_response_forbidden},
    {"response-unsupported-command", example_response_unsupported_command},
    {"response-conflict", example_response_conflict},
};
#define HEX_EXAMPLE_COUNT (sizeof(hex_examples) / sizeof(hex_examples[0]))

static void body_user_metrics(struct admin_text *body)
{
    admin_text_put_str(body, ADMIN_KEY_USER, "alice");
    admin_text_put_str(body, ADMIN_KEY_ROLE, ADMIN_TEXT_ROLE_ADMIN);
    admin_text_put_u64(body, ADMIN_KEY_CONNECTIONS_LIVE, 2);
    admin_text_put_u64(body, ADMIN_KEY_CONNECTIONS_TOTAL, 57);
    admin_text_put_u64(body, ADMIN_KEY_BYTES_UP, 48213);
    admin_text_put_u64(body, ADMIN_KEY_BYTES_DOWN, 9912844);
    admin_text_put_u64(body, ADMIN_KEY_RULE_DENIALS, 1);
    admin_text_put_u64(body, ADMIN_KEY_DATAGRAMS_UP, 120);
    admin_text_put_u64(body, ADMIN_KEY_DATAGRAMS_DOWN, 118);
    admin_text_put_u64(body, ADMIN_KEY_USER_MAX_CONNECTIONS, 0);
    admin_text_put_u64(body, ADMIN_KEY_UPLOAD_LIMIT, 0);
    admin_text_put_u64(body, ADMIN_KEY_DOWNLOAD_LIMIT, 8388608);
    admin_text_put_u64(body, ADMIN_KEY_LIMIT_REFUSALS, 0);
    admin_text_put_str(body, ADMIN_KEY_RUNTIME_LIMITS, "download=8388608");
}

struct connection_row {
    uint64_t id;
    const char *state;
    int64_t started_ms;
    const char *user, *client, *destination, *destination_address;
    uint64_t bytes_up, bytes_down;
    const char *status; /* "-" or digits, as a server would choose */
    uint64_t duration_ms;
    const char *kind;
};

static const struct connection_row example_connections[] = {
    {15, ADMIN_TEXT_STATE_CLOSED, 1795598398500, ADMIN_ANONYMOUS_USER, "192.0.2.7:41000",
     "bad\x1b[2Jname:80", "-", 0, 0, "4", 3, "connect"},
    {17, ADMIN_TEXT_STATE_LIVE, 1795598401123, "alice", "192.0.2.7:50000", "example.org:443",
     "[2001:db8::10]:443", 5120, 204800, "0", 61250, "connect"},
    {18, ADMIN_TEXT_STATE_LIVE, 1795598430007, "-", "[2001:db8::7]:50022", "-", "-", 0, 0, "-",
     12, "connect"},
};

static void body_connections(struct admin_text *body)
{
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, 3);
    admin_text_put_u64(body, ADMIN_KEY_OFFSET, 0);
    admin_text_begin_table(body, admin_connections_columns, ADMIN_CONNECTIONS_COLUMN_COUNT);
    for (size_t i = 0; i < 3; i++) {
        const struct connection_row *row = &example_connections[i];
        admin_text_cell_u64(body, row->id);
        admin_text_cell_str(body, row->state);
        admin_text_cell_time(body, row->started_ms);
        admin_text_cell_str(body, row->user);
        admin_text_cell_str(body, row->client);
        admin_text_cell_str(body, row->destination);
        admin_text_cell_str(body, row->destination_address);
        admin_text_cell_u64(body, row->bytes_up);
        admin_text_cell_u64(body, row->bytes_down);
        admin_text_cell_str(body, row->status);
        admin_text_cell_u64(body, row->duration_ms);
        admin_text_cell_str(body, row->kind);
        admin_text_cell_str(body, ADMIN_TEXT_NONE); /* datagrams: not a udp connection */
        admin_text_cell_str(body, ADMIN_TEXT_NONE);
        admin_text_end_row(body);
    }
}

static void body_users(struct admin_text *body)
{
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, 2);
    admin_text_begin_table(body, admin_users_columns, ADMIN_USERS_COLUMN_COUNT);
    admin_text_cell_str(body, "alice");
    admin_text_cell_str(body, ADMIN_TEXT_ROLE_ADMIN);
    admin_text_cell_u64(body, 2);
    admin_text_cell_u64(body, 57);
    admin_text_cell_u64(body, 48213);
    admin_text_cell_u64(body, 9912844);
    for (int limit = 0; limit < 4; limit++)
        admin_text_cell_u64(body, 0);
    admin_text_cell_u64(body, 1203);
    admin_text_cell_u64(body, 5213884);
    admin_text_cell_u64(body, 904331877);
    admin_text_end_row(body);
    admin_text_cell_str(body, "bob");
    admin_text_cell_str(body, ADMIN_TEXT_ROLE_USER);
    admin_text_cell_u64(body, 0);
    admin_text_cell_u64(body, 3);
    admin_text_cell_u64(body, 120);
    admin_text_cell_u64(body, 4410);
    admin_text_cell_u64(body, 4);
    admin_text_cell_u64(body, 1048576);
    admin_text_cell_u64(body, 8388608);
    admin_text_cell_u64(body, 2);
    admin_text_cell_u64(body, 3);
    admin_text_cell_u64(body, 120);
    admin_text_cell_u64(body, 4410);
    admin_text_end_row(body);
}

static void body_server_info(struct admin_text *body)
{
    admin_text_put_str(body, ADMIN_KEY_SERVER, "socks5d 0.1.0");
    admin_text_put_u64(body, ADMIN_KEY_PROTOCOL_VERSION, ADMIN_PROTOCOL_VERSION);
    admin_text_put_time(body, ADMIN_KEY_STARTED, 1795597200000);
    admin_text_put_u64(body, ADMIN_KEY_UPTIME_SECONDS, 1230);
    admin_text_put_str(body, ADMIN_KEY_SOCKS_LISTENERS, "127.0.0.1:1080 [::1]:1080");
    admin_text_put_str(body, ADMIN_KEY_ADMIN_LISTENERS, "127.0.0.1:8080");
    admin_text_put_str(body, ADMIN_KEY_AUTH_MODE, ADMIN_TEXT_AUTH_PASSWORD);
    admin_text_put_u64(body, ADMIN_KEY_BUFFER_SIZE, 16384);
    admin_text_put_u64(body, ADMIN_KEY_MAX_CONNECTIONS, 10000);
    admin_text_put_u64(body, ADMIN_KEY_HANDSHAKE_TIMEOUT, 10);
    admin_text_put_u64(body, ADMIN_KEY_CONNECT_TIMEOUT, 10);
    admin_text_put_u64(body, ADMIN_KEY_IDLE_TIMEOUT, 3600);
    admin_text_put_u64(body, ADMIN_KEY_CONNECTION_HISTORY, 1000);
    admin_text_put_u64(body, ADMIN_KEY_USERS, 2);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_SESSIONS, 1);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_MAX_SESSIONS, ADMIN_MAX_SESSIONS_DEFAULT);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_AUTH_TIMEOUT, ADMIN_AUTH_TIMEOUT_SECONDS);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_IDLE_TIMEOUT, ADMIN_IDLE_TIMEOUT_SECONDS);
    admin_text_put_u64(body, ADMIN_KEY_REQUEST_BODY_MAX, ADMIN_REQUEST_BODY_MAX);
    admin_text_put_u64(body, ADMIN_KEY_RESPONSE_BODY_MAX, ADMIN_RESPONSE_BODY_MAX);
}

static void body_metrics(struct admin_text *body)
{
    static const struct {
        const char *key;
        uint64_t value;
    } counters[] = {
        {ADMIN_KEY_UPTIME_SECONDS, 1230},     {ADMIN_KEY_CONNECTIONS_TOTAL, 5120},
        {ADMIN_KEY_CONNECTIONS_CURRENT, 12},  {ADMIN_KEY_BYTES_UP, 1048576},
        {ADMIN_KEY_BYTES_DOWN, 73400320},     {ADMIN_KEY_SEND_ERRORS, 3},
        {ADMIN_KEY_RECEIVE_ERRORS, 7},        {ADMIN_KEY_DNS_ERRORS, 2},
        {ADMIN_KEY_SERVER_ERRORS, 0},         {ADMIN_KEY_UNSUPPORTED_INPUT, 4},
        {ADMIN_KEY_DNS_CONNECTIONS, 4000},    {ADMIN_KEY_IPV4_CONNECTIONS, 4900},
        {ADMIN_KEY_IPV6_CONNECTIONS, 200},    {ADMIN_KEY_AUTH_ERRORS, 9},
        {ADMIN_KEY_HOST_UNREACHABLE, 6},      {ADMIN_KEY_CONNECTION_REFUSED, 1},
        {ADMIN_KEY_ACCEPT_PAUSED, 0},         {ADMIN_KEY_RULE_DENIALS, 3},
    };
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        admin_text_put_u64(body, counters[i].key, counters[i].value);
    /* The UDP counters, and any after them, are 0 in the example. */
    for (size_t i = ADMIN_METRIC_INDEX_udp_associations; i < ADMIN_METRIC_COUNT; i++)
        admin_text_put_u64(body, admin_metrics[i].name, 0);
    /* Accounting is off in the example: every lifetime figure is "-". */
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        char key[96];
        snprintf(key, sizeof(key), ADMIN_LIFETIME_PREFIX "%s", admin_metrics[i].name);
        if (admin_metrics[i].kind == ADMIN_METRIC_COUNTER)
            admin_text_put_str(body, key, ADMIN_TEXT_NONE);
    }
    admin_text_put_str(body, ADMIN_KEY_LIFETIME_SINCE, ADMIN_TEXT_NONE);
}

static void body_close_user_connections(struct admin_text *body)
{
    admin_text_put_u64(body, ADMIN_KEY_CLOSED, 3);
}

static void body_rules(struct admin_text *body)
{
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, 2);
    admin_text_put_str(body, ADMIN_KEY_SAFE_DEFAULTS,
                       "loopback 127.0.0.0/8 ::1/128, unspecified 0.0.0.0/8 ::/128, link-local "
                       "169.254.0.0/16 fe80::/10, multicast 224.0.0.0/4 ff00::/8, broadcast "
                       "255.255.255.255/32");
    admin_text_put_bool(body, ADMIN_KEY_ALLOW_LOOPBACK, false);
    admin_text_begin_table(body, admin_rules_columns, ADMIN_RULES_COLUMN_COUNT);
    admin_text_cell_u64(body, 1);
    admin_text_cell_str(body, "ssh");
    admin_text_cell_str(body, "deny");
    admin_text_cell_str(body, "deny name=ssh to=10.0.0.0/8 port=22");
    admin_text_cell_u64(body, 4);
    admin_text_end_row(body);
    admin_text_cell_u64(body, 2);
    admin_text_cell_str(body, "-");
    admin_text_cell_str(body, "allow");
    admin_text_cell_str(body, "allow user=alice to=169.254.169.254/32 port=80");
    admin_text_cell_u64(body, 0);
    admin_text_end_row(body);
}

struct body_example {
    const char *id;
    void (*build)(struct admin_text *body);
};

static const struct body_example body_examples[] = {
    {"user-metrics", body_user_metrics},
    {"connections", body_connections},
    {"users", body_users},
    {"server-info", body_server_info},
    {"metrics", body_metrics},
    {"close-user-connections", body_close_user_connections},
    {"rules", body_rules},
};
#define BODY_EXAMPLE_COUNT (sizeof(body_examples) / sizeof(body_examples[0]))

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle))
        count++;
    return count;
}

START_TEST(spec_hex_examples_are_what_the_library_writes)
{
    for (size_t i = 0; i < HEX_EXAMPLE_COUNT; i++) {
        uint8_t expected[ADMIN_REQUEST_FRAME_MAX], built[ADMIN_REQUEST_FRAME_MAX];
        size_t expected_length = spec_hex(hex_examples[i].id, expected, sizeof(expected));
        size_t built_length = hex_examples[i].build(built);
        assert_bytes_equal(hex_examples[i].id, built, built_length, expected, expected_length);
    }
}
END_TEST

START_TEST(spec_body_examples_are_what_the_library_writes)
{
    for (size_t i = 0; i < BODY_EXAMPLE_COUNT; i++) {
        const char *expected;
        size_t expected_length;
        spec_block("body", body_examples[i].id, &expected, &expected_length);
        struct admin_text body;
        admin_text_init(&body, 0, ADMIN_RESPONSE_BODY_MAX);
        body_examples[i].build(&body);
        ck_assert(!admin_text_failed(&body));
        ck_assert_msg(admin_text_body_length(&body) == expected_length &&
                          memcmp(admin_text_body(&body), expected, expected_length) == 0,
                      "body example %s differs:\n--- spec\n%.*s--- library\n%.*s",
                      body_examples[i].id, (int)expected_length, expected,
                      (int)admin_text_body_length(&body), admin_text_body(&body));
        admin_text_free(&body);
    }
}
END_TEST

START_TEST(spec_has_no_untested_example)
{
    spec_load();
    ck_assert_uint_eq(count_occurrences(spec, "<!-- hex:"), HEX_EXAMPLE_COUNT);
    ck_assert_uint_eq(count_occurrences(spec, "<!-- body:"), BODY_EXAMPLE_COUNT);
}
END_TEST

/* ---- PROTOCOL.md 7.1, the command table, against the library's ---- */

#define SPEC_CELL_SIZE 256
#define SPEC_COMMAND_COLUMNS 5 /* CMD, Name, Arguments, Who, Result body */

/* The rows of the table under "### 7.1": every line from the first "| `0x" up to the first
 * line that is not a row. Returns the row count; rows[i] points at each line. */
static size_t spec_command_rows(const char **rows, size_t capacity)
{
    spec_load();
    const char *section = strstr(spec, "\n### 7.1 ");
    ck_assert_msg(section != NULL, "PROTOCOL.md has no section 7.1");
    const char *line = strstr(section, "\n| `0x");
    ck_assert_msg(line != NULL, "PROTOCOL.md 7.1 has no command rows");
    size_t count = 0;
    for (line++; strncmp(line, "| `0x", 5) == 0; line = strchr(line, '\n') + 1) {
        ck_assert_uint_lt(count, capacity);
        rows[count++] = line;
    }
    return count;
}

/* Splits "| a | b | c |" into trimmed cells. */
static void spec_row_cells(const char *row, char cells[SPEC_COMMAND_COLUMNS][SPEC_CELL_SIZE])
{
    const char *at = row + 1;
    for (size_t i = 0; i < SPEC_COMMAND_COLUMNS; i++) {
        const char *bar = strchr(at, '|');
        const char *line_end = strchr(at, '\n');
        ck_assert_msg(bar != NULL && bar < line_end, "short row in PROTOCOL.md 7.1: %.60s", row);
        while (*at == ' ')
            at++;
        size_t length = (size_t)(bar - at);
        while (length > 0 && at[length - 1] == ' ')
            length--;
        ck_assert_uint_lt(length, SPEC_CELL_SIZE);
        memcpy(cells[i], at, length);
        cells[i][length] = '\0';
        at = bar + 1;
    }
}

/* The Arguments cell the spec writes for a command: "`str8 user` (required), `u8 role`". */
static void spec_arguments_of(const struct admin_command_info *info, char *out, size_t size)
{
    static const char *const type_names[] = {[ADMIN_FIELD_U8] = "u8", [ADMIN_FIELD_U32] = "u32",
                                             [ADMIN_FIELD_U64] = "u64",
                                             [ADMIN_FIELD_STR8] = "str8"};
    size_t used = (size_t)snprintf(out, size, "%s", info->field_count == 0 ? "—" : "");
    for (size_t i = 0; i < info->field_count; i++) {
        const struct admin_field *field = &info->fields[i];
        used += (size_t)snprintf(out + used, size - used, "%s`%s %s`%s", i > 0 ? ", " : "",
                                 type_names[field->type], field->name,
                                 field->check == ADMIN_CHECK_NOT_EMPTY ? " (required)" : "");
        ck_assert_uint_lt(used, size);
    }
}

static const char *spec_access_of(enum admin_access access)
{
    switch (access) {
    case ADMIN_ACCESS_ANYONE: return "anyone";
    case ADMIN_ACCESS_SELF_OR_ADMIN: return "self or admin";
    case ADMIN_ACCESS_ADMIN: return "admin";
    }
    return "?";
}

/* The Result body cell starts with "empty", "record" or "table". */
static bool spec_result_is(const char *cell, enum admin_body_kind kind)
{
    static const char *const words[] = {[ADMIN_BODY_EMPTY] = "empty",
                                        [ADMIN_BODY_RECORD] = "record ",
                                        [ADMIN_BODY_TABLE] = "table "};
    return kind == ADMIN_BODY_EMPTY ? strcmp(cell, words[kind]) == 0
                                    : strncmp(cell, words[kind], strlen(words[kind])) == 0;
}

START_TEST(spec_command_table_is_the_library_table)
{
    const char *rows[256];
    size_t row_count = spec_command_rows(rows, 256);
    /* Every row is a command of the library's, exactly as the library describes it. */
    for (size_t r = 0; r < row_count; r++) {
        char cells[SPEC_COMMAND_COLUMNS][SPEC_CELL_SIZE], expected[SPEC_CELL_SIZE];
        spec_row_cells(rows[r], cells);
        unsigned code;
        ck_assert_msg(sscanf(cells[0], "`0x%2X`", &code) == 1, "bad code cell %s", cells[0]);
        const struct admin_command_info *info = admin_command_info((uint8_t)code);
        ck_assert_msg(info != NULL, "PROTOCOL.md 7.1 lists 0x%02X, the library does not", code);
        ck_assert_str_eq(cells[1], info->name);
        spec_arguments_of(info, expected, sizeof(expected));
        ck_assert_msg(strcmp(cells[2], expected) == 0, "%s arguments: spec says %s, library %s",
                      info->name, cells[2], expected);
        ck_assert_msg(strcmp(cells[3], spec_access_of(info->access)) == 0,
                      "%s: spec says %s may run it, library %s", info->name, cells[3],
                      spec_access_of(info->access));
        ck_assert_msg(spec_result_is(cells[4], info->result), "%s result: spec says %s",
                      info->name, cells[4]);
        for (size_t earlier = 0; earlier < r; earlier++)
            ck_assert_msg(strncmp(rows[earlier], rows[r], 9) != 0, "0x%02X listed twice", code);
    }
    /* And every command of the library's has its row. */
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        char row[96];
        snprintf(row, sizeof(row), "| `0x%02X` | %s |", info->code, info->name);
        ck_assert_msg(strstr(spec, row) != NULL, "PROTOCOL.md lacks the row %s", row);
    }
    ck_assert_uint_eq(row_count, admin_command_count());
}
END_TEST

START_TEST(spec_lists_every_status)
{
    spec_load();
    for (unsigned status = 0; status <= ADMIN_STATUS_MANAGED_BY_PAM; status++) {
        char row[96];
        snprintf(row, sizeof(row), "| `0x%02X` | %s |", status, admin_status_name((uint8_t)status));
        ck_assert_msg(strstr(spec, row) != NULL, "PROTOCOL.md lacks the row %s", row);
    }
}
END_TEST

/* PROTOCOL.md 8.7 holds one row per metric of the registry, in its order, with its meaning,
 * after uptime_seconds (the server's age, not a counter); and only the gauges are named as
 * the counters that do not only grow. */
START_TEST(spec_metrics_record_is_the_registry)
{
    spec_load();
    const char *section = strstr(spec, "### 8.7 metrics record");
    ck_assert_msg(section != NULL, "PROTOCOL.md has no section 8.7");
    const char *section_end = strstr(section + 1, "\n### ");
    const char *row = strstr(section, "| `uptime_seconds` |");
    ck_assert_msg(row != NULL && row < section_end, "8.7 does not start with uptime_seconds");
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        row = strchr(row, '\n') + 1;
        char expected[512];
        snprintf(expected, sizeof(expected), "| `%s` | u64 | %s |\n", admin_metrics[i].name,
                 admin_metrics[i].meaning);
        ck_assert_msg(strncmp(row, expected, strlen(expected)) == 0,
                      "PROTOCOL.md 8.7 row %zu is not %s", i + 1, expected);
        if (admin_metrics[i].kind == ADMIN_METRIC_GAUGE) {
            char named[128];
            snprintf(named, sizeof(named), "except `%s`", admin_metrics[i].name);
            ck_assert_msg(strstr(section, named) != NULL && strstr(section, named) < row,
                          "8.7 does not say %s is a level", admin_metrics[i].name);
        }
    }
    row = strchr(row, '\n') + 1;
    ck_assert_msg(row[0] != '|', "PROTOCOL.md 8.7 has a row the registry lacks: %.60s", row);
}
END_TEST

/* The spec's request examples decode back to what built them. */
START_TEST(spec_request_examples_decode)
{
    for (size_t i = 0; i < HEX_EXAMPLE_COUNT; i++) {
        if (strncmp(hex_examples[i].id, "request-", 8) != 0)
            continue;
        uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
        size_t length = spec_hex(hex_examples[i].id, frame, sizeof(frame));
        struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
        size_t consumed;
        admin_request_decoder_init(decoder);
        ck_assert_int_eq(admin_request_decoder_feed(decoder, frame, length, &consumed),
                         ADMIN_DECODE_DONE);
        ck_assert_uint_eq(consumed, length);
        struct admin_request request, again;
        const char *problem = NULL;
        ck_assert_int_eq(admin_request_parse(decoder->command, decoder->body,
                                             decoder->body_length, &request, &problem),
                         ADMIN_STATUS_OK);
        uint8_t rebuilt[ADMIN_REQUEST_FRAME_MAX];
        ck_assert_uint_eq(admin_request_encode(&request, rebuilt, sizeof(rebuilt)), length);
        ck_assert_mem_eq(rebuilt, frame, length);
        ck_assert_int_eq(admin_request_parse(rebuilt[2], rebuilt + ADMIN_REQUEST_HEADER_SIZE,
                                             length - ADMIN_REQUEST_HEADER_SIZE, &again, &problem),
                         ADMIN_STATUS_OK);
        ck_assert_mem_eq(&request, &again, sizeof(request));
        free(decoder);
    }
}
END_TEST

/* ---- Login ---- */

/* Feeds data whole or one byte at a time; returns the result and the bytes consumed. */
static enum admin_decode_result feed_login(struct admin_login_decoder *decoder, const uint8_t *data,
                                           size_t length, bool bytewise, size_t *consumed)
{
    admin_login_decoder_init(decoder);
    if (!bytewise)
        return admin_login_decoder_feed(decoder, data, length, consumed);
    enum admin_decode_result result = ADMIN_DECODE_MORE;
    *consumed = 0;
    for (size_t i = 0; i < length && result == ADMIN_DECODE_MORE; i++) {
        size_t used;
        result = admin_login_decoder_feed(decoder, data + i, 1, &used);
        *consumed += used;
    }
    return result;
}

START_TEST(login_request_round_trips)
{
    static const size_t lengths[][2] = {{1, 1}, {5, 6}, {255, 255}, {1, 255}, {255, 1}};
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
            char user[256], password[256];
            memset(user, 'u', lengths[i][0]);
            memset(password, 'p', lengths[i][1]);
            password[0] = (char)0xC3; /* any byte but NUL is fine */
            uint8_t frame[ADMIN_LOGIN_REQUEST_MAX + 3];
            size_t length = admin_login_request_encode(frame, user, lengths[i][0], password,
                                                       lengths[i][1]);
            ck_assert_uint_eq(length, 4 + lengths[i][0] + lengths[i][1]);
            frame[length] = 0xEE; /* a byte after the message must stay unconsumed */
            struct admin_login_decoder decoder;
            size_t consumed;
            ck_assert_int_eq(feed_login(&decoder, frame, length + 1, bytewise, &consumed),
                             ADMIN_DECODE_DONE);
            ck_assert_uint_eq(consumed, length);
            ck_assert_uint_eq(decoder.username_length, lengths[i][0]);
            ck_assert_uint_eq(decoder.password_length, lengths[i][1]);
            ck_assert_mem_eq(decoder.username, user, lengths[i][0]);
            ck_assert_mem_eq(decoder.password, password, lengths[i][1]);
            ck_assert_int_eq(decoder.username[lengths[i][0]], 0);
            ck_assert_int_eq(decoder.password[lengths[i][1]], 0);
            /* Done is sticky and consumes nothing more. */
            ck_assert_int_eq(admin_login_decoder_feed(&decoder, frame, 1, &consumed),
                             ADMIN_DECODE_DONE);
            ck_assert_uint_eq(consumed, 0);
            admin_login_decoder_wipe(&decoder);
            for (size_t b = 0; b < sizeof(decoder.password); b++)
                ck_assert_int_eq(decoder.password[b], 0);
        }
    }
}
END_TEST

START_TEST(login_request_encode_refuses_bad_lengths)
{
    uint8_t frame[ADMIN_LOGIN_REQUEST_MAX];
    char long_text[256];
    memset(long_text, 'x', sizeof(long_text));
    ck_assert_uint_eq(admin_login_request_encode(frame, "", 0, "p", 1), 0);
    ck_assert_uint_eq(admin_login_request_encode(frame, "u", 1, "", 0), 0);
    ck_assert_uint_eq(admin_login_request_encode(frame, long_text, 256, "p", 1), 0);
    ck_assert_uint_eq(admin_login_request_encode(frame, "u", 1, long_text, 256), 0);
}
END_TEST

START_TEST(login_request_truncated_wants_more)
{
    uint8_t frame[ADMIN_LOGIN_REQUEST_MAX];
    size_t length = admin_login_request_encode(frame, "alice", 5, "secret", 6);
    for (size_t cut = 0; cut < length; cut++) {
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            struct admin_login_decoder decoder;
            size_t consumed;
            ck_assert_int_eq(feed_login(&decoder, frame, cut, bytewise, &consumed),
                             ADMIN_DECODE_MORE);
            ck_assert_uint_eq(consumed, cut);
        }
    }
}
END_TEST

struct bad_login {
    uint8_t bytes[16];
    size_t length;
    size_t consumed; /* the byte that gives it away is consumed */
    enum admin_decode_error error;
};

static const struct bad_login bad_logins[] = {
    {{0x01, 0x00, 0x01, 'a', 0x01, 'b'}, 6, 1, ADMIN_DECODE_ERROR_VERSION},      /* v1 */
    {{0x05, 0x01, 0x02}, 3, 1, ADMIN_DECODE_ERROR_VERSION},                       /* SOCKS5 */
    {{'G', 'E', 'T', ' ', '/'}, 5, 1, ADMIN_DECODE_ERROR_VERSION},                /* HTTP */
    {{0x02, 0x01, 0x01, 'a', 0x01, 'b'}, 6, 2, ADMIN_DECODE_ERROR_RESERVED},
    {{0x02, 0x00, 0x00, 0x01, 'b'}, 5, 3, ADMIN_DECODE_ERROR_EMPTY_FIELD},
    {{0x02, 0x00, 0x01, 'a', 0x00}, 5, 5, ADMIN_DECODE_ERROR_EMPTY_FIELD},
    {{0x02, 0x00, 0x02, 'a', 0x00, 0x01, 'b'}, 7, 5, ADMIN_DECODE_ERROR_NUL_BYTE},
    {{0x02, 0x00, 0x01, 'a', 0x03, 'b', 0x00, 'c'}, 8, 7, ADMIN_DECODE_ERROR_NUL_BYTE},
};

START_TEST(login_request_garbage_fails_early)
{
    const struct bad_login *bad = &bad_logins[_i];
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct admin_login_decoder decoder;
        size_t consumed;
        ck_assert_int_eq(feed_login(&decoder, bad->bytes, bad->length, bytewise, &consumed),
                         ADMIN_DECODE_ERROR);
        ck_assert_uint_eq(consumed, bad->consumed);
        ck_assert_int_eq(decoder.error, bad->error);
        ck_assert_int_eq(admin_login_decoder_feed(&decoder, bad->bytes, 1, &consumed),
                         ADMIN_DECODE_ERROR);
        ck_assert_uint_eq(consumed, 0);
    }
    enum admin_status expected = bad->error == ADMIN_DECODE_ERROR_VERSION
                                     ? ADMIN_STATUS_UNSUPPORTED_VERSION
                                     : ADMIN_STATUS_BAD_REQUEST;
    ck_assert_int_eq(admin_decode_error_status(bad->error), expected);
}
END_TEST

static enum admin_decode_result feed_login_reply(struct admin_login_reply_decoder *decoder,
                                                 const uint8_t *data, size_t length,
                                                 bool bytewise, size_t *consumed)
{
    admin_login_reply_decoder_init(decoder);
    if (!bytewise)
        return admin_login_reply_decoder_feed(decoder, data, length, consumed);
    enum admin_decode_result result = ADMIN_DECODE_MORE;
    *consumed = 0;
    for (size_t i = 0; i < length && result == ADMIN_DECODE_MORE; i++) {
        size_t used;
        result = admin_login_reply_decoder_feed(decoder, data + i, 1, &used);
        *consumed += used;
    }
    return result;
}

START_TEST(login_reply_round_trips)
{
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        for (unsigned status = 0; status < 256; status++) {
            for (uint8_t role = 0; role <= 1; role++) {
                uint8_t frame[ADMIN_LOGIN_REPLY_SIZE + 1];
                ck_assert_uint_eq(admin_login_reply_encode(frame, (uint8_t)status, role), 4);
                frame[4] = 0x02;
                struct admin_login_reply_decoder decoder;
                size_t consumed;
                ck_assert_int_eq(feed_login_reply(&decoder, frame, 5, bytewise, &consumed),
                                 ADMIN_DECODE_DONE);
                ck_assert_uint_eq(consumed, 4);
                ck_assert_uint_eq(decoder.reply.status, status);
                ck_assert_uint_eq(decoder.reply.role, role);
                for (size_t cut = 0; cut < 4; cut++) {
                    ck_assert_int_eq(feed_login_reply(&decoder, frame, cut, bytewise, &consumed),
                                     ADMIN_DECODE_MORE);
                    ck_assert_uint_eq(consumed, cut);
                }
            }
        }
    }
}
END_TEST

START_TEST(login_reply_rejects_garbage)
{
    static const struct {
        uint8_t bytes[4];
        size_t consumed;
        enum admin_decode_error error;
    } cases[] = {
        {{0x01, 0x00, 0x00, 0x01}, 1, ADMIN_DECODE_ERROR_VERSION},
        {{0x02, 0x07, 0x00, 0x01}, 2, ADMIN_DECODE_ERROR_RESERVED},
        {{0x02, 0x00, 0x00, 0x02}, 4, ADMIN_DECODE_ERROR_BAD_ROLE},
        {{0x02, 0x00, 0x00, 0xFF}, 4, ADMIN_DECODE_ERROR_BAD_ROLE},
    };
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct admin_login_reply_decoder decoder;
            size_t consumed;
            ck_assert_int_eq(feed_login_reply(&decoder, cases[i].bytes, 4, bytewise, &consumed),
                             ADMIN_DECODE_ERROR);
            ck_assert_uint_eq(consumed, cases[i].consumed);
            ck_assert_int_eq(decoder.error, cases[i].error);
        }
    }
}
END_TEST

/* ---- Requests ---- */

static enum admin_decode_result feed_request(struct admin_request_decoder *decoder,
                                             const uint8_t *data, size_t length, bool bytewise,
                                             size_t *consumed)
{
    admin_request_decoder_init(decoder);
    if (!bytewise)
        return admin_request_decoder_feed(decoder, data, length, consumed);
    enum admin_decode_result result = ADMIN_DECODE_MORE;
    *consumed = 0;
    for (size_t i = 0; i < length && result == ADMIN_DECODE_MORE; i++) {
        size_t used;
        result = admin_request_decoder_feed(decoder, data + i, 1, &used);
        *consumed += used;
    }
    return result;
}

/* A request with every argument set to something unlike its neighbours'. */
static void fill_arguments(struct admin_request *request, uint8_t command, size_t variant)
{
    admin_request_init(request, command);
    const struct admin_command_info *info = admin_command_info(command);
    for (size_t f = 0; f < info->field_count; f++) {
        const struct admin_field *field = &info->fields[f];
        void *value = (char *)request + field->offset;
        switch (field->type) {
        case ADMIN_FIELD_U8:
            *(uint8_t *)value = (uint8_t)(variant % 2); /* valid for role, flag and which */
            if (field->check == ADMIN_CHECK_WHICH)
                *(uint8_t *)value = (uint8_t)(variant % 3);
            break;
        case ADMIN_FIELD_U32:
            *(uint32_t *)value = variant == 0 ? UINT32_MAX : (uint32_t)(0x01020304u * variant);
            break;
        case ADMIN_FIELD_U64:
            *(uint64_t *)value = variant == 0 ? UINT64_MAX : 0x0102030405060708ull * variant;
            break;
        case ADMIN_FIELD_STR8: {
            size_t lengths[] = {255, 1, 17};
            size_t length = lengths[variant % 3];
            if (field->check == ADMIN_CHECK_NONE && variant == 1)
                length = 0;
            fill_str8(value, length, (char)(f * 7 + variant));
            if (field->check == ADMIN_CHECK_HISTORY_STATUS) {
                static const char *const statuses[] = {"255", "", "failed"};
                memset(value, 0, sizeof(struct admin_str8)); /* as a parse leaves it */
                admin_str8_set(value, statuses[variant % 3]);
            }
            break;
        }
        }
    }
}

START_TEST(every_command_round_trips)
{
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        for (size_t variant = 0; variant < 3; variant++) {
            struct admin_request request, parsed;
            fill_arguments(&request, info->code, variant);
            const char *problem = NULL;
            ck_assert_int_eq(admin_request_validate(&request, &problem), ADMIN_STATUS_OK);
            uint8_t frame[ADMIN_REQUEST_FRAME_MAX + 1];
            size_t length = admin_request_encode(&request, frame, sizeof(frame));
            ck_assert_uint_gt(length, 0);
            ck_assert_uint_eq(frame[0], ADMIN_PROTOCOL_VERSION);
            ck_assert_uint_eq(frame[2], info->code);
            /* Too little room: nothing written. */
            ck_assert_uint_eq(admin_request_encode(&request, frame, length - 1), 0);
            frame[length] = 0x02; /* the start of a next frame stays unconsumed */
            for (int bytewise = 0; bytewise < 2; bytewise++) {
                struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
                size_t consumed;
                ck_assert_int_eq(feed_request(decoder, frame, length + 1, bytewise, &consumed),
                                 ADMIN_DECODE_DONE);
                ck_assert_uint_eq(consumed, length);
                ck_assert_uint_eq(decoder->command, info->code);
                ck_assert_uint_eq(decoder->body_length, length - ADMIN_REQUEST_HEADER_SIZE);
                ck_assert_int_eq(admin_request_parse(decoder->command, decoder->body,
                                                     decoder->body_length, &parsed, &problem),
                                 ADMIN_STATUS_OK);
                ck_assert_mem_eq(&parsed, &request, sizeof(request));
                free(decoder);
            }
        }
    }
}
END_TEST

START_TEST(request_body_of_the_wrong_length_is_a_bad_request)
{
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        struct admin_request request, parsed;
        fill_arguments(&request, info->code, 2);
        uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
        size_t length = admin_request_encode(&request, frame, sizeof(frame));
        const uint8_t *body = frame + ADMIN_REQUEST_HEADER_SIZE;
        size_t body_length = length - ADMIN_REQUEST_HEADER_SIZE;
        const char *problem = NULL;
        /* Every shorter body, and one byte too many. */
        for (size_t cut = 0; cut < body_length; cut++) {
            ck_assert_int_eq(admin_request_parse(info->code, body, cut, &parsed, &problem),
                             ADMIN_STATUS_BAD_REQUEST);
            ck_assert_ptr_nonnull(problem);
        }
        frame[length] = 0;
        ck_assert_int_eq(admin_request_parse(info->code, body, body_length + 1, &parsed,
                                             &problem),
                         ADMIN_STATUS_BAD_REQUEST);
        ck_assert_str_eq(problem, "body is longer than the command's layout");
    }
}
END_TEST

START_TEST(request_values_are_checked)
{
    struct admin_request parsed;
    const char *problem;
    static const struct {
        uint8_t command;
        uint8_t body[16];
        size_t length;
        const char *problem;
    } cases[] = {
        {ADMIN_CMD_ADD_USER, {0x00, 0x01, 'p', 0x00}, 4, "user name and password must not be empty"},
        {ADMIN_CMD_ADD_USER, {0x01, 'u', 0x00, 0x00}, 4, "user name and password must not be empty"},
        {ADMIN_CMD_ADD_USER, {0x01, 'u', 0x01, 'p', 0x02}, 5, "role must be 0 (user) or 1 (admin)"},
        {ADMIN_CMD_ADD_USER, {0x02, 'u', 0x00, 0x01, 'p', 0x00}, 6, "a string holds a NUL byte"},
        {ADMIN_CMD_SET_ROLE, {0x01, 'u', 0xFF}, 3, "role must be 0 (user) or 1 (admin)"},
        {ADMIN_CMD_REMOVE_USER, {0x00}, 1, "user name and password must not be empty"},
        {ADMIN_CMD_CLOSE_USER_CONNECTIONS, {0x00}, 1, "user name and password must not be empty"},
        {ADMIN_CMD_SET_PASSWORD, {0x00, 0x00}, 2, "user name and password must not be empty"},
        {ADMIN_CMD_SET_NO_AUTH, {0x02}, 1, "flag must be 0 or 1"},
        {ADMIN_CMD_CONNECTIONS, {0x00, 0x03, 0, 0, 0, 0, 0, 0, 0, 0}, 10,
         "which must be 0 (live), 1 (recent) or 2 (both)"},
        {ADMIN_CMD_USER_METRICS, {0x05, 'a'}, 2, "a string runs past the end of the body"},
        {ADMIN_CMD_SET_BUFFER_SIZE, {0x00, 0x00, 0x07}, 3, "body is shorter than the command's layout"},
        {ADMIN_CMD_PING, {0x00}, 1, "body is longer than the command's layout"},
        {ADMIN_CMD_RESET_USAGE, {0x01}, 1, "a string runs past the end of the body"},
        {ADMIN_CMD_RESET_USAGE, {0x01, 0x00}, 2, "a string holds a NUL byte"},
        {ADMIN_CMD_HISTORY, {0x00, 0x00, 0x00}, 3, "body is shorter than the command's layout"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(admin_request_parse(cases[i].command, cases[i].body, cases[i].length,
                                             &parsed, &problem),
                         ADMIN_STATUS_BAD_REQUEST);
        ck_assert_str_eq(problem, cases[i].problem);
    }
    /* A client can ask the same questions before sending. */
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_SET_ROLE);
    admin_str8_set(&request.args.set_role.user, "bob");
    request.args.set_role.role = 7;
    ck_assert_int_eq(admin_request_validate(&request, &problem), ADMIN_STATUS_BAD_REQUEST);
    request.args.set_role.role = ADMIN_ROLE_ADMIN;
    ck_assert_int_eq(admin_request_validate(&request, &problem), ADMIN_STATUS_OK);
    request.args.set_role.user.text[1] = '\0'; /* a NUL inside the length */
    ck_assert_int_eq(admin_request_validate(&request, &problem), ADMIN_STATUS_BAD_REQUEST);
}
END_TEST

/* A history body: user, destination, status, then since, until, before and limit. */
static size_t history_body(uint8_t *out, const char *user, const char *destination,
                           const char *status, uint64_t since, uint64_t until, uint64_t before,
                           uint32_t limit)
{
    size_t at = 0;
    const char *strings[] = {user, destination, status};
    for (size_t i = 0; i < 3; i++) {
        out[at++] = (uint8_t)strlen(strings[i]);
        memcpy(out + at, strings[i], strlen(strings[i]));
        at += strlen(strings[i]);
    }
    uint64_t numbers[] = {since, until, before};
    for (size_t i = 0; i < 3; i++)
        for (int byte = 7; byte >= 0; byte--)
            out[at++] = (uint8_t)(numbers[i] >> (8 * byte));
    for (int byte = 3; byte >= 0; byte--)
        out[at++] = (uint8_t)(limit >> (8 * byte));
    return at;
}

START_TEST(history_request_layout_and_status_values)
{
    uint8_t body[64];
    struct admin_request parsed;
    const char *problem = NULL;
    size_t length = history_body(body, "bob", "10.0.0.0/8", "failed", 1795597200000ull,
                                 1795600800000ull, 77, 500);
    ck_assert_uint_eq(length, 4 + 11 + 7 + 8 * 3 + 4);
    ck_assert_int_eq(admin_request_parse(ADMIN_CMD_HISTORY, body, length, &parsed, &problem),
                     ADMIN_STATUS_OK);
    const struct admin_args_history *args = &parsed.args.history;
    ck_assert_str_eq(args->user.text, "bob");
    ck_assert_str_eq(args->destination.text, "10.0.0.0/8");
    ck_assert_str_eq(args->status.text, "failed");
    ck_assert_uint_eq(args->since, 1795597200000ull);
    ck_assert_uint_eq(args->until, 1795600800000ull);
    ck_assert_uint_eq(args->before, 77);
    ck_assert_uint_eq(args->limit, 500);
    /* The same request encodes to the same bytes. */
    uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
    ck_assert_uint_eq(admin_request_encode(&parsed, frame, sizeof(frame)),
                      ADMIN_REQUEST_HEADER_SIZE + length);
    ck_assert_mem_eq(frame + ADMIN_REQUEST_HEADER_SIZE, body, length);
    ck_assert_uint_eq(frame[2], 0x14);

    static const char *const good[] = {"", "failed", "0", "5", "255", "007"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        length = history_body(body, "", "", good[i], 0, 0, 0, 0);
        ck_assert_msg(admin_request_parse(ADMIN_CMD_HISTORY, body, length, &parsed,
                                          &problem) == ADMIN_STATUS_OK,
                      "status %s refused", good[i]);
        ck_assert(admin_history_status_valid(good[i]));
    }
    static const char *const bad[] = {"256", "-1", "+1", "1000", "0255", "fail", "FAILED",
                                      " 1", "1 ", "0x1", "failed,"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        length = history_body(body, "", "", bad[i], 0, 0, 0, 0);
        ck_assert_msg(admin_request_parse(ADMIN_CMD_HISTORY, body, length, &parsed,
                                          &problem) == ADMIN_STATUS_BAD_REQUEST,
                      "status %s accepted", bad[i]);
        ck_assert_str_eq(problem, "status must be empty, failed, or a reply code 0..255");
        ck_assert(!admin_history_status_valid(bad[i]));
    }
    /* A regular user may ask for their own history only; reset-usage is an admin's. */
    admin_request_init(&parsed, ADMIN_CMD_HISTORY);
    ck_assert(admin_request_permitted(&parsed, ADMIN_ROLE_USER, "bob"));
    admin_str8_set(&parsed.args.history.user, "bob");
    ck_assert(admin_request_permitted(&parsed, ADMIN_ROLE_USER, "bob"));
    admin_str8_set(&parsed.args.history.user, "alice");
    ck_assert(!admin_request_permitted(&parsed, ADMIN_ROLE_USER, "bob"));
    ck_assert(admin_request_permitted(&parsed, ADMIN_ROLE_ADMIN, "bob"));
    admin_request_init(&parsed, ADMIN_CMD_RESET_USAGE);
    ck_assert(!admin_request_permitted(&parsed, ADMIN_ROLE_USER, "bob"));
    ck_assert(admin_request_permitted(&parsed, ADMIN_ROLE_ADMIN, "bob"));
    /* reset-usage: an empty name means everything. */
    const uint8_t everything[] = {0x00};
    ck_assert_int_eq(admin_request_parse(ADMIN_CMD_RESET_USAGE, everything, 1, &parsed,
                                         &problem),
                     ADMIN_STATUS_OK);
    ck_assert_uint_eq(parsed.args.reset_usage.user.length, 0);
    ck_assert_uint_eq(admin_history_columns[ADMIN_CONNECTIONS_COLUMN_COUNT][0], 'h');
    for (size_t i = 0; i < ADMIN_CONNECTIONS_COLUMN_COUNT; i++)
        ck_assert_str_eq(admin_history_columns[i], admin_connections_columns[i]);
}
END_TEST

START_TEST(unknown_commands_are_unsupported)
{
    struct admin_request parsed, request;
    const char *problem;
    uint8_t frame[ADMIN_REQUEST_FRAME_MAX];
    /* PROTOCOL.md 7.1 and 10: 0x00 and 0xF0..0xFF are never assigned. */
    ck_assert_ptr_null(admin_command_info(0x00));
    for (unsigned code = 0xF0; code <= 0xFF; code++)
        ck_assert_ptr_null(admin_command_info((uint8_t)code));
    size_t unknown_count = 0;
    for (unsigned code = 0; code <= 0xFF; code++) {
        if (admin_command_info((uint8_t)code) != NULL)
            continue;
        unknown_count++;
        ck_assert_int_eq(admin_request_parse((uint8_t)code, (const uint8_t *)"xyz", 3, &parsed,
                                             &problem),
                         ADMIN_STATUS_UNSUPPORTED_COMMAND);
        ck_assert_str_eq(admin_command_name((uint8_t)code), "unknown");
        admin_request_init(&request, (uint8_t)code);
        ck_assert_uint_eq(admin_request_encode(&request, frame, sizeof(frame)), 0);
        ck_assert(!admin_request_permitted(&request, ADMIN_ROLE_ADMIN, "root"));
    }
    ck_assert_uint_eq(unknown_count + admin_command_count(), 256);
    /* The frame of an unknown command still decodes whole, so the session can go on. */
    uint8_t unknown[] = {0x02, 0x00, 0x7F, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x02};
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
        size_t consumed;
        ck_assert_int_eq(feed_request(decoder, unknown, sizeof(unknown), bytewise, &consumed),
                         ADMIN_DECODE_DONE);
        ck_assert_uint_eq(consumed, 9);
        ck_assert_uint_eq(decoder->command, 0x7F);
        free(decoder);
    }
}
END_TEST

START_TEST(request_frame_limits)
{
    struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
    uint8_t *frame = calloc(1, ADMIN_REQUEST_FRAME_MAX + 1);
    size_t consumed;
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        /* Exactly the maximum body is read. */
        admin_request_header_encode(frame, 0x33, ADMIN_REQUEST_BODY_MAX);
        ck_assert_int_eq(feed_request(decoder, frame, ADMIN_REQUEST_FRAME_MAX, bytewise,
                                      &consumed),
                         ADMIN_DECODE_DONE);
        ck_assert_uint_eq(consumed, ADMIN_REQUEST_FRAME_MAX);
        /* One more is refused as soon as the header is in, before any body byte. */
        admin_request_header_encode(frame, 0x01, ADMIN_REQUEST_BODY_MAX + 1);
        ck_assert_int_eq(feed_request(decoder, frame, ADMIN_REQUEST_FRAME_MAX + 1, bytewise,
                                      &consumed),
                         ADMIN_DECODE_ERROR);
        ck_assert_uint_eq(consumed, ADMIN_REQUEST_HEADER_SIZE);
        ck_assert_int_eq(decoder->error, ADMIN_DECODE_ERROR_BODY_TOO_LARGE);
        ck_assert_int_eq(admin_decode_error_status(decoder->error), ADMIN_STATUS_BAD_REQUEST);
        admin_request_header_encode(frame, 0x01, UINT32_MAX);
        ck_assert_int_eq(feed_request(decoder, frame, 7, bytewise, &consumed),
                         ADMIN_DECODE_ERROR);
        /* Every truncation of a valid frame wants more. */
        uint8_t small[] = {0x02, 0x00, 0x08, 0x00, 0x00, 0x00, 0x04, 'b', 'o', 'b', '!'};
        for (size_t cut = 0; cut < sizeof(small); cut++) {
            ck_assert_int_eq(feed_request(decoder, small, cut, bytewise, &consumed),
                             ADMIN_DECODE_MORE);
            ck_assert_uint_eq(consumed, cut);
        }
    }
    free(frame);
    free(decoder);
}
END_TEST

START_TEST(request_frame_garbage_fails_early)
{
    static const struct {
        const char *bytes;
        size_t length;
        size_t consumed;
        enum admin_decode_error error;
    } cases[] = {
        {"GET / HTTP/1.1\r\n", 16, 1, ADMIN_DECODE_ERROR_VERSION},
        {"\x05\x01\x00", 3, 1, ADMIN_DECODE_ERROR_VERSION},
        {"\x01\x00\x00\x00", 4, 1, ADMIN_DECODE_ERROR_VERSION},
        {"\x00\x00\x00\x00\x00\x00\x00", 7, 1, ADMIN_DECODE_ERROR_VERSION},
        {"\x02\x80\x01\x00\x00\x00\x00", 7, 2, ADMIN_DECODE_ERROR_RESERVED},
        {"\x02\x00\x01\xFF\xFF\xFF\xFF", 7, 7, ADMIN_DECODE_ERROR_BODY_TOO_LARGE},
    };
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
            size_t consumed;
            ck_assert_int_eq(feed_request(decoder, (const uint8_t *)cases[i].bytes,
                                          cases[i].length, bytewise, &consumed),
                             ADMIN_DECODE_ERROR);
            ck_assert_uint_eq(consumed, cases[i].consumed);
            ck_assert_int_eq(decoder->error, cases[i].error);
            ck_assert_int_eq(admin_request_decoder_feed(decoder, (const uint8_t *)"\x02", 1,
                                                        &consumed),
                             ADMIN_DECODE_ERROR);
            ck_assert_uint_eq(consumed, 0);
            free(decoder);
        }
    }
}
END_TEST

START_TEST(back_to_back_requests_decode_one_at_a_time)
{
    uint8_t stream[64];
    size_t length = 0;
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_PING);
    length += admin_request_encode(&request, stream + length, sizeof(stream) - length);
    admin_request_init(&request, ADMIN_CMD_SET_BUFFER_SIZE);
    request.args.set_buffer_size.size = 65536;
    length += admin_request_encode(&request, stream + length, sizeof(stream) - length);
    admin_request_init(&request, ADMIN_CMD_METRICS);
    length += admin_request_encode(&request, stream + length, sizeof(stream) - length);

    static const uint8_t expected[] = {ADMIN_CMD_PING, ADMIN_CMD_SET_BUFFER_SIZE,
                                       ADMIN_CMD_METRICS};
    struct admin_request_decoder *decoder = malloc(sizeof(*decoder));
    size_t at = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t consumed;
        admin_request_decoder_init(decoder);
        ck_assert_int_eq(admin_request_decoder_feed(decoder, stream + at, length - at, &consumed),
                         ADMIN_DECODE_DONE);
        ck_assert_uint_eq(decoder->command, expected[i]);
        at += consumed;
    }
    ck_assert_uint_eq(at, length);
    free(decoder);
}
END_TEST

/* ---- Who may run what ---- */

START_TEST(permissions_follow_the_spec)
{
    struct admin_request request;
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        admin_request_init(&request, info->code);
        ck_assert(admin_request_permitted(&request, ADMIN_ROLE_ADMIN, "root"));
        bool for_users = info->access != ADMIN_ACCESS_ADMIN;
        ck_assert_int_eq(admin_request_permitted(&request, ADMIN_ROLE_USER, "bob"), for_users);
        if (info->access == ADMIN_ACCESS_SELF_OR_ADMIN) {
            ck_assert_str_eq(info->fields[0].name, "user");
            struct admin_str8 *target = (struct admin_str8 *)((char *)&request +
                                                               info->fields[0].offset);
            admin_str8_set(target, "bob");
            ck_assert(admin_request_permitted(&request, ADMIN_ROLE_USER, "bob"));
            admin_str8_set(target, "alice");
            ck_assert(!admin_request_permitted(&request, ADMIN_ROLE_USER, "bob"));
            ck_assert(admin_request_permitted(&request, ADMIN_ROLE_ADMIN, "bob"));
            admin_str8_set(target, "bobby");
            ck_assert(!admin_request_permitted(&request, ADMIN_ROLE_USER, "bob"));
        }
    }
    /* What a regular user may do, by name (the access of every command is compared with
     * PROTOCOL.md's table in spec_command_table_is_the_library_table). */
    static const char *const user_commands[] = {"ping", "user-metrics", "connections",
                                                "set-password", "history"};
    for (size_t i = 0; i < sizeof(user_commands) / sizeof(user_commands[0]); i++)
        ck_assert_int_ne(admin_command_find(user_commands[i])->access, ADMIN_ACCESS_ADMIN);
}
END_TEST

/* ---- Responses ---- */

/* Decodes a response, providing an exact body buffer at HEADER; returns the final result. */
static enum admin_decode_result decode_response(const uint8_t *data, size_t length, size_t chunk,
                                                struct admin_response_decoder *decoder,
                                                uint8_t **body, size_t *consumed_total)
{
    admin_response_decoder_init(decoder);
    *body = NULL;
    *consumed_total = 0;
    enum admin_decode_result result = ADMIN_DECODE_MORE;
    while (*consumed_total < length) {
        size_t take = length - *consumed_total < chunk ? length - *consumed_total : chunk;
        size_t consumed;
        result = admin_response_decoder_feed(decoder, data + *consumed_total, take, &consumed);
        *consumed_total += consumed;
        if (result == ADMIN_DECODE_HEADER) {
            ck_assert_uint_gt(decoder->body_length, 0);
            *body = malloc(decoder->body_length);
            ck_assert_ptr_nonnull(*body);
            admin_response_decoder_set_body(decoder, *body);
            continue;
        }
        if (result != ADMIN_DECODE_MORE)
            break;
    }
    return result;
}

START_TEST(response_round_trips)
{
    static const size_t sizes[] = {0, 1, 7, 300, 65536};
    static const size_t chunks[] = {1, 3, 4096, SIZE_MAX};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        size_t length = ADMIN_RESPONSE_HEADER_SIZE + sizes[s];
        uint8_t *frame = malloc(length + 1);
        admin_response_header_encode(frame, ADMIN_STATUS_NOT_FOUND, (uint32_t)sizes[s]);
        for (size_t i = 0; i < sizes[s]; i++)
            frame[ADMIN_RESPONSE_HEADER_SIZE + i] = (uint8_t)random_next();
        frame[length] = 0x02;
        for (size_t c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
            if (chunks[c] == 1 && sizes[s] > 300)
                continue; /* byte by byte through 64 KiB adds nothing but time */
            struct admin_response_decoder decoder;
            uint8_t *body;
            size_t consumed;
            ck_assert_int_eq(decode_response(frame, length + 1, chunks[c], &decoder, &body,
                                             &consumed),
                             ADMIN_DECODE_DONE);
            ck_assert_uint_eq(consumed, length);
            ck_assert_uint_eq(decoder.status, ADMIN_STATUS_NOT_FOUND);
            ck_assert_uint_eq(decoder.body_length, sizes[s]);
            if (sizes[s] > 0)
                ck_assert_mem_eq(body, frame + ADMIN_RESPONSE_HEADER_SIZE, sizes[s]);
            else
                ck_assert_ptr_null(body);
            free(body);
        }
        free(frame);
    }
}
END_TEST

START_TEST(response_of_five_mebibytes_needs_one_exact_buffer)
{
    /* A connection table of 5 MiB, read in 64 KiB chunks as a console would. */
    size_t body_length = 5u * 1024 * 1024;
    uint8_t *frame = malloc(ADMIN_RESPONSE_HEADER_SIZE + body_length);
    admin_response_header_encode(frame, ADMIN_STATUS_OK, (uint32_t)body_length);
    for (size_t i = 0; i < body_length; i++)
        frame[ADMIN_RESPONSE_HEADER_SIZE + i] = (uint8_t)(i * 31);
    struct admin_response_decoder decoder;
    uint8_t *body;
    size_t consumed;
    ck_assert_int_eq(decode_response(frame, ADMIN_RESPONSE_HEADER_SIZE + body_length, 65536,
                                     &decoder, &body, &consumed),
                     ADMIN_DECODE_DONE);
    ck_assert_mem_eq(body, frame + ADMIN_RESPONSE_HEADER_SIZE, body_length);
    free(body);
    free(frame);
}
END_TEST

START_TEST(response_body_can_be_skipped)
{
    uint8_t frame[ADMIN_RESPONSE_HEADER_SIZE + 5] = {0};
    admin_response_header_encode(frame, ADMIN_STATUS_OK, 5);
    struct admin_response_decoder decoder;
    size_t consumed;
    admin_response_decoder_init(&decoder);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame, sizeof(frame), &consumed),
                     ADMIN_DECODE_HEADER);
    ck_assert_uint_eq(consumed, ADMIN_RESPONSE_HEADER_SIZE);
    admin_response_decoder_set_body(&decoder, NULL);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame + 7, 5, &consumed),
                     ADMIN_DECODE_DONE);
    ck_assert_uint_eq(consumed, 5);
    /* Feeding on without calling set_body skips the body too. */
    admin_response_decoder_init(&decoder);
    admin_response_decoder_set_body(&decoder, (uint8_t *)1); /* ignored: not after HEADER */
    ck_assert_ptr_null(decoder.body);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame, sizeof(frame), &consumed),
                     ADMIN_DECODE_HEADER);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame + 7, 5, &consumed),
                     ADMIN_DECODE_DONE);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame, 1, &consumed),
                     ADMIN_DECODE_DONE);
    ck_assert_uint_eq(consumed, 0);
}
END_TEST

START_TEST(response_limits_and_garbage)
{
    uint8_t frame[ADMIN_RESPONSE_HEADER_SIZE];
    struct admin_response_decoder decoder;
    size_t consumed;
    /* 16 MiB exactly is accepted; the body buffer is then up to the caller. */
    admin_response_header_encode(frame, ADMIN_STATUS_OK, ADMIN_RESPONSE_BODY_MAX);
    admin_response_decoder_init(&decoder);
    ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame, sizeof(frame), &consumed),
                     ADMIN_DECODE_HEADER);
    ck_assert_uint_eq(decoder.body_length, ADMIN_RESPONSE_BODY_MAX);
    static const struct {
        uint8_t bytes[ADMIN_RESPONSE_HEADER_SIZE];
        size_t consumed;
        enum admin_decode_error error;
    } cases[] = {
        {{0x02, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01}, 7, ADMIN_DECODE_ERROR_BODY_TOO_LARGE},
        {{0x02, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF}, 7, ADMIN_DECODE_ERROR_BODY_TOO_LARGE},
        {{0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}, 1, ADMIN_DECODE_ERROR_VERSION},
        {{'H', 'T', 'T', 'P', '/', '1', '.'}, 1, ADMIN_DECODE_ERROR_VERSION},
        {{0x02, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00}, 2, ADMIN_DECODE_ERROR_RESERVED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t chunk = 1; chunk <= ADMIN_RESPONSE_HEADER_SIZE; chunk += 6) {
            uint8_t *body;
            size_t total;
            ck_assert_int_eq(decode_response(cases[i].bytes, sizeof(cases[i].bytes), chunk,
                                             &decoder, &body, &total),
                             ADMIN_DECODE_ERROR);
            ck_assert_uint_eq(total, cases[i].consumed);
            ck_assert_int_eq(decoder.error, cases[i].error);
            ck_assert_int_eq(admin_response_decoder_feed(&decoder, frame, 1, &total),
                             ADMIN_DECODE_ERROR);
            ck_assert_uint_eq(total, 0);
        }
    }
    /* Truncated: wants more, never done. */
    uint8_t small[ADMIN_RESPONSE_HEADER_SIZE + 3];
    admin_response_header_encode(small, ADMIN_STATUS_OK, 3);
    memcpy(small + 7, "a\nb", 3);
    for (size_t cut = 0; cut < sizeof(small); cut++) {
        uint8_t *body;
        size_t total;
        enum admin_decode_result result = decode_response(small, cut, 1, &decoder, &body,
                                                          &total);
        ck_assert_int_eq(result, cut == 7 ? ADMIN_DECODE_HEADER : ADMIN_DECODE_MORE);
        ck_assert_uint_eq(total, cut);
        free(body);
    }
}
END_TEST

START_TEST(error_responses_are_one_escaped_line)
{
    uint8_t frame[ADMIN_ERROR_FRAME_MAX];
    size_t length = admin_error_response_encode(frame, ADMIN_STATUS_NOT_FOUND,
                                                "no user named \"e\tv\ne\x1b\"");
    const char *expected = "no user named \"e\\tv\\ne\\x1b\"\n";
    ck_assert_uint_eq(length, ADMIN_RESPONSE_HEADER_SIZE + strlen(expected));
    ck_assert_mem_eq(frame + ADMIN_RESPONSE_HEADER_SIZE, expected, strlen(expected));
    ck_assert_uint_eq(frame[2], ADMIN_STATUS_NOT_FOUND);
    ck_assert_uint_eq(frame[6], strlen(expected));

    /* Too long: cut to 512 bytes with the LF, never inside an escape. */
    char message[2000];
    for (size_t fill = 0; fill < 4; fill++) {
        static const char fillers[] = {'a', '\t', '\x01', '\\'};
        memset(message, fillers[fill], sizeof(message) - 1);
        message[sizeof(message) - 1] = '\0';
        message[0] = 'x';
        length = admin_error_response_encode(frame, ADMIN_STATUS_BAD_REQUEST, message);
        size_t body_length = length - ADMIN_RESPONSE_HEADER_SIZE;
        ck_assert_uint_le(body_length, ADMIN_ERROR_BODY_MAX);
        ck_assert_uint_ge(body_length, ADMIN_ERROR_BODY_MAX - 4);
        ck_assert_uint_eq(frame[length - 1], '\n');
        ck_assert_ptr_null(memchr(frame + ADMIN_RESPONSE_HEADER_SIZE, '\n', body_length - 1));
        char unescaped[ADMIN_ERROR_BODY_MAX];
        struct admin_span line = {(const char *)frame + ADMIN_RESPONSE_HEADER_SIZE,
                                  body_length - 1};
        size_t unescaped_length = admin_text_unescape(line, unescaped, sizeof(unescaped));
        ck_assert_mem_eq(unescaped, message, unescaped_length);
    }
    length = admin_error_response_format(frame, ADMIN_STATUS_SERVER_ERROR, "%d%s", 42, "!");
    ck_assert_uint_eq(length, ADMIN_RESPONSE_HEADER_SIZE + 4);
    ck_assert_mem_eq(frame + ADMIN_RESPONSE_HEADER_SIZE, "42!\n", 4);
    length = admin_error_response_encode(frame, ADMIN_STATUS_SERVER_ERROR, "");
    ck_assert_uint_eq(length, ADMIN_RESPONSE_HEADER_SIZE + 1);
}
END_TEST

/* ---- Garbage of every kind: never a crash, and whole == byte by byte ---- */

START_TEST(random_garbage_decodes_the_same_whole_and_bytewise)
{
    struct admin_request_decoder *whole = malloc(sizeof(*whole));
    struct admin_request_decoder *bytewise = malloc(sizeof(*bytewise));
    for (int round = 0; round < 3000; round++) {
        uint8_t data[48];
        size_t length = random_next() % sizeof(data);
        for (size_t i = 0; i < length; i++)
            data[i] = (uint8_t)random_next();
        /* Often a valid start, so decoders get past their first checks. */
        if (length > 0 && random_next() % 2)
            data[0] = ADMIN_PROTOCOL_VERSION;
        if (length > 1 && random_next() % 2)
            data[1] = 0;
        if (length > 6 && random_next() % 2)
            data[3] = data[4] = data[5] = 0, data[6] %= 48;
        size_t whole_consumed, byte_consumed;
        enum admin_decode_result a = feed_request(whole, data, length, false, &whole_consumed);
        enum admin_decode_result b = feed_request(bytewise, data, length, true, &byte_consumed);
        ck_assert_int_eq(a, b);
        ck_assert_uint_eq(whole_consumed, byte_consumed);
        if (a == ADMIN_DECODE_DONE) {
            struct admin_request request;
            const char *problem;
            enum admin_status status = admin_request_parse(whole->command, whole->body,
                                                           whole->body_length, &request,
                                                           &problem);
            ck_assert(status == ADMIN_STATUS_OK || status == ADMIN_STATUS_BAD_REQUEST ||
                      status == ADMIN_STATUS_UNSUPPORTED_COMMAND);
        }

        struct admin_login_decoder login_whole, login_bytes;
        a = feed_login(&login_whole, data, length, false, &whole_consumed);
        b = feed_login(&login_bytes, data, length, true, &byte_consumed);
        ck_assert_int_eq(a, b);
        ck_assert_uint_eq(whole_consumed, byte_consumed);
        ck_assert_int_eq(login_whole.error, login_bytes.error);

        struct admin_response_decoder response;
        uint8_t *body_a, *body_b;
        a = decode_response(data, length, SIZE_MAX, &response, &body_a, &whole_consumed);
        b = decode_response(data, length, 1, &response, &body_b, &byte_consumed);
        ck_assert_int_eq(a, b);
        ck_assert_uint_eq(whole_consumed, byte_consumed);
        free(body_a);
        free(body_b);
    }
    free(whole);
    free(bytewise);
}
END_TEST

/* ---- Text bodies ---- */

START_TEST(escaping_round_trips_every_byte)
{
    char value[256], escaped[1100], back[300];
    for (size_t i = 0; i < 256; i++)
        value[i] = (char)i;
    size_t escaped_length = admin_text_escape(value, 256, escaped, sizeof(escaped));
    ck_assert_uint_eq(strlen(escaped), escaped_length);
    for (size_t i = 0; i < escaped_length; i++) {
        unsigned char c = (unsigned char)escaped[i];
        ck_assert_msg(c >= 0x20 && c != 0x7F, "control byte %02x survived escaping", c);
    }
    size_t back_length = admin_text_unescape((struct admin_span){escaped, escaped_length}, back,
                                             sizeof(back));
    ck_assert_uint_eq(back_length, 256);
    ck_assert_mem_eq(back, value, 256);
    ck_assert_uint_eq(admin_text_escape("a\\b\tc\nd\re\x7f", 10, escaped, sizeof(escaped)), 17);
    ck_assert_str_eq(escaped, "a\\\\b\\tc\\nd\\re\\x7f");
    /* Unknown and broken escapes are kept as they are. */
    const char *odd = "\\q\\x4\\xzz\\";
    back_length = admin_text_unescape((struct admin_span){odd, strlen(odd)}, back, sizeof(back));
    ck_assert_str_eq(back, odd);
    /* Cut output: whole escapes only, length still reported in full. */
    ck_assert_uint_eq(admin_text_escape("\t\t\t", 3, escaped, 6), 6);
    ck_assert_str_eq(escaped, "\\t\\t");
    ck_assert_uint_eq(admin_text_unescape((struct admin_span){"abcdef", 6}, back, 4), 6);
    ck_assert_str_eq(back, "abc");
}
END_TEST

START_TEST(records_parse_back)
{
    struct admin_text body;
    admin_text_init(&body, 0, ADMIN_RESPONSE_BODY_MAX);
    admin_text_put_str(&body, "name", "tab\there\nnewline");
    admin_text_put_u64(&body, "big", UINT64_MAX);
    admin_text_put_u64(&body, "zero", 0);
    admin_text_put_bool(&body, "yes_value", true);
    admin_text_put_bool(&body, "no_value", false);
    admin_text_put_str(&body, "empty", "");
    admin_text_put_time(&body, "when", 1795598401123);
    ck_assert(!admin_text_failed(&body));
    const char *text = admin_text_body(&body);
    size_t length = admin_text_body_length(&body);
    ck_assert_ptr_nonnull(strstr(text, "empty: \n"));

    char value[64];
    ck_assert(admin_record_get_text(text, length, "name", value, sizeof(value)));
    ck_assert_str_eq(value, "tab\there\nnewline");
    ck_assert(!admin_record_get_text(text, length, "name", value, 8)); /* does not fit */
    uint64_t number;
    ck_assert(admin_record_get_u64(text, length, "big", &number));
    ck_assert(number == UINT64_MAX);
    ck_assert(admin_record_get_u64(text, length, "zero", &number));
    ck_assert(number == 0);
    ck_assert(!admin_record_get_u64(text, length, "name", &number));
    ck_assert(!admin_record_get_u64(text, length, "missing", &number));
    struct admin_span span;
    bool flag;
    ck_assert(admin_record_find(text, length, "yes_value", &span));
    ck_assert(admin_span_to_bool(span, &flag) && flag);
    ck_assert(admin_record_find(text, length, "no_value", &span));
    ck_assert(admin_span_to_bool(span, &flag) && !flag);
    ck_assert(admin_record_find(text, length, "empty", &span));
    ck_assert_uint_eq(span.length, 0);
    int64_t when;
    ck_assert(admin_record_find(text, length, "when", &span));
    ck_assert(admin_span_equals(span, "2026-11-25T09:20:01.123Z"));
    ck_assert(admin_span_to_time(span, &when));
    ck_assert(when == 1795598401123);

    /* The cursor visits keys in order. */
    struct admin_record_cursor cursor;
    struct admin_span key;
    static const char *const keys[] = {"name", "big", "zero", "yes_value", "no_value", "empty",
                                       "when"};
    admin_record_cursor_init(&cursor, text, length);
    for (size_t i = 0; i < 7; i++) {
        ck_assert(admin_record_cursor_next(&cursor, &key, &span));
        ck_assert(admin_span_equals(key, keys[i]));
    }
    ck_assert(!admin_record_cursor_next(&cursor, &key, &span));
    admin_text_free(&body);

    /* Lenient reading: junk lines skipped, "key:" at the line's end, no final LF, stop at
     * the empty line. */
    const char *loose = "junk line\n: nokey\nbare:\nspaced:  two\nlast: 7\n\nafter: 1\n";
    ck_assert(admin_record_find(loose, strlen(loose), "bare", &span) && span.length == 0);
    ck_assert(admin_record_find(loose, strlen(loose), "spaced", &span));
    ck_assert(admin_span_equals(span, " two"));
    ck_assert(admin_record_get_u64(loose, strlen(loose), "last", &number) && number == 7);
    ck_assert(!admin_record_find(loose, strlen(loose), "after", &span));
    ck_assert(admin_record_get_u64("k: 12", 5, "k", &number) && number == 12);
    ck_assert(!admin_record_find("", 0, "k", &span));
}
END_TEST

START_TEST(tables_parse_back_by_column_name)
{
    struct admin_text body;
    admin_text_init(&body, 0, ADMIN_RESPONSE_BODY_MAX);
    body_connections(&body);
    const char *text = admin_text_body(&body);
    size_t length = admin_text_body_length(&body);

    uint64_t total;
    ck_assert(admin_record_get_u64(text, length, ADMIN_KEY_TOTAL, &total) && total == 3);
    struct admin_table table;
    ck_assert(admin_table_open(&table, text, length));
    ck_assert_uint_eq(table.column_count, ADMIN_CONNECTIONS_COLUMN_COUNT);
    long destination = admin_table_column(&table, ADMIN_COLUMN_DESTINATION);
    long id = admin_table_column(&table, ADMIN_COLUMN_ID);
    long started = admin_table_column(&table, ADMIN_COLUMN_STARTED);
    ck_assert_int_eq(destination, 5);
    ck_assert_int_eq(admin_table_column(&table, "no_such_column"), -1);
    struct admin_span name;
    ck_assert(admin_table_column_name(&table, 10, &name));
    ck_assert(admin_span_equals(name, ADMIN_COLUMN_DURATION_MS));
    ck_assert(admin_table_column_name(&table, 11, &name));
    ck_assert(admin_span_equals(name, ADMIN_COLUMN_KIND));
    ck_assert(admin_table_column_name(&table, 13, &name));
    ck_assert(admin_span_equals(name, ADMIN_COLUMN_DATAGRAMS_DOWN));
    ck_assert(!admin_table_column_name(&table, 14, &name));

    struct admin_row row;
    size_t rows = 0;
    while (admin_table_next_row(&table, &row)) {
        const struct connection_row *expected = &example_connections[rows];
        ck_assert_uint_eq(admin_row_field_count(&row), ADMIN_CONNECTIONS_COLUMN_COUNT);
        struct admin_span field;
        uint64_t number;
        ck_assert(admin_row_field(&row, (size_t)id, &field));
        ck_assert(admin_span_to_u64(field, &number) && number == expected->id);
        char value[64];
        ck_assert(admin_row_field(&row, (size_t)destination, &field));
        admin_text_unescape(field, value, sizeof(value));
        ck_assert_str_eq(value, expected->destination);
        int64_t when;
        ck_assert(admin_row_field(&row, (size_t)started, &field));
        ck_assert(admin_span_to_time(field, &when) && when == expected->started_ms);
        ck_assert(!admin_row_field(&row, ADMIN_CONNECTIONS_COLUMN_COUNT, &field));
        rows++;
    }
    ck_assert_uint_eq(rows, 3);
    ck_assert(!admin_table_next_row(&table, &row));
    admin_text_free(&body);

    /* A later server's extra column in front does not move anything a client reads. */
    const char *newer = "total: 1\n\nshiny\tuser\trole\nx\tbob\tuser\n";
    ck_assert(admin_table_open(&table, newer, strlen(newer)));
    long role = admin_table_column(&table, "role");
    ck_assert(admin_table_next_row(&table, &row));
    struct admin_span field;
    ck_assert(admin_row_field(&row, (size_t)role, &field));
    ck_assert(admin_span_equals(field, "user"));
    /* No table part, or an empty one. */
    ck_assert(!admin_table_open(&table, "a: 1\n", 5));
    ck_assert(!admin_table_open(&table, "a: 1\n\n", 6));
    ck_assert(admin_table_open(&table, "\nid\n", 4));
    ck_assert(!admin_table_next_row(&table, &row));
}
END_TEST

START_TEST(builder_limit_and_rollback)
{
    struct admin_text body;
    admin_text_init(&body, ADMIN_RESPONSE_HEADER_SIZE, 64);
    static const char *const columns[] = {"id", "name"};
    admin_text_put_u64(&body, "total", 100);
    admin_text_begin_table(&body, columns, 2);
    size_t rows = 0;
    for (;;) {
        size_t mark = admin_text_mark(&body);
        admin_text_cell_u64(&body, rows);
        admin_text_cell_str(&body, "row");
        admin_text_end_row(&body);
        if (admin_text_failed(&body)) {
            admin_text_rollback(&body, mark); /* keep whole rows only */
            break;
        }
        rows++;
    }
    ck_assert(!admin_text_failed(&body));
    ck_assert_uint_le(admin_text_body_length(&body), 64);
    ck_assert_uint_eq(admin_text_body(&body)[admin_text_body_length(&body) - 1], '\n');
    struct admin_table table;
    struct admin_row row;
    ck_assert(admin_table_open(&table, admin_text_body(&body), admin_text_body_length(&body)));
    size_t parsed = 0;
    while (admin_table_next_row(&table, &row))
        parsed++;
    ck_assert_uint_eq(parsed, rows);
    ck_assert_uint_gt(rows, 0);

    /* The headroom takes the header, so the frame goes out in one piece. */
    admin_response_header_encode(admin_text_frame(&body), ADMIN_STATUS_OK,
                                 (uint32_t)admin_text_body_length(&body));
    ck_assert_uint_eq(admin_text_frame_length(&body),
                      ADMIN_RESPONSE_HEADER_SIZE + admin_text_body_length(&body));
    struct admin_response_decoder decoder;
    uint8_t *decoded;
    size_t consumed;
    ck_assert_int_eq(decode_response(admin_text_frame(&body), admin_text_frame_length(&body), 5,
                                     &decoder, &decoded, &consumed),
                     ADMIN_DECODE_DONE);
    ck_assert_mem_eq(decoded, admin_text_body(&body), admin_text_body_length(&body));
    free(decoded);

    admin_text_clear(&body);
    ck_assert_uint_eq(admin_text_body_length(&body), 0);
    admin_text_free(&body);

    /* An empty text still has a frame to write the header into. */
    admin_text_init(&body, ADMIN_RESPONSE_HEADER_SIZE, 0);
    ck_assert_ptr_nonnull(admin_text_frame(&body));
    ck_assert_str_eq(admin_text_body(&body), "");
    admin_text_put_u64(&body, "a", 1);
    ck_assert(admin_text_failed(&body));
    admin_text_free(&body);
}
END_TEST

START_TEST(span_conversions)
{
    uint64_t number;
    ck_assert(admin_span_to_u64((struct admin_span){"18446744073709551615", 20}, &number));
    ck_assert(number == UINT64_MAX);
    ck_assert(!admin_span_to_u64((struct admin_span){"18446744073709551616", 20}, &number));
    ck_assert(!admin_span_to_u64((struct admin_span){"", 0}, &number));
    ck_assert(!admin_span_to_u64((struct admin_span){"-1", 2}, &number));
    ck_assert(!admin_span_to_u64((struct admin_span){"12a", 3}, &number));
    bool flag;
    ck_assert(!admin_span_to_bool((struct admin_span){"maybe", 5}, &flag));

    char text[ADMIN_TIME_TEXT_SIZE];
    ck_assert_uint_eq(admin_format_time(text, 0), 24);
    ck_assert_str_eq(text, "1970-01-01T00:00:00.000Z");
    admin_format_time(text, 1795597200000);
    ck_assert_str_eq(text, "2026-11-25T09:00:00.000Z");
    int64_t when;
    ck_assert(admin_span_to_time((struct admin_span){"2026-11-25T09:00:00Z", 20}, &when));
    ck_assert(when == 1795597200000);
    ck_assert(!admin_span_to_time((struct admin_span){"2026-13-25T09:00:00Z", 20}, &when));
    ck_assert(!admin_span_to_time((struct admin_span){"2026-11-25 09:00:00Z", 20}, &when));
    ck_assert(!admin_span_to_time((struct admin_span){"2026-11-25T09:00:00.1Z", 22}, &when));
}
END_TEST

/* ---- Names ---- */

START_TEST(names_and_codes_are_unique)
{
    ck_assert_uint_gt(admin_command_count(), 0);
    for (size_t i = 0; i < admin_command_count(); i++) {
        const struct admin_command_info *info = admin_command_at(i);
        ck_assert_uint_ne(info->code, 0);
        ck_assert_ptr_eq(admin_command_info(info->code), info);
        ck_assert_ptr_eq(admin_command_find(info->name), info);
        ck_assert_str_eq(admin_command_name(info->code), info->name);
        ck_assert_uint_le(info->field_count, ADMIN_COMMAND_FIELDS_MAX);
        ck_assert_ptr_nonnull(info->summary);
        for (size_t f = 0; f < info->field_count; f++) {
            const struct admin_field *field = &info->fields[f];
            ck_assert_ptr_nonnull(field->name);
            ck_assert_ptr_nonnull(field->help);
            ck_assert_uint_lt(field->offset, sizeof(struct admin_request));
            /* Only a str8 names a user or a password. */
            ck_assert(field->type == ADMIN_FIELD_STR8 || field->meaning == ADMIN_MEANING_TEXT);
        }
        for (size_t j = 0; j < i; j++) {
            ck_assert_str_ne(admin_command_at(j)->name, info->name);
            ck_assert_uint_ne(admin_command_at(j)->code, info->code);
        }
    }
    ck_assert_ptr_null(admin_command_at(admin_command_count()));
    ck_assert_ptr_null(admin_command_find("nope"));
    for (unsigned a = 0; a <= ADMIN_STATUS_MANAGED_BY_PAM; a++) {
        ck_assert_str_ne(admin_status_name((uint8_t)a), "unknown status");
        for (unsigned b = 0; b < a; b++)
            ck_assert_str_ne(admin_status_name((uint8_t)a), admin_status_name((uint8_t)b));
    }
    ck_assert_str_eq(admin_status_name(0x0D), "unknown status");
    ck_assert_str_eq(admin_role_name(ADMIN_ROLE_ADMIN), "admin");
    ck_assert_str_eq(admin_role_name(9), "unknown");
    ck_assert_str_eq(admin_connections_which_name(ADMIN_CONNECTIONS_RECENT), "recent");
    ck_assert_str_eq(admin_decode_error_text(ADMIN_DECODE_ERROR_VERSION),
                     "unsupported protocol version");
    struct admin_str8 str;
    char long_text[300];
    memset(long_text, 'x', 299);
    long_text[299] = '\0';
    ck_assert(!admin_str8_set(&str, long_text));
    long_text[255] = '\0';
    ck_assert(admin_str8_set(&str, long_text));
    ck_assert(!admin_str8_set(&str, NULL));
}
END_TEST

static Suite *admin_protocol_suite(void)
{
    Suite *suite = suite_create("admin_protocol");
    TCase *spec_case = tcase_create("spec");
    tcase_add_test(spec_case, spec_hex_examples_are_what_the_library_writes);
    tcase_add_test(spec_case, spec_body_examples_are_what_the_library_writes);
    tcase_add_test(spec_case, spec_has_no_untested_example);
    tcase_add_test(spec_case, spec_command_table_is_the_library_table);
    tcase_add_test(spec_case, spec_lists_every_status);
    tcase_add_test(spec_case, spec_metrics_record_is_the_registry);
    tcase_add_test(spec_case, spec_request_examples_decode);
    suite_add_tcase(suite, spec_case);

    TCase *login = tcase_create("login");
    tcase_add_test(login, login_request_round_trips);
    tcase_add_test(login, login_request_encode_refuses_bad_lengths);
    tcase_add_test(login, login_request_truncated_wants_more);
    tcase_add_loop_test(login, login_request_garbage_fails_early, 0,
                        (int)(sizeof(bad_logins) / sizeof(bad_logins[0])));
    tcase_add_test(login, login_reply_round_trips);
    tcase_add_test(login, login_reply_rejects_garbage);
    suite_add_tcase(suite, login);

    TCase *requests = tcase_create("requests");
    tcase_add_test(requests, every_command_round_trips);
    tcase_add_test(requests, request_body_of_the_wrong_length_is_a_bad_request);
    tcase_add_test(requests, request_values_are_checked);
    tcase_add_test(requests, history_request_layout_and_status_values);
    tcase_add_test(requests, unknown_commands_are_unsupported);
    tcase_add_test(requests, request_frame_limits);
    tcase_add_test(requests, request_frame_garbage_fails_early);
    tcase_add_test(requests, back_to_back_requests_decode_one_at_a_time);
    tcase_add_test(requests, permissions_follow_the_spec);
    suite_add_tcase(suite, requests);

    TCase *responses = tcase_create("responses");
    tcase_add_test(responses, response_round_trips);
    tcase_add_test(responses, response_of_five_mebibytes_needs_one_exact_buffer);
    tcase_add_test(responses, response_body_can_be_skipped);
    tcase_add_test(responses, response_limits_and_garbage);
    tcase_add_test(responses, error_responses_are_one_escaped_line);
    tcase_add_test(responses, random_garbage_decodes_the_same_whole_and_bytewise);
    suite_add_tcase(suite, responses);

    TCase *text = tcase_create("text");
    tcase_add_test(text, escaping_round_trips_every_byte);
    tcase_add_test(text, records_parse_back);
    tcase_add_test(text, tables_parse_back_by_column_name);
    tcase_add_test(text, builder_limit_and_rollback);
    tcase_add_test(text, span_conversions);
    tcase_add_test(text, names_and_codes_are_unique);
    suite_add_tcase(suite, text);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(admin_protocol_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    free(spec);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
