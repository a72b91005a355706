/* dashboard_servers: the dashboard's servers seen from the screen's thread — a poller each, their
 * newest snapshots taken and merged into the screen's model, and what the screen asks of them. */
#include "dashboard_servers.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin_client.h"
#include "dashboard_merge.h"
#include "fleet.h"

static void free_arrays(struct dashboard_servers *servers)
{
    for (size_t i = 0; servers->snapshots != NULL && i < servers->count; i++)
        dashboard_model_free(&servers->snapshots[i].model);
    free(servers->names);
    free(servers->pollers);
    free(servers->snapshots);
    free(servers->statuses);
    free(servers->heard);
    free(servers->message_serials);
    free(servers->trees);
}

bool dashboard_servers_start(struct dashboard_servers *servers, struct fleet *fleet,
                             struct admin_client *client, double interval, bool utf8)
{
    size_t count = fleet != NULL ? fleet_count(fleet) : 1;
    *servers = (struct dashboard_servers){ .count = count, .notify = { -1, -1 } };
    servers->names = calloc(count, sizeof(*servers->names));
    servers->pollers = calloc(count, sizeof(*servers->pollers));
    servers->snapshots = calloc(count, sizeof(*servers->snapshots));
    servers->statuses = calloc(count, sizeof(*servers->statuses));
    servers->heard = calloc(count, sizeof(*servers->heard));
    servers->message_serials = calloc(count, sizeof(*servers->message_serials));
    if (count == 0 || servers->names == NULL || servers->pollers == NULL ||
        servers->snapshots == NULL || servers->statuses == NULL || servers->heard == NULL ||
        servers->message_serials == NULL || pipe2(servers->notify, O_NONBLOCK | O_CLOEXEC) != 0) {
        free_arrays(servers);
        *servers = (struct dashboard_servers){ .notify = { -1, -1 } };
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        struct admin_client *one = fleet != NULL ? fleet_client(fleet, i) : client;
        servers->names[i] = fleet != NULL ? fleet_name(fleet, i) : admin_client_address(client);
        dashboard_model_init(&servers->snapshots[i].model);
        servers->pollers[i] = poller_start(fleet, i, one, interval, servers->notify[1], utf8);
        if (servers->pollers[i] == NULL) {
            dashboard_servers_stop(servers);
            return false;
        }
    }
    servers->header = (struct header_fleet){ .count = count, .names = servers->names,
                                             .statuses = servers->statuses };
    return true;
}

void dashboard_servers_stop(struct dashboard_servers *servers)
{
    for (size_t i = 0; servers->pollers != NULL && i < servers->count; i++)
        poller_stop(servers->pollers[i]);
    if (servers->notify[0] >= 0)
        close(servers->notify[0]);
    if (servers->notify[1] >= 0)
        close(servers->notify[1]);
    free_arrays(servers);
    *servers = (struct dashboard_servers){ .notify = { -1, -1 } };
}

int dashboard_servers_fd(const struct dashboard_servers *servers)
{
    return servers->notify[0];
}

const char *dashboard_servers_name(const struct dashboard_servers *servers, size_t server)
{
    return servers->count > 1 && server < servers->count ? servers->names[server] : NULL;
}

bool dashboard_servers_take(struct dashboard_servers *servers, struct dashboard_message *message,
                            bool *fetched)
{
    char drain[64];
    while (read(servers->notify[0], drain, sizeof(drain)) > 0)
        continue;
    bool any = false;
    *fetched = false;
    double slowest = 0;
    for (size_t i = 0; i < servers->count; i++) {
        struct poller_snapshot *snapshot = &servers->snapshots[i];
        double previous_start = snapshot->status.cycle_start;
        if (!poller_take(servers->pollers[i], snapshot))
            continue;
        any = true;
        servers->heard[i] = true;
        servers->statuses[i] = snapshot->status;
        if (snapshot->status.connected && snapshot->status.cycle_start != previous_start) {
            *fetched = true;
            if (snapshot->status.cycle_start > servers->newest_cycle_start)
                servers->newest_cycle_start = snapshot->status.cycle_start;
        }
        if (snapshot->message_serial != servers->message_serials[i]) {
            servers->message_serials[i] = snapshot->message_serial;
            const char *name = dashboard_servers_name(servers, i);
            message_set(message, snapshot->message.error, "%s%s%s", name ? name : "",
                        name ? ": " : "", snapshot->message.text);
        }
    }
    for (size_t i = 0; i < servers->count; i++)
        if (servers->statuses[i].connected && servers->statuses[i].fetch_seconds > slowest)
            slowest = servers->statuses[i].fetch_seconds;
    servers->header.fetch_seconds = slowest;
    return any;
}

