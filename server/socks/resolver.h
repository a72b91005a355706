/* resolver: non-blocking name lookups for the event loop, getaddrinfo run on the work pool.
 * getaddrinfo rather than c-ares: it honours /etc/hosts, nsswitch and resolv.conf exactly as
 * every other program on the host does, and the thread pool keeps it off the loop. */
#ifndef RESOLVER_H
#define RESOLVER_H

#include <netdb.h>
#include <stdint.h>

struct work_pool;
struct resolver_query;

/* Called on the loop thread. result is the address list (the callee owns it and frees it with
 * freeaddrinfo) or NULL with error set to a getaddrinfo EAI_* code. */
typedef void (*resolver_callback)(void *owner, struct addrinfo *result, int error);

/* Looks up name (NUL-terminated) for TCP on port. Returns NULL when the job could not be
 * queued; the callback is then never called. */
struct resolver_query *resolver_lookup(struct work_pool *pool, const char *name, uint16_t port,
                                       resolver_callback callback, void *owner);

/* The callback will not be called; the query frees itself when its thread is done. */
void resolver_cancel(struct resolver_query *query);

#endif
