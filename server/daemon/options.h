/* options: socks5d's settings — one table names each option, its value's kind and range, its
 * default, its help and its field; the command line, --help and options_set derive from it. */
#ifndef OPTIONS_H
#define OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "log.h"
#include "policy.h"
#include "relay.h"

#define OPTIONS_MAX_LISTEN 8
#define OPTIONS_MAX_WORKERS 256
#define OPTIONS_MAX_PROXY_SOURCES POLICY_PROXY_SOURCES_MAX
#define OPTIONS_EXIT_USAGE 64 /* EX_USAGE */
#define OPTIONS_CONGESTION_NAME_MAX 16 /* the kernel's TCP_CA_NAME_MAX */
#define OPTIONS_BUSY_POLL_MAX_US 1000
#define OPTIONS_BUFFER_MIN RELAY_BUFFER_SIZE_MIN
#define OPTIONS_BUFFER_MAX RELAY_BUFFER_SIZE_MAX

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
    const char *admin_tls_cert; /* NULL = a plaintext admin port */
    const char *admin_tls_key;
    struct option_user *users;
    size_t user_count;
    bool no_auth_allowed;
    bool allow_loopback; /* lifts the safe defaults' loopback denial */
    const char *users_file; /* NULL = none */
    uint32_t handshake_timeout_s;
    uint32_t connect_timeout_s;
    uint32_t idle_timeout_s;
    uint32_t buffer_size;
    size_t max_connections; /* 0 = derive from the descriptor limit */
    size_t max_connections_per_address; /* 0 = no limit */
    const char *proxy_sources[OPTIONS_MAX_PROXY_SOURCES]; /* --proxy-protocol-from CIDRs */
    size_t proxy_source_count;
    unsigned resolver_threads; /* per worker */
    unsigned workers;          /* 0 = one per CPU in the affinity mask */
    size_t history_per_user;
    const char *accounting_db; /* NULL = beside the users file; "off" */
    bool accounting_optional;  /* a database that cannot be used: run without it */
    size_t history_days;       /* stored connections kept; 0 = no age bound */
    size_t history_max_rows;   /* 0 = no row bound */
    size_t admin_max_sessions;
    bool splice; /* relay streams with splice(2) (default on) */
    const char *tcp_congestion; /* NULL = the system's default */
    unsigned busy_poll_us;      /* 0 = loops sleep as soon as idle */
    uint32_t shutdown_grace_s;
    const char *upgrade_socket; /* NULL = the default path; "off" */
    const char *take_over;      /* NULL = bind the listeners; else the running one's socket */
    const char *run_as_user; /* --run-as: drop privileges to this account after binding */
    enum log_level log_level;
    const char *access_log;
    const char *metrics_listen; /* --metrics-listen ADDR:PORT; NULL = no Prometheus endpoint */
    size_t metrics_max_users;   /* users given series of their own; the rest: user="other" */
    bool show_help;
    bool show_version;
    const char *config_path; /* -C: read first, the command line overriding it; NULL = none */
    bool check_config;       /* --check-config: load everything, report, start nothing */
    const char *auth;           /* --auth: "file", "pam" or "pam:SERVICE" */
    const char *pam_config_dir; /* NULL = the system's PAM configuration */
    const char *admin_group;    /* PAM users in this group are admins; NULL = none */
    uint32_t pam_cache_s;       /* how long a password PAM accepted is trusted; 0 = never */
};

/* What a value must look like; each kind has one wording for its usage errors. */
enum option_kind {
    OPTION_ENABLE,      /* takes no value; sets a bool that is false by default */
    OPTION_DISABLE,     /* takes no value; clears a bool that is true by default */
    OPTION_PORT,        /* the number kinds: decimal digits only, min to max */
    OPTION_SECONDS,
    OPTION_MICROSECONDS,
    OPTION_BYTES,
    OPTION_COUNT,
    OPTION_ADDRESS,     /* an IPv4 or IPv6 literal, kept by reference */
    OPTION_NETWORK,     /* an IPv4 or IPv6 network in CIDR notation, kept by reference */
    OPTION_ENDPOINT,    /* ADDR:PORT, an IPv6 literal in brackets; kept by reference */
    OPTION_CREDENTIALS, /* USER:PASS, split in place; never echoed in a message */
    OPTION_LOG_LEVEL,
    OPTION_CONGESTION,  /* a name the kernel could know; whether it does is learnt at start */
    OPTION_TEXT,        /* any text, kept by reference */
};

/* Appends one valid value of a repeatable option (whose field is then the list's count);
 * returns NULL, or why it could not. */
typedef const char *(*option_append_fn)(struct server_options *options, char *value);

struct option_spec {
    const char *name;       /* the long option, and the key a config file will use */
    char short_name;        /* 0 = long form only */
    const char *argument;   /* the value's name in --help; NULL for a kind that takes none */
    enum option_kind kind;
    unsigned long long min; /* the number kinds' range */
    unsigned long long max;
    const char *default_value; /* written as on the command line; NULL = none */
    size_t offset;             /* the field in struct server_options */
    size_t size;
    option_append_fn append; /* NULL = a single value, stored at offset */
    const char *help;        /* '\n' starts a continuation line */
    /* A reload (SIGHUP, the admin's reload) applies it to new connections; the others are
     * kept as they are until a restart. */
    bool reloadable;
};

/* Every option, in --help order; the entry after the last has a NULL name. */
/* The table (option_table.c), ended by an entry whose name is NULL; option_spec_count entries
 * before it, at most OPTIONS_SPEC_MAX (the getopt tables are sized by it). */
#define OPTIONS_SPEC_MAX 64
extern const struct option_spec option_specs[];
extern const size_t option_spec_count;

/* Whether values of that kind are decimal numbers checked against min and max. */
bool options_kind_is_number(enum option_kind kind);

/* NULL when no option has that long name. */
const struct option_spec *options_find(const char *name);

/* The defaults of single-value options; repeatable ones start empty. */
void options_init(struct server_options *options);

/* Validates and stores one value of the option with that long name (value NULL for options
 * that take none). The value is kept by reference and USER:PASS is split in place, so it
 * must be writable and outlive options. On error returns false with a one-line message
 * naming the option in error. */
bool options_set(struct server_options *options, const char *name, char *value, char *error,
                 size_t error_size);

/* Gives repeatable options nobody set their defaults; call once every value is set. */
void options_finish(struct server_options *options);

/* options_init, options_set for each of argv's options, options_finish. On a usage error
 * returns false with a one-line message in error. argv must outlive options. */
bool options_parse(int argc, char **argv, struct server_options *options, char *error,
                   size_t error_size);

/* The first of options_parse's steps apart, for a config file read between defaults and the
 * command line: the value of argv's last -C (*config_path NULL when none) and whether it asks
 * for --check-config, with argv's usage errors reported as options_parse does (values
 * themselves are checked when applied). */
bool options_find_config(int argc, char **argv, const char **config_path, bool *check_config,
                         char *error, size_t error_size);
/* options_set for each of argv's options, over what options holds. with_credentials false
 * skips -u and -a: a reload parses argv again, after their values were split and wiped. */
bool options_apply_argv(int argc, char **argv, bool with_credentials,
                        struct server_options *options, char *error, size_t error_size);
void options_free(struct server_options *options);

void options_write_help(FILE *out, const char *program);
void options_print_help(const char *program);
void options_print_version(void);

#endif
