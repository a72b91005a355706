/* server_list: the servers socks5ctl is told to manage — one HOST[:PORT] from -a or a line of
 * --servers, split into host and port with no I/O. */
#include "server_list.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *error, size_t error_size, const char *format, ...)
{
    if (error != NULL && error_size > 0) {
        va_list arguments;
        va_start(arguments, format);
        vsnprintf(error, error_size, format, arguments);
        va_end(arguments);
    }
    return false;
}

static bool port_valid(const char *port, size_t length)
{
    if (length == 0 || length > SERVER_PORT_MAX)
        return false;
    unsigned value = 0;
    for (size_t i = 0; i < length; i++) {
        if (port[i] < '0' || port[i] > '9')
            return false;
        value = value * 10 + (unsigned)(port[i] - '0');
    }
    return value >= 1 && value <= 65535;
}

static bool copy_part(char *out, size_t capacity, const char *text, size_t length)
{
    if (length >= capacity)
        return false;
    memcpy(out, text, length);
    out[length] = '\0';
    return true;
}

bool server_address_split(const char *text, struct server_address *out, char *error,
                          size_t error_size)
{
    *out = (struct server_address){0};
    size_t length = strlen(text);
    const char *host = text, *port = NULL;
    size_t host_length = length, port_length = 0;
    if (length == 0)
        return fail(error, error_size, "an empty server address");
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL)
            return fail(error, error_size, "an IPv6 address opened with '[' is not closed");
        host = text + 1;
        host_length = (size_t)(close - host);
        if (close[1] == ':') {
            port = close + 2;
            port_length = strlen(port);
        } else if (close[1] != '\0') {
            return fail(error, error_size, "only ':PORT' may follow ']'");
        }
        if (host_length == 0)
            return fail(error, error_size, "an empty host between '[' and ']'");
    } else {
        const char *colon = strchr(text, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) {
            host_length = (size_t)(colon - text);
            port = colon + 1;
            port_length = strlen(port);
            if (host_length == 0)
                return fail(error, error_size, "no host before ':'");
        }
    }
    if (memchr(host, ' ', host_length) != NULL || memchr(host, '\t', host_length) != NULL)
        return fail(error, error_size, "a host holds a space");
    for (size_t i = 0; i < host_length; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c < 0x20 || c == 0x7F || c == '[' || c == ']')
            return fail(error, error_size, "a host holds a control byte or a bracket");
    }
    if (!copy_part(out->host, sizeof(out->host), host, host_length))
        return fail(error, error_size, "a host of more than %d bytes", SERVER_HOST_MAX);
    if (port != NULL && !port_valid(port, port_length))
        return fail(error, error_size, "the port must be 1 to 65535");
    if (port != NULL)
        copy_part(out->port, sizeof(out->port), port, port_length);
    return true;
}

/* A line longer than any address with room for spaces around it is not one. */
#define SERVER_LINE_MAX (SERVER_HOST_MAX + SERVER_PORT_MAX + 64)

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static bool list_add(struct server_list *list, const struct server_address *address)
{
    struct server_address *grown =
        realloc(list->addresses, (list->count + 1) * sizeof(*list->addresses));
    if (grown == NULL)
        return false;
    list->addresses = grown;
    list->addresses[list->count++] = *address;
    return true;
}

/* The line where the same host and port came before, or 0. */
static size_t listed_at(const struct server_list *list, const size_t *lines,
                        const struct server_address *address)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->addresses[i].host, address->host) == 0 &&
            strcmp(list->addresses[i].port, address->port) == 0)
            return lines[i];
    return 0;
}

/* One line (without its LF): nothing, or an address added to list. */
static bool parse_line(const char *line, size_t length, const char *file_name, size_t number,
                       struct server_list *list, size_t **lines, char *error, size_t error_size)
{
    if (memchr(line, '\0', length) != NULL)
        return fail(error, error_size, "%s:%zu: a NUL byte", file_name, number);
    const char *comment = memchr(line, '#', length);
    if (comment != NULL)
        length = (size_t)(comment - line);
    while (length > 0 && is_space(line[0]))
        line++, length--;
    while (length > 0 && is_space(line[length - 1]))
        length--;
    if (length == 0)
        return true;
    if (length > SERVER_LINE_MAX)
        return fail(error, error_size, "%s:%zu: a line of more than %d bytes", file_name, number,
                    SERVER_LINE_MAX);
    for (size_t i = 0; i < length; i++)
        if (is_space(line[i]))
            return fail(error, error_size, "%s:%zu: one server per line (HOST[:PORT])",
                        file_name, number);
    char text[SERVER_LINE_MAX + 1], problem[128];
    memcpy(text, line, length);
    text[length] = '\0';
    struct server_address address;
    if (!server_address_split(text, &address, problem, sizeof(problem)))
        return fail(error, error_size, "%s:%zu: %s", file_name, number, problem);
    size_t before = listed_at(list, *lines, &address);
    if (before > 0)
        return fail(error, error_size, "%s:%zu: the server of line %zu again", file_name,
                    number, before);
    size_t *grown = realloc(*lines, (list->count + 1) * sizeof(**lines));
    if (grown == NULL)
        return fail(error, error_size, "%s: out of memory", file_name);
    *lines = grown;
    (*lines)[list->count] = number;
    if (!list_add(list, &address))
        return fail(error, error_size, "%s: out of memory", file_name);
    return true;
}

bool server_list_parse(const char *text, size_t length, const char *file_name,
                       struct server_list *list, char *error, size_t error_size)
{
    *list = (struct server_list){0};
    size_t *lines = NULL; /* each address's line, for "listed twice" */
    size_t number = 0;
    bool parsed = true;
    for (size_t at = 0; parsed && at < length;) {
        const char *end = memchr(text + at, '\n', length - at);
        size_t line_length = end != NULL ? (size_t)(end - (text + at)) : length - at;
        number++;
        parsed = parse_line(text + at, line_length, file_name, number, list, &lines, error,
                            error_size);
        at += line_length + 1;
    }
    free(lines);
    if (parsed && list->count == 0)
        parsed = fail(error, error_size, "%s: names no server (one HOST[:PORT] per line)",
                      file_name);
    if (!parsed)
        server_list_free(list);
    return parsed;
}

void server_list_free(struct server_list *list)
{
    free(list->addresses);
    *list = (struct server_list){0};
}

static const char *port_or(const struct server_address *address, const char *default_port)
{
    return address->port[0] != '\0' ? address->port : default_port;
}

bool server_addresses_distinct(const struct server_address *addresses, size_t count,
                               const char *default_port, char *error, size_t error_size)
{
    for (size_t i = 0; i < count; i++)
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(addresses[i].host, addresses[j].host) == 0 &&
                strcmp(port_or(&addresses[i], default_port),
                       port_or(&addresses[j], default_port)) == 0) {
                bool literal6 = strchr(addresses[i].host, ':') != NULL;
                return fail(error, error_size, "the server %s%s%s:%s is named twice",
                            literal6 ? "[" : "", addresses[i].host, literal6 ? "]" : "",
                            port_or(&addresses[i], default_port));
            }
    return true;
}
