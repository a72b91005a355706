/* dashboard_fetch: the dashboard's side of its admin session — each call, a session lost and
 * found again, the admin's or a regular user's view — filling the model from the replies. */
#ifndef DASHBOARD_FETCH_H
#define DASHBOARD_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dashboard_message.h"
#include "dashboard_model.h"

struct admin_client;

enum call_result {
    CALL_OK,      /* status 0x00 */
    CALL_REFUSED, /* another status; the reply's body says why */
    CALL_LOST,    /* no answer: the session is down (it reconnects on the next call) */
};

struct dashboard_session {
    struct admin_client *client;
    struct dashboard_model *model;
    struct dashboard_message *message; /* where refusals are told */
    bool utf8;                          /* how refusals may be shown */
    bool admin_view;       /* metrics answered: the whole server; else the user's own part */
    bool need_server_info; /* at start and after every reconnect */
    bool connected;
    bool login_refused;    /* stop retrying by ourselves: a wrong password stays wrong */
    uint8_t refused_status; /* the status of the last CALL_REFUSED */
    char error[256];        /* why the session is down */
};

void session_init(struct dashboard_session *session, struct admin_client *client,
                  struct dashboard_model *model, struct dashboard_message *message, bool utf8);

/* The header's records and the users (all of them for an admin, else the user's own); an
 * admin view the server refuses turns into the user's own. */
enum call_result session_fetch_users(struct dashboard_session *session, double now);
/* The newest connections of an expanded user, at most limit live and limit recent. */
enum call_result session_fetch_tree(struct dashboard_session *session,
                                    struct dashboard_user *user, size_t limit);
/* The next page (at most limit rows) of the user's older connections from the accounting
 * history, appended to its tree; the message says what came, or why nothing did. */
enum call_result session_fetch_history(struct dashboard_session *session,
                                       struct dashboard_user *user, size_t limit);
/* Closes a connection and says how it went. */
void session_close_connection(struct dashboard_session *session, uint64_t id);

/* The login user and the admin endpoint, for the header. */
const char *session_user(const struct dashboard_session *session);
const char *session_endpoint(const struct dashboard_session *session);

#endif
