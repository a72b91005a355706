/* lifetime_usage: the lifetime figures of every user and of the server in memory — what the
 * store loaded plus the growth of the since-start counters sampled since — and resets. */
#include "lifetime_usage.h"

#include <stdlib.h>
#include <string.h>

/* One user's figures. A chained hash table keyed by name: the names are the users table's
 * (chosen by admins, not by SOCKS clients), so a plain FNV-1a is enough. */
struct lifetime_entry {
    struct lifetime_entry *next;
    struct accounting_usage usage;   /* as of the last sample */
    struct accounting_usage unsaved; /* the part of usage not in the database yet */
    struct accounting_sample last;   /* the since-start counters of that sample */
    const void *identity;            /* whose counters they were; NULL = not sampled yet */
    struct accounting_reset reset;
    bool changed;
    unsigned generation; /* one more at each reset: growth taken before it is not subtracted */
    unsigned touches;    /* one more at each change: a change during a write keeps changed */
    char name[];
};

struct lifetime_usage {
    struct lifetime_entry **buckets;
    size_t bucket_count;
    size_t entry_count;
    uint64_t global[ADMIN_METRIC_COUNT];
    uint64_t global_last[ADMIN_METRIC_COUNT];
    uint64_t global_unsaved[ADMIN_METRIC_COUNT];
    bool global_changed;
    unsigned global_generation;
    struct accounting_reset global_reset;
};

static uint64_t name_hash(const char *name)
{
    uint64_t hash = 1469598103934665603u;
    for (const unsigned char *byte = (const unsigned char *)name; *byte != 0; byte++)
        hash = (hash ^ *byte) * 1099511628211u;
    return hash;
}

struct lifetime_usage *lifetime_usage_create(void)
{
    struct lifetime_usage *lifetime = calloc(1, sizeof *lifetime);
    if (lifetime == NULL)
        return NULL;
    lifetime->bucket_count = 64;
    lifetime->buckets = calloc(lifetime->bucket_count, sizeof *lifetime->buckets);
    if (lifetime->buckets == NULL) {
        free(lifetime);
        return NULL;
    }
    return lifetime;
}

void lifetime_usage_destroy(struct lifetime_usage *lifetime)
{
    if (lifetime == NULL)
        return;
    for (size_t index = 0; index < lifetime->bucket_count; index++) {
        struct lifetime_entry *entry = lifetime->buckets[index];
        while (entry != NULL) {
            struct lifetime_entry *next = entry->next;
            free(entry);
            entry = next;
        }
    }
    free(lifetime->buckets);
    free(lifetime);
}

static struct lifetime_entry *find(const struct lifetime_usage *lifetime, const char *name)
{
    struct lifetime_entry *entry = lifetime->buckets[name_hash(name) % lifetime->bucket_count];
    while (entry != NULL && strcmp(entry->name, name) != 0)
        entry = entry->next;
    return entry;
}

/* Doubles the table when it holds more entries than buckets: chains stay short. */
static void grow(struct lifetime_usage *lifetime)
{
    size_t count = lifetime->bucket_count * 2;
    struct lifetime_entry **buckets = calloc(count, sizeof *buckets);
    if (buckets == NULL)
        return; /* longer chains, still correct */
    for (size_t index = 0; index < lifetime->bucket_count; index++) {
        struct lifetime_entry *entry = lifetime->buckets[index];
        while (entry != NULL) {
            struct lifetime_entry *next = entry->next;
            size_t slot = name_hash(entry->name) % count;
            entry->next = buckets[slot];
            buckets[slot] = entry;
            entry = next;
        }
    }
    free(lifetime->buckets);
    lifetime->buckets = buckets;
    lifetime->bucket_count = count;
}

static struct lifetime_entry *find_or_add(struct lifetime_usage *lifetime, const char *name)
{
    struct lifetime_entry *entry = find(lifetime, name);
    if (entry != NULL)
        return entry;
    size_t length = strlen(name);
    entry = calloc(1, sizeof *entry + length + 1);
    if (entry == NULL)
        return NULL;
    memcpy(entry->name, name, length + 1);
    if (lifetime->entry_count >= lifetime->bucket_count)
        grow(lifetime);
    size_t slot = name_hash(name) % lifetime->bucket_count;
    entry->next = lifetime->buckets[slot];
    lifetime->buckets[slot] = entry;
    lifetime->entry_count++;
    return entry;
}

bool lifetime_usage_load_user(struct lifetime_usage *lifetime, const char *user,
                              const struct accounting_usage *usage,
                              const struct accounting_reset *last_reset)
{
    struct lifetime_entry *entry = find_or_add(lifetime, user);
    if (entry == NULL)
        return false;
    entry->usage = *usage;
    if (last_reset != NULL)
        entry->reset = *last_reset;
    return true;
}

