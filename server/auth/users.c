/* users: the user table — names, roles, crypt(3) hashes, per-user usage — shared by every
 * worker (locked inside), with password checks that never block a loop (crypt on a pool). */
#include "users.h"

#include "connection_history.h"
#include "connection_record.h"
#include "counter.h"
#include "siphash.h"
#include "users_crypt.h"
#include "work_pool.h"

#include <stddef.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct user {
    /* References: one for the table while listed, one per holder (connection records
     * among them); name points at this user's name. */
    struct record_owner owner;
    struct user *next_in_bucket;
    bool removed;
    bool external; /* from PAM: never in the users file, no hash, not counted as an admin */
    enum user_role role;
    char *hash;
    /* Keyed digest of the last password that passed crypt(3) against hash: the next login
     * with it costs a SipHash instead of ~70 ms of yescrypt. Cleared with the hash. */
    bool verified;
    uint64_t verified_digest;
    struct user_usage usage;
    uint64_t serial; /* never the same for two users of this process (user_identity) */
    struct user_limits runtime_limits;  /* under the users lock */
    struct user_limits effective_limits; /* written under the lock, read with atomics */
    uint64_t connection_slots;          /* atomic: connections holding a max-connections slot */
    struct token_bucket buckets[2];     /* [1]: upload, [0]: download */
    struct connection_history *history;
    size_t history_capacity;
    char name[];
};

/* Every worker thread checks logins and records finished connections here while the admin
 * changes the table: one lock, recursive so that the admin can hold it across several calls.
 * Usage counters and reference counts are atomics and need no lock. */
struct users {
    pthread_mutex_t lock;
    struct user **buckets;
    size_t bucket_count; /* a power of two */
    size_t count;
    size_t admin_count;
    uint8_t key[16]; /* random per process: bucket index and password digests */
    char *decoy_hash; /* hashed against when the name is unknown */
    struct user *anonymous;
    size_t history_capacity;
    users_limits_resolver resolve_limits; /* NULL: run-time limits only */
    const void *resolve_context;
};

struct users_check {
    struct work_item item; /* first: the work pool hands this pointer back */
    struct users *users;
    users_check_callback callback;
    void *owner; /* NULL once cancelled */
    bool passed;
    uint64_t digest; /* of the password, for the cache, when it passed */
    char *hash;
    char password[USERS_PASSWORD_MAX + 1];
    size_t password_length;
    size_t name_length;
    char name[USERS_NAME_MAX + 1];
};

static const char *const error_texts[] = {
    [USERS_OK] = "ok",
    [USERS_ERROR_INVALID_NAME] = "invalid user name (1-255 bytes, no ':', newline or NUL, not 'anonymous')",
    [USERS_ERROR_INVALID_PASSWORD] = "invalid password (1-255 bytes, no newline or NUL)",
    [USERS_ERROR_EXISTS] = "user already exists",
    [USERS_ERROR_NOT_FOUND] = "no such user",
    [USERS_ERROR_LAST_ADMIN] = "the last admin cannot be removed or demoted",
    [USERS_ERROR_SYSTEM] = "internal error (memory or crypt)",
    [USERS_ERROR_EXTERNAL] = "the user comes from PAM: change it in the directory",
};

const char *users_error_text(enum users_error error) { return error_texts[error]; }

static uint64_t password_digest(const struct users *users, const char *password, size_t length)
{
    return siphash24(users->key, password, length);
}

/* ---- the table ---- */

static size_t bucket_of(const struct users *users, const char *name, size_t length)
{
    return (size_t)siphash24(users->key, name, length) & (users->bucket_count - 1);
}

static void user_release(struct record_owner *owner);

/* Atomic: users are made on the admin's thread and at start. */
static uint64_t next_user_serial = 1;

