/* batch: socks5ctl's command line — login and output flags, and the one-letter action flags
 * (-u, -r, -m, -G, ...) turned into a list of console commands, parsed with no I/O. */
#ifndef BATCH_H
#define BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "console.h"

/* One console command: argv[0] is its name; argv is NULL-terminated and owned. */
struct batch_command {
    int argc;
    char **argv;
};

struct batch_options {
    const char **addresses; /* -a HOST[:PORT], repeatable, in order (array owned, the texts
                             * are argv's); none = the client's default (127.0.0.1) */
    size_t address_count;
    const char **server_files; /* --servers FILE, repeatable (array owned, texts argv's) */
    size_t server_file_count;
    const char *port;     /* -p: the port of addresses without one; NULL = 8080 */
    char *user;           /* -l USER[:PASS]: the part before the first ':' (owned); NULL if no -l */
    char *password;       /* the part after it (owned, wiped by batch_free); NULL if not given */
    enum console_format format; /* -o */
    int timeout_ms;       /* -t SECONDS; 0 = the client's default */
    bool tls;             /* --tls, or --ca given */
    const char *ca_file;  /* --ca FILE; NULL = the system's store */
    bool help;            /* -h */
    bool version;         /* -v */
    struct batch_command *commands; /* action flags in order, then the words after the flags */
    size_t command_count;
    /* Where argv holds passwords (after the ':' of -l and -u): main wipes them once copied,
     * so they do not linger in /proc/PID/cmdline. */
    char *secrets[16];
    size_t secret_count;
};

/* Parses argv. Every command is checked (console_check), so a bad value fails before any
 * command runs. Returns CONSOLE_EXIT_OK, or CONSOLE_EXIT_USAGE with error set (one line). */
int batch_parse(int argc, char **argv, struct batch_options *options, char *error,
                size_t error_size);
/* Overwrites the passwords in the argv given to batch_parse (see secrets). */
void batch_wipe_argv_secrets(struct batch_options *options);
void batch_free(struct batch_options *options);

/* The --help text: flags, commands (from the console's table), environment, exit codes. */
void batch_print_usage(FILE *out);

#endif
