/* users: the user table — names, roles, crypt(3) hashes, per-user usage — shared by every
 * worker (locked inside), with password checks that never block a loop (crypt on a pool). */
#ifndef USERS_H
#define USERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "token_bucket.h"
#include "user_limits.h"
#include "users_crypt.h"

struct work_pool;
struct connection_history;
struct connection_record;
struct record_owner;
struct users;
struct user;
struct users_check;

enum user_role { USER_ROLE_USER = 0, USER_ROLE_ADMIN = 1 };

#define USERS_ANONYMOUS_NAME "anonymous"
#define USERS_NAME_MAX 255
#define USERS_PASSWORD_MAX USERS_CRYPT_PASSWORD_MAX

/* Bumped by every worker with relaxed atomics: read with counter_read (counter.h). */
struct user_usage {
    uint64_t connections_total;
    uint64_t connections_live;
    uint64_t bytes_up;   /* client → remote */
    uint64_t bytes_down; /* remote → client */
    uint64_t rule_denials; /* requests a destination rule or a safe default refused */
    uint64_t datagrams_up;   /* UDP, client → remote (their payloads count in bytes_up) */
    uint64_t datagrams_down; /* UDP, remote → client */
    uint64_t limit_refusals; /* requests refused: the user, or its client address, was at a
                              * connection limit */
};

enum users_error {
    USERS_OK = 0,
    USERS_ERROR_INVALID_NAME,     /* empty, too long, holds ':' '\n' or NUL, or reserved */
    USERS_ERROR_INVALID_PASSWORD, /* empty or too long */
    USERS_ERROR_EXISTS,
    USERS_ERROR_NOT_FOUND,
    USERS_ERROR_LAST_ADMIN,       /* would leave no admin */
    USERS_ERROR_SYSTEM,           /* out of memory or crypt failed */
    USERS_ERROR_EXTERNAL,         /* the user comes from PAM: the directory owns it */
};

const char *users_error_text(enum users_error error);

struct users *users_create(void);
void users_destroy(struct users *users);

bool users_name_valid(const char *name, size_t length);
enum users_error users_add(struct users *users, const char *name, const char *password,
                           enum user_role role);
/* Adds a user whose password is already a crypt(3) hash (as read from the users file). */
enum users_error users_add_hashed(struct users *users, const char *name, const char *hash,
                                  enum user_role role);
enum users_error users_remove(struct users *users, const char *name);
enum users_error users_set_role(struct users *users, const char *name, enum user_role role);
enum users_error users_set_password(struct users *users, const char *name, const char *password);
/* Replaces the stored hash (from the users file); forgets the cached verification. */
enum users_error users_set_hash(struct users *users, const char *name, const char *hash);
/* Records password as verified for name (its hash was just made from it): the first login
 * after an admin sets a password is then fast too. */
void users_remember_password(struct users *users, const char *name, const char *password);

/* The pointer stays valid while the user is in the table: only the thread that removes users
 * (the admin's) may keep it without a reference. */
struct user *users_find(struct users *users, const char *name, size_t length);
size_t users_count(struct users *users);
size_t users_admin_count(struct users *users);
/* The reserved user that no-auth connections belong to; never in the table, cannot log in. */
struct user *users_anonymous(struct users *users);
/* Calls visit for each user in the table, in no particular order, under the lock. */
void users_for_each(struct users *users, void (*visit)(struct user *user, void *context),
                    void *context);
/* Held across several reads that must agree (a user's history while it is listed). The lock
 * is recursive: users_* calls may be made while holding it. */
void users_lock(struct users *users);
void users_unlock(struct users *users);

const char *user_name(const struct user *user);
enum user_role user_role(const struct user *user);
const char *user_hash(const struct user *user);
struct user_usage *user_usage(struct user *user);
/* Tells this user from any other of the process, one removed and added again under the same
 * name included (a new user, whose counters start from zero), even at the same address. */
