/* dashboard_fetch: the dashboard's side of its admin session — each call, a session lost and
 * found again, the admin's or a regular user's view — filling the model from the replies. */
#include "dashboard_fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_client.h"
#include "admin_commands.h"
#include "screen_text.h"

/* Recent connections asked however many live ones fill the tree. */
#define MIN_RECENT_ROWS 3

void session_init(struct dashboard_session *session, struct admin_client *client,
                  struct dashboard_model *model, struct dashboard_message *message, bool utf8)
{
    *session = (struct dashboard_session){ 0 };
    session->client = client;
    session->model = model;
    session->message = message;
    session->utf8 = utf8;
    session->connected = admin_client_connected(client);
    session->admin_view = !session->connected || admin_client_role(client) == ADMIN_ROLE_ADMIN;
    session->need_server_info = true;
}

const char *session_user(const struct dashboard_session *session)
{
    const char *user = admin_client_user(session->client);
    return user != NULL ? user : "?";
}

const char *session_endpoint(const struct dashboard_session *session)
{
    return admin_client_address(session->client);
}

static void strip_newline(char *text)
{
    size_t length = strlen(text);
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        text[--length] = '\0';
}

static enum call_result call(struct dashboard_session *session,
                             const struct admin_request *request, struct admin_reply *reply)
{
    char error[256] = "";
    *reply = (struct admin_reply){ 0 };
    enum admin_client_result result =
        admin_client_call(session->client, request, reply, error, sizeof(error));
    if (result != ADMIN_CLIENT_OK) {
        admin_reply_free(reply);
        strip_newline(error);
        session->connected = false;
        session->login_refused = result == ADMIN_CLIENT_LOGIN_REFUSED;
        snprintf(session->error, sizeof(session->error), "%s",
                 error[0] ? error : "the session broke");
        return CALL_LOST;
    }
    if (!session->connected) {
        /* Back after a break: maybe another server process, with other counters. */
        session->connected = true;
        session->need_server_info = true;
        session->error[0] = '\0';
        dashboard_model_reset_rates(session->model);
        /* The role may have changed while away; the next refresh shows the matching view. */
        session->admin_view = admin_client_role(session->client) == ADMIN_ROLE_ADMIN;
    }
    session->refused_status = reply->status;
    return reply->status == ADMIN_STATUS_OK ? CALL_OK : CALL_REFUSED;
}

/* The one-line message of a refused reply, printable. */
static void refused_message(struct dashboard_session *session, const char *what,
                            const struct admin_reply *reply)
{
    char text[256] = "";
    if (reply->body != NULL)
        text_fit(reply->body, (int)strcspn(reply->body, "\n"), false, session->utf8, text,
                 sizeof(text));
    message_set(session->message, true, "%s: %s", what,
                text[0] ? text : admin_status_name(reply->status));
}

static enum call_result call_plain(struct dashboard_session *session, uint8_t command,
                                   struct admin_reply *reply)
{
    struct admin_request request;
    admin_request_init(&request, command);
    return call(session, &request, reply);
}

static enum call_result call_user_metrics(struct dashboard_session *session, const char *user,
                                          struct admin_reply *reply)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_USER_METRICS);
    admin_str8_set(&request.args.user_metrics.user, user);
    return call(session, &request, reply);
}

/* The newest `limit` connections of one kind. offset_guess comes from the last total; when
 * more arrived since, asks once more for the end of the list. */
static enum call_result fetch_newest(struct dashboard_session *session, const char *user,
                                     uint8_t which, uint64_t total_guess, size_t limit,
                                     struct dashboard_connection *rows, size_t *count,
                                     uint64_t *total)
{
    uint64_t offset = total_guess > limit ? total_guess - limit : 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct admin_request request;
        admin_request_init(&request, ADMIN_CMD_CONNECTIONS);
        admin_str8_set(&request.args.connections.user, user);
        request.args.connections.which = which;
        request.args.connections.offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        request.args.connections.limit = (uint32_t)limit;
        struct admin_reply reply;
        enum call_result result = call(session, &request, &reply);
        if (result != CALL_OK) {
            if (result == CALL_REFUSED)
                refused_message(session, "connections", &reply);
            admin_reply_free(&reply);
            return result;
        }
        bool parsed = connections_parse(reply.body, reply.body_length, rows, limit,
                                                  count, total);
        admin_reply_free(&reply);
        if (!parsed) {
            *count = 0;
            *total = 0;
            return CALL_REFUSED;
        }
        uint64_t newest = *total > limit ? *total - limit : 0;
        if (newest == offset || (offset + *count >= *total && *count == limit))
            return CALL_OK;
        offset = newest;
    }
    return CALL_OK;
}

enum call_result session_fetch_tree(struct dashboard_session *session,
                                    struct dashboard_user *user, size_t limit)
{
    struct dashboard_connection *live = calloc(limit, sizeof(*live));
    struct dashboard_connection *recent = calloc(limit, sizeof(*recent));
    if (live == NULL || recent == NULL) {
        free(live);
        free(recent);
        return CALL_REFUSED;
    }
    /* A regular user asks for their own with an empty name (PROTOCOL.md 7.1). */
    const char *name = session->admin_view ? user->usage.name : "";
    size_t live_count = 0, recent_count = 0;
    uint64_t live_total = 0, recent_total = 0;
    enum call_result result = fetch_newest(session, name, ADMIN_CONNECTIONS_LIVE,
                                           user->usage.connections_live, limit, live, &live_count,
                                           &live_total);
    if (result == CALL_OK) {
        size_t room = limit > live_count ? limit - live_count : 0;
        if (room < MIN_RECENT_ROWS)
            room = MIN_RECENT_ROWS;
        result = fetch_newest(session, name, ADMIN_CONNECTIONS_RECENT, user->recent_total, room,
                              recent, &recent_count, &recent_total);
    }
    if (result == CALL_OK)
        dashboard_user_set_connections(user, live, live_count, live_total, recent, recent_count,
                                       recent_total);
    free(live);
    free(recent);
    return result;
}