static struct user *user_new(const char *name, size_t length, char *hash, enum user_role role,
                             size_t history_capacity)
{
    struct user *user = calloc(1, sizeof(*user) + length + 1);
    if (user == NULL)
        return NULL;
    user->serial = __atomic_fetch_add(&next_user_serial, 1, __ATOMIC_RELAXED);
    user->history_capacity = history_capacity;
    memcpy(user->name, name, length);
    user->hash = hash;
    user->role = role;
    user->owner.references = 1;
    user->owner.name = user->name;
    user->owner.release = user_release;
    user->runtime_limits = user_limits_unset();
    user->effective_limits = user_limits_unlimited();
    uint64_t now = token_bucket_now_ns();
    token_bucket_init(&user->buckets[0], 0, now);
    token_bucket_init(&user->buckets[1], 0, now);
    return user;
}

static void user_release(struct record_owner *owner)
{
    struct user *user = user_from_owner(owner);
    if (user->hash != NULL)
        explicit_bzero(user->hash, strlen(user->hash));
    free(user->hash);
    connection_history_destroy(user->history);
    token_bucket_destroy(&user->buckets[0]);
    token_bucket_destroy(&user->buckets[1]);
    free(user);
}

struct user *user_ref(struct user *user)
{
    record_owner_ref(&user->owner);
    return user;
}

/* The last reference is only ever a removed user's: nobody can find it any more. */
void user_unref(struct user *user) { record_owner_unref(&user->owner); }

struct record_owner *user_as_owner(const struct user *user)
{
    return (struct record_owner *)&user->owner; /* like strchr: the caller had a mutable user */
}

struct user *user_from_owner(struct record_owner *owner)
{
    return (struct user *)((char *)owner - offsetof(struct user, owner));
}

void users_lock(struct users *users) { pthread_mutex_lock(&users->lock); }
void users_unlock(struct users *users) { pthread_mutex_unlock(&users->lock); }

const char *user_name(const struct user *user) { return user->name; }
enum user_role user_role(const struct user *user) { return user->role; }
const char *user_hash(const struct user *user) { return user->hash; }
struct user_usage *user_usage(struct user *user) { return &user->usage; }

const void *user_identity(const struct user *user)
{
    return (const void *)(uintptr_t)user->serial;
}

/* ---- limits ---- */

/* Under the lock: the user's limits from the resolver, pushed to its buckets. */
static void user_update_limits(const struct users *users, struct user *user)
{
    struct user_limits effective =
        users->resolve_limits != NULL
            ? users->resolve_limits(users->resolve_context, user->name, user->role,
                                    &user->runtime_limits)
            : user_limits_overlay(user_limits_unlimited(), &user->runtime_limits);
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++) {
        uint64_t value = effective.value[i] == USER_LIMIT_UNSET ? 0 : effective.value[i];
        __atomic_store_n(&user->effective_limits.value[i], value, __ATOMIC_RELAXED);
    }
    uint64_t now = token_bucket_now_ns();
    token_bucket_set_rate(&user->buckets[1], user->effective_limits.value[USER_LIMIT_UPLOAD], now);
    token_bucket_set_rate(&user->buckets[0], user->effective_limits.value[USER_LIMIT_DOWNLOAD],
                          now);
}

static void update_limits_visit(struct user *user, void *context)
{
    user_update_limits(context, user);
}

void users_set_limits_resolver(struct users *users, users_limits_resolver resolve,
                               const void *context)
{
    users_lock(users);
    users->resolve_limits = resolve;
    users->resolve_context = context;
    users_for_each(users, update_limits_visit, users);
    user_update_limits(users, users->anonymous);
    users_unlock(users);
}

struct user_limits user_runtime_limits(struct users *users, const struct user *user)
{
    users_lock(users);
    struct user_limits limits = user->runtime_limits;
    users_unlock(users);
    return limits;
}

struct user_limits user_effective_limits(const struct user *user)
{
    struct user_limits limits;
    for (size_t i = 0; i < USER_LIMIT_FIELD_COUNT; i++)
        limits.value[i] = __atomic_load_n(&user->effective_limits.value[i], __ATOMIC_RELAXED);
    return limits;
}

