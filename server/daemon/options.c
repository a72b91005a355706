/* options: socks5d's settings — one table names each option, its value's kind and range, its
 * default, its help and its field; the command line, --help and options_set derive from it. */
#include "options.h"

#include "net.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef SOCKS5D_VERSION
#define SOCKS5D_VERSION "0.0.0"
#endif

#define FIELD(member)                                                                          \
    .offset = offsetof(struct server_options, member),                                         \
    .size = sizeof(((struct server_options *)0)->member)

/* Timeouts are kept in milliseconds in 32 bits: about 49 days at most. */
#define SECONDS_MAX (UINT32_MAX / 1000u)
#define TEXT_OF(number) #number
#define DECIMAL(number) TEXT_OF(number)

static const char *append_socks_address(struct server_options *options, char *value);
static const char *append_user(struct server_options *options, char *value);
static const char *append_admin(struct server_options *options, char *value);

const struct option_spec option_specs[] = {
    { .name = "help", .short_name = 'h', .kind = OPTION_ENABLE, FIELD(show_help),
      .help = "show this help and exit" },
    { .name = "version", .short_name = 'v', .kind = OPTION_ENABLE, FIELD(show_version),
      .help = "show the version and exit" },
    { .name = "config", .short_name = 'C', .argument = "PATH", .kind = OPTION_TEXT,
      FIELD(config_path),
      .help = "read settings from this file (libconfig syntax, one\n"
              "key per long option, plus rules and limits); the\n"
              "command line overrides it; SIGHUP reloads it" },
    { .name = "check-config", .kind = OPTION_ENABLE, FIELD(check_config),
      .help = "load the configuration (file, rules, limits, users\n"
              "file), print what is wrong, exit 0 if nothing, else 1" },
    { .name = "listen", .short_name = 'l', .argument = "ADDR", .kind = OPTION_ADDRESS,
      .default_value = "127.0.0.1", FIELD(socks_address_count), .append = append_socks_address,
      .help = "SOCKS listen address, IPv4 or IPv6 literal; repeat for\n"
              "several (default 127.0.0.1)" },
    { .name = "port", .short_name = 'p', .argument = "PORT", .kind = OPTION_PORT,
      .max = 65535, .default_value = "1080", FIELD(socks_port),
      .help = "SOCKS port (default 1080; 0 = any free port)" },
    { .name = "admin-listen", .short_name = 'L', .argument = "ADDR", .kind = OPTION_ADDRESS,
      .default_value = "127.0.0.1", FIELD(admin_address),
      .help = "admin listen address (default 127.0.0.1)" },
    { .name = "admin-port", .short_name = 'P', .argument = "PORT", .kind = OPTION_PORT,
      .max = 65535, .default_value = "8080", FIELD(admin_port),
      .help = "admin port (default 8080; 0 = any free port)" },
    { .name = "user", .short_name = 'u', .argument = "USER:PASS", .kind = OPTION_CREDENTIALS,
      FIELD(user_count), .append = append_user,
      .help = "add a regular user (repeatable)" },
    { .name = "admin", .short_name = 'a', .argument = "USER:PASS", .kind = OPTION_CREDENTIALS,
      FIELD(user_count), .append = append_admin,
      .help = "add an admin user (repeatable)" },
    { .name = "no-auth", .short_name = 'n', .kind = OPTION_ENABLE, FIELD(no_auth_allowed),
      .help = "also accept clients that offer no authentication",
      .reloadable = true },
    { .name = "allow-loopback", .kind = OPTION_ENABLE, FIELD(allow_loopback),
      .help = "let clients reach this host's loopback addresses\n"
              "(127.0.0.0/8, ::1), denied by default; for local\n"
              "testing",
      .reloadable = true },
    { .name = "users-file", .short_name = 'f', .argument = "PATH", .kind = OPTION_TEXT,
      FIELD(users_file),
      .help = "users file, one 'name:role:crypt-hash' per line, kept\n"
              "up to date on every change; 'off' = memory only\n"
              "(default $STATE_DIRECTORY/users, else\n"
              "~/.local/state/socks5d/users); SIGHUP reloads it" },
    { .name = "handshake-timeout", .short_name = 't', .argument = "S", .kind = OPTION_SECONDS,
      .min = 1, .max = SECONDS_MAX, .default_value = "10", FIELD(handshake_timeout_s),
      .help = "seconds allowed for greeting, auth and request (10)",
      .reloadable = true },
    { .name = "connect-timeout", .argument = "S", .kind = OPTION_SECONDS,
      .min = 1, .max = SECONDS_MAX, .default_value = "10", FIELD(connect_timeout_s),
      .help = "seconds allowed to resolve, per address to\n"
              "connect, and for a BIND's peer to arrive (10)",
      .reloadable = true },
    { .name = "idle-timeout", .argument = "S", .kind = OPTION_SECONDS,
      .max = SECONDS_MAX, .default_value = "3600", FIELD(idle_timeout_s),
      .help = "close tunnels idle this long; 0 = never (3600)",
      .reloadable = true },
    { .name = "buffer-size", .short_name = 'b', .argument = "BYTES", .kind = OPTION_BYTES,
      .min = OPTIONS_BUFFER_MIN, .max = OPTIONS_BUFFER_MAX, .default_value = "16384",
      FIELD(buffer_size),
      .help = "relay buffer per direction, 512-16777216 (16384)",
      .reloadable = true },
    { .name = "max-connections", .short_name = 'c', .argument = "N", .kind = OPTION_COUNT,
      .min = 1, .max = 10000000, FIELD(max_connections),
      .help = "most client connections at once (default: what the\n"
              "descriptor limit allows)",
      .reloadable = true },
    { .name = "max-connections-per-address", .argument = "N", .kind = OPTION_COUNT,
      .max = 10000000, .default_value = "0", FIELD(max_connections_per_address),
      .help = "most live connections from one client address, all\n"
              "users together; over it: 0x02; 0 = no limit (0)",
      .reloadable = true },
    { .name = "workers", .argument = "N", .kind = OPTION_COUNT,
      .max = OPTIONS_MAX_WORKERS, .default_value = "0", FIELD(workers),
      .help = "event loops (threads) serving SOCKS clients; 0 = one\n"
              "per CPU this process may run on (0)" },
    { .name = "resolver-threads", .argument = "N", .kind = OPTION_COUNT,
      .min = 1, .max = 256, .default_value = "4", FIELD(resolver_threads),
      .help = "threads for name lookups, per worker (4)" },
    { .name = "history", .argument = "N", .kind = OPTION_COUNT,
      .max = 1000000, .default_value = "1000", FIELD(history_per_user),
      .help = "finished connections kept per user for the admin\n"
              "console (1000; older ones are dropped)" },
    { .name = "accounting-db", .argument = "PATH", .kind = OPTION_TEXT, FIELD(accounting_db),
      .help = "SQLite database of lifetime usage and finished\n"
              "connections, kept across restarts; 'off' = none\n"
              "(default accounting.db beside the users file; off\n"
              "when the users file is off)" },
    { .name = "accounting-optional", .kind = OPTION_ENABLE, FIELD(accounting_optional),
      .help = "start without accounting when its database cannot\n"
              "be opened (default: refuse to start)" },
    { .name = "history-days", .argument = "N", .kind = OPTION_COUNT,
      .max = 36500, .default_value = "90", FIELD(history_days),
      .help = "days finished connections stay in the database;\n"
              "0 = no age bound (90)" },
    { .name = "history-max-rows", .argument = "N", .kind = OPTION_COUNT,
      .max = 1000000000, .default_value = "1000000", FIELD(history_max_rows),
      .help = "most finished connections in the database, the\n"
              "oldest pruned first; 0 = no bound (1000000)" },
    { .name = "admin-sessions", .argument = "N", .kind = OPTION_COUNT,
      .min = 1, .max = 10000, .default_value = "64", FIELD(admin_max_sessions),
      .help = "most admin sessions logged in at once (64)" },
    { .name = "no-splice", .kind = OPTION_DISABLE, FIELD(splice),
      .help = "relay with read/write only, never splice(2)" },
    { .name = "tcp-congestion", .argument = "NAME", .kind = OPTION_CONGESTION,
      FIELD(tcp_congestion),
      .help = "TCP congestion control for the proxy's own sockets,\n"
              "e.g. cubic (default: the system's, see sysctl\n"
              "net.ipv4.tcp_congestion_control)" },
    { .name = "busy-poll", .argument = "US", .kind = OPTION_MICROSECONDS,
      .max = OPTIONS_BUSY_POLL_MAX_US, .default_value = "0", FIELD(busy_poll_us),
      .help = "after handling events, poll this many microseconds\n"
              "(0-1000) before sleeping: trades CPU for latency\n"
              "(0 = off)" },
    { .name = "shutdown-grace", .argument = "S", .kind = OPTION_SECONDS,
      .max = 3600, .default_value = "5", FIELD(shutdown_grace_s),
      .help = "on SIGTERM or once taken over, stop accepting and\n"
              "give live tunnels this long to finish; 0 = close at\n"
              "once (5)" },
    { .name = "upgrade-socket", .argument = "PATH", .kind = OPTION_TEXT, FIELD(upgrade_socket),
      .help = "unix socket (0600) where a new socks5d started with\n"
              "--take-over takes this one's listening sockets;\n"
              "'off' = none (default: upgrade.sock in\n"
              "$RUNTIME_DIRECTORY, else beside the users file)" },
    { .name = "take-over", .argument = "PATH", .kind = OPTION_TEXT, FIELD(take_over),
      .help = "start on the listening sockets of the socks5d whose\n"
              "upgrade socket is PATH (same addresses required),\n"
              "then tell it to stop accepting and drain" },
    { .name = "run-as", .argument = "ACCOUNT", .kind = OPTION_TEXT, FIELD(run_as_user),
      .help = "after binding, drop root privileges to this system\n"
              "account (the users file must be writable by it)" },
    { .name = "log-level", .short_name = 'd', .argument = "LEVEL", .kind = OPTION_LOG_LEVEL,
      .default_value = "info", FIELD(log_level),
      .help = "error, warn, info or debug (info)",
      .reloadable = true },
    { .name = "access-log", .argument = "PATH", .kind = OPTION_TEXT,
      .default_value = "-", FIELD(access_log),
      .help = "access lines: '-' = stderr (default), 'off', or a file" },
    { .name = NULL },
};

