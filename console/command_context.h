/* command_context: what a running console command is given (the session, the output format
 * and streams) and the exit codes every face of socks5ctl returns. */
#ifndef COMMAND_CONTEXT_H
#define COMMAND_CONTEXT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "admin_client.h"
#include "output.h"

struct fleet;

/* Exit codes (documented in --help, the man page and the README). */
enum console_exit {
    CONSOLE_EXIT_OK = 0,
    CONSOLE_EXIT_SERVER_ERROR = 1,   /* STATUS 0x01, or a reply that is not protocol v2 */
    CONSOLE_EXIT_REFUSED = 2,        /* bad request, not found, already exists, conflict,
                                      * managed by PAM */
    CONSOLE_EXIT_FORBIDDEN = 3,      /* STATUS 0x04: needs the admin role */
    CONSOLE_EXIT_USAGE = 64,         /* EX_USAGE: bad flags or command arguments */
    CONSOLE_EXIT_UNAVAILABLE = 69,   /* EX_UNAVAILABLE: cannot connect, the session broke, or
                                      * STATUS 0x0B: the accounting database is off or failing */
    CONSOLE_EXIT_LOGIN_FAILED = 77,  /* EX_NOPERM: wrong user name or password */
};

struct console_context {
    struct admin_client *client; /* the first server's session (the only one, usually) */
    struct fleet *fleet;         /* every server's; NULL in tests that give only client */
    enum console_format format;
    FILE *out; /* command output */
    FILE *err; /* one-line error messages */
    /* Zero is the safe default for both: */
    bool may_prompt; /* add-user/set-password may ask a missing password on the terminal */
    bool quit;       /* set by quit/exit: the prompt or a stdin batch stops after this line */
    /* With several servers: the highest exit code of those that failed during the command
     * running now, while the others' results are shown (console_execute returns it). */
    int fleet_failure;
};

/* The exit code for a response status (PROTOCOL.md section 6). */
int console_exit_for_status(unsigned status);
/* The exit code for a failed call or login (login_status: the login reply's status). */
int console_exit_for_client(enum admin_client_result result, uint8_t login_status);

#endif
