/* server_list: the servers socks5ctl is told to manage — one HOST[:PORT] from -a or a line of
 * --servers, split into host and port with no I/O. */
#include "server_list.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
    if (!copy_part(out->host, sizeof(out->host), host, host_length))
        return fail(error, error_size, "a host of more than %d bytes", SERVER_HOST_MAX);
    if (port != NULL && !port_valid(port, port_length))
        return fail(error, error_size, "the port must be 1 to 65535");
    if (port != NULL)
        copy_part(out->port, sizeof(out->port), port, port_length);
    return true;
}
