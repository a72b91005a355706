/* admin_handlers: what each admin command does to the running proxy — metrics, connection
 * pages, user changes persisted before they are acknowledged, settings. */
#include "admin_handlers.h"

#include "accounting.h"
#include "admin_accounting.h"
#include "admin_worker_calls.h"
#include "connection_pages.h"
#include "counter.h"
#include "destination_rules.h"
#include "event_loop.h"
#include "log.h"
#include "metrics.h"
#include "policy.h"
#include "relay.h"
#include "proxy.h"
#include "settings_store.h"
#include "socks5_session.h"
#include "users.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct admin_pending {
    struct admin_server *server;
    struct admin_session *session; /* the pending work is cancelled when the session closes */
    struct users_hashing *hashing;
    uint8_t command;
    char user[USERS_NAME_MAX + 1];
    char password[USERS_PASSWORD_MAX + 1]; /* kept to prime the login cache; wiped after */
    enum user_role role;
};

/* One request being answered: what every handler reads and fills. */
struct admin_call {
    struct admin_server *server;
    struct admin_session *session;
    const struct admin_request *request; /* parsed, and permitted to the session's user */
    struct admin_response *response;
    struct admin_pending **pending;      /* set by a handler that answers later */
};

/* Returns true with call->response filled, or false when the answer comes later through
 * admin_session_respond (then *call->pending is set). */
typedef bool admin_handler(const struct admin_call *call);

static bool respond_users_error(struct admin_response *response, enum users_error error,
                                const char *name)
{
    static const uint8_t statuses[] = {
        [USERS_OK] = ADMIN_STATUS_OK,
        [USERS_ERROR_INVALID_NAME] = ADMIN_STATUS_BAD_REQUEST,
        [USERS_ERROR_INVALID_PASSWORD] = ADMIN_STATUS_BAD_REQUEST,
        [USERS_ERROR_EXISTS] = ADMIN_STATUS_ALREADY_EXISTS,
        [USERS_ERROR_NOT_FOUND] = ADMIN_STATUS_NOT_FOUND,
        [USERS_ERROR_LAST_ADMIN] = ADMIN_STATUS_CONFLICT,
        [USERS_ERROR_SYSTEM] = ADMIN_STATUS_SERVER_ERROR,
        [USERS_ERROR_EXTERNAL] = ADMIN_STATUS_MANAGED_BY_PAM,
    };
    admin_response_error(response, statuses[error], "%s: %s", name, users_error_text(error));
    return true;
}

static bool save_users(struct admin_server *server, struct admin_response *response)
{
    const struct admin_server_hooks *hooks = admin_server_hooks(server);
    if (hooks->save_users(hooks->context))
        return true;
    admin_response_error(response, ADMIN_STATUS_SERVER_ERROR,
                         "cannot write the users file; the change was undone (see server log)");
    return false;
}

/* The named user, the caller for an empty name, or the reserved anonymous user. */
static struct user *find_target(struct admin_server *server, struct admin_session *session,
                                const struct admin_str8 *name)
{
    struct users *users = admin_server_proxy(server)->users;
    if (name->length == 0)
        return admin_session_user(session);
    if (strcmp(name->text, USERS_ANONYMOUS_NAME) == 0)
        return users_anonymous(users);
    return users_find(users, name->text, name->length);
}

static const char *role_text(struct admin_server *server, struct user *user)
{
    if (user == users_anonymous(admin_server_proxy(server)->users))
        return ADMIN_TEXT_ROLE_NONE;
    return user_role(user) == USER_ROLE_ADMIN ? ADMIN_TEXT_ROLE_ADMIN : ADMIN_TEXT_ROLE_USER;
}

/* The settings' owner publishes each change to every worker before it returns. */
static struct settings_store *settings_of(struct admin_server *server)
{
    return admin_server_hooks(server)->proxy_settings;
}

/* ---- records ---- */

static bool handle_ping(const struct admin_call *call)
{
    (void)call; /* the empty answer is the point */
    return true;
}