struct token_bucket *user_bucket(struct user *user, bool upload)
{
    return &user->buckets[upload ? 1 : 0];
}

bool user_take_connection_slot(struct user *user)
{
    uint64_t limit = __atomic_load_n(&user->effective_limits.value[USER_LIMIT_MAX_CONNECTIONS],
                                     __ATOMIC_RELAXED);
    uint64_t taken = __atomic_add_fetch(&user->connection_slots, 1, __ATOMIC_RELAXED);
    if (limit == 0 || taken <= limit)
        return true;
    __atomic_sub_fetch(&user->connection_slots, 1, __ATOMIC_RELAXED);
    return false;
}

void user_release_connection_slot(struct user *user)
{
    __atomic_sub_fetch(&user->connection_slots, 1, __ATOMIC_RELAXED);
}

struct connection_history *user_history(struct user *user)
{
    if (user->history == NULL)
        user->history = connection_history_create(user->history_capacity);
    return user->history;
}

void users_connection_started(struct user *user)
{
    counter_add_shared(&user->usage.connections_total, 1);
    counter_add_shared(&user->usage.connections_live, 1);
}

bool users_connection_ended(struct users *users, struct user *user,
                            struct connection_record *record)
{
    counter_subtract_shared(&user->usage.connections_live, 1);
    users_lock(users);
    struct connection_history *history = user_history(user);
    if (history != NULL)
        connection_history_add(history, record);
    users_unlock(users);
    return history != NULL;
}

void users_set_history_capacity(struct users *users, size_t capacity)
{
    users_lock(users);
    users->history_capacity = capacity;
    users->anonymous->history_capacity = capacity;
    users_unlock(users);
}
bool user_removed(const struct user *user) { return user->removed; }
bool user_external(const struct user *user) { return user->external; }

struct users *users_create(void)
{
    struct users *users = calloc(1, sizeof(*users));
    if (users == NULL)
        return NULL;
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_settype(&attributes, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&users->lock, &attributes);
    pthread_mutexattr_destroy(&attributes);
    users->history_capacity = 1000;
    users->bucket_count = 64;
    users->buckets = calloc(users->bucket_count, sizeof(*users->buckets));
    bool random_ok = getrandom(users->key, sizeof(users->key), 0) == sizeof(users->key);
    users->decoy_hash = random_ok ? users_crypt_decoy_hash() : NULL;
    users->anonymous = user_new(USERS_ANONYMOUS_NAME, strlen(USERS_ANONYMOUS_NAME), NULL,
                                USER_ROLE_USER, users->history_capacity);
    if (users->buckets == NULL || users->decoy_hash == NULL || users->anonymous == NULL) {
        users_destroy(users);
        return NULL;
    }
    return users;
}

void users_destroy(struct users *users)
{
    if (users == NULL)
        return;
    for (size_t i = 0; users->buckets != NULL && i < users->bucket_count; i++) {
        struct user *user = users->buckets[i];
        while (user != NULL) {
            struct user *next = user->next_in_bucket;
            user->removed = true;
            user_unref(user);
            user = next;
        }
    }
    if (users->anonymous != NULL)
        user_unref(users->anonymous);
    free(users->decoy_hash);
    free(users->buckets);
    pthread_mutex_destroy(&users->lock);
    free(users);
}

bool users_name_valid(const char *name, size_t length)
{
    if (length == 0 || length > USERS_NAME_MAX)
        return false;
    for (size_t i = 0; i < length; i++) {
        if (name[i] == ':' || name[i] == '\n' || name[i] == '\r' || name[i] == '\0')
            return false;
    }
    return !(length == strlen(USERS_ANONYMOUS_NAME) &&
             memcmp(name, USERS_ANONYMOUS_NAME, length) == 0);
}

bool users_password_valid(const char *password)
{
    size_t length = strlen(password);
    return length > 0 && length <= USERS_PASSWORD_MAX && strchr(password, '\n') == NULL;
}

