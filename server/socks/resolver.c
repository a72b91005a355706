/* resolver: non-blocking name lookups for the event loop, getaddrinfo run on the work pool.
 * getaddrinfo rather than c-ares: it honours /etc/hosts, nsswitch and resolv.conf exactly as
 * every other program on the host does, and the thread pool keeps it off the loop. */
#include "resolver.h"

#include "work_pool.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct resolver_query {
    struct work_item item; /* first: the work pool hands this pointer back */
    resolver_callback callback;
    void *owner; /* NULL once cancelled; only touched on the loop thread */
    struct addrinfo *result;
    int error;
    char port[8];
    char name[];
};

static void resolver_run(struct work_item *item)
{
    struct resolver_query *query = (struct resolver_query *)item;
    /* No AI_ADDRCONFIG: on a host with only loopback configured it would hide the
     * loopback addresses themselves. */
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC,
        .ai_socktype = SOCK_STREAM,
        .ai_protocol = IPPROTO_TCP,
        .ai_flags = AI_NUMERICSERV,
    };
    query->error = getaddrinfo(query->name, query->port, &hints, &query->result);
    if (query->error != 0)
        query->result = NULL;
}

static void resolver_done(struct work_item *item)
{
    struct resolver_query *query = (struct resolver_query *)item;
    if (query->owner != NULL) {
        query->callback(query->owner, query->result, query->error);
    } else if (query->result != NULL) {
        freeaddrinfo(query->result);
    }
    free(query);
}

struct resolver_query *resolver_lookup(struct work_pool *pool, const char *name, uint16_t port,
                                       resolver_callback callback, void *owner)
{
    size_t name_length = strlen(name);
    struct resolver_query *query = calloc(1, sizeof(*query) + name_length + 1);
    if (query == NULL)
        return NULL;
    query->callback = callback;
    query->owner = owner;
    query->error = EAI_SYSTEM; /* what a query that never ran reports */
    snprintf(query->port, sizeof(query->port), "%u", port);
    memcpy(query->name, name, name_length + 1);
    if (!work_pool_submit(pool, &query->item, resolver_run, resolver_done)) {
        free(query);
        return NULL;
    }
    return query;
}

void resolver_cancel(struct resolver_query *query)
{
    query->owner = NULL;
}