static bool handle_server_info(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    struct proxy_shared *proxy = admin_server_proxy(server);
    struct proxy_settings current;
    settings_store_read(settings_of(server), &current);
    const struct admin_server_hooks *hooks = admin_server_hooks(server);
    const struct admin_server_settings *settings = admin_server_settings(server);
    struct admin_text *body = &call->response->body;
    int64_t now = log_realtime_ms();
    admin_text_put_str(body, ADMIN_KEY_SERVER, "socks5d " SOCKS5D_VERSION);
    admin_text_put_u64(body, ADMIN_KEY_PROTOCOL_VERSION, ADMIN_PROTOCOL_VERSION);
    admin_text_put_time(body, ADMIN_KEY_STARTED, hooks->started_ms);
    admin_text_put_u64(body, ADMIN_KEY_UPTIME_SECONDS, (uint64_t)(now - hooks->started_ms) / 1000);
    admin_text_put_str(body, ADMIN_KEY_SOCKS_LISTENERS, hooks->socks_listeners);
    admin_text_put_str(body, ADMIN_KEY_ADMIN_LISTENERS, hooks->admin_listeners);
    admin_text_put_str(body, ADMIN_KEY_AUTH_MODE, current.no_auth_allowed
                                                      ? ADMIN_TEXT_AUTH_PASSWORD_OR_NONE
                                                      : ADMIN_TEXT_AUTH_PASSWORD);
    admin_text_put_u64(body, ADMIN_KEY_BUFFER_SIZE, current.buffer_size);
    admin_text_put_u64(body, ADMIN_KEY_MAX_CONNECTIONS, current.max_connections);
    admin_text_put_u64(body, ADMIN_KEY_HANDSHAKE_TIMEOUT, current.handshake_timeout_ms / 1000);
    admin_text_put_u64(body, ADMIN_KEY_CONNECT_TIMEOUT, current.connect_timeout_ms / 1000);
    admin_text_put_u64(body, ADMIN_KEY_IDLE_TIMEOUT, current.idle_timeout_ms / 1000);
    admin_text_put_u64(body, ADMIN_KEY_CONNECTION_HISTORY, current.history_per_user);
    admin_text_put_u64(body, ADMIN_KEY_USERS, users_count(proxy->users));
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_SESSIONS, admin_server_session_count(server));
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_MAX_SESSIONS, settings->max_sessions);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_AUTH_TIMEOUT, settings->auth_timeout_ms / 1000);
    admin_text_put_u64(body, ADMIN_KEY_ADMIN_IDLE_TIMEOUT, settings->idle_timeout_ms / 1000);
    admin_text_put_u64(body, ADMIN_KEY_REQUEST_BODY_MAX, ADMIN_REQUEST_BODY_MAX);
    admin_text_put_u64(body, ADMIN_KEY_RESPONSE_BODY_MAX, ADMIN_RESPONSE_BODY_MAX);
    admin_accounting_put_info(body, proxy->accounting, hooks);
    return true;
}

static bool handle_metrics(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    struct metrics sum;
    admin_read_metrics(server, &sum);
    struct admin_text *body = &call->response->body;
    int64_t uptime_ms = log_realtime_ms() - admin_server_hooks(server)->started_ms;
    admin_text_put_u64(body, ADMIN_KEY_UPTIME_SECONDS, (uint64_t)uptime_ms / 1000);
    uint64_t values[ADMIN_METRIC_COUNT];
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        values[i] = metrics_value(&sum, i);
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        admin_text_put_u64(body, admin_metrics[i].name, values[i]);
    admin_accounting_put_metrics(body, admin_server_proxy(server)->accounting, values);
    return true;
}

/* The user's effective limits, its refusals, and what set-limits gave it (user-metrics and
 * set-limits answer the same keys). */
