/* options: socks5d's command line — the original report's flags plus what a production
 * proxy needs — parsed into one struct, with no side effects, so it can be unit-tested. */
#include "options.h"

#include "net.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SOCKS5D_VERSION
#define SOCKS5D_VERSION "0.0.0"
#endif

enum long_only_option {
    OPTION_CONNECT_TIMEOUT = 256,
    OPTION_IDLE_TIMEOUT,
    OPTION_ACCESS_LOG,
    OPTION_RESOLVER_THREADS,
    OPTION_HISTORY,
    OPTION_ADMIN_SESSIONS,
    OPTION_NO_SPLICE,
    OPTION_SHUTDOWN_GRACE,
    OPTION_RUN_AS_USER,
    OPTION_WORKERS,
    OPTION_TCP_CONGESTION,
    OPTION_BUSY_POLL,
};

static const struct option long_options[] = {
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, 'v' },
    { "listen", required_argument, NULL, 'l' },
    { "port", required_argument, NULL, 'p' },
    { "admin-listen", required_argument, NULL, 'L' },
    { "admin-port", required_argument, NULL, 'P' },
    { "user", required_argument, NULL, 'u' },
    { "admin", required_argument, NULL, 'a' },
    { "no-auth", no_argument, NULL, 'n' },
    { "users-file", required_argument, NULL, 'f' },
    { "handshake-timeout", required_argument, NULL, 't' },
    { "connect-timeout", required_argument, NULL, OPTION_CONNECT_TIMEOUT },
    { "idle-timeout", required_argument, NULL, OPTION_IDLE_TIMEOUT },
    { "buffer-size", required_argument, NULL, 'b' },
    { "max-connections", required_argument, NULL, 'c' },
    { "log-level", required_argument, NULL, 'd' },
    { "access-log", required_argument, NULL, OPTION_ACCESS_LOG },
    { "resolver-threads", required_argument, NULL, OPTION_RESOLVER_THREADS },
    { "history", required_argument, NULL, OPTION_HISTORY },
    { "admin-sessions", required_argument, NULL, OPTION_ADMIN_SESSIONS },
    { "no-splice", no_argument, NULL, OPTION_NO_SPLICE },
    { "shutdown-grace", required_argument, NULL, OPTION_SHUTDOWN_GRACE },
    { "run-as", required_argument, NULL, OPTION_RUN_AS_USER },
    { "workers", required_argument, NULL, OPTION_WORKERS },
    { "tcp-congestion", required_argument, NULL, OPTION_TCP_CONGESTION },
    { "busy-poll", required_argument, NULL, OPTION_BUSY_POLL },
    { NULL, 0, NULL, 0 },
};

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

static bool add_user(struct server_options *options, char *argument, bool admin)
{
    char *colon = strchr(argument, ':');
    if (colon == NULL || colon == argument || colon[1] == '\0')
        return false;
    struct option_user *users = realloc(options->users, (options->user_count + 1) * sizeof(*users));
    if (users == NULL)
        return false;
    options->users = users;
    *colon = '\0';
    users[options->user_count++] = (struct option_user){ argument, colon + 1, admin };
    return true;
}

static void set_defaults(struct server_options *options)
{
    memset(options, 0, sizeof(*options));
    options->socks_port = 1080;
    options->admin_address = "127.0.0.1";
    options->admin_port = 8080;
    options->handshake_timeout_s = 10;
    options->connect_timeout_s = 10;
    options->idle_timeout_s = 3600;
    options->buffer_size = 16384;
    options->resolver_threads = 4;
    options->history_per_user = 1000;
    options->admin_max_sessions = 64;
    options->splice = true;
    options->shutdown_grace_s = 5;
    options->log_level = LOG_INFO;
    options->access_log = "-";
}

