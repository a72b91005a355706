/* socks5_failure: why a SOCKS5 request is refused, and what each cause answers on the wire
 * (its RFC 1928 REP code) and counts in the metrics — both decided in one function. */
#ifndef SOCKS5_FAILURE_H
#define SOCKS5_FAILURE_H

#include "metrics.h"
#include "socks5_parser.h"

#include <stdint.h>

enum socks5_failure {
    SOCKS5_FAILURE_NONE, /* the request goes on: answered SUCCEEDED */
    SOCKS5_FAILURE_GENERAL,             /* a connect error with no better name */
    SOCKS5_FAILURE_LOCAL_RESOURCES,     /* this server ran out of memory or descriptors */
    SOCKS5_FAILURE_REFUSED,             /* the destination refused the connection */
    SOCKS5_FAILURE_NETWORK_UNREACHABLE, /* no route to the destination's network */
    SOCKS5_FAILURE_HOST_UNREACHABLE,    /* no route to the host, or a name no host can have */
    SOCKS5_FAILURE_LOOKUP_FAILED,       /* the name did not resolve */
    SOCKS5_FAILURE_LOOKUP_TIMEOUT,      /* the name did not resolve within --connect-timeout */
    SOCKS5_FAILURE_CONNECT_TIMEOUT,     /* no address answered within --connect-timeout */
    SOCKS5_FAILURE_BIND_TIMEOUT,        /* no expected peer connected within --connect-timeout */
    SOCKS5_FAILURE_FORBIDDEN_BY_KERNEL, /* the kernel's own rules (firewall) refused the connect */
    SOCKS5_FAILURE_NOT_ALLOWED_BY_POLICY, /* the destination policy refused an address */
    SOCKS5_FAILURE_OVER_USER_LIMIT,     /* admission refused: the user is at max-connections */
    SOCKS5_FAILURE_OVER_ADDRESS_LIMIT,  /* admission refused: --max-connections-per-address */
    SOCKS5_FAILURE_COMMAND_UNSUPPORTED, /* a command with no handler (none of RFC 1928's) */
    SOCKS5_FAILURE_ADDRESS_TYPE_UNSUPPORTED,
    SOCKS5_FAILURE_MALFORMED_REQUEST,   /* not a request this server can decode */
    SOCKS5_FAILURE_COUNT, /* not a cause: how many there are */
};

#define SOCKS5_FAILURE_MAX_COUNTERS 2

/* What a cause answers and counts. counters lists what it bumps, METRIC_NONE-terminated. */
struct socks5_failure_outcome {
    enum socks5_reply_code reply;
    enum metric_counter counters[SOCKS5_FAILURE_MAX_COUNTERS];
};

/* The one place that turns a cause into its REP code and its counters. */
struct socks5_failure_outcome socks5_failure_outcome(enum socks5_failure cause);

/* The cause a failed connect(2) (its errno) stands for. */
enum socks5_failure socks5_failure_of_connect_error(int error);
/* The cause a request the decoder rejected stands for. */
enum socks5_failure socks5_failure_of_parse_error(enum socks5_parse_error error);

#endif
