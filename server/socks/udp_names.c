/* udp_names: a UDP association's domain destinations — each name looked up off the loop and
 * judged by the destination policy once, remembered a while, with datagrams waiting meanwhile. */
#include "udp_names.h"

#include "counter.h"
#include "proxy.h"
#include "resolver.h"
#include "session.h"
#include "session_policy.h"

#include <stdlib.h>
#include <string.h>

/* getaddrinfo gives no TTL: an answer is trusted this long, a failure believed a short while
 * (so that a client repeating an unresolvable name does not start a lookup per datagram). */
#define UDP_NAME_LIFETIME_MS 30000
#define UDP_NAME_FAILURE_LIFETIME_MS 5000

enum udp_name_state {
    UDP_NAME_RESOLVING,
    UDP_NAME_USABLE,
    UDP_NAME_REFUSED, /* the destination policy refused an address it has */
    UDP_NAME_FAILED,  /* not found, or no address a socket can send to */
};

/* A datagram that waits for its name's lookup: a copy, allocated only on this cold path. */
struct udp_waiting {
    struct udp_waiting *next;
    struct udp_name *entry;
    size_t length;
    uint8_t payload[];
};

void udp_names_init(struct udp_names *names, struct session *session,
                    const union udp_address *client, udp_names_send send, void *context)
{
    memset(names, 0, sizeof(*names));
    names->session = session;
    names->client = client;
    names->send = send;
    names->context = context;
    for (size_t i = 0; i < UDP_NAMES_REMEMBERED; i++)
        names->entries[i].owner = names;
}

enum log_level udp_names_denial_level(const struct udp_names *names)
{
    return names->denials < UDP_DENIALS_LOGGED ? LOG_INFO : LOG_DEBUG;
}

void udp_names_count_denial(struct udp_names *names)
{
    if (names->denials < UDP_DENIALS_LOGGED)
        names->denials++;
}

static void udp_name_forget(struct udp_name *entry)
{
    free(entry->name);
    entry->name = NULL;
}

static struct metrics *udp_names_metrics(struct udp_names *names)
{
    return &names->session->proxy->metrics;
}

static uint64_t udp_names_now(struct udp_names *names)
{
    return event_loop_now_ms(names->session->proxy->loop);
}

static void udp_name_as_request(const struct udp_name *entry, struct socks5_request *request)
{
    memset(request, 0, sizeof(*request));
    request->command = SOCKS5_CMD_UDP_ASSOCIATE;
    request->address_type = SOCKS5_ATYP_DOMAIN;
    request->domain_length = entry->name_length;
    memcpy(request->domain, entry->name, entry->name_length);
    request->port = entry->port;
}

/* The lookup's answer, judged whole as CONNECT's is: a name with one forbidden address among
 * allowed ones is refused. Its datagrams go, or are dropped, in the order they came. */
static void udp_name_on_resolved(void *owner, struct addrinfo *result, int error)
{
    (void)error;
    struct udp_name *entry = owner;
    struct udp_names *names = entry->owner;
    struct session *session = names->session;
    entry->query = NULL;
    entry->state = UDP_NAME_FAILED;
    if (result == NULL) {
        counter_add(&udp_names_metrics(names)->dns_errors, 1);
    } else {
        struct socks5_request request;
        udp_name_as_request(entry, &request);
        if (session_destination_policy(session->proxy, session->record, &request,
                                       &names->client->sa, result,
                                       udp_names_denial_level(names)) != SOCKS5_FAILURE_NONE) {
            udp_names_count_denial(names);
            counter_add(&udp_names_metrics(names)->rule_denials, 1);
            entry->state = UDP_NAME_REFUSED;
        }
        for (const struct addrinfo *a = result; a != NULL && entry->state == UDP_NAME_FAILED;
             a = a->ai_next)
            if (udp_address_from_sockaddr(a->ai_addr, a->ai_addrlen, &entry->address))
                entry->state = UDP_NAME_USABLE;
        freeaddrinfo(result);
    }
    entry->expires_ms = udp_names_now(names) + (entry->state == UDP_NAME_USABLE
                                                     ? UDP_NAME_LIFETIME_MS
                                                     : UDP_NAME_FAILURE_LIFETIME_MS);
    if (entry->state == UDP_NAME_USABLE)
        session_record_destination_address(session, &entry->address.sa);

    struct udp_waiting **link = &names->waiting;
    while (*link != NULL) {
        struct udp_waiting *waiting = *link;
        if (waiting->entry != entry) {
            link = &waiting->next;
            continue;
        }
        *link = waiting->next;
        names->waiting_count--;
        names->waiting_bytes -= waiting->length;
        if (entry->state == UDP_NAME_USABLE)
            names->send(names->context, &entry->address, waiting->payload, waiting->length);
        else if (entry->state == UDP_NAME_REFUSED)
            counter_add(&udp_names_metrics(names)->udp_dropped_policy, 1);
        else
            counter_add(&udp_names_metrics(names)->udp_dropped_lookup, 1);
        free(waiting);
    }
}

static struct udp_name *udp_names_find(struct udp_names *names,
                                       const struct socks5_request *destination)
{
    for (size_t i = 0; i < UDP_NAMES_REMEMBERED; i++) {
        struct udp_name *entry = &names->entries[i];
        if (entry->name != NULL && entry->port == destination->port &&
            entry->name_length == destination->domain_length &&
            memcmp(entry->name, destination->domain, destination->domain_length) == 0)
            return entry;
    }
    return NULL;
}

