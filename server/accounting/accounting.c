/* accounting: what survives a restart — finished connections and lifetime usage handed by the
 * workers to one writer thread that commits them to the accounting store in batches. */
/* PLACEHOLDER: the implementation is being written. */
#include "accounting.h"

#include <string.h>

void accounting_settings_defaults(struct accounting_settings *settings)
{
    memset(settings, 0, sizeof *settings);
    settings->history_days = 90;
    settings->history_max_rows = 1000000;
    settings->batch_interval_ms = 1000;
    settings->batch_records = 512;
    settings->queue_capacity = 8192;
}

struct accounting *accounting_start(const struct accounting_settings *settings,
                                    const struct accounting_sources *sources,
                                    char error[ACCOUNTING_ERROR_MAX])
{
    (void)settings;
    (void)sources;
    strcpy(error, "accounting is not built yet");
    return NULL;
}

void accounting_stop(struct accounting *accounting) { (void)accounting; }
bool accounting_enabled(const struct accounting *accounting) { return accounting != NULL; }
void accounting_connection_finished(struct accounting *accounting,
                                    const struct connection_record *record)
{
    (void)accounting;
    (void)record;
}
uint64_t accounting_dropped(const struct accounting *accounting)
{
    (void)accounting;
    return 0;
}
void accounting_get_status(struct accounting *accounting, struct accounting_status *status)
{
    (void)accounting;
    memset(status, 0, sizeof *status);
}
bool accounting_user_lifetime(struct accounting *accounting, const char *user,
                              const void *identity, const struct accounting_sample *since_start,
                              struct accounting_usage *lifetime)
{
    (void)accounting, (void)user, (void)identity, (void)since_start, (void)lifetime;
    return false;
}
bool accounting_global_lifetime(struct accounting *accounting,
                                const uint64_t since_start[ADMIN_METRIC_COUNT],
                                uint64_t lifetime[ADMIN_METRIC_COUNT])
{
    (void)accounting, (void)since_start, (void)lifetime;
    return false;
}
void accounting_last_reset(struct accounting *accounting, const char *user,
                           struct accounting_reset *reset)
{
    (void)accounting, (void)user;
    memset(reset, 0, sizeof *reset);
}
bool accounting_reset_usage(struct accounting *accounting, const char *user, const char *admin)
{
    (void)accounting, (void)user, (void)admin;
    return false;
}
bool accounting_search(struct accounting *accounting, const struct accounting_filter *filter,
                       accounting_connection_visit visit, void *context, bool *more,
                       char error[ACCOUNTING_ERROR_MAX])
{
    (void)accounting, (void)filter, (void)visit, (void)context, (void)more;
    strcpy(error, "accounting is off");
    return false;
}
