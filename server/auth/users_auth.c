/* users_auth: the auth backend of the users table (the users file and -u/-a users): crypt(3)
 * hashes checked on the crypt work pool, passwords verified before answered at once. */
#include "users_auth.h"

#include "users.h"

static enum auth_check_status users_auth_check(struct auth_backend *backend,
                                               const struct auth_credentials *credentials,
                                               auth_backend_callback callback, void *owner,
                                               struct user **user, void **pending)
{
    struct users_auth *auth = (struct users_auth *)backend;
    struct users_check *check = NULL;
    switch (users_check_password(auth->users, auth->crypt_pool, credentials->name,
                                 credentials->name_length, credentials->password,
                                 credentials->password_length, callback, owner, user, &check)) {
    case USERS_CHECK_PASSED:
        return AUTH_CHECK_ANSWERED;
    case USERS_CHECK_PENDING:
        *pending = check;
        return AUTH_CHECK_PENDING;
    case USERS_CHECK_FAILED:
        break;
    }
    return AUTH_CHECK_ERROR;
}

static void users_auth_cancel(struct auth_backend *backend, void *pending)
{
    (void)backend;
    users_check_cancel(pending);
}

struct auth_backend *users_auth_init(struct users_auth *auth, struct users *users,
                                     struct work_pool *crypt_pool)
{
    auth->backend.check = users_auth_check;
    auth->backend.cancel = users_auth_cancel;
    auth->users = users;
    auth->crypt_pool = crypt_pool;
    return &auth->backend;
}
