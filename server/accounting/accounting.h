/* accounting: what survives a restart — finished connections and lifetime usage handed by the
 * workers to one writer thread that commits them to the accounting store in batches. */
#ifndef ACCOUNTING_H
#define ACCOUNTING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "accounting_store.h"

struct accounting;
struct connection_record;

/* Where the samples come from (the daemon knows the users table; this layer does not).
 * users: calls emit for every user (and for "anonymous") with an identity that changes when a
 * user of that name is removed and added again (its counters then start from 0). global:
 * fills values[i] with admin_metrics[i]'s since-start value. Both run on the writer thread. */
typedef void (*accounting_emit)(void *emit_context, const char *user, const void *identity,
                                const struct accounting_sample *since_start);
struct accounting_sources {
    void (*users)(void *context, accounting_emit emit, void *emit_context);
    void (*global)(void *context, uint64_t values[ADMIN_METRIC_COUNT]);
    void *context;
};

struct accounting_settings {
    const char *path;          /* the database file */
    bool optional;             /* a database that cannot be opened: run without (a warning) */
    unsigned history_days;     /* finished connections kept this many days; 0 = no age bound */
    uint64_t history_max_rows; /* and at most this many; 0 = no row bound */
    unsigned batch_interval_ms; /* a batch at least this often (default 1000) */
    unsigned batch_records;     /* or as soon as this many records wait (default 512) */
    unsigned queue_capacity;    /* records waiting at most; past it they are dropped */
};

void accounting_settings_defaults(struct accounting_settings *settings);

/* Opens the store, loads the lifetime figures and starts the writer. NULL with error when
 * the database cannot be used and the settings do not say optional; with optional, a
 * disabled accounting (accounting_enabled false) and the reason in error. */
struct accounting *accounting_start(const struct accounting_settings *settings,
                                    const struct accounting_sources *sources,
                                    char error[ACCOUNTING_ERROR_MAX]);
/* Commits everything still queued (the last samples too), stops the writer, frees. */
void accounting_stop(struct accounting *accounting);
bool accounting_enabled(const struct accounting *accounting); /* false for NULL */

/* From any worker, once per finished connection: copies the record into the queue and returns
 * at once; a full queue (or a failing database) drops it and counts it. Never blocks on I/O. */
void accounting_connection_finished(struct accounting *accounting,
                                    const struct connection_record *record);
/* Records dropped since start (queue full, or a batch the database refused). */
uint64_t accounting_dropped(const struct accounting *accounting);

/* The writer's state for server-info and the dashboard. */
struct accounting_status {
    bool enabled;
    bool failing;                       /* the last batch failed */
    char error[ACCOUNTING_ERROR_MAX];   /* the last failure, "" when none */
    int64_t failing_since_ms;
    uint64_t stored_connections;        /* rows in the history (as of the last batch) */
    int64_t last_commit_ms;
};
void accounting_get_status(struct accounting *accounting, struct accounting_status *status);

/* A user's lifetime usage now: the figures as of the last sample plus what since_start (the
 * user's live counters, identity as the sources give it) grew since. False when accounting is
 * off or the user has no lifetime figures yet and since_start is NULL. */
bool accounting_user_lifetime(struct accounting *accounting, const char *user,
                              const void *identity, const struct accounting_sample *since_start,
                              struct accounting_usage *lifetime);
/* The global lifetime counters now, given the since-start ones (values as in sources.global). */
bool accounting_global_lifetime(struct accounting *accounting,
                                const uint64_t since_start[ADMIN_METRIC_COUNT],
                                uint64_t lifetime[ADMIN_METRIC_COUNT]);
/* The last reset-usage that applies to user ("" = the global one): the user's own or the
 * global one, whichever is newer. */
void accounting_last_reset(struct accounting *accounting, const char *user,
                           struct accounting_reset *reset);

/* reset-usage: sets user's lifetime figures to zero (user "" = every user and the global
 * counters) and records who did it; committed with the next batch. False when off. */
bool accounting_reset_usage(struct accounting *accounting, const char *user, const char *admin);

/* Searches the stored history (finished connections that reached the database: those that
 * ended up to a batch interval ago). From the admin thread; false with error when off or the
 * database fails. */
bool accounting_search(struct accounting *accounting, const struct accounting_filter *filter,
                       accounting_connection_visit visit, void *context, bool *more,
                       char error[ACCOUNTING_ERROR_MAX]);

#endif
