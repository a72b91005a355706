/* admin_metrics: the registry of socks5d's global counters — name, kind and meaning, in the
 * order the metrics record (PROTOCOL.md 8.7) lists them — for the server, console and spec. */
#ifndef ADMIN_METRICS_H
#define ADMIN_METRICS_H

#include <stddef.h>

/* One line per metric: adding one here gives the server its counter (struct metrics) and the
 * metrics record its key; a unit test holds PROTOCOL.md 8.7 to this list.
 * METRIC(name, kind, meaning) */
#define ADMIN_METRICS(METRIC)                                                                    \
    METRIC(connections_total, COUNTER, "connections accepted")                                   \
    METRIC(connections_current, GAUGE, "connections open now")                                   \
    METRIC(bytes_up, COUNTER, "bytes relayed client → remote")                                   \
    METRIC(bytes_down, COUNTER, "bytes relayed remote → client")                                 \
    METRIC(send_errors, COUNTER, "writes to a client or remote socket that failed")              \
    METRIC(receive_errors, COUNTER, "reads from a client or remote socket that failed")          \
    METRIC(dns_errors, COUNTER, "name resolutions that failed")                                  \
    METRIC(server_errors, COUNTER, "internal failures (memory, descriptors, ...)")                \
    METRIC(unsupported_input, COUNTER,                                                           \
           "SOCKS input refused as malformed or unsupported (version, command, address type)")   \
    METRIC(dns_connections, COUNTER, "requests that named a domain, so needed resolution")       \
    METRIC(ipv4_connections, COUNTER, "upstream connections established over IPv4")             \
    METRIC(ipv6_connections, COUNTER, "upstream connections established over IPv6")             \
    METRIC(auth_errors, COUNTER,                                                                 \
           "failed logins: SOCKS5 (no acceptable method, wrong RFC 1929 credentials) and admin") \
    METRIC(host_unreachable, COUNTER,                                                            \
           "requests answered \"host unreachable\" (RFC 1928 `0x04`: unreachable, resolution "   \
           "failed, or timed out)")                                                              \
    METRIC(connection_refused, COUNTER,                                                          \
           "requests answered \"connection refused\" (RFC 1928 `0x05`)")                         \
    METRIC(accept_paused, COUNTER,                                                               \
           "times the server paused accepting for lack of descriptors or connection slots")     \
    METRIC(rule_denials, COUNTER,                                                                \
           "requests (RFC 1928 `0x02`) and UDP destinations refused by a destination rule or a " \
           "safe default")                                                                       \
    METRIC(udp_associations, COUNTER, "UDP ASSOCIATE requests granted a relay")                  \
    METRIC(udp_datagrams_up, COUNTER, "datagrams relayed client → remote")                       \
    METRIC(udp_datagrams_down, COUNTER, "datagrams relayed remote → client")                     \
    METRIC(udp_bytes_up, COUNTER, "payload bytes of those datagrams (also in bytes_up)")         \
    METRIC(udp_bytes_down, COUNTER, "payload bytes of those datagrams (also in bytes_down)")     \
    METRIC(udp_dropped_foreign, COUNTER,                                                         \
           "datagrams dropped: from an address other than the association's client")             \
    METRIC(udp_dropped_fragmented, COUNTER,                                                      \
           "datagrams dropped: FRAG not 0 (no reassembly, RFC 1928 section 7)")                  \
    METRIC(udp_dropped_malformed, COUNTER,                                                       \
           "datagrams dropped: a header that is short or not RFC 1928's (RSV, ATYP, domain)")    \
    METRIC(udp_dropped_policy, COUNTER, "datagrams dropped: the destination policy refused")     \
    METRIC(udp_dropped_lookup, COUNTER,                                                          \
           "datagrams dropped: the name did not resolve, or too many waited for lookups")        \
    METRIC(udp_dropped_send, COUNTER,                                                            \
           "datagrams dropped: the send failed (too large for the path, no buffer space, ...)")  \
    METRIC(udp_dropped_limit, COUNTER,                                                           \
           "datagrams dropped: the user's upload or download budget was spent")                  \
    METRIC(limit_refusals, COUNTER,                                                              \
           "requests refused (RFC 1928 `0x02`) because the user or the client address was at "   \
           "its connection limit")                                                              \
    METRIC(accounting_dropped, COUNTER,                                                          \
           "finished connections the accounting database did not get: its queue was full or a "  \
           "batch failed")                                                                       \
    METRIC(proxy_headers, COUNTER,                                                               \
           "PROXY protocol headers taken from a trusted source (--proxy-protocol-from)")         \
    METRIC(proxy_header_untrusted, COUNTER,                                                      \
           "connections closed: a PROXY header from a source not in --proxy-protocol-from")      \
    METRIC(proxy_header_missing, COUNTER,                                                        \
           "connections closed: a trusted source sent no PROXY header")                          \
    METRIC(proxy_header_malformed, COUNTER,                                                      \
           "connections closed: a PROXY header the protocol does not allow")                     \
    METRIC(proxy_header_truncated, COUNTER,                                                      \
           "connections closed: the client hung up inside its PROXY header")                     \
    METRIC(proxy_header_slow, COUNTER,                                                           \
           "connections closed: a trusted source's PROXY header not complete within the "        \
           "handshake timeout")                                                                  \
    METRIC(listeners_paused, GAUGE,                                                              \
           "SOCKS listening sockets not accepting now (out of descriptors or connection slots)") \
    METRIC(pam_checks, COUNTER,                                                                  \
           "logins (SOCKS and admin) sent to the PAM stack (--auth pam), accepted or not")       \
    METRIC(pam_cache_hits, COUNTER,                                                              \
           "logins (SOCKS and admin) PAM had accepted lately, answered without asking it again")

enum admin_metric_kind {
    ADMIN_METRIC_COUNTER, /* only grows from the server's start */
    ADMIN_METRIC_GAUGE,   /* a level, up and down */
};

struct admin_metric_info {
    const char *name; /* the metrics record's key */
    enum admin_metric_kind kind;
    const char *meaning;
};

enum {
#define ADMIN_METRIC_INDEX(name, kind, meaning) ADMIN_METRIC_INDEX_##name,
    ADMIN_METRICS(ADMIN_METRIC_INDEX)
#undef ADMIN_METRIC_INDEX
    ADMIN_METRIC_COUNT
};

/* ADMIN_METRIC_COUNT entries, in record order. */
extern const struct admin_metric_info admin_metrics[ADMIN_METRIC_COUNT];

#endif
