/* server_accounting: the accounting database for this process — which file (--accounting-db,
 * else beside the users file), what its writer samples (the users, the counters), start, stop. */
#include "server_accounting.h"

#include "accounting.h"
#include "admin_thread.h"
#include "counter.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "proxy.h"
#include "users.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* What the writer thread samples. One per process, like the server. The admin's counters are
 * copied when its thread goes (before the workers' last sessions are sampled). */
static struct {
    struct proxy_shared *shared;
    pthread_mutex_t admin_lock;
    struct admin_thread *admin;
    struct metrics admin_final;
    bool workers_gone;
    struct metrics workers_final;
    char path[4096]; /* the database's, for server-info; "" when off */
} sampled = {.admin_lock = PTHREAD_MUTEX_INITIALIZER};

void server_accounting_workers_gone(void)
{
    if (sampled.shared == NULL)
        return; /* never started */
    pthread_mutex_lock(&sampled.admin_lock);
    memset(&sampled.workers_final, 0, sizeof sampled.workers_final);
    for (size_t i = 0; i < sampled.shared->worker_count; i++)
        metrics_add_up(&sampled.workers_final, &sampled.shared->workers[i]->metrics);
    sampled.workers_gone = true;
    pthread_mutex_unlock(&sampled.admin_lock);
}

void server_accounting_set_admin(struct admin_thread *admin)
{
    pthread_mutex_lock(&sampled.admin_lock);
    if (admin == NULL && sampled.admin != NULL) {
        memset(&sampled.admin_final, 0, sizeof sampled.admin_final);
        metrics_add_up(&sampled.admin_final, admin_thread_metrics(sampled.admin));
    }
    sampled.admin = admin;
    pthread_mutex_unlock(&sampled.admin_lock);
}

struct emit_call {
    accounting_emit emit;
    void *emit_context;
};

static void sample_user(struct user *user, struct emit_call *call)
{
    const struct user_usage *usage = user_usage(user);
    struct accounting_sample sample = {
#define SAMPLE_FIELD(name) .name = counter_read(&usage->name),
        ACCOUNTING_USAGE_FIELDS(SAMPLE_FIELD)
#undef SAMPLE_FIELD
    };
    call->emit(call->emit_context, user_name(user), user_identity(user), &sample);
}

static void visit_user(struct user *user, void *context) { sample_user(user, context); }

static void sample_users(void *context, accounting_emit emit, void *emit_context)
{
    (void)context;
    struct emit_call call = {emit, emit_context};
    struct users *users = sampled.shared->users;
    users_for_each(users, visit_user, &call);
    sample_user(users_anonymous(users), &call);
}

static void sample_global(void *context, uint64_t values[ADMIN_METRIC_COUNT])
{
    (void)context;
    struct metrics sum = {0};
    pthread_mutex_lock(&sampled.admin_lock);
    if (sampled.workers_gone)
        metrics_add_up(&sum, &sampled.workers_final);
    else
        for (size_t i = 0; i < sampled.shared->worker_count; i++)
            metrics_add_up(&sum, &sampled.shared->workers[i]->metrics);
    metrics_add_up(&sum, sampled.admin != NULL ? admin_thread_metrics(sampled.admin)
                                               : &sampled.admin_final);
    pthread_mutex_unlock(&sampled.admin_lock);
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        values[i] = metrics_value(&sum, i);
}

/* --accounting-db, else accounting.db in the users file's directory; off with the users file
 * (a server that keeps its users in memory keeps its accounting there too). */
static bool choose_path(const struct server_options *options, const char *users_file,
                        char *path, size_t size)
{
    if (options->accounting_db != NULL) {
        if (strcmp(options->accounting_db, "off") == 0)
            return false;
        snprintf(path, size, "%s", options->accounting_db);
        return true;
    }
    if (users_file == NULL)
        return false;
    const char *slash = strrchr(users_file, '/');
    if (slash == NULL)
        snprintf(path, size, "accounting.db");
    else
        snprintf(path, size, "%.*s/accounting.db", (int)(slash - users_file), users_file);
    return true;
}

bool server_accounting_start(const struct server_options *options, const char *users_file,
                             struct proxy_shared *shared)
{
    shared->accounting = NULL;
    sampled.shared = shared;
    sampled.workers_gone = false;
    char *path = sampled.path;
    path[0] = 0;
    if (!choose_path(options, users_file, path, sizeof sampled.path)) {
        path[0] = 0;
        log_message(LOG_INFO, "accounting off: lifetime usage and the connection history "
                    "are kept in memory only");
        return true;
    }
    struct accounting_settings settings;
    accounting_settings_defaults(&settings);
    settings.path = path;
    settings.optional = options->accounting_optional;
    settings.history_days = options->history_days;
    settings.history_max_rows = options->history_max_rows;
    struct accounting_sources sources = {sample_users, sample_global, NULL};
    char error[ACCOUNTING_ERROR_MAX];
    shared->accounting = accounting_start(&settings, &sources, error);
    if (shared->accounting != NULL) {
        log_message(LOG_INFO, "accounting in %s", path);
        return true;
    }
    path[0] = 0;
    if (options->accounting_optional) {
        log_message(LOG_WARN, "accounting off: %s (--accounting-optional)", error);
        return true;
    }
    log_message(LOG_ERROR, "accounting: %s (start with --accounting-optional to run without "
                "it, or --accounting-db off)", error);
    return false;
}

const char *server_accounting_path(void) { return sampled.path; }

void server_accounting_stop(struct proxy_shared *shared)
{
    accounting_stop(shared->accounting);
    shared->accounting = NULL;
}
