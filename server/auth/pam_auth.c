/* pam_auth: logins checked by the PAM stack (--auth pam[:SERVICE]) on a work pool, names of the
 * users file still by the file; successes cached a while; admins are one group's members. */
#include "pam_auth.h"

#include "counter.h"
#include "event_loop.h"
#include "log.h"
#include "login_cache.h"
#include "metrics.h"
#include "users.h"
#include "work_pool.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CACHE_CAPACITY 4096
/* Checks of the users table and of PAM share one pending pointer; PAM's carry this bit (both
 * are malloc'd, so the bit is otherwise clear). */
#define PAM_PENDING_TAG ((uintptr_t)1)

/* libpam, loaded by the first realm (--auth pam only): a server checking logins by its users
 * file alone never maps libpam and what it pulls in (libaudit, libcap-ng, whose start-up reads
 * /proc files a sandboxed unit hides). */
struct pam_library {
    void *handle;
    int (*start)(const char *, const char *, const struct pam_conv *, pam_handle_t **);
    int (*start_confdir)(const char *, const char *, const struct pam_conv *, const char *,
                         pam_handle_t **); /* NULL before Linux-PAM 1.4 */
    int (*set_item)(pam_handle_t *, int, const void *);
    int (*authenticate)(pam_handle_t *, int);
    int (*acct_mgmt)(pam_handle_t *, int);
    int (*end)(pam_handle_t *, int);
    const char *(*strerror)(pam_handle_t *, int);
};

struct pam_realm {
    struct pam_library pam;
    /* One PAM conversation at a time: modules need not be thread-safe (pam_pwdfile calls
     * crypt(3), whose result lives in one static buffer of libcrypt for every thread). */
    pthread_mutex_t conversation;
    char service[PAM_AUTH_SERVICE_MAX + 1];
    char *config_dir;
    char *admin_group;
    struct login_cache *cache;
};

struct pam_check {
    struct work_item item; /* first: the work pool hands this pointer back */
    struct pam_auth *auth;
    auth_backend_callback callback;
    void *owner; /* NULL once cancelled */
    bool accepted;
    bool admin;
    size_t name_length;
    size_t password_length;
    char name[USERS_NAME_MAX + 1];
    char password[USERS_PASSWORD_MAX + 1];
    char client[INET6_ADDRSTRLEN]; /* PAM_RHOST: the client's address; "" when unknown */
};

/* ---- the method ---- */

bool pam_auth_parse_method(const char *text, char service[PAM_AUTH_SERVICE_MAX + 1],
                           char *error, size_t error_size)
{
    service[0] = '\0';
    if (strcmp(text, "file") == 0)
        return true;
    if (strcmp(text, "pam") == 0) {
        strcpy(service, PAM_AUTH_DEFAULT_SERVICE);
        return true;
    }
    if (strncmp(text, "pam:", 4) != 0) {
        snprintf(error, error_size, "'%s' is neither 'file', 'pam' nor 'pam:SERVICE'", text);
        return false;
    }
    const char *name = text + 4;
    size_t length = strlen(name);
    bool valid = length > 0 && length <= PAM_AUTH_SERVICE_MAX && name[0] != '.';
    for (size_t i = 0; valid && i < length; i++) {
        char c = name[i];
        valid = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '.' || c == '_' || c == '-';
    }
    if (!valid) {
        snprintf(error, error_size,
                 "PAM service '%s': 1-%d letters, digits, '.', '_' or '-', not starting with '.'",
                 name, PAM_AUTH_SERVICE_MAX);
        return false;
    }
    memcpy(service, name, length + 1);
    return true;
}

/* ---- the realm ---- */

/* POSIX's way to take a function from dlsym without converting an object pointer. */
#define LOAD(library, field, name) (*(void **)(&(library)->field) = dlsym((library)->handle, name))

static bool pam_library_load(struct pam_library *pam, bool with_config_dir)
{
    pam->handle = dlopen("libpam.so.0", RTLD_NOW | RTLD_LOCAL);
    if (pam->handle == NULL) {
        log_message(LOG_ERROR, "--auth pam: cannot load libpam: %s", dlerror());
        return false;
    }
    LOAD(pam, start_confdir, "pam_start_confdir");
    if (LOAD(pam, start, "pam_start") == NULL || LOAD(pam, set_item, "pam_set_item") == NULL ||
        LOAD(pam, authenticate, "pam_authenticate") == NULL ||
        LOAD(pam, acct_mgmt, "pam_acct_mgmt") == NULL || LOAD(pam, end, "pam_end") == NULL ||
        LOAD(pam, strerror, "pam_strerror") == NULL) {
        log_message(LOG_ERROR, "--auth pam: libpam lacks %s", dlerror());
        return false;
    }
    if (with_config_dir && pam->start_confdir == NULL) {
        log_message(LOG_ERROR, "--pam-config-dir: this Linux-PAM has no pam_start_confdir "
                               "(1.4 or later)");
        return false;
    }
    return true;
}

