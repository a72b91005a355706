/* login_throttle: failed logins counted per source address (an IPv4 address, an IPv6 /64),
 * answered later and later as they pile up, so guessing passwords is slow and others unharmed. */
#include "login_throttle.h"

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define THROTTLE_SLOTS 4096        /* sources tracked at once; a fixed, small table */
#define FREE_FAILURES 3            /* typos cost nothing */
#define FIRST_DELAY_MS 250
#define MAX_DELAY_MS 8000
#define FORGET_AFTER_MS (15 * 60 * 1000)
#define PROBE_LIMIT 16

struct throttle_slot {
    uint8_t key[16]; /* the address, or the IPv6 /64 with the rest zero */
    uint32_t failures;
    uint64_t last_failure_ms;
    bool used;
};

/* Every worker and the admin listener count here: one lock, held for a table probe. */
struct login_throttle {
    pthread_mutex_t lock;
    struct throttle_slot slots[THROTTLE_SLOTS];
};

struct login_throttle *login_throttle_create(void)
{
    struct login_throttle *throttle = calloc(1, sizeof(struct login_throttle));
    if (throttle != NULL)
        pthread_mutex_init(&throttle->lock, NULL);
    return throttle;
}

void login_throttle_destroy(struct login_throttle *throttle)
{
    if (throttle == NULL)
        return;
    pthread_mutex_destroy(&throttle->lock);
    free(throttle);
}

static bool key_of(const struct sockaddr *source, uint8_t key[16])
{
    memset(key, 0, 16);
    if (source->sa_family == AF_INET) {
        memcpy(key + 12, &((const struct sockaddr_in *)source)->sin_addr, 4);
        return true;
    }
    if (source->sa_family == AF_INET6) {
        /* One host usually owns a whole /64: counting per address would be trivial to dodge. */
        memcpy(key, &((const struct sockaddr_in6 *)source)->sin6_addr, 8);
        return true;
    }
    return false;
}

static size_t slot_index(const uint8_t key[16])
{
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a: the table is small and bounded */
    for (int i = 0; i < 16; i++)
        hash = (hash ^ key[i]) * 1099511628211ULL;
    return (size_t)(hash % THROTTLE_SLOTS);
}

/* Each worker passes its own loop's cached clock, which may lag another's by a little: a time
 * "before" the last failure counts as no time at all, never as an unsigned wrap to forever. */
static uint64_t elapsed_ms(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? now_ms - then_ms : 0;
}

/* The slot holding key, or (create) a free, expired or least recent one in its probe run. */
static struct throttle_slot *find_slot(struct login_throttle *throttle, const uint8_t key[16],
                                       uint64_t now_ms, bool create)
{
    size_t start = slot_index(key);
    struct throttle_slot *victim = NULL;
    bool victim_reusable = false;
    for (size_t i = 0; i < PROBE_LIMIT; i++) {
        struct throttle_slot *slot = &throttle->slots[(start + i) % THROTTLE_SLOTS];
        if (slot->used && memcmp(slot->key, key, 16) == 0)
            return slot;
        if (victim_reusable)
            continue;
        bool reusable = !slot->used || elapsed_ms(now_ms, slot->last_failure_ms) > FORGET_AFTER_MS;
        if (reusable || victim == NULL || slot->last_failure_ms < victim->last_failure_ms) {
            victim = slot;
            victim_reusable = reusable;
        }
    }
    if (!create)
        return NULL;
    memset(victim, 0, sizeof(*victim));
    memcpy(victim->key, key, 16);
    victim->used = true;
    return victim;
}

uint32_t login_throttle_failure(struct login_throttle *throttle, const struct sockaddr *source,
                                uint64_t now_ms)
{
    uint8_t key[16];
    if (!key_of(source, key))
        return 0;
    pthread_mutex_lock(&throttle->lock);
    struct throttle_slot *slot = find_slot(throttle, key, now_ms, true);
    if (elapsed_ms(now_ms, slot->last_failure_ms) > FORGET_AFTER_MS)
        slot->failures = 0;
    slot->failures++;
    if (now_ms > slot->last_failure_ms)
        slot->last_failure_ms = now_ms;
    uint32_t failures = slot->failures;
    pthread_mutex_unlock(&throttle->lock);
    if (failures <= FREE_FAILURES)
        return 0;
    uint32_t doublings = failures - FREE_FAILURES - 1;
    if (doublings > 5)
        return MAX_DELAY_MS;
    uint32_t delay = FIRST_DELAY_MS << doublings;
    return delay < MAX_DELAY_MS ? delay : MAX_DELAY_MS;
}

void login_throttle_success(struct login_throttle *throttle, const struct sockaddr *source)
{
    uint8_t key[16];
    if (!key_of(source, key))
        return;
    pthread_mutex_lock(&throttle->lock);
    struct throttle_slot *slot = find_slot(throttle, key, 0, false);
    if (slot != NULL)
        slot->used = false;
    pthread_mutex_unlock(&throttle->lock);
}