/* A slot for a name not known yet: a free one, else one that expired, else the next in turn
 * whose lookup is over; NULL when every slot waits for a lookup. */
static struct udp_name *udp_names_slot(struct udp_names *names, uint64_t now)
{
    struct udp_name *fallback = NULL;
    for (size_t i = 0; i < UDP_NAMES_REMEMBERED; i++) {
        struct udp_name *entry = &names->entries[(names->next_entry + i) % UDP_NAMES_REMEMBERED];
        if (entry->name == NULL || (entry->state != UDP_NAME_RESOLVING && entry->expires_ms <= now))
            return entry;
        if (fallback == NULL && entry->state != UDP_NAME_RESOLVING)
            fallback = entry;
    }
    if (fallback != NULL)
        names->next_entry = (unsigned)(fallback - names->entries + 1) % UDP_NAMES_REMEMBERED;
    return fallback;
}

/* Takes entry for destination's name: its lookup starts, unless a rule that needs no address
 * refuses the name first (remembered as refused: never looked up). */
static bool udp_names_lookup(struct udp_names *names, struct udp_name *entry,
                             const struct socks5_request *destination)
{
    struct session *session = names->session;
    udp_name_forget(entry);
    entry->name = malloc((size_t)destination->domain_length + 1);
    if (entry->name == NULL)
        return false;
    memcpy(entry->name, destination->domain, (size_t)destination->domain_length + 1);
    entry->name_length = destination->domain_length;
    entry->port = destination->port;
    if (session_destination_policy_before_lookup(session->proxy, session->record, destination,
                                                 &names->client->sa,
                                                 udp_names_denial_level(names)) !=
        SOCKS5_FAILURE_NONE) {
        udp_names_count_denial(names);
        counter_add(&udp_names_metrics(names)->rule_denials, 1);
        entry->state = UDP_NAME_REFUSED;
        entry->expires_ms = udp_names_now(names) + UDP_NAME_FAILURE_LIFETIME_MS;
        return true;
    }
    entry->state = UDP_NAME_RESOLVING;
    entry->query = resolver_lookup(names->session->proxy->resolver_pool, entry->name,
                                   entry->port, udp_name_on_resolved, entry);
    if (entry->query == NULL) {
        udp_name_forget(entry);
        return false;
    }
    return true;
}

static bool udp_names_wait(struct udp_names *names, struct udp_name *entry, const uint8_t *payload,
                           size_t length)
{
    if (names->waiting_count >= UDP_WAITING_MAX ||
        length > UDP_WAITING_BYTES_MAX - names->waiting_bytes)
        return false;
    struct udp_waiting *waiting = malloc(sizeof(*waiting) + length);
    if (waiting == NULL)
        return false;
    waiting->next = NULL;
    waiting->entry = entry;
    waiting->length = length;
    memcpy(waiting->payload, payload, length);
    struct udp_waiting **link = &names->waiting;
    while (*link != NULL)
        link = &(*link)->next;
    *link = waiting;
    names->waiting_count++;
    names->waiting_bytes += length;
    return true;
}

bool udp_names_route(struct udp_names *names, const struct socks5_request *destination,
                     const uint8_t *payload, size_t length, union udp_address *to)
{
    struct metrics *metrics = udp_names_metrics(names);
    uint64_t now = udp_names_now(names);
    struct udp_name *entry = udp_names_find(names, destination);
    struct udp_name *expired = NULL;
    if (entry != NULL && entry->state != UDP_NAME_RESOLVING && entry->expires_ms <= now) {
        /* Looked up again in its own slot: in another, the stale one would still be found
         * first, and every datagram would start a lookup of its own. */
        expired = entry;
        entry = NULL;
    }
    if (entry != NULL && entry->state == UDP_NAME_USABLE) {
        *to = entry->address; /* the lookup was for this port */
        return true;
    }
    if (entry != NULL && entry->state == UDP_NAME_REFUSED) {
        counter_add(&metrics->udp_dropped_policy, 1);
        return false;
    }
    if (entry != NULL && entry->state == UDP_NAME_FAILED) {
        counter_add(&metrics->udp_dropped_lookup, 1);
        return false;
    }
    if (entry == NULL) {
        entry = expired != NULL ? expired : udp_names_slot(names, now);
        if (entry == NULL || names->waiting_count >= UDP_WAITING_MAX ||
            !udp_names_lookup(names, entry, destination)) {
            counter_add(&metrics->udp_dropped_lookup, 1);
            return false;
        }
        if (entry->state == UDP_NAME_REFUSED) {
            counter_add(&metrics->udp_dropped_policy, 1);
            return false;
        }
    }
    if (!udp_names_wait(names, entry, payload, length))
        counter_add(&metrics->udp_dropped_lookup, 1);
    return false;
}

void udp_names_release(struct udp_names *names)
{
    for (size_t i = 0; i < UDP_NAMES_REMEMBERED; i++) {
        struct udp_name *entry = &names->entries[i];
        if (entry->query != NULL)
            resolver_cancel(entry->query);
        entry->query = NULL;
        udp_name_forget(entry);
    }
    while (names->waiting != NULL) {
        struct udp_waiting *waiting = names->waiting;
        names->waiting = waiting->next;
        free(waiting);
    }
    names->waiting_count = 0;
    names->waiting_bytes = 0;
}
