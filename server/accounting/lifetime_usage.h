/* lifetime_usage: the lifetime figures of every user and of the server in memory — what the
 * store loaded plus the growth of the since-start counters sampled since — and resets. */
#ifndef LIFETIME_USAGE_H
#define LIFETIME_USAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "accounting_store.h"

struct lifetime_usage;

/* Not thread-safe: the accounting serialises every call. */
struct lifetime_usage *lifetime_usage_create(void);
void lifetime_usage_destroy(struct lifetime_usage *lifetime);

/* Figures read from the store at start: counted, not yet sampled by this process. */
bool lifetime_usage_load_user(struct lifetime_usage *lifetime, const char *user,
                              const struct accounting_usage *usage,
                              const struct accounting_reset *last_reset);
void lifetime_usage_load_global(struct lifetime_usage *lifetime,
                                const uint64_t values[ADMIN_METRIC_COUNT],
                                const struct accounting_reset *last_reset);

/* A user's since-start counters now. What grew since the last sample of the same identity is
 * added; a new identity (the first sample, or a user removed and added again) counts from 0;
 * a sample below the last one of the same identity was read earlier and is ignored (two
 * threads sample). last_seen becomes now_ms when connections grew. False: out of memory. */
bool lifetime_usage_sample_user(struct lifetime_usage *lifetime, const char *user,
                                const void *identity, const struct accounting_sample *since_start,
                                int64_t now_ms);
/* The same for the global counters (gauges are not summed). */
void lifetime_usage_sample_global(struct lifetime_usage *lifetime,
                                  const uint64_t since_start[ADMIN_METRIC_COUNT]);
/* A finished connection: its user's failures by reply code, first and last seen. */
bool lifetime_usage_add_connection(struct lifetime_usage *lifetime,
                                   const struct accounting_connection *connection);

/* user's figures now: as of the last sample plus since_start's growth since (all of it for an
 * identity not sampled yet). False when the user has no figures and since_start is NULL. */
bool lifetime_usage_user(const struct lifetime_usage *lifetime, const char *user,
                         const void *identity, const struct accounting_sample *since_start,
                         struct accounting_usage *out);
void lifetime_usage_global(const struct lifetime_usage *lifetime,
                           const uint64_t since_start[ADMIN_METRIC_COUNT],
                           uint64_t out[ADMIN_METRIC_COUNT]);

/* Sets user's figures to zero ("" = every user's and the global ones) and remembers reset. */
void lifetime_usage_reset(struct lifetime_usage *lifetime, const char *user,
                          const struct accounting_reset *reset);
/* The newer of user's own last reset and the global one (user "": the global one, which may
 * be the database's creation: a reset by nobody, that a user's answer leaves out). */
void lifetime_usage_last_reset(const struct lifetime_usage *lifetime, const char *user,
                               struct accounting_reset *reset);

/* What a batch took of a user's figures: saving it subtracts exactly that growth, unless a
 * reset came since (the generation moved on); a change since keeps the user marked. */
struct lifetime_taken {
    unsigned generation;
    unsigned touches;
};
struct lifetime_global_growth {
    bool changed;
    unsigned generation;
    uint64_t growth[ADMIN_METRIC_COUNT];
};

/* Calls visit with the growth not saved yet of every user whose figures changed, and gives
 * the global growth. Nothing is forgotten until it is saved: after a batch that failed, the
 * growth waits for the next, with whatever grew meanwhile. */
typedef bool (*lifetime_usage_visit)(void *context, const char *user,
                                     const struct accounting_usage *growth,
                                     struct lifetime_taken taken);
bool lifetime_usage_take_changes(struct lifetime_usage *lifetime, lifetime_usage_visit visit,
                                 void *context, struct lifetime_global_growth *global);
/* The batch that took these was committed: they are in the database now. */
void lifetime_usage_saved_user(struct lifetime_usage *lifetime, const char *user,
                               struct lifetime_taken taken, const struct accounting_usage *saved);
void lifetime_usage_saved_global(struct lifetime_usage *lifetime,
                                 const struct lifetime_global_growth *saved);

#endif
