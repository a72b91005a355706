/* udp_names: a UDP association's domain destinations — each name looked up off the loop and
 * judged by the destination policy once, remembered a while, with datagrams waiting meanwhile. */
#ifndef UDP_NAMES_H
#define UDP_NAMES_H

#include "log.h"
#include "socks5_parser.h"
#include "udp_address.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct resolver_query;
struct udp_waiting;
struct udp_names;

/* Names an association remembers at once (a slot whose lookup runs is never taken back). */
#define UDP_NAMES_REMEMBERED 4
/* Datagrams of an association that may wait for lookups, and their payloads' bytes (room
 * for one of the largest): more are dropped. Bytes bound what a client's associations can
 * make the server hold, 64 KiB each rather than eight of the largest datagrams. */
#define UDP_WAITING_MAX 8
#define UDP_WAITING_BYTES_MAX 65536

/* Sends a datagram that waited for its name, once the name was found and allowed. */
typedef void (*udp_names_send)(void *context, const union udp_address *to,
                               const uint8_t *payload, size_t length);

struct udp_name {
    struct udp_names *owner;
    struct resolver_query *query; /* while the lookup runs */
    char *name;                   /* NULL: a free slot */
    uint8_t name_length;
    uint8_t state;
    uint16_t port;                /* host order */
    union udp_address address;    /* where its datagrams go, once usable */
    uint64_t expires_ms;
};

struct udp_names {
    struct session *session; /* its proxy, its record (what the policy sees) */
    const union udp_address *client; /* the association's client, for the policy */
    udp_names_send send;
    void *context;
    struct udp_name entries[UDP_NAMES_REMEMBERED];
    unsigned next_entry;
    struct udp_waiting *waiting; /* oldest first */
    unsigned waiting_count;
    size_t waiting_bytes;
    unsigned denials; /* of the association's destinations, literal and named */
};

void udp_names_init(struct udp_names *names, struct session *session,
                    const union udp_address *client, udp_names_send send, void *context);

/* Where a datagram for destination (a domain) goes: true with *to when the name is known and
 * allowed; false when the datagram was kept until the name's lookup ends (a copy), or dropped
 * (counted: refused by the policy, name not found, too many waiting). */
bool udp_names_route(struct udp_names *names, const struct socks5_request *destination,
                     const uint8_t *payload, size_t length, union udp_address *to);

/* The level the association's next destination denial is logged at: its first
 * UDP_DENIALS_LOGGED at info, the rest at debug (a client can name thousands of destinations a
 * second; the counters count them all). udp_names_count_denial counts one. */
#define UDP_DENIALS_LOGGED 8
enum log_level udp_names_denial_level(const struct udp_names *names);
void udp_names_count_denial(struct udp_names *names);

/* Cancels the lookups still running and frees every name and waiting datagram. */
void udp_names_release(struct udp_names *names);

#endif