struct pam_realm *pam_realm_create(const struct pam_auth_config *config)
{
    event_loop_expect_forks(); /* modules may fork helpers (pam_exec, unix_chkpwd) */
    struct pam_realm *realm = calloc(1, sizeof(*realm));
    if (realm == NULL)
        return NULL;
    pthread_mutex_init(&realm->conversation, NULL);
    snprintf(realm->service, sizeof(realm->service), "%s", config->service);
    realm->config_dir = config->config_dir != NULL ? strdup(config->config_dir) : NULL;
    realm->admin_group = config->admin_group != NULL ? strdup(config->admin_group) : NULL;
    realm->cache = login_cache_create(CACHE_CAPACITY, config->cache_ms);
    if (realm->cache == NULL || (config->config_dir != NULL && realm->config_dir == NULL) ||
        (config->admin_group != NULL && realm->admin_group == NULL) ||
        !pam_library_load(&realm->pam, config->config_dir != NULL)) {
        pam_realm_destroy(realm);
        return NULL;
    }
    /* Without a directory of its own, Linux-PAM also reads its vendor directory. */
    char path[4096], vendor[4096];
    snprintf(path, sizeof(path), "%s/%s", config->config_dir != NULL ? config->config_dir
                                                                     : "/etc/pam.d",
             realm->service);
    snprintf(vendor, sizeof(vendor), "/usr/lib/pam.d/%s", realm->service);
    if (access(path, R_OK) != 0 && (config->config_dir != NULL || access(vendor, R_OK) != 0))
        log_message(LOG_WARN, "PAM service %s: cannot read %s (%s): PAM falls back to its "
                    "'other' service", realm->service, path, strerror(errno));
    log_message(LOG_INFO, "logins: PAM service %s (%s), admins: %s; users file names first",
                realm->service, path, config->admin_group != NULL ? config->admin_group
                                                                  : "none from PAM");
    return realm;
}

void pam_realm_destroy(struct pam_realm *realm)
{
    if (realm == NULL)
        return;
    login_cache_destroy(realm->cache);
    pthread_mutex_destroy(&realm->conversation);
    if (realm->pam.handle != NULL)
        dlclose(realm->pam.handle);
    free(realm->config_dir);
    free(realm->admin_group);
    free(realm);
}

static uint64_t monotonic_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- on a pool thread: PAM and the group ---- */

struct conversation {
    const char *name;
    const char *password;
};

static void free_replies(struct pam_response *replies, int count)
{
    for (int i = 0; i < count; i++) {
        if (replies[i].resp != NULL)
            explicit_bzero(replies[i].resp, strlen(replies[i].resp));
        free(replies[i].resp);
    }
    free(replies);
}

/* The password for a hidden prompt, the name for a visible one; what modules only tell
 * (errors, information) has nobody to read it. */
static int converse(int count, const struct pam_message **messages,
                    struct pam_response **responses, void *data)
{
    const struct conversation *conversation = data;
    if (count <= 0 || count > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    struct pam_response *replies = calloc((size_t)count, sizeof(*replies));
    if (replies == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < count; i++) {
        const char *answer = NULL;
        switch (messages[i]->msg_style) {
        case PAM_PROMPT_ECHO_OFF: answer = conversation->password; break;
        case PAM_PROMPT_ECHO_ON: answer = conversation->name; break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO: continue;
        default: free_replies(replies, count); return PAM_CONV_ERR;
        }
        replies[i].resp = strdup(answer);
        if (replies[i].resp == NULL) {
            free_replies(replies, count);
            return PAM_BUF_ERR;
        }
    }
    *responses = replies;
    return PAM_SUCCESS;
}

/* The throttle delays failed logins without holding a thread: PAM's own delay would. */
static void no_fail_delay(int status, unsigned delay_us, void *data)
{
    (void)status;
    (void)delay_us;
    (void)data;
}

/* The client's address without its port, as PAM_RHOST wants it. */
static void client_text(const struct sockaddr *client, char out[INET6_ADDRSTRLEN])
{
    out[0] = '\0';
    if (client == NULL)
        return;
    if (client->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)client)->sin_addr, out,
                  INET6_ADDRSTRLEN);
    else if (client->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)client)->sin6_addr, out,
                  INET6_ADDRSTRLEN);
}

