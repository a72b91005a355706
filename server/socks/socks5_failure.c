/* socks5_failure: why a SOCKS5 request is refused, and what each cause answers on the wire
 * (its RFC 1928 REP code) and counts in the metrics — both decided in one function. */
#include "socks5_failure.h"

#include <errno.h>

static struct socks5_failure_outcome answered(enum socks5_reply_code reply,
                                              enum metric_counter counter,
                                              enum metric_counter also)
{
    return (struct socks5_failure_outcome){reply, {counter, also}};
}

/* Counters follow the cause: a failed lookup counts as a DNS error and as an unreachable host
 * (PROTOCOL.md's host_unreachable: unreachable, resolution failed, or timed out), whatever
 * REP code it is answered with. No default: a new cause without its line does not compile. */
struct socks5_failure_outcome socks5_failure_outcome(enum socks5_failure cause)
{
    switch (cause) {
    case SOCKS5_FAILURE_NONE:
        return answered(SOCKS5_REPLY_SUCCEEDED, METRIC_NONE, METRIC_NONE);
    case SOCKS5_FAILURE_GENERAL:
        return answered(SOCKS5_REPLY_GENERAL_FAILURE, METRIC_NONE, METRIC_NONE);
    case SOCKS5_FAILURE_LOCAL_RESOURCES:
        return answered(SOCKS5_REPLY_GENERAL_FAILURE, METRIC_SERVER_ERRORS, METRIC_NONE);
    case SOCKS5_FAILURE_REFUSED:
        return answered(SOCKS5_REPLY_CONNECTION_REFUSED, METRIC_CONNECTION_REFUSED, METRIC_NONE);
    case SOCKS5_FAILURE_NETWORK_UNREACHABLE:
        return answered(SOCKS5_REPLY_NETWORK_UNREACHABLE, METRIC_NONE, METRIC_NONE);
    case SOCKS5_FAILURE_HOST_UNREACHABLE:
        return answered(SOCKS5_REPLY_HOST_UNREACHABLE, METRIC_HOST_UNREACHABLE, METRIC_NONE);
    case SOCKS5_FAILURE_LOOKUP_FAILED:
    case SOCKS5_FAILURE_LOOKUP_TIMEOUT:
        return answered(SOCKS5_REPLY_HOST_UNREACHABLE, METRIC_DNS_ERRORS, METRIC_HOST_UNREACHABLE);
    case SOCKS5_FAILURE_CONNECT_TIMEOUT:
        return answered(SOCKS5_REPLY_HOST_UNREACHABLE, METRIC_HOST_UNREACHABLE, METRIC_NONE);
    case SOCKS5_FAILURE_BIND_TIMEOUT:
        return answered(SOCKS5_REPLY_TTL_EXPIRED, METRIC_NONE, METRIC_NONE);
    case SOCKS5_FAILURE_NOT_ALLOWED_BY_POLICY:
        return answered(SOCKS5_REPLY_NOT_ALLOWED, METRIC_RULE_DENIALS, METRIC_NONE);
    case SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL:
        return answered(SOCKS5_REPLY_NOT_ALLOWED, METRIC_NONE, METRIC_NONE);
    case SOCKS5_FAILURE_OVER_USER_LIMIT:
    case SOCKS5_FAILURE_OVER_ADDRESS_LIMIT:
        return answered(SOCKS5_REPLY_NOT_ALLOWED, METRIC_LIMIT_REFUSALS, METRIC_NONE);
    case SOCKS5_FAILURE_COMMAND_UNSUPPORTED:
        return answered(SOCKS5_REPLY_COMMAND_NOT_SUPPORTED, METRIC_UNSUPPORTED_INPUT, METRIC_NONE);
    case SOCKS5_FAILURE_ADDRESS_TYPE_UNSUPPORTED:
        return answered(SOCKS5_REPLY_ADDRESS_TYPE_NOT_SUPPORTED, METRIC_UNSUPPORTED_INPUT,
                        METRIC_NONE);
    case SOCKS5_FAILURE_MALFORMED_REQUEST:
        return answered(SOCKS5_REPLY_GENERAL_FAILURE, METRIC_UNSUPPORTED_INPUT, METRIC_NONE);
    case SOCKS5_FAILURE_COUNT:
        break;
    }
    return answered(SOCKS5_REPLY_GENERAL_FAILURE, METRIC_NONE, METRIC_NONE);
}

enum socks5_failure socks5_failure_of_connect_error(int error)
{
    switch (error) {
    case ECONNREFUSED:
        return SOCKS5_FAILURE_REFUSED;
    case ENETUNREACH:
    case ENETDOWN:
        return SOCKS5_FAILURE_NETWORK_UNREACHABLE;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        return SOCKS5_FAILURE_HOST_UNREACHABLE;
    case ETIMEDOUT:
        return SOCKS5_FAILURE_CONNECT_TIMEOUT;
    case EACCES:
    case EPERM:
        return SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL;
    case EMFILE:
    case ENFILE:
    case ENOBUFS:
    case ENOMEM:
        return SOCKS5_FAILURE_LOCAL_RESOURCES;
    default:
        return SOCKS5_FAILURE_GENERAL;
    }
}

enum socks5_failure socks5_failure_of_parse_error(enum socks5_parse_error error)
{
    if (error == SOCKS5_ERROR_BAD_ADDRESS_TYPE)
        return SOCKS5_FAILURE_ADDRESS_TYPE_UNSUPPORTED;
    return SOCKS5_FAILURE_MALFORMED_REQUEST;
}
