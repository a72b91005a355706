/* option_table: socks5d's options, one entry each — name, value kind and range, default, help,
 * field, and whether a reload applies it; options.c reads and parses by it. */
#include "options.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
static const char *append_proxy_source(struct server_options *options, char *value);

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
    { .name = "admin-tls-cert", .argument = "PATH", .kind = OPTION_TEXT, FIELD(admin_tls_cert),
      .help = "serve the admin port over TLS (1.2 or later) with\n"
              "this PEM certificate chain, the server's first;\n"
              "needs --admin-tls-key (default: plaintext)" },
    { .name = "admin-tls-key", .argument = "PATH", .kind = OPTION_TEXT, FIELD(admin_tls_key),
      .help = "the PEM private key of --admin-tls-cert" },
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
    { .name = "proxy-protocol-from", .argument = "CIDR", .kind = OPTION_NETWORK,
      FIELD(proxy_source_count), .append = append_proxy_source,
      .help = "load balancers that send a PROXY protocol header\n"
              "(v1 or v2): required from them, refused from\n"
              "others; its client address counts for everything;\n"
              "repeatable (default: none)",
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
    { .name = "metrics-listen", .argument = "ADDR:PORT", .kind = OPTION_ENDPOINT,
      FIELD(metrics_listen),
      .help = "serve Prometheus metrics over HTTP at\n"
              "http://ADDR:PORT/metrics ([::1]:9150 for IPv6;\n"
              "port 0 = any free port); off by default" },
    { .name = "metrics-max-users", .argument = "N", .kind = OPTION_COUNT,
      .max = 1000000, .default_value = "1000", FIELD(metrics_max_users),
      .help = "users with the most bytes that get per-user series;\n"
              "the rest are summed as user=\"other\"; 0 = no\n"
              "per-user series (1000)" },
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
    { .name = "auth", .argument = "METHOD", .kind = OPTION_TEXT, .default_value = "file",
      FIELD(auth),
      .help = "how logins are checked: 'file' (the users file,\n"
              "default) or 'pam[:SERVICE]' (the PAM stack, service\n"
              "socks5d by default; names in the users file are\n"
              "still checked by the file)" },
    { .name = "pam-config-dir", .argument = "DIR", .kind = OPTION_TEXT, FIELD(pam_config_dir),
      .help = "read the PAM service from DIR instead of /etc/pam.d" },
    { .name = "admin-group", .argument = "GROUP", .kind = OPTION_TEXT, FIELD(admin_group),
      .help = "PAM users in this Unix group are admins, the others\n"
              "regular users (none by default)" },
    { .name = "pam-cache", .argument = "S", .kind = OPTION_SECONDS, .max = 86400,
      .default_value = "300", FIELD(pam_cache_s),
      .help = "seconds a password PAM accepted is trusted without\n"
              "asking PAM again; 0 = always ask (300)" },
    { .name = NULL },
};

/* ---- the list options' appenders ---- */

static const char *append_socks_address(struct server_options *options, char *value)
{
    if (options->socks_address_count == OPTIONS_MAX_LISTEN)
        return "at most " DECIMAL(OPTIONS_MAX_LISTEN) " listen addresses";
    options->socks_addresses[options->socks_address_count++] = value;
    return NULL;
}

static const char *append_proxy_source(struct server_options *options, char *value)
{
    if (options->proxy_source_count == OPTIONS_MAX_PROXY_SOURCES)
        return "at most " DECIMAL(OPTIONS_MAX_PROXY_SOURCES) " networks";
    options->proxy_sources[options->proxy_source_count++] = value;
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

const size_t option_spec_count = sizeof(option_specs) / sizeof(option_specs[0]) - 1;
_Static_assert(sizeof(option_specs) / sizeof(option_specs[0]) - 1 <= OPTIONS_SPEC_MAX,
               "OPTIONS_SPEC_MAX sizes the getopt tables: raise it");