static void put_limits(struct admin_text *body, struct users *users, struct user *user)
{
    struct user_limits effective = user_effective_limits(user);
    struct user_limits runtime = user_runtime_limits(users, user);
    char runtime_text[USER_LIMITS_TEXT_MAX];
    user_limits_format(&runtime, runtime_text, sizeof(runtime_text));
    admin_text_put_u64(body, ADMIN_KEY_USER_MAX_CONNECTIONS,
                       effective.value[USER_LIMIT_MAX_CONNECTIONS]);
    admin_text_put_u64(body, ADMIN_KEY_UPLOAD_LIMIT, effective.value[USER_LIMIT_UPLOAD]);
    admin_text_put_u64(body, ADMIN_KEY_DOWNLOAD_LIMIT, effective.value[USER_LIMIT_DOWNLOAD]);
    admin_text_put_u64(body, ADMIN_KEY_LIMIT_REFUSALS,
                       counter_read(&user_usage(user)->limit_refusals));
    admin_text_put_str(body, ADMIN_KEY_RUNTIME_LIMITS, runtime_text[0] ? runtime_text : "-");
}

static bool handle_user_metrics(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    admin_settle_workers(server);
    struct user *user = find_target(server, call->session, &call->request->args.user_metrics.user);
    if (user == NULL) {
        admin_response_error(call->response, ADMIN_STATUS_NOT_FOUND, "no such user");
        return true;
    }
    const struct user_usage *usage = user_usage(user);
    struct admin_text *body = &call->response->body;
    admin_text_put_str(body, ADMIN_KEY_USER, user_name(user));
    admin_text_put_str(body, ADMIN_KEY_ROLE, role_text(server, user));
    admin_text_put_u64(body, ADMIN_KEY_CONNECTIONS_LIVE, counter_read(&usage->connections_live));
    admin_text_put_u64(body, ADMIN_KEY_CONNECTIONS_TOTAL, counter_read(&usage->connections_total));
    admin_text_put_u64(body, ADMIN_KEY_BYTES_UP, counter_read(&usage->bytes_up));
    admin_text_put_u64(body, ADMIN_KEY_BYTES_DOWN, counter_read(&usage->bytes_down));
    admin_text_put_u64(body, ADMIN_KEY_RULE_DENIALS, counter_read(&usage->rule_denials));
    admin_text_put_u64(body, ADMIN_KEY_DATAGRAMS_UP, counter_read(&usage->datagrams_up));
    admin_text_put_u64(body, ADMIN_KEY_DATAGRAMS_DOWN, counter_read(&usage->datagrams_down));
    put_limits(body, admin_server_proxy(server)->users, user);
    admin_accounting_put_user(body, admin_server_proxy(server)->accounting, user);
    return true;
}

/* ---- tables ---- */

static bool handle_connections(const struct admin_call *call)
{
    admin_settle_workers(call->server);
    const struct admin_args_connections *args = &call->request->args.connections;
    bool admin = user_role(admin_session_user(call->session)) == USER_ROLE_ADMIN;
    struct user *only = NULL; /* everybody's */
    if (args->user.length != 0 || !admin) {
        only = find_target(call->server, call->session, &args->user);
        if (only == NULL) {
            admin_response_error(call->response, ADMIN_STATUS_NOT_FOUND, "no such user");
            return true;
        }
    }
    struct admin_text *body = &call->response->body;
    if (!connection_page_write(admin_server_proxy(call->server), only, args, body))
        admin_response_error(call->response, ADMIN_STATUS_SERVER_ERROR, "out of memory");
    return true;
}

