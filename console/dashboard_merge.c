/* dashboard_merge: the fleet's view made of every server's model — records and rates summed, users
 * merged by name with each server's share, trees joined with each row's server. No I/O. */
#include "dashboard_merge.h"

#include <stdlib.h>
#include <string.h>

/* One server's record of a user. */
struct merge_entry {
    const struct dashboard_user *user;
    size_t server;
};

static int compare_entries(const void *left, const void *right)
{
    const struct merge_entry *a = left, *b = right;
    int names = strcmp(a->user->usage.name, b->user->usage.name);
    if (names != 0)
        return names;
    return a->server < b->server ? -1 : a->server > b->server;
}

/* A limit over the fleet: each server enforces its own, so they add up; none anywhere is none. */
static uint64_t limit_sum(uint64_t sum, uint64_t limit)
{
    return sum == 0 || limit == 0 ? 0 : sum + limit;
}

static void usage_add(struct dashboard_usage *sum, const struct dashboard_usage *usage)
{
    sum->connections_live += usage->connections_live;
    sum->connections_total += usage->connections_total;
    sum->bytes_up += usage->bytes_up;
    sum->bytes_down += usage->bytes_down;
    sum->max_connections = limit_sum(sum->max_connections, usage->max_connections);
    sum->upload_limit = limit_sum(sum->upload_limit, usage->upload_limit);
    sum->download_limit = limit_sum(sum->download_limit, usage->download_limit);
    sum->limit_refusals += usage->limit_refusals;
    sum->lifetime_known = sum->lifetime_known && usage->lifetime_known;
    sum->lifetime_connections_total += usage->lifetime_connections_total;
    sum->lifetime_bytes_up += usage->lifetime_bytes_up;
    sum->lifetime_bytes_down += usage->lifetime_bytes_down;
}

static void metrics_add(struct dashboard_metrics *sum, const struct dashboard_metrics *metrics)
{
    if (!metrics->valid)
        return;
    sum->valid = true;
    if (metrics->uptime_seconds > sum->uptime_seconds)
        sum->uptime_seconds = metrics->uptime_seconds; /* the oldest server's */
    sum->connections_total += metrics->connections_total;
    sum->connections_current += metrics->connections_current;
    sum->bytes_up += metrics->bytes_up;
    sum->bytes_down += metrics->bytes_down;
    sum->send_errors += metrics->send_errors;
    sum->receive_errors += metrics->receive_errors;
    sum->dns_errors += metrics->dns_errors;
    sum->server_errors += metrics->server_errors;
    sum->unsupported_input += metrics->unsupported_input;
    sum->dns_connections += metrics->dns_connections;
    sum->ipv4_connections += metrics->ipv4_connections;
    sum->ipv6_connections += metrics->ipv6_connections;
    sum->auth_errors += metrics->auth_errors;
    sum->host_unreachable += metrics->host_unreachable;
    sum->connection_refused += metrics->connection_refused;
    sum->accept_paused += metrics->accept_paused;
    sum->rule_denials += metrics->rule_denials;
}

static void merge_records(struct dashboard_model *merged, const struct merge_source *sources,
                          size_t count, const bool *used)
{
    merged->info = (struct dashboard_server_info){ 0 };
    merged->metrics = (struct dashboard_metrics){ 0 };
    rate_reset(&merged->rate_connections);
    rate_reset(&merged->rate_up);
    rate_reset(&merged->rate_down);
    rate_reset(&merged->rate_errors);
    merged->errors_known = false;
    for (size_t i = 0; i < count; i++) {
        const struct dashboard_model *model = sources[i].model;
        if (!used[i])
            continue;
        if (!merged->info.valid && model->info.valid) {
            merged->info = model->info;
            merged->info.admin_sessions = merged->info.admin_max_sessions = 0;
        }
        if (model->info.valid) {
            merged->info.admin_sessions += model->info.admin_sessions;
            merged->info.admin_max_sessions += model->info.admin_max_sessions;
            merged->info.accounting_failing |= model->info.accounting_failing;
        }
        metrics_add(&merged->metrics, &model->metrics);
        rate_add(&merged->rate_connections, &model->rate_connections);
        rate_add(&merged->rate_up, &model->rate_up);
        rate_add(&merged->rate_down, &model->rate_down);
        rate_add(&merged->rate_errors, &model->rate_errors);
        merged->errors_known |= model->errors_known;
    }
}

/* Copies rows [from, from + count) of a server's tree into out, marked with the server. */
static size_t put_rows(struct dashboard_connection *out, const struct dashboard_connection *rows,
                       size_t from, size_t count, size_t server)
{
    for (size_t i = 0; i < count; i++) {
        out[i] = rows[from + i];
        out[i].server = server;
    }
    return count;
}

