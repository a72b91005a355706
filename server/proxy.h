/* proxy: what every SOCKS5 session of one event loop shares — settings that admins may change
 * at run time, the users table, metrics, relay buffers and the list of live sessions. */
#ifndef PROXY_H
#define PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "metrics.h"
#include "relay.h"

struct event_loop;
struct work_pool;
struct users;
struct buffer_pool;
struct session;
struct login_throttle;

struct proxy_settings {
    uint32_t handshake_timeout_ms;
    uint32_t connect_timeout_ms;
    uint32_t idle_timeout_ms; /* 0 = tunnels may idle forever */
    uint32_t buffer_size;     /* per direction, for sessions started from now on */
    bool no_auth_allowed;
    size_t max_connections;
    size_t history_per_user; /* finished connections each user keeps for the admin */
};

struct proxy {
    struct event_loop *loop;
    struct work_pool *resolver_pool;
    struct users *users;
    struct relay_resources relay; /* buffer and pipe pools */
    struct login_throttle *throttle; /* failed logins per source, shared with the admin port */
    struct proxy_settings settings;
    struct metrics metrics;
    struct session *sessions; /* live sessions, oldest (lowest id) first */
    struct session *sessions_tail;
    size_t session_count;
    uint64_t next_connection_id;
    /* Called whenever a session ends, so a paused listener can resume. */
    void (*on_session_closed)(void *context);
    void *on_session_closed_context;
};

#endif