static void put_user_row(struct admin_text *body, struct admin_server *server, struct user *user)
{
    const struct user_usage *usage = user_usage(user);
    admin_text_cell_str(body, user_name(user));
    admin_text_cell_str(body, role_text(server, user));
    admin_text_cell_u64(body, counter_read(&usage->connections_live));
    admin_text_cell_u64(body, counter_read(&usage->connections_total));
    admin_text_cell_u64(body, counter_read(&usage->bytes_up));
    admin_text_cell_u64(body, counter_read(&usage->bytes_down));
    struct user_limits limits = user_effective_limits(user);
    admin_text_cell_u64(body, limits.value[USER_LIMIT_MAX_CONNECTIONS]);
    admin_text_cell_u64(body, limits.value[USER_LIMIT_UPLOAD]);
    admin_text_cell_u64(body, limits.value[USER_LIMIT_DOWNLOAD]);
    admin_text_cell_u64(body, counter_read(&usage->limit_refusals));
    admin_accounting_user_cells(body, admin_server_proxy(server)->accounting, user);
    admin_text_end_row(body);
}

struct user_list {
    struct user **users;
    size_t count;
    size_t capacity;
};

static void collect_user(struct user *user, void *context)
{
    struct user_list *list = context;
    if (list->count < list->capacity) /* users are only added on this thread, but still */
        list->users[list->count++] = user;
}

static int compare_user_names(const void *left, const void *right)
{
    return strcmp(user_name(*(struct user *const *)left), user_name(*(struct user *const *)right));
}

/* Rows ordered by name (PROTOCOL.md): the table itself keeps no order. */
static bool handle_users(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    admin_settle_workers(call->server);
    struct admin_response *response = call->response;
    struct users *users = admin_server_proxy(server)->users;
    size_t capacity = users_count(users) + 1;
    struct user_list list = { calloc(capacity, sizeof(struct user *)), 0, capacity };
    if (list.users == NULL) {
        admin_response_error(response, ADMIN_STATUS_SERVER_ERROR, "out of memory");
        return true;
    }
    users_for_each(users, collect_user, &list);
    if (list.count > 1)
        qsort(list.users, list.count, sizeof(*list.users), compare_user_names);
    struct admin_text *body = &response->body;
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, list.count);
    admin_text_begin_table(body, admin_users_columns, ADMIN_USERS_COLUMN_COUNT);
    for (size_t i = 0; i < list.count; i++)
        put_user_row(body, server, list.users[i]);
    free(list.users);
    return true;
}

/* The policy read here stays alive while the handler runs: a reload replaces it on this
 * thread. Hits are relaxed atomics, each exact as of some moment during the listing. */
static bool handle_rules(const struct admin_call *call)
{
    struct proxy_settings current;
    settings_store_read(settings_of(call->server), &current);
    const struct policy *policy = current.policy;
    const struct rule_set *rules = policy != NULL ? policy->rules : NULL;
    size_t count = rules != NULL ? rule_set_count(rules) : 0;
    struct admin_text *body = &call->response->body;
    char text[1024];
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, count);
    rule_set_describe_defaults(text, sizeof(text));
    admin_text_put_str(body, ADMIN_KEY_SAFE_DEFAULTS, text);
    admin_text_put_bool(body, ADMIN_KEY_ALLOW_LOOPBACK, policy != NULL && policy->allow_loopback);
    admin_text_begin_table(body, admin_rules_columns, ADMIN_RULES_COLUMN_COUNT);
    for (size_t i = 0; i < count; i++) {
        rule_set_describe(rules, i, text, sizeof(text));
        const char *name = rule_set_rule_name(rules, i);
        admin_text_cell_u64(body, i + 1);
        admin_text_cell_str(body, name[0] != '\0' ? name : "-");
        admin_text_cell_str(body,
                            rule_set_rule_action(rules, i) == RULE_ALLOW ? "allow" : "deny");
        admin_text_cell_str(body, text);
        admin_text_cell_u64(body, rule_set_rule_hits(rules, i));
        admin_text_end_row(body);
    }
    return true;
}

/* ---- user changes: applied, saved, and undone if the save fails ---- */

static void pending_free(struct admin_pending *pending)
{
    explicit_bzero(pending->password, sizeof(pending->password));
    free(pending);
}

void admin_pending_cancel(struct admin_pending *pending)
{
    users_hashing_cancel(pending->hashing);
    pending_free(pending);
}

