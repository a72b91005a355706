/* options: socks5d's command line — the original report's flags plus what a production
 * proxy needs — parsed into one struct, with no side effects, so it can be unit-tested. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "relay.h"

#define OPTIONS_MAX_LISTEN 8
#define OPTIONS_MAX_WORKERS 256
#define OPTIONS_EXIT_USAGE 64 /* EX_USAGE */
#define OPTIONS_CONGESTION_NAME_MAX 16 /* the kernel's TCP_CA_NAME_MAX */
#define OPTIONS_BUSY_POLL_MAX_US 1000

struct option_user {
    char *name;
    char *password; /* points into argv or the environment; wiped after use */
    bool admin;
};

struct server_options {
    const char *socks_addresses[OPTIONS_MAX_LISTEN];
    size_t socks_address_count;
    uint16_t socks_port;
    const char *admin_address;
    uint16_t admin_port;
    struct option_user *users;
    size_t user_count;
    bool no_auth_allowed;
    const char *users_file; /* NULL = none */
    uint32_t handshake_timeout_s;
    uint32_t connect_timeout_s;
    uint32_t idle_timeout_s;
    uint32_t buffer_size;
    size_t max_connections; /* 0 = derive from the descriptor limit */
    unsigned resolver_threads; /* per worker */
    unsigned workers;          /* 0 = one per CPU in the affinity mask */
    size_t history_per_user;
    size_t admin_max_sessions;
    bool splice; /* relay streams with splice(2) (default on) */
    const char *tcp_congestion; /* NULL = the system's default */
    unsigned busy_poll_us;      /* 0 = loops sleep as soon as idle */
    uint32_t shutdown_grace_s;
    const char *run_as_user; /* --user: drop privileges to this account after binding */
    enum log_level log_level;
    const char *access_log;
    bool show_help;
    bool show_version;
};

#define OPTIONS_BUFFER_MIN RELAY_BUFFER_SIZE_MIN
#define OPTIONS_BUFFER_MAX RELAY_BUFFER_SIZE_MAX

/* Fills options from argv (defaults first). On a usage error returns false with a one-line
 * message in error. argv strings are kept by reference: argv must outlive options.
 * "user:pass" arguments are split in place. */
bool options_parse(int argc, char **argv, struct server_options *options, char *error,
                   size_t error_size);
void options_free(struct server_options *options);
void options_print_help(const char *program);
void options_print_version(void);

#endif