/* The tree of an expanded user: each part's live rows, then recent, then history. */
static bool merge_tree(struct dashboard_user *user, const struct merge_entry *group, size_t count)
{
    size_t live = 0, recent = 0, history = 0;
    user->live_total = user->recent_total = 0;
    user->connections_fetched = user->history_asked = user->history_more = false;
    for (size_t i = 0; i < count; i++) {
        const struct dashboard_user *part = group[i].user;
        if (!part->connections_fetched)
            continue;
        live += part->live_shown;
        recent += part->recent_shown;
        history += part->history_count;
        user->live_total += part->live_total;
        user->recent_total += part->recent_total;
        user->connections_fetched = true;
        user->history_asked |= part->history_asked;
        user->history_more |= part->history_more;
    }
    size_t rows = live + recent + history;
    if (rows == 0)
        return true;
    user->connections = malloc(rows * sizeof(*user->connections));
    user->history = history > 0 ? malloc(history * sizeof(*user->history)) : NULL;
    if (user->connections == NULL || (history > 0 && user->history == NULL))
        return false;
    size_t at = 0, at_history = 0;
    for (int kind = 0; kind < 3; kind++) {
        for (size_t i = 0; i < count; i++) {
            const struct dashboard_user *part = group[i].user;
            if (!part->connections_fetched || part->connections == NULL)
                continue;
            size_t from = kind == 0 ? 0 : kind == 1 ? part->live_shown
                                                    : part->live_shown + part->recent_shown;
            size_t n = kind == 0 ? part->live_shown : kind == 1 ? part->recent_shown
                                                                : part->history_count;
            at += put_rows(user->connections + at, part->connections, from, n, group[i].server);
            if (kind == 2)
                at_history += put_rows(user->history + at_history, part->connections, from, n,
                                       group[i].server);
        }
    }
    user->live_shown = live;
    user->recent_shown = recent;
    user->history_count = history;
    return true;
}

static bool merge_user(struct dashboard_model *merged, const struct merge_entry *group,
                       size_t count, double now)
{
    struct dashboard_usage usage = group[0].user->usage;
    for (size_t i = 1; i < count; i++)
        usage_add(&usage, &group[i].user->usage);
    bool known = dashboard_model_find(merged, usage.name) != NULL;
    if (!dashboard_model_put_user(merged, &usage, now))
        return false;
    struct dashboard_user *user = &merged->pending[merged->pending_count - 1];
    dashboard_user_free_contents(user);
    user->live_shown = user->recent_shown = user->history_count = 0;
    rate_reset(&user->rate_up);
    rate_reset(&user->rate_down);
    for (size_t i = 0; i < count; i++) {
        rate_add(&user->rate_up, &group[i].user->rate_up);
        rate_add(&user->rate_down, &group[i].user->rate_down);
        if (!known)
            user->expanded |= group[i].user->expanded;
    }
    if (merged->server_count > 1) {
        user->parts = calloc(count, sizeof(*user->parts));
        if (user->parts == NULL)
            return false;
        for (size_t i = 0; i < count; i++)
            user->parts[i] = (struct dashboard_user_part){
                .server = group[i].server, .usage = group[i].user->usage,
                .rate_up = group[i].user->rate_up, .rate_down = group[i].user->rate_down };
        user->part_count = count;
    }
    if (!user->expanded) {
        dashboard_user_clear_connections(user);
        return true;
    }
    return merge_tree(user, group, count);
}

bool dashboard_merge(struct dashboard_model *merged, const struct merge_source *sources,
                     size_t count, const char *const *names, double now)
{
    bool *used = calloc(count > 0 ? count : 1, sizeof(*used));
    if (used == NULL)
        return false;
    bool any_counted = false;
    for (size_t i = 0; i < count; i++)
        any_counted |= sources[i].counted;
    size_t entries_count = 0;
    for (size_t i = 0; i < count; i++) {
        used[i] = sources[i].counted || !any_counted;
        if (used[i])
            entries_count += sources[i].model->user_count;
    }
    struct merge_entry *entries = calloc(entries_count > 0 ? entries_count : 1, sizeof(*entries));
    if (entries == NULL) {
        free(used);
        return false;
    }
    size_t at = 0;
    for (size_t i = 0; i < count; i++)
        for (size_t u = 0; used[i] && u < sources[i].model->user_count; u++)
            entries[at++] = (struct merge_entry){ &sources[i].model->users[u], i };
    qsort(entries, entries_count, sizeof(*entries), compare_entries);

    merged->server_count = count;
    merged->server_names = names;
    merge_records(merged, sources, count, used);
    bool ok = true;
    dashboard_model_begin_users(merged);
    for (size_t first = 0; first < entries_count;) {
        size_t end = first + 1;
        while (end < entries_count &&
               strcmp(entries[end].user->usage.name, entries[first].user->usage.name) == 0)
            end++;
        ok &= merge_user(merged, entries + first, end - first, now);
        first = end;
    }
    dashboard_model_end_users(merged);
    free(entries);
    free(used);
    return ok;
}