static void apply_add_user(struct admin_pending *pending, char *hash, struct admin_response *response)
{
    struct users *users = admin_server_proxy(pending->server)->users;
    enum users_error error = users_add_hashed(users, pending->user, hash, pending->role);
    if (error != USERS_OK) {
        respond_users_error(response, error, pending->user);
        return;
    }
    if (!save_users(pending->server, response)) {
        users_remove(users, pending->user);
        return;
    }
    users_remember_password(users, pending->user, pending->password);
    log_message(LOG_INFO, "admin %s: added user %s (%s)", user_name(admin_session_user(pending->session)),
                pending->user, pending->role == USER_ROLE_ADMIN ? "admin" : "user");
}

static void apply_set_password(struct admin_pending *pending, char *hash,
                               struct admin_response *response)
{
    struct users *users = admin_server_proxy(pending->server)->users;
    struct user *user = users_find(users, pending->user, strlen(pending->user));
    if (user == NULL) {
        respond_users_error(response, USERS_ERROR_NOT_FOUND, pending->user);
        return;
    }
    char *old_hash = strdup(user_hash(user));
    if (old_hash == NULL) {
        respond_users_error(response, USERS_ERROR_SYSTEM, pending->user);
        return;
    }
    users_set_hash(users, pending->user, hash);
    if (!save_users(pending->server, response))
        users_set_hash(users, pending->user, old_hash);
    else
        users_remember_password(users, pending->user, pending->password);
    free(old_hash);
    if (response->status == ADMIN_STATUS_OK)
        log_message(LOG_INFO, "admin %s: changed the password of %s",
                    user_name(admin_session_user(pending->session)), pending->user);
}

static void on_password_hashed(void *owner, char *hash)
{
    struct admin_pending *pending = owner;
    struct admin_response response = { .status = ADMIN_STATUS_OK };
    admin_text_init(&response.body, ADMIN_RESPONSE_HEADER_SIZE, ADMIN_RESPONSE_BODY_MAX);
    if (hash == NULL)
        admin_response_error(&response, ADMIN_STATUS_SERVER_ERROR, "password hashing failed");
    else if (pending->command == ADMIN_CMD_ADD_USER)
        apply_add_user(pending, hash, &response);
    else
        apply_set_password(pending, hash, &response);
    free(hash);
    struct admin_session *session = pending->session;
    pending_free(pending);
    admin_session_respond(session, &response);
}

static bool start_hashing(const struct admin_call *call, const char *user, const char *password,
                          enum user_role role)
{
    struct admin_server *server = call->server;
    struct admin_response *response = call->response;
    struct admin_pending *pending = calloc(1, sizeof(*pending));
    if (pending == NULL) {
        admin_response_error(response, ADMIN_STATUS_SERVER_ERROR, "out of memory");
        return true;
    }
    pending->server = server;
    pending->session = call->session;
    pending->command = call->request->command;
    pending->role = role;
    snprintf(pending->user, sizeof(pending->user), "%s", user);
    snprintf(pending->password, sizeof(pending->password), "%s", password);
    pending->hashing = users_hash_password(admin_server_crypt_pool(server), password,
                                           on_password_hashed, pending);
    if (pending->hashing == NULL) {
        pending_free(pending);
        admin_response_error(response, ADMIN_STATUS_SERVER_ERROR, "cannot queue password hashing");
        return true;
    }
    *call->pending = pending;
    return false;
}

static bool handle_add_user(const struct admin_call *call)
{
    const struct admin_args_add_user *args = &call->request->args.add_user;
    struct admin_response *response = call->response;
    struct users *users = admin_server_proxy(call->server)->users;
    if (!users_name_valid(args->user.text, args->user.length))
        return respond_users_error(response, USERS_ERROR_INVALID_NAME, args->user.text);
    if (!users_password_valid(args->password.text))
        return respond_users_error(response, USERS_ERROR_INVALID_PASSWORD, args->user.text);
    struct user *existing = users_find(users, args->user.text, args->user.length);
    if (existing != NULL)
        return respond_users_error(response, user_external(existing) ? USERS_ERROR_EXTERNAL
                                                                     : USERS_ERROR_EXISTS,
                                   args->user.text);
    return start_hashing(call, args->user.text, args->password.text,
                         args->role == ADMIN_ROLE_ADMIN ? USER_ROLE_ADMIN : USER_ROLE_USER);
}