static bool pam_converse(const struct pam_realm *realm, const char *name, const char *password,
                         const char *client)
{
    struct conversation conversation = { name, password };
    struct pam_conv conv = { converse, &conversation };
    pam_handle_t *handle = NULL;
    const struct pam_library *pam = &realm->pam;
    int status = realm->config_dir != NULL
                     ? pam->start_confdir(realm->service, name, &conv, realm->config_dir, &handle)
                     : pam->start(realm->service, name, &conv, &handle);
    if (status != PAM_SUCCESS) {
        log_message(LOG_ERROR, "PAM service %s: cannot start: %s", realm->service,
                    pam->strerror(handle, status));
        if (handle != NULL)
            pam->end(handle, status);
        return false;
    }
    pam->set_item(handle, PAM_FAIL_DELAY, (const void *)no_fail_delay);
    /* For modules that judge or log the client (pam_access, pam_faillock, the directory). */
    if (client[0] != '\0')
        pam->set_item(handle, PAM_RHOST, client);
    status = pam->authenticate(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (status == PAM_SUCCESS)
        status = pam->acct_mgmt(handle, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
    if (status != PAM_SUCCESS) {
        /* A wrong password is the client's business; a directory out of reach, the operator's. */
        bool refused = status == PAM_AUTH_ERR || status == PAM_USER_UNKNOWN ||
                       status == PAM_ACCT_EXPIRED || status == PAM_PERM_DENIED ||
                       status == PAM_NEW_AUTHTOK_REQD || status == PAM_MAXTRIES;
        log_message(refused ? LOG_DEBUG : LOG_WARN, "PAM service %s: %s", realm->service,
                    pam->strerror(handle, status));
    }
    pam->end(handle, status);
    return status == PAM_SUCCESS;
}

static bool pam_accepts(struct pam_realm *realm, const char *name, const char *password,
                        const char *client)
{
    pthread_mutex_lock(&realm->conversation);
    bool accepted = pam_converse(realm, name, password, client);
    pthread_mutex_unlock(&realm->conversation);
    return accepted;
}

/* Whether name belongs to group through NSS: listed as a member, or its primary group and
 * supplementary groups as the account database gives them (LDAP and SSSD included). */
static bool in_group(const char *name, const char *group_name)
{
    size_t size = 16384;
    char *buffer = NULL;
    struct group group, *found = NULL;
    int error;
    do {
        free(buffer);
        size *= 2;
        buffer = malloc(size);
        error = buffer != NULL ? getgrnam_r(group_name, &group, buffer, size, &found) : ENOMEM;
    } while (error == ERANGE && size < (1u << 24));
    bool member = false;
    if (found == NULL) {
        log_message(LOG_WARN, "admin group %s: %s", group_name,
                    error != 0 ? strerror(error) : "no such group");
        free(buffer);
        return false;
    }
    gid_t gid = group.gr_gid;
    for (char **each = group.gr_mem; !member && *each != NULL; each++)
        member = strcmp(*each, name) == 0;
    struct passwd account, *account_found = NULL;
    if (!member && getpwnam_r(name, &account, buffer, size, &account_found) == 0 &&
        account_found != NULL) {
        int count = 64;
        gid_t *groups = malloc((size_t)count * sizeof(*groups));
        gid_t primary = account.pw_gid;
        member = primary == gid;
        if (!member && groups != NULL &&
            getgrouplist(name, primary, groups, &count) < 0 && count > 64) {
            gid_t *grown = realloc(groups, (size_t)count * sizeof(*groups));
            groups = grown != NULL ? grown : groups;
            if (grown == NULL || getgrouplist(name, primary, groups, &count) < 0)
                count = 0;
        }
        for (int i = 0; !member && groups != NULL && i < count; i++)
            member = groups[i] == gid;
        free(groups);
    }
    free(buffer);
    return member;
}

static void check_run(struct work_item *item)
{
    struct pam_check *check = (struct pam_check *)item;
    struct pam_realm *realm = check->auth->realm;
    /* A name the table could not hold, or a NUL that PAM would see as the end, never passes. */
    bool checkable = users_name_valid(check->name, check->name_length) &&
                     check->password_length > 0 &&
                     strlen(check->password) == check->password_length;
    /* Its client left while it waited its turn: no conversation for nobody (a slow directory
     * and clients that give up must not pile up work). */
    if (__atomic_load_n(&check->owner, __ATOMIC_ACQUIRE) == NULL)
        checkable = false;
    check->accepted = checkable && pam_accepts(realm, check->name, check->password, check->client);
    if (check->accepted) {
        check->admin = realm->admin_group != NULL && in_group(check->name, realm->admin_group);
        login_cache_store(realm->cache, check->name, check->name_length, check->password,
                          check->password_length, monotonic_ms(), check->admin);
    } else {
        login_cache_forget(realm->cache, check->name, check->name_length);
    }
    explicit_bzero(check->password, sizeof(check->password));
}

static void check_free(struct pam_check *check)
{
    explicit_bzero(check->password, sizeof(check->password));
    free(check);
}

static void check_done(struct work_item *item)
{
    struct pam_check *check = (struct pam_check *)item;
    void *owner = __atomic_load_n(&check->owner, __ATOMIC_ACQUIRE);
    auth_backend_callback callback = check->callback;
    struct user *user = NULL;
    if (owner != NULL && check->accepted)
        user = users_external_login(check->auth->users, check->name, check->name_length,
                                    check->admin ? USER_ROLE_ADMIN : USER_ROLE_USER);
    check_free(check);
    if (owner != NULL)
        callback(owner, user);
}

/* ---- the backend, on the loop's thread ---- */

static bool is_local(struct users *users, const char *name, size_t length)
{
    users_lock(users); /* the user cannot be removed while we look at it */
    struct user *user = users_find(users, name, length);
    bool local = user != NULL && !user_external(user);
    users_unlock(users);
    return local;
}

static enum auth_check_status pam_auth_check(struct auth_backend *backend,
                                             const struct auth_credentials *credentials,
                                             auth_backend_callback callback, void *owner,
                                             struct user **user, void **pending)
{
    struct pam_auth *auth = (struct pam_auth *)backend;
    if (is_local(auth->users, credentials->name, credentials->name_length))
        return auth->local.backend.check(&auth->local.backend, credentials, callback, owner,
                                         user, pending);
    int admin = 0;
    if (login_cache_hit(auth->realm->cache, credentials->name, credentials->name_length,
                        credentials->password, credentials->password_length, monotonic_ms(),
                        &admin)) {
        *user = users_external_login(auth->users, credentials->name, credentials->name_length,
                                     admin ? USER_ROLE_ADMIN : USER_ROLE_USER);
        if (*user != NULL) {
            counter_add(&auth->metrics->pam_cache_hits, 1);
            return AUTH_CHECK_ANSWERED;
        }
    }
    struct pam_check *check = calloc(1, sizeof(*check));
    if (check == NULL)
        return AUTH_CHECK_ERROR;
    check->auth = auth;
    check->callback = callback;
    check->owner = owner;
    check->name_length = credentials->name_length <= USERS_NAME_MAX ? credentials->name_length : 0;
    memcpy(check->name, credentials->name, check->name_length);
    check->password_length =
        credentials->password_length <= USERS_PASSWORD_MAX ? credentials->password_length : 0;
    memcpy(check->password, credentials->password, check->password_length);
    client_text(credentials->client, check->client);
    if (!work_pool_submit(auth->pool, &check->item, check_run, check_done)) {
        check_free(check);
        return AUTH_CHECK_ERROR;
    }
    counter_add(&auth->metrics->pam_checks, 1);
    *pending = (void *)((uintptr_t)check | PAM_PENDING_TAG);
    return AUTH_CHECK_PENDING;
}

static void pam_auth_cancel(struct auth_backend *backend, void *pending)
{
    struct pam_auth *auth = (struct pam_auth *)backend;
    uintptr_t address = (uintptr_t)pending;
    if ((address & PAM_PENDING_TAG) == 0) {
        auth->local.backend.cancel(&auth->local.backend, pending);
        return;
    }
    __atomic_store_n(&((struct pam_check *)(address & ~PAM_PENDING_TAG))->owner, NULL,
                     __ATOMIC_RELEASE);
}

struct auth_backend *pam_auth_init(struct pam_auth *auth, struct pam_realm *realm,
                                   struct users *users, struct work_pool *crypt_pool,
                                   struct work_pool *pool, struct metrics *metrics)
{
    users_auth_init(&auth->local, users, crypt_pool);
    auth->backend.check = pam_auth_check;
    auth->backend.cancel = pam_auth_cancel;
    auth->realm = realm;
    auth->users = users;
    auth->pool = pool;
    auth->metrics = metrics;
    return &auth->backend;
}