/* Applies one option; returns false with the message in error. */
static bool apply_option(struct server_options *options, int option, char *argument,
                         char *error, size_t error_size)
{
    unsigned long long number;
    switch (option) {
    case 'h':
        options->show_help = true;
        return true;
    case 'v':
        options->show_version = true;
        return true;
    case 'l':
        if (options->socks_address_count == OPTIONS_MAX_LISTEN)
            return fail(error, error_size, "-l: at most %d listen addresses", OPTIONS_MAX_LISTEN);
        options->socks_addresses[options->socks_address_count++] = argument;
        return true;
    case 'p':
    case 'P':
        if (!parse_number(argument, 0, 65535, &number))
            return fail(error, error_size, "-%c: '%s' is not a port (0-65535)", option, argument);
        *(option == 'p' ? &options->socks_port : &options->admin_port) = (uint16_t)number;
        return true;
    case 'L':
        options->admin_address = argument;
        return true;
    case 'u':
    case 'a':
        if (!add_user(options, argument, option == 'a'))
            return fail(error, error_size, "-%c: expected user:password", option);
        return true;
    case 'n':
        options->no_auth_allowed = true;
        return true;
    case 'f':
        options->users_file = argument;
        return true;
    case 't':
    case OPTION_CONNECT_TIMEOUT:
    case OPTION_IDLE_TIMEOUT:
        if (!parse_number(argument, option == OPTION_IDLE_TIMEOUT ? 0 : 1, 86400 * 365, &number))
            return fail(error, error_size, "timeout '%s' is not a number of seconds", argument);
        if (option == 't')
            options->handshake_timeout_s = (uint32_t)number;
        else if (option == OPTION_CONNECT_TIMEOUT)
            options->connect_timeout_s = (uint32_t)number;
        else
            options->idle_timeout_s = (uint32_t)number;
        return true;
    case 'b':
        if (!parse_number(argument, OPTIONS_BUFFER_MIN, OPTIONS_BUFFER_MAX, &number))
            return fail(error, error_size, "-b: buffer size must be %u to %u bytes",
                        OPTIONS_BUFFER_MIN, OPTIONS_BUFFER_MAX);
        options->buffer_size = (uint32_t)number;
        return true;
    case 'c':
        if (!parse_number(argument, 1, 10000000, &number))
            return fail(error, error_size, "-c: '%s' is not a connection count", argument);
        options->max_connections = (size_t)number;
        return true;
    case 'd':
        if (!log_level_from_name(argument, &options->log_level))
            return fail(error, error_size, "-d: log level must be error, warn, info or debug");
        return true;
    case OPTION_ACCESS_LOG:
        options->access_log = argument;
        return true;
    case OPTION_RESOLVER_THREADS:
        if (!parse_number(argument, 1, 256, &number))
            return fail(error, error_size, "--resolver-threads: 1 to 256");
        options->resolver_threads = (unsigned)number;
        return true;
    case OPTION_WORKERS:
        if (!parse_number(argument, 0, OPTIONS_MAX_WORKERS, &number))
            return fail(error, error_size, "--workers: 0 (one per CPU) to %u", OPTIONS_MAX_WORKERS);
        options->workers = (unsigned)number;
        return true;
    case OPTION_HISTORY:
        if (!parse_number(argument, 0, 1000000, &number))
            return fail(error, error_size, "--history: 0 to 1000000 connections per user");
        options->history_per_user = (size_t)number;
        return true;
    case OPTION_ADMIN_SESSIONS:
        if (!parse_number(argument, 1, 10000, &number))
            return fail(error, error_size, "--admin-sessions: 1 to 10000");
        options->admin_max_sessions = (size_t)number;
        return true;
    case OPTION_SHUTDOWN_GRACE:
        if (!parse_number(argument, 0, 3600, &number))
            return fail(error, error_size, "--shutdown-grace: 0 to 3600 seconds");
        options->shutdown_grace_s = (uint32_t)number;
        return true;
    case OPTION_RUN_AS_USER:
        options->run_as_user = argument;
        return true;
    case OPTION_NO_SPLICE:
        options->splice = false;
        return true;
    case OPTION_TCP_CONGESTION:
        if (!is_congestion_name(argument))
            return fail(error, error_size,
                        "--tcp-congestion: '%s' is not a congestion control name (e.g. cubic)",
                        argument);
        options->tcp_congestion = argument;
        return true;
    case OPTION_BUSY_POLL:
        if (!parse_number(argument, 0, OPTIONS_BUSY_POLL_MAX_US, &number))
            return fail(error, error_size, "--busy-poll: 0 to %u microseconds",
                        OPTIONS_BUSY_POLL_MAX_US);
        options->busy_poll_us = (unsigned)number;
        return true;
    default:
        return fail(error, error_size, "unknown option (see -h)");
    }
}

static bool check_addresses(const struct server_options *options, char *error, size_t error_size)
{
    struct sockaddr_storage address;
    socklen_t length;
    for (size_t i = 0; i < options->socks_address_count; i++) {
        if (!net_parse_address(options->socks_addresses[i], 0, &address, &length))
            return fail(error, error_size, "-l %s: not an IPv4 or IPv6 address literal",
                        options->socks_addresses[i]);
    }
    if (!net_parse_address(options->admin_address, 0, &address, &length))
        return fail(error, error_size, "-L %s: not an IPv4 or IPv6 address literal",
                    options->admin_address);
    return true;
}

