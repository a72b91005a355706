/* users_auth: the auth backend of the users table (the users file and -u/-a users): crypt(3)
 * hashes checked on the crypt work pool, passwords verified before answered at once. */
#ifndef USERS_AUTH_H
#define USERS_AUTH_H

#include "auth_backend.h"

struct users;
struct work_pool;

struct users_auth {
    struct auth_backend backend; /* first: the backend pointer is this struct's */
    struct users *users;
    struct work_pool *crypt_pool;
};

/* Returns &auth->backend, checking logins against users with crypt_pool's threads. */
struct auth_backend *users_auth_init(struct users_auth *auth, struct users *users,
                                     struct work_pool *crypt_pool);

#endif
