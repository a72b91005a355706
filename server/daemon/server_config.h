/* server_config: everything socks5d loads, whole — defaults, then the config file (-C), then
 * the command line — for a start, a reload or --check-config, and what a reload cannot apply. */
#ifndef SERVER_CONFIG_H
#define SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct policy;
struct config_strings;

/* Exit status of a start refused for its config file (sysexits' EX_CONFIG): like a usage
 * error, nothing a restart could fix. */
#define SERVER_CONFIG_EXIT_INVALID 78

/* One complete load. */
struct server_config {
    struct server_options options;
    struct policy *policy;          /* the config file's rules and limits */
    struct config_strings *strings; /* the text the options point to */
};

enum server_config_status {
    SERVER_CONFIG_LOADED,
    SERVER_CONFIG_USAGE_ERROR, /* the command line is wrong */
    SERVER_CONFIG_FILE_ERROR,  /* the config file cannot be read or is wrong */
};

/* Loads argv's config file (if it names one) and argv over it. with_credentials: see
 * options_apply_argv. On error, problems holds one line per problem ("PATH:LINE: why") and
 * config holds nothing to free. argv must outlive config. */
enum server_config_status server_config_load(int argc, char **argv, bool with_credentials,
                                             struct server_config *config, char *problems,
                                             size_t problems_size);
void server_config_free(struct server_config *config);

/* The keys whose value differs between two loads and that only a restart applies, as
 * "listen, workers" (empty when none). */
void server_config_restart_keys(const struct server_options *running,
                                const struct server_options *loaded, char *keys,
                                size_t keys_size);

/* --check-config: loads everything a start would (config, rules, limits, the users file)
 * without binding or starting anything; prints each problem, or that the configuration is
 * good, on out. Returns the exit status: 0 good, 1 not. */
int server_config_check(int argc, char **argv, FILE *out);

/* A refused reload: each line of problems logged as "TRIGGER: LINE", then that the running
 * configuration and the users in memory stay. */
void server_config_log_refusal(const char *trigger, const char *problems, size_t users);
/* The first line of problems, and how many more there are (an admin answer is one line). */
void server_config_first_problem(const char *problems, char *message, size_t message_size);

#endif