#define SPEC_COUNT (sizeof(option_specs) / sizeof(option_specs[0]) - 1)

static bool fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *error, size_t error_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
    return false;
}

/* Messages name the option as its help lists it first: "-p", or "--workers". */
static const char *flag_of(const struct option_spec *spec, char *text, size_t size)
{
    if (spec->short_name != 0)
        snprintf(text, size, "-%c", spec->short_name);
    else
        snprintf(text, size, "--%s", spec->name);
    return text;
}

/* Digits only: strtoull alone would take " 5", "+5" and "-1" (as a huge number). */
static bool parse_number(const char *text, unsigned long long min, unsigned long long max,
                         unsigned long long *value)
{
    if (text[0] < '0' || text[0] > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long parsed = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || parsed < min || parsed > max)
        return false;
    *value = parsed;
    return true;
}

/* The kernel's names (TCP_CA_NAME_MAX includes the terminator): whether it has the one asked
 * for is only known when a socket tries it, after start-up has dropped privileges. */
static bool is_congestion_name(const char *name)
{
    size_t length = strlen(name);
    if (length == 0 || length >= OPTIONS_CONGESTION_NAME_MAX)
        return false;
    for (const char *c = name; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

static bool is_credentials(const char *text)
{
    const char *colon = strchr(text, ':');
    return colon != NULL && colon != text && colon[1] != '\0';
}

static bool is_address(const char *text)
{
    struct sockaddr_storage address;
    socklen_t length;
    return net_parse_address(text, 0, &address, &length);
}

static void *field_of(struct server_options *options, const struct option_spec *spec)
{
    return (char *)options + spec->offset;
}

/* Number fields are unsigned integers of whatever width the struct gives them; the unit tests
 * hold every entry's field to one of these widths and its max to what the width holds. */
static void store_number(void *field, size_t size, unsigned long long number)
{
    uint16_t as_16 = (uint16_t)number;
    uint32_t as_32 = (uint32_t)number;
    uint64_t as_64 = number;
    if (size == sizeof(as_16))
        memcpy(field, &as_16, size);
    else if (size == sizeof(as_32))
        memcpy(field, &as_32, size);
    else if (size == sizeof(as_64))
        memcpy(field, &as_64, size);
}

static size_t list_length(struct server_options *options, const struct option_spec *spec)
{
    size_t count;
    memcpy(&count, field_of(options, spec), sizeof(count));
    return count;
}

static const char *append_socks_address(struct server_options *options, char *value)
{
    if (options->socks_address_count == OPTIONS_MAX_LISTEN)
        return "at most " DECIMAL(OPTIONS_MAX_LISTEN) " listen addresses";
    options->socks_addresses[options->socks_address_count++] = value;
    return NULL;
}

static const char *add_user(struct server_options *options, char *value, bool admin)
{
    struct option_user *users = realloc(options->users, (options->user_count + 1) * sizeof(*users));
    if (users == NULL)
        return "out of memory";
    options->users = users;
    char *colon = strchr(value, ':');
    *colon = '\0';
    users[options->user_count++] = (struct option_user){ value, colon + 1, admin };
    return NULL;
}

static const char *append_user(struct server_options *options, char *value)
{
    return add_user(options, value, false);
}

static const char *append_admin(struct server_options *options, char *value)
{
    return add_user(options, value, true);
}

/* Each kind's parser checks text and, given a field, stores it there; append entries pass
 * no field, their append function keeping the value. */
typedef bool (*kind_parser)(const struct option_spec *spec, const char *text, void *field);

static bool parse_number_field(const struct option_spec *spec, const char *text, void *field)
{
    unsigned long long number;
    if (!parse_number(text, spec->min, spec->max, &number))
        return false;
    if (field != NULL)
        store_number(field, spec->size, number);
    return true;
}

static bool parse_log_level_field(const struct option_spec *spec, const char *text, void *field)
{
    (void)spec;
    enum log_level level;
    if (!log_level_from_name(text, &level))
        return false;
    if (field != NULL)
        memcpy(field, &level, sizeof(level));
    return true;
}

static bool keep_text(const char *text, void *field)
{
    if (field != NULL)
        memcpy(field, &text, sizeof(text));
    return true;
}

static bool parse_address_field(const struct option_spec *spec, const char *text, void *field)
{
    (void)spec;
    return is_address(text) && keep_text(text, field);
}

static bool parse_congestion_field(const struct option_spec *spec, const char *text, void *field)
{
    (void)spec;
    return is_congestion_name(text) && keep_text(text, field);
}

static bool parse_credentials(const struct option_spec *spec, const char *text, void *field)
{
    (void)spec;
    (void)field; /* always appended: the split happens there */
    return is_credentials(text);
}

static bool parse_text_field(const struct option_spec *spec, const char *text, void *field)
{
    (void)spec;
    return keep_text(text, field);
}

static const struct kind_rule {
    kind_parser parse; /* NULL = the kind takes no value */
    const char *wanted; /* ends a usage error: "-x: 'TEXT' is not WANTED" */
    bool secret;        /* the message leaves the value out: it may be a mistyped password */
} kind_rules[] = {
    [OPTION_ENABLE] = { NULL, NULL, false },
    [OPTION_DISABLE] = { NULL, NULL, false },
    [OPTION_PORT] = { parse_number_field, "a port", false },
    [OPTION_SECONDS] = { parse_number_field, "a number of seconds", false },
    [OPTION_MICROSECONDS] = { parse_number_field, "a number of microseconds", false },
    [OPTION_BYTES] = { parse_number_field, "a number of bytes", false },
    [OPTION_COUNT] = { parse_number_field, "a number", false },
    [OPTION_ADDRESS] = { parse_address_field, "an IPv4 or IPv6 address literal", false },
    [OPTION_CREDENTIALS] = { parse_credentials, "user:password", true },
    [OPTION_LOG_LEVEL] = { parse_log_level_field, "a log level (error, warn, info or debug)",
                           false },
    [OPTION_CONGESTION] = { parse_congestion_field, "a congestion control name (e.g. cubic)",
                            false },
    [OPTION_TEXT] = { parse_text_field, "text", false },
};

static bool takes_value(const struct option_spec *spec)
{
    return kind_rules[spec->kind].parse != NULL;
}

bool options_kind_is_number(enum option_kind kind)
{
    return kind_rules[kind].parse == parse_number_field;
}

static bool reject(const struct option_spec *spec, const char *value, char *error,
                   size_t error_size)
{
    char flag[64];
    flag_of(spec, flag, sizeof(flag));
    const struct kind_rule *rule = &kind_rules[spec->kind];
    if (rule->secret)
        return fail(error, error_size, "%s: expected %s", flag, rule->wanted);
    if (options_kind_is_number(spec->kind))
        return fail(error, error_size, "%s: '%s' is not %s (%llu-%llu)", flag, value,
                    rule->wanted, spec->min, spec->max);
    return fail(error, error_size, "%s: '%s' is not %s", flag, value, rule->wanted);
}

static bool set_spec(struct server_options *options, const struct option_spec *spec,
                     char *value, char *error, size_t error_size)
{
    void *field = field_of(options, spec);
    if (!takes_value(spec)) {
        if (value != NULL)
            return fail(error, error_size, "option '--%s' takes no value", spec->name);
        bool enabled = spec->kind == OPTION_ENABLE;
        memcpy(field, &enabled, sizeof(enabled));
        return true;
    }
    if (value == NULL)
        return fail(error, error_size, "option '--%s' needs a value", spec->name);
    if (!kind_rules[spec->kind].parse(spec, value, spec->append != NULL ? NULL : field))
        return reject(spec, value, error, error_size);
    const char *problem = spec->append != NULL ? spec->append(options, value) : NULL;
    if (problem == NULL)
        return true;
    char flag[64];
    return fail(error, error_size, "%s: %s", flag_of(spec, flag, sizeof(flag)), problem);
}

const struct option_spec *options_find(const char *name)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++)
        if (strcmp(spec->name, name) == 0)
            return spec;
    return NULL;
}

