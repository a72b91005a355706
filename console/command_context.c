/* command_context: what a running console command is given (the session, the output format
 * and streams) and the exit codes every face of socks5ctl returns. */
#include "command_context.h"

#include "admin_client.h"
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

int console_exit_for_client(enum admin_client_result result, uint8_t login_status)
{
    switch (result) {
    case ADMIN_CLIENT_OK: return CONSOLE_EXIT_OK;
    case ADMIN_CLIENT_CANNOT_CONNECT:
    case ADMIN_CLIENT_LOST: return CONSOLE_EXIT_UNAVAILABLE;
    case ADMIN_CLIENT_PROTOCOL_ERROR: return CONSOLE_EXIT_SERVER_ERROR;
    case ADMIN_CLIENT_LOGIN_REFUSED:
        if (login_status == ADMIN_STATUS_UNAUTHENTICATED)
            return CONSOLE_EXIT_LOGIN_FAILED;
        /* 0x01 at login means "not now" (session limit): like a server that is down. */
        if (login_status == ADMIN_STATUS_SERVER_ERROR)
            return CONSOLE_EXIT_UNAVAILABLE;
        if (login_status == ADMIN_STATUS_BAD_REQUEST)
            return CONSOLE_EXIT_USAGE;
        return CONSOLE_EXIT_SERVER_ERROR;
    }
    return CONSOLE_EXIT_SERVER_ERROR;
}