static bool handle_set_password(const struct admin_call *call)
{
    const struct admin_args_set_password *args = &call->request->args.set_password;
    struct user *target = args->user.length == 0
                              ? admin_session_user(call->session)
                              : users_find(admin_server_proxy(call->server)->users,
                                           args->user.text, args->user.length);
    if (target == NULL || user_external(target))
        return respond_users_error(call->response,
                                   target == NULL ? USERS_ERROR_NOT_FOUND : USERS_ERROR_EXTERNAL,
                                   target == NULL ? args->user.text : user_name(target));
    if (!users_password_valid(args->password.text))
        return respond_users_error(call->response, USERS_ERROR_INVALID_PASSWORD,
                                   user_name(target));
    return start_hashing(call, user_name(target), args->password.text, user_role(target));
}

static bool handle_remove_user(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    struct admin_session *session = call->session;
    struct admin_response *response = call->response;
    const char *name = call->request->args.remove_user.user.text;
    struct proxy_shared *proxy = admin_server_proxy(server);
    struct user *user = users_find(proxy->users, name, strlen(name));
    if (user == NULL || user_external(user))
        return respond_users_error(
            response, user == NULL ? USERS_ERROR_NOT_FOUND : USERS_ERROR_EXTERNAL, name);
    user_ref(user); /* kept alive to undo, and to find its connections */
    enum user_role role = user_role(user);
    char *hash = strdup(user_hash(user));
    enum users_error error = hash != NULL ? users_remove(proxy->users, name) : USERS_ERROR_SYSTEM;
    if (error != USERS_OK) {
        respond_users_error(response, error, name);
    } else if (!save_users(server, response)) {
        users_add_hashed(proxy->users, name, hash, role);
    } else {
        size_t tunnels = admin_close_user_everywhere(server, user);
        size_t sessions = admin_server_close_user(server, user, session);
        log_message(LOG_INFO, "admin %s: removed user %s (%zu tunnels and %zu admin sessions closed)",
                    user_name(admin_session_user(session)), name, tunnels, sessions);
    }
    free(hash);
    user_unref(user);
    return true;
}

static bool handle_set_role(const struct admin_call *call)
{
    struct admin_server *server = call->server;
    struct admin_response *response = call->response;
    const struct admin_args_set_role *args = &call->request->args.set_role;
    struct users *users = admin_server_proxy(server)->users;
    struct user *user = users_find(users, args->user.text, args->user.length);
    if (user == NULL || user_external(user))
        return respond_users_error(response,
                                   user == NULL ? USERS_ERROR_NOT_FOUND : USERS_ERROR_EXTERNAL,
                                   args->user.text);
    enum user_role old_role = user_role(user);
    enum user_role role = args->role == ADMIN_ROLE_ADMIN ? USER_ROLE_ADMIN : USER_ROLE_USER;
    enum users_error error = users_set_role(users, args->user.text, role);
    if (error != USERS_OK)
        return respond_users_error(response, error, args->user.text);
    if (!save_users(server, response)) {
        users_set_role(users, args->user.text, old_role);
        return true;
    }
    log_message(LOG_INFO, "admin %s: %s is now %s", user_name(admin_session_user(call->session)),
                args->user.text, role == USER_ROLE_ADMIN ? "admin" : "user");
    return true;
}

/* Fields not named keep their run-time value; "default" hands one back to the configuration.
 * The new limits apply at once, to the user's live tunnels too (their buckets are kept). */