bool options_set(struct server_options *options, const char *name, char *value, char *error,
                 size_t error_size)
{
    const struct option_spec *spec = options_find(name);
    if (spec == NULL)
        return fail(error, error_size, "unknown option '%s'", name);
    return set_spec(options, spec, value, error, error_size);
}

/* Defaults are never USER:PASS, the one kind written to, so their text is only read; the
 * unit tests hold every default to its option's rules. */
static void set_default(struct server_options *options, const struct option_spec *spec)
{
    char ignored[8];
    set_spec(options, spec, (char *)spec->default_value, ignored, sizeof(ignored));
}

void options_init(struct server_options *options)
{
    memset(options, 0, sizeof(*options));
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        if (spec->kind == OPTION_DISABLE) {
            bool enabled = true;
            memcpy(field_of(options, spec), &enabled, sizeof(enabled));
        } else if (spec->default_value != NULL && spec->append == NULL) {
            set_default(options, spec);
        }
    }
}

void options_finish(struct server_options *options)
{
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++)
        if (spec->append != NULL && spec->default_value != NULL && list_length(options, spec) == 0)
            set_default(options, spec);
}

/* getopt_long reports a long option as FIRST_LONG_VALUE + its index in the table. */
enum { FIRST_LONG_VALUE = 256 };

