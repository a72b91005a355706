/* command_context: what a running console command is given (the session, the output format
 * and streams) and the exit codes every face of socks5ctl returns. */
#include "command_context.h"

#include "admin_protocol.h"

int console_exit_for_status(unsigned status)
{
    switch (status) {
    case ADMIN_STATUS_OK: return CONSOLE_EXIT_OK;
    case ADMIN_STATUS_BAD_REQUEST:
    case ADMIN_STATUS_NOT_FOUND:
    case ADMIN_STATUS_ALREADY_EXISTS:
    case ADMIN_STATUS_CONFLICT:
    case ADMIN_STATUS_MANAGED_BY_PAM:
    case ADMIN_STATUS_INVALID_CONFIG:
    case ADMIN_STATUS_UNSUPPORTED_COMMAND: return CONSOLE_EXIT_REFUSED;
    case ADMIN_STATUS_FORBIDDEN: return CONSOLE_EXIT_FORBIDDEN;
    case ADMIN_STATUS_UNAUTHENTICATED: return CONSOLE_EXIT_LOGIN_FAILED; /* user removed */
    case ADMIN_STATUS_UNAVAILABLE: return CONSOLE_EXIT_UNAVAILABLE; /* no accounting database */
    default: return CONSOLE_EXIT_SERVER_ERROR; /* 0x01, 0x07, and codes we do not know */
    }
}
