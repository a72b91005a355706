/* fleet: the servers socks5ctl manages — one admin session each, all as the same user — and
 * requests sent to all of them at once, each on its own thread, so no server waits for another. */
#ifndef FLEET_H
#define FLEET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_client.h"
#include "server_list.h"

#define FLEET_ERROR_SIZE 256

struct fleet;

/* What one server answered to a call (or a login). */
struct fleet_outcome {
    enum admin_client_result result;
    uint8_t login_status;     /* the last login's status: why LOGIN_REFUSED */
    struct admin_reply reply; /* result OK: status and body (owned; fleet_outcomes_free) */
    char error[FLEET_ERROR_SIZE]; /* result not OK: one line */
};

/* One session per address, each with options' user, password and timeout (options' host and
 * port are ignored; an address without a port takes options->port). NULL when out of memory. */
struct fleet *fleet_create(const struct admin_client_options *options,
                           const struct server_address *addresses, size_t count);
void fleet_destroy(struct fleet *fleet);

size_t fleet_count(const struct fleet *fleet);
struct admin_client *fleet_client(const struct fleet *fleet, size_t index);
/* "host:port" (IPv6 in brackets): what the server column shows. */
const char *fleet_name(const struct fleet *fleet, size_t index);

/* Any thread that uses a server's client holds its lock for the whole call: the dashboard's
 * pollers and the commands typed meanwhile share the sessions. */
void fleet_lock(struct fleet *fleet, size_t index);
void fleet_unlock(struct fleet *fleet, size_t index);

/* Logs in to every server at once; outcomes has fleet_count entries (reply unused). */
void fleet_connect_all(struct fleet *fleet, struct fleet_outcome *outcomes);
/* Sends request to every server at once and waits for every answer (each bounded by the
 * session's timeout); a session that is down logs in again first. One server: on this thread. */
void fleet_call_all(struct fleet *fleet, const struct admin_request *request,
                    struct fleet_outcome *outcomes);
void fleet_outcomes_free(struct fleet_outcome *outcomes, size_t count);

/* Every session's later logins use password (after set-password on the session's own user). */
bool fleet_set_password(struct fleet *fleet, const char *password);
/* See admin_client_set_interrupt: every session gives up while *flag is set. */
void fleet_set_interrupt(struct fleet *fleet, const volatile sig_atomic_t *flag);

#endif