static bool handle_set_limits(const struct admin_call *call)
{
    struct admin_response *response = call->response;
    const struct admin_args_set_limits *args = &call->request->args.set_limits;
    struct users *users = admin_server_proxy(call->server)->users;
    struct user *user = users_find(users, args->user.text, args->user.length);
    if (user == NULL || user_external(user))
        return respond_users_error(response,
                                   user == NULL ? USERS_ERROR_NOT_FOUND : USERS_ERROR_EXTERNAL,
                                   args->user.text);
    struct user_limits old = user_runtime_limits(users, user);
    struct user_limits runtime = old;
    char problem[160];
    if (!user_limits_parse(args->limits.text, args->limits.length, true, &runtime, problem,
                           sizeof(problem))) {
        admin_response_error(response, ADMIN_STATUS_BAD_REQUEST, "limits: %s", problem);
        return true;
    }
    users_set_runtime_limits(users, args->user.text, &runtime);
    if (!save_users(call->server, response)) {
        users_set_runtime_limits(users, args->user.text, &old);
        return true;
    }
    char text[USER_LIMITS_TEXT_MAX];
    user_limits_format(&runtime, text, sizeof(text));
    log_message(LOG_INFO, "admin %s: run-time limits of %s: %s",
                user_name(admin_session_user(call->session)), args->user.text,
                text[0] != '\0' ? text : "none (the configuration's)");
    admin_text_put_str(&response->body, ADMIN_KEY_USER, user_name(user));
    put_limits(&response->body, users, user);
    return true;
}

/* ---- settings and connections ---- */

static bool handle_set_no_auth(const struct admin_call *call)
{
    struct settings_store *store = settings_of(call->server);
    settings_store_begin_change(store)->no_auth_allowed = call->request->args.set_no_auth.allowed != 0;
    settings_store_commit_change(store);
    return true;
}

static bool handle_get_buffer_size(const struct admin_call *call)
{
    struct proxy_settings current;
    settings_store_read(settings_of(call->server), &current);
    admin_text_put_u64(&call->response->body, ADMIN_KEY_BUFFER_SIZE, current.buffer_size);
    return true;
}

static bool handle_set_buffer_size(const struct admin_call *call)
{
    uint32_t size = call->request->args.set_buffer_size.size;
    if (size < RELAY_BUFFER_SIZE_MIN || size > RELAY_BUFFER_SIZE_MAX) {
        admin_response_error(call->response, ADMIN_STATUS_BAD_REQUEST,
                             "buffer size must be %u to %u bytes", RELAY_BUFFER_SIZE_MIN,
                             RELAY_BUFFER_SIZE_MAX);
        return true;
    }
    settings_store_begin_change(settings_of(call->server))->buffer_size = size;
    settings_store_commit_change(settings_of(call->server));
    return true;
}

static bool handle_close_connection(const struct admin_call *call)
{
    uint64_t id = call->request->args.close_connection.id;
    if (!admin_close_connection_everywhere(call->server, id))
        admin_response_error(call->response, ADMIN_STATUS_NOT_FOUND, "no live connection %llu",
                             (unsigned long long)id);
    return true;
}

static bool handle_close_user_connections(const struct admin_call *call)
{
    struct user *user = find_target(call->server, call->session,
                                    &call->request->args.close_user_connections.user);
    if (user == NULL) {
        admin_response_error(call->response, ADMIN_STATUS_NOT_FOUND, "no such user");
        return true;
    }
    /* Held while the workers are asked: the admin loop runs other calls meanwhile (a reread
     * of the users file among them), which may remove the user. */
    user_ref(user);
    admin_text_put_u64(&call->response->body, ADMIN_KEY_CLOSED,
                       admin_close_user_everywhere(call->server, user));
    user_unref(user);
    return true;
}

/* On the admin's thread, like every change to the users: a reload never lands between an
 * admin's change and its save. */
