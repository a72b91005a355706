/* dashboard_model: what the dashboard knows of a server (or of the fleet) — info, metrics, users
 * with their usage, expanded users' trees — parsed from admin bodies, kept across refreshes. */
#ifndef DASHBOARD_MODEL_H
#define DASHBOARD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "connection_columns.h"
#include "rates.h"

#define DASHBOARD_USER_NAME_SIZE 256   /* 255 bytes and a NUL, unescaped */

/* server-info (admin only): what the header needs of it. */
struct dashboard_server_info {
    bool valid;
    char server[64];
    char socks_listeners[128];
    char admin_listeners[128];
    char auth_mode[24];
    uint64_t buffer_size;
    uint64_t max_connections;
    uint64_t admin_sessions;
    uint64_t admin_max_sessions;
    uint64_t connection_history;
    bool accounting_failing;    /* the accounting database's last batch failed */
    char accounting_error[96];  /* why, escaped; "" when not failing */
};

/* metrics (admin only). */
struct dashboard_metrics {
    bool valid;
    uint64_t uptime_seconds;
    uint64_t connections_total;
    uint64_t connections_current;
    uint64_t bytes_up;
    uint64_t bytes_down;
    uint64_t send_errors;
    uint64_t receive_errors;
    uint64_t dns_errors;
    uint64_t server_errors;
    uint64_t unsupported_input;
    uint64_t dns_connections;
    uint64_t ipv4_connections;
    uint64_t ipv6_connections;
    uint64_t auth_errors;
    uint64_t host_unreachable;
    uint64_t connection_refused;
    uint64_t accept_paused;
    uint64_t rule_denials;
};

/* One row of users, or a user-metrics record. */
struct dashboard_usage {
    char name[DASHBOARD_USER_NAME_SIZE];
    char role[8]; /* "user", "admin", "none" (anonymous) */
    uint64_t connections_live;
    uint64_t connections_total;
    uint64_t bytes_up;
    uint64_t bytes_down;
    /* The limits in effect (0 = none) and the requests they refused; 0 from a server that
     * does not send them. */
    uint64_t max_connections;
    uint64_t upload_limit;   /* bytes per second */
    uint64_t download_limit; /* bytes per second */
    uint64_t limit_refusals;
    /* Over every run of the server (the accounting database); known only when it sent them. */
    bool lifetime_known;
    uint64_t lifetime_connections_total;
    uint64_t lifetime_bytes_up;
    uint64_t lifetime_bytes_down;
};

/* One server's share of a user merged across a fleet. */
struct dashboard_user_part {
    size_t server; /* index in the fleet */
    struct dashboard_usage usage;
    struct rate rate_up;
    struct rate rate_down;
};

struct dashboard_user {
    struct dashboard_usage usage;
    struct rate rate_up;
    struct rate rate_down;
    bool expanded;
    /* The tree under an expanded user: live connections first, then recent ones, each part
     * newest first; only as many as were asked for (the server holds live_total + recent_total). */
    struct dashboard_connection *connections;
    size_t live_shown;
    size_t recent_shown;
    uint64_t live_total;
    uint64_t recent_total;
    bool connections_fetched;
    /* Older connections the accounting history gave on demand (o), newest first; shown after
     * the recent ones and kept across refreshes of the tree until it is collapsed. */
    struct dashboard_connection *history;
    size_t history_count;
    uint64_t history_before; /* the oldest one's history_id: where the next page starts */
    bool history_asked;
    bool history_more;       /* the history holds older ones still */
    /* In a fleet: the servers that know the user, each with its figures (usage is their sum). */
    struct dashboard_user_part *parts;
    size_t part_count;
};

/* errors/s counts these metrics: failed I/O, failed lookups, internal failures, refused input
 * and failed SOCKS logins (replies such as "refused" are the remote's doing, shown apart). */
uint64_t dashboard_metrics_errors(const struct dashboard_metrics *metrics);

