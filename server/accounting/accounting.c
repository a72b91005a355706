/* accounting: what survives a restart — finished connections and lifetime usage handed by the
 * workers to one writer thread that commits them to the accounting store in batches. */
#include "accounting.h"

#include "counter.h"
#include "lifetime_usage.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Retention works in small steps between batches, so no prune holds the write lock long. */
#define PRUNE_STEP_ROWS 500
#define PRUNE_STEPS_PER_BATCH 8
#define VACUUM_STEP_PAGES 256
/* A failing database is reported once a minute, not once a batch. */
#define FAILURE_LOG_INTERVAL_MS 60000

/* A reset-usage waiting for the next batch to be stored. */
struct pending_reset {
    struct pending_reset *next;
    char user[ACCOUNTING_USER_MAX + 1];
    struct accounting_reset reset;
};

/* A user's lifetime figures as a batch stores them. */
struct changed_user {
    char *user;
    struct accounting_usage growth;
    struct lifetime_taken taken;
};

struct accounting {
    struct accounting_settings settings;
    char *path;
    struct accounting_sources sources;
    struct accounting_store *store; /* the writer thread's */
    pthread_t writer;
    /* The writer's copy of the figures a batch stores, taken under the usage lock and written
     * without it. */
    struct changed_user *changed;
    size_t changed_count;
    size_t changed_capacity;

    /* The queue: workers push, the writer takes all at once. */
    pthread_mutex_t queue_lock;
    pthread_cond_t queue_wake;
    struct accounting_connection **queue;
    unsigned queue_count;
    bool stopping;
    uint64_t dropped; /* counter.h */

    /* The lifetime figures, the pending resets and the status: the writer and the admin. */
    pthread_mutex_t usage_lock;
    struct lifetime_usage *lifetime;
    struct pending_reset *resets;
    struct accounting_status status;
    int64_t failure_logged_ms;

    /* The admin thread's own handle for searches (WAL: reading never waits for the writer). */
    pthread_mutex_t search_lock;
    struct accounting_store *search_store;
};

void accounting_settings_defaults(struct accounting_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->history_days = 90;
    settings->history_max_rows = 1000000;
    settings->batch_interval_ms = 1000;
    settings->batch_records = 512;
    settings->queue_capacity = 8192;
}

bool accounting_enabled(const struct accounting *accounting) { return accounting != NULL; }

uint64_t accounting_dropped(const struct accounting *accounting)
{
    return accounting != NULL ? counter_read(&accounting->dropped) : 0;
}

/* ---- workers ---- */

void accounting_connection_finished(struct accounting *accounting,
                                    const struct connection_record *record)
{
    if (accounting == NULL)
        return;
    struct accounting_connection *connection = malloc(sizeof *connection);
    if (connection == NULL) {
        counter_add_shared(&accounting->dropped, 1);
        return;
    }
    accounting_connection_from_record(connection, record);
    pthread_mutex_lock(&accounting->queue_lock);
    bool queued = accounting->queue_count < accounting->settings.queue_capacity;
    if (queued) {
        accounting->queue[accounting->queue_count++] = connection;
        if (accounting->queue_count == accounting->settings.batch_records)
            pthread_cond_signal(&accounting->queue_wake);
    }
    pthread_mutex_unlock(&accounting->queue_lock);
    if (!queued) {
        free(connection);
        counter_add_shared(&accounting->dropped, 1);
    }
}

/* ---- samples ---- */

struct sample_context {
    struct accounting *accounting;
    int64_t now_ms;
};

static void apply_user_sample(void *context, const char *user, const void *identity,
                              const struct accounting_sample *since_start)
{
    struct sample_context *sample = context;
    pthread_mutex_lock(&sample->accounting->usage_lock);
    lifetime_usage_sample_user(sample->accounting->lifetime, user, identity, since_start,
                               sample->now_ms);
    pthread_mutex_unlock(&sample->accounting->usage_lock);
}

