/* address_slots: live client connections per client address, shared by every worker, for
 * --max-connections-per-address (a small hash table under one lock; an entry lives while
 * its count is above zero). */
#ifndef ADDRESS_SLOTS_H
#define ADDRESS_SLOTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct address_slots;
struct address_slot; /* one address's count, valid while the caller holds one of its slots */

struct address_slots *address_slots_create(void);
void address_slots_destroy(struct address_slots *slots);

/* Counts one more connection from client's address (the port is ignored; an IPv4 address and
 * its IPv4-mapped IPv6 form are one address): NULL, nothing counted, when limit are live
 * already or memory ran out. Each slot taken is given back once by address_slots_release. */
struct address_slot *address_slots_take(struct address_slots *slots,
                                        const struct sockaddr *client, size_t limit);
void address_slots_release(struct address_slots *slots, struct address_slot *slot);

#endif
