/* admin_tls: whether the admin port speaks TLS — --admin-tls-cert and --admin-tls-key read at
 * start (and by --check-config), and the warning for plaintext on a non-loopback address. */
#ifndef ADMIN_TLS_H
#define ADMIN_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "options.h"

struct tls_server;

/* The one-line usage error when only one of the two options is set, else NULL. */
const char *admin_tls_options_problem(const struct server_options *options);

/* At start: *tls is the TLS server to run the admin sessions over, or NULL for plaintext (then
 * a warning is logged when the admin address is not a loopback one). False, with the file at
 * fault logged, when the certificate or key cannot be used. */
bool admin_tls_open(const struct server_options *options, struct tls_server **tls);

/* --check-config: reads the certificate and key as a start would, without keeping them; true
 * when good or not configured, else false with the problem in error. */
bool admin_tls_check(const struct server_options *options, char *error, size_t error_size);

/* Whether text is an address of this host's loopback (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
bool admin_tls_is_loopback(const char *text);

#endif