static struct user *find_locked(const struct users *users, const char *name, size_t length)
{
    struct user *user = users->buckets[bucket_of(users, name, length)];
    for (; user != NULL; user = user->next_in_bucket) {
        if (strlen(user->name) == length && memcmp(user->name, name, length) == 0)
            return user;
    }
    return NULL;
}

struct user *users_find(struct users *users, const char *name, size_t length)
{
    users_lock(users);
    struct user *user = find_locked(users, name, length);
    users_unlock(users);
    return user;
}

static void grow_buckets(struct users *users)
{
    size_t count = users->bucket_count * 2;
    struct user **buckets = calloc(count, sizeof(*buckets));
    if (buckets == NULL)
        return; /* longer chains, still correct */
    struct user **old = users->buckets;
    size_t old_count = users->bucket_count;
    users->buckets = buckets;
    users->bucket_count = count;
    for (size_t i = 0; i < old_count; i++) {
        struct user *user = old[i];
        while (user != NULL) {
            struct user *next = user->next_in_bucket;
            size_t index = bucket_of(users, user->name, strlen(user->name));
            user->next_in_bucket = buckets[index];
            buckets[index] = user;
            user = next;
        }
    }
    free(old);
}

static enum users_error users_add_hashed_locked(struct users *users, const char *name,
                                               const char *hash, enum user_role role)
{
    size_t length = strlen(name);
    if (!users_name_valid(name, length))
        return USERS_ERROR_INVALID_NAME;
    if (find_locked(users, name, length) != NULL)
        return USERS_ERROR_EXISTS;
    char *hash_copy = strdup(hash);
    struct user *user = hash_copy != NULL ? user_new(name, length, hash_copy, role, users->history_capacity)
                                           : NULL;
    if (user == NULL) {
        free(hash_copy);
        return USERS_ERROR_SYSTEM;
    }
    if (users->count >= users->bucket_count)
        grow_buckets(users);
    size_t index = bucket_of(users, name, length);
    user->next_in_bucket = users->buckets[index];
    users->buckets[index] = user;
    users->count++;
    user_update_limits(users, user);
    if (role == USER_ROLE_ADMIN)
        users->admin_count++;
    return USERS_OK;
}

enum users_error users_add_hashed(struct users *users, const char *name, const char *hash,
                                  enum user_role role)
{
    users_lock(users);
    enum users_error error = users_add_hashed_locked(users, name, hash, role);
    users_unlock(users);
    return error;
}

/* Hashing takes ~70 ms: done before taking the lock, so logins on other threads never wait. */
enum users_error users_add(struct users *users, const char *name, const char *password,
                           enum user_role role)
{
    if (!users_name_valid(name, strlen(name)))
        return USERS_ERROR_INVALID_NAME;
    if (!users_password_valid(password))
        return USERS_ERROR_INVALID_PASSWORD;
    if (users_find(users, name, strlen(name)) != NULL)
        return USERS_ERROR_EXISTS;
    char *hash = users_crypt_hash(password);
    if (hash == NULL)
        return USERS_ERROR_SYSTEM;
    users_lock(users);
    enum users_error error = users_add_hashed_locked(users, name, hash, role);
    if (error == USERS_OK) {
        struct user *user = find_locked(users, name, strlen(name));
        user->verified = true;
        user->verified_digest = password_digest(users, password, strlen(password));
    }
    users_unlock(users);
    free(hash);
    return error;
}

static enum users_error users_remove_locked(struct users *users, const char *name)
{
    size_t length = strlen(name);
    struct user **link = &users->buckets[bucket_of(users, name, length)];
    for (; *link != NULL; link = &(*link)->next_in_bucket) {
        struct user *user = *link;
        if (strcmp(user->name, name) != 0)
            continue;
        bool counted_admin = user->role == USER_ROLE_ADMIN && !user->external;
        if (counted_admin && users->admin_count == 1)
            return USERS_ERROR_LAST_ADMIN;
        *link = user->next_in_bucket;
        users->count--;
        users->admin_count -= counted_admin ? 1 : 0;
        user->removed = true;
        user_unref(user);
        return USERS_OK;
    }
    return USERS_ERROR_NOT_FOUND;
}

