/* server_list: the servers socks5ctl is told to manage — one HOST[:PORT] from -a or a line of
 * --servers, split into host and port with no I/O. */
#ifndef SERVER_LIST_H
#define SERVER_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define SERVER_HOST_MAX 255
#define SERVER_PORT_MAX 5

struct server_address {
    char host[SERVER_HOST_MAX + 1];
    char port[SERVER_PORT_MAX + 1]; /* "" = the default port (-p, else 8080) */
};

/* "host", "host:port", "1.2.3.4:port", "[v6]:port", "[v6]" or a bare IPv6 literal ("::1": more
 * than one colon and no brackets is all host). False with error set (one line, without the
 * text itself) when text is empty, too long, a port is not 1..65535, brackets are unclosed,
 * or the host holds a space, a control byte or a bracket. */
bool server_address_split(const char *text, struct server_address *out, char *error,
                          size_t error_size);

/* Whether every address names another server once default_port (the -p port, or "8080") is
 * given to those without a port; host names compare without case. False with error naming
 * the server listed twice (-a and --servers together: every sum would count it twice). */
bool server_addresses_distinct(const struct server_address *addresses, size_t count,
                               const char *default_port, char *error, size_t error_size);

/* The servers a --servers file names, in its order. */
struct server_list {
    struct server_address *addresses; /* owned: server_list_free */
    size_t count;
};

/* Reads a --servers file's text (length bytes, any bytes): one HOST[:PORT] per line; blank
 * lines, and everything from a '#' to the end of its line, are ignored; spaces and tabs around
 * an address and a CR before the LF are allowed. False with error "FILE:LINE: problem" (FILE
 * is file_name) for a bad line, a NUL byte, a server listed twice, or a file naming none;
 * list is then empty. */
bool server_list_parse(const char *text, size_t length, const char *file_name,
                       struct server_list *list, char *error, size_t error_size);
void server_list_free(struct server_list *list);

#endif