static const struct option_spec *spec_of_getopt_value(int value)
{
    if (value >= FIRST_LONG_VALUE && (size_t)(value - FIRST_LONG_VALUE) < SPEC_COUNT)
        return &option_specs[value - FIRST_LONG_VALUE];
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++)
        if (value > 0 && spec->short_name == value)
            return spec;
    return NULL;
}

static void build_getopt_tables(struct option long_options[SPEC_COUNT + 1],
                                char short_options[2 + 2 * SPEC_COUNT + 1])
{
    size_t length = 0;
    short_options[length++] = ':'; /* a missing value returns ':', told apart from unknown */
    for (size_t i = 0; i < SPEC_COUNT; i++) {
        const struct option_spec *spec = &option_specs[i];
        long_options[i] = (struct option){ spec->name,
                                           takes_value(spec) ? required_argument : no_argument,
                                           NULL, FIRST_LONG_VALUE + (int)i };
        if (spec->short_name != 0) {
            short_options[length++] = spec->short_name;
            if (takes_value(spec))
                short_options[length++] = ':';
        }
    }
    long_options[SPEC_COUNT] = (struct option){ NULL, 0, NULL, 0 };
    short_options[length] = '\0';
}

/* getopt_long over argv with the table; stops at the first usage error (false, in error).
 * each is called with every option found and its value (NULL for the kinds without). */
