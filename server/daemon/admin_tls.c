/* admin_tls: whether the admin port speaks TLS — --admin-tls-cert and --admin-tls-key read at
 * start (and by --check-config), and the warning for plaintext on a non-loopback address. */
#include "admin_tls.h"

#include "log.h"
#include "net.h"
#include "tls_transport.h"

#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

const char *admin_tls_options_problem(const struct server_options *options)
{
    if ((options->admin_tls_cert == NULL) == (options->admin_tls_key == NULL))
        return NULL;
    return options->admin_tls_cert == NULL ? "--admin-tls-cert is needed with --admin-tls-key"
                                           : "--admin-tls-key is needed with --admin-tls-cert";
}

bool admin_tls_is_loopback(const char *text)
{
    struct sockaddr_storage address;
    socklen_t length;
    if (text == NULL || !net_parse_address(text, 0, &address, &length))
        return false;
    if (address.ss_family == AF_INET) {
        const struct sockaddr_in *ipv4 = (const struct sockaddr_in *)&address;
        return (ntohl(ipv4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct in6_addr *ipv6 = &((const struct sockaddr_in6 *)&address)->sin6_addr;
    return IN6_IS_ADDR_LOOPBACK(ipv6) || (IN6_IS_ADDR_V4MAPPED(ipv6) && ipv6->s6_addr[12] == 127);
}

bool admin_tls_open(const struct server_options *options, struct tls_server **tls)
{
    *tls = NULL;
    if (options->admin_tls_cert == NULL) {
        if (!admin_tls_is_loopback(options->admin_address))
            log_message(LOG_WARN,
                        "the admin port on %s is plaintext: passwords and commands cross the "
                        "network readable; give it --admin-tls-cert and --admin-tls-key",
                        options->admin_address);
        return true;
    }
    char error[512];
    *tls = tls_server_create(options->admin_tls_cert, options->admin_tls_key, error,
                             sizeof(error));
    if (*tls == NULL) {
        log_message(LOG_ERROR, "admin TLS: %s", error);
        return false;
    }
    log_message(LOG_INFO, "admin port speaks TLS (TLS 1.2 or later), certificate %s",
                options->admin_tls_cert);
    return true;
}

bool admin_tls_check(const struct server_options *options, char *error, size_t error_size)
{
    if (options->admin_tls_cert == NULL)
        return true;
    struct tls_server *tls =
        tls_server_create(options->admin_tls_cert, options->admin_tls_key, error, error_size);
    tls_server_destroy(tls);
    return tls != NULL;
}