void lifetime_usage_load_global(struct lifetime_usage *lifetime,
                                const uint64_t values[ADMIN_METRIC_COUNT],
                                const struct accounting_reset *last_reset)
{
    memcpy(lifetime->global, values, sizeof lifetime->global);
    if (last_reset != NULL)
        lifetime->global_reset = *last_reset;
}

/* Whether sample is at least last field by field: a sample read before the last one applied
 * (another thread's) has some field below it. */
static bool sample_not_older(const struct accounting_sample *sample,
                             const struct accounting_sample *last)
{
#define NOT_OLDER(name)                                                                          \
    if (sample->name < last->name)                                                               \
        return false;
    ACCOUNTING_USAGE_FIELDS(NOT_OLDER)
#undef NOT_OLDER
    return true;
}

bool lifetime_usage_sample_user(struct lifetime_usage *lifetime, const char *user,
                                const void *identity, const struct accounting_sample *since_start,
                                int64_t now_ms)
{
    struct lifetime_entry *entry = find_or_add(lifetime, user);
    if (entry == NULL)
        return false;
    if (entry->identity != identity) {
        entry->identity = identity;
        memset(&entry->last, 0, sizeof entry->last);
    }
    if (!sample_not_older(since_start, &entry->last))
        return true;
    bool grew = false;
#define ADD_GROWTH(name)                                                                         \
    if (since_start->name != entry->last.name) {                                                 \
        entry->usage.name += since_start->name - entry->last.name;                               \
        entry->unsaved.name += since_start->name - entry->last.name;                             \
        grew = true;                                                                             \
    }
    ACCOUNTING_USAGE_FIELDS(ADD_GROWTH)
#undef ADD_GROWTH
    if (since_start->connections_total != entry->last.connections_total) {
        if (entry->usage.first_seen_ms == 0)
            entry->usage.first_seen_ms = now_ms;
        entry->usage.last_seen_ms = now_ms;
        entry->unsaved.first_seen_ms = entry->usage.first_seen_ms;
        entry->unsaved.last_seen_ms = now_ms;
    }
    entry->last = *since_start;
    if (grew) {
        entry->changed = true;
        entry->touches++;
    }
    return true;
}

void lifetime_usage_sample_global(struct lifetime_usage *lifetime,
                                  const uint64_t since_start[ADMIN_METRIC_COUNT])
{
    for (size_t index = 0; index < ADMIN_METRIC_COUNT; index++)
        if (admin_metrics[index].kind == ADMIN_METRIC_COUNTER && since_start[index] < lifetime->global_last[index])
            return; /* read before the last sample */
    for (size_t index = 0; index < ADMIN_METRIC_COUNT; index++) {
        if (admin_metrics[index].kind != ADMIN_METRIC_COUNTER)
            continue;
        uint64_t growth = since_start[index] - lifetime->global_last[index];
        if (growth != 0) {
            lifetime->global[index] += growth;
            lifetime->global_unsaved[index] += growth;
            lifetime->global_changed = true;
        }
        lifetime->global_last[index] = since_start[index];
    }
}

bool lifetime_usage_add_connection(struct lifetime_usage *lifetime,
                                   const struct accounting_connection *connection)
{
    if (!connection->authenticated)
        return true; /* only the server's figures have it, through its counters */
    struct lifetime_entry *entry = find_or_add(lifetime, connection->user);
    if (entry == NULL)
        return false;
    if (connection->status != 0 && connection->status < ACCOUNTING_STATUS_CODES) {
        entry->usage.failures[connection->status]++;
        entry->unsaved.failures[connection->status]++;
    }
    if (entry->usage.first_seen_ms == 0 || connection->started_ms < entry->usage.first_seen_ms)
        entry->usage.first_seen_ms = connection->started_ms;
    if (connection->ended_ms > entry->usage.last_seen_ms)
        entry->usage.last_seen_ms = connection->ended_ms;
    entry->unsaved.first_seen_ms = entry->usage.first_seen_ms;
    entry->unsaved.last_seen_ms = entry->usage.last_seen_ms;
    entry->changed = true;
    entry->touches++;
    return true;
}

static void add_growth(struct accounting_usage *out, const struct accounting_sample *since_start,
                       const struct accounting_sample *last)
{
    if (!sample_not_older(since_start, last))
        return;
#define ADD_FIELD(name) out->name += since_start->name - last->name;
    ACCOUNTING_USAGE_FIELDS(ADD_FIELD)
#undef ADD_FIELD
}

bool lifetime_usage_user(const struct lifetime_usage *lifetime, const char *user,
                         const void *identity, const struct accounting_sample *since_start,
                         struct accounting_usage *out)
{
    static const struct accounting_sample zero;
    const struct lifetime_entry *entry = find(lifetime, user);
    memset(out, 0, sizeof *out);
    if (entry == NULL && since_start == NULL)
        return false;
    if (entry != NULL)
        *out = entry->usage;
    if (since_start != NULL) {
        bool same = entry != NULL && entry->identity == identity;
        add_growth(out, since_start, same ? &entry->last : &zero);
    }
    return true;
}