static bool handle_reload(const struct admin_call *call)
{
    const struct admin_server_hooks *hooks = admin_server_hooks(call->server);
    char message[sizeof(call->response->message)];
    if (hooks->reload == NULL) {
        admin_response_error(call->response, ADMIN_STATUS_SERVER_ERROR,
                             "this server cannot reload");
    } else if (!hooks->reload(hooks->context, message, sizeof(message))) {
        admin_response_error(call->response, ADMIN_STATUS_INVALID_CONFIG, "%s", message);
    } else {
        admin_text_put_str(&call->response->body, ADMIN_KEY_RESTART_NEEDED, message);
    }
    return true;
}

/* ---- the accounting database ---- */

/* A regular user's history is their own whatever the first field says (permitted only when
 * empty or their name); an admin's empty field means everybody's. */
static bool handle_history(const struct admin_call *call)
{
    struct user *self = admin_session_user(call->session);
    admin_accounting_history(admin_server_proxy(call->server)->accounting,
                             &call->request->args.history,
                             user_role(self) == USER_ROLE_ADMIN ? NULL : user_name(self),
                             call->response);
    return true;
}

static bool handle_reset_usage(const struct admin_call *call)
{
    struct proxy_shared *proxy = admin_server_proxy(call->server);
    admin_accounting_reset_usage(proxy->accounting, proxy->users,
                                 &call->request->args.reset_usage,
                                 user_name(admin_session_user(call->session)), call->response);
    return true;
}

/* ---- dispatch ---- */

/* One line per command the protocol defines (admin_commands.c). A command without a line is
 * answered "unsupported command"; one listed with no handler is declined on purpose. */
static const struct {
    uint8_t command;
    admin_handler *handle;
} handlers[] = {
    {ADMIN_CMD_PING, handle_ping},
    {ADMIN_CMD_SERVER_INFO, handle_server_info},
    {ADMIN_CMD_METRICS, handle_metrics},
    {ADMIN_CMD_USER_METRICS, handle_user_metrics},
    {ADMIN_CMD_CONNECTIONS, handle_connections},
    {ADMIN_CMD_USERS, handle_users},
    {ADMIN_CMD_ADD_USER, handle_add_user},
    {ADMIN_CMD_REMOVE_USER, handle_remove_user},
    {ADMIN_CMD_SET_ROLE, handle_set_role},
    {ADMIN_CMD_SET_PASSWORD, handle_set_password},
    {ADMIN_CMD_SET_NO_AUTH, handle_set_no_auth},
    {ADMIN_CMD_GET_BUFFER_SIZE, handle_get_buffer_size},
    {ADMIN_CMD_SET_BUFFER_SIZE, handle_set_buffer_size},
    {ADMIN_CMD_CLOSE_CONNECTION, handle_close_connection},
    {ADMIN_CMD_CLOSE_USER_CONNECTIONS, handle_close_user_connections},
    {ADMIN_CMD_RULES, handle_rules},
    {ADMIN_CMD_SET_LIMITS, handle_set_limits},
    {ADMIN_CMD_RELOAD, handle_reload},
    {ADMIN_CMD_RESET_USAGE, handle_reset_usage},
    {ADMIN_CMD_HISTORY, handle_history},
};

#define HANDLER_COUNT (sizeof(handlers) / sizeof(handlers[0]))

bool admin_handler_listed(uint8_t command)
{
    for (size_t i = 0; i < HANDLER_COUNT; i++)
        if (handlers[i].command == command)
            return true;
    return false;
}

bool admin_handle_request(struct admin_server *server, struct admin_session *session,
                          struct admin_request *request, struct admin_response *response,
                          struct admin_pending **pending)
{
    admin_handler *handle = NULL;
    for (size_t i = 0; i < HANDLER_COUNT; i++)
        if (handlers[i].command == request->command)
            handle = handlers[i].handle;
    if (handle == NULL) {
        admin_response_error(response, ADMIN_STATUS_UNSUPPORTED_COMMAND,
                             "unsupported command 0x%02x", request->command);
        return true;
    }
    struct admin_call call = { server, session, request, response, pending };
    return handle(&call);
}