static bool for_each_argv_option(int argc, char **argv,
                                 bool (*each)(const struct option_spec *spec, char *value,
                                              void *context, char *error, size_t error_size),
                                 void *context, char *error, size_t error_size)
{
    struct option long_options[SPEC_COUNT + 1];
    char short_options[2 + 2 * SPEC_COUNT + 1];
    build_getopt_tables(long_options, short_options);
    opterr = 0; /* we word our own messages */
    optind = 0; /* GNU: start over, so that argv can be parsed again (tests, reloads) */
    int value;
    while ((value = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        if (value == '?') {
            /* optopt is set for an unknown short option, and for a long one given a value
             * it takes none; an unknown or ambiguous long option leaves it 0. */
            const struct option_spec *spec = spec_of_getopt_value(optopt);
            if (spec != NULL)
                return fail(error, error_size, "option '--%s' takes no value", spec->name);
            if (optopt != 0)
                return fail(error, error_size, "unknown option '-%c' (see -h)", optopt);
            return fail(error, error_size, "unknown option '%s' (see -h)", argv[optind - 1]);
        }
        if (value == ':')
            return fail(error, error_size, "option '%s' needs a value", argv[optind - 1]);
        if (!each(spec_of_getopt_value(value), optarg, context, error, error_size))
            return false;
    }
    if (optind < argc)
        return fail(error, error_size, "unexpected argument '%s' (see -h)", argv[optind]);
    return true;
}

struct argv_application {
    struct server_options *options;
    bool with_credentials;
    bool listed[SPEC_COUNT]; /* a repeatable option argv has given already */
};

static bool apply_argv_option(const struct option_spec *spec, char *value, void *context,
                              char *error, size_t error_size)
{
    struct argv_application *application = context;
    if (spec->kind == OPTION_CREDENTIALS) {
        if (!application->with_credentials)
            return true;
    } else if (spec->append != NULL && !application->listed[spec - option_specs]) {
        /* The command line's list replaces a config file's rather than adding to it. */
        application->listed[spec - option_specs] = true;
        memset(field_of(application->options, spec), 0, spec->size);
    }
    return set_spec(application->options, spec, value, error, error_size);
}

struct config_request {
    const char *path;
    bool check;
};

static bool note_config_request(const struct option_spec *spec, char *value, void *context,
                                char *error, size_t error_size)
{
    (void)error;
    (void)error_size;
    struct config_request *request = context;
    if (strcmp(spec->name, "config") == 0)
        request->path = value;
    else if (strcmp(spec->name, "check-config") == 0)
        request->check = true;
    return true;
}

bool options_find_config(int argc, char **argv, const char **config_path, bool *check_config,
                         char *error, size_t error_size)
{
    struct config_request request = { NULL, false };
    bool parsed =
        for_each_argv_option(argc, argv, note_config_request, &request, error, error_size);
    *config_path = request.path;
    *check_config = request.check;
    return parsed;
}

bool options_apply_argv(int argc, char **argv, bool with_credentials,
                        struct server_options *options, char *error, size_t error_size)
{
    struct argv_application application = { .options = options,
                                             .with_credentials = with_credentials };
    return for_each_argv_option(argc, argv, apply_argv_option, &application, error,
                                error_size);
}

bool options_parse(int argc, char **argv, struct server_options *options, char *error,
                   size_t error_size)
{
    options_init(options);
    if (!options_apply_argv(argc, argv, true, options, error, error_size))
        return false;
    options_finish(options);
    return true;
}

void options_free(struct server_options *options)
{
    free(options->users);
    options->users = NULL;
    options->user_count = 0;
}

/* Where every option's help text starts, and its continuation lines. */
#define HELP_COLUMN 30

static void write_option_help(FILE *out, const struct option_spec *spec)
{
    char short_form[8] = "    ";
    if (spec->short_name != 0)
        snprintf(short_form, sizeof(short_form), "-%c, ", spec->short_name);
    char usage[128];
    int length = snprintf(usage, sizeof(usage), "  %s--%s%s%s", short_form, spec->name,
                          spec->argument ? " " : "", spec->argument ? spec->argument : "");
    if (length >= HELP_COLUMN - 1)
        fprintf(out, "%s\n%*s", usage, HELP_COLUMN, "");
    else
        fprintf(out, "%-*s", HELP_COLUMN, usage);
    for (const char *c = spec->help; *c != '\0'; c++) {
        fputc(*c, out);
        if (*c == '\n')
            fprintf(out, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', out);
}

void options_write_help(FILE *out, const char *program)
{
    fprintf(out,
            "Usage: %s [options]\n"
            "A SOCKS5 proxy (RFC 1928 CONNECT, BIND and UDP ASSOCIATE, RFC 1929 username/password) with\n"
            "an admin port.\n"
            "\n",
            program);
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++)
        write_option_help(out, spec);
    fputs("\n"
          "USER:PASS on the command line is visible to other local users (ps). Prefer the\n"
          "users file, or SOCKS5D_ADMIN=user:pass in the environment. With no admin at all,\n"
          "an 'admin' user is created with a random password, printed once on stderr when\n"
          "it is a terminal, else written to initial-admin-password beside the users file.\n"
          "Exit codes: 0 clean shutdown, 64 bad usage, 78 bad config file, 1 failure to\n"
          "start; --check-config: 0 good, 1 not.\n",
          out);
}

void options_print_help(const char *program)
{
    options_write_help(stdout, program);
}

void options_print_version(void)
{
    printf("socks5d %s\n"
           "SOCKS5 proxy with a live admin console; grew from a select()-based server of a "
           "Protocolos de Comunicacion course report (ITBA, 2025).\n",
           SOCKS5D_VERSION);
}