/* Brings the lifetime figures up to the counters now (the writer every batch; a reset first). */
static void take_samples(struct accounting *accounting)
{
    struct sample_context sample = {accounting, log_realtime_ms()};
    if (accounting->sources.users != NULL)
        accounting->sources.users(accounting->sources.context, apply_user_sample, &sample);
    if (accounting->sources.global != NULL) {
        uint64_t values[ADMIN_METRIC_COUNT] = {0};
        accounting->sources.global(accounting->sources.context, values);
        /* Counted here, not by a worker: lifetime_accounting_dropped sums it over the runs. */
        values[ADMIN_METRIC_INDEX_accounting_dropped] = counter_read(&accounting->dropped);
        pthread_mutex_lock(&accounting->usage_lock);
        lifetime_usage_sample_global(accounting->lifetime, values);
        pthread_mutex_unlock(&accounting->usage_lock);
    }
}

/* ---- the writer ---- */

/* Copies a changed user's figures for the batch (the usage lock is held). */
static bool copy_changed_user(void *context, const char *user,
                              const struct accounting_usage *growth, struct lifetime_taken taken)
{
    struct accounting *accounting = context;
    if (accounting->changed_count == accounting->changed_capacity) {
        size_t capacity = accounting->changed_capacity ? accounting->changed_capacity * 2 : 16;
        struct changed_user *grown = realloc(accounting->changed, capacity * sizeof *grown);
        if (grown == NULL)
            return false;
        accounting->changed = grown;
        accounting->changed_capacity = capacity;
    }
    char *name = strdup(user);
    if (name == NULL)
        return false;
    accounting->changed[accounting->changed_count++] = (struct changed_user){name, *growth, taken};
    return true;
}

static void free_changed_users(struct accounting *accounting)
{
    for (size_t index = 0; index < accounting->changed_count; index++)
        free(accounting->changed[index].user);
    accounting->changed_count = 0;
}

static void batch_failed(struct accounting *accounting, const char *error, unsigned lost)
{
    counter_add_shared(&accounting->dropped, lost);
    int64_t now = log_realtime_ms();
    pthread_mutex_lock(&accounting->usage_lock);
    if (!accounting->status.failing)
        accounting->status.failing_since_ms = now;
    accounting->status.failing = true;
    snprintf(accounting->status.error, sizeof accounting->status.error, "%s", error);
    bool report = now - accounting->failure_logged_ms >= FAILURE_LOG_INTERVAL_MS;
    if (report)
        accounting->failure_logged_ms = now;
    pthread_mutex_unlock(&accounting->usage_lock);
    if (report)
        log_message(LOG_ERROR, "accounting: %s; finished connections are dropped until it "
                    "works again (%u in this batch)", accounting->status.error, lost);
}

/* One transaction: the queued connections, the changed lifetime figures, the resets. The
 * figures are copied under the usage lock and written without it: the admin (and, through
 * reset-usage's samples, the users lock the workers take) never waits for the disk or for
 * SQLite's busy timeout. A reset that comes in meanwhile is stored by the next batch. */