bool options_parse(int argc, char **argv, struct server_options *options, char *error,
                   size_t error_size)
{
    set_defaults(options);
    opterr = 0; /* we word our own messages */
    optind = 1;
    int option;
    while ((option = getopt_long(argc, argv, ":hvl:p:L:P:u:a:nf:t:b:c:d:", long_options, NULL)) != -1) {
        if (option == '?') {
            if (optopt != 0)
                return fail(error, error_size, "unknown option '-%c' (see -h)", optopt);
            return fail(error, error_size, "unknown option '%s' (see -h)", argv[optind - 1]);
        }
        if (option == ':')
            return fail(error, error_size, "option '%s' needs a value", argv[optind - 1]);
        if (!apply_option(options, option, optarg, error, error_size))
            return false;
    }
    if (optind < argc)
        return fail(error, error_size, "unexpected argument '%s' (see -h)", argv[optind]);
    if (options->socks_address_count == 0)
        options->socks_addresses[options->socks_address_count++] = "127.0.0.1";
    return check_addresses(options, error, error_size);
}

void options_free(struct server_options *options)
{
    free(options->users);
    options->users = NULL;
    options->user_count = 0;
}

void options_print_help(const char *program)
{
    printf("Usage: %s [options]\n"
           "A SOCKS5 proxy (RFC 1928 CONNECT, RFC 1929 username/password) with an admin port.\n"
           "\n"
           "  -h, --help                  show this help and exit\n"
           "  -v, --version               show the version and exit\n"
           "  -l, --listen ADDR           SOCKS listen address, IPv4 or IPv6 literal; repeat for\n"
           "                              several (default 127.0.0.1)\n"
           "  -p, --port PORT             SOCKS port (default 1080; 0 = any free port)\n"
           "  -L, --admin-listen ADDR     admin listen address (default 127.0.0.1)\n"
           "  -P, --admin-port PORT       admin port (default 8080; 0 = any free port)\n"
           "  -u, --user USER:PASS        add a regular user (repeatable)\n"
           "  -a, --admin USER:PASS       add an admin user (repeatable)\n"
           "  -n, --no-auth               also accept clients that offer no authentication\n"
           "  -f, --users-file PATH       users file, one 'name:role:crypt-hash' per line, kept\n"
           "                              up to date on every change; 'off' = memory only\n"
           "                              (default $STATE_DIRECTORY/users, else\n"
           "                              ~/.local/state/socks5d/users); SIGHUP reloads it\n"
           "  -t, --handshake-timeout S   seconds allowed for greeting, auth and request (10)\n"
           "      --connect-timeout S     seconds allowed to resolve, and per address to\n"
           "                              connect (10)\n"
           "      --idle-timeout S        close tunnels idle this long; 0 = never (3600)\n"
           "  -b, --buffer-size BYTES     relay buffer per direction, %u-%u (16384)\n"
           "  -c, --max-connections N     most client connections at once (default: what the\n"
           "                              descriptor limit allows)\n"
           "      --workers N             event loops (threads) serving SOCKS clients; 0 = one\n"
           "                              per CPU this process may run on (0)\n"
           "      --resolver-threads N    threads for name lookups, per worker (4)\n"
           "      --history N             finished connections kept per user for the admin\n"
           "                              console (1000; older ones are dropped)\n"
           "      --admin-sessions N      most admin sessions logged in at once (64)\n"
           "      --no-splice             relay with read/write only, never splice(2)\n"
           "      --tcp-congestion NAME   TCP congestion control for the proxy's own sockets,\n"
           "                              e.g. cubic (default: the system's, see sysctl\n"
           "                              net.ipv4.tcp_congestion_control)\n"
           "      --busy-poll US          after handling events, poll this many microseconds\n"
           "                              (0-1000) before sleeping: trades CPU for latency\n"
           "                              (0 = off)\n"
           "      --shutdown-grace S      on SIGTERM, stop accepting and give live tunnels\n"
           "                              this long to finish; 0 = close at once (5)\n"
           "      --run-as ACCOUNT        after binding, drop root privileges to this system\n"
           "                              account (the users file must be writable by it)\n"
           "  -d, --log-level LEVEL       error, warn, info or debug (info)\n"
           "      --access-log PATH       access lines: '-' = stderr (default), 'off', or a file\n"
           "\n"
           "USER:PASS on the command line is visible to other local users (ps). Prefer the\n"
           "users file, or SOCKS5D_ADMIN=user:pass in the environment. With no admin at all,\n"
           "an 'admin' user is created with a random password printed once on stderr.\n"
           "Exit codes: 0 clean shutdown, 64 bad usage, 1 failure to start.\n",
           program, OPTIONS_BUFFER_MIN, OPTIONS_BUFFER_MAX);
}

void options_print_version(void)
{
    printf("socks5d %s\n"
           "SOCKS5 proxy with a live admin console; grew from a select()-based server of a "
           "Protocolos de Comunicacion course report (ITBA, 2025).\n",
           SOCKS5D_VERSION);
}