struct dashboard_model {
    struct dashboard_server_info info;
    struct dashboard_metrics metrics;
    /* Totals the header rates are taken from: the server's (admin) or the user's own. */
    struct rate rate_connections;
    struct rate rate_up;
    struct rate rate_down;
    struct rate rate_errors;
    bool errors_known;
    /* Sorted by name (bytewise), so a refresh finds each user's state again. */
    struct dashboard_user *users;
    size_t user_count;
    /* Being built by begin_users .. end_users. */
    struct dashboard_user *pending;
    size_t pending_count;
    size_t pending_capacity;
    /* The servers the figures come from: above 1, the lists say which server each row is on. */
    size_t server_count;
    const char *const *server_names;
};

void dashboard_model_init(struct dashboard_model *model);
void dashboard_model_free(struct dashboard_model *model);
/* A deep copy of model's users (with their trees) and records into out (initialised here);
 * false when out of memory (out is then empty). */
bool dashboard_model_copy(struct dashboard_model *out, const struct dashboard_model *model);
/* Forgets rates (after a reconnect the counters may belong to a new server process). */
void dashboard_model_reset_rates(struct dashboard_model *model);

/* ---- Parsing bodies (false when a required key or column is missing or malformed) ---- */

bool dashboard_parse_server_info(const char *body, size_t length, struct dashboard_server_info *info);
bool dashboard_parse_metrics(const char *body, size_t length, struct dashboard_metrics *metrics);
bool dashboard_parse_usage(const char *body, size_t length, struct dashboard_usage *usage);

/* ---- Updating ---- */

/* Samples the header's rates from the server's metrics. now: monotonic seconds. */
void dashboard_model_set_metrics(struct dashboard_model *model,
                                 const struct dashboard_metrics *metrics, double now);
/* Samples the header's rates from one user's own totals (a regular user sees no metrics). */
void dashboard_model_set_own_totals(struct dashboard_model *model,
                                    const struct dashboard_usage *usage, double now);

/* A new list of users: begin, put each (any order), end. Users keep their expansion,
 * connections and rates across lists by name; users not put again are dropped. */
void dashboard_model_begin_users(struct dashboard_model *model);
bool dashboard_model_put_user(struct dashboard_model *model, const struct dashboard_usage *usage,
                              double now);
/* Puts every row of a users table body. */
bool dashboard_model_put_users_table(struct dashboard_model *model, const char *body,
                                     size_t length, double now);
void dashboard_model_end_users(struct dashboard_model *model);

struct dashboard_user *dashboard_model_find(struct dashboard_model *model, const char *name);

/* Appends a page of the history (newest first) below the user's tree, leaving out the
 * connections the tree shows already (the same id and start); more: older ones remain. */
bool dashboard_user_add_history(struct dashboard_user *user,
                                const struct dashboard_connection *rows, size_t count,
                                bool more);
/* Rows of the tree: live, recent, then the history's. */
size_t dashboard_user_tree_rows(const struct dashboard_user *user);

/* Replaces a user's tree. live and recent come in the table's (ascending id) order; they are
 * kept newest first. */
bool dashboard_user_set_connections(struct dashboard_user *user,
                                    const struct dashboard_connection *live, size_t live_count,
                                    uint64_t live_total, const struct dashboard_connection *recent,
                                    size_t recent_count, uint64_t recent_total);
void dashboard_user_clear_connections(struct dashboard_user *user);
/* Frees what a user owns (trees, parts). */
void dashboard_user_free_contents(struct dashboard_user *user);

/* ---- Ordering ---- */

enum dashboard_sort {
    DASHBOARD_SORT_NAME,
    DASHBOARD_SORT_LIVE,  /* most live connections first */
    DASHBOARD_SORT_TOTAL, /* most connections since start first */
    DASHBOARD_SORT_BYTES, /* most bytes (both ways) first */
    DASHBOARD_SORT_RATE,  /* highest bytes/s (both ways) first */
    DASHBOARD_SORT_COUNT
};

const char *dashboard_sort_name(enum dashboard_sort sort);

/* Indexes into model->users of the users whose name contains filter (case-insensitive;
 * NULL or "" keeps all), in the sort's order, ties by name. order needs user_count slots.
 * Returns how many were written. */
size_t dashboard_model_order(const struct dashboard_model *model, enum dashboard_sort sort,
                             const char *filter, size_t *order);

#endif
