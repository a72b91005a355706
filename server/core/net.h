/* net: the socket chores every listener and connection shares — parsing and formatting
 * addresses, non-blocking listening sockets, small socket options. */
#ifndef NET_H
#define NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* "[2001:db8::1]:65535" fits with room to spare. */
#define NET_ADDRESS_TEXT_MAX 64

/* Exactly length bytes of decimal digits (1 to 5 of them) worth 0..65535, into *port (host
 * order): the one port parser of the server's texts (endpoints, rules, PROXY v1 headers). */
bool net_parse_port(const char *text, size_t length, uint16_t *port);

/* Parses an IPv4 or IPv6 literal (no brackets) and a port into *address. */
bool net_parse_address(const char *text, uint16_t port, struct sockaddr_storage *address,
                       socklen_t *length);

/* "1.2.3.4:80" or "[::1]:80" (IPv6 in brackets), port 0-65535, into *address. */
bool net_parse_endpoint(const char *text, struct sockaddr_storage *address, socklen_t *length);

/* "1.2.3.4:80" or "[::1]:80". */
void net_format_address(const struct sockaddr *address, char out[NET_ADDRESS_TEXT_MAX]);

/* A non-blocking, close-on-exec listening socket; IPv6 ones are IPv6-only so that ::
 * and 0.0.0.0 can be listened on side by side. reuse_port for one listener per worker.
 * Returns the fd, or -1 with errno set. */
int net_listen(const struct sockaddr *address, socklen_t length, bool reuse_port);

/* Linger 0: the next close() sends RST instead of FIN — how a reset is propagated. */
void net_set_reset_on_close(int fd);

/* TCP_NODELAY (a relay forwards what it has at once), and the congestion control when one
 * is named ("" = leave the system's default). */
void net_tune_tcp(int fd, const char *congestion);
/* Whether this process may give its sockets that congestion control (errno says why not). */
bool net_congestion_usable(const char *congestion);

#endif