const void *user_identity(const struct user *user);
/* The user's finished connections (created on first use; NULL only when out of memory).
 * Only under users_lock. */
struct connection_history *user_history(struct user *user);
/* A connection of user was authenticated / has ended. Ended moves record into the user's
 * history (false, record untouched, when there is no memory for one). */
void users_connection_started(struct user *user);
bool users_connection_ended(struct users *users, struct user *user,
                            struct connection_record *record);
/* How many finished connections each user keeps (default 1000); applies to new histories. */
void users_set_history_capacity(struct users *users, size_t capacity);
bool user_removed(const struct user *user);
/* Authenticated by PAM (users_external_login), not listed in the users file. */
bool user_external(const struct user *user);
/* The user object of name, that PAM has just authenticated, with role (its group's verdict):
 * made on its first login, its role updated on later ones; referenced for the caller. NULL
 * when out of memory or when name is a local user (the users file takes precedence). */
struct user *users_external_login(struct users *users, const char *name, size_t length,
                                  enum user_role role);
/* Connections hold a reference so a user removed under them stays valid until they end. */
struct user *user_ref(struct user *user);
void user_unref(struct user *user);
/* A user as a connection record holds it (stats knows users only as record owners). */
struct record_owner *user_as_owner(const struct user *user);
struct user *user_from_owner(struct record_owner *owner);

/* ---- limits ---- */

/* What a user's limits are, given its run-time ones (set-limits): the policy layer's limits
 * table answers (the auth layer knows no configuration). Called under the users lock. */
typedef struct user_limits (*users_limits_resolver)(const void *context, const char *name,
                                                    enum user_role role,
                                                    const struct user_limits *runtime);
/* Installs resolve (NULL: run-time limits alone, the rest unlimited) and recomputes every
 * user's effective limits, the anonymous user's too. context must outlive the installation:
 * a reload installs the new policy's table before freeing the old one. */
void users_set_limits_resolver(struct users *users, users_limits_resolver resolve,
                               const void *context);
/* A user's run-time limits (unset fields: the configuration decides); its effective limits
 * follow at once, and its tunnels' buckets take the new rates without being reset. */
enum users_error users_set_runtime_limits(struct users *users, const char *name,
                                          const struct user_limits *runtime);
struct user_limits user_runtime_limits(struct users *users, const struct user *user);
/* Resolved, no field unset; 0 = unlimited. Any thread. */
struct user_limits user_effective_limits(const struct user *user);
/* The user's budget for one direction (upload: client → remote), shared by all its tunnels. */
struct token_bucket *user_bucket(struct user *user, bool upload);
/* Takes one of the user's max-connections slots (atomically, any thread): false when the
 * user is at its limit. Each true is given back by user_release_connection_slot. */
bool user_take_connection_slot(struct user *user);
void user_release_connection_slot(struct user *user);

/* ---- password checks ---- */

/* user is the authenticated user (referenced for the callee), or NULL when the name or the
 * password was wrong — the two are never told apart. */
typedef void (*users_check_callback)(void *owner, struct user *user);

enum users_check_result { USERS_CHECK_PASSED, USERS_CHECK_FAILED, USERS_CHECK_PENDING };

/* Checks credentials. A password verified before is answered at once (PASSED, *user set and
 * referenced); anything else is hashed on the work pool (PENDING: the callback comes later,
 * *pending is set so the caller can cancel). Unknown names cost a hash too, so that timing
 * does not tell which names exist. FAILED only when the check could not even be queued. */
enum users_check_result users_check_password(struct users *users, struct work_pool *crypt_pool,
                                             const char *name, size_t name_length,
                                             const char *password, size_t password_length,
                                             users_check_callback callback, void *owner,
                                             struct user **user, struct users_check **pending);
void users_check_cancel(struct users_check *check);

/* Hashing off the loop: users_hash_password in users_crypt.h. */
/* Checks what users_set_password would refuse. */
bool users_password_valid(const char *password);

#endif
