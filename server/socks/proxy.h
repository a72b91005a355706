/* proxy: what every SOCKS5 session of one worker (one thread, one event loop) shares — its
 * settings, metrics, relay buffers, pools and live sessions — and what all workers share. */
#ifndef PROXY_H
#define PROXY_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "latency_histogram.h"
#include "metrics.h"
#include "relay.h"
#include "pam_auth.h"
#include "users_auth.h"

struct event_loop;
struct work_pool;
struct users;
struct buffer_pool;
struct session;
struct login_throttle;
struct auth_backend;
struct session_prelude;
struct policy;
struct udp_batch;

struct proxy_settings {
    uint32_t handshake_timeout_ms;
    uint32_t connect_timeout_ms;
    uint32_t idle_timeout_ms; /* 0 = tunnels may idle forever */
    uint32_t buffer_size;     /* per direction, for sessions started from now on */
    bool no_auth_allowed;
    size_t max_connections;
    size_t history_per_user; /* finished connections each user keeps for the admin */
    char tcp_congestion[16]; /* TCP_CA_NAME_MAX; "" = the system's default */
    /* Rules and limits: replaced whole by a reload, freed by whoever replaced it once every
     * worker has taken the new one (settings_store's publish returns). */
    const struct policy *policy;
};

/* One per server, shared by every worker. */
struct accounting;

struct proxy_shared {
    struct users *users;             /* locks inside */
    struct login_throttle *throttle; /* failed logins per source, SOCKS and admin; locks inside */
    size_t live_sessions;            /* atomic: every worker's, against max_connections */
    struct address_slots *address_slots; /* live connections per client address; locks inside */
    uint64_t next_connection_id;     /* atomic: ids are unique and ascend across workers */
    struct proxy **workers;
    size_t worker_count;
    /* Where finished connections and lifetime usage go; NULL when accounting is off. */
    struct accounting *accounting;
    /* --auth pam: the PAM service, its success cache; NULL: the users table alone. */
    struct pam_realm *pam;
};

/* One per worker. Only the worker's thread writes it, but for what other threads may read:
 * metrics (relaxed atomics, counter.h) and the live sessions (under sessions_lock). Settings
 * are the worker's copy of settings_store's, replaced on its thread when a change is published. */
struct proxy {
    struct event_loop *loop;
    struct proxy_shared *shared;
    unsigned worker_index;
    struct work_pool *resolver_pool;
    struct work_pool *crypt_pool;
    struct work_pool *pam_pool;      /* PAM conversations (--auth pam); NULL without PAM */
    struct users *users;             /* shared->users */
    struct login_throttle *throttle; /* shared->throttle */
    /* Checks SOCKS5 logins; NULL until the first one, then users_auth (or pam_auth when
     * shared->pam is set) unless set before. */
    struct auth_backend *auth;
    struct users_auth users_auth;
    struct pam_auth pam_auth;
    /* Runs on every new connection before the greeting; NULL: straight to the greeting. */
    const struct session_prelude *pre_greeting;
    struct relay_resources relay; /* buffer and pipe pools, this worker's own */
    /* The datagram batches every UDP association of this worker shares: made with the first
     * association, freed by session_close_all. */
    struct udp_batch *udp_batch;
    struct proxy_settings settings;
    struct metrics metrics;
    /* Successful CONNECTs: accepted → success reply queued, and request read → upstream
     * connected (relaxed counters, like metrics). */
    struct latency_histogram handshake_latency;
    struct latency_histogram connect_latency;
    pthread_mutex_t sessions_lock;
    struct session *sessions; /* live sessions, oldest (lowest id) first */
    struct session *sessions_tail;
    size_t session_count;
    /* Called whenever a session ends, so a paused listener can resume. */
    void (*on_session_closed)(void *context);
    void *on_session_closed_context;
};

#endif