enum users_error users_remove(struct users *users, const char *name)
{
    users_lock(users);
    enum users_error error = users_remove_locked(users, name);
    users_unlock(users);
    return error;
}

static enum users_error users_set_role_locked(struct users *users, const char *name,
                                             enum user_role role)
{
    struct user *user = find_locked(users, name, strlen(name));
    if (user == NULL || user->external)
        return user == NULL ? USERS_ERROR_NOT_FOUND : USERS_ERROR_EXTERNAL;
    if (user->role == role)
        return USERS_OK;
    if (user->role == USER_ROLE_ADMIN && users->admin_count == 1)
        return USERS_ERROR_LAST_ADMIN;
    users->admin_count += role == USER_ROLE_ADMIN ? 1 : (size_t)-1;
    user->role = role;
    user_update_limits(users, user);
    return USERS_OK;
}

enum users_error users_set_role(struct users *users, const char *name, enum user_role role)
{
    users_lock(users);
    enum users_error error = users_set_role_locked(users, name, role);
    users_unlock(users);
    return error;
}

enum users_error users_set_password(struct users *users, const char *name, const char *password)
{
    if (users_find(users, name, strlen(name)) == NULL)
        return USERS_ERROR_NOT_FOUND;
    if (!users_password_valid(password))
        return USERS_ERROR_INVALID_PASSWORD;
    char *hash = users_crypt_hash(password);
    enum users_error error = hash != NULL ? users_set_hash(users, name, hash) : USERS_ERROR_SYSTEM;
    free(hash); /* NOT_FOUND: removed while hashing */
    if (error == USERS_OK)
        users_remember_password(users, name, password);
    return error;
}

enum users_error users_set_hash(struct users *users, const char *name, const char *hash)
{
    users_lock(users);
    struct user *user = find_locked(users, name, strlen(name));
    char *copy = user != NULL ? strdup(hash) : NULL;
    if (copy != NULL) {
        free(user->hash);
        user->hash = copy;
        user->verified = false;
    }
    users_unlock(users);
    return user == NULL ? USERS_ERROR_NOT_FOUND : copy == NULL ? USERS_ERROR_SYSTEM : USERS_OK;
}

enum users_error users_set_runtime_limits(struct users *users, const char *name,
                                          const struct user_limits *runtime)
{
    users_lock(users);
    struct user *user = find_locked(users, name, strlen(name));
    if (user != NULL) {
        user->runtime_limits = *runtime;
        user_update_limits(users, user);
    }
    users_unlock(users);
    return user != NULL ? USERS_OK : USERS_ERROR_NOT_FOUND;
}

size_t users_count(struct users *users)
{
    users_lock(users);
    size_t count = users->count;
    users_unlock(users);
    return count;
}

size_t users_admin_count(struct users *users)
{
    users_lock(users);
    size_t count = users->admin_count;
    users_unlock(users);
    return count;
}
struct user *users_anonymous(struct users *users) { return users->anonymous; }

void users_for_each(struct users *users, void (*visit)(struct user *user, void *context),
                    void *context)
{
    users_lock(users);
    for (size_t i = 0; i < users->bucket_count; i++) {
        struct user *user = users->buckets[i];
        while (user != NULL) {
            struct user *next = user->next_in_bucket; /* visit may remove this one */
            visit(user, context);
            user = next;
        }
    }
    users_unlock(users);
}

/* ---- password checks ---- */

static void check_run(struct work_item *item)
{
    struct users_check *check = (struct users_check *)item;
    check->passed = users_crypt_matches(check->password, check->hash);
    if (check->passed) /* the key is written once at creation: safe to read here */
        check->digest = password_digest(check->users, check->password, check->password_length);
    explicit_bzero(check->password, sizeof(check->password));
}

