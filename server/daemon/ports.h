/* ports: the listening sockets socks5d serves on — each SOCKS address bound once per worker
 * (SO_REUSEPORT, once a plain bind has proved the address ours alone) and the admin port. */
#ifndef PORTS_H
#define PORTS_H

#include <stdbool.h>
#include <stddef.h>

#include "net.h"
#include "options.h"

struct take_over;
struct worker;

/* Room for every SOCKS address, as "127.0.0.1:1080 [::1]:1080". */
#define PORTS_SOCKS_TEXT_MAX (OPTIONS_MAX_LISTEN * (NET_ADDRESS_TEXT_MAX + 1))

/* Every -l address on -p, a socket for each worker (which takes it). Fills bound_text with the
 * addresses as bound (the port picked when 0 was asked). False, logged, when one cannot be
 * bound. */
bool ports_listen_socks(const struct server_options *options, struct worker **workers,
                        size_t worker_count, char bound_text[PORTS_SOCKS_TEXT_MAX]);
/* The admin port (-L, -P): its socket, or -1 (logged). */
int ports_listen_admin(const struct server_options *options,
                       char bound_text[NET_ADDRESS_TEXT_MAX]);
/* The Prometheus endpoint (--metrics-listen): its socket, -1 (logged) when it cannot be bound,
 * or -1 with bound_text "" when none was asked for. */
int ports_listen_metrics(const struct server_options *options,
                         char bound_text[NET_ADDRESS_TEXT_MAX]);

/* The same, from the sockets a take-over received (a port of 0 = the running one's): refused
 * (logged, and the reason kept for the running process) when it does not listen on one of
 * these addresses, or listens on one more. */
bool ports_take_socks(const struct server_options *options, struct take_over *take,
                      struct worker **workers, size_t worker_count,
                      char bound_text[PORTS_SOCKS_TEXT_MAX]);
/* The Prometheus endpoint's socket: the running process's on the same address when taking
 * over (take not NULL), else ports_listen_metrics's. */
int ports_open_metrics(const struct server_options *options, struct take_over *take,
                       char bound_text[NET_ADDRESS_TEXT_MAX]);
int ports_take_admin(const struct server_options *options, struct take_over *take,
                     char bound_text[NET_ADDRESS_TEXT_MAX]);

#endif