static void write_batch(struct accounting *accounting, struct accounting_connection **batch,
                        unsigned count)
{
    char error[ACCOUNTING_ERROR_MAX] = "";
    take_samples(accounting);
    pthread_mutex_lock(&accounting->usage_lock);
    for (unsigned index = 0; index < count; index++)
        lifetime_usage_add_connection(accounting->lifetime, batch[index]);
    struct pending_reset *resets = accounting->resets;
    accounting->resets = NULL;
    struct lifetime_global_growth global;
    bool ok = lifetime_usage_take_changes(accounting->lifetime, copy_changed_user, accounting,
                                          &global);
    pthread_mutex_unlock(&accounting->usage_lock);
    if (!ok)
        snprintf(error, sizeof error, "%s: out of memory", accounting->path);
    ok = ok && accounting_store_begin(accounting->store, error);
    for (struct pending_reset *reset = resets; ok && reset != NULL; reset = reset->next)
        ok = accounting_store_reset_usage(accounting->store, reset->user, reset->reset.by,
                                          reset->reset.at_ms, error);
    for (unsigned index = 0; ok && index < count; index++)
        ok = accounting_store_add_connection(accounting->store, batch[index], error);
    for (size_t index = 0; ok && index < accounting->changed_count; index++)
        ok = accounting_store_add_user_usage(accounting->store, accounting->changed[index].user,
                                             &accounting->changed[index].growth, error);
    if (ok && global.changed)
        ok = accounting_store_add_global_usage(accounting->store, global.growth, error);
    if (ok)
        ok = accounting_store_commit(accounting->store, error);
    if (!ok)
        accounting_store_rollback(accounting->store);
    pthread_mutex_lock(&accounting->usage_lock);
    if (!ok) {
        /* The resets wait for the next batch, with any that came in meanwhile, and so does
         * the growth (never subtracted: it was not saved). */
        struct pending_reset **tail = &resets;
        while (*tail != NULL)
            tail = &(*tail)->next;
        *tail = accounting->resets;
        accounting->resets = resets;
        pthread_mutex_unlock(&accounting->usage_lock);
        free_changed_users(accounting);
        batch_failed(accounting, error, count);
        return;
    }
    for (size_t index = 0; index < accounting->changed_count; index++)
        lifetime_usage_saved_user(accounting->lifetime, accounting->changed[index].user,
                                  accounting->changed[index].taken,
                                  &accounting->changed[index].growth);
    if (global.changed)
        lifetime_usage_saved_global(accounting->lifetime, &global);
    bool recovered = accounting->status.failing;
    accounting->status.failing = false;
    accounting->status.error[0] = 0;
    accounting->status.stored_connections += count;
    accounting->status.last_commit_ms = log_realtime_ms();
    pthread_mutex_unlock(&accounting->usage_lock);
    free_changed_users(accounting);
    while (resets != NULL) {
        struct pending_reset *next = resets->next;
        free(resets);
        resets = next;
    }
    if (recovered)
        log_message(LOG_WARN, "accounting: the database %s is written again", accounting->path);
}

static void prune(struct accounting *accounting)
{
    int64_t older_than = 0;
    if (accounting->settings.history_days > 0)
        older_than = log_realtime_ms() - (int64_t)accounting->settings.history_days * 86400000;
    uint64_t deleted_total = 0;
    char error[ACCOUNTING_ERROR_MAX];
    for (unsigned step = 0; step < PRUNE_STEPS_PER_BATCH; step++) {
        unsigned deleted = 0;
        if (!accounting_store_prune(accounting->store, older_than,
                                    accounting->settings.history_max_rows, PRUNE_STEP_ROWS,
                                    &deleted, error))
            return; /* the next batch reports a database that fails */
        deleted_total += deleted;
        if (deleted < PRUNE_STEP_ROWS)
            break;
    }
    if (deleted_total == 0)
        return;
    accounting_store_vacuum_step(accounting->store, VACUUM_STEP_PAGES, error);
    pthread_mutex_lock(&accounting->usage_lock);
    if (accounting->status.stored_connections >= deleted_total)
        accounting->status.stored_connections -= deleted_total;
    else
        accounting->status.stored_connections = 0;
    pthread_mutex_unlock(&accounting->usage_lock);
}

static struct timespec deadline_after(unsigned milliseconds)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += milliseconds / 1000;
    deadline.tv_nsec += (long)(milliseconds % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    return deadline;
}

static void *writer_main(void *argument)
{
    struct accounting *accounting = argument;
    unsigned capacity = accounting->settings.queue_capacity;
    struct accounting_connection **batch = calloc(capacity ? capacity : 1, sizeof *batch);
    bool stopping = false;
    while (!stopping) {
        struct timespec deadline = deadline_after(accounting->settings.batch_interval_ms);
        pthread_mutex_lock(&accounting->queue_lock);
        while (!accounting->stopping &&
               accounting->queue_count < accounting->settings.batch_records &&
               pthread_cond_timedwait(&accounting->queue_wake, &accounting->queue_lock,
                                      &deadline) != ETIMEDOUT)
            ;
        stopping = accounting->stopping;
        unsigned count = 0;
        if (batch != NULL) {
            count = accounting->queue_count;
            memcpy(batch, accounting->queue, count * sizeof *batch);
            accounting->queue_count = 0;
        }
        pthread_mutex_unlock(&accounting->queue_lock);
        write_batch(accounting, batch, count);
        for (unsigned index = 0; index < count; index++)
            free(batch[index]);
        prune(accounting);
    }
    free(batch);
    return NULL;
}

/* ---- start and stop ---- */