enum call_result session_fetch_history(struct dashboard_session *session,
                                       struct dashboard_user *user, size_t limit)
{
    if (user->history_asked && !user->history_more) {
        message_set(session->message, false, "no older connections in the history");
        return CALL_OK;
    }
    struct dashboard_connection *rows = calloc(limit, sizeof(*rows));
    if (rows == NULL)
        return CALL_REFUSED;
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_HISTORY);
    admin_str8_set(&request.args.history.user, session->admin_view ? user->usage.name : "");
    request.args.history.before = user->history_before;
    request.args.history.limit = (uint32_t)limit;
    struct admin_reply reply;
    enum call_result result = call(session, &request, &reply);
    size_t count = 0;
    bool more = false;
    if (result == CALL_REFUSED)
        refused_message(session, "history", &reply);
    else if (result == CALL_OK &&
             !history_rows_parse(reply.body, reply.body_length, rows, limit, &count, &more))
        result = CALL_REFUSED;
    admin_reply_free(&reply);
    if (result == CALL_OK) {
        size_t before = user->history_count;
        if (!dashboard_user_add_history(user, rows, count, more))
            result = CALL_REFUSED;
        else
            message_set(session->message, false, "%zu older connections from the history%s",
                        user->history_count - before, more ? "" : " (no older ones)");
    }
    free(rows);
    return result;
}

static enum call_result fetch_server_wide(struct dashboard_session *session, double now)
{
    struct admin_reply reply;
    enum call_result result;
    if (session->need_server_info) {
        result = call_plain(session, ADMIN_CMD_SERVER_INFO, &reply);
        if (result == CALL_OK) {
            dashboard_parse_server_info(reply.body, reply.body_length, &session->model->info);
            session->need_server_info = false;
        } else if (result == CALL_REFUSED) {
            refused_message(session, "server-info", &reply);
        }
        admin_reply_free(&reply);
        if (result != CALL_OK)
            return result;
    }
    result = call_plain(session, ADMIN_CMD_METRICS, &reply);
    if (result == CALL_OK) {
        struct dashboard_metrics metrics;
        if (dashboard_parse_metrics(reply.body, reply.body_length, &metrics))
            dashboard_model_set_metrics(session->model, &metrics, now);
    } else if (result == CALL_REFUSED) {
        refused_message(session, "metrics", &reply);
    }
    admin_reply_free(&reply);
    if (result != CALL_OK)
        return result;

    result = call_plain(session, ADMIN_CMD_USERS, &reply);
    if (result != CALL_OK) {
        if (result == CALL_REFUSED)
            refused_message(session, "users", &reply);
        admin_reply_free(&reply);
        return result;
    }
    dashboard_model_begin_users(session->model);
    dashboard_model_put_users_table(session->model, reply.body, reply.body_length, now);
    admin_reply_free(&reply);
    /* users leaves out the reserved anonymous user; show it once it has been used. */
    if (call_user_metrics(session, ADMIN_ANONYMOUS_USER, &reply) == CALL_OK) {
        struct dashboard_usage usage;
        if (dashboard_parse_usage(reply.body, reply.body_length, &usage) &&
            (usage.connections_total > 0 || usage.connections_live > 0))
            dashboard_model_put_user(session->model, &usage, now);
    }
    admin_reply_free(&reply);
    dashboard_model_end_users(session->model);
    return session->connected ? CALL_OK : CALL_LOST;
}

static enum call_result fetch_own(struct dashboard_session *session, double now)
{
    struct admin_reply reply;
    enum call_result result = call_user_metrics(session, "", &reply);
    struct dashboard_usage usage;
    if (result == CALL_OK && dashboard_parse_usage(reply.body, reply.body_length, &usage)) {
        bool first = session->model->user_count == 0;
        dashboard_model_begin_users(session->model);
        dashboard_model_put_user(session->model, &usage, now);
        dashboard_model_end_users(session->model);
        dashboard_model_set_own_totals(session->model, &usage, now);
        if (first)
            session->model->users[0].expanded = true; /* the only user: show the tree at once */
    } else if (result == CALL_REFUSED) {
        refused_message(session, "user-metrics", &reply);
    }
    admin_reply_free(&reply);
    return result;
}

void session_close_connection(struct dashboard_session *session, uint64_t id)
{
    struct admin_request request;
    admin_request_init(&request, ADMIN_CMD_CLOSE_CONNECTION);
    request.args.close_connection.id = id;
    struct admin_reply reply;
    enum call_result result = call(session, &request, &reply);
    if (result == CALL_OK) {
        message_set(session->message, false, "connection %llu closed", (unsigned long long)id);
    } else if (result == CALL_REFUSED) {
        char what[48];
        snprintf(what, sizeof(what), "close connection %llu", (unsigned long long)id);
        refused_message(session, what, &reply);
    }
    admin_reply_free(&reply);
}

enum call_result session_fetch_users(struct dashboard_session *session, double now)
{
    if (!admin_client_connected(session->client))
        session->need_server_info = true;
    if (!session->admin_view)
        return fetch_own(session, now);
    enum call_result result = fetch_server_wide(session, now);
    if (result == CALL_REFUSED && session->refused_status == ADMIN_STATUS_FORBIDDEN) {
        /* Not (or no longer) an admin: show what a user may see. */
        session->admin_view = false;
        dashboard_model_free(session->model);
        dashboard_model_init(session->model);
        message_clear(session->message);
        result = fetch_own(session, now);
    }
    return result;
}
