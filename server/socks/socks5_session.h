/* socks5_session: a worker's SOCKS5 sessions as the rest of the server sees them — starting
 * one, the live list the admin reads, closing one, a user's or all. */
#ifndef SOCKS5_SESSION_H
#define SOCKS5_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct proxy;
struct connection_record;
struct user;

/* Takes ownership of client_fd (non-blocking). On failure the fd is closed. */
void session_start(struct proxy *proxy, int client_fd, const struct sockaddr_storage *peer);
/* Closes every live session and frees what they shared (server shutdown). */
void session_close_all(struct proxy *proxy);
bool session_proxy_has_capacity(void *proxy);

/* Another thread (the admin's) reads a worker's live sessions and their records only between
 * these two; the worker takes the same lock to add or remove a session or to change what a
 * record says, never on the per-byte path (byte counts are atomics). */
void session_list_lock(struct proxy *proxy);
void session_list_unlock(struct proxy *proxy);
/* Visits the record of every live session, in ascending connection id order: on the worker's
 * thread, or by another thread holding session_list_lock. */
void session_for_each_live(struct proxy *proxy,
                           void (*visit)(const struct connection_record *record, void *context),
                           void *context);
/* On the worker's thread (event_loop_call from others): closes the live session with this
 * connection id, false if there is none; closes every live session of user, returning how
 * many. */
bool session_close_by_id(struct proxy *proxy, uint64_t id);
size_t session_close_user(struct proxy *proxy, const struct user *user);

#endif