static void load_user(void *context, const char *user, const struct accounting_usage *usage)
{
    struct accounting *accounting = context;
    struct accounting_reset reset;
    char error[ACCOUNTING_ERROR_MAX];
    if (!accounting_store_last_reset(accounting->store, user, &reset, error))
        memset(&reset, 0, sizeof reset);
    lifetime_usage_load_user(accounting->lifetime, user, usage, &reset);
}

/* The lifetime figures as stored. Without a global reset, the server's figures start at the
 * database's creation: a reset by nobody, so that "lifetime since" always has an answer. */
static bool load(struct accounting *accounting, char error[ACCOUNTING_ERROR_MAX])
{
    uint64_t global[ADMIN_METRIC_COUNT];
    struct accounting_reset global_reset;
    if (!accounting_store_load_global(accounting->store, global, error) ||
        !accounting_store_last_reset(accounting->store, "", &global_reset, error))
        return false;
    if (global_reset.at_ms == 0 &&
        !accounting_store_created(accounting->store, &global_reset.at_ms, error))
        return false;
    lifetime_usage_load_global(accounting->lifetime, global, &global_reset);
    /* One write now: SQLite opens its write-ahead log with the first, so the process has every
     * descriptor it will use before it serves (and a read-only disk fails the start). */
    static const uint64_t nothing[ADMIN_METRIC_COUNT];
    if (!accounting_store_begin(accounting->store, error) ||
        !accounting_store_add_global_usage(accounting->store, nothing, error) ||
        !accounting_store_commit(accounting->store, error)) {
        accounting_store_rollback(accounting->store);
        return false;
    }
    uint64_t pages, free_pages;
    return accounting_store_load_users(accounting->store, load_user, accounting, error) &&
           accounting_store_counts(accounting->store, &accounting->status.stored_connections,
                                   &pages, &free_pages, error);
}

static void free_accounting(struct accounting *accounting)
{
    accounting_store_close(accounting->store);
    accounting_store_close(accounting->search_store);
    lifetime_usage_destroy(accounting->lifetime);
    free_changed_users(accounting);
    free(accounting->changed);
    while (accounting->resets != NULL) {
        struct pending_reset *next = accounting->resets->next;
        free(accounting->resets);
        accounting->resets = next;
    }
    for (unsigned index = 0; index < accounting->queue_count; index++)
        free(accounting->queue[index]);
    free(accounting->queue);
    free(accounting->path);
    pthread_mutex_destroy(&accounting->queue_lock);
    pthread_cond_destroy(&accounting->queue_wake);
    pthread_mutex_destroy(&accounting->usage_lock);
    pthread_mutex_destroy(&accounting->search_lock);
    free(accounting);
}

struct accounting *accounting_start(const struct accounting_settings *settings,
                                    const struct accounting_sources *sources,
                                    char error[ACCOUNTING_ERROR_MAX])
{
    struct accounting *accounting = calloc(1, sizeof *accounting);
    if (accounting == NULL) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "out of memory");
        return NULL;
    }
    accounting->settings = *settings;
    if (accounting->settings.batch_interval_ms == 0)
        accounting->settings.batch_interval_ms = 1000;
    if (accounting->settings.batch_records == 0)
        accounting->settings.batch_records = 512;
    if (accounting->settings.queue_capacity < accounting->settings.batch_records)
        accounting->settings.queue_capacity = accounting->settings.batch_records;
    accounting->sources = *sources;
    pthread_mutex_init(&accounting->queue_lock, NULL);
    pthread_condattr_t condition_attributes;
    pthread_condattr_init(&condition_attributes);
    pthread_condattr_setclock(&condition_attributes, CLOCK_MONOTONIC);
    pthread_cond_init(&accounting->queue_wake, &condition_attributes);
    pthread_condattr_destroy(&condition_attributes);
    pthread_mutex_init(&accounting->usage_lock, NULL);
    pthread_mutex_init(&accounting->search_lock, NULL);
    accounting->path = strdup(settings->path);
    accounting->queue = calloc(accounting->settings.queue_capacity, sizeof *accounting->queue);
    accounting->lifetime = lifetime_usage_create();
    if (accounting->path == NULL || accounting->queue == NULL || accounting->lifetime == NULL) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "out of memory");
        free_accounting(accounting);
        return NULL;
    }
    accounting->store = accounting_store_open(settings->path, error);
    if (accounting->store == NULL || !load(accounting, error)) {
        free_accounting(accounting);
        return NULL;
    }
    accounting->status.enabled = true;
    int failure = pthread_create(&accounting->writer, NULL, writer_main, accounting);
    if (failure != 0) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "cannot start the writer thread: %s",
                 strerror(failure));
        free_accounting(accounting);
        return NULL;
    }
    return accounting;
}

