/* address_slots: live client connections per client address, shared by every worker, for
 * --max-connections-per-address (a small hash table under one lock; an entry lives while
 * its count is above zero). */
#include "address_slots.h"

#include "siphash.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* Entries exist only for addresses with a live connection: a fixed bucket count keeps chains
 * short for thousands of clients and the table costs 8 KiB. */
#define BUCKET_COUNT 1024

struct address_slot {
    struct address_slot *next;
    uint8_t address[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    size_t live;
};

struct address_slots {
    pthread_mutex_t lock;
    uint8_t key[16]; /* random: a client cannot aim its addresses at one bucket */
    struct address_slot *buckets[BUCKET_COUNT];
};

struct address_slots *address_slots_create(void)
{
    struct address_slots *slots = calloc(1, sizeof(*slots));
    if (slots == NULL)
        return NULL;
    if (getrandom(slots->key, sizeof(slots->key), 0) != sizeof(slots->key)) {
        free(slots);
        return NULL;
    }
    pthread_mutex_init(&slots->lock, NULL);
    return slots;
}

void address_slots_destroy(struct address_slots *slots)
{
    if (slots == NULL)
        return;
    for (size_t i = 0; i < BUCKET_COUNT; i++) {
        struct address_slot *entry = slots->buckets[i];
        while (entry != NULL) {
            struct address_slot *next = entry->next;
            free(entry);
            entry = next;
        }
    }
    pthread_mutex_destroy(&slots->lock);
    free(slots);
}

static void address_key(const struct sockaddr *client, uint8_t key[16])
{
    memset(key, 0, 16);
    if (client->sa_family == AF_INET6) {
        memcpy(key, &((const struct sockaddr_in6 *)client)->sin6_addr, 16);
    } else if (client->sa_family == AF_INET) {
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)client)->sin_addr, 4);
    }
}

static struct address_slot **find_link(struct address_slots *slots, const uint8_t key[16])
{
    struct address_slot **link = &slots->buckets[siphash24(slots->key, key, 16) % BUCKET_COUNT];
    while (*link != NULL && memcmp((*link)->address, key, 16) != 0)
        link = &(*link)->next;
    return link;
}

struct address_slot *address_slots_take(struct address_slots *slots,
                                        const struct sockaddr *client, size_t limit)
{
    uint8_t key[16];
    address_key(client, key);
    pthread_mutex_lock(&slots->lock);
    struct address_slot **link = find_link(slots, key);
    struct address_slot *taken = NULL;
    if (*link == NULL) {
        struct address_slot *entry = limit > 0 ? calloc(1, sizeof(*entry)) : NULL;
        if (entry != NULL) {
            memcpy(entry->address, key, 16);
            entry->live = 1;
            *link = taken = entry;
        }
    } else if ((*link)->live < limit) {
        (*link)->live++;
        taken = *link;
    }
    pthread_mutex_unlock(&slots->lock);
    return taken;
}

void address_slots_release(struct address_slots *slots, struct address_slot *slot)
{
    pthread_mutex_lock(&slots->lock);
    if (--slot->live == 0) {
        struct address_slot **link = find_link(slots, slot->address);
        *link = slot->next;
        free(slot);
    }
    pthread_mutex_unlock(&slots->lock);
}