void lifetime_usage_global(const struct lifetime_usage *lifetime,
                           const uint64_t since_start[ADMIN_METRIC_COUNT],
                           uint64_t out[ADMIN_METRIC_COUNT])
{
    for (size_t index = 0; index < ADMIN_METRIC_COUNT; index++) {
        out[index] = 0;
        if (admin_metrics[index].kind != ADMIN_METRIC_COUNTER)
            continue;
        out[index] = lifetime->global[index];
        if (since_start[index] > lifetime->global_last[index])
            out[index] += since_start[index] - lifetime->global_last[index];
    }
}

/* The store zeroes the stored figures (keeping first and last seen); what grows from here is
 * added to them. */
static void zero_entry(struct lifetime_entry *entry)
{
    int64_t first_seen_ms = entry->usage.first_seen_ms, last_seen_ms = entry->usage.last_seen_ms;
    memset(&entry->usage, 0, sizeof entry->usage);
    memset(&entry->unsaved, 0, sizeof entry->unsaved);
    entry->usage.first_seen_ms = first_seen_ms;
    entry->usage.last_seen_ms = last_seen_ms;
    entry->changed = true; /* a row to hold the reset, if the user had none */
    entry->generation++;
    entry->touches++;
}

void lifetime_usage_reset(struct lifetime_usage *lifetime, const char *user,
                          const struct accounting_reset *reset)
{
    if (user[0] != 0) {
        struct lifetime_entry *entry = find_or_add(lifetime, user);
        if (entry != NULL) {
            zero_entry(entry);
            entry->reset = *reset;
        }
        return;
    }
    for (size_t index = 0; index < lifetime->bucket_count; index++)
        for (struct lifetime_entry *entry = lifetime->buckets[index]; entry != NULL;
             entry = entry->next)
            zero_entry(entry);
    memset(lifetime->global, 0, sizeof lifetime->global);
    memset(lifetime->global_unsaved, 0, sizeof lifetime->global_unsaved);
    lifetime->global_changed = true;
    lifetime->global_generation++;
    lifetime->global_reset = *reset;
}

void lifetime_usage_last_reset(const struct lifetime_usage *lifetime, const char *user,
                               struct accounting_reset *reset)
{
    *reset = lifetime->global_reset;
    if (user[0] == 0)
        return;
    /* The database's creation is recorded as a reset by nobody: the start of the server's
     * lifetime figures, not a reset of this user's. */
    if (reset->by[0] == 0)
        memset(reset, 0, sizeof *reset);
    const struct lifetime_entry *entry = find(lifetime, user);
    if (entry != NULL && entry->reset.at_ms >= reset->at_ms && entry->reset.at_ms != 0)
        *reset = entry->reset;
}

bool lifetime_usage_take_changes(struct lifetime_usage *lifetime, lifetime_usage_visit visit,
                                 void *context, struct lifetime_global_growth *global)
{
    for (size_t index = 0; index < lifetime->bucket_count; index++)
        for (struct lifetime_entry *entry = lifetime->buckets[index]; entry != NULL;
             entry = entry->next) {
            if (!entry->changed)
                continue;
            struct lifetime_taken taken = {entry->generation, entry->touches};
            if (!visit(context, entry->name, &entry->unsaved, taken))
                return false;
        }
    global->changed = lifetime->global_changed;
    global->generation = lifetime->global_generation;
    memcpy(global->growth, lifetime->global_unsaved, sizeof lifetime->global_unsaved);
    return true;
}

static uint64_t less(uint64_t value, uint64_t saved) { return value > saved ? value - saved : 0; }

void lifetime_usage_saved_user(struct lifetime_usage *lifetime, const char *user,
                               struct lifetime_taken taken, const struct accounting_usage *saved)
{
    struct lifetime_entry *entry = find(lifetime, user);
    if (entry == NULL || entry->generation != taken.generation)
        return; /* reset since: the database was zeroed after this growth, and so was it here */
#define SUBTRACT(name) entry->unsaved.name = less(entry->unsaved.name, saved->name);
    ACCOUNTING_USAGE_FIELDS(SUBTRACT)
#undef SUBTRACT
    for (unsigned code = 0; code < ACCOUNTING_STATUS_CODES; code++)
        entry->unsaved.failures[code] = less(entry->unsaved.failures[code], saved->failures[code]);
    if (entry->touches == taken.touches)
        entry->changed = false;
}

void lifetime_usage_saved_global(struct lifetime_usage *lifetime,
                                 const struct lifetime_global_growth *saved)
{
    if (lifetime->global_generation != saved->generation)
        return;
    bool left = false;
    for (size_t index = 0; index < ADMIN_METRIC_COUNT; index++) {
        lifetime->global_unsaved[index] = less(lifetime->global_unsaved[index],
                                               saved->growth[index]);
        left = left || lifetime->global_unsaved[index] != 0;
    }
    lifetime->global_changed = left;
}
