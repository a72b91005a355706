/* dashboard_servers: the dashboard's servers seen from the screen's thread — a poller each, their
 * newest snapshots taken and merged into the screen's model, and what the screen asks of them. */
#ifndef DASHBOARD_SERVERS_H
#define DASHBOARD_SERVERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_fetch.h"
#include "dashboard_header.h"
#include "dashboard_message.h"
#include "dashboard_model.h"
#include "dashboard_poller.h"

struct admin_client;
struct fleet;

struct dashboard_servers {
    size_t count;
    const char **names;
    struct dashboard_poller **pollers;
    struct poller_snapshot *snapshots; /* each server's newest, taken */
    struct poller_status *statuses;    /* each server's, as last published */
    bool *heard;                       /* a snapshot came from the server */
    uint64_t *message_serials;
    int notify[2];                     /* the pollers write a byte when they publish */
    struct poller_tree *trees;         /* the trees last asked for */
    size_t tree_count;
    size_t tree_rows;
    bool trees_asked;
    struct header_fleet header;  /* what the fleet's header shows */
    double newest_cycle_start;   /* the start of the newest fetch taken */
};

/* Starts a poller for each server of fleet (NULL: client alone). False after stopping what
 * started when a thread or memory is short. */
bool dashboard_servers_start(struct dashboard_servers *servers, struct fleet *fleet,
                             struct admin_client *client, double interval, bool utf8);
void dashboard_servers_stop(struct dashboard_servers *servers);

/* Becomes readable when a poller published something. */
int dashboard_servers_fd(const struct dashboard_servers *servers);
/* Takes every poller's newest publication; their messages go to message (named by their
 * server in a fleet). True when anything came; *fetched: a server's fetch was answered. */
bool dashboard_servers_take(struct dashboard_servers *servers, struct dashboard_message *message,
                            bool *fetched);
/* The snapshots merged into model. */
bool dashboard_servers_merge(struct dashboard_servers *servers, struct dashboard_model *model,
                             double now);
/* The sessions' state as the screen tells it: one server's, or the fleet's (down when all are). */
void dashboard_servers_view(const struct dashboard_servers *servers,
                            struct dashboard_session *view);

/* The trees the screen shows; asked again only when they changed. */
void dashboard_servers_want_trees(struct dashboard_servers *servers,
                                  const struct poller_tree *trees, size_t count, size_t rows);
void dashboard_servers_refresh_now(struct dashboard_servers *servers, bool retry);
void dashboard_servers_set_interval(struct dashboard_servers *servers, double interval);
void dashboard_servers_close(struct dashboard_servers *servers, size_t server, uint64_t id);
void dashboard_servers_history(struct dashboard_servers *servers, const char *user, size_t rows);
/* A server's name in a fleet; NULL with one server (nothing is named then). */
const char *dashboard_servers_name(const struct dashboard_servers *servers, size_t server);

#endif