static void check_free(struct users_check *check)
{
    explicit_bzero(check->password, sizeof(check->password));
    free(check->hash);
    free(check);
}

static void check_done(struct work_item *item)
{
    struct users_check *check = (struct users_check *)item;
    if (check->owner == NULL) {
        check_free(check);
        return;
    }
    struct user *user = NULL;
    if (check->passed) {
        users_lock(check->users);
        user = find_locked(check->users, check->name, check->name_length);
        /* The password may have changed while crypt ran: only the hash we checked counts. */
        if (user != NULL && strcmp(user->hash, check->hash) == 0) {
            user->verified = true;
            user->verified_digest = check->digest;
            user_ref(user);
        } else
            user = NULL;
        users_unlock(check->users);
    }
    void *owner = check->owner;
    users_check_callback callback = check->callback;
    check_free(check);
    callback(owner, user);
}

static bool user_password_cached(const struct users *users, const struct user *user,
                                 const char *password, size_t length)
{
    return user->verified && user->verified_digest == password_digest(users, password, length);
}

enum users_check_result users_check_password(struct users *users, struct work_pool *crypt_pool,
                                             const char *name, size_t name_length,
                                             const char *password, size_t password_length,
                                             users_check_callback callback, void *owner,
                                             struct user **user_out, struct users_check **pending)
{
    users_lock(users);
    struct user *user = find_locked(users, name, name_length);
    if (user != NULL && user_password_cached(users, user, password, password_length)) {
        *user_out = user_ref(user);
        users_unlock(users);
        return USERS_CHECK_PASSED;
    }
    /* A password with a NUL byte can never match: crypt would see a shorter one. */
    bool checkable = user != NULL && !user->external && memchr(password, '\0', password_length) == NULL &&
                     name_length <= USERS_NAME_MAX && password_length <= USERS_PASSWORD_MAX;
    char *hash = strdup(checkable ? user->hash : users->decoy_hash);
    users_unlock(users);
    struct users_check *check = calloc(1, sizeof(*check));
    if (check == NULL) {
        free(hash);
        return USERS_CHECK_FAILED;
    }
    check->users = users;
    check->callback = callback;
    check->owner = owner;
    check->hash = hash;
    memcpy(check->password, password, password_length < USERS_PASSWORD_MAX ? password_length
                                                                           : USERS_PASSWORD_MAX);
    check->password_length = password_length;
    check->name_length = name_length < USERS_NAME_MAX ? name_length : USERS_NAME_MAX;
    memcpy(check->name, name, check->name_length);
    if (check->hash == NULL ||
        !work_pool_submit(crypt_pool, &check->item, check_run, check_done)) {
        check_free(check);
        return USERS_CHECK_FAILED;
    }
    *pending = check;
    return USERS_CHECK_PENDING;
}

void users_check_cancel(struct users_check *check) { check->owner = NULL; }


void users_remember_password(struct users *users, const char *name, const char *password)
{
    users_lock(users);
    struct user *user = find_locked(users, name, strlen(name));
    if (user != NULL) {
        user->verified = true;
        user->verified_digest = password_digest(users, password, strlen(password));
    }
    users_unlock(users);
}

struct user *users_external_login(struct users *users, const char *name, size_t length,
                                  enum user_role role)
{
    char copy[USERS_NAME_MAX + 1];
    if (!users_name_valid(name, length))
        return NULL;
    memcpy(copy, name, length);
    copy[length] = '\0';
    users_lock(users);
    struct user *user = find_locked(users, name, length);
    if (user == NULL && users_add_hashed_locked(users, copy, "", USER_ROLE_USER) == USERS_OK) {
        user = find_locked(users, name, length);
        user->external = true;
    }
    if (user != NULL && user->external && user->role != role) {
        user->role = role; /* external users are outside admin_count */
        user_update_limits(users, user);
    }
    user = user != NULL && user->external ? user_ref(user) : NULL;
    users_unlock(users);
    return user;
}