bool dashboard_servers_merge(struct dashboard_servers *servers, struct dashboard_model *model,
                             double now)
{
    struct merge_source *sources = calloc(servers->count, sizeof(*sources));
    if (sources == NULL)
        return false;
    for (size_t i = 0; i < servers->count; i++)
        sources[i] = (struct merge_source){ &servers->snapshots[i].model,
                                            servers->statuses[i].connected };
    bool merged = dashboard_merge(model, sources, servers->count,
                                  (const char *const *)servers->names, now);
    free(sources);
    return merged;
}

void dashboard_servers_view(const struct dashboard_servers *servers,
                            struct dashboard_session *view)
{
    bool connected = false, failed = false, refused = true, heard = false, admin = false;
    const char *error = "";
    for (size_t i = 0; i < servers->count; i++) {
        const struct poller_status *status = &servers->statuses[i];
        if (!servers->heard[i])
            continue;
        heard = true;
        connected |= status->connected;
        refused &= status->login_refused;
        admin |= status->admin_view;
        if (!status->connected && status->error[0] != '\0' && !failed) {
            failed = true;
            error = status->error;
        }
    }
    if (!heard)
        return; /* as the session was when the dashboard started */
    view->connected = connected || !failed;
    view->login_refused = !view->connected && refused;
    view->admin_view = admin;
    if (servers->count > 1 && failed && !connected)
        snprintf(view->error, sizeof(view->error), "every server is down (%.200s)", error);
    else
        snprintf(view->error, sizeof(view->error), "%s", error);
}

static bool same_trees(const struct dashboard_servers *servers, const struct poller_tree *trees,
                       size_t count, size_t rows)
{
    if (!servers->trees_asked || count != servers->tree_count || rows != servers->tree_rows)
        return false;
    for (size_t i = 0; i < count; i++)
        if (trees[i].visible != servers->trees[i].visible ||
            strcmp(trees[i].name, servers->trees[i].name) != 0)
            return false;
    return true;
}

/* A tree that comes into view (or more rows of it) is fetched at once. */
static bool needs_fetch(const struct dashboard_servers *servers, const struct poller_tree *tree,
                        size_t rows)
{
    if (!tree->visible)
        return false;
    if (!servers->trees_asked || rows > servers->tree_rows)
        return true;
    for (size_t i = 0; i < servers->tree_count; i++)
        if (strcmp(servers->trees[i].name, tree->name) == 0)
            return !servers->trees[i].visible;
    return true;
}

void dashboard_servers_want_trees(struct dashboard_servers *servers,
                                  const struct poller_tree *trees, size_t count, size_t rows)
{
    if (same_trees(servers, trees, count, rows))
        return;
    bool fetch = false;
    for (size_t i = 0; i < count && !fetch; i++)
        fetch = needs_fetch(servers, &trees[i], rows);
    struct poller_tree *copy = count > 0 ? malloc(count * sizeof(*copy)) : NULL;
    if (count > 0 && copy == NULL)
        return;
    if (count > 0)
        memcpy(copy, trees, count * sizeof(*copy));
    free(servers->trees);
    servers->trees = copy;
    servers->tree_count = count;
    servers->tree_rows = rows;
    servers->trees_asked = true;
    for (size_t i = 0; i < servers->count; i++) {
        poller_set_trees(servers->pollers[i], trees, count, rows);
        if (fetch)
            poller_refresh_now(servers->pollers[i], false);
    }
}

void dashboard_servers_refresh_now(struct dashboard_servers *servers, bool retry)
{
    for (size_t i = 0; i < servers->count; i++)
        poller_refresh_now(servers->pollers[i], retry);
}

void dashboard_servers_set_interval(struct dashboard_servers *servers, double interval)
{
    for (size_t i = 0; i < servers->count; i++)
        poller_set_interval(servers->pollers[i], interval);
}

void dashboard_servers_close(struct dashboard_servers *servers, size_t server, uint64_t id)
{
    if (server < servers->count)
        poller_close_connection(servers->pollers[server], id);
}

void dashboard_servers_history(struct dashboard_servers *servers, const char *user, size_t rows)
{
    for (size_t i = 0; i < servers->count; i++)
        poller_ask_history(servers->pollers[i], user, rows);
}