void accounting_stop(struct accounting *accounting)
{
    if (accounting == NULL)
        return;
    pthread_mutex_lock(&accounting->queue_lock);
    accounting->stopping = true;
    pthread_cond_signal(&accounting->queue_wake);
    pthread_mutex_unlock(&accounting->queue_lock);
    pthread_join(accounting->writer, NULL);
    free_accounting(accounting);
}

/* ---- the admin's questions ---- */

void accounting_get_status(struct accounting *accounting, struct accounting_status *status)
{
    memset(status, 0, sizeof *status);
    if (accounting == NULL)
        return;
    pthread_mutex_lock(&accounting->usage_lock);
    *status = accounting->status;
    pthread_mutex_unlock(&accounting->usage_lock);
}

bool accounting_user_lifetime(struct accounting *accounting, const char *user,
                              const void *identity, const struct accounting_sample *since_start,
                              struct accounting_usage *lifetime)
{
    if (accounting == NULL)
        return false;
    pthread_mutex_lock(&accounting->usage_lock);
    bool found = lifetime_usage_user(accounting->lifetime, user, identity, since_start, lifetime);
    pthread_mutex_unlock(&accounting->usage_lock);
    return found;
}

bool accounting_global_lifetime(struct accounting *accounting,
                                const uint64_t since_start[ADMIN_METRIC_COUNT],
                                uint64_t lifetime[ADMIN_METRIC_COUNT])
{
    if (accounting == NULL)
        return false;
    pthread_mutex_lock(&accounting->usage_lock);
    lifetime_usage_global(accounting->lifetime, since_start, lifetime);
    pthread_mutex_unlock(&accounting->usage_lock);
    return true;
}

void accounting_last_reset(struct accounting *accounting, const char *user,
                           struct accounting_reset *reset)
{
    memset(reset, 0, sizeof *reset);
    if (accounting == NULL)
        return;
    pthread_mutex_lock(&accounting->usage_lock);
    lifetime_usage_last_reset(accounting->lifetime, user, reset);
    pthread_mutex_unlock(&accounting->usage_lock);
}

bool accounting_reset_usage(struct accounting *accounting, const char *user, const char *admin)
{
    if (accounting == NULL)
        return false;
    struct pending_reset *pending = calloc(1, sizeof *pending);
    if (pending == NULL)
        return false;
    snprintf(pending->user, sizeof pending->user, "%s", user);
    snprintf(pending->reset.by, sizeof pending->reset.by, "%s", admin);
    /* Everything counted up to now is what the reset clears: sample first. */
    take_samples(accounting);
    pthread_mutex_lock(&accounting->usage_lock);
    pending->reset.at_ms = log_realtime_ms();
    lifetime_usage_reset(accounting->lifetime, user, &pending->reset);
    pending->next = accounting->resets;
    accounting->resets = pending;
    pthread_mutex_unlock(&accounting->usage_lock);
    return true;
}

bool accounting_search(struct accounting *accounting, const struct accounting_filter *filter,
                       accounting_connection_visit visit, void *context, bool *more,
                       char error[ACCOUNTING_ERROR_MAX])
{
    *more = false;
    if (accounting == NULL) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "accounting is off (--accounting-db off)");
        return false;
    }
    pthread_mutex_lock(&accounting->search_lock);
    if (accounting->search_store == NULL)
        accounting->search_store = accounting_store_open(accounting->path, error);
    bool ok = accounting->search_store != NULL &&
              accounting_store_search(accounting->search_store, filter, visit, context, more,
                                      error);
    pthread_mutex_unlock(&accounting->search_lock);
    return ok;
}
